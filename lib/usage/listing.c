/* listing.c - what the workspace holds of usage, for the listings: the
 * sources loaded and the accounts seen, with their sums. */
#include "usage/usage_internal.h"

#include <stdlib.h>

#include "util/banned.h"

static enum pb_status source_row(void *ctx, sqlite3_stmt *q, void *row, struct pb_error *err)
{
	struct pb_source_info *s = row;
	s->id = sqlite3_column_int64(q, 0);
	pb__col_text(q, 1, s->sha256, sizeof(s->sha256));
	s->size = (uint64_t)sqlite3_column_int64(q, 2);
	pb__col_text(q, 3, s->name, sizeof(s->name));
	pb__col_text(q, 4, s->path, sizeof(s->path));
	pb__col_text(q, 5, s->compression, sizeof(s->compression));
	pb__col_text(q, 6, s->format, sizeof(s->format));
	pb__col_text(q, 7, s->version, sizeof(s->version));
	pb__col_text(q, 8, s->ingested_at, sizeof(s->ingested_at));
	s->rows_read = (uint64_t)sqlite3_column_int64(q, 9);
	s->rows_accepted = (uint64_t)sqlite3_column_int64(q, 10);
	s->rows_rejected = (uint64_t)sqlite3_column_int64(q, 11);
	s->rows_with_warnings = (uint64_t)sqlite3_column_int64(q, 12);
	pb__col_text(q, 13, s->first_day, sizeof(s->first_day));
	pb__col_text(q, 14, s->last_day, sizeof(s->last_day));
	pb__col_text(q, 15, s->names, sizeof(s->names));
	pb__col_text(q, 16, s->rejects_file, sizeof(s->rejects_file));
	pb__col_text(q, 17, s->tree, sizeof(s->tree));
	pb__col_text(q, 18, s->data_tree, sizeof(s->data_tree));
	pb__col_text(q, 19, s->file_sha256, sizeof(s->file_sha256));
	return PB_OK;
}

enum pb_status pb_usage_sources(struct pb_ws *ws, struct pb_source_info **out, size_t *n,
                                struct pb_error *err)
{
	void *rows;
	enum pb_status st = pb__db_select(
		ws->db,
		"SELECT id, sha256, size, name, coalesce(path, ''), compression, format, "
		"coalesce(focus_version, ''), ingested_at, rows_read, rows_accepted, rows_rejected, "
		"rows_with_warnings, coalesce(pb_day(first_day), ''), coalesce(pb_day(last_day), ''), "
		"names, coalesce(rejects_file, ''), coalesce(tree, ''), coalesce(data_tree, ''), "
		"coalesce(file_sha256, '') FROM source ORDER BY id",
		sizeof(**out), source_row, NULL, &rows, n, "cannot list sources", err);
	*out = rows;
	return st;
}

static enum pb_status account_row(void *ctx, sqlite3_stmt *q, void *row, struct pb_error *err)
{
	struct pb_account_info *a = row;
	pb__col_text(q, 0, a->kind, sizeof(a->kind));
	pb__col_text(q, 1, a->account_id, sizeof(a->account_id));
	pb__col_text(q, 2, a->billing_account_id, sizeof(a->billing_account_id));
	pb__col_text(q, 3, a->name, sizeof(a->name));
	pb__col_text(q, 4, a->provider, sizeof(a->provider));
	pb__col_text(q, 5, a->first_day, sizeof(a->first_day));
	pb__col_text(q, 6, a->last_day, sizeof(a->last_day));
	pb__col_text(q, 7, a->billed_cost, sizeof(a->billed_cost));
	pb__col_text(q, 8, a->currency, sizeof(a->currency));
	a->rows = (uint64_t)sqlite3_column_int64(q, 9);
	pb__col_text(q, 10, a->customer, sizeof(a->customer));
	return PB_OK;
}

enum pb_status pb_usage_accounts(struct pb_ws *ws, struct pb_account_info **out, size_t *n,
                                 struct pb_error *err)
{
	void *rows;
	/* sums per account from the aggregates; names and days from account */
	enum pb_status st = pb__db_select(
		ws->db,
		"WITH s AS (SELECT 'billing' AS kind, a.value AS id, '' AS billing, "
		"  pb_dsum(u.billed_cost) AS billed, count(DISTINCT u.currency) AS ncur, "
		"  max(cu.value) AS cur, sum(u.rows) AS rows FROM usage_day u JOIN dim a ON a.id = "
		"  u.account LEFT JOIN dim cu ON cu.id = u.currency GROUP BY u.account "
		" UNION ALL SELECT 'sub', s.value, a.value, pb_dsum(u.billed_cost), "
		"  count(DISTINCT u.currency), max(cu.value), sum(u.rows) FROM usage_day u "
		"  JOIN dim s ON s.id = u.subaccount JOIN dim a ON a.id = u.account "
		"  LEFT JOIN dim cu ON cu.id = u.currency GROUP BY u.subaccount, u.account) "
		"SELECT ac.kind, ac.account_id, ac.billing_account_id, coalesce(ac.name, ''), "
		" coalesce(ac.provider, ''), pb_day(ac.first_day), pb_day(ac.last_day), "
		" coalesce(s.billed, '0'), CASE WHEN s.ncur = 1 THEN s.cur ELSE '' END, "
		" coalesce(s.rows, 0), coalesce((SELECT c.name FROM customer_account ca JOIN customer c "
		"  ON c.id = ca.customer_id WHERE ca.account_id = ac.account_id AND ca.kind = ac.kind), "
		"  (SELECT c.name FROM customer_account ca JOIN customer c ON c.id = ca.customer_id "
		"  WHERE ac.kind = 'sub' AND ca.kind = 'billing' AND ca.account_id = "
		"  ac.billing_account_id), '') "
		"FROM account ac LEFT JOIN s ON s.kind = ac.kind AND s.id = ac.account_id AND "
		" s.billing = ac.billing_account_id "
		"ORDER BY ac.kind, ac.billing_account_id, ac.account_id",
		sizeof(**out), account_row, NULL, &rows, n, "cannot list accounts", err);
	*out = rows;
	return st;
}

enum pb_status pb_tree_file(const char *path, size_t chunk, char id[PB_TREE_ID_LEN],
                            char data_id[PB_TREE_ID_LEN], struct pb_error *err)
{
	if (!chunk)
		chunk = PB_TREE_CHUNK_DEFAULT;
	if (chunk < PB_TREE_CHUNK_MIN || chunk > PB_TREE_CHUNK_MAX) {
		pb__err(err, PB_EINVAL, "the tree hash chunk must be from %u to %u bytes, not %zu",
		        PB_TREE_CHUNK_MIN, PB_TREE_CHUNK_MAX, chunk);
		if (err)
			pb__strlcpy(err->field, "tree_chunk", sizeof(err->field));
		return PB_EINVAL;
	}
	struct pb_source s;
	enum pb_status st = pb__source_open_hashed(&s, path, -1, chunk, false, err);
	if (st)
		return st;
	struct pb__mth data;
	pb__mth_init(&data, chunk, false);
	/* whole buffers of two leaves or more: the leaves hashed in pairs */
	size_t cap = 2 * (chunk > (1u << 20) ? chunk : (1u << 20)), len = 0, n = 1;
	char *buf = malloc(cap);
	if (!buf)
		st = pb__err(err, PB_ENOMEM, "out of memory");
	while (!st && n) {
		for (len = 0; len < cap && !(st = pb__source_read(&s, buf + len, cap - len, &n, err)) && n;)
			len += n;
		if (!st)
			pb__mth_update(&data, buf, len);
	}
	free(buf);
	uint8_t droot[32], rroot[32];
	if (!st && (pb__mth_final(&data, droot) ||
	            (s.comp != PB_COMP_NONE && pb__source_tree_root(&s, rroot))))
		st = pb__err(err, PB_ENOMEM, "out of memory");
	if (!st) {
		if (id)
			pb__mth_id(chunk, s.comp == PB_COMP_NONE ? droot : rroot, id);
		if (data_id)
			pb__mth_id(chunk, droot, data_id);
	}
	pb__mth_release(&data);
	pb__source_close(&s);
	return st;
}

enum pb_status pb_usage_source_sha256(struct pb_ws *ws, int64_t id, char out[65],
                                      struct pb_error *err)
{
	enum pb_status st = pb__ws_require_writable(ws, "sources --sha256", err);
	if (st)
		return st;
	sqlite3_stmt *q;
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT sha256, tree, coalesce(path, name) FROM source WHERE id = ?1",
	                         &q, err)))
		return st;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_finalize(q);
		return pb__err(err, PB_ENOENT, "no source %lld in the workspace", (long long)id);
	}
	char key[65], tree[PB_TREE_ID_LEN], path[4096];
	pb__col_text(q, 0, key, sizeof(key));
	pb__col_text(q, 1, tree, sizeof(tree));
	pb__col_text(q, 2, path, sizeof(path));
	sqlite3_finalize(q);
	size_t chunk = 0;
	uint8_t root[32], got[32], flat[32];
	bool has_tree = pb__mth_parse_id(tree, &chunk, root);
	if ((st = pb__file_hashes(path, chunk, has_tree ? got : NULL, flat, err)))
		return st;
	char hex[65];
	pb_hex(has_tree ? got : flat, 32, hex);
	if (strcmp(hex, key) != 0)
		return pb__err(err, PB_EVERIFY,
		               "source %lld: '%s' has changed since it was ingested (its %s is %s, "
		               "not %s)",
		               (long long)id, path, has_tree ? "tree hash root" : "SHA-256", hex, key);
	pb_hex(flat, 32, out);
	if ((st = pb__db_prepare(ws->db, "UPDATE source SET file_sha256 = ?1 WHERE id = ?2", &q,
	                         err)))
		return st;
	sqlite3_bind_text(q, 1, out, 64, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, id);
	if (sqlite3_step(q) != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot store the SHA-256 of a source");
	sqlite3_finalize(q);
	return st;
}
