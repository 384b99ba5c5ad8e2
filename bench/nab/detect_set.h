/* detect_set.h - "--set NAME=VALUE" for the detector benches (bench/nab,
 * bench/tcpd): sets one field of a struct pb_detect_config by its name. */
#ifndef PB_BENCH_DETECT_SET_H
#define PB_BENCH_DETECT_SET_H

#include "probity.h"

#include <stdlib.h>
#include <string.h>

/* Returns 0, or -1 for an unknown name or a value that is not a number. */
static int detect_set(struct pb_detect_config *c, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return -1;
	size_t l = (size_t)(eq - kv);
	char *end;
	double x = strtod(eq + 1, &end);
	if (*end)
		return -1;
#define U(name)                                                   \
	if (l == strlen(#name) && !strncmp(kv, #name, l)) {        \
		c->name = (uint32_t)x;                             \
		return 0;                                          \
	}
#define D(name)                                                   \
	if (l == strlen(#name) && !strncmp(kv, #name, l)) {        \
		c->name = x;                                       \
		return 0;                                          \
	}
	U(window) U(scales) U(period) U(season_halflife) U(quiet) U(hold) U(warmup) U(memory) U(fast_window) U(fast_scales)
	D(season_gain) D(noise_floor) D(min_ratio) D(release_ratio) D(escalate_ratio)
	D(spread) D(own_bar) D(renew_ratio) D(min_impact) D(min_pct) D(regime_penalty) U(regime_min_len)
	D(regime_level_share) U(job_periods) U(job_window) D(job_share)
#undef U
#undef D
	return -1;
}

#endif
