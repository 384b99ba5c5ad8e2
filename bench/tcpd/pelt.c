/* pelt.c - PELT for changes in mean with an MBIC penalty (pelt.h). */
#include "pelt.h"

#include <math.h>
#include <stdlib.h>

size_t pelt_mean_mbic(const double *x, size_t n, size_t **out)
{
	*out = NULL;
	if (n < 2)
		return 0;
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++)
		mean += x[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (x[i] - mean) * (x[i] - mean);
	double sd = sqrt(var / (double)(n - 1)); /* R's scale() */
	if (!(sd > 0))
		sd = 1;
	double *s1 = calloc(n + 1, sizeof(double)), *s2 = calloc(n + 1, sizeof(double));
	double *f = calloc(n + 1, sizeof(double));
	size_t *last = calloc(n + 1, sizeof(size_t)), *cand = calloc(n + 1, sizeof(size_t));
	double *fc = calloc(n + 1, sizeof(double));
	size_t nout = (size_t)-1;
	if (!s1 || !s2 || !f || !last || !cand || !fc)
		goto done;
	for (size_t i = 0; i < n; i++) {
		double z = (x[i] - mean) / sd;
		s1[i + 1] = s1[i] + z;
		s2[i + 1] = s2[i] + z * z;
	}
	const double pen = 3 * log((double)n);
	size_t nc = 1;
	cand[0] = 0;
	f[0] = -pen;
	for (size_t t = 1; t <= n; t++) {
		double best = INFINITY;
		size_t arg = 0;
		for (size_t j = 0; j < nc; j++) {
			size_t tau = cand[j];
			double m = (double)(t - tau), s = s1[t] - s1[tau], q = s2[t] - s2[tau];
			double c = q - s * s / m + log(m);
			fc[j] = f[tau] + c;
			if (fc[j] + pen < best) {
				best = fc[j] + pen;
				arg = tau;
			}
		}
		f[t] = best;
		last[t] = arg;
		size_t w = 0; /* prune: keep tau while F(tau) + C(tau, t) <= F(t) */
		for (size_t j = 0; j < nc; j++)
			if (fc[j] <= best)
				cand[w++] = cand[j];
		cand[w++] = t;
		nc = w;
	}
	size_t k = 0;
	for (size_t t = last[n]; t > 0; t = last[t])
		k++;
	*out = malloc((k ? k : 1) * sizeof(size_t));
	if (!*out)
		goto done;
	nout = k;
	for (size_t t = last[n]; t > 0; t = last[t])
		(*out)[--k] = t - 1;
done:
	free(s1);
	free(s2);
	free(f);
	free(last);
	free(cand);
	free(fc);
	return nout;
}
