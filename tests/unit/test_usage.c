/* test_usage.c - ingest through the library API: what is stored and what a
 * recomputation gives both match daily sums computed here by a plain loop
 * over the CSV; a changed file is caught; the read-only and interrupted paths
 * change nothing. */
#include "unit.h"
#include "probity.h"
#include "store/store.h"
#include "usage/parquet.h"
#include "usage/tree.h"
#include "util/util.h"
#include "usage/usage.h"

#include <math.h>
#include <unistd.h>

static struct pb_catalog *cat;

/* ---- an oracle that shares no code with ingest -------------------------- */

/* Money as integers of 10^-15 units, parsed here. */
__extension__ typedef __int128 money;

static money money_parse(const char *s)
{
	money v = 0;
	bool neg = *s == '-';
	int frac = -1;
	for (s += neg || *s == '+'; *s; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || frac >= 15)
			break;
		v = v * 10 + (*s - '0');
		frac += frac >= 0;
	}
	for (int k = frac < 0 ? 0 : frac; k < 15; k++)
		v *= 10;
	return neg ? -v : v;
}

/* The sums of one day, billing account and service. */
struct group {
	char key[256];
	money billed, effective, list;
	uint64_t rows, first, last;
};

struct groups {
	struct group *v;
	size_t n, cap;
};

static void group_add(struct groups *g, const char *day, const char *account, const char *service,
                      const char *billed, const char *effective, const char *list, uint64_t rows,
                      uint64_t first, uint64_t last)
{
	char key[256];
	snprintf(key, sizeof(key), "%.10s|%s|%s", day, account, service);
	struct group *x = NULL;
	for (size_t i = 0; i < g->n && !x; i++)
		if (strcmp(g->v[i].key, key) == 0)
			x = &g->v[i];
	if (!x) {
		if (g->n == g->cap) {
			g->cap = g->cap ? 2 * g->cap : 64;
			g->v = realloc(g->v, g->cap * sizeof(*g->v));
		}
		x = &g->v[g->n++];
		memset(x, 0, sizeof(*x));
		memcpy(x->key, key, sizeof(key));
		x->first = UINT64_MAX;
	}
	x->billed += money_parse(billed);
	x->effective += money_parse(effective);
	x->list += money_parse(list);
	x->rows += rows;
	if (first < x->first)
		x->first = first;
	if (last > x->last)
		x->last = last;
}

/* One CSV record from *p (RFC 4180: quoted fields may hold commas, doubled
 * quotes and line breaks) into fields (heap strings); returns their number
 * and adds the lines it spans to *line. */
static size_t csv_record(const char **p, const char *end, char **fields, size_t max,
                         uint64_t *line)
{
	size_t n = 0;
	struct pb_buf f;
	pb_buf_init(&f, SIZE_MAX / 2);
	bool quoted = false;
	for (;;) {
		char ch = *p < end ? **p : '\n';
		(*p)++;
		if (quoted) {
			if (ch == '"' && *p < end && **p == '"') {
				pb_buf_addc(&f, '"');
				(*p)++;
			} else if (ch == '"') {
				quoted = false;
			} else {
				*line += ch == '\n';
				pb_buf_addc(&f, ch);
			}
		} else if (ch == '"') {
			quoted = true;
		} else if (ch == ',' || ch == '\n') {
			if (n < max)
				fields[n++] = pb__strndup(f.data ? f.data : "", f.len);
			pb_buf_reset(&f);
			if (ch == '\n') {
				(*line)++;
				break;
			}
		} else if (ch != '\r') {
			pb_buf_addc(&f, ch);
		}
	}
	pb_buf_release(&f);
	return n;
}

/* The daily sums of a FOCUS CSV file by a plain loop over its rows. */
static void oracle_groups(const char *file, struct groups *g)
{
	FILE *fp = fopen(file, "rb");
	CHECK(fp != NULL);
	if (!fp)
		return;
	static char data[1u << 22];
	size_t len = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	CHECK(len < sizeof(data));
	const char *p = data, *end = data + len;
	char *f[128];
	uint64_t line = 1;
	size_t nf = csv_record(&p, end, f, 128, &line);
	int day = -1, account = -1, service = -1, billed = -1, effective = -1, list = -1;
	for (size_t i = 0; i < nf; i++) {
		int *col = strcmp(f[i], "ChargePeriodStart") == 0 ? &day
		           : strcmp(f[i], "BillingAccountId") == 0 ? &account
		           : strcmp(f[i], "ServiceName") == 0      ? &service
		           : strcmp(f[i], "BilledCost") == 0       ? &billed
		           : strcmp(f[i], "EffectiveCost") == 0    ? &effective
		           : strcmp(f[i], "ListCost") == 0         ? &list
		                                                   : NULL;
		if (col)
			*col = (int)i;
		free(f[i]);
	}
	CHECK(day >= 0 && account >= 0 && service >= 0 && billed >= 0 && effective >= 0 &&
	      list >= 0);
	while (p < end) {
		uint64_t at = line;
		nf = csv_record(&p, end, f, 128, &line);
		if (nf > (size_t)list && nf > (size_t)day)
			group_add(g, f[day], f[account], f[service], f[billed], f[effective], f[list], 1,
			          at, at);
		for (size_t i = 0; i < nf; i++)
			free(f[i]);
	}
}

static int group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

static void print_money(char *out, money v)
{
	char rev[64];
	size_t n = 0;
	bool neg = v < 0;
	if (neg)
		v = -v;
	do {
		rev[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v || n < 16);
	size_t o = 0;
	if (neg)
		out[o++] = '-';
	while (n) {
		out[o++] = rev[--n];
		if (n == 15)
			out[o++] = '.';
	}
	out[o] = '\0';
}

/* Checks that got holds the same groups as want; names the first difference. */
static void check_groups(const char *what, struct groups *got, struct groups *want)
{
	qsort(got->v, got->n, sizeof(*got->v), group_cmp);
	qsort(want->v, want->n, sizeof(*want->v), group_cmp);
	if (got->n != want->n) {
		UNIT_FAIL_("%s: %zu daily groups, the CSV has %zu", what, got->n, want->n);
		return;
	}
	for (size_t i = 0; i < got->n; i++) {
		const struct group *a = &got->v[i], *b = &want->v[i];
		if (strcmp(a->key, b->key) != 0 || a->billed != b->billed ||
		    a->effective != b->effective || a->list != b->list || a->rows != b->rows ||
		    a->first != b->first || a->last != b->last) {
			char ab[64], bb[64];
			print_money(ab, a->billed);
			print_money(bb, b->billed);
			UNIT_FAIL_("%s: group %s (billed %s, %llu rows, lines %llu-%llu) differs from "
			           "the CSV's %s (billed %s, %llu rows, lines %llu-%llu)",
			           what, a->key, ab, (unsigned long long)a->rows,
			           (unsigned long long)a->first, (unsigned long long)a->last, b->key, bb,
			           (unsigned long long)b->rows, (unsigned long long)b->first,
			           (unsigned long long)b->last);
			return;
		}
	}
}

/* ---- aggregates as recomputed ------------------------------------------ */

struct collect {
	struct pb_buf text;
	struct groups g;
};

static bool collect_fn(void *ctx, const struct pb__usage_agg *a)
{
	struct collect *c = ctx;
	char d[11], q[PB_DEC_BUFSZ], b[PB_DEC_BUFSZ], e[PB_DEC_BUFSZ], l[PB_DEC_BUFSZ];
	pb_day_format(a->day, d);
	pb__dec_format(a->quantity, q);
	pb__dec_format(a->billed, b);
	pb__dec_format(a->effective, e);
	pb__dec_format(a->list, l);
	pb_buf_printf(&c->text, "%s|%.*s|%.*s|%.*s|%.*s|%s|%s|%s|%s|%llu|%llu|%llu\n", d,
	               (int)a->account.len, a->account.ptr ? a->account.ptr : "",
	               (int)a->service.len, a->service.ptr ? a->service.ptr : "",
	               (int)a->capability.len, a->capability.ptr ? a->capability.ptr : "",
	               (int)a->unit.len, a->unit.ptr ? a->unit.ptr : "", q, b, e, l,
	               (unsigned long long)a->rows, (unsigned long long)a->first_line,
	               (unsigned long long)a->last_line);
	char *acct = pb__strndup(a->account.ptr ? a->account.ptr : "", a->account.len);
	char *svc = pb__strndup(a->service.ptr ? a->service.ptr : "", a->service.len);
	group_add(&c->g, d, acct, svc, b, e, l, a->rows, a->first_line, a->last_line);
	free(acct);
	free(svc);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of a buffer in place (order of aggregates is not part of
 * the contract; their content is). */
static void sort_lines(struct pb_buf *b)
{
	if (!b->data)
		return;
	size_t n = 0;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	char **lines = calloc(n + 1, sizeof(char *));
	char *copy = pb__strndup(b->data, b->len);
	size_t k = 0;
	for (char *p = copy; k < n; k++) {
		lines[k] = p;
		p = strchr(p, '\n');
		*p++ = '\0';
	}
	qsort(lines, n, sizeof(char *), cmp_str);
	pb_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		pb_buf_adds(b, lines[i]);
		pb_buf_addc(b, '\n');
	}
	free(lines);
	free(copy);
}

/* A new workspace in a temporary folder with an admin "tester" acting. */
static struct pb_ws *fresh_ws(char **dir, char **wsdir)
{
	*dir = unit_tmpdir();
	*wsdir = pb__path_join(*dir, "ws");
	struct pb_error err = { 0 };
	struct pb_ws_init_options wo = { .unsigned_actors = true, .user = "tester" };
	struct pb_ws *ws = NULL;
	CHECK_OK(pb_ws_init(*wsdir, &wo, &err), &err);
	CHECK_OK(pb_ws_open(*wsdir, 0, &ws, &err), &err);
	CHECK_OK(pb_user_add(ws, NULL, "tester", "admin", NULL, &err), &err);
	return ws;
}

static void t_recompute_matches_store(void)
{
	char *dir, *wsdir;
	struct pb_error err = { 0 };
	struct pb_ws *ws = fresh_ws(&dir, &wsdir);
	struct pb_ingest_report rep;
	const char *file = "tests/data/focus/samples/focus-1.0-sample-1000.csv";
	CHECK_OK(pb_usage_ingest(ws, cat, file, NULL, &rep, &err), &err);
	CHECK_INT(rep.rows_accepted, 1000);
	char sha[65];
	memcpy(sha, rep.sha256, sizeof(sha));
	pb_ingest_report_release(&rep);
	/* what the database holds, in the same order and form */
	struct pb_buf stored;
	pb_buf_init(&stored, 1u << 24);
	sqlite3_stmt *q;
	CHECK_OK(pb__db_prepare(ws->db,
	                        "SELECT date, account, service, coalesce(capability, ''), "
	                        "coalesce(unit, ''), quantity, billed_cost, effective_cost, list_cost, "
	                        "rows, first_line, last_line FROM usage ORDER BY day, account, "
	                        "rowid",
	                        &q, &err),
	         &err);
	size_t nstored = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		for (int i = 0; i < 12; i++)
			pb_buf_printf(&stored, "%s%s", i ? "|" : "", sqlite3_column_text(q, i));
		pb_buf_addc(&stored, '\n');
		nstored++;
	}
	sqlite3_finalize(q);
	struct collect c = { 0 };
	pb_buf_init(&c.text, 1u << 24);
	CHECK_OK(pb__usage_recompute(ws, cat, file, sha, collect_fn, &c, &err), &err);
	CHECK(nstored > 700);
	sort_lines(&c.text);
	sort_lines(&stored);
	if (!c.text.data || !stored.data || strcmp(c.text.data, stored.data) != 0)
		UNIT_FAIL_("recomputed aggregates differ from the stored ones");
	/* both agree with the CSV summed here by day, account and service (the
	 * quantities are left out: ingest converts them to the catalog's units) */
	struct groups want = { 0 }, in_store = { 0 };
	oracle_groups(file, &want);
	CHECK_INT(want.n, 268);
	CHECK_OK(pb__db_prepare(ws->db,
	                        "SELECT date, account, service, billed_cost, effective_cost, "
	                        "list_cost, rows, first_line, last_line FROM usage",
	                        &q, &err),
	         &err);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *t[6];
		for (int i = 0; i < 6; i++)
			t[i] = (const char *)sqlite3_column_text(q, i);
		group_add(&in_store, t[0], t[1], t[2], t[3], t[4], t[5],
		          (uint64_t)sqlite3_column_int64(q, 6), (uint64_t)sqlite3_column_int64(q, 7),
		          (uint64_t)sqlite3_column_int64(q, 8));
	}
	sqlite3_finalize(q);
	check_groups("stored", &in_store, &want);
	check_groups("recomputed", &c.g, &want);
	free(want.v);
	free(in_store.v);
	free(c.g.v);
	/* nothing was written by the recomputation */
	sqlite3_stmt *cnt;
	CHECK_OK(pb__db_prepare(ws->db, "SELECT count(*) FROM source", &cnt, &err), &err);
	CHECK(sqlite3_step(cnt) == SQLITE_ROW && sqlite3_column_int(cnt, 0) == 1);
	sqlite3_finalize(cnt);
	/* a different file than the one cited */
	pb_buf_reset(&c.text);
	CHECK_INT(pb__usage_recompute(ws, cat, "tests/data/ingest/good-1.2.csv", sha, collect_fn, &c,
	                              &err),
	          PB_EVERIFY);
	CHECK(strstr(err.message, "has changed") != NULL);
	pb_buf_release(&c.text);
	pb_buf_release(&stored);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(wsdir);
	free(dir);
}

static bool stop_now(void *ctx, const struct pb_progress *p)
{
	(void)p;
	(*(int *)ctx)++;
	return false;
}

static void t_interrupt_and_readonly(void)
{
	char *dir, *wsdir;
	struct pb_error err = { 0 };
	struct pb_ws *ws = fresh_ws(&dir, &wsdir);
	struct pb_ingest_report rep;
	int calls = 0;
	struct pb_ingest_options o = { .progress = stop_now, .progress_ctx = &calls };
	CHECK_INT(pb_usage_ingest(ws, cat, "tests/data/ingest/good-1.2.csv", &o, &rep, &err),
	          PB_EINTR);
	pb_ingest_report_release(&rep);
	CHECK_INT(calls, 1);
	sqlite3_stmt *cnt;
	CHECK_OK(pb__db_prepare(ws->db, "SELECT count(*) FROM source", &cnt, &err), &err);
	CHECK(sqlite3_step(cnt) == SQLITE_ROW && sqlite3_column_int(cnt, 0) == 0);
	sqlite3_finalize(cnt);
	pb_ws_close(ws);
	CHECK_OK(pb_ws_open(wsdir, PB_WS_READONLY, &ws, &err), &err);
	CHECK_INT(pb_usage_ingest(ws, cat, "tests/data/ingest/good-1.2.csv", NULL, &rep, &err),
	          PB_EPERM);
	CHECK(strstr(err.message, "opened read-only") != NULL);
	pb_ingest_report_release(&rep);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(wsdir);
	free(dir);
}

/* A Parquet file changed while it is read row group by row group
 * (pqingest.c): the progress callback, called after each group is read,
 * changes the file once; the ingest fails and stores nothing. */
struct change {
	const char *path;
	int how;   /* 0 nothing, 1 a footer byte, 2 bytes appended, 3 cut short */
	int calls;
};

static bool change_file(void *ctx, const struct pb_progress *p)
{
	struct change *c = ctx;
	(void)p;
	if (c->calls++ || !c->how)
		return true;
	FILE *f = fopen(c->path, "r+b");
	if (!f)
		return true;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	if (c->how == 1) { /* a byte in the middle of the footer (this file's is 73 kB) */
		fseek(f, size - 20000, SEEK_SET);
		int ch = fgetc(f);
		fseek(f, size - 20000, SEEK_SET);
		fputc(ch ^ 1, f);
	} else if (c->how == 2)
		fputs("more", f);
	fclose(f);
	if (c->how == 3 && truncate(c->path, size / 2) != 0)
		return true;
	return true;
}

static void t_parquet_changed_while_read(void)
{
	char *dir, *wsdir;
	struct pb_error err = { 0 };
	struct pb_ws *ws = fresh_ws(&dir, &wsdir);
	char *src = NULL;
	size_t len = 0;
	CHECK_OK(pb__read_file("tests/data/parquet/focus/focus-1.0-sample-1000-rg10.parquet",
	                       1 << 20, &src, &len, &err), &err);
	char *path = pb__path_join(dir, "rg10.parquet");
	static const char *const why[] = { NULL, "its footer is not the one read first",
		                           "it is longer than its", "it ends at byte" };
	/* each change at one thread and at two, then no change */
	for (int k = 6; k >= 0; k--) {
		int how = (k + 1) / 2;
		CHECK_OK(pb__write_file_atomic(path, src, len, 0644, &err), &err);
		struct change c = { path, how, 0 };
		struct pb_ingest_options o = { .threads = 1 + (unsigned)(k % 2), .progress = change_file,
			                       .progress_ctx = &c };
		struct pb_ingest_report rep;
		enum pb_status st = pb_usage_ingest(ws, cat, path, &o, &rep, &err);
		uint64_t accepted = rep.rows_accepted;
		pb_ingest_report_release(&rep);
		sqlite3_stmt *cnt;
		CHECK_OK(pb__db_prepare(ws->db, "SELECT count(*) FROM source", &cnt, &err), &err);
		CHECK(sqlite3_step(cnt) == SQLITE_ROW);
		int sources = sqlite3_column_int(cnt, 0);
		sqlite3_finalize(cnt);
		if (how) {
			CHECK_INT(st, PB_EVERIFY);
			CHECK(strstr(err.message, "changed while it was read") != NULL);
			CHECK(strstr(err.message, why[how]) != NULL);
			CHECK_INT(sources, 0);
		} else {
			CHECK_OK(st, &err);
			CHECK_INT(c.calls, 10); /* one a row group */
			CHECK_INT(accepted, 1000);
			CHECK_INT(sources, 1);
		}
	}
	free(path);
	free(src);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(wsdir);
	free(dir);
}

/* A file's row group spans (pb__pq_spans): in file order and apart they can
 * be read front to back; groups out of order, overlapping or reaching into
 * the footer cannot (such a file is read whole). The footer alone opens the
 * file as the whole file does. */
static void t_parquet_spans(void)
{
	struct pb_error err = { 0 };
	char *data = NULL;
	size_t len = 0;
	CHECK_OK(pb__read_file("tests/data/parquet/focus/focus-1.0-sample-1000-rg10.parquet",
	                       1 << 20, &data, &len, &err), &err);
	const uint8_t *d = (const uint8_t *)data;
	uint32_t flen = pb__pq_footer_len(d + len - 8, len);
	CHECK(flen > 0 && flen < len);
	uint64_t end = len - 8 - flen;
	struct pb_pq_file f, t;
	CHECK_OK(pb__pq_open(&f, d, len, "rg10", &err), &err);
	CHECK_OK(pb__pq_open_tail(&t, d + end, len - end, len, "rg10", &err), &err);
	CHECK_INT(t.nrgs, 10);
	CHECK_INT(t.ncols, f.ncols);
	CHECK(pb__pq_spans(&t, end));
	CHECK_INT(t.rgs[0].span_lo, 4);
	CHECK(t.rgs[9].span_hi <= (int64_t)end);
	for (size_t r = 1; r < t.nrgs; r++)
		CHECK(t.rgs[r].span_lo >= t.rgs[r - 1].span_hi);
	/* the last group reaching into the footer (this file has 13 kB of page
	 * indexes between them, read and hashed as a gap) */
	CHECK(!pb__pq_spans(&t, (uint64_t)t.rgs[9].span_hi - 1));
	CHECK(pb__pq_spans(&t, end));
	struct pb_pq_rowgroup g = t.rgs[0];
	t.rgs[0] = t.rgs[1];
	t.rgs[1] = g;
	CHECK(!pb__pq_spans(&t, end)); /* out of order */
	t.rgs[1] = t.rgs[0];
	t.rgs[0] = g;
	t.rgs[1].chunks[0].data_off = t.rgs[0].span_hi - 1;
	t.rgs[1].chunks[0].dict_off = 0;
	CHECK(!pb__pq_spans(&t, end)); /* overlapping */
	pb__pq_release(&t);
	pb__pq_release(&f);
	free(data);
}

/* A MAP column as the JSON object text of a CSV Tags: null maps null, empty
 * maps {}, null values null, keys and values escaped, numbers quoted. */
static void t_parquet_map_json(void)
{
	size_t len = 0;
	char *data = NULL;
	struct pb_error err = { 0 };
	CHECK_INT(pb__read_file("tests/data/parquet/maps.parquet", 1 << 20, &data, &len, &err), PB_OK);
	if (!data)
		return;
	struct pb_pq_file f;
	CHECK_INT(pb__pq_open(&f, (const uint8_t *)data, len, "maps.parquet", &err), PB_OK);
	CHECK_INT(f.ntops, 3);
	CHECK_INT(f.ncols, 5); /* id, m.key_value.key, m...value, mi...key, mi...value */
	static const char *const want_m[] = { "{\"a\":\"x\",\"b\":\"y\"}", NULL, "{}",
		                              "{\"k\":null}", "{\"q\\\"t\":\"\u00e9\\n\"}" };
	static const char *const want_mi[] = { "{\"n\":\"1\"}", NULL, "{\"m\":\"-2\"}", "{}",
		                               "{\"z\":\"3\"}" };
	static const struct pb_pq_column text = { .type = PQ_BYTE_ARRAY, .kind = PQK_STRING };
	struct pb_pq_values v = { 0 };
	for (int m = 0; m < 2; m++) {
		CHECK_INT(pb__pq_map_json(&f, 0, 1 + 2 * (size_t)m, 2 + 2 * (size_t)m, &v, &err), PB_OK);
		CHECK_INT(v.n, 5);
		for (size_t r = 0; r < v.n && r < 5; r++) {
			const char *want = m ? want_mi[r] : want_m[r];
			char buf[80];
			bool null;
			struct pb_str s = pb__pq_text(&text, &v, r, buf, sizeof(buf), &null);
			CHECK_INT(null, want == NULL);
			if (want && (s.len != strlen(want) || memcmp(s.ptr, want, s.len) != 0))
				UNIT_FAIL_("row %zu: got '%.*s', expected '%s'", r + 1, (int)s.len, s.ptr,
				           want);
		}
	}
	/* a leaf read alone gives one entry a level pair, with its levels */
	CHECK_INT(pb__pq_read(&f, 0, 1, &v, &err), PB_OK);
	CHECK_INT(v.n, 6); /* a, b, null map, empty map, k, q"t */
	CHECK(v.rep != NULL && v.def != NULL);
	if (v.rep && v.n == 6) {
		CHECK_INT(v.rep[1], 1);
		CHECK_INT(v.def[2], 0);
		CHECK_INT(v.def[3], 1);
		CHECK_INT(v.def[4], 2);
	}
	pb__pq_values_release(&v);
	pb__pq_release(&f);
	free(data);
}

/* A DOUBLE the row checker takes as a number (pb__pq_double_dec) has the
 * value that pb__dec_parse reads from its text, the text is a plain decimal
 * (no flags), and the usual cost or quantity is one; one that
 * pb__pq_double_plain calls plain has a plain decimal's text. */
static void t_parquet_double_dec(void)
{
	static const struct pb_pq_column dbl = { .type = PQ_DOUBLE, .kind = PQK_PLAIN };
	static const double fixed[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 12.34, -0.0001, 0.0001,
		                        0.00009999, 123456789.123456, 999999999999999.0,
		                        1e15, 1e-5, 5e-324, 1.7976931348623157e308, 2.5e20,
		                        0.30000000000000004, 1.0 / 3.0 };
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	size_t taken = 0;
	for (size_t i = 0; i < 200000; i++) {
		double d;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (i < PB_ARRAY_LEN(fixed))
			d = fixed[i];
		else if (i % 6 == 0) /* any bits */
			memcpy(&d, &x, sizeof(d));
		else if (i % 3 == 0) /* any digits, 1e-6 to 1e17 */
			d = ldexp((double)(x >> 11), -53) * pow(10, (int)(x % 24) - 6);
		else /* a short decimal, as costs are */
			d = (double)((int64_t)(x % 200000000000ULL) - 100000000000LL) /
			    (i % 3 == 1 ? 1e4 : 1e7);
		uint8_t null = 0;
		struct pb_pq_value pv = { .u.d = d };
		struct pb_pq_values v = { .n = 1, .null = &null, .v = &pv };
		char buf[80];
		bool isnull;
		struct pb_str s = pb__pq_text(&dbl, &v, 0, buf, sizeof(buf), &isnull);
		pb_dec got, want;
		unsigned fl = 0;
		bool plain = s.len && memchr(s.ptr, '.', s.len) && !memchr(s.ptr, 'e', s.len);
		if (pb__pq_double_plain(d) && !plain) {
			UNIT_FAIL_("%.17g: text '%.*s' is not plain", d, (int)s.len, s.ptr);
			break;
		}
		if (!pb__pq_double_dec(d, &got))
			continue;
		taken++;
		if (pb__dec_parse(s.ptr, s.len, &want, &fl) != PB_OK || fl != 0 || got != want ||
		    memchr(s.ptr, 'e', s.len)) {
			UNIT_FAIL_("%.17g: text '%.*s' (flags %u) is not the number", d, (int)s.len,
			           s.ptr, fl);
			break;
		}
	}
	CHECK(taken > 120000);
	pb_dec v;
	CHECK(pb__pq_double_dec(12.34, &v) && v == (pb_dec)1234 * 10000000000000LL);
	CHECK(pb__pq_double_dec(-0.5, &v) && v == -(PB_DEC_ONE / 2));
	CHECK(pb__pq_double_dec(-0.0, &v) && v == 0);
	CHECK(pb__pq_double_plain(0.00012) && !pb__pq_double_plain(NAN));
	CHECK(!pb__pq_double_dec(1e-5, &v)); /* "1e-05" draws a warning */
}

/* A timestamp the row checker takes as a time (pb__pq_timestamp_secs) is
 * the time pb_time_parse reads from its text, in the spec form. */
static void t_parquet_timestamp_secs(void)
{
	uint64_t x = 0x2545F4914F6CDD1DULL;
	size_t taken = 0;
	for (size_t i = 0; i < 60000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct pb_pq_column c = { .type = PQ_INT64, .kind = PQK_TIMESTAMP, .unit = (int)(i % 3) };
		static const int64_t per[] = { 1000, 1000000, 1000000000 };
		int64_t t;
		if (i % 4 == 0)
			t = (int64_t)x; /* any */
		else if (i % 4 == 1) /* whole seconds, 1875-2160: within int64 in nanoseconds */
			t = ((int64_t)(x % 9000000000ULL) - 3000000000LL) * per[c.unit];
		else
			t = (int64_t)(x % 300000000000ULL) - 60000000000LL;
		uint8_t null = 0;
		struct pb_pq_value pv = { .u.i = t };
		struct pb_pq_values v = { .n = 1, .null = &null, .v = &pv };
		char buf[80];
		bool isnull;
		struct pb_str s = pb__pq_text(&c, &v, 0, buf, sizeof(buf), &isnull);
		int64_t got, want;
		unsigned fl = 0;
		if (!pb__pq_timestamp_secs(&c, t, &got))
			continue;
		taken++;
		if (!pb_time_parse(s.ptr, s.len, &want, &fl) || fl != 0 || got != want) {
			UNIT_FAIL_("%lld (unit %d): text '%.*s' (flags %u) is not the time",
			           (long long)t, c.unit, (int)s.len, s.ptr, fl);
			break;
		}
	}
	CHECK(taken > 10000);
	struct pb_pq_column c96 = { .type = PQ_INT96, .kind = PQK_TIMESTAMP };
	int64_t secs;
	CHECK(!pb__pq_timestamp_secs(&c96, 0, &secs));
	/* an INT96 of the most negative nanoseconds of the day (the fuzzer's):
	 * its text (1677-09-21...), without overflow (SAN=1 catches one) */
	uint8_t b96[12] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0x8c, 0x3d, 0x25, 0 }; /* day 2440588 */
	uint8_t nn = 0;
	struct pb_pq_value pv = { .u.b = { b96, 12 } };
	struct pb_pq_values v = { .n = 1, .null = &nn, .v = &pv };
	char buf[96];
	bool isnull;
	struct pb_str t = pb__pq_text(&c96, &v, 0, buf, sizeof(buf), &isnull);
	CHECK(t.len > 10 && !isnull && memcmp(t.ptr, "1677-09-21", 10) == 0);
}

/* The leaves hashed two at a time (leafhash.c, with the SHA instructions)
 * are the leaves hashed one by one, for every length around a block's and
 * for leaf sizes from the smallest up. */
static void t_leaves_in_pairs(void)
{
	enum { MAX = 5 * 1024 };
	static uint8_t buf[MAX + 1];
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	static const size_t chunks[] = { 64, 65, 119, 127, 128, 129, 1000, 1024 };
	static uint8_t got[MAX / 64 + 1][32];
	uint8_t want[32];
	for (size_t c = 0; c < PB_ARRAY_LEN(chunks); c++)
		for (size_t n = 0; n <= MAX; n += n < 300 ? 1 : 97) {
			size_t chunk = chunks[c];
			const uint8_t *p = buf + 1; /* unaligned */
			pb__mth_leaves(p, n, chunk, got);
			for (size_t i = 0; i * chunk < n; i++) {
				size_t k = n - i * chunk < chunk ? n - i * chunk : chunk;
				pb__mth_leaf(p + i * chunk, k, want);
				if (memcmp(got[i], want, 32) != 0) {
					UNIT_FAIL_("chunk %zu, %zu bytes: leaf %zu differs", chunk, n, i);
					return;
				}
			}
		}
}

int main(void)
{
	struct pb_error err = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &err) != PB_OK) {
		printf("unit usage: 0 passed, 1 failed\n");
		return 1;
	}
	RUN(t_recompute_matches_store);
	RUN(t_interrupt_and_readonly);
	RUN(t_parquet_changed_while_read);
	RUN(t_parquet_spans);
	RUN(t_parquet_map_json);
	RUN(t_parquet_double_dec);
	RUN(t_parquet_timestamp_secs);
	RUN(t_leaves_in_pairs);
	pb_catalog_free(cat);
	return UNIT_END("usage");
}
