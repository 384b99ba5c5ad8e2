/* test_profile.c - customer profiles on a workspace whose usage is written
 * directly (so every expected figure is known exactly): grouping, exact sums,
 * shares, growth, everyone's usage, the customer's accounts and no one
 * else's, detection of a shift with its start and driver, periods, units,
 * bad options, and the charts. */
#include "unit.h"
#include "probity.h"
#include "store/store.h"

#include <math.h>

static int64_t D0; /* 2025-01-01 */

struct fx {
	char *dir, *wsdir;
	struct pb_ws *ws;
	sqlite3_stmt *ins;
};

static int64_t dim_id(struct pb_ws *ws, const char *v)
{
	if (!v)
		return 0;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(ws->db, "INSERT OR IGNORE INTO dim(value) VALUES (?1)", -1, &q, NULL);
	sqlite3_bind_text(q, 1, v, -1, SQLITE_STATIC);
	sqlite3_step(q);
	sqlite3_finalize(q);
	sqlite3_prepare_v2(ws->db, "SELECT id FROM dim WHERE value = ?1", -1, &q, NULL);
	sqlite3_bind_text(q, 1, v, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	sqlite3_finalize(q);
	return id;
}

static void bind_dim(struct fx *f, int i, const char *v)
{
	if (v)
		sqlite3_bind_int64(f->ins, i, dim_id(f->ws, v));
	else
		sqlite3_bind_null(f->ins, i);
}

/* One daily aggregate. */
static void use(struct fx *f, int64_t day, const char *acct, const char *sub, const char *cat,
                const char *svc, const char *sku, const char *cap, const char *region,
                const char *country, const char *unit, const char *qty, const char *cost)
{
	sqlite3_reset(f->ins);
	sqlite3_bind_int64(f->ins, 1, day);
	bind_dim(f, 2, acct);
	bind_dim(f, 3, sub);
	bind_dim(f, 4, cat);
	bind_dim(f, 5, cat);
	bind_dim(f, 6, svc);
	bind_dim(f, 7, sku);
	bind_dim(f, 8, cap);
	bind_dim(f, 9, region);
	bind_dim(f, 10, country);
	bind_dim(f, 11, unit);
	bind_dim(f, 12, "Usage");
	bind_dim(f, 13, "EUR");
	sqlite3_bind_text(f->ins, 14, qty, -1, SQLITE_STATIC);
	sqlite3_bind_text(f->ins, 15, cost, -1, SQLITE_STATIC);
	if (sqlite3_step(f->ins) != SQLITE_DONE)
		fprintf(stderr, "insert: %s\n", sqlite3_errmsg(f->ws->db));
}

static void account(struct fx *f, const char *kind, const char *id, const char *bill,
                    const char *name)
{
	sqlite3_stmt *q;
	sqlite3_prepare_v2(f->ws->db,
	                   "INSERT INTO account(kind, account_id, billing_account_id, name) "
	                   "VALUES (?1, ?2, ?3, ?4)",
	                   -1, &q, NULL);
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, bill, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, name, -1, SQLITE_STATIC);
	sqlite3_step(q);
	sqlite3_finalize(q);
}

/*
 * The workspace, 2025-01-01 .. 2025-03-31 (90 days):
 *  - BA-1 (customer "Acme"): sub s1 "acme-main" stores 100 GB-Months a day in
 *    westeurope (cost 0.1 a day) all along; sub s2 "acme-new" stores 300 a day
 *    from day 45 (2025-02-15; cost 0.3); s1 runs 24 Hours a day of VMs in
 *    eastus (cost 2.5).
 *  - BA-2: sub s3 (customer "Beta", named by its sub-account) stores 50 a day
 *    in westeurope; sub s4 (no customer) 70 a day in westeurope.
 *  - BA-3 (no customer) stores 200 a day in westeurope.
 */
static void setup(struct fx *f)
{
	struct pb_error err = { 0 };
	D0 = pb__days_from_civil(2025, 1, 1);
	f->dir = unit_tmpdir();
	f->wsdir = pb__path_join(f->dir, "ws");
	CHECK_OK(pb_ws_init(f->wsdir, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK_OK(pb_ws_open(f->wsdir, 0, &f->ws, &err), &err);
	pb__db_exec(f->ws->db,
	            "INSERT INTO source(id, sha256, size, name, compression, format, ingested_at, "
	            "rows_read, rows_accepted, rows_rejected, rows_with_warnings, columns, "
	            "columns_ignored, names, catalog_sha256, report) VALUES (1, 'x', 0, 't', 'none', "
	            "'focus', '2025-01-01', 0, 0, 0, 0, 0, 0, 'clear', 'x', '{}')",
	            &err);
	sqlite3_prepare_v2(f->ws->db,
	                   "INSERT INTO usage_day(source_id, day, account, subaccount, category, "
	                   "subcategory, service, sku_meter, capability, region, country, unit, "
	                   "charge_category, currency, quantity, billed_cost, effective_cost, "
	                   "list_cost, rows, first_line, last_line) VALUES (1, ?1, ?2, ?3, ?4, ?5, "
	                   "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?15, 1, 2, 2)",
	                   -1, &f->ins, NULL);
	pb__db_exec(f->ws->db, "BEGIN", &err);
	for (int64_t d = 0; d < 90; d++) {
		int64_t day = D0 + d;
		use(f, day, "BA-1", "s1", "Storage", "Storage Accounts", "Hot LRS", "object-storage",
		    "westeurope", "NL", "GB-Months", "100", "0.1");
		if (d >= 45)
			use(f, day, "BA-1", "s2", "Storage", "Storage Accounts", "Hot LRS",
			    "object-storage", "westeurope", "NL", "GB-Months", "300", "0.3");
		use(f, day, "BA-1", "s1", "Compute", "Virtual Machines", "D4s", "virtual-machines",
		    "eastus", "US", "Hours", "24", "2.5");
		use(f, day, "BA-2", "s3", "Storage", "Storage Accounts", "Hot LRS", "object-storage",
		    "westeurope", "NL", "GB-Months", "50", "0.05");
		use(f, day, "BA-2", "s4", "Storage", "Storage Accounts", "Hot LRS", "object-storage",
		    "westeurope", "NL", "GB-Months", "70", "0.07");
		use(f, day, "BA-3", "s5", "Storage", "Storage Accounts", "Hot LRS", "object-storage",
		    "westeurope", "NL", "GB-Months", "200", "0.2");
	}
	pb__db_exec(f->ws->db, "COMMIT", &err);
	account(f, "billing", "BA-1", NULL, "Acme");
	account(f, "billing", "BA-2", NULL, "Two");
	account(f, "sub", "s1", "BA-1", "acme-main");
	account(f, "sub", "s2", "BA-1", "acme-new");
	account(f, "sub", "s3", "BA-2", "beta-only");
	account(f, "sub", "s4", "BA-2", "other");
	const char *a1[] = { "BA-1" }, *s3[] = { "s3" };
	CHECK_OK(pb_user_add(f->ws, NULL, "root", "admin", NULL, &err), &err);
	CHECK_OK(pb_customer_add(f->ws, "root", "Acme", a1, 1, NULL, 0, &err), &err);
	CHECK_OK(pb_customer_add(f->ws, "root", "Beta", NULL, 0, s3, 1, &err), &err);
}

static void teardown(struct fx *f)
{
	sqlite3_finalize(f->ins);
	pb_ws_close(f->ws);
	unit_rm_rf(f->dir);
	free(f->dir);
	free(f->wsdir);
}

static const struct pb_profile_line *find_line(const struct pb_profile *p, const char *v0,
                                               const char *v1)
{
	for (size_t i = 0; i < p->nlines; i++)
		if (strcmp(p->lines[i].dims[0], v0) == 0 && (!v1 || strcmp(p->lines[i].dims[1], v1) == 0))
			return &p->lines[i];
	return NULL;
}

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

static void t_parse_by(void)
{
	struct pb_profile_options o;
	struct pb_error err = { 0 };
	pb_profile_options_init(&o);
	CHECK_INT(o.nby, 3);
	CHECK_OK(pb_profile_parse_by("capability, Region,month", &o, &err), &err);
	CHECK_INT(o.nby, 3);
	CHECK_INT(o.by[0], PB_PROFILE_CAPABILITY);
	CHECK_INT(o.by[1], PB_PROFILE_REGION);
	CHECK_INT(o.by[2], PB_PROFILE_MONTH);
	CHECK_OK(pb_profile_parse_by("sub-account", &o, &err), &err);
	CHECK_INT(o.by[0], PB_PROFILE_SUBACCOUNT);
	CHECK_INT(pb_profile_parse_by("region,planet", &o, &err), PB_EINVAL);
	CHECK(strstr(err.message, "'planet'") && strstr(err.message, "capability") &&
	      strstr(err.message, "subaccount"));
	/* the argument is named by its API name; the CLI turns it into --by */
	CHECK_STR(err.field, "by");
	CHECK(strstr(err.message, "--") == NULL);
	CHECK_INT(pb_profile_parse_by("region,region", &o, &err), PB_EINVAL);
	CHECK(strstr(err.message, "twice") != NULL);
	CHECK_STR(err.field, "by");
	CHECK_INT(pb_profile_parse_by("month,day", &o, &err), PB_EINVAL);
	CHECK_STR(err.field, "by");
	CHECK(strstr(err.message, "--") == NULL);
	CHECK_INT(pb_profile_parse_by("", &o, &err), PB_EINVAL);
	CHECK_STR(err.field, "by");
	CHECK(strstr(err.message, "--") == NULL);
	CHECK_STR(pb_profile_dim_name(PB_PROFILE_SKU), "sku");
}

static void t_parse_day(void)
{
	struct pb_error err = { 0 };
	int64_t d;
	CHECK_OK(pb_profile_parse_day("2025-03-01", false, &d, &err), &err);
	CHECK_INT(d, pb__days_from_civil(2025, 3, 1));
	CHECK_OK(pb_profile_parse_day("2024-02", true, &d, &err), &err);
	CHECK_INT(d, pb__days_from_civil(2024, 2, 29));
	CHECK_OK(pb_profile_parse_day("2024-12", true, &d, &err), &err);
	CHECK_INT(d, pb__days_from_civil(2024, 12, 31));
	CHECK_OK(pb_profile_parse_day("2024-12", false, &d, &err), &err);
	CHECK_INT(d, pb__days_from_civil(2024, 12, 1));
	CHECK_INT(pb_profile_parse_day("2025-02-30", false, &d, &err), PB_EINVAL);
	CHECK_INT(pb_profile_parse_day("2025-13", false, &d, &err), PB_EINVAL);
	CHECK_INT(pb_profile_parse_day("yesterday", false, &d, &err), PB_EINVAL);
	CHECK(strstr(err.message, "'yesterday'") != NULL);
	CHECK_INT(pb_profile_parse_day("2025-1-01", false, &d, &err), PB_EINVAL);
}

static void t_lines_and_shares(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_parse_by("capability,country", &o, &err), &err);
	struct pb_profile *p = NULL;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	if (!p) {
		teardown(&f);
		return;
	}
	CHECK_INT(p->nlines, 2);
	CHECK_INT(p->first_day, D0);
	CHECK_INT(p->last_day, D0 + 89);
	const struct pb_profile_line *st = find_line(p, "object-storage", "NL");
	const struct pb_profile_line *vm = find_line(p, "virtual-machines", "US");
	CHECK(st && vm);
	if (st && vm) {
		/* 90 x 100 + 45 x 300; 90 x 0.1 + 45 x 0.3 exactly (no binary drift) */
		CHECK_STR(st->quantity, "22500");
		CHECK_STR(st->cost, "22.5");
		CHECK_STR(st->unit, "GB-Months");
		CHECK_STR(st->currency, "EUR");
		CHECK_INT(st->rows, 135);
		CHECK_STR(vm->quantity, "2160");
		CHECK_STR(vm->cost, "225");
		/* largest cost first */
		CHECK(&p->lines[0] == vm);
		CHECK(near(st->share_of_spend, 22.5 / 247.5));
		CHECK(near(vm->share_of_spend, 225.0 / 247.5));
		/* everyone's storage in NL: 22500 + 90 x (50 + 70 + 200) */
		CHECK_STR(st->all_quantity, "51300");
		CHECK(st->others);
		CHECK(near(st->share_of_all, 22500.0 / 51300.0));
		/* nobody else runs VMs in the US: no share shown */
		CHECK(!vm->others);
		CHECK(isnan(vm->share_of_all));
		CHECK_STR(vm->all_quantity, "2160");
		/* growth: March (400 a day) against February (100 + 300 x 14/28 a day)
		 * and against January (100 a day) */
		CHECK(near(st->growth_prev, 400.0 / (100.0 + 300.0 * 14 / 28) - 1));
		CHECK(near(st->growth_window, 3.0));
		CHECK_STR(st->first_period, "2025-01");
		CHECK(near(vm->growth_window, 0.0));
	}
	/* totals: one for the currency, one per unit */
	bool cur = false, gbm = false;
	for (size_t i = 0; i < p->ntotals; i++) {
		if (!p->totals[i].unit) {
			CHECK_STR(p->totals[i].cost, "247.5");
			CHECK_INT(p->totals[i].rows, 225);
			cur = true;
		} else if (strcmp(p->totals[i].unit, "GB-Months") == 0) {
			CHECK_STR(p->totals[i].quantity, "22500");
			gbm = true;
		}
	}
	CHECK(cur && gbm);
	pb_profile_free(p);
	teardown(&f);
}

/* OF ALL compares the same service, capability and region even when they
 * are not grouped, and shows nothing for a line that mixes several. */
static void t_share_of_all_kind(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	pb__db_exec(f.ws->db, "BEGIN", &err);
	for (int64_t d = 0; d < 90; d++) {
		/* Acme also runs 10 Hours of VMs a day in westeurope; BA-3 (nobody's)
		 * 30 there, and 500 Hours of Defender there */
		use(&f, D0 + d, "BA-1", "s1", "Compute", "Virtual Machines", "D4s", "virtual-machines",
		    "westeurope", "NL", "Hours", "10", "1");
		use(&f, D0 + d, "BA-3", "s5", "Compute", "Virtual Machines", "D4s", "virtual-machines",
		    "westeurope", "NL", "Hours", "30", "3");
		use(&f, D0 + d, "BA-3", "s5", "Security", "Defender", "Servers", "security-monitoring",
		    "westeurope", "NL", "Hours", "500", "5");
	}
	pb__db_exec(f.ws->db, "COMMIT", &err);
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_parse_by("country", &o, &err), &err);
	struct pb_profile *p = NULL;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	const struct pb_profile_line *nl = NULL;
	for (size_t i = 0; p && i < p->nlines; i++)
		if (strcmp(p->lines[i].dims[0], "NL") == 0 && strcmp(p->lines[i].unit, "Hours") == 0)
			nl = &p->lines[i];
	CHECK(nl != NULL);
	if (nl) {
		/* the VM hours in westeurope, not the Defender hours: 90 x (10 + 30) */
		CHECK_STR(nl->quantity, "900");
		CHECK_STR(nl->all_quantity, "3600");
		CHECK(nl->others);
		CHECK(near(nl->share_of_all, 0.25));
	}
	pb_profile_free(p);
	/* by category: Acme's Compute hours are VMs in eastus and in westeurope,
	 * two regions: no share */
	CHECK_OK(pb_profile_parse_by("category", &o, &err), &err);
	p = NULL;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	const struct pb_profile_line *cp = p ? find_line(p, "Compute", NULL) : NULL;
	CHECK(cp != NULL);
	if (cp) {
		CHECK_STR(cp->quantity, "3060");
		CHECK_STR(cp->all_quantity, "");
		CHECK(!cp->others);
		CHECK(isnan(cp->share_of_all));
	}
	/* its storage is one service in one region: a share */
	const struct pb_profile_line *sl = p ? find_line(p, "Storage", NULL) : NULL;
	CHECK(sl && strcmp(sl->all_quantity, "51300") == 0 && sl->others);
	pb_profile_free(p);
	teardown(&f);
}

static void t_subaccount_customer(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_parse_by("subaccount", &o, &err), &err);
	struct pb_profile *p = NULL;
	/* Beta owns s3 only, not the rest of BA-2 */
	CHECK_OK(pb_profile_build(f.ws, "Beta", &o, &p, &err), &err);
	if (p) {
		CHECK_INT(p->nlines, 1);
		CHECK_STR(p->lines[0].dims[0], "s3");
		CHECK_STR(p->lines[0].subaccount_name, "beta-only");
		CHECK_STR(p->lines[0].quantity, "4500");
		/* s3's share of all GB-Months in the workspace */
		CHECK(near(p->lines[0].share_of_all, 4500.0 / 51300.0));
		CHECK_INT(p->nchanges, 0); /* a flat line */
	}
	pb_profile_free(p);
	/* Acme by sub-account and month: lines in time order within a series */
	CHECK_OK(pb_profile_parse_by("subaccount,month", &o, &err), &err);
	o.unit = "gb-months"; /* case does not matter */
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	if (p) {
		CHECK_INT(p->nlines, 5); /* s2: Feb, Mar; s1: Jan, Feb, Mar */
		const struct pb_profile_line *l = find_line(p, "s2", "2025-02");
		CHECK(l != NULL);
		if (l) {
			CHECK_STR(l->quantity, "4200");
			CHECK(isnan(l->growth_prev)); /* nothing in January */
			CHECK_STR(l->first_period, "2025-02");
			CHECK_STR(l->subaccount_name, "acme-new");
		}
		l = find_line(p, "s2", "2025-03");
		CHECK(l && near(l->growth_prev, 300.0 / (300.0 * 14 / 28) - 1));
		CHECK(l && near(l->growth_window, 300.0 / (300.0 * 14 / 28) - 1));
		/* the s1 line of March against everyone's storage in March */
		l = find_line(p, "s1", "2025-03");
		CHECK(l && strcmp(l->all_quantity, "22320") == 0); /* 31 x (100 + 300 + 50 + 70 + 200) */
		CHECK(l && near(l->share_of_all, 3100.0 / 22320.0));
		for (size_t i = 0; i < p->nlines; i++)
			CHECK_STR(p->lines[i].unit, "GB-Months");
	}
	pb_profile_free(p);
	teardown(&f);
}

static void t_shift_and_driver(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_parse_by("capability,region", &o, &err), &err);
	o.min_cost_per_day = 0.01;
	struct pb_profile *p = NULL;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	if (!p) {
		teardown(&f);
		return;
	}
	CHECK_INT(p->nchanges, 1);
	if (p->nchanges == 1) {
		const struct pb_profile_change *c = &p->changes[0];
		CHECK_STR(p->series[c->series].label, "object-storage, westeurope (GB-Months)");
		CHECK_STR(c->start, "2025-02-15");
		CHECK_INT(c->change.kind, PB_CHANGE_SHIFT);
		CHECK_INT(c->change.direction, 1);
		CHECK(near(c->change.expected, 100));
		CHECK(near(c->change.delta, 300));
		CHECK(near(c->price, 0.001));
		CHECK(near(c->cost_delta, 0.3));
		/* the driver: sub-account s2, all of the change; service and region
		 * have one value each and so name nothing */
		CHECK_INT(c->driver, PB_DRIVER_SUBACCOUNT);
		CHECK_STR(c->drivers[PB_DRIVER_SUBACCOUNT].value, "s2");
		CHECK_STR(c->drivers[PB_DRIVER_SUBACCOUNT].name, "acme-new");
		CHECK(near(c->drivers[PB_DRIVER_SUBACCOUNT].share, 1.0));
		CHECK_INT(c->drivers[PB_DRIVER_SUBACCOUNT].ncomponents, 2);
		CHECK_INT(c->drivers[PB_DRIVER_SERVICE].ncomponents, 1);
		CHECK_STR(c->drivers[PB_DRIVER_REGION].value, "westeurope");
		/* still 300 above the level before it at the end of the period: the
		 * change lasts to the end, though the detector's 28-day median
		 * absorbed the new level by mid-March; the excess is all of s2 */
		CHECK(c->ongoing);
		CHECK_STR(c->end, "2025-03-31");
		CHECK(near(c->change.actual, 400));
		CHECK(near(c->excess, 300.0 * 45));
		CHECK(near(c->excess_cost, 0.3 * 45));
	}
	/* the money floor: 0.3 a day is below a floor of 1 */
	pb_profile_free(p);
	o.min_cost_per_day = 1;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	CHECK(p && p->nchanges == 0);
	pb_profile_free(p);
	/* and no detection when asked */
	o.min_cost_per_day = 0;
	o.detect = false;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	CHECK(p && p->nchanges == 0 && p->nlines == 2);
	pb_profile_free(p);
	teardown(&f);
}

/* A step followed by steady growth (the demo's storage): the change is
 * measured against the level before the step for as long as the series stays
 * away from it, and its actual level is the one reached at the end. */
/* The data version web caches profiles by: the last usage.ingest or
 * customer.* entry, read from a given index on; other entries leave it. */
static void t_data_version(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	uint64_t size = 0, size2 = 0;
	int64_t last = -2, last2 = -2;
	CHECK_OK(pb_profile_data_version(f.ws, 0, &size, &last, &err), &err);
	CHECK_INT(size, 3); /* user.add, customer.add twice */
	CHECK_INT(last, 2);
	CHECK_OK(pb_profile_data_version(f.ws, size, &size2, &last2, &err), &err);
	CHECK_INT(size2, 3);
	CHECK_INT(last2, -1); /* nothing from 3 on */
	CHECK_OK(pb_user_add(f.ws, "root", "ann", "analyst", NULL, &err), &err);
	CHECK_OK(pb_profile_data_version(f.ws, size, &size2, &last2, &err), &err);
	CHECK_INT(size2, 4);
	CHECK_INT(last2, -1); /* a user is no change of a profile */
	CHECK_OK(pb_customer_remove(f.ws, "root", "Beta", &err), &err);
	CHECK_OK(pb_profile_data_version(f.ws, size2, &size, &last, &err), &err);
	CHECK_INT(size, 5);
	CHECK_INT(last, 4);
	teardown(&f);
}

static void t_ramp(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	account(&f, "billing", "BA-4", NULL, "Ramp");
	account(&f, "sub", "s6", "BA-4", "ramp-main");
	const char *a4[] = { "BA-4" };
	CHECK_OK(pb_customer_add(f.ws, "root", "Ramp", a4, 1, NULL, 0, &err), &err);
	pb__db_exec(f.ws->db, "BEGIN", &err);
	double excess = 0;
	for (int64_t d = 0; d < 90; d++) {
		/* 100 a day, then from day 30 200 growing by 20 a day (1380 on day 89) */
		double v = d < 30 ? 100 : 200 + 20.0 * (double)(d - 30);
		char q[32], c[32];
		snprintf(q, sizeof(q), "%.0f", v);
		snprintf(c, sizeof(c), "%.2f", v / 100);
		if (d >= 30)
			excess += v - 100;
		use(&f, D0 + d, "BA-4", "s6", "Storage", "Storage Accounts", "Hot LRS",
		    "object-storage", "westeurope", "NL", "GB-Months", q, c);
	}
	pb__db_exec(f.ws->db, "COMMIT", &err);
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_parse_by("capability,region", &o, &err), &err);
	struct pb_profile *p = NULL;
	CHECK_OK(pb_profile_build(f.ws, "Ramp", &o, &p, &err), &err);
	CHECK(p && p->nchanges == 1);
	if (p && p->nchanges == 1) {
		const struct pb_profile_change *c = &p->changes[0];
		CHECK_STR(c->start, "2025-01-31");
		CHECK(c->ongoing);
		CHECK_STR(c->end, "2025-03-31");
		CHECK(near(c->change.expected, 100));
		/* the level reached: the mean of the last 7 days, 1260 to 1380 */
		CHECK(near(c->change.actual, 1320));
		CHECK(near(c->change.delta, 1220));
		CHECK(near(c->change.pct, 1220.0));
		CHECK(near(c->excess, excess));
		CHECK(near(c->price, 0.01));
		CHECK(fabs(c->excess_cost - excess * 0.01) < 1e-6);
	}
	pb_profile_free(p);
	teardown(&f);
}

static void t_periods_and_errors(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	struct pb_profile *p = NULL;
	CHECK_INT(pb_profile_build(f.ws, "Nobody", &o, &p, &err), PB_ENOENT);
	CHECK(p == NULL && strstr(err.message, "'Nobody'"));
	o.from_day = D0 + 10;
	o.to_day = D0 + 9;
	CHECK_INT(pb_profile_build(f.ws, "Acme", &o, &p, &err), PB_EINVAL);
	CHECK(strstr(err.message, "empty") != NULL);
	/* a period without data: an empty profile, not an error */
	o.from_day = D0 + 400;
	o.to_day = D0 + 500;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	CHECK(p && p->nlines == 0 && p->nseries == 0 && p->nchanges == 0);
	CHECK(p && p->first_day > p->last_day);
	pb_profile_free(p);
	/* a unit nobody uses */
	pb_profile_options_init(&o);
	o.unit = "Parsecs";
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	CHECK(p && p->nlines == 0);
	pb_profile_free(p);
	/* part of the period: January 10 to 19 */
	pb_profile_options_init(&o);
	o.from_day = D0 + 9;
	o.to_day = D0 + 18;
	CHECK_OK(pb_profile_parse_by("service", &o, &err), &err);
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	if (p) {
		CHECK_INT(p->first_day, D0 + 9);
		CHECK_INT(p->last_day, D0 + 18);
		const struct pb_profile_line *l = find_line(p, "Storage Accounts", NULL);
		CHECK(l && strcmp(l->quantity, "1000") == 0);
		/* 10 days: growth compares days; a flat series grew by nothing */
		CHECK(l && near(l->growth_prev, 0) && near(l->growth_window, 0));
		CHECK(l && strcmp(l->first_period, "2025-01-10") == 0);
	}
	pb_profile_free(p);
	teardown(&f);
}

static void t_charts(void)
{
	struct fx f;
	setup(&f);
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_parse_by("subaccount", &o, &err), &err);
	o.unit = "GB-Months";
	o.min_cost_per_day = 0.01;
	struct pb_profile *p = NULL;
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	if (!p) {
		teardown(&f);
		return;
	}
	char *svg = NULL;
	size_t len = 0;
	CHECK_OK(pb_profile_chart_stacked(p, 0, &svg, &len, &err), &err);
	CHECK(svg && len == strlen(svg));
	/* legends name sub-accounts by their stored names; the axis has the unit */
	CHECK(svg && strstr(svg, "acme-new") && strstr(svg, "acme-main"));
	CHECK(svg && strstr(svg, "GB-Months, daily total"));
	free(svg);
	size_t s = pb_profile_pick_series(p, "S2");
	CHECK(s < p->nseries && strcmp(p->series[s].dims[0], "s2") == 0);
	CHECK_INT(pb_profile_pick_series(p, "nothing like it"), SIZE_MAX);
	/* without a match: the series of the largest change */
	CHECK(p->nchanges >= 1 && pb_profile_pick_series(p, NULL) == p->changes[0].series);
	CHECK_OK(pb_profile_chart_series(p, s, &svg, &len, &err), &err);
	CHECK(svg && strstr(svg, "change-start") && strstr(svg, "acme-new"));
	free(svg);
	CHECK_INT(pb_profile_chart_series(p, 99, &svg, &len, &err), PB_EINVAL);
	pb_profile_free(p);
	/* several units: the stacked chart shows cost */
	pb_profile_options_init(&o);
	CHECK_OK(pb_profile_build(f.ws, "Acme", &o, &p, &err), &err);
	if (p) {
		CHECK_OK(pb_profile_chart_stacked(p, 0, &svg, &len, &err), &err);
		CHECK(svg && strstr(svg, "Billed cost") && strstr(svg, "EUR"));
		free(svg);
	}
	pb_profile_free(p);
	teardown(&f);
}

int main(void)
{
	RUN(t_parse_by);
	RUN(t_parse_day);
	RUN(t_lines_and_shares);
	RUN(t_share_of_all_kind);
	RUN(t_subaccount_customer);
	RUN(t_shift_and_driver);
	RUN(t_data_version);
	RUN(t_ramp);
	RUN(t_periods_and_errors);
	RUN(t_charts);
	return UNIT_END("profile");
}
