/* passkey.h - test and benchmark only: passkey entries of a signed log made
 * by hand, as a browser's authenticator and pb__audit_batch_append would
 * make them (an EdDSA credential, "none" attestation, assertions over
 * SHA-256 of the statement statement.c builds), so the read side
 * (lib/replay/sig.c, lib/log/sigverify.c) can be tested on logs with every
 * passkey forgery of issue 14 in them without a browser. The CBOR here is
 * the one fixed shape a registration has, written out byte by byte. Never
 * part of the library or the installed program. */
#ifndef PB_TEST_PASSKEY_H
#define PB_TEST_PASSKEY_H

#include "ident/webauthn.h"
#include "log/audit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pb_test_passkey {
	uint8_t pk[32], sk[64];
	uint8_t cred_id[16];
	uint8_t cose[42];
	uint32_t counter;
	char fp[PB_WEBAUTHN_FP_MAX];
};

/* What an assertion is made under; zero fields take the defaults. */
struct pb_test_wa {
	const char *rp_id;      /* "localhost" */
	const char *origin;     /* "http://localhost:8080" */
	const char *type;       /* "webauthn.get" */
	uint8_t flags;          /* UP | UV */
	bool set_counter;       /* use counter instead of the next one */
	uint32_t counter;
	const char *statement;  /* sign this statement instead of the entry's */
	bool flip;              /* flip a bit of the signature */
};

#define PB_TEST_RP "localhost"
#define PB_TEST_ORIGIN "http://localhost:8080"

static inline char *pb_test_b64url(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);
	if (s)
		sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

static inline void pb_test_passkey_new(struct pb_test_passkey *k)
{
	memset(k, 0, sizeof(*k));
	crypto_sign_keypair(k->pk, k->sk);
	randombytes_buf(k->cred_id, sizeof(k->cred_id));
	static const uint8_t head[] = { 0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20 };
	memcpy(k->cose, head, sizeof(head));
	memcpy(k->cose + sizeof(head), k->pk, 32);
	pb__webauthn_fingerprint(k->cred_id, sizeof(k->cred_id), k->fp);
}

/* authenticator data: rpIdHash, flags, counter [, attested credential] */
static inline size_t pb_test_authdata(const struct pb_test_passkey *k, const char *rp_id,
                                      uint8_t flags, uint32_t counter, bool attested,
                                      uint8_t out[160])
{
	crypto_hash_sha256(out, (const uint8_t *)rp_id, strlen(rp_id));
	out[32] = flags;
	out[33] = (uint8_t)(counter >> 24);
	out[34] = (uint8_t)(counter >> 16);
	out[35] = (uint8_t)(counter >> 8);
	out[36] = (uint8_t)counter;
	if (!attested)
		return 37;
	memset(out + 37, 0, 16); /* AAGUID */
	out[53] = 0;
	out[54] = sizeof(k->cred_id);
	memcpy(out + 55, k->cred_id, sizeof(k->cred_id));
	memcpy(out + 55 + sizeof(k->cred_id), k->cose, sizeof(k->cose));
	return 55 + sizeof(k->cred_id) + sizeof(k->cose);
}

/* The details of user.passkey-add (JSON text, heap): a "none" registration
 * for rp_id/origin; invite < 0 and token NULL leave them out. */
static inline char *pb_test_passkey_add_details(const struct pb_test_passkey *k, const char *user,
                                                const char *rp_id, const char *origin,
                                                long long invite, const char *token)
{
	uint8_t ad[160], att[256], ch[32];
	size_t adl = pb_test_authdata(k, rp_id, PB_WEBAUTHN_UP | PB_WEBAUTHN_UV | PB_WEBAUTHN_AT,
	                              k->counter, true, ad);
	static const uint8_t head[] = { 0xa3, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e',
		                        0x67, 'a', 't', 't', 'S', 't', 'm', 't', 0xa0,
		                        0x68, 'a', 'u', 't', 'h', 'D', 'a', 't', 'a', 0x58 };
	memcpy(att, head, sizeof(head));
	att[sizeof(head)] = (uint8_t)adl;
	memcpy(att + sizeof(head) + 1, ad, adl);
	size_t attl = sizeof(head) + 1 + adl;
	randombytes_buf(ch, sizeof(ch));
	char *chs = pb_test_b64url(ch, sizeof(ch)), cdj[512];
	snprintf(cdj, sizeof(cdj),
	         "{\"type\":\"webauthn.create\",\"challenge\":\"%s\",\"origin\":\"%s\","
	         "\"crossOrigin\":false}",
	         chs, origin);
	char *att64 = pb_test_b64url(att, attl), *cdj64 = pb_test_b64url(cdj, strlen(cdj));
	char *cred64 = pb_test_b64url(k->cred_id, sizeof(k->cred_id));
	char *key64 = pb_test_b64url(k->cose, sizeof(k->cose));
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "user", user,
	                      "key_fp", k->fp, "cred_id", cred64, "key", key64, "alg", -8, "rp_id",
	                      rp_id, "origin", origin, "fmt", "none", "aaguid",
	                      "00000000000000000000000000000000", "attestation", att64,
	                      "client_data_json", cdj64);
	if (invite >= 0)
		json_object_set_new(d, "invite", json_integer(invite));
	if (token)
		json_object_set_new(d, "token", json_string(token));
	char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	free(chs);
	free(att64);
	free(cdj64);
	free(cred64);
	free(key64);
	return text;
}

/* The text (heap) of entry `index` by actor signed with passkey k (its
 * counter bumped) against the log of `size` entries with root `root`, as
 * opts says (NULL: a good assertion). */
static inline char *pb_test_passkey_entry(struct pb_test_passkey *k, uint64_t index,
                                          const char *actor, const char *action,
                                          const char *subject, const char *details,
                                          uint64_t size, const uint8_t root[32],
                                          const struct pb_test_wa *opts)
{
	struct pb_test_wa o = opts ? *opts : (struct pb_test_wa){ 0 };
	json_error_t je;
	json_t *d = details ? json_loads(details, 0, &je) : NULL;
	json_t *e = json_pack("{s:i, s:I, s:s, s:s, s:s}", "v", 1, "index", (json_int_t)index,
	                      "time", "2026-12-06T00:00:00Z", "actor", actor, "action", action);
	if (subject)
		json_object_set_new(e, "subject", json_string(subject));
	if (d)
		json_object_set(e, "details", d);
	uint8_t nb[16], ch[32], ad[160], msg[192], sig[64];
	char nhex[33], rhex[65], *st = NULL, cdj[512];
	randombytes_buf(nb, 16);
	pb_hex(nb, 16, nhex);
	pb_hex(root, 32, rhex);
	struct pb_error err = { 0 };
	if (pb__statement_text(action, actor, 0, subject, d, size, root, nhex, &st, &err)) {
		fprintf(stderr, "cannot build statement %llu: %s\n", (unsigned long long)index,
		        err.message);
		return NULL;
	}
	const char *text = o.statement ? o.statement : st;
	crypto_hash_sha256(ch, (const uint8_t *)text, strlen(text));
	char *chs = pb_test_b64url(ch, 32);
	snprintf(cdj, sizeof(cdj), "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"}",
	         o.type ? o.type : "webauthn.get", chs, o.origin ? o.origin : PB_TEST_ORIGIN);
	uint32_t c = o.set_counter ? o.counter : ++k->counter;
	size_t adl = pb_test_authdata(k, o.rp_id ? o.rp_id : PB_TEST_RP,
	                              o.flags ? o.flags : PB_WEBAUTHN_UP | PB_WEBAUTHN_UV, c, false,
	                              ad);
	memcpy(msg, ad, adl);
	crypto_hash_sha256(msg + adl, (const uint8_t *)cdj, strlen(cdj));
	crypto_sign_detached(sig, NULL, msg, adl + 32, k->sk);
	if (o.flip)
		sig[10] ^= 0x01;
	char *ad64 = pb_test_b64url(ad, adl), *cdj64 = pb_test_b64url(cdj, strlen(cdj)),
	     *sig64 = pb_test_b64url(sig, 64);
	json_object_set_new(e, "sig",
	                    json_pack("{s:s, s:{s:s, s:I}, s:s, s:s, s:{s:s, s:s, s:s}}", "key_fp",
	                              k->fp, "log", "root", rhex, "size", (json_int_t)size, "nonce",
	                              nhex, "ns", pb__statement_ns(action), "webauthn",
	                              "authenticator_data", ad64, "client_data_json", cdj64,
	                              "signature", sig64));
	char *out = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	free(ad64);
	free(cdj64);
	free(sig64);
	free(chs);
	free(st);
	json_decref(d);
	json_decref(e);
	return out;
}

#endif /* PB_TEST_PASSKEY_H */
