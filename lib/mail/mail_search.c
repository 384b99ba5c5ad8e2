/* mail_search.c - search inside a case, hit reports, tags, show, stats and the
 * processing-exceptions list.
 *
 * Every act a reviewer takes on the archive inside a case (a search, a term of
 * a hit report, a tag, a view) is one transaction that ends with its entry in
 * the case's log, through mail_case.c: if the entry cannot be written, the act
 * did not happen.
 */
#include "mail/mail.h"
#include "mail/mail_case.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* ---- small helpers ------------------------------------------------------- */

const char *pb_mail_flag_name(unsigned bit)
{
	switch (bit) {
	case PB_MAIL_ENCRYPTED:
		return "encrypted";
	case PB_MAIL_SIGNED:
		return "signed";
	case PB_MAIL_EXCEPTION:
		return "exception";
	case PB_MAIL_TRUNCATED:
		return "truncated";
	case PB_MAIL_UNPARSED:
		return "unparsed";
	case PB_MAIL_PARTIAL:
		return "partial";
	case PB_MAIL_ATTACHMENT:
		return "attachment";
	default:
		return NULL;
	}
}

enum pb_status pb__mail_json_str(struct pb_buf *b, const char *s)
{
	if (!s)
		return pb_buf_adds(b, "null");
	return pb_buf_json_str(b, s, strlen(s));
}

void pb__mail_json_parsed(struct pb_buf *b, const char *canon)
{
	size_t n = canon ? strlen(canon) : 0;
	if (n <= 8192) {
		pb_buf_adds(b, ",\"parsed\":");
		pb__mail_json_str(b, canon);
		return;
	}
	uint8_t h[32];
	char hex[65];
	pb__sha256(canon, n, h);
	pb_hex(h, 32, hex);
	pb_buf_printf(b, ",\"parsed_sha256\":\"%s\"", hex);
}

static char *dup_col(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return pb__strndup(t ? t : "", t ? (size_t)sqlite3_column_bytes(s, i) : 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pb__mail_hash_lines(char **lines, size_t n, char out[65])
{
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_str);
	struct pb_sha256 h;
	uint8_t d[32];
	if (pb__sha256_init(&h) != PB_OK) {
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pb__sha256_update(&h, lines[i], strlen(lines[i]));
		pb__sha256_update(&h, "\n", 1);
	}
	pb__sha256_final(&h, d);
	pb_hex(d, 32, out);
}

void pb__mail_hits_release(struct pb__mail_hits *h)
{
	for (size_t i = 0; h->lines && i < h->n; i++)
		free(h->lines[i]);
	free(h->lines);
	free(h->ids);
	free(h->threads);
	free(h->highlight);
	memset(h, 0, sizeof(*h));
}

enum pb_status pb__mail_run(struct pb_ws *ws, const struct pb__mail_query *q, int64_t case_id,
                            bool newest_first, struct pb__mail_hits *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	struct pb__mail_sql sql;
	enum pb_status st = pb__mail_query_sql(q, case_id, &sql, err);
	if (st)
		return st;
	/* the compiled query selects m.id; widen it to what the hash needs */
	struct pb_buf full;
	pb_buf_init(&full, sql.sql.limit + 256);
	const char *body = sql.sql.data + strlen("SELECT m.id");
	pb_buf_adds(&full, "SELECT m.id, m.thread_id, m.message_id, m.body_sha256");
	pb_buf_adds(&full, body);
	pb_buf_adds(&full, newest_first ? " ORDER BY m.date IS NULL DESC, m.date DESC, m.id DESC"
	                                 : " ORDER BY m.date IS NULL, m.date, m.id");
	sqlite3_stmt *s = NULL;
	char **lines = NULL;
	size_t cap = 0;
	if ((st = pb__db_prepare(ws->db, full.data, &s, err)))
		goto out;
	if ((st = pb__mail_sql_bind(ws->db, s, &sql, err)))
		goto out;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap ? cap * 2 : 256;
			int64_t *ni = realloc(out->ids, cap * sizeof(*ni));
			int64_t *nt = ni ? realloc(out->threads, cap * sizeof(*nt)) : NULL;
			char **nl = nt ? realloc(lines, cap * sizeof(*nl)) : NULL;
			if (ni)
				out->ids = ni;
			if (nt)
				out->threads = nt;
			if (nl)
				lines = nl;
			if (!ni || !nt || !nl) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				goto out;
			}
		}
		out->ids[out->n] = sqlite3_column_int64(s, 0);
		out->threads[out->n] = sqlite3_column_int64(s, 1);
		const char *mid = (const char *)sqlite3_column_text(s, 2);
		const char *bh = (const char *)sqlite3_column_text(s, 3);
		size_t ml = strlen(mid ? mid : ""), bl = strlen(bh ? bh : "");
		char *line = malloc(ml + bl + 2);
		if (!line) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(line, mid ? mid : "", ml);
		line[ml] = '\t';
		memcpy(line + ml + 1, bh ? bh : "", bl + 1);
		lines[out->n++] = line;
	}
	if (rc != SQLITE_DONE) {
		/* FTS5 reports bad MATCH syntax here; our compiler should never make one */
		st = pb__db_err(ws->db, err, "cannot run the query");
		goto out;
	}
	{
		/* the hash sorts; the hits keep their order */
		char **sorted = malloc((out->n ? out->n : 1) * sizeof(*sorted));
		if (!sorted) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		if (out->n)
			memcpy(sorted, lines, out->n * sizeof(*sorted));
		pb__mail_hash_lines(sorted, out->n, out->sha256);
		free(sorted);
	}
	out->lines = lines;
	lines = NULL;
	out->highlight = sql.highlight;
	sql.highlight = NULL;
out:
	if (lines) {
		for (size_t i = 0; i < out->n; i++)
			free(lines[i]);
		free(lines);
	}
	sqlite3_finalize(s);
	pb_buf_release(&full);
	pb__mail_sql_release(&sql);
	if (st)
		pb__mail_hits_release(out);
	return st;
}

enum pb_status pb__mail_resolve(struct pb_ws *ws, const char *ref, int64_t *id,
                                struct pb_error *err)
{
	if (!ref || !*ref)
		return pb__err(err, PB_EINVAL, "no message given");
	bool digits = true;
	for (const char *c = ref; *c; c++)
		digits &= *c >= '0' && *c <= '9';
	sqlite3_stmt *s;
	enum pb_status st;
	if (digits && strlen(ref) < 18) {
		if ((st = pb__db_prepare(ws->db, "SELECT id FROM mail_msg WHERE id = ?1", &s, err)))
			return st;
		sqlite3_bind_int64(s, 1, strtoll(ref, NULL, 10));
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*id = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		if (rc == SQLITE_ROW)
			return PB_OK;
	}
	size_t n = strlen(ref);
	const char *mid = ref;
	if (n > 3 && !strncmp(mid, "id:", 3))
		mid += 3, n -= 3;
	if (n >= 2 && mid[0] == '<' && mid[n - 1] == '>')
		mid++, n -= 2;
	if ((st = pb__db_prepare(ws->db, "SELECT id FROM mail_msg WHERE message_id = ?1 ORDER BY id",
	                         &s, err)))
		return st;
	sqlite3_bind_text(s, 1, mid, (int)n, SQLITE_STATIC);
	int64_t found[4];
	size_t nf = 0;
	while (sqlite3_step(s) == SQLITE_ROW && nf < 4)
		found[nf++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (nf == 0)
		return pb__err(err, PB_ENOENT, "no message '%s' in this workspace", ref);
	if (nf > 1)
		return pb__err(err, PB_EINVAL,
		               "'%s' names %s messages with different content (%lld, %lld%s); give "
		               "the message number",
		               ref, nf > 3 ? "several" : nf == 2 ? "two" : "three",
		               (long long)found[0], (long long)found[1], nf > 2 ? ", ..." : "");
	*id = found[0];
	return PB_OK;
}

/* Starts a case-bound act: writable workspace, transaction, case check. */
static enum pb_status case_begin(struct pb_ws *ws, const char *case_ref, const char *actor,
                                 const char *doing, int64_t *case_id, struct pb_error *err)
{
	enum pb_status st = pb__ws_require_writable(ws, doing, err);
	if (st)
		return st;
	if (!actor || !*actor)
		return pb__err(err, PB_EINVAL, "cannot %s: no acting user", doing);
	if ((st = pb__ws_begin(ws, err)))
		return st;
	if ((st = pb__mail_case_check(ws, case_ref, actor, case_id, err)))
		pb__ws_rollback(ws);
	return st;
}

/* ---- search ----------------------------------------------------------------- */

struct result_priv {
	int64_t *all_ids;
};

void pb_mail_result_free(struct pb_mail_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nhits; i++) {
		struct pb_mail_hit *h = &r->hits[i];
		free((char *)h->message_id);
		free((char *)h->from);
		free((char *)h->to);
		free((char *)h->cc);
		free((char *)h->subject);
		free((char *)h->channel);
		free((char *)h->custodians);
		free((char *)h->tags);
		free((char *)h->snippet);
		free((char *)h->body_sha256);
		free((char *)h->raw_sha256);
		free((char *)h->bcc);
		free((char *)h->in_reply_to);
		free((char *)h->references);
		for (size_t k = 0; k < h->nattach; k++) {
			free((char *)h->attach[k].name);
			free((char *)h->attach[k].type);
			free((char *)h->attach[k].sha256);
		}
		free(h->attach);
	}
	free(r->hits);
	free(r->query);
	free(r->priv);
	free(r);
}

static enum pb_status fill_hit(struct pb_ws *ws, sqlite3_stmt *s, int64_t id,
                               struct pb_mail_hit *h, struct pb_error *err)
{
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return pb__db_err(ws->db, err, "cannot read a hit");
	}
	h->id = id;
	h->message_id = dup_col(s, 0);
	const char *k = (const char *)sqlite3_column_text(s, 1);
	h->kind = !k ? "email" : !strcmp(k, "slack") ? "slack" : !strcmp(k, "teams") ? "teams" : "email";
	h->has_date = sqlite3_column_type(s, 2) != SQLITE_NULL;
	h->date = h->has_date ? sqlite3_column_int64(s, 2) : 0;
	h->from = dup_col(s, 3);
	h->to = dup_col(s, 4);
	h->cc = dup_col(s, 5);
	h->subject = dup_col(s, 6);
	h->channel = dup_col(s, 7);
	h->thread = sqlite3_column_int64(s, 8);
	h->flags = (unsigned)sqlite3_column_int64(s, 9);
	h->body_sha256 = dup_col(s, 10);
	h->raw_sha256 = dup_col(s, 11);
	h->thread_size = (uint32_t)sqlite3_column_int64(s, 12);
	h->custodians = dup_col(s, 13);
	h->locations = (uint32_t)sqlite3_column_int64(s, 14);
	h->tags = dup_col(s, 15);
	h->bcc = dup_col(s, 16);
	h->in_reply_to = dup_col(s, 17);
	h->references = dup_col(s, 18);
	sqlite3_reset(s);
	if (!h->message_id || !h->from || !h->to || !h->cc || !h->subject || !h->channel ||
	    !h->body_sha256 || !h->raw_sha256 || !h->custodians || !h->tags || !h->bcc ||
	    !h->in_reply_to || !h->references)
		return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
}

/* The attachments of a hit, in their order (a, from attach_sql). */
static enum pb_status fill_attach(struct pb_ws *ws, sqlite3_stmt *a, struct pb_mail_hit *h,
                                  struct pb_error *err)
{
	sqlite3_bind_int64(a, 1, h->id);
	size_t cap = 0;
	int rc;
	enum pb_status st = PB_OK;
	while ((rc = sqlite3_step(a)) == SQLITE_ROW) {
		if (h->nattach == cap) {
			cap = cap ? cap * 2 : 4;
			struct pb_mail_hit_attachment *n = realloc(h->attach, cap * sizeof(*n));
			if (!n) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				break;
			}
			h->attach = n;
		}
		struct pb_mail_hit_attachment *t = &h->attach[h->nattach++];
		t->name = dup_col(a, 0);
		t->type = dup_col(a, 1);
		t->size = (uint64_t)sqlite3_column_int64(a, 2);
		t->sha256 = dup_col(a, 3);
		if (!t->name || !t->type || !t->sha256) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
	}
	if (!st && rc != SQLITE_DONE)
		st = pb__db_err(ws->db, err, "cannot read attachments");
	sqlite3_reset(a);
	return st;
}

static const char attach_sql[] =
	"SELECT name, type, size, sha256 FROM mail_attach WHERE msg_id = ?1 ORDER BY seq";

static const char hit_sql[] =
	"SELECT m.message_id, m.kind, m.date, m.from_addr, m.to_addr, m.cc_addr, m.subject,"
	" m.channel, m.thread_id, m.flags, m.body_sha256, m.raw_sha256,"
	" (SELECT count(*) FROM mail_msg t WHERE t.thread_id = m.thread_id),"
	" (SELECT group_concat(c, ',') FROM (SELECT DISTINCT custodian AS c FROM mail_loc"
	"   WHERE msg_id = m.id AND custodian IS NOT NULL ORDER BY custodian)),"
	" (SELECT count(*) FROM mail_loc WHERE msg_id = m.id),"
	" (SELECT group_concat(tag, ',') FROM (SELECT tag FROM mail_tag WHERE case_id = ?2"
	"   AND msg_id = m.id ORDER BY tag)),"
	" m.bcc_addr, m.in_reply_to, m.refs"
	" FROM mail_msg m WHERE m.id = ?1";

/* Snippets for the hits described: one pass over the index with the positive
 * terms, or the start of the text when the query has none. */
static enum pb_status snippets(struct pb_ws *ws, struct pb_mail_result *r, const char *hl,
                               const char *open, const char *close, struct pb_error *err)
{
	if (!r->nhits)
		return PB_OK;
	struct pb_buf sql;
	pb_buf_init(&sql, 1024 + r->nhits * 24);
	enum pb_status st = PB_OK;
	if (hl)
		st = pb_buf_adds(&sql, "SELECT rowid, snippet(mail_fts, -1, ?2, ?3, '…', 24) FROM"
		                        " mail_fts WHERE mail_fts MATCH ?1 AND rowid IN (");
	else
		st = pb_buf_adds(&sql, "SELECT id, substr(CASE WHEN length(body) > 0 THEN body"
		                        " ELSE extra END, 1, 160) FROM mail_doc WHERE id IN (");
	for (size_t i = 0; i < r->nhits && !st; i++)
		st = pb_buf_printf(&sql, "%s%lld", i ? "," : "", (long long)r->hits[i].id);
	if (!st)
		st = pb_buf_addc(&sql, ')');
	if (st) {
		pb_buf_release(&sql);
		return pb__err(err, st, "out of memory");
	}
	sqlite3_stmt *s;
	if ((st = pb__db_prepare(ws->db, sql.data, &s, err))) {
		pb_buf_release(&sql);
		return st;
	}
	pb_buf_release(&sql);
	if (hl) {
		sqlite3_bind_text(s, 1, hl, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, open, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, close, -1, SQLITE_STATIC);
	}
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		for (size_t i = 0; i < r->nhits; i++) {
			if (r->hits[i].id != id || r->hits[i].snippet)
				continue;
			char *sn = dup_col(s, 1);
			for (char *c = sn; c && *c; c++)
				if (*c == '\n' || *c == '\t')
					*c = ' ';
			r->hits[i].snippet = sn;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot make snippets");
	for (size_t i = 0; i < r->nhits; i++)
		if (!r->hits[i].snippet && !(r->hits[i].snippet = pb__strndup("", 0)))
			return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts and deduplicates a copy of t; returns the count (0 on ENOMEM with *out NULL). */
static size_t distinct(const int64_t *t, size_t n, int64_t **out)
{
	*out = NULL;
	if (!n)
		return 0;
	int64_t *c = malloc(n * sizeof(*c));
	if (!c)
		return 0;
	memcpy(c, t, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_i64);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (c[i] != c[k - 1])
			c[k++] = c[i];
	*out = c;
	return k;
}

static enum pb_status parse_query(const char *query, struct pb__mail_query **q,
                                  struct pb_buf *canon, struct pb_error *err)
{
	enum pb_status st = pb__mail_query_parse(query, q, err);
	if (st)
		return st;
	pb_buf_init(canon, 1u << 20);
	if ((st = pb__mail_query_render(*q, canon))) {
		pb__mail_query_free(*q);
		*q = NULL;
		pb_buf_release(canon);
		return pb__err(err, st, "out of memory");
	}
	return PB_OK;
}

/* The details of a search entry in the log. */
static enum pb_status search_details(struct pb_buf *d, const char *query, const char *canon,
                                     const struct pb__mail_hits *h, uint64_t threads,
                                     const char *extra_key, const char *extra_json)
{
	pb_buf_adds(d, "{\"query\":");
	pb__mail_json_str(d, query);
	pb__mail_json_parsed(d, canon);
	pb_buf_printf(d, ",\"hits\":%zu,\"threads\":%llu,\"result_sha256\":\"%s\"", h->n,
	               (unsigned long long)threads, h->sha256);
	if (extra_key)
		pb_buf_printf(d, ",\"%s\":%s", extra_key, extra_json);
	return pb_buf_addc(d, '}');
}

enum pb_status pb_mail_search(struct pb_ws *ws, const char *case_ref, const char *query,
                              const struct pb_mail_search_options *opts,
                              struct pb_mail_result **out, struct pb_error *err)
{
	*out = NULL;
	struct pb_mail_search_options defaults = { 0 };
	if (!opts)
		opts = &defaults;
	struct pb__mail_query *q;
	struct pb_buf canon;
	enum pb_status st = parse_query(query, &q, &canon, err);
	if (st)
		return st;
	int64_t case_id;
	struct pb__mail_hits h = { 0 };
	struct pb_mail_result *r = NULL;
	struct pb_buf det;
	pb_buf_init(&det, 1u << 22);
	sqlite3_stmt *s = NULL, *sa = NULL;
	if ((st = case_begin(ws, case_ref, opts->actor, "search", &case_id, err)))
		goto done;
	if ((st = pb__mail_run(ws, q, case_id, opts->newest_first, &h, err)))
		goto fail;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->query = pb__strndup(query, strlen(query)))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	r->case_id = case_id;
	r->total = h.n;
	memcpy(r->result_sha256, h.sha256, sizeof(r->result_sha256));
	{
		int64_t *dt;
		r->threads = distinct(h.threads, h.n, &dt);
		free(dt);
	}
	size_t want = opts->limit && opts->limit < h.n ? opts->limit : h.n;
	if (want) {
		if (!(r->hits = calloc(want, sizeof(*r->hits)))) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto fail;
		}
		if (opts->ids_only) {
			for (size_t i = 0; i < want; i++) {
				struct pb_mail_hit *hh = &r->hits[i];
				r->nhits = i + 1;
				const char *tab = strchr(h.lines[i], '\t');
				hh->id = h.ids[i];
				hh->thread = h.threads[i];
				hh->kind = "";
				hh->message_id = pb__strndup(h.lines[i], (size_t)(tab - h.lines[i]));
				hh->body_sha256 = pb__strndup(tab + 1, strlen(tab + 1));
				if (!hh->message_id || !hh->body_sha256) {
					st = pb__err(err, PB_ENOMEM, "out of memory");
					goto fail;
				}
			}
		} else {
			if ((st = pb__db_prepare(ws->db, hit_sql, &s, err)) ||
			    (st = pb__db_prepare(ws->db, attach_sql, &sa, err)))
				goto fail;
			sqlite3_bind_int64(s, 2, case_id);
			for (size_t i = 0; i < want; i++) {
				r->nhits = i + 1;
				if ((st = fill_hit(ws, s, h.ids[i], &r->hits[i], err)) ||
				    (st = fill_attach(ws, sa, &r->hits[i], err)))
					goto fail;
			}
			if ((st = snippets(ws, r, h.highlight, opts->hl_open ? opts->hl_open : "[",
			                   opts->hl_close ? opts->hl_close : "]", err)))
				goto fail;
		}
	}
	search_details(&det, query, canon.data, &h, r->threads, NULL, NULL);
	if ((st = pb__mail_case_record(ws, case_id, opts->actor, "mail.search", det.data, err)))
		goto fail;
	sqlite3_finalize(s);
	sqlite3_finalize(sa);
	s = sa = NULL;
	if ((st = pb__ws_commit(ws, err)))
		goto done;
	*out = r;
	r = NULL;
	goto done;
fail:
	sqlite3_finalize(s);
	sqlite3_finalize(sa);
	s = sa = NULL;
	pb__ws_rollback(ws);
done:
	sqlite3_finalize(s);
	sqlite3_finalize(sa);
	pb_mail_result_free(r);
	pb__mail_hits_release(&h);
	pb_buf_release(&det);
	pb_buf_release(&canon);
	pb__mail_query_free(q);
	return st;
}

enum pb_status pb_mail_query_check(const char *query, char **canonical, struct pb_error *err)
{
	struct pb__mail_query *q;
	struct pb_buf canon;
	enum pb_status st = parse_query(query, &q, &canon, err);
	if (st)
		return st;
	if (canonical)
		*canonical = canon.data;
	else
		pb_buf_release(&canon);
	pb__mail_query_free(q);
	return PB_OK;
}

/* ---- hit report ---------------------------------------------------------------- */

void pb_mail_hit_report_free(struct pb_mail_hit_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nterms; i++) {
		free(r->terms[i].query);
		for (size_t k = 0; k < r->terms[i].nmessages; k++)
			free(r->terms[i].messages[k].message_id);
		free(r->terms[i].messages);
	}
	free(r->terms);
	free(r);
}

/* messages per thread, indexed by thread id */
static enum pb_status thread_sizes(struct pb_ws *ws, uint32_t **sizes, int64_t *max,
                                   struct pb_error *err)
{
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(ws->db, "SELECT COALESCE(MAX(thread_id), 0) FROM mail_msg",
	                                   &s, err);
	if (st)
		return st;
	sqlite3_step(s);
	*max = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	*sizes = calloc((size_t)*max + 1, sizeof(**sizes));
	if (!*sizes)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if ((st = pb__db_prepare(ws->db, "SELECT thread_id, count(*) FROM mail_msg GROUP BY thread_id",
	                         &s, err)))
		return st;
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(s, 0);
		if (t >= 0 && t <= *max)
			(*sizes)[t] = (uint32_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return PB_OK;
}

static uint64_t family(const struct pb__mail_hits *h, const uint32_t *sizes, int64_t max)
{
	int64_t *t;
	size_t n = distinct(h->threads, h->n, &t);
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		if (t[i] >= 0 && t[i] <= max)
			sum += sizes[t[i]];
	free(t);
	return sum;
}

enum pb_status pb_mail_hit_report(struct pb_ws *ws, const char *case_ref,
                                  const char *const *queries, size_t n, const char *actor,
                                  struct pb_mail_hit_report **out, struct pb_error *err)
{
	*out = NULL;
	if (n == 0)
		return pb__err(err, PB_EINVAL, "no terms to report on");
	struct pb__mail_query **qs = calloc(n, sizeof(*qs));
	struct pb_buf *canon = calloc(n, sizeof(*canon));
	struct pb__mail_hits *hits = calloc(n, sizeof(*hits));
	struct pb_mail_hit_report *r = calloc(1, sizeof(*r));
	uint32_t *sizes = NULL, *count = NULL;
	int64_t tmax = 0;
	enum pb_status st = PB_OK;
	bool in_txn = false;
	if (!qs || !canon || !hits || !r || !(r->terms = calloc(n, sizeof(*r->terms)))) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	r->nterms = n;
	for (size_t i = 0; i < n; i++) {
		if ((st = parse_query(queries[i], &qs[i], &canon[i], err))) {
			if (err)
				err->line = i + 1;
			goto out;
		}
		if (!(r->terms[i].query = pb__strndup(queries[i], strlen(queries[i])))) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((st = case_begin(ws, case_ref, actor, "report on search terms", &r->case_id, err)))
		goto out;
	in_txn = true;
	if ((st = thread_sizes(ws, &sizes, &tmax, err)))
		goto out;
	int64_t maxid = 0;
	for (size_t i = 0; i < n; i++) {
		if ((st = pb__mail_run(ws, qs[i], r->case_id, false, &hits[i], err))) {
			if (err)
				err->line = i + 1;
			goto out;
		}
		for (size_t k = 0; k < hits[i].n; k++)
			if (hits[i].ids[k] > maxid)
				maxid = hits[i].ids[k];
	}
	/* how many terms hit each message */
	count = calloc((size_t)maxid + 1, sizeof(*count));
	if (!count) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	struct pb__mail_hits all = { 0 };
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += hits[i].n;
	all.threads = malloc((total ? total : 1) * sizeof(*all.threads));
	if (!all.threads) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < hits[i].n; k++) {
			if (count[hits[i].ids[k]]++ == 0) {
				all.threads[all.n++] = hits[i].threads[k];
				r->total_hits++;
			}
		}
	r->total_family = family(&all, sizes, tmax);
	free(all.threads);
	for (size_t i = 0; i < n; i++) {
		struct pb_mail_term_report *t = &r->terms[i];
		t->hits = hits[i].n;
		for (size_t k = 0; k < hits[i].n; k++)
			t->unique_hits += count[hits[i].ids[k]] == 1;
		t->with_family = family(&hits[i], sizes, tmax);
		memcpy(t->result_sha256, hits[i].sha256, sizeof(t->result_sha256));
		if (hits[i].n && !(t->messages = calloc(hits[i].n, sizeof(*t->messages)))) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; k < hits[i].n; k++) {
			/* lines[k] is "<message-id>\t<body-sha256>", in result order */
			const char *line = hits[i].lines[k];
			const char *tab = strchr(line, '\t');
			t->messages[k].id = hits[i].ids[k];
			if (!(t->messages[k].message_id =
			              pb__strndup(line, tab ? (size_t)(tab - line) : strlen(line)))) {
				st = pb__err(err, PB_ENOMEM, "out of memory");
				goto out;
			}
			t->nmessages++;
		}
		struct pb_buf d;
		pb_buf_init(&d, 1u << 22);
		char extra[160];
		snprintf(extra, sizeof(extra),
		         "{\"term\":%zu,\"of\":%zu,\"unique_hits\":%llu,\"with_family\":%llu}", i + 1, n,
		         (unsigned long long)t->unique_hits, (unsigned long long)t->with_family);
		int64_t *dt;
		uint64_t nthreads = distinct(hits[i].threads, hits[i].n, &dt);
		free(dt);
		search_details(&d, queries[i], canon[i].data, &hits[i], nthreads, "hit_report", extra);
		st = pb__mail_case_record(ws, r->case_id, actor, "mail.search", d.data, err);
		pb_buf_release(&d);
		if (st)
			goto out;
	}
	st = pb__ws_commit(ws, err);
	in_txn = false;
out:
	if (in_txn)
		pb__ws_rollback(ws);
	for (size_t i = 0; i < n && qs; i++) {
		pb__mail_query_free(qs[i]);
		if (canon)
			pb_buf_release(&canon[i]);
		if (hits)
			pb__mail_hits_release(&hits[i]);
	}
	free(qs);
	free(canon);
	free(hits);
	free(sizes);
	free(count);
	if (st)
		pb_mail_hit_report_free(r);
	else
		*out = r;
	return st;
}

/* ---- tags ------------------------------------------------------------------- */

static enum pb_status check_tag(const char *tag, struct pb_error *err)
{
	size_t n = tag ? strlen(tag) : 0;
	if (n == 0 || n > 64)
		return pb__err(err, PB_EINVAL, "a tag has 1 to 64 characters");
	for (size_t i = 0; i < n; i++) {
		char c = tag[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '-' || c == '_' || c == '.' || c == '/' || c == '+' || c == ':';
		if (!ok)
			return pb__err(err, PB_EINVAL,
			               "tag '%s': only letters, digits and - _ . / + : are allowed", tag);
	}
	return PB_OK;
}

/* Adds or removes one tag; *changed says whether anything changed. */
static enum pb_status tag_one(struct pb_ws *ws, int64_t case_id, int64_t id, const char *tag,
                              bool remove, const char *actor, bool *changed,
                              struct pb_error *err)
{
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(
		ws->db,
		remove ? "DELETE FROM mail_tag WHERE case_id = ?1 AND msg_id = ?2 AND tag = ?3"
		       : "INSERT OR IGNORE INTO mail_tag (case_id, msg_id, tag, actor, at)"
		         " VALUES (?1, ?2, ?3, ?4, ?5)",
		&s, err);
	if (st)
		return st;
	char at[24];
	pb_time_format(pb_now(), at);
	sqlite3_bind_int64(s, 1, case_id);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_text(s, 3, tag, -1, SQLITE_STATIC);
	if (!remove) {
		sqlite3_bind_text(s, 4, actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, at, -1, SQLITE_STATIC);
	}
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot tag");
	*changed = sqlite3_changes(ws->db) > 0;
	return PB_OK;
}

enum pb_status pb_mail_tag(struct pb_ws *ws, const char *case_ref, const char *msg_ref,
                           const char *tag, bool remove, const char *actor, bool *changed,
                           struct pb_error *err)
{
	bool ch = false;
	if (changed)
		*changed = false;
	enum pb_status st = check_tag(tag, err);
	if (st)
		return st;
	int64_t case_id, id;
	if ((st = case_begin(ws, case_ref, actor, remove ? "untag" : "tag", &case_id, err)))
		return st;
	if ((st = pb__mail_resolve(ws, msg_ref, &id, err)))
		goto fail;
	if ((st = tag_one(ws, case_id, id, tag, remove, actor, &ch, err)))
		goto fail;
	if (ch) {
		sqlite3_stmt *s;
		char *mid = NULL;
		if (!pb__db_prepare(ws->db, "SELECT message_id FROM mail_msg WHERE id = ?1", &s, NULL)) {
			sqlite3_bind_int64(s, 1, id);
			if (sqlite3_step(s) == SQLITE_ROW)
				mid = dup_col(s, 0);
			sqlite3_finalize(s);
		}
		struct pb_buf d;
		pb_buf_init(&d, 1u << 16);
		pb_buf_printf(&d, "{\"message\":%lld,\"message_id\":", (long long)id);
		pb__mail_json_str(&d, mid);
		pb_buf_adds(&d, ",\"tag\":");
		pb__mail_json_str(&d, tag);
		pb_buf_addc(&d, '}');
		free(mid);
		st = pb__mail_case_record(ws, case_id, actor, remove ? "mail.untag" : "mail.tag",
		                          d.data, err);
		pb_buf_release(&d);
		if (st)
			goto fail;
	}
	if ((st = pb__ws_commit(ws, err)))
		return st;
	if (changed)
		*changed = ch;
	return PB_OK;
fail:
	pb__ws_rollback(ws);
	return st;
}

enum pb_status pb_mail_tag_query(struct pb_ws *ws, const char *case_ref, const char *query,
                                 const char *tag, bool remove, const char *actor,
                                 uint64_t *count, struct pb_error *err)
{
	if (count)
		*count = 0;
	enum pb_status st = check_tag(tag, err);
	if (st)
		return st;
	struct pb__mail_query *q;
	struct pb_buf canon;
	if ((st = parse_query(query, &q, &canon, err)))
		return st;
	int64_t case_id;
	struct pb__mail_hits h = { 0 };
	uint64_t changed = 0;
	if ((st = case_begin(ws, case_ref, actor, remove ? "untag" : "tag", &case_id, err)))
		goto done;
	if ((st = pb__mail_run(ws, q, case_id, false, &h, err)))
		goto fail;
	for (size_t i = 0; i < h.n; i++) {
		bool ch;
		if ((st = tag_one(ws, case_id, h.ids[i], tag, remove, actor, &ch, err)))
			goto fail;
		changed += ch;
	}
	{
		struct pb_buf d;
		pb_buf_init(&d, 1u << 22);
		char extra[64 + 3 * 64];
		struct pb_buf t;
		pb_buf_init(&t, 256);
		pb__mail_json_str(&t, tag);
		snprintf(extra, sizeof(extra), "%s,\"changed\":%llu", t.data,
		         (unsigned long long)changed);
		pb_buf_release(&t);
		int64_t *dt;
		uint64_t nthreads = distinct(h.threads, h.n, &dt);
		free(dt);
		search_details(&d, query, canon.data, &h, nthreads, "tag", extra);
		st = pb__mail_case_record(ws, case_id, actor, remove ? "mail.untag" : "mail.tag",
		                          d.data, err);
		pb_buf_release(&d);
		if (st)
			goto fail;
	}
	if ((st = pb__ws_commit(ws, err)))
		goto done;
	if (count)
		*count = changed;
	goto done;
fail:
	pb__ws_rollback(ws);
done:
	pb__mail_hits_release(&h);
	pb_buf_release(&canon);
	pb__mail_query_free(q);
	return st;
}

/* ---- show --------------------------------------------------------------------- */

static void json_kv(struct pb_buf *b, const char *key, const char *val, bool first)
{
	if (!first)
		pb_buf_addc(b, ',');
	pb__mail_json_str(b, key);
	pb_buf_addc(b, ':');
	pb__mail_json_str(b, val);
}

/* Appends the rows of a query as a JSON array of objects (columns by name;
 * integers stay numbers, NULLs are null). */
static enum pb_status json_rows(struct pb_ws *ws, struct pb_buf *b, const char *key,
                                const char *sql, int64_t id, int64_t id2, struct pb_error *err)
{
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(ws->db, sql, &s, err);
	if (st)
		return st;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_bind_parameter_count(s) > 1)
		sqlite3_bind_int64(s, 2, id2);
	pb_buf_printf(b, ",\"%s\":[", key);
	int rows = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		pb_buf_adds(b, rows++ ? ",{" : "{");
		for (int c = 0; c < sqlite3_column_count(s); c++) {
			if (c)
				pb_buf_addc(b, ',');
			pb__mail_json_str(b, sqlite3_column_name(s, c));
			pb_buf_addc(b, ':');
			switch (sqlite3_column_type(s, c)) {
			case SQLITE_INTEGER:
				pb_buf_printf(b, "%lld", (long long)sqlite3_column_int64(s, c));
				break;
			case SQLITE_NULL:
				pb_buf_adds(b, "null");
				break;
			default:
				pb__mail_json_str(b, (const char *)sqlite3_column_text(s, c));
			}
		}
		pb_buf_addc(b, '}');
	}
	sqlite3_finalize(s);
	return pb_buf_addc(b, ']');
}

enum pb_status pb_mail_show(struct pb_ws *ws, const char *case_ref, const char *msg_ref,
                            const char *actor, bool no_text, char **json, struct pb_error *err)
{
	*json = NULL;
	int64_t case_id, id;
	enum pb_status st = case_begin(ws, case_ref, actor, "show a message", &case_id, err);
	if (st)
		return st;
	struct pb_buf b;
	pb_buf_init(&b, 4u * PB__MAIL_MAX_TEXT + (8u << 20));
	sqlite3_stmt *s = NULL;
	if ((st = pb__mail_resolve(ws, msg_ref, &id, err)))
		goto fail;
	if ((st = pb__db_prepare(ws->db,
	                         "SELECT m.message_id, m.kind, m.date, m.date_header, m.from_addr,"
	                         " m.to_addr, m.cc_addr, m.bcc_addr, m.subject, m.channel,"
	                         " m.in_reply_to, m.refs, m.thread_id, m.flags, m.raw_sha256,"
	                         " m.raw_size, m.body_sha256, m.mid_synthetic, d.body, d.extra,"
	                         " (SELECT count(*) FROM mail_msg t WHERE t.thread_id = m.thread_id)"
	                         " FROM mail_msg m JOIN mail_doc d ON d.id = m.id WHERE m.id = ?1",
	                         &s, err)))
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		st = pb__db_err(ws->db, err, "cannot read the message");
		goto fail;
	}
#define COL(i) ((const char *)sqlite3_column_text(s, (i)))
	pb_buf_printf(&b, "{\"id\":%lld", (long long)id);
	json_kv(&b, "message_id", COL(0), false);
	json_kv(&b, "kind", COL(1), false);
	if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
		char t[24];
		pb_time_format(sqlite3_column_int64(s, 2), t);
		json_kv(&b, "date", t, false);
	} else {
		json_kv(&b, "date", NULL, false);
	}
	json_kv(&b, "date_header", COL(3), false);
	json_kv(&b, "from", COL(4), false);
	json_kv(&b, "to", COL(5), false);
	json_kv(&b, "cc", COL(6), false);
	json_kv(&b, "bcc", COL(7), false);
	json_kv(&b, "subject", COL(8), false);
	json_kv(&b, "channel", COL(9), false);
	json_kv(&b, "in_reply_to", COL(10), false);
	pb_buf_adds(&b, ",\"references\":[");
	{
		const char *refs = COL(11);
		int k = 0;
		while (refs && *refs) {
			const char *nl = strchr(refs, '\n');
			size_t l = nl ? (size_t)(nl - refs) : strlen(refs);
			if (k++)
				pb_buf_addc(&b, ',');
			pb_buf_json_str(&b, refs, l);
			refs += l + (nl ? 1 : 0);
		}
	}
	pb_buf_printf(&b, "],\"thread\":%lld,\"thread_size\":%lld,\"flags\":[",
	               (long long)sqlite3_column_int64(s, 12), (long long)sqlite3_column_int64(s, 20));
	{
		unsigned f = (unsigned)sqlite3_column_int64(s, 13);
		int k = 0;
		for (unsigned bit = 1; bit < (1u << PB_MAIL_FLAG_COUNT); bit <<= 1)
			if (f & bit) {
				if (k++)
					pb_buf_addc(&b, ',');
				pb__mail_json_str(&b, pb_mail_flag_name(bit));
			}
	}
	pb_buf_addc(&b, ']');
	json_kv(&b, "raw_sha256", COL(14), false);
	pb_buf_printf(&b, ",\"raw_size\":%lld", (long long)sqlite3_column_int64(s, 15));
	json_kv(&b, "body_sha256", COL(16), false);
	pb_buf_printf(&b, ",\"message_id_synthetic\":%s",
	               sqlite3_column_int(s, 17) ? "true" : "false");
	if (!no_text) {
		json_kv(&b, "text", COL(18), false);
		json_kv(&b, "other_text", COL(19), false);
	}
#undef COL
	sqlite3_finalize(s);
	s = NULL;
	if ((st = json_rows(ws, &b, "locations",
	                    "SELECT f.path, l.member, l.offset, l.length, l.sha256, l.custodian,"
	                    " l.folder, f.sha256 AS file_sha256, f.kind AS file_kind"
	                    " FROM mail_loc l JOIN mail_file f ON f.id = l.file_id"
	                    " WHERE l.msg_id = ?1 ORDER BY l.id",
	                    id, 0, err)) ||
	    (st = json_rows(ws, &b, "attachments",
	                    "SELECT name, type, size, sha256, indexed FROM mail_attach"
	                    " WHERE msg_id = ?1 ORDER BY seq",
	                    id, 0, err)) ||
	    (st = json_rows(ws, &b, "exceptions",
	                    "SELECT severity, kind, detail, path, member, offset FROM mail_exception"
	                    " WHERE msg_id = ?1 ORDER BY id",
	                    id, 0, err)) ||
	    (st = json_rows(ws, &b, "tags",
	                    "SELECT tag, actor, at FROM mail_tag WHERE msg_id = ?1 AND case_id = ?2"
	                    " ORDER BY tag",
	                    id, case_id, err)))
		goto fail;
	if (pb_buf_addc(&b, '}') != PB_OK) {
		st = pb__err(err, PB_ELIMIT, "the message is too large to show");
		goto fail;
	}
	{
		struct pb_buf d;
		pb_buf_init(&d, 1u << 16);
		pb_buf_printf(&d, "{\"message\":%lld}", (long long)id);
		st = pb__mail_case_record(ws, case_id, actor, "mail.view", d.data, err);
		pb_buf_release(&d);
		if (st)
			goto fail;
	}
	if ((st = pb__ws_commit(ws, err)))
		goto out;
	*json = b.data;
	b.data = NULL;
	goto out;
fail:
	sqlite3_finalize(s);
	pb__ws_rollback(ws);
out:
	pb_buf_release(&b);
	return st;
}

/* ---- stats and exceptions ------------------------------------------------------- */

enum pb_status pb_mail_stats_get(struct pb_ws *ws, struct pb_mail_stats *o, struct pb_error *err)
{
	memset(o, 0, sizeof(*o));
	static const char sql[] =
		"SELECT (SELECT count(*) FROM mail_batch), (SELECT count(*) FROM mail_file),"
		" (SELECT count(*) FROM mail_msg), (SELECT count(*) FROM mail_loc),"
		" (SELECT count(DISTINCT thread_id) FROM mail_msg), (SELECT count(*) FROM mail_attach),"
		" (SELECT count(*) FROM mail_exception),"
		" (SELECT count(*) FROM mail_msg WHERE kind = 'email'),"
		" (SELECT count(*) FROM mail_msg WHERE kind = 'slack'),"
		" (SELECT count(*) FROM mail_msg WHERE kind = 'teams'),"
		" (SELECT COALESCE(MIN(date), 0) FROM mail_msg),"
		" (SELECT COALESCE(MAX(date), 0) FROM mail_msg)";
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(ws->db, sql, &s, err);
	if (st)
		return st;
	if (sqlite3_step(s) != SQLITE_ROW) {
		st = pb__db_err(ws->db, err, "cannot count mail");
		sqlite3_finalize(s);
		return st;
	}
	uint64_t *v[] = { &o->batches, &o->files,      &o->messages,  &o->locations,
		          &o->threads, &o->attachments, &o->exceptions, &o->email,
		          &o->slack,   &o->teams };
	for (size_t i = 0; i < PB_ARRAY_LEN(v); i++)
		*v[i] = (uint64_t)sqlite3_column_int64(s, (int)i);
	o->first_date = sqlite3_column_int64(s, 10);
	o->last_date = sqlite3_column_int64(s, 11);
	sqlite3_finalize(s);
	return PB_OK;
}

enum pb_status pb_mail_exceptions(struct pb_ws *ws, int64_t batch_id, pb_mail_exception_fn fn,
                                  void *ctx, struct pb_error *err)
{
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(
		ws->db,
		"SELECT id, batch_id, COALESCE(msg_id, 0), path, member, COALESCE(offset, 0),"
		" COALESCE(length, 0), severity, kind, detail FROM mail_exception"
		" WHERE ?1 = 0 OR batch_id = ?1 ORDER BY id",
		&s, err);
	if (st)
		return st;
	sqlite3_bind_int64(s, 1, batch_id);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pb_mail_exception e = {
			.id = sqlite3_column_int64(s, 0),
			.batch_id = sqlite3_column_int64(s, 1),
			.msg_id = sqlite3_column_int64(s, 2),
			.path = (const char *)sqlite3_column_text(s, 3),
			.member = (const char *)sqlite3_column_text(s, 4),
			.offset = (uint64_t)sqlite3_column_int64(s, 5),
			.length = (uint64_t)sqlite3_column_int64(s, 6),
			.severity = (const char *)sqlite3_column_text(s, 7),
			.kind = (const char *)sqlite3_column_text(s, 8),
			.detail = (const char *)sqlite3_column_text(s, 9),
		};
		if (!fn(ctx, &e))
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot read exceptions");
	return PB_OK;
}
