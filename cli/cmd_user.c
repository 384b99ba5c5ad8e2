/* cmd_user.c - probity user: the workspace's users and roles. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char help_body[] =
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
	"'invite' prints a one-time link where the user sets a password for the web\n"
	"app (probity web); a new invitation replaces an unused one.\n"
	"In a signed workspace every change is signed by its actor's own OpenSSH key\n"
	"(Ed25519, or an sk- security key): 'add --key' registers the user's key,\n"
	"'key add' another one, 'key revoke' ends one (the key stays the user's:\n"
	"a key is never registered twice), 'key list' shows them (docs/identity.md).\n"
	"'passkey' does the same for the web app's passkeys (its own --help).\n"
	"'export-signers' writes the users' keys, as the log registered and revoked\n"
	"them, as an OpenSSH allowed_signers file: with it and 'probity log\n"
	"statement', 'ssh-keygen -Y verify' checks any entry's signature by hand.\n"
	"\n"
	"options:\n"
	"  --role ROLE   analyst, approver, auditor or admin\n"
	"  --key LINE    the user's public key: 'ssh-ed25519 AAAA... comment'\n"
	"  --key-file F  the same from a file (ssh-keygen's KEY.pub)\n"
	"  --reason TEXT key revoke: why (required)\n"
	"  --as USER     the acting user (default: 'user = NAME' in probity.conf)\n"
	"  --url BASE    invite: the web app's address (default: probity.conf's\n"
	"                web_url, else http://127.0.0.1:8443)\n"
	"  --hours N     invite: how long the link works (default 72)\n"
	"  -o, --output FILE  export-signers: write FILE (default: standard output)\n"
	"  -h, --help    show this help\n"
	"\n"
	"examples:\n"
	"  probity user add review-2025 root --role admin --key-file ~/.ssh/id_ed25519.pub\n"
	"  probity user add review-2025 alice --role analyst --as root --key-file alice.pub\n"
	"  probity user key revoke review-2025 alice SHA256:... --reason 'laptop lost'\n"
	"  probity user list review-2025\n";

static bool print_user(void *ctx, const struct pb_user *u)
{
	cli_table_add(ctx, (const char *const[]){ u->name, u->role, u->disabled ? "disabled" : "active",
	                                          u->created_at, u->created_by });
	return true;
}

static const struct option role_opts[] = {
	{ "role", required_argument, NULL, 'r' },
	{ "as", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};
static const struct option add_opts[] = {
	{ "role", required_argument, NULL, 'r' },
	{ "as", required_argument, NULL, 'a' },
	{ "key", required_argument, NULL, 'k' },
	{ "key-file", required_argument, NULL, 'K' },
	{ NULL, 0, NULL, 0 },
};

char *cli_key_line(const char *line, const char *file)
{
	if (line && file) {
		cli_failf("give the key once: --key or --key-file");
		return NULL;
	}
	if (line)
		return strdup(line);
	size_t n;
	char *d = cli_slurp(file, 16384, &n);
	if (d)
		d[strcspn(d, "\r\n")] = '\0';
	return d;
}

/* The options and operands of add, set-role and disable: WS NAME, --as and,
 * when role is not NULL, --role (required); with key not NULL (add), --key
 * and --key-file. Returns 0 or an exit code (-1 after --help). */
static int change_args(int argc, char **argv, const char **role, const char **as,
                       const char **key, const char **key_file)
{
	int c, rc = 0;
	const struct option *opts = key ? add_opts : role ? role_opts : role_opts + 1;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'r')
			*role = optarg;
		else if (c == 'k')
			*key = optarg;
		else if (c == 'K')
			*key_file = optarg;
		else
			*as = optarg;
	}
	if (c < 0)
		return rc ? rc : -1;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS NAME");
	if (role && !*role)
		return cli_usage(cli_cmd_name(), "needs --role ROLE");
	return 0;
}

static int user_list(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, NULL, &rc)) > 0)
		;
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected WS");
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct cli_table t;
	cli_table_init(&t, 5, (const char *const[]){ "name", "role", "status", "created", "by" });
	enum pb_status st = pb_user_list(ws, print_user, &t, &err);
	if (!st)
		cli_table_print(&t, stdout);
	cli_table_release(&t);
	return cli_close(ws, st, &err);
}

static int user_add(int argc, char **argv)
{
	const char *role = NULL, *as = NULL, *key = NULL, *key_file = NULL;
	int rc = change_args(argc, argv, &role, &as, &key, &key_file);
	if (rc)
		return rc < 0 ? 0 : rc;
	const char *name = argv[optind + 1];
	char *line = NULL;
	if ((key || key_file) && !(line = cli_key_line(key, key_file)))
		return 1;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], 0, &ws))) {
		free(line);
		return rc;
	}
	struct pb_error err = { 0 };
	uint64_t index = 0;
	/* the first user needs no actor; later ones do (the library checks) */
	const char *who = as ? as : pb_ws_setting(ws, "user");
	enum pb_status st = pb_user_add_key(ws, who, name, role, line, &index, &err);
	if (!st)
		printf("added user '%s' (%s)%s; log entry %llu\n", name, role,
		       line ? " with its key" : "", (unsigned long long)index);
	free(line);
	return cli_close(ws, st, &err);
}

/* set-role (role not NULL) and disable. */
static int user_change(int argc, char **argv, bool set_role)
{
	const char *role = NULL, *as = NULL;
	int rc = change_args(argc, argv, set_role ? &role : NULL, &as, NULL, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	const char *name = argv[optind + 1];
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	enum pb_status st = set_role ? pb_user_set_role(ws, actor, name, role, &index, &err)
	                             : pb_user_disable(ws, actor, name, &index, &err);
	if (!st)
		printf("%s user '%s'%s%s; log entry %llu\n", set_role ? "changed" : "disabled", name,
		       role ? " to " : "", role ? role : "", (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static int user_set_role(int argc, char **argv)
{
	return user_change(argc, argv, true);
}

static int user_disable(int argc, char **argv)
{
	return user_change(argc, argv, false);
}

/* invite: a one-time enrolment link for the web app (docs/web.md). */
static int user_invite(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ "url", required_argument, NULL, 'u' },
		{ "hours", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL, *url = NULL;
	unsigned long hours = 72;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'a')
			as = optarg;
		else if (c == 'u')
			url = optarg;
		else if (!cli_parse_uint("user invite", "--hours", optarg, 24 * 90, &hours) || !hours)
			return hours ? 2 : cli_usage(cli_cmd_name(), "--hours must be at least 1");
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS NAME");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1], token[PB_SECRET_HEX];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	if (!url)
		url = pb_ws_setting(ws, "web_url");
	if (!url)
		url = "http://127.0.0.1:8443";
	struct pb_error err = { 0 };
	uint64_t index = 0;
	const char *name = argv[optind + 1];
	enum pb_status st = pb_user_invite(ws, actor, name, (int64_t)hours * 3600, token, &index, &err);
	if (!st) {
		size_t ul = strlen(url);
		printf("invited '%s' (log entry %llu); this link sets a password once, within %lu hours:\n"
		       "%.*s/enrol?token=%s\n",
		       name, (unsigned long long)index, hours,
		       (int)(ul && url[ul - 1] == '/' ? ul - 1 : ul), url, token);
	}
	return cli_close(ws, st, &err);
}

/* ---- keys ---------------------------------------------------------------- */

static bool print_key(void *ctx, const struct pb_user_key *k)
{
	char added[24], revoked[24];
	snprintf(added, sizeof(added), "%llu", (unsigned long long)k->added_idx);
	snprintf(revoked, sizeof(revoked), "%llu", (unsigned long long)k->revoked_idx);
	cli_table_add(ctx, (const char *const[]){ k->user, k->fp, added, k->revoked ? revoked : "-",
	                                          k->comment ? k->comment : "",
	                                          k->revoke_reason ? k->revoke_reason : "" });
	return true;
}

static int key_list(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, NULL, &rc)) > 0)
		;
	if (c < 0)
		return rc;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage(cli_cmd_name(), "expected WS [NAME]");
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct cli_table t;
	cli_table_init(&t, 6,
	               (const char *const[]){ "user", "key", ">added", ">revoked", "comment",
	                                      "reason" });
	enum pb_status st = pb_user_key_list(ws, argc - optind == 2 ? argv[optind + 1] : NULL,
	                                     print_key, &t, &err);
	if (!st)
		cli_table_print(&t, stdout);
	cli_table_release(&t);
	return cli_close(ws, st, &err);
}

static int key_add(int argc, char **argv)
{
	const char *as = NULL, *key = NULL, *key_file = NULL;
	int rc = change_args(argc, argv, NULL, &as, &key, &key_file);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!key && !key_file)
		return cli_usage(cli_cmd_name(), "needs --key LINE or --key-file FILE.pub");
	char *line = cli_key_line(key, key_file);
	if (!line)
		return 1;
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor))) {
		free(line);
		return rc;
	}
	struct pb_error err = { 0 };
	uint64_t index = 0;
	const char *name = argv[optind + 1];
	enum pb_status st = pb_user_key_add(ws, actor, name, line, &index, &err);
	if (!st)
		printf("registered a key for '%s'; log entry %llu (it signs from the next entry on)\n",
		       name, (unsigned long long)index);
	free(line);
	return cli_close(ws, st, &err);
}

static int key_revoke(int argc, char **argv)
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
		return cli_usage(cli_cmd_name(), "expected WS NAME KEY (its SHA256:... fingerprint)");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	const char *name = argv[optind + 1];
	enum pb_status st =
		pb_user_key_revoke(ws, actor, name, argv[optind + 2], reason, &index, &err);
	if (!st)
		printf("revoked key %s of '%s'; log entry %llu\n", argv[optind + 2], name,
		       (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static const struct cli_sub key_subs[] = {
	{ "add", key_add, "WS NAME --key LINE|--key-file FILE.pub [--as USER]" },
	{ "revoke", key_revoke, "WS NAME SHA256:FP --reason TEXT [--as USER]" },
	{ "list", key_list, "WS [NAME]" },
};

static int user_key(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "user key", .subs = key_subs, .nsubs = CLI_LEN(key_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}

/* export-signers: the log's key registry as an OpenSSH allowed_signers file,
 * for `ssh-keygen -Y verify` (docs/identity.md). */
static int user_export_signers(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, "o:", opts, &rc)) > 0)
		path = optarg;
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected WS");
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	char *text = NULL;
	enum pb_status st = pb_log_keys_allowed_signers(ws, &text, &err);
	if (!st && path)
		rc = cli_write_text(path, text);
	else if (!st)
		fputs(text, stdout);
	free(text);
	return rc ? (cli_ws_close(ws), rc) : cli_close(ws, st, &err);
}

static const struct cli_sub user_subs[] = {
	{ "add", user_add, "WS NAME --role ROLE [--key LINE|--key-file FILE.pub] [--as USER]" },
	{ "list", user_list, "WS" },
	{ "set-role", user_set_role, "WS NAME --role ROLE [--as USER]" },
	{ "disable", user_disable, "WS NAME [--as USER]" },
	{ "invite", user_invite, "WS NAME [--as USER] [--url BASE] [--hours N]" },
	{ "key", user_key, "add|revoke|list WS NAME ... (see below)" },
	{ "passkey", cli_user_passkey, "origin|add|revoke|list WS ... (its --help)" },
	{ "export-signers", user_export_signers, "WS [-o FILE]" },
};

int cmd_user(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "user", .subs = user_subs, .nsubs = CLI_LEN(user_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
