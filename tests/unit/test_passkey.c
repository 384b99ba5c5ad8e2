/* test_passkey.c - the passkey registry and a passkey's signature
 * (auth/passkeys.c, log/sign_webauthn.c, pb_session_signin_passkey): the
 * origin declaration's rules, registration in an unsigned and a signed
 * workspace (the invitation's rules, proof of possession), revocation,
 * passkey-signed entries and their refusals, and passkey sign-in. The
 * authenticator is tests/tools/softauthn.h; the admin of a signed
 * workspace signs with ssh-keygen's test key in tests/data/ident. */
#include "unit.h"

#include "../tools/softauthn.h"
#include "auth/auth.h"
#include "log/audit.h"

#include <jansson.h>
#include <unistd.h>

#define RP "localhost"
#define ORIGIN "http://localhost:8080"
#define UPUV (PB_WEBAUTHN_UP | PB_WEBAUTHN_UV)

static char *dir;
static char key_root[4200];

static struct pb_ws *new_ws(const char *name, bool is_unsigned)
{
	struct pb_error err = { 0 };
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct pb_ws_init_options o = { .unsigned_actors = is_unsigned };
	struct pb_ws *ws = NULL;
	CHECK_OK(pb_ws_init(path, &o, &err), &err);
	CHECK_OK(pb_ws_open(path, 0, &ws, &err), &err);
	return ws;
}

static json_t *entry(struct pb_ws *ws, uint64_t idx)
{
	char *data = NULL;
	size_t len = 0;
	struct pb_error err = { 0 };
	CHECK_OK(pb__audit_entry_verified(ws, idx, &data, &len, &err), &err);
	json_t *e = data ? json_loadb(data, len, 0, NULL) : NULL;
	free(data);
	return e;
}

static char *b64(const void *p, size_t n)
{
	return pb__b64url_encode(p, n);
}

/* A registration by c for user, answering a fresh challenge. */
struct reg {
	struct pb_passkey_reg r;
	uint8_t ch[32];
	char *att, *cdj;
};

static void reg_make(struct reg *g, struct sa_cred *c, const char *user, const char *token)
{
	memset(g, 0, sizeof(*g));
	randombytes_buf(g->ch, sizeof(g->ch));
	struct pb_buf att;
	pb_buf_init(&att, SA_BUF_MAX);
	char *cdj = NULL;
	CHECK(sa_register(c, RP, ORIGIN, g->ch, sizeof(g->ch), UPUV, false, &att, &cdj));
	g->att = b64(att.data, att.len);
	g->cdj = cdj ? b64(cdj, strlen(cdj)) : NULL;
	free(cdj);
	pb_buf_release(&att);
	g->r = (struct pb_passkey_reg){ .user = user,
		                        .attestation_object = g->att,
		                        .client_data_json = g->cdj,
		                        .challenge = g->ch,
		                        .challenge_len = sizeof(g->ch),
		                        .invite_token = token };
}

static void reg_release(struct reg *g)
{
	free(g->att);
	free(g->cdj);
}

/* ---- a write signed by a passkey: statement, assertion, write ---------- */

typedef enum pb_status (*op_fn)(struct pb_ws *ws, void *ctx, struct pb_error *err);

static enum pb_status op_add(struct pb_ws *ws, void *ctx, struct pb_error *err)
{
	const struct pb_passkey_reg *r = ctx;
	return pb_passkey_add(ws, r->user, r, NULL, NULL, err);
}

struct revoke {
	const char *actor, *user, *fp;
};
static enum pb_status op_revoke(struct pb_ws *ws, void *ctx, struct pb_error *err)
{
	const struct revoke *v = ctx;
	return pb_passkey_revoke(ws, v->actor, v->user, v->fp, "lost", NULL, err);
}

/* op stopped at its statement, then run with c's assertion over it (flags;
 * counter: c's next unless given). */
static enum pb_status by_passkey(struct pb_ws *ws, struct sa_cred *c, uint8_t flags,
                                 uint32_t counter, op_fn op, void *ctx, struct pb_error *err)
{
	struct pb_error e0 = { 0 };
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .statement_only = true }, &e0), &e0);
	enum pb_status rc = op(ws, ctx, err);
	if (rc != PB_ESTATEMENT) {
		pb_ws_set_signing(ws, NULL, NULL);
		return rc;
	}
	char *st = strdup(pb_ws_statement(ws, NULL));
	uint8_t ch[32];
	pb_passkey_challenge(st, strlen(st), ch);
	struct pb_buf ad;
	pb_buf_init(&ad, SA_BUF_MAX);
	char *cdj = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	c->counter = counter ? counter : c->counter + 1;
	CHECK(sa_assert(c, RP, ORIGIN, "webauthn.get", ch, sizeof(ch), flags, c->counter, false, &ad,
	                &cdj, &sig, &sig_len));
	char *e_id = b64(c->id, c->id_len), *e_ad = b64(ad.data, ad.len),
	     *e_cd = b64(cdj, strlen(cdj)), *e_sig = b64(sig, sig_len);
	struct pb_sign_opts so = { .statement = st,
		                   .statement_len = strlen(st),
		                   .webauthn_credential_id = e_id,
		                   .webauthn_authenticator_data = e_ad,
		                   .webauthn_client_data_json = e_cd,
		                   .webauthn_signature = e_sig };
	CHECK_OK(pb_ws_set_signing(ws, &so, &e0), &e0);
	rc = op(ws, ctx, err);
	pb_ws_set_signing(ws, NULL, NULL);
	free(st);
	free(cdj);
	free(sig);
	free(e_id);
	free(e_ad);
	free(e_cd);
	free(e_sig);
	pb_buf_release(&ad);
	return rc;
}

static enum pb_status op_origin(struct pb_ws *ws, void *ctx, struct pb_error *err)
{
	return pb_passkey_origin_set(ws, ctx, ORIGIN, NULL, NULL, err);
}

static bool count_passkeys(void *ctx, const struct pb_passkey *k)
{
	(*(int *)ctx)++;
	CHECK(!strncmp(k->fp, "webauthn:", 9));
	return true;
}

/* ---- the origin ---------------------------------------------------------- */

static void t_origin(void)
{
	struct pb_ws *ws = new_ws("origin", true);
	struct pb_error err = { 0 };
	CHECK_OK(pb_user_add(ws, NULL, "root", "admin", NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "ann", "analyst", NULL, &err), &err);
	char o[PB_PASSKEY_ORIGIN_MAX], r[PB_PASSKEY_ORIGIN_MAX];
	CHECK_INT(pb_passkey_origin(ws, o, r, &err), PB_ENOENT);
	static const char *const bad[] = {
		"ftp://x.example",           "https://",
		"https://Review.example",    "https://review.example/path",
		"https://review.example:99999", "http://review.example",
		"https://review.example:",   "",
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
		CHECK_INT(pb_passkey_origin_set(ws, "root", bad[i], NULL, NULL, &err), PB_EINVAL);
		CHECK_STR(err.field, "origin");
	}
	CHECK_INT(pb_passkey_origin_set(ws, "root", "https://a.review.example", "other.example",
	                                NULL, &err),
	          PB_EINVAL);
	CHECK_STR(err.field, "rp_id");
	CHECK_INT(pb_passkey_origin_set(ws, "root", "https://review.example", "example", NULL, &err),
	          PB_EINVAL); /* a top-level domain is no RP ID */
	CHECK_INT(pb_passkey_origin_set(ws, "ann", "https://review.example", NULL, NULL, &err),
	          PB_EPERM);
	CHECK_OK(pb_passkey_origin_set(ws, "root", "https://a.review.example:8443", "review.example",
	                               NULL, &err),
	         &err);
	CHECK_OK(pb_passkey_origin(ws, o, r, &err), &err);
	CHECK_STR(o, "https://a.review.example:8443");
	CHECK_STR(r, "review.example");
	uint64_t idx = 0;
	CHECK_OK(pb_passkey_origin_set(ws, "root", "http://127.0.0.1:8080", NULL, &idx, &err), &err);
	CHECK_OK(pb_passkey_origin(ws, o, r, &err), &err);
	CHECK_STR(r, "127.0.0.1"); /* the last declaration is in force */
	json_t *e = entry(ws, idx);
	CHECK_STR(json_string_value(json_object_get(e, "action")), "web.origin");
	json_decref(e);
	pb_ws_close(ws);
}

/* ---- an unsigned workspace: no invitation, no signature ----------------- */

static void t_unsigned(void)
{
	struct pb_ws *ws = new_ws("plain", true);
	struct pb_error err = { 0 };
	CHECK_OK(pb_user_add(ws, NULL, "root", "admin", NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "ann", "analyst", NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "ben", "analyst", NULL, &err), &err);
	struct sa_cred c;
	CHECK(sa_cred_new(&c, PB_COSE_EDDSA));
	struct reg g;
	reg_make(&g, &c, "ann", NULL);
	CHECK_INT(pb_passkey_add(ws, "ann", &g.r, NULL, NULL, &err), PB_ESTATE); /* no origin */
	CHECK_OK(pb_passkey_origin_set(ws, "root", ORIGIN, NULL, NULL, &err), &err);
	CHECK_INT(pb_passkey_add(ws, "root", &g.r, NULL, NULL, &err), PB_EPERM);
	CHECK_STR(err.field, "user");
	uint8_t keep = g.ch[0];
	g.ch[0] ^= 1;
	CHECK(pb_passkey_add(ws, "ann", &g.r, NULL, NULL, &err) != PB_OK);
	CHECK_STR(err.field, "credential");
	g.ch[0] = keep;
	char fp[PB_PASSKEY_FP_MAX];
	uint64_t idx = 0;
	CHECK_OK(pb_passkey_add(ws, "ann", &g.r, fp, &idx, &err), &err);
	CHECK(!strncmp(fp, "webauthn:", 9) && strlen(fp) == 9 + 43);
	json_t *e = entry(ws, idx);
	json_t *d = json_object_get(e, "details");
	CHECK(json_object_get(e, "sig") == NULL);
	CHECK_STR(json_string_value(json_object_get(d, "key_fp")), fp);
	CHECK_INT(json_integer_value(json_object_get(d, "alg")), -8);
	CHECK_STR(json_string_value(json_object_get(d, "fmt")), "none");
	CHECK(json_object_get(d, "invite") == NULL);
	json_decref(e);
	/* one credential, one user, ever */
	struct reg g2 = g;
	g2.r.user = "ben";
	CHECK_INT(pb_passkey_add(ws, "ben", &g2.r, NULL, NULL, &err), PB_EEXIST);
	CHECK_STR(err.field, "credential");
	int n = 0;
	CHECK_OK(pb_passkey_list(ws, "ann", count_passkeys, &n, &err), &err);
	CHECK_INT(n, 1);
	/* revocation: the user or an admin */
	CHECK_INT(pb_passkey_revoke(ws, "ben", "ann", fp, "lost", NULL, &err), PB_EPERM);
	CHECK_INT(pb_passkey_revoke(ws, "ann", "ann", fp, "", NULL, &err), PB_EINVAL);
	CHECK_INT(pb_passkey_revoke(ws, "ann", "ben", fp, "lost", NULL, &err), PB_EPERM);
	CHECK_OK(pb_passkey_revoke(ws, "ann", "ann", fp, "lost", NULL, &err), &err);
	CHECK_INT(pb_passkey_revoke(ws, "root", "ann", fp, "lost", NULL, &err), PB_ESTATE);
	CHECK_INT(pb_passkey_add(ws, "ann", &g.r, NULL, NULL, &err), PB_EEXIST); /* revoked: still hers */
	reg_release(&g);
	sa_cred_release(&c);
	pb_ws_close(ws);
}

/* ---- a signed workspace ----------------------------------------------------- */

static struct pb_ws *signed_ws(const char *name)
{
	struct pb_ws *ws = new_ws(name, false);
	struct pb_error err = { 0 };
	char line[1024] = "";
	FILE *f = fopen("tests/data/ident/alice.pub", "r");
	if (f && fgets(line, sizeof(line), f))
		line[strcspn(line, "\r\n")] = '\0';
	if (f)
		fclose(f);
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_root }, &err),
	         &err);
	CHECK_OK(pb_user_add_key(ws, NULL, "root", "admin", line, NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "carol", "admin", NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "dan", "analyst", NULL, &err), &err);
	CHECK_OK(pb_passkey_origin_set(ws, "root", ORIGIN, NULL, NULL, &err), &err);
	return ws;
}

/* root (an SSH key) invites name for ttl_s; the token into tok. */
static void invite(struct pb_ws *ws, const char *name, int64_t ttl_s, char tok[PB_SECRET_HEX])
{
	struct pb_error err = { 0 };
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_root }, &err),
	         &err);
	CHECK_OK(pb_user_invite(ws, "root", name, ttl_s, tok, NULL, &err), &err);
	pb_ws_set_signing(ws, NULL, NULL);
}

static void t_signed(void)
{
	struct pb_ws *ws = signed_ws("signed");
	struct pb_error err = { 0 };
	struct sa_cred c, c2, d;
	CHECK(sa_cred_new(&c, PB_COSE_ES256));
	CHECK(sa_cred_new(&c2, PB_COSE_EDDSA));
	CHECK(sa_cred_new(&d, PB_COSE_EDDSA));
	char tok[PB_SECRET_HEX], tok_d[PB_SECRET_HEX];
	invite(ws, "carol", 3600, tok);
	struct reg g;
	reg_make(&g, &c, "carol", NULL);
	/* an invitation is needed, and the entry is signed by the passkey itself */
	CHECK_INT(by_passkey(ws, &c, UPUV, 0, op_add, &g.r, &err), PB_EPERM);
	CHECK_STR(err.field, "invite_token");
	g.r.invite_token = "00000000000000000000000000000000000000000000000000000000000000ff";
	CHECK_INT(by_passkey(ws, &c, UPUV, 0, op_add, &g.r, &err), PB_EPERM);
	CHECK_STR(err.field, "invite_token");
	g.r.invite_token = tok;
	CHECK_INT(pb_passkey_add(ws, "carol", &g.r, NULL, NULL, &err), PB_EPERM); /* unsigned */
	CHECK_INT(by_passkey(ws, &c2, UPUV, 0, op_add, &g.r, &err), PB_EPERM);    /* another key */
	CHECK_INT(by_passkey(ws, &c, PB_WEBAUTHN_UP, 0, op_add, &g.r, &err), PB_EVERIFY); /* no UV */
	uint64_t size0 = 0;
	CHECK_OK(pb__audit_size(ws, &size0, &err), &err);
	CHECK_OK(by_passkey(ws, &c, UPUV, 0, op_add, &g.r, &err), &err);
	json_t *e = entry(ws, size0);
	json_t *sig = json_object_get(e, "sig");
	const char *fp = json_string_value(json_object_get(json_object_get(e, "details"), "key_fp"));
	CHECK_STR(json_string_value(json_object_get(sig, "key_fp")), fp);
	CHECK(json_is_string(json_object_get(json_object_get(sig, "webauthn"), "signature")));
	CHECK(json_object_get(sig, "sshsig") == NULL);
	CHECK_STR(json_string_value(json_object_get(sig, "ns")), "probity@v1");
	CHECK_STR(json_string_value(json_object_get(json_object_get(e, "details"), "token")), tok);
	char cfp[PB_PASSKEY_FP_MAX];
	pb__strlcpy(cfp, fp, sizeof(cfp));
	json_decref(e);
	/* the invitation is used up */
	struct reg g2;
	reg_make(&g2, &c2, "carol", tok);
	CHECK_INT(by_passkey(ws, &c2, UPUV, 0, op_add, &g2.r, &err), PB_EPERM);
	CHECK(strstr(err.message, "already used") != NULL);
	/* revoked, and expired */
	invite(ws, "dan", 3600, tok_d);
	CHECK_OK(pb_ws_set_signing(ws, &(struct pb_sign_opts){ .identity_file = key_root }, &err),
	         &err);
	CHECK_OK(pb_user_invite_revoke(ws, "root", "dan", NULL, &err), &err);
	struct reg gd;
	reg_make(&gd, &d, "dan", tok_d);
	CHECK_INT(by_passkey(ws, &d, UPUV, 0, op_add, &gd.r, &err), PB_EPERM);
	CHECK(strstr(err.message, "revoked or replaced") != NULL);
	invite(ws, "dan", 1, tok_d);
	sleep(2);
	CHECK_INT(by_passkey(ws, &d, UPUV, 0, op_add, &gd.r, &err), PB_EPERM);
	CHECK(strstr(err.message, "expired") != NULL);
	/* a counter that does not grow; then carol revokes her passkey with it */
	struct revoke v = { "carol", "carol", cfp };
	uint32_t now = c.counter;
	CHECK_INT(by_passkey(ws, &c, UPUV, now, op_revoke, &v, &err), PB_EVERIFY);
	CHECK_STR(err.field, "webauthn");
	CHECK_OK(by_passkey(ws, &c, UPUV, now + 5, op_origin, "carol", &err), &err);
	CHECK_INT(by_passkey(ws, &c2, UPUV, 0, op_origin, "carol", &err), PB_EPERM); /* not hers */
	CHECK_OK(by_passkey(ws, &c, UPUV, 0, op_revoke, &v, &err), &err);
	/* revoked: it signs nothing after */
	CHECK_INT(by_passkey(ws, &c, UPUV, 0, op_origin, "carol", &err), PB_EPERM);
	CHECK(strstr(err.message, "was revoked by log entry") != NULL);
	reg_release(&g);
	reg_release(&g2);
	reg_release(&gd);
	sa_cred_release(&c);
	sa_cred_release(&c2);
	sa_cred_release(&d);
	pb_ws_close(ws);
}

/* ---- sign-in ------------------------------------------------------------------ */

static enum pb_status signin(struct pb_ws *ws, struct sa_cred *c, const uint8_t ch[32],
                             const uint8_t answer[32], uint32_t counter, struct pb_session *s,
                             unsigned *fails, struct pb_error *err)
{
	struct pb_buf ad;
	pb_buf_init(&ad, SA_BUF_MAX);
	char *cdj = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	CHECK(sa_assert(c, RP, ORIGIN, "webauthn.get", answer, 32, UPUV, counter, false, &ad, &cdj,
	                &sig, &sig_len));
	struct pb_passkey_assertion a = { b64(c->id, c->id_len), b64(ad.data, ad.len),
		                          b64(cdj, strlen(cdj)), b64(sig, sig_len) };
	enum pb_status rc = pb_session_signin_passkey(ws, &a, ch, 32, "127.0.0.1", s, fails, err);
	free((char *)a.credential_id);
	free((char *)a.authenticator_data);
	free((char *)a.client_data_json);
	free((char *)a.signature);
	free(cdj);
	free(sig);
	pb_buf_release(&ad);
	return rc;
}

static void t_signin(void)
{
	struct pb_ws *ws = new_ws("signin", true);
	struct pb_error err = { 0 };
	CHECK_OK(pb_user_add(ws, NULL, "root", "admin", NULL, &err), &err);
	CHECK_OK(pb_user_add(ws, "root", "ann", "analyst", NULL, &err), &err);
	CHECK_OK(pb_passkey_origin_set(ws, "root", ORIGIN, NULL, NULL, &err), &err);
	struct sa_cred c, other;
	CHECK(sa_cred_new(&c, PB_COSE_ES256));
	CHECK(sa_cred_new(&other, PB_COSE_ES256));
	struct reg g;
	reg_make(&g, &c, "ann", NULL);
	char fp[PB_PASSKEY_FP_MAX];
	CHECK_OK(pb_passkey_add(ws, "ann", &g.r, fp, NULL, &err), &err);
	uint8_t ch[32], ch2[32];
	randombytes_buf(ch, sizeof(ch));
	randombytes_buf(ch2, sizeof(ch2));
	struct pb_session s;
	unsigned fails = 0;
	uint64_t idx = 0;
	CHECK_OK(signin(ws, &c, ch, ch, 7, &s, &fails, &err), &err);
	CHECK_STR(s.user, "ann");
	CHECK_STR(s.role, "analyst");
	CHECK(s.id[0] != '\0');
	CHECK_OK(pb__audit_size(ws, &idx, &err), &err);
	json_t *e = entry(ws, idx - 1);
	json_t *d = json_object_get(e, "details");
	CHECK_STR(json_string_value(json_object_get(e, "action")), "web.signin");
	CHECK_STR(json_string_value(json_object_get(d, "method")), "passkey");
	CHECK_STR(json_string_value(json_object_get(d, "key_fp")), fp);
	CHECK_INT(json_integer_value(json_object_get(d, "sign_count")), 7);
	json_decref(e);
	/* the same counter again (a replay or a clone), another challenge, an
	 * unknown credential: each refused, counted and logged */
	CHECK_INT(signin(ws, &c, ch, ch, 7, &s, &fails, &err), PB_EPERM);
	CHECK_INT(fails, 1);
	CHECK_INT(signin(ws, &c, ch, ch2, 8, &s, &fails, &err), PB_EPERM);
	CHECK_INT(fails, 2);
	CHECK_INT(signin(ws, &other, ch, ch, 9, &s, &fails, &err), PB_EPERM);
	CHECK_OK(pb__audit_size(ws, &idx, &err), &err);
	e = entry(ws, idx - 1);
	CHECK_STR(json_string_value(json_object_get(e, "action")), "web.signin-fail");
	CHECK_STR(json_string_value(json_object_get(json_object_get(e, "details"), "method")),
	          "passkey");
	json_decref(e);
	CHECK_OK(signin(ws, &c, ch, ch, 9, &s, &fails, &err), &err);
	/* revoked: no more sign-ins */
	CHECK_OK(pb_passkey_revoke(ws, "root", "ann", fp, "lost", NULL, &err), &err);
	CHECK_INT(signin(ws, &c, ch, ch, 10, &s, &fails, &err), PB_EPERM);
	reg_release(&g);
	sa_cred_release(&c);
	sa_cred_release(&other);
	pb_ws_close(ws);
}

int main(void)
{
	dir = unit_tmpdir();
	snprintf(key_root, sizeof(key_root), "%s/alice", dir);
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "cp tests/data/ident/alice '%s' && chmod 600 '%s'", key_root,
	         key_root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot copy the test key\n");
	RUN(t_origin);
	RUN(t_unsigned);
	RUN(t_signed);
	RUN(t_signin);
	unit_rm_rf(dir);
	free(dir);
	return UNIT_END("passkey");
}
