/* cmd_search.c - probity search: search internal mail and chat inside a case,
 * report hits per term, export hits with their hashes. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: probity search WS CASE QUERY [options]\n"
	"       probity search WS CASE --terms FILE [--csv [--per-message] | --json]\n"
	"       probity search WS CASE QUERY --export DIR [--prefix PFX]\n"
	"\n"
	"Searches the mail and chat ingested into workspace WS, inside case CASE. Every\n"
	"search is recorded in the case's audit log in the same transaction: who, when,\n"
	"the query, the number of hits and the SHA-256 of the result list.\n"
	"\n"
	"query language (as notmuch-search-terms(7); operators in any case):\n"
	"  word              the word in any text field (subject, sender, recipients,\n"
	"                    body, attachment text and names); no stemming; case and\n"
	"                    accents do not matter\n"
	"  \"two words\"       a phrase; a-b-c and a.b.c are phrases too\n"
	"  wor*              a prefix\n"
	"  a AND b, a b      both (side by side means AND)\n"
	"  a OR b, a XOR b   either; exactly one\n"
	"  NOT a, -a         not; a NOT b is a AND NOT b\n"
	"  ( ... )           grouping\n"
	"  a NEAR b          within 10 words, any order; NEAR/n: within n words\n"
	"  from:X  to:X      sender; recipients (To, Cc and Bcc)\n"
	"  subject:X body:X  attachment:NAME\n"
	"  id:MESSAGE-ID     thread:N  thread:{QUERY} (every message of matching threads)\n"
	"  custodian:NAME    channel:NAME  folder:PATH  kind:email|slack|teams\n"
	"  tag:TAG           tags of this case (see 'probity mail tag')\n"
	"  is:encrypted|signed|exception|truncated|unparsed|partial|attachment|duplicate|tagged\n"
	"  date:2025-01-01..2025-06-30   also date:2025-03, date:2025.., date:..2025-06-30,\n"
	"                    date:@EPOCH..@EPOCH; whole days, UTC, both ends included\n"
	"  *                 every message\n"
	"  Terms of the same field side by side are ORed: from:alice from:bob is\n"
	"  from:alice OR from:bob (as in notmuch); write AND to require both.\n"
	"\n"
	"options:\n"
	"  --as USER         the acting user recorded in the log (default: 'user' in\n"
	"                    probity.conf)\n"
	"  --limit N         describe at most N hits (default 50; 0: all); the count and\n"
	"                    the result hash always cover every hit\n"
	"  --newest          newest first (default: oldest first)\n"
	"  --threads         group the hits by thread\n"
	"  --ids             print only the Message-IDs of the hits, sorted, each once\n"
	"  --json            print the result as JSON (all hits unless --limit), with\n"
	"                    every field: Bcc, In-Reply-To, References, attachments...\n"
	"  --terms FILE      hit report: one query a line ('#' starts a comment); per\n"
	"                    term the messages hit, the unique hits (hit by no other\n"
	"                    term) and the hits with their thread family; with --json\n"
	"                    also every message each term hits (number and Message-ID)\n"
	"  --csv             the hit report as CSV\n"
	"  --per-message     with --terms and --csv: one row per term and message hit\n"
	"                    (term,message_number,message_id), oldest first per term\n"
	"  --export DIR      write every hit to DIR (absent or empty): natives/ (the\n"
	"                    original bytes, .eml or .json), text/ (extracted text),\n"
	"                    manifest.csv (SHA-256 of each), export.dat (Concordance load\n"
	"                    file, UTF-8 with BOM), export.json, SHA256SUMS; check it later\n"
	"                    with 'probity export verify DIR'\n"
	"  --prefix PFX      document numbers of an export (default PB: PB000001)\n"
	"  -h, --help        show this help\n"
	"\n"
	"exit status: 0 done (also with no hits), 1 failed, 2 bad usage or bad query.\n"
	"\n"
	"examples:\n"
	"  probity search review CASE-7 'storage AND (\"West Europe\" OR westeurope)'\n"
	"  probity search review CASE-7 'from:alice date:2025-01-01..2025-06-30 capacity NEAR/5 petabyte*'\n"
	"  probity search review CASE-7 --terms terms.txt --csv > hit-report.csv\n"
	"  probity search review CASE-7 --terms terms.txt --csv --per-message > hits.csv\n"
	"  probity search review CASE-7 'tag:relevant' --export review-export\n";

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void fmt_date(const struct pb_mail_hit *h, char *buf, size_t cap)
{
	if (!h->has_date) {
		snprintf(buf, cap, "(no date)");
		return;
	}
	time_t t = (time_t)h->date;
	struct tm tm;
	strftime(buf, cap, "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
}

static void flags_text(unsigned flags, char *buf, size_t cap)
{
	buf[0] = '\0';
	size_t n = 0;
	for (unsigned bit = 1; bit < (1u << PB_MAIL_FLAG_COUNT); bit <<= 1)
		if ((flags & bit) && bit != PB_MAIL_ATTACHMENT)
			n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
			                      pb_mail_flag_name(bit));
}

static void print_hit(const struct pb_mail_hit *h)
{
	char date[32], fl[128];
	fmt_date(h, date, sizeof(date));
	flags_text(h->flags, fl, sizeof(fl));
	printf("%-6lld %s  %s\n", (long long)h->id, date, *h->from ? h->from : "(no sender)");
	if (*h->subject)
		printf("       subject: %s\n", h->subject);
	if (*h->channel)
		printf("       channel: %s\n", h->channel);
	printf("       thread %lld (%u message%s)", (long long)h->thread, h->thread_size,
	       h->thread_size == 1 ? "" : "s");
	if (*h->custodians)
		printf("  custodian: %s", h->custodians);
	if (*h->tags)
		printf("  tags: %s", h->tags);
	if (fl[0])
		printf("  [%s]", fl);
	if (h->locations > 1)
		printf("  %u copies", h->locations);
	printf("\n");
	if (h->snippet && *h->snippet)
		printf("       %s\n", h->snippet);
}

/* One hit of --json. */
static json_t *hit_json(const struct pb_mail_hit *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(h->id));
	json_object_set_new(o, "message_id", cli_json_text(h->message_id));
	json_object_set_new(o, "kind", cli_json_text(h->kind));
	char date[24];
	if (h->has_date)
		pb_time_format(h->date, date);
	json_object_set_new(o, "date", h->has_date ? json_string(date) : json_null());
	const char *kv[][2] = { { "from", h->from },       { "to", h->to },
		                { "cc", h->cc },           { "bcc", h->bcc },
		                { "subject", h->subject }, { "channel", h->channel },
		                { "in_reply_to", h->in_reply_to },
		                { "custodians", h->custodians },
		                { "tags", h->tags },       { "snippet", h->snippet },
		                { "body_sha256", h->body_sha256 },
		                { "raw_sha256", h->raw_sha256 } };
	for (size_t k = 0; k < CLI_LEN(kv); k++)
		json_object_set_new(o, kv[k][0], cli_json_text(kv[k][1]));
	/* references: one Message-ID a line in the library, an array here */
	json_t *refs = json_array();
	for (const char *p = h->references; p && *p;) {
		size_t l = strcspn(p, "\n");
		char *one = strndup(p, l);
		json_array_append_new(refs, cli_json_text(one));
		free(one);
		p += l + (p[l] == '\n');
	}
	json_object_set_new(o, "references", refs);
	json_t *att = json_array();
	for (size_t k = 0; k < h->nattach; k++) {
		const struct pb_mail_hit_attachment *a = &h->attach[k];
		json_t *x = json_object();
		json_object_set_new(x, "name", cli_json_text(a->name));
		json_object_set_new(x, "type", cli_json_text(a->type));
		json_object_set_new(x, "size", json_integer((json_int_t)a->size));
		json_object_set_new(x, "sha256", *a->sha256 ? json_string(a->sha256) : json_null());
		json_array_append_new(att, x);
	}
	json_object_set_new(o, "attachments", att);
	json_object_set_new(o, "thread", json_integer(h->thread));
	json_object_set_new(o, "thread_size", json_integer(h->thread_size));
	json_object_set_new(o, "locations", json_integer(h->locations));
	json_t *flags = json_array();
	for (unsigned bit = 1; bit < (1u << PB_MAIL_FLAG_COUNT); bit <<= 1)
		if (h->flags & bit)
			json_array_append_new(flags, json_string(pb_mail_flag_name(bit)));
	json_object_set_new(o, "flags", flags);
	return o;
}

static int print_json(const struct pb_mail_result *r, const char *case_ref)
{
	json_t *o = json_object();
	json_object_set_new(o, "case", cli_json_text(case_ref));
	json_object_set_new(o, "query", cli_json_text(r->query));
	json_object_set_new(o, "hits", json_integer((json_int_t)r->total));
	json_object_set_new(o, "threads", json_integer((json_int_t)r->threads));
	json_object_set_new(o, "result_sha256", json_string(r->result_sha256));
	json_object_set_new(o, "shown", json_integer((json_int_t)r->nhits));
	json_t *msgs = json_array();
	for (size_t i = 0; i < r->nhits; i++)
		json_array_append_new(msgs, hit_json(&r->hits[i]));
	json_object_set_new(o, "messages", msgs);
	return cli_json_print(o);
}

/* Reads the terms file: one query a line; blank lines and '#' comments
 * skipped. lines[i] gets the file line of term i. */
static int read_terms(const char *path, char ***terms, size_t **lines, size_t *n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return cli_failf("cannot read terms file '%s': %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0, lineno = 0, have = 0;
	ssize_t len;
	*terms = NULL;
	*lines = NULL;
	*n = 0;
	int rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *s = line;
		if (lineno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3))
			s += 3;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		if (*n >= 10000) {
			rc = cli_failf("%s: more than 10000 terms", path);
			break;
		}
		if (*n == have) {
			have = have ? have * 2 : 32;
			*terms = realloc(*terms, have * sizeof(**terms));
			*lines = realloc(*lines, have * sizeof(**lines));
			if (!*terms || !*lines) {
				rc = cli_failf("out of memory");
				break;
			}
		}
		(*terms)[*n] = strdup(s);
		(*lines)[*n] = lineno;
		(*n)++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (!rc && *n == 0)
		rc = cli_failf("%s: no terms (one query a line)", path);
	return rc;
}

static int print_report_json(const struct pb_mail_hit_report *r, const char *case_ref)
{
	json_t *o = json_object(), *terms = json_array();
	json_object_set_new(o, "case", cli_json_text(case_ref));
	for (size_t i = 0; i < r->nterms; i++) {
		const struct pb_mail_term_report *t = &r->terms[i];
		json_t *x = json_object(), *msgs = json_array();
		json_object_set_new(x, "term", cli_json_text(t->query));
		json_object_set_new(x, "hits", json_integer((json_int_t)t->hits));
		json_object_set_new(x, "unique_hits", json_integer((json_int_t)t->unique_hits));
		json_object_set_new(x, "with_family", json_integer((json_int_t)t->with_family));
		json_object_set_new(x, "result_sha256", json_string(t->result_sha256));
		for (size_t k = 0; k < t->nmessages; k++) {
			json_t *m = json_object();
			json_object_set_new(m, "id", json_integer(t->messages[k].id));
			json_object_set_new(m, "message_id", cli_json_text(t->messages[k].message_id));
			json_array_append_new(msgs, m);
		}
		json_object_set_new(x, "messages", msgs);
		json_array_append_new(terms, x);
	}
	json_object_set_new(o, "terms", terms);
	json_object_set_new(o, "total_hits", json_integer((json_int_t)r->total_hits));
	json_object_set_new(o, "total_with_family", json_integer((json_int_t)r->total_family));
	return cli_json_print(o);
}

static int hit_report(struct pb_ws *ws, const char *case_ref, const char *file,
                      const char *actor, bool csv, bool per_message, bool json)
{
	char **terms = NULL;
	size_t *lines = NULL, n = 0;
	int rc = read_terms(file, &terms, &lines, &n);
	if (rc)
		goto out;
	struct pb_mail_hit_report *r;
	struct pb_error err = { 0 };
	enum pb_status st =
		pb_mail_hit_report(ws, case_ref, (const char *const *)terms, n, actor, &r, &err);
	if (st) {
		if (err.line && err.line <= n) {
			/* name the file line of the bad term */
			uint64_t l = lines[err.line - 1];
			snprintf(err.file, sizeof(err.file), "%s", file);
			err.line = l;
			err.column = 0;
		}
		rc = st == PB_EINVAL ? (cli_fail(&err), 2) : cli_fail(&err);
		goto out;
	}
	if (json) {
		rc = print_report_json(r, case_ref);
	} else if (csv && per_message) {
		printf("term,message_number,message_id\r\n");
		for (size_t i = 0; i < r->nterms; i++) {
			const struct pb_mail_term_report *t = &r->terms[i];
			for (size_t k = 0; k < t->nmessages; k++) {
				csv_str(stdout, t->query);
				printf(",%lld,", (long long)t->messages[k].id);
				csv_str(stdout, t->messages[k].message_id);
				printf("\r\n");
			}
		}
	} else if (csv) {
		printf("term,hits,unique_hits,with_family,result_sha256\r\n");
		for (size_t i = 0; i < r->nterms; i++) {
			const struct pb_mail_term_report *t = &r->terms[i];
			csv_str(stdout, t->query);
			printf(",%llu,%llu,%llu,%s\r\n", (unsigned long long)t->hits,
			       (unsigned long long)t->unique_hits, (unsigned long long)t->with_family,
			       t->result_sha256);
		}
		printf("(all terms),%llu,,%llu,\r\n", (unsigned long long)r->total_hits,
		       (unsigned long long)r->total_family);
	} else {
		const char *h[] = { "term", ">hits", ">unique", ">with family" };
		struct cli_table tb;
		cli_table_init(&tb, 4, h);
		for (size_t i = 0; i < r->nterms; i++) {
			const struct pb_mail_term_report *t = &r->terms[i];
			char a[24], b[24], c[24];
			snprintf(a, sizeof(a), "%llu", (unsigned long long)t->hits);
			snprintf(b, sizeof(b), "%llu", (unsigned long long)t->unique_hits);
			snprintf(c, sizeof(c), "%llu", (unsigned long long)t->with_family);
			const char *row[] = { t->query, a, b, c };
			cli_table_add(&tb, row);
		}
		char a[24], c[24];
		snprintf(a, sizeof(a), "%llu", (unsigned long long)r->total_hits);
		snprintf(c, sizeof(c), "%llu", (unsigned long long)r->total_family);
		const char *row[] = { "(all terms)", a, "", c };
		cli_table_add(&tb, row);
		cli_table_print(&tb, stdout);
		cli_table_release(&tb);
	}
	pb_mail_hit_report_free(r);
out:
	for (size_t i = 0; terms && i < n; i++)
		free(terms[i]);
	free(terms);
	free(lines);
	return rc;
}

/* --export DIR: the hits as a load file with natives and text. */
static int export_hits(struct pb_ws *ws, const char *case_ref, const char *query,
                       const char *dir, const char *actor, const char *prefix)
{
	struct pb_error err = { 0 };
	struct pb_mail_export_options eo = { actor, prefix };
	struct pb_mail_export_report er;
	enum pb_status st = pb_mail_export(ws, case_ref, query, dir, &eo, &er, &err);
	if (st)
		return st == PB_EINVAL && err.column ? (cli_fail(&err), 2) : cli_fail(&err);
	char b[32];
	printf("exported %llu documents (%s of natives) to %s\n"
	       "result sha256   %s\nmanifest sha256 %s\n"
	       "check it with: probity export verify %s\n",
	       (unsigned long long)er.documents, cli_bytes(er.bytes, b, sizeof(b)), dir,
	       er.result_sha256, er.manifest_sha256, dir);
	return 0;
}

/* --ids: one line per Message-ID (messages that share an id appear once). */
static void print_ids(const struct pb_mail_result *r)
{
	char **ids_sorted = malloc((r->nhits ? r->nhits : 1) * sizeof(*ids_sorted));
	for (size_t i = 0; ids_sorted && i < r->nhits; i++)
		ids_sorted[i] = (char *)r->hits[i].message_id;
	if (ids_sorted && r->nhits)
		qsort(ids_sorted, r->nhits, sizeof(*ids_sorted), cmp_strp);
	for (size_t i = 0; ids_sorted && i < r->nhits; i++)
		if (i == 0 || strcmp(ids_sorted[i], ids_sorted[i - 1]))
			puts(ids_sorted[i]);
	free(ids_sorted);
}

/* The hits as text, one a line or (threads) grouped by thread. */
static void print_text(const struct pb_mail_result *r, const char *case_ref, bool threads)
{
	printf("case %s: %llu hit%s in %llu thread%s; result sha256 %s\n", case_ref,
	       (unsigned long long)r->total, r->total == 1 ? "" : "s",
	       (unsigned long long)r->threads, r->threads == 1 ? "" : "s", r->result_sha256);
	if (r->nhits)
		printf("\n");
	if (threads) {
		bool *done = calloc(r->nhits ? r->nhits : 1, sizeof(*done));
		for (size_t i = 0; i < r->nhits && done; i++) {
			if (done[i])
				continue;
			size_t hits_in = 0;
			for (size_t k = i; k < r->nhits; k++)
				hits_in += r->hits[k].thread == r->hits[i].thread;
			printf("thread %lld: %zu of %u message%s match\n", (long long)r->hits[i].thread,
			       hits_in, r->hits[i].thread_size, r->hits[i].thread_size == 1 ? "" : "s");
			for (size_t k = i; k < r->nhits; k++)
				if (r->hits[k].thread == r->hits[i].thread) {
					print_hit(&r->hits[k]);
					done[k] = true;
				}
			printf("\n");
		}
		free(done);
	} else {
		for (size_t i = 0; i < r->nhits; i++)
			print_hit(&r->hits[i]);
	}
	if (r->nhits < r->total)
		printf("\n(%zu of %llu hits shown; --limit 0 shows all)\n", r->nhits,
		       (unsigned long long)r->total);
}

int cmd_search(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "as", required_argument, NULL, 'a' },   { "limit", required_argument, NULL, 'l' },
		{ "newest", no_argument, NULL, 'n' },     { "threads", no_argument, NULL, 't' },
		{ "ids", no_argument, NULL, 'i' },        { "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },        { "terms", required_argument, NULL, 'T' },
		{ "export", required_argument, NULL, 'e' }, { "prefix", required_argument, NULL, 'p' },
		{ "per-message", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *as = NULL, *terms = NULL, *export_dir = NULL, *prefix = NULL;
	unsigned long limit = 50;
	bool limit_set = false, newest = false, threads = false, ids = false, json = false,
	     csv = false, per_message = false;
	int c, rc = 0;
	cli_command("search", usage_text);
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		switch (c) {
		case 'a':
			as = optarg;
			break;
		case 'l':
			if (!cli_parse_uint("search", "--limit", optarg, 100000000, &limit))
				return 2;
			limit_set = true;
			break;
		case 'n':
			newest = true;
			break;
		case 't':
			threads = true;
			break;
		case 'i':
			ids = true;
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			csv = true;
			break;
		case 'P':
			per_message = true;
			break;
		case 'T':
			terms = optarg;
			break;
		case 'e':
			export_dir = optarg;
			break;
		case 'p':
			prefix = optarg;
			break;
		}
	}
	if (c < 0)
		return rc;
	int rest = argc - optind;
	if (terms ? rest != 2 : rest != 3)
		return cli_usage("search", terms ? "expected WS CASE with --terms FILE"
		                                 : "expected WS CASE QUERY (quote the query)");
	if (csv && !terms)
		return cli_usage("search", "--csv is for the hit report (--terms FILE)");
	if (per_message && !(terms && csv))
		return cli_usage("search", "--per-message goes with --terms FILE --csv");
	if (export_dir && (terms || ids || json || threads))
		return cli_usage("search", "--export does not combine with --terms, --ids, --json "
		                           "or --threads");
	if (ids + json + threads > 1)
		return cli_usage("search", "choose one of --ids, --json and --threads");
	if (prefix && !export_dir)
		return cli_usage("search", "--prefix goes with --export DIR");
	const char *case_ref = argv[optind + 1];
	struct pb_ws *ws;
	char actor[PB_USER_NAME_MAX + 1];
	rc = cli_open_ws_as(argv[optind], as, &ws, actor);
	if (rc)
		return rc;
	struct pb_error err = { 0 };
	if (terms) {
		rc = hit_report(ws, case_ref, terms, actor, csv, per_message, json);
		cli_ws_close(ws);
		return rc;
	}
	const char *query = argv[optind + 2];
	if (export_dir) {
		rc = export_hits(ws, case_ref, query, export_dir, actor, prefix);
		cli_ws_close(ws);
		return rc;
	}
	struct pb_mail_search_options so = { actor, 0, newest, NULL, NULL, ids };
	so.limit = ids ? 0 : json && !limit_set ? 0 : limit;
	struct pb_mail_result *r;
	enum pb_status st = pb_mail_search(ws, case_ref, query, &so, &r, &err);
	cli_ws_close(ws);
	if (st)
		return st == PB_EINVAL && err.column ? (cli_fail(&err), 2) : cli_fail(&err);
	if (ids)
		print_ids(r);
	else if (json)
		rc = print_json(r, case_ref);
	else
		print_text(r, case_ref, threads);
	pb_mail_result_free(r);
	return rc;
}
