/* test_plan.c - enforcement plans: selectors, the life of a plan and every
 * misuse (each refused with nothing changed), accounts and sub-accounts, the
 * dry run against the decision table, notices, and a plain plan-level
 * reference evaluator against the compiled table on 1,000,000 random
 * (plan set, request) pairs. */
#include "unit.h"

#include "log/audit.h"
#include "plan/plan.h"

#include <strings.h>
#include <unistd.h>

static struct pb_catalog *cat;

/* ---- a workspace with usage, users, customers and cases -------------------------- */

static void sql(struct pb_ws *ws, const char *q)
{
	char *msg = NULL;
	if (sqlite3_exec(ws->db, q, NULL, NULL, &msg) != SQLITE_OK) {
		UNIT_FAIL_("sql '%s': %s", q, msg ? msg : "?");
		sqlite3_free(msg);
	}
}

static long long sql_int(struct pb_ws *ws, const char *q)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(ws->db, q, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void conf_add(const char *dir, const char *line)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/probity.conf", dir);
	FILE *f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
}

static struct pb_ws *reopen(struct pb_ws *ws, const char *dir)
{
	struct pb_error err = { 0 };
	pb_ws_close(ws);
	ws = NULL;
	CHECK_OK(pb_ws_open(dir, 0, &ws, &err), &err);
	if (ws)
		sql(ws, "PRAGMA synchronous=OFF");
	return ws;
}

/* usage: tests/data/plans/usage.csv; users; Varnia (EA-1), Orbis (sub x-9 of
 * EA-2); case 1 on Varnia, case 2 on Orbis. */
static struct pb_ws *world(char **dir_out, bool usage)
{
	struct pb_error err = { 0 };
	char *dir = unit_tmpdir();
	char ws_dir[4200];
	snprintf(ws_dir, sizeof(ws_dir), "%s/ws", dir);
	struct pb_ws *ws = NULL;
	CHECK_OK(pb_ws_init(ws_dir, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK_OK(pb_ws_open(ws_dir, 0, &ws, &err), &err);
	if (!ws)
		exit(2);
	sql(ws, "PRAGMA synchronous=OFF"); /* durability is not under test here */
	CHECK_OK(pb_user_add(ws, NULL, "root", "admin", NULL, &err), &err);
	const char *users[][2] = { { "alice", "analyst" },  { "bob", "approver" },
		                   { "dana", "approver" },  { "erin", "approver" },
		                   { "carol", "auditor" },  { "frank", "analyst" } };
	for (size_t i = 0; i < PB_ARRAY_LEN(users); i++)
		CHECK_OK(pb_user_add(ws, "root", users[i][0], users[i][1], NULL, &err), &err);
	if (usage) {
		struct pb_ingest_report rep = { 0 };
		struct pb_ingest_options io = { 0 };
		io.actor = "alice";
		CHECK_OK(pb_usage_ingest(ws, cat, "tests/data/plans/usage.csv", &io, &rep, &err), &err);
		CHECK_INT(rep.rows_accepted, 42);
		pb_ingest_report_release(&rep);
	}
	const char *ea1[] = { "EA-1" }, *x9[] = { "x-9" };
	CHECK_OK(pb_customer_add(ws, "alice", "Varnia Interior Ministry", ea1, 1, NULL, 0, &err), &err);
	CHECK_OK(pb_customer_add(ws, "alice", "Orbis Labs", NULL, 0, x9, 1, &err), &err);
	struct pb_case_open_options o = { "Varnia Interior Ministry", "Surveillance report",
		                          "press report", NULL, NULL };
	CHECK_OK(pb_case_open(ws, "alice", &o, NULL, NULL, &err), &err);
	o.customer = "Orbis Labs";
	CHECK_OK(pb_case_open(ws, "alice", &o, NULL, NULL, &err), &err);
	*dir_out = dir;
	return ws;
}

static void world_end(struct pb_ws *ws, char *dir)
{
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static const char *wsdir(const char *dir)
{
	static char b[4200];
	snprintf(b, sizeof(b), "%s/ws", dir);
	return b;
}

/* The state a refused step must leave untouched. */
struct snap {
	uint64_t log;
	long long plans, events, version, drafts, sha_sum;
};

static struct snap snap(struct pb_ws *ws)
{
	struct snap s = { 0 };
	struct pb_error err = { 0 };
	CHECK_OK(pb__audit_size(ws, &s.log, &err), &err);
	s.plans = sql_int(ws, "SELECT count(*) FROM plan");
	s.events = sql_int(ws, "SELECT count(*) FROM plan_event");
	s.version = sql_int(ws, "SELECT coalesce(max(version), 0) FROM entitlement_version");
	s.drafts = sql_int(ws, "SELECT count(*) FROM plan WHERE status = 'draft'");
	s.sha_sum = sql_int(ws, "SELECT coalesce(sum(unicode(sha256) + revision), 0) FROM plan");
	return s;
}

#define CHECK_SAME(a, b)                                  \
	do {                                              \
		CHECK_INT((a).log, (b).log);              \
		CHECK_INT((a).plans, (b).plans);          \
		CHECK_INT((a).events, (b).events);        \
		CHECK_INT((a).version, (b).version);      \
		CHECK_INT((a).drafts, (b).drafts);        \
		CHECK_INT((a).sha_sum, (b).sha_sum);      \
	} while (0)

/* Expects call to fail with code and a message holding text, changing nothing. */
#define REFUSED(ws, call, code, text)                                                      \
	do {                                                                               \
		struct snap s0_ = snap(ws);                                                \
		struct pb_error e_ = { 0 };                                                \
		struct pb_error *E = &e_;                                                  \
		(void)E;                                                                   \
		int st_ = (int)(call);                                                     \
		CHECK_INT(st_, code);                                                      \
		if (!strstr(e_.message, text))                                             \
			UNIT_FAIL_("message '%s' lacks '%s'", e_.message, text);           \
		struct snap s1_ = snap(ws);                                                \
		CHECK_SAME(s0_, s1_);                                                      \
	} while (0)

static struct pb_plan_terms terms(const char **dis, size_t nd, const char **keep, size_t nk)
{
	struct pb_plan_terms t = { 0 };
	t.disable = dis;
	t.ndisable = nd;
	t.keep = keep;
	t.nkeep = nk;
	return t;
}

static struct pb_plan *get(struct pb_ws *ws, int64_t id)
{
	struct pb_error err = { 0 };
	struct pb_plan *p = NULL;
	CHECK_OK(pb_plan_get(ws, id, &p, &err), &err);
	return p;
}

/* ---- selectors ----------------------------------------------------------------------- */

static void sel_ok(const char *in, const char *want)
{
	struct pb__arena a = { 0 };
	struct pb__sel s;
	struct pb_error err = { 0 };
	CHECK_OK(pb__sel_parse(&a, cat, in, strlen(in), "disable selector 1", &s, &err), &err);
	if (!err.code) {
		CHECK_STR(s.text, want);
		/* the canonical text reads back to itself */
		struct pb__sel s2;
		CHECK_OK(pb__sel_parse(&a, cat, s.text, strlen(s.text), "x", &s2, &err), &err);
		if (!err.code)
			CHECK_STR(s2.text, s.text);
	}
	pb__arena_release(&a);
}

static void sel_bad(const char *in, size_t len, int code, const char *text)
{
	struct pb__arena a = { 0 };
	struct pb__sel s;
	struct pb_error err = { 0 };
	int st = pb__sel_parse(&a, cat, in, len, "keep selector 2", &s, &err);
	CHECK_INT(st, code);
	if (!strstr(err.message, text) || !strstr(err.message, "keep selector 2"))
		UNIT_FAIL_("'%.60s': message '%s' lacks '%s' or the selector's name", in, err.message,
		           text);
	pb__arena_release(&a);
}

static void t_selectors(void)
{
	sel_ok("category=Storage country=nl", "category=Storage country=NL");
	sel_ok("  country=NL   category=Storage ", "category=Storage country=NL");
	sel_ok("capability=Speech-To-Text,translation,speech-to-text",
	       "capability=speech-to-text,translation");
	sel_ok("region='West Europe',amsterdam,eu-west-1", "region=westeurope,eu-west-1");
	sel_ok("service=AmazonS3", "service='Amazon Simple Storage Service'");
	sel_ok("category=\"AI and Machine Learning\"", "category='AI and Machine Learning'");
	sel_ok("subcategory='Storage Platforms' service='Key Vault'",
	       "subcategory='Storage Platforms' service='Key Vault'");
	sel_ok("account=EA-1 subaccount=s-1,s-2", "account=EA-1 subaccount=s-1,s-2");
	sel_ok("sub-account='it''s'", "subaccount='it''s'");
	sel_ok("all", "all");
	sel_ok(" ALL ", "all");
	sel_bad("", 0, PB_EINVAL, "empty selector");
	sel_bad("   ", 3, PB_EINVAL, "empty selector");
	sel_bad("colour=red", 10, PB_EINVAL, "unknown key 'colour'");
	sel_bad("category=Storag", 15, PB_EINVAL, "unknown category 'Storag'");
	sel_bad("subcategory=Nope", 16, PB_EINVAL, "unknown subcategory 'Nope'");
	sel_bad("service=Nope", 12, PB_EINVAL, "unknown service 'Nope'");
	sel_bad("service=Key Vault", 17, PB_EINVAL, "quote values that hold spaces");
	sel_bad("capability=mind-reading", 23, PB_EINVAL, "unknown capability 'mind-reading'");
	sel_bad("region=mars-1", 13, PB_EINVAL, "unknown region 'mars-1'");
	sel_bad("country=XX", 10, PB_EINVAL, "unknown country 'XX'");
	sel_bad("category=Storage category=Security", 34, PB_EINVAL, "given twice");
	sel_bad("category=", 9, PB_EINVAL, "no value for 'category'");
	sel_bad("category=Storage,,Security", 26, PB_EINVAL, "empty value after ','");
	sel_bad("category=Storage,", 17, PB_EINVAL, "empty value after ','");
	sel_bad("category='Storage", 17, PB_EINVAL, "no closing");
	sel_bad("category='Storage'x", 19, PB_EINVAL, "after a quoted value");
	sel_bad("category=Sto'rage", 17, PB_EINVAL, "a quote inside a value");
	sel_bad("all category=Storage", 20, PB_EINVAL, "'all' cannot be combined");
	sel_bad("Storage", 7, PB_EINVAL, "expected key=value");
	sel_bad("account=A\x01", 10, PB_EINVAL, "control character");
	sel_bad("account=\xff\xfe", 10, PB_EINVAL, "not valid UTF-8");
	sel_bad("account=A\0B", 11, PB_EINVAL, "NUL");
	char big[400];
	memset(big, 'a', sizeof(big));
	memcpy(big, "account=", 8);
	sel_bad(big, sizeof(big), PB_ELIMIT, "longer than 256");
}

/* ---- the life of a plan, and every misuse --------------------------------------------- */

static void t_lifecycle(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, true);
	struct pb_error err = { 0 };
	const char *dis[] = { "category=Storage country=NL", "capability=speech-to-text,translation" };
	const char *keep[] = { "category=Security" };
	struct pb_plan_terms t = terms(dis, 2, keep, 1);
	int64_t id = 0;
	/* making a plan: role, case, selectors */
	REFUSED(ws, pb_plan_new(ws, cat, "carol", 1, &t, &id, NULL, E), PB_EPERM,
	        "this needs the role analyst,approver");
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 9, &t, &id, NULL, E), PB_ENOENT, "no case 9");
	const char *bad[] = { "category=Storage colour=red" };
	struct pb_plan_terms tb = terms(bad, 1, NULL, 0);
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &tb, &id, NULL, E), PB_EINVAL,
	        "disable selector 1 'category=Storage colour=red': unknown key 'colour'");
	const char *badk[] = { "region=atlantis-1" };
	struct pb_plan_terms tk = terms(dis, 1, badk, 1);
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &tk, &id, NULL, E), PB_EINVAL,
	        "keep selector 1 'region=atlantis-1': unknown region");
	struct pb_plan_terms t0 = terms(NULL, 0, keep, 1);
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t0, &id, NULL, E), PB_EINVAL,
	        "at least one selector to disable");
	struct pb_plan_terms t1 = t;
	t1.approvals = 1;
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t1, &id, NULL, E), PB_EINVAL,
	        "at least 2 approvals");
	t1 = t;
	t1.effective = "2030-01-01T00:00:00Z";
	t1.until = "2029-01-01T00:00:00Z";
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t1, &id, NULL, E), PB_EINVAL,
	        "'until' must be after 'effective'");
	t1 = t;
	t1.effective = "next tuesday";
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t1, &id, NULL, E), PB_EINVAL,
	        "is not an ISO 8601 time");

	uint64_t idx = 0;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, &idx, &err), &err);
	CHECK_INT(id, 1);
	struct pb_plan *p = get(ws, 1);
	if (!p)
		goto out;
	CHECK_STR(p->status, "draft");
	CHECK_STR(p->customer, "Varnia Interior Ministry");
	CHECK_INT(p->nrules, 3);
	CHECK_INT(p->approvals_needed, 2);
	CHECK_STR(p->state, "draft: 0 of 2 approvals");
	char sha1[65];
	pb__strlcpy(sha1, p->sha256, sizeof(sha1));
	pb_plan_free(p);

	/* approvals */
	REFUSED(ws, pb_plan_apply(ws, "alice", 1, NULL, NULL, E), PB_ESTATE,
	        "has 0 of the 2 approvals");
	REFUSED(ws, pb_plan_approve(ws, "alice", 1, NULL, NULL, NULL, NULL, E), PB_EPERM,
	        "needs the role approver");
	REFUSED(ws, pb_plan_approve(ws, "carol", 1, NULL, NULL, NULL, NULL, E), PB_EPERM,
	        "needs the role approver");
	REFUSED(ws, pb_plan_approve(ws, "nobody", 1, NULL, NULL, NULL, NULL, E), PB_EPERM,
	        "no user 'nobody'");
	REFUSED(ws, pb_plan_approve(ws, "bob", 7, NULL, NULL, NULL, NULL, E), PB_ENOENT, "no plan 7");
	unsigned have = 0;
	REFUSED(ws, pb_plan_approve(ws, "bob", 1, "e3b0c442", NULL, NULL, NULL, E), PB_EINVAL,
	        "is not the plan's SHA-256");
	REFUSED(ws, pb_plan_approve(ws, "bob", 1, "0123456789abcdef", NULL, NULL, NULL, E), PB_ESTATE,
	        "a stale plan is not approved");
	/* 12 hex digits matching the plan are still too few: 16 at least */
	char prefix[17];
	pb__strlcpy(prefix, sha1, 13);
	REFUSED(ws, pb_plan_approve(ws, "bob", 1, prefix, NULL, NULL, NULL, E), PB_EINVAL,
	        "or at least the first 16");
	pb__strlcpy(prefix, sha1, sizeof(prefix));
	CHECK_OK(pb_plan_approve(ws, "bob", 1, prefix, "evidence holds", &have, NULL, &err), &err);
	CHECK_INT(have, 1);
	/* an approval slipped into plan_event without its log entry does not count */
	char forged[256];
	snprintf(forged, sizeof(forged),
	         "INSERT INTO plan_event(plan_id, kind, actor, at, sha256, log_index) VALUES "
	         "(1, 'approve', 'erin', 'x', '%s', 0)",
	         sha1);
	sql(ws, forged);
	REFUSED(ws, pb_plan_apply(ws, "alice", 1, NULL, NULL, E), PB_ESTATE, "has 1 of the 2 approvals");
	REFUSED(ws, pb_plan_approve(ws, "bob", 1, NULL, NULL, NULL, NULL, E), PB_EEXIST,
	        "already approved plan 1");
	REFUSED(ws, pb_plan_refuse(ws, "bob", 1, NULL, "changed my mind", NULL, E), PB_EEXIST,
	        "already approved plan 1");
	REFUSED(ws, pb_plan_apply(ws, "alice", 1, NULL, NULL, E), PB_ESTATE,
	        "has 1 of the 2 approvals");
	/* an approver who writes a plan cannot approve it */
	int64_t id2 = 0;
	const char *d2[] = { "service='Virtual Machines'" };
	struct pb_plan_terms t2 = terms(d2, 1, NULL, 0);
	CHECK_OK(pb_plan_new(ws, cat, "bob", 1, &t2, &id2, NULL, &err), &err);
	REFUSED(ws, pb_plan_approve(ws, "bob", id2, NULL, NULL, NULL, NULL, E), PB_EPERM,
	        "is an author of plan 2");
	/* a change needs new approvals; the old hash is stale; editors are authors */
	struct pb_plan_terms te = { 0 };
	te.review_by = "2027-03-01";
	CHECK_OK(pb_plan_edit(ws, cat, "frank", 1, &te, false, NULL, &err), &err);
	p = get(ws, 1);
	if (!p)
		goto out;
	CHECK_INT(p->approvals, 0);
	CHECK_INT(p->revision, 2);
	CHECK_STR(p->review_by, "2027-03-01");
	CHECK(strcmp(p->sha256, sha1) != 0);
	char sha2[65];
	pb__strlcpy(sha2, p->sha256, sizeof(sha2));
	pb_plan_free(p);
	REFUSED(ws, pb_plan_approve(ws, "dana", 1, sha1, NULL, NULL, NULL, E), PB_ESTATE,
	        "has changed since the version you reviewed");
	REFUSED(ws, pb_plan_refuse(ws, "dana", 1, sha1, "no", NULL, E), PB_ESTATE,
	        "a stale plan is not refused");
	REFUSED(ws, pb_plan_edit(ws, cat, "alice", 1, &te, false, NULL, E), PB_EINVAL,
	        "nothing changed");
	CHECK_OK(pb_plan_approve(ws, "bob", 1, sha2, NULL, &have, NULL, &err), &err);
	CHECK_INT(have, 1);
	CHECK_OK(pb_plan_approve(ws, "dana", 1, NULL, NULL, &have, NULL, &err), &err);
	CHECK_INT(have, 2);
	p = get(ws, 1);
	if (p)
		CHECK_STR(p->state, "draft: 2 of 2 approvals; ready to apply");
	pb_plan_free(p);

	/* apply: version 1 holds exactly the plan's rules */
	REFUSED(ws, pb_plan_apply(ws, "carol", 1, NULL, NULL, E), PB_EPERM, "needs the role");
	int64_t v = 0;
	/* the clock a detached signature's two steps share: the apply takes
	 * effect at it (its "from", signed in the statement), not at the second
	 * the signed step happens to run */
	int64_t at = pb_now() - 120;
	REFUSED(ws, pb_ws_set_clock(ws, pb_now() + 100, E), PB_EINVAL, "sign again");
	REFUSED(ws, pb_ws_set_clock(ws, pb_now() - PB_CLOCK_MAX_AGE - 5, E), PB_EINVAL,
	        "too long ago");
	CHECK_OK(pb_ws_set_clock(ws, at, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", 1, &v, &idx, &err), &err);
	CHECK_OK(pb_ws_set_clock(ws, 0, &err), &err);
	CHECK_INT(v, 1);
	char at_text[24], want_from[200];
	pb_time_format(at, at_text);
	snprintf(want_from, sizeof(want_from),
	         "SELECT count(*) FROM audit_entry WHERE action = 'plan.apply' AND "
	         "json_extract(CAST(data AS TEXT), '$.details.from') = '%s'",
	         at_text);
	CHECK_INT(sql_int(ws, want_from), 1);
	/* sealed in the same step: a signed checkpoint covers the apply entry */
	CHECK_INT(sql_int(ws, "SELECT max(size) FROM audit_checkpoint"), (long long)idx + 1);
	REFUSED(ws, pb_plan_apply(ws, "alice", 1, NULL, NULL, E), PB_ESTATE,
	        "plan 1 is already applied (entitlements version 1)");
	REFUSED(ws, pb_plan_edit(ws, cat, "alice", 1, &te, false, NULL, E), PB_ESTATE,
	        "only a draft can be changed");
	REFUSED(ws, pb_plan_approve(ws, "erin", 1, NULL, NULL, NULL, NULL, E), PB_ESTATE,
	        "only a draft can be approved");
	struct pb_entitlements *e = NULL;
	CHECK_OK(pb_entitlements_load(ws, 1, &e, &err), &err);
	p = get(ws, 1);
	if (e && p) {
		CHECK_INT(pb_entitlements_count(e), 3);
		for (size_t i = 0; i < 3; i++) {
			const struct pb_rule *r = pb_entitlements_rule(e, i);
			CHECK_STR(r->plan, "1");
			CHECK_STR(r->case_ref, "1");
			CHECK_INT(r->from, p->in_force_from);
			CHECK_INT(r->until, PB_TIME_OPEN_END);
			CHECK_INT(r->effect, i < 2 ? PB_EFFECT_DISABLE : PB_EFFECT_KEEP);
			CHECK_INT(r->nvalues[PB_DIM_ACCOUNT], 1);
			CHECK_STR(r->values[PB_DIM_ACCOUNT][0], "EA-1");
		}
		CHECK(p->in_force_from > 0 && p->in_force_from <= pb_now());
		CHECK_STR(p->status, "applied");
		/* the apply entry pins the exact entitlements */
		char *data = NULL;
		size_t len = 0;
		CHECK_OK(pb_audit_entry_data(ws, idx, &data, &len, &err), &err);
		char want[128];
		snprintf(want, sizeof(want), "\"entitlements_sha256\":\"%s\"", pb_entitlements_sha256(e));
		CHECK(data && strstr(data, want));
		CHECK(data && strstr(data, "\"action\":\"plan.apply\""));
		CHECK(data && strstr(data, "\"case\":1"));
		free(data);
	}
	pb_plan_free(p);
	/* decisions from version 1 */
	struct pb_decider *dec = NULL;
	if (e) {
		CHECK_OK(pb_decider_new(e, cat, &dec, &err), &err);
		struct pb_decide_request q = { PB_STR("EA-1"), PB_STR("s-int"), PB_STR("Storage Accounts"),
			                       PB_STR("westeurope"), { 0 }, { 0 }, pb_now() + 5 };
		struct pb_decision dd;
		pb_decide(dec, &q, &dd);
		CHECK(!dd.allow);
		CHECK_STR(dd.rule->plan, "1");
		q.service = PB_STR("Key Vault");
		pb_decide(dec, &q, &dd);
		CHECK(dd.allow);
		q.service = PB_STR("Storage Accounts");
		q.account = PB_STR("EA-3");
		pb_decide(dec, &q, &dd);
		CHECK(dd.allow);
		CHECK_INT(dd.why, PB_WHY_NO_RULES);
	}
	pb_decider_free(dec);
	pb_entitlements_free(e);

	/* rollback */
	REFUSED(ws, pb_plan_rollback(ws, "bob", id2, "not in force", NULL, NULL, NULL, NULL, E),
	        PB_ESTATE, "plan 2 is not in force (it is draft)");
	REFUSED(ws, pb_plan_rollback(ws, "alice", 1, "why not", NULL, NULL, NULL, NULL, E), PB_EPERM,
	        "needs the role approver");
	REFUSED(ws, pb_plan_rollback(ws, "bob", 1, NULL, NULL, NULL, NULL, NULL, E), PB_EINVAL,
	        "'reason' is required");
	/* two approvers by default: the first asks, the second rolls back */
	CHECK_OK(pb_plan_rollback(ws, "bob", 1, "appeal upheld", &v, NULL, NULL, NULL, &err), &err);
	CHECK_INT(v, 0);
	CHECK_OK(pb_plan_rollback(ws, "erin", 1, "appeal upheld", &v, NULL, NULL, NULL, &err), &err);
	CHECK_INT(v, 2);
	CHECK_INT(sql_int(ws, "SELECT max(size) FROM audit_checkpoint"),
	          sql_int(ws, "SELECT count(*) FROM audit_entry"));
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	if (e) {
		CHECK_INT(pb_entitlements_version(e), 2);
		CHECK_INT(pb_entitlements_count(e), 0);
		CHECK(strstr(pb_entitlements_reason(e), "appeal upheld") != NULL);
	}
	pb_entitlements_free(e);
	REFUSED(ws, pb_plan_rollback(ws, "dana", 1, "again", NULL, NULL, NULL, NULL, E), PB_ESTATE,
	        "plan 1 is not in force (it is rolled-back)");
	REFUSED(ws, pb_plan_apply(ws, "alice", 1, NULL, NULL, E), PB_ESTATE,
	        "plan 1 is rolled-back; it cannot be applied");

	/* a refusal blocks apply until the plan changes */
	int64_t id3 = 0;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id3, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id3, NULL, NULL, NULL, NULL, &err), &err);
	REFUSED(ws, pb_plan_refuse(ws, "erin", id3, NULL, NULL, NULL, E), PB_EINVAL,
	        "'reason' is required");
	CHECK_OK(pb_plan_refuse(ws, "erin", id3, NULL, "not proportionate", NULL, &err), &err);
	REFUSED(ws, pb_plan_approve(ws, "erin", id3, NULL, NULL, NULL, NULL, E), PB_EEXIST,
	        "already refused plan 3");
	CHECK_OK(pb_plan_approve(ws, "dana", id3, NULL, NULL, NULL, NULL, &err), &err);
	REFUSED(ws, pb_plan_apply(ws, "alice", id3, NULL, NULL, E), PB_ESTATE,
	        "plan 3 was refused by erin");
	const char *keep2[] = { "category=Security", "service='Key Vault'" };
	struct pb_plan_terms tk2 = terms(NULL, 0, keep2, 2);
	CHECK_OK(pb_plan_edit(ws, cat, "alice", id3, &tk2, false, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "erin", id3, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id3, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", id3, &v, NULL, &err), &err);
	CHECK_INT(v, 3);

	/* withdraw */
	REFUSED(ws, pb_plan_withdraw(ws, "alice", id3, "done", NULL, E), PB_ESTATE,
	        "roll it back instead");
	CHECK_OK(pb_plan_withdraw(ws, "alice", id2, "superseded", NULL, &err), &err);
	REFUSED(ws, pb_plan_approve(ws, "dana", id2, NULL, NULL, NULL, NULL, E), PB_ESTATE,
	        "plan 2 is withdrawn");

	/* every step is in the log, in order, under case 1; the log checks */
	const char *want[] = { "plan.new", "plan.approve", "plan.new", "plan.edit", "plan.approve",
		               "plan.approve", "plan.apply", "plan.rollback-request", "plan.rollback",
		               "plan.new",
		               "plan.approve", "plan.refuse", "plan.approve", "plan.edit",
		               "plan.approve", "plan.approve", "plan.apply", "plan.withdraw" };
	sqlite3_stmt *q;
	sqlite3_prepare_v2(ws->db,
	                   "SELECT action, case_id FROM audit_entry WHERE action LIKE 'plan.%' "
	                   "ORDER BY idx",
	                   -1, &q, NULL);
	size_t n = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (n < PB_ARRAY_LEN(want))
			CHECK_STR((const char *)sqlite3_column_text(q, 0), want[n]);
		CHECK_INT(sqlite3_column_int64(q, 1), 1);
		n++;
	}
	sqlite3_finalize(q);
	CHECK_INT(n, PB_ARRAY_LEN(want));
	/* every step has its row, plus the forged one */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM plan_event"), (long long)PB_ARRAY_LEN(want) + 1);
	/* each plan_event row names its own log entry */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM plan_event e JOIN audit_entry a ON "
	                      "a.idx = e.log_index AND a.subject = 'plan/' || e.plan_id"),
	          (long long)PB_ARRAY_LEN(want));
	char bad_obj[256];
	CHECK_OK(pb_audit_check(ws, bad_obj, sizeof(bad_obj), &err), &err);
	/* the events are append-only */
	CHECK(sqlite3_exec(ws->db, "DELETE FROM plan_event", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(ws->db, "UPDATE plan_event SET actor = 'x'", NULL, NULL, NULL) !=
	      SQLITE_OK);
	/* a body edited behind probity's back no longer loads */
	sql(ws, "UPDATE plan SET body = replace(body, 'Storage', 'Compute') WHERE id = 1");
	struct pb_plan *bad_p = NULL;
	CHECK_INT(pb_plan_get(ws, 1, &bad_p, &err), PB_EVERIFY);
	CHECK(bad_p == NULL);
out:
	world_end(ws, dir);
}

/* rollback_approvals = 2: the first approver's request is recorded, the
 * second rolls back */
static void t_rollback_approvals(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, false);
	struct pb_error err = { 0 };
	conf_add(wsdir(dir), "rollback_approvals = 2");
	conf_add(wsdir(dir), "plan_approvals = 3");
	ws = reopen(ws, wsdir(dir));
	if (!ws)
		goto out;
	const char *dis[] = { "all" };
	struct pb_plan_terms t = terms(dis, 1, NULL, 0);
	t.approvals = 2;
	int64_t id;
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, E), PB_EINVAL,
	        "at least 3 approvals (probity.conf plan_approvals)");
	t.approvals = 0;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	REFUSED(ws, pb_plan_apply(ws, "alice", id, NULL, NULL, E), PB_ESTATE, "2 of the 3");
	CHECK_OK(pb_plan_approve(ws, "erin", id, NULL, NULL, NULL, NULL, &err), &err);
	int64_t v = 0;
	CHECK_OK(pb_plan_apply(ws, "alice", id, &v, NULL, &err), &err);
	CHECK_INT(v, 1);
	unsigned have = 0, need = 0;
	CHECK_OK(pb_plan_rollback(ws, "bob", id, "error in scope", &v, &have, &need, NULL, &err), &err);
	CHECK_INT(v, 0);
	CHECK_INT(have, 1);
	CHECK_INT(need, 2);
	struct pb_plan *p = get(ws, id);
	if (p) {
		CHECK_STR(p->status, "applied");
		CHECK(strstr(p->state, "rollback asked by 1 of 2") != NULL);
	}
	pb_plan_free(p);
	REFUSED(ws, pb_plan_rollback(ws, "bob", id, "again", &v, NULL, NULL, NULL, E), PB_EEXIST,
	        "already asked to roll back plan 1");
	CHECK_OK(pb_plan_rollback(ws, "dana", id, "agreed", &v, &have, &need, NULL, &err), &err);
	CHECK_INT(v, 2);
	CHECK_INT(have, 2);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = "
	                      "'plan.rollback-request'"),
	          1);
	/* a bad setting is refused, not guessed */
	conf_add(wsdir(dir), "plan_approvals = 1");
	ws = reopen(ws, wsdir(dir));
	if (ws)
		REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, E), PB_EINVAL,
		        "plan_approvals = '1' must be a whole number from 2");
out:
	world_end(ws, dir);
}

/* plan apply counts approvals from the log: at least two whatever the body
 * says, from approvers enabled with the role at apply time, never authors
 * (any version), bound to the body hash its last new/edit entry recorded. */
static void t_apply_rules(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, false);
	struct pb_error err = { 0 };
	const char *dis[] = { "all" };
	const char *dis2[] = { "category=Storage" };
	struct pb_plan_terms t = terms(dis, 1, NULL, 0);
	int64_t id = 0, v = 0;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	/* the body rewritten to "approvals":0, its hash made to match */
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	char q[512];
	snprintf(q, sizeof(q), "UPDATE plan SET body = replace(body, '\"approvals\":2', "
	                       "'\"approvals\":0') WHERE id = %lld",
	         (long long)id);
	sql(ws, q);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM plan WHERE body LIKE '%\"approvals\":0%'"), 1);
	sql(ws, "CREATE TEMP TABLE h(sha)"); /* the new body's SHA-256, computed here */
	{
		sqlite3_stmt *st;
		snprintf(q, sizeof(q), "SELECT body FROM plan WHERE id = %lld", (long long)id);
		if (sqlite3_prepare_v2(ws->db, q, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			uint8_t h[32];
			char hex[65];
			pb__sha256(sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0), h);
			pb_hex(h, 32, hex);
			snprintf(q, sizeof(q), "UPDATE plan SET sha256 = '%s' WHERE id = %lld", hex,
			         (long long)id);
		}
		sqlite3_finalize(st);
		sql(ws, q);
	}
	REFUSED(ws, pb_plan_apply(ws, "alice", id, &v, NULL, E), PB_EVERIFY,
	        "is not the one its last plan.new or plan.edit log entry recorded");
	sql(ws, "DROP TABLE h");

	/* a fresh plan: an approver disabled after approving no longer counts */
	int64_t id2 = 0;
	struct pb_plan_terms t2 = terms(dis2, 1, NULL, 0);
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t2, &id2, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id2, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id2, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_user_disable(ws, "root", "dana", NULL, &err), &err);
	REFUSED(ws, pb_plan_apply(ws, "alice", id2, &v, NULL, E), PB_ESTATE, "has 1 of the 2");
	/* ... nor one whose role was changed */
	CHECK_OK(pb_plan_approve(ws, "erin", id2, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_user_set_role(ws, "root", "erin", "auditor", NULL, &err), &err);
	REFUSED(ws, pb_plan_apply(ws, "alice", id2, &v, NULL, E), PB_ESTATE, "has 1 of the 2");
	CHECK_OK(pb_user_set_role(ws, "root", "erin", "approver", NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", id2, &v, NULL, &err), &err);
	/* the apply entry lists only the approvals that counted */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'plan.apply' AND "
	                      "instr(CAST(data AS TEXT), '\"actor\":\"dana\"') > 0"),
	          0);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'plan.apply' AND "
	                      "instr(CAST(data AS TEXT), '\"actor\":\"erin\"') > 0"),
	          1);
	world_end(ws, dir);

	/* A -> B -> A: bob approves A, edits to B (an author now), alice edits
	 * back to A: bob's approval of A no longer counts */
	ws = world(&dir, false);
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	struct pb_plan *p = get(ws, id);
	char sha_a[65] = "";
	if (p)
		snprintf(sha_a, sizeof(sha_a), "%s", p->sha256);
	pb_plan_free(p);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_edit(ws, cat, "bob", id, &t2, false, NULL, &err), &err);
	CHECK_OK(pb_plan_edit(ws, cat, "alice", id, &t, false, NULL, &err), &err);
	p = get(ws, id);
	if (p)
		CHECK_STR(p->sha256, sha_a);
	pb_plan_free(p);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	REFUSED(ws, pb_plan_apply(ws, "alice", id, &v, NULL, E), PB_ESTATE, "has 1 of the 2");
	CHECK_OK(pb_plan_approve(ws, "erin", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", id, &v, NULL, &err), &err);
	world_end(ws, dir);
}

/* Rollback needs two approvers unless an admin lowers it, on the log. */
static void t_rollback_policy(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, false);
	struct pb_error err = { 0 };
	const char *dis[] = { "all" };
	struct pb_plan_terms t = terms(dis, 1, NULL, 0);
	int64_t id = 0, v = 0;
	unsigned have = 0, need = 0;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", id, &v, NULL, &err), &err);
	CHECK_OK(pb_plan_rollback(ws, "bob", id, "one is not enough", &v, &have, &need, NULL, &err),
	         &err);
	CHECK_INT(v, 0);
	CHECK_INT(need, 2);
	REFUSED(ws, pb_plan_set_rollback_approvals(ws, "bob", 1, NULL, E), PB_EPERM,
	        "needs the role admin");
	REFUSED(ws, pb_plan_set_rollback_approvals(ws, "root", 0, NULL, E), PB_EINVAL,
	        "'rollback_approvals' must be from 1 to 100");
	uint64_t idx = 0;
	CHECK_OK(pb_plan_set_rollback_approvals(ws, "root", 1, &idx, &err), &err);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'plan.policy' AND "
	                      "instr(CAST(data AS TEXT), '\"rollback_approvals\":1') > 0"),
	          1);
	CHECK_OK(pb_plan_rollback(ws, "dana", id, "now one is", &v, &have, &need, NULL, &err), &err);
	CHECK(v > 0);
	CHECK_INT(need, 1);
	/* probity.conf can raise it, not lower it */
	conf_add(wsdir(dir), "rollback_approvals = 3");
	ws = reopen(ws, wsdir(dir));
	struct pb_plan *p = get(ws, id);
	if (p)
		CHECK_INT(p->rollback_needed, 3);
	pb_plan_free(p);
	world_end(ws, dir);
}

/* ---- accounts and sub-accounts --------------------------------------------------------- */

static void rule_accounts(const struct pb_rule *r, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->nvalues[PB_DIM_ACCOUNT]; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "", r->values[PB_DIM_ACCOUNT][i]);
	o += (size_t)snprintf(buf + o, cap - o, "/");
	for (size_t i = 0; i < r->nvalues[PB_DIM_SUBACCOUNT]; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "",
		                      r->values[PB_DIM_SUBACCOUNT][i]);
}

static void plan_accounts_are(struct pb_ws *ws, int64_t case_id, const char *sel, const char *want)
{
	struct pb_error err = { 0 };
	const char *dis[] = { sel };
	struct pb_plan_terms t = terms(dis, 1, NULL, 0);
	int64_t id = 0;
	CHECK_OK(pb_plan_new(ws, cat, "alice", case_id, &t, &id, NULL, &err), &err);
	struct pb_plan *p = id ? get(ws, id) : NULL;
	char got[512] = "", one[256];
	for (size_t i = 0; p && i < p->nrules; i++) {
		rule_accounts(&p->rules[i], one, sizeof(one));
		size_t l = strlen(got);
		snprintf(got + l, sizeof(got) - l, "%s%s", i ? ";" : "", one);
	}
	if (strcmp(got, want))
		UNIT_FAIL_("'%s' on case %lld: rules for %s, expected %s", sel, (long long)case_id, got,
		           want);
	pb_plan_free(p);
}

static void t_accounts(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, true);
	struct pb_error err = { 0 };
	plan_accounts_are(ws, 1, "category=Storage", "EA-1/");
	plan_accounts_are(ws, 1, "subaccount=s-int category=Storage", "EA-1/s-int");
	plan_accounts_are(ws, 1, "account=ea-1 subaccount=s-rec,s-int", "ea-1/s-rec,s-int");
	plan_accounts_are(ws, 2, "category=Storage", "EA-2/x-9");
	plan_accounts_are(ws, 2, "subaccount=x-9", "EA-2/x-9");
	plan_accounts_are(ws, 2, "account=EA-2 subaccount=x-9", "EA-2/x-9");
	const char *bad[][2] = {
		{ "account=EA-2", "account 'EA-2' is not a billing account of customer "
		                  "'Varnia Interior Ministry'" },
		{ "subaccount=x-9", "sub-account 'x-9' is not one of customer 'Varnia" },
		{ "subaccount=nope", "sub-account 'nope' is not one of customer" },
	};
	int64_t id;
	for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
		const char *dis[] = { bad[i][0] };
		struct pb_plan_terms t = terms(dis, 1, NULL, 0);
		REFUSED(ws, pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, E), PB_EINVAL, bad[i][1]);
	}
	const char *bad2[][2] = {
		{ "account=EA-2", "account 'EA-2' is not a billing account of customer 'Orbis Labs'" },
		{ "account=EA-2 subaccount=y-1", "account 'EA-2' is not a billing account" },
		{ "subaccount=y-1", "sub-account 'y-1' is not one of customer 'Orbis Labs'" },
	};
	for (size_t i = 0; i < PB_ARRAY_LEN(bad2); i++) {
		const char *dis[] = { bad2[i][0] };
		struct pb_plan_terms t = terms(dis, 1, NULL, 0);
		REFUSED(ws, pb_plan_new(ws, cat, "alice", 2, &t, &id, NULL, E), PB_EINVAL, bad2[i][1]);
	}
	/* a customer whose sub-account no export has shown: its billing account
	 * is unknown, so the plan must name it */
	const char *g1[] = { "g-1" };
	CHECK_OK(pb_customer_add(ws, "alice", "Ghost Corp", NULL, 0, g1, 1, &err), &err);
	struct pb_case_open_options o = { "Ghost Corp", "t", "t", NULL, NULL };
	CHECK_OK(pb_case_open(ws, "alice", &o, NULL, NULL, &err), &err);
	const char *dis[] = { "all" };
	struct pb_plan_terms t = terms(dis, 1, NULL, 0);
	REFUSED(ws, pb_plan_new(ws, cat, "alice", 3, &t, &id, NULL, E), PB_EINVAL,
	        "no usage export has shown under a billing account yet");
	plan_accounts_are(ws, 3, "account=EA-9 subaccount=g-1", "EA-9/g-1");
	/* Orbis's plan cuts its sub-account only; a call without a sub-account
	 * fails closed */
	const char *d2[] = { "category=Storage" };
	struct pb_plan_terms t2 = terms(d2, 1, NULL, 0);
	CHECK_OK(pb_plan_new(ws, cat, "alice", 2, &t2, &id, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "frank", id, NULL, NULL, &err), &err);
	struct pb_entitlements *e = NULL;
	struct pb_decider *dec = NULL;
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	if (e)
		CHECK_OK(pb_decider_new(e, cat, &dec, &err), &err);
	if (dec) {
		struct pb_decide_request q = { PB_STR("EA-2"), PB_STR("x-9"), PB_STR("Storage Accounts"),
			                       PB_STR("westeurope"), { 0 }, { 0 }, pb_now() + 5 };
		struct pb_decision d;
		pb_decide(dec, &q, &d);
		CHECK(!d.allow);
		q.subaccount = PB_STR("y-1");
		pb_decide(dec, &q, &d);
		CHECK(d.allow);
		q.subaccount = (struct pb_str){ NULL, 0 };
		pb_decide(dec, &q, &d);
		CHECK(!d.allow);
		CHECK(d.flags & PB_DECIDE_NO_SUBACCOUNT);
	}
	pb_decider_free(dec);
	pb_entitlements_free(e);
	world_end(ws, dir);
}

/* ---- time windows ---------------------------------------------------------------------------- */

static void t_windows(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, false);
	struct pb_error err = { 0 };
	const char *dis[] = { "category=Storage" };
	struct pb_plan_terms t = terms(dis, 1, NULL, 0);
	t.effective = "2090-01-01T00:00:00Z";
	t.until = "2090-02-01T00:00:00Z";
	int64_t id, v;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", id, &v, NULL, &err), &err);
	struct pb_plan *p = get(ws, id);
	int64_t eff = 0, until = 0;
	pb_time_parse("2090-01-01T00:00:00Z", 20, &eff, NULL);
	pb_time_parse("2090-02-01T00:00:00Z", 20, &until, NULL);
	if (p) {
		CHECK_INT(p->in_force_from, eff);
		CHECK(strstr(p->state, "in force from 2090-01-01") != NULL);
	}
	pb_plan_free(p);
	struct pb_entitlements *e = NULL;
	struct pb_decider *dec = NULL;
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	if (e)
		CHECK_OK(pb_decider_new(e, cat, &dec, &err), &err);
	if (dec) {
		struct pb_decide_request q = { PB_STR("EA-1"), PB_STR("s-1"), PB_STR("Storage Accounts"),
			                       PB_STR("westeurope"), { 0 }, { 0 }, eff - 1 };
		struct pb_decision d;
		pb_decide(dec, &q, &d);
		CHECK(d.allow);
		q.at = eff;
		pb_decide(dec, &q, &d);
		CHECK(!d.allow);
		q.at = until - 1;
		pb_decide(dec, &q, &d);
		CHECK(!d.allow);
		q.at = until;
		pb_decide(dec, &q, &d);
		CHECK(d.allow);
	}
	pb_decider_free(dec);
	pb_entitlements_free(e);
	/* an effective time already past takes effect when applied, not before */
	t.effective = "2001-01-01T00:00:00Z";
	t.until = NULL;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	int64_t before = pb_now();
	CHECK_OK(pb_plan_apply(ws, "alice", id, &v, NULL, &err), &err);
	p = get(ws, id);
	if (p)
		CHECK(p->in_force_from >= before && p->in_force_from <= pb_now());
	pb_plan_free(p);
	/* a window that has ended cannot be applied */
	t.effective = NULL;
	t.until = "2001-01-01T00:00:00Z";
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	REFUSED(ws, pb_plan_apply(ws, "alice", id, &v, NULL, E), PB_ESTATE, "which has passed");
	world_end(ws, dir);
}

/* ---- the dry run ------------------------------------------------------------------------------ */

struct want_row {
	const char *sub, *service, *capability, *region;
	bool cut;
	const char *cost;
};

static void t_dryrun(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, true);
	struct pb_error err = { 0 };
	const char *dis[] = { "category=Storage country=NL", "capability=speech-to-text,translation",
		              "category=Security region=westeurope",
		              "service='Amazon Simple Storage Service' region=eu-west-1" };
	const char *keep[] = { "category=Security", "country=DE" };
	struct pb_plan_terms t = terms(dis, 4, keep, 2);
	int64_t id;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	struct pb_plan *p = get(ws, id);
	struct pb_plan_dryrun *d = NULL;
	if (p)
		CHECK_OK(pb_plan_dryrun(ws, cat, p, NULL, &d, &err), &err);
	if (!d)
		goto out;
	CHECK_STR(d->month, "2025-09");
	CHECK_STR(d->first_day, "2025-08-10");
	CHECK_STR(d->last_day, "2025-09-30");
	static const struct want_row want[] = {
		{ "s-int", "Storage Accounts", "object-storage", "westeurope", true, "2000" },
		{ "s-int", "Azure AI Services", "speech-to-text", "westeurope", true, "1000" },
		{ "s-rec", "Storage Accounts", "object-storage", "westeurope", true, "40" },
		{ "s-int", "Azure AI Services", "translation", "westeurope", true, "20" },
		{ "s-rec", "Quantum Widgets", "", "westeurope", true, "10" },
		{ "s-int", "Storage Accounts", "object-storage", "atlantis-1", true, "1" },
		{ "s-rec", "Virtual Machines", "virtual-machines", "northeurope", false, "140" },
		{ "s-sec", "Microsoft Defender for Cloud", "security-monitoring", "westeurope", false,
		  "30" },
		{ "s-rec", "Azure AI Services", "image-analysis", "westeurope", false, "2" },
		{ "s-sec", "Key Vault", "key-management", "westeurope", false, "0.6" },
		{ "s-rec", "Storage Accounts", "object-storage", "eastus", false, "0.4" },
	};
	CHECK_INT(d->nrows, PB_ARRAY_LEN(want));
	CHECK_INT(d->ncut, 6);
	for (size_t i = 0; i < d->nrows && i < PB_ARRAY_LEN(want); i++) {
		const struct pb_plan_usage *u = &d->rows[i];
		CHECK_STR(u->account, "EA-1");
		CHECK_STR(u->subaccount, want[i].sub);
		CHECK_STR(u->service, want[i].service);
		CHECK_STR(u->capability, want[i].capability);
		CHECK_STR(u->region, want[i].region);
		CHECK_INT(u->cut, want[i].cut);
		CHECK_STR(u->cost, want[i].cost);
		CHECK_STR(u->currency, "EUR");
		CHECK_STR(u->last_day, "2025-09-30");
	}
	/* who cut what, who kept what */
	if (d->nrows == PB_ARRAY_LEN(want)) {
		CHECK_INT(d->rows[0].by, 0);                 /* disable 1 */
		CHECK_INT(d->rows[1].by, 1);                 /* disable 2 */
		CHECK_INT(d->rows[4].by, 0);                 /* unknown service: fails closed */
		CHECK(d->rows[4].flags & PB_DECIDE_UNKNOWN_SERVICE);
		CHECK(d->rows[5].flags & PB_DECIDE_UNKNOWN_REGION);
		CHECK_INT(d->rows[7].by, 2);                 /* Defender: disable 3 ... */
		CHECK_INT(d->rows[7].kept_by, 4);            /* ... kept by keep 1 */
		CHECK_INT(d->rows[6].by, -1);                /* VMs: nothing applies */
		CHECK_STR(d->rows[0].quantity, "100000");
		CHECK(d->rows[0].share > 0.6165 && d->rows[0].share < 0.6166); /* 2000 / 3244 */
	}
	CHECK_INT(d->nspend, 1);
	if (d->nspend) {
		CHECK_STR(d->spend[0].total, "3244");
		CHECK_STR(d->spend[0].cut, "3071");
		CHECK_STR(d->spend[0].kept, "30.6");
	}
	/* selectors that match nothing: disable 4 (an AWS service in Ireland: even
	 * the unknown service is known to be in westeurope), keep 2 (DE) */
	CHECK_INT(p->nselectors, 6);
	size_t zero = 0;
	for (size_t i = 0; i < p->nselectors; i++)
		zero += d->matches[i] == 0;
	CHECK_INT(zero, 2);
	CHECK_INT(d->matches[3], 0);
	CHECK_INT(d->matches[5], 0);
	CHECK_INT(d->matches[0], 4); /* storage NL x2, unknown region, unknown service */
	/* keep 1 cancels disable 3 whatever the usage */
	CHECK_INT(d->ncancels, 1);
	if (d->ncancels) {
		CHECK_INT(d->cancels[0][0], 4);
		CHECK_INT(d->cancels[0][1], 2);
		CHECK(d->cancels_always[0]);
	}
	bool split_note = false;
	for (size_t i = 0; i < d->nnotes; i++)
		split_note |= strstr(d->notes[i], "'Azure AI Services' is cut for some capabilities") != NULL;
	CHECK(split_note);
	/* another month */
	struct pb_plan_dryrun *d8 = NULL;
	CHECK_OK(pb_plan_dryrun(ws, cat, p, "2025-08", &d8, &err), &err);
	if (d8 && d8->nrows) {
		CHECK_STR(d8->month, "2025-08");
		CHECK_STR(d8->rows[0].cost, "1000");
		CHECK_STR(d8->spend[0].total, "1622");
	}
	pb_plan_dryrun_free(d8);
	CHECK_INT(pb_plan_dryrun(ws, cat, p, "2025-13", &d8, &err), PB_EINVAL);

	/* a preview of the same terms: the same hash but for its number, the
	 * same dry run, and nothing written; a bad selector names its term */
	struct pb_plan *pv = NULL;
	struct pb_plan_dryrun *dv = NULL;
	struct snap s0 = snap(ws);
	CHECK_OK(pb_plan_preview(ws, cat, 1, &t, &pv, &err), &err);
	if (pv) {
		CHECK_INT(pv->id, 0);
		CHECK_INT(pv->nselectors, 6);
		CHECK_STR(pv->customer, p->customer);
		CHECK_OK(pb_plan_dryrun(ws, cat, pv, NULL, &dv, &err), &err);
		if (dv) {
			CHECK_INT(dv->nrows, d->nrows);
			CHECK_INT(dv->ncut, d->ncut);
			CHECK_STR(dv->spend[0].cut, "3071");
		}
	}
	pb_plan_dryrun_free(dv);
	pb_plan_free(pv);
	struct snap s1 = snap(ws);
	CHECK_SAME(s0, s1);
	const char *bad[] = { "service=nosuchservice" };
	struct pb_plan_terms tb = terms(bad, 1, NULL, 0);
	struct pb_error eb = { 0 };
	CHECK_INT(pb_plan_preview(ws, cat, 1, &tb, &pv, &eb), PB_EINVAL);
	CHECK_STR(eb.field, "disable");
	CHECK(pv == NULL);
	CHECK_INT(pb_plan_preview(ws, cat, 9, &t, &pv, &eb), PB_ENOENT);

	/* the dry run says what the decision table will do: apply, then ask */
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_apply(ws, "alice", id, NULL, NULL, &err), &err);
	struct pb_entitlements *e = NULL;
	struct pb_decider *dec = NULL;
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	if (e)
		CHECK_OK(pb_decider_new(e, cat, &dec, &err), &err);
	for (size_t i = 0; dec && i < d->nrows; i++) {
		const struct pb_plan_usage *u = &d->rows[i];
		struct pb_decide_request q = { pb_cstr(u->account), pb_cstr(u->subaccount),
			                       pb_cstr(u->service), pb_cstr(u->region),
			                       u->capability[0] ? pb_cstr(u->capability)
			                                        : (struct pb_str){ NULL, 0 },
			                       { 0 }, pb_now() + 5 };
		struct pb_decision r;
		pb_decide(dec, &q, &r);
		if (r.allow == u->cut)
			UNIT_FAIL_("%s %s %s: dry run says %s, the table %s", u->service, u->capability,
			           u->region, u->cut ? "cut" : "on", r.allow ? "allows" : "denies");
	}
	pb_decider_free(dec);
	pb_entitlements_free(e);
	/* JSON carries the same */
	char *js = NULL;
	CHECK_OK(pb_plan_json(p, d, &js, &err), &err);
	CHECK(js && strstr(js, "\"matches_nothing\""));
	CHECK(js && strstr(js, "\"text\": \"service='Amazon Simple Storage Service' region=eu-west-1\""));
	CHECK(js && strstr(js, "\"cut\": \"3071\""));
	free(js);
	/* a customer without usage: an empty dry run that says so */
	const char *a9[] = { "EA-77" };
	CHECK_OK(pb_customer_add(ws, "alice", "Quiet Ltd", a9, 1, NULL, 0, &err), &err);
	struct pb_case_open_options o = { "Quiet Ltd", "t", "t", NULL, NULL };
	CHECK_OK(pb_case_open(ws, "alice", &o, NULL, NULL, &err), &err);
	const char *da[] = { "all" };
	struct pb_plan_terms ta = terms(da, 1, NULL, 0);
	int64_t id2;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 3, &ta, &id2, NULL, &err), &err);
	struct pb_plan *p2 = get(ws, id2);
	struct pb_plan_dryrun *d2 = NULL;
	if (p2)
		CHECK_OK(pb_plan_dryrun(ws, cat, p2, NULL, &d2, &err), &err);
	if (d2) {
		CHECK_INT(d2->nrows, 0);
		CHECK(d2->nnotes && strstr(d2->notes[0], "no usage of customer 'Quiet Ltd'"));
	}
	pb_plan_dryrun_free(d2);
	pb_plan_free(p2);
out:
	pb_plan_dryrun_free(d);
	pb_plan_free(p);
	world_end(ws, dir);
}

/* ---- notices ----------------------------------------------------------------------------------- */

static void t_notice(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, true);
	struct pb_error err = { 0 };
	CHECK_OK(pb_plan_set_rollback_approvals(ws, "root", 1, NULL, &err), &err); /* one approver rolls back here */
	conf_add(wsdir(dir), "provider_name = Northwind Cloud");
	conf_add(wsdir(dir), "appeal_contact = appeals@northwind.example");
	ws = reopen(ws, wsdir(dir));
	if (!ws)
		goto out;
	const char *dis[] = { "category=Storage country=NL" };
	const char *keep[] = { "category=Security" };
	struct pb_plan_terms t = terms(dis, 1, keep, 1);
	t.clause = "Acceptable Use Policy, section 3(b): mass surveillance";
	t.appeal_days = 14;
	t.review_by = "2026-03-01";
	int64_t id;
	CHECK_OK(pb_plan_new(ws, cat, "alice", 1, &t, &id, NULL, &err), &err);
	int64_t when = 0;
	pb_time_parse("2025-10-01T00:00:00Z", 20, &when, NULL);
	struct pb_notice_options o = { PB_NOTICE_TEXT, false, when };
	char *text = NULL;
	REFUSED(ws, pb_notice_make(ws, cat, "alice", id, &o, &text, NULL, E), PB_ESTATE,
	        "is not approved");
	o.draft = true;
	struct snap s0 = snap(ws);
	CHECK_OK(pb_notice_make(ws, cat, NULL, id, &o, &text, NULL, &err), &err);
	struct snap s1 = snap(ws);
	CHECK_SAME(s0, s1);
	CHECK(text && strstr(text, "DRAFT"));
	free(text);
	text = NULL;
	o.draft = false;
	CHECK_OK(pb_plan_approve(ws, "bob", id, NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_approve(ws, "dana", id, NULL, NULL, NULL, NULL, &err), &err);
	REFUSED(ws, pb_notice_make(ws, cat, "carol", id, &o, &text, NULL, E), PB_EPERM,
	        "needs the role");
	/* approved, not yet applied: announced */
	uint64_t idx = 0;
	CHECK_OK(pb_notice_make(ws, cat, "alice", id, &o, &text, &idx, &err), &err);
	const char *must[] = { "Notice of service restriction", "To                Varnia Interior Ministry",
		               "Billing accounts  EA-1", "From              Northwind Cloud",
		               "Date              2025-10-01", "Reference         case 1, plan 1",
		               "We will disable", "services in the category Storage",
		               "located in NL", "Storage Accounts (object-storage) in westeurope",
		               "services in the category Security", "Virtual Machines",
		               "Acceptable Use Policy, section 3(b)", "until 2025-10-15 (14 days",
		               "appeals@northwind.example", "quoting the reference \"case 1, plan 1\"",
		               "reviewed by 2026-03-01" };
	char *flat = text ? strdup(text) : NULL; /* lines joined: wrapping is not under test */
	if (flat) {
		char *w = flat;
		for (char *r = flat; *r; r++) {
			if (*r == '\n') {
				while (r[1] == ' ')
					r++;
				*w++ = ' ';
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
	}
	for (size_t i = 0; flat && i < PB_ARRAY_LEN(must); i++)
		if (!strstr(flat, must[i]))
			UNIT_FAIL_("text notice lacks '%s':\n%s", must[i], text);
	free(flat);
	/* never a pseudonym from usage, never an internal case title */
	CHECK(text && !strstr(text, "ps:"));
	CHECK(text && !strstr(text, "Surveillance report"));
	/* the log holds its hash */
	if (text) {
		uint8_t h[32];
		char hex[65], *data = NULL;
		size_t len;
		pb__sha256(text, strlen(text), h);
		pb_hex(h, 32, hex);
		CHECK_OK(pb_audit_entry_data(ws, idx, &data, &len, &err), &err);
		CHECK(data && strstr(data, hex));
		CHECK(data && strstr(data, "\"respond_by\":\"2025-10-15\""));
		CHECK(data && strstr(data, "\"action\":\"plan.notice\""));
		free(data);
	}
	free(text);
	text = NULL;
	/* the three formats say the same */
	o.format = PB_NOTICE_MARKDOWN;
	CHECK_OK(pb_notice_make(ws, cat, "alice", id, &o, &text, NULL, &err), &err);
	CHECK(text && strstr(text, "# Notice of service restriction"));
	CHECK(text && strstr(text, "**To:** Varnia Interior Ministry"));
	CHECK(text && strstr(text, "- services in the category Storage"));
	free(text);
	text = NULL;
	o.format = PB_NOTICE_HTML;
	CHECK_OK(pb_notice_make(ws, cat, "alice", id, &o, &text, NULL, &err), &err);
	CHECK(text && strstr(text, "<!DOCTYPE html>"));
	CHECK(text && strstr(text, "<tr><th>To</th><td>Varnia Interior Ministry</td></tr>"));
	CHECK(text && strstr(text, "<li>services in the category Storage"));
	CHECK(text && strstr(text, "</html>\n"));
	free(text);
	text = NULL;
	/* applied, then lifted */
	CHECK_OK(pb_plan_apply(ws, "alice", id, NULL, NULL, &err), &err);
	o.format = PB_NOTICE_TEXT;
	CHECK_OK(pb_notice_make(ws, cat, "alice", id, &o, &text, NULL, &err), &err);
	CHECK(text && strstr(text, "We have disabled"));
	free(text);
	text = NULL;
	CHECK_OK(pb_plan_rollback(ws, "bob", id, "appeal upheld", NULL, NULL, NULL, NULL, &err), &err);
	CHECK_OK(pb_notice_make(ws, cat, "alice", id, &o, &text, NULL, &err), &err);
	CHECK(text && strstr(text, "Notice: service restriction lifted"));
	CHECK(text && strstr(text, "available again"));
	free(text);
	text = NULL;
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'plan.notice'"), 5);
	/* a customer name full of markup is escaped, not interpreted */
	const char *ea3[] = { "EA-3" };
	CHECK_OK(pb_customer_add(ws, "alice", "M\xc3\xbcller & <S\xc3\xb6hne> \"*_#", ea3, 1, NULL, 0, &err),
	         &err);
	struct pb_case_open_options co = { "M\xc3\xbcller & <S\xc3\xb6hne> \"*_#", "t", "t", NULL,
		                           NULL };
	CHECK_OK(pb_case_open(ws, "alice", &co, NULL, NULL, &err), &err);
	CHECK_OK(pb_plan_new(ws, cat, "alice", 3, &t, &id, NULL, &err), &err);
	o.draft = true;
	o.format = PB_NOTICE_HTML;
	CHECK_OK(pb_notice_make(ws, cat, NULL, id, &o, &text, NULL, &err), &err);
	CHECK(text && strstr(text, "M\xc3\xbcller &amp; &lt;S\xc3\xb6hne&gt; &quot;*_#"));
	CHECK(text && !strstr(text, "<S\xc3\xb6hne>"));
	free(text);
	text = NULL;
	o.format = PB_NOTICE_MARKDOWN;
	CHECK_OK(pb_notice_make(ws, cat, NULL, id, &o, &text, NULL, &err), &err);
	CHECK(text && strstr(text, "M\xc3\xbcller & \\<S\xc3\xb6hne\\> \"\\*\\_\\#"));
	free(text);
	text = NULL;
	/* withdrawn: nothing to notify */
	CHECK_OK(pb_plan_withdraw(ws, "alice", id, "wrong customer", NULL, &err), &err);
	o.draft = false;
	REFUSED(ws, pb_notice_make(ws, cat, "alice", id, &o, &text, NULL, E), PB_ESTATE,
	        "was withdrawn");
out:
	world_end(ws, dir);
}

/* ---- plan-level reference evaluator against the compiled table --------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}
#define PICK(arr) ((arr)[rnd((uint32_t)PB_ARRAY_LEN(arr))])

static bool ieq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* A selector as the generator wrote it (the reference reads this, never the
 * plan module's parse). */
struct gsel {
	bool keep;
	const char *v[PB_DIM_COUNT][3];
	size_t n[PB_DIM_COUNT];
};

struct gplan {
	int64_t id;
	int customer; /* 0: Alpha, 1: Beta */
	struct gsel sel[5];
	size_t nsel;
	int64_t from, until;
	bool in_force;
};

struct greq {
	const char *acct, *sub, *svc, *region, *cap, *meter;
	int64_t at;
};

/* the world of accounts */
static const char *const alpha_billing[] = { "A1", "A2" };
static const char *sub_billing(const char *sub)
{
	static const char *const map[][2] = { { "s1", "A1" }, { "s2", "A1" }, { "s3", "A2" },
		                              { "s8", "X1" }, { "s9", "X1" } };
	for (size_t i = 0; i < PB_ARRAY_LEN(map); i++)
		if (ieq(map[i][0], sub))
			return map[i][1];
	return NULL;
}

/* tri-state: 1 holds, 0 does not, -1 cannot tell */
static int ref_accounts(const struct gplan *p, const struct gsel *s, const struct greq *q)
{
	const char *const *A = s->v[PB_DIM_ACCOUNT], *const *S = s->v[PB_DIM_SUBACCOUNT];
	size_t na = s->n[PB_DIM_ACCOUNT], ns = s->n[PB_DIM_SUBACCOUNT];
	int best = 0;
	if (na) {
		bool acct = false;
		for (size_t i = 0; i < na; i++)
			acct |= ieq(A[i], q->acct);
		if (!acct)
			return 0;
		if (!ns)
			return 1;
		if (!q->sub)
			return -1;
		for (size_t i = 0; i < ns; i++)
			if (ieq(S[i], q->sub))
				return 1;
		return 0;
	}
	if (ns) {
		for (size_t i = 0; i < ns; i++)
			if (ieq(sub_billing(S[i]), q->acct)) {
				if (!q->sub)
					best = -1;
				else if (ieq(S[i], q->sub))
					return 1;
			}
		return best;
	}
	if (p->customer == 0) {
		for (size_t i = 0; i < PB_ARRAY_LEN(alpha_billing); i++)
			if (ieq(alpha_billing[i], q->acct))
				return 1;
		return 0;
	}
	/* Beta: billing B1, and sub-account s9 (under X1) */
	if (ieq(q->acct, "B1"))
		return 1;
	if (ieq(q->acct, "X1"))
		return !q->sub ? -1 : ieq(q->sub, "s9") ? 1 : 0;
	return 0;
}

static int ref_caps(const struct greq *q, const char **caps)
{
	const struct pb_service *s = pb_catalog_service(cat, pb_cstr(q->svc));
	const char *named = q->cap;
	if (!named && q->meter && s)
		named = pb_catalog_capability(cat, pb_cstr(q->svc), pb_cstr(q->meter));
	if (named) {
		if (s) {
			for (size_t i = 0; i < s->ncapabilities; i++)
				if (ieq(s->capabilities[i], named)) {
					caps[0] = s->capabilities[i];
					return 1;
				}
		} else if (pb_catalog_capability_known(cat, pb_cstr(named))) {
			caps[0] = named;
			return 1;
		}
	}
	if (!s)
		return -1;
	for (size_t i = 0; i < s->ncapabilities; i++)
		caps[i] = s->capabilities[i];
	return (int)s->ncapabilities;
}

static bool ref_applies(const struct gplan *p, const struct gsel *s, const struct greq *q,
                        bool may)
{
	const struct pb_service *sv = pb_catalog_service(cat, pb_cstr(q->svc));
	const struct pb_region *g = pb_catalog_region(cat, pb_cstr(q->region));
	int m = ref_accounts(p, s, q);
	if (m == 0 || (m < 0 && !may))
		return false;
	for (int d = PB_DIM_CATEGORY; d < PB_DIM_COUNT; d++) {
		if (!s->n[d])
			continue;
		if (d == PB_DIM_CAPABILITY) {
			const char *caps[64];
			int n = ref_caps(q, caps), hits = 0;
			if (n < 0) {
				if (!may)
					return false;
				continue;
			}
			for (int i = 0; i < n; i++)
				for (size_t j = 0; j < s->n[d]; j++)
					if (ieq(caps[i], s->v[d][j])) {
						hits++;
						break;
					}
			if (may ? hits == 0 : (n == 0 || hits < n))
				return false;
			continue;
		}
		int r = 0;
		if ((d <= PB_DIM_SERVICE && !sv) || (d >= PB_DIM_REGION && !g)) {
			r = -1;
		} else {
			for (size_t j = 0; j < s->n[d] && !r; j++) {
				const char *v = s->v[d][j];
				switch (d) {
				case PB_DIM_CATEGORY: r = ieq(v, sv->category); break;
				case PB_DIM_SUBCATEGORY: r = ieq(v, sv->subcategory); break;
				case PB_DIM_SERVICE: r = ieq(pb_catalog_service(cat, pb_cstr(v))->name, sv->name); break;
				case PB_DIM_REGION: r = ieq(pb_catalog_region(cat, pb_cstr(v))->id, g->id); break;
				case PB_DIM_COUNTRY: r = g->country[0] && ieq(v, g->country); break;
				}
			}
		}
		if (r == 0 || (r < 0 && !may))
			return false;
	}
	return true;
}

/* deny when some plan in force has a disable that may apply and no keep
 * that surely applies */
static bool ref_deny(const struct gplan *plans, size_t n, const struct greq *q)
{
	for (size_t i = 0; i < n; i++) {
		const struct gplan *p = &plans[i];
		if (!p->in_force || q->at < p->from || q->at >= p->until)
			continue;
		bool dis = false, keep = false;
		for (size_t k = 0; k < p->nsel; k++) {
			if (p->sel[k].keep)
				keep |= ref_applies(p, &p->sel[k], q, false);
			else
				dis |= ref_applies(p, &p->sel[k], q, true);
		}
		if (dis && !keep)
			return true;
	}
	return false;
}

static const char *const g_cats[] = { "Storage", "AI and Machine Learning", "Security", "Compute" };
static const char *const g_subcats[] = { "Storage Platforms", "AI Platforms", "Secret Management",
	                                 "Virtual Machines" };
static const char *const g_svcs[] = { "Storage Accounts", "Azure AI Services", "Key Vault",
	                              "Virtual Machines", "Amazon Simple Storage Service",
	                              "Microsoft Defender for Cloud", "AmazonS3" };
static const char *const g_caps[] = { "speech-to-text", "translation", "object-storage",
	                              "image-analysis", "key-management", "virtual-machines" };
static const char *const g_regions[] = { "westeurope", "northeurope", "eastus", "eu-west-1",
	                                 "germanywestcentral", "West Europe" };
static const char *const g_countries[] = { "NL", "IE", "US", "DE" };
static const char *const q_accts[] = { "A1", "a1", "A2", "B1", "X1", "Z9" };
static const char *const q_subs[] = { "s1", "s2", "s3", "s8", "s9", "S1" };
static const char *const q_svcs[] = { "Storage Accounts", "Azure AI Services", "Key Vault",
	                              "Virtual Machines", "Amazon Simple Storage Service",
	                              "Microsoft Defender for Cloud", "Quantum Widgets", "AmazonS3",
	                              "azure ai services" };
static const char *const q_regions[] = { "westeurope", "West Europe", "northeurope", "eastus",
	                                 "eu-west-1", "germanywestcentral", "mars-1" };
static const char *const q_meters[] = { "Speech To Text Standard", "Translator Text",
	                                "Computer Vision S1", "Mystery meter" };

static void gen_sel(struct gsel *s, int customer, bool keep)
{
	memset(s, 0, sizeof(*s));
	s->keep = keep;
	int a = (int)rnd(8);
	if (customer == 0) {
		if (a == 0) {
			s->v[PB_DIM_ACCOUNT][s->n[PB_DIM_ACCOUNT]++] = "A1";
		} else if (a == 1) {
			s->v[PB_DIM_ACCOUNT][s->n[PB_DIM_ACCOUNT]++] = "A2";
			s->v[PB_DIM_ACCOUNT][s->n[PB_DIM_ACCOUNT]++] = "A1";
		} else if (a == 2) {
			s->v[PB_DIM_SUBACCOUNT][s->n[PB_DIM_SUBACCOUNT]++] = rnd(2) ? "s1" : "s3";
		} else if (a == 3) {
			s->v[PB_DIM_ACCOUNT][s->n[PB_DIM_ACCOUNT]++] = "A1";
			s->v[PB_DIM_SUBACCOUNT][s->n[PB_DIM_SUBACCOUNT]++] = "s2";
		}
	} else {
		if (a == 0)
			s->v[PB_DIM_ACCOUNT][s->n[PB_DIM_ACCOUNT]++] = "B1";
		else if (a == 1)
			s->v[PB_DIM_SUBACCOUNT][s->n[PB_DIM_SUBACCOUNT]++] = "s9";
		else if (a == 2) {
			s->v[PB_DIM_ACCOUNT][s->n[PB_DIM_ACCOUNT]++] = "X1";
			s->v[PB_DIM_SUBACCOUNT][s->n[PB_DIM_SUBACCOUNT]++] = "s9";
		}
	}
	bool any = false;
	for (int d = PB_DIM_CATEGORY; d < PB_DIM_COUNT; d++) {
		if (rnd(4))
			continue;
		size_t k = 1 + rnd(2);
		for (size_t j = 0; j < k; j++) {
			const char *v = "";
			switch (d) {
			case PB_DIM_CATEGORY: v = PICK(g_cats); break;
			case PB_DIM_SUBCATEGORY: v = PICK(g_subcats); break;
			case PB_DIM_SERVICE: v = PICK(g_svcs); break;
			case PB_DIM_CAPABILITY: v = PICK(g_caps); break;
			case PB_DIM_REGION: v = PICK(g_regions); break;
			case PB_DIM_COUNTRY: v = PICK(g_countries); break;
			}
			s->v[d][s->n[d]++] = v;
		}
		any = true;
	}
	if (!any && !keep && rnd(3)) {
		s->v[PB_DIM_CATEGORY][0] = PICK(g_cats);
		s->n[PB_DIM_CATEGORY] = 1;
	}
}

static void sel_string(const struct gsel *s, char *buf, size_t cap)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		if (!s->n[d])
			continue;
		o += (size_t)snprintf(buf + o, cap - o, "%s%s=", o ? " " : "", pb_dim_name((enum pb_dim)d));
		for (size_t j = 0; j < s->n[d]; j++)
			o += (size_t)snprintf(buf + o, cap - o, "%s\"%s\"", j ? "," : "", s->v[d][j]);
	}
	if (!o)
		snprintf(buf, cap, "all");
}

static void t_random_agreement(void)
{
	char *dir;
	struct pb_ws *ws = world(&dir, false);
	struct pb_error err = { 0 };
	CHECK_OK(pb_plan_set_rollback_approvals(ws, "root", 1, NULL, &err), &err); /* one approver rolls back here */
	const char *a_bill[] = { "A1", "A2" }, *b_bill[] = { "B1" }, *b_sub[] = { "s9" };
	CHECK_OK(pb_customer_add(ws, "alice", "Alpha", a_bill, 2, NULL, 0, &err), &err);
	CHECK_OK(pb_customer_add(ws, "alice", "Beta", b_bill, 1, b_sub, 1, &err), &err);
	sql(ws, "INSERT INTO account(kind, account_id, billing_account_id) VALUES "
	        "('sub','s1','A1'),('sub','s2','A1'),('sub','s3','A2'),('sub','s8','X1'),"
	        "('sub','s9','X1')");
	struct pb_case_open_options o = { "Alpha", "t", "t", NULL, NULL };
	CHECK_OK(pb_case_open(ws, "alice", &o, NULL, NULL, &err), &err); /* case 3 */
	o.customer = "Beta";
	CHECK_OK(pb_case_open(ws, "alice", &o, NULL, NULL, &err), &err); /* case 4 */
	int64_t now = pb_now();
	const size_t sets = 200, per = 5000;
	long pairs = 0, denies = 0, mismatches = 0, keeps_won = 0, eval_mismatches = 0;
	for (size_t s = 0; s < sets && !mismatches; s++) {
		struct gplan plans[3];
		size_t np = 1 + rnd(3);
		for (size_t i = 0; i < np; i++) {
			struct gplan *p = &plans[i];
			memset(p, 0, sizeof(*p));
			p->customer = (int)rnd(2);
			p->nsel = 1 + rnd(4);
			const char *dis[5], *keep[5];
			char text[5][1024];
			size_t nd = 0, nk = 0;
			for (size_t k = 0; k < p->nsel; k++) {
				gen_sel(&p->sel[k], p->customer, k > 0 && rnd(2));
				sel_string(&p->sel[k], text[k], sizeof(text[k]));
				if (p->sel[k].keep)
					keep[nk++] = text[k];
				else
					dis[nd++] = text[k];
			}
			struct pb_plan_terms t = terms(dis, nd, keep, nk);
			char eff[24], until[24];
			int64_t e = rnd(2) ? now + 1000 * (1 + (int64_t)rnd(3)) : 0;
			if (e) {
				pb_time_format(e, eff);
				t.effective = eff;
			}
			if (rnd(2)) {
				pb_time_format((e ? e : now) + 1500 + 1000 * (int64_t)rnd(3), until);
				t.until = until;
			}
			if (pb_plan_new(ws, cat, "alice", 3 + p->customer, &t, &p->id, NULL, &err) ||
			    pb_plan_approve(ws, "bob", p->id, NULL, NULL, NULL, NULL, &err) ||
			    pb_plan_approve(ws, "dana", p->id, NULL, NULL, NULL, NULL, &err)) {
				UNIT_FAIL_("set %zu plan %zu (%s ...): %s", s, i, text[0], err.message);
				mismatches++;
				break;
			}
			if (rnd(5)) {
				CHECK_OK(pb_plan_apply(ws, "frank", p->id, NULL, NULL, &err), &err);
				struct pb_plan *pp = get(ws, p->id);
				if (pp) {
					p->from = pp->in_force_from;
					p->until = pp->until;
					p->in_force = true;
				}
				pb_plan_free(pp);
				if (!rnd(5)) {
					CHECK_OK(pb_plan_rollback(ws, "erin", p->id, "r", NULL, NULL, NULL,
					                          NULL, &err),
					         &err);
					p->in_force = false;
				}
			}
		}
		struct pb_entitlements *e = NULL;
		struct pb_decider *dec = NULL;
		if (pb_entitlements_load(ws, 0, &e, &err) || pb_decider_new(e, cat, &dec, &err)) {
			UNIT_FAIL_("set %zu: %s", s, err.message);
			pb_entitlements_free(e);
			break;
		}
		static const int64_t offs[] = { -10, 500, 1200, 2100, 2600, 3400, 5000, 100000 };
		for (size_t k = 0; k < per; k++) {
			struct greq q = { PICK(q_accts), rnd(3) ? PICK(q_subs) : NULL, PICK(q_svcs),
				          PICK(q_regions), rnd(5) ? NULL : PICK(g_caps),
				          rnd(4) ? NULL : PICK(q_meters), now + PICK(offs) };
			struct pb_decide_request dq = { pb_cstr(q.acct),
				                        q.sub ? pb_cstr(q.sub) : (struct pb_str){ 0 },
				                        pb_cstr(q.svc), pb_cstr(q.region),
				                        q.cap ? pb_cstr(q.cap) : (struct pb_str){ 0 },
				                        q.meter ? pb_cstr(q.meter) : (struct pb_str){ 0 },
				                        q.at };
			struct pb_decision got;
			pb_decide(dec, &dq, &got);
			bool want_deny = ref_deny(plans, np, &q);
			/* the dry run's evaluator (plan_sel.c) on the version's rules */
			struct pb__req er = { dq.account, dq.subaccount, dq.service, dq.region,
				              dq.capability, dq.sku_meter };
			struct pb__req_facts ef;
			pb__req_facts(cat, &er, &ef);
			bool eval_deny = false;
			size_t nr = pb_entitlements_count(e);
			for (size_t a = 0; a < nr && !eval_deny; a++) {
				const struct pb_rule *ra = pb_entitlements_rule(e, a);
				if (ra->effect != PB_EFFECT_DISABLE || q.at < ra->from || q.at >= ra->until ||
				    !pb__rule_applies(ra, cat, &er, &ef, true))
					continue;
				bool kept = false;
				for (size_t b = 0; b < nr && !kept; b++) {
					const struct pb_rule *rb = pb_entitlements_rule(e, b);
					kept = rb->effect == PB_EFFECT_KEEP && !strcmp(rb->plan, ra->plan) &&
					       q.at >= rb->from && q.at < rb->until &&
					       pb__rule_applies(rb, cat, &er, &ef, false);
				}
				eval_deny = !kept;
			}
			if (eval_deny == got.allow && eval_mismatches++ < 5)
				UNIT_FAIL_("set %zu: %s/%s/%s/%s cap=%s meter=%s: table %s, evaluator %s", s,
				           q.acct, q.sub ? q.sub : "-", q.svc, q.region, q.cap ? q.cap : "-",
				           q.meter ? q.meter : "-", got.allow ? "allow" : "deny",
				           eval_deny ? "deny" : "allow");
			pairs++;
			denies += want_deny;
			keeps_won += got.why == PB_WHY_KEPT;
			bool plan_ok = true;
			if (!got.allow) {
				/* the deny names a plan the reference says denies */
				plan_ok = false;
				for (size_t i = 0; i < np; i++) {
					char pid[24];
					snprintf(pid, sizeof(pid), "%lld", (long long)plans[i].id);
					if (!strcmp(got.rule->plan, pid))
						plan_ok = ref_deny(&plans[i], 1, &q);
				}
			}
			if (got.allow == want_deny || !plan_ok) {
				if (mismatches++ < 5)
					UNIT_FAIL_("set %zu: %s/%s/%s/%s cap=%s meter=%s at=now%+lld: table %s "
					           "(plan %s), reference %s",
					           s, q.acct, q.sub ? q.sub : "-", q.svc, q.region,
					           q.cap ? q.cap : "-", q.meter ? q.meter : "-",
					           (long long)(q.at - now), got.allow ? "allow" : "deny",
					           got.rule ? got.rule->plan : "-", want_deny ? "deny" : "allow");
			}
		}
		pb_decider_free(dec);
		pb_entitlements_free(e);
		/* end the set: nothing stays in force */
		for (size_t i = 0; i < np; i++)
			if (plans[i].in_force)
				CHECK_OK(pb_plan_rollback(ws, "erin", plans[i].id, "end of set", NULL, NULL,
				                          NULL, NULL, &err),
				         &err);
	}
	CHECK_INT(pairs, (long)(sets * per));
	CHECK_INT(mismatches, 0);
	CHECK_INT(eval_mismatches, 0);
	/* the generator must reach every outcome, or agreement proves little */
	CHECK(denies > pairs / 20);
	CHECK(pairs - denies > pairs / 5);
	CHECK(keeps_won > pairs / 500);
	fprintf(stderr, "plan random agreement: %ld pairs, %ld denies, %ld kept, %ld mismatches\n",
	        pairs, denies, keeps_won, mismatches);
	world_end(ws, dir);
}

int main(void)
{
	struct pb_error err = { 0 };
	if (pb_catalog_load("data/catalog", &cat, &err)) {
		fprintf(stderr, "catalog: %s\n", err.message);
		return 2;
	}
	RUN(t_selectors);
	RUN(t_lifecycle);
	RUN(t_rollback_approvals);
	RUN(t_apply_rules);
	RUN(t_rollback_policy);
	RUN(t_accounts);
	RUN(t_windows);
	RUN(t_dryrun);
	RUN(t_notice);
	RUN(t_random_agreement);
	pb_catalog_free(cat);
	return UNIT_END("plan");
}
