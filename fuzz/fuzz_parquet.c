/* fuzz_parquet.c - the Parquet reader on any bytes: the Thrift footer, page
 * headers, codecs, levels and every encoding of every flat column, and the
 * text of every value; no crash, no hang, refusals only as errors. */
#include <stdlib.h>
#include <string.h>

#include "usage/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_pq_file f;
	struct pb_error err;
	if (pb__pq_open(&f, data, size, "fuzz", &err))
		return 0;
	struct pb_pq_values v = { 0 };
	char buf[96];
	for (size_t r = 0; r < f.nrgs; r++)
		for (size_t c = 0; c < f.ncols; c++) {
			if (f.cols[c].nested || pb__pq_read(&f, r, c, &v, &err))
				continue;
			for (size_t i = 0; i < v.n; i++) {
				bool null;
				struct pb_str s = pb__pq_text(&f.cols[c], &v, i, buf, sizeof(buf), &null);
				if (s.len && !s.ptr)
					abort();
			}
		}
	pb__pq_values_release(&v);
	pb__pq_release(&f);
	return 0;
}
