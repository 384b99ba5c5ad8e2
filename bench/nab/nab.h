/* nab.h - the Numenta Anomaly Benchmark scorer (NAB v1.1 rules), in C.
 *
 * Written from the description of NAB's scoring in docs/detection.md (windows,
 * probationary period, scaled sigmoid, three application profiles, one
 * threshold per detector and profile chosen by a sweep over the corpus,
 * normalisation by the null and perfect detectors). No NAB code is used.
 *
 * A corpus is a list of files, each with its rows (timestamps, values) and its
 * label windows as inclusive row ranges. A detector's output is one score per
 * row in [0, 1]; a row is a detection when score >= threshold and it lies past
 * the probationary period.
 */
#ifndef PB_BENCH_NAB_H
#define PB_BENCH_NAB_H

#include <stddef.h>
#include <stdint.h>

struct nab_profile {
	const char *name; /* "standard", "reward_low_FP_rate", "reward_low_FN_rate" */
	double tp, fp, fn; /* A_TP, A_FP, A_FN */
};
#define NAB_NPROFILES 3
extern const struct nab_profile nab_profiles[NAB_NPROFILES];

struct nab_window {
	size_t start, end; /* inclusive row indices */
};

struct nab_file {
	char *name;          /* "realTweets/Twitter_volume_AAPL.csv" */
	size_t n;            /* rows */
	int64_t *t;          /* n timestamps (seconds) */
	double *v;           /* n values */
	struct nab_window *win;
	size_t nwin;
};

struct nab_corpus {
	struct nab_file *files;
	size_t nfiles;
	size_t nwindows; /* over all files */
};

/* Probationary length of a file of n rows: min(floor(0.15 n), 750). */
size_t nab_probation(size_t n);

/* The scaled sigmoid f(x) = 2 / (1 + e^(5x)) - 1 for x <= 3, else -1. */
double nab_sigmoid(double x);

/* Fills v[0..n) with each row's value for profile p (section "Step 1" of the
 * method): the worth of a detection on that row. */
void nab_row_values(const struct nab_file *f, const struct nab_profile *p, double *v);

/* Raw score of one file at threshold thr (detection when score >= thr). */
double nab_file_score(const struct nab_file *f, const double *score, double thr,
                      const struct nab_profile *p);

/* Result of a threshold sweep over a whole corpus for one profile. */
struct nab_result {
	double threshold;  /* the chosen threshold (1.1 means: detect nothing) */
	double raw;        /* sum of file scores at that threshold */
	double normalised; /* 100 (raw - null) / (perfect - null) */
};

/* Normalises a raw corpus score: null = -A_FN N, perfect = A_TP N. */
double nab_normalise(double raw, size_t nwindows, const struct nab_profile *p);

/* Corpus score at a fixed threshold; scores[i] is file i's per-row output. */
struct nab_result nab_corpus_score(const struct nab_corpus *c, double *const *scores, double thr,
                                   const struct nab_profile *p);

/* NAB's threshold optimisation: tries 1.1 and every distinct score value of a
 * scored row, returns the one with the highest corpus score (exact ties go to
 * the higher threshold). One sort of all scored rows: O(R log R). Returns -1 in
 * threshold and raw on out-of-memory. */
struct nab_result nab_sweep(const struct nab_corpus *c, double *const *scores,
                            const struct nab_profile *p);

/* Loading. root is a NAB checkout (data/<category>/<file>.csv and
 * labels/combined_windows.json). Files are sorted by name. On failure returns
 * -1 with a message in errbuf. */
int nab_corpus_load(const char *root, struct nab_corpus *c, char *errbuf, size_t errcap);
void nab_corpus_free(struct nab_corpus *c);

/* Attaches windows from a combined_windows.json file to a corpus whose files
 * are already loaded (by name); every window boundary must be a row timestamp. */
int nab_windows_load(const char *json_path, struct nab_corpus *c, char *errbuf, size_t errcap);

/* Reads a CSV file (plain or gzip) with a header line into columns: for each
 * name in cols[0..ncols), fills out[k] with a new array of n doubles (the
 * column "timestamp" is parsed as a time and stored as seconds). Returns -1
 * with a message when a column is missing or a cell does not parse. */
int nab_csv_read(const char *path, const char *const *cols, size_t ncols, double **out,
                 size_t *n, char *errbuf, size_t errcap);

#endif
