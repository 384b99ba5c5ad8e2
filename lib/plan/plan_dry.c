/* plan_dry.c - the dry run of a plan: what it would cut from its customer's
 * usage, what stays on, selectors that match nothing and keeps that cancel a
 * disable; and the plan with its dry run as JSON.
 *
 * Usage is read per (account, sub-account, service, SKU meter, region, unit,
 * currency) from the aggregates, merged by the capability the catalog gives
 * the meter, and each key is put to the plan's rules as a request naming
 * that service, region, sub-account and capability (pb__rule_applies, the
 * reading of docs/enforcement.md). Costs are summed exactly (pb_dec); shares
 * are doubles, for display.
 */
#include "plan/plan.h"
#include "profile/customer.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

struct row {
	struct pb_plan_usage pub;
	pb_dec qty, cost;
	int64_t last_day;
};

struct dry_obj {
	struct pb_plan_dryrun pub; /* first: the free function casts back */
	struct pb__arena arena;
	struct row *rows;
	size_t nrows, cap;
	struct pb_plan_usage *out_rows;
	struct pb_plan_spend *spend;
	size_t *matches;
	size_t (*cancels)[2];
	bool *always;
	const char **notes;
	size_t nnotes;
};

void pb_plan_dryrun_free(struct pb_plan_dryrun *d)
{
	if (!d)
		return;
	struct dry_obj *o = (struct dry_obj *)d;
	free(o->rows);
	free(o->out_rows);
	free(o->spend);
	free(o->matches);
	free(o->cancels);
	free(o->always);
	free(o->notes);
	pb__arena_release(&o->arena);
	free(o);
}

static const char *astr(struct pb__arena *a, const char *s)
{
	return pb__arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

static const char *dec_text(struct pb__arena *a, pb_dec v)
{
	char b[PB_DEC_BUFSZ];
	size_t n = pb__dec_format(v, b);
	return pb__arena_strndup(a, b, n);
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The last month the workspace's usage covers to its last day. */
static enum pb_status last_full_month(struct pb_ws *ws, int64_t *d0, int64_t *d1, char month[8],
                                      struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db, "SELECT max(day) FROM usage_day", &q, err);
	if (st)
		return st;
	month[0] = '\0';
	*d0 = *d1 = 0;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		int64_t last = sqlite3_column_int64(q, 0);
		int y;
		unsigned m, d;
		pb__civil_from_days(last + 1, &y, &m, &d);
		/* the month of the day after the last: complete when that day is the 1st */
		if (d != 1) {
			pb__civil_from_days(last, &y, &m, &d);
			if (m == 1) {
				y--;
				m = 12;
			} else {
				m--;
			}
		} else {
			pb__civil_from_days(last, &y, &m, &d);
		}
		*d0 = pb__days_from_civil(y, m, 1);
		*d1 = pb__days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1);
		pb__snprintf(month, 8, "%04d-%02u", y, m);
	}
	sqlite3_finalize(q);
	return PB_OK;
}

static enum pb_status parse_month(const char *s, int64_t *d0, int64_t *d1, char month[8],
                                  struct pb_error *err)
{
	int y = 0;
	unsigned m = 0;
	bool ok = strlen(s) == 7 && s[4] == '-';
	for (int i = 0; ok && i < 7; i++)
		ok = i == 4 || (s[i] >= '0' && s[i] <= '9');
	if (ok) {
		y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
		ok = m >= 1 && m <= 12 && y >= 1970;
	}
	if (!ok)
		return pb__err(err, PB_EINVAL, "month '%s' is not YYYY-MM", s);
	*d0 = pb__days_from_civil(y, m, 1);
	*d1 = pb__days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1);
	pb__snprintf(month, 8, "%04d-%02u", y, m);
	return PB_OK;
}

static enum pb_status add_usage(struct dry_obj *o, const struct pb_catalog *cat, sqlite3_stmt *q,
                                struct pb_error *err)
{
	const char *acct = (const char *)sqlite3_column_text(q, 0);
	const char *sub = (const char *)sqlite3_column_text(q, 1);
	const char *svc = (const char *)sqlite3_column_text(q, 2);
	const char *meter = (const char *)sqlite3_column_text(q, 3);
	const char *region = (const char *)sqlite3_column_text(q, 4);
	const char *unit = (const char *)sqlite3_column_text(q, 5);
	const char *cur = (const char *)sqlite3_column_text(q, 6);
	pb_dec qty, cost;
	if (pb__dec_parse((const char *)sqlite3_column_text(q, 7),
	                  (size_t)sqlite3_column_bytes(q, 7), &qty, NULL) ||
	    pb__dec_parse((const char *)sqlite3_column_text(q, 8),
	                  (size_t)sqlite3_column_bytes(q, 8), &cost, NULL))
		return pb__err(err, PB_EDB, "a usage sum is not a decimal");
	int64_t last = sqlite3_column_int64(q, 9);
	const char *cap = svc ? pb_catalog_capability(cat, pb_cstr(svc), pb_cstr(meter ? meter : ""))
	                      : NULL;
	for (size_t i = 0; i < o->nrows; i++) {
		struct row *r = &o->rows[i];
		if (same(r->pub.account, acct) && same(r->pub.subaccount, sub) &&
		    same(r->pub.service, svc) && same(r->pub.capability, cap) &&
		    same(r->pub.region, region) && same(r->pub.unit, unit) &&
		    same(r->pub.currency, cur)) {
			if (!pb__dec_add(&r->qty, qty) || !pb__dec_add(&r->cost, cost))
				return pb__err(err, PB_ELIMIT, "a usage sum is out of range");
			if (last > r->last_day)
				r->last_day = last;
			return PB_OK;
		}
	}
	if (o->nrows == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 64;
		struct row *nr = realloc(o->rows, nc * sizeof(*nr));
		if (!nr)
			return pb__err(err, PB_ENOMEM, "out of memory");
		o->rows = nr;
		o->cap = nc;
	}
	struct row *r = &o->rows[o->nrows];
	memset(r, 0, sizeof(*r));
	struct pb__arena *a = &o->arena;
	const struct pb_region *g = region ? pb_catalog_region(cat, pb_cstr(region)) : NULL;
	r->pub.account = astr(a, acct);
	r->pub.subaccount = astr(a, sub);
	r->pub.service = astr(a, svc);
	r->pub.capability = astr(a, cap);
	r->pub.region = astr(a, region);
	r->pub.country = astr(a, g ? g->country : NULL);
	r->pub.unit = astr(a, unit);
	r->pub.currency = astr(a, cur);
	if (!r->pub.account || !r->pub.subaccount || !r->pub.service || !r->pub.capability ||
	    !r->pub.region || !r->pub.country || !r->pub.unit || !r->pub.currency)
		return pb__err(err, PB_ENOMEM, "out of memory");
	r->qty = qty;
	r->cost = cost;
	r->last_day = last;
	o->nrows++;
	return PB_OK;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	if (a->pub.cut != b->pub.cut)
		return a->pub.cut ? -1 : 1;
	if (a->cost != b->cost)
		return a->cost > b->cost ? -1 : 1;
	int c = strcmp(a->pub.account, b->pub.account);
	if (!c)
		c = strcmp(a->pub.subaccount, b->pub.subaccount);
	if (!c)
		c = strcmp(a->pub.service, b->pub.service);
	if (!c)
		c = strcmp(a->pub.capability, b->pub.capability);
	if (!c)
		c = strcmp(a->pub.region, b->pub.region);
	if (!c)
		c = strcmp(a->pub.unit, b->pub.unit);
	return c;
}

static enum pb_status note(struct dry_obj *o, size_t *cap, const char *text, struct pb_error *err)
{
	if (o->nnotes == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		const char **nn = realloc(o->notes, nc * sizeof(*nn));
		if (!nn)
			return pb__err(err, PB_ENOMEM, "out of memory");
		o->notes = nn;
		*cap = nc;
	}
	if (!(o->notes[o->nnotes] = astr(&o->arena, text)))
		return pb__err(err, PB_ENOMEM, "out of memory");
	o->nnotes++;
	return PB_OK;
}

/* Step 1: the customer's usage in the month, one row per key (account,
 * sub-account, service, capability, region, unit, currency). */
static enum pb_status load_usage(struct pb_ws *ws, struct dry_obj *o, const struct pb_catalog *cat,
                                 const struct pb_plan *p, const char *month, struct pb_error *err)
{
	struct pb_plan_dryrun *d = &o->pub;
	sqlite3_stmt *q = NULL;
	enum pb_status st;
	int64_t d0 = 0, d1 = 0;
	if (month && *month)
		st = parse_month(month, &d0, &d1, d->month, err);
	else
		st = last_full_month(ws, &d0, &d1, d->month, err);
	if (st)
		return st;
	int64_t customer = 0;
	/* a preview (pb_plan_preview: id 0) is of its case's customer */
	if ((st = pb__db_prepare(ws->db,
	                         p->id ? "SELECT customer_id FROM plan WHERE id = ?1"
	                               : "SELECT customer_id FROM review_case WHERE id = ?2",
	                         &q, err)))
		return st;
	sqlite3_bind_int64(q, 1, p->id);
	sqlite3_bind_int64(q, 2, p->case_id);
	if (sqlite3_step(q) == SQLITE_ROW)
		customer = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (!customer)
		return pb__err(err, PB_ENOENT, "no plan %lld", (long long)p->id);
	if ((st = pb__db_prepare(
		     ws->db,
		     "WITH u AS (" PB_CUSTOMER_USAGE_SQL ") "
		     "SELECT a.value, s.value, sv.value, m.value, r.value, un.value, cu.value, "
		     " pb_dsum(CASE WHEN u.day >= ?2 AND u.day < ?3 THEN u.quantity END), "
		     " pb_dsum(CASE WHEN u.day >= ?2 AND u.day < ?3 THEN u.billed_cost END), "
		     " max(u.day), min(u.day) "
		     "FROM u JOIN dim a ON a.id = u.account LEFT JOIN dim s ON s.id = u.subaccount "
		     "JOIN dim sv ON sv.id = u.service LEFT JOIN dim m ON m.id = u.sku_meter "
		     "LEFT JOIN dim r ON r.id = u.region LEFT JOIN dim un ON un.id = u.unit "
		     "LEFT JOIN dim cu ON cu.id = u.currency "
		     "GROUP BY u.account, u.subaccount, u.service, u.sku_meter, u.region, u.unit, "
		     " u.currency",
		     &q, err)))
		return st;
	sqlite3_bind_int64(q, 1, customer);
	sqlite3_bind_int64(q, 2, d0);
	sqlite3_bind_int64(q, 3, d1);
	int rc;
	int64_t first = INT64_MAX, last = INT64_MIN;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if ((st = add_usage(o, cat, q, err)))
			break;
		int64_t l = sqlite3_column_int64(q, 9), f = sqlite3_column_int64(q, 10);
		if (l > last)
			last = l;
		if (f < first)
			first = f;
	}
	if (!st && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read the customer's usage");
	sqlite3_finalize(q);
	if (st)
		return st;
	if (o->nrows) {
		pb_day_format(first, d->first_day);
		pb_day_format(last, d->last_day);
	}
	return PB_OK;
}

/* What step 2 learns per selector, for step 3. */
struct tally {
	size_t *kept_rows;     /* per disable: rows a keep wins back */
	long *first_keep;      /* per disable: the first keep that does, or -1 */
	bool *hit;             /* scratch: the selectors one key matches */
	unsigned unknown_rows; /* disabled keys naming a service or region the catalog lacks */
};

/* Step 2: puts every key to the plan's rules: which disable cuts it, which
 * keep wins it back, and how often each selector matches. */
static void match_rules(struct dry_obj *o, const struct pb_catalog *cat, const struct pb_plan *p,
                        struct tally *t)
{
	size_t nsel = p->nselectors;
	size_t *kept_rows = t->kept_rows;
	long *first_keep = t->first_keep;
	bool *hit = t->hit;
	for (size_t i = 0; i < nsel; i++)
		first_keep[i] = -1;
	for (size_t i = 0; i < o->nrows; i++) {
		struct row *r = &o->rows[i];
		struct pb__req rq = { pb_cstr(r->pub.account),
			              r->pub.subaccount[0] ? pb_cstr(r->pub.subaccount)
			                                   : (struct pb_str){ NULL, 0 },
			              pb_cstr(r->pub.service),
			              r->pub.region[0] ? pb_cstr(r->pub.region) : (struct pb_str){ NULL, 0 },
			              r->pub.capability[0] ? pb_cstr(r->pub.capability)
			                                   : (struct pb_str){ NULL, 0 },
			              { NULL, 0 } };
		struct pb__req_facts f;
		pb__req_facts(cat, &rq, &f);
		memset(hit, 0, nsel * sizeof(bool));
		long dis = -1, keep = -1;
		for (size_t k = 0; k < p->nrules; k++) {
			const struct pb_rule *x = &p->rules[k];
			bool isdis = x->effect == PB_EFFECT_DISABLE;
			if (!pb__rule_applies(x, cat, &rq, &f, isdis))
				continue;
			hit[p->rule_selector[k]] = true;
			if (isdis && dis < 0)
				dis = (long)p->rule_selector[k];
			if (!isdis && keep < 0)
				keep = (long)p->rule_selector[k];
		}
		for (size_t s = 0; s < nsel; s++)
			if (hit[s]) {
				o->matches[s]++;
				if (!p->selectors[s].keep && keep >= 0) {
					kept_rows[s]++;
					if (first_keep[s] < 0)
						first_keep[s] = keep;
				}
			}
		r->pub.by = dis;
		r->pub.kept_by = dis >= 0 ? keep : -1;
		r->pub.cut = dis >= 0 && keep < 0;
		r->pub.flags = f.flags & (PB_DECIDE_UNKNOWN_SERVICE | PB_DECIDE_UNKNOWN_REGION |
		                          PB_DECIDE_SEVERAL_CAPS);
		if (dis >= 0 && (f.flags & (PB_DECIDE_UNKNOWN_SERVICE | PB_DECIDE_UNKNOWN_REGION)))
			t->unknown_rows++;
	}
}

/* Step 3: keeps that cancel a disable: always (by the catalog), or on this
 * usage (every row the disable matches is won back). */
static void find_cancels(struct dry_obj *o, const struct pb_catalog *cat, const struct pb_plan *p,
                         const struct tally *t)
{
	struct pb_plan_dryrun *d = &o->pub;
	size_t nsel = p->nselectors;
	const size_t *kept_rows = t->kept_rows;
	const long *first_keep = t->first_keep;
	for (size_t s = 0; s < nsel; s++) {
		if (p->selectors[s].keep)
			continue;
		long by = -1;
		for (size_t k = 0; k < nsel && by < 0; k++) {
			if (!p->selectors[k].keep)
				continue;
			/* every rule of the disable covered by some rule of the keep */
			bool all = true, any = false;
			for (size_t a = 0; a < p->nrules && all; a++) {
				if (p->rule_selector[a] != s)
					continue;
				any = true;
				bool cov = false;
				for (size_t b = 0; b < p->nrules && !cov; b++)
					cov = p->rule_selector[b] == k &&
					      pb__keep_covers(cat, &p->rules[b], &p->rules[a]);
				all = cov;
			}
			if (any && all)
				by = (long)k;
		}
		bool always = by >= 0;
		if (!always && o->matches[s] && kept_rows[s] == o->matches[s])
			by = first_keep[s];
		if (by >= 0) {
			o->cancels[d->ncancels][0] = (size_t)by;
			o->cancels[d->ncancels][1] = s;
			o->always[d->ncancels] = always;
			d->ncancels++;
		}
	}
}

/* Step 4: spend per currency (total, cut, kept), each row's share and text
 * figures, then the rows in order: cut first, then by cost. */
static enum pb_status figures(struct dry_obj *o, struct pb_error *err)
{
	struct pb_plan_dryrun *d = &o->pub;
	size_t ncur = 0;
	o->spend = calloc(o->nrows ? o->nrows : 1, sizeof(*o->spend));
	pb_dec *tot = calloc(o->nrows ? o->nrows : 1, 3 * sizeof(pb_dec));
	if (!o->spend || !tot) {
		free(tot);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < o->nrows; i++) {
		struct row *r = &o->rows[i];
		size_t c = 0;
		while (c < ncur && strcmp(o->spend[c].currency, r->pub.currency))
			c++;
		if (c == ncur)
			o->spend[ncur++].currency = r->pub.currency;
		bool ok = pb__dec_add(&tot[3 * c], r->cost);
		if (r->pub.cut)
			ok = ok && pb__dec_add(&tot[3 * c + 1], r->cost);
		else if (r->pub.by >= 0)
			ok = ok && pb__dec_add(&tot[3 * c + 2], r->cost);
		if (!ok) {
			free(tot);
			return pb__err(err, PB_ELIMIT, "the customer's spend is out of range");
		}
	}
	for (size_t i = 0; i < o->nrows; i++) {
		struct row *r = &o->rows[i];
		size_t c = 0;
		while (c < ncur && strcmp(o->spend[c].currency, r->pub.currency))
			c++;
		double t = pb__dec_to_double(tot[3 * c]);
		r->pub.share = t > 0 && r->cost > 0 ? pb__dec_to_double(r->cost) / t : 0;
		r->pub.quantity = dec_text(&o->arena, r->qty);
		r->pub.cost = dec_text(&o->arena, r->cost);
		char day[11];
		pb_day_format(r->last_day, day);
		r->pub.last_day = astr(&o->arena, day);
		if (!r->pub.quantity || !r->pub.cost || !r->pub.last_day) {
			free(tot);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		if (r->pub.cut)
			d->ncut++;
	}
	for (size_t c = 0; c < ncur; c++) {
		struct pb_plan_spend *s = &o->spend[c];
		s->total = dec_text(&o->arena, tot[3 * c]);
		s->cut = dec_text(&o->arena, tot[3 * c + 1]);
		s->kept = dec_text(&o->arena, tot[3 * c + 2]);
		double t = pb__dec_to_double(tot[3 * c]);
		s->cut_share = t > 0 ? pb__dec_to_double(tot[3 * c + 1]) / t : 0;
		if (!s->total || !s->cut || !s->kept) {
			free(tot);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
	}
	free(tot);
	d->spend = o->spend;
	d->nspend = ncur;
	if (o->nrows)
		qsort(o->rows, o->nrows, sizeof(*o->rows), row_cmp);
	o->out_rows = malloc((o->nrows ? o->nrows : 1) * sizeof(*o->out_rows));
	if (!o->out_rows)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->nrows; i++)
		o->out_rows[i] = o->rows[i].pub;
	return PB_OK;
}

/* Step 5: notes for people (no usage, a split service, sub-accounts,
 * unknown services or regions). */
static enum pb_status add_notes(struct dry_obj *o, const struct pb_plan *p, unsigned unknown_rows,
                                struct pb_error *err)
{
	struct pb_plan_dryrun *d = &o->pub;
	enum pb_status st;
	size_t ncap = 0;
	char buf[768];
	if (!o->nrows) {
		pb__snprintf(buf, sizeof(buf), "no usage of customer '%s' is loaded: the dry run "
		                               "cannot show what the plan would cut",
		             p->customer);
		if ((st = note(o, &ncap, buf, err)))
			return st;
	} else if (d->month[0] && strcmp(d->last_day, d->month) < 0) {
		pb__snprintf(buf, sizeof(buf), "the customer's usage ends on %s, before %s",
		             d->last_day, d->month);
		if ((st = note(o, &ncap, buf, err)))
			return st;
	}
	for (size_t i = 0; i < o->nrows; i++) {
		const struct pb_plan_usage *a = &o->out_rows[i];
		if (!a->cut)
			continue;
		bool split = false, seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = o->out_rows[j].cut && !strcmp(o->out_rows[j].service, a->service);
		if (seen)
			continue;
		for (size_t j = 0; j < o->nrows && !split; j++)
			split = !o->out_rows[j].cut && !strcmp(o->out_rows[j].service, a->service) &&
			        strcmp(o->out_rows[j].capability, a->capability);
		if (split) {
			pb__snprintf(buf, sizeof(buf),
			             "'%s' is cut for some capabilities only: gateway calls to it that "
			             "name neither the capability nor the SKU meter are denied "
			             "(several-capabilities); configure each route with its capability "
			             "(docs/gateways.md)",
			             a->service);
			if ((st = note(o, &ncap, buf, err)))
				return st;
		}
	}
	bool subs = false;
	for (size_t k = 0; k < p->nrules && !subs; k++)
		subs = p->rules[k].effect == PB_EFFECT_DISABLE && p->rules[k].nvalues[PB_DIM_SUBACCOUNT];
	if (subs && (st = note(o, &ncap,
	                       "a disable names sub-accounts: gateway calls that do not name the "
	                       "sub-account are denied for the billing account (no-subaccount)",
	                       err)))
		return st;
	if (unknown_rows) {
		pb__snprintf(buf, sizeof(buf),
		             "%u usage keys name a service or region the catalog does not know; a "
		             "disable that could apply to them applies (fail closed)",
		             unknown_rows);
		if ((st = note(o, &ncap, buf, err)))
			return st;
	}
	return PB_OK;
}

enum pb_status pb_plan_dryrun(struct pb_ws *ws, const struct pb_catalog *cat,
                              const struct pb_plan *p, const char *month,
                              struct pb_plan_dryrun **out, struct pb_error *err)
{
	*out = NULL;
	struct dry_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct pb_plan_dryrun *d = &o->pub;
	size_t nsel = p->nselectors ? p->nselectors : 1;
	struct tally t = { calloc(nsel, sizeof(size_t)), malloc(nsel * sizeof(long)),
		           malloc(nsel * sizeof(bool)), 0 };
	enum pb_status st = load_usage(ws, o, cat, p, month, err);
	if (st)
		goto out;
	o->matches = calloc(nsel, sizeof(size_t));
	o->cancels = malloc(nsel * sizeof(*o->cancels));
	o->always = malloc(nsel * sizeof(bool));
	if (!t.kept_rows || !t.first_keep || !t.hit || !o->matches || !o->cancels || !o->always) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	match_rules(o, cat, p, &t);
	find_cancels(o, cat, p, &t);
	if ((st = figures(o, err)) || (st = add_notes(o, p, t.unknown_rows, err)))
		goto out;
	d->rows = o->out_rows;
	d->nrows = o->nrows;
	d->matches = o->matches;
	d->cancels = (const size_t(*)[2])o->cancels;
	d->cancels_always = o->always;
	d->notes = o->notes;
	d->nnotes = o->nnotes;
	*out = d;
out:
	free(t.kept_rows);
	free(t.first_keep);
	free(t.hit);
	if (st)
		pb_plan_dryrun_free(d);
	return st;
}

/* ---- JSON ---------------------------------------------------------------------- */

static json_t *time_or_null(int64_t t, bool open)
{
	if (open)
		return json_null();
	char b[24];
	pb_time_format(t, b);
	return json_string(b);
}

static json_t *sel_ref(const struct pb_plan *p, long i)
{
	if (i < 0)
		return json_null();
	char b[32];
	pb__snprintf(b, sizeof(b), "%s %u", p->selectors[i].keep ? "keep" : "disable",
	             p->selectors[i].number);
	return json_string(b);
}

static json_t *usage_json(const struct pb_plan *p, const struct pb_plan_usage *u)
{
	json_t *o = json_object();
	json_object_set_new(o, "account", json_string(u->account));
	json_object_set_new(o, "subaccount", u->subaccount[0] ? json_string(u->subaccount) : json_null());
	json_object_set_new(o, "service", json_string(u->service));
	json_object_set_new(o, "capability", u->capability[0] ? json_string(u->capability) : json_null());
	json_object_set_new(o, "region", u->region[0] ? json_string(u->region) : json_null());
	json_object_set_new(o, "country", u->country[0] ? json_string(u->country) : json_null());
	json_object_set_new(o, "unit", u->unit[0] ? json_string(u->unit) : json_null());
	json_object_set_new(o, "currency", u->currency[0] ? json_string(u->currency) : json_null());
	json_object_set_new(o, "quantity", json_string(u->quantity));
	json_object_set_new(o, "cost", json_string(u->cost));
	json_object_set_new(o, "share", json_real(u->share));
	json_object_set_new(o, "last_used", json_string(u->last_day));
	json_object_set_new(o, u->cut ? "by" : "disable", sel_ref(p, u->by));
	if (!u->cut)
		json_object_set_new(o, "kept_by", sel_ref(p, u->kept_by));
	char fl[128];
	json_t *unk = json_array();
	pb_decide_flags(u->flags, ",", fl, sizeof(fl));
	for (char *s = fl; *s;) {
		char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		json_array_append_new(unk, json_stringn(s, n));
		s += n + (c ? 1 : 0);
	}
	json_object_set_new(o, "unknown", unk);
	return o;
}

enum pb_status pb_plan_json(const struct pb_plan *p, const struct pb_plan_dryrun *d, char **out,
                            struct pb_error *err)
{
	*out = NULL;
	json_t *o = json_object();
	json_object_set_new(o, "plan", json_integer(p->id));
	json_object_set_new(o, "case", json_integer(p->case_id));
	json_object_set_new(o, "customer", json_string(p->customer));
	json_object_set_new(o, "status", json_string(p->status));
	json_object_set_new(o, "state", json_string(p->state));
	json_object_set_new(o, "sha256", json_string(p->sha256));
	json_object_set_new(o, "revision", json_integer(p->revision));
	json_object_set_new(o, "created_at", json_string(p->created_at));
	json_object_set_new(o, "created_by", json_string(p->created_by));
	json_object_set_new(o, "effective", time_or_null(p->effective, p->effective == PB_TIME_OPEN_START));
	json_object_set_new(o, "until", time_or_null(p->until, p->until == PB_TIME_OPEN_END));
	json_object_set_new(o, "review_by", p->review_by ? json_string(p->review_by) : json_null());
	json_object_set_new(o, "clause", json_string(p->clause));
	json_object_set_new(o, "appeal_days", json_integer(p->appeal_days));
	json_object_set_new(o, "approvals", json_pack("{s:i, s:i, s:i}", "needed",
	                                              (int)p->approvals_needed, "have",
	                                              (int)p->approvals, "refusals", (int)p->refusals));
	json_object_set_new(o, "rollback", json_pack("{s:i, s:i}", "needed", (int)p->rollback_needed,
	                                             "asked", (int)p->rollback_asked));
	json_object_set_new(o, "applied_version", p->applied_version ? json_integer(p->applied_version)
	                                                             : json_null());
	json_object_set_new(o, "in_force_from", time_or_null(p->in_force_from, !p->in_force_from));
	json_object_set_new(o, "end_version", p->end_version ? json_integer(p->end_version) : json_null());
	json_t *dis = json_array(), *keep = json_array();
	for (size_t i = 0; i < p->nselectors; i++)
		json_array_append_new(p->selectors[i].keep ? keep : dis,
		                      json_pack("{s:i, s:s}", "number", (int)p->selectors[i].number,
		                                "selector", p->selectors[i].text));
	json_object_set_new(o, "disable", dis);
	json_object_set_new(o, "keep", keep);
	json_t *rules = json_array();
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pb_rule *r = &p->rules[i];
		json_t *ro = json_object();
		json_object_set_new(ro, "effect", json_string(r->effect == PB_EFFECT_KEEP ? "keep" : "disable"));
		json_object_set_new(ro, "selector", sel_ref(p, (long)p->rule_selector[i]));
		for (int dm = 0; dm < PB_DIM_COUNT; dm++) {
			if (!r->nvalues[dm])
				continue;
			json_t *a = json_array();
			for (size_t j = 0; j < r->nvalues[dm]; j++)
				json_array_append_new(a, json_string(r->values[dm][j]));
			json_object_set_new(ro, pb_dim_name((enum pb_dim)dm), a);
		}
		json_array_append_new(rules, ro);
	}
	json_object_set_new(o, "rules", rules);
	json_t *ev = json_array();
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		json_t *eo = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "kind", e->kind, "actor",
		                       e->actor, "at", e->at, "sha256", e->sha256, "current", e->current,
		                       "log_index", (json_int_t)e->log_index);
		if (eo && e->text)
			json_object_set_new(eo, "text", json_string(e->text));
		if (eo && e->version)
			json_object_set_new(eo, "version", json_integer(e->version));
		json_array_append_new(ev, eo);
	}
	json_object_set_new(o, "events", ev);
	if (d) {
		json_t *dr = json_object();
		json_object_set_new(dr, "month", d->month[0] ? json_string(d->month) : json_null());
		json_object_set_new(dr, "usage_from", d->first_day[0] ? json_string(d->first_day) : json_null());
		json_object_set_new(dr, "usage_to", d->last_day[0] ? json_string(d->last_day) : json_null());
		json_t *sp = json_array();
		for (size_t i = 0; i < d->nspend; i++)
			json_array_append_new(sp, json_pack("{s:s?, s:s, s:s, s:s, s:f}", "currency",
			                                    d->spend[i].currency[0] ? d->spend[i].currency : NULL,
			                                    "total", d->spend[i].total, "cut",
			                                    d->spend[i].cut, "kept", d->spend[i].kept,
			                                    "cut_share", d->spend[i].cut_share));
		json_object_set_new(dr, "spend", sp);
		json_t *cut = json_array(), *on = json_array();
		for (size_t i = 0; i < d->nrows; i++)
			json_array_append_new(d->rows[i].cut ? cut : on, usage_json(p, &d->rows[i]));
		json_object_set_new(dr, "cut", cut);
		json_object_set_new(dr, "stays_on", on);
		json_t *none = json_array();
		for (size_t i = 0; i < p->nselectors; i++)
			if (!d->matches[i])
				json_array_append_new(none, json_pack("{s:o, s:s}", "selector",
				                                      sel_ref(p, (long)i), "text",
				                                      p->selectors[i].text));
		json_object_set_new(dr, "matches_nothing", none);
		json_t *cc = json_array();
		for (size_t i = 0; i < d->ncancels; i++)
			json_array_append_new(cc, json_pack("{s:o, s:o, s:b}", "keep",
			                                    sel_ref(p, (long)d->cancels[i][0]), "disable",
			                                    sel_ref(p, (long)d->cancels[i][1]), "always",
			                                    d->cancels_always[i]));
		json_object_set_new(dr, "keeps_cancel", cc);
		json_t *nt = json_array();
		for (size_t i = 0; i < d->nnotes; i++)
			json_array_append_new(nt, json_string(d->notes[i]));
		json_object_set_new(dr, "notes", nt);
		json_object_set_new(o, "dry_run", dr);
	}
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return pb__err(err, PB_ENOMEM, "cannot render the plan as JSON");
	*out = s;
	return PB_OK;
}
