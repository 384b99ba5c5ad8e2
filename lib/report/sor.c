/* sor.c - the decision of a plan as a statement of reasons in the EU DSA
 * Transparency Database's API shape (version 1), with probity's additions in
 * x_ fields.
 *
 * Every field comes from the plan, its case, its dry run and the catalog;
 * nothing comes from customer-chosen strings (resource names, tags) nor names
 * the customer: services are written by their catalog name, or counted when
 * the catalog does not know them. The statement is validated (sor_check.c)
 * before it is returned or recorded, so an invalid one never leaves.
 */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/banned.h"

#define FACTS_MAX 5000


static void day_of(int64_t t, char out[11])
{
	pb_day_format(pb_floordiv(t, 86400), out);
}

/* ---- the case ---------------------------------------------------------------- */

struct case_facts {
	char opened[11], trigger_date[11], status[16];
	size_t notes, documents, findings, searches, other;
};

static bool on_case(void *ctx, const struct pb_case *c)
{
	struct case_facts *f = ctx;
	pb__snprintf(f->opened, sizeof(f->opened), "%.10s", c->opened_at ? c->opened_at : "");
	pb__snprintf(f->trigger_date, sizeof(f->trigger_date), "%.10s",
	             c->trigger_date ? c->trigger_date : "");
	pb__snprintf(f->status, sizeof(f->status), "%s", c->status ? c->status : "");
	return true;
}

static bool on_evidence(void *ctx, const struct pb_evidence *e)
{
	struct case_facts *f = ctx;
	if (!strcmp(e->kind, "note"))
		f->notes++;
	else if (!strcmp(e->kind, "document"))
		f->documents++;
	else if (!strcmp(e->kind, "finding"))
		f->findings++;
	else if (!strcmp(e->kind, "search"))
		f->searches++;
	else
		f->other++;
	return true;
}

/* ---- services and countries ---------------------------------------------------- */

/* {"service", "category"} per catalog service among rows with cut == want
 * (kept_only: rows a keep saved), once each; unknown services counted. */
static json_t *services(const struct pb_catalog *cat, const struct pb_plan_dryrun *d, bool want,
                        size_t *unknown)
{
	json_t *a = json_array();
	*unknown = 0;
	for (size_t i = 0; d && a && i < d->nrows; i++) {
		const struct pb_plan_usage *u = &d->rows[i];
		if (u->cut != want)
			continue;
		const struct pb_service *s = pb_catalog_service(cat, pb_cstr(u->service));
		if (!s) {
			(*unknown)++;
			continue;
		}
		bool dup = false;
		size_t j;
		json_t *e;
		json_array_foreach(a, j, e) dup |= !strcmp(json_string_value(json_object_get(e, "service")),
		                                           s->name);
		if (!dup)
			json_array_append_new(a, json_pack("{s:s, s:s}", "service", s->name, "category",
			                                   s->category ? s->category : ""));
	}
	return a;
}

/* The EU/EEA countries the plan's disables reach, in the database's order;
 * a disable that names neither regions nor countries reaches them all. */
static json_t *territory(const struct pb_catalog *cat, const struct pb_plan *p)
{
	bool in[PB__EEA_N] = { false };
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pb_rule *r = &p->rules[i];
		if (p->selectors[p->rule_selector[i]].keep)
			continue;
		size_t nc = r->nvalues[PB_DIM_COUNTRY], nr = r->nvalues[PB_DIM_REGION];
		for (size_t k = 0; k < PB__EEA_N; k++) {
			bool hit = !nc && !nr;
			for (size_t j = 0; j < nc && !hit; j++)
				hit = !strcmp(r->values[PB_DIM_COUNTRY][j], pb__eea[k]);
			for (size_t j = 0; j < nr && !nc && !hit; j++) {
				const struct pb_region *g =
					pb_catalog_region(cat, pb_cstr(r->values[PB_DIM_REGION][j]));
				hit = g && g->country && !strcmp(g->country, pb__eea[k]);
			}
			in[k] |= hit;
		}
	}
	json_t *a = json_array();
	for (size_t k = 0; a && k < PB__EEA_N; k++)
		if (in[k])
			json_array_append_new(a, json_string(pb__eea[k]));
	if (a && !json_array_size(a)) {
		json_decref(a);
		return json_null();
	}
	return a;
}

/* A total suspension: a disable with no terms but accounts, and no keep. */
static bool cuts_everything(const struct pb_plan *p)
{
	bool all = false;
	for (size_t s = 0; s < p->nselectors; s++)
		if (p->selectors[s].keep)
			return false;
	for (size_t i = 0; i < p->nrules && !all; i++) {
		bool bare = true;
		for (int dim = 0; dim < PB_DIM_COUNT; dim++)
			if (dim != PB_DIM_ACCOUNT && dim != PB_DIM_SUBACCOUNT)
				bare &= !p->rules[i].nvalues[dim];
		all = bare;
	}
	return all;
}

static const char *find_event(const struct pb_plan *p, const char *kind, uint64_t *index)
{
	const char *at = NULL;
	for (size_t i = 0; i < p->nevents; i++)
		if (!strcmp(p->events[i].kind, kind)) {
			at = p->events[i].at;
			*index = p->events[i].log_index;
		}
	return at;
}

/* ---- the facts ------------------------------------------------------------------- */

static char *facts(const struct pb_plan *p, const struct pb_plan_dryrun *d,
                   const struct case_facts *cf, json_t *cut, json_t *kept, size_t cut_unknown,
                   const char *application, const char *end)
{
	struct pb_buf b;
	pb_buf_init(&b, FACTS_MAX * 4);
	pb_buf_printf(&b, "Review case %lld, opened on %s", (long long)p->case_id, cf->opened);
	if (cf->trigger_date[0])
		pb_buf_printf(&b, " on the provider's own initiative after a public report dated %s",
		              cf->trigger_date);
	pb_buf_printf(&b,
	              ", examined the customer's billing and usage records and internal "
	              "communications; it did not access content the customer stores or processes "
	              "with the services. The case holds %zu notes, %zu documents, %zu findings of "
	              "automated scans and %zu searches of communications.",
	              cf->notes, cf->documents, cf->findings, cf->searches);
	pb_buf_printf(&b,
	              " The decision was taken by people, not automatically, and approved by %u "
	              "reviewers who did not write it.",
	              p->approvals > p->approvals_needed ? p->approvals : p->approvals_needed);
	size_t nc = json_array_size(cut), nk = json_array_size(kept);
	pb_buf_printf(&b, " It restricts %zu service%s", nc + cut_unknown, nc + cut_unknown == 1 ? "" : "s");
	for (size_t i = 0; i < nc; i++)
		pb_buf_printf(&b, "%s%s", i ? ", " : " (", json_string_value(json_object_get(
		                                               json_array_get(cut, i), "service")));
	if (nc)
		pb_buf_adds(&b, ")");
	pb_buf_printf(&b, " from %s %s", application, end ? "until" : "until further notice");
	if (end)
		pb_buf_printf(&b, " %s", end);
	pb_buf_printf(&b, "; %zu service%s the customer used stay available.", nk, nk == 1 ? "" : "s");
	for (size_t i = 0; d && i < d->nspend; i++) {
		const struct pb_plan_spend *s = &d->spend[i];
		char pct[16];
		if (s->cut_share > 0.999 && s->cut_share < 1.0)
			pb__snprintf(pct, sizeof(pct), ">99.9");
		else
			pb__snprintf(pct, sizeof(pct), "%.1f", s->cut_share * 100.0);
		pb_buf_printf(&b, " In %s the restricted usage was %s%% of the customer's spend in %s.",
		              d->month, pct, s->currency);
	}
	if (!b.data)
		return NULL;
	if (b.len > FACTS_MAX) /* ASCII text: bytes are characters */
		b.data[FACTS_MAX] = '\0';
	return b.data;
}

/* ---- the statement --------------------------------------------------------------- */

static const char *category_of(struct pb_ws *ws, const struct pb_sor_options *o, char *buf,
                               size_t cap)
{
	const char *c = o->category;
	if (!c || !*c)
		c = pb_ws_setting(ws, "sor_category");
	if (!c || !*c)
		c = "OTHER_VIOLATION_TC";
	if (strncmp(c, "STATEMENT_CATEGORY_", 19)) {
		pb__snprintf(buf, cap, "STATEMENT_CATEGORY_%s", c);
		return buf;
	}
	return c;
}

static json_t *statement(struct pb_ws *ws, const struct pb_catalog *cat, const struct pb_plan *p,
                         const struct pb_plan_dryrun *d, const struct case_facts *cf,
                         const struct pb_sor_options *o, int64_t now, const char *checkpoint,
                         const char *proof, uint64_t apply_index)
{
	char catbuf[160], today[11], app[11], end[11] = "", puid[96];
	day_of(now, today);
	if (p->in_force_from)
		day_of(p->in_force_from, app);
	else if (p->effective != PB_TIME_OPEN_START && p->effective > now)
		day_of(p->effective, app);
	else
		memcpy(app, today, sizeof(app));
	if (p->until != PB_TIME_OPEN_END)
		day_of(p->until, end);
	pb__snprintf(puid, sizeof(puid), "probity-plan-%lld-%.16s", (long long)p->id, p->sha256);
	const char *content = d && d->first_day[0] ? d->first_day : cf->opened;
	size_t cut_unknown = 0, kept_unknown = 0;
	json_t *cut = services(cat, d, true, &cut_unknown);
	json_t *kept = services(cat, d, false, &kept_unknown);
	char *fx = facts(p, d, cf, cut, kept, cut_unknown, app, end[0] ? end : NULL);
	const char *url = pb_ws_setting(ws, "policy_url");
	char expl[1024];
	pb__snprintf(expl, sizeof(expl),
	             "The customer's use of the services breaches this clause, as established in "
	             "review case %lld; the decision facts give the figures.",
	             (long long)p->case_id);
	json_t *s = json_object();
	json_t *approvals = json_array();
	for (size_t i = 0; approvals && i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		if (!strcmp(e->kind, "approve") && e->current)
			json_array_append_new(approvals,
			                      json_pack("{s:s, s:s, s:s, s:I}", "by", e->actor, "at", e->at,
			                                "plan_sha256", e->sha256, "log_index",
			                                (json_int_t)e->log_index));
	}
	if (!s || !fx || !cut || !kept || !approvals)
		goto fail;
	json_object_set_new(s, "decision_provision",
	                    json_string(cuts_everything(p) ? "DECISION_PROVISION_TOTAL_SUSPENSION"
	                                                   : "DECISION_PROVISION_PARTIAL_SUSPENSION"));
	json_object_set_new(s, "account_type", json_string("ACCOUNT_TYPE_BUSINESS"));
	json_object_set_new(s, "decision_ground", json_string("DECISION_GROUND_INCOMPATIBLE_CONTENT"));
	json_object_set_new(s, "decision_ground_reference_url",
	                    url && *url ? json_string(url) : json_null());
	json_object_set_new(s, "incompatible_content_ground", json_string(p->clause));
	json_object_set_new(s, "incompatible_content_explanation", json_string(expl));
	json_object_set_new(s, "incompatible_content_illegal", json_string("No"));
	json_object_set_new(s, "content_type", json_pack("[s]", "CONTENT_TYPE_OTHER"));
	json_object_set_new(s, "content_type_other",
	                    json_string("use of cloud services (as shown by billing and usage "
	                                "records; the content itself was not accessed)"));
	json_object_set_new(s, "category", json_string(category_of(ws, o, catbuf, sizeof(catbuf))));
	json_object_set_new(s, "territorial_scope", territory(cat, p));
	json_object_set_new(s, "content_date", json_string(content));
	json_object_set_new(s, "application_date", json_string(app));
	json_object_set_new(s, "end_date_service_restriction", end[0] ? json_string(end) : json_null());
	json_object_set_new(s, "decision_facts", json_string(fx));
	json_object_set_new(s, "source_type", json_string("SOURCE_VOLUNTARY"));
	json_object_set_new(s, "automated_detection", json_string(cf->findings ? "Yes" : "No"));
	json_object_set_new(s, "automated_decision", json_string("AUTOMATED_DECISION_NOT_AUTOMATED"));
	json_object_set_new(s, "puid", json_string(puid));
	/* probity's additions */
	json_object_set_new(s, "x_draft", json_boolean(o->draft));
	json_object_set_new(s, "x_services_restricted", cut);
	json_object_set_new(s, "x_services_restricted_unknown", json_integer((json_int_t)cut_unknown));
	json_object_set_new(s, "x_services_kept", kept);
	json_object_set_new(s, "x_services_kept_unknown", json_integer((json_int_t)kept_unknown));
	json_object_set_new(s, "x_case", json_pack("{s:I, s:s, s:s}", "id", (json_int_t)p->case_id,
	                                           "opened", cf->opened, "status", cf->status));
	json_object_set_new(s, "x_plan",
	                    json_pack("{s:I, s:s, s:s, s:i, s:s}", "id", (json_int_t)p->id, "sha256",
	                              p->sha256, "status", p->status, "revision", p->revision,
	                              "usage_month", d ? d->month : ""));
	json_object_set_new(s, "x_approvals", approvals);
	json_object_set_new(s, "x_log",
	                    checkpoint ? json_pack("{s:I, s:s, s:s}", "apply_index",
	                                           (json_int_t)apply_index, "checkpoint", checkpoint,
	                                           "inclusion_proof", proof)
	                               : json_null());
	free(fx);
	return s;
fail:
	json_decref(s);
	json_decref(cut);
	json_decref(kept);
	json_decref(approvals);
	free(fx);
	return NULL;
}

/* The checkpoint part of a tlog-proof document: after its first blank line. */
static const char *proof_note(const char *proof)
{
	const char *b = strstr(proof, "\n\n");
	return b ? b + 2 : "";
}

enum pb_status pb_sor_make(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                           int64_t id, const struct pb_sor_options *o, char **json_out,
                           uint64_t *index_out, struct pb_error *err)
{
	struct pb_sor_options def = { false, 0, NULL };
	struct pb_plan *p = NULL;
	struct pb_plan_dryrun *d = NULL;
	struct case_facts cf = { 0 };
	char *proof = NULL, *note = NULL, *text = NULL;
	json_t *s = NULL;
	enum pb_status st;
	*json_out = NULL;
	if (!o)
		o = &def;
	if (!o->draft && (st = pb__user_may(ws, actor, "plan.notice", err)))
		return st;
	if ((st = pb_plan_get(ws, id, &p, err)))
		return st;
	if (!o->draft &&
	    (st = pb__plan_require_decided(p, "state",
	                                   "a statement of reasons states an approved plan's decision",
	                                   err)))
		goto out;
	if ((st = pb_case_get(ws, p->case_id, on_case, &cf, err)) ||
	    (st = pb_case_evidence(ws, p->case_id, on_evidence, &cf, err)) ||
	    (st = pb_plan_dryrun(ws, cat, p, NULL, &d, err)))
		goto out;
	/* the apply entry's inclusion proof, against a checkpoint signed now when
	 * none covers it yet (a draft only uses what is already signed) */
	uint64_t apply_index = 0;
	if (find_event(p, "apply", &apply_index)) {
		struct pb_error e2 = { 0 };
		if (pb_audit_prove_inclusion(ws, apply_index, 0, &proof, &e2) && !o->draft) {
			if ((st = pb_audit_checkpoint(ws, actor, &note, err)) ||
			    (st = pb_audit_prove_inclusion(ws, apply_index, 0, &proof, err)))
				goto out;
		}
	}
	int64_t now = o->now ? o->now : pb_now();
	if (!(s = statement(ws, cat, p, d, &cf, o, now, proof ? proof_note(proof) : NULL, proof,
	                    apply_index)) ||
	    !(text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
		st = pb__err(err, PB_ENOMEM, "cannot write the statement of reasons: out of memory");
		goto out;
	}
	struct pb_sor_violation v[1];
	size_t nv = 0;
	if ((st = pb_sor_validate(text, strlen(text), v, 1, &nv, err)))
		goto out;
	if (nv) {
		const char *fmt = "the statement of reasons of plan %lld is invalid: '%s' %s "
		                  "(%zu violation%s in all)";
		st = !strcmp(v[0].field, "category")
		             ? pb__err_field(err, PB_EINVAL, "category", fmt, (long long)id, v[0].field,
		                             v[0].message, nv, nv == 1 ? "" : "s")
		             : pb__err(err, PB_EINVAL, fmt, (long long)id, v[0].field, v[0].message,
		                       nv, nv == 1 ? "" : "s");
		goto out;
	}
	if (!o->draft) {
		uint8_t h[32];
		char hex[65];
		pb__sha256(text, strlen(text), h);
		pb_hex(h, 32, hex);
		char *dj = NULL;
		json_t *dt = json_pack("{s:s, s:s, s:I, s:s}", "format", "sor-json", "notice_sha256",
		                       hex, "bytes", (json_int_t)strlen(text), "puid",
		                       json_string_value(json_object_get(s, "puid")));
		if (dt)
			dj = json_dumps(dt, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(dt);
		if (!dj) {
			st = pb__err(err, PB_ENOMEM, "cannot record the statement of reasons");
			goto out;
		}
		if ((st = pb__ws_begin_as(ws, actor, "plan.notice", "issue a statement of reasons",
		                          err))) {
			free(dj);
			goto out;
		}
		st = pb__plan_record(ws, actor, id, p->case_id, "notice", "plan.notice", p->sha256,
		                     NULL, dj, index_out, err);
		free(dj);
		if ((st = pb__ws_finish(ws, st, err)))
			goto out;
	}
	*json_out = text;
	text = NULL;
out:
	free(text);
	free(proof);
	free(note);
	json_decref(s);
	pb_plan_dryrun_free(d);
	pb_plan_free(p);
	return st;
}
