/* test_tcpd.c - the TCPDBench metrics in bench/tcpd reproduce the published
 * scores: the "zero" method and PELT re-run as TCPDBench runs it, on four
 * TCPD series (tests/data/tcpd, MIT / CC0, see SOURCES.md there), and small
 * cases worked by hand from the metric description.
 */
#include "unit.h"

#include "../../bench/tcpd/pelt.c"
#include "../../bench/tcpd/tcpd.c"

#define DIR "tests/data/tcpd"

/* |a - b| <= tol, with both values in the failure message. */
#define CHECK_SCORE(a, b, tol)                                                        \
	do {                                                                          \
		double a_ = (a), b_ = (b);                                            \
		if (!(fabs(a_ - b_) <= (tol)))                                        \
			UNIT_FAIL_("%s == %s: got %.12f, expected %.12f", #a, #b, a_, b_); \
	} while (0)

static size_t one_a[] = { 10 }, one_b[] = { 10, 20 }, none[] = { 0 };

/* Two annotators: {10} and {10, 20}; series of 30 points. */
static void two_annotators(struct tcpd_annot *a)
{
	memset(a, 0, sizeof(*a));
	a->k = 2;
	a->cp[0] = one_a;
	a->ncp[0] = 1;
	a->cp[1] = one_b;
	a->ncp[1] = 2;
}

static void t_f1_by_hand(void)
{
	struct tcpd_annot a;
	two_annotators(&a);
	/* no prediction: X = {0}; P = 1/1; R = (1/2 + 1/3) / 2 = 5/12 */
	double r = 5.0 / 12;
	CHECK_SCORE(tcpd_f1(&a, NULL, 0, 5), 2 * r / (1 + r), 1e-15);
	/* {12, 26}: 12 matches 10 (within 5), 26 matches nothing (20 is 6 away):
	 * P = 2/3, R = (2/2 + 2/3) / 2 = 5/6 */
	size_t x[] = { 12, 26 };
	double p = 2.0 / 3;
	r = 5.0 / 6;
	CHECK_SCORE(tcpd_f1(&a, x, 2, 5), 2 * p * r / (p + r), 1e-15);
	/* the margin is inclusive: 25 is 5 from 20; duplicates ignored */
	size_t y[] = { 10, 25, 25, 0 };
	CHECK_SCORE(tcpd_f1(&a, y, 4, 5), 1.0, 1e-15);
	/* one prediction cannot match two true points: {15} is 5 from both 10
	 * and 20; the union {0, 10, 20} takes it once (10 first, the nearest
	 * tie to the smaller index) */
	size_t z[] = { 15 };
	p = 2.0 / 2;
	r = (2.0 / 2 + 2.0 / 3) / 2;
	CHECK_SCORE(tcpd_f1(&a, z, 1, 5), 2 * p * r / (p + r), 1e-15);
}

static void t_cover_by_hand(void)
{
	struct tcpd_annot a;
	two_annotators(&a);
	/* no prediction: one segment [0, 30). Annotator 1: [0,10) J = 10/30,
	 * [10,30) J = 20/30: (10 * 1/3 + 20 * 2/3) / 30 = 5/9. Annotator 2:
	 * [0,10), [10,20), [20,30) each J = 1/3: 1/3. Mean 4/9. */
	CHECK_SCORE(tcpd_cover(&a, NULL, 0, 30), 4.0 / 9, 1e-15);
	/* the annotators' own segmentations: 1 for one, for the other
	 * (10 * 1 + 10 * 1/2 + 10 * 1/2) / 30 = 2/3 */
	CHECK_SCORE(tcpd_cover(&a, one_b, 2, 30), (2.0 / 3 + 1) / 2, 1e-15);
	/* 0 and locations >= n start no segment */
	size_t w[] = { 0, 10, 30, 99 };
	CHECK_SCORE(tcpd_cover(&a, w, 4, 30), tcpd_cover(&a, one_a, 1, 30), 0);
	CHECK_SCORE(tcpd_cover(&a, none, 1, 30), 4.0 / 9, 1e-15);
}

static double score_of(json_t *scores, const char *series, const char *method)
{
	return json_number_value(json_object_get(json_object_get(scores, series), method));
}

/* The published default F1 and cover of "zero" and "pelt" on each series. */
static void t_published(void)
{
	json_error_t je;
	json_t *ann = json_load_file(DIR "/annotations.json", 0, &je);
	json_t *f1 = json_load_file(DIR "/scores/default_f1_scores.json", 0, &je);
	json_t *cov = json_load_file(DIR "/scores/default_cover_scores.json", 0, &je);
	CHECK(ann && f1 && cov);
	if (!ann || !f1 || !cov)
		return;
	const char *name;
	json_t *unused;
	size_t seen = 0;
	json_object_foreach(ann, name, unused) {
		struct tcpd_series s;
		char why[256];
		CHECK(tcpd_load(DIR, name, ann, &s, why, sizeof(why)));
		if (!s.n)
			continue;
		seen++;
		CHECK_INT(s.annot.k, 5);
		CHECK_SCORE(tcpd_f1(&s.annot, NULL, 0, TCPD_MARGIN), score_of(f1, name, "zero"), 1e-15);
		CHECK_SCORE(tcpd_cover(&s.annot, NULL, 0, s.n), score_of(cov, name, "zero"), 1e-15);
		size_t *cp;
		size_t k = pelt_mean_mbic(s.v, s.n, &cp);
		CHECK(k != (size_t)-1);
		if (k != (size_t)-1) {
			CHECK_SCORE(tcpd_f1(&s.annot, cp, k, TCPD_MARGIN), score_of(f1, name, "pelt"), 1e-12);
			CHECK_SCORE(tcpd_cover(&s.annot, cp, k, s.n), score_of(cov, name, "pelt"), 1e-12);
			free(cp);
		}
		tcpd_series_free(&s);
	}
	CHECK_INT(seen, 4);
	json_decref(ann);
	json_decref(f1);
	json_decref(cov);
}

int main(void)
{
	RUN(t_f1_by_hand);
	RUN(t_cover_by_hand);
	RUN(t_published);
	return UNIT_END("tcpd");
}
