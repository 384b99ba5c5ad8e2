/* signed.h - test and benchmark only: entries of a signed log made by hand,
 * as pb__audit_batch_append writes them in a signed workspace (the entry's
 * canonical JSON with its "sig" member, the SSHSIG over the statement
 * statement.c builds), so the read side (lib/replay/sig.c, the loader) can
 * be tested and measured on logs with every kind of forgery in them. Never
 * part of the library or the installed program. */
#ifndef PB_TEST_SIGNED_H
#define PB_TEST_SIGNED_H

#include "ident/ident.h"
#include "log/audit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A signer for one of tests/data/sig's keys: the file is copied to tmpdir
 * with mode 0600 (git keeps no modes; the signer refuses a readable key). */
struct pb_test_key {
	struct pb_sshsigner *sg;
	const struct pb_sshkey *key;
	char fp[PB_SSHKEY_FP_MAX];
	char *line; /* "ssh-ed25519 AAAA..." */
};

static inline int pb_test_key_open(struct pb_test_key *k, const char *path, const char *tmpdir)
{
	memset(k, 0, sizeof(*k));
	char dst[4200];
	const char *base = strrchr(path, '/');
	snprintf(dst, sizeof(dst), "%s/%s", tmpdir, base ? base + 1 : path);
	FILE *in = fopen(path, "rb"), *out = fopen(dst, "wb");
	char buf[4096];
	size_t n;
	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (!in || !out || chmod(dst, 0600) != 0)
		return -1;
	struct pb_error err = { 0 };
	size_t nk = 0;
	if (pb__sshsigner_file(dst, &k->sg, &err) || pb__sshsigner_keys(k->sg, &k->key, &nk, &err) ||
	    nk < 1) {
		fprintf(stderr, "key %s: %s\n", path, err.message);
		return -1;
	}
	pb__sshkey_fingerprint(k->key, k->fp);
	k->line = pb__sshkey_line(k->key);
	return k->line ? 0 : -1;
}

static inline void pb_test_key_close(struct pb_test_key *k)
{
	pb__sshsigner_close(k->sg);
	free(k->line);
	memset(k, 0, sizeof(*k));
}

/* The text (heap) of entry `index` by actor, signed with k (NULL: unsigned)
 * against the log of `size` entries with root `root`; details is JSON text
 * or NULL; actors (entry 0 only) "signed" or NULL; nonce (may be NULL:
 * random) 16 bytes. ns (NULL: the action's) lets a test sign in the wrong
 * namespace. */
static inline char *pb_test_signed_entry(const struct pb_test_key *k, uint64_t index,
                                         const char *actor, const char *action, int64_t case_id,
                                         const char *subject, const char *details,
                                         uint64_t size, const uint8_t root[32],
                                         const char *actors, const uint8_t *nonce,
                                         const char *ns)
{
	json_error_t je;
	json_t *d = details ? json_loads(details, 0, &je) : NULL;
	json_t *e = json_pack("{s:i, s:I, s:s, s:s, s:s}", "v", 1, "index", (json_int_t)index,
	                      "time", "2026-12-06T00:00:00Z", "actor", actor, "action", action);
	if (case_id > 0)
		json_object_set_new(e, "case", json_integer(case_id));
	if (subject)
		json_object_set_new(e, "subject", json_string(subject));
	if (d)
		json_object_set(e, "details", d);
	if (actors)
		json_object_set_new(e, "actors", json_string(actors));
	char *text = NULL;
	if (k) {
		uint8_t nb[16];
		char nhex[33], rhex[65];
		if (nonce)
			memcpy(nb, nonce, 16);
		else
			randombytes_buf(nb, 16);
		pb_hex(nb, 16, nhex);
		pb_hex(root, 32, rhex);
		char *st = NULL;
		uint8_t *bin = NULL;
		size_t binlen = 0;
		struct pb_error err = { 0 };
		const char *sns = ns ? ns : pb__statement_ns(action);
		if (pb__statement_text(action, actor, case_id, subject, d, size, root, nhex, &st, &err) ||
		    pb__sshsigner_sign(k->sg, k->key, sns, st, strlen(st), &bin, &binlen, &err)) {
			fprintf(stderr, "cannot sign entry %llu: %s\n", (unsigned long long)index,
			        err.message);
			free(st);
			json_decref(d);
			json_decref(e);
			return NULL;
		}
		size_t b64cap = sodium_base64_ENCODED_LEN(binlen, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = malloc(b64cap);
		sodium_bin2base64(b64, b64cap, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(e, "sig",
		                    json_pack("{s:s, s:{s:s, s:I}, s:s, s:s, s:s}", "key_fp", k->fp,
		                              "log", "root", rhex, "size", (json_int_t)size, "nonce",
		                              nhex, "ns", sns, "sshsig", b64));
		free(b64);
		free(bin);
		free(st);
	}
	text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(d);
	json_decref(e);
	return text;
}

#endif /* PB_TEST_SIGNED_H */
