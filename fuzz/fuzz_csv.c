/* fuzz_csv.c - the CSV record parsers on any bytes: no crash, the bitmap and
 * field-at-a-time parsers agree record by record, and a cut between records
 * always lands after a LF at even quote parity. */
#include <stdlib.h>
#include <string.h>

#include "usage/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_csv_field f1[256], f2[256];
	const char *buf = (const char *)data, *end = buf + size;
	const char *p1 = buf, *p2 = buf;
	while (p1 < end) {
		struct pb_csv_record r1, r2;
		const char *n1 = pb__csv_parse_record(p1, end, f1, 256, &r1);
		const char *n2 = pb__csv_parse_record_simple(p2, end, f2, 256, &r2);
		if (n1 != n2 || r1.problem != r2.problem || r1.lines != r2.lines || n1 <= p1)
			abort();
		if (!r1.problem) {
			if (r1.nfields != r2.nfields)
				abort();
			for (size_t k = 0; k < r1.nfields; k++) {
				if (f1[k].ptr != f2[k].ptr || f1[k].len != f2[k].len ||
				    f1[k].escaped != f2[k].escaped)
					abort();
				char tmp[64];
				size_t u = pb__csv_unescape(&f1[k], tmp, sizeof(tmp));
				if (u != SIZE_MAX && u > f1[k].len)
					abort();
			}
		}
		p1 = n1;
		p2 = n2;
	}
	uint64_t lines = 0;
	size_t cut = pb__csv_cut(buf, size, &lines);
	if (cut) {
		size_t q = 0;
		for (size_t i = 0; i < cut; i++)
			q += buf[i] == '"';
		if (buf[cut - 1] != '\n' || q % 2 || lines != pb__csv_count_lf(buf, cut))
			abort();
	}
	return 0;
}
