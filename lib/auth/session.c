/* session.c - web sign-in: enrolment tokens, Argon2id passwords, sessions,
 * failed sign-ins, and the log entries of each (docs/web.md).
 *
 * The browser holds two kinds of secret, an enrolment token and a session
 * id, each 256 random bits as hex; the workspace keeps only their SHA-256,
 * so a copy of probity.db signs nobody in. Every change is a write step with
 * its log entry in the same transaction, as everywhere else. A sign-in
 * failure is recorded even though the step "fails": the failure is the
 * record, so the transaction commits and the status is returned after.
 */
#include "auth/auth.h"
#include "log/audit.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/banned.h"

#define WRONG "wrong user name or password"

static void secret_new(char out[PB_SECRET_HEX])
{
	uint8_t b[32];
	pb_random(b, sizeof(b));
	pb_hex(b, sizeof(b), out);
	sodium_memzero(b, sizeof(b));
}

/* The stored form of a secret: SHA-256 of its text, hex. False when s is
 * not 64 hex digits (then nothing can match it). */
static bool secret_hash(const char *s, char out[PB_SECRET_HEX])
{
	size_t n = s ? strlen(s) : 0;
	uint8_t raw[32], h[32];
	if (n != 64 || !pb_unhex(s, n, raw, sizeof(raw)))
		return false;
	crypto_hash_sha256(h, (const unsigned char *)s, n);
	pb_hex(h, sizeof(h), out);
	return true;
}

/* A log entry of this module; details: a JSON object built by the caller
 * (its reference is taken), or NULL. */
static enum pb_status entry(struct pb_ws *ws, const char *actor, const char *action,
                            const char *subject, json_t *details, uint64_t *index_out,
                            struct pb_error *err)
{
	char *dj = NULL;
	if (details && !(dj = pb__json_text(details)))
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status rc = pb__audit_append(ws, actor, action, 0, subject, dj, index_out, err);
	free(dj);
	return rc;
}

/* Runs one statement with text parameters (NULL ends the list) and an
 * optional integer ?9; PB_OK when it is done. */
static enum pb_status exec_text(struct pb_ws *ws, const char *sql, int64_t i9,
                                const char *const *texts, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &st, err);
	if (rc)
		return rc;
	for (int i = 0; texts && texts[i]; i++)
		sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, i9);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? PB_OK : pb__db_err(ws->db, err, "cannot write sign-in data");
}

/* ---- enrolment ------------------------------------------------------------------ */

enum pb_status pb_user_invite(struct pb_ws *ws, const char *actor, const char *name,
                              int64_t ttl_s, char token_out[PB_SECRET_HEX], uint64_t *index_out,
                              struct pb_error *err)
{
	token_out[0] = '\0';
	if (ttl_s <= 0 || ttl_s > 90 * 86400)
		return pb__err_field(err, PB_EINVAL, "ttl_s", "an invitation lasts 1 second to 90 days");
	enum pb_status rc = pb__ws_begin_as(ws, actor, "user.invite", "invite a user", err);
	if (rc)
		return rc;
	/* the invited user must exist and be enabled (its role is set already) */
	if ((rc = pb__user_require_role(ws, name, "analyst,approver,auditor,admin", err)))
		return pb__ws_finish(ws, rc, err);
	int64_t now = pb_now();
	char token[PB_SECRET_HEX], hash[PB_SECRET_HEX];
	secret_new(token);
	secret_hash(token, hash);
	rc = exec_text(ws,
	               "UPDATE web_invite SET expires_at = min(expires_at, ?9) "
	               "WHERE user = ?1 AND used_at IS NULL",
	               now, (const char *const[]){ name, NULL }, err);
	if (!rc)
		rc = exec_text(ws,
		               "INSERT INTO web_invite(token_sha256, user, created_at, created_by, "
		               "expires_at) VALUES (?1, ?2, ?9, ?3, ?9)",
		               now, (const char *const[]){ hash, name, actor, NULL }, err);
	if (!rc) {
		/* exec_text binds text only: the lifetime through an update */
		sqlite3_stmt *st;
		if (!(rc = pb__db_prepare(ws->db,
		                          "UPDATE web_invite SET expires_at = created_at + ?2 "
		                          "WHERE token_sha256 = ?1",
		                          &st, err))) {
			sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, ttl_s);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = pb__db_err(ws->db, err, "cannot write the invitation");
			sqlite3_finalize(st);
		}
	}
	char subject[100];
	pb__snprintf(subject, sizeof(subject), "user/%s", name);
	if (!rc)
		rc = entry(ws, actor, "user.invite", subject,
		           json_pack("{s:s, s:I, s:s}", "name", name, "ttl_s", (json_int_t)ttl_s,
		                     "token_sha256", hash),
		           index_out, err);
	if (!(rc = pb__ws_finish(ws, rc, err)))
		memcpy(token_out, token, PB_SECRET_HEX);
	sodium_memzero(token, sizeof(token));
	return rc;
}

enum pb_status pb_user_invites(struct pb_ws *ws,
                               bool (*fn)(void *ctx, const struct pb_invite *inv), void *ctx,
                               struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT user, created_by, created_at, expires_at "
	                                   "FROM web_invite WHERE used_at IS NULL AND expires_at > ?1 "
	                                   "ORDER BY user, created_at",
	                                   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, pb_now());
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pb_invite inv = { (const char *)sqlite3_column_text(st, 0),
			                 (const char *)sqlite3_column_text(st, 1),
			                 sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3) };
		if (!fn(ctx, &inv))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read invitations");
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_user_invite_revoke(struct pb_ws *ws, const char *actor, const char *name,
                                     uint64_t *index_out, struct pb_error *err)
{
	enum pb_status rc = pb__text_check("name", name, true, err);
	if (rc)
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "user.invite-revoke", "revoke an invitation", err)))
		return rc;
	int64_t now = pb_now();
	rc = exec_text(ws,
	               "UPDATE web_invite SET expires_at = ?9 "
	               "WHERE user = ?1 AND used_at IS NULL AND expires_at > ?9",
	               now, (const char *const[]){ name, NULL }, err);
	if (!rc && sqlite3_changes(ws->db) == 0)
		rc = pb__err_field(err, PB_ENOENT, "name", "user '%s' has no pending invitation",
		                   name);
	char subject[100];
	pb__snprintf(subject, sizeof(subject), "user/%s", name);
	if (!rc)
		rc = entry(ws, actor, "user.invite-revoke", subject, json_pack("{s:s}", "name", name),
		           index_out, err);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_user_enrol(struct pb_ws *ws, const char *token, const char *password,
                             char name_out[PB_USER_NAME_MAX + 1], uint64_t *index_out,
                             struct pb_error *err)
{
	name_out[0] = '\0';
	enum pb_status rc = pb__text_check("password", password, true, err);
	if (rc)
		return rc;
	size_t plen = strlen(password);
	if (plen < PB_PASSWORD_MIN || plen > PB_PASSWORD_MAX)
		return pb__err_field(err, PB_EINVAL, "password", "a password has %d to %d bytes",
		                     PB_PASSWORD_MIN, PB_PASSWORD_MAX);
	char hash[PB_SECRET_HEX];
	if (!secret_hash(token, hash))
		return pb__err_field(err, PB_EPERM, "token", "this enrolment link is not valid");
	/* hashing takes a while and much memory: do it outside the transaction */
	char stored[crypto_pwhash_STRBYTES];
	if (crypto_pwhash_str_alg(stored, password, plen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                          crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13))
		return pb__err(err, PB_ENOMEM, "cannot hash the password: out of memory");
	if ((rc = pb__ws_require_writable(ws, "set a password", err)) || (rc = pb__ws_begin(ws, err)))
		return rc;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "SELECT i.user FROM web_invite i JOIN app_user u ON u.name = i.user "
	                         "WHERE i.token_sha256 = ?1 AND i.used_at IS NULL "
	                         "AND i.expires_at > ?2 AND u.disabled = 0",
	                         &st, err)))
		return pb__ws_finish(ws, rc, err);
	int64_t now = pb_now();
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	char user[PB_USER_NAME_MAX + 1] = "";
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		pb__col_text(st, 0, user, sizeof(user));
	sqlite3_finalize(st);
	if (r == SQLITE_DONE)
		rc = pb__err_field(err, PB_EPERM, "token",
		                   "this enrolment link is not valid: used, expired or replaced");
	else if (r != SQLITE_ROW)
		rc = pb__db_err(ws->db, err, "cannot read the invitation");
	char at[24];
	pb_time_format(now, at);
	if (!rc)
		rc = exec_text(ws, "UPDATE web_invite SET used_at = ?9 WHERE token_sha256 = ?1", now,
		               (const char *const[]){ hash, NULL }, err);
	if (!rc)
		rc = exec_text(ws,
		               "INSERT INTO web_password(user, hash, set_at) VALUES (?1, ?2, ?3) "
		               "ON CONFLICT(user) DO UPDATE SET hash = ?2, set_at = ?3",
		               0, (const char *const[]){ user, stored, at, NULL }, err);
	/* a new password ends the sessions of the old one */
	if (!rc)
		rc = exec_text(ws,
		               "UPDATE web_session SET ended_at = ?9 WHERE user = ?1 AND ended_at IS NULL",
		               now, (const char *const[]){ user, NULL }, err);
	char subject[100];
	pb__snprintf(subject, sizeof(subject), "user/%s", user);
	/* the entry records the stored hash's SHA-256 (the Argon2id string holds
	 * its own salt: this reveals nothing), so that log check can tell a
	 * password set beside the log */
	uint8_t ph[32];
	char phex[65];
	pb__sha256(stored, strlen(stored), ph);
	pb_hex(ph, 32, phex);
	if (!rc)
		rc = entry(ws, user, "user.enrol", subject,
		           json_pack("{s:s, s:s}", "password_sha256", phex, "token_sha256", hash),
		           index_out, err);
	sodium_memzero(stored, sizeof(stored));
	if (!(rc = pb__ws_finish(ws, rc, err)))
		pb__strlcpy(name_out, user, PB_USER_NAME_MAX + 1);
	return rc;
}

/* ---- sessions ------------------------------------------------------------------ */

/* Failures since now - window for name and for addr: the larger count. */
static enum pb_status fails_recent(struct pb_ws *ws, const char *name, const char *addr,
                                   int64_t now, unsigned *n, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT (SELECT count(*) FROM web_signin_fail WHERE at > ?3 AND name = ?1),"
		"       (SELECT count(*) FROM web_signin_fail WHERE at > ?3 AND addr = ?2)",
		&st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now - PB_SIGNIN_FAILS_WINDOW);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int64_t a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
		*n = (unsigned)(a > b ? a : b);
	} else {
		rc = pb__db_err(ws->db, err, "cannot count failed sign-ins");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The log's actor for a sign-in attempt: the name when it is a user's name,
 * else "-" (the attempt is still recorded, with the name as sent, escaped). */
static const char *attempt_actor(struct pb_ws *ws, const char *name)
{
	sqlite3_stmt *st;
	if (pb__db_prepare(ws->db, "SELECT 1 FROM app_user WHERE name = ?1", &st, NULL))
		return "-";
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool known = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return known ? name : "-";
}

/* name or addr as JSON text, with bytes that are not UTF-8 replaced and at
 * most 200 bytes kept. */
static json_t *safe_text(const char *s)
{
	char out[256 * 6];
	size_t outlen = 0, n = strlen(s);
	pb_json_escape(out, sizeof(out) - 1, &outlen, s, n > 200 ? 200 : n);
	out[outlen] = '\0';
	/* out is escaped JSON string content: load it back as a string */
	char doc[sizeof(out) + 3];
	pb__snprintf(doc, sizeof(doc), "\"%s\"", out);
	json_t *v = json_loads(doc, JSON_DECODE_ANY, NULL);
	return v ? v : json_string("");
}

/* A failed sign-in, inside the step the caller began (which this ends):
 * counted and logged ("web.signin-fail": name, addr, failures, and the
 * members of extra, consumed, may be NULL); then PB_EPERM with message
 * about field. */
static enum pb_status signin_failed(struct pb_ws *ws, const char *name, const char *addr,
                                    unsigned fails, int64_t now, json_t *extra, const char *field,
                                    const char *message, unsigned *fails_out,
                                    struct pb_error *err)
{
	enum pb_status rc =
		exec_text(ws, "INSERT INTO web_signin_fail(at, name, addr) VALUES (?9, ?1, ?2)", now,
		          (const char *const[]){ name, addr, NULL }, err);
	json_t *d = extra ? extra : json_object();
	json_object_set_new(d, "name", safe_text(name));
	json_object_set_new(d, "addr", safe_text(addr));
	json_object_set_new(d, "failures", json_integer((json_int_t)fails + 1));
	if (!rc)
		rc = entry(ws, attempt_actor(ws, name), "web.signin-fail", NULL, d, NULL, err);
	else
		json_decref(d);
	if ((rc = pb__ws_finish(ws, rc, err)))
		return rc;
	if (fails_out)
		*fails_out = fails + 1;
	return pb__err_field(err, PB_EPERM, field, "%s", message);
}

/* A new session of name, inside the step the caller began (which this
 * ends); log entry "web.signin" with details d (consumed). */
static enum pb_status signin_open(struct pb_ws *ws, const char *name, const char *role,
                                  int64_t now, json_t *d, struct pb_session *out,
                                  struct pb_error *err)
{
	char id_hash[PB_SECRET_HEX];
	secret_new(out->id);
	secret_new(out->csrf);
	secret_hash(out->id, id_hash);
	enum pb_status rc =
		exec_text(ws,
		          "INSERT INTO web_session(id_sha256, user, csrf, created_at, last_seen) "
		          "VALUES (?1, ?2, ?3, ?9, ?9)",
		          now, (const char *const[]){ id_hash, name, out->csrf, NULL }, err);
	if (!rc)
		rc = entry(ws, name, "web.signin", NULL, d, NULL, err);
	else
		json_decref(d);
	if ((rc = pb__ws_finish(ws, rc, err))) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	pb__strlcpy(out->user, name, sizeof(out->user));
	pb__strlcpy(out->role, role, sizeof(out->role));
	out->created_at = out->last_seen = now;
	return PB_OK;
}

enum pb_status pb_session_signin(struct pb_ws *ws, const char *name, const char *password,
                                 const char *addr, struct pb_session *out, unsigned *fails_out,
                                 struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (fails_out)
		*fails_out = 0;
	name = name ? name : "";
	password = password ? password : "";
	addr = addr ? addr : "";
	int64_t now = pb_now();
	unsigned fails = 0;
	enum pb_status rc = fails_recent(ws, name, addr, now, &fails, err);
	if (rc)
		return rc;
	if (fails_out)
		*fails_out = fails;
	if (fails >= PB_SIGNIN_FAILS_MAX)
		return pb__err(err, PB_EPERM,
		               "too many failed sign-ins for this name or address: try again later");
	/* the stored hash (none for an unknown, disabled or unenrolled user) */
	char stored[crypto_pwhash_STRBYTES] = "", role[16] = "";
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "SELECT p.hash, u.role FROM web_password p JOIN app_user u "
	                         "ON u.name = p.user WHERE p.user = ?1 AND u.disabled = 0",
	                         &st, err)))
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		pb__col_text(st, 0, stored, sizeof(stored));
		pb__col_text(st, 1, role, sizeof(role));
	}
	sqlite3_finalize(st);
	size_t plen = strlen(password);
	bool good = stored[0] && plen <= PB_PASSWORD_MAX &&
	            crypto_pwhash_str_verify(stored, password, plen) == 0;
	sodium_memzero(stored, sizeof(stored));

	if ((rc = pb__ws_require_writable(ws, "sign in", err)) || (rc = pb__ws_begin(ws, err)))
		return rc;
	if (!good)
		return signin_failed(ws, name, addr, fails, now, NULL, "password", WRONG, fails_out,
		                     err);
	return signin_open(ws, name, role, now, json_pack("{s:o}", "addr", safe_text(addr)), out,
	                   err);
}

enum pb_status pb_session_signin_passkey(struct pb_ws *ws, const struct pb_passkey_assertion *a,
                                         const uint8_t *challenge, size_t challenge_len,
                                         const char *addr, struct pb_session *out,
                                         unsigned *fails_out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (fails_out)
		*fails_out = 0;
	if (!a || !a->credential_id || !a->authenticator_data || !a->client_data_json ||
	    !a->signature)
		return pb__err_field(err, PB_EINVAL, "credential",
		                     "a passkey sign-in needs the whole assertion");
	if (!challenge || challenge_len == 0)
		return pb__err_field(err, PB_EINVAL, "challenge",
		                     "a passkey sign-in needs the challenge it answers");
	addr = addr ? addr : "";
	int64_t now = pb_now();
	enum pb_status rc;
	if ((rc = pb__ws_require_writable(ws, "sign in", err)) || (rc = pb__ws_begin(ws, err)))
		return rc;
	/* the check writes the passkey's counter: inside the step */
	const struct pb__webauthn_parts parts = { a->credential_id, a->authenticator_data,
		                                  a->client_data_json, a->signature };
	char user[PB_USER_NAME_MAX + 1], fp[PB_PASSKEY_FP_MAX], role[16] = "";
	uint32_t count = 0;
	struct pb_error why = { 0 };
	enum pb_status bad = pb__passkey_signin_check(ws, &parts, challenge, challenge_len, user, fp,
	                                              &count, &why);
	if (!bad) {
		sqlite3_stmt *st;
		if ((rc = pb__db_prepare(ws->db, "SELECT role FROM app_user WHERE name = ?1 "
		                                 "AND disabled = 0",
		                         &st, err)))
			return pb__ws_finish(ws, rc, err);
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			pb__col_text(st, 0, role, sizeof(role));
		else
			bad = pb__err(&why, PB_EPERM, "user '%s' is disabled", user);
		sqlite3_finalize(st);
	}
	/* failures count against the passkey's user, else its fingerprint */
	const char *name = user[0] ? user : fp[0] ? fp : "-";
	unsigned fails = 0;
	if ((rc = fails_recent(ws, name, addr, now, &fails, err)))
		return pb__ws_finish(ws, rc, err);
	if (fails_out)
		*fails_out = fails;
	if (fails >= PB_SIGNIN_FAILS_MAX)
		return pb__ws_finish(ws,
		                     pb__err(err, PB_EPERM, "too many failed sign-ins for this name or "
		                                            "address: try again later"),
		                     err);
	if (bad) {
		/* rolled back with the counter the check may have written */
		pb__ws_finish(ws, PB_EPERM, NULL);
		if ((rc = pb__ws_begin(ws, err)))
			return rc;
		json_t *d = json_pack("{s:s,s:s,s:o}", "method", "passkey", "key_fp", fp, "why",
		                      safe_text(why.message));
		return signin_failed(ws, name, addr, fails, now, d, "credential",
		                     "this passkey was not accepted", fails_out, err);
	}
	return signin_open(ws, user, role, now,
	                   json_pack("{s:o,s:s,s:s,s:I}", "addr", safe_text(addr), "method",
	                             "passkey", "key_fp", fp, "sign_count", (json_int_t)count),
	                   out, err);
}

enum pb_status pb_session_get(struct pb_ws *ws, const char *id, int64_t idle_s, int64_t absolute_s,
                              struct pb_session *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	char hash[PB_SECRET_HEX];
	if (!secret_hash(id, hash))
		return pb__err(err, PB_ENOENT, "no such session");
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT s.user, s.csrf, s.created_at, s.last_seen, u.role FROM web_session s "
		"JOIN app_user u ON u.name = s.user "
		"WHERE s.id_sha256 = ?1 AND s.ended_at IS NULL AND u.disabled = 0",
		&st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		pb__col_text(st, 0, out->user, sizeof(out->user));
		pb__col_text(st, 1, out->csrf, sizeof(out->csrf));
		out->created_at = sqlite3_column_int64(st, 2);
		out->last_seen = sqlite3_column_int64(st, 3);
		pb__col_text(st, 4, out->role, sizeof(out->role));
	}
	sqlite3_finalize(st);
	if (r != SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		return r == SQLITE_DONE ? pb__err(err, PB_ENOENT, "no such session")
		                        : pb__db_err(ws->db, err, "cannot read sessions");
	}
	int64_t now = pb_now();
	if (now - out->last_seen > idle_s || now - out->created_at > absolute_s) {
		memset(out, 0, sizeof(*out));
		return pb__err(err, PB_ENOENT, "the session has expired");
	}
	/* note the use at most every 30 s: a write per page view is contention */
	if (now - out->last_seen >= 30 && !pb__db_prepare(ws->db,
	                                                  "UPDATE web_session SET last_seen = ?2 "
	                                                  "WHERE id_sha256 = ?1",
	                                                  &st, NULL)) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_step(st); /* best effort: a busy database only delays the note */
		sqlite3_finalize(st);
		out->last_seen = now;
	}
	return PB_OK;
}

enum pb_status pb_session_signout(struct pb_ws *ws, const char *id, bool everywhere,
                                  struct pb_error *err)
{
	char hash[PB_SECRET_HEX];
	if (!secret_hash(id, hash))
		return pb__err(err, PB_ENOENT, "no such session");
	enum pb_status rc = pb__ws_require_writable(ws, "sign out", err);
	if (rc || (rc = pb__ws_begin(ws, err)))
		return rc;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "SELECT user FROM web_session WHERE id_sha256 = ?1 AND ended_at IS NULL",
	                         &st, err)))
		return pb__ws_finish(ws, rc, err);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	char user[PB_USER_NAME_MAX + 1] = "";
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		pb__col_text(st, 0, user, sizeof(user));
	sqlite3_finalize(st);
	if (r != SQLITE_ROW)
		return pb__ws_finish(ws,
		                     r == SQLITE_DONE ? pb__err(err, PB_ENOENT, "no such session")
		                                      : pb__db_err(ws->db, err, "cannot read sessions"),
		                     err);
	int64_t now = pb_now();
	rc = everywhere ? exec_text(ws,
	                            "UPDATE web_session SET ended_at = ?9 "
	                            "WHERE user = ?1 AND ended_at IS NULL",
	                            now, (const char *const[]){ user, NULL }, err)
	                : exec_text(ws, "UPDATE web_session SET ended_at = ?9 WHERE id_sha256 = ?1",
	                            now, (const char *const[]){ hash, NULL }, err);
	if (!rc)
		rc = entry(ws, user, "web.signout", NULL,
		           json_pack("{s:b}", "everywhere", everywhere), NULL, err);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_session_forbidden(struct pb_ws *ws, const char *user, const char *what,
                                    struct pb_error *err)
{
	enum pb_status rc = pb__ws_require_writable(ws, "record a refusal", err);
	if (rc || (rc = pb__ws_begin(ws, err)))
		return rc;
	rc = entry(ws, user, "web.forbidden", NULL,
	           json_pack("{s:o}", "what", safe_text(what ? what : "")), NULL, err);
	return pb__ws_finish(ws, rc, err);
}
