/* mapping.c - the aggregates of an ingest through the catalog (region ->
 * country, service + meter -> capability, unit -> normalised unit) and into
 * dimension ids, merging those that become the same; the accounts they name.
 *
 * When recomputing a source for evidence the ids are local (nothing is
 * written) and the mapped aggregates are handed to the caller instead. */
#include "usage/usage_internal.h"

#include <stdlib.h>

#include "util/banned.h"

void pb__ingest_mapping_init(struct pb_ingest *in)
{
	pb__hmap_init(&in->dc.map);
	pb__hmap_init(&in->finmap);
	pb__hmap_init(&in->acctmap);
	in->dc.virt = in->recompute != NULL;
	in->first_day = INT32_MAX;
	in->last_day = INT32_MIN;
}

void pb__ingest_mapping_release(struct pb_ingest *in)
{
	sqlite3_finalize(in->dc.sel);
	sqlite3_finalize(in->dc.ins);
	pb__hmap_release(&in->dc.map);
	for (size_t i = 0; i < in->dc.nstrs; i++)
		free(in->dc.strs[i]);
	free(in->dc.strs);
	pb__hmap_release(&in->finmap);
	pb__hmap_release(&in->acctmap);
	free(in->fins);
	free(in->accts);
}

/* A string kept by the cache in recompute mode; its id. */
static int64_t dim_id_local(struct pb_dimcache *dc, struct pb_str v)
{
	void *grown = pb__grow(dc->strs, &dc->cap, dc->nstrs, sizeof(*dc->strs));
	if (!grown)
		return -1;
	dc->strs = grown;
	char *copy = pb__strndup(v.ptr, v.len);
	if (!copy)
		return -1;
	dc->strs[dc->nstrs++] = copy;
	return (int64_t)dc->nstrs;
}

/* The id of a string in the dim table, added when missing. */
static int64_t dim_id_stored(struct pb_ws *ws, struct pb_dimcache *dc, struct pb_str v)
{
	int64_t id = -1;
	sqlite3_reset(dc->sel);
	sqlite3_bind_text(dc->sel, 1, v.ptr, (int)v.len, SQLITE_STATIC);
	int rc = sqlite3_step(dc->sel);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(dc->sel, 0);
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(dc->ins);
		sqlite3_bind_text(dc->ins, 1, v.ptr, (int)v.len, SQLITE_STATIC);
		if (sqlite3_step(dc->ins) != SQLITE_DONE)
			return -1;
		id = sqlite3_last_insert_rowid(ws->db);
	}
	sqlite3_reset(dc->sel);
	return id;
}

/* The id of a string (0 for a null view); -1 on error. */
static int64_t dim_id(struct pb_ws *ws, struct pb_dimcache *dc, struct pb_str v)
{
	if (!v.ptr)
		return 0;
	void *hit = pb__hmap_get(&dc->map, v.ptr, v.len);
	if (hit)
		return (int64_t)(intptr_t)hit;
	int64_t id = dc->virt ? dim_id_local(dc, v) : dim_id_stored(ws, dc, v);
	if (id < 0)
		return -1;
	if (pb__hmap_put(&dc->map, v.ptr, v.len, (void *)(intptr_t)id, NULL) == PB_ENOMEM)
		return -1;
	return id;
}

static void note_unknown(struct pb_unknowns *u, enum pb_fwarn w, const struct pb_agg *a,
                         struct pb_str v)
{
	if (u->count[w] == 0 || a->first < u->first[w])
		u->first[w] = a->first;
	u->count[w] += a->rows;
	size_t used = strlen(u->examples[w]);
	if (v.len && used + v.len + 3 < sizeof(u->examples[w])) {
		/* add once */
		char tmp[96];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)v.len, v.ptr);
		if (!strstr(u->examples[w], tmp))
			snprintf(u->examples[w] + used, sizeof(u->examples[w]) - used, "%s%s",
			         used ? ", " : "", tmp);
	}
}

/* The region as the catalog names it, and its country. */
static void map_region(struct pb_ingest *in, const struct pb_agg *a, const struct pb_str k[],
                       struct pb_str *region, struct pb_str *country)
{
	*region = k[K_REGION].ptr ? k[K_REGION] : k[K_REGION_NAME];
	*country = pb_str_of(NULL, 0);
	if (!region->ptr)
		return;
	const struct pb_region *r = pb_catalog_region(in->cat, *region);
	if (!r && k[K_REGION].ptr && k[K_REGION_NAME].ptr)
		r = pb_catalog_region(in->cat, k[K_REGION_NAME]);
	if (r) {
		*region = pb_cstr(r->id);
		if (r->country[0])
			*country = pb_cstr(r->country);
	} else {
		note_unknown(&in->unk, FW_UNKNOWN_REGION, a, *region);
	}
}

/* Category and sub-category, from the row or else the catalog's service;
 * the capability of the service and meter (NULL when unknown). */
static const char *map_service(struct pb_ingest *in, const struct pb_agg *a,
                               const struct pb_str k[], struct pb_str *category,
                               struct pb_str *subcategory)
{
	const struct pb_service *svc = pb_catalog_service(in->cat, k[K_SERVICE]);
	*category = k[K_CATEGORY];
	*subcategory = k[K_SUBCATEGORY];
	if (!svc)
		note_unknown(&in->unk, FW_UNKNOWN_SERVICE, a, k[K_SERVICE]);
	if (!category->ptr && svc) {
		*category = pb_cstr(svc->category);
		if (in->map.kind == PB_FORMAT_FOCUS) /* native exports never have one */
			note_unknown(&in->unk, FW_CATEGORY_FROM_CATALOG, a, k[K_SERVICE]);
	}
	if (!subcategory->ptr && svc && category->ptr && strcmp(svc->category, category->ptr) == 0 &&
	    in->map.col[FC_ServiceSubcategory] < 0)
		*subcategory = pb_cstr(svc->subcategory);
	const char *cap = pb__catalog_capability_row(in->cat, svc, k[K_METER], *category);
	if (svc && !cap && svc->ncapabilities > 1)
		note_unknown(&in->unk, FW_UNKNOWN_CAPABILITY, a, k[K_SERVICE]);
	return cap;
}

/* The normalised unit, and the quantity converted to it in norm. */
static enum pb_status map_unit(struct pb_ingest *in, const struct pb_agg *a,
                               const struct pb_str k[], struct pb_str *unit, struct pb_agg *norm,
                               struct pb_error *err)
{
	*unit = k[K_UNIT];
	*norm = *a;
	if (!unit->ptr)
		return PB_OK;
	const struct pb_unit *u = pb_catalog_unit(in->cat, *unit);
	if (!u) {
		note_unknown(&in->unk, FW_UNKNOWN_UNIT, a, *unit);
		return PB_OK;
	}
	*unit = pb_cstr(u->normalised);
	if (!pb__unit_apply(pb__catalog_unit_factor(u), a->q, &norm->q))
		return pb__err(err, PB_ELIMIT,
		               "a quantity is out of range after converting '%.*s' to '%s' (first "
		               "line %llu)",
		               (int)k[K_UNIT].len, k[K_UNIT].ptr, u->normalised,
		               (unsigned long long)a->first);
	return PB_OK;
}

/* Adds f (ids and sums) to the mapped aggregates, merging with an equal one. */
static enum pb_status fin_add(struct pb_ingest *in, const struct pb_fin *f, struct pb_error *err)
{
	void *hit = pb__hmap_get(&in->finmap, (const char *)f->id, sizeof(f->id));
	if (hit) {
		if (!pb__agg_merge(&in->fins[(size_t)(intptr_t)hit - 1].a, &f->a))
			return pb__err(err, PB_ELIMIT, "a daily sum is out of range (first line %llu)",
			               (unsigned long long)f->a.first);
		return PB_OK;
	}
	in->fins[in->nfin++] = *f;
	if (pb__hmap_put(&in->finmap, (const char *)f->id, sizeof(f->id),
	                 (void *)(intptr_t)in->nfin, NULL) == PB_ENOMEM)
		return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
}

/* The account of kind ('b' or 's') and id (under billing for a sub-account),
 * added when new; NULL when out of memory. */
static struct pb_acct *acct_get(struct pb_ingest *in, char kind, struct pb_str id,
                                struct pb_str billing)
{
	char keybuf[2 * PB_USAGE_KEY_FIELD_MAX + 4];
	size_t kl = 0;
	keybuf[kl++] = kind;
	memcpy(keybuf + kl, id.ptr, id.len);
	kl += id.len;
	keybuf[kl++] = '\0';
	if (kind == 's') {
		memcpy(keybuf + kl, billing.ptr, billing.len);
		kl += billing.len;
	}
	void *ah = pb__hmap_get(&in->acctmap, keybuf, kl);
	if (ah)
		return &in->accts[(size_t)(intptr_t)ah - 1];
	void *grown = pb__grow(in->accts, &in->capacct, in->nacct, sizeof(*in->accts));
	if (!grown)
		return NULL;
	in->accts = grown;
	struct pb_acct *ac = &in->accts[in->nacct++];
	memset(ac, 0, sizeof(*ac));
	ac->kind = kind;
	ac->id = id;
	ac->billing = kind == 's' ? billing : pb_str_of("", 0);
	ac->first_day = INT32_MAX;
	ac->last_day = INT32_MIN;
	if (pb__hmap_put(&in->acctmap, keybuf, kl, (void *)(intptr_t)in->nacct, NULL) == PB_ENOMEM)
		return NULL;
	return ac;
}

/* Notes the billing account and sub-account of an aggregate: days seen, the
 * provider, and the name from the latest line. */
static enum pb_status note_accounts(struct pb_ingest *in, const struct pb_agg *a, int32_t day,
                                    const struct pb_str k[], struct pb_error *err)
{
	for (int sub = 0; sub < 2; sub++) {
		struct pb_str id = sub ? k[K_SUB] : k[K_ACCOUNT];
		if (!id.ptr)
			continue;
		struct pb_acct *ac = acct_get(in, sub ? 's' : 'b', id, k[K_ACCOUNT]);
		if (!ac)
			return pb__err(err, PB_ENOMEM, "out of memory");
		struct pb_str nm = sub ? k[K_SUB_NAME] : k[K_ACCOUNT_NAME];
		if (a->last >= ac->last_line && nm.ptr) {
			ac->name = nm;
			ac->last_line = a->last;
		}
		if (k[K_PROVIDER].ptr)
			ac->provider = k[K_PROVIDER];
		if (day < ac->first_day)
			ac->first_day = day;
		if (day > ac->last_day)
			ac->last_day = day;
	}
	return PB_OK;
}

/* Maps one aggregate of the merged table. */
static enum pb_status map_one(struct pb_ingest *in, const struct pb_agg *a, struct pb_error *err)
{
	int32_t day;
	struct pb_str k[K_COUNT];
	pb__usage_key_decode(in->all.keys + a->koff, &day, k);
	if (day < in->first_day)
		in->first_day = day;
	if (day > in->last_day)
		in->last_day = day;
	struct pb_str region, country, category, subcategory, unit;
	map_region(in, a, k, &region, &country);
	const char *cap = map_service(in, a, k, &category, &subcategory);
	struct pb_fin f;
	memset(&f, 0, sizeof(f));
	enum pb_status st = map_unit(in, a, k, &unit, &f.a, err);
	if (st)
		return st;
	f.id[N_DAY] = day;
	struct pb_str vals[N_COUNT] = {
		[N_ACCOUNT] = k[K_ACCOUNT], [N_SUB] = k[K_SUB], [N_PROVIDER] = k[K_PROVIDER],
		[N_CATEGORY] = category, [N_SUBCATEGORY] = subcategory,
		[N_SERVICE] = k[K_SERVICE], [N_METER] = k[K_METER], [N_CAPABILITY] = pb_cstr(cap),
		[N_REGION] = region, [N_COUNTRY] = country, [N_UNIT] = unit,
		[N_CHARGE] = k[K_CHARGE_CATEGORY], [N_CURRENCY] = k[K_CURRENCY],
	};
	if (!cap)
		vals[N_CAPABILITY].ptr = NULL;
	for (int j = 1; j < N_COUNT; j++) {
		f.id[j] = dim_id(in->ws, &in->dc, vals[j]);
		if (f.id[j] < 0)
			return pb__db_err(in->ws->db, err, "cannot store dimension values");
	}
	if ((st = fin_add(in, &f, err)))
		return st;
	return note_accounts(in, a, day, k, err);
}

static int fin_cmp(const void *x, const void *y)
{
	const struct pb_fin *a = x, *b = y;
	for (int i = 0; i < N_COUNT; i++)
		if (a->id[i] != b->id[i])
			return a->id[i] < b->id[i] ? -1 : 1;
	return 0;
}

enum pb_status pb__ingest_map_aggregates(struct pb_ingest *in, struct pb_error *err)
{
	enum pb_status st;
	if (!in->dc.virt &&
	    ((st = pb__db_prepare(in->ws->db, "SELECT id FROM dim WHERE value = ?1", &in->dc.sel,
	                          err)) ||
	     (st = pb__db_prepare(in->ws->db, "INSERT INTO dim(value) VALUES (?1)", &in->dc.ins,
	                          err))))
		return st;
	in->fins = calloc(in->all.n ? in->all.n : 1, sizeof(*in->fins));
	if (!in->fins)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < in->all.n; i++)
		if ((st = map_one(in, &in->all.v[i], err)))
			return st;
	/* a stable order for the rows makes the table easy to compare */
	qsort(in->fins, in->nfin, sizeof(*in->fins), fin_cmp);
	in->rep->aggregates = in->nfin;
	return PB_OK;
}

enum pb_status pb__ingest_hand_out(struct pb_ingest *in, struct pb_error *err)
{
	for (size_t i = 0; i < in->nfin; i++) {
		const struct pb_fin *f = &in->fins[i];
		struct pb__usage_agg a;
		memset(&a, 0, sizeof(a));
		a.day = f->id[N_DAY];
		struct pb_str *dst[N_COUNT] = {
			[N_ACCOUNT] = &a.account, [N_SUB] = &a.subaccount,
			[N_PROVIDER] = &a.provider, [N_CATEGORY] = &a.category,
			[N_SUBCATEGORY] = &a.subcategory, [N_SERVICE] = &a.service,
			[N_METER] = &a.sku_meter, [N_CAPABILITY] = &a.capability,
			[N_REGION] = &a.region, [N_COUNTRY] = &a.country, [N_UNIT] = &a.unit,
			[N_CHARGE] = &a.charge_category, [N_CURRENCY] = &a.currency,
		};
		for (int j = 1; j < N_COUNT; j++)
			if (f->id[j] > 0)
				*dst[j] = pb_cstr(in->dc.strs[f->id[j] - 1]);
		a.quantity = f->a.q;
		a.billed = f->a.billed;
		a.effective = f->a.eff;
		a.list = f->a.list;
		a.rows = f->a.rows;
		a.first_line = f->a.first;
		a.last_line = f->a.last;
		if (!in->recompute(in->recompute_ctx, &a))
			return pb__err(err, PB_EINTR, "stopped by the caller");
	}
	return PB_OK;
}
