/* common.c - helpers shared by the command handlers: errors, usage, tables,
 * workspace opening, progress display. */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

/* The command-line word for an argument the library names in err->field:
 * "--" and the name with '-' for '_', except where the flag is another word. */
void cli_field_flag(const char *field, char *out, size_t cap)
{
	static const struct {
		const char *field, *flag;
	} words[] = {
		{ "actor", "--as USER" },
		{ "sha256", "--hash" }, /* pb_plan_approve/refuse: the hash reviewed */
		{ "accounts", "--account" }, /* pb_customer_add: --account and --subaccount */
	};
	for (size_t i = 0; i < CLI_LEN(words); i++)
		if (strcmp(field, words[i].field) == 0) {
			snprintf(out, cap, "%s", words[i].flag);
			return;
		}
	size_t n = snprintf(out, cap, "--%s", field);
	for (size_t i = 2; i < n && i < cap; i++)
		if (out[i] == '_')
			out[i] = '-';
}

static int print_statement(void);
static struct pb_ws *writing_ws; /* the workspace open for writing, if any */

int cli_fail(const struct pb_error *err)
{
	if (err->code == PB_ESTATEMENT)
		return print_statement();
	char buf[1024];
	pb_error_format(err, buf, sizeof(buf));
	if (err->field[0]) {
		char flag[64];
		cli_field_flag(err->field, flag, sizeof(flag));
		fprintf(stderr, "probity: %s (%s)\n", buf, flag);
	} else {
		fprintf(stderr, "probity: %s\n", buf);
	}
	return 1;
}

int cli_failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("probity: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "probity %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nsee 'probity %s --help'\n", cmd);
	va_end(ap);
	return 2;
}

/* The lines the help of every command that takes a workspace (WS) ends
 * with: changes to a signed workspace are signed (cli_getopt takes these
 * options everywhere). A command on files alone (detect, tree, export
 * verify) does not print them. */
static const char sign_help[] =
	"\nsigning, in a signed workspace (docs/identity.md): -i/--identity KEYFILE, else\n"
	"the ssh-agent at $SSH_AUTH_SOCK; --statement prints what to sign and writes\n"
	"nothing; --signature FILE.sig [--statement-file FILE] writes with it.\n"
	"--webauthn ASSERTION.json --statement-file FILE: a passkey's assertion instead.\n"
	"--at TIME: the time --statement printed (a change made at a time it signs).\n";

int cli_help(const char *text)
{
	fputs(text, stdout);
	if (strstr(text, " WS"))
		fputs(sign_help, stdout);
	return 0;
}

/* The workspace, its keys where PROBITY_KEY_DIR says when it is set, and
 * the log's public key pinned when PROBITY_VKEY gives it. */
static enum pb_status open_ws(const char *path, unsigned flags, struct pb_ws **ws,
                              struct pb_error *err)
{
	enum pb_status st = pb_ws_open_keys(path, flags, getenv("PROBITY_KEY_DIR"), ws, err);
	const char *vkey = getenv("PROBITY_VKEY");
	if (!st && vkey && *vkey && (st = pb_ws_pin_vkey(*ws, vkey, err))) {
		cli_ws_close(*ws);
		*ws = NULL;
		if (err)
			err->field[0] = '\0'; /* an environment variable, not a flag */
	}
	/* said once per command, however many times it opens the workspace */
	static bool told;
	if (!st && !told && !pb_ws_actors_signed(*ws)) {
		told = true;
		fprintf(stderr,
		        "probity: workspace '%s' is unsigned: its actors are claimed names, "
		        "not authenticated\n",
		        path);
	}
	return st;
}

/* ---- signing (docs/identity.md) ----------------------------------------- */

/* The signing options cli_getopt takes on every subcommand. */
static struct {
	const char *identity;       /* -i/--identity FILE */
	bool statement;             /* --statement */
	const char *signature;      /* --signature FILE */
	const char *statement_file; /* --statement-file FILE */
	const char *webauthn;       /* --webauthn FILE: a passkey's assertion (JSON) */
	const char *at;             /* --at TIME: the clock of the statement step */
} sign_args;
static int64_t statement_at; /* --statement: the clock of the statement step */

/* The assertion JSON navigator.credentials.get() gives (and softauthn
 * prints): {"id","response":{"authenticatorData","clientDataJSON",
 * "signature"}}, into o (views into *j, which the caller releases). */
static int webauthn_read(const char *path, struct pb_sign_opts *o, json_t **j)
{
	size_t n;
	char *text = cli_slurp(path, 65536, &n);
	if (!text)
		return 1;
	json_error_t je;
	*j = json_loadb(text, n, 0, &je);
	free(text);
	json_t *r = json_object_get(*j, "response");
	o->webauthn_credential_id = json_string_value(json_object_get(*j, "id"));
	o->webauthn_authenticator_data =
		json_string_value(json_object_get(r, "authenticatorData"));
	o->webauthn_client_data_json = json_string_value(json_object_get(r, "clientDataJSON"));
	o->webauthn_signature = json_string_value(json_object_get(r, "signature"));
	if (!o->webauthn_credential_id || !o->webauthn_authenticator_data ||
	    !o->webauthn_client_data_json || !o->webauthn_signature)
		return cli_failf("'%s' is not a passkey's assertion: it needs \"id\" and "
		                 "\"response\" with \"authenticatorData\", \"clientDataJSON\" and "
		                 "\"signature\" (--webauthn)",
		                 path);
	return 0;
}

/* Hands the signing options (and $SSH_AUTH_SOCK without -i) to a workspace
 * opened for writing. Returns 0 or an exit code, having said why. */
static int set_signing(struct pb_ws *ws)
{
	struct pb_sign_opts o = {
		.identity_file = sign_args.identity,
		.agent_socket = sign_args.identity ? NULL : getenv("SSH_AUTH_SOCK"),
		.statement_only = sign_args.statement,
	};
	if ((sign_args.statement || sign_args.signature || sign_args.webauthn) &&
	    !pb_ws_actors_signed(ws))
		return cli_failf("workspace '%s' is unsigned: its changes have no statement to sign "
		                 "(--%s)",
		                 pb_ws_path(ws),
		                 sign_args.statement ? "statement"
		                 : sign_args.signature ? "signature"
		                                       : "webauthn");
	char *sig = NULL, *stmt = NULL, *spath = NULL;
	size_t sig_len = 0, stmt_len = 0;
	json_t *wa = NULL;
	if (sign_args.webauthn) {
		int rc = webauthn_read(sign_args.webauthn, &o, &wa);
		if (rc || !(stmt = cli_slurp(sign_args.statement_file, 1 << 20, &stmt_len))) {
			json_decref(wa);
			return rc ? rc : 1;
		}
		o.statement = stmt;
		o.statement_len = stmt_len;
	} else if (sign_args.signature) {
		size_t n = strlen(sign_args.signature);
		if (sign_args.statement_file)
			spath = strdup(sign_args.statement_file);
		else if (n > 4 && !strcmp(sign_args.signature + n - 4, ".sig"))
			spath = strndup(sign_args.signature, n - 4);
		else
			return cli_usage(cli_cmd_name(), "--signature FILE: the statement is read from "
			                                 "FILE without its .sig, or --statement-file");
		if (!spath || !(sig = cli_slurp(sign_args.signature, 16384, &sig_len)) ||
		    !(stmt = cli_slurp(spath, 1 << 20, &stmt_len))) {
			free(spath);
			free(sig);
			return 1;
		}
		o.signature = sig;
		o.signature_len = sig_len;
		o.statement = stmt;
		o.statement_len = stmt_len;
	}
	struct pb_error err = { 0 };
	enum pb_status st = pb_ws_set_signing(ws, &o, &err);
	/* both steps of a detached signature write at one time: the statement
	 * step's (printed with it), given back with --at */
	int64_t at = 0;
	unsigned at_flags = 0;
	bool at_bad = !st && sign_args.at &&
	              !pb_time_parse(sign_args.at, strlen(sign_args.at), &at, &at_flags);
	if (!st && sign_args.statement)
		st = pb_ws_set_clock(ws, statement_at = pb_now(), &err);
	else if (!st && sign_args.at && !at_bad)
		st = pb_ws_set_clock(ws, at, &err);
	free(spath);
	free(sig);
	free(stmt);
	json_decref(wa);
	if (at_bad)
		return cli_failf("'%s' is not a time: give the one --statement printed (--at)",
		                 sign_args.at);
	return st ? cli_fail(&err) : 0;
}

int cli_open_ws(const char *path, unsigned flags, struct pb_ws **ws)
{
	struct pb_error err = { 0 };
	if (open_ws(path, flags, ws, &err) != PB_OK)
		return cli_fail(&err);
	int rc = flags & PB_WS_READONLY ? 0 : set_signing(*ws);
	if (rc) {
		cli_ws_close(*ws);
		*ws = NULL;
	} else if (!(flags & PB_WS_READONLY)) {
		writing_ws = *ws;
	}
	return rc;
}

/* --statement: the change stopped before writing, to hand out what its
 * actor signs; cli_ws_close keeps it from the workspace it came from. */
static char *statement;
static const char *statement_ns;

static void keep_statement(struct pb_ws *ws)
{
	const char *ns = NULL;
	const char *t = ws ? pb_ws_statement(ws, &ns) : NULL;
	if (t && !statement && (statement = strdup(t)))
		statement_ns = ns; /* a constant of the library */
}

void cli_ws_close(struct pb_ws *ws)
{
	keep_statement(ws);
	if (ws && ws == writing_ws)
		writing_ws = NULL;
	pb_ws_close(ws);
}

/* Prints it (no newline: ssh-keygen signs the file's bytes) and how to sign
 * it; the command exits 0 having written nothing. */
static int print_statement(void)
{
	keep_statement(writing_ws); /* cli_fail before the workspace is closed */
	if (!statement)
		return cli_failf("this change stopped to hand out its statement, which was lost");
	fputs(statement, stdout);
	fflush(stdout);
	char at[24] = "";
	if (statement_at)
		pb_time_format(statement_at, at);
	fprintf(stderr,
	        "probity: nothing was written; sign the statement (saved as FILE) with\n"
	        "  ssh-keygen -Y sign -f KEY -n %s FILE\n"
	        "then run this command again with --signature FILE.sig --at %s instead of "
	        "--statement (within %d minutes)\n",
	        statement_ns ? statement_ns : "probity@v1", at, PB_CLOCK_MAX_AGE / 60);
	return 0;
}

int cli_close(struct pb_ws *ws, enum pb_status st, const struct pb_error *err)
{
	cli_ws_close(ws);
	return st ? cli_fail(err) : 0;
}

int cli_open_ws_as(const char *path, const char *as, struct pb_ws **ws,
                   char actor[PB_USER_NAME_MAX + 1])
{
	struct pb_error err = { 0 };
	int rc;
	if ((rc = cli_open_ws(path, 0, ws)))
		return rc;
	if (pb_acting_user(*ws, as, actor, &err) != PB_OK) {
		cli_ws_close(*ws);
		*ws = NULL;
		return cli_fail(&err);
	}
	return 0;
}

int cli_basic_opts(int argc, char **argv, const char *cmd, const char *usage_text, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;
	*json = false;
	cli_command(cmd, usage_text);
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		*json = true;
	return c < 0 ? (rc ? rc : -1) : 0;
}

void cli_getopt_reset(void)
{
	optind = 0; /* GNU: full reinitialisation */
	opterr = 1;
}

/* ---- subcommands -------------------------------------------------------- */

/* The subcommand cli_dispatch is running, for cli_getopt's messages and help. */
static const struct cli_cmd *run_cmd;
static const struct cli_sub *run_sub;
static const char *run_help; /* a command without subcommands: its --help */
static char run_name[64];

void cli_command(const char *name, const char *help)
{
	run_cmd = NULL;
	run_sub = NULL;
	run_help = help;
	snprintf(run_name, sizeof(run_name), "%s", name);
	cli_getopt_reset();
}

const char *cli_cmd_name(void)
{
	return run_name;
}

static void sub_usage_line(FILE *f, const char *lead, const struct cli_cmd *cmd,
                           const struct cli_sub *sub)
{
	fprintf(f, "%sprobity %s %s%s%s\n", lead, cmd->name, sub->name, sub->usage[0] ? " " : "",
	        sub->usage);
}

static int cmd_help(const struct cli_cmd *cmd)
{
	if (cmd->usage)
		fputs(cmd->usage, stdout);
	else
		for (size_t i = 0; i < cmd->nsubs; i++)
			sub_usage_line(stdout, i ? "       " : "usage: ", cmd, &cmd->subs[i]);
	fputs(cmd->body, stdout);
	return cli_help(cmd->more ? cmd->more : "");
}

static int sub_help(const struct cli_cmd *cmd, const struct cli_sub *sub)
{
	sub_usage_line(stdout, "usage: ", cmd, sub);
	fputs(cmd->body, stdout);
	return cli_help(cmd->more ? cmd->more : "");
}

/* "a, b, c": the names of cmd's subcommands. */
static const char *sub_names(const struct cli_cmd *cmd, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cmd->nsubs && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", cmd->subs[i].name);
	return buf;
}

static const struct cli_sub *find_sub(const struct cli_cmd *cmd, const char *name)
{
	for (size_t i = 0; i < cmd->nsubs; i++)
		if (!strcmp(cmd->subs[i].name, name))
			return &cmd->subs[i];
	return NULL;
}

int cli_dispatch(const struct cli_cmd *cmd, int argc, char **argv)
{
	char names[512];
	snprintf(run_name, sizeof(run_name), "%s", cmd->name);
	if (argc < 2)
		return cli_usage(cmd->name, "expected a subcommand: %s",
		                 sub_names(cmd, names, sizeof(names)));
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		const struct cli_sub *sub = argc > 2 && !strcmp(name, "help") ? find_sub(cmd, argv[2])
		                                                              : NULL;
		return sub ? sub_help(cmd, sub) : cmd_help(cmd);
	}
	const struct cli_sub *sub = find_sub(cmd, name);
	if (!sub)
		return cli_usage(cmd->name, "unknown subcommand '%s' (valid: %s)", name,
		                 sub_names(cmd, names, sizeof(names)));
	run_cmd = cmd;
	run_sub = sub;
	snprintf(run_name, sizeof(run_name), "%s %s", cmd->name, sub->name);
	cli_getopt_reset();
	return sub->run(argc - 1, argv + 1);
}

enum { OPT_IDENTITY = 0x2000, OPT_STATEMENT, OPT_SIGNATURE, OPT_STATEMENT_FILE, OPT_WEBAUTHN,
       OPT_AT };

int cli_getopt(int argc, char **argv, const char *shorts, const struct option *opts, int *rc)
{
	char optstring[64];
	/* ':' first: a missing argument is ':', not '?', and getopt prints nothing */
	snprintf(optstring, sizeof(optstring), ":hi:%s", shorts ? shorts : "");
	struct option all[48];
	size_t n = 0;
	for (; opts && opts[n].name; n++) {
		assert(n + 7 < CLI_LEN(all) && opts[n].val != 'h' && opts[n].val);
		all[n] = opts[n];
	}
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	/* every subcommand: how a signed workspace's changes are signed */
	all[n++] = (struct option){ "identity", required_argument, NULL, OPT_IDENTITY };
	all[n++] = (struct option){ "statement", no_argument, NULL, OPT_STATEMENT };
	all[n++] = (struct option){ "signature", required_argument, NULL, OPT_SIGNATURE };
	all[n++] = (struct option){ "statement-file", required_argument, NULL, OPT_STATEMENT_FILE };
	all[n++] = (struct option){ "webauthn", required_argument, NULL, OPT_WEBAUTHN };
	all[n++] = (struct option){ "at", required_argument, NULL, OPT_AT };
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	int c, li;
	for (;;) {
		li = -1;
		c = getopt_long(argc, argv, optstring, all, &li);
		if (c == 'i' && li < 0)
			c = OPT_IDENTITY; /* -i, not a long option whose val is 'i' */
		if (c == OPT_IDENTITY)
			sign_args.identity = optarg;
		else if (c == OPT_STATEMENT)
			sign_args.statement = true;
		else if (c == OPT_SIGNATURE)
			sign_args.signature = optarg;
		else if (c == OPT_STATEMENT_FILE)
			sign_args.statement_file = optarg;
		else if (c == OPT_WEBAUTHN)
			sign_args.webauthn = optarg;
		else if (c == OPT_AT)
			sign_args.at = optarg;
		else
			break;
	}
	if (c == -1) {
		if (sign_args.statement && (sign_args.signature || sign_args.webauthn))
			*rc = cli_usage(run_name, "--statement and --%s do not go together",
			                sign_args.signature ? "signature" : "webauthn");
		else if (sign_args.signature && sign_args.webauthn)
			*rc = cli_usage(run_name, "--signature and --webauthn do not go together");
		else if (sign_args.statement_file && !sign_args.signature && !sign_args.webauthn)
			*rc = cli_usage(run_name, "--statement-file goes with --signature or --webauthn");
		else if (sign_args.at && !sign_args.signature && !sign_args.webauthn)
			*rc = cli_usage(run_name, "--at goes with --signature or --webauthn");
		else if (sign_args.webauthn && !sign_args.statement_file)
			*rc = cli_usage(run_name, "--webauthn FILE needs --statement-file: the statement "
			                          "the passkey signed");
		else
			return 0;
		return -1;
	}
	if (c == 'h') {
		*rc = run_sub ? sub_help(run_cmd, run_sub) : cli_help(run_help ? run_help : "");
		return -1;
	}
	if (c == '?' || c == ':') {
		/* the option as written: a long one (up to any '='), else its letter */
		const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		char opt[64];
		if (!strncmp(arg, "--", 2) || !optopt)
			snprintf(opt, sizeof(opt), "%.*s", (int)strcspn(arg, "="), arg);
		else
			snprintf(opt, sizeof(opt), "-%c", optopt);
		*rc = c == ':' ? cli_usage(run_name, "option '%s' requires an argument", opt)
		               : cli_usage(run_name, "unrecognized option '%s'", opt);
		return -1;
	}
	return c;
}

int cli_parse_uint(const char *cmd, const char *opt, const char *s, unsigned long max,
                   unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		cli_usage(cmd, "%s expects a whole number from 0 to %lu, not '%s'", opt, max, s);
		return 0;
	}
	*out = v;
	return 1;
}

static char data_dir[PATH_MAX];

const char *cli_data_dir(void)
{
	if (data_dir[0])
		return data_dir;
	const char *env = getenv("PROBITY_DATA");
	if (env && *env) {
		snprintf(data_dir, sizeof(data_dir), "%s", env);
		return data_dir;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		const char *rel[] = { "/../share/probity/data", "/../../data", "/../data" };
		for (size_t i = 0; i < CLI_LEN(rel); i++) {
			char cand[PATH_MAX + 64];
			struct stat sb;
			snprintf(cand, sizeof(cand), "%s%s/catalog", exe, rel[i]);
			if (stat(cand, &sb) == 0 && S_ISDIR(sb.st_mode)) {
				snprintf(cand, sizeof(cand), "%s%s", exe, rel[i]);
				if (!realpath(cand, data_dir))
					snprintf(data_dir, sizeof(data_dir), "%s", cand);
				return data_dir;
			}
		}
	}
	snprintf(data_dir, sizeof(data_dir), "/usr/local/share/probity/data");
	return data_dir;
}

/* ---- tables ----------------------------------------------------------- */

void cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cap = 16;
	t->cells = calloc(t->cap * ncols, sizeof(char *));
	for (size_t i = 0; i < ncols && t->cells; i++)
		t->cells[i] = strdup(headers[i]);
}

void cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (!t->cells)
		return;
	if (t->nrows + 2 > t->cap) {
		size_t cap = t->cap * 2;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(char *));
		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	t->nrows++;
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "");
}

/* Display width of UTF-8 text: one column per code point (good enough for the
 * Latin and symbol text that tables hold). */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
	if (!t->cells)
		return;
	size_t *w = calloc(t->ncols, sizeof(size_t));
	if (!w)
		return;
	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (r == 0 && s[0] == '>')
				s++;
			size_t cw = width(s);
			if (cw > w[c])
				w[c] = cw;
		}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *h = t->cells[c];
			bool right = h[0] == '>';
			const char *s = t->cells[r * t->ncols + c];
			if (r == 0 && right)
				s++;
			size_t pad = w[c] - width(s);
			bool last = c + 1 == t->ncols;
			if (right)
				fprintf(f, "%*s%s", (int)pad, "", s);
			else
				fprintf(f, "%s%*s", s, last ? 0 : (int)pad, "");
			if (!last)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
	free(w);
}

void cli_table_release(struct cli_table *t)
{
	if (!t->cells)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
}

int cli_list_print(const struct cli_list *l, const char *path, bool json)
{
	struct pb_ws *ws;
	int rc = cli_open_ws(path, PB_WS_READONLY, &ws);
	if (rc)
		return rc;
	void *rows;
	size_t n;
	struct pb_error err = { 0 };
	enum pb_status st = l->fetch(ws, &rows, &n, &err);
	pb_ws_close(ws);
	if (st)
		return cli_fail(&err);
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, l->json((const char *)rows + i * l->size));
		rc = cli_json_print(a);
	} else if (n == 0) {
		printf(l->empty, path);
		putchar('\n');
	} else {
		struct cli_table t;
		const char *cells[32];
		char buf[CLI_LIST_BUFS][32];
		assert(l->ncols <= CLI_LEN(cells));
		cli_table_init(&t, l->ncols, l->headers);
		for (size_t i = 0; i < n; i++) {
			l->cells((const char *)rows + i * l->size, cells, buf);
			cli_table_add(&t, cells);
		}
		cli_table_print(&t, stdout);
		cli_table_release(&t);
	}
	free(rows);
	return rc;
}

/* ---- progress --------------------------------------------------------- */

struct cli_progress {
	char label[64];
	double last_draw;
	bool drawn;
};

const char *cli_bytes(uint64_t n, char *buf, size_t cap)
{
	const char *units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1000 && u + 1 < CLI_LEN(units)) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

struct cli_progress *cli_progress_new(const char *label)
{
	if (!isatty(STDERR_FILENO))
		return NULL;
	struct cli_progress *p = calloc(1, sizeof(*p));
	if (p)
		snprintf(p->label, sizeof(p->label), "%s", label);
	return p;
}

bool cli_progress_cb(void *ctx, const struct pb_progress *pr)
{
	struct cli_progress *p = ctx;
	if (!p)
		return true;
	if (p->drawn && pr->elapsed - p->last_draw < 0.1)
		return true;
	p->last_draw = pr->elapsed;
	p->drawn = true;
	char done[32], rate[32];
	double bps = pr->elapsed > 0 ? (double)pr->bytes_done / pr->elapsed : 0;
	double rps = pr->elapsed > 0 ? (double)pr->items_done / pr->elapsed : 0;
	cli_bytes(pr->bytes_done, done, sizeof(done));
	cli_bytes((uint64_t)bps, rate, sizeof(rate));
	if (pr->bytes_total) {
		double frac = (double)pr->bytes_done / (double)pr->bytes_total;
		if (frac > 1)
			frac = 1;
		int bar = 24, fill = (int)(frac * bar);
		char b[32];
		for (int i = 0; i < bar; i++)
			b[i] = i < fill ? '#' : '.';
		b[bar] = '\0';
		double left = bps > 0 ? (double)(pr->bytes_total - pr->bytes_done) / bps : 0;
		if (left < 0)
			left = 0;
		fprintf(stderr, "\r%s [%s] %3.0f%% %s  %.0f rows/s  %s/s  %.0fs left   ", p->label, b,
		        frac * 100, done, rps, rate, left);
	} else {
		fprintf(stderr, "\r%s %s  %.0f rows/s  %s/s   ", p->label, done, rps, rate);
	}
	fflush(stderr);
	return true;
}

void cli_progress_done(struct cli_progress *p)
{
	if (!p)
		return;
	if (p->drawn)
		fputs("\r\033[K", stderr);
	free(p);
}

/* ---- --json output ---------------------------------------------------- */

int cli_json_print(json_t *v)
{
	if (!v)
		return cli_failf("out of memory");
	int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY);
	json_decref(v);
	if (rc)
		return cli_failf("cannot write the JSON output");
	fputc('\n', stdout);
	return 0;
}

json_t *cli_json_text(const char *s)
{
	if (!s)
		s = "";
	json_t *j = json_string(s);
	if (j)
		return j;
	size_t n = strlen(s), o = 0;
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
		json_t *one = len && i + len <= n ? json_stringn(s + i, len) : NULL;
		if (one) {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
			json_decref(one);
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

/* A file the user asked for (a notice, a report): 0600 whatever the umask,
 * as every file probity writes (they name the customer and what is cut). */
FILE *cli_open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	struct stat sb;
	FILE *f = NULL;
	if (fstat(fd, &sb) == 0 && (!S_ISREG(sb.st_mode) || fchmod(fd, 0600) == 0))
		f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int cli_write_text(const char *path, const char *text)
{
	FILE *f = cli_open_private(path);
	bool ok = f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	return ok ? 0 : cli_failf("cannot write '%s': %s", path, strerror(errno));
}
