/* sign.c - the write side of signed actors: every entry of a signed
 * workspace signed by its actor's own key, and checked before it is written.
 *
 * pb__audit_batch_append calls pb__sign_entry for each entry. It builds the
 * entry's statement (statement.c) against the log as it is, has it signed
 * (an ssh-agent or a key file, through lib/ident), or takes a detached
 * signature made elsewhere over a statement handed out earlier, then checks
 * whatever it got the way a verifier would: the SSHSIG decodes, its key is
 * registered to the actor (user_key) and valid at this index, the namespace
 * is the action's, the signature verifies over the statement, the statement
 * names a log this workspace had (size <= now, the stored root at that
 * size), and its nonce was never used (sig_nonce). Any failure fails the
 * append, so the caller's transaction writes nothing. A passkey's WebAuthn
 * assertion over a statement handed out earlier is a detached signature
 * too: the same statement, log and nonce checks here, the passkey's own in
 * sign_webauthn.c.
 *
 * The registry is read by SQL only: the log knows keys, not roles; auth
 * (above) checks roles before the append and writes user_key rows.
 */
#include "ident/ident.h"
#include "log/audit.h"
#include "log/tlog.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "util/banned.h"

#define STATEMENT_MAX (PB_AUDIT_DETAILS_MAX + 4096)
#define SIGNATURE_MAX 8192

struct signing {
	char *agent_socket, *identity_file;
	struct pb_sshsigner *signer; /* opened at the first signature */
	bool statement_only;
	char *statement;             /* detached: the statement given, or handed out */
	size_t statement_len;
	char *signature;
	size_t signature_len;
	const char *ns;              /* of the statement handed out */
	bool used;                   /* the detached signature covered an entry */
	char *wa[4];                 /* a WebAuthn assertion, base64url (pb__webauthn_parts) */
};

static void signing_free(void *p)
{
	struct signing *s = p;
	if (!s)
		return;
	pb__sshsigner_close(s->signer);
	free(s->agent_socket);
	free(s->identity_file);
	free(s->statement);
	free(s->signature);
	for (size_t i = 0; i < 4; i++)
		free(s->wa[i]);
	free(s);
}

static char *dup_n(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

enum pb_status pb_ws_set_signing(struct pb_ws *ws, const struct pb_sign_opts *o,
                                 struct pb_error *err)
{
	static const struct pb_sign_opts none;
	if (!o)
		o = &none;
	struct signing *s = calloc(1, sizeof(*s));
	if (!s)
		return pb__err(err, PB_ENOMEM, "out of memory");
	bool oom = false;
	if (o->identity_file && *o->identity_file)
		oom |= !(s->identity_file = strdup(o->identity_file));
	else if (o->agent_socket && *o->agent_socket)
		oom |= !(s->agent_socket = strdup(o->agent_socket));
	s->statement_only = o->statement_only;
	if (o->statement && !o->statement_only) {
		if (o->statement_len > STATEMENT_MAX || o->signature_len > SIGNATURE_MAX) {
			signing_free(s);
			return pb__err_field(err, PB_ELIMIT, "signature",
			                     "the statement or its signature is too large");
		}
		/* the file as written: one line, its newline is not signed */
		size_t n = o->statement_len;
		while (n && (o->statement[n - 1] == '\n' || o->statement[n - 1] == '\r'))
			n--;
		oom |= !(s->statement = dup_n(o->statement, n));
		s->statement_len = n;
	}
	if (o->signature && !o->statement_only) {
		if (!o->statement) {
			signing_free(s);
			return pb__err_field(err, PB_EINVAL, "signature",
			                     "a detached signature needs the statement it signs");
		}
		oom |= !(s->signature = dup_n(o->signature, o->signature_len));
		s->signature_len = o->signature_len;
	}
	const char *wa[4] = { o->webauthn_credential_id, o->webauthn_authenticator_data,
		              o->webauthn_client_data_json, o->webauthn_signature };
	if (wa[3] && !o->statement_only) {
		const char *why = !o->statement ? "a passkey's assertion needs the statement it signs"
		                  : o->signature ? "give one signature: an SSHSIG or a passkey's assertion"
		                                 : NULL;
		if (why) {
			signing_free(s);
			return pb__err_field(err, PB_EINVAL, "webauthn", "%s", why);
		}
		for (size_t i = 0; i < 4; i++)
			oom |= !(s->wa[i] = strdup(wa[i] ? wa[i] : ""));
	}
	if (oom) {
		signing_free(s);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	if (ws->signing && ws->signing_free)
		ws->signing_free(ws->signing);
	ws->signing = s;
	ws->signing_free = signing_free;
	return PB_OK;
}

const char *pb_ws_statement(const struct pb_ws *ws, const char **ns)
{
	const struct signing *s = ws->signing;
	if (!s || !s->statement_only || !s->statement)
		return NULL;
	if (ns)
		*ns = s->ns;
	return s->statement;
}

/* ---- the registry ------------------------------------------------------------ */

/* The key with fingerprint fp as registered to actor and valid for entry
 * index, into *out. The workspace's first entry registers the first admin
 * and is signed by the key it registers (details "key"). */
static enum pb_status registered_key(struct pb_ws *ws, const char *actor, const char *fp,
                                     uint64_t index, uint64_t log_size, const char *action,
                                     const json_t *details, struct pb_sshkey *out,
                                     struct pb_error *err)
{
	if (index == 0) {
		const char *line = json_string_value(json_object_get(details, "key"));
		if (strcmp(action, "user.add") != 0 || !line)
			return pb__err(err, PB_EPERM,
			               "the first entry of a signed workspace must add its first admin "
			               "with a key");
		enum pb_status rc = pb__sshkey_parse(line, strlen(line), out, NULL, err);
		if (rc)
			return rc;
		char have[PB_SSHKEY_FP_MAX];
		pb__sshkey_fingerprint(out, have);
		if (strcmp(have, fp) != 0) {
			pb__sshkey_release(out);
			return pb__err(err, PB_EPERM,
			               "the first admin '%s' must sign with the key it registers (%s), "
			               "not %s",
			               actor, have, fp);
		}
		return PB_OK;
	}
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT user, key, added_idx, revoked_idx, revoke_reason "
	                                   "FROM user_key WHERE fp = ?1",
	                                   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = pb__err(err, PB_EPERM, "key %s is not registered to '%s' (nor to anyone)", fp,
		             actor);
	} else if (r != SQLITE_ROW) {
		rc = pb__db_err(ws->db, err, "cannot read the key registry");
	} else {
		const char *owner = (const char *)sqlite3_column_text(st, 0);
		const char *line = (const char *)sqlite3_column_text(st, 1);
		int64_t added = sqlite3_column_int64(st, 2);
		bool revoked = sqlite3_column_type(st, 3) != SQLITE_NULL;
		int64_t rev = sqlite3_column_int64(st, 3);
		const char *why = (const char *)sqlite3_column_text(st, 4);
		if (!owner || strcmp(owner, actor) != 0)
			rc = pb__err(err, PB_EPERM, "key %s is registered to '%s', not to '%s'", fp,
			             owner ? owner : "", actor);
		else if (added < 0 || (uint64_t)added >= index)
			rc = pb__err(err, PB_EPERM,
			             "key %s of '%s' is valid only after log entry %lld, which registers it",
			             fp, actor, (long long)added);
		else if ((uint64_t)added >= log_size)
			/* signed before the key was the actor's: a statement made
			 * against a log that did not yet register it */
			rc = pb__err(err, PB_EPERM,
			             "key %s of '%s' was registered by log entry %lld, after the log of "
			             "%llu entries its statement was made against",
			             fp, actor, (long long)added, (unsigned long long)log_size);
		else if (revoked && rev >= 0 && (uint64_t)rev < index)
			rc = pb__err(err, PB_EPERM, "key %s of '%s' was revoked by log entry %lld (%s)", fp,
			             actor, (long long)rev, why ? why : "no reason");
		else if (!line)
			rc = pb__err(err, PB_EDB, "key %s has no public key in the registry", fp);
		else
			rc = pb__sshkey_parse(line, strlen(line), out, NULL, err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- the log the statement names ------------------------------------------------ */

static bool hex_decode32(const char *hex, uint8_t out[32])
{
	size_t n = 0;
	if (!hex || strlen(hex) != 64 ||
	    sodium_hex2bin(out, 32, hex, 64, NULL, &n, NULL) != 0 || n != 32)
		return false;
	char back[65];
	pb_hex(out, 32, back);
	return strcmp(back, hex) == 0; /* lower case only: one spelling per root */
}

/* PB_OK when the stored log had root at size (size <= cur_size). */
static enum pb_status log_had(struct pb_ws *ws, uint64_t size, const uint8_t root[32],
                              uint64_t cur_size, const uint8_t cur_root[32],
                              struct pb_error *err)
{
	if (size > cur_size)
		return pb__err(err, PB_EVERIFY,
		               "the statement was made against a log of %llu entries; this one has %llu",
		               (unsigned long long)size, (unsigned long long)cur_size);
	uint8_t have[32];
	if (size == cur_size) {
		memcpy(have, cur_root, 32);
	} else if (size == 0) {
		struct pb_tlog_range r;
		pb_tlog_range_init(&r);
		pb_tlog_range_root(&r, have);
	} else {
		enum pb_status rc = pb_tlog_subtree_hash(0, size, pb__audit_hash, ws, have, err);
		if (rc)
			return rc;
	}
	if (sodium_memcmp(have, root, 32) != 0)
		return pb__err(err, PB_EVERIFY,
		               "the statement names a log root at size %llu that this log never had",
		               (unsigned long long)size);
	return PB_OK;
}

/* ---- signing ---------------------------------------------------------------------- */

/* The first key the signer holds that is registered to actor and valid at
 * index, into *key (a copy) and fp. */
static enum pb_status pick_key(struct pb_ws *ws, struct signing *s, const char *actor,
                               uint64_t index, const char *action, const json_t *details,
                               const struct pb_sshkey **key, char fp[PB_SSHKEY_FP_MAX],
                               struct pb_error *err)
{
	enum pb_status rc = PB_OK;
	if (!s->signer) {
		rc = s->identity_file ? pb__sshsigner_file(s->identity_file, &s->signer, err)
		                      : pb__sshsigner_agent(s->agent_socket, &s->signer, err);
		if (rc)
			return rc;
	}
	const struct pb_sshkey *keys;
	size_t n = 0;
	if ((rc = pb__sshsigner_keys(s->signer, &keys, &n, err)))
		return rc;
	char held[3 * PB_SSHKEY_FP_MAX] = "";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		pb__sshkey_fingerprint(&keys[i], fp);
		struct pb_sshkey reg = { 0 };
		/* one key (a key file): why it cannot sign, as the registry says */
		if (!registered_key(ws, actor, fp, index, index, action, details, &reg,
		                    n == 1 ? err : NULL)) {
			pb__sshkey_release(&reg);
			*key = &keys[i];
			return PB_OK;
		}
		if (n == 1 && err && err->code != PB_EPERM)
			return err->code;
		if (n == 1 && err) {
			char why[sizeof(err->message)];
			pb__strlcpy(why, err->message, sizeof(why));
			return pb__err_field(err, PB_EPERM, "identity", "cannot sign as '%s': %.400s",
			                     actor, why);
		}
		if (i < 2)
			o += (size_t)snprintf(held + o, sizeof(held) - o, "%s%s", i ? ", " : "", fp);
	}
	char where[300];
	if (s->identity_file)
		snprintf(where, sizeof(where), "key file '%s'", s->identity_file);
	else
		snprintf(where, sizeof(where), "the ssh-agent");
	if (n == 0)
		return pb__err_field(err, PB_EPERM, "identity",
		                     "cannot sign as '%s': %s holds no Ed25519 key", actor, where);
	return pb__err_field(err, PB_EPERM, "identity",
	                     "cannot sign as '%s': no key in %s is registered to '%s' and valid "
	                     "now (it holds %s%s)",
	                     actor, where, actor, held, n > 2 ? ", ..." : "");
}

static enum pb_status nonce_fresh(struct pb_ws *ws, const char *nonce, uint64_t index,
                                  struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc =
		pb__db_prepare(ws->db, "SELECT idx FROM sig_nonce WHERE nonce = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		rc = pb__err(err, PB_EVERIFY,
		             "statement nonce %s was already used by log entry %lld: a replay", nonce,
		             (long long)sqlite3_column_int64(st, 0));
	else if (r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read the used nonces");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if ((rc = pb__db_prepare(ws->db, "INSERT INTO sig_nonce(nonce, idx) VALUES (?1, ?2)", &st,
	                         err)))
		return rc;
	sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot record the statement nonce");
	sqlite3_finalize(st);
	return rc;
}

/* The values a detached statement was made with: its log and nonce. */
static enum pb_status statement_log(const char *text, size_t len, uint64_t *size,
                                    uint8_t root[32], char nonce[33], struct pb_error *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_t *log = json_object_get(j, "log");
	json_t *sz = json_object_get(log, "size");
	const char *n = json_string_value(json_object_get(j, "nonce"));
	enum pb_status rc = PB_OK;
	if (!j || !json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    !hex_decode32(json_string_value(json_object_get(log, "root")), root) || !n ||
	    strlen(n) != 32)
		rc = pb__err_field(err, PB_EFORMAT, "statement",
		                   "the statement is not one probity hands out (%s)",
		                   j ? "no log size, root or nonce" : je.text);
	else {
		*size = (uint64_t)json_integer_value(sz);
		memcpy(nonce, n, 33);
	}
	json_decref(j);
	return rc;
}

enum pb_status pb__sign_entry(struct pb_ws *ws, uint64_t index, const uint8_t cur_root[32],
                              const char *actor, const char *action, int64_t case_id,
                              const char *subject, const json_t *details, json_t **sig_out,
                              struct pb_error *err)
{
	*sig_out = NULL;
	if (pb__statement_exempt(action) || !pb_ws_actors_signed(ws))
		return PB_OK;
	struct signing *s = ws->signing;
	const char *ns = pb__statement_ns(action);
	bool passkey = s && s->wa[3];
	bool detached = s && (s->statement_only || s->signature || passkey);
	if (!s || (!detached && !s->identity_file && !s->agent_socket))
		return pb__err_field(err, PB_EPERM, "identity",
		                     "workspace '%s' is signed: '%s' must sign this change (%s) with "
		                     "a registered key, and none was given",
		                     pb_ws_path(ws), actor, action);
	if (detached && s->used)
		return pb__err(err, PB_ESTATE,
		               "this command writes more than one signed log entry (now '%s'); a "
		               "detached signature covers one: sign through ssh-agent or a key file",
		               action);
	enum pb_status rc = PB_OK;
	char *text = NULL;
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	struct pb_sshsig sig = { 0 };
	struct pb_sshkey reg = { 0 };
	json_t *wa = NULL;
	char fp[PB_SSHKEY_FP_MAX > PB_PASSKEY_FP_MAX ? PB_SSHKEY_FP_MAX : PB_PASSKEY_FP_MAX];
	char nonce[33];
	uint64_t log_size = index;
	uint8_t log_root[32];
	memcpy(log_root, cur_root, 32);
	if (s->signature || passkey) {
		/* step 3 of the detached flow: the statement must be this write's */
		if ((rc = statement_log(s->statement, s->statement_len, &log_size, log_root, nonce,
		                        err)))
			goto out;
	} else {
		uint8_t raw[16];
		randombytes_buf(raw, sizeof(raw));
		pb_hex(raw, sizeof(raw), nonce);
	}
	if ((rc = pb__statement_text(action, actor, case_id, subject, details, log_size, log_root,
	                             nonce, &text, err)))
		goto out;
	if (s->statement_only) {
		free(s->statement);
		s->statement = text;
		s->statement_len = strlen(text);
		s->ns = ns;
		text = NULL;
		rc = pb__err(err, PB_ESTATEMENT, "the write was stopped to hand out its statement");
		goto out;
	}
	if (s->signature || passkey) {
		if (s->statement_len != strlen(text) || memcmp(s->statement, text, s->statement_len)) {
			rc = pb__err_field(err, PB_EVERIFY, "statement",
			                   "the statement does not describe this change ('%s' by '%s'): "
			                   "it was made for another command or other arguments",
			                   action, actor);
			goto out;
		}
	}
	if (passkey) {
		s->used = true;
		const struct pb__webauthn_parts parts = { s->wa[0], s->wa[1], s->wa[2], s->wa[3] };
		if ((rc = pb__sign_webauthn(ws, index, log_size, actor, action, details, text, &parts,
		                            fp, &wa, err)))
			goto out;
	} else if (s->signature) {
		if ((rc = pb__sshsig_parse(s->signature, s->signature_len, &sig, &bin, &bin_len, err)))
			goto out;
		pb__sshkey_fingerprint(&sig.key, fp);
		s->used = true;
	} else {
		const struct pb_sshkey *key = NULL;
		if ((rc = pick_key(ws, s, actor, index, action, details, &key, fp, err)) ||
		    (rc = pb__sshsigner_sign(s->signer, key, ns, text, strlen(text), &bin, &bin_len,
		                             err)) ||
		    (rc = pb__sshsig_decode(bin, bin_len, &sig, err)))
			goto out;
	}
	/* the check a verifier makes, on whatever signed it */
	if (!passkey &&
	    (rc = registered_key(ws, actor, fp, index, log_size, action, details, &reg, err)))
		goto out;
	if (!passkey && (rc = pb__sshsig_verify(&sig, &reg, ns, text, strlen(text), err))) {
		pb__err_prefix(err, "signature of '%s' by key %s for '%s'", actor, fp, action);
		goto out;
	}
	if ((rc = log_had(ws, log_size, log_root, index, cur_root, err)) ||
	    (rc = nonce_fresh(ws, nonce, index, err)))
		goto out;
	char root_hex[65];
	pb_hex(log_root, 32, root_hex);
	if (passkey) {
		*sig_out = json_pack("{s:s,s:{s:s,s:I},s:s,s:s,s:O}", "key_fp", fp, "log", "root",
		                     root_hex, "size", (json_int_t)log_size, "nonce", nonce, "ns", ns,
		                     "webauthn", wa);
		if (!*sig_out)
			rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	char *b64 = malloc(PB_B64_LEN(bin_len) + 1);
	if (!b64) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	pb__b64_encode(bin, bin_len, b64);
	*sig_out = json_pack("{s:s,s:{s:s,s:I},s:s,s:s,s:s}", "key_fp", fp, "log", "root", root_hex,
	                     "size", (json_int_t)log_size, "nonce", nonce, "ns", ns, "sshsig", b64);
	free(b64);
	if (!*sig_out)
		rc = pb__err(err, PB_ENOMEM, "out of memory");
out:
	json_decref(wa);
	pb__sshsig_release(&sig);
	pb__sshkey_release(&reg);
	free(bin);
	free(text);
	return rc;
}
