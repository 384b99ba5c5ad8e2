/* cmd_case.c - probity case: review cases, their evidence and decision. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity case open WS --customer C --title T --trigger TEXT\n"
	"                            [--trigger-url URL] [--trigger-date YYYY-MM-DD]\n"
	"       probity case list WS [--status open|closed]\n"
	"       probity case show WS ID\n"
	"       probity case note WS ID TEXT | --file FILE\n"
	"       probity case attach WS ID FILE\n"
	"       probity case add-finding WS ID FINDING\n"
	"       probity case close WS ID --decision TEXT\n"
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
	if (!cli_parse_uint("case", "ID", s, 0x7fffffffffffffffUL, &v))
		return 0;
	if (v == 0) {
		cli_usage("case", "case ids start at 1, not '%s'", s);
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

int cmd_case(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "customer", required_argument, NULL, 'c' },
		{ "title", required_argument, NULL, 't' },
		{ "trigger", required_argument, NULL, 'g' },
		{ "trigger-url", required_argument, NULL, 'u' },
		{ "trigger-date", required_argument, NULL, 'd' },
		{ "status", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "decision", required_argument, NULL, 'D' },
		{ "as", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return argc < 2 ? cli_usage("case", "expected a subcommand: open, list, show, note, "
		                                    "attach, add-finding, close")
		                : cli_help(usage_text);
	const char *sub = argv[1];
	struct pb_case_open_options o = { 0 };
	const char *status = NULL, *file = NULL, *decision = NULL, *as = NULL;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.customer = optarg; break;
		case 't': o.title = optarg; break;
		case 'g': o.trigger = optarg; break;
		case 'u': o.trigger_url = optarg; break;
		case 'd': o.trigger_date = optarg; break;
		case 's': status = optarg; break;
		case 'f': file = optarg; break;
		case 'D': decision = optarg; break;
		case 'a': as = optarg; break;
		case 'h': return cli_help(usage_text);
		default: return cli_usage("case", "unknown option");
		}
	}
	char **pos = argv + 1 + optind;
	int npos = argc - 1 - optind;
	static const struct {
		const char *name;
		int npos; /* positional arguments, WS included */
		bool writes;
	} subs[] = { { "open", 1, true },   { "list", 1, false },        { "show", 2, false },
		     { "note", -1, true },  { "attach", 3, true },       { "add-finding", 3, true },
		     { "close", 2, true } };
	int si = -1;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(sub, subs[i].name))
			si = (int)i;
	if (si < 0)
		return cli_usage("case", "unknown subcommand '%s'", sub);
	if (!strcmp(sub, "note")) {
		if (npos != (file ? 2 : 3))
			return cli_usage("case", "expected: case note WS ID TEXT, or WS ID --file FILE");
	} else if (npos != subs[si].npos) {
		return cli_usage("case", "wrong number of arguments for 'case %s'", sub);
	}
	if (!strcmp(sub, "open") && (!o.customer || !o.title || !o.trigger))
		return cli_usage("case", "open needs --customer, --title and --trigger");
	if (!strcmp(sub, "close") && !decision)
		return cli_usage("case", "close needs --decision TEXT");
	if (status && strcmp(status, "open") && strcmp(status, "closed"))
		return cli_usage("case", "--status is 'open' or 'closed', not '%s'", status);
	int64_t id = 0;
	if (npos >= 2 && strcmp(sub, "open") && strcmp(sub, "list") && !parse_id(pos[1], &id))
		return 2;
	char *note = NULL;
	size_t note_len = 0;
	if (!strcmp(sub, "note")) {
		if (file) {
			if (!(note = read_note(file, &note_len)))
				return 1;
		} else {
			note_len = strlen(pos[2]);
			note = strdup(pos[2]);
		}
	}
	struct pb_ws *ws;
	int rc = cli_open_ws(pos[0], subs[si].writes ? 0 : PB_WS_READONLY, &ws);
	if (rc) {
		free(note);
		return rc;
	}
	struct pb_error err = { 0 };
	enum pb_status st = PB_OK;
	char actor[PB_USER_NAME_MAX + 1];
	uint64_t index = 0;
	if (subs[si].writes && (st = pb_acting_user(ws, as, actor, &err)) != PB_OK)
		goto done;
	if (!strcmp(sub, "open")) {
		int64_t nid;
		if (!(st = pb_case_open(ws, actor, &o, &nid, &index, &err)))
			printf("opened case %lld on '%s'; log entry %llu\n", (long long)nid, o.customer,
			       (unsigned long long)index);
	} else if (!strcmp(sub, "list")) {
		struct cli_table t;
		cli_table_init(&t, 6,
		               (const char *const[]){ ">id", "status", "customer", "title", ">evidence",
		                                      "opened" });
		if (!(st = pb_case_list(ws, status, print_case_row, &t, &err)))
			cli_table_print(&t, stdout);
		cli_table_release(&t);
	} else if (!strcmp(sub, "show")) {
		if ((st = pb_case_get(ws, id, print_case, NULL, &err)))
			goto done;
		struct cli_table t;
		cli_table_init(&t, 7,
		               (const char *const[]){ ">#", "kind", "ref", "sha256", "by", "added",
		                                      ">log" });
		st = pb_case_evidence(ws, id, print_evidence, &t, &err);
		if (!st && t.nrows) {
			printf("\nevidence:\n");
			cli_table_print(&t, stdout);
		}
		cli_table_release(&t);
		if (st)
			goto done;
		cli_table_init(&t, 5,
		               (const char *const[]){ ">entry", "time", "actor", "action", "subject" });
		st = pb_audit_list(ws, id, 0, 0, print_entry, &t, &err);
		if (!st) {
			printf("\ntimeline (audit log entries):\n");
			cli_table_print(&t, stdout);
		}
		cli_table_release(&t);
	} else if (!strcmp(sub, "note")) {
		if (!(st = pb_case_note(ws, actor, id, note, note_len, &index, &err)))
			printf("noted on case %lld; log entry %llu\n", (long long)id,
			       (unsigned long long)index);
	} else if (!strcmp(sub, "attach")) {
		char hex[65];
		if (!(st = pb_case_attach(ws, actor, id, pos[2], hex, &index, &err)))
			printf("attached '%s' to case %lld as sha256 %s; log entry %llu\n", pos[2],
			       (long long)id, hex, (unsigned long long)index);
	} else if (!strcmp(sub, "add-finding")) {
		if (!(st = pb_case_add_finding(ws, actor, id, pos[2], &index, &err)))
			printf("added finding '%s' to case %lld; log entry %llu\n", pos[2], (long long)id,
			       (unsigned long long)index);
	} else if (!strcmp(sub, "close")) {
		if (!(st = pb_case_close(ws, actor, id, decision, &index, &err)))
			printf("closed case %lld; log entry %llu\n", (long long)id,
			       (unsigned long long)index);
	}
done:
	free(note);
	pb_ws_close(ws);
	return st ? cli_fail(&err) : 0;
}
