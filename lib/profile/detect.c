/* detect.c - streaming detection of level shifts and spikes, and the driver
 * that explains a change.
 *
 * Design. Each point is compared with an expected value on several scales:
 * the point itself and the means of the last 4, 16, 64 points. The expected
 * value is the median of the last `window` points (level baseline) or, when
 * the series has a period that predicts it better, the median of the same
 * scale's mean one, two and three periods ago (seasonal baseline). A scale
 * "fires" when its deviation is larger than the largest deviation it saw in
 * the last `memory` points (a record, ratio > min_ratio): that makes the
 * detector scale-free and self-calibrating, so one configuration fits every
 * series. After a change is raised the detector stays quiet until the ratio
 * has dropped for a while, so one shift gives one alert; only a record more
 * than escalate_ratio times the open change raises a new one meanwhile.
 *
 * Costs per point: a binary search and one memmove in the sorted window
 * (O(window) bytes, a few hundred ns at the default), O(1) per scale.
 * Memory: the window, a ring of recent values, and per scale a ring of three
 * periods of means when a season is used (and, on sub-daily series, a ring of
 * the means' deviations over job_periods periods, to know a daily job).
 */
#include "util/util.h"
#include "profile/profile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define MAX_SCALES 6
#define SCALE_FACTOR 4
#define RESUM_EVERY 4096 /* recompute running sums exactly this often */
#define STEP_SAMPLES 8   /* gaps looked at to find the time step */

/* One deviation stream: level or seasonal, on one scale. The largest earlier
 * deviation is kept per block of memory/8 points, so that "the largest in the
 * last `memory` points" costs O(1) a point (the span is memory - memory/8 to
 * memory points). With own_bar the upward and downward deviations are kept
 * apart (the *_dn fields); without it every deviation counts as upward. */
#define MEM_BLOCKS 8
struct stream {
	double block_max[MEM_BLOCKS]; /* maxima of the last full blocks (ring) */
	double block_dn[MEM_BLOCKS];
	uint64_t nblocks;
	double full_max, full_dn; /* maxima of those full blocks */
	double cur_max, cur_dn; /* maxima of the block being filled */
	uint64_t in_cur;     /* deviations in it */
	double max_dev;      /* largest (upward) deviation in memory (all of them
	                        when memory is 0) */
	double max_dn;       /* largest downward one (own_bar only) */
	double ew;           /* exponentially weighted mean deviation, not bias-corrected */
	double ew_pow;       /* decay^count, for the bias correction */
	uint64_t count;      /* deviations seen */
};

struct scale {
	uint32_t k;
	double sum;          /* sum of the last k values */
	struct stream level, season;
	double *means;       /* ring of this scale's means over 3 periods + 1 (NULL: no season) */
	double *devs;        /* ring of its mean's signed deviations from the median
	                        over job_periods periods + job_window (NULL: off) */
};

struct pb_detector {
	struct pb_detect_config cfg;
	uint64_t n;          /* points fed */
	int64_t t_last;
	/* the last rcap values and times, in a ring indexed by point number */
	double *vals;
	int64_t *times;
	size_t rcap;
	/* the last `window` values, sorted */
	double *sorted;
	size_t nsorted;
	struct scale sc[MAX_SCALES];
	uint32_t nscales;
	uint32_t kmax;
	/* season */
	uint32_t period;     /* 0: none (yet) */
	bool period_known;
	size_t mcap;         /* length of each means ring: 3 period + 1 */
	size_t rpos;         /* the current point's place in the value ring (n % rcap) */
	size_t mpos;         /* ... and in the means rings (valid once mpos_set) */
	bool mpos_set;
	size_t jcap, jpos;   /* length of each devs ring (0: off), the current place */
	bool jpos_set;
	double ew_decay;
	uint64_t mem_block;  /* points per memory block; 0 = remember everything */
	/* the open change */
	bool open;
	struct pb_change cur;
	uint64_t quiet_run;
	double ev_sum;       /* sum of values from start to the current point */
	double ev_sum_end;   /* ... to cur.end */
	double halfway;      /* values beyond this (in the change's direction) are "away" */
	double ev_dev[MAX_SCALES]; /* largest deviation per scale since the change opened */
	/* spread: each of the last kmax points' distance from the median when it
	 * came and its signed difference, in rings, with their running sums */
	double *spr_abs, *spr_dif;
	double spr_abs_sum, spr_dif_sum;
	size_t spos;
	struct stream spread;
	/* fast stream (fast_window): the last fast_window values, sorted; per
	 * fast scale a stream, the last point's deviation (added to the stream
	 * at the next point, once it is known whether a change was open), and
	 * the largest deviations taken while the open change was open */
	double *fsorted;
	size_t nfsorted;
	uint32_t fwin;       /* fast_window, at most window */
	struct stream fast[2];
	double fprev[2];
	bool fprev_dn[2], fprev_set[2];
	double fpend_up[2], fpend_dn[2];
};

const char *pb_change_kind_name(enum pb_change_kind k)
{
	return k == PB_CHANGE_SPIKE ? "spike" : k == PB_CHANGE_TREND ? "trend" : "shift";
}

void pb_detect_config_init(struct pb_detect_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->window = 700;
	cfg->scales = 4;
	cfg->period = 0;
	cfg->season_gain = 0.7;
	cfg->season_halflife = 1000;
	cfg->noise_floor = 0.1;
	cfg->min_ratio = 1.0;
	cfg->release_ratio = 0.5;
	cfg->quiet = 5;
	cfg->hold = 25;
	cfg->escalate_ratio = 2.0;
	cfg->warmup = 64;
	cfg->memory = 5000;
	cfg->spread = 1;
	cfg->own_bar = 10;
	cfg->job_periods = 3;
	cfg->job_window = 6;
	cfg->job_share = 0.5;
	cfg->fast_window = 64;
	cfg->fast_scales = 1;
	cfg->min_impact = 0;
	cfg->min_pct = 0;
	cfg->regime_penalty = 8;
	cfg->regime_min_len = 5;
	cfg->regime_level_share = 0.75;
}

enum pb_status pb_detect_config_check(const struct pb_detect_config *c, struct pb_error *err)
{
	if (c->window < 8 || c->window > PB_DETECT_MAX_WINDOW)
		return pb__err(err, PB_EINVAL, "detector window must be 8 to %u points, not %u",
		               PB_DETECT_MAX_WINDOW, c->window);
	if (c->scales < 1 || c->scales > MAX_SCALES)
		return pb__err(err, PB_EINVAL, "detector scales must be 1 to %d, not %u", MAX_SCALES,
		               c->scales);
	if (c->period != PB_DETECT_NO_SEASON && c->period > PB_DETECT_MAX_PERIOD)
		return pb__err(err, PB_EINVAL, "detector period must be at most %u points, not %u",
		               PB_DETECT_MAX_PERIOD, c->period);
	if (c->period == 1)
		return pb__err(err, PB_EINVAL, "detector period must be at least 2 points");
	if (!(c->season_gain >= 0 && c->season_gain <= 1))
		return pb__err(err, PB_EINVAL, "detector season_gain must be in [0, 1]");
	if (c->season_halflife < 1)
		return pb__err(err, PB_EINVAL, "detector season_halflife must be at least 1 point");
	if (!(c->noise_floor >= 0 && c->noise_floor < 1e6))
		return pb__err(err, PB_EINVAL, "detector noise_floor must be >= 0");
	if (!(c->min_ratio >= 0 && c->min_ratio < 1e12))
		return pb__err(err, PB_EINVAL, "detector min_ratio must be >= 0");
	if (!(c->escalate_ratio == 0 || (c->escalate_ratio >= 1 && c->escalate_ratio < 1e12)))
		return pb__err(err, PB_EINVAL, "detector escalate_ratio must be 0 or at least 1");
	if (!(c->release_ratio >= 0 && c->release_ratio <= c->min_ratio))
		return pb__err(err, PB_EINVAL, "detector release_ratio must be in [0, min_ratio]");
	if (c->memory != 0 && c->memory < MEM_BLOCKS)
		return pb__err(err, PB_EINVAL, "detector memory must be 0 or at least %d points",
		               MEM_BLOCKS);
	if (!(c->spread >= 0 && c->spread < 1e6))
		return pb__err(err, PB_EINVAL, "detector spread must be >= 0");
	if (!(c->own_bar == 0 || (c->own_bar >= 1 && c->own_bar < 1e12)))
		return pb__err(err, PB_EINVAL, "detector own_bar must be 0 or at least 1");
	if (!(c->renew_ratio == 0 || (c->renew_ratio >= 1 && c->renew_ratio < 1e12)))
		return pb__err(err, PB_EINVAL, "detector renew_ratio must be 0 or at least 1");
	if (c->job_periods > 7)
		return pb__err(err, PB_EINVAL, "detector job_periods must be at most 7, not %u",
		               c->job_periods);
	if (c->job_window > PB_DETECT_MAX_PERIOD)
		return pb__err(err, PB_EINVAL, "detector job_window must be at most %u points",
		               PB_DETECT_MAX_PERIOD);
	if (!(c->job_share > 0 && c->job_share <= 1))
		return pb__err(err, PB_EINVAL, "detector job_share must be in (0, 1]");
	if (c->fast_window != 0 && (c->fast_window < 4 || c->fast_window > PB_DETECT_MAX_WINDOW))
		return pb__err(err, PB_EINVAL, "detector fast_window must be 0 or 4 to %u points, not %u",
		               PB_DETECT_MAX_WINDOW, c->fast_window);
	if (c->fast_scales < 1 || c->fast_scales > 2)
		return pb__err(err, PB_EINVAL, "detector fast_scales must be 1 or 2, not %u",
		               c->fast_scales);
	if (!(c->min_impact >= 0 && isfinite(c->min_impact)))
		return pb__err(err, PB_EINVAL, "detector min_impact must be >= 0");
	if (!(c->min_pct >= 0 && isfinite(c->min_pct)))
		return pb__err(err, PB_EINVAL, "detector min_pct must be >= 0");
	if (!(c->regime_penalty >= 0 && c->regime_penalty < 1e12))
		return pb__err(err, PB_EINVAL, "detector regime_penalty must be >= 0");
	if (c->regime_min_len < 3)
		return pb__err(err, PB_EINVAL, "detector regime_min_len must be at least 3 points");
	if (!(c->regime_level_share > 0 && c->regime_level_share <= 1))
		return pb__err(err, PB_EINVAL, "detector regime_level_share must be in (0, 1]");
	return PB_OK;
}

enum pb_status pb_detector_new(const struct pb_detect_config *cfg, struct pb_detector **out,
                               struct pb_error *err)
{
	struct pb_detect_config def;
	struct pb_detector *d = NULL;
	enum pb_status st;
	*out = NULL;
	if (!cfg) {
		pb_detect_config_init(&def);
		cfg = &def;
	}
	st = pb_detect_config_check(cfg, err);
	if (st != PB_OK)
		goto fail;
	st = PB_ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto nomem;
	d->cfg = *cfg;
	d->nscales = cfg->scales;
	uint32_t k = 1;
	for (uint32_t j = 0; j < d->nscales; j++) {
		d->sc[j].k = k;
		d->sc[j].level.ew_pow = 1;
		d->sc[j].season.ew_pow = 1;
		d->kmax = k;
		k *= SCALE_FACTOR;
	}
	d->rcap = (cfg->window > d->kmax ? cfg->window : d->kmax) + 1;
	if (d->rcap < STEP_SAMPLES + 2)
		d->rcap = STEP_SAMPLES + 2;
	d->vals = malloc(d->rcap * sizeof(*d->vals));
	d->times = malloc(d->rcap * sizeof(*d->times));
	d->sorted = malloc(cfg->window * sizeof(*d->sorted));
	if (!d->vals || !d->times || !d->sorted)
		goto nomem;
	if (cfg->spread > 0) {
		d->spr_abs = calloc(d->kmax, sizeof(*d->spr_abs));
		d->spr_dif = calloc(d->kmax, sizeof(*d->spr_dif));
		if (!d->spr_abs || !d->spr_dif)
			goto nomem;
		d->spread.ew_pow = 1;
	}
	if (cfg->fast_window) {
		d->fwin = cfg->fast_window < cfg->window ? cfg->fast_window : cfg->window;
		d->fsorted = malloc(d->fwin * sizeof(*d->fsorted));
		if (!d->fsorted)
			goto nomem;
		d->fast[0].ew_pow = d->fast[1].ew_pow = 1;
	}
	d->ew_decay = pow(0.5, 1.0 / cfg->season_halflife);
	d->mem_block = cfg->memory / MEM_BLOCKS;
	if (cfg->period == PB_DETECT_NO_SEASON)
		d->period_known = true; /* and period stays 0 */
	*out = d;
	return PB_OK;
nomem:
	pb__err(err, PB_ENOMEM, "out of memory for a detector");
fail:
	pb_detector_free(d);
	return st;
}

void pb_detector_free(struct pb_detector *d)
{
	if (!d)
		return;
	for (uint32_t j = 0; j < MAX_SCALES; j++) {
		free(d->sc[j].means);
		free(d->sc[j].devs);
	}
	free(d->vals);
	free(d->times);
	free(d->sorted);
	free(d->spr_abs);
	free(d->spr_dif);
	free(d->fsorted);
	free(d);
}

/* ---- the sorted window -------------------------------------------------- */

static size_t lower_bound(const double *a, size_t n, double x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds x to the sorted array a of *len values and, when drop is true,
 * removes old (which is in it). */
static void sorted_update(double *a, size_t *len, double x, bool drop, double old)
{
	size_t n = *len;
	if (!drop) {
		size_t i = lower_bound(a, n, x);
		memmove(a + i + 1, a + i, (n - i) * sizeof(*a));
		a[i] = x;
		*len = n + 1;
		return;
	}
	/* Replace old by x and slide only the values between the two places. */
	size_t o = lower_bound(a, n, old);
	if (x == old) {
		return;
	} else if (x > old) {
		size_t i = lower_bound(a, n, x); /* first >= x; x goes at i - 1 after the shift */
		memmove(a + o, a + o + 1, (i - o - 1) * sizeof(*a));
		a[i - 1] = x;
	} else {
		size_t i = lower_bound(a, o, x);
		memmove(a + i + 1, a + i, (o - i) * sizeof(*a));
		a[i] = x;
	}
}

/* Quantile q of a sorted array by linear interpolation between order statistics. */
static double sorted_quantile(const double *a, size_t n, double q)
{
	double p = q * (double)(n - 1);
	size_t i = (size_t)p;
	double f = p - (double)i;
	if (i + 1 >= n)
		return a[n - 1];
	return a[i] * (1 - f) + a[i + 1] * f;
}

static double window_quantile(const struct pb_detector *d, double q)
{
	return sorted_quantile(d->sorted, d->nsorted, q);
}

/* ---- helpers -------------------------------------------------------------- */

/* The place k points before pos in a ring of cap (k <= cap). */
static inline size_t ring_back(size_t pos, size_t k, size_t cap)
{
	return pos >= k ? pos - k : pos + cap - k;
}

/* Point i's place in a ring of cap (i % cap), kept without a division once
 * set. */
static void ring_step(size_t *pos, bool *set, uint64_t i, size_t cap)
{
	if (*set) {
		*pos = *pos + 1 == cap ? 0 : *pos + 1;
	} else {
		*pos = (size_t)(i % cap);
		*set = true;
	}
}

static double val_at(const struct pb_detector *d, uint64_t i)
{
	return d->vals[i % d->rcap];
}

static int64_t time_at(const struct pb_detector *d, uint64_t i)
{
	return d->times[i % d->rcap];
}

/* Mean of the k values ending at point i (all within the ring). */
static double mean_at(const struct pb_detector *d, uint64_t i, uint32_t k)
{
	double s = 0;
	for (uint32_t j = 0; j < k; j++)
		s += val_at(d, i - j);
	return s / k;
}

static double median3(double a, double b, double c)
{
	if (a > b) {
		double t = a;
		a = b;
		b = t;
	}
	if (b > c)
		b = c;
	return a > b ? a : b;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

/* Picks the seasonal period from the time step of the first points: a day
 * for sub-daily series (*sub_daily then), a week for daily ones; none
 * otherwise. */
static uint32_t auto_period(const struct pb_detector *d, bool *sub_daily)
{
	int64_t gaps[STEP_SAMPLES];
	for (int i = 0; i < STEP_SAMPLES; i++)
		gaps[i] = time_at(d, (uint64_t)i + 1) - time_at(d, (uint64_t)i);
	qsort(gaps, STEP_SAMPLES, sizeof(gaps[0]), cmp_i64);
	double step = (double)(gaps[STEP_SAMPLES / 2 - 1] + gaps[STEP_SAMPLES / 2]) / 2;
	double p;
	*sub_daily = step < 86400;
	if (step < 86400)
		p = 86400 / step;
	else if (step < 7 * 86400)
		p = 7 * 86400 / step;
	else
		return 0;
	p = floor(p + 0.5);
	if (p < 2 || p > PB_DETECT_MAX_PERIOD)
		return 0;
	return (uint32_t)p;
}

/* Sets up the seasonal rings once the period is known; fills them with the
 * means of the points already seen (all still in the value ring). The rings
 * of deviations for job_periods start empty (no earlier event). */
static enum pb_status start_season(struct pb_detector *d, uint32_t period, bool sub_daily,
                                   struct pb_error *err)
{
	const struct pb_detect_config *cfg = &d->cfg;
	d->period_known = true;
	d->period = period;
	if (!period)
		return PB_OK;
	d->mcap = 3 * (size_t)period + 1;
	if (sub_daily && cfg->job_periods > 0 && cfg->job_window < period) {
		d->jcap = (size_t)cfg->job_periods * period + cfg->job_window + 1;
		for (uint32_t j = 0; j < d->nscales; j++) {
			d->sc[j].devs = calloc(d->jcap, sizeof(*d->sc[j].devs));
			if (!d->sc[j].devs) {
				d->period = 0;
				d->jcap = 0;
				return pb__err(err, PB_ENOMEM, "out of memory for a seasonal detector");
			}
		}
	}
	for (uint32_t j = 0; j < d->nscales; j++) {
		struct scale *s = &d->sc[j];
		s->means = malloc(d->mcap * sizeof(*s->means));
		if (!s->means) {
			d->period = 0;
			return pb__err(err, PB_ENOMEM, "out of memory for a seasonal detector");
		}
		uint64_t from = d->n > d->rcap - 1 ? d->n - (d->rcap - 1) : 0;
		for (uint64_t i = from; i < d->n; i++)
			if (i + 1 >= s->k)
				s->means[i % d->mcap] = mean_at(d, i, s->k);
	}
	return PB_OK;
}

/* Whether a level deviation like sdev (same sign, at least job_share of it)
 * came within job_window points of the same time on each of the last
 * job_periods periods on this scale: a daily job's record, not news. An
 * event seen on fewer of those days (an anomaly that repeats once) still is. */
static bool job_seen(const struct pb_detector *d, const struct scale *s, double sdev)
{
	const uint32_t w = d->cfg.job_window, P = d->period;
	const double need = d->cfg.job_share * fabs(sdev);
	if (sdev == 0)
		return false;
	for (uint32_t p = 1; p <= d->cfg.job_periods; p++) {
		bool found = false;
		for (size_t q = (size_t)p * P - w; q <= (size_t)p * P + w && !found; q++) {
			const double x = s->devs[ring_back(d->jpos, q, d->jcap)];
			found = x * sdev > 0 && fabs(x) >= need;
		}
		if (!found)
			return false;
	}
	return true;
}

/* r cut to a plain tie (min(1, min_ratio): no record) when it is a record of
 * a daily job on scale s (sdev: its mean's signed distance from the level
 * median at this point). */
static double job_cut(const struct pb_detector *d, const struct scale *s, double r, double sdev)
{
	const double cap = d->cfg.min_ratio < 1 ? d->cfg.min_ratio : 1;
	return d->jcap && s->devs && r > cap && job_seen(d, s, sdev) ? cap : r;
}

/* Bias-corrected typical deviation of a stream (before adding the current one). */
static double typical(const struct stream *s)
{
	return s->count ? s->ew / (1 - s->ew_pow) : 0;
}

/* Counts dev into the stream's largest deviations (without a new point: so
 * too the fast stream's deviations of a change that closed as a spike). */
static void stream_inject(struct stream *s, double dev, bool dn, uint64_t mem_block)
{
	if (!mem_block) {
		double *m = dn ? &s->max_dn : &s->max_dev;
		if (dev > *m)
			*m = dev;
		return;
	}
	double *cur = dn ? &s->cur_dn : &s->cur_max;
	if (dev > *cur)
		*cur = dev;
	s->max_dev = s->full_max > s->cur_max ? s->full_max : s->cur_max;
	s->max_dn = s->full_dn > s->cur_dn ? s->full_dn : s->cur_dn;
}

/* A new point's deviation: counted as above, and the block it ends rolls
 * into the ring of block maxima. */
static void stream_add(struct stream *s, double dev, bool dn, double ew_decay, uint64_t mem_block)
{
	stream_inject(s, dev, dn, mem_block);
	if (mem_block && ++s->in_cur == mem_block) {
		s->block_max[s->nblocks % MEM_BLOCKS] = s->cur_max;
		s->block_dn[s->nblocks % MEM_BLOCKS] = s->cur_dn;
		s->nblocks++;
		s->cur_max = s->cur_dn = 0;
		s->in_cur = 0;
		s->full_max = s->full_dn = 0;
		for (uint64_t b = 0; b < MEM_BLOCKS && b < s->nblocks; b++) {
			if (s->block_max[b] > s->full_max)
				s->full_max = s->block_max[b];
			if (s->block_dn[b] > s->full_dn)
				s->full_dn = s->block_dn[b];
		}
		s->max_dev = s->full_max;
		s->max_dn = s->full_dn;
	}
	s->ew = s->ew * ew_decay + (1 - ew_decay) * dev;
	s->ew_pow *= ew_decay;
	s->count++;
}

/* The bar a deviation in direction dn must beat: the largest earlier one of
 * either direction, or own times the largest in its own direction when that
 * is lower (*by_own then). */
static double stream_bar(const struct stream *s, bool dn, double own, bool *by_own)
{
	const double mine = dn ? s->max_dn : s->max_dev, other = dn ? s->max_dev : s->max_dn;
	double bar = mine > other ? mine : other;
	*by_own = false;
	if (own > 0 && mine > 0 && own * mine < bar) {
		bar = own * mine;
		*by_own = true;
	}
	return bar;
}

/* The current deviation against its bar. */
static double stream_ratio(const struct stream *s, double dev, bool dn, double own, bool *by_own)
{
	double bar = stream_bar(s, dn, own, by_own);
	if (bar > 0)
		return dev / bar;
	return dev > 0 ? INFINITY : 0;
}

/* The score of a ratio: r / (1 + r), with r rounded up to a sixteenth of a
 * doubling (4.4 %), so that a record stays above 0.5 and records within a few
 * percent of each other score the same: they are the same news, and a
 * threshold tuned between them (NAB's sweep did, at ratios 1.0057 and 1.0092)
 * fits noise (docs/detection.md, "Measured on NAB"). The ratio of a change
 * stays exact. */
#define SCORE_STEPS 16
static double ratio_score(double r)
{
	if (isinf(r))
		return 1.0;
	if (r > 0)
		r = exp2(ceil(log2(r) * SCORE_STEPS) / SCORE_STEPS);
	return r / (1 + r);
}

/* What the strongest scale says about the current point. */
struct verdict {
	double ratio;
	uint32_t scale;     /* index */
	bool seasonal;
	bool spread;        /* the spread of the longest scale, not a mean */
	bool own;           /* against own_bar times its direction's record */
	bool fast;          /* the fast stream's */
	double expected, actual;
	double spread_dev;
};

/* Makes the verdict this stream's when its ratio r is the strongest so far. */
static bool verdict_take(struct verdict *b, double r, uint32_t scale, bool seasonal, bool own,
                         double expected, double actual)
{
	if (!(r > b->ratio))
		return false;
	b->ratio = r;
	b->scale = scale;
	b->seasonal = seasonal;
	b->own = own;
	b->spread = false;
	b->fast = false;
	b->expected = expected;
	b->actual = actual;
	return true;
}

/* The fast streams (pb_detect_config.fast_window): the point (and the mean
 * of 4) against the median of the last fast_window points. A point's
 * deviation joins the bar at the next point, once it is known whether a
 * change was open after it; while one is, it is held in fpend_* until the
 * change closes (close_change keeps it unless the change was a shift). They
 * may raise a change, not hold one open, and stay out of points whose scale
 * uses the seasonal baseline (a daily edge is a shift every day). */
static void fast_streams(struct pb_detector *d, uint64_t i, double floor_dev,
                         const bool *seas_now, struct verdict *best)
{
	const struct pb_detect_config *cfg = &d->cfg;
	const double fmed = sorted_quantile(d->fsorted, d->nfsorted, 0.5), own = cfg->own_bar;
	for (uint32_t j = 0; j < cfg->fast_scales && j < d->nscales; j++) {
		const struct scale *s = &d->sc[j];
		struct stream *f = &d->fast[j];
		if (d->fprev_set[j]) {
			double *pend = d->fprev_dn[j] ? &d->fpend_dn[j] : &d->fpend_up[j];
			if (d->open && d->fprev[j] > *pend)
				*pend = d->fprev[j];
			stream_add(f, d->open ? 0 : d->fprev[j], d->fprev_dn[j], d->ew_decay,
			           d->mem_block);
		}
		if (i + 1 < s->k)
			continue;
		const double y = s->sum / s->k;
		double dev = fabs(y - fmed);
		if (dev < floor_dev)
			dev = 0;
		const bool dn = own > 0 && y < fmed;
		d->fprev[j] = dev;
		d->fprev_dn[j] = dn;
		d->fprev_set[j] = true;
		bool by_own = false;
		double r = !d->open && !seas_now[j] && cfg->warmup <= f->count
		                   ? stream_ratio(f, dev, dn, own, &by_own)
		                   : 0;
		/* a daily job is not news here either (its mean's distance from
		 * the level median, written by the scale loop for this point) */
		if (d->jcap && s->devs)
			r = job_cut(d, s, r, s->devs[d->jpos]);
		/* only what the scales do not see already: a change the level
		 * or seasonal streams raise is theirs (and says so) */
		if (!(best->ratio > cfg->min_ratio) && verdict_take(best, r, j, false, by_own, fmed, y))
			best->fast = true;
	}
}

/* The spread of the last kmax points (pb_detect_config.spread): their mean
 * distance from the median, less the distance of their mean (what a level
 * move explains: a shift or a spike moves the mean as far as the points), less
 * `spread` interquartile ranges of the window; 0 below the noise floor. A
 * series that starts to swing around the same level has a spread and no
 * deviation of any mean. */
static double spread_dev(struct pb_detector *d, uint64_t i, double v, double med, double iqr,
                         double floor_dev)
{
	const size_t k = d->kmax, q = d->spos;
	const double a = fabs(v - med), s = v - med;
	d->spos = q + 1 == k ? 0 : q + 1;
	if (i >= k) {
		d->spr_abs_sum -= d->spr_abs[q];
		d->spr_dif_sum -= d->spr_dif[q];
	}
	d->spr_abs[q] = a;
	d->spr_dif[q] = s;
	d->spr_abs_sum += a;
	d->spr_dif_sum += s;
	if (i % RESUM_EVERY == 0) {
		d->spr_abs_sum = d->spr_dif_sum = 0;
		for (size_t j = 0; j < k && j <= i; j++) {
			d->spr_abs_sum += d->spr_abs[j];
			d->spr_dif_sum += d->spr_dif[j];
		}
	}
	if (i + 1 < k)
		return -1;
	double dev = (d->spr_abs_sum - fabs(d->spr_dif_sum)) / (double)k - d->cfg.spread * iqr;
	return dev < floor_dev ? 0 : dev;
}

/* Closes the open change as of point `last` (the last point fed). */
static void close_change(struct pb_detector *d, struct pb_change *out)
{
	struct pb_change *c = &d->cur;
	c->closed = true;
	c->t_end = time_at(d, c->end);
	size_t len = c->end - c->start + 1;
	c->event_mean = d->ev_sum_end / (double)len;
	/* A spike came back within `hold` points of its detection; a shift stayed
	 * away longer, or had not come back by the last point. */
	bool back = c->end + 1 < d->n;
	c->kind = back && c->end - c->detected < d->cfg.hold ? PB_CHANGE_SPIKE : PB_CHANGE_SHIFT;
	/* The fast stream keeps a spike's deviations (it may recur) and forgets
	 * a shift's (its onset is the fast median's lag). */
	bool moved = false;
	if (d->fsorted) {
		const double fmed = sorted_quantile(d->fsorted, d->nfsorted, 0.5);
		moved = c->kind == PB_CHANGE_SHIFT &&
		        (double)c->direction * (fmed - c->expected) > fabs(c->delta) / 4;
	}
	for (int j = 0; j < 2; j++) {
		if (!moved) {
			stream_inject(&d->fast[j], d->fpend_up[j], false, d->mem_block);
			stream_inject(&d->fast[j], d->fpend_dn[j], true, d->mem_block);
		}
		d->fpend_up[j] = d->fpend_dn[j] = 0;
	}
	*out = *c;
	d->open = false;
}

bool pb_detector_finish(struct pb_detector *d, struct pb_change *out)
{
	if (!d->open)
		return false;
	close_change(d, out);
	return true;
}

/* One function of about 200 lines on purpose: this is the per-point step of
 * the streaming detector (the profile runs it over thousands of series; the
 * bench/tcpd figure is points per second), and its phases (the ring buffers,
 * each scale's baseline and season, following or closing the open change,
 * raising one) share most of the detector's state; comments mark them. */
enum pb_status pb_detector_push(struct pb_detector *d, int64_t t, double v,
                                struct pb_detect_step *step, struct pb_error *err)
{
	const struct pb_detect_config *cfg = &d->cfg;
	enum pb_status st;
	/* change and closed_change are filled only when raised / closed: no
	 * clearing of two changes a point (they are most of the step) */
	step->score = step->ratio = 0;
	step->raised = step->closed = step->clamped = false;
	if (!isfinite(v))
		return pb__err(err, PB_EINVAL, "point %llu: value is not a finite number",
		               (unsigned long long)d->n);
	if (d->n > 0 && t < d->t_last) {
		t = d->t_last; /* keep order, clamp (docs/detection.md, "Real clocks") */
		step->clamped = true;
	}
	const uint64_t i = d->n;
	const size_t rp = d->rpos; /* i % rcap, kept without a division */
	d->rpos = rp + 1 == d->rcap ? 0 : rp + 1;
	double old = i >= cfg->window ? d->vals[ring_back(rp, cfg->window, d->rcap)] : 0;
	d->vals[rp] = v;
	d->times[rp] = t;
	d->t_last = t;
	d->n++;
	sorted_update(d->sorted, &d->nsorted, v, i >= cfg->window, old);
	if (d->fsorted) {
		const uint32_t f = d->fwin;
		sorted_update(d->fsorted, &d->nfsorted, v, i >= f,
		              i >= f ? d->vals[ring_back(rp, f, d->rcap)] : 0);
	}

	if (!d->period_known) {
		if (cfg->period != 0) {
			st = start_season(d, cfg->period, false, err);
			if (st != PB_OK)
				return st;
		} else if (d->n == STEP_SAMPLES + 1) {
			bool sub_daily = false;
			uint32_t p = auto_period(d, &sub_daily);
			st = start_season(d, p, sub_daily, err);
			if (st != PB_OK)
				return st;
		}
	}

	if (d->mcap)
		ring_step(&d->mpos, &d->mpos_set, i, d->mcap);
	if (d->jcap)
		ring_step(&d->jpos, &d->jpos_set, i, d->jcap);
	const double med = window_quantile(d, 0.5);
	const double iqr = window_quantile(d, 0.75) - window_quantile(d, 0.25);
	const double floor_dev = cfg->noise_floor * iqr;
	struct verdict best = { 0 };
	const double own = cfg->own_bar;
	const uint32_t P = d->period;
	double dev_now[MAX_SCALES] = { 0 }; /* each scale's deviation from its chosen baseline */
	bool seas_now[MAX_SCALES] = { false };

	for (uint32_t j = 0; j < d->nscales; j++) {
		struct scale *s = &d->sc[j];
		const uint32_t k = s->k;
		if (k == 1) {
			s->sum = v;
		} else {
			s->sum += v;
			if (i >= k)
				s->sum -= d->vals[ring_back(rp, k, d->rcap)];
			if (i % RESUM_EVERY == 0 && i + 1 >= k)
				s->sum = mean_at(d, i, k) * k;
		}
		if (i + 1 < k)
			continue;
		const double y = s->sum / k;

		double dev_l = fabs(y - med);
		if (dev_l < floor_dev)
			dev_l = 0;
		const bool dn_l = own > 0 && y < med;
		bool by_own = false, o;
		double r = cfg->warmup <= s->level.count
		                   ? stream_ratio(&s->level, dev_l, dn_l, own, &by_own)
		                   : 0;
		bool seasonal = false;
		double expected = med;
		double sbar_up = 0, sbar_dn = 0; /* the seasonal stream's bars and count */
		uint64_t scount = 0;             /* before this point */

		if (P && s->means) {
			const size_t mp = d->mpos, mc = d->mcap;
			s->means[mp] = y;
			if (i >= (uint64_t)P + k - 1) {
				double ys = s->means[ring_back(mp, P, mc)];
				if (i >= 3 * (uint64_t)P + k - 1)
					ys = median3(ys, s->means[ring_back(mp, 2 * (size_t)P, mc)],
					             s->means[ring_back(mp, 3 * (size_t)P, mc)]);
				double dev_s = fabs(y - ys);
				if (dev_s < floor_dev)
					dev_s = 0;
				const bool dn_s = own > 0 && y < ys;
				if (s->season.count > 0 &&
				    typical(&s->season) < cfg->season_gain * typical(&s->level)) {
					seasonal = true;
					expected = ys;
					by_own = false;
					r = cfg->warmup <= s->season.count
					            ? stream_ratio(&s->season, dev_s, dn_s, own, &by_own)
					            : 0;
				}
				if (j == 0) {
					sbar_up = stream_bar(&s->season, false, own, &o);
					sbar_dn = stream_bar(&s->season, own > 0, own, &o);
				}
				scount = s->season.count;
				stream_add(&s->season, dev_s, dn_s, d->ew_decay, d->mem_block);
			}
		}
		if (j == 0) {
			step->expected = expected;
			step->lower = step->upper = NAN;
			if (cfg->warmup <= (seasonal ? scount : s->level.count)) {
				step->lower = expected - (seasonal ? sbar_dn
				                                   : stream_bar(&s->level, own > 0, own, &o));
				step->upper = expected + (seasonal ? sbar_up
				                                   : stream_bar(&s->level, false, own, &o));
			}
		}
		stream_add(&s->level, dev_l, dn_l, d->ew_decay, d->mem_block);
		dev_now[j] = fabs(y - expected);
		if (d->jcap && s->devs) {
			/* a record (level or seasonal) while this mean stands where it
			 * stood near this time on each of the last days: the daily job */
			const double sdev = fabs(y - med) < floor_dev ? 0 : y - med;
			r = job_cut(d, s, r, sdev);
			s->devs[d->jpos] = sdev;
		}
		seas_now[j] = seasonal;
		verdict_take(&best, r, j, seasonal, by_own, expected, y);
	}

	if (d->spr_abs) {
		double sd = spread_dev(d, i, v, med, iqr, floor_dev);
		if (sd >= 0) {
			bool by_own;
			double r = cfg->warmup <= d->spread.count
			                   ? stream_ratio(&d->spread, sd, false, 0, &by_own)
			                   : 0;
			stream_add(&d->spread, sd, false, d->ew_decay, d->mem_block);
			const uint32_t j = d->nscales - 1;
			if (verdict_take(&best, r, j, false, false, med, d->sc[j].sum / d->sc[j].k)) {
				best.spread = true;
				best.spread_dev = sd;
			}
		}
	}

	if (d->fsorted)
		fast_streams(d, i, floor_dev, seas_now, &best);

	step->ratio = best.ratio;
	/* Follow or close the open change. */
	if (d->open) {
		struct pb_change *c = &d->cur;
		d->ev_sum += v;
		if ((double)c->direction * (v - d->halfway) >= 0) {
			c->end = (size_t)i;
			d->ev_sum_end = d->ev_sum;
		}
		if (i - c->detected > cfg->hold && best.ratio < cfg->release_ratio) {
			if (++d->quiet_run >= cfg->quiet) {
				close_change(d, &step->closed_change);
				step->closed = true;
			}
		} else {
			d->quiet_run = 0;
		}
	}
	/* A new record much larger than the open change, and than anything its
	 * scale saw since the change opened, is news even while that change is
	 * open (a jump on top of a ramp): close it and raise a new one. Once
	 * the change has been held, renew_ratio (when set) takes the place of
	 * escalate_ratio for records in the change's direction (a second drop
	 * while the first is still open). */
	double esc = cfg->escalate_ratio;
	if (d->open && cfg->renew_ratio > 0 && i - d->cur.detected > cfg->hold &&
	    (best.actual - best.expected) * d->cur.direction > 0)
		esc = cfg->renew_ratio;
	if (d->open && esc > 0 && best.ratio > cfg->min_ratio && !best.spread) {
		double ref = fabs(d->cur.delta);
		if (d->ev_dev[best.scale] > ref)
			ref = d->ev_dev[best.scale];
		if (dev_now[best.scale] > esc * ref) {
			close_change(d, &step->closed_change);
			step->closed = true;
		}
	}
	for (uint32_t j = 0; j < d->nscales; j++)
		if (dev_now[j] > d->ev_dev[j])
			d->ev_dev[j] = dev_now[j];
	if (d->open)
		return PB_OK;

	step->score = ratio_score(best.ratio);
	if (!(best.ratio > cfg->min_ratio))
		return PB_OK;
	const double delta = best.actual - best.expected;
	const double pct = best.expected != 0 ? 100 * delta / fabs(best.expected)
	                                      : (delta > 0 ? INFINITY : -INFINITY);
	if (fabs(delta) < cfg->min_impact || fabs(pct) < cfg->min_pct)
		return PB_OK;

	/* Raise a change. Its start is the first of the averaged points that is
	 * already more than halfway to the new value. */
	struct pb_change *c = &d->cur;
	memset(c, 0, sizeof(*c));
	const uint32_t k = d->sc[best.scale].k;
	c->direction = delta > 0 ? 1 : -1;
	d->halfway = best.expected + delta / 2;
	c->start = (size_t)i;
	if (best.spread) { /* the last run of points beyond `spread` IQRs */
		for (uint64_t p = i; p > i + 1 - k; p--) {
			if (!(fabs(val_at(d, p - 1) - best.expected) > cfg->spread * iqr))
				break;
			c->start = (size_t)(p - 1);
		}
	} else {
		for (uint64_t p = i + 1 - k; p <= i; p++)
			if ((double)c->direction * (val_at(d, p) - d->halfway) >= 0) {
				c->start = (size_t)p;
				break;
			}
	}
	c->detected = (size_t)i;
	c->end = (size_t)i;
	c->t_start = time_at(d, c->start);
	c->t_detected = t;
	c->t_end = t;
	c->kind = k == 1 ? PB_CHANGE_SPIKE : PB_CHANGE_SHIFT;
	c->seasonal = best.seasonal;
	c->closed = false;
	c->scale = k;
	c->period = P;
	c->expected = best.expected;
	c->actual = best.actual;
	c->delta = delta;
	c->pct = pct;
	c->ratio = best.ratio;
	c->own_direction = best.own;
	c->spread = best.spread;
	c->fast = best.fast;
	c->spread_dev = best.spread_dev;
	c->score = ratio_score(best.ratio);
	if (best.seasonal) {
		c->base_from = c->start - P;
		c->base_to = (size_t)i + 1 - P;
	} else {
		const size_t w = best.fast ? d->fwin : cfg->window;
		c->base_from = c->start > w ? c->start - w : 0;
		c->base_to = c->start;
	}
	d->ev_sum = 0;
	for (uint64_t p = c->start; p <= i; p++)
		d->ev_sum += val_at(d, p);
	d->ev_sum_end = d->ev_sum;
	c->event_mean = d->ev_sum / (double)(i - c->start + 1);
	d->open = true;
	d->quiet_run = 0;
	memcpy(d->ev_dev, dev_now, sizeof(d->ev_dev));
	step->raised = true;
	step->change = *c;
	return PB_OK;
}

/* ---- whole series ------------------------------------------------------- */

enum pb_status pb_detect_series(const struct pb_detect_config *cfg, const struct pb_point *pts,
                                size_t n, struct pb_change **changes, size_t *nchanges,
                                double *scores, struct pb_error *err)
{
	struct pb_detector *d = NULL;
	struct pb_change *out = NULL;
	size_t count = 0, cap = 0;
	enum pb_status st;
	*changes = NULL;
	*nchanges = 0;
	st = pb_detector_new(cfg, &d, err);
	if (st != PB_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct pb_detect_step step;
		st = pb_detector_push(d, pts[i].t, pts[i].v, &step, err);
		if (st != PB_OK)
			goto fail;
		if (scores)
			scores[i] = step.score;
		if (step.closed)
			out[count - 1] = step.closed_change; /* the open one is always the last */
		if (step.raised) {
			if (count == cap) {
				size_t nc = cap ? 2 * cap : 8;
				struct pb_change *p = realloc(out, nc * sizeof(*p));
				if (!p) {
					st = pb__err(err, PB_ENOMEM, "out of memory for changes");
					goto fail;
				}
				out = p;
				cap = nc;
			}
			out[count++] = step.change;
		}
	}
	if (count)
		pb_detector_finish(d, &out[count - 1]);
	pb_detector_free(d);
	*changes = out;
	*nchanges = count;
	return PB_OK;
fail:
	pb_detector_free(d);
	free(out);
	return st;
}

/* ---- regimes: offline segmentation ----------------------------------------- */

/* Prefix sums over any span for the regression y[i] = a + b p[i] (p[i] =
 * y[i-1], y[0] for the first point): p, p^2, y, p y, y^2; and for the line
 * y[i] = c + d t[i] (t[i] = i / n): t, t^2, t y. Values are centred and
 * scaled first, so the sums stay well conditioned. */
enum { RS_P, RS_PP, RS_Y, RS_PY, RS_YY, RS_T, RS_TT, RS_TY, RS_N };

struct regimes {
	const double *y;  /* centred, scaled values */
	double *sum;      /* (n + 1) x RS_N prefix sums */
	double var_floor; /* smallest variance a regime may have */
	bool lines;       /* regimes are levels or lines, not AR(1) (regime_noise) */
	double slope_cost; /* what a line's slope costs over a level: ln n */
	size_t n, min_len;
};

/* Which regime model a series gets, from its day-to-day differences: the
 * lag-1 autocorrelation of the differences (around their mean) is about 0
 * for a random walk or a drift, whose next value starts from the last one
 * (AR(1) regimes), and about -0.5 for independent noise around a level or
 * a smooth path, where a high point is followed by a fall back (level or
 * line regimes: an AR(1) fit there takes a steady trend for a run of
 * changes). The boundary is the midpoint, -0.25. A level shift or a spike
 * moves a few differences only. Returns the autocorrelation (0 when the
 * differences are constant). */
#define REGIME_NOISE_R1 (-0.25)
static double regime_noise(const double *y, size_t n)
{
	if (n < 3)
		return 0;
	double dm = (y[n - 1] - y[0]) / (double)(n - 1), c0 = 0, c1 = 0, prev = 0;
	for (size_t i = 1; i < n; i++) {
		double d = y[i] - y[i - 1] - dm;
		c0 += d * d;
		if (i > 1)
			c1 += d * prev;
		prev = d;
	}
	return c0 > 0 ? c1 / c0 : 0;
}

/* The cost of [a, b) as a level or a line in time, the cheaper one: m
 * ln(variance around the level), or m ln(variance around the line) plus
 * the slope's cost (BIC: one more parameter, ln n). A pure level shift is
 * then two levels, not a line through the step. */
static double line_cost(const struct regimes *r, size_t a, size_t b)
{
	const double *A = r->sum + a * RS_N, *B = r->sum + b * RS_N;
	double m = (double)(b - a);
	double st = B[RS_T] - A[RS_T], stt = B[RS_TT] - A[RS_TT], sy = B[RS_Y] - A[RS_Y];
	double sty = B[RS_TY] - A[RS_TY], syy = B[RS_YY] - A[RS_YY];
	double vt = stt - st * st / m, cty = sty - st * sy / m, vy = syy - sy * sy / m;
	double var_level = vy / m, var_line = var_level;
	if (vt > 0)
		var_line = (vy - cty * cty / vt) / m;
	if (!(var_level > r->var_floor))
		var_level = r->var_floor;
	if (!(var_line > r->var_floor))
		var_line = r->var_floor;
	double level = m * log(var_level), line = m * log(var_line) + r->slope_cost;
	return level < line ? level : line;
}

/* -2 log-likelihood (up to constants) of the span [a, b): its length times
 * the log of the residual variance of the least-squares fit (plus, for a
 * line, its slope's cost). */
static double regime_cost(const struct regimes *r, size_t a, size_t b)
{
	if (r->lines)
		return line_cost(r, a, b);
	/* the transitions inside the span: points a + 1 .. b - 1 on their
	 * predecessors; the first point gets the span's variance, not a residual
	 * (its predecessor belongs to the regime before) */
	const double *A = r->sum + (a + 1) * RS_N, *B = r->sum + b * RS_N;
	double m = (double)(b - a - 1);
	double sp = B[RS_P] - A[RS_P], spp = B[RS_PP] - A[RS_PP], sy = B[RS_Y] - A[RS_Y];
	double spy = B[RS_PY] - A[RS_PY], syy = B[RS_YY] - A[RS_YY];
	double vp = spp - sp * sp / m, cpy = spy - sp * sy / m, vy = syy - sy * sy / m;
	double sse = vy;
	if (vp > 1e-12 * (spp + 1e-300))
		sse -= cpy * cpy / vp;
	double var = sse / m;
	if (!(var > r->var_floor))
		var = r->var_floor;
	return (double)(b - a) * log(var);
}

/* The best split of [a, b): *at and the gain; gain -INFINITY when the span is
 * too short to split. */
static double regime_split(const struct regimes *r, size_t a, size_t b, size_t *at)
{
	double best = -INFINITY;
	if (b - a < 2 * r->min_len)
		return best;
	double whole = regime_cost(r, a, b);
	for (size_t t = a + r->min_len; t + r->min_len <= b; t++) {
		double g = whole - regime_cost(r, a, t) - regime_cost(r, t, b);
		/* an exact tie (noise-free data, both sides at the variance floor)
		 * goes to the larger step into the new regime */
		if (g > best || (g == best && fabs(r->y[t] - r->y[t - 1]) >
		                                  fabs(r->y[*at] - r->y[*at - 1]))) {
			best = g;
			*at = t;
		}
	}
	return best;
}

static int cmp_regime(const void *x, const void *y)
{
	const struct pb_regime_change *a = x, *b = y;
	return (a->at > b->at) - (a->at < b->at);
}

/* Puts the k-th smallest of a[0..n) at a[k], smaller ones before it and
 * larger ones after (quickselect, middle pivot); O(n) expected. */
static void select_kth(double *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		double pivot = a[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				double t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

/* Median of tmp[0..n) (reorders it); 0 when n is 0. */
static double median_of(double *tmp, size_t n)
{
	if (!n)
		return 0;
	select_kth(tmp, n, n / 2);
	double hi = tmp[n / 2];
	if (n % 2)
		return hi;
	double lo = tmp[0]; /* the largest of the lower half */
	for (size_t i = 1; i < n / 2; i++)
		if (tmp[i] > lo)
			lo = tmp[i];
	return (lo + hi) / 2;
}

/* Median level of the points [a, b), and median step per point over them. */
static double level_of(const struct pb_point *p, size_t a, size_t b, double *tmp)
{
	for (size_t i = a; i < b; i++)
		tmp[i - a] = p[i].v;
	return median_of(tmp, b - a);
}

static double step_of(const struct pb_point *p, size_t a, size_t b, double *tmp)
{
	size_t m = 0;
	for (size_t i = a + 1; i < b; i++)
		tmp[m++] = p[i].v - p[i - 1].v;
	return median_of(tmp, m);
}

/* Takes a pattern of `period` points out of v[0..n) in place: the effect of
 * each phase is the median, over the periods, of the value less the mean of
 * the `period` points around it (a level shift or a ramp moves that mean
 * with the series, so it stays out of the effects); the effects, centred to
 * sum 0, are subtracted. A point's phase is phase[i] (< period), or i %
 * period when phase is NULL. Needs three periods (else leaves v alone); tmp
 * holds 2 n doubles. O(n) expected with phase NULL, O(n period) with it. */
void pb__deseason(double *v, size_t n, size_t period, const unsigned char *phase, double *tmp)
{
	const size_t P = period, H = P / 2;
	if (P < 2 || P > PB__DESEASON_MAX || n < 3 * P)
		return;
	double eff[PB__DESEASON_MAX], win = 0, mean = 0, *dev = tmp, *day = tmp + n;
	for (size_t i = 0; i < P; i++)
		win += v[i];
	/* dev[k] is point H + k, whose window [k, k + P) is inside the series */
	size_t m = 0;
	for (size_t i = H; i + P - H <= n; i++) {
		dev[m++] = v[i] - win / (double)P;
		if (i + P - H < n)
			win += v[i + P - H] - v[i - H];
	}
	for (size_t j = 0; j < P; j++) {
		size_t c = 0;
		if (!phase) {
			for (size_t k = (j + P - H) % P; k < m; k += P)
				day[c++] = dev[k];
		} else {
			for (size_t k = 0; k < m; k++)
				if (phase[H + k] == j)
					day[c++] = dev[k];
		}
		eff[j] = c ? median_of(day, c) : 0;
		mean += eff[j] / (double)P;
	}
	for (size_t i = 0; i < n; i++)
		v[i] -= eff[phase ? phase[i] : i % P] - mean;
}

/* Whether pts is a monthly series: the median step between points is 27 to
 * 32 days. tmp holds n doubles. O(n). */
static bool monthly(const struct pb_point *pts, size_t n, double *tmp)
{
	if (n < 2)
		return false;
	for (size_t i = 1; i < n; i++)
		tmp[i - 1] = (double)(pts[i].t - pts[i - 1].t);
	double step = median_of(tmp, n - 1);
	return step >= 27 * 86400.0 && step <= 32 * 86400.0;
}

/* Takes a monthly series' yearly pattern out of y (pts' values, scaled).
 * Each point's phase is the number of mean months (365.2425 / 12 days) since
 * the first point, rounded, modulo 12: a missing month does not shift the
 * rest, and stamps on the 1st, the 15th or the last day of each month all
 * count one a month. tmp holds 2 n doubles. */
static enum pb_status deseason_yearly(const struct pb_point *pts, double *y, size_t n, double *tmp)
{
	if (n < 36 || !monthly(pts, n, tmp))
		return PB_OK;
	unsigned char *month = malloc(n);
	if (!month)
		return PB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		double k = fmod(floor(((double)pts[i].t - (double)pts[0].t) / 2629746.0 + 0.5), 12);
		month[i] = (unsigned char)(k >= 0 ? k : k + 12); /* times in order: k >= 0 */
	}
	pb__deseason(y, n, 12, month, tmp);
	free(month);
	return PB_OK;
}

#define REGIME_EDGE 7 /* points on each side that make the level around a change */

/* Fills what a reader needs: the levels on each side of the change (medians
 * of up to REGIME_EDGE points), the median step per point of the regimes on
 * each side, and the kind: a spike when the first point is far off and the
 * series then returns to the level before, a trend change when the change of
 * step over the shorter regime moves the series more than the jump, else a
 * level shift. */
static void describe_regime(const struct pb_point *p, struct pb_regime_change *c, size_t lo,
                            size_t hi, double *tmp)
{
	size_t at = c->at;
	size_t k = REGIME_EDGE;
	c->t = p[at].t;
	c->before = level_of(p, at >= lo + k ? at - k : lo, at, tmp);
	c->after = level_of(p, at, at + k <= hi ? at + k : hi, tmp);
	c->slope_before = step_of(p, lo, at, tmp);
	c->slope_after = step_of(p, at, hi, tmp);
	double jump = fabs(c->after - c->before);
	size_t len = at - lo < hi - at ? at - lo : hi - at;
	double turn = fabs(c->slope_after - c->slope_before) * (double)len;
	if (jump < 0.5 * fabs(p[at].v - c->before))
		c->kind = PB_CHANGE_SPIKE;
	else if (turn > 2 * jump)
		c->kind = PB_CHANGE_TREND;
	else
		c->kind = PB_CHANGE_SHIFT;
}

enum pb_status pb_detect_regimes(const struct pb_detect_config *cfg, const struct pb_point *pts,
                                 size_t n, struct pb_regime_change **changes, size_t *nchanges,
                                 struct pb_error *err)
{
	struct pb_detect_config def;
	struct regimes r = { 0 };
	struct pb_regime_change *out = NULL;
	size_t (*todo)[2] = NULL;
	size_t count = 0, cap = 0, ntodo = 0;
	double *y = NULL;
	enum pb_status st;
	*changes = NULL;
	*nchanges = 0;
	if (!cfg) {
		pb_detect_config_init(&def);
		cfg = &def;
	}
	if ((st = pb_detect_config_check(cfg, err)) != PB_OK)
		return st;
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(pts[i].v))
			return pb__err(err, PB_EINVAL, "point %zu: value is not a finite number", i);
		mean += pts[i].v;
	}
	if (n < 2 * (size_t)cfg->regime_min_len)
		return PB_OK;
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (pts[i].v - mean) * (pts[i].v - mean);
	var /= (double)n;
	if (!(var > 0))
		return PB_OK; /* a constant series has one regime */
	double sd = sqrt(var);
	y = malloc(n * sizeof(*y));
	r.sum = calloc((n + 1) * RS_N, sizeof(*r.sum));
	todo = malloc(n * sizeof(*todo));
	if (!y || !r.sum || !todo)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		y[i] = (pts[i].v - mean) / sd;
	/* a monthly series' yearly pattern is not a change (todo, 2 n words, is
	 * scratch until the search) */
	if (deseason_yearly(pts, y, n, (double *)todo) != PB_OK)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		double pv = i ? y[i - 1] : y[0], v = y[i];
		double t = (double)i / (double)n;
		const double add[RS_N] = { pv, pv * pv, v, pv * v, v * v, t, t * t, t * v };
		for (int j = 0; j < RS_N; j++)
			r.sum[(i + 1) * RS_N + j] = r.sum[i * RS_N + j] + add[j];
	}
	r.y = y;
	r.n = n;
	r.min_len = cfg->regime_min_len;
	r.var_floor = 1e-4; /* of the whole series' variance (1 after scaling) */
	const double r1 = regime_noise(y, n);
	r.lines = r1 < REGIME_NOISE_R1;
	r.slope_cost = log((double)n);
	/* the penalty is per split, and a split of levels or lines adds one
	 * parameter fewer than one of AR(1) regimes (3 against 4) */
	const double threshold =
		cfg->regime_penalty * (r.lines ? cfg->regime_level_share : 1) * log((double)n);
	todo[ntodo][0] = 0;
	todo[ntodo][1] = n;
	ntodo++;
	while (ntodo) {
		ntodo--;
		size_t a = todo[ntodo][0], b = todo[ntodo][1], at = 0;
		double gain = regime_split(&r, a, b, &at);
		if (!(gain > threshold))
			continue;
		if (count == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct pb_regime_change *v = realloc(out, nc * sizeof(*v));
			if (!v)
				goto nomem;
			out = v;
			cap = nc;
		}
		struct pb_regime_change *c = &out[count++];
		memset(c, 0, sizeof(*c));
		c->at = at;
		c->gain = gain;
		c->threshold = threshold;
		c->from = a;
		c->to = b;
		c->lines = r.lines;
		c->noise_r1 = r1;
		/* each split adds one span net: at most n / min_len spans wait */
		todo[ntodo][0] = a;
		todo[ntodo][1] = at;
		todo[ntodo + 1][0] = at;
		todo[ntodo + 1][1] = b;
		ntodo += 2;
	}
	if (count)
		qsort(out, count, sizeof(*out), cmp_regime);
	for (size_t k = 0; k < count; k++) /* y is free for scratch now */
		describe_regime(pts, &out[k], k ? out[k - 1].at : 0, k + 1 < count ? out[k + 1].at : n, y);
	free(y);
	free(r.sum);
	free(todo);
	*changes = out;
	*nchanges = count;
	return PB_OK;
nomem:
	free(y);
	free(r.sum);
	free(todo);
	free(out);
	return pb__err(err, PB_ENOMEM, "out of memory for regimes of %zu points", n);
}

/* ---- regime bands ------------------------------------------------------------ */

/* The least-squares fit y[i] = a + b y[i-1] over the transitions of [from,
 * to) (points from + 1 .. to - 1), and its residual standard deviation
 * (at least sd_floor). A regime too short to fit predicts its mean. */
struct regime_fit {
	double a, b, sd;
};

static struct regime_fit regime_fit(const struct pb_point *p, size_t from, size_t to,
                                    double sd_floor)
{
	struct regime_fit f = { 0, 0, sd_floor };
	double m = 0, sp = 0, sy = 0, spp = 0, spy = 0, syy = 0;
	for (size_t i = from + 1; i < to; i++) {
		double x = p[i - 1].v, y = p[i].v;
		m++;
		sp += x;
		sy += y;
		spp += x * x;
		spy += x * y;
		syy += y * y;
	}
	if (m < 1) {
		f.a = p[from].v;
		return f;
	}
	double vp = spp - sp * sp / m, cpy = spy - sp * sy / m, vy = syy - sy * sy / m;
	if (vp > 1e-12 * (spp + 1e-300))
		f.b = cpy / vp;
	f.a = (sy - f.b * sp) / m;
	double sse = vy - f.b * cpy;
	double sd = sse > 0 ? sqrt(sse / m) : 0;
	f.sd = sd > sd_floor ? sd : sd_floor;
	return f;
}

enum pb_status pb_detect_regime_bands(const struct pb_point *pts, size_t n,
                                      const struct pb_regime_change *rg, size_t nrg,
                                      struct pb_regime_band *out, struct pb_error *err)
{
	for (size_t k = 0; k < nrg; k++)
		if (rg[k].at == 0 || rg[k].at >= n || (k && rg[k].at <= rg[k - 1].at))
			return pb__err(err, PB_EINVAL,
			               "regime change %zu is not inside the series of %zu points", k + 1, n);
	/* the variance floor of pb_detect_regimes: 1e-4 of the series' variance */
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++)
		mean += pts[i].v;
	mean /= n ? (double)n : 1;
	for (size_t i = 0; i < n; i++)
		var += (pts[i].v - mean) * (pts[i].v - mean);
	var /= n ? (double)n : 1;
	const double sd_floor = sqrt(1e-4 * var);
	struct regime_fit prev = { 0, 0, 0 };
	for (size_t r = 0; r <= nrg; r++) {
		size_t from = r ? rg[r - 1].at : 0, to = r < nrg ? rg[r].at : n;
		struct regime_fit f = regime_fit(pts, from, to, sd_floor);
		for (size_t i = from; i < to; i++) {
			struct pb_regime_band *b = &out[i];
			b->change = 0;
			if (i == 0) {
				b->expected = b->lower = b->upper = NAN;
				continue;
			}
			const struct regime_fit *use = i == from ? &prev : &f;
			b->expected = use->a + use->b * pts[i - 1].v;
			b->lower = b->expected - PB_REGIME_BAND_SD * use->sd;
			b->upper = b->expected + PB_REGIME_BAND_SD * use->sd;
		}
		if (r) {
			/* the change's points: its first, and for a spike the ones
			 * after it still outside the bands of the regime before */
			const struct pb_regime_change *c = &rg[r - 1];
			out[from].change = r;
			for (size_t i = from + 1; c->kind == PB_CHANGE_SPIKE && i < to; i++) {
				if (fabs(pts[i].v - c->before) <= PB_REGIME_BAND_SD * prev.sd)
					break;
				out[i].change = r;
			}
		}
		prev = f;
	}
	return PB_OK;
}

/* ---- drivers -------------------------------------------------------------- */

static int driver_cmp(const void *x, const void *y, int dir)
{
	const struct pb_driver *a = x, *b = y;
	double ca = dir * a->delta, cb = dir * b->delta;
	if (ca != cb)
		return ca > cb ? -1 : 1;
	return (a->component > b->component) - (a->component < b->component);
}

static int driver_cmp_up(const void *x, const void *y)
{
	return driver_cmp(x, y, 1);
}

static int driver_cmp_down(const void *x, const void *y)
{
	return driver_cmp(x, y, -1);
}

enum pb_status pb_detect_drivers(const struct pb_change *ch, const struct pb_detect_component *comps,
                                 size_t ncomp, size_t n, struct pb_driver *out,
                                 struct pb_error *err)
{
	if (ch->base_from >= ch->base_to)
		return pb__err(err, PB_EINVAL, "the change has no baseline points to compare with");
	if (ch->base_to > n || ch->start > ch->end || ch->end >= n)
		return pb__err(err, PB_EINVAL, "the change's points are not inside the series of %zu points",
		               n);
	double total = 0;
	for (size_t c = 0; c < ncomp; c++) {
		double sb = 0, sa = 0;
		if (!comps[c].values)
			return pb__err(err, PB_EINVAL, "component %zu has no values", c);
		for (size_t i = ch->base_from; i < ch->base_to; i++)
			sb += comps[c].values[i];
		for (size_t i = ch->start; i <= ch->end; i++)
			sa += comps[c].values[i];
		if (!isfinite(sb) || !isfinite(sa))
			return pb__err(err, PB_EINVAL, "component '%s' has a value that is not finite",
			               comps[c].name ? comps[c].name : "?");
		out[c].component = c;
		out[c].expected = sb / (double)(ch->base_to - ch->base_from);
		out[c].actual = sa / (double)(ch->end - ch->start + 1);
		out[c].delta = out[c].actual - out[c].expected;
		total += out[c].delta;
	}
	for (size_t c = 0; c < ncomp; c++)
		out[c].share = total != 0 ? out[c].delta / total : 0;
	qsort(out, ncomp, sizeof(*out), ch->direction >= 0 ? driver_cmp_up : driver_cmp_down);
	return PB_OK;
}

/* ---- series tables from CSV ------------------------------------------------- */

struct csv_in {
	const char *p, *end;
	const char *file;
	uint64_t line;       /* line of the current field's start */
	uint32_t col;        /* 1-based field number in the record */
	char field[PB_SERIES_MAX_FIELD + 1];
	size_t flen;
};

enum field_end { FIELD_MORE, FIELD_LAST, FIELD_NONE };

/* Reads the next field into in->field. *how says whether the record goes on,
 * ended with this field, or there was nothing left (end of input). */
static enum pb_status csv_field(struct csv_in *in, enum field_end *how, struct pb_error *err)
{
	in->flen = 0;
	if (in->p >= in->end) {
		*how = FIELD_NONE;
		return PB_OK;
	}
	bool quoted = *in->p == '"';
	if (quoted)
		in->p++;
	for (;;) {
		if (in->p >= in->end) {
			if (quoted)
				return pb__err_at(err, PB_EFORMAT, in->file, in->line, in->col,
				                  "a quoted field is not closed");
			*how = FIELD_LAST;
			break;
		}
		char c = *in->p;
		if (quoted && c == '"') {
			if (in->p + 1 < in->end && in->p[1] == '"') {
				in->p++;
			} else {
				in->p++;
				quoted = false;
				if (in->p < in->end && *in->p != ',' && *in->p != '\n' && *in->p != '\r')
					return pb__err_at(err, PB_EFORMAT, in->file, in->line, in->col,
					                  "text after a closing quote");
				continue;
			}
		} else if (!quoted && c == ',') {
			in->p++;
			*how = FIELD_MORE;
			break;
		} else if (!quoted && (c == '\n' || c == '\r')) {
			if (c == '\r' && (in->p + 1 >= in->end || in->p[1] != '\n'))
				return pb__err_at(err, PB_EFORMAT, in->file, in->line, in->col,
				                  "a carriage return without a line feed");
			in->p += c == '\r' ? 2 : 1;
			*how = FIELD_LAST;
			break;
		} else if (!quoted && c == '"') {
			return pb__err_at(err, PB_EFORMAT, in->file, in->line, in->col,
			                  "a quote inside an unquoted field");
		} else if (c == '\n') {
			in->line++; /* inside quotes */
		}
		if (in->flen == PB_SERIES_MAX_FIELD)
			return pb__err_at(err, PB_ELIMIT, in->file, in->line, in->col,
			                  "a field is longer than %d bytes", PB_SERIES_MAX_FIELD);
		in->field[in->flen++] = *in->p++;
	}
	in->field[in->flen] = '\0';
	return PB_OK;
}

/* A decimal number as CSV exports write it: [-+]digits[.digits][e[-+]digits]
 * (also ".5"); no hex, no inf or nan. */
static bool parse_number(const char *s, size_t n, double *out)
{
	size_t i = 0, digits = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
	}
	if (!digits)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			ed++;
		}
		if (!ed)
			return false;
	}
	if (i != n)
		return false;
	char *end;
	double v = strtod(s, &end);
	if (end != s + n || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* The median step between rows (ties to the lower middle) and the number of
 * steps longer than 1.5 times it: the gaps. Repeated times are not steps. */
static enum pb_status count_gaps(struct pb_series_table *t)
{
	size_t m = 0;
	int64_t *st = malloc((t->n > 1 ? t->n - 1 : 1) * sizeof(*st));
	if (!st)
		return PB_ENOMEM;
	for (size_t i = 1; i < t->n; i++)
		if (t->times[i] > t->times[i - 1])
			st[m++] = t->times[i] - t->times[i - 1];
	t->step = 0;
	t->gaps = 0;
	if (m) {
		qsort(st, m, sizeof(*st), cmp_i64);
		t->step = st[(m - 1) / 2];
		for (size_t i = 0; i < m; i++)
			t->gaps += 2 * st[i] > 3 * t->step;
	}
	free(st);
	return PB_OK;
}

void pb_series_table_release(struct pb_series_table *t)
{
	if (!t)
		return;
	for (size_t c = 0; c < t->ncols; c++)
		free(t->names ? t->names[c] : NULL);
	free(t->names);
	free(t->times);
	free(t->values);
	free(t->total);
	memset(t, 0, sizeof(*t));
}

/* The header of a series table: a time column, then the value columns'
 * names into out->names. */
static enum pb_status read_header(struct csv_in *in, struct pb_series_table *out,
                                  struct pb_error *err)
{
	enum field_end how = FIELD_MORE;
	enum pb_status st;
	size_t ncap = 0;
	while (how == FIELD_MORE) {
		st = csv_field(in, &how, err);
		if (st != PB_OK)
			return st;
		if (how == FIELD_NONE)
			break;
		if (in->col == 1) {
			in->col++;
			continue; /* the time column's name does not matter */
		}
		if (out->ncols == PB_SERIES_MAX_COLS) {
			st = pb__err_at(err, PB_ELIMIT, in->file, in->line, in->col,
			                "more than %d value columns", PB_SERIES_MAX_COLS);
			return st;
		}
		if (!pb_utf8_valid(in->field, in->flen, NULL)) {
			st = pb__err_at(err, PB_EFORMAT, in->file, in->line, in->col,
			                "the column name is not UTF-8");
			return st;
		}
		if (out->ncols == ncap) {
			ncap = ncap ? 2 * ncap : 8;
			char **nn = realloc(out->names, ncap * sizeof(*nn));
			if (!nn)
				return pb__err(err, PB_ENOMEM, "out of memory reading '%s'", in->file);
			out->names = nn;
		}
		out->names[out->ncols] = pb__strndup(in->field, in->flen);
		if (!out->names[out->ncols])
			return pb__err(err, PB_ENOMEM, "out of memory reading '%s'", in->file);
		out->ncols++;
		in->col++;
	}
	if (out->ncols == 0) {
		st = pb__err_at(err, PB_EFORMAT, in->file, 1, 0,
		                "the header needs a time column and at least one value column");
		return st;
	}
	return PB_OK;
}

enum pb_status pb_series_table_parse(const char *data, size_t len, const char *file,
                                     struct pb_series_table *out, struct pb_error *err)
{
	struct csv_in in = { data, data + len, file ? file : "", 1, 1, { 0 }, 0 };
	double *rows = NULL; /* row-major while reading */
	size_t cap = 0;
	enum field_end how;
	enum pb_status st;
	memset(out, 0, sizeof(*out));
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		in.p += 3; /* a byte order mark */

	/* header */
	if ((st = read_header(&in, out, err)))
		goto fail;

	/* rows */
	const size_t w = out->ncols;
	for (;;) {
		in.line++;
		in.col = 1;
		int64_t t = 0;
		size_t got = 0;
		how = FIELD_MORE;
		while (how == FIELD_MORE) {
			st = csv_field(&in, &how, err);
			if (st != PB_OK)
				goto fail;
			if (how == FIELD_NONE)
				break;
			if (got == 0 && how == FIELD_LAST && in.flen == 0)
				break; /* an empty line */
			if (got == w + 1) {
				st = pb__err_at(err, PB_EFORMAT, in.file, in.line, in.col,
				                "more fields than the header's %zu", w + 1);
				goto fail;
			}
			if (got == 0) {
				if (out->n == PB_SERIES_MAX_ROWS || (out->n + 1) * w > PB_SERIES_MAX_CELLS) {
					st = pb__err_at(err, PB_ELIMIT, in.file, in.line, 0,
					                "more than %u rows or %u cells", PB_SERIES_MAX_ROWS,
					                PB_SERIES_MAX_CELLS);
					goto fail;
				}
				if (out->n == cap) {
					size_t nc = cap ? 2 * cap : 256;
					double *nr = realloc(rows, nc * w * sizeof(*nr));
					int64_t *nt = realloc(out->times, nc * sizeof(*nt));
					if (nr)
						rows = nr;
					if (nt)
						out->times = nt;
					if (!nr || !nt)
						goto nomem;
					cap = nc;
				}
				if (!pb_time_parse(in.field, in.flen, &t, NULL)) {
					st = pb__err_at(err, PB_EFORMAT, in.file, in.line, in.col,
					                "'%.40s' is not a date or time", in.field);
					goto fail;
				}
				if (out->n > 0 && t <= out->times[out->n - 1]) {
					if (t < out->times[out->n - 1]) {
						t = out->times[out->n - 1]; /* keep order, clamp */
						out->clamped++;
					} else {
						out->repeated++;
					}
				}
			} else {
				double v = 0;
				if (in.flen > 0 && !parse_number(in.field, in.flen, &v)) {
					st = pb__err_at(err, PB_EFORMAT, in.file, in.line, in.col,
					                "'%.40s' is not a number", in.field);
					goto fail;
				}
				rows[out->n * w + got - 1] = v;
			}
			got++;
			in.col++;
		}
		if (how == FIELD_NONE && got == 0)
			break;
		if (got == 0)
			continue;
		if (got != w + 1) {
			st = pb__err_at(err, PB_EFORMAT, in.file, in.line, (uint32_t)got,
			                "%zu fields, the header has %zu", got, w + 1);
			goto fail;
		}
		out->times[out->n++] = t;
		if (how == FIELD_NONE)
			break;
	}
	if (out->n == 0) {
		st = pb__err_at(err, PB_EINVAL, in.file, 0, 0, "no rows after the header");
		goto fail;
	}

	out->values = malloc(out->n * w * sizeof(*out->values));
	out->total = malloc(out->n * sizeof(*out->total));
	if (!out->values || !out->total)
		goto nomem;
	if (count_gaps(out) != PB_OK)
		goto nomem;
	for (size_t i = 0; i < out->n; i++) {
		double sum = 0;
		for (size_t c = 0; c < w; c++) {
			out->values[c * out->n + i] = rows[i * w + c];
			sum += rows[i * w + c];
		}
		if (!isfinite(sum)) {
			st = pb__err_at(err, PB_EFORMAT, in.file, 0, 0, "row %zu sums to more than a double holds",
			                i + 1);
			goto fail;
		}
		out->total[i].t = out->times[i];
		out->total[i].v = sum;
	}
	free(rows);
	return PB_OK;
nomem:
	st = pb__err(err, PB_ENOMEM, "out of memory reading '%s'", in.file);
fail:
	free(rows);
	return st;
}
