/* page.c - probity web's answers: HTML escaping, the page shell and the
 * headers every answer carries.
 *
 * Everything that came from outside (a form, a query, a stored title, a
 * log entry) goes out through web_esc, which also replaces bytes that are
 * not UTF-8, so a page is always valid UTF-8 with no markup but ours. The
 * Content-Security-Policy allows no script and no style but those carrying
 * this answer's nonce, and nothing from elsewhere. Referrer-Policy is
 * same-origin, not no-referrer: with no-referrer a browser sends "Origin:
 * null" on form posts, and the Origin check needs the real one; links to
 * other sites still carry no referrer (so no enrolment token leaks).
 */
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t l = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
	                               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!l || l > n)
		return 0;
	return pb_utf8_valid((const char *)s, l, NULL) ? l : 0;
}

void web_esc(struct web_ctx *c, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char ch = u[i];
		const char *rep = NULL;
		switch (ch) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		if (rep) {
			pb_buf_adds(&c->out, rep);
			i++;
			continue;
		}
		if (ch < 0x20 && ch != '\n' && ch != '\t') {
			pb_buf_adds(&c->out, "\xef\xbf\xbd");
			i++;
			continue;
		}
		size_t l = utf8_len(u + i, n - i);
		if (!l || ch == 0x7f) {
			pb_buf_adds(&c->out, "\xef\xbf\xbd");
			i++;
			continue;
		}
		pb_buf_add(&c->out, s + i, l);
		i += l;
	}
}

void web_escs(struct web_ctx *c, const char *s)
{
	if (s)
		web_esc(c, s, strlen(s));
}

void web_cells(struct web_ctx *c, size_t n, const char *const *texts)
{
	for (size_t i = 0; i < n; i++) {
		pb_buf_adds(&c->out, "<td>");
		web_escs(c, texts[i]);
		pb_buf_adds(&c->out, "</td>");
	}
}

void web_row_th(struct web_ctx *c, const char *label, const char *text)
{
	pb_buf_adds(&c->out, "<tr><th scope=\"row\">");
	web_escs(c, label);
	pb_buf_adds(&c->out, "</th><td>");
	web_escs(c, text);
	pb_buf_adds(&c->out, "</td></tr>");
}

void web_puts(struct web_ctx *c, const char *s)
{
	pb_buf_adds(&c->out, s);
}

void web_printf(struct web_ctx *c, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	if (n > 0 && pb_buf_reserve(&c->out, (size_t)n + 1) == PB_OK) {
		vsnprintf(c->out.data + c->out.len, (size_t)n + 1, fmt, ap2);
		c->out.len += (size_t)n;
	}
	va_end(ap2);
	va_end(ap);
}

void web_header(struct web_ctx *c, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* a header line is ours, whole and on one line, or not sent */
	if (n > 0 && (size_t)n < sizeof(tmp) && !strpbrk(tmp, "\r\n")) {
		pb_buf_add(&c->head, tmp, (size_t)n);
		pb_buf_adds(&c->head, "\r\n");
	}
}

static const char css[] =
	"body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}"
	"header{background:#1f3a5f;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;"
	"gap:.25rem 1rem;align-items:center}"
	"header a{color:#fff;text-decoration:none;padding:.35rem .2rem}header a:hover{text-decoration:underline}"
	"header .who{margin-left:auto;font-size:.9em}"
	"header form{display:inline;margin:0}"
	"header button{background:none;border:1px solid #fff;color:#fff;border-radius:4px;padding:.2rem .6rem}"
	"main{max-width:1100px;margin:0 auto;padding:1rem}"
	"h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}"
	".scroll{overflow-x:auto;max-width:100%}"
	"table{border-collapse:collapse;background:#fff;width:100%}"
	"th,td{border:1px solid #d5d9de;padding:.35rem .5rem;text-align:left;vertical-align:top}"
	"td{overflow-wrap:anywhere;min-width:6ch}#votes td:first-child{overflow-wrap:normal;white-space:nowrap}th{background:#eef1f4}td.num{text-align:right;font-variant-numeric:tabular-nums}"
	"code,.mono{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}"
	"pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #d5d9de;"
	"padding:.5rem;margin:.25rem 0}"
	".note{border-left:3px solid #d5d9de;padding-left:.75rem;margin:.75rem 0}.note .meta{color:#555;font-size:.9em}"
	"form.box{background:#fff;border:1px solid #d5d9de;padding:1rem;max-width:40rem}"
	"label{display:block;margin:.5rem 0 .2rem;font-weight:600}"
	"input[type=text],input[type=password],textarea,select{width:100%;box-sizing:border-box;"
	"padding:.4rem;border:1px solid #8a939c;border-radius:4px;font:inherit}"
	"textarea{min-height:6rem}"
	"button.go{margin-top:.75rem;background:#1f5fa8;color:#fff;border:0;border-radius:4px;"
	"padding:.5rem 1rem;font:inherit}"
	"td form button.go{margin-top:0;white-space:nowrap;overflow-wrap:normal}"
	".err{background:#fdecea;border:1px solid #c62828;padding:.5rem;color:#8e1b1b}"
	".ok{background:#e8f5e9;border:1px solid #2e7d32;padding:.5rem}"
	".chart svg{max-width:100%;height:auto;background:#fff}"
	"dialog{max-width:46rem;border:1px solid #8a939c;border-radius:6px;padding:1rem}"
	"dialog::backdrop{background:rgba(0,0,0,.45)}dialog pre{max-height:50vh;overflow:auto}"
	"button.alt{background:#fff;color:#1f5fa8;border:1px solid #1f5fa8}"
	"a{color:#174e8c}";

/* A fresh nonce per answer, hex. */
static void nonce_new(struct web_ctx *c)
{
	uint8_t b[16];
	pb_random(b, sizeof(b));
	pb_hex(b, sizeof(b), c->nonce);
}

void web_page_begin(struct web_ctx *c, const char *title)
{
	if (!c->nonce[0])
		nonce_new(c);
	web_puts(c, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	web_escs(c, title);
	web_printf(c, " · probity</title><style nonce=\"%s\">%s</style></head><body%s><header>",
	           c->nonce, css, web_ws_signed(c) ? " data-signed=\"1\"" : "");
	web_puts(c, "<a href=\"/\"><strong>probity</strong></a>");
	if (c->signed_in) {
		web_puts(c, "<nav aria-label=\"main\"><a href=\"/cases\">Cases</a> "
		            "<a href=\"/customers\">Customers</a> <a href=\"/plans\">Plans</a> "
		            "<a href=\"/scans\">Scans</a> "
		            "<a href=\"/log\">Log</a>");
		if (!strcmp(c->s.role, "admin"))
			web_puts(c, " <a href=\"/admin/users\">Users</a>");
		web_puts(c, " <a href=\"/account\">Account</a>");
		web_puts(c, "</nav><span class=\"who\">");
		web_escs(c, c->s.user);
		web_printf(c, " (%s) <form method=\"post\" action=\"/signout\">", c->s.role);
		web_csrf_field(c);
		web_puts(c, "<button type=\"submit\">Sign out</button></form></span>");
	}
	web_puts(c, "</header><main>\n<h1>");
	web_escs(c, title);
	web_puts(c, "</h1>\n");
}

void web_page_end(struct web_ctx *c)
{
	web_puts(c, "\n</main>");
	web_script(c);
	web_puts(c, "</body></html>\n");
}

void web_page_message(struct web_ctx *c, int status, const char *title, const char *msg)
{
	pb_buf_reset(&c->out);
	c->status = status;
	web_page_begin(c, title);
	web_puts(c, status >= 400 ? "<p class=\"err\" role=\"alert\">" : "<p class=\"ok\">");
	web_escs(c, msg);
	web_puts(c, "</p>");
	web_page_end(c);
}

void web_redirect(struct web_ctx *c, const char *path)
{
	c->status = 303;
	web_header(c, "Location: %s", path);
	pb_buf_reset(&c->out);
}

void web_csrf_field(struct web_ctx *c)
{
	web_printf(c, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", c->s.csrf);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void web_answer(struct web_ctx *c, struct pb_buf *b)
{
	if (!c->nonce[0])
		nonce_new(c);
	pb_buf_printf(b, "HTTP/1.1 %d %s\r\n", c->status, reason(c->status));
	pb_buf_printf(b,
	              "Content-Type: %s\r\nContent-Length: %zu\r\n"
	              "Content-Security-Policy: default-src 'none'; connect-src 'self'; "
	              "script-src 'nonce-%s'; "
	              "style-src 'nonce-%s'; img-src 'self' data:; form-action 'self'; "
	              "frame-ancestors 'none'; base-uri 'none'\r\n"
	              "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"
	              "X-Frame-Options: DENY\r\nCross-Origin-Opener-Policy: same-origin\r\n"
	              "Cache-Control: no-store\r\n%s%s",
	              c->ctype, c->send_fd >= 0 ? (size_t)c->send_len : c->out.len, c->nonce, c->nonce,
	              c->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "",
	              c->close ? "Connection: close\r\n" : "");
	pb_buf_add(b, c->head.data ? c->head.data : "", c->head.len);
	pb_buf_adds(b, "\r\n");
	if (c->send_fd < 0)
		pb_buf_add(b, c->out.data ? c->out.data : "", c->out.len);
	c->nonce[0] = '\0';
}

void web_tmp_template(char *out, size_t cap, const char *prefix)
{
	const char *dir = getenv("TMPDIR");
	snprintf(out, cap, "%s/%s-XXXXXX", dir && *dir ? dir : "/tmp", prefix);
}
