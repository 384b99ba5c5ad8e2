/* pelt.h - a reference change point method for checking the TCPD scorer:
 * PELT (Killick, Fearnhead and Eckley, JASA 2012) for changes in mean, with
 * the cost and penalty of R changepoint's cpt.mean(method = "PELT",
 * test.stat = "Normal", penalty = "MBIC") as TCPDBench runs it by default on
 * the series scaled to zero mean and unit variance. Written from the paper
 * and the package's documented cost (no changepoint or TCPDBench code).
 *
 * Cost of a segment of m points with sum S and sum of squares Q: Q - S^2/m
 * plus log(m) (the MBIC segment-length term); penalty 3 log(n) per change.
 * Locations are reported the way TCPDBench reports this method's output: the
 * last point of each segment but the final one (0-based). */
#ifndef PB_BENCH_PELT_H
#define PB_BENCH_PELT_H

#include <stddef.h>

/* Fills *out (new array, free()) with the change points of x[0..n); returns
 * their count, or (size_t)-1 on out-of-memory. */
size_t pelt_mean_mbic(const double *x, size_t n, size_t **out);

#endif
