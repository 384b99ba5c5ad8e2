/* cmd_init.c - probity init: create a workspace. */
#include "cli.h"

#include <string.h>

static const char usage_text[] =
	"usage: probity init [--keep-names] [--name LABEL] WS\n"
	"\n"
	"Creates the workspace folder WS: probity.db (SQLite, WAL mode), probity.conf\n"
	"(settings) and pseudonym.key (a 32-byte secret, mode 0600) that turns\n"
	"customer-chosen names into keyed pseudonyms. WS must not exist or be empty;\n"
	"an existing workspace is never overwritten.\n"
	"\n"
	"options:\n"
	"  --keep-names   store account and sub-account names in clear instead of\n"
	"                 pseudonyms (the choice is recorded in the workspace)\n"
	"  --name LABEL   a label for the workspace (default: the folder name)\n"
	"  -h, --help     show this help\n"
	"\n"
	"example:\n"
	"  probity init review-2025\n";

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-names", no_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_ws_init_options o = { 0 };
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.keep_names = true;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'h':
			return cli_help(usage_text);
		default:
			return cli_usage("init", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("init", "expected one workspace folder");
	const char *dir = argv[optind];
	if (!o.name) {
		const char *slash = strrchr(dir, '/');
		o.name = slash && slash[1] ? slash + 1 : dir;
	}
	struct pb_error err = { 0 };
	if (pb_ws_init(dir, &o, &err) != PB_OK)
		return cli_fail(&err);
	printf("created workspace '%s' (schema %d, names %s)\n", dir,
	       pb_schema_version_current(), o.keep_names ? "kept in clear" : "pseudonymised");
	return 0;
}
