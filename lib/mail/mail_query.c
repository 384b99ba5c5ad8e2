/* mail_query.c - the search language: parse a query into a tree, compile the
 * tree to SQL over the mail tables and the FTS5 index.
 *
 * The language follows notmuch-search-terms(7), so that reviewers who know
 * notmuch (or Xapian) read it the same way:
 *   words, "phrases", word* (prefix), AND OR NOT XOR and parentheses, -word,
 *   a NEAR b, a NEAR/n b (within n words, any order), implicit AND between
 *   terms, except that terms of the same boolean field are ORed
 *   (from:a from:b is from:a OR from:b), fields from: to: subject: body:
 *   attachment: id: thread: tag: custodian: channel: folder: is: kind:
 *   date:A..B, and thread:{query} (every message of a thread that matches).
 * Operators are case-insensitive. There is no stemming: a word matches that
 * word (case and accents folded), which is what notmuch does for capitalised
 * words and phrases.
 *
 * Compilation: the largest subtrees that FTS5 can express (words, phrases,
 * NEAR, AND/OR of those, AND NOT) become one MATCH each; the rest is SQL.
 */
#include "mail/mail.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* FTS5 columns of mail_fts, as bits */
enum {
	C_SUBJECT = 1,
	C_SENDER = 2,
	C_RECIP = 4,
	C_BODY = 8,
	C_EXTRA = 16,
	C_ATTACH = 32,
	C_ALL = 63,
};
static const char *const col_names[] = { "subject", "sender", "recipients",
	                                 "body",    "extra",  "attach" };

enum qkind {
	Q_AND,
	Q_OR,
	Q_NOT,
	Q_NEAR,
	Q_ALL,
	Q_NONE,
	Q_TEXT,
	Q_ID,
	Q_THREAD,
	Q_THREADQ,
	Q_TAG,
	Q_CUSTODIAN,
	Q_CHANNEL,
	Q_FOLDER,
	Q_DATE,
	Q_IS,
	Q_KIND,
};

struct qnode {
	enum qkind kind;
	struct qnode **kids;
	size_t nkids;
	char *text;       /* Q_TEXT and the exact fields */
	unsigned cols;    /* Q_TEXT */
	bool prefix;      /* Q_TEXT: last word is a prefix */
	int near;         /* Q_NEAR: the n of NEAR/n */
	int64_t lo, hi;   /* Q_DATE (INT64_MIN/INT64_MAX: open), Q_THREAD, Q_IS bits */
	const char *field; /* the field it came from (for OR grouping and rendering) */
};

struct pb__mail_query {
	struct qnode *root;
	size_t nnodes;
};

/* ---- nodes ------------------------------------------------------------ */

static void node_free(struct qnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->text);
	free(n);
}

void pb__mail_query_free(struct pb__mail_query *q)
{
	if (!q)
		return;
	node_free(q->root);
	free(q);
}

/* ---- tokens ------------------------------------------------------------ */

enum tkind { T_END, T_WORD, T_PHRASE, T_FIELD, T_LP, T_RP, T_AND, T_OR, T_NOT, T_XOR, T_NEAR,
	     T_MINUS };

struct tok {
	enum tkind kind;
	char *text;     /* word, phrase, or field value */
	char field[16]; /* T_FIELD */
	bool quoted;    /* the value was quoted */
	bool braced;    /* thread:{...} */
	int near;       /* T_NEAR */
	size_t col;     /* 1-based byte column */
};

struct parser {
	const char *s;
	size_t n, i;
	struct tok t;
	struct pb_error *err;
	size_t nnodes;
	unsigned depth;
	enum pb_status st;
	unsigned tdepth; /* thread:{} nesting */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static enum pb_status perr(struct parser *p, size_t col, const char *fmt, const char *arg)
{
	if (p->st)
		return p->st;
	p->st = PB_EINVAL;
	if (p->err) {
		char msg[300];
		snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
		pb__err(p->err, PB_EINVAL, "query: column %zu: %s", col, msg);
		p->err->column = (uint32_t)col;
	}
	return p->st;
}

/* Reads a quoted string at s[i]=='"'; "" inside stands for one quote. */
static char *read_quoted(struct parser *p, size_t *i)
{
	size_t j = *i + 1;
	struct pb_buf b;
	pb_buf_init(&b, PB__MAIL_MAX_QUERY);
	for (;;) {
		if (j >= p->n) {
			pb_buf_release(&b);
			perr(p, *i + 1, "a quote is not closed%s", NULL);
			return NULL;
		}
		if (p->s[j] == '"') {
			if (j + 1 < p->n && p->s[j + 1] == '"') {
				pb_buf_addc(&b, '"');
				j += 2;
				continue;
			}
			j++;
			break;
		}
		pb_buf_addc(&b, p->s[j]);
		j++;
	}
	*i = j;
	char *r = b.data ? b.data : pb__strndup("", 0);
	return r;
}

static const char *const fields[] = { "from", "to", "subject", "body", "attachment", "id",
	                              "mid", "thread", "tag", "custodian", "channel", "folder",
	                              "date", "is", "kind" };

static bool known_field(const char *s, size_t n)
{
	for (size_t k = 0; k < PB_ARRAY_LEN(fields); k++)
		if (strlen(fields[k]) == n && !strncasecmp(s, fields[k], n))
			return true;
	return false;
}

/* "phrase"* : the star right after the closing quote makes a prefix */
static void star_after(struct parser *p, struct tok *t, size_t *i)
{
	if (*i < p->n && p->s[*i] == '*') {
		size_t l = strlen(t->text);
		char *nt = realloc(t->text, l + 2);
		if (nt) {
			nt[l] = '*';
			nt[l + 1] = '\0';
			t->text = nt;
		}
		(*i)++;
	}
}

static void tok_clear(struct tok *t)
{
	free(t->text);
	memset(t, 0, sizeof(*t));
}

/* A field token: name ':' value (quoted, braced or plain); w is the word,
 * fl the length of its name, v where its value starts, j where the word ends. */
static void field_token(struct parser *p, struct tok *t, const char *w, size_t fl, size_t v,
                        size_t j)
{
	t->kind = T_FIELD;
	snprintf(t->field, sizeof(t->field), "%.*s", (int)fl, w);
	for (char *f = t->field; *f; f++)
		*f = (char)tolower((unsigned char)*f);
	if (!strcmp(t->field, "mid"))
		pb__strlcpy(t->field, "id", sizeof(t->field));
	if (v < p->n && p->s[v] == '"') {
		t->text = read_quoted(p, &v);
		t->quoted = true;
		if (!t->text) {
			t->kind = T_END;
			return;
		}
		if (!strcmp(t->field, "thread") && t->text[0] == '{') {
			size_t tl = strlen(t->text);
			if (tl < 2 || t->text[tl - 1] != '}') {
				perr(p, t->col, "thread:\"{...}\" needs a closing brace%s", NULL);
				t->kind = T_END;
				return;
			}
			memmove(t->text, t->text + 1, tl - 2);
			t->text[tl - 2] = '\0';
			t->braced = true;
		}
		/* a quoted value may be followed by '*' */
		star_after(p, t, &v);
		p->i = v;
		return;
	}
	if (v < p->n && p->s[v] == '{' && !strcmp(t->field, "thread")) {
		int depth = 0;
		size_t k = v;
		for (; k < p->n; k++) {
			if (p->s[k] == '{')
				depth++;
			else if (p->s[k] == '}' && --depth == 0)
				break;
		}
		if (k >= p->n) {
			perr(p, t->col, "thread:{ is not closed%s", NULL);
			t->kind = T_END;
			return;
		}
		t->text = pb__strndup(p->s + v + 1, k - v - 1);
		t->braced = true;
		p->i = k + 1;
		return;
	}
	t->text = pb__strndup(p->s + v, j - v);
	p->i = j;
	if (!*t->text) {
		perr(p, t->col, "field '%s:' has no value", t->field);
		t->kind = T_END;
	}
}

/* An operator (AND, OR, NOT, XOR, NEAR/n) or a plain word: w, wl bytes. */
static void word_token(struct parser *p, struct tok *t, const char *w, size_t wl)
{
	if ((wl == 3 && !strncasecmp(w, "and", 3)))
		t->kind = T_AND;
	else if (wl == 2 && !strncasecmp(w, "or", 2))
		t->kind = T_OR;
	else if (wl == 3 && !strncasecmp(w, "not", 3))
		t->kind = T_NOT;
	else if (wl == 3 && !strncasecmp(w, "xor", 3))
		t->kind = T_XOR;
	else if (wl >= 4 && !strncasecmp(w, "near", 4) && (wl == 4 || w[4] == '/')) {
		t->kind = T_NEAR;
		t->near = 10;
		if (wl > 4) {
			int v = 0;
			size_t k = 5;
			for (; k < wl && w[k] >= '0' && w[k] <= '9' && v < 100000; k++)
				v = v * 10 + (w[k] - '0');
			if (k == 5 || k != wl || v > 1000) {
				perr(p, t->col, "NEAR/n needs a number from 0 to 1000%s", NULL);
				t->kind = T_END;
				return;
			}
			t->near = v;
		}
	} else if (wl >= 3 && !strncasecmp(w, "adj", 3) && (wl == 3 || w[3] == '/')) {
		perr(p, t->col, "ADJ is not supported; use NEAR/n, or a \"phrase\" for words in order%s",
		     NULL);
		t->kind = T_END;
	} else {
		t->kind = T_WORD;
		t->text = pb__strndup(w, wl);
	}
}

static void next(struct parser *p)
{
	tok_clear(&p->t);
	while (p->i < p->n && is_space(p->s[p->i]))
		p->i++;
	struct tok *t = &p->t;
	t->col = p->i + 1;
	if (p->i >= p->n) {
		t->kind = T_END;
		return;
	}
	char c = p->s[p->i];
	if (c == '(' || c == ')') {
		t->kind = c == '(' ? T_LP : T_RP;
		p->i++;
		return;
	}
	if (c == '"') {
		t->kind = T_PHRASE;
		t->text = read_quoted(p, &p->i);
		t->quoted = true;
		if (!t->text)
			t->kind = T_END;
		else
			star_after(p, t, &p->i);
		return;
	}
	if (c == '-' && p->i + 1 < p->n && !is_space(p->s[p->i + 1]) && p->s[p->i + 1] != ')') {
		t->kind = T_MINUS;
		p->i++;
		return;
	}
	size_t j = p->i;
	while (j < p->n && !is_space(p->s[j]) && p->s[j] != '(' && p->s[j] != ')' && p->s[j] != '"')
		j++;
	const char *w = p->s + p->i;
	size_t wl = j - p->i;
	/* a field: name ':' value (quoted, braced or plain) */
	const char *colon = memchr(w, ':', wl);
	if (colon && colon > w) {
		size_t fl = (size_t)(colon - w);
		bool letters = true;
		for (size_t k = 0; k < fl; k++)
			letters &= (w[k] >= 'a' && w[k] <= 'z') || (w[k] >= 'A' && w[k] <= 'Z');
		if (letters && !known_field(w, fl)) {
			char name[40];
			snprintf(name, sizeof(name), "%.*s", (int)(fl > 30 ? 30 : fl), w);
			perr(p, t->col,
			     "unknown field '%s:' (fields: from to subject body attachment id thread "
			     "tag custodian channel folder date is kind); quote it to search the text",
			     name);
			t->kind = T_END;
			return;
		}
		if (letters) {
			field_token(p, t, w, fl, (size_t)(colon - p->s) + 1, j);
			return;
		}
	}
	p->i = j;
	word_token(p, t, w, wl);
}

/* ---- the tree ------------------------------------------------------------- */

static struct qnode *mk(struct parser *p, enum qkind k)
{
	if (++p->nnodes > PB__MAIL_MAX_QNODES) {
		perr(p, p->t.col, "the query is too large (over %s terms)", "1000");
		return NULL;
	}
	struct qnode *n = calloc(1, sizeof(*n));
	if (!n && !p->st) {
		p->st = PB_ENOMEM;
		pb__err(p->err, PB_ENOMEM, "out of memory");
	}
	if (n)
		n->kind = k;
	return n;
}

static bool add_kid(struct parser *p, struct qnode *n, struct qnode *kid)
{
	if (!kid)
		return false;
	struct qnode **k = realloc(n->kids, (n->nkids + 1) * sizeof(*k));
	if (!k) {
		node_free(kid);
		if (!p->st) {
			p->st = PB_ENOMEM;
			pb__err(p->err, PB_ENOMEM, "out of memory");
		}
		return false;
	}
	n->kids = k;
	n->kids[n->nkids++] = kid;
	return true;
}

static bool has_word(const char *s)
{
	for (; *s; s++)
		if (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80)
			return true;
	return false;
}

static struct qnode *text_node(struct parser *p, const char *text, unsigned cols, bool quoted,
                               const char *field, size_t col)
{
	size_t n = strlen(text);
	bool prefix = false;
	if (n > 1 && text[n - 1] == '*')
		prefix = true, n--;
	char *t = pb__strndup(text, n);
	if (!t) {
		p->st = PB_ENOMEM;
		pb__err(p->err, PB_ENOMEM, "out of memory");
		return NULL;
	}
	if (!has_word(t)) {
		perr(p, col, "'%s' holds no word to search", t);
		free(t);
		return NULL;
	}
	(void)quoted;
	struct qnode *q = mk(p, Q_TEXT);
	if (!q) {
		free(t);
		return NULL;
	}
	q->text = t;
	q->cols = cols;
	q->prefix = prefix;
	q->field = field;
	return q;
}

/* date endpoints: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z], @epoch */
static bool date_point(const char *s, size_t n, bool upper, int64_t *out)
{
	if (n && s[0] == '@') {
		int64_t v = 0;
		size_t i = 1;
		bool neg = i < n && s[i] == '-';
		if (neg)
			i++;
		if (i == n)
			return false;
		for (; i < n; i++) {
			if (s[i] < '0' || s[i] > '9' || v > 1000000000000LL)
				return false;
			v = v * 10 + (s[i] - '0');
		}
		*out = neg ? -v : v;
		return true;
	}
	int y = 0;
	unsigned mo = 1, d = 1;
	if (n < 4)
		return false;
	for (size_t i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		y = y * 10 + (s[i] - '0');
	}
	if (n == 4) {
		*out = upper ? pb__days_from_civil(y + 1, 1, 1) * 86400 - 1
		             : pb__days_from_civil(y, 1, 1) * 86400;
		return true;
	}
	if (n < 7 || s[4] != '-' || !isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[6]))
		return false;
	mo = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	if (mo < 1 || mo > 12)
		return false;
	if (n == 7) {
		int ny = mo == 12 ? y + 1 : y;
		unsigned nm = mo == 12 ? 1 : mo + 1;
		*out = upper ? pb__days_from_civil(ny, nm, 1) * 86400 - 1
		             : pb__days_from_civil(y, mo, 1) * 86400;
		return true;
	}
	if (n < 10 || s[7] != '-' || !isdigit((unsigned char)s[8]) || !isdigit((unsigned char)s[9]))
		return false;
	d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	/* reject 2025-02-30: the day must survive a round trip */
	int64_t day = pb__days_from_civil(y, mo, d);
	int ry;
	unsigned rm, rd;
	pb__civil_from_days(day, &ry, &rm, &rd);
	if (d < 1 || ry != y || rm != mo || rd != d)
		return false;
	if (n == 10) {
		*out = upper ? day * 86400 + 86399 : day * 86400;
		return true;
	}
	int64_t t;
	unsigned flags;
	if (!pb_time_parse(s, n, &t, &flags))
		return false;
	*out = t + (upper && n <= 16 ? 59 : 0);
	return true;
}

static struct qnode *date_node(struct parser *p, const char *v, size_t col)
{
	const char *dots = strstr(v, "..");
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	size_t n = strlen(v);
	bool ok;
	if (dots) {
		size_t ln = (size_t)(dots - v), rn = n - ln - 2;
		ok = (ln == 0 || date_point(v, ln, false, &lo)) &&
		     (rn == 0 || date_point(dots + 2, rn, true, &hi)) && (ln || rn);
	} else {
		ok = date_point(v, n, false, &lo) && date_point(v, n, true, &hi);
	}
	if (!ok) {
		perr(p, col,
		     "date:%s is not a date range (write date:2025-01-01..2025-06-30, "
		     "date:2025-03, date:2024.., date:..2025-06-30 or date:@epoch..@epoch)",
		     v);
		return NULL;
	}
	struct qnode *q = mk(p, Q_DATE);
	if (q)
		q->lo = lo, q->hi = hi, q->field = "date";
	return q;
}

static const char *const is_names[] = { "encrypted", "signed", "exception", "truncated",
	                                "unparsed", "partial", "attachment" };

static struct qnode *parse_or(struct parser *p);

static struct qnode *field_node(struct parser *p)
{
	struct tok *t = &p->t;
	const char *f = t->field;
	const char *v = t->text;
	size_t col = t->col;
	struct qnode *q = NULL;
	static const struct {
		const char *name;
		unsigned cols;
	} textf[] = { { "from", C_SENDER },          { "to", C_RECIP },
		      { "subject", C_SUBJECT },      { "body", C_BODY | C_EXTRA },
		      { "attachment", C_ATTACH } };
	for (size_t k = 0; k < PB_ARRAY_LEN(textf); k++)
		if (!strcmp(f, textf[k].name))
			return text_node(p, v, textf[k].cols, t->quoted, textf[k].name, col);
	if (!strcmp(f, "date"))
		return date_node(p, v, col);
	if (!strcmp(f, "thread") && t->braced) {
		if (p->tdepth >= 3) {
			perr(p, col, "thread:{} nests more than 3 deep%s", NULL);
			return NULL;
		}
		p->depth++;
		struct parser sub = { v, strlen(v), 0, { 0 }, p->err, p->nnodes, p->depth, PB_OK,
			              p->tdepth + 1 };
		next(&sub);
		struct qnode *inner = sub.st ? NULL : parse_or(&sub);
		if (!sub.st && sub.t.kind != T_END)
			perr(&sub, sub.t.col, "unexpected text in thread:{...}%s", NULL);
		p->nnodes = sub.nnodes;
		p->depth--;
		tok_clear(&sub.t);
		if (sub.st) {
			node_free(inner);
			p->st = sub.st;
			/* the column inside the braces is not the query's: point at the field */
			if (p->err && sub.st == PB_EINVAL && p->tdepth == 0) {
				pb__err_prefix(p->err, "query: column %zu: in thread:{...}", col);
				p->err->column = (uint32_t)col;
			}
			return NULL;
		}
		q = mk(p, Q_THREADQ);
		if (q && !add_kid(p, q, inner)) {
			node_free(q);
			return NULL;
		}
		if (!q)
			node_free(inner);
		if (q)
			q->field = "thread";
		return q;
	}
	if (!strcmp(f, "thread")) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (*end || end == v || n < 1) {
			perr(p, col, "thread:%s is not a thread number (or thread:{query})", v);
			return NULL;
		}
		q = mk(p, Q_THREAD);
		if (q)
			q->lo = n, q->field = "thread";
		return q;
	}
	if (!strcmp(f, "is")) {
		int64_t bits = 0;
		if (!strcasecmp(v, "duplicate") || !strcasecmp(v, "tagged"))
			bits = -1;
		for (size_t k = 0; k < PB_ARRAY_LEN(is_names); k++)
			if (!strcasecmp(v, is_names[k]))
				bits = (int64_t)1 << k;
		if (!bits) {
			perr(p, col,
			     "is:%s is unknown (is:encrypted signed exception truncated unparsed "
			     "partial attachment duplicate tagged)",
			     v);
			return NULL;
		}
		q = mk(p, Q_IS);
		if (!q)
			return NULL;
		q->lo = bits;
		q->field = "is";
		q->text = pb__strndup(v, strlen(v));
		for (char *c = q->text; c && *c; c++)
			*c = (char)tolower((unsigned char)*c);
		return q;
	}
	if (!strcmp(f, "kind") && strcasecmp(v, "email") && strcasecmp(v, "slack") &&
	    strcasecmp(v, "teams")) {
		perr(p, col, "kind:%s is unknown (kind:email, kind:slack, kind:teams)", v);
		return NULL;
	}
	enum qkind k = !strcmp(f, "id")          ? Q_ID
	               : !strcmp(f, "tag")       ? Q_TAG
	               : !strcmp(f, "custodian") ? Q_CUSTODIAN
	               : !strcmp(f, "channel")   ? Q_CHANNEL
	               : !strcmp(f, "folder")    ? Q_FOLDER
	                                         : Q_KIND;
	q = mk(p, k);
	if (!q)
		return NULL;
	const char *val = v;
	size_t vl = strlen(v);
	if (k == Q_ID && vl >= 2 && val[0] == '<' && val[vl - 1] == '>')
		val++, vl -= 2;
	if (k == Q_CHANNEL && vl && val[0] == '#')
		val++, vl--;
	q->text = pb__strndup(val, vl);
	if (k == Q_KIND)
		for (char *c = q->text; c && *c; c++)
			*c = (char)tolower((unsigned char)*c);
	q->field = k == Q_ID ? "id" : k == Q_TAG ? "tag" : k == Q_CUSTODIAN ? "custodian"
	           : k == Q_CHANNEL ? "channel" : k == Q_FOLDER ? "folder" : "kind";
	return q;
}

static struct qnode *parse_primary(struct parser *p)
{
	if (++p->depth > 64) {
		perr(p, p->t.col, "the query nests too deep%s", NULL);
		return NULL;
	}
	struct qnode *q = NULL;
	struct tok *t = &p->t;
	switch (t->kind) {
	case T_LP:
		next(p);
		q = parse_or(p);
		if (!q)
			break;
		if (p->t.kind != T_RP) {
			node_free(q);
			q = NULL;
			perr(p, p->t.col, "a parenthesis is not closed%s", NULL);
			break;
		}
		next(p);
		break;
	case T_WORD:
		if (!strcmp(t->text, "*")) {
			q = mk(p, Q_ALL);
		} else {
			q = text_node(p, t->text, C_ALL, false, NULL, t->col);
		}
		if (q)
			next(p);
		break;
	case T_PHRASE:
		q = text_node(p, t->text, C_ALL, true, NULL, t->col);
		if (q)
			next(p);
		break;
	case T_FIELD:
		q = field_node(p);
		if (q)
			next(p);
		break;
	case T_RP:
		perr(p, t->col, "unexpected ')'%s", NULL);
		break;
	case T_END:
		perr(p, t->col, "the query ends where a term was expected%s", NULL);
		break;
	default:
		perr(p, t->col, "an operator where a term was expected%s", NULL);
		break;
	}
	p->depth--;
	return q;
}

static struct qnode *parse_near(struct parser *p)
{
	struct qnode *a = parse_primary(p);
	if (!a || p->t.kind != T_NEAR)
		return a;
	struct qnode *n = mk(p, Q_NEAR);
	if (!n || !add_kid(p, n, a)) {
		node_free(n);
		return NULL;
	}
	n->near = p->t.near;
	while (p->t.kind == T_NEAR) {
		if (p->t.near != n->near) {
			perr(p, p->t.col, "one NEAR group takes one distance%s", NULL);
			node_free(n);
			return NULL;
		}
		next(p);
		if (!add_kid(p, n, parse_primary(p))) {
			node_free(n);
			return NULL;
		}
	}
	/* FTS5 NEAR joins words and phrases of the same fields */
	for (size_t i = 0; i < n->nkids; i++)
		if (n->kids[i]->kind != Q_TEXT || n->kids[i]->cols != n->kids[0]->cols) {
			perr(p, p->t.col,
			     "NEAR joins words and phrases (of the same field), not %s",
			     "fields, groups or operators");
			node_free(n);
			return NULL;
		}
	return n;
}

static struct qnode *parse_unary(struct parser *p)
{
	if (p->t.kind == T_NOT || p->t.kind == T_MINUS) {
		if (++p->depth > 64) {
			perr(p, p->t.col, "the query nests too deep%s", NULL);
			return NULL;
		}
		next(p);
		struct qnode *inner = parse_unary(p);
		p->depth--;
		if (!inner)
			return NULL;
		if (inner->kind == Q_NOT) {
			/* NOT NOT a is a */
			struct qnode *a = inner->kids[0];
			inner->nkids = 0;
			node_free(inner);
			return a;
		}
		struct qnode *n = mk(p, Q_NOT);
		if (!n || !add_kid(p, n, inner)) {
			if (!n)
				node_free(inner);
			node_free(n);
			return NULL;
		}
		return n;
	}
	return parse_near(p);
}

static bool starts_term(enum tkind k)
{
	return k == T_WORD || k == T_PHRASE || k == T_FIELD || k == T_LP || k == T_MINUS;
}

/* Fields whose terms are ORed when written side by side (Xapian's boolean
 * prefixes as notmuch sets them up). */
static bool or_field(const char *f)
{
	static const char *const list[] = { "from", "subject", "id", "thread", "tag", "custodian",
		                            "channel", "folder", "is", "kind", "date" };
	if (!f)
		return false;
	for (size_t k = 0; k < PB_ARRAY_LEN(list); k++)
		if (!strcmp(f, list[k]))
			return true;
	return false;
}

static struct qnode *parse_and(struct parser *p)
{
	struct qnode *first = parse_unary(p);
	if (!first)
		return NULL;
	struct qnode *n = mk(p, Q_AND);
	if (!n) {
		node_free(first);
		return NULL;
	}
	bool *implicit = NULL;
	size_t cap = 0;
#define PUSH(kid, imp)                                                                \
	do {                                                                          \
		if (n->nkids == cap) {                                                \
			cap = cap ? cap * 2 : 8;                                      \
			bool *ni = realloc(implicit, cap * sizeof(*ni));              \
			if (!ni) {                                                    \
				node_free(kid);                                       \
				goto nomem;                                           \
			}                                                             \
			implicit = ni;                                                \
		}                                                                     \
		implicit[n->nkids] = (imp);                                           \
		if (!add_kid(p, n, (kid)))                                            \
			goto fail;                                                    \
	} while (0)
	PUSH(first, true);
	for (;;) {
		if (p->t.kind == T_AND) {
			next(p);
			struct qnode *k = parse_unary(p);
			if (!k)
				goto fail;
			PUSH(k, false);
		} else if (p->t.kind == T_NOT) {
			/* binary: a NOT b is a AND NOT b */
			next(p);
			struct qnode *k = parse_unary(p);
			if (!k)
				goto fail;
			struct qnode *neg = mk(p, Q_NOT);
			if (!neg) {
				node_free(k);
				goto fail;
			}
			if (!add_kid(p, neg, k)) {
				node_free(neg);
				goto fail;
			}
			PUSH(neg, false);
		} else if (starts_term(p->t.kind)) {
			struct qnode *k = parse_unary(p);
			if (!k)
				goto fail;
			PUSH(k, true);
		} else {
			break;
		}
	}
#undef PUSH
	/* group side-by-side terms of the same boolean field into one OR */
	if (n->nkids > 1) {
		size_t out = 0;
		for (size_t i = 0; i < n->nkids; i++) {
			struct qnode *k = n->kids[i];
			if (!k)
				continue;
			if (implicit[i] && k->kind != Q_NOT && or_field(k->field) &&
			    k->kind != Q_OR) {
				struct qnode *grp = NULL;
				for (size_t j = i + 1; j < n->nkids; j++) {
					struct qnode *o = n->kids[j];
					if (!o || !implicit[j] || o->kind == Q_NOT || !o->field ||
					    strcmp(o->field, k->field) || o->kind == Q_OR)
						continue;
					if (!grp) {
						if (!(grp = mk(p, Q_OR)) || !add_kid(p, grp, k)) {
							node_free(grp);
							goto fail;
						}
						grp->field = k->field;
					}
					n->kids[j] = NULL;
					if (!add_kid(p, grp, o))
						goto fail;
				}
				if (grp)
					k = grp;
			}
			n->kids[out++] = k;
		}
		n->nkids = out;
	}
	free(implicit);
	if (n->nkids == 1) {
		struct qnode *only = n->kids[0];
		n->nkids = 0;
		node_free(n);
		return only;
	}
	return n;
nomem:
	if (!p->st) {
		p->st = PB_ENOMEM;
		pb__err(p->err, PB_ENOMEM, "out of memory");
	}
fail:
	free(implicit);
	node_free(n);
	return NULL;
}

static struct qnode *parse_binary(struct parser *p, enum tkind op, enum qkind kind,
                                  struct qnode *(*sub)(struct parser *))
{
	struct qnode *a = sub(p);
	if (!a || p->t.kind != op)
		return a;
	struct qnode *n = mk(p, kind);
	if (!n || !add_kid(p, n, a)) {
		if (!n)
			node_free(a);
		node_free(n);
		return NULL;
	}
	while (p->t.kind == op) {
		next(p);
		if (!add_kid(p, n, sub(p))) {
			node_free(n);
			return NULL;
		}
	}
	return n;
}

static struct qnode *parse_xor_level(struct parser *p)
{
	struct qnode *a = parse_and(p);
	if (!a || p->t.kind != T_XOR)
		return a;
	/* XOR: an odd number of its terms hold (as in Xapian) */
	struct qnode *n = mk(p, Q_OR);
	if (!n || !add_kid(p, n, a)) {
		if (!n)
			node_free(a);
		node_free(n);
		return NULL;
	}
	n->near = -1;
	while (p->t.kind == T_XOR) {
		next(p);
		if (!add_kid(p, n, parse_and(p))) {
			node_free(n);
			return NULL;
		}
	}
	return n;
}

static struct qnode *parse_or(struct parser *p)
{
	return parse_binary(p, T_OR, Q_OR, parse_xor_level);
}

/* Nesting of operators: what the SQL made from the tree nests. */
static unsigned tree_depth(const struct qnode *n)
{
	unsigned d = 0;
	for (size_t i = 0; i < n->nkids; i++) {
		unsigned k = tree_depth(n->kids[i]);
		if (k > d)
			d = k;
	}
	return n->nkids ? d + 1 : 0;
}

enum pb_status pb__mail_query_parse(const char *text, struct pb__mail_query **out,
                                    struct pb_error *err)
{
	*out = NULL;
	if (!text)
		text = "";
	size_t n = strlen(text);
	if (n > PB__MAIL_MAX_QUERY)
		return pb__err(err, PB_ELIMIT, "query: %zu bytes, over %u", n, PB__MAIL_MAX_QUERY);
	if (!pb_utf8_valid(text, n, NULL))
		return pb__err(err, PB_EINVAL, "query: not valid UTF-8");
	struct parser p = { text, n, 0, { 0 }, err, 0, 0, PB_OK, 0 };
	next(&p);
	if (p.st)
		goto fail;
	if (p.t.kind == T_END) {
		pb__err(err, PB_EINVAL, "query: empty (use '*' for every message)");
		p.st = PB_EINVAL;
		goto fail;
	}
	struct qnode *root = parse_or(&p);
	if (root && !p.st && p.t.kind != T_END) {
		perr(&p, p.t.col,
		     p.t.kind == T_RP ? "unexpected ')'%s" : "unexpected text after the query%s", NULL);
	}
	if (p.st) {
		node_free(root);
		goto fail;
	}
	if (tree_depth(root) > PB__MAIL_MAX_QDEPTH) {
		node_free(root);
		tok_clear(&p.t);
		return pb__err(err, PB_EINVAL, "query: it nests operators more than %u deep",
		               PB__MAIL_MAX_QDEPTH);
	}
	struct pb__mail_query *q = calloc(1, sizeof(*q));
	if (!q) {
		node_free(root);
		tok_clear(&p.t);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	q->root = root;
	q->nnodes = p.nnodes;
	tok_clear(&p.t);
	*out = q;
	return PB_OK;
fail:
	tok_clear(&p.t);
	return p.st;
}

/* ---- rendering ------------------------------------------------------------- */

static enum pb_status render(const struct qnode *n, struct pb_buf *b)
{
	static const char *const names[] = {
		[Q_AND] = "and",       [Q_OR] = "or",         [Q_NOT] = "not",
		[Q_NEAR] = "near",     [Q_ALL] = "all",       [Q_NONE] = "none",
		[Q_TEXT] = "text",     [Q_ID] = "id",         [Q_THREAD] = "thread",
		[Q_THREADQ] = "thread-of", [Q_TAG] = "tag",   [Q_CUSTODIAN] = "custodian",
		[Q_CHANNEL] = "channel", [Q_FOLDER] = "folder", [Q_DATE] = "date",
		[Q_IS] = "is",         [Q_KIND] = "kind",
	};
	enum pb_status st = pb_buf_printf(b, "(%s",
	                                   n->kind == Q_OR && n->near == -1 ? "xor" : names[n->kind]);
	if (st)
		return st;
	switch (n->kind) {
	case Q_TEXT:
		pb_buf_addc(b, ' ');
		if (n->cols == C_ALL)
			pb_buf_adds(b, "*");
		else
			for (int c = 0, first = 1; c < 6; c++)
				if (n->cols & (1u << c)) {
					pb_buf_printf(b, "%s%s", first ? "" : ",", col_names[c]);
					first = 0;
				}
		pb_buf_addc(b, ' ');
		pb_buf_json_str(b, n->text, strlen(n->text));
		if (n->prefix)
			pb_buf_addc(b, '*');
		break;
	case Q_NEAR:
		pb_buf_printf(b, " %d", n->near);
		break;
	case Q_THREAD:
		pb_buf_printf(b, " %lld", (long long)n->lo);
		break;
	case Q_DATE: {
		char a[24] = "..", z[24] = "..";
		if (n->lo != INT64_MIN)
			pb_time_format(n->lo, a);
		if (n->hi != INT64_MAX)
			pb_time_format(n->hi, z);
		pb_buf_printf(b, " %s %s", a, z);
		break;
	}
	case Q_ID:
	case Q_TAG:
	case Q_CUSTODIAN:
	case Q_CHANNEL:
	case Q_FOLDER:
	case Q_IS:
	case Q_KIND:
		pb_buf_addc(b, ' ');
		pb_buf_json_str(b, n->text, strlen(n->text));
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n->nkids; i++) {
		pb_buf_addc(b, ' ');
		if ((st = render(n->kids[i], b)))
			return st;
	}
	return pb_buf_addc(b, ')');
}

enum pb_status pb__mail_query_render(const struct pb__mail_query *q, struct pb_buf *out)
{
	return render(q->root, out);
}

/* ---- compiling to SQL -------------------------------------------------------- */

/* FTS5 can express it: words, phrases, NEAR, and/or of those, and AND NOT. */
static bool fts_able(const struct qnode *n)
{
	switch (n->kind) {
	case Q_TEXT:
	case Q_NEAR:
		return true;
	case Q_OR:
		if (n->near == -1)
			return false; /* XOR */
		for (size_t i = 0; i < n->nkids; i++)
			if (!fts_able(n->kids[i]))
				return false;
		return true;
	case Q_AND: {
		bool pos = false;
		for (size_t i = 0; i < n->nkids; i++) {
			const struct qnode *k = n->kids[i];
			if (k->kind == Q_NOT) {
				if (!fts_able(k->kids[0]))
					return false;
			} else if (!fts_able(k)) {
				return false;
			} else {
				pos = true;
			}
		}
		return pos;
	}
	default:
		return false;
	}
}

static enum pb_status fts_phrase(const struct qnode *n, struct pb_buf *b)
{
	pb_buf_addc(b, '"');
	for (const char *c = n->text; *c; c++) {
		if (*c == '"')
			pb_buf_addc(b, '"');
		pb_buf_addc(b, *c);
	}
	pb_buf_addc(b, '"');
	if (n->prefix)
		pb_buf_adds(b, " *");
	return PB_OK;
}

static void fts_cols(unsigned cols, struct pb_buf *b)
{
	if (cols == C_ALL)
		return;
	pb_buf_addc(b, '{');
	for (int c = 0, first = 1; c < 6; c++)
		if (cols & (1u << c)) {
			pb_buf_printf(b, "%s%s", first ? "" : " ", col_names[c]);
			first = 0;
		}
	pb_buf_adds(b, "} : ");
}

static enum pb_status fts_expr(const struct qnode *n, struct pb_buf *b)
{
	switch (n->kind) {
	case Q_TEXT:
		fts_cols(n->cols, b);
		return fts_phrase(n, b);
	case Q_NEAR: {
		/* NEAR/n (within n words, notmuch's meaning) is FTS5's NEAR(..., N)
		 * with N = words between first and last = n + k - 3 */
		int dist = n->near + (int)n->nkids - 3;
		if (dist < 0 || n->near < 1) {
			pb_buf_adds(b, "\"\x01\""); /* never matches: NEAR/0 */
			return PB_OK;
		}
		fts_cols(n->kids[0]->cols, b);
		pb_buf_adds(b, "NEAR(");
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				pb_buf_addc(b, ' ');
			fts_phrase(n->kids[i], b);
		}
		return pb_buf_printf(b, ", %d)", dist);
	}
	case Q_OR:
		pb_buf_addc(b, '(');
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				pb_buf_adds(b, " OR ");
			fts_expr(n->kids[i], b);
		}
		return pb_buf_addc(b, ')');
	case Q_AND: {
		pb_buf_adds(b, "((");
		size_t np = 0, nn = 0;
		for (size_t i = 0; i < n->nkids; i++)
			if (n->kids[i]->kind != Q_NOT) {
				if (np++)
					pb_buf_adds(b, " AND ");
				fts_expr(n->kids[i], b);
			}
		pb_buf_addc(b, ')');
		for (size_t i = 0; i < n->nkids; i++)
			if (n->kids[i]->kind == Q_NOT) {
				pb_buf_adds(b, nn++ ? " OR " : " NOT (");
				fts_expr(n->kids[i]->kids[0], b);
			}
		if (nn)
			pb_buf_addc(b, ')');
		return pb_buf_addc(b, ')');
	}
	default:
		return PB_EINVAL;
	}
}

struct compile {
	struct pb__mail_sql *out;
	int64_t case_id;
	enum pb_status st;
};

static void bind_s(struct compile *c, const char *s)
{
	struct pb__sql_bind *b = realloc(c->out->binds, (c->out->nbinds + 1) * sizeof(*b));
	if (!b) {
		c->st = PB_ENOMEM;
		return;
	}
	c->out->binds = b;
	b[c->out->nbinds].is_int = false;
	b[c->out->nbinds].s = pb__strndup(s, strlen(s));
	if (!b[c->out->nbinds].s)
		c->st = PB_ENOMEM;
	c->out->nbinds++;
}

static void bind_i(struct compile *c, int64_t v)
{
	struct pb__sql_bind *b = realloc(c->out->binds, (c->out->nbinds + 1) * sizeof(*b));
	if (!b) {
		c->st = PB_ENOMEM;
		return;
	}
	c->out->binds = b;
	b[c->out->nbinds].is_int = true;
	b[c->out->nbinds].i = v;
	b[c->out->nbinds].s = NULL;
	c->out->nbinds++;
}

static void emit(struct compile *c, const struct qnode *n);

static void emit_match(struct compile *c, const struct qnode *n)
{
	struct pb_buf f;
	pb_buf_init(&f, 4 * PB__MAIL_MAX_QUERY);
	fts_expr(n, &f);
	pb_buf_adds(&c->out->sql, "m.id IN (SELECT rowid FROM mail_fts WHERE mail_fts MATCH ?)");
	bind_s(c, f.data ? f.data : "");
	pb_buf_release(&f);
}

static void emit(struct compile *c, const struct qnode *n)
{
	struct pb_buf *s = &c->out->sql;
	if (fts_able(n)) {
		emit_match(c, n);
		return;
	}
	switch (n->kind) {
	case Q_AND:
	case Q_OR:
		if (n->kind == Q_OR && n->near == -1) {
			/* XOR: an odd number of the terms hold */
			pb_buf_adds(s, "((");
			for (size_t i = 0; i < n->nkids; i++) {
				if (i)
					pb_buf_adds(s, " + ");
				pb_buf_addc(s, '(');
				emit(c, n->kids[i]);
				pb_buf_addc(s, ')');
			}
			pb_buf_adds(s, ") % 2 = 1)");
			return;
		}
		pb_buf_addc(s, '(');
		for (size_t i = 0; i < n->nkids; i++) {
			if (i)
				pb_buf_adds(s, n->kind == Q_AND ? " AND " : " OR ");
			emit(c, n->kids[i]);
		}
		pb_buf_addc(s, ')');
		return;
	case Q_NOT:
		pb_buf_adds(s, "NOT (");
		emit(c, n->kids[0]);
		pb_buf_addc(s, ')');
		return;
	case Q_ALL:
		pb_buf_adds(s, "1");
		return;
	case Q_NONE:
		pb_buf_adds(s, "0");
		return;
	case Q_ID:
		pb_buf_adds(s, "m.message_id = ?");
		bind_s(c, n->text);
		return;
	case Q_THREAD:
		pb_buf_adds(s, "m.thread_id = ?");
		bind_i(c, n->lo);
		return;
	case Q_THREADQ:
		pb_buf_adds(s, "m.thread_id IN (SELECT m.thread_id FROM mail_msg m WHERE ");
		emit(c, n->kids[0]);
		pb_buf_addc(s, ')');
		return;
	case Q_TAG:
		pb_buf_adds(s, "m.id IN (SELECT msg_id FROM mail_tag WHERE case_id = ? AND tag = ?)");
		bind_i(c, c->case_id);
		bind_s(c, n->text);
		return;
	case Q_CUSTODIAN:
		pb_buf_adds(s, "m.id IN (SELECT msg_id FROM mail_loc WHERE custodian = ?"
		                " COLLATE NOCASE)");
		bind_s(c, n->text);
		return;
	case Q_FOLDER:
		pb_buf_adds(s, "m.id IN (SELECT msg_id FROM mail_loc WHERE folder = ?)");
		bind_s(c, n->text);
		return;
	case Q_CHANNEL:
		/* "#general" for Slack, "Team / Channel" for Teams: either the whole
		 * name or its part after the team */
		pb_buf_adds(s, "(ltrim(m.channel, '#') = ? COLLATE NOCASE OR"
		                " (instr(m.channel, ' / ') > 0 AND"
		                " substr(m.channel, instr(m.channel, ' / ') + 3) = ? COLLATE NOCASE))");
		bind_s(c, n->text);
		bind_s(c, n->text);
		return;
	case Q_DATE:
		pb_buf_adds(s, "(m.date IS NOT NULL");
		if (n->lo != INT64_MIN) {
			pb_buf_adds(s, " AND m.date >= ?");
			bind_i(c, n->lo);
		}
		if (n->hi != INT64_MAX) {
			pb_buf_adds(s, " AND m.date <= ?");
			bind_i(c, n->hi);
		}
		pb_buf_addc(s, ')');
		return;
	case Q_IS:
		if (!strcmp(n->text, "duplicate")) {
			pb_buf_adds(s, "m.id IN (SELECT msg_id FROM mail_loc GROUP BY msg_id"
			                " HAVING count(*) > 1)");
		} else if (!strcmp(n->text, "tagged")) {
			pb_buf_adds(s, "m.id IN (SELECT msg_id FROM mail_tag WHERE case_id = ?)");
			bind_i(c, c->case_id);
		} else {
			pb_buf_adds(s, "(m.flags & ?) != 0");
			bind_i(c, n->lo);
		}
		return;
	case Q_KIND:
		pb_buf_adds(s, "m.kind = ?");
		bind_s(c, n->text);
		return;
	case Q_TEXT:
	case Q_NEAR:
		emit_match(c, n);
		return;
	}
}

/* The positive text terms, ORed, for snippet highlighting. */
static void highlight_terms(const struct qnode *n, bool neg, struct pb_buf *b)
{
	switch (n->kind) {
	case Q_TEXT:
	case Q_NEAR:
		if (neg)
			return;
		if (b->len)
			pb_buf_adds(b, " OR ");
		fts_expr(n, b);
		return;
	case Q_NOT:
		highlight_terms(n->kids[0], !neg, b);
		return;
	case Q_THREADQ:
		return; /* those terms need not be in the hits */
	default:
		for (size_t i = 0; i < n->nkids; i++)
			highlight_terms(n->kids[i], neg, b);
	}
}

enum pb_status pb__mail_query_sql(const struct pb__mail_query *q, int64_t case_id,
                                  struct pb__mail_sql *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	pb_buf_init(&out->sql, 64 * PB__MAIL_MAX_QUERY);
	struct compile c = { out, case_id, PB_OK };
	const struct qnode *r = q->root;
	struct pb_buf *s = &out->sql;
	if (fts_able(r)) {
		/* driven by the index alone */
		struct pb_buf f;
		pb_buf_init(&f, 4 * PB__MAIL_MAX_QUERY);
		fts_expr(r, &f);
		pb_buf_adds(s, "SELECT m.id FROM mail_fts JOIN mail_msg m ON m.id = mail_fts.rowid"
		                " WHERE mail_fts MATCH ?");
		bind_s(&c, f.data ? f.data : "");
		pb_buf_release(&f);
	} else if (r->kind == Q_AND) {
		/* the index part drives, the rest filters */
		struct qnode sub = { .kind = Q_AND };
		struct qnode *kids[PB__MAIL_MAX_QNODES];
		size_t nk = 0;
		bool pos = false;
		for (size_t i = 0; i < r->nkids; i++) {
			const struct qnode *k = r->kids[i];
			if (fts_able(k))
				kids[nk++] = (struct qnode *)k, pos = true;
		}
		for (size_t i = 0; i < r->nkids && pos; i++) {
			const struct qnode *k = r->kids[i];
			if (k->kind == Q_NOT && fts_able(k->kids[0]))
				kids[nk++] = (struct qnode *)k;
		}
		if (pos) {
			sub.kids = kids;
			sub.nkids = nk;
			struct pb_buf f;
			pb_buf_init(&f, 4 * PB__MAIL_MAX_QUERY);
			if (nk == 1)
				fts_expr(kids[0], &f);
			else
				fts_expr(&sub, &f);
			pb_buf_adds(s, "SELECT m.id FROM mail_fts JOIN mail_msg m ON"
			                " m.id = mail_fts.rowid WHERE mail_fts MATCH ?");
			bind_s(&c, f.data ? f.data : "");
			pb_buf_release(&f);
			for (size_t i = 0; i < r->nkids; i++) {
				const struct qnode *k = r->kids[i];
				bool used = false;
				for (size_t j = 0; j < nk; j++)
					used |= kids[j] == k;
				if (used)
					continue;
				pb_buf_adds(s, " AND ");
				emit(&c, k);
			}
		} else {
			pb_buf_adds(s, "SELECT m.id FROM mail_msg m WHERE ");
			emit(&c, r);
		}
	} else {
		pb_buf_adds(s, "SELECT m.id FROM mail_msg m WHERE ");
		emit(&c, r);
	}
	struct pb_buf h;
	pb_buf_init(&h, 8 * PB__MAIL_MAX_QUERY);
	highlight_terms(r, false, &h);
	if (h.len)
		out->highlight = h.data;
	else
		pb_buf_release(&h);
	if (c.st == PB_OK && s->len >= s->limit)
		c.st = PB_ELIMIT;
	if (c.st) {
		pb__mail_sql_release(out);
		return pb__err(err, c.st, c.st == PB_ENOMEM ? "out of memory" : "query too large");
	}
	return PB_OK;
}

void pb__mail_sql_release(struct pb__mail_sql *s)
{
	pb_buf_release(&s->sql);
	for (size_t i = 0; i < s->nbinds; i++)
		free(s->binds[i].s);
	free(s->binds);
	free(s->highlight);
	memset(s, 0, sizeof(*s));
}

enum pb_status pb__mail_sql_bind(sqlite3 *db, sqlite3_stmt *st, const struct pb__mail_sql *s,
                                 struct pb_error *err)
{
	for (size_t i = 0; i < s->nbinds; i++) {
		int rc = s->binds[i].is_int
		                 ? sqlite3_bind_int64(st, (int)i + 1, s->binds[i].i)
		                 : sqlite3_bind_text(st, (int)i + 1, s->binds[i].s, -1, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return pb__db_err(db, err, "cannot run the query");
	}
	return PB_OK;
}
