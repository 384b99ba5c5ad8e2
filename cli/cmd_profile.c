/* cmd_profile.c - probity profile: what a customer consumes, where, how much,
 * and how it changed; with charts. */
#include "cli.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: probity profile [options] WS CUSTOMER\n"
	"\n"
	"Shows what CUSTOMER consumed in the period, grouped by the dimensions of --by:\n"
	"quantity (in its normalised unit) and billed cost as exact sums, the share of\n"
	"the customer's spend, growth (quantity a day in the last period against the\n"
	"one before, and against the first period with usage), and, where the\n"
	"workspace also holds other customers' usage of the same thing (same region,\n"
	"service, ... and unit), the customer's share of everyone's usage. Lines are\n"
	"kept apart by unit and currency. Then the sudden changes of each series\n"
	"(the line's daily consumption): level shifts and spikes, when they started,\n"
	"the level before against the level reached, their size in units and money\n"
	"over as long as the series stays away from that level, and the driver: the\n"
	"sub-account, service, region or SKU that explains most of the change.\n"
	"docs/profile.md explains every figure and the detection method.\n"
	"\n"
	"options:\n"
	"  -f, --from DATE         first day of the period (YYYY-MM-DD, or YYYY-MM for\n"
	"                          its first day); default: the first day with usage\n"
	"  -t, --to DATE           last day (YYYY-MM-DD, or YYYY-MM for its last day);\n"
	"                          default: the last day with usage\n"
	"  -b, --by DIMS           comma-separated: account, subaccount, category,\n"
	"                          subcategory, service, sku, capability, region,\n"
	"                          country, and month or day; default\n"
	"                          category,service,region\n"
	"  -u, --unit UNIT         only usage in this normalised unit (GB-Months, Hours...)\n"
	"      --csv               the lines (or with --changes the changes) as CSV\n"
	"      --daily             one CSV row per day per series: actual, expected,\n"
	"                          lower and upper bound, change flag and number\n"
	"      --json              everything as one JSON object\n"
	"      --changes           show the sudden changes only (table or CSV)\n"
	"      --no-detect         do not look for sudden changes\n"
	"      --min-cost AMOUNT   report a change only when it is worth at least AMOUNT\n"
	"                          of money a day (default 1)\n"
	"      --min-pct PCT       ... and at least PCT percent of the expected level\n"
	"                          (default 10; a start from zero always passes)\n"
	"      --window DAYS       days before a change whose median is its expected\n"
	"                          level (default 28)\n"
	"      --penalty P         a regime change must raise the log-likelihood by\n"
	"                          more than P ln(days) (default 8, as probity detect;\n"
	"                          3/4 of it for a series of levels or lines)\n"
	"      --chart FILE.svg    write a stacked area chart of consumption over time\n"
	"                          by the series of --by (billed cost when units differ)\n"
	"      --chart-series FILE.svg\n"
	"                          write a line chart of one series a day with its\n"
	"                          changes marked: the series of the largest change,\n"
	"                          or the one --series names\n"
	"      --series TEXT       the series for --chart-series: the first whose label\n"
	"                          contains TEXT (case-insensitive)\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 (also for a period without usage), 1 failed (unknown\n"
	"customer, ...), 2 usage (unknown dimension, bad date, empty period).\n"
	"\n"
	"examples:\n"
	"  probity profile ws 'Varnia Interior Ministry' --by capability,region\n"
	"  probity profile ws 'Varnia Interior Ministry' --by country,month --unit GB-Months\n"
	"  probity profile ws 'Varnia Interior Ministry' --by capability,region \\\n"
	"      --chart storage.svg --chart-series changes.svg --series object-storage\n";

enum { O_CSV = 256, O_JSON, O_CHANGES, O_NODETECT, O_MINCOST, O_MINPCT, O_CHART, O_CHARTSER,
       O_SERIES, O_WINDOW, O_PENALTY, O_DAILY };

static const char *dash(const char *s)
{
	return s && s[0] ? s : "-";
}

/* Decimals of quantities and costs in the table; CSV and JSON keep the exact
 * sums. */
#define TABLE_DECIMALS 2

/* An exact sum as the table shows it: rounded half away from zero to
 * TABLE_DECIMALS places, on the exact decimal ("49782185.394019266666666" ->
 * "49782185.39"). buf needs FIXED_BUFSZ bytes. */
#define FIXED_BUFSZ 64
static const char *fixed(const char *exact, char *buf)
{
	if (!exact[0] || !pb_dec_text_round(exact, TABLE_DECIMALS, buf, FIXED_BUFSZ))
		return dash(exact);
	return buf;
}

static void pct(double r, bool sign, char *buf, size_t cap)
{
	if (isnan(r))
		snprintf(buf, cap, "-");
	else if (isinf(r))
		snprintf(buf, cap, "new");
	else
		snprintf(buf, cap, sign ? "%+.1f%%" : "%.1f%%", 100.0 * r);
}

static void num(double v, char *buf, size_t cap)
{
	if (!isfinite(v))
		snprintf(buf, cap, "-");
	else if (fabs(v) >= 1e6 || (fabs(v) < 1e-3 && v != 0))
		snprintf(buf, cap, "%.4g", v);
	else
		snprintf(buf, cap, "%.2f", v);
}

static const char *driver_dim_name(enum pb_profile_driver_dim d)
{
	static const char *const n[] = { "subaccount", "service", "region", "sku" };
	return (unsigned)d < PB_DRIVER_COUNT ? n[d] : "?";
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jpct(double v) /* percentages may be +-inf (a start from zero) */
{
	if (isinf(v))
		return json_string(v > 0 ? "inf" : "-inf");
	return jnum(v);
}

/* ---- table ----------------------------------------------------------------- */

static void print_lines(const struct pb_profile *p)
{
	const char *hdr[PB_PROFILE_DIM_COUNT + 12];
	char up[PB_PROFILE_DIM_COUNT][16];
	size_t nc = 0;
	bool sub = false;
	for (size_t k = 0; k < p->nby; k++) {
		const char *n = pb_profile_dim_name(p->by[k]);
		size_t i = 0;
		for (; n[i] && i + 1 < sizeof(up[k]); i++)
			up[k][i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
		up[k][i] = '\0';
		hdr[nc++] = up[k];
		if (p->by[k] == PB_PROFILE_SUBACCOUNT)
			sub = true;
	}
	if (sub)
		hdr[nc++] = "NAME";
	const char *rest[] = { "UNIT", ">QUANTITY", ">COST", "CUR", ">SPEND", ">PREV", ">GROWTH",
		               "SINCE", ">OF ALL" };
	for (size_t i = 0; i < CLI_LEN(rest); i++)
		hdr[nc++] = rest[i];
	struct cli_table t;
	cli_table_init(&t, nc, hdr);
	for (size_t i = 0; i < p->nlines; i++) {
		const struct pb_profile_line *l = &p->lines[i];
		const char *c[PB_PROFILE_DIM_COUNT + 12];
		char spend[16], prev[24], grow[24], all[24];
		char qty[FIXED_BUFSZ], cost[FIXED_BUFSZ];
		size_t k = 0;
		for (size_t d = 0; d < p->nby; d++)
			c[k++] = dash(l->dims[d]);
		if (sub)
			c[k++] = dash(l->subaccount_name);
		pct(l->share_of_spend, false, spend, sizeof(spend));
		pct(l->growth_prev, true, prev, sizeof(prev));
		pct(l->growth_window, true, grow, sizeof(grow));
		pct(l->share_of_all, false, all, sizeof(all));
		c[k++] = dash(l->unit);
		c[k++] = fixed(l->quantity, qty);
		c[k++] = fixed(l->cost, cost);
		c[k++] = l->currency;
		c[k++] = spend;
		c[k++] = prev;
		c[k++] = grow;
		c[k++] = l->first_period;
		c[k++] = all;
		cli_table_add(&t, c);
	}
	cli_table_print(&t, stdout);
	cli_table_release(&t);
}

static void print_totals(const struct pb_profile *p)
{
	char q[FIXED_BUFSZ], c[FIXED_BUFSZ];
	printf("\ntotals:\n");
	for (size_t i = 0; i < p->ntotals; i++) {
		const struct pb_profile_total *t = &p->totals[i];
		if (!t->unit)
			printf("  %s %s billed, all usage (%llu daily aggregates)\n", fixed(t->cost, c),
			       t->currency, (unsigned long long)t->rows);
	}
	for (size_t i = 0; i < p->ntotals; i++) {
		const struct pb_profile_total *t = &p->totals[i];
		if (t->unit)
			printf("  %s %s for %s %s\n", fixed(t->quantity, q),
			       t->unit[0] ? t->unit : "(no unit)", fixed(t->cost, c), t->currency);
	}
}

static void driver_text(const struct pb_profile_change *c, char *buf, size_t cap)
{
	const struct pb_profile_driver *d = &c->drivers[c->driver];
	char share[24];
	pct(d->share, false, share, sizeof(share));
	if (!d->value[0] && !d->name[0]) {
		snprintf(buf, cap, "-");
		return;
	}
	snprintf(buf, cap, "%s %s%s%s%s: %s of the change", driver_dim_name(c->driver),
	         dash(d->value), d->name[0] ? " '" : "", d->name, d->name[0] ? "'" : "", share);
}

static void print_changes(const struct pb_profile *p, bool heading)
{
	if (heading)
		printf("\nsudden changes (%zu), largest first:\n", p->nchanges);
	if (!p->nchanges) {
		if (heading)
			printf("  none above the thresholds\n");
		return;
	}
	const char *hdr[] = { "#", "SERIES", "KIND", "START", "END", ">EXPECTED/DAY", ">ACTUAL/DAY",
		              ">CHANGE", ">COST/DAY", ">COST IN ALL", "DRIVER" };
	struct cli_table t;
	cli_table_init(&t, CLI_LEN(hdr), hdr);
	for (size_t i = 0; i < p->nchanges; i++) {
		const struct pb_profile_change *c = &p->changes[i];
		char no[16], kind[32], ex[32], ac[32], ch[24], cd[32], cc[32], drv[512];
		snprintf(no, sizeof(no), "%zu", i + 1);
		snprintf(kind, sizeof(kind), "%s %s", pb_change_kind_name(c->change.kind),
		         c->change.direction > 0 ? "up" : "down");
		num(c->change.expected, ex, sizeof(ex));
		num(c->change.actual, ac, sizeof(ac));
		if (isinf(c->change.pct))
			snprintf(ch, sizeof(ch), "from 0");
		else
			snprintf(ch, sizeof(ch), "%+.1f%%", c->change.pct);
		snprintf(cd, sizeof(cd), "%+.2f", c->cost_delta);
		snprintf(cc, sizeof(cc), "%+.2f", c->excess_cost);
		driver_text(c, drv, sizeof(drv));
		const char *row[] = { no, p->series[c->series].label, kind, c->start,
			              c->ongoing ? "ongoing" : c->end, ex, ac, ch, cd, cc, drv };
		cli_table_add(&t, row);
	}
	cli_table_print(&t, stdout);
	cli_table_release(&t);
	printf("\nwhy:\n");
	for (size_t i = 0; i < p->nchanges; i++) {
		const struct pb_profile_change *c = &p->changes[i];
		const struct pb_change *h = &c->change;
		char b0[16], b1[16];
		int64_t d0 = p->series[c->series].first_day;
		pb_day_format(d0 + (int64_t)h->base_from, b0);
		pb_day_format(d0 + (int64_t)(h->base_to ? h->base_to - 1 : 0), b1);
		if (h->seasonal)
			printf("  %zu. expected: the same days of the previous %u-day periods (latest "
			       "%s to %s)",
			       i + 1, h->period, b0, b1);
		else
			printf("  %zu. expected: the median of %s to %s", i + 1, b0, b1);
		if (isnan(c->statistic))
			printf("; usage started on %s (none before it in the period)", c->start);
		else
			printf("; a new regime from %s: splitting the days around it there raises "
			       "the log-likelihood ratio statistic to %.4g, threshold %.4g",
			       c->start, c->statistic, c->threshold);
		printf("; price %.6g %s per %s\n", c->price, p->series[c->series].currency,
		       dash(p->series[c->series].unit));
	}
}

/* ---- CSV ------------------------------------------------------------------- */

static void csv_field(const char *s, bool last)
{
	bool q = strpbrk(s, ",\"\r\n") != NULL;
	if (q) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

static void csv_num(double v, bool last)
{
	char buf[48] = "";
	if (isinf(v))
		snprintf(buf, sizeof(buf), "%s", v > 0 ? "inf" : "-inf");
	else if (!isnan(v))
		snprintf(buf, sizeof(buf), "%.10g", v);
	csv_field(buf, last);
}

static void csv_lines(const struct pb_profile *p)
{
	bool sub = false;
	for (size_t k = 0; k < p->nby; k++) {
		csv_field(pb_profile_dim_name(p->by[k]), false);
		sub = sub || p->by[k] == PB_PROFILE_SUBACCOUNT;
	}
	if (sub)
		csv_field("subaccount_name", false);
	fputs("unit,quantity,cost,currency,rows,share_of_spend,growth_prev,growth_window,"
	      "first_period,all_quantity,share_of_all\n",
	      stdout);
	for (size_t i = 0; i < p->nlines; i++) {
		const struct pb_profile_line *l = &p->lines[i];
		char rows[24];
		for (size_t k = 0; k < p->nby; k++)
			csv_field(l->dims[k], false);
		if (sub)
			csv_field(l->subaccount_name, false);
		snprintf(rows, sizeof(rows), "%llu", (unsigned long long)l->rows);
		csv_field(l->unit, false);
		csv_field(l->quantity, false);
		csv_field(l->cost, false);
		csv_field(l->currency, false);
		csv_field(rows, false);
		csv_num(l->share_of_spend, false);
		csv_num(l->growth_prev, false);
		csv_num(l->growth_window, false);
		csv_field(l->first_period, false);
		csv_field(l->all_quantity, false);
		csv_num(l->share_of_all, true);
	}
}

/* --daily: one CSV row per day per series, in the shape cost-anomaly tools
 * use: expected and bounds from the same regimes as the changes
 * (pb_detect_regime_bands), change 1 on the days of a reported change (its
 * START to END) and change_id its number in the changes table. */
static int csv_daily(const struct pb_profile *p, const struct pb_detect_config *cfg)
{
	struct pb_error err = { 0 };
	fputs("series,unit,date,actual,expected,lower_bound,upper_bound,change,change_id\n", stdout);
	for (size_t s = 0; s < p->nseries; s++) {
		const struct pb_profile_series *ps = &p->series[s];
		struct pb_regime_band *band = calloc(ps->n ? ps->n : 1, sizeof(*band));
		size_t *id = calloc(ps->n ? ps->n : 1, sizeof(*id));
		if (!band || !id) {
			free(band);
			free(id);
			return cli_failf("out of memory");
		}
		struct pb_regime_change *rg = NULL;
		size_t nr = 0;
		if (pb_detect_regimes(cfg, ps->points, ps->n, &rg, &nr, &err) != PB_OK ||
		    pb_detect_regime_bands(ps->points, ps->n, rg, nr, band, &err) != PB_OK) {
			free(rg);
			free(band);
			free(id);
			return cli_fail(&err);
		}
		free(rg);
		for (size_t k = 0; k < p->nchanges; k++)
			if (p->changes[k].series == s)
				for (size_t i = p->changes[k].change.start;
				     i <= p->changes[k].change.end && i < ps->n; i++)
					id[i] = k + 1;
		for (size_t i = 0; i < ps->n; i++) {
			char day[16], cid[24] = "";
			pb_day_format(ps->first_day + (int64_t)i, day);
			csv_field(ps->label, false);
			csv_field(ps->unit ? ps->unit : "", false);
			csv_field(day, false);
			csv_num(ps->points[i].v, false);
			csv_num(band[i].expected, false);
			csv_num(band[i].lower, false);
			csv_num(band[i].upper, false);
			csv_field(id[i] ? "1" : "0", false);
			if (id[i])
				snprintf(cid, sizeof(cid), "%zu", id[i]);
			csv_field(cid, true);
		}
		free(band);
		free(id);
	}
	return 0;
}

static void csv_changes(const struct pb_profile *p)
{
	fputs("series,unit,kind,direction,start,detected,end,ongoing,expected,actual,delta,pct,"
	      "price,cost_delta,excess,excess_cost,driver_dimension,driver,driver_name,"
	      "driver_share\n",
	      stdout);
	for (size_t i = 0; i < p->nchanges; i++) {
		const struct pb_profile_change *c = &p->changes[i];
		const struct pb_profile_driver *d = &c->drivers[c->driver];
		csv_field(p->series[c->series].label, false);
		csv_field(p->series[c->series].unit, false);
		csv_field(pb_change_kind_name(c->change.kind), false);
		csv_field(c->change.direction > 0 ? "up" : "down", false);
		csv_field(c->start, false);
		csv_field(c->detected, false);
		csv_field(c->end, false);
		csv_field(c->ongoing ? "true" : "false", false);
		csv_num(c->change.expected, false);
		csv_num(c->change.actual, false);
		csv_num(c->change.delta, false);
		csv_num(c->change.pct, false);
		csv_num(c->price, false);
		csv_num(c->cost_delta, false);
		csv_num(c->excess, false);
		csv_num(c->excess_cost, false);
		csv_field(driver_dim_name(c->driver), false);
		csv_field(d->value, false);
		csv_field(d->name, false);
		csv_num(d->share, true);
	}
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *dims_json(const struct pb_profile *p, const char *const *dims)
{
	json_t *o = json_object();
	for (size_t k = 0; k < p->nby; k++)
		if (dims[k])
			json_object_set_new(o, pb_profile_dim_name(p->by[k]), json_string(dims[k]));
	return o;
}

static json_t *profile_json(const struct pb_profile *p)
{
	json_t *o = json_object();
	char a[16], e[16];
	json_object_set_new(o, "customer", json_string(p->customer));
	json_t *by = json_array();
	for (size_t k = 0; k < p->nby; k++)
		json_array_append_new(by, json_string(pb_profile_dim_name(p->by[k])));
	json_object_set_new(o, "by", by);
	bool any = p->first_day <= p->last_day;
	/* an open end of an empty profile has no date */
	bool has_from = p->from_day != PB_PROFILE_DAY_MIN, has_to = p->to_day != PB_PROFILE_DAY_MAX;
	if (has_from)
		pb_day_format(p->from_day, a);
	if (has_to)
		pb_day_format(p->to_day, e);
	json_object_set_new(o, "from", has_from ? json_string(a) : json_null());
	json_object_set_new(o, "to", has_to ? json_string(e) : json_null());
	if (any) {
		pb_day_format(p->first_day, a);
		pb_day_format(p->last_day, e);
	}
	json_object_set_new(o, "first_day", any ? json_string(a) : json_null());
	json_object_set_new(o, "last_day", any ? json_string(e) : json_null());
	json_t *lines = json_array();
	for (size_t i = 0; i < p->nlines; i++) {
		const struct pb_profile_line *l = &p->lines[i];
		json_t *j = json_object();
		json_object_set_new(j, "dims", dims_json(p, l->dims));
		if (l->subaccount_name[0])
			json_object_set_new(j, "subaccount_name", json_string(l->subaccount_name));
		json_object_set_new(j, "series", json_integer((json_int_t)l->series));
		json_object_set_new(j, "unit", json_string(l->unit));
		json_object_set_new(j, "quantity", json_string(l->quantity));
		json_object_set_new(j, "cost", json_string(l->cost));
		json_object_set_new(j, "currency", json_string(l->currency));
		json_object_set_new(j, "rows", json_integer((json_int_t)l->rows));
		json_object_set_new(j, "share_of_spend", jnum(l->share_of_spend));
		json_object_set_new(j, "growth_prev", jnum(l->growth_prev));
		json_object_set_new(j, "growth_window", jnum(l->growth_window));
		json_object_set_new(j, "first_period", json_string(l->first_period));
		json_object_set_new(j, "all_quantity",
		                    l->all_quantity[0] ? json_string(l->all_quantity) : json_null());
		json_object_set_new(j, "others", json_boolean(l->others));
		json_object_set_new(j, "share_of_all", jnum(l->share_of_all));
		json_array_append_new(lines, j);
	}
	json_object_set_new(o, "lines", lines);
	json_t *tot = json_array();
	for (size_t i = 0; i < p->ntotals; i++) {
		const struct pb_profile_total *t = &p->totals[i];
		json_t *j = json_object();
		json_object_set_new(j, "unit", t->unit ? json_string(t->unit) : json_null());
		json_object_set_new(j, "currency", json_string(t->currency));
		json_object_set_new(j, "quantity", t->unit ? json_string(t->quantity) : json_null());
		json_object_set_new(j, "cost", json_string(t->cost));
		json_object_set_new(j, "rows", json_integer((json_int_t)t->rows));
		json_array_append_new(tot, j);
	}
	json_object_set_new(o, "totals", tot);
	json_t *ser = json_array();
	for (size_t i = 0; i < p->nseries; i++) {
		const struct pb_profile_series *s = &p->series[i];
		json_t *j = json_object();
		json_object_set_new(j, "label", json_string(s->label));
		json_object_set_new(j, "dims", dims_json(p, s->dims));
		json_object_set_new(j, "unit", json_string(s->unit));
		json_object_set_new(j, "currency", json_string(s->currency));
		pb_day_format(s->first_day, a);
		json_object_set_new(j, "first_day", json_string(a));
		json_object_set_new(j, "days", json_integer((json_int_t)s->n));
		json_object_set_new(j, "quantity", json_string(s->quantity));
		json_object_set_new(j, "cost", json_string(s->total_cost));
		json_array_append_new(ser, j);
	}
	json_object_set_new(o, "series", ser);
	json_t *chs = json_array();
	for (size_t i = 0; i < p->nchanges; i++) {
		const struct pb_profile_change *c = &p->changes[i];
		const struct pb_change *h = &c->change;
		json_t *j = json_object();
		json_object_set_new(j, "series", json_integer((json_int_t)c->series));
		json_object_set_new(j, "label", json_string(p->series[c->series].label));
		json_object_set_new(j, "kind", json_string(pb_change_kind_name(h->kind)));
		json_object_set_new(j, "direction", json_string(h->direction > 0 ? "up" : "down"));
		json_object_set_new(j, "start", json_string(c->start));
		json_object_set_new(j, "detected", json_string(c->detected));
		json_object_set_new(j, "end", json_string(c->end));
		json_object_set_new(j, "ongoing", json_boolean(c->ongoing));
		json_object_set_new(j, "expected", jnum(h->expected));
		json_object_set_new(j, "actual", jnum(h->actual));
		json_object_set_new(j, "delta", jnum(h->delta));
		json_object_set_new(j, "pct", jpct(h->pct));
		json_object_set_new(j, "seasonal", json_boolean(h->seasonal));
		json_object_set_new(j, "scale", json_integer(h->scale));
		json_object_set_new(j, "ratio", jpct(h->ratio));
		int64_t d0 = p->series[c->series].first_day;
		pb_day_format(d0 + (int64_t)h->base_from, a);
		pb_day_format(d0 + (int64_t)(h->base_to ? h->base_to - 1 : 0), e);
		json_object_set_new(j, "baseline_from", json_string(a));
		json_object_set_new(j, "baseline_to", json_string(e));
		json_object_set_new(j, "price", jnum(c->price));
		json_object_set_new(j, "cost_delta", jnum(c->cost_delta));
		json_object_set_new(j, "excess", jnum(c->excess));
		json_object_set_new(j, "excess_cost", jnum(c->excess_cost));
		json_object_set_new(j, "driver", json_string(driver_dim_name(c->driver)));
		json_t *dr = json_object();
		for (int d = 0; d < PB_DRIVER_COUNT; d++) {
			const struct pb_profile_driver *v = &c->drivers[d];
			json_t *x = json_object();
			json_object_set_new(x, "value", json_string(v->value));
			if (v->name[0])
				json_object_set_new(x, "name", json_string(v->name));
			json_object_set_new(x, "share", jnum(v->share));
			json_object_set_new(x, "delta", jnum(v->delta));
			json_object_set_new(x, "components", json_integer((json_int_t)v->ncomponents));
			json_object_set_new(dr, driver_dim_name((enum pb_profile_driver_dim)d), x);
		}
		json_object_set_new(j, "drivers", dr);
		json_array_append_new(chs, j);
	}
	json_object_set_new(o, "changes", chs);
	return o;
}

/* ---- the command ----------------------------------------------------------- */

static int parse_double(const char *opt, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0)
		return cli_usage("profile", "%s expects a number of 0 or more, not '%s'", opt, s);
	*out = v;
	return 0;
}

static int write_chart(enum pb_status st, char *svg, size_t len, const char *path,
                       struct pb_error *err, const char *what)
{
	if (st == PB_OK)
		st = pb_chart_save(path, svg, len, err);
	free(svg);
	if (st != PB_OK) {
		char buf[700];
		return cli_failf("cannot write the %s chart '%s': %s", what, path,
		                 pb_error_format(err, buf, sizeof(buf)));
	}
	fprintf(stderr, "wrote %s\n", path);
	return 0;
}

/* What the command line asks for. */
struct profile_args {
	struct pb_profile_options o;
	struct pb_detect_config dcfg;
	bool csv, json, changes_only, daily;
	const char *chart, *chart_series, *series_match, *from, *to;
};

/* One option into a; returns 0 or the exit code. */
static int profile_opt(int c, struct profile_args *a)
{
	struct pb_error err = { 0 };
	unsigned long w;
	switch (c) {
	case 'f': a->from = optarg; break;
	case 't': a->to = optarg; break;
	case 'u': a->o.unit = optarg; break;
	case O_CSV: a->csv = true; break;
	case O_DAILY: a->daily = true; break;
	case O_JSON: a->json = true; break;
	case O_CHANGES: a->changes_only = true; break;
	case O_NODETECT: a->o.detect = false; break;
	case O_CHART: a->chart = optarg; break;
	case O_CHARTSER: a->chart_series = optarg; break;
	case O_SERIES: a->series_match = optarg; break;
	case 'b':
		if (pb_profile_parse_by(optarg, &a->o, &err) != PB_OK) {
			char flag[64];
			cli_field_flag(err.field[0] ? err.field : "by", flag, sizeof(flag));
			return cli_usage("profile", "%s (%s)", err.message, flag);
		}
		break;
	case O_MINCOST:
		return parse_double("--min-cost", optarg, &a->o.min_cost_per_day) ? 2 : 0;
	case O_MINPCT:
		return parse_double("--min-pct", optarg, &a->o.min_pct) ? 2 : 0;
	case O_WINDOW:
		if (!cli_parse_uint("profile", "--window", optarg, 3650, &w))
			return 2;
		if (w < 1)
			return cli_usage("profile", "--window needs at least 1 day");
		a->o.base_days = (uint32_t)w;
		break;
	case O_PENALTY:
		if (parse_double("--penalty", optarg, &a->dcfg.regime_penalty))
			return 2;
		a->o.detect_cfg = &a->dcfg;
		break;
	}
	return 0;
}

/* Parses the command line into a; returns 0 to go on, -1 after --help, or
 * the exit code. */
static int profile_args(int argc, char **argv, struct profile_args *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "by", required_argument, NULL, 'b' },
		{ "unit", required_argument, NULL, 'u' },
		{ "csv", no_argument, NULL, O_CSV },
		{ "daily", no_argument, NULL, O_DAILY },
		{ "json", no_argument, NULL, O_JSON },
		{ "changes", no_argument, NULL, O_CHANGES },
		{ "no-detect", no_argument, NULL, O_NODETECT },
		{ "min-cost", required_argument, NULL, O_MINCOST },
		{ "min-pct", required_argument, NULL, O_MINPCT },
		{ "chart", required_argument, NULL, O_CHART },
		{ "chart-series", required_argument, NULL, O_CHARTSER },
		{ "series", required_argument, NULL, O_SERIES },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "penalty", required_argument, NULL, O_PENALTY },
		{ NULL, 0, NULL, 0 },
	};
	pb_profile_options_init(&a->o);
	pb_profile_detect_config(&a->dcfg);
	struct pb_error err = { 0 };
	int c, rc = 0;
	cli_command("profile", usage_text);
	while ((c = cli_getopt(argc, argv, "f:t:b:u:", opts, &rc)) > 0)
		if ((rc = profile_opt(c, a)))
			return rc;
	if (c < 0)
		return rc ? rc : -1;
	if (argc - optind != 2)
		return cli_usage("profile", "expects a workspace and a customer name");
	if (a->csv && a->json)
		return cli_usage("profile", "--csv and --json exclude each other");
	if (a->daily && (a->json || a->changes_only || !a->o.detect))
		return cli_usage("profile", "--daily excludes --json, --changes and --no-detect");
	if (a->changes_only && !a->o.detect)
		return cli_usage("profile", "--changes and --no-detect exclude each other");
	if (a->from && pb_profile_parse_day(a->from, false, &a->o.from_day, &err) != PB_OK)
		return cli_usage("profile", "--from: %s", err.message);
	if (a->to && pb_profile_parse_day(a->to, true, &a->o.to_day, &err) != PB_OK)
		return cli_usage("profile", "--to: %s", err.message);
	if (a->o.from_day > a->o.to_day)
		return cli_usage("profile", "the period is empty: --from %s is after --to %s", a->from,
		                 a->to);
	return 0;
}

/* The profile as text: a heading, the lines and totals, the changes. */
static void print_profile(const struct pb_profile *p, const struct profile_args *a)
{
	if (p->nlines == 0) {
		char f[16] = "", t[16] = "";
		if (a->from)
			pb_day_format(a->o.from_day, f);
		if (a->to)
			pb_day_format(a->o.to_day, t);
		printf("no usage of '%s' in the period%s%s%s%s%s\n", p->customer,
		       a->from ? " from " : "", f, a->to ? " to " : "", t,
		       a->o.unit ? " in that unit" : "");
		return;
	}
	char from[16], to[16], first[16], last[16], by[160] = "";
	pb_day_format(p->from_day, from);
	pb_day_format(p->to_day, to);
	pb_day_format(p->first_day, first);
	pb_day_format(p->last_day, last);
	for (size_t k = 0; k < p->nby; k++)
		snprintf(by + strlen(by), sizeof(by) - strlen(by), "%s%s", k ? ", " : "",
		         pb_profile_dim_name(p->by[k]));
	printf("profile of '%s', %s to %s (usage from %s to %s), by %s%s%s\n", p->customer, from, to,
	       first, last, by, a->o.unit ? ", unit " : "", a->o.unit ? a->o.unit : "");
	if (a->changes_only) {
		print_changes(p, false);
	} else {
		print_lines(p);
		print_totals(p);
		if (a->o.detect)
			print_changes(p, true);
	}
}

/* --chart and --chart-series. Returns the exit code. */
static int write_charts(const struct pb_profile *p, const struct profile_args *a)
{
	struct pb_error err = { 0 };
	bool empty = p->nlines == 0;
	char *svg;
	size_t len;
	int rc = 0;
	if (a->chart && empty)
		return cli_failf("cannot write the chart '%s': no usage in the period", a->chart);
	if (a->chart) {
		enum pb_status st = pb_profile_chart_stacked(p, 0, &svg, &len, &err);
		if ((rc = write_chart(st, svg, len, a->chart, &err, "stacked")))
			return rc;
	}
	if (!a->chart_series)
		return 0;
	size_t s = pb_profile_pick_series(p, a->series_match);
	if (s == SIZE_MAX)
		return cli_failf("cannot write the chart '%s': %s", a->chart_series,
		                 empty ? "no usage in the period"
		                       : "no series label contains the --series text");
	enum pb_status st = pb_profile_chart_series(p, s, &svg, &len, &err);
	return write_chart(st, svg, len, a->chart_series, &err, "series");
}

int cmd_profile(int argc, char **argv)
{
	static struct profile_args a;
	memset(&a, 0, sizeof(a));
	int rc = profile_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct pb_ws *ws;
	if ((rc = cli_open_ws(argv[optind], PB_WS_READONLY, &ws)))
		return rc;
	struct pb_profile *p = NULL;
	struct pb_error err = { 0 };
	if (pb_profile_build(ws, argv[optind + 1], &a.o, &p, &err) != PB_OK) {
		cli_ws_close(ws);
		return cli_fail(&err);
	}
	if (a.json)
		rc = cli_json_print(profile_json(p));
	else if (a.daily)
		rc = csv_daily(p, &a.dcfg);
	else if (a.csv && a.changes_only)
		csv_changes(p);
	else if (a.csv)
		csv_lines(p);
	else
		print_profile(p, &a);
	fflush(stdout);
	if (!rc)
		rc = write_charts(p, &a);
	pb_profile_free(p);
	cli_ws_close(ws);
	return rc;
}
