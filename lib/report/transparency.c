/* transparency.c - the transparency report of a period: reviews opened and
 * closed, outcomes, restrictions by what and where, customers affected,
 * days from trigger to decision and from decision to enforcement, appeals
 * and rollbacks, computed from the workspace's tables and log.
 *
 * Every figure is a count or a duration: no customer is named, no
 * customer-chosen string is read. The tables are built once (struct table)
 * and written as CSV (RFC 4180, one file per table and a README of the
 * columns), JSON, or one self-contained HTML page with SVG bar charts, so
 * the formats always agree. Definitions are in docs/reports.md; the same
 * tables computed by sqlite3 alone are in bench/reports/.
 */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define REPORT_MAX ((size_t)64 << 20)
#define ROWS_MAX 100000

struct table {
	const char *name, *title, *about;
	const char *const *cols;        /* headers */
	const char *const *col_about;   /* README line per column */
	size_t ncols;
	char **cells;                   /* nrows * ncols, heap */
	size_t nrows, cap;
	int count_col;                  /* column holding counts (banded, charted), or -1 */
};

static bool row_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 8;
		if (nc > ROWS_MAX)
			return false;
		char **n = realloc(t->cells, nc * t->ncols * sizeof(*n));
		if (!n)
			return false;
		t->cells = n;
		t->cap = nc;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *c = pb__strndup(cells[i], strlen(cells[i]));
		if (!c) {
			for (size_t j = 0; j < i; j++)
				free(t->cells[t->nrows * t->ncols + j]);
			return false;
		}
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
	return true;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* ---- period ---------------------------------------------------------------------- */

/* "2025", "2025H1|H2", "2025-Q1..Q4" into [from, to) as "YYYY-MM-DD". */
static bool period_parse(const char *p, char from[11], char to[11])
{
	unsigned y = 0;
	int n = 0;
	if (strlen(p) < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		y = y * 10 + (unsigned)(p[i] - '0');
	}
	if (y < 2000 || y > 2100)
		return false;
	unsigned m0, m1;
	const char *r = p + 4;
	if (!*r) {
		m0 = 1;
		m1 = 13;
	} else if ((r[0] == 'H' || r[0] == 'h') && (r[1] == '1' || r[1] == '2') && !r[2]) {
		m0 = r[1] == '1' ? 1 : 7;
		m1 = m0 + 6;
	} else if (r[0] == '-' && (r[1] == 'Q' || r[1] == 'q') && r[2] >= '1' && r[2] <= '4' &&
	           !r[3]) {
		m0 = 1 + 3u * (unsigned)(r[2] - '1');
		m1 = m0 + 3;
	} else {
		return false;
	}
	(void)n;
	pb__snprintf(from, 11, "%04u-%02u-01", y, m0);
	if (m1 == 13)
		pb__snprintf(to, 11, "%04u-01-01", y + 1);
	else
		pb__snprintf(to, 11, "%04u-%02u-01", y, m1);
	return true;
}

/* ---- the tables -------------------------------------------------------------------- */

static enum pb_status q_rows(struct pb_ws *ws, struct table *t, const char *sql, const char *from,
                             const char *to, struct pb_error *err)
{
	sqlite3_stmt *q = NULL;
	enum pb_status rc = pb__db_prepare(ws->db, sql, &q, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, to, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		const char *cells[8];
		char buf[8][32];
		for (size_t i = 0; i < t->ncols && i < 8; i++) {
			if (sqlite3_column_type(q, (int)i) == SQLITE_INTEGER) {
				pb__snprintf(buf[i], sizeof(buf[i]), "%lld",
				             (long long)sqlite3_column_int64(q, (int)i));
				cells[i] = buf[i];
			} else {
				const char *s = (const char *)sqlite3_column_text(q, (int)i);
				cells[i] = s ? s : "";
			}
		}
		if (!row_add(t, cells)) {
			sqlite3_finalize(q);
			return pb__err(err, PB_ENOMEM, "cannot build the report: out of memory");
		}
	}
	if (r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot compute the transparency report");
	sqlite3_finalize(q);
	return rc;
}

/* The SQL of each table; ?1, ?2: the period's first day and the day after it.
 * Times in the database are ISO 8601 UTC, so text comparison orders them. */
#define IN_PERIOD(col) "(" col " >= ?1 AND " col " < ?2)"

static const char sql_opened[] =
	"WITH t(kind) AS (VALUES ('public-report'), ('other')) "
	"SELECT t.kind, (SELECT count(*) FROM review_case c WHERE " IN_PERIOD("c.opened_at")
	" AND (CASE WHEN c.trigger_url IS NOT NULL AND c.trigger_url != '' THEN 'public-report' "
	"ELSE 'other' END) = t.kind) FROM t";

/* A case's outcome: suspension when a plan of it was applied (total when an
 * applied plan disables everything and keeps nothing), else no action. */
static const char sql_outcomes[] =
	"WITH o(outcome, ord) AS (VALUES ('no-action', 1), ('partial-suspension', 2), "
	"('total-suspension', 3), ('termination', 4)), "
	"pc AS (SELECT p.case_id, max(json_array_length(p.body, '$.keep') = 0 AND EXISTS (SELECT "
	"1 FROM json_each(p.body, '$.rules') r WHERE json_extract(r.value, '$.effect') = 'disable' "
	"AND json_extract(r.value, '$.category') IS NULL AND json_extract(r.value, "
	"'$.subcategory') IS NULL AND json_extract(r.value, '$.service') IS NULL AND "
	"json_extract(r.value, '$.capability') IS NULL AND json_extract(r.value, '$.region') IS "
	"NULL AND json_extract(r.value, '$.country') IS NULL)) AS total FROM plan p WHERE "
	"p.applied_version IS NOT NULL GROUP BY p.case_id), "
	"k AS (SELECT CASE WHEN pc.case_id IS NULL THEN 'no-action' WHEN pc.total THEN "
	"'total-suspension' ELSE 'partial-suspension' END AS outcome FROM review_case c LEFT JOIN "
	"pc ON pc.case_id = c.id WHERE c.status = 'closed' AND " IN_PERIOD("c.closed_at") ") "
	"SELECT o.outcome, (SELECT count(*) FROM k WHERE k.outcome = o.outcome) FROM o ORDER BY o.ord";

/* Plans applied in the period. */
#define APPLIED                                                                             \
	"a AS (SELECT DISTINCT e.plan_id AS id FROM plan_event e WHERE e.kind = 'apply' AND " \
	IN_PERIOD("e.at") ")"
static const char sql_by_what[] =
	"WITH " APPLIED ", d(dim, value, plan) AS (SELECT DISTINCT k.key, v.value, p.id FROM a "
	"JOIN plan p ON p.id = a.id, json_each(p.body, '$.rules') r, json_each(r.value) k, "
	"json_each(k.value) v WHERE json_extract(r.value, '$.effect') = 'disable' AND k.key IN "
	"('category', 'subcategory', 'service', 'capability')) "
	"SELECT dim, value, count(*) FROM d GROUP BY dim, value ORDER BY count(*) DESC, dim, value";
static const char sql_by_country[] =
	"WITH " APPLIED ", d(country, plan) AS (SELECT DISTINCT CASE WHEN json_extract(r.value, "
	"'$.country') IS NOT NULL THEN v.value WHEN json_extract(r.value, '$.region') IS NOT NULL "
	"THEN '(regions)' ELSE '(all)' END, p.id FROM a JOIN plan p ON p.id = a.id, "
	"json_each(p.body, '$.rules') r, json_each(CASE WHEN json_extract(r.value, '$.country') "
	"IS NOT NULL THEN json_extract(r.value, '$.country') ELSE '[0]' END) v WHERE "
	"json_extract(r.value, '$.effect') = 'disable') "
	"SELECT country, count(*) FROM d GROUP BY country ORDER BY count(*) DESC, country";
static const char sql_customers[] =
	"WITH " APPLIED " SELECT 'customers-affected', count(DISTINCT p.customer_id) FROM a JOIN "
	"plan p ON p.id = a.id UNION ALL SELECT 'plans-applied', count(*) FROM a";
static const char sql_appeals[] =
	"WITH o(outcome, ord) AS (VALUES ('received', 0), ('upheld', 1), ('partly-upheld', 2), "
	"('rejected', 3), ('open', 4)), "
	"op AS (SELECT json_extract(data, '$.details.plan') AS plan, json_extract(data, "
	"'$.details.appeal') AS n FROM audit_entry WHERE action = 'appeal.open' AND "
	IN_PERIOD("json_extract(data, '$.details.received')") "), "
	"dc AS (SELECT json_extract(data, '$.details.plan') AS plan, json_extract(data, "
	"'$.details.appeal') AS n, json_extract(data, '$.details.outcome') AS outcome FROM "
	"audit_entry WHERE action = 'appeal.decide'), "
	"k AS (SELECT coalesce(dc.outcome, 'open') AS outcome FROM op LEFT JOIN dc ON dc.plan = "
	"op.plan AND dc.n = op.n) "
	"SELECT o.outcome, CASE o.outcome WHEN 'received' THEN (SELECT count(*) FROM k) ELSE "
	"(SELECT count(*) FROM k WHERE k.outcome = o.outcome) END FROM o ORDER BY o.ord";
static const char sql_rollbacks[] =
	"SELECT 'plans-rolled-back', count(DISTINCT plan_id) FROM plan_event WHERE kind = "
	"'rollback' AND " IN_PERIOD("at");
/* Per plan applied in the period: days from the case's trigger (its date,
 * else when it was opened) to the decision (the last approval before the
 * apply), and from the decision to the apply. */
static const char sql_days[] =
	"WITH " APPLIED ", ap AS (SELECT plan_id AS id, min(at) AS applied FROM plan_event WHERE "
	"kind = 'apply' GROUP BY plan_id), dec AS (SELECT ap.id, max(e.at) AS decided FROM ap JOIN "
	"plan_event e ON e.plan_id = ap.id AND e.kind = 'approve' AND e.at <= ap.applied GROUP BY "
	"ap.id) "
	"SELECT julianday(dec.decided) - julianday(coalesce(c.trigger_date, substr(c.opened_at, 1, "
	"10))), julianday(ap.applied) - julianday(dec.decided) FROM a JOIN ap ON ap.id = a.id JOIN "
	"plan p ON p.id = a.id JOIN review_case c ON c.id = p.case_id LEFT JOIN dec ON dec.id = a.id";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 0..1) of sorted v. */
static double pct(const double *v, size_t n, double p)
{
	size_t k = (size_t)ceil(p * (double)n);
	return v[k ? k - 1 : 0];
}

static enum pb_status days_table(struct pb_ws *ws, struct table *t, const char *from,
                                 const char *to, struct pb_error *err)
{
	sqlite3_stmt *q = NULL;
	enum pb_status rc = pb__db_prepare(ws->db, sql_days, &q, err);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, to, -1, SQLITE_STATIC);
	double *v[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 }, cap = 0;
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (n[0] == cap || n[1] == cap) {
			size_t nc = cap ? cap * 2 : 64;
			double *a = realloc(v[0], nc * sizeof(double)), *b = a ? realloc(v[1], nc * sizeof(double)) : NULL;
			if (a)
				v[0] = a;
			if (!a || !b) {
				rc = pb__err(err, PB_ENOMEM, "cannot build the report: out of memory");
				break;
			}
			v[1] = b;
			cap = nc;
		}
		for (int k = 0; k < 2; k++)
			if (sqlite3_column_type(q, k) != SQLITE_NULL)
				v[k][n[k]++] = sqlite3_column_double(q, k);
	}
	if (!rc && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot compute the transparency report");
	sqlite3_finalize(q);
	static const char *const names[] = { "trigger-to-decision", "decision-to-enforcement" };
	for (int k = 0; k < 2 && !rc; k++) {
		char cnt[24], med[24] = "", p90[24] = "";
		pb__snprintf(cnt, sizeof(cnt), "%zu", n[k]);
		if (n[k]) { /* v[k] is NULL when nothing was decided in the period */
			qsort(v[k], n[k], sizeof(double), cmp_double);
			pb__snprintf(med, sizeof(med), "%.1f", pct(v[k], n[k], 0.5));
			pb__snprintf(p90, sizeof(p90), "%.1f", pct(v[k], n[k], 0.9));
		}
		if (!row_add(t, (const char *const[]){ names[k], cnt, med, p90 }))
			rc = pb__err(err, PB_ENOMEM, "cannot build the report: out of memory");
	}
	free(v[0]);
	free(v[1]);
	return rc;
}

/* ---- the table definitions ---------------------------------------------------------- */

static const char *const c_opened[] = { "trigger_type", "cases" };
static const char *const a_opened[] = {
	"public-report: the case names where its trigger was published (a press report); other: "
	"any other trigger",
	"review cases opened in the period"
};
static const char *const c_outcomes[] = { "outcome", "cases" };
static const char *const a_outcomes[] = {
	"no-action: no plan of the case was applied; partial-suspension: some services cut; "
	"total-suspension: an applied plan disables every service and keeps none; termination: "
	"contract ended (probity does not terminate: always 0)",
	"review cases closed in the period"
};
static const char *const c_what[] = { "dimension", "value", "plans" };
static const char *const a_what[] = {
	"what a disable names: category, subcategory, service (FOCUS names) or capability",
	"the value (catalog spelling)", "plans applied in the period that disable it"
};
static const char *const c_country[] = { "country", "plans" };
static const char *const a_country[] = {
	"ISO 3166-1 country a disable names; (regions): disables naming regions only; (all): "
	"disables naming neither (every country)",
	"plans applied in the period that disable there"
};
static const char *const c_cust[] = { "measure", "count" };
static const char *const a_cust[] = {
	"customers-affected: distinct customers with a plan applied in the period (a count, never "
	"a name); plans-applied: plans applied in the period",
	"the count"
};
static const char *const c_days[] = { "measure", "plans", "median_days", "p90_days" };
static const char *const a_days[] = {
	"trigger-to-decision: from the case's trigger date (else the day it was opened) to the "
	"plan's last approval before apply; decision-to-enforcement: from that approval to the apply",
	"plans applied in the period that the measure covers",
	"median in days (nearest rank, one decimal)", "90th percentile in days (nearest rank)"
};
static const char *const c_appeals[] = { "outcome", "appeals" };
static const char *const a_appeals[] = {
	"received: appeals received in the period; upheld, partly-upheld, rejected: how those were "
	"decided (so far); open: not decided yet",
	"appeals"
};
static const char *const c_roll[] = { "measure", "count" };
static const char *const a_roll[] = { "plans-rolled-back: plans whose rollback was done in the period",
	                              "the count" };

#define TABLE(n, t, a, c, ca, cc) { n, t, a, c, ca, sizeof(c) / sizeof(c[0]), NULL, 0, 0, cc }
#define NTABLES 8

static void tables_init(struct table t[NTABLES])
{
	struct table def[NTABLES] = {
		TABLE("reviews-opened", "Reviews opened, by trigger type", "", c_opened, a_opened, 1),
		TABLE("reviews-closed", "Reviews closed, by outcome", "", c_outcomes, a_outcomes, 1),
		TABLE("restrictions-by-service", "Services restricted, by what the plan names", "",
		      c_what, a_what, 2),
		TABLE("restrictions-by-country", "Services restricted, by country", "", c_country,
		      a_country, 1),
		TABLE("customers-affected", "Customers affected", "", c_cust, a_cust, 1),
		TABLE("days", "Days from trigger to decision and from decision to enforcement", "",
		      c_days, a_days, -1),
		TABLE("appeals", "Appeals received and their outcomes", "", c_appeals, a_appeals, 1),
		TABLE("rollbacks", "Plans rolled back", "", c_roll, a_roll, 1),
	};
	memcpy(t, def, sizeof(def));
}

/* ---- writers ------------------------------------------------------------------------ */

static const char *cell(const struct table *t, size_t r, size_t c, const struct pb_transparency_options *o,
                        char buf[48])
{
	const char *v = t->cells[r * t->ncols + c];
	if (o->band && (int)c == t->count_col) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (!*end && n >= o->band_lo && n <= o->band_hi) {
			pb__snprintf(buf, 48, "%u-%u", o->band_lo, o->band_hi);
			return buf;
		}
	}
	return v;
}

static enum pb_status csv_field(struct pb_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n"))
		return pb_buf_adds(b, s);
	enum pb_status st = pb_buf_addc(b, '"');
	for (; *s && !st; s++)
		st = *s == '"' ? pb_buf_adds(b, "\"\"") : pb_buf_addc(b, *s);
	return st ? st : pb_buf_addc(b, '"');
}

static enum pb_status out_csv(const struct table *t, const struct pb_transparency_options *o,
                              struct pb_buf *b)
{
	enum pb_status st = PB_OK;
	for (size_t c = 0; c < t->ncols && !st; c++)
		if (!(st = c ? pb_buf_addc(b, ',') : PB_OK))
			st = csv_field(b, t->cols[c]);
	if (!st)
		st = pb_buf_adds(b, "\r\n");
	for (size_t r = 0; r < t->nrows && !st; r++) {
		for (size_t c = 0; c < t->ncols && !st; c++) {
			char buf[48];
			if (!(st = c ? pb_buf_addc(b, ',') : PB_OK))
				st = csv_field(b, cell(t, r, c, o, buf));
		}
		if (!st)
			st = pb_buf_adds(b, "\r\n");
	}
	return st;
}

static json_t *out_json(const struct table *t, const struct pb_transparency_options *o)
{
	json_t *rows = json_array();
	for (size_t r = 0; rows && r < t->nrows; r++) {
		json_t *row = json_object();
		for (size_t c = 0; row && c < t->ncols; c++) {
			char buf[48];
			const char *v = cell(t, r, c, o, buf);
			char *end;
			long long n = strtoll(v, &end, 10);
			json_object_set_new(row, t->cols[c],
			                    *v && !*end ? json_integer(n) : json_string(v));
		}
		json_array_append_new(rows, row);
	}
	return json_pack("{s:s, s:o}", "title", t->title, "rows", rows);
}

enum pb_status pb__report_html_text(struct pb_buf *o, const char *s)
{
	enum pb_status st = PB_OK;
	for (; *s && !st; s++)
		st = *s == '&' ? pb_buf_adds(o, "&amp;") : *s == '<' ? pb_buf_adds(o, "&lt;")
		     : *s == '>' ? pb_buf_adds(o, "&gt;") : *s == '"' ? pb_buf_adds(o, "&quot;")
		                                          : pb_buf_addc(o, *s);
	return st;
}

/* A horizontal bar chart of the count column, labelled by the columns before it. */
static void svg_bars(struct pb_buf *b, const struct table *t)
{
	if (t->count_col < 0 || !t->nrows)
		return;
	unsigned long long max = 1;
	for (size_t r = 0; r < t->nrows; r++) {
		unsigned long long n = strtoull(t->cells[r * t->ncols + (size_t)t->count_col], NULL, 10);
		max = n > max ? n : max;
	}
	size_t rows = t->nrows > 40 ? 40 : t->nrows;
	pb_buf_printf(b,
	              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"%zu\" "
	              "role=\"img\" aria-label=\"",
	              rows * 22 + 8);
	pb__report_html_text(b, t->title);
	pb_buf_adds(b, "\">\n");
	for (size_t r = 0; r < rows; r++) {
		struct pb_buf lab;
		pb_buf_init(&lab, 4096);
		for (int c = 0; c < t->count_col; c++)
			pb_buf_printf(&lab, "%s%s", c ? " " : "", t->cells[r * t->ncols + (size_t)c]);
		unsigned long long n = strtoull(t->cells[r * t->ncols + (size_t)t->count_col], NULL, 10);
		double w = 380.0 * (double)n / (double)max;
		pb_buf_printf(b, "<text x=\"0\" y=\"%zu\" font-size=\"12\">", r * 22 + 18);
		pb__report_html_text(b, lab.data ? lab.data : "");
		pb_buf_printf(b,
		              "</text><rect x=\"220\" y=\"%zu\" width=\"%.1f\" height=\"16\" "
		              "fill=\"#3b6ea5\"/><text x=\"%.1f\" y=\"%zu\" font-size=\"12\">%llu</text>\n",
		              r * 22 + 5, w, 226 + w, r * 22 + 18, n);
		pb_buf_release(&lab);
	}
	pb_buf_adds(b, "</svg>\n");
}

static enum pb_status out_html(const struct table *t, size_t nt, const char *period,
                               const char *from, const char *to, const char *provider,
                               const struct pb_transparency_options *o, struct pb_buf *b)
{
	pb_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	               "<title>Transparency report ");
	pb__report_html_text(b, period);
	pb_buf_adds(b, "</title>\n<style>\nbody{font-family:Georgia,serif;max-width:52em;margin:2em "
	               "auto;padding:0 1em;color:#111}\ntable{border-collapse:collapse;margin:.5em 0}"
	               "\nth,td{border:1px solid #bbb;padding:.2em .6em;text-align:left}\n"
	               "td.n{text-align:right}\nsvg{display:block;margin:.5em 0 1.5em}\n</style>\n"
	               "</head>\n<body>\n<h1>Transparency report ");
	pb__report_html_text(b, period);
	pb_buf_adds(b, "</h1>\n<p>");
	pb__report_html_text(b, provider);
	pb_buf_printf(b, ": service restrictions from %s to the day before %s.", from, to);
	if (o->band)
		pb_buf_printf(b, " Counts from %u to %u are shown as the band %u-%u.", o->band_lo,
		              o->band_hi, o->band_lo, o->band_hi);
	pb_buf_adds(b, " No customer is named.</p>\n");
	for (size_t i = 0; i < nt; i++) {
		pb_buf_adds(b, "<h2>");
		pb__report_html_text(b, t[i].title);
		pb_buf_adds(b, "</h2>\n<table>\n<tr>");
		for (size_t c = 0; c < t[i].ncols; c++) {
			pb_buf_adds(b, "<th>");
			pb__report_html_text(b, t[i].cols[c]);
			pb_buf_adds(b, "</th>");
		}
		pb_buf_adds(b, "</tr>\n");
		for (size_t r = 0; r < t[i].nrows; r++) {
			pb_buf_adds(b, "<tr>");
			for (size_t c = 0; c < t[i].ncols; c++) {
				char buf[48];
				const char *v = cell(&t[i], r, c, o, buf);
				bool num = *v && strspn(v, "0123456789.-") == strlen(v);
				pb_buf_adds(b, num ? "<td class=\"n\">" : "<td>");
				pb__report_html_text(b, v);
				pb_buf_adds(b, "</td>");
			}
			pb_buf_adds(b, "</tr>\n");
		}
		pb_buf_adds(b, "</table>\n");
		if (!o->band)
			svg_bars(b, &t[i]);
	}
	return pb_buf_adds(b, "</body>\n</html>\n");
}

static enum pb_status readme(const struct table *t, size_t nt, const char *period,
                             const char *from, const char *to, const struct pb_transparency_options *o,
                             struct pb_buf *b)
{
	pb_buf_printf(b, "# Transparency report %s (%s to the day before %s)\n\n", period, from, to);
	pb_buf_adds(b, "One CSV file per table (RFC 4180: comma-separated, CRLF line ends, a header "
	               "row, fields with commas or quotes quoted). No customer is named.\n");
	if (o->band)
		pb_buf_printf(b, "Counts from %u to %u are written as the band \"%u-%u\".\n",
		              o->band_lo, o->band_hi, o->band_lo, o->band_hi);
	for (size_t i = 0; i < nt; i++) {
		pb_buf_printf(b, "\n## %s.csv: %s\n\n", t[i].name, t[i].title);
		for (size_t c = 0; c < t[i].ncols; c++)
			pb_buf_printf(b, "- `%s`: %s\n", t[i].cols[c], t[i].col_about[c]);
	}
	return b->data ? PB_OK : PB_ENOMEM;
}

/* ---- entry point ---------------------------------------------------------------------- */

static bool add_file(struct pb_report_file **f, size_t *n, const char *name, struct pb_buf *b)
{
	struct pb_report_file *nf = realloc(*f, (*n + 1) * sizeof(**f));
	if (!nf)
		return false;
	*f = nf;
	pb__snprintf(nf[*n].name, sizeof(nf[*n].name), "%s", name);
	nf[*n].data = b->data ? b->data : pb__strndup("", 0);
	nf[*n].len = b->len;
	b->data = NULL;
	pb_buf_release(b);
	if (!nf[*n].data)
		return false;
	(*n)++;
	return true;
}

void pb_report_files_free(struct pb_report_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i].data);
	free(f);
}

enum pb_status pb__report_publish(struct pb_ws *ws, const char *actor, const char *action,
                                  json_t *details, const struct pb_report_file *f, size_t n,
                                  uint64_t *index_out, struct pb_error *err)
{
	json_t *files = json_array();
	for (size_t i = 0; files && i < n; i++) {
		uint8_t h[32];
		char hex[65];
		pb__sha256(f[i].data, f[i].len, h);
		pb_hex(h, 32, hex);
		json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "name", f[i].name, "sha256",
		                                       hex, "bytes", (json_int_t)f[i].len));
	}
	json_object_set_new(details, "files", files);
	char *dj = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
	if (!dj)
		return pb__err(err, PB_ENOMEM, "cannot record the report: out of memory");
	enum pb_status rc = pb__ws_begin_as(ws, actor, action, "publish a report",
	                                    err);
	if (!rc)
		rc = pb__ws_finish(ws, pb__audit_append(ws, actor, action, 0, NULL, dj, index_out, err),
		                   err);
	free(dj);
	return rc;
}

enum pb_status pb_report_transparency(struct pb_ws *ws, const char *actor,
                                      const struct pb_transparency_options *o,
                                      struct pb_report_file **files_out, size_t *nfiles_out,
                                      uint64_t *index_out, struct pb_error *err)
{
	char from[11], to[11];
	struct table t[NTABLES];
	struct pb_report_file *files = NULL;
	size_t nfiles = 0;
	enum pb_status rc = PB_OK;
	*files_out = NULL;
	*nfiles_out = 0;
	if (!o->period || !period_parse(o->period, from, to))
		return pb__err_field(err, PB_EINVAL, "period",
		                     "'%s' is not a period: a year (2025), a half (2025H2) or a "
		                     "quarter (2025-Q3)",
		                     o->period ? o->period : "");
	if (o->band && o->band_lo > o->band_hi)
		return pb__err_field(err, PB_EINVAL, "band", "the band %u-%u is empty", o->band_lo,
		                     o->band_hi);
	if (!o->draft && (rc = pb__user_require_role(ws, actor, "analyst,approver,auditor", err)))
		return rc;
	tables_init(t);
	const char *const sql[NTABLES] = { sql_opened, sql_outcomes, sql_by_what, sql_by_country,
		                           sql_customers, NULL, sql_appeals, sql_rollbacks };
	for (size_t i = 0; i < NTABLES && !rc; i++)
		rc = sql[i] ? q_rows(ws, &t[i], sql[i], from, to, err) : days_table(ws, &t[i], from, to, err);
	if (rc)
		goto out;
	const char *provider = pb_ws_setting(ws, "provider_name");
	if (!provider || !*provider)
		provider = "The provider";
	struct pb_buf b;
	pb_buf_init(&b, REPORT_MAX);
	bool ok = true;
	if (o->format == PB_REPORT_CSV) {
		for (size_t i = 0; i < NTABLES && ok; i++) {
			char name[80];
			pb__snprintf(name, sizeof(name), "%s.csv", t[i].name);
			ok = !out_csv(&t[i], o, &b) && add_file(&files, &nfiles, name, &b);
			pb_buf_init(&b, REPORT_MAX);
		}
		ok = ok && !readme(t, NTABLES, o->period, from, to, o, &b) &&
		     add_file(&files, &nfiles, "README.md", &b);
	} else if (o->format == PB_REPORT_JSON) {
		json_t *all = json_pack("{s:s, s:s, s:s, s:o}", "period", o->period, "from", from,
		                        "to", to, "tables", json_object());
		for (size_t i = 0; all && i < NTABLES; i++)
			json_object_set_new(json_object_get(all, "tables"), t[i].name, out_json(&t[i], o));
		if (all && o->band)
			json_object_set_new(all, "band", json_sprintf("%u-%u", o->band_lo, o->band_hi));
		char *s = all ? json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		json_decref(all);
		ok = s && !pb_buf_adds(&b, s) && !pb_buf_addc(&b, '\n') &&
		     add_file(&files, &nfiles, "transparency.json", &b);
		free(s);
	} else {
		ok = !out_html(t, NTABLES, o->period, from, to, provider, o, &b) &&
		     add_file(&files, &nfiles, "transparency.html", &b);
	}
	pb_buf_release(&b);
	if (!ok) {
		rc = pb__err(err, PB_ENOMEM, "cannot write the transparency report: out of memory");
		goto out;
	}
	if (!o->draft) {
		static const char *const fmt[] = { "csv", "json", "html" };
		json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "period", o->period, "from", from, "to",
		                      to, "format", fmt[o->format]);
		if (!d) {
			rc = pb__err(err, PB_ENOMEM, "cannot record the report: out of memory");
			goto out;
		}
		rc = pb__report_publish(ws, actor, "report.transparency", d, files, nfiles, index_out,
		                        err);
		json_decref(d);
		if (rc)
			goto out;
	}
	*files_out = files;
	*nfiles_out = nfiles;
	files = NULL;
out:
	pb_report_files_free(files, nfiles);
	for (size_t i = 0; i < NTABLES; i++)
		table_release(&t[i]);
	return rc;
}
