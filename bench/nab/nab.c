/* nab.c - the Numenta Anomaly Benchmark scorer: windows, probation, profiles,
 * threshold sweep, normalisation. See nab.h and docs/detection.md.
 *
 * The sweep follows NAB's own optimisation: every distinct score is a candidate
 * threshold. Sorting all scored rows by score (descending) and adding them
 * group by group gives the corpus score at every candidate in one pass.
 */
#include "nab.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "util/util.h"

const struct nab_profile nab_profiles[NAB_NPROFILES] = {
	{ "standard", 1.0, 0.11, 1.0 },
	{ "reward_low_FP_rate", 1.0, 0.22, 1.0 },
	{ "reward_low_FN_rate", 1.0, 0.11, 2.0 },
};

static void errf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *buf, size_t cap, const char *fmt, ...)
{
	if (!buf || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

size_t nab_probation(size_t n)
{
	size_t p = (size_t)floor(0.15 * (double)n);
	return p < 750 ? p : 750;
}

double nab_sigmoid(double x)
{
	if (x > 3.0)
		return -1.0;
	return 2.0 / (1.0 + exp(5.0 * x)) - 1.0;
}

void nab_row_values(const struct nab_file *f, const struct nab_profile *p, double *v)
{
	const double max_tp = nab_sigmoid(-1.0);
	size_t k = 0;          /* next window */
	int inside = 0;
	int have_last = 0;     /* a window has ended */
	size_t last_end = 0, last_w = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (!inside && k < f->nwin && i == f->win[k].start)
			inside = 1;
		if (inside) {
			const struct nab_window *w = &f->win[k];
			double width = (double)(w->end - w->start + 1);
			double x = -(double)(w->end - i + 1) / width;
			v[i] = nab_sigmoid(x) * p->tp / max_tp;
			if (i == w->end) {
				inside = 0;
				have_last = 1;
				last_end = w->end;
				last_w = w->end - w->start + 1;
				k++;
			}
		} else if (!have_last) {
			v[i] = -p->fp;
		} else {
			double den = last_w > 1 ? (double)(last_w - 1) : 1.0;
			double x = (double)(i - last_end) / den;
			v[i] = nab_sigmoid(x) * p->fp;
		}
	}
}

/* Window index of every row, or -1 outside windows. */
static void row_windows(const struct nab_file *f, long *wid)
{
	for (size_t i = 0; i < f->n; i++)
		wid[i] = -1;
	for (size_t k = 0; k < f->nwin; k++)
		for (size_t i = f->win[k].start; i <= f->win[k].end && i < f->n; i++)
			wid[i] = (long)k;
}

double nab_file_score(const struct nab_file *f, const double *score, double thr,
                      const struct nab_profile *p)
{
	double *v = malloc((f->n + 1) * sizeof(*v));
	long *wid = malloc((f->n + 1) * sizeof(*wid));
	double *best = malloc((f->nwin + 1) * sizeof(*best));
	double total = 0;
	if (!v || !wid || !best) {
		total = NAN;
		goto out;
	}
	nab_row_values(f, p, v);
	row_windows(f, wid);
	size_t prob = nab_probation(f->n);
	for (size_t k = 0; k < f->nwin; k++)
		best[k] = -p->fn;
	for (size_t i = prob; i < f->n; i++) {
		if (!(score[i] >= thr))
			continue;
		if (wid[i] >= 0) {
			if (v[i] > best[wid[i]])
				best[wid[i]] = v[i];
		} else {
			total += v[i];
		}
	}
	for (size_t k = 0; k < f->nwin; k++)
		if (f->win[k].end >= prob)
			total += best[k];
out:
	free(v);
	free(wid);
	free(best);
	return total;
}

double nab_normalise(double raw, size_t nwindows, const struct nab_profile *p)
{
	double null = -p->fn * (double)nwindows;
	double perfect = p->tp * (double)nwindows;
	return 100.0 * (raw - null) / (perfect - null);
}

struct nab_result nab_corpus_score(const struct nab_corpus *c, double *const *scores, double thr,
                                   const struct nab_profile *p)
{
	struct nab_result r = { thr, 0, 0 };
	for (size_t i = 0; i < c->nfiles; i++)
		r.raw += nab_file_score(&c->files[i], scores[i], thr, p);
	r.normalised = nab_normalise(r.raw, c->nwindows, p);
	return r;
}

/* One scored row in the sweep. */
struct srow {
	double a;   /* detector score */
	double v;   /* worth of detecting the row */
	long win;   /* global window index, or -1 */
};

static int srow_cmp(const void *x, const void *y)
{
	const struct srow *a = x, *b = y;
	return (a->a < b->a) - (a->a > b->a); /* descending */
}

struct nab_result nab_sweep(const struct nab_corpus *c, double *const *scores,
                            const struct nab_profile *p)
{
	struct nab_result r = { -1, -1, 0 };
	size_t nrows = 0, maxn = 0;
	for (size_t i = 0; i < c->nfiles; i++) {
		nrows += c->files[i].n - nab_probation(c->files[i].n);
		if (c->files[i].n > maxn)
			maxn = c->files[i].n;
	}
	struct srow *rows = malloc((nrows + 1) * sizeof(*rows));
	double *v = malloc((maxn + 1) * sizeof(*v));
	long *wid = malloc((maxn + 1) * sizeof(*wid));
	double *best = malloc((c->nwindows + 1) * sizeof(*best));
	if (!rows || !v || !wid || !best)
		goto out;

	/* Start from "detect nothing": every counted window is a miss. */
	double total = 0;
	size_t m = 0, wbase = 0;
	for (size_t i = 0; i < c->nfiles; i++) {
		const struct nab_file *f = &c->files[i];
		size_t prob = nab_probation(f->n);
		nab_row_values(f, p, v);
		row_windows(f, wid);
		for (size_t k = 0; k < f->nwin; k++) {
			best[wbase + k] = -p->fn;
			if (f->win[k].end >= prob)
				total += -p->fn;
		}
		for (size_t j = prob; j < f->n; j++) {
			rows[m].a = scores[i][j];
			rows[m].v = v[j];
			rows[m].win = wid[j] >= 0 ? (long)wbase + wid[j] : -1;
			m++;
		}
		wbase += f->nwin;
	}
	qsort(rows, m, sizeof(*rows), srow_cmp);

	double best_total = total, best_thr = 1.1;
	for (size_t j = 0; j < m;) {
		double a = rows[j].a;
		for (; j < m && rows[j].a == a; j++) {
			if (rows[j].win < 0) {
				total += rows[j].v;
			} else if (rows[j].v > best[rows[j].win]) {
				total += rows[j].v - best[rows[j].win];
				best[rows[j].win] = rows[j].v;
			}
		}
		if (total > best_total && a <= 1.1) {
			best_total = total;
			best_thr = a;
		}
	}
	r.threshold = best_thr;
	r.raw = best_total;
	r.normalised = nab_normalise(best_total, c->nwindows, p);
out:
	free(rows);
	free(v);
	free(wid);
	free(best);
	return r;
}

/* ---- loading ------------------------------------------------------------ */

/* Reads a whole (possibly gzip) file. */
static char *slurp(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf)
			break;
		if (n == cap) {
			char *nb = realloc(buf, 2 * cap + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		int got = gzread(g, buf + n, (unsigned)(cap - n));
		if (got < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	gzclose(g);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

int nab_csv_read(const char *path, const char *const *cols, size_t ncols, double **out,
                 size_t *n, char *errbuf, size_t errcap)
{
	size_t len = 0;
	int rc = -1;
	long idx[16];
	size_t cap = 0, rows = 0;
	char *buf = slurp(path, &len);
	for (size_t k = 0; k < ncols; k++)
		out[k] = NULL;
	if (!buf) {
		errf(errbuf, errcap, "cannot read '%s'", path);
		return -1;
	}
	if (ncols > 16) {
		errf(errbuf, errcap, "too many columns");
		goto out;
	}
	/* header */
	char *line = buf, *eol = strchr(line, '\n');
	if (!eol) {
		errf(errbuf, errcap, "'%s': no header line", path);
		goto out;
	}
	*eol = '\0';
	for (size_t k = 0; k < ncols; k++) {
		idx[k] = -1;
		long col = 0;
		for (char *p = line; p;) {
			char *comma = strchr(p, ',');
			size_t l = comma ? (size_t)(comma - p) : strlen(p);
			if (l && p[l - 1] == '\r')
				l--;
			if (l == strlen(cols[k]) && !memcmp(p, cols[k], l))
				idx[k] = col;
			col++;
			p = comma ? comma + 1 : NULL;
		}
		if (idx[k] < 0) {
			errf(errbuf, errcap, "'%s': no column '%s'", path, cols[k]);
			goto out;
		}
	}
	uint64_t lineno = 1;
	for (line = eol + 1; *line; line = eol ? eol + 1 : line + strlen(line)) {
		lineno++;
		eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		if (!*line || *line == '\r')
			continue;
		if (rows == cap) {
			cap = cap ? 2 * cap : 4096;
			for (size_t k = 0; k < ncols; k++) {
				double *nb = realloc(out[k], cap * sizeof(double));
				if (!nb) {
					errf(errbuf, errcap, "out of memory");
					goto out;
				}
				out[k] = nb;
			}
		}
		long col = 0;
		size_t found = 0;
		for (char *p = line; p; col++) {
			char *comma = strchr(p, ',');
			size_t l = comma ? (size_t)(comma - p) : strlen(p);
			if (l && p[l - 1] == '\r')
				l--;
			for (size_t k = 0; k < ncols; k++) {
				if (idx[k] != col)
					continue;
				found++;
				if (!strcmp(cols[k], "timestamp")) {
					int64_t t;
					if (!pb_time_parse(p, l, &t, NULL)) {
						errf(errbuf, errcap, "%s:%llu: bad timestamp", path,
						     (unsigned long long)lineno);
						goto out;
					}
					out[k][rows] = (double)t;
				} else {
					char tmp[64], *end;
					if (l == 0 || l >= sizeof(tmp)) {
						errf(errbuf, errcap, "%s:%llu: bad number in '%s'", path,
						     (unsigned long long)lineno, cols[k]);
						goto out;
					}
					memcpy(tmp, p, l);
					tmp[l] = '\0';
					errno = 0;
					out[k][rows] = strtod(tmp, &end);
					if (*end || errno) {
						errf(errbuf, errcap, "%s:%llu: bad number '%s'", path,
						     (unsigned long long)lineno, tmp);
						goto out;
					}
				}
			}
			p = comma ? comma + 1 : NULL;
		}
		if (found != ncols) {
			errf(errbuf, errcap, "%s:%llu: missing fields", path, (unsigned long long)lineno);
			goto out;
		}
		rows++;
	}
	*n = rows;
	rc = 0;
out:
	if (rc != 0)
		for (size_t k = 0; k < ncols; k++) {
			free(out[k]);
			out[k] = NULL;
		}
	free(buf);
	return rc;
}

static int file_cmp(const void *x, const void *y)
{
	const struct nab_file *a = x, *b = y;
	return strcmp(a->name, b->name);
}

static size_t find_row(const struct nab_file *f, int64_t t, int *ok)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->t[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ok = lo < f->n && f->t[lo] == t;
	return lo;
}

int nab_windows_load(const char *json_path, struct nab_corpus *c, char *errbuf, size_t errcap)
{
	json_error_t jerr;
	json_t *root = json_load_file(json_path, 0, &jerr);
	int rc = -1;
	if (!root || !json_is_object(root)) {
		errf(errbuf, errcap, "%s:%d: %s", json_path, jerr.line, root ? "not an object" : jerr.text);
		goto out;
	}
	c->nwindows = 0;
	for (size_t i = 0; i < c->nfiles; i++) {
		struct nab_file *f = &c->files[i];
		json_t *list = json_object_get(root, f->name);
		free(f->win);
		f->win = NULL;
		f->nwin = 0;
		if (!list)
			continue;
		size_t nw = json_array_size(list);
		f->win = calloc(nw + 1, sizeof(*f->win));
		if (!f->win) {
			errf(errbuf, errcap, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < nw; k++) {
			json_t *pair = json_array_get(list, k);
			const char *s = json_string_value(json_array_get(pair, 0));
			const char *e = json_string_value(json_array_get(pair, 1));
			int64_t ts, te;
			int ok1, ok2;
			if (!s || !e || !pb_time_parse(s, strlen(s), &ts, NULL) ||
			    !pb_time_parse(e, strlen(e), &te, NULL)) {
				errf(errbuf, errcap, "%s: %s: bad window %zu", json_path, f->name, k);
				goto out;
			}
			size_t rs = find_row(f, ts, &ok1), re = find_row(f, te, &ok2);
			if (!ok1 || !ok2 || re < rs) {
				errf(errbuf, errcap, "%s: %s: window %zu does not match rows", json_path,
				     f->name, k);
				goto out;
			}
			if (k > 0 && rs <= f->win[k - 1].end) {
				errf(errbuf, errcap, "%s: %s: windows overlap or are unsorted", json_path,
				     f->name);
				goto out;
			}
			f->win[k].start = rs;
			f->win[k].end = re;
			f->nwin++;
		}
		c->nwindows += f->nwin;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int nab_corpus_load(const char *root, struct nab_corpus *c, char *errbuf, size_t errcap)
{
	memset(c, 0, sizeof(*c));
	char path[4096];
	size_t cap = 0;
	snprintf(path, sizeof(path), "%s/data", root);
	DIR *d = opendir(path);
	if (!d) {
		errf(errbuf, errcap, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	struct dirent *cat;
	while ((cat = readdir(d)) != NULL) {
		if (cat->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/data/%s", root, cat->d_name);
		DIR *d2 = opendir(path);
		if (!d2)
			continue;
		struct dirent *e;
		while ((e = readdir(d2)) != NULL) {
			size_t l = strlen(e->d_name);
			if (l < 5 || strcmp(e->d_name + l - 4, ".csv") != 0)
				continue;
			if (c->nfiles == cap) {
				cap = cap ? 2 * cap : 64;
				struct nab_file *nf = realloc(c->files, cap * sizeof(*nf));
				if (!nf) {
					closedir(d2);
					closedir(d);
					errf(errbuf, errcap, "out of memory");
					return -1;
				}
				c->files = nf;
			}
			struct nab_file *f = &c->files[c->nfiles];
			memset(f, 0, sizeof(*f));
			size_t nl = strlen(cat->d_name) + 1 + l + 1;
			f->name = malloc(nl);
			if (f->name)
				snprintf(f->name, nl, "%s/%s", cat->d_name, e->d_name);
			c->nfiles++;
		}
		closedir(d2);
	}
	closedir(d);
	if (c->nfiles == 0) {
		errf(errbuf, errcap, "no series under '%s/data'", root);
		return -1;
	}
	qsort(c->files, c->nfiles, sizeof(*c->files), file_cmp);
	for (size_t i = 0; i < c->nfiles; i++) {
		struct nab_file *f = &c->files[i];
		static const char *const cols[] = { "timestamp", "value" };
		double *col[2];
		if (!f->name) {
			errf(errbuf, errcap, "out of memory");
			return -1;
		}
		snprintf(path, sizeof(path), "%s/data/%s", root, f->name);
		if (nab_csv_read(path, cols, 2, col, &f->n, errbuf, errcap) != 0)
			return -1;
		f->t = malloc((f->n + 1) * sizeof(*f->t));
		if (!f->t) {
			free(col[0]);
			free(col[1]);
			errf(errbuf, errcap, "out of memory");
			return -1;
		}
		for (size_t j = 0; j < f->n; j++)
			f->t[j] = (int64_t)col[0][j];
		free(col[0]);
		f->v = col[1];
	}
	snprintf(path, sizeof(path), "%s/labels/combined_windows.json", root);
	return nab_windows_load(path, c, errbuf, errcap);
}

void nab_corpus_free(struct nab_corpus *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].name);
		free(c->files[i].t);
		free(c->files[i].v);
		free(c->files[i].win);
	}
	free(c->files);
	memset(c, 0, sizeof(*c));
}
