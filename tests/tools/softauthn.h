/* softauthn.h - test and benchmark only: a software WebAuthn authenticator
 * and the browser around it, making registrations and assertions byte for
 * byte as a browser hands them over (W3C WebAuthn Level 2: authenticator
 * data, attestation object "none" or "packed" self attestation, client data
 * JSON). ES256 keys through OpenSSL, EdDSA through libsodium. Used by
 * tests/tools/softauthn.c (the command), tests/unit/test_webauthn.c, the
 * fuzz seeds and bench/webauthn. Never part of the library.
 *
 * The CBOR is written by hand (sa_cbor_*), so tests can also write the
 * wrong things: a COSE key of the wrong kty, a map key twice.
 */
#ifndef PB_TEST_SOFTAUTHN_H
#define PB_TEST_SOFTAUTHN_H

#include "ident/webauthn.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_BUF_MAX (1u << 20)

/* ---- CBOR writer ------------------------------------------------------ */

static inline void sa_cbor_head(struct pb_buf *b, int major, uint64_t v)
{
	uint8_t h[9];
	size_t n;
	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v < 0x100) {
		h[0] = (uint8_t)(major << 5 | 24);
		h[1] = (uint8_t)v;
		n = 2;
	} else if (v < 0x10000) {
		h[0] = (uint8_t)(major << 5 | 25);
		h[1] = (uint8_t)(v >> 8);
		h[2] = (uint8_t)v;
		n = 3;
	} else {
		h[0] = (uint8_t)(major << 5 | 26);
		for (int i = 0; i < 4; i++)
			h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		n = 5;
	}
	pb_buf_add(b, h, n);
}
static inline void sa_cbor_int(struct pb_buf *b, int64_t v)
{
	if (v >= 0)
		sa_cbor_head(b, 0, (uint64_t)v);
	else
		sa_cbor_head(b, 1, (uint64_t)(-1 - v));
}
static inline void sa_cbor_bytes(struct pb_buf *b, const void *p, size_t n)
{
	sa_cbor_head(b, 2, n);
	pb_buf_add(b, p, n);
}
static inline void sa_cbor_text(struct pb_buf *b, const char *s)
{
	sa_cbor_head(b, 3, strlen(s));
	pb_buf_add(b, s, strlen(s));
}

/* A COSE_Key with the given members (kty, alg, crv, x, and y when y is
 * not NULL): the right ones come from sa_cose, tests pass wrong ones. */
static inline void sa_cose_raw(struct pb_buf *b, int64_t kty, int64_t alg, int64_t crv,
                               const uint8_t *x, size_t xn, const uint8_t *y, size_t yn)
{
	sa_cbor_head(b, 5, y ? 5 : 4);
	sa_cbor_int(b, 1);
	sa_cbor_int(b, kty);
	sa_cbor_int(b, 3);
	sa_cbor_int(b, alg);
	sa_cbor_int(b, -1);
	sa_cbor_int(b, crv);
	sa_cbor_int(b, -2);
	sa_cbor_bytes(b, x, xn);
	if (y) {
		sa_cbor_int(b, -3);
		sa_cbor_bytes(b, y, yn);
	}
}

/* ---- credentials -------------------------------------------------------- */

struct sa_cred {
	int alg;               /* PB_COSE_ES256 or PB_COSE_EDDSA */
	EVP_PKEY *ec;          /* ES256 */
	uint8_t ed_sk[64];     /* EdDSA (libsodium's secret key) */
	uint8_t pk[65];        /* ES256 0x04||x||y, EdDSA 32 bytes */
	size_t pk_len;
	uint8_t id[32];
	size_t id_len;
	uint32_t counter;
};

static inline void sa_cred_release(struct sa_cred *c)
{
	EVP_PKEY_free(c->ec);
	sodium_memzero(c, sizeof(*c));
}

static inline bool sa_ec_pub(struct sa_cred *c)
{
	size_t n = 0;
	if (EVP_PKEY_get_octet_string_param(c->ec, OSSL_PKEY_PARAM_PUB_KEY, c->pk, sizeof(c->pk),
	                                    &n) != 1 || n != 65 || c->pk[0] != 0x04)
		return false;
	c->pk_len = 65;
	return true;
}

/* A new credential with a random key and a random 32-byte id. */
static inline bool sa_cred_new(struct sa_cred *c, int alg)
{
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	c->id_len = sizeof(c->id);
	randombytes_buf(c->id, c->id_len);
	if (alg == PB_COSE_EDDSA) {
		crypto_sign_keypair(c->pk, c->ed_sk);
		c->pk_len = 32;
		return true;
	}
	c->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return c->ec && sa_ec_pub(c);
}

static inline void sa_cose(const struct sa_cred *c, struct pb_buf *b)
{
	if (c->alg == PB_COSE_EDDSA)
		sa_cose_raw(b, 1, PB_COSE_EDDSA, 6, c->pk, 32, NULL, 0);
	else
		sa_cose_raw(b, 2, PB_COSE_ES256, 1, c->pk + 1, 32, c->pk + 33, 32);
}

/* Signs msg: ES256 a DER ECDSA signature over SHA-256(msg), EdDSA 64
 * bytes. *sig is heap memory. */
static inline bool sa_sign(const struct sa_cred *c, const void *msg, size_t n, uint8_t **sig,
                           size_t *sig_len)
{
	*sig = malloc(c->alg == PB_COSE_EDDSA ? 64 : 80);
	if (!*sig)
		return false;
	if (c->alg == PB_COSE_EDDSA) {
		crypto_sign_detached(*sig, NULL, msg, n, c->ed_sk);
		*sig_len = 64;
		return true;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = 80;
	bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->ec) == 1 &&
	          EVP_DigestSign(md, *sig, &len, msg, n) == 1;
	EVP_MD_CTX_free(md);
	*sig_len = len;
	return ok;
}

/* ---- the ceremonies ---------------------------------------------------- */

/* Client data JSON as Chromium writes it (members in this order). */
static inline char *sa_client_data(const char *type, const uint8_t *challenge, size_t n,
                                   const char *origin, bool cross_origin)
{
	char *ch = pb__b64url_encode(challenge, n);
	struct pb_buf b;
	pb_buf_init(&b, SA_BUF_MAX);
	pb_buf_adds(&b, "{\"type\":");
	pb_buf_json_str(&b, type, strlen(type));
	pb_buf_printf(&b, ",\"challenge\":\"%s\",\"origin\":", ch ? ch : "");
	pb_buf_json_str(&b, origin, strlen(origin));
	pb_buf_printf(&b, ",\"crossOrigin\":%s}", cross_origin ? "true" : "false");
	free(ch);
	return b.data;
}

/* Authenticator data: SHA-256(rp_id), flags, counter, and the attested
 * credential data (AAGUID zero, id, COSE key) when flags has AT. */
static inline void sa_authdata(const struct sa_cred *c, const char *rp_id, uint8_t flags,
                               uint32_t counter, struct pb_buf *b)
{
	uint8_t h[32];
	crypto_hash_sha256(h, (const uint8_t *)rp_id, strlen(rp_id));
	pb_buf_add(b, h, 32);
	pb_buf_addc(b, (char)flags);
	uint8_t cnt[4] = { (uint8_t)(counter >> 24), (uint8_t)(counter >> 16),
		           (uint8_t)(counter >> 8), (uint8_t)counter };
	pb_buf_add(b, cnt, 4);
	if (flags & PB_WEBAUTHN_AT) {
		uint8_t aaguid[16] = { 0 };
		pb_buf_add(b, aaguid, 16);
		uint8_t l[2] = { (uint8_t)(c->id_len >> 8), (uint8_t)c->id_len };
		pb_buf_add(b, l, 2);
		pb_buf_add(b, c->id, c->id_len);
		sa_cose(c, b);
	}
}

/* The signature over authData || SHA-256(clientDataJSON). */
static inline bool sa_sign_ceremony(const struct sa_cred *c, const void *ad, size_t ad_len,
                                    const char *cdj, uint8_t **sig, size_t *sig_len)
{
	uint8_t *m = malloc(ad_len + 32);
	if (!m)
		return false;
	memcpy(m, ad, ad_len);
	crypto_hash_sha256(m + ad_len, (const uint8_t *)cdj, strlen(cdj));
	bool ok = sa_sign(c, m, ad_len + 32, sig, sig_len);
	free(m);
	return ok;
}

/* A registration: the attestation object (fmt "none", or "packed" self
 * attestation) into att, the client data JSON (heap) into *cdj. */
static inline bool sa_register(const struct sa_cred *c, const char *rp_id, const char *origin,
                               const uint8_t *challenge, size_t ch_len, uint8_t flags,
                               bool packed, struct pb_buf *att, char **cdj)
{
	*cdj = sa_client_data("webauthn.create", challenge, ch_len, origin, false);
	struct pb_buf ad;
	pb_buf_init(&ad, SA_BUF_MAX);
	sa_authdata(c, rp_id, (uint8_t)(flags | PB_WEBAUTHN_AT), c->counter, &ad);
	bool ok = *cdj != NULL;
	sa_cbor_head(att, 5, 3);
	sa_cbor_text(att, "fmt");
	sa_cbor_text(att, packed ? "packed" : "none");
	sa_cbor_text(att, "attStmt");
	if (packed && ok) {
		uint8_t *sig = NULL;
		size_t sig_len = 0;
		ok = sa_sign_ceremony(c, ad.data, ad.len, *cdj, &sig, &sig_len);
		sa_cbor_head(att, 5, 2);
		sa_cbor_text(att, "alg");
		sa_cbor_int(att, c->alg);
		sa_cbor_text(att, "sig");
		sa_cbor_bytes(att, sig, sig_len);
		free(sig);
	} else {
		sa_cbor_head(att, 5, 0);
	}
	sa_cbor_text(att, "authData");
	sa_cbor_bytes(att, ad.data, ad.len);
	pb_buf_release(&ad);
	return ok;
}

/* An assertion: authenticator data into ad, client data (heap) into *cdj,
 * the signature (heap) into *sig. */
static inline bool sa_assert(const struct sa_cred *c, const char *rp_id, const char *origin,
                             const char *type, const uint8_t *challenge, size_t ch_len,
                             uint8_t flags, uint32_t counter, bool cross_origin,
                             struct pb_buf *ad, char **cdj, uint8_t **sig, size_t *sig_len)
{
	*sig = NULL;
	*cdj = sa_client_data(type, challenge, ch_len, origin, cross_origin);
	sa_authdata(c, rp_id, flags, counter, ad);
	return *cdj && sa_sign_ceremony(c, ad->data, ad->len, *cdj, sig, sig_len);
}

#endif
