/* passkeys.c - the passkey registry: which WebAuthn credential is whose,
 * for which origin, from which log entry on and until which.
 *
 * Like keys.c for OpenSSH keys: the log holds the registry (web.origin,
 * user.passkey-add, user.passkey-revoke) and user_passkey mirrors it for
 * the write-time check (log/sign_webauthn.c). A credential is one user's,
 * ever. A user registers its own passkeys; in a signed workspace the
 * registration is signed by the passkey it registers (proof of possession)
 * and authorised by an admin's invitation, whose token it names and uses
 * up (docs/identity.md, "Passkeys").
 */
#include "auth/auth.h"
#include "ident/webauthn.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/banned.h"

#define ATTESTATION_MAX 65536
#define CLIENT_DATA_MAX 8192

void pb_passkey_challenge(const char *statement, size_t len, uint8_t out[32])
{
	pb__webauthn_challenge(statement, len, out);
}

/* ---- the origin ------------------------------------------------------------------ */

/* The host of origin into host: "https://HOST[:PORT]", or plain http for
 * localhost and 127.0.0.1 only (WebAuthn needs a secure context). */
static enum pb_status origin_host(const char *origin, char host[PB_PASSKEY_ORIGIN_MAX],
                                  struct pb_error *err)
{
	const char *p = NULL;
	bool http = false;
	if (!strncmp(origin, "https://", 8))
		p = origin + 8;
	else if (!strncmp(origin, "http://", 7))
		p = origin + 7, http = true;
	size_t n = p ? strcspn(p, ":") : 0;
	bool ok = p && n > 0 && n < PB_PASSKEY_ORIGIN_MAX;
	for (size_t i = 0; ok && i < n; i++) {
		char c = p[i];
		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
	}
	if (ok && p[n] == ':') {
		const char *q = p + n + 1;
		size_t d = strspn(q, "0123456789");
		ok = d >= 1 && d <= 5 && q[d] == '\0' && strtol(q, NULL, 10) <= 65535;
	}
	if (!ok)
		return pb__err_field(err, PB_EINVAL, "origin",
		                     "origin '%s' is not https://HOST[:PORT] (lower case, no path)",
		                     origin);
	memcpy(host, p, n);
	host[n] = '\0';
	if (http && strcmp(host, "localhost") != 0 && strcmp(host, "127.0.0.1") != 0)
		return pb__err_field(err, PB_EINVAL, "origin",
		                     "origin '%s' is plain http: passkeys need https (http only for "
		                     "localhost)",
		                     origin);
	return PB_OK;
}

static bool is_ip(const char *host)
{
	return strspn(host, "0123456789.") == strlen(host);
}

enum pb_status pb_passkey_origin_set(struct pb_ws *ws, const char *actor, const char *origin,
                                     const char *rp_id, uint64_t *index_out,
                                     struct pb_error *err)
{
	if (!origin || !*origin)
		return pb__err_field(err, PB_EINVAL, "origin", "'origin' is required");
	if (strlen(origin) >= PB_PASSKEY_ORIGIN_MAX)
		return pb__err_field(err, PB_ELIMIT, "origin", "'origin' is longer than %d bytes",
		                     PB_PASSKEY_ORIGIN_MAX - 1);
	char host[PB_PASSKEY_ORIGIN_MAX];
	enum pb_status rc = origin_host(origin, host, err);
	if (rc)
		return rc;
	if (!rp_id || !*rp_id)
		rp_id = host;
	size_t h = strlen(host), r = strlen(rp_id);
	/* the host itself, or a parent domain of it (not a bare top-level one) */
	bool suffix = r < h && host[h - r - 1] == '.' && !strcmp(host + h - r, rp_id) &&
	              strchr(rp_id, '.') && !is_ip(host);
	if (strcmp(rp_id, host) != 0 && !suffix)
		return pb__err_field(err, PB_EINVAL, "rp_id",
		                     "RP ID '%s' is neither the origin's host '%s' nor a parent domain "
		                     "of it",
		                     rp_id, host);
	if ((rc = pb__ws_begin_as(ws, actor, "web.origin", "declare the web origin", err)))
		return rc;
	char *dj = pb__json_text(json_pack("{s:s,s:s}", "origin", origin, "rp_id", rp_id));
	rc = dj ? pb__audit_append(ws, actor, "web.origin", 0, NULL, dj, index_out, err)
	        : pb__err(err, PB_ENOMEM, "out of memory");
	free(dj);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_passkey_origin(struct pb_ws *ws, char origin[PB_PASSKEY_ORIGIN_MAX],
                                 char rp_id[PB_PASSKEY_ORIGIN_MAX], struct pb_error *err)
{
	uint64_t size = 0;
	enum pb_status rc = pb__audit_size(ws, &size, err);
	if (!rc && (rc = pb__web_origin_at(ws, size, origin, rp_id, NULL, err)) == PB_ESTATE) {
		rc = PB_ENOENT; /* none declared: what the API says */
		if (err)
			err->code = rc;
	}
	return rc;
}

/* ---- registration ---------------------------------------------------------------- */

/* The invitation of user whose token is token, as the log has it: its
 * user.invite entry (by an admin: only admins invite), not followed by
 * another invitation or a revocation of that user, not expired (its
 * ttl_s), and not used by a passkey yet. *invite gets its index. */
static enum pb_status invite_check(struct pb_ws *ws, const char *user, const char *token,
                                   uint64_t *invite, struct pb_error *err)
{
	size_t n = token ? strlen(token) : 0;
	uint8_t raw[32], h[32];
	if (n != 64 || !pb_unhex(token, n, raw, sizeof(raw)))
		return pb__err_field(err, PB_EPERM, "invite_token",
		                     "this invitation token is not valid for '%s'", user);
	crypto_hash_sha256(h, (const unsigned char *)token, n);
	char hash[65], subject[100];
	pb_hex(h, sizeof(h), hash);
	pb__snprintf(subject, sizeof(subject), "user/%s", user);
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT e.idx, e.at, json_extract(CAST(e.data AS TEXT), '$.details.ttl_s'),"
		" (SELECT min(l.idx) FROM audit_entry l WHERE l.idx > e.idx AND l.subject = ?2"
		"   AND l.action IN ('user.invite', 'user.invite-revoke')),"
		" (SELECT passkey_idx FROM web_invite w WHERE w.token_sha256 = ?1)"
		" FROM audit_entry e WHERE e.action = 'user.invite' AND e.subject = ?2"
		" AND json_extract(CAST(e.data AS TEXT), '$.details.token_sha256') = ?1",
		&st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = pb__err_field(err, PB_EPERM, "invite_token",
		                   "this invitation token is not valid for '%s'", user);
	} else if (r != SQLITE_ROW) {
		rc = pb__db_err(ws->db, err, "cannot read the invitations");
	} else {
		*invite = (uint64_t)sqlite3_column_int64(st, 0);
		const char *at = (const char *)sqlite3_column_text(st, 1);
		int64_t ttl = sqlite3_column_int64(st, 2), t = 0;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			rc = pb__err_field(err, PB_EPERM, "invite_token",
			                   "the invitation of '%s' (log entry %llu) was revoked or replaced "
			                   "by log entry %lld",
			                   user, (unsigned long long)*invite,
			                   (long long)sqlite3_column_int64(st, 3));
		else if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			rc = pb__err_field(err, PB_EPERM, "invite_token",
			                   "the invitation of '%s' (log entry %llu) was already used by "
			                   "the passkey of log entry %lld",
			                   user, (unsigned long long)*invite,
			                   (long long)sqlite3_column_int64(st, 4));
		else if (!at || !pb_time_parse(at, strlen(at), &t, NULL) || ttl <= 0)
			rc = pb__err(err, PB_EDB, "log entry %llu is not an invitation probity writes",
			             (unsigned long long)*invite);
		else if (pb_now() > t + ttl)
			rc = pb__err_field(err, PB_EPERM, "invite_token",
			                   "the invitation of '%s' (log entry %llu) has expired", user,
			                   (unsigned long long)*invite);
	}
	sqlite3_finalize(st);
	return rc;
}

/* A checked registration and what it is made under. */
struct newpasskey {
	struct pb_webauthn_reg reg;
	char fp[PB_PASSKEY_FP_MAX];
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	char *cred_b64, *cose_b64;
	bool has_invite;
	uint64_t invite;
};

static void newpasskey_release(struct newpasskey *k)
{
	pb__webauthn_reg_release(&k->reg);
	free(k->cred_b64);
	free(k->cose_b64);
	memset(k, 0, sizeof(*k));
}

/* Checks r against the origin in force, the registry and (signed: always)
 * the invitation; inside the caller's transaction. */
static enum pb_status passkey_prepare(struct pb_ws *ws, const struct pb_passkey_reg *r,
                                      struct newpasskey *k, struct pb_error *err)
{
	uint64_t size = 0;
	uint8_t *ao = NULL, *cd = NULL;
	size_t ao_len = 0, cd_len = 0;
	enum pb_status rc;
	if ((rc = pb__audit_size(ws, &size, err)) ||
	    (rc = pb__web_origin_at(ws, size, k->origin, k->rp_id, NULL, err)))
		return rc;
	if (!pb__b64url_decode(r->attestation_object, strlen(r->attestation_object),
	                       ATTESTATION_MAX, &ao, &ao_len)) {
		rc = pb__err_field(err, PB_EFORMAT, "attestation_object",
		                   "the attestation object is not base64url of at most %d bytes",
		                   ATTESTATION_MAX);
		goto out;
	}
	if (!pb__b64url_decode(r->client_data_json, strlen(r->client_data_json), CLIENT_DATA_MAX,
	                       &cd, &cd_len)) {
		rc = pb__err_field(err, PB_EFORMAT, "client_data_json",
		                   "the client data is not base64url of at most %d bytes",
		                   CLIENT_DATA_MAX);
		goto out;
	}
	struct pb_webauthn_expect want = { .rp_id = k->rp_id,
		                           .origin = k->origin,
		                           .challenge = r->challenge,
		                           .challenge_len = r->challenge_len,
		                           .require_uv = true };
	if ((rc = pb__webauthn_register_check(ao, ao_len, (const char *)cd, cd_len, &want, &k->reg,
	                                      err))) {
		if (err && rc != PB_ENOMEM) /* the part is in the message; the argument is this */
			pb__strlcpy(err->field, "credential", sizeof(err->field));
		goto out;
	}
	pb__webauthn_fingerprint(k->reg.cred_id, k->reg.cred_id_len, k->fp);
	char owner[PB_USER_NAME_MAX + 1];
	if ((rc = pb__registry_owner(ws, PB__REG_PASSKEY, k->fp, owner, NULL, err)))
		goto out;
	if (owner[0]) {
		rc = pb__err_field(err, PB_EEXIST, "credential",
		                   "passkey %s is already registered to '%s'", k->fp, owner);
		goto out;
	}
	if (r->invite_token || pb_ws_actors_signed(ws)) {
		if (!r->invite_token || !*r->invite_token) {
			rc = pb__err_field(err, PB_EPERM, "invite_token",
			                   "workspace '%s' is signed: a passkey is registered under an "
			                   "admin's invitation, and none was given",
			                   pb_ws_path(ws));
			goto out;
		}
		if ((rc = invite_check(ws, r->user, r->invite_token, &k->invite, err)))
			goto out;
		k->has_invite = true;
	}
	if (!(k->cred_b64 = pb__b64url_encode(k->reg.cred_id, k->reg.cred_id_len)) ||
	    !(k->cose_b64 = pb__b64url_encode(k->reg.key.cose, k->reg.key.cose_len)))
		rc = pb__err(err, PB_ENOMEM, "out of memory");
out:
	free(ao);
	free(cd);
	return rc;
}

/* The registry row, at the index the entry is about to take (the signature
 * check of the entry counts the passkey's counter on it). */
static enum pb_status passkey_store(struct pb_ws *ws, const char *user, const char *name,
                                    const struct newpasskey *k, uint64_t index,
                                    struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"INSERT INTO user_passkey(fp, user, cred_id, cose, alg, rp_id, origin, name, "
		"added_idx, sign_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		&st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, k->fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->cred_b64, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->cose_b64, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, (int)k->reg.key.alg);
	sqlite3_bind_text(st, 6, k->rp_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, k->origin, -1, SQLITE_STATIC);
	if (name && *name)
		sqlite3_bind_text(st, 8, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)index);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)k->reg.sign_count);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot register the passkey");
	sqlite3_finalize(st);
	return rc;
}

static enum pb_status invite_use(struct pb_ws *ws, const char *token, uint64_t index,
                                 struct pb_error *err)
{
	uint8_t h[32];
	char hash[65];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	pb_hex(h, sizeof(h), hash);
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db, "UPDATE web_invite SET passkey_idx = ?2 WHERE token_sha256 = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot mark the invitation used");
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_passkey_add(struct pb_ws *ws, const char *actor,
                              const struct pb_passkey_reg *r, char fp_out[PB_PASSKEY_FP_MAX],
                              uint64_t *index_out, struct pb_error *err)
{
	if (fp_out)
		fp_out[0] = '\0';
	if (!r || !r->user || !*r->user)
		return pb__err_field(err, PB_EINVAL, "user", "'user' is required");
	if (!r->attestation_object || !*r->attestation_object || !r->client_data_json ||
	    !*r->client_data_json)
		return pb__err_field(err, PB_EINVAL, "credential",
		                     "a registration needs its attestation object and client data");
	if (!r->challenge || r->challenge_len == 0)
		return pb__err_field(err, PB_EINVAL, "challenge",
		                     "a registration needs the challenge it answers");
	enum pb_status rc = pb__text_check("name", r->name, false, err);
	if (rc)
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "user.passkey-add", "register a passkey", err)))
		return rc;
	if (strcmp(actor, r->user) != 0)
		return pb__ws_finish(ws,
		                     pb__err_field(err, PB_EPERM, "user",
		                                   "'%s' may register its own passkeys only, not "
		                                   "'%s''s",
		                                   actor, r->user),
		                     err);
	struct newpasskey k = { 0 };
	uint64_t index = 0;
	if ((rc = passkey_prepare(ws, r, &k, err)) || (rc = pb__audit_size(ws, &index, err)) ||
	    (rc = passkey_store(ws, r->user, r->name, &k, index, err)))
		goto out;
	char aaguid[33];
	pb_hex(k.reg.aaguid, sizeof(k.reg.aaguid), aaguid);
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "user", r->user,
	                      "key_fp", k.fp, "cred_id", k.cred_b64, "key", k.cose_b64, "alg",
	                      (int)k.reg.key.alg, "rp_id", k.rp_id, "origin", k.origin, "fmt",
	                      k.reg.fmt, "aaguid", aaguid, "attestation", r->attestation_object,
	                      "client_data_json", r->client_data_json);
	if (d && r->name && *r->name)
		json_object_set_new(d, "name", json_string(r->name));
	if (d && k.has_invite) {
		json_object_set_new(d, "invite", json_integer((json_int_t)k.invite));
		json_object_set_new(d, "token", json_string(r->invite_token));
	}
	uint64_t got = 0;
	if ((rc = pb__user_log(ws, actor, "user.passkey-add", r->user, d, &got, err)))
		goto out;
	if (got != index)
		rc = pb__err(err, PB_EDB, "the passkey's entry took index %llu, not %llu",
		             (unsigned long long)got, (unsigned long long)index);
	else if (k.has_invite)
		rc = invite_use(ws, r->invite_token, index, err);
	if (!rc && index_out)
		*index_out = index;
	if (!rc && fp_out)
		pb__strlcpy(fp_out, k.fp, PB_PASSKEY_FP_MAX);
out:
	newpasskey_release(&k);
	return pb__ws_finish(ws, rc, err);
}

/* ---- revocation and listing -------------------------------------------------------- */

enum pb_status pb_passkey_revoke(struct pb_ws *ws, const char *actor, const char *user,
                                 const char *fp, const char *reason, uint64_t *index_out,
                                 struct pb_error *err)
{
	enum pb_status rc;
	if ((rc = pb__text_check("reason", reason, true, err)))
		return rc;
	if (!user || !*user)
		return pb__err_field(err, PB_EINVAL, "user", "'user' is required");
	if (!fp || strncmp(fp, "webauthn:", 9) != 0 || strlen(fp) >= PB_PASSKEY_FP_MAX)
		return pb__err_field(err, PB_EINVAL, "fp", "'%s' is not a passkey's fingerprint "
		                     "(webauthn:...)", fp ? fp : "");
	if ((rc = pb__ws_begin_as(ws, actor, "user.passkey-revoke", "revoke a passkey", err)))
		return rc;
	if (strcmp(actor, user) != 0 && (rc = pb__user_require_role(ws, actor, "admin", err)))
		return pb__ws_finish(ws,
		                     pb__err_field(err, PB_EPERM, "actor",
		                                   "'%s' may revoke its own passkeys only (an admin "
		                                   "anyone's)",
		                                   actor),
		                     err);
	rc = pb__registry_revoke(ws, PB__REG_PASSKEY, actor, "user.passkey-revoke", user, fp,
	                         reason, index_out, err);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_passkey_list(struct pb_ws *ws, const char *user,
                               bool (*fn)(void *ctx, const struct pb_passkey *k), void *ctx,
                               struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT user, fp, cred_id, name, alg, rp_id, added_idx, "
	                                   "revoked_idx, revoke_reason, sign_count FROM user_passkey "
	                                   "WHERE ?1 IS NULL OR user = ?1 ORDER BY user, added_idx",
	                                   &st, err);
	if (rc)
		return rc;
	if (user)
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pb_passkey k = {
			.user = (const char *)sqlite3_column_text(st, 0),
			.fp = (const char *)sqlite3_column_text(st, 1),
			.cred_id = (const char *)sqlite3_column_text(st, 2),
			.name = (const char *)sqlite3_column_text(st, 3),
			.alg = sqlite3_column_int(st, 4),
			.rp_id = (const char *)sqlite3_column_text(st, 5),
			.added_idx = (uint64_t)sqlite3_column_int64(st, 6),
			.revoked = sqlite3_column_type(st, 7) != SQLITE_NULL,
			.revoked_idx = (uint64_t)sqlite3_column_int64(st, 7),
			.revoke_reason = (const char *)sqlite3_column_text(st, 8),
			.sign_count = (uint32_t)sqlite3_column_int64(st, 9),
		};
		if (!fn(ctx, &k))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read the passkey registry");
	sqlite3_finalize(st);
	return rc;
}
