/* webauthn.c - the bytes of passkeys (W3C WebAuthn Level 2): COSE keys,
 * authenticator data, attestation objects, client data JSON, assertion
 * signatures, base64url.
 *
 * Every CBOR item is walked by scan() on the raw bytes before libcbor sees
 * it: definite lengths only (CTAP2's canonical form and WebAuthn's
 * attestation object never use indefinite ones), every declared length
 * within the bytes left (libcbor 0.8 allocates a declared array or map
 * size before reading it), a depth limit, and the item's exact end, so a
 * caller knows what follows it. libcbor then builds the tree, and the
 * readers below insist on each member's type and reject duplicate keys.
 *
 * ES256 assertion signatures go through libfido2's fido_assert_verify,
 * which checks the RP ID hash, the UP/UV flags and the signature over
 * authData || SHA-256(clientDataJSON); the checks before it are ours so
 * that a refusal says which part failed. EdDSA ones do not: libfido2 checks
 * Ed25519 with OpenSSL, which made a whole verification 2.4 times
 * libsodium's crypto_sign_verify_detached of the same bytes where
 * libsodium itself gives 1.06 (bench/webauthn), and libsodium is what
 * verifies every other Ed25519 signature of the log (SSHSIG). The packed
 * self attestation signature of a registration is checked the same direct
 * way (OpenSSL for ES256): libfido2's fido_cred_verify_self wants a
 * fido_cred_t rebuilt from parts (its own CBOR re-encoding of the
 * authenticator data and attestation statement), more code and more
 * parsing than the one signature check it stands for.
 */
#include "ident/webauthn.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <fido.h>
#include <fido/es256.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "ident/ident_internal.h"
#include "util/util.h"

#include "util/banned.h"

#define ATT_MAX 65536     /* an attestation object (packed with x5c: a few KB) */
#define AUTHDATA_MAX 8192 /* authenticator data with a key and extensions */
#define CDJ_MAX 8192      /* client data JSON: browsers send 150-300 bytes */
#define SIG_MAX 512       /* a DER ECDSA or Ed25519 signature */
#define CBOR_DEPTH 8      /* deepest nesting of what we read: attStmt's x5c */
#define AUTHDATA_FIXED 37 /* rpIdHash, flags, signCount */

/* ---- base64url --------------------------------------------------------- */

char *pb__b64url_encode(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);
	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

bool pb__b64url_decode(const char *s, size_t n, size_t cap, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	/* found by fuzz_webauthn: libsodium alone would take 0xdf as '_' */
	if (!pb__b64_alphabet(s, n, "-_"))
		return false;
	size_t want = n / 4 * 3 + 2;
	size_t room = want < cap ? want : cap;
	uint8_t *b = malloc(room ? room : 1);
	if (!b)
		return false;
	const char *end = NULL;
	size_t got = 0;
	/* libsodium refuses padding, characters outside the alphabet and
	 * non-zero unused bits: one spelling per byte string */
	if (sodium_base642bin(b, room, s, n, NULL, &got, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + n) {
		free(b);
		return false;
	}
	*out = b;
	*out_len = got;
	return true;
}

void pb__webauthn_challenge(const char *statement, size_t len, uint8_t out[32])
{
	pb__sha256(statement, len, out);
}

void pb__webauthn_fingerprint(const uint8_t *cred_id, size_t n, char out[PB_WEBAUTHN_FP_MAX])
{
	uint8_t h[32];
	pb__sha256(cred_id, n, h);
	char b[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	sodium_bin2base64(b, sizeof(b), h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	pb__snprintf(out, PB_WEBAUTHN_FP_MAX, "webauthn:%s", b);
}

/* ---- CBOR ----------------------------------------------------------------- */

/* The argument of the head at p[*off]: major type into *major, the value
 * (a length, a count, an integer) into *val. False when truncated, a
 * reserved additional info, or an indefinite length. */
static bool head(const uint8_t *p, size_t len, size_t *off, int *major, uint64_t *val)
{
	if (*off >= len)
		return false;
	uint8_t b = p[(*off)++];
	*major = b >> 5;
	uint8_t ai = b & 31;
	if (ai < 24) {
		*val = ai;
		return true;
	}
	if (ai > 27) /* 28-30 reserved, 31 indefinite length or break */
		return false;
	size_t n = (size_t)1 << (ai - 24);
	if (len - *off < n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[(*off)++];
	*val = v;
	return true;
}

/* Walks one well-formed item at p[*off], leaving *off after it. */
static bool scan(const uint8_t *p, size_t len, size_t *off, int depth)
{
	int major;
	uint64_t v;
	if (depth > CBOR_DEPTH || !head(p, len, off, &major, &v))
		return false;
	switch (major) {
	case 0: case 1: case 7: /* integers; simple values and floats (head read them) */
		return true;
	case 2: case 3:
		if (v > len - *off)
			return false;
		*off += (size_t)v;
		return true;
	case 4: case 5: {
		/* each item takes one byte at least: a count over what is left
		 * is a lie, whatever it would make libcbor allocate */
		uint64_t items = v;
		if (major == 5 && items > (len - *off) / 2)
			return false;
		if (items > len - *off)
			return false;
		if (major == 5)
			items *= 2;
		for (uint64_t i = 0; i < items; i++)
			if (!scan(p, len, off, depth + 1))
				return false;
		return true;
	}
	case 6:
		return scan(p, len, off, depth + 1);
	}
	return false;
}

/* Loads the CBOR item at the start of p[0..len) into *item, its length
 * into *used; with exact, nothing may follow it. what names it in
 * messages. */
static enum pb_status load(const uint8_t *p, size_t len, bool exact, const char *field,
                           const char *what, cbor_item_t **item, size_t *used,
                           struct pb_error *err)
{
	*item = NULL;
	size_t end = 0;
	if (!scan(p, len, &end, 0))
		return pb__err_field(err, PB_EFORMAT, field,
		                     "%s: expected one definite-length CBOR item (truncated or "
		                     "malformed)", what);
	if (exact && end != len)
		return pb__err_field(err, PB_EFORMAT, field, "%s: %zu bytes after the CBOR item", what,
		                     len - end);
	struct cbor_load_result res;
	cbor_item_t *it = cbor_load(p, end, &res);
	if (!it || res.error.code != CBOR_ERR_NONE || res.read != end) {
		if (it)
			cbor_decref(&it);
		if (res.error.code == CBOR_ERR_MEMERROR)
			return pb__err(err, PB_ENOMEM, "out of memory");
		return pb__err_field(err, PB_EFORMAT, field, "%s: malformed CBOR", what);
	}
	*item = it;
	*used = end;
	return PB_OK;
}

/* A map key as an integer (COSE labels), false when not one. */
static bool key_int(cbor_item_t *k, int64_t *v)
{
	if (!cbor_isa_uint(k) && !cbor_isa_negint(k))
		return false;
	uint64_t u = cbor_get_int(k);
	if (u > INT64_MAX)
		return false;
	*v = cbor_isa_uint(k) ? (int64_t)u : -1 - (int64_t)u;
	return true;
}

/* Whether two map keys are the same (integer or text keys). */
static bool key_same(cbor_item_t *a, cbor_item_t *b)
{
	if (cbor_typeof(a) != cbor_typeof(b))
		return false;
	if (cbor_isa_uint(a) || cbor_isa_negint(a))
		return cbor_get_int(a) == cbor_get_int(b);
	if (cbor_isa_string(a) || cbor_isa_bytestring(a)) {
		size_t na = cbor_isa_string(a) ? cbor_string_length(a) : cbor_bytestring_length(a);
		size_t nb = cbor_isa_string(b) ? cbor_string_length(b) : cbor_bytestring_length(b);
		const void *pa = cbor_isa_string(a) ? cbor_string_handle(a) : cbor_bytestring_handle(a);
		const void *pb = cbor_isa_string(b) ? cbor_string_handle(b) : cbor_bytestring_handle(b);
		return na == nb && (na == 0 || memcmp(pa, pb, na) == 0);
	}
	return false; /* other key types are refused before this is asked */
}

/* Checks a map's keys: integers or text only, no key twice (RFC 8949
 * section 5.6: a map with duplicate keys is not valid). */
static enum pb_status map_keys_check(cbor_item_t *m, const char *field, const char *what,
                                     struct pb_error *err)
{
	struct cbor_pair *pr = cbor_map_handle(m);
	size_t n = cbor_map_size(m);
	for (size_t i = 0; i < n; i++) {
		cbor_item_t *k = pr[i].key;
		if (!cbor_isa_uint(k) && !cbor_isa_negint(k) && !cbor_isa_string(k))
			return pb__err_field(err, PB_EFORMAT, field,
			                     "%s: expected integer or text map keys", what);
		for (size_t j = 0; j < i; j++)
			if (key_same(pr[j].key, k))
				return pb__err_field(err, PB_EFORMAT, field,
				                     "%s: a map key appears twice", what);
	}
	return PB_OK;
}

static bool text_is(cbor_item_t *k, const char *s)
{
	size_t n = strlen(s);
	return cbor_isa_string(k) && cbor_string_length(k) == n &&
	       memcmp(cbor_string_handle(k), s, n) == 0;
}

/* The members of map m named names[0..n) (text keys) into out[0..n); the
 * others are left alone (NULL when absent). */
static void text_members(cbor_item_t *m, const char *const *names, cbor_item_t **out, size_t n)
{
	struct cbor_pair *pr = cbor_map_handle(m);
	for (size_t i = 0; i < cbor_map_size(m); i++)
		for (size_t j = 0; j < n; j++)
			if (text_is(pr[i].key, names[j]))
				out[j] = pr[i].value;
}

/* ---- COSE keys -------------------------------------------------------- */

void pb__webauthn_key_release(struct pb_webauthn_key *k)
{
	if (!k)
		return;
	free(k->cose);
	memset(k, 0, sizeof(*k));
}

/* Whether 0x04||x||y is a point of P-256 (OpenSSL refuses one that is not
 * on the curve when it decodes it). */
static bool p256_point_ok(const uint8_t pk[65])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
	bool ok = pt && EC_POINT_oct2point(g, pt, pk, 65, NULL) == 1 &&
	          EC_POINT_is_on_curve(g, pt, NULL) == 1 && !EC_POINT_is_at_infinity(g, pt);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return ok;
}

/* A bstr member of exactly n bytes into out. */
static bool cose_bytes(cbor_item_t *v, uint8_t *out, size_t n)
{
	if (!cbor_isa_bytestring(v) || cbor_bytestring_length(v) != n)
		return false;
	memcpy(out, cbor_bytestring_handle(v), n);
	return true;
}

#define COSE_KTY 1
#define COSE_ALG 3
#define COSE_CRV (-1)
#define COSE_X (-2)
#define COSE_Y (-3)
#define KTY_OKP 1
#define KTY_EC2 2
#define CRV_P256 1
#define CRV_ED25519 6

static enum pb_status cose_from_item(cbor_item_t *m, struct pb_webauthn_key *out,
                                     struct pb_error *err)
{
	const char *F = "credential";
	if (!cbor_isa_map(m))
		return pb__err_field(err, PB_EFORMAT, F, "credential key: expected a COSE_Key map");
	enum pb_status st = map_keys_check(m, F, "credential key", err);
	if (st != PB_OK)
		return st;
	int64_t kty = 0, alg = 0, crv = 0;
	bool has_kty = false, has_alg = false, has_crv = false;
	cbor_item_t *x = NULL, *y = NULL;
	struct cbor_pair *pr = cbor_map_handle(m);
	for (size_t i = 0; i < cbor_map_size(m); i++) {
		int64_t label;
		if (!key_int(pr[i].key, &label))
			continue; /* text labels: none that we use */
		cbor_item_t *v = pr[i].value;
		int64_t *dst = label == COSE_KTY ? &kty : label == COSE_ALG ? &alg
		             : label == COSE_CRV ? &crv : NULL;
		if (dst) {
			if (!key_int(v, dst))
				return pb__err_field(err, PB_EFORMAT, F,
				                     "credential key: label %lld must be an integer",
				                     (long long)label);
			if (label == COSE_KTY)
				has_kty = true;
			else if (label == COSE_ALG)
				has_alg = true;
			else
				has_crv = true;
		} else if (label == COSE_X) {
			x = v;
		} else if (label == COSE_Y) {
			y = v;
		}
	}
	if (!has_kty || !has_alg || !has_crv || !x)
		return pb__err_field(err, PB_EFORMAT, F,
		                     "credential key: expected kty (1), alg (3), crv (-1) and x (-2)");
	memset(out, 0, sizeof(*out));
	if (alg == PB_COSE_ES256) {
		if (kty != KTY_EC2 || crv != CRV_P256)
			return pb__err_field(err, PB_EFORMAT, F,
			                     "credential key: ES256 needs kty EC2 (2) and crv P-256 (1), "
			                     "not kty %lld crv %lld", (long long)kty, (long long)crv);
		out->pk[0] = 0x04;
		if (!cose_bytes(x, out->pk + 1, 32) || !y || !cose_bytes(y, out->pk + 33, 32))
			return pb__err_field(err, PB_EFORMAT, F,
			                     "credential key: ES256 needs x and y of 32 bytes each");
		if (!p256_point_ok(out->pk))
			return pb__err_field(err, PB_EFORMAT, F,
			                     "credential key: the ES256 point is not on P-256");
		out->pk_len = 65;
	} else if (alg == PB_COSE_EDDSA) {
		if (kty != KTY_OKP || crv != CRV_ED25519)
			return pb__err_field(err, PB_EFORMAT, F,
			                     "credential key: EdDSA needs kty OKP (1) and crv Ed25519 "
			                     "(6), not kty %lld crv %lld", (long long)kty, (long long)crv);
		if (y || !cose_bytes(x, out->pk, 32))
			return pb__err_field(err, PB_EFORMAT, F,
			                     "credential key: EdDSA needs x of 32 bytes and no y");
		if (!crypto_core_ed25519_is_valid_point(out->pk))
			return pb__err_field(err, PB_EFORMAT, F,
			                     "credential key: the Ed25519 key is not a valid point");
		out->pk_len = 32;
	} else {
		return pb__err_field(err, PB_EFORMAT, F,
		                     "credential key: algorithm %lld is not ES256 (-7) or EdDSA (-8)",
		                     (long long)alg);
	}
	out->alg = (enum pb_cose_alg)alg;
	return PB_OK;
}

enum pb_status pb__cose_key_parse(const uint8_t *cbor, size_t len, struct pb_webauthn_key *out,
                                  struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > AUTHDATA_MAX)
		return pb__err_field(err, PB_ELIMIT, "credential",
		                     "credential key of %zu bytes is over %d", len, AUTHDATA_MAX);
	cbor_item_t *m;
	size_t used;
	enum pb_status st = load(cbor, len, true, "credential", "credential key", &m, &used, err);
	if (st != PB_OK)
		return st;
	st = cose_from_item(m, out, err);
	cbor_decref(&m);
	if (st != PB_OK)
		return st;
	out->cose = malloc(len);
	if (!out->cose) {
		memset(out, 0, sizeof(*out));
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	memcpy(out->cose, cbor, len);
	out->cose_len = len;
	return PB_OK;
}

/* ---- authenticator data ------------------------------------------------ */

enum pb_status pb__webauthn_authdata_parse(const uint8_t *p, size_t len,
                                           struct pb_webauthn_authdata *out,
                                           struct pb_error *err)
{
	const char *F = "authenticator_data";
	memset(out, 0, sizeof(*out));
	if (len > AUTHDATA_MAX)
		return pb__err_field(err, PB_ELIMIT, F, "authenticator data of %zu bytes is over %d",
		                     len, AUTHDATA_MAX);
	if (len < AUTHDATA_FIXED)
		return pb__err_field(err, PB_EFORMAT, F,
		                     "authenticator data: expected 37 bytes at least, got %zu", len);
	memcpy(out->rp_id_hash, p, 32);
	out->flags = p[32];
	out->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 |
	                  p[36];
	size_t off = AUTHDATA_FIXED;
	if (out->flags & PB_WEBAUTHN_AT) {
		if (len - off < 18)
			return pb__err_field(err, PB_EFORMAT, F,
			                     "authenticator data: attested credential data truncated");
		memcpy(out->aaguid, p + off, 16);
		size_t n = (size_t)p[off + 16] << 8 | p[off + 17];
		off += 18;
		if (n == 0 || n > PB_WEBAUTHN_CRED_ID_MAX)
			return pb__err_field(err, PB_EFORMAT, F,
			                     "authenticator data: credential id of %zu bytes (1 to %d)",
			                     n, PB_WEBAUTHN_CRED_ID_MAX);
		if (len - off < n)
			return pb__err_field(err, PB_EFORMAT, F,
			                     "authenticator data: credential id truncated");
		out->cred_id = p + off;
		out->cred_id_len = n;
		off += n;
		size_t end = off;
		if (!scan(p, len, &end, 0))
			return pb__err_field(err, PB_EFORMAT, F,
			                     "authenticator data: expected the credential's COSE key");
		out->cose = p + off;
		out->cose_len = end - off;
		out->has_cred = true;
		off = end;
	}
	if (out->flags & PB_WEBAUTHN_ED) {
		size_t end = off;
		if (off >= len || p[off] >> 5 != 5 || !scan(p, len, &end, 0))
			return pb__err_field(err, PB_EFORMAT, F,
			                     "authenticator data: expected the extensions map");
		off = end;
	}
	if (off != len)
		return pb__err_field(err, PB_EFORMAT, F,
		                     "authenticator data: %zu bytes after its last part", len - off);
	return PB_OK;
}

/* ---- client data ------------------------------------------------------- */

static enum pb_status client_data_check(const char *cdj, size_t n, const char *type,
                                        const struct pb_webauthn_expect *want,
                                        struct pb_error *err)
{
	const char *F = "client_data";
	if (n > CDJ_MAX)
		return pb__err_field(err, PB_ELIMIT, F, "client data of %zu bytes is over %d", n,
		                     CDJ_MAX);
	json_error_t je;
	json_t *j = json_loadb(cdj, n, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return pb__err_field(err, PB_EFORMAT, F, "client data: not JSON: %s", je.text);
	enum pb_status st = PB_EFORMAT;
	json_t *t = json_object_get(j, "type"), *c = json_object_get(j, "challenge"),
	       *o = json_object_get(j, "origin"), *x = json_object_get(j, "crossOrigin");
	if (!json_is_object(j) || !json_is_string(t) || !json_is_string(c) || !json_is_string(o) ||
	    (x && !json_is_boolean(x))) {
		pb__err_field(err, st, F, "client data: expected an object with text 'type', "
		              "'challenge' and 'origin' (and a boolean 'crossOrigin')");
		goto out;
	}
	st = PB_EVERIFY;
	if (strcmp(json_string_value(t), type) != 0) {
		char shown[40];
		pb__ident_printable(json_string_value(t), json_string_length(t), shown, sizeof(shown));
		pb__err_field(err, st, F, "client data: type '%s' where '%s' was expected", shown,
		              type);
		goto out;
	}
	uint8_t *ch = NULL;
	size_t ch_len = 0;
	if (!pb__b64url_decode(json_string_value(c), json_string_length(c), 1024, &ch, &ch_len)) {
		pb__err_field(err, PB_EFORMAT, F, "client data: the challenge is not base64url");
		st = PB_EFORMAT;
		goto out;
	}
	bool same = !want->challenge ||
	            (ch_len == want->challenge_len &&
	             (ch_len == 0 || memcmp(ch, want->challenge, ch_len) == 0));
	free(ch);
	if (!same) {
		pb__err_field(err, st, F, "client data: the challenge is not the one expected");
		goto out;
	}
	if (!want->origin || json_string_length(o) != strlen(want->origin) ||
	    strcmp(json_string_value(o), want->origin) != 0) {
		char shown[80];
		pb__ident_printable(json_string_value(o), json_string_length(o), shown, sizeof(shown));
		pb__err_field(err, st, F, "client data: origin '%s' where '%s' was expected", shown,
		              want->origin ? want->origin : "");
		goto out;
	}
	if (json_is_true(x)) {
		pb__err_field(err, st, F, "client data: the ceremony was cross-origin (an iframe of "
		              "another site)");
		goto out;
	}
	st = PB_OK;
out:
	json_decref(j);
	return st;
}

/* The RP ID hash and the flags a relying party requires. */
static enum pb_status authdata_check(const struct pb_webauthn_authdata *ad,
                                     const struct pb_webauthn_expect *want, struct pb_error *err)
{
	const char *F = "authenticator_data";
	uint8_t h[32];
	const char *rp = want->rp_id ? want->rp_id : "";
	pb__sha256(rp, strlen(rp), h);
	if (sodium_memcmp(h, ad->rp_id_hash, 32) != 0)
		return pb__err_field(err, PB_EVERIFY, F,
		                     "authenticator data: the RP ID hash is not SHA-256('%s')", rp);
	if (!(ad->flags & PB_WEBAUTHN_UP))
		return pb__err_field(err, PB_EVERIFY, F,
		                     "authenticator data: user presence (UP) is not set");
	if (want->require_uv && !(ad->flags & PB_WEBAUTHN_UV))
		return pb__err_field(err, PB_EVERIFY, F,
		                     "authenticator data: user verification (UV) is required and "
		                     "not set");
	return PB_OK;
}

/* ---- signatures ---------------------------------------------------------- */

/* Verifies sig over msg with key: ES256 (DER ECDSA over SHA-256) through
 * OpenSSL, EdDSA through libsodium. */
static bool raw_verify(const struct pb_webauthn_key *key, const uint8_t *msg, size_t n,
                       const uint8_t *sig, size_t sig_len)
{
	if (key->alg == PB_COSE_EDDSA)
		return sig_len == crypto_sign_BYTES &&
		       crypto_sign_verify_detached(sig, msg, n, key->pk) == 0;
	bool ok = false;
	es256_pk_t *pk = es256_pk_new();
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	if (!pk || es256_pk_from_ptr(pk, key->pk, key->pk_len) != FIDO_OK)
		goto out;
	pkey = es256_pk_to_EVP_PKEY(pk);
	md = EVP_MD_CTX_new();
	ok = pkey && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(md, sig, sig_len, msg, n) == 1;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	es256_pk_free(&pk);
	return ok;
}

/* An assertion's signature: ES256 through fido_assert_verify (the flags
 * were checked before, so UP/UV are asked of libfido2 too only as a second
 * look), EdDSA through libsodium over authData || SHA-256(clientDataJSON). */
static bool assertion_sig_ok(const struct pb_webauthn_key *key,
                             const struct pb_webauthn_assertion *a,
                             const struct pb_webauthn_expect *want)
{
	if (key->alg == PB_COSE_EDDSA) {
		uint8_t msg[AUTHDATA_MAX + 32];
		memcpy(msg, a->auth_data, a->auth_data_len);
		pb__sha256(a->client_data_json, a->cdj_len, msg + a->auth_data_len);
		return raw_verify(key, msg, a->auth_data_len + 32, a->sig, a->sig_len);
	}
	bool ok = false;
	fido_assert_t *fa = fido_assert_new();
	es256_pk_t *es = es256_pk_new();
	if (!fa || !es || es256_pk_from_ptr(es, key->pk, key->pk_len) != FIDO_OK)
		goto out;
	if (fido_assert_set_count(fa, 1) != FIDO_OK ||
	    fido_assert_set_rp(fa, want->rp_id) != FIDO_OK ||
	    fido_assert_set_clientdata(fa, (const unsigned char *)a->client_data_json,
	                               a->cdj_len) != FIDO_OK ||
	    fido_assert_set_authdata_raw(fa, 0, a->auth_data, a->auth_data_len) != FIDO_OK ||
	    fido_assert_set_sig(fa, 0, a->sig, a->sig_len) != FIDO_OK ||
	    fido_assert_set_up(fa, FIDO_OPT_TRUE) != FIDO_OK ||
	    fido_assert_set_uv(fa, want->require_uv ? FIDO_OPT_TRUE : FIDO_OPT_OMIT) != FIDO_OK)
		goto out;
	ok = fido_assert_verify(fa, 0, COSE_ES256, es) == FIDO_OK;
out:
	es256_pk_free(&es);
	fido_assert_free(&fa);
	return ok;
}

/* ---- assertions -------------------------------------------------------- */

enum pb_status pb__webauthn_assert_verify(const struct pb_webauthn_key *key,
                                          const struct pb_webauthn_assertion *a,
                                          const struct pb_webauthn_expect *want,
                                          uint32_t *sign_count, struct pb_error *err)
{
	if (sign_count)
		*sign_count = 0;
	if (!key || (key->alg != PB_COSE_ES256 && key->alg != PB_COSE_EDDSA) ||
	    key->pk_len != (key->alg == PB_COSE_ES256 ? 65u : 32u))
		return pb__err_field(err, PB_EINVAL, "credential", "credential key: not set");
	if (!want->rp_id || !want->origin)
		return pb__err(err, PB_EINVAL, "an assertion needs the expected RP ID and origin");
	struct pb_webauthn_authdata ad;
	enum pb_status st = pb__webauthn_authdata_parse(a->auth_data, a->auth_data_len, &ad, err);
	if (st != PB_OK)
		return st;
	if (ad.has_cred)
		return pb__err_field(err, PB_EFORMAT, "authenticator_data",
		                     "authenticator data: attested credential data in an assertion");
	st = client_data_check(a->client_data_json, a->cdj_len, "webauthn.get", want, err);
	if (st == PB_OK)
		st = authdata_check(&ad, want, err);
	if (st != PB_OK)
		return st;
	if (a->sig_len == 0 || a->sig_len > SIG_MAX)
		return pb__err_field(err, PB_EFORMAT, "signature", "signature of %zu bytes (1 to %d)",
		                     a->sig_len, SIG_MAX);
	if (!assertion_sig_ok(key, a, want))
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "signature: does not verify with the passkey's %s key",
		                     key->alg == PB_COSE_ES256 ? "ES256" : "EdDSA");
	if (sign_count)
		*sign_count = ad.sign_count;
	return PB_OK;
}

/* ---- registration ------------------------------------------------------- */

void pb__webauthn_reg_release(struct pb_webauthn_reg *r)
{
	if (!r)
		return;
	free(r->cred_id);
	pb__webauthn_key_release(&r->key);
	memset(r, 0, sizeof(*r));
}

/* The attestation statement of fmt "packed" (section 8.2). Self attestation
 * (no x5c) is checked: alg is the credential's, sig is its signature over
 * authData || SHA-256(clientDataJSON). With x5c (full attestation) the
 * statement is kept unchecked: we trust no vendor's root, the registering
 * log entry makes the key the user's. */
static enum pb_status packed_check(cbor_item_t *stmt, const uint8_t *auth, size_t auth_len,
                                   const char *cdj, size_t cdj_len,
                                   const struct pb_webauthn_key *key, struct pb_error *err)
{
	const char *F = "attestation";
	static const char *const names[] = { "alg", "sig", "x5c" };
	cbor_item_t *v[3] = { NULL, NULL, NULL };
	text_members(stmt, names, v, 3);
	cbor_item_t *alg = v[0], *sig = v[1], *x5c = v[2];
	int64_t a;
	if (!alg || !key_int(alg, &a) || !sig || !cbor_isa_bytestring(sig) ||
	    (x5c && !cbor_isa_array(x5c)))
		return pb__err_field(err, PB_EFORMAT, F,
		                     "attestation: packed needs an integer 'alg' and a byte string "
		                     "'sig' (and an array 'x5c')");
	if (x5c)
		return PB_OK;
	if (a != key->alg)
		return pb__err_field(err, PB_EVERIFY, F,
		                     "attestation: packed self attestation with alg %lld for a key "
		                     "of alg %d", (long long)a, (int)key->alg);
	uint8_t *msg = malloc(auth_len + 32);
	if (!msg)
		return pb__err(err, PB_ENOMEM, "out of memory");
	memcpy(msg, auth, auth_len);
	pb__sha256(cdj, cdj_len, msg + auth_len);
	bool ok = raw_verify(key, msg, auth_len + 32, cbor_bytestring_handle(sig),
	                     cbor_bytestring_length(sig));
	free(msg);
	if (!ok)
		return pb__err_field(err, PB_EVERIFY, F,
		                     "attestation: the packed self attestation signature does not "
		                     "verify");
	return PB_OK;
}

enum pb_status pb__webauthn_register_check(const uint8_t *att_obj, size_t att_len,
                                           const char *client_data_json, size_t cdj_len,
                                           const struct pb_webauthn_expect *want,
                                           struct pb_webauthn_reg *out, struct pb_error *err)
{
	const char *F = "attestation";
	memset(out, 0, sizeof(*out));
	if (!want->rp_id || !want->origin)
		return pb__err(err, PB_EINVAL, "a registration needs the expected RP ID and origin");
	if (att_len > ATT_MAX)
		return pb__err_field(err, PB_ELIMIT, F, "attestation object of %zu bytes is over %d",
		                     att_len, ATT_MAX);
	cbor_item_t *m;
	size_t used;
	enum pb_status st = load(att_obj, att_len, true, F, "attestation", &m, &used, err);
	if (st != PB_OK)
		return st;
	struct pb_webauthn_reg r = { 0 };
	cbor_item_t *fmt = NULL, *stmt = NULL, *auth = NULL;
	if (!cbor_isa_map(m)) {
		st = pb__err_field(err, PB_EFORMAT, F, "attestation: expected a CBOR map");
		goto fail;
	}
	if ((st = map_keys_check(m, F, "attestation", err)) != PB_OK)
		goto fail;
	static const char *const names[] = { "fmt", "attStmt", "authData" };
	cbor_item_t *v[3] = { NULL, NULL, NULL };
	text_members(m, names, v, 3);
	fmt = v[0];
	stmt = v[1];
	auth = v[2];
	st = PB_EFORMAT;
	if (!fmt || !cbor_isa_string(fmt) || cbor_string_length(fmt) == 0 ||
	    cbor_string_length(fmt) >= sizeof(r.fmt) ||
	    memchr(cbor_string_handle(fmt), 0, cbor_string_length(fmt)) || !stmt ||
	    !cbor_isa_map(stmt) || !auth || !cbor_isa_bytestring(auth)) {
		pb__err_field(err, st, F, "attestation: expected text 'fmt' (under %zu bytes), map "
		              "'attStmt' and byte string 'authData'", sizeof(r.fmt));
		goto fail;
	}
	if ((st = map_keys_check(stmt, F, "attestation statement", err)) != PB_OK)
		goto fail;
	memcpy(r.fmt, cbor_string_handle(fmt), cbor_string_length(fmt));
	const uint8_t *ab = cbor_bytestring_handle(auth);
	size_t ab_len = cbor_bytestring_length(auth);
	struct pb_webauthn_authdata ad;
	if ((st = pb__webauthn_authdata_parse(ab, ab_len, &ad, err)) != PB_OK)
		goto fail;
	if (!ad.has_cred) {
		st = pb__err_field(err, PB_EFORMAT, "authenticator_data",
		                   "authenticator data: no attested credential data (AT) in a "
		                   "registration");
		goto fail;
	}
	if ((st = pb__cose_key_parse(ad.cose, ad.cose_len, &r.key, err)) != PB_OK)
		goto fail;
	if ((st = client_data_check(client_data_json, cdj_len, "webauthn.create", want, err)) !=
	    PB_OK)
		goto fail;
	if ((st = authdata_check(&ad, want, err)) != PB_OK)
		goto fail;
	if (strcmp(r.fmt, "none") == 0) {
		if (cbor_map_size(stmt) != 0) { /* section 8.7: an empty map */
			st = pb__err_field(err, PB_EFORMAT, F,
			                   "attestation: fmt 'none' with a non-empty statement");
			goto fail;
		}
	} else if (strcmp(r.fmt, "packed") == 0) {
		st = packed_check(stmt, ab, ab_len, client_data_json, cdj_len, &r.key, err);
		if (st != PB_OK)
			goto fail;
	}
	/* "tpm", "android-key", "android-safetynet", "fido-u2f", "apple" and
	 * any other format: kept unchecked, like packed with x5c: their checks
	 * end at a vendor's root certificate, which we do not trust. The
	 * credential key itself is what the log registers. */
	r.cred_id = malloc(ad.cred_id_len);
	if (!r.cred_id) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(r.cred_id, ad.cred_id, ad.cred_id_len);
	r.cred_id_len = ad.cred_id_len;
	memcpy(r.aaguid, ad.aaguid, 16);
	r.flags = ad.flags;
	r.sign_count = ad.sign_count;
	cbor_decref(&m);
	*out = r;
	return PB_OK;
fail:
	cbor_decref(&m);
	pb__webauthn_reg_release(&r);
	return st;
}
