/* cmd_init.c - probity init: create a workspace. */
#include "cli.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: probity init [--keep-names] [--name LABEL] [--user NAME | --no-user]\n"
	"                    [--origin NAME] [--key-dir DIR]\n"
	"                    [--key LINE | --key-file FILE.pub | --unsigned] WS\n"
	"\n"
	"Creates the workspace folder WS: probity.db (SQLite, WAL mode), probity.conf\n"
	"(settings), pseudonym.key (a 32-byte secret, mode 0600) that turns\n"
	"customer-chosen names into keyed pseudonyms, and signing.key (0600) that\n"
	"signs the log's checkpoints. WS must not exist or be empty; an existing\n"
	"workspace is never overwritten.\n"
	"\n"
	"options:\n"
	"  --keep-names   store account and sub-account names in clear instead of\n"
	"                 pseudonyms (the choice is recorded in the workspace)\n"
	"  --name LABEL   a label for the workspace (default: the folder name)\n"
	"  --user NAME    the workspace's first user, an admin, who acts by default\n"
	"                 (probity.conf: user = NAME); default: your login name\n"
	"  --no-user      create no user: the first 'probity user add' must add an admin,\n"
	"                 and every change then needs --as\n"
	"  --key-dir DIR  make the two keys in DIR (created 0700 if missing), not in\n"
	"                 WS, and record it (probity.conf: key_dir = DIR), so a copy\n"
	"                 of WS holds no key; PROBITY_KEY_DIR, when set, is the\n"
	"                 default here and overrides the setting in every command\n"
	"                 (docs/keys.md)\n"
	"  --key LINE     the first user's OpenSSH public key ('ssh-ed25519 AAAA...'):\n"
	"                 every change of a signed workspace (the default) is signed by\n"
	"                 its actor's own key, the first one too: sign it with -i\n"
	"                 KEYFILE or an ssh-agent holding the key (docs/identity.md)\n"
	"  --key-file F   the same from a file (ssh-keygen's KEY.pub)\n"
	"  --unsigned     actors are claimed names, not signed by their own keys: for\n"
	"                 demos and tests only; the choice is fixed at the log's first\n"
	"                 entry and every command on WS says so (docs/identity.md)\n"
	"  -h, --help     show this help\n"
	"\n"
	"example:\n"
	"  probity init review-2025 --key-file ~/.ssh/id_ed25519.pub\n"
	"  probity init review-2025 --key-dir /media/keys/review-2025\n";

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-names", no_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "no-user", no_argument, NULL, 'U' },
		{ "origin", required_argument, NULL, 'o' },
		{ "key-dir", required_argument, NULL, 'K' },
		{ "unsigned", no_argument, NULL, 'S' },
		{ "key", required_argument, NULL, 'y' },
		{ "key-file", required_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *key_file = NULL;
	struct pb_ws_init_options o = { .key_dir = getenv("PROBITY_KEY_DIR") };
	const char *user = NULL;
	bool no_user = false;
	int c, rc = 0;
	cli_command("init", usage_text);
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'k':
			o.keep_names = true;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'U':
			no_user = true;
			break;
		case 'o':
			o.log_origin = optarg;
			break;
		case 'K':
			o.key_dir = optarg;
			break;
		case 'S':
			o.unsigned_actors = true;
			break;
		case 'y':
			key = optarg;
			break;
		case 'Y':
			key_file = optarg;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage("init", "expected one workspace folder");
	const char *dir = argv[optind];
	if (!o.name) {
		const char *slash = strrchr(dir, '/');
		o.name = slash && slash[1] ? slash + 1 : dir;
	}
	if (!user && !no_user) {
		const char *login = getenv("USER");
		struct passwd *pw = getpwuid(getuid());
		user = login && *login ? login : pw && pw->pw_name ? pw->pw_name : "admin";
	}
	o.user = no_user ? NULL : user;
	if (o.user && !o.unsigned_actors && !key && !key_file)
		return cli_usage("init", "a signed workspace's first user needs its public key: "
		                         "--key LINE or --key-file FILE.pub (or --unsigned, or --no-user)");
	char *line = NULL;
	if (o.user && (key || key_file) && !(line = cli_key_line(key, key_file)))
		return 1;
	struct pb_error err = { 0 };
	if (pb_ws_init(dir, &o, &err) != PB_OK) {
		free(line);
		return cli_fail(&err);
	}
	if (o.user) {
		struct pb_ws *ws;
		rc = cli_open_ws(dir, 0, &ws);
		if (rc) {
			free(line);
			return rc;
		}
		enum pb_status st = pb_user_add_key(ws, NULL, o.user, "admin", line, NULL, &err);
		free(line);
		if (st == PB_ESTATEMENT) {
			/* the detached flow: the folder is made, its first user is not */
			rc = cli_close(ws, st, &err);
			fprintf(stderr,
			        "probity: workspace '%s' was created without its first user: add it with "
			        "'probity user add %s %s --role admin --key-file KEY.pub --signature "
			        "FILE.sig'\n",
			        dir, dir, o.user);
			return rc;
		}
		if (st != PB_OK) {
			cli_ws_close(ws);
			cli_fail(&err);
			fprintf(stderr, "probity: the workspace was created without a user; add one with "
			                "'probity user add %s NAME --role admin'\n",
			        dir);
			return 1;
		}
		cli_ws_close(ws);
	}
	printf("created workspace '%s' (schema %d, names %s)\n", dir,
	       pb_schema_version_current(), o.keep_names ? "kept in clear" : "pseudonymised");
	if (o.key_dir && *o.key_dir)
		printf("keys in '%s', apart from the workspace\n", o.key_dir);
	if (o.user)
		printf("user '%s' (admin) added; it acts when a command has no --as\n", o.user);
	return 0;
}
