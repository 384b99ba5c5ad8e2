/* tcpd.c - TCPDBench's F1 and covering metrics and a TCPD loader (tcpd.h).
 * Written from the metric description in the TCPD README; no TCPDBench code. */
#include "tcpd.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_size(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	return (a > b) - (a < b);
}

/* A sorted set: {0} plus v[0..n), duplicates removed. *out gets a new array. */
static size_t make_set(const size_t *v, size_t n, size_t **out)
{
	size_t *s = malloc((n + 1) * sizeof(*s));
	if (!s)
		return 0;
	s[0] = 0;
	if (n)
		memcpy(s + 1, v, n * sizeof(*v));
	qsort(s, n + 1, sizeof(*s), cmp_size);
	size_t m = 0;
	for (size_t i = 0; i <= n; i++)
		if (m == 0 || s[i] != s[m - 1])
			s[m++] = s[i];
	*out = s;
	return m;
}

/* Greedy matching (README "F1", step 2): each true location in turn takes the
 * nearest unused prediction within the margin, ties to the smaller index.
 * True locations are taken in increasing order (upstream iterates a Python
 * set; the order only matters when two true locations compete for one
 * prediction). x is sorted; used has nx flags. */
static size_t true_positives(const size_t *t, size_t nt, const size_t *x, size_t nx, bool *used,
                             size_t margin)
{
	size_t tp = 0;
	memset(used, 0, nx * sizeof(*used));
	for (size_t i = 0; i < nt; i++) {
		size_t best = nx, bestd = 0;
		for (size_t j = 0; j < nx; j++) {
			if (used[j])
				continue;
			size_t d = x[j] > t[i] ? x[j] - t[i] : t[i] - x[j];
			if (d <= margin && (best == nx || d < bestd)) {
				best = j; /* x sorted: an equal distance later is a larger index */
				bestd = d;
			}
		}
		if (best < nx) {
			used[best] = true;
			tp++;
		}
	}
	return tp;
}

double tcpd_f1(const struct tcpd_annot *a, const size_t *pred, size_t npred, size_t margin)
{
	size_t *x = NULL, *all = NULL, *tk = NULL;
	bool *used = NULL;
	double f = -1;
	size_t nx = make_set(pred, npred, &x);
	size_t tot = 0;
	for (size_t k = 0; k < a->k; k++)
		tot += a->ncp[k];
	size_t *cat = malloc((tot + 1) * sizeof(*cat));
	used = malloc(nx * sizeof(*used) + 1);
	if (!nx || !cat || !used)
		goto out;
	tot = 0;
	for (size_t k = 0; k < a->k; k++) {
		if (a->ncp[k])
			memcpy(cat + tot, a->cp[k], a->ncp[k] * sizeof(*cat));
		tot += a->ncp[k];
	}
	size_t nall = make_set(cat, tot, &all);
	if (!nall)
		goto out;
	double precision = (double)true_positives(all, nall, x, nx, used, margin) / (double)nx;
	double recall = 0;
	for (size_t k = 0; k < a->k; k++) {
		size_t nt = make_set(a->cp[k], a->ncp[k], &tk);
		if (!nt)
			goto out;
		recall += (double)true_positives(tk, nt, x, nx, used, margin) / (double)nt;
		free(tk);
		tk = NULL;
	}
	recall /= (double)a->k;
	/* F = P R / (alpha R + (1 - alpha) P), alpha = 0.5 */
	f = precision * recall / (0.5 * recall + 0.5 * precision);
out:
	free(x);
	free(all);
	free(tk);
	free(cat);
	free(used);
	return f;
}

/* Segment starts of a segmentation of 0..n-1: 0 and every distinct location
 * l with 0 < l < n, sorted, then n as a sentinel. Returns the number of
 * segments (0 on out-of-memory). */
static size_t segments(const size_t *cp, size_t ncp, size_t n, size_t **out)
{
	size_t *s = malloc((ncp + 2) * sizeof(*s));
	if (!s)
		return 0;
	size_t m = 0;
	s[m++] = 0;
	for (size_t i = 0; i < ncp; i++)
		if (cp[i] > 0 && cp[i] < n)
			s[m++] = cp[i];
	qsort(s, m, sizeof(*s), cmp_size);
	size_t w = 0;
	for (size_t i = 0; i < m; i++)
		if (w == 0 || s[i] != s[w - 1])
			s[w++] = s[i];
	s[w] = n;
	*out = s;
	return w;
}

double tcpd_cover(const struct tcpd_annot *a, const size_t *pred, size_t npred, size_t n)
{
	size_t *b = NULL, *s = NULL;
	double total = 0;
	if (n == 0)
		return -1;
	size_t nb = segments(pred, npred, n, &b);
	if (!nb)
		return -1;
	for (size_t k = 0; k < a->k; k++) {
		size_t ns = segments(a->cp[k], a->ncp[k], n, &s);
		if (!ns) {
			free(b);
			return -1;
		}
		/* C_k = (1/n) sum over annotated segments A of |A| max_B |A^B| / |AuB| */
		double c = 0;
		size_t j = 0; /* first predicted segment that may overlap A */
		for (size_t i = 0; i < ns; i++) {
			size_t a0 = s[i], a1 = s[i + 1]; /* [a0, a1) */
			while (b[j + 1] <= a0)
				j++;
			double best = 0;
			for (size_t jj = j; jj < nb && b[jj] < a1; jj++) {
				size_t b0 = b[jj], b1 = b[jj + 1];
				size_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
				size_t inter = hi > lo ? hi - lo : 0;
				size_t uni = (a1 - a0) + (b1 - b0) - inter;
				double jac = (double)inter / (double)uni;
				if (jac > best)
					best = jac;
			}
			c += (double)(a1 - a0) * best;
		}
		total += c / (double)n;
		free(s);
		s = NULL;
	}
	free(b);
	return total / (double)a->k;
}

/* ---- loading ------------------------------------------------------------- */

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* A time.raw string in the few formats TCPD uses: %Y, %Y-%m, %Y-%m-%d and
 * %Y-%m-%d %H:%M:%S; missing parts are the first month / day, midnight. */
static bool parse_raw_time(const char *s, long long *out)
{
	int y = 0, mo = 1, d = 1, h = 0, mi = 0, se = 0;
	int got = sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &se);
	if (got < 1 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

static bool fail(char *why, size_t cap, const char *msg, const char *name)
{
	snprintf(why, cap, "%s: %s", name, msg);
	return false;
}

bool tcpd_load(const char *dir, const char *name, const void *annotations, struct tcpd_series *s,
               char *why, size_t cap)
{
	char path[4096];
	json_error_t je;
	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/datasets/%s.json", dir, name);
	json_t *root = json_load_file(path, 0, &je);
	if (!root)
		return fail(why, cap, je.text, path);
	bool ok = false;
	json_t *ser = json_object_get(root, "series");
	json_int_t n = json_integer_value(json_object_get(root, "n_obs"));
	json_int_t dims = json_integer_value(json_object_get(root, "n_dim"));
	if (n <= 0 || dims <= 0 || !json_is_array(ser) || json_array_size(ser) != (size_t)dims) {
		fail(why, cap, "needs n_obs, n_dim and n_dim series", name);
		goto out;
	}
	s->name = strdup(name);
	s->n = (size_t)n;
	s->dims = (size_t)dims;
	s->v = malloc(s->n * s->dims * sizeof(*s->v));
	if (!s->name || !s->v) {
		fail(why, cap, "out of memory", name);
		goto out;
	}
	for (size_t j = 0; j < s->dims; j++) {
		json_t *raw = json_object_get(json_array_get(ser, j), "raw");
		if (json_array_size(raw) != s->n) {
			fail(why, cap, "a series does not have n_obs values", name);
			goto out;
		}
		for (size_t i = 0; i < s->n; i++) {
			json_t *x = json_array_get(raw, i);
			s->v[j * s->n + i] = json_is_number(x) ? json_number_value(x) : NAN;
		}
	}
	json_t *traw = json_object_get(json_object_get(root, "time"), "raw");
	if (json_array_size(traw) == s->n) {
		s->t = malloc(s->n * sizeof(*s->t));
		if (!s->t) {
			fail(why, cap, "out of memory", name);
			goto out;
		}
		for (size_t i = 0; i < s->n; i++) {
			const char *str = json_string_value(json_array_get(traw, i));
			if (!str || !parse_raw_time(str, &s->t[i])) {
				free(s->t);
				s->t = NULL; /* unreadable times: treat as none */
				break;
			}
		}
	}
	json_t *an = json_object_get((const json_t *)annotations, name);
	const char *key;
	json_t *list;
	if (!json_is_object(an) || json_object_size(an) == 0) {
		fail(why, cap, "no annotations", name);
		goto out;
	}
	json_object_foreach(an, key, list) {
		if (s->annot.k == TCPD_MAX_ANNOTATORS) {
			fail(why, cap, "too many annotators", name);
			goto out;
		}
		size_t k = s->annot.k++;
		size_t m = json_array_size(list);
		s->annot.cp[k] = malloc((m ? m : 1) * sizeof(size_t));
		if (!s->annot.cp[k]) {
			fail(why, cap, "out of memory", name);
			goto out;
		}
		for (size_t i = 0; i < m; i++)
			s->annot.cp[k][i] = (size_t)json_integer_value(json_array_get(list, i));
		s->annot.ncp[k] = m;
	}
	ok = true;
out:
	json_decref(root);
	if (!ok)
		tcpd_series_free(s);
	return ok;
}

void tcpd_series_free(struct tcpd_series *s)
{
	free(s->name);
	free(s->v);
	free(s->t);
	for (size_t k = 0; k < s->annot.k; k++)
		free(s->annot.cp[k]);
	memset(s, 0, sizeof(*s));
}
