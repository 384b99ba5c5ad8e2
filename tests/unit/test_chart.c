/* test_chart.c - SVG charts: structure, escaping, axes, reduction of long
 * series, refusals. (tests/e2e/scripts/detect-charts.sh renders them in
 * Chromium.) */
#include "unit.h"
#include "probity.h"

#include <math.h>

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

#define DAY 86400
#define T0 1704067200 /* 2024-01-01 */

static void t_stacked(void)
{
	int64_t t[24];
	double a[24], b[24], c[24];
	for (int i = 0; i < 24; i++) {
		t[i] = T0 + (int64_t)i * 30 * DAY;
		a[i] = 100;
		b[i] = i < 12 ? 10 : 2000;
		c[i] = -5; /* drawn as zero */
	}
	struct pb_chart_series s[3] = { { "westeurope", a }, { "<b>north & \"east\"</b>", b },
	                                { "bad\x01name\xff", c } };
	struct pb_chart_options o = { .title = "Storage by region", .y_label = "Storage",
	                              .unit = "TB-Months" };
	char *svg = NULL;
	size_t len = 0;
	struct pb_error err = { 0 };
	CHECK_OK(pb_chart_stacked(t, 24, s, 3, &o, &svg, &len, &err), &err);
	if (!svg)
		return;
	CHECK_INT(strlen(svg), len);
	CHECK(strncmp(svg, "<?xml", 5) == 0);
	CHECK(strstr(svg, "</svg>\n") == svg + len - 7);
	CHECK_INT(count(svg, "class=\"area\""), 3);
	CHECK_INT(count(svg, "class=\"legend-entry\""), 3);
	CHECK(strstr(svg, ">Storage (TB-Months)</text>") != NULL);
	CHECK(strstr(svg, "Date (UTC)") != NULL);
	CHECK(strstr(svg, ">Storage by region</text>") != NULL);
	CHECK(strstr(svg, "&lt;b&gt;north &amp; &quot;east&quot;&lt;/b&gt;") != NULL);
	CHECK(strstr(svg, "<b>") == NULL);
	CHECK(strstr(svg, "bad name?") != NULL); /* control char and bad byte replaced */
	CHECK(strstr(svg, ">2.0 k</text>") != NULL); /* y ticks with SI suffix */
	CHECK(strstr(svg, ">0.5 k</text>") != NULL);
	CHECK(strstr(svg, ">0</text>") != NULL);
	CHECK(strstr(svg, ">2024-01</text>") != NULL || strstr(svg, ">2024-04</text>") != NULL);
	/* self-contained: no scripts, no links */
	CHECK(strstr(svg, "<script") == NULL);
	CHECK(strstr(svg, "href") == NULL);
	/* legend order: top band first */
	char *leg = strstr(svg, "class=\"legend\"");
	CHECK(leg != NULL);
	if (leg) {
		char *c1 = strstr(leg, "bad name?"), *c2 = strstr(leg, "&lt;b&gt;north"),
		     *c3 = strstr(leg, ">westeurope<");
		CHECK(c1 && c2 && c3 && c1 < c2 && c2 < c3);
	}
	free(svg);
}

static void t_stacked_refusals(void)
{
	int64_t t[3] = { T0, T0 + DAY, T0 + 2 * DAY };
	double a[3] = { 1, 2, 3 }, nan3[3] = { 1, NAN, 3 };
	struct pb_chart_series s = { "a", a }, sn = { "n", nan3 };
	char *svg = (char *)"x";
	size_t len;
	struct pb_error err = { 0 };
	CHECK_INT(pb_chart_stacked(t, 1, &s, 1, NULL, &svg, &len, &err), PB_EINVAL);
	CHECK(svg == NULL);
	CHECK_INT(pb_chart_stacked(t, 3, &s, 0, NULL, &svg, &len, &err), PB_EINVAL);
	CHECK_INT(pb_chart_stacked(t, 3, &sn, 1, NULL, &svg, &len, &err), PB_EINVAL);
	CHECK(strstr(err.message, "not finite") != NULL);
	int64_t back[3] = { T0, T0 + DAY, T0 };
	CHECK_INT(pb_chart_stacked(back, 3, &s, 1, NULL, &svg, &len, &err), PB_EINVAL);
	CHECK(strstr(err.message, "backwards") != NULL);
	int64_t same[3] = { T0, T0, T0 };
	CHECK_INT(pb_chart_stacked(same, 3, &s, 1, NULL, &svg, &len, &err), PB_EINVAL);
	struct pb_chart_series many[65];
	for (int i = 0; i < 65; i++)
		many[i] = s;
	CHECK_INT(pb_chart_stacked(t, 3, many, 65, NULL, &svg, &len, &err), PB_EINVAL);
	/* 64 series fit: the picture grows to hold the legend */
	CHECK_OK(pb_chart_stacked(t, 3, many, 64, NULL, &svg, &len, &err), &err);
	CHECK_INT(count(svg, "class=\"legend-entry\""), 64);
	CHECK(strstr(svg, "height=\"360\"") == NULL);
	free(svg);
}

/* A long series with a step: the line is reduced to at most two points per
 * pixel column, and the change is marked with its start and levels. */
static void t_changes(void)
{
	const size_t n = 20000;
	struct pb_point *p = malloc(n * sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		p[i].t = T0 + (int64_t)i * 300;
		p[i].v = (i >= 15000 ? 80 : 40) + (double)(i % 7);
	}
	struct pb_change *ch = NULL;
	size_t nc = 0;
	struct pb_error err = { 0 };
	struct pb_detect_config cfg;
	pb_detect_config_init(&cfg);
	cfg.period = PB_DETECT_NO_SEASON;
	cfg.min_pct = 20;
	CHECK_OK(pb_detect_series(&cfg, p, n, &ch, &nc, NULL, &err), &err);
	CHECK_INT(nc, 1);
	struct pb_chart_options o = { .title = "CPU", .y_label = "CPU", .unit = "%" };
	char *svg = NULL;
	size_t len;
	CHECK_OK(pb_chart_changes(p, n, "cpu <1>", ch, nc, &o, &svg, &len, &err), &err);
	if (svg) {
		CHECK_INT(count(svg, "class=\"change-start\""), 1);
		CHECK_INT(count(svg, "class=\"change-expected\""), 1);
		CHECK_INT(count(svg, "class=\"change-actual\""), 1);
		CHECK_INT(count(svg, "class=\"change-label\""), 1);
		CHECK(strstr(svg, "2024-02-22 02:00: expected 43.0, actual 83.0 (+93%)") != NULL);
		CHECK(strstr(svg, ">cpu &lt;1&gt;</text>") != NULL);
		CHECK(strstr(svg, ">CPU (%)</text>") != NULL);
		CHECK(strstr(svg, "Date (UTC)") != NULL);
		const char *d = strstr(svg, "class=\"series-line\"");
		CHECK(d != NULL);
		size_t pts = 0;
		for (const char *q = d ? strstr(d, " d=\"") : NULL; q && *q && *q != '/'; q++)
			pts += *q == 'L' || *q == 'M';
		CHECK(pts > 400 && pts <= 2 * 600);
	}
	free(svg);
	/* a change outside the series is refused */
	ch[0].end = n;
	CHECK_INT(pb_chart_changes(p, n, "cpu", ch, nc, &o, &svg, &len, &err), PB_EINVAL);
	CHECK_INT(pb_chart_changes(p, n, "cpu", NULL, 1, &o, &svg, &len, &err), PB_EINVAL);
	/* no changes at all is a plain line chart */
	CHECK_OK(pb_chart_changes(p, 50, NULL, NULL, 0, NULL, &svg, &len, &err), &err);
	CHECK_INT(count(svg ? svg : "", "class=\"change\""), 0);
	CHECK(svg && strstr(svg, "Time (UTC)") != NULL); /* 4 hours: a time axis */
	free(svg);
	free(ch);
	free(p);
}

static void t_save(void)
{
	char *dir = unit_tmpdir();
	char path[4200];
	snprintf(path, sizeof(path), "%s/c.svg", dir);
	struct pb_error err = { 0 };
	CHECK_OK(pb_chart_save(path, "<svg/>", 6, &err), &err);
	FILE *f = fopen(path, "r");
	char buf[16] = { 0 };
	CHECK(f && fread(buf, 1, sizeof(buf), f) == 6);
	if (f)
		fclose(f);
	CHECK_STR(buf, "<svg/>");
	snprintf(path, sizeof(path), "%s/no/such/dir/c.svg", dir);
	CHECK(pb_chart_save(path, "<svg/>", 6, &err) != PB_OK);
	unit_rm_rf(dir);
	free(dir);
}

int main(void)
{
	RUN(t_stacked);
	RUN(t_stacked_refusals);
	RUN(t_changes);
	RUN(t_save);
	return UNIT_END("chart");
}
