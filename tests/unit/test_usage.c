/* test_usage.c - ingest through the library API: recomputing a source's
 * aggregates from its file gives what was stored; a changed file is caught;
 * the read-only and interrupted paths change nothing. */
#include "unit.h"
#include "probity.h"
#include "store/store.h"
#include "usage/usage.h"

static struct pb_catalog *cat;

struct collect {
	struct pb_buf text;
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
	struct pb_ws_init_options wo = { .user = "tester" };
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
	struct collect c;
	pb_buf_init(&c.text, 1u << 24);
	CHECK_OK(pb__usage_recompute(ws, cat, file, sha, collect_fn, &c, &err), &err);
	CHECK(nstored > 700);
	sort_lines(&c.text);
	sort_lines(&stored);
	if (!c.text.data || !stored.data || strcmp(c.text.data, stored.data) != 0)
		UNIT_FAIL_("recomputed aggregates differ from the stored ones");
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

int main(void)
{
	struct pb_error err = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &err) != PB_OK) {
		printf("unit usage: 0 passed, 1 failed\n");
		return 1;
	}
	RUN(t_recompute_matches_store);
	RUN(t_interrupt_and_readonly);
	pb_catalog_free(cat);
	return UNIT_END("usage");
}
