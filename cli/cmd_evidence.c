/* cmd_evidence.c - probity evidence verify: recompute a finding's figures
 * from the source files it cites. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char help_body[] =
	"\n"
	"Re-reads every source file that finding FINDING (an id such as F12 or 12, as\n"
	"'probity scan' prints it) cites, checks that its SHA-256 is the one cited,\n"
	"passes it through the same checks and catalog mapping as ingest (writing\n"
	"nothing), and recomputes each cited sum and each figure from them. Reports a\n"
	"missing or changed source, or a figure that differs.\n"
	"\n"
	"options:\n"
	"      --json   print the verification report as JSON\n"
	"  -h, --help   show this help\n"
	"\n"
	"exit status: 0 when everything verifies, 1 when something does not (or on\n"
	"error), 2 on a usage error.\n"
	"\n"
	"example:\n"
	"  probity evidence verify ws F1\n";

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int evidence_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0)
		json = true;
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(cli_cmd_name(), "expected WS FINDING");
	struct pb_error err = { 0 };
	struct pb_catalog *cat = NULL;
	struct pb_ws *ws = NULL;
	char *out = NULL, dir[4096];
	snprintf(dir, sizeof(dir), "%s/catalog", cli_data_dir());
	if (pb_catalog_load(dir, &cat, &err))
		return cli_fail(&err);
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		goto done;
	enum pb_status st = pb_evidence_verify(ws, cat, argv[optind + 1], &out, &err);
	if (!out) {
		rc = cli_fail(&err);
		goto done;
	}
	if (json) {
		puts(out);
	} else {
		json_t *r = json_loads(out, 0, NULL);
		printf("finding F%lld: policy %s, rule %s, %s, at %s\n",
		       (long long)json_integer_value(json_object_get(r, "finding")), js(r, "policy"),
		       js(r, "rule"), js(r, "entity"), js(r, "at"));
		json_t *ss = json_object_get(r, "sources");
		for (size_t i = 0; i < json_array_size(ss); i++) {
			json_t *s = json_array_get(ss, i);
			printf("  source sha256:%s %s: %s%s%s\n", js(s, "sha256"), js(s, "path"),
			       js(s, "status"), *js(s, "detail") ? ": " : "", js(s, "detail"));
			json_t *cs = json_object_get(s, "citations");
			for (size_t j = 0; j < json_array_size(cs); j++) {
				json_t *x = json_array_get(cs, j);
				printf("    %-5s %s (%s): cited %s, recomputed %s from %lld aggregates\n",
				       json_is_true(json_object_get(x, "match")) ? "ok" : "DIFF",
				       js(x, "indicator"), js(x, "role"), js(x, "cited"), js(x, "recomputed"),
				       (long long)json_integer_value(json_object_get(x, "aggregates")));
			}
		}
		json_t *fs = json_object_get(r, "figures");
		for (size_t i = 0; i < json_array_size(fs); i++) {
			json_t *x = json_array_get(fs, i);
			json_t *cf = json_object_get(x, "cited");
			/* a part of a 'same:' finding, in the finding's group */
			json_t *g = json_object_get(x, "group");
			printf("  %-5s figure %s%s%s: cited %s, recomputed %s\n",
			       json_is_true(json_object_get(x, "match")) ? "ok" : "DIFF", js(x, "indicator"),
			       json_is_string(g) ? " in " : "", json_is_string(g) ? json_string_value(g) : "",
			       json_is_string(cf) ? json_string_value(cf) : "null", js(x, "recomputed"));
		}
		printf("%s\n", json_is_true(json_object_get(r, "verified")) ? "verified"
		                                                            : "NOT VERIFIED");
		json_decref(r);
	}
	if (st) {
		rc = cli_fail(&err);
	}
done:
	free(out);
	pb_ws_close(ws);
	pb_catalog_free(cat);
	return rc;
}

static const struct cli_sub evidence_subs[] = {
	{ "verify", evidence_verify, "[--json] WS FINDING" },
};

int cmd_evidence(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "evidence", .subs = evidence_subs, .nsubs = 1,
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
