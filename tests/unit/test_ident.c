/* test_ident.c - lib/ident against the real OpenSSH: keys, fingerprints and
 * signatures made by ssh-keygen (tests/data/ident, make.sh there), the key
 * file signer (whose Ed25519 signatures, being deterministic, must equal
 * ssh-keygen's byte for byte), refusals with their reasons, sk-ssh-ed25519
 * from OpenSSH's own regress vector (tests/data/ident/openssh) and from one
 * built here with libsodium (to have a valid one without user presence),
 * and the agent signer against a real ssh-agent and a fake, broken one. */
#include "unit.h"
#include "ident/ident.h"
#include "ident/ident_internal.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define D "tests/data/ident/"

static char *slurp(const char *path, size_t *len)
{
	char *d = NULL;
	size_t n = 0;
	struct pb_error err = { 0 };
	if (pb__read_file(path, 1 << 20, &d, &n, &err) != PB_OK) {
		fprintf(stderr, "%s\n", err.message);
		return NULL;
	}
	if (len)
		*len = n;
	return d;
}

/* The first line of a file, without its newline (heap). */
static char *first_line(const char *path)
{
	char *s = slurp(path, NULL);
	if (s)
		s[strcspn(s, "\n")] = 0;
	return s;
}

static bool load_key(const char *path, struct pb_sshkey *k)
{
	size_t n;
	char *s = slurp(path, &n);
	struct pb_error err = { 0 };
	bool ok = s && pb__sshkey_parse(s, n, k, NULL, &err) == PB_OK;
	if (s && !ok)
		fprintf(stderr, "%s: %s\n", path, err.message);
	free(s);
	return ok;
}

static bool contains(const char *hay, const char *needle)
{
	bool ok = strstr(hay, needle) != NULL;
	if (!ok)
		fprintf(stderr, "  expected \"%s\" in \"%s\"\n", needle, hay);
	return ok;
}

/* A copy of a test key in a 0600 file (git keeps no modes); heap path. */
static char *private_copy(const char *tmp, const char *name, unsigned mode)
{
	size_t n;
	char *s = slurp(name, &n);
	char *path = pb__path_join(tmp, "key");
	struct pb_error err = { 0 };
	if (!s || pb__write_file_atomic(path, s, n, mode, &err) != PB_OK || chmod(path, mode) != 0)
		fprintf(stderr, "cannot copy %s: %s\n", name, err.message);
	free(s);
	return path;
}

/* What several tests use: msg.txt, ssh-keygen's signature of it by alice
 * (probity@v1), and alice's and bob's public keys. */
struct fx {
	char *msg, *sig;
	size_t mn, sn;
	struct pb_sshkey alice, bob;
};

static void fx_load(struct fx *f)
{
	f->msg = slurp(D "msg.txt", &f->mn);
	f->sig = slurp(D "alice-msg.sig", &f->sn);
	CHECK(f->msg && f->sig);
	CHECK(load_key(D "alice.pub", &f->alice));
	CHECK(load_key(D "bob.pub", &f->bob));
}

static void fx_release(struct fx *f)
{
	pb__sshkey_release(&f->alice);
	pb__sshkey_release(&f->bob);
	free(f->msg);
	free(f->sig);
}

/* ---- keys ------------------------------------------------------------- */

static void t_key_parse(void)
{
	size_t n;
	char *line = slurp(D "alice.pub", &n);
	struct pb_sshkey k;
	char *comment = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshkey_parse(line, n, &k, &comment, &err), &err);
	CHECK_INT(k.type, PB_SSHKEY_ED25519);
	CHECK_STR(comment, "alice@test");
	CHECK_STR(k.application, "");
	char fp[PB_SSHKEY_FP_MAX];
	pb__sshkey_fingerprint(&k, fp);
	char *want_fp = first_line(D "alice.fp");
	CHECK_STR(fp, want_fp);
	char *kl = pb__sshkey_line(&k);
	line[strlen("ssh-ed25519 ") + 68] = 0; /* the line without its comment */
	CHECK_STR(kl, line);
	/* the line it prints parses back to the same key */
	struct pb_sshkey k2;
	CHECK_OK(pb__sshkey_parse(kl, strlen(kl), &k2, NULL, &err), &err);
	CHECK(pb__sshkey_equal(&k, &k2));
	/* and so does its blob */
	struct pb_sshkey k3;
	CHECK_OK(pb__sshkey_from_blob(k.blob, k.blob_len, &k3, &err), &err);
	CHECK(pb__sshkey_equal(&k, &k3));
	struct pb_sshkey b;
	CHECK(load_key(D "bob.pub", &b));
	CHECK(!pb__sshkey_equal(&k, &b));
	pb__sshkey_release(&k);
	pb__sshkey_release(&k2);
	pb__sshkey_release(&k3);
	pb__sshkey_release(&b);
	free(kl);
	free(want_fp);
	free(comment);
	free(line);
}

static void t_key_blanks(void)
{
	char *pub = first_line(D "bob.pub");
	char buf[512];
	snprintf(buf, sizeof(buf), " \t%s  \r\n", pub);
	struct pb_sshkey k;
	char *comment = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshkey_parse(buf, strlen(buf), &k, &comment, &err), &err);
	CHECK_STR(comment, "bob@test");
	pb__sshkey_release(&k);
	free(comment);
	/* no comment: NULL */
	char *two = pb__strndup(pub, strlen("ssh-ed25519 ") + 68);
	CHECK_OK(pb__sshkey_parse(two, strlen(two), &k, &comment, &err), &err);
	CHECK(comment == NULL);
	pb__sshkey_release(&k);
	free(two);
	free(pub);
}

static void t_key_refused(void)
{
	struct pb_sshkey k;
	struct pb_error err = { 0 };
	char *alice = first_line(D "alice.pub");
	char buf[1024];

	CHECK_INT(pb__sshkey_parse("", 0, &k, NULL, &err), PB_EFORMAT);
	CHECK(contains(err.message, "expected 'TYPE BASE64 [COMMENT]'"));
	CHECK_STR(err.field, "key");

	CHECK_INT(pb__sshkey_parse("ssh-ed25519", 11, &k, NULL, &err), PB_EFORMAT);

	const char *bad64 = "ssh-ed25519 AAAA*AAA";
	CHECK_INT(pb__sshkey_parse(bad64, strlen(bad64), &k, NULL, &err), PB_EFORMAT);
	CHECK(contains(err.message, "not base64"));

	/* a byte with its high bit set where the base64 has 'A' (libsodium alone
	 * would read 0xc1 as 'A': two spellings of one key) */
	snprintf(buf, sizeof(buf), "%s", alice);
	char *firsta = strchr(buf + strlen("ssh-ed25519 "), 'A');
	CHECK(firsta != NULL);
	if (firsta) {
		*firsta = (char)0xc1;
		CHECK_INT(pb__sshkey_parse(buf, strlen(buf), &k, NULL, &err), PB_EFORMAT);
		CHECK(contains(err.message, "not base64"));
	}

	/* the type word must agree with the blob */
	snprintf(buf, sizeof(buf), "sk-ssh-ed25519@openssh.com %s", alice + strlen("ssh-ed25519 "));
	CHECK_INT(pb__sshkey_parse(buf, strlen(buf), &k, NULL, &err), PB_EFORMAT);
	CHECK(contains(err.message, "the line says 'sk-ssh-ed25519@openssh.com' but the key is "
	                            "ssh-ed25519"));

	/* another type */
	size_t n;
	char *ecdsa = slurp(D "ecdsa.pub", &n);
	CHECK_INT(pb__sshkey_parse(ecdsa, n, &k, NULL, &err), PB_EFORMAT);
	CHECK(contains(err.message, "unsupported key type 'ecdsa-sha2-nistp256'"));
	free(ecdsa);

	/* a blob cut short, or with bytes after the key */
	struct pb_sshkey a;
	CHECK(load_key(D "alice.pub", &a));
	for (size_t cut = 0; cut < a.blob_len; cut++)
		CHECK_INT(pb__sshkey_from_blob(a.blob, cut, &k, &err), PB_EFORMAT);
	uint8_t longer[64];
	memcpy(longer, a.blob, a.blob_len);
	longer[a.blob_len] = 0;
	CHECK_INT(pb__sshkey_from_blob(longer, a.blob_len + 1, &k, &err), PB_EFORMAT);
	CHECK(contains(err.message, "1 bytes after the key"));
	/* a lying length */
	longer[3] = 0xff;
	CHECK_INT(pb__sshkey_from_blob(longer, a.blob_len, &k, &err), PB_EFORMAT);
	pb__sshkey_release(&a);
	free(alice);
}

/* ---- SSHSIG from ssh-keygen ------------------------------------------- */

static void t_sig_verify(void)
{
	size_t sn;
	struct fx f;
	fx_load(&f);
	struct pb_sshsig s;
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshsig_parse(f.sig, f.sn, &s, &bin, &bin_len, &err), &err);
	CHECK_STR(s.ns, "probity@v1");
	CHECK_STR(s.hash_alg, "sha512");
	CHECK(pb__sshkey_equal(&s.key, &f.alice));
	CHECK_OK(pb__sshsig_verify(&s, &f.alice, "probity@v1", f.msg, f.mn, &err), &err);
	CHECK_OK(pb__sshsig_verify(&s, NULL, "probity@v1", f.msg, f.mn, &err), &err);

	/* armour gives back ssh-keygen's text byte for byte */
	char *arm = pb__sshsig_armour(bin, bin_len);
	CHECK_STR(arm, f.sig);
	free(arm);

	/* the binary decodes the same */
	struct pb_sshsig s2;
	CHECK_OK(pb__sshsig_decode(bin, bin_len, &s2, &err), &err);
	CHECK_INT(s2.sig_len, s.sig_len);
	pb__sshsig_release(&s2);

	/* refusals, each with its reason */
	CHECK_INT(pb__sshsig_verify(&s, &f.alice, "probity-approve@v1", f.msg, f.mn, &err), PB_EVERIFY);
	CHECK(contains(err.message, "namespace 'probity@v1', expected 'probity-approve@v1'"));
	CHECK_INT(pb__sshsig_verify(&s, &f.bob, "probity@v1", f.msg, f.mn, &err), PB_EVERIFY);
	CHECK(contains(err.message, "another key"));
	f.msg[0] ^= 1;
	CHECK_INT(pb__sshsig_verify(&s, &f.alice, "probity@v1", f.msg, f.mn, &err), PB_EVERIFY);
	CHECK(contains(err.message, "bad signature"));
	f.msg[0] ^= 1;
	CHECK_INT(pb__sshsig_verify(&s, &f.alice, "probity@v1", f.msg, f.mn - 1, &err), PB_EVERIFY);

	/* every flipped bit of the signature itself is refused */
	for (size_t i = 0; i < s.sig_len * 8; i += 7) {
		s.sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK(pb__sshsig_verify(&s, &f.alice, "probity@v1", f.msg, f.mn, &err) != PB_OK);
		s.sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_OK(pb__sshsig_verify(&s, &f.alice, "probity@v1", f.msg, f.mn, &err), &err);

	/* bob's approval, another namespace */
	struct pb_sshsig b;
	char *btext = slurp(D "bob-approve.sig", &sn);
	CHECK_OK(pb__sshsig_parse(btext, sn, &b, NULL, NULL, &err), &err);
	CHECK_OK(pb__sshsig_verify(&b, &f.bob, "probity-approve@v1", f.msg, f.mn, &err), &err);
	CHECK_INT(pb__sshsig_verify(&b, &f.bob, "probity@v1", f.msg, f.mn, &err), PB_EVERIFY);
	pb__sshsig_release(&b);
	free(btext);

	pb__sshsig_release(&s);
	free(bin);
	fx_release(&f);
}

static void t_sig_malformed(void)
{
	size_t sn;
	char *text = slurp(D "alice-msg.sig", &sn);
	struct pb_sshsig s;
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshsig_parse(text, sn, &s, &bin, &bin_len, &err), &err);
	pb__sshsig_release(&s);

	/* every truncation of the binary is refused, never read past */
	for (size_t cut = 0; cut < bin_len; cut++)
		CHECK_INT(pb__sshsig_decode(bin, cut, &s, &err), PB_EFORMAT);
	/* truncated armour: no END line */
	CHECK_INT(pb__sshsig_parse(text, sn / 2, &s, NULL, NULL, &err), PB_EFORMAT);
	CHECK(contains(err.message, "truncated"));
	CHECK_STR(err.field, "signature");
	/* armour with a line of its base64 missing */
	char *nl = strchr(text, '\n');
	char *cut = malloc(sn);
	size_t l1 = (size_t)(nl + 1 - text);
	memcpy(cut, text, l1);
	memcpy(cut + l1, nl + 72, sn - l1 - 71);
	CHECK(pb__sshsig_parse(cut, sn - 71, &s, NULL, NULL, &err) != PB_OK);
	free(cut);
	/* no armour at all */
	CHECK_INT(pb__sshsig_parse("hello", 5, &s, NULL, NULL, &err), PB_EFORMAT);
	CHECK(contains(err.message, "BEGIN SSH SIGNATURE"));
	/* another magic, another version */
	bin[0] = 'X';
	CHECK_INT(pb__sshsig_decode(bin, bin_len, &s, &err), PB_EFORMAT);
	CHECK(contains(err.message, "magic"));
	bin[0] = 'S';
	bin[9] = 2;
	CHECK_INT(pb__sshsig_decode(bin, bin_len, &s, &err), PB_EFORMAT);
	CHECK(contains(err.message, "version 1"));
	bin[9] = 1;
	/* trailing bytes */
	uint8_t *longer = malloc(bin_len + 1);
	memcpy(longer, bin, bin_len);
	longer[bin_len] = 0;
	CHECK_INT(pb__sshsig_decode(longer, bin_len + 1, &s, &err), PB_EFORMAT);
	free(longer);
	CHECK_OK(pb__sshsig_decode(bin, bin_len, &s, &err), &err);
	pb__sshsig_release(&s);
	free(bin);
	free(text);
}

/* ---- the key file signer ----------------------------------------------- */

/* key is alice's; the signer's signature of msg.txt verifies and, Ed25519
 * being deterministic, is ssh-keygen -Y sign's byte for byte. */
static void signs_like_keygen(struct pb_sshsigner *s, const struct pb_sshkey *key,
                              const struct fx *f)
{
	struct pb_error err = { 0 };
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	CHECK(pb__sshkey_equal(key, &f->alice));
	CHECK_OK(pb__sshsigner_sign(s, key, "probity@v1", f->msg, f->mn, &bin, &bin_len, &err), &err);
	char *arm = bin ? pb__sshsig_armour(bin, bin_len) : NULL;
	CHECK_STR(arm, f->sig);
	struct pb_sshsig sig;
	CHECK_OK(pb__sshsig_decode(bin, bin_len, &sig, &err), &err);
	CHECK_OK(pb__sshsig_verify(&sig, &f->alice, "probity@v1", f->msg, f->mn, &err), &err);
	pb__sshsig_release(&sig);
	free(arm);
	free(bin);
}

static void t_file_signer(void)
{
	char *tmp = unit_tmpdir();
	char *path = private_copy(tmp, D "alice", 0600);
	struct fx f;
	fx_load(&f);
	struct pb_sshsigner *s = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshsigner_file(path, &s, &err), &err);
	const struct pb_sshkey *keys = NULL;
	size_t n = 0;
	if (s)
		CHECK_OK(pb__sshsigner_keys(s, &keys, &n, &err), &err);
	CHECK_INT(n, 1);
	if (n == 1) {
		signs_like_keygen(s, &keys[0], &f);
		uint8_t *bin = NULL;
		size_t bin_len = 0;
		/* not the file's key */
		CHECK_INT(pb__sshsigner_sign(s, &f.bob, "probity@v1", f.msg, f.mn, &bin, &bin_len, &err),
		          PB_ENOENT);
		CHECK(bin == NULL);
		CHECK_INT(pb__sshsigner_sign(s, &keys[0], "", f.msg, f.mn, &bin, &bin_len, &err),
		          PB_EINVAL);
		CHECK_STR(err.field, "ns");
	}
	pb__sshsigner_close(s);
	pb__sshsigner_close(NULL);

	/* readable by others: refused as ssh does */
	chmod(path, 0644);
	CHECK_INT(pb__sshsigner_file(path, &s, &err), PB_EPERM);
	CHECK(contains(err.message, "chmod 600"));
	CHECK_STR(err.field, "identity");
	free(path);

	/* encrypted: refused, saying so */
	path = private_copy(tmp, D "locked", 0600);
	CHECK_INT(pb__sshsigner_file(path, &s, &err), PB_EFORMAT);
	CHECK(contains(err.message, "encrypted"));
	free(path);

	/* a public key is not a private key; a missing file is ENOENT */
	path = private_copy(tmp, D "alice.pub", 0600);
	CHECK_INT(pb__sshsigner_file(path, &s, &err), PB_EFORMAT);
	free(path);
	path = pb__path_join(tmp, "nothing");
	CHECK_INT(pb__sshsigner_file(path, &s, &err), PB_ENOENT);
	free(path);

	/* a damaged private section: every truncation of the file refused */
	size_t kn;
	char *key = slurp(D "alice", &kn);
	path = pb__path_join(tmp, "cut");
	for (size_t cut = 40; cut < kn - 40; cut += 13) {
		pb__write_file_atomic(path, key, cut, 0600, &err);
		chmod(path, 0600);
		CHECK(pb__sshsigner_file(path, &s, &err) != PB_OK);
	}
	free(path);
	free(key);

	fx_release(&f);
	unit_rm_rf(tmp);
	free(tmp);
}

/* ---- sk-ssh-ed25519, a vector built here with libsodium ---------------- */
/* OpenSSH's own vector (t_sk_openssh) has user presence set; this one is
 * built here so a valid signature WITHOUT user presence can be tested. */

/* Built independently of lib/ident from PROTOCOL.sshsig and PROTOCOL.u2f:
 * key blob, signed data, the authenticator's message and the SSHSIG blob. */
static void put_u32(uint8_t **p, uint32_t v)
{
	(*p)[0] = (uint8_t)(v >> 24);
	(*p)[1] = (uint8_t)(v >> 16);
	(*p)[2] = (uint8_t)(v >> 8);
	(*p)[3] = (uint8_t)v;
	*p += 4;
}
static void put_str(uint8_t **p, const void *s, size_t n)
{
	put_u32(p, (uint32_t)n);
	memcpy(*p, s, n);
	*p += n;
}

static size_t sk_vector(uint8_t flags, const char *ns, const char *msg, uint8_t *out)
{
	uint8_t seed[32], pk[32], sk[64];
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	const char *type = "sk-ssh-ed25519@openssh.com", *app = "ssh:";
	uint8_t key[256], *p = key;
	put_str(&p, type, strlen(type));
	put_str(&p, pk, 32);
	put_str(&p, app, strlen(app));
	size_t key_len = (size_t)(p - key);

	uint8_t h[64], data[256];
	crypto_hash_sha512(h, (const uint8_t *)msg, strlen(msg));
	p = data;
	memcpy(p, "SSHSIG", 6);
	p += 6;
	put_str(&p, ns, strlen(ns));
	put_str(&p, "", 0);
	put_str(&p, "sha512", 6);
	put_str(&p, h, 64);
	uint8_t m[69];
	crypto_hash_sha256(m, (const uint8_t *)app, strlen(app));
	m[32] = flags;
	uint8_t *c = m + 33;
	put_u32(&c, 42); /* counter */
	crypto_hash_sha256(m + 37, data, (size_t)(p - data));
	uint8_t sig[64];
	crypto_sign_detached(sig, NULL, m, sizeof(m), sk);

	uint8_t sigblob[256], *q = sigblob;
	put_str(&q, type, strlen(type));
	put_str(&q, sig, 64);
	*q++ = flags;
	put_u32(&q, 42);

	p = out;
	memcpy(p, "SSHSIG", 6);
	p += 6;
	put_u32(&p, 1);
	put_str(&p, key, key_len);
	put_str(&p, ns, strlen(ns));
	put_str(&p, "", 0);
	put_str(&p, "sha512", 6);
	put_str(&p, sigblob, (size_t)(q - sigblob));
	return (size_t)(p - out);
}

static void t_sk_built(void)
{
	uint8_t bin[1024];
	const char *msg = "approve plan 3";
	size_t n = sk_vector(0x01, "probity-approve@v1", msg, bin);
	struct pb_sshsig s;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshsig_decode(bin, n, &s, &err), &err);
	CHECK_INT(s.key.type, PB_SSHKEY_SK_ED25519);
	CHECK_STR(s.key.application, "ssh:");
	CHECK_OK(pb__sshsig_verify(&s, NULL, "probity-approve@v1", msg, strlen(msg), &err), &err);
	CHECK_INT(pb__sshsig_verify(&s, NULL, "probity-approve@v1", "approve plan 4", 14, &err),
	          PB_EVERIFY);
	/* the key line round trip */
	char *line = pb__sshkey_line(&s.key);
	CHECK(line && strncmp(line, "sk-ssh-ed25519@openssh.com AAAA", 31) == 0);
	struct pb_sshkey k;
	CHECK_OK(pb__sshkey_parse(line, strlen(line), &k, NULL, &err), &err);
	CHECK(pb__sshkey_equal(&k, &s.key));
	pb__sshkey_release(&k);
	free(line);
	pb__sshsig_release(&s);

	/* a valid signature without user presence: refused, saying why */
	n = sk_vector(0x04, "probity-approve@v1", msg, bin);
	CHECK_OK(pb__sshsig_decode(bin, n, &s, &err), &err);
	CHECK_INT(pb__sshsig_verify(&s, NULL, "probity-approve@v1", msg, strlen(msg), &err),
	          PB_EVERIFY);
	CHECK(contains(err.message, "no user presence"));
	pb__sshsig_release(&s);

	/* flags changed after signing: a bad signature */
	n = sk_vector(0x01, "probity@v1", msg, bin);
	bin[n - 5] = 0x05;
	CHECK_OK(pb__sshsig_decode(bin, n, &s, &err), &err);
	CHECK_INT(pb__sshsig_verify(&s, NULL, "probity@v1", msg, strlen(msg), &err), PB_EVERIFY);
	CHECK(contains(err.message, "bad signature"));
	pb__sshsig_release(&s);
}

/* ---- sk-ssh-ed25519, OpenSSH's own vector ------------------------------ */

/* tests/data/ident/openssh/README says where it comes from: a signature made
 * by ssh-keygen with OpenSSH's sk-dummy authenticator. */
static void t_sk_openssh(void)
{
	size_t n, sn, mn;
	char *line = slurp(D "openssh/ed25519_sk.pub", &n);
	char *text = slurp(D "openssh/ed25519_sk.sig", &sn);
	char *msg = slurp(D "openssh/signed-data", &mn);
	char *ns = slurp(D "openssh/namespace", NULL);
	struct pb_sshkey k;
	char *comment = NULL;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sshkey_parse(line, n, &k, &comment, &err), &err);
	CHECK_INT(k.type, PB_SSHKEY_SK_ED25519);
	CHECK_STR(k.application, "ssh:");
	CHECK_STR(comment, "ED25519-SK test key");
	char fp[PB_SSHKEY_FP_MAX];
	pb__sshkey_fingerprint(&k, fp);
	CHECK_STR(fp, "SHA256:pbI9wlyrFSsUbp+GTiIAOqNMvoajbF2tHsPMECyrMYU"); /* ssh-keygen -l */
	struct pb_sshsig s;
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	CHECK_OK(pb__sshsig_parse(text, sn, &s, &bin, &bin_len, &err), &err);
	CHECK_STR(s.ns, "unittest");
	CHECK_STR(ns, "unittest");
	CHECK(pb__sshkey_equal(&s.key, &k));
	CHECK_OK(pb__sshsig_verify(&s, &k, "unittest", msg, mn, &err), &err);
	/* flags 0x01 and counter 0x12345678 end the signature blob */
	static const uint8_t tail[] = { 0x01, 0x12, 0x34, 0x56, 0x78 };
	CHECK(s.sig_len > 5 && memcmp(s.sig + s.sig_len - 5, tail, 5) == 0);
	/* the user-presence flag cleared: the signature covers the flags, so
	 * the authenticator's signature no longer verifies */
	s.sig[s.sig_len - 5] = 0x00;
	CHECK_INT(pb__sshsig_verify(&s, &k, "unittest", msg, mn, &err), PB_EVERIFY);
	CHECK(contains(err.message, "bad signature"));
	s.sig[s.sig_len - 5] = 0x01;
	/* the counter is covered too */
	s.sig[s.sig_len - 1] ^= 1;
	CHECK_INT(pb__sshsig_verify(&s, &k, "unittest", msg, mn, &err), PB_EVERIFY);
	s.sig[s.sig_len - 1] ^= 1;
	CHECK_INT(pb__sshsig_verify(&s, &k, "probity@v1", msg, mn, &err), PB_EVERIFY);
	CHECK_OK(pb__sshsig_verify(&s, NULL, "unittest", msg, mn, &err), &err);
	pb__sshsig_release(&s);
	pb__sshkey_release(&k);
	free(bin);
	free(comment);
	free(line);
	free(text);
	free(msg);
	free(ns);
}

/* ---- the agent signer, against a real ssh-agent ------------------------ */

/* Starts `ssh-agent -D -a SOCK` (foreground, so the pid is its own) and
 * waits up to 5 s for the socket. */
static pid_t agent_start(const char *sock)
{
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("ssh-agent", "ssh-agent", "-D", "-a", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(sock, &st) == 0)
			return pid;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "ssh-agent exited (status %d): is openssh-client installed?\n",
			        status);
			return -1;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static void agent_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static bool ssh_add(const char *sock, const char *key)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "SSH_AUTH_SOCK='%s' ssh-add -q '%s' </dev/null >/dev/null 2>&1",
	         sock, key);
	return system(cmd) == 0;
}

static void t_agent_signer(void)
{
	char *tmp = unit_tmpdir();
	char *sock = pb__path_join(tmp, "agent.sock");
	pid_t pid = agent_start(sock);
	CHECK(pid > 0);
	if (pid <= 0)
		goto out;
	struct fx f;
	fx_load(&f);
	struct pb_sshsigner *s = NULL;
	struct pb_error err = { 0 };
	const struct pb_sshkey *keys = NULL;
	size_t n = 99;
	CHECK_OK(pb__sshsigner_agent(sock, &s, &err), &err);
	if (!s)
		goto done;
	/* an empty agent */
	CHECK_OK(pb__sshsigner_keys(s, &keys, &n, &err), &err);
	CHECK_INT(n, 0);

	/* alice's key and an ECDSA key (listed by the agent, not by us) */
	char *path = private_copy(tmp, D "alice", 0600);
	CHECK(ssh_add(sock, path));
	free(path);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ecdsa -N '' -f '%s/ecdsa' >/dev/null", tmp);
	CHECK(system(cmd) == 0);
	path = pb__path_join(tmp, "ecdsa");
	CHECK(ssh_add(sock, path));
	free(path);
	CHECK_OK(pb__sshsigner_keys(s, &keys, &n, &err), &err);
	CHECK_INT(n, 1);
	if (n == 1) {
		signs_like_keygen(s, &keys[0], &f);
		uint8_t *bin = NULL;
		size_t bin_len = 0;
		/* many signs on one connection */
		for (int i = 0; i < 20; i++) {
			CHECK_OK(pb__sshsigner_sign(s, &keys[0], "probity-approve@v1", &i, sizeof(i), &bin,
			                            &bin_len, &err),
			         &err);
			struct pb_sshsig sig;
			CHECK_OK(pb__sshsig_decode(bin, bin_len, &sig, &err), &err);
			CHECK_OK(pb__sshsig_verify(&sig, &f.alice, "probity-approve@v1", &i, sizeof(i), &err),
			         &err);
			pb__sshsig_release(&sig);
			free(bin);
		}
		/* a key the agent does not hold */
		CHECK_INT(pb__sshsigner_sign(s, &f.bob, "probity@v1", f.msg, f.mn, &bin, &bin_len, &err),
		          PB_EPERM);
		CHECK(contains(err.message, "refused to sign"));
		CHECK_STR(err.field, "agent");
	}
	pb__sshsigner_close(s);

	/* the agent gone: an error, not a hang */
	agent_stop(pid);
	pid = -1;
	CHECK(pb__sshsigner_agent(sock, &s, &err) != PB_OK); /* ENOENT: it removes its socket */
	CHECK(contains(err.message, "cannot connect to ssh-agent"));
done:
	fx_release(&f);
out:
	agent_stop(pid);
	free(sock);
	unit_rm_rf(tmp);
	free(tmp);
}

/* A fake agent: a listening socket this test answers (or not) by hand. */
static int fake_listen(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0) {
		perror("fake agent");
		close(fd);
		return -1;
	}
	return fd;
}

static void t_agent_broken(void)
{
	char *tmp = unit_tmpdir();
	char *sock = pb__path_join(tmp, "fake.sock");
	struct pb_sshsigner *s = NULL;
	struct pb_error err = { 0 };
	const struct pb_sshkey *keys;
	size_t n;

	CHECK_INT(pb__sshsigner_agent(sock, &s, &err), PB_ENOENT);
	CHECK_INT(pb__sshsigner_agent("", &s, &err), PB_EINVAL);
	CHECK(contains(err.message, "SSH_AUTH_SOCK"));

	int l = fake_listen(sock);
	CHECK(l >= 0);
	/* accepted by the kernel, never answered: a timeout */
	CHECK_OK(pb__sshsigner_agent(sock, &s, &err), &err);
	if (s) {
		s->timeout_s = 1;
		time_t t0 = time(NULL);
		CHECK_INT(pb__sshsigner_keys(s, &keys, &n, &err), PB_EIO);
		CHECK(contains(err.message, "did not answer within 1 s"));
		CHECK(time(NULL) - t0 <= 3);
		/* and the connection is not reused out of step */
		CHECK_INT(pb__sshsigner_keys(s, &keys, &n, &err), PB_EIO);
		CHECK(contains(err.message, "was lost"));
		pb__sshsigner_close(s);
	}
	int c = accept(l, NULL, NULL);
	close(c);

	/* closes the connection */
	CHECK_OK(pb__sshsigner_agent(sock, &s, &err), &err);
	c = accept(l, NULL, NULL);
	close(c);
	if (s) {
		CHECK_INT(pb__sshsigner_keys(s, &keys, &n, &err), PB_EIO);
		pb__sshsigner_close(s);
	}

	/* lies about the length of its answer, or sends a truncated list */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 12 };
	static const uint8_t cut[] = { 0, 0, 0, 9, 12, 0, 0, 0, 1, 0, 0, 0, 40 };
	static const uint8_t many[] = { 0, 0, 0, 5, 12, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t fail[] = { 0, 0, 0, 1, 5 };
	const struct {
		const uint8_t *p;
		size_t n;
		const char *reason;
	} lies[] = {
		{ huge, sizeof(huge), "sent an answer of 4294967295 bytes" },
		{ cut, 9 + 4, "key 1 is cut short" },
		{ many, sizeof(many), "expected a key count" },
		{ fail, sizeof(fail), "did not list its keys" },
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(lies); i++) {
		CHECK_OK(pb__sshsigner_agent(sock, &s, &err), &err);
		c = accept(l, NULL, NULL);
		CHECK(write(c, lies[i].p, lies[i].n) == (ssize_t)lies[i].n);
		if (s) {
			s->timeout_s = 2;
			CHECK(pb__sshsigner_keys(s, &keys, &n, &err) != PB_OK);
			CHECK(contains(err.message, lies[i].reason));
			pb__sshsigner_close(s);
		}
		close(c);
	}
	close(l);
	free(sock);
	unit_rm_rf(tmp);
	free(tmp);
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	RUN(t_key_parse);
	RUN(t_key_blanks);
	RUN(t_key_refused);
	RUN(t_sig_verify);
	RUN(t_sig_malformed);
	RUN(t_file_signer);
	RUN(t_sk_built);
	RUN(t_sk_openssh);
	RUN(t_agent_signer);
	RUN(t_agent_broken);
	return UNIT_END("ident");
}
