/* test_policy_sql.c - the compiled SQL by account and by customer: the
 * account mode is the default, and by customer the rows go to the customers
 * of probity_customer by the native scan's rules (run here on SQLite). */
#include "unit.h"

#include "policy/policy.h"

#include <sqlite3.h>

static struct pb_catalog *cat;

static const char pol[] = "policy: t\ndescription: d\nclause: c\n"
                          "indicators:\n  a:\n    select:\n      category: Storage\n"
                          "    measure: billed-cost\n    window: last 30 days\n"
                          "    threshold: \">= 10 EUR\"\n"
                          "rules:\n  r:\n    severity: high\n    when: a\n";

#define AT 20120 /* 2025-02-01 */

static struct pb_policy *load(void)
{
	struct pb_error e = { 0 };
	struct pb_policy *p = NULL;
	CHECK_OK(pb_policy_parse(pol, strlen(pol), "t.yaml", cat, &p, &e), &e);
	return p;
}

static void t_modes(void)
{
	struct pb_policy *p = load();
	if (!p)
		return;
	struct pb_error e = { 0 };
	for (int d = 0; d < PB_SQL_DIALECT_COUNT; d++) {
		char *a = NULL, *b = NULL, *c = NULL;
		CHECK_OK(pb_policy_sql(p, (enum pb_sql_dialect)d, AT, &a, &e), &e);
		CHECK_OK(pb_policy_sql_by(p, (enum pb_sql_dialect)d, AT, PB_SQL_BY_ACCOUNT, &b, &e), &e);
		CHECK_OK(pb_policy_sql_by(p, (enum pb_sql_dialect)d, AT, PB_SQL_BY_CUSTOMER, &c, &e), &e);
		CHECK(a && b && !strcmp(a, b)); /* the default is by account */
		CHECK(a && !strstr(a, "probity_customer"));
		CHECK(c && strstr(c, "ent AS (SELECT DISTINCT customer AS entity FROM probity_customer)"));
		CHECK(c && strstr(c, "coalesce(cb.customer, cs.customer) AS entity"));
		free(a);
		free(b);
		free(c);
	}
	char *x = NULL;
	CHECK_INT(pb_policy_sql_by(p, PB_SQL_SQLITE, AT, (enum pb_sql_entity)7, &x, &e), PB_EINVAL);
	CHECK(x == NULL && strstr(e.message, "by account or by customer"));
	pb_policy_free(p);
}

static const char rows[] =
	"INSERT INTO focus_cost_and_usage (BillingAccountId, SubAccountId, ServiceCategory, "
	"ServiceName, ChargeCategory, BillingCurrency, ChargePeriodStart, BilledCost) VALUES "
	"('B1', 's1', 'Storage', 'Storage Accounts', 'Usage', 'EUR', '2025-01-15 00:00:00', 20),"
	"('B1', 's2', 'Storage', 'Storage Accounts', 'Usage', 'EUR', '2025-01-15 00:00:00', 5),"
	"('B2', 's3', 'Storage', 'Storage Accounts', 'Usage', 'EUR', '2025-01-15 00:00:00', 12),"
	"('B2', 's4', 'Storage', 'Storage Accounts', 'Usage', 'EUR', '2025-01-15 00:00:00', 100),"
	"('B3', 's5', 'Storage', 'Storage Accounts', 'Usage', 'EUR', '2025-01-15 00:00:00', 50),"
	"('B4', NULL, 'Storage', 'Storage Accounts', 'Usage', 'EUR', '2025-01-15 00:00:00', 7);"
	/* a whole billing account; a sub-account of B2 (s4 is nobody's); B3
	 * owned whole and its s5 too (the billing account wins); B4 listed
	 * twice (the first name wins); a customer without usage */
	"INSERT INTO probity_customer VALUES ('Whole', 'B1', NULL), ('Sub', 'B2', 's3'),"
	"('Whole2', 'B3', NULL), ('SubClash', NULL, 's5'), ('Dup-b', 'B4', NULL),"
	"('Dup-a', 'B4', NULL), ('Ghost', NULL, 'zz');";

static void t_customers_on_sqlite(void)
{
	struct pb_policy *p = load();
	if (!p)
		return;
	struct pb_error e = { 0 };
	char *ddl = NULL, *sql = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&ddl, &n);
	CHECK_OK(pb_policy_sql_tables(NULL, cat, "data/catalog", PB_SQL_SQLITE, false, f, &e), &e);
	fclose(f);
	CHECK_OK(pb_policy_sql_by(p, PB_SQL_SQLITE, AT, PB_SQL_BY_CUSTOMER, &sql, &e), &e);
	sqlite3 *db = NULL;
	char *msg = NULL;
	CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, ddl, NULL, NULL, &msg), SQLITE_OK);
	sqlite3_free(msg);
	msg = NULL;
	CHECK_INT(sqlite3_exec(db, rows, NULL, NULL, &msg), SQLITE_OK);
	sqlite3_free(msg);
	/* sql ends with ';\n' after one statement */
	sqlite3_stmt *q = NULL;
	CHECK_INT(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	char got[1024] = "";
	size_t len = 0;
	while (q && sqlite3_step(q) == SQLITE_ROW) {
		const char *ent = (const char *)sqlite3_column_text(q, 0);
		const char *kind = (const char *)sqlite3_column_text(q, 1);
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s %s %g %d;", ent, kind,
		                        sqlite3_column_double(q, 4), sqlite3_column_int(q, 6));
		if (len >= sizeof(got))
			break;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	CHECK_STR(got, "Dup-a indicator 7 0;Dup-b indicator 0 0;Ghost indicator 0 0;"
	               "Sub indicator 12 1;Sub rule 0 1;SubClash indicator 0 0;"
	               "Whole indicator 25 1;Whole rule 0 1;Whole2 indicator 50 1;Whole2 rule 0 1;");
	free(ddl);
	free(sql);
	pb_policy_free(p);
}

int main(void)
{
	struct pb_error e = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &e)) {
		fprintf(stderr, "catalog: %s\n", e.message);
		return 2;
	}
	RUN(t_modes);
	RUN(t_customers_on_sqlite);
	pb_catalog_free(cat);
	return UNIT_END("policy_sql");
}
