/* casereport.c - the case report: one self-contained HTML file telling a
 * review case from its audit-log entries (trigger, method, the customer's
 * profile, findings with their evidence verified again, mail searches, notes,
 * decision, plans, approvals, notices, entitlements), with the entries'
 * bytes, their inclusion proofs and the signed checkpoint embedded as JSON;
 * and its verifier (docs/reports.md, "Case report"). */
#include "report/report.h"
#include "profile/profile.h"

#include <string.h>

#define REPORT_MAX (64u * 1024 * 1024)
#define EVIDENCE_OPEN "<script type=\"application/json\" id=\"probity-evidence\">"
#define EVIDENCE_CLOSE "</script>"

struct entries {
	json_t *list;      /* [{index, data, proof}] in log order */
	struct pb_error *err;
	enum pb_status st;
};

static bool on_entry(void *ctx, const struct pb_audit_entry *e)
{
	struct entries *x = ctx;
	json_t *o = json_object();
	json_object_set_new(o, "index", json_integer((json_int_t)e->index));
	json_object_set_new(o, "data", json_stringn(e->data.ptr, e->data.len));
	if (!o || json_array_append_new(x->list, o)) {
		x->st = pb__err(x->err, PB_ENOMEM, "cannot write the case report: out of memory");
		return false;
	}
	return true;
}

static const char *entry_action(json_t *d)
{
	const char *a = json_string_value(json_object_get(d, "action"));
	return a ? a : "";
}

static void leaf_hex(const char *data, size_t n, char hex[65])
{
	uint8_t h[32];
	pb_tlog_leaf_hash(data, n, h);
	pb_hex(h, 32, hex);
}

/* A scalar of an entry's details as text ("" for objects). */
static void scalar(json_t *v, char *buf, size_t cap)
{
	if (json_is_string(v))
		pb__snprintf(buf, cap, "%s", json_string_value(v));
	else if (json_is_integer(v))
		pb__snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		pb__snprintf(buf, cap, "%g", json_real_value(v));
	else if (json_is_true(v) || json_is_false(v))
		pb__snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_array(v)) {
		size_t i, off = 0;
		json_t *x;
		buf[0] = 0;
		json_array_foreach(v, i, x) {
			if (!json_is_string(x) || off + 3 >= cap)
				continue;
			off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "; " : "",
			                        json_string_value(x));
			off = off < cap ? off : cap - 1;
		}
	} else
		buf[0] = 0;
}

/* One entry as a definition list of its details, citing the entry. */
static void entry_block(struct pb_buf *b, json_t *d, uint64_t index)
{
	const char *action = entry_action(d);
	json_t *det = json_object_get(d, "details");
	pb_buf_printf(b, "<div class=\"e\"><p class=\"h\">%s by ", action);
	const char *actor = json_string_value(json_object_get(d, "actor"));
	const char *time = json_string_value(json_object_get(d, "time"));
	pb__report_html_text(b, actor ? actor : "");
	pb_buf_adds(b, " at ");
	pb__report_html_text(b, time ? time : "");
	pb_buf_printf(b, " <a href=\"#entry-%llu\">entry %llu</a></p>\n<dl>",
	              (unsigned long long)index, (unsigned long long)index);
	const char *k;
	json_t *v;
	json_object_foreach(det, k, v) {
		char buf[2048];
		scalar(v, buf, sizeof(buf));
		if (!buf[0])
			continue;
		pb_buf_adds(b, "<dt>");
		pb__report_html_text(b, k);
		pb_buf_adds(b, "</dt><dd>");
		pb__report_html_text(b, buf);
		pb_buf_adds(b, "</dd>");
	}
	pb_buf_adds(b, "</dl></div>\n");
}

/* The sections that show entries, by the actions they show ("x." is a prefix). */
static const char *const sections[][2] = {
	{ "Trigger", "case.open" },
	{ "Mail searches", "mail." },
	{ "Notes and documents", "case.note,case.document,case.attach" },
	{ "Decision", "case.close" },
	{ "Plans and dry runs", "plan.new,plan.dryrun,plan.withdraw" },
	{ "Approvals", "plan.approve" },
	{ "Enforcement and entitlements versions", "plan.apply,plan.rollback,plan.policy" },
	{ "Notices", "plan.notice" },
	{ "Appeals", "appeal." },
};
enum { S_TRIGGER, S_MAIL, S_NOTES, S_DECISION, S_PLANS, S_APPROVALS, S_ENFORCE, S_NOTICES,
       S_APPEALS, S_COUNT };

static bool matches(const char *action, const char *prefixes)
{
	for (const char *p = prefixes; *p;) {
		size_t len = strcspn(p, ",");
		if (!strncmp(action, p, len) && (p[len - 1] == '.' || !action[len]))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* The blocks of the entries section k shows. */
static void section(struct pb_buf *b, json_t *parsed, json_t *list, int k)
{
	size_t i, n = 0;
	json_t *d;
	pb_buf_printf(b, "<h2>%s</h2>\n", sections[k][0]);
	json_array_foreach(parsed, i, d) {
		if (!matches(entry_action(d), sections[k][1]))
			continue;
		entry_block(b, d, (uint64_t)json_integer_value(
		                   json_object_get(json_array_get(list, i), "index")));
		n++;
	}
	if (!n)
		pb_buf_adds(b, "<p>None.</p>\n");
}

/* One table row: cells from first_num on are figures (right-aligned). */
static void html_row(struct pb_buf *b, const char *const *cells, size_t n, size_t first_num)
{
	pb_buf_adds(b, "<tr>");
	for (size_t c = 0; c < n; c++) {
		pb_buf_adds(b, c >= first_num ? "<td class=\"n\">" : "<td>");
		pb__report_html_text(b, cells[c] ? cells[c] : "");
		pb_buf_adds(b, "</td>");
	}
	pb_buf_adds(b, "</tr>\n");
}

struct case_head {
	char customer[256];
	char status[16];
};

static bool on_case(void *ctx, const struct pb_case *c)
{
	struct case_head *h = ctx;
	pb__snprintf(h->customer, sizeof(h->customer), "%s", c->customer ? c->customer : "");
	pb__snprintf(h->status, sizeof(h->status), "%s", c->status ? c->status : "");
	return false;
}

struct findings {
	struct pb_ws *ws;
	const struct pb_catalog *cat;
	struct pb_buf *b;
};

static bool on_evidence(void *ctx, const struct pb_evidence *e)
{
	struct findings *f = ctx;
	if (strcmp(e->kind, "finding") || !e->ref)
		return true;
	char *json = NULL;
	struct pb_error err = { 0 };
	enum pb_status st = pb_evidence_verify(f->ws, f->cat, e->ref, &json, &err);
	pb_buf_adds(f->b, "<div class=\"e\"><p class=\"h\">finding ");
	pb__report_html_text(f->b, e->ref);
	pb_buf_printf(f->b, " <a href=\"#entry-%llu\">entry %llu</a>: evidence verify %s</p>\n",
	              (unsigned long long)e->log_index, (unsigned long long)e->log_index,
	              st == PB_OK ? "<b>passed</b>: every cited figure recomputed from its sources"
	                          : "<b>FAILED</b>");
	pb_buf_adds(f->b, "<pre>");
	pb__report_html_text(f->b, json ? json : err.message);
	pb_buf_adds(f->b, "</pre></div>\n");
	free(json);
	return true;
}

/* The customer's profile; with chart (the PDF), also the chart's data. */
static void profile(struct pb_buf *b, struct pb_ws *ws, const char *customer,
                    struct pb__stacked *chart)
{
	struct pb_profile_options po;
	struct pb_profile *p = NULL;
	struct pb_error err = { 0 };
	char *svg = NULL;
	size_t len = 0;
	pb_profile_options_init(&po);
	pb_buf_adds(b, "<h2>Customer profile</h2>\n");
	if (pb_profile_build(ws, customer, &po, &p, &err)) {
		pb_buf_adds(b, "<p>No profile: ");
		pb__report_html_text(b, err.message);
		pb_buf_adds(b, "</p>\n");
		return;
	}
	char from[11] = "", to[11] = "";
	if (p->first_day <= p->last_day) {
		pb_day_format(p->first_day, from);
		pb_day_format(p->last_day, to);
	}
	pb_buf_printf(b, "<p>Usage from %s to %s by category, service and region (the catalog's "
	                 "names), the largest series first.</p>\n<table>\n<tr><th>series</th>"
	                 "<th>quantity</th><th>billed cost</th><th>currency</th></tr>\n", from, to);
	for (size_t i = 0; i < p->nseries && i < 20; i++) {
		const struct pb_profile_series *sr = &p->series[i];
		const char *cells[] = { sr->label, sr->quantity, sr->total_cost, sr->currency };
		html_row(b, cells, 4, 1);
	}
	pb_buf_adds(b, "</table>\n");
	if (!pb_profile_chart_stacked(p, 0, &svg, &len, &err)) {
		const char *at = strstr(svg, "<svg");
		at = at ? at : svg;
		pb_buf_add(b, at, len - (size_t)(at - svg));
		/* the PDF draws the same chart from the same data */
		if (chart && pb__profile_stacked(p, 0, chart, &err))
			pb__profile_stacked_release(chart);
	}
	free(svg);
	pb_profile_free(p);
}

/* The dry run of every plan of the case, computed now from the usage. */
static void dryruns(struct pb_buf *b, struct pb_ws *ws, const struct pb_catalog *cat,
                    json_t *parsed)
{
	size_t i;
	json_t *d;
	json_array_foreach(parsed, i, d) {
		if (strcmp(entry_action(d), "plan.new"))
			continue;
		json_int_t id = json_integer_value(json_object_get(json_object_get(d, "details"), "plan"));
		struct pb_plan *p = NULL;
		struct pb_plan_dryrun *r = NULL;
		struct pb_error err = { 0 };
		pb_buf_printf(b, "<h3>Dry run of plan %lld</h3>\n", (long long)id);
		if (pb_plan_get(ws, id, &p, &err) || pb_plan_dryrun(ws, cat, p, NULL, &r, &err)) {
			pb_buf_adds(b, "<p>No dry run: ");
			pb__report_html_text(b, err.message);
			pb_buf_adds(b, "</p>\n");
			pb_plan_free(p);
			continue;
		}
		pb_buf_printf(b, "<p>What the plan cuts of the customer's usage in %s (recomputed when "
		                 "this report was written): %zu of %zu usage rows.</p>\n<table>\n<tr>"
		                 "<th>currency</th><th>spend</th><th>cut</th><th>kept by a keep</th>"
		                 "<th>share cut</th></tr>\n", r->month, r->ncut, r->nrows);
		for (size_t k = 0; k < r->nspend; k++) {
			const struct pb_plan_spend *sp = &r->spend[k];
			char pct[16];
			pb__snprintf(pct, sizeof(pct), "%.1f %%", sp->cut_share * 100.0);
			if (sp->cut_share > 0.999 && sp->cut_share < 1.0)
				pb__snprintf(pct, sizeof(pct), ">99.9 %%");
			const char *cells[] = { sp->currency, sp->total, sp->cut, sp->kept, pct };
			html_row(b, cells, 5, 1);
		}
		pb_buf_adds(b, "</table>\n<p>Services cut: ");
		for (size_t k = 0, shown = 0; k < r->ncut; k++) {
			const char *sv = r->rows[k].service;
			bool seen = false;
			for (size_t j = 0; j < k && !seen; j++)
				seen = !strcmp(r->rows[j].service, sv);
			if (seen)
				continue;
			pb_buf_adds(b, shown++ ? ", " : "");
			pb__report_html_text(b, sv);
		}
		pb_buf_adds(b, r->ncut ? ".</p>\n" : "none.</p>\n");
		pb_plan_dryrun_free(r);
		pb_plan_free(p);
	}
}

/* With include_hits: every search of the case run again now (each run is
 * logged, as any search is) and its hits listed; the result's SHA-256 says
 * whether the mail still gives what the logged search found. */
static enum pb_status rerun(struct pb_ws *ws, const char *actor, int64_t id, json_t *parsed,
                            struct pb_buf *b, struct pb_error *err)
{
	size_t i;
	json_t *d;
	char ref[32];
	pb__snprintf(ref, sizeof(ref), "%lld", (long long)id);
	json_array_foreach(parsed, i, d) {
		json_t *det = json_object_get(d, "details");
		const char *query = json_string_value(json_object_get(det, "query"));
		const char *was = json_string_value(json_object_get(det, "result_sha256"));
		if (strcmp(entry_action(d), "mail.search") || !query)
			continue;
		struct pb_mail_search_options so = { .actor = actor, .limit = 50 };
		struct pb_mail_result *r = NULL;
		struct pb_error e2 = { 0 };
		pb_buf_printf(b, "<h3>Hits of the search of entry %lld, run again</h3>\n",
		              (long long)json_integer_value(json_object_get(d, "index")));
		enum pb_status st = pb_mail_search(ws, ref, query, &so, &r, &e2);
		if (st == PB_ENOMEM)
			return pb__err(err, st, "%s", e2.message);
		if (st) {
			pb_buf_adds(b, "<p>Not run again: ");
			pb__report_html_text(b, e2.message);
			pb_buf_adds(b, "</p>\n");
			continue;
		}
		pb_buf_printf(b, "<p>%llu hits; the result %s the logged search's.</p>\n<table>\n"
		                 "<tr><th>message</th><th>from</th><th>subject</th><th>excerpt</th></tr>\n",
		              (unsigned long long)r->total,
		              was && !strcmp(was, r->result_sha256) ? "is the same as" : "differs from");
		for (size_t k = 0; k < r->nhits; k++) {
			const struct pb_mail_hit *h = &r->hits[k];
			const char *cells[] = { h->message_id, h->from, h->subject, h->snippet };
			html_row(b, cells, 4, 4);
		}
		pb_buf_adds(b, "</table>\n");
		pb_mail_result_free(r);
	}
	return PB_OK;
}

static const char method_text[] =
	"<h2>Scope and method</h2>\n<p>This report is written from the workspace's audit log: every "
	"statement below cites the log entry it comes from, and the entries are embedded at the end "
	"with a signed checkpoint and an inclusion proof of each. The records used are the "
	"customer's billing usage exports (FOCUS) and the case's own entries. No customer content "
	"was accessed: probity reads usage records, never the data stored in the services. Mail is "
	"searched only through the firewall: searches run inside a case, each is logged with its "
	"query, its count of hits and the SHA-256 of the result, and no message body enters this report.</p>\n";

static enum pb_status write_html(struct pb_ws *ws, const struct pb_catalog *cat, int64_t id,
                                 const struct case_head *h, json_t *list, json_t *parsed,
                                 const char *note, const struct pb_buf *hits,
                                 struct pb__stacked *chart, struct pb_buf *b, struct pb_error *err)
{
	pb_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	                 "<title>Case report %lld</title>\n<style>\nbody{font-family:Georgia,serif;"
	                 "max-width:60em;margin:2em auto;padding:0 1em;color:#111}\ntable{border-"
	                 "collapse:collapse;margin:.5em 0}\nth,td{border:1px solid #bbb;padding:.2em "
	                 ".6em;text-align:left}\ntd.n{text-align:right}\ndt{font-weight:bold;float:"
	                 "left;clear:left;width:12em}\ndd{margin-left:13em}\n.e{border-left:3px solid "
	                 "#3b6ea5;padding-left:.8em;margin:1em 0}\n.h{font-family:sans-serif;font-size:"
	                 ".9em;color:#444}\npre,code{font-size:.8em;white-space:pre-wrap;word-break:"
	                 "break-all}\nsvg{display:block;margin:.5em 0 1.5em;max-width:100%%}\n</style>\n"
	                 "</head>\n<body>\n<h1>Case report %lld</h1>\n",
	              (long long)id, (long long)id);
	pb_buf_adds(b, "<p>Customer: ");
	pb__report_html_text(b, h->customer);
	pb_buf_printf(b, ". Case status: %s.</p>\n", h->status);
	section(b, parsed, list, S_TRIGGER);
	pb_buf_adds(b, method_text);
	profile(b, ws, h->customer, chart);
	pb_buf_adds(b, "<h2>Findings and their evidence</h2>\n");
	size_t before = b->len;
	struct findings f = { ws, cat, b };
	enum pb_status st = pb_case_evidence(ws, id, on_evidence, &f, err);
	if (st)
		return st;
	if (b->len == before)
		pb_buf_adds(b, "<p>None.</p>\n");
	section(b, parsed, list, S_MAIL);
	if (hits->len)
		pb_buf_add(b, hits->data, hits->len);
	section(b, parsed, list, S_NOTES);
	section(b, parsed, list, S_DECISION);
	section(b, parsed, list, S_PLANS);
	dryruns(b, ws, cat, parsed);
	section(b, parsed, list, S_APPROVALS);
	section(b, parsed, list, S_ENFORCE);
	section(b, parsed, list, S_NOTICES);
	section(b, parsed, list, S_APPEALS);

	pb_buf_adds(b, "<h2>Log entries this report relies on</h2>\n<p>Signed checkpoint:</p>\n<pre>");
	pb__report_html_text(b, note);
	pb_buf_adds(b, "</pre>\n<table>\n<tr><th>entry</th><th>action</th><th>leaf hash (SHA-256 of "
	               "0x00 and the entry)</th></tr>\n");
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *data = json_string_value(json_object_get(e, "data"));
		char hex[65];
		leaf_hex(data, json_string_length(json_object_get(e, "data")), hex);
		unsigned long long idx = (unsigned long long)json_integer_value(json_object_get(e, "index"));
		pb_buf_printf(b, "<tr id=\"entry-%llu\" data-entry=\"%llu\" data-leaf=\"%s\"><td>%llu</td>"
		                 "<td>%s</td><td><code>%s</code></td></tr>\n",
		              idx, idx, hex, idx, entry_action(json_array_get(parsed, i)), hex);
	}
	pb_buf_adds(b, "</table>\n<p>Check this report with <code>probity report verify FILE --vkey "
	               "KEY</code>.</p>\n");
	return b->data ? PB_OK : pb__err(err, PB_ENOMEM, "cannot write the case report: out of memory");
}

/* The evidence JSON, with every '<' written as \u003c so that it cannot
 * close the script element; the verifier re-serialises and compares. */
static char *evidence_text(json_t *ev)
{
	char *s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return NULL;
	struct pb_buf b;
	pb_buf_init(&b, REPORT_MAX);
	for (const char *p = s; *p; p++)
		if (*p == '<')
			pb_buf_adds(&b, "\\u003c");
		else
			pb_buf_addc(&b, *p);
	free(s);
	return b.data ? b.data : pb__strndup("", 0);
}

enum pb_status pb_report_case(struct pb_ws *ws, const struct pb_catalog *cat, const char *actor,
                              int64_t id, const struct pb_case_report_options *o,
                              struct pb_report_file **file_out, uint64_t *index_out,
                              struct pb_error *err)
{
	struct case_head h = { "", "" };
	struct entries x = { json_array(), err, PB_OK };
	json_t *parsed = json_array(), *ev = NULL;
	char *note = NULL, *evtext = NULL;
	struct pb_buf b, hits, pdf;
	struct pb__stacked chart = { 0 };
	enum pb_status st;
	size_t i;
	json_t *e;
	*file_out = NULL;
	pb_buf_init(&b, REPORT_MAX);
	pb_buf_init(&hits, REPORT_MAX);
	pb_buf_init(&pdf, REPORT_MAX);
	if ((st = pb__user_require_role(ws, actor, "analyst,approver,auditor", err)) ||
	    (st = pb_case_get(ws, id, on_case, &h, err)) ||
	    (st = pb_audit_list(ws, id, 0, 0, on_entry, &x, err)) || (st = x.st))
		goto out;
	if (o->include_hits) {
		json_array_foreach(x.list, i, e) {
			json_t *d = json_loads(json_string_value(json_object_get(e, "data")), 0, NULL);
			json_array_append_new(parsed, d ? d : json_object());
		}
		/* the searches run again are entries of the case too */
		if ((st = rerun(ws, actor, id, parsed, &hits, err)))
			goto out;
		json_array_clear(x.list);
		json_array_clear(parsed);
		if ((st = pb_audit_list(ws, id, 0, 0, on_entry, &x, err)) || (st = x.st))
			goto out;
	}
	if ((st = pb_audit_checkpoint(ws, actor, &note, err)))
		goto out;
	json_array_foreach(x.list, i, e) {
		char *proof = NULL;
		json_t *d = json_loads(json_string_value(json_object_get(e, "data")), 0, NULL);
		json_array_append_new(parsed, d ? d : json_object());
		if ((st = pb_audit_prove_inclusion(
			     ws, (uint64_t)json_integer_value(json_object_get(e, "index")), 0, &proof, err)))
			goto out;
		json_object_set_new(e, "proof", json_string(proof));
		free(proof);
	}
	if ((st = write_html(ws, cat, id, &h, x.list, parsed, note, &hits, o->pdf ? &chart : NULL,
	                     &b, err)))
		goto out;
	if (o->pdf) { /* the page laid out as PDF: its bytes are the body the evidence names */
		char title[64];
		pb__snprintf(title, sizeof(title), "Case report %lld", (long long)id);
		if ((st = pb__report_pdf(b.data, b.len, chart.n ? &chart : NULL, title, pb_now(), &pdf,
		                         err)))
			goto out;
	}
	const struct pb_buf *body_of = o->pdf ? &pdf : &b;
	uint8_t body[32];
	char body_hex[65];
	pb__sha256(body_of->data, body_of->len, body);
	pb_hex(body, 32, body_hex);
	ev = json_pack("{s:i, s:I, s:s, s:s, s:O}", "v", 1, "case", (json_int_t)id, "checkpoint",
	               note, "body_sha256", body_hex, "entries", x.list);
	if (!ev || !(evtext = evidence_text(ev))) {
		st = pb__err(err, PB_ENOMEM, "cannot write the case report: out of memory");
		goto out;
	}
	if (o->pdf) {
		pb_buf_release(&b);
		if ((st = pb__pdf_attach(pdf.data, pdf.len, evtext, strlen(evtext), &b, err)))
			goto out;
	} else
		pb_buf_printf(&b, "%s%s%s\n</body>\n</html>\n", EVIDENCE_OPEN, evtext, EVIDENCE_CLOSE);
	struct pb_report_file *f = calloc(1, sizeof(*f));
	if (!b.data || !f) {
		free(f);
		st = pb__err(err, PB_ENOMEM, "cannot write the case report: out of memory");
		goto out;
	}
	pb__snprintf(f->name, sizeof(f->name), "case-%lld.%s", (long long)id, o->pdf ? "pdf" : "html");
	f->data = b.data;
	f->len = b.len;
	b.data = NULL;
	json_t *d = json_pack("{s:I, s:s, s:I}", "case", (json_int_t)id, "format", o->pdf ? "pdf" : "html",
	                      "entries", (json_int_t)json_array_size(x.list));
	st = d ? pb__report_publish(ws, actor, "report.case", d, f, 1, index_out, err)
	       : pb__err(err, PB_ENOMEM, "cannot record the case report: out of memory");
	json_decref(d);
	if (st)
		pb_report_files_free(f, 1);
	else
		*file_out = f;
out:
	pb_buf_release(&b);
	pb_buf_release(&hits);
	pb_buf_release(&pdf);
	pb__profile_stacked_release(&chart);
	json_decref(x.list);
	json_decref(parsed);
	json_decref(ev);
	free(note);
	free(evtext);
	return st;
}

/* ---- the verifier --------------------------------------------------------------------- */

static enum pb_status bad(struct pb_error *err, const char *what)
{
	return pb__err(err, PB_EVERIFY, "the case report does not verify: %s", what);
}

/* A parser's refusal inside the evidence (a checkpoint, a proof, the PDF
 * attachment) is the report failing to verify, said with the parser's
 * reason; running out of memory stays what it is. */
static enum pb_status bad_part(struct pb_error *err, enum pb_status st, const char *what)
{
	if (st == PB_ENOMEM || st == PB_OK)
		return st;
	char why[sizeof(err->message)];
	pb__strlcpy(why, err->message, sizeof(why));
	return pb__err(err, PB_EVERIFY, "the case report does not verify: %s: %.300s", what, why);
}

/* Checks the evidence js[0..len): in its canonical form, naming the SHA-256
 * of body[0..blen), its checkpoint signed by key, every entry proven in it.
 * page (the HTML before the evidence, blen bytes; NULL for a PDF, whose pages
 * are not read back) must show every entry with its leaf hash once and no
 * other, and for the entries a section shows, the block written again from
 * the entry's bytes. */
static enum pb_status check_evidence(const char *js, size_t len, const char *body, size_t blen,
                                     const char *page, const struct pb_vkey *key,
                                     struct pb_case_report_check *out, struct pb_error *err)
{
	uint8_t h[32];
	json_error_t je;
	json_t *ev = json_loadb(js, len, 0, &je);
	enum pb_status st = PB_OK;
	char *again = ev ? evidence_text(ev) : NULL;
	if (!ev) {
		st = bad(err, "the embedded evidence is not JSON");
		goto out;
	}
	if (!again || strlen(again) != len || memcmp(again, js, len)) {
		st = bad(err, "the embedded evidence is not in its canonical form");
		goto out;
	}
	pb__sha256(body, blen, h);
	char hex[65];
	pb_hex(h, 32, hex);
	const char *bsha = json_string_value(json_object_get(ev, "body_sha256"));
	if (!bsha || strcmp(bsha, hex)) {
		st = bad(err, page ? "the page differs from the one the evidence was written with"
		                   : "the PDF differs from the one the evidence was written with");
		goto out;
	}
	const char *note = json_string_value(json_object_get(ev, "checkpoint"));
	struct pb_checkpoint cp;
	if (!note) {
		st = bad(err, "no checkpoint");
		goto out;
	}
	json_t *v = json_object_get(ev, "v"), *cj = json_object_get(ev, "case");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		st = bad(err, "the evidence is not of version 1");
		goto out;
	}
	if (!json_is_integer(cj) || json_integer_value(cj) <= 0) {
		st = bad(err, "the evidence names no case");
		goto out;
	}
	if ((st = pb_checkpoint_open(note, strlen(note), key, 1, NULL, &cp, err))) {
		st = bad_part(err, st, "its checkpoint");
		goto out;
	}
	out->case_id = (int64_t)json_integer_value(cj);
	out->checkpoint_size = cp.size;
	json_t *list = json_object_get(ev, "entries"), *e;
	size_t i;
	json_array_foreach(list, i, e) {
		json_t *dj = json_object_get(e, "data");
		const char *data = json_string_value(dj), *proof = json_string_value(
		                                                 json_object_get(e, "proof"));
		json_int_t idx = json_integer_value(json_object_get(e, "index"));
		struct pb_tlog_proof_doc doc;
		uint8_t leaf[32];
		char want[160], lhex[65];
		if (!data || !proof || idx < 0) {
			st = bad(err, "an entry without its bytes, index or proof");
			goto out;
		}
		if ((st = pb_tlog_proof_doc_parse(proof, strlen(proof), &doc, err))) {
			pb__snprintf(want, sizeof(want), "the proof of entry %lld", (long long)idx);
			st = bad_part(err, st, want);
			goto out;
		}
		if (doc.consistency || doc.index != (uint64_t)idx || doc.note.len != strlen(note) ||
		    memcmp(doc.note.ptr, note, doc.note.len)) {
			pb__snprintf(want, sizeof(want), "the proof of entry %lld is not against the checkpoint",
			             (long long)idx);
			st = bad(err, want);
			goto out;
		}
		pb_tlog_leaf_hash(data, json_string_length(dj), leaf);
		if ((st = pb_tlog_verify_inclusion((uint64_t)idx, cp.size, leaf,
		                                   (const uint8_t(*)[32])doc.proof, doc.nproof, cp.root,
		                                   err))) {
			pb__snprintf(want, sizeof(want), "entry %lld is not in the log", (long long)idx);
			st = bad(err, want);
			goto out;
		}
		/* every entry is of the case the evidence names */
		json_t *d0 = json_loadb(data, json_string_length(dj), 0, NULL);
		json_t *ec = json_object_get(d0, "case");
		bool ours = json_is_integer(ec) && json_integer_value(ec) == out->case_id;
		json_decref(d0);
		if (!ours) {
			pb__snprintf(want, sizeof(want), "entry %lld is not of case %lld", (long long)idx,
			             (long long)out->case_id);
			st = bad(err, want);
			goto out;
		}
		out->entries++;
		if (!page)
			continue;
		/* the page shows the entry with this hash, once */
		pb_hex(leaf, 32, lhex);
		pb__snprintf(want, sizeof(want), "data-entry=\"%lld\" data-leaf=\"%s\"", (long long)idx,
		             lhex);
		const char *at = memmem(page, blen, want, strlen(want));
		if (!at || memmem(at + 1, (size_t)(page + blen - at - 1), want, strlen(want))) {
			pb__snprintf(want, sizeof(want), "the page does not show entry %lld with its hash",
			             (long long)idx);
			st = bad(err, want);
			goto out;
		}
		/* what the page says of the entry is what its bytes say */
		json_t *d = json_loadb(data, json_string_length(dj), 0, NULL);
		bool in = false;
		for (int k = 0; d && k < S_COUNT && !in; k++)
			in = matches(entry_action(d), sections[k][1]);
		if (in) {
			struct pb_buf blk;
			pb_buf_init(&blk, REPORT_MAX);
			entry_block(&blk, d, (uint64_t)idx);
			in = blk.data && memmem(page, blen, blk.data, blk.len);
			pb_buf_release(&blk);
			if (!in) {
				json_decref(d);
				pb__snprintf(want, sizeof(want),
				             "what the page shows of entry %lld is not what the entry holds",
				             (long long)idx);
				st = bad(err, want);
				goto out;
			}
		}
		json_decref(d);
	}
	/* and no entry the page shows is missing from the evidence */
	size_t shown = 0;
	for (const char *p = page; p && (p = memmem(p, (size_t)(page + blen - p), "data-entry=\"", 12));
	     p++)
		shown++;
	if (page && shown != out->entries)
		st = bad(err, "the page shows entries the evidence does not hold");
out:
	json_decref(ev);
	free(again);
	return st;
}

/* A PDF: the attachment is the one pb__pdf_attach writes for the PDF before
 * it and the evidence it holds (so no byte after the body can change), then
 * the evidence as for a page. */
static enum pb_status verify_pdf(const char *pdf, size_t n, const struct pb_vkey *key,
                                 struct pb_case_report_check *out, struct pb_error *err)
{
	size_t blen, evlen;
	const char *ev;
	struct pb_buf again;
	struct pb_error e2 = { 0 };
	enum pb_status st = pb__pdf_attached(pdf, n, &blen, &ev, &evlen, err);
	if (st)
		return bad_part(err, st, "its attachment");
	if ((st = pb__pdf_attach(pdf, blen, ev, evlen, &again, &e2)))
		return st == PB_ENOMEM ? pb__err(err, st, "%s", e2.message)
		                       : bad(err, "the PDF before the attachment is not one probity writes");
	bool same = again.len == n && !memcmp(again.data, pdf, n);
	pb_buf_release(&again);
	if (!same)
		return bad(err, "the attachment is not the one probity writes for this PDF");
	return check_evidence(ev, evlen, pdf, blen, NULL, key, out, err);
}

enum pb_status pb_report_case_verify(const char *html, size_t n, const struct pb_vkey *key,
                                     struct pb_case_report_check *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	uint8_t h[32];
	pb__sha256(html, n, h);
	pb_hex(h, 32, out->sha256);
	if (n >= 5 && !memcmp(html, "%PDF-", 5))
		return verify_pdf(html, n, key, out, err);
	const char *open = memmem(html, n, EVIDENCE_OPEN, strlen(EVIDENCE_OPEN));
	if (!open)
		return bad(err, "no embedded evidence ('probity-evidence' script)");
	const char *js = open + strlen(EVIDENCE_OPEN);
	const char *close = memmem(js, n - (size_t)(js - html), EVIDENCE_CLOSE, strlen(EVIDENCE_CLOSE));
	if (!close)
		return bad(err, "the embedded evidence is not closed");
	static const char tail[] = "\n</body>\n</html>\n";
	if ((size_t)(html + n - close) != strlen(EVIDENCE_CLOSE) + strlen(tail) ||
	    memcmp(close + strlen(EVIDENCE_CLOSE), tail, strlen(tail)))
		return bad(err, "text after the embedded evidence");
	return check_evidence(js, (size_t)(close - js), html, (size_t)(open - html), html, key, out,
	                      err);
}

struct logged {
	char want[80];
	uint64_t index;
	bool found;
};

static bool on_report(void *ctx, const struct pb_audit_entry *e)
{
	struct logged *l = ctx;
	if (strcmp(e->action, "report.case") ||
	    !memmem(e->data.ptr, e->data.len, l->want, strlen(l->want)))
		return true;
	l->index = e->index;
	l->found = true;
	return false;
}

enum pb_status pb_report_case_logged(struct pb_ws *ws, const char *sha256, uint64_t *index_out,
                                     struct pb_error *err)
{
	struct logged l = { "", 0, false };
	pb__snprintf(l.want, sizeof(l.want), "\"sha256\":\"%s\"", sha256);
	enum pb_status st = pb_audit_list(ws, 0, 0, 0, on_report, &l, err);
	if (st)
		return st;
	if (!l.found)
		return pb__err(err, PB_EVERIFY,
		               "no report.case entry of the log holds the report's SHA-256 '%s'", sha256);
	*index_out = l.index;
	return PB_OK;
}
