/* bench_ident.c - lib/ident's signing and verifying speed (bench/ident/run.sh).
 *
 *   bench_ident agent SOCK PUBFILE N   N signatures through the ssh-agent at
 *                                      SOCK with the key in PUBFILE, one
 *                                      connection: prints "MEDIAN_MS P99_MS"
 *   bench_ident file KEYFILE SECONDS   signatures from a key file against
 *                                      libsodium's crypto_sign_detached over
 *                                      the same signed data: "PROBITY/s PEER/s"
 *   bench_ident verify SECONDS         pb__sshsig_verify against libsodium's
 *                                      crypto_sign_verify_detached over the
 *                                      same signed data: "PROBITY/s PEER/s"
 * The message is a statement-sized JSON text (about 300 bytes). Every loop
 * is bounded: N signs, or SECONDS per side. Rates alternate batches of the
 * two sides in one process, so the machine's load falls on both.
 */
#include "ident/ident_internal.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static const char MSG[] =
	"{\"action\":\"plan.approve\",\"actor\":\"alice\",\"case\":17,\"details\":{\"hash\":"
	"\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"plan\":3},"
	"\"log\":{\"root\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
	"\"size\":1234},\"nonce\":\"00112233445566778899aabbccddeeff\",\"subject\":\"plan 3\","
	"\"type\":\"probity statement\",\"v\":1}";

#define BATCH 200 /* operations of one side before the other side's turn */

static int die(const struct pb_error *err)
{
	fprintf(stderr, "bench_ident: %s\n", err->message);
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int agent(const char *sock, const char *pubfile, long n)
{
	struct pb_error err = { 0 };
	char *text = NULL;
	size_t len = 0;
	struct pb_sshkey key;
	struct pb_sshsigner *s = NULL;
	if (pb__read_file(pubfile, 1 << 16, &text, &len, &err) != PB_OK ||
	    pb__sshkey_parse(text, len, &key, NULL, &err) != PB_OK ||
	    pb__sshsigner_agent(sock, &s, &err) != PB_OK)
		return die(&err);
	double *ms = calloc((size_t)n, sizeof(double));
	for (long i = 0; i < n; i++) {
		uint8_t *bin;
		size_t bin_len;
		double t0 = pb__mono();
		if (pb__sshsigner_sign(s, &key, "probity@v1", MSG, sizeof(MSG) - 1, &bin, &bin_len,
		                       &err) != PB_OK)
			return die(&err);
		ms[i] = (pb__mono() - t0) * 1000.0;
		free(bin);
	}
	qsort(ms, (size_t)n, sizeof(double), cmp_double);
	long p99 = (n * 99 + 99) / 100 - 1;
	printf("%.3f %.3f\n", ms[n / 2], ms[p99 < 0 ? 0 : p99]);
	free(ms);
	pb__sshsigner_close(s);
	pb__sshkey_release(&key);
	free(text);
	return 0;
}

static int file(const char *keyfile, double seconds)
{
	struct pb_error err = { 0 };
	struct pb_sshsigner *s = NULL;
	const struct pb_sshkey *keys;
	size_t nk;
	if (pb__sshsigner_file(keyfile, &s, &err) != PB_OK ||
	    pb__sshsigner_keys(s, &keys, &nk, &err) != PB_OK)
		return die(&err);
	/* the floor: libsodium signing the same signed data, nothing else;
	 * batches of the two alternate, so a change in the machine's load
	 * falls on both */
	struct pb_buf data;
	pb_buf_init(&data, 4096);
	pb__sshsig_signed_data(&data, "probity@v1", "sha512", MSG, sizeof(MSG) - 1);
	uint8_t sig[64];
	long done = 0;
	double t_ours = 0, t_peer = 0;
	while (t_ours < seconds || t_peer < seconds) {
		double t0 = pb__mono();
		for (int i = 0; i < BATCH; i++) {
			uint8_t *bin;
			size_t bin_len;
			if (pb__sshsigner_sign(s, &keys[0], "probity@v1", MSG, sizeof(MSG) - 1, &bin,
			                       &bin_len, &err) != PB_OK)
				return die(&err);
			free(bin);
		}
		double t1 = pb__mono();
		for (int i = 0; i < BATCH; i++)
			crypto_sign_detached(sig, NULL, (const uint8_t *)data.data, data.len, s->sk);
		t_ours += t1 - t0;
		t_peer += pb__mono() - t1;
		done += BATCH;
	}
	printf("%.0f %.0f\n", (double)done / t_ours, (double)done / t_peer);
	pb_buf_release(&data);
	pb__sshsigner_close(s);
	return 0;
}

static int verify(double seconds)
{
	struct pb_error err = { 0 };
	uint8_t seed[32] = { 1 }, pk[32], sk[64];
	crypto_sign_seed_keypair(pk, sk, seed);
	/* a key blob and an SSHSIG made here, as the key file signer makes them */
	struct pb_buf kb;
	pb_buf_init(&kb, 256);
	pb__sshw_cstring(&kb, "ssh-ed25519");
	pb__sshw_string(&kb, pk, 32);
	struct pb_sshkey key;
	if (pb__sshkey_from_blob((const uint8_t *)kb.data, kb.len, &key, &err) != PB_OK)
		return die(&err);
	struct pb_buf data, sb;
	pb_buf_init(&data, 4096);
	pb_buf_init(&sb, 256);
	pb__sshsig_signed_data(&data, "probity@v1", "sha512", MSG, sizeof(MSG) - 1);
	uint8_t raw[64];
	crypto_sign_detached(raw, NULL, (const uint8_t *)data.data, data.len, sk);
	pb__sshw_cstring(&sb, "ssh-ed25519");
	pb__sshw_string(&sb, raw, 64);
	uint8_t *bin;
	size_t bin_len;
	struct pb_sshsig sig;
	if (pb__sshsig_blob(&key, "probity@v1", "sha512", (const uint8_t *)sb.data, sb.len, &bin,
	                    &bin_len, &err) != PB_OK ||
	    pb__sshsig_decode(bin, bin_len, &sig, &err) != PB_OK)
		return die(&err);
	long done = 0;
	double t_ours = 0, t_peer = 0;
	while (t_ours < seconds || t_peer < seconds) {
		double t0 = pb__mono();
		for (int i = 0; i < BATCH; i++)
			if (pb__sshsig_verify(&sig, &key, "probity@v1", MSG, sizeof(MSG) - 1, &err) !=
			    PB_OK)
				return die(&err);
		double t1 = pb__mono();
		for (int i = 0; i < BATCH; i++)
			if (crypto_sign_verify_detached(raw, (const uint8_t *)data.data, data.len, pk) != 0)
				return 1;
		t_ours += t1 - t0;
		t_peer += pb__mono() - t1;
		done += BATCH;
	}
	printf("%.0f %.0f\n", (double)done / t_ours, (double)done / t_peer);
	pb__sshsig_release(&sig);
	pb__sshkey_release(&key);
	free(bin);
	pb_buf_release(&kb);
	pb_buf_release(&data);
	pb_buf_release(&sb);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 5 && strcmp(argv[1], "agent") == 0)
		return agent(argv[2], argv[3], strtol(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "file") == 0)
		return file(argv[2], strtod(argv[3], NULL));
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return verify(strtod(argv[2], NULL));
	fprintf(stderr, "usage: bench_ident agent SOCK PUBFILE N | file KEYFILE SECONDS | "
	                "verify SECONDS\n");
	return 2;
}
