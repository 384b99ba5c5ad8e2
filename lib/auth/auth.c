/* auth.c - users and roles, the acting user, the opening and closing of a
 * write step, and the public checkpoint signing (which needs both an actor
 * with a role and the log).
 *
 * Users live in the app_user table; every change to it is an audit entry
 * in the same transaction (log/audit.h). The first user of a workspace is
 * an admin who vouches for itself.
 */
#include "auth/auth.h"
#include "log/audit.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static const char *const roles_known[] = { "analyst", "approver", "auditor", "admin" };

static bool role_valid(const char *r)
{
	for (size_t i = 0; i < PB_ARRAY_LEN(roles_known); i++)
		if (r && !strcmp(r, roles_known[i]))
			return true;
	return false;
}

static bool user_name_valid(const char *n)
{
	size_t l = n ? strlen(n) : 0;
	if (l == 0 || l > PB_USER_NAME_MAX)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* A name as people read it: lower case, without the punctuation . _ -, so
 * that 'Bob', 'bob' and 'bob.' are one name for uniqueness. */
static void user_name_key(const char *n, char out[PB_USER_NAME_MAX + 1])
{
	size_t k = 0;
	for (; *n && k < PB_USER_NAME_MAX; n++)
		if (*n != '.' && *n != '_' && *n != '-')
			out[k++] = (char)(*n >= 'A' && *n <= 'Z' ? *n - 'A' + 'a' : *n);
	out[k] = '\0';
}

/* PB_EEXIST when a user's name is name, or reads the same (user_name_key). */
static enum pb_status user_name_free(struct pb_ws *ws, const char *name, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db, "SELECT name FROM app_user", &st, err);
	if (rc)
		return rc;
	char want[PB_USER_NAME_MAX + 1], have[PB_USER_NAME_MAX + 1];
	user_name_key(name, want);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *other = (const char *)sqlite3_column_text(st, 0);
		if (!other)
			continue;
		user_name_key(other, have);
		if (strcmp(want, have))
			continue;
		rc = strcmp(name, other)
		             ? pb__err(err, PB_EEXIST, "user '%s' is too close to existing user '%s'",
		                       name, other)
		             : pb__err(err, PB_EEXIST, "user '%s' already exists", name);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? PB_OK : pb__db_err(ws->db, err, "cannot read the users");
}

/* ---- write steps -------------------------------------------------------------- */

enum pb_status pb__text_check(const char *field, const char *s, bool required,
                              struct pb_error *err)
{
	if (!s || !*s) {
		if (required)
			return pb__err_field(err, PB_EINVAL, field, "'%s' is required", field);
		return PB_OK;
	}
	size_t n = strlen(s), bad;
	if (n > PB__TEXT_MAX)
		return pb__err_field(err, PB_ELIMIT, field, "'%s' is longer than %d bytes", field,
		                     PB__TEXT_MAX);
	if (!pb_utf8_valid(s, n, &bad))
		return pb__err_field(err, PB_EINVAL, field, "'%s' is not valid UTF-8 (byte %zu)", field,
		                     bad);
	return PB_OK;
}

/* Who may write which entry. Actions not listed need an enabled user of
 * any role (the passkey actions add their own rule: a user's own passkeys,
 * or an admin revoking one). */
static const struct {
	const char *action;
	const char *roles;
} action_roles[] = {
	{ "user.add", "admin" },
	{ "user.role", "admin" },
	{ "user.disable", "admin" },
	{ "user.invite", "admin" },
	{ "user.invite-revoke", "admin" },
	{ "user.key-add", "admin" },
	{ "user.key-revoke", "admin" },
	{ "plan.policy", "admin" },
	{ "web.origin", "admin" },
	{ "case.open", "analyst" },
	{ "case.note", "analyst,approver" },
	{ "case.document", "analyst" },
	{ "case.finding", "analyst" },
	{ "case.close", "analyst,approver" },
	{ "plan.new", "analyst,approver" },
	{ "plan.edit", "analyst,approver" },
	{ "plan.approve", "approver" },
	{ "plan.refuse", "approver" },
	{ "plan.apply", "analyst,approver" },
	{ "plan.rollback-request", "approver" },
	{ "plan.rollback", "approver" },
	{ "plan.withdraw", "analyst,approver" },
	{ "plan.notice", "analyst,approver" },
	{ "appeal.open", "analyst,approver" },
	{ "appeal.note", "analyst,approver" },
	{ "appeal.decide", "approver" },
	{ "report.case", "analyst,approver,auditor" },
	{ "report.transparency", "analyst,approver,auditor" },
	{ "usage.ingest", "analyst,admin" },
	{ "mail.ingest", "analyst,admin" },
	{ "mail.search", "analyst,admin" },
	{ "mail.tag", "analyst,admin" },
	{ "mail.untag", "analyst,admin" },
	{ "mail.view", "analyst,admin" },
	{ "mail.export", "analyst,admin" },
	{ "policy.scan", "analyst,admin" },
	{ "customer.add", "analyst,admin" },
	{ "customer.remove", "analyst,admin" },
};

#define ANY_ROLE "analyst,approver,auditor,admin"

const char *pb__action_roles(const char *action)
{
	for (size_t i = 0; action && i < PB_ARRAY_LEN(action_roles); i++)
		if (!strcmp(action, action_roles[i].action))
			return action_roles[i].roles;
	return NULL;
}

enum pb_status pb__user_may(struct pb_ws *ws, const char *actor, const char *action,
                            struct pb_error *err)
{
	const char *roles = pb__action_roles(action);
	return pb__user_require_role(ws, actor, roles ? roles : ANY_ROLE, err);
}

/* Begins a write: writable workspace, transaction, actor with a role. */
enum pb_status pb__ws_begin_as(struct pb_ws *ws, const char *actor, const char *action,
                               const char *doing, struct pb_error *err)
{
	enum pb_status rc = pb__ws_require_writable(ws, doing, err);
	if (rc)
		return rc;
	if ((rc = pb__ws_begin(ws, err)))
		return rc;
	if ((rc = pb__user_may(ws, actor, action, err))) {
		pb__ws_rollback(ws);
		return rc;
	}
	return PB_OK;
}

enum pb_status pb__ws_finish(struct pb_ws *ws, enum pb_status rc, struct pb_error *err)
{
	if (rc) {
		pb__ws_rollback(ws);
		return rc;
	}
	return pb__ws_commit(ws, err);
}

/* ---- users -------------------------------------------------------------------- */

#define NO_ACTOR "no acting user: none was given and probity.conf sets no 'user = NAME'"

/* Reads user's role into role (cap bytes); fails unless the user exists and
 * is enabled. */
static enum pb_status user_enabled(struct pb_ws *ws, const char *user, char *role, size_t cap,
                                   struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc =
		pb__db_prepare(ws->db, "SELECT role, disabled FROM app_user WHERE name = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		rc = pb__err(err, PB_EPERM, "no user '%s' in this workspace (see 'probity user list')",
		             user);
	else if (r != SQLITE_ROW)
		rc = pb__db_err(ws->db, err, "cannot read users");
	else if (sqlite3_column_int(st, 1))
		rc = pb__err(err, PB_EPERM, "user '%s' is disabled", user);
	else
		pb__col_text(st, 0, role, cap);
	sqlite3_finalize(st);
	return rc;
}

bool pb__role_in(const char *role, const char *roles)
{
	size_t rl = strlen(role);
	for (const char *p = roles; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == rl && !memcmp(p, role, n))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}

enum pb_status pb__user_require_role(struct pb_ws *ws, const char *user, const char *roles,
                                     struct pb_error *err)
{
	if (!user || !*user)
		return pb__err_field(err, PB_EPERM, "actor", NO_ACTOR);
	char role[32];
	enum pb_status rc = user_enabled(ws, user, role, sizeof(role), err);
	if (rc)
		return rc;
	if (pb__role_in(role, roles))
		return PB_OK;
	return pb__err(err, PB_EPERM, "user '%s' is %s %s; this needs the role %s", user,
	               role[0] == 'a' ? "an" : "a", role, roles);
}

enum pb_status pb__acting_user(struct pb_ws *ws, const char *as, const char **user_out,
                               struct pb_error *err)
{
	const char *u = as && *as ? as : pb_ws_setting(ws, "user");
	*user_out = NULL;
	if (!u || !*u)
		return pb__err_field(err, PB_EINVAL, "actor", NO_ACTOR);
	char role[32];
	enum pb_status rc = user_enabled(ws, u, role, sizeof(role), err);
	if (!rc)
		*user_out = u;
	return rc;
}

enum pb_status pb_acting_user(struct pb_ws *ws, const char *as, char out[PB_USER_NAME_MAX + 1],
                              struct pb_error *err)
{
	const char *u;
	enum pb_status rc = pb__acting_user(ws, as, &u, err);
	if (!rc)
		pb__strlcpy(out, u, PB_USER_NAME_MAX + 1);
	return rc;
}

static enum pb_status count_users(struct pb_ws *ws, const char *where, int64_t *n,
                                  struct pb_error *err)
{
	char sql[160];
	pb__snprintf(sql, sizeof(sql), "SELECT count(*) FROM app_user %s", where);
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &st, err);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		rc = pb__db_err(ws->db, err, "cannot read users");
	sqlite3_finalize(st);
	return rc;
}

/* The log entry of a change to user `name` (role: its new role, or NULL),
 * inside the caller's transaction. */
static enum pb_status user_entry(struct pb_ws *ws, const char *actor, const char *action,
                                 const char *name, const char *role, const struct pb__newkey *k,
                                 uint64_t *index_out, struct pb_error *err)
{
	json_t *d = role ? json_pack("{s:s, s:s}", "name", name, "role", role)
	                 : json_pack("{s:s}", "name", name);
	if (d && k && (json_object_set_new(d, "key", json_string(k->line)) ||
	               json_object_set_new(d, "key_fp", json_string(k->fp)))) {
		json_decref(d);
		d = NULL;
	}
	return pb__user_log(ws, actor, action, name, d, index_out, err);
}

enum pb_status pb__user_log(struct pb_ws *ws, const char *actor, const char *action,
                            const char *name, json_t *d, uint64_t *index_out,
                            struct pb_error *err)
{
	char *dj = pb__json_text(d);
	char subject[100];
	pb__snprintf(subject, sizeof(subject), "user/%s", name);
	enum pb_status rc = dj ? pb__audit_append(ws, actor, action, 0, subject, dj, index_out, err)
	                       : pb__err(err, PB_ENOMEM, "out of memory");
	free(dj);
	return rc;
}

enum pb_status pb_user_add(struct pb_ws *ws, const char *actor, const char *name,
                           const char *role, uint64_t *index_out, struct pb_error *err)
{
	return pb_user_add_key(ws, actor, name, role, NULL, index_out, err);
}

/* The user row, its user.add entry (with the key, when one is given) and
 * the key's registry row, once the entry's index is known. */
static enum pb_status user_insert(struct pb_ws *ws, const char *actor, const char *name,
                                  const char *role, const struct pb__newkey *k,
                                  uint64_t *index_out, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc;
	if ((rc = pb__db_prepare(ws->db,
	                         "INSERT INTO app_user(name, role, created_at, created_by) "
	                         "VALUES (?1, ?2, ?3, ?4)",
	                         &st, err)))
		return rc;
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, actor, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r == SQLITE_CONSTRAINT || (r & 0xff) == SQLITE_CONSTRAINT)
		return pb__err(err, PB_EEXIST, "user '%s' already exists", name);
	if (r != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot add the user");
	uint64_t index = 0;
	if ((rc = user_entry(ws, actor, "user.add", name, role, k, &index, err)))
		return rc;
	if (k && (rc = pb__key_store(ws, name, k, false, index, err)))
		return rc;
	if (index_out)
		*index_out = index;
	return PB_OK;
}

enum pb_status pb_user_add_key(struct pb_ws *ws, const char *actor, const char *name,
                               const char *role, const char *key_line, uint64_t *index_out,
                               struct pb_error *err)
{
	if (!user_name_valid(name))
		return pb__err(err, PB_EINVAL,
		               "bad user name '%s': use 1-%d characters of A-Z a-z 0-9 . _ -",
		               name ? name : "", PB_USER_NAME_MAX);
	if (!role_valid(role))
		return pb__err_field(err, PB_EINVAL, "role",
		               "unknown role '%s': one of analyst, approver, auditor, admin",
		               role ? role : "");
	enum pb_status rc = pb__ws_require_writable(ws, "add a user", err);
	if (rc)
		return rc;
	if ((rc = pb__ws_begin(ws, err)))
		return rc;
	int64_t n = 0;
	if ((rc = count_users(ws, "", &n, err)))
		return pb__ws_finish(ws, rc, err);
	if (n == 0) {
		/* bootstrap: the first user is an admin and vouches for itself */
		if (strcmp(role, "admin") != 0)
			return pb__ws_finish(ws,
			              pb__err_field(err, PB_EPERM, "role",
			                            "the first user of a workspace must be an admin"),
			              err);
		actor = name;
	} else if ((rc = pb__user_may(ws, actor, "user.add", err))) {
		return pb__ws_finish(ws, rc, err);
	}
	if ((rc = user_name_free(ws, name, err)))
		return pb__ws_finish(ws, rc, err);
	if (n == 0 && !key_line && pb_ws_actors_signed(ws))
		return pb__ws_finish(ws,
		                     pb__err_field(err, PB_EPERM, "key",
		                                   "the first admin of a signed workspace needs a key: "
		                                   "its entry is signed by the key it registers"),
		                     err);
	struct pb__newkey k = { 0 };
	if (key_line && (rc = pb__key_prepare(ws, key_line, &k, err)))
		return pb__ws_finish(ws, rc, err);
	rc = user_insert(ws, actor, name, role, key_line ? &k : NULL, index_out, err);
	pb__newkey_release(&k);
	return pb__ws_finish(ws, rc, err);
}

static enum pb_status user_change(struct pb_ws *ws, const char *actor, const char *name,
                                  const char *role, uint64_t *index_out, struct pb_error *err)
{
	enum pb_status rc = pb__ws_begin_as(ws, actor, role ? "user.role" : "user.disable",
	                                    role ? "change a role" : "disable a user",
	                             err);
	if (rc)
		return rc;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db, "SELECT role, disabled FROM app_user WHERE name = ?1", &st,
	                         err)))
		return pb__ws_finish(ws, rc, err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool was_admin = false, disabled = false;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		was_admin = !strcmp((const char *)sqlite3_column_text(st, 0), "admin");
		disabled = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_finalize(st);
	if (r != SQLITE_ROW)
		return pb__ws_finish(ws, pb__err(err, PB_ENOENT, "no user '%s'", name ? name : ""), err);
	if (disabled)
		return pb__ws_finish(ws, pb__err(err, PB_ESTATE, "user '%s' is disabled", name), err);
	if (was_admin && (!role || strcmp(role, "admin") != 0)) {
		int64_t admins = 0;
		if ((rc = count_users(ws, "WHERE role = 'admin' AND disabled = 0", &admins, err)))
			return pb__ws_finish(ws, rc, err);
		if (admins <= 1)
			return pb__ws_finish(ws,
			              pb__err(err, PB_ESTATE,
			                      "'%s' is the last admin; add another admin first", name),
			              err);
	}
	if ((rc = pb__db_prepare(ws->db,
	                         role ? "UPDATE app_user SET role = ?2 WHERE name = ?1"
	                              : "UPDATE app_user SET disabled = 1 WHERE name = ?1",
	                         &st, err)))
		return pb__ws_finish(ws, rc, err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (role)
		sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return pb__ws_finish(ws, pb__db_err(ws->db, err, "cannot change the user"), err);
	return pb__ws_finish(ws,
	                     user_entry(ws, actor, role ? "user.role" : "user.disable", name, role,
	                                NULL, index_out, err),
	                     err);
}

enum pb_status pb_user_set_role(struct pb_ws *ws, const char *actor, const char *name,
                                const char *role, uint64_t *index_out, struct pb_error *err)
{
	if (!role_valid(role))
		return pb__err_field(err, PB_EINVAL, "role",
		               "unknown role '%s': one of analyst, approver, auditor, admin",
		               role ? role : "");
	return user_change(ws, actor, name, role, index_out, err);
}

enum pb_status pb_user_disable(struct pb_ws *ws, const char *actor, const char *name,
                               uint64_t *index_out, struct pb_error *err)
{
	return user_change(ws, actor, name, NULL, index_out, err);
}

enum pb_status pb_user_list(struct pb_ws *ws, bool (*fn)(void *ctx, const struct pb_user *u),
                            void *ctx, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT name, role, created_at, created_by, disabled FROM app_user ORDER BY name", &st,
		err);
	if (rc)
		return rc;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pb_user u = {
			(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
			sqlite3_column_int(st, 4) != 0,
		};
		if (!fn(ctx, &u))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read users");
	sqlite3_finalize(st);
	return rc;
}

/* ---- checkpoints -------------------------------------------------------------- */

/* Signing a checkpoint needs an actor with a role (auth) and the log (log).
 * The log may not include auth (it sits below it), so the public entry point
 * lives here and the signing itself stays in audit.c, inside this
 * transaction: pb__audit_checkpoint_sign. */
enum pb_status pb_audit_checkpoint(struct pb_ws *ws, const char *actor, char **note_out,
                                   struct pb_error *err)
{
	char *note = NULL;
	*note_out = NULL;
	enum pb_status rc = pb__ws_begin_as(ws, actor, "analyst,approver,auditor,admin",
	                                    "sign a checkpoint", err);
	if (rc)
		return rc;
	/* the checkpoint is handed out only once it is durably stored */
	if ((rc = pb__ws_finish(ws, pb__audit_checkpoint_sign(ws, actor, true, &note, err), err))) {
		free(note);
		return rc;
	}
	*note_out = note;
	return PB_OK;
}
