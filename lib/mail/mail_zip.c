/* mail_zip.c - a small zip reader with caps, for zipped Slack exports.
 *
 * Reads the central directory (zip64 included), then inflates one member at a
 * time with zlib. It is written against zip bombs: sizes declared in the
 * archive are never trusted for allocation, every member is capped, the whole
 * archive has a running cap, a high inflate ratio is refused, and members
 * whose data overlap (the "quine" bombs) make the archive unreadable.
 * Encrypted members and methods other than stored and deflate are refused.
 */
#include "mail/mail.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "util/banned.h"

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

void pb__zip_close(struct pb__zip *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->nentries; i++)
		free(z->entries[i].name);
	free(z->entries);
	z->entries = NULL;
	z->nentries = 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct pb__zip_entry *x = *(const struct pb__zip_entry *const *)a;
	const struct pb__zip_entry *y = *(const struct pb__zip_entry *const *)b;
	return x->local_offset < y->local_offset ? -1 : x->local_offset > y->local_offset;
}

enum pb_status pb__zip_open(struct pb__zip *z, const void *data, size_t len, const char *path,
                            struct pb_error *err)
{
	memset(z, 0, sizeof(*z));
	z->data = data;
	z->len = len;
	z->total_limit = PB__MAIL_MAX_ZIP_TOTAL;
	const unsigned char *d = data;
	enum pb_status st = PB_OK;
	struct pb__zip_entry **sorted = NULL;
	if (len < 22)
		return pb__err_at(err, PB_EFORMAT, path, 0, 0, "not a zip file: too short");
	/* the end-of-central-directory record, within the last 64 KiB + 22 */
	size_t eocd = SIZE_MAX;
	size_t lo = len > 65557 ? len - 65557 : 0;
	for (size_t i = len - 22 + 1; i-- > lo;)
		if (rd32(d + i) == 0x06054b50) {
			eocd = i;
			break;
		}
	if (eocd == SIZE_MAX)
		return pb__err_at(err, PB_EFORMAT, path, 0, 0,
		                  "not a zip file: no end of central directory (truncated?)");
	uint64_t count = rd16(d + eocd + 10);
	uint64_t cd_size = rd32(d + eocd + 12);
	uint64_t cd_off = rd32(d + eocd + 16);
	if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
		if (eocd < 20 || rd32(d + eocd - 20) != 0x07064b50)
			return pb__err_at(err, PB_EFORMAT, path, 0, 0, "zip64 locator missing");
		uint64_t z64 = rd64(d + eocd - 20 + 8);
		if (len < 56 || z64 > len - 56 || rd32(d + z64) != 0x06064b50)
			return pb__err_at(err, PB_EFORMAT, path, 0, 0, "zip64 record missing");
		count = rd64(d + z64 + 32);
		cd_size = rd64(d + z64 + 40);
		cd_off = rd64(d + z64 + 48);
	}
	if (cd_off > len || cd_size > len - cd_off)
		return pb__err_at(err, PB_EFORMAT, path, 0, 0,
		                  "zip central directory lies outside the file (truncated?)");
	if (count > PB__MAIL_MAX_ZIP_ENTRIES)
		return pb__err_at(err, PB_ELIMIT, path, 0, 0, "zip has %llu entries, over %u",
		                  (unsigned long long)count, PB__MAIL_MAX_ZIP_ENTRIES);
	/* each central entry is at least 46 bytes: a count the directory cannot
	 * hold is a lie */
	if (count > cd_size / 46 + 1)
		return pb__err_at(err, PB_EFORMAT, path, 0, 0, "zip entry count is inconsistent");
	z->entries = calloc(count ? count : 1, sizeof(*z->entries));
	if (!z->entries)
		return pb__err(err, PB_ENOMEM, "out of memory");
	const unsigned char *p = d + cd_off, *cend = d + cd_off + cd_size;
	for (uint64_t i = 0; i < count; i++) {
		if (cend - p < 46 || rd32(p) != 0x02014b50) {
			st = pb__err_at(err, PB_EFORMAT, path, 0, 0, "zip central directory is damaged");
			goto fail;
		}
		uint16_t flags = rd16(p + 8), method = rd16(p + 10);
		uint32_t crc = rd32(p + 16);
		uint64_t csize = rd32(p + 20), usize = rd32(p + 24);
		uint16_t nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
		uint64_t off = rd32(p + 42);
		if ((size_t)(cend - p) < 46u + nlen + xlen + clen) {
			st = pb__err_at(err, PB_EFORMAT, path, 0, 0, "zip central directory is damaged");
			goto fail;
		}
		/* zip64 extra field: the 0xFFFFFFFF values, in order */
		const unsigned char *x = p + 46 + nlen, *xe = x + xlen;
		while (xe - x >= 4) {
			uint16_t id = rd16(x), sz = rd16(x + 2);
			if ((size_t)(xe - x - 4) < sz)
				break;
			if (id == 1) {
				const unsigned char *v = x + 4, *ve = v + sz;
				if (usize == 0xFFFFFFFFu && ve - v >= 8)
					usize = rd64(v), v += 8;
				if (csize == 0xFFFFFFFFu && ve - v >= 8)
					csize = rd64(v), v += 8;
				if (off == 0xFFFFFFFFu && ve - v >= 8)
					off = rd64(v);
			}
			x += 4 + sz;
		}
		struct pb__zip_entry *e = &z->entries[z->nentries];
		if (memchr(p + 46, 0, nlen)) {
			st = pb__err_at(err, PB_EFORMAT, path, 0, 0, "zip entry name holds a NUL byte");
			goto fail;
		}
		e->name = pb__strndup((const char *)p + 46, nlen);
		if (!e->name) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto fail;
		}
		e->csize = csize;
		e->usize = usize;
		e->local_offset = off;
		e->method = (flags & 1) ? 0xFFFF : method; /* 0xFFFF: encrypted */
		e->crc = crc;
		z->nentries++;
		p += 46 + nlen + xlen + clen;
	}
	/* members must not share bytes: overlapping entries are a zip bomb */
	sorted = malloc((z->nentries ? z->nentries : 1) * sizeof(*sorted));
	if (!sorted) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < z->nentries; i++)
		sorted[i] = &z->entries[i];
	qsort(sorted, z->nentries, sizeof(*sorted), by_offset);
	for (size_t i = 0; i + 1 < z->nentries; i++) {
		const struct pb__zip_entry *a = sorted[i], *b = sorted[i + 1];
		if (a->csize > UINT64_MAX - a->local_offset - 30 ||
		    a->local_offset + 30 + a->csize > b->local_offset) {
			st = pb__err_at(err, PB_ELIMIT, path, 0, 0,
			                "zip members '%s' and '%s' overlap: refused as a zip bomb",
			                a->name, b->name);
			goto fail;
		}
	}
	free(sorted);
	return PB_OK;
fail:
	free(sorted);
	pb__zip_close(z);
	return st;
}

const struct pb__zip_entry *pb__zip_find(const struct pb__zip *z, const char *name)
{
	for (size_t i = 0; i < z->nentries; i++)
		if (!strcmp(z->entries[i].name, name))
			return &z->entries[i];
	return NULL;
}

enum pb_status pb__zip_read(struct pb__zip *z, const struct pb__zip_entry *e, size_t limit,
                            struct pb_buf *out, struct pb_error *err)
{
	const unsigned char *d = z->data;
	pb_buf_reset(out);
	if (e->method == 0xFFFF)
		return pb__err(err, PB_EFORMAT, "zip member '%s' is encrypted", e->name);
	if (e->method != 0 && e->method != 8)
		return pb__err(err, PB_EFORMAT, "zip member '%s' uses compression method %u",
		               e->name, e->method);
	if (z->len < 30 || e->local_offset > z->len - 30 || rd32(d + e->local_offset) != 0x04034b50)
		return pb__err(err, PB_EFORMAT, "zip member '%s': local header missing", e->name);
	uint64_t dstart = e->local_offset + 30 + rd16(d + e->local_offset + 26) +
	                  rd16(d + e->local_offset + 28);
	if (dstart > z->len || e->csize > z->len - dstart)
		return pb__err(err, PB_EFORMAT, "zip member '%s' runs past the end of the file",
		               e->name);
	if (e->usize > limit)
		return pb__err(err, PB_ELIMIT, "zip member '%s' inflates to %llu bytes, over %zu",
		               e->name, (unsigned long long)e->usize, limit);
	if (e->usize > (1u << 20) && e->usize / (e->csize ? e->csize : 1) > PB__MAIL_MAX_ZIP_RATIO)
		return pb__err(err, PB_ELIMIT,
		               "zip member '%s' inflates %llu times: refused as a zip bomb", e->name,
		               (unsigned long long)(e->usize / (e->csize ? e->csize : 1)));
	if (z->inflated_total + e->usize > z->total_limit)
		return pb__err(err, PB_ELIMIT, "zip inflates to more than %llu bytes in all",
		               (unsigned long long)z->total_limit);
	size_t cap = limit;
	if (cap > z->total_limit - z->inflated_total)
		cap = (size_t)(z->total_limit - z->inflated_total);
	out->limit = cap;
	enum pb_status st = PB_OK;
	if (e->method == 0) {
		if (e->csize != e->usize)
			return pb__err(err, PB_EFORMAT, "zip member '%s': stored sizes differ", e->name);
		if ((st = pb_buf_add(out, d + dstart, (size_t)e->csize)))
			return pb__err(err, st, "zip member '%s' is too large", e->name);
	} else {
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
			return pb__err(err, PB_ENOMEM, "out of memory");
		const unsigned char *in = d + dstart;
		uint64_t inleft = e->csize;
		unsigned char chunk[65536];
		int zr = Z_OK;
		while (zr != Z_STREAM_END) {
			if (zs.avail_in == 0) {
				uInt take = inleft > (1u << 30) ? (1u << 30) : (uInt)inleft;
				zs.next_in = (Bytef *)(uintptr_t)in;
				zs.avail_in = take;
				in += take;
				inleft -= take;
			}
			zs.next_out = chunk;
			zs.avail_out = sizeof(chunk);
			zr = inflate(&zs, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END) {
				st = pb__err(err, PB_EFORMAT, "zip member '%s' is damaged (inflate: %s)",
				             e->name, zs.msg ? zs.msg : "error");
				break;
			}
			size_t got = sizeof(chunk) - zs.avail_out;
			if (out->len + got > e->usize) {
				st = pb__err(err, PB_ELIMIT,
				             "zip member '%s' inflates past its declared size: refused",
				             e->name);
				break;
			}
			if (got && pb_buf_add(out, chunk, got) != PB_OK) {
				st = pb__err(err, PB_ELIMIT, "zip member '%s' is over %zu bytes", e->name,
				             cap);
				break;
			}
			if (zr != Z_STREAM_END && got == 0 && zs.avail_in == 0 && inleft == 0) {
				st = pb__err(err, PB_EFORMAT, "zip member '%s' is truncated", e->name);
				break;
			}
		}
		inflateEnd(&zs);
		if (st)
			return st;
	}
	if (out->len != e->usize)
		return pb__err(err, PB_EFORMAT, "zip member '%s': %zu bytes, %llu declared", e->name,
		               out->len, (unsigned long long)e->usize);
	uLong crc = crc32(0L, Z_NULL, 0);
	for (size_t off = 0; off < out->len;) {
		uInt take = out->len - off > (1u << 30) ? (1u << 30) : (uInt)(out->len - off);
		crc = crc32(crc, (const Bytef *)out->data + off, take);
		off += take;
	}
	if ((uint32_t)crc != e->crc)
		return pb__err(err, PB_EVERIFY, "zip member '%s' fails its CRC check", e->name);
	z->inflated_total += out->len;
	return PB_OK;
}
