/* test_passkey_verify.c - passkey-signed entries of a signed log, replayed
 * (lib/replay/sig.c with lib/log/sigverify.c). Logs are made by hand: root
 * signs with an OpenSSH key (tests/data/sig), bob and carol register
 * passkeys (tests/tools/passkey.h) under root's invitations and approve
 * with them. A clean log checks; each forgery of issue 14 is a problem at
 * the entry it touches, with the reason: an assertion for another
 * statement, another origin, another RP ID, a replayed counter, UV cleared,
 * an approval by the plan's author, a credential of another user, a
 * bit-flipped signature, a revoked credential, a passkey-add without a
 * valid invitation (and one registered twice, one not signed by itself).
 */
#include "unit.h"
#include "../tools/passkey.h"
#include "../tools/signed.h"
#include "siglog.h"

#define D "tests/data/sig/"
#define SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN "0123456789abcdef0123456789abcdef"

static struct pb_test_key K[2]; /* root, alice: OpenSSH keys */
enum { ROOT, ALICE };
static struct pb_test_passkey P[3]; /* bob, carol, alice's passkeys */
enum { PBOB, PCAROL, PALICE };
static const char *const PNAMES[] = { "bob", "carol", "alice" };
static uint64_t approved[3]; /* the index of each passkey's last plan.approve */

static void put(struct log *l, int k, const char *actor, const char *action, const char *details)
{
	uint8_t root[32];
	pb_tlog_range_root(&l->r, root);
	add(l, pb_test_signed_entry(&K[k], l->n, actor, action, 0, NULL, details, l->n, root,
	                            l->n == 0 ? "signed" : NULL, NULL, NULL));
}

/* an entry signed with passkey p by actor, as o says (NULL: a good one) */
static void wput(struct log *l, int p, const char *actor, const char *action,
                 const char *details, const struct pb_test_wa *o)
{
	uint8_t root[32];
	pb_tlog_range_root(&l->r, root);
	add(l, pb_test_passkey_entry(&P[p], l->n, actor, action, NULL, details, l->n, root, o));
}

static void user_add(struct log *l, int who, const char *name, const char *role)
{
	char d[512];
	if (who >= 0)
		snprintf(d, sizeof(d), "{\"key\":\"%s\",\"key_fp\":\"%s\",\"name\":\"%s\",\"role\":\"%s\"}",
		         K[who].line, K[who].fp, name, role);
	else
		snprintf(d, sizeof(d), "{\"name\":\"%s\",\"role\":\"%s\"}", name, role);
	put(l, ROOT, "root", "user.add", d);
}

/* root invites user (token TOKEN); returns the invite's index */
static uint64_t invite(struct log *l, const char *user)
{
	uint8_t h[32];
	char hex[65], d[256];
	pb__sha256(TOKEN, strlen(TOKEN), h);
	pb_hex(h, 32, hex);
	snprintf(d, sizeof(d), "{\"name\":\"%s\",\"token_sha256\":\"%s\",\"ttl_s\":3600}", user, hex);
	put(l, ROOT, "root", "user.invite", d);
	return l->n - 1;
}

/* user registers passkey p under invitation inv, signed by p itself */
static void passkey_add(struct log *l, int p, const char *user, long long inv, const char *token)
{
	char *d = pb_test_passkey_add_details(&P[p], user, PB_TEST_RP, PB_TEST_ORIGIN, inv, token);
	wput(l, p, user, "user.passkey-add", d, NULL);
	free(d);
}

/* root, alice (analyst, an OpenSSH key), bob and carol (approvers with
 * passkeys), the origin, plan 1 by alice */
static void base(struct log *l)
{
	memset(l, 0, sizeof(*l));
	pb_tlog_range_init(&l->r);
	for (int i = 0; i < 3; i++)
		pb_test_passkey_new(&P[i]);
	user_add(l, ROOT, "root", "admin");
	user_add(l, ALICE, "alice", "analyst");
	user_add(l, -1, "bob", "approver");
	user_add(l, -1, "carol", "approver");
	put(l, ROOT, "root", "web.origin",
	    "{\"origin\":\"" PB_TEST_ORIGIN "\",\"rp_id\":\"" PB_TEST_RP "\"}");
	passkey_add(l, PBOB, "bob", (long long)invite(l, "bob"), TOKEN);
	passkey_add(l, PCAROL, "carol", (long long)invite(l, "carol"), TOKEN);
	put(l, ALICE, "alice", "plan.new", "{\"plan\":1,\"sha256\":\"" SHA "\"}");
}

static void approve(struct log *l, int p, const struct pb_test_wa *o)
{
	approved[p] = l->n;
	wput(l, p, PNAMES[p], "plan.approve", "{\"plan\":1,\"sha256\":\"" SHA "\"}", o);
}

/* plan.apply by alice naming the approvals of passkeys a and b */
static void apply(struct log *l, int a, int b)
{
	char d[1024];
	snprintf(d, sizeof(d),
	         "{\"approvals\":[{\"actor\":\"%s\",\"index\":%llu,\"key_fp\":\"%s\"},"
	         "{\"actor\":\"%s\",\"index\":%llu,\"key_fp\":\"%s\"}],\"plan\":1,"
	         "\"sha256\":\"" SHA "\",\"version\":1}",
	         PNAMES[a], (unsigned long long)approved[a], P[a].fp, PNAMES[b],
	         (unsigned long long)approved[b], P[b].fp);
	put(l, ALICE, "alice", "plan.apply", d);
}


static void t_clean(void)
{
	struct log l;
	struct found f;
	base(&l);
	approve(&l, PBOB, NULL);
	approve(&l, PCAROL, NULL);
	apply(&l, PBOB, PCAROL);
	/* a revocation by the user themself, and entries before it still count */
	char d[256];
	snprintf(d, sizeof(d), "{\"key_fp\":\"%s\",\"reason\":\"lost\",\"user\":\"bob\"}", P[PBOB].fp);
	wput(&l, PBOB, "bob", "user.passkey-revoke", d, NULL);
	/* a sign-in with a growing counter */
	snprintf(d, sizeof(d), "{\"key_fp\":\"%s\",\"method\":\"passkey\",\"sign_count\":%u}",
	         P[PCAROL].fp, ++P[PCAROL].counter);
	add(&l, pb_test_signed_entry(NULL, l.n, "carol", "web.signin", 0, NULL, d, 0, NULL, NULL,
	                             NULL, NULL));
	CHECK_INT(replay(&l, &f), 0);
	release(&l);
}

/* one forgery at the last entry: the replay says why */
static void one(struct log *l, const char *why)
{
	struct found f;
	uint64_t last = l->n - 1;
	CHECK_INT(replay(l, &f), 1);
	CHECK_INT(f.index, last);
	CHECK(has(&f, why));
	release(l);
}

static void t_forged_assertions(void)
{
	struct log l;
	/* an assertion made for another statement (another plan's challenge) */
	base(&l);
	wput(&l, PBOB, "bob", "plan.approve", "{\"plan\":1,\"sha256\":\"" SHA "\"}",
	     &(struct pb_test_wa){ .statement = "{\"action\":\"plan.approve\",\"plan\":2}" });
	one(&l, "does not verify");

	base(&l);
	approve(&l, PBOB, &(struct pb_test_wa){ .origin = "https://evil.example" });
	one(&l, "does not verify");

	base(&l);
	approve(&l, PBOB, &(struct pb_test_wa){ .rp_id = "evil.example" });
	one(&l, "does not verify");

	/* a replayed assertion: the counter does not grow */
	base(&l);
	approve(&l, PBOB, NULL);
	approve(&l, PBOB, &(struct pb_test_wa){ .set_counter = true, .counter = P[PBOB].counter });
	one(&l, "not above");

	/* user verification cleared */
	base(&l);
	approve(&l, PBOB, &(struct pb_test_wa){ .flags = PB_WEBAUTHN_UP });
	one(&l, "does not verify");

	/* a bit-flipped signature */
	base(&l);
	approve(&l, PBOB, &(struct pb_test_wa){ .flip = true });
	one(&l, "does not verify");

	/* a credential of another user: bob signs with carol's passkey */
	base(&l);
	wput(&l, PCAROL, "bob", "plan.approve", "{\"plan\":1,\"sha256\":\"" SHA "\"}", NULL);
	one(&l, "registered to 'carol'");

	/* a credential no entry registered */
	base(&l);
	wput(&l, PALICE, "bob", "plan.approve", "{\"plan\":1,\"sha256\":\"" SHA "\"}", NULL);
	one(&l, "which no entry before it registered");

	/* an assertion from a revoked credential: revoked by root (an admin) */
	base(&l);
	char d[256];
	snprintf(d, sizeof(d), "{\"key_fp\":\"%s\",\"reason\":\"lost\",\"user\":\"bob\"}", P[PBOB].fp);
	put(&l, ROOT, "root", "user.passkey-revoke", d);
	approve(&l, PBOB, NULL);
	one(&l, "revoked at entry");

	/* the wrong type of ceremony */
	base(&l);
	approve(&l, PBOB, &(struct pb_test_wa){ .type = "webauthn.create" });
	one(&l, "does not verify");

	/* the origin moved after the registration: an assertion for the origin
	 * the passkey was registered under (which a worker verifies with that
	 * registration) no longer holds, one for the origin in force does */
	base(&l);
	put(&l, ROOT, "root", "web.origin",
	    "{\"origin\":\"https://new.localhost\",\"rp_id\":\"" PB_TEST_RP "\"}");
	approve(&l, PBOB, &(struct pb_test_wa){ .origin = "https://new.localhost" });
	{
		struct found f;
		CHECK_INT(replay(&l, &f), 0);
	}
	approve(&l, PCAROL, NULL);
	one(&l, "does not verify");
}

static void t_two_person(void)
{
	struct log l;
	struct found f;
	/* an approval by the plan's author (alice, with a passkey of her own) */
	base(&l);
	passkey_add(&l, PALICE, "alice", (long long)invite(&l, "alice"), TOKEN);
	approve(&l, PALICE, NULL);
	approve(&l, PBOB, NULL);
	apply(&l, PALICE, PBOB);
	CHECK_INT(replay(&l, &f), 3);
	CHECK_INT(f.index, approved[PALICE]);
	CHECK(has(&f, "an author of the plan"));
	release(&l);

	/* one approver counted twice */
	base(&l);
	approve(&l, PBOB, NULL);
	uint64_t first = approved[PBOB];
	approve(&l, PBOB, NULL);
	approved[PCAROL] = first;
	char d[1024];
	snprintf(d, sizeof(d),
	         "{\"approvals\":[{\"actor\":\"bob\",\"index\":%llu,\"key_fp\":\"%s\"},"
	         "{\"actor\":\"bob\",\"index\":%llu,\"key_fp\":\"%s\"}],\"plan\":1,"
	         "\"sha256\":\"" SHA "\",\"version\":1}",
	         (unsigned long long)first, P[PBOB].fp, (unsigned long long)approved[PBOB],
	         P[PBOB].fp);
	put(&l, ALICE, "alice", "plan.apply", d);
	CHECK(replay(&l, &f) >= 1);
	CHECK(has(&f, "twice"));
	release(&l);
}

static void t_registration(void)
{
	struct log l;
	/* no invitation in a signed log */
	base(&l);
	passkey_add(&l, PALICE, "alice", -1, NULL);
	one(&l, "names no invitation");

	/* a token that is not the invitation's */
	base(&l);
	passkey_add(&l, PALICE, "alice", (long long)invite(&l, "alice"), "not-the-token");
	one(&l, "not the invitation's");

	/* another user's invitation */
	base(&l);
	uint64_t inv = invite(&l, "dana");
	passkey_add(&l, PALICE, "alice", (long long)inv, TOKEN);
	one(&l, "invites another user");

	/* an invitation revoked before use */
	base(&l);
	inv = invite(&l, "alice");
	put(&l, ROOT, "root", "user.invite-revoke", "{\"name\":\"alice\"}");
	passkey_add(&l, PALICE, "alice", (long long)inv, TOKEN);
	one(&l, "revoked or replaced");

	/* an invitation used twice */
	base(&l);
	inv = invite(&l, "alice");
	passkey_add(&l, PALICE, "alice", (long long)inv, TOKEN);
	struct pb_test_passkey saved = P[PBOB];
	pb_test_passkey_new(&P[PBOB]);
	passkey_add(&l, PBOB, "alice", (long long)inv, TOKEN);
	P[PBOB] = saved;
	one(&l, "used it already");

	/* one credential registered twice */
	base(&l);
	passkey_add(&l, PBOB, "bob", (long long)invite(&l, "bob"), TOKEN);
	{
		struct found f;
		CHECK(replay(&l, &f) >= 1);
		CHECK(has(&f, "is one user's, ever") || has(&f, "registered"));
		release(&l);
	}

	/* a passkey-add signed by another passkey than the one it registers */
	base(&l);
	inv = invite(&l, "bob");
	char *d = pb_test_passkey_add_details(&P[PALICE], "bob", PB_TEST_RP, PB_TEST_ORIGIN,
	                                      (long long)inv, TOKEN);
	wput(&l, PBOB, "bob", "user.passkey-add", d, NULL);
	free(d);
	one(&l, "not by the passkey it registers");

	/* a registration for another origin than the one in force */
	base(&l);
	inv = invite(&l, "alice");
	d = pb_test_passkey_add_details(&P[PALICE], "alice", PB_TEST_RP, "http://localhost:9999",
	                                (long long)inv, TOKEN);
	wput(&l, PALICE, "alice", "user.passkey-add", d, NULL);
	free(d);
	one(&l, "origin in force");
}

/* the export's checkpoint attested by bob's passkey (checkpoint.actor) */
static enum pb_status checkpoint_by(struct log *l, int p, const struct pb_test_wa *o,
                                    struct pb_error *err)
{
	uint8_t root[32];
	pb_tlog_range_root(&l->r, root);
	json_t *cd = pb__checkpoint_details("probity.example/t", l->n, root);
	char *cds = json_dumps(cd, JSON_COMPACT | JSON_SORT_KEYS);
	char *ce = pb_test_passkey_entry(&P[p], l->n, PNAMES[p], "log.checkpoint", NULL, cds, l->n,
	                                 root, o);
	json_error_t je;
	json_t *cj = json_loads(ce, 0, &je);
	json_t *ca = json_pack("{s:s,s:O}", "actor", PNAMES[p], "sig", json_object_get(cj, "sig"));
	char *cas = json_dumps(ca, JSON_COMPACT | JSON_SORT_KEYS);
	struct pb__rsig *s = NULL;
	struct found f = { 0 };
	CHECK_OK(pb__rsig_new(keep, &f, &s, err), err);
	for (size_t i = 0; i < l->n; i++)
		CHECK_OK(pb__rsig_feed(s, i, l->e[i], strlen(l->e[i]), err), err);
	CHECK_OK(pb__rsig_finish(s, NULL, err), err);
	CHECK_INT(f.n, 0);
	enum pb_status rc = pb__rsig_checkpoint(s, "probity.example/t", l->n, root, cas, strlen(cas),
	                                        err);
	pb__rsig_free(s);
	free(cas);
	json_decref(ca);
	json_decref(cj);
	free(ce);
	free(cds);
	json_decref(cd);
	return rc;
}

static void t_checkpoint(void)
{
	struct log l;
	struct pb_error err = { 0 };
	base(&l);
	approve(&l, PBOB, NULL);
	CHECK_OK(checkpoint_by(&l, PBOB, NULL, &err), &err);
	CHECK(checkpoint_by(&l, PBOB, &(struct pb_test_wa){ .flip = true }, &err) == PB_EVERIFY);
	CHECK(strstr(err.message, "does not verify") != NULL);
	CHECK(checkpoint_by(&l, PBOB, &(struct pb_test_wa){ .set_counter = true, .counter = 1 },
	                    &err) == PB_EVERIFY);
	CHECK(strstr(err.message, "not above") != NULL);
	release(&l);
}

int main(void)
{
	char *tmp = unit_tmpdir();
	static const char *const keys[] = { "root", "alice" };
	for (int i = 0; i < 2; i++) {
		char path[256];
		snprintf(path, sizeof(path), D "%s", keys[i]);
		if (pb_test_key_open(&K[i], path, tmp)) {
			fprintf(stderr, "cannot open %s\n", path);
			return 2;
		}
	}
	RUN(t_clean);
	RUN(t_forged_assertions);
	RUN(t_two_person);
	RUN(t_registration);
	RUN(t_checkpoint);
	for (int i = 0; i < 2; i++)
		pb_test_key_close(&K[i]);
	unit_rm_rf(tmp);
	free(tmp);
	return UNIT_END("passkey_verify");
}
