/* webauthn.h - who a person is in a browser: WebAuthn passkeys.
 *
 * A passkey (a platform authenticator or a security key) signs in the web
 * app the way an OpenSSH key signs on the command line (ident.h): the
 * statement of a log entry is what it signs, through the WebAuthn
 * challenge. This file reads the W3C WebAuthn Level 2 structures and checks
 * their signatures; it knows bytes, not users or the log.
 *
 *   - COSE_Key (RFC 9052/9053): ES256 (kty EC2, alg -7, crv P-256) and EdDSA
 *     (kty OKP, alg -8, crv Ed25519).
 *   - authenticator data: rpIdHash, flags (UP 0x01, UV 0x04, AT 0x40,
 *     ED 0x80), signCount, attested credential data (AAGUID, credential
 *     id, COSE key) on registration.
 *   - the attestation object (CBOR map "fmt", "attStmt", "authData"): fmt
 *     "none" accepted and kept; "packed" self attestation checked when
 *     present; other formats kept unchecked (we do not trust vendors'
 *     roots: the registering log entry is what makes the key the user's).
 *   - client data JSON: "type" ("webauthn.create" / "webauthn.get"),
 *     "challenge" (base64url, no padding), "origin", "crossOrigin".
 *   - an assertion's signature over authenticatorData || SHA-256(clientDataJSON).
 *
 * CBOR is read with libcbor; the signature check is libfido2's
 * fido_assert_verify for ES256 and libsodium's for EdDSA (webauthn.c says
 * why).
 *
 * Everything here parses outside input (a browser's answer forwarded by
 * the server, an entry of an exported log): bounded, never trusts a
 * length, returns PB_EFORMAT with what was expected, PB_EVERIFY with why a
 * check failed. Errors name "credential", "attestation", "client_data",
 * "authenticator_data" or "signature" in err->field.
 */
#ifndef PB_WEBAUTHN_H
#define PB_WEBAUTHN_H

#include "probity.h"

#include <stddef.h>
#include <stdint.h>

enum pb_cose_alg {
	PB_COSE_ES256 = -7,
	PB_COSE_EDDSA = -8,
};

#define PB_WEBAUTHN_UP 0x01u
#define PB_WEBAUTHN_UV 0x04u
#define PB_WEBAUTHN_AT 0x40u
#define PB_WEBAUTHN_ED 0x80u

#define PB_WEBAUTHN_CRED_ID_MAX 1023 /* WebAuthn's limit on a credential id */
/* "webauthn:" + 43 base64url characters + NUL, rounded */
#define PB_WEBAUTHN_FP_MAX 64

/* A credential's public key. cose is the COSE_Key exactly as registered
 * (owned; what the log keeps, base64url); pk the raw key: ES256 0x04||x||y
 * (65 bytes), EdDSA 32 bytes. Release with pb__webauthn_key_release. */
struct pb_webauthn_key {
	enum pb_cose_alg alg;
	uint8_t pk[65];
	size_t pk_len;
	uint8_t *cose;
	size_t cose_len;
};
void pb__webauthn_key_release(struct pb_webauthn_key *k);

/* Parses a COSE_Key (a CBOR map): ES256 or EdDSA only, every required
 * member present with its right type and size (an EC2 point must be on
 * the curve). */
enum pb_status pb__cose_key_parse(const uint8_t *cbor, size_t len, struct pb_webauthn_key *out,
                                  struct pb_error *err);

/* Authenticator data; the pointers point into the caller's bytes. */
struct pb_webauthn_authdata {
	uint8_t rp_id_hash[32];
	uint8_t flags;
	uint32_t sign_count;
	bool has_cred;              /* AT: attested credential data follows */
	uint8_t aaguid[16];
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *cose;        /* the credential's COSE_Key (its CBOR bytes) */
	size_t cose_len;
};
/* Parses authenticator data (37 bytes at least; attested credential data
 * when AT is set; extensions when ED is set are skipped as one CBOR item;
 * nothing may follow). */
enum pb_status pb__webauthn_authdata_parse(const uint8_t *p, size_t len,
                                           struct pb_webauthn_authdata *out,
                                           struct pb_error *err);

/* What a relying party expects of a ceremony. challenge is the raw bytes
 * (for a statement: SHA-256 of its text, pb__webauthn_challenge). */
struct pb_webauthn_expect {
	const char *rp_id;          /* e.g. "review.example.com" or "localhost" */
	const char *origin;         /* e.g. "https://review.example.com" */
	const uint8_t *challenge;
	size_t challenge_len;
	bool require_uv;            /* user verification (approvals need it) */
};

/* A checked registration (navigator.credentials.create's answer). Owned. */
struct pb_webauthn_reg {
	char fmt[32];               /* attestation format: "none", "packed", ... */
	uint8_t aaguid[16];
	uint8_t flags;
	uint32_t sign_count;
	uint8_t *cred_id;
	size_t cred_id_len;
	struct pb_webauthn_key key;
};
void pb__webauthn_reg_release(struct pb_webauthn_reg *r);

/* Checks a registration: the attestation object decodes, its authData has
 * attested credential data with an ES256 or EdDSA key, the RP ID hash is
 * SHA-256(rp_id), UP is set (and UV when required); the client data's
 * type is "webauthn.create", its challenge and origin are the expected
 * ones, crossOrigin is absent or false. */
enum pb_status pb__webauthn_register_check(const uint8_t *att_obj, size_t att_len,
                                           const char *client_data_json, size_t cdj_len,
                                           const struct pb_webauthn_expect *want,
                                           struct pb_webauthn_reg *out, struct pb_error *err);

/* An assertion (navigator.credentials.get's answer); borrowed bytes. */
struct pb_webauthn_assertion {
	const uint8_t *auth_data;
	size_t auth_data_len;
	const char *client_data_json;
	size_t cdj_len;
	const uint8_t *sig;         /* ES256: DER ECDSA signature; EdDSA: 64 bytes */
	size_t sig_len;
};

/* Checks an assertion against key: client data type "webauthn.get", the
 * expected challenge and origin, not cross-origin; authenticator data's RP
 * ID hash, UP (and UV when required); the signature over authData ||
 * SHA-256(clientDataJSON). The authenticator's counter goes to
 * *sign_count (may be NULL): the caller compares it with the last one. */
enum pb_status pb__webauthn_assert_verify(const struct pb_webauthn_key *key,
                                          const struct pb_webauthn_assertion *a,
                                          const struct pb_webauthn_expect *want,
                                          uint32_t *sign_count, struct pb_error *err);

/* The challenge for a statement: SHA-256 of its text. */
void pb__webauthn_challenge(const char *statement, size_t len, uint8_t out[32]);

/* A passkey's fingerprint, the "key_fp" of its log entries:
 * "webauthn:" + base64url without padding of SHA-256(credential id). */
void pb__webauthn_fingerprint(const uint8_t *cred_id, size_t n, char out[PB_WEBAUTHN_FP_MAX]);

/* base64url without padding (WebAuthn's and the log's spelling of bytes).
 * encode: heap text, NULL when out of memory; decode: false when s is not
 * base64url or decodes to more than cap bytes (*out heap). */
char *pb__b64url_encode(const void *p, size_t n);
bool pb__b64url_decode(const char *s, size_t n, size_t cap, uint8_t **out, size_t *out_len);

#endif
