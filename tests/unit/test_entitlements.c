/* test_entitlements.c - versions of the rules in force: publish, load,
 * immutability, tamper detection, the JSON rules format. */
#include "decide/entitlements.h"
#include "unit.h"
#include "../tools/logged.h"

#include <unistd.h>

static const char *const A1[] = { "acct-1" };
static const char *const STORAGE[] = { "Storage" };
static const char *const NL[] = { "NL" };
static const char *const SECURITY[] = { "Security" };

static struct pb_rule mkrule(const char *plan, enum pb_effect eff)
{
	struct pb_rule r;
	memset(&r, 0, sizeof(r));
	r.plan = plan;
	r.case_ref = "2025-007";
	r.effect = eff;
	r.from = PB_TIME_OPEN_START;
	r.until = PB_TIME_OPEN_END;
	r.values[PB_DIM_ACCOUNT] = A1;
	r.nvalues[PB_DIM_ACCOUNT] = 1;
	return r;
}

static struct pb_ws *new_ws(char **dir)
{
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	*dir = unit_tmpdir();
	char *p = pb__path_join(*dir, "ws");
	CHECK_OK(pb_ws_init(p, &(struct pb_ws_init_options){ .unsigned_actors = true }, &err), &err);
	CHECK_OK(pb_ws_open(p, 0, &ws, &err), &err);
	free(p);
	return ws;
}

static void t_empty_version_zero(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_entitlements *e = NULL;
	int64_t v = -1;
	CHECK_OK(pb_entitlements_latest(ws, &v, &err), &err);
	CHECK_INT(v, 0);
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	CHECK_INT(pb_entitlements_version(e), 0);
	CHECK_INT(pb_entitlements_count(e), 0);
	pb_entitlements_free(e);
	CHECK_INT(pb_entitlements_load(ws, 5, &e, &err), PB_ENOENT);
	CHECK(e == NULL);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_publish_and_load(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_rule r[2] = { mkrule("12", PB_EFFECT_DISABLE), mkrule(" 12 ", PB_EFFECT_KEEP) };
	r[0].values[PB_DIM_CATEGORY] = STORAGE;
	r[0].nvalues[PB_DIM_CATEGORY] = 1;
	r[0].values[PB_DIM_COUNTRY] = NL;
	r[0].nvalues[PB_DIM_COUNTRY] = 1;
	r[0].from = 1758758400; /* 2025-09-25 */
	r[1].values[PB_DIM_CATEGORY] = SECURITY;
	r[1].nvalues[PB_DIM_CATEGORY] = 1;
	int64_t v = 0;
	CHECK_OK(pb_test_publish_logged(ws, "test", r, 2, "apply plan 12", &v, &err), &err);
	CHECK_INT(v, 1);
	CHECK_OK(pb_test_publish_logged(ws, "test", r, 1, "second", &v, &err), &err);
	CHECK_INT(v, 2);
	struct pb_entitlements *e = NULL;
	CHECK_OK(pb_entitlements_load(ws, 1, &e, &err), &err);
	if (e) {
		CHECK_INT(pb_entitlements_version(e), 1);
		CHECK_INT(pb_entitlements_count(e), 2);
		CHECK_STR(pb_entitlements_reason(e), "apply plan 12");
		const struct pb_rule *x = pb_entitlements_rule(e, 0), *y = pb_entitlements_rule(e, 1);
		CHECK_STR(x->plan, "12");
		CHECK_STR(y->plan, "12"); /* trimmed when stored */
		CHECK_INT(x->effect, PB_EFFECT_DISABLE);
		CHECK_INT(y->effect, PB_EFFECT_KEEP);
		CHECK_INT(x->from, 1758758400);
		CHECK(x->until == PB_TIME_OPEN_END);
		CHECK(y->from == PB_TIME_OPEN_START);
		CHECK_INT(x->nvalues[PB_DIM_COUNTRY], 1);
		CHECK_STR(x->values[PB_DIM_COUNTRY][0], "NL");
		char sel[128];
		CHECK(pb_rule_selector(x, false, sel, sizeof(sel)));
		CHECK_STR(sel, "category=Storage country=NL");
		CHECK(pb_rule_selector(x, true, sel, sizeof(sel)));
		CHECK_STR(sel, "account=acct-1 category=Storage country=NL");
		CHECK_INT(strlen(pb_entitlements_sha256(e)), 64);
	}
	pb_entitlements_free(e);
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	CHECK_INT(e ? pb_entitlements_version(e) : -1, 2);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* pb_entitlements_load_at: the newest version published by the end of the
 * second asked; the empty version 0 before the first. */
static void t_load_at(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_rule r = mkrule("12", PB_EFFECT_DISABLE);
	struct pb_entitlements *e = NULL;
	int64_t ms = -1;
	CHECK_OK(pb_entitlements_load_at(ws, 1758758400, &e, &err), &err); /* nothing published */
	CHECK_INT(e ? pb_entitlements_version(e) : -1, 0);
	pb_entitlements_free(e);
	CHECK_OK(pb_entitlements_superseded_ms(ws, 0, &ms, &err), &err);
	CHECK_INT(ms, 0);
	CHECK_OK(pb_test_publish_logged(ws, "test", &r, 1, "apply plan 12", NULL, &err), &err);
	CHECK_OK(pb_entitlements_load(ws, 1, &e, &err), &err);
	int64_t c1 = e ? pb_entitlements_created_ms(e) : 0;
	pb_entitlements_free(e);
	/* the next version in a later second */
	usleep((useconds_t)(1000 - c1 % 1000 + 20) * 1000);
	CHECK_OK(pb_test_publish_logged(ws, "test", NULL, 0, "roll back plan 12", NULL, &err), &err);
	CHECK_OK(pb_entitlements_superseded_ms(ws, 1, &ms, &err), &err);
	CHECK(ms / 1000 > c1 / 1000);
	int64_t c2 = ms;
	CHECK_OK(pb_entitlements_superseded_ms(ws, 0, &ms, &err), &err);
	CHECK_INT(ms, c1);
	CHECK_OK(pb_entitlements_superseded_ms(ws, 2, &ms, &err), &err);
	CHECK_INT(ms, 0); /* the latest */
	const struct { int64_t t, v; } at[] = {
		{ c1 / 1000 - 1, 0 }, { c1 / 1000, 1 }, { c2 / 1000 - 1, 1 }, { c2 / 1000, 2 },
		{ c2 / 1000 + 86400, 2 }, { INT64_MIN, 0 }, { INT64_MAX, 2 },
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		CHECK_OK(pb_entitlements_load_at(ws, at[i].t, &e, &err), &err);
		CHECK_INT(e ? pb_entitlements_version(e) : -1, at[i].v);
		CHECK_INT(e ? (int64_t)pb_entitlements_count(e) : -1, at[i].v == 1 ? 1 : 0);
		pb_entitlements_free(e);
	}
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_refusals(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_rule r = mkrule("1", PB_EFFECT_DISABLE);
	CHECK_INT(pb__entitlements_publish(ws, &r, 1, "", NULL, &err), PB_EINVAL);
	struct pb_rule bad = r;
	bad.nvalues[PB_DIM_ACCOUNT] = 0;
	CHECK_INT(pb__entitlements_publish(ws, &bad, 1, "x", NULL, &err), PB_EINVAL);
	CHECK(strstr(err.message, "names no billing account") != NULL);
	bad = r;
	bad.from = 100;
	bad.until = 100;
	CHECK_INT(pb__entitlements_publish(ws, &bad, 1, "x", NULL, &err), PB_EINVAL);
	bad = r;
	bad.plan = "   ";
	CHECK_INT(pb__entitlements_publish(ws, &bad, 1, "x", NULL, &err), PB_EINVAL);
	bad = r;
	bad.effect = 0;
	CHECK_INT(pb__entitlements_publish(ws, &bad, 1, "x", NULL, &err), PB_EINVAL);
	static const char *const empty[] = { " " };
	bad = r;
	bad.values[PB_DIM_REGION] = empty;
	bad.nvalues[PB_DIM_REGION] = 1;
	CHECK_INT(pb__entitlements_publish(ws, &bad, 1, "x", NULL, &err), PB_EINVAL);
	char longv[PB_RULE_VALUE_LEN_MAX + 2];
	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	const char *lv[] = { longv };
	bad = r;
	bad.values[PB_DIM_SERVICE] = lv;
	bad.nvalues[PB_DIM_SERVICE] = 1;
	CHECK_INT(pb__entitlements_publish(ws, &bad, 1, "x", NULL, &err), PB_ELIMIT);
	/* the second rule is bad: nothing of the first is written */
	struct pb_rule two[2] = { r, r };
	two[1].case_ref = NULL;
	CHECK_INT(pb__entitlements_publish(ws, two, 2, "x", NULL, &err), PB_EINVAL);
	CHECK(strstr(err.message, "rule 2") != NULL);
	int64_t v = -1;
	CHECK_OK(pb_entitlements_latest(ws, &v, &err), &err);
	CHECK_INT(v, 0);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_inside_caller_transaction(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_rule r = mkrule("1", PB_EFFECT_DISABLE);
	int64_t v = 0;
	CHECK_OK(pb__ws_begin(ws, &err), &err);
	CHECK_OK(pb__entitlements_publish(ws, &r, 1, "in a txn", &v, &err), &err);
	CHECK_INT(v, 1);
	pb__ws_rollback(ws); /* the caller changes its mind: the version goes too */
	CHECK_OK(pb_entitlements_latest(ws, &v, &err), &err);
	CHECK_INT(v, 0);
	CHECK_OK(pb__ws_begin(ws, &err), &err);
	CHECK_OK(pb__entitlements_publish(ws, &r, 1, "in a txn", &v, &err), &err);
	CHECK_OK(pb__ws_commit(ws, &err), &err);
	CHECK_OK(pb_entitlements_latest(ws, &v, &err), &err);
	CHECK_INT(v, 1);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_immutable_and_tamper(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_rule r = mkrule("1", PB_EFFECT_DISABLE);
	r.values[PB_DIM_COUNTRY] = NL;
	r.nvalues[PB_DIM_COUNTRY] = 1;
	CHECK_OK(pb_test_publish_logged(ws, "test", &r, 1, "v1", NULL, &err), &err);
	CHECK(sqlite3_exec(ws->db, "UPDATE entitlement_rule SET effect = 'keep'", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(ws->db, "DELETE FROM entitlement_version", NULL, NULL, NULL) != SQLITE_OK);
	/* someone drops the trigger and edits a selector: loading notices */
	CHECK(sqlite3_exec(ws->db,
	                   "DROP TRIGGER entitlement_rule_no_update;"
	                   "UPDATE entitlement_rule SET selector = '{\"account\":[\"acct-1\"],\"country\":[\"DE\"]}'",
	                   NULL, NULL, NULL) == SQLITE_OK);
	struct pb_entitlements *e = NULL;
	CHECK_INT(pb_entitlements_load(ws, 1, &e, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "does not match its hash") != NULL);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* Only versions a verified plan.apply/plan.rollback entry names are loaded. */
static void t_named_by_log(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	struct pb_error err = { 0 };
	struct pb_rule r = mkrule("1", PB_EFFECT_DISABLE);
	struct pb_entitlements *e = NULL;
	int64_t v = 0;
	CHECK_OK(pb_test_publish_logged(ws, "test", &r, 1, "logged", &v, &err), &err);
	CHECK_OK(pb_entitlements_load(ws, 0, &e, &err), &err);
	pb_entitlements_free(e);
	e = NULL;
	/* the same rules again without an entry: same hash, but version 2 is unnamed */
	CHECK_OK(pb__entitlements_publish(ws, &r, 1, "unlogged", &v, &err), &err);
	CHECK_INT(v, 2);
	CHECK_INT(pb_entitlements_load(ws, 0, &e, &err), PB_EVERIFY);
	CHECK(e == NULL);
	CHECK(strstr(err.message, "entitlements version 2 is not named by any plan.apply") != NULL);
	CHECK_INT(pb_entitlements_load_at(ws, INT64_MAX / 2000, &e, &err), PB_EVERIFY);
	CHECK_OK(pb_entitlements_load(ws, 1, &e, &err), &err); /* the logged one still loads */
	pb_entitlements_free(e);
	e = NULL;
	/* an entry of another action naming it does not count */
	char d[160];
	snprintf(d, sizeof(d), "{\"entitlements_sha256\":\"%s\",\"version\":2}",
	         "0000000000000000000000000000000000000000000000000000000000000000");
	CHECK_OK(pb__ws_begin(ws, &err), &err);
	sqlite3_stmt *q;
	CHECK(sqlite3_prepare_v2(ws->db, "SELECT sha256 FROM entitlement_version WHERE version = 2",
	                         -1, &q, NULL) == SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		snprintf(d, sizeof(d), "{\"entitlements_sha256\":\"%s\",\"version\":2}",
		         (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	CHECK_OK(pb__audit_append(ws, "test", "plan.note", 0, "plan/0", d, NULL, &err), &err);
	CHECK_OK(pb__ws_commit(ws, &err), &err);
	CHECK_INT(pb_entitlements_load(ws, 2, &e, &err), PB_EVERIFY);
	/* ... a plan.apply one does */
	CHECK_OK(pb__ws_begin(ws, &err), &err);
	CHECK_OK(pb__audit_append(ws, "test", "plan.apply", 0, "plan/0", d, NULL, &err), &err);
	CHECK_OK(pb__ws_commit(ws, &err), &err);
	/* ... once sealed under a signed checkpoint: a consistent append alone
	 * (what write access without the key gives) is refused */
	CHECK_INT(pb_entitlements_load(ws, 2, &e, &err), PB_EVERIFY);
	CHECK(e == NULL);
	CHECK(strstr(err.message, "is not covered by a signed checkpoint") != NULL);
	char *note = NULL;
	CHECK_OK(pb__ws_begin(ws, &err), &err);
	CHECK_OK(pb__audit_checkpoint_sign(ws, "test", false, &note, &err), &err);
	CHECK_OK(pb__ws_commit(ws, &err), &err);
	free(note);
	CHECK_OK(pb_entitlements_load(ws, 2, &e, &err), &err);
	pb_entitlements_free(e);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_json_rules(void)
{
	struct pb__ruleset rs;
	struct pb_error err = { 0 };
	const char *ok = "{\"reason\": \"demo\", \"rules\": ["
	                 "{\"plan\":\"7\",\"case\":\"C-1\",\"effect\":\"disable\",\"account\":[\"A\"],"
	                 "\"capability\":[\"speech-to-text\",\"translation\"],\"from\":\"2025-09-25T00:00:00Z\",\"until\":null},"
	                 "{\"plan\":\"7\",\"case\":\"C-1\",\"effect\":\"keep\",\"account\":[\"A\"],\"category\":[\"Security\"]}]}";
	CHECK_OK(pb__rules_from_json(ok, strlen(ok), "r.json", &rs, &err), &err);
	CHECK_INT(rs.n, 2);
	CHECK_STR(rs.reason, "demo");
	if (rs.n == 2) {
		CHECK_INT(rs.rules[0].nvalues[PB_DIM_CAPABILITY], 2);
		CHECK_INT(rs.rules[0].from, 1758758400);
		CHECK(rs.rules[0].until == PB_TIME_OPEN_END);
		CHECK_INT(rs.rules[1].effect, PB_EFFECT_KEEP);
	}
	pb__ruleset_release(&rs);
	const char *bad1 = "[{\"plan\":\"7\",\"case\":\"C\",\"effect\":\"disable\",\"acount\":[\"A\"]}]";
	CHECK_INT(pb__rules_from_json(bad1, strlen(bad1), "r.json", &rs, &err), PB_EFORMAT);
	CHECK(strstr(err.message, "unknown key 'acount'") != NULL);
	CHECK_STR(err.file, "r.json");
	const char *bad2 = "[{\"plan\":\"7\",\"effect\":\"cut\"}]";
	CHECK_INT(pb__rules_from_json(bad2, strlen(bad2), "r.json", &rs, &err), PB_EFORMAT);
	const char *bad3 = "[{\"plan\":\"7\",\"from\":\"yesterday\"}]";
	CHECK_INT(pb__rules_from_json(bad3, strlen(bad3), "r.json", &rs, &err), PB_EFORMAT);
	const char *bad4 = "{\"rules\": [}";
	CHECK_INT(pb__rules_from_json(bad4, strlen(bad4), "r.json", &rs, &err), PB_EFORMAT);
	CHECK_INT(err.line, 1);
}

int main(void)
{
	RUN(t_empty_version_zero);
	RUN(t_publish_and_load);
	RUN(t_load_at);
	RUN(t_refusals);
	RUN(t_inside_caller_transaction);
	RUN(t_immutable_and_tamper);
	RUN(t_named_by_log);
	RUN(t_json_rules);
	return UNIT_END("entitlements");
}
