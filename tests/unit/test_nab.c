/* test_nab.c - the NAB scorer in bench/nab reproduces NAB's published scores.
 *
 * Test vectors (tests/data/nab, MIT, see SOURCES.md there): NAB's per-row
 * output of its windowed-Gaussian detector on the 51 series of our copy, and
 * NAB's per-series score tables for it at threshold 1.0.
 */
#include "unit.h"

#include "../../bench/nab/nab.c"

#include <jansson.h>
#include <math.h>

#define DIR "tests/data/nab"

static int close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

static void t_sigmoid_and_probation(void)
{
	CHECK_NEAR(nab_sigmoid(-1), 0.9866142981514305, 1e-15);
	CHECK_NEAR(nab_sigmoid(0), 0, 1e-15);
	CHECK_NEAR(nab_sigmoid(1), -0.9866142981514305, 1e-15);
	CHECK_NEAR(nab_sigmoid(3), 2 / (1 + exp(15.0)) - 1, 1e-15);
	CHECK_NEAR(nab_sigmoid(3.0001), -1, 0);
	CHECK_INT(nab_probation(4032), 604);
	CHECK_INT(nab_probation(1000), 150);
	CHECK_INT(nab_probation(15902), 750);
	CHECK_INT(nab_probation(5000), 750);
	CHECK_INT(nab_probation(6), 0);
}

static void t_profiles_match_nab(void)
{
	json_error_t je;
	json_t *root = json_load_file(DIR "/profiles.json", 0, &je);
	CHECK(root != NULL);
	if (!root)
		return;
	for (int p = 0; p < NAB_NPROFILES; p++) {
		json_t *m = json_object_get(json_object_get(root, nab_profiles[p].name), "CostMatrix");
		CHECK(m != NULL);
		CHECK_NEAR(json_real_value(json_object_get(m, "tpWeight")), nab_profiles[p].tp, 0);
		CHECK_NEAR(json_real_value(json_object_get(m, "fpWeight")), nab_profiles[p].fp, 0);
		CHECK_NEAR(json_real_value(json_object_get(m, "fnWeight")), nab_profiles[p].fn, 0);
	}
	json_decref(root);
}

/* A hand-worked file: 20 rows, probation 3, one window on rows 10..13. */
static void t_hand_worked(void)
{
	struct nab_window w = { 10, 13 };
	struct nab_file f = { .name = (char *)"x.csv", .n = 20, .win = &w, .nwin = 1 };
	double s[20] = { 0 }, v[20];
	const struct nab_profile *std = &nab_profiles[0];
	nab_row_values(&f, std, v);
	CHECK_NEAR(v[5], -0.11, 1e-15);      /* before any window: full FP price */
	CHECK_NEAR(v[10], 1.0, 1e-15);       /* first row of the window: worth A_TP */
	CHECK_NEAR(v[13], nab_sigmoid(-0.25) / nab_sigmoid(-1), 1e-15);
	CHECK_NEAR(v[15], nab_sigmoid(2.0 / 3.0) * 0.11, 1e-15); /* (15-13)/(4-1) */
	CHECK_NEAR(v[19], nab_sigmoid(2.0) * 0.11, 1e-15);

	/* nothing detected: the window is a miss */
	CHECK_NEAR(nab_file_score(&f, s, 0.5, std), -1.0, 1e-15);
	/* a detection inside the probation period counts for nothing */
	s[1] = 1;
	CHECK_NEAR(nab_file_score(&f, s, 0.5, std), -1.0, 1e-15);
	/* late detection in the window, then an earlier one: the earliest counts */
	s[12] = 0.9;
	CHECK_NEAR(nab_file_score(&f, s, 0.5, std), nab_sigmoid(-0.5) / nab_sigmoid(-1), 1e-15);
	s[10] = 0.7;
	CHECK_NEAR(nab_file_score(&f, s, 0.5, std), 1.0, 1e-15);
	/* at a threshold above 0.7 only row 12 detects */
	CHECK_NEAR(nab_file_score(&f, s, 0.8, std), nab_sigmoid(-0.5) / nab_sigmoid(-1), 1e-15);
	/* false positives are each charged, before and after the window */
	s[5] = s[6] = 1;
	s[15] = 1;
	double want = 1.0 - 0.22 + nab_sigmoid(2.0 / 3.0) * 0.11;
	CHECK_NEAR(nab_file_score(&f, s, 0.5, std), want, 1e-12);
	/* the low-FN profile doubles the miss */
	double z[20] = { 0 };
	CHECK_NEAR(nab_file_score(&f, z, 0.5, &nab_profiles[2]), -2.0, 1e-15);
	/* normalisation: null scores 0, perfect 100 */
	CHECK_NEAR(nab_normalise(-97, 97, std), 0, 1e-12);
	CHECK_NEAR(nab_normalise(97, 97, std), 100, 1e-12);
	CHECK_NEAR(nab_normalise(-194, 97, &nab_profiles[2]), 0, 1e-12);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Loads the windowed-Gaussian vectors as a corpus plus per-row scores and labels. */
static int load_vectors(struct nab_corpus *c, double ***scores, double ***labels)
{
	char e[512], path[1024];
	json_error_t je;
	json_t *root = json_load_file(DIR "/combined_windows.json", 0, &je);
	if (!root)
		return -1;
	size_t n = json_object_size(root), k = 0;
	const char **names = calloc(n, sizeof(*names));
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val)
		names[k++] = key;
	qsort(names, n, sizeof(*names), name_cmp);
	memset(c, 0, sizeof(*c));
	c->files = calloc(n, sizeof(*c->files));
	c->nfiles = n;
	*scores = calloc(n, sizeof(double *));
	*labels = calloc(n, sizeof(double *));
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct nab_file *f = &c->files[i];
		const char *slash = strchr(names[i], '/');
		static const char *const cols[] = { "timestamp", "anomaly_score", "label" };
		double *col[3];
		f->name = strdup(names[i]);
		snprintf(path, sizeof(path), DIR "/windowedGaussian/%.*s/windowedGaussian_%s.gz",
		         (int)(slash - names[i]), names[i], slash + 1);
		if (nab_csv_read(path, cols, 3, col, &f->n, e, sizeof(e)) != 0) {
			fprintf(stderr, "%s\n", e);
			rc = -1;
			break;
		}
		f->t = malloc(f->n * sizeof(*f->t));
		for (size_t j = 0; j < f->n; j++)
			f->t[j] = (int64_t)col[0][j];
		free(col[0]);
		(*scores)[i] = col[1];
		(*labels)[i] = col[2];
	}
	free(names);
	json_decref(root);
	if (rc == 0 && nab_windows_load(DIR "/combined_windows.json", c, e, sizeof(e)) != 0) {
		fprintf(stderr, "%s\n", e);
		rc = -1;
	}
	return rc;
}

static void free_vectors(struct nab_corpus *c, double **scores, double **labels)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		free(scores[i]);
		free(labels[i]);
	}
	free(scores);
	free(labels);
	nab_corpus_free(c);
}

static void t_windowed_gaussian_reproduced(void)
{
	struct nab_corpus c;
	double **sc = NULL, **lab = NULL;
	if (load_vectors(&c, &sc, &lab) != 0) {
		UNIT_FAIL_("cannot load the NAB test vectors");
		return;
	}
	CHECK_INT(c.nfiles, 51);
	CHECK_INT(c.nwindows, 97);

	/* The windows, mapped to rows by timestamp, are exactly NAB's label column. */
	size_t mismatches = 0;
	for (size_t i = 0; i < c.nfiles; i++) {
		struct nab_file *f = &c.files[i];
		for (size_t j = 0; j < f->n; j++) {
			int in = 0;
			for (size_t k = 0; k < f->nwin; k++)
				in |= j >= f->win[k].start && j <= f->win[k].end;
			mismatches += in != (lab[i][j] == 1.0);
		}
	}
	CHECK_INT(mismatches, 0);

	/* Every per-series score of NAB's tables, for the three profiles. */
	static const double want_raw[NAB_NPROFILES] = { -10.0881, -52.3330, -38.0881 };
	static const double want_norm[NAB_NPROFILES] = { 44.8, 23.0, 53.6 };
	for (int p = 0; p < NAB_NPROFILES; p++) {
		char path[512];
		snprintf(path, sizeof(path), DIR "/windowedGaussian/windowedGaussian_%s_scores.csv",
		         nab_profiles[p].name);
		size_t rows = 0, checked = 0;
		char *text = slurp(path, &rows);
		CHECK(text != NULL);
		if (!text)
			continue;
		double table_sum = 0;
		for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
			char file[256];
			double thr, score;
			/* Detector,Profile,File,Threshold,Score,... */
			if (sscanf(line + 1, "%*[^,],%*[^,],%255[^,],%lf,%lf", file, &thr, &score) != 3)
				continue;
			table_sum += score;
			for (size_t i = 0; i < c.nfiles; i++)
				if (!strcmp(c.files[i].name, file)) {
					double got = nab_file_score(&c.files[i], sc[i], thr, &nab_profiles[p]);
					if (!close_to(got, score, 1e-9))
						UNIT_FAIL_("%s %s: got %.12f, NAB says %.12f", nab_profiles[p].name,
						           file, got, score);
					checked++;
				}
		}
		free(text);
		CHECK_INT(checked, 51);
		struct nab_result r = nab_corpus_score(&c, sc, 1.0, &nab_profiles[p]);
		CHECK_NEAR(r.raw, table_sum, 1e-9);
		CHECK_NEAR(r.raw, want_raw[p], 5e-5);
		CHECK_NEAR(round(r.normalised * 10) / 10, want_norm[p], 1e-9);

		/* The sweep is NAB's optimisation: never worse than 1.0, and its pick
		 * scores what it says; no sampled candidate beats it. */
		struct nab_result s = nab_sweep(&c, sc, &nab_profiles[p]);
		CHECK(s.raw >= r.raw - 1e-9);
		struct nab_result at = nab_corpus_score(&c, sc, s.threshold, &nab_profiles[p]);
		CHECK_NEAR(at.raw, s.raw, 1e-6);
		for (size_t i = 0; i < c.nfiles; i += 5)
			for (size_t j = nab_probation(c.files[i].n); j < c.files[i].n; j += 997) {
				struct nab_result q = nab_corpus_score(&c, sc, sc[i][j], &nab_profiles[p]);
				if (q.raw > s.raw + 1e-6)
					UNIT_FAIL_("threshold %.9f scores %.6f, above the sweep's %.6f",
					           sc[i][j], q.raw, s.raw);
			}
		struct nab_result none = nab_corpus_score(&c, sc, 1.1, &nab_profiles[p]);
		CHECK_NEAR(none.normalised, 0, 1e-9);
	}
	free_vectors(&c, sc, lab);
}

int main(void)
{
	RUN(t_sigmoid_and_probation);
	RUN(t_profiles_match_nab);
	RUN(t_hand_worked);
	RUN(t_windowed_gaussian_reproduced);
	return UNIT_END("nab");
}
