/* keys.c - the key registry: which OpenSSH public key is whose, from which
 * log entry on, and until which.
 *
 * The log holds the registry (user.add with a key, user.key-add,
 * user.key-revoke, each signed by an admin); user_key mirrors it for the
 * write-time check (log/sign.c) and log check rebuilds it from the log. A
 * key is one user's, ever: its fingerprint is the table's key, and a
 * revoked row stays, so it can be neither re-registered nor handed to
 * someone else (one person under two names with one key). The passkey
 * registry (passkeys.c) shares the lookup of a fingerprint's holder and
 * the revocation (pb__registry_owner, pb__registry_revoke).
 */
#include "auth/auth.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

void pb__newkey_release(struct pb__newkey *k)
{
	free(k->line);
	free(k->comment);
	memset(k, 0, sizeof(*k));
}

/* A registry: a table whose rows are keyed by fp (user_key, user_passkey),
 * what its entries are called in messages, and the argument that names one. */
struct registry {
	const char *table, *what, *field;
};
static const struct registry registries[] = {
	[PB__REG_KEY] = { "user_key", "key", "key" },
	[PB__REG_PASSKEY] = { "user_passkey", "passkey", "fp" },
};

enum pb_status pb__registry_owner(struct pb_ws *ws, enum pb__registry reg, const char *fp,
                                  char owner[PB_USER_NAME_MAX + 1], bool *revoked,
                                  struct pb_error *err)
{
	char sql[128];
	pb__snprintf(sql, sizeof(sql),
	             "SELECT user, revoked_idx IS NOT NULL FROM %s WHERE fp = ?1",
	             registries[reg].table);
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &st, err);
	if (rc)
		return rc;
	owner[0] = '\0';
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		pb__col_text(st, 0, owner, PB_USER_NAME_MAX + 1);
		if (revoked)
			*revoked = sqlite3_column_int(st, 1) != 0;
	} else if (r != SQLITE_DONE) {
		rc = pb__db_err(ws->db, err, "cannot read the registry");
	}
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb__registry_revoke(struct pb_ws *ws, enum pb__registry reg, const char *actor,
                                   const char *action, const char *user, const char *fp,
                                   const char *reason, uint64_t *index_out, struct pb_error *err)
{
	const struct registry *g = &registries[reg];
	char owner[PB_USER_NAME_MAX + 1];
	bool revoked = false;
	enum pb_status rc = pb__registry_owner(ws, reg, fp, owner, &revoked, err);
	if (rc)
		return rc;
	if (strcmp(owner, user) != 0)
		return pb__err_field(err, PB_ENOENT, g->field, "user '%s' has no %s %s", user, g->what,
		                     fp);
	if (revoked)
		return pb__err(err, PB_ESTATE, "%s %s of '%s' is already revoked", g->what, fp, user);
	uint64_t index = 0;
	rc = pb__user_log(ws, actor, action, user,
	                  json_pack("{s:s,s:s,s:s}", "user", user, "key_fp", fp, "reason", reason),
	                  &index, err);
	char sql[128];
	pb__snprintf(sql, sizeof(sql),
	             "UPDATE %s SET revoked_idx = ?2, revoke_reason = ?3 WHERE fp = ?1", g->table);
	sqlite3_stmt *st = NULL;
	if (!rc && !(rc = pb__db_prepare(ws->db, sql, &st, err))) {
		sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
		sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = pb__db_err(ws->db, err, "cannot record the revocation");
		sqlite3_finalize(st);
	}
	if (!rc && index_out)
		*index_out = index;
	return rc;
}

enum pb_status pb__key_prepare(struct pb_ws *ws, const char *key_line, struct pb__newkey *k,
                               struct pb_error *err)
{
	memset(k, 0, sizeof(*k));
	struct pb_sshkey key = { 0 };
	size_t n = strlen(key_line);
	if (n > 16384)
		return pb__err_field(err, PB_ELIMIT, "key", "'key' is longer than 16384 bytes");
	enum pb_status rc = pb__sshkey_parse(key_line, n, &key, &k->comment, err);
	if (rc)
		return rc;
	pb__sshkey_fingerprint(&key, k->fp);
	k->line = pb__sshkey_line(&key);
	pb__sshkey_release(&key);
	if (!k->line) {
		pb__newkey_release(k);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	if (k->comment && (rc = pb__text_check("comment", k->comment, false, err))) {
		pb__newkey_release(k);
		return rc;
	}
	char owner[PB_USER_NAME_MAX + 1];
	if ((rc = pb__registry_owner(ws, PB__REG_KEY, k->fp, owner, NULL, err)))
		goto fail;
	if (owner[0]) {
		rc = pb__err_field(err, PB_EEXIST, "key", "key %s is already registered to '%s'", k->fp,
		                   owner);
		goto fail;
	}
	return PB_OK;
fail:
	pb__newkey_release(k);
	return rc;
}

enum pb_status pb__key_store(struct pb_ws *ws, const char *user, const struct pb__newkey *k,
                             bool with_comment, uint64_t index, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "INSERT INTO user_key(user, fp, key, comment, added_idx) "
	                                   "VALUES (?1, ?2, ?3, ?4, ?5)",
	                                   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->line, -1, SQLITE_STATIC);
	if (with_comment && k->comment && *k->comment)
		sqlite3_bind_text(st, 4, k->comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)index);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot register the key");
	sqlite3_finalize(st);
	return rc;
}

/* user must exist and be enabled to be given a key. */
static enum pb_status user_known(struct pb_ws *ws, const char *user, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc =
		pb__db_prepare(ws->db, "SELECT disabled FROM app_user WHERE name = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, user ? user : "", -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		rc = pb__err_field(err, PB_ENOENT, "user", "no user '%s'", user ? user : "");
	else if (r != SQLITE_ROW)
		rc = pb__db_err(ws->db, err, "cannot read users");
	else if (sqlite3_column_int(st, 0))
		rc = pb__err(err, PB_ESTATE, "user '%s' is disabled", user);
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_user_key_add(struct pb_ws *ws, const char *actor, const char *user,
                               const char *key_line, uint64_t *index_out, struct pb_error *err)
{
	if (!key_line || !*key_line)
		return pb__err_field(err, PB_EINVAL, "key", "'key' is required");
	enum pb_status rc = pb__ws_begin_as(ws, actor, "user.key-add", "register a key", err);
	if (rc)
		return rc;
	struct pb__newkey k = { 0 };
	if ((rc = user_known(ws, user, err)) || (rc = pb__key_prepare(ws, key_line, &k, err)))
		return pb__ws_finish(ws, rc, err);
	json_t *d = json_pack("{s:s,s:s,s:s}", "user", user, "key", k.line, "key_fp", k.fp);
	if (d && k.comment && *k.comment)
		json_object_set_new(d, "comment", json_string(k.comment));
	uint64_t index = 0;
	rc = pb__user_log(ws, actor, "user.key-add", user, d, &index, err);
	if (!rc)
		rc = pb__key_store(ws, user, &k, true, index, err);
	if (!rc && index_out)
		*index_out = index;
	pb__newkey_release(&k);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_user_key_revoke(struct pb_ws *ws, const char *actor, const char *user,
                                  const char *key, const char *reason, uint64_t *index_out,
                                  struct pb_error *err)
{
	enum pb_status rc;
	if ((rc = pb__text_check("reason", reason, true, err)))
		return rc;
	if (!key || !*key)
		return pb__err_field(err, PB_EINVAL, "key", "'key' is required");
	char fp[PB_SSHKEY_FP_MAX];
	if (!strncmp(key, "SHA256:", 7)) {
		pb__strlcpy(fp, key, sizeof(fp));
	} else {
		struct pb_sshkey k = { 0 };
		if ((rc = pb__sshkey_parse(key, strlen(key), &k, NULL, err)))
			return rc;
		pb__sshkey_fingerprint(&k, fp);
		pb__sshkey_release(&k);
	}
	if ((rc = pb__ws_begin_as(ws, actor, "user.key-revoke", "revoke a key", err)))
		return rc;
	if (!(rc = user_known(ws, user, err)))
		rc = pb__registry_revoke(ws, PB__REG_KEY, actor, "user.key-revoke", user, fp, reason,
		                         index_out, err);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_user_key_list(struct pb_ws *ws, const char *user,
                                bool (*fn)(void *ctx, const struct pb_user_key *k), void *ctx,
                                struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT user, fp, key, comment, added_idx, revoked_idx, "
	                                   "revoke_reason FROM user_key "
	                                   "WHERE ?1 IS NULL OR user = ?1 ORDER BY user, added_idx",
	                                   &st, err);
	if (rc)
		return rc;
	if (user)
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pb_user_key k = {
			.user = (const char *)sqlite3_column_text(st, 0),
			.fp = (const char *)sqlite3_column_text(st, 1),
			.key = (const char *)sqlite3_column_text(st, 2),
			.comment = (const char *)sqlite3_column_text(st, 3),
			.added_idx = (uint64_t)sqlite3_column_int64(st, 4),
			.revoked = sqlite3_column_type(st, 5) != SQLITE_NULL,
			.revoked_idx = (uint64_t)sqlite3_column_int64(st, 5),
			.revoke_reason = (const char *)sqlite3_column_text(st, 6),
		};
		if (!fn(ctx, &k))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read the key registry");
	sqlite3_finalize(st);
	return rc;
}
