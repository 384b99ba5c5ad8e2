/* softauthn.c - test only: a software WebAuthn authenticator from the shell,
 * so CLI and e2e tests register and sign with passkeys without a browser
 * (docs/webauthn.md; the bytes come from softauthn.h).
 *
 * Not built by `make`, never installed: `make test-tools` builds it.
 *
 * usage: softauthn new --alg es256|eddsa --rp-id R --origin O
 *                      (--challenge B64URL | --statement FILE) --out CRED.json
 *                      [--fmt none|packed]
 *            prints navigator.credentials.create()'s answer as JSON
 *            {"id","rawId","type":"public-key","response":{"attestationObject",
 *            "clientDataJSON"}} (base64url) and keeps the private key in CRED.json
 *        softauthn get CRED.json --rp-id R --origin O
 *                      (--challenge B64URL | --statement FILE) [--counter N]
 *                      [--no-uv] [--no-up] [--type T] [--cross-origin]
 *            prints navigator.credentials.get()'s answer {"id","response":
 *            {"authenticatorData","clientDataJSON","signature"}}; the counter is
 *            the one in CRED.json plus one (or N), and is kept there
 * --statement FILE: the challenge is SHA-256 of the file's text without its
 * trailing line ends, as the library trims a statement file.
 * Exit 0 done, 1 failed, 2 usage.
 */
#include "softauthn.h"
#include "util/util.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/x509.h>

static int usage(void)
{
	fprintf(stderr,
	        "usage: softauthn new --alg es256|eddsa --rp-id R --origin O\n"
	        "                     (--challenge B64URL | --statement FILE) --out CRED.json\n"
	        "                     [--fmt none|packed]\n"
	        "       softauthn get CRED.json --rp-id R --origin O\n"
	        "                     (--challenge B64URL | --statement FILE) [--counter N]\n"
	        "                     [--no-uv] [--no-up] [--type T] [--cross-origin]\n");
	return 2;
}

static int failf(const char *what)
{
	fprintf(stderr, "softauthn: %s\n", what);
	return 1;
}

struct opts {
	const char *alg, *rp_id, *origin, *challenge, *statement, *out, *fmt, *type;
	long long counter;
	bool no_uv, no_up, cross_origin;
};

/* The challenge's bytes, from --challenge or --statement. */
static bool challenge_of(const struct opts *o, uint8_t **ch, size_t *n)
{
	if (o->challenge)
		return pb__b64url_decode(o->challenge, strlen(o->challenge), 1024, ch, n);
	char *text = NULL;
	size_t len = 0;
	if (pb__read_file(o->statement, 1 << 20, &text, &len, NULL) != PB_OK)
		return false;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	*ch = malloc(32);
	if (*ch)
		pb__webauthn_challenge(text, len, *ch);
	*n = 32;
	free(text);
	return *ch != NULL;
}

static char *b64(const void *p, size_t n)
{
	return pb__b64url_encode(p, n);
}

static bool cred_save(const char *path, const struct sa_cred *c)
{
	uint8_t *der = NULL;
	int der_len = 0;
	char *key;
	if (c->alg == PB_COSE_ES256) {
		der_len = i2d_PrivateKey(c->ec, &der);
		if (der_len <= 0)
			return false;
		key = b64(der, (size_t)der_len);
		OPENSSL_free(der);
	} else {
		key = b64(c->ed_sk, sizeof(c->ed_sk));
	}
	char *id = b64(c->id, c->id_len);
	json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "alg",
	                      c->alg == PB_COSE_ES256 ? "es256" : "eddsa", "id", id ? id : "",
	                      "key", key ? key : "", "counter", (json_int_t)c->counter);
	bool ok = j && key && id && json_dump_file(j, path, JSON_INDENT(1)) == 0;
	json_decref(j);
	free(key);
	free(id);
	return ok;
}

static bool cred_load(const char *path, struct sa_cred *c)
{
	memset(c, 0, sizeof(*c));
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	const char *alg = json_string_value(json_object_get(j, "alg"));
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *key = json_string_value(json_object_get(j, "key"));
	json_t *cnt = json_object_get(j, "counter");
	uint8_t *idb = NULL, *kb = NULL;
	size_t idn = 0, kn = 0;
	bool ok = alg && id && key && json_is_integer(cnt) &&
	          pb__b64url_decode(id, strlen(id), sizeof(c->id), &idb, &idn) &&
	          pb__b64url_decode(key, strlen(key), 4096, &kb, &kn);
	if (ok) {
		memcpy(c->id, idb, idn);
		c->id_len = idn;
		c->counter = (uint32_t)json_integer_value(cnt);
		if (!strcmp(alg, "eddsa") && kn == 64) {
			c->alg = PB_COSE_EDDSA;
			memcpy(c->ed_sk, kb, 64);
			crypto_sign_ed25519_sk_to_pk(c->pk, c->ed_sk);
			c->pk_len = 32;
		} else if (!strcmp(alg, "es256")) {
			const uint8_t *p = kb;
			c->alg = PB_COSE_ES256;
			c->ec = d2i_AutoPrivateKey(NULL, &p, (long)kn);
			ok = c->ec && sa_ec_pub(c);
		} else {
			ok = false;
		}
	}
	free(idb);
	free(kb);
	json_decref(j);
	return ok;
}

static int print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!s)
		return failf("out of memory");
	puts(s);
	free(s);
	json_decref(j);
	return 0;
}

static int cmd_new(const struct opts *o)
{
	if (!o->alg || !o->out || (strcmp(o->alg, "es256") && strcmp(o->alg, "eddsa")) ||
	    (o->fmt && strcmp(o->fmt, "none") && strcmp(o->fmt, "packed")))
		return usage();
	uint8_t *ch;
	size_t ch_len;
	if (!challenge_of(o, &ch, &ch_len))
		return failf("cannot read the challenge (base64url) or the statement file");
	struct sa_cred c;
	if (!sa_cred_new(&c, strcmp(o->alg, "es256") ? PB_COSE_EDDSA : PB_COSE_ES256)) {
		free(ch);
		return failf("cannot make a key");
	}
	struct pb_buf att;
	pb_buf_init(&att, SA_BUF_MAX);
	char *cdj = NULL;
	uint8_t flags = PB_WEBAUTHN_UP | (o->no_uv ? 0 : PB_WEBAUTHN_UV);
	int rc = 1;
	if (!sa_register(&c, o->rp_id, o->origin, ch, ch_len, flags,
	                 o->fmt && !strcmp(o->fmt, "packed"), &att, &cdj) || !cred_save(o->out, &c)) {
		failf("cannot make the credential or write its file");
		goto out;
	}
	char *id = b64(c.id, c.id_len), *a = b64(att.data, att.len), *cd = b64(cdj, strlen(cdj));
	rc = print_json(json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "id", id, "rawId", id, "type",
	                          "public-key", "response", "attestationObject", a,
	                          "clientDataJSON", cd));
	free(id);
	free(a);
	free(cd);
out:
	free(cdj);
	free(ch);
	pb_buf_release(&att);
	sa_cred_release(&c);
	return rc;
}

static int cmd_get(const char *path, const struct opts *o)
{
	struct sa_cred c;
	if (!cred_load(path, &c))
		return failf("cannot read the credential file");
	uint8_t *ch;
	size_t ch_len;
	if (!challenge_of(o, &ch, &ch_len)) {
		sa_cred_release(&c);
		return failf("cannot read the challenge (base64url) or the statement file");
	}
	c.counter = o->counter >= 0 ? (uint32_t)o->counter : c.counter + 1;
	uint8_t flags = (o->no_up ? 0 : PB_WEBAUTHN_UP) | (o->no_uv ? 0 : PB_WEBAUTHN_UV);
	struct pb_buf ad;
	pb_buf_init(&ad, SA_BUF_MAX);
	char *cdj = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc = 1;
	if (!sa_assert(&c, o->rp_id, o->origin, o->type ? o->type : "webauthn.get", ch, ch_len,
	               flags, c.counter, o->cross_origin, &ad, &cdj, &sig, &sig_len) ||
	    !cred_save(path, &c)) {
		failf("cannot sign or write the credential file");
		goto out;
	}
	char *id = b64(c.id, c.id_len), *a = b64(ad.data, ad.len), *cd = b64(cdj, strlen(cdj)),
	     *s = b64(sig, sig_len);
	rc = print_json(json_pack("{s:s, s:{s:s, s:s, s:s}}", "id", id, "response",
	                          "authenticatorData", a, "clientDataJSON", cd, "signature", s));
	free(id);
	free(a);
	free(cd);
	free(s);
out:
	free(sig);
	free(cdj);
	free(ch);
	pb_buf_release(&ad);
	sa_cred_release(&c);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ "rp-id", required_argument, NULL, 'r' },
		{ "origin", required_argument, NULL, 'o' },
		{ "challenge", required_argument, NULL, 'c' },
		{ "statement", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'O' },
		{ "fmt", required_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "counter", required_argument, NULL, 'n' },
		{ "no-uv", no_argument, NULL, 'V' },
		{ "no-up", no_argument, NULL, 'P' },
		{ "cross-origin", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	struct opts o = { .counter = -1 };
	optind = 2;
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.alg = optarg; break;
		case 'r': o.rp_id = optarg; break;
		case 'o': o.origin = optarg; break;
		case 'c': o.challenge = optarg; break;
		case 's': o.statement = optarg; break;
		case 'O': o.out = optarg; break;
		case 'f': o.fmt = optarg; break;
		case 't': o.type = optarg; break;
		case 'n': {
			char *end;
			o.counter = strtoll(optarg, &end, 10);
			if (*end || o.counter < 0 || o.counter > UINT32_MAX)
				return usage();
			break;
		}
		case 'V': o.no_uv = true; break;
		case 'P': o.no_up = true; break;
		case 'X': o.cross_origin = true; break;
		default: return usage();
		}
	}
	if (!o.rp_id || !o.origin || !o.challenge == !o.statement)
		return usage();
	if (!strcmp(cmd, "new") && optind == argc)
		return cmd_new(&o);
	if (!strcmp(cmd, "get") && optind == argc - 1)
		return cmd_get(argv[optind], &o);
	return usage();
}
