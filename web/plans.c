/* plans.c - enforcement plans in the browser (docs/web.md, "Plans"): the
 * list, a case's plans, drafting from a case with the selectors of `probity
 * plan new` (checked as they are typed: the form's script posts it to
 * /cases/N/plans/check, which resolves it with pb_plan_preview and answers
 * the dry run's summary or the library's error and its field, writing
 * nothing), the plan page (hash, dry run, approvals with their signatures,
 * history, the notice to the customer), and its steps: edit, withdraw,
 * approve, refuse, apply, roll back, issue the notice. Each step is the
 * library call the command line makes, which checks the role; every form
 * that writes carries data-sign (a signed workspace's passkey flow). */
#include "web.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define ROLE_DRAFT "analyst,approver"
#define FIELD_MAX 2048 /* a one-line field of the plan form */
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small pieces --------------------------------------------------------------- */

static void when_text(int64_t t, bool open, const char *open_text, char buf[32])
{
	if (open)
		snprintf(buf, 32, "%s", open_text);
	else
		pb_time_format(t, buf);
}

/* A share for people: never "100.0%" or "0.0%" unless it is exactly that. */
static void pct_text(double share, char buf[16])
{
	double v = share * 100;
	if (v > 0 && v < 0.05)
		snprintf(buf, 16, "<0.1%%");
	else if (v < 100 && v >= 99.95)
		snprintf(buf, 16, ">99.9%%");
	else
		snprintf(buf, 16, "%.1f%%", v);
}

static void dec_text(const char *dec, unsigned places, char buf[64])
{
	if (!pb_dec_text_round(dec, places, buf, 64))
		snprintf(buf, 64, "%s", dec);
}

/* "disable 2" or "keep 1" for selector i of p, "" for none. */
static void sel_name(const struct pb_plan *p, long i, char buf[32])
{
	if (i < 0 || (size_t)i >= p->nselectors)
		buf[0] = '\0';
	else
		snprintf(buf, 32, "%s %u", p->selectors[i].keep ? "keep" : "disable",
		         p->selectors[i].number);
}

static void err_para(struct web_ctx *c, const char *msg)
{
	web_puts(c, "<p class=\"err\">");
	web_escs(c, msg);
	web_puts(c, "</p>");
}

static bool need_catalog(struct web_ctx *c)
{
	if (c->o->cat)
		return true;
	web_page_message(c, 503, "Not available",
	                 "this server has no service catalog (see the data folder): plans need one");
	return false;
}

/* ---- the list, and a case's plans ------------------------------------------------------- */

static const char list_head[] =
	"<div class=\"scroll\" tabindex=\"0\"><table id=\"plans\"><thead><tr><th scope=\"col\">Plan</th>"
	"<th scope=\"col\">Case</th><th scope=\"col\">Customer</th><th scope=\"col\">State</th>"
	"<th scope=\"col\">Author</th><th scope=\"col\">Approvals</th>"
	"<th scope=\"col\">Entitlements version</th></tr></thead><tbody>";

static bool list_row(void *ctx, const struct pb_plan *p)
{
	struct web_ctx *c = ctx;
	char appr[32], ver[24];
	snprintf(appr, sizeof(appr), "%u/%u", p->approvals, p->approvals_needed);
	if (p->applied_version)
		snprintf(ver, sizeof(ver), "%lld", (long long)p->applied_version);
	else
		snprintf(ver, sizeof(ver), "-");
	web_printf(c, "<tr><td><a href=\"/plans/%lld\">%lld</a></td><td><a href=\"/cases/%lld\">%lld</a></td>",
	           (long long)p->id, (long long)p->id, (long long)p->case_id, (long long)p->case_id);
	web_cells(c, 5, (const char *const[]){ p->customer, p->state, p->created_by, appr, ver });
	web_puts(c, "</tr>");
	return true;
}

static void page_list(struct web_ctx *c)
{
	struct pb_error err = { 0 };
	web_page_begin(c, "Plans");
	web_puts(c, "<p>Enforcement plans: what each cuts is on its page with its dry run. A plan is "
	            "drafted from its case.</p>");
	web_puts(c, list_head);
	enum pb_status st = pb_plan_list(c->ws, 0, list_row, c, &err);
	web_puts(c, "</tbody></table></div>");
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	web_page_end(c);
}

void web_plans_of_case(struct web_ctx *c, int64_t case_id)
{
	struct pb_error err = { 0 };
	web_puts(c, "<h2>Plans</h2>");
	web_puts(c, list_head);
	pb_plan_list(c->ws, case_id, list_row, c, &err);
	web_puts(c, "</tbody></table></div>");
	if (web_role_in(c, ROLE_DRAFT))
		web_printf(c, "<p><a href=\"/cases/%lld/plans/new\">Draft an enforcement plan</a></p>",
		           (long long)case_id);
}

/* ---- the form: new and edit ---------------------------------------------------------------- */

struct plan_form {
	char *disable, *keep; /* one selector a line (heap) */
	char effective[64], until[64], review_by[32], clause[FIELD_MAX], approvals[16],
		appeal_days[16];
	/* the terms made of it: selector lines point into disable and keep */
	const char **dis, **kp;
	struct pb_plan_terms t;
};

static void form_release(struct plan_form *f)
{
	free(f->disable);
	free(f->keep);
	free(f->dis);
	free(f->kp);
	memset(f, 0, sizeof(*f));
}

/* Splits text into its non-blank lines (trimmed, in place). */
static const char **lines_of(char *text, size_t *n)
{
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	const char **v = calloc(cap, sizeof(*v));
	*n = 0;
	if (!v)
		return NULL;
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n'), *next = nl ? nl + 1 : NULL;
		char *e = nl ? nl : p + strlen(p);
		while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			v[(*n)++] = p;
		p = next;
	}
	return v;
}

static bool small_uint(const char *s, unsigned *out)
{
	unsigned long v = 0;
	if (!*s) {
		*out = 0;
		return true;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000)
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*out = (unsigned)v;
	return true;
}

/* Reads the form into f and its terms; on failure err names the field. */
static enum pb_status form_read(struct web_ctx *c, struct plan_form *f, struct pb_error *err)
{
	memset(f, 0, sizeof(*f));
	f->disable = malloc(PB_HTTP_BODY_MAX + 1);
	f->keep = malloc(PB_HTTP_BODY_MAX + 1);
	if (!f->disable || !f->keep) {
		snprintf(err->message, sizeof(err->message), "out of memory");
		return PB_ENOMEM;
	}
	static const char *const names[] = { "disable", "keep", "effective", "until", "review_by",
		                             "clause", "approvals", "appeal_days" };
	char *outs[] = { f->disable, f->keep, f->effective, f->until, f->review_by, f->clause,
		         f->approvals, f->appeal_days };
	size_t caps[] = { PB_HTTP_BODY_MAX + 1, PB_HTTP_BODY_MAX + 1, sizeof(f->effective),
		          sizeof(f->until), sizeof(f->review_by), sizeof(f->clause),
		          sizeof(f->approvals), sizeof(f->appeal_days) };
	for (size_t i = 0; i < N_OF(names); i++) {
		if (!web_form(c, names[i], outs[i], caps[i])) {
			snprintf(err->field, sizeof(err->field), "%s", names[i]);
			snprintf(err->message, sizeof(err->message),
			         "'%s' is malformed, too long or given twice", names[i]);
			return PB_EINVAL;
		}
	}
	size_t nd = 0, nk = 0;
	f->dis = lines_of(f->disable, &nd);
	f->kp = lines_of(f->keep, &nk);
	if (!f->dis || !f->kp) {
		snprintf(err->message, sizeof(err->message), "out of memory");
		return PB_ENOMEM;
	}
	struct pb_plan_terms *t = &f->t;
	t->disable = f->dis;
	t->ndisable = nd;
	t->keep = f->kp;
	t->nkeep = nk;
	t->effective = f->effective;
	t->until = f->until;
	t->review_by = f->review_by;
	t->clause = f->clause[0] ? f->clause : NULL;
	if (!small_uint(f->approvals, &t->approvals) || !small_uint(f->appeal_days, &t->appeal_days)) {
		const char *bad = small_uint(f->approvals, &t->approvals) ? "appeal_days" : "approvals";
		snprintf(err->field, sizeof(err->field), "%s", bad);
		snprintf(err->message, sizeof(err->message), "'%s' is a whole number", bad);
		return PB_EINVAL;
	}
	return PB_OK;
}

/* The form's fields: id (the library's name of the term), label, help. */
static const struct {
	const char *id, *label, *help;
	bool area;
} fields[] = {
	{ "disable", "Disable (one selector a line)",
	  "What to cut. Each line: space-separated KEY=VALUE[,VALUE...] terms, or all. Keys: "
	  "account and subaccount (the customer's billing accounts and sub-accounts; default: all "
	  "of them), category and subcategory (FOCUS ServiceCategory, ServiceSubcategory), service "
	  "(a name the catalog knows), capability (speech-to-text, translation, object-storage ...), "
	  "region (any spelling the catalog knows) and country (ISO 3166-1 alpha-2). Quote values "
	  "holding spaces: category='AI and Machine Learning'. Example: category=Storage country=NL",
	  true },
	{ "keep", "Keep (one selector a line, optional)",
	  "What stays on even where a disable applies: carve-outs that win over this plan's "
	  "disables. Example: category=Security",
	  true },
	{ "effective", "Effective (optional)",
	  "In force from this ISO 8601 time (2026-12-08T09:00:00Z); empty: when applied. A time "
	  "already past when applied means now.",
	  false },
	{ "until", "Until (optional)",
	  "In force until this ISO 8601 time; empty: until rolled back.", false },
	{ "review_by", "Review by (optional)",
	  "The date (YYYY-MM-DD) by which the plan must be reviewed.", false },
	{ "clause", "Policy clause (optional)",
	  "The policy clause invoked, for the notice to the customer; empty: the workspace's "
	  "policy_clause.",
	  false },
	{ "approvals", "Approvals needed (optional)",
	  "Distinct approvers, never the plan's authors; empty: the workspace's plan_approvals, "
	  "else 2; never fewer than 2.",
	  false },
	{ "appeal_days", "Days to respond (optional)",
	  "Days the customer has to respond or appeal, counted from the notice; empty: the "
	  "workspace's appeal_days, else 30.",
	  false },
};

/* The validation script: posts the form to its data-check path as it is
 * typed and shows the answer (textContent only), never saving. */
static const char form_js[] =
	"(function(){var f=document.getElementById('plan-form');if(!f)return;"
	"var out=document.getElementById('plan-check'),t=null,seq=0;"
	"function clear(){f.querySelectorAll('.ferr').forEach(function(e){e.textContent='';e.hidden=true;});"
	"f.querySelectorAll('[aria-invalid]').forEach(function(e){e.removeAttribute('aria-invalid');});}"
	"function show(j){clear();out.textContent='';out.hidden=false;"
	"if(j.ok){out.className='ok';var h=document.createElement('strong');h.textContent='Dry run (nothing saved): ';"
	"out.appendChild(h);var ul=document.createElement('ul');j.lines.forEach(function(l){"
	"var li=document.createElement('li');li.textContent=l;ul.appendChild(li);});out.appendChild(ul);return;}"
	"out.className='err';out.textContent=j.message;var e=j.field&&document.getElementById(j.field+'-err');"
	"if(e){e.textContent=j.message;e.hidden=false;var i=document.getElementById(j.field);"
	"if(i)i.setAttribute('aria-invalid','true');}}"
	"function run(){var n=++seq;fetch(f.dataset.check,{method:'POST',credentials:'same-origin',"
	"headers:{'Content-Type':'application/x-www-form-urlencoded'},"
	"body:new URLSearchParams(new FormData(f)).toString()}).then(function(r){return r.json();})"
	".then(function(j){if(n===seq)show(j);}).catch(function(){});}"
	"f.addEventListener('input',function(){clearTimeout(t);t=setTimeout(run,300);});})();";

/* The draft form of case case_id (plan 0) or of plan id, its values from f
 * (NULL: empty) or from plan p, and err's message beside its field. */
static void plan_form(struct web_ctx *c, int64_t case_id, int64_t id, const struct plan_form *f,
                      const struct pb_plan *p, const struct pb_error *err)
{
	char vals[8][64] = { { 0 } };
	const char *v[8] = { 0 };
	struct pb_buf dis, kp;
	pb_buf_init(&dis, 2 * (size_t)PB_HTTP_BODY_MAX);
	pb_buf_init(&kp, 2 * (size_t)PB_HTTP_BODY_MAX);
	if (f) {
		/* the text as sent: lines_of trimmed it in place, so rebuild it */
		for (size_t i = 0; i < f->t.ndisable; i++)
			pb_buf_printf(&dis, "%s\n", f->t.disable[i]);
		for (size_t i = 0; i < f->t.nkeep; i++)
			pb_buf_printf(&kp, "%s\n", f->t.keep[i]);
		v[2] = f->effective;
		v[3] = f->until;
		v[4] = f->review_by;
		v[5] = f->clause;
		v[6] = f->approvals;
		v[7] = f->appeal_days;
	} else if (p) {
		for (size_t i = 0; i < p->nselectors; i++)
			pb_buf_printf(p->selectors[i].keep ? &kp : &dis, "%s\n", p->selectors[i].text);
		if (p->effective != INT64_MIN)
			pb_time_format(p->effective, vals[2]);
		if (p->until != INT64_MAX)
			pb_time_format(p->until, vals[3]);
		snprintf(vals[4], 64, "%s", p->review_by ? p->review_by : "");
		snprintf(vals[6], 64, "%u", p->approvals_needed);
		snprintf(vals[7], 64, "%u", p->appeal_days);
		for (int i = 2; i < 8; i++)
			v[i] = vals[i];
		v[5] = p->clause;
	}
	v[0] = dis.data ? dis.data : "";
	v[1] = kp.data ? kp.data : "";
	bool placed = false;
	if (err && err->message[0]) {
		for (size_t i = 0; i < N_OF(fields); i++)
			placed |= !strcmp(err->field, fields[i].id);
		if (!placed) {
			web_puts(c, "<p class=\"err\" role=\"alert\" id=\"form-err\">");
			web_escs(c, err->message);
			web_puts(c, "</p>");
		}
	}
	if (id)
		web_printf(c, "<form class=\"box\" id=\"plan-form\" method=\"post\" data-sign "
		              "action=\"/plans/%lld/edit\" data-check=\"/cases/%lld/plans/check\">",
		           (long long)id, (long long)case_id);
	else
		web_printf(c, "<form class=\"box\" id=\"plan-form\" method=\"post\" data-sign "
		              "action=\"/cases/%lld/plans/new\" data-check=\"/cases/%lld/plans/check\">",
		           (long long)case_id, (long long)case_id);
	web_csrf_field(c);
	for (size_t i = 0; i < N_OF(fields); i++) {
		const char *fid = fields[i].id;
		bool bad = err && !strcmp(err->field, fid) && err->message[0];
		web_printf(c, "<label for=\"%s\">%s</label><p class=\"help\" id=\"%s-help\">", fid,
		           fields[i].label, fid);
		web_escs(c, fields[i].help);
		web_printf(c, "</p><p class=\"err ferr\" role=\"alert\" id=\"%s-err\"%s>", fid,
		           bad ? "" : " hidden");
		if (bad)
			web_escs(c, err->message);
		web_puts(c, "</p>");
		if (fields[i].area) {
			web_printf(c, "<textarea id=\"%s\" name=\"%s\" aria-describedby=\"%s-help %s-err\"%s%s>",
			           fid, fid, fid, fid, bad ? " aria-invalid=\"true\"" : "",
			           i == 0 ? " required" : "");
			web_escs(c, v[i]);
			web_puts(c, "</textarea>");
		} else {
			web_printf(c, "<input type=\"text\" id=\"%s\" name=\"%s\" aria-describedby=\"%s-help %s-err\"%s value=\"",
			           fid, fid, fid, fid, bad ? " aria-invalid=\"true\"" : "");
			web_escs(c, v[i]);
			web_puts(c, "\">");
		}
	}
	web_printf(c, "<div id=\"plan-check\" aria-live=\"polite\" hidden></div>"
	              "<button class=\"go\" type=\"submit\">%s</button></form>",
	           id ? "Save the changes" : "Save the draft");
	web_printf(c, "<script nonce=\"%s\">%s</script>", c->nonce, form_js);
	pb_buf_release(&dis);
	pb_buf_release(&kp);
}

/* Plan id, or NULL when the answer is the library's error. */
static struct pb_plan *plan_or_error(struct web_ctx *c, int64_t id)
{
	struct pb_error err = { 0 };
	struct pb_plan *p = NULL;
	enum pb_status st = pb_plan_get(c->ws, id, &p, &err);
	if (st)
		web_lib_error(c, st, &err);
	return st ? NULL : p;
}

/* A form's page, answered with status (a refused draft comes back 400). */
static void form_page_begin(struct web_ctx *c, const char *title, int status)
{
	pb_buf_reset(&c->out);
	c->status = status;
	web_page_begin(c, title);
}

static void page_new(struct web_ctx *c, int64_t case_id, const struct plan_form *f,
                     const struct pb_error *err, int status)
{
	char title[64];
	snprintf(title, sizeof(title), "Draft a plan on case %lld", (long long)case_id);
	form_page_begin(c, title, status);
	web_printf(c, "<p><a href=\"/cases/%lld\">Case %lld</a>. The dry run below follows what you "
	              "type; nothing is saved until you save the draft. Two approvers who are not its "
	              "authors must approve it before it can be applied.</p>",
	           (long long)case_id, (long long)case_id);
	plan_form(c, case_id, 0, f, NULL, err);
	web_page_end(c);
}

/* The lines the check answers for a plan and its dry run. */
static void summary_lines(const struct pb_plan *p, const struct pb_plan_dryrun *d, json_t *a)
{
	char b[1024], x[64], y[64], s[16];
	snprintf(b, sizeof(b), "%zu rules for %s; %zu of %zu usage rows of %s are cut", p->nrules,
	         p->customer, d->ncut, d->nrows, d->month);
	json_array_append_new(a, json_string(b));
	for (size_t i = 0; i < d->nspend; i++) {
		dec_text(d->spend[i].cut, 2, x);
		dec_text(d->spend[i].total, 2, y);
		pct_text(d->spend[i].cut_share, s);
		snprintf(b, sizeof(b), "cuts %s of %s %s (%s) of the month's spend", x, y,
		         d->spend[i].currency, s);
		json_array_append_new(a, json_string(b));
	}
	for (size_t i = 0; i < p->nselectors; i++) {
		if (d->matches[i])
			continue;
		char n[32];
		sel_name(p, (long)i, n);
		snprintf(b, sizeof(b), "%s matches nothing in the usage: %s", n, p->selectors[i].text);
		json_array_append_new(a, json_string(b));
	}
	for (size_t i = 0; i < d->nnotes; i++)
		json_array_append_new(a, json_string(d->notes[i]));
}

static void post_check(struct web_ctx *c, int64_t case_id)
{
	struct plan_form f;
	struct pb_error err = { 0 };
	struct pb_plan *p = NULL;
	struct pb_plan_dryrun *d = NULL;
	enum pb_status st = form_read(c, &f, &err);
	if (!st)
		st = pb_plan_preview(c->ws, c->o->cat, case_id, &f.t, &p, &err);
	if (!st)
		st = pb_plan_dryrun(c->ws, c->o->cat, p, NULL, &d, &err);
	json_t *o;
	if (st) {
		o = json_pack("{s:b,s:s,s:s}", "ok", 0, "field", err.field, "message", err.message);
	} else {
		json_t *a = json_array();
		summary_lines(p, d, a);
		o = json_pack("{s:b,s:o}", "ok", 1, "lines", a);
	}
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	c->status = text ? 200 : 500;
	c->ctype = "application/json";
	pb_buf_reset(&c->out);
	web_puts(c, text ? text : "{\"ok\":false,\"field\":\"\",\"message\":\"out of memory\"}");
	free(text);
	pb_plan_dryrun_free(d);
	pb_plan_free(p);
	form_release(&f);
}

static void page_edit(struct web_ctx *c, int64_t id, const struct plan_form *f,
                      const struct pb_error *ferr, int status)
{
	struct pb_plan *p = plan_or_error(c, id);
	if (!p)
		return;
	char title[48];
	snprintf(title, sizeof(title), "Change plan %lld", (long long)id);
	form_page_begin(c, title, status);
	web_printf(c, "<p><a href=\"/plans/%lld\">Plan %lld</a> (%s). A change makes a new hash: "
	              "earlier approvals and refusals no longer count.</p>",
	           (long long)id, (long long)id, strcmp(p->status, "draft") ? "not a draft" : "draft");
	plan_form(c, p->case_id, id, f, f ? NULL : p, ferr);
	web_page_end(c);
	pb_plan_free(p);
}

/* A 303 to plan id's page. */
static void to_plan(struct web_ctx *c, int64_t id)
{
	char to[40];
	snprintf(to, sizeof(to), "/plans/%lld", (long long)id);
	web_redirect(c, to);
}

/* Saves the form: a new plan on case_id (id 0) or a change of plan id. A
 * refused draft comes back with its error beside its field. */
static void post_form(struct web_ctx *c, int64_t case_id, int64_t id)
{
	struct plan_form f;
	struct pb_error err = { 0 };
	enum pb_status st = form_read(c, &f, &err);
	if (!st && id)
		st = pb_plan_edit(c->ws, c->o->cat, c->s.user, id, &f.t, f.t.nkeep == 0, NULL, &err);
	else if (!st)
		st = pb_plan_new(c->ws, c->o->cat, c->s.user, case_id, &f.t, &id, NULL, &err);
	if (st == PB_EINVAL || (st == PB_ELIMIT && err.field[0])) {
		if (id)
			page_edit(c, id, &f, &err, 400);
		else
			page_new(c, case_id, &f, &err, 400);
	} else if (st) {
		web_lib_error(c, st, &err);
	} else {
		to_plan(c, id);
	}
	form_release(&f);
}

/* ---- signatures of approvals ----------------------------------------------------------------- */

/* The entries a replay of a signed log finds fault with, for the log size it
 * ran at: one replay per size for every request (a page shows "verifies"
 * from it). */
static pthread_mutex_t bad_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t bad_size;
static bool bad_valid;
static uint64_t bad_idx[64];
static size_t bad_n;
static bool bad_more;

static bool bad_fn(void *ctx, const struct pb_replay_diff *d)
{
	(void)ctx;
	if (strcmp(d->table, "audit_entry") || d->entry < 0)
		return true;
	if (bad_n < N_OF(bad_idx))
		bad_idx[bad_n++] = (uint64_t)d->entry;
	else
		bad_more = true;
	return true;
}

/* 1: entry index's signature verifies, 0: it does not, -1: cannot tell. */
static int sig_verifies(struct web_ctx *c, uint64_t index)
{
	struct pb_audit_status as;
	struct pb_error err = { 0 };
	if (pb_audit_status(c->ws, &as, &err))
		return -1;
	pthread_mutex_lock(&bad_mu);
	if (!bad_valid || bad_size != as.size) {
		uint64_t nd = 0;
		bad_n = 0;
		bad_more = false;
		bad_valid = pb_log_replay_check(c->ws, bad_fn, NULL, &nd, &err) == PB_OK;
		bad_size = as.size;
	}
	int r = bad_valid ? (bad_more ? -1 : 1) : -1;
	for (size_t i = 0; bad_valid && i < bad_n; i++)
		if (bad_idx[i] == index)
			r = 0;
	pthread_mutex_unlock(&bad_mu);
	return r;
}

/* The signature cells of entry index: kind, key fingerprint, verifies. */
static void sig_cells(struct web_ctx *c, uint64_t index)
{
	char *data = NULL;
	size_t len = 0;
	struct pb_error err = { 0 };
	json_t *e = NULL;
	if (pb_audit_entry_data(c->ws, index, &data, &len, &err) == PB_OK)
		e = json_loadb(data, len, 0, NULL);
	free(data);
	json_t *sig = json_object_get(e, "sig");
	if (!json_is_object(sig)) {
		web_puts(c, "<td>none</td><td>-</td><td>unsigned workspace</td>");
		json_decref(e);
		return;
	}
	const char *kind = json_object_get(sig, "webauthn") ? "passkey"
	                   : json_object_get(sig, "sshsig") ? "SSH"
	                                                    : "unknown";
	int v = sig_verifies(c, index);
	web_cells(c, 2, (const char *const[]){ kind, web_jstr(sig, "key_fp") });
	web_printf(c, "<td class=\"sigv\">%s</td>",
	           v == 1 ? "signature verifies" : v == 0 ? "<strong>does not verify</strong>"
	                                                  : "not checked");
	json_decref(e);
}

/* ---- the plan page ------------------------------------------------------------------------- */

static void usage_row(struct web_ctx *c, const struct pb_plan *p, const struct pb_plan_usage *u)
{
	char q[64], cost[64], s[16], by[32], kept[32];
	dec_text(u->quantity, 3, q);
	dec_text(u->cost, 2, cost);
	pct_text(u->share, s);
	sel_name(p, u->by, by);
	sel_name(p, u->kept_by, kept);
	web_puts(c, "<tr>");
	web_cells(c, 5, (const char *const[]){ u->account, u->subaccount, u->service, u->capability,
	                                       u->region });
	web_printf(c, "<td class=\"num\">");
	web_escs(c, q);
	web_puts(c, " ");
	web_escs(c, u->unit);
	web_puts(c, "</td><td class=\"num\">");
	web_escs(c, cost);
	web_puts(c, " ");
	web_escs(c, u->currency);
	web_puts(c, "</td><td class=\"num\">");
	web_escs(c, s);
	web_puts(c, "</td>");
	web_cells(c, 1, (const char *const[]){ u->cut ? by : kept });
	web_puts(c, "</tr>");
}

static void usage_table(struct web_ctx *c, const struct pb_plan *p, const struct pb_plan_dryrun *d,
                        bool cut, const char *id, const char *last)
{
	web_printf(c, "<div class=\"scroll\" tabindex=\"0\"><table id=\"%s\"><thead><tr>"
	              "<th scope=\"col\">Account</th><th scope=\"col\">Sub-account</th>"
	              "<th scope=\"col\">Service</th><th scope=\"col\">Capability</th>"
	              "<th scope=\"col\">Region</th><th scope=\"col\">Quantity</th>"
	              "<th scope=\"col\">Cost</th><th scope=\"col\">Share</th><th scope=\"col\">%s</th>"
	              "</tr></thead><tbody>",
	           id, last);
	for (size_t i = 0; i < d->nrows; i++)
		if (d->rows[i].cut == cut)
			usage_row(c, p, &d->rows[i]);
	web_puts(c, "</tbody></table></div>");
}

static void dryrun_part(struct web_ctx *c, const struct pb_plan *p)
{
	struct pb_plan_dryrun *d = NULL;
	struct pb_error err = { 0 };
	web_puts(c, "<h2>Dry run</h2>");
	if (pb_plan_dryrun(c->ws, c->o->cat, p, NULL, &d, &err)) {
		err_para(c, err.message);
		return;
	}
	web_printf(c, "<p id=\"dry-summary\">Usage of %s (the last full month; the customer's usage "
	              "runs from %s to %s): %zu of %zu rows are cut.</p><ul>",
	           d->month, d->first_day, d->last_day, d->ncut, d->nrows);
	for (size_t i = 0; i < d->nspend; i++) {
		char x[64], y[64], k[64], s[16];
		dec_text(d->spend[i].cut, 2, x);
		dec_text(d->spend[i].total, 2, y);
		dec_text(d->spend[i].kept, 2, k);
		pct_text(d->spend[i].cut_share, s);
		web_puts(c, "<li>");
		web_escs(c, d->spend[i].currency);
		web_printf(c, ": cuts %s of %s (", x, y);
		web_escs(c, s);
		web_printf(c, "); a keep saves %s</li>", k);
	}
	web_puts(c, "</ul><h3>What it cuts</h3>");
	usage_table(c, p, d, true, "dry-cut", "Cut by");
	web_puts(c, "<h3>What stays on</h3>");
	usage_table(c, p, d, false, "dry-kept", "Kept by");
	web_puts(c, "<h3>Selectors that match nothing</h3><ul id=\"dry-nothing\">");
	size_t none = 0;
	for (size_t i = 0; i < p->nselectors; i++) {
		if (d->matches[i])
			continue;
		char n[32];
		sel_name(p, (long)i, n);
		web_printf(c, "<li>%s: <code>", n);
		web_escs(c, p->selectors[i].text);
		web_puts(c, "</code></li>");
		none++;
	}
	web_puts(c, none ? "</ul>" : "<li>none: every selector matches some usage</li></ul>");
	for (size_t i = 0; i < d->ncancels; i++) {
		char k[32], dn[32];
		sel_name(p, (long)d->cancels[i][0], k);
		sel_name(p, (long)d->cancels[i][1], dn);
		web_printf(c, "<p>%s cancels %s %s.</p>", k, dn,
		           d->cancels_always[i] ? "whatever the usage" : "on all of this usage");
	}
	for (size_t i = 0; i < d->nnotes; i++) {
		web_puts(c, "<p class=\"note\">");
		web_escs(c, d->notes[i]);
		web_puts(c, "</p>");
	}
	pb_plan_dryrun_free(d);
}

static void approvals_part(struct web_ctx *c, const struct pb_plan *p)
{
	web_printf(c, "<h2 id=\"approvals-h\">Approvals</h2><p id=\"approvals\">%u of %u approvals of the current hash",
	           p->approvals, p->approvals_needed);
	if (p->refusals)
		web_printf(c, "; %u refusal%s", p->refusals, p->refusals > 1 ? "s" : "");
	web_puts(c, ".</p><div class=\"scroll\" tabindex=\"0\"><table id=\"votes\"><thead><tr>"
	            "<th scope=\"col\">Vote</th><th scope=\"col\">Who</th><th scope=\"col\">When</th>"
	            "<th scope=\"col\">Log entry</th><th scope=\"col\">Of this hash</th>"
	            "<th scope=\"col\">Comment or reason</th><th scope=\"col\">Signature</th>"
	            "<th scope=\"col\">Key</th><th scope=\"col\">Verifies</th></tr></thead><tbody>");
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		if (strcmp(e->kind, "approve") && strcmp(e->kind, "refuse") &&
		    strcmp(e->kind, "rollback-approve"))
			continue;
		web_puts(c, "<tr>");
		web_cells(c, 3, (const char *const[]){ e->kind, e->actor, e->at });
		web_printf(c, "<td class=\"num\"><a href=\"/log/%llu\">%llu</a></td>",
		           (unsigned long long)e->log_index, (unsigned long long)e->log_index);
		web_cells(c, 2, (const char *const[]){ e->current ? "yes" : "no (changed since)",
		                                       e->text ? e->text : "" });
		sig_cells(c, e->log_index);
		web_puts(c, "</tr>");
	}
	web_puts(c, "</tbody></table></div>");
}

static void history_part(struct web_ctx *c, const struct pb_plan *p)
{
	web_puts(c, "<h2>History</h2><div class=\"scroll\" tabindex=\"0\"><table id=\"history\"><thead><tr>"
	            "<th scope=\"col\">Step</th><th scope=\"col\">Who</th><th scope=\"col\">When</th>"
	            "<th scope=\"col\">Text</th><th scope=\"col\">Version</th>"
	            "<th scope=\"col\">Log entry</th></tr></thead><tbody>");
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		char v[24] = "";
		if (e->version)
			snprintf(v, sizeof(v), "%lld", (long long)e->version);
		web_puts(c, "<tr>");
		web_cells(c, 5, (const char *const[]){ e->kind, e->actor, e->at, e->text ? e->text : "",
		                                       v });
		web_printf(c, "<td class=\"num\"><a href=\"/log/%llu\">%llu</a></td></tr>",
		           (unsigned long long)e->log_index, (unsigned long long)e->log_index);
	}
	web_puts(c, "</tbody></table></div>");
}

/* A form posting to /plans/id/what, with a text field (fid, label; NULL:
 * none) and the plan's hash when hash. */
static void step_form(struct web_ctx *c, const struct pb_plan *p, const char *what,
                      const char *heading, const char *fid, const char *label, bool required,
                      bool hash, const char *button)
{
	web_printf(c, "<h3>%s</h3><form class=\"box\" method=\"post\" data-sign action=\"/plans/%lld/%s\">",
	           heading, (long long)p->id, what);
	web_csrf_field(c);
	if (hash)
		web_printf(c, "<input type=\"hidden\" name=\"sha256\" value=\"%s\">", p->sha256);
	if (fid)
		web_printf(c, "<label for=\"%s\">%s</label><input type=\"text\" id=\"%s\" name=\"text\"%s>",
		           fid, label, fid, required ? " required" : "");
	web_printf(c, "<button class=\"go\" type=\"submit\">%s</button></form>", button);
}

/* Has user voted on the plan as it is, or written it (an author may not
 * vote)? The library decides; this only spares a button that would fail. */
static bool voted_or_wrote(const struct pb_plan *p, const char *user)
{
	for (size_t i = 0; i < p->nevents; i++) {
		const struct pb_plan_event *e = &p->events[i];
		if (strcmp(e->actor, user))
			continue;
		if (!strcmp(e->kind, "new") || !strcmp(e->kind, "edit") ||
		    (e->current && (!strcmp(e->kind, "approve") || !strcmp(e->kind, "refuse"))))
			return true;
	}
	return false;
}

static void actions_part(struct web_ctx *c, const struct pb_plan *p)
{
	bool draft = !strcmp(p->status, "draft"), applied = !strcmp(p->status, "applied");
	bool drafter = web_role_in(c, ROLE_DRAFT), approver = web_role_in(c, "approver");
	if (!(draft && (drafter || approver)) && !(applied && approver))
		return;
	web_puts(c, "<h2>Steps</h2>");
	if (draft && approver && !voted_or_wrote(p, c->s.user)) {
		step_form(c, p, "approve", "Approve the plan as it is now", "comment",
		          "Comment (optional)", false, true, "Approve");
		step_form(c, p, "refuse", "Refuse it", "refuse-reason", "Reason", true, true, "Refuse");
	}
	if (draft && drafter) {
		if (p->approvals >= p->approvals_needed && !p->refusals)
			step_form(c, p, "apply", "Apply: publish entitlements", NULL, NULL, false, false,
			          "Apply the plan");
		web_printf(c, "<p><a href=\"/plans/%lld/edit\">Change the draft</a></p>", (long long)p->id);
		step_form(c, p, "withdraw", "Withdraw the draft", "withdraw-reason", "Reason", true,
		          false, "Withdraw");
	}
	if (applied && approver)
		step_form(c, p, "rollback", "Roll back (restores the services)", "rollback-reason",
		          "Reason", true, false, "Roll back");
}

static void notice_preview(struct web_ctx *c, const struct pb_plan *p)
{
	struct pb_error err = { 0 };
	char *text = NULL;
	struct pb_notice_options o = { PB_NOTICE_TEXT, true, 0 };
	web_puts(c, "<h2>Notice to the customer</h2>");
	if (pb_notice_make(c->ws, c->o->cat, c->s.user, p->id, &o, &text, NULL, &err)) {
		err_para(c, err.message);
		return;
	}
	web_puts(c, "<p>As it will be sent (this preview is marked DRAFT and records nothing):</p>"
	            "<pre id=\"notice\">");
	web_escs(c, text);
	free(text);
	web_printf(c, "</pre><p>Download the preview: <a href=\"/plans/%lld/notice?format=text\">text</a> · "
	              "<a href=\"/plans/%lld/notice?format=markdown\">Markdown</a> · "
	              "<a href=\"/plans/%lld/notice?format=html\">HTML</a></p>",
	           (long long)p->id, (long long)p->id, (long long)p->id);
}

static void notice_form(struct web_ctx *c, const struct pb_plan *p)
{
	bool decided = strcmp(p->status, "withdrawn") &&
	               (strcmp(p->status, "draft") ||
	                (p->approvals >= p->approvals_needed && !p->refusals));
	if (decided && web_role_in(c, ROLE_DRAFT)) {
		web_printf(c, "<form class=\"box\" method=\"post\" data-sign action=\"/plans/%lld/notice\">",
		           (long long)p->id);
		web_csrf_field(c);
		web_puts(c, "<label for=\"nformat\">Issue the notice (recorded on the log) and download it as</label>"
		            "<select id=\"nformat\" name=\"format\"><option value=\"text\">text</option>"
		            "<option value=\"markdown\">Markdown</option><option value=\"html\">HTML"
		            "</option></select><button class=\"go\" type=\"submit\">Issue and download</button></form>");
	}
}

/* The dry run and the notice preview: the same for every user, and each a
 * pass over the customer's usage (tens of ms on the demo), so kept in the
 * page cache (pcache.c) by the usage data version and everything of the
 * plan they read: its hash, state, versions and today's date. */
static void costly_parts(struct web_ctx *c, const struct pb_plan *p)
{
	int64_t version = -1;
	struct pb_error err = { 0 };
	char key[256], day[11];
	pb_day_format(pb_floordiv(pb_now(), 86400), day);
	snprintf(key, sizeof(key), "plan\n%lld\n%s\n%s\n%u/%u/%u\n%lld/%lld/%lld\n%s", (long long)p->id,
	         p->sha256, p->status, p->approvals, p->approvals_needed, p->refusals,
	         (long long)p->applied_version, (long long)p->in_force_from,
	         (long long)p->end_version, day);
	/* a miss holds the cache's build lock until the put */
	bool building = web_pcache_version(c->ws, &version, &err) == PB_OK;
	if (building && web_pcache_get(c, version, key))
		return;
	size_t start = c->out.len;
	dryrun_part(c, p);
	notice_preview(c, p);
	if (building)
		web_pcache_put(version, key, c->out.data + start, c->out.len - start);
}

static void page_plan(struct web_ctx *c, int64_t id)
{
	struct pb_plan *p = plan_or_error(c, id);
	if (!p)
		return;
	char title[48], a[32], b[32], rev[64];
	snprintf(title, sizeof(title), "Plan %lld", (long long)id);
	web_page_begin(c, title);
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table id=\"plan\"><tbody>");
	web_printf(c, "<tr><th scope=\"row\">Case</th><td><a href=\"/cases/%lld\">%lld</a></td></tr>",
	           (long long)p->case_id, (long long)p->case_id);
	web_row_th(c, "Customer", p->customer);
	web_puts(c, "<tr><th scope=\"row\">State</th><td id=\"plan-state\">");
	web_escs(c, p->state);
	web_puts(c, "</td></tr><tr><th scope=\"row\">SHA-256</th><td><code id=\"plan-hash\">");
	web_escs(c, p->sha256);
	web_puts(c, "</code></td></tr>");
	snprintf(rev, sizeof(rev), "%d", p->revision);
	web_row_th(c, "Revision", rev);
	web_row_th(c, "Made", p->created_at);
	web_row_th(c, "Author", p->created_by);
	when_text(p->effective, p->effective == INT64_MIN, "when applied", a);
	when_text(p->until, p->until == INT64_MAX, "until rolled back", b);
	web_row_th(c, "Effective", a);
	web_row_th(c, "Until", b);
	web_row_th(c, "Review by", p->review_by ? p->review_by : "(no date set)");
	web_row_th(c, "Policy clause", p->clause);
	snprintf(rev, sizeof(rev), "%u of %u", p->approvals, p->approvals_needed);
	web_row_th(c, "Approvals", rev);
	snprintf(rev, sizeof(rev), "%u days from the notice", p->appeal_days);
	web_row_th(c, "Appeal", rev);
	web_puts(c, "<tr><th scope=\"row\">Entitlements version</th><td id=\"plan-version\">");
	if (p->applied_version) {
		when_text(p->in_force_from, false, "", a);
		web_printf(c, "%lld (in force from %s)", (long long)p->applied_version, a);
		if (p->end_version)
			web_printf(c, "; rolled back by version %lld", (long long)p->end_version);
	} else {
		web_puts(c, "not applied");
	}
	web_puts(c, "</td></tr></tbody></table></div><h2>Selectors</h2><ul id=\"selectors\">");
	for (size_t i = 0; i < p->nselectors; i++) {
		char n[32];
		sel_name(p, (long)i, n);
		web_printf(c, "<li>%s: <code>", n);
		web_escs(c, p->selectors[i].text);
		web_puts(c, "</code></li>");
	}
	web_puts(c, "</ul>");
	approvals_part(c, p);
	actions_part(c, p);
	history_part(c, p);
	costly_parts(c, p);
	notice_form(c, p);
	web_page_end(c);
	pb_plan_free(p);
}

/* ---- steps ----------------------------------------------------------------------------------- */

static void post_step(struct web_ctx *c, int64_t id, const char *what)
{
	char text[FIELD_MAX], sha[80];
	struct pb_error err = { 0 };
	enum pb_status st;
	if (!web_form(c, "text", text, sizeof(text)) || !web_form(c, "sha256", sha, sizeof(sha))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	const char *t = text[0] ? text : NULL, *h = sha[0] ? sha : NULL;
	int64_t v = 0;
	if (!strcmp(what, "approve"))
		st = pb_plan_approve(c->ws, c->s.user, id, h, t, NULL, NULL, &err);
	else if (!strcmp(what, "refuse"))
		st = pb_plan_refuse(c->ws, c->s.user, id, h, t, NULL, &err);
	else if (!strcmp(what, "apply"))
		st = pb_plan_apply(c->ws, c->s.user, id, &v, NULL, &err);
	else if (!strcmp(what, "rollback"))
		st = pb_plan_rollback(c->ws, c->s.user, id, t, &v, NULL, NULL, NULL, &err);
	else
		st = pb_plan_withdraw(c->ws, c->s.user, id, t, NULL, &err);
	if (st)
		web_lib_error(c, st, &err);
	else
		to_plan(c, id);
}

/* The notice of plan id in the format the query (GET: a draft preview) or
 * the form (POST: issued, recorded) names, as an attachment. */
static void notice_download(struct web_ctx *c, int64_t id, bool issue)
{
	char fmt[16];
	bool ok = issue ? web_form(c, "format", fmt, sizeof(fmt)) : web_query(c, "format", fmt, sizeof(fmt));
	static const struct {
		const char *name, *ext, *ctype;
		enum pb_notice_format f;
	} kinds[] = {
		{ "text", "txt", "text/plain; charset=utf-8", PB_NOTICE_TEXT },
		{ "markdown", "md", "text/markdown; charset=utf-8", PB_NOTICE_MARKDOWN },
		{ "html", "html", "text/html; charset=utf-8", PB_NOTICE_HTML },
	};
	size_t k = N_OF(kinds);
	for (size_t i = 0; ok && i < N_OF(kinds); i++)
		if (!strcmp(fmt, kinds[i].name))
			k = i;
	if (k == N_OF(kinds)) {
		web_page_message(c, 400, "Not done", "the format is text, markdown or html");
		return;
	}
	struct pb_notice_options o = { kinds[k].f, !issue, 0 };
	struct pb_error err = { 0 };
	char *text = NULL;
	enum pb_status st = pb_notice_make(c->ws, c->o->cat, c->s.user, id, &o, &text, NULL, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	pb_buf_reset(&c->out);
	c->status = 200;
	c->ctype = kinds[k].ctype;
	web_header(c, "Content-Disposition: attachment; filename=\"notice-plan-%lld%s.%s\"",
	           (long long)id, issue ? "" : "-draft", kinds[k].ext);
	web_puts(c, text);
	free(text);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

bool web_plans_pages(struct web_ctx *c, bool get, bool post)
{
	if (get && web_path_is(c, "/plans")) {
		page_list(c);
		return true;
	}
	struct pb_str rest;
	int64_t cid = web_path_id(c->rq.path, "/cases/", &rest);
	if (cid && pb_str_eq_cstr(rest, "/plans/new")) {
		if (!web_role_in(c, ROLE_DRAFT))
			web_forbid(c, "your role may not draft plans");
		else if (!need_catalog(c))
			;
		else if (get)
			page_new(c, cid, NULL, NULL, 200);
		else
			post_form(c, cid, 0);
		return true;
	}
	if (cid && post && pb_str_eq_cstr(rest, "/plans/check")) {
		if (!web_role_in(c, ROLE_DRAFT))
			web_forbid(c, "your role may not draft plans");
		else if (need_catalog(c))
			post_check(c, cid);
		return true;
	}
	int64_t id = web_path_id(c->rq.path, "/plans/", &rest);
	if (!id || !need_catalog(c))
		return id != 0;
	if (get && !rest.len) {
		page_plan(c, id);
		return true;
	}
	if (pb_str_eq_cstr(rest, "/edit")) {
		if (get)
			page_edit(c, id, NULL, NULL, 200);
		else
			post_form(c, 0, id);
		return true;
	}
	if (pb_str_eq_cstr(rest, "/notice")) {
		notice_download(c, id, post);
		return true;
	}
	static const char *const steps[] = { "approve", "refuse", "apply", "rollback", "withdraw" };
	for (size_t i = 0; post && i < N_OF(steps); i++) {
		if (rest.len == strlen(steps[i]) + 1 && !memcmp(rest.ptr + 1, steps[i], rest.len - 1)) {
			post_step(c, id, steps[i]);
			return true;
		}
	}
	return false;
}
