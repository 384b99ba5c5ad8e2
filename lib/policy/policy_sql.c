/* policy_sql.c - indicators compiled to SQL for other engines, and the tables
 * that SQL reads.
 *
 * The query follows the semantics of the native scan (docs/policy.md) step by
 * step: usage rows with catalog fields (u), per indicator the contributing
 * rows (c_), sums per entity, period and group (g_), candidates with figure
 * and fired flag (k_), the best candidate per entity (b_, ROW_NUMBER in the
 * same order as the native scan), and rules as 0/1 arithmetic over the fired
 * flags. A 'same:' expression is a column of its own, from the fired flags
 * of its parts per entity and group (gs, sv). Day and month numbers are
 * integers, so windows need no date arithmetic in any dialect; only the few
 * expressions in struct dialect differ.
 *
 * The entity is the billing account, or (by customer) the customer that
 * owns the row in probity_customer: the owner of its whole billing account,
 * else the owner of its sub-account, as the native scan maps rows. Rows of
 * no customer still count in the totals of share-of-region.
 */
#include "policy/policy.h"
#include "usage/catalog.h"
#include "util/hmap.h"

#include <errno.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct dialect {
	const char *name;
	const char *num;      /* the type sums are taken in */
	const char *text;     /* a text type */
	const char *ddl_num;  /* column type of amounts in the DDL */
	const char *ddl_ts;   /* column type of ChargePeriodStart */
	bool recursive;       /* months by a recursive CTE */
	bool backslash;       /* string literals treat backslash as an escape */
};

static const struct dialect dialects[PB_SQL_DIALECT_COUNT] = {
	{ "sqlite", "REAL", "TEXT", "REAL", "TEXT", true, false },
	{ "postgresql", "NUMERIC", "VARCHAR", "NUMERIC", "TIMESTAMP", false, false },
	{ "duckdb", "DOUBLE", "VARCHAR", "DECIMAL(38,15)", "TIMESTAMP", false, false },
	{ "trino", "DOUBLE", "VARCHAR", "DECIMAL(38,15)", "TIMESTAMP", false, false },
	{ "spark", "DOUBLE", "STRING", "DECIMAL(38,15)", "TIMESTAMP", false, true },
};

bool pb_sql_dialect_parse(const char *name, enum pb_sql_dialect *out)
{
	for (int i = 0; i < PB_SQL_DIALECT_COUNT; i++)
		if (!strcmp(name, dialects[i].name)) {
			*out = (enum pb_sql_dialect)i;
			return true;
		}
	if (!strcmp(name, "postgres") || !strcmp(name, "pg")) {
		*out = PB_SQL_POSTGRESQL;
		return true;
	}
	if (!strcmp(name, "sparksql") || !strcmp(name, "spark-sql")) {
		*out = PB_SQL_SPARK;
		return true;
	}
	return false;
}

const char *pb_sql_dialect_name(enum pb_sql_dialect d)
{
	return d < PB_SQL_DIALECT_COUNT ? dialects[d].name : "?";
}

static void lit(struct pb_buf *b, const struct dialect *d, const char *s)
{
	pb_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			pb_buf_addc(b, '\'');
		if (*s == '\\' && d->backslash)
			pb_buf_addc(b, '\\');
		pb_buf_addc(b, *s);
	}
	pb_buf_addc(b, '\'');
}

/* A threshold as a literal of the sum type (no integer overflow when scaled). */
static void dec(struct pb_buf *b, const struct dialect *d, pb_dec v)
{
	char t[PB_DEC_BUFSZ];
	pb__dec_format(v, t);
	pb_buf_printf(b, "CAST(%s AS %s)", t, d->num);
}

/* Days since 1970-01-01 and month number (y*12+m-1) of a timestamp column. */
static void day_expr(struct pb_buf *b, enum pb_sql_dialect d, const char *col)
{
	switch (d) {
	case PB_SQL_SQLITE:
		pb_buf_printf(b, "CAST(julianday(substr(%s, 1, 10)) - 2440587.5 AS INTEGER)", col);
		break;
	case PB_SQL_POSTGRESQL:
		pb_buf_printf(b, "(CAST(%s AS DATE) - DATE '1970-01-01')", col);
		break;
	case PB_SQL_DUCKDB:
	case PB_SQL_TRINO:
		pb_buf_printf(b, "date_diff('day', DATE '1970-01-01', CAST(%s AS DATE))", col);
		break;
	case PB_SQL_SPARK:
	default:
		pb_buf_printf(b, "datediff(CAST(%s AS DATE), DATE '1970-01-01')", col);
		break;
	}
}

static void month_expr(struct pb_buf *b, enum pb_sql_dialect d, const char *col)
{
	if (d == PB_SQL_SQLITE)
		pb_buf_printf(b, "(CAST(substr(%s, 1, 4) AS INTEGER) * 12 + CAST(substr(%s, 6, 2) AS "
		               "INTEGER) - 1)", col, col);
	else
		pb_buf_printf(b, "(CAST(EXTRACT(YEAR FROM %s) AS INTEGER) * 12 + CAST(EXTRACT(MONTH "
		               "FROM %s) AS INTEGER) - 1)", col, col);
}

static void idiv(struct pb_buf *b, enum pb_sql_dialect d, const char *a, int n)
{
	if (d == PB_SQL_DUCKDB)
		pb_buf_printf(b, "(%s // %d)", a, n);
	else if (d == PB_SQL_SPARK)
		pb_buf_printf(b, "(%s div %d)", a, n);
	else
		pb_buf_printf(b, "(%s / %d)", a, n);
}

/* Days in month number p (a column), for daily averages of every month. */
static void month_days(struct pb_buf *b, enum pb_sql_dialect d, const char *p)
{
	struct pb_buf y;
	pb_buf_init(&y, 1024);
	idiv(&y, d, p, 12);
	pb_buf_printf(b, "(CASE (%s - 12 * %s) WHEN 1 THEN (CASE WHEN (%s %% 4 = 0 AND %s %% 100 "
	               "<> 0) OR %s %% 400 = 0 THEN 29 ELSE 28 END) WHEN 3 THEN 30 WHEN 5 THEN "
	               "30 WHEN 8 THEN 30 WHEN 10 THEN 30 ELSE 31 END)",
	               p, y.data, y.data, y.data, y.data);
	pb_buf_release(&y);
}

static const char *const sel_u[PB_SEL_COUNT] = {
	"account", "subaccount", "provider", "category", "subcategory", "service",
	"capability", "region", "country", "charge_category", "unit",
};
static const char *const meas_u[] = { "quantity", "billed_cost", "effective_cost", "list_cost" };
static const char *const ops[] = { ">=", ">", "<=", "<" };

static void sel_pred(struct pb_buf *b, const struct dialect *d, const struct pb__indicator *ind)
{
	for (int k = 0; k < PB_SEL_COUNT; k++) {
		if (!ind->nvalues[k] || k == PB_SEL_UNIT)
			continue;
		pb_buf_printf(b, " AND %s IN (", sel_u[k]);
		for (size_t i = 0; i < ind->nvalues[k]; i++) {
			if (i)
				pb_buf_adds(b, ", ");
			lit(b, d, ind->values[k][i]);
		}
		pb_buf_adds(b, ")");
	}
	pb_buf_printf(b, " AND %s = ", ind->measure == PB_MEAS_QUANTITY ? "unit" : "currency");
	lit(b, d, ind->measure == PB_MEAS_QUANTITY ? ind->unit : ind->currency);
}

static bool up(enum pb__op op)
{
	return op == PB_OP_GE || op == PB_OP_GT;
}

/* The 'same:' expressions of a policy, inner ones first: expression i is
 * the 0/1 column x<i> of fl. */
struct samel {
	const struct pb__expr **v;
	size_t n, cap;
};

static bool same_collect(struct samel *l, const struct pb_policy *p, const struct pb__expr *e)
{
	for (size_t i = 0; i < e->nkids; i++)
		if (!same_collect(l, p, e->kids[i]))
			return false;
	if (e->kind == PB_EX_REF && p->ind[e->ref].when && !same_collect(l, p, p->ind[e->ref].when))
		return false;
	if (e->same == PB_PER_NONE)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == e)
			return true;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		const struct pb__expr **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e;
	return true;
}

/* A direct part of 'same:' expression x that must fire in x's one group. */
static bool same_part(const struct pb_policy *p, const struct pb__expr *x, const struct pb__expr *k)
{
	return k->kind == PB_EX_REF && !p->ind[k->ref].when && p->ind[k->ref].per == x->same;
}

/* The 0/1 expression of a when: over fl's columns. */
static void expr_sql(struct pb_buf *b, const struct pb_policy *p, const struct pb__expr *e,
                     const struct samel *sl)
{
	for (size_t i = 0; sl && e->same != PB_PER_NONE && i < sl->n; i++)
		if (sl->v[i] == e) {
			pb_buf_printf(b, "x%zu", i);
			return;
		}
	switch (e->kind) {
	case PB_EX_REF:
		if (p->ind[e->ref].when) {
			expr_sql(b, p, p->ind[e->ref].when, sl);
		} else {
			pb_buf_printf(b, "f%zu", e->ref);
		}
		break;
	case PB_EX_NOT:
		pb_buf_adds(b, "(1 - ");
		expr_sql(b, p, e->kids[0], sl);
		pb_buf_adds(b, ")");
		break;
	case PB_EX_ALL:
	case PB_EX_ANY:
	case PB_EX_ATLEAST:
		pb_buf_adds(b, "(CASE WHEN (");
		for (size_t i = 0; i < e->nkids; i++) {
			if (i)
				pb_buf_adds(b, " + ");
			expr_sql(b, p, e->kids[i], sl);
		}
		pb_buf_printf(b, ") >= %zu THEN 1 ELSE 0 END)",
		               e->kind == PB_EX_ALL ? e->nkids : e->kind == PB_EX_ANY ? 1 : e->atleast);
		break;
	}
}

static void indicator_sql(struct pb_buf *b, enum pb_sql_dialect dd, const struct pb_policy *p,
                          size_t k, int64_t at, bool bycust)
{
	const struct dialect *d = &dialects[dd];
	const struct pb__indicator *ind = &p->ind[k];
	bool every = ind->window == PB_WIN_EVERY_MONTH;
	bool growth = ind->agg == PB_AGG_GROWTH;
	int64_t am = pb__month_of_day(at);
	struct pb__span sp = pb__window_span(ind, at);
	const char *grp = ind->per == PB_PER_REGION ? "region" : ind->per == PB_PER_COUNTRY ? "country"
	                                                                               : NULL;
	char grpx[64];
	snprintf(grpx, sizeof(grpx), "%s", grp ? grp : "CAST(NULL AS VARCHAR)");
	if (!grp && dd == PB_SQL_SPARK)
		snprintf(grpx, sizeof(grpx), "CAST(NULL AS STRING)");

	/* contributing rows: (entity, period, group, month, cur, prev) */
	pb_buf_printf(b, ",\n-- indicator '%s'\nc%zu AS (\n", ind->name, k);
	for (int w = 0; w < (growth ? 2 : 1); w++) {
		if (w)
			pb_buf_adds(b, "\n  UNION ALL\n");
		pb_buf_printf(b, "  SELECT %s AS entity, %s AS p, %s AS grp, mn AS sub, %s AS cur, "
		               "%s AS prev FROM u",
		               bycust ? "entity" : "account", every ? (w ? "mn + 1" : "mn") : "0", grpx,
		               w ? "0" : meas_u[ind->measure], w ? meas_u[ind->measure] : "0");
		if (every)
			pb_buf_adds(b, " CROSS JOIN bounds");
		pb_buf_printf(b, " WHERE 1 = 1");
		/* rows of no customer matter only to the totals of shares */
		if (bycust && ind->agg != PB_AGG_SHARE)
			pb_buf_adds(b, " AND entity IS NOT NULL");
		sel_pred(b, d, ind);
		if (grp)
			pb_buf_printf(b, " AND %s IS NOT NULL", grp);
		if (every)
			pb_buf_printf(b, " AND %s >= bounds.m0 AND %s < %lld", w ? "mn + 1" : "mn",
			               w ? "mn + 1" : "mn", (long long)am);
		else if (w)
			pb_buf_printf(b, " AND dn >= %lld AND dn < %lld", (long long)sp.plo, (long long)sp.phi);
		else
			pb_buf_printf(b, " AND dn >= %lld AND dn < %lld", (long long)sp.lo, (long long)sp.hi);
	}
	pb_buf_adds(b, "\n)");
	/* sums */
	if (ind->agg == PB_AGG_MONTHLY_MAX && !every)
		pb_buf_printf(b, ",\nm%zu AS (SELECT entity, p, grp, sub, sum(cur) AS s FROM c%zu GROUP BY "
		               "entity, p, grp, sub),\ng%zu AS (SELECT entity, p, grp, max(s) AS s, 0 AS r "
		               "FROM m%zu GROUP BY entity, p, grp)",
		               k, k, k, k);
	else
		pb_buf_printf(b, ",\ng%zu AS (SELECT entity, p, grp, sum(cur) AS s, sum(prev) AS r FROM "
		               "c%zu GROUP BY entity, p, grp)",
		               k, k);
	if (ind->agg == PB_AGG_SHARE)
		pb_buf_printf(b, ",\nt%zu AS (SELECT p, grp, sum(cur) AS t FROM c%zu GROUP BY p, grp)", k,
		               k);
	/* candidates */
	pb_buf_printf(b, ",\nq%zu AS (", k);
	if (grp) {
		pb_buf_printf(b, "SELECT g.entity, g.p, g.grp, g.s, g.r, %s AS t FROM g%zu g",
		               ind->agg == PB_AGG_SHARE ? "tt.t" : "0", k);
		if (ind->agg == PB_AGG_SHARE)
			pb_buf_printf(b, " LEFT JOIN t%zu tt ON tt.p = g.p AND tt.grp = g.grp", k);
	} else if (every) {
		pb_buf_printf(b, "SELECT e.entity, mo.mn AS p, %s AS grp, coalesce(g.s, 0) AS s, "
		               "coalesce(g.r, 0) AS r, 0 AS t FROM ent e CROSS JOIN months mo LEFT JOIN "
		               "g%zu g ON g.entity = e.entity AND g.p = mo.mn",
		               grpx, k);
	} else {
		pb_buf_printf(b, "SELECT e.entity, 0 AS p, %s AS grp, coalesce(g.s, 0) AS s, "
		               "coalesce(g.r, 0) AS r, 0 AS t FROM ent e LEFT JOIN g%zu g ON g.entity = "
		               "e.entity",
		               grpx, k);
	}
	pb_buf_adds(b, ")");
	/* figure, infinite, defined, fired */
	const char *op = ops[ind->op];
	pb_buf_printf(b, ",\nk%zu AS (SELECT entity, p, grp, ", k);
	switch (ind->agg) {
	case PB_AGG_SUM:
	case PB_AGG_MONTHLY_MAX:
		pb_buf_printf(b, "s AS figure, 0 AS inf, 1 AS defd, CASE WHEN s %s ", op);
		dec(b, d, ind->thr);
		pb_buf_adds(b, " THEN 1 ELSE 0 END AS fired");
		break;
	case PB_AGG_DAILY_AVG: {
		struct pb_buf nd;
		pb_buf_init(&nd, 1024);
		if (every)
			month_days(&nd, dd, "p");
		else
			pb_buf_printf(&nd, "%lld", (long long)pb__span_days(&sp));
		pb_buf_printf(b, "s / %s AS figure, 0 AS inf, 1 AS defd, CASE WHEN s %s ", nd.data, op);
		dec(b, d, ind->thr);
		pb_buf_printf(b, " * %s THEN 1 ELSE 0 END AS fired", nd.data);
		pb_buf_release(&nd);
		break;
	}
	case PB_AGG_GROWTH:
		pb_buf_printf(b, "CASE WHEN r > 0 THEN s / r END AS figure, CASE WHEN r <= 0 AND s > 0 "
		               "THEN 1 ELSE 0 END AS inf, CASE WHEN r > 0 OR s > 0 THEN 1 ELSE 0 END AS "
		               "defd, CASE WHEN r > 0 THEN (CASE WHEN s %s ", op);
		dec(b, d, ind->thr);
		pb_buf_printf(b, " * r THEN 1 ELSE 0 END) WHEN s > 0 THEN %d ELSE 0 END AS fired",
		               up(ind->op) ? 1 : 0);
		break;
	case PB_AGG_SHARE:
		pb_buf_printf(b, "CASE WHEN t > 0 THEN s / t END AS figure, 0 AS inf, CASE WHEN t > 0 "
		               "THEN 1 ELSE 0 END AS defd, CASE WHEN t > 0 AND s %s ", op);
		dec(b, d, ind->thr);
		pb_buf_adds(b, " * t THEN 1 ELSE 0 END AS fired");
		break;
	}
	pb_buf_printf(b, " FROM q%zu)", k);
	/* the best candidate */
	pb_buf_printf(b, ",\nb%zu AS (SELECT entity, p, figure, inf, defd, fired, ROW_NUMBER() OVER "
	               "(PARTITION BY entity ORDER BY fired DESC, inf DESC, defd DESC, CASE WHEN "
	               "defd = 1 AND inf = 0 THEN figure ELSE 0 END %s, p ASC, grp ASC) AS rn FROM k%zu)",
	               k, up(ind->op) ? "DESC" : "ASC", k);
	/* one row per entity, a default when it has no candidate */
	bool sumlike = ind->agg == PB_AGG_SUM || ind->agg == PB_AGG_MONTHLY_MAX ||
	               ind->agg == PB_AGG_DAILY_AVG;
	int c0 = ind->thr > 0 ? -1 : ind->thr < 0;
	bool dfl_fired = sumlike && (ind->op == PB_OP_GE   ? c0 >= 0
	                             : ind->op == PB_OP_GT ? c0 > 0
	                             : ind->op == PB_OP_LE ? c0 <= 0
	                                                   : c0 < 0);
	pb_buf_printf(b, ",\nr%zu AS (SELECT e.entity, ", k);
	lit(b, d, ind->name);
	pb_buf_printf(b, " AS indicator, %s AS period, CASE WHEN b.entity IS NULL THEN CAST(%s AS "
	               "%s) ELSE CAST(b.figure AS %s) END AS figure, coalesce(b.inf, 0) AS inf, CASE "
	               "WHEN b.entity IS NULL THEN %d ELSE b.fired END AS fired FROM ent e LEFT JOIN "
	               "b%zu b ON b.entity = e.entity AND b.rn = 1)",
	               every ? "b.p" : "CAST(NULL AS BIGINT)", sumlike ? "0" : "NULL", d->num, d->num,
	               dfl_fired ? 1 : 0, k);
}

enum pb_status pb_policy_sql(const struct pb_policy *p, enum pb_sql_dialect dd, int64_t at,
                             char **out, struct pb_error *err)
{
	return pb_policy_sql_by(p, dd, at, PB_SQL_BY_ACCOUNT, out, err);
}

/* The comment at the top of the compiled SQL: what it is and what it reads. */
static void sql_header(struct pb_buf *b, const struct pb_policy *p, const struct dialect *d,
                       const char *atb, bool bycust)
{
	pb_buf_printf(b, "-- probity policy '%s' (sha256 %s), compiled for %s, scan at %s\n",
	              p->name, p->sha256, d->name, atb);
	if (bycust)
		pb_buf_adds(b, "-- Reads focus_cost_and_usage, the customers in probity_customer and the\n"
		                "-- catalog tables probity_region, probity_unit and probity_capability\n"
		                "-- (docs/policy.md). One row per customer and indicator, and one per\n"
		                "-- matched rule.\n");
	else
		pb_buf_adds(b, "-- Reads focus_cost_and_usage and the catalog tables probity_region,\n"
		                "-- probity_unit and probity_capability (docs/policy.md). One row per billing\n"
		                "-- account and indicator, and one per matched rule.\n");
}

/* The CTE u: every FOCUS row with its day, month, catalog names and
 * normalised quantity, and (by customer) its owner; then ent, the entities. */
static void sql_usage(struct pb_buf *b, enum pb_sql_dialect dd, const struct dialect *d,
                      bool every, bool bycust)
{
	pb_buf_printf(b, "WITH %su AS (\n  SELECT f.BillingAccountId AS account, ",
	              d->recursive && every ? "RECURSIVE " : "");
	if (bycust)
		pb_buf_adds(b, "coalesce(cb.customer, cs.customer) AS entity, ");
	day_expr(b, dd, "f.ChargePeriodStart");
	pb_buf_adds(b, " AS dn, ");
	month_expr(b, dd, "f.ChargePeriodStart");
	pb_buf_printf(b,
	              " AS mn,\n    f.SubAccountId AS subaccount, f.ProviderName AS provider, "
	              "f.ServiceCategory AS category,\n    f.ServiceSubcategory AS subcategory, "
	              "f.ServiceName AS service, cap.capability AS capability,\n    "
	              "coalesce(reg.region_id, f.RegionId) AS region, reg.country AS country,\n    "
	              "f.ChargeCategory AS charge_category, f.BillingCurrency AS currency,\n    "
	              "coalesce(un.normalised, f.ConsumedUnit) AS unit,\n    CASE WHEN un.normalised "
	              "IS NULL THEN coalesce(CAST(f.ConsumedQuantity AS %s), 0) ELSE "
	              "coalesce(CAST(f.ConsumedQuantity AS %s), 0) * CAST(un.factor_num AS %s) / "
	              "un.factor_den END AS quantity,\n    coalesce(CAST(f.BilledCost AS %s), 0) AS "
	              "billed_cost, coalesce(CAST(f.EffectiveCost AS %s), 0) AS effective_cost,\n    "
	              "coalesce(CAST(f.ListCost AS %s), 0) AS list_cost\n  FROM focus_cost_and_usage f\n"
	              "  LEFT JOIN probity_region reg ON reg.spelling = lower(f.RegionId)\n"
	              "  LEFT JOIN probity_unit un ON un.spelling = lower(f.ConsumedUnit)\n"
	              "  LEFT JOIN probity_capability cap ON cap.service_name = f.ServiceName AND "
	              "cap.sku_meter = coalesce(f.SkuMeter, '') AND cap.category = "
	              "coalesce(f.ServiceCategory, '')",
	              d->num, d->num, d->num, d->num, d->num, d->num);
	if (bycust) /* one owner per account, should the table list one twice */
		pb_buf_adds(b, "\n  LEFT JOIN (SELECT billing_account_id, min(customer) AS customer FROM "
		                "probity_customer WHERE sub_account_id IS NULL GROUP BY "
		                "billing_account_id) cb ON cb.billing_account_id = f.BillingAccountId\n"
		                "  LEFT JOIN (SELECT sub_account_id, min(customer) AS customer FROM "
		                "probity_customer WHERE sub_account_id IS NOT NULL GROUP BY "
		                "sub_account_id) cs ON cs.sub_account_id = f.SubAccountId");
	pb_buf_adds(b, "\n)");
	if (bycust)
		pb_buf_adds(b, ",\nent AS (SELECT DISTINCT customer AS entity FROM probity_customer)");
	else
		pb_buf_adds(b, ",\nent AS (SELECT DISTINCT BillingAccountId AS entity FROM "
		                "focus_cost_and_usage)");
}

/* The CTE months: every month from the first of the data to the one before
 * month am, for indicators measured every month. */
static void sql_months(struct pb_buf *b, enum pb_sql_dialect dd, int64_t am)
{
	switch (dd) {
	case PB_SQL_SQLITE:
		pb_buf_printf(b, ",\nmonths(mn) AS (SELECT m0 FROM bounds WHERE m0 < %lld UNION ALL "
		              "SELECT mn + 1 FROM months WHERE mn + 1 < %lld)",
		              (long long)am, (long long)am);
		break;
	case PB_SQL_POSTGRESQL:
		pb_buf_printf(b, ",\nmonths AS (SELECT generate_series(m0, %lld) AS mn FROM bounds "
		              "WHERE m0 < %lld)",
		              (long long)am - 1, (long long)am);
		break;
	case PB_SQL_DUCKDB:
		pb_buf_printf(b, ",\nmonths AS (SELECT unnest(range(m0, %lld)) AS mn FROM bounds "
		              "WHERE m0 < %lld)",
		              (long long)am, (long long)am);
		break;
	case PB_SQL_TRINO:
		pb_buf_printf(b, ",\nmonths AS (SELECT mn FROM bounds CROSS JOIN "
		              "UNNEST(sequence(m0, %lld)) AS x(mn) WHERE m0 < %lld)",
		              (long long)am - 1, (long long)am);
		break;
	default:
		pb_buf_printf(b, ",\nmonths AS (SELECT explode(sequence(m0, %lld)) AS mn FROM bounds "
		              "WHERE m0 < %lld)",
		              (long long)am - 1, (long long)am);
		break;
	}
}

/* The 'same:' expression sl->v[i]: per entity and group, the fired flags of
 * its parts (gs<i>), whether some group reaches its count (sv<i>), and fl
 * with its column x<i>. */
static void sql_same(struct pb_buf *b, const struct pb_policy *p, const struct samel *sl,
                     size_t i)
{
	const struct pb__expr *x = sl->v[i];
	size_t z = 0;
	pb_buf_printf(b, ",\ngs%zu AS (SELECT entity, grp", i);
	for (size_t j = 0; j < x->nkids; j++)
		if (same_part(p, x, x->kids[j])) {
			pb_buf_printf(b, ", max(CASE WHEN z = %zu THEN fired ELSE 0 END) AS h%zu", z, z);
			z++;
		}
	pb_buf_adds(b, " FROM (");
	z = 0;
	for (size_t j = 0; j < x->nkids; j++)
		if (same_part(p, x, x->kids[j])) {
			pb_buf_printf(b, "%sSELECT entity, grp, fired, %zu AS z FROM k%zu", z ? " UNION ALL " : "",
			              z, x->kids[j]->ref);
			z++;
		}
	pb_buf_adds(b, ") w GROUP BY entity, grp)");
	pb_buf_printf(b, ",\nsv%zu AS (SELECT a.entity, max(CASE WHEN (", i);
	z = 0;
	for (size_t j = 0; j < x->nkids; j++) {
		if (j)
			pb_buf_adds(b, " + ");
		if (same_part(p, x, x->kids[j]))
			pb_buf_printf(b, "coalesce(g.h%zu, 0)", z++);
		else
			expr_sql(b, p, x->kids[j], sl);
	}
	pb_buf_printf(b, ") >= %zu THEN 1 ELSE 0 END) AS v FROM fl%zu a LEFT JOIN gs%zu g ON "
	              "g.entity = a.entity GROUP BY a.entity)",
	              x->kind == PB_EX_ALL ? x->nkids : x->atleast, i, i);
	pb_buf_printf(b, ",\nfl");
	if (i + 1 < sl->n)
		pb_buf_printf(b, "%zu", i + 1);
	pb_buf_printf(b, " AS (SELECT a.*, sv.v AS x%zu FROM fl%zu a JOIN sv%zu sv ON sv.entity "
	              "= a.entity)", i, i, i);
}

/* The final SELECT: a row per entity and measuring indicator, per 'when:'
 * indicator and per rule that holds. */
static void sql_select(struct pb_buf *b, const struct pb_policy *p, const struct dialect *d,
                       const struct samel *sl)
{
	pb_buf_printf(b, "SELECT entity, CAST('indicator' AS %s) AS kind, indicator AS name, period, "
	              "figure, inf AS infinite, fired, CAST(NULL AS %s) AS severity FROM ind\n",
	              d->text, d->text);
	for (size_t k = 0; k < p->nind; k++) {
		if (!p->ind[k].when)
			continue;
		pb_buf_adds(b, "UNION ALL SELECT entity, 'indicator', ");
		lit(b, d, p->ind[k].name);
		pb_buf_printf(b, ", CAST(NULL AS BIGINT), CAST(NULL AS %s), 0, ", d->num);
		expr_sql(b, p, p->ind[k].when, sl);
		pb_buf_printf(b, ", CAST(NULL AS %s) FROM fl\n", d->text);
	}
	for (size_t r = 0; r < p->nrules; r++) {
		pb_buf_adds(b, "UNION ALL SELECT entity, 'rule', ");
		lit(b, d, p->rules[r].name);
		pb_buf_printf(b, ", CAST(NULL AS BIGINT), CAST(NULL AS %s), 0, 1, ", d->num);
		lit(b, d, p->rules[r].severity);
		pb_buf_adds(b, " FROM fl WHERE ");
		expr_sql(b, p, p->rules[r].when, sl);
		pb_buf_adds(b, " = 1\n");
	}
	pb_buf_adds(b, "ORDER BY entity, kind, name;\n");
}

enum pb_status pb_policy_sql_by(const struct pb_policy *p, enum pb_sql_dialect dd, int64_t at,
                                enum pb_sql_entity by, char **out, struct pb_error *err)
{
	if (dd >= PB_SQL_DIALECT_COUNT)
		return pb__err(err, PB_EINVAL, "unknown SQL dialect");
	if (by != PB_SQL_BY_ACCOUNT && by != PB_SQL_BY_CUSTOMER)
		return pb__err(err, PB_EINVAL, "unknown SQL entity (by account or by customer)");
	bool bycust = by == PB_SQL_BY_CUSTOMER;
	const struct dialect *d = &dialects[dd];
	struct pb_buf b;
	char atb[16];
	bool every = false;
	int64_t am = pb__month_of_day(at);
	pb_day_format(at, atb);
	pb_buf_init(&b, 64u << 20);
	for (size_t k = 0; k < p->nind; k++)
		every |= !p->ind[k].when && p->ind[k].window == PB_WIN_EVERY_MONTH;
	sql_header(&b, p, d, atb, bycust);
	sql_usage(&b, dd, d, every, bycust);
	pb_buf_adds(&b, ",\nbounds AS (SELECT min(mn) AS m0 FROM u)");
	if (every)
		sql_months(&b, dd, am);
	for (size_t k = 0; k < p->nind; k++) {
		if (p->ind[k].when)
			continue;
		indicator_sql(&b, dd, p, k, at, bycust);
	}
	/* all measuring indicators */
	pb_buf_adds(&b, ",\nind AS (");
	bool first = true;
	for (size_t k = 0; k < p->nind; k++) {
		if (p->ind[k].when)
			continue;
		pb_buf_printf(&b, "%sSELECT * FROM r%zu", first ? "" : " UNION ALL ", k);
		first = false;
	}
	pb_buf_adds(&b, ")");
	/* 'same:' expressions: per entity and group, the fired flags of their
	 * parts per that grouping (fired in some candidate of the group); the
	 * expression holds when some group (or none, the other parts alone)
	 * reaches its count. Each adds its column x<i> to fl. */
	struct samel sl = { 0 };
	for (size_t k = 0; k < p->nind; k++)
		if (p->ind[k].when && !same_collect(&sl, p, p->ind[k].when))
			goto nomem;
	for (size_t r = 0; r < p->nrules; r++)
		if (!same_collect(&sl, p, p->rules[r].when))
			goto nomem;
	pb_buf_printf(&b, ",\nfl%s AS (SELECT entity", sl.n ? "0" : "");
	for (size_t k = 0; k < p->nind; k++) {
		if (p->ind[k].when)
			continue;
		pb_buf_adds(&b, ", max(CASE WHEN indicator = ");
		lit(&b, d, p->ind[k].name);
		pb_buf_printf(&b, " THEN fired ELSE 0 END) AS f%zu", k);
	}
	pb_buf_adds(&b, " FROM ind GROUP BY entity)");
	for (size_t i = 0; i < sl.n; i++)
		sql_same(&b, p, &sl, i);
	pb_buf_adds(&b, "\n");
	sql_select(&b, p, d, &sl);
	free(sl.v);
	if (b.len >= b.limit - 1) {
		pb_buf_release(&b);
		return pb__err(err, PB_ELIMIT, "compiled SQL is over %zu bytes", (size_t)(64u << 20));
	}
	*out = b.data;
	return PB_OK;
nomem:
	free(sl.v);
	pb_buf_release(&b);
	return pb__err(err, PB_ENOMEM, "out of memory");
}

/* ---- the tables the compiled SQL reads --------------------------------------- */

/* Splits one CSV line (RFC 4180 quotes, no embedded newlines) into fields. */
static size_t csv_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		char *w = p;
		f[n++] = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p)
					break;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			while (*p && *p != ',')
				p++;
		} else {
			while (*p && *p != ',')
				*w++ = *p++;
		}
		char c = *p;
		*w = '\0';
		if (c != ',')
			break;
		p++;
	}
	return n;
}

struct tw {
	FILE *f;
	const struct dialect *d;
	struct pb_buf b;
	size_t rows;
	const char *table;
	struct pb_hmap seen;
};

static void tw_row(struct tw *t, const char *values)
{
	if (t->rows % 500 == 0) {
		if (t->rows)
			fputs(";\n", t->f);
		fprintf(t->f, "INSERT INTO %s VALUES\n", t->table);
	} else {
		fputs(",\n", t->f);
	}
	fprintf(t->f, "(%s)", values);
	t->rows++;
}

static void tw_end(struct tw *t)
{
	if (t->rows)
		fputs(";\n", t->f);
	t->rows = 0;
}

static void tw_lit(struct tw *t, const char *s)
{
	if (!s)
		pb_buf_adds(&t->b, "NULL");
	else
		lit(&t->b, t->d, s);
}

/* Writes table t->table from a query of ncols text columns, each a literal. */
static enum pb_status tw_query(struct tw *t, sqlite3 *db, const char *sql, int ncols,
                               struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(db, sql, &q, err);
	if (st)
		return st;
	while (sqlite3_step(q) == SQLITE_ROW) {
		pb_buf_reset(&t->b);
		for (int i = 0; i < ncols; i++) {
			if (i)
				pb_buf_adds(&t->b, ", ");
			tw_lit(t, (const char *)sqlite3_column_text(q, i));
		}
		tw_row(t, t->b.data);
	}
	sqlite3_finalize(q);
	tw_end(t);
	return PB_OK;
}

/* The spelling lower-cased into key; false when empty or already written
 * (catalog spellings differ only in case: one row each). */
static bool first_spelling(struct tw *t, const char *spelling, char key[256])
{
	size_t n = 0;
	for (const char *s = spelling; *s && n + 1 < 256; s++)
		key[n++] = (char)tolower((unsigned char)*s);
	key[n] = '\0';
	return n && pb__hmap_put(&t->seen, key, n, (void *)1, NULL) == PB_OK;
}

static void region_row(struct tw *t, const struct pb_catalog *cat, const char *spelling)
{
	const struct pb_region *r = pb_catalog_region(cat, pb_cstr(spelling));
	if (!r)
		return;
	char key[256];
	if (!first_spelling(t, spelling, key))
		return;
	pb_buf_reset(&t->b);
	tw_lit(t, key);
	pb_buf_adds(&t->b, ", ");
	tw_lit(t, r->id);
	pb_buf_adds(&t->b, ", ");
	tw_lit(t, r->country[0] ? r->country : NULL);
	tw_row(t, t->b.data);
}

static void unit_row(struct tw *t, const struct pb_catalog *cat, const char *spelling)
{
	const struct pb_unit *u = pb_catalog_unit(cat, pb_cstr(spelling));
	if (!u)
		return;
	char key[256];
	if (!first_spelling(t, spelling, key))
		return;
	const struct pb__unit_factor *fa = pb__catalog_unit_factor(u);
	char num[PB_DEC_BUFSZ];
	pb__dec_format(fa ? fa->num : PB_DEC_ONE, num);
	pb_buf_reset(&t->b);
	tw_lit(t, key);
	pb_buf_adds(&t->b, ", ");
	tw_lit(t, u->normalised);
	pb_buf_printf(&t->b, ", %s, %lld", num, (long long)(fa ? fa->den : 1));
	tw_row(t, t->b.data);
}

/* Calls fn for column col of every data line of a catalog file. */
static enum pb_status each_spelling(struct tw *t, const struct pb_catalog *cat, const char *dir,
                                    const char *file, const int *cols, size_t ncols, bool split,
                                    void (*fn)(struct tw *, const struct pb_catalog *, const char *),
                                    struct pb_error *err)
{
	char *path = pb__path_join(dir, file), *text;
	size_t len;
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb__read_file(path, 16u << 20, &text, &len, err);
	free(path);
	if (st)
		return st;
	bool header = true;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		if (line[0] && line[0] != '#') {
			if (header) {
				header = false;
			} else {
				char *f[16];
				size_t nf = csv_fields(line, f, 16);
				for (size_t i = 0; i < ncols; i++) {
					if ((size_t)cols[i] >= nf)
						continue;
					char *v = f[cols[i]];
					if (!split) {
						fn(t, cat, v);
						continue;
					}
					for (char *s = v; s;) {
						char *bar = strchr(s, '|');
						if (bar)
							*bar = '\0';
						if (*s)
							fn(t, cat, s);
						s = bar ? bar + 1 : NULL;
					}
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return PB_OK;
}

enum pb_status pb_policy_sql_tables(struct pb_ws *ws, const struct pb_catalog *cat,
                                    const char *catalog_dir, enum pb_sql_dialect dd,
                                    bool with_usage, FILE *f, struct pb_error *err)
{
	if (dd >= PB_SQL_DIALECT_COUNT)
		return pb__err(err, PB_EINVAL, "unknown SQL dialect");
	const struct dialect *d = &dialects[dd];
	struct tw t = { .f = f, .d = d };
	enum pb_status st = PB_OK;
	sqlite3_stmt *q = NULL;
	pb_buf_init(&t.b, 1 << 20);
	pb__hmap_init(&t.seen);
	const char *tx = d->text, *nm = d->ddl_num;
	fprintf(f, "-- tables read by probity's compiled policies (%s); docs/policy.md\n", d->name);
	fprintf(f, "DROP TABLE IF EXISTS focus_cost_and_usage;\n"
	           "CREATE TABLE focus_cost_and_usage (\n"
	           "  BillingAccountId %s, SubAccountId %s, ProviderName %s,\n"
	           "  ServiceCategory %s, ServiceSubcategory %s, ServiceName %s, SkuMeter %s,\n"
	           "  RegionId %s, ChargeCategory %s, BillingCurrency %s, ChargePeriodStart %s,\n"
	           "  ChargePeriodEnd %s, ConsumedQuantity %s, ConsumedUnit %s, BilledCost %s,\n"
	           "  EffectiveCost %s, ListCost %s\n"
	           ");\n",
	           tx, tx, tx, tx, tx, tx, tx, tx, tx, tx, d->ddl_ts, d->ddl_ts, nm, tx, nm, nm, nm);
	fprintf(f, "DROP TABLE IF EXISTS probity_region;\n"
	           "CREATE TABLE probity_region (spelling %s, region_id %s, country %s);\n"
	           "DROP TABLE IF EXISTS probity_unit;\n"
	           "CREATE TABLE probity_unit (spelling %s, normalised %s, factor_num %s, factor_den "
	           "BIGINT);\n"
	           "DROP TABLE IF EXISTS probity_capability;\n"
	           "CREATE TABLE probity_capability (service_name %s, sku_meter %s, category %s, "
	           "capability %s);\n"
	           "DROP TABLE IF EXISTS probity_customer;\n"
	           "CREATE TABLE probity_customer (customer %s, billing_account_id %s, "
	           "sub_account_id %s);\n",
	           tx, tx, tx, tx, tx, nm, tx, tx, tx, tx, tx, tx, tx);
	if (catalog_dir) {
		static const int rcols[] = { 1, 2, 4 }, scols[] = { 0, 1, 2 };
		t.table = "probity_region";
		if ((st = each_spelling(&t, cat, catalog_dir, "regions.csv", rcols, 3, true, region_row,
		                        err)) ||
		    (st = each_spelling(&t, cat, catalog_dir, "azure-region-spellings.csv", scols, 3,
		                        false, region_row, err)))
			goto out;
	}
	t.table = "probity_region";
	if (ws) { /* regions as stored (canonical ids, or as given when unknown) */
		if ((st = pb__db_prepare(ws->db, "SELECT DISTINCT r.value FROM usage_day u JOIN dim r ON "
		                         "r.id = u.region", &q, err)))
			goto out;
		while (sqlite3_step(q) == SQLITE_ROW)
			region_row(&t, cat, (const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		q = NULL;
	}
	tw_end(&t);
	pb__hmap_release(&t.seen);
	pb__hmap_init(&t.seen);
	t.table = "probity_unit";
	if (catalog_dir) {
		static const int ucols[] = { 0, 1 };
		if ((st = each_spelling(&t, cat, catalog_dir, "units.csv", ucols, 2, false, unit_row, err)))
			goto out;
	}
	tw_end(&t);
	if (ws) {
		t.table = "probity_capability";
		if ((st = tw_query(&t, ws->db,
		                   "SELECT DISTINCT service, coalesce(sku_meter, ''), "
		                   "coalesce(category, ''), capability FROM usage WHERE capability IS "
		                   "NOT NULL ORDER BY 1, 2, 3",
		                   4, err)))
			goto out;
		/* customers: a whole billing account (no sub-account), or a
		 * sub-account with the billing account the exports bill it under
		 * when there is exactly one (for reference: the SQL, like the native
		 * scan, matches a sub-account by its id alone) */
		t.table = "probity_customer";
		if ((st = tw_query(&t, ws->db,
		                   "SELECT c.name, CASE WHEN ca.kind = 'billing' THEN ca.account_id "
		                   "ELSE (SELECT CASE WHEN count(DISTINCT a.billing_account_id) = 1 "
		                   "THEN max(a.billing_account_id) END FROM account a WHERE a.kind = "
		                   "'sub' AND a.account_id = ca.account_id) END, CASE WHEN ca.kind = "
		                   "'sub' THEN ca.account_id END FROM customer c JOIN "
		                   "customer_account ca ON ca.customer_id = c.id ORDER BY c.name, "
		                   "ca.kind, ca.account_id",
		                   3, err)))
			goto out;
	}
	if (ws && with_usage) {
		t.table = "focus_cost_and_usage";
		if ((st = pb__db_prepare(ws->db,
		                         "SELECT account, subaccount, provider, category, subcategory, "
		                         "service, sku_meter, region, charge_category, currency, date, "
		                         "date(day * 86400 + 86400, 'unixepoch'), quantity, unit, billed_cost, effective_cost, list_cost FROM usage "
		                         "ORDER BY source_id, day, first_line",
		                         &q, err)))
			goto out;
		while (sqlite3_step(q) == SQLITE_ROW) {
			pb_buf_reset(&t.b);
			for (int i = 0; i < 17; i++) {
				const char *v = (const char *)sqlite3_column_text(q, i);
				if (i)
					pb_buf_adds(&t.b, ", ");
				if (i == 10 || i == 11) {
					if (dd == PB_SQL_SQLITE)
						pb_buf_printf(&t.b, "'%s 00:00:00'", v ? v : "1970-01-01");
					else
						pb_buf_printf(&t.b, "TIMESTAMP '%s 00:00:00'", v ? v : "1970-01-01");
				} else if (i == 12 || i >= 14) {
					pb_buf_adds(&t.b, v ? v : "NULL");
				} else {
					tw_lit(&t, v);
				}
			}
			tw_row(&t, t.b.data);
		}
		sqlite3_finalize(q);
		q = NULL;
		tw_end(&t);
	}
	if (ferror(f))
		st = pb__err(err, PB_EIO, "cannot write the tables: %s", pb__errno_text(errno));
out:
	sqlite3_finalize(q);
	pb_buf_release(&t.b);
	pb__hmap_release(&t.seen);
	return st;
}
