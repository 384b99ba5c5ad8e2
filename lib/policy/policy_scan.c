/* policy_scan.c - the native scan: indicators evaluated over the workspace's
 * daily aggregates, findings with citations, stored findings.
 *
 * One pass over usage_day per measuring indicator, restricted in SQL to the
 * indicator's selection (dimension ids) and days; each row is mapped to its
 * entity (a customer or a billing account), period and group, and summed
 * exactly (pb_dec) in a hash table keyed by (entity, period, group, month).
 * The best candidate per entity is then chosen by the order docs/policy.md
 * states, which the compiled SQL follows too. Indicators that are parts of a
 * 'same:' expression also keep their fired candidate in each group, so the
 * expression can ask for one group where its parts all fired and report it.
 * Citations are gathered only for the entities a rule matched, by reading
 * their contributing aggregates again.
 */
#include "auth/auth.h"
#include "policy/policy.h"
#include "profile/customer.h"
#include "util/hmap.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Aggregate keys listed per citation. Line ranges are always listed in full
 * (adjacent lines merge, so they stay few); keys are one object per daily
 * aggregate, so they are capped, and "listed" beside "aggregates" says how
 * many are shown. Sums, counts and evidence verify cover every aggregate. */
#define CITE_MAX_AGGS 200

/* ---- a uint64 -> sums hash table ---------------------------------------- */

struct acc {
	uint64_t key; /* 0 = empty; keys are stored +1 */
	pb_dec cur, prev;
	bool seen;
};
struct acctab {
	struct acc *v;
	size_t cap, n;
};

/* Keys differ mostly in their high bits (the entity), so all of them are
 * mixed down: the middle bits of a product alone ignored the entity and put
 * every entity in one probe chain (a 10,000-account scan took 30 s). */
static size_t acc_slot(uint64_t key, size_t cap)
{
	return (size_t)pb__hash_u64(key) & (cap - 1);
}

static bool acc_grow(struct acctab *t)
{
	size_t nc = t->cap ? t->cap * 2 : 1024;
	struct acc *nv = calloc(nc, sizeof(*nv));
	if (!nv)
		return false;
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].key) {
			size_t h = acc_slot(t->v[i].key, nc);
			while (nv[h].key)
				h = (h + 1) & (nc - 1);
			nv[h] = t->v[i];
		}
	free(t->v);
	t->v = nv;
	t->cap = nc;
	return true;
}

static struct acc *acc_get(struct acctab *t, uint64_t key)
{
	key++;
	if ((t->n + 1) * 2 > t->cap && !acc_grow(t))
		return NULL;
	size_t h = acc_slot(key, t->cap);
	while (t->v[h].key && t->v[h].key != key)
		h = (h + 1) & (t->cap - 1);
	if (!t->v[h].key) {
		t->v[h].key = key;
		t->n++;
	}
	return &t->v[h];
}

static int acc_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct acc *)a)->key, y = ((const struct acc *)b)->key;
	return x < y ? -1 : x > y;
}

#define K_ENT_BITS 24
#define K_PER_BITS 12
#define K_GRP_BITS 16
#define K_SUB_BITS 11
#define K_TOTAL ((1u << K_ENT_BITS) - 1)
static uint64_t kmake(uint64_t e, uint64_t p, uint64_t g, uint64_t s)
{
	return (e << (K_PER_BITS + K_GRP_BITS + K_SUB_BITS)) | (p << (K_GRP_BITS + K_SUB_BITS)) |
	       (g << K_SUB_BITS) | s;
}
#define KE(k) ((k) >> (K_PER_BITS + K_GRP_BITS + K_SUB_BITS))
#define KP(k) (((k) >> (K_GRP_BITS + K_SUB_BITS)) & ((1u << K_PER_BITS) - 1))
#define KG(k) (((k) >> K_SUB_BITS) & ((1u << K_GRP_BITS) - 1))
#define KS(k) ((k) & ((1u << K_SUB_BITS) - 1))

/* ---- scan state ------------------------------------------------------------ */

struct entity {
	char *name;
	char **accounts, **subs;
	size_t nacc, nsub;
};

/* The result of one indicator for one entity. */
struct ires {
	bool fired, inf, defined;
	bool ratio;       /* figure is a ratio (growth, share) */
	pb_dec fig;       /* amount figure */
	double rfig;      /* ratio figure */
	int64_t period;   /* month number, or -1 */
	int64_t group;    /* dim id of the group, or -1 */
	int64_t sub;      /* monthly-max: month number of the best month, or -1 */
	struct pb__span span;
	pb_dec s, r, t;   /* cur, prev, total sums behind the figure */
};

/* The groups in which a 'same:' part fired for one entity: its best fired
 * candidate in each (every month: the best month of the group). */
struct glist {
	struct ires *v;
	size_t n, cap;
};

struct dimcache;

struct scan {
	struct pb_ws *ws;
	const struct pb_policy *p;
	struct pb_error *err;
	int64_t at;
	const char *scope;
	struct entity *ent;
	size_t nent;
	int32_t *acc_map, *sub_map; /* dim id -> entity, -1 */
	int64_t ndim;               /* max dim id + 1 */
	struct ires *res;           /* nent x nind */
	struct glist *grp;          /* nent x nind: fired groups of 'same:' parts */
	struct dimcache *dc;
	int64_t first_month;        /* earliest month with usage */
	bool months;                /* usage_month holds every source's totals */
};

static enum pb_status q_int(sqlite3 *db, const char *sql, int64_t *out, bool *null,
                            struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(db, sql, &q, err);
	if (st)
		return st;
	int rc = sqlite3_step(q);
	*null = rc != SQLITE_ROW || sqlite3_column_type(q, 0) == SQLITE_NULL;
	*out = *null ? 0 : sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pb__db_err(db, err, "cannot read the workspace");
	return PB_OK;
}

static void entity_free(struct entity *e)
{
	free(e->name);
	for (size_t i = 0; i < e->nacc; i++)
		free(e->accounts[i]);
	for (size_t i = 0; i < e->nsub; i++)
		free(e->subs[i]);
	free(e->accounts);
	free(e->subs);
}

static bool strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));
	if (!nv)
		return false;
	*v = nv;
	if (!(nv[*n] = pb__strndup(s, strlen(s))))
		return false;
	(*n)++;
	return true;
}

/* Entities: every customer, one customer, or every billing account. */
static enum pb_status load_entities(struct scan *s, const struct pb_scan_options *o)
{
	sqlite3 *db = s->ws->db;
	sqlite3_stmt *q = NULL;
	enum pb_status st;
	const char *sql;
	if (o->scope == PB_SCAN_ACCOUNTS) {
		sql = "SELECT account_id, NULL, 'billing' FROM account WHERE kind = 'billing' "
		      "ORDER BY account_id";
		s->scope = "accounts";
	} else {
		sql = "SELECT c.name, ca.account_id, ca.kind FROM customer c JOIN customer_account ca "
		      "ON ca.customer_id = c.id WHERE ?1 IS NULL OR c.name = ?1 ORDER BY c.name, ca.kind, "
		      "ca.account_id";
		s->scope = o->scope == PB_SCAN_CUSTOMER ? "customer" : "customers";
	}
	if ((st = pb__db_prepare(db, sql, &q, s->err)))
		return st;
	if (o->scope == PB_SCAN_CUSTOMER)
		sqlite3_bind_text(q, 1, o->customer, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		const char *acc = (const char *)sqlite3_column_text(q, 1);
		const char *kind = (const char *)sqlite3_column_text(q, 2);
		if (!s->nent || strcmp(s->ent[s->nent - 1].name, name)) {
			struct entity *ne = realloc(s->ent, (s->nent + 1) * sizeof(*ne));
			if (!ne)
				goto nomem;
			s->ent = ne;
			memset(&ne[s->nent], 0, sizeof(*ne));
			if (!(ne[s->nent].name = pb__strndup(name, strlen(name))))
				goto nomem;
			s->nent++;
			if (s->nent >= K_TOTAL) {
				sqlite3_finalize(q);
				return pb__err(s->err, PB_ELIMIT, "more than %u entities to scan", K_TOTAL - 1);
			}
		}
		struct entity *e = &s->ent[s->nent - 1];
		if (!acc)
			acc = name;
		if (!strcmp(kind, "billing") ? !strv_push(&e->accounts, &e->nacc, acc)
		                             : !strv_push(&e->subs, &e->nsub, acc))
			goto nomem;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return pb__db_err(db, s->err, "cannot read customers");
	if (o->scope == PB_SCAN_CUSTOMER && s->nent == 0)
		return pb__err(s->err, PB_ENOENT, "no customer '%s'", o->customer);
	/* dim id -> entity */
	int64_t maxid;
	bool null;
	if ((st = q_int(db, "SELECT max(id) FROM dim", &maxid, &null, s->err)))
		return st;
	s->ndim = maxid + 1;
	s->acc_map = malloc((size_t)s->ndim * sizeof(int32_t));
	s->sub_map = malloc((size_t)s->ndim * sizeof(int32_t));
	if (!s->acc_map || !s->sub_map)
		return pb__err(s->err, PB_ENOMEM, "out of memory");
	memset(s->acc_map, 0xff, (size_t)s->ndim * sizeof(int32_t));
	memset(s->sub_map, 0xff, (size_t)s->ndim * sizeof(int32_t));
	if ((st = pb__db_prepare(db, "SELECT id FROM dim WHERE value = ?1", &q, s->err)))
		return st;
	for (size_t i = 0; i < s->nent; i++) {
		for (int k = 0; k < 2; k++) {
			char **v = k ? s->ent[i].subs : s->ent[i].accounts;
			size_t n = k ? s->ent[i].nsub : s->ent[i].nacc;
			for (size_t j = 0; j < n; j++) {
				sqlite3_reset(q);
				sqlite3_bind_text(q, 1, v[j], -1, SQLITE_STATIC);
				if (sqlite3_step(q) == SQLITE_ROW) {
					int64_t id = sqlite3_column_int64(q, 0);
					if (id >= 0 && id < s->ndim)
						(k ? s->sub_map : s->acc_map)[id] = (int32_t)i;
				}
			}
		}
	}
	sqlite3_finalize(q);
	return PB_OK;
nomem:
	sqlite3_finalize(q);
	return pb__err(s->err, PB_ENOMEM, "out of memory");
}

static const char *const sel_col[PB_SEL_COUNT] = {
	"account", "subaccount", "provider", "category", "subcategory", "service",
	"capability", "region", "country", "charge_category", "unit",
};
static const char *const meas_col[] = { "quantity", "billed_cost", "effective_cost", "list_cost" };

/* ---- one pass over the usage --------------------------------------------------
 *
 * Every measure indicator is evaluated in the same pass over usage_day: one
 * query returns the rows any of them selects (SQLite tests the selections),
 * and each row is added to the sums of every indicator it belongs to. A
 * query per indicator read the whole table once per indicator. */

/* Columns the pass may read; QC_SEL + k is the column of selector k. */
enum {
	QC_ACCOUNT,
	QC_SUB,
	QC_DAY,
	QC_SEL,
	QC_CURRENCY = QC_SEL + PB_SEL_COUNT,
	QC_MEAS,
	QC_N = QC_MEAS + 4
};

/* One indicator's evaluation: its window, its selection as dim ids (column
 * QC_SEL + k must be one of ids[k]; the unit or currency filter is kept under
 * its own column), and the sums of the rows it selects by entity, period,
 * group and month. */
struct ieval {
	const struct pb__indicator *ind;
	bool active;           /* a measure indicator that may select rows */
	bool every, share, mmax;
	int64_t np, lo, hi, m_lo;
	struct pb__span one;
	/* the days it reads: up to two intervals [ia, ib) (a window and the one
	 * before it); whole months [ma, mb) of each come from usage_month */
	int nint;
	int64_t ia[2], ib[2], ma[2], mb[2];
	int pergroup;          /* QC_ column of the group (region, country), or -1 */
	int meas;              /* QC_ column of the measure */
	int64_t *ids[QC_N];
	size_t nids[QC_N];
	struct acctab t;
	int64_t *gid;          /* group index -> dim id */
	int32_t *gmap;         /* dim id -> group index */
	size_t ng;
};

static void ieval_release(struct ieval *ev)
{
	for (int c = 0; c < QC_N; c++)
		free(ev->ids[c]);
	free(ev->t.v);
	free(ev->gid);
	free(ev->gmap);
	memset(ev, 0, sizeof(*ev));
}

/* Sets up indicator k: its window, and its selection resolved to dim ids.
 * A selected value that never occurs selects nothing; an indicator whose
 * column selects nothing at all stays inactive. */
static enum pb_status ieval_init(struct scan *s, size_t k, sqlite3_stmt *dimq, struct ieval *ev)
{
	const struct pb__indicator *ind = &s->p->ind[k];
	memset(ev, 0, sizeof(*ev));
	ev->ind = ind;
	ev->every = ind->window == PB_WIN_EVERY_MONTH;
	int64_t am = pb__month_of_day(s->at);
	ev->np = ev->every ? am - s->first_month : 1;
	if (ev->np < 0)
		ev->np = 0;
	if (ev->np >= (1 << K_PER_BITS))
		return pb__err(s->err, PB_ELIMIT, "indicator '%s': more than %d months", ind->name,
		               (1 << K_PER_BITS) - 1);
	ev->one = pb__window_span(ind, s->at);
	ev->lo = ev->every ? pb__month_first_day(s->first_month - (ind->agg == PB_AGG_GROWTH))
	                   : (ev->one.plo < ev->one.lo ? ev->one.plo : ev->one.lo);
	ev->hi = ev->every ? pb__month_first_day(am) : ev->one.hi;
	ev->m_lo = pb__month_of_day(ev->one.lo);
	ev->share = ind->agg == PB_AGG_SHARE;
	ev->mmax = ind->agg == PB_AGG_MONTHLY_MAX && !ev->every;
	if (ev->every || ev->one.plo >= ev->one.phi) {
		ev->ia[0] = ev->every ? ev->lo : ev->one.lo;
		ev->ib[0] = ev->hi;
		ev->nint = 1;
	} else {
		ev->ia[0] = ev->one.plo;
		ev->ib[0] = ev->one.phi;
		ev->ia[1] = ev->one.lo;
		ev->ib[1] = ev->one.hi;
		ev->nint = 2;
	}
	for (int i = 0; i < ev->nint; i++) {
		/* months m with first(m) >= ia and first(m + 1) <= ib */
		int64_t m = pb__month_of_day(ev->ia[i]);
		ev->ma[i] = pb__month_first_day(m) == ev->ia[i] ? m : m + 1;
		ev->mb[i] = s->months ? pb__month_of_day(ev->ib[i]) : ev->ma[i];
		if (ev->mb[i] < ev->ma[i])
			ev->mb[i] = ev->ma[i];
	}
	ev->pergroup = ind->per == PB_PER_COUNTRY  ? QC_SEL + PB_SEL_COUNTRY
	               : ind->per == PB_PER_REGION ? QC_SEL + PB_SEL_REGION
	                                           : -1;
	ev->meas = QC_MEAS + (int)ind->measure;
	ev->gmap = malloc((size_t)s->ndim * sizeof(int32_t));
	ev->gid = malloc(((size_t)1 << K_GRP_BITS) * sizeof(int64_t));
	if (!ev->gmap || !ev->gid)
		return pb__err(s->err, PB_ENOMEM, "out of memory");
	memset(ev->gmap, 0xff, (size_t)s->ndim * sizeof(int32_t));
	bool none = ev->np <= 0;
	for (int k2 = 0; k2 <= PB_SEL_COUNT && !none; k2++) {
		char *const *vals;
		size_t n;
		const char *one;
		int col;
		if (k2 < PB_SEL_COUNT) {
			if (k2 == PB_SEL_UNIT)
				continue; /* the unit filter below covers it */
			vals = ind->values[k2];
			n = ind->nvalues[k2];
			col = QC_SEL + k2;
		} else {
			bool qty = ind->measure == PB_MEAS_QUANTITY;
			one = qty ? ind->unit : ind->currency;
			col = qty ? QC_SEL + PB_SEL_UNIT : QC_CURRENCY;
			vals = (char *const *)&one;
			n = 1;
		}
		if (!n)
			continue;
		if (!(ev->ids[col] = malloc(n * sizeof(int64_t))))
			return pb__err(s->err, PB_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			sqlite3_reset(dimq);
			if (vals[i])
				sqlite3_bind_text(dimq, 1, vals[i], -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(dimq, 1);
			if (sqlite3_step(dimq) == SQLITE_ROW)
				ev->ids[col][ev->nids[col]++] = sqlite3_column_int64(dimq, 0);
		}
		if (!ev->nids[col])
			none = true;
	}
	ev->active = !none;
	return PB_OK;
}

/* column names by QC_ number: the selector columns follow sel_col */
static const char *const qc_sql[QC_N] = {
	"account", "subaccount", "day", "account", "subaccount", "provider", "category",
	"subcategory", "service", "capability", "region", "country", "charge_category", "unit",
	"currency", "quantity", "billed_cost", "effective_cost", "list_cost",
};

static bool ids_has(const int64_t *ids, size_t n, int64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == v)
			return true;
	return false;
}

/* Adds one row (its columns in v, NULL as -1; its measures parsed on
 * demand) to one indicator's sums. */
/* Does the indicator read this row: a month of usage_month (month >= 0) that
 * is whole in one of its intervals, or a day of usage_day inside one of them
 * but not in such a month? */
static bool ieval_wants(const struct ieval *ev, int64_t day, int64_t month, bool is_month)
{
	for (int i = 0; i < ev->nint; i++) {
		bool whole = month >= ev->ma[i] && month < ev->mb[i];
		if (is_month ? whole : day >= ev->ia[i] && day < ev->ib[i] && !whole)
			return true;
	}
	return false;
}

static enum pb_status ieval_row(struct scan *s, struct ieval *ev, const int64_t *v, int64_t e,
                                const pb_dec *meas, const bool *meas_ok, int64_t day,
                                int64_t cmonth)
{
	const struct pb__indicator *ind = ev->ind;
	if (e < 0 && !ev->share)
		return PB_OK;
	for (int c = QC_SEL; c < QC_MEAS; c++)
		if (ev->ids[c] && !ids_has(ev->ids[c], ev->nids[c], v[c]))
			return PB_OK;
	int64_t g = 0;
	if (ev->pergroup >= 0) {
		int64_t d = v[ev->pergroup];
		if (d < 0 || d >= s->ndim)
			return PB_OK; /* no region or country: not in any group */
		if (ev->gmap[d] < 0) {
			if (ev->ng >= ((size_t)1 << K_GRP_BITS))
				return pb__err(s->err, PB_ELIMIT, "too many groups");
			ev->gid[ev->ng] = d;
			ev->gmap[d] = (int32_t)ev->ng++;
		}
		g = ev->gmap[d];
	}
	if (!meas_ok[ev->meas - QC_MEAS])
		return PB_OK;
	pb_dec x = meas[ev->meas - QC_MEAS];
	/* where the row counts: (period, cur/prev) pairs */
	int64_t pc = -1, pp = -1, sub = 0;
	if (ev->every) {
		pc = cmonth - s->first_month;
		if (ind->agg == PB_AGG_GROWTH)
			pp = pc + 1;
		if (pc < 0 || pc >= ev->np)
			pc = -1;
		if (pp < 0 || pp >= ev->np)
			pp = -1;
	} else {
		if (day >= ev->one.lo && day < ev->one.hi)
			pc = 0;
		else if (day >= ev->one.plo && day < ev->one.phi)
			pp = 0;
		if (ev->mmax && pc == 0)
			sub = cmonth - ev->m_lo;
	}
	for (int w = 0; w < 2; w++) {
		int64_t p = w ? pp : pc;
		if (p < 0)
			continue;
		if (e >= 0) {
			struct acc *a = acc_get(&ev->t, kmake((uint64_t)e, (uint64_t)p, (uint64_t)g,
			                                      (uint64_t)sub));
			if (!a)
				return pb__err(s->err, PB_ENOMEM, "out of memory");
			a->seen = true;
			if (!pb__dec_add(w ? &a->prev : &a->cur, x))
				return pb__err(s->err, PB_ELIMIT, "indicator '%s': sum out of range",
				               ind->name);
		}
		if (ev->share && !w) {
			struct acc *a = acc_get(&ev->t, kmake(K_TOTAL, (uint64_t)p, (uint64_t)g, 0));
			if (!a || !pb__dec_add(&a->cur, x))
				return pb__err(s->err, a ? PB_ELIMIT : PB_ENOMEM,
				               "indicator '%s': total out of range", ind->name);
		}
	}
	return PB_OK;
}

/* Runs one query of the pass and adds its rows to the indicators that read
 * them; is_month: rows of usage_month, whose QC_DAY column is the month. */
static enum pb_status pass_rows(struct scan *s, struct ieval *ev, size_t nev, const int *pos,
                                const char *sql, bool is_month, int64_t lo, int64_t hi)
{
	sqlite3_stmt *q = NULL;
	enum pb_status st = pb__db_prepare(s->ws->db, sql, &q, s->err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, lo);
	sqlite3_bind_int64(q, 2, hi);
	int rc = SQLITE_DONE;
	int64_t v[QC_N], ckey = INT64_MIN, day = 0, month = 0;
	pb_dec meas[4];
	bool meas_ok[4];
	for (int c = 0; c < QC_N; c++)
		v[c] = -1;
	while (st == PB_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (int c = 0; c < QC_MEAS; c++)
			if (pos[c] >= 0)
				v[c] = sqlite3_column_type(q, pos[c]) == SQLITE_NULL
				           ? -1
				           : sqlite3_column_int64(q, pos[c]);
		if (v[QC_DAY] != ckey) {
			ckey = v[QC_DAY];
			month = is_month ? ckey : pb__month_of_day(ckey);
			day = is_month ? pb__month_first_day(ckey) : ckey;
		}
		bool parsed = false;
		int64_t e = -1;
		for (size_t k = 0; k < nev && st == PB_OK; k++) {
			if (!ev[k].active || !ieval_wants(&ev[k], day, month, is_month))
				continue;
			if (!parsed) {
				for (int m = 0; m < 4; m++) {
					meas_ok[m] = false;
					if (pos[QC_MEAS + m] < 0)
						continue;
					const char *txt = (const char *)sqlite3_column_text(q, pos[QC_MEAS + m]);
					unsigned fl;
					meas_ok[m] = txt && pb__dec_parse(txt, strlen(txt), &meas[m], &fl) == PB_OK;
				}
				int64_t a = v[QC_ACCOUNT];
				e = a >= 0 && a < s->ndim ? s->acc_map[a] : -1;
				if (e < 0 && v[QC_SUB] >= 0)
					e = v[QC_SUB] < s->ndim ? s->sub_map[v[QC_SUB]] : -1;
				parsed = true;
			}
			st = ieval_row(s, &ev[k], v, e, meas, meas_ok, day, month);
		}
	}
	if (st == PB_OK && rc != SQLITE_DONE)
		st = pb__db_err(s->ws->db, s->err, "cannot read usage");
	sqlite3_finalize(q);
	return st;
}

static int cmp_range(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The pass: the whole months every indicator reads, from usage_month, then
 * the days at the edges of its windows (or all its days, when usage_month is
 * not complete), from usage_day; SQLite tests the selections. */
static enum pb_status scan_usage(struct scan *s, struct ieval *ev, size_t nev)
{
	bool need[QC_N] = { [QC_ACCOUNT] = true, [QC_SUB] = true, [QC_DAY] = true };
	int64_t mlo = INT64_MAX, mhi = INT64_MIN;
	int64_t (*rng)[2] = calloc(nev * 4 + 1, sizeof(*rng));
	size_t nr = 0, nact = 0;
	if (!rng)
		return pb__err(s->err, PB_ENOMEM, "out of memory");
	for (size_t k = 0; k < nev; k++) {
		if (!ev[k].active)
			continue;
		nact++;
		for (int c = QC_SEL; c < QC_MEAS; c++)
			need[c] |= ev[k].ids[c] != NULL;
		if (ev[k].pergroup >= 0)
			need[ev[k].pergroup] = true;
		need[ev[k].meas] = true;
		for (int i = 0; i < ev[k].nint; i++) {
			int64_t fa = pb__month_first_day(ev[k].ma[i]), fb = pb__month_first_day(ev[k].mb[i]);
			if (ev[k].ma[i] < ev[k].mb[i]) {
				mlo = ev[k].ma[i] < mlo ? ev[k].ma[i] : mlo;
				mhi = ev[k].mb[i] > mhi ? ev[k].mb[i] : mhi;
				if (ev[k].ia[i] < fa) {
					rng[nr][0] = ev[k].ia[i];
					rng[nr++][1] = fa;
				}
				if (fb < ev[k].ib[i]) {
					rng[nr][0] = fb;
					rng[nr++][1] = ev[k].ib[i];
				}
			} else if (ev[k].ia[i] < ev[k].ib[i]) {
				rng[nr][0] = ev[k].ia[i];
				rng[nr++][1] = ev[k].ib[i];
			}
		}
	}
	enum pb_status st = PB_OK;
	if (!nact)
		goto out;
	/* the selected columns, and the selections OR-ed */
	int pos[QC_N];
	struct pb_buf cols, sel;
	pb_buf_init(&cols, 1 << 16);
	pb_buf_init(&sel, 1 << 20);
	int ncol = 0;
	for (int c = 0; c < QC_N; c++) {
		pos[c] = need[c] ? ncol++ : -1;
		if (need[c] && c != QC_DAY)
			pb_buf_printf(&cols, ", %s", qc_sql[c]);
	}
	size_t done = 0;
	for (size_t k = 0; k < nev; k++) {
		if (!ev[k].active)
			continue;
		pb_buf_adds(&sel, done++ ? " OR (1" : "(1");
		for (int c = QC_SEL; c < QC_MEAS; c++) {
			if (!ev[k].ids[c])
				continue;
			pb_buf_printf(&sel, " AND %s IN (", qc_sql[c]);
			for (size_t i = 0; i < ev[k].nids[c]; i++)
				pb_buf_printf(&sel, "%s%lld", i ? "," : "", (long long)ev[k].ids[c][i]);
			pb_buf_adds(&sel, ")");
		}
		pb_buf_adds(&sel, ")");
	}
	/* pos[QC_DAY] is column 0 (day or month), the others follow in order */
	for (int c = 0, i = 1; c < QC_N; c++)
		if (need[c])
			pos[c] = c == QC_DAY ? 0 : i++;
	char *mq = NULL, *dq = NULL;
	if (cols.data && sel.data) {
		mq = sqlite3_mprintf("SELECT month%s FROM usage_month WHERE month >= ?1 AND month < ?2 "
		                     "AND (%s)", cols.data, sel.data);
		dq = sqlite3_mprintf("SELECT day%s FROM usage_day WHERE day >= ?1 AND day < ?2 AND (%s)",
		                     cols.data, sel.data);
	}
	pb_buf_release(&cols);
	pb_buf_release(&sel);
	if (!mq || !dq)
		st = pb__err(s->err, PB_ENOMEM, "out of memory");
	if (st == PB_OK && mlo < mhi)
		st = pass_rows(s, ev, nev, pos, mq, true, mlo, mhi);
	/* day ranges, merged */
	qsort(rng, nr, sizeof(*rng), cmp_range);
	for (size_t i = 0; i < nr && st == PB_OK;) {
		int64_t lo = rng[i][0], hi = rng[i][1];
		for (i++; i < nr && rng[i][0] <= hi; i++)
			hi = rng[i][1] > hi ? rng[i][1] : hi;
		st = pass_rows(s, ev, nev, pos, dq, false, lo, hi);
	}
	sqlite3_free(mq);
	sqlite3_free(dq);
out:
	free(rng);
	return st;
}

static int cmp_dec(pb_dec a, pb_dec b)
{
	return a < b ? -1 : a > b;
}

static bool op_holds(enum pb__op op, int c)
{
	switch (op) {
	case PB_OP_GE:
		return c >= 0;
	case PB_OP_GT:
		return c > 0;
	case PB_OP_LE:
		return c <= 0;
	case PB_OP_LT:
		return c < 0;
	}
	return false;
}

static bool op_up(enum pb__op op)
{
	return op == PB_OP_GE || op == PB_OP_GT;
}

/* Computes a candidate's figure and fired flag from its sums. */
static void candidate(const struct pb__indicator *ind, struct ires *r)
{
	pb_dec lim;
	r->defined = true;
	r->inf = false;
	r->ratio = false;
	switch (ind->agg) {
	case PB_AGG_SUM:
	case PB_AGG_MONTHLY_MAX:
		r->fig = r->s;
		r->fired = op_holds(ind->op, cmp_dec(r->s, ind->thr));
		break;
	case PB_AGG_DAILY_AVG: {
		int64_t nd = pb__span_days(&r->span);
		pb_dec q = r->s / nd, rem = r->s % nd; /* half-even rounding at 10^-15 */
		pb_dec twice = (rem < 0 ? -rem : rem) * 2;
		if (twice > nd || (twice == nd && (q & 1)))
			q += r->s < 0 ? -1 : 1;
		r->fig = q;
		r->fired = op_holds(ind->op, cmp_dec(r->s, ind->thr * nd));
		break;
	}
	case PB_AGG_GROWTH:
	case PB_AGG_SHARE: {
		pb_dec base = ind->agg == PB_AGG_GROWTH ? r->r : r->t;
		r->ratio = true;
		if (base > 0) {
			r->rfig = (double)((long double)r->s / (long double)base);
			if (!pb__dec_mul(ind->thr, base, &lim))
				lim = base > 0 ? ((pb_dec)1 << 126) : 0;
			r->fired = op_holds(ind->op, cmp_dec(r->s, lim));
		} else if (ind->agg == PB_AGG_GROWTH && r->s > 0) {
			r->inf = true;
			r->fired = op_up(ind->op);
		} else {
			r->defined = false;
			r->fired = false;
		}
		break;
	}
	}
}

/* True when candidate a is better than b (the order of docs/policy.md). */
static bool better(const struct pb__indicator *ind, const struct ires *a, const struct ires *b,
                   const char *ga, const char *gb)
{
	if (a->fired != b->fired)
		return a->fired;
	if (a->inf != b->inf)
		return a->inf;
	if (a->defined != b->defined)
		return a->defined;
	if (a->defined && !a->inf) {
		int c = a->ratio ? (a->rfig < b->rfig ? -1 : a->rfig > b->rfig) : cmp_dec(a->fig, b->fig);
		if (c)
			return op_up(ind->op) ? c > 0 : c < 0;
	}
	if (a->period != b->period)
		return a->period < b->period;
	int g = strcmp(ga ? ga : "", gb ? gb : "");
	return g < 0;
}

struct dimcache {
	char **v;
	int64_t n;
};

static const char *dim_text(struct scan *s, struct dimcache *c, int64_t id)
{
	if (id < 0)
		return NULL;
	if (!c->v) {
		c->n = s->ndim;
		c->v = calloc((size_t)c->n, sizeof(char *));
	}
	if (!c->v || id >= c->n)
		return "";
	if (!c->v[id]) {
		sqlite3_stmt *q;
		if (sqlite3_prepare_v2(s->ws->db, "SELECT value FROM dim WHERE id = ?1", -1, &q, NULL))
			return "";
		sqlite3_bind_int64(q, 1, id);
		const char *t = sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : "";
		c->v[id] = pb__strndup(t ? t : "", t ? strlen(t) : 0);
		sqlite3_finalize(q);
	}
	return c->v[id] ? c->v[id] : "";
}

/* Keeps candidate c as the part's result in its group: the first of the
 * group, or a better one (another month of an every-month indicator). */
static enum pb_status glist_add(struct scan *s, struct glist *l, const struct pb__indicator *ind,
                                const struct ires *c)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].group == c->group) {
			if (better(ind, c, &l->v[i], NULL, NULL))
				l->v[i] = *c;
			return PB_OK;
		}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct ires *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return pb__err(s->err, PB_ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return PB_OK;
}

/* The selection of indicator k as " AND u.col IN (ids)" terms; *none when it
 * selects nothing. */
static enum pb_status sel_where(struct scan *s, const struct pb__indicator *ind, struct pb_buf *b,
                                bool *none)
{
	struct ieval ev = { 0 };
	sqlite3_stmt *dimq = NULL;
	enum pb_status st = pb__db_prepare(s->ws->db, "SELECT id FROM dim WHERE value = ?1", &dimq,
	                                   s->err);
	if (st == PB_OK)
		st = ieval_init(s, (size_t)(ind - s->p->ind), dimq, &ev);
	sqlite3_finalize(dimq);
	*none = st == PB_OK && !ev.active;
	for (int c = QC_SEL; c < QC_MEAS && st == PB_OK && !*none; c++) {
		if (!ev.ids[c])
			continue;
		pb_buf_printf(b, " AND u.%s IN (", qc_sql[c]);
		for (size_t i = 0; i < ev.nids[c]; i++)
			pb_buf_printf(b, "%s%lld", i ? "," : "", (long long)ev.ids[c][i]);
		st = pb_buf_adds(b, ")");
	}
	ieval_release(&ev);
	return st;
}

/* Adds one sum of a candidate's key run to it: the month with the largest
 * total for a monthly maximum (its first month seen sets it), else the
 * window's sum and the previous window's. */
static inline void take(struct ires *c, const struct acc *a, bool mmax, int64_t m_lo,
                        bool *firstsub)
{
	if (!mmax) {
		c->s = a->cur;
		c->r = a->prev;
	} else if (a->seen && (*firstsub || a->cur > c->s)) {
		c->s = a->cur;
		c->sub = m_lo + (int64_t)KS(a->key);
		*firstsub = false;
	}
}

/* Turns one indicator's sums into its result for every entity. */
static enum pb_status ieval_finish(struct scan *s, size_t k, struct ieval *ev, struct dimcache *dc)
{
	const struct pb__indicator *ind = ev->ind;
	enum pb_status st = PB_OK;
	struct acc *all = NULL;
	struct acctab t = ev->t;
	const int64_t *gid = ev->gid;
	bool every = ev->every, share = ev->share, mmax = ev->mmax;
	int64_t np = ev->np, m_lo = ev->m_lo;
	struct pb__span one = ev->one;
	/* entries in key order: entity, period, group, month */
	all = malloc((t.n + 1) * sizeof(*all));
	if (!all) {
		st = pb__err(s->err, PB_ENOMEM, "out of memory");
		goto out;
	}
	size_t na = 0;
	for (size_t i = 0; i < t.cap; i++)
		if (t.v[i].key) {
			all[na] = t.v[i];
			all[na++].key--;
		}
	qsort(all, na, sizeof(*all), acc_cmp);
	/* totals for share: find by (period, group) with a second lookup table */
	struct acctab tot = { 0 };
	if (share)
		for (size_t i = 0; i < na; i++)
			if (KE(all[i].key) == K_TOTAL) {
				struct acc *x = acc_get(&tot, all[i].key);
				if (!x) {
					free(tot.v);
					st = pb__err(s->err, PB_ENOMEM, "out of memory");
					goto out;
				}
				x->cur = all[i].cur;
			}
	size_t i = 0;
	for (size_t e = 0; e < s->nent; e++) {
		struct ires best = { 0 }, c;
		const char *bg = NULL;
		bool have = false;
		if (ind->per == PB_PER_NONE) {
			/* every period is a candidate, rows or not */
			for (int64_t p = 0; p < np; p++) {
				memset(&c, 0, sizeof(c));
				c.span = every ? pb__month_span(ind, s->first_month + p) : one;
				c.period = every ? s->first_month + p : -1;
				c.group = -1;
				c.sub = -1;
				bool firstsub = true;
				while (i < na && KE(all[i].key) == e && (int64_t)KP(all[i].key) == p)
					take(&c, &all[i++], mmax, m_lo, &firstsub);
				candidate(ind, &c);
				if (!have || better(ind, &c, &best, NULL, NULL))
					best = c;
				have = true;
			}
		} else {
			while (i < na && KE(all[i].key) == e) {
				uint64_t p = KP(all[i].key), g = KG(all[i].key);
				memset(&c, 0, sizeof(c));
				c.span = every ? pb__month_span(ind, s->first_month + (int64_t)p) : one;
				c.period = every ? s->first_month + (int64_t)p : -1;
				c.group = gid[g];
				c.sub = -1;
				bool firstsub = true;
				while (i < na && KE(all[i].key) == e && KP(all[i].key) == p &&
				       KG(all[i].key) == g)
					take(&c, &all[i++], mmax, m_lo, &firstsub);
				if (share) {
					struct acc *x = acc_get(&tot, kmake(K_TOTAL, p, g, 0));
					c.t = x ? x->cur : 0;
				}
				candidate(ind, &c);
				const char *cg = dim_text(s, dc, c.group);
				if (ind->same_part && c.fired &&
				    (st = glist_add(s, &s->grp[e * s->p->nind + k], ind, &c))) {
					free(tot.v);
					goto out;
				}
				if (!have || better(ind, &c, &best, cg, bg)) {
					best = c;
					bg = cg;
				}
				have = true;
			}
		}
		while (i < na && KE(all[i].key) == e)
			i++;
		if (!have) {
			memset(&best, 0, sizeof(best));
			best.span = one;
			best.period = best.group = best.sub = -1;
			candidate(ind, &best);
			if (ind->agg == PB_AGG_SHARE) { /* no usage at all: an undefined share */
				best.defined = false;
				best.fired = false;
			}
		}
		s->res[e * s->p->nind + k] = best;
	}
	free(tot.v);
out:
	free(all);
	return st;
}

/* Every measure indicator, in one pass over the usage. */
static enum pb_status eval_indicators(struct scan *s, struct dimcache *dc)
{
	size_t n = s->p->nind;
	struct ieval *ev = calloc(n + 1, sizeof(*ev));
	sqlite3_stmt *dimq = NULL;
	if (!ev)
		return pb__err(s->err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb__db_prepare(s->ws->db, "SELECT id FROM dim WHERE value = ?1", &dimq,
	                                   s->err);
	for (size_t k = 0; k < n && st == PB_OK; k++)
		if (!s->p->ind[k].when)
			st = ieval_init(s, k, dimq, &ev[k]);
	sqlite3_finalize(dimq);
	if (st == PB_OK)
		st = scan_usage(s, ev, n);
	for (size_t k = 0; k < n && st == PB_OK; k++)
		if (!s->p->ind[k].when)
			st = ieval_finish(s, k, &ev[k], dc);
	for (size_t k = 0; k < n; k++)
		ieval_release(&ev[k]);
	free(ev);
	return st;
}

/* ---- when: expressions, with 'same:' ------------------------------------------ */

/* A direct part of 'same:' expression x that must fire in x's one group. */
static bool is_same_part(const struct scan *s, const struct pb__expr *x, const struct pb__expr *k)
{
	return k->kind == PB_EX_REF && !s->p->ind[k->ref].when && s->p->ind[k->ref].per == x->same;
}

/* Part k's result in group g for entity e when it fired there, else NULL. */
static const struct ires *in_group(const struct scan *s, size_t e, size_t k, int64_t g)
{
	const struct glist *l = &s->grp[e * s->p->nind + k];
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].group == g)
			return &l->v[i];
	return NULL;
}

/* Group a is a better report than group b for 'same:' expression x: the
 * first part (in the order written) that tells them apart decides, fired
 * before not fired, then by the order of best candidates (largest figure,
 * smallest for < and <= thresholds, ...); then the group's name. */
static bool group_better(struct scan *s, size_t e, const struct pb__expr *x, int64_t a, int64_t b)
{
	for (size_t i = 0; i < x->nkids; i++) {
		if (!is_same_part(s, x, x->kids[i]))
			continue;
		const struct pb__indicator *ind = &s->p->ind[x->kids[i]->ref];
		const struct ires *ra = in_group(s, e, x->kids[i]->ref, a);
		const struct ires *rb = in_group(s, e, x->kids[i]->ref, b);
		if (!ra != !rb)
			return ra != NULL;
		if (ra && better(ind, ra, rb, NULL, NULL))
			return true;
		if (ra && better(ind, rb, ra, NULL, NULL))
			return false;
	}
	const char *ga = dim_text(s, s->dc, a), *gb = dim_text(s, s->dc, b);
	return strcmp(ga ? ga : "", gb ? gb : "") < 0;
}

static bool ex_eval(struct scan *s, size_t e, const struct pb__expr *x, const bool *fired,
                    int64_t *group);

/* A 'same:' expression holds when, in some group, its parts per that
 * grouping that fired there and its other parts that fired reach the count
 * it needs (all, or at least N). *group: the best such group (group_better),
 * or -1 when the other parts alone reach the count and no group does. */
static bool same_eval(struct scan *s, size_t e, const struct pb__expr *x, const bool *fired,
                      int64_t *group)
{
	size_t need = x->kind == PB_EX_ALL ? x->nkids : x->atleast, others = 0;
	int64_t best = -1;
	*group = -1;
	for (size_t i = 0; i < x->nkids; i++)
		if (!is_same_part(s, x, x->kids[i]))
			others += ex_eval(s, e, x->kids[i], fired, NULL);
	for (size_t i = 0; i < x->nkids; i++) {
		if (!is_same_part(s, x, x->kids[i]))
			continue;
		const struct glist *l = &s->grp[e * s->p->nind + x->kids[i]->ref];
		for (size_t j = 0; j < l->n; j++) {
			int64_t g = l->v[j].group;
			size_t n = others;
			for (size_t i2 = 0; i2 < x->nkids; i2++)
				n += is_same_part(s, x, x->kids[i2]) &&
				     in_group(s, e, x->kids[i2]->ref, g) != NULL;
			if (n >= need && g != best && (best < 0 || group_better(s, e, x, g, best)))
				best = g;
		}
	}
	*group = best;
	return best >= 0 || others >= need;
}

/* pb__expr_eval for entity e, with 'same:' expressions; *group (when not
 * NULL) the group of a 'same:' expression at the top, else -1. */
static bool ex_eval(struct scan *s, size_t e, const struct pb__expr *x, const bool *fired,
                    int64_t *group)
{
	int64_t g;
	size_t n = 0;
	if (group)
		*group = -1;
	if (x->same != PB_PER_NONE)
		return same_eval(s, e, x, fired, group ? group : &g);
	switch (x->kind) {
	case PB_EX_REF:
		return fired[x->ref];
	case PB_EX_NOT:
		return !ex_eval(s, e, x->kids[0], fired, NULL);
	case PB_EX_ALL:
		for (size_t i = 0; i < x->nkids; i++)
			if (!ex_eval(s, e, x->kids[i], fired, NULL))
				return false;
		return true;
	case PB_EX_ANY:
		for (size_t i = 0; i < x->nkids; i++)
			if (ex_eval(s, e, x->kids[i], fired, NULL))
				return true;
		return false;
	case PB_EX_ATLEAST:
		for (size_t i = 0; i < x->nkids; i++)
			n += ex_eval(s, e, x->kids[i], fired, NULL);
		return n >= x->atleast;
	}
	return false;
}

/* ---- output ------------------------------------------------------------------ */

static const char *const meas_name[] = { "quantity", "billed-cost", "effective-cost", "list-cost" };
static const char *const agg_name[] = { "sum", "daily-average", "monthly-max", "growth",
	                                "share-of-region" };

static json_t *jday(int64_t day)
{
	char b[16];
	pb_day_format(day, b);
	return json_string(b);
}

static json_t *jmonth(int64_t m)
{
	if (m < 0)
		return json_null();
	char b[16];
	snprintf(b, sizeof(b), "%04lld-%02lld", (long long)pb_floordiv(m, 12),
	         (long long)(m - pb_floordiv(m, 12) * 12 + 1));
	return json_string(b);
}

static json_t *jdec(pb_dec v)
{
	char b[PB_DEC_BUFSZ];
	pb__dec_format(v, b);
	return json_string(b);
}

static json_t *jratio(double r)
{
	char b[40];
	snprintf(b, sizeof(b), "%.15g", r);
	return json_string(b);
}

/* What an indicator compares against, as a number in the figure's terms. */
static json_t *jthreshold_value(const struct pb__indicator *ind)
{
	return jdec(ind->thr);
}

/* How far a measuring indicator that did not fire is from firing, in the
 * figure's terms. */
static void explain_measure(const struct pb__indicator *ind, const struct ires *r, char *why,
                            size_t n)
{
	if (!r->defined)
		snprintf(why, n, "%s", ind->agg == PB_AGG_GROWTH
		                           ? "no usage in either window: no growth to measure"
		                           : "no usage selected: the share is undefined");
	else if (r->inf)
		snprintf(why, n, "grew from zero (infinite growth)");
	else if (r->ratio)
		snprintf(why, n, "figure %.6g against %s: %.3g%% of the threshold", r->rfig,
		         ind->thr_text, 100.0 * r->rfig / pb__dec_to_double(ind->thr ? ind->thr : 1));
	else {
		char fb[PB_DEC_BUFSZ], gb[PB_DEC_BUFSZ];
		pb__dec_format(r->fig, fb);
		pb__dec_format(ind->thr - r->fig, gb);
		double thr = pb__dec_to_double(ind->thr);
		snprintf(why, n, "figure %s %s against %s: %s %s %s (%.3g%% of the threshold)", fb,
		         ind->unit ? ind->unit : ind->currency, ind->thr_text,
		         gb[0] == '-' ? gb + 1 : gb, ind->unit ? ind->unit : ind->currency,
		         op_up(ind->op) ? "short" : "over",
		         thr != 0 ? 100.0 * pb__dec_to_double(r->fig) / thr : 0.0);
	}
}

/* Why a composite indicator's expression did not hold for entity e: what it
 * needs, and for each part that did not fire, that part's own explanation
 * (a measuring part's distance from its threshold, a composite's parts in
 * turn). A part that fired where it must not (under not:) is named as such. */
static void explain_expr(struct scan *s, size_t e, const struct pb__expr *x, const bool *fired,
                         struct pb_buf *b)
{
	const struct ires *row = &s->res[e * s->p->nind];
	switch (x->kind) {
	case PB_EX_REF: {
		const struct pb__indicator *ind = &s->p->ind[x->ref];
		if (fired[x->ref]) {
			pb_buf_printf(b, "%s fired", ind->name);
		} else if (ind->when) {
			pb_buf_printf(b, "%s did not fire (", ind->name);
			explain_expr(s, e, ind->when, fired, b);
			pb_buf_adds(b, ")");
		} else {
			char why[200];
			explain_measure(ind, &row[x->ref], why, sizeof(why));
			pb_buf_printf(b, "%s did not fire: %s", ind->name, why);
		}
		return;
	}
	case PB_EX_NOT:
		pb_buf_adds(b, "needs the opposite of: ");
		explain_expr(s, e, x->kids[0], fired, b);
		return;
	default:
		break;
	}
	size_t nf = 0;
	const char *gname = x->same == PB_PER_COUNTRY ? "country" : "region";
	char in[32] = "";
	if (x->same != PB_PER_NONE)
		snprintf(in, sizeof(in), " in one %s", gname);
	for (size_t i = 0; i < x->nkids; i++)
		nf += ex_eval(s, e, x->kids[i], fired, NULL);
	if (x->kind == PB_EX_ALL)
		pb_buf_printf(b, "needs all %zu%s, %zu fired", x->nkids, in, nf);
	else if (x->kind == PB_EX_ANY)
		pb_buf_printf(b, "needs any of %zu, none fired", x->nkids);
	else
		pb_buf_printf(b, "needs at least %zu of %zu%s, %zu fired", x->atleast, x->nkids, in, nf);
	if (x->same != PB_PER_NONE) {
		/* where each part per that grouping fired: parts that fired, but in
		 * different groups, are why it did not hold */
		bool any = false;
		size_t nparts = 0;
		for (size_t i = 0; i < x->nkids; i++)
			nparts += is_same_part(s, x, x->kids[i]) && s->grp[e * s->p->nind + x->kids[i]->ref].n;
		for (size_t i = 0; i < x->nkids && nparts >= 2; i++) {
			if (!is_same_part(s, x, x->kids[i]))
				continue;
			const struct glist *l = &s->grp[e * s->p->nind + x->kids[i]->ref];
			if (!l->n)
				continue;
			if (any)
				pb_buf_adds(b, "; ");
			else
				pb_buf_printf(b, ", but not in one and the same %s (", gname);
			pb_buf_printf(b, "%s fired in", s->p->ind[x->kids[i]->ref].name);
			any = true;
			for (size_t j2 = 0; j2 < l->n && j2 < 8; j2++)
				pb_buf_printf(b, " %s", dim_text(s, s->dc, l->v[j2].group));
			if (l->n > 8)
				pb_buf_printf(b, " and %zu more", l->n - 8);
		}
		if (any)
			pb_buf_adds(b, ")");
	}
	for (size_t i = 0; i < x->nkids; i++)
		if (!ex_eval(s, e, x->kids[i], fired, NULL)) {
			pb_buf_adds(b, "; ");
			explain_expr(s, e, x->kids[i], fired, b);
		}
}

/* Indicator k's result for entity e: its own (over NULL), or the result
 * over of a 'same:' part in the group a finding reports. */
static json_t *indicator_json(struct scan *s, size_t e, size_t k, const struct ires *over,
                              struct dimcache *dc, bool explain)
{
	const struct pb__indicator *ind = &s->p->ind[k];
	const struct ires *r = over ? over : &s->res[e * s->p->nind + k];
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(ind->name));
	if (ind->description)
		json_object_set_new(o, "description", json_string(ind->description));
	json_object_set_new(o, "fired", json_boolean(r->fired));
	if (ind->when) {
		json_object_set_new(o, "kind", json_string("composite"));
		if (ind->when->same != PB_PER_NONE && r->fired)
			json_object_set_new(o, "group", r->group >= 0 ? json_string(dim_text(s, dc, r->group))
			                                              : json_null());
		if (explain && !r->fired) {
			bool *fired = malloc(s->p->nind * sizeof(*fired));
			struct pb_buf b;
			pb_buf_init(&b, 1 << 16);
			if (fired) {
				for (size_t i = 0; i < s->p->nind; i++)
					fired[i] = s->res[e * s->p->nind + i].fired;
				explain_expr(s, e, ind->when, fired, &b);
			}
			/* a capped buffer keeps what fits: an explanation cut short, not an error */
			if (b.data)
				json_object_set_new(o, "explain", json_stringn(b.data, b.len));
			pb_buf_release(&b);
			free(fired);
		}
		return o;
	}
	json_object_set_new(o, "kind", json_string("measure"));
	json_object_set_new(o, "measure", json_string(meas_name[ind->measure]));
	json_object_set_new(o, "aggregate", json_string(agg_name[ind->agg]));
	json_object_set_new(o, "unit", json_string(ind->agg == PB_AGG_GROWTH  ? "x"
	                                           : ind->agg == PB_AGG_SHARE ? "share"
	                                           : ind->unit               ? ind->unit
	                                                                     : ind->currency));
	json_object_set_new(o, "measured_in", json_string(ind->unit ? ind->unit : ind->currency));
	json_object_set_new(o, "threshold", json_string(ind->thr_text));
	json_object_set_new(o, "threshold_value", jthreshold_value(ind));
	json_object_set_new(o, "figure", !r->defined || r->inf ? json_null()
	                                 : r->ratio          ? jratio(r->rfig)
	                                                     : jdec(r->fig));
	json_object_set_new(o, "infinite", json_boolean(r->inf));
	json_object_set_new(o, "defined", json_boolean(r->defined));
	json_object_set_new(o, "period", jmonth(r->period));
	json_object_set_new(o, "per", json_string(ind->per == PB_PER_REGION    ? "region"
	                                          : ind->per == PB_PER_COUNTRY ? "country"
	                                                                       : "none"));
	json_object_set_new(o, "group", r->group >= 0 ? json_string(dim_text(s, dc, r->group))
	                                              : json_null());
	if (r->sub >= 0)
		json_object_set_new(o, "month", jmonth(r->sub));
	json_t *w = json_object();
	json_object_set_new(w, "from", jday(r->span.lo));
	json_object_set_new(w, "to", jday(r->span.hi - 1));
	if (ind->agg == PB_AGG_GROWTH) {
		json_object_set_new(w, "previous_from", jday(r->span.plo));
		json_object_set_new(w, "previous_to", jday(r->span.phi - 1));
	}
	json_object_set_new(o, "window", w);
	json_object_set_new(o, "sum", jdec(r->s));
	if (ind->agg == PB_AGG_GROWTH)
		json_object_set_new(o, "previous_sum", jdec(r->r));
	if (ind->agg == PB_AGG_SHARE)
		json_object_set_new(o, "total", jdec(r->t));
	if (explain && !r->fired) {
		char why[200];
		explain_measure(ind, r, why, sizeof(why));
		json_object_set_new(o, "explain", json_string(why));
	}
	return o;
}

/* Citations of one fired measuring indicator for one entity (of result over
 * when not NULL, as indicator_json). */
/* The selection of ind into io, so evidence verify can recompute it. */
static void cite_selection(const struct pb__indicator *ind, json_t *io)
{
	json_t *sel = json_object();
	for (int d = 0; d < PB_SEL_COUNT; d++)
		if (ind->nvalues[d]) {
			json_t *a = json_array();
			for (size_t j = 0; j < ind->nvalues[d]; j++)
				json_array_append_new(a, json_string(ind->values[d][j]));
			json_object_set_new(sel, sel_col[d], a);
		}
	json_object_set_new(io, "selection", sel);
}

/* ",'a','b'..." for an SQL IN list of names. */
static void sql_names(struct pb_buf *b, char *const *v, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		pb_buf_adds(b, j ? "," : "");
		char *lit = sqlite3_mprintf("%Q", v[j]);
		pb_buf_adds(b, lit ? lit : "NULL");
		sqlite3_free(lit);
	}
}

/* The citations of one role being built from the rows of its query: a
 * citation per source file, in the order of the rows. */
struct citer {
	json_t *cits;
	int role; /* 0 window, 1 previous, 2 total */
	int64_t lo, hi;
	json_t *c, *aggs, *lines; /* the citation open, its keys and line ranges */
	pb_dec sum;
	size_t nagg;
	uint64_t nrows, rlo, rhi; /* rlo-rhi: the line range being merged */
	char cur_sha[65];
};

/* The aggregates of one role of r: the query over usage_day into b; *none
 * when the selection matches nothing. */
static enum pb_status cite_sql(struct scan *s, const struct pb__indicator *ind,
                               const struct ires *r, const struct entity *en,
                               const struct citer *ci, struct pb_buf *b, bool *none)
{
	pb_buf_printf(b,
	              "SELECT s.sha256, coalesce(s.path, s.name), s.name, u.day, sa.value, sv.value, "
	              "m.value, r.value, u.%s, u.first_line, u.last_line, u.rows FROM usage_day u "
	              "JOIN source s ON s.id = u.source_id LEFT JOIN dim sa ON sa.id = u.subaccount "
	              "JOIN dim sv ON sv.id = u.service LEFT JOIN dim m ON m.id = u.sku_meter "
	              "LEFT JOIN dim r ON r.id = u.region WHERE u.day >= %lld AND u.day < %lld",
	              meas_col[ind->measure], (long long)ci->lo, (long long)ci->hi);
	enum pb_status st = sel_where(s, ind, b, none);
	if (st)
		return st;
	if (r->group >= 0)
		pb_buf_printf(b, " AND u.%s = %lld", ind->per == PB_PER_COUNTRY ? "country" : "region",
		              (long long)r->group);
	if (ci->role != 2) {
		pb_buf_adds(b, " AND (u.account IN (SELECT id FROM dim WHERE value IN (");
		sql_names(b, en->accounts, en->nacc);
		pb_buf_adds(b, ")) OR u.subaccount IN (SELECT id FROM dim WHERE value IN (");
		sql_names(b, en->subs, en->nsub);
		pb_buf_adds(b, ")))");
	}
	pb_buf_adds(b, " ORDER BY s.id, u.day, u.first_line");
	return PB_OK;
}

/* The line range being merged, onto the citation's lines. */
static void cite_flush_lines(struct citer *ci)
{
	if (!ci->rhi)
		return;
	char lr[48];
	snprintf(lr, sizeof(lr), "%llu-%llu", (unsigned long long)ci->rlo,
	         (unsigned long long)ci->rhi);
	json_array_append_new(ci->lines, json_string(lr));
}

/* The open citation, complete, onto the list. */
static void cite_close(struct citer *ci)
{
	json_t *c = ci->c;
	cite_flush_lines(ci);
	json_object_set_new(c, "sum", jdec(ci->sum));
	json_object_set_new(c, "aggregates", json_integer((json_int_t)ci->nagg));
	json_object_set_new(c, "rows", json_integer((json_int_t)ci->nrows));
	json_object_set_new(c, "listed", json_integer((json_int_t)json_array_size(ci->aggs)));
	json_decref(ci->aggs);
	json_array_append_new(ci->cits, c);
	ci->c = NULL;
}

/* A new citation for the source of row q. */
static void cite_open(struct citer *ci, sqlite3_stmt *q, const char *sha)
{
	json_t *c = ci->c = json_object();
	pb__strlcpy(ci->cur_sha, sha, sizeof(ci->cur_sha));
	json_object_set_new(c, "role", json_string(ci->role == 0   ? "window"
	                                           : ci->role == 1 ? "previous"
	                                                           : "total"));
	json_object_set_new(c, "sha256", json_string(sha));
	json_object_set_new(c, "path", json_string((const char *)sqlite3_column_text(q, 1)));
	json_object_set_new(c, "name", json_string((const char *)sqlite3_column_text(q, 2)));
	json_object_set_new(c, "from", jday(ci->lo));
	json_object_set_new(c, "to", jday(ci->hi - 1));
	ci->aggs = json_array();
	ci->lines = json_array();
	json_object_set_new(c, "lines", ci->lines);
	/* A total sums every account's rows: its lines are cited, but
	 * not its keys, which would put other customers' sub-accounts
	 * into this entity's finding. */
	if (ci->role != 2)
		json_object_set_new(c, "keys", json_incref(ci->aggs));
	ci->sum = 0;
	ci->nagg = 0;
	ci->nrows = 0;
	ci->rlo = ci->rhi = 0;
}

/* Row q into the open citation: its sum, rows, lines and (up to
 * CITE_MAX_AGGS) its key. */
static void cite_row(struct citer *ci, sqlite3_stmt *q)
{
	const char *txt = (const char *)sqlite3_column_text(q, 8);
	pb_dec v = 0;
	unsigned fl;
	if (txt)
		pb__dec_parse(txt, strlen(txt), &v, &fl);
	pb__dec_add(&ci->sum, v);
	ci->nagg++;
	ci->nrows += (uint64_t)sqlite3_column_int64(q, 11);
	uint64_t fl1 = (uint64_t)sqlite3_column_int64(q, 9), ll = (uint64_t)sqlite3_column_int64(q, 10);
	/* merge line ranges that touch (or overlap: a total's aggregates
	 * share lines across accounts) */
	if (ci->rhi && fl1 >= ci->rlo && fl1 <= ci->rhi + 1 && ll >= fl1) {
		if (ll > ci->rhi)
			ci->rhi = ll;
	} else {
		cite_flush_lines(ci);
		ci->rlo = fl1;
		ci->rhi = ll;
	}
	if (ci->role == 2 || json_array_size(ci->aggs) >= CITE_MAX_AGGS)
		return;
	json_t *a = json_object();
	json_object_set_new(a, "day", jday(sqlite3_column_int64(q, 3)));
	for (int col = 4; col <= 7; col++) {
		static const char *const nm[] = { "subaccount", "service", "sku_meter", "region" };
		const char *v2 = (const char *)sqlite3_column_text(q, col);
		json_object_set_new(a, nm[col - 4], v2 ? json_string(v2) : json_null());
	}
	json_object_set_new(a, "value", json_string(txt ? txt : "0"));
	char lr[48];
	snprintf(lr, sizeof(lr), "%llu-%llu", (unsigned long long)fl1, (unsigned long long)ll);
	json_object_set_new(a, "lines", json_string(lr));
	json_array_append_new(ci->aggs, a);
}

/* The citations of one role: the rows of its query, a citation per source. */
static enum pb_status cite_role(struct scan *s, const struct pb__indicator *ind,
                                const struct ires *r, const struct entity *en,
                                struct citer *ci)
{
	struct pb_buf b;
	bool none;
	sqlite3_stmt *q = NULL;
	pb_buf_init(&b, 1 << 22);
	enum pb_status st = cite_sql(s, ind, r, en, ci, &b, &none);
	if (st || none)
		goto out;
	if ((st = pb__db_prepare(s->ws->db, b.data, &q, s->err)))
		goto out;
	int rc;
	for (;;) {
		rc = sqlite3_step(q);
		const char *sha = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
		if (ci->c && (!sha || strcmp(sha, ci->cur_sha)))
			cite_close(ci);
		if (!sha)
			break;
		if (!ci->c)
			cite_open(ci, q, sha);
		cite_row(ci, q);
	}
	if (rc != SQLITE_DONE)
		st = pb__db_err(s->ws->db, s->err, "cannot read cited usage");
out:
	sqlite3_finalize(q);
	pb_buf_release(&b);
	return st;
}

static enum pb_status cite(struct scan *s, size_t e, size_t k, const struct ires *over, json_t *io)
{
	const struct pb__indicator *ind = &s->p->ind[k];
	const struct ires *r = over ? over : &s->res[e * s->p->nind + k];
	const struct entity *en = &s->ent[e];
	enum pb_status st = PB_OK;
	json_t *cits = json_array();
	json_object_set_new(io, "citations", cits);
	cite_selection(ind, io);
	for (int role = 0; role < 3; role++) { /* 0 cur, 1 prev, 2 total */
		int64_t lo = r->span.lo, hi = r->span.hi;
		if (role == 1) {
			if (ind->agg != PB_AGG_GROWTH)
				continue;
			lo = r->span.plo;
			hi = r->span.phi;
		}
		if (role == 2 && ind->agg != PB_AGG_SHARE)
			continue;
		if (r->sub >= 0) { /* monthly-max: the best month */
			int64_t ml = pb__month_first_day(r->sub), mh = pb__month_first_day(r->sub + 1);
			lo = ml > lo ? ml : lo;
			hi = mh < hi ? mh : hi;
		}
		struct citer ci = { .cits = cits, .role = role, .lo = lo, .hi = hi };
		if ((st = cite_role(s, ind, r, en, &ci)))
			return st;
	}
	return st;
}

static json_t *entity_json(struct scan *s, size_t e, bool with_accounts)
{
	json_t *o = json_object();
	const struct entity *en = &s->ent[e];
	json_object_set_new(o, "entity", json_string(en->name));
	json_object_set_new(o, "kind", json_string(!strcmp(s->scope, "accounts") ? "account"
	                                                                          : "customer"));
	if (with_accounts) {
		json_t *a = json_array(), *b = json_array();
		for (size_t i = 0; i < en->nacc; i++)
			json_array_append_new(a, json_string(en->accounts[i]));
		for (size_t i = 0; i < en->nsub; i++)
			json_array_append_new(b, json_string(en->subs[i]));
		json_object_set_new(o, "accounts", a);
		json_object_set_new(o, "subaccounts", b);
	}
	return o;
}

static enum pb_status store_scan(struct scan *s, json_t *doc, const struct pb_scan_options *o)
{
	sqlite3 *db = s->ws->db;
	enum pb_status st;
	sqlite3_stmt *q = NULL;
	char now[32], at[16];
	pb_time_format(pb_now(), now);
	pb_day_format(s->at, at);
	if ((st = pb__ws_require_writable(s->ws, "store scan findings", s->err)))
		return st;
	if ((st = pb__ws_begin(s->ws, s->err)))
		return st;
	const char *actor;
	if ((st = pb__acting_user(s->ws, o->actor, &actor, s->err)) ||
	    (st = pb__user_may(s->ws, actor, "policy.scan", s->err)))
		goto fail;
	if ((st = pb__db_prepare(db,
	                         "INSERT INTO policy_scan(policy, policy_sha256, policy_text, at_day, "
	                         "scope, started_at, entities, findings) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
	                         &q, s->err)))
		goto fail;
	json_t *res = json_object_get(doc, "results");
	size_t nf = 0;
	for (size_t i = 0; i < json_array_size(res); i++)
		nf += json_array_size(json_object_get(json_array_get(res, i), "findings"));
	sqlite3_bind_text(q, 1, s->p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, s->p->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, s->p->text, (int)s->p->text_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, s->at);
	sqlite3_bind_text(q, 5, s->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)s->nent);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)nf);
	if (sqlite3_step(q) != SQLITE_DONE) {
		st = pb__db_err(db, s->err, "cannot record the scan");
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	int64_t scan_id = sqlite3_last_insert_rowid(db);
	json_object_set_new(doc, "scan_id", json_integer(scan_id));
	if ((st = pb__db_prepare(db,
	                         "INSERT INTO finding(scan_id, policy, policy_sha256, rule, severity, "
	                         "entity_kind, entity, at_day, created_at, detail) "
	                         "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	                         &q, s->err)))
		goto fail;
	for (size_t i = 0; i < json_array_size(res); i++) {
		json_t *r = json_array_get(res, i);
		json_t *fs = json_object_get(r, "findings");
		for (size_t j = 0; j < json_array_size(fs); j++) {
			json_t *f = json_array_get(fs, j);
			json_t *d = json_object();
			json_object_set_new(d, "policy", json_string(s->p->name));
			json_object_set_new(d, "policy_sha256", json_string(s->p->sha256));
			json_object_set_new(d, "clause", json_string(s->p->clause));
			json_object_set_new(d, "at", json_string(at));
			json_object_set_new(d, "rule", json_incref(json_object_get(f, "rule")));
			json_object_set_new(d, "severity", json_incref(json_object_get(f, "severity")));
			json_object_set_new(d, "result", json_incref(r));
			char *txt = json_dumps(d, JSON_COMPACT);
			json_decref(d);
			if (!txt) {
				st = pb__err(s->err, PB_ENOMEM, "out of memory");
				goto fail;
			}
			sqlite3_reset(q);
			sqlite3_bind_int64(q, 1, scan_id);
			sqlite3_bind_text(q, 2, s->p->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, s->p->sha256, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 4, json_string_value(json_object_get(f, "rule")), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(q, 5, json_string_value(json_object_get(f, "severity")), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(q, 6, json_string_value(json_object_get(r, "kind")), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(q, 7, json_string_value(json_object_get(r, "entity")), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_int64(q, 8, s->at);
			sqlite3_bind_text(q, 9, now, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 10, txt, -1, free);
			if (sqlite3_step(q) != SQLITE_DONE) {
				st = pb__db_err(db, s->err, "cannot store a finding");
				goto fail;
			}
			json_object_set_new(f, "id", json_integer(sqlite3_last_insert_rowid(db)));
		}
	}
	sqlite3_finalize(q);
	q = NULL;
	{
		/* the scan is on the record: which policy (by hash), when, what it found */
		json_t *d = json_object();
		json_object_set_new(d, "policy", json_string(s->p->name));
		json_object_set_new(d, "policy_sha256", json_string(s->p->sha256));
		json_object_set_new(d, "at", json_string(at));
		json_object_set_new(d, "scope", json_string(s->scope));
		json_object_set_new(d, "entities", json_integer((json_int_t)s->nent));
		json_object_set_new(d, "findings", json_integer((json_int_t)nf));
		char *txt = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(d);
		char subject[64];
		pb__snprintf(subject, sizeof(subject), "scan/%lld", (long long)scan_id);
		st = txt ? pb__audit_append(s->ws, actor, "policy.scan", 0, subject, txt, NULL, s->err)
		         : pb__err(s->err, PB_ENOMEM, "out of memory");
		free(txt);
		if (st)
			goto fail;
	}
	return pb__ws_commit(s->ws, s->err);
fail:
	sqlite3_finalize(q);
	pb__ws_rollback(s->ws);
	return st;
}

/* The scan date and what the workspace holds: s->at, s->first_month, s->months. */
static enum pb_status scan_bounds(struct scan *s, const struct pb_scan_options *o)
{
	sqlite3 *db = s->ws->db;
	int64_t v;
	bool null;
	enum pb_status st;
	if ((st = q_int(db, "SELECT min(first_day) FROM source WHERE rows_accepted > 0", &v, &null,
	                s->err)))
		return st;
	int64_t first = null ? 0 : v;
	if ((st = q_int(db, "SELECT max(last_day) FROM source WHERE rows_accepted > 0", &v, &null,
	                s->err)))
		return st;
	s->at = o->at_day != INT64_MIN ? o->at_day : null ? pb_floordiv(pb_now(), 86400) : v + 1;
	s->first_month = pb__month_of_day(null ? s->at : first);
	if (s->first_month > pb__month_of_day(s->at))
		s->first_month = pb__month_of_day(s->at);
	/* whole months come from usage_month when it holds every source (a
	 * workspace opened read-only may not have been brought up to date) */
	if ((st = q_int(db,
	                "SELECT count(*) FROM source s WHERE NOT EXISTS (SELECT 1 FROM "
	                "usage_month_source m WHERE m.source_id = s.id)",
	                &v, &null, s->err)))
		return st;
	s->months = v == 0;
	return PB_OK;
}

/* The rules of one entity: which indicators fired, which rules fired and the
 * group of a same: rule. Reused from one entity to the next. */
struct rules_eval {
	bool *fired;    /* per indicator */
	bool *rfired;   /* per rule */
	int64_t *rgroup; /* per rule */
};

/* Entity e's 'when:' indicators and rules; its findings, one a fired rule. */
static json_t *eval_rules(struct scan *s, size_t e, struct rules_eval *re)
{
	const struct pb_policy *p = s->p;
	struct ires *row = &s->res[e * p->nind];
	for (size_t j = 0; j < p->nind; j++) {
		size_t k = p->order[j];
		if (p->ind[k].when) {
			memset(&row[k], 0, sizeof(row[k]));
			row[k].period = row[k].sub = -1;
			row[k].fired = ex_eval(s, e, p->ind[k].when, re->fired, &row[k].group);
		}
		re->fired[k] = row[k].fired;
	}
	json_t *fs = json_array();
	for (size_t r = 0; r < p->nrules; r++)
		if ((re->rfired[r] = ex_eval(s, e, p->rules[r].when, re->fired, &re->rgroup[r]))) {
			json_t *f = json_object();
			json_object_set_new(f, "rule", json_string(p->rules[r].name));
			json_object_set_new(f, "severity", json_string(p->rules[r].severity));
			if (p->rules[r].description)
				json_object_set_new(f, "description", json_string(p->rules[r].description));
			json_array_append_new(fs, f);
		}
	return fs;
}

/* A finding of a 'same:' rule: the group, and its parts' figures and
 * citations in that group. */
static enum pb_status same_parts(struct scan *s, size_t e, const struct rules_eval *re,
                                 json_t *fs)
{
	const struct pb_policy *p = s->p;
	enum pb_status st = PB_OK;
	for (size_t r = 0, fi = 0; r < p->nrules && !st; r++) {
		if (!re->rfired[r])
			continue;
		json_t *f = json_array_get(fs, fi++);
		const struct pb__expr *x = p->rules[r].when;
		int64_t g = re->rgroup[r];
		if (x->same == PB_PER_NONE)
			continue;
		json_object_set_new(f, "same", json_string(x->same == PB_PER_COUNTRY ? "country"
		                                                                       : "region"));
		json_object_set_new(f, "group", g >= 0 ? json_string(dim_text(s, s->dc, g))
		                                       : json_null());
		json_t *parts = json_array();
		json_object_set_new(f, "parts", parts);
		for (size_t i = 0; i < x->nkids && g >= 0 && !st; i++) {
			if (!is_same_part(s, x, x->kids[i]))
				continue;
			const struct ires *pr = in_group(s, e, x->kids[i]->ref, g);
			if (!pr)
				continue;
			json_t *io = indicator_json(s, e, x->kids[i]->ref, pr, s->dc, false);
			st = cite(s, e, x->kids[i]->ref, pr, io);
			json_array_append_new(parts, io);
		}
	}
	return st;
}

/* Entity e's rules, matched or not, with why not when explaining. */
static json_t *rules_json(struct scan *s, size_t e, const struct rules_eval *re, bool hit,
                          const struct pb_scan_options *o)
{
	const struct pb_policy *p = s->p;
	json_t *rules = json_array();
	for (size_t r = 0; r < p->nrules; r++) {
		json_t *ro = json_object();
		json_object_set_new(ro, "name", json_string(p->rules[r].name));
		json_object_set_new(ro, "severity", json_string(p->rules[r].severity));
		json_object_set_new(ro, "matched", json_boolean(re->rfired[r]));
		if (re->rfired[r] && p->rules[r].when->same != PB_PER_NONE)
			json_object_set_new(ro, "group",
			                    re->rgroup[r] >= 0 ? json_string(dim_text(s, s->dc, re->rgroup[r]))
			                                       : json_null());
		if (!re->rfired[r] && !hit && o->explain) {
			struct pb_buf b;
			pb_buf_init(&b, 1 << 16);
			explain_expr(s, e, p->rules[r].when, re->fired, &b);
			if (b.data)
				json_object_set_new(ro, "explain", json_stringn(b.data, b.len));
			pb_buf_release(&b);
		}
		json_array_append_new(rules, ro);
	}
	return rules;
}

/* Entity e's result into results (none for an unmatched entity with
 * matched_only); counts its match and findings. */
static enum pb_status entity_result(struct scan *s, size_t e, struct rules_eval *re,
                                    const struct pb_scan_options *o, json_t *results,
                                    size_t *matched, size_t *nfind)
{
	const struct pb_policy *p = s->p;
	const struct ires *row = &s->res[e * p->nind];
	enum pb_status st = PB_OK;
	json_t *fs = eval_rules(s, e, re);
	bool hit = json_array_size(fs) > 0;
	if (!hit && o->matched_only) {
		json_decref(fs);
		return PB_OK;
	}
	json_t *eo = entity_json(s, e, hit);
	json_object_set_new(eo, "matched", json_boolean(hit));
	json_t *inds = json_array();
	for (size_t k = 0; k < p->nind && !st; k++) {
		json_t *io = indicator_json(s, e, k, NULL, s->dc, !hit && o->explain);
		if (hit && !p->ind[k].when && row[k].fired)
			st = cite(s, e, k, NULL, io);
		json_array_append_new(inds, io);
	}
	if (!st)
		st = same_parts(s, e, re, fs);
	if (st) {
		json_decref(inds);
		json_decref(eo);
		json_decref(fs);
		return st;
	}
	json_object_set_new(eo, "indicators", inds);
	json_object_set_new(eo, "rules", rules_json(s, e, re, hit, o));
	json_object_set_new(eo, "findings", fs);
	*matched += hit;
	*nfind += json_array_size(fs);
	json_array_append_new(results, eo);
	return PB_OK;
}

/* The head of the scan document: the policy, the date, the scope. */
static json_t *scan_doc(const struct scan *s)
{
	const struct pb_policy *p = s->p;
	json_t *doc = json_object();
	char at[16];
	pb_day_format(s->at, at);
	json_object_set_new(doc, "policy", json_string(p->name));
	json_object_set_new(doc, "title", json_string(p->title ? p->title : p->name));
	json_object_set_new(doc, "clause", json_string(p->clause));
	json_object_set_new(doc, "policy_sha256", json_string(p->sha256));
	json_object_set_new(doc, "at", json_string(at));
	json_object_set_new(doc, "scope", json_string(s->scope));
	json_object_set_new(doc, "entities", json_integer((json_int_t)s->nent));
	return doc;
}

/* Every entity's result into doc's "results". */
static enum pb_status scan_results(struct scan *s, const struct pb_scan_options *o, json_t *doc)
{
	const struct pb_policy *p = s->p;
	struct rules_eval re = { calloc(p->nind + 1, sizeof(bool)), calloc(p->nrules + 1, sizeof(bool)),
		                 calloc(p->nrules + 1, sizeof(int64_t)) };
	enum pb_status st = PB_OK;
	if (!re.fired || !re.rfired || !re.rgroup) {
		st = pb__err(s->err, PB_ENOMEM, "out of memory");
		goto out;
	}
	json_t *results = json_array();
	json_object_set_new(doc, "results", results);
	size_t matched = 0, nfind = 0;
	for (size_t e = 0; e < s->nent; e++)
		if ((st = entity_result(s, e, &re, o, results, &matched, &nfind)))
			goto out;
	json_object_set_new(doc, "matched", json_integer((json_int_t)matched));
	json_object_set_new(doc, "findings", json_integer((json_int_t)nfind));
out:
	free(re.fired);
	free(re.rfired);
	free(re.rgroup);
	return st;
}

/* An unrecorded finding has no id: say so, never a made-up one. */
static void null_finding_ids(json_t *doc)
{
	json_t *res = json_object_get(doc, "results");
	for (size_t i = 0; i < json_array_size(res); i++) {
		json_t *fs = json_object_get(json_array_get(res, i), "findings");
		for (size_t j = 0; j < json_array_size(fs); j++)
			json_object_set_new(json_array_get(fs, j), "id", json_null());
	}
}

enum pb_status pb_policy_scan(struct pb_ws *ws, const struct pb_policy *p,
                              const struct pb_scan_options *o, char **json, struct pb_error *err)
{
	struct scan s = { 0 };
	struct dimcache dc = { 0 };
	enum pb_status st;
	json_t *doc = NULL;
	s.ws = ws;
	s.p = p;
	s.err = err;
	*json = NULL;
	if ((st = load_entities(&s, o)) || (st = scan_bounds(&s, o)))
		goto out;
	s.res = calloc(s.nent * p->nind + 1, sizeof(*s.res));
	s.grp = calloc(s.nent * p->nind + 1, sizeof(*s.grp));
	s.dc = &dc;
	if (!s.res || !s.grp) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if ((st = eval_indicators(&s, &dc)))
		goto out;
	doc = scan_doc(&s);
	if ((st = scan_results(&s, o, doc)))
		goto out;
	json_object_set_new(doc, "scan_id", json_null());
	if (o->store && (st = store_scan(&s, doc, o)))
		goto out;
	if (!o->store)
		null_finding_ids(doc);
	*json = json_dumps(doc, JSON_COMPACT);
	if (!*json)
		st = pb__err(err, PB_ENOMEM, "out of memory");
out:
	json_decref(doc);
	for (size_t i = 0; i < s.nent; i++)
		entity_free(&s.ent[i]);
	free(s.ent);
	free(s.acc_map);
	free(s.sub_map);
	free(s.res);
	for (size_t i = 0; s.grp && i < s.nent * p->nind; i++)
		free(s.grp[i].v);
	free(s.grp);
	if (dc.v)
		for (int64_t i = 0; i < dc.n; i++)
			free(dc.v[i]);
	free(dc.v);
	return st;
}

/* ---- stored findings ----------------------------------------------------------- */

enum pb_status pb__finding_get(struct pb_ws *ws, const char *ref, struct pb__finding *out,
                               struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *d = ref;
	if (*d == 'F' || *d == 'f')
		d++;
	int64_t id = 0;
	size_t n = 0;
	for (; *d >= '0' && *d <= '9' && n < 15; d++, n++)
		id = id * 10 + (*d - '0');
	if (n == 0 || *d)
		return pb__err(err, PB_EINVAL, "'%s' is not a finding id (hint: a number such as 12 or "
		               "F12, as scan prints it)", ref);
	sqlite3_stmt *q;
	enum pb_status st = pb__db_row_by_id(ws->db,
	                                     "SELECT id, scan_id, policy, policy_sha256, rule, "
	                                     "severity, entity_kind, entity, at_day, created_at, "
	                                     "detail FROM finding WHERE id = ?1",
	                                     id, "no finding %lld in this workspace", "findings", &q,
	                                     err);
	if (st)
		return st;
	out->id = sqlite3_column_int64(q, 0);
	out->scan_id = sqlite3_column_int64(q, 1);
#define COL(i, f) pb__strlcpy(out->f, sqlite3_column_text(q, i) ? (const char *)sqlite3_column_text(q, i) : "", sizeof(out->f))
	COL(2, policy);
	COL(3, policy_sha256);
	COL(4, rule);
	COL(5, severity);
	COL(6, entity_kind);
	COL(7, entity);
	COL(9, created_at);
#undef COL
	pb_day_format(sqlite3_column_int64(q, 8), out->at);
	const char *dt = (const char *)sqlite3_column_text(q, 10);
	out->detail = pb__strndup(dt ? dt : "{}", dt ? strlen(dt) : 2);
	if (!out->detail)
		st = pb__err(err, PB_ENOMEM, "out of memory");
	sqlite3_finalize(q);
	return st;
}
