/* fuzz_parquet.c - the Parquet reader on any bytes: the Thrift footer, page
 * headers, codecs, levels and every encoding of every column (repeated ones
 * too, and any two leaves of a field as a MAP's key and value), and the text
 * of every value; no crash, no hang, refusals only as errors. A DOUBLE that
 * the ingest takes as a number (pb__pq_double_dec) reads back from its text.
 * A chunk read as its dictionary alone gives its rows and entries. The
 * same file opened by its footer alone and read row group by row group
 * (pqingest.c's streamed read), when its groups allow it, reads the same. */
#include <stdlib.h>
#include <string.h>

#include "usage/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pb_pq_column map_text = { .type = PQ_BYTE_ARRAY, .kind = PQK_STRING };

static void text_all(const struct pb_pq_column *c, const struct pb_pq_values *v, char *buf,
                     size_t cap)
{
	for (size_t i = 0; i < v->n; i++) {
		bool null;
		struct pb_str s = pb__pq_text(c, v, i, buf, cap, &null);
		if (s.len && !s.ptr)
			abort();
		/* a DOUBLE the ingest takes as a number is its text's value */
		pb_dec got, want;
		unsigned fl = 0;
		if (!null && c->type == PQ_DOUBLE && c->kind == PQK_PLAIN &&
		    pb__pq_double_dec(pb__pq_value(v, i)->u.d, &got) &&
		    (pb__dec_parse(s.ptr, s.len, &want, &fl) || fl || got != want))
			abort();
		if (!null && c->type == PQ_DOUBLE && c->kind == PQK_PLAIN &&
		    pb__pq_double_plain(pb__pq_value(v, i)->u.d) && memchr(s.ptr, 'e', s.len))
			abort();
	}
}

/* A chunk read as its dictionary alone (pb__pq_read_dict): the rows and
 * the entries, nothing else; each entry's text as a row holding it has it. */
static void dict_alone(const struct pb_pq_file *f, size_t r, size_t c, char *buf, size_t cap)
{
	struct pb_pq_values d = { 0 };
	struct pb_error err;
	bool only;
	if (!pb__pq_read_dict(f, r, c, &d, &only, &err) && only) {
		if (d.n != (size_t)f->rgs[r].num_rows || !d.dict_only || d.null || d.dix || d.v)
			abort();
		for (size_t e = 0; e < d.ndict; e++) {
			uint8_t notnull = 0;
			struct pb_pq_values one = { .n = 1, .null = &notnull, .v = &d.dict[e] };
			text_all(&f->cols[c], &one, buf, cap);
		}
	}
	pb__pq_values_release(&d);
}

/* Opens f's bytes by their footer alone and reads each row group from a
 * copy of its span: every column gives what the whole file gave. */
static void streamed(const struct pb_pq_file *f, const uint8_t *data, size_t size)
{
	uint32_t flen = pb__pq_footer_len(data + size - 8, size);
	if (!flen)
		abort(); /* pb__pq_open found a footer */
	size_t tlen = (size_t)flen + 8;
	uint8_t *tail = malloc(tlen);
	struct pb_pq_file s;
	struct pb_error err;
	if (!tail)
		return;
	memcpy(tail, data + size - tlen, tlen);
	enum pb_status st = pb__pq_open_tail(&s, tail, tlen, size, "fuzz", &err);
	free(tail);
	if (st == PB_ENOMEM)
		return;
	if (st || s.nrgs != f->nrgs || s.ncols != f->ncols)
		abort();
	struct pb_pq_values a = { 0 }, b = { 0 };
	if (pb__pq_spans(&s, size - tlen))
		for (size_t r = 0; r < s.nrgs; r++) {
			struct pb_pq_rowgroup *g = &s.rgs[r];
			size_t n = (size_t)(g->span_hi - g->span_lo);
			uint8_t *span = malloc(n ? n : 1);
			if (!span)
				break;
			memcpy(span, data + g->span_lo, n);
			g->span = span;
			for (size_t c = 0; c < s.ncols; c++) {
				struct pb_error e1, e2;
				enum pb_status s1 = pb__pq_read(f, r, c, &a, &e1);
				enum pb_status s2 = pb__pq_read(&s, r, c, &b, &e2);
				if (s1 == PB_ENOMEM || s2 == PB_ENOMEM)
					continue;
				if (s1 != s2 || a.n != b.n || a.ndict != b.ndict ||
				    (s1 && strcmp(e1.message, e2.message) != 0))
					abort();
			}
			g->span = NULL;
			free(span);
		}
	pb__pq_values_release(&a);
	pb__pq_values_release(&b);
	pb__pq_release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_pq_file f;
	struct pb_error err;
	if (pb__pq_open(&f, data, size, "fuzz", &err))
		return 0;
	streamed(&f, data, size);
	struct pb_pq_values v = { 0 };
	char buf[96];
	for (size_t r = 0; r < f.nrgs; r++)
		for (size_t c = 0; c < f.ncols; c++) {
			if (!pb__pq_read(&f, r, c, &v, &err))
				text_all(&f.cols[c], &v, buf, sizeof(buf));
			dict_alone(&f, r, c, buf, sizeof(buf));
			if (c + 1 < f.ncols && f.cols[c].top == f.cols[c + 1].top &&
			    f.cols[c].max_rep == 1 && !pb__pq_map_json(&f, r, c, c + 1, &v, &err))
				text_all(&map_text, &v, buf, sizeof(buf));
		}
	pb__pq_values_release(&v);
	pb__pq_release(&f);
	return 0;
}
