/* fuzz_parquet_enc.c - Parquet's integer encodings on any bytes: the RLE /
 * bit-packed hybrid at every bit width and DELTA_BINARY_PACKED; no crash,
 * and a decoder that succeeds stays inside its input. The first byte picks
 * the encoding (even: hybrid, odd: delta) and the hybrid's width, the
 * second the count of values. */
#include <stdlib.h>

#include "usage/parquet_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t count = (size_t)data[1] * 8 + 1;
	const uint8_t *p = data + 2;
	size_t n = size - 2;
	if (data[0] & 1) {
		int64_t out[2049];
		size_t got, used;
		if (pb__pq_delta(p, n, out, count, &got, &used) && (used > n || got > count))
			abort();
	} else {
		uint32_t out[2049];
		pb__pq_rle(p, n, (data[0] >> 1) % 34, out, count);
	}
	return 0;
}
