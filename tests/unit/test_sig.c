/* test_sig.c - the signatures of a signed log, replayed (lib/replay/sig.c).
 * Logs are made by hand (tests/tools/signed.h) with the keys of
 * tests/data/sig: a clean one checks; each forgery of issue 12 is one
 * problem at the entry it touches, with the reason: a bit flipped in a
 * signature, a key used before it was registered, after it was revoked, or
 * by another user, one key registered twice, the wrong namespace, a nonce
 * replayed, a statement made against another log, an unsigned entry, an
 * approval by an author, one approver counted twice, an approval of another
 * hash. An unsigned log is not checked at all.
 */
#include "unit.h"
#include "../tools/signed.h"
#include "siglog.h"

#define D "tests/data/sig/"

static struct pb_test_key K[4]; /* root, alice, bob, carol */
enum { ROOT, ALICE, BOB, CAROL };
static const char *const NAMES[] = { "root", "alice", "bob", "carol" };
#define SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* appends an entry by actor signed with key k (-1: unsigned) against the log as it is */
static void put(struct log *l, int k, const char *actor, const char *action, const char *details)
{
	uint8_t root[32];
	pb_tlog_range_root(&l->r, root);
	add(l, pb_test_signed_entry(k >= 0 ? &K[k] : NULL, l->n, actor, action, 0, NULL, details,
	                            l->n, root, l->n == 0 ? "signed" : NULL, NULL, NULL));
}

static void user_add(struct log *l, int by, int who, const char *role)
{
	char d[512];
	snprintf(d, sizeof(d), "{\"name\":\"%s\",\"role\":\"%s\",\"key\":\"%s\",\"key_fp\":\"%s\"}",
	         NAMES[who], role, K[who].line, K[who].fp);
	put(l, by, NAMES[by], "user.add", d);
}

/* users root (admin), alice (analyst), bob and carol (approvers); plan 1 by alice */
static void base(struct log *l)
{
	memset(l, 0, sizeof(*l));
	pb_tlog_range_init(&l->r);
	user_add(l, ROOT, ROOT, "admin");
	user_add(l, ROOT, ALICE, "analyst");
	user_add(l, ROOT, BOB, "approver");
	user_add(l, ROOT, CAROL, "approver");
	put(l, ALICE, "alice", "plan.new", "{\"plan\":1,\"sha256\":\"" SHA "\"}");
}

static void approve(struct log *l, int who, const char *sha)
{
	char d[160];
	snprintf(d, sizeof(d), "{\"plan\":1,\"sha256\":\"%s\"}", sha);
	put(l, who, NAMES[who], "plan.approve", d);
}

/* plan.apply by alice naming approvals (entry index, who) */
static void apply(struct log *l, size_t n, const uint64_t *idx, const int *who)
{
	char d[2048];
	size_t o = (size_t)snprintf(d, sizeof(d), "{\"approvals\":[");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(d + o, sizeof(d) - o, "%s{\"actor\":\"%s\",\"index\":%llu,"
		                                           "\"key_fp\":\"%s\"}",
		                      i ? "," : "", NAMES[who[i]], (unsigned long long)idx[i],
		                      K[who[i]].fp);
	snprintf(d + o, sizeof(d) - o, "],\"plan\":1,\"sha256\":\"" SHA "\",\"version\":1}");
	put(l, ALICE, "alice", "plan.apply", d);
}

/* plan.apply by alice of hash SHA2, naming bob's and carol's approvals */
static void apply_sha2(struct log *l, uint64_t bob, uint64_t carol)
{
	char d[1024];
	snprintf(d, sizeof(d),
	         "{\"approvals\":[{\"actor\":\"bob\",\"index\":%llu,\"key_fp\":\"%s\"},"
	         "{\"actor\":\"carol\",\"index\":%llu,\"key_fp\":\"%s\"}],\"plan\":1,"
	         "\"sha256\":\"" SHA2 "\",\"version\":1}",
	         (unsigned long long)bob, K[BOB].fp, (unsigned long long)carol, K[CAROL].fp);
	put(l, ALICE, "alice", "plan.apply", d);
}


static void t_clean(void)
{
	struct log l;
	struct found f;
	base(&l);
	approve(&l, BOB, SHA);   /* 5 */
	approve(&l, CAROL, SHA); /* 6 */
	apply(&l, 2, (uint64_t[]){ 5, 6 }, (int[]){ BOB, CAROL });
	/* escapes and non-ASCII in details and subject: the statement spliced
	 * from the entry's bytes is the one jansson built for the signer */
	{
		uint8_t root[32];
		pb_tlog_range_root(&l.r, root);
		add(&l, pb_test_signed_entry(&K[BOB], l.n, "bob", "case.note", 12, "case/12 \"x\"",
		                             "{\"text\":\"line\\nwith \\\"quotes\\\" \u00e9 / \\u0001 \\\\\","
		                             "\"z\":[1,{\"b\":null,\"a\":-2.5}]}",
		                             l.n, root, NULL, NULL, NULL));
	}
	CHECK_INT(replay(&l, &f), 0);
	release(&l);
}

static void t_forged_signatures(void)
{
	struct log l;
	struct found f;

	/* a bit flipped in a signature */
	base(&l);
	char *e = l.e[4], *p = strstr(e, "\"sshsig\":\"");
	p = strchr(p + 10, '"') - 8; /* inside the Ed25519 signature, at the blob's end */
	*p = *p == 'A' ? 'B' : 'A';
	CHECK_INT(replay(&l, &f), 1);
	CHECK_INT(f.index, 4);
	CHECK(has(&f, "does not verify") || has(&f, "does not decode"));
	release(&l);

	/* the same signature spelled with bytes whose high bit is set (valid
	 * UTF-8 such as "\xc3\xb0", which libsodium alone reads as "C0"): one
	 * signature has one spelling */
	base(&l);
	e = l.e[4];
	p = strstr(e, "\"sshsig\":\"") + 10;
	char *q = NULL;
	for (char *c = p; *c && *c != '"' && c[1] != '"'; c++)
		if (c[0] >= 'B' && c[0] <= 'Z' && ((c[1] >= '0' && c[1] <= '9') || c[1] == '+' ||
		                                   c[1] == '/')) {
			q = c;
			break;
		}
	CHECK(q != NULL);
	if (q) {
		q[0] = (char)(q[0] | 0x80);
		q[1] = (char)(q[1] | 0x80);
		CHECK_INT(replay(&l, &f), 1);
		CHECK_INT(f.index, 4);
		CHECK(has(&f, "not base64"));
	}
	release(&l);

	/* the same signature spelled with the bits its padding leaves over set,
	 * or without its padding: neither is what a writer makes (an approval:
	 * the longer namespace makes a blob of 188 bytes, padded) */
	for (int spell = 0; spell < 2; spell++) {
		static const char B64[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		base(&l);
		approve(&l, BOB, SHA); /* 5 */
		e = l.e[5];
		p = strstr(e, "\"sshsig\":\"") + 10;
		char *end = strchr(p, '"'), *last = end;
		while (last[-1] == '=')
			last--;
		CHECK(last < end);
		if (last < end && spell == 0) {
			char *c = last - 1, *at = strchr(B64, *c);
			CHECK(at && (at - B64) % 4 == 0);
			if (at)
				*c = B64[(at - B64) + 1];
		} else if (last < end) {
			memmove(last, end, strlen(end) + 1);
		}
		CHECK_INT(replay(&l, &f), 1);
		CHECK_INT(f.index, 5);
		CHECK(has(&f, "not base64"));
		release(&l);
	}

	/* an unsigned entry in a signed log */
	base(&l);
	put(&l, -1, "bob", "case.note", "{\"text\":\"x\"}");
	CHECK_INT(replay(&l, &f), 1);
	CHECK_INT(f.index, 5);
	CHECK(has(&f, "case.note by 'bob' is not signed"));
	release(&l);

	/* signed by a key of another user (bob signs as carol) */
	base(&l);
	put(&l, BOB, "carol", "case.note", "{\"text\":\"x\"}");
	CHECK_INT(replay(&l, &f), 1);
	CHECK(has(&f, "registered to 'bob'"));
	release(&l);

	/* one person, two names: bob's key registered again for carol */
	memset(&l, 0, sizeof(l));
	pb_tlog_range_init(&l.r);
	user_add(&l, ROOT, ROOT, "admin");
	user_add(&l, ROOT, BOB, "approver");
	{
		char d[512];
		snprintf(d, sizeof(d), "{\"name\":\"carol\",\"role\":\"approver\",\"key\":\"%s\","
		                       "\"key_fp\":\"%s\"}",
		         K[BOB].line, K[BOB].fp);
		put(&l, ROOT, "root", "user.add", d);
	}
	CHECK(replay(&l, &f) >= 1);
	CHECK_INT(f.index, 2);
	CHECK(has(&f, "is already registered to 'bob'"));
	release(&l);

	/* a key used before it was registered: carol signs before her user.add */
	memset(&l, 0, sizeof(l));
	pb_tlog_range_init(&l.r);
	user_add(&l, ROOT, ROOT, "admin");
	put(&l, CAROL, "carol", "case.note", "{\"text\":\"early\"}");
	user_add(&l, ROOT, CAROL, "approver");
	CHECK_INT(replay(&l, &f), 1);
	CHECK_INT(f.index, 1);
	CHECK(has(&f, "which no entry before it registered"));
	release(&l);

	/* a revoked key: usable by the revoking entry, not after */
	base(&l);
	{
		char d[256];
		snprintf(d, sizeof(d), "{\"key_fp\":\"%s\",\"reason\":\"lost\",\"user\":\"bob\"}",
		         K[BOB].fp);
		put(&l, ROOT, "root", "user.key-revoke", d);
	}
	approve(&l, BOB, SHA);
	CHECK_INT(replay(&l, &f), 1);
	CHECK_INT(f.index, 6);
	CHECK(has(&f, "revoked at entry 5"));
	release(&l);

	/* the wrong namespace: a note's signature namespace on an approval */
	base(&l);
	{
		uint8_t root[32];
		pb_tlog_range_root(&l.r, root);
		add(&l, pb_test_signed_entry(&K[BOB], l.n, "bob", "plan.approve", 0, NULL,
		                             "{\"plan\":1,\"sha256\":\"" SHA "\"}", l.n, root, NULL, NULL,
		                             PB_STATEMENT_NS));
	}
	CHECK_INT(replay(&l, &f), 1);
	CHECK(has(&f, "must be signed in namespace probity-approve@v1"));
	release(&l);

	/* a replayed nonce */
	base(&l);
	{
		static const uint8_t nonce[16] = { 7 };
		uint8_t root[32];
		for (int i = 0; i < 2; i++) {
			pb_tlog_range_root(&l.r, root);
			add(&l, pb_test_signed_entry(&K[BOB], l.n, "bob", "case.note", 0, NULL,
			                             "{\"text\":\"x\"}", l.n, root, NULL, nonce, NULL));
		}
	}
	CHECK_INT(replay(&l, &f), 1);
	CHECK_INT(f.index, 6);
	CHECK(has(&f, "was used already by entry 5"));
	release(&l);

	/* a statement made against another log (a root this log never had) */
	base(&l);
	{
		uint8_t root[32] = { 1 };
		add(&l, pb_test_signed_entry(&K[BOB], l.n, "bob", "case.note", 0, NULL,
		                             "{\"text\":\"x\"}", 3, root, NULL, NULL, NULL));
	}
	CHECK_INT(replay(&l, &f), 1);
	CHECK(has(&f, "whose root is not this log's"));
	release(&l);

	/* an unsigned log is not checked */
	memset(&l, 0, sizeof(l));
	pb_tlog_range_init(&l.r);
	add(&l, pb_test_signed_entry(NULL, 0, "root", "user.add", 0, NULL,
	                             "{\"name\":\"root\",\"role\":\"admin\"}", 0, NULL, "unsigned",
	                             NULL, NULL));
	put(&l, -1, "root", "case.note", NULL);
	CHECK_INT(replay(&l, &f), 0);
	release(&l);
}

static void t_two_person(void)
{
	struct log l;
	struct found f;

	/* one approval only */
	base(&l);
	approve(&l, BOB, SHA);
	apply(&l, 1, (uint64_t[]){ 5 }, (int[]){ BOB });
	CHECK_INT(replay(&l, &f), 1);
	CHECK_INT(f.index, 6);
	CHECK(has(&f, "has 1 distinct signed approval; it needs 2"));
	release(&l);

	/* one approver counted twice */
	base(&l);
	approve(&l, BOB, SHA);
	apply(&l, 2, (uint64_t[]){ 5, 5 }, (int[]){ BOB, BOB });
	CHECK_INT(replay(&l, &f), 2);
	CHECK(has(&f, "counts 'bob'"));
	release(&l);

	/* the author's approval */
	base(&l);
	approve(&l, BOB, SHA);
	approve(&l, ALICE, SHA);
	apply(&l, 2, (uint64_t[]){ 5, 6 }, (int[]){ BOB, ALICE });
	CHECK_INT(replay(&l, &f), 3); /* at the approval, and twice at the apply */
	CHECK_INT(f.index, 6);
	CHECK(has(&f, "an author of the plan"));
	release(&l);

	/* an approval of an earlier hash */
	base(&l);
	approve(&l, BOB, SHA);
	approve(&l, CAROL, SHA2);
	apply(&l, 2, (uint64_t[]){ 5, 6 }, (int[]){ BOB, CAROL });
	CHECK_INT(replay(&l, &f), 2);
	CHECK(has(&f, "not of this plan and hash"));
	release(&l);

	/* an entry that is no approval named as one */
	base(&l);
	approve(&l, BOB, SHA);
	apply(&l, 2, (uint64_t[]){ 5, 3 }, (int[]){ BOB, CAROL });
	CHECK_INT(replay(&l, &f), 2);
	CHECK(has(&f, "names entry 3 as an approval"));
	release(&l);

	/* the plan body asks for three (its plan.edit says so); two counted */
	base(&l);
	put(&l, ALICE, "alice", "plan.edit",
	    "{\"approvals_needed\":3,\"plan\":1,\"sha256\":\"" SHA2 "\"}"); /* 5 */
	approve(&l, BOB, SHA2);   /* 6 */
	approve(&l, CAROL, SHA2); /* 7 */
	apply_sha2(&l, 6, 7);
	CHECK_INT(replay(&l, &f), 1);
	CHECK(has(&f, "has 2 distinct signed approvals; it needs 3"));
	release(&l);

	/* an apply of a hash no plan.new or plan.edit made */
	base(&l);
	approve(&l, BOB, SHA2);
	approve(&l, CAROL, SHA2);
	apply_sha2(&l, 5, 6);
	CHECK_INT(replay(&l, &f), 1);
	CHECK(has(&f, "which no plan.new or plan.edit before it made"));
	release(&l);

	/* an apply that names none */
	base(&l);
	put(&l, ALICE, "alice", "plan.apply", "{\"plan\":1,\"sha256\":\"" SHA "\"}");
	CHECK_INT(replay(&l, &f), 1);
	CHECK(has(&f, "names no signed approvals"));
	release(&l);
}

int main(void)
{
	char *tmp = unit_tmpdir();
	for (int i = 0; i < 4; i++) {
		char path[256];
		snprintf(path, sizeof(path), D "%s", NAMES[i]);
		if (pb_test_key_open(&K[i], path, tmp)) {
			fprintf(stderr, "cannot open %s\n", path);
			return 2;
		}
	}
	RUN(t_clean);
	RUN(t_forged_signatures);
	RUN(t_two_person);
	for (int i = 0; i < 4; i++)
		pb_test_key_close(&K[i]);
	unit_rm_rf(tmp);
	free(tmp);
	return UNIT_END("sig");
}
