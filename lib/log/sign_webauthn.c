/* sign_webauthn.c - the write side of a passkey's signature: a WebAuthn
 * assertion over an entry's statement, checked as a verifier would before
 * the entry is written (docs/identity.md, "Passkeys").
 *
 * sign.c does what SSH and passkey signatures share (the statement is this
 * write's, the log it names, the nonce); this file does the passkey's own
 * checks: the credential is registered to the actor and valid at this index
 * (user_passkey, or for user.passkey-add in a signed workspace the
 * credential the entry registers: proof of possession), the origin and RP
 * ID in force (the last web.origin entry before this one), user
 * verification, the signature with the registered COSE key, and the
 * authenticator's counter, which must grow (a cloned authenticator or a
 * replayed assertion otherwise) and is then stored.
 *
 * Like sign.c it reads the registry by SQL only; auth (above) writes it.
 */
#include "ident/webauthn.h"
#include "log/audit.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define AUTHDATA_MAX 16384
#define CLIENT_DATA_MAX 8192
#define SIGNATURE_MAX 512
#define ATTESTATION_MAX 65536

enum pb_status pb__web_origin_at(struct pb_ws *ws, uint64_t index,
                                 char origin[PB_PASSKEY_ORIGIN_MAX],
                                 char rp_id[PB_PASSKEY_ORIGIN_MAX], uint64_t *decl_idx,
                                 struct pb_error *err)
{
	origin[0] = rp_id[0] = '\0';
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT idx, json_extract(CAST(data AS TEXT), '$.details.origin'),"
		" json_extract(CAST(data AS TEXT), '$.details.rp_id') FROM audit_entry"
		" WHERE action = 'web.origin' AND idx < ?1 ORDER BY idx DESC LIMIT 1",
		&st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, index > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)index);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		if (decl_idx)
			*decl_idx = (uint64_t)sqlite3_column_int64(st, 0);
		pb__col_text(st, 1, origin, PB_PASSKEY_ORIGIN_MAX);
		pb__col_text(st, 2, rp_id, PB_PASSKEY_ORIGIN_MAX);
		if (!origin[0] || !rp_id[0])
			rc = pb__err(err, PB_EDB, "the web.origin entry %lld has no origin or rp_id",
			             (long long)sqlite3_column_int64(st, 0));
	} else if (r == SQLITE_DONE) {
		rc = pb__err(err, PB_ESTATE,
		             "workspace '%s' declares no web origin: passkeys need one (web.origin)",
		             pb_ws_path(ws));
	} else {
		rc = pb__db_err(ws->db, err, "cannot read the web origin");
	}
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb__passkey_counter(struct pb_ws *ws, const char *fp, uint32_t last, uint32_t now,
                                   struct pb_error *err)
{
	if ((last != 0 || now != 0) && now <= last)
		return pb__err_field(err, PB_EVERIFY, "authenticator_data",
		                     "passkey %s: its counter did not grow (%lu after %lu): a cloned "
		                     "authenticator or a replayed assertion",
		                     fp, (unsigned long)now, (unsigned long)last);
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db, "UPDATE user_passkey SET sign_count = max(sign_count, ?2) WHERE fp = ?1", &st,
		err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot record the passkey's counter");
	sqlite3_finalize(st);
	return rc;
}

/* base64url text s (field in errors) decoded, at most cap bytes. */
static enum pb_status b64_field(const char *s, const char *field, size_t cap, uint8_t **out,
                                size_t *len, struct pb_error *err)
{
	*out = NULL;
	*len = 0;
	if (!s || !*s)
		return pb__err_field(err, PB_EINVAL, field, "the passkey's %s is missing", field);
	if (!pb__b64url_decode(s, strlen(s), cap, out, len))
		return pb__err_field(err, PB_EFORMAT, field,
		                     "the passkey's %s is not base64url of at most %zu bytes", field,
		                     cap);
	return PB_OK;
}

/* The COSE key of the credential a user.passkey-add entry registers, by
 * the registration its details hold, checked as a verifier checks it
 * (challenge not: the server's create() challenge is not in the log). */
static enum pb_status key_of_add(const json_t *details, const char *actor, const char *fp,
                                 const char *origin, const char *rp_id,
                                 struct pb_webauthn_key *key, uint32_t *count,
                                 struct pb_error *err)
{
	const char *user = json_string_value(json_object_get(details, "user"));
	const char *dfp = json_string_value(json_object_get(details, "key_fp"));
	const char *att = json_string_value(json_object_get(details, "attestation"));
	const char *cdj = json_string_value(json_object_get(details, "client_data_json"));
	const char *d_origin = json_string_value(json_object_get(details, "origin"));
	const char *d_rp = json_string_value(json_object_get(details, "rp_id"));
	if (!user || strcmp(user, actor) != 0)
		return pb__err(err, PB_EPERM, "'%s' may register a passkey for itself only", actor);
	if (!dfp || strcmp(dfp, fp) != 0)
		return pb__err(err, PB_EPERM,
		               "a passkey registration must be signed by the passkey it registers (%s), "
		               "not %s",
		               dfp ? dfp : "none", fp);
	if (!d_origin || !d_rp || strcmp(d_origin, origin) != 0 || strcmp(d_rp, rp_id) != 0)
		return pb__err(err, PB_EPERM,
		               "the passkey was registered for '%s' (RP ID '%s'); the workspace "
		               "declares '%s' (RP ID '%s')",
		               d_origin ? d_origin : "", d_rp ? d_rp : "", origin, rp_id);
	uint8_t *ao = NULL, *cd = NULL;
	size_t ao_len = 0, cd_len = 0;
	enum pb_status rc;
	if ((rc = b64_field(att, "attestation", ATTESTATION_MAX, &ao, &ao_len, err)) ||
	    (rc = b64_field(cdj, "client_data", CLIENT_DATA_MAX, &cd, &cd_len, err)))
		goto out;
	struct pb_webauthn_expect want = { .rp_id = rp_id, .origin = origin, .require_uv = true };
	struct pb_webauthn_reg reg = { 0 };
	if ((rc = pb__webauthn_register_check(ao, ao_len, (const char *)cd, cd_len, &want, &reg,
	                                      err)))
		goto out;
	char have[PB_WEBAUTHN_FP_MAX];
	pb__webauthn_fingerprint(reg.cred_id, reg.cred_id_len, have);
	if (strcmp(have, fp) != 0) {
		rc = pb__err(err, PB_EPERM, "the registration's credential is %s, not %s", have, fp);
	} else {
		*key = reg.key;
		memset(&reg.key, 0, sizeof(reg.key)); /* moved to the caller */
		*count = reg.sign_count;
	}
	pb__webauthn_reg_release(&reg);
out:
	free(ao);
	free(cd);
	return rc;
}

/* The key of passkey fp as registered to actor and valid for entry index
 * (a statement made against log_size entries), and its last counter. */
static enum pb_status key_registered(struct pb_ws *ws, const char *actor, const char *fp,
                                     uint64_t index, uint64_t log_size,
                                     struct pb_webauthn_key *key, uint32_t *count,
                                     struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT user, cose, added_idx, revoked_idx, revoke_reason, "
	                                   "sign_count FROM user_passkey WHERE fp = ?1",
	                                   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = pb__err(err, PB_EPERM, "passkey %s is not registered to '%s' (nor to anyone)", fp,
		             actor);
	} else if (r != SQLITE_ROW) {
		rc = pb__db_err(ws->db, err, "cannot read the passkey registry");
	} else {
		const char *owner = (const char *)sqlite3_column_text(st, 0);
		const char *cose = (const char *)sqlite3_column_text(st, 1);
		int64_t added = sqlite3_column_int64(st, 2);
		bool revoked = sqlite3_column_type(st, 3) != SQLITE_NULL;
		int64_t rev = sqlite3_column_int64(st, 3);
		const char *why = (const char *)sqlite3_column_text(st, 4);
		*count = (uint32_t)sqlite3_column_int64(st, 5);
		uint8_t *cb = NULL;
		size_t cb_len = 0;
		if (!owner || strcmp(owner, actor) != 0)
			rc = pb__err(err, PB_EPERM, "passkey %s is registered to '%s', not to '%s'", fp,
			             owner ? owner : "", actor);
		else if (added < 0 || (uint64_t)added >= index)
			rc = pb__err(err, PB_EPERM,
			             "passkey %s of '%s' is valid only after log entry %lld, which "
			             "registers it",
			             fp, actor, (long long)added);
		else if ((uint64_t)added >= log_size)
			rc = pb__err(err, PB_EPERM,
			             "passkey %s of '%s' was registered by log entry %lld, after the log "
			             "of %llu entries its statement was made against",
			             fp, actor, (long long)added, (unsigned long long)log_size);
		else if (revoked && rev >= 0 && (uint64_t)rev < index)
			rc = pb__err(err, PB_EPERM, "passkey %s of '%s' was revoked by log entry %lld (%s)",
			             fp, actor, (long long)rev, why ? why : "no reason");
		else if (!cose || !pb__b64url_decode(cose, strlen(cose), 4096, &cb, &cb_len))
			rc = pb__err(err, PB_EDB, "passkey %s has no readable key in the registry", fp);
		else
			rc = pb__cose_key_parse(cb, cb_len, key, err);
		free(cb);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The assertion a (its credential already resolved to key) checked for
 * challenge under the origin and RP ID given, user verification required;
 * its counter into *now and, when enc_out is not NULL, the "webauthn"
 * member of a "sig" into *enc_out. */
static enum pb_status assertion_verify(const struct pb__webauthn_parts *a,
                                       const struct pb_webauthn_key *key,
                                       const uint8_t *challenge, size_t challenge_len,
                                       const char *origin, const char *rp_id, uint32_t *now,
                                       json_t **enc_out, struct pb_error *err)
{
	uint8_t *ad = NULL, *cd = NULL, *sig = NULL;
	size_t ad_len = 0, cd_len = 0, sig_len = 0;
	char *e_ad = NULL, *e_cd = NULL, *e_sig = NULL;
	enum pb_status rc;
	if ((rc = b64_field(a->authenticator_data, "authenticator_data", AUTHDATA_MAX, &ad, &ad_len,
	                    err)) ||
	    (rc = b64_field(a->client_data_json, "client_data", CLIENT_DATA_MAX, &cd, &cd_len,
	                    err)) ||
	    (rc = b64_field(a->signature, "signature", SIGNATURE_MAX, &sig, &sig_len, err)))
		goto out;
	struct pb_webauthn_expect want = { .rp_id = rp_id,
		                           .origin = origin,
		                           .challenge = challenge,
		                           .challenge_len = challenge_len,
		                           .require_uv = true };
	struct pb_webauthn_assertion as = { .auth_data = ad,
		                            .auth_data_len = ad_len,
		                            .client_data_json = (const char *)cd,
		                            .cdj_len = cd_len,
		                            .sig = sig,
		                            .sig_len = sig_len };
	if ((rc = pb__webauthn_assert_verify(key, &as, &want, now, err)) || !enc_out)
		goto out;
	/* the log's spelling: base64url of the bytes, whatever the input's */
	if (!(e_ad = pb__b64url_encode(ad, ad_len)) || !(e_cd = pb__b64url_encode(cd, cd_len)) ||
	    !(e_sig = pb__b64url_encode(sig, sig_len)) ||
	    !(*enc_out = json_pack("{s:s,s:s,s:s}", "authenticator_data", e_ad, "client_data_json",
	                           e_cd, "signature", e_sig)))
		rc = pb__err(err, PB_ENOMEM, "out of memory");
out:
	free(ad);
	free(cd);
	free(sig);
	free(e_ad);
	free(e_cd);
	free(e_sig);
	return rc;
}

/* The fingerprint of the credential id a names. */
static enum pb_status cred_fp(const struct pb__webauthn_parts *a, char fp[PB_PASSKEY_FP_MAX],
                              struct pb_error *err)
{
	uint8_t *cred = NULL;
	size_t cred_len = 0;
	enum pb_status rc = b64_field(a->credential_id, "credential", PB_WEBAUTHN_CRED_ID_MAX,
	                              &cred, &cred_len, err);
	if (!rc)
		pb__webauthn_fingerprint(cred, cred_len, fp);
	free(cred);
	return rc;
}

enum pb_status pb__sign_webauthn(struct pb_ws *ws, uint64_t index, uint64_t log_size,
                                 const char *actor, const char *action, const json_t *details,
                                 const char *statement, const struct pb__webauthn_parts *a,
                                 char fp[PB_PASSKEY_FP_MAX], json_t **webauthn_out,
                                 struct pb_error *err)
{
	*webauthn_out = NULL;
	fp[0] = '\0';
	struct pb_webauthn_key key = { 0 };
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	enum pb_status rc = cred_fp(a, fp, err);
	if (rc)
		return rc;
	if ((rc = pb__web_origin_at(ws, index, origin, rp_id, NULL, err)))
		return rc;
	uint32_t last = 0, now = 0;
	if (!strcmp(action, "user.passkey-add"))
		rc = key_of_add(details, actor, fp, origin, rp_id, &key, &last, err);
	else
		rc = key_registered(ws, actor, fp, index, log_size, &key, &last, err);
	if (rc)
		goto out;
	uint8_t challenge[32];
	pb__webauthn_challenge(statement, strlen(statement), challenge);
	if ((rc = assertion_verify(a, &key, challenge, sizeof(challenge), origin, rp_id, &now,
	                           webauthn_out, err))) {
		pb__err_prefix(err, "passkey signature of '%s' by %s for '%s'", actor, fp, action);
		goto out;
	}
	rc = pb__passkey_counter(ws, fp, last, now, err);
out:
	if (rc) {
		json_decref(*webauthn_out);
		*webauthn_out = NULL;
		/* whatever part failed, the caller's argument is the assertion */
		if (err && rc != PB_ENOMEM && rc != PB_EDB)
			pb__strlcpy(err->field, "webauthn", sizeof(err->field));
	}
	pb__webauthn_key_release(&key);
	return rc;
}

enum pb_status pb__passkey_signin_check(struct pb_ws *ws, const struct pb__webauthn_parts *a,
                                        const uint8_t *challenge, size_t challenge_len,
                                        char user[PB_USER_NAME_MAX + 1],
                                        char fp[PB_PASSKEY_FP_MAX], uint32_t *count,
                                        struct pb_error *err)
{
	user[0] = fp[0] = '\0';
	*count = 0;
	struct pb_webauthn_key key = { 0 };
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	uint64_t size = 0;
	uint32_t last = 0;
	enum pb_status rc = cred_fp(a, fp, err);
	if (rc || (rc = pb__audit_size(ws, &size, err)))
		return rc;
	/* whose it is, as the registry has it now: valid for the next entry */
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db, "SELECT user FROM user_passkey WHERE fp = ?1", &st, err)))
		return rc;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		pb__col_text(st, 0, user, PB_USER_NAME_MAX + 1);
	sqlite3_finalize(st);
	if (r != SQLITE_ROW)
		return r == SQLITE_DONE ? pb__err_field(err, PB_EPERM, "credential",
		                                        "passkey %s is not registered", fp)
		                        : pb__db_err(ws->db, err, "cannot read the passkey registry");
	if ((rc = pb__web_origin_at(ws, size, origin, rp_id, NULL, err)) ||
	    (rc = key_registered(ws, user, fp, size, size, &key, &last, err)) ||
	    (rc = assertion_verify(a, &key, challenge, challenge_len, origin, rp_id, count, NULL,
	                           err)) ||
	    (rc = pb__passkey_counter(ws, fp, last, *count, err)))
		goto out;
out:
	pb__webauthn_key_release(&key);
	return rc;
}
