/* cmd_export.c - probity export verify: recheck an export of search hits
 * against its manifest and against the archive it came from. */
#include "cli.h"

#include <string.h>

static const char help_body[] =
	"\n"
	"Rechecks an export written by 'probity search ... --export DIR', without the\n"
	"workspace: every file against SHA256SUMS; every document's native and text\n"
	"against manifest.csv; the result hash of the manifest against export.json (so\n"
	"no document was added or removed); and, unless --skip-archive, the bytes of each\n"
	"message re-read from the archive at the recorded file, zip member, offset and\n"
	"length, which must hash to the exported native.\n"
	"\n"
	"options:\n"
	"  --skip-archive      check the export's own files only (the archive is elsewhere)\n"
	"  --archive-root NEW  the archive moved: read paths that start with OLD\n"
	"  --archive-from OLD  (given by --archive-from) under NEW instead\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: 0 verified, 1 a problem was found (each is printed), 2 bad usage.\n"
	"\n"
	"example:\n"
	"  probity export verify review-export\n"
	"  probity export verify review-export --archive-from /mnt/old --archive-root /srv/mail\n";

static void on_problem(void *ctx, const char *doc, const char *problem)
{
	(void)ctx;
	printf("FAIL %s: %s\n", doc, problem);
}

static int export_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "skip-archive", no_argument, NULL, 's' },
		{ "archive-root", required_argument, NULL, 'r' },
		{ "archive-from", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_mail_verify_options o = { 0 };
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 's':
			o.skip_archive = true;
			break;
		case 'r':
			o.archive_root = optarg;
			break;
		case 'f':
			o.archive_from = optarg;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage("export verify", "expected one export folder");
	if (!o.archive_root != !o.archive_from)
		return cli_usage("export verify", "--archive-root and --archive-from go together");
	struct pb_mail_verify_report r;
	struct pb_error err = { 0 };
	enum pb_status st = pb_mail_export_verify(argv[optind], &o, on_problem, NULL, &r, &err);
	if (st && st != PB_EVERIFY)
		return cli_fail(&err);
	printf("%s: %llu documents, %llu files hashed, %llu messages re-read from the archive, "
	       "%llu problem%s\n",
	       argv[optind], (unsigned long long)r.documents, (unsigned long long)r.files_checked,
	       (unsigned long long)r.archive_checked, (unsigned long long)r.problems,
	       r.problems == 1 ? "" : "s");
	if (st)
		return cli_fail(&err);
	printf("verified\n");
	return 0;
}

static const struct cli_sub export_subs[] = {
	{ "verify", export_verify, "DIR [--skip-archive] [--archive-root NEW --archive-from OLD]" },
};

int cmd_export(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "export", .subs = export_subs, .nsubs = 1,
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
