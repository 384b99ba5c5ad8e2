/* profile.c - a customer's profile: what it consumes, where, how much, and how
 * that changed.
 *
 * One pass reads the customer's daily aggregates in the period (through the
 * usage_day indexes on account and sub-account) into memory, as dimension ids
 * and exact decimals. Rows are grouped into series (the line key without the
 * time dimensions, plus unit and currency), each a zero-filled daily array
 * over the customer's span; lines, growth and totals come from those arrays
 * with exact sums. A second pass over everyone's usage in the same days gives
 * each line's share of all usage of the same kind. Change detection runs per
 * series on its daily quantity (lib/detect.c), and each change is explained
 * per dimension (sub-account, service, region, SKU) with pb_detect_drivers.
 * docs/profile.md describes every figure.
 */
#include "probity.h"
#include "util/hmap.h"
#include "store/store.h"
#include "profile/profile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* usage_day dimension columns, in the order rows keep them */
enum col {
	C_ACCOUNT,
	C_SUB,
	C_CATEGORY,
	C_SUBCATEGORY,
	C_SERVICE,
	C_SKU,
	C_CAPABILITY,
	C_REGION,
	C_COUNTRY,
	C_UNIT,
	C_CURRENCY,
	NCOL
};

#define COLS_SQL                                                                                  \
	"day, account, subaccount, category, subcategory, service, sku_meter, capability, region, " \
	"country, unit, currency"

static const int dim_col[PB_PROFILE_DIM_COUNT] = {
	C_ACCOUNT, C_SUB,    C_CATEGORY, C_SUBCATEGORY, C_SERVICE, C_SKU,
	C_CAPABILITY, C_REGION, C_COUNTRY, -1, -1,
};

static const char *const dim_names[PB_PROFILE_DIM_COUNT] = {
	"account", "subaccount", "category", "subcategory", "service", "sku",
	"capability", "region", "country", "month", "day",
};

static const int driver_col[PB_DRIVER_COUNT] = { C_SUB, C_SERVICE, C_REGION, C_SKU };

#define MONTH_BUCKETS_AFTER 62 /* spans longer than this compare months, else days */

const char *pb_profile_dim_name(enum pb_profile_dim d)
{
	return (unsigned)d < PB_PROFILE_DIM_COUNT ? dim_names[d] : "?";
}

void pb_profile_options_init(struct pb_profile_options *o)
{
	memset(o, 0, sizeof(*o));
	o->from_day = PB_PROFILE_DAY_MIN;
	o->to_day = PB_PROFILE_DAY_MAX;
	o->by[0] = PB_PROFILE_CATEGORY;
	o->by[1] = PB_PROFILE_SERVICE;
	o->by[2] = PB_PROFILE_REGION;
	o->nby = 3;
	o->detect = true;
	o->min_cost_per_day = 1.0;
	o->min_pct = 10.0;
	o->base_days = 28;
}

void pb_profile_detect_config(struct pb_detect_config *cfg)
{
	/* one configuration: the regimes detector with the settings of
	 * `probity detect` (docs/detection.md) */
	pb_detect_config_init(cfg);
}

static void valid_dims(char *buf, size_t cap)
{
	buf[0] = '\0';
	size_t len = 0;
	for (int d = 0; d < PB_PROFILE_DIM_COUNT; d++) {
		pb__snprintf(buf + len, cap - len, "%s%s", d ? ", " : "", dim_names[d]);
		len = strlen(buf);
	}
}

enum pb_status pb_profile_parse_by(const char *spec, struct pb_profile_options *o,
                                   struct pb_error *err)
{
	char valid[256];
	valid_dims(valid, sizeof(valid));
	size_t n = 0;
	bool seen[PB_PROFILE_DIM_COUNT] = { false };
	const char *p = spec ? spec : "";
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct pb_str name = pb_str_trim(pb_str_of(p, len));
		int found = -1;
		for (int d = 0; d < PB_PROFILE_DIM_COUNT && found < 0; d++)
			if (pb_str_ieq_cstr(name, dim_names[d]))
				found = d;
		/* a few spellings people use */
		if (found < 0 && (pb_str_ieq_cstr(name, "sub-account") ||
		                  pb_str_ieq_cstr(name, "sub_account")))
			found = PB_PROFILE_SUBACCOUNT;
		if (found < 0 && pb_str_ieq_cstr(name, "sku_meter"))
			found = PB_PROFILE_SKU;
		if (found < 0)
			return pb__err_field(err, PB_EINVAL, "by", "unknown dimension '%.*s'; valid: %s",
			                     (int)(name.len > 64 ? 64 : name.len), name.ptr, valid);
		if (seen[found])
			return pb__err_field(err, PB_EINVAL, "by", "dimension '%s' is listed twice",
			                     dim_names[found]);
		seen[found] = true;
		o->by[n++] = (enum pb_profile_dim)found;
		p += len;
		if (*p == ',')
			p++;
	}
	if (n == 0)
		return pb__err_field(err, PB_EINVAL, "by", "no dimension given; valid: %s", valid);
	if (seen[PB_PROFILE_MONTH] && seen[PB_PROFILE_DAY])
		return pb__err_field(err, PB_EINVAL, "by", "month and day cannot be grouped by together");
	o->nby = n;
	return PB_OK;
}

enum pb_status pb_profile_parse_day(const char *s, bool end, int64_t *day, struct pb_error *err)
{
	size_t n = s ? strlen(s) : 0;
	int y = 0;
	unsigned m = 0, d = 0;
	bool ok = (n == 10 || n == 7);
	for (size_t i = 0; ok && i < n; i++) {
		bool dash = i == 4 || i == 7;
		if (dash ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			ok = false;
	}
	if (ok) {
		y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
		m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
		d = n == 10 ? (unsigned)((s[8] - '0') * 10 + (s[9] - '0')) : 1;
		ok = m >= 1 && m <= 12 && d >= 1 && y >= 1900;
	}
	if (ok) {
		int64_t z = pb__days_from_civil(y, m, d);
		int yy;
		unsigned mm, dd;
		pb__civil_from_days(z, &yy, &mm, &dd);
		ok = yy == y && mm == m && dd == d; /* no 2025-02-30 */
		if (ok && n == 7 && end)
			z = pb__days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
		*day = z;
	}
	if (!ok)
		return pb__err(err, PB_EINVAL, "'%.32s' is not a date (YYYY-MM-DD) or a month (YYYY-MM)",
		               s ? s : "");
	return PB_OK;
}

/* ---- internal state ------------------------------------------------------ */

struct row {
	pb_dec qty, cost;
	int64_t day;
	int64_t id[NCOL];
	uint32_t series;
};

struct ser {
	int64_t key[NCOL];
	pb_dec *qty, *cost; /* ndays each */
	uint32_t *nrows;
	pb_dec tq, tc;
	uint64_t rows;
};

struct peer {
	pb_dec qty;
	bool others;
};

struct internal {
	struct pb_hmap text;   /* dim id (8 bytes) -> char * */
	struct pb_hmap names;  /* sub-account id text -> char * (stored name) */
	char **strings;        /* every string the profile hands out */
	const char *(*shown)[PB_PROFILE_DIM_COUNT]; /* per series: dims as legends show them
	                                               (a sub-account by its stored name) */
	size_t nstrings, capstrings;
};

static enum pb_status keep_string(struct internal *in, char *s, struct pb_error *err)
{
	if (in->nstrings == in->capstrings) {
		size_t nc = in->capstrings ? 2 * in->capstrings : 64;
		char **v = realloc(in->strings, nc * sizeof(*v));
		if (!v) {
			free(s);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		in->strings = v;
		in->capstrings = nc;
	}
	in->strings[in->nstrings++] = s;
	return PB_OK;
}

/* Steps q (reset and bound by the caller after a cache miss) and keeps its
 * first column's text ("" for no row) in map under key, for the profile's
 * life. */
static enum pb_status cache_fill(struct pb_ws *ws, struct internal *in, struct pb_hmap *map,
                                 sqlite3_stmt *q, const char *key, size_t klen, const char *what,
                                 const char **out, struct pb_error *err)
{
	int rc = sqlite3_step(q);
	const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(q, 0) : NULL;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, what);
	char *v = pb__strndup(t ? (const char *)t : "", t ? strlen((const char *)t) : 0);
	if (!v)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = keep_string(in, v, err);
	if (st)
		return st;
	if (pb__hmap_put(map, key, klen, v, NULL) == PB_ENOMEM)
		return pb__err(err, PB_ENOMEM, "out of memory");
	*out = v;
	return PB_OK;
}

/* The text of a dimension id ("" for none), cached for the profile's life. */
static enum pb_status dim_text(struct pb_ws *ws, struct internal *in, sqlite3_stmt *q, int64_t id,
                               const char **out, struct pb_error *err)
{
	*out = "";
	if (id == 0)
		return PB_OK;
	if ((*out = pb__hmap_get(&in->text, (const char *)&id, sizeof(id))))
		return PB_OK;
	sqlite3_reset(q);
	sqlite3_bind_int64(q, 1, id);
	return cache_fill(ws, in, &in->text, q, (const char *)&id, sizeof(id),
	                  "cannot read a dimension", out, err);
}

/* The stored name of a sub-account ("" when unknown), cached. */
static enum pb_status sub_name(struct pb_ws *ws, struct internal *in, sqlite3_stmt *q,
                               const char *sub, const char **out, struct pb_error *err)
{
	*out = "";
	if (!sub[0])
		return PB_OK;
	if ((*out = pb__hmap_get(&in->names, sub, strlen(sub))))
		return PB_OK;
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, sub, -1, SQLITE_STATIC);
	return cache_fill(ws, in, &in->names, q, sub, strlen(sub),
	                  "cannot read a sub-account's name", out, err);
}

void pb_profile_free(struct pb_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nseries; i++) {
		free(p->series[i].points);
		free(p->series[i].cost);
	}
	free(p->series);
	free(p->lines);
	free(p->changes);
	free(p->totals);
	struct internal *in = p->internal_;
	if (in) {
		for (size_t i = 0; i < in->nstrings; i++)
			free(in->strings[i]);
		free(in->strings);
		pb__hmap_release(&in->text);
		pb__hmap_release(&in->names);
		free(in->shown);
		free(in);
	}
	free(p);
}

/* ---- small helpers --------------------------------------------------------- */

static void dec_text(pb_dec v, char *out)
{
	pb__dec_format(v, out);
}

static double ratio(pb_dec a, pb_dec b)
{
	if (b == 0)
		return NAN;
	return pb__dec_to_double(a) / pb__dec_to_double(b);
}

static int64_t month_of_day(int64_t day)
{
	int y;
	unsigned m, d;
	pb__civil_from_days(day, &y, &m, &d);
	return (int64_t)y * 12 + (m - 1);
}

static int64_t month_first_day(int64_t month)
{
	int64_t y = pb_floordiv(month, 12);
	return pb__days_from_civil(y, (unsigned)(month - y * 12 + 1), 1);
}

static void period_text(int64_t bucket, bool months, char *out)
{
	char buf[16];
	pb_day_format(months ? month_first_day(bucket) : bucket, buf);
	if (months)
		buf[7] = '\0';
	pb__strlcpy(out, buf, 11);
}

/* Reads a decimal text column; false when it is not one (never from ingest). */
static bool col_dec(sqlite3_stmt *q, int i, pb_dec *out)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	int n = sqlite3_column_bytes(q, i);
	*out = 0;
	if (!t)
		return true;
	return pb__dec_parse((const char *)t, (size_t)n, out, NULL) == PB_OK;
}

static bool in_ids(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* ---- reading the customer's rows ----------------------------------------- */

struct reader {
	struct row *rows;
	size_t nrows, cap;
	int64_t bill[64], subs[256]; /* dim ids of the customer's accounts (a prefix) */
	size_t nbill, nsubs;
	bool bill_more, subs_more;    /* more than fit: ownership tests go through SQL */
};

static enum pb_status customer_ids(struct pb_ws *ws, int64_t cid, struct reader *r,
                                   struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT ca.kind, d.id FROM customer_account ca JOIN dim d ON d.value = ca.account_id "
		"WHERE ca.customer_id = ?1",
		&q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, cid);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		bool bill = strcmp((const char *)sqlite3_column_text(q, 0), "billing") == 0;
		int64_t id = sqlite3_column_int64(q, 1);
		if (bill) {
			if (r->nbill < PB_ARRAY_LEN(r->bill))
				r->bill[r->nbill++] = id;
			else
				r->bill_more = true;
		} else {
			if (r->nsubs < PB_ARRAY_LEN(r->subs))
				r->subs[r->nsubs++] = id;
			else
				r->subs_more = true;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot read the customer's accounts");
	return PB_OK;
}

static enum pb_status read_rows(struct pb_ws *ws, int64_t cid, const struct pb_profile_options *o,
                                struct reader *r, struct pb_error *err)
{
	/* Both halves use an index: usage_day(account, day), usage_day(subaccount, day). */
	static const char sql[] =
		"WITH b AS (SELECT d.id FROM customer_account ca JOIN dim d ON d.value = ca.account_id "
		"  WHERE ca.customer_id = ?1 AND ca.kind = 'billing'), "
		" s AS (SELECT d.id FROM customer_account ca JOIN dim d ON d.value = ca.account_id "
		"  WHERE ca.customer_id = ?1 AND ca.kind = 'sub') "
		"SELECT " COLS_SQL ", quantity, billed_cost FROM usage_day "
		" WHERE account IN b AND day BETWEEN ?2 AND ?3 "
		"UNION ALL SELECT " COLS_SQL ", quantity, billed_cost FROM usage_day "
		" WHERE subaccount IN s AND account NOT IN b AND day BETWEEN ?2 AND ?3";
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db, sql, &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, cid);
	sqlite3_bind_int64(q, 2, o->from_day);
	sqlite3_bind_int64(q, 3, o->to_day);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (r->nrows == r->cap) {
			if (r->cap >= PB_PROFILE_MAX_ROWS) {
				st = pb__err(err, PB_ELIMIT,
				             "the customer has more than %u daily aggregates in the period; "
				             "profile a shorter period",
				             PB_PROFILE_MAX_ROWS);
				goto out;
			}
			size_t nc = r->cap ? 2 * r->cap : 1024;
			if (nc > PB_PROFILE_MAX_ROWS)
				nc = PB_PROFILE_MAX_ROWS;
			struct row *v = realloc(r->rows, nc * sizeof(*v));
			if (!v) {
				st = pb__err(err, PB_ENOMEM, "out of memory for the customer's usage");
				goto out;
			}
			r->rows = v;
			r->cap = nc;
		}
		struct row *w = &r->rows[r->nrows];
		w->day = sqlite3_column_int64(q, 0);
		for (int c = 0; c < NCOL; c++)
			w->id[c] = sqlite3_column_int64(q, 1 + c);
		if (!col_dec(q, 1 + NCOL, &w->qty) || !col_dec(q, 2 + NCOL, &w->cost)) {
			st = pb__err(err, PB_EDB, "a stored quantity or cost is not a decimal number");
			goto out;
		}
		w->series = 0;
		r->nrows++;
	}
	if (rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read the customer's usage");
out:
	sqlite3_finalize(q);
	return st;
}

/* ---- building ------------------------------------------------------------ */

struct build {
	struct pb_ws *ws;
	const struct pb_profile_options *o;
	struct pb_profile *p;
	struct internal *in;
	struct reader r;
	struct ser *ser;
	size_t nser, capser;
	struct pb_hmap sermap; /* key bytes -> index + 1 */
	int64_t d0, d1;
	size_t ndays;
	int time_dim;          /* -1, PB_PROFILE_MONTH or PB_PROFILE_DAY */
	bool grouped[NCOL];    /* column is in the series key */
	sqlite3_stmt *qdim, *qname;
	struct peer *peers;    /* one per line */
	size_t *line_bucket;   /* per line: its time bucket */
	size_t *order;         /* series order (by cost) */
};

static enum pb_status add_series(struct build *b, const int64_t *key, size_t *idx,
                                 struct pb_error *err)
{
	void *v = pb__hmap_get(&b->sermap, (const char *)key, sizeof(int64_t) * NCOL);
	if (v) {
		*idx = (size_t)(uintptr_t)v - 1;
		return PB_OK;
	}
	if ((b->nser + 1) * b->ndays > PB_PROFILE_MAX_CELLS)
		return pb__err(err, PB_ELIMIT,
		               "the profile would hold more than %u series-days; group by fewer "
		               "dimensions or profile a shorter period",
		               PB_PROFILE_MAX_CELLS);
	if (b->nser == b->capser) {
		size_t nc = b->capser ? 2 * b->capser : 16;
		struct ser *s = realloc(b->ser, nc * sizeof(*s));
		if (!s)
			return pb__err(err, PB_ENOMEM, "out of memory");
		b->ser = s;
		b->capser = nc;
	}
	struct ser *s = &b->ser[b->nser];
	memset(s, 0, sizeof(*s));
	memcpy(s->key, key, sizeof(s->key));
	s->qty = calloc(b->ndays, sizeof(pb_dec));
	s->cost = calloc(b->ndays, sizeof(pb_dec));
	s->nrows = calloc(b->ndays, sizeof(uint32_t));
	b->nser++;
	if (!s->qty || !s->cost || !s->nrows)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (pb__hmap_put(&b->sermap, (const char *)key, sizeof(int64_t) * NCOL,
	                 (void *)(uintptr_t)b->nser, NULL) == PB_ENOMEM)
		return pb__err(err, PB_ENOMEM, "out of memory");
	*idx = b->nser - 1;
	return PB_OK;
}

static enum pb_status sum_err(struct pb_error *err)
{
	return pb__err(err, PB_ELIMIT, "a sum is out of the range of exact decimals");
}

static enum pb_status group_rows(struct build *b, struct pb_error *err)
{
	enum pb_status st;
	for (size_t i = 0; i < b->r.nrows; i++) {
		struct row *w = &b->r.rows[i];
		int64_t key[NCOL];
		for (int c = 0; c < NCOL; c++)
			key[c] = b->grouped[c] ? w->id[c] : 0;
		size_t idx = 0;
		if ((st = add_series(b, key, &idx, err)))
			return st;
		w->series = (uint32_t)idx;
		struct ser *s = &b->ser[idx];
		size_t d = (size_t)(w->day - b->d0);
		if (!pb__dec_add(&s->qty[d], w->qty) || !pb__dec_add(&s->cost[d], w->cost) ||
		    !pb__dec_add(&s->tq, w->qty) || !pb__dec_add(&s->tc, w->cost))
			return sum_err(err);
		s->nrows[d]++;
		s->rows++;
	}
	return PB_OK;
}

static int cmp_dec_desc(pb_dec a, pb_dec b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

static int cmp_series(const void *x, const void *y, void *ctx)
{
	const struct build *bd = ctx;
	const struct ser *a = &bd->ser[*(const size_t *)x], *b = &bd->ser[*(const size_t *)y];
	int c = cmp_dec_desc(a->tc, b->tc);
	if (c)
		return c;
	c = cmp_dec_desc(a->tq, b->tq);
	if (c)
		return c;
	return memcmp(a->key, b->key, sizeof(a->key));
}

/* Quantity a day over the days [a, b] of the span (clipped to it). */
static double rate(const struct ser *s, const struct build *b, int64_t a, int64_t e)
{
	if (a < b->d0)
		a = b->d0;
	if (e > b->d1)
		e = b->d1;
	if (e < a)
		return 0;
	pb_dec sum = 0;
	for (int64_t d = a; d <= e; d++)
		pb__dec_add(&sum, s->qty[d - b->d0]);
	return pb__dec_to_double(sum) / (double)(e - a + 1);
}

static void bucket_range(int64_t bucket, bool months, int64_t *a, int64_t *e)
{
	if (months) {
		*a = month_first_day(bucket);
		*e = month_first_day(bucket + 1) - 1;
	} else {
		*a = *e = bucket;
	}
}

static double growth(double now, double before)
{
	if (!(before > 0))
		return NAN;
	return now / before - 1.0;
}

/* Fills the text fields of series i of the profile (dims, unit, label). */
static enum pb_status series_text(struct build *b, size_t out_i, const struct ser *s,
                                  struct pb_error *err)
{
	struct pb_profile_series *ps = &b->p->series[out_i];
	enum pb_status st;
	size_t len = 0;
	ps->label[0] = '\0';
	for (size_t k = 0; k < b->p->nby; k++) {
		int c = dim_col[b->p->by[k]];
		if (c < 0) {
			ps->dims[k] = NULL;
			continue;
		}
		if ((st = dim_text(b->ws, b->in, b->qdim, s->key[c], &ps->dims[k], err)))
			return st;
		pb__snprintf(ps->label + len, sizeof(ps->label) - len, "%s%s", len ? ", " : "",
		             ps->dims[k][0] ? ps->dims[k] : "-");
		len = strlen(ps->label);
		const char *shown = ps->dims[k];
		if (b->p->by[k] == PB_PROFILE_SUBACCOUNT) {
			const char *nm;
			if ((st = sub_name(b->ws, b->in, b->qname, ps->dims[k], &nm, err)))
				return st;
			if (nm[0])
				shown = nm;
		}
		b->in->shown[out_i][k] = shown;
		size_t sl = strlen(ps->short_label);
		pb__snprintf(ps->short_label + sl, sizeof(ps->short_label) - sl, "%s%s",
		             sl ? ", " : "", shown[0] ? shown : "-");
	}
	if ((st = dim_text(b->ws, b->in, b->qdim, s->key[C_UNIT], &ps->unit, err)) ||
	    (st = dim_text(b->ws, b->in, b->qdim, s->key[C_CURRENCY], &ps->currency, err)))
		return st;
	if (!ps->short_label[0])
		pb__snprintf(ps->short_label, sizeof(ps->short_label), "%s",
		             ps->unit[0] ? ps->unit : "no unit");
	if (len)
		pb__snprintf(ps->label + len, sizeof(ps->label) - len, " (%s)",
		             ps->unit[0] ? ps->unit : "no unit");
	else
		pb__snprintf(ps->label, sizeof(ps->label), "%s", ps->unit[0] ? ps->unit : "no unit");
	return PB_OK;
}

static enum pb_status make_series(struct build *b, struct pb_error *err)
{
	struct pb_profile *p = b->p;
	b->order = malloc((b->nser ? b->nser : 1) * sizeof(size_t));
	p->series = calloc(b->nser ? b->nser : 1, sizeof(*p->series));
	b->in->shown = calloc(b->nser ? b->nser : 1, sizeof(*b->in->shown));
	if (!b->order || !p->series || !b->in->shown)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nser; i++)
		b->order[i] = i;
	qsort_r(b->order, b->nser, sizeof(size_t), cmp_series, b);
	/* rows point at the sorted positions from here on */
	size_t *pos = malloc((b->nser ? b->nser : 1) * sizeof(size_t));
	if (!pos)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nser; i++)
		pos[b->order[i]] = i;
	for (size_t i = 0; i < b->r.nrows; i++)
		b->r.rows[i].series = (uint32_t)pos[b->r.rows[i].series];
	free(pos);
	enum pb_status st;
	for (size_t i = 0; i < b->nser; i++) {
		const struct ser *s = &b->ser[b->order[i]];
		struct pb_profile_series *ps = &p->series[i];
		p->nseries = i + 1;
		if ((st = series_text(b, i, s, err)))
			return st;
		ps->n = b->ndays;
		ps->first_day = b->d0;
		ps->points = malloc(b->ndays * sizeof(*ps->points));
		ps->cost = malloc(b->ndays * sizeof(double));
		if (!ps->points || !ps->cost)
			return pb__err(err, PB_ENOMEM, "out of memory");
		for (size_t d = 0; d < b->ndays; d++) {
			ps->points[d].t = (b->d0 + (int64_t)d) * 86400;
			ps->points[d].v = pb__dec_to_double(s->qty[d]);
			ps->cost[d] = pb__dec_to_double(s->cost[d]);
		}
		dec_text(s->tq, ps->quantity);
		dec_text(s->tc, ps->total_cost);
	}
	return PB_OK;
}

static const struct ser *sorted_ser(const struct build *b, size_t i)
{
	return &b->ser[b->order[i]];
}

static enum pb_status push_line(struct build *b, size_t *cap, struct pb_error *err)
{
	struct pb_profile *p = b->p;
	if (p->nlines == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		struct pb_profile_line *v = realloc(p->lines, nc * sizeof(*v));
		size_t *bk = realloc(b->line_bucket, nc * sizeof(*bk));
		if (v)
			p->lines = v;
		if (bk)
			b->line_bucket = bk;
		if (!v || !bk)
			return pb__err(err, PB_ENOMEM, "out of memory");
		*cap = nc;
	}
	memset(&p->lines[p->nlines], 0, sizeof(p->lines[0]));
	p->nlines++;
	return PB_OK;
}

static pb_dec currency_total(const struct pb_profile *p, const char *currency)
{
	for (size_t i = 0; i < p->ntotals; i++)
		if (!p->totals[i].unit && strcmp(p->totals[i].currency, currency) == 0) {
			pb_dec v = 0;
			pb__dec_parse(p->totals[i].cost, strlen(p->totals[i].cost), &v, NULL);
			return v;
		}
	return 0;
}

static enum pb_status make_totals(struct build *b, struct pb_error *err)
{
	struct pb_profile *p = b->p;
	/* at most one per currency plus one per (unit, currency) */
	struct acc {
		const char *unit, *currency;
		pb_dec q, c;
		uint64_t rows;
	} *acc = calloc(2 * b->nser + 1, sizeof(*acc));
	if (!acc)
		return pb__err(err, PB_ENOMEM, "out of memory");
	size_t n = 0;
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < p->nseries && !st; i++) {
		const struct ser *s = sorted_ser(b, i);
		const struct pb_profile_series *ps = &p->series[i];
		for (int pass = 0; pass < 2 && !st; pass++) {
			/* pass 0: the currency's total (unit NULL); pass 1: the unit's */
			const char *unit = pass ? ps->unit : NULL;
			size_t k = 0;
			while (k < n && !((unit ? acc[k].unit && strcmp(acc[k].unit, unit) == 0
			                        : !acc[k].unit) &&
			                  strcmp(acc[k].currency, ps->currency) == 0))
				k++;
			if (k == n) {
				acc[n].unit = unit;
				acc[n].currency = ps->currency;
				n++;
			}
			if (!pb__dec_add(&acc[k].q, s->tq) || !pb__dec_add(&acc[k].c, s->tc))
				st = sum_err(err);
			acc[k].rows += s->rows;
		}
	}
	if (!st) {
		p->totals = calloc(n ? n : 1, sizeof(*p->totals));
		if (!p->totals)
			st = pb__err(err, PB_ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < n && !st; k++) {
		struct pb_profile_total *t = &p->totals[p->ntotals++];
		t->unit = acc[k].unit;
		t->currency = acc[k].currency;
		if (acc[k].unit)
			dec_text(acc[k].q, t->quantity);
		dec_text(acc[k].c, t->cost);
		t->rows = acc[k].rows;
	}
	free(acc);
	return st;
}

/* Lines: one per series, or per series and month/day with usage. */
static enum pb_status make_lines(struct build *b, struct pb_error *err)
{
	struct pb_profile *p = b->p;
	size_t cap = 0;
	enum pb_status st;
	bool line_months = b->time_dim == PB_PROFILE_MONTH;
	/* the periods growth compares when no time dimension is asked */
	bool months = b->time_dim == PB_PROFILE_MONTH ||
	              (b->time_dim < 0 && b->d1 - b->d0 + 1 > MONTH_BUCKETS_AFTER);
	const char *sub_name_of = NULL;
	int sub_k = -1;
	for (size_t k = 0; k < p->nby; k++)
		if (p->by[k] == PB_PROFILE_SUBACCOUNT)
			sub_k = (int)k;
	for (size_t i = 0; i < p->nseries; i++) {
		const struct ser *s = sorted_ser(b, i);
		const struct pb_profile_series *ps = &p->series[i];
		sub_name_of = "";
		if (sub_k >= 0 && (st = sub_name(b->ws, b->in, b->qname, ps->dims[sub_k], &sub_name_of,
		                                 err)))
			return st;
		int64_t first = months ? month_of_day(b->d0) : b->d0;
		int64_t last = months ? month_of_day(b->d1) : b->d1;
		/* the series' first period with usage */
		int64_t first_used = INT64_MAX;
		for (size_t d = 0; d < b->ndays && first_used == INT64_MAX; d++)
			if (s->nrows[d])
				first_used = months ? month_of_day(b->d0 + (int64_t)d) : b->d0 + (int64_t)d;
		int64_t fa, fe;
		bucket_range(first_used, months, &fa, &fe);
		double first_rate = rate(s, b, fa, fe);
		if (b->time_dim < 0) {
			if ((st = push_line(b, &cap, err)))
				return st;
			struct pb_profile_line *l = &p->lines[p->nlines - 1];
			b->line_bucket[p->nlines - 1] = 0;
			l->series = i;
			dec_text(s->tq, l->quantity);
			dec_text(s->tc, l->cost);
			l->rows = s->rows;
			int64_t la, le, pa, pe;
			bucket_range(last, months, &la, &le);
			bucket_range(last - 1, months, &pa, &pe);
			double r_last = rate(s, b, la, le);
			l->growth_prev = last > first ? growth(r_last, rate(s, b, pa, pe)) : NAN;
			l->growth_window = last > first_used ? growth(r_last, first_rate) : NAN;
			period_text(first_used, months, l->first_period);
		} else {
			for (int64_t bk = first; bk <= last; bk++) {
				int64_t a, e;
				bucket_range(bk, line_months, &a, &e);
				if (a < b->d0)
					a = b->d0;
				if (e > b->d1)
					e = b->d1;
				pb_dec q = 0, c = 0;
				uint64_t rows = 0;
				for (int64_t d = a; d <= e; d++) {
					size_t k = (size_t)(d - b->d0);
					pb__dec_add(&q, s->qty[k]); /* cannot overflow: the total did not */
					pb__dec_add(&c, s->cost[k]);
					rows += s->nrows[k];
				}
				if (!rows)
					continue;
				if ((st = push_line(b, &cap, err)))
					return st;
				struct pb_profile_line *l = &p->lines[p->nlines - 1];
				b->line_bucket[p->nlines - 1] = (size_t)(bk - first);
				l->series = i;
				dec_text(q, l->quantity);
				dec_text(c, l->cost);
				l->rows = rows;
				int64_t pa, pe;
				bucket_range(bk - 1, line_months, &pa, &pe);
				double r = rate(s, b, a, e);
				l->growth_prev = bk > first ? growth(r, rate(s, b, pa, pe)) : NAN;
				l->growth_window = bk > first_used ? growth(r, first_rate) : NAN;
				period_text(first_used, line_months, l->first_period);
			}
		}
	}
	/* dims, names and shares of spend */
	for (size_t li = 0; li < p->nlines; li++) {
		struct pb_profile_line *l = &p->lines[li];
		const struct pb_profile_series *ps = &p->series[l->series];
		for (size_t k = 0; k < p->nby; k++)
			l->dims[k] = ps->dims[k];
		l->unit = ps->unit;
		l->currency = ps->currency;
		l->subaccount_name = "";
		if (sub_k >= 0 && (st = sub_name(b->ws, b->in, b->qname, ps->dims[sub_k],
		                                 &l->subaccount_name, err)))
			return st;
		if (b->time_dim >= 0) {
			int64_t first = line_months ? month_of_day(b->d0) : b->d0;
			char *t = malloc(11);
			if (!t || (st = keep_string(b->in, t, err)))
				return t ? st : pb__err(err, PB_ENOMEM, "out of memory");
			period_text(first + (int64_t)b->line_bucket[li], line_months, t);
			for (size_t k = 0; k < p->nby; k++)
				if (p->by[k] == PB_PROFILE_MONTH || p->by[k] == PB_PROFILE_DAY)
					l->dims[k] = t;
		}
		pb_dec c = 0;
		pb__dec_parse(l->cost, strlen(l->cost), &c, NULL);
		l->share_of_spend = ratio(c, currency_total(p, l->currency));
	}
	return PB_OK;
}

/* ---- everyone's usage of the same kind ---------------------------------- */

#define PKEY (NCOL + 1)

/* The kind of usage OF ALL compares like with like: the same service,
 * capability and region, whether or not they are grouped (docs/profile.md). A
 * line whose series mixes several values of one of them has no share. */
static bool kind_col(int c)
{
	return c == C_SERVICE || c == C_CAPABILITY || c == C_REGION;
}

/* Columns a peer must match: the grouped ones and the kind, never the
 * customer's own accounts. */
static bool peer_col(const struct build *b, int c)
{
	return (b->grouped[c] || kind_col(c)) && c != C_ACCOUNT && c != C_SUB;
}

static void peer_key(const struct build *b, const int64_t *id, int64_t day, int64_t *key)
{
	for (int c = 0; c < NCOL; c++)
		key[c] = peer_col(b, c) ? id[c] : 0;
	key[NCOL] = b->time_dim == PB_PROFILE_MONTH ? month_of_day(day)
	            : b->time_dim == PB_PROFILE_DAY ? day
	                                            : 0;
}

/* The peers of a profile's lines in the making: what peers' steps share. */
struct peerscan {
	struct build *b;
	struct pb_hmap map;   /* peer key -> index + 1 */
	struct peer *pv;      /* the peers */
	size_t npeers;
	size_t *line_peer;    /* per line: its peer, SIZE_MAX for none */
	int64_t *skey;        /* nser x NCOL: each series' values of the peer columns */
	bool *mixed;          /* per series: several values of a kind column */
	uint64_t *bits;       /* NCOL x words: the dim ids of each column some series has */
	size_t words;
	int64_t maxid;
	int cols[NCOL], ncols; /* the columns read, in the order of the query */
	char sql[512];
};

/* Each series' values of the peer columns (by sorted position, as rows and
 * lines point at them): its key, and the single value of each kind column
 * it is not grouped by (mixed: several). */
static void series_keys(struct peerscan *ps)
{
	struct build *b = ps->b;
	int64_t *skey = ps->skey;
	for (size_t i = 0; i < b->nser; i++)
		for (int c = 0; c < NCOL; c++)
			skey[i * NCOL + c] = peer_col(b, c) && b->grouped[c] ? sorted_ser(b, i)->key[c] : -1;
	for (size_t i = 0; i < b->r.nrows; i++) {
		const struct row *w = &b->r.rows[i];
		int64_t *k = &skey[(size_t)w->series * NCOL];
		for (int c = 0; c < NCOL; c++) {
			if (!peer_col(b, c) || b->grouped[c])
				continue;
			if (k[c] < 0)
				k[c] = w->id[c];
			else if (k[c] != w->id[c])
				ps->mixed[w->series] = true;
		}
	}
}

/* Each line's peer: lines of the same peer key (series key and time bucket)
 * share one. */
static enum pb_status line_peers(struct peerscan *ps, struct pb_error *err)
{
	struct build *b = ps->b;
	struct pb_profile *p = b->p;
	bool line_months = b->time_dim == PB_PROFILE_MONTH;
	for (size_t li = 0; li < p->nlines; li++) {
		size_t si = p->lines[li].series;
		if (ps->mixed[si]) {
			ps->line_peer[li] = SIZE_MAX;
			continue;
		}
		int64_t key[PKEY], day = b->d0;
		if (b->time_dim >= 0) {
			int64_t first = line_months ? month_of_day(b->d0) : b->d0;
			int64_t bk = first + (int64_t)b->line_bucket[li];
			day = line_months ? month_first_day(bk) : bk;
		}
		peer_key(b, &ps->skey[si * NCOL], day, key);
		void *v = pb__hmap_get(&ps->map, (const char *)key, sizeof(key));
		if (!v) {
			v = (void *)(uintptr_t)(++ps->npeers);
			if (pb__hmap_put(&ps->map, (const char *)key, sizeof(key), v, NULL) == PB_ENOMEM)
				return pb__err(err, PB_ENOMEM, "out of memory");
		}
		ps->line_peer[li] = (size_t)(uintptr_t)v - 1;
	}
	return PB_OK;
}

/* Only the columns that matter, and a cheap test before the hash: a row
 * whose value of some grouped column the customer never has cannot match
 * (bitmaps over dim ids). */
static enum pb_status peer_filter(struct peerscan *ps, struct pb_error *err)
{
	static const char *const col_sql[NCOL] = {
		"account", "subaccount", "category", "subcategory", "service", "sku_meter",
		"capability", "region", "country", "unit", "currency",
	};
	struct build *b = ps->b;
	pb__snprintf(ps->sql, sizeof(ps->sql), "SELECT day, quantity");
	for (int c = 0; c < NCOL; c++)
		if (peer_col(b, c) || c == C_ACCOUNT || c == C_SUB) {
			ps->cols[ps->ncols++] = c;
			size_t l = strlen(ps->sql);
			pb__snprintf(ps->sql + l, sizeof(ps->sql) - l, ", %s", col_sql[c]);
		}
	size_t l = strlen(ps->sql);
	pb__snprintf(ps->sql + l, sizeof(ps->sql) - l, " FROM usage_day WHERE day BETWEEN ?1 AND ?2");
	for (size_t i = 0; i < b->nser * NCOL; i++)
		if (ps->skey[i] > ps->maxid)
			ps->maxid = ps->skey[i];
	size_t words = ps->words = (size_t)ps->maxid / 64 + 1;
	uint64_t *bits = ps->bits = calloc(words * NCOL, sizeof(uint64_t));
	if (!bits)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < b->nser; i++)
		for (int c = 0; c < NCOL && !ps->mixed[i]; c++) {
			int64_t id = ps->skey[i * NCOL + c];
			if (id >= 0)
				bits[(size_t)c * words + (size_t)id / 64] |= (uint64_t)1 << (id % 64);
		}
	return PB_OK;
}

/* Whether the account or sub-account (dim ids) is the customer's, for a
 * customer with very many accounts: asks the database. */
static enum pb_status own_in_db(struct build *b, int64_t account, int64_t sub, bool *own,
                                struct pb_error *err)
{
	sqlite3_stmt *o;
	enum pb_status st = pb__db_prepare(b->ws->db,
	                                   "SELECT 1 FROM customer_account ca JOIN dim d ON d.value = "
	                                   "ca.account_id WHERE ca.customer_id = (SELECT id FROM "
	                                   "customer WHERE name = ?1) AND d.id IN (?2, ?3)",
	                                   &o, err);
	if (st)
		return st;
	sqlite3_bind_text(o, 1, b->p->customer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(o, 2, account);
	sqlite3_bind_int64(o, 3, sub);
	*own = sqlite3_step(o) == SQLITE_ROW;
	sqlite3_finalize(o);
	return PB_OK;
}

/* Row q of usage_day into the peer it belongs to, if any. */
static enum pb_status peer_row(struct peerscan *ps, sqlite3_stmt *q, struct pb_error *err)
{
	struct build *b = ps->b;
	int64_t id[NCOL] = { 0 }, key[PKEY];
	bool may = true;
	for (int k = 0; k < ps->ncols && may; k++) {
		int c = ps->cols[k];
		int64_t v = sqlite3_column_int64(q, 2 + k);
		id[c] = v;
		if (peer_col(b, c))
			may = v >= 0 && v <= ps->maxid &&
			      (ps->bits[(size_t)c * ps->words + (size_t)v / 64] >> (v % 64) & 1);
	}
	if (!may)
		return PB_OK;
	peer_key(b, id, sqlite3_column_int64(q, 0), key);
	void *v = pb__hmap_get(&ps->map, (const char *)key, sizeof(key));
	if (!v)
		return PB_OK;
	struct peer *pe = &ps->pv[(size_t)(uintptr_t)v - 1];
	pb_dec qty;
	if (!col_dec(q, 1, &qty))
		return pb__err(err, PB_EDB, "a stored quantity is not a decimal number");
	if (!pb__dec_add(&pe->qty, qty))
		return sum_err(err);
	if (pe->others)
		return PB_OK;
	bool own = in_ids(b->r.bill, b->r.nbill, id[C_ACCOUNT]) ||
	           in_ids(b->r.subs, b->r.nsubs, id[C_SUB]);
	if (!own && (b->r.bill_more || b->r.subs_more)) {
		enum pb_status st = own_in_db(b, id[C_ACCOUNT], id[C_SUB], &own, err);
		if (st)
			return st;
	}
	if (!own)
		pe->others = true;
	return PB_OK;
}

/* Each line's figures against its peer: everyone's quantity and its share. */
static void peer_shares(struct peerscan *ps)
{
	struct pb_profile *p = ps->b->p;
	for (size_t li = 0; li < p->nlines; li++) {
		struct pb_profile_line *l = &p->lines[li];
		if (ps->line_peer[li] == SIZE_MAX) { /* several kinds: no share */
			l->all_quantity[0] = '\0';
			l->others = false;
			l->share_of_all = NAN;
			continue;
		}
		const struct peer *pe = &ps->pv[ps->line_peer[li]];
		dec_text(pe->qty, l->all_quantity);
		l->others = pe->others;
		pb_dec own = 0;
		pb__dec_parse(l->quantity, strlen(l->quantity), &own, NULL);
		l->share_of_all = pe->others ? ratio(own, pe->qty) : NAN;
	}
}

static enum pb_status peers(struct build *b, struct pb_error *err)
{
	struct pb_profile *p = b->p;
	if (!p->nlines)
		return PB_OK;
	struct peerscan ps = { .b = b };
	pb__hmap_init(&ps.map);
	enum pb_status st = PB_OK;
	sqlite3_stmt *q = NULL;
	ps.pv = calloc(p->nlines, sizeof(*ps.pv));
	ps.line_peer = malloc(p->nlines * sizeof(size_t));
	ps.skey = malloc((b->nser ? b->nser : 1) * sizeof(int64_t) * NCOL);
	ps.mixed = calloc(b->nser ? b->nser : 1, sizeof(bool));
	if (!ps.pv || !ps.line_peer || !ps.skey || !ps.mixed) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	series_keys(&ps);
	if ((st = line_peers(&ps, err)) || (st = peer_filter(&ps, err)) ||
	    (st = pb__db_prepare(b->ws->db, ps.sql, &q, err)))
		goto out;
	sqlite3_bind_int64(q, 1, b->d0);
	sqlite3_bind_int64(q, 2, b->d1);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if ((st = peer_row(&ps, q, err)))
			goto out;
	if (rc != SQLITE_DONE) {
		st = pb__db_err(b->ws->db, err, "cannot read the workspace's usage");
		goto out;
	}
	peer_shares(&ps);
out:
	sqlite3_finalize(q);
	pb__hmap_release(&ps.map);
	free(ps.pv);
	free(ps.line_peer);
	free(ps.bits);
	free(ps.skey);
	free(ps.mixed);
	return st;
}

/* ---- changes and their drivers --------------------------------------------- */

/* Explains change pc of a series along each driver dimension. rows_of lists
 * the row indices of the series. */
static enum pb_status explain(struct build *b, const size_t *rows_of, size_t nrows,
                              struct pb_profile_change *pc, struct pb_error *err)
{
	enum pb_status st = PB_OK;
	size_t n = b->ndays;
	int best = -1;
	double best_share = -INFINITY;
	for (int dd = 0; dd < PB_DRIVER_COUNT && !st; dd++) {
		int c = driver_col[dd];
		struct pb_profile_driver *dr = &pc->drivers[dd];
		dr->value = dr->name = "";
		dr->share = dr->delta = NAN;
		/* distinct values of the column in the series */
		int64_t *ids = NULL;
		size_t nid = 0, capid = 0;
		for (size_t k = 0; k < nrows; k++) {
			int64_t id = b->r.rows[rows_of[k]].id[c];
			if (in_ids(ids, nid, id))
				continue;
			if (nid == capid) {
				capid = capid ? 2 * capid : 8;
				int64_t *v = realloc(ids, capid * sizeof(*v));
				if (!v) {
					free(ids);
					return pb__err(err, PB_ENOMEM, "out of memory");
				}
				ids = v;
			}
			ids[nid++] = id;
			if (nid * n > PB_PROFILE_MAX_CELLS)
				break;
		}
		dr->ncomponents = nid;
		if (nid == 0 || nid * n > PB_PROFILE_MAX_CELLS) {
			free(ids); /* too many to explain: left unexplained */
			continue;
		}
		double *vals = calloc(nid * n, sizeof(double));
		struct pb_detect_component *comps = calloc(nid, sizeof(*comps));
		struct pb_driver *out = calloc(nid, sizeof(*out));
		if (!vals || !comps || !out) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto next;
		}
		for (size_t k = 0; k < nrows; k++) {
			const struct row *w = &b->r.rows[rows_of[k]];
			size_t j = 0;
			while (ids[j] != w->id[c])
				j++;
			vals[j * n + (size_t)(w->day - b->d0)] += pb__dec_to_double(w->qty);
		}
		for (size_t j = 0; j < nid; j++) {
			comps[j].name = "";
			comps[j].values = vals + j * n;
		}
		if ((st = pb_detect_drivers(&pc->change, comps, nid, n, out, err)))
			goto next;
		if ((st = dim_text(b->ws, b->in, b->qdim, ids[out[0].component], &dr->value, err)))
			goto next;
		if (dd == PB_DRIVER_SUBACCOUNT &&
		    (st = sub_name(b->ws, b->in, b->qname, dr->value, &dr->name, err)))
			goto next;
		dr->share = out[0].share;
		dr->delta = out[0].delta;
		if (nid >= 2 && isfinite(dr->share) && dr->share > best_share + 1e-9) {
			best = dd;
			best_share = dr->share;
		}
	next:
		free(vals);
		free(comps);
		free(out);
		free(ids);
	}
	pc->driver = best >= 0 ? (enum pb_profile_driver_dim)best : PB_DRIVER_SUBACCOUNT;
	return st;
}

static int cmp_change(const void *x, const void *y)
{
	const struct pb_profile_change *a = x, *b = y;
	double ea = fabs(a->excess_cost), eb = fabs(b->excess_cost);
	if (ea != eb)
		return ea > eb ? -1 : 1;
	if (a->series != b->series)
		return a->series < b->series ? -1 : 1;
	return (a->change.start > b->change.start) - (a->change.start < b->change.start);
}

/* Days a series must stay back on the expected side before a change is over:
 * a week, so the weekly dip of billing data does not end it. */
#define CHANGE_BACK_DAYS 7
/* ACTUAL/DAY is the level a change reached: the mean of its last days. */
#define CHANGE_LEVEL_DAYS 7

/* The change as a profile reports it (docs/profile.md, "Sudden changes"). The
 * detector ends a change once its baseline has absorbed the new level, and
 * measures it when it fires; a review wants it against the level before it.
 * So the expected value stays the detector's pre-change baseline, and the
 * change lasts as long as the series stays beyond the halfway line between
 * that and the level at detection (the detector's own start and end test),
 * until it has been back for CHANGE_BACK_DAYS days or the series' next change
 * starts (limit). actual becomes the level reached: the mean of the change's
 * last CHANGE_LEVEL_DAYS days; delta, pct and event_mean follow. */
static void measure_change(const struct pb_profile_series *ps, struct pb_change *c, size_t limit)
{
	size_t n = limit < ps->n ? limit : ps->n;
	size_t e = c->end < n ? c->end : (n ? n - 1 : 0);
	if (e < c->start)
		e = c->start;
	double half = c->expected + c->delta / 2;
	size_t back = 0;
	for (size_t d = e + 1; d < n && back < CHANGE_BACK_DAYS; d++) {
		double v = ps->points[d].v;
		if (c->direction > 0 ? v > half : v < half) {
			e = d;
			back = 0;
		} else {
			back++;
		}
	}
	c->end = e;
	c->t_end = ps->points[e].t;
	double sum = 0, tail = 0;
	for (size_t d = c->start; d <= e; d++)
		sum += ps->points[d].v;
	size_t from = e + 1 - c->start > CHANGE_LEVEL_DAYS ? e + 1 - CHANGE_LEVEL_DAYS : c->start;
	for (size_t d = from; d <= e; d++)
		tail += ps->points[d].v;
	c->event_mean = sum / (double)(e + 1 - c->start);
	c->actual = tail / (double)(e + 1 - from);
	c->delta = c->actual - c->expected;
	c->pct = c->expected != 0 ? 100 * c->delta / fabs(c->expected)
	                          : (c->delta < 0 ? -INFINITY : INFINITY);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* A regime change as a profile's change: it starts (and is detected) on the
 * first day of the new regime; expected is the median of the last base_days
 * days of the regime before (base_from, base_to), actual the level after
 * (the first day for a spike), delta and pct follow; measure_change then
 * measures it to its end. tmp holds base_days doubles. */
static void regime_change(const struct pb_profile_series *ps, const struct pb_regime_change *rg,
                          size_t k, uint32_t base_days, double *tmp, struct pb_change *c)
{
	const struct pb_regime_change *x = &rg[k];
	size_t prev = k ? rg[k - 1].at : 0;
	memset(c, 0, sizeof(*c));
	c->start = c->detected = c->end = x->at;
	c->t_start = c->t_detected = c->t_end = ps->points[x->at].t;
	c->kind = x->kind;
	c->closed = true;
	c->scale = 1;
	c->base_to = x->at;
	c->base_from = x->at - prev > base_days ? x->at - base_days : prev;
	size_t m = 0;
	for (size_t i = c->base_from; i < c->base_to; i++)
		tmp[m++] = ps->points[i].v;
	qsort(tmp, m, sizeof(*tmp), cmp_double);
	c->expected = m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
	c->actual = x->kind == PB_CHANGE_SPIKE ? ps->points[x->at].v : x->after;
	c->delta = c->actual - c->expected;
	c->direction = c->delta >= 0 ? 1 : -1;
	c->ratio = x->threshold > 0 ? x->gain / x->threshold : INFINITY;
	c->score = isinf(c->ratio) ? 1 : c->ratio / (1 + c->ratio);
}

/* Appends the regime changes of ps's days [from, to) to *out (offset to the
 * series' days). The regimes are searched on the logarithm of the quantity
 * (plus 1e-3 of its mean, so that a day without usage is a deep dip, not
 * minus infinity): billing quantities grow by a share a month and vary by a
 * share of their level, so on the log scale compound growth is a line and
 * the noise is the same at 1,000 and at 100,000 units a day; and with the
 * weekly pattern taken out (pb__deseason), so that a weekend dip is
 * neither a change nor noise that hides one. Levels come back on the
 * quantity scale (weekday-adjusted). A span with a negative quantity (a
 * credit) is searched as it is. */
static enum pb_status span_regimes(const struct pb_detect_config *cfg,
                                   const struct pb_profile_series *ps, size_t from, size_t to,
                                   struct pb_regime_change **out, size_t *nout, size_t *cap,
                                   struct pb_error *err)
{
	struct pb_regime_change *rg = NULL;
	size_t nr = 0, m = to - from;
	const struct pb_point *pts = ps->points + from;
	double mean = 0, eps = 0;
	bool logs = true;
	for (size_t i = 0; i < m; i++) {
		mean += pts[i].v;
		logs &= pts[i].v >= 0;
	}
	mean /= m ? (double)m : 1;
	logs &= mean > 0 && isfinite(mean);
	struct pb_point *lg = logs ? malloc(m * sizeof(*lg)) : NULL;
	double *lv = lg ? malloc(3 * m * sizeof(*lv)) : NULL;
	if (logs && (!lg || !lv)) {
		free(lg);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	if (lg) {
		eps = 1e-3 * mean;
		for (size_t i = 0; i < m; i++)
			lv[i] = log(pts[i].v + eps);
		pb__deseason(lv, m, 7, NULL, lv + m); /* the weekly pattern */
		for (size_t i = 0; i < m; i++) {
			lg[i].t = pts[i].t;
			lg[i].v = lv[i];
		}
		free(lv);
		pts = lg;
	}
	enum pb_status st = pb_detect_regimes(cfg, pts, m, &rg, &nr, err);
	for (size_t k = 0; lg && k < nr; k++) {
		rg[k].before = exp(rg[k].before) - eps;
		rg[k].after = exp(rg[k].after) - eps;
	}
	free(lg);
	if (st)
		return st;
	if (*nout + nr > *cap) {
		size_t nc = 2 * (*nout + nr) + 8;
		struct pb_regime_change *v = realloc(*out, nc * sizeof(*v));
		if (!v) {
			free(rg);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		*out = v;
		*cap = nc;
	}
	for (size_t k = 0; k < nr; k++) {
		struct pb_regime_change *c = &(*out)[(*nout)++];
		*c = rg[k];
		c->at += from;
		c->from += from;
		c->to += from;
	}
	free(rg);
	return PB_OK;
}

static int cmp_regime_at(const void *x, const void *y)
{
	const struct pb_regime_change *a = x, *b = y;
	return (a->at > b->at) - (a->at < b->at);
}

/* The regime changes of a daily series, as a profile reads them. A line that
 * starts in the period (no usage before its first day with usage: a billing
 * export lists what was used) has a change on that day, a start from zero;
 * the regimes segment the days from there on, on the log scale
 * (span_regimes). *ch is a new array (free()), in day order. */
static enum pb_status series_regimes(const struct pb_detect_config *cfg,
                                     const struct pb_profile_series *ps,
                                     struct pb_regime_change **ch, size_t *nch,
                                     struct pb_error *err)
{
	struct pb_regime_change *out = NULL;
	size_t n = 0, cap = 0, first = 0;
	enum pb_status st;
	*ch = NULL;
	*nch = 0;
	while (first < ps->n && ps->points[first].v == 0)
		first++;
	if (first == ps->n)
		return PB_OK;
	if ((st = span_regimes(cfg, ps, first, ps->n, &out, &n, &cap, err)))
		goto fail;
	if (first > 0) {
		struct pb_regime_change z;
		memset(&z, 0, sizeof(z));
		z.at = first;
		z.t = ps->points[first].t;
		z.kind = PB_CHANGE_SHIFT;
		z.after = ps->points[first].v;
		z.gain = z.threshold = NAN; /* a fact, not a test */
		z.to = ps->n;
		struct pb_regime_change *v = realloc(out, (n + 1) * sizeof(*v));
		if (!v) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto fail;
		}
		out = v;
		out[n++] = z;
	}
	if (n)
		qsort(out, n, sizeof(*out), cmp_regime_at);
	*ch = out;
	*nch = n;
	return PB_OK;
fail:
	free(out);
	return st;
}

static enum pb_status detect(struct build *b, struct pb_error *err)
{
	struct pb_profile *p = b->p;
	const struct pb_profile_options *o = b->o;
	if (!o->detect || b->ndays < 2 || !p->nseries)
		return PB_OK;
	struct pb_detect_config cfg;
	if (o->detect_cfg)
		cfg = *o->detect_cfg;
	else
		pb_profile_detect_config(&cfg);
	if (o->min_pct > cfg.min_pct)
		cfg.min_pct = o->min_pct;
	enum pb_status st = pb_detect_config_check(&cfg, err);
	if (st)
		return st;
	const uint32_t base_days = o->base_days ? o->base_days : 28;
	/* row indices grouped by series (a counting sort) */
	size_t *start = calloc(p->nseries + 1, sizeof(size_t));
	size_t *idx = malloc((b->r.nrows ? b->r.nrows : 1) * sizeof(size_t));
	double *base = malloc(base_days * sizeof(double));
	size_t cap = 0;
	if (!start || !idx || !base) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < b->r.nrows; i++)
		start[b->r.rows[i].series + 1]++;
	for (size_t s = 0; s < p->nseries; s++)
		start[s + 1] += start[s];
	{
		size_t *fill = calloc(p->nseries, sizeof(size_t));
		if (!fill) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < b->r.nrows; i++) {
			uint32_t s = b->r.rows[i].series;
			idx[start[s] + fill[s]++] = i;
		}
		free(fill);
	}
	for (size_t s = 0; s < p->nseries && !st; s++) {
		const struct pb_profile_series *ps = &p->series[s];
		struct pb_regime_change *ch = NULL;
		size_t nch = 0;
		if ((st = series_regimes(&cfg, ps, &ch, &nch, err)))
			break;
		for (size_t k = 0, next = 0; k < nch && !st; k = next) {
			struct pb_profile_change pc;
			memset(&pc, 0, sizeof(pc));
			pc.series = s;
			pc.statistic = ch[k].gain;
			pc.threshold = ch[k].threshold;
			regime_change(ps, ch, k, base_days, base, &pc.change);
			/* A later regime change in the same direction while the series
			 * is still away (a ramp that steepens: the tail of an S-curve)
			 * is part of this change; one the other way ends it, unless it
			 * is a spike (the series came back: a dip in a ramp). */
			size_t limit = k + 1;
			while (limit < nch &&
			       ((ch[limit].after >= ch[limit].before) == (pc.change.direction > 0) ||
			        ch[limit].kind == PB_CHANGE_SPIKE))
				limit++;
			measure_change(ps, &pc.change, limit < nch ? ch[limit].at : ps->n);
			/* A change from a level whose level reached is more than twice
			 * its first week's step is growth, not a step: a trend (the
			 * demo's storage, +50 % on its first day, +7,300 % at the end).
			 * A start from zero stays a start. */
			if (pc.change.kind == PB_CHANGE_SHIFT && pc.change.expected != 0 &&
			    fabs(pc.change.delta) > 2 * fabs(ch[k].after - pc.change.expected))
				pc.change.kind = PB_CHANGE_TREND;
			for (next = k + 1; next < nch && ch[next].at <= pc.change.end;)
				next++;
			const struct pb_change *h = &pc.change;
			/* the alert floors, on the level reached (a start from 0 passes) */
			if (fabs(h->delta) < cfg.min_impact ||
			    (isfinite(h->pct) && fabs(h->pct) < cfg.min_pct))
				continue;
			size_t a = h->start, e = h->end;
			double q = 0, c = 0, ex = 0;
			for (size_t d = a; d <= e; d++) {
				q += ps->points[d].v;
				c += ps->cost[d];
				ex += ps->points[d].v - h->expected;
			}
			if (!(q > 0)) { /* a drop to nothing: the price before it */
				q = c = 0;
				for (size_t d = h->base_from; d < h->base_to && d < ps->n; d++) {
					q += ps->points[d].v;
					c += ps->cost[d];
				}
			}
			pc.price = q > 0 ? c / q : 0;
			pc.cost_delta = h->delta * pc.price;
			pc.excess = ex;
			pc.excess_cost = ex * pc.price;
			if (fabs(pc.cost_delta) < o->min_cost_per_day)
				continue;
			pb_day_format(b->d0 + (int64_t)a, pc.start);
			pb_day_format(b->d0 + (int64_t)h->detected, pc.detected);
			pb_day_format(b->d0 + (int64_t)e, pc.end);
			pc.ongoing = e + 1 >= ps->n;
			if ((st = explain(b, idx + start[s], start[s + 1] - start[s], &pc, err)))
				break;
			if (p->nchanges == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct pb_profile_change *v = realloc(p->changes, nc * sizeof(*v));
				if (!v) {
					st = pb__err(err, PB_ENOMEM, "out of memory");
					break;
				}
				p->changes = v;
				cap = nc;
			}
			p->changes[p->nchanges++] = pc;
		}
		free(ch);
	}
	if (!st && p->nchanges)
		qsort(p->changes, p->nchanges, sizeof(*p->changes), cmp_change);
out:
	free(start);
	free(idx);
	free(base);
	return st;
}

/* ---- the whole profile --------------------------------------------------- */

static enum pb_status find_customer(struct pb_ws *ws, const char *name, int64_t *cid,
                                    struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db, "SELECT id FROM customer WHERE name = ?1", &q, err);
	if (st)
		return st;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*cid = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return pb__err(err, PB_ENOENT, "no customer '%s'; see 'probity customer list'", name);
	if (rc != SQLITE_ROW)
		return pb__db_err(ws->db, err, "cannot read the customer");
	return PB_OK;
}

/* Keeps only the rows whose unit is `unit` (ASCII case folded). */
static enum pb_status filter_unit(struct build *b, const char *unit, struct pb_error *err)
{
	int64_t keep[64], drop[64];
	size_t nkeep = 0, ndrop = 0, n = 0;
	struct pb_str want = pb_cstr(unit);
	for (size_t i = 0; i < b->r.nrows; i++) {
		int64_t u = b->r.rows[i].id[C_UNIT];
		bool ok = in_ids(keep, nkeep, u);
		if (!ok && !in_ids(drop, ndrop, u)) {
			const char *t;
			enum pb_status st = dim_text(b->ws, b->in, b->qdim, u, &t, err);
			if (st)
				return st;
			ok = pb_str_ieq_cstr(want, t) && t[0];
			if (ok && nkeep < PB_ARRAY_LEN(keep))
				keep[nkeep++] = u;
			else if (!ok && ndrop < PB_ARRAY_LEN(drop))
				drop[ndrop++] = u;
		}
		if (ok)
			b->r.rows[n++] = b->r.rows[i];
	}
	b->r.nrows = n;
	return PB_OK;
}

enum pb_status pb_profile_build(struct pb_ws *ws, const char *name,
                                const struct pb_profile_options *o, struct pb_profile **out,
                                struct pb_error *err)
{
	*out = NULL;
	struct pb_profile_options defaults;
	if (!o) {
		pb_profile_options_init(&defaults);
		o = &defaults;
	}
	if (!name)
		return pb__err(err, PB_EINVAL, "a profile needs a customer");
	if (o->from_day > o->to_day) {
		char a[16], e[16];
		pb_day_format(o->from_day, a);
		pb_day_format(o->to_day, e);
		return pb__err(err, PB_EINVAL, "the period is empty: it starts on %s, after its end %s",
		               a, e);
	}
	if (o->nby == 0 || o->nby > PB_PROFILE_DIM_COUNT)
		return pb__err(err, PB_EINVAL, "a profile groups by 1 to %d dimensions",
		               PB_PROFILE_DIM_COUNT);
	struct build b;
	memset(&b, 0, sizeof(b));
	b.ws = ws;
	b.o = o;
	b.time_dim = -1;
	pb__hmap_init(&b.sermap);
	enum pb_status st = PB_OK;
	struct pb_profile *p = calloc(1, sizeof(*p));
	struct internal *in = calloc(1, sizeof(*in));
	if (p)
		p->internal_ = in;
	if (!p || !in) {
		free(in);
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	pb__hmap_init(&in->text);
	pb__hmap_init(&in->names);
	b.p = p;
	b.in = in;
	pb__strlcpy(p->customer, name, sizeof(p->customer));
	memcpy(p->by, o->by, sizeof(p->by));
	p->nby = o->nby;
	for (size_t k = 0; k < o->nby; k++) {
		if ((unsigned)o->by[k] >= PB_PROFILE_DIM_COUNT) {
			st = pb__err(err, PB_EINVAL, "an unknown profile dimension");
			goto fail;
		}
		int c = dim_col[o->by[k]];
		if (c >= 0)
			b.grouped[c] = true;
		else if (b.time_dim >= 0) {
			st = pb__err(err, PB_EINVAL, "a profile groups by month or day, not both");
			goto fail;
		} else
			b.time_dim = (int)o->by[k];
	}
	b.grouped[C_UNIT] = b.grouped[C_CURRENCY] = true;
	int64_t cid = 0;
	if ((st = find_customer(ws, name, &cid, err)))
		goto fail;
	if ((st = pb__db_prepare(ws->db, "SELECT value FROM dim WHERE id = ?1", &b.qdim, err)) ||
	    (st = pb__db_prepare(ws->db,
	                         "SELECT name FROM account WHERE kind = 'sub' AND account_id = ?1 "
	                         "ORDER BY name IS NULL LIMIT 1",
	                         &b.qname, err)))
		goto fail;
	if ((st = customer_ids(ws, cid, &b.r, err)) || (st = read_rows(ws, cid, o, &b.r, err)) ||
	    (o->unit && (st = filter_unit(&b, o->unit, err))))
		goto fail;
	p->from_day = o->from_day;
	p->to_day = o->to_day;
	p->first_day = 1;
	p->last_day = 0;
	if (b.r.nrows == 0)
		goto done;
	b.d0 = INT64_MAX;
	b.d1 = INT64_MIN;
	for (size_t i = 0; i < b.r.nrows; i++) {
		if (b.r.rows[i].day < b.d0)
			b.d0 = b.r.rows[i].day;
		if (b.r.rows[i].day > b.d1)
			b.d1 = b.r.rows[i].day;
	}
	p->first_day = b.d0;
	p->last_day = b.d1;
	if (p->from_day == PB_PROFILE_DAY_MIN)
		p->from_day = b.d0;
	if (p->to_day == PB_PROFILE_DAY_MAX)
		p->to_day = b.d1;
	b.ndays = (size_t)(b.d1 - b.d0 + 1);
	if (b.ndays > PB_PROFILE_MAX_CELLS) {
		st = pb__err(err, PB_ELIMIT, "the period spans more than %u days", PB_PROFILE_MAX_CELLS);
		goto fail;
	}
	if ((st = group_rows(&b, err)) || (st = make_series(&b, err)) ||
	    (st = make_totals(&b, err)) || (st = make_lines(&b, err)) || (st = peers(&b, err)) ||
	    (st = detect(&b, err)))
		goto fail;
done:
	*out = p;
	p = NULL;
fail:
	sqlite3_finalize(b.qdim);
	sqlite3_finalize(b.qname);
	for (size_t i = 0; i < b.nser; i++) {
		free(b.ser[i].qty);
		free(b.ser[i].cost);
		free(b.ser[i].nrows);
	}
	free(b.ser);
	free(b.order);
	free(b.line_bucket);
	free(b.r.rows);
	pb__hmap_release(&b.sermap);
	pb_profile_free(p);
	return st;
}

/* ---- picking a series, charts ---------------------------------------------- */

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle), h = strlen(hay);
	for (size_t i = 0; i + n <= h; i++) {
		size_t k = 0;
		while (k < n) {
			char a = hay[i + k], c = needle[k];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (a != c)
				break;
			k++;
		}
		if (k == n)
			return true;
	}
	return false;
}

size_t pb_profile_pick_series(const struct pb_profile *p, const char *match)
{
	if (!p || !p->nseries)
		return SIZE_MAX;
	for (size_t i = 0; i < p->nchanges; i++)
		if (!match || contains_ci(p->series[p->changes[i].series].label, match))
			return p->changes[i].series;
	for (size_t i = 0; i < p->nseries; i++)
		if (!match || contains_ci(p->series[i].label, match))
			return i;
	return SIZE_MAX;
}

/* Legend names longer than this do not fit lib/chart.c's legend column at
 * its font size (measured in Chromium: about 7 units a character). */
#define LEGEND_CHARS 21

/* Copies s into out cut to max characters (UTF-8 aware), with an ellipsis. */
static void cut_label(const char *s, size_t max, char *out, size_t cap)
{
	size_t chars = 0, i = 0, n = strlen(s);
	while (i < n && chars < max) {
		size_t len = 1;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0xf0)
			len = 4;
		else if (c >= 0xe0)
			len = 3;
		else if (c >= 0xc0)
			len = 2;
		if (i + len > n)
			break;
		i += len;
		chars++;
	}
	if (i >= n) {
		pb__strlcpy(out, s, cap);
		return;
	}
	/* room for the ellipsis: drop one more character */
	size_t j = i;
	if (j > 0) {
		j--;
		while (j > 0 && ((unsigned char)s[j] & 0xc0) == 0x80)
			j--;
	}
	while (j > 0 && (s[j - 1] == ' ' || s[j - 1] == ','))
		j--;
	pb__snprintf(out, cap, "%.*s\xe2\x80\xa6", (int)j, s);
}

void pb__profile_stacked_release(struct pb__stacked *s)
{
	free(s->times);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

enum pb_status pb__profile_stacked(const struct pb_profile *p, size_t max_series,
                                   struct pb__stacked *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!p->nseries)
		return pb__err(err, PB_EINVAL, "no usage in the period to chart");
	if (max_series == 0)
		max_series = 8;
	if (max_series > 63)
		max_series = 63;
	bool one_unit = true, one_currency = true;
	for (size_t i = 1; i < p->nseries; i++) {
		one_unit = one_unit && strcmp(p->series[i].unit, p->series[0].unit) == 0 &&
		           strcmp(p->series[i].currency, p->series[0].currency) == 0;
		one_currency = one_currency && strcmp(p->series[i].currency, p->series[0].currency) == 0;
	}
	if (!one_unit && !one_currency)
		return pb__err_field(err, PB_EINVAL, "unit",
		                     "the series have different units and currencies; chart one unit");
	size_t ndays = p->series[0].n;
	bool months = ndays > 92;
	int64_t d0 = p->series[0].first_day, d1 = d0 + (int64_t)ndays - 1;
	int64_t b0 = months ? month_of_day(d0) : d0, b1 = months ? month_of_day(d1) : d1;
	size_t nb = (size_t)(b1 - b0 + 1);
	if (nb < 2)
		return pb__err(err, PB_EINVAL, "the period is too short for a chart (one %s)",
		               months ? "month" : "day");
	/* the series to draw on their own: the largest by what is drawn */
	size_t nser = p->nseries;
	size_t shown = nser > max_series ? max_series - 1 : nser;
	bool other = nser > shown;
	enum pb_status st = PB_OK;
	int64_t *times = malloc(nb * sizeof(int64_t));
	double *vals = calloc((shown + 1) * nb, sizeof(double));
	double *tot = calloc(nser, sizeof(double));
	size_t *ord = malloc(nser * sizeof(size_t));
	struct pb_chart_series *cs = out->series;
	char(*names)[PB__STACKED_NAME] = out->names;
	if (!times || !vals || !tot || !ord) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nser; i++) {
		ord[i] = i;
		for (size_t d = 0; d < ndays; d++)
			tot[i] += one_unit ? p->series[i].points[d].v : p->series[i].cost[d];
	}
	for (size_t i = 1; i < nser; i++) /* insertion sort by total, stable */
		for (size_t j = i; j > 0 && tot[ord[j]] > tot[ord[j - 1]]; j--) {
			size_t t = ord[j];
			ord[j] = ord[j - 1];
			ord[j - 1] = t;
		}
	for (size_t k = 0; k < nb; k++)
		times[k] = (months ? month_first_day(b0 + (int64_t)k) : b0 + (int64_t)k) * 86400;
	for (size_t r = 0; r < nser; r++) {
		const struct pb_profile_series *ps = &p->series[ord[r]];
		size_t slot = r < shown ? r : shown;
		for (size_t d = 0; d < ndays; d++) {
			int64_t day = d0 + (int64_t)d;
			size_t k = (size_t)((months ? month_of_day(day) : day) - b0);
			vals[slot * nb + k] += one_unit ? ps->points[d].v : ps->cost[d];
		}
	}
	/* Legends have a narrow column: a dimension whose value is the same for
	 * every series drawn goes to the title instead, and names are cut to what
	 * fits. */
	const struct internal *in = p->internal_;
	bool same[PB_PROFILE_DIM_COUNT] = { false };
	size_t nvary = 0;
	for (size_t k = 0; k < p->nby; k++) {
		if (dim_col[p->by[k]] < 0)
			continue;
		same[k] = true;
		for (size_t r = 1; r < shown && same[k]; r++)
			same[k] = strcmp(in->shown[ord[r]][k], in->shown[ord[0]][k]) == 0;
		nvary += !same[k];
	}
	if (nvary == 0 || shown == 1)
		memset(same, 0, sizeof(same));
	for (size_t r = 0; r < shown; r++) {
		char full[256] = "";
		for (size_t k = 0; k < p->nby; k++) {
			if (dim_col[p->by[k]] < 0 || same[k])
				continue;
			size_t fl = strlen(full);
			const char *v = in->shown[ord[r]][k];
			pb__snprintf(full + fl, sizeof(full) - fl, "%s%s", fl ? ", " : "", v[0] ? v : "-");
		}
		if (!full[0])
			pb__strlcpy(full, p->series[ord[r]].unit, sizeof(full));
		for (size_t r2 = 0; r2 < shown && !one_unit; r2++)
			if (r2 != r && strcmp(p->series[ord[r2]].short_label, p->series[ord[r]].short_label) == 0) {
				size_t fl = strlen(full);
				pb__snprintf(full + fl, sizeof(full) - fl, " (%s)", p->series[ord[r]].unit);
				break;
			}
		cut_label(full, LEGEND_CHARS, names[r], sizeof(names[r]));
	}
	size_t ncs = 0;
	for (size_t r = 0; r < shown; r++) {
		const struct pb_profile_series *ps = &p->series[ord[r]];
		(void)ps;
		cs[ncs].name = names[r];
		cs[ncs].values = vals + r * nb;
		ncs++;
	}
	if (other) {
		cs[ncs].name = "other";
		cs[ncs].values = vals + shown * nb;
		ncs++;
	}
	char title[256], by[128] = "", fixed[160] = "", unit[64];
	for (size_t k = 0; k < p->nby; k++) {
		if (dim_col[p->by[k]] < 0)
			continue;
		char *t = same[k] ? fixed : by;
		size_t cap = same[k] ? sizeof(fixed) : sizeof(by), tl = strlen(t);
		pb__snprintf(t + tl, cap - tl, "%s%s", tl ? ", " : "",
		             same[k] ? in->shown[ord[0]][k] : dim_names[p->by[k]]);
	}
	pb__snprintf(title, sizeof(title), "%s: %s%s%s%s%s%s", p->customer,
	             one_unit ? "consumption" : "billed cost", by[0] ? " by " : "", by,
	             fixed[0] ? " (" : "", fixed, fixed[0] ? ")" : "");
	pb__snprintf(unit, sizeof(unit), "%s, %s total",
	             one_unit ? (p->series[0].unit[0] ? p->series[0].unit : "units")
	                      : p->series[0].currency,
	             months ? "monthly" : "daily");
	pb__strlcpy(out->title, title, sizeof(out->title));
	pb__strlcpy(out->unit, unit, sizeof(out->unit));
	out->y_label = one_unit ? "Consumption" : "Billed cost";
	out->times = times;
	out->n = nb;
	out->vals = vals;
	out->nseries = ncs;
	out->months = months;
	times = NULL;
	vals = NULL;
out:
	free(times);
	free(vals);
	free(tot);
	free(ord);
	return st;
}

enum pb_status pb_profile_chart_stacked(const struct pb_profile *p, size_t max_series,
                                        char **svg, size_t *len, struct pb_error *err)
{
	struct pb__stacked sd;
	*svg = NULL;
	*len = 0;
	enum pb_status st = pb__profile_stacked(p, max_series, &sd, err);
	if (st)
		return st;
	struct pb_chart_options co = { sd.title, sd.y_label, sd.unit, 0, 0 };
	st = pb_chart_stacked(sd.times, sd.n, sd.series, sd.nseries, &co, svg, len, err);
	pb__profile_stacked_release(&sd);
	return st;
}

enum pb_status pb_profile_chart_series(const struct pb_profile *p, size_t series, char **svg,
                                       size_t *len, struct pb_error *err)
{
	*svg = NULL;
	*len = 0;
	if (series >= p->nseries)
		return pb__err(err, PB_EINVAL, "no such series in the profile");
	const struct pb_profile_series *ps = &p->series[series];
	if (ps->n < 2)
		return pb__err(err, PB_EINVAL, "the period is too short for a chart (one day)");
	size_t nch = 0;
	for (size_t i = 0; i < p->nchanges; i++)
		nch += p->changes[i].series == series;
	struct pb_change *ch = calloc(nch ? nch : 1, sizeof(*ch));
	if (!ch)
		return pb__err(err, PB_ENOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < p->nchanges; i++)
		if (p->changes[i].series == series) {
			ch[k] = p->changes[i].change;
			/* the chart draws a closed change's mean; show the level reached,
			 * the ACTUAL/DAY of the table */
			ch[k].event_mean = ch[k].actual;
			k++;
		}
	/* in time order, as the chart draws them */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && ch[j].start < ch[j - 1].start; j--) {
			struct pb_change t = ch[j];
			ch[j] = ch[j - 1];
			ch[j - 1] = t;
		}
	char title[320], unit[64];
	pb__snprintf(title, sizeof(title), "%s: %s", p->customer, ps->short_label);
	pb__snprintf(unit, sizeof(unit), "%s a day", ps->unit[0] ? ps->unit : "units");
	struct pb_chart_options co = { title, "Consumption", unit, 0, 0 };
	char name[LEGEND_CHARS * 4 + 4];
	cut_label(ps->short_label, LEGEND_CHARS, name, sizeof(name));
	enum pb_status st = pb_chart_changes(ps->points, ps->n, name, ch, k, &co, svg, len, err);
	free(ch);
	return st;
}

enum pb_status pb_profile_data_version(struct pb_ws *ws, uint64_t from, uint64_t *size,
                                       int64_t *last, struct pb_error *err)
{
	/* one statement: one read transaction, so size and last agree; the
	 * range on idx (the rowid) reads only the entries since `from` */
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT (SELECT size FROM audit_state WHERE id = 1),"
		"  (SELECT max(idx) FROM audit_entry WHERE idx >= ?1 AND action IN"
		"   ('usage.ingest', 'customer.add', 'customer.remove'))",
		&q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, from > INT64_MAX ? INT64_MAX : (int64_t)from);
	if (sqlite3_step(q) != SQLITE_ROW) {
		st = pb__db_err(ws->db, err, "cannot read the log's size");
	} else {
		*size = (uint64_t)sqlite3_column_int64(q, 0);
		*last = sqlite3_column_type(q, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	return st;
}
