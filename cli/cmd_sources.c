/* cmd_sources.c - probity sources: list the usage exports loaded. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity sources [--json] [--sha256] WS\n"
	"\n"
	"Lists every usage export loaded into the workspace WS, in load order: its id,\n"
	"tree hash root (the evidence reference; 'probity tree' and docs/ingest.md say\n"
	"how it is computed), name, FOCUS version, compression, rows read, accepted and\n"
	"rejected, the days it covers and when it was loaded.\n"
	"\n"
	"options:\n"
	"  --json       one JSON object per source, in an array, with every field\n"
	"               (tree: the file's tree hash; data_tree: that of its\n"
	"               decompressed bytes, which line proofs use)\n"
	"  --sha256     read each source file again for its plain SHA-256 (what sha256sum\n"
	"               prints), check it still has its tree hash, store and print it\n"
	"  -h, --help   show this help\n";

static enum pb_status fetch(struct pb_ws *ws, void **rows, size_t *n, struct pb_error *err)
{
	return pb_usage_sources(ws, (struct pb_source_info **)rows, n, err);
}

static json_t *source_json(const void *row)
{
	const struct pb_source_info *s = row;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(s->id));
	json_object_set_new(o, "sha256", cli_json_text(s->sha256));
	json_object_set_new(o, "tree", s->tree[0] ? cli_json_text(s->tree) : json_null());
	json_object_set_new(o, "data_tree",
	                    s->data_tree[0] ? cli_json_text(s->data_tree) : json_null());
	json_object_set_new(o, "file_sha256",
	                    s->file_sha256[0] ? cli_json_text(s->file_sha256) : json_null());
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
	json_object_set_new(o, "rows_with_warnings", json_integer((json_int_t)s->rows_with_warnings));
	json_object_set_new(o, "first_day", cli_json_text(s->first_day));
	json_object_set_new(o, "last_day", cli_json_text(s->last_day));
	json_object_set_new(o, "names", cli_json_text(s->names));
	json_object_set_new(o, "rejects_file",
	                    s->rejects_file[0] ? cli_json_text(s->rejects_file) : json_null());
	return o;
}

static void source_cells(const void *row, const char **c, char (*buf)[32])
{
	const struct pb_source_info *s = row;
	snprintf(buf[0], sizeof(buf[0]), "%lld", (long long)s->id);
	snprintf(buf[1], sizeof(buf[1]), "%.12s", s->sha256);
	snprintf(buf[2], sizeof(buf[2]), "%llu", (unsigned long long)s->rows_read);
	snprintf(buf[3], sizeof(buf[3]), "%llu", (unsigned long long)s->rows_accepted);
	snprintf(buf[4], sizeof(buf[4]), "%llu", (unsigned long long)s->rows_rejected);
	const char *name = strrchr(s->name, '/') ? strrchr(s->name, '/') + 1 : s->name;
	const char *cells[] = { buf[0],       buf[1], name,   s->version,   s->compression,
		                buf[2],       buf[3], buf[4], s->first_day, s->last_day,
		                s->ingested_at };
	memcpy(c, cells, sizeof(cells));
}

/* --sha256: each source's file SHA-256, computed, checked and stored. */
static int sources_sha256(const char *path, bool json)
{
	struct pb_ws *ws;
	int rc = cli_open_ws(path, 0, &ws);
	if (rc)
		return rc;
	struct pb_source_info *v = NULL;
	size_t n = 0;
	struct pb_error err = { 0 };
	json_t *a = json_array();
	if (pb_usage_sources(ws, &v, &n, &err)) {
		rc = cli_fail(&err);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		struct pb_error e = { 0 };
		json_t *o = json_object();
		json_object_set_new(o, "id", json_integer(v[i].id));
		json_object_set_new(o, "tree", v[i].tree[0] ? cli_json_text(v[i].tree) : json_null());
		if (pb_usage_source_sha256(ws, v[i].id, hex, &e) == PB_OK) {
			json_object_set_new(o, "sha256", json_string(hex));
			if (!json)
				printf("%lld  %s  %s\n", (long long)v[i].id, hex, v[i].name);
		} else {
			json_object_set_new(o, "error", json_string(e.message));
			if (!json)
				rc = cli_fail(&e);
			rc = 1;
		}
		json_array_append_new(a, o);
	}
	if (json)
		cli_json_print(a);
	else
		json_decref(a);
	free(v);
	cli_ws_close(ws);
	return rc;
}

int cmd_sources(int argc, char **argv)
{
	static const char *const h[] = { ">ID",       "ROOT",      "NAME", "FOCUS", "COMP",    ">ROWS",
		                         ">ACCEPTED", ">REJECTED", "FROM", "TO",    "INGESTED" };
	static const struct cli_list list = {
		fetch, sizeof(struct pb_source_info), source_json, CLI_LEN(h), h, source_cells,
		"no sources loaded; add some with 'probity ingest %s FILE'",
	};
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "sha256", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, sha = false;
	int c, rc = 0;
	cli_command("sources", usage_text);
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'J')
			json = true;
		else
			sha = true;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage("sources", "expected one workspace");
	return sha ? sources_sha256(argv[optind], json) : cli_list_print(&list, argv[optind], json);
}
