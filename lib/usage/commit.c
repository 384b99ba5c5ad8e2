/* commit.c - the transaction of an ingest: the source, its daily aggregates
 * and monthly totals, warnings, rejects and accounts, and the audit entry,
 * committed together; the rejects file and the copy of a piped input get
 * their names just before. A failure leaves the workspace as it was. */
#include "usage/usage_internal.h"
#include "auth/auth.h"
#include "log/audit.h"

#include <stdlib.h>
#include <unistd.h>

#include "util/banned.h"

/* Opens the transaction and checks the acting user may load usage (an
 * analyst or an admin). *already when the same bytes arrived while we read:
 * then the transaction is closed and the report is the earlier source's. */
enum pb_status pb__ingest_begin(struct pb_ingest *in, bool *already, struct pb_error *err)
{
	struct pb_ws *ws = in->ws;
	*already = false;
	enum pb_status st = pb__ws_begin(ws, err);
	if (st)
		return st;
	sqlite3_stmt *q;
	if ((st = pb__db_prepare(ws->db, "SELECT 1 FROM source WHERE sha256 = ?1", &q, err)))
		goto fail;
	sqlite3_bind_text(q, 1, in->rep->sha256, 64, SQLITE_STATIC);
	bool dup = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	if (dup) {
		pb__ws_rollback(ws);
		in->rep->already = true;
		pb__ingest_report_from_db(ws, in->rep->sha256, in->rep);
		*already = true;
		return PB_OK;
	}
	if ((st = pb__acting_user(ws, in->actor, &in->acting, err)) ||
	    (st = pb__user_may(ws, in->acting, "usage.ingest", err)))
		goto fail;
	return PB_OK;
fail:
	pb__ws_rollback(ws);
	return st;
}

static enum pb_status publish_files(struct pb_ingest *in, struct pb_error *err)
{
	struct pb_ws *ws = in->ws;
	const char *sha = in->rep->sha256;
	enum pb_status st;
	if (in->have_rejf) {
		snprintf(in->rejects_rel, sizeof(in->rejects_rel), "%s/%s.rejects.csv",
		         PB_WS_REJECTS, sha);
		snprintf(in->rejects_abs, sizeof(in->rejects_abs), "%s/%s", ws->path, in->rejects_rel);
		if ((st = pb__tmpf_publish(&in->rejf, in->rejects_abs, err)))
			return st;
		pb__strlcpy(in->rep->rejects_path, in->rejects_abs, sizeof(in->rep->rejects_path));
	}
	if (in->copy.fd >= 0) {
		const char *ext = in->src.parquet                ? ".parquet"
		                  : in->src.comp == PB_COMP_GZIP ? ".csv.gz"
		                  : in->src.comp == PB_COMP_ZSTD ? ".csv.zst"
		                                                 : ".csv";
		snprintf(in->copy_abs, sizeof(in->copy_abs), "%s/%s/%s%s", ws->path, PB_WS_SOURCES,
		         sha, ext);
		if ((st = pb__tmpf_publish(&in->copy, in->copy_abs, err)))
			return st;
	}
	return PB_OK;
}

/* Removes the files published for a transaction that did not commit. */
void pb__ingest_unpublish(struct pb_ingest *in)
{
	if (in->rejects_abs[0])
		unlink(in->rejects_abs);
	if (in->copy_abs[0])
		unlink(in->copy_abs);
	in->rep->rejects_path[0] = '\0';
}

static void bind_source(struct pb_ingest *in, sqlite3_stmt *q, const char *report)
{
	const struct pb_ingest_report *rep = in->rep;
	char now[24];
	pb_time_format(pb_now(), now);
	char abspath[4096] = "";
	if (in->copy_abs[0]) {
		if (!realpath(in->copy_abs, abspath))
			pb__strlcpy(abspath, in->copy_abs, sizeof(abspath));
	} else if (!realpath(in->path, abspath)) {
		pb__strlcpy(abspath, in->path, sizeof(abspath));
	}
	sqlite3_bind_text(q, 1, rep->sha256, 64, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)in->src.raw_bytes);
	sqlite3_bind_text(q, 3, in->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, abspath, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 5, pb__source_container(&in->src), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, in->map.format, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, in->map.version, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)rep->rows_read);
	sqlite3_bind_int64(q, 10, (sqlite3_int64)rep->rows_accepted);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)rep->rows_rejected);
	sqlite3_bind_int64(q, 12, (sqlite3_int64)rep->rows_with_warnings);
	sqlite3_bind_int64(q, 13, (sqlite3_int64)rep->columns);
	sqlite3_bind_int64(q, 14, (sqlite3_int64)rep->columns_ignored);
	sqlite3_bind_text(q, 15, rep->names, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 16, pb_catalog_sha256(in->cat), -1, SQLITE_STATIC);
	if (in->first_day <= in->last_day) {
		sqlite3_bind_int64(q, 17, in->first_day);
		sqlite3_bind_int64(q, 18, in->last_day);
	}
	if (in->rejects_rel[0])
		sqlite3_bind_text(q, 19, in->rejects_rel, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 20, report, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 21, rep->tree, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 22, rep->data_tree, -1, SQLITE_STATIC);
	const struct pb__mth *t = &in->data_tree;
	sqlite3_bind_blob64(q, 23, t->leaves ? (const void *)t->leaves : "", t->nleaves * 32,
	                    SQLITE_STATIC);
}

/* The source row, with the report as JSON; sets rep->source_id. */
static enum pb_status insert_source(struct pb_ingest *in, struct pb_error *err)
{
	struct pb_ingest_report *rep = in->rep;
	if (in->first_day <= in->last_day) {
		pb_day_format(in->first_day, rep->first_day);
		pb_day_format(in->last_day, rep->last_day);
	}
	struct pb_buf json;
	pb_buf_init(&json, 1u << 24);
	pb__ingest_report_json(rep, &json);
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		in->ws->db,
		"INSERT INTO source(sha256, size, name, path, compression, format, focus_version, "
		"ingested_at, rows_read, rows_accepted, rows_rejected, rows_with_warnings, columns, "
		"columns_ignored, names, catalog_sha256, first_day, last_day, rejects_file, report, "
		"tree, data_tree, data_leaves) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
		"?18, ?19, ?20, ?21, ?22, ?23)",
		&q, err);
	if (!st) {
		bind_source(in, q, json.data ? json.data : "{}");
		if (sqlite3_step(q) != SQLITE_DONE)
			st = pb__db_err(in->ws->db, err, "cannot record the source");
		else
			rep->source_id = sqlite3_last_insert_rowid(in->ws->db);
	}
	sqlite3_finalize(q);
	pb_buf_release(&json);
	return st;
}

static enum pb_status insert_aggregates(struct pb_ingest *in, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		in->ws->db,
		"INSERT INTO usage_day(source_id, day, account, subaccount, provider, category, "
		"subcategory, service, sku_meter, capability, region, country, unit, "
		"charge_category, currency, quantity, billed_cost, effective_cost, list_cost, rows, "
		"first_line, last_line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		"?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
		&q, err);
	for (size_t i = 0; !st && i < in->nfin; i++) {
		const struct pb_fin *f = &in->fins[i];
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, in->rep->source_id);
		for (int j = 0; j < N_COUNT; j++) {
			if (j > 0 && f->id[j] == 0)
				sqlite3_bind_null(q, 2 + j);
			else
				sqlite3_bind_int64(q, 2 + j, f->id[j]);
		}
		char buf[PB_DEC_BUFSZ];
		const pb_dec *sums[4] = { &f->a.q, &f->a.billed, &f->a.eff, &f->a.list };
		for (int j = 0; j < 4; j++) {
			size_t n = pb__dec_format(*sums[j], buf);
			sqlite3_bind_text(q, 16 + j, buf, (int)n, SQLITE_TRANSIENT);
		}
		sqlite3_bind_int64(q, 20, (sqlite3_int64)f->a.rows);
		sqlite3_bind_int64(q, 21, (sqlite3_int64)f->a.first);
		sqlite3_bind_int64(q, 22, (sqlite3_int64)f->a.last);
		if (sqlite3_step(q) != SQLITE_DONE)
			st = pb__db_err(in->ws->db, err, "cannot store aggregates");
	}
	sqlite3_finalize(q);
	return st;
}

/* A daily aggregate under its month's group: the dimension ids of
 * usage_month (those of usage_day less the day, which holds the month, and
 * the meter, zero) in the order its GROUP BY names them. */
struct month_row {
	int64_t key[N_COUNT];
	const struct pb_fin *f;
};

static int month_cmp(const void *x, const void *y)
{
	const struct month_row *a = x, *b = y;
	for (int i = 0; i < N_COUNT; i++)
		if (a->key[i] != b->key[i])
			return a->key[i] < b->key[i] ? -1 : 1;
	return 0;
}

/* usage_month's rows for this source, from the daily aggregates in memory:
 * the groups and exact sums pb__usage_rollup's SQL (lib/store/store.c)
 * makes from the stored rows (the same columns, the same pb_dec sums), without reading 37,000
 * rows back and sorting them in SQL (80 of the 360 ms of a 1 GB ingest's
 * commit). tests/e2e/scripts/policy-diff.sh checks the two agree. */
static enum pb_status insert_months(struct pb_ingest *in, struct pb_error *err)
{
	struct month_row *m = malloc((in->nfin ? in->nfin : 1) * sizeof(*m));
	if (!m)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < in->nfin; i++) {
		memcpy(m[i].key, in->fins[i].id, sizeof(m[i].key));
		m[i].key[N_DAY] = pb__month_of_day(in->fins[i].id[N_DAY]);
		m[i].key[N_METER] = 0;
		m[i].f = &in->fins[i];
	}
	qsort(m, in->nfin, sizeof(*m), month_cmp);
	sqlite3_stmt *q = NULL;
	enum pb_status st = pb__db_prepare(
		in->ws->db,
		"INSERT INTO usage_month(source_id, month, account, subaccount, provider, category, "
		"subcategory, service, capability, region, country, unit, charge_category, currency, "
		"quantity, billed_cost, effective_cost, list_cost, rows) VALUES (?1, ?2, ?3, ?4, ?5, "
		"?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
		&q, err);
	for (size_t i = 0; !st && i < in->nfin;) {
		struct pb_agg sum = m[i].f->a;
		size_t j = i + 1;
		for (; j < in->nfin && month_cmp(&m[i], &m[j]) == 0; j++)
			if (!pb__agg_merge(&sum, &m[j].f->a)) {
				st = pb__err(err, PB_ELIMIT, "a monthly sum is out of range (near line %llu)",
				             (unsigned long long)m[j].f->a.first);
				break;
			}
		if (st)
			break;
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, in->rep->source_id);
		int col = 2;
		for (int k = 0; k < N_COUNT; k++) {
			if (k == N_METER)
				continue;
			if (k > 0 && m[i].key[k] == 0)
				sqlite3_bind_null(q, col++);
			else
				sqlite3_bind_int64(q, col++, m[i].key[k]);
		}
		char buf[PB_DEC_BUFSZ];
		const pb_dec *sums[4] = { &sum.q, &sum.billed, &sum.eff, &sum.list };
		for (int k = 0; k < 4; k++) {
			size_t n = pb__dec_format(*sums[k], buf);
			sqlite3_bind_text(q, col++, buf, (int)n, SQLITE_TRANSIENT);
		}
		sqlite3_bind_int64(q, col, (sqlite3_int64)sum.rows);
		if (sqlite3_step(q) != SQLITE_DONE)
			st = pb__db_err(in->ws->db, err, "cannot total usage by month");
		i = j;
	}
	sqlite3_finalize(q);
	free(m);
	if (st)
		return st;
	if ((st = pb__db_prepare(in->ws->db, "INSERT INTO usage_month_source(source_id) VALUES (?1)",
	                         &q, err)))
		return st;
	sqlite3_bind_int64(q, 1, in->rep->source_id);
	if (sqlite3_step(q) != SQLITE_DONE)
		st = pb__db_err(in->ws->db, err, "cannot total usage by month");
	sqlite3_finalize(q);
	return st;
}

static enum pb_status insert_warnings(struct pb_ingest *in, struct pb_error *err)
{
	const struct pb_ingest_report *rep = in->rep;
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(in->ws->db,
	                                   "INSERT INTO source_warning(source_id, kind, column_name, "
	                                   "count, first_line, example) VALUES (?1, ?2, ?3, ?4, ?5, "
	                                   "?6)",
	                                   &q, err);
	for (size_t i = 0; !st && i < rep->nwarnings; i++) {
		const struct pb_ingest_warning *w = &rep->warnings[i];
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, rep->source_id);
		sqlite3_bind_text(q, 2, w->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, w->column, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)w->count);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)w->first_line);
		if (w->example[0])
			sqlite3_bind_text(q, 6, w->example, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 6);
		if (sqlite3_step(q) != SQLITE_DONE)
			st = pb__db_err(in->ws->db, err, "cannot store warnings");
	}
	sqlite3_finalize(q);
	return st;
}

static enum pb_status insert_rejects(struct pb_ingest *in, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(in->ws->db,
	                                   "INSERT INTO source_reject(source_id, line, column_name, "
	                                   "reason, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
	                                   &q, err);
	for (size_t i = 0; !st && i < in->nrej; i++) {
		const struct pb_rej *r = in->rejs[i];
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, in->rep->source_id);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)r->line);
		const char *cn = pb__ingest_colname(in, r->field);
		if (cn[0])
			sqlite3_bind_text(q, 3, cn, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(q, 3);
		sqlite3_bind_text(q, 4, in->reasons.data + r->reason_off, -1, SQLITE_STATIC);
		/* the original bytes are in the rejects file, not in the database:
		 * they may hold customer-chosen text in clear */
		sqlite3_bind_zeroblob(q, 5, 0);
		if (sqlite3_step(q) != SQLITE_DONE)
			st = pb__db_err(in->ws->db, err, "cannot store rejected rows");
	}
	sqlite3_finalize(q);
	return st;
}

static enum pb_status insert_accounts(struct pb_ingest *in, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		in->ws->db,
		"INSERT INTO account(kind, account_id, billing_account_id, name, provider, "
		"first_day, last_day) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		"ON CONFLICT(kind, account_id, billing_account_id) DO UPDATE SET "
		"name = coalesce(excluded.name, name), provider = coalesce(excluded.provider, "
		"provider), first_day = min(first_day, excluded.first_day), "
		"last_day = max(last_day, excluded.last_day)",
		&q, err);
	for (size_t i = 0; !st && i < in->nacct; i++) {
		const struct pb_acct *ac = &in->accts[i];
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, ac->kind == 'b' ? "billing" : "sub", -1, SQLITE_STATIC);
		pb__bind_str(q, 2, ac->id);
		pb__bind_str(q, 3, ac->billing);
		pb__firewall_bind_name(&in->fw, q, 4,
		                       ac->kind == 'b' ? "BillingAccountName" : "SubAccountName",
		                       ac->name);
		pb__bind_str(q, 5, ac->provider);
		sqlite3_bind_int64(q, 6, ac->first_day);
		sqlite3_bind_int64(q, 7, ac->last_day);
		if (sqlite3_step(q) != SQLITE_DONE)
			st = pb__db_err(in->ws->db, err, "cannot store accounts");
	}
	sqlite3_finalize(q);
	return st;
}

static enum pb_status audit(struct pb_ingest *in, struct pb_error *err)
{
	const struct pb_ingest_report *rep = in->rep;
	char details[1400];
	char esc_name[600];
	struct pb_buf nb;
	pb_buf_init(&nb, sizeof(esc_name) - 1);
	pb_buf_json_str(&nb, rep->name, strlen(rep->name) > 500 ? 500 : strlen(rep->name));
	pb__strlcpy(esc_name, nb.data ? nb.data : "\"\"", sizeof(esc_name));
	pb_buf_release(&nb);
	pb__snprintf(details, sizeof(details),
	             "{\"sha256\":\"%s\",\"tree\":\"%s\",\"data_tree\":\"%s\",\"name\":%s,\"format\":\"%s\",\"version\":\"%s\","
	             "\"rows_read\":%llu,\"rows_accepted\":%llu,\"rows_rejected\":%llu,"
	             "\"aggregates\":%llu,\"names\":\"%s\"}",
	             rep->sha256, rep->tree, rep->data_tree, esc_name, in->map.format, in->map.version,
	             (unsigned long long)rep->rows_read, (unsigned long long)rep->rows_accepted,
	             (unsigned long long)rep->rows_rejected, (unsigned long long)rep->aggregates,
	             rep->names);
	char subject[96];
	pb__snprintf(subject, sizeof(subject), "source/%lld", (long long)rep->source_id);
	return pb__audit_append(in->ws, in->acting, "usage.ingest", 0, subject, details, NULL, err);
}

/* Writes everything inside the transaction pb__ingest_begin opened, and
 * commits. On failure the transaction is rolled back and the files
 * published for it are removed. */
enum pb_status pb__ingest_write(struct pb_ingest *in, struct pb_error *err)
{
	enum pb_status st;
	if ((st = publish_files(in, err)) || (st = insert_source(in, err)) ||
	    (st = insert_aggregates(in, err)) ||
	    (st = insert_months(in, err)) ||
	    (st = insert_warnings(in, err)) || (st = insert_rejects(in, err)) ||
	    (st = insert_accounts(in, err)) || (st = audit(in, err))) {
		pb__ws_rollback(in->ws);
		pb__ingest_unpublish(in);
		return st;
	}
	if ((st = pb__ws_commit(in->ws, err)))
		pb__ingest_unpublish(in);
	return st;
}
