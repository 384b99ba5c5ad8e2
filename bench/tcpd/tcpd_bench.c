/* tcpd_bench.c - probity's change detector on the Turing Change Point
 * Dataset (TCPD), scored with TCPDBench's metrics (tcpd.c).
 *
 * 1. Checks the scorer: the "zero" method (no change point) must reproduce
 *    the published default F1 and cover of every series, and PELT as
 *    TCPDBench runs it by default (pelt.c) is re-run and scored beside its
 *    published scores.
 * 2. Runs pb_detect_regimes (the offline segmentation) and pb_detect_series
 *    (the streaming detector), both with the default configuration, on every
 *    univariate series and prints their F1 and cover per series beside the
 *    published default scores of binseg, PELT, BOCPD and zero, and the means.
 * 3. Times both on daily series of 1,000 points, against the PELT re-run.
 *
 * usage: tcpd_bench [--tcpd DIR] [--set NAME=VALUE]... [--json FILE] [--quiet]
 *                   [--speed SERIES] [--loo-detail]
 *        (--loo-detail: each held-out series' chosen setting and scores)
 */
#include "detect_set.h"
#include "pelt.h"
#include "tcpd.h"

#include <getopt.h>
#include <jansson.h>
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

/* A published score, or NAN for null / absent. */
static double published(json_t *scores, const char *series, const char *method)
{
	json_t *x = json_object_get(json_object_get(scores, series), method);
	return json_is_number(x) ? json_number_value(x) : NAN;
}

/* Runs the detector on a series with nulls skipped (a gap, not a value) and
 * returns the change starts as indices of the full series. Series without
 * time stamps get one point a year: no seasonal period is assumed. */
static size_t run_detector(const struct pb_detect_config *cfg, const struct tcpd_series *s,
                           bool regimes, size_t **out)
{
	struct pb_regime_change *rg = NULL;
	struct pb_point *p = malloc(s->n * sizeof(*p));
	size_t *map = malloc(s->n * sizeof(*map));
	size_t m = 0, nc = 0;
	struct pb_change *ch = NULL;
	struct pb_error err = { 0 };
	*out = NULL;
	if (!p || !map)
		goto fail;
	for (size_t i = 0; i < s->n; i++) {
		if (isnan(s->v[i]))
			continue;
		p[m].t = s->t ? s->t[i] : (long long)i * 365 * 86400;
		p[m].v = s->v[i];
		map[m++] = i;
	}
	if ((regimes ? pb_detect_regimes(cfg, p, m, &rg, &nc, &err)
	             : pb_detect_series(cfg, p, m, &ch, &nc, NULL, &err)) != PB_OK) {
		fprintf(stderr, "tcpd_bench: %s: %s\n", s->name, err.message);
		goto fail;
	}
	*out = malloc((nc ? nc : 1) * sizeof(**out));
	if (!*out)
		goto fail;
	for (size_t k = 0; k < nc; k++)
		(*out)[k] = map[regimes ? rg[k].at : ch[k].start];
	free(ch);
	free(rg);
	free(p);
	free(map);
	return nc;
fail:
	free(ch);
	free(rg);
	free(p);
	free(map);
	return (size_t)-1;
}

/* Points per second of pb_detect_series (or, with peer, of the PELT re-run)
 * on `count` daily series of 1,000 points (a level, a weekly pattern, noise
 * and one shift each). */
enum mode { REGIMES, STREAM, PEER };

static double speed(const struct pb_detect_config *cfg, size_t count, enum mode mode)
{
	const size_t n = 1000;
	struct pb_point *p = malloc(n * sizeof(*p));
	if (!p)
		return 0;
	unsigned long long r = 88172645463325252ull;
	double best = 0;
	for (int run = 0; run < 3; run++) {
		double t0 = mono(), sink = 0;
		for (size_t s = 0; s < count; s++) {
			for (size_t i = 0; i < n; i++) {
				r ^= r << 13;
				r ^= r >> 7;
				r ^= r << 17;
				double noise = (double)(r >> 11) / 9007199254740992.0 - 0.5;
				p[i].t = 1704067200 + (long long)i * 86400;
				p[i].v = 100 + (i % 7 >= 5 ? -20 : 0) + 10 * noise + (i > 500 + s % 300 ? 40 : 0);
			}
			if (mode == PEER) {
				double x[1000];
				size_t *cp = NULL;
				for (size_t i = 0; i < n; i++)
					x[i] = p[i].v;
				sink += (double)pelt_mean_mbic(x, n, &cp);
				free(cp);
				continue;
			}
			struct pb_change *ch = NULL;
			struct pb_regime_change *rg = NULL;
			size_t nc = 0;
			struct pb_error err = { 0 };
			if ((mode == REGIMES ? pb_detect_regimes(cfg, p, n, &rg, &nc, &err)
			                     : pb_detect_series(cfg, p, n, &ch, &nc, NULL, &err)) == PB_OK)
				sink += (double)nc;
			free(ch);
			free(rg);
		}
		double rate = (double)(count * n) / (mono() - t0);
		if (rate > best && sink >= 0)
			best = rate;
	}
	free(p);
	return best;
}

struct mean {
	double sum;
	size_t n;
};

static void add(struct mean *m, double x)
{
	if (!isnan(x)) {
		m->sum += x;
		m->n++;
	}
}

static double avg(const struct mean *m)
{
	return m->n ? m->sum / (double)m->n : NAN;
}

/* Leave one series out: for each univariate series, the regime settings
 * (penalty x shortest regime x level share, on a small grid around the
 * defaults) with the best mean F1 + cover on the other series are used to
 * score it. Prints the mean of those out-of-sample scores: what a setting
 * chosen without seeing a series scores on it; once with the level share
 * chosen too, once with it fixed at base's (the parameter count's 3/4). */
static int leave_one_out(const char *dir, json_t *ann, const struct pb_detect_config *base,
                         bool detail)
{
	static const double pens[] = { 3, 4, 5, 6, 7, 8, 10, 12 };
	static const unsigned lens[] = { 3, 5, 8 };
	static const double shares[] = { 0.5, 0.75, 1 };
	enum { NP = sizeof(pens) / sizeof(pens[0]), NL = sizeof(lens) / sizeof(lens[0]),
	       NS = sizeof(shares) / sizeof(shares[0]), NG = NP * NL * NS, MAXS = 64 };
	static double f[NG][MAXS], cv[NG][MAXS];
	static const char *names[MAXS];
	size_t ns = 0;
	const char *name;
	json_t *unused;
	json_object_foreach(ann, name, unused) {
		struct tcpd_series s;
		char why[512];
		if (!tcpd_load(dir, name, ann, &s, why, sizeof(why)))
			return 1;
		if (s.dims != 1 || ns == MAXS) {
			tcpd_series_free(&s);
			continue;
		}
		for (int g = 0; g < NG; g++) {
			struct pb_detect_config c = *base;
			c.regime_penalty = pens[g / NL % NP];
			c.regime_min_len = lens[g % NL];
			c.regime_level_share = shares[g / (NL * NP)];
			size_t *cp;
			size_t k = run_detector(&c, &s, true, &cp);
			if (k == (size_t)-1)
				return 1;
			f[g][ns] = tcpd_f1(&s.annot, cp, k, TCPD_MARGIN);
			cv[g][ns] = tcpd_cover(&s.annot, cp, k, s.n);
			free(cp);
		}
		names[ns++] = name;
		tcpd_series_free(&s);
	}
	for (int fixed = 0; fixed < 2; fixed++) {
		double sf = 0, sc = 0;
		size_t same = 0;
		for (size_t i = 0; i < ns; i++) {
			int best = 0;
			double bv = -1;
			for (int g = 0; g < NG; g++) {
				if (fixed && shares[g / (NL * NP)] != base->regime_level_share)
					continue;
				double v = 0;
				for (size_t j = 0; j < ns; j++)
					if (j != i)
						v += f[g][j] + cv[g][j];
				if (v > bv + 1e-12) {
					bv = v;
					best = g;
				}
			}
			if (detail)
				printf("  held out %-18s penalty %4.1f, shortest %u, level share %.2f: "
				       "F1 %.3f, cover %.3f%s\n",
				       names[i], pens[best / NL % NP], lens[best % NL],
				       shares[best / (NL * NP)], f[best][i], cv[best][i],
				       fixed ? " (share fixed)" : "");
			sf += f[best][i];
			sc += cv[best][i];
			same += pens[best / NL % NP] == base->regime_penalty &&
			        lens[best % NL] == base->regime_min_len &&
			        shares[best / (NL * NP)] == base->regime_level_share;
		}
		printf("leave one series out (regime penalty 3-12 x shortest regime 3-8 x %s chosen on "
		       "the other %zu series): mean F1 %.3f, cover %.3f; the defaults chosen for %zu of "
		       "%zu\n",
		       fixed ? "level share fixed at the default" : "level share 0.5-1", ns ? ns - 1 : 0,
		       sf / (double)ns, sc / (double)ns, same, ns);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcpd", required_argument, NULL, 'd' }, { "set", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "speed", required_argument, NULL, 'S' }, { "loo-detail", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = "../shared/data/tcpd", *jout = NULL;
	bool quiet = false, loo_detail = false;
	size_t nspeed = 2000;
	struct pb_detect_config cfg;
	pb_detect_config_init(&cfg);
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'j': jout = optarg; break;
		case 'q': quiet = true; break;
		case 'D': loo_detail = true; break;
		case 'S': nspeed = (size_t)strtoul(optarg, NULL, 10); break;
		case 's':
			if (detect_set(&cfg, optarg) != 0) {
				fprintf(stderr, "tcpd_bench: bad --set '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: tcpd_bench [--tcpd DIR] [--set NAME=VALUE]... "
			                "[--json FILE] [--quiet] [--speed SERIES] [--loo-detail]\n");
			return 2;
		}
	}
	char path[4096];
	json_error_t je;
	snprintf(path, sizeof(path), "%s/annotations.json", dir);
	json_t *ann = json_load_file(path, 0, &je);
	json_t *pf1 = NULL, *pcov = NULL;
	snprintf(path, sizeof(path), "%s/scores/default_f1_scores.json", dir);
	pf1 = json_load_file(path, 0, &je);
	snprintf(path, sizeof(path), "%s/scores/default_cover_scores.json", dir);
	pcov = json_load_file(path, 0, &je);
	if (!ann || !pf1 || !pcov) {
		fprintf(stderr, "tcpd_bench: cannot read the TCPD copy at '%s': %s\n", dir, je.text);
		return 1;
	}
	json_t *res = json_array();
	static const char *const methods[] = { "binseg", "pelt", "bocpd", "zero" };
	enum { NM = 4 };
	/* means: [0] over all univariate series (avail), [1] TCPDBench's
	 * "paper-style" subset (no quality_control_*, no uk_coal_employ) */
	/* columns: 0 probity regimes, 1 PELT re-run, 2.. published, NM + 2
	 * probity's streaming detector */
	struct mean mf[2][NM + 3], mc[2][NM + 3];
	memset(mf, 0, sizeof(mf));
	memset(mc, 0, sizeof(mc));
	double zero_err = 0, pelt_f1_err = 0, pelt_cov_err = 0;
	size_t pelt_same = 0, pelt_n = 0, nseries = 0;
	if (!quiet) {
		printf("%-18s %4s | %-13s %-13s | %-13s | %-13s %-13s %-13s %-13s\n", "series", "n",
		       "regimes F1 cov", "stream F1 cov", "PELT re-run", "binseg", "pelt", "bocpd",
		       "zero");
	}
	const char *name;
	json_t *unused;
	json_object_foreach(ann, name, unused) {
		struct tcpd_series s;
		char why[512];
		if (!tcpd_load(dir, name, ann, &s, why, sizeof(why))) {
			fprintf(stderr, "tcpd_bench: %s\n", why);
			return 1;
		}
		if (s.dims != 1) {
			tcpd_series_free(&s);
			continue;
		}
		nseries++;
		bool paper = strncmp(name, "quality_control_", 16) && strcmp(name, "uk_coal_employ");
		/* the scorer check: zero */
		double zf = tcpd_f1(&s.annot, NULL, 0, TCPD_MARGIN);
		double zc = tcpd_cover(&s.annot, NULL, 0, s.n);
		double e1 = fabs(zf - published(pf1, name, "zero"));
		double e2 = fabs(zc - published(pcov, name, "zero"));
		if (e1 > zero_err)
			zero_err = e1;
		if (e2 > zero_err)
			zero_err = e2;
		/* the scorer check: PELT re-run */
		double rf = NAN, rc = NAN;
		bool has_nan = false;
		for (size_t i = 0; i < s.n; i++)
			has_nan |= isnan(s.v[i]);
		if (!has_nan) {
			size_t *cp;
			size_t k = pelt_mean_mbic(s.v, s.n, &cp);
			if (k == (size_t)-1)
				return 1;
			rf = tcpd_f1(&s.annot, cp, k, TCPD_MARGIN);
			rc = tcpd_cover(&s.annot, cp, k, s.n);
			free(cp);
			double pf = published(pf1, name, "pelt"), pc = published(pcov, name, "pelt");
			pelt_n++;
			if (fabs(rf - pf) < 1e-9 && fabs(rc - pc) < 1e-9)
				pelt_same++;
			if (fabs(rf - pf) > pelt_f1_err)
				pelt_f1_err = fabs(rf - pf);
			if (fabs(rc - pc) > pelt_cov_err)
				pelt_cov_err = fabs(rc - pc);
		}
		/* probity */
		size_t *cp;
		size_t *sp;
		size_t k = run_detector(&cfg, &s, true, &cp), ks = run_detector(&cfg, &s, false, &sp);
		if (k == (size_t)-1 || ks == (size_t)-1)
			return 1;
		double f = tcpd_f1(&s.annot, cp, k, TCPD_MARGIN);
		double cv = tcpd_cover(&s.annot, cp, k, s.n);
		double sf = tcpd_f1(&s.annot, sp, ks, TCPD_MARGIN);
		double sc = tcpd_cover(&s.annot, sp, ks, s.n);
		free(sp);
		for (int b = 0; b < 2; b++) {
			if (b == 1 && !paper)
				continue;
			add(&mf[b][0], f);
			add(&mc[b][0], cv);
			add(&mf[b][NM + 2], sf);
			add(&mc[b][NM + 2], sc);
			add(&mf[b][1], rf);
			add(&mc[b][1], rc);
			for (int m = 0; m < NM; m++) {
				add(&mf[b][m + 2], published(pf1, name, methods[m]));
				add(&mc[b][m + 2], published(pcov, name, methods[m]));
			}
		}
		if (!quiet) {
			printf("%-18s %4zu | %6.3f %6.3f  %6.3f %6.3f | %6.3f %6.3f |", name, s.n, f, cv,
			       sf, sc, rf, rc);
			for (int m = 0; m < NM; m++)
				printf(" %6.3f %6.3f", published(pf1, name, methods[m]),
				       published(pcov, name, methods[m]));
			printf("   [");
			for (size_t j = 0; j < k; j++)
				printf("%s%zu", j ? " " : "", cp[j]);
			printf("]\n");
		}
		json_t *o = json_object();
		json_t *a = json_array();
		for (size_t j = 0; j < k; j++)
			json_array_append_new(a, json_integer((json_int_t)cp[j]));
		json_object_set_new(o, "series", json_string(name));
		json_object_set_new(o, "n", json_integer((json_int_t)s.n));
		json_object_set_new(o, "f1", json_real(f));
		json_object_set_new(o, "cover", json_real(cv));
		json_object_set_new(o, "change_points", a);
		json_array_append_new(res, o);
		free(cp);
		tcpd_series_free(&s);
	}
	printf("scorer check: zero method, %zu univariate series: largest difference from the "
	       "published F1 and cover %.2g\n",
	       nseries, zero_err);
	printf("scorer check: PELT (mean, MBIC) re-run on %zu series: %zu reproduce the published "
	       "F1 and cover exactly; largest difference F1 %.3f, cover %.3f\n",
	       pelt_n, pelt_same, pelt_f1_err, pelt_cov_err);
	static const char *const bn[2] = { "all univariate (avail)", "paper-style (18)" };
	for (int b = 0; b < 2; b++) {
		printf("mean over %s (%zu series), F1 / cover:\n  probity regimes %.3f / %.3f, probity "
		       "streaming %.3f / %.3f, PELT re-run %.3f / %.3f\n ",
		       bn[b], mf[b][0].n, avg(&mf[b][0]), avg(&mc[b][0]), avg(&mf[b][NM + 2]),
		       avg(&mc[b][NM + 2]), avg(&mf[b][1]), avg(&mc[b][1]));
		for (int m = 0; m < NM; m++)
			printf("  %s %.3f / %.3f", methods[m], avg(&mf[b][m + 2]), avg(&mc[b][m + 2]));
		printf("\n");
	}
	if (leave_one_out(dir, ann, &cfg, loo_detail) != 0)
		return 1;
	double pps = nspeed ? speed(&cfg, nspeed, REGIMES) : 0;
	double spps = nspeed ? speed(&cfg, nspeed, STREAM) : 0;
	double peer = nspeed ? speed(&cfg, nspeed, PEER) : 0;
	/* the figure lines (bench/README.md) */
	printf("tcpd mean F1 (%zu univariate series): probity regimes %.3f, peer binseg (published) %.3f, "
	       "ratio %.2f\n",
	       mf[0][0].n, avg(&mf[0][0]), avg(&mf[0][2]), avg(&mf[0][0]) / avg(&mf[0][2]));
	printf("tcpd mean cover (%zu univariate series): probity regimes %.3f, peer binseg (published) %.3f, "
	       "ratio %.2f\n",
	       mc[0][0].n, avg(&mc[0][0]), avg(&mc[0][2]), avg(&mc[0][0]) / avg(&mc[0][2]));
	if (nspeed) {
		printf("tcpd speed, regimes, daily series of 1,000 points, one core (best of 3 x %zu "
		       "series): probity %.2f Mpoints/s, peer PELT re-run %.2f Mpoints/s, ratio %.2f\n",
		       nspeed, pps / 1e6, peer / 1e6, pps / peer);
		printf("tcpd speed, streaming detector, the same series: probity %.2f Mpoints/s, peer "
		       "PELT re-run %.2f Mpoints/s, ratio %.2f\n",
		       spps / 1e6, peer / 1e6, spps / peer);
	}
	if (jout) {
		json_t *top = json_object();
		json_object_set_new(top, "series", res);
		json_object_set_new(top, "mean_f1", json_real(avg(&mf[0][0])));
		json_object_set_new(top, "mean_cover", json_real(avg(&mc[0][0])));
		json_object_set_new(top, "points_per_second", json_real(pps));
		json_dump_file(top, jout, JSON_INDENT(1));
		json_decref(top);
	} else {
		json_decref(res);
	}
	json_decref(ann);
	json_decref(pf1);
	json_decref(pcov);
	return 0;
}
