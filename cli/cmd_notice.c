/* cmd_notice.c - probity notice: the notice of a plan to its customer. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: probity notice WS PLAN [--format text|markdown|html|sor-json] [--output FILE]\n"
	"                              [--category CATEGORY] [--draft] [--as USER]\n"
	"\n"
	"Writes the notice of plan PLAN to its customer: what is disabled and from\n"
	"when (and until when), which of the customer's services this affects, what\n"
	"continues, the policy clause invoked, the case reference, and how and by when\n"
	"to respond or appeal. The customer is named as in its customer record\n"
	"('probity customer add'), never from usage data, which may hold pseudonyms.\n"
	"\n"
	"Issuing a notice is a step of the plan: the plan must be approved (or applied,\n"
	"or rolled back: the notice then says the services are restored), the acting\n"
	"user an analyst or approver, and the notice's SHA-256, format and respond-by\n"
	"date are written to the audit log before it is printed. --draft prints a\n"
	"preview marked DRAFT for any plan and records nothing.\n"
	"\n"
	"Settings in the workspace's probity.conf: provider_name (who sends it),\n"
	"appeal_contact (where to respond), policy_clause (the default clause; a plan\n"
	"may name its own with --clause). The plan's --appeal-days (default 30) sets\n"
	"the respond-by date, counted from the notice's date.\n"
	"\n"
	"options:\n"
	"  --format F      text (default), markdown, html (one self-contained page,\n"
	"                  printable to PDF), or sor-json: a statement of reasons in\n"
	"                  the EU DSA Transparency Database's API shape (version 1),\n"
	"                  checked against the database's rules and refused when it\n"
	"                  breaks one (docs/reports.md)\n"
	"  --category C    sor-json: the statement's category (STATEMENT_CATEGORY_*,\n"
	"                  prefix optional; default probity.conf's sor_category, else\n"
	"                  OTHER_VIOLATION_TC)\n"
	"  --output FILE   write the notice to FILE instead of standard output\n"
	"  --draft         a preview: any plan, nothing recorded\n"
	"  --as USER       the acting user (default: 'user = NAME' in probity.conf)\n"
	"  -h, --help      show this help\n"
	"\n"
	"example:\n"
	"  probity notice review-2025 1 --format html --output notice-plan-1.html --as alice\n";

int cmd_notice(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "draft", no_argument, NULL, 'd' },
		{ "as", required_argument, NULL, 'a' },
		{ "category", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_notice_options o = { PB_NOTICE_TEXT, false, 0 };
	const char *output = NULL, *as = NULL, *category = NULL;
	bool sor = false;
	int c, rc = 0;
	cli_command("notice", usage_text);
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "text"))
				o.format = PB_NOTICE_TEXT;
			else if (!strcmp(optarg, "markdown") || !strcmp(optarg, "md"))
				o.format = PB_NOTICE_MARKDOWN;
			else if (!strcmp(optarg, "html"))
				o.format = PB_NOTICE_HTML;
			else if (!strcmp(optarg, "sor-json"))
				sor = true;
			else
				return cli_usage("notice",
				                 "--format is text, markdown, html or sor-json, not '%s'",
				                 optarg);
			break;
		case 'o': output = optarg; break;
		case 'd': o.draft = true; break;
		case 'a': as = optarg; break;
		case 'c': category = optarg; break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage("notice", "expected WS PLAN");
	if (category && !sor)
		return cli_usage("notice", "--category goes with --format sor-json");
	unsigned long plan = 0;
	if (!cli_parse_uint("notice", "PLAN", argv[optind + 1], 0x7fffffffUL, &plan))
		return 2;
	if (!plan)
		return cli_usage("notice", "plan numbers start at 1");
	FILE *f = stdout;
	if (output && !(f = cli_open_private(output)))
		return cli_failf("cannot write '%s': %s", output, strerror(errno));
	struct pb_ws *ws;
	rc = cli_open_ws(argv[optind], o.draft ? PB_WS_READONLY : 0, &ws);
	if (rc) {
		if (output) {
			fclose(f);
			remove(output);
		}
		return rc;
	}
	struct pb_error err = { 0 };
	struct pb_catalog *cat = NULL;
	char actor[PB_USER_NAME_MAX + 1] = "", dir[4200], *text = NULL;
	uint64_t index = 0;
	enum pb_status st = PB_OK;
	snprintf(dir, sizeof(dir), "%s/catalog", cli_data_dir());
	if ((!o.draft && (st = pb_acting_user(ws, as, actor, &err))) ||
	    (st = pb_catalog_load(dir, &cat, &err)) ||
	    (sor ? (st = pb_sor_make(ws, cat, actor, (int64_t)plan,
	                             &(struct pb_sor_options){ o.draft, o.now, category }, &text,
	                             &index, &err))
	         : (st = pb_notice_make(ws, cat, actor, (int64_t)plan, &o, &text, &index, &err))))
		goto done;
	size_t n = strlen(text);
	if (fwrite(text, 1, n, f) != n || fflush(f)) {
		st = PB_EIO;
		snprintf(err.message, sizeof(err.message), "cannot write '%s': %s",
		         output ? output : "standard output", strerror(errno));
		goto done;
	}
	if (!o.draft) {
		if (output)
			printf("notice of plan %lu written to '%s'; recorded as log entry %llu\n", plan,
			       output, (unsigned long long)index);
		else
			fprintf(stderr, "probity: notice of plan %lu recorded as log entry %llu\n", plan,
			        (unsigned long long)index);
	}
done:
	if (output) {
		fclose(f);
		if (st)
			remove(output);
	}
	free(text);
	pb_catalog_free(cat);
	return cli_close(ws, st, &err);
}
