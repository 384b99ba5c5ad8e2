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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#define COOKIE "pb_session"
#define PRE_COOKIE "pb_pre"
#define ROLE_ANY "analyst,approver,auditor,admin"
#define ROLE_WRITE_CASE "analyst,approver"

static bool role_in(const struct web_ctx *c, const char *roles)
{
	size_t rl = strlen(c->s.role);
	for (const char *p = roles; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (rl && n == rl && !memcmp(p, c->s.role, n))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}

/* ---- request values --------------------------------------------------------------- */

/* A form field (POST body) or query value into out; "" when absent. False
 * when it is malformed, too long or given twice. */
static bool field(struct pb_str from, const char *key, char *out, size_t cap)
{
	size_t n;
	int r = pb_http_query_get(from, key, out, cap, &n);
	if (r < 0)
		out[0] = '\0';
	return r >= 0;
}

static bool form(struct web_ctx *c, const char *key, char *out, size_t cap)
{
	return field(c->body, key, out, cap);
}

static bool query(struct web_ctx *c, const char *key, char *out, size_t cap)
{
	return field(c->rq.query, key, out, cap);
}

/* Percent-encodes s for a path segment or a query value. */
static void url_enc(struct web_ctx *c, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			pb_buf_addc(&c->out, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			pb_buf_add(&c->out, e, 3);
		}
	}
}

/* Decodes a path segment (percent-encoding) into out; false when bad. */
static bool seg_dec(struct pb_str s, char *out, size_t cap)
{
	size_t n;
	/* the query decoder reads '+' as a space: a path has none to read */
	if (memchr(s.ptr, '+', s.len))
		return false;
	char q[600];
	if (s.len + 2 > sizeof(q))
		return false;
	q[0] = 'k';
	q[1] = '=';
	memcpy(q + 2, s.ptr, s.len);
	return pb_http_query_get(pb_str_of(q, s.len + 2), "k", out, cap, &n) == 1 && n > 0;
}

/* A decimal id > 0 from text; 0 when not one. */
static int64_t parse_id(const char *s, size_t n)
{
	int64_t v = 0;
	if (!n || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* ---- answers ---------------------------------------------------------------------- */

/* 403, and a log entry naming what was refused. */
static void forbid(struct web_ctx *c, const char *why)
{
	char what[300];
	snprintf(what, sizeof(what), "%.*s %.*s", (int)c->rq.method.len, c->rq.method.ptr,
	         (int)(c->rq.path.len > 200 ? 200 : c->rq.path.len), c->rq.path.ptr);
	if (c->signed_in)
		pb_session_forbidden(c->ws, c->s.user, what, NULL);
	web_page_message(c, 403, "Forbidden", why);
}

/* The answer for a library error. */
static void lib_error(struct web_ctx *c, enum pb_status st, const struct pb_error *err)
{
	int status;
	/* a signed workspace: the change needs its actor's own key (log/sign.c) */
	if (st == PB_EPERM && !strcmp(err->field, "identity")) {
		web_page_message(c, 403, "Not done",
		                 "this workspace is signed: every change carries its author's own "
		                 "key, which the browser cannot sign with yet (passkeys come later); "
		                 "make this change with the probity command line");
		return;
	}
	switch (st) {
	case PB_EPERM: forbid(c, err->message); return;
	case PB_ENOENT: status = 404; break;
	case PB_EINVAL: case PB_ELIMIT: case PB_EFORMAT: status = 400; break;
	case PB_ESTATE: case PB_EEXIST: status = 409; break;
	case PB_EDB: status = 503; break; /* a busy workspace: try again */
	default: status = 500; break;
	}
	web_page_message(c, status, "Not done", err->message);
}

/* ---- sign-in, enrolment, sign-out ----------------------------------------------- */

/* The pre-session token: the pb_pre cookie, set when absent. */
static void pre_token(struct web_ctx *c, char out[PB_SECRET_HEX])
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

static bool pre_ok(struct web_ctx *c)
{
	char have[PB_SECRET_HEX], sent[PB_SECRET_HEX];
	if (pb_http_cookie_get(pb_http_req_header(&c->rq, "cookie"), PRE_COOKIE, have,
	                       sizeof(have)) != 1 ||
	    strlen(have) != 64 || !form(c, "csrf", sent, sizeof(sent)) || strlen(sent) != 64)
		return false;
	return sodium_memcmp(have, sent, 64) == 0;
}

static void signin_form(struct web_ctx *c, int status, const char *msg)
{
	char tok[PB_SECRET_HEX];
	pre_token(c, tok);
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
	web_page_end(c);
}

static void session_cookie(struct web_ctx *c, const char *id)
{
	const char *secure = c->tls ? "; Secure" : "";
	if (id)
		web_header(c, "Set-Cookie: " COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s", id, secure);
	else
		web_header(c, "Set-Cookie: " COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
		           secure);
}

static void post_signin(struct web_ctx *c)
{
	if (!pre_ok(c)) {
		web_page_message(c, 403, "Forbidden", "the form's token does not match: reload the page");
		return;
	}
	char name[PB_USER_NAME_MAX * 4 + 1], *pw = malloc(PB_PASSWORD_MAX + 1);
	if (!pw) {
		web_page_message(c, 500, "Not done", "out of memory");
		return;
	}
	bool ok = form(c, "name", name, sizeof(name)) & form(c, "password", pw, PB_PASSWORD_MAX + 1);
	struct pb_session s;
	struct pb_error err = { 0 };
	unsigned fails = 0;
	enum pb_status st = ok ? pb_session_signin(c->ws, name, pw, c->addr, &s, &fails, &err)
	                       : PB_EPERM;
	sodium_memzero(pw, PB_PASSWORD_MAX + 1);
	free(pw);
	if (st) {
		/* slow the next guess: 250 ms a recent failure, at most 3 s */
		unsigned ms = fails * 250 > 3000 ? 3000 : fails * 250;
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (!ok)
			snprintf(err.message, sizeof(err.message), "wrong user name or password");
		signin_form(c, fails >= PB_SIGNIN_FAILS_MAX ? 429 : 403, err.message);
		return;
	}
	session_cookie(c, s.id);
	sodium_memzero(&s, sizeof(s));
	web_redirect(c, "/");
}

static void get_enrol(struct web_ctx *c, const char *msg)
{
	char token[PB_SECRET_HEX * 2], tok[PB_SECRET_HEX];
	if (!query(c, "token", token, sizeof(token)) || !token[0])
		form(c, "token", token, sizeof(token));
	pre_token(c, tok);
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
	if (!pre_ok(c)) {
		web_page_message(c, 403, "Forbidden", "the form's token does not match: reload the page");
		return;
	}
	char token[PB_SECRET_HEX * 2], name[PB_USER_NAME_MAX + 1];
	char *pw = malloc(PB_PASSWORD_MAX + 1), *again = malloc(PB_PASSWORD_MAX + 1);
	struct pb_error err = { 0 };
	enum pb_status st = PB_EINVAL;
	if (!pw || !again)
		snprintf(err.message, sizeof(err.message), "out of memory");
	else if (!form(c, "token", token, sizeof(token)) || !form(c, "password", pw, PB_PASSWORD_MAX + 1) ||
	         !form(c, "again", again, PB_PASSWORD_MAX + 1))
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
	web_page_message(c, 200, "Password set", "Your password is set: sign in with it.");
	web_puts(c, "<p><a href=\"/signin\">Sign in</a></p>");
}

static void post_signout(struct web_ctx *c)
{
	char all[8];
	form(c, "everywhere", all, sizeof(all));
	struct pb_error err = { 0 };
	enum pb_status st = pb_session_signout(c->ws, c->cookie_id, all[0] != '\0', &err);
	if (st && st != PB_ENOENT) {
		lib_error(c, st, &err);
		return;
	}
	session_cookie(c, NULL);
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
	if (role_in(c, "approver")) {
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
	if (!query(c, "status", status, sizeof(status)) ||
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
		lib_error(c, st, &err);
		return;
	}
	if (role_in(c, "analyst")) {
		struct pb_customer_info *cu = NULL;
		size_t n = 0;
		pb_customer_list(c->ws, &cu, &n, NULL);
		web_puts(c, "<h2>Open a case</h2><form class=\"box\" method=\"post\" action=\"/cases\">");
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
		lib_error(c, st, err);
		return;
	}
	char to[40];
	snprintf(to, sizeof(to), "/cases/%lld", (long long)id);
	web_redirect(c, to);
}

static void post_case_open(struct web_ctx *c)
{
	char customer[512], title[PB_HTTP_BODY_MAX / 4], trigger[PB_HTTP_BODY_MAX / 4];
	if (!form(c, "customer", customer, sizeof(customer)) || !form(c, "title", title, sizeof(title)) ||
	    !form(c, "trigger", trigger, sizeof(trigger))) {
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

/* The mail search form of case id, with query q (escaped). */
static void search_form(struct web_ctx *c, int64_t id, const char *q)
{
	web_printf(c, "<h2>Search mail</h2><form class=\"box\" method=\"post\" "
	              "action=\"/cases/%lld/search\">", (long long)id);
	web_csrf_field(c);
	web_puts(c, "<label for=\"q\">Query (as <code>probity search</code>: words, \"phrases\", "
	            "from:, to:, subject:, NEAR/n, AND, OR, NOT)</label>"
	            "<input type=\"text\" id=\"q\" name=\"q\" required value=\"");
	web_escs(c, q);
	web_puts(c, "\"><button class=\"go\" type=\"submit\">Search</button></form>");
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
	if (!form(c, "q", q, sizeof(q)) || !form(c, "tag", t, sizeof(t))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	snprintf(ref, sizeof(ref), "%lld", (long long)id);
	struct pb_error err = { 0 };
	enum pb_status st;
	if (tag) {
		uint64_t n = 0;
		if ((st = pb_mail_tag_query(c->ws, ref, q, t, false, c->s.user, &n, &err))) {
			lib_error(c, st, &err);
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
		lib_error(c, st, &err);
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
		web_printf(c, "<tr><td class=\"num\">%lld</td>", (long long)h->id);
		web_cells(c, 4, (const char *const[]){ date, h->from, h->subject, h->tags });
		web_puts(c, "<td>");
		snippet(c, h->snippet);
		web_puts(c, "</td></tr>");
	}
	web_puts(c, "</tbody></table></div>");
	pb_mail_result_free(r);
	web_printf(c, "<h2>Tag every hit</h2><form class=\"box\" method=\"post\" "
	              "action=\"/cases/%lld/tag\">", (long long)id);
	web_csrf_field(c);
	web_puts(c, "<input type=\"hidden\" name=\"q\" value=\"");
	web_escs(c, q);
	web_puts(c, "\"><label for=\"tag\">Tag</label><input type=\"text\" id=\"tag\" name=\"tag\" "
	            "required><button class=\"go\" type=\"submit\">Tag</button></form>");
	search_form(c, id, q);
	web_printf(c, "<p><a href=\"/cases/%lld\">Back to the case</a></p>", (long long)id);
	web_page_end(c);
}

struct note_ctx {
	struct web_ctx *c;
	size_t *n;
};

/* A note of the case: who, when, its log entry, its text as Markdown. */
static bool note_fn(void *ctx, const struct pb_evidence *e)
{
	struct note_ctx *nc = ctx;
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

static void page_case(struct web_ctx *c, int64_t id)
{
	struct pb_error err = { 0 };
	bool open = false;
	enum pb_status st = pb_case_get(c->ws, id, case_open_fn, &open, &err);
	if (st) {
		lib_error(c, st, &err);
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
	struct note_ctx nc = { c, &notes };
	pb_case_evidence(c->ws, id, note_fn, &nc, &err);
	if (!notes)
		web_puts(c, "<p>No notes yet.</p>");
	if (open && role_in(c, "analyst,admin"))
		search_form(c, id, "");
	if (open && role_in(c, "analyst")) {
		web_printf(c, "<h2>Add a finding</h2><form class=\"box\" method=\"post\" "
		              "action=\"/cases/%lld/finding\">", (long long)id);
		web_csrf_field(c);
		web_puts(c, "<label for=\"finding\">Finding id (from a stored scan: <code>probity scan "
		            "--store</code>)</label><input type=\"text\" id=\"finding\" name=\"finding\" "
		            "required><button class=\"go\" type=\"submit\">Add the finding</button></form>");
	}
	if (open && role_in(c, ROLE_WRITE_CASE)) {
		web_printf(c, "<h2>Add a note</h2><form class=\"box\" method=\"post\" action=\"/cases/%lld/note\">",
		           (long long)id);
		web_csrf_field(c);
		web_puts(c, "<label for=\"text\">Note (Markdown: *emphasis*, **strong**, `code`, lists, [links](https://...))</label><textarea id=\"text\" name=\"text\" required></textarea>"
		            "<button class=\"go\" type=\"submit\">Add the note</button></form>");
		web_printf(c, "<h2>Close the case</h2><form class=\"box\" method=\"post\" action=\"/cases/%lld/close\">",
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
	if (!form(c, fieldname, text, PB_HTTP_BODY_MAX + 1)) {
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
		lib_error(c, st, &err);
		return;
	}
	web_page_begin(c, "Customers");
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Customer</th>"
	            "<th scope=\"col\">Accounts</th><th scope=\"col\">Billed cost</th>"
	            "<th scope=\"col\">Usage from</th><th scope=\"col\">to</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		web_puts(c, "<tr><td><a href=\"/customers/");
		url_enc(c, cu[i].name);
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

static void page_customer(struct web_ctx *c, const char *name)
{
	char from[16], to[16], by[200];
	struct pb_error err = { 0 };
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	if (!query(c, "from", from, sizeof(from)) || !query(c, "to", to, sizeof(to)) ||
	    !query(c, "by", by, sizeof(by))) {
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
	struct pb_customer_info info;
	struct pb_customer_account *acc = NULL;
	size_t nacc = 0;
	if (!st)
		st = pb_customer_show(c->ws, name, &info, &acc, &nacc, &err);
	struct pb_profile *p = NULL;
	if (!st)
		st = pb_profile_build(c->ws, name, &o, &p, &err);
	if (st) {
		free(acc);
		lib_error(c, st, &err);
		return;
	}
	web_page_begin(c, name);
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
	web_page_end(c);
}

/* ---- the log ---------------------------------------------------------------------- */

static void page_log(struct web_ctx *c)
{
	struct pb_audit_status as;
	struct pb_error err = { 0 };
	enum pb_status st = pb_audit_status(c->ws, &as, &err);
	if (st) {
		lib_error(c, st, &err);
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
	            "<button class=\"go\" type=\"submit\">Show</button></form>");
	uint64_t from = as.size > 50 ? as.size - 50 : 0;
	web_printf(c, "<h2>Latest entries</h2>");
	web_puts(c, entry_head);
	pb_audit_list(c->ws, 0, from, 50, entry_fn, c, &err);
	web_puts(c, "</tbody></table></div>");
	web_page_end(c);
}

static void page_log_entry(struct web_ctx *c, uint64_t index)
{
	char *data = NULL, *proof = NULL;
	size_t len = 0;
	struct pb_error err = { 0 };
	enum pb_status st = pb_audit_entry_data(c->ws, index, &data, &len, &err);
	if (st) {
		lib_error(c, st, &err);
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

/* ---- admin ------------------------------------------------------------------------- */

static bool user_row(void *ctx, const struct pb_user *u)
{
	struct web_ctx *c = ctx;
	web_puts(c, "<tr>");
	web_cells(c, 5, (const char *const[]){ u->name, u->role, u->disabled ? "disabled" : "active",
	                                       u->created_at, u->created_by });
	web_puts(c, "</tr>");
	return true;
}

static void page_users(struct web_ctx *c, const char *invite_link)
{
	web_page_begin(c, "Users");
	if (invite_link) {
		web_puts(c, "<p class=\"ok\">One-time enrolment link (shown once): <code id=\"invite\">");
		web_escs(c, invite_link);
		web_puts(c, "</code></p>");
	}
	web_puts(c, "<div class=\"scroll\" tabindex=\"0\"><table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Role</th>"
	            "<th scope=\"col\">Status</th><th scope=\"col\">Created</th><th scope=\"col\">By</th>"
	            "</tr></thead><tbody>");
	struct pb_error err = { 0 };
	pb_user_list(c->ws, user_row, c, &err);
	web_puts(c, "</tbody></table></div><h2>Add a user</h2>"
	            "<form class=\"box\" method=\"post\" action=\"/admin/users\">");
	web_csrf_field(c);
	web_puts(c, "<label for=\"uname\">Name</label><input type=\"text\" id=\"uname\" name=\"name\" required>"
	            "<label for=\"role\">Role</label><select id=\"role\" name=\"role\"><option>analyst</option>"
	            "<option>approver</option><option>auditor</option><option>admin</option></select>"
	            "<button class=\"go\" type=\"submit\">Add and invite</button></form>"
	            "<h2>Invite again, change a role or disable</h2><form class=\"box\" method=\"post\" "
	            "action=\"/admin/invite\">");
	web_csrf_field(c);
	web_puts(c, "<label for=\"iname\">Name</label><input type=\"text\" id=\"iname\" name=\"name\" required>"
	            "<label for=\"nrole\">New role</label><select id=\"nrole\" name=\"role\"><option>analyst</option>"
	            "<option>approver</option><option>auditor</option><option>admin</option></select>"
	            "<button class=\"go\" type=\"submit\" name=\"do\" value=\"invite\">New enrolment link</button> "
	            "<button class=\"go\" type=\"submit\" name=\"do\" value=\"role\">Change the role</button> "
	            "<button class=\"go\" type=\"submit\" name=\"do\" value=\"disable\">Disable</button></form>");
	web_page_end(c);
}

static void post_users(struct web_ctx *c, bool add)
{
	char name[PB_USER_NAME_MAX * 4 + 1], role[32], act[16];
	if (!form(c, "name", name, sizeof(name)) || !form(c, "role", role, sizeof(role)) ||
	    !form(c, "do", act, sizeof(act))) {
		web_page_message(c, 400, "Not done", "a field is malformed, too long or given twice");
		return;
	}
	struct pb_error err = { 0 };
	enum pb_status st = PB_OK;
	if (add)
		st = pb_user_add(c->ws, c->s.user, name, role, NULL, &err);
	if (!st && !add && (!strcmp(act, "disable") || !strcmp(act, "role"))) {
		st = act[0] == 'd' ? pb_user_disable(c->ws, c->s.user, name, NULL, &err)
		                   : pb_user_set_role(c->ws, c->s.user, name, role, NULL, &err);
		if (st) {
			lib_error(c, st, &err);
			return;
		}
		web_redirect(c, "/admin/users");
		return;
	}
	char token[PB_SECRET_HEX];
	if (!st)
		st = pb_user_invite(c->ws, c->s.user, name, 72 * 3600, token, NULL, &err);
	if (st) {
		lib_error(c, st, &err);
		return;
	}
	struct pb_str host = pb_http_req_header(&c->rq, "host");
	char link[512];
	snprintf(link, sizeof(link), "%s://%.*s/enrol?token=%s", c->tls ? "https" : "http",
	         (int)(host.len > 200 ? 0 : host.len), host.ptr ? host.ptr : "", token);
	page_users(c, link);
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
	return form(c, "csrf", sent, sizeof(sent)) && strlen(sent) == 64 &&
	       sodium_memcmp(sent, c->s.csrf, 64) == 0;
}

static bool path_is(struct web_ctx *c, const char *p)
{
	return pb_str_eq_cstr(c->rq.path, p);
}

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
	char id[PB_SECRET_HEX];
	if (pb_http_cookie_get(pb_http_req_header(&c->rq, "cookie"), COOKIE, id, sizeof(id)) == 1 &&
	    pb_session_get(c->ws, id, c->o->idle_s, c->o->absolute_s, &c->s, NULL) == PB_OK) {
		c->signed_in = true;
		memcpy(c->cookie_id, id, sizeof(id));
	}
	if (post && !same_origin(c)) {
		forbid(c, "this form was not sent from this site");
		return;
	}
	if (path_is(c, "/signin")) {
		if (get)
			signin_form(c, 200, NULL);
		else
			post_signin(c);
		return;
	}
	if (path_is(c, "/enrol")) {
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
	if (post && !csrf_ok(c)) {
		forbid(c, "the form's token is missing or wrong: reload the page");
		return;
	}
	struct pb_str path = c->rq.path;
	if (post && path_is(c, "/signout")) {
		post_signout(c);
		return;
	}
	if (get && path_is(c, "/")) {
		page_home(c);
		return;
	}
	if (path_is(c, "/cases")) {
		if (get)
			page_cases(c);
		else
			post_case_open(c);
		return;
	}
	if (path.len > 7 && !memcmp(path.ptr, "/cases/", 7)) {
		const char *p = path.ptr + 7, *slash = memchr(p, '/', path.len - 7);
		size_t n = slash ? (size_t)(slash - p) : path.len - 7;
		int64_t cid = parse_id(p, n);
		struct pb_str rest = pb_str_of(p + n, path.len - 7 - n);
		if (cid && get && !rest.len) {
			page_case(c, cid);
			return;
		}
		if (cid && post && (pb_str_eq_cstr(rest, "/search") || pb_str_eq_cstr(rest, "/tag"))) {
			post_search(c, cid, rest.ptr[1] == 't');
			return;
		}
		if (cid && post && (pb_str_eq_cstr(rest, "/note") || pb_str_eq_cstr(rest, "/close") ||
		                    pb_str_eq_cstr(rest, "/finding"))) {
			if (!role_in(c, ROLE_WRITE_CASE)) {
				forbid(c, "your role may not change cases");
				return;
			}
			post_case(c, cid, rest.ptr[1] == 'n'   ? "note"
			                  : rest.ptr[1] == 'c' ? "decision"
			                                       : "finding");
			return;
		}
	}
	if (get && path_is(c, "/customers")) {
		page_customers(c);
		return;
	}
	if (get && path.len > 11 && !memcmp(path.ptr, "/customers/", 11)) {
		char name[512];
		if (seg_dec(pb_str_of(path.ptr + 11, path.len - 11), name, sizeof(name))) {
			page_customer(c, name);
			return;
		}
	}
	if (get && path_is(c, "/log")) {
		page_log(c);
		return;
	}
	if (get && path_is(c, "/log/entry")) {
		char n[24];
		if (query(c, "n", n, sizeof(n)) && (parse_id(n, strlen(n)) || !strcmp(n, "0"))) {
			char to[48];
			snprintf(to, sizeof(to), "/log/%s", n);
			web_redirect(c, to);
			return;
		}
		web_page_message(c, 400, "The log", "an entry number is digits");
		return;
	}
	if (get && path.len > 5 && !memcmp(path.ptr, "/log/", 5)) {
		int64_t n = parse_id(path.ptr + 5, path.len - 5);
		if (n || pb_str_eq_cstr(path, "/log/0")) {
			page_log_entry(c, (uint64_t)n);
			return;
		}
	}
	if (path.len >= 6 && !memcmp(path.ptr, "/admin", 6) &&
	    (path.len == 6 || path.ptr[6] == '/')) {
		if (!role_in(c, "admin")) {
			forbid(c, "only an admin may manage users");
			return;
		}
		if (get && path_is(c, "/admin/users")) {
			page_users(c, NULL);
			return;
		}
		if (post && path_is(c, "/admin/users")) {
			post_users(c, true);
			return;
		}
		if (post && path_is(c, "/admin/invite")) {
			post_users(c, false);
			return;
		}
	}
	web_page_message(c, 404, "Not found", "there is no such page");
}
