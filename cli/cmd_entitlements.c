/* cmd_entitlements.c - probity entitlements: compiled entitlements files, the
 * one copy of a decision table that every process of a gateway maps. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char help_body[] =
	"\n"
	"A compiled entitlements file holds one entitlements version's decision table\n"
	"in a form any number of processes map read-only: the nginx module's workers\n"
	"share one copy of it however many they are (docs/gateways.md). It carries the\n"
	"version's number and SHA-256, and its rules, which must hash to it; a loader\n"
	"with the workspace checks that the log names them in a verified, sealed\n"
	"plan.apply or plan.rollback entry (docs/enforcement.md, \"Compiled entitlements\n"
	"files\", says what the file alone can and cannot prove).\n"
	"\n"
	"subcommands:\n"
	"  compile   compile version N (default: the latest) into FILE, written\n"
	"            atomically (a new file renamed over FILE); a version the log does\n"
	"            not vouch for is refused, as probity serve refuses it\n"
	"  check     open FILE, check it, print its version, rules and SHA-256; with\n"
	"            --ws WS also check that WS's log vouches for that version\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  the file to write (compile; required)\n"
	"      --version N    the version to compile (default: the latest)\n"
	"      --mode OCTAL   the file's mode (default 0644: gateways run as another user)\n"
	"      --ws WS        the workspace whose log must vouch for the file (check)\n"
	"      --vkey KEY     pin the log's public key (default: PROBITY_VKEY)\n"
	"\n"
	"examples:\n"
	"  probity entitlements compile review-2025 -o /var/lib/probity/entitlements.etab\n"
	"  probity entitlements check /var/lib/probity/entitlements.etab --ws review-2025\n";

static int load_catalog(struct pb_catalog **cat)
{
	char catdir[4200];
	struct pb_error err = { 0 };
	snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	return pb_catalog_load(catdir, cat, &err) ? cli_fail(&err) : 0;
}

static int pin(struct pb_ws *ws, const char *vkey)
{
	struct pb_error err = { 0 };
	return vkey && *vkey && pb_ws_pin_vkey(ws, vkey, &err) ? cli_fail(&err) : 0;
}

static int ent_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "version", required_argument, NULL, 'v' },
		{ "mode", required_argument, NULL, 'm' },
		{ "vkey", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *vkey = getenv("PROBITY_VKEY");
	unsigned long version = 0, mode = 0644;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, "o:", opts, &rc)) > 0) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'v':
			if (!cli_parse_uint(cli_cmd_name(), "--version", optarg, INT64_MAX, &version))
				return 2;
			break;
		case 'm': {
			char *end;
			mode = strtoul(optarg, &end, 8);
			if (*end || !*optarg || mode > 0777)
				return cli_usage(cli_cmd_name(), "--mode must be an octal file mode, e.g. 0644");
			break;
		}
		case 'V': vkey = optarg; break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected one workspace");
	if (!out)
		return cli_usage(cli_cmd_name(), "--output FILE is required");
	struct pb_ws *ws = NULL;
	struct pb_catalog *cat = NULL;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)) || (rc = pin(ws, vkey)) ||
	    (rc = load_catalog(&cat))) {
		pb_ws_close(ws);
		return rc;
	}
	struct pb_error err = { 0 };
	struct pb_entitlements *e = NULL;
	struct pb_decider *d = NULL;
	enum pb_status st = pb_entitlements_load(ws, (int64_t)version, &e, &err);
	if (!st)
		st = pb_decider_new(e, cat, &d, &err);
	if (!st)
		st = pb_etab_write(d, out, (unsigned)mode, &err);
	if (!st)
		printf("compiled entitlements version %lld (%zu rules, sha256 %s) into %s\n",
		       (long long)pb_entitlements_version(e), pb_entitlements_count(e),
		       pb_entitlements_sha256(e), out);
	pb_decider_free(d);
	pb_entitlements_free(e);
	pb_catalog_free(cat);
	return cli_close(ws, st, &err);
}

static int ent_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ws", required_argument, NULL, 'w' },
		{ "vkey", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *wsp = NULL, *vkey = getenv("PROBITY_VKEY");
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'w')
			wsp = optarg;
		else if (c == 'V')
			vkey = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected one file");
	struct pb_catalog *cat = NULL;
	if ((rc = load_catalog(&cat)))
		return rc;
	struct pb_error err = { 0 };
	struct pb_etab *t = NULL;
	struct pb_ws *ws = NULL;
	enum pb_status st = pb_etab_open(argv[optind], cat, &t, &err);
	if (!st && wsp && ((rc = cli_open_ws(wsp, PB_WS_READONLY, &ws)) || (rc = pin(ws, vkey)))) {
		pb_etab_free(t);
		pb_catalog_free(cat);
		pb_ws_close(ws);
		return rc;
	}
	if (!st && ws)
		st = pb_etab_verify(t, ws, &err);
	if (!st) {
		printf("%s: entitlements version %lld, %zu rules, sha256 %s%s\n", argv[optind],
		       (long long)pb_etab_version(t), pb_etab_count(t), pb_etab_sha256(t),
		       ws ? ", named by a verified, sealed log entry" : "");
	}
	pb_etab_free(t);
	pb_catalog_free(cat);
	return cli_close(ws, st, &err);
}

static const struct cli_sub ent_subs[] = {
	{ "check", ent_check, "FILE [--ws WS] [--vkey KEY]" },
	{ "compile", ent_compile, "WS -o FILE [--version N] [--mode OCTAL] [--vkey KEY]" },
};

int cmd_entitlements(int argc, char **argv)
{
	static const struct cli_cmd cmd = { .name = "entitlements", .subs = ent_subs,
		                            .nsubs = CLI_LEN(ent_subs), .body = help_body };
	return cli_dispatch(&cmd, argc, argv);
}
