/* cmd_appeal.c - probity appeal: the customer's appeal of a plan's decision,
 * recorded and decided on the audit log. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char help_body[] =
	"\n"
	"The notice of a plan tells the customer how to appeal. An appeal lives on the\n"
	"workspace's audit log (entries appeal.open, appeal.note, appeal.decide): it is\n"
	"as tamper-evident as the decision it contests. One appeal of a plan is open at\n"
	"a time. Written as 'probity appeal WS PLAN SUB' (or 'probity appeal SUB WS PLAN').\n"
	"\n"
	"  open    records the customer's appeal (analyst, approver); --received is\n"
	"          the day it came in (default today)\n"
	"  note    adds a note to the open appeal (analyst, approver)\n"
	"  decide  decides it: upheld, partly-upheld or rejected, with a reason\n"
	"          (an approver who neither wrote nor approved the plan). Lifting or\n"
	"          narrowing the cut-off is a new plan with its own two approvals (or\n"
	"          a rollback of this one); --plan links that plan\n"
	"  list    the appeals of the plan (PLAN 0: of every plan)\n"
	"\n"
	"options:\n"
	"  --received DATE   the day the appeal came in (YYYY-MM-DD)\n"
	"  --summary TEXT    a line about the appeal (kept in the log, never in reports)\n"
	"  --text TEXT       the note\n"
	"  --outcome O       upheld, partly-upheld or rejected\n"
	"  --reason TEXT     why\n"
	"  --plan N          the plan that lifts or narrows the cut-off (same case)\n"
	"  --as USER         the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help        show this help\n"
	"\n"
	"example:\n"
	"  probity appeal review-2025 1 open --received 2025-09-20 --as alice\n"
	"  probity appeal review-2025 1 decide --outcome partly-upheld --plan 2 \\\n"
	"      --reason \"translation is not needed for the cut-off\" --as erin\n";

static int plan_id(const char *s, int64_t *id, bool zero_ok)
{
	unsigned long v = 0;
	if (!cli_parse_uint(cli_cmd_name(), "PLAN", s, 0x7fffffffUL, &v))
		return 2;
	if (!v && !zero_ok)
		return cli_usage(cli_cmd_name(), "plan numbers start at 1");
	*id = (int64_t)v;
	return 0;
}

static int appeal_step(int argc, char **argv)
{
	static const struct option open_opts[] = {
		{ "received", required_argument, NULL, 'r' },
		{ "summary", required_argument, NULL, 's' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option note_opts[] = {
		{ "text", required_argument, NULL, 't' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option decide_opts[] = {
		{ "outcome", required_argument, NULL, 'o' },
		{ "reason", required_argument, NULL, 'R' },
		{ "plan", required_argument, NULL, 'p' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *received = NULL, *summary = NULL, *text = NULL;
	const char *outcome = NULL, *reason = NULL, *as = NULL, *newp = NULL;
	const struct option *opts = !strcmp(sub, "open") ? open_opts
	                            : !strcmp(sub, "note") ? note_opts : decide_opts;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'r': received = optarg; break;
		case 's': summary = optarg; break;
		case 't': text = optarg; break;
		case 'o': outcome = optarg; break;
		case 'R': reason = optarg; break;
		case 'p': newp = optarg; break;
		case 'a': as = optarg; break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS PLAN");
	int64_t id, np = 0;
	if ((rc = plan_id(argv[optind + 1], &id, false)) || (newp && (rc = plan_id(newp, &np, false))))
		return rc;
	if (!strcmp(sub, "note") && !text)
		return cli_usage(cli_cmd_name(), "--text is required");
	if (!strcmp(sub, "decide") && (!outcome || !reason))
		return cli_usage(cli_cmd_name(), "--outcome and --reason are required");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	uint64_t index = 0;
	unsigned number = 0;
	enum pb_status st;
	if (!strcmp(sub, "open"))
		st = pb_appeal_open(ws, actor, id, received, summary, &number, &index, &err);
	else if (!strcmp(sub, "note"))
		st = pb_appeal_note(ws, actor, id, text, &index, &err);
	else
		st = pb_appeal_decide(ws, actor, id, outcome, reason, np, &index, &err);
	if (!st && !strcmp(sub, "open"))
		printf("appeal %u of plan %lld opened; log entry %llu\n", number, (long long)id,
		       (unsigned long long)index);
	else if (!st && !strcmp(sub, "note"))
		printf("noted on the appeal of plan %lld; log entry %llu\n", (long long)id,
		       (unsigned long long)index);
	else if (!st)
		printf("appeal of plan %lld decided: %s; log entry %llu\n", (long long)id, outcome,
		       (unsigned long long)index);
	if (!st && np)
		printf("the cut-off changes through plan %lld (its own approvals and apply)\n",
		       (long long)np);
	return cli_close(ws, st, &err);
}

static bool list_row(void *ctx, const struct pb_appeal *a)
{
	char plan[24], num[16], np[24], idx[24];
	snprintf(plan, sizeof(plan), "%lld", (long long)a->plan);
	snprintf(num, sizeof(num), "%u", a->number);
	snprintf(np, sizeof(np), a->new_plan ? "%lld" : "-", (long long)a->new_plan);
	snprintf(idx, sizeof(idx), "%llu", (unsigned long long)a->open_index);
	cli_table_add(ctx, (const char *const[]){ plan, num, a->received,
	                                          a->outcome ? a->outcome : "open",
	                                          a->decided_at ? a->decided_at : "-", np, idx });
	return true;
}

static int appeal_list(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, (const struct option[]){ { NULL, 0, NULL, 0 } },
	                       &rc)) > 0)
		;
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS PLAN");
	int64_t id;
	if ((rc = plan_id(argv[optind + 1], &id, true)))
		return rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_error err = { 0 };
	struct cli_table t;
	cli_table_init(&t, 7, (const char *const[]){ ">plan", ">appeal", "received", "outcome",
	                                             "decided", ">new plan", ">log" });
	enum pb_status st = pb_appeal_list(ws, id, list_row, &t, &err);
	if (!st)
		cli_table_print(&t, stdout);
	cli_table_release(&t);
	return cli_close(ws, st, &err);
}

static const struct cli_sub appeal_subs[] = {
	{ "open", appeal_step, "WS PLAN [--received DATE] [--summary TEXT]" },
	{ "note", appeal_step, "WS PLAN --text TEXT" },
	{ "decide", appeal_step, "WS PLAN --outcome upheld|partly-upheld|rejected --reason TEXT\n"
	                         "                            [--plan N]" },
	{ "list", appeal_list, "WS PLAN" },
};

int cmd_appeal(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "appeal", .subs = appeal_subs, .nsubs = CLI_LEN(appeal_subs),
		.body = help_body,
	};
	/* "appeal WS PLAN SUB ...": the subcommand after the plan, as the issue
	 * writes it; moved to the front for the dispatcher */
	if (argc >= 4) {
		for (size_t i = 0; i < CLI_LEN(appeal_subs); i++)
			if (!strcmp(argv[3], appeal_subs[i].name) && strcmp(argv[1], argv[3])) {
				bool sub1 = false;
				for (size_t j = 0; j < CLI_LEN(appeal_subs); j++)
					sub1 |= !strcmp(argv[1], appeal_subs[j].name);
				if (sub1)
					break;
				char *s = argv[3];
				argv[3] = argv[2];
				argv[2] = argv[1];
				argv[1] = s;
				break;
			}
	}
	return cli_dispatch(&cmd, argc, argv);
}
