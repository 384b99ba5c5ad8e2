/* cmd_policy.c - probity policy: check a policy file, compile it to SQL, and
 * print the tables the compiled SQL reads. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char help_body[] =
	"\n"
	"Policy files say, in YAML, what a breach of the acceptable-use policy looks\n"
	"like in usage data: indicators (which usage, over which window, aggregated\n"
	"how, against which threshold) and rules that combine them into findings with\n"
	"a severity. docs/policy.md is the reference; policies/ has examples.\n"
	"\n"
	"  check    parse and check each FILE against the catalog; errors are printed\n"
	"           as file:line:column: message (hint). Exit 0 when all are valid.\n"
	"  sql      compile FILE's indicators into one SQL query over the table\n"
	"           focus_cost_and_usage (FOCUS column names) and the catalog tables\n"
	"           probity_region, probity_unit, probity_capability. The query gives\n"
	"           one row per billing account and indicator (entity, kind, name,\n"
	"           period, figure, infinite, fired, severity) and one per matched\n"
	"           rule: the same findings as 'probity scan --all'. With --by\n"
	"           customer, one row per customer of the table probity_customer\n"
	"           instead: the same findings as 'probity scan' (every customer).\n"
	"  tables   print the DDL of those tables and the rows of the catalog tables\n"
	"           (with WS: the capability of every service/meter/category seen in\n"
	"           it, and its customers as probity_customer rows; with --usage,\n"
	"           also WS's daily aggregates as FOCUS rows)\n"
	"\n"
	"options:\n"
	"  -d, --dialect D   sqlite, postgresql, duckdb, trino or spark (default sqlite)\n"
	"      --at DATE     scan date YYYY-MM-DD; windows end the day before (default:\n"
	"                    today, UTC)\n"
	"  -b, --by E        sql: evaluate per 'account' (billing account, the default)\n"
	"                    or per 'customer' (rows mapped by probity_customer)\n"
	"  -u, --usage       tables: include the workspace's usage rows\n"
	"  -h, --help        show this help\n"
	"\n"
	"examples:\n"
	"  probity policy check policies/*.yaml\n"
	"  probity policy sql --dialect postgresql --at 2026-11-01 policies/no-mass-surveillance.yaml\n"
	"  probity policy sql --dialect postgresql --by customer policies/no-mass-surveillance.yaml\n"
	"  probity policy tables --dialect postgresql review > tables.sql\n";

static int load_cat(struct pb_catalog **cat, char *dir, size_t cap)
{
	struct pb_error err = { 0 };
	snprintf(dir, cap, "%s/catalog", cli_data_dir());
	if (pb_catalog_load(dir, cat, &err))
		return cli_fail(&err);
	return 0;
}

static int policy_check(int argc, char **argv)
{
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, NULL, NULL, &rc)) > 0)
		;
	if (c < 0)
		return rc;
	if (optind >= argc)
		return cli_usage(cli_cmd_name(), "expected one or more policy files");
	argc -= optind;
	argv += optind;
	struct pb_catalog *cat = NULL;
	char dir[4096];
	if ((rc = load_cat(&cat, dir, sizeof(dir))))
		return rc;
	for (int i = 0; i < argc; i++) {
		struct pb_error err = { 0 };
		struct pb_policy *p;
		if (pb_policy_load(argv[i], cat, &p, &err)) {
			char buf[1024];
			fprintf(stderr, "%s\n", pb_error_format(&err, buf, sizeof(buf)));
			rc = 1;
			continue;
		}
		printf("%s: ok: policy '%s', %zu indicator%s, %zu rule%s, sha256 %s\n", argv[i],
		       pb_policy_name(p), pb_policy_indicator_count(p),
		       pb_policy_indicator_count(p) == 1 ? "" : "s", pb_policy_rule_count(p),
		       pb_policy_rule_count(p) == 1 ? "" : "s", pb_policy_sha256(p));
		pb_policy_free(p);
	}
	pb_catalog_free(cat);
	return rc;
}

/* --dialect D */
static int parse_dialect(const char *s, enum pb_sql_dialect *d)
{
	if (!pb_sql_dialect_parse(s, d))
		return cli_usage(cli_cmd_name(),
		                 "unknown dialect '%s' (sqlite, postgresql, duckdb, trino, spark)", s);
	return 0;
}

static int policy_sql(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dialect", required_argument, NULL, 'd' },
		{ "at", required_argument, NULL, 'T' },
		{ "by", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	enum pb_sql_dialect d = PB_SQL_SQLITE;
	enum pb_sql_entity by = PB_SQL_BY_ACCOUNT;
	const char *at = NULL;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, "d:b:", opts, &rc)) > 0) {
		if (c == 'd' && (rc = parse_dialect(optarg, &d)))
			return rc;
		if (c == 'T')
			at = optarg;
		if (c != 'b')
			continue;
		if (!strcmp(optarg, "account") || !strcmp(optarg, "accounts"))
			by = PB_SQL_BY_ACCOUNT;
		else if (!strcmp(optarg, "customer") || !strcmp(optarg, "customers"))
			by = PB_SQL_BY_CUSTOMER;
		else
			return cli_usage(cli_cmd_name(), "--by expects 'account' or 'customer', not '%s'",
			                 optarg);
	}
	if (c < 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cli_cmd_name(), "expected one policy file");
	int64_t day = pb_floordiv(pb_now(), 86400);
	if (at) {
		int64_t t;
		unsigned fl;
		if (strlen(at) != 10 || !pb_time_parse(at, strlen(at), &t, &fl))
			return cli_usage(cli_cmd_name(), "--at expects a date YYYY-MM-DD, not '%s'", at);
		day = pb_floordiv(t, 86400);
	}
	struct pb_catalog *cat = NULL;
	struct pb_error err = { 0 };
	char dir[4096];
	if ((rc = load_cat(&cat, dir, sizeof(dir))))
		return rc;
	struct pb_policy *p = NULL;
	char *sql = NULL;
	if (pb_policy_load(argv[optind], cat, &p, &err) ||
	    pb_policy_sql_by(p, d, day, by, &sql, &err))
		rc = cli_fail(&err);
	else
		fputs(sql, stdout);
	free(sql);
	pb_policy_free(p);
	pb_catalog_free(cat);
	return rc;
}

static int policy_tables(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dialect", required_argument, NULL, 'd' },
		{ "usage", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	enum pb_sql_dialect d = PB_SQL_SQLITE;
	bool usage = false;
	int c, rc = 0;
	while ((c = cli_getopt(argc, argv, "d:u", opts, &rc)) > 0) {
		if (c == 'd' && (rc = parse_dialect(optarg, &d)))
			return rc;
		if (c == 'u')
			usage = true;
	}
	if (c < 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cli_cmd_name(), "takes at most one workspace");
	if (usage && argc - optind != 1)
		return cli_usage(cli_cmd_name(), "--usage needs a workspace");
	struct pb_catalog *cat = NULL;
	struct pb_error err = { 0 };
	char dir[4096];
	if ((rc = load_cat(&cat, dir, sizeof(dir))))
		return rc;
	struct pb_ws *ws = NULL;
	if (argc - optind == 1 && (rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws))) {
		pb_catalog_free(cat);
		return rc;
	}
	if (pb_policy_sql_tables(ws, cat, dir, d, usage, stdout, &err))
		rc = cli_fail(&err);
	cli_ws_close(ws);
	pb_catalog_free(cat);
	return rc;
}

static const struct cli_sub policy_subs[] = {
	{ "check", policy_check, "FILE..." },
	{ "sql", policy_sql, "[--dialect D] [--at DATE] [--by account|customer] FILE" },
	{ "tables", policy_tables, "[--dialect D] [--usage] [WS]" },
};

int cmd_policy(int argc, char **argv)
{
	static const struct cli_cmd cmd = {
		.name = "policy", .subs = policy_subs, .nsubs = CLI_LEN(policy_subs),
		.body = help_body,
	};
	return cli_dispatch(&cmd, argc, argv);
}
