/* cmd_ingest.c - probity ingest: load usage exports into a workspace. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity ingest [options] WS FILE...\n"
	"\n"
	"Loads billing/usage exports into the workspace WS: FOCUS 1.0 to 1.3 (and the\n"
	"column names 1.3 adds), AWS Cost and Usage Reports (legacy and CUR 2.0) and\n"
	"Azure cost details (EA, MCA) mapped onto FOCUS; as CSV, plain, gzip or zstd, or\n"
	"as Parquet (Snappy, gzip, zstd, LZ4 or uncompressed), told apart by their bytes,\n"
	"not their names (docs/ingest.md). A Parquet row's line is its row number.\n"
	"FILE '-' reads standard input; a copy of it is kept in WS/sources/.\n"
	"\n"
	"Each file is registered with its tree hash (docs/ingest.md: SHA-256 over 1 MiB\n"
	"chunks, computed by the parsing threads; 'probity tree FILE' computes it alone),\n"
	"size, FOCUS version and row counts.\n"
	"Every row is either accepted or rejected with a reason; rejected rows are kept,\n"
	"with their original text, in WS/rejects/<root>.rejects.csv. Rows read always\n"
	"equal rows accepted plus rows rejected. Departures from the specification that\n"
	"do not stop a row from being used (Usage-based for Usage-Based, dates without\n"
	"T or Z, unknown regions ...) are counted as warnings by kind and column.\n"
	"Ingesting the same bytes again changes nothing and says so. A failure, or an\n"
	"interruption, leaves the workspace exactly as it was.\n"
	"\n"
	"Accepted rows are summed exactly (decimal) per day, billing account,\n"
	"sub-account, service, SKU meter, capability, region, unit, charge category and\n"
	"currency; each sum remembers the lines it came from. Account and sub-account\n"
	"names are stored as keyed pseudonyms unless the workspace keeps names.\n"
	"\n"
	"options:\n"
	"      --as USER        the acting user, an analyst or admin (default: probity.conf's\n"
	"                       user); each ingest is an entry in the audit log\n"
	"  -j, --threads N      threads in all, reading included (default: one per CPU)\n"
	"      --max-record N   longest record in bytes (default 1048576)\n"
	"      --chunk-size N   bytes handed to a parsing thread at a time (default 4259840;\n"
	"                       at least twice --max-record)\n"
	"      --tree-chunk N   bytes a leaf of the tree hash (default 1048576; 64 to 16777216)\n"
	"      --catalog DIR    catalog folder (default: the one shipped with probity)\n"
	"      --json           print the ingest reports as JSON\n"
	"  -q, --quiet          print nothing but errors\n"
	"  -h, --help           show this help\n"
	"\n"
	"A progress bar (bytes, rows/s, time left) is drawn on standard error when it\n"
	"is a terminal. Exit status: 0 when every file was ingested (or was already),\n"
	"1 when any file failed (the others are still ingested), 2 on bad usage.\n"
	"\n"
	"examples:\n"
	"  probity ingest ws exports/2025-*.csv.gz\n"
	"  zstd -dc big.csv.zst | probity ingest ws -\n";

static json_t *report_json(const struct pb_ingest_report *r, const char *error)
{
	json_t *o = json_object();
	json_object_set_new(o, "file", cli_json_text(r->name));
	if (error) {
		json_object_set_new(o, "error", cli_json_text(error));
		return o;
	}
	json_object_set_new(o, "sha256", cli_json_text(r->sha256));
	json_object_set_new(o, "tree", r->tree[0] ? cli_json_text(r->tree) : json_null());
	json_object_set_new(o, "data_tree", r->data_tree[0] ? cli_json_text(r->data_tree) : json_null());
	json_object_set_new(o, "already_ingested", json_boolean(r->already));
	json_object_set_new(o, "source_id", json_integer(r->source_id));
	json_object_set_new(o, "size", json_integer((json_int_t)r->size));
	json_object_set_new(o, "compression", cli_json_text(r->compression));
	json_object_set_new(o, "format", cli_json_text(r->format));
	json_object_set_new(o, "focus_version", cli_json_text(r->version));
	json_object_set_new(o, "rows_read", json_integer((json_int_t)r->rows_read));
	json_object_set_new(o, "rows_accepted", json_integer((json_int_t)r->rows_accepted));
	json_object_set_new(o, "rows_rejected", json_integer((json_int_t)r->rows_rejected));
	json_object_set_new(o, "rows_with_warnings", json_integer((json_int_t)r->rows_with_warnings));
	json_object_set_new(o, "blank_lines", json_integer((json_int_t)r->blank_lines));
	json_object_set_new(o, "aggregates", json_integer((json_int_t)r->aggregates));
	json_object_set_new(o, "columns", json_integer((json_int_t)r->columns));
	json_object_set_new(o, "columns_ignored", json_integer((json_int_t)r->columns_ignored));
	json_object_set_new(o, "first_day", cli_json_text(r->first_day));
	json_object_set_new(o, "last_day", cli_json_text(r->last_day));
	json_object_set_new(o, "names", cli_json_text(r->names));
	json_object_set_new(o, "missing_mandatory_columns", cli_json_text(r->missing_mandatory));
	json_object_set_new(o, "rejects_file", r->rejects_path[0] ? cli_json_text(r->rejects_path)
	                                                          : json_null());
	json_object_set_new(o, "seconds", json_real(r->seconds));
	json_object_set_new(o, "threads", json_integer(r->threads));
	json_t *ws = json_array();
	for (size_t i = 0; i < r->nwarnings; i++) {
		const struct pb_ingest_warning *w = &r->warnings[i];
		json_t *x = json_object();
		json_object_set_new(x, "kind", cli_json_text(w->kind));
		json_object_set_new(x, "column", cli_json_text(w->column));
		json_object_set_new(x, "rows", json_integer((json_int_t)w->count));
		json_object_set_new(x, "first_line", json_integer((json_int_t)w->first_line));
		json_object_set_new(x, "meaning", cli_json_text(w->text));
		if (w->example[0])
			json_object_set_new(x, "examples", cli_json_text(w->example));
		json_array_append_new(ws, x);
	}
	json_object_set_new(o, "warnings", ws);
	return o;
}

static void print_report(const struct pb_ingest_report *r)
{
	char size[32];
	cli_bytes(r->size, size, sizeof(size));
	if (r->already) {
		printf("'%s': already ingested (source %lld, root %.16s...): nothing changed\n",
		       r->name, (long long)r->source_id, r->sha256);
		return;
	}
	/* a Parquet file as such; else the compression of its CSV */
	bool pq = strcmp(r->compression, "parquet") == 0;
	const char *how = pq ? "Parquet" : "compression ", *comp = pq ? "" : r->compression;
	if (strcmp(r->format, "focus") == 0)
		printf("ingested '%s': FOCUS %s, %s, %s%s, tree %s\n", r->name, r->version, size, how,
		       comp, r->tree);
	else
		printf("ingested '%s': %s %s export mapped onto FOCUS, %s, %s%s, tree %s\n", r->name,
		       strcmp(r->format, "aws-cur") == 0 ? "AWS CUR" : "Azure cost", r->version, size,
		       how, comp, r->tree);
	if (strcmp(r->tree, r->data_tree) != 0)
		printf("  decompressed bytes: tree %s\n", r->data_tree);
	printf("  rows: %llu read = %llu accepted + %llu rejected; %llu with warnings",
	       (unsigned long long)r->rows_read, (unsigned long long)r->rows_accepted,
	       (unsigned long long)r->rows_rejected, (unsigned long long)r->rows_with_warnings);
	if (r->blank_lines)
		printf("; %llu blank lines skipped", (unsigned long long)r->blank_lines);
	printf("\n");
	if (r->aggregates)
		printf("  stored: %llu daily aggregates, %s to %s, names %s\n",
		       (unsigned long long)r->aggregates, r->first_day, r->last_day, r->names);
	if (r->columns_ignored)
		printf("  columns: %zu, of which %zu not FOCUS (ignored)\n", r->columns,
		       r->columns_ignored);
	if (r->missing_mandatory[0])
		printf("  not conformant: mandatory FOCUS %s columns absent: %s\n", r->version,
		       r->missing_mandatory);
	if (r->rejects_path[0])
		printf("  rejected rows (line, column, reason, original text): %s\n", r->rejects_path);
	if (r->nwarnings) {
		printf("  warnings (rows accepted):\n");
		for (size_t i = 0; i < r->nwarnings; i++) {
			const struct pb_ingest_warning *w = &r->warnings[i];
			printf("    %-24s %-26s %8llu rows, first line %llu: %s%s%s%s\n", w->kind,
			       w->column, (unsigned long long)w->count,
			       (unsigned long long)w->first_line, w->text, w->example[0] ? " (" : "",
			       w->example, w->example[0] ? ")" : "");
		}
	}
	double rate = r->seconds > 0 ? (double)r->size / r->seconds : 0;
	char rs[32];
	cli_bytes((uint64_t)rate, rs, sizeof(rs));
	printf("  time: %.2f s (%s/s, %u threads)\n", r->seconds, rs, r->threads);
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 'j' },
		{ "as", required_argument, NULL, 'A' },
		{ "max-record", required_argument, NULL, 'm' },
		{ "chunk-size", required_argument, NULL, 'C' },
		{ "tree-chunk", required_argument, NULL, 'T' },
		{ "catalog", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_ingest_options o = { 0 };
	const char *catalog = NULL;
	bool json = false, quiet = false;
	unsigned long v;
	int c, rc = 0;
	cli_command("ingest", usage_text);
	while ((c = cli_getopt(argc, argv, "j:q", opts, &rc)) > 0) {
		switch (c) {
		case 'j':
			if (!cli_parse_uint("ingest", "--threads", optarg, 64, &v))
				return 2;
			o.threads = (unsigned)v;
			break;
		case 'm':
			if (!cli_parse_uint("ingest", "--max-record", optarg, 1ul << 30, &v) || v < 1024)
				return cli_usage("ingest", "--max-record must be from 1024 to 1073741824");
			o.max_record = v;
			break;
		case 'c':
			catalog = optarg;
			break;
		case 'A':
			o.actor = optarg;
			break;
		case 'C':
			if (!cli_parse_uint("ingest", "--chunk-size", optarg, 1ul << 30, &v) || v < 65536)
				return cli_usage("ingest", "--chunk-size must be from 65536 to 1073741824");
			o.chunk_size = v;
			break;
		case 'T':
			if (!cli_parse_uint("ingest", "--tree-chunk", optarg, 16ul << 20, &v) || v < 64)
				return cli_usage("ingest", "--tree-chunk must be from 64 to 16777216");
			o.tree_chunk = v;
			break;
		case 'J':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind < 2)
		return cli_usage("ingest", "expected a workspace and at least one file");
	struct pb_ws *ws;
	rc = cli_open_ws(argv[optind], 0, &ws);
	if (rc)
		return rc;
	char catdir[4096];
	if (catalog)
		snprintf(catdir, sizeof(catdir), "%s", catalog);
	else
		snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	struct pb_catalog *cat;
	struct pb_error err = { 0 };
	if (pb_catalog_load(catdir, &cat, &err) != PB_OK) {
		cli_ws_close(ws);
		return cli_fail(&err);
	}
	json_t *all = json ? json_array() : NULL;
	int failed = 0;
	for (int i = optind + 1; i < argc; i++) {
		struct pb_ingest_report rep;
		char label[64];
		snprintf(label, sizeof(label), "ingest %.40s", argv[i]);
		struct cli_progress *pg = quiet || json ? NULL : cli_progress_new(label);
		o.progress = pg ? cli_progress_cb : NULL;
		o.progress_ctx = pg;
		memset(&err, 0, sizeof(err));
		enum pb_status st = pb_usage_ingest(ws, cat, argv[i], &o, &rep, &err);
		cli_progress_done(pg);
		if (st != PB_OK) {
			failed++;
			char buf[1024];
			if (json)
				json_array_append_new(all, report_json(&rep, pb_error_format(&err, buf, sizeof(buf))));
			cli_fail(&err);
			continue;
		}
		if (json)
			json_array_append_new(all, report_json(&rep, NULL));
		else if (!quiet)
			print_report(&rep);
		pb_ingest_report_release(&rep);
	}
	if (json) {
		cli_json_print(all);
	}
	pb_catalog_free(cat);
	cli_ws_close(ws);
	return failed ? 1 : 0;
}
