/* routes.c - probity web's pages: sign-in and enrolment, then the pages of
 * a signed-in user by role (docs/web.md has the table).
 *
 * Every request: its session from the pb_session cookie; a POST must come
 * from our own origin (Origin, else Sec-Fetch-Site, when the browser sends
 * them) and carry the session's CSRF token (before sign-in: the token of the
 * pb_pre cookie, double-submitted). The library checks roles on every write;
 * a page or action the role may not have answers 403 and is a log entry.
 */
#include "web.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#define COOKIE "pb_session"
#define PRE_COOKIE "pb_pre"
#define ROLE_WRITE_CASE "analyst,approver"

/* ---- sign-in, enrolment, sign-out ----------------------------------------------- */

void web_pre_token(struct web_ctx *c, char out[PB_SECRET_HEX])
{
	if (pb_http_cookie_get(pb_http_req_header(&c->rq, "cookie"), PRE_COOKIE, out,
	                       PB_SECRET_HEX) == 1 &&
	    strlen(out) == 64)
		return;
	uint8_t b[32];
	pb_random(b, sizeof(b));
	pb_hex(b, sizeof(b), out);
	web_header(c, "Set-Cookie: " PRE_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", out,
	           c->tls ? "; Secure" : "");
}

bool web_pre_ok(struct web_ctx *c)
{
	char have[PB_SECRET_HEX], sent[PB_SECRET_HEX];
	if (pb_http_cookie_get(pb_http_req_header(&c->rq, "cookie"), PRE_COOKIE, have,
	                       sizeof(have)) != 1 ||
	    strlen(have) != 64 || !web_form(c, "csrf", sent, sizeof(sent)) || strlen(sent) != 64)
		return false;
	return sodium_memcmp(have, sent, 64) == 0;
}

static void signin_form(struct web_ctx *c, int status, const char *msg)
{
	char tok[PB_SECRET_HEX];
	web_pre_token(c, tok);
	c->status = status;
	web_page_begin(c, "Sign in");
	if (msg) {
		web_puts(c, "<p class=\"err\" role=\"alert\">");
		web_escs(c, msg);
		web_puts(c, "</p>");
	}
	web_printf(c,
	           "<form class=\"box\" method=\"post\" action=\"/signin\">"
	           "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	           "<label for=\"name\">User name</label>"
	           "<input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"username\" required>"
	           "<label for=\"password\">Password</label>"
	           "<input type=\"password\" id=\"password\" name=\"password\" "
	           "autocomplete=\"current-password\" required>"
	           "<button class=\"go\" type=\"submit\">Sign in</button></form>",
	           tok);
	web_passkey_signin_offer(c, tok);
	web_page_end(c);
}

void web_session_cookie(struct web_ctx *c, const char *id)
{
	const char *secure = c->tls ? "; Secure" : "";
	if (id)
		web_header(c, "Set-Cookie: " COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", id, secure);
	else
		web_header(c, "Set-Cookie: " COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
		           secure);
}

void web_signin_throttle(unsigned fails)
{
	/* slow the next guess: 250 ms a recent failure, at most 3 s */
	unsigned ms = fails * 250 > 3000 ? 3000 : fails * 250;
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void post_signin(struct web_ctx *c)
{
	if (!web_pre_ok(c)) {
		web_page_message(c, 403, "Forbidden", "the form's token does not match: reload the page");
		return;
	}
	char name[PB_USER_NAME_MAX * 4 + 1], *pw = malloc(PB_PASSWORD_MAX + 1);
	if (!pw) {
		web_page_message(c, 500, "Not done", "out of memory");
		return;
	}
	bool ok = web_form(c, "name", name, sizeof(name)) & web_form(c, "password", pw, PB_PASSWORD_MAX + 1);
	struct pb_session s;
	struct pb_error err = { 0 };
	unsigned fails = 0;
	enum pb_status st = ok ? pb_session_signin(c->ws, name, pw, c->addr, &s, &fails, &err)
	                       : PB_EPERM;
	sodium_memzero(pw, PB_PASSWORD_MAX + 1);
	free(pw);
	if (st) {
		web_signin_throttle(fails);
		if (!ok)
			snprintf(err.message, sizeof(err.message), "wrong user name or password");
		signin_form(c, fails >= PB_SIGNIN_FAILS_MAX ? 429 : 403, err.message);
		return;
	}
	web_session_cookie(c, s.id);
	sodium_memzero(&s, sizeof(s));
	web_redirect(c, "/");
}

static void get_enrol(struct web_ctx *c, const char *msg)
{
	char token[PB_SECRET_HEX * 2], tok[PB_SECRET_HEX];
	if (!web_query(c, "token", token, sizeof(token)) || !token[0])
		web_form(c, "token", token, sizeof(token));
	web_pre_token(c, tok);
	if (msg)
		c->status = 400;
	web_page_begin(c, "Set your password");
	if (msg) {
		web_puts(c, "<p class=\"err\" role=\"alert\">");
		web_escs(c, msg);
		web_puts(c, "</p>");
	}
	web_printf(c,
	           "<form class=\"box\" method=\"post\" action=\"/enrol\">"
	           "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	           "<input type=\"hidden\" name=\"token\" value=\"",
	           tok);
	web_escs(c, token);
	web_printf(c, "\"><label for=\"password\">New password (at least %d characters)</label>"
	              "<input type=\"password\" id=\"password\" name=\"password\" "
	              "autocomplete=\"new-password\" required>"
	              "<label for=\"again\">The same again</label>"
	              "<input type=\"password\" id=\"again\" name=\"again\" "
	              "autocomplete=\"new-password\" required>"
	              "<button class=\"go\" type=\"submit\">Set password</button></form>",
	           PB_PASSWORD_MIN);
	web_page_end(c);
}

static void post_enrol(struct web_ctx *c)
{
	if (!web_pre_ok(c)) {
		web_page_message(c, 403, "Forbidden", "the form's token does not match: reload the page");
		return;
	}
	char token[PB_SECRET_HEX * 2], name[PB_USER_NAME_MAX + 1];
	char *pw = malloc(PB_PASSWORD_MAX + 1), *again = malloc(PB_PASSWORD_MAX + 1);
	struct pb_error err = { 0 };
	enum pb_status st = PB_EINVAL;
	if (!pw || !again)
		snprintf(err.message, sizeof(err.message), "out of memory");
	else if (!web_form(c, "token", token, sizeof(token)) || !web_form(c, "password", pw, PB_PASSWORD_MAX + 1) ||
	         !web_form(c, "again", again, PB_PASSWORD_MAX + 1))
		snprintf(err.message, sizeof(err.message), "the password is too long");
	else if (strcmp(pw, again))
		snprintf(err.message, sizeof(err.message), "the two passwords differ");
	else
		st = pb_user_enrol(c->ws, token, pw, name, NULL, &err);
	if (pw)
		sodium_memzero(pw, PB_PASSWORD_MAX + 1);
	if (again)
		sodium_memzero(again, PB_PASSWORD_MAX + 1);
	free(pw);
	free(again);
	if (st) {
		pb_buf_reset(&c->out);
		if (st == PB_EPERM)
			web_page_message(c, 403, "Set your password", err.message);
		else
			get_enrol(c, err.message);
		return;
	}
	pb_buf_reset(&c->out);
	web_page_begin(c, "Password set");
	web_puts(c, "<p class=\"ok\">Your password is set: sign in with it.</p>"
	            "<p><a href=\"/signin\">Sign in</a></p>");
	web_passkey_enrol_offer(c, name, token);
	web_page_end(c);
}

static void post_signout(struct web_ctx *c)
{
	char all[8];
	web_form(c, "everywhere", all, sizeof(all));
	struct pb_error err = { 0 };
	enum pb_status st = pb_session_signout(c->ws, c->cookie_id, all[0] != '\0', &err);
	if (st && st != PB_ENOENT) {
		web_lib_error(c, st, &err);
		return;
	}
	web_session_cookie(c, NULL);
	web_redirect(c, "/signin");
}

/* ---- home ------------------------------------------------------------------------ */

static void case_row(struct web_ctx *c, const struct pb_case *k)
{
	web_printf(c, "<tr><td><a href=\"/cases/%lld\">%lld</a></td>", (long long)k->id,
	           (long long)k->id);
	web_cells(c, 5, (const char *const[]){ k->customer, k->title, k->status, k->opened_at,
	                                       k->opened_by });
	web_puts(c, "</tr>");
}

static const char case_head[] =
	"<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Case</th><th scope=\"col\">Customer</th>"
	"<th scope=\"col\">Title</th><th scope=\"col\">Status</th><th scope=\"col\">Opened</th>"
	"<th scope=\"col\">By</th></tr></thead><tbody>";

static bool my_case(void *ctx, const struct pb_case *k)
{
	struct web_ctx *c = ctx;
	if (k->opened_by && !strcmp(k->opened_by, c->s.user))
		case_row(c, k);
	return true;
}

static bool waiting_plan(void *ctx, const struct pb_plan *p)
{
	struct web_ctx *c = ctx;
	if (strcmp(p->status, "draft") || p->approvals >= p->approvals_needed)
		return true;
	for (size_t i = 0; i < p->nevents; i++)
		if (p->events[i].current && !strcmp(p->events[i].actor, c->s.user) &&
		    (!strcmp(p->events[i].kind, "approve") || !strcmp(p->events[i].kind, "refuse")))
			return true;
	web_printf(c, "<tr><td>%lld</td><td><a href=\"/cases/%lld\">%lld</a></td>",
	           (long long)p->id, (long long)p->case_id, (long long)p->case_id);
	web_cells(c, 2, (const char *const[]){ p->customer, p->state });
	web_puts(c, "</tr>");
	return true;
}

static void page_home(struct web_ctx *c)
{
	struct pb_error err = { 0 };
	web_page_begin(c, "Home");
	web_puts(c, "<h2>My open cases</h2>");
	web_puts(c, case_head);
	pb_case_list(c->ws, "open", my_case, c, &err);
	web_puts(c, "</tbody></table></div>");
	if (web_role_in(c, "approver")) {
		web_puts(c, "<h2>Plans waiting for my approval</h2><div class=\"scroll\" tabindex=\"0\"><table><thead><tr>"
		            "<th scope=\"col\">Plan</th><th scope=\"col\">Case</th><th scope=\"col\">Customer</th>"
		            "<th scope=\"col\">State</th></tr></thead><tbody>");
		pb_plan_list(c->ws, 0, waiting_plan, c, &err);
		web_puts(c, "</tbody></table></div>");
	}
	struct pb_audit_status as;
	web_puts(c, "<h2>The log</h2>");
	if (pb_audit_status(c->ws, &as, &err) == PB_OK) {
		char root[65];
		pb_hex(as.root, 32, root);
		web_printf(c, "<p>%llu entries; latest signed checkpoint covers %llu "
		              "(<a href=\"/log\">log status</a>).</p><p>Root <code>%s</code></p>",
		           (unsigned long long)as.size, (unsigned long long)as.checkpoint_size, root);
	}
	web_puts(c, "<h2>Sessions</h2><form method=\"post\" action=\"/signout\">");
	web_csrf_field(c);
	web_puts(c, "<input type=\"hidden\" name=\"everywhere\" value=\"1\">"
	            "<button class=\"go\" type=\"submit\">Sign out everywhere</button></form>");
	web_page_end(c);
}

/* ---- cases ------------------------------------------------------------------------ */

static bool any_case(void *ctx, const struct pb_case *k)
{
	case_row(ctx, k);
	return true;
}

static void page_cases(struct web_ctx *c)
{
	char status[16];
	if (!web_query(c, "status", status, sizeof(status)) ||
	    (status[0] && strcmp(status, "open") && strcmp(status, "closed"))) {
		web_page_message(c, 400, "Cases", "status is open, closed or empty");
		return;
	}
	web_page_begin(c, "Cases");
	web_printf(c, "<p>Show: <a href=\"/cases\">all</a> · <a href=\"/cases?status=open\">open</a> · "
	              "<a href=\"/cases?status=closed\">closed</a></p>");
	web_puts(c, case_head);
	struct pb_error err = { 0 };
	enum pb_status st = pb_case_list(c->ws, status[0] ? status : NULL, any_case, c, &err);
	web_puts(c, "</tbody></table></div>");
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	if (web_role_in(c, "analyst")) {
		struct pb_customer_info *cu = NULL;
		size_t n = 0;
		pb_customer_list(c->ws, &cu, &n, NULL);
		web_puts(c, "<h2>Open a case</h2><form class=\"box\" method=\"post\" action=\"/cases\" data-sign>");
		web_csrf_field(c);
		web_puts(c, "<label for=\"customer\">Customer</label><select id=\"customer\" name=\"customer\">");
		for (size_t i = 0; i < n; i++) {
			web_puts(c, "<option value=\"");
			web_escs(c, cu[i].name);
			web_puts(c, "\">");
			web_escs(c, cu[i].name);
			web_puts(c, "</option>");
		}
		free(cu);
		web_puts(c, "</select><label for=\"title\">Title</label>"
		            "<input type=\"text\" id=\"title\" name=\"title\" required>"
		            "<label for=\"trigger\">What prompted the review</label>"
		            "<input type=\"text\" id=\"trigger\" name=\"trigger\" required>"
		            "<button class=\"go\" type=\"submit\">Open the case</button></form>");
	}
	web_page_end(c);
}

/* The answer to a change of case id: back to its page, or the error. */
static void case_written(struct web_ctx *c, enum pb_status st, const struct pb_error *err,
                         int64_t id)
{
	if (st) {
		web_lib_error(c, st, err);
		return;
	}
	char to[40];
	snprintf(to, sizeof(to), "/cases/%lld", (long long)id);
	web_redirect(c, to);
}

static void post_case_open(struct web_ctx *c)
{
	char customer[512], title[PB_HTTP_BODY_MAX / 4], trigger[PB_HTTP_BODY_MAX / 4];
	if (!web_form(c, "customer", customer, sizeof(customer)) || !web_form(c, "title", title, sizeof(title)) ||
	    !web_form(c, "trigger", trigger, sizeof(trigger))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	struct pb_case_open_options o = { .customer = customer, .title = title, .trigger = trigger };
	struct pb_error err = { 0 };
	int64_t id = 0;
	enum pb_status st = pb_case_open(c->ws, c->s.user, &o, &id, NULL, &err);
	case_written(c, st, &err, id);
}

static bool case_head_fn(void *ctx, const struct pb_case *k)
{
	struct web_ctx *c = ctx;
	char opened[300];
	snprintf(opened, sizeof(opened), "%s by %s", k->opened_at, k->opened_by);
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><tbody>");
	web_row_th(c, "Customer", k->customer);
	web_row_th(c, "Title", k->title);
	web_row_th(c, "Prompted by", k->trigger);
	web_puts(c, "<tr><th scope=\"row\">Status</th><td id=\"case-status\">");
	web_escs(c, k->status);
	web_puts(c, "</td></tr>");
	web_row_th(c, "Opened", opened);
	if (k->decision)
		web_row_th(c, "Decision", k->decision);
	if (k->closed_at)
		web_row_th(c, "Closed", k->closed_at);
	web_puts(c, "</tbody></table></div>");
	return true;
}

static void entry_row(struct web_ctx *c, const struct pb_audit_entry *e)
{
	uint8_t h[32];
	char hex[65];
	pb_tlog_leaf_hash(e->data.ptr, e->data.len, h);
	pb_hex(h, 32, hex);
	web_printf(c, "<tr><td class=\"num\"><a href=\"/log/%llu\">%llu</a></td>",
	           (unsigned long long)e->index, (unsigned long long)e->index);
	web_cells(c, 3, (const char *const[]){ e->time, e->actor, e->action });
	web_printf(c, "<td><code>%s</code></td><td><code>", hex);
	web_esc(c, e->data.ptr, e->data.len > 2000 ? 2000 : e->data.len);
	web_puts(c, e->data.len > 2000 ? "…</code></td></tr>" : "</code></td></tr>");
}

static bool entry_fn(void *ctx, const struct pb_audit_entry *e)
{
	entry_row(ctx, e);
	return true;
}

static const char entry_head[] =
	"<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Entry</th><th scope=\"col\">Time</th>"
	"<th scope=\"col\">Actor</th><th scope=\"col\">Action</th><th scope=\"col\">Hash</th>"
	"<th scope=\"col\">Entry</th></tr></thead><tbody>";

static bool case_open_fn(void *ctx, const struct pb_case *k)
{
	*(bool *)ctx = !strcmp(k->status, "open");
	return true;
}

/* A form of case id that posts a mail query q (escaped) to /cases/id/what:
 * heading, then intro and the label of the field html_id (markup, ours),
 * then the button. */
static void query_form(struct web_ctx *c, int64_t id, const char *what, const char *heading,
                       const char *intro, const char *html_id, const char *q, const char *button)
{
	web_printf(c, "<h2>%s</h2><form class=\"box\" method=\"post\" action=\"/cases/%lld/%s\" data-sign>",
	           heading, (long long)id, what);
	web_csrf_field(c);
	web_printf(c, "%s<input type=\"text\" id=\"%s\" name=\"q\" required value=\"", intro,
	           html_id);
	web_escs(c, q);
	web_printf(c, "\"><button class=\"go\" type=\"submit\">%s</button></form>", button);
}

/* The mail search form of case id, with query q. */
static void search_form(struct web_ctx *c, int64_t id, const char *q)
{
	query_form(c, id, "search", "Search mail",
	           "<label for=\"q\">Query (as <code>probity search</code>: words, \"phrases\", "
	           "from:, to:, subject:, NEAR/n, AND, OR, NOT)</label>",
	           "q", q, "Search");
}

/* The form that exports the hits of a query q ("" for none) of case id as
 * a download. */
static void export_form(struct web_ctx *c, int64_t id, const char *q)
{
	query_form(c, id, "export", "Export mail",
	           "<p>Downloads every hit of the query as a tar archive: the messages as they "
	           "were ingested, their text, manifest.csv and export.dat with the SHA-256 of "
	           "each file, and SHA256SUMS. The export is recorded in the case's log.</p>"
	           "<label for=\"xq\">Query</label>",
	           "xq", q, "Download the export (tar)");
}

/* A snippet whose hits lie between \x01 and \x02: escaped, hits marked. */
static void snippet(struct web_ctx *c, const char *s)
{
	bool in = false;
	while (s && *s) {
		size_t n = strcspn(s, "\x01\x02");
		web_esc(c, s, n);
		s += n;
		if (*s == '\x01' && !in)
			web_puts(c, "<mark>");
		else if (*s == '\x02' && in)
			web_puts(c, "</mark>");
		if (*s) {
			in = *s == '\x01';
			s++;
		}
	}
	if (in)
		web_puts(c, "</mark>");
}

static void post_search(struct web_ctx *c, int64_t id, bool tag)
{
	char q[4096], t[80], ref[32];
	if (!web_form(c, "q", q, sizeof(q)) || !web_form(c, "tag", t, sizeof(t))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	struct pb_error err = { 0 };
	enum pb_status st;
	if (tag) {
		uint64_t n = 0;
		if ((st = pb_mail_tag_query(c->ws, ref, q, t, false, c->s.user, &n, &err))) {
			web_lib_error(c, st, &err);
			return;
		}
		char msg[200];
		snprintf(msg, sizeof(msg), "%llu messages newly tagged.", (unsigned long long)n);
		web_page_message(c, 200, "Tagged", msg);
		web_printf(c, "<p><a href=\"/cases/%lld\">Back to the case</a></p>", (long long)id);
		return;
	}
	struct pb_mail_search_options o = { .actor = c->s.user, .limit = 200, .hl_open = "\x01",
		                            .hl_close = "\x02" };
	struct pb_mail_result *r = NULL;
	if ((st = pb_mail_search(c->ws, ref, q, &o, &r, &err))) {
		web_lib_error(c, st, &err);
		return;
	}
	char title[48];
	snprintf(title, sizeof(title), "Mail of case %lld", (long long)id);
	web_page_begin(c, title);
	web_printf(c, "<p id=\"hits\">%llu hits in %llu threads (the first %zu shown); result hash "
	              "<code>%s</code>; this search is in the case's log.</p>",
	           (unsigned long long)r->total, (unsigned long long)r->threads, r->nhits,
	           r->result_sha256);
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Message</th>"
	            "<th scope=\"col\">Date</th><th scope=\"col\">From</th><th scope=\"col\">Subject</th>"
	            "<th scope=\"col\">Tags</th><th scope=\"col\">Excerpt</th></tr></thead><tbody>");
	for (size_t i = 0; i < r->nhits; i++) {
		const struct pb_mail_hit *h = &r->hits[i];
		char date[24] = "";
		if (h->has_date)
			pb_time_format(h->date, date);
		web_printf(c, "<tr><td class=\"num\"><a href=\"/cases/%lld/messages/%lld\">%lld</a></td>",
		           (long long)id, (long long)h->id, (long long)h->id);
		web_cells(c, 4, (const char *const[]){ date, h->from, h->subject, h->tags });
		web_puts(c, "<td>");
		snippet(c, h->snippet);
		web_puts(c, "</td></tr>");
	}
	web_puts(c, "</tbody></table></div>");
	pb_mail_result_free(r);
	web_printf(c, "<h2>Tag every hit</h2><form class=\"box\" method=\"post\" "
	              "action=\"/cases/%lld/tag\" data-sign>", (long long)id);
	web_csrf_field(c);
	web_puts(c, "<input type=\"hidden\" name=\"q\" value=\"");
	web_escs(c, q);
	web_puts(c, "\"><label for=\"tag\">Tag</label><input type=\"text\" id=\"tag\" name=\"tag\" "
	            "required><button class=\"go\" type=\"submit\">Tag</button></form>");
	search_form(c, id, q);
	if (web_role_in(c, "analyst"))
		export_form(c, id, q);
	web_printf(c, "<p><a href=\"/cases/%lld\">Back to the case</a></p>", (long long)id);
	web_page_end(c);
}

/* One message of a hit list: its headers, hashes, where it was found and
 * its text. The library records the view in the case's log (mail.view),
 * as `probity mail show` does: who looked at what, when. */
static void page_message(struct web_ctx *c, int64_t id, int64_t msg)
{
	char ref[32], mref[32], *out = NULL;
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	snprintf(mref, sizeof(mref), "%lld", (long long)msg);
	struct pb_error err = { 0 };
	enum pb_status st = pb_mail_show(c->ws, ref, mref, c->s.user, false, &out, &err);
	json_t *m = st ? NULL : json_loads(out, 0, NULL);
	free(out);
	if (st || !m) {
		web_lib_error(c, st ? st : PB_EINVAL, &err);
		return;
	}
	char title[64];
	snprintf(title, sizeof(title), "Message %lld of case %lld", (long long)msg, (long long)id);
	web_page_begin(c, title);
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><tbody>");
	static const char *const rows[][2] = { { "Date", "date" },       { "From", "from" },
		                               { "To", "to" },           { "Cc", "cc" },
		                               { "Subject", "subject" }, { "Message-ID", "message_id" },
		                               { "SHA-256 of the source bytes", "raw_sha256" } };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (json_is_string(json_object_get(m, rows[i][1])))
			web_row_th(c, rows[i][0], json_string_value(json_object_get(m, rows[i][1])));
	json_t *locs = json_object_get(m, "locations");
	for (size_t i = 0; i < json_array_size(locs); i++) {
		json_t *l = json_array_get(locs, i);
		const char *path = json_string_value(json_object_get(l, "path"));
		const char *slash = path ? strrchr(path, '/') : NULL;
		char where[600];
		snprintf(where, sizeof(where), "%s (custodian %s), bytes at %lld, file SHA-256 %s",
		         slash ? slash + 1 : path ? path : "", web_jstr(l, "custodian"),
		         (long long)json_integer_value(json_object_get(l, "offset")), web_jstr(l, "file_sha256"));
		web_row_th(c, "Found in", where);
	}
	web_puts(c, "</tbody></table></div><p>This view is recorded in the case's log.</p><h2>Text</h2><pre>");
	web_escs(c, web_jstr(m, "text"));
	web_printf(c, "</pre><p><a href=\"/cases/%lld\">Back to the case</a></p>", (long long)id);
	json_decref(m);
	web_page_end(c);
}

/* What the case page's evidence callbacks need: the page, the case, and a
 * count of what they showed. */
struct ev_ctx {
	struct web_ctx *c;
	int64_t id;
	size_t *n;
};

/* A note of the case: who, when, its log entry, its text as Markdown. */
static bool note_fn(void *ctx, const struct pb_evidence *e)
{
	struct ev_ctx *nc = ctx;
	struct web_ctx *c = nc->c;
	if (strcmp(e->kind, "note") || !e->summary)
		return true;
	json_t *j = json_loads(e->summary, 0, NULL);
	json_t *t = json_object_get(j, "text");
	if (json_is_string(t)) {
		web_printf(c, "<div class=\"note\"><p class=\"meta\"><a href=\"/log/%llu\">entry %llu</a>, ",
		           (unsigned long long)e->log_index, (unsigned long long)e->log_index);
		web_escs(c, e->added_by);
		web_puts(c, ", ");
		web_escs(c, e->added_at);
		web_puts(c, "</p>");
		web_markdown(c, json_string_value(t), json_string_length(t));
		web_puts(c, "</div>");
		(*nc->n)++;
	}
	json_decref(j);
	return true;
}

/* A document of the case: its name as a download link, size, hash, who
 * attached it and when, its log entry. */
static bool doc_fn(void *ctx, const struct pb_evidence *e)
{
	struct ev_ctx *dc = ctx;
	struct web_ctx *c = dc->c;
	if (strcmp(e->kind, "document") || !e->sha256)
		return true;
	if (!(*dc->n)++)
		web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr>"
		            "<th scope=\"col\">Document</th><th scope=\"col\">Bytes</th>"
		            "<th scope=\"col\">SHA-256</th><th scope=\"col\">Attached</th>"
		            "<th scope=\"col\">Entry</th></tr></thead><tbody>");
	json_t *j = e->summary ? json_loads(e->summary, 0, NULL) : NULL;
	json_int_t bytes = json_integer_value(json_object_get(j, "bytes"));
	json_decref(j);
	web_printf(c, "<tr><td><a href=\"/cases/%lld/documents/", (long long)dc->id);
	web_escs(c, e->sha256);
	web_puts(c, "\" download>");
	web_escs(c, e->ref && *e->ref ? e->ref : "document");
	web_printf(c, "</a></td><td class=\"num\">%lld</td><td><code>", (long long)bytes);
	web_escs(c, e->sha256);
	web_puts(c, "</code></td><td>");
	web_escs(c, e->added_by);
	web_puts(c, ", ");
	web_escs(c, e->added_at);
	web_printf(c, "</td><td><a href=\"/log/%llu\">%llu</a></td></tr>",
	           (unsigned long long)e->log_index, (unsigned long long)e->log_index);
	return true;
}

/* ---- documents: upload (multipart/form-data) and download ---------------- */

/* A file name from a browser, as the name to attach under: its last path
 * component, controls as '_', at most 200 bytes (cut at a character);
 * "document" when nothing is left. */
static void upload_name(struct pb_str f, char out[256])
{
	size_t i = f.len;
	while (i && f.ptr[i - 1] != '/' && f.ptr[i - 1] != '\\')
		i--;
	size_t n = f.len - i > 200 ? 200 : f.len - i;
	while (n && n < f.len - i && ((unsigned char)f.ptr[i + n] & 0xc0) == 0x80)
		n--; /* not inside a UTF-8 sequence */
	for (size_t k = 0; k < n; k++) {
		unsigned char ch = (unsigned char)f.ptr[i + k];
		out[k] = ch < 0x20 || ch == 0x7f ? '_' : (char)ch;
	}
	out[n] = '\0';
	if (!n || !strcmp(out, ".") || !strcmp(out, ".."))
		snprintf(out, 256, "document");
}

/* Writes data to dir/name in a new private folder and attaches it to case
 * id as the user (the library copies it into the workspace's documents). */
static enum pb_status attach_upload(struct web_ctx *c, int64_t id, const char *name,
                                    struct pb_str data, char hex[65], struct pb_error *err)
{
	char dir[512], path[800];
	web_tmp_template(dir, sizeof(dir), "probity-up");
	if (!mkdtemp(dir)) {
		snprintf(err->message, sizeof(err->message), "cannot make a folder for the upload: %s",
		         strerror(errno));
		return err->code = PB_EIO;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	enum pb_status st = PB_OK;
	FILE *f = fopen(path, "wbx");
	bool ok = f && fwrite(data.ptr ? data.ptr : "", 1, data.len, f) == data.len;
	if (f && fclose(f))
		ok = false;
	if (!ok) {
		snprintf(err->message, sizeof(err->message), "cannot write the upload: %s",
		         strerror(errno));
		st = err->code = PB_EIO;
	}
	if (!st)
		st = pb_case_attach(c->ws, c->s.user, id, path, hex, NULL, err);
	unlink(path);
	rmdir(dir);
	return st;
}

static void post_document(struct web_ctx *c, int64_t id)
{
	char boundary[80];
	if (!pb_http_multipart_boundary(pb_http_req_header(&c->rq, "content-type"), boundary,
	                                sizeof(boundary))) {
		web_page_message(c, 400, "Not attached", "send the document as multipart/form-data");
		return;
	}
	struct pb_str body;
	void *map;
	if (!web_body(c, &body, &map)) {
		web_page_message(c, 500, "Not attached", "cannot read the upload");
		return;
	}
	struct pb_http_part p, file = { 0 };
	char csrf[PB_SECRET_HEX] = "";
	size_t pos = 0, nfile = 0;
	int r;
	while ((r = pb_http_multipart_next(body, boundary, &pos, &p)) == 1) {
		if (pb_str_eq_cstr(p.name, "csrf") && p.data.len == 64) {
			memcpy(csrf, p.data.ptr, 64);
			csrf[64] = '\0';
		} else if (pb_str_eq_cstr(p.name, "file")) {
			file = p;
			nfile++;
		}
	}
	bool bad = r < 0;
	if (strlen(csrf) != 64 || sodium_memcmp(csrf, c->s.csrf, 64) != 0) {
		web_forbid(c, "the form's token is missing or wrong: reload the page");
	} else if (bad || nfile != 1 || !file.filename.ptr) {
		web_page_message(c, 400, "Not attached", "the upload is malformed: one file, please");
	} else {
		char name[256], hex[65];
		struct pb_error err = { 0 };
		upload_name(file.filename, name);
		enum pb_status st = attach_upload(c, id, name, file.data, hex, &err);
		if (st) {
			web_lib_error(c, st, &err);
		} else {
			char to[48];
			snprintf(to, sizeof(to), "/cases/%lld", (long long)id);
			web_redirect(c, to);
		}
	}
	web_body_release(c, map);
}

/* A document as a download: never shown by the browser (attachment,
 * application/octet-stream, and nosniff as on every answer). */
static void get_document(struct web_ctx *c, int64_t id, struct pb_str hash)
{
	char hex[65], name[256];
	if (hash.len != 64) {
		web_page_message(c, 404, "Not found", "there is no such document");
		return;
	}
	memcpy(hex, hash.ptr, 64);
	hex[64] = '\0';
	struct pb_error err = { 0 };
	int fd;
	uint64_t size;
	enum pb_status st = pb_case_document_open(c->ws, id, hex, &fd, &size, name, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	c->ctype = "application/octet-stream";
	c->send_fd = fd;
	c->send_len = size;
	/* an ASCII name for old clients, the UTF-8 one percent-encoded (RFC 6266) */
	char ascii[256], enc[256 * 3 + 1];
	size_t n = 0, e = 0;
	for (size_t i = 0; name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];
		ascii[n++] = isalnum(ch) || strchr("._- ", ch) ? (char)ch : '_';
		if (isalnum(ch) || strchr("._-", ch))
			enc[e++] = (char)ch;
		else
			e += (size_t)snprintf(enc + e, 4, "%%%02X", ch);
	}
	ascii[n] = enc[e] = '\0';
	web_header(c, "Content-Disposition: attachment; filename=\"%s\"; filename*=UTF-8''%s",
	           ascii, enc);
}

static void page_case(struct web_ctx *c, int64_t id)
{
	struct pb_error err = { 0 };
	bool open = false;
	enum pb_status st = pb_case_get(c->ws, id, case_open_fn, &open, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	char title[40];
	snprintf(title, sizeof(title), "Case %lld", (long long)id);
	web_page_begin(c, title);
	pb_case_get(c->ws, id, case_head_fn, c, &err);
	web_puts(c, "<h2>Timeline</h2>");
	web_puts(c, entry_head);
	st = pb_audit_list(c->ws, id, 0, 0, entry_fn, c, &err);
	web_puts(c, "</tbody></table></div>");
	web_puts(c, "<h2>Notes</h2>");
	size_t notes = 0;
	struct ev_ctx nc = { c, id, &notes };
	pb_case_evidence(c->ws, id, note_fn, &nc, &err);
	if (!notes)
		web_puts(c, "<p>No notes yet.</p>");
	web_puts(c, "<h2>Documents</h2>");
	size_t docs = 0;
	struct ev_ctx dc = { c, id, &docs };
	pb_case_evidence(c->ws, id, doc_fn, &dc, &err);
	if (docs)
		web_puts(c, "</tbody></table></div>");
	else
		web_puts(c, "<p>No documents yet.</p>");
	web_plans_of_case(c, id);
	if (open && web_role_in(c, "analyst")) {
		web_printf(c, "<form class=\"box\" method=\"post\" enctype=\"multipart/form-data\" "
		              "action=\"/cases/%lld/documents\" data-sign>", (long long)id);
		web_csrf_field(c);
		web_printf(c, "<label for=\"file\">Attach a document (at most %zu MiB)</label>"
		              "<input type=\"file\" id=\"file\" name=\"file\" required>"
		              "<button class=\"go\" type=\"submit\">Attach</button></form>",
		           WEB_UPLOAD_MAX >> 20);
	}
	if (open && web_role_in(c, "analyst,admin"))
		search_form(c, id, "");
	if (open && web_role_in(c, "analyst"))
		export_form(c, id, "");
	if (open && web_role_in(c, "analyst")) {
		web_printf(c, "<h2>Add a finding</h2><form class=\"box\" method=\"post\" "
		              "action=\"/cases/%lld/finding\" data-sign>", (long long)id);
		web_csrf_field(c);
		web_puts(c, "<label for=\"finding\">Finding id (from a stored scan: <code>probity scan "
		            "--store</code>)</label><input type=\"text\" id=\"finding\" name=\"finding\" "
		            "required><button class=\"go\" type=\"submit\">Add the finding</button></form>");
	}
	if (open && web_role_in(c, ROLE_WRITE_CASE)) {
		web_printf(c, "<h2>Add a note</h2><form class=\"box\" method=\"post\" action=\"/cases/%lld/note\" data-sign>",
		           (long long)id);
		web_csrf_field(c);
		web_puts(c, "<label for=\"text\">Note (Markdown: *emphasis*, **strong**, `code`, lists, [links](https://...))</label><textarea id=\"text\" name=\"text\" required></textarea>"
		            "<button class=\"go\" type=\"submit\">Add the note</button></form>");
		web_printf(c, "<h2>Close the case</h2><form class=\"box\" method=\"post\" action=\"/cases/%lld/close\" data-sign>",
		           (long long)id);
		web_csrf_field(c);
		web_puts(c, "<label for=\"decision\">Decision</label>"
		            "<input type=\"text\" id=\"decision\" name=\"decision\" required>"
		            "<button class=\"go\" type=\"submit\">Close with this decision</button></form>");
	}
	web_page_end(c);
}

static void post_case(struct web_ctx *c, int64_t id, const char *what)
{
	char *text = malloc(PB_HTTP_BODY_MAX + 1);
	if (!text) {
		web_page_message(c, 500, "Not done", "out of memory");
		return;
	}
	/* the form field of each change is named as the change */
	const char *fieldname = !strcmp(what, "note") ? "text" : what;
	struct pb_error err = { 0 };
	enum pb_status st;
	if (!web_form(c, fieldname, text, PB_HTTP_BODY_MAX + 1)) {
		snprintf(err.message, sizeof(err.message), "the %s is malformed or given twice", what);
		st = PB_EINVAL;
	} else if (!strcmp(what, "note")) {
		st = pb_case_note(c->ws, c->s.user, id, text, strlen(text), NULL, &err);
	} else if (!strcmp(what, "finding")) {
		st = pb_case_add_finding(c->ws, c->s.user, id, text, NULL, &err);
	} else {
		st = pb_case_close(c->ws, c->s.user, id, text, NULL, &err);
	}
	free(text);
	case_written(c, st, &err, id);
}

/* An exact decimal of the library rounded to cents, and its unit or
 * currency, as a right-aligned cell. */
static void dec_cell(struct web_ctx *c, const char *dec, const char *suffix)
{
	char r[64];
	if (!pb_dec_text_round(dec, 2, r, sizeof(r)))
		snprintf(r, sizeof(r), "%s", dec);
	web_puts(c, "<td class=\"num\">");
	web_escs(c, r);
	if (suffix && *suffix) {
		web_puts(c, " ");
		web_escs(c, suffix);
	}
	web_puts(c, "</td>");
}

/* ---- customers ---------------------------------------------------------------------- */

static void page_customers(struct web_ctx *c)
{
	struct pb_customer_info *cu = NULL;
	size_t n = 0;
	struct pb_error err = { 0 };
	enum pb_status st = pb_customer_list(c->ws, &cu, &n, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	web_page_begin(c, "Customers");
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Customer</th>"
	            "<th scope=\"col\">Accounts</th><th scope=\"col\">Billed cost</th>"
	            "<th scope=\"col\">Usage from</th><th scope=\"col\">to</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		web_puts(c, "<tr><td><a href=\"/customers/");
		web_url_enc(c, cu[i].name);
		web_puts(c, "\">");
		web_escs(c, cu[i].name);
		web_printf(c, "</a></td><td class=\"num\">%zu</td>", cu[i].naccounts + cu[i].nsubaccounts);
		dec_cell(c, cu[i].billed_cost, cu[i].currency);
		web_cells(c, 2, (const char *const[]){ cu[i].first_day, cu[i].last_day });
		web_puts(c, "</tr>");
	}
	free(cu);
	web_puts(c, "</tbody></table></div>");
	web_page_end(c);
}

/* An SVG chart of the library, inline: it holds no script and no style
 * element (lib/profile/chart.c), only presentation attributes. */
static void chart(struct web_ctx *c, const char *svg, size_t len)
{
	const char *start = strstr(svg, "<svg");
	if (!start)
		return;
	web_puts(c, "<div class=\"chart\">");
	pb_buf_add(&c->out, start, len - (size_t)(start - svg));
	web_puts(c, "</div>");
}

/* The body of a profile page, for the cache: the library's customer and
 * profile, the pickers, tables and charts. Nothing of the user, the session
 * or the answer (no nonce, no token) goes in. */
static enum pb_status profile_body(struct web_ctx *c, const char *name, const char *by,
                                   const char *from, const char *to,
                                   const struct pb_profile_options *o, struct pb_error *err)
{
	struct pb_customer_info info;
	struct pb_customer_account *acc = NULL;
	size_t nacc = 0;
	enum pb_status st = pb_customer_show(c->ws, name, &info, &acc, &nacc, err);
	struct pb_profile *p = NULL;
	if (!st)
		st = pb_profile_build(c->ws, name, o, &p, err);
	if (st) {
		free(acc);
		return st;
	}
	web_puts(c, "<form method=\"get\" class=\"box\"><label for=\"by\">Group by</label>"
	            "<select id=\"by\" name=\"by\">");
	static const char *const bys[] = { "category,service,region", "service", "region",
		                           "service,region", "capability,region", "account",
		                           "subaccount,service", "sku" };
	for (size_t i = 0; i < sizeof(bys) / sizeof(bys[0]); i++) {
		web_printf(c, "<option%s>%s</option>", !strcmp(by, bys[i]) ? " selected" : "", bys[i]);
	}
	web_puts(c, "</select><label for=\"from\">From (YYYY-MM or YYYY-MM-DD)</label>"
	            "<input type=\"text\" id=\"from\" name=\"from\" value=\"");
	web_escs(c, from);
	web_puts(c, "\"><label for=\"to\">To</label><input type=\"text\" id=\"to\" name=\"to\" value=\"");
	web_escs(c, to);
	web_puts(c, "\"><button class=\"go\" type=\"submit\">Show</button></form>");
	web_puts(c, "<h2>Accounts</h2><div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Kind</th>"
	            "<th scope=\"col\">Account</th><th scope=\"col\">Name</th><th scope=\"col\">Seen</th>"
	            "</tr></thead><tbody>");
	for (size_t i = 0; i < nacc; i++) {
		web_puts(c, "<tr>");
		web_cells(c, 4, (const char *const[]){ acc[i].kind, acc[i].account_id, acc[i].name,
		                                       acc[i].seen ? "yes" : "no" });
		web_puts(c, "</tr>");
	}
	free(acc);
	web_puts(c, "</tbody></table></div>");

	char *svg = NULL;
	size_t len = 0;
	if (pb_profile_chart_stacked(p, 0, &svg, &len, NULL) == PB_OK) {
		web_puts(c, "<h2>Consumption over time</h2>");
		chart(c, svg, len);
	}
	free(svg);

	web_puts(c, "<h2>Totals</h2><div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Unit</th>"
	            "<th scope=\"col\">Quantity</th><th scope=\"col\">Billed cost</th></tr></thead><tbody>");
	for (size_t i = 0; i < p->ntotals; i++) {
		const struct pb_profile_total *t = &p->totals[i];
		web_puts(c, "<tr>");
		web_cells(c, 1, (const char *const[]){ t->unit ? t->unit : "(all)" });
		dec_cell(c, t->quantity, NULL);
		dec_cell(c, t->cost, t->currency);
		web_puts(c, "</tr>");
	}
	web_puts(c, "</tbody></table></div>");

	web_puts(c, "<h2>Lines</h2><div class=\"scroll\" tabindex=\"0\"><table><thead><tr>");
	for (size_t k = 0; k < p->nby; k++)
		web_printf(c, "<th scope=\"col\">%s</th>", pb_profile_dim_name(p->by[k]));
	web_puts(c, "<th scope=\"col\">Quantity</th><th scope=\"col\">Unit</th>"
	            "<th scope=\"col\">Billed cost</th><th scope=\"col\">Share</th></tr></thead><tbody>");
	for (size_t i = 0; i < p->nlines && i < 200; i++) {
		const struct pb_profile_line *l = &p->lines[i];
		web_puts(c, "<tr>");
		web_cells(c, p->nby, l->dims);
		dec_cell(c, l->quantity, NULL);
		web_cells(c, 1, &l->unit);
		dec_cell(c, l->cost, l->currency);
		web_printf(c, "<td class=\"num\">%.1f %%</td></tr>",
		           l->share_of_spend == l->share_of_spend ? l->share_of_spend * 100 : 0.0);
	}
	web_puts(c, "</tbody></table></div>");

	web_puts(c, "<h2>Changes</h2>");
	if (!p->nchanges)
		web_puts(c, "<p>No sudden change in this period.</p>");
	for (size_t i = 0; i < p->nchanges && i < 5; i++) {
		const struct pb_profile_change *ch = &p->changes[i];
		web_puts(c, "<h3>");
		web_escs(c, p->series[ch->series].label);
		web_puts(c, "</h3><p>From ");
		web_escs(c, ch->start);
		web_printf(c, "%s; %+.1f %% against the expected level; about %.2f a day",
		           ch->ongoing ? ", still going" : "", ch->change.pct, ch->cost_delta);
		const struct pb_profile_driver *d = &ch->drivers[ch->driver];
		if (d->value && d->value[0]) {
			web_puts(c, "; driven by ");
			web_escs(c, d->value);
			web_printf(c, " (%.0f %% of it)", d->share * 100);
		}
		web_puts(c, ".</p>");
		if (pb_profile_chart_series(p, ch->series, &svg, &len, NULL) == PB_OK)
			chart(c, svg, len);
		free(svg);
		svg = NULL;
	}
	pb_profile_free(p);
	return PB_OK;
}

static void page_customer(struct web_ctx *c, const char *name)
{
	char from[16], to[16], by[200];
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	if (!web_query(c, "from", from, sizeof(from)) || !web_query(c, "to", to, sizeof(to)) ||
	    !web_query(c, "by", by, sizeof(by))) {
		web_page_message(c, 400, "Profile", "from, to and by are short values, each given once");
		return;
	}
	enum pb_status st = PB_OK;
	if (from[0])
		st = pb_profile_parse_day(from, false, &o.from_day, &err);
	if (!st && to[0])
		st = pb_profile_parse_day(to, true, &o.to_day, &err);
	if (!st && by[0])
		st = pb_profile_parse_by(by, &o, &err);
	int64_t version = -1;
	if (!st)
		st = web_pcache_version(c->ws, &version, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	/* the key: every input of the body but the data version */
	char key[sizeof(from) + sizeof(to) + sizeof(by) + 512 + 4];
	snprintf(key, sizeof(key), "%s\n%s\n%s\n%s", name, from, to, by);
	web_page_begin(c, name);
	if (web_pcache_get(c, version, key)) {
		web_header(c, "X-Probity-Cache: hit");
		web_page_end(c);
		return;
	}
	size_t start = c->out.len;
	st = profile_body(c, name, by, from, to, &o, &err);
	if (st) {
		web_pcache_done();
		pb_buf_reset(&c->out);
		web_lib_error(c, st, &err);
		return;
	}
	web_pcache_put(version, key, c->out.data + start, c->out.len - start);
	web_header(c, "X-Probity-Cache: miss");
	web_page_end(c);
}

/* ---- scans and findings ------------------------------------------------------ */

/* The shipped policies: the .yaml files of o->policies_dir, sorted. */
static int policy_files(struct web_ctx *c, struct dirent ***out)
{
	*out = NULL;
	if (!c->o->policies_dir)
		return 0;
	int n = scandir(c->o->policies_dir, out, NULL, alphasort);
	int k = 0;
	for (int i = 0; i < n; i++) {
		const char *e = (*out)[i]->d_name;
		size_t l = strlen(e);
		if (e[0] != '.' && l > 5 && !strcmp(e + l - 5, ".yaml"))
			(*out)[k++] = (*out)[i];
		else
			free((*out)[i]);
	}
	return n < 0 ? 0 : k;
}

static void free_dirents(struct dirent **d, int n)
{
	for (int i = 0; i < n; i++)
		free(d[i]);
	free(d);
}

static void scan_form(struct web_ctx *c)
{
	if (!web_role_in(c, "analyst,admin")) {
		web_puts(c, "<p>Analysts and admins run scans; a finding's page shows its evidence "
		            "to every role.</p>");
		return;
	}
	web_puts(c, "<form class=\"box\" method=\"post\" action=\"/scans\" data-sign>");
	web_csrf_field(c);
	web_puts(c, "<label for=\"policy\">Policy</label><select id=\"policy\" name=\"policy\">");
	struct dirent **d;
	int n = policy_files(c, &d);
	for (int i = 0; i < n; i++) {
		web_puts(c, "<option>");
		web_escs(c, d[i]->d_name);
		web_puts(c, "</option>");
	}
	free_dirents(d, n);
	web_puts(c, "</select><label for=\"text\">Or paste a policy (YAML; used instead when "
	            "given)</label><textarea id=\"text\" name=\"text\"></textarea>"
	            "<label for=\"customer\">Customers</label><select id=\"customer\" name=\"customer\">"
	            "<option value=\"\">every customer</option>");
	struct pb_customer_info *cu = NULL;
	size_t nc = 0;
	if (pb_customer_list(c->ws, &cu, &nc, NULL) == PB_OK) {
		for (size_t i = 0; i < nc; i++) {
			web_puts(c, "<option>");
			web_escs(c, cu[i].name);
			web_puts(c, "</option>");
		}
	}
	free(cu);
	web_puts(c, "</select><label><input type=\"checkbox\" name=\"explain\" value=\"1\"> "
	            "Explain, for customers no rule matched, how far each indicator is from "
	            "firing</label><button class=\"go\" type=\"submit\">Run the scan</button></form>");
}

static void page_scans(struct web_ctx *c)
{
	web_page_begin(c, "Scans");
	if (!c->o->cat)
		web_puts(c, "<p class=\"err\">The catalog could not be loaded: scans are not "
		            "available (see <code>PROBITY_DATA</code>).</p>");
	else
		scan_form(c);
	web_page_end(c);
}

/* An indicator as a table row: name, fired, figure, threshold, window, and
 * the explain text when there is one. */
static void indicator_row(struct web_ctx *c, json_t *io)
{
	bool fired = json_is_true(json_object_get(io, "fired"));
	web_puts(c, "<tr><td>");
	web_escs(c, web_jstr(io, "name"));
	web_printf(c, "</td><td>%s</td><td class=\"num\">", fired ? "<strong>fired</strong>" : "no");
	if (json_is_true(json_object_get(io, "infinite")))
		web_puts(c, "infinite (grew from zero)");
	else if (json_is_string(json_object_get(io, "figure"))) {
		char r[64];
		const char *fig = web_jstr(io, "figure");
		web_escs(c, pb_dec_text_round(fig, 2, r, sizeof(r)) ? r : fig);
		web_puts(c, " ");
		web_escs(c, web_jstr(io, "unit"));
	}
	web_puts(c, "</td><td>");
	web_escs(c, web_jstr(io, "threshold"));
	json_t *w = json_object_get(io, "window");
	web_puts(c, "</td><td>");
	if (w) {
		web_escs(c, web_jstr(w, "from"));
		web_puts(c, " to ");
		web_escs(c, web_jstr(w, "to"));
	}
	if (json_is_string(json_object_get(io, "group"))) {
		web_puts(c, ", ");
		web_escs(c, web_jstr(io, "group"));
	}
	web_puts(c, "</td><td>");
	web_escs(c, web_jstr(io, "explain"));
	web_puts(c, "</td></tr>");
}

static const char indicator_head[] =
	"<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Indicator</th>"
	"<th scope=\"col\">Fired</th><th scope=\"col\">Figure</th><th scope=\"col\">Threshold</th>"
	"<th scope=\"col\">Window</th><th scope=\"col\">Explain</th></tr></thead><tbody>";

static void scan_result(struct web_ctx *c, json_t *doc)
{
	web_puts(c, "<h2>");
	web_escs(c, web_jstr(doc, "policy"));
	web_puts(c, ": ");
	web_escs(c, web_jstr(doc, "title"));
	web_puts(c, "</h2><p>");
	web_escs(c, web_jstr(doc, "clause"));
	web_puts(c, "</p><p id=\"scan-summary\">Scan at ");
	web_escs(c, web_jstr(doc, "at"));
	web_printf(c, ": %lld screened, %lld matched, %lld findings",
	           (long long)json_integer_value(json_object_get(doc, "entities")),
	           (long long)json_integer_value(json_object_get(doc, "matched")),
	           (long long)json_integer_value(json_object_get(doc, "findings")));
	if (json_is_integer(json_object_get(doc, "scan_id")))
		web_printf(c, " (stored as scan %lld)",
		           (long long)json_integer_value(json_object_get(doc, "scan_id")));
	web_puts(c, ".</p>");
	json_t *res = json_object_get(doc, "results");
	for (size_t i = 0; i < json_array_size(res); i++) {
		json_t *r = json_array_get(res, i), *fs = json_object_get(r, "findings");
		web_puts(c, "<h3>");
		web_escs(c, web_jstr(r, "kind"));
		web_puts(c, " ");
		web_escs(c, web_jstr(r, "entity"));
		web_puts(c, "</h3>");
		for (size_t j = 0; j < json_array_size(fs); j++) {
			json_t *f = json_array_get(fs, j), *id = json_object_get(f, "id");
			web_puts(c, "<p class=\"finding\">");
			if (json_is_integer(id))
				web_printf(c, "<a href=\"/findings/%lld\">Finding F%lld</a>: ",
				           (long long)json_integer_value(id), (long long)json_integer_value(id));
			web_puts(c, "severity <strong>");
			web_escs(c, web_jstr(f, "severity"));
			web_puts(c, "</strong>, rule ");
			web_escs(c, web_jstr(f, "rule"));
			if (*web_jstr(f, "description")) {
				web_puts(c, ": ");
				web_escs(c, web_jstr(f, "description"));
			}
			web_puts(c, "</p>");
		}
		json_t *rules = json_object_get(r, "rules");
		if (!json_is_true(json_object_get(r, "matched"))) {
			web_puts(c, "<p>No rule matched.</p><ul>");
			for (size_t j = 0; j < json_array_size(rules); j++) {
				json_t *ru = json_array_get(rules, j);
				web_puts(c, "<li>rule ");
				web_escs(c, web_jstr(ru, "name"));
				web_puts(c, " (");
				web_escs(c, web_jstr(ru, "severity"));
				web_puts(c, ")");
				if (*web_jstr(ru, "explain")) {
					web_puts(c, ": ");
					web_escs(c, web_jstr(ru, "explain"));
				}
				web_puts(c, "</li>");
			}
			web_puts(c, "</ul>");
		}
		json_t *inds = json_object_get(r, "indicators");
		web_puts(c, indicator_head);
		for (size_t j = 0; j < json_array_size(inds); j++)
			indicator_row(c, json_array_get(inds, j));
		web_puts(c, "</tbody></table></div>");
	}
}

static void post_scan(struct web_ctx *c)
{
	if (!web_role_in(c, "analyst,admin")) {
		web_forbid(c, "your role may not run scans");
		return;
	}
	char *text = malloc(PB_HTTP_BODY_MAX + 1);
	char policy[256], customer[512], explain[4];
	struct pb_error err = { 0 };
	struct pb_policy *p = NULL;
	char *out = NULL;
	enum pb_status st = PB_OK;
	if (!text) {
		web_page_message(c, 500, "Not scanned", "out of memory");
		return;
	}
	if (!web_form(c, "policy", policy, sizeof(policy)) || !web_form(c, "text", text, PB_HTTP_BODY_MAX + 1) ||
	    !web_form(c, "customer", customer, sizeof(customer)) ||
	    !web_form(c, "explain", explain, sizeof(explain))) {
		web_page_message(c, 400, "Not scanned", "a field is malformed, too long or given twice");
		goto out;
	}
	if (!c->o->cat) {
		web_page_message(c, 503, "Not scanned", "the catalog could not be loaded");
		goto out;
	}
	if (pb_str_trim(pb_str_of(text, strlen(text))).len) {
		st = pb_policy_parse(text, strlen(text), "pasted policy", c->o->cat, &p, &err);
	} else {
		/* only a file the form offers */
		struct dirent **d;
		int n = policy_files(c, &d);
		bool known = false;
		for (int i = 0; i < n; i++)
			known |= !strcmp(d[i]->d_name, policy);
		free_dirents(d, n);
		if (!known) {
			web_page_message(c, 400, "Not scanned", "choose a policy of the list or paste one");
			goto out;
		}
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", c->o->policies_dir, policy);
		st = pb_policy_load(path, c->o->cat, &p, &err);
	}
	struct pb_scan_options o = { .scope = customer[0] ? PB_SCAN_CUSTOMER : PB_SCAN_CUSTOMERS,
		                     .customer = customer[0] ? customer : NULL,
		                     .at_day = INT64_MIN,
		                     .store = true,
		                     .actor = c->s.user,
		                     .explain = explain[0] != '\0',
		                     .matched_only = explain[0] == '\0' };
	if (!st)
		st = pb_policy_scan(c->ws, p, &o, &out, &err);
	json_t *doc = st ? NULL : json_loads(out, 0, NULL);
	if (st || !doc) {
		web_lib_error(c, st ? st : PB_EINVAL, &err);
		goto out;
	}
	web_page_begin(c, "Scans");
	scan_result(c, doc); /* the result first; the form again below it */
	web_puts(c, "<h2>Another scan</h2>");
	scan_form(c);
	json_decref(doc);
	web_page_end(c);
out:
	pb_policy_free(p);
	free(out);
	free(text);
}

/* A citation's line ranges: the first 12, then how many more. */
static void line_ranges(struct web_ctx *c, json_t *lines)
{
	size_t n = json_array_size(lines);
	for (size_t k = 0; k < n && k < 12; k++) {
		web_puts(c, k ? ", " : "");
		web_escs(c, json_string_value(json_array_get(lines, k)));
	}
	if (n > 12)
		web_printf(c, " and %zu more", n - 12);
}

/* A stored finding: what fired, and each indicator's citations (source,
 * SHA-256, line ranges). Viewing it is a log entry (pb_finding_view). */
static void page_finding(struct web_ctx *c, int64_t id, const char *verified)
{
	char ref[32], *out = NULL;
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	struct pb_error err = { 0 };
	uint64_t idx = 0;
	enum pb_status st = pb_finding_view(c->ws, c->s.user, ref, &out, &idx, &err);
	json_t *doc = st ? NULL : json_loads(out, 0, NULL);
	free(out);
	if (st || !doc) {
		web_lib_error(c, st ? st : PB_EINVAL, &err);
		return;
	}
	char title[40];
	snprintf(title, sizeof(title), "Finding F%lld", (long long)id);
	web_page_begin(c, title);
	json_t *r = json_object_get(doc, "result");
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><tbody>");
	web_row_th(c, "Entity", web_jstr(r, "entity"));
	web_row_th(c, "Policy", web_jstr(doc, "policy"));
	web_row_th(c, "Clause", web_jstr(doc, "clause"));
	web_row_th(c, "Rule", web_jstr(doc, "rule"));
	web_row_th(c, "Severity", web_jstr(doc, "severity"));
	web_row_th(c, "Scan at", web_jstr(doc, "at"));
	web_printf(c, "</tbody></table></div><p>This view is <a href=\"/log/%llu\">log entry %llu</a>.</p>",
	           (unsigned long long)idx, (unsigned long long)idx);
	if (verified)
		web_puts(c, verified);
	web_printf(c, "<form class=\"box\" method=\"post\" action=\"/findings/%lld/verify\">",
	           (long long)id);
	web_csrf_field(c);
	web_puts(c, "<p>Re-reads every cited source by its SHA-256 and recomputes each cited "
	            "figure (<code>probity evidence verify</code>).</p>"
	            "<button class=\"go\" type=\"submit\">Verify the evidence</button></form>");
	json_t *inds = json_object_get(r, "indicators");
	web_puts(c, "<h2>Indicators</h2>");
	web_puts(c, indicator_head);
	for (size_t j = 0; j < json_array_size(inds); j++)
		indicator_row(c, json_array_get(inds, j));
	web_puts(c, "</tbody></table></div><h2>Citations</h2><div class=\"scroll\" tabindex=\"0\">"
	            "<table><thead><tr><th scope=\"col\">Indicator</th><th scope=\"col\">Role</th>"
	            "<th scope=\"col\">Source</th><th scope=\"col\">SHA-256</th>"
	            "<th scope=\"col\">Days</th><th scope=\"col\">Lines</th></tr></thead><tbody>");
	for (size_t j = 0; j < json_array_size(inds); j++) {
		json_t *io = json_array_get(inds, j), *cs = json_object_get(io, "citations");
		for (size_t k = 0; k < json_array_size(cs); k++) {
			json_t *ci = json_array_get(cs, k);
			const char *name = web_jstr(ci, "name"), *slash = strrchr(name, '/');
			web_puts(c, "<tr>");
			web_cells(c, 3, (const char *const[]){ web_jstr(io, "name"), web_jstr(ci, "role"),
			                                       slash ? slash + 1 : name });
			web_puts(c, "<td><code>");
			web_escs(c, web_jstr(ci, "sha256"));
			web_puts(c, "</code></td><td>");
			web_escs(c, web_jstr(ci, "from"));
			web_puts(c, " to ");
			web_escs(c, web_jstr(ci, "to"));
			web_puts(c, "</td><td>");
			line_ranges(c, json_object_get(ci, "lines"));
			web_puts(c, "</td></tr>");
		}
	}
	web_puts(c, "</tbody></table></div>");
	json_decref(doc);
	web_page_end(c);
}

/* "Verify evidence": pb_evidence_verify's report, then the finding. */
static void post_verify(struct web_ctx *c, int64_t id)
{
	if (!c->o->cat) {
		web_page_message(c, 503, "Not verified", "the catalog could not be loaded");
		return;
	}
	char ref[32], *out = NULL;
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	struct pb_error err = { 0 };
	enum pb_status st = pb_evidence_verify(c->ws, c->o->cat, ref, &out, &err);
	json_t *rep = out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	if ((st && st != PB_EVERIFY) || !rep) {
		web_lib_error(c, st ? st : PB_EINVAL, &err);
		return;
	}
	struct web_ctx sub = *c; /* the report is built apart, then shown in the page */
	pb_buf_init(&sub.out, (size_t)1 << 20);
	bool ok = !st && json_is_true(json_object_get(rep, "verified"));
	web_printf(&sub, "<div id=\"verified\" class=\"%s\"><p><strong>%s</strong></p>",
	           ok ? "ok" : "err",
	           ok ? "Evidence verified: every cited source is unchanged and every cited figure "
	                "recomputes to the same value."
	              : "Evidence NOT verified: a source is missing or changed, or a figure differs.");
	web_puts(&sub, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Source</th>"
	               "<th scope=\"col\">Status</th><th scope=\"col\">Figures</th></tr></thead><tbody>");
	json_t *srcs = json_object_get(rep, "sources");
	for (size_t i = 0; i < json_array_size(srcs); i++) {
		json_t *so = json_array_get(srcs, i), *cits = json_object_get(so, "citations");
		size_t match = 0;
		for (size_t k = 0; k < json_array_size(cits); k++)
			match += json_is_true(json_object_get(json_array_get(cits, k), "match"));
		web_puts(&sub, "<tr><td><code>");
		web_escs(&sub, web_jstr(so, "sha256"));
		web_puts(&sub, "</code></td><td>");
		web_escs(&sub, web_jstr(so, "status"));
		web_printf(&sub, "</td><td>%zu of %zu match</td></tr>", match, json_array_size(cits));
	}
	web_puts(&sub, "</tbody></table></div></div>");
	json_decref(rep);
	if (sub.out.data) {
		char *html = strdup(sub.out.data);
		pb_buf_release(&sub.out);
		page_finding(c, id, html);
		free(html);
	} else {
		pb_buf_release(&sub.out);
		page_finding(c, id, NULL);
	}
}

/* ---- the log ---------------------------------------------------------------------- */

static void page_log(struct web_ctx *c)
{
	struct pb_audit_status as;
	struct pb_error err = { 0 };
	enum pb_status st = pb_audit_status(c->ws, &as, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	char root[65];
	pb_hex(as.root, 32, root);
	web_page_begin(c, "The log");
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><tbody><tr><th scope=\"row\">Origin</th><td>");
	web_escs(c, as.origin);
	web_printf(c, "</td></tr><tr><th scope=\"row\">Entries</th><td>%llu</td></tr>"
	              "<tr><th scope=\"row\">Root</th><td><code>%s</code></td></tr>"
	              "<tr><th scope=\"row\">Latest checkpoint</th><td>%llu entries (%llu signed)</td></tr>"
	              "<tr><th scope=\"row\">Verifier key</th><td><code>",
	           (unsigned long long)as.size, root, (unsigned long long)as.checkpoint_size,
	           (unsigned long long)as.checkpoints);
	web_escs(c, as.vkey);
	web_puts(c, "</code></td></tr></tbody></table></div>"
	            "<form method=\"get\" action=\"/log/entry\" class=\"box\"><label for=\"n\">Entry number</label>"
	            "<input type=\"text\" id=\"n\" name=\"n\" inputmode=\"numeric\">"
	            "<button class=\"go\" type=\"submit\">Show</button></form>"
	            "<h2>Export</h2><form method=\"post\" action=\"/log/export\" class=\"box\" data-sign>");
	web_csrf_field(c);
	web_puts(c, "<p>Signs a checkpoint of the log as it is now, then downloads the export "
	            "(tiles, entry bundles, checkpoint, verifier key) as a tar archive: "
	            "<code>probity log verify DIR --vkey KEY</code> checks it offline.</p>"
	            "<button class=\"go\" type=\"submit\">Download an export (tar)</button></form>");
	uint64_t from = as.size > 50 ? as.size - 50 : 0;
	web_printf(c, "<h2>Latest entries</h2>");
	web_puts(c, entry_head);
	pb_audit_list(c->ws, 0, from, 50, entry_fn, c, &err);
	web_puts(c, "</tbody></table></div>");
	web_page_end(c);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Answers folder sub (made by an export inside the temporary folder dir)
 * as the tar archive name.tar, sent from an unlinked file; removes dir
 * whatever happens. st and err: the export's own result (on failure the
 * answer is its error). */
static void send_export_tar(struct web_ctx *c, const char *dir, const char *sub,
                            const char *name, enum pb_status st, struct pb_error *err)
{
	int fd = -1;
	if (!st) {
		char tpath[600];
		snprintf(tpath, sizeof(tpath), "%s/export.tar", dir);
		if ((fd = open(tpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
			snprintf(err->message, sizeof(err->message), "cannot make the archive: %s",
			         strerror(errno));
			st = err->code = PB_EIO;
		}
	}
	if (!st)
		st = web_tar_dir(sub, name, fd, err);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* the open archive stays readable */
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (st || size < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		if (fd >= 0)
			close(fd);
		web_lib_error(c, st ? st : PB_EIO, err);
		return;
	}
	c->ctype = "application/x-tar";
	c->send_fd = fd;
	c->send_len = (uint64_t)size;
	web_header(c, "Content-Disposition: attachment; filename=\"%s.tar\"", name);
}

/* A temporary folder for an export (dir) and the path of the export in it
 * (sub, "dir/leaf"); false (and a 500 answered) when it cannot be made. */
static bool export_dirs(struct web_ctx *c, char dir[512], char sub[600], const char *leaf)
{
	web_tmp_template(dir, 512, "probity-export");
	if (!mkdtemp(dir)) {
		web_page_message(c, 500, "Not exported", "cannot make a folder for the export");
		return false;
	}
	snprintf(sub, 600, "%s/%s", dir, leaf);
	return true;
}

/* POST /log/export: signs a checkpoint of the tree as the user (as `probity
 * log export` does), exports the log at it and answers the export as a tar
 * archive. */
static void post_log_export(struct web_ctx *c)
{
	struct pb_error err = { 0 };
	char *note = NULL;
	enum pb_status st = pb_audit_checkpoint(c->ws, c->s.user, &note, &err);
	free(note);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	char dir[512], sub[600];
	if (!export_dirs(c, dir, sub, "log"))
		return;
	struct pb_checkpoint cp = { 0 };
	st = pb_audit_export(c->ws, sub, 0, &cp, &err);
	char name[64];
	snprintf(name, sizeof(name), "probity-log-%llu", (unsigned long long)cp.size);
	send_export_tar(c, dir, sub, name, st, &err);
}

/* POST /cases/N/export: the hits of a query exported as `probity search
 * --export` does (natives, text, manifest.csv, export.dat, export.json,
 * SHA256SUMS; the library records mail.export with the export's hashes in
 * the case's log), answered as one tar archive. Analysts only (the route
 * checks). */
static void post_mail_export(struct web_ctx *c, int64_t id)
{
	char q[4096], ref[32];
	if (!web_form(c, "q", q, sizeof(q))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	char dir[512], sub[600];
	if (!export_dirs(c, dir, sub, "mail"))
		return;
	struct pb_error err = { 0 };
	struct pb_mail_export_options o = { .actor = c->s.user };
	struct pb_mail_export_report rep;
	enum pb_status st = pb_mail_export(c->ws, ref, q, sub, &o, &rep, &err);
	char name[64];
	snprintf(name, sizeof(name), "probity-mail-case-%lld", (long long)id);
	send_export_tar(c, dir, sub, name, st, &err);
}

static void page_log_entry(struct web_ctx *c, uint64_t index)
{
	char *data = NULL, *proof = NULL;
	size_t len = 0;
	struct pb_error err = { 0 };
	enum pb_status st = pb_audit_entry_data(c->ws, index, &data, &len, &err);
	if (st) {
		web_lib_error(c, st, &err);
		return;
	}
	uint8_t h[32];
	char hex[65], title[48];
	pb_tlog_leaf_hash(data, len, h);
	pb_hex(h, 32, hex);
	snprintf(title, sizeof(title), "Log entry %llu", (unsigned long long)index);
	web_page_begin(c, title);
	web_printf(c, "<p>Leaf hash <code>%s</code></p><pre>", hex);
	web_esc(c, data, len);
	web_puts(c, "</pre><h2>Inclusion proof</h2>");
	free(data);
	if (pb_audit_prove_inclusion(c->ws, index, 0, &proof, &err) == PB_OK) {
		web_puts(c, "<pre>");
		web_escs(c, proof);
		web_puts(c, "</pre>");
	} else {
		web_puts(c, "<p>");
		web_escs(c, err.message);
		web_puts(c, " (a checkpoint signed after this entry proves it: <code>probity log "
		            "checkpoint</code>)</p>");
	}
	free(proof);
	web_page_end(c);
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* Does a POST come from our own pages? Origin (or Sec-Fetch-Site) when the
 * browser sends them; the CSRF token always. */
static bool same_origin(struct web_ctx *c)
{
	struct pb_str origin = pb_http_req_header(&c->rq, "origin");
	struct pb_str host = pb_http_req_header(&c->rq, "host");
	if (origin.ptr) {
		if (!host.ptr)
			return false;
		/* behind a TLS proxy the browser's scheme is https while ours is
		 * http: accept either scheme, the host must be ours */
		static const char *const schemes[] = { "https://", "http://" };
		for (int i = 0; i < (c->tls ? 1 : 2); i++) {
			size_t sl = strlen(schemes[i]);
			if (origin.len == sl + host.len && !memcmp(origin.ptr, schemes[i], sl) &&
			    !memcmp(origin.ptr + sl, host.ptr, host.len))
				return true;
		}
		return false;
	}
	struct pb_str site = pb_http_req_header(&c->rq, "sec-fetch-site");
	return !site.ptr || pb_str_eq_cstr(site, "same-origin") || pb_str_eq_cstr(site, "none");
}

static bool csrf_ok(struct web_ctx *c)
{
	char sent[PB_SECRET_HEX];
	return web_form(c, "csrf", sent, sizeof(sent)) && strlen(sent) == 64 &&
	       sodium_memcmp(sent, c->s.csrf, 64) == 0;
}

/* The case of an upload's path, POST /cases/N/documents, else 0. */
static int64_t upload_route(struct web_ctx *c)
{
	struct pb_str rest;
	int64_t id = web_path_id(c->rq.path, "/cases/", &rest);
	return pb_str_eq_cstr(c->rq.method, "POST") && pb_str_eq_cstr(rest, "/documents") ? id : 0;
}

/* The request's session from its cookie: c->signed_in and c->s. */
static void session_of(struct web_ctx *c)
{
	char id[PB_SECRET_HEX];
	if (pb_http_cookie_get(pb_http_req_header(&c->rq, "cookie"), COOKIE, id, sizeof(id)) == 1 &&
	    pb_session_get(c->ws, id, c->o->idle_s, c->o->absolute_s, &c->s, NULL) == PB_OK) {
		c->signed_in = true;
		memcpy(c->cookie_id, id, sizeof(id));
	}
}

bool web_upload_accept(struct web_ctx *c)
{
	struct pb_error err = { 0 };
	if (!upload_route(c) || !same_origin(c))
		return false;
	if (!c->ws && pb_ws_open(c->o->ws_path, 0, &c->ws, &err)) {
		c->ws = NULL;
		return false;
	}
	session_of(c);
	return c->signed_in && web_role_in(c, "analyst");
}

/* The files of pages beyond this one (web.h), asked in turn. */
static web_pages_fn *const page_files[] = {
	web_plans_pages,
	web_passkey_pages,
	web_admin_pages,
	NULL,
};

void web_route(struct web_ctx *c)
{
	struct pb_error err = { 0 };
	bool get = pb_str_eq_cstr(c->rq.method, "GET"), post = pb_str_eq_cstr(c->rq.method, "POST");
	if (!get && !post) {
		web_header(c, "Allow: GET, POST");
		web_page_message(c, 405, "Not allowed", "only GET and POST");
		return;
	}
	if (!c->ws && pb_ws_open(c->o->ws_path, 0, &c->ws, &err)) {
		c->ws = NULL;
		web_page_message(c, 503, "Unavailable", err.message);
		return;
	}
	session_of(c);
	if (post && !same_origin(c)) {
		web_forbid(c, "this form was not sent from this site");
		return;
	}
	if (!web_sign_setup(c)) /* a passkey's signature, before any handler */
		return;
	if (web_passkeys_public(c, get, post)) /* passkey sign-in and enrolment */
		return;
	if (web_path_is(c, "/signin")) {
		if (get)
			signin_form(c, 200, NULL);
		else
			post_signin(c);
		return;
	}
	if (web_path_is(c, "/enrol")) {
		if (get)
			get_enrol(c, NULL);
		else
			post_enrol(c);
		return;
	}
	if (!c->signed_in) {
		if (get)
			web_redirect(c, "/signin");
		else
			web_page_message(c, 403, "Forbidden", "sign in first");
		return;
	}
	int64_t upload_case = upload_route(c);
	if (post && upload_case) { /* multipart: the token is a part of it */
		if (!web_role_in(c, "analyst"))
			web_forbid(c, "your role may not attach documents");
		else
			post_document(c, upload_case);
		return;
	}
	if (post && !csrf_ok(c)) {
		web_forbid(c, "the form's token is missing or wrong: reload the page");
		return;
	}
	struct pb_str path = c->rq.path;
	if (post && web_path_is(c, "/signout")) {
		post_signout(c);
		return;
	}
	if (get && web_path_is(c, "/")) {
		page_home(c);
		return;
	}
	if (web_path_is(c, "/cases")) {
		if (get)
			page_cases(c);
		else
			post_case_open(c);
		return;
	}
	struct pb_str rest;
	int64_t cid = web_path_id(path, "/cases/", &rest);
	if (cid) {
		if (get && !rest.len) {
			page_case(c, cid);
			return;
		}
		struct pb_str tail;
		int64_t mid = web_path_id(rest, "/messages/", &tail);
		if (get && mid && !tail.len) {
			page_message(c, cid, mid);
			return;
		}
		if (get && rest.len > 11 && !memcmp(rest.ptr, "/documents/", 11)) {
			get_document(c, cid, pb_str_of(rest.ptr + 11, rest.len - 11));
			return;
		}
		if (post && (pb_str_eq_cstr(rest, "/search") || pb_str_eq_cstr(rest, "/tag"))) {
			post_search(c, cid, rest.ptr[1] == 't');
			return;
		}
		if (post && pb_str_eq_cstr(rest, "/export")) {
			if (!web_role_in(c, "analyst")) {
				web_forbid(c, "your role may not export mail");
				return;
			}
			post_mail_export(c, cid);
			return;
		}
		if (post && (pb_str_eq_cstr(rest, "/note") || pb_str_eq_cstr(rest, "/close") ||
		                    pb_str_eq_cstr(rest, "/finding"))) {
			if (!web_role_in(c, ROLE_WRITE_CASE)) {
				web_forbid(c, "your role may not change cases");
				return;
			}
			post_case(c, cid, rest.ptr[1] == 'n'   ? "note"
			                  : rest.ptr[1] == 'c' ? "decision"
			                                       : "finding");
			return;
		}
	}
	if (get && web_path_is(c, "/customers")) {
		page_customers(c);
		return;
	}
	if (get && path.len > 11 && !memcmp(path.ptr, "/customers/", 11)) {
		char name[512];
		if (web_seg_dec(pb_str_of(path.ptr + 11, path.len - 11), name, sizeof(name))) {
			page_customer(c, name);
			return;
		}
	}
	if (web_path_is(c, "/scans")) {
		if (get)
			page_scans(c);
		else
			post_scan(c);
		return;
	}
	int64_t fid = web_path_id(path, "/findings/", &rest);
	if (fid) {
		if (get && !rest.len) {
			page_finding(c, fid, NULL);
			return;
		}
		if (post && pb_str_eq_cstr(rest, "/verify")) {
			post_verify(c, fid);
			return;
		}
	}
	if (get && web_path_is(c, "/log")) {
		page_log(c);
		return;
	}
	if (post && web_path_is(c, "/log/export")) {
		post_log_export(c);
		return;
	}
	if (get && web_path_is(c, "/log/entry")) {
		char n[24];
		if (web_query(c, "n", n, sizeof(n)) && (web_parse_id(n, strlen(n)) || !strcmp(n, "0"))) {
			char to[48];
			snprintf(to, sizeof(to), "/log/%s", n);
			web_redirect(c, to);
			return;
		}
		web_page_message(c, 400, "The log", "an entry number is digits");
		return;
	}
	if (get && path.len > 5 && !memcmp(path.ptr, "/log/", 5)) {
		int64_t n = web_parse_id(path.ptr + 5, path.len - 5);
		if (n || pb_str_eq_cstr(path, "/log/0")) {
			page_log_entry(c, (uint64_t)n);
			return;
		}
	}
	for (size_t i = 0; page_files[i]; i++)
		if (page_files[i](c, get, post))
			return;
	web_page_message(c, 404, "Not found", "there is no such page");
}
