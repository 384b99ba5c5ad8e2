/* tcpd.h - the TCPDBench metrics (F1 with a margin, segmentation covering)
 * and a loader for TCPD series, in C.
 *
 * Written from the prose description in the TCPD README of the team's copy
 * (../shared/data/tcpd/README.md, "Metrics"); no TCPDBench code is used.
 * Reference: van den Burg and Williams, "An Evaluation of Change Point
 * Detection Algorithms", arXiv:2003.06222, 2020.
 *
 * Change points are 0-based indices into a series of n points. Index 0 is
 * always counted as a change point by both metrics (the start of the series).
 */
#ifndef PB_BENCH_TCPD_H
#define PB_BENCH_TCPD_H

#include <stdbool.h>
#include <stddef.h>

#define TCPD_MAX_ANNOTATORS 16
#define TCPD_MARGIN 5

/* One series' annotations: K annotators, each a list of change points. */
struct tcpd_annot {
	size_t k;
	size_t *cp[TCPD_MAX_ANNOTATORS];
	size_t ncp[TCPD_MAX_ANNOTATORS];
};

/* F1 of the predicted change points pred[0..npred) against the annotators,
 * with an inclusive margin (TCPDBench: 5). Duplicates are ignored and 0 is
 * added to every set. Returns -1 on out-of-memory. */
double tcpd_f1(const struct tcpd_annot *a, const size_t *pred, size_t npred, size_t margin);

/* Segmentation covering of the annotators' segmentations by the predicted
 * one, averaged over annotators, for a series of n points. Locations 0 and
 * >= n start no segment. Returns -1 on out-of-memory. */
double tcpd_cover(const struct tcpd_annot *a, const size_t *pred, size_t npred, size_t n);

/* A univariate or multivariate TCPD series (datasets/<name>.json). */
struct tcpd_series {
	char *name;
	size_t n;         /* observations */
	size_t dims;      /* variables */
	double *v;        /* dims x n, variable-major; NAN where the file has null */
	long long *t;     /* n times in seconds since the epoch, from time.raw;
	                     NULL when the file has none */
	struct tcpd_annot annot;
};

/* Reads datasets/<name>.json under dir and the series' entry of
 * dir/annotations.json (already parsed: a jansson json_t *, passed as void *
 * so that this header needs no jansson). Returns false with a message in
 * why[0..cap) on failure. */
bool tcpd_load(const char *dir, const char *name, const void *annotations, struct tcpd_series *s,
               char *why, size_t cap);
void tcpd_series_free(struct tcpd_series *s);

#endif
