/* sigverify.c - one entry of a signed log checked on its own: the read-time
 * rules that need nothing but the entry (docs/identity.md).
 *
 * An exempt action (a web session's) carries no "sig"; every other entry
 * does, and its SSHSIG must decode, name the action's namespace, and verify
 * over the statement rebuilt from the entry (statement.c, the one builder
 * the writer used) with the key the SSHSIG carries. What needs more than the
 * entry is the caller's: that key registered to the actor and valid at the
 * index (the replay's registry, or the user_key table through
 * pb__user_key_valid), the root at log.size, the nonce never used before.
 * Thread-safe: the replay runs it on both cores.
 */
#include "ident/ident.h"
#include "log/audit.h"
#include "log/tlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "util/banned.h"

#define SSHSIG_B64_MAX 8192
#define SSHSIG_BIN_MAX (SSHSIG_B64_MAX / 4 * 3)

/* The members of an entry's "sig", NULL where missing or malformed: ok when
 * all are there in their forms (nonce 32 hex digits, root 64, size >= 0). */
struct sig_fields {
	const char *fp, *ns, *nonce, *b64, *root;
	size_t b64_len; /* b64 need not end there (the fast path points into the entry) */
	uint64_t size;
	bool ok;
	/* a passkey's "webauthn" member instead of "sshsig" */
	const char *wa_ad, *wa_cdj, *wa_sig;
};

static void sig_fields(json_t *s, struct sig_fields *f)
{
	json_t *log = json_object_get(s, "log"), *size = json_object_get(log, "size");
	f->fp = json_string_value(json_object_get(s, "key_fp"));
	f->ns = json_string_value(json_object_get(s, "ns"));
	f->nonce = json_string_value(json_object_get(s, "nonce"));
	f->b64 = json_string_value(json_object_get(s, "sshsig"));
	f->b64_len = f->b64 ? strlen(f->b64) : 0;
	json_t *wa = json_object_get(s, "webauthn");
	f->wa_ad = json_string_value(json_object_get(wa, "authenticator_data"));
	f->wa_cdj = json_string_value(json_object_get(wa, "client_data_json"));
	f->wa_sig = json_string_value(json_object_get(wa, "signature"));
	f->root = json_string_value(json_object_get(log, "root"));
	f->size = (uint64_t)json_integer_value(size);
	f->ok = f->fp && f->ns && f->nonce && (f->b64 || (f->wa_ad && f->wa_cdj && f->wa_sig)) &&
	        f->root && json_is_integer(size) &&
	        json_integer_value(size) >= 0 && strlen(f->nonce) == 32 && strlen(f->root) == 64 &&
	        strlen(f->fp) < 64;
}

static enum pb_status bad(struct pb_error *err, uint64_t index, const char *why)
{
	return pb__err(err, PB_EVERIFY, "entry %llu: %s", (unsigned long long)index, why);
}

/* The SSHSIG of an entry's "sig" (n base64 characters at s) into out
 * (SSHSIG_BIN_MAX bytes): what the writer makes (sodium_bin2base64, padded)
 * and nothing else, by the log's one strict decoder (pb__b64_decode: whole
 * quads, '=' only as the padding, the bits it leaves over zero). */
static bool sshsig_b64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len)
{
	return n > 0 && n <= SSHSIG_B64_MAX && pb__b64_decode(s, n, out, SSHSIG_BIN_MAX, out_len);
}

/* ---- the fast path: the statement spliced from the entry's own bytes ----------

 * An entry is canonical JSON (audit.c checks it: keys sorted, no spaces,
 * jansson's escaping), and so is a statement, built from the same members
 * by the same serialiser: the statement of an entry is its "action",
 * "actor", "case" and "details" members as they stand, then "log" and
 * "nonce" from its "sig", then its "subject", then the two constants. So
 * for most entries no JSON tree is built at all. When in doubt (an escape
 * in a name, a case that is not a positive number) the slow path decides;
 * a statement spliced wrong could only fail to verify, never pass. */

struct member {
	const char *key; /* raw, without quotes */
	size_t klen;
	const char *start, *end; /* "key":value */
	const char *val;         /* value */
};

/* Skips the JSON value at p; NULL when it does not end before end. */
static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return NULL;
	if (*p == '"') { /* the next quote, unless a backslash comes before it */
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (q && !memchr(p + 1, '\\', (size_t)(q - p - 1)))
			return q + 1;
		for (p++; p < end; p++)
			if (*p == '\\')
				p++;
			else if (*p == '"')
				return p + 1;
		return NULL;
	}
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < end) {
			if (*p == '"') {
				if (!(p = skip_value(p, end)))
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return NULL;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']')
		p++;
	return p;
}

/* The members of the object at [p, end), at most cap; -1 when malformed. */
static int members(const char *p, const char *end, struct member *m, int cap)
{
	if (p >= end || *p++ != '{')
		return -1;
	int n = 0;
	if (p < end && *p == '}')
		return 0;
	while (p < end && *p == '"') {
		const char *ke = skip_value(p, end), *ve;
		if (!ke || ke >= end || *ke != ':' || !(ve = skip_value(ke + 1, end)))
			return -1;
		if (n < cap)
			m[n++] = (struct member){ p + 1, (size_t)(ke - 1 - (p + 1)), p, ve, ke + 1 };
		p = ve;
		if (p < end && *p == '}')
			return n;
		if (p >= end || *p++ != ',')
			return -1;
	}
	return -1;
}

static const struct member *find(const struct member *m, int n, const char *key)
{
	size_t kl = strlen(key);
	for (int i = 0; i < n; i++)
		if (m[i].klen == kl && !memcmp(m[i].key, key, kl))
			return &m[i];
	return NULL;
}

bool pb__entry_member(const char *text, size_t len, const char *key, struct pb_str *out)
{
	struct member m[16];
	int n = members(text, text + len, m, 16);
	const struct member *x = n > 0 && n < 16 ? find(m, n, key) : NULL;
	if (x)
		*out = (struct pb_str){ x->val, (size_t)(x->end - x->val) };
	return x != NULL;
}

/* A string member without escapes into buf (cap bytes); false otherwise. */
static bool plain_string(const struct member *m, char *buf, size_t cap)
{
	if (!m || *m->val != '"')
		return false;
	size_t n = (size_t)(m->end - m->val) - 2;
	if (n >= cap || memchr(m->val + 1, '\\', n))
		return false;
	memcpy(buf, m->val + 1, n);
	buf[n] = '\0';
	return true;
}

struct fast {
	char action[65], actor[PB_USER_NAME_MAX + 1];
	char fp[64], ns[128], nonce[33], root[65];
	bool has_sig;
	struct sig_fields f;
	struct pb_buf statement;
	char *wa; /* a passkey's three parts, one after the other (heap) */
};

/* Fills x from the entry's bytes; false when the slow path must decide. */
static bool fast_parts(const char *text, size_t len, struct fast *x)
{
	const char *end = text + len;
	struct member m[16], sm[8], lm[4];
	int n = members(text, end, m, 16);
	if (n < 0 || n >= 16 || !plain_string(find(m, n, "action"), x->action, sizeof(x->action)) ||
	    !plain_string(find(m, n, "actor"), x->actor, sizeof(x->actor)))
		return false;
	const struct member *sig = find(m, n, "sig"), *cs = find(m, n, "case"),
	                    *det = find(m, n, "details"), *sub = find(m, n, "subject");
	x->has_sig = sig != NULL;
	if (!sig || pb__statement_exempt(x->action))
		return true; /* nothing to splice: the checks need no statement */
	if (cs && (*cs->val < '1' || *cs->val > '9'))
		return false;
	int ns = members(sig->val, sig->end, sm, 8);
	const struct member *log = ns > 0 ? find(sm, ns, "log") : NULL, *size;
	int nl = log ? members(log->val, log->end, lm, 4) : -1;
	size = nl > 0 ? find(lm, nl, "size") : NULL;
	const struct member *b64 = ns > 0 ? find(sm, ns, "sshsig") : NULL;
	const struct member *wa = ns > 0 ? find(sm, ns, "webauthn") : NULL;
	if (!b64 && !wa)
		return false; /* neither (or a sig that is no object): the slow path */
	if (b64 && (*b64->val != '"' ||
	            memchr(b64->val + 1, '\\', (size_t)(b64->end - b64->val) - 2)))
		return false;
	/* a passkey's: its three strings copied out (no escapes, as base64url) */
	const char *wa_part[3] = { NULL, NULL, NULL };
	if (wa) {
		static const char *const names[3] = { "authenticator_data", "client_data_json",
			                              "signature" };
		struct member wm[4];
		int nw = members(wa->val, wa->end, wm, 4);
		size_t cap = (size_t)(wa->end - wa->val) + 3, used = 0;
		if (nw < 0 || !(x->wa = malloc(cap)))
			return false;
		for (int i = 0; i < 3; i++) {
			if (!plain_string(find(wm, nw, names[i]), x->wa + used, cap - used))
				return false;
			wa_part[i] = x->wa + used;
			used += strlen(wa_part[i]) + 1;
		}
	}
	if (!size || *size->val < '0' || *size->val > '9' || size->end - size->val > 20 ||
	    !plain_string(find(sm, ns, "key_fp"), x->fp, sizeof(x->fp)) ||
	    !plain_string(find(sm, ns, "ns"), x->ns, sizeof(x->ns)) ||
	    !plain_string(find(sm, ns, "nonce"), x->nonce, sizeof(x->nonce)) ||
	    !plain_string(find(lm, nl, "root"), x->root, sizeof(x->root)))
		return false;
	uint64_t sz = 0;
	for (const char *p = size->val; p < size->end; p++) {
		if (*p < '0' || *p > '9' || sz > (UINT64_MAX - 9) / 10)
			return false;
		sz = sz * 10 + (uint64_t)(*p - '0');
	}
	/* the base64 as it stands in the entry: no escapes, so its text */
	x->f = (struct sig_fields){ x->fp,
		                    x->ns,
		                    x->nonce,
		                    b64 ? b64->val + 1 : NULL,
		                    x->root,
		                    b64 ? (size_t)(b64->end - b64->val) - 2 : 0,
		                    sz,
		                    strlen(x->nonce) == 32 && strlen(x->root) == 64,
		                    wa_part[0],
		                    wa_part[1],
		                    wa_part[2] };
	if (!x->f.ok)
		return false;
	/* the members as they stand, joined by commas, and the parts between;
	 * copied, not printed (this runs for every entry of a log) */
	char lg[192]; /* 64 + 32 hex digits, 20 of size, 40 of names */
	int ll = snprintf(lg, sizeof(lg), "\"log\":{\"root\":\"%s\",\"size\":%llu},\"nonce\":\"%s\"",
	                  x->root, (unsigned long long)sz, x->nonce);
	static const char tail[] = "\"type\":\"probity statement\",\"v\":1}";
	const struct member *a = find(m, n, "action"), *u = find(m, n, "actor");
	struct pb_str part[7] = { { a->start, (size_t)(a->end - a->start) },
		                  { u->start, (size_t)(u->end - u->start) },
		                  { cs ? cs->start : NULL, cs ? (size_t)(cs->end - cs->start) : 0 },
		                  { det ? det->start : NULL, det ? (size_t)(det->end - det->start) : 0 },
		                  { lg, ll > 0 && (size_t)ll < sizeof(lg) ? (size_t)ll : 0 },
		                  { sub ? sub->start : NULL, sub ? (size_t)(sub->end - sub->start) : 0 },
		                  { tail, sizeof(tail) - 1 } };
	if (!part[4].len)
		return false;
	size_t total = 1;
	for (int i = 0; i < 7; i++)
		total += part[i].len + 1;
	struct pb_buf *b = &x->statement;
	enum pb_status rc = pb_buf_reserve(b, total);
	if (!rc)
		rc = pb_buf_addc(b, '{');
	for (int i = 0, first = 1; !rc && i < 7; i++) {
		if (!part[i].len)
			continue;
		if (!first)
			rc = pb_buf_addc(b, ',');
		if (!rc)
			rc = pb_buf_add(b, part[i].ptr, part[i].len);
		first = 0;
	}
	return rc == PB_OK;
}

/* ---- passkeys ---------------------------------------------------------------- */

#define PB_WEBAUTHN_FP_PREFIX "webauthn:"
/* what a verifier accepts of an assertion's parts, decoded */
#define WA_AUTHDATA_MAX 1024
#define WA_CDJ_MAX 4096
#define WA_SIG_MAX 256

static enum pb_status why_bad(struct pb_error *err, uint64_t index, const char *fmt, ...)
	PB_PRINTF(3, 4);
static enum pb_status why_bad(struct pb_error *err, uint64_t index, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return bad(err, index, why);
}

static bool statement_of(const char *action, const char *actor, json_t *e,
                         const struct pb__entry_sig *out, char **built, struct pb_error *err)
{
	return pb__statement_text(action, actor, json_integer_value(json_object_get(e, "case")),
	                          json_string_value(json_object_get(e, "subject")),
	                          json_object_get(e, "details"), out->log_size, out->log_root,
	                          out->nonce_hex, built, err) == PB_OK;
}

/* A passkey's "sig" on its own: the key_fp and the member agree, the three
 * parts decode, and the challenge it must carry is the statement's hash.
 * The signature waits for the registered key (pb__entry_webauthn_verify). */
static enum pb_status webauthn_parts(const struct sig_fields *f, const char *action,
                                     const char *actor, const char *statement, json_t *e,
                                     uint64_t index, struct pb__entry_sig *out,
                                     struct pb_error *err)
{
	size_t pl = strlen(PB_WEBAUTHN_FP_PREFIX);
	if (strncmp(f->fp, PB_WEBAUTHN_FP_PREFIX, pl) || strlen(f->fp) != pl + 43)
		return why_bad(err, index, "its \"sig\" names key %s but carries a passkey's assertion",
		               f->fp);
	if (!f->wa_ad || !f->wa_cdj || !f->wa_sig)
		return why_bad(err, index, "its \"sig\" names passkey %s but carries no webauthn "
		                           "assertion (authenticator_data, client_data_json, signature)",
		               f->fp);
	uint8_t *ad = NULL, *cdj = NULL, *sig = NULL;
	size_t adl = 0, cdjl = 0, sigl = 0;
	char *built = NULL;
	struct pb_error e2 = { 0 };
	enum pb_status rc = PB_OK;
	if (!pb__b64url_decode(f->wa_ad, strlen(f->wa_ad), WA_AUTHDATA_MAX, &ad, &adl) ||
	    !pb__b64url_decode(f->wa_cdj, strlen(f->wa_cdj), WA_CDJ_MAX, &cdj, &cdjl) ||
	    !pb__b64url_decode(f->wa_sig, strlen(f->wa_sig), WA_SIG_MAX, &sig, &sigl)) {
		rc = bad(err, index, "its passkey assertion is not base64url (or too long)");
		goto out;
	}
	uint8_t *mem = malloc(adl + cdjl + sigl + 1);
	if (!mem) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(mem, ad, adl);
	memcpy(mem + adl, cdj, cdjl);
	memcpy(mem + adl + cdjl, sig, sigl);
	mem[adl + cdjl + sigl] = 0;
	out->webauthn = true;
	out->wa_mem = mem;
	out->wa = (struct pb_webauthn_assertion){ mem, adl, (const char *)mem + adl, cdjl,
		                                  mem + adl + cdjl, sigl };
	pb__strlcpy(out->signer_fp, f->fp, sizeof(out->signer_fp));
	if (!statement) {
		if (!statement_of(action, actor, e, out, &built, &e2)) {
			rc = e2.code == PB_ENOMEM
			             ? pb__err(err, PB_ENOMEM, "out of memory")
			             : why_bad(err, index, "its statement cannot be rebuilt: %s", e2.message);
			goto out;
		}
		statement = built;
	}
	pb__webauthn_challenge(statement, strlen(statement), out->challenge);
out:
	free(ad);
	free(cdj);
	free(sig);
	free(built);
	return rc;
}

void pb__entry_sig_release(struct pb__entry_sig *s)
{
	free(s->wa_mem);
	s->wa_mem = NULL;
	s->webauthn = false;
	memset(&s->wa, 0, sizeof(s->wa));
}

bool pb__webauthn_counter_ok(uint32_t last, uint32_t now)
{
	return (last == 0 && now == 0) || now > last;
}

enum pb_status pb__entry_webauthn_verify(const struct pb__entry_sig *s, uint64_t index,
                                         const struct pb_webauthn_key *key, const char *origin,
                                         const char *rp_id, uint32_t *count,
                                         struct pb_error *err)
{
	if (!s->webauthn)
		return bad(err, index, "it carries no passkey assertion");
	if (!origin || !rp_id)
		return why_bad(err, index, "it is signed with passkey %s, but no web.origin entry "
		                           "before it declares the origin",
		               s->key_fp);
	struct pb_webauthn_expect want = { rp_id, origin, s->challenge, 32, true };
	struct pb_error e2 = { 0 };
	if (pb__webauthn_assert_verify(key, &s->wa, &want, count, &e2))
		return e2.code == PB_ENOMEM
		               ? pb__err(err, PB_ENOMEM, "out of memory")
		               : why_bad(err, index, "the passkey assertion of '%s' (%s) does not "
		                                     "verify: %s",
		                         s->actor, s->key_fp, e2.message);
	return PB_OK;
}

enum pb_status pb__passkey_reg_check(const json_t *d, uint64_t index, const char *origin,
                                     const char *rp_id, struct pb_webauthn_key *key,
                                     uint32_t *count, struct pb_error *err)
{
	memset(key, 0, sizeof(*key));
	const char *att = json_string_value(json_object_get(d, "attestation"));
	const char *cdj = json_string_value(json_object_get(d, "client_data_json"));
	const char *fp = json_string_value(json_object_get(d, "key_fp"));
	const char *kb = json_string_value(json_object_get(d, "key"));
	const char *drp = json_string_value(json_object_get(d, "rp_id"));
	const char *dor = json_string_value(json_object_get(d, "origin"));
	json_t *alg = json_object_get(d, "alg");
	if (!att || !cdj || !fp || !kb || !drp || !dor || !json_is_integer(alg))
		return bad(err, index, "user.passkey-add lacks key_fp, key, alg, rp_id, origin, "
		                       "attestation or client_data_json");
	if (!origin || !rp_id)
		return bad(err, index, "user.passkey-add registers a passkey, but no web.origin entry "
		                       "before it declares the origin");
	if (strcmp(drp, rp_id) || strcmp(dor, origin))
		return why_bad(err, index, "user.passkey-add is for %.100s (RP ID %.100s), but the "
		                           "origin in force is %.100s (RP ID %.100s)",
		               dor, drp, origin, rp_id);
	uint8_t *ab = NULL, *cb = NULL;
	size_t al = 0, cl = 0;
	char *k64 = NULL;
	struct pb_webauthn_reg reg = { 0 };
	struct pb_error e2 = { 0 };
	enum pb_status rc = PB_OK;
	if (!pb__b64url_decode(att, strlen(att), PB_AUDIT_DETAILS_MAX, &ab, &al) ||
	    !pb__b64url_decode(cdj, strlen(cdj), WA_CDJ_MAX, &cb, &cl)) {
		rc = bad(err, index, "user.passkey-add: its attestation or client data is not "
		                     "base64url");
		goto out;
	}
	struct pb_webauthn_expect want = { rp_id, origin, NULL, 0, true };
	if (pb__webauthn_register_check(ab, al, (const char *)cb, cl, &want, &reg, &e2)) {
		rc = e2.code == PB_ENOMEM ? pb__err(err, PB_ENOMEM, "out of memory")
		                          : why_bad(err, index, "user.passkey-add: the registration "
		                                                "does not verify: %s",
		                                    e2.message);
		goto out;
	}
	char rfp[PB_WEBAUTHN_FP_MAX];
	pb__webauthn_fingerprint(reg.cred_id, reg.cred_id_len, rfp);
	if (!(k64 = pb__b64url_encode(reg.key.cose, reg.key.cose_len))) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if (strcmp(rfp, fp))
		rc = why_bad(err, index, "user.passkey-add names passkey %.60s, but its registration "
		                         "is of %s",
		             fp, rfp);
	else if (strcmp(k64, kb) || json_integer_value(alg) != reg.key.alg)
		rc = bad(err, index, "user.passkey-add: its key or alg is not the registration's");
	if (!rc) {
		*key = reg.key; /* moved out */
		memset(&reg.key, 0, sizeof(reg.key));
		if (count)
			*count = reg.sign_count;
	}
out:
	pb__webauthn_reg_release(&reg);
	free(k64);
	free(ab);
	free(cb);
	return rc;
}

const char *pb__passkey_invite_why(const struct pb__invite *inv, uint64_t invite_idx,
                                   const char *user, const char *token_sha, int64_t time,
                                   uint64_t last, char buf[160])
{
	if (!inv)
		return "it is no user.invite before it that checked";
	if (strcmp(inv->user, user))
		return "it invites another user";
	if (strcmp(inv->token_sha, token_sha))
		return "the token it reveals is not the invitation's (SHA-256 differs)";
	if (last != invite_idx + 1) {
		pb__snprintf(buf, 160, "it was revoked or replaced by entry %llu",
		             last ? (unsigned long long)(last - 1) : 0ULL);
		return buf;
	}
	if (time < inv->time || time - inv->time > inv->ttl_s) {
		pb__snprintf(buf, 160, "it had expired (it lasted %lld s)", (long long)inv->ttl_s);
		return buf;
	}
	if (inv->used) {
		pb__snprintf(buf, 160, "entry %llu used it already", (unsigned long long)(inv->used - 1));
		return buf;
	}
	return NULL;
}

/* ---- the checks ------------------------------------------------------------------ */

/* The signing key's fingerprint, remembered per thread for the last key
 * seen: a log has few keys, and a SHA-256 of 51 bytes between two Ed25519
 * verifies costs ~1 us cold (a log verify spends 1.5% of its time there). */
static void signer_fp(const struct pb_sshkey *k, char out[PB_SSHKEY_FP_MAX])
{
	static _Thread_local uint8_t blob[128];
	static _Thread_local size_t blob_len;
	static _Thread_local char fp[PB_SSHKEY_FP_MAX];
	if (blob_len && k->blob_len == blob_len && !memcmp(k->blob, blob, blob_len)) {
		memcpy(out, fp, PB_SSHKEY_FP_MAX);
		return;
	}
	pb__sshkey_fingerprint(k, out);
	if (k->blob_len <= sizeof(blob)) {
		memcpy(blob, k->blob, k->blob_len);
		blob_len = k->blob_len;
		memcpy(fp, out, PB_SSHKEY_FP_MAX);
	}
}

/* The read-time rules of one entry once its parts are known. statement: the
 * spliced statement, or NULL to build it from e (the parsed entry). */
static enum pb_status check_parts(const char *action, const char *actor, bool has_sig,
                                  const struct sig_fields *f, const char *statement, json_t *e,
                                  uint64_t index, struct pb__entry_sig *out,
                                  struct pb_error *err)
{
	enum pb_status rc = PB_OK;
	char why[256];
	uint8_t bin[SSHSIG_BIN_MAX];
	char *built = NULL;
	struct pb_sshsig sig = { 0 };
	bool have_sig = false;
	pb__strlcpy(out->action, action, sizeof(out->action));
	pb__strlcpy(out->actor, actor, sizeof(out->actor));
	out->has_sig = has_sig;
	if (pb__statement_exempt(action)) {
		if (has_sig) {
			pb__snprintf(why, sizeof(why), "%s is a session entry and carries no signature, "
			                               "but this one has a \"sig\"", action);
			rc = bad(err, index, why);
		}
		goto out;
	}
	if (!has_sig) {
		pb__snprintf(why, sizeof(why), "%s by '%s' is not signed", action, actor);
		rc = bad(err, index, why);
		goto out;
	}
	if (!f->ok) {
		rc = bad(err, index, "its \"sig\" lacks key_fp, log, nonce, ns or sshsig (webauthn)");
		goto out;
	}
	const char *fp = f->fp, *ns = f->ns, *b64 = f->b64;
	pb__strlcpy(out->key_fp, fp, sizeof(out->key_fp));
	memcpy(out->nonce_hex, f->nonce, 33);
	out->log_size = f->size;
	if (sodium_hex2bin(out->log_root, 32, f->root, 64, NULL, NULL, NULL) != 0 ||
	    sodium_hex2bin(out->nonce, 16, f->nonce, 32, NULL, NULL, NULL) != 0) {
		rc = bad(err, index, "its \"sig\" has a log root or nonce that is not hex");
		goto out;
	}
	if (out->log_size > index) {
		pb__snprintf(why, sizeof(why), "its statement names a log of %llu entries, made "
		                               "after the entry itself",
		             (unsigned long long)out->log_size);
		rc = bad(err, index, why);
		goto out;
	}
	const char *want_ns = pb__statement_ns(action);
	if (strcmp(ns, want_ns)) {
		pb__snprintf(why, sizeof(why), "%s must be signed in namespace %s, not %.60s", action,
		             want_ns, ns);
		rc = bad(err, index, why);
		goto out;
	}
	if (!strncmp(fp, PB_WEBAUTHN_FP_PREFIX, strlen(PB_WEBAUTHN_FP_PREFIX)) || !b64) {
		rc = webauthn_parts(f, action, actor, statement, e, index, out, err);
		goto out;
	}
	size_t binlen = 0;
	if (f->b64_len > SSHSIG_B64_MAX) {
		rc = bad(err, index, "its signature is too long");
		goto out;
	}
	if (!sshsig_b64_decode(b64, f->b64_len, bin, &binlen)) {
		rc = bad(err, index, "its signature is not base64");
		goto out;
	}
	struct pb_error e2 = { 0 };
	if (pb__sshsig_decode(bin, binlen, &sig, &e2)) {
		pb__snprintf(why, sizeof(why), "its signature does not decode: %s", e2.message);
		rc = bad(err, index, why);
		goto out;
	}
	have_sig = true;
	signer_fp(&sig.key, out->signer_fp);
	if (strcmp(out->signer_fp, fp)) {
		pb__snprintf(why, sizeof(why), "its signature is by key %s, but it names key %s",
		             out->signer_fp, fp);
		rc = bad(err, index, why);
		goto out;
	}
	if (!statement) {
		json_int_t case_id = json_integer_value(json_object_get(e, "case"));
		const char *subject = json_string_value(json_object_get(e, "subject"));
		json_t *details = json_object_get(e, "details");
		if ((rc = pb__statement_text(action, actor, case_id, subject, details, out->log_size,
		                             out->log_root, out->nonce_hex, &built, &e2))) {
			pb__snprintf(why, sizeof(why), "its statement cannot be rebuilt: %s", e2.message);
			rc = rc == PB_ENOMEM ? pb__err(err, rc, "out of memory") : bad(err, index, why);
			goto out;
		}
		statement = built;
	}
	if (pb__sshsig_verify(&sig, NULL, want_ns, statement, strlen(statement), &e2)) {
		pb__snprintf(why, sizeof(why), "the signature of '%s' (key %s) does not verify: %s",
		             actor, fp, e2.message);
		rc = bad(err, index, why);
		goto out;
	}
out:
	if (have_sig)
		pb__sshsig_release(&sig);
	free(built);
	return rc;
}

enum pb_status pb__entry_sig_check(const char *text, size_t len, uint64_t index,
                                   struct pb__entry_sig *out, json_t **entry_out,
                                   struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (entry_out)
		*entry_out = NULL;
	enum pb_status rc = PB_OK;
	struct fast x = { 0 };
	pb_buf_init(&x.statement, PB_AUDIT_DETAILS_MAX + 8192);
	bool ok = fast_parts(text, len, &x);
	if (ok)
		rc = check_parts(x.action, x.actor, x.has_sig, &x.f,
		                 x.statement.len ? x.statement.data : NULL, NULL, index, out, err);
	pb_buf_release(&x.statement);
	free(x.wa);
	/* a signed entry always gets its statement spliced, so NULL above
	 * only reaches check_parts for entries it rejects before using it */
	if (ok && (!entry_out || rc == PB_ENOMEM))
		return rc;
	json_error_t je;
	json_t *e = json_loadb(text, len, 0, &je);
	if (ok) { /* checked; the caller wants the tree too (the details) */
		if (!json_is_object(e)) {
			json_decref(e);
			return rc ? rc : bad(err, index, "is not a JSON object");
		}
		*entry_out = e;
		return rc;
	}
	const char *action = json_string_value(json_object_get(e, "action"));
	const char *actor = json_string_value(json_object_get(e, "actor"));
	if (!json_is_object(e) || !action || !actor) {
		rc = bad(err, index, !json_is_object(e) ? "is not a JSON object"
		                                        : "has no action or actor");
	} else {
		json_t *s = json_object_get(e, "sig");
		struct sig_fields f;
		sig_fields(s, &f);
		rc = check_parts(action, actor, s != NULL, &f, NULL, e, index, out, err);
	}
	if (entry_out && rc != PB_ENOMEM)
		*entry_out = e;
	else
		json_decref(e);
	return rc;
}

/* The first entry of action in `actions` whose details.key_fp is fp, after
 * `after` (-1: any): its index in *idx, *found false when none. */
static enum pb_status key_entry(struct pb_ws *ws, const char *actions, const char *fp,
                                int64_t after, bool *found, uint64_t *idx, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT min(idx) FROM audit_entry WHERE instr(?1, action) > 0"
	                                   " AND action LIKE 'user.%' AND idx > ?3 AND"
	                                   " json_extract(CAST(data AS TEXT), '$.details.key_fp') = ?2",
	                                   &q, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, actions, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, after);
	int s = sqlite3_step(q);
	*found = s == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL;
	*idx = *found ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return s == SQLITE_ROW ? PB_OK : pb__db_err(ws->db, err, "cannot read the key registry");
}

/* pb__user_key_valid, from the log itself: the registering entry must
 * verify (its leaf in the stored tree), name actor, and, unless it is entry
 * 0 (the first admin, signed by the key it registers), be signed by a key
 * valid at its own position, and so on back to entry 0. */
static enum pb_status sig_valid(struct pb_ws *ws, const struct pb__entry_sig *s, uint64_t index,
                                int depth, struct pb_error *err);

/* The first entry of `actions` that registers fp (a "key" or "passkey",
 * what), read only when it verifies: its index in *r, its text in *data
 * (heap, *len bytes), parsed in *e (the caller frees both). */
static enum pb_status registration(struct pb_ws *ws, const char *actions, const char *what,
                                   const char *fp, uint64_t index, uint64_t *r, char **data,
                                   size_t *len, json_t **e, struct pb_error *err)
{
	bool found;
	*data = NULL;
	*e = NULL;
	enum pb_status rc = key_entry(ws, actions, fp, -1, &found, r, err);
	if (rc)
		return rc;
	if (!found)
		return pb__err(err, PB_EVERIFY, "entry %llu: %s %s is registered to nobody in the log",
		               (unsigned long long)index, what, fp);
	if ((rc = pb__audit_entry_verified(ws, *r, data, len, err)))
		return rc == PB_ENOMEM ? rc : PB_EVERIFY;
	json_error_t je;
	*e = json_loadb(*data, *len, 0, &je);
	return PB_OK;
}

static enum pb_status key_valid(struct pb_ws *ws, const char *actor, const char *fp,
                                uint64_t index, int depth, struct pb_error *err)
{
	if (depth > 16)
		return pb__err(err, PB_EVERIFY, "entry %llu: the key registry chain of %s is too long",
		               (unsigned long long)index, fp);
	bool found;
	uint64_t r, rv;
	char *data;
	size_t len = 0;
	json_t *e;
	enum pb_status rc = registration(ws, "user.add user.key-add", "key", fp, index, &r, &data,
	                                 &len, &e, err);
	if (rc)
		return rc;
	json_t *d = json_object_get(e, "details");
	const char *action = json_string_value(json_object_get(e, "action"));
	const char *user = json_string_value(
		json_object_get(d, action && !strcmp(action, "user.add") ? "name" : "user"));
	const char *efp = json_string_value(json_object_get(d, "key_fp"));
	if (!user || !efp || strcmp(efp, fp))
		rc = pb__err(err, PB_EVERIFY, "entry %llu: the entry registering key %s does not "
		                              "name it",
		             (unsigned long long)index, fp);
	else if (strcmp(user, actor))
		rc = pb__err(err, PB_EVERIFY, "entry %llu: key %s is registered to '%s', not '%s'",
		             (unsigned long long)index, fp, user, actor);
	else if (!(r < index || (r == 0 && index == 0)))
		rc = pb__err(err, PB_EVERIFY, "entry %llu: key %s of '%s' was registered only at "
		                              "entry %llu",
		             (unsigned long long)index, fp, actor, (unsigned long long)r);
	json_decref(e);
	if (!rc && r > 0) { /* who registered it, with which key */
		struct pb__entry_sig s;
		if (!(rc = pb__entry_sig_check(data, len, r, &s, NULL, err)))
			rc = sig_valid(ws, &s, r, depth + 1, err);
		pb__entry_sig_release(&s);
	}
	free(data);
	if (rc)
		return rc;
	if ((rc = key_entry(ws, "user.key-revoke", fp, (int64_t)r, &found, &rv, err)))
		return rc;
	if (found && index > rv)
		return pb__err(err, PB_EVERIFY, "entry %llu: key %s of '%s' was revoked at entry %llu",
		               (unsigned long long)index, fp, actor, (unsigned long long)rv);
	return PB_OK;
}

enum pb_status pb__user_key_valid(struct pb_ws *ws, const char *actor, const char *fp,
                                  uint64_t index, struct pb_error *err)
{
	return key_valid(ws, actor, fp, index, 0, err);
}

/* pb__log_last_entry, its bytes in *data (heap, *len; NULL: none). */
static enum pb_status last_entry(struct pb_ws *ws, const char *actions, const char *where,
                                 const char *text, int64_t num, uint64_t index, uint64_t *at,
                                 char **data, size_t *len, struct pb_error *err)
{
	*data = NULL;
	*len = 0;
	char sql[512];
	if (!pb__snprintf(sql, sizeof(sql),
	                  "SELECT max(idx) FROM audit_entry WHERE action IN (%s) AND idx < ?3%s%s",
	                  actions, where ? " AND " : "", where ? where : ""))
		return pb__err(err, PB_EINVAL, "internal error: a log query too long");
	sqlite3_stmt *q;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &q, err);
	if (rc)
		return rc;
	if (where) {
		sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, num);
	}
	sqlite3_bind_int64(q, 3, index > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)index);
	int st = sqlite3_step(q);
	bool found = st == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL;
	*at = found ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	if (st != SQLITE_ROW)
		return pb__db_err(ws->db, err, "cannot read the log");
	if (!found)
		return PB_OK;
	if ((rc = pb__audit_entry_verified(ws, *at, data, len, err)))
		return rc == PB_ENOMEM ? rc : PB_EVERIFY;
	json_error_t je;
	json_t *o = json_loadb(*data, *len, 0, &je);
	const char *a = json_string_value(json_object_get(o, "action"));
	char quoted[64];
	bool listed = a && pb__snprintf(quoted, sizeof(quoted), "'%s'", a) && strstr(actions, quoted);
	json_decref(o);
	if (!listed) {
		free(*data);
		*data = NULL;
		return pb__err(err, PB_EVERIFY, "entry %llu is not the %s its row says",
		               (unsigned long long)*at, actions);
	}
	return PB_OK;
}

enum pb_status pb__log_last_entry(struct pb_ws *ws, const char *actions, const char *where,
                                  const char *text, int64_t num, uint64_t index, uint64_t *at,
                                  json_t **o, struct pb_error *err)
{
	char *data;
	size_t len;
	*o = NULL;
	enum pb_status rc = last_entry(ws, actions, where, text, num, index, at, &data, &len, err);
	if (rc || !data)
		return rc;
	json_error_t je;
	*o = json_loadb(data, len, 0, &je);
	free(data);
	return *o ? PB_OK
	          : pb__err(err, PB_EVERIFY, "entry %llu is not JSON", (unsigned long long)*at);
}

#define NAMED "json_extract(CAST(data AS TEXT), '$.details.name') = ?1"

enum pb_status pb__log_role_at(struct pb_ws *ws, const char *user, uint64_t index,
                               char role[16], uint64_t *disabled, struct pb_error *err)
{
	json_t *o;
	uint64_t at;
	role[0] = '\0';
	*disabled = 0;
	enum pb_status rc =
		pb__log_last_entry(ws, "'user.add', 'user.role'", NAMED, user, 0, index, &at, &o, err);
	if (rc)
		return rc;
	const char *r = json_string_value(json_object_get(json_object_get(o, "details"), "role"));
	pb__strlcpy(role, r ? r : "", 16);
	json_decref(o);
	if ((rc = pb__log_last_entry(ws, "'user.disable'", NAMED, user, 0, index, &at, &o, err)))
		return rc;
	if (o)
		*disabled = at + 1;
	json_decref(o);
	return PB_OK;
}

/* The web.origin entry in force at index (the last one before it): its
 * origin and RP ID, empty when none; the entry must verify, be validly
 * signed, and be by an enabled admin there by the log (the role the
 * writer asks of web.origin: pb__action_roles, lib/auth/auth.c). */
static enum pb_status origin_at(struct pb_ws *ws, uint64_t index, int depth,
                                char origin[PB_PASSKEY_ORIGIN_MAX],
                                char rp_id[PB_PASSKEY_ORIGIN_MAX], struct pb_error *err)
{
	origin[0] = rp_id[0] = '\0';
	uint64_t at;
	char *data;
	size_t len;
	enum pb_status rc =
		last_entry(ws, "'web.origin'", NULL, NULL, 0, index, &at, &data, &len, err);
	if (rc || !data)
		return rc;
	struct pb__entry_sig s;
	json_t *e = NULL;
	if (!(rc = pb__entry_sig_check(data, len, at, &s, &e, err)))
		rc = sig_valid(ws, &s, at, depth + 1, err);
	pb__entry_sig_release(&s);
	json_t *d = json_object_get(e, "details");
	const char *o = json_string_value(json_object_get(d, "origin"));
	const char *r = json_string_value(json_object_get(d, "rp_id"));
	if (!rc && (!o || !r))
		rc = pb__err(err, PB_EVERIFY, "entry %llu: web.origin lacks origin or rp_id",
		             (unsigned long long)at);
	char role[16];
	uint64_t off = 0;
	const char *actor = json_string_value(json_object_get(e, "actor"));
	if (!rc && !(rc = pb__log_role_at(ws, actor ? actor : "", at, role, &off, err)) &&
	    (strcmp(role, "admin") || off))
		rc = pb__err(err, PB_EVERIFY, "entry %llu: the web.origin is by '%s', who was %s%s "
		                              "there by the log, not an enabled admin",
		             (unsigned long long)at, actor ? actor : "?",
		             !off && role[0] ? "an " : "", off ? "disabled" : role[0] ? role : "no user");
	if (!rc) {
		pb__strlcpy(origin, o, PB_PASSKEY_ORIGIN_MAX);
		pb__strlcpy(rp_id, r, PB_PASSKEY_ORIGIN_MAX);
	}
	json_decref(e);
	free(data);
	return rc;
}

/* The largest counter of passkey fp the log shows before index: its signed
 * entries' authenticator data and its sign-ins' sign_count, each from an
 * entry that verifies (an edited row is refused, never read lower). */
static enum pb_status counter_before(struct pb_ws *ws, const char *fp, uint64_t index,
                                     uint32_t *max, struct pb_error *err)
{
	/* the candidates by the rows' bytes; each counter read again from the
	 * entry's bytes once they verify, so that an edited row cannot lower it */
	sqlite3_stmt *q;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT idx FROM (SELECT idx, CAST(data AS TEXT) AS t"
		"  FROM audit_entry WHERE idx < ?2 AND instr(CAST(data AS TEXT), ?1) > 0)"
		" WHERE json_extract(t, '$.sig.key_fp') = ?1 OR (json_extract(t, '$.action') ="
		"  'web.signin' AND json_extract(t, '$.details.key_fp') = ?1) ORDER BY idx",
		&q, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)index);
	int st = SQLITE_DONE;
	while (!rc && (st = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t at = (uint64_t)sqlite3_column_int64(q, 0);
		char *data = NULL;
		size_t len = 0;
		if ((rc = pb__audit_entry_verified(ws, at, &data, &len, err))) {
			rc = rc == PB_ENOMEM ? rc : PB_EVERIFY;
			break;
		}
		json_error_t je;
		json_t *e = json_loadb(data, len, 0, &je);
		free(data);
		json_t *sig = json_object_get(e, "sig"), *d = json_object_get(e, "details");
		const char *sfp = json_string_value(json_object_get(sig, "key_fp"));
		const char *ad = json_string_value(
			json_object_get(json_object_get(sig, "webauthn"), "authenticator_data"));
		const char *act = json_string_value(json_object_get(e, "action"));
		const char *dfp = json_string_value(json_object_get(d, "key_fp"));
		uint32_t c = 0;
		uint8_t *b = NULL;
		size_t bl = 0;
		if (sfp && !strcmp(sfp, fp) && ad &&
		    pb__b64url_decode(ad, strlen(ad), WA_AUTHDATA_MAX, &b, &bl) && bl >= 37)
			c = (uint32_t)b[33] << 24 | (uint32_t)b[34] << 16 | (uint32_t)b[35] << 8 | b[36];
		else if (act && !strcmp(act, "web.signin") && dfp && !strcmp(dfp, fp) &&
		         json_is_integer(json_object_get(d, "sign_count")))
			c = (uint32_t)json_integer_value(json_object_get(d, "sign_count"));
		free(b);
		json_decref(e);
		if (c > *max)
			*max = c;
	}
	sqlite3_finalize(q);
	if (rc)
		return rc;
	return st == SQLITE_DONE ? PB_OK : pb__db_err(ws->db, err, "cannot read the passkey counters");
}

/* One index from sql (binds: ?1 text, ?2 and ?3 integers); *found false
 * when NULL. */
static enum pb_status idx_query(struct pb_ws *ws, const char *sql, const char *t1, int64_t i2,
                                int64_t i3, bool *found, uint64_t *idx, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &q, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, t1, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, i2);
	sqlite3_bind_int64(q, 3, i3);
	int st = sqlite3_step(q);
	*found = st == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL;
	*idx = *found ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return st == SQLITE_ROW ? PB_OK : pb__db_err(ws->db, err, "cannot read the invitations");
}

static int64_t entry_time(json_t *e)
{
	const char *t = json_string_value(json_object_get(e, "time"));
	int64_t v = 0;
	if (!t || !pb_time_parse(t, strlen(t), &v, NULL))
		return INT64_MIN;
	return v;
}

/* The invitation of the user.passkey-add e (details d) at r, of user, by the
 * log itself: the user.invite it names verifies and is validly signed, and
 * the rules hold (pb__passkey_invite_why). */
static enum pb_status invite_valid(struct pb_ws *ws, json_t *e, const json_t *d, uint64_t r,
                                   const char *user, int depth, struct pb_error *err)
{
	json_t *ij = json_object_get(d, "invite");
	const char *token = json_string_value(json_object_get(d, "token"));
	if (!json_is_integer(ij) || json_integer_value(ij) < 0 ||
	    (uint64_t)json_integer_value(ij) >= r || !token)
		return pb__err(err, PB_EVERIFY, "entry %llu: user.passkey-add of '%s' in a signed log "
		                                "names no invitation (invite and token)",
		               (unsigned long long)r, user);
	uint64_t ii = (uint64_t)json_integer_value(ij), last = 0, used = 0;
	char *data = NULL;
	size_t len = 0;
	enum pb_status rc = pb__audit_entry_verified(ws, ii, &data, &len, err);
	if (rc)
		return rc == PB_ENOMEM ? rc : PB_EVERIFY;
	struct pb__entry_sig s;
	json_t *ie = NULL;
	if (!(rc = pb__entry_sig_check(data, len, ii, &s, &ie, err)))
		rc = sig_valid(ws, &s, ii, depth + 1, err);
	pb__entry_sig_release(&s);
	free(data);
	bool found;
	if (!rc)
		rc = idx_query(ws,
		               "SELECT max(idx) FROM audit_entry WHERE action IN ('user.invite',"
		               " 'user.invite-revoke') AND idx < ?2 AND"
		               " json_extract(CAST(data AS TEXT), '$.details.name') = ?1",
		               user, (int64_t)r, 0, &found, &last, err);
	if (!rc && found)
		last++;
	if (!rc)
		rc = idx_query(ws,
		               "SELECT min(idx) FROM audit_entry WHERE action = 'user.passkey-add'"
		               " AND idx < ?2 AND json_extract(CAST(data AS TEXT), '$.details.invite')"
		               " = ?3 AND ?1 IS NOT NULL",
		               user, (int64_t)r, (int64_t)ii, &found, &used, err);
	if (!rc) {
		const char *action = json_string_value(json_object_get(ie, "action"));
		json_t *id = json_object_get(ie, "details");
		struct pb__invite inv = { .time = entry_time(ie),
			                  .ttl_s = json_integer_value(json_object_get(id, "ttl_s")),
			                  .used = found ? used + 1 : 0 };
		const char *n = json_string_value(json_object_get(id, "name"));
		const char *ts = json_string_value(json_object_get(id, "token_sha256"));
		pb__strlcpy(inv.user, n ? n : "", sizeof(inv.user));
		pb__strlcpy(inv.token_sha, ts ? ts : "", sizeof(inv.token_sha));
		uint8_t h[32];
		char hex[65], buf[160];
		pb__sha256(token, strlen(token), h);
		pb_hex(h, 32, hex);
		bool is_invite = action && !strcmp(action, "user.invite");
		const char *why = pb__passkey_invite_why(is_invite ? &inv : NULL, ii, user, hex,
		                                         entry_time(e), last, buf);
		if (why)
			rc = pb__err(err, PB_EVERIFY, "entry %llu: user.passkey-add of '%s' names entry "
			                              "%llu as its invitation: %s",
			             (unsigned long long)r, user, (unsigned long long)ii, why);
	}
	json_decref(ie);
	return rc;
}

/* A passkey-signed entry (s at index) by the log itself. */
static enum pb_status passkey_valid(struct pb_ws *ws, const struct pb__entry_sig *s,
                                    uint64_t index, int depth, struct pb_error *err)
{
	if (depth > 16)
		return pb__err(err, PB_EVERIFY, "entry %llu: the key registry chain of %s is too long",
		               (unsigned long long)index, s->key_fp);
	bool found;
	uint64_t r, rv;
	const char *fp = s->key_fp, *actor = s->actor;
	char *data;
	size_t len = 0;
	json_t *e;
	enum pb_status rc = registration(ws, "user.passkey-add", "passkey", fp, index, &r, &data,
	                                 &len, &e, err);
	if (rc)
		return rc;
	json_t *d = json_object_get(e, "details");
	const char *user = json_string_value(json_object_get(d, "user"));
	char origin[PB_PASSKEY_ORIGIN_MAX], rp_id[PB_PASSKEY_ORIGIN_MAX];
	struct pb_webauthn_key key = { 0 };
	uint32_t last = 0, now = 0;
	struct pb__entry_sig rs = { 0 };
	if (!user || strcmp(user, actor)) {
		rc = pb__err(err, PB_EVERIFY, "entry %llu: passkey %s is registered to '%s', not '%s'",
		             (unsigned long long)index, fp, user ? user : "?", actor);
		goto out;
	}
	if (r > index || (r == index && strcmp(s->action, "user.passkey-add")) ||
	    (r < index && s->log_size <= r)) {
		rc = pb__err(err, PB_EVERIFY, "entry %llu: passkey %s of '%s' was registered only at "
		                              "entry %llu",
		             (unsigned long long)index, fp, actor, (unsigned long long)r);
		goto out;
	}
	/* the registration, re-checked for the origin in force there */
	if ((rc = origin_at(ws, r, depth, origin, rp_id, err)) ||
	    (rc = pb__passkey_reg_check(d, r, origin[0] ? origin : NULL, rp_id, &key, &last, err)))
		goto out;
	/* signed by the passkey it registers, unless it is this entry */
	if (r < index) {
		if ((rc = pb__entry_sig_check(data, len, r, &rs, NULL, err)))
			goto out;
		if (strcmp(rs.key_fp, fp)) {
			rc = pb__err(err, PB_EVERIFY, "entry %llu: the user.passkey-add of %s (entry %llu) "
			                              "is not signed by the passkey it registers",
			             (unsigned long long)index, fp, (unsigned long long)r);
			goto out;
		}
		if ((rc = pb__entry_webauthn_verify(&rs, r, &key, origin, rp_id, NULL, err)))
			goto out;
	}
	if ((rc = invite_valid(ws, e, d, r, actor, depth, err)) ||
	    (rc = key_entry(ws, "user.passkey-revoke", fp, (int64_t)r, &found, &rv, err)))
		goto out;
	if (found && index > rv) {
		rc = pb__err(err, PB_EVERIFY, "entry %llu: passkey %s of '%s' was revoked at entry %llu",
		             (unsigned long long)index, fp, actor, (unsigned long long)rv);
		goto out;
	}
	if ((rc = origin_at(ws, index, depth, origin, rp_id, err)) ||
	    (rc = pb__entry_webauthn_verify(s, index, &key, origin[0] ? origin : NULL, rp_id, &now,
	                                    err)) ||
	    (rc = counter_before(ws, fp, index, &last, err)))
		goto out;
	if (!pb__webauthn_counter_ok(last, now))
		rc = pb__err(err, PB_EVERIFY, "entry %llu: passkey %s signed with counter %lu, not "
		                              "above %lu seen before it (a replayed assertion or a "
		                              "cloned authenticator)",
		             (unsigned long long)index, fp, (unsigned long)now, (unsigned long)last);
out:
	pb__entry_sig_release(&rs);
	pb__webauthn_key_release(&key);
	json_decref(e);
	free(data);
	return rc;
}

static enum pb_status sig_valid(struct pb_ws *ws, const struct pb__entry_sig *s, uint64_t index,
                                int depth, struct pb_error *err)
{
	if (s->webauthn)
		return passkey_valid(ws, s, index, depth, err);
	return key_valid(ws, s->actor, s->key_fp, index, depth, err);
}

enum pb_status pb__entry_sig_valid(struct pb_ws *ws, const struct pb__entry_sig *s,
                                   uint64_t index, struct pb_error *err)
{
	return sig_valid(ws, s, index, 0, err);
}

enum pb_status pb__checkpoint_sig_parts(const char *actor, const char *origin, uint64_t size,
                                        const uint8_t root[32], const json_t *sig,
                                        struct pb__entry_sig *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	json_t *e = json_pack("{s:o*}", "details", pb__checkpoint_details(origin, size, root));
	if (!e || !json_object_get(e, "details")) {
		json_decref(e);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	struct sig_fields f;
	sig_fields(json_is_object(sig) ? (json_t *)sig : NULL, &f);
	enum pb_status rc = check_parts("log.checkpoint", actor, true, &f, NULL, e, size, out, err);
	if (!rc && (out->log_size != size || memcmp(out->log_root, root, 32) != 0))
		rc = bad(err, size, "its actor's statement names another log than the checkpoint");
	json_decref(e);
	return rc;
}

enum pb_status pb__checkpoint_sig_check(struct pb_ws *ws, const char *actor, const char *origin,
                                        uint64_t size, const uint8_t root[32],
                                        const char *sig_json, struct pb_error *err)
{
	json_error_t je;
	json_t *s = json_loads(sig_json, 0, &je);
	struct pb__entry_sig out;
	enum pb_status rc = pb__checkpoint_sig_parts(actor, origin, size, root, s, &out, err);
	if (!rc)
		rc = pb__entry_sig_valid(ws, &out, size, err);
	pb__entry_sig_release(&out);
	json_decref(s);
	return rc;
}

/* ---- what an auditor takes to ssh-keygen ---------------------------------------- */

enum pb_status pb_log_statement(struct pb_ws *ws, uint64_t index, char **statement,
                                char **sig_armoured, const char **ns, struct pb_error *err)
{
	*statement = NULL;
	if (sig_armoured)
		*sig_armoured = NULL;
	if (ns)
		*ns = NULL;
	char *data = NULL;
	size_t len = 0;
	enum pb_status rc = pb_audit_entry_data(ws, index, &data, &len, err);
	if (rc)
		return rc;
	json_error_t je;
	json_t *e = json_loadb(data, len, 0, &je), *s = json_object_get(e, "sig");
	free(data);
	const char *action = json_string_value(json_object_get(e, "action"));
	const char *actor = json_string_value(json_object_get(e, "actor"));
	struct sig_fields f;
	sig_fields(s, &f);
	const char *nonce = f.nonce, *b64 = f.b64;
	uint8_t rootb[32], bin[SSHSIG_BIN_MAX];
	size_t binlen = 0;
	if (!action || !actor || !s) {
		rc = pb__err(err, PB_ENOENT, "log entry %llu carries no signature",
		             (unsigned long long)index);
		goto out;
	}
	if (!f.ok || sodium_hex2bin(rootb, 32, f.root, 64, NULL, NULL, NULL) != 0) {
		rc = pb__err(err, PB_EVERIFY, "log entry %llu: its \"sig\" is malformed",
		             (unsigned long long)index);
		goto out;
	}
	if ((rc = pb__statement_text(action, actor, json_integer_value(json_object_get(e, "case")),
	                             json_string_value(json_object_get(e, "subject")),
	                             json_object_get(e, "details"), f.size, rootb, nonce, statement,
	                             err)))
		goto out;
	if (ns)
		*ns = pb__statement_ns(action);
	if (sig_armoured && !b64) {
		rc = pb__err(err, PB_EINVAL, "log entry %llu is signed by a passkey: its signature is "
		                             "a WebAuthn assertion, not an SSHSIG (docs/identity.md)",
		             (unsigned long long)index);
		goto out;
	}
	if (sig_armoured) {
		if (!sshsig_b64_decode(b64, f.b64_len, bin, &binlen)) {
			rc = pb__err(err, PB_EVERIFY, "log entry %llu: its signature is not base64",
			             (unsigned long long)index);
			goto out;
		}
		if (!(*sig_armoured = pb__sshsig_armour(bin, binlen)))
			rc = pb__err(err, PB_ENOMEM, "out of memory");
	}
out:
	if (rc) {
		free(*statement);
		*statement = NULL;
	}
	json_decref(e);
	return rc;
}

enum pb_status pb_log_keys(struct pb_ws *ws, bool (*fn)(void *ctx, const struct pb_log_key *k),
                           void *ctx, struct pb_error *err)
{
	/* the entries' own text, found through the copied action column */
	static const char sql[] =
		"WITH reg AS (SELECT idx, json_extract(CAST(data AS TEXT), '$.action') AS a,"
		"  json_extract(CAST(data AS TEXT), '$.time') AS t,"
		"  json_extract(CAST(data AS TEXT), '$.details') AS d FROM audit_entry"
		"  WHERE action IN ('user.add', 'user.key-add', 'user.key-revoke')"
		"  AND json_valid(CAST(data AS TEXT)))"
		" SELECT CASE r.a WHEN 'user.add' THEN json_extract(r.d, '$.name')"
		"  ELSE json_extract(r.d, '$.user') END AS u, json_extract(r.d, '$.key'),"
		"  json_extract(r.d, '$.key_fp') AS fp, r.idx, r.t, v.idx, v.t"
		" FROM reg r LEFT JOIN reg v ON v.idx = (SELECT min(x.idx) FROM reg x"
		"  WHERE x.a = 'user.key-revoke' AND json_extract(x.d, '$.key_fp') ="
		"  json_extract(r.d, '$.key_fp') AND x.idx > r.idx)"
		" WHERE r.a IN ('user.add', 'user.key-add') AND json_extract(r.d, '$.key_fp') IS NOT NULL"
		"  AND json_extract(r.d, '$.key') IS NOT NULL ORDER BY u, r.idx";
	sqlite3_stmt *q;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &q, err);
	if (rc)
		return rc;
	int s;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		struct pb_log_key k = {
			.user = (const char *)sqlite3_column_text(q, 0),
			.key = (const char *)sqlite3_column_text(q, 1),
			.fp = (const char *)sqlite3_column_text(q, 2),
			.added_idx = (uint64_t)sqlite3_column_int64(q, 3),
			.added_at = (const char *)sqlite3_column_text(q, 4),
			.revoked = sqlite3_column_type(q, 5) != SQLITE_NULL,
			.revoked_idx = (uint64_t)sqlite3_column_int64(q, 5),
			.revoked_at = (const char *)sqlite3_column_text(q, 6),
		};
		if (!k.user || !k.key || !k.fp)
			continue;
		if (!k.added_at)
			k.added_at = "";
		if (!fn(ctx, &k))
			break;
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read the key registry from the log");
	sqlite3_finalize(q);
	return rc;
}

/* "2026-12-06T21:20:05Z" -> "20261206212005Z" (ssh-keygen's time, UTC) */
static bool ssh_time(const char *t, char out[16])
{
	size_t n = 0;
	for (const char *p = t; p && *p && *p != 'Z' && n < 14; p++)
		if (*p >= '0' && *p <= '9')
			out[n++] = *p;
	if (n != 14)
		return false;
	out[n++] = 'Z';
	out[n] = '\0';
	return true;
}

struct signers {
	struct pb_buf b;
	enum pb_status rc;
};

static bool signer_line(void *ctx, const struct pb_log_key *k)
{
	struct signers *s = ctx;
	char after[16], before[16];
	if (!ssh_time(k->added_at, after)) {
		s->rc = PB_EVERIFY;
		return false;
	}
	for (const char *p = k->user; *p; p++) /* names are [A-Za-z0-9._-]: no quoting */
		if (!(p[0] == '.' || p[0] == '_' || p[0] == '-' || (p[0] >= '0' && p[0] <= '9') ||
		      ((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z'))) {
			s->rc = PB_EVERIFY;
			return false;
		}
	s->rc = pb_buf_printf(&s->b, "%s namespaces=\"%s,%s\",valid-after=\"%s\"", k->user,
	                      PB_STATEMENT_NS, PB_STATEMENT_NS_APPROVE, after);
	if (!s->rc && k->revoked && ssh_time(k->revoked_at, before))
		s->rc = pb_buf_printf(&s->b, ",valid-before=\"%s\"", before);
	if (!s->rc)
		s->rc = pb_buf_printf(&s->b, " %s\n", k->key);
	return !s->rc;
}

enum pb_status pb_log_keys_allowed_signers(struct pb_ws *ws, char **out, struct pb_error *err)
{
	*out = NULL;
	struct signers s = { .rc = PB_OK };
	pb_buf_init(&s.b, 1 << 24);
	enum pb_status rc = pb_log_keys(ws, signer_line, &s, err);
	if (!rc && s.rc)
		rc = s.rc == PB_EVERIFY
		             ? pb__err(err, PB_EVERIFY, "the log's key registry holds a user name or "
		                                        "time an allowed_signers file cannot")
		             : pb__err(err, s.rc, "out of memory");
	if (!rc && !(*out = pb__strndup(s.b.data ? s.b.data : "", s.b.len)))
		rc = pb__err(err, PB_ENOMEM, "out of memory");
	pb_buf_release(&s.b);
	return rc;
}
