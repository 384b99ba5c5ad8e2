/* md.c - notes as a small, safe Markdown (docs/web.md, "Notes").
 *
 * Everything is HTML-escaped first (web_esc: no <, >, " or ' is left, bytes
 * that are not UTF-8 become U+FFFD); only then is the escaped text read for
 * the subset: paragraphs (blank lines between), lists ("- ", "* ", "1. "),
 * `code`, **strong**, *emphasis*, [text](http(s)://...) links, and a
 * backslash before one of \`*_[] for the character itself. No raw HTML, no
 * images, no other URL scheme: a link to anything else stays text. All the
 * markup in the answer is ours, and nesting is at most strong > em > code.
 */
#include "web.h"

#include <stdint.h>
#include <string.h>

enum { IN_LINK = 1, IN_STRONG = 2, IN_EM = 4 };

/* The next "tok" in s[from..n), or n. */
static size_t find(const char *s, size_t n, size_t from, const char *tok)
{
	size_t tl = strlen(tok);
	for (size_t i = from; i + tl <= n; i++)
		if (!memcmp(s + i, tok, tl))
			return i;
	return n;
}

/* find with a memo: the last answer holds while it is at or past from (none
 * of tok lies between), so a line costs one pass per token, whatever it holds. */
static size_t find_m(const char *s, size_t n, size_t from, const char *tok, size_t *memo)
{
	if (*memo != SIZE_MAX && *memo >= from)
		return *memo;
	return *memo = find(s, n, from, tok);
}

static bool link_url_ok(const char *u, size_t n)
{
	size_t p = n >= 8 && !memcmp(u, "https://", 8) ? 8 : n >= 7 && !memcmp(u, "http://", 7) ? 7 : 0;
	if (!p || p == n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (u[i] == ' ' || u[i] == '\t' || u[i] == '\\' || u[i] == '`' || u[i] == '*')
			return false;
	return true;
}

/* One line's inline markup; s is escaped already and is copied as is. */
static void inline_md(struct web_ctx *c, const char *s, size_t n, unsigned in)
{
	size_t i = 0, lit = 0; /* s[lit..i) is pending plain text */
	size_t m_tick = SIZE_MAX, m_star2 = SIZE_MAX, m_star = SIZE_MAX, m_open = SIZE_MAX,
	       m_close = SIZE_MAX;
#define FLUSH() pb_buf_add(&c->out, s + lit, i - lit)
	while (i < n) {
		char ch = s[i];
		if (ch == '\\' && i + 1 < n && strchr("\\`*_[]", s[i + 1])) {
			FLUSH();
			pb_buf_add(&c->out, s + i + 1, 1);
			lit = i += 2;
			continue;
		}
		if (ch == '`') {
			size_t e = find_m(s, n, i + 1, "`", &m_tick);
			if (e < n && e > i + 1) {
				FLUSH();
				pb_buf_adds(&c->out, "<code>");
				pb_buf_add(&c->out, s + i + 1, e - i - 1);
				pb_buf_adds(&c->out, "</code>");
				lit = i = e + 1;
				continue;
			}
		} else if (ch == '*' && i + 1 < n && s[i + 1] == '*' && !(in & (IN_STRONG | IN_EM))) {
			size_t e = find_m(s, n, i + 2, "**", &m_star2);
			if (e < n && e > i + 2 && s[i + 2] != ' ') {
				FLUSH();
				pb_buf_adds(&c->out, "<strong>");
				inline_md(c, s + i + 2, e - i - 2, in | IN_STRONG);
				pb_buf_adds(&c->out, "</strong>");
				lit = i = e + 2;
				continue;
			}
		} else if (ch == '*' && !(in & IN_EM)) {
			size_t e = find_m(s, n, i + 1, "*", &m_star);
			if (e < n && e > i + 1 && s[i + 1] != ' ' && s[i + 1] != '*') {
				FLUSH();
				pb_buf_adds(&c->out, "<em>");
				inline_md(c, s + i + 1, e - i - 1, in | IN_EM);
				pb_buf_adds(&c->out, "</em>");
				lit = i = e + 1;
				continue;
			}
		} else if (ch == '[' && !in) {
			size_t m = find_m(s, n, i + 1, "](", &m_open);
			size_t e = m < n ? find_m(s, n, m + 2, ")", &m_close) : n;
			if (e < n && m > i + 1 && link_url_ok(s + m + 2, e - m - 2)) {
				FLUSH();
				pb_buf_adds(&c->out, "<a rel=\"nofollow noopener noreferrer\" href=\"");
				pb_buf_add(&c->out, s + m + 2, e - m - 2);
				pb_buf_adds(&c->out, "\">");
				inline_md(c, s + i + 1, m - i - 1, IN_LINK);
				pb_buf_adds(&c->out, "</a>");
				lit = i = e + 1;
				continue;
			}
		}
		i++;
	}
	FLUSH();
#undef FLUSH
}

/* The list marker's length at the start of line s ("- ", "* ", "12. "), or 0. */
static size_t item(const char *s, size_t n, bool *ordered)
{
	size_t i = 0;
	while (i < n && i < 3 && s[i] == ' ')
		i++;
	if (i + 1 < n && (s[i] == '-' || s[i] == '*') && s[i + 1] == ' ') {
		*ordered = false;
		return i + 2;
	}
	size_t d = i;
	while (d < n && d - i < 9 && s[d] >= '0' && s[d] <= '9')
		d++;
	if (d > i && d + 1 < n && s[d] == '.' && s[d + 1] == ' ') {
		*ordered = true;
		return d + 2;
	}
	return 0;
}

void web_markdown(struct web_ctx *c, const char *text, size_t n)
{
	/* escape first, into a buffer of our own */
	struct pb_buf esc, keep = c->out;
	pb_buf_init(&esc, keep.limit);
	c->out = esc;
	for (size_t i = 0, j; i < n; i = j) { /* CRLF (a form's line end) as LF */
		j = i;
		while (j < n && !(text[j] == '\r' && j + 1 < n && text[j + 1] == '\n'))
			j++;
		web_esc(c, text + i, j - i);
		if (j < n)
			j++;
	}
	esc = c->out;
	c->out = keep;
	const char *s = esc.data ? esc.data : "";
	enum { NONE, PARA, UL, OL };
	int open = NONE;
	static const char *const close_tag[] = { "", "</p>", "</li></ul>", "</li></ol>" };
	for (size_t at = 0; at < esc.len;) {
		size_t eol = find(s, esc.len, at, "\n"), len = eol - at;
		const char *line = s + at;
		at = eol + 1;
		size_t blank = 0;
		while (blank < len && (line[blank] == ' ' || line[blank] == '\t'))
			blank++;
		if (blank == len) {
			pb_buf_adds(&c->out, close_tag[open]);
			open = NONE;
			continue;
		}
		bool ordered = false;
		size_t mk = item(line, len, &ordered);
		if (mk) {
			int want = ordered ? OL : UL;
			if (open == want) {
				pb_buf_adds(&c->out, "</li><li>");
			} else {
				pb_buf_adds(&c->out, close_tag[open]);
				pb_buf_adds(&c->out, ordered ? "<ol><li>" : "<ul><li>");
				open = want;
			}
			inline_md(c, line + mk, len - mk, 0);
			continue;
		}
		if (open == NONE) {
			pb_buf_adds(&c->out, "<p>");
			open = PARA;
		} else {
			pb_buf_adds(&c->out, "\n"); /* a line that goes on a paragraph or an item */
		}
		inline_md(c, line + blank, len - blank, 0);
	}
	pb_buf_adds(&c->out, close_tag[open]);
	pb_buf_release(&esc);
}
