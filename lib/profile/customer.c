/* customer.c - customers: named sets of billing accounts and sub-accounts.
 *
 * Ownership is exclusive: a billing account belongs to at most one customer,
 * and so does a sub-account, whether named on its own or covered by its
 * billing account (the sub-account -> billing account mapping comes from the
 * exports, in the account table). Every clash is refused with both owners
 * named, inside one transaction.
 */
#include "probity.h"
#include "auth/auth.h"
#include "profile/customer.h"
#include "store/store.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Who owns a billing account or sub-account already: directly, or (for a
 * sub-account) through its billing account, or (for a billing account)
 * through one of its sub-accounts. Fills owner ("" when free). */
static enum pb_status owner_of(struct pb_ws *ws, const char *kind, const char *id, char *owner,
                               size_t cap, char *via, size_t vcap, struct pb_error *err)
{
	static const char sql[] =
		/* the account itself */
		"SELECT c.name, '' FROM customer_account ca JOIN customer c ON c.id = ca.customer_id "
		" WHERE ca.kind = ?1 AND ca.account_id = ?2 "
		/* a sub-account through its billing account */
		"UNION ALL SELECT c.name, 'billing account ' || a.billing_account_id FROM account a "
		" JOIN customer_account ca ON ca.kind = 'billing' AND ca.account_id = "
		" a.billing_account_id JOIN customer c ON c.id = ca.customer_id "
		" WHERE ?1 = 'sub' AND a.kind = 'sub' AND a.account_id = ?2 "
		/* a billing account whose sub-accounts someone owns */
		"UNION ALL SELECT c.name, 'sub-account ' || a.account_id FROM account a "
		" JOIN customer_account ca ON ca.kind = 'sub' AND ca.account_id = a.account_id "
		" JOIN customer c ON c.id = ca.customer_id "
		" WHERE ?1 = 'billing' AND a.kind = 'sub' AND a.billing_account_id = ?2 LIMIT 1";
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db, sql, &q, err);
	if (st)
		return st;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
	owner[0] = via[0] = '\0';
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		pb__col_text(q, 0, owner, cap);
		pb__col_text(q, 1, via, vcap);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot check account owners");
	return PB_OK;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 120 || !pb_utf8_valid(s, n, NULL))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return false;
	return s[0] != ' ' && s[n - 1] != ' ';
}

/* Checks the acting user inside the open transaction. */
static enum pb_status actor_ok(struct pb_ws *ws, const char *as, const char **actor,
                               struct pb_error *err)
{
	enum pb_status st = pb__acting_user(ws, as, actor, err);
	if (!st)
		st = pb__user_may(ws, *actor, "customer.add", err); /* and customer.remove */
	return st;
}

/* Records the change in the audit log (inside the transaction). */
static enum pb_status log_change(struct pb_ws *ws, const char *actor, const char *action,
                                 const char *name, const char *const *acc, size_t na,
                                 const char *const *sub, size_t ns, struct pb_error *err)
{
	json_t *d = json_object();
	json_object_set_new(d, "customer", json_string(name));
	if (na || ns) {
		json_t *a = json_array(), *s = json_array();
		for (size_t i = 0; i < na; i++)
			json_array_append_new(a, json_string(acc[i]));
		for (size_t i = 0; i < ns; i++)
			json_array_append_new(s, json_string(sub[i]));
		json_object_set_new(d, "accounts", a);
		json_object_set_new(d, "subaccounts", s);
	}
	char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	if (!text)
		return pb__err(err, PB_ENOMEM, "out of memory");
	char subject[200];
	pb__snprintf(subject, sizeof(subject), "customer/%s", name);
	enum pb_status st = pb__audit_append(ws, actor, action, 0, subject, text, NULL, err);
	free(text);
	return st;
}

enum pb_status pb_customer_add(struct pb_ws *ws, const char *as, const char *name,
                               const char *const *accounts, size_t naccounts,
                               const char *const *subaccounts, size_t nsubaccounts,
                               struct pb_error *err)
{
	if (!name || !valid_name(name))
		return pb__err(err, PB_EINVAL,
		               "a customer name is 1 to 120 characters of text, without control "
		               "characters or spaces at either end");
	if (naccounts + nsubaccounts == 0)
		return pb__err_field(err, PB_EINVAL, "accounts",
		                     "customer '%s' needs at least one account or sub-account", name);
	enum pb_status st = pb__ws_require_writable(ws, "add a customer", err);
	if (st)
		return st;
	if ((st = pb__ws_begin(ws, err)))
		return st;
	sqlite3_stmt *q = NULL, *ins = NULL;
	const char *actor;
	if ((st = actor_ok(ws, as, &actor, err)))
		goto fail;
	if ((st = pb__db_prepare(ws->db, "SELECT 1 FROM customer WHERE name = ?1", &q, err)))
		goto fail;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc == SQLITE_ROW) {
		st = pb__err(err, PB_EEXIST, "customer '%s' exists already", name);
		goto fail;
	}
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO customer(name, created_at) VALUES (?1, ?2)", &q, err)))
		goto fail;
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, now, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		st = pb__db_err(ws->db, err, "cannot add the customer");
		goto fail;
	}
	int64_t cid = sqlite3_last_insert_rowid(ws->db);
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO customer_account(customer_id, kind, account_id) "
	                         "VALUES (?1, ?2, ?3)",
	                         &ins, err)))
		goto fail;
	for (int pass = 0; pass < 2; pass++) {
		const char *kind = pass ? "sub" : "billing";
		const char *const *ids = pass ? subaccounts : accounts;
		size_t n = pass ? nsubaccounts : naccounts;
		for (size_t i = 0; i < n; i++) {
			if (!ids[i][0] || strlen(ids[i]) > 120) {
				st = pb__err(err, PB_EINVAL, "an account id is 1 to 120 characters");
				goto fail;
			}
			char owner[128], via[160];
			if ((st = owner_of(ws, kind, ids[i], owner, sizeof(owner), via, sizeof(via), err)))
				goto fail;
			if (owner[0]) {
				if (strcmp(owner, name) == 0)
					st = pb__err(err, PB_EINVAL, "%s '%s' is listed twice for '%s'%s%s",
					             pass ? "sub-account" : "account", ids[i], name,
					             via[0] ? ": it is covered by its " : "", via);
				else
					st = pb__err(err, PB_EEXIST,
					             "%s '%s' already belongs to customer '%s'%s%s; an account "
					             "belongs to one customer at most",
					             pass ? "sub-account" : "account", ids[i], owner,
					             via[0] ? " through its " : "", via);
				goto fail;
			}
			sqlite3_reset(ins);
			sqlite3_bind_int64(ins, 1, cid);
			sqlite3_bind_text(ins, 2, kind, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, ids[i], -1, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				st = pb__db_err(ws->db, err, "cannot add the customer's accounts");
				goto fail;
			}
		}
	}
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	q = ins = NULL;
	if ((st = log_change(ws, actor, "customer.add", name, accounts, naccounts, subaccounts,
	                     nsubaccounts, err)))
		goto fail;
	return pb__ws_commit(ws, err);
fail:
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	pb__ws_rollback(ws);
	return st;
}

enum pb_status pb_customer_remove(struct pb_ws *ws, const char *as, const char *name,
                                  struct pb_error *err)
{
	enum pb_status st = pb__ws_require_writable(ws, "remove a customer", err);
	if (st)
		return st;
	if ((st = pb__ws_begin(ws, err)))
		return st;
	const char *actor;
	if ((st = actor_ok(ws, as, &actor, err))) {
		pb__ws_rollback(ws);
		return st;
	}
	sqlite3_stmt *q;
	if ((st = pb__db_prepare(ws->db, "DELETE FROM customer WHERE name = ?1", &q, err))) {
		pb__ws_rollback(ws);
		return st;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		st = pb__db_err(ws->db, err, "cannot remove the customer");
		pb__ws_rollback(ws);
		return st;
	}
	if (sqlite3_changes(ws->db) == 0) {
		pb__ws_rollback(ws);
		return pb__err(err, PB_ENOENT, "no customer '%s'", name);
	}
	if ((st = log_change(ws, actor, "customer.remove", name, NULL, 0, NULL, 0, err))) {
		pb__ws_rollback(ws);
		return st;
	}
	return pb__ws_commit(ws, err);
}

static enum pb_status fill_info(struct pb_ws *ws, sqlite3_stmt *q, struct pb_customer_info *c,
                                struct pb_error *err)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(q, 0);
	pb__col_text(q, 1, c->name, sizeof(c->name));
	pb__col_text(q, 2, c->created_at, sizeof(c->created_at));
	c->naccounts = (size_t)sqlite3_column_int64(q, 3);
	c->nsubaccounts = (size_t)sqlite3_column_int64(q, 4);
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"WITH u AS (" PB_CUSTOMER_USAGE_SQL "), g AS (SELECT pb_dsum(billed_cost) AS b, "
		" count(DISTINCT currency) AS nc, max(currency) AS mc, min(day) AS d0, max(day) AS d1 "
		" FROM u) SELECT b, nc, (SELECT value FROM dim WHERE id = mc), pb_day(d0), pb_day(d1) "
		"FROM g",
		&s, err);
	if (st)
		return st;
	sqlite3_bind_int64(s, 1, c->id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		pb__col_text(s, 0, c->billed_cost, sizeof(c->billed_cost));
		if (sqlite3_column_int(s, 1) == 1)
			pb__col_text(s, 2, c->currency, sizeof(c->currency));
		pb__col_text(s, 3, c->first_day, sizeof(c->first_day));
		pb__col_text(s, 4, c->last_day, sizeof(c->last_day));
	}
	sqlite3_finalize(s);
	return PB_OK;
}

static const char list_sql[] =
	"SELECT c.id, c.name, c.created_at, "
	" (SELECT count(*) FROM customer_account WHERE customer_id = c.id AND kind = 'billing'), "
	" (SELECT count(*) FROM customer_account WHERE customer_id = c.id AND kind = 'sub') "
	"FROM customer c";

static enum pb_status info_row(void *ctx, sqlite3_stmt *q, void *row, struct pb_error *err)
{
	return fill_info(ctx, q, row, err);
}

enum pb_status pb_customer_list(struct pb_ws *ws, struct pb_customer_info **out, size_t *n,
                                struct pb_error *err)
{
	char sql[1024];
	snprintf(sql, sizeof(sql), "%s ORDER BY c.name", list_sql);
	void *rows;
	enum pb_status st = pb__db_select(ws->db, sql, sizeof(**out), info_row, ws, &rows, n,
	                                  "cannot list customers", err);
	*out = rows;
	return st;
}

static enum pb_status account_row(void *ctx, sqlite3_stmt *q, void *row, struct pb_error *err)
{
	struct pb_customer_account *a = row;
	pb__col_text(q, 0, a->kind, sizeof(a->kind));
	pb__col_text(q, 1, a->account_id, sizeof(a->account_id));
	pb__col_text(q, 2, a->name, sizeof(a->name));
	a->seen = sqlite3_column_int(q, 3) != 0;
	return PB_OK;
}

enum pb_status pb_customer_show(struct pb_ws *ws, const char *name, struct pb_customer_info *info,
                                struct pb_customer_account **accounts, size_t *n,
                                struct pb_error *err)
{
	*accounts = NULL;
	*n = 0;
	char sql[1024];
	snprintf(sql, sizeof(sql), "%s WHERE c.name = ?1", list_sql);
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db, sql, &q, err);
	if (st)
		return st;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(q);
		if (rc == SQLITE_DONE)
			return pb__err(err, PB_ENOENT, "no customer '%s'; see 'probity customer list'",
			               name);
		return pb__db_err(ws->db, err, "cannot read the customer");
	}
	st = fill_info(ws, q, info, err);
	sqlite3_finalize(q);
	if (st)
		return st;
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT ca.kind, ca.account_id, (SELECT name FROM account a WHERE "
	                         " a.kind = ca.kind AND a.account_id = ca.account_id LIMIT 1), "
	                         " EXISTS (SELECT 1 FROM account a WHERE a.kind = ca.kind AND "
	                         " a.account_id = ca.account_id) FROM customer_account ca "
	                         "WHERE ca.customer_id = ?1 ORDER BY ca.kind, ca.account_id",
	                         &q, err)))
		return st;
	sqlite3_bind_int64(q, 1, info->id);
	void *rows;
	st = pb__db_rows(ws->db, q, sizeof(**accounts), account_row, NULL, &rows, n,
	                 "cannot read the customer's accounts", err);
	sqlite3_finalize(q);
	*accounts = rows;
	return st;
}
