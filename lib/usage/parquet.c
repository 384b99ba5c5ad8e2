/* parquet.c - the Parquet reader: the schema of a footer turned into leaf
 * columns, the pages of a column chunk decompressed and decoded into values,
 * and the text of a value as a CSV export would hold it.
 *
 * A column chunk is read page by page: each page header is checked against
 * the chunk's byte range before its payload is touched, its payload is
 * decompressed into a buffer of exactly the size the header claims (and the
 * codec must produce exactly that), and values are decoded with counts
 * checked against the levels. Values of byte-array types are views into
 * those buffers, which the values own. Nested columns (repetition levels)
 * are not read: the caller skips them, or refuses the file. */
#include "usage/parquet_internal.h"

#include <limits.h>
#include <lz4.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util/banned.h"

#define PQ_MAX_PAGE (256u << 20)     /* bytes of one decompressed page */
#define PQ_MAX_VALUES (1u << 28)     /* values in one column chunk */

static const char *codec_name(int c)
{
	static const char *const n[] = { "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
		                         "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW" };
	return c >= 0 && c < 8 ? n[c] : "unknown";
}

static const char *encoding_name(int e)
{
	static const char *const n[] = { "PLAIN",
		                         "GROUP_VAR_INT",
		                         "PLAIN_DICTIONARY",
		                         "RLE",
		                         "BIT_PACKED",
		                         "DELTA_BINARY_PACKED",
		                         "DELTA_LENGTH_BYTE_ARRAY",
		                         "DELTA_BYTE_ARRAY",
		                         "RLE_DICTIONARY",
		                         "BYTE_STREAM_SPLIT" };
	return e >= 0 && e < 10 ? n[e] : "unknown";
}

bool pb__pq_is_parquet(const uint8_t *data, size_t len)
{
	return len >= 12 && memcmp(data, "PAR1", 4) == 0 && memcmp(data + len - 4, "PAR1", 4) == 0;
}

/* ---- the footer -------------------------------------------------------- */

void pb__pq_release(struct pb_pq_file *f)
{
	for (size_t i = 0; f->rgs && i < f->nrgs; i++)
		free(f->rgs[i].chunks);
	free(f->rgs);
	free(f->cols);
	free(f->tops);
	free(f->top_nested);
	free(f->top_group);
	memset(f, 0, sizeof(*f));
}

/* The kind of a leaf from its logical type, or its converted type. */
static enum pb_status leaf_kind(struct pb_pq_file *f, struct pb_pq_column *c,
                                const struct pq_schema_el *e, struct pb_error *err)
{
	c->kind = PQK_PLAIN;
	c->scale = e->scale;
	c->precision = e->precision;
	c->unit = e->unit;
	c->utc = e->utc;
	switch (e->logical) {
	case 0: break;
	case 1: case 4: case 12: c->kind = PQK_STRING; break; /* STRING, ENUM, JSON */
	case 5: c->kind = PQK_DECIMAL; break;
	case 6: c->kind = PQK_DATE; break;
	case 7: c->kind = PQK_TIME; break;
	case 8: c->kind = PQK_TIMESTAMP; break;
	case 10:
		if (e->int_bits == 8)
			c->kind = e->int_signed ? PQK_INT8 : PQK_UINT8;
		else if (e->int_bits == 16)
			c->kind = e->int_signed ? PQK_INT16 : PQK_UINT16;
		else if (!e->int_signed)
			c->kind = PQK_UINT;
		break;
	case 15: c->kind = PQK_FLOAT16; break;
	default: c->kind = PQK_OTHER; break;
	}
	if (e->logical == 0) {
		switch (e->converted) {
		case 0: case 4: case 19: c->kind = PQK_STRING; break; /* UTF8, ENUM, JSON */
		case 5: c->kind = PQK_DECIMAL; break;
		case 6: c->kind = PQK_DATE; break;
		case 7: c->kind = PQK_TIME; c->unit = 0; c->utc = true; break;
		case 8: c->kind = PQK_TIME; c->unit = 1; c->utc = true; break;
		case 9: c->kind = PQK_TIMESTAMP; c->unit = 0; c->utc = true; break;
		case 10: c->kind = PQK_TIMESTAMP; c->unit = 1; c->utc = true; break;
		case 11: c->kind = PQK_UINT8; break;
		case 12: c->kind = PQK_UINT16; break;
		case 13: case 14: c->kind = PQK_UINT; break;
		case 15: c->kind = PQK_INT8; break;
		case 16: c->kind = PQK_INT16; break;
		default: break;
		}
	}
	if (c->type == PQ_INT96) {
		c->kind = PQK_TIMESTAMP;
		c->unit = 2;
	}
	/* the kind must fit the physical type */
	bool ok = true;
	switch (c->kind) {
	case PQK_DECIMAL:
		ok = (c->type == PQ_INT32 || c->type == PQ_INT64 || c->type == PQ_BYTE_ARRAY ||
		      c->type == PQ_FLBA) &&
		     c->scale >= 0 && c->scale <= 38 && (c->type != PQ_FLBA || c->type_length <= 16);
		break;
	case PQK_DATE: ok = c->type == PQ_INT32; break;
	case PQK_TIMESTAMP:
		ok = (c->type == PQ_INT64 || c->type == PQ_INT96) && c->unit >= 0 && c->unit <= 2;
		break;
	case PQK_TIME:
		ok = (c->type == PQ_INT32 || c->type == PQ_INT64) && c->unit >= 0 && c->unit <= 2;
		break;
	case PQK_STRING: ok = c->type == PQ_BYTE_ARRAY || c->type == PQ_FLBA; break;
	case PQK_FLOAT16: ok = c->type == PQ_FLBA && c->type_length == 2; break;
	case PQK_INT8: case PQK_INT16: case PQK_UINT8: case PQK_UINT16: ok = c->type == PQ_INT32; break;
	case PQK_UINT: ok = c->type == PQ_INT32 || c->type == PQ_INT64; break;
	default: break;
	}
	if (!ok)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': column '%s' has a logical type that does not fit its "
		               "physical type",
		               f->name, c->name);
	return PB_OK;
}

/* Walks the schema (depth first, children counted) into leaf columns. */
static enum pb_status build_columns(struct pb_pq_file *f, const struct pq_meta *m,
                                    struct pb_error *err)
{
	struct frame {
		size_t left;
		int def, rep;
		size_t namelen;
		bool nested;
		int top;
	} st[32];
	const struct pq_schema_el *s = m->schema;
	if (!s[0].has_children || s[0].num_children < 0)
		return pb__err(err, PB_EFORMAT, "cannot read '%s': the schema has no root", f->name);
	f->cols = calloc(m->nleaves ? m->nleaves : 1, sizeof(*f->cols));
	f->tops = calloc((size_t)s[0].num_children + 1, sizeof(*f->tops));
	f->top_nested = calloc((size_t)s[0].num_children + 1, sizeof(*f->top_nested));
	f->top_group = calloc((size_t)s[0].num_children + 1, sizeof(*f->top_group));
	if (!f->cols || !f->tops || !f->top_nested || !f->top_group)
		return pb__err(err, PB_ENOMEM, "out of memory");
	char path[256] = "";
	int depth = 0;
	st[0] = (struct frame){ (size_t)s[0].num_children, 0, 0, 0, false, -1 };
	size_t i = 1;
	while (depth >= 0) {
		if (st[depth].left == 0) {
			depth--;
			if (depth >= 0)
				path[st[depth + 1].namelen] = 0;
			continue;
		}
		st[depth].left--;
		if (i >= m->nschema)
			return pb__err(err, PB_EFORMAT,
			               "cannot read '%s': the schema counts more children than it has",
			               f->name);
		const struct pq_schema_el *e = &s[i++];
		struct frame fr = st[depth];
		if (e->repetition < 0 || e->repetition > 2)
			return pb__err(err, PB_EFORMAT, "cannot read '%s': bad repetition of '%s'",
			               f->name, e->name);
		int def = fr.def + (e->repetition != 0);
		int rep = fr.rep + (e->repetition == 2);
		int top = depth == 0 ? (int)f->ntops : fr.top;
		bool nested = fr.nested || e->repetition == 2 || depth > 0;
		size_t base = strlen(path);
		pb__strlcpy(path + base, base ? "." : "", sizeof(path) - base);
		pb__strlcpy(path + strlen(path), e->name, sizeof(path) - strlen(path));
		if (depth == 0) {
			pb__strlcpy(f->tops[f->ntops], e->name, sizeof(f->tops[0]));
			f->top_nested[f->ntops] = e->has_children || e->repetition == 2;
			f->top_group[f->ntops] = e->has_children ? e->converted : -1;
			f->ntops++;
		}
		if (e->has_children && e->num_children > 0) {
			if (depth + 1 >= (int)PB_ARRAY_LEN(st))
				return pb__err(err, PB_EFORMAT, "cannot read '%s': the schema nests too deep",
				               f->name);
			depth++;
			st[depth] = (struct frame){ (size_t)e->num_children, def, rep, base, nested, top };
			continue;
		}
		if (e->has_children) /* an empty group: no column */
			goto next;
		if (f->ncols >= m->nleaves || e->type < 0 || e->type > PQ_FLBA)
			return pb__err(err, PB_EFORMAT, "cannot read '%s': column '%s' has no valid type",
			               f->name, e->name);
		struct pb_pq_column *c = &f->cols[f->ncols++];
		pb__strlcpy(c->name, path, sizeof(c->name));
		c->type = e->type;
		c->type_length = e->type_length;
		if (c->type == PQ_FLBA && (c->type_length <= 0 || c->type_length > (1 << 20)))
			return pb__err(err, PB_EFORMAT,
			               "cannot read '%s': column '%s' has a bad fixed length %d", f->name,
			               c->name, c->type_length);
		c->max_def = def;
		c->max_rep = rep;
		c->nested = nested;
		c->optional = e->repetition == 1;
		c->top = top;
		enum pb_status rc = leaf_kind(f, c, e, err);
		if (rc)
			return rc;
	next:
		path[base] = 0;
	}
	if (i != m->nschema || f->ncols != m->nleaves)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': the schema's child counts do not match its elements",
		               f->name);
	return PB_OK;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint32_t pb__pq_footer_len(const uint8_t last8[8], uint64_t len)
{
	uint32_t flen = (uint32_t)le(last8, 4);
	if (len < 12 || memcmp(last8 + 4, "PAR1", 4) != 0 || flen == 0 || flen > len - 12)
		return 0;
	return flen;
}

/* pb__pq_open over the file's last tlen bytes (the whole file when data). */
static enum pb_status open_tail(struct pb_pq_file *f, const uint8_t *data, const uint8_t *tail,
                                size_t tlen, uint64_t len, const char *name, struct pb_error *err)
{
	memset(f, 0, sizeof(*f));
	f->data = data;
	f->len = (size_t)len;
	pb__strlcpy(f->name, name, sizeof(f->name));
	if (tlen >= 4 && memcmp(tail + tlen - 4, "PARE", 4) == 0)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': it is an encrypted Parquet file (not supported)", name);
	if (data ? !pb__pq_is_parquet(data, (size_t)len)
	         : tlen < 8 || memcmp(tail + tlen - 4, "PAR1", 4) != 0)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': not a Parquet file (no 'PAR1' at both ends)", name);
	const uint8_t *t8 = tail + tlen - 8;
	uint32_t flen = (uint32_t)le(t8, 4);
	if (flen == 0 || flen > len - 12 || flen > tlen - 8)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': its footer length %u does not fit the file's %llu bytes",
		               name, flen, (unsigned long long)len);
	struct pq_thrift t = { t8 - flen, t8, false, false };
	struct pq_meta m;
	enum pb_status st = pb__pq_read_meta(&t, &m, err);
	if (st == PB_EFORMAT)
		st = pb__err(err, PB_EFORMAT, "cannot read '%s': its footer (FileMetaData) is malformed",
		             name);
	if (!st && t.external)
		st = pb__err(err, PB_EFORMAT,
		             "cannot read '%s': its columns live in other files (not supported)", name);
	if (!st)
		st = build_columns(f, &m, err);
	f->rgs = m.rgs;
	f->nrgs = m.nrgs;
	f->num_rows = m.num_rows;
	m.rgs = NULL;
	free(m.schema);
	for (size_t r = 0; !st && r < f->nrgs; r++) {
		struct pb_pq_rowgroup *rg = &f->rgs[r];
		if (!rg->chunks && f->ncols) {
			st = pb__err(err, PB_EFORMAT, "cannot read '%s': row group %zu has no columns",
			             name, r + 1);
			break;
		}
		if (rg->num_rows < 0 || rg->num_rows > (int64_t)PQ_MAX_VALUES)
			st = pb__err(err, PB_EFORMAT, "cannot read '%s': row group %zu claims %lld rows",
			             name, r + 1, (long long)rg->num_rows);
		for (size_t c = 0; !st && rg->num_rows > 0 && c < f->ncols; c++) {
			const struct pb_pq_chunk *ch = &rg->chunks[c];
			int64_t start = ch->dict_off > 0 && ch->dict_off < ch->data_off ? ch->dict_off
			                                                                 : ch->data_off;
			if (!ch->has_meta || start < 4 || ch->size < 0 ||
			    start > (int64_t)len - 8 || ch->num_values < 0)
				st = pb__err(err, PB_EFORMAT,
				             "cannot read '%s': column '%s' of row group %zu has a bad offset "
				             "or size",
				             name, f->cols[c].name, r + 1);
		}
	}
	if (st)
		pb__pq_release(f);
	return st;
}

enum pb_status pb__pq_open(struct pb_pq_file *f, const uint8_t *data, size_t len,
                           const char *name, struct pb_error *err)
{
	return open_tail(f, data, data, len, len, name, err);
}

enum pb_status pb__pq_open_tail(struct pb_pq_file *f, const uint8_t *tail, size_t tlen,
                                uint64_t len, const char *name, struct pb_error *err)
{
	if (len < 12 || tlen > len)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': not a Parquet file (no 'PAR1' at both ends)", name);
	return open_tail(f, NULL, tail, tlen, len, name, err);
}

/* Where column chunk ch starts: its dictionary page when it leads. */
static int64_t chunk_start(const struct pb_pq_chunk *ch)
{
	return ch->dict_off > 0 && ch->dict_off < ch->data_off ? ch->dict_off : ch->data_off;
}

/* Where it ends: read_chunk's bound (the file's last 8 bytes are not). */
static uint64_t chunk_end(const struct pb_pq_file *f, const struct pb_pq_chunk *ch)
{
	uint64_t start = (uint64_t)chunk_start(ch);
	return (uint64_t)ch->size > f->len - 8 - start ? f->len - 8 : start + (uint64_t)ch->size;
}

bool pb__pq_spans(struct pb_pq_file *f, uint64_t end)
{
	uint64_t prev = 4;
	bool ok = true;
	for (size_t r = 0; r < f->nrgs; r++) {
		struct pb_pq_rowgroup *rg = &f->rgs[r];
		rg->span_lo = rg->span_hi = 0;
		rg->span = NULL;
		if (rg->num_rows <= 0 || !f->ncols)
			continue;
		uint64_t lo = UINT64_MAX, hi = 0;
		for (size_t c = 0; c < f->ncols; c++) {
			uint64_t s = (uint64_t)chunk_start(&rg->chunks[c]), e = chunk_end(f, &rg->chunks[c]);
			lo = s < lo ? s : lo;
			hi = e > hi ? e : hi;
		}
		if (lo < prev || hi > end || lo > hi)
			ok = false;
		rg->span_lo = (int64_t)lo;
		rg->span_hi = (int64_t)(hi > lo ? hi : lo);
		prev = hi > prev ? hi : prev;
	}
	return ok;
}

/* ---- decompression ----------------------------------------------------- */

static bool gunzip(const uint8_t *src, size_t sn, uint8_t *dst, size_t dn)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return false;
	z.next_in = (Bytef *)(uintptr_t)src;
	z.next_out = dst;
	bool ok = false;
	size_t in_left = sn, out_left = dn;
	for (;;) {
		z.avail_in = (uInt)(in_left > UINT_MAX ? UINT_MAX : in_left);
		z.avail_out = (uInt)(out_left > UINT_MAX ? UINT_MAX : out_left);
		uInt ai = z.avail_in, ao = z.avail_out;
		int rc = inflate(&z, Z_NO_FLUSH);
		in_left -= ai - z.avail_in;
		out_left -= ao - z.avail_out;
		if (rc == Z_STREAM_END) {
			if (in_left == 0 || out_left == 0) { /* concatenated members go on */
				ok = out_left == 0;
				break;
			}
			if (inflateReset(&z) != Z_OK)
				break;
			continue;
		}
		if (rc != Z_OK || (ai == z.avail_in && ao == z.avail_out))
			break;
	}
	inflateEnd(&z);
	return ok;
}

/* Hadoop's LZ4 framing: blocks of big-endian (raw size, compressed size). */
static bool hadoop_lz4(const uint8_t *src, size_t sn, uint8_t *dst, size_t dn)
{
	size_t out = 0;
	while (sn >= 8) {
		uint32_t raw = (uint32_t)src[0] << 24 | (uint32_t)src[1] << 16 |
		               (uint32_t)src[2] << 8 | src[3];
		uint32_t cz = (uint32_t)src[4] << 24 | (uint32_t)src[5] << 16 |
		              (uint32_t)src[6] << 8 | src[7];
		src += 8;
		sn -= 8;
		if (cz > sn || raw > dn - out || cz > INT_MAX || raw > INT_MAX)
			return false;
		int r = LZ4_decompress_safe((const char *)src, (char *)dst + out, (int)cz, (int)raw);
		if (r < 0 || (uint32_t)r != raw)
			return false;
		out += raw;
		src += cz;
		sn -= cz;
	}
	return sn == 0 && out == dn;
}

static enum pb_status decompress(const struct pb_pq_file *f, const struct pb_pq_column *c,
                                 int codec, const uint8_t *src, size_t sn, uint8_t *dst, size_t dn,
                                 struct pb_error *err)
{
	bool ok = false;
	if (dn == 0 && sn == 0) /* an empty page: nothing to decompress */
		return PB_OK;
	switch (codec) {
	case 0:
		ok = sn == dn;
		if (ok && dn)
			memcpy(dst, src, dn);
		break;
	case 1: {
		size_t n;
		ok = snappy_uncompressed_length((const char *)src, sn, &n) == SNAPPY_OK && n == dn &&
		     snappy_uncompress((const char *)src, sn, (char *)dst, &n) == SNAPPY_OK && n == dn;
		break;
	}
	case 2: ok = dn == 0 ? sn == 0 || gunzip(src, sn, dst, dn) : gunzip(src, sn, dst, dn); break;
	case 5:
		ok = hadoop_lz4(src, sn, dst, dn);
		if (!ok && sn <= INT_MAX && dn <= INT_MAX) /* some writers used raw LZ4 here */
			ok = LZ4_decompress_safe((const char *)src, (char *)dst, (int)sn, (int)dn) ==
			     (int)dn;
		break;
	case 6: {
		size_t r = ZSTD_decompress(dst, dn, src, sn);
		ok = !ZSTD_isError(r) && r == dn;
		break;
	}
	case 7:
		ok = sn <= INT_MAX && dn <= INT_MAX &&
		     LZ4_decompress_safe((const char *)src, (char *)dst, (int)sn, (int)dn) == (int)dn;
		break;
	default:
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': column '%s' uses %s compression (not supported)",
		               f->name, c->name, codec_name(codec));
	}
	if (!ok)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': a %s page of column '%s' does not decompress to its "
		               "stated size",
		               f->name, codec_name(codec), c->name);
	return PB_OK;
}

/* ---- values ------------------------------------------------------------ */

void pb__pq_values_release(struct pb_pq_values *v)
{
	for (size_t i = 0; i < v->nbufs; i++)
		free(v->bufs[i]);
	free(v->bufs);
	free(v->null);
	free(v->def);
	free(v->rep);
	free(v->v);
	free(v->dix);
	free(v->dict);
	memset(v, 0, sizeof(*v));
}

/* Hands buffer b to the values (freed with them); false when out of memory
 * (b is freed). */
static bool keep_buf(struct pb_pq_values *v, void *b)
{
	void *g = pb__grow(v->bufs, &v->capbufs, v->nbufs, sizeof(*v->bufs));
	if (!g) {
		free(b);
		return false;
	}
	v->bufs = g;
	v->bufs[v->nbufs++] = b;
	return true;
}

static size_t fixed_width(const struct pb_pq_column *c)
{
	switch (c->type) {
	case PQ_INT32: case PQ_FLOAT: return 4;
	case PQ_INT64: case PQ_DOUBLE: return 8;
	case PQ_INT96: return 12;
	case PQ_FLBA: return (size_t)c->type_length;
	default: return 0;
	}
}


/* One fixed-width value from its little-endian bytes. */
static void fixed_value(const struct pb_pq_column *c, const uint8_t *p, struct pb_pq_value *o)
{
	switch (c->type) {
	case PQ_INT32: o->u.i = (int32_t)(uint32_t)le(p, 4); break;
	case PQ_INT64: o->u.i = (int64_t)le(p, 8); break;
	case PQ_FLOAT: {
		float x;
		uint32_t u = (uint32_t)le(p, 4);
		memcpy(&x, &u, 4);
		o->u.d = x;
		break;
	}
	case PQ_DOUBLE: {
		uint64_t u = le(p, 8);
		memcpy(&o->u.d, &u, 8);
		break;
	}
	default:
		o->u.b.p = p;
		o->u.b.n = (uint32_t)fixed_width(c);
		break;
	}
}

/* what decoding a page needs */
struct pq_ctx {
	const struct pb_pq_file *f;
	const struct pb_pq_column *c;
	struct pb_pq_values *out;
	struct pb_error *err;
	size_t want;  /* entries the chunk holds: the last growth stops there */
};

static enum pb_status bad(struct pq_ctx *x, const char *what)
{
	return pb__err(x->err, PB_EFORMAT, "cannot read '%s': column '%s': %s", x->f->name,
	               x->c->name, what);
}

static enum pb_status plain(struct pq_ctx *x, const uint8_t *p, size_t n, struct pb_pq_value *o,
                            size_t count)
{
	const struct pb_pq_column *c = x->c;
	if (c->type == PQ_BOOLEAN) {
		if (count > n * 8)
			return bad(x, "PLAIN booleans end early");
		for (size_t i = 0; i < count; i++)
			o[i].u.i = (p[i >> 3] >> (i & 7)) & 1;
		return PB_OK;
	}
	if (c->type == PQ_BYTE_ARRAY) {
		const uint8_t *end = p + n;
		for (size_t i = 0; i < count; i++) {
			if (end - p < 4)
				return bad(x, "PLAIN byte arrays end early");
			uint32_t l = (uint32_t)le(p, 4);
			p += 4;
			if (l > (size_t)(end - p))
				return bad(x, "a PLAIN byte array is longer than its page");
			o[i].u.b.p = p;
			o[i].u.b.n = l;
			p += l;
		}
		return PB_OK;
	}
	size_t w = fixed_width(c);
	if (w == 0 || count > n / w)
		return bad(x, "PLAIN values end early");
	for (size_t i = 0; i < count; i++)
		fixed_value(c, p + i * w, &o[i]);
	return PB_OK;
}

static enum pb_status byte_stream_split(struct pq_ctx *x, const uint8_t *p, size_t n,
                                        struct pb_pq_value *o, size_t count)
{
	const struct pb_pq_column *c = x->c;
	size_t w = fixed_width(c);
	if (w == 0 || c->type == PQ_INT96)
		return bad(x, "BYTE_STREAM_SPLIT on a type it does not apply to");
	if (n % w || n / w < count)
		return bad(x, "BYTE_STREAM_SPLIT data does not hold its values");
	size_t stride = n / w;
	uint8_t *buf = malloc(count * w + 1);
	if (!buf || !keep_buf(x->out, buf))
		return pb__err(x->err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		for (size_t j = 0; j < w; j++)
			buf[i * w + j] = p[j * stride + i];
		fixed_value(c, buf + i * w, &o[i]);
	}
	return PB_OK;
}

static enum pb_status delta_ints(struct pq_ctx *x, const uint8_t *p, size_t n,
                                 struct pb_pq_value *o, size_t count)
{
	if (x->c->type != PQ_INT32 && x->c->type != PQ_INT64)
		return bad(x, "DELTA_BINARY_PACKED on a type it does not apply to");
	int64_t *tmp = malloc((count + 1) * sizeof(*tmp));
	if (!tmp)
		return pb__err(x->err, PB_ENOMEM, "out of memory");
	size_t got, used;
	bool ok = pb__pq_delta(p, n, tmp, count, &got, &used) && got == count;
	for (size_t i = 0; ok && i < count; i++)
		o[i].u.i = x->c->type == PQ_INT32 ? (int32_t)(uint32_t)tmp[i] : tmp[i];
	free(tmp);
	return ok ? PB_OK : bad(x, "malformed DELTA_BINARY_PACKED data");
}

/* DELTA_LENGTH_BYTE_ARRAY: lengths, then the bytes one after another. */
static enum pb_status delta_length(struct pq_ctx *x, const uint8_t *p, size_t n,
                                   struct pb_pq_value *o, size_t count, size_t *used_out)
{
	int64_t *len = malloc((count + 1) * sizeof(*len));
	if (!len)
		return pb__err(x->err, PB_ENOMEM, "out of memory");
	size_t got, used;
	enum pb_status st = PB_OK;
	if (!pb__pq_delta(p, n, len, count, &got, &used) || got != count) {
		st = bad(x, "malformed DELTA_LENGTH_BYTE_ARRAY lengths");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		if (len[i] < 0 || (uint64_t)len[i] > n - used) {
			st = bad(x, "a DELTA_LENGTH_BYTE_ARRAY value is longer than its page");
			goto out;
		}
		o[i].u.b.p = p + used;
		o[i].u.b.n = (uint32_t)len[i];
		used += (size_t)len[i];
	}
	if (used_out)
		*used_out = used;
out:
	free(len);
	return st;
}

/* DELTA_BYTE_ARRAY: prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY;
 * each value is the previous one's prefix and its suffix. */
static enum pb_status delta_byte_array(struct pq_ctx *x, const uint8_t *p, size_t n,
                                       struct pb_pq_value *o, size_t count)
{
	int64_t *pre = malloc((count + 1) * sizeof(*pre));
	uint8_t *buf = NULL;
	if (!pre)
		return pb__err(x->err, PB_ENOMEM, "out of memory");
	size_t got, used;
	enum pb_status st = PB_OK;
	if (!pb__pq_delta(p, n, pre, count, &got, &used) || got != count) {
		st = bad(x, "malformed DELTA_BYTE_ARRAY prefix lengths");
		goto out;
	}
	if ((st = delta_length(x, p + used, n - used, o, count, NULL)))
		goto out;
	uint64_t total = 0, prev = 0;
	for (size_t i = 0; i < count; i++) {
		if (pre[i] < 0 || (uint64_t)pre[i] > prev) {
			st = bad(x, "a DELTA_BYTE_ARRAY prefix is longer than the value before");
			goto out;
		}
		prev = (uint64_t)pre[i] + o[i].u.b.n;
		total += prev;
		if (total > PQ_MAX_PAGE || prev > UINT32_MAX) {
			st = pb__err(x->err, PB_ELIMIT,
			             "cannot read '%s': column '%s': DELTA_BYTE_ARRAY values over %u bytes",
			             x->f->name, x->c->name, PQ_MAX_PAGE);
			goto out;
		}
	}
	buf = malloc(total + 1);
	if (!buf) {
		st = pb__err(x->err, PB_ENOMEM, "out of memory");
		goto out;
	}
	uint8_t *w = buf;
	const uint8_t *last = NULL;
	for (size_t i = 0; i < count; i++) {
		size_t pl = (size_t)pre[i];
		if (pl)
			memcpy(w, last, pl);
		if (o[i].u.b.n)
			memcpy(w + pl, o[i].u.b.p, o[i].u.b.n);
		o[i].u.b.p = w;
		o[i].u.b.n += (uint32_t)pl;
		last = w;
		w += o[i].u.b.n;
	}
	if (x->c->type == PQ_FLBA)
		for (size_t i = 0; i < count; i++)
			if (o[i].u.b.n != (uint32_t)x->c->type_length) {
				st = bad(x, "a DELTA_BYTE_ARRAY value is not of the fixed length");
				goto out;
			}
	if (!keep_buf(x->out, buf))
		st = pb__err(x->err, PB_ENOMEM, "out of memory");
	buf = NULL;
out:
	free(buf);
	free(pre);
	return st;
}

static enum pb_status decode_plain(struct pq_ctx *x, int enc, const uint8_t *p, size_t n,
                                   struct pb_pq_value *o, size_t count);

/* Decodes count non-null values of a data page's value section; dix (when
 * not NULL) gets each value's dictionary index, PB_PQ_NODICT for a page not
 * dictionary-encoded. */
static enum pb_status decode_values(struct pq_ctx *x, int enc, const uint8_t *p, size_t n,
                                    const struct pb_pq_value *dict, size_t ndict,
                                    struct pb_pq_value *o, uint32_t *dix, size_t count)
{
	if (enc != 2 && enc != 8) {
		enum pb_status st = decode_plain(x, enc, p, n, o, count);
		for (size_t i = 0; !st && dix && i < count; i++)
			dix[i] = PB_PQ_NODICT;
		return st;
	}
	if (!dict)
		return bad(x, "dictionary-encoded page without a dictionary");
	if (count == 0)
		return PB_OK;
	if (n < 1 || p[0] > 32)
		return bad(x, "bad dictionary index width");
	/* 0-bit indices can only name the one entry of a dictionary */
	if (p[0] == 0 && ndict > 1)
		return bad(x, "0-bit indices into a dictionary of more than one value "
		              "(malformed)");
	uint32_t *idx = dix ? dix : malloc(count * sizeof(*idx));
	if (!idx)
		return pb__err(x->err, PB_ENOMEM, "out of memory");
	bool ok = pb__pq_rle(p + 1, n - 1, p[0], idx, count);
	for (size_t i = 0; ok && i < count; i++) {
		if (idx[i] >= ndict)
			ok = false;
		else if (o)
			o[i] = dict[idx[i]];
	}
	if (idx != dix)
		free(idx);
	return ok ? PB_OK : bad(x, "bad dictionary indices");
}

/* The encodings other than the dictionary's. */
static enum pb_status decode_plain(struct pq_ctx *x, int enc, const uint8_t *p, size_t n,
                                   struct pb_pq_value *o, size_t count)
{
	switch (enc) {
	case 0: return plain(x, p, n, o, count);
	case 2:
	case 8: return bad(x, "dictionary indices where values were expected");
	case 3: {
		if (x->c->type != PQ_BOOLEAN)
			return bad(x, "RLE values on a type that is not BOOLEAN");
		if (n < 4 || le(p, 4) > n - 4)
			return bad(x, "RLE booleans end early");
		uint32_t *b = malloc((count + 1) * sizeof(*b));
		if (!b)
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		bool ok = pb__pq_rle(p + 4, (size_t)le(p, 4), 1, b, count);
		for (size_t i = 0; ok && i < count; i++)
			o[i].u.i = b[i];
		free(b);
		return ok ? PB_OK : bad(x, "malformed RLE booleans");
	}
	case 5: return delta_ints(x, p, n, o, count);
	case 6:
		if (x->c->type != PQ_BYTE_ARRAY)
			return bad(x, "DELTA_LENGTH_BYTE_ARRAY on a type that is not BYTE_ARRAY");
		return delta_length(x, p, n, o, count, NULL);
	case 7:
		if (x->c->type != PQ_BYTE_ARRAY && x->c->type != PQ_FLBA)
			return bad(x, "DELTA_BYTE_ARRAY on a type that is not a byte array");
		return delta_byte_array(x, p, n, o, count);
	case 9: return byte_stream_split(x, p, n, o, count);
	default:
		return pb__err(x->err, PB_EFORMAT,
		               "cannot read '%s': column '%s' uses the %s encoding (not supported)",
		               x->f->name, x->c->name, encoding_name(enc));
	}
}

static int bit_width(int v)
{
	int w = 0;
	while (v >> w)
		w++;
	return w;
}

/* Grows the output to hold n more values. */
static enum pb_status out_reserve(struct pq_ctx *x, size_t more, size_t *cap)
{
	struct pb_pq_values *o = x->out;
	if (o->n + more <= *cap && o->null) /* a first page of no values has its arrays too */
		return PB_OK;
	size_t nc = *cap ? *cap : 1024;
	while (nc < o->n + more)
		nc *= 2;
	if (nc > x->want && x->want >= o->n + more)
		nc = x->want;
	void *a;
	if (o->v) { /* made when a value needs a copy (data_page) */
		if (!(a = realloc(o->v, nc * sizeof(*o->v))))
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		o->v = a;
	}
	if (o->dix) {
		if (!(a = realloc(o->dix, nc * sizeof(*o->dix))))
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		o->dix = a;
	}
	a = realloc(o->null, nc);
	if (!a)
		return pb__err(x->err, PB_ENOMEM, "out of memory");
	o->null = a;
	if (x->c->max_rep > 0) {
		if (!(a = realloc(o->def, nc)))
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		o->def = a;
		if (!(a = realloc(o->rep, nc)))
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		o->rep = a;
	}
	*cap = nc;
	return PB_OK;
}

/* One data page (v1 or v2), its payload already decompressed where it is
 * compressed: levels, then values spread over the non-null slots. */
static enum pb_status data_page(struct pq_ctx *x, const struct pq_page *pg, const uint8_t *p,
                                size_t n, const uint8_t *reps, size_t nrep,
                                const uint8_t *levels, size_t nlev,
                                const struct pb_pq_value *dict, size_t ndict, size_t limit,
                                size_t *cap)
{
	const struct pb_pq_column *c = x->c;
	if (pg->num_values < 0 || (uint64_t)pg->num_values > limit)
		return bad(x, "a page holds more values than its row group");
	size_t count = (size_t)pg->num_values;
	enum pb_status st = out_reserve(x, count, cap);
	if (st)
		return st;
	uint8_t *nul = x->out->null + x->out->n;
	size_t nonnull = count;
	if (c->max_rep > 0) { /* repetition levels lead the page (v1: length-prefixed) */
		if (pg->type == 0) {
			if (pg->rep_encoding != 3 || n < 4 || le(p, 4) > n - 4)
				return bad(x, "malformed repetition levels");
			reps = p + 4;
			nrep = (size_t)le(p, 4);
			p += 4 + nrep;
			n -= 4 + nrep;
		}
		uint32_t *lv = malloc((count + 1) * sizeof(*lv));
		if (!lv)
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		bool ok = pb__pq_rle(reps, nrep, bit_width(c->max_rep), lv, count);
		for (size_t i = 0; ok && i < count; i++) {
			ok = lv[i] <= (uint32_t)c->max_rep && (x->out->n + i > 0 || lv[i] == 0);
			x->out->rep[x->out->n + i] = (uint8_t)lv[i];
		}
		free(lv);
		if (!ok)
			return bad(x, "malformed repetition levels");
	}
	if (c->max_def > 0) {
		uint32_t *lv = malloc((count + 1) * sizeof(*lv));
		if (!lv)
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		const uint8_t *lp = levels;
		size_t ln = nlev;
		bool ok = true;
		if (pg->type == 0) { /* v1: the levels lead the page, length-prefixed */
			if (pg->def_encoding != 3)
				ok = false;
			else if (n < 4 || le(p, 4) > n - 4)
				ok = false;
			else {
				lp = p + 4;
				ln = (size_t)le(p, 4);
				p += 4 + ln;
				n -= 4 + ln;
			}
		}
		ok = ok && pb__pq_rle(lp, ln, bit_width(c->max_def), lv, count);
		nonnull = 0;
		for (size_t i = 0; ok && i < count; i++) {
			if (lv[i] > (uint32_t)c->max_def)
				ok = false;
			nul[i] = lv[i] != (uint32_t)c->max_def;
			nonnull += !nul[i];
			if (ok && x->out->def)
				x->out->def[x->out->n + i] = (uint8_t)lv[i];
		}
		free(lv);
		if (!ok)
			return bad(x, pg->type == 0 && pg->def_encoding != 3
			                      ? "definition levels in an encoding other than RLE (not supported)"
			                      : "malformed definition levels");
	} else {
		memset(nul, 0, count);
		if (x->out->def)
			memset(x->out->def + x->out->n, 0, count);
	}
	bool by_dict = (pg->encoding == 2 || pg->encoding == 8) && x->out->dix;
	if (!x->out->v && nonnull && !by_dict) {
		/* the first values that are not nulls or dictionary indices
		 * (a chunk of nulls needs no copies, nor does one whose pages are
		 * all dictionary-encoded): the values so far become copies too */
		struct pb_pq_values *o = x->out;
		struct pb_pq_value *all = malloc((*cap ? *cap : 1) * sizeof(*all));
		if (!all)
			return pb__err(x->err, PB_ENOMEM, "out of memory");
		for (size_t i = 0; i < o->n; i++)
			all[i] = *pb__pq_value(o, i);
		o->v = all;
	}
	struct pb_pq_value *v = x->out->v ? x->out->v + x->out->n : NULL;
	uint32_t *dix = x->out->dix ? x->out->dix + x->out->n : NULL;
	struct pb_pq_value none[1]; /* no values to decode: still checked as a page */
	if ((st = decode_values(x, pg->encoding, p, n, dict, ndict, v || by_dict ? v : none, dix,
	                        nonnull)))
		return st;
	/* spread the values over the non-null slots, from the end */
	if (nonnull != count) {
		size_t k = nonnull;
		for (size_t i = count; i-- > 0;) {
			k -= !nul[i];
			if (v)
				v[i] = nul[i] ? (struct pb_pq_value){ 0 } : v[k];
			if (dix)
				dix[i] = nul[i] ? PB_PQ_NODICT : dix[k];
		}
	}
	x->out->n += count;
	return PB_OK;
}

/* pb__pq_read, or with dict_only pb__pq_read_dict: then *only is set when
 * the chunk was read so. */
static enum pb_status read_chunk(const struct pb_pq_file *f, size_t rg, size_t col,
                                 struct pb_pq_values *out, struct pb_error *err, bool dict_only,
                                 bool *only)
{
	pb__pq_values_release(out);
	const struct pb_pq_column *c = &f->cols[col];
	const struct pb_pq_chunk *ch = &f->rgs[rg].chunks[col];
	struct pq_ctx x = { f, c, out, err, 0 };
	if (c->max_rep > 1 || c->max_def > 255)
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': column '%s' is nested more than one level (not "
		               "supported)",
		               f->name, c->name);
	size_t rows = (size_t)f->rgs[rg].num_rows;
	/* a repeated column holds the chunk's count of level entries, not rows */
	size_t want = rows;
	if (c->max_rep > 0) {
		if (ch->num_values < (int64_t)rows || ch->num_values > (int64_t)PQ_MAX_VALUES)
			return pb__err(err, PB_EFORMAT,
			               "cannot read '%s': column '%s' of row group %zu claims %lld values",
			               f->name, c->name, rg + 1, (long long)ch->num_values);
		want = (size_t)ch->num_values;
	}
	if (rows == 0 || (dict_only && c->max_rep > 0))
		return PB_OK;
	x.want = want;
	size_t seen = 0; /* dict_only: the values of the data pages, by their headers */
	/* values of these types are copied out of their page, whose buffer is
	 * then reused; others are views into it and keep it */
	bool copied = c->type == PQ_BOOLEAN || c->type == PQ_INT32 || c->type == PQ_INT64 ||
	              c->type == PQ_FLOAT || c->type == PQ_DOUBLE;
	uint8_t *scratch = NULL;
	size_t scap = 0;
	uint64_t start = (uint64_t)chunk_start(ch), end = chunk_end(f, ch);
	const struct pb_pq_rowgroup *g = &f->rgs[rg];
	const uint8_t *p, *pend;
	if (f->data) {
		p = f->data + start;
		pend = f->data + end;
	} else if (g->span && start >= (uint64_t)g->span_lo && end <= (uint64_t)g->span_hi) {
		p = g->span + (start - (uint64_t)g->span_lo);
		pend = g->span + (end - (uint64_t)g->span_lo);
	} else
		return pb__err(err, PB_EFORMAT,
		               "cannot read '%s': column '%s' of row group %zu is not in the bytes read",
		               f->name, c->name, rg + 1);
	struct pb_pq_value *dict = NULL;
	size_t ndict = 0, cap = 0;
	enum pb_status st = PB_OK;
	while ((dict_only ? seen : out->n) < want && p < pend) {
		struct pq_thrift t = { p, pend, false, false };
		struct pq_page pg;
		if (!pb__pq_read_page_header(&t, &pg)) {
			st = bad(&x, "malformed page header");
			break;
		}
		p = t.p;
		if (pg.csize < 0 || pg.usize < 0 || (uint64_t)pg.csize > (size_t)(pend - p) ||
		    pg.usize > PQ_MAX_PAGE) {
			st = bad(&x, "a page's size does not fit its column chunk");
			break;
		}
		const uint8_t *raw = p;
		size_t rn = (size_t)pg.csize;
		p += rn;
		if (pg.type != 0 && pg.type != 2 && pg.type != 3)
			continue; /* index pages and the like */
		if (dict_only && pg.type != 2) { /* a data page: its header alone */
			if ((pg.encoding != 2 && pg.encoding != 8) || !dict || pg.num_values < 0 ||
			    (uint64_t)pg.num_values > want - seen)
				break;
			seen += (size_t)pg.num_values;
			continue;
		}
		/* v2: levels are not compressed and lead the page */
		size_t lev = 0;
		if (pg.type == 3) {
			if (pg.def_len < 0 || pg.rep_len < 0 || (uint64_t)pg.def_len + (uint64_t)pg.rep_len > rn ||
			    (uint64_t)pg.def_len + (uint64_t)pg.rep_len > (uint64_t)pg.usize) {
				st = bad(&x, "a v2 page's level lengths do not fit it");
				break;
			}
			lev = (size_t)(pg.def_len + pg.rep_len);
		}
		size_t un = (size_t)pg.usize - lev;
		uint8_t *buf;
		if (copied && pg.type != 2) { /* a dictionary's values are copied too, but once */
			if (un + 1 > scap) {
				free(scratch);
				scap = un + 1;
				if (!(scratch = malloc(scap)))
					scap = 0;
			}
			buf = scratch;
			if (!buf) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				break;
			}
		} else if (!(buf = malloc(un + 1)) || !keep_buf(out, buf)) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		bool compressed = ch->codec != 0 && (pg.type != 3 || pg.v2_compressed);
		if ((st = decompress(f, c, compressed ? ch->codec : 0, raw + lev, rn - lev, buf, un,
		                     err)))
			break;
		if (pg.type == 2) {
			if (dict) {
				st = bad(&x, "a second dictionary page");
				break;
			}
			/* every entry takes bytes of the page (a bit for booleans) */
			size_t wmin = c->type == PQ_BYTE_ARRAY ? 4 : c->type == PQ_BOOLEAN ? 1 : fixed_width(c);
			uint64_t most = c->type == PQ_BOOLEAN ? (uint64_t)un * 8 : un / wmin;
			if (pg.num_values < 0 || (uint64_t)pg.num_values > most ||
			    (pg.encoding != 0 && pg.encoding != 2)) {
				st = bad(&x, "a bad dictionary page");
				break;
			}
			ndict = (size_t)pg.num_values;
			dict = malloc((ndict + 1) * sizeof(*dict));
			if (!dict) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				break;
			}
			if ((st = plain(&x, buf, un, dict, ndict)))
				break;
			/* the values of this chunk's pages name their entry (when the
			 * dictionary leads them, as it should) */
			if (out->n == 0 && ndict && !dict_only) {
				out->dix = malloc((cap ? cap : 1) * sizeof(*out->dix));
				if (!out->dix) {
					st = pb__err(err, PB_ENOMEM, "out of memory");
					break;
				}
				out->ndict = ndict;
				out->dict = dict;
			}
			continue;
		}
		if ((st = data_page(&x, &pg, buf, un, raw, (size_t)pg.rep_len, raw + pg.rep_len,
		                    (size_t)pg.def_len, dict, ndict, want - out->n, &cap)))
			break;
	}
	if (dict_only) {
		free(scratch);
		if (!st && dict && seen == want) {
			out->dict = dict;
			out->ndict = ndict;
			out->n = want;
			out->dict_only = *only = true;
			return PB_OK;
		}
		free(dict);
		pb__pq_values_release(out);
		return st == PB_ENOMEM ? st : PB_OK;
	}
	if (dict != out->dict)
		free(dict);
	free(scratch);
	if (!st && out->n != want)
		st = pb__err(err, PB_EFORMAT,
		             "cannot read '%s': column '%s' of row group %zu holds %zu values, not %zu",
		             f->name, c->name, rg + 1, out->n, want);
	if (!st && c->max_rep > 0) {
		size_t starts = 0;
		for (size_t i = 0; i < out->n; i++)
			starts += out->rep[i] == 0;
		if (starts != rows)
			st = pb__err(err, PB_EFORMAT,
			             "cannot read '%s': column '%s' of row group %zu holds %zu rows, not %zu",
			             f->name, c->name, rg + 1, starts, rows);
	}
	if (st)
		pb__pq_values_release(out);
	return st;
}

enum pb_status pb__pq_read(const struct pb_pq_file *f, size_t rg, size_t col,
                           struct pb_pq_values *out, struct pb_error *err)
{
	bool only = false;
	return read_chunk(f, rg, col, out, err, false, &only);
}

enum pb_status pb__pq_read_dict(const struct pb_pq_file *f, size_t rg, size_t col,
                                struct pb_pq_values *out, bool *only, struct pb_error *err)
{
	*only = false;
	return read_chunk(f, rg, col, out, err, true, only);
}

/* ---- text -------------------------------------------------------------- */

/* The shortest text that reads back as the same double (or float), as
 * DuckDB and Python print it: fixed notation with at least one decimal
 * ("2.0") for exponents -4 to 15, else d.ddde+XX. */
static int atoi_safe(const char *s)
{
	int sign = 1, v = 0;
	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	while (*s >= '0' && *s <= '9' && v < 10000)
		v = v * 10 + (*s++ - '0');
	return sign * v;
}

static size_t fmt_double_search(char *buf, size_t cap, double d, bool single)
{
	if (isnan(d))
		return (size_t)snprintf(buf, cap, signbit(d) ? "-nan" : "nan");
	if (isinf(d))
		return (size_t)snprintf(buf, cap, d < 0 ? "-inf" : "inf");
	/* the fewest digits that read back: a binary search, since with p + 1
	 * digits the correctly rounded text is at least as near as with p */
	char e[40];
	int lo = 0, hi = 16;
	while (lo < hi) {
		int prec = (lo + hi) / 2;
		snprintf(e, sizeof(e), "%.*e", prec, d);
		if (single ? strtof(e, NULL) == (float)d : strtod(e, NULL) == d)
			hi = prec;
		else
			lo = prec + 1;
	}
	int prec = lo;
	snprintf(e, sizeof(e), "%.*e", prec, d);
	/* e is [-]D[.DDD]e[+-]XX: its digits and exponent */
	char digits[24];
	size_t nd = 0;
	const char *q = e;
	bool neg = *q == '-';
	q += neg;
	for (; *q && *q != 'e'; q++)
		if (*q != '.' && nd < sizeof(digits) - 1)
			digits[nd++] = *q;
	int exp = atoi_safe(q + 1);
	size_t k = 0;
	char out[64];
	if (neg)
		out[k++] = '-';
	if (exp < -4 || exp >= 16) {
		out[k++] = digits[0];
		if (nd > 1) {
			out[k++] = '.';
			for (size_t i = 1; i < nd; i++)
				out[k++] = digits[i];
		}
		k += (size_t)snprintf(out + k, sizeof(out) - k, "e%c%02d", exp < 0 ? '-' : '+',
		                      exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		out[k++] = '0';
		out[k++] = '.';
		for (int i = -1; i > exp; i--)
			out[k++] = '0';
		for (size_t i = 0; i < nd; i++)
			out[k++] = digits[i];
	} else {
		for (int i = 0; i <= exp; i++)
			out[k++] = (size_t)i < nd ? digits[i] : '0';
		out[k++] = '.';
		if ((size_t)exp + 1 >= nd)
			out[k++] = '0';
		for (size_t i = (size_t)exp + 1; i < nd; i++)
			out[k++] = digits[i];
	}
	out[k] = 0;
	return (size_t)snprintf(buf, cap, "%s", out);
}

/* v in exactly width digits (zero-padded; width 1..20) at p; the end */
static char *put_fixed(char *p, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* v in decimal at p; the end */
static char *put_u64(char *p, uint64_t v)
{
	int w = 1;
	for (uint64_t t = v; t >= 10; t /= 10)
		w++;
	return put_fixed(p, v, w);
}

/* The same text without the search, for the common double that is a short
 * decimal (a cost, a quantity): the fewest k fractional digits (up to 15)
 * whose n / 10^k reads back as d (both exact, so the division is correctly
 * rounded), with |n| < 2^50 so that one integer at most lies within d's
 * rounding interval, rint finds it, and it is the one that the correctly
 * rounded %.*e of the search gives. That integer at the most digits K that
 * stay under 2^50 is n * 10^(K-k) for the fewest k, so one product and
 * dropping its trailing zeros find it (the same text as trying k = 0, 1, ...
 * on 20M random and short-decimal doubles). Here: |d| = u / 10^k with the
 * fewest k (any k when trim is false), or false when d is not such a
 * decimal (the search's case). */
static bool short_decimal(double d, uint64_t *un, int *kn, bool trim)
{
	static const double p10[] = { 1,    1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
		                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	double a = fabs(d);
	if (!(a >= 1e-4) || !(a < 1e15))
		return false;
	/* the most k with a * 10^k < 2^50: with a < 2^(e+1), k is at most
	 * (50 - e) log10(2), so a step or two down from there */
	uint64_t bits;
	memcpy(&bits, &a, sizeof(bits));
	int e = (int)(bits >> 52) - 1023; /* a >= 1e-4 is normal */
	int k = (50 - e) * 30103 / 100000 + 1;
	if (k > 15)
		k = 15;
	double x = a * p10[k];
	while (x >= 1125899906842624.0) /* 2^50; a < 1e15 keeps k >= 0 */
		x = a * p10[--k];
	double n = rint(x);
	if (n / p10[k] != a)
		return false;
	uint64_t u = (uint64_t)n;
	while (trim && k >= 4 && u % 10000 == 0) {
		u /= 10000;
		k -= 4;
	}
	while (trim && k > 0 && u % 10 == 0) {
		u /= 10;
		k--;
	}
	*un = u;
	*kn = k;
	return true;
}

static const uint64_t u10[] = { 1ull,
	                        10ull,
	                        100ull,
	                        1000ull,
	                        10000ull,
	                        100000ull,
	                        1000000ull,
	                        10000000ull,
	                        100000000ull,
	                        1000000000ull,
	                        10000000000ull,
	                        100000000000ull,
	                        1000000000000ull,
	                        10000000000000ull,
	                        100000000000000ull,
	                        1000000000000000ull };

/* d's shortest text that reads back: a short decimal's digits, else the search */
static size_t fmt_double(char *buf, size_t cap, double d, bool single)
{
	uint64_t u;
	int k;
	if (d == 0 && cap >= 8)
		return (size_t)snprintf(buf, cap, signbit(d) ? "-0.0" : "0.0");
	if (single || cap < 40 || !short_decimal(d, &u, &k, true))
		return fmt_double_search(buf, cap, d, single);
	char *q = buf;
	if (d < 0)
		*q++ = '-';
	q = put_u64(q, u / u10[k]);
	*q++ = '.';
	q = put_fixed(q, u % u10[k], k ? k : 1);
	*q = 0;
	return (size_t)(q - buf);
}

bool pb__pq_double_plain(double d)
{
	double a = fabs(d);
	return d == 0 || (a >= 1e-4 && a < 1e15);
}

bool pb__pq_double_dec(double d, pb_dec *out)
{
	uint64_t u;
	int k;
	if (d == 0) {
		*out = 0;
		return true;
	}
	if (!short_decimal(d, &u, &k, false))
		return false;
	pb_dec v = (pb_dec)u * (pb_dec)u10[PB_DEC_SCALE_DIGITS - k];
	*out = d < 0 ? -v : v;
	return true;
}

/* an unscaled 128-bit integer with scale digits after the point */
static size_t fmt_decimal(char *buf, size_t cap, pb_dec v, int scale)
{
	char digits[64];
	bool neg = v < 0;
	pb_udec u = neg ? -(pb_udec)v : (pb_udec)v;
	int nd = 0;
	do {
		digits[nd++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u && nd < 60);
	while (nd <= scale)
		digits[nd++] = '0';
	size_t k = 0;
	if (neg && k + 1 < cap)
		buf[k++] = '-';
	for (int i = nd - 1; i >= 0 && k + 2 < cap; i--) {
		buf[k++] = digits[i];
		if (i == scale && scale > 0)
			buf[k++] = '.';
	}
	buf[k] = 0;
	return k;
}

/* big-endian two's complement bytes (up to 16) */
static bool be_int128(const uint8_t *p, size_t n, pb_dec *out)
{
	if (n > 16)
		return false;
	pb_udec u = n && (p[0] & 0x80) ? ~(pb_udec)0 : 0;
	for (size_t i = 0; i < n; i++)
		u = (u << 8) | p[i];
	*out = (pb_dec)u;
	return true;
}

bool pb__pq_timestamp_secs(const struct pb_pq_column *c, int64_t v, int64_t *secs)
{
	static const int64_t per[] = { 1000, 1000000, 1000000000 };
	if (c->kind != PQK_TIMESTAMP || c->type == PQ_INT96 || c->unit < 0 || c->unit > 2)
		return false;
	int64_t s = pb_floordiv(v, per[c->unit]);
	/* whole seconds from 0000-01-01 to 9999-12-31: fmt_time's common case */
	if (s * per[c->unit] != v || s < -62167219200LL || s > 253402300799LL)
		return false;
	*secs = s;
	return true;
}

static size_t fmt_time(char *buf, size_t cap, int64_t v, int unit, bool date_only, bool z)
{
	static const int64_t per[] = { 1000, 1000000, 1000000000 };
	int64_t secs = pb_floordiv(v, per[unit]);
	int64_t frac = v - secs * per[unit];
	int64_t days = pb_floordiv(secs, 86400);
	int64_t sod = secs - days * 86400;
	int y;
	unsigned m, d;
	pb__civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999 && cap >= 40) { /* the common case, without printf */
		static const int digs[] = { 3, 6, 9 };
		char *q = put_fixed(buf, (uint64_t)y, 4);
		*q++ = '-';
		q = put_fixed(q, m, 2);
		*q++ = '-';
		q = put_fixed(q, d, 2);
		if (!date_only) {
			*q++ = 'T';
			q = put_fixed(q, (uint64_t)(sod / 3600), 2);
			*q++ = ':';
			q = put_fixed(q, (uint64_t)(sod / 60 % 60), 2);
			*q++ = ':';
			q = put_fixed(q, (uint64_t)(sod % 60), 2);
			if (frac) {
				*q++ = '.';
				q = put_fixed(q, (uint64_t)frac, digs[unit]);
			}
			if (z)
				*q++ = 'Z';
		}
		*q = 0;
		return (size_t)(q - buf);
	}
	if (date_only)
		return (size_t)snprintf(buf, cap, "%04d-%02u-%02u", y, m, d);
	int n = snprintf(buf, cap, "%04d-%02u-%02uT%02lld:%02lld:%02lld", y, m, d,
	                 (long long)(sod / 3600),
	                 (long long)(sod / 60 % 60), (long long)(sod % 60));
	if (frac) {
		static const int digs[] = { 3, 6, 9 };
		n += snprintf(buf + n, cap - (size_t)n, ".%0*lld", digs[unit], (long long)frac);
	}
	if (z)
		n += snprintf(buf + n, cap - (size_t)n, "Z");
	return (size_t)n;
}

/* seconds since 1970 and nanoseconds (0..999999999) */
static size_t fmt_time_ns(char *buf, size_t cap, int64_t secs, int64_t ns)
{
	size_t n = fmt_time(buf, cap, secs * 1000, 0, false, false);
	if (ns)
		n += (size_t)snprintf(buf + n, cap - n, ".%09lld", (long long)ns);
	n += (size_t)snprintf(buf + n, cap - n, "Z");
	return n;
}

struct pb_str pb__pq_text(const struct pb_pq_column *c, const struct pb_pq_values *vs, size_t i,
                          char *buf, size_t cap, bool *is_null)
{
	*is_null = vs->null[i] != 0;
	if (*is_null)
		return pb_str_of(buf, 0);
	const struct pb_pq_value *v = pb__pq_value(vs, i);
	size_t n = 0;
	switch (c->kind) {
	case PQK_STRING:
		return pb_str_of((const char *)v->u.b.p, v->u.b.n);
	case PQK_DECIMAL: {
		pb_dec u = 0;
		if (c->type == PQ_INT32 || c->type == PQ_INT64)
			u = v->u.i;
		else if (!be_int128(v->u.b.p, v->u.b.n, &u))
			return pb_str_of(buf, (size_t)snprintf(buf, cap, "(decimal over 16 bytes)"));
		n = fmt_decimal(buf, cap, u, c->scale);
		break;
	}
	case PQK_DATE: n = fmt_time(buf, cap, v->u.i * 86400000, 0, true, false); break;
	case PQK_TIMESTAMP:
		if (c->type == PQ_INT96) {
			/* nanoseconds of the day, then the Julian day */
			/* nanoseconds of the day, then the Julian day: as seconds and
			 * nanoseconds, since years far from 1970 overflow 64-bit ns */
			int64_t ns = (int64_t)le(v->u.b.p, 8);
			int64_t jd = (int32_t)(uint32_t)le(v->u.b.p + 8, 4);
			int64_t sub = ns % 1000000000; /* not ns - secs * 1e9: INT64_MIN overflows */
			sub += sub < 0 ? 1000000000 : 0;
			int64_t secs = (jd - 2440588) * 86400 + pb_floordiv(ns, 1000000000);
			n = fmt_time_ns(buf, cap, secs, sub);
		} else {
			n = fmt_time(buf, cap, v->u.i, c->unit, false, true);
		}
		break;
	case PQK_TIME: {
		static const int64_t per[] = { 1000, 1000000, 1000000000 };
		int64_t s = v->u.i / per[c->unit], fr = v->u.i % per[c->unit];
		static const int digs[] = { 3, 6, 9 };
		n = (size_t)snprintf(buf, cap, "%02lld:%02lld:%02lld", (long long)(s / 3600),
		                     (long long)(s / 60 % 60), (long long)(s % 60));
		if (fr)
			n += (size_t)snprintf(buf + n, cap - n, ".%0*lld", digs[c->unit], (long long)fr);
		break;
	}
	case PQK_UINT:
		n = (size_t)snprintf(buf, cap, "%llu",
		                     (unsigned long long)(c->type == PQ_INT32 ? (uint32_t)v->u.i
		                                                              : (uint64_t)v->u.i));
		break;
	case PQK_INT8: n = (size_t)snprintf(buf, cap, "%d", (int8_t)v->u.i); break;
	case PQK_INT16: n = (size_t)snprintf(buf, cap, "%d", (int16_t)v->u.i); break;
	case PQK_UINT8: n = (size_t)snprintf(buf, cap, "%u", (uint8_t)v->u.i); break;
	case PQK_UINT16: n = (size_t)snprintf(buf, cap, "%u", (uint16_t)v->u.i); break;
	case PQK_FLOAT16: {
		uint16_t h = (uint16_t)(v->u.b.p[0] | v->u.b.p[1] << 8);
		int e = (h >> 10) & 0x1f, m = h & 0x3ff;
		double d = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
		n = fmt_double(buf, cap, (h & 0x8000) ? -d : d, true);
		break;
	}
	default:
		switch (c->type) {
		case PQ_BOOLEAN: n = (size_t)snprintf(buf, cap, v->u.i ? "true" : "false"); break;
		case PQ_INT32:
		case PQ_INT64: n = (size_t)snprintf(buf, cap, "%lld", (long long)v->u.i); break;
		case PQ_FLOAT: n = fmt_double(buf, cap, v->u.d, true); break;
		case PQ_DOUBLE: n = fmt_double(buf, cap, v->u.d, false); break;
		default: return pb_str_of((const char *)v->u.b.p, v->u.b.n);
		}
	}
	return pb_str_of(buf, n < cap ? n : cap - 1);
}

/* ---- maps -------------------------------------------------------------- */

/* A MAP's key_value group is repeated, its key required: an entry is there
 * when the key's definition level reaches the group's, the map is null below
 * the map field's own level (one less) and empty at it. */
enum pb_status pb__pq_map_json(const struct pb_pq_file *f, size_t rg, size_t kcol, size_t vcol,
                               struct pb_pq_values *out, struct pb_error *err)
{
	pb__pq_values_release(out);
	const struct pb_pq_column *kc = &f->cols[kcol], *vc = &f->cols[vcol];
	struct pb_pq_values k, v;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	enum pb_status st = pb__pq_read(f, rg, kcol, &k, err);
	if (!st)
		st = pb__pq_read(f, rg, vcol, &v, err);
	size_t rows = (size_t)f->rgs[rg].num_rows;
	int entry = kc->max_def - kc->optional;
	if (!st && (kc->max_rep != 1 || vc->max_rep != 1 || k.n != v.n || entry < 1 ||
	            (k.n && memcmp(k.rep, v.rep, k.n) != 0)))
		st = pb__err(err, PB_EFORMAT,
		             "cannot read '%s': the key and value columns of map '%s' do not match",
		             f->name, f->tops[kc->top]);
	struct pb_buf b;
	pb_buf_init(&b, SIZE_MAX / 2);
	size_t *off = NULL;
	if (!st && (!(out->v = calloc(rows + 1, sizeof(*out->v))) ||
	            !(out->null = calloc(rows + 1, 1)) || !(off = calloc(rows + 1, sizeof(*off)))))
		st = pb__err(err, PB_ENOMEM, "out of memory");
	char kt[80], vt[80];
	size_t r = 0, i = 0;
	bool fail = false;
	for (; !st && i < k.n && r < rows; r++) {
		/* entries i.. up to the next row start are row r's */
		off[r] = b.len;
		bool null = k.def[i] < entry - 1, first = true;
		out->null[r] = null;
		fail |= !null && pb_buf_addc(&b, '{') != PB_OK;
		do {
			if (!null && k.def[i] >= entry) {
				bool kn, vn;
				struct pb_str ks = pb__pq_text(kc, &k, i, kt, sizeof(kt), &kn);
				struct pb_str vs = pb__pq_text(vc, &v, i, vt, sizeof(vt), &vn);
				fail |= (!first && pb_buf_addc(&b, ',')) ||
				        pb_buf_json_str(&b, ks.ptr, ks.len) || pb_buf_addc(&b, ':') ||
				        (vn ? pb_buf_adds(&b, "null") : pb_buf_json_str(&b, vs.ptr, vs.len));
				first = false;
			}
			i++;
		} while (i < k.n && k.rep[i] != 0);
		fail |= !null && pb_buf_addc(&b, '}') != PB_OK;
		off[r + 1] = b.len;
	}
	if (!st && fail)
		st = pb__err(err, PB_ENOMEM, "out of memory");
	if (!st && (r != rows || i != k.n))
		st = pb__err(err, PB_EFORMAT, "cannot read '%s': map '%s' holds %zu rows, not %zu",
		             f->name, f->tops[kc->top], r, rows);
	if (!st) {
		char *text = b.data ? b.data : malloc(1);
		b.data = NULL;
		if (!text || !keep_buf(out, text))
			st = pb__err(err, PB_ENOMEM, "out of memory");
		for (size_t j = 0; !st && j < rows; j++) {
			out->v[j].u.b.p = (const uint8_t *)text + off[j];
			out->v[j].u.b.n = (uint32_t)(off[j + 1] - off[j]);
		}
		out->n = rows;
	}
	free(off);
	pb_buf_release(&b);
	pb__pq_values_release(&k);
	pb__pq_values_release(&v);
	if (st)
		pb__pq_values_release(out);
	return st;
}
