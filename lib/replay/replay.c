/* replay.c - the log is the truth: replays every audit entry and compares
 * the tables beside the log with what the entries recorded.
 *
 * The entries are read once into a temporary table (rp_entry: index, actor,
 * action, case, details, all taken from the entry text, never from the
 * copied columns of audit_entry), then each check is one SQL query over the
 * tables and rp_entry whose rows are differences. Users and roles are the
 * one thing replayed step by step, in C: who held which role at each
 * position decides whether an entry's actor was allowed to act.
 *
 * The same checks run on a workspace (pb_log_replay_check) and on an export
 * (pb_replay_*): there the tables come from the snapshot `log export` writes
 * (tables.db, copies of the checked tables) and the entries from the tiles
 * as `log verify` reads them. docs/caselog.md lists, table by table, what is
 * derived from the log, what is checked against it, and what is not.
 */
#include "auth/auth.h"
#include "decide/entitlements.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/hmap.h"
#include "replay/sig.h"

#include "util/banned.h"

#define SNAPSHOT "tables.db"

/* the tables an export's snapshot carries: the ones checked below */
static const char *const snapshot_tables[] = {
	"app_user", "customer",   "customer_account",    "review_case", "case_evidence",
	"finding",  "plan",       "plan_event", "entitlement_version",
};

/* a problem the signature replay found, kept until the report */
struct sig_problem {
	int64_t index;
	char *what;
};

struct pb_replay {
	sqlite3 *db;           /* the tables, and temp.rp_entry */
	struct pb__rsig *sig;  /* the signatures, fed with the entries */
	struct sig_problem *sp;
	size_t nsp, capsp;
	uint64_t sp_dropped;   /* beyond the cap: counted only */
	bool sp_oom;
	bool own;              /* db opened here (a snapshot) */
	bool workspace;        /* audit_entry is there: check its copied columns */
	sqlite3_stmt *ins;     /* one entry into rp_entry (snapshot) */
	uint64_t entries;      /* fed so far (snapshot) */
	int64_t snapshot_size; /* entries the snapshot was taken at */
	pb_replay_fn fn;
	void *ctx;
	uint64_t ndiff;
	bool stop;
};

/* ---- reporting ------------------------------------------------------------- */

static void report(struct pb_replay *r, const char *table, const char *row, int64_t entry,
                   const char *what)
{
	r->ndiff++;
	if (r->stop || !r->fn)
		return;
	struct pb_replay_diff d = { table, row && *row ? row : "-", entry, what };
	if (!r->fn(r->ctx, &d))
		r->stop = true;
}

/* Runs a query whose rows are differences: (table, row, entry or NULL, what). */
static enum pb_status diff_query(struct pb_replay *r, const char *sql, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(r->db, sql, &st, err);
	if (rc)
		return rc;
	int q;
	while ((q = sqlite3_step(st)) == SQLITE_ROW)
		report(r, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2),
		       (const char *)sqlite3_column_text(st, 3));
	if (q != SQLITE_DONE)
		rc = pb__db_err(r->db, err, "cannot compare the tables with the log");
	sqlite3_finalize(st);
	return rc;
}

/* A row-by-row comparison: `from` joins each row of `table` (key: `row`) with
 * the entry e that recorded it (e.idx may be NULL: `none` says what is
 * missing then); each field is a SQL expression that is true when the
 * column differs from the entry. */
struct field {
	const char *label;
	const char *differs;
};
struct compare {
	const char *table;
	const char *row;
	const char *from;
	const char *none;
	struct field f[12];
};

static enum pb_status compare_rows(struct pb_replay *r, const struct compare *c,
                                   struct pb_error *err)
{
	struct pb_buf sql;
	pb_buf_init(&sql, 1 << 16);
	enum pb_status rc = pb_buf_printf(&sql, "SELECT %s, e.idx", c->row);
	size_t nf = 0;
	for (; !rc && nf < PB_ARRAY_LEN(c->f) && c->f[nf].label; nf++)
		rc = pb_buf_printf(&sql, ", coalesce((%s), 1)", c->f[nf].differs);
	if (!rc)
		rc = pb_buf_printf(&sql, " FROM %s ORDER BY 1", c->from);
	sqlite3_stmt *st = NULL;
	rc = rc ? pb__err(err, rc, "cannot build the comparison of '%s'", c->table)
	        : pb__db_prepare(r->db, sql.data, &st, err);
	pb_buf_release(&sql);
	if (rc)
		return rc;
	int q;
	char what[256];
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);
		bool have = sqlite3_column_type(st, 1) != SQLITE_NULL;
		int64_t idx = have ? sqlite3_column_int64(st, 1) : -1;
		for (size_t i = 0; i < nf; i++) {
			if (!sqlite3_column_int(st, (int)i + 2))
				continue;
			if (have)
				pb__snprintf(what, sizeof(what), "%s differs from entry %lld", c->f[i].label,
				             (long long)idx);
			else
				pb__snprintf(what, sizeof(what), "%s differs from the log (%s)", c->f[i].label,
				             c->none ? c->none : "no entry records it");
			report(r, c->table, row, idx, what);
		}
	}
	if (q != SQLITE_DONE)
		rc = pb__db_err(r->db, err, "cannot compare the tables with the log");
	sqlite3_finalize(st);
	return rc;
}

/* ---- SQL helpers -------------------------------------------------------------- */

/* pb_sha256_hex(text): the lower-case hex SHA-256 of its bytes, NULL for NULL. */
static void sql_sha256_hex(sqlite3_context *c, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(c);
		return;
	}
	const void *p = sqlite3_value_text(argv[0]);
	int n = sqlite3_value_bytes(argv[0]);
	uint8_t h[32];
	char hex[65];
	pb__sha256(p ? p : "", (size_t)n, h);
	pb_hex(h, 32, hex);
	sqlite3_result_text(c, hex, 64, SQLITE_TRANSIENT);
}

static enum pb_status setup(struct pb_replay *r, struct pb_error *err)
{
	if (sqlite3_create_function(r->db, "pb_sha256_hex", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
	                            NULL, sql_sha256_hex, NULL, NULL) != SQLITE_OK)
		return pb__db_err(r->db, err, "cannot set up the replay");
	return pb__db_exec(r->db,
	                   "DROP TABLE IF EXISTS temp.rp_entry;"
	                   "DROP TABLE IF EXISTS temp.rp_user;"
	                   "CREATE TEMP TABLE rp_entry (idx INTEGER PRIMARY KEY, actor TEXT,"
	                   " action TEXT, case_id INTEGER, subject TEXT, at TEXT, d TEXT);"
	                   /* the lookups of the checks: by action and case, or plan */
	                   "CREATE INDEX temp.rp_entry_case ON rp_entry(action, case_id);"
	                   "CREATE INDEX temp.rp_entry_plan ON rp_entry(action,"
	                   " json_extract(d, '$.plan'));"
	                   "CREATE INDEX temp.rp_entry_customer ON rp_entry(action,"
	                   " json_extract(d, '$.customer'));"
	                   "CREATE TEMP TABLE rp_user (name TEXT PRIMARY KEY, role TEXT,"
	                   " disabled INTEGER, created_by TEXT, added INTEGER, changed INTEGER);",
	                   err);
}

static void teardown(struct pb_replay *r)
{
	if (r->db)
		sqlite3_exec(r->db, "DROP TABLE IF EXISTS temp.rp_entry; DROP TABLE IF EXISTS temp.rp_user",
		             NULL, NULL, NULL);
}

/* the fields of an entry, taken from its text ?2 */
#define ENTRY_FIELDS                                                                            \
	"json_extract(?2, '$.actor'), json_extract(?2, '$.action'), json_extract(?2, '$.case'), " \
	"json_extract(?2, '$.subject'), json_extract(?2, '$.time'), json_extract(?2, '$.details')"

/* ---- users and roles, step by step ------------------------------------------- */

/* The actions on a user's own passkeys: user.passkey-add by the user
 * themself only, user.passkey-revoke by them or an admin. */
static bool passkey_actor_ok(const char *action, const char *actor, const char *role,
                             const char *user)
{
	if (!strcmp(action, "user.passkey-add"))
		return !strcmp(actor, user);
	if (!strcmp(action, "user.passkey-revoke"))
		return !strcmp(actor, user) || pb__role_in(role, "admin");
	return true;
}

struct ruser {
	char role[16];
	char created_by[PB_USER_NAME_MAX + 1];
	bool disabled;
	int64_t added, changed;
};

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

/* Replays user.add / user.role / user.disable in log order, checks each
 * entry's actor against the users of its position, and leaves the users
 * the log describes in temp.rp_user. */
static enum pb_status replay_users(struct pb_replay *r, struct pb_error *err)
{
	struct pb_hmap users;
	pb__hmap_init(&users);
	sqlite3_stmt *st = NULL, *ins = NULL;
	enum pb_status rc = pb__db_prepare(r->db,
	                                   "SELECT idx, actor, action, json_extract(d, '$.name'),"
	                                   " json_extract(d, '$.role'), json_extract(d, '$.user')"
	                                   " FROM temp.rp_entry ORDER BY idx",
	                                   &st, err);
	if (rc)
		goto out;
	int q;
	char what[320], row[32];
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 0);
		const char *actor = col(st, 1), *action = col(st, 2), *name = col(st, 3),
		           *role = col(st, 4), *user = col(st, 5);
		pb__snprintf(row, sizeof(row), "%lld", (long long)idx);
		bool bootstrap = !strcmp(action, "user.add") && users.count == 0 &&
		                 !strcmp(actor, name) && !strcmp(role, "admin");
		struct ruser *a = pb__hmap_get(&users, actor, strlen(actor));
		const char *need = pb__action_roles(action);
		if (bootstrap || !strcmp(action, "web.signin-fail")) {
			/* the first user vouches for itself; a failed sign-in is
			 * written by nobody (its actor is the name tried, or '-') */
		} else if (!a) {
			pb__snprintf(what, sizeof(what), "actor '%s' of %s is not a user at this position",
			             actor, action);
			report(r, "audit_entry", row, idx, what);
		} else if (a->disabled) {
			pb__snprintf(what, sizeof(what),
			             "actor '%s' of %s was disabled at this position (entry %lld)", actor,
			             action, (long long)a->changed);
			report(r, "audit_entry", row, idx, what);
		} else if (need && !pb__role_in(a->role, need)) {
			pb__snprintf(what, sizeof(what),
			             "actor '%s' was %s at this position; %s needs the role %s", actor,
			             a->role, action, need);
			report(r, "audit_entry", row, idx, what);
		} else if (!passkey_actor_ok(action, actor, a->role, user)) {
			/* a passkey is added by its user, revoked by them or an admin */
			pb__snprintf(what, sizeof(what), "actor '%s' of %s is not '%s'%s", actor, action,
			             user, strcmp(action, "user.passkey-add") ? " nor an admin" : "");
			report(r, "audit_entry", row, idx, what);
		}
		/* the registry's changes; user.invite and user.enrol (web sign-in)
		 * leave roles as they are */
		if (strcmp(action, "user.add") && strcmp(action, "user.role") &&
		    strcmp(action, "user.disable"))
			continue;
		struct ruser *u = pb__hmap_get(&users, name, strlen(name));
		if (!strcmp(action, "user.add")) {
			if (u) {
				pb__snprintf(what, sizeof(what), "adds user '%s' again (added by entry %lld)",
				             name, (long long)u->added);
				report(r, "audit_entry", row, idx, what);
				continue;
			}
			if (!(u = calloc(1, sizeof(*u))) ||
			    pb__hmap_put(&users, name, strlen(name), u, NULL) != PB_OK) {
				free(u);
				rc = pb__err(err, PB_ENOMEM, "out of memory");
				goto out;
			}
			pb__strlcpy(u->role, role, sizeof(u->role));
			pb__strlcpy(u->created_by, actor, sizeof(u->created_by));
			u->added = u->changed = idx;
		} else if (!u) {
			pb__snprintf(what, sizeof(what), "%s names user '%s', who was never added",
			             action, name);
			report(r, "audit_entry", row, idx, what);
		} else if (!strcmp(action, "user.role")) {
			pb__strlcpy(u->role, role, sizeof(u->role));
			u->changed = idx;
		} else if (!strcmp(action, "user.disable")) {
			u->disabled = true;
			u->changed = idx;
		}
	}
	if (q != SQLITE_DONE) {
		rc = pb__db_err(r->db, err, "cannot read the log");
		goto out;
	}
	if ((rc = pb__db_prepare(r->db, "INSERT INTO temp.rp_user VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                         &ins, err)))
		goto out;
	for (size_t i = 0; i < users.cap; i++) {
		const struct pb_hmap_slot *s = &users.slots[i];
		if (!s->key)
			continue;
		const struct ruser *u = s->value;
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, s->key, (int)s->len, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, u->role, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 3, u->disabled);
		sqlite3_bind_text(ins, 4, u->created_by, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, u->added);
		sqlite3_bind_int64(ins, 6, u->changed);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = pb__db_err(r->db, err, "cannot replay the users");
			goto out;
		}
	}
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	for (size_t i = 0; i < users.cap; i++)
		if (users.slots && users.slots[i].key)
			free(users.slots[i].value);
	pb__hmap_release(&users);
	return rc;
}

/* ---- the checks, table by table ----------------------------------------------- */

#define J(path) "json_extract(e.d, '$." path "')"
/* a JSON column as canonical text, NULL when it is not JSON */
#define JSON_OR_NULL(c) "CASE WHEN json_valid(" c ") THEN json(" c ") END"

static const struct compare compares[] = {
	/* users: the state the user.* entries leave */
	{ "app_user", "u.name",
	  "app_user u JOIN temp.rp_user ru ON ru.name = u.name"
	  " JOIN temp.rp_entry e ON e.idx = ru.changed",
	  NULL,
	  { { "role", "u.role IS NOT ru.role" },
	    { "disabled", "(u.disabled != 0) IS NOT (ru.disabled != 0)" },
	    { "created_by", "u.created_by IS NOT ru.created_by" } } },
	/* cases: what case.open recorded */
	{ "review_case", "c.id",
	  "review_case c LEFT JOIN customer cu ON cu.id = c.customer_id"
	  " JOIN temp.rp_entry e ON e.idx = (SELECT min(idx) FROM temp.rp_entry"
	  "  WHERE action = 'case.open' AND case_id = c.id)",
	  NULL,
	  { { "title", "c.title IS NOT " J("title") },
	    { "trigger_text", "c.trigger_text IS NOT " J("trigger") },
	    { "trigger_url", "c.trigger_url IS NOT " J("trigger_url") },
	    { "trigger_date", "c.trigger_date IS NOT " J("trigger_date") },
	    { "customer", "cu.name IS NOT " J("customer") },
	    { "opened_by", "c.opened_by IS NOT e.actor" } } },
	/* cases: status and decision, from case.close */
	{ "review_case", "c.id",
	  "review_case c LEFT JOIN temp.rp_entry e ON e.idx = (SELECT min(idx) FROM temp.rp_entry"
	  "  WHERE action = 'case.close' AND case_id = c.id)",
	  "no case.close entry",
	  { { "status", "c.status IS NOT CASE WHEN e.idx IS NULL THEN 'open' ELSE 'closed' END" },
	    { "decision", "c.decision IS NOT " J("decision") },
	    { "closed_by", "c.closed_by IS NOT e.actor" } } },
	/* evidence (notes, documents, findings, ...): the entry at log_index */
	{ "case_evidence", "v.id",
	  "case_evidence v JOIN temp.rp_entry e ON e.idx = v.log_index"
	  " AND e.action LIKE 'case.%' AND json_type(e.d, '$.kind') IS NOT NULL",
	  NULL,
	  { { "case_id", "v.case_id IS NOT e.case_id" },
	    { "kind", "v.kind IS NOT " J("kind") },
	    { "ref", "v.ref IS NOT " J("ref") },
	    { "sha256", "v.sha256 IS NOT " J("sha256") },
	    { "added_by", "v.added_by IS NOT e.actor" },
	    { "summary", "json_type(e.d, '$.summary') IS NOT NULL AND "
	                 JSON_OR_NULL("v.summary") " IS NOT " J("summary") },
	    { "text", "v.kind = 'note' AND (pb_sha256_hex(CASE WHEN json_valid(v.summary) THEN"
	              " json_extract(v.summary, '$.text') END) IS NOT " J("sha256")
	              " OR (json_type(e.d, '$.text') IS NOT NULL AND CASE WHEN json_valid(v.summary)"
	              " THEN json_extract(v.summary, '$.text') END IS NOT " J("text") "))" } } },
	/* findings in a case: the finding as the case.finding entry recorded it */
	{ "finding", "f.id",
	  "temp.rp_entry e JOIN finding f ON f.id = " J("summary.id")
	  " WHERE e.action = 'case.finding'",
	  NULL,
	  { { "scan_id", "f.scan_id IS NOT " J("summary.scan_id") },
	    { "policy", "f.policy IS NOT " J("summary.policy") },
	    { "policy_sha256", "f.policy_sha256 IS NOT " J("summary.policy_sha256") },
	    { "rule", "f.rule IS NOT " J("summary.rule") },
	    { "severity", "f.severity IS NOT " J("summary.severity") },
	    { "entity_kind", "f.entity_kind IS NOT " J("summary.entity_kind") },
	    { "entity", "f.entity IS NOT " J("summary.entity") },
	    { "at_day", "f.at_day IS NOT " J("summary.at_day") },
	    { "created_at", "f.created_at IS NOT " J("summary.created_at") },
	    { "detail (clause, figures, citations)",
	      "pb_sha256_hex(f.detail) IS NOT " J("summary.detail_sha256") } } },
	/* plans: the body against the last plan.new / plan.edit */
	{ "plan", "p.id",
	  "plan p JOIN temp.rp_entry e ON e.idx = (SELECT max(idx) FROM temp.rp_entry"
	  "  WHERE action IN ('plan.new', 'plan.edit') AND json_extract(d, '$.plan') = p.id)",
	  NULL,
	  { { "sha256", "p.sha256 IS NOT " J("sha256") },
	    { "body", "pb_sha256_hex(p.body) IS NOT " J("sha256") },
	    { "case_id", "p.case_id IS NOT e.case_id" },
	    { "revision", "p.revision IS NOT coalesce(" J("revision") ", 1)" } } },
	/* plans: the author, from plan.new (who counts as an author decides
	 * who may approve) */
	{ "plan", "p.id",
	  "plan p JOIN temp.rp_entry e ON e.idx = (SELECT min(idx) FROM temp.rp_entry"
	  "  WHERE action = 'plan.new' AND json_extract(d, '$.plan') = p.id)",
	  NULL,
	  { { "created_by", "p.created_by IS NOT e.actor" } } },
	/* plans: status from the last apply / rollback / withdraw */
	{ "plan", "p.id",
	  "plan p LEFT JOIN temp.rp_entry e ON e.idx = (SELECT max(idx) FROM temp.rp_entry"
	  "  WHERE action IN ('plan.apply', 'plan.rollback', 'plan.withdraw')"
	  "  AND json_extract(d, '$.plan') = p.id)",
	  "no plan.apply, plan.rollback or plan.withdraw entry",
	  { { "status", "p.status IS NOT CASE e.action WHEN 'plan.apply' THEN 'applied'"
	                " WHEN 'plan.rollback' THEN 'rolled-back' WHEN 'plan.withdraw' THEN 'withdrawn'"
	                " ELSE 'draft' END" },
	    { "applied_version", "e.action = 'plan.apply' AND p.applied_version IS NOT " J("version") },
	    { "end_version", "e.action = 'plan.rollback' AND p.end_version IS NOT " J("version") } } },
	/* plan steps, approvals among them: the entry at log_index */
	{ "plan_event", "v.id",
	  "plan_event v JOIN temp.rp_entry e ON e.idx = v.log_index AND e.action LIKE 'plan.%'",
	  NULL,
	  { { "kind", "e.action IS NOT 'plan.' || CASE v.kind WHEN 'rollback-approve'"
	              " THEN 'rollback-request' ELSE v.kind END" },
	    { "plan_id", "v.plan_id IS NOT " J("plan") },
	    { "actor", "v.actor IS NOT e.actor" },
	    { "sha256", "v.sha256 IS NOT " J("sha256") },
	    { "version", "v.version IS NOT " J("version") },
	    { "text", "v.text IS NOT coalesce(" J("comment") ", " J("reason") ")" },
	    { "detail", JSON_OR_NULL("v.detail") " IS NOT e.d" } } },
	/* entitlements versions: the plan.apply / plan.rollback that wrote them */
	{ "entitlement_version", "v.version",
	  "entitlement_version v JOIN temp.rp_entry e ON e.idx = (SELECT min(idx)"
	  "  FROM temp.rp_entry WHERE action IN ('plan.apply', 'plan.rollback')"
	  "  AND json_extract(d, '$.version') = v.version)",
	  NULL,
	  { { "sha256", "v.sha256 IS NOT " J("entitlements_sha256") },
	    { "nrules", "v.nrules IS NOT " J("entitlements_rules") } } },
};

/* Rows the log records and the tables lack. */
static const char missing_sql[] =
	"SELECT 'app_user', u.name, NULL, 'no user.add entry records this user' FROM app_user u"
	"  WHERE NOT EXISTS (SELECT 1 FROM temp.rp_user ru WHERE ru.name = u.name)"
	" UNION ALL "
	"SELECT 'review_case', c.id, NULL, 'no case.open entry records this case'"
	"  FROM review_case c WHERE NOT EXISTS (SELECT 1 FROM temp.rp_entry e"
	"  WHERE e.action = 'case.open' AND e.case_id = c.id)"
	" UNION ALL "
	"SELECT 'plan', p.id, NULL, 'no plan.new entry records this plan' FROM plan p"
	"  WHERE NOT EXISTS (SELECT 1 FROM temp.rp_entry e WHERE e.action = 'plan.new'"
	"  AND json_extract(e.d, '$.plan') = p.id)"
	" UNION ALL "
	"SELECT 'plan', p.id, NULL, 'sha256 is not the hash of its body' FROM plan p"
	"  WHERE pb_sha256_hex(p.body) IS NOT p.sha256"
	" UNION ALL "
	"SELECT 'entitlement_version', v.version, NULL, 'no plan.apply or plan.rollback entry"
	" names this version' FROM entitlement_version v WHERE NOT EXISTS (SELECT 1"
	"  FROM temp.rp_entry e WHERE e.action IN ('plan.apply', 'plan.rollback')"
	"  AND json_extract(e.d, '$.version') = v.version)"
	" UNION ALL "
	"SELECT 'app_user', ru.name, ru.added, 'row missing: user.add entry ' || ru.added"
	"  || ' added this user' FROM temp.rp_user ru"
	"  WHERE NOT EXISTS (SELECT 1 FROM app_user u WHERE u.name = ru.name)"
	" UNION ALL "
	"SELECT 'review_case', e.case_id, e.idx, 'row missing: entry ' || e.idx || ' opened this case'"
	"  FROM temp.rp_entry e WHERE e.action = 'case.open'"
	"  AND NOT EXISTS (SELECT 1 FROM review_case c WHERE c.id = e.case_id)"
	" UNION ALL "
	"SELECT 'case_evidence', NULL, e.idx, 'row missing: entry ' || e.idx || ' records a '"
	"  || json_extract(e.d, '$.kind') || ' of case ' || e.case_id"
	"  FROM temp.rp_entry e WHERE e.action LIKE 'case.%' AND json_type(e.d, '$.kind') IS NOT NULL"
	"  AND NOT EXISTS (SELECT 1 FROM case_evidence v WHERE v.log_index = e.idx)"
	" UNION ALL "
	"SELECT 'case_evidence', v.id, v.log_index, 'no case entry at its log_index '"
	"  || v.log_index FROM case_evidence v WHERE NOT EXISTS (SELECT 1 FROM temp.rp_entry e"
	"  WHERE e.idx = v.log_index AND e.action LIKE 'case.%' AND json_type(e.d, '$.kind')"
	"  IS NOT NULL)"
	" UNION ALL "
	"SELECT 'finding', json_extract(e.d, '$.summary.id'), e.idx, 'row missing: entry ' || e.idx"
	"  || ' records this finding' FROM temp.rp_entry e WHERE e.action = 'case.finding'"
	"  AND json_type(e.d, '$.summary.id') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM finding f"
	"  WHERE f.id = json_extract(e.d, '$.summary.id'))"
	" UNION ALL "
	"SELECT 'plan', json_extract(e.d, '$.plan'), e.idx, 'row missing: entry ' || e.idx"
	"  || ' made this plan' FROM temp.rp_entry e WHERE e.action = 'plan.new'"
	"  AND NOT EXISTS (SELECT 1 FROM plan p WHERE p.id = json_extract(e.d, '$.plan'))"
	" UNION ALL "
	"SELECT 'plan_event', NULL, e.idx, 'row missing: entry ' || e.idx || ' records '"
	"  || e.action || ' of plan ' || json_extract(e.d, '$.plan') FROM temp.rp_entry e"
	"  WHERE e.action IN ('plan.new', 'plan.edit', 'plan.approve', 'plan.refuse', 'plan.apply',"
	"  'plan.rollback-request', 'plan.rollback', 'plan.withdraw', 'plan.notice')"
	"  AND NOT EXISTS (SELECT 1 FROM plan_event v WHERE v.log_index = e.idx)"
	" UNION ALL "
	"SELECT 'plan_event', v.id, v.log_index, 'no plan entry at its log_index ' || v.log_index"
	"  FROM plan_event v WHERE NOT EXISTS (SELECT 1 FROM temp.rp_entry e"
	"  WHERE e.idx = v.log_index AND e.action LIKE 'plan.%')"
	" UNION ALL "
	"SELECT 'entitlement_version', json_extract(e.d, '$.version'), e.idx, 'row missing: entry '"
	"  || e.idx || ' wrote this version' FROM temp.rp_entry e"
	"  WHERE e.action IN ('plan.apply', 'plan.rollback') AND json_type(e.d, '$.version')"
	"  IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entitlement_version v"
	"  WHERE v.version = json_extract(e.d, '$.version'))";

/* Customers and their accounts: each name's last customer.add or
 * customer.remove entry says whether it exists, and the add which accounts
 * (billing) and sub-accounts it holds. */
#define LAST_CUSTOMER_ENTRY(name)                                                        \
	"(SELECT max(idx) FROM temp.rp_entry WHERE action IN ('customer.add',"          \
	" 'customer.remove') AND json_extract(d, '$.customer') = " name ")"
static const char customers_sql[] =
	"WITH last AS (SELECT c.id, c.name, e.idx, e.d FROM customer c JOIN temp.rp_entry e"
	"  ON e.idx = " LAST_CUSTOMER_ENTRY("c.name") " AND e.action = 'customer.add'),"
	" logged AS (SELECT l.id, l.name, l.idx, 'billing' AS kind, j.value AS account_id"
	"  FROM last l, json_each(l.d, '$.accounts') j UNION ALL SELECT l.id, l.name, l.idx,"
	"  'sub', j.value FROM last l, json_each(l.d, '$.subaccounts') j)"
	"SELECT 'customer', c.name, e.idx, CASE WHEN e.idx IS NULL"
	"  THEN 'no customer.add entry records this customer'"
	"  ELSE 'entry ' || e.idx || ' removed this customer' END"
	" FROM customer c LEFT JOIN temp.rp_entry e ON e.idx = " LAST_CUSTOMER_ENTRY("c.name")
	" WHERE e.idx IS NULL OR e.action = 'customer.remove'"
	" UNION ALL "
	"SELECT 'customer', json_extract(e.d, '$.customer'), e.idx, 'row missing: entry ' || e.idx"
	"  || ' added this customer' FROM temp.rp_entry e WHERE e.action = 'customer.add'"
	"  AND e.idx = " LAST_CUSTOMER_ENTRY("json_extract(e.d, '$.customer')")
	"  AND NOT EXISTS (SELECT 1 FROM customer c WHERE c.name = json_extract(e.d, '$.customer'))"
	" UNION ALL "
	"SELECT 'customer_account', l.name || ' ' || ca.kind || ' ' || ca.account_id, l.idx,"
	"  'not among the accounts entry ' || l.idx || ' gave this customer'"
	" FROM last l JOIN customer_account ca ON ca.customer_id = l.id WHERE NOT EXISTS"
	"  (SELECT 1 FROM logged g WHERE g.id = l.id AND g.kind = ca.kind"
	"  AND g.account_id = ca.account_id)"
	" UNION ALL "
	"SELECT 'customer_account', g.name || ' ' || g.kind || ' ' || g.account_id, g.idx,"
	"  'row missing: entry ' || g.idx || ' gave this customer this account' FROM logged g"
	" WHERE NOT EXISTS (SELECT 1 FROM customer_account ca WHERE ca.customer_id = g.id"
	"  AND ca.kind = g.kind AND ca.account_id = g.account_id)"
	" UNION ALL "
	"SELECT 'customer_account', ca.kind || ' ' || ca.account_id, NULL,"
	"  'customer id ' || ca.customer_id || ' is no customer' FROM customer_account ca"
	" WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = ca.customer_id)";

/* Web passwords (workspace only: an export never carries them): each must
 * be the one its user's last user.enrol entry recorded, by SHA-256. */
static const char passwords_sql[] =
	"SELECT 'web_password', w.user, e.idx, CASE WHEN e.idx IS NULL"
	"  THEN 'no user.enrol entry records a password for this user'"
	"  ELSE 'the password is not the one entry ' || e.idx || ' recorded' END"
	" FROM web_password w LEFT JOIN temp.rp_entry e ON e.idx = (SELECT max(idx)"
	"  FROM temp.rp_entry WHERE action = 'user.enrol' AND actor = w.user)"
	" WHERE e.idx IS NULL OR pb_sha256_hex(w.hash) IS NOT json_extract(e.d, '$.password_sha256')";

/* Web invitations (workspace only): each web_invite row is a user.invite
 * entry's (same token hash, user and admin; its lifetime no longer than the
 * entry gave it: a later invitation or a revocation only shortens it), each
 * such entry has its row, and a user.enrol that names a token (entries since
 * 2026-12-07) used one issued to that user before it, and no other enrolment
 * used it. Without this a row inserted with sqlite3 would let anyone who can
 * write the workspace set a user's web password. */
static const char invites_sql[] =
	"SELECT 'web_invite', w.user, e.idx, CASE WHEN e.idx IS NULL"
	"  THEN 'no user.invite entry issued this invitation'"
	"  ELSE 'expires later than entry ' || e.idx || ' allowed' END"
	" FROM web_invite w LEFT JOIN temp.rp_entry e ON e.action = 'user.invite'"
	"  AND json_extract(e.d, '$.token_sha256') = w.token_sha256"
	"  AND json_extract(e.d, '$.name') = w.user AND e.actor = w.created_by"
	" WHERE e.idx IS NULL OR w.expires_at > CAST(strftime('%s', e.at) AS INTEGER) + 1"
	"  + json_extract(e.d, '$.ttl_s')"
	" UNION ALL "
	"SELECT 'web_invite', json_extract(e.d, '$.name'), e.idx, 'row missing: entry ' || e.idx"
	"  || ' issued this invitation' FROM temp.rp_entry e WHERE e.action = 'user.invite'"
	"  AND json_type(e.d, '$.token_sha256') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
	"  web_invite w WHERE w.token_sha256 = json_extract(e.d, '$.token_sha256'))"
	" UNION ALL "
	"SELECT 'web_invite', e.actor, e.idx, 'entry ' || e.idx || ' enrolled with a token no"
	" earlier user.invite issued to this user' FROM temp.rp_entry e"
	" WHERE e.action = 'user.enrol' AND json_type(e.d, '$.token_sha256') IS NOT NULL"
	"  AND NOT EXISTS (SELECT 1 FROM temp.rp_entry i WHERE i.action = 'user.invite'"
	"  AND i.idx < e.idx AND json_extract(i.d, '$.name') = e.actor"
	"  AND json_extract(i.d, '$.token_sha256') = json_extract(e.d, '$.token_sha256'))"
	" UNION ALL "
	"SELECT 'web_invite', e.actor, e.idx, 'entry ' || e.idx || ' enrolled with a token entry '"
	"  || min(f.idx) || ' had used' FROM temp.rp_entry e JOIN temp.rp_entry f"
	"  ON f.action = 'user.enrol' AND f.idx < e.idx"
	"  AND json_extract(f.d, '$.token_sha256') = json_extract(e.d, '$.token_sha256')"
	" WHERE e.action = 'user.enrol' AND json_type(e.d, '$.token_sha256') IS NOT NULL"
	" GROUP BY e.idx";

/* audit_entry's copied columns against the entry text (workspace only). */
static const struct compare columns_compare = {
	"audit_entry", "a.idx", "audit_entry a JOIN temp.rp_entry e ON e.idx = a.idx", NULL,
	{ { "actor", "a.actor IS NOT e.actor" },
	  { "action", "a.action IS NOT e.action" },
	  { "case_id", "a.case_id IS NOT e.case_id" },
	  { "subject", "a.subject IS NOT e.subject" },
	  { "at", "a.at IS NOT e.at" } }
};

/* The key registry (signed workspaces): each user_key row against the
 * user.add / user.key-add entry at its added_idx and the user.key-revoke
 * that revoked it; each registering entry must have its row. */
static const char user_keys_sql[] =
	"SELECT 'user_key', k.fp, k.added_idx, 'no user.add or user.key-add entry at its added_idx "
	"registers it for ' || quote(k.user) FROM user_key k WHERE NOT EXISTS (SELECT 1"
	"  FROM temp.rp_entry e WHERE e.idx = k.added_idx AND ((e.action = 'user.add'"
	"  AND json_extract(e.d, '$.name') = k.user) OR (e.action = 'user.key-add'"
	"  AND json_extract(e.d, '$.user') = k.user)) AND json_extract(e.d, '$.key_fp') = k.fp"
	"  AND json_extract(e.d, '$.key') IS k.key)"
	" UNION ALL "
	"SELECT 'user_key', k.fp, e.idx, CASE WHEN e.idx IS NULL THEN 'revoked_idx differs from the"
	"  log (no user.key-revoke entry)' ELSE 'revoked_idx differs from entry ' || e.idx END"
	" FROM user_key k LEFT JOIN temp.rp_entry e ON e.idx = (SELECT min(idx) FROM temp.rp_entry"
	"  WHERE action = 'user.key-revoke' AND json_extract(d, '$.key_fp') = k.fp)"
	" WHERE k.revoked_idx IS NOT e.idx"
	" UNION ALL "
	"SELECT 'user_key', json_extract(e.d, '$.key_fp'), e.idx, 'row missing: entry ' || e.idx"
	"  || ' registers this key' FROM temp.rp_entry e WHERE e.action IN ('user.add',"
	"  'user.key-add') AND json_type(e.d, '$.key_fp') IS NOT NULL AND NOT EXISTS (SELECT 1"
	"  FROM user_key k WHERE k.fp = json_extract(e.d, '$.key_fp'))";

/* The used statement nonces (signed workspaces, workspace only: an export
 * carries the nonces in its entries): each sig_nonce row must be the nonce
 * of the entry at its idx, and every signed entry's nonce must have its row
 * with that idx (a checkpoint signed by its actor: the checkpoint's size).
 * A row missing would let a signature be replayed. */
#define ENTRY_NONCE "json_extract(CAST(a.data AS TEXT), '$.sig.nonce')"
static const char nonces_sql[] =
	"SELECT 'sig_nonce', n.nonce, n.idx, CASE WHEN a.idx IS NULL THEN 'no log entry at its idx '"
	"  || n.idx ELSE 'entry ' || n.idx || ' was signed with another nonce' END"
	" FROM sig_nonce n LEFT JOIN audit_entry a ON a.idx = n.idx"
	" WHERE (a.idx IS NULL OR " ENTRY_NONCE " IS NOT n.nonce) AND NOT EXISTS (SELECT 1"
	"  FROM audit_checkpoint c WHERE c.size = n.idx"
	"  AND json_extract(c.actor_sig, '$.nonce') = n.nonce)"
	" UNION ALL "
	"SELECT 'sig_nonce', json_extract(c.actor_sig, '$.nonce'), c.size, 'row missing: the"
	"  checkpoint of size ' || c.size || ' was signed with this nonce' FROM audit_checkpoint c"
	" WHERE c.actor_sig IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sig_nonce n"
	"  WHERE n.nonce = json_extract(c.actor_sig, '$.nonce') AND n.idx = c.size)"
	" UNION ALL "
	"SELECT 'sig_nonce', " ENTRY_NONCE ", a.idx, 'row missing: entry ' || a.idx"
	"  || ' was signed with this nonce' FROM audit_entry a WHERE " ENTRY_NONCE " IS NOT NULL"
	"  AND NOT EXISTS (SELECT 1 FROM sig_nonce n WHERE n.nonce = " ENTRY_NONCE
	"  AND n.idx = a.idx)";
#undef ENTRY_NONCE

/* The passkey registry (docs/identity.md): each user_passkey row against
 * the user.passkey-add entry at its added_idx and the first
 * user.passkey-revoke of it; each registering entry must have its row. */
#define PK(path) "json_extract(e.d, '$." path "')"
static const char user_passkeys_sql[] =
	"SELECT 'user_passkey', k.fp, k.added_idx, 'no user.passkey-add entry at its added_idx "
	"registers it for ' || quote(k.user) || ' as the row says (user, cred_id, cose, alg, rp_id,"
	" origin, name)' FROM user_passkey k WHERE NOT EXISTS (SELECT 1 FROM temp.rp_entry e"
	"  WHERE e.idx = k.added_idx AND e.action = 'user.passkey-add' AND " PK("user") " = k.user"
	"  AND " PK("key_fp") " = k.fp AND " PK("cred_id") " IS k.cred_id AND " PK("key")
	" IS k.cose AND " PK("alg") " IS k.alg AND " PK("rp_id") " IS k.rp_id AND "
	PK("origin") " IS k.origin AND " PK("name") " IS k.name)"
	" UNION ALL "
	"SELECT 'user_passkey', k.fp, e.idx, CASE WHEN e.idx IS NULL THEN 'revoked_idx differs from"
	"  the log (no user.passkey-revoke entry)' ELSE 'revoked_idx or revoke_reason differs from"
	"  entry ' || e.idx END FROM user_passkey k LEFT JOIN temp.rp_entry e ON e.idx ="
	"  (SELECT min(idx) FROM temp.rp_entry WHERE action = 'user.passkey-revoke'"
	"  AND json_extract(d, '$.key_fp') = k.fp AND idx > k.added_idx)"
	" WHERE k.revoked_idx IS NOT e.idx OR (e.idx IS NOT NULL AND k.revoke_reason IS NOT "
	PK("reason") ")"
	" UNION ALL "
	"SELECT 'user_passkey', " PK("key_fp") ", e.idx, 'row missing: entry ' || e.idx"
	"  || ' registers this passkey' FROM temp.rp_entry e WHERE e.action = 'user.passkey-add'"
	"  AND NOT EXISTS (SELECT 1 FROM user_passkey k WHERE k.fp = " PK("key_fp") ")";

/* sign_count (signed logs): the largest counter the log shows (rp_pkcount,
 * from the signature replay). */
static const char passkey_counts_sql[] =
	"SELECT 'user_passkey', k.fp, NULL, 'sign_count ' || k.sign_count || ' differs from the log"
	" (' || coalesce(c.count, 0) || ', the largest counter its entries show)'"
	" FROM user_passkey k LEFT JOIN temp.rp_pkcount c ON c.fp = k.fp"
	" WHERE k.sign_count IS NOT coalesce(c.count, 0)";

/* web_invite.passkey_idx (workspace only): the user.passkey-add that used
 * the invitation's token, and every such entry's row says so. */
static const char invite_passkeys_sql[] =
	"SELECT 'web_invite', w.user, w.passkey_idx, 'passkey_idx ' || w.passkey_idx || ' is no"
	" user.passkey-add of this user revealing this invitation''s token' FROM web_invite w"
	" WHERE w.passkey_idx IS NOT NULL AND NOT EXISTS (SELECT 1 FROM temp.rp_entry e"
	"  WHERE e.idx = w.passkey_idx AND e.action = 'user.passkey-add' AND " PK("user")
	" = w.user AND pb_sha256_hex(" PK("token") ") = w.token_sha256)"
	" UNION ALL "
	"SELECT 'web_invite', " PK("user") ", e.idx, 'row missing or passkey_idx differs: entry '"
	"  || e.idx || ' used an invitation''s token' FROM temp.rp_entry e"
	" WHERE e.action = 'user.passkey-add' AND json_type(e.d, '$.token') IS NOT NULL"
	"  AND NOT EXISTS (SELECT 1 FROM web_invite w WHERE w.token_sha256 = pb_sha256_hex("
	PK("token") ") AND w.passkey_idx = e.idx)";
#undef PK

static bool has_table(sqlite3 *db, const char *schema, const char *name)
{
	char sql[128];
	sqlite3_stmt *st;
	pb__snprintf(sql, sizeof(sql), "SELECT 1 FROM %s.sqlite_master WHERE type = 'table' AND "
	                               "name = ?1", schema);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

static bool has_column(sqlite3 *db, const char *table, const char *column)
{
	char sql[128];
	sqlite3_stmt *st;
	pb__snprintf(sql, sizeof(sql), "SELECT %s FROM main.%s LIMIT 0", column, table);
	bool yes = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	return yes;
}

/* ---- signatures ------------------------------------------------------------------ */

#define SIG_PROBLEMS_MAX 1000

static void sig_report(void *ctx, uint64_t index, const char *what)
{
	struct pb_replay *r = ctx;
	if (r->nsp == SIG_PROBLEMS_MAX) {
		r->sp_dropped++;
		return;
	}
	if (r->nsp == r->capsp) {
		size_t cap = r->capsp ? 2 * r->capsp : 16;
		struct sig_problem *p = realloc(r->sp, cap * sizeof(*p));
		if (!p) {
			r->sp_oom = true;
			return;
		}
		r->sp = p;
		r->capsp = cap;
	}
	char *w = pb__strndup(what, strlen(what));
	if (!w) {
		r->sp_oom = true;
		return;
	}
	r->sp[r->nsp++] = (struct sig_problem){ (int64_t)index, w };
}

static enum pb_status sig_begin(struct pb_replay *r, struct pb_error *err)
{
	return pb__rsig_new(sig_report, r, &r->sig, err);
}

/* Waits for the signature checks and reports what they found. */
static enum pb_status sig_end(struct pb_replay *r, struct pb_error *err)
{
	enum pb_status rc = r->sig ? pb__rsig_finish(r->sig, NULL, err) : PB_OK;
	if (!rc && r->sp_oom)
		rc = pb__err(err, PB_ENOMEM, "out of memory");
	char row[32];
	for (size_t i = 0; !rc && i < r->nsp; i++) {
		pb__snprintf(row, sizeof(row), "%lld", (long long)r->sp[i].index);
		report(r, "audit_entry", row, r->sp[i].index, r->sp[i].what);
	}
	if (!rc && r->sp_dropped) {
		char what[96];
		pb__snprintf(what, sizeof(what), "%llu more signature problems not listed",
		             (unsigned long long)r->sp_dropped);
		report(r, "audit_entry", "-", -1, what);
	}
	return rc;
}

static bool pkcount_row(void *ctx, const char *fp, uint32_t count)
{
	sqlite3_stmt *ins = ctx;
	sqlite3_reset(ins);
	sqlite3_bind_text(ins, 1, fp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(ins, 2, count);
	return sqlite3_step(ins) == SQLITE_DONE;
}

/* The passkey registry and its invitations against the log, once the
 * signature replay has seen every entry (it knows the counters). */
static enum pb_status check_passkeys(struct pb_replay *r, struct pb_error *err)
{
	if (!has_table(r->db, "main", "user_passkey"))
		return PB_OK;
	enum pb_status rc = diff_query(r, user_passkeys_sql, err);
	if (!rc && r->workspace && has_column(r->db, "web_invite", "passkey_idx"))
		rc = diff_query(r, invite_passkeys_sql, err);
	if (rc || !r->sig || !pb__rsig_signed(r->sig, NULL))
		return rc;
	sqlite3_stmt *ins = NULL;
	if ((rc = pb__db_exec(r->db, "DROP TABLE IF EXISTS temp.rp_pkcount;"
	                             "CREATE TEMP TABLE rp_pkcount (fp TEXT PRIMARY KEY, count INTEGER)",
	                      err)) ||
	    (rc = pb__db_prepare(r->db, "INSERT INTO temp.rp_pkcount VALUES (?1, ?2)", &ins, err)))
		return rc;
	pb__rsig_passkeys(r->sig, pkcount_row, ins);
	sqlite3_finalize(ins);
	rc = diff_query(r, passkey_counts_sql, err);
	sqlite3_exec(r->db, "DROP TABLE IF EXISTS temp.rp_pkcount", NULL, NULL, NULL);
	return rc;
}

static void sig_release(struct pb_replay *r)
{
	pb__rsig_free(r->sig);
	r->sig = NULL;
	for (size_t i = 0; i < r->nsp; i++)
		free(r->sp[i].what);
	free(r->sp);
	r->sp = NULL;
	r->nsp = r->capsp = 0;
}

/* The workspace's entries, in order, through the signature replay. */
static enum pb_status sig_workspace(struct pb_replay *r, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = sig_begin(r, err);
	if (rc || (rc = pb__db_prepare(r->db, "SELECT idx, data FROM main.audit_entry ORDER BY idx",
	                               &st, err)))
		return rc;
	int q;
	while ((q = sqlite3_step(st)) == SQLITE_ROW && !rc)
		rc = pb__rsig_feed(r->sig, (uint64_t)sqlite3_column_int64(st, 0),
		                   sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), err);
	if (!rc && q != SQLITE_DONE)
		rc = pb__db_err(r->db, err, "cannot read the audit log");
	sqlite3_finalize(st);
	if (!rc)
		rc = sig_end(r, err);
	return rc;
}

static enum pb_status run_checks(struct pb_replay *r, struct pb_error *err)
{
	enum pb_status rc = replay_users(r, err);
	if (!rc && r->workspace)
		rc = compare_rows(r, &columns_compare, err);
	if (!rc && r->workspace)
		rc = diff_query(r, passwords_sql, err);
	if (!rc && r->workspace && has_table(r->db, "main", "web_invite"))
		rc = diff_query(r, invites_sql, err);
	for (size_t i = 0; !rc && i < PB_ARRAY_LEN(compares); i++)
		rc = compare_rows(r, &compares[i], err);
	if (!rc)
		rc = diff_query(r, missing_sql, err);
	if (!rc)
		rc = diff_query(r, customers_sql, err);
	if (!rc && has_table(r->db, "main", "user_key"))
		rc = diff_query(r, user_keys_sql, err);
	if (!rc && r->workspace && has_table(r->db, "main", "sig_nonce"))
		rc = diff_query(r, nonces_sql, err);
	return rc;
}

/* ---- the workspace ------------------------------------------------------------- */

/* The stored copy of every document in a case: documents/<sha256> must be
 * there and hash to the name the entry recorded (the evidence row is
 * compared with the entry above). */
static enum pb_status check_documents(struct pb_replay *r, struct pb_ws *ws, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(r->db,
	                                   "SELECT v.id, json_extract(e.d, '$.sha256'), e.idx"
	                                   " FROM case_evidence v JOIN temp.rp_entry e"
	                                   " ON e.idx = v.log_index AND e.action = 'case.document'"
	                                   " ORDER BY v.id",
	                                   &st, err);
	if (rc)
		return rc;
	int q = SQLITE_DONE;
	char name[96], what[160], hex[65];
	enum { BUF = 1 << 16 };
	char *buf = malloc(BUF);
	if (!buf) {
		sqlite3_finalize(st);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		const char *row = col(st, 0), *sha = col(st, 1);
		int64_t idx = sqlite3_column_int64(st, 2);
		size_t sl = strlen(sha);
		if (sl != 64 || strspn(sha, "0123456789abcdef") != 64)
			continue; /* the evidence comparison reports it */
		pb__snprintf(name, sizeof(name), "documents/%s", sha);
		char *path = pb__ws_file(ws, name);
		if (!path) {
			rc = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		int fd = -1;
		uint64_t size = 0;
		const char *kind = NULL;
		int e = pb__open_regular_nofollow(path, &fd, &size, &kind);
		free(path);
		if (e) {
			pb__snprintf(what, sizeof(what), "stored document %s is %s (entry %lld)", name,
			             e > 0 ? pb__errno_text(e) : kind, (long long)idx);
			report(r, "case_document", row, idx, what);
			continue;
		}
		struct pb_sha256 h;
		if ((rc = pb__sha256_init(&h))) {
			close(fd);
			rc = pb__err(err, rc, "out of memory");
			break;
		}
		ssize_t n;
		while ((n = read(fd, buf, BUF)) > 0)
			pb__sha256_update(&h, buf, (size_t)n);
		close(fd);
		uint8_t d[32];
		pb__sha256_final(&h, d);
		pb_hex(d, 32, hex);
		if (n < 0 || strcmp(hex, sha) != 0) {
			pb__snprintf(what, sizeof(what), "stored document %s differs from entry %lld",
			             name, (long long)idx);
			report(r, "case_document", row, idx, what);
		}
	}
	if (!rc && q != SQLITE_DONE)
		rc = pb__db_err(r->db, err, "cannot read the case documents");
	free(buf);
	sqlite3_finalize(st);
	return rc;
}

/* Each entitlements version's rule rows against its row's count and hash
 * (the row itself is checked against the log by run_checks). */
static enum pb_status check_rules(struct pb_replay *r, struct pb_ws *ws, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT version FROM entitlement_version ORDER BY version",
	                                   &st, err);
	if (rc)
		return rc;
	int q;
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(st, 0);
		struct pb_error e2 = { 0 };
		enum pb_status vs = pb__entitlements_rules_check(ws, v, &e2);
		if (vs == PB_ENOMEM) {
			sqlite3_finalize(st);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		if (vs != PB_OK) {
			char row[32];
			pb__snprintf(row, sizeof(row), "%lld", (long long)v);
			report(r, "entitlement_rule", row, -1, e2.message);
		}
	}
	rc = q == SQLITE_DONE ? PB_OK : pb__db_err(ws->db, err, "cannot read entitlements");
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_log_replay_check(struct pb_ws *ws, pb_replay_fn fn, void *ctx,
                                   uint64_t *ndiff, struct pb_error *err)
{
	struct pb_replay r = { .db = ws->db, .workspace = true, .fn = fn, .ctx = ctx };
	if (ndiff)
		*ndiff = 0;
	enum pb_status rc = setup(&r, err);
	if (!rc)
		rc = pb__db_exec(ws->db,
		                 "INSERT INTO temp.rp_entry SELECT idx,"
		                 " json_extract(CAST(data AS TEXT), '$.actor'),"
		                 " json_extract(CAST(data AS TEXT), '$.action'),"
		                 " json_extract(CAST(data AS TEXT), '$.case'),"
		                 " json_extract(CAST(data AS TEXT), '$.subject'),"
		                 " json_extract(CAST(data AS TEXT), '$.time'),"
		                 " json_extract(CAST(data AS TEXT), '$.details')"
		                 " FROM main.audit_entry WHERE json_valid(CAST(data AS TEXT))",
		                 err);
	if (!rc)
		rc = run_checks(&r, err);
	if (!rc)
		rc = check_documents(&r, ws, err);
	if (!rc)
		rc = check_rules(&r, ws, err);
	if (!rc)
		rc = sig_workspace(&r, err);
	if (!rc)
		rc = check_passkeys(&r, err);
	sig_release(&r);
	teardown(&r);
	if (ndiff)
		*ndiff = r.ndiff;
	return rc;
}

/* ---- an export -------------------------------------------------------------------- */

/* Creates path (mode 0600 whatever the umask) empty, for SQLite to fill. */
static enum pb_status create_private(const char *path, struct pb_error *err)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return pb__err(err, pb__errno_status(errno), "cannot replace '%s': %s", path,
		               pb__errno_text(errno));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return pb__err(err, pb__errno_status(e), "cannot create '%s': %s", path,
		               pb__errno_text(e));
	}
	close(fd);
	return PB_OK;
}

enum pb_status pb_log_snapshot_write(struct pb_ws *ws, const char *dir, uint64_t size,
                                     struct pb_error *err)
{
	char *path = pb__path_join(dir, SNAPSHOT), *tmp = pb__path_join(dir, SNAPSHOT ".tmp"),
	     *wsdb = pb__ws_file(ws, PB_WS_DB);
	sqlite3 *db = NULL;
	enum pb_status rc = PB_OK;
	if (!path || !tmp || !wsdb) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = create_private(tmp, err)))
		goto out;
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		rc = pb__db_err(db, err, "cannot write the table snapshot");
		goto out;
	}
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(db, "ATTACH ?1 AS w", &st, err)))
		goto out;
	sqlite3_bind_text(st, 1, wsdb, -1, SQLITE_STATIC);
	int q = sqlite3_step(st);
	sqlite3_finalize(st);
	if (q != SQLITE_DONE) {
		rc = pb__db_err(db, err, "cannot read the workspace for the table snapshot");
		goto out;
	}
	if ((rc = pb__db_exec(db, "BEGIN; CREATE TABLE snapshot (size INTEGER NOT NULL);", err)))
		goto out;
	/* the rows as of the exported size, read in one transaction with it */
	if ((rc = pb__db_exec(db,
	                      "INSERT INTO snapshot SELECT count(*) FROM w.audit_entry", err)))
		goto out;
	int64_t have = -1;
	if (!pb__db_prepare(db, "SELECT size FROM snapshot", &st, NULL)) {
		if (sqlite3_step(st) == SQLITE_ROW)
			have = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (have != (int64_t)size) {
		rc = pb__err(err, PB_ESTATE,
		             "the log has %lld entries, the export %llu: no table snapshot (export the "
		             "latest checkpoint to include one)",
		             (long long)have, (unsigned long long)size);
		goto out;
	}
	char sql[160];
	for (size_t i = 0; i < PB_ARRAY_LEN(snapshot_tables); i++) {
		pb__snprintf(sql, sizeof(sql), "CREATE TABLE main.%s AS SELECT * FROM w.%s",
		             snapshot_tables[i], snapshot_tables[i]);
		if ((rc = pb__db_exec(db, sql, err)))
			goto out;
	}
	/* the key registry, where the workspace has one (signed actors) */
	if (has_table(db, "w", "user_key") &&
	    (rc = pb__db_exec(db, "CREATE TABLE main.user_key AS SELECT * FROM w.user_key", err)))
		goto out;
	/* and of passkeys (schema 14) */
	if (has_table(db, "w", "user_passkey") &&
	    (rc = pb__db_exec(db, "CREATE TABLE main.user_passkey AS SELECT * FROM w.user_passkey",
	                      err)))
		goto out;
	if ((rc = pb__db_exec(db, "COMMIT; DETACH w;", err)))
		goto out;
	if (sqlite3_close(db) != SQLITE_OK) {
		rc = pb__err(err, PB_EIO, "cannot write the table snapshot '%s'", tmp);
		db = NULL;
		goto out;
	}
	db = NULL;
	if (rename(tmp, path) != 0)
		rc = pb__err(err, pb__errno_status(errno), "cannot rename '%s': %s", tmp,
		             pb__errno_text(errno));
out:
	if (db)
		sqlite3_close(db);
	if (rc && tmp) {
		unlink(tmp);
		if (path)
			unlink(path); /* no stale snapshot of another size */
	}
	free(path);
	free(tmp);
	free(wsdb);
	return rc;
}

enum pb_status pb_replay_open(const char *dir, struct pb_replay **out, struct pb_error *err)
{
	*out = NULL;
	char *path = pb__path_join(dir, SNAPSHOT);
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct stat sb;
	enum pb_status rc = PB_OK;
	struct pb_replay *r = NULL;
	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = pb__err(err, PB_ENOENT, "'%s' holds no table snapshot (%s)", dir, SNAPSHOT);
		goto out;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	r->own = true;
	r->snapshot_size = -1;
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = pb__db_err(r->db, err, "cannot open the table snapshot");
		goto out;
	}
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(r->db, "SELECT size FROM snapshot", &st, err))) {
		pb__err_prefix(err, "%s", path);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		r->snapshot_size = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if ((rc = setup(r, err)) || (rc = sig_begin(r, err)) ||
	    (rc = pb__db_prepare(r->db,
	                         "INSERT OR REPLACE INTO temp.rp_entry VALUES (?1, " ENTRY_FIELDS ")",
	                         &r->ins, err)))
		goto out;
out:
	free(path);
	if (rc)
		pb_replay_free(r);
	else
		*out = r;
	return rc;
}

enum pb_status pb_replay_new_entries(struct pb_replay **out, struct pb_error *err)
{
	*out = NULL;
	struct pb_replay *r = calloc(1, sizeof(*r));
	if (!r)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status rc = sig_begin(r, err);
	if (rc)
		pb_replay_free(r);
	else
		*out = r;
	return rc;
}

bool pb_replay_signed(const struct pb_replay *r, uint64_t *nsigned)
{
	bool yes = r && r->sig && pb__rsig_signed(r->sig, nsigned);
	if (!yes && nsigned)
		*nsigned = 0;
	return yes;
}

enum pb_status pb_replay_checkpoint(struct pb_replay *r, const char *dir,
                                   const struct pb_checkpoint *cp, struct pb_error *err)
{
	if (!r->sig)
		return PB_OK;
	char *path = pb__path_join(dir, "checkpoint.actor"), *text = NULL;
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	size_t len = 0;
	struct pb_error e2 = { 0 };
	enum pb_status rc = pb__read_file(path, 64 * 1024, &text, &len, &e2);
	free(path);
	if (rc == PB_ENOENT)
		rc = PB_OK;
	else if (rc && err)
		*err = e2;
	if (!rc)
		rc = pb__rsig_checkpoint(r->sig, cp->origin, cp->size, cp->root, text, len, err);
	free(text);
	return rc;
}

enum pb_status pb_replay_entry_check(void *ctx, uint64_t index, struct pb_str *entry,
                                     struct pb_error *err)
{
	struct pb_replay *r = ctx;
	enum pb_status rc = pb_audit_entry_check(NULL, index, entry, err);
	if (rc)
		return rc;
	if (!r->db) /* entries alone */
		return pb__rsig_feed(r->sig, index, entry->ptr, entry->len, err);
	sqlite3_reset(r->ins);
	sqlite3_bind_int64(r->ins, 1, (sqlite3_int64)index);
	sqlite3_bind_text(r->ins, 2, entry->ptr, (int)entry->len, SQLITE_TRANSIENT);
	if (sqlite3_step(r->ins) != SQLITE_DONE)
		return pb__db_err(r->db, err, "cannot read the entry");
	r->entries++;
	return pb__rsig_feed(r->sig, index, entry->ptr, entry->len, err);
}

enum pb_status pb_replay_finish(struct pb_replay *r, uint64_t size, pb_replay_fn fn, void *ctx,
                                uint64_t *ndiff, struct pb_error *err)
{
	r->fn = fn;
	r->ctx = ctx;
	r->ndiff = 0;
	if (ndiff)
		*ndiff = 0;
	if (!r->db) { /* entries alone */
		enum pb_status rc = sig_end(r, err);
		if (ndiff)
			*ndiff = r->ndiff;
		return rc;
	}
	if (r->snapshot_size != (int64_t)size)
		return pb__err(err, PB_EVERIFY,
		               "the table snapshot was taken at %lld entries, the export has %llu",
		               (long long)r->snapshot_size, (unsigned long long)size);
	enum pb_status rc = run_checks(r, err);
	if (!rc)
		rc = sig_end(r, err);
	if (!rc)
		rc = check_passkeys(r, err);
	if (ndiff)
		*ndiff = r->ndiff;
	return rc;
}

void pb_replay_free(struct pb_replay *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->ins);
	sig_release(r);
	if (r->own)
		sqlite3_close(r->db);
	free(r);
}
