/* pqingest.c - a Parquet export through the same checks as a CSV one.
 *
 * A regular file is opened by its footer (read at its end) and then read
 * once, front to back through pb__source_read, each row group's bytes (its
 * span) into their own buffer when the reader reaches them, every byte
 * hashed in order into the source's tree hash; the footer met at the end
 * must be the one parsed first. A pipe, or a file whose groups are not in
 * file order, is read whole first (a piped copy is kept as for CSV). Its
 * top-level field names are taken as the header. Each row
 * group then becomes one chunk, or several slices of its rows when there are
 * fewer than two groups a thread (pipeline.c); the first worker to take one
 * decodes the group into a slot the others share (the last slice frees it):
 * only the columns the FOCUS row checker looks at (the mapping's plan) are
 * decompressed. Each row becomes the same field array a CSV record gives
 * (values as the text a CSV export holds: parquet.c), so that
 * pb__focus_row, the firewall, the aggregation and the rejects are the CSV
 * ones; the fields of a block of rows are made column by column, and the
 * text of a dictionary entry once per group, in the worker's cache, with the
 * checker's verdict on it (struct pb_focus_memo). Where the text would tell
 * the checks nothing more, a DOUBLE or an INT64 timestamp is handed over as
 * its value instead (pb_focus_ctx.tnum: a short decimal, a time in the spec
 * form), and its text is made only for a rejected row's record. A row's
 * "line" is its row number in the file (1-based); a rejected row's reason
 * names its row group and row, its record holds its values. A MAP column (FOCUS Tags in Azure's and AWS's exports) becomes
 * the JSON object text a CSV Tags holds, so it meets the same checks; any
 * other nested column (a LIST, a struct, a map of groups) is not read: the
 * checks see it as null and the report counts a warning for it. Before
 * any of that, a slice's rows are proven clean column by column and the
 * clean ones summed by dictionary indices ("rows proven clean column by
 * column" below); only the others become fields and take the row path. */
#include "usage/parquet.h"
#include "usage/usage_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/banned.h"

#define TEXT_CAP 80 /* bytes of a number's or date's text */
#define BLOCK 64    /* rows whose fields are made column by column */

/* The text of a dictionary entry, made and checked once per row group
 * rather than once per row. */
struct dict_text {
	const char *view; /* into the values, or NULL: arena.data[off..off+len) */
	uint32_t off, len;
	uint32_t state;   /* 0 not made yet, 1 valid UTF-8, else 2 + the offset of the bad byte */
	struct pb_focus_memo memo; /* the row checker's verdict on it */
};

struct dict_cache {
	struct dict_text *e;
	uint8_t *ok;         /* per entry, its fast-path verdict (F_*; 0: not made yet) */
	pb_dec *val;         /* per entry of a summed or time field, its value */
	size_t cap;
	struct pb_buf arena; /* texts made in the scratch */
};

/* A dictionary entry's verdict for the rows proven clean column by column. */
enum { F_DONE = 0x80, F_CLEAN = 1, F_USAGE = 2 /* ChargeCategory reads as Usage */ };

/* A summed or time field's place in the fast path's values (fast_*). */
enum { V_BILLED, V_EFF, V_LIST, V_QTY, V_START, V_END, V_COUNT };

struct pb_pq_work {
	struct dict_cache *dc;  /* per header field */
	char *text;             /* TEXT_CAP per header field and row of a block */
	struct pb_csv_field *blk; /* the fields of a block's rows, row by row */
	uint8_t *num;           /* per header field, read as a number or time (num_fields):
	                           1 a DOUBLE checked only, 2 one summed, 3 a timestamp */
	uint8_t *tnum;          /* per row of a block and field: read as a number (1) or a */
	pb_dec *tdec;           /* time (2), its value in tdec (pb_focus_ctx's for the row) */
	uint8_t *memo;          /* per header field: its dictionary entries keep a verdict */
	struct pb_focus_memo **tmemo; /* per row of a block and field: its entry's verdict */
	uint32_t bad_i[BLOCK];  /* per row of a block: its first field not UTF-8 (1-based), or 0 */
	size_t bad_at[BLOCK];   /* and the offset of the bad byte + 1 */
	size_t rg;              /* the row group the caches are of (1-based), or 0 */
	struct pb_buf rec;
	/* rows proven clean column by column (fast_*), per header field: */
	uint16_t *step0, *nsteps; /* its steps in the plan */
	uint8_t *null_ok;       /* a null (or the field not read) passes its steps */
	int8_t *vrole;          /* V_* of its value, or -1 */
	bool *iskey;            /* its steps put a key field in the row */
	bool fast;              /* a FOCUS export: the fast path may run */
	uint8_t *fkind;         /* per field, for the slice: FK_* */
	int vfield[V_COUNT];    /* the field of each value, or -1 */
	int charge_f;           /* ChargeCategory's field, or -1 */
	struct pb_aggtab ftab;  /* the slice's aggregates of clean rows, by the dictionary
	                           indices of the key fields and the day: uint32 day,
	                           then key field j's index (fast_add) */
	uint64_t *clean;        /* the slice's rows proven clean and summed, a bit a row */
	size_t capclean;
	const struct pb_pq_values **vp; /* per field, the slice's values: the group's, or
	                           own's when the group has its dictionary alone */
	struct pb_pq_values *own; /* per field, values this worker decoded itself */
	size_t *own_rg;         /* per field, the row group (1-based) own holds, or 0: kept
	                           while the worker takes slices of it, as the dictionary
	                           caches may point into it */
	struct pb_agg *undo;    /* aggregates of the worker's table before a merge */
	size_t *undo_at;
	size_t capundo;
};

/* A row group's decoded columns, shared by the workers that take its slices:
 * the first decodes, the others wait for it; the last slice done frees it.
 * One slot a chunk, and one for the group being cut. */
struct pq_group {
	size_t rg;              /* 1-based; 0: a free slot */
	enum { G_DECODING, G_READY, G_FAILED } state;
	size_t slices_left;
	size_t next_field;      /* while decoding: the next field to take */
	size_t fields_done;
	size_t err_field;       /* the first field that failed, or SIZE_MAX */
	struct pb_pq_values *v; /* per header field */
	uint8_t *zeros, *ones;  /* the null flags of every field with no null, or
	                           all null: one copy a group, not one a field */
	bool oom;
	struct pb_error err;
};

struct pb_pq_groups {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pq_group *g;
	size_t n;
	bool *dict_only;        /* per header field: read its dictionary alone first
	                           (a checked field no key, sum or time takes, whose
	                           nulls pass: its values matter only if an entry fails) */
	uint8_t **span;         /* streamed: per row group, its bytes while held */
	size_t live;            /* the spans held */
};

/* Frees the decoded values of group g (its shared null flags too). */
static void group_values_release(const struct pb_ingest *in, struct pq_group *g)
{
	for (size_t k = 0; g->v && in->pq && k < in->pq->ntops; k++) {
		struct pb_pq_values *v = &g->v[k];
		if (v->null && (v->null == g->zeros || v->null == g->ones))
			v->null = NULL;
		pb__pq_values_release(v);
	}
	free(g->zeros);
	free(g->ones);
	g->zeros = g->ones = NULL;
}

/* Field values v of group g (rows rows) share g's null flags when theirs
 * are all 0 or all 1. */
static void share_nulls(struct pq_group *g, struct pb_pq_values *v, size_t rows)
{
	if (!v->null || v->n != rows || !rows || v->def || v->dict_only)
		return;
	uint8_t first = v->null[0];
	for (size_t r = 1; r < rows; r++)
		if (v->null[r] != first)
			return;
	uint8_t *to = first ? g->ones : g->zeros;
	if (!to)
		return;
	free(v->null);
	v->null = to;
}

void pb__pq_ingest_release(struct pb_ingest *in)
{
	for (unsigned i = 0; in->workers && i < in->threads; i++) {
		struct pb_pq_work *pw = in->workers[i].pq;
		if (!pw)
			continue;
		for (size_t k = 0; pw->dc && in->pq && k < in->pq->ntops; k++) {
			free(pw->dc[k].e);
			free(pw->dc[k].ok);
			free(pw->dc[k].val);
			pb_buf_release(&pw->dc[k].arena);
		}
		free(pw->dc);
		free(pw->text);
		free(pw->blk);
		free(pw->num);
		free(pw->tnum);
		free(pw->tdec);
		free(pw->memo);
		free(pw->tmemo);
		pb_buf_release(&pw->rec);
		free(pw->step0);
		free(pw->nsteps);
		free(pw->null_ok);
		free(pw->vrole);
		free(pw->iskey);
		free(pw->fkind);
		for (size_t k = 0; pw->own && in->pq && k < in->pq->ntops; k++)
			pb__pq_values_release(&pw->own[k]);
		free(pw->own);
		free(pw->own_rg);
		free(pw->vp);
		pb__aggtab_release(&pw->ftab);
		free(pw->clean);
		free(pw->undo);
		free(pw->undo_at);
		free(pw);
		in->workers[i].pq = NULL;
	}
	struct pb_pq_groups *gs = in->pq_groups;
	for (size_t i = 0; gs && i < gs->n; i++) {
		group_values_release(in, &gs->g[i]);
		free(gs->g[i].v);
	}
	for (size_t r = 0; gs && gs->span && in->pq && r < in->pq->nrgs; r++)
		free(gs->span[r]);
	if (gs) {
		free(gs->span);
		pthread_mutex_destroy(&gs->mu);
		pthread_cond_destroy(&gs->cv);
		free(gs->g);
		free(gs->dict_only);
		free(gs);
		in->pq_groups = NULL;
	}
	if (in->pq) {
		pb__pq_release(in->pq);
		free(in->pq);
		in->pq = NULL;
	}
	free(in->pq_data);
	in->pq_data = NULL;
	free(in->pq_tail);
	in->pq_tail = NULL;
	free(in->pq_leaf);
	in->pq_leaf = NULL;
	free(in->pq_mapval);
	in->pq_mapval = NULL;
	free(in->pq_skipped);
	in->pq_skipped = NULL;
}

size_t pb__pq_ingest_ngroups(const struct pb_ingest *in)
{
	return in->pq ? in->pq->nrgs : 0;
}

uint64_t pb__pq_ingest_group_rows(const struct pb_ingest *in, size_t rg)
{
	return (uint64_t)in->pq->rgs[rg].num_rows;
}

/* Reads the whole input into in->pq_data. */
static enum pb_status read_all(struct pb_ingest *in, size_t *len, struct pb_error *err)
{
	size_t cap = in->src.size ? (size_t)in->src.size + 1 : 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (;;) {
		if (n == cap) {
			uint8_t *g = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!g) {
				free(buf);
				return pb__err(err, PB_ENOMEM, "out of memory");
			}
			buf = g;
			cap *= 2;
		}
		size_t got;
		enum pb_status st = pb__source_read(&in->src, (char *)buf + n, cap - n, &got, err);
		if (st) {
			free(buf);
			return st;
		}
		if (got == 0)
			break;
		n += got;
	}
	in->pq_data = buf;
	*len = n;
	return PB_OK;
}

/* Streamed: reads n bytes of the input into buf, hashed; a short read
 * means the file changed. */
static enum pb_status read_hashed(struct pb_ingest *in, uint8_t *buf, size_t n,
                                  struct pb_error *err)
{
	size_t done = 0;
	while (done < n) {
		size_t got;
		enum pb_status st = pb__source_read(&in->src, (char *)buf + done, n - done, &got, err);
		if (st)
			return st;
		if (got == 0)
			return pb__err(err, PB_EVERIFY,
			               "'%s' changed while it was read: it ends at byte %llu, not %llu",
			               in->src.name, (unsigned long long)(in->pq_pos + done),
			               (unsigned long long)in->src.size);
		done += got;
	}
	pb__mth_update(&in->data_tree, buf, n);
	in->pq_pos += n;
	return PB_OK;
}

/* Streamed: reads and hashes the input up to offset to (bytes no row group
 * decodes: the magic, gaps between groups). */
static enum pb_status skip_hashed(struct pb_ingest *in, uint64_t to, struct pb_error *err)
{
	uint8_t buf[16384];
	while (in->pq_pos < to) {
		size_t n = to - in->pq_pos < sizeof(buf) ? (size_t)(to - in->pq_pos) : sizeof(buf);
		enum pb_status st = read_hashed(in, buf, n, err);
		if (st)
			return st;
	}
	return PB_OK;
}

enum pb_status pb__pq_ingest_span(struct pb_ingest *in, size_t rg, struct pb_error *err)
{
	struct pb_pq_rowgroup *g = &in->pq->rgs[rg];
	struct pb_pq_groups *gs = in->pq_groups;
	if (!in->pq_tail || g->span_hi <= g->span_lo)
		return PB_OK;
	enum pb_status st = skip_hashed(in, (uint64_t)g->span_lo, err);
	if (st)
		return st;
	size_t n = (size_t)(g->span_hi - g->span_lo);
	uint8_t *buf = malloc(n);
	if (!buf)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if ((st = read_hashed(in, buf, n, err))) {
		free(buf);
		return st;
	}
	pthread_mutex_lock(&gs->mu);
	gs->span[rg] = buf;
	g->span = buf;
	gs->live++;
	pthread_mutex_unlock(&gs->mu);
	return PB_OK;
}

size_t pb__pq_ingest_spans_live(struct pb_ingest *in)
{
	struct pb_pq_groups *gs = in->pq_groups;
	pthread_mutex_lock(&gs->mu);
	size_t n = gs->live;
	pthread_mutex_unlock(&gs->mu);
	return n;
}

enum pb_status pb__pq_ingest_finish(struct pb_ingest *in, struct pb_error *err)
{
	if (!in->pq_tail)
		return PB_OK;
	uint64_t size = in->src.size, at = size - in->pq_tail_len;
	enum pb_status st = skip_hashed(in, at, err);
	uint8_t *tail = st ? NULL : malloc(in->pq_tail_len);
	if (!st && !tail)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (!st)
		st = read_hashed(in, tail, in->pq_tail_len, err);
	bool same = !st && memcmp(tail, in->pq_tail, in->pq_tail_len) == 0;
	free(tail);
	if (st)
		return st;
	if (!same)
		return pb__err(err, PB_EVERIFY,
		               "'%s' changed while it was read: its footer is not the one read first",
		               in->src.name);
	uint8_t more;
	size_t got;
	if ((st = pb__source_read(&in->src, (char *)&more, 1, &got, err)))
		return st;
	if (got)
		return pb__err(err, PB_EVERIFY,
		               "'%s' changed while it was read: it is longer than its %llu bytes",
		               in->src.name, (unsigned long long)size);
	in->eof = true;
	return PB_OK;
}

static bool is_map(const struct pb_pq_file *f, size_t t, int *k, int *v);
static int step_role(const struct pb_focus_step *st, bool *key);

/* The slots of decoded row groups: one a chunk in flight, and one. */
static enum pb_status groups_init(struct pb_ingest *in, struct pb_error *err)
{
	struct pb_pq_groups *gs = calloc(1, sizeof(*gs));
	if (!gs)
		return pb__err(err, PB_ENOMEM, "out of memory");
	pthread_mutex_init(&gs->mu, NULL);
	pthread_cond_init(&gs->cv, NULL);
	in->pq_groups = gs;
	if (!(gs->g = calloc(in->nchunks + 1, sizeof(*gs->g))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	gs->n = in->nchunks + 1;
	for (size_t i = 0; i < gs->n; i++)
		gs->g[i].v = calloc(in->pq->ntops, sizeof(*gs->g[i].v)); /* NULL: out of memory later */
	if (!(gs->dict_only = calloc(in->pq->ntops, sizeof(*gs->dict_only))) ||
	    (in->pq_tail && !(gs->span = calloc(in->pq->nrgs + 1, sizeof(*gs->span)))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	const struct pb_focus_map *m = &in->map;
	if (m->kind != PB_FORMAT_FOCUS)
		return PB_OK;
	for (size_t i = 0; i < in->pq->ntops; i++)
		gs->dict_only[i] = in->pq_leaf[i] >= 0 && in->pq_mapval[i] < 0;
	for (size_t k = 0; k < m->nplan; k++) {
		bool key;
		if (step_role(&m->plan[k], &key) >= 0 || key || !pb__fcols[m->plan[k].col].nullable)
			gs->dict_only[m->plan[k].field] = false;
	}
	return PB_OK;
}

/* Marks field i (0-based) as one the checker reads. */
static void want(struct pb_ingest *in, bool *need, int i)
{
	if (i >= 0 && (size_t)i < in->ncolnames)
		need[i] = true;
}

/* Reads n bytes at offset off of the input (not its stream); false when
 * fewer are there. */
static bool pread_all(struct pb_ingest *in, uint8_t *buf, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(in->src.fd, buf, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return true;
}

/* Opens a regular file by its footer alone (read at its end), when its row
 * groups can then be read front to back one at a time (pb__pq_spans):
 * in->pq and in->pq_tail set. Otherwise (a pipe, a file that is not
 * Parquet at its end, groups out of order) nothing is set, and it is read
 * whole, as the errors of a bad file are found there. */
static enum pb_status open_streamed(struct pb_ingest *in, struct pb_error *err)
{
	uint64_t size = in->src.size;
	uint8_t last8[8];
	uint32_t flen;
	if (!in->src.own_fd || in->src.comp != PB_COMP_NONE || size < 12 ||
	    !pread_all(in, last8, 8, size - 8) || !(flen = pb__pq_footer_len(last8, size)))
		return PB_OK;
	size_t tlen = (size_t)flen + 8;
	uint8_t *tail = malloc(tlen);
	struct pb_pq_file *f = calloc(1, sizeof(*f));
	if (!tail || !f) {
		free(tail);
		free(f);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	struct pb_error e;
	enum pb_status st = PB_EFORMAT;
	if (pread_all(in, tail, tlen, size - tlen) &&
	    (st = pb__pq_open_tail(f, tail, tlen, size, in->src.name, &e)) == PB_OK &&
	    pb__pq_spans(f, size - tlen)) {
		in->pq = f;
		in->pq_tail = tail;
		in->pq_tail_len = tlen;
		return PB_OK;
	}
	if (!st)
		pb__pq_release(f);
	free(f);
	free(tail);
	return st == PB_ENOMEM ? pb__err(err, PB_ENOMEM, "out of memory") : PB_OK;
}

enum pb_status pb__pq_ingest_open(struct pb_ingest *in, struct pb_error *err)
{
	enum pb_status st = open_streamed(in, err);
	if (st)
		return st;
	if (!in->pq) {
		size_t len = 0;
		if ((st = read_all(in, &len, err)))
			return st;
		/* the source's tree hash: here in one pass over the bytes read (a
		 * CSV input's leaves are hashed by the workers; a Parquet file has no
		 * lines to prove); a file streamed is hashed as it is read */
		pb__mth_update(&in->data_tree, in->pq_data, len);
		in->eof = true;
		in->pq = calloc(1, sizeof(*in->pq));
		if (!in->pq)
			return pb__err(err, PB_ENOMEM, "out of memory");
		if ((st = pb__pq_open(in->pq, in->pq_data, len, in->src.name, err))) {
			free(in->pq);
			in->pq = NULL;
			return st;
		}
	}
	struct pb_pq_file *f = in->pq;
	if (f->ntops == 0)
		return pb__err(err, PB_EFORMAT, "cannot read '%s': the Parquet file has no columns",
		               in->src.name);
	struct pb_str *names = calloc(f->ntops, sizeof(*names));
	in->colnames = calloc(f->ntops, sizeof(char *));
	in->pq_leaf = calloc(f->ntops, sizeof(int));
	in->pq_mapval = calloc(f->ntops, sizeof(int));
	in->pq_skipped = calloc(f->ntops, sizeof(bool));
	bool *need = calloc(f->ntops, sizeof(bool));
	if (!names || !in->colnames || !in->pq_leaf || !in->pq_mapval || !in->pq_skipped || !need) {
		free(names);
		free(need);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	in->ncolnames = f->ntops;
	for (size_t i = 0; i < f->ntops; i++) {
		in->colnames[i] = pb__strndup(f->tops[i], strlen(f->tops[i]));
		if (!in->colnames[i]) {
			free(names);
			free(need);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		names[i] = pb_str_of(in->colnames[i], strlen(in->colnames[i]));
	}
	st = pb__ingest_map_names(in, names, f->ntops, err);
	free(names);
	if (st) {
		free(need);
		return st;
	}
	/* the fields the row checker reads */
	const struct pb_focus_map *m = &in->map;
	for (size_t k = 0; k < m->nplan; k++)
		want(in, need, m->plan[k].field);
	for (int c = 0; c < FC_COUNT; c++)
		want(in, need, m->col[c]);
	if (m->kind != PB_FORMAT_FOCUS)
		for (int c = 0; c < NC_COUNT; c++)
			want(in, need, m->ncol[c]);
	for (size_t i = 0; i < f->ntops; i++)
		in->pq_leaf[i] = in->pq_mapval[i] = -1;
	for (size_t c = 0; c < f->ncols; c++) {
		int t = f->cols[c].top;
		if (t >= 0 && (size_t)t < f->ntops && need[t] && !f->cols[c].nested)
			in->pq_leaf[t] = (int)c;
	}
	for (size_t t = 0; t < f->ntops; t++) {
		if (!f->top_nested[t])
			continue;
		int k, v;
		if (!is_map(f, t, &k, &v))
			in->pq_skipped[t] = true;
		else if (need[t]) {
			in->pq_leaf[t] = k;
			in->pq_mapval[t] = v;
		}
	}
	free(need);
	return groups_init(in, err);
}

/* Is top-level field t a MAP of two leaves (key, value) one level deep? */
static bool is_map(const struct pb_pq_file *f, size_t t, int *k, int *v)
{
	if (f->top_group[t] != 1 && f->top_group[t] != 2) /* MAP, MAP_KEY_VALUE */
		return false;
	int n = 0;
	for (size_t c = 0; c < f->ncols; c++) {
		if (f->cols[c].top != (int)t)
			continue;
		const char *nm = f->cols[c].name, *d1 = strchr(nm, '.');
		const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
		if (f->cols[c].max_rep != 1 || n >= 2 || !d2 || strchr(d2 + 1, '.'))
			return false; /* a leaf of MAP.key_value itself, not of a group in it */
		*(n++ ? v : k) = (int)c;
	}
	return n == 2 && f->cols[*k].max_def >= 1;
}

/* Marks in num the fields the row checker may take as numbers or times
 * rather than text: a FOCUS export's DOUBLE columns whose steps only check
 * or sum them (a short decimal's text never draws a warning nor a reject
 * there), and its INT64 timestamps whose steps only check or use them (the
 * spec form's neither), so that the usual cost, quantity or hour is neither
 * printed nor parsed back. */
static void num_fields(const struct pb_ingest *in, uint8_t *num)
{
	const struct pb_pq_file *f = in->pq;
	const struct pb_focus_map *m = &in->map;
	if (m->kind != PB_FORMAT_FOCUS)
		return;
	const unsigned as_num = 1u << FA_SKIP | 1u << FA_DEC_CHECK | 1u << FA_DEC_SUM;
	const unsigned as_time = 1u << FA_SKIP | 1u << FA_DATE_CHECK | 1u << FA_DATE_USED;
	for (size_t i = 0; i < f->ntops; i++) {
		int c = in->pq_leaf[i];
		unsigned acts = 0; /* the actions of the field's steps */
		for (size_t k = 0; k < m->nplan; k++)
			if (m->plan[k].field == i)
				acts |= 1u << m->plan[k].action;
		num[i] = 0;
		if (!acts || c < 0 || in->pq_mapval[i] >= 0)
			continue;
		const struct pb_pq_column *col = &f->cols[c];
		if (col->type == PQ_DOUBLE && col->kind == PQK_PLAIN && !(acts & ~as_num))
			num[i] = acts & 1u << FA_DEC_SUM ? 2 : 1;
		else if (col->type == PQ_INT64 && col->kind == PQK_TIMESTAMP && !(acts & ~as_time))
			num[i] = 3;
	}
}

/* Marks in memo the fields whose dictionary entries keep the row checker's
 * verdict (struct pb_focus_memo): a FOCUS export's columns with one step,
 * a check whose verdict depends on the value alone. */
static void memo_fields(const struct pb_ingest *in, uint8_t *memo)
{
	const struct pb_focus_map *m = &in->map;
	if (m->kind != PB_FORMAT_FOCUS)
		return;
	for (size_t k = 0; k < m->nplan; k++) {
		int a = m->plan[k].action;
		uint8_t *n = &memo[m->plan[k].field];
		bool checked = a == FA_ENUM || a == FA_CURRENCY || a == FA_JSON ||
		               a == FA_DATE_CHECK || a == FA_AZ;
		*n = *n ? 2 : checked ? 1 : 2; /* 2: another step, or not checked */
	}
	for (size_t i = 0; i < in->pq->ntops; i++)
		memo[i] = memo[i] == 1 && in->pq_leaf[i] >= 0 && in->pq_mapval[i] < 0;
}

/* The value a step gives the fast path (V_*), or -1; *key when it gives
 * a key field. */
static int step_role(const struct pb_focus_step *st, bool *key)
{
	*key = st->action == FA_KEEP || st->col == FC_BillingCurrency ||
	       (st->action == FA_ENUM && (st->col == FC_ChargeCategory ||
	                                  st->col == FC_ServiceCategory ||
	                                  st->col == FC_ServiceSubcategory));
	if (st->action != FA_DEC_SUM && st->action != FA_DATE_USED)
		return -1;
	switch (st->col) {
	case FC_BilledCost: return V_BILLED;
	case FC_EffectiveCost: return V_EFF;
	case FC_ListCost: return V_LIST;
	case FC_ConsumedQuantity: return V_QTY;
	case FC_ChargePeriodStart: return V_START;
	case FC_ChargePeriodEnd: return V_END;
	default: return -1;
	}
}

/* What the fast path needs of each field: its steps, whether a null passes
 * them, the value it gives (V_*) and whether it is part of the key. */
static void fast_fields(struct pb_worker *w, struct pb_pq_work *pw)
{
	const struct pb_ingest *in = w->in;
	const struct pb_focus_map *m = &in->map;
	size_t nf = in->pq->ntops;
	for (int k = 0; k < V_COUNT; k++)
		pw->vfield[k] = -1;
	pw->charge_f = -1;
	for (size_t i = 0; i < nf; i++)
		pw->vrole[i] = -1;
	pw->fast = m->kind == PB_FORMAT_FOCUS;
	for (size_t s = 0; pw->fast && s < m->nplan; s++) {
		const struct pb_focus_step *st = &m->plan[s];
		size_t i = st->field;
		if (pw->nsteps[i] && pw->step0[i] + pw->nsteps[i] != s)
			pw->fast = false; /* a field's steps are one run (focus.c's plan) */
		if (!pw->nsteps[i]++)
			pw->step0[i] = (uint16_t)s;
		bool key;
		int role = step_role(st, &key);
		if (role >= 0) {
			if (pw->vrole[i] >= 0)
				pw->fast = false;
			pw->vrole[i] = (int8_t)role;
			pw->vfield[role] = (int)i;
		}
		pw->iskey[i] |= key;
		if (st->col == FC_ChargeCategory)
			pw->charge_f = (int)i;
	}
	/* a null, or a field not read: the same empty field */
	static const struct pb_csv_field empty = { .ptr = "", .len = 0 };
	for (size_t i = 0; pw->fast && i < nf; i++) {
		struct pb_focus_row row;
		memset(&row, 0, sizeof(row));
		pw->null_ok[i] = 1;
		for (size_t s = pw->step0[i]; s < (size_t)pw->step0[i] + pw->nsteps[i]; s++)
			pw->null_ok[i] &= pb__focus_step_clean(&w->fx, s, &empty, 0, 0, NULL, &row);
	}
}

static struct pb_pq_work *work_of(struct pb_worker *w)
{
	struct pb_ingest *in = w->in;
	if (w->pq)
		return w->pq;
	struct pb_pq_work *pw = calloc(1, sizeof(*pw));
	if (!pw)
		return NULL;
	pw->dc = calloc(in->pq->ntops, sizeof(*pw->dc));
	for (size_t i = 0; pw->dc && i < in->pq->ntops; i++)
		pb_buf_init(&pw->dc[i].arena, UINT32_MAX - 1); /* offsets are 32-bit */
	pw->text = malloc(in->pq->ntops * BLOCK * TEXT_CAP);
	pw->blk = malloc(in->pq->ntops * BLOCK * sizeof(*pw->blk));
	pw->num = calloc(in->pq->ntops, 1);
	pw->tnum = calloc(in->pq->ntops * BLOCK, 1);
	pw->tdec = malloc(in->pq->ntops * BLOCK * sizeof(*pw->tdec));
	pw->memo = calloc(in->pq->ntops, 1);
	pw->tmemo = calloc(in->pq->ntops * BLOCK, sizeof(*pw->tmemo));
	pb_buf_init(&pw->rec, SIZE_MAX / 2);
	pw->step0 = calloc(in->pq->ntops, sizeof(*pw->step0));
	pw->nsteps = calloc(in->pq->ntops, sizeof(*pw->nsteps));
	pw->null_ok = calloc(in->pq->ntops, 1);
	pw->vrole = calloc(in->pq->ntops, 1);
	pw->iskey = calloc(in->pq->ntops, sizeof(*pw->iskey));
	pw->fkind = calloc(in->pq->ntops, 1);
	pw->vp = calloc(in->pq->ntops, sizeof(*pw->vp));
	pw->own = calloc(in->pq->ntops, sizeof(*pw->own));
	pw->own_rg = calloc(in->pq->ntops, sizeof(*pw->own_rg));
	w->pq = pw;
	if (!pw->dc || !pw->text || !pw->blk || !pw->num || !pw->tnum || !pw->tdec || !pw->memo ||
	    !pw->tmemo || !pw->step0 || !pw->nsteps || !pw->null_ok || !pw->vrole || !pw->iskey ||
	    !pw->fkind || !pw->vp || !pw->own ||
	    !pw->own_rg)
		return NULL;
	num_fields(in, pw->num);
	memo_fields(in, pw->memo);
	fast_fields(w, pw);
	return pw;
}

/* The values of row r (row k of its block) as a CSV line, for the rejects
 * file: the fields read as numbers get their text first. */
static bool row_record(struct pb_pq_work *pw, const struct pb_ingest *in,
                       struct pb_csv_field *fl, size_t r, size_t k)
{
	size_t nf = in->pq->ntops;
	for (size_t i = 0; i < nf; i++) {
		if (!pw->tnum[k * nf + i])
			continue;
		bool null;
		struct pb_str s = pb__pq_text(&in->pq->cols[in->pq_leaf[i]], pw->vp[i], r,
		                              pw->text + (i * BLOCK + k) * TEXT_CAP, TEXT_CAP, &null);
		fl[i].ptr = s.ptr;
		fl[i].len = (uint32_t)s.len;
	}
	pb_buf_reset(&pw->rec);
	for (size_t i = 0; i < nf; i++)
		if ((i && pb_buf_addc(&pw->rec, ',')) || pb_buf_csv_field(&pw->rec, fl[i].ptr, fl[i].len))
			return false;
	return true;
}

/* Decodes field i of row group rg (0-based) into v, when the checker reads it. */
static enum pb_status decode_field(struct pb_ingest *in, struct pb_pq_values *v, size_t rg,
                                   size_t i, struct pb_error *err)
{
	const struct pb_pq_file *f = in->pq;
	bool only;
	enum pb_status st;
	if (in->pq_leaf[i] < 0)
		return PB_OK;
	if (in->pq_groups->dict_only[i] &&
	    ((st = pb__pq_read_dict(f, rg, (size_t)in->pq_leaf[i], v, &only, err)) || only))
		return st;
	return in->pq_mapval[i] >= 0
	               ? pb__pq_map_json(f, rg, (size_t)in->pq_leaf[i], (size_t)in->pq_mapval[i], v,
	                                 err)
	               : pb__pq_read(f, rg, (size_t)in->pq_leaf[i], v, err);
}

/* The decoded group of chunk ch. Every worker that takes one of its slices
 * while it is being decoded decodes its next column not yet taken (column
 * chunks on every core), then waits for the rest; when columns fail, the
 * error is the first column's, as one thread would find. ch->has_err or
 * ch->failed is set when it did not decode. */
static struct pq_group *group_of(struct pb_ingest *in, struct pb_chunk *ch)
{
	struct pb_pq_groups *gs = in->pq_groups;
	struct pq_group *g = NULL, *free_slot = NULL;
	size_t nf = in->pq->ntops;
	pthread_mutex_lock(&gs->mu);
	for (size_t i = 0; i < gs->n && !g; i++) {
		if (gs->g[i].rg == ch->pq_rg)
			g = &gs->g[i];
		else if (!gs->g[i].rg && !free_slot)
			free_slot = &gs->g[i];
	}
	if (!g && !free_slot) { /* cannot be: a slot a chunk in flight, plus one */
		pthread_mutex_unlock(&gs->mu);
		ch->failed = true;
		return NULL;
	}
	size_t rows = (size_t)in->pq->rgs[ch->pq_rg - 1].num_rows;
	if (!g) {
		g = free_slot;
		g->rg = ch->pq_rg;
		g->slices_left = ch->pq_nslices;
		g->oom = !g->v;
		/* NULL when out of memory: then nothing is shared */
		if ((g->zeros = calloc(rows + 1, 1)) && (g->ones = malloc(rows + 1)))
			memset(g->ones, 1, rows + 1);
		g->state = g->oom ? G_FAILED : G_DECODING;
		g->next_field = g->fields_done = 0;
		g->err_field = SIZE_MAX;
	}
	while (g->state == G_DECODING) {
		if (g->next_field == nf) {
			pthread_cond_wait(&gs->cv, &gs->mu);
			continue;
		}
		size_t i = g->next_field++;
		pthread_mutex_unlock(&gs->mu);
		struct pb_error e;
		enum pb_status st = decode_field(in, &g->v[i], ch->pq_rg - 1, i, &e);
		if (!st)
			share_nulls(g, &g->v[i], rows);
		pthread_mutex_lock(&gs->mu);
		if (st && i < g->err_field) {
			g->err_field = i;
			g->err = e;
		}
		if (++g->fields_done == nf) {
			g->state = g->err_field == SIZE_MAX ? G_READY : G_FAILED;
			pthread_cond_broadcast(&gs->cv);
		}
	}
	pthread_mutex_unlock(&gs->mu);
	if (g->state == G_FAILED && g->oom)
		ch->failed = true;
	else if (g->state == G_FAILED) {
		ch->has_err = true;
		ch->err = g->err;
	}
	return g;
}

/* A slice of group g is done: the last one frees its values. */
static void group_done(struct pb_ingest *in, struct pq_group *g)
{
	struct pb_pq_groups *gs = in->pq_groups;
	pthread_mutex_lock(&gs->mu);
	if (--g->slices_left == 0) {
		group_values_release(in, g);
		if (gs->span && gs->span[g->rg - 1]) { /* streamed: its bytes */
			free(gs->span[g->rg - 1]);
			gs->span[g->rg - 1] = NULL;
			in->pq->rgs[g->rg - 1].span = NULL;
			gs->live--;
		}
		g->rg = 0;
	}
	pthread_mutex_unlock(&gs->mu);
}

/* Empties the dictionary caches for the values of group g; false when out
 * of memory. */
static bool reset_caches(struct pb_ingest *in, struct pb_pq_work *pw, const struct pq_group *g)
{
	pw->rg = 0;
	for (size_t i = 0; i < in->pq->ntops; i++) {
		struct dict_cache *dc = &pw->dc[i];
		size_t nd = g->v[i].dix || g->v[i].dict_only ? g->v[i].ndict : 0;
		if (nd > dc->cap) {
			free(dc->e);
			free(dc->ok);
			free(dc->val);
			dc->cap = 0;
			dc->ok = NULL;
			dc->val = NULL;
			if (!(dc->e = malloc(nd * sizeof(*dc->e))) || !(dc->ok = malloc(nd)) ||
			    !(dc->val = malloc(nd * sizeof(*dc->val))))
				return false;
			dc->cap = nd;
		}
		if (nd) {
			memset(dc->e, 0, nd * sizeof(*dc->e));
			memset(dc->ok, 0, nd);
		}
		pb_buf_reset(&dc->arena);
	}
	pw->rg = g->rg;
	return true;
}

/* Makes the text of dictionary entry k of field i (column c) from row r
 * that holds it, and checks it, unless done; tb is TEXT_CAP bytes of scratch.
 * False when out of memory. */
static bool dict_entry(struct pb_pq_work *pw, const struct pb_pq_values *v,
                       const struct pb_pq_column *c, size_t i, uint32_t k, size_t r, char *tb)
{
	struct dict_cache *dc = &pw->dc[i];
	struct dict_text *e = &dc->e[k];
	if (e->state)
		return true;
	bool null;
	size_t bo;
	struct pb_str s = pb__pq_text(c, v, r, tb, TEXT_CAP, &null);
	if (s.len > UINT32_MAX - 2)
		s.len = UINT32_MAX - 2;
	e->view = s.ptr;
	if (s.ptr >= tb && s.ptr < tb + TEXT_CAP) {
		e->view = NULL;
		e->off = (uint32_t)dc->arena.len;
		if (pb_buf_add(&dc->arena, s.ptr, s.len))
			return false;
	}
	e->len = (uint32_t)s.len;
	e->state = pb_utf8_valid(s.ptr, s.len, &bo) ? 1 : 2 + (uint32_t)bo;
	return true;
}

/* A typed value's form for the row checker (pb_focus_ctx.tnum: 0, 1 a
 * number, 2 a time) and in *val its value; 0 when its text must be made. */
static uint8_t typed_value(const struct pb_pq_work *pw, size_t i, const struct pb_pq_column *c,
                           const struct pb_pq_value *pv, pb_dec *val)
{
	int64_t secs;
	switch (pw->num[i]) {
	case 1: return pb__pq_double_plain(pv->u.d);
	case 2: return pb__pq_double_dec(pv->u.d, val);
	case 3:
		if (!pb__pq_timestamp_secs(c, pv->u.i, &secs))
			return 0;
		*val = secs;
		return 2;
	default: return 0;
	}
}

/* Field i (column c) of the rows b0.. of a block (nb rows) into the block's
 * fields, noting the first field of a row that is not UTF-8; rows k whose
 * bit k of skip is set (proven clean) are left out. A dictionary entry's
 * text is made and checked once a row group; its rows point to it. False
 * when out of memory. */
static bool block_column(struct pb_pq_work *pw, const struct pb_pq_values *v,
                         const struct pb_pq_column *c, size_t i, size_t nf, size_t b0,
                         size_t nb, uint64_t skip)
{
	char *tb = pw->text + i * BLOCK * TEXT_CAP;
	const uint32_t *dix = v->dix ? v->dix + b0 : NULL;
	/* the dictionary entries first: the arena may move while they are made */
	for (size_t k = 0; dix && k < nb; k++)
		if (!(skip >> k & 1) && dix[k] != PB_PQ_NODICT &&
		    !dict_entry(pw, v, c, i, dix[k], b0 + k, tb))
			return false;
	struct dict_cache *dc = &pw->dc[i];
	for (size_t k = 0; pw->memo[i] && k < nb; k++)
		pw->tmemo[k * nf + i] = dix && dix[k] != PB_PQ_NODICT ? &dc->e[dix[k]].memo : NULL;
	for (size_t k = 0; k < nb; k++) {
		if (skip >> k & 1)
			continue;
		struct pb_csv_field *fl = &pw->blk[k * nf + i];
		struct pb_str s;
		size_t bad_at = 0, bo;
		if (pw->num[i]) { /* its value when its text tells nothing more, else its text */
			size_t t = k * nf + i;
			pw->tnum[t] = v->null[b0 + k] ? 0
			                              : typed_value(pw, i, c, pb__pq_value(v, b0 + k),
			                                            &pw->tdec[t]);
			if (pw->tnum[t]) {
				fl->ptr = "";
				fl->len = 0;
				fl->quoted = fl->escaped = 0;
				continue;
			}
		}
		if (dix && dix[k] != PB_PQ_NODICT) {
			const struct dict_text *e = &dc->e[dix[k]];
			s = pb_str_of(e->view ? e->view : dc->arena.data + e->off, e->len);
			bad_at = e->state > 1 ? e->state - 1 : 0;
		} else {
			bool null;
			s = pb__pq_text(c, v, b0 + k, tb + k * TEXT_CAP, TEXT_CAP, &null);
			if (!pw->bad_i[k] && !pb_utf8_valid(s.ptr, s.len, &bo))
				bad_at = bo + 1;
		}
		fl->ptr = s.ptr;
		fl->len = s.len > UINT32_MAX ? UINT32_MAX : (uint32_t)s.len;
		fl->quoted = fl->escaped = 0;
		if (bad_at && !pw->bad_i[k]) {
			pw->bad_i[k] = (uint32_t)i + 1;
			pw->bad_at[k] = bad_at;
		}
	}
	return true;
}

/* ---- rows proven clean column by column --------------------------------
 *
 * Before the row path, a slice's rows are proven clean column by column:
 * a dictionary entry's verdict (UTF-8, every step of its field with no
 * warning, a key field's length) is made once, from its text or typed value
 * (pb__focus_step_clean), and a row is clean when every field's value is;
 * nulls pass where the field's steps let them; plain doubles and times are
 * checked in a loop over their values. The rules pb__focus_row applies
 * across columns are checked per row over the columns they involve:
 *   ChargePeriodEnd before ChargePeriodStart (a reject),
 *   no ConsumedQuantity where ChargeCategory is Usage (a warning),
 * and pb__ingest_take_row's: a key field over PB_USAGE_KEY_FIELD_MAX bytes
 * (in the entry's verdict), a sum out of range (below). The clean rows are
 * summed by the dictionary indices of their key fields and their day; each
 * such aggregate then becomes its key once (the steps of its fields run on
 * its entries' texts) and goes into the worker's table. Every other row
 * takes the row path unchanged, so rejects, warnings and counts are as
 * before; a clean row draws no warning and no reject. When a sum would
 * leave the range, the slice's merge is undone and every row takes the row
 * path. Only a FOCUS export whose key fields are dictionary-encoded (or all
 * null) takes this path. */

/* a field's kind in a slice: not read or all null (and that passes),
 * dictionary-encoded, typed values, or dictionary-encoded and proven clean
 * for every row (fast_proven) */
enum { FK_NONE, FK_DICT, FK_TYPED, FK_PROVEN };
#define FAST_BLOCK 256

static pb_dec row_value(const struct pb_focus_row *row, int role)
{
	switch (role) {
	case V_BILLED: return row->billed;
	case V_EFF: return row->effective;
	case V_LIST: return row->list;
	case V_QTY: return row->quantity;
	case V_START: return row->start;
	default: return row->end;
	}
}

/* Runs the steps of field i on fld (tn, td, memo as for pb__focus_row)
 * into row: true when they pass with no warning. */
static bool field_steps(struct pb_worker *w, const struct pb_pq_work *pw, size_t i,
                        const struct pb_csv_field *fld, uint8_t tn, pb_dec td,
                        struct pb_focus_memo *memo, struct pb_focus_row *row)
{
	bool ok = true;
	for (size_t s = pw->step0[i]; ok && s < (size_t)pw->step0[i] + pw->nsteps[i]; s++)
		ok = pb__focus_step_clean(&w->fx, s, fld, tn, td, memo, row);
	return ok;
}

/* The same on the text of dictionary entry e (made already). */
static bool entry_steps(struct pb_worker *w, struct pb_pq_work *pw, const struct pb_pq_values *v,
                        const struct pb_pq_column *c, size_t i, uint32_t e,
                        struct pb_focus_row *row)
{
	struct dict_cache *dc = &pw->dc[i];
	struct dict_text *t = &dc->e[e];
	struct pb_csv_field fld = { .ptr = t->view ? t->view : dc->arena.data + t->off,
		                    .len = t->len };
	pb_dec td = 0;
	uint8_t tn = pw->num[i] ? typed_value(pw, i, c, &v->dict[e], &td) : 0;
	return field_steps(w, pw, i, &fld, tn, td, pw->memo[i] ? &t->memo : NULL, row);
}

/* The same on the text of row r's value, a typed one whose value does not
 * say whether its text passes (a DOUBLE under 1e-4, ...). */
static bool text_steps(struct pb_worker *w, struct pb_pq_work *pw, const struct pb_pq_values *v,
                       const struct pb_pq_column *c, size_t i, size_t r, struct pb_focus_row *row)
{
	bool null;
	size_t bo;
	struct pb_str s = pb__pq_text(c, v, r, pw->text + i * BLOCK * TEXT_CAP, TEXT_CAP, &null);
	struct pb_csv_field fld = { .ptr = s.ptr, .len = (uint32_t)s.len };
	return pb_utf8_valid(s.ptr, s.len, &bo) && field_steps(w, pw, i, &fld, 0, 0, NULL, row);
}

/* The verdict of dictionary entry e of field i. */
static uint8_t entry_verdict(struct pb_worker *w, struct pb_pq_work *pw,
                             const struct pb_pq_values *v, const struct pb_pq_column *c, size_t i,
                             uint32_t e)
{
	struct dict_cache *dc = &pw->dc[i];
	uint8_t f = F_DONE, notnull = 0;
	struct pb_focus_row row;
	memset(&row, 0, sizeof(row));
	/* its text as a row holding it has it */
	struct pb_pq_value ev = v->dict[e];
	const struct pb_pq_values one = { .n = 1, .null = &notnull, .v = &ev };
	if (dict_entry(pw, &one, c, i, e, 0, pw->text + i * BLOCK * TEXT_CAP) &&
	    dc->e[e].state == 1 && (!pw->iskey[i] || dc->e[e].len <= PB_USAGE_KEY_FIELD_MAX) &&
	    entry_steps(w, pw, v, c, i, e, &row)) {
		f |= F_CLEAN;
		if (pw->vrole[i] >= 0)
			dc->val[e] = row_value(&row, pw->vrole[i]);
		if ((int)i == pw->charge_f && row.charge_category.ptr &&
		    strcmp(row.charge_category.ptr, "Usage") == 0)
			f |= F_USAGE;
	}
	return dc->ok[e] = f;
}

/* Does dictionary field i (column c) need no check per row in rows r0..r1:
 * every page dictionary-encoded, every entry clean, no null where a null
 * does not pass? */
static bool fast_proven(struct pb_worker *w, struct pb_pq_work *pw, const struct pb_pq_values *v,
                        const struct pb_pq_column *c, size_t i, size_t r0, size_t r1)
{
	if (v->v || (!pw->null_ok[i] && (v->dict_only || memchr(v->null + r0, 1, r1 - r0))))
		return false;
	for (uint32_t e = 0; e < v->ndict; e++)
		if (!((pw->dc[i].ok[e] ? pw->dc[i].ok[e] : entry_verdict(w, pw, v, c, i, e)) & F_CLEAN))
			return false;
	return true;
}

/* The kinds of the slice's fields (pw->fkind) and its key fields; false
 * when its rows cannot take the fast path. */
static bool fast_kinds(const struct pb_ingest *in, struct pb_pq_work *pw, const struct pq_group *g,
                       size_t r1, size_t *keyf, size_t *nkey)
{
	*nkey = 0;
	for (size_t i = 0; i < in->pq->ntops; i++) {
		pw->fkind[i] = FK_NONE;
		if (!pw->nsteps[i])
			continue;
		const struct pb_pq_values *v = pw->vp[i];
		if (v->dict_only) { /* proven already (pb__pq_ingest_rg) */
			pw->fkind[i] = FK_PROVEN;
			continue;
		}
		if (in->pq_leaf[i] < 0 || (!v->dix && !v->v)) { /* not read, or all null */
			if (!pw->null_ok[i])
				return false;
			continue;
		}
		if (in->pq_mapval[i] >= 0 || v->n < r1 || !v->null)
			return false;
		if (v->dix)
			pw->fkind[i] = FK_DICT;
		else if (pw->num[i] && !pw->iskey[i])
			pw->fkind[i] = FK_TYPED;
		else
			return false;
		if (pw->iskey[i] && *nkey == K_COUNT)
			return false;
		if (pw->iskey[i])
			keyf[(*nkey)++] = i;
	}
	return true;
}

/* The clean bits of rows r..r+nb of field i (column c) into m. */
static void fast_column(struct pb_worker *w, struct pb_pq_work *pw, const struct pb_pq_values *v,
                        const struct pb_pq_column *c, size_t i, size_t r, size_t nb, uint8_t *m)
{
	const uint8_t nok = pw->null_ok[i], *nul = v->null + r;
	if (pw->fkind[i] == FK_DICT) {
		const uint32_t *dix = v->dix + r;
		const uint8_t *ok = pw->dc[i].ok;
		for (size_t k = 0; k < nb; k++) {
			uint32_t e = dix[k];
			if (e == PB_PQ_NODICT) {
				m[k] &= nul[k] ? nok : 0;
				continue;
			}
			uint8_t f = ok[e];
			if (!f)
				f = entry_verdict(w, pw, v, c, i, e);
			m[k] &= f & F_CLEAN;
		}
		return;
	}
	/* FK_TYPED: a summed value or a time is checked as it is read */
	bool check = pw->vrole[i] < 0;
	for (size_t k = 0; k < nb; k++) {
		pb_dec val;
		struct pb_focus_row row;
		if (nul[k])
			m[k] &= nok;
		else if (check && m[k] && !typed_value(pw, i, c, &v->v[r + k], &val)) {
			memset(&row, 0, sizeof(row));
			m[k] = text_steps(w, pw, v, c, i, r + k, &row);
		}
	}
}

/* Adds a clean row (key: its day, its key fields' entries) to the slice's
 * aggregates; false when a sum would leave the range or out of memory. */
static bool fast_add(struct pb_pq_work *pw, const uint32_t *key, size_t nk, const pb_dec *val,
                     uint64_t line)
{
	const char *kb = (const char *)key;
	struct pb_agg *a = pb__aggtab_get(&pw->ftab, kb, nk * 4, pb__usage_key_hash(kb, nk * 4));
	struct pb_agg one = { .q = val[V_QTY], .billed = val[V_BILLED], .eff = val[V_EFF],
		              .list = val[V_LIST], .rows = 1, .first = line, .last = line };
	return a && pb__agg_merge(a, &one);
}

/* Puts the slice's aggregates into the worker's table, each by the key its
 * entries' texts make; when a sum would leave the range, undoes them and
 * returns false (*oom when out of memory). */
static bool fast_merge(struct pb_worker *w, struct pb_pq_work *pw, const struct pq_group *g,
                       const size_t *keyf, size_t nkey, bool *oom)
{
	const struct pb_ingest *in = w->in;
	struct pb_aggtab *t = &w->tab;
	size_t n0 = t->n, nundo = 0;
	*oom = false;
	size_t nfa = pw->ftab.n;
	if (nfa > pw->capundo) {
		free(pw->undo);
		free(pw->undo_at);
		pw->capundo = 0;
		pw->undo_at = malloc(nfa * sizeof(*pw->undo_at));
		if (!(pw->undo = malloc(nfa * sizeof(*pw->undo))) || !pw->undo_at) {
			*oom = true;
			return false;
		}
		pw->capundo = nfa;
	}
	bool ok = true;
	for (size_t j = 0; ok && j < nfa; j++) {
		const struct pb_agg *fa = &pw->ftab.v[j];
		uint32_t key[1 + K_COUNT];
		memcpy(key, pw->ftab.keys + fa->koff, fa->klen);
		struct pb_focus_row row;
		memset(&row, 0, sizeof(row));
		for (size_t q = 0; q < nkey; q++) {
			size_t i = keyf[q];
			if (key[1 + q] != PB_PQ_NODICT)
				entry_steps(w, pw, &g->v[i], &in->pq->cols[in->pq_leaf[i]], i, key[1 + q],
				            &row);
		}
		size_t kl = pb__usage_key_build(w->kb, (int32_t)key[0], &row);
		struct pb_agg *a = pb__aggtab_get(t, w->kb, kl, pb__usage_key_hash(w->kb, kl));
		if (!a) {
			*oom = true;
			return false;
		}
		if ((size_t)(a - t->v) < n0) {
			pw->undo[nundo] = *a;
			pw->undo_at[nundo++] = (size_t)(a - t->v);
		}
		ok = pb__agg_merge(a, fa);
	}
	if (ok)
		return true;
	while (nundo--)
		t->v[pw->undo_at[nundo]] = pw->undo[nundo];
	pb__aggtab_truncate(t, n0);
	return false;
}

/* Proves slice ch's rows clean and sums those that are (fast_* above),
 * marking them in pw->clean; *nclean their count. False when out of
 * memory. */
static bool fast_slice(struct pb_worker *w, struct pb_pq_work *pw, const struct pq_group *g,
                       const struct pb_chunk *ch, size_t *nclean)
{
	const struct pb_ingest *in = w->in;
	size_t r0 = ch->pq_r0, r1 = ch->pq_r1, nw = (r1 - r0 + 63) / 64, nf = in->pq->ntops;
	*nclean = 0;
	if (nw > pw->capclean) {
		free(pw->clean);
		pw->capclean = 0;
		if (!(pw->clean = malloc(nw * sizeof(*pw->clean))))
			return false;
		pw->capclean = nw;
	}
	memset(pw->clean, 0, nw * sizeof(*pw->clean));
	size_t keyf[K_COUNT], nkey;
	if (!pw->fast || !fast_kinds(in, pw, g, r1, keyf, &nkey))
		return true;
	for (size_t i = 0; i < nf; i++)
		if (pw->fkind[i] == FK_DICT &&
		    fast_proven(w, pw, pw->vp[i], &in->pq->cols[in->pq_leaf[i]], i, r0, r1))
			pw->fkind[i] = FK_PROVEN;
	pb__aggtab_truncate(&pw->ftab, 0);
	uint8_t m[FAST_BLOCK];
	uint32_t key[1 + K_COUNT];
	const uint32_t *kdix[K_COUNT]; /* the key fields' indices (never a dictionary alone) */
	for (size_t q = 0; q < nkey; q++)
		kdix[q] = g->v[keyf[q]].dix;
	const int cf = pw->charge_f;
	for (size_t r = r0; r < r1; r += FAST_BLOCK) {
		size_t nb = r1 - r < FAST_BLOCK ? r1 - r : FAST_BLOCK;
		memset(m, 1, nb);
		for (size_t i = 0; i < nf; i++)
			if (pw->fkind[i] == FK_DICT || pw->fkind[i] == FK_TYPED)
				fast_column(w, pw, pw->vp[i], &in->pq->cols[in->pq_leaf[i]], i, r, nb, m);
		for (size_t k = 0; k < nb; k++) {
			if (!m[k])
				continue;
			size_t x = r + k;
			pb_dec val[V_COUNT] = { 0 };
			bool has_qty = false, ok = true;
			for (int role = 0; ok && role < V_COUNT; role++) {
				int i = pw->vfield[role];
				if (i < 0 || pw->fkind[i] == FK_NONE || g->v[i].null[x])
					continue;
				if (role == V_QTY)
					has_qty = true;
				const struct pb_pq_column *c = &in->pq->cols[in->pq_leaf[i]];
				struct pb_focus_row row;
				if (pw->fkind[i] != FK_TYPED)
					val[role] = pw->dc[i].val[g->v[i].dix[x]];
				else if (!typed_value(pw, (size_t)i, c, &g->v[i].v[x], &val[role])) {
					memset(&row, 0, sizeof(row));
					ok = text_steps(w, pw, &g->v[i], c, (size_t)i, x, &row);
					val[role] = row_value(&row, role);
				}
			}
			if (!ok || val[V_END] < val[V_START])
				continue;
			if (!has_qty && cf >= 0 && pw->fkind[cf] != FK_NONE &&
			    g->v[cf].dix[x] != PB_PQ_NODICT && (pw->dc[cf].ok[g->v[cf].dix[x]] & F_USAGE))
				continue;
			key[0] = (uint32_t)(int32_t)pb_floordiv((int64_t)val[V_START], 86400);
			for (size_t q = 0; q < nkey; q++)
				key[1 + q] = kdix[q][x];
			if (!fast_add(pw, key, 1 + nkey, val, ch->line0 + (x - r0))) {
				/* out of memory or out of range: the row path says which */
				pb__aggtab_truncate(&pw->ftab, 0);
				memset(pw->clean, 0, nw * sizeof(*pw->clean));
				return true;
			}
			pw->clean[(x - r0) / 64] |= 1ull << ((x - r0) % 64);
			++*nclean;
		}
	}
	bool oom;
	if (!fast_merge(w, pw, g, keyf, nkey, &oom)) {
		memset(pw->clean, 0, nw * sizeof(*pw->clean));
		*nclean = 0;
		return !oom;
	}
	return true;
}

/* The values of field i decoded by this worker, for the slice's rows when
 * the group holds its dictionary alone; false (ch says why) when they do
 * not decode. */
static bool own_values(struct pb_worker *w, struct pb_pq_work *pw, struct pb_chunk *ch, size_t i)
{
	struct pb_error e;
	if (pw->vp[i] == &pw->own[i] || pw->own_rg[i] == ch->pq_rg) {
		pw->vp[i] = &pw->own[i];
		return true;
	}
	pw->own_rg[i] = 0;
	enum pb_status st = pb__pq_read(w->in->pq, ch->pq_rg - 1, (size_t)w->in->pq_leaf[i],
	                                &pw->own[i], &e);
	if (st == PB_ENOMEM)
		ch->failed = true;
	else if (st) {
		ch->has_err = true;
		ch->err = e;
	}
	pw->vp[i] = &pw->own[i];
	if (!st)
		pw->own_rg[i] = ch->pq_rg;
	return !st;
}

void pb__pq_ingest_rg(struct pb_worker *w, struct pb_chunk *ch)
{
	struct pb_ingest *in = w->in;
	const struct pb_pq_file *f = in->pq;
	size_t rg = ch->pq_rg - 1, nf = f->ntops;
	struct pb_pq_work *pw = work_of(w);
	if (!pw || nf > PB_USAGE_MAX_FIELDS) {
		ch->failed = true;
		return;
	}
	struct pq_group *g = group_of(in, ch);
	if (ch->failed || ch->has_err)
		goto done;
	if (pw->rg != ch->pq_rg && !reset_caches(in, pw, g)) {
		ch->failed = true;
		goto done;
	}
	/* a MAP's values are its JSON text */
	static const struct pb_pq_column map_text = { .type = PQ_BYTE_ARRAY, .kind = PQK_STRING };
	char reason[512], why[400];
	struct pb_csv_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.nfields = nf;
	/* a field whose dictionary alone was read needs its values when an
	 * entry fails, and for the rows that take the row path */
	for (size_t i = 0; i < nf; i++) {
		pw->vp[i] = &g->v[i];
		/* another group's own values: the caches no longer point into them */
		if (pw->own_rg[i] && pw->own_rg[i] != ch->pq_rg) {
			pb__pq_values_release(&pw->own[i]);
			pw->own_rg[i] = 0;
		}
		if (g->v[i].dict_only && !fast_proven(w, pw, &g->v[i], &f->cols[in->pq_leaf[i]], i,
		                                      ch->pq_r0, ch->pq_r1) &&
		    !own_values(w, pw, ch, i))
			goto done;
	}
	size_t nclean;
	if (!fast_slice(w, pw, g, ch, &nclean)) {
		ch->failed = true;
		goto done;
	}
	ch->rows += nclean;
	ch->accepted += nclean;
	for (size_t i = 0; nclean < ch->pq_r1 - ch->pq_r0 && i < nf; i++)
		if (pw->vp[i]->dict_only && !own_values(w, pw, ch, i))
			goto done;
	_Static_assert(BLOCK == 64, "a block is a word of pw->clean");
	for (size_t r = ch->pq_r0; r < ch->pq_r1; r++) {
		size_t k = (r - ch->pq_r0) % BLOCK;
		uint64_t clean = pw->clean[(r - ch->pq_r0) / BLOCK];
		if (k == 0) { /* the next block's fields, column by column */
			size_t nb = ch->pq_r1 - r < BLOCK ? ch->pq_r1 - r : BLOCK;
			if (clean == (nb == BLOCK ? UINT64_MAX : (1ull << nb) - 1)) {
				r += nb - 1; /* every row proven clean and summed */
				continue;
			}
			memset(pw->bad_i, 0, sizeof(pw->bad_i));
			for (size_t i = 0; i < nf; i++) {
				int c = in->pq_leaf[i];
				if (c >= 0 &&
				    !block_column(pw, pw->vp[i], in->pq_mapval[i] >= 0 ? &map_text : &f->cols[c],
				                  i, nf, r, nb, clean)) {
					ch->failed = true;
					goto done;
				}
				for (size_t j = 0; c < 0 && j < nb; j++) {
					struct pb_csv_field *fl = &pw->blk[j * nf + i];
					fl->ptr = "";
					fl->len = 0;
					fl->quoted = fl->escaped = 0;
				}
			}
		}
		if (clean >> k & 1)
			continue;
		memcpy(w->fields, pw->blk + k * nf, nf * sizeof(*w->fields));
		uint64_t line = ch->line0 + (r - ch->pq_r0);
		uint32_t bad = 0;
		bool warned = false;
		enum pb_row_fate fate = ROW_ACCEPTED;
		if (pw->bad_i[k]) {
			snprintf(why, sizeof(why), "invalid UTF-8 (byte %zu of the value)", pw->bad_at[k]);
			bad = pw->bad_i[k];
			fate = ROW_REJECTED;
		}
		w->fx.tnum = pw->tnum + k * nf;
		w->fx.tdec = pw->tdec + k * nf;
		w->fx.tmemo = pw->tmemo + k * nf;
		if (fate == ROW_ACCEPTED)
			fate = pb__ingest_take_row(w, "", 0, &rec, line, why, sizeof(why), &bad, &warned);
		w->fx.tnum = NULL;
		w->fx.tdec = NULL;
		w->fx.tmemo = NULL;
		ch->rows++;
		if (fate == ROW_ACCEPTED) {
			ch->accepted++;
			ch->warned += warned;
			continue;
		}
		if (fate == ROW_REJECTED) {
			ch->rejected++;
			snprintf(reason, sizeof(reason), "%s (row group %zu, row %zu)", why, rg + 1, r + 1);
			if (row_record(pw, in, w->fields, r, k) &&
			    pb__ingest_rej_add(ch, line, bad, reason, pw->rec.data, pw->rec.len,
			                       pb__ingest_colname(in, bad)))
				continue;
		}
		ch->failed = true;
		break;
	}
done:
	if (g)
		group_done(in, g);
}
