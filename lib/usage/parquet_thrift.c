/* parquet_thrift.c - the Parquet footer (FileMetaData) and page headers, in
 * Thrift's compact protocol, read with every length and count checked.
 *
 * Only the fields probity uses are kept; the rest are skipped, recursion
 * bounded so a hostile footer cannot exhaust the stack. */
#include "usage/parquet_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

enum { T_STOP, T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY, T_LIST, T_SET,
       T_MAP, T_STRUCT };

#define MAX_DEPTH 32

static bool rd_varint(struct pq_thrift *t, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (t->p >= t->end)
			return t->bad = true, false;
		uint8_t b = *t->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return t->bad = true, false;
}

static int64_t rd_zigzag(struct pq_thrift *t)
{
	uint64_t u = 0;
	if (!rd_varint(t, &u))
		return 0;
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Reads a field header: its id and type; T_STOP at the end of a struct. */
static int rd_field(struct pq_thrift *t, int16_t *last, int16_t *id)
{
	if (t->p >= t->end) {
		t->bad = true;
		return T_STOP;
	}
	uint8_t b = *t->p++;
	int type = b & 0x0f;
	if (type == T_STOP)
		return T_STOP;
	int delta = b >> 4;
	if (delta)
		*id = (int16_t)(*last + delta);
	else
		*id = (int16_t)rd_zigzag(t);
	*last = *id;
	return type;
}

static bool rd_list(struct pq_thrift *t, int *etype, uint32_t *n)
{
	if (t->p >= t->end)
		return t->bad = true, false;
	uint8_t b = *t->p++;
	uint64_t size = b >> 4;
	if (size == 15 && !rd_varint(t, &size))
		return false;
	*etype = b & 0x0f;
	/* every element takes at least one byte (bools in lists do too) */
	if (size > (uint64_t)(t->end - t->p))
		return t->bad = true, false;
	*n = (uint32_t)size;
	return true;
}

static bool skip(struct pq_thrift *t, int type, int depth);

static bool skip_struct(struct pq_thrift *t, int depth)
{
	int16_t last = 0, id;
	int type;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP)
		if (!skip(t, type, depth + 1))
			return false;
	return !t->bad;
}

static bool skip(struct pq_thrift *t, int type, int depth)
{
	uint64_t u;
	if (depth > MAX_DEPTH)
		return t->bad = true, false;
	switch (type) {
	case T_TRUE:
	case T_FALSE:
		return true;
	case T_BYTE:
		if (t->p >= t->end)
			return t->bad = true, false;
		t->p++;
		return true;
	case T_I16:
	case T_I32:
	case T_I64:
		return rd_varint(t, &u);
	case T_DOUBLE:
		if (t->end - t->p < 8)
			return t->bad = true, false;
		t->p += 8;
		return true;
	case T_BINARY:
		if (!rd_varint(t, &u) || u > (uint64_t)(t->end - t->p))
			return t->bad = true, false;
		t->p += u;
		return true;
	case T_LIST:
	case T_SET: {
		int et;
		uint32_t n;
		if (!rd_list(t, &et, &n))
			return false;
		for (uint32_t i = 0; i < n; i++) {
			if (et == T_TRUE || et == T_FALSE) { /* a bool element is one byte */
				if (t->p >= t->end)
					return t->bad = true, false;
				t->p++;
			} else if (!skip(t, et, depth + 1))
				return false;
		}
		return true;
	}
	case T_MAP: {
		if (!rd_varint(t, &u))
			return false;
		if (u == 0)
			return true;
		if (t->p >= t->end || u > (uint64_t)(t->end - t->p))
			return t->bad = true, false;
		uint8_t kv = *t->p++;
		for (uint64_t i = 0; i < u; i++)
			if (!skip(t, kv >> 4, depth + 1) || !skip(t, kv & 0x0f, depth + 1))
				return false;
		return true;
	}
	case T_STRUCT:
		return skip_struct(t, depth);
	default:
		return t->bad = true, false;
	}
}

static int64_t rd_int(struct pq_thrift *t, int type)
{
	if (type != T_I16 && type != T_I32 && type != T_I64 && type != T_BYTE) {
		skip(t, type, 0);
		t->bad = true;
		return 0;
	}
	if (type == T_BYTE) {
		if (t->p >= t->end)
			return t->bad = true, 0;
		return (int8_t)*t->p++;
	}
	return rd_zigzag(t);
}

static bool rd_binary(struct pq_thrift *t, int type, const uint8_t **p, size_t *n)
{
	uint64_t u;
	if (type != T_BINARY || !rd_varint(t, &u) || u > (uint64_t)(t->end - t->p))
		return t->bad = true, false;
	*p = t->p;
	*n = (size_t)u;
	t->p += u;
	return true;
}

/* ---- the schema ------------------------------------------------------- */

/* TimeUnit: a union of empty structs. */
static int rd_unit(struct pq_thrift *t, int depth)
{
	int16_t last = 0, id;
	int type, unit = -1;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (type == T_STRUCT && id >= 1 && id <= 3)
			unit = id - 1;
		skip(t, type, depth + 1);
	}
	return unit;
}

/* TimestampType / TimeType: isAdjustedToUTC, unit. */
static void rd_time_type(struct pq_thrift *t, struct pq_schema_el *e, int depth)
{
	int16_t last = 0, id;
	int type;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (id == 1 && (type == T_TRUE || type == T_FALSE))
			e->utc = type == T_TRUE;
		else if (id == 2 && type == T_STRUCT)
			e->unit = rd_unit(t, depth + 1);
		else
			skip(t, type, depth + 1);
	}
}

static void rd_logical(struct pq_thrift *t, struct pq_schema_el *e, int depth)
{
	int16_t last = 0, id;
	int type;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (type != T_STRUCT) {
			skip(t, type, depth + 1);
			continue;
		}
		e->logical = id;
		if (id == 5) { /* DECIMAL: scale, precision */
			int16_t l2 = 0, i2;
			int ty;
			while (!t->bad && (ty = rd_field(t, &l2, &i2)) != T_STOP) {
				if (i2 == 1)
					e->scale = (int)rd_int(t, ty);
				else if (i2 == 2)
					e->precision = (int)rd_int(t, ty);
				else
					skip(t, ty, depth + 2);
			}
		} else if (id == 7 || id == 8) {
			rd_time_type(t, e, depth + 1);
		} else if (id == 10) { /* INTEGER: bitWidth, isSigned */
			int16_t l2 = 0, i2;
			int ty;
			while (!t->bad && (ty = rd_field(t, &l2, &i2)) != T_STOP) {
				if (i2 == 1)
					e->int_bits = (int)rd_int(t, ty);
				else if (i2 == 2 && (ty == T_TRUE || ty == T_FALSE))
					e->int_signed = ty == T_TRUE;
				else
					skip(t, ty, depth + 2);
			}
		} else {
			skip(t, type, depth + 1);
		}
	}
}

static void rd_schema_el(struct pq_thrift *t, struct pq_schema_el *e)
{
	int16_t last = 0, id;
	int type;
	memset(e, 0, sizeof(*e));
	e->type = -1;
	e->converted = -1;
	e->repetition = 0;
	e->unit = -1;
	e->int_signed = true;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		const uint8_t *p;
		size_t n;
		switch (id) {
		case 1: e->type = (int)rd_int(t, type); break;
		case 2: e->type_length = (int)rd_int(t, type); break;
		case 3: e->repetition = (int)rd_int(t, type); break;
		case 4:
			if (rd_binary(t, type, &p, &n)) {
				if (n >= sizeof(e->name))
					n = sizeof(e->name) - 1;
				memcpy(e->name, p, n);
				e->name[n] = 0;
			}
			break;
		case 5:
			e->num_children = (int)rd_int(t, type);
			e->has_children = true;
			break;
		case 6: e->converted = (int)rd_int(t, type); break;
		case 7: e->scale = (int)rd_int(t, type); break;
		case 8: e->precision = (int)rd_int(t, type); break;
		case 10:
			if (type == T_STRUCT)
				rd_logical(t, e, 1);
			else
				skip(t, type, 1);
			break;
		default: skip(t, type, 1); break;
		}
	}
}

/* ---- row groups ------------------------------------------------------- */

static void rd_col_meta(struct pq_thrift *t, struct pb_pq_chunk *c)
{
	int16_t last = 0, id;
	int type;
	c->has_meta = true;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		switch (id) {
		case 4: c->codec = (int)rd_int(t, type); break;
		case 5: c->num_values = rd_int(t, type); break;
		case 7: c->size = rd_int(t, type); break;
		case 9: c->data_off = rd_int(t, type); break;
		case 11: c->dict_off = rd_int(t, type); break;
		default: skip(t, type, 2); break;
		}
	}
}

static void rd_col_chunk(struct pq_thrift *t, struct pb_pq_chunk *c)
{
	int16_t last = 0, id;
	int type;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (id == 1 && type == T_BINARY) {
			t->external = true; /* columns in another file */
			skip(t, type, 1);
		} else if (id == 3 && type == T_STRUCT)
			rd_col_meta(t, c);
		else
			skip(t, type, 1);
	}
}

static void rd_row_group(struct pq_thrift *t, struct pb_pq_rowgroup *rg, size_t ncols,
                         bool *nomem)
{
	int16_t last = 0, id;
	int type;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (id == 1 && type == T_LIST) {
			int et;
			uint32_t n;
			if (!rd_list(t, &et, &n))
				return;
			if (et != T_STRUCT || n != ncols || rg->chunks) {
				t->bad = true;
				return;
			}
			rg->chunks = calloc(ncols ? ncols : 1, sizeof(*rg->chunks));
			if (!rg->chunks) {
				*nomem = true;
				t->bad = true;
				return;
			}
			for (uint32_t i = 0; i < n && !t->bad; i++)
				rd_col_chunk(t, &rg->chunks[i]);
		} else if (id == 3) {
			rg->num_rows = rd_int(t, type);
		} else {
			skip(t, type, 1);
		}
	}
}

/* ---- the file metadata ------------------------------------------------ */

enum pb_status pb__pq_read_meta(struct pq_thrift *t, struct pq_meta *m, struct pb_error *err)
{
	int16_t last = 0, id;
	int type;
	bool nomem = false;
	memset(m, 0, sizeof(*m));
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (id == 2 && type == T_LIST) {
			int et;
			uint32_t n;
			if (!rd_list(t, &et, &n))
				break;
			if (et != T_STRUCT || n == 0 || m->schema) {
				t->bad = true;
				break;
			}
			m->schema = calloc(n, sizeof(*m->schema));
			if (!m->schema) {
				nomem = true;
				break;
			}
			m->nschema = n;
			for (uint32_t i = 0; i < n && !t->bad; i++)
				rd_schema_el(t, &m->schema[i]);
		} else if (id == 3) {
			m->num_rows = rd_int(t, type);
		} else if (id == 4 && type == T_LIST) {
			int et;
			uint32_t n;
			if (!rd_list(t, &et, &n))
				break;
			if (et != T_STRUCT || !m->schema || m->rgs) {
				t->bad = true;
				break;
			}
			m->rgs = calloc(n ? n : 1, sizeof(*m->rgs));
			if (!m->rgs) {
				nomem = true;
				break;
			}
			m->nrgs = n;
			for (uint32_t i = 0; i < n && !t->bad; i++)
				rd_row_group(t, &m->rgs[i], m->nleaves, &nomem);
		} else {
			skip(t, type, 1);
		}
		/* the leaves are counted as soon as the schema is read */
		if (id == 2 && m->schema && !t->bad) {
			m->nleaves = 0;
			for (size_t i = 1; i < m->nschema; i++)
				m->nleaves += !m->schema[i].has_children || m->schema[i].num_children == 0;
		}
	}
	if (nomem)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (t->bad)
		return PB_EFORMAT;
	if (!m->schema)
		return PB_EFORMAT;
	return PB_OK;
}

bool pb__pq_read_page_header(struct pq_thrift *t, struct pq_page *pg)
{
	int16_t last = 0, id;
	int type;
	memset(pg, 0, sizeof(*pg));
	pg->type = -1;
	pg->v2_compressed = true;
	while (!t->bad && (type = rd_field(t, &last, &id)) != T_STOP) {
		if (id == 1)
			pg->type = (int)rd_int(t, type);
		else if (id == 2)
			pg->usize = rd_int(t, type);
		else if (id == 3)
			pg->csize = rd_int(t, type);
		else if ((id == 5 || id == 7 || id == 8) && type == T_STRUCT) {
			int16_t l2 = 0, i2;
			int ty;
			while (!t->bad && (ty = rd_field(t, &l2, &i2)) != T_STOP) {
				if (i2 == 1)
					pg->num_values = rd_int(t, ty);
				else if (id == 8 && i2 == 2)
					pg->num_nulls = rd_int(t, ty);
				else if (id == 8 && i2 == 3)
					pg->num_rows = rd_int(t, ty);
				else if ((id != 8 && i2 == 2) || (id == 8 && i2 == 4))
					pg->encoding = (int)rd_int(t, ty);
				else if (id == 5 && i2 == 3)
					pg->def_encoding = (int)rd_int(t, ty);
				else if (id == 5 && i2 == 4)
					pg->rep_encoding = (int)rd_int(t, ty);
				else if (id == 8 && i2 == 5)
					pg->def_len = rd_int(t, ty);
				else if (id == 8 && i2 == 6)
					pg->rep_len = rd_int(t, ty);
				else if (id == 8 && i2 == 7 && (ty == T_TRUE || ty == T_FALSE))
					pg->v2_compressed = ty == T_TRUE;
				else
					skip(t, ty, 2);
			}
		} else {
			skip(t, type, 1);
		}
	}
	return !t->bad;
}
