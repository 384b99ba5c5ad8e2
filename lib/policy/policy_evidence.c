/* policy_evidence.c - evidence verify: the figures of a stored finding
 * recomputed from the cited source files.
 *
 * Each cited source is re-read through the ingest pipeline without writing
 * (pb__usage_recompute), with its SHA-256 checked, and every daily aggregate
 * that matches a citation (selection, unit or currency, days, group, the
 * entity's accounts) is summed again. The per-source sums and the figures
 * derived from them must equal what the finding says.
 */
#include "policy/policy.h"
#include "auth/auth.h"
#include "usage/usage.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/banned.h"

struct spec {
	json_t *ind;       /* the indicator object */
	json_t *cit;       /* the citation */
	json_t *result;    /* the entity's result */
	int64_t lo, hi;    /* days */
	bool total;        /* role total: every account */
	pb_dec sum;
	uint64_t aggs;
};

struct vctx {
	struct spec *s;
	size_t n;
};

static bool day_of(const char *s, int64_t *out)
{
	int64_t t;
	unsigned fl;
	if (!s || !pb_time_parse(s, strlen(s), &t, &fl))
		return false;
	*out = pb_floordiv(t, 86400);
	return true;
}

static bool in_list(json_t *a, struct pb_str v)
{
	if (!v.ptr)
		return false;
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s && pb_str_eq_cstr(v, s))
			return true;
	}
	return false;
}

static struct pb_str agg_dim(const struct pb__usage_agg *a, const char *key)
{
	static const struct {
		const char *k;
		size_t off;
	} m[] = {
		{ "account", offsetof(struct pb__usage_agg, account) },
		{ "subaccount", offsetof(struct pb__usage_agg, subaccount) },
		{ "provider", offsetof(struct pb__usage_agg, provider) },
		{ "category", offsetof(struct pb__usage_agg, category) },
		{ "subcategory", offsetof(struct pb__usage_agg, subcategory) },
		{ "service", offsetof(struct pb__usage_agg, service) },
		{ "capability", offsetof(struct pb__usage_agg, capability) },
		{ "region", offsetof(struct pb__usage_agg, region) },
		{ "country", offsetof(struct pb__usage_agg, country) },
		{ "charge_category", offsetof(struct pb__usage_agg, charge_category) },
		{ "unit", offsetof(struct pb__usage_agg, unit) },
		{ "currency", offsetof(struct pb__usage_agg, currency) },
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(m); i++)
		if (!strcmp(m[i].k, key))
			return *(const struct pb_str *)((const char *)a + m[i].off);
	return pb_str_of(NULL, 0);
}

static bool on_agg(void *ctx, const struct pb__usage_agg *a)
{
	struct vctx *v = ctx;
	for (size_t i = 0; i < v->n; i++) {
		struct spec *s = &v->s[i];
		if (a->day < s->lo || a->day >= s->hi)
			continue;
		const char *measure = json_string_value(json_object_get(s->ind, "measure"));
		const char *in = json_string_value(json_object_get(s->ind, "measured_in"));
		bool qty = measure && !strcmp(measure, "quantity");
		if (!in || !pb_str_eq_cstr(qty ? a->unit : a->currency, in))
			continue;
		json_t *sel = json_object_get(s->ind, "selection");
		const char *key;
		json_t *vals;
		bool ok = true;
		json_object_foreach(sel, key, vals)
		{
			if (!in_list(vals, agg_dim(a, key))) {
				ok = false;
				break;
			}
		}
		if (!ok)
			continue;
		const char *per = json_string_value(json_object_get(s->ind, "per"));
		const char *grp = json_string_value(json_object_get(s->ind, "group"));
		if (per && strcmp(per, "none") && grp && !pb_str_eq_cstr(agg_dim(a, per), grp))
			continue;
		if (!s->total && !in_list(json_object_get(s->result, "accounts"), a->account) &&
		    !in_list(json_object_get(s->result, "subaccounts"), a->subaccount))
			continue;
		pb_dec m = qty ? a->quantity
		           : !strcmp(measure, "billed-cost")    ? a->billed
		           : !strcmp(measure, "effective-cost") ? a->effective
		                                                : a->list;
		pb__dec_add(&s->sum, m);
		s->aggs++;
	}
	return true;
}

static bool dec_of(json_t *j, pb_dec *out)
{
	const char *s = json_string_value(j);
	unsigned fl;
	*out = 0;
	return s && pb__dec_parse(s, strlen(s), out, &fl) == PB_OK;
}

/* One verification: what pb_evidence_verify's steps share. */
struct everify {
	struct pb_ws *ws;
	const struct pb_catalog *cat;
	long long id; /* the finding */
	struct spec *specs;
	size_t nspec, cap;
	bool bad; /* something does not verify */
};

/* One spec per citation of the indicators inds. */
static enum pb_status collect_specs(struct everify *ev, json_t *inds, json_t *result,
                                    struct pb_error *err)
{
	for (size_t i = 0; i < json_array_size(inds); i++) {
		json_t *ind = json_array_get(inds, i);
		json_t *cits = json_object_get(ind, "citations");
		for (size_t j = 0; j < json_array_size(cits); j++) {
			json_t *c = json_array_get(cits, j);
			if (ev->nspec == ev->cap) {
				ev->cap = ev->cap ? ev->cap * 2 : 16;
				struct spec *ns = realloc(ev->specs, ev->cap * sizeof(*ns));
				if (!ns)
					return pb__err(err, PB_ENOMEM, "out of memory");
				ev->specs = ns;
			}
			struct spec *s = &ev->specs[ev->nspec++];
			memset(s, 0, sizeof(*s));
			s->ind = ind;
			s->cit = c;
			s->result = result;
			const char *role = json_string_value(json_object_get(c, "role"));
			s->total = role && !strcmp(role, "total");
			if (!day_of(json_string_value(json_object_get(c, "from")), &s->lo) ||
			    !day_of(json_string_value(json_object_get(c, "to")), &s->hi))
				return pb__err(err, PB_EVERIFY, "finding %lld: a citation has no valid days",
				               ev->id);
			s->hi++;
		}
	}
	return PB_OK;
}

static const char *spec_sha(const struct spec *s)
{
	return json_string_value(json_object_get(s->cit, "sha256"));
}

/* The cited and recomputed sum of each spec in idx, into so's "citations". */
static void cite_sums(struct everify *ev, const size_t *idx, size_t nm, json_t *so)
{
	json_t *cs = json_array();
	for (size_t j = 0; j < nm; j++) {
		struct spec *s = &ev->specs[idx[j]];
		pb_dec cited;
		dec_of(json_object_get(s->cit, "sum"), &cited);
		char a[PB_DEC_BUFSZ], b[PB_DEC_BUFSZ];
		pb__dec_format(cited, a);
		pb__dec_format(s->sum, b);
		json_t *co = json_object();
		json_object_set_new(co, "indicator", json_incref(json_object_get(s->ind, "name")));
		json_object_set_new(co, "role", json_incref(json_object_get(s->cit, "role")));
		json_object_set_new(co, "cited", json_string(a));
		json_object_set_new(co, "recomputed", json_string(b));
		json_object_set_new(co, "aggregates", json_integer((json_int_t)s->aggs));
		json_object_set_new(co, "match", json_boolean(cited == s->sum));
		if (cited != s->sum)
			ev->bad = true;
		json_array_append_new(cs, co);
	}
	json_object_set_new(so, "citations", cs);
}

/* Source of spec i (its first spec): re-read once for all its specs, which
 * get their sums; its status into sources. */
static enum pb_status verify_source(struct everify *ev, size_t i, json_t *sources,
                                    struct pb_error *err)
{
	struct spec *specs = ev->specs;
	const char *sha = spec_sha(&specs[i]);
	/* the specs of this source, moved to a context of their own */
	struct spec *mine = calloc(ev->nspec, sizeof(*mine));
	size_t *idx = calloc(ev->nspec, sizeof(*idx));
	size_t nm = 0;
	if (!mine || !idx) {
		free(mine);
		free(idx);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	for (size_t j = i; j < ev->nspec; j++)
		if (!strcmp(sha, spec_sha(&specs[j]))) {
			idx[nm] = j;
			mine[nm++] = specs[j];
		}
	const char *path = json_string_value(json_object_get(specs[i].cit, "path"));
	json_t *so = json_object();
	json_object_set_new(so, "sha256", json_string(sha));
	json_object_set_new(so, "path", json_string(path ? path : ""));
	json_array_append_new(sources, so);
	struct stat sb;
	struct pb_error e2 = { 0 };
	struct vctx v = { mine, nm };
	if (!path || stat(path, &sb) != 0) {
		json_object_set_new(so, "status", json_string("missing"));
		json_object_set_new(so, "detail", json_string("the cited file is not there"));
		ev->bad = true;
	} else if (pb__usage_recompute(ev->ws, ev->cat, path, sha, on_agg, &v, &e2) != PB_OK) {
		json_object_set_new(so, "status", json_string(e2.code == PB_EVERIFY ? "changed"
		                                                                     : "unreadable"));
		json_object_set_new(so, "detail", json_string(e2.message));
		ev->bad = true;
	} else {
		json_object_set_new(so, "status", json_string("ok"));
		for (size_t j = 0; j < nm; j++) {
			specs[idx[j]].sum = mine[j].sum;
			specs[idx[j]].aggs = mine[j].aggs;
		}
		cite_sums(ev, idx, nm, so);
	}
	free(mine);
	free(idx);
	return PB_OK;
}

/* The figure of ind from the recomputed sums (w window, p previous, t
 * total), printed into buf; whether it matches the cited figure fig. */
static bool recompute_figure(json_t *ind, json_t *fig, pb_dec w, pb_dec p, pb_dec t,
                             char buf[64])
{
	const char *agg = json_string_value(json_object_get(ind, "aggregate"));
	if (!strcmp(agg, "growth") || !strcmp(agg, "share-of-region")) {
		pb_dec base = !strcmp(agg, "growth") ? p : t;
		if (json_is_null(fig)) {
			snprintf(buf, 64, "%s", base <= 0 ? "null" : "defined");
			return base <= 0;
		}
		double r = base > 0 ? (double)((long double)w / (long double)base) : NAN;
		snprintf(buf, 64, "%.15g", r);
		double c = strtod(json_string_value(fig), NULL);
		return base > 0 && fabs(r - c) <= 1e-12 * fabs(c);
	}
	pb_dec v = w, cited;
	if (!strcmp(agg, "daily-average")) {
		json_t *win = json_object_get(ind, "window");
		int64_t lo, hi;
		if (day_of(json_string_value(json_object_get(win, "from")), &lo) &&
		    day_of(json_string_value(json_object_get(win, "to")), &hi)) {
			int64_t nd = hi - lo + 1;
			pb_dec q = w / nd, rem = w % nd, twice = (rem < 0 ? -rem : rem) * 2;
			if (twice > nd || (twice == nd && (q & 1)))
				q += w < 0 ? -1 : 1;
			v = q;
		}
	}
	pb__dec_format(v, buf);
	return dec_of(fig, &cited) && cited == v;
}

/* The figures of the indicators inds (the first nown the entity's own, the
 * rest parts of a group) from the recomputed sums, into figures. */
static void verify_figures(struct everify *ev, json_t *inds, size_t nown, json_t *figures)
{
	for (size_t i = 0; i < json_array_size(inds); i++) {
		json_t *ind = json_array_get(inds, i);
		if (!json_object_get(ind, "citations"))
			continue;
		pb_dec w = 0, p = 0, t = 0;
		for (size_t j = 0; j < ev->nspec; j++) {
			if (ev->specs[j].ind != ind)
				continue;
			const char *role = json_string_value(json_object_get(ev->specs[j].cit, "role"));
			pb__dec_add(!strcmp(role, "window") ? &w : !strcmp(role, "previous") ? &p : &t,
			            ev->specs[j].sum);
		}
		json_t *fig = json_object_get(ind, "figure");
		json_t *fo = json_object();
		json_object_set_new(fo, "indicator", json_incref(json_object_get(ind, "name")));
		if (i >= nown)
			json_object_set_new(fo, "group", json_incref(json_object_get(ind, "group")));
		json_object_set_new(fo, "cited", json_incref(fig));
		char buf[64];
		bool match = recompute_figure(ind, fig, w, p, t, buf);
		json_object_set_new(fo, "recomputed", json_string(buf));
		json_object_set_new(fo, "match", json_boolean(match));
		if (!match)
			ev->bad = true;
		json_array_append_new(figures, fo);
	}
}

/* The entity's indicators (*nown of them), then the parts of a 'same:'
 * finding of rule in its group (figures and citations of that group, not the
 * indicator's best). */
static json_t *finding_inds(json_t *result, const char *rule, size_t *nown)
{
	json_t *inds = json_array();
	json_array_extend(inds, json_object_get(result, "indicators"));
	*nown = json_array_size(inds);
	json_t *fs = json_object_get(result, "findings");
	for (size_t i = 0; i < json_array_size(fs); i++) {
		json_t *fi = json_array_get(fs, i), *parts = json_object_get(fi, "parts");
		const char *r = json_string_value(json_object_get(fi, "rule"));
		if (r && !strcmp(r, rule) && json_is_array(parts))
			json_array_extend(inds, parts);
	}
	return inds;
}

/* The stored detail of finding f, parsed, and its indicators (finding_inds). */
static enum pb_status finding_doc(const struct pb__finding *f, json_t **doc, json_t **inds,
                                  size_t *nown, struct pb_error *err)
{
	json_error_t je;
	if (!(*doc = json_loads(f->detail, 0, &je)))
		return pb__err(err, PB_EVERIFY, "finding %lld: stored detail is not JSON: %s",
		               (long long)f->id, je.text);
	*inds = finding_inds(json_object_get(*doc, "result"), f->rule, nown);
	return PB_OK;
}

enum pb_status pb_evidence_verify(struct pb_ws *ws, const struct pb_catalog *cat,
                                  const char *ref, char **json, struct pb_error *err)
{
	struct pb__finding f;
	enum pb_status st = pb__finding_get(ws, ref, &f, err);
	json_t *doc = NULL, *rep = NULL, *inds = NULL;
	struct everify ev = { .ws = ws, .cat = cat };
	*json = NULL;
	if (st)
		return st;
	ev.id = (long long)f.id;
	size_t nown;
	if ((st = finding_doc(&f, &doc, &inds, &nown, err)))
		goto out;
	json_t *result = json_object_get(doc, "result");
	rep = json_object();
	json_object_set_new(rep, "finding", json_integer(f.id));
	json_object_set_new(rep, "policy", json_string(f.policy));
	json_object_set_new(rep, "rule", json_string(f.rule));
	json_object_set_new(rep, "entity", json_string(f.entity));
	json_object_set_new(rep, "at", json_string(f.at));
	json_t *sources = json_array(), *figures = json_array();
	json_object_set_new(rep, "sources", sources);
	json_object_set_new(rep, "figures", figures);
	if ((st = collect_specs(&ev, inds, result, err)))
		goto out;
	/* each distinct source once */
	for (size_t i = 0; i < ev.nspec; i++) {
		const char *sha = spec_sha(&ev.specs[i]);
		bool done = false;
		for (size_t j = 0; j < i && !done; j++)
			done = !strcmp(sha, spec_sha(&ev.specs[j]));
		if (!done && (st = verify_source(&ev, i, sources, err)))
			goto out;
	}
	verify_figures(&ev, inds, nown, figures);
	json_object_set_new(rep, "verified", json_boolean(!ev.bad));
	if (!(*json = json_dumps(rep, JSON_COMPACT))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if (ev.bad)
		st = pb__err(err, PB_EVERIFY, "finding F%lld: the cited evidence does not verify",
		             (long long)f.id);
out:
	json_decref(inds);
	json_decref(doc);
	json_decref(rep);
	free(ev.specs);
	free(f.detail);
	return st;
}

/* ---- line proofs ------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct pb__line_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* The cited line ranges ("A-B") of the specs of source sha, sorted and
 * merged where they touch. */
static enum pb_status source_ranges(const struct everify *ev, const char *sha,
                                    struct pb__line_range **out, size_t *nout,
                                    struct pb_error *err)
{
	struct pb__line_range *r = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < ev->nspec; i++) {
		if (strcmp(sha, spec_sha(&ev->specs[i])))
			continue;
		json_t *ls = json_object_get(ev->specs[i].cit, "lines");
		for (size_t j = 0; j < json_array_size(ls); j++) {
			const char *t = json_string_value(json_array_get(ls, j));
			unsigned long long lo, hi;
			if (!t || sscanf(t, "%llu-%llu", &lo, &hi) != 2 || lo == 0 || hi < lo)
				continue;
			void *grown = pb__grow(r, &cap, n, sizeof(*r));
			if (!grown) {
				free(r);
				return pb__err(err, PB_ENOMEM, "out of memory");
			}
			r = grown;
			r[n].lo = lo;
			r[n++].hi = hi;
		}
	}
	if (n)
		qsort(r, n, sizeof(*r), range_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && r[i].lo <= r[m - 1].hi + 1) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
		} else {
			r[m++] = r[i];
		}
	}
	*out = r;
	*nout = m;
	return PB_OK;
}

enum pb_status pb_evidence_prove(struct pb_ws *ws, const char *ref, const char *dir, char **json,
                                 struct pb_error *err)
{
	struct pb__finding f;
	*json = NULL;
	enum pb_status st = pb__finding_get(ws, ref, &f, err);
	if (st)
		return st;
	struct everify ev = { .ws = ws, .id = (long long)f.id };
	json_t *doc = NULL, *inds = NULL, *man = NULL;
	size_t nown;
	if ((st = finding_doc(&f, &doc, &inds, &nown, err)))
		goto out;
	json_t *result = json_object_get(doc, "result");
	if ((st = collect_specs(&ev, inds, result, err)))
		goto out;
	if (mkdir(dir, 0755) != 0) {
		st = pb__err(err, errno == EEXIST ? PB_EEXIST : pb__errno_status(errno),
		             "cannot create the folder '%s': %s", dir,
		             errno == EEXIST ? "it exists already; give a new one"
		                             : pb__errno_text(errno));
		if (err)
			pb__strlcpy(err->field, "output", sizeof(err->field));
		goto out;
	}
	char fid[32];
	snprintf(fid, sizeof(fid), "F%lld", (long long)f.id);
	json_t *sources = json_array();
	man = json_pack("{s:s, s:s, s:s, s:s, s:o}", "format", "probity-line-proof/1", "finding",
	                fid, "policy", f.policy, "rule", f.rule, "sources", sources);
	double t0 = pb__mono();
	for (size_t i = 0; i < ev.nspec && !st; i++) {
		const char *sha = spec_sha(&ev.specs[i]);
		bool done = false;
		for (size_t j = 0; j < i && !done; j++)
			done = !strcmp(sha, spec_sha(&ev.specs[j]));
		if (done)
			continue;
		struct pb__line_range *r = NULL;
		size_t nr = 0;
		if ((st = source_ranges(&ev, sha, &r, &nr, err)))
			break;
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "s%zu-", json_array_size(sources) + 1);
		json_t *so = json_object();
		json_array_append_new(sources, so);
		st = pb__usage_prove_lines(ws, sha, r, nr, dir, prefix, so, err);
		free(r);
	}
	char *text = st ? NULL : json_dumps(man, JSON_INDENT(2));
	if (!st && !text)
		st = pb__err(err, PB_ENOMEM, "out of memory");
	if (!st) {
		char *mp = pb__path_join(dir, "manifest.json");
		size_t tl = strlen(text);
		st = mp ? pb__write_file_atomic(mp, text, tl, 0644, err)
		        : pb__err(err, PB_ENOMEM, "out of memory");
		free(mp);
	}
	free(text);
	if (!st) {
		json_t *rep = json_pack("{s:s, s:s, s:O, s:f}", "finding", fid, "output", dir,
		                        "sources", sources, "seconds", pb__mono() - t0);
		*json = json_dumps(rep, JSON_COMPACT);
		json_decref(rep);
	}
out:
	json_decref(man);
	json_decref(inds);
	json_decref(doc);
	free(ev.specs);
	free(f.detail);
	return st;
}

enum pb_status pb_finding_view(struct pb_ws *ws, const char *actor, const char *ref, char **json,
                               uint64_t *index_out, struct pb_error *err)
{
	*json = NULL;
	struct pb__finding f;
	enum pb_status st = pb__finding_get(ws, ref, &f, err);
	if (st)
		return st;
	if ((st = pb__ws_begin_as(ws, actor, "evidence.view", "view evidence", err))) {
		free(f.detail);
		return st;
	}
	char subject[48], details[200];
	pb__snprintf(subject, sizeof(subject), "finding/%lld", (long long)f.id);
	pb__snprintf(details, sizeof(details), "{\"finding\":%lld,\"what\":\"citations\"}",
	             (long long)f.id);
	st = pb__ws_finish(ws, pb__audit_append(ws, actor, "evidence.view", 0, subject, details,
	                                        index_out, err),
	                   err);
	if (st)
		free(f.detail);
	else
		*json = f.detail;
	return st;
}
