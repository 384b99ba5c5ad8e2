/* plan_sel.c - plan selectors: parsing and checking them against the catalog,
 * their canonical text, and the evaluator the dry run uses.
 *
 * The evaluator reads a rule the way docs/enforcement.md says the decision
 * table does: a disable applies when it MAY apply (a value the request leaves
 * unknown could be anything), a keep only when it SURELY applies. It is a
 * plain loop, written from that page rather than from lib/decide.c, and the
 * unit tests check that its verdicts on usage agree with the compiled table.
 */
#include "plan/plan.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

bool pb__ieq(const char *a, const char *b)
{
	struct pb_str x = pb_str_trim(pb_cstr(a)), y = pb_str_trim(pb_cstr(b));
	if (x.len != y.len)
		return false;
	for (size_t i = 0; i < x.len; i++) {
		char c = x.ptr[i], d = y.ptr[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (d >= 'A' && d <= 'Z')
			d = (char)(d + 32);
		if (c != d)
			return false;
	}
	return true;
}

static bool present(struct pb_str s)
{
	return s.ptr && pb_str_trim(s).len > 0;
}

/* ---- parsing -------------------------------------------------------------- */

static int key_dim(const char *k, size_t n)
{
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		const char *name = pb_dim_name((enum pb_dim)d);
		if (strlen(name) == n && !strncmp(name, k, n))
			return d;
	}
	if (n == 11 && !strncmp(k, "sub-account", n))
		return PB_DIM_SUBACCOUNT;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct parse {
	const char *s;
	size_t n, i;
	const char *what;
	struct pb_error *err;
	char text[96]; /* the selector for messages, cut */
};

static enum pb_status perr(struct parse *p, enum pb_status code, const char *fmt, const char *arg)
{
	char msg[400];
	pb__snprintf(msg, sizeof(msg), fmt, arg);
	return pb__err(p->err, code, "%s '%s': %s", p->what, p->text, msg);
}

/* Reads one value into buf (unquoted); *len its length. */
static enum pb_status read_value(struct parse *p, char *buf, size_t cap, size_t *len)
{
	size_t o = 0;
	char q = p->s[p->i];
	if (q == '\'' || q == '"') {
		p->i++;
		for (;;) {
			if (p->i >= p->n)
				return perr(p, PB_EINVAL, "a quoted value has no closing %s",
				            q == '\'' ? "'" : "\"");
			char c = p->s[p->i++];
			if (c == q) {
				if (p->i < p->n && p->s[p->i] == q) {
					p->i++;
				} else {
					break;
				}
			}
			if (o + 1 >= cap)
				return perr(p, PB_ELIMIT, "a value is longer than %s bytes", "256");
			buf[o++] = c;
		}
	} else {
		while (p->i < p->n && !is_space(p->s[p->i]) && p->s[p->i] != ',') {
			char c = p->s[p->i];
			if (c == '\'' || c == '"')
				return perr(p, PB_EINVAL, "a quote inside a value (quote the whole value: "
				                          "service='My Service')%s", "");
			if (o + 1 >= cap)
				return perr(p, PB_ELIMIT, "a value is longer than %s bytes", "256");
			buf[o++] = c;
			p->i++;
		}
	}
	buf[o] = '\0';
	*len = o;
	return PB_OK;
}

static const char *dim_help(int d)
{
	switch (d) {
	case PB_DIM_CATEGORY:
		return "FOCUS ServiceCategory values, see data/catalog/focus-categories.csv";
	case PB_DIM_SUBCATEGORY:
		return "FOCUS ServiceSubcategory values, see data/catalog/focus-categories.csv";
	case PB_DIM_SERVICE: return "service names the catalog knows, see data/catalog/services.csv";
	case PB_DIM_CAPABILITY: return "see data/catalog/capabilities.csv";
	case PB_DIM_REGION: return "region ids or spellings, see data/catalog/regions.csv";
	case PB_DIM_COUNTRY: return "ISO 3166-1 alpha-2 codes of catalog regions";
	default: return "";
	}
}

/* Checks a value and returns its canonical form (arena), or NULL with err. */
static const char *canon_value(struct parse *p, struct pb__arena *a, const struct pb_catalog *cat,
                               int d, const char *v, size_t n)
{
	struct pb_str t = pb_str_trim(pb_str_of(v, n));
	if (!t.len) {
		perr(p, PB_EINVAL, "empty value for '%s'", pb_dim_name((enum pb_dim)d));
		return NULL;
	}
	size_t bad;
	if (!pb_utf8_valid(t.ptr, t.len, &bad)) {
		perr(p, PB_EINVAL, "a value for '%s' is not valid UTF-8", pb_dim_name((enum pb_dim)d));
		return NULL;
	}
	for (size_t i = 0; i < t.len; i++)
		if ((unsigned char)t.ptr[i] < 0x20 || t.ptr[i] == 0x7f) {
			perr(p, PB_EINVAL, "a value for '%s' holds a control character",
			     pb_dim_name((enum pb_dim)d));
			return NULL;
		}
	if (t.len > PB_RULE_VALUE_LEN_MAX) {
		perr(p, PB_ELIMIT, "a value is longer than %s bytes", "256");
		return NULL;
	}
	char shown[300];
	pb__snprintf(shown, sizeof(shown), "%.*s", (int)t.len, t.ptr);
	const char *out = NULL;
	char why[480];
	bool known = true;
	switch (d) {
	case PB_DIM_ACCOUNT:
	case PB_DIM_SUBACCOUNT:
		break;
	case PB_DIM_CATEGORY: known = pb_catalog_category_known(cat, t); break;
	case PB_DIM_SUBCATEGORY: known = pb_catalog_subcategory_known(cat, t); break;
	case PB_DIM_SERVICE: {
		const struct pb_service *s = pb_catalog_service(cat, t);
		known = s != NULL;
		if (s)
			out = s->name;
		break;
	}
	case PB_DIM_CAPABILITY: known = pb_catalog_capability_known(cat, t); break;
	case PB_DIM_REGION: {
		const struct pb_region *g = pb_catalog_region(cat, t);
		known = g != NULL;
		if (g)
			out = g->id;
		break;
	}
	case PB_DIM_COUNTRY: known = pb_catalog_country_known(cat, t); break;
	}
	if (!known) {
		/* "service=Key Vault": the rest of the value became a term of its own */
		size_t j = p->i;
		while (j < p->n && is_space(p->s[j]))
			j++;
		size_t k = j;
		while (k < p->n && !is_space(p->s[k]) && p->s[k] != '=')
			k++;
		bool split = j < p->n && j > p->i && (k >= p->n || p->s[k] != '=');
		pb__snprintf(why, sizeof(why), "unknown %s '%s' (%s)%s", pb_dim_name((enum pb_dim)d),
		             shown, dim_help(d),
		             split ? "; quote values that hold spaces: service='Key Vault'" : "");
		perr(p, PB_EINVAL, "%s", why);
		return NULL;
	}
	char *c = pb__arena_strndup(a, out ? out : t.ptr, out ? strlen(out) : t.len);
	if (!c) {
		pb__err(p->err, PB_ENOMEM, "out of memory");
		return NULL;
	}
	for (char *x = c; *x; x++) {
		if (d == PB_DIM_COUNTRY && *x >= 'a' && *x <= 'z')
			*x = (char)(*x - 32);
		else if (d == PB_DIM_CAPABILITY && *x >= 'A' && *x <= 'Z')
			*x = (char)(*x + 32);
	}
	return c;
}

/* One scan of the selector grammar (docs/plans.md) from first byte to last,
 * kept as one function of about 150 lines so it reads in the grammar's
 * order; the per-value work is in its own helpers above. */
enum pb_status pb__sel_parse(struct pb__arena *a, const struct pb_catalog *cat, const char *text,
                             size_t len, const char *what, struct pb__sel *out,
                             struct pb_error *err)
{
	struct parse p = { text, len, 0, what, err, "" };
	enum pb_status st = PB_OK;
	memset(out->values, 0, sizeof(out->values));
	memset(out->n, 0, sizeof(out->n));
	out->text = NULL;
	size_t show = len < 80 ? len : 80;
	pb__snprintf(p.text, sizeof(p.text), "%.*s%s", (int)show, text, len > 80 ? "..." : "");
	if (len > PB_PLAN_SELECTOR_LEN_MAX)
		return perr(&p, PB_ELIMIT, "longer than %s bytes", "65536");
	if (memchr(text, '\0', len))
		return perr(&p, PB_EINVAL, "holds a NUL byte%s", "");
	struct pb_str whole = pb_str_trim(pb_str_of(text, len));
	while (whole.len && is_space(whole.ptr[whole.len - 1]))
		whole.len--;
	while (whole.len && is_space(whole.ptr[0])) {
		whole.ptr++;
		whole.len--;
	}
	if (!whole.len)
		return perr(&p, PB_EINVAL,
		            "empty selector (name what it applies to, e.g. 'category=Storage', or "
		            "'all' for every service of the customer)%s",
		            "");
	if (pb_str_ieq_cstr(whole, "all"))
		goto done;
	/* values are gathered per dimension in scratch arrays, then copied */
	const char **vals[PB_DIM_COUNT] = { 0 };
	size_t cap[PB_DIM_COUNT] = { 0 };
	while (p.i < p.n) {
		while (p.i < p.n && is_space(p.s[p.i]))
			p.i++;
		if (p.i >= p.n)
			break;
		size_t k0 = p.i;
		while (p.i < p.n && p.s[p.i] != '=' && !is_space(p.s[p.i]))
			p.i++;
		if (p.i >= p.n || p.s[p.i] != '=') {
			char term[80];
			pb__snprintf(term, sizeof(term), "%.*s", (int)(p.i - k0 > 40 ? 40 : p.i - k0),
			             p.s + k0);
			if (pb__ieq(term, "all"))
				st = perr(&p, PB_EINVAL, "'all' cannot be combined with other terms%s", "");
			else
				st = perr(&p, PB_EINVAL, "expected key=value, not '%s'", term);
			goto fail;
		}
		char key[32];
		size_t kl = p.i - k0;
		for (size_t i = 0; i < kl && i + 1 < sizeof(key); i++) {
			char c = p.s[k0 + i];
			key[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		}
		key[kl < sizeof(key) - 1 ? kl : sizeof(key) - 1] = '\0';
		int d = kl < sizeof(key) ? key_dim(key, kl) : -1;
		if (d < 0) {
			char k[48];
			pb__snprintf(k, sizeof(k), "%.*s", (int)(kl > 40 ? 40 : kl), p.s + k0);
			char m[200];
			pb__snprintf(m, sizeof(m),
			             "unknown key '%s' (keys: account, subaccount, category, "
			             "subcategory, service, capability, region, country)",
			             k);
			st = perr(&p, PB_EINVAL, "%s", m);
			goto fail;
		}
		if (out->n[d]) {
			st = perr(&p, PB_EINVAL, "'%s' is given twice (list its values with commas)",
			          pb_dim_name((enum pb_dim)d));
			goto fail;
		}
		p.i++; /* '=' */
		if (p.i >= p.n || is_space(p.s[p.i]) || p.s[p.i] == ',') {
			st = perr(&p, PB_EINVAL, "no value for '%s'", pb_dim_name((enum pb_dim)d));
			goto fail;
		}
		for (;;) {
			char v[PB_RULE_VALUE_LEN_MAX + 8];
			size_t vl = 0;
			if ((st = read_value(&p, v, sizeof(v), &vl)))
				goto fail;
			const char *c = canon_value(&p, a, cat, d, v, vl);
			if (!c) {
				st = err ? err->code : PB_EINVAL;
				if (st == PB_OK)
					st = PB_EINVAL;
				goto fail;
			}
			bool dup = false;
			for (size_t i = 0; i < out->n[d]; i++)
				dup |= pb__ieq(vals[d][i], c);
			if (!dup) {
				if (out->n[d] >= PB_RULE_VALUES_MAX) {
					st = perr(&p, PB_ELIMIT, "more than %s values for one key", "10000");
					goto fail;
				}
				if (out->n[d] == cap[d]) {
					size_t nc = cap[d] ? cap[d] * 2 : 8;
					const char **nv = realloc(vals[d], nc * sizeof(*nv));
					if (!nv) {
						st = pb__err(err, PB_ENOMEM, "out of memory");
						goto fail;
					}
					vals[d] = nv;
					cap[d] = nc;
				}
				vals[d][out->n[d]++] = c;
			}
			if (p.i < p.n && p.s[p.i] == ',') {
				p.i++;
				if (p.i >= p.n || is_space(p.s[p.i]) || p.s[p.i] == ',') {
					st = perr(&p, PB_EINVAL, "empty value after ',' for '%s'",
					          pb_dim_name((enum pb_dim)d));
					goto fail;
				}
				continue;
			}
			if (p.i < p.n && !is_space(p.s[p.i])) {
				st = perr(&p, PB_EINVAL, "expected a space or ',' after a quoted value%s",
				          "");
				goto fail;
			}
			break;
		}
	}
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		if (!out->n[d])
			continue;
		out->values[d] = pb__arena_alloc(a, out->n[d] * sizeof(char *));
		if (!out->values[d]) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto fail;
		}
		memcpy(out->values[d], vals[d], out->n[d] * sizeof(char *));
	}
	for (int d = 0; d < PB_DIM_COUNT; d++)
		free(vals[d]);
done:
	out->text = pb__sel_text(a, (const char *const *const *)out->values, out->n);
	if (!out->text)
		return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
fail:
	for (int d = 0; d < PB_DIM_COUNT; d++)
		free(vals[d]);
	memset(out->n, 0, sizeof(out->n));
	return st;
}

char *pb__sel_text(struct pb__arena *a, const char *const *const values[PB_DIM_COUNT],
                   const size_t n[PB_DIM_COUNT])
{
	struct pb_buf b;
	pb_buf_init(&b, (size_t)64 << 20);
	enum pb_status st = PB_OK;
	bool any = false;
	for (int d = 0; d < PB_DIM_COUNT && !st; d++) {
		if (!n[d])
			continue;
		st = pb_buf_printf(&b, "%s%s=", any ? " " : "", pb_dim_name((enum pb_dim)d));
		for (size_t i = 0; i < n[d] && !st; i++) {
			const char *v = values[d][i];
			if (i)
				st = pb_buf_addc(&b, ',');
			if (!st && strpbrk(v, " \t,'\"=")) {
				st = pb_buf_addc(&b, '\'');
				for (const char *c = v; *c && !st; c++)
					st = *c == '\'' ? pb_buf_adds(&b, "''") : pb_buf_addc(&b, *c);
				if (!st)
					st = pb_buf_addc(&b, '\'');
			} else if (!st) {
				st = pb_buf_adds(&b, v);
			}
		}
		any = true;
	}
	if (!st && !any)
		st = pb_buf_adds(&b, "all");
	char *out = st ? NULL : pb__arena_strndup(a, b.data, b.len);
	pb_buf_release(&b);
	return out;
}

/* ---- the evaluator ----------------------------------------------------------- */

void pb__req_facts(const struct pb_catalog *cat, const struct pb__req *q, struct pb__req_facts *f)
{
	memset(f, 0, sizeof(*f));
	if (present(q->service))
		f->service = pb_catalog_service(cat, pb_str_trim(q->service));
	if (present(q->region))
		f->region = pb_catalog_region(cat, pb_str_trim(q->region));
	if (!f->service)
		f->flags |= PB_DECIDE_UNKNOWN_SERVICE;
	if (!f->region)
		f->flags |= PB_DECIDE_UNKNOWN_REGION;
	if (!present(q->subaccount))
		f->flags |= PB_DECIDE_NO_SUBACCOUNT;
	const char *named = NULL;
	char capbuf[PB_RULE_VALUE_LEN_MAX + 1];
	bool asked = false;
	if (present(q->capability)) {
		asked = true;
		struct pb_str c = pb_str_trim(q->capability);
		if (c.len < sizeof(capbuf)) {
			memcpy(capbuf, c.ptr, c.len);
			capbuf[c.len] = '\0';
			named = capbuf;
		}
	} else if (present(q->sku_meter)) {
		asked = true;
		if (f->service)
			named = pb_catalog_capability(cat, pb_str_trim(q->service),
			                              pb_str_trim(q->sku_meter));
	}
	if (named) {
		if (f->service) {
			for (size_t i = 0; i < f->service->ncapabilities; i++)
				if (pb__ieq(f->service->capabilities[i], named)) {
					f->caps[0] = f->service->capabilities[i];
					f->ncaps = 1;
					return;
				}
		} else if (pb_catalog_capability_known(cat, pb_cstr(named))) {
			/* a known capability of an unknown service (only --capability can
			 * name one then): the request's own value, compared from q */
			f->ncaps = -2;
			return;
		}
	}
	if (asked)
		f->flags |= PB_DECIDE_CAP_IGNORED;
	if (!f->service) {
		f->ncaps = -1;
		return;
	}
	size_t n = f->service->ncapabilities;
	if (n > PB_ARRAY_LEN(f->caps))
		n = PB_ARRAY_LEN(f->caps);
	for (size_t i = 0; i < n; i++)
		f->caps[i] = f->service->capabilities[i];
	f->ncaps = (int)n;
	if (n > 1)
		f->flags |= PB_DECIDE_SEVERAL_CAPS;
}

static bool has(const struct pb_rule *r, int d, const char *v)
{
	for (size_t i = 0; i < r->nvalues[d]; i++)
		if (pb__ieq(r->values[d][i], v))
			return true;
	return false;
}

static bool has_str(const struct pb_rule *r, int d, struct pb_str v)
{
	struct pb_str t = pb_str_trim(v);
	for (size_t i = 0; i < r->nvalues[d]; i++) {
		struct pb_str x = pb_str_trim(pb_cstr(r->values[d][i]));
		if (x.len != t.len)
			continue;
		size_t j = 0;
		for (; j < x.len; j++) {
			char a = x.ptr[j], b = t.ptr[j];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a + 32);
			if (b >= 'A' && b <= 'Z')
				b = (char)(b + 32);
			if (a != b)
				break;
		}
		if (j == x.len)
			return true;
	}
	return false;
}

/* 1: holds, 0: does not, -1: cannot tell */
static int dim_match(const struct pb_rule *r, int d, const struct pb_catalog *cat,
                     const struct pb__req *q, const struct pb__req_facts *f)
{
	switch (d) {
	case PB_DIM_ACCOUNT:
		return present(q->account) && has_str(r, d, q->account) ? 1 : 0;
	case PB_DIM_SUBACCOUNT:
		if (!present(q->subaccount))
			return -1;
		return has_str(r, d, q->subaccount) ? 1 : 0;
	case PB_DIM_SERVICE:
		if (!f->service)
			return -1;
		for (size_t i = 0; i < r->nvalues[d]; i++) {
			const struct pb_service *s = pb_catalog_service(cat, pb_cstr(r->values[d][i]));
			if (pb__ieq(s ? s->name : r->values[d][i], f->service->name))
				return 1;
		}
		return 0;
	case PB_DIM_CATEGORY:
	case PB_DIM_SUBCATEGORY: {
		if (!f->service)
			return -1;
		const char *v = d == PB_DIM_CATEGORY ? f->service->category : f->service->subcategory;
		return v && *v && has(r, d, v) ? 1 : 0;
	}
	case PB_DIM_REGION:
		if (!f->region)
			return -1;
		for (size_t i = 0; i < r->nvalues[d]; i++) {
			const struct pb_region *g = pb_catalog_region(cat, pb_cstr(r->values[d][i]));
			if (pb__ieq(g ? g->id : r->values[d][i], f->region->id))
				return 1;
		}
		return 0;
	case PB_DIM_COUNTRY:
		if (!f->region)
			return -1;
		return f->region->country && *f->region->country && has(r, d, f->region->country)
		               ? 1
		               : 0;
	}
	return 0;
}

bool pb__rule_applies(const struct pb_rule *r, const struct pb_catalog *cat,
                      const struct pb__req *q, const struct pb__req_facts *f, bool may)
{
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		if (!r->nvalues[d])
			continue;
		if (d == PB_DIM_CAPABILITY) {
			if (f->ncaps == -1) {
				if (!may)
					return false;
				continue;
			}
			int hits = 0, n = f->ncaps;
			if (n == -2) {
				/* one named capability, known to the catalog, of an unknown service */
				n = 1;
				hits = has_str(r, d, q->capability) ? 1 : 0;
			} else {
				for (int i = 0; i < n; i++)
					hits += has(r, d, f->caps[i]) ? 1 : 0;
			}
			if (may ? hits == 0 : (n == 0 || hits < n))
				return false;
			continue;
		}
		int m = dim_match(r, d, cat, q, f);
		if (m == 0 || (m < 0 && !may))
			return false;
	}
	return true;
}

/* ---- keeps that cover a disable --------------------------------------------- */

static bool subset(const struct pb_rule *d, const struct pb_rule *k, int dim)
{
	for (size_t i = 0; i < d->nvalues[dim]; i++)
		if (!has(k, dim, d->values[dim][i]))
			return false;
	return d->nvalues[dim] > 0;
}

bool pb__keep_covers(const struct pb_catalog *cat, const struct pb_rule *k, const struct pb_rule *d)
{
	for (int dim = 0; dim < PB_DIM_COUNT; dim++) {
		if (!k->nvalues[dim])
			continue;
		if (d->nvalues[dim]) {
			if (!subset(d, k, dim))
				return false;
			continue;
		}
		bool ok = false;
		if ((dim == PB_DIM_CATEGORY || dim == PB_DIM_SUBCATEGORY || dim == PB_DIM_CAPABILITY) &&
		    d->nvalues[PB_DIM_SERVICE]) {
			ok = true;
			for (size_t i = 0; i < d->nvalues[PB_DIM_SERVICE] && ok; i++) {
				const struct pb_service *s =
					pb_catalog_service(cat, pb_cstr(d->values[PB_DIM_SERVICE][i]));
				if (!s) {
					ok = false;
				} else if (dim == PB_DIM_CAPABILITY) {
					ok = s->ncapabilities > 0;
					for (size_t c = 0; c < s->ncapabilities && ok; c++)
						ok = has(k, dim, s->capabilities[c]);
				} else {
					const char *v = dim == PB_DIM_CATEGORY ? s->category : s->subcategory;
					ok = v && *v && has(k, dim, v);
				}
			}
		} else if (dim == PB_DIM_COUNTRY && d->nvalues[PB_DIM_REGION]) {
			ok = true;
			for (size_t i = 0; i < d->nvalues[PB_DIM_REGION] && ok; i++) {
				const struct pb_region *g =
					pb_catalog_region(cat, pb_cstr(d->values[PB_DIM_REGION][i]));
				ok = g && g->country && *g->country && has(k, dim, g->country);
			}
		}
		if (!ok)
			return false;
	}
	return true;
}

/* ---- settings ------------------------------------------------------------------ */

enum pb_status pb__plan_setting_uint(struct pb_ws *ws, const char *key, unsigned def, unsigned lo,
                                     unsigned hi, unsigned *out, struct pb_error *err)
{
	const char *v = pb_ws_setting(ws, key);
	*out = def;
	if (!v || !*v)
		return PB_OK;
	unsigned long n = 0;
	size_t i = 0;
	for (; v[i] >= '0' && v[i] <= '9' && n <= hi; i++)
		n = n * 10 + (unsigned long)(v[i] - '0');
	if (!i || v[i] || n < lo || n > hi)
		return pb__err(err, PB_EINVAL, "probity.conf: %s = '%s' must be a whole number from %u "
		                               "to %u",
		               key, v, lo, hi);
	*out = (unsigned)n;
	return PB_OK;
}
