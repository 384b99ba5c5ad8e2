/* appeal.c - the customer's appeal of a plan's decision, on the audit log.
 *
 * An appeal has no table: it is the entries appeal.open, appeal.note and
 * appeal.decide on subject "plan/N", read back in log order. So an appeal is
 * exactly as tamper-evident as the decision it contests, and there is no
 * second copy to disagree with the log. A decision to lift or narrow the
 * cut-off is not made here: it is a new plan, with its own two approvals,
 * that the decision links (new_plan).
 */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

struct ap {
	int64_t plan, case_id;
	unsigned number;
	char received[11], opened_at[32], opened_by[PB_USER_NAME_MAX + 1];
	char outcome[16], decided_at[32], decided_by[PB_USER_NAME_MAX + 1];
	size_t notes;
	int64_t new_plan;
	uint64_t open_index, decide_index;
};

struct aps {
	struct ap *a;
	size_t n, cap;
};

static struct ap *find(struct aps *s, int64_t plan, unsigned number)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->a[i].plan == plan && s->a[i].number == number)
			return &s->a[i];
	return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* The appeals of plan id (0: all) from the log, in the order opened. */
static enum pb_status load(struct pb_ws *ws, int64_t id, struct aps *s, struct pb_error *err)
{
	sqlite3_stmt *q = NULL;
	char subject[48];
	pb__snprintf(subject, sizeof(subject), "plan/%lld", (long long)id);
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT idx, at, actor, action, case_id, data FROM "
	                                   "audit_entry WHERE action IN ('appeal.open', "
	                                   "'appeal.note', 'appeal.decide') AND (?1 = 0 OR "
	                                   "subject = ?2) ORDER BY idx",
	                                   &q, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, subject, -1, SQLITE_STATIC);
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW && !rc) {
		const char *at = (const char *)sqlite3_column_text(q, 1);
		const char *actor = (const char *)sqlite3_column_text(q, 2);
		const char *action = (const char *)sqlite3_column_text(q, 3);
		json_t *e = json_loadb(sqlite3_column_blob(q, 5), (size_t)sqlite3_column_bytes(q, 5), 0,
		                       NULL);
		json_t *d = json_object_get(e, "details");
		int64_t plan = json_integer_value(json_object_get(d, "plan"));
		unsigned number = (unsigned)json_integer_value(json_object_get(d, "appeal"));
		if (!strcmp(action, "appeal.open")) {
			if (s->n == s->cap) {
				size_t nc = s->cap ? s->cap * 2 : 16;
				struct ap *na = realloc(s->a, nc * sizeof(*na));
				if (!na) {
					json_decref(e);
					rc = pb__err(err, PB_ENOMEM, "cannot read appeals: out of memory");
					break;
				}
				s->a = na;
				s->cap = nc;
			}
			struct ap *a = &s->a[s->n++];
			memset(a, 0, sizeof(*a));
			a->plan = plan;
			a->case_id = sqlite3_column_int64(q, 4);
			a->number = number;
			a->open_index = (uint64_t)sqlite3_column_int64(q, 0);
			pb__snprintf(a->received, sizeof(a->received), "%s",
			             jstr(d, "received"));
			pb__snprintf(a->opened_at, sizeof(a->opened_at), "%s", at ? at : "");
			pb__snprintf(a->opened_by, sizeof(a->opened_by), "%s", actor ? actor : "");
		} else {
			struct ap *a = find(s, plan, number);
			if (a && !strcmp(action, "appeal.note")) {
				a->notes++;
			} else if (a) {
				pb__snprintf(a->outcome, sizeof(a->outcome), "%s",
				             jstr(d, "outcome"));
				pb__snprintf(a->decided_at, sizeof(a->decided_at), "%s", at ? at : "");
				pb__snprintf(a->decided_by, sizeof(a->decided_by), "%s", actor ? actor : "");
				a->new_plan = json_integer_value(json_object_get(d, "new_plan"));
				a->decide_index = (uint64_t)sqlite3_column_int64(q, 0);
			}
		}
		json_decref(e);
	}
	if (!rc && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read appeals");
	sqlite3_finalize(q);
	return rc;
}

static void to_public(const struct ap *a, struct pb_appeal *p)
{
	*p = (struct pb_appeal){
		.plan = a->plan,
		.case_id = a->case_id,
		.number = a->number,
		.received = a->received,
		.opened_at = a->opened_at,
		.opened_by = a->opened_by,
		.open_index = a->open_index,
		.notes = a->notes,
		.outcome = a->outcome[0] ? a->outcome : NULL,
		.decided_at = a->decided_at[0] ? a->decided_at : NULL,
		.decided_by = a->decided_by[0] ? a->decided_by : NULL,
		.new_plan = a->new_plan,
		.decide_index = a->decide_index,
	};
}

enum pb_status pb_appeal_list(struct pb_ws *ws, int64_t id,
                              bool (*fn)(void *ctx, const struct pb_appeal *a), void *ctx,
                              struct pb_error *err)
{
	struct aps s = { 0 };
	enum pb_status rc = load(ws, id, &s, err);
	for (size_t i = 0; !rc && i < s.n; i++) {
		struct pb_appeal p;
		to_public(&s.a[i], &p);
		if (!fn(ctx, &p))
			break;
	}
	free(s.a);
	return rc;
}

/* The open appeal of plan id (NULL: none) and the number of appeals. */
static struct ap *open_one(struct aps *s, unsigned *count)
{
	*count = (unsigned)s->n;
	for (size_t i = 0; i < s->n; i++)
		if (!s->a[i].outcome[0])
			return &s->a[i];
	return NULL;
}

/* Appends the step's entry with details {plan, appeal, ...more}. */
static enum pb_status record(struct pb_ws *ws, const char *actor, const char *action,
                             const struct pb_plan *p, unsigned number, json_t *more,
                             uint64_t *index_out, struct pb_error *err)
{
	json_t *d = more ? more : json_object();
	char subject[48], *dj = NULL;
	pb__snprintf(subject, sizeof(subject), "plan/%lld", (long long)p->id);
	if (d) {
		json_object_set_new(d, "plan", json_integer(p->id));
		json_object_set_new(d, "appeal", json_integer(number));
		dj = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
	}
	json_decref(d);
	if (!dj)
		return pb__err(err, PB_ENOMEM, "cannot record the appeal: out of memory");
	enum pb_status rc = pb__audit_append(ws, actor, action, p->case_id, subject, dj, index_out,
	                                     err);
	free(dj);
	return rc;
}

enum pb_status pb_appeal_open(struct pb_ws *ws, const char *actor, int64_t id,
                              const char *received, const char *summary, unsigned *number_out,
                              uint64_t *index_out, struct pb_error *err)
{
	struct pb_plan *p = NULL;
	struct aps s = { 0 };
	char today[11];
	pb_day_format(pb_floordiv(pb_now(), 86400), today);
	enum pb_status rc;
	if (received && *received) {
		int64_t t;
		unsigned fl;
		if (strlen(received) != 10 || !pb_time_parse(received, 10, &t, &fl))
			return pb__err_field(err, PB_EINVAL, "received",
			                     "'%s' is not a date (YYYY-MM-DD)", received);
		if (strcmp(received, today) > 0)
			return pb__err_field(err, PB_EINVAL, "received",
			                     "'%s' is in the future", received);
	} else {
		received = today;
	}
	if ((rc = pb__text_check("summary", summary, false, err)))
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "appeal.open", "record an appeal", err)))
		return rc;
	if ((rc = pb_plan_get(ws, id, &p, err)) || (rc = load(ws, id, &s, err)))
		goto out;
	bool approved = strcmp(p->status, "draft") ||
	                (p->approvals >= p->approvals_needed && !p->refusals);
	unsigned count;
	struct ap *cur = open_one(&s, &count);
	if (!strcmp(p->status, "withdrawn") || !approved) {
		rc = pb__err(err, PB_ESTATE, "plan %lld is %s; only a decision can be appealed",
		             (long long)id, p->state);
	} else if (cur) {
		rc = pb__err(err, PB_ESTATE,
		             "appeal %u of plan %lld is open since %s; decide it before another",
		             cur->number, (long long)id, cur->received);
	} else {
		json_t *d = json_pack("{s:s}", "received", received);
		if (d && summary && *summary)
			json_object_set_new(d, "summary", json_string(summary));
		rc = record(ws, actor, "appeal.open", p, count + 1, d, index_out, err);
		if (!rc && number_out)
			*number_out = count + 1;
	}
out:
	free(s.a);
	pb_plan_free(p);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_appeal_note(struct pb_ws *ws, const char *actor, int64_t id, const char *text,
                              uint64_t *index_out, struct pb_error *err)
{
	struct pb_plan *p = NULL;
	struct aps s = { 0 };
	enum pb_status rc;
	if ((rc = pb__text_check("text", text, true, err)))
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "appeal.note", "note an appeal", err)))
		return rc;
	if ((rc = pb_plan_get(ws, id, &p, err)) || (rc = load(ws, id, &s, err)))
		goto out;
	unsigned count;
	struct ap *cur = open_one(&s, &count);
	if (!cur)
		rc = pb__err(err, PB_ESTATE, "plan %lld has no open appeal", (long long)id);
	else
		rc = record(ws, actor, "appeal.note", p, cur->number, json_pack("{s:s}", "note", text),
		            index_out, err);
out:
	free(s.a);
	pb_plan_free(p);
	return pb__ws_finish(ws, rc, err);
}

/* Whether user wrote or approved plan p: such a user may not decide its appeal. */
static const char *took_part(const struct pb_plan *p, const char *user)
{
	if (p->created_by && !strcmp(p->created_by, user))
		return "wrote";
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		if (!strcmp(e->actor, user) && (!strcmp(e->kind, "new") || !strcmp(e->kind, "edit")))
			return "wrote";
		if (!strcmp(e->actor, user) && !strcmp(e->kind, "approve"))
			return "approved";
	}
	return NULL;
}

enum pb_status pb_appeal_decide(struct pb_ws *ws, const char *actor, int64_t id,
                                const char *outcome, const char *reason, int64_t new_plan,
                                uint64_t *index_out, struct pb_error *err)
{
	struct pb_plan *p = NULL, *np = NULL;
	struct aps s = { 0 };
	enum pb_status rc;
	if (!outcome || (strcmp(outcome, "upheld") && strcmp(outcome, "partly-upheld") &&
	                 strcmp(outcome, "rejected")))
		return pb__err_field(err, PB_EINVAL, "outcome",
		                     "the outcome is upheld, partly-upheld or rejected, not '%s'",
		                     outcome ? outcome : "");
	if (new_plan && !strcmp(outcome, "rejected"))
		return pb__err_field(err, PB_EINVAL, "plan",
		                     "a rejected appeal changes nothing: it links no new plan");
	if ((rc = pb__text_check("reason", reason, true, err)))
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "appeal.decide", "decide an appeal", err)))
		return rc;
	if ((rc = pb_plan_get(ws, id, &p, err)) || (rc = load(ws, id, &s, err)))
		goto out;
	unsigned count;
	struct ap *cur = open_one(&s, &count);
	const char *part = took_part(p, actor);
	if (!cur) {
		rc = pb__err(err, PB_ESTATE, "plan %lld has no open appeal", (long long)id);
		goto out;
	}
	if (part) {
		rc = pb__err_field(err, PB_EPERM, "actor",
		                   "'%s' %s plan %lld; an appeal is decided by someone who did not "
		                   "take the decision",
		                   actor, part, (long long)id);
		goto out;
	}
	if (new_plan) {
		if (new_plan == id) {
			rc = pb__err_field(err, PB_EINVAL, "plan",
			                   "the plan that lifts or narrows the cut-off is a new plan, "
			                   "not plan %lld itself",
			                   (long long)id);
			goto out;
		}
		if ((rc = pb_plan_get(ws, new_plan, &np, err)))
			goto out;
		if (np->case_id != p->case_id) {
			rc = pb__err_field(err, PB_EINVAL, "plan",
			                   "plan %lld is on case %lld, not on case %lld of plan %lld",
			                   (long long)new_plan, (long long)np->case_id,
			                   (long long)p->case_id, (long long)id);
			goto out;
		}
	}
	json_t *d = json_pack("{s:s, s:s}", "outcome", outcome, "reason", reason);
	if (d && new_plan) {
		json_object_set_new(d, "new_plan", json_integer(new_plan));
		json_object_set_new(d, "new_plan_sha256", json_string(np->sha256));
	}
	rc = record(ws, actor, "appeal.decide", p, cur->number, d, index_out, err);
out:
	free(s.a);
	pb_plan_free(np);
	pb_plan_free(p);
	return pb__ws_finish(ws, rc, err);
}
