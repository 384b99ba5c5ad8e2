/* cmd_user.c - probity user: the workspace's users and roles. */
#include "cli.h"

#include <string.h>

static const char usage_text[] =
	"usage: probity user add WS NAME --role ROLE [--as USER]\n"
	"       probity user list WS\n"
	"       probity user set-role WS NAME --role ROLE [--as USER]\n"
	"       probity user disable WS NAME [--as USER]\n"
	"\n"
	"Manages who may do what in the workspace WS. Each user has one role:\n"
	"  analyst   opens cases, adds notes, documents and findings, closes cases\n"
	"  approver  adds notes, closes cases with a decision, approves plans\n"
	"  auditor   reads cases and the log, signs checkpoints, verifies\n"
	"  admin     adds users and changes roles\n"
	"Every change is an entry in the audit log. The first user of a workspace\n"
	"must be an admin and needs no --as; after that only an admin may add or\n"
	"change users. Users are never deleted, only disabled, so the log keeps\n"
	"naming them; the last enabled admin cannot be demoted or disabled.\n"
	"\n"
	"options:\n"
	"  --role ROLE   analyst, approver, auditor or admin\n"
	"  --as USER     the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help    show this help\n"
	"\n"
	"examples:\n"
	"  probity user add review-2025 root --role admin\n"
	"  probity user add review-2025 alice --role analyst --as root\n"
	"  probity user list review-2025\n";

static bool print_user(void *ctx, const struct pb_user *u)
{
	cli_table_add(ctx, (const char *const[]){ u->name, u->role, u->disabled ? "disabled" : "active",
	                                          u->created_at, u->created_by });
	return true;
}

int cmd_user(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "as", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return argc < 2 ? cli_usage("user", "expected a subcommand: add, list, set-role, disable")
		                : cli_help(usage_text);
	const char *sub = argv[1];
	const char *role = NULL, *as = NULL;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			role = optarg;
			break;
		case 'a':
			as = optarg;
			break;
		case 'h':
			return cli_help(usage_text);
		default:
			return cli_usage("user", "unknown option");
		}
	}
	char **pos = argv + 1 + optind;
	int npos = argc - 1 - optind;
	bool list = !strcmp(sub, "list");
	bool known = list || !strcmp(sub, "add") || !strcmp(sub, "set-role") ||
	             !strcmp(sub, "disable");
	if (!known)
		return cli_usage("user", "unknown subcommand '%s'", sub);
	if (npos != (list ? 1 : 2))
		return cli_usage("user", list ? "expected: user list WS" : "expected: user %s WS NAME",
		                 sub);
	if ((!strcmp(sub, "add") || !strcmp(sub, "set-role")) && !role)
		return cli_usage("user", "%s needs --role ROLE", sub);
	struct pb_ws *ws;
	int rc = cli_open_ws(pos[0], list ? PB_WS_READONLY : 0, &ws);
	if (rc)
		return rc;
	struct pb_error err = { 0 };
	enum pb_status st = PB_OK;
	uint64_t index = 0;
	char actor[PB_USER_NAME_MAX + 1] = "";
	if (list) {
		struct cli_table t;
		cli_table_init(&t, 5,
		               (const char *const[]){ "name", "role", "status", "created", "by" });
		st = pb_user_list(ws, print_user, &t, &err);
		if (!st)
			cli_table_print(&t, stdout);
		cli_table_release(&t);
	} else if (!strcmp(sub, "add")) {
		/* the first user needs no actor; later ones do (the library checks) */
		const char *who = as ? as : pb_ws_setting(ws, "user");
		st = pb_user_add(ws, who, pos[1], role, &index, &err);
		if (!st)
			printf("added user '%s' (%s); log entry %llu\n", pos[1], role,
			       (unsigned long long)index);
	} else {
		if ((st = pb_acting_user(ws, as, actor, &err)) == PB_OK) {
			if (!strcmp(sub, "set-role"))
				st = pb_user_set_role(ws, actor, pos[1], role, &index, &err);
			else
				st = pb_user_disable(ws, actor, pos[1], &index, &err);
		}
		if (!st)
			printf("%s user '%s'%s%s; log entry %llu\n",
			       strcmp(sub, "disable") ? "changed" : "disabled", pos[1],
			       role ? " to " : "", role ? role : "", (unsigned long long)index);
	}
	pb_ws_close(ws);
	return st ? cli_fail(&err) : 0;
}
