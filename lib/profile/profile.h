/* profile.h - the profile area's internals: the stacked chart of a profile
 * as data, so that a renderer other than lib/profile/chart.c's SVG (the case
 * report's PDF, lib/report/casepdf.c) draws the same picture; and the
 * seasonal pattern the profile and the regimes take out. */
#ifndef PB_PROFILE_H
#define PB_PROFILE_H

#include "probity.h"

#define PB__STACKED_MAX 64
#define PB__STACKED_NAME 88 /* a legend name, cut to fit (UTF-8) */

/* What pb_profile_chart_stacked draws: n times (seconds, monthly or daily
 * buckets) and nseries series stacked bottom first (series[i].values point
 * into vals, series[i].name into names[i]), with the chart's title, y label
 * and unit. */
struct pb__stacked {
	int64_t *times;
	size_t n;
	bool months;
	struct pb_chart_series series[PB__STACKED_MAX];
	size_t nseries;
	char names[PB__STACKED_MAX][PB__STACKED_NAME];
	char title[256], unit[64];
	const char *y_label;
	double *vals;
};

/* The data of the stacked chart of p, with the rules and errors of
 * pb_profile_chart_stacked. Release *out with pb__profile_stacked_release
 * (also after a failure). */
enum pb_status pb__profile_stacked(const struct pb_profile *p, size_t max_series,
                                   struct pb__stacked *out, struct pb_error *err);
void pb__profile_stacked_release(struct pb__stacked *s);

/* Takes a pattern of `period` points (2 to PB__DESEASON_MAX: a week of days,
 * a year of months) out of v[0..n) in place, robustly (lib/profile/detect.c);
 * point i's phase is phase[i], or i % period when phase is NULL; needs three
 * periods. tmp holds 2 n doubles. */
#define PB__DESEASON_MAX 64
void pb__deseason(double *v, size_t n, size_t period, const unsigned char *phase, double *tmp);

#endif /* PB_PROFILE_H */
