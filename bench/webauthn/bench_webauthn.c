/* bench_webauthn.c - the cost of verifying a WebAuthn assertion
 * (pb__webauthn_assert_verify: authenticator data and client data parsed
 * and checked, then libfido2's signature check) against the raw signature
 * check of the same signed bytes with the same key type (the floor):
 * OpenSSL's EVP_DigestVerify for ES256, libsodium's
 * crypto_sign_verify_detached for EdDSA. bench/webauthn/run.sh runs it.
 *
 * With es256-import the floor also builds the OpenSSL key from its 65
 * bytes each time (EVP_PKEY_fromdata), as a verifier given a registered
 * COSE key must: the part of the gap that is key import, not our parsing.
 *
 * usage: bench_webauthn es256|es256-import|eddsa SECONDS
 * prints "OURS_US PEER_US": microseconds per verification, batches of the
 * two sides alternating in one process for SECONDS each. */
#include "../../tests/tools/softauthn.h"
#include "util/util.h"

#include <openssl/param_build.h>

#define BATCH 200

static int die(const char *what)
{
	fprintf(stderr, "bench_webauthn: %s\n", what);
	return 1;
}

/* An OpenSSL public key from 0x04||x||y. */
static EVP_PKEY *es256_import(const uint8_t pk[65])
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pk, 65),
		OSSL_PARAM_END,
	};
	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(pc);
	return key;
}

int main(int argc, char **argv)
{
	if (argc != 3 || sodium_init() < 0)
		return die("usage: bench_webauthn es256|eddsa SECONDS");
	int alg = strcmp(argv[1], "eddsa") ? PB_COSE_ES256 : PB_COSE_EDDSA;
	bool import = strcmp(argv[1], "es256-import") == 0;
	double seconds = strtod(argv[2], NULL);
	struct sa_cred c;
	if (!sa_cred_new(&c, alg))
		return die("cannot make a key");
	struct pb_buf cose, ad;
	pb_buf_init(&cose, 4096);
	pb_buf_init(&ad, 4096);
	sa_cose(&c, &cose);
	struct pb_webauthn_key key;
	struct pb_error err = { 0 };
	if (pb__cose_key_parse((const uint8_t *)cose.data, cose.len, &key, &err) != PB_OK)
		return die(err.message);
	uint8_t ch[32];
	const char *stmt = "probity bench statement";
	pb__webauthn_challenge(stmt, strlen(stmt), ch);
	char *cdj = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	if (!sa_assert(&c, "review.example.com", "https://review.example.com", "webauthn.get", ch,
	               32, PB_WEBAUTHN_UP | PB_WEBAUTHN_UV, 7, false, &ad, &cdj, &sig, &sig_len))
		return die("cannot sign");
	struct pb_webauthn_assertion a = { (const uint8_t *)ad.data, ad.len, cdj, strlen(cdj), sig,
		                           sig_len };
	struct pb_webauthn_expect w = { "review.example.com", "https://review.example.com", ch, 32,
		                        true };
	/* the floor's signed bytes: authData || SHA-256(clientDataJSON) */
	uint8_t msg[256];
	memcpy(msg, ad.data, ad.len);
	pb__sha256(cdj, strlen(cdj), msg + ad.len);
	size_t msg_len = ad.len + 32;
	long done = 0;
	double t_ours = 0, t_peer = 0;
	while (t_ours < seconds || t_peer < seconds) {
		double t0 = pb__mono();
		for (int i = 0; i < BATCH; i++)
			if (pb__webauthn_assert_verify(&key, &a, &w, NULL, &err) != PB_OK)
				return die(err.message);
		double t1 = pb__mono();
		for (int i = 0; i < BATCH; i++) {
			int ok;
			if (alg == PB_COSE_EDDSA) {
				ok = crypto_sign_verify_detached(sig, msg, msg_len, c.pk) == 0;
			} else {
				EVP_PKEY *pk = c.ec;
				if (import && !(pk = es256_import(c.pk)))
					return die("cannot import the key");
				EVP_MD_CTX *md = EVP_MD_CTX_new();
				ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
				     EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1;
				EVP_MD_CTX_free(md);
				if (import)
					EVP_PKEY_free(pk);
			}
			if (!ok)
				return die("the floor's signature does not verify");
		}
		t_ours += t1 - t0;
		t_peer += pb__mono() - t1;
		done += BATCH;
	}
	printf("%.2f %.2f\n", t_ours * 1e6 / (double)done, t_peer * 1e6 / (double)done);
	free(sig);
	free(cdj);
	pb__webauthn_key_release(&key);
	pb_buf_release(&cose);
	pb_buf_release(&ad);
	sa_cred_release(&c);
	return 0;
}
