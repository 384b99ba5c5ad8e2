/* policy.c - policy files: YAML into checked indicators and finding rules.
 *
 * libyaml's event parser builds a small tree (maps, sequences, scalars with
 * their line and column) with an explicit stack, so deep nesting is a capped
 * error, never a stack overflow; aliases are refused (no billion laughs).
 * The checker then walks the tree and reports the first problem as
 * "file:line:column: message (hint)", naming unknown fields with the closest
 * known one, unknown catalog values, unit mismatches, undefined indicators,
 * cycles between composite indicators and 'same:' over parts of another
 * grouping.
 */
#include "policy/policy.h"
#include "usage/catalog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/banned.h"

/* ---- the YAML tree ---------------------------------------------------- */

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ykind kind;
	uint32_t line, col;
	bool quoted;
	char *str; /* scalar */
	size_t len;
	struct ynode **kids; /* map: key, value, key, value ... */
	size_t n, cap;
};

static void ynode_free(struct ynode *y)
{
	if (!y)
		return;
	for (size_t i = 0; i < y->n; i++)
		ynode_free(y->kids[i]);
	free(y->kids);
	free(y->str);
	free(y);
}

static bool ynode_add(struct ynode *p, struct ynode *k)
{
	if (p->n == p->cap) {
		size_t c = p->cap ? p->cap * 2 : 8;
		struct ynode **v = realloc(p->kids, c * sizeof(*v));
		if (!v)
			return false;
		p->kids = v;
		p->cap = c;
	}
	p->kids[p->n++] = k;
	return true;
}

struct pctx {
	const char *file;
	const struct pb_catalog *cat;
	struct pb_error *err;
	struct pb_policy *p;
};

static enum pb_status perr(struct pctx *c, enum pb_status code, const struct ynode *at,
                           const char *fmt, ...) PB_PRINTF(4, 5);
static enum pb_status perr(struct pctx *c, enum pb_status code, const struct ynode *at,
                           const char *fmt, ...)
{
	char msg[480];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pb__err_at(c->err, code, c->file, at ? at->line : 0, at ? at->col : 0, "%s", msg);
}

static enum pb_status yaml_tree(struct pctx *c, const char *text, size_t len, struct ynode **out)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	struct ynode *stack[PB_POLICY_MAX_DEPTH + 2];
	size_t depth = 0, nodes = 0;
	struct ynode *root = NULL;
	enum pb_status st = PB_OK;
	bool done = false;

	if (!yaml_parser_initialize(&ps))
		return pb__err(c->err, PB_ENOMEM, "cannot start the YAML parser");
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&ps, &ev)) {
			st = pb__err_at(c->err, PB_EFORMAT, c->file, ps.problem_mark.line + 1,
			                (uint32_t)ps.problem_mark.column + 1, "malformed YAML: %s%s%s",
			                ps.problem ? ps.problem : "parse error",
			                ps.context ? " " : "", ps.context ? ps.context : "");
			goto fail;
		}
		uint32_t line = (uint32_t)ev.start_mark.line + 1, col = (uint32_t)ev.start_mark.column + 1;
		struct ynode *n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root) {
				st = pb__err_at(c->err, PB_EFORMAT, c->file, line, col,
				                "a policy file holds one YAML document (hint: remove the "
				                "second '---')");
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			st = pb__err_at(c->err, PB_EFORMAT, c->file, line, col,
			                "YAML aliases (*name) are not allowed in policy files (hint: "
			                "write the value out)");
			yaml_event_delete(&ev);
			goto fail;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++nodes > PB_POLICY_MAX_NODES) {
				st = pb__err_at(c->err, PB_ELIMIT, c->file, line, col,
				                "policy has more than %d YAML nodes (hint: a policy is a "
				                "few hundred nodes; split it into several policy files)",
				                PB_POLICY_MAX_NODES);
				yaml_event_delete(&ev);
				goto fail;
			}
			n = calloc(1, sizeof(*n));
			if (!n) {
				st = pb__err(c->err, PB_ENOMEM, "out of memory");
				yaml_event_delete(&ev);
				goto fail;
			}
			n->line = line;
			n->col = col;
			if (ev.type == YAML_SCALAR_EVENT) {
				n->kind = Y_SCALAR;
				n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
				n->len = ev.data.scalar.length;
				n->str = pb__strndup((const char *)ev.data.scalar.value, n->len);
				if (!n->str) {
					free(n);
					st = pb__err(c->err, PB_ENOMEM, "out of memory");
					yaml_event_delete(&ev);
					goto fail;
				}
			} else {
				n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
			}
			if (depth == 0) {
				if (root) { /* cannot happen with one document, but be safe */
					ynode_free(n);
				} else {
					root = n;
				}
			} else if (!ynode_add(stack[depth - 1], n)) {
				ynode_free(n);
				st = pb__err(c->err, PB_ENOMEM, "out of memory");
				yaml_event_delete(&ev);
				goto fail;
			}
			if (n->kind != Y_SCALAR) {
				if (depth >= PB_POLICY_MAX_DEPTH) {
					st = pb__err_at(c->err, PB_ELIMIT, c->file, line, col,
					                "policy nests deeper than %d levels (hint: a policy "
					                "needs a few levels; write a deep when: as named "
					                "composite indicators, e.g. 'x: {when: {any: [a, b]}}', "
					                "and refer to them)",
					                PB_POLICY_MAX_DEPTH);
					yaml_event_delete(&ev);
					goto fail;
				}
				stack[depth++] = n;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
	if (!root)
		return pb__err_at(c->err, PB_EFORMAT, c->file, 1, 1,
		                  "the policy file is empty (hint: start with 'policy: NAME')");
	*out = root;
	return PB_OK;
fail:
	yaml_parser_delete(&ps);
	ynode_free(root);
	return st;
}

/* ---- helpers ------------------------------------------------------------ */

static const char *ykind_name(enum ykind k)
{
	return k == Y_SCALAR ? "a scalar" : k == Y_SEQ ? "a list" : "a mapping";
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t d[41][41];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t s = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) !=
			                              tolower((unsigned char)b[j - 1]));
			size_t x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
			d[i][j] = s < x ? (s < y ? s : y) : (x < y ? x : y);
		}
	return d[la][lb];
}

/* The closest of names to s, or NULL when none is close. */
static const char *closest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(s, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	return best;
}

static enum pb_status expect(struct pctx *c, const struct ynode *y, enum ykind k, const char *what)
{
	if (y->kind != k)
		return perr(c, PB_EINVAL, y, "%s must be %s, not %s (hint: %s)", what, ykind_name(k),
		            ykind_name(y->kind),
		            k == Y_MAP   ? "indented 'key: value' lines, or {key: value}"
		            : k == Y_SEQ ? "a list such as [a, b]"
		                         : "one value on the line, such as 'key: value'");
	return PB_OK;
}

/* Checks a mapping's keys against the known ones; refuses duplicates. */
static enum pb_status check_keys(struct pctx *c, const struct ynode *m, const char *what,
                                 const char *const *known, size_t nknown)
{
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kids[i];
		if (k->kind != Y_SCALAR)
			return perr(c, PB_EINVAL, k, "keys of %s must be scalars", what);
		bool ok = false;
		for (size_t j = 0; j < nknown && !ok; j++)
			ok = strcmp(k->str, known[j]) == 0;
		if (!ok) {
			const char *near = closest(k->str, known, nknown);
			if (near)
				return perr(c, PB_EINVAL, k, "unknown field '%s' in %s (hint: did you mean '%s'?)",
				            k->str, what, near);
			char list[400] = "";
			size_t o = 0;
			for (size_t j = 0; j < nknown && o + 40 < sizeof(list); j++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", j ? ", " : "",
				                      known[j]);
			return perr(c, PB_EINVAL, k, "unknown field '%s' in %s (hint: known fields are %s)",
			            k->str, what, list);
		}
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(m->kids[j]->str, k->str) == 0)
				return perr(c, PB_EINVAL, k, "field '%s' appears twice in %s (first at line %u)",
				            k->str, what, m->kids[j]->line);
	}
	return PB_OK;
}

static const struct ynode *get(const struct ynode *m, const char *key)
{
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kids[i]->kind == Y_SCALAR && strcmp(m->kids[i]->str, key) == 0)
			return m->kids[i + 1];
	return NULL;
}

static enum pb_status get_str(struct pctx *c, const struct ynode *m, const char *key,
                              const char *what, bool required, char **out)
{
	const struct ynode *v = get(m, key);
	*out = NULL;
	if (!v) {
		if (required)
			return perr(c, PB_EINVAL, m, "%s has no '%s' (hint: add '%s: ...')", what, key, key);
		return PB_OK;
	}
	if (v->kind != Y_SCALAR)
		return perr(c, PB_EINVAL, v, "'%s' of %s must be a scalar, not %s (hint: one value "
		            "on the line, such as '%s: text')", key, what, ykind_name(v->kind), key);
	if (!(*out = pb__strndup(v->str, v->len)))
		return pb__err(c->err, PB_ENOMEM, "out of memory");
	return PB_OK;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* ---- selectors, windows, thresholds -------------------------------------- */

static const char *const sel_keys[PB_SEL_COUNT] = {
	"account", "subaccount", "provider", "category", "subcategory", "service",
	"capability", "region", "country", "charge-category", "unit",
};

const char *pb__sel_key(enum pb__sel s)
{
	return s < PB_SEL_COUNT ? sel_keys[s] : "?";
}

static const char *const charge_categories[] = { "Usage", "Purchase", "Tax", "Credit",
	                                         "Adjustment" };

/* Canonical spelling of one selector value; NULL (and an error) if unknown. */
static enum pb_status canon_value(struct pctx *c, enum pb__sel s, const struct ynode *v, char **out)
{
	struct pb_str str = pb_str_trim(pb_str_of(v->str, v->len));
	const char *canon = NULL;
	char buf[16];
	*out = NULL;
	if (str.len == 0)
		return perr(c, PB_EINVAL, v, "empty value for '%s'", sel_keys[s]);
	switch (s) {
	case PB_SEL_ACCOUNT:
	case PB_SEL_SUBACCOUNT:
	case PB_SEL_PROVIDER:
		break; /* any value: ids and names are the provider's */
	case PB_SEL_CATEGORY:
		if (!(canon = pb__catalog_category(c->cat, str)))
			return perr(c, PB_EINVAL, v,
			            "unknown service category '%.*s' (hint: FOCUS ServiceCategory values, "
			            "e.g. 'Storage', 'AI and Machine Learning'; see data/catalog/focus-categories.csv)",
			            (int)str.len, str.ptr);
		break;
	case PB_SEL_SUBCATEGORY:
		if (!(canon = pb__catalog_subcategory(c->cat, str)))
			return perr(c, PB_EINVAL, v,
			            "unknown service subcategory '%.*s' (hint: see data/catalog/focus-categories.csv)",
			            (int)str.len, str.ptr);
		break;
	case PB_SEL_SERVICE: {
		const struct pb_service *svc = pb_catalog_service(c->cat, str);
		if (!svc)
			return perr(c, PB_EINVAL, v,
			            "unknown service '%.*s' (hint: a FOCUS ServiceName from data/catalog/services.csv)",
			            (int)str.len, str.ptr);
		canon = svc->name;
		break;
	}
	case PB_SEL_CAPABILITY:
		if (!pb_catalog_capability_known(c->cat, str))
			return perr(c, PB_EINVAL, v,
			            "unknown capability '%.*s' (hint: e.g. object-storage, speech-to-text, "
			            "translation; see data/catalog/capabilities.csv)",
			            (int)str.len, str.ptr);
		for (size_t i = 0; i < str.len && i + 1 < sizeof(buf); i++)
			;
		break;
	case PB_SEL_REGION: {
		const struct pb_region *r = pb_catalog_region(c->cat, str);
		if (!r)
			return perr(c, PB_EINVAL, v,
			            "unknown region '%.*s' (hint: a region id such as 'westeurope' or "
			            "'eu-west-1'; see data/catalog/regions.csv)",
			            (int)str.len, str.ptr);
		canon = r->id;
		break;
	}
	case PB_SEL_COUNTRY:
		if (str.len != 2 || !pb_catalog_country_known(c->cat, str))
			return perr(c, PB_EINVAL, v,
			            "unknown country '%.*s' (hint: an ISO 3166-1 alpha-2 code of some "
			            "region, e.g. NL, US)",
			            (int)str.len, str.ptr);
		buf[0] = (char)toupper((unsigned char)str.ptr[0]);
		buf[1] = (char)toupper((unsigned char)str.ptr[1]);
		buf[2] = '\0';
		canon = buf;
		break;
	case PB_SEL_CHARGE_CATEGORY:
		for (size_t i = 0; i < PB_ARRAY_LEN(charge_categories); i++)
			if (pb_str_ieq_cstr(str, charge_categories[i]))
				canon = charge_categories[i];
		if (!canon)
			return perr(c, PB_EINVAL, v,
			            "unknown charge category '%.*s' (hint: Usage, Purchase, Tax, Credit or "
			            "Adjustment)",
			            (int)str.len, str.ptr);
		break;
	case PB_SEL_UNIT: {
		const struct pb_unit *u = pb_catalog_unit(c->cat, str);
		if (!u)
			return perr(c, PB_EINVAL, v,
			            "unknown unit '%.*s' (hint: see data/catalog/units.csv)",
			            (int)str.len, str.ptr);
		canon = u->normalised;
		break;
	}
	default:
		break;
	}
	if (s == PB_SEL_CAPABILITY) {
		/* capabilities are lower case in the catalog */
		char *t = pb__strndup(str.ptr, str.len);
		if (!t)
			return pb__err(c->err, PB_ENOMEM, "out of memory");
		for (char *q = t; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		*out = t;
		return PB_OK;
	}
	*out = canon ? pb__strndup(canon, strlen(canon)) : pb__strndup(str.ptr, str.len);
	return *out ? PB_OK : pb__err(c->err, PB_ENOMEM, "out of memory");
}

static enum pb_status parse_select(struct pctx *c, const struct ynode *m, struct pb__indicator *ind)
{
	enum pb_status st;
	if ((st = expect(c, m, Y_MAP, "'select'")))
		return st;
	if ((st = check_keys(c, m, "'select'", sel_keys, PB_SEL_COUNT)))
		return st;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		enum pb__sel s = PB_SEL_COUNT;
		for (int j = 0; j < PB_SEL_COUNT; j++)
			if (!strcmp(m->kids[i]->str, sel_keys[j]))
				s = (enum pb__sel)j;
		const struct ynode *v = m->kids[i + 1];
		size_t n = v->kind == Y_SCALAR ? 1 : v->n;
		if (v->kind == Y_MAP)
			return perr(c, PB_EINVAL, v, "'%s' takes a value or a list of values, not a mapping",
			            sel_keys[s]);
		if (n == 0)
			return perr(c, PB_EINVAL, v, "'%s' has an empty list (hint: leave the key out to "
			            "select any value)", sel_keys[s]);
		if (n > PB_POLICY_MAX_VALUES)
			return perr(c, PB_ELIMIT, v, "'%s' lists more than %d values", sel_keys[s],
			            PB_POLICY_MAX_VALUES);
		ind->values[s] = calloc(n, sizeof(char *));
		if (!ind->values[s])
			return pb__err(c->err, PB_ENOMEM, "out of memory");
		for (size_t j = 0; j < n; j++) {
			const struct ynode *e = v->kind == Y_SCALAR ? v : v->kids[j];
			if (e->kind != Y_SCALAR)
				return perr(c, PB_EINVAL, e, "values of '%s' must be scalars", sel_keys[s]);
			if ((st = canon_value(c, s, e, &ind->values[s][ind->nvalues[s]])))
				return st;
			ind->nvalues[s]++;
		}
	}
	return PB_OK;
}

static bool parse_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t v = 0;
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static enum pb_status parse_window(struct pctx *c, const struct ynode *v, struct pb__indicator *ind)
{
	static const char hint[] = " (hint: 'last 90 days', 'last 3 months', 'month 2026-10' or "
	                           "'every month')";
	if (v->kind != Y_SCALAR)
		return perr(c, PB_EINVAL, v, "'window' must be a scalar such as 'last 90 days'%s", hint);
	char w[4][32];
	size_t nw = 0;
	const char *s = v->str;
	while (*s && nw < 4) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		size_t k = 0;
		while (*s && *s != ' ' && *s != '\t') {
			if (k + 1 < sizeof(w[0]))
				w[nw][k++] = *s;
			s++;
		}
		w[nw++][k] = '\0';
	}
	if (*s)
		nw = 99;
	if (nw == 3 && !strcmp(w[0], "last")) {
		int64_t n;
		bool days = !strcmp(w[2], "days") || !strcmp(w[2], "day");
		bool months = !strcmp(w[2], "months") || !strcmp(w[2], "month");
		if ((days || months) && parse_int(w[1], strlen(w[1]), 1, days ? 3660 : 120, &n)) {
			ind->window = days ? PB_WIN_LAST_DAYS : PB_WIN_LAST_MONTHS;
			ind->wn = n;
			return PB_OK;
		}
		if (days || months)
			return perr(c, PB_EINVAL, v, "window '%s': N must be a whole number from 1 to %d "
			            "(hint: e.g. 'last %s')", v->str, days ? 3660 : 120,
			            days ? "90 days" : "3 months");
	} else if (nw == 2 && !strcmp(w[0], "month")) {
		int64_t y, m;
		if (strlen(w[1]) == 7 && w[1][4] == '-' && parse_int(w[1], 4, 1970, 9999, &y) &&
		    parse_int(w[1] + 5, 2, 1, 12, &m)) {
			ind->window = PB_WIN_MONTH;
			ind->wn = y * 12 + m - 1;
			return PB_OK;
		}
		if (strlen(w[1]) == 7 && w[1][4] == '-' && parse_int(w[1], 4, 1970, 9999, &y) &&
		    parse_int(w[1] + 5, 2, 0, 99, &m))
			return perr(c, PB_EINVAL, v, "window '%s': there is no month %02lld (hint: a "
			            "month from 01 to 12, e.g. 'month %04lld-10')", v->str, (long long)m,
			            (long long)y);
		return perr(c, PB_EINVAL, v, "window '%s': the month must be written YYYY-MM, a year "
		            "from 1970 to 9999 (hint: e.g. 'month 2026-10')", v->str);
	} else if (nw == 2 && !strcmp(w[0], "every") && !strcmp(w[1], "month")) {
		ind->window = PB_WIN_EVERY_MONTH;
		return PB_OK;
	}
	return perr(c, PB_EINVAL, v, "unknown window '%s'%s", v->str, hint);
}

/* Threshold: "OP NUMBER UNIT". */
/* What pb__dec_parse holds: 15 decimal places, 23 digits before the point. */
#define THR_RANGE "from 1e-15 (15 decimal places) to below 1e23"

static enum pb_status parse_threshold(struct pctx *c, const struct ynode *v,
                                      struct pb__indicator *ind)
{
	if (v->kind != Y_SCALAR)
		return perr(c, PB_EINVAL, v, "'threshold' must be a scalar such as '>= 1 PB-Months'");
	const char *s = v->str, *e = s + v->len;
	while (s < e && *s == ' ')
		s++;
	if (s + 1 < e && s[0] == '>' && s[1] == '=') {
		ind->op = PB_OP_GE;
		s += 2;
	} else if (s + 1 < e && s[0] == '<' && s[1] == '=') {
		ind->op = PB_OP_LE;
		s += 2;
	} else if (s < e && s[0] == '>') {
		ind->op = PB_OP_GT;
		s++;
	} else if (s < e && s[0] == '<') {
		ind->op = PB_OP_LT;
		s++;
	} else {
		return perr(c, PB_EINVAL, v, "threshold '%s' has no comparison (hint: start with >=, >, "
		            "<= or <, e.g. '>= 1 PB-Months')", v->str);
	}
	while (s < e && *s == ' ')
		s++;
	const char *num = s;
	while (s < e && (isdigit((unsigned char)*s) || *s == '.' || *s == '_' || *s == ','))
		s++;
	/* an exponent (1e-3, 2E+6), told from a unit such as EUR by its digit */
	if (s > num && s + 1 < e && (*s == 'e' || *s == 'E')) {
		const char *q = s + 1;
		if ((*q == '-' || *q == '+') && q + 1 < e)
			q++;
		if (isdigit((unsigned char)*q)) {
			while (q < e && isdigit((unsigned char)*q))
				q++;
			s = q;
		}
	}
	char digits[64];
	size_t nd = 0;
	bool too_long = false, nonzero = false;
	for (const char *q = num; q < s; q++) {
		if (*q == '_' || *q == ',')
			continue;
		if (nd + 1 >= sizeof(digits))
			too_long = true;
		else
			digits[nd++] = *q;
	}
	digits[nd] = '\0';
	for (const char *q = num; q < s && *q != 'e' && *q != 'E'; q++)
		nonzero |= *q >= '1' && *q <= '9';
	pb_dec n = 0;
	unsigned fl = 0;
	enum pb_status pst = nd ? pb__dec_parse(digits, nd, &n, &fl) : PB_EINVAL;
	if (too_long || pst == PB_ELIMIT || (pst == PB_OK && nonzero && n == 0))
		return perr(c, PB_ELIMIT, v, "threshold '%s' is outside the representable range "
		            "(" THR_RANGE ")", v->str);
	if (pst != PB_OK)
		return perr(c, PB_EINVAL, v, "threshold '%s' has no number after the comparison "
		            "(hint: OP NUMBER UNIT, e.g. '>= 1 PB-Months', '>= 50000 EUR', '>= 3x')",
		            v->str);
	while (s < e && *s == ' ')
		s++;
	struct pb_str unit = pb_str_trim(pb_str_of(s, (size_t)(e - s)));
	bool per_day = false;
	if (unit.len > 4 && pb_str_ieq_cstr(pb_str_of(unit.ptr + unit.len - 4, 4), "/day")) {
		per_day = true;
		unit.len -= 4;
		unit = pb_str_trim(unit);
	}
	if (unit.len == 0)
		return perr(c, PB_EINVAL, v,
		            "threshold '%s' has no unit (hint: write the unit, e.g. '>= 1 PB-Months', "
		            "'>= 50000 EUR', '>= 3x', '>= 40%%')",
		            v->str);
	if (pb_str_eq_cstr(unit, "x")) {
		ind->thr_kind = PB_THR_FACTOR;
		ind->thr = n;
	} else if (pb_str_eq_cstr(unit, "%")) {
		if (ind->agg == PB_AGG_GROWTH) {
			ind->thr_kind = PB_THR_FACTOR; /* +200% = 3x */
			ind->thr = PB_DEC_ONE + n / 100;
		} else {
			ind->thr_kind = PB_THR_SHARE;
			ind->thr = n / 100;
		}
	} else {
		ind->thr_kind = PB_THR_AMOUNT;
		char cur[4] = "";
		if (unit.len == 3 && isupper((unsigned char)unit.ptr[0]) &&
		    isupper((unsigned char)unit.ptr[1]) && isupper((unsigned char)unit.ptr[2]) &&
		    pb__catalog_currency_known(c->cat, unit)) {
			memcpy(cur, unit.ptr, 3);
			cur[3] = '\0';
			if (ind->measure == PB_MEAS_QUANTITY)
				return perr(c, PB_EINVAL, v,
				            "unit mismatch: threshold '%s' is a cost in %s but the indicator "
				            "measures quantity (hint: set 'measure: billed-cost')",
				            v->str, cur);
			if (ind->currency && strcmp(ind->currency, cur))
				return perr(c, PB_EINVAL, v,
				            "unit mismatch: threshold in %s, indicator currency %s", cur,
				            ind->currency);
			free(ind->currency);
			if (!(ind->currency = pb__strndup(cur, 3)))
				return pb__err(c->err, PB_ENOMEM, "out of memory");
			ind->thr = n;
		} else {
			const struct pb_unit *u = pb_catalog_unit(c->cat, unit);
			if (!u)
				return perr(c, PB_EINVAL, v,
				            "unknown unit '%.*s' in threshold (hint: a unit from "
				            "data/catalog/units.csv such as PB-Months, TB, Hours, Characters, "
				            "or a currency code)",
				            (int)unit.len, unit.ptr);
			if (ind->measure != PB_MEAS_QUANTITY)
				return perr(c, PB_EINVAL, v,
				            "unit mismatch: threshold '%s' is a quantity but the indicator "
				            "measures cost (hint: give the threshold a currency, e.g. '>= 5000 EUR')",
				            v->str);
			if (ind->unit && strcmp(ind->unit, u->normalised))
				return perr(c, PB_EINVAL, v,
				            "unit mismatch: threshold in %s (%s) but the indicator selects %s",
				            u->unit, u->normalised, ind->unit);
			free(ind->unit);
			if (!(ind->unit = pb__strndup(u->normalised, strlen(u->normalised))))
				return pb__err(c->err, PB_ENOMEM, "out of memory");
			const struct pb__unit_factor *f = pb__catalog_unit_factor(u);
			if (!f || !pb__unit_apply(f, n, &ind->thr))
				return perr(c, PB_ELIMIT, v, "threshold '%s' is outside the representable "
				            "range once in %s (" THR_RANGE ")", v->str, u->normalised);
		}
		if (ind->agg == PB_AGG_GROWTH)
			return perr(c, PB_EINVAL, v,
			            "unit mismatch: a growth threshold is a factor, not an amount (hint: "
			            "'>= 3x' or '>= 200%%'; use 'unit:' to choose what is measured)");
		if (ind->agg == PB_AGG_SHARE)
			return perr(c, PB_EINVAL, v,
			            "unit mismatch: a share threshold is a percentage (hint: '>= 40%%'; use "
			            "'unit:' to choose what is measured)");
	}
	if (ind->thr_kind == PB_THR_FACTOR && ind->agg != PB_AGG_GROWTH)
		return perr(c, PB_EINVAL, v,
		            "unit mismatch: a factor threshold ('%s') needs 'aggregate: growth'", v->str);
	if (ind->thr_kind == PB_THR_SHARE && ind->agg != PB_AGG_SHARE)
		return perr(c, PB_EINVAL, v,
		            "unit mismatch: a percentage threshold needs 'aggregate: share-of-region' or "
		            "'growth'");
	if (per_day && ind->agg != PB_AGG_DAILY_AVG)
		return perr(c, PB_EINVAL, v, "a '/day' threshold needs 'aggregate: daily-average'");
	if (nonzero && ind->thr == 0) /* a percentage or unit factor took it below 10^-15 */
		return perr(c, PB_ELIMIT, v, "threshold '%s' is outside the representable range "
		            "(" THR_RANGE ")", v->str);
	return PB_OK;
}

/* ---- expressions ------------------------------------------------------------ */

static void expr_free(struct pb__expr *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nkids; i++)
		expr_free(e->kids[i]);
	free(e->kids);
	free(e);
}

static size_t find_ind(const struct pb_policy *p, const char *name)
{
	for (size_t i = 0; i < p->nind; i++)
		if (!strcmp(p->ind[i].name, name))
			return i;
	return (size_t)-1;
}

/* 'same: G' names the grouping of at least two of its direct parts (measuring
 * indicators with per: G), and no direct part is per the other grouping.
 * Parts without per:, and composite parts, count as usual. */
static enum pb_status check_same(struct pctx *c, const struct ynode *at, struct pb__expr *e)
{
	const char *g = e->same == PB_PER_COUNTRY ? "country" : "region";
	size_t n = 0;
	for (size_t i = 0; i < e->nkids; i++) {
		const struct pb__expr *k = e->kids[i];
		if (k->kind != PB_EX_REF || c->p->ind[k->ref].when)
			continue;
		const struct pb__indicator *ind = &c->p->ind[k->ref];
		if (ind->per == e->same)
			n++;
		else if (ind->per != PB_PER_NONE)
			return pb__err_at(c->err, PB_EINVAL, c->file, k->line, k->col,
			                  "'%s' is evaluated per %s, but 'same: %s' asks for one %s "
			                  "(hint: give the parts the same 'per:', or move '%s' into a "
			                  "composite indicator)",
			                  ind->name, ind->per == PB_PER_COUNTRY ? "country" : "region", g,
			                  g, ind->name);
	}
	if (n < 2)
		return perr(c, PB_EINVAL, at, "'same: %s' needs at least two parts with 'per: %s', "
		            "this one has %zu (hint: name the indicators with 'per: %s' directly in "
		            "the list)", g, g, n, g);
	for (size_t i = 0; i < e->nkids; i++)
		if (e->kids[i]->kind == PB_EX_REF && c->p->ind[e->kids[i]->ref].per == e->same &&
		    !c->p->ind[e->kids[i]->ref].when)
			c->p->ind[e->kids[i]->ref].same_part = true;
	return PB_OK;
}

static enum pb_status parse_expr(struct pctx *c, const struct ynode *y, int depth, size_t *count,
                                 struct pb__expr **out)
{
	enum pb_status st;
	*out = NULL;
	if (depth > PB_POLICY_MAX_DEPTH || ++*count > PB_POLICY_MAX_EXPR)
		return perr(c, PB_ELIMIT, y, "'when' expression is deeper than %d levels or has more "
		            "than %d terms (hint: name parts of it as composite indicators and refer "
		            "to them)", PB_POLICY_MAX_DEPTH, PB_POLICY_MAX_EXPR);
	struct pb__expr *e = calloc(1, sizeof(*e));
	if (!e)
		return pb__err(c->err, PB_ENOMEM, "out of memory");
	e->line = y->line;
	e->col = y->col;
	*out = e;
	if (y->kind == Y_SCALAR) {
		e->kind = PB_EX_REF;
		e->ref = find_ind(c->p, y->str);
		if (e->ref == (size_t)-1) {
			const char *names[PB_POLICY_MAX_INDICATORS];
			for (size_t i = 0; i < c->p->nind; i++)
				names[i] = c->p->ind[i].name;
			const char *near = closest(y->str, names, c->p->nind);
			if (near)
				return perr(c, PB_EINVAL, y, "undefined indicator '%s' (hint: did you mean '%s'?)",
				            y->str, near);
			return perr(c, PB_EINVAL, y, "undefined indicator '%s' (hint: define it under "
			            "'indicators:')", y->str);
		}
		return PB_OK;
	}
	if (y->kind != Y_MAP)
		return perr(c, PB_EINVAL, y, "a 'when' expression is an indicator name or a mapping "
		            "with all, any, not or at-least (hint: 'all: [a, b]')");
	static const char *const ops[] = { "all", "any", "not", "at-least", "of", "same" };
	if ((st = check_keys(c, y, "a 'when' expression", ops, PB_ARRAY_LEN(ops))))
		return st;
	const struct ynode *args, *same = get(y, "same");
	size_t extra = same ? 2 : 0;
	if ((args = get(y, "at-least"))) {
		int64_t n;
		if (args->kind != Y_SCALAR || !parse_int(args->str, args->len, 1, 1000, &n))
			return perr(c, PB_EINVAL, args, "'at-least' takes a whole number N, with 'of: [...]'");
		e->kind = PB_EX_ATLEAST;
		e->atleast = (size_t)n;
		if (y->n != 4 + extra || !(args = get(y, "of")))
			return perr(c, PB_EINVAL, y, "'at-least: N' needs 'of: [indicators]' and nothing else "
			            "(but 'same')");
	} else {
		if (y->n != 2 + extra)
			return perr(c, PB_EINVAL, y, "a 'when' mapping holds exactly one of all, any, not, "
			            "at-least%s", same ? " (with 'same')" : "");
		size_t ki = same && !strcmp(y->kids[0]->str, "same") ? 2 : 0;
		const char *k = y->kids[ki]->str;
		args = y->kids[ki + 1];
		if (!strcmp(k, "of"))
			return perr(c, PB_EINVAL, y, "'of' goes with 'at-least: N'");
		e->kind = !strcmp(k, "all") ? PB_EX_ALL : !strcmp(k, "any") ? PB_EX_ANY : PB_EX_NOT;
	}
	if (same) {
		if (e->kind != PB_EX_ALL && e->kind != PB_EX_ATLEAST)
			return perr(c, PB_EINVAL, same, "'same' goes with 'all' or 'at-least: N' (hint: "
			            "'when: {all: [a, b], same: country}')");
		if (same->kind == Y_SCALAR && !strcmp(same->str, "country"))
			e->same = PB_PER_COUNTRY;
		else if (same->kind == Y_SCALAR && !strcmp(same->str, "region"))
			e->same = PB_PER_REGION;
		else
			return perr(c, PB_EINVAL, same, "'same' takes a grouping, country or region (hint: "
			            "the 'per:' of the parts that must fire in one and the same group)");
	}
	if (e->kind == PB_EX_NOT) {
		e->kids = calloc(1, sizeof(*e->kids));
		if (!e->kids)
			return pb__err(c->err, PB_ENOMEM, "out of memory");
		e->nkids = 1;
		return parse_expr(c, args, depth + 1, count, &e->kids[0]);
	}
	if (args->kind != Y_SEQ || args->n == 0)
		return perr(c, PB_EINVAL, args, "'%s' takes a non-empty list",
		            e->kind == PB_EX_ALL ? "all" : e->kind == PB_EX_ANY ? "any" : "of");
	if (e->kind == PB_EX_ATLEAST && e->atleast > args->n)
		return perr(c, PB_EINVAL, y, "'at-least: %zu' of only %zu indicators can never hold",
		            e->atleast, args->n);
	e->kids = calloc(args->n, sizeof(*e->kids));
	if (!e->kids)
		return pb__err(c->err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < args->n; i++) {
		e->nkids++;
		if ((st = parse_expr(c, args->kids[i], depth + 1, count, &e->kids[i])))
			return st;
	}
	return same ? check_same(c, same, e) : PB_OK;
}

bool pb__expr_eval(const struct pb__expr *e, const bool *fired)
{
	size_t n = 0;
	switch (e->kind) {
	case PB_EX_REF:
		return fired[e->ref];
	case PB_EX_NOT:
		return !pb__expr_eval(e->kids[0], fired);
	case PB_EX_ALL:
		for (size_t i = 0; i < e->nkids; i++)
			if (!pb__expr_eval(e->kids[i], fired))
				return false;
		return true;
	case PB_EX_ANY:
		for (size_t i = 0; i < e->nkids; i++)
			if (pb__expr_eval(e->kids[i], fired))
				return true;
		return false;
	case PB_EX_ATLEAST:
		for (size_t i = 0; i < e->nkids; i++)
			n += pb__expr_eval(e->kids[i], fired);
		return n >= e->atleast;
	}
	return false;
}

/* Depth-first ordering of composite indicators, with cycle detection. */
static enum pb_status visit(struct pctx *c, size_t i, unsigned char *mark, size_t *order,
                            size_t *no, size_t *path, size_t depth);

static enum pb_status visit_expr(struct pctx *c, const struct pb__expr *e, unsigned char *mark,
                                 size_t *order, size_t *no, size_t *path, size_t depth)
{
	enum pb_status st;
	if (e->kind == PB_EX_REF)
		return visit(c, e->ref, mark, order, no, path, depth);
	for (size_t k = 0; k < e->nkids; k++)
		if ((st = visit_expr(c, e->kids[k], mark, order, no, path, depth)))
			return st;
	return PB_OK;
}

static enum pb_status visit(struct pctx *c, size_t i, unsigned char *mark, size_t *order,
                            size_t *no, size_t *path, size_t depth)
{
	struct pb__indicator *ind = &c->p->ind[i];
	if (mark[i] == 2)
		return PB_OK;
	if (mark[i] == 1) {
		char cyc[400] = "";
		size_t o = 0, start = 0;
		for (size_t k = 0; k < depth; k++)
			if (path[k] == i)
				start = k;
		for (size_t k = start; k < depth && o + 70 < sizeof(cyc); k++)
			o += (size_t)snprintf(cyc + o, sizeof(cyc) - o, "%s -> ", c->p->ind[path[k]].name);
		snprintf(cyc + o, sizeof(cyc) - o, "%s", ind->name);
		return pb__err_at(c->err, PB_EINVAL, c->file, ind->line, ind->col,
		                  "indicators form a cycle: %s (hint: a composite indicator may not "
		                  "depend on itself)",
		                  cyc);
	}
	mark[i] = 1;
	path[depth] = i;
	if (ind->when) {
		enum pb_status st = visit_expr(c, ind->when, mark, order, no, path, depth + 1);
		if (st)
			return st;
	}
	mark[i] = 2;
	order[(*no)++] = i;
	return PB_OK;
}

/* ---- indicators and rules ------------------------------------------------------ */

static const char *const measures[] = { "quantity", "billed-cost", "effective-cost", "list-cost" };
static const char *const aggs[] = { "sum", "daily-average", "monthly-max", "growth",
	                            "share-of-region" };

/* A quantity indicator selects rows in one normalised unit. When the catalog
 * says which units the selected capabilities (or services) are billed in and
 * none of them (values of one key are alternatives) is billed in that unit,
 * the indicator can never fire: refuse it rather than let it screen silently
 * for nothing. at: where the unit was written. */
static enum pb_status check_unit_fits(struct pctx *c, const struct ynode *at,
                                      const struct pb__indicator *ind)
{
	for (int d = 0; d < 2; d++) {
		int key = d ? PB_SEL_SERVICE : PB_SEL_CAPABILITY;
		const char *name = NULL, *cap = NULL, *units = NULL;
		bool fits = false, known = ind->nvalues[key] > 0;
		for (size_t j = 0; known && !fits && j < ind->nvalues[key]; j++) {
			const char *v = ind->values[key][j];
			if (key == PB_SEL_CAPABILITY) {
				const char *u = pb__catalog_capability_units(c->cat, pb_str_of(v, strlen(v)));
				if (!u)
					known = false;
				else if (pb__catalog_unit_in(u, ind->unit))
					fits = true;
				else if (!units)
					units = u, cap = name = v;
				continue;
			}
			/* a service: its rows are in the units of any of its capabilities */
			const struct pb_service *sv = pb_catalog_service(c->cat, pb_str_of(v, strlen(v)));
			if (!sv || !sv->ncapabilities)
				known = false;
			for (size_t i = 0; known && !fits && i < sv->ncapabilities; i++) {
				const char *sc = sv->capabilities[i];
				const char *u = pb__catalog_capability_units(c->cat, pb_str_of(sc, strlen(sc)));
				if (!u)
					known = false;
				else if (pb__catalog_unit_in(u, ind->unit))
					fits = true;
				else if (!units)
					units = u, cap = sc, name = v;
			}
		}
		if (!known || fits)
			continue;
		char list[512];
		size_t n = 0;
		for (const char *q = units; *q && n + 3 < sizeof(list); q++) {
			if (*q == '|') {
				list[n++] = ',';
				list[n++] = ' ';
			} else {
				list[n++] = *q;
			}
		}
		list[n] = '\0';
		const char *more = ind->nvalues[key] > 1 ? " (nor any other selected)" : "";
		if (key == PB_SEL_CAPABILITY)
			return perr(c, PB_EINVAL, at,
			            "unit mismatch: %s measures %s, a unit capability '%s'%s is never "
			            "billed in, so it could never fire (hint: capability '%s' uses %s; "
			            "see data/catalog/capabilities.csv)",
			            ind->name, ind->unit, name, more, cap, list);
		return perr(c, PB_EINVAL, at,
		            "unit mismatch: %s measures %s, a unit service '%s'%s is never billed in, "
		            "so it could never fire (hint: its capability '%s' uses %s; see "
		            "data/catalog/capabilities.csv)",
		            ind->name, ind->unit, name, more, cap, list);
	}
	return PB_OK;
}

/* unit: chooses the measured unit when the threshold has none (growth,
 * share); a select unit must agree with it, or is it. */
static enum pb_status parse_unit(struct pctx *c, const struct ynode *m, struct pb__indicator *ind)
{
	const struct ynode *v;
	if ((v = get(m, "unit"))) {
		if (v->kind != Y_SCALAR)
			return perr(c, PB_EINVAL, v, "'unit' must be a scalar");
		if (ind->measure == PB_MEAS_QUANTITY) {
			const struct pb_unit *u = pb_catalog_unit(c->cat, pb_str_of(v->str, v->len));
			if (!u)
				return perr(c, PB_EINVAL, v, "unknown unit '%s' (hint: see data/catalog/units.csv)",
				            v->str);
			if (!(ind->unit = pb__strndup(u->normalised, strlen(u->normalised))))
				return pb__err(c->err, PB_ENOMEM, "out of memory");
		} else {
			if (!pb__catalog_currency_known(c->cat, pb_str_of(v->str, v->len)))
				return perr(c, PB_EINVAL, v, "unit mismatch: a cost is measured in a currency "
				            "(ISO 4217 code such as EUR), not '%s'", v->str);
			if (!(ind->currency = pb__strndup(v->str, v->len)))
				return pb__err(c->err, PB_ENOMEM, "out of memory");
		}
	}
	if (ind->nvalues[PB_SEL_UNIT]) {
		if (ind->measure != PB_MEAS_QUANTITY || ind->nvalues[PB_SEL_UNIT] > 1)
			return perr(c, PB_EINVAL, get(get(m, "select"), "unit"),
			            "select 'unit' names the one unit a quantity is measured in");
		if (ind->unit && strcmp(ind->unit, ind->values[PB_SEL_UNIT][0]))
			return perr(c, PB_EINVAL, get(get(m, "select"), "unit"),
			            "unit mismatch: select unit %s, indicator unit %s",
			            ind->values[PB_SEL_UNIT][0], ind->unit);
		if (!ind->unit && !(ind->unit = pb__strndup(ind->values[PB_SEL_UNIT][0],
		                                            strlen(ind->values[PB_SEL_UNIT][0]))))
			return pb__err(c->err, PB_ENOMEM, "out of memory");
	}
	return PB_OK;
}

/* The value of key in m, one of names (its index into *i; *i unchanged when
 * the key is absent); "cost" is the measure billed-cost. */
static enum pb_status pick(struct pctx *c, const struct ynode *m, const char *key,
                           const char *what, const char *const *names, size_t n,
                           const char *hint, size_t *i)
{
	char *s = NULL;
	enum pb_status st = get_str(c, m, key, what, false, &s);
	if (st || !s)
		return st;
	size_t k = 0;
	if (!strcmp(key, "measure") && !strcmp(s, "cost"))
		k = 1;
	else
		for (k = 0; k < n && strcmp(s, names[k]); k++)
			;
	if (k == n) {
		const char *near = closest(s, names, n);
		st = perr(c, PB_EINVAL, get(m, key), "unknown %s '%s' (hint: %s%s%s)", key, s,
		          near ? "did you mean '" : hint, near ? near : "", near ? "'?" : "");
	} else {
		*i = k;
	}
	free(s);
	return st;
}

static enum pb_status parse_indicator(struct pctx *c, const struct ynode *k, const struct ynode *m,
                                      struct pb__indicator *ind)
{
	static const char *const known[] = { "description", "select", "measure", "unit", "window",
		                             "aggregate", "per", "threshold", "when" };
	enum pb_status st;
	char what[120];
	snprintf(what, sizeof(what), "indicator '%s'", k->str);
	ind->line = k->line;
	ind->col = k->col;
	if ((st = expect(c, m, Y_MAP, what)) || (st = check_keys(c, m, what, known, PB_ARRAY_LEN(known))))
		return st;
	if ((st = get_str(c, m, "description", what, false, &ind->description)))
		return st;
	if (get(m, "when")) {
		static const char *const meas_keys[] = { "select", "measure", "unit", "window",
			                                 "aggregate", "per", "threshold" };
		for (size_t i = 0; i < PB_ARRAY_LEN(meas_keys); i++)
			if (get(m, meas_keys[i]))
				return perr(c, PB_EINVAL, get(m, meas_keys[i]),
				            "%s combines other indicators with 'when', so it cannot have "
				            "'%s' (hint: make a separate indicator)",
				            what, meas_keys[i]);
		return PB_OK; /* parsed once every indicator has a name */
	}
	const struct ynode *v;
	if ((v = get(m, "select")) && (st = parse_select(c, v, ind)))
		return st;
	size_t i = PB_MEAS_QUANTITY;
	if ((st = pick(c, m, "measure", what, measures, PB_ARRAY_LEN(measures),
	               "quantity, billed-cost, effective-cost or list-cost", &i)))
		return st;
	ind->measure = (enum pb__measure)i;
	i = PB_AGG_SUM;
	if ((st = pick(c, m, "aggregate", what, aggs, PB_ARRAY_LEN(aggs),
	               "sum, daily-average, monthly-max, growth or share-of-region", &i)))
		return st;
	ind->agg = (enum pb__agg)i;
	char *s = NULL;
	if ((st = get_str(c, m, "per", what, false, &s)))
		return st;
	ind->per = ind->agg == PB_AGG_SHARE ? PB_PER_REGION : PB_PER_NONE;
	if (s) {
		if (!strcmp(s, "region"))
			ind->per = PB_PER_REGION;
		else if (!strcmp(s, "country"))
			ind->per = PB_PER_COUNTRY;
		else {
			st = perr(c, PB_EINVAL, get(m, "per"), "unknown 'per' value '%s' (hint: region or "
			          "country)", s);
			free(s);
			return st;
		}
		free(s);
	}
	if ((st = parse_unit(c, m, ind)))
		return st;
	if (!(v = get(m, "window")))
		return perr(c, PB_EINVAL, m, "%s has no 'window' (hint: 'window: last 90 days')", what);
	if ((st = parse_window(c, v, ind)))
		return st;
	if (!(v = get(m, "threshold")))
		return perr(c, PB_EINVAL, m, "%s has no 'threshold' (hint: 'threshold: >= 1 PB-Months')",
		            what);
	if ((st = parse_threshold(c, v, ind)))
		return st;
	if (!(ind->thr_text = pb__strndup(v->str, v->len)))
		return pb__err(c->err, PB_ENOMEM, "out of memory");
	if (ind->measure == PB_MEAS_QUANTITY && !ind->unit)
		return perr(c, PB_EINVAL, v, "unit mismatch: %s measures a quantity but names no unit "
		            "(hint: add 'unit: GB-Months' or similar)", what);
	if (ind->measure != PB_MEAS_QUANTITY && !ind->currency)
		return perr(c, PB_EINVAL, v, "%s measures a cost but names no currency (hint: add "
		            "'unit: EUR')", what);
	if (ind->agg == PB_AGG_MONTHLY_MAX && ind->window == PB_WIN_LAST_DAYS)
		return perr(c, PB_EINVAL, get(m, "aggregate"), "monthly-max needs a window of whole "
		            "months (hint: 'last 6 months' or 'every month')");
	if (ind->measure == PB_MEAS_QUANTITY) {
		/* point at the unit as written: the threshold's, else unit: or select unit */
		const struct ynode *at = v;
		if (ind->thr_kind != PB_THR_AMOUNT)
			at = get(m, "unit") ? get(m, "unit") : get(get(m, "select"), "unit");
		if ((st = check_unit_fits(c, at ? at : v, ind)))
			return st;
	}
	return PB_OK;
}

static enum pb_status parse_rule(struct pctx *c, const struct ynode *k, const struct ynode *m,
                                 struct pb__rule *r)
{
	static const char *const known[] = { "description", "severity", "when" };
	static const char *const sev[] = { "low", "medium", "high", "critical" };
	enum pb_status st;
	char what[120];
	snprintf(what, sizeof(what), "rule '%s'", k->str);
	r->line = k->line;
	r->col = k->col;
	if ((st = expect(c, m, Y_MAP, what)) || (st = check_keys(c, m, what, known, PB_ARRAY_LEN(known))))
		return st;
	const struct ynode *sv = get(m, "severity");
	if (sv && sv->kind != Y_SCALAR)
		return perr(c, PB_EINVAL, sv, "'severity' of %s must be one word, not %s (hint: "
		            "'severity: high'; one of low, medium, high or critical)", what,
		            ykind_name(sv->kind));
	if ((st = get_str(c, m, "description", what, false, &r->description)) ||
	    (st = get_str(c, m, "severity", what, true, &r->severity)))
		return st;
	size_t i;
	for (i = 0; i < PB_ARRAY_LEN(sev) && strcmp(sev[i], r->severity); i++)
		;
	if (i == PB_ARRAY_LEN(sev))
		return perr(c, PB_EINVAL, get(m, "severity"), "unknown severity '%s' (hint: low, medium, "
		            "high or critical)", r->severity);
	const struct ynode *w = get(m, "when");
	if (!w)
		return perr(c, PB_EINVAL, m, "%s has no 'when' (hint: 'when: {all: [a, b]}')", what);
	size_t count = 0;
	return parse_expr(c, w, 0, &count, &r->when);
}

static enum pb_status parse_policy(struct pctx *c, const struct ynode *root)
{
	static const char *const known[] = { "policy", "title", "description", "clause",
		                             "indicators", "rules" };
	struct pb_policy *p = c->p;
	enum pb_status st;
	if ((st = expect(c, root, Y_MAP, "a policy file")) ||
	    (st = check_keys(c, root, "the policy", known, PB_ARRAY_LEN(known))))
		return st;
	if ((st = get_str(c, root, "policy", "the policy", true, &p->name)) ||
	    (st = get_str(c, root, "title", "the policy", false, &p->title)) ||
	    (st = get_str(c, root, "description", "the policy", true, &p->description)) ||
	    (st = get_str(c, root, "clause", "the policy", true, &p->clause)))
		return st;
	if (!valid_name(p->name))
		return perr(c, PB_EINVAL, get(root, "policy"), "policy name '%s' must be 1-64 letters, "
		            "digits, '-', '_' or '.'", p->name);
	const struct ynode *inds = get(root, "indicators"), *rules = get(root, "rules");
	if (!inds)
		return perr(c, PB_EINVAL, root, "the policy has no 'indicators'");
	if (!rules)
		return perr(c, PB_EINVAL, root, "the policy has no 'rules' (hint: a rule combines "
		            "indicators and sets a severity)");
	if ((st = expect(c, inds, Y_MAP, "'indicators'")) || (st = expect(c, rules, Y_MAP, "'rules'")))
		return st;
	if (inds->n == 0)
		return perr(c, PB_EINVAL, inds, "'indicators' is empty");
	if (rules->n == 0)
		return perr(c, PB_EINVAL, rules, "'rules' is empty");
	if (inds->n / 2 > PB_POLICY_MAX_INDICATORS)
		return perr(c, PB_ELIMIT, inds, "more than %d indicators", PB_POLICY_MAX_INDICATORS);
	if (rules->n / 2 > PB_POLICY_MAX_RULES)
		return perr(c, PB_ELIMIT, rules, "more than %d rules", PB_POLICY_MAX_RULES);
	p->ind = calloc(inds->n / 2, sizeof(*p->ind));
	p->order = calloc(inds->n / 2, sizeof(*p->order));
	p->rules = calloc(rules->n / 2, sizeof(*p->rules));
	if (!p->ind || !p->order || !p->rules)
		return pb__err(c->err, PB_ENOMEM, "out of memory");
	/* names first, so 'when' can refer to indicators defined later */
	for (size_t i = 0; i + 1 < inds->n; i += 2) {
		const struct ynode *k = inds->kids[i];
		if (k->kind != Y_SCALAR || !valid_name(k->str))
			return perr(c, PB_EINVAL, k, "indicator names are 1-64 letters, digits, '-', '_' or "
			            "'.'");
		if (find_ind(p, k->str) != (size_t)-1)
			return perr(c, PB_EINVAL, k, "indicator '%s' is defined twice", k->str);
		if (!(p->ind[p->nind].name = pb__strndup(k->str, k->len)))
			return pb__err(c->err, PB_ENOMEM, "out of memory");
		p->nind++;
	}
	for (size_t i = 0; i + 1 < inds->n; i += 2)
		if ((st = parse_indicator(c, inds->kids[i], inds->kids[i + 1], &p->ind[i / 2])))
			return st;
	for (size_t i = 0; i + 1 < inds->n; i += 2) {
		const struct ynode *w = get(inds->kids[i + 1], "when");
		size_t count = 0;
		if (w && (st = parse_expr(c, w, 0, &count, &p->ind[i / 2].when)))
			return st;
	}
	unsigned char *mark = calloc(p->nind, 1);
	size_t *path = calloc(p->nind + 1, sizeof(size_t)), no = 0;
	if (!mark || !path) {
		free(mark);
		free(path);
		return pb__err(c->err, PB_ENOMEM, "out of memory");
	}
	st = PB_OK;
	for (size_t i = 0; i < p->nind && !st; i++)
		st = visit(c, i, mark, p->order, &no, path, 0);
	free(mark);
	free(path);
	if (st)
		return st;
	for (size_t i = 0; i + 1 < rules->n; i += 2) {
		const struct ynode *k = rules->kids[i];
		if (k->kind != Y_SCALAR || !valid_name(k->str))
			return perr(c, PB_EINVAL, k, "rule names are 1-64 letters, digits, '-', '_' or '.'");
		for (size_t j = 0; j < p->nrules; j++)
			if (!strcmp(p->rules[j].name, k->str))
				return perr(c, PB_EINVAL, k, "rule '%s' is defined twice", k->str);
		if (!(p->rules[p->nrules].name = pb__strndup(k->str, k->len)))
			return pb__err(c->err, PB_ENOMEM, "out of memory");
		p->nrules++;
		if ((st = parse_rule(c, k, rules->kids[i + 1], &p->rules[p->nrules - 1])))
			return st;
	}
	return PB_OK;
}

void pb_policy_free(struct pb_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nind; i++) {
		struct pb__indicator *ind = &p->ind[i];
		free(ind->name);
		free(ind->description);
		expr_free(ind->when);
		for (int s = 0; s < PB_SEL_COUNT; s++) {
			for (size_t j = 0; j < ind->nvalues[s]; j++)
				free(ind->values[s][j]);
			free(ind->values[s]);
		}
		free(ind->unit);
		free(ind->currency);
		free(ind->thr_text);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].name);
		free(p->rules[i].description);
		free(p->rules[i].severity);
		expr_free(p->rules[i].when);
	}
	free(p->ind);
	free(p->order);
	free(p->rules);
	free(p->file);
	free(p->name);
	free(p->title);
	free(p->description);
	free(p->clause);
	free(p->text);
	free(p);
}

enum pb_status pb_policy_parse(const char *text, size_t len, const char *file,
                               const struct pb_catalog *cat, struct pb_policy **out,
                               struct pb_error *err)
{
	struct ynode *root = NULL;
	enum pb_status st;
	*out = NULL;
	if (!file)
		file = "<policy>";
	if (len > PB_POLICY_MAX_BYTES)
		return pb__err_at(err, PB_ELIMIT, file, 0, 0, "policy file is over %u bytes (hint: policies are a few "
		                  "kilobytes; is this the right file? split a large policy into several "
		                  "files)",
		                  PB_POLICY_MAX_BYTES);
	size_t bad;
	if (!pb_utf8_valid(text, len, &bad))
		return pb__err_at(err, PB_EFORMAT, file, 0, 0, "policy file is not UTF-8 (byte %zu) (hint: save it as "
		                  "UTF-8)",
		                  bad);
	if (memchr(text, '\0', len))
		return pb__err_at(err, PB_EFORMAT, file, 0, 0, "policy file holds a NUL byte (hint: a policy is a "
		                  "YAML text file; is this the right file?)");
	struct pb_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct pctx c = { file, cat, err, p };
	if (!(p->file = pb__strndup(file, strlen(file))) || !(p->text = pb__strndup(text, len))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	p->text_len = len;
	uint8_t h[32];
	pb__sha256(text, len, h);
	pb_hex(h, 32, p->sha256);
	if ((st = yaml_tree(&c, text, len, &root)))
		goto fail;
	if ((st = parse_policy(&c, root)))
		goto fail;
	ynode_free(root);
	*out = p;
	return PB_OK;
fail:
	ynode_free(root);
	pb_policy_free(p);
	return st;
}

enum pb_status pb_policy_load(const char *path, const struct pb_catalog *cat,
                              struct pb_policy **out, struct pb_error *err)
{
	char *text;
	size_t len;
	*out = NULL;
	enum pb_status st = pb__read_file(path, PB_POLICY_MAX_BYTES, &text, &len, err);
	if (st) {
		if (st == PB_ELIMIT)
			return pb__err_at(err, PB_ELIMIT, path, 0, 0, "policy file is over %u bytes (hint: policies are a few "
		                  "kilobytes; is this the right file? split a large policy into several "
		                  "files)",
			                  PB_POLICY_MAX_BYTES);
		return st;
	}
	st = pb_policy_parse(text, len, path, cat, out, err);
	free(text);
	return st;
}

const char *pb_policy_name(const struct pb_policy *p)
{
	return p->name;
}

const char *pb_policy_sha256(const struct pb_policy *p)
{
	return p->sha256;
}

size_t pb_policy_indicator_count(const struct pb_policy *p)
{
	return p->nind;
}

size_t pb_policy_rule_count(const struct pb_policy *p)
{
	return p->nrules;
}

/* ---- windows ------------------------------------------------------------------ */

struct pb__span pb__month_span(const struct pb__indicator *ind, int64_t m)
{
	struct pb__span s = { pb__month_first_day(m), pb__month_first_day(m + 1), 0, 0, m };
	s.plo = s.phi = s.lo;
	if (ind->agg == PB_AGG_GROWTH) {
		s.plo = pb__month_first_day(m - 1);
		s.phi = s.lo;
	}
	return s;
}

struct pb__span pb__window_span(const struct pb__indicator *ind, int64_t at)
{
	struct pb__span s = { 0, 0, 0, 0, -1 };
	int64_t am = pb__month_of_day(at);
	switch (ind->window) {
	case PB_WIN_LAST_DAYS:
		s.lo = at - ind->wn;
		s.hi = at;
		s.plo = s.lo - ind->wn;
		break;
	case PB_WIN_LAST_MONTHS:
		s.lo = pb__month_first_day(am - ind->wn);
		s.hi = pb__month_first_day(am);
		s.plo = pb__month_first_day(am - 2 * ind->wn);
		break;
	case PB_WIN_MONTH:
		s.lo = pb__month_first_day(ind->wn);
		s.hi = pb__month_first_day(ind->wn + 1);
		s.plo = pb__month_first_day(ind->wn - 1);
		break;
	case PB_WIN_EVERY_MONTH:
		return pb__month_span(ind, am - 1);
	}
	s.phi = s.lo;
	if (ind->agg != PB_AGG_GROWTH)
		s.plo = s.lo;
	return s;
}

int64_t pb__span_days(const struct pb__span *s)
{
	return s->hi - s->lo;
}
