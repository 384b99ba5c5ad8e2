/* chart.c - self-contained SVG charts: a stacked area chart of several series
 * over time, and a line chart of one series with its detected changes marked.
 *
 * The SVG has no scripts and refers to nothing outside itself. Elements carry
 * classes (chart-title, axis-label, tick-label, area, legend-entry, series-line,
 * change-start, change-expected, change-actual, change-label) so that tests and
 * stylesheets can find them. Long series are reduced to at most two points per
 * pixel column (mean per column for stacked areas, min and max for a line, so
 * spikes stay visible).
 */
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define SVG_LIMIT (64u << 20)  /* an SVG larger than this is refused */
#define MAX_SERIES 64
#define LEGEND_W 220.0
/* Legend names start 36 units into the legend column and are 12 units high;
 * they are cut (with an ellipsis) to what fits the rest of it, 8 spare. */
#define NAME_EM1000 ((LEGEND_W - 36.0 - 8.0) / 12.0 * 1000.0)
#define LEFT 78.0
#define TOP 40.0
#define BOTTOM 52.0
#define ROW 18.0
#define LABEL_ROWS 4

/* A palette that stays distinguishable in print and for most colour-blind
 * readers (the "Tableau 10" colours). */
static const char *const palette[] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
};

struct frame {
	double w, h;          /* whole picture */
	double x0, x1, y0, y1; /* plot area (y0 top, y1 bottom) */
	int64_t t0, t1;
	double v0, v1;
};

static double px(const struct frame *f, int64_t t)
{
	if (f->t1 == f->t0)
		return f->x0;
	return f->x0 + (f->x1 - f->x0) * (double)(t - f->t0) / (double)(f->t1 - f->t0);
}

static double py(const struct frame *f, double v)
{
	if (f->v1 == f->v0)
		return f->y1;
	return f->y1 - (f->y1 - f->y0) * (v - f->v0) / (f->v1 - f->v0);
}

/* ---- text --------------------------------------------------------------- */

/* Appends s as XML character data: escaped, control characters as spaces,
 * invalid UTF-8 bytes as '?', cut to max_chars characters (0 = no cut). */
static enum pb_status add_text(struct pb_buf *b, const char *s, size_t max_chars)
{
	enum pb_status st = PB_OK;
	if (!s)
		return PB_OK;
	size_t n = strlen(s), chars = 0;
	bool valid = pb_utf8_valid(s, n, NULL);
	for (size_t i = 0; i < n && st == PB_OK;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = 1;
		if (c >= 0x80 && valid)
			len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (max_chars && chars == max_chars - 1 && i + len < n) {
			st = pb_buf_adds(b, "\xe2\x80\xa6"); /* an ellipsis */
			break;
		}
		chars++;
		if (c >= 0x80 && !valid)
			st = pb_buf_addc(b, '?');
		else if (c >= 0x80)
			st = pb_buf_add(b, s + i, len);
		else if (c < 0x20 || c == 0x7f)
			st = pb_buf_addc(b, ' ');
		else if (c == '&')
			st = pb_buf_adds(b, "&amp;");
		else if (c == '<')
			st = pb_buf_adds(b, "&lt;");
		else if (c == '>')
			st = pb_buf_adds(b, "&gt;");
		else if (c == '"')
			st = pb_buf_adds(b, "&quot;");
		else if (c == '\'')
			st = pb_buf_adds(b, "&apos;");
		else
			st = pb_buf_addc(b, (char)c);
		i += len;
	}
	return st;
}

/* An upper bound of the advance of one character, in thousandths of an em,
 * for the sans-serif faces a browser picks (DejaVu Sans is the widest of the
 * usual ones: lower case up to 0.64 em, capitals up to 0.79, 'M' 0.86, 'W'
 * 0.99). Anything outside ASCII is taken as a full em. */
static unsigned glyph_em1000(unsigned char c)
{
	if (c >= 0x80)
		return 1000;
	if (strchr("iIjl.,:;'|! ", c))
		return 330;
	if (strchr("frt()[]-", c))
		return 440;
	if (strchr("MWmw@%", c))
		return 1000;
	if (c >= 'A' && c <= 'Z')
		return 800;
	return 650;
}

/* How many characters of s add_text may write to keep within em1000
 * thousandths of an em, counting the ellipsis it ends a cut with; 0 when the
 * whole of s fits. */
static size_t fit_chars(const char *s, double em1000)
{
	double w = 0;
	size_t chars = 0, fit = 0;
	for (size_t i = 0; s && s[i];) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0x80 ? 2 : 1;
		if (w + 1000 <= em1000)
			fit = chars + 1; /* these chars, then the ellipsis, fit */
		w += glyph_em1000(c);
		chars++;
		for (i++; --len && s[i] && ((unsigned char)s[i] & 0xc0) == 0x80; i++)
			;
	}
	if (w <= em1000)
		return 0;
	return fit ? fit : 1;
}

/* A number for a label: SI suffix (k, M, G, T) and as many decimals as the
 * step between ticks needs. */
static void fmt_num(double v, double step, double top, char *out, size_t cap)
{
	static const char *const suffix[] = { "", " k", " M", " G", " T", " P" };
	double mag = fabs(top) > fabs(step) ? fabs(top) : fabs(step);
	int e = 0;
	while (e < 5 && mag >= 1000) {
		mag /= 1000;
		e++;
	}
	double scale = pow(1000, e);
	double s = step > 0 ? step / scale : 0;
	int dec = 0;
	while (dec < 6 && s > 0 && s < 0.999 * pow(10, -dec))
		dec++;
	double x = v / scale;
	if (fabs(x) < 0.5 * pow(10, -dec)) {
		pb__snprintf(out, cap, "0"); /* no "-0", no "0 k" */
		return;
	}
	pb__snprintf(out, cap, "%.*f%s", dec, x, suffix[e]);
}

/* The value as a reader wants it in a sentence: three significant digits
 * and an SI suffix ("1.25 M", "0.0312", "842"). */
static void fmt_value(double v, char *out, size_t cap)
{
	static const char *const suffix[] = { "", " k", " M", " G", " T", " P" };
	double x = fabs(v);
	int e = 0;
	while (e < 5 && x >= 999.5) {
		x /= 1000;
		e++;
	}
	int dec = x > 0 ? 2 - (int)floor(log10(x)) : 0;
	if (dec < 0)
		dec = 0;
	if (dec > 6)
		dec = 6;
	pb__snprintf(out, cap, "%s%.*f%s", v < 0 ? "-" : "", dec, x, suffix[e]);
}

/* ---- scales ------------------------------------------------------------- */

/* A "nice" step (1, 2, 2.5 or 5 times a power of ten) near span / ticks. */
static double nice_step(double span, int ticks)
{
	if (!(span > 0))
		return 1;
	double raw = span / ticks;
	double p = pow(10, floor(log10(raw)));
	double m = raw / p;
	double nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
	return nice * p;
}

static void value_range(struct frame *f, double lo, double hi, bool from_zero, double *step)
{
	if (from_zero) {
		if (lo > 0)
			lo = 0;
		if (hi < 0)
			hi = 0;
	}
	if (!(hi > lo)) {
		double pad = lo != 0 ? fabs(lo) * 0.1 : 1;
		lo -= pad;
		hi += pad;
		if (from_zero && lo < 0 && hi > 0 && hi - pad >= 0)
			lo = 0;
	} else if (!from_zero) {
		double pad = (hi - lo) * 0.05;
		lo -= pad;
		hi += pad;
	}
	*step = nice_step(hi - lo, 5);
	f->v0 = floor(lo / *step) * *step;
	f->v1 = ceil(hi / *step) * *step;
	if (f->v1 == f->v0)
		f->v1 = f->v0 + *step;
}

/* ---- pieces of the picture ------------------------------------------------ */

static enum pb_status begin_svg(struct pb_buf *b, const struct frame *f, const char *title)
{
	enum pb_status st = pb_buf_printf(
		b,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"0 0 %.0f %.0f\" role=\"img\" font-family=\"DejaVu Sans, Arial, Helvetica, "
		"sans-serif\" font-size=\"12\">\n<title>",
		f->w, f->h, f->w, f->h);
	if (st == PB_OK)
		st = add_text(b, title ? title : "chart", 0);
	if (st == PB_OK)
		st = pb_buf_printf(b, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	if (st == PB_OK && title) {
		st = pb_buf_printf(b, "<text class=\"chart-title\" x=\"%.1f\" y=\"22\" font-size=\"15\" "
		                       "font-weight=\"bold\" fill=\"#222\">",
		                    f->x0);
		if (st == PB_OK)
			st = add_text(b, title, 0);
		if (st == PB_OK)
			st = pb_buf_adds(b, "</text>\n");
	}
	return st;
}

static enum pb_status y_axis(struct pb_buf *b, const struct frame *f, double step,
                             const struct pb_chart_options *o)
{
	enum pb_status st = pb_buf_adds(b, "<g class=\"y-axis\">\n");
	int guard = 0;
	for (double v = f->v0; st == PB_OK && v <= f->v1 + step * 1e-6 && guard < 100;
	     v += step, guard++) {
		char lab[48];
		double y = py(f, v);
		fmt_num(v, step, fabs(f->v0) > fabs(f->v1) ? f->v0 : f->v1, lab, sizeof(lab));
		st = pb_buf_printf(b,
		                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
		                    "<text class=\"tick-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		                    "fill=\"#444\">%s</text>\n",
		                    f->x0, y, f->x1, y, f->x0 - 6, y + 4, lab);
	}
	if (st == PB_OK)
		st = pb_buf_printf(b,
		                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n"
		                    "<text class=\"axis-label\" transform=\"translate(16 %.1f) rotate(-90)\" "
		                    "text-anchor=\"middle\" fill=\"#222\">",
		                    f->x0, f->y0, f->x0, f->y1, (f->y0 + f->y1) / 2);
	if (st == PB_OK)
		st = add_text(b, o->y_label ? o->y_label : "Value", 48);
	if (st == PB_OK && o->unit && *o->unit) {
		st = pb_buf_adds(b, " (");
		if (st == PB_OK)
			st = add_text(b, o->unit, 24);
		if (st == PB_OK)
			st = pb_buf_addc(b, ')');
	}
	if (st == PB_OK)
		st = pb_buf_adds(b, "</text>\n</g>\n");
	return st;
}

/* Time ticks: the smallest step of the list that gives at most 7 ticks. */
enum tick_unit { TU_SEC, TU_MONTH };
struct tick_step {
	enum tick_unit unit;
	int64_t n;         /* seconds, or months */
};
static const struct tick_step tick_steps[] = {
	{ TU_SEC, 60 },      { TU_SEC, 300 },     { TU_SEC, 900 },      { TU_SEC, 3600 },
	{ TU_SEC, 3 * 3600 }, { TU_SEC, 6 * 3600 }, { TU_SEC, 12 * 3600 }, { TU_SEC, 86400 },
	{ TU_SEC, 2 * 86400 }, { TU_SEC, 7 * 86400 }, { TU_SEC, 14 * 86400 }, { TU_MONTH, 1 },
	{ TU_MONTH, 2 },     { TU_MONTH, 3 },     { TU_MONTH, 6 },      { TU_MONTH, 12 },
	{ TU_MONTH, 24 },    { TU_MONTH, 60 },    { TU_MONTH, 120 },    { TU_MONTH, 600 },
};

static int64_t month_index(int64_t t)
{
	int y;
	unsigned m, d;
	pb__civil_from_days(pb_floordiv(t, 86400), &y, &m, &d);
	return (int64_t)y * 12 + (int64_t)(m - 1);
}

static int64_t month_start(int64_t mi)
{
	int64_t y = pb_floordiv(mi, 12);
	unsigned m = (unsigned)(mi - y * 12) + 1;
	return pb__days_from_civil(y, m, 1) * 86400;
}

static void time_label(int64_t t, const struct tick_step *s, bool with_year, char *out, size_t cap)
{
	int y;
	unsigned mo, d;
	int64_t day = pb_floordiv(t, 86400), sec = t - day * 86400;
	pb__civil_from_days(day, &y, &mo, &d);
	if (s->unit == TU_MONTH && s->n >= 12)
		pb__snprintf(out, cap, "%04d", y);
	else if (s->unit == TU_MONTH)
		pb__snprintf(out, cap, "%04d-%02u", y, mo);
	else if (s->n >= 86400 && with_year)
		pb__snprintf(out, cap, "%04d-%02u-%02u", y, mo, d);
	else if (s->n >= 86400)
		pb__snprintf(out, cap, "%02u-%02u", mo, d);
	else
		pb__snprintf(out, cap, "%02u-%02u %02d:%02d", mo, d, (int)(sec / 3600),
		             (int)(sec % 3600 / 60));
}

static enum pb_status x_axis(struct pb_buf *b, const struct frame *f)
{
	const struct tick_step *s = &tick_steps[PB_ARRAY_LEN(tick_steps) - 1];
	int64_t span = f->t1 - f->t0;
	for (size_t i = 0; i < PB_ARRAY_LEN(tick_steps); i++) {
		const struct tick_step *c = &tick_steps[i];
		int64_t len = c->unit == TU_SEC ? c->n : c->n * 2629746; /* mean month */
		if (span / len <= 7) {
			s = c;
			break;
		}
	}
	int y0, y1;
	unsigned m, d;
	pb__civil_from_days(pb_floordiv(f->t0, 86400), &y0, &m, &d);
	pb__civil_from_days(pb_floordiv(f->t1, 86400), &y1, &m, &d);
	bool with_year = y0 != y1 || s->n >= 7 * 86400;
	enum pb_status st = pb_buf_adds(b, "<g class=\"x-axis\">\n");
	int64_t t;
	if (s->unit == TU_SEC) {
		t = pb_floordiv(f->t0 + s->n - 1, s->n) * s->n;
	} else {
		int64_t mi = month_index(f->t0);
		mi = pb_floordiv(mi + s->n - 1, s->n) * s->n;
		if (month_start(mi) < f->t0)
			mi += s->n;
		t = month_start(mi);
	}
	for (int guard = 0; st == PB_OK && t <= f->t1 && guard < 50; guard++) {
		char lab[40];
		double x = px(f, t);
		time_label(t, s, with_year, lab, sizeof(lab));
		st = pb_buf_printf(b,
		                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
		                    "<text class=\"tick-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		                    "fill=\"#444\">%s</text>\n",
		                    x, f->y1, x, f->y1 + 5, x, f->y1 + 19, lab);
		if (s->unit == TU_SEC)
			t += s->n;
		else
			t = month_start(month_index(t) + s->n);
	}
	if (st == PB_OK)
		st = pb_buf_printf(b,
		                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n"
		                    "<text class=\"axis-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		                    "fill=\"#222\">%s (UTC)</text>\n</g>\n",
		                    f->x0, f->y1, f->x1, f->y1, (f->x0 + f->x1) / 2, f->h - 10,
		                    s->unit == TU_SEC && s->n < 86400 ? "Time" : "Date");
	return st;
}

static enum pb_status legend_entry(struct pb_buf *b, const struct frame *f, int row, const char *color,
                                   const char *kind, const char *name)
{
	double x = f->x1 + 18, y = f->y0 + row * ROW;
	enum pb_status st;
	if (!strcmp(kind, "swatch"))
		st = pb_buf_printf(b,
		                    "<g class=\"legend-entry\"><rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
		                    "height=\"12\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">",
		                    x, y, color, x + 18, y + 10);
	else
		st = pb_buf_printf(b,
		                    "<g class=\"legend-entry\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		                    "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/><text x=\"%.1f\" "
		                    "y=\"%.1f\" fill=\"#222\">",
		                    x, y + 6, x + 12, y + 6, color,
		                    !strcmp(kind, "dashed") ? " stroke-dasharray=\"4 3\"" : "", x + 18,
		                    y + 10);
	if (st == PB_OK)
		st = add_text(b, name, fit_chars(name, NAME_EM1000));
	if (st == PB_OK)
		st = pb_buf_adds(b, "</text></g>\n");
	return st;
}

static void frame_init(struct frame *f, const struct pb_chart_options *o, size_t legend_rows)
{
	f->w = o && o->width > 0 ? o->width : 760;
	f->h = o && o->height > 0 ? o->height : 360;
	if (f->w < 400)
		f->w = 400;
	if (f->h < 200)
		f->h = 200;
	/* the legend never overflows: the picture grows instead */
	double need = TOP + (double)legend_rows * ROW + BOTTOM;
	if (f->h < need)
		f->h = need;
	f->x0 = LEFT;
	f->x1 = f->w - LEGEND_W;
	f->y0 = TOP;
	f->y1 = f->h - BOTTOM;
}

static enum pb_status finish(struct pb_buf *b, char **svg, size_t *len, struct pb_error *err)
{
	enum pb_status st = pb_buf_adds(b, "</svg>\n");
	if (st != PB_OK) {
		pb_buf_release(b);
		return pb__err(err, st, st == PB_ELIMIT ? "chart is larger than %u MB" : "out of memory for a chart",
		               SVG_LIMIT >> 20);
	}
	*svg = b->data;
	*len = b->len;
	return PB_OK;
}

/* Times must not go backwards and must span more than one instant. */
static enum pb_status check_span(int64_t prev, int64_t cur, size_t i, struct pb_error *err)
{
	if (cur < prev)
		return pb__err(err, PB_EINVAL, "chart times go backwards at point %zu", i);
	return PB_OK;
}

/* ---- stacked areas ---------------------------------------------------------- */

enum pb_status pb_chart_stacked(const int64_t *times, size_t n, const struct pb_chart_series *series,
                                size_t nseries, const struct pb_chart_options *opts, char **svg,
                                size_t *len, struct pb_error *err)
{
	struct pb_chart_options defo = { 0 };
	struct pb_buf b;
	double *cum = NULL; /* per column: running stack tops */
	size_t *col_of = NULL;
	enum pb_status st;
	*svg = NULL;
	*len = 0;
	if (!opts)
		opts = &defo;
	if (n < 2)
		return pb__err(err, PB_EINVAL, "a chart needs at least 2 points, not %zu", n);
	if (nseries == 0 || nseries > MAX_SERIES)
		return pb__err(err, PB_EINVAL, "a stacked chart takes 1 to %d series, not %zu", MAX_SERIES,
		               nseries);
	for (size_t i = 1; i < n; i++)
		if ((st = check_span(times[i - 1], times[i], i, err)) != PB_OK)
			return st;
	if (times[n - 1] == times[0])
		return pb__err(err, PB_EINVAL, "a chart needs points at two different times");
	for (size_t s = 0; s < nseries; s++) {
		if (!series[s].values)
			return pb__err(err, PB_EINVAL, "chart series %zu has no values", s);
		for (size_t i = 0; i < n; i++)
			if (!isfinite(series[s].values[i]))
				return pb__err(err, PB_EINVAL, "chart series '%s' has a value that is not finite at point %zu",
				               series[s].name ? series[s].name : "?", i);
	}

	struct frame f;
	frame_init(&f, opts, nseries);
	f.t0 = times[0];
	f.t1 = times[n - 1];

	/* Columns: every point, or the mean of the points in each pixel column. */
	size_t ncols = n;
	size_t maxcols = (size_t)(f.x1 - f.x0);
	if (ncols > maxcols)
		ncols = maxcols;
	pb_buf_init(&b, SVG_LIMIT);
	cum = calloc((nseries + 1) * ncols, sizeof(*cum));
	col_of = malloc(n * sizeof(*col_of));
	double *col_t = calloc(ncols, sizeof(*col_t));
	size_t *col_n = calloc(ncols, sizeof(*col_n));
	if (!cum || !col_of || !col_t || !col_n) {
		st = pb__err(err, PB_ENOMEM, "out of memory for a chart");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		size_t c = ncols == n ? i
		                      : (size_t)((double)(times[i] - f.t0) / (double)(f.t1 - f.t0) *
		                                 (double)(ncols - 1) + 0.5);
		col_of[i] = c;
		col_t[c] += (double)(times[i] - f.t0);
		col_n[c]++;
	}
	/* cum[s * ncols + c] = top of series s-1's band; row 0 is the baseline 0 */
	for (size_t s = 0; s < nseries; s++)
		for (size_t i = 0; i < n; i++) {
			double v = series[s].values[i];
			cum[(s + 1) * ncols + col_of[i]] += v > 0 ? v : 0;
		}
	double top = 0;
	for (size_t c = 0; c < ncols; c++) {
		if (!col_n[c])
			continue;
		for (size_t s = 1; s <= nseries; s++) {
			cum[s * ncols + c] = cum[s * ncols + c] / (double)col_n[c] + cum[(s - 1) * ncols + c];
		}
		if (cum[nseries * ncols + c] > top)
			top = cum[nseries * ncols + c];
	}
	double step;
	value_range(&f, 0, top, true, &step);

	st = begin_svg(&b, &f, opts->title);
	if (st == PB_OK)
		st = y_axis(&b, &f, step, opts);
	if (st == PB_OK)
		st = x_axis(&b, &f);
	if (st == PB_OK)
		st = pb_buf_adds(&b, "<g class=\"areas\">\n");
	for (size_t s = 1; s <= nseries && st == PB_OK; s++) {
		st = pb_buf_printf(&b, "<path class=\"area\" fill=\"%s\" fill-opacity=\"0.85\" "
		                        "stroke=\"#ffffff\" stroke-width=\"0.5\" d=\"",
		                    palette[(s - 1) % PB_ARRAY_LEN(palette)]);
		bool first = true;
		for (size_t c = 0; c < ncols && st == PB_OK; c++) {
			if (!col_n[c])
				continue;
			double x = px(&f, f.t0 + (int64_t)(col_t[c] / (double)col_n[c]));
			st = pb_buf_printf(&b, "%s%.1f %.1f", first ? "M" : "L", x, py(&f, cum[s * ncols + c]));
			first = false;
		}
		for (size_t c = ncols; c-- > 0 && st == PB_OK;) {
			if (!col_n[c])
				continue;
			double x = px(&f, f.t0 + (int64_t)(col_t[c] / (double)col_n[c]));
			st = pb_buf_printf(&b, "L%.1f %.1f", x, py(&f, cum[(s - 1) * ncols + c]));
		}
		if (st == PB_OK)
			st = pb_buf_adds(&b, "Z\"><title>");
		if (st == PB_OK)
			st = add_text(&b, series[s - 1].name ? series[s - 1].name : "?", 0);
		if (st == PB_OK)
			st = pb_buf_adds(&b, "</title></path>\n");
	}
	if (st == PB_OK)
		st = pb_buf_adds(&b, "</g>\n<g class=\"legend\">\n");
	/* the legend lists the top band first, like the stack */
	for (size_t s = nseries; s-- > 0 && st == PB_OK;)
		st = legend_entry(&b, &f, (int)(nseries - 1 - s), palette[s % PB_ARRAY_LEN(palette)],
		                  "swatch", series[s].name ? series[s].name : "?");
	if (st == PB_OK)
		st = pb_buf_adds(&b, "</g>\n");
	if (st != PB_OK)
		goto too_big;
	st = finish(&b, svg, len, err);
	free(cum);
	free(col_of);
	free(col_t);
	free(col_n);
	return st;
too_big:
	pb__err(err, st, st == PB_ELIMIT ? "chart is larger than %u MB" : "out of memory for a chart",
	        SVG_LIMIT >> 20);
fail:
	free(cum);
	free(col_of);
	free(col_t);
	free(col_n);
	pb_buf_release(&b);
	return st;
}

/* ---- a series and its changes ---------------------------------------------- */

/* The points and changes of a change chart are usable; their value range
 * into *lo, *hi. */
static enum pb_status changes_range(const struct pb_point *pts, size_t n,
                                    const struct pb_change *changes, size_t nchanges, double *lo,
                                    double *hi, struct pb_error *err)
{
	enum pb_status st;
	if (n < 2)
		return pb__err(err, PB_EINVAL, "a chart needs at least 2 points, not %zu", n);
	if (nchanges && !changes)
		return pb__err(err, PB_EINVAL, "chart: %zu changes but no array", nchanges);
	for (size_t i = 1; i < n; i++)
		if ((st = check_span(pts[i - 1].t, pts[i].t, i, err)) != PB_OK)
			return st;
	if (pts[n - 1].t == pts[0].t)
		return pb__err(err, PB_EINVAL, "a chart needs points at two different times");
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(pts[i].v))
			return pb__err(err, PB_EINVAL, "chart series has a value that is not finite at point %zu", i);
		if (pts[i].v < *lo)
			*lo = pts[i].v;
		if (pts[i].v > *hi)
			*hi = pts[i].v;
	}
	for (size_t k = 0; k < nchanges; k++) {
		const struct pb_change *c = &changes[k];
		if (c->start > c->end || c->end >= n || c->detected >= n || !isfinite(c->expected) ||
		    !isfinite(c->actual) || !isfinite(c->event_mean))
			return pb__err(err, PB_EINVAL, "chart: change %zu is not inside the series", k);
		if (c->expected < *lo)
			*lo = c->expected;
		if (c->expected > *hi)
			*hi = c->expected;
	}
	return PB_OK;
}

/* The series as a path: every point, or the min and max of each pixel column. */
static enum pb_status series_path(struct pb_buf *b, const struct frame *f,
                                  const struct pb_point *pts, size_t n)
{
	enum pb_status st = pb_buf_adds(b, "<path class=\"series-line\" fill=\"none\" stroke=\"#4e79a7\" "
	                                   "stroke-width=\"1.2\" stroke-linejoin=\"round\" d=\"");
	size_t maxcols = (size_t)(f->x1 - f->x0);
	bool first = true;
	if (n <= 2 * maxcols) {
		for (size_t i = 0; i < n && st == PB_OK; i++) {
			st = pb_buf_printf(b, "%s%.1f %.1f", first ? "M" : "L", px(f, pts[i].t), py(f, pts[i].v));
			first = false;
		}
	} else {
		size_t i = 0;
		while (i < n && st == PB_OK) {
			double x = px(f, pts[i].t);
			long col = (long)x;
			size_t lo_i = i, hi_i = i, j = i;
			for (; j < n && (long)px(f, pts[j].t) == col; j++) {
				if (pts[j].v < pts[lo_i].v)
					lo_i = j;
				if (pts[j].v > pts[hi_i].v)
					hi_i = j;
			}
			size_t a = lo_i < hi_i ? lo_i : hi_i, c2 = lo_i < hi_i ? hi_i : lo_i;
			st = pb_buf_printf(b, "%s%.1f %.1f", first ? "M" : "L", px(f, pts[a].t), py(f, pts[a].v));
			first = false;
			if (st == PB_OK && c2 != a)
				st = pb_buf_printf(b, "L%.1f %.1f", px(f, pts[c2].t), py(f, pts[c2].v));
			i = j;
		}
	}
	if (st == PB_OK)
		st = pb_buf_adds(b, "\"/>\n");
	return st;
}

/* The label text of change c: "<when>: expected X, actual Y (+P%)". */
static void change_text(const struct pb_point *pts, const struct pb_change *c, char *text,
                        size_t cap)
{
	double actual = c->closed ? c->event_mean : c->actual;
	char when[32], ex[48], ac[48], pct[32];
	int y;
	unsigned mo, d;
	int64_t day = pb_floordiv(pts[c->start].t, 86400);
	pb__civil_from_days(day, &y, &mo, &d);
	int64_t sec = pts[c->start].t - day * 86400;
	if (sec)
		pb__snprintf(when, sizeof(when), "%04d-%02u-%02u %02d:%02d", y, mo, d, (int)(sec / 3600),
		             (int)(sec % 3600 / 60));
	else
		pb__snprintf(when, sizeof(when), "%04d-%02u-%02u", y, mo, d);
	fmt_value(c->expected, ex, sizeof(ex));
	fmt_value(actual, ac, sizeof(ac));
	if (c->expected != 0)
		pb__snprintf(pct, sizeof(pct), " (%+.0f%%)", 100 * (actual - c->expected) / fabs(c->expected));
	else
		pct[0] = '\0';
	pb__snprintf(text, cap, "%s: expected %s, actual %s%s", when, ex, ac, pct);
}

/* Change c's marks, tooltip and label; row_end[] says where each label row
 * is taken up to. */
static enum pb_status change_mark(struct pb_buf *b, const struct frame *f,
                                  const struct pb_point *pts, const struct pb_change *c,
                                  double row_end[LABEL_ROWS])
{
	double xs = px(f, pts[c->start].t), xe = px(f, pts[c->end].t);
	double actual = c->closed ? c->event_mean : c->actual;
	if (xe - xs < 4)
		xe = xs + 4;
	/* The label goes in the first of LABEL_ROWS rows where it does not
	 * overlap an earlier one; when none is free only the marks are drawn
	 * (the text stays in the group's tooltip). */
	char text[200];
	change_text(pts, c, text, sizeof(text));
	double tw = 6.2 * (double)strlen(text);
	double la = xs + 4; /* right of the mark, moved left to stay in the plot */
	if (la + tw > f->x1)
		la = f->x1 - tw;
	if (la < f->x0 + 2)
		la = f->x0 + 2;
	double lb = la + tw;
	int row = lb > f->w ? LABEL_ROWS : -1; /* -1: look for a row */
	for (int r = 0; r < LABEL_ROWS && row == -1; r++)
		if (la > row_end[r] + 8 || row_end[r] < 0) {
			row = r;
			row_end[r] = lb;
		}
	if (row == LABEL_ROWS)
		row = -1;
	double ly = f->y0 + 12 + (double)(row < 0 ? 0 : row) * 14;
	enum pb_status st = pb_buf_printf(
		b,
		"<g class=\"change\">"
		"<line class=\"change-start\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#e15759\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>"
		"<line class=\"change-expected\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#555\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>"
		"<line class=\"change-actual\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#e15759\" stroke-width=\"2\"/>"
		"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#e15759\"/>"
		"<title>%s</title>",
		xs, f->y0, xs, f->y1, xs, py(f, c->expected), xe, py(f, c->expected), xs,
		py(f, actual), xe, py(f, actual), px(f, pts[c->detected].t),
		py(f, pts[c->detected].v), text);
	if (st == PB_OK && row >= 0)
		st = pb_buf_printf(b,
		                   "<text class=\"change-label\" x=\"%.1f\" y=\"%.1f\" "
		                   "font-size=\"11\" fill=\"#222\">%s</text>",
		                   la, ly, text);
	if (st == PB_OK)
		st = pb_buf_adds(b, "</g>\n");
	return st;
}

enum pb_status pb_chart_changes(const struct pb_point *pts, size_t n, const char *name,
                                const struct pb_change *changes, size_t nchanges,
                                const struct pb_chart_options *opts, char **svg, size_t *len,
                                struct pb_error *err)
{
	struct pb_chart_options defo = { 0 };
	struct pb_buf b;
	enum pb_status st;
	*svg = NULL;
	*len = 0;
	if (!opts)
		opts = &defo;
	double lo = 0, hi = 0;
	if ((st = changes_range(pts, n, changes, nchanges, &lo, &hi, err)))
		return st;

	struct frame f;
	frame_init(&f, opts, 3);
	f.t0 = pts[0].t;
	f.t1 = pts[n - 1].t;
	double step;
	value_range(&f, lo, hi, lo >= 0 && lo < 0.25 * hi, &step);

	pb_buf_init(&b, SVG_LIMIT);
	st = begin_svg(&b, &f, opts->title);
	if (st == PB_OK)
		st = y_axis(&b, &f, step, opts);
	if (st == PB_OK)
		st = x_axis(&b, &f);

	/* change spans under the line */
	for (size_t k = 0; k < nchanges && st == PB_OK; k++) {
		const struct pb_change *c = &changes[k];
		double xa = px(&f, pts[c->start].t), xb = px(&f, pts[c->end].t);
		if (xb - xa < 2)
			xb = xa + 2;
		st = pb_buf_printf(&b,
		                    "<rect class=\"change-span\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		                    "height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.12\"/>\n",
		                    xa, f.y0, xb - xa, f.y1 - f.y0, c->direction > 0 ? "#e15759" : "#4e79a7");
	}
	if (st == PB_OK)
		st = series_path(&b, &f, pts, n);
	if (st == PB_OK)
		st = pb_buf_adds(&b, "<g class=\"changes\">\n");
	double row_end[LABEL_ROWS];
	for (int r = 0; r < LABEL_ROWS; r++)
		row_end[r] = -1;
	for (size_t k = 0; k < nchanges && st == PB_OK; k++)
		st = change_mark(&b, &f, pts, &changes[k], row_end);
	if (st == PB_OK)
		st = pb_buf_adds(&b, "</g>\n<g class=\"legend\">\n");
	if (st == PB_OK)
		st = legend_entry(&b, &f, 0, "#4e79a7", "line", name ? name : "series");
	if (st == PB_OK)
		st = legend_entry(&b, &f, 1, "#555", "dashed", "expected");
	if (st == PB_OK)
		st = legend_entry(&b, &f, 2, "#e15759", "line", "actual (change)");
	if (st == PB_OK)
		st = pb_buf_adds(&b, "</g>\n");
	if (st != PB_OK)
		goto fail;
	return finish(&b, svg, len, err);
fail:
	pb_buf_release(&b);
	return pb__err(err, st, st == PB_ELIMIT ? "chart is larger than %u MB" : "out of memory for a chart",
	               SVG_LIMIT >> 20);
}

enum pb_status pb_chart_save(const char *path, const char *svg, size_t len, struct pb_error *err)
{
	return pb__write_file_atomic(path, svg, len, 0600, err);
}
