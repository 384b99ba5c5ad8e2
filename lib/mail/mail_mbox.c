/* mail_mbox.c - what kind a mail file is, and mbox splitting with offsets.
 *
 * We split mbox files ourselves rather than through GMime's mbox mode so that
 * every message has an exact byte range in the file: that range is what we
 * hash for chain of custody and what an export writes out. A From_ line only
 * separates messages when it looks like one ("From sender date", or
 * "From sender" followed by a header line), because real archives hold
 * unescaped "From ..." lines in bodies.
 */
#include "mail/mail.h"

#include <string.h>

#include "util/banned.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A header line: a field name of printable ASCII without ':' then ':'. */
static bool header_line(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	return i > 0 && i < n && p[i] == ':';
}

/* The line at p (up to end) is an mbox From_ line. */
static bool from_line(const char *p, const char *end)
{
	if (end - p < 6 || memcmp(p, "From ", 5) != 0)
		return false;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	const char *le = eol ? eol : end;
	if (le > p && le[-1] == '\r')
		le--;
	const char *s = p + 5;
	if (s >= le || *s == ' ')
		return false;
	while (s < le && *s != ' ')
		s++; /* the sender */
	while (s < le && *s == ' ')
		s++;
	if (s == le) {
		/* "From sender" alone: only when a header line follows */
		if (!eol)
			return true;
		const char *next = eol + 1;
		const char *ne = memchr(next, '\n', (size_t)(end - next));
		size_t nl = ne ? (size_t)(ne - next) : (size_t)(end - next);
		return header_line(next, nl) || from_line(next, end);
	}
	/* a date follows: it has a time of day, hh:mm */
	for (const char *q = s; q + 5 <= le; q++)
		if (is_digit(q[0]) && is_digit(q[1]) && q[2] == ':' && is_digit(q[3]) &&
		    is_digit(q[4]))
			return true;
	return false;
}

static size_t skip_bom(const char *d, size_t n)
{
	return n >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3) ? 3 : 0;
}

enum pb__mail_kind pb__mail_sniff(const char *d, size_t n)
{
	if (n == 0)
		return PB__KIND_EMPTY;
	if (n >= 4 && (!memcmp(d, "PK\x03\x04", 4) || !memcmp(d, "PK\x05\x06", 4)))
		return PB__KIND_ZIP;
	size_t i = skip_bom(d, n);
	while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	if (i == n)
		return PB__KIND_EMPTY;
	if (d[i] == '[' || d[i] == '{')
		return PB__KIND_JSON;
	if (from_line(d + i, d + n))
		return PB__KIND_MBOX;
	return PB__KIND_EML;
}

/* Where the header block starting at p ends (the start of the body). */
static const char *headers_end(const char *p, const char *end)
{
	const char *q = p;
	while (q < end) {
		const char *eol = memchr(q, '\n', (size_t)(end - q));
		if (!eol)
			return end;
		if (eol == q || (eol == q + 1 && q[0] == '\r'))
			return eol + 1;
		q = eol + 1;
	}
	return end;
}

/* The value of Content-Length in the header block [p, hend), or -1. */
static int64_t content_length(const char *p, const char *hend)
{
	static const char name[] = "content-length:";
	const char *q = p;
	while (q < hend) {
		const char *eol = memchr(q, '\n', (size_t)(hend - q));
		const char *le = eol ? eol : hend;
		if ((size_t)(le - q) > sizeof(name) - 1 && !strncasecmp(q, name, sizeof(name) - 1)) {
			const char *v = q + sizeof(name) - 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			int64_t n = 0;
			const char *v0 = v;
			while (v < le && is_digit(*v) && n < ((int64_t)1 << 50))
				n = n * 10 + (*v++ - '0');
			while (v < le && (*v == ' ' || *v == '\t' || *v == '\r'))
				v++;
			return v > v0 && v == le ? n : -1;
		}
		q = eol ? eol + 1 : hend;
	}
	return -1;
}

enum pb_status pb__mail_mbox_split(const char *d, size_t n, pb__mbox_fn fn, void *ctx,
                                   struct pb_error *err)
{
	const char *end = d + n;
	const char *p = d + skip_bom(d, n);
	while (p < end && (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t'))
		p++;
	if (p < end && !from_line(p, end))
		return pb__err(err, PB_EFORMAT, "not an mbox file: no From_ line at the start");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *start = eol ? eol + 1 : end;
		const char *next = NULL;
		/* Content-Length framing, when it lands where a message may end */
		const char *hend = headers_end(start, end);
		int64_t cl = content_length(start, hend);
		if (cl >= 0 && (uint64_t)cl <= (uint64_t)(end - hend)) {
			const char *cand = hend + cl;
			const char *c = cand;
			if (c < end && *c == '\n')
				c++;
			else if (c + 1 < end && c[0] == '\r' && c[1] == '\n')
				c += 2;
			if (cand == end || c == end)
				next = end;
			else if (from_line(c, end))
				next = c;
		}
		if (!next) {
			const char *q = start;
			next = end;
			while (q < end) {
				const char *f = memmem(q, (size_t)(end - q), "\nFrom ", 6);
				if (!f)
					break;
				if (from_line(f + 1, end)) {
					next = f + 1;
					break;
				}
				q = f + 1;
			}
		}
		/* the blank line before the next From_ (or at the end) is framing */
		const char *mend = next;
		if (mend - start >= 2 && mend[-1] == '\n' && mend[-2] == '\n')
			mend--;
		else if (mend - start >= 4 && !memcmp(mend - 4, "\r\n\r\n", 4))
			mend -= 2;
		if (mend < start)
			mend = start;
		struct pb__mbox_msg m = {
			.offset = (uint64_t)(start - d),
			.length = (uint64_t)(mend - start),
			.from_line = (uint64_t)(p - d),
			.truncated_end = next == end && n > 0 && d[n - 1] != '\n',
		};
		enum pb_status st = fn(ctx, &m, err);
		if (st)
			return st;
		p = next;
	}
	return PB_OK;
}
