/* cmd_passkey.c - probity user passkey: the web app's passkeys from the
 * command line (docs/identity.md, "Passkeys"): the origin they are made for,
 * registering one (a browser's or softauthn's create() answer), listing and
 * revoking them. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

static const char help_body[] =
	"\n"
	"Passkeys (WebAuthn) sign a web user's changes the way OpenSSH keys sign on\n"
	"the command line. 'origin' declares the web app's address and RP ID (an\n"
	"admin; https://HOST[:PORT], or http://localhost[:PORT]). 'add' registers the\n"
	"acting user's own passkey from the JSON a browser's (or softauthn's)\n"
	"navigator.credentials.create() gave, made for --challenge; in a signed\n"
	"workspace under an admin's invitation (--invite-token, the token of 'probity\n"
	"user invite') and signed by the passkey itself: run it with --statement,\n"
	"have the passkey sign the statement, then again with --webauthn. 'revoke'\n"
	"ends one (an admin, or its own user); 'list' shows them.\n"
	"\n"
	"options:\n"
	"  --credential FILE   add: the create() answer (JSON: id, response with\n"
	"                      attestationObject and clientDataJSON)\n"
	"  --challenge B64URL  add: the challenge create() was given\n"
	"  --name LABEL        add: a label (\"work laptop\")\n"
	"  --invite-token T    add: the invitation it is made under\n"
	"  --rp-id ID          origin: the RP ID (default: the origin's host)\n"
	"  --reason TEXT       revoke: why (required)\n"
	"  --as USER           the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help          show this help\n"
	"\n"
	"examples:\n"
	"  probity user passkey origin review-2025 https://review.example.com --as root\n"
	"  probity user passkey add review-2025 --credential reg.json --challenge X --as alice\n"
	"  probity user passkey revoke review-2025 alice webauthn:... --reason 'lost'\n";

static int passkey_origin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "rp-id", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL, *rp_id = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'a')
			as = optarg;
		else
			rp_id = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS ORIGIN");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	enum pb_status st = pb_passkey_origin_set(ws, actor, argv[optind + 1], rp_id, &index, &err);
	char origin[PB_PASSKEY_ORIGIN_MAX], rp[PB_PASSKEY_ORIGIN_MAX];
	if (!st && !(st = pb_passkey_origin(ws, origin, rp, &err)))
		printf("declared the web origin %s (RP ID %s); log entry %llu\n", origin, rp,
		       (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static int passkey_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "credential", required_argument, NULL, 'c' },
		{ "challenge", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'n' },
		{ "invite-token", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL, *cred = NULL, *challenge = NULL;
	struct pb_passkey_reg r = { 0 };
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'a')
			as = optarg;
		else if (c == 'c')
			cred = optarg;
		else if (c == 'C')
			challenge = optarg;
		else if (c == 'n')
			r.name = optarg;
		else
			r.invite_token = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected WS");
	if (!cred || !challenge)
		return cli_usage(cli_cmd_name(), "needs --credential FILE and --challenge B64URL");
	uint8_t ch[256];
	size_t ch_len = 0;
	if (sodium_base642bin(ch, sizeof(ch), challenge, strlen(challenge), NULL, &ch_len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    ch_len == 0)
		return cli_failf("'%s' is not a base64url challenge (--challenge)", challenge);
	size_t n;
	char *text = cli_slurp(cred, 1 << 20, &n);
	if (!text)
		return 1;
	json_t *j = json_loadb(text, n, 0, NULL);
	free(text);
	json_t *resp = json_object_get(j, "response");
	r.attestation_object = json_string_value(json_object_get(resp, "attestationObject"));
	r.client_data_json = json_string_value(json_object_get(resp, "clientDataJSON"));
	r.challenge = ch;
	r.challenge_len = ch_len;
	if (!r.attestation_object || !r.client_data_json) {
		json_decref(j);
		return cli_failf("'%s' is not a passkey's registration: it needs \"response\" with "
		                 "\"attestationObject\" and \"clientDataJSON\" (--credential)",
		                 cred);
	}
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor))) {
		json_decref(j);
		return rc;
	}
	r.user = actor;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	char fp[PB_PASSKEY_FP_MAX];
	enum pb_status st = pb_passkey_add(ws, actor, &r, fp, &index, &err);
	if (!st)
		printf("registered passkey %s for '%s'; log entry %llu\n", fp, actor,
		       (unsigned long long)index);
	json_decref(j);
	return cli_close(ws, st, &err);
}

static int passkey_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL, *reason = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'a')
			as = optarg;
		else
			reason = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 3)
		return cli_usage(cli_cmd_name(), "expected WS USER FP (its webauthn:... fingerprint)");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	const char *user = argv[optind + 1], *fp = argv[optind + 2];
	enum pb_status st = pb_passkey_revoke(ws, actor, user, fp, reason, &index, &err);
	if (!st)
		printf("revoked passkey %s of '%s'; log entry %llu\n", fp, user,
		       (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static bool print_passkey(void *ctx, const struct pb_passkey *k)
{
	char added[24], revoked[24], count[16];
	snprintf(added, sizeof(added), "%llu", (unsigned long long)k->added_idx);
	snprintf(revoked, sizeof(revoked), "%llu", (unsigned long long)k->revoked_idx);
	snprintf(count, sizeof(count), "%lu", (unsigned long)k->sign_count);
	cli_table_add(ctx, (const char *const[]){ k->user, k->fp,
	                                          k->alg == -8 ? "EdDSA" : k->alg == -7 ? "ES256" : "?",
	                                          k->rp_id, added, k->revoked ? revoked : "-", count,
	                                          k->name ? k->name : "",
	                                          k->revoke_reason ? k->revoke_reason : "" });
	return true;
}

static int passkey_list(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, NULL, &rc)) > 0)
		;
	if (c < 0)
		return rc;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage(cli_cmd_name(), "expected WS [USER]");
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct cli_table t;
	cli_table_init(&t, 9,
	               (const char *const[]){ "user", "passkey", "alg", "rp_id", ">added",
	                                      ">revoked", ">counter", "name", "reason" });
	enum pb_status st = pb_passkey_list(ws, argc - optind == 2 ? argv[optind + 1] : NULL,
	                                    print_passkey, &t, &err);
	if (!st)
		cli_table_print(&t, stdout);
	cli_table_release(&t);
	return cli_close(ws, st, &err);
}

static const struct cli_sub passkey_subs[] = {
	{ "origin", passkey_origin, "WS ORIGIN [--rp-id ID] [--as USER]" },
	{ "add", passkey_add,
	  "WS --credential REG.json --challenge B64URL [--name LABEL]\n"
	  "                          [--invite-token T] [--as USER]" },
	{ "revoke", passkey_revoke, "WS USER webauthn:FP --reason TEXT [--as USER]" },
	{ "list", passkey_list, "WS [USER]" },
};

int cli_user_passkey(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "user passkey", .subs = passkey_subs, .nsubs = CLI_LEN(passkey_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
