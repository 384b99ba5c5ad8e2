/* plan.c - enforcement plans: making and changing them, approvals and
 * refusals, apply and rollback, and reading them back.
 *
 * A plan is resolved when it is made or changed: its selectors become the
 * exact rules it would publish, for the customer's accounts as they are then.
 * The plan's body is the canonical JSON of those rules and of its terms; its
 * SHA-256 is what an approval binds to, so approvers approve exactly what
 * apply will put in force, and any change (even of the customer's accounts,
 * picked up by an edit) needs new approvals. Every step checks the actor's
 * role and writes one audit-log entry in the same transaction as the change
 * (log/audit.h); plan_event keeps the steps for queries.
 */
#include "plan/plan.h"
#include "auth/auth.h"
#include "log/audit.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define BODY_MAX ((size_t)64 << 20)
#define INLINE_SELECTORS_MAX 16384 /* selector text copied into a log entry */
#define APPROVALS_MAX 100

/* ---- small helpers ------------------------------------------------------------ */

static void time_text(int64_t t, char out[24])
{
	pb_time_format(t, out);
}

static json_t *json_time_or_null(int64_t t, bool open)
{
	if (open)
		return json_null();
	char b[24];
	time_text(t, b);
	return json_string(b);
}

/* ---- plans as stored ------------------------------------------------------------ */

/* A plan's terms and resolved rules, as in its body. */
struct resolved {
	struct pb__arena arena;
	int64_t plan, case_id;
	const char *customer;
	struct pb__sel *sels; /* disables, then keeps */
	size_t nsel, ndisable;
	struct pb_rule *rules;
	size_t *rule_sel;
	size_t nrules, rcap;
	int64_t effective, until;
	char review_by[11];
	const char *clause;
	unsigned approvals, appeal_days;
};

static void resolved_release(struct resolved *r)
{
	free(r->rules);
	free(r->rule_sel);
	pb__arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

static json_t *rule_json(const struct pb_rule *r, const struct pb__sel *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "effect", json_string(r->effect == PB_EFFECT_KEEP ? "keep" : "disable"));
	json_object_set_new(o, "selector", json_integer(s->number));
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		if (!r->nvalues[d])
			continue;
		json_t *a = json_array();
		for (size_t i = 0; i < r->nvalues[d]; i++)
			json_array_append_new(a, json_string(r->values[d][i]));
		json_object_set_new(o, pb_dim_name((enum pb_dim)d), a);
	}
	return o;
}

/* The canonical body of a resolved plan (heap). */
static char *body_json(const struct resolved *r)
{
	json_t *o = json_object();
	json_t *dis = json_array(), *keep = json_array(), *rules = json_array();
	for (size_t i = 0; i < r->nsel; i++)
		json_array_append_new(r->sels[i].keep ? keep : dis, json_string(r->sels[i].text));
	for (size_t i = 0; i < r->nrules; i++)
		json_array_append_new(rules, rule_json(&r->rules[i], &r->sels[r->rule_sel[i]]));
	json_object_set_new(o, "v", json_integer(1));
	json_object_set_new(o, "plan", json_integer(r->plan));
	json_object_set_new(o, "case", json_integer(r->case_id));
	json_object_set_new(o, "customer", json_string(r->customer));
	json_object_set_new(o, "disable", dis);
	json_object_set_new(o, "keep", keep);
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "effective", json_time_or_null(r->effective,
	                                                      r->effective == PB_TIME_OPEN_START));
	json_object_set_new(o, "until", json_time_or_null(r->until, r->until == PB_TIME_OPEN_END));
	json_object_set_new(o, "review_by", r->review_by[0] ? json_string(r->review_by) : json_null());
	json_object_set_new(o, "clause", json_string(r->clause));
	json_object_set_new(o, "approvals", json_integer(r->approvals));
	json_object_set_new(o, "appeal_days", json_integer(r->appeal_days));
	return pb__json_text(o);
}

/* ---- the customer's accounts -------------------------------------------------------- */

struct sub {
	const char *id;
	const char **billing; /* billing accounts it was seen under */
	size_t nbilling;
};

struct accounts {
	const char **billing; /* the customer's own billing accounts */
	size_t nbilling;
	struct sub *subs;     /* the sub-accounts it names on their own */
	size_t nsubs;
	struct sub *extra;    /* sub-accounts under its billing accounts that selectors name */
	size_t nextra;
};

static enum pb_status strings(struct pb_ws *ws, struct pb__arena *a, const char *sql,
                              int64_t id, const char *text, const char ***out, size_t *n,
                              struct pb_error *err)
{
	sqlite3_stmt *q;
	*out = NULL;
	*n = 0;
	enum pb_status st = pb__db_prepare(ws->db, sql, &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, id);
	if (text)
		sqlite3_bind_text(q, 2, text, -1, SQLITE_STATIC);
	size_t cap = 0;
	const char **v = NULL;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			const char **nv = pb__arena_alloc(a, nc * sizeof(*nv));
			if (!nv) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				break;
			}
			if (*n)
				memcpy(nv, v, *n * sizeof(*nv));
			v = nv;
			cap = nc;
		}
		const char *s = (const char *)sqlite3_column_text(q, 0);
		if (!(v[*n] = pb__arena_strndup(a, s ? s : "", s ? strlen(s) : 0))) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	if (!st && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read accounts");
	sqlite3_finalize(q);
	*out = v;
	return st;
}

static const char sub_billing_sql[] =
	"SELECT DISTINCT billing_account_id FROM account WHERE kind = 'sub' AND "
	"billing_account_id IS NOT NULL AND ?1 = ?1 AND lower(trim(account_id)) = lower(trim(?2)) "
	"ORDER BY 1";

static enum pb_status load_accounts(struct pb_ws *ws, struct pb__arena *a, int64_t customer,
                                    struct accounts *acc, struct pb_error *err)
{
	memset(acc, 0, sizeof(*acc));
	const char **subs;
	size_t nsubs;
	enum pb_status st;
	if ((st = strings(ws, a,
	                  "SELECT account_id FROM customer_account WHERE customer_id = ?1 AND "
	                  "kind = 'billing' ORDER BY account_id",
	                  customer, NULL, &acc->billing, &acc->nbilling, err)) ||
	    (st = strings(ws, a,
	                  "SELECT account_id FROM customer_account WHERE customer_id = ?1 AND "
	                  "kind = 'sub' ORDER BY account_id",
	                  customer, NULL, &subs, &nsubs, err)))
		return st;
	if (nsubs && !(acc->subs = pb__arena_alloc(a, nsubs * sizeof(*acc->subs))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < nsubs; i++) {
		struct sub *s = &acc->subs[acc->nsubs++];
		s->id = subs[i];
		if ((st = strings(ws, a, sub_billing_sql, 0, s->id, &s->billing, &s->nbilling, err)))
			return st;
	}
	return PB_OK;
}

static bool in_list(const char *const *v, size_t n, const char *x)
{
	for (size_t i = 0; i < n; i++)
		if (pb__ieq(v[i], x))
			return true;
	return false;
}

static const struct sub *named_sub(const struct accounts *acc, const char *id)
{
	for (size_t i = 0; i < acc->nsubs; i++)
		if (pb__ieq(acc->subs[i].id, id))
			return &acc->subs[i];
	return NULL;
}

/* ---- resolving selectors into rules -------------------------------------------------- */

static enum pb_status add_rule(struct resolved *r, size_t sel, const char *const *accts, size_t na,
                               const char *const *subs, size_t ns, struct pb_error *err)
{
	if (r->nrules >= PB_RULES_MAX)
		return pb__err(err, PB_ELIMIT, "the plan would need more than %d rules", PB_RULES_MAX);
	if (r->nrules == r->rcap) {
		size_t nc = r->rcap ? r->rcap * 2 : 16;
		struct pb_rule *nr = realloc(r->rules, nc * sizeof(*nr));
		if (!nr)
			return pb__err(err, PB_ENOMEM, "out of memory");
		r->rules = nr;
		size_t *ns2 = realloc(r->rule_sel, nc * sizeof(*ns2));
		if (!ns2)
			return pb__err(err, PB_ENOMEM, "out of memory");
		r->rule_sel = ns2;
		r->rcap = nc;
	}
	const struct pb__sel *s = &r->sels[sel];
	struct pb_rule *x = &r->rules[r->nrules];
	memset(x, 0, sizeof(*x));
	x->effect = s->keep ? PB_EFFECT_KEEP : PB_EFFECT_DISABLE;
	x->from = r->effective;
	x->until = r->until;
	for (int d = 0; d < PB_DIM_COUNT; d++) {
		x->values[d] = (const char *const *)s->values[d];
		x->nvalues[d] = s->n[d];
	}
	const char **av = pb__arena_alloc(&r->arena, (na + ns + 1) * sizeof(char *));
	if (!av)
		return pb__err(err, PB_ENOMEM, "out of memory");
	memcpy(av, accts, na * sizeof(char *));
	if (ns)
		memcpy(av + na, subs, ns * sizeof(char *));
	x->values[PB_DIM_ACCOUNT] = av;
	x->nvalues[PB_DIM_ACCOUNT] = na;
	x->values[PB_DIM_SUBACCOUNT] = ns ? av + na : NULL;
	x->nvalues[PB_DIM_SUBACCOUNT] = ns;
	r->rule_sel[r->nrules++] = sel;
	return PB_OK;
}

/* Rules for sub-accounts grouped by the billing account each was seen under
 * (subs[i] under billing[i]); skips those under the customer's own billing
 * accounts when skip_own (a billing-account rule covers them). */
static enum pb_status add_sub_rules(struct resolved *r, size_t sel, const struct accounts *acc,
                                    const char **subs, const char **billing, size_t n,
                                    bool skip_own, struct pb_error *err)
{
	enum pb_status st = PB_OK;
	bool *done = calloc(n ? n : 1, sizeof(bool));
	const char **group = malloc((n ? n : 1) * sizeof(char *));
	if (!done || !group) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !st; i++) {
		if (done[i])
			continue;
		size_t g = 0;
		for (size_t j = i; j < n; j++)
			if (!done[j] && pb__ieq(billing[j], billing[i])) {
				done[j] = true;
				if (!in_list((const char *const *)group, g, subs[j]))
					group[g++] = subs[j];
			}
		if (skip_own && in_list(acc->billing, acc->nbilling, billing[i]))
			continue;
		st = add_rule(r, sel, &billing[i], 1, group, g, err);
	}
out:
	free(done);
	free(group);
	return st;
}

static const struct sub *known_sub(const struct accounts *acc, const char *id)
{
	const struct sub *s = named_sub(acc, id);
	for (size_t i = 0; !s && i < acc->nextra; i++)
		if (pb__ieq(acc->extra[i].id, id))
			s = &acc->extra[i];
	return s;
}

/* A selector in messages: "disable selector 2"; errors about it name the
 * caller's list (err->field "disable" or "keep"). */
static void sel_label(bool keep, unsigned number, char what[32])
{
	pb__snprintf(what, 32, "%s selector %u", keep ? "keep" : "disable", number);
}

static enum pb_status sel_failed(enum pb_status st, bool keep, struct pb_error *err)
{
	if (st && err)
		pb__strlcpy(err->field, keep ? "keep" : "disable", sizeof(err->field));
	return st;
}

static enum pb_status resolve_sel(struct resolved *r, size_t sel, const struct accounts *acc,
                                  struct pb_error *err)
{
	const struct pb__sel *s = &r->sels[sel];
	const char *const *A = (const char *const *)s->values[PB_DIM_ACCOUNT];
	const char *const *S = (const char *const *)s->values[PB_DIM_SUBACCOUNT];
	size_t na = s->n[PB_DIM_ACCOUNT], ns = s->n[PB_DIM_SUBACCOUNT];
	char what[32];
	sel_label(s->keep, s->number, what);
	if (na) {
		for (size_t i = 0; i < na; i++) {
			if (in_list(acc->billing, acc->nbilling, A[i]))
				continue;
			/* a billing account the customer does not own, narrowed to
			 * sub-accounts it does own */
			bool subs_owned = ns > 0;
			for (size_t j = 0; j < ns && subs_owned; j++)
				subs_owned = named_sub(acc, S[j]) != NULL;
			if (!subs_owned)
				return pb__err(err, PB_EINVAL,
				               "%s '%s': account '%s' is not a billing account of customer "
				               "'%s' (see 'probity customer show')",
				               what, s->text, A[i], r->customer);
		}
		return add_rule(r, sel, A, na, S, ns, err);
	}
	/* the sub-accounts to cut, each with a billing account it is under */
	enum pb_status st = PB_OK;
	const char **subs = NULL, **billing = NULL;
	size_t n = 0, cap = 0;
	bool default_accounts = ns == 0;
	size_t nsrc = default_accounts ? acc->nsubs : ns;
	for (size_t i = 0; i < nsrc && !st; i++) {
		const char *id = default_accounts ? acc->subs[i].id : S[i];
		const struct sub *x = known_sub(acc, id);
		if (!x) {
			st = pb__err(err, PB_EINVAL,
			             "%s '%s': sub-account '%s' is not one of customer '%s' (see "
			             "'probity customer show' and 'probity accounts')",
			             what, s->text, id, r->customer);
			break;
		}
		if (!x->nbilling) {
			st = pb__err(err, PB_EINVAL,
			             "%s '%s': customer '%s' names sub-account '%s', which no usage "
			             "export has shown under a billing account yet; name it as "
			             "account=BILLING subaccount=%s",
			             what, s->text, r->customer, id, id);
			break;
		}
		for (size_t k = 0; k < x->nbilling; k++) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				const char **a1 = realloc(subs, nc * sizeof(char *));
				if (a1)
					subs = a1;
				const char **a2 = a1 ? realloc(billing, nc * sizeof(char *)) : NULL;
				if (a2)
					billing = a2;
				if (!a1 || !a2) {
					st = pb__err(err, PB_ENOMEM, "out of memory");
					break;
				}
				cap = nc;
			}
			subs[n] = x->id;
			billing[n] = x->billing[k];
			n++;
		}
	}
	if (!st && default_accounts && acc->nbilling)
		st = add_rule(r, sel, acc->billing, acc->nbilling, NULL, 0, err);
	if (!st)
		st = add_sub_rules(r, sel, acc, subs, billing, n, default_accounts, err);
	free(subs);
	free(billing);
	return st;
}

/* Finds, for every subaccount=... that is not one the customer names, the
 * customer's billing accounts the exports show it under (acc->extra). */
static enum pb_status find_subs(struct pb_ws *ws, struct resolved *r, struct accounts *acc,
                                struct pb_error *err)
{
	size_t cap = 0;
	for (size_t i = 0; i < r->nsel; i++) {
		const struct pb__sel *s = &r->sels[i];
		if (s->n[PB_DIM_ACCOUNT])
			continue; /* account=... given: resolve_sel checks it */
		for (size_t j = 0; j < s->n[PB_DIM_SUBACCOUNT]; j++) {
			const char *id = s->values[PB_DIM_SUBACCOUNT][j];
			if (known_sub(acc, id))
				continue;
			const char **bl;
			size_t nb, no = 0;
			enum pb_status st = strings(ws, &r->arena, sub_billing_sql, 0, id, &bl, &nb, err);
			if (st)
				return st;
			for (size_t k = 0; k < nb; k++)
				if (in_list(acc->billing, acc->nbilling, bl[k]))
					bl[no++] = bl[k];
			if (!no)
				continue; /* not the customer's: resolve_sel says so */
			if (acc->nextra == cap) {
				size_t nc = cap ? cap * 2 : 8;
				struct sub *ne = pb__arena_alloc(&r->arena, nc * sizeof(*ne));
				if (!ne)
					return pb__err(err, PB_ENOMEM, "out of memory");
				if (acc->nextra)
					memcpy(ne, acc->extra, acc->nextra * sizeof(*ne));
				acc->extra = ne;
				cap = nc;
			}
			acc->extra[acc->nextra++] = (struct sub){ id, bl, no };
		}
	}
	return PB_OK;
}

/* ---- building a plan from its terms ------------------------------------------------------- */

struct case_row {
	int64_t customer_id;
	char customer[256];
};

static enum pb_status case_row(struct pb_ws *ws, int64_t case_id, struct case_row *c,
                               struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_row_by_id(ws->db,
	                                     "SELECT c.customer_id, cu.name FROM review_case c JOIN "
	                                     "customer cu ON cu.id = c.customer_id WHERE c.id = ?1",
	                                     case_id, "no case %lld (see 'probity case list')",
	                                     "cases", &q, err);
	if (st)
		return st;
	c->customer_id = sqlite3_column_int64(q, 0);
	pb__strlcpy(c->customer, (const char *)sqlite3_column_text(q, 1), sizeof(c->customer));
	sqlite3_finalize(q);
	return PB_OK;
}

static enum pb_status parse_time(const char *field, const char *s, bool date_only, int64_t *out,
                                 struct pb_error *err)
{
	unsigned fl = 0;
	if (!pb_time_parse(s, strlen(s), out, &fl) || (date_only && !(fl & PB_TIME_DATEONLY)))
		return pb__err_field(err, PB_EINVAL, field, "'%s' is not %s", s,
		               date_only ? "a date (YYYY-MM-DD)"
		                         : "an ISO 8601 time (like 2025-09-25T00:00:00Z)");
	return PB_OK;
}

/* Resolves terms (complete: every field final) for plan `plan` of case_id. */
static enum pb_status build(struct pb_ws *ws, const struct pb_catalog *cat, int64_t plan,
                            int64_t case_id, const struct case_row *c,
                            const struct pb_plan_terms *t, struct resolved *r,
                            struct pb_error *err)
{
	enum pb_status st;
	memset(r, 0, sizeof(*r));
	r->plan = plan;
	r->case_id = case_id;
	r->customer = c->customer;
	r->effective = PB_TIME_OPEN_START;
	r->until = PB_TIME_OPEN_END;
	if (!t->ndisable)
		return pb__err_field(err, PB_EINVAL, "disable",
		                     "a plan needs at least one selector to disable");
	if (t->ndisable + t->nkeep > PB_PLAN_SELECTORS_MAX)
		return pb__err(err, PB_ELIMIT, "a plan has at most %d selectors", PB_PLAN_SELECTORS_MAX);
	if ((st = pb__text_check("clause", t->clause, false, err)))
		return st;
	if (t->effective && *t->effective &&
	    (st = parse_time("effective", t->effective, false, &r->effective, err)))
		return st;
	if (t->until && *t->until && (st = parse_time("until", t->until, false, &r->until, err)))
		return st;
	if (r->until <= r->effective)
		return pb__err_field(err, PB_EINVAL, "until", "'until' must be after 'effective'");
	if (t->review_by && *t->review_by) {
		int64_t rb;
		if ((st = parse_time("review_by", t->review_by, true, &rb, err)))
			return st;
		if (r->effective != PB_TIME_OPEN_START &&
		    pb_floordiv(rb, 86400) < pb_floordiv(r->effective, 86400))
			return pb__err_field(err, PB_EINVAL, "review_by",
			                     "the review date %s is before the plan takes effect",
			                     t->review_by);
		pb_day_format(pb_floordiv(rb, 86400), r->review_by);
	}
	unsigned min_appr;
	if ((st = pb__plan_setting_uint(ws, "plan_approvals", PB_PLAN_APPROVALS_MIN,
	                                PB_PLAN_APPROVALS_MIN, APPROVALS_MAX, &min_appr, err)))
		return st;
	r->approvals = t->approvals ? t->approvals : min_appr;
	if (r->approvals < min_appr)
		return pb__err_field(err, PB_EINVAL, "approvals",
		               "a plan needs at least %u approvals (%s), not %u", min_appr,
		               min_appr > PB_PLAN_APPROVALS_MIN ? "probity.conf plan_approvals"
		                                                : "two distinct approvers",
		               r->approvals);
	if (r->approvals > APPROVALS_MAX)
		return pb__err_field(err, PB_EINVAL, "approvals", "'approvals' is at most %d",
		                     APPROVALS_MAX);
	if ((st = pb__plan_setting_uint(ws, "appeal_days", 30, 1, 3650, &r->appeal_days, err)))
		return st;
	if (t->appeal_days)
		r->appeal_days = t->appeal_days;
	if (r->appeal_days > 3650)
		return pb__err_field(err, PB_EINVAL, "appeal_days", "'appeal_days' is at most 3650");
	const char *clause = t->clause && *t->clause ? t->clause : pb_ws_setting(ws, "policy_clause");
	if (!clause || !*clause)
		clause = "the acceptable-use policy";
	if ((st = pb__text_check("policy_clause", clause, false, err))) {
		/* the setting is no argument of the caller: name the file instead */
		if (err)
			err->field[0] = '\0';
		pb__err_prefix(err, "probity.conf");
		return st;
	}
	if (!(r->clause = pb__arena_strndup(&r->arena, clause, strlen(clause))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	r->nsel = t->ndisable + t->nkeep;
	r->ndisable = t->ndisable;
	if (!(r->sels = pb__arena_alloc(&r->arena, r->nsel * sizeof(*r->sels))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->nsel; i++) {
		bool keep = i >= t->ndisable;
		const char *text = keep ? t->keep[i - t->ndisable] : t->disable[i];
		unsigned number = (unsigned)(keep ? i - t->ndisable + 1 : i + 1);
		char what[32];
		sel_label(keep, number, what);
		if (!text)
			return pb__err_field(err, PB_EINVAL, keep ? "keep" : "disable", "%s: no selector",
			                     what);
		if ((st = pb__sel_parse(&r->arena, cat, text, strlen(text), what, &r->sels[i], err)))
			return sel_failed(st, keep, err);
		r->sels[i].keep = keep;
		r->sels[i].number = number;
	}
	struct accounts acc;
	if ((st = load_accounts(ws, &r->arena, c->customer_id, &acc, err)) ||
	    (st = find_subs(ws, r, &acc, err)))
		return st;
	for (size_t i = 0; i < r->nsel; i++)
		if ((st = resolve_sel(r, i, &acc, err)))
			return sel_failed(st, r->sels[i].keep, err);
	return PB_OK;
}

/* ---- reading a body back ---------------------------------------------------------------- */

static const char *arena_json_str(struct pb__arena *a, json_t *v)
{
	if (!json_is_string(v))
		return NULL;
	return pb__arena_strndup(a, json_string_value(v), json_string_length(v));
}

static int64_t body_time(json_t *v, int64_t open)
{
	int64_t t;
	if (!json_is_string(v) || !pb_time_parse(json_string_value(v), json_string_length(v), &t, NULL))
		return open;
	return t;
}

/* Parses a stored body into r (selectors and rules; from/until as in the
 * body) and, when t is not NULL, into terms that would rebuild it. */
static enum pb_status body_parse(const char *body, struct resolved *r, struct pb_plan_terms *t,
                                 struct pb_error *err)
{
	memset(r, 0, sizeof(*r));
	json_error_t je;
	json_t *o = json_loads(body, JSON_REJECT_DUPLICATES, &je);
	enum pb_status st = PB_OK;
	if (!json_is_object(o)) {
		st = pb__err(err, PB_EVERIFY, "a stored plan body is not JSON: %s", je.text);
		goto out;
	}
	json_t *dis = json_object_get(o, "disable"), *keep = json_object_get(o, "keep"),
	       *rules = json_object_get(o, "rules");
	if (!json_is_array(dis) || !json_is_array(keep) || !json_is_array(rules)) {
		st = pb__err(err, PB_EVERIFY, "a stored plan body lacks its selectors or rules");
		goto out;
	}
	r->plan = json_integer_value(json_object_get(o, "plan"));
	r->case_id = json_integer_value(json_object_get(o, "case"));
	r->customer = arena_json_str(&r->arena, json_object_get(o, "customer"));
	r->clause = arena_json_str(&r->arena, json_object_get(o, "clause"));
	r->effective = body_time(json_object_get(o, "effective"), PB_TIME_OPEN_START);
	r->until = body_time(json_object_get(o, "until"), PB_TIME_OPEN_END);
	const char *rb = json_string_value(json_object_get(o, "review_by"));
	pb__strlcpy(r->review_by, rb ? rb : "", sizeof(r->review_by));
	r->approvals = (unsigned)json_integer_value(json_object_get(o, "approvals"));
	r->appeal_days = (unsigned)json_integer_value(json_object_get(o, "appeal_days"));
	r->ndisable = json_array_size(dis);
	r->nsel = r->ndisable + json_array_size(keep);
	r->sels = pb__arena_alloc(&r->arena, (r->nsel ? r->nsel : 1) * sizeof(*r->sels));
	if (!r->sels || !r->customer || !r->clause) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r->nsel; i++) {
		bool k = i >= r->ndisable;
		json_t *v = json_array_get(k ? keep : dis, k ? i - r->ndisable : i);
		memset(&r->sels[i], 0, sizeof(r->sels[i]));
		r->sels[i].keep = k;
		r->sels[i].number = (unsigned)(k ? i - r->ndisable + 1 : i + 1);
		if (!(r->sels[i].text = (char *)arena_json_str(&r->arena, v))) {
			st = pb__err(err, PB_EVERIFY, "a stored plan body has a bad selector");
			goto out;
		}
	}
	r->nrules = r->rcap = json_array_size(rules);
	r->rules = calloc(r->nrules ? r->nrules : 1, sizeof(*r->rules));
	r->rule_sel = calloc(r->nrules ? r->nrules : 1, sizeof(*r->rule_sel));
	if (!r->rules || !r->rule_sel) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r->nrules; i++) {
		json_t *ro = json_array_get(rules, i);
		struct pb_rule *x = &r->rules[i];
		const char *eff = json_string_value(json_object_get(ro, "effect"));
		x->effect = eff && !strcmp(eff, "keep") ? PB_EFFECT_KEEP : PB_EFFECT_DISABLE;
		x->from = r->effective;
		x->until = r->until;
		size_t num = (size_t)json_integer_value(json_object_get(ro, "selector"));
		size_t base = x->effect == PB_EFFECT_KEEP ? r->ndisable : 0;
		size_t lim = x->effect == PB_EFFECT_KEEP ? r->nsel : r->ndisable;
		if (num < 1 || base + num - 1 >= lim) {
			st = pb__err(err, PB_EVERIFY, "a stored plan rule names no selector");
			goto out;
		}
		r->rule_sel[i] = base + num - 1;
		for (int d = 0; d < PB_DIM_COUNT; d++) {
			json_t *a = json_object_get(ro, pb_dim_name((enum pb_dim)d));
			size_t n = json_array_size(a);
			if (!n)
				continue;
			const char **v = pb__arena_alloc(&r->arena, n * sizeof(char *));
			if (!v) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				goto out;
			}
			for (size_t j = 0; j < n; j++)
				if (!(v[j] = arena_json_str(&r->arena, json_array_get(a, j)))) {
					st = pb__err(err, PB_EVERIFY, "a stored plan rule has a bad value");
					goto out;
				}
			x->values[d] = v;
			x->nvalues[d] = n;
		}
	}
	if (t) {
		memset(t, 0, sizeof(*t));
		const char **sv = pb__arena_alloc(&r->arena, (r->nsel ? r->nsel : 1) * sizeof(char *));
		if (!sv) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < r->nsel; i++)
			sv[i] = r->sels[i].text;
		t->disable = sv;
		t->ndisable = r->ndisable;
		t->keep = sv + r->ndisable;
		t->nkeep = r->nsel - r->ndisable;
		char *tb;
		if (r->effective != PB_TIME_OPEN_START && (tb = pb__arena_alloc(&r->arena, 24))) {
			time_text(r->effective, tb);
			t->effective = tb;
		}
		if (r->until != PB_TIME_OPEN_END && (tb = pb__arena_alloc(&r->arena, 24))) {
			time_text(r->until, tb);
			t->until = tb;
		}
		t->review_by = r->review_by[0] ? r->review_by : NULL;
		t->clause = r->clause;
		t->approvals = r->approvals;
		t->appeal_days = r->appeal_days;
	}
out:
	json_decref(o);
	if (st)
		resolved_release(r);
	return st;
}

/* ---- the plan row and its events ---------------------------------------------------------- */

struct plan_row {
	int64_t id, case_id, customer_id;
	char status[16];
	char sha256[65];
	int revision;
	char *body; /* heap */
	int64_t applied_version, in_force_from, end_version;
};

static enum pb_status plan_row(struct pb_ws *ws, int64_t id, struct plan_row *p,
                               struct pb_error *err)
{
	memset(p, 0, sizeof(*p));
	if (id <= 0)
		return pb__err(err, PB_EINVAL, "plan ids are positive numbers");
	sqlite3_stmt *q;
	enum pb_status st = pb__db_row_by_id(ws->db,
	                                     "SELECT id, case_id, customer_id, status, sha256, "
	                                     "revision, body, coalesce(applied_version, 0), "
	                                     "coalesce(in_force_from, 0), coalesce(end_version, 0) "
	                                     "FROM plan WHERE id = ?1",
	                                     id, "no plan %lld (see 'probity plan list')", "plans",
	                                     &q, err);
	if (st)
		return st;
	p->id = sqlite3_column_int64(q, 0);
	p->case_id = sqlite3_column_int64(q, 1);
	p->customer_id = sqlite3_column_int64(q, 2);
	pb__strlcpy(p->status, (const char *)sqlite3_column_text(q, 3), sizeof(p->status));
	pb__strlcpy(p->sha256, (const char *)sqlite3_column_text(q, 4), sizeof(p->sha256));
	p->revision = sqlite3_column_int(q, 5);
	const char *b = (const char *)sqlite3_column_text(q, 6);
	p->body = pb__strndup(b, (size_t)sqlite3_column_bytes(q, 6));
	p->applied_version = sqlite3_column_int64(q, 7);
	p->in_force_from = sqlite3_column_int64(q, 8);
	p->end_version = sqlite3_column_int64(q, 9);
	if (!p->body)
		st = pb__err(err, PB_ENOMEM, "out of memory");
	sqlite3_finalize(q);
	if (!st) {
		/* the body must still hash to the recorded value */
		uint8_t h[32];
		char hex[65];
		pb__sha256(p->body, strlen(p->body), h);
		pb_hex(h, 32, hex);
		if (strcmp(hex, p->sha256))
			st = pb__err(err, PB_EVERIFY, "plan %lld: its stored body does not match its hash",
			             (long long)id);
	}
	if (st) {
		free(p->body);
		p->body = NULL;
	}
	return st;
}

/* The opening every step on an existing plan shares: the text it takes
 * (field: its API name, or NULL for none), a write step of the entry
 * `action` (its roles: pb__action_roles), and the plan's row. On failure nothing is left open: the step is
 * rolled back and p holds no body. */
static enum pb_status step_begin(struct pb_ws *ws, const char *actor, const char *action,
                                 const char *doing, int64_t id, const char *field,
                                 const char *text, bool required, struct plan_row *p,
                                 struct pb_error *err)
{
	enum pb_status st;
	memset(p, 0, sizeof(*p));
	if (field && (st = pb__text_check(field, text, required, err)))
		return st;
	if ((st = pb__ws_begin_as(ws, actor, action, doing, err)))
		return st;
	if ((st = plan_row(ws, id, p, err)))
		return pb__ws_finish(ws, st, err);
	return PB_OK;
}

/* Distinct actors with a `kind` step on plan id (bound to sha, when not NULL).
 * A step counts only when its audit entry is in the log as written: same
 * actor, subject, action and plan hash (an approval is valid once it is on
 * the record, and a row slipped into plan_event alone is not). */
static enum pb_status count_events(struct pb_ws *ws, int64_t id, const char *kind,
                                   const char *sha, unsigned *n, struct pb_error *err)
{
	const char *action = !strcmp(kind, "approve")  ? "plan.approve"
	                     : !strcmp(kind, "refuse") ? "plan.refuse"
	                                               : "plan.rollback-request";
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT count(DISTINCT e.actor) FROM plan_event e JOIN audit_entry a ON "
		" a.idx = e.log_index WHERE e.plan_id = ?1 AND e.kind = ?2 AND "
		" (?3 IS NULL OR e.sha256 = ?3) AND a.actor = e.actor AND a.action = ?4 AND "
		" a.subject = 'plan/' || e.plan_id AND "
		" instr(CAST(a.data AS TEXT), '\"sha256\":\"' || e.sha256 || '\"') > 0",
		&q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	if (sha)
		sqlite3_bind_text(q, 3, sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, action, -1, SQLITE_STATIC);
	*n = 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		*n = (unsigned)sqlite3_column_int(q, 0);
	else
		st = pb__db_err(ws->db, err, "cannot read plan events");
	sqlite3_finalize(q);
	return st;
}

/* What the log itself says about plan id, read from its entries' JSON text
 * (never from the actor/action columns audit_entry copies for queries): the
 * authors (every actor of a plan.new or plan.edit entry, whichever version
 * they wrote, so A->B->A editing keeps B an author), the hash the last of
 * those entries recorded, and the approvers of the full hash sha. Entries
 * are found through the plan's case (index audit_entry_case). */
struct names {
	char **v;
	size_t n;
};

static void names_release(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool names_has(const struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

static bool names_add(struct names *l, const char *s)
{
	if (names_has(l, s))
		return true;
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return false;
	l->v = v;
	if (!(l->v[l->n] = pb__strndup(s, strlen(s))))
		return false;
	l->n++;
	return true;
}

struct plan_log {
	struct names authors, approvers, counted; /* counted: by approvals_now */
	struct names keys; /* signed workspace: the keys (fingerprints) approvals were signed with */
	char last_sha[65];  /* "" when no plan.new/plan.edit entry names the plan */
};

static void plan_log_release(struct plan_log *pl)
{
	names_release(&pl->authors);
	names_release(&pl->approvers);
	names_release(&pl->counted);
	names_release(&pl->keys);
}

static enum pb_status plan_log_read(struct pb_ws *ws, const struct plan_row *p,
                                    struct plan_log *pl, struct pb_error *err)
{
	memset(pl, 0, sizeof(*pl));
	char subject[48];
	pb__snprintf(subject, sizeof(subject), "plan/%lld", (long long)p->id);
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT data FROM audit_entry WHERE case_id = ?1 AND "
	                                   "instr(CAST(data AS TEXT), ?2) > 0 ORDER BY idx",
	                                   &q, err);
	if (st)
		return st;
	char needle[64];
	pb__snprintf(needle, sizeof(needle), "\"subject\":\"%s\"", subject);
	sqlite3_bind_int64(q, 1, p->case_id);
	sqlite3_bind_text(q, 2, needle, -1, SQLITE_STATIC);
	int rc;
	bool is_signed = pb_ws_actors_signed(ws);
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		json_error_t je;
		json_t *o = json_loadb(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0), 0,
		                       &je);
		json_t *d = json_object_get(o, "details");
		const char *action = json_string_value(json_object_get(o, "action"));
		const char *actor = json_string_value(json_object_get(o, "actor"));
		const char *subj = json_string_value(json_object_get(o, "subject"));
		const char *sha = json_string_value(json_object_get(d, "sha256"));
		json_t *plan = json_object_get(d, "plan");
		if (action && actor && subj && sha && !strcmp(subj, subject) &&
		    json_is_integer(plan) && json_integer_value(plan) == p->id) {
			bool ok = true;
			if (!strcmp(action, "plan.new") || !strcmp(action, "plan.edit")) {
				ok = names_add(&pl->authors, actor);
				pb__strlcpy(pl->last_sha, sha, sizeof(pl->last_sha));
			} else if (!strcmp(action, "plan.approve") && !strcmp(sha, p->sha256)) {
				/* signed: an approval counts only signed, one per key
				 * (the write-time check tied the key to the actor) */
				const char *fp = json_string_value(
					json_object_get(json_object_get(o, "sig"), "key_fp"));
				if (!is_signed)
					ok = names_add(&pl->approvers, actor);
				else if (fp && !names_has(&pl->keys, fp) && !names_has(&pl->approvers, actor))
					ok = names_add(&pl->approvers, actor) && names_add(&pl->keys, fp);
			}
			if (!ok)
				st = pb__err(err, PB_ENOMEM, "out of memory");
		}
		json_decref(o);
	}
	if (!st && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read the audit log");
	sqlite3_finalize(q);
	if (st)
		plan_log_release(pl);
	return st;
}

/* The approvals that count at apply: approvers of the plan's full hash
 * (from the log), who are not its authors and who are, now, enabled users
 * with the approver role. */
static enum pb_status approvals_now(struct pb_ws *ws, struct plan_log *pl, unsigned *have,
                                    struct pb_error *err)
{
	*have = 0;
	for (size_t i = 0; i < pl->approvers.n; i++) {
		const char *a = pl->approvers.v[i];
		struct pb_error e2 = { 0 };
		if (names_has(&pl->authors, a))
			continue;
		enum pb_status st = pb__user_may(ws, a, "plan.approve", &e2);
		if (st == PB_EPERM || st == PB_ENOENT || st == PB_EINVAL)
			continue;
		if (st) {
			*err = e2;
			return st;
		}
		if (!names_add(&pl->counted, a))
			return pb__err(err, PB_ENOMEM, "out of memory");
		(*have)++;
	}
	return PB_OK;
}

/* Whether actor has an event of one of kinds (comma list) on plan id (and sha). */
static enum pb_status has_event(struct pb_ws *ws, int64_t id, const char *kinds, const char *actor,
                                const char *sha, bool *yes, char *kind_out, size_t cap,
                                struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT kind FROM plan_event WHERE plan_id = ?1 AND "
	                                   "instr(',' || ?2 || ',', ',' || kind || ',') > 0 AND "
	                                   "actor = ?3 AND (?4 IS NULL OR sha256 = ?4) "
	                                   "ORDER BY id LIMIT 1",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, kinds, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, actor, -1, SQLITE_STATIC);
	if (sha)
		sqlite3_bind_text(q, 4, sha, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	*yes = rc == SQLITE_ROW;
	if (*yes && kind_out)
		pb__strlcpy(kind_out, (const char *)sqlite3_column_text(q, 0), cap);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read plan events");
	sqlite3_finalize(q);
	return st;
}

/* Appends the audit entry for a plan step and its plan_event row. details
 * is consumed. */
static enum pb_status record(struct pb_ws *ws, const char *actor, int64_t id, int64_t case_id,
                             const char *kind, const char *action, const char *sha,
                             const char *text, int64_t version, json_t *details,
                             uint64_t *index_out, struct pb_error *err)
{
	json_object_set_new(details, "plan", json_integer(id));
	json_object_set_new(details, "sha256", json_string(sha));
	if (text)
		json_object_set_new(details, !strcmp(kind, "approve") ? "comment" : "reason",
		                    json_string(text));
	if (version)
		json_object_set_new(details, "version", json_integer(version));
	char *dj = pb__json_text(json_incref(details));
	char subject[48];
	pb__snprintf(subject, sizeof(subject), "plan/%lld", (long long)id);
	uint64_t index = 0;
	enum pb_status st = dj ? pb__audit_append(ws, actor, action, case_id, subject, dj, &index, err)
	                       : pb__err(err, PB_EINVAL, "plan step details are not valid UTF-8");
	sqlite3_stmt *q = NULL;
	if (st)
		goto out;
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO plan_event(plan_id, kind, actor, at, sha256, text, "
	                         "version, detail, log_index) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	                         &q, err)))
		goto out;
	char now[24];
	time_text(pb_now(), now);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, sha, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(q, 6, text, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_int64(q, 7, version);
	sqlite3_bind_text(q, 8, dj, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)index);
	if (sqlite3_step(q) != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot record the plan step");
	else if (index_out)
		*index_out = index;
out:
	sqlite3_finalize(q);
	free(dj);
	json_decref(details);
	return st;
}

enum pb_status pb__plan_record(struct pb_ws *ws, const char *actor, int64_t id, int64_t case_id,
                               const char *kind, const char *action, const char *sha,
                               const char *text, const char *details_json, uint64_t *index_out,
                               struct pb_error *err)
{
	json_error_t je;
	json_t *d = details_json ? json_loads(details_json, 0, &je) : json_object();
	if (!json_is_object(d)) {
		json_decref(d);
		return pb__err(err, PB_EINVAL, "plan step details are not a JSON object");
	}
	return record(ws, actor, id, case_id, kind, action, sha, text, 0, d, index_out, err);
}

/* The terms as a log entry's details: hashes and counts always, the
 * selectors themselves when short. */
static json_t *terms_details(const struct resolved *r)
{
	json_t *d = json_object();
	json_t *dis = json_array(), *keep = json_array();
	size_t total = 0;
	for (size_t i = 0; i < r->nsel; i++)
		total += strlen(r->sels[i].text) + 4;
	if (total <= INLINE_SELECTORS_MAX) {
		for (size_t i = 0; i < r->nsel; i++)
			json_array_append_new(r->sels[i].keep ? keep : dis, json_string(r->sels[i].text));
		json_object_set_new(d, "disable", dis);
		json_object_set_new(d, "keep", keep);
	} else {
		json_decref(dis);
		json_decref(keep);
		json_object_set_new(d, "disables", json_integer((json_int_t)r->ndisable));
		json_object_set_new(d, "keeps", json_integer((json_int_t)(r->nsel - r->ndisable)));
	}
	json_object_set_new(d, "customer", json_string(r->customer));
	json_object_set_new(d, "rules", json_integer((json_int_t)r->nrules));
	json_object_set_new(d, "effective", json_time_or_null(r->effective,
	                                                      r->effective == PB_TIME_OPEN_START));
	json_object_set_new(d, "until", json_time_or_null(r->until, r->until == PB_TIME_OPEN_END));
	json_object_set_new(d, "review_by", r->review_by[0] ? json_string(r->review_by) : json_null());
	json_object_set_new(d, "approvals_needed", json_integer(r->approvals));
	return d;
}

static void sha_hex(const char *s, char out[65])
{
	uint8_t h[32];
	pb__sha256(s, strlen(s), h);
	pb_hex(h, 32, out);
}

/* ---- new, edit ------------------------------------------------------------------------------ */

enum pb_status pb_plan_new(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                           int64_t case_id, const struct pb_plan_terms *terms, int64_t *id_out,
                           uint64_t *index_out, struct pb_error *err)
{
	struct resolved r = { 0 };
	char *body = NULL;
	sqlite3_stmt *q = NULL;
	enum pb_status st;
	if (!terms)
		return pb__err(err, PB_EINVAL, "no plan terms");
	if (case_id <= 0)
		return pb__err(err, PB_EINVAL, "case ids are positive numbers");
	if ((st = pb__ws_begin_as(ws, actor, "plan.new", "make a plan", err)))
		return st;
	struct case_row c;
	if ((st = case_row(ws, case_id, &c, err)))
		goto out;
	int64_t id = 1;
	if ((st = pb__db_prepare(ws->db, "SELECT coalesce(max(id), 0) + 1 FROM plan", &q, err)))
		goto out;
	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if ((st = build(ws, cat, id, case_id, &c, terms, &r, err)))
		goto out;
	if (!(body = body_json(&r)) || strlen(body) > BODY_MAX) {
		st = body ? pb__err(err, PB_ELIMIT, "the plan is larger than %zu bytes", BODY_MAX)
		          : pb__err(err, PB_EINVAL, "the plan's text is not valid UTF-8");
		goto out;
	}
	char sha[65];
	sha_hex(body, sha);
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO plan(id, case_id, customer_id, status, revision, body, "
	                         "sha256, created_at, created_by) VALUES (?1,?2,?3,'draft',1,?4,?5,?6,?7)",
	                         &q, err)))
		goto out;
	char now[24];
	time_text(pb_now(), now);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, case_id);
	sqlite3_bind_int64(q, 3, c.customer_id);
	sqlite3_bind_text(q, 4, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, actor, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		st = pb__db_err(ws->db, err, "cannot record the plan");
		goto out;
	}
	if ((st = record(ws, actor, id, case_id, "new", "plan.new", sha, NULL, 0, terms_details(&r),
	                 index_out, err)))
		goto out;
	if (id_out)
		*id_out = id;
out:
	sqlite3_finalize(q);
	free(body);
	resolved_release(&r);
	return pb__ws_finish(ws, st, err);
}

enum pb_status pb_plan_edit(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                            int64_t id, const struct pb_plan_terms *terms, bool clear_keep,
                            uint64_t *index_out, struct pb_error *err)
{
	struct plan_row p = { 0 };
	struct resolved old = { 0 }, r = { 0 };
	char *body = NULL;
	sqlite3_stmt *q = NULL;
	enum pb_status st;
	if (!terms)
		return pb__err(err, PB_EINVAL, "no plan terms");
	if ((st = step_begin(ws, actor, "plan.edit", "change a plan", id, NULL, NULL, false,
	                     &p, err)))
		return st;
	if (strcmp(p.status, "draft")) {
		st = pb__err(err, PB_ESTATE, "plan %lld is %s; only a draft can be changed (make a new "
		                             "plan instead)",
		             (long long)id, p.status);
		goto out;
	}
	struct pb_plan_terms t;
	if ((st = body_parse(p.body, &old, &t, err)))
		goto out;
	if (terms->ndisable) {
		t.disable = terms->disable;
		t.ndisable = terms->ndisable;
	}
	if (terms->nkeep || clear_keep) {
		t.keep = terms->keep;
		t.nkeep = terms->nkeep;
	}
	if (terms->effective)
		t.effective = *terms->effective ? terms->effective : NULL;
	if (terms->until)
		t.until = *terms->until ? terms->until : NULL;
	if (terms->review_by)
		t.review_by = *terms->review_by ? terms->review_by : NULL;
	if (terms->clause)
		t.clause = terms->clause;
	if (terms->approvals)
		t.approvals = terms->approvals;
	if (terms->appeal_days)
		t.appeal_days = terms->appeal_days;
	struct case_row c;
	if ((st = case_row(ws, p.case_id, &c, err)))
		goto out;
	if ((st = build(ws, cat, id, p.case_id, &c, &t, &r, err)))
		goto out;
	if (!(body = body_json(&r)) || strlen(body) > BODY_MAX) {
		st = body ? pb__err(err, PB_ELIMIT, "the plan is larger than %zu bytes", BODY_MAX)
		          : pb__err(err, PB_EINVAL, "the plan's text is not valid UTF-8");
		goto out;
	}
	char sha[65];
	sha_hex(body, sha);
	if (!strcmp(sha, p.sha256)) {
		st = pb__err(err, PB_EINVAL, "plan %lld: nothing changed", (long long)id);
		goto out;
	}
	if ((st = pb__db_prepare(ws->db,
	                         "UPDATE plan SET body = ?2, sha256 = ?3, revision = revision + 1 "
	                         "WHERE id = ?1",
	                         &q, err)))
		goto out;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, body, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, sha, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		st = pb__db_err(ws->db, err, "cannot change the plan");
		goto out;
	}
	json_t *d = terms_details(&r);
	json_object_set_new(d, "previous_sha256", json_string(p.sha256));
	json_object_set_new(d, "revision", json_integer(p.revision + 1));
	st = record(ws, actor, id, p.case_id, "edit", "plan.edit", sha, NULL, 0, d, index_out, err);
out:
	sqlite3_finalize(q);
	free(body);
	free(p.body);
	resolved_release(&old);
	resolved_release(&r);
	return pb__ws_finish(ws, st, err);
}

/* ---- approvals ------------------------------------------------------------------------------ */

static enum pb_status vote(struct pb_ws *ws, const char *actor, int64_t id, const char *sha,
                           const char *text, bool approve, unsigned *have_out,
                           uint64_t *index_out, struct pb_error *err)
{
	struct plan_row p = { 0 };
	struct resolved r = { 0 };
	const char *verb = approve ? "approve" : "refuse";
	enum pb_status st = step_begin(ws, actor, approve ? "plan.approve" : "plan.refuse",
	                               approve ? "approve a plan" : "refuse a plan", id,
	                               approve ? "comment" : "reason", text, !approve, &p, err);
	if (st)
		return st;
	if (strcmp(p.status, "draft")) {
		st = pb__err(err, PB_ESTATE, "plan %lld is %s; only a draft can be %s", (long long)id,
		             p.status, approve ? "approved" : "refused");
		goto out;
	}
	size_t hl = sha ? strlen(sha) : 0;
	/* a short prefix is too easy to match by a crafted edit: 16 digits (64
	 * bits) at least, and it must match the plan's one current hash */
	if (hl && (hl < 16 || hl > 64 || strspn(sha, "0123456789abcdef") != hl)) {
		st = pb__err_field(err, PB_EINVAL, "sha256",
		                   "'%s' is not the plan's SHA-256 (64 lower-case hex digits, or at "
		                   "least the first 16)",
		                   sha);
		goto out;
	}
	if (hl && strncmp(sha, p.sha256, hl)) {
		st = pb__err(err, PB_ESTATE,
		             "plan %lld has changed since the version you reviewed (%.16s..., it is now "
		             "%.16s...): a stale plan is not %s; review it again with 'probity plan "
		             "show'",
		             (long long)id, sha, p.sha256, approve ? "approved" : "refused");
		goto out;
	}
	bool yes;
	if ((st = has_event(ws, id, "new,edit", actor, NULL, &yes, NULL, 0, err)))
		goto out;
	if (yes) {
		st = pb__err(err, PB_EPERM, "user '%s' is an author of plan %lld and cannot %s it "
		                            "(approvals come from other people)",
		             actor, (long long)id, verb);
		goto out;
	}
	char kind[24];
	if ((st = has_event(ws, id, "approve,refuse", actor, p.sha256, &yes, kind, sizeof(kind), err)))
		goto out;
	if (yes) {
		st = pb__err(err, PB_EEXIST, "user '%s' already %s plan %lld as it is now", actor,
		             !strcmp(kind, "approve") ? "approved" : "refused", (long long)id);
		goto out;
	}
	if ((st = body_parse(p.body, &r, NULL, err)))
		goto out;
	unsigned have;
	if ((st = count_events(ws, id, "approve", p.sha256, &have, err)))
		goto out;
	if (approve)
		have++;
	json_t *d = json_object();
	json_object_set_new(d, "approvals", json_integer(have));
	json_object_set_new(d, "approvals_needed", json_integer(r.approvals));
	if ((st = record(ws, actor, id, p.case_id, verb, approve ? "plan.approve" : "plan.refuse",
	                 p.sha256, text && *text ? text : NULL, 0, d, index_out, err)))
		goto out;
	if (have_out)
		*have_out = have;
out:
	free(p.body);
	resolved_release(&r);
	return pb__ws_finish(ws, st, err);
}

enum pb_status pb_plan_approve(struct pb_ws *ws, const char *actor, int64_t id,
                               const char *sha256, const char *comment, unsigned *have_out,
                               uint64_t *index_out, struct pb_error *err)
{
	return vote(ws, actor, id, sha256, comment, true, have_out, index_out, err);
}

enum pb_status pb_plan_refuse(struct pb_ws *ws, const char *actor, int64_t id,
                              const char *sha256, const char *reason, uint64_t *index_out,
                              struct pb_error *err)
{
	return vote(ws, actor, id, sha256, reason, false, NULL, index_out, err);
}

/* ---- apply, rollback, withdraw -------------------------------------------------------------- */

static enum pb_status set_status(struct pb_ws *ws, int64_t id, const char *sql, int64_t a,
                                 int64_t b, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db, sql, &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, a);
	sqlite3_bind_int64(q, 3, b);
	if (sqlite3_step(q) != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot change the plan's status");
	sqlite3_finalize(q);
	return st;
}

/* Publishes the latest rules without plan id's and, when add is not NULL,
 * with add's rules after them. */
static enum pb_status publish(struct pb_ws *ws, const char *plan_id, const struct pb_rule *add,
                              size_t nadd, const char *reason, int64_t *version,
                              char sha_out[65], size_t *nrules_out, size_t *removed,
                              struct pb_error *err)
{
	struct pb_entitlements *e = NULL;
	struct pb_rule *all = NULL;
	enum pb_status st = pb_entitlements_load(ws, 0, &e, err);
	if (st) {
		pb__err_prefix(err, "cannot read the entitlements in force");
		return st;
	}
	size_t n = pb_entitlements_count(e), k = 0;
	*removed = 0;
	if (!(all = malloc((n + nadd + 1) * sizeof(*all)))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pb_rule *x = pb_entitlements_rule(e, i);
		if (pb__ieq(x->plan, plan_id)) {
			if (add) {
				st = pb__err(err, PB_ESTATE,
				             "entitlements version %lld already holds rules of plan %s",
				             (long long)pb_entitlements_version(e), plan_id);
				goto out;
			}
			(*removed)++;
			continue;
		}
		all[k++] = *x;
	}
	for (size_t i = 0; i < nadd; i++)
		all[k++] = add[i];
	if ((st = pb__entitlements_publish(ws, all, k, reason, version, err)))
		goto out;
	/* the hash the log entry pins: computed as the version's (canonical JSON
	 * lines of its rules), and checked against what publish stored, rather
	 * than reading 100,000 rules back */
	struct pb_sha256 h;
	struct pb_buf line;
	if ((st = pb__sha256_init(&h))) {
		st = pb__err(err, st, "cannot hash the entitlements");
		goto out;
	}
	pb_buf_init(&line, 1u << 24);
	for (size_t i = 0; i < k && !st; i++) {
		pb_buf_reset(&line);
		if ((st = pb__rule_json(&line, &all[i])) || (st = pb_buf_addc(&line, '\n')))
			st = pb__err(err, st, "cannot hash the entitlements");
		else
			pb__sha256_update(&h, line.data, line.len);
	}
	pb_buf_release(&line);
	uint8_t digest[32];
	pb__sha256_final(&h, digest);
	if (st)
		goto out;
	pb_hex(digest, 32, sha_out);
	sqlite3_stmt *q;
	if ((st = pb__db_prepare(ws->db, "SELECT sha256 FROM entitlement_version WHERE version = ?1",
	                         &q, err)))
		goto out;
	sqlite3_bind_int64(q, 1, *version);
	bool same = sqlite3_step(q) == SQLITE_ROW &&
	            !strcmp((const char *)sqlite3_column_text(q, 0), sha_out);
	sqlite3_finalize(q);
	if (!same) {
		st = pb__err(err, PB_EVERIFY, "entitlements version %lld does not hash as written",
		             (long long)*version);
		goto out;
	}
	*nrules_out = k;
out:
	free(all);
	pb_entitlements_free(e);
	return st;
}

/* Signs a checkpoint covering the entry just appended, in the same
 * transaction: the entitlements loader enforces a version only when the
 * entry naming it sits under a signed checkpoint (pb__audit_entry_sealed),
 * so applying or rolling back needs the signing key, and an append made
 * without it enforces nothing. */
static enum pb_status seal(struct pb_ws *ws, const char *actor, struct pb_error *err)
{
	char *note = NULL;
	enum pb_status st = pb__audit_checkpoint_sign(ws, actor, false, &note, err);
	free(note);
	if (st)
		pb__err_prefix(err, "cannot sign the checkpoint that seals this step");
	return st;
}

enum pb_status pb_plan_apply(struct pb_ws *ws, const char *actor, int64_t id,
                             int64_t *version_out, uint64_t *index_out, struct pb_error *err)
{
	struct plan_row p = { 0 };
	struct resolved r = { 0 };
	struct plan_log pl = { 0 };
	sqlite3_stmt *q = NULL;
	enum pb_status st = step_begin(ws, actor, "plan.apply", "apply a plan", id, NULL,
	                               NULL, false, &p, err);
	if (st)
		return st;
	if (!strcmp(p.status, "applied")) {
		st = pb__err(err, PB_ESTATE, "plan %lld is already applied (entitlements version %lld)",
		             (long long)id, (long long)p.applied_version);
		goto out;
	}
	if (strcmp(p.status, "draft")) {
		st = pb__err(err, PB_ESTATE, "plan %lld is %s; it cannot be applied (make a new plan)",
		             (long long)id, p.status);
		goto out;
	}
	if ((st = body_parse(p.body, &r, NULL, err)))
		goto out;
	unsigned have, refused, floor;
	if ((st = plan_log_read(ws, &p, &pl, err)))
		goto out;
	if (strcmp(pl.last_sha, p.sha256)) {
		st = pb__err(err, PB_EVERIFY,
		             "plan %lld: its stored body (%.16s...) is not the one its last plan.new or "
		             "plan.edit log entry recorded (%.16s...); it was changed outside probity",
		             (long long)id, p.sha256, pl.last_sha[0] ? pl.last_sha : "none");
		goto out;
	}
	/* the body may raise the approvals needed, never lower them below the
	 * floor: PB_PLAN_APPROVALS_MIN, or probity.conf's plan_approvals */
	if ((st = pb__plan_setting_uint(ws, "plan_approvals", PB_PLAN_APPROVALS_MIN,
	                                PB_PLAN_APPROVALS_MIN, APPROVALS_MAX, &floor, err)))
		goto out;
	if (r.approvals < floor)
		r.approvals = floor;
	if ((st = approvals_now(ws, &pl, &have, err)) ||
	    (st = count_events(ws, id, "refuse", p.sha256, &refused, err)))
		goto out;
	if (refused) {
		char who[PB_USER_NAME_MAX + 1] = "";
		if (!pb__db_prepare(ws->db,
		                    "SELECT actor FROM plan_event WHERE plan_id = ?1 AND kind = 'refuse' "
		                    "AND sha256 = ?2 ORDER BY id LIMIT 1",
		                    &q, NULL)) {
			sqlite3_bind_int64(q, 1, id);
			sqlite3_bind_text(q, 2, p.sha256, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				pb__strlcpy(who, (const char *)sqlite3_column_text(q, 0), sizeof(who));
		}
		st = pb__err(err, PB_ESTATE, "plan %lld was refused by %s; change it ('probity plan "
		                             "edit') for a new round of approvals",
		             (long long)id, who);
		goto out;
	}
	if (have < r.approvals) {
		st = pb__err(err, PB_ESTATE,
		             "plan %lld has %u of the %u approvals it needs; %u more from approvers "
		             "who did not write it ('probity plan approve'; an approval counts while "
		             "its approver is enabled with the approver role)",
		             (long long)id, have, r.approvals, r.approvals - have);
		goto out;
	}
	/* the statement holds "from": a detached signature's two steps share
	 * one clock (pb_ws_set_clock) */
	int64_t now = pb__ws_now(ws);
	if (r.until != PB_TIME_OPEN_END && r.until <= now) {
		char u[24];
		time_text(r.until, u);
		st = pb__err(err, PB_ESTATE, "plan %lld ends at %s, which has passed", (long long)id, u);
		goto out;
	}
	int64_t from = r.effective == PB_TIME_OPEN_START || r.effective < now ? now : r.effective;
	for (size_t i = 0; i < r.nrules; i++)
		r.rules[i].from = from;
	char plan_id[24], case_ref[24], reason[128];
	pb__snprintf(plan_id, sizeof(plan_id), "%lld", (long long)id);
	pb__snprintf(case_ref, sizeof(case_ref), "%lld", (long long)p.case_id);
	for (size_t i = 0; i < r.nrules; i++) {
		r.rules[i].plan = plan_id;
		r.rules[i].case_ref = case_ref;
	}
	pb__snprintf(reason, sizeof(reason), "apply plan %lld (case %lld)", (long long)id,
	             (long long)p.case_id);
	int64_t version = 0;
	char esha[65];
	size_t nall, removed;
	if ((st = publish(ws, plan_id, r.rules, r.nrules, reason, &version, esha, &nall, &removed,
	                  err)))
		goto out;
	if ((st = set_status(ws, id,
	                     "UPDATE plan SET status = 'applied', applied_version = ?2, "
	                     "in_force_from = ?3 WHERE id = ?1",
	                     version, from, err)))
		goto out;
	json_t *d = json_object();
	json_t *who = json_array();
	sqlite3_finalize(q);
	q = NULL;
	/* the approvals counted, each with the key that signed it (signed
	 * workspaces; the entitlements loader checks each on its own) */
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT e.actor, e.log_index, json_extract(CAST(a.data AS TEXT), "
	                         "'$.sig.key_fp') FROM plan_event e LEFT JOIN audit_entry a ON "
	                         "a.idx = e.log_index WHERE e.plan_id = ?1 AND e.kind = 'approve' "
	                         "AND e.sha256 = ?2 ORDER BY e.id",
	                         &q, err))) {
		json_decref(d);
		json_decref(who);
		goto out;
	}
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, p.sha256, -1, SQLITE_STATIC);
	bool is_signed = pb_ws_actors_signed(ws);
	struct names seen = { 0 };
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(q, 0);
		const char *fp = (const char *)sqlite3_column_text(q, 2);
		if (!a || !names_has(&pl.counted, a) || names_has(&seen, a) ||
		    (is_signed && (!fp || !names_has(&pl.keys, fp))))
			continue;
		json_t *one = json_pack("{s:s, s:I}", "actor", a, "index",
		                        (json_int_t)sqlite3_column_int64(q, 1));
		if (is_signed)
			json_object_set_new(one, "key_fp", json_string(fp));
		json_array_append_new(who, one);
		names_add(&seen, a);
	}
	names_release(&seen);
	json_object_set_new(d, "approvals", who);
	json_object_set_new(d, "rules", json_integer((json_int_t)r.nrules));
	json_object_set_new(d, "from", json_time_or_null(from, false));
	json_object_set_new(d, "until", json_time_or_null(r.until, r.until == PB_TIME_OPEN_END));
	json_object_set_new(d, "entitlements_sha256", json_string(esha));
	json_object_set_new(d, "entitlements_rules", json_integer((json_int_t)nall));
	if ((st = record(ws, actor, id, p.case_id, "apply", "plan.apply", p.sha256, NULL, version, d,
	                 index_out, err)) ||
	    (st = seal(ws, actor, err)))
		goto out;
	if (version_out)
		*version_out = version;
out:
	sqlite3_finalize(q);
	free(p.body);
	resolved_release(&r);
	plan_log_release(&pl);
	return pb__ws_finish(ws, st, err);
}

/* ---- the workspace's rollback policy, a log entry -------------------------------------------- */

/* The last plan.policy entry below `below` (its index in *idx, and whether
 * there is one in *found), read from the copied action column: the entry
 * text is then verified and must agree (log check compares the columns). */
static enum pb_status last_policy_entry(struct pb_ws *ws, uint64_t below, bool *found,
                                        uint64_t *idx, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT max(idx) FROM audit_entry WHERE "
	                                   "action = 'plan.policy' AND idx < ?1",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, below > INT64_MAX ? INT64_MAX : (sqlite3_int64)below);
	int rc = sqlite3_step(q);
	*found = rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL;
	*idx = *found ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? PB_OK : pb__db_err(ws->db, err, "cannot read the audit log");
}

/* Rollback approvals: PB_PLAN_ROLLBACK_APPROVALS unless the last sealed
 * plan.policy entry of the log says otherwise (pb_plan_set_rollback_approvals,
 * admin only, seals it at once): like an apply, a choice that weakens
 * enforcement counts only under a signed checkpoint, so a plan.policy entry
 * appended beside the checkpoint key changes nothing. probity.conf's
 * rollback_approvals may raise it, never lower it (a file beside the log is
 * no record of a choice). */
enum pb_status pb_plan_rollback_policy(struct pb_ws *ws, struct pb_plan_rollback_policy *out,
                                       struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	enum pb_status st =
		pb__plan_setting_uint(ws, "rollback_approvals", 1, 1, APPROVALS_MAX, &out->conf, err);
	if (st)
		return st;
	out->logged = PB_PLAN_ROLLBACK_APPROVALS;
	struct pb_audit_status as;
	uint64_t last = 0, idx = 0;
	bool any, sealed;
	if ((st = pb_audit_status(ws, &as, err)) ||
	    (st = last_policy_entry(ws, UINT64_MAX, &any, &last, err)) ||
	    (st = last_policy_entry(ws, as.checkpoints ? as.checkpoint_size : 0, &sealed, &idx, err)))
		return st;
	out->pending = any && (!sealed || last != idx);
	out->pending_index = out->pending ? last : 0;
	if (sealed) {
		char *data = NULL;
		size_t len = 0;
		if ((st = pb__audit_entry_sealed(ws, idx, &data, &len, err))) {
			pb__err_prefix(err, "cannot read the rollback policy");
			return st;
		}
		json_error_t je;
		json_t *o = json_loadb(data, len, 0, &je);
		json_t *n = json_object_get(json_object_get(o, "details"), "rollback_approvals");
		const char *action = json_string_value(json_object_get(o, "action"));
		bool ok = action && !strcmp(action, "plan.policy") && json_is_integer(n) &&
		          json_integer_value(n) >= 1 && json_integer_value(n) <= APPROVALS_MAX;
		if (ok)
			out->logged = (unsigned)json_integer_value(n);
		json_decref(o);
		free(data);
		if (!ok)
			return pb__err(err, PB_EVERIFY, "cannot read the rollback policy: log entry %llu "
			                                "is not a plan.policy entry",
			               (unsigned long long)idx);
		out->from_entry = true;
		out->index = idx;
	}
	out->need = out->conf > out->logged ? out->conf : out->logged;
	return PB_OK;
}

static enum pb_status rollback_need(struct pb_ws *ws, unsigned *need, struct pb_error *err)
{
	struct pb_plan_rollback_policy rp;
	enum pb_status st = pb_plan_rollback_policy(ws, &rp, err);
	*need = rp.need;
	return st;
}

enum pb_status pb_plan_set_rollback_approvals(struct pb_ws *ws, const char *actor, unsigned n,
                                              uint64_t *index_out, struct pb_error *err)
{
	if (n < 1 || n > APPROVALS_MAX)
		return pb__err_field(err, PB_EINVAL, "rollback_approvals",
		                     "'rollback_approvals' must be from 1 to %d, not %u", APPROVALS_MAX,
		                     n);
	enum pb_status st = pb__ws_begin_as(ws, actor, "plan.policy", "set the rollback policy", err);
	if (st)
		return st;
	char d[64];
	pb__snprintf(d, sizeof(d), "{\"rollback_approvals\":%u}", n);
	st = pb__audit_append(ws, actor, "plan.policy", 0, "plans", d, index_out, err);
	if (!st)
		st = seal(ws, actor, err); /* the policy counts once sealed: now */
	return pb__ws_finish(ws, st, err);
}

/* The rollback requests the rollback counted, as its entry's "approvals"
 * (index, actor and, signed, the key that signed each): the entry that
 * completes them is the rollback itself. One per actor, the first. */
static enum pb_status rollback_requests(struct pb_ws *ws, int64_t id, json_t *d,
                                        struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT e.actor, min(e.log_index), json_extract(CAST(a.data AS TEXT), '$.sig.key_fp') "
		"FROM plan_event e JOIN audit_entry a ON a.idx = e.log_index AND a.actor = e.actor "
		"AND a.action = 'plan.rollback-request' WHERE e.plan_id = ?1 AND "
		"e.kind = 'rollback-approve' GROUP BY e.actor ORDER BY 2",
		&q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, id);
	json_t *who = json_array();
	while (sqlite3_step(q) == SQLITE_ROW) {
		json_t *one = json_pack("{s:s, s:I}", "actor", (const char *)sqlite3_column_text(q, 0),
		                        "index", (json_int_t)sqlite3_column_int64(q, 1));
		if (sqlite3_column_type(q, 2) != SQLITE_NULL)
			json_object_set_new(one, "key_fp",
			                    json_string((const char *)sqlite3_column_text(q, 2)));
		json_array_append_new(who, one);
	}
	sqlite3_finalize(q);
	json_object_set_new(d, "approvals", who);
	return PB_OK;
}

enum pb_status pb_plan_rollback(struct pb_ws *ws, const char *actor, int64_t id,
                                const char *reason, int64_t *version_out, unsigned *have_out,
                                unsigned *need_out, uint64_t *index_out, struct pb_error *err)
{
	struct plan_row p = { 0 };
	enum pb_status st = step_begin(ws, actor, "plan.rollback", "roll back a plan", id, "reason",
	                               reason, true, &p, err);
	if (st)
		return st;
	if (strcmp(p.status, "applied")) {
		st = pb__err(err, PB_ESTATE, "plan %lld is not in force (it is %s); only an applied plan "
		                             "can be rolled back",
		             (long long)id, p.status);
		goto out;
	}
	unsigned need, asked;
	bool yes;
	if ((st = rollback_need(ws, &need, err)) ||
	    (st = count_events(ws, id, "rollback-approve", NULL, &asked, err)) ||
	    (st = has_event(ws, id, "rollback-approve", actor, NULL, &yes, NULL, 0, err)))
		goto out;
	if (yes) {
		st = pb__err(err, PB_EEXIST, "user '%s' already asked to roll back plan %lld; it needs "
		                             "%u of %u approvers",
		             actor, (long long)id, need - asked, need);
		goto out;
	}
	if (asked + 1 < need) {
		json_t *d = json_object();
		json_object_set_new(d, "rollback_approvals", json_integer(asked + 1));
		json_object_set_new(d, "rollback_approvals_needed", json_integer(need));
		if ((st = record(ws, actor, id, p.case_id, "rollback-approve", "plan.rollback-request",
		                 p.sha256, reason, 0, d, index_out, err)))
			goto out;
		if (version_out)
			*version_out = 0;
		if (have_out)
			*have_out = asked + 1;
		if (need_out)
			*need_out = need;
		goto out;
	}
	char plan_id[24], why[256];
	pb__snprintf(plan_id, sizeof(plan_id), "%lld", (long long)id);
	pb__snprintf(why, sizeof(why), "roll back plan %lld (case %lld): %.180s", (long long)id,
	             (long long)p.case_id, reason);
	int64_t version = 0;
	char esha[65];
	size_t nall, removed;
	if ((st = publish(ws, plan_id, NULL, 0, why, &version, esha, &nall, &removed, err)))
		goto out;
	if ((st = set_status(ws, id, "UPDATE plan SET status = 'rolled-back', end_version = ?2 "
	                             "WHERE id = ?1 AND ?3 = ?3",
	                     version, 0, err)))
		goto out;
	json_t *d = json_object();
	json_object_set_new(d, "rules_removed", json_integer((json_int_t)removed));
	json_object_set_new(d, "entitlements_sha256", json_string(esha));
	json_object_set_new(d, "entitlements_rules", json_integer((json_int_t)nall));
	json_object_set_new(d, "rollback_approvals", json_integer(asked + 1));
	if ((st = rollback_requests(ws, id, d, err))) {
		json_decref(d);
		goto out;
	}
	if ((st = record(ws, actor, id, p.case_id, "rollback", "plan.rollback", p.sha256, reason,
	                 version, d, index_out, err)) ||
	    (st = seal(ws, actor, err)))
		goto out;
	if (version_out)
		*version_out = version;
	if (have_out)
		*have_out = asked + 1;
	if (need_out)
		*need_out = need;
out:
	free(p.body);
	return pb__ws_finish(ws, st, err);
}

enum pb_status pb_plan_withdraw(struct pb_ws *ws, const char *actor, int64_t id,
                                const char *reason, uint64_t *index_out, struct pb_error *err)
{
	struct plan_row p = { 0 };
	enum pb_status st = step_begin(ws, actor, "plan.withdraw", "withdraw a plan", id,
	                               "reason", reason, true, &p, err);
	if (st)
		return st;
	if (strcmp(p.status, "draft")) {
		st = pb__err(err, PB_ESTATE, "plan %lld is %s; only a draft can be withdrawn%s",
		             (long long)id, p.status,
		             !strcmp(p.status, "applied") ? " (roll it back instead)" : "");
		goto out;
	}
	if ((st = set_status(ws, id, "UPDATE plan SET status = 'withdrawn' WHERE id = ?1 AND "
	                             "?2 = ?2 AND ?3 = ?3",
	                     0, 0, err)))
		goto out;
	st = record(ws, actor, id, p.case_id, "withdraw", "plan.withdraw", p.sha256, reason, 0,
	            json_object(), index_out, err);
out:
	free(p.body);
	return pb__ws_finish(ws, st, err);
}

/* ---- reading ------------------------------------------------------------------------------------ */

struct plan_obj {
	struct pb_plan pub;      /* first: pb_plan_free casts back */
	struct resolved r;
	struct pb__arena arena;  /* everything else */
	char plan_id[24], case_ref[24];
};

void pb_plan_free(struct pb_plan *p)
{
	if (!p)
		return;
	struct plan_obj *o = (struct plan_obj *)p;
	resolved_release(&o->r);
	pb__arena_release(&o->arena);
	free(o);
}

static const char *astr(struct pb__arena *a, const unsigned char *s)
{
	return s ? pb__arena_strndup(a, (const char *)s, strlen((const char *)s)) : NULL;
}

static enum pb_status load_events(struct pb_ws *ws, struct plan_obj *o, struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT kind, actor, at, sha256, text, coalesce(version, 0), "
	                                   "log_index FROM plan_event WHERE plan_id = ?1 ORDER BY id",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, o->pub.id);
	size_t cap = 0, n = 0;
	struct pb_plan_event *v = NULL;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct pb_plan_event *nv = pb__arena_alloc(&o->arena, nc * sizeof(*nv));
			if (!nv) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				break;
			}
			if (n)
				memcpy(nv, v, n * sizeof(*nv));
			v = nv;
			cap = nc;
		}
		struct pb_plan_event *e = &v[n++];
		e->kind = astr(&o->arena, sqlite3_column_text(q, 0));
		e->actor = astr(&o->arena, sqlite3_column_text(q, 1));
		e->at = astr(&o->arena, sqlite3_column_text(q, 2));
		e->sha256 = astr(&o->arena, sqlite3_column_text(q, 3));
		e->text = astr(&o->arena, sqlite3_column_text(q, 4));
		e->version = sqlite3_column_int64(q, 5);
		e->log_index = (uint64_t)sqlite3_column_int64(q, 6);
		e->current = e->sha256 && !strcmp(e->sha256, o->pub.sha256);
		if (!e->kind || !e->actor || !e->at || !e->sha256) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
	}
	if (!st && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read plan events");
	sqlite3_finalize(q);
	o->pub.events = v;
	o->pub.nevents = n;
	return st;
}

static void state_line(struct plan_obj *o, char *buf, size_t cap)
{
	struct pb_plan *p = &o->pub;
	char t[24], u[24];
	int64_t now = pb_now();
	if (!strcmp(p->status, "draft")) {
		size_t n = 0;
		bool ok = pb__snprintf(buf, cap, "draft: %u of %u approvals", p->approvals,
		                       p->approvals_needed);
		(void)ok;
		n = strlen(buf);
		if (p->refusals) {
			const char *who = "";
			for (size_t i = 0; i < p->nevents; i++)
				if (p->events[i].current && !strcmp(p->events[i].kind, "refuse"))
					who = p->events[i].actor;
			pb__snprintf(buf + n, cap - n, "; refused by %s%s", who,
			             p->refusals > 1 ? " and others" : "");
		} else if (p->approvals >= p->approvals_needed) {
			pb__snprintf(buf + n, cap - n, "; ready to apply");
		}
	} else if (!strcmp(p->status, "applied")) {
		time_text(p->in_force_from, t);
		if (p->until != PB_TIME_OPEN_END && now >= p->until) {
			time_text(p->until, u);
			pb__snprintf(buf, cap, "applied (version %lld); its window ended at %s",
			             (long long)p->applied_version, u);
		} else {
			pb__snprintf(buf, cap, "applied (version %lld); in force %s %s",
			             (long long)p->applied_version, now < p->in_force_from ? "from" : "since",
			             t);
		}
		if (p->rollback_asked) {
			size_t n = strlen(buf);
			pb__snprintf(buf + n, cap - n, "; rollback asked by %u of %u approvers",
			             p->rollback_asked, p->rollback_needed);
		}
	} else if (!strcmp(p->status, "rolled-back")) {
		pb__snprintf(buf, cap, "rolled back (version %lld)", (long long)p->end_version);
	} else {
		pb__snprintf(buf, cap, "%s", p->status);
	}
}

/* Sets the terms, selectors and rules of o's plan from its resolved body:
 * rules name plan_id and the case, and start at in_force_from when not 0. */
static enum pb_status expose(struct plan_obj *o, const char *plan_id, int64_t case_id,
                             int64_t in_force_from, struct pb_error *err)
{
	struct pb_plan *p = &o->pub;
	p->effective = o->r.effective;
	p->until = o->r.until;
	p->review_by = o->r.review_by[0] ? o->r.review_by : NULL;
	p->clause = o->r.clause;
	p->appeal_days = o->r.appeal_days;
	p->approvals_needed = o->r.approvals;
	struct pb_plan_selector *sv =
		pb__arena_alloc(&o->arena, (o->r.nsel ? o->r.nsel : 1) * sizeof(*sv));
	if (!sv)
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->r.nsel; i++)
		sv[i] = (struct pb_plan_selector){ o->r.sels[i].keep, o->r.sels[i].number,
			                           o->r.sels[i].text };
	p->selectors = sv;
	p->nselectors = o->r.nsel;
	pb__snprintf(o->plan_id, sizeof(o->plan_id), "%s", plan_id);
	pb__snprintf(o->case_ref, sizeof(o->case_ref), "%lld", (long long)case_id);
	for (size_t i = 0; i < o->r.nrules; i++) {
		o->r.rules[i].plan = o->plan_id;
		o->r.rules[i].case_ref = o->case_ref;
		if (in_force_from)
			o->r.rules[i].from = in_force_from;
	}
	p->rules = o->r.rules;
	p->nrules = o->r.nrules;
	p->rule_selector = o->r.rule_sel;
	return PB_OK;
}

static enum pb_status plan_load(struct pb_ws *ws, int64_t id, struct pb_plan **out,
                                struct pb_error *err)
{
	struct plan_row row;
	*out = NULL;
	enum pb_status st = plan_row(ws, id, &row, err);
	if (st)
		return st;
	struct plan_obj *o = calloc(1, sizeof(*o));
	if (!o) {
		free(row.body);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	struct pb_plan *p = &o->pub;
	if ((st = body_parse(row.body, &o->r, NULL, err)))
		goto fail;
	p->id = row.id;
	p->case_id = row.case_id;
	p->status = pb__arena_strndup(&o->arena, row.status, strlen(row.status));
	p->sha256 = pb__arena_strndup(&o->arena, row.sha256, strlen(row.sha256));
	p->body = pb__arena_strndup(&o->arena, row.body, strlen(row.body));
	p->revision = row.revision;
	p->applied_version = row.applied_version;
	p->in_force_from = row.in_force_from;
	p->end_version = row.end_version;
	sqlite3_stmt *q;
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT p.created_at, p.created_by, c.name FROM plan p LEFT JOIN "
	                         "customer c ON c.id = p.customer_id WHERE p.id = ?1",
	                         &q, err)))
		goto fail;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		p->created_at = astr(&o->arena, sqlite3_column_text(q, 0));
		p->created_by = astr(&o->arena, sqlite3_column_text(q, 1));
		p->customer = astr(&o->arena, sqlite3_column_text(q, 2));
	}
	sqlite3_finalize(q);
	if (!p->customer)
		p->customer = o->r.customer;
	if (!p->status || !p->sha256 || !p->body || !p->created_at || !p->created_by) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	if ((st = load_events(ws, o, err)) ||
	    (st = rollback_need(ws, &p->rollback_needed, err)))
		goto fail;
	/* approvals as apply counts them: from the log's entries (plan_event is
	 * a cache of them that log check compares), by non-authors who hold the
	 * approver role now */
	struct plan_log pl;
	if ((st = plan_log_read(ws, &row, &pl, err)))
		goto fail;
	st = approvals_now(ws, &pl, &p->approvals, err);
	plan_log_release(&pl);
	if (st)
		goto fail;
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		if (e->current && !strcmp(e->kind, "refuse"))
			p->refusals++;
		else if (!strcmp(e->kind, "rollback-approve"))
			p->rollback_asked++;
	}
	char plan_id[24];
	pb__snprintf(plan_id, sizeof(plan_id), "%lld", (long long)id);
	if ((st = expose(o, plan_id, row.case_id, row.in_force_from, err)))
		goto fail;
	char state[256];
	state_line(o, state, sizeof(state));
	if (!(p->state = pb__arena_strndup(&o->arena, state, strlen(state)))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	free(row.body);
	*out = p;
	return PB_OK;
fail:
	free(row.body);
	pb_plan_free(p);
	return st;
}

enum pb_status pb_plan_get(struct pb_ws *ws, int64_t id, struct pb_plan **out,
                           struct pb_error *err)
{
	return plan_load(ws, id, out, err);
}

enum pb_status pb_plan_preview(struct pb_ws *ws, const struct pb_catalog *cat, int64_t case_id,
                               const struct pb_plan_terms *terms, struct pb_plan **out,
                               struct pb_error *err)
{
	*out = NULL;
	if (!terms)
		return pb__err(err, PB_EINVAL, "no plan terms");
	if (case_id <= 0)
		return pb__err(err, PB_EINVAL, "case ids are positive numbers");
	struct case_row c;
	enum pb_status st = case_row(ws, case_id, &c, err);
	if (st)
		return st;
	struct plan_obj *o = calloc(1, sizeof(*o));
	if (!o)
		return pb__err(err, PB_ENOMEM, "out of memory");
	struct pb_plan *p = &o->pub;
	char *body = NULL;
	if ((st = build(ws, cat, 0, case_id, &c, terms, &o->r, err)))
		goto fail;
	/* build keeps the caller's customer name: the preview outlives c */
	o->r.customer = pb__arena_strndup(&o->arena, c.customer, strlen(c.customer));
	if (!o->r.customer || !(body = body_json(&o->r))) {
		st = pb__err(err, o->r.customer ? PB_EINVAL : PB_ENOMEM,
		             o->r.customer ? "the plan's text is not valid UTF-8" : "out of memory");
		goto fail;
	}
	if (strlen(body) > BODY_MAX) {
		st = pb__err(err, PB_ELIMIT, "the plan is larger than %zu bytes", BODY_MAX);
		goto fail;
	}
	char sha[65];
	sha_hex(body, sha);
	p->case_id = case_id;
	p->customer = o->r.customer;
	p->status = "draft";
	p->state = "not saved: a preview";
	p->sha256 = pb__arena_strndup(&o->arena, sha, 64);
	p->body = pb__arena_strndup(&o->arena, body, strlen(body));
	p->created_at = p->created_by = "";
	if (!p->sha256 || !p->body) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	if ((st = expose(o, "preview", case_id, 0, err)))
		goto fail;
	free(body);
	*out = p;
	return PB_OK;
fail:
	free(body);
	pb_plan_free(p);
	return st;
}

enum pb_status pb_plan_list(struct pb_ws *ws, int64_t case_id,
                            bool (*fn)(void *ctx, const struct pb_plan *p), void *ctx,
                            struct pb_error *err)
{
	sqlite3_stmt *q;
	enum pb_status st = pb__db_prepare(ws->db,
	                                   "SELECT id FROM plan WHERE ?1 = 0 OR case_id = ?1 ORDER BY id",
	                                   &q, err);
	if (st)
		return st;
	sqlite3_bind_int64(q, 1, case_id);
	int64_t *ids;
	size_t n;
	st = pb__db_ids(ws->db, q, &ids, &n, "plans", err);
	sqlite3_finalize(q);
	for (size_t i = 0; i < n && !st; i++) {
		struct pb_plan *p;
		if ((st = plan_load(ws, ids[i], &p, err)))
			break;
		bool more = fn(ctx, p);
		pb_plan_free(p);
		if (!more)
			break;
	}
	free(ids);
	return st;
}
