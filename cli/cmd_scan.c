/* cmd_scan.c - probity scan: evaluate a policy's indicators over a workspace
 * and print the findings, each figure with the records it came from. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity scan [options] WS POLICY\n"
	"\n"
	"Evaluates the indicators of the policy file POLICY over the usage loaded in\n"
	"the workspace WS and prints, per customer (or per billing account with\n"
	"--all), the rules that matched with their severity, every indicator that\n"
	"fired with its figure and threshold, and the citations behind each figure:\n"
	"the source files (SHA-256), the line ranges and the daily aggregates (day,\n"
	"sub-account, service, meter, region) that were summed. Findings are stored\n"
	"in the workspace with an id (F12) that 'probity evidence verify' and the\n"
	"case file take. The policy format is in docs/policy.md.\n"
	"\n"
	"options:\n"
	"  -c, --customer NAME   scan one customer (default: every customer)\n"
	"  -a, --all             scan every billing account in the workspace\n"
	"      --at DATE         scan as of DATE (YYYY-MM-DD): windows end the day\n"
	"                        before (default: the day after the last usage day)\n"
	"  -e, --explain         for entities that did not match, show each indicator's\n"
	"                        figure and how far it is from its threshold, and what\n"
	"                        each rule lacked (parts that fired in different countries)\n"
	"  -n, --no-store        do not record the scan or its findings (read-only)\n"
	"      --as USER         the acting user (analyst or admin) when the scan is recorded;\n"
	"                        default: probity.conf's user. A recorded scan is an entry of\n"
	"                        the audit log.\n"
	"      --json            print the result document (docs/policy.md)\n"
	"  -h, --help            show this help\n"
	"\n"
	"exit status: 0 when the scan ran (with or without findings), 1 on error,\n"
	"2 on a usage error.\n"
	"\n"
	"example:\n"
	"  probity scan ws policies/no-mass-surveillance.yaml --explain\n";

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* A figure as the text shows it: the exact decimal when it is short,
 * else 2 decimals from 100 up and 6 significant digits below (the JSON keeps
 * the exact value: "144795.781171477777778" -> "144795.78"). */
static const char *shown_figure(const char *exact)
{
	static char buf[64];
	const char *dot = strchr(exact, '.');
	if (!dot || strlen(dot + 1) <= 2)
		return exact;
	double v = strtod(exact, NULL);
	if (fabs(v) >= 100)
		snprintf(buf, sizeof(buf), "%.2f", v);
	else
		snprintf(buf, sizeof(buf), "%.6g", v);
	return buf;
}

static void print_indicator(json_t *io, bool cites)
{
	const char *kind = jstr(io, "kind");
	bool fired = json_is_true(json_object_get(io, "fired"));
	printf("    %-6s %s", fired ? "FIRED" : "no", jstr(io, "name"));
	if (!strcmp(kind, "composite")) {
		printf(" (combines other indicators)\n");
		if (json_is_string(json_object_get(io, "explain")))
			printf("           %s\n", jstr(io, "explain"));
		return;
	}
	const char *unit = jstr(io, "unit");
	json_t *fig = json_object_get(io, "figure");
	printf(": %s of %s", jstr(io, "aggregate"), jstr(io, "measure"));
	if (json_is_true(json_object_get(io, "infinite")))
		printf(" = infinite (grew from zero)");
	else if (json_is_string(fig)) {
		if (!strcmp(unit, "share"))
			printf(" = %.4g%%", 100 * strtod(json_string_value(fig), NULL));
		else if (!strcmp(unit, "x"))
			printf(" = %.4gx", strtod(json_string_value(fig), NULL));
		else
			printf(" = %s %s", shown_figure(json_string_value(fig)), unit);
	} else
		printf(" = undefined");
	printf(", threshold %s", jstr(io, "threshold"));
	json_t *w = json_object_get(io, "window");
	printf(", %s..%s", jstr(w, "from"), jstr(w, "to"));
	if (json_is_string(json_object_get(io, "group")))
		printf(", %s", jstr(io, "group"));
	if (json_is_string(json_object_get(io, "month")))
		printf(", peak month %s", jstr(io, "month"));
	printf("\n");
	if (json_is_string(json_object_get(io, "explain")))
		printf("           %s\n", jstr(io, "explain"));
	if (!cites)
		return;
	json_t *cs = json_object_get(io, "citations");
	for (size_t i = 0; i < json_array_size(cs); i++) {
		json_t *c = json_array_get(cs, i);
		json_t *lines = json_object_get(c, "lines");
		printf("           cites %-8s source %s %s\n", jstr(c, "role"), jstr(c, "sha256"),
		       jstr(c, "name"));
		printf("                  %lld aggregates, %lld rows, sum %s",
		       (long long)json_integer_value(json_object_get(c, "aggregates")),
		       (long long)json_integer_value(json_object_get(c, "rows")), jstr(c, "sum"));
		if (json_array_size(lines)) {
			printf(", lines ");
			size_t n = json_array_size(lines);
			for (size_t j = 0; j < n && j < 6; j++)
				printf("%s%s", j ? "," : "", json_string_value(json_array_get(lines, j)));
			if (n > 6)
				printf(",... (%zu ranges, every one in --json)", n);
		}
		printf("\n");
		json_t *keys = json_object_get(c, "keys");
		long long nagg = (long long)json_integer_value(json_object_get(c, "aggregates"));
		long long listed = (long long)json_integer_value(json_object_get(c, "listed"));
		if (!keys)
			printf("                  keys not listed: the total covers every account's "
			       "aggregates\n");
		else if (listed < nagg)
			printf("                  --json lists the keys of %lld of the %lld aggregates; "
			       "'probity evidence verify' recomputes all\n",
			       listed, nagg);
	}
}

static void print_text(json_t *doc, bool explain)
{
	json_t *res = json_object_get(doc, "results");
	printf("policy %s: %s\nclause: %s\nscan at %s over %s: %lld screened, %lld matched, %lld "
	       "finding%s",
	       jstr(doc, "policy"), jstr(doc, "title"), jstr(doc, "clause"), jstr(doc, "at"),
	       jstr(doc, "scope"), (long long)json_integer_value(json_object_get(doc, "entities")),
	       (long long)json_integer_value(json_object_get(doc, "matched")),
	       (long long)json_integer_value(json_object_get(doc, "findings")),
	       json_integer_value(json_object_get(doc, "findings")) == 1 ? "" : "s");
	if (json_is_integer(json_object_get(doc, "scan_id")))
		printf(" (scan %lld)", (long long)json_integer_value(json_object_get(doc, "scan_id")));
	printf("\n");
	for (size_t i = 0; i < json_array_size(res); i++) {
		json_t *r = json_array_get(res, i);
		bool hit = json_is_true(json_object_get(r, "matched"));
		if (!hit && !explain)
			continue;
		json_t *fs = json_object_get(r, "findings");
		printf("\n%s %s\n", jstr(r, "kind"), jstr(r, "entity"));
		for (size_t j = 0; j < json_array_size(fs); j++) {
			json_t *f = json_array_get(fs, j);
			json_t *id = json_object_get(f, "id");
			if (json_is_integer(id))
				printf("  FINDING F%lld", (long long)json_integer_value(id));
			else
				printf("  FINDING (not stored)");
			printf("  severity %s  rule %s", jstr(f, "severity"), jstr(f, "rule"));
			if (json_is_string(json_object_get(f, "group")))
				printf("  in %s %s", jstr(f, "same"), jstr(f, "group"));
			printf("\n");
			if (json_is_string(json_object_get(f, "description")))
				printf("    %s\n", jstr(f, "description"));
			/* the parts in the finding's group, where that is not the
			 * group the indicator reports below (its best) */
			json_t *parts = json_object_get(f, "parts"), *inds = json_object_get(r, "indicators");
			bool head = false;
			for (size_t k = 0; k < json_array_size(parts); k++) {
				json_t *pt = json_array_get(parts, k);
				bool same = false;
				for (size_t m = 0; m < json_array_size(inds); m++) {
					json_t *io = json_array_get(inds, m);
					if (!strcmp(jstr(io, "name"), jstr(pt, "name")))
						same = !strcmp(jstr(io, "group"), jstr(pt, "group"));
				}
				if (same)
					continue;
				if (!head)
					printf("    in %s %s:\n", jstr(f, "same"), jstr(f, "group"));
				head = true;
				print_indicator(pt, true);
			}
		}
		if (!hit) {
			printf("  no rule matched:");
			json_t *rules = json_object_get(r, "rules");
			for (size_t j = 0; j < json_array_size(rules); j++)
				printf("%s %s (%s)", j ? "," : "", jstr(json_array_get(rules, j), "name"),
				       jstr(json_array_get(rules, j), "severity"));
			printf("\n");
			for (size_t j = 0; j < json_array_size(rules); j++)
				if (json_is_string(json_object_get(json_array_get(rules, j), "explain")))
					printf("    rule %s: %s\n", jstr(json_array_get(rules, j), "name"),
					       jstr(json_array_get(rules, j), "explain"));
		}
		json_t *inds = json_object_get(r, "indicators");
		for (size_t j = 0; j < json_array_size(inds); j++)
			print_indicator(json_array_get(inds, j), hit);
	}
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "customer", required_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 'T' },
		{ "explain", no_argument, NULL, 'e' },
		{ "no-store", no_argument, NULL, 'n' },
		{ "as", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_scan_options o = { .scope = PB_SCAN_CUSTOMERS, .at_day = INT64_MIN, .store = true };
	bool json = false, all = false;
	const char *at = NULL;
	int c, rc = 0;
	cli_command("scan", usage_text);
	while ((c = cli_getopt(argc, argv, "c:aen", opts, &rc)) > 0) {
		switch (c) {
		case 'c':
			o.customer = optarg;
			o.scope = PB_SCAN_CUSTOMER;
			break;
		case 'a':
			all = true;
			o.scope = PB_SCAN_ACCOUNTS;
			break;
		case 'T':
			at = optarg;
			break;
		case 'e':
			o.explain = true;
			break;
		case 'n':
			o.store = false;
			break;
		case 'A':
			o.actor = optarg;
			break;
		case 'J':
			json = true;
			break;
		}
	}
	if (c < 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage("scan", "expects a workspace and a policy file");
	if (all && o.customer)
		return cli_usage("scan", "--customer and --all exclude each other");
	if (at) {
		int64_t t;
		unsigned fl;
		if (strlen(at) != 10 || !pb_time_parse(at, strlen(at), &t, &fl))
			return cli_usage("scan", "--at expects a date YYYY-MM-DD, not '%s'", at);
		o.at_day = pb_floordiv(t, 86400);
	}
	struct pb_error err = { 0 };
	struct pb_catalog *cat = NULL;
	struct pb_policy *p = NULL;
	struct pb_ws *ws = NULL;
	char *out = NULL;
	char catdir[4096];
	snprintf(catdir, sizeof(catdir), "%s/catalog", cli_data_dir());
	if (pb_catalog_load(catdir, &cat, &err) || pb_policy_load(argv[optind + 1], cat, &p, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if ((rc = cli_open_ws(argv[optind], o.store ? 0 : PB_WS_READONLY, &ws)))
		goto out;
	o.matched_only = !json && !o.explain; /* the text shows no other entity */
	if (pb_policy_scan(ws, p, &o, &out, &err)) {
		rc = cli_fail(&err);
		goto out;
	}
	if (json) {
		fputs(out, stdout);
		fputc('\n', stdout);
	} else {
		json_error_t je;
		json_t *doc = json_loads(out, 0, &je);
		if (!doc) {
			rc = cli_failf("cannot read the scan result: %s", je.text);
			goto out;
		}
		print_text(doc, o.explain);
		json_decref(doc);
	}
out:
	free(out);
	cli_ws_close(ws);
	pb_policy_free(p);
	pb_catalog_free(cat);
	return rc;
}
