/* test_webauthn.c - lib/ident/webauthn.c: registrations and assertions made
 * by the software authenticator (tests/tools/softauthn.h) verify, and every
 * way one can be wrong is refused; a real vector from Chromium's virtual
 * authenticator (tests/data/webauthn/) verifies. */
#include "unit.h"

#include "../tools/softauthn.h"

#include <jansson.h>

#define RP "localhost"
#define ORIGIN "http://localhost:8080"

static uint8_t CH[32];

static struct pb_webauthn_expect expect(bool uv)
{
	struct pb_webauthn_expect w = { RP, ORIGIN, CH, sizeof(CH), uv };
	return w;
}

/* ---- base64url, challenge, fingerprint ------------------------------- */

static void t_b64url(void)
{
	uint8_t in[7] = { 0xfb, 0xff, 0x00, 0x01, 0x3e, 0x3f, 0x80 };
	for (size_t n = 0; n <= sizeof(in); n++) {
		char *s = pb__b64url_encode(in, n);
		CHECK(s && !strchr(s, '=') && !strchr(s, '+') && !strchr(s, '/'));
		uint8_t *out;
		size_t len;
		CHECK(pb__b64url_decode(s, strlen(s), 64, &out, &len));
		CHECK_INT(len, n);
		CHECK(n == 0 || memcmp(out, in, n) == 0);
		free(out);
		free(s);
	}
	uint8_t *out;
	size_t len;
	CHECK(!pb__b64url_decode("AA==", 4, 64, &out, &len));   /* padding */
	CHECK(!pb__b64url_decode("+/8", 3, 64, &out, &len));    /* standard alphabet */
	CHECK(!pb__b64url_decode("AB", 2, 64, &out, &len));     /* unused bits set */
	CHECK(!pb__b64url_decode("A", 1, 64, &out, &len));      /* impossible length */
	CHECK(!pb__b64url_decode("AAAAAA", 6, 3, &out, &len));  /* over cap (4 bytes) */
	CHECK(pb__b64url_decode("AAAA", 4, 3, &out, &len));
	free(out);
}

static void t_challenge_fingerprint(void)
{
	uint8_t h[32];
	pb__webauthn_challenge("abc", 3, h);
	/* SHA-256("abc") (FIPS 180-2 B.1) */
	CHECK(h[0] == 0xba && h[1] == 0x78 && h[31] == 0xad);
	char fp[PB_WEBAUTHN_FP_MAX];
	pb__webauthn_fingerprint((const uint8_t *)"abc", 3, fp);
	CHECK_STR(fp, "webauthn:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	CHECK_INT(strlen(fp), 9 + 43);
}

/* ---- registration ------------------------------------------------------ */

static enum pb_status reg_with(const struct sa_cred *c, uint8_t flags, bool packed,
                               const struct pb_webauthn_expect *w, struct pb_webauthn_reg *r,
                               struct pb_error *err)
{
	struct pb_buf att;
	pb_buf_init(&att, SA_BUF_MAX);
	char *cdj = NULL;
	CHECK(sa_register(c, RP, ORIGIN, CH, sizeof(CH), flags, packed, &att, &cdj));
	enum pb_status st = pb__webauthn_register_check((const uint8_t *)att.data, att.len, cdj,
	                                                strlen(cdj), w, r, err);
	free(cdj);
	pb_buf_release(&att);
	return st;
}

static void t_register(void)
{
	for (int a = 0; a < 2; a++) {
		for (int packed = 0; packed < 2; packed++) {
			struct sa_cred c;
			CHECK(sa_cred_new(&c, a ? PB_COSE_EDDSA : PB_COSE_ES256));
			struct pb_webauthn_expect w = expect(true);
			struct pb_webauthn_reg r;
			struct pb_error err = { 0 };
			CHECK_OK(reg_with(&c, PB_WEBAUTHN_UP | PB_WEBAUTHN_UV, packed, &w, &r, &err),
			         &err);
			CHECK_STR(r.fmt, packed ? "packed" : "none");
			CHECK_INT(r.key.alg, c.alg);
			CHECK_INT(r.key.pk_len, c.pk_len);
			CHECK(memcmp(r.key.pk, c.pk, c.pk_len) == 0);
			CHECK_INT(r.cred_id_len, c.id_len);
			CHECK(memcmp(r.cred_id, c.id, c.id_len) == 0);
			CHECK(r.flags & PB_WEBAUTHN_AT);
			/* the key as registered parses again on its own */
			struct pb_webauthn_key k;
			CHECK_OK(pb__cose_key_parse(r.key.cose, r.key.cose_len, &k, &err), &err);
			CHECK_INT(k.alg, c.alg);
			pb__webauthn_key_release(&k);
			pb__webauthn_reg_release(&r);
			/* verifiers pass no challenge: not checked */
			w.challenge = NULL;
			CHECK_OK(reg_with(&c, PB_WEBAUTHN_UP | PB_WEBAUTHN_UV, packed, &w, &r, &err),
			         &err);
			pb__webauthn_reg_release(&r);
			sa_cred_release(&c);
		}
	}
}

/* A registration of c checked with an edited attestation object or client
 * data: edit is called on both before the check. */
static enum pb_status reg_edit(const struct sa_cred *c, bool packed,
                               void (*edit)(struct pb_buf *att, struct pb_buf *cdj),
                               struct pb_error *err)
{
	struct pb_buf att, cd;
	pb_buf_init(&att, SA_BUF_MAX);
	pb_buf_init(&cd, SA_BUF_MAX);
	char *cdj = NULL;
	CHECK(sa_register(c, RP, ORIGIN, CH, sizeof(CH), PB_WEBAUTHN_UP | PB_WEBAUTHN_UV, packed,
	                  &att, &cdj));
	pb_buf_adds(&cd, cdj);
	free(cdj);
	edit(&att, &cd);
	struct pb_webauthn_expect w = expect(true);
	struct pb_webauthn_reg r;
	enum pb_status st = pb__webauthn_register_check((const uint8_t *)att.data, att.len,
	                                                cd.data, cd.len, &w, &r, err);
	if (st == PB_OK)
		pb__webauthn_reg_release(&r);
	pb_buf_release(&att);
	pb_buf_release(&cd);
	return st;
}

static void ed_trailing(struct pb_buf *att, struct pb_buf *cdj)
{
	pb_buf_addc(att, 0);
}
static void ed_type_get(struct pb_buf *att, struct pb_buf *cdj)
{
	pb_buf_reset(cdj);
	char *s = sa_client_data("webauthn.get", CH, sizeof(CH), ORIGIN, false);
	pb_buf_adds(cdj, s);
	free(s);
}
static void ed_cross(struct pb_buf *att, struct pb_buf *cdj)
{
	char *s = sa_client_data("webauthn.create", CH, sizeof(CH), ORIGIN, true);
	pb_buf_reset(cdj);
	pb_buf_adds(cdj, s);
	free(s);
}
static void ed_origin(struct pb_buf *att, struct pb_buf *cdj)
{
	char *s = sa_client_data("webauthn.create", CH, sizeof(CH), "http://localhost:8081", false);
	pb_buf_reset(cdj);
	pb_buf_adds(cdj, s);
	free(s);
}
static void ed_challenge(struct pb_buf *att, struct pb_buf *cdj)
{
	uint8_t other[32] = { 1 };
	char *s = sa_client_data("webauthn.create", other, sizeof(other), ORIGIN, false);
	pb_buf_reset(cdj);
	pb_buf_adds(cdj, s);
	free(s);
}
static void ed_cdj_dup(struct pb_buf *att, struct pb_buf *cdj)
{
	cdj->len--; /* drop '}' */
	pb_buf_adds(cdj, ",\"origin\":\"" ORIGIN "\"}");
}
/* the attestation object's first byte a3 (map of 3) as bf (indefinite) ... ff */
static void ed_indefinite(struct pb_buf *att, struct pb_buf *cdj)
{
	att->data[0] = (char)0xbf;
	pb_buf_addc(att, (char)0xff);
}
/* "fmt" twice: the map says 4 members, the last one repeats "fmt" */
static void ed_dup_key(struct pb_buf *att, struct pb_buf *cdj)
{
	att->data[0] = (char)0xa4;
	sa_cbor_text(att, "fmt");
	sa_cbor_text(att, "none");
}
/* the sig of packed: its last byte flipped (it is the last thing before
 * "authData"; find it from the end) */
static void ed_packed_sig(struct pb_buf *att, struct pb_buf *cdj)
{
	char *p = memmem(att->data, att->len, "\x68" "authData", 9);
	p[-1] ^= 1;
}
static void ed_authdata_bit(struct pb_buf *att, struct pb_buf *cdj)
{
	att->data[att->len - 1] ^= 1; /* the COSE key's last byte (y or x) */
}
static void ed_cdj_bit(struct pb_buf *att, struct pb_buf *cdj)
{
	char *p = strstr(cdj->data, "crossOrigin");
	*p = 'C'; /* "CrossOrigin": still JSON, another member; the packed signature breaks */
}

static void t_register_refused(void)
{
	for (int a = 0; a < 2; a++) {
		struct sa_cred c;
		CHECK(sa_cred_new(&c, a ? PB_COSE_EDDSA : PB_COSE_ES256));
		struct pb_error err = { 0 };
		struct pb_webauthn_reg r;
		struct pb_webauthn_expect w = expect(true);
		CHECK_INT(reg_with(&c, PB_WEBAUTHN_UP, false, &w, &r, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "user verification") != NULL);
		CHECK_STR(err.field, "authenticator_data");
		CHECK_INT(reg_with(&c, PB_WEBAUTHN_UV, false, &w, &r, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "user presence") != NULL);
		w.require_uv = false;
		CHECK_OK(reg_with(&c, PB_WEBAUTHN_UP, false, &w, &r, &err), &err);
		pb__webauthn_reg_release(&r);
		w.rp_id = "example.com";
		CHECK_INT(reg_with(&c, PB_WEBAUTHN_UP, false, &w, &r, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "RP ID hash") != NULL);

		CHECK_INT(reg_edit(&c, false, ed_trailing, &err), PB_EFORMAT);
		CHECK(strstr(err.message, "1 bytes after") != NULL);
		CHECK_INT(reg_edit(&c, false, ed_type_get, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "type 'webauthn.get'") != NULL);
		CHECK_STR(err.field, "client_data");
		CHECK_INT(reg_edit(&c, false, ed_cross, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "cross-origin") != NULL);
		CHECK_INT(reg_edit(&c, false, ed_origin, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "origin 'http://localhost:8081'") != NULL);
		CHECK_INT(reg_edit(&c, false, ed_challenge, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "challenge") != NULL);
		CHECK_INT(reg_edit(&c, false, ed_cdj_dup, &err), PB_EFORMAT);
		CHECK_INT(reg_edit(&c, false, ed_indefinite, &err), PB_EFORMAT);
		CHECK(strstr(err.message, "definite-length") != NULL);
		CHECK_INT(reg_edit(&c, false, ed_dup_key, &err), PB_EFORMAT);
		CHECK(strstr(err.message, "twice") != NULL);
		CHECK_INT(reg_edit(&c, true, ed_packed_sig, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "packed self attestation") != NULL);
		CHECK_INT(reg_edit(&c, true, ed_cdj_bit, &err), PB_EVERIFY);
		CHECK(strstr(err.message, "packed self attestation") != NULL);
		/* a changed key: off the curve (ES256), not a point or another key
		 * whose packed signature fails (EdDSA) */
		CHECK(reg_edit(&c, true, ed_authdata_bit, &err) != PB_OK);
		/* fmt none does not sign: the same change is another key, accepted
		 * here for EdDSA when it is a point; the log's possession proof is
		 * the entry's assertion. ES256 off the curve is refused. */
		if (c.alg == PB_COSE_ES256) {
			CHECK_INT(reg_edit(&c, false, ed_authdata_bit, &err), PB_EFORMAT);
			CHECK(strstr(err.message, "not on P-256") != NULL);
		}
		sa_cred_release(&c);
	}
}

/* Every cut of an attestation object is refused, never read past. */
static void t_register_truncated(void)
{
	struct sa_cred c;
	CHECK(sa_cred_new(&c, PB_COSE_ES256));
	struct pb_buf att;
	pb_buf_init(&att, SA_BUF_MAX);
	char *cdj = NULL;
	CHECK(sa_register(&c, RP, ORIGIN, CH, sizeof(CH), PB_WEBAUTHN_UP | PB_WEBAUTHN_UV, true,
	                  &att, &cdj));
	struct pb_webauthn_expect w = expect(true);
	int accepted = 0;
	for (size_t n = 0; n < att.len; n++) {
		uint8_t *cut = malloc(n ? n : 1); /* exactly n bytes, for ASan */
		memcpy(cut, att.data, n);
		struct pb_webauthn_reg r;
		struct pb_error err = { 0 };
		if (pb__webauthn_register_check(cut, n, cdj, strlen(cdj), &w, &r, &err) == PB_OK) {
			accepted++;
			pb__webauthn_reg_release(&r);
		}
		free(cut);
	}
	CHECK_INT(accepted, 0);
	free(cdj);
	pb_buf_release(&att);
	sa_cred_release(&c);
}

/* packed self attestation must name the credential's algorithm */
static void t_register_packed_alg(void)
{
	struct sa_cred c;
	CHECK(sa_cred_new(&c, PB_COSE_ES256));
	struct pb_buf ad, att;
	pb_buf_init(&ad, SA_BUF_MAX);
	pb_buf_init(&att, SA_BUF_MAX);
	char *cdj = sa_client_data("webauthn.create", CH, sizeof(CH), ORIGIN, false);
	sa_authdata(&c, RP, PB_WEBAUTHN_UP | PB_WEBAUTHN_UV | PB_WEBAUTHN_AT, 0, &ad);
	uint8_t *sig;
	size_t sig_len;
	CHECK(sa_sign_ceremony(&c, ad.data, ad.len, cdj, &sig, &sig_len));
	sa_cbor_head(&att, 5, 3);
	sa_cbor_text(&att, "fmt");
	sa_cbor_text(&att, "packed");
	sa_cbor_text(&att, "attStmt");
	sa_cbor_head(&att, 5, 2);
	sa_cbor_text(&att, "alg");
	sa_cbor_int(&att, PB_COSE_EDDSA);
	sa_cbor_text(&att, "sig");
	sa_cbor_bytes(&att, sig, sig_len);
	sa_cbor_text(&att, "authData");
	sa_cbor_bytes(&att, ad.data, ad.len);
	struct pb_webauthn_expect w = expect(true);
	struct pb_webauthn_reg r;
	struct pb_error err = { 0 };
	CHECK_INT(pb__webauthn_register_check((const uint8_t *)att.data, att.len, cdj, strlen(cdj),
	                                      &w, &r, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "alg -8 for a key of alg -7") != NULL);
	free(sig);
	free(cdj);
	pb_buf_release(&ad);
	pb_buf_release(&att);
	sa_cred_release(&c);
}

/* ---- assertions --------------------------------------------------------- */

struct acase {
	const char *rp_id, *origin, *type;
	uint8_t flags;
	bool cross, other_challenge, other_key;
	int flip;       /* 1 signature, 2 authenticator data, 3 client data: byte flip_at */
	size_t flip_at;
};

static enum pb_status run_assert(const struct sa_cred *c, const struct acase *ac, bool uv,
                                 uint32_t counter, uint32_t *cnt_out, size_t *lens,
                                 struct pb_error *err)
{
	struct pb_webauthn_key key = { 0 };
	struct pb_buf cose;
	pb_buf_init(&cose, SA_BUF_MAX);
	sa_cose(c, &cose);
	CHECK_OK(pb__cose_key_parse((const uint8_t *)cose.data, cose.len, &key, err), err);
	if (ac->other_key) {
		struct sa_cred o;
		CHECK(sa_cred_new(&o, c->alg));
		memcpy(key.pk, o.pk, o.pk_len);
		sa_cred_release(&o);
	}
	uint8_t other[32] = { 7 };
	struct pb_buf ad;
	pb_buf_init(&ad, SA_BUF_MAX);
	char *cdj;
	uint8_t *sig;
	size_t sig_len;
	CHECK(sa_assert(c, ac->rp_id ? ac->rp_id : RP, ac->origin ? ac->origin : ORIGIN,
	                ac->type ? ac->type : "webauthn.get", ac->other_challenge ? other : CH,
	                32, ac->flags, counter, ac->cross, &ad, &cdj, &sig, &sig_len));
	size_t cdj_len = strlen(cdj);
	if (lens) {
		lens[0] = sig_len;
		lens[1] = ad.len;
		lens[2] = cdj_len;
	}
	/* an ES256 signature's length varies (DER): a flip past this one's end
	 * is not made, and the run says so with PB_EINVAL */
	enum pb_status st = PB_EINVAL;
	if (ac->flip == 1 && ac->flip_at < sig_len)
		sig[ac->flip_at] ^= 1;
	else if (ac->flip == 2 && ac->flip_at < ad.len)
		ad.data[ac->flip_at] ^= 1;
	else if (ac->flip == 3 && ac->flip_at < cdj_len)
		cdj[ac->flip_at] ^= 1;
	else if (ac->flip)
		goto out;
	struct pb_webauthn_assertion a = { (const uint8_t *)ad.data, ad.len, cdj, cdj_len, sig,
		                           sig_len };
	struct pb_webauthn_expect w = expect(uv);
	st = pb__webauthn_assert_verify(&key, &a, &w, cnt_out, err);
out:
	free(sig);
	free(cdj);
	pb_buf_release(&ad);
	pb_buf_release(&cose);
	pb__webauthn_key_release(&key);
	return st;
}

#define UPUV (PB_WEBAUTHN_UP | PB_WEBAUTHN_UV)

static void t_assert(void)
{
	for (int a = 0; a < 2; a++) {
		struct sa_cred c;
		CHECK(sa_cred_new(&c, a ? PB_COSE_EDDSA : PB_COSE_ES256));
		struct pb_error err = { 0 };
		uint32_t cnt = 0;
		struct acase ok = { .flags = UPUV };
		CHECK_OK(run_assert(&c, &ok, true, 41, &cnt, NULL, &err), &err);
		CHECK_INT(cnt, 41);
		CHECK_OK(run_assert(&c, &ok, true, 0, &cnt, NULL, &err), &err);
		CHECK_INT(cnt, 0);
		struct acase up = { .flags = PB_WEBAUTHN_UP };
		CHECK_OK(run_assert(&c, &up, false, 1, NULL, NULL, &err), &err);

		struct {
			struct acase ac;
			enum pb_status st;
			const char *field, *msg;
		} bad[] = {
			{ { .flags = PB_WEBAUTHN_UP }, PB_EVERIFY, "authenticator_data", "(UV)" },
			{ { .flags = PB_WEBAUTHN_UV }, PB_EVERIFY, "authenticator_data", "(UP)" },
			{ { .flags = UPUV, .type = "webauthn.create" }, PB_EVERIFY, "client_data",
			  "type 'webauthn.create'" },
			{ { .flags = UPUV, .other_challenge = true }, PB_EVERIFY, "client_data",
			  "challenge" },
			{ { .flags = UPUV, .origin = "https://localhost:8080" }, PB_EVERIFY,
			  "client_data", "origin" },
			{ { .flags = UPUV, .origin = "http://localhost:8080/" }, PB_EVERIFY,
			  "client_data", "origin" },
			{ { .flags = UPUV, .rp_id = "localhost.example" }, PB_EVERIFY,
			  "authenticator_data", "RP ID hash" },
			{ { .flags = UPUV, .cross = true }, PB_EVERIFY, "client_data", "cross-origin" },
			{ { .flags = UPUV, .other_key = true }, PB_EVERIFY, "signature", "does not verify" },
			{ { .flags = UPUV | PB_WEBAUTHN_AT }, PB_EFORMAT, "authenticator_data", "" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&err, 0, sizeof(err));
			enum pb_status st = run_assert(&c, &bad[i].ac, true, 5, NULL, NULL, &err);
			if (st != bad[i].st || strcmp(err.field, bad[i].field) ||
			    !strstr(err.message, bad[i].msg))
				UNIT_FAIL_("case %zu (alg %d): status %d field '%s': %s", i, c.alg, st,
				           err.field, err.message);
		}
		sa_cred_release(&c);
	}
}

/* Every byte of the signature, the authenticator data and the client data,
 * one bit changed: refused. */
static void t_assert_bitflips(void)
{
	for (int a = 0; a < 2; a++) {
		struct sa_cred c;
		CHECK(sa_cred_new(&c, a ? PB_COSE_EDDSA : PB_COSE_ES256));
		struct pb_error err = { 0 };
		size_t lens[3];
		struct acase ac = { .flags = UPUV };
		CHECK_OK(run_assert(&c, &ac, true, 9, NULL, lens, &err), &err);
		for (int part = 1; part <= 3; part++) {
			int accepted = 0;
			for (size_t i = 0; i < lens[part - 1]; i++) {
				ac.flip = part;
				ac.flip_at = i;
				/* the same key pair each time: the signature is made anew
				 * (ECDSA's random k) but over the same bytes */
				if (run_assert(&c, &ac, false, 9, NULL, NULL, &err) == PB_OK)
					accepted++;
			}
			if (accepted)
				UNIT_FAIL_("alg %d part %d: %d flips accepted", c.alg, part, accepted);
		}
		sa_cred_release(&c);
	}
}

/* ---- COSE keys ----------------------------------------------------------- */

static enum pb_status cose(struct pb_buf *b, struct pb_error *err)
{
	struct pb_webauthn_key k;
	enum pb_status st = pb__cose_key_parse((const uint8_t *)b->data, b->len, &k, err);
	pb__webauthn_key_release(&k);
	pb_buf_reset(b);
	return st;
}

static void t_cose(void)
{
	struct sa_cred es, ed;
	CHECK(sa_cred_new(&es, PB_COSE_ES256));
	CHECK(sa_cred_new(&ed, PB_COSE_EDDSA));
	const uint8_t *x = es.pk + 1, *y = es.pk + 33;
	struct pb_buf b;
	pb_buf_init(&b, 4096);
	struct pb_error err = { 0 };
	sa_cose(&es, &b);
	CHECK_OK(cose(&b, &err), &err);
	sa_cose(&ed, &b);
	CHECK_OK(cose(&b, &err), &err);

	sa_cose_raw(&b, 1, -7, 1, x, 32, y, 32); /* kty OKP for ES256 */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "kty EC2") != NULL);
	CHECK_STR(err.field, "credential");
	sa_cose_raw(&b, 2, -7, 2, x, 32, y, 32); /* crv P-384 */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose_raw(&b, 2, -257, 1, x, 32, y, 32); /* RS256 */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "algorithm -257") != NULL);
	sa_cose_raw(&b, 2, -35, 1, x, 32, y, 32); /* ES384 */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose_raw(&b, 2, -7, 1, x, 31, y, 32);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose_raw(&b, 2, -7, 1, x, 32, NULL, 0); /* no y */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	uint8_t y2[32];
	memcpy(y2, y, 32);
	y2[31] ^= 1;
	sa_cose_raw(&b, 2, -7, 1, x, 32, y2, 32);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "not on P-256") != NULL);
	uint8_t zero[32] = { 0 };
	sa_cose_raw(&b, 2, -7, 1, zero, 32, zero, 32);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);

	sa_cose_raw(&b, 2, -8, 6, ed.pk, 32, NULL, 0); /* EdDSA with kty EC2 */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose_raw(&b, 1, -8, 1, ed.pk, 32, NULL, 0); /* crv P-256 */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose_raw(&b, 1, -8, 6, ed.pk, 32, ed.pk, 32); /* a y */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose_raw(&b, 1, -8, 6, zero, 32, NULL, 0); /* small order */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "not a valid point") != NULL);

	/* CBOR shapes */
	sa_cose(&es, &b);
	pb_buf_addc(&b, 0);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "after the CBOR item") != NULL);
	sa_cose(&es, &b);
	b.len -= 1;
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose(&es, &b);
	b.data[0] = (char)0xbf; /* indefinite-length map */
	pb_buf_addc(&b, (char)0xff);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cose(&es, &b);
	b.data[0] = (char)0xa6; /* kty again */
	sa_cbor_int(&b, 1);
	sa_cbor_int(&b, 2);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "twice") != NULL);
	sa_cose(&es, &b);
	b.data[0] = (char)0xa6; /* kid (2): another label, ignored */
	sa_cbor_int(&b, 2);
	sa_cbor_bytes(&b, "k", 1);
	CHECK_OK(cose(&b, &err), &err);
	sa_cose(&es, &b);
	b.data[0] = (char)0xa6; /* kty as text */
	sa_cbor_int(&b, 1);
	sa_cbor_text(&b, "EC2");
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cbor_head(&b, 4, 1); /* an array */
	sa_cbor_int(&b, 1);
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	sa_cbor_head(&b, 5, 1000000); /* a count beyond the bytes */
	CHECK_INT(cose(&b, &err), PB_EFORMAT);
	pb_buf_release(&b);
	sa_cred_release(&es);
	sa_cred_release(&ed);
}

/* ---- authenticator data -------------------------------------------------- */

static void t_authdata(void)
{
	struct sa_cred c;
	CHECK(sa_cred_new(&c, PB_COSE_ES256));
	struct pb_buf b;
	pb_buf_init(&b, 4096);
	struct pb_webauthn_authdata ad;
	struct pb_error err = { 0 };
	sa_authdata(&c, RP, UPUV | PB_WEBAUTHN_AT, 0x01020304, &b);
	CHECK_OK(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err), &err);
	CHECK(ad.has_cred);
	CHECK_INT(ad.sign_count, 0x01020304);
	CHECK_INT(ad.cred_id_len, 32);
	CHECK(ad.cose + ad.cose_len == (const uint8_t *)b.data + b.len);
	for (size_t n = 0; n < b.len; n++)
		CHECK(pb__webauthn_authdata_parse((const uint8_t *)b.data, n, &ad, &err) != PB_OK);
	/* extensions (ED): one map, skipped */
	b.data[32] |= (char)PB_WEBAUTHN_ED;
	sa_cbor_head(&b, 5, 1);
	sa_cbor_text(&b, "credProtect");
	sa_cbor_int(&b, 2);
	CHECK_OK(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err), &err);
	pb_buf_addc(&b, 0);
	CHECK_INT(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err),
	          PB_EFORMAT);
	CHECK(strstr(err.message, "after its last part") != NULL);
	pb_buf_reset(&b);
	sa_authdata(&c, RP, UPUV | PB_WEBAUTHN_ED, 1, &b);
	sa_cbor_int(&b, 2); /* extensions that are not a map */
	CHECK_INT(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err),
	          PB_EFORMAT);
	pb_buf_reset(&b);
	sa_authdata(&c, RP, UPUV, 1, &b);
	pb_buf_addc(&b, 0);
	CHECK_INT(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err),
	          PB_EFORMAT);
	/* a credential id of 0 bytes, and one longer than what follows */
	pb_buf_reset(&b);
	sa_authdata(&c, RP, UPUV | PB_WEBAUTHN_AT, 1, &b);
	b.data[37 + 16] = 0;
	b.data[37 + 17] = 0;
	CHECK_INT(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err),
	          PB_EFORMAT);
	b.data[37 + 16] = 0x03;
	b.data[37 + 17] = (char)0xff;
	CHECK_INT(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err),
	          PB_EFORMAT);
	b.data[37 + 16] = 0x04; /* 1024: over WebAuthn's limit */
	b.data[37 + 17] = 0;
	CHECK_INT(pb__webauthn_authdata_parse((const uint8_t *)b.data, b.len, &ad, &err),
	          PB_EFORMAT);
	pb_buf_release(&b);
	sa_cred_release(&c);
}

/* ---- Chromium's virtual authenticator ---------------------------------- */

static uint8_t *b64_member(json_t *o, const char *name, size_t *n)
{
	const char *s = json_string_value(json_object_get(o, name));
	uint8_t *out = NULL;
	if (!s || !pb__b64url_decode(s, strlen(s), 65536, &out, n))
		return NULL;
	return out;
}

static void chromium(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j) {
		UNIT_FAIL_("%s: %s", path, je.text);
		return;
	}
	const char *rp = json_string_value(json_object_get(j, "rp_id"));
	const char *origin = json_string_value(json_object_get(j, "origin"));
	const char *statement = json_string_value(json_object_get(j, "statement"));
	json_t *reg = json_object_get(json_object_get(j, "registration"), "response");
	json_t *as = json_object_get(json_object_get(j, "assertion"), "response");
	size_t cc_len = 0, att_len = 0, cdj_len = 0, ad_len = 0, acdj_len = 0, sig_len = 0;
	uint8_t *cc = b64_member(j, "create_challenge", &cc_len);
	uint8_t *att = b64_member(reg, "attestationObject", &att_len);
	uint8_t *cdj = b64_member(reg, "clientDataJSON", &cdj_len);
	uint8_t *ad = b64_member(as, "authenticatorData", &ad_len);
	uint8_t *acdj = b64_member(as, "clientDataJSON", &acdj_len);
	uint8_t *sig = b64_member(as, "signature", &sig_len);
	CHECK(rp && origin && statement && cc && att && cdj && ad && acdj && sig);
	if (!(rp && origin && statement && cc && att && cdj && ad && acdj && sig))
		goto out;
	struct pb_webauthn_expect w = { rp, origin, cc, cc_len, true };
	struct pb_webauthn_reg r;
	struct pb_error err = { 0 };
	CHECK_OK(pb__webauthn_register_check(att, att_len, (const char *)cdj, cdj_len, &w, &r,
	                                     &err), &err);
	if (err.code)
		goto out;
	const char *id = json_string_value(json_object_get(json_object_get(j, "registration"),
	                                                   "id"));
	char *id2 = pb__b64url_encode(r.cred_id, r.cred_id_len);
	CHECK_STR(id2, id);
	free(id2);
	uint8_t ch[32];
	pb__webauthn_challenge(statement, strlen(statement), ch);
	w.challenge = ch;
	w.challenge_len = 32;
	struct pb_webauthn_assertion a = { ad, ad_len, (const char *)acdj, acdj_len, sig, sig_len };
	uint32_t cnt = 0;
	CHECK_OK(pb__webauthn_assert_verify(&r.key, &a, &w, &cnt, &err), &err);
	CHECK(cnt >= 1);
	sig[sig_len - 1] ^= 1;
	CHECK_INT(pb__webauthn_assert_verify(&r.key, &a, &w, &cnt, &err), PB_EVERIFY);
	pb__webauthn_reg_release(&r);
out:
	free(cc);
	free(att);
	free(cdj);
	free(ad);
	free(acdj);
	free(sig);
	json_decref(j);
}

static void t_chromium_es256(void)
{
	chromium("tests/data/webauthn/chromium-es256.json");
}

static void t_chromium_eddsa(void)
{
	chromium("tests/data/webauthn/chromium-eddsa.json");
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	pb__webauthn_challenge("probity statement", 17, CH);
	RUN(t_b64url);
	RUN(t_challenge_fingerprint);
	RUN(t_register);
	RUN(t_register_refused);
	RUN(t_register_truncated);
	RUN(t_register_packed_alg);
	RUN(t_assert);
	RUN(t_assert_bitflips);
	RUN(t_cose);
	RUN(t_authdata);
	RUN(t_chromium_es256);
	RUN(t_chromium_eddsa);
	return UNIT_END("webauthn");
}
