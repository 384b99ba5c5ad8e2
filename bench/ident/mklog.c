/* mklog.c - benchmark only: an exported signed log of N entries, made fast.
 *
 *   mklog DIR N KEYDIR [passkeys|passkeys-all]
 *                         tiles, bundles, signed checkpoint and vkey in DIR;
 *                         with passkeys, bob's and carol's approvals are
 *                         signed by passkeys (EdDSA) they registered
 *                         under root's invitations (tests/tools/passkey.h),
 *                         with passkeys-all every entry of theirs; the
 *                         log has the same size and shape either way
 *   mklog floor SECONDS   libsodium's crypto_sign_verify_detached per second
 *                         on one core, per second of wall time and per
 *                         second of CPU time (the floor `log verify` is
 *                         held to)
 *
 * The entries are what a signed workspace writes (tests/tools/signed.h:
 * the entry with its "sig", an SSHSIG by the actor's key over the
 * statement, made against the log as it was): four users registered with
 * the keys in KEYDIR (tests/data/sig), then notes by alice, bob and carol,
 * and every 50 entries a plan made by alice, approved by bob and carol and
 * applied naming both approvals, so the registry, nonces, roots and the
 * two-person rule are all exercised (entries 4 to 8: notes, or the origin
 * and the two passkey registrations). Made straight into the export's tiles
 * (pb_tlog_write_tiles), without a workspace: a million entries take a
 * minute of signing, not an hour of transactions.
 */
#include "../../tests/tools/passkey.h"
#include "../../tests/tools/signed.h"
#include "log/tlog.h"

#include <sys/stat.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *const NAMES[] = { "root", "alice", "bob", "carol" };
static const char *const ROLES[] = { "admin", "analyst", "approver", "approver" };

enum { SSH, PASSKEYS, PASSKEYS_ALL };

struct gen {
	struct pb_test_key k[4];
	int mode;
	struct pb_test_passkey pk[4]; /* bob's and carol's (2, 3) */
	struct pb_tlog_range r;
	char *text;
	int64_t plan;
	uint64_t approve[2];
};

static enum pb_status gen_next(void *ctx, uint64_t i, struct pb_str *e, struct pb_error *err)
{
	struct gen *g = ctx;
	free(g->text);
	uint8_t root[32];
	pb_tlog_range_root(&g->r, root);
	char d[4096];
	int who, step = i < 9 ? -1 : (int)((i - 9) % 50);
	const char *action;
	bool passkey = false;
	if (g->mode != SSH && i >= 4 && i < 9) { /* the origin, invitations, registrations */
		who = 0;
		if (i == 4) {
			action = "web.origin";
			snprintf(d, sizeof(d), "{\"origin\":\"" PB_TEST_ORIGIN "\",\"rp_id\":\"" PB_TEST_RP
			                       "\"}");
		} else if (i % 2) {
			action = "user.invite";
			uint8_t h[32];
			char hex[65];
			pb__sha256("token", 5, h);
			pb_hex(h, 32, hex);
			snprintf(d, sizeof(d), "{\"name\":\"%s\",\"token_sha256\":\"%s\",\"ttl_s\":3600}",
			         NAMES[i == 5 ? 2 : 3], hex);
		} else {
			who = i == 6 ? 2 : 3;
			action = "user.passkey-add";
			passkey = true;
			char *pd = pb_test_passkey_add_details(&g->pk[who], NAMES[who], PB_TEST_RP,
			                                       PB_TEST_ORIGIN, (long long)i - 1, "token");
			snprintf(d, sizeof(d), "%s", pd ? pd : "");
			free(pd);
		}
	} else if (i >= 4 && i < 9) {
		who = 1;
		action = "case.note";
		snprintf(d, sizeof(d), "{\"bytes\":120,\"kind\":\"note\",\"sha256\":"
		                       "\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"}");
	} else if (i < 4) {
		who = 0;
		action = "user.add";
		snprintf(d, sizeof(d), "{\"key\":\"%s\",\"key_fp\":\"%s\",\"name\":\"%s\",\"role\":\"%s\"}",
		         g->k[i].line, g->k[i].fp, NAMES[i], ROLES[i]);
	} else if (step == 0) {
		who = 1;
		action = "plan.new";
		g->plan++; /* apart: an argument list does not order its side effects */
		snprintf(d, sizeof(d), "{\"plan\":%lld,\"sha256\":\"%064lld\"}", (long long)g->plan,
		         (long long)g->plan);
	} else if (step == 1 || step == 2) {
		who = step + 1;
		action = "plan.approve";
		passkey = g->mode != SSH;
		g->approve[step - 1] = i;
		snprintf(d, sizeof(d), "{\"plan\":%lld,\"sha256\":\"%064lld\"}", (long long)g->plan,
		         (long long)g->plan);
	} else if (step == 3) {
		who = 1;
		action = "plan.apply";
		snprintf(d, sizeof(d),
		         "{\"approvals\":[{\"actor\":\"bob\",\"index\":%llu,\"key_fp\":\"%s\"},"
		         "{\"actor\":\"carol\",\"index\":%llu,\"key_fp\":\"%s\"}],\"plan\":%lld,"
		         "\"sha256\":\"%064lld\",\"version\":%lld}",
		         (unsigned long long)g->approve[0], g->mode != SSH ? g->pk[2].fp : g->k[2].fp,
		         (unsigned long long)g->approve[1], g->mode != SSH ? g->pk[3].fp : g->k[3].fp,
		         (long long)g->plan, (long long)g->plan, (long long)g->plan);
	} else {
		who = 1 + (int)(i % 3);
		action = "case.note";
		passkey = g->mode == PASSKEYS_ALL && who > 1;
		snprintf(d, sizeof(d), "{\"bytes\":120,\"kind\":\"note\",\"sha256\":"
		                       "\"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\"}");
	}
	if (passkey)
		g->text = pb_test_passkey_entry(&g->pk[who], i, NAMES[who], action, NULL, d, i, root,
		                                NULL);
	else
		g->text = pb_test_signed_entry(&g->k[who], i, NAMES[who], action,
		                               step >= 0 ? (int64_t)(i / 1000 + 1) : 0, NULL, d, i,
		                               root, i == 0 ? "signed" : NULL, NULL, NULL);
	if (!g->text)
		return pb__err(err, PB_ENOMEM, "cannot make entry %llu", (unsigned long long)i);
	uint8_t h[32];
	size_t len = strlen(g->text);
	pb_tlog_leaf_hash(g->text, len, h);
	pb_tlog_range_append(&g->r, h);
	*e = pb_str_of(g->text, len);
	return PB_OK;
}

static int floor_rate(double seconds)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[64];
	/* what an SSHSIG of a note signs: "SSHSIG", the namespace probity@v1, the
	 * empty reserved string, "sha512" and the statement's SHA-512, each
	 * string with its length: 102 bytes (an approval's namespace makes 110);
	 * inside the verify, SHA-512 of R || A || message is two blocks for
	 * both, as for every length from 48 to 175 bytes */
	uint8_t msg[6 + 4 + 10 + 4 + 4 + 6 + 4 + 64];
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	long n = 0;
	double t0 = now(), c0 = (double)clock() / CLOCKS_PER_SEC, t;
	do {
		for (int i = 0; i < 256; i++, n++)
			if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
				return 1;
	} while ((t = now() - t0) < seconds);
	double c = (double)clock() / CLOCKS_PER_SEC - c0;
	/* per second of wall time, and per second of this core's time (what the
	 * core does when it runs: the machine may be shared) */
	printf("%.0f %.0f\n", (double)n / t, (double)n / (c > 0 ? c : t));
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "floor"))
		return floor_rate(strtod(argv[2], NULL));
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: mklog DIR N KEYDIR [passkeys|passkeys-all] | mklog floor "
		                "SECONDS\n");
		return 2;
	}
	const char *dir = argv[1];
	uint64_t n = strtoull(argv[2], NULL, 10);
	struct gen g = { 0 };
	pb_tlog_range_init(&g.r);
	g.mode = argc == 4 ? SSH : !strcmp(argv[4], "passkeys-all") ? PASSKEYS_ALL : PASSKEYS;
	for (int i = 2; i < 4; i++)
		pb_test_passkey_new(&g.pk[i]);
	mkdir(dir, 0700);
	for (int i = 0; i < 4; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", argv[3], NAMES[i]);
		if (pb_test_key_open(&g.k[i], path, dir))
			return 1;
	}
	struct pb_error err = { 0 };
	char text[512], line[600], note[1200], path[4200], vk[400];
	uint8_t root[32], seed[32];
	pb__sha256("probity bench key", 17, seed);
	struct pb_signer sg;
	if (pb_signer_from_seed("probity.example/bench", 1, seed, &sg, &err) ||
	    pb_tlog_write_tiles(dir, n, gen_next, &g, root, &err)) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	free(g.text);
	/* checkpoint.actor: the checkpoint attested by alice, as log export writes it */
	json_t *cd = pb__checkpoint_details("probity.example/bench", n, root);
	char *cds = json_dumps(cd, JSON_COMPACT | JSON_SORT_KEYS);
	char *ce = pb_test_signed_entry(&g.k[1], n, "alice", "log.checkpoint", 0, NULL, cds, n, root,
	                                NULL, NULL, NULL);
	json_error_t je;
	json_t *cj = ce ? json_loads(ce, 0, &je) : NULL;
	json_t *ca = json_pack("{s:s,s:O}", "actor", "alice", "sig", json_object_get(cj, "sig"));
	char *cas = ca ? json_dumps(ca, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	snprintf(path, sizeof(path), "%s/checkpoint.actor", dir);
	if (!cas || pb__write_file_atomic(path, cas, strlen(cas), 0644, &err)) {
		fprintf(stderr, "cannot write checkpoint.actor\n");
		return 1;
	}
	free(cas);
	json_decref(ca);
	json_decref(cj);
	free(ce);
	free(cds);
	json_decref(cd);
	for (int i = 0; i < 4; i++) {
		pb_test_key_close(&g.k[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, NAMES[i]);
		remove(path);
	}
	struct pb_checkpoint c = { .size = n };
	snprintf(c.origin, sizeof(c.origin), "probity.example/bench");
	memcpy(c.root, root, 32);
	size_t tl = pb_checkpoint_format(&c, text, sizeof(text));
	pb_note_signature_line(&sg, text, tl, 0, line, sizeof(line), &err);
	snprintf(note, sizeof(note), "%s\n%s", text, line);
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	pb__write_file_atomic(path, note, strlen(note), 0644, &err);
	pb_vkey_format(&sg.vkey, vk, sizeof(vk));
	snprintf(path, sizeof(path), "%s/vkey", dir);
	size_t vl = strlen(vk);
	vk[vl++] = '\n';
	pb__write_file_atomic(path, vk, vl, 0644, &err);
	return 0;
}
