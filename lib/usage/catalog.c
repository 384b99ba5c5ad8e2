/* catalog.c - regions, services, capabilities and units, loaded from data files.
 *
 * Every table lives in data/catalog/ as CSV (see docs/catalog.md); nothing is
 * compiled in. Lookups fold ASCII case and trim spaces. Loading checks the
 * files against each other (a service's category must be a FOCUS category, its
 * capabilities must be defined, an alias must not point at two countries) and
 * reports the file, line and field of the first problem.
 */
#include "probity.h"
#include "usage/catalog.h"
#include "usage/csv.h"
#include "util/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define CATALOG_FILE_LIMIT (16u << 20)
#define MAX_FIELDS 16

struct rule {
	const char *field;   /* "sku_meter" or "category" (interned) */
	char *pattern;
	const char *capability; /* interned */
};

struct svc {
	struct pb_service pub;
	const char **caps;
	struct rule *rules;
	size_t nrules;
};

struct unit {
	struct pb_unit pub;
	struct pb__unit_factor factor;
};

struct capu {
	const char *cap;   /* interned */
	const char *units; /* '|'-separated normalised units, "" when not known */
	uint64_t line;
};

struct pb_catalog {
	char sha256[65];
	char *cap_file; /* capabilities.csv's path, for errors in its units */
	struct capu *capu;
	size_t ncapu;
	/* owned strings, freed at the end */
	char **strs;
	size_t nstrs, capstrs;
	struct pb_region *regions;
	size_t nregions;
	struct svc *services;
	size_t nservices;
	struct unit *units;
	size_t nunits;
	struct pb_hmap region_by_key;   /* lower(spelling) -> struct pb_region* */
	struct pb_hmap service_by_key;  /* lower(name or alias) -> struct svc* */
	struct pb_hmap capability;      /* lower(cap) -> interned name */
	struct pb_hmap cap_units;       /* lower(cap) -> its '|'-separated units, or "" */
	struct pb_hmap category;        /* lower(cat) -> canonical */
	struct pb_hmap subcategory;     /* lower(sub) -> canonical */
	struct pb_hmap country;         /* code -> code */
	struct pb_hmap currency;        /* code -> code */
	struct pb_hmap unit_by_key;     /* lower(unit) -> struct unit* */
	struct pb_hmap azure_svc;       /* lower(consumed|type) and lower(consumed) -> name */
};

/* Marks a ConsumedService that maps to several service names. */
static char ambiguous[] = "";

/* ---- helpers ---------------------------------------------------------- */

static char *keep(struct pb_catalog *c, const char *s, size_t n)
{
	if (c->nstrs == c->capstrs) {
		size_t nc = c->capstrs ? c->capstrs * 2 : 256;
		char **p = realloc(c->strs, nc * sizeof(*p));
		if (!p)
			return NULL;
		c->strs = p;
		c->capstrs = nc;
	}
	char *d = pb__strndup(s, n);
	if (d)
		c->strs[c->nstrs++] = d;
	return d;
}

/* Lower-cased, trimmed key into buf (cap bytes); returns its length. */
static size_t key_of(struct pb_str s, char *buf, size_t cap)
{
	s = pb_str_trim(s);
	size_t n = s.len < cap ? s.len : cap;
	for (size_t i = 0; i < n; i++) {
		char ch = s.ptr[i];
		buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	return n;
}

#define KEYBUF 256

static void *get_ci(const struct pb_hmap *m, struct pb_str s)
{
	char k[KEYBUF];
	if (pb_str_trim(s).len > KEYBUF)
		return NULL;
	size_t n = key_of(s, k, sizeof(k));
	return pb__hmap_get(m, k, n);
}

/* Puts lower(s) -> v; PB_EEXIST when present with *old set. */
static enum pb_status put_ci(struct pb_hmap *m, struct pb_str s, void *v, void **old)
{
	char k[KEYBUF];
	if (pb_str_trim(s).len > KEYBUF)
		return PB_ELIMIT;
	size_t n = key_of(s, k, sizeof(k));
	return pb__hmap_put(m, k, n, v, old);
}

/* Splits "a|b|c" into views (at most cap); returns how many. */
static size_t split_bars(struct pb_str list, struct pb_str *out, size_t cap)
{
	size_t n = 0;
	while (list.len && n < cap) {
		const char *bar = memchr(list.ptr, '|', list.len);
		size_t l = bar ? (size_t)(bar - list.ptr) : list.len;
		out[n++] = pb_str_of(list.ptr, l);
		list = bar ? pb_str_of(bar + 1, list.len - l - 1) : pb_str_of(list.ptr + l, 0);
	}
	return n;
}

bool pb__glob_match_ci(const char *pat, struct pb_str text)
{
	/* iterative matcher with one backtrack point per '*' */
	size_t p = 0, t = 0, star_p = SIZE_MAX, star_t = 0;
	size_t plen = strlen(pat);
	while (t < text.len) {
		if (p < plen && pat[p] == '*') {
			star_p = p++;
			star_t = t;
			continue;
		}
		if (p < plen) {
			char a = pat[p], b = text.ptr[t];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a + 32);
			if (b >= 'A' && b <= 'Z')
				b = (char)(b + 32);
			if (a == b) {
				p++;
				t++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		p = star_p + 1;
		t = ++star_t;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

/* Reads one catalog CSV; calls row() for each data row after checking the
 * header names (in order). */
typedef enum pb_status (*row_fn)(struct pb_catalog *c, const char *file, uint64_t line,
                                 const struct pb_str *f, size_t n, struct pb_error *err);

static enum pb_status load_csv(struct pb_catalog *c, const char *dir, const char *name,
                               const char *const *header, size_t ncols, row_fn row,
                               struct pb_sha256 *hash, struct pb_error *err)
{
	char *path = pb__path_join(dir, name);
	if (!path)
		return pb__err(err, PB_ENOMEM, "out of memory");
	char *data = NULL;
	size_t len = 0;
	struct pb_csv_reader r;
	bool reader = false;
	enum pb_status st = pb__read_file(path, CATALOG_FILE_LIMIT, &data, &len, err);
	if (st) {
		pb__err_prefix(err, "catalog");
		goto out;
	}
	pb__sha256_update(hash, name, strlen(name) + 1);
	pb__sha256_update(hash, data, len);
	if ((st = pb__csv_reader_init(&r, data, len, path, MAX_FIELDS, true, err)))
		goto out;
	reader = true;
	struct pb_str f[MAX_FIELDS];
	size_t n;
	if ((st = pb__csv_reader_next(&r, f, &n, err)))
		goto out;
	if (n < ncols) {
		st = pb__err_at(err, PB_EFORMAT, path, r.line, 1,
		                "catalog header has %zu columns, expected %zu starting with '%s'", n,
		                ncols, header[0]);
		goto out;
	}
	for (size_t i = 0; i < ncols; i++)
		if (!pb_str_eq_cstr(f[i], header[i])) {
			st = pb__err_at(err, PB_EFORMAT, path, r.line, (uint32_t)i + 1,
			                "catalog header: expected column '%s', found '%.*s'", header[i],
			                (int)f[i].len, f[i].ptr);
			goto out;
		}
	for (;;) {
		if ((st = pb__csv_reader_next(&r, f, &n, err)))
			goto out;
		if (n == 0)
			break;
		if (n != ncols) {
			st = pb__err_at(err, PB_EFORMAT, path, r.line, 1,
			                "expected %zu fields, found %zu", ncols, n);
			goto out;
		}
		if ((st = row(c, path, r.line, f, n, err)))
			goto out;
	}
out:
	if (reader)
		pb__csv_reader_release(&r);
	free(data);
	free(path);
	return st;
}

/* ---- rows of each file --------------------------------------------------- */

static enum pb_status category_row(struct pb_catalog *c, const char *file, uint64_t line,
                                   const struct pb_str *f, size_t n, struct pb_error *err)
{
	char *cat = (char *)get_ci(&c->category, f[0]);
	if (!cat) {
		cat = keep(c, f[0].ptr, f[0].len);
		if (!cat || put_ci(&c->category, f[0], cat, NULL) == PB_ENOMEM)
			return pb__err(err, PB_ENOMEM, "out of memory");
	}
	char *sub = keep(c, f[1].ptr, f[1].len);
	if (!sub)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = put_ci(&c->subcategory, f[1], sub, NULL);
	if (st == PB_EEXIST)
		return pb__err_at(err, PB_EFORMAT, file, line, 2, "subcategory '%.*s' listed twice",
		                  (int)f[1].len, f[1].ptr);
	return st == PB_OK ? PB_OK : pb__err(err, PB_ENOMEM, "out of memory");
}

static enum pb_status capability_row(struct pb_catalog *c, const char *file, uint64_t line,
                                     const struct pb_str *f, size_t n, struct pb_error *err)
{
	for (size_t i = 0; i < f[0].len; i++) {
		char ch = f[0].ptr[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return pb__err_at(err, PB_EFORMAT, file, line, 1,
			                  "capability '%.*s': use lower-case letters, digits and '-'",
			                  (int)f[0].len, f[0].ptr);
	}
	char *cap = keep(c, f[0].ptr, f[0].len);
	if (!cap)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = put_ci(&c->capability, f[0], cap, NULL);
	if (st == PB_EEXIST)
		return pb__err_at(err, PB_EFORMAT, file, line, 1, "capability '%s' listed twice", cap);
	if (st != PB_OK)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct pb_str us = pb_str_trim(f[2]);
	char *units = keep(c, us.ptr, us.len);
	if (!units || put_ci(&c->cap_units, f[0], units, NULL) != PB_OK)
		return pb__err(err, PB_ENOMEM, "out of memory");
	/* checked against units.csv once that is loaded */
	if (!c->cap_file && !(c->cap_file = pb__strndup(file, strlen(file))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct capu *a = realloc(c->capu, (c->ncapu + 1) * sizeof(*a));
	if (!a)
		return pb__err(err, PB_ENOMEM, "out of memory");
	c->capu = a;
	c->capu[c->ncapu++] = (struct capu){ cap, units, line };
	return PB_OK;
}

static enum pb_status region_row(struct pb_catalog *c, const char *file, uint64_t line,
                                 const struct pb_str *f, size_t n, struct pb_error *err)
{
	struct pb_str country = pb_str_trim(f[3]);
	if (country.len != 0 &&
	    (country.len != 2 || country.ptr[0] < 'A' || country.ptr[0] > 'Z' ||
	     country.ptr[1] < 'A' || country.ptr[1] > 'Z'))
		return pb__err_at(err, PB_EFORMAT, file, line, 4,
		                  "country '%.*s': expected an ISO 3166-1 alpha-2 code like NL",
		                  (int)f[3].len, f[3].ptr);
	struct pb_region *r = &c->regions[c->nregions++];
	r->provider = keep(c, f[0].ptr, f[0].len);
	r->id = keep(c, f[1].ptr, f[1].len);
	r->name = keep(c, f[2].ptr, f[2].len);
	r->country = keep(c, country.ptr, country.len);
	if (!r->provider || !r->id || !r->name || !r->country)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (country.len)
		put_ci(&c->country, country, (void *)r->country, NULL);
	struct pb_str keys[64];
	size_t nk = 0;
	keys[nk++] = f[1];
	keys[nk++] = f[2];
	nk += split_bars(f[4], keys + nk, PB_ARRAY_LEN(keys) - nk);
	for (size_t i = 0; i < nk; i++) {
		void *old = NULL;
		enum pb_status st = put_ci(&c->region_by_key, keys[i], r, &old);
		if (st == PB_EEXIST) {
			const struct pb_region *o = old;
			if (strcmp(o->country, r->country) != 0)
				return pb__err_at(err, PB_EFORMAT, file, line, i == 0 ? 2 : i == 1 ? 3 : 5,
				                  "'%.*s' already names region '%s' in another country",
				                  (int)keys[i].len, keys[i].ptr, o->id);
			/* same spelling, same country (e.g. "Global"): the first stays */
		} else if (st) {
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
	}
	return PB_OK;
}

static enum pb_status spelling_row(struct pb_catalog *c, const char *file, uint64_t line,
                                   const struct pb_str *f, size_t n, struct pb_error *err)
{
	struct pb_region *r = get_ci(&c->region_by_key, f[1]);
	if (!r)
		return pb__err_at(err, PB_EFORMAT, file, line, 2,
		                  "region '%.*s' is not in regions.csv", (int)f[1].len, f[1].ptr);
	void *old = NULL;
	enum pb_status st = put_ci(&c->region_by_key, f[0], r, &old);
	if (st == PB_EEXIST) {
		const struct pb_region *o = old;
		if (strcmp(o->country, r->country) != 0)
			return pb__err_at(err, PB_EFORMAT, file, line, 1,
			                  "spelling '%.*s' names '%s' and '%s' in different countries",
			                  (int)f[0].len, f[0].ptr, o->id, r->id);
		return PB_OK;
	}
	return st == PB_OK ? PB_OK : pb__err(err, PB_ENOMEM, "out of memory");
}

static enum pb_status service_row(struct pb_catalog *c, const char *file, uint64_t line,
                                  const struct pb_str *f, size_t n, struct pb_error *err)
{
	struct svc *s = &c->services[c->nservices++];
	memset(s, 0, sizeof(*s));
	s->pub.provider = keep(c, f[0].ptr, f[0].len);
	s->pub.name = keep(c, f[1].ptr, f[1].len);
	s->pub.category = pb__catalog_category(c, f[3]);
	s->pub.subcategory = pb__catalog_subcategory(c, f[4]);
	if (!s->pub.provider || !s->pub.name)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (!s->pub.category)
		return pb__err_at(err, PB_EFORMAT, file, line, 4,
		                  "'%.*s' is not a FOCUS service category", (int)f[3].len, f[3].ptr);
	if (!s->pub.subcategory)
		return pb__err_at(err, PB_EFORMAT, file, line, 5,
		                  "'%.*s' is not a FOCUS service subcategory", (int)f[4].len,
		                  f[4].ptr);
	/* capabilities */
	const char *tmp[32];
	struct pb_str parts[33];
	size_t ncap = split_bars(f[5], parts, PB_ARRAY_LEN(parts));
	if (ncap > PB_ARRAY_LEN(tmp))
		return pb__err_at(err, PB_ELIMIT, file, line, 6, "too many capabilities");
	for (size_t i = 0; i < ncap; i++) {
		tmp[i] = get_ci(&c->capability, parts[i]);
		if (!tmp[i])
			return pb__err_at(err, PB_EFORMAT, file, line, 6,
			                  "capability '%.*s' is not in capabilities.csv",
			                  (int)parts[i].len, parts[i].ptr);
	}
	if (ncap) {
		s->caps = malloc(ncap * sizeof(*s->caps));
		if (!s->caps)
			return pb__err(err, PB_ENOMEM, "out of memory");
		memcpy(s->caps, tmp, ncap * sizeof(*tmp));
	}
	s->pub.capabilities = s->caps;
	s->pub.ncapabilities = ncap;
	/* names */
	struct pb_str keys[32];
	size_t nk = 0;
	keys[nk++] = f[1];
	nk += split_bars(f[2], keys + nk, PB_ARRAY_LEN(keys) - nk);
	for (size_t i = 0; i < nk; i++) {
		void *old = NULL;
		enum pb_status st = put_ci(&c->service_by_key, keys[i], s, &old);
		if (st == PB_EEXIST) {
			const struct svc *o = old;
			return pb__err_at(err, PB_EFORMAT, file, line, i ? 3 : 2,
			                  "service name '%.*s' already belongs to '%s'",
			                  (int)keys[i].len, keys[i].ptr, o->pub.name);
		}
		if (st)
			return pb__err(err, PB_ENOMEM, "out of memory");
	}
	return PB_OK;
}

static enum pb_status rule_row(struct pb_catalog *c, const char *file, uint64_t line,
                               const struct pb_str *f, size_t n, struct pb_error *err)
{
	struct svc *s = get_ci(&c->service_by_key, f[0]);
	if (!s)
		return pb__err_at(err, PB_EFORMAT, file, line, 1, "service '%.*s' is not in services.csv",
		                  (int)f[0].len, f[0].ptr);
	const char *field;
	if (pb_str_eq_cstr(f[1], "sku_meter"))
		field = "sku_meter";
	else if (pb_str_eq_cstr(f[1], "category"))
		field = "category";
	else
		return pb__err_at(err, PB_EFORMAT, file, line, 2,
		                  "field '%.*s': expected sku_meter or category", (int)f[1].len,
		                  f[1].ptr);
	const char *cap = get_ci(&c->capability, f[3]);
	if (!cap)
		return pb__err_at(err, PB_EFORMAT, file, line, 4,
		                  "capability '%.*s' is not in capabilities.csv", (int)f[3].len,
		                  f[3].ptr);
	bool offered = false;
	for (size_t i = 0; i < s->pub.ncapabilities; i++)
		offered |= s->pub.capabilities[i] == cap;
	if (!offered)
		return pb__err_at(err, PB_EFORMAT, file, line, 4,
		                  "service '%s' does not offer capability '%s' in services.csv",
		                  s->pub.name, cap);
	struct rule *nr = realloc(s->rules, (s->nrules + 1) * sizeof(*nr));
	if (!nr)
		return pb__err(err, PB_ENOMEM, "out of memory");
	s->rules = nr;
	struct rule *r = &nr[s->nrules++];
	r->field = field;
	r->capability = cap;
	r->pattern = keep(c, f[2].ptr, f[2].len);
	if (!r->pattern)
		return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
}

/* Parses a factor: a decimal, or num/den with den a positive integer. */
static bool parse_factor(struct pb_str s, struct pb__unit_factor *f)
{
	const char *slash = memchr(s.ptr, '/', s.len);
	size_t nl = slash ? (size_t)(slash - s.ptr) : s.len;
	unsigned fl = 0;
	if (pb__dec_parse(s.ptr, nl, &f->num, &fl) != PB_OK || (fl & PB_DEC_ROUNDED) ||
	    f->num <= 0)
		return false;
	f->den = 1;
	if (slash) {
		int64_t d = 0;
		size_t i = nl + 1;
		if (i == s.len)
			return false;
		for (; i < s.len; i++) {
			if (s.ptr[i] < '0' || s.ptr[i] > '9' || d > 1000000000)
				return false;
			d = d * 10 + (s.ptr[i] - '0');
		}
		if (d <= 0)
			return false;
		f->den = d;
	}
	return true;
}

static enum pb_status unit_row(struct pb_catalog *c, const char *file, uint64_t line,
                               const struct pb_str *f, size_t n, struct pb_error *err)
{
	struct unit *u = &c->units[c->nunits++];
	if (!parse_factor(pb_str_trim(f[2]), &u->factor))
		return pb__err_at(err, PB_EFORMAT, file, line, 3,
		                  "factor '%.*s': expected a positive decimal or a fraction a/b",
		                  (int)f[2].len, f[2].ptr);
	u->pub.unit = keep(c, f[0].ptr, f[0].len);
	u->pub.normalised = keep(c, f[1].ptr, f[1].len);
	u->pub.factor = keep(c, f[2].ptr, f[2].len);
	if (!u->pub.unit || !u->pub.normalised || !u->pub.factor)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = put_ci(&c->unit_by_key, f[0], u, NULL);
	if (st == PB_EEXIST)
		return pb__err_at(err, PB_EFORMAT, file, line, 1, "unit '%.*s' listed twice",
		                  (int)f[0].len, f[0].ptr);
	return st == PB_OK ? PB_OK : pb__err(err, PB_ENOMEM, "out of memory");
}

/* Every unit a capability lists must be the normalised unit of some units.csv
 * row: a typo would otherwise refuse every policy threshold in that unit. */
static enum pb_status check_capability_units(struct pb_catalog *c, struct pb_error *err)
{
	for (size_t i = 0; i < c->ncapu; i++) {
		struct pb_str part[64];
		size_t np = split_bars(pb_str_of(c->capu[i].units, strlen(c->capu[i].units)), part, 64);
		for (size_t j = 0; j < np; j++) {
			bool found = false;
			for (size_t k = 0; k < c->nunits && !found; k++)
				found = pb_str_eq_cstr(part[j], c->units[k].pub.normalised);
			if (!found)
				return pb__err_at(err, PB_EFORMAT, c->cap_file, c->capu[i].line, 3,
				                  "capability '%s': unit '%.*s' is not a normalised unit of "
				                  "units.csv",
				                  c->capu[i].cap, (int)part[j].len, part[j].ptr);
		}
	}
	return PB_OK;
}

static enum pb_status currency_row(struct pb_catalog *c, const char *file, uint64_t line,
                                   const struct pb_str *f, size_t n, struct pb_error *err)
{
	struct pb_str code = pb_str_trim(f[1]);
	if (code.len != 3)
		return pb__err_at(err, PB_EFORMAT, file, line, 2,
		                  "currency '%.*s': expected a 3-letter ISO 4217 code", (int)code.len,
		                  code.ptr);
	char *k = keep(c, code.ptr, code.len);
	if (!k)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb__hmap_put(&c->currency, code.ptr, code.len, k, NULL);
	return st == PB_ENOMEM ? pb__err(err, PB_ENOMEM, "out of memory") : PB_OK;
}

/* Microsoft's ConsumedService + ResourceType -> ServiceName table. */
static enum pb_status azure_row(struct pb_catalog *c, const char *file, uint64_t line,
                                const struct pb_str *f, size_t n, struct pb_error *err)
{
	(void)file;
	(void)line;
	(void)n;
	if (f[0].len + f[1].len + 1 > KEYBUF || f[2].len == 0)
		return PB_OK;
	char *name = keep(c, f[2].ptr, f[2].len);
	if (!name)
		return pb__err(err, PB_ENOMEM, "out of memory");
	char k[KEYBUF + 2];
	size_t kl = key_of(f[0], k, KEYBUF);
	k[kl++] = '|';
	kl += key_of(f[1], k + kl, KEYBUF + 1 - kl);
	if (pb__hmap_put(&c->azure_svc, k, kl, name, NULL) == PB_ENOMEM)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (f[0].len) {
		void *old = NULL;
		kl = key_of(f[0], k, KEYBUF);
		enum pb_status st = pb__hmap_put(&c->azure_svc, k, kl, name, &old);
		if (st == PB_EEXIST && old != ambiguous && strcmp((const char *)old, name) != 0) {
			/* several names for one ConsumedService: the type must decide */
			struct pb_hmap_slot *sl = NULL;
			for (size_t i = 0; i < c->azure_svc.cap && !sl; i++)
				if (c->azure_svc.slots[i].key && c->azure_svc.slots[i].len == kl &&
				    memcmp(c->azure_svc.slots[i].key, k, kl) == 0)
					sl = &c->azure_svc.slots[i];
			if (sl)
				sl->value = ambiguous;
		} else if (st == PB_ENOMEM) {
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
	}
	return PB_OK;
}

const char *pb__catalog_azure_service(const struct pb_catalog *c, struct pb_str consumed,
                                      struct pb_str resource_type)
{
	char k[KEYBUF + 2];
	if (consumed.len + resource_type.len + 1 > KEYBUF)
		return NULL;
	size_t kl = key_of(consumed, k, KEYBUF);
	size_t cl = kl;
	k[kl++] = '|';
	kl += key_of(resource_type, k + kl, KEYBUF + 1 - kl);
	const char *name = pb__hmap_get(&c->azure_svc, k, kl);
	if (!name) {
		/* the type alone (rows without ConsumedService), then the service alone */
		k[cl] = '|';
		char k2[KEYBUF + 2];
		size_t l2 = 0;
		k2[l2++] = '|';
		l2 += key_of(resource_type, k2 + l2, KEYBUF + 1 - l2);
		name = pb__hmap_get(&c->azure_svc, k2, l2);
	}
	if (!name && consumed.len)
		name = pb__hmap_get(&c->azure_svc, k, cl);
	return name == ambiguous ? NULL : name;
}

/* Counts data lines (an upper bound for rows) to size arrays once. */
static size_t count_lines(const char *dir, const char *name)
{
	char *path = pb__path_join(dir, name);
	char *data = NULL;
	size_t len = 0;
	size_t n = 0;
	if (path && pb__read_file(path, CATALOG_FILE_LIMIT, &data, &len, NULL) == PB_OK)
		n = (size_t)pb__csv_count_lf(data, len) + 1;
	free(data);
	free(path);
	return n;
}

/* ---- public ------------------------------------------------------------ */

enum pb_status pb_catalog_load(const char *dir, struct pb_catalog **out, struct pb_error *err)
{
	*out = NULL;
	struct pb_catalog *c = calloc(1, sizeof(*c));
	if (!c)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct pb_sha256 h;
	enum pb_status st = pb__sha256_init(&h);
	if (st) {
		free(c);
		return pb__err(err, st, "out of memory");
	}
	size_t nreg = count_lines(dir, "regions.csv");
	size_t nsvc = count_lines(dir, "services.csv");
	size_t nunit = count_lines(dir, "units.csv");
	c->regions = calloc(nreg + 1, sizeof(*c->regions));
	c->services = calloc(nsvc + 1, sizeof(*c->services));
	c->units = calloc(nunit + 1, sizeof(*c->units));
	if (!c->regions || !c->services || !c->units) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	static const char *const h_cat[] = { "category", "subcategory" };
	static const char *const h_cap[] = { "capability", "description", "units" };
	static const char *const h_reg[] = { "provider", "region_id", "region_name", "country",
		                             "aliases" };
	static const char *const h_spell[] = { "OriginalValue", "RegionId", "RegionName" };
	static const char *const h_svc[] = { "provider", "service_name", "aliases",
		                             "category", "subcategory", "capabilities" };
	static const char *const h_rule[] = { "service_name", "field", "pattern", "capability" };
	static const char *const h_unit[] = { "unit", "normalised", "factor" };
	static const char *const h_cur[] = { "", "currency_codes" };
	static const char *const h_az[] = { "ConsumedService", "ResourceType", "ServiceName",
		                            "ServiceCategory", "ServiceSubcategory", "PublisherName",
		                            "PublisherType", "Environment", "ServiceModel" };
	if ((st = load_csv(c, dir, "focus-categories.csv", h_cat, 2, category_row, &h, err)) ||
	    (st = load_csv(c, dir, "capabilities.csv", h_cap, 3, capability_row, &h, err)) ||
	    (st = load_csv(c, dir, "regions.csv", h_reg, 5, region_row, &h, err)) ||
	    (st = load_csv(c, dir, "azure-region-spellings.csv", h_spell, 3, spelling_row, &h,
	                   err)) ||
	    (st = load_csv(c, dir, "services.csv", h_svc, 6, service_row, &h, err)) ||
	    (st = load_csv(c, dir, "service-rules.csv", h_rule, 4, rule_row, &h, err)) ||
	    (st = load_csv(c, dir, "units.csv", h_unit, 3, unit_row, &h, err)) ||
	    (st = check_capability_units(c, err)) ||
	    (st = load_csv(c, dir, "currency-codes.csv", h_cur, 2, currency_row, &h, err)) ||
	    (st = load_csv(c, dir, "azure-services.csv", h_az, 9, azure_row, &h, err)))
		goto fail;
	uint8_t d[32];
	pb__sha256_final(&h, d);
	pb_hex(d, 32, c->sha256);
	*out = c;
	return PB_OK;
fail:
	pb__sha256_release(&h);
	pb_catalog_free(c);
	return st;
}

void pb_catalog_free(struct pb_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nservices; i++) {
		free(c->services[i].caps);
		free(c->services[i].rules);
	}
	for (size_t i = 0; i < c->nstrs; i++)
		free(c->strs[i]);
	free(c->strs);
	free(c->regions);
	free(c->services);
	free(c->units);
	pb__hmap_release(&c->region_by_key);
	pb__hmap_release(&c->service_by_key);
	pb__hmap_release(&c->capability);
	pb__hmap_release(&c->cap_units);
	free(c->capu);
	free(c->cap_file);
	pb__hmap_release(&c->category);
	pb__hmap_release(&c->subcategory);
	pb__hmap_release(&c->country);
	pb__hmap_release(&c->currency);
	pb__hmap_release(&c->unit_by_key);
	pb__hmap_release(&c->azure_svc);
	free(c);
}

const char *pb_catalog_sha256(const struct pb_catalog *c)
{
	return c->sha256;
}

const struct pb_region *pb_catalog_region(const struct pb_catalog *c, struct pb_str spelling)
{
	return get_ci(&c->region_by_key, spelling);
}

const struct pb_service *pb_catalog_service(const struct pb_catalog *c, struct pb_str name)
{
	const struct svc *s = get_ci(&c->service_by_key, name);
	return s ? &s->pub : NULL;
}

const char *pb__catalog_capability_row(const struct pb_catalog *c, const struct pb_service *pub,
                                       struct pb_str sku_meter, struct pb_str category)
{
	(void)c;
	if (!pub)
		return NULL;
	const struct svc *s = (const struct svc *)(const void *)pub;
	for (size_t i = 0; i < s->nrules; i++) {
		const struct rule *r = &s->rules[i];
		struct pb_str v = r->field[0] == 's' ? sku_meter : category;
		if (v.len && pb__glob_match_ci(r->pattern, v))
			return r->capability;
	}
	return pub->ncapabilities == 1 ? pub->capabilities[0] : NULL;
}

const char *pb_catalog_capability(const struct pb_catalog *c, struct pb_str service,
                                  struct pb_str sku_meter)
{
	return pb__catalog_capability_row(c, pb_catalog_service(c, service), sku_meter,
	                                  pb_str_of(NULL, 0));
}

bool pb_catalog_capability_known(const struct pb_catalog *c, struct pb_str name)
{
	return get_ci(&c->capability, name) != NULL;
}

const char *pb__catalog_capability_units(const struct pb_catalog *c, struct pb_str name)
{
	const char *u = get_ci(&c->cap_units, name);
	return u && *u ? u : NULL;
}

bool pb__catalog_unit_in(const char *units, const char *unit)
{
	struct pb_str part[64];
	size_t np = split_bars(pb_str_of(units, strlen(units)), part, 64);
	for (size_t j = 0; j < np; j++)
		if (pb_str_eq_cstr(part[j], unit))
			return true;
	return false;
}

const char *pb__catalog_category(const struct pb_catalog *c, struct pb_str name)
{
	return get_ci(&c->category, name);
}

const char *pb__catalog_subcategory(const struct pb_catalog *c, struct pb_str name)
{
	return get_ci(&c->subcategory, name);
}

bool pb_catalog_category_known(const struct pb_catalog *c, struct pb_str name)
{
	return pb__catalog_category(c, name) != NULL;
}

bool pb_catalog_subcategory_known(const struct pb_catalog *c, struct pb_str name)
{
	return pb__catalog_subcategory(c, name) != NULL;
}

bool pb_catalog_country_known(const struct pb_catalog *c, struct pb_str code)
{
	return get_ci(&c->country, code) != NULL;
}

bool pb__catalog_currency_known(const struct pb_catalog *c, struct pb_str code)
{
	return pb__hmap_get(&c->currency, code.ptr, code.len) != NULL;
}

const struct pb_unit *pb_catalog_unit(const struct pb_catalog *c, struct pb_str unit)
{
	const struct unit *u = get_ci(&c->unit_by_key, unit);
	return u ? &u->pub : NULL;
}

const struct pb__unit_factor *pb__catalog_unit_factor(const struct pb_unit *pub)
{
	return &((const struct unit *)(const void *)pub)->factor;
}

bool pb__unit_apply(const struct pb__unit_factor *f, pb_dec q, pb_dec *out)
{
	pb_dec r;
	if (!pb__dec_mul(q, f->num, &r))
		return false;
	if (f->den != 1) {
		pb_dec quo = r / f->den, rem = r % f->den;
		pb_dec arem = rem < 0 ? -rem : rem;
		if (2 * arem > f->den || (2 * arem == f->den && (quo & 1)))
			quo += r < 0 ? -1 : 1;
		r = quo;
	}
	*out = r;
	return true;
}
