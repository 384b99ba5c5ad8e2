/* cmd_mail.c - probity mail: ingest archives, tag and show messages inside a
 * case, list processing exceptions, count what the workspace holds. */
#include "cli.h"

#include <jansson.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help_body[] =
	"\n"
	"The provider's own mail and chat archives (never the customer's content).\n"
	"Searching them is 'probity search'; exporting hits is 'probity search --export'.\n"
	"\n"
	"subcommands:\n"
	"  ingest WS [--custodian NAME] [--as USER] [--strict] [--json] PATH...\n"
	"      Reads mbox files, maildir trees, .eml files, Slack workspace exports\n"
	"      (folder or .zip) and Microsoft Teams JSON exports into the workspace, in\n"
	"      one transaction. Each message keeps the SHA-256 of its bytes and where\n"
	"      they are (file, zip member, byte offset, length). A message found again\n"
	"      (same Message-ID and content) adds a location, not a message. What cannot\n"
	"      be read cleanly is kept with its reasons as a processing exception.\n"
	"      A file already ingested for the same custodian (same SHA-256) is skipped.\n"
	"        --custodian NAME  whose mailbox or archive this is (searchable as\n"
	"                          custodian:NAME)\n"
	"        --strict          exit 1 when any processing exception was recorded\n"
	"        --json            print the counts as JSON\n"
	"\n"
	"  tag WS CASE MESSAGE TAG... [--remove] [--as USER]\n"
	"  tag WS CASE --query QUERY TAG [--remove] [--as USER]\n"
	"      Tags messages within CASE (searchable there as tag:TAG); every change is\n"
	"      recorded in the case's log. MESSAGE is a message number or a Message-ID.\n"
	"      Tags: letters, digits and - _ . / + : (up to 64).\n"
	"        --remove          remove the tags instead ('mail untag' does the same)\n"
	"        --query QUERY     every hit of QUERY (one log entry for the batch)\n"
	"\n"
	"  untag WS CASE MESSAGE TAG... [--as USER]\n"
	"\n"
	"  show WS CASE MESSAGE [--json] [--no-text] [--as USER]\n"
	"      One message: headers, flags, every location with its SHA-256, attachments,\n"
	"      processing exceptions, tags and text. Recorded in the case's log.\n"
	"\n"
	"  exceptions WS [--batch N] [--json]\n"
	"      The processing-exceptions list: every file, member or message that could\n"
	"      not be read cleanly, with where it is and why (severity 'error': not read;\n"
	"      'warning': kept and indexed with that caveat).\n"
	"\n"
	"  stats WS [--json]\n"
	"      What the workspace holds: batches, files, messages, locations, threads.\n"
	"\n"
	"common options:\n"
	"  --as USER    the acting user recorded in the log (default: 'user' in the\n"
	"               workspace's probity.conf)\n"
	"  -h, --help   show this help\n"
	"\n"
	"examples:\n"
	"  probity mail ingest review --custodian alice ~/archive/alice.mbox ~/Maildir\n"
	"  probity mail ingest review --custodian slack exports/acme-slack.zip\n"
	"  probity mail tag review CASE-7 '<20250301.1234@provider.example>' relevant\n"
	"  probity mail exceptions review --batch 2\n";

/* ---- ingest ------------------------------------------------------------------ */

static int mail_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "custodian", required_argument, NULL, 'c' },
		{ "as", required_argument, NULL, 'a' },
		{ "strict", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *custodian = NULL, *as = NULL;
	bool strict = false, json = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'c':
			custodian = optarg;
			break;
		case 'a':
			as = optarg;
			break;
		case 's':
			strict = true;
			break;
		case 'j':
			json = true;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind < 2)
		return cli_usage("mail ingest", "expected a workspace and at least one file or folder");
	if (custodian && (!*custodian || strlen(custodian) > 200))
		return cli_usage("mail ingest", "--custodian needs a name of 1 to 200 characters");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	rc = cli_open_ws_as(argv[optind], as, &ws, actor);
	if (rc)
		return rc;
	struct pb_mail_ingest_options o = { custodian, actor, cli_progress_cb, NULL };
	struct cli_progress *prog = cli_progress_new("ingest");
	o.progress_ctx = prog;
	if (!prog)
		o.progress = NULL;
	struct pb_mail_ingest_report r;
	struct pb_error err = { 0 };
	enum pb_status st = pb_mail_ingest(ws, (const char *const *)argv + optind + 1,
	                                   (size_t)(argc - optind - 1), &o, &r, &err);
	cli_progress_done(prog);
	if (st) {
		cli_ws_close(ws);
		return cli_fail(&err);
	}
	char bytes[32];
	cli_bytes(r.bytes, bytes, sizeof(bytes));
	if (json) {
		json_t *j = json_object();
		const struct {
			const char *key;
			uint64_t v;
		} counts[] = { { "files_seen", r.files_seen },
			       { "files_ingested", r.files_ingested },
			       { "files_skipped", r.files_skipped },
			       { "files_failed", r.files_failed },
			       { "messages_seen", r.messages_seen },
			       { "messages_new", r.messages_new },
			       { "duplicates", r.duplicates },
			       { "exceptions", r.exceptions },
			       { "messages_with_exceptions", r.messages_with_exceptions },
			       { "bytes", r.bytes } };
		json_object_set_new(j, "batch", json_integer(r.batch_id));
		for (size_t i = 0; i < CLI_LEN(counts); i++)
			json_object_set_new(j, counts[i].key, json_integer((json_int_t)counts[i].v));
		json_object_set_new(j, "seconds", json_real(round(r.seconds * 1000) / 1000));
		cli_json_print(j);
	} else {
		printf("batch %lld: %llu files (%llu read, %llu already held, %llu unreadable), "
		       "%llu messages (%llu new, %llu duplicates), %llu exceptions in %llu messages; "
		       "%s in %.2f s\n",
		       (long long)r.batch_id, (unsigned long long)r.files_seen,
		       (unsigned long long)r.files_ingested, (unsigned long long)r.files_skipped,
		       (unsigned long long)r.files_failed, (unsigned long long)r.messages_seen,
		       (unsigned long long)r.messages_new, (unsigned long long)r.duplicates,
		       (unsigned long long)r.exceptions,
		       (unsigned long long)r.messages_with_exceptions, bytes, r.seconds);
	}
	if (r.exceptions)
		fprintf(stderr,
		        "probity: %llu processing exceptions recorded; see 'probity mail exceptions "
		        "%s --batch %lld'\n",
		        (unsigned long long)r.exceptions, argv[optind], (long long)r.batch_id);
	cli_ws_close(ws);
	return strict && r.exceptions ? 1 : 0;
}

/* ---- tag ----------------------------------------------------------------------- */

static int mail_tag(int argc, char **argv, bool untag)
{
	static const struct option opts[] = {
		{ "query", required_argument, NULL, 'q' },
		{ "as", required_argument, NULL, 'a' },
		{ "remove", no_argument, NULL, 'r' }, /* tag only: last */
		{ NULL, 0, NULL, 0 },
	};
	static const struct option untag_opts[] = {
		{ "query", required_argument, NULL, 'q' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL, *query = NULL;
	bool remove = untag;
	const char *cmd = cli_cmd_name();
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, untag ? untag_opts : opts, &rc)) > 0) {
		switch (c) {
		case 'r':
			remove = true;
			break;
		case 'q':
			query = optarg;
			break;
		case 'a':
			as = optarg;
			break;
		}
	}
	if (c < 0)
		return rc;
	int rest = argc - optind;
	if (query ? rest < 3 : rest < 4)
		return cli_usage(cmd, query ? "expected WS CASE TAG... with --query"
		                            : "expected WS CASE MESSAGE TAG...");
	const char *wsp = argv[optind], *case_ref = argv[optind + 1];
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	rc = cli_open_ws_as(wsp, as, &ws, actor);
	if (rc)
		return rc;
	struct pb_error err = { 0 };
	int first_tag = optind + (query ? 2 : 3);
	for (int i = first_tag; i < argc; i++) {
		enum pb_status st;
		if (query) {
			uint64_t n;
			st = pb_mail_tag_query(ws, case_ref, query, argv[i], remove, actor, &n, &err);
			if (!st)
				printf("%s '%s': %llu messages changed\n", remove ? "untagged" : "tagged",
				       argv[i], (unsigned long long)n);
		} else {
			bool changed;
			st = pb_mail_tag(ws, case_ref, argv[optind + 2], argv[i], remove, actor, &changed,
			                 &err);
			if (!st)
				printf("%s %s '%s'%s\n", argv[optind + 2],
				       remove ? (changed ? "untagged" : "did not have tag")
				              : (changed ? "tagged" : "already tagged"),
				       argv[i], changed ? "" : " (nothing changed)");
		}
		if (st) {
			cli_ws_close(ws);
			return cli_fail(&err);
		}
	}
	cli_ws_close(ws);
	return 0;
}

/* ---- show ------------------------------------------------------------------------ */

static const char *js(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

static long long ji(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void print_message(json_t *m)
{
	printf("message %lld  <%s>\n", ji(m, "id"), js(m, "message_id"));
	const char *keys[][2] = { { "kind", "kind" },   { "date", "date" },     { "from", "from" },
		                  { "to", "to" },       { "cc", "cc" },         { "bcc", "bcc" },
		                  { "subject", "subject" }, { "channel", "channel" },
		                  { "in_reply_to", "in-reply-to" } };
	for (size_t i = 0; i < CLI_LEN(keys); i++) {
		const char *v = js(m, keys[i][0]);
		if (*v)
			printf("%-12s %s\n", keys[i][1], v);
	}
	if (*js(m, "date_header"))
		printf("%-12s %s\n", "date header", js(m, "date_header"));
	printf("%-12s %lld (%lld messages)\n", "thread", ji(m, "thread"), ji(m, "thread_size"));
	json_t *flags = json_object_get(m, "flags");
	size_t i;
	json_t *v;
	if (json_array_size(flags)) {
		printf("%-12s", "flags");
		json_array_foreach(flags, i, v)
			printf("%s%s", i ? ", " : " ", json_string_value(v));
		printf("\n");
	}
	printf("%-12s %s (%lld bytes)\n", "raw sha256", js(m, "raw_sha256"), ji(m, "raw_size"));
	printf("%-12s %s\n", "content", js(m, "body_sha256"));
	printf("locations:\n");
	json_array_foreach(json_object_get(m, "locations"), i, v)
	{
		printf("  %s%s%s @%lld+%lld sha256 %s", js(v, "path"), *js(v, "member") ? " member " : "",
		       js(v, "member"), ji(v, "offset"), ji(v, "length"), js(v, "sha256"));
		if (*js(v, "custodian"))
			printf(" custodian %s", js(v, "custodian"));
		if (*js(v, "folder"))
			printf(" folder %s", js(v, "folder"));
		printf("\n");
	}
	json_t *att = json_object_get(m, "attachments");
	if (json_array_size(att)) {
		printf("attachments:\n");
		json_array_foreach(att, i, v)
			printf("  %s  %s  %lld bytes  %s%s\n", *js(v, "name") ? js(v, "name") : "(no name)",
			       js(v, "type"), ji(v, "size"), *js(v, "sha256") ? js(v, "sha256") : "-",
			       ji(v, "indexed") ? "  (text indexed)" : "");
	}
	json_t *exc = json_object_get(m, "exceptions");
	if (json_array_size(exc)) {
		printf("exceptions:\n");
		json_array_foreach(exc, i, v)
			printf("  %s %s: %s\n", js(v, "severity"), js(v, "kind"), js(v, "detail"));
	}
	json_t *tags = json_object_get(m, "tags");
	if (json_array_size(tags)) {
		printf("tags:");
		json_array_foreach(tags, i, v)
			printf(" %s (%s, %s)", js(v, "tag"), js(v, "actor"), js(v, "at"));
		printf("\n");
	}
	if (json_object_get(m, "text")) {
		printf("\n%s\n", js(m, "text"));
		if (*js(m, "other_text"))
			printf("\n----- other text (alternatives, attachments, inner messages) -----\n\n%s\n",
			       js(m, "other_text"));
	}
}

static int mail_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-text", no_argument, NULL, 'n' },
		{ "as", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL;
	bool json = false, no_text = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			no_text = true;
			break;
		case 'a':
			as = optarg;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 3)
		return cli_usage("mail show", "expected WS CASE MESSAGE");
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	rc = cli_open_ws_as(argv[optind], as, &ws, actor);
	if (rc)
		return rc;
	char *out = NULL;
	struct pb_error err = { 0 };
	enum pb_status st =
		pb_mail_show(ws, argv[optind + 1], argv[optind + 2], actor, no_text, &out, &err);
	cli_ws_close(ws);
	if (st)
		return cli_fail(&err);
	if (json) {
		puts(out);
		free(out);
		return 0;
	}
	json_error_t je;
	json_t *m = json_loads(out, 0, &je);
	free(out);
	if (!m)
		return cli_failf("cannot read the message description: %s", je.text);
	print_message(m);
	json_decref(m);
	return 0;
}

/* ---- exceptions -------------------------------------------------------------------- */

struct exc_print {
	bool json;
	unsigned long n;
	json_t *all; /* --json: the array */
};

/* One exception: a line of text, or an element of the --json array. */
static bool print_exception(void *ctx, const struct pb_mail_exception *e)
{
	struct exc_print *p = ctx;
	p->n++;
	if (p->json) {
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(e->id));
		json_object_set_new(o, "batch", json_integer(e->batch_id));
		json_object_set_new(o, "message", json_integer(e->msg_id));
		json_object_set_new(o, "path", cli_json_text(e->path));
		json_object_set_new(o, "member", cli_json_text(e->member));
		json_object_set_new(o, "offset", json_integer((json_int_t)e->offset));
		json_object_set_new(o, "length", json_integer((json_int_t)e->length));
		json_object_set_new(o, "severity", cli_json_text(e->severity));
		json_object_set_new(o, "kind", cli_json_text(e->kind));
		json_object_set_new(o, "detail", cli_json_text(e->detail));
		return json_array_append_new(p->all, o) == 0;
	}
	printf("%-7s %-24s %s%s%s", e->severity, e->kind, e->path, *e->member ? " member " : "",
	       e->member);
	if (e->length)
		printf(" @%llu+%llu", (unsigned long long)e->offset, (unsigned long long)e->length);
	if (e->msg_id)
		printf(" (message %lld)", (long long)e->msg_id);
	printf(": %s\n", e->detail);
	return true;
}

static int mail_exceptions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long batch = 0;
	bool json = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'b':
			if (!cli_parse_uint("mail exceptions", "--batch", optarg, 1ul << 62, &batch))
				return 2;
			break;
		case 'j':
			json = true;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage("mail exceptions", "expected one workspace");
	struct pb_ws *ws;
	rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws);
	if (rc)
		return rc;
	struct exc_print p = { json, 0, json ? json_array() : NULL };
	struct pb_error err = { 0 };
	enum pb_status st = pb_mail_exceptions(ws, (int64_t)batch, print_exception, &p, &err);
	cli_ws_close(ws);
	if (st) {
		json_decref(p.all);
		return cli_fail(&err);
	}
	if (json)
		return cli_json_print(p.all);
	printf("%lu processing exceptions\n", p.n);
	return 0;
}

/* ---- stats ---------------------------------------------------------------------------- */

static int mail_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage("mail stats", "expected one workspace");
	struct pb_ws *ws;
	rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws);
	if (rc)
		return rc;
	struct pb_mail_stats s;
	struct pb_error err = { 0 };
	enum pb_status st = pb_mail_stats_get(ws, &s, &err);
	cli_ws_close(ws);
	if (st)
		return cli_fail(&err);
	char a[24] = "-", b[24] = "-";
	if (s.first_date || s.last_date) {
		time_t t1 = (time_t)s.first_date, t2 = (time_t)s.last_date;
		struct tm tm;
		strftime(a, sizeof(a), "%Y-%m-%d", gmtime_r(&t1, &tm));
		strftime(b, sizeof(b), "%Y-%m-%d", gmtime_r(&t2, &tm));
	}
	if (json) {
		const struct {
			const char *key;
			uint64_t v;
		} counts[] = { { "batches", s.batches },       { "files", s.files },
			       { "messages", s.messages },     { "locations", s.locations },
			       { "threads", s.threads },       { "attachments", s.attachments },
			       { "exceptions", s.exceptions }, { "email", s.email },
			       { "slack", s.slack },           { "teams", s.teams } };
		json_t *o = json_object();
		for (size_t i = 0; i < CLI_LEN(counts); i++)
			json_object_set_new(o, counts[i].key, json_integer((json_int_t)counts[i].v));
		json_object_set_new(o, "first_date", json_string(a));
		json_object_set_new(o, "last_date", json_string(b));
		return cli_json_print(o);
	}
	printf("batches      %llu\nfiles        %llu\nmessages     %llu (email %llu, slack %llu, "
	       "teams %llu)\nlocations    %llu\nthreads      %llu\nattachments  %llu\n"
	       "exceptions   %llu\ndates        %s .. %s\n",
	       (unsigned long long)s.batches, (unsigned long long)s.files,
	       (unsigned long long)s.messages, (unsigned long long)s.email,
	       (unsigned long long)s.slack, (unsigned long long)s.teams,
	       (unsigned long long)s.locations, (unsigned long long)s.threads,
	       (unsigned long long)s.attachments, (unsigned long long)s.exceptions, a, b);
	return 0;
}

static int mail_tag_add(int argc, char **argv)
{
	return mail_tag(argc, argv, false);
}

static int mail_untag(int argc, char **argv)
{
	return mail_tag(argc, argv, true);
}

static const struct cli_sub mail_subs[] = {
	{ "ingest", mail_ingest, "WS [--custodian NAME] [--as USER] [--strict] [--json] PATH..." },
	{ "tag", mail_tag_add,
	  "WS CASE MESSAGE TAG... [--remove] [--as USER]\n"
	  "       probity mail tag WS CASE --query QUERY TAG [--remove] [--as USER]" },
	{ "untag", mail_untag, "WS CASE MESSAGE TAG... [--as USER]" },
	{ "show", mail_show, "WS CASE MESSAGE [--json] [--no-text] [--as USER]" },
	{ "exceptions", mail_exceptions, "WS [--batch N] [--json]" },
	{ "stats", mail_stats, "WS [--json]" },
};

int cmd_mail(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "mail", .subs = mail_subs, .nsubs = CLI_LEN(mail_subs),
		.usage = "usage: probity mail <subcommand> [<args>]\n", .body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
