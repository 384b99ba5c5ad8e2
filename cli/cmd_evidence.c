/* cmd_evidence.c - probity evidence verify: recompute a finding's figures
 * from the source files it cites; evidence prove and check: line proofs. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help_body[] =
	"\n"
	"verify: re-reads every source file that finding FINDING (an id such as F12 or\n"
	"12, as 'probity scan' prints it) cites, checks that its tree hash is the cited one,\n"
	"passes it through the same checks and catalog mapping as ingest (writing\n"
	"nothing), and recomputes each cited sum and each figure from them. Reports a\n"
	"missing or changed source, or a figure that differs.\n"
	"\n"
	"prove: writes into the new folder DIR, for every line range the finding cites,\n"
	"the chunks of the source (decompressed) that hold it, their inclusion proofs in\n"
	"the source's tree hash and the lines' byte offsets (manifest.json).\n"
	"check: verifies such a folder with nothing else (no workspace, no source file):\n"
	"the chunks belong to the tree whose root is ROOT (the source's data tree, as\n"
	"'probity sources --json', ingest and the audit log give it) and every cited\n"
	"range lies in them, from a line start to a line end. docs/ingest.md, 'Line\n"
	"proofs', says what this proves and what it does not.\n"
	"\n"
	"options:\n"
	"      --json              print the report as JSON\n"
	"      --output DIR        (prove) the folder to create\n"
	"      --source-root ROOT  (check) a tree hash, mth-sha256:CHUNK:HEX; repeat it for\n"
	"                          a bundle of several sources\n"
	"  -h, --help              show this help\n"
	"\n"
	"exit status: 0 when everything verifies, 1 when something does not (or on\n"
	"error), 2 on a usage error.\n"
	"\n"
	"examples:\n"
	"  probity evidence verify ws F1\n"
	"  probity evidence prove ws F1 --output f1-proof\n"
	"  probity evidence check f1-proof --source-root mth-sha256:1048576:8706d1...\n";

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
			printf("  source %s %s: %s%s%s\n", js(s, "sha256"), js(s, "path"),
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
	cli_ws_close(ws);
	pb_catalog_free(cat);
	return rc;
}

static int evidence_prove(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *dir = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'J')
			json = true;
		else
			dir = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2 || !dir)
		return cli_usage(cli_cmd_name(), "expected WS FINDING --output DIR");
	struct pb_ws *ws = NULL;
	struct pb_error err = { 0 };
	char *out = NULL;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	if (pb_evidence_prove(ws, argv[optind + 1], dir, &out, &err) != PB_OK) {
		rc = cli_fail(&err);
	} else if (json) {
		puts(out);
	} else {
		json_t *r = json_loads(out, 0, NULL);
		json_t *ss = json_object_get(r, "sources");
		for (size_t i = 0; i < json_array_size(ss); i++) {
			json_t *s = json_array_get(ss, i);
			printf("source %s: %zu line ranges in %zu chunks of %lld (data tree %s)\n",
			       js(s, "name"), json_array_size(json_object_get(s, "ranges")),
			       json_array_size(json_object_get(s, "chunks")),
			       (long long)json_integer_value(json_object_get(s, "leaves")),
			       js(s, "data_tree"));
		}
		printf("proof of %s written to %s (%.3f s)\n", js(r, "finding"), dir,
		       json_real_value(json_object_get(r, "seconds")));
		json_decref(r);
	}
	free(out);
	cli_ws_close(ws);
	return rc;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int evidence_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "source-root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *roots[16];
	size_t nroots = 0;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, opts, &rc)) > 0) {
		if (c == 'J')
			json = true;
		else if (nroots == CLI_LEN(roots))
			return cli_usage(cli_cmd_name(), "at most 16 --source-root");
		else
			roots[nroots++] = optarg;
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1 || nroots == 0)
		return cli_usage(cli_cmd_name(), "expected DIR --source-root ROOT");
	for (size_t i = 0; i < nroots; i++) {
		struct pb_error err = { 0 };
		char *out = NULL;
		double t0 = mono();
		if (pb_line_proof_check(argv[optind], roots[i], &out, &err) != PB_OK) {
			rc = cli_fail(&err);
			continue;
		}
		if (json) {
			puts(out);
		} else {
			json_t *r = json_loads(out, 0, NULL);
			json_t *ss = json_object_get(r, "sources");
			for (size_t j = 0; j < json_array_size(ss); j++) {
				json_t *s = json_array_get(ss, j), *rs = json_object_get(s, "ranges");
				for (size_t k = 0; k < json_array_size(rs); k++) {
					json_t *x = json_array_get(rs, k);
					printf("ok  %s lines %s (bytes %lld-%lld)\n", js(s, "name"),
					       js(x, "lines"),
					       (long long)json_integer_value(json_object_get(x, "start")),
					       (long long)json_integer_value(json_object_get(x, "end")));
				}
			}
			printf("verified against %s (%.3f s)\n", roots[i], mono() - t0);
			json_decref(r);
		}
		free(out);
	}
	return rc;
}

static const struct cli_sub evidence_subs[] = {
	{ "verify", evidence_verify, "[--json] WS FINDING" },
	{ "prove", evidence_prove, "[--json] WS FINDING --output DIR" },
	{ "check", evidence_check, "[--json] DIR --source-root ROOT" },
};

int cmd_evidence(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "evidence", .subs = evidence_subs, .nsubs = 3,
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
