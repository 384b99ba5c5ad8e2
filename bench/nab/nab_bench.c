/* nab_bench.c - probity's change detector on the Numenta Anomaly Benchmark.
 *
 * Runs pb_detect_series with one configuration over every NAB series, scores
 * the per-point output with NAB's rules (nab.c), and times the detector
 * against a peer run in the same process on the same points: NAB's own
 * windowed-Gaussian baseline (a z-score against the mean and deviation of the
 * previous 6400 points, refreshed every 100 points), written here in C.
 *
 * usage: nab_bench [--nab DIR] [--runs N] [--json FILE] [--set NAME=VALUE]... [--loco]
 *        [--per-file] [--trace NAME]
 *        (--loco: leave one category out, the out-of-sample score;
 *         --trace: what the detector did around each window of the files
 *         whose name contains NAME)
 *        nab_bench --results DETECTOR [--nab DIR]   score NAB's published
 *                                                   per-row results
 */
#include "detect_set.h"
#include "nab.h"
#include "probity.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* NAB's windowed Gaussian, from its description: the score of a point is
 * 1 - Q(|z|) where z is its distance from the window mean in standard
 * deviations; the window holds up to 6400 earlier points and is refreshed
 * every 100 points once full. */
static void windowed_gaussian(const double *v, size_t n, double *score)
{
	const size_t wsize = 6400, step = 100;
	double sum = 0, sq = 0, mean = 0, sd = 1;
	size_t have = 0;  /* points in the window */
	size_t wstart = 0; /* first point of the window */
	size_t pending = 0;
	for (size_t i = 0; i < n; i++) {
		double a = 0;
		if (have > 0) {
			double z = fabs(v[i] - mean) / sd;
			a = 1 - 0.5 * erfc(z / sqrt(2.0));
		}
		score[i] = a;
		if (have < wsize) {
			sum += v[i];
			sq += v[i] * v[i];
			have++;
		} else if (++pending == step) {
			for (size_t j = 0; j < step; j++) {
				double o = v[wstart + j], x = v[wstart + wsize + j];
				sum += x - o;
				sq += x * x - o * o;
			}
			wstart += step;
			pending = 0;
		} else {
			continue;
		}
		mean = sum / (double)have;
		double var = sq / (double)have - mean * mean;
		sd = var > 0 ? sqrt(var) : 0;
		if (sd == 0)
			sd = 0.000001;
	}
}

/* Scores every file with one configuration into sc[i]. */
static int run_all(const struct nab_corpus *c, struct pb_point **pts,
                   const struct pb_detect_config *cfg, double **sc)
{
	struct pb_error err = { 0 };
	for (size_t i = 0; i < c->nfiles; i++) {
		struct pb_change *chg;
		size_t nc;
		if (pb_detect_series(cfg, pts[i], c->files[i].n, &chg, &nc, sc[i], &err) != PB_OK) {
			fprintf(stderr, "nab_bench: %s: %s\n", c->files[i].name, err.message);
			return 1;
		}
		free(chg);
	}
	return 0;
}

static size_t category_len(const char *name)
{
	const char *sl = strchr(name, '/');
	return sl ? (size_t)(sl - name) : strlen(name);
}

/* The files of c in category `cat` (in == true) or not in it, with their
 * scores, as a corpus of their own. */
static void sub_corpus(const struct nab_corpus *c, double **sc, const char *cat, size_t len,
                       bool in, struct nab_corpus *out, double **osc)
{
	out->nfiles = 0;
	out->nwindows = 0;
	for (size_t i = 0; i < c->nfiles; i++) {
		const char *nm = c->files[i].name;
		bool same = category_len(nm) == len && !strncmp(nm, cat, len);
		if (same != in)
			continue;
		out->files[out->nfiles] = c->files[i];
		osc[out->nfiles++] = sc[i];
		out->nwindows += c->files[i].nwin;
	}
}

/* The thresholds on a grid of round ratios (score = ratio / (1 + ratio)):
 * records a few per mille apart are the same news, so a threshold chosen on
 * some categories should not fall between two of them. */
static const double round_ratios[] = { 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0 };
#define NROUND (sizeof(round_ratios) / sizeof(round_ratios[0]))

/* The best of the round-ratio thresholds on corpus c (a detection is a score
 * strictly above the ratio's; exact ties go to the higher threshold). */
static struct nab_result round_sweep(const struct nab_corpus *c, double *const *sc,
                                     const struct nab_profile *p)
{
	struct nab_result best = { 1.1, 0, -INFINITY };
	for (size_t k = NROUND; k-- > 0;) {
		double thr = nextafter(round_ratios[k] / (1 + round_ratios[k]), 2.0);
		struct nab_result r = nab_corpus_score(c, sc, thr, p);
		if (r.normalised > best.normalised + 1e-9)
			best = r;
	}
	return best;
}

/* Leave one category out (standard profile): for each category with
 * windows, the setting (a grid over window and hold around the defaults) and
 * the threshold that score best on the other categories, swept as NAB does
 * (every distinct score) and over round ratios only, score the left-out
 * category. Prints each category's out-of-sample scores, the default
 * configuration's at its own threshold (ratio > 1: nothing chosen) and the
 * in-sample default's beside, and the means. */
static int leave_one_category_out(const struct nab_corpus *c, struct pb_point **pts,
                                  const struct pb_detect_config *base)
{
	/* around the base setting: 350/700/1400 x 15/25/40 at the defaults */
	const uint32_t windows[] = { base->window / 2 < 8 ? 8 : base->window / 2, base->window,
		                     base->window * 2 };
	const uint32_t holds[] = { base->hold * 3 / 5, base->hold, base->hold * 8 / 5 };
	enum { NW = 3, NH = 3, NG = NW * NH };
	const struct nab_profile *std = &nab_profiles[0];
	double **sc[NG];
	int rc = 1, gdef = -1;
	struct nab_corpus rest = { 0 }, left = { 0 };
	double **rsc = calloc(c->nfiles, sizeof(*rsc)), **lsc = calloc(c->nfiles, sizeof(*lsc));
	rest.files = calloc(c->nfiles, sizeof(*rest.files));
	left.files = calloc(c->nfiles, sizeof(*left.files));
	memset(sc, 0, sizeof(sc));
	if (!rsc || !lsc || !rest.files || !left.files)
		goto out;
	for (int g = 0; g < NG; g++) {
		struct pb_detect_config cfg = *base;
		cfg.window = windows[g / NH];
		cfg.hold = holds[g % NH];
		if (g == NG / 2)
			gdef = g; /* the base setting itself */
		sc[g] = calloc(c->nfiles, sizeof(double *));
		if (!sc[g])
			goto out;
		for (size_t i = 0; i < c->nfiles; i++)
			if (!(sc[g][i] = malloc(c->files[i].n * sizeof(double))))
				goto out;
		if (run_all(c, pts, &cfg, sc[g]) != 0)
			goto out;
	}
	double sum = 0, sum_def = 0, sum_round = 0, sum_at_def = 0;
	const double thr_def = nextafter(base->min_ratio / (1 + base->min_ratio), 2.0);
	int ncat = 0;
	printf("nab leave one category out (standard; window %u/%u/%u x hold %u/%u/%u and the "
	       "threshold chosen on the other categories):\n",
	       windows[0], windows[1], windows[2], holds[0], holds[1], holds[2]);
	for (size_t i = 0; i < c->nfiles; i++) {
		const char *nm = c->files[i].name;
		size_t len = category_len(nm);
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = category_len(c->files[j].name) == len && !strncmp(c->files[j].name, nm, len);
		if (seen)
			continue;
		int best = 0, bestq = 0;
		struct nab_result br = { 0, 0, -INFINITY }, bq = br;
		for (int g = 0; g < NG; g++) {
			sub_corpus(c, sc[g], nm, len, false, &rest, rsc);
			struct nab_result r = nab_sweep(&rest, rsc, std);
			if (r.normalised > br.normalised + 1e-9) {
				br = r;
				best = g;
			}
			r = round_sweep(&rest, rsc, std);
			if (r.normalised > bq.normalised + 1e-9) {
				bq = r;
				bestq = g;
			}
		}
		sub_corpus(c, sc[best], nm, len, true, &left, lsc);
		if (left.nwindows == 0) {
			size_t fp = 0;
			for (size_t f = 0; f < left.nfiles; f++)
				for (size_t j = nab_probation(left.files[f].n); j < left.files[f].n; j++)
					fp += lsc[f][j] >= br.threshold;
			printf("  %-22.*s no windows: %zu false alarms (window %u, hold %u)\n", (int)len, nm,
			       fp, windows[best / NH], holds[best % NH]);
			continue;
		}
		double out_score = nab_corpus_score(&left, lsc, br.threshold, std).normalised;
		sub_corpus(c, sc[bestq], nm, len, true, &left, lsc);
		double out_round = nab_corpus_score(&left, lsc, bq.threshold, std).normalised;
		double bq_ratio = bq.threshold / (1 - bq.threshold);
		/* the default configuration at its own threshold: nothing chosen */
		sub_corpus(c, sc[gdef], nm, len, true, &left, lsc);
		double at_default = nab_corpus_score(&left, lsc, thr_def, std).normalised;
		/* beside: the defaults, threshold swept on the whole corpus (in-sample) */
		struct nab_corpus all = *c;
		struct nab_result whole = nab_sweep(&all, sc[gdef], std);
		sub_corpus(c, sc[gdef], nm, len, true, &left, lsc);
		double in_score = nab_corpus_score(&left, lsc, whole.threshold, std).normalised;
		printf("  %-22.*s %5.1f out of sample (window %u, hold %u, threshold %.4f); round "
		       "ratios %5.1f (window %u, hold %u, ratio %.2f); default threshold %5.1f; "
		       "in-sample defaults %5.1f\n",
		       (int)len, nm, out_score, windows[best / NH], holds[best % NH], br.threshold,
		       out_round, windows[bestq / NH], holds[bestq % NH], bq_ratio, at_default,
		       in_score);
		sum += out_score;
		sum_round += out_round;
		sum_at_def += at_default;
		sum_def += in_score;
		ncat++;
	}
	printf("nab leave-one-category-out standard, mean over %d categories: probity %.1f out of "
	       "sample, %.1f with round-ratio thresholds, %.1f at the default threshold, %.1f "
	       "in-sample (Numenta HTM published 70.5 over all of NAB)\n",
	       ncat, sum / ncat, sum_round / ncat, sum_at_def / ncat, sum_def / ncat);
	rc = 0;
out:
	for (int g = 0; g < NG; g++) {
		for (size_t i = 0; sc[g] && i < c->nfiles; i++)
			free(sc[g][i]);
		free(sc[g]);
	}
	free(rsc);
	free(lsc);
	free(rest.files);
	free(left.files);
	return rc;
}

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
}

/* --trace NAME: for each file whose name contains NAME, what the detector did
 * around its windows (docs/detection.md, "where the misses are"): the
 * windows, every change raised and closed, every row scoring at or above thr
 * with the NAB value of a detection there, and per window the largest ratio
 * any scale reached inside it (also while a change was open), with the point's
 * scale-1 deviation against the largest one in the `memory` points before it
 * (the row that set the point scale's bar). */
static int trace_file(const struct nab_file *f, const struct pb_point *pts,
                      const struct pb_detect_config *cfg, double thr)
{
	struct pb_error err = { 0 };
	struct pb_detector *d = NULL;
	double *ratio = malloc(f->n * sizeof(double)), *score = malloc(f->n * sizeof(double));
	double *dev1 = malloc(f->n * sizeof(double)), *val = malloc(f->n * sizeof(double));
	long *open_id = malloc(f->n * sizeof(long));
	char tb[32], tb2[32];
	long nraised = 0, cur = -1;
	int rc = 1;
	if (!ratio || !score || !dev1 || !val || !open_id)
		goto out;
	if (pb_detector_new(cfg, &d, &err) != PB_OK)
		goto fail;
	nab_row_values(f, &nab_profiles[0], val);
	const size_t prob = nab_probation(f->n);
	printf("trace %s: %zu rows, probation %zu, threshold %.6f (ratio %.4f)\n", f->name, f->n,
	       prob, thr, thr / (1 - thr));
	for (size_t k = 0; k < f->nwin; k++) {
		fmt_time(f->t[f->win[k].start], tb, sizeof(tb));
		fmt_time(f->t[f->win[k].end], tb2, sizeof(tb2));
		printf("  window %zu: rows %zu-%zu, %s to %s\n", k + 1, f->win[k].start, f->win[k].end,
		       tb, tb2);
	}
	for (size_t i = 0; i < f->n; i++) {
		struct pb_detect_step st;
		if (pb_detector_push(d, pts[i].t, pts[i].v, &st, &err) != PB_OK)
			goto fail;
		ratio[i] = st.ratio;
		score[i] = st.score;
		dev1[i] = fabs(pts[i].v - st.expected);
		if (st.closed) {
			const struct pb_change *c = &st.closed_change;
			printf("  closed #%ld at row %zu: %s, rows %zu-%zu\n", cur, i,
			       pb_change_kind_name(c->kind), c->start, c->end);
			cur = -1;
		}
		if (st.raised) {
			const struct pb_change *c = &st.change;
			cur = ++nraised;
			fmt_time(pts[i].t, tb, sizeof(tb));
			printf("  raised #%ld at row %zu (%s): start %zu, scale %u, %s%s%s, ratio %.3f, "
			       "expected %.4g, actual %.4g, %s\n",
			       cur, i, tb, c->start, c->scale,
			       c->seasonal ? "seasonal" : c->fast ? "fast" : "level",
			       c->spread ? " spread" : "", c->own_direction ? " own direction" : "",
			       c->ratio, c->expected, c->actual,
			       c->direction > 0 ? "up" : "down");
		}
		open_id[i] = cur > 0 && !st.raised ? cur : -1;
		if (i >= prob && score[i] >= thr) {
			fmt_time(pts[i].t, tb, sizeof(tb));
			printf("  detection at row %zu (%s): score %.4f, ratio %.3f, NAB value %+.3f\n", i,
			       tb, score[i], ratio[i], val[i]);
		}
	}
	for (size_t k = 0; k < f->nwin; k++) {
		size_t a = f->win[k].start, b = f->win[k].end, at = a;
		for (size_t i = a; i <= b; i++)
			if (ratio[i] > ratio[at])
				at = i;
		/* the largest scale-1 deviation in the memory before `at` */
		size_t from = cfg->memory && at > cfg->memory ? at - cfg->memory : 0, bar = from;
		for (size_t i = from; i < at; i++)
			if (dev1[i] > dev1[bar])
				bar = i;
		fmt_time(pts[at].t, tb, sizeof(tb));
		fmt_time(pts[bar].t, tb2, sizeof(tb2));
		printf("  window %zu: largest ratio %.3f at row %zu (%s)%s", k + 1, ratio[at], at, tb,
		       at < prob ? " in probation" : "");
		if (open_id[at] > 0)
			printf(" while #%ld was open", open_id[at]);
		printf("; scale-1 deviation %.4g, the largest before it %.4g at row %zu (%s)\n",
		       dev1[at], dev1[bar], bar, tb2);
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "nab_bench: %s: %s\n", f->name, err.message);
out:
	pb_detector_free(d);
	free(ratio);
	free(score);
	free(dev1);
	free(val);
	free(open_id);
	return rc;
}

/* Scores NAB's published per-row results of one detector at its stored
 * thresholds and by a fresh sweep. */
static int score_results(const char *root, struct nab_corpus *c, const char *det)
{
	char e[512], path[4096];
	double **sc = calloc(c->nfiles, sizeof(*sc));
	int rc = 1;
	if (!sc)
		return 1;
	for (size_t i = 0; i < c->nfiles; i++) {
		const char *nm = c->files[i].name, *sl = strchr(nm, '/');
		static const char *const cols[] = { "anomaly_score" };
		size_t n = 0;
		snprintf(path, sizeof(path), "%s/results/%s/%.*s/%s_%s", root, det, (int)(sl - nm), nm,
		         det, sl + 1);
		if (nab_csv_read(path, cols, 1, &sc[i], &n, e, sizeof(e)) != 0) {
			fprintf(stderr, "nab_bench: %s\n", e);
			goto out;
		}
		if (n != c->files[i].n) {
			fprintf(stderr, "nab_bench: %s: %zu rows, the data file has %zu\n", path, n,
			        c->files[i].n);
			goto out;
		}
	}
	for (int p = 0; p < NAB_NPROFILES; p++) {
		struct nab_result s = nab_sweep(c, sc, &nab_profiles[p]);
		struct nab_result one = nab_corpus_score(c, sc, 1.0, &nab_profiles[p]);
		printf("%s %-20s at 1.0: %8.4f raw, %6.2f; swept: threshold %.6f, %8.4f raw, %6.2f\n",
		       det, nab_profiles[p].name, one.raw, one.normalised, s.threshold, s.raw,
		       s.normalised);
	}
	rc = 0;
out:
	for (size_t i = 0; i < c->nfiles; i++)
		free(sc[i]);
	free(sc);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nab", required_argument, NULL, 'n' },  { "runs", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' }, { "set", required_argument, NULL, 's' },
		{ "results", required_argument, NULL, 'R' },
		{ "per-file", no_argument, NULL, 'f' },  { "help", no_argument, NULL, 'h' },
		{ "loco", no_argument, NULL, 'L' },      { "trace", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "../shared/data/nab", *json = NULL, *results = NULL, *trace = NULL;
	int runs = 5, per_file = 0, loco = 0, ch;
	struct pb_detect_config cfg;
	pb_detect_config_init(&cfg);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': root = optarg; break;
		case 'r': runs = (int)strtol(optarg, NULL, 10); break;
		case 'j': json = optarg; break;
		case 'R': results = optarg; break;
		case 'f': per_file = 1; break;
		case 'L': loco = 1; break;
		case 't': trace = optarg; break;
		case 's':
			if (detect_set(&cfg, optarg) != 0) {
				fprintf(stderr, "nab_bench: bad --set '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: nab_bench [--nab DIR] [--runs N] [--json FILE] [--per-file] [--loco]\n"
			       "                 [--trace NAME] [--set NAME=VALUE]...\n"
			       "       nab_bench --results DETECTOR [--nab DIR]\n");
			return 0;
		default: return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	struct nab_corpus c;
	char e[512];
	if (nab_corpus_load(root, &c, e, sizeof(e)) != 0) {
		fprintf(stderr, "nab_bench: %s\n", e);
		return 1;
	}
	if (results) {
		int rc = score_results(root, &c, results);
		nab_corpus_free(&c);
		return rc;
	}
	struct pb_error err = { 0 };
	if (pb_detect_config_check(&cfg, &err) != PB_OK) {
		fprintf(stderr, "nab_bench: %s\n", err.message);
		return 2;
	}

	size_t total = 0;
	double **sc = calloc(c.nfiles, sizeof(*sc)), **peer = calloc(c.nfiles, sizeof(*peer));
	struct pb_point **pts = calloc(c.nfiles, sizeof(*pts));
	size_t nchanges = 0;
	for (size_t i = 0; i < c.nfiles; i++) {
		struct nab_file *f = &c.files[i];
		sc[i] = malloc(f->n * sizeof(double));
		peer[i] = malloc(f->n * sizeof(double));
		pts[i] = malloc(f->n * sizeof(struct pb_point));
		for (size_t j = 0; j < f->n; j++) {
			pts[i][j].t = f->t[j];
			pts[i][j].v = f->v[j];
		}
		total += f->n;
	}

	/* Timing: after one warm-up, `runs` alternating runs of probity and the peer. */
	double *tp = calloc((size_t)runs, sizeof(double)), *tq = calloc((size_t)runs, sizeof(double));
	for (int r = -1; r < runs; r++) {
		double t0 = mono();
		nchanges = 0;
		for (size_t i = 0; i < c.nfiles; i++) {
			struct pb_change *chg;
			size_t nc;
			if (pb_detect_series(&cfg, pts[i], c.files[i].n, &chg, &nc, sc[i], &err) != PB_OK) {
				fprintf(stderr, "nab_bench: %s: %s\n", c.files[i].name, err.message);
				return 1;
			}
			nchanges += nc;
			free(chg);
		}
		double t1 = mono();
		for (size_t i = 0; i < c.nfiles; i++)
			windowed_gaussian(c.files[i].v, c.files[i].n, peer[i]);
		double t2 = mono();
		if (r >= 0) {
			tp[r] = t1 - t0;
			tq[r] = t2 - t1;
		}
	}
	qsort(tp, (size_t)runs, sizeof(double), cmp_double);
	qsort(tq, (size_t)runs, sizeof(double), cmp_double);
	double pps = (double)total / tp[runs / 2], peer_pps = (double)total / tq[runs / 2];

	printf("nab: %zu series, %zu points, %zu windows; probity raised %zu changes\n", c.nfiles,
	       total, c.nwindows, nchanges);
	const double thr = cfg.min_ratio / (1 + cfg.min_ratio);
	struct nab_result swept[NAB_NPROFILES], fixed[NAB_NPROFILES], pswept[NAB_NPROFILES];
	for (int p = 0; p < NAB_NPROFILES; p++) {
		swept[p] = nab_sweep(&c, sc, &nab_profiles[p]);
		/* the default threshold: a score strictly above min_ratio's */
		fixed[p] = nab_corpus_score(&c, sc, nextafter(thr, 2.0), &nab_profiles[p]);
		pswept[p] = nab_sweep(&c, peer, &nab_profiles[p]);
		printf("nab %s: probity %.1f, peer windowedGaussian %.1f, ratio %.2f"
		       " (probity swept threshold %.6f; at its default threshold %.1f)\n",
		       nab_profiles[p].name, swept[p].normalised, pswept[p].normalised,
		       swept[p].normalised / pswept[p].normalised, swept[p].threshold,
		       fixed[p].normalised);
	}
	printf("nab speed: probity %.2f Mpoints/s, peer windowedGaussian %.2f Mpoints/s, ratio %.2f"
	       " (median of %d runs, one core; min-max probity %.2f-%.2f)\n",
	       pps / 1e6, peer_pps / 1e6, pps / peer_pps, runs, total / tp[runs - 1] / 1e6,
	       total / tp[0] / 1e6);
	if (loco && leave_one_category_out(&c, pts, &cfg) != 0)
		return 1;
	if (per_file) {
		printf("standard score per series: at the swept threshold %.6f, at the default "
		       "threshold (a score above %.6f)\n", swept[0].threshold, thr);
		for (size_t i = 0; i < c.nfiles; i++) {
			struct nab_file *f = &c.files[i];
			double s = nab_file_score(f, sc[i], swept[0].threshold, &nab_profiles[0]);
			double s_def = nab_file_score(f, sc[i], nextafter(thr, 2.0), &nab_profiles[0]);
			printf("  %-58s %8.3f %8.3f over %zu windows\n", f->name, s, s_def, f->nwin);
		}
	}
	for (size_t i = 0; trace && i < c.nfiles; i++)
		if (strstr(c.files[i].name, trace) &&
		    trace_file(&c.files[i], pts[i], &cfg, swept[0].threshold) != 0)
			return 1;
	if (json) {
		FILE *jf = fopen(json, "w");
		if (!jf) {
			perror(json);
			return 1;
		}
		fprintf(jf, "{\n  \"series\": %zu, \"points\": %zu, \"windows\": %zu,\n", c.nfiles,
		        total, c.nwindows);
		for (int p = 0; p < NAB_NPROFILES; p++)
			fprintf(jf,
			        "  \"%s\": {\"probity\": %.4f, \"probity_threshold\": %.6f,"
			        " \"probity_default_threshold\": %.4f, \"peer_windowedGaussian\": %.4f},\n",
			        nab_profiles[p].name, swept[p].normalised, swept[p].threshold,
			        fixed[p].normalised, pswept[p].normalised);
		fprintf(jf,
		        "  \"points_per_second\": {\"probity\": %.0f, \"peer_windowedGaussian\": %.0f,"
		        " \"runs\": %d}\n}\n",
		        pps, peer_pps, runs);
		fclose(jf);
	}
	for (size_t i = 0; i < c.nfiles; i++) {
		free(sc[i]);
		free(peer[i]);
		free(pts[i]);
	}
	free(sc);
	free(peer);
	free(pts);
	free(tp);
	free(tq);
	nab_corpus_free(&c);
	return 0;
}
