/* cmd_sources.c - probity sources: list the usage exports loaded. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity sources [--json] WS\n"
	"\n"
	"Lists every usage export loaded into the workspace WS, in load order: its id,\n"
	"SHA-256 (the evidence reference), name, FOCUS version, compression, rows read,\n"
	"accepted and rejected, the days it covers and when it was loaded.\n"
	"\n"
	"options:\n"
	"  --json       one JSON object per source, in an array, with every field\n"
	"  -h, --help   show this help\n";

int cmd_sources(int argc, char **argv)
{
	bool json;
	int rc = cli_basic_opts(argc, argv, "sources", usage_text, &json, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (argc - optind != 1)
		return cli_usage("sources", "expected one workspace");
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_source_info *v;
	size_t n;
	struct pb_error err = { 0 };
	if (pb_usage_sources(ws, &v, &n, &err) != PB_OK) {
		pb_ws_close(ws);
		return cli_fail(&err);
	}
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct pb_source_info *s = &v[i];
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(s->id));
			json_object_set_new(o, "sha256", cli_json_text(s->sha256));
			json_object_set_new(o, "size", json_integer((json_int_t)s->size));
			json_object_set_new(o, "name", cli_json_text(s->name));
			json_object_set_new(o, "path", cli_json_text(s->path));
			json_object_set_new(o, "compression", cli_json_text(s->compression));
			json_object_set_new(o, "format", cli_json_text(s->format));
			json_object_set_new(o, "focus_version", cli_json_text(s->version));
			json_object_set_new(o, "ingested_at", cli_json_text(s->ingested_at));
			json_object_set_new(o, "rows_read", json_integer((json_int_t)s->rows_read));
			json_object_set_new(o, "rows_accepted", json_integer((json_int_t)s->rows_accepted));
			json_object_set_new(o, "rows_rejected", json_integer((json_int_t)s->rows_rejected));
			json_object_set_new(o, "rows_with_warnings",
			                    json_integer((json_int_t)s->rows_with_warnings));
			json_object_set_new(o, "first_day", cli_json_text(s->first_day));
			json_object_set_new(o, "last_day", cli_json_text(s->last_day));
			json_object_set_new(o, "names", cli_json_text(s->names));
			json_object_set_new(o, "rejects_file",
			                    s->rejects_file[0] ? cli_json_text(s->rejects_file) : json_null());
			json_array_append_new(a, o);
		}
		cli_json_print(a);
	} else if (n == 0) {
		printf("no sources loaded; add some with 'probity ingest %s FILE'\n", argv[optind]);
	} else {
		static const char *const h[] = { ">ID", "SHA256", "NAME", "FOCUS", "COMP", ">ROWS",
			                         ">ACCEPTED", ">REJECTED", "FROM", "TO", "INGESTED" };
		struct cli_table t;
		cli_table_init(&t, 11, h);
		for (size_t i = 0; i < n; i++) {
			const struct pb_source_info *s = &v[i];
			char id[24], sha[20], rows[24], acc[24], rej[24];
			snprintf(id, sizeof(id), "%lld", (long long)s->id);
			snprintf(sha, sizeof(sha), "%.12s", s->sha256);
			snprintf(rows, sizeof(rows), "%llu", (unsigned long long)s->rows_read);
			snprintf(acc, sizeof(acc), "%llu", (unsigned long long)s->rows_accepted);
			snprintf(rej, sizeof(rej), "%llu", (unsigned long long)s->rows_rejected);
			const char *name = strrchr(s->name, '/') ? strrchr(s->name, '/') + 1 : s->name;
			const char *cells[] = { id, sha, name, s->version, s->compression, rows, acc, rej,
				                s->first_day, s->last_day, s->ingested_at };
			cli_table_add(&t, cells);
		}
		cli_table_print(&t, stdout);
		cli_table_release(&t);
	}
	free(v);
	pb_ws_close(ws);
	return 0;
}
