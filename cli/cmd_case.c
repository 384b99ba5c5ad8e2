/* cmd_case.c - probity case: review cases, their evidence and decision. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char help_body[] =
	"\n"
	"A case is one review of one customer: what prompted it (the trigger, e.g.\n"
	"a press report and its date), the evidence gathered (findings, searches,\n"
	"notes, documents, plans) and the decision that closes it. Every change\n"
	"is an entry of the workspace's tamper-evident audit log, written in the\n"
	"same transaction as the change ('probity log' checks and exports it).\n"
	"\n"
	"  open         opens a case on an existing customer (analyst); prints its id\n"
	"  list         the cases, one a line\n"
	"  show         the case, its evidence and its timeline (the log entries)\n"
	"  note         adds a note (analyst, approver); --file - reads standard input\n"
	"  attach       keeps a copy of FILE in the workspace (documents/<sha256>)\n"
	"               and records it by its hash (analyst)\n"
	"  add-finding  adds a finding of the policy module by its id (analyst)\n"
	"  close        closes the case with a decision (analyst, approver); a\n"
	"               closed case takes no more changes\n"
	"\n"
	"options:\n"
	"  --customer C         the customer's name (see 'probity customer list')\n"
	"  --title T            a short title\n"
	"  --trigger TEXT       what prompted the review\n"
	"  --trigger-url URL    where the trigger was published\n"
	"  --trigger-date DATE  when (YYYY-MM-DD)\n"
	"  --status S           list only open or closed cases\n"
	"  --file FILE          read the note from FILE ('-': standard input)\n"
	"  --decision TEXT      the decision that closes the case\n"
	"  --as USER            the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help           show this help\n"
	"\n"
	"example:\n"
	"  probity case open review-2025 --as alice --customer \"Ministry X\" \\\n"
	"      --title \"Surveillance report\" --trigger \"Press report on call interception\" \\\n"
	"      --trigger-url https://news.example/report --trigger-date 2025-08-06\n"
	"  probity case note review-2025 1 \"Storage in region grew to 2 PB\" --as alice\n";

#define NOTE_MAX (1024 * 1024)

static bool print_case_row(void *ctx, const struct pb_case *c)
{
	char id[32], ev[32];
	snprintf(id, sizeof(id), "%lld", (long long)c->id);
	snprintf(ev, sizeof(ev), "%lld", (long long)c->evidence);
	cli_table_add(ctx, (const char *const[]){ id, c->status, c->customer, c->title, ev,
	                                          c->opened_at });
	return true;
}

static bool print_case(void *ctx, const struct pb_case *c)
{
	(void)ctx;
	printf("case %lld: %s\n", (long long)c->id, c->title);
	printf("  customer:  %s\n", c->customer);
	printf("  status:    %s\n", c->status);
	printf("  trigger:   %s\n", c->trigger);
	if (c->trigger_url)
		printf("  url:       %s\n", c->trigger_url);
	if (c->trigger_date)
		printf("  date:      %s\n", c->trigger_date);
	printf("  opened:    %s by %s\n", c->opened_at, c->opened_by);
	if (c->closed_at)
		printf("  closed:    %s\n", c->closed_at);
	if (c->decision)
		printf("  decision:  %s\n", c->decision);
	return true;
}

static bool print_evidence(void *ctx, const struct pb_evidence *e)
{
	char id[32], li[32], h[16];
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	snprintf(li, sizeof(li), "%llu", (unsigned long long)e->log_index);
	snprintf(h, sizeof(h), "%.12s", e->sha256 ? e->sha256 : "");
	cli_table_add(ctx, (const char *const[]){ id, e->kind, e->ref ? e->ref : "", h,
	                                          e->added_by, e->added_at, li });
	return true;
}

static bool print_entry(void *ctx, const struct pb_audit_entry *e)
{
	char li[32];
	snprintf(li, sizeof(li), "%llu", (unsigned long long)e->index);
	cli_table_add(ctx, (const char *const[]){ li, e->time, e->actor, e->action,
	                                          e->subject ? e->subject : "" });
	return true;
}

static int parse_id(const char *s, int64_t *id)
{
	unsigned long v = 0;
	if (!cli_parse_uint(cli_cmd_name(), "ID", s, 0x7fffffffffffffffUL, &v))
		return 0;
	if (v == 0) {
		cli_usage(cli_cmd_name(), "case ids start at 1, not '%s'", s);
		return 0;
	}
	*id = (int64_t)v;
	return 1;
}

static char *read_note(const char *file, size_t *n)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	if (!f) {
		cli_failf("cannot open '%s': %s", file, strerror(errno));
		return NULL;
	}
	char *buf = malloc(NOTE_MAX + 2);
	size_t got = buf ? fread(buf, 1, NOTE_MAX + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf) {
		cli_failf("out of memory");
		return NULL;
	}
	if (got > NOTE_MAX) {
		cli_failf("'%s': the note is larger than %d bytes", file, NOTE_MAX);
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*n = got;
	return buf;
}

/* The operands WS ID [TEXT...]: exactly n of them; *id is the case. Returns 0
 * or the exit code. */
static int ws_id_args(int argc, char **argv, int n, int64_t *id)
{
	if (argc - optind != n)
		return cli_usage(cli_cmd_name(), "expected %s", n == 2 ? "WS ID" : "WS ID FILE|FINDING");
	return parse_id(argv[optind + 1], id) ? 0 : 2;
}

/* The options of note, attach, add-finding and close: --as and, when opt
 * is not NULL, --<opt> VALUE into *value. Returns 0 to go on, -1 after
 * --help, or the exit code. */
static int as_opts(int argc, char **argv, const char *opt, const char **value, const char **as)
{
	const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },
		{ opt, required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		*(c == 'v' ? value : as) = optarg;
	return c < 0 ? (rc ? rc : -1) : 0;
}

static int case_open(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "customer", required_argument, NULL, 'c' },
		{ "title", required_argument, NULL, 't' },
		{ "trigger", required_argument, NULL, 'g' },
		{ "trigger-url", required_argument, NULL, 'u' },
		{ "trigger-date", required_argument, NULL, 'd' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_case_open_options o = { 0 };
	const char *as = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'c': o.customer = optarg; break;
		case 't': o.title = optarg; break;
		case 'g': o.trigger = optarg; break;
		case 'u': o.trigger_url = optarg; break;
		case 'd': o.trigger_date = optarg; break;
		case 'a': as = optarg; break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected WS");
	if (!o.customer || !o.title || !o.trigger)
		return cli_usage(cli_cmd_name(), "open needs --customer, --title and --trigger");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	int64_t nid;
	uint64_t index = 0;
	enum pb_status st = pb_case_open(ws, actor, &o, &nid, &index, &err);
	if (!st)
		printf("opened case %lld on '%s'; log entry %llu\n", (long long)nid, o.customer,
		       (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static int case_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *status = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		status = optarg;
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected WS");
	if (status && strcmp(status, "open") && strcmp(status, "closed"))
		return cli_usage(cli_cmd_name(), "--status is 'open' or 'closed', not '%s'", status);
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct cli_table t;
	cli_table_init(&t, 6, (const char *const[]){ ">id", "status", "customer", "title",
	                                             ">evidence", "opened" });
	enum pb_status st = pb_case_list(ws, status, print_case_row, &t, &err);
	if (!st)
		cli_table_print(&t, stdout);
	cli_table_release(&t);
	return cli_close(ws, st, &err);
}

/* The case, its evidence and its timeline. */
static enum pb_status show_case(struct pb_ws *ws, int64_t id, struct pb_error *err)
{
	enum pb_status st;
	if ((st = pb_case_get(ws, id, print_case, NULL, err)))
		return st;
	struct cli_table t;
	cli_table_init(&t, 7, (const char *const[]){ ">#", "kind", "ref", "sha256", "by", "added",
	                                             ">log" });
	st = pb_case_evidence(ws, id, print_evidence, &t, err);
	if (!st && t.nrows) {
		printf("\nevidence:\n");
		cli_table_print(&t, stdout);
	}
	cli_table_release(&t);
	if (st)
		return st;
	cli_table_init(&t, 5, (const char *const[]){ ">entry", "time", "actor", "action", "subject" });
	st = pb_audit_list(ws, id, 0, 0, print_entry, &t, err);
	if (!st) {
		printf("\ntimeline (audit log entries):\n");
		cli_table_print(&t, stdout);
	}
	cli_table_release(&t);
	return st;
}

static int case_show(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, NULL, &rc)) > 0)
		;
	if (c < 0)
		return rc;
	int64_t id;
	if ((rc = ws_id_args(argc, argv, 2, &id)))
		return rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	enum pb_status st = show_case(ws, id, &err);
	return cli_close(ws, st, &err);
}

static int case_note(int argc, char **argv)
{
	const char *file = NULL, *as = NULL;
	int rc = as_opts(argc, argv, "file", &file, &as);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc - optind != (file ? 2 : 3))
		return cli_usage(cli_cmd_name(), "expected: case note WS ID TEXT, or WS ID --file FILE");
	int64_t id;
	if (!parse_id(argv[optind + 1], &id))
		return 2;
	char *note;
	size_t note_len;
	if (file) {
		if (!(note = read_note(file, &note_len)))
			return 1;
	} else {
		note_len = strlen(argv[optind + 2]);
		note = strdup(argv[optind + 2]);
	}
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor))) {
		free(note);
		return rc;
	}
	struct pb_error err = { 0 };
	uint64_t index = 0;
	enum pb_status st = pb_case_note(ws, actor, id, note, note_len, &index, &err);
	if (!st)
		printf("noted on case %lld; log entry %llu\n", (long long)id, (unsigned long long)index);
	free(note);
	return cli_close(ws, st, &err);
}

/* attach (a FILE) and add-finding (a FINDING): WS ID ARG [--as USER]. */
static int case_add(int argc, char **argv, bool attach)
{
	const char *as = NULL;
	int rc = as_opts(argc, argv, NULL, NULL, &as);
	if (rc)
		return rc < 0 ? 0 : rc;
	int64_t id;
	if ((rc = ws_id_args(argc, argv, 3, &id)))
		return rc;
	const char *arg = argv[optind + 2];
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	enum pb_status st;
	char hex[65];
	if (attach) {
		if (!(st = pb_case_attach(ws, actor, id, arg, hex, &index, &err)))
			printf("attached '%s' to case %lld as sha256 %s; log entry %llu\n", arg,
			       (long long)id, hex, (unsigned long long)index);
	} else {
		if (!(st = pb_case_add_finding(ws, actor, id, arg, &index, &err)))
			printf("added finding '%s' to case %lld; log entry %llu\n", arg, (long long)id,
			       (unsigned long long)index);
	}
	return cli_close(ws, st, &err);
}

static int case_attach(int argc, char **argv)
{
	return case_add(argc, argv, true);
}

static int case_add_finding(int argc, char **argv)
{
	return case_add(argc, argv, false);
}

static int case_close(int argc, char **argv)
{
	const char *decision = NULL, *as = NULL;
	int rc = as_opts(argc, argv, "decision", &decision, &as);
	if (rc)
		return rc < 0 ? 0 : rc;
	int64_t id;
	if ((rc = ws_id_args(argc, argv, 2, &id)))
		return rc;
	if (!decision)
		return cli_usage(cli_cmd_name(), "close needs --decision TEXT");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	enum pb_status st = pb_case_close(ws, actor, id, decision, &index, &err);
	if (!st)
		printf("closed case %lld; log entry %llu\n", (long long)id, (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static const struct cli_sub case_subs[] = {
	{ "open", case_open,
	  "WS --customer C --title T --trigger TEXT\n"
	  "                            [--trigger-url URL] [--trigger-date YYYY-MM-DD]" },
	{ "list", case_list, "WS [--status open|closed]" },
	{ "show", case_show, "WS ID" },
	{ "note", case_note, "WS ID TEXT | --file FILE" },
	{ "attach", case_attach, "WS ID FILE" },
	{ "add-finding", case_add_finding, "WS ID FINDING" },
	{ "close", case_close, "WS ID --decision TEXT" },
};

int cmd_case(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "case", .subs = case_subs, .nsubs = CLI_LEN(case_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
