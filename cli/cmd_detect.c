/* cmd_detect.c - probity detect: find level shifts and spikes in a series read
 * from a CSV file, name the column that drives each change, draw charts. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INPUT_LIMIT (512u << 20) /* bytes of CSV read at most */

static const char usage_text[] =
	"usage: probity detect [options] FILE.csv\n"
	"\n"
	"Finds the sudden changes (level shifts and spikes) in a series and names the\n"
	"component that drives each one. FILE.csv (or - for standard input) has a\n"
	"header line, a time in its first column (2024-03-01, 2024-03-01T10:00:00Z,\n"
	"...) and one or more value columns, for example one per sub-account, region\n"
	"or service; the series is their sum, and the driver of a change is the\n"
	"column whose own change explains most of it. Empty cells count as 0.\n"
	"Rows stay in file order: a time before the previous row's (a clock that\n"
	"stepped back, a late row) is taken as that row's time, a repeated time is\n"
	"its own point, and a missing time is a gap (not a zero); all three are\n"
	"counted on the 'clock:' line (on standard error with --csv or --json).\n"
	"\n"
	"Each change is reported with its start, the point that raised it, its kind\n"
	"(spike: back within a few points; shift: the level stayed), the expected\n"
	"value (median of the recent window; of the same time in the last periods\n"
	"when the series is seasonal; 'fast': of the last 64 points at most, for a\n"
	"spike on a level that moved recently) against the actual one, and its size.\n"
	"One shift raises one change. docs/detection.md explains the method and its\n"
	"settings.\n"
	"\n"
	"options:\n"
	"  --chart FILE.svg         write a line chart of the series with the changes\n"
	"                           marked (start, expected against actual)\n"
	"  --chart-stacked FILE.svg write a stacked area chart of the value columns\n"
	"  --title TEXT             the charts' title (default: the file name)\n"
	"  --label TEXT             what the values measure, for the y axis (\"Storage\")\n"
	"  --unit UNIT              the values' unit, on the axis (\"GB-Months\")\n"
	"  --min-impact X           report only changes of at least X units (default 0)\n"
	"  --min-pct P              ... and of at least P percent of the expected value\n"
	"                           (default 0)\n"
	"  --window N               points in the level baseline (default 700; 8 or more)\n"
	"  --period N|auto|none     seasonal period in points (default auto: a day for\n"
	"                           sub-daily series, a week for daily ones)\n"
	"  --warmup N               deviations seen before a change may be raised\n"
	"                           (default 64)\n"
	"  --regimes                segment the whole series into regimes instead and\n"
	"                           print the changes between them: level shifts and\n"
	"                           trend changes (a ramp starting, stopping, turning)\n"
	"  --explain                after each change, say why it was raised: the\n"
	"                           statistic, the threshold it beat, the window\n"
	"  --daily                  print one row per point from the regimes: time,\n"
	"                           actual, expected, lower and upper bound, change\n"
	"                           flag, change id (CSV)\n"
	"  --csv                    print the changes as CSV\n"
	"  --json                   print the changes as a JSON array\n"
	"  -h, --help               show this help\n"
	"\n"
	"Exit status: 0 when the series was read (with or without changes), 1 when\n"
	"it could not be, 2 for a usage error.\n"
	"\n"
	"example:\n"
	"  probity detect --unit GB-Months --min-pct 10 --chart storage.svg \\\n"
	"      storage-westeurope-by-subaccount.csv\n";

/* Reads a whole file (or standard input for "-") of at most INPUT_LIMIT bytes. */
static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return cli_failf("cannot open '%s': %s", path, strerror(errno));
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int rc = 0;
	while (buf) {
		if (n == cap) {
			if (cap >= INPUT_LIMIT) {
				rc = cli_failf("'%s' is larger than %u MB", path, INPUT_LIMIT >> 20);
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				rc = cli_failf("cannot read '%s': %s", path, strerror(errno));
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!buf)
		return cli_failf("out of memory reading '%s'", path);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* "2024-03-01" when every time of the series is a midnight, else
 * "2024-03-01T10:05:00Z". */
static void fmt_time(int64_t t, bool dates, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, dates ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void fmt_num(double v, char *buf, size_t cap)
{
	if (isinf(v))
		snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
	else
		snprintf(buf, cap, "%.6g", v);
}

/* One CSV record (RFC 4180 quoting) on standard output. */
static void print_csv_row(const char *const *cells, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		const char *v = cells[j];
		if (j)
			putchar(',');
		if (!strpbrk(v, ",\"\n\r")) {
			fputs(v, stdout);
			continue;
		}
		putchar('"');
		for (; *v; v++) {
			if (*v == '"')
				putchar('"');
			putchar(*v);
		}
		putchar('"');
	}
	putchar('\n');
}

/* What the series' clock did (docs/detection.md, "Real clocks"), or "" when
 * every row came after the one before at the usual step. */
static void clock_note(const struct pb_series_table *t, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	if (t->clamped)
		len += (size_t)snprintf(buf + len, cap - len,
		                        "%zu row%s before an earlier row's time (kept in file order, "
		                        "time taken as the previous row's)",
		                        t->clamped, t->clamped == 1 ? "" : "s");
	if (t->repeated && len < cap)
		len += (size_t)snprintf(buf + len, cap - len, "%s%zu repeated time%s (kept as points)",
		                        len ? "; " : "", t->repeated, t->repeated == 1 ? "" : "s");
	if (t->gaps && len < cap)
		snprintf(buf + len, cap - len, "%s%zu gap%s longer than the usual step (skipped, not zeros)",
		         len ? "; " : "", t->gaps, t->gaps == 1 ? "" : "s");
}

/* True when every time of the table is a midnight: times print as dates. */
static bool all_dates(const struct pb_series_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->times[i] % 86400 != 0)
			return false;
	return true;
}

/* The table's value columns as components for pb_detect_drivers (a new
 * array, free()), NULL when out of memory. */
static struct pb_detect_component *components(const struct pb_series_table *t)
{
	struct pb_detect_component *comps = calloc(t->ncols, sizeof(*comps));
	for (size_t k = 0; comps && k < t->ncols; k++) {
		comps[k].name = t->names[k];
		comps[k].values = t->values + k * t->n;
	}
	return comps;
}

/* Why a change of the streaming detector was raised, in one line. */
static void explain_change(const struct pb_detect_config *cfg, const struct pb_change *x,
                           bool dates, char *buf, size_t cap)
{
	char ts[32], td[32], base[96];
	fmt_time(x->t_start, dates, ts, sizeof(ts));
	fmt_time(x->t_detected, dates, td, sizeof(td));
	if (x->seasonal)
		snprintf(base, sizeof(base), "the median of the same point in the last 3 periods of %u",
		         x->period);
	else if (x->fast)
		snprintf(base, sizeof(base), "the median of the last %u points",
		         cfg->fast_window < cfg->window ? cfg->fast_window : cfg->window);
	else
		snprintf(base, sizeof(base), "the median of the last %u points", cfg->window);
	/* the fast stream's bar leaves out the onsets of level shifts */
	const char *bar = x->fast ? "against that median, level shifts' onsets left out"
	                          : "on that scale";
	double largest = isfinite(x->ratio) && x->ratio > 0 ? fabs(x->delta) / x->ratio : 0;
	if (x->spread && isfinite(x->ratio))
		snprintf(buf, cap,
		         "%s: raised on %s: the last %u points spread around %s (%.6g) %.6g more "
		         "than their mean explains beyond %.3g interquartile range%s, %.3g times the "
		         "largest such spread of the last %u points (%.6g); threshold %.3g times",
		         ts, td, x->scale, base, x->expected, x->spread_dev, cfg->spread,
		         cfg->spread == 1 ? "" : "s", x->ratio, cfg->memory, x->ratio > 0 ? x->spread_dev / x->ratio : 0, cfg->min_ratio);
	else if (x->spread)
		snprintf(buf, cap,
		         "%s: raised on %s: the last %u points spread around %s (%.6g) %.6g more "
		         "than their mean explains beyond %.3g interquartile range%s, after %u points "
		         "without any such spread",
		         ts, td, x->scale, base, x->expected, x->spread_dev, cfg->spread,
		         cfg->spread == 1 ? "" : "s", cfg->warmup);
	else if (isfinite(x->ratio) && x->own_direction)
		snprintf(buf, cap,
		         "%s: raised on %s: the mean of the last %u point%s was %.6g %s %s "
		         "(%.6g), %.3g times %.3g times the largest %s of the last %u points %s "
		         "(%.6g; %s larger); threshold %.3g times",
		         ts, td, x->scale, x->scale == 1 ? "" : "s", fabs(x->delta),
		         x->direction > 0 ? "above" : "below", base, x->expected, x->ratio, cfg->own_bar,
		         x->direction > 0 ? "rise" : "drop", cfg->memory, bar,
		         cfg->own_bar > 0 ? largest / cfg->own_bar : 0,
		         x->direction > 0 ? "drops were" : "rises were", cfg->min_ratio);
	else if (isfinite(x->ratio))
		snprintf(buf, cap,
		         "%s: raised on %s: the mean of the last %u point%s was %.6g away from %s "
		         "(%.6g), %.3g times the largest deviation of the last %u points %s "
		         "(%.6g); threshold %.3g times",
		         ts, td, x->scale, x->scale == 1 ? "" : "s", fabs(x->delta), base, x->expected,
		         x->ratio, cfg->memory, bar, largest, cfg->min_ratio);
	else
		snprintf(buf, cap,
		         "%s: raised on %s: the mean of the last %u point%s moved %.6g from %s "
		         "(%.6g) after %u points without any deviation on that scale",
		         ts, td, x->scale, x->scale == 1 ? "" : "s", fabs(x->delta), base, x->expected,
		         cfg->warmup);
}

/* probity detect --regimes: the changes between regimes, with drivers. */
static int print_regimes(const struct pb_detect_config *cfg, const struct pb_series_table *tab,
                         bool csv, bool json, bool explain, const char *unit)
{
	struct pb_error err = { 0 };
	struct pb_regime_change *rg = NULL;
	size_t nr = 0;
	if (pb_detect_regimes(cfg, tab->total, tab->n, &rg, &nr, &err) != PB_OK)
		return cli_fail(&err);
	struct pb_detect_component *comps = components(tab);
	struct pb_driver *dr = calloc(tab->ncols, sizeof(*dr));
	json_t *a = json ? json_array() : NULL;
	int rc = 1;
	if (!comps || !dr) {
		cli_failf("out of memory");
		goto out;
	}
	bool dates = all_dates(tab);
	static const char *const hdr[] = { "start", "kind", "dir", ">before", ">after", ">change",
	                                   ">step before", ">step after", "driver", ">share" };
	struct cli_table t;
	cli_table_init(&t, 10, hdr);
	if (csv)
		puts("start,kind,direction,before,after,change,step_before,step_after,driver,share");
	for (size_t k = 0; k < nr; k++) {
		const struct pb_regime_change *x = &rg[k];
		/* the driver: the component whose mean moved most between the
		 * regime before and the one after */
		struct pb_change c;
		memset(&c, 0, sizeof(c));
		c.base_from = k ? rg[k - 1].at : 0;
		c.base_to = x->at;
		c.start = x->at;
		c.end = x->kind == PB_CHANGE_SPIKE ? x->at : (k + 1 < nr ? rg[k + 1].at : tab->n) - 1;
		double moved = x->kind == PB_CHANGE_TREND   ? x->slope_after - x->slope_before
		               : x->kind == PB_CHANGE_SPIKE ? tab->total[x->at].v - x->before
		                                            : x->after - x->before;
		/* the driver explains the move of the series' mean from the regime
		 * before to this one (for a spike: to the spike) */
		double mb = 0, ma = 0;
		for (size_t i = c.base_from; i < c.base_to; i++)
			mb += tab->total[i].v;
		for (size_t i = c.start; i <= c.end; i++)
			ma += tab->total[i].v;
		mb /= (double)(c.base_to - c.base_from);
		ma /= (double)(c.end - c.start + 1);
		c.direction = ma >= mb ? 1 : -1;
		if (pb_detect_drivers(&c, comps, tab->ncols, tab->n, dr, &err) != PB_OK) {
			cli_fail(&err);
			goto out;
		}
		char ts[32], bf[32], af[32], de[32], sb[32], sa[32], sh[32];
		fmt_time(x->t, dates, ts, sizeof(ts));
		fmt_num(x->before, bf, sizeof(bf));
		fmt_num(x->after, af, sizeof(af));
		fmt_num(x->kind == PB_CHANGE_SPIKE ? moved : x->after - x->before, de, sizeof(de));
		fmt_num(x->slope_before, sb, sizeof(sb));
		fmt_num(x->slope_after, sa, sizeof(sa));
		snprintf(sh, sizeof(sh), "%.0f%%", 100 * dr[0].share);
		const char *dir = moved >= 0 ? "up" : "down";
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "start", json_string(ts));
			json_object_set_new(o, "start_index", json_integer((json_int_t)x->at));
			json_object_set_new(o, "kind", json_string(pb_change_kind_name(x->kind)));
			json_object_set_new(o, "direction", json_string(dir));
			json_object_set_new(o, "before", json_real(x->before));
			json_object_set_new(o, "after", json_real(x->after));
			json_object_set_new(o, "step_before", json_real(x->slope_before));
			json_object_set_new(o, "step_after", json_real(x->slope_after));
			json_object_set_new(o, "statistic", json_real(x->gain));
			json_object_set_new(o, "threshold", json_real(x->threshold));
			json_object_set_new(o, "window_from", json_integer((json_int_t)x->from));
			json_object_set_new(o, "window_to", json_integer((json_int_t)x->to));
			json_object_set_new(o, "model", json_string(x->lines ? "level-or-line" : "ar1"));
			json_object_set_new(o, "noise_r1", json_real(x->noise_r1));
			json_object_set_new(o, "driver", json_string(tab->names[dr[0].component]));
			json_object_set_new(o, "share", json_real(dr[0].share));
			json_array_append_new(a, o);
			continue;
		}
		const char *cells[] = { ts, pb_change_kind_name(x->kind), dir, bf, af, de, sb, sa,
		                        tab->names[dr[0].component], sh };
		if (csv)
			print_csv_row(cells, 10);
		else
			cli_table_add(&t, cells);
	}
	if (json) {
		char *s = json_dumps(a, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		if (s)
			puts(s);
		free(s);
	} else {
		if (!csv && nr)
			cli_table_print(&t, stdout);
		for (size_t k = 0; explain && k < nr; k++) {
			const struct pb_regime_change *x = &rg[k];
			char ts[32], f0[32], f1[32];
			fmt_time(x->t, dates, ts, sizeof(ts));
			fmt_time(tab->times[x->from], dates, f0, sizeof(f0));
			fmt_time(tab->times[x->to - 1], dates, f1, sizeof(f1));
			printf("%s%s: splitting %s to %s (%zu points) there raises the log-likelihood "
			       "ratio statistic to %.4g; threshold %.4g (%.3g ln %zu)\n",
			       csv ? "# " : "  ", ts, f0, f1, x->to - x->from, x->gain, x->threshold,
			       x->threshold / log((double)tab->n), tab->n);
		}
		if (explain && nr)
			printf("%sregimes: %s; the day-to-day differences' lag-1 autocorrelation is %.3g, "
			       "%s -0.25\n",
			       csv ? "# " : "  ",
			       rg[0].lines ? "each a level or a line in time (independent noise)"
			                   : "y[i] = a + b y[i-1] (AR(1): a level, a drift or a random walk)",
			       rg[0].noise_r1, rg[0].lines ? "below" : "above");
		if (!csv) {
			char t0[32], t1[32];
			fmt_time(tab->times[0], dates, t0, sizeof(t0));
			fmt_time(tab->times[tab->n - 1], dates, t1, sizeof(t1));
			printf("%zu regime change%s in %zu points from %s to %s%s%s\n", nr,
			       nr == 1 ? "" : "s", tab->n, t0, t1, unit ? "; values in " : "",
			       unit ? unit : "");
		}
	}
	rc = 0;
out:
	cli_table_release(&t);
	json_decref(a);
	free(comps);
	free(dr);
	free(rg);
	return rc;
}

/* probity detect --daily: one CSV row per point in the shape cost-anomaly
 * tools use, from the regimes (the profile's detector): expected is the
 * regime's forecast for the point, the bounds PB_REGIME_BAND_SD residual
 * standard deviations around it (empty for the first point), change_id the
 * 1-based number of the regime change the point belongs to. */
static int print_daily(const struct pb_detect_config *cfg, const struct pb_series_table *tab)
{
	struct pb_error err = { 0 };
	struct pb_regime_change *rg = NULL;
	size_t nr = 0;
	struct pb_regime_band *band = calloc(tab->n, sizeof(*band));
	int rc = 1;
	if (!band) {
		cli_failf("out of memory");
		goto out;
	}
	if (pb_detect_regimes(cfg, tab->total, tab->n, &rg, &nr, &err) != PB_OK ||
	    pb_detect_regime_bands(tab->total, tab->n, rg, nr, band, &err) != PB_OK) {
		cli_fail(&err);
		goto out;
	}
	bool dates = all_dates(tab);
	puts("date,actual,expected,lower_bound,upper_bound,change,change_id");
	for (size_t i = 0; i < tab->n; i++) {
		char ts[32], ac[32], ex[32] = "", lo[32] = "", hi[32] = "", cid[24] = "";
		fmt_time(tab->times[i], dates, ts, sizeof(ts));
		fmt_num(tab->total[i].v, ac, sizeof(ac));
		if (isfinite(band[i].expected)) {
			fmt_num(band[i].expected, ex, sizeof(ex));
			fmt_num(band[i].lower, lo, sizeof(lo));
			fmt_num(band[i].upper, hi, sizeof(hi));
		}
		if (band[i].change)
			snprintf(cid, sizeof(cid), "%zu", band[i].change);
		printf("%s,%s,%s,%s,%s,%d,%s\n", ts, ac, ex, lo, hi, band[i].change ? 1 : 0, cid);
	}
	rc = 0;
out:
	free(rg);
	free(band);
	return rc;
}

static int write_svg(const char *path, char *svg, size_t len, struct pb_error *err)
{
	enum pb_status st = pb_chart_save(path, svg, len, err);
	free(svg);
	return st == PB_OK ? 0 : cli_fail(err);
}

/* What the command line asked for. */
struct detect_args {
	const char *path, *chart, *stacked, *title, *label, *unit;
	bool csv, json, regimes, explain, daily;
	struct pb_detect_config cfg;
};

/* Parses the options into a; returns 0 to go on, -1 after --help, or 2. */
static int parse_args(int argc, char **argv, struct detect_args *a)
{
	static const struct option opts[] = {
		{ "chart", required_argument, NULL, 'c' },
		{ "chart-stacked", required_argument, NULL, 's' },
		{ "title", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'l' },
		{ "unit", required_argument, NULL, 'u' },
		{ "min-impact", required_argument, NULL, 'I' },
		{ "min-pct", required_argument, NULL, 'P' },
		{ "window", required_argument, NULL, 'w' },
		{ "period", required_argument, NULL, 'p' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "regimes", no_argument, NULL, 'R' },
		{ "explain", no_argument, NULL, 'E' },
		{ "daily", no_argument, NULL, 'D' },
		{ "csv", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof(*a));
	pb_detect_config_init(&a->cfg);
	struct pb_detect_config *cfg = &a->cfg;
	unsigned long ul;
	int c;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'c': a->chart = optarg; break;
		case 's': a->stacked = optarg; break;
		case 't': a->title = optarg; break;
		case 'l': a->label = optarg; break;
		case 'u': a->unit = optarg; break;
		case 'C': a->csv = true; break;
		case 'R': a->regimes = true; break;
		case 'E': a->explain = true; break;
		case 'D': a->daily = true; break;
		case 'J': a->json = true; break;
		case 'I':
		case 'P': {
			double x = strtod(optarg, &end);
			if (end == optarg || *end || !(x >= 0) || !isfinite(x))
				return cli_usage("detect", "%s expects a number of 0 or more, not '%s'",
				                 c == 'I' ? "--min-impact" : "--min-pct", optarg);
			if (c == 'I')
				cfg->min_impact = x;
			else
				cfg->min_pct = x;
			break;
		}
		case 'w':
			if (!cli_parse_uint("detect", "--window", optarg, PB_DETECT_MAX_WINDOW, &ul))
				return 2;
			if (ul < 8)
				return cli_usage("detect", "--window needs at least 8 points, not %lu", ul);
			cfg->window = (uint32_t)ul;
			break;
		case 'W':
			if (!cli_parse_uint("detect", "--warmup", optarg, 1000000, &ul))
				return 2;
			cfg->warmup = (uint32_t)ul;
			break;
		case 'p':
			if (!strcmp(optarg, "auto"))
				cfg->period = 0;
			else if (!strcmp(optarg, "none"))
				cfg->period = PB_DETECT_NO_SEASON;
			else if (!cli_parse_uint("detect", "--period", optarg, PB_DETECT_MAX_PERIOD, &ul))
				return 2;
			else if (ul < 2)
				return cli_usage("detect", "--period is auto, none or a number of points from 2");
			else
				cfg->period = (uint32_t)ul;
			break;
		case 'h': cli_help(usage_text); return -1;
		default: return cli_usage("detect", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage("detect", "expected one CSV file");
	if (a->csv + a->json + a->daily > 1)
		return cli_usage("detect", "--csv, --json and --daily exclude each other");
	a->path = argv[optind];
	if (!a->title)
		a->title = a->path;
	return 0;
}

/* The changes and their drivers as a JSON array on stdout. */
static void changes_json(const struct pb_series_table *tab, const struct pb_change *ch, size_t nch,
                         const struct pb_driver *dr, bool dates)
{
	json_t *a = json_array();
	for (size_t k = 0; k < nch; k++) {
		const struct pb_change *x = &ch[k];
		const struct pb_driver *d = &dr[k * tab->ncols];
		char ts[32], td[32], te[32];
		fmt_time(x->t_start, dates, ts, sizeof(ts));
		fmt_time(x->t_detected, dates, td, sizeof(td));
		fmt_time(x->t_end, dates, te, sizeof(te));
		json_t *o = json_object();
		json_object_set_new(o, "start", json_string(ts));
		json_object_set_new(o, "detected", json_string(td));
		json_object_set_new(o, "end", json_string(te));
		json_object_set_new(o, "start_index", json_integer((json_int_t)x->start));
		json_object_set_new(o, "kind", json_string(pb_change_kind_name(x->kind)));
		json_object_set_new(o, "direction", json_string(x->direction > 0 ? "up" : "down"));
		json_object_set_new(o, "baseline", json_string(x->seasonal ? "seasonal" : "level"));
		json_object_set_new(o, "period", json_integer(x->period));
		json_object_set_new(o, "scale", json_integer(x->scale));
		if (x->own_direction) /* against the records of its own direction */
			json_object_set_new(o, "own_direction", json_true());
		if (x->fast) /* against the median of the last fast_window points */
			json_object_set_new(o, "fast", json_true());
		if (x->spread) { /* raised by the spread, not by the mean */
			json_object_set_new(o, "spread", json_true());
			json_object_set_new(o, "spread_dev", json_real(x->spread_dev));
		}
		json_object_set_new(o, "expected", json_real(x->expected));
		json_object_set_new(o, "actual", json_real(x->actual));
		json_object_set_new(o, "delta", json_real(x->delta));
		json_object_set_new(o, "pct", isfinite(x->pct) ? json_real(x->pct) : json_null());
		json_object_set_new(o, "ratio", isfinite(x->ratio) ? json_real(x->ratio) : json_null());
		json_object_set_new(o, "score", json_real(x->score));
		json_object_set_new(o, "mean_over_change", json_real(x->event_mean));
		json_t *drv = json_array();
		for (size_t j = 0; d->component != SIZE_MAX && j < tab->ncols; j++) {
			json_t *e = json_object();
			json_object_set_new(e, "name", json_string(tab->names[d[j].component]));
			json_object_set_new(e, "expected", json_real(d[j].expected));
			json_object_set_new(e, "actual", json_real(d[j].actual));
			json_object_set_new(e, "delta", json_real(d[j].delta));
			json_object_set_new(e, "share", json_real(d[j].share));
			json_array_append_new(drv, e);
		}
		json_object_set_new(o, "drivers", drv);
		json_array_append_new(a, o);
	}
	char *s = json_dumps(a, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	if (s)
		puts(s);
	free(s);
	json_decref(a);
}

/* The changes as a table (or CSV), the --explain lines and the summary. */
static void changes_text(const struct detect_args *a, const struct pb_series_table *tab,
                         const struct pb_change *ch, size_t nch, const struct pb_driver *dr,
                         bool dates, const char *note)
{
	static const char *const hdr[] = { "start", "kind", "dir", "baseline", ">expected",
	                                   ">actual", ">change", ">pct", "driver", ">share" };
	struct cli_table t;
	cli_table_init(&t, 10, hdr);
	if (a->csv)
		puts("start,kind,direction,baseline,expected,actual,change,pct,driver,share");
	for (size_t k = 0; k < nch; k++) {
		const struct pb_change *x = &ch[k];
		const struct pb_driver *d = &dr[k * tab->ncols];
		char ts[32], ex[32], ac[32], de[32], pc[32], base[32], share[32];
		fmt_time(x->t_start, dates, ts, sizeof(ts));
		fmt_num(x->expected, ex, sizeof(ex));
		fmt_num(x->actual, ac, sizeof(ac));
		fmt_num(x->delta, de, sizeof(de));
		if (isfinite(x->pct))
			snprintf(pc, sizeof(pc), "%+.1f%%", x->pct);
		else
			snprintf(pc, sizeof(pc), "new");
		if (x->seasonal)
			snprintf(base, sizeof(base), "seasonal/%u", x->period);
		else
			snprintf(base, sizeof(base), x->fast ? "fast" : "level");
		bool has_driver = d->component != SIZE_MAX;
		if (has_driver)
			snprintf(share, sizeof(share), "%.0f%%", 100 * d->share);
		else
			snprintf(share, sizeof(share), "-");
		const char *cells[] = { ts,   pb_change_kind_name(x->kind),
		                        x->direction > 0 ? "up" : "down",
		                        base, ex, ac, de, pc,
		                        has_driver ? tab->names[d->component] : "-", share };
		if (a->csv)
			print_csv_row(cells, 10);
		else
			cli_table_add(&t, cells);
	}
	if (a->explain && !a->csv && nch)
		cli_table_print(&t, stdout);
	for (size_t k = 0; a->explain && k < nch; k++) {
		char why[400];
		explain_change(&a->cfg, &ch[k], dates, why, sizeof(why));
		printf(a->csv ? "# %s\n" : "  %s\n", why);
	}
	if (!a->csv) {
		char t0[32], t1[32];
		fmt_time(tab->times[0], dates, t0, sizeof(t0));
		fmt_time(tab->times[tab->n - 1], dates, t1, sizeof(t1));
		if (nch && !a->explain)
			cli_table_print(&t, stdout);
		printf("%zu change%s in %zu points from %s to %s%s%s\n", nch, nch == 1 ? "" : "s",
		       tab->n, t0, t1, a->unit ? "; values in " : "", a->unit ? a->unit : "");
		if (note[0])
			printf("clock: %s\n", note);
	}
	cli_table_release(&t);
}

/* --chart and --chart-stacked; returns 0 or 1 after printing why. */
static int write_charts(const struct detect_args *a, const struct pb_series_table *tab,
                        const struct pb_change *ch, size_t nch)
{
	struct pb_error err = { 0 };
	struct pb_chart_options o = { .title = a->title, .y_label = a->label, .unit = a->unit };
	char *svg;
	size_t slen;
	if (a->chart) {
		const char *name = tab->ncols == 1 ? tab->names[0] : "total";
		if (pb_chart_changes(tab->total, tab->n, name, ch, nch, &o, &svg, &slen, &err) != PB_OK)
			return cli_fail(&err);
		if (write_svg(a->chart, svg, slen, &err))
			return 1;
	}
	if (a->stacked) {
		struct pb_chart_series *ser = calloc(tab->ncols, sizeof(*ser));
		if (!ser)
			return cli_failf("out of memory");
		for (size_t k = 0; k < tab->ncols; k++) {
			ser[k].name = tab->names[k];
			ser[k].values = tab->values + k * tab->n;
		}
		enum pb_status st =
			pb_chart_stacked(tab->times, tab->n, ser, tab->ncols, &o, &svg, &slen, &err);
		free(ser);
		if (st != PB_OK)
			return cli_fail(&err);
		if (write_svg(a->stacked, svg, slen, &err))
			return 1;
	}
	return 0;
}

int cmd_detect(int argc, char **argv)
{
	struct detect_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? 0 : rc;

	char *data = NULL;
	size_t len = 0;
	rc = read_all(a.path, &data, &len);
	if (rc)
		return rc;
	struct pb_error err = { 0 };
	struct pb_series_table tab;
	struct pb_change *ch = NULL;
	struct pb_driver *dr = NULL;
	struct pb_detect_component *comps = NULL;
	size_t nch = 0;
	rc = 1;
	if (pb_series_table_parse(data, len, a.path, &tab, &err) != PB_OK) {
		cli_fail(&err);
		goto out;
	}
	if (a.regimes || a.daily) {
		rc = a.daily ? print_daily(&a.cfg, &tab)
		             : print_regimes(&a.cfg, &tab, a.csv, a.json, a.explain, a.unit);
		goto out;
	}
	if (pb_detect_series(&a.cfg, tab.total, tab.n, &ch, &nch, NULL, &err) != PB_OK) {
		cli_fail(&err);
		goto out;
	}
	comps = components(&tab);
	dr = calloc(tab.ncols * (nch ? nch : 1), sizeof(*dr));
	if (!comps || !dr) {
		cli_failf("out of memory");
		goto out;
	}
	for (size_t k = 0; k < nch; k++) {
		if (ch[k].base_from < ch[k].base_to &&
		    pb_detect_drivers(&ch[k], comps, tab.ncols, tab.n, dr + k * tab.ncols, &err) != PB_OK) {
			cli_fail(&err);
			goto out;
		}
		if (ch[k].base_from >= ch[k].base_to)
			dr[k * tab.ncols].component = SIZE_MAX; /* no baseline: no driver */
	}

	char note[320];
	clock_note(&tab, note, sizeof(note));
	if (note[0] && (a.csv || a.json))
		fprintf(stderr, "probity: clock: %s\n", note);
	bool dates = all_dates(&tab);
	if (a.json)
		changes_json(&tab, ch, nch, dr, dates);
	else
		changes_text(&a, &tab, ch, nch, dr, dates, note);
	rc = write_charts(&a, &tab, ch, nch);
out:
	free(dr);
	free(comps);
	free(ch);
	pb_series_table_release(&tab);
	free(data);
	return rc;
}
