/* fuzz_webauthn.c - WebAuthn bytes (lib/ident/webauthn.c). The first byte
 * chooses what the rest is; parts are framed as a 16-bit big-endian length
 * and the bytes, the last part runs to the end (fuzz/webauthn_seeds.py
 * writes the seeds from softauthn's and Chromium's ceremonies):
 *   0  attestation object | client data JSON: a registration for
 *      localhost / http://localhost:8080, challenge not checked
 *   1  COSE key | authenticator data | signature | client data JSON: an
 *      assertion verified against that key
 *   2  a COSE key;  3  authenticator data;  other  base64url text
 * Invariants: a registration's key parses again on its own to the same
 * key; base64url decodes and encodes back to the same text. */
#include <stdlib.h>
#include <string.h>

#include "ident/webauthn.h"

static const uint8_t CH[32] = { 0 };

/* The next framed part: false when the frame runs past the end. */
static bool part(const uint8_t **p, size_t *n, const uint8_t **out, size_t *len)
{
	if (*n < 2)
		return false;
	size_t l = (size_t)(*p)[0] << 8 | (*p)[1];
	if (l > *n - 2)
		return false;
	*out = *p + 2;
	*len = l;
	*p += 2 + l;
	*n -= 2 + l;
	return true;
}

static void registration(const uint8_t *p, size_t n)
{
	const uint8_t *att;
	size_t att_len;
	if (!part(&p, &n, &att, &att_len))
		return;
	struct pb_webauthn_expect w = { "localhost", "http://localhost:8080", NULL, 0, true };
	struct pb_webauthn_reg r;
	if (pb__webauthn_register_check(att, att_len, (const char *)p, n, &w, &r, NULL) != PB_OK)
		return;
	struct pb_webauthn_key k;
	if (pb__cose_key_parse(r.key.cose, r.key.cose_len, &k, NULL) != PB_OK ||
	    k.alg != r.key.alg || k.pk_len != r.key.pk_len || memcmp(k.pk, r.key.pk, k.pk_len))
		abort();
	char fp[PB_WEBAUTHN_FP_MAX];
	pb__webauthn_fingerprint(r.cred_id, r.cred_id_len, fp);
	pb__webauthn_key_release(&k);
	pb__webauthn_reg_release(&r);
}

static void assertion(const uint8_t *p, size_t n)
{
	const uint8_t *cose, *ad, *sig;
	size_t cose_len, ad_len, sig_len;
	if (!part(&p, &n, &cose, &cose_len) || !part(&p, &n, &ad, &ad_len) ||
	    !part(&p, &n, &sig, &sig_len))
		return;
	struct pb_webauthn_key k;
	if (pb__cose_key_parse(cose, cose_len, &k, NULL) != PB_OK)
		return;
	struct pb_webauthn_assertion a = { ad, ad_len, (const char *)p, n, sig, sig_len };
	struct pb_webauthn_expect w = { "localhost", "http://localhost:8080", CH, sizeof(CH), true };
	uint32_t cnt;
	pb__webauthn_assert_verify(&k, &a, &w, &cnt, NULL);
	pb__webauthn_key_release(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0]) {
	case 0:
		registration(p, n);
		break;
	case 1:
		assertion(p, n);
		break;
	case 2: {
		struct pb_webauthn_key k;
		if (pb__cose_key_parse(p, n, &k, NULL) == PB_OK)
			pb__webauthn_key_release(&k);
		break;
	}
	case 3: {
		struct pb_webauthn_authdata ad;
		pb__webauthn_authdata_parse(p, n, &ad, NULL);
		break;
	}
	default: {
		uint8_t *b;
		size_t len;
		if (pb__b64url_decode((const char *)p, n, 4096, &b, &len)) {
			char *s = pb__b64url_encode(b, len);
			if (!s || strlen(s) != n || memcmp(s, p, n))
				abort();
			free(s);
			free(b);
		}
		break;
	}
	}
	return 0;
}
