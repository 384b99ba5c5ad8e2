/* parquet_enc.c - the integer encodings of Parquet: the RLE / bit-packed
 * hybrid (levels, dictionary indices, booleans) and DELTA_BINARY_PACKED.
 * Both check every count and width against the bytes there are. */
#include "usage/parquet_internal.h"

#include <string.h>

#include "util/banned.h"

static bool varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return false;
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			*pp = p;
			return true;
		}
	}
	return false;
}

/* value i (width w bits, LSB first) of a packed run starting at p */
static inline uint64_t unpack(const uint8_t *p, size_t i, int w)
{
	uint64_t v = 0;
	size_t bit = i * (size_t)w;
	for (int got = 0; got < w;) {
		size_t byte = bit >> 3;
		int off = (int)(bit & 7);
		int take = 8 - off < w - got ? 8 - off : w - got;
		v |= (uint64_t)((p[byte] >> off) & ((1u << take) - 1)) << got;
		got += take;
		bit += (size_t)take;
	}
	return v;
}

bool pb__pq_rle(const uint8_t *p, size_t n, int w, uint32_t *out, size_t count)
{
	const uint8_t *end = p + n;
	size_t k = 0;
	if (w < 0 || w > 32)
		return false;
	while (k < count) {
		uint64_t h;
		if (!varint(&p, end, &h))
			return false;
		if (h & 1) { /* bit-packed: groups of 8 */
			uint64_t groups = h >> 1;
			if (groups == 0)
				return false;
			size_t avail = (size_t)(end - p);
			size_t m = groups > count ? count : (size_t)groups * 8;
			size_t bytes = w == 0 ? 0 : groups > avail ? SIZE_MAX : (size_t)groups * (size_t)w;
			if (bytes > avail) {
				/* writers may leave off the padding of the last run */
				size_t have = avail * 8 / (size_t)w;
				if (have < count - k)
					return false;
				bytes = avail;
			}
			size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* while 8 bytes are there to load, one load a value */
			uint64_t mask = ((uint64_t)1 << w) - 1;
			for (; i < m && k < count && ((i * (size_t)w) >> 3) + 8 <= avail; i++) {
				uint64_t x;
				memcpy(&x, p + ((i * (size_t)w) >> 3), 8);
				out[k++] = (uint32_t)((x >> ((i * (size_t)w) & 7)) & mask);
			}
#endif
			for (; i < m && k < count; i++)
				out[k++] = (uint32_t)unpack(p, i, w);
			p += bytes;
		} else { /* a run of one value */
			uint64_t run = h >> 1;
			size_t vb = ((size_t)w + 7) / 8;
			if (run == 0 || vb > (size_t)(end - p))
				return false;
			uint32_t v = 0;
			for (size_t i = 0; i < vb; i++)
				v |= (uint32_t)p[i] << (8 * i);
			p += vb;
			if (w < 32 && (v >> w))
				return false;
			for (uint64_t i = 0; i < run && k < count; i++)
				out[k++] = v;
		}
	}
	return true;
}

bool pb__pq_delta(const uint8_t *p, size_t n, int64_t *out, size_t cap, size_t *count,
                  size_t *used)
{
	const uint8_t *start = p, *end = p + n;
	uint64_t block, minis, total, zz;
	if (!varint(&p, end, &block) || !varint(&p, end, &minis) || !varint(&p, end, &total) ||
	    !varint(&p, end, &zz))
		return false;
	if (block == 0 || block % 128 || minis == 0 || block % minis || (block / minis) % 32 ||
	    block > (1u << 20) || total > cap)
		return false;
	size_t per = (size_t)(block / minis);
	uint64_t v = (zz >> 1) ^ -(zz & 1);
	size_t k = 0;
	if (total > 0)
		out[k++] = (int64_t)v;
	while (k < total) {
		uint64_t mzz;
		if (!varint(&p, end, &mzz))
			return false;
		uint64_t mind = (mzz >> 1) ^ -(mzz & 1);
		if ((uint64_t)(end - p) < minis)
			return false;
		const uint8_t *widths = p;
		p += minis;
		for (uint64_t m = 0; m < minis && k < total; m++) {
			int w = widths[m];
			if (w > 64)
				return false;
			size_t bytes = per * (size_t)w / 8;
			if (bytes > (size_t)(end - p))
				return false;
			for (size_t i = 0; i < per && k < total; i++) {
				uint64_t d = w ? unpack(p, i, w) : 0;
				v += mind + d; /* wraps, as the format means */
				out[k++] = (int64_t)v;
			}
			p += bytes;
		}
	}
	*count = (size_t)total;
	*used = (size_t)(p - start);
	return true;
}
