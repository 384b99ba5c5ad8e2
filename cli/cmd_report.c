/* cmd_report.c - probity report: the reports the world reads (transparency
 * report; the statement of reasons is 'probity notice --format sor-json'). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help_body[] =
	"\n"
	"  case          the case report: one self-contained HTML page (or a PDF)\n"
	"                telling the case from its log entries (trigger, method,\n"
	"                profile, findings with their evidence verified, mail\n"
	"                searches, notes, decision, plans, approvals, notices), with\n"
	"                a signed checkpoint and the inclusion proof of every entry\n"
	"                it relies on embedded (attached to the PDF)\n"
	"  verify        checks a case report (HTML or PDF) offline with the log's\n"
	"                verifier key; with --ws, also that the workspace's log\n"
	"                published it\n"
	"  transparency  the transparency report of a period: reviews opened (by\n"
	"                trigger type) and closed (by outcome), services restricted by\n"
	"                what and by country, customers affected (a count, never a\n"
	"                name), median and 90th-percentile days from trigger to\n"
	"                decision and from decision to enforcement, appeals and their\n"
	"                outcomes, plans rolled back (docs/reports.md defines each)\n"
	"\n"
	"A report written (not --draft) is published: a log entry holds the SHA-256 of\n"
	"every file, so the published document can later be proven to be this one.\n"
	"\n"
	"options:\n"
	"  --period P      2025 (a year), 2025H2 (a half) or 2025-Q3 (a quarter)\n"
	"  --format F      csv (a folder: one RFC 4180 file per table and README.md),\n"
	"                  json or html (one self-contained page with SVG charts);\n"
	"                  the case report is html or pdf (A4, the evidence attached)\n"
	"  --band LO-HI    write counts from LO to HI as the band \"LO-HI\" (0-9)\n"
	"  --output PATH   the folder (csv) or file to write (required)\n"
	"  --draft         nothing recorded (a preview)\n"
	"  --as USER       the acting user: analyst, approver or auditor\n"
	"  --include-hits  case: run the case's mail searches again (logged) and list\n"
	"                  their hits with excerpts\n"
	"  --vkey KEY      verify: the log's verifier key, or a file holding it\n"
	"  --ws WS         verify: the workspace whose log must hold the report\n"
	"  -h, --help      show this help\n"
	"\n"
	"example:\n"
	"  probity report transparency review-2025 --period 2025H2 --format csv \\\n"
	"      --band 0-9 --output transparency-2025H2 --as carol\n";

static int write_file(const char *path, const struct pb_report_file *f)
{
	FILE *o = cli_open_private(path);
	if (!o)
		return cli_failf("cannot write '%s': %s", path, strerror(errno));
	bool ok = fwrite(f->data, 1, f->len, o) == f->len;
	ok = !fclose(o) && ok;
	if (!ok) {
		remove(path);
		return cli_failf("cannot write '%s': %s", path, strerror(errno));
	}
	return 0;
}

static int report_transparency(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "period", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "band", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "draft", no_argument, NULL, 'd' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_transparency_options o = { 0 };
	const char *output = NULL, *as = NULL;
	int c, rc = 0;
	o.format = PB_REPORT_HTML;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'p': o.period = optarg; break;
		case 'f':
			if (!strcmp(optarg, "csv"))
				o.format = PB_REPORT_CSV;
			else if (!strcmp(optarg, "json"))
				o.format = PB_REPORT_JSON;
			else if (!strcmp(optarg, "html"))
				o.format = PB_REPORT_HTML;
			else
				return cli_usage(cli_cmd_name(), "--format is csv, json or html, not '%s'",
				                 optarg);
			break;
		case 'b': {
			char *e1, *e2;
			unsigned long lo = strtoul(optarg, &e1, 10), hi = 0;
			if (e1 != optarg && *e1 == '-')
				hi = strtoul(e1 + 1, &e2, 10);
			if (e1 == optarg || *e1 != '-' || e2 == e1 + 1 || *e2 || lo > hi || hi > 1000000)
				return cli_usage(cli_cmd_name(), "--band is LO-HI (0-9), not '%s'", optarg);
			o.band = true;
			o.band_lo = (unsigned)lo;
			o.band_hi = (unsigned)hi;
			break;
		}
		case 'o': output = optarg; break;
		case 'd': o.draft = true; break;
		case 'a': as = optarg; break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected WS");
	if (!o.period)
		return cli_usage(cli_cmd_name(), "--period is required");
	if (!output)
		return cli_usage(cli_cmd_name(), "--output is required");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1] = "";
	if ((rc = o.draft ? cli_open_ws(argv[optind], PB_WS_READONLY, &ws)
	                  : cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	struct pb_report_file *f = NULL;
	size_t n = 0;
	uint64_t index = 0;
	enum pb_status st = pb_report_transparency(ws, actor, &o, &f, &n, &index, &err);
	if (!st && o.format == PB_REPORT_CSV && mkdir(output, 0700) && errno != EEXIST) {
		st = PB_EIO;
		snprintf(err.message, sizeof(err.message), "cannot make the folder '%s': %s", output,
		         strerror(errno));
	}
	for (size_t i = 0; !st && i < n; i++) {
		char path[4200];
		if (o.format == PB_REPORT_CSV)
			snprintf(path, sizeof(path), "%s/%s", output, f[i].name);
		else
			snprintf(path, sizeof(path), "%s", output);
		if (write_file(path, &f[i])) {
			pb_report_files_free(f, n);
			cli_close(ws, PB_OK, &err);
			return 1;
		}
	}
	if (!st && o.draft)
		printf("transparency report %s written to '%s' (draft: not recorded)\n", o.period, output);
	else if (!st)
		printf("transparency report %s written to '%s'; published as log entry %llu\n", o.period,
		       output, (unsigned long long)index);
	pb_report_files_free(f, n);
	return cli_close(ws, st, &err);
}

static int report_case(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "include-hits", no_argument, NULL, 'i' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_case_report_options o = { 0 };
	const char *output = NULL, *as = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "html") && strcmp(optarg, "pdf"))
				return cli_usage(cli_cmd_name(), "--format is html or pdf, not '%s'", optarg);
			o.pdf = !strcmp(optarg, "pdf");
			break;
		case 'o': output = optarg; break;
		case 'i': o.include_hits = true; break;
		case 'a': as = optarg; break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS CASE");
	char *end;
	long long id = strtoll(argv[optind + 1], &end, 10);
	if (*end || id <= 0)
		return cli_usage(cli_cmd_name(), "CASE is a case number, not '%s'", argv[optind + 1]);
	if (!output)
		return cli_usage(cli_cmd_name(), "--output is required");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1] = "", dir[4200];
	if ((rc = cli_open_ws_as(argv[optind], as, &ws, actor)))
		return rc;
	struct pb_error err = { 0 };
	struct pb_catalog *cat = NULL;
	struct pb_report_file *f = NULL;
	uint64_t index = 0;
	snprintf(dir, sizeof(dir), "%s/catalog", cli_data_dir());
	enum pb_status st = pb_catalog_load(dir, &cat, &err);
	if (!st)
		st = pb_report_case(ws, cat, actor, id, &o, &f, &index, &err);
	if (!st && write_file(output, f)) {
		pb_report_files_free(f, 1);
		pb_catalog_free(cat);
		cli_close(ws, PB_OK, &err);
		return 1;
	}
	if (!st)
		printf("case report %lld written to '%s'; published as log entry %llu\n", id, output,
		       (unsigned long long)index);
	pb_report_files_free(f, f ? 1 : 0);
	pb_catalog_free(cat);
	return cli_close(ws, st, &err);
}

static int report_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "ws", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vkey = NULL, *wsdir = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'k')
			vkey = optarg;
		else if (c == 'w')
			wsdir = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected FILE");
	if (!vkey)
		return cli_usage(cli_cmd_name(), "--vkey is required");
	struct pb_vkey k;
	if (cli_load_vkey(vkey, &k))
		return 1;
	struct pb_error err = { 0 };
	struct pb_case_report_check out;
	size_t n = 0;
	char *html = cli_slurp(argv[optind], 256u * 1024 * 1024, &n);
	if (!html)
		return 1;
	enum pb_status st = pb_report_case_verify(html, n, &k, &out, &err);
	free(html);
	if (st)
		return cli_failf("%s", err.message);
	printf("case report of case %lld verified: %zu entries proven in the signed checkpoint of "
	       "size %llu\nsha256 %s\n",
	       (long long)out.case_id, out.entries, (unsigned long long)out.checkpoint_size,
	       out.sha256);
	if (!wsdir)
		return 0;
	struct pb_ws *ws;
	uint64_t index = 0;
	if ((rc = cli_open_ws(wsdir, PB_WS_READONLY, &ws)))
		return rc;
	st = pb_report_case_logged(ws, out.sha256, &index, &err);
	if (!st)
		printf("published: log entry %llu holds its SHA-256\n", (unsigned long long)index);
	return cli_close(ws, st, &err);
}

static const struct cli_sub report_subs[] = {
	{ "case", report_case, "WS CASE --format html|pdf --output FILE\n"
	  "                            [--include-hits] [--as USER]" },
	{ "verify", report_verify, "FILE --vkey KEY [--ws WS]" },
	{ "transparency", report_transparency,
	  "WS --period P --format csv|json|html --output PATH\n"
	  "                            [--band LO-HI] [--draft] [--as USER]" },
};

int cmd_report(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "report", .subs = report_subs, .nsubs = CLI_LEN(report_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
