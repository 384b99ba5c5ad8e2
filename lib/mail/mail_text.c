/* mail_text.c - text repair and conversion for the mail module.
 *
 * Everything that reaches the index or an export goes through
 * pb__mail_utf8_append, so stored text is always valid UTF-8 with LF line
 * ends, whatever the archive held. Charsets go through iconv (names made
 * canonical by GMime); what iconv does not know is read as windows-1252, the
 * charset mislabelled mail is most often really in, and the caller records a
 * warning.
 */
#include "mail/mail.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include <gmime/gmime.h>

#include "util/banned.h"

/* ---- UTF-8 repair ----------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (0 when invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t need;
	unsigned cp, min;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1, cp = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2, cp = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return need + 1;
}

/* Adds what fits of p[0..n) (cut on a character boundary); false when cut. */
static bool add_capped(struct pb_buf *out, const unsigned char *p, size_t n)
{
	size_t room = out->limit > out->len ? out->limit - out->len : 0;
	if (n <= room)
		return pb_buf_add(out, p, n) == PB_OK;
	size_t k = room;
	while (k > 0 && (p[k] & 0xC0) == 0x80)
		k--;
	if (k)
		pb_buf_add(out, p, k);
	return false;
}

size_t pb__mail_utf8_append(struct pb_buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, bad = 0;
	static const unsigned char repl[3] = { 0xEF, 0xBF, 0xBD };
	while (i < n) {
		unsigned c = s[i];
		if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t len = utf8_seq(s + i, n - i);
			if (len) {
				i += len;
				continue;
			}
		}
		if (i > run && !add_capped(out, s + run, i - run))
			return (size_t)-1;
		if (c == '\r') {
			if (!add_capped(out, (const unsigned char *)"\n", 1))
				return (size_t)-1;
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
		} else if (c < 0x80) {
			if (!add_capped(out, (const unsigned char *)" ", 1))
				return (size_t)-1;
		} else {
			bad++;
			if (!add_capped(out, repl, 3))
				return (size_t)-1;
		}
		i++;
		run = i;
	}
	if (n > run && !add_capped(out, s + run, n - run))
		return (size_t)-1;
	return bad;
}

/* ---- charsets --------------------------------------------------------- */

/* windows-1252 0x80..0x9F; other bytes are Latin-1. 0 = undefined. */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
	0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static enum pb_status add_cp(struct pb_buf *out, unsigned cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return add_capped(out, b, n) ? PB_OK : PB_ELIMIT;
}

static enum pb_status from_cp1252(const unsigned char *s, size_t n, struct pb_buf *out)
{
	struct pb_buf tmp;
	pb_buf_init(&tmp, out->limit);
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < n && st == PB_OK; i++) {
		unsigned c = s[i];
		if (c >= 0x80 && c < 0xA0)
			c = cp1252_high[c - 0x80] ? cp1252_high[c - 0x80] : 0xFFFD;
		st = add_cp(&tmp, c);
	}
	/* through the repair, for the line ends and controls */
	if (pb__mail_utf8_append(out, tmp.data ? tmp.data : "", tmp.len) == (size_t)-1)
		st = PB_ELIMIT;
	pb_buf_release(&tmp);
	return st;
}

static bool is_utf8_name(const char *cs)
{
	return !cs || !*cs || !strcasecmp(cs, "utf-8") || !strcasecmp(cs, "utf8") ||
	       !strcasecmp(cs, "us-ascii") || !strcasecmp(cs, "ascii");
}

enum pb_status pb__mail_charset_to_utf8(const char *charset, const char *str, size_t n,
                                        struct pb_buf *out, bool *unknown, bool *lossy)
{
	*unknown = false;
	*lossy = false;
	const unsigned char *s = (const unsigned char *)str;
	if (is_utf8_name(charset)) {
		if (pb_utf8_valid(str, n, NULL))
			return pb__mail_utf8_append(out, str, n) == (size_t)-1 ? PB_ELIMIT : PB_OK;
		/* 8-bit text that is not UTF-8: the usual culprit is windows-1252 */
		*lossy = true;
		return from_cp1252(s, n, out);
	}
	pb__mail_gmime_init();
	const char *name = g_mime_charset_iconv_name(charset);
	iconv_t cd = iconv_open("UTF-8", name ? name : charset);
	if (cd == (iconv_t)-1) {
		*unknown = true;
		if (pb_utf8_valid(str, n, NULL))
			return pb__mail_utf8_append(out, str, n) == (size_t)-1 ? PB_ELIMIT : PB_OK;
		return from_cp1252(s, n, out);
	}
	enum pb_status st = PB_OK;
	struct pb_buf conv;
	pb_buf_init(&conv, (size_t)out->limit + 64);
	char chunk[8192];
	char *in = (char *)(uintptr_t)str;
	size_t inleft = n;
	while (inleft > 0 && st == PB_OK) {
		char *o = chunk;
		size_t oleft = sizeof(chunk);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		int e = errno;
		if (o > chunk && pb_buf_add(&conv, chunk, (size_t)(o - chunk)) != PB_OK)
			st = PB_ELIMIT;
		if (r == (size_t)-1) {
			if (e == E2BIG)
				continue;
			/* EILSEQ or EINVAL (cut sequence at the end): one byte becomes U+FFFD */
			*lossy = true;
			if (pb_buf_add(&conv, "\xEF\xBF\xBD", 3) != PB_OK)
				st = PB_ELIMIT;
			in++;
			inleft--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	/* flush a stateful encoding's shift sequence */
	{
		char *o = chunk;
		size_t oleft = sizeof(chunk);
		iconv(cd, NULL, NULL, &o, &oleft);
		if (o > chunk && st == PB_OK && pb_buf_add(&conv, chunk, (size_t)(o - chunk)))
			st = PB_ELIMIT;
	}
	iconv_close(cd);
	if (pb__mail_utf8_append(out, conv.data ? conv.data : "", conv.len) == (size_t)-1)
		st = PB_ELIMIT;
	pb_buf_release(&conv);
	return st;
}

/* ---- HTML ------------------------------------------------------------- */

struct entity {
	const char *name;
	unsigned cp;
};
/* The named entities mail actually uses; others stay as written. */
static const struct entity entities[] = {
	{ "amp", '&' },     { "lt", '<' },       { "gt", '>' },       { "quot", '"' },
	{ "apos", '\'' },   { "nbsp", 0xA0 },    { "copy", 0xA9 },    { "reg", 0xAE },
	{ "trade", 0x2122 }, { "mdash", 0x2014 }, { "ndash", 0x2013 }, { "hellip", 0x2026 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201C }, { "rdquo", 0x201D },
	{ "laquo", 0xAB },  { "raquo", 0xBB },   { "bull", 0x2022 },  { "middot", 0xB7 },
	{ "euro", 0x20AC }, { "pound", 0xA3 },   { "yen", 0xA5 },     { "cent", 0xA2 },
	{ "sect", 0xA7 },   { "deg", 0xB0 },     { "times", 0xD7 },   { "divide", 0xF7 },
	{ "eacute", 0xE9 }, { "egrave", 0xE8 },  { "agrave", 0xE0 },  { "aacute", 0xE1 },
	{ "ccedil", 0xE7 }, { "uuml", 0xFC },    { "ouml", 0xF6 },    { "auml", 0xE4 },
	{ "Uuml", 0xDC },   { "Ouml", 0xD6 },    { "Auml", 0xC4 },    { "szlig", 0xDF },
	{ "iacute", 0xED }, { "oacute", 0xF3 },  { "uacute", 0xFA },  { "ntilde", 0xF1 },
	{ "ecirc", 0xEA },  { "ocirc", 0xF4 },   { "shy", 0xAD },     { "zwnj", 0x200C },
};

static const char *const block_tags[] = {
	"p",  "div", "br",  "li", "tr",    "table", "h1",     "h2",  "h3",  "h4",
	"h5", "h6",  "ul",  "ol", "hr",    "pre",   "blockquote", "dt", "dd",
	"section", "article", "header", "footer", "title",
};

struct html_out {
	struct pb_buf *out;
	bool space;   /* a pending space */
	int newlines; /* pending line breaks (0..2) */
	bool any;     /* something written */
	enum pb_status st;
};

static void ho_flush_ws(struct html_out *h)
{
	if (!h->any) {
		h->space = false;
		h->newlines = 0;
		return;
	}
	if (h->newlines) {
		if (h->st == PB_OK)
			h->st = pb_buf_add(h->out, "\n\n", (size_t)(h->newlines > 1 ? 2 : 1));
	} else if (h->space) {
		if (h->st == PB_OK)
			h->st = pb_buf_addc(h->out, ' ');
	}
	h->space = false;
	h->newlines = 0;
}

static void ho_bytes(struct html_out *h, const char *p, size_t n)
{
	ho_flush_ws(h);
	if (h->st == PB_OK)
		h->st = pb_buf_add(h->out, p, n);
	h->any = true;
}

static void ho_cp(struct html_out *h, unsigned cp)
{
	if (cp == 0xA0 || cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
		h->space = true;
		return;
	}
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	ho_flush_ws(h);
	if (h->st == PB_OK)
		h->st = add_cp(h->out, cp);
	h->any = true;
}

static bool tag_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && !strncasecmp(name, want, n);
}

/* Decodes the entity at s[0]=='&'; returns bytes used (0: not an entity). */
static size_t entity_at(const char *s, size_t n, unsigned *cp)
{
	if (n < 3)
		return 0;
	if (s[1] == '#') {
		size_t i = 2;
		unsigned base = 10, v = 0;
		if (i < n && (s[i] == 'x' || s[i] == 'X'))
			base = 16, i++;
		size_t start = i;
		while (i < n && i - start < 8) {
			char c = s[i];
			int d = c >= '0' && c <= '9' ? c - '0'
			        : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
			        : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
			                                             : -1;
			if (d < 0)
				break;
			v = v * base + (unsigned)d;
			i++;
		}
		if (i == start)
			return 0;
		if (i < n && s[i] == ';')
			i++;
		*cp = v;
		return i;
	}
	size_t i = 1;
	while (i < n && i < 12 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	                           (s[i] >= '0' && s[i] <= '9')))
		i++;
	for (size_t k = 0; k < PB_ARRAY_LEN(entities); k++) {
		size_t len = strlen(entities[k].name);
		if (len == i - 1 && !memcmp(s + 1, entities[k].name, len)) {
			*cp = entities[k].cp;
			return i < n && s[i] == ';' ? i + 1 : i;
		}
	}
	return 0;
}

enum pb_status pb__mail_html_to_text(const char *s, size_t n, struct pb_buf *out)
{
	struct html_out h = { out, false, 0, false, PB_OK };
	size_t i = 0;
	const char *skip_until = NULL; /* inside <script> or <style> */
	while (i < n && h.st == PB_OK) {
		char c = s[i];
		if (c == '<') {
			if (i + 3 < n && !memcmp(s + i, "<!--", 4)) {
				const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
				i = end ? (size_t)(end - s) + 3 : n;
				continue;
			}
			size_t j = i + 1;
			bool closing = false;
			if (j < n && s[j] == '/')
				closing = true, j++;
			size_t name0 = j;
			while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
			                 (s[j] >= '0' && s[j] <= '9')))
				j++;
			size_t namelen = j - name0;
			bool is_tag = namelen > 0 || (j < n && (s[j] == '!' || s[j] == '?'));
			if (!is_tag) {
				if (!skip_until)
					ho_bytes(&h, "<", 1);
				i++;
				continue;
			}
			/* find the end of the tag, skipping quoted attribute values */
			char q = 0;
			while (j < n) {
				if (q) {
					if (s[j] == q)
						q = 0;
				} else if (s[j] == '"' || s[j] == '\'') {
					q = s[j];
				} else if (s[j] == '>') {
					break;
				}
				j++;
			}
			const char *name = s + name0;
			if (skip_until) {
				if (closing && tag_is(name, namelen, skip_until))
					skip_until = NULL;
			} else if (!closing && (tag_is(name, namelen, "script") ||
			                        tag_is(name, namelen, "style"))) {
				skip_until = tag_is(name, namelen, "script") ? "script" : "style";
			} else {
				for (size_t k = 0; k < PB_ARRAY_LEN(block_tags); k++)
					if (tag_is(name, namelen, block_tags[k])) {
						bool para = tag_is(name, namelen, "p") ||
						            tag_is(name, namelen, "div") ||
						            tag_is(name, namelen, "table");
						int want = para ? 2 : 1;
						if (h.newlines < want)
							h.newlines = want;
						break;
					}
				if (tag_is(name, namelen, "td") || tag_is(name, namelen, "th"))
					h.space = true; /* cells of a row stay on one line */
			}
			i = j < n ? j + 1 : n;
			continue;
		}
		if (skip_until) {
			i++;
			continue;
		}
		if (c == '&') {
			unsigned cp;
			size_t used = entity_at(s + i, n - i, &cp);
			if (used) {
				ho_cp(&h, cp);
				i += used;
				continue;
			}
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			h.space = true;
			i++;
			continue;
		}
		/* a run of ordinary bytes (an '&' that is no entity is one of them) */
		size_t j = i + 1;
		while (j < n && s[j] != '<' && s[j] != '&' && s[j] != ' ' && s[j] != '\t' &&
		       s[j] != '\n' && s[j] != '\r' && s[j] != '\f')
			j++;
		ho_bytes(&h, s + i, j - i);
		i = j;
	}
	if (h.st == PB_OK && out->len && out->data[out->len - 1] != '\n')
		h.st = pb_buf_addc(out, '\n');
	return h.st;
}

/* ---- Slack mrkdwn ------------------------------------------------------ */

static enum pb_status add_entity_text(struct pb_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == '&') {
			unsigned cp;
			size_t used = entity_at(s + i, n - i, &cp);
			if (used) {
				enum pb_status st = add_cp(out, cp);
				if (st)
					return st;
				i += used;
				continue;
			}
		}
		size_t j = i + 1;
		while (j < n && s[j] != '&')
			j++;
		enum pb_status st = pb_buf_add(out, s + i, j - i);
		if (st)
			return st;
		i = j;
	}
	return PB_OK;
}

enum pb_status pb__mail_mrkdwn_to_text(const char *s, size_t n, pb__mail_user_lookup lookup,
                                       void *ctx, struct pb_buf *out)
{
	enum pb_status st = PB_OK;
	size_t i = 0;
	while (i < n && st == PB_OK) {
		const char *lt = memchr(s + i, '<', n - i);
		size_t upto = lt ? (size_t)(lt - s) : n;
		if (upto > i)
			st = add_entity_text(out, s + i, upto - i);
		if (!lt || st)
			break;
		const char *gt = memchr(lt, '>', n - upto);
		if (!gt) {
			st = add_entity_text(out, lt, n - upto);
			break;
		}
		const char *in = lt + 1;
		size_t inlen = (size_t)(gt - in);
		const char *bar = memchr(in, '|', inlen);
		size_t keylen = bar ? (size_t)(bar - in) : inlen;
		const char *label = bar ? bar + 1 : NULL;
		size_t labellen = bar ? (size_t)(gt - label) : 0;
		if (inlen && in[0] == '@') {
			const char *name = lookup ? lookup(ctx, in + 1, keylen - 1) : NULL;
			st = pb_buf_addc(out, '@');
			if (!st) {
				if (label && labellen)
					st = add_entity_text(out, label[0] == '@' ? label + 1 : label,
					                     label[0] == '@' ? labellen - 1 : labellen);
				else if (name)
					st = pb_buf_adds(out, name);
				else
					st = pb_buf_add(out, in + 1, keylen - 1);
			}
		} else if (inlen && in[0] == '#') {
			st = pb_buf_addc(out, '#');
			if (!st)
				st = label ? add_entity_text(out, label, labellen)
				           : pb_buf_add(out, in + 1, keylen - 1);
		} else if (inlen && in[0] == '!') {
			if (label)
				st = add_entity_text(out, label, labellen);
			else {
				st = pb_buf_addc(out, '@');
				if (!st)
					st = pb_buf_add(out, in + 1, keylen - 1);
			}
		} else if (label) {
			st = add_entity_text(out, label, labellen);
			if (!st)
				st = pb_buf_adds(out, " <");
			if (!st)
				st = add_entity_text(out, in, keylen);
			if (!st)
				st = pb_buf_addc(out, '>');
		} else {
			st = add_entity_text(out, in, inlen);
		}
		i = (size_t)(gt - s) + 1;
	}
	return st;
}
