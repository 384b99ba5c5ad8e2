/* pb-sshsig.c - test only: lib/ident's SSHSIG signing and verifying from the
 * shell, for the interop script (tests/e2e/scripts/ident-interop.sh) that
 * puts it against ssh-keygen -Y sign / -Y verify.
 *
 * Not built by `make`, never installed: `make test-tools` builds it.
 *
 * usage: pb-sshsig sign -i KEY -n NS FILE
 *                     sign FILE with an unencrypted private key file
 *        pb-sshsig sign --agent SOCK --key PUBFILE -n NS FILE
 *                     sign FILE through the ssh-agent at SOCK with the key
 *                     in PUBFILE (an OpenSSH public key file)
 *        pb-sshsig verify --key PUBLINE -n NS FILE SIGFILE
 *                     check SIGFILE (armoured) is a signature of FILE in
 *                     namespace NS by the key PUBLINE
 * sign prints the armoured signature (as ssh-keygen writes FILE.sig);
 * verify prints "good signature by SHA256:..." or the reason it is not, and
 * exits 0 for good, 1 for anything else, 2 for usage.
 */
#include "ident/ident.h"
#include "util/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static int fail(const struct pb_error *err)
{
	char buf[1024];
	fprintf(stderr, "pb-sshsig: %s\n", pb_error_format(err, buf, sizeof(buf)));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: pb-sshsig sign -i KEY -n NS FILE\n"
	                "       pb-sshsig sign --agent SOCK --key PUBFILE -n NS FILE\n"
	                "       pb-sshsig verify --key PUBLINE -n NS FILE SIGFILE\n");
	return 2;
}

static int cmd_sign(const char *identity, const char *agent, const char *pubfile,
                    const char *ns, const char *file)
{
	struct pb_error err = { 0 };
	char *msg = NULL, *pubtext = NULL;
	size_t mn = 0, pn = 0;
	struct pb_sshsigner *s = NULL;
	struct pb_sshkey want = { 0 };
	const struct pb_sshkey *keys = NULL, *key = NULL;
	size_t n = 0;
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	int rc = 1;
	if (pb__read_file(file, 1 << 26, &msg, &mn, &err) != PB_OK)
		goto out;
	if (identity) {
		if (pb__sshsigner_file(identity, &s, &err) != PB_OK)
			goto out;
	} else {
		if (pb__read_file(pubfile, 1 << 16, &pubtext, &pn, &err) != PB_OK ||
		    pb__sshkey_parse(pubtext, pn, &want, NULL, &err) != PB_OK ||
		    pb__sshsigner_agent(agent, &s, &err) != PB_OK)
			goto out;
	}
	if (pb__sshsigner_keys(s, &keys, &n, &err) != PB_OK)
		goto out;
	for (size_t i = 0; i < n && !key; i++)
		if (!identity ? pb__sshkey_equal(&keys[i], &want) : true)
			key = &keys[i];
	if (!key) {
		pb__err(&err, PB_ENOENT, "the agent does not hold the key in '%s'", pubfile);
		goto out;
	}
	if (pb__sshsigner_sign(s, key, ns, msg, mn, &bin, &bin_len, &err) != PB_OK)
		goto out;
	char *arm = pb__sshsig_armour(bin, bin_len);
	if (arm)
		fputs(arm, stdout);
	free(arm);
	rc = arm ? 0 : 1;
out:
	if (rc && err.message[0])
		fail(&err);
	free(bin);
	pb__sshsigner_close(s);
	pb__sshkey_release(&want);
	free(pubtext);
	free(msg);
	return rc;
}

static int cmd_verify(const char *publine, const char *ns, const char *file, const char *sigfile)
{
	struct pb_error err = { 0 };
	char *msg = NULL, *sigtext = NULL;
	size_t mn = 0, sn = 0;
	struct pb_sshkey key = { 0 };
	struct pb_sshsig sig = { 0 };
	int rc = 1;
	if (pb__sshkey_parse(publine, strlen(publine), &key, NULL, &err) != PB_OK ||
	    pb__read_file(file, 1 << 26, &msg, &mn, &err) != PB_OK ||
	    pb__read_file(sigfile, 1 << 20, &sigtext, &sn, &err) != PB_OK ||
	    pb__sshsig_parse(sigtext, sn, &sig, NULL, NULL, &err) != PB_OK ||
	    pb__sshsig_verify(&sig, &key, ns, msg, mn, &err) != PB_OK) {
		fail(&err);
		goto out;
	}
	char fp[PB_SSHKEY_FP_MAX];
	pb__sshkey_fingerprint(&key, fp);
	printf("good signature by %s\n", fp);
	rc = 0;
out:
	pb__sshsig_release(&sig);
	pb__sshkey_release(&key);
	free(sigtext);
	free(msg);
	return rc;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0 || argc < 2)
		return usage();
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "agent", required_argument, NULL, 'a' },
		{ "key", required_argument, NULL, 'k' },
		{ "namespace", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[1], *identity = NULL, *agent = NULL, *key = NULL, *ns = NULL;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "i:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': identity = optarg; break;
		case 'a': agent = optarg; break;
		case 'k': key = optarg; break;
		case 'n': ns = optarg; break;
		default: return usage();
		}
	}
	if (!ns)
		return usage();
	if (strcmp(cmd, "sign") == 0 && argc - optind == 1 &&
	    ((identity && !agent && !key) || (!identity && agent && key)))
		return cmd_sign(identity, agent, key, ns, argv[optind]);
	if (strcmp(cmd, "verify") == 0 && argc - optind == 2 && key && !identity && !agent)
		return cmd_verify(key, ns, argv[optind], argv[optind + 1]);
	return usage();
}
