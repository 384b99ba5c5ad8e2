/* test_mail.c - the mail module: text repair and charsets, MIME parsing, mbox
 * splitting, zip limits, chat exports, the query language, ingest with
 * dedupe and threads, search in a case, hit reports, tags, export and verify,
 * and bad input. Runs from the repository root (data in tests/data/mail). */
#include "unit.h"
#include "mail/mail.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAILDATA "tests/data/mail/"

static char *slurp(const char *path, size_t *n)
{
	char *data = NULL;
	struct pb_error err = { 0 };
	if (pb__read_file(path, 1u << 28, &data, n, &err) != PB_OK) {
		fprintf(stderr, "cannot read %s: %s\n", path, err.message);
		exit(2);
	}
	return data;
}

static void spit(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n) {
		perror(path);
		exit(2);
	}
	fclose(f);
}

static char *join(const char *a, const char *b)
{
	char *p = pb__path_join(a, b);
	if (!p)
		exit(2);
	return p;
}

/* a fresh workspace in a fresh folder, with an admin (the default actor), an
 * analyst rita, a customer and two open cases (1 and 2); *dir must be
 * removed by the caller */
static struct pb_ws *new_ws(char **dir)
{
	*dir = unit_tmpdir();
	char *w = join(*dir, "ws");
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	struct pb_ws_init_options wo = { .unsigned_actors = true, .user = "admin" };
	const char *acct[] = { "MAIL-0001" };
	struct pb_case_open_options co = { .customer = "Mail review", .title = "t",
		                           .trigger = "test" };
	int64_t id;
	if (pb_ws_init(w, &wo, &err) || pb_ws_open(w, 0, &ws, &err) ||
	    pb_user_add(ws, NULL, "admin", "admin", NULL, &err) ||
	    pb_user_add(ws, "admin", "rita", "analyst", NULL, &err) ||
	    pb_customer_add(ws, NULL, "Mail review", acct, 1, NULL, 0, &err) ||
	    pb_case_open(ws, "rita", &co, &id, NULL, &err) ||
	    pb_case_open(ws, "rita", &co, &id, NULL, &err)) {
		fprintf(stderr, "workspace: %s\n", err.message);
		exit(2);
	}
	free(w);
	return ws;
}

static int64_t sql_int(struct pb_ws *ws, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = -1;
	if (sqlite3_prepare_v2(ws->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static uint64_t count_hits(struct pb_ws *ws, const char *query)
{
	struct pb_mail_search_options o = { "rita", 1, false, NULL, NULL, false };
	struct pb_mail_result *r = NULL;
	struct pb_error err = { 0 };
	if (pb_mail_search(ws, "1", query, &o, &r, &err) != PB_OK) {
		fprintf(stderr, "search '%s': %s\n", query, err.message);
		return (uint64_t)-1;
	}
	uint64_t n = r->total;
	pb_mail_result_free(r);
	return n;
}

/* ---- text ------------------------------------------------------------------ */

static void t_utf8_repair(void)
{
	struct pb_buf b;
	pb_buf_init(&b, 1024);
	size_t bad = pb__mail_utf8_append(&b, "a\xff" "b\r\nc\rd\x01" "e\xc3\xa9", 12);
	CHECK_INT(bad, 1);
	CHECK_STR(b.data, "a\xEF\xBF\xBD" "b\nc\nd e\xc3\xa9");
	CHECK(pb_utf8_valid(b.data, b.len, NULL));
	/* a cap cuts on a character boundary and says so */
	pb_buf_release(&b);
	pb_buf_init(&b, 4);
	CHECK_INT(pb__mail_utf8_append(&b, "ab\xc3\xa9\xc3\xa9", 6), (size_t)-1);
	CHECK_STR(b.data, "ab\xc3\xa9");
	pb_buf_release(&b);
}

static void check_charset(const char *file, const char *cs, const char *want_file)
{
	size_t n, wn;
	char *in = slurp(file, &n);
	char *want = slurp(want_file, &wn);
	struct pb_buf out, w;
	pb_buf_init(&out, 1u << 20);
	pb_buf_init(&w, 1u << 20);
	bool unknown, lossy;
	CHECK_INT(pb__mail_charset_to_utf8(cs, in, n, &out, &unknown, &lossy), PB_OK);
	CHECK(!unknown);
	CHECK(!lossy);
	pb__mail_utf8_append(&w, want, wn); /* the same line-end rules */
	if (out.len != w.len || memcmp(out.data, w.data, w.len))
		UNIT_FAIL_("%s as %s does not decode to %s", file, cs, want_file);
	pb_buf_release(&out);
	pb_buf_release(&w);
	free(in);
	free(want);
}

static void t_charset_oracles(void)
{
	check_charset(MAILDATA "gmime/charsets/cyrillic.koi8-r.txt", "koi8-r",
	              MAILDATA "gmime/charsets/cyrillic.utf-8.txt");
	check_charset(MAILDATA "gmime/charsets/cyrillic.cp1251.txt", "windows-1251",
	              MAILDATA "gmime/charsets/cyrillic.utf-8.txt");
	check_charset(MAILDATA "gmime/charsets/cyrillic.iso-8859-5.txt", "iso-8859-5",
	              MAILDATA "gmime/charsets/cyrillic.utf-8.txt");
	check_charset(MAILDATA "gmime/charsets/japanese.iso-2022-jp.txt", "iso-2022-jp",
	              MAILDATA "gmime/charsets/japanese.utf-8.txt");
	check_charset(MAILDATA "gmime/charsets/japanese.shift-jis.txt", "shift_jis",
	              MAILDATA "gmime/charsets/japanese.utf-8.txt");
	check_charset(MAILDATA "gmime/charsets/japanese.utf-8.txt", "utf-8",
	              MAILDATA "gmime/charsets/japanese.utf-8.txt");
}

/* The Big5 sample is the UTF-8 text without the characters Big5 lacks: it
 * must decode to a subsequence of it, and to most of it. */
static void t_charset_big5_subset(void)
{
	size_t n, wn;
	char *in = slurp(MAILDATA "gmime/charsets/chinese.big5.txt", &n);
	char *want = slurp(MAILDATA "gmime/charsets/chinese.utf-8.txt", &wn);
	struct pb_buf out;
	pb_buf_init(&out, 1u << 20);
	bool unknown, lossy;
	CHECK_INT(pb__mail_charset_to_utf8("big5", in, n, &out, &unknown, &lossy), PB_OK);
	CHECK(!lossy);
	CHECK(!memmem(out.data, out.len, "\xEF\xBF\xBD", 3));
	size_t j = 0, matched = 0;
	for (size_t i = 0; i < out.len; i++) {
		while (j < wn && want[j] != out.data[i])
			j++;
		if (j == wn)
			break;
		j++;
		matched++;
	}
	CHECK_INT(matched, out.len);
	CHECK(out.len * 10 >= wn * 7);
	pb_buf_release(&out);
	free(in);
	free(want);
}

static void t_charset_fallbacks(void)
{
	size_t n;
	char *in = slurp(MAILDATA "gmime/charsets/french-fable.cp1252.txt", &n);
	struct pb_buf out;
	pb_buf_init(&out, 1u << 20);
	bool unknown, lossy;
	/* mislabelled as UTF-8: read as windows-1252, and flagged */
	CHECK_INT(pb__mail_charset_to_utf8("utf-8", in, n, &out, &unknown, &lossy), PB_OK);
	CHECK(lossy);
	CHECK(memmem(out.data, out.len, "Ma\xC3\xAEtre Corbeau", 15) != NULL);
	CHECK(memmem(out.data, out.len, "l\xE2\x80\x99odeur", 9) != NULL); /* 0x92 is U+2019 */
	pb_buf_reset(&out);
	/* an unknown charset: the same fallback, reported as unknown */
	CHECK_INT(pb__mail_charset_to_utf8("x-no-such-charset", in, n, &out, &unknown, &lossy),
	          PB_OK);
	CHECK(unknown);
	CHECK(memmem(out.data, out.len, "Ma\xC3\xAEtre", 7) != NULL);
	CHECK(pb_utf8_valid(out.data, out.len, NULL));
	/* invalid bytes inside a known multibyte charset become U+FFFD */
	pb_buf_reset(&out);
	CHECK_INT(pb__mail_charset_to_utf8("shift_jis", "ok\x81\x20ok", 6, &out, &unknown, &lossy),
	          PB_OK);
	CHECK(lossy);
	CHECK(pb_utf8_valid(out.data, out.len, NULL));
	CHECK(memmem(out.data, out.len, "ok", 2) == out.data);
	pb_buf_release(&out);
	free(in);
}

static void t_html_to_text(void)
{
	const char *html =
		"<html><head><style>p { color: red }</style><script>var secret=1;</script></head>"
		"<body><p title=\"attribute words\">Storage&nbsp;in <b>West</b> Europe</p>"
		"<div>grew &amp; grew &#8212; &#x41;&lt;B&gt;</div><!-- a comment -->"
		"<table><tr><td>a</td><td>b</td></tr></table>x &unknown; y</body></html>";
	struct pb_buf out;
	pb_buf_init(&out, 4096);
	CHECK_INT(pb__mail_html_to_text(html, strlen(html), &out), PB_OK);
	CHECK(strstr(out.data, "Storage in West Europe") != NULL);
	CHECK(strstr(out.data, "grew & grew \xE2\x80\x94 A<B>") != NULL);
	CHECK(strstr(out.data, "a b") != NULL);
	CHECK(strstr(out.data, "&unknown;") != NULL);
	CHECK(!strstr(out.data, "attribute"));
	CHECK(!strstr(out.data, "secret"));
	CHECK(!strstr(out.data, "color"));
	CHECK(!strstr(out.data, "comment"));
	pb_buf_release(&out);
}

static const char *lookup_user(void *ctx, const char *id, size_t n)
{
	(void)ctx;
	return n == 3 && !memcmp(id, "U42", 3) ? "Ada Lovelace" : NULL;
}

static void t_mrkdwn(void)
{
	const char *s = "<@U42> see <https://x.example/a|the doc> and <#C1|general>, <!here> &amp; "
	                "<@U99>";
	struct pb_buf out;
	pb_buf_init(&out, 4096);
	CHECK_INT(pb__mail_mrkdwn_to_text(s, strlen(s), lookup_user, NULL, &out), PB_OK);
	CHECK_STR(out.data, "@Ada Lovelace see the doc <https://x.example/a> and #general, @here & "
	                    "@U99");
	pb_buf_release(&out);
}

/* ---- MIME --------------------------------------------------------------------- */

static void parse_file(const char *path, struct pb__mail_msg *m)
{
	size_t n;
	char *d = slurp(path, &n);
	struct pb_error err = { 0 };
	pb__mail_msg_init(m);
	CHECK_OK(pb__mail_parse_email(d, n, m, &err), &err);
	CHECK_OK(pb__mail_msg_finish(m, d, n), &err);
	free(d);
}

static void t_parse_headers_and_refs(void)
{
	struct pb__mail_msg m;
	parse_file(MAILDATA "notmuch/default/foo/cur/07:2,", &m);
	CHECK_STR(m.message_id, "87lji5cbwo.fsf@yoom.home.cworth.org");
	CHECK_STR(m.from, "Carl Worth <cworth@cworth.org>");
	CHECK_STR(m.subject, "[notmuch] [PATCH 1/2] Close message file after parsing message headers");
	CHECK(m.have_date);
	CHECK_INT(m.date, 1258478007); /* Tue, 17 Nov 2009 09:13:27 -0800 */
	CHECK(m.in_reply_to != NULL);
	CHECK(m.nrefs >= 1);
	CHECK(!m.mid_synthetic);
	CHECK(strstr(m.body.data, "Keeping unused files open") != NULL);
	CHECK_INT(strlen(m.raw_sha256), 64);
	pb__mail_msg_release(&m);
}

static void t_parse_qp_oracle(void)
{
	/* GMime's quoted-printable pair, as the body of a message */
	size_t qn, tn;
	char *qp = slurp(MAILDATA "gmime/encodings/wikipedia.qp", &qn);
	char *txt = slurp(MAILDATA "gmime/encodings/wikipedia.txt", &tn);
	struct pb_buf msg;
	pb_buf_init(&msg, 1u << 20);
	pb_buf_adds(&msg, "From: a@example.org\nSubject: qp\nMIME-Version: 1.0\n"
	                   "Content-Type: text/plain; charset=utf-8\n"
	                   "Content-Transfer-Encoding: quoted-printable\n\n");
	pb_buf_add(&msg, qp, qn);
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	struct pb_error err = { 0 };
	CHECK_OK(pb__mail_parse_email(msg.data, msg.len, &m, &err), &err);
	struct pb_buf want;
	pb_buf_init(&want, 1u << 20);
	pb__mail_utf8_append(&want, txt, tn);
	/* the same text, give or take the final newline */
	while (want.len && want.data[want.len - 1] == '\n')
		want.data[--want.len] = '\0';
	while (m.body.len && m.body.data[m.body.len - 1] == '\n')
		m.body.data[--m.body.len] = '\0';
	CHECK_INT(m.body.len, want.len);
	CHECK(m.body.len == want.len && !memcmp(m.body.data, want.data, want.len));
	CHECK_INT(m.nwarn, 0);
	pb__mail_msg_release(&m);
	pb_buf_release(&msg);
	pb_buf_release(&want);
	free(qp);
	free(txt);
}

static void t_parse_rfc2047_and_charset(void)
{
	const char *raw = "From: =?iso-8859-1?q?Andr=E9?= <andre@example.org>\n"
	                  "To: =?utf-8?b?w4lsb2TDrWU=?= <elodie@example.org>\n"
	                  "Subject: =?koi8-r?b?8NLJ18XU?= world\n"
	                  "Message-ID: <x1@example.org>\n"
	                  "Content-Type: text/plain; charset=koi8-r\n\n"
	                  "\xf0\xd2\xc9\xd7\xc5\xd4\n";
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	struct pb_error err = { 0 };
	CHECK_OK(pb__mail_parse_email(raw, strlen(raw), &m, &err), &err);
	CHECK_STR(m.from, "Andr\xC3\xA9 <andre@example.org>");
	CHECK_STR(m.to, "\xC3\x89lod\xC3\xAD" "e <elodie@example.org>");
	CHECK_STR(m.subject, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 world"); /* Привет */
	CHECK(strstr(m.body.data, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82") != NULL);
	CHECK_INT(m.nwarn, 0);
	pb__mail_msg_release(&m);
}

static void t_parse_html_alternative_and_attachments(void)
{
	const char *raw =
		"From: a@example.org\nMessage-ID: <alt@example.org>\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=OUT\n\n"
		"--OUT\nContent-Type: multipart/alternative; boundary=ALT\n\n"
		"--ALT\nContent-Type: text/plain\n\nplain words\n"
		"--ALT\nContent-Type: text/html\n\n<p>html <i>only</i> words</p>\n--ALT--\n"
		"--OUT\nContent-Type: text/plain; name=notes.txt\n"
		"Content-Disposition: attachment; filename=notes.txt\n\nattached petabytes\n"
		"--OUT\nContent-Type: application/pdf\nContent-Disposition: attachment; "
		"filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
		"--OUT--\n";
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	struct pb_error err = { 0 };
	CHECK_OK(pb__mail_parse_email(raw, strlen(raw), &m, &err), &err);
	CHECK_OK(pb__mail_msg_finish(&m, raw, strlen(raw)), &err);
	CHECK(strstr(m.body.data, "plain words") != NULL);
	CHECK(!strstr(m.body.data, "only"));
	CHECK(strstr(m.extra.data, "html only words") != NULL);
	CHECK(strstr(m.extra.data, "attached petabytes") != NULL);
	CHECK_INT(m.natt, 2);
	if (m.natt == 2) {
		CHECK_STR(m.att[0].name, "notes.txt");
		CHECK(m.att[0].indexed);
		CHECK_STR(m.att[1].name, "report.pdf");
		CHECK_STR(m.att[1].type, "application/pdf");
		CHECK_INT(m.att[1].size, 9); /* "%PDF-1.4\n" */
		CHECK(!m.att[1].indexed);
		/* SHA-256 of the decoded bytes */
		uint8_t h[32];
		char hex[65];
		pb__sha256("%PDF-1.4\n", 9, h);
		pb_hex(h, 32, hex);
		CHECK_STR(m.att[1].sha256, hex);
	}
	CHECK(m.flags & PB_MAIL_ATTACHMENT);
	pb__mail_msg_release(&m);
}

static void t_parse_crypto_flags(void)
{
	struct pb__mail_msg m;
	parse_file(MAILDATA "notmuch/crypto/basic-encrypted.eml", &m);
	CHECK(m.flags & PB_MAIL_ENCRYPTED);
	bool warned = false;
	for (size_t i = 0; i < m.nwarn; i++)
		warned |= !strcmp(m.warn[i].kind, "encrypted");
	CHECK(warned);
	pb__mail_msg_release(&m);
	parse_file(MAILDATA "notmuch/pkcs7/smime-onepart-signed.eml", &m);
	CHECK(m.flags & PB_MAIL_SIGNED);
	pb__mail_msg_release(&m);
	parse_file(MAILDATA "notmuch/protected-headers/simple-signed-mail.eml", &m);
	CHECK(m.flags & PB_MAIL_SIGNED);
	CHECK(!(m.flags & PB_MAIL_ENCRYPTED));
	CHECK(m.body.len > 0); /* clear-signed text is indexed */
	pb__mail_msg_release(&m);
}

static void t_parse_no_headers_and_bare_cr(void)
{
	struct pb__mail_msg m;
	const char *raw = "just some text\nwith no header at all\n";
	pb__mail_msg_init(&m);
	struct pb_error err = { 0 };
	CHECK_OK(pb__mail_parse_email(raw, strlen(raw), &m, &err), &err);
	CHECK_OK(pb__mail_msg_finish(&m, raw, strlen(raw)), &err);
	CHECK(m.flags & PB_MAIL_EXCEPTION);
	CHECK(strstr(m.body.data ? m.body.data : "", "no header at all") != NULL);
	CHECK(m.mid_synthetic);
	CHECK(!strncmp(m.message_id, "probity-sha256-", 15));
	pb__mail_msg_release(&m);
	/* a bounce with bare CR line ends parses as if LF */
	parse_file(MAILDATA "sisimai/maildir/mac/lhost-amavis-01.eml", &m);
	CHECK(m.from != NULL && *m.from);
	CHECK(m.subject != NULL && *m.subject);
	bool bare = false;
	for (size_t i = 0; i < m.nwarn; i++)
		bare |= !strcmp(m.warn[i].kind, "bare-cr");
	CHECK(bare);
	pb__mail_msg_release(&m);
}

static void t_dedupe_hash_ignores_transport(void)
{
	/* the same message with CRLF and LF line ends, and different Received lines */
	const char *lf = "Received: from a\nFrom: x@example.org\nMessage-ID: <d@e>\n\nhello\nworld\n";
	const char *crlf = "Received: from b\r\nFrom: x@example.org\r\nMessage-ID: <d@e>\r\n\r\n"
	                   "hello\r\nworld\r\n";
	struct pb__mail_msg a, b;
	struct pb_error err = { 0 };
	pb__mail_msg_init(&a);
	pb__mail_msg_init(&b);
	CHECK_OK(pb__mail_parse_email(lf, strlen(lf), &a, &err), &err);
	CHECK_OK(pb__mail_parse_email(crlf, strlen(crlf), &b, &err), &err);
	pb__mail_msg_finish(&a, lf, strlen(lf));
	pb__mail_msg_finish(&b, crlf, strlen(crlf));
	CHECK_STR(a.body_sha256, b.body_sha256);
	CHECK(strcmp(a.raw_sha256, b.raw_sha256) != 0);
	pb__mail_msg_release(&a);
	pb__mail_msg_release(&b);
}

/* ---- mbox --------------------------------------------------------------------- */

struct collect {
	struct pb__mbox_msg m[64];
	size_t n;
};

static enum pb_status collect_fn(void *ctx, const struct pb__mbox_msg *m, struct pb_error *err)
{
	(void)err;
	struct collect *c = ctx;
	if (c->n < 64)
		c->m[c->n] = *m;
	c->n++;
	return PB_OK;
}

static size_t mbox_count(const char *path, struct collect *c)
{
	size_t n;
	char *d = slurp(path, &n);
	memset(c, 0, sizeof(*c));
	struct pb_error err = { 0 };
	CHECK_OK(pb__mail_mbox_split(d, n, collect_fn, c, &err), &err);
	free(d);
	return c->n;
}

static void t_mbox_split(void)
{
	struct collect c;
	/* "From Russia with love" in a body does not split a message */
	CHECK_INT(mbox_count(MAILDATA "mimekit/mbox/unmunged.mbox.txt", &c), 2);
	CHECK_INT(mbox_count(MAILDATA "mimekit/mbox/simple.mbox.txt", &c), 3);
	CHECK_INT(mbox_count(MAILDATA "mimekit/mbox/content-length.mbox.txt", &c), 29);
	CHECK_INT(mbox_count(MAILDATA "mimekit/mbox/issue1189.mbox.txt", &c), 4);
	CHECK_INT(mbox_count(MAILDATA "sisimai/mailbox/mbox-0", &c), 37);
	CHECK_INT(mbox_count(MAILDATA "gmime/mbox/substring.mbox", &c), 3);
	/* offsets: the bytes after the From_ line, without the separating blank line */
	const char *mb = "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody 1\n\n"
	                 "From a@b Mon Jan  1 00:00:01 2024\nSubject: two\n\nbody 2\n";
	struct pb_error err = { 0 };
	memset(&c, 0, sizeof(c));
	CHECK_OK(pb__mail_mbox_split(mb, strlen(mb), collect_fn, &c, &err), &err);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.m[0].offset, 34);
	CHECK_INT(c.m[0].length, strlen("Subject: one\n\nbody 1\n"));
	CHECK_INT(c.m[1].offset, strlen(mb) - strlen("Subject: two\n\nbody 2\n"));
	CHECK(!c.m[1].truncated_end);
	/* truncated: the last message has no final newline */
	memset(&c, 0, sizeof(c));
	CHECK_OK(pb__mail_mbox_split(mb, strlen(mb) - 3, collect_fn, &c, &err), &err);
	CHECK_INT(c.n, 2);
	CHECK(c.m[1].truncated_end);
	CHECK_INT(pb__mail_sniff(mb, strlen(mb)), PB__KIND_MBOX);
	CHECK_INT(pb__mail_sniff("From Russia with love\n\nhi", 26), PB__KIND_EML);
	CHECK_INT(pb__mail_sniff("  [ {\"ts\":\"1\"} ]", 17), PB__KIND_JSON);
	CHECK_INT(pb__mail_sniff("", 0), PB__KIND_EMPTY);
}

/* ---- zip ---------------------------------------------------------------------- */

struct zipw {
	struct pb_buf b, cd;
	unsigned n;
};

static void put16(struct pb_buf *b, unsigned v)
{
	unsigned char c[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
	pb_buf_add(b, c, 2);
}

static void put32(struct pb_buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* Adds a member; deflate when method 8. usize_claim overrides the size the
 * headers declare (0: the true size). */
static void zip_add(struct zipw *z, const char *name, const void *data, size_t n, int method,
                    uint32_t usize_claim)
{
	unsigned char *comp = malloc(n + 1024);
	size_t cn = n;
	if (method == 8) {
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
		zs.next_in = (Bytef *)(uintptr_t)data;
		zs.avail_in = (uInt)n;
		zs.next_out = comp;
		zs.avail_out = (uInt)(n + 1024);
		deflate(&zs, Z_FINISH);
		cn = zs.total_out;
		deflateEnd(&zs);
	} else {
		memcpy(comp, data, n);
	}
	uint32_t crc = (uint32_t)crc32(0, data, (uInt)n);
	uint32_t off = (uint32_t)z->b.len;
	uint32_t us = usize_claim ? usize_claim : (uint32_t)n;
	put32(&z->b, 0x04034b50);
	put16(&z->b, 20);
	put16(&z->b, 0);
	put16(&z->b, (unsigned)method);
	put32(&z->b, 0);
	put32(&z->b, crc);
	put32(&z->b, (uint32_t)cn);
	put32(&z->b, us);
	put16(&z->b, (unsigned)strlen(name));
	put16(&z->b, 0);
	pb_buf_adds(&z->b, name);
	pb_buf_add(&z->b, comp, cn);
	put32(&z->cd, 0x02014b50);
	put16(&z->cd, 20);
	put16(&z->cd, 20);
	put16(&z->cd, 0);
	put16(&z->cd, (unsigned)method);
	put32(&z->cd, 0);
	put32(&z->cd, crc);
	put32(&z->cd, (uint32_t)cn);
	put32(&z->cd, us);
	put16(&z->cd, (unsigned)strlen(name));
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put16(&z->cd, 0);
	put32(&z->cd, 0);
	put32(&z->cd, off);
	pb_buf_adds(&z->cd, name);
	z->n++;
	free(comp);
}

static void zip_end(struct zipw *z)
{
	uint32_t off = (uint32_t)z->b.len;
	pb_buf_add(&z->b, z->cd.data, z->cd.len);
	put32(&z->b, 0x06054b50);
	put16(&z->b, 0);
	put16(&z->b, 0);
	put16(&z->b, z->n);
	put16(&z->b, z->n);
	put32(&z->b, (uint32_t)z->cd.len);
	put32(&z->b, off);
	put16(&z->b, 0);
}

static void t_zip_read_and_bombs(void)
{
	struct zipw z = { .n = 0 };
	pb_buf_init(&z.b, 1u << 26);
	pb_buf_init(&z.cd, 1u << 20);
	zip_add(&z, "a.txt", "hello", 5, 0, 0);
	char *zeros = calloc(8u << 20, 1);
	zip_add(&z, "bomb.json", zeros, 8u << 20, 8, 0); /* 8 MiB of zeros: ratio ~1000 */
	zip_add(&z, "liar.txt", "abcdefgh", 8, 8, 4);    /* inflates past its declared size */
	zip_end(&z);
	struct pb__zip zr;
	struct pb_error err = { 0 };
	CHECK_OK(pb__zip_open(&zr, z.b.data, z.b.len, "t.zip", &err), &err);
	CHECK_INT(zr.nentries, 3);
	struct pb_buf out;
	pb_buf_init(&out, PB__MAIL_MAX_MEMBER);
	CHECK_OK(pb__zip_read(&zr, pb__zip_find(&zr, "a.txt"), 1u << 20, &out, &err), &err);
	CHECK_STR(out.data, "hello");
	CHECK_INT(pb__zip_read(&zr, pb__zip_find(&zr, "bomb.json"), PB__MAIL_MAX_MEMBER, &out, &err),
	          PB_ELIMIT);
	CHECK(strstr(err.message, "zip bomb") != NULL);
	CHECK_INT(pb__zip_read(&zr, pb__zip_find(&zr, "liar.txt"), 1u << 20, &out, &err), PB_ELIMIT);
	/* a member over the caller's cap */
	CHECK_INT(pb__zip_read(&zr, pb__zip_find(&zr, "a.txt"), 3, &out, &err), PB_ELIMIT);
	pb__zip_close(&zr);
	/* truncated archive */
	CHECK_INT(pb__zip_open(&zr, z.b.data, z.b.len - 30, "t.zip", &err), PB_EFORMAT);
	/* overlapping members (two entries, one local header) are refused */
	struct zipw o = { .n = 0 };
	pb_buf_init(&o.b, 1u << 20);
	pb_buf_init(&o.cd, 1u << 20);
	zip_add(&o, "x", "0123456789", 10, 0, 0);
	size_t elen = o.cd.len;
	char *entry = pb__strndup(o.cd.data, elen);
	pb_buf_add(&o.cd, entry, elen); /* the same central entry twice */
	free(entry);
	o.n = 2;
	zip_end(&o);
	CHECK_INT(pb__zip_open(&zr, o.b.data, o.b.len, "o.zip", &err), PB_ELIMIT);
	CHECK(strstr(err.message, "overlap") != NULL);
	pb_buf_release(&o.b);
	pb_buf_release(&o.cd);
	pb_buf_release(&out);
	pb_buf_release(&z.b);
	pb_buf_release(&z.cd);
	free(zeros);
}

/* ---- chat ---------------------------------------------------------------------- */

struct chat_seen {
	char ids[16][128];
	char text[16][128];
	char reply[16][128];
	uint64_t off[16], len[16];
	size_t n;
};

static enum pb_status chat_fn(void *ctx, struct pb__mail_msg *m, uint64_t off, uint64_t len,
                              struct pb_error *err)
{
	(void)err;
	struct chat_seen *s = ctx;
	if (s->n < 16) {
		snprintf(s->ids[s->n], 128, "%s", m->message_id ? m->message_id : "");
		snprintf(s->text[s->n], 128, "%s|%s|%s", m->from ? m->from : "",
		         m->body.data ? m->body.data : "", m->channel ? m->channel : "");
		snprintf(s->reply[s->n], 128, "%s", m->in_reply_to ? m->in_reply_to : "");
		s->off[s->n] = off;
		s->len[s->n] = len;
	}
	s->n++;
	return PB_OK;
}

static void t_slack_day(void)
{
	struct pb__slack_dir *d;
	struct pb_error err = { 0 };
	CHECK_OK(pb__slack_dir_new(&d), &err);
	const char *users = "[{\"id\":\"U1\",\"name\":\"ada\",\"real_name\":\"Ada L\","
	                    "\"profile\":{\"email\":\"ada@provider.example\"}}]";
	const char *chans = "[{\"id\":\"C9\",\"name\":\"storage\",\"members\":[\"U1\"]}]";
	CHECK_OK(pb__slack_dir_load(d, "users", users, strlen(users), &err), &err);
	CHECK_OK(pb__slack_dir_load(d, "channels", chans, strlen(chans), &err), &err);
	const char *day = "[\n {\"type\":\"message\",\"user\":\"U1\",\"text\":\"capacity <@U1>\","
	                  "\"ts\":\"1700000000.000100\"},\n"
	                  " {\"type\":\"message\",\"user\":\"U1\",\"text\":\"reply\","
	                  "\"ts\":\"1700000001.000200\",\"thread_ts\":\"1700000000.000100\"}\n]";
	struct chat_seen s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(pb__slack_day(d, "storage", day, strlen(day), chat_fn, &s, &err), &err);
	CHECK_INT(s.n, 2);
	CHECK_STR(s.ids[0], "slack:C9:1700000000.000100");
	CHECK_STR(s.text[0], "Ada L <ada@provider.example>|capacity @Ada L <ada@provider.example>|"
	                     "#storage");
	CHECK_STR(s.reply[1], "slack:C9:1700000000.000100");
	/* the span is exactly the JSON object */
	CHECK_INT(day[s.off[0]], '{');
	CHECK_INT(day[s.off[0] + s.len[0] - 1], '}');
	CHECK_INT(day[s.off[1]], '{');
	/* a truncated day file: what came before the damage is kept, then an error */
	memset(&s, 0, sizeof(s));
	CHECK_INT(pb__slack_day(d, "storage", day, strlen(day) - 20, chat_fn, &s, &err), PB_EFORMAT);
	CHECK_INT(s.n, 1);
	pb__slack_dir_free(d);
}

static void t_teams_messages(void)
{
	size_t n;
	char *j = slurp(MAILDATA "teams/zulip-TeamsDataExport/teams/"
	                         "4707a9cc-9fe0-4bc2-980a-cd722ffbff06/"
	                         "messages_4707a9cc-9fe0-4bc2-980a-cd722ffbff06.json",
	                &n);
	struct pb__teams_dir *d;
	struct pb_error err = { 0 };
	CHECK_OK(pb__teams_dir_new(&d), &err);
	struct chat_seen s;
	memset(&s, 0, sizeof(s));
	CHECK_INT(pb__mail_json_kind("messages_x.json", j, n), PB__JSON_TEAMS_MESSAGES);
	CHECK_OK(pb__teams_messages(d, j, n, chat_fn, &s, &err), &err);
	CHECK_INT(s.n, 3);
	CHECK(!strncmp(s.ids[0], "teams:19:lqdix95v6et7PTYxDZlXmlKIwt77DeH_WikzPVX7kuU1@thread.tacv2:",
	               67));
	CHECK(strstr(s.text[0], "Will Begon|asdad") != NULL); /* HTML body as text */
	pb__teams_dir_free(d);
	free(j);
}

/* ---- query language ----------------------------------------------------------- */

static void check_render(const char *q, const char *want)
{
	struct pb__mail_query *pq;
	struct pb_error err = { 0 };
	if (pb__mail_query_parse(q, &pq, &err) != PB_OK) {
		UNIT_FAIL_("'%s' does not parse: %s", q, err.message);
		return;
	}
	struct pb_buf b;
	pb_buf_init(&b, 1u << 16);
	pb__mail_query_render(pq, &b);
	if (strcmp(b.data, want))
		UNIT_FAIL_("'%s' parsed as %s, expected %s", q, b.data, want);
	/* and it compiles */
	struct pb__mail_sql sql;
	if (pb__mail_query_sql(pq, 1, &sql, &err) != PB_OK)
		UNIT_FAIL_("'%s' does not compile: %s", q, err.message);
	else
		pb__mail_sql_release(&sql);
	pb_buf_release(&b);
	pb__mail_query_free(pq);
}

static void t_query_parse(void)
{
	check_render("storage", "(text * \"storage\")");
	check_render("a b", "(and (text * \"a\") (text * \"b\"))");
	check_render("a OR b and c", "(or (text * \"a\") (and (text * \"b\") (text * \"c\")))");
	check_render("a NOT b", "(and (text * \"a\") (not (text * \"b\")))");
	check_render("-a b", "(and (not (text * \"a\")) (text * \"b\"))");
	check_render("a xor b", "(xor (text * \"a\") (text * \"b\"))");
	check_render("\"West Europe\" peta*", "(and (text * \"West Europe\") (text * \"peta\"*))");
	check_render("\"West Eu\"*", "(text * \"West Eu\"*)");
	check_render("a NEAR/3 b", "(near 3 (text * \"a\") (text * \"b\"))");
	check_render("a NEAR b", "(near 10 (text * \"a\") (text * \"b\"))");
	check_render("from:alice from:bob", "(or (text sender \"alice\") (text sender \"bob\"))");
	check_render("from:alice AND from:bob",
	             "(and (text sender \"alice\") (text sender \"bob\"))");
	check_render("to:a to:b", "(and (text recipients \"a\") (text recipients \"b\"))");
	check_render("from:a x from:b",
	             "(and (or (text sender \"a\") (text sender \"b\")) (text * \"x\"))");
	check_render("from:\"Carl Worth\"", "(text sender \"Carl Worth\")");
	check_render("subject:x body:y attachment:z",
	             "(and (text subject \"x\") (text body,extra \"y\") (text attach \"z\"))");
	check_render("id:<a@b> tag:relevant",
	             "(and (id \"a@b\") (tag \"relevant\"))");
	check_render("date:2025-01-01..2025-06-30",
	             "(date 2025-01-01T00:00:00Z 2025-06-30T23:59:59Z)");
	check_render("date:2025-02", "(date 2025-02-01T00:00:00Z 2025-02-28T23:59:59Z)");
	check_render("date:2024..", "(date 2024-01-01T00:00:00Z ..)");
	check_render("date:..2024", "(date .. 2024-12-31T23:59:59Z)");
	check_render("date:@0..@86399", "(date 1970-01-01T00:00:00Z 1970-01-01T23:59:59Z)");
	check_render("thread:{from:a} is:encrypted kind:Slack channel:#general",
	             "(and (thread-of (text sender \"a\")) (is \"encrypted\") (kind \"slack\") "
	             "(channel \"general\"))");
	check_render("thread:7 custodian:alice folder:foo/bar *",
	             "(and (thread 7) (custodian \"alice\") (folder \"foo/bar\") (all))");
	check_render("\"say \"\"hi\"\"\"", "(text * \"say \\\"hi\\\"\")");
}

static void check_query_error(const char *q, const char *want, uint32_t col)
{
	struct pb__mail_query *pq = NULL;
	struct pb_error err = { 0 };
	enum pb_status st = pb__mail_query_parse(q, &pq, &err);
	if (st == PB_OK) {
		UNIT_FAIL_("'%s' parsed but should not", q);
		pb__mail_query_free(pq);
		return;
	}
	if (!strstr(err.message, want))
		UNIT_FAIL_("'%s': error '%s' lacks '%s'", q, err.message, want);
	if (col && err.column != col)
		UNIT_FAIL_("'%s': error at column %u, expected %u", q, err.column, col);
}

static void t_query_errors(void)
{
	check_query_error("", "empty", 0);
	check_query_error("a AND", "ends where a term was expected", 6);
	check_query_error("(a OR b", "parenthesis is not closed", 8);
	check_query_error("a)", "unexpected ')'", 2);
	check_query_error("\"open", "quote is not closed", 1);
	check_query_error("foo:bar", "unknown field 'foo:'", 1);
	check_query_error("x date:2025-13-01", "not a date range", 3);
	check_query_error("date:2025-02-30", "not a date range", 1);
	check_query_error("a NEAR/x b", "NEAR/n needs a number", 3);
	check_query_error("a ADJ b", "ADJ is not supported", 3);
	check_query_error("from:a NEAR b", "NEAR joins words and phrases", 0);
	check_query_error("is:spam", "is:spam is unknown", 1);
	check_query_error("thread:abc", "not a thread number", 1);
	check_query_error("---", "holds no word", 0);
	check_query_error("from:", "has no value", 1);
	/* a runaway query is refused, not recursed into */
	char deep[300];
	memset(deep, '(', 200);
	deep[200] = 'a';
	memset(deep + 201, ')', 98);
	deep[299] = '\0';
	check_query_error(deep, "nests too deep", 0);
	check_query_error("thread:{thread:{thread:{thread:{a}}}}", "nests more than 3 deep", 1);
	/* operators nest at most 16 deep, so the SQL stays within SQLite's parser */
	struct pb_buf nest;
	pb_buf_init(&nest, 1u << 16);
	pb_buf_adds(&nest, "tag:q");
	for (int i = 0; i < 9; i++) {
		char *prev = pb__strndup(nest.data, nest.len);
		pb_buf_reset(&nest);
		pb_buf_printf(&nest, "(tag:x%d AND NOT (%s))", i, prev);
		free(prev);
	}
	check_query_error(nest.data, "nests operators more than 16 deep", 0);
	pb_buf_release(&nest);
	struct pb_buf big;
	pb_buf_init(&big, 1u << 20);
	for (int i = 0; i < 1200; i++)
		pb_buf_adds(&big, "w ");
	check_query_error(big.data, "too large", 0);
	pb_buf_release(&big);
}

/* ---- workspace: ingest, search, report, tags, export --------------------------------- */

static void t_ingest_notmuch_corpus(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	const char *paths[] = { MAILDATA "notmuch/default" };
	struct pb_mail_ingest_options o = { "nm", "rita", NULL, NULL };
	struct pb_mail_ingest_report r;
	struct pb_error err = { 0 };
	CHECK_OK(pb_mail_ingest(ws, paths, 1, &o, &r, &err), &err);
	CHECK_INT(r.files_seen, 53);
	CHECK_INT(r.files_seen, r.files_ingested + r.files_skipped + r.files_failed);
	CHECK_INT(r.files_skipped, 1); /* the corpus holds one file twice */
	CHECK_INT(r.messages_new, 52);
	CHECK_INT(r.messages_seen, r.messages_new + r.duplicates);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_msg"), 52);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_loc"), 52);
	CHECK_INT(sql_int(ws, "SELECT files_seen FROM mail_batch"), 53);
	/* the same files again for the same custodian: all skipped, nothing new */
	CHECK_OK(pb_mail_ingest(ws, paths, 1, &o, &r, &err), &err);
	CHECK_INT(r.files_skipped, 53);
	CHECK_INT(r.messages_seen, 0);
	/* for another custodian: every message is a duplicate with a new location */
	struct pb_mail_ingest_options o2 = { "bob", "rita", NULL, NULL };
	CHECK_OK(pb_mail_ingest(ws, paths, 1, &o2, &r, &err), &err);
	CHECK_INT(r.messages_new, 0);
	CHECK_INT(r.duplicates, 52);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_loc"), 104);
	CHECK_INT(count_hits(ws, "custodian:bob"), 52);
	CHECK_INT(count_hits(ws, "is:duplicate"), 52);
	/* searches as notmuch answers them on this corpus (see tests/e2e/scripts/mail-peer.sh) */
	CHECK_INT(count_hits(ws, "from:carl"), 12);
	CHECK_INT(count_hits(ws, "from:carl from:keith"), 19);
	CHECK_INT(count_hits(ws, "Notmuch NEAR/1 Patch"), 21);
	CHECK_INT(count_hits(ws, "date:2009-11-17"), 20);
	CHECK_INT(count_hits(ws, "attachment:patch"), 4);
	CHECK_INT(count_hits(ws, "folder:bar/baz"), 7);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static void t_ingest_dedupe_threads(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	const char *paths[] = { MAILDATA "notmuch/duplicate", MAILDATA "notmuch/threading" };
	struct pb_mail_ingest_report r;
	struct pb_error err = { 0 };
	CHECK_OK(pb_mail_ingest(ws, paths, 2, NULL, &r, &err), &err);
	CHECK_INT(r.messages_seen, r.messages_new + r.duplicates);
	/* each msg-N-k file shares its Message-ID with its siblings */
	CHECK_INT(sql_int(ws, "SELECT count(DISTINCT message_id) FROM mail_msg m JOIN mail_loc l ON"
	                      " l.msg_id = m.id JOIN mail_file f ON f.id = l.file_id"
	                      " WHERE f.path LIKE '%/duplicate/%'"),
	          3);
	/* every location of a message with one Message-ID and body is one message */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM (SELECT message_id, body_sha256 FROM mail_msg"
	                      " GROUP BY 1, 2 HAVING count(*) > 1)"),
	          0);
	/* ghost roots: messages that only share a missing parent are one thread;
	 * notmuch makes two threads of this folder, and so do we */
	CHECK_INT(sql_int(ws, "SELECT count(DISTINCT thread_id) FROM mail_msg m JOIN mail_loc l ON"
	                      " l.msg_id = m.id JOIN mail_file f ON f.id = l.file_id"
	                      " WHERE f.path LIKE '%/ghost-root/%'"),
	          2);
	CHECK_INT(sql_int(ws, "SELECT count(DISTINCT thread_id) FROM mail_msg m JOIN mail_loc l ON"
	                      " l.msg_id = m.id JOIN mail_file f ON f.id = l.file_id"
	                      " WHERE f.path LIKE '%/ghost-root/%root'"),
	          1); /* real-root and fake-root */
	/* threads of the duplicate corpus are separate from the threading corpus */
	CHECK(sql_int(ws, "SELECT count(DISTINCT thread_id) FROM mail_msg") >= 4);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

static bool stop_now(void *ctx, const struct pb_progress *p)
{
	(void)p;
	(void)ctx;
	return false;
}

static void t_ingest_interrupt_changes_nothing(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	const char *paths[] = { MAILDATA "sisimai/mailbox" };
	struct pb_mail_ingest_options o = { NULL, NULL, stop_now, NULL };
	struct pb_error err = { 0 };
	CHECK_INT(pb_mail_ingest(ws, paths, 1, &o, NULL, &err), PB_EINTR);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_msg"), 0);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_batch"), 0);
	const char *none[] = { MAILDATA "no/such/path" };
	CHECK_INT(pb_mail_ingest(ws, none, 1, NULL, NULL, &err), PB_ENOENT);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* A small archive written for the tests: two threads about storage. */
static void write_archive(const char *dir)
{
	char *p = join(dir, "archive.mbox");
	const char *mb =
		"From alice Mon Mar  3 09:00:00 2025\n"
		"From: Alice Account <alice@provider.example>\nTo: Bob Sales <bob@provider.example>\n"
		"Cc: Carol Legal <carol@provider.example>\n"
		"Subject: Storage expansion in West Europe\nDate: Mon, 03 Mar 2025 09:00:00 +0000\n"
		"Message-ID: <s1@provider.example>\n\n"
		"The customer asked for another two petabytes of blob storage in West Europe.\n\n"
		"From bob Mon Mar  3 10:00:00 2025\n"
		"From: Bob Sales <bob@provider.example>\nTo: Alice Account <alice@provider.example>\n"
		"Subject: Re: Storage expansion in West Europe\nDate: Mon, 03 Mar 2025 10:00:00 +0000\n"
		"Message-ID: <s2@provider.example>\nIn-Reply-To: <s1@provider.example>\n\n"
		"Approved on our side; capacity planning is informed.\n\n"
		"From carol Tue Apr  1 08:00:00 2025\n"
		"From: Carol Legal <carol@provider.example>\nTo: Alice Account <alice@provider.example>\n"
		"Subject: Speech to text volumes\nDate: Tue, 01 Apr 2025 08:00:00 +0000\n"
		"Message-ID: <t1@provider.example>\n\n"
		"Transcription volumes grew tenfold; translation too.\n";
	spit(p, mb, strlen(mb));
	free(p);
}

static void t_search_report_tags_log(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	write_archive(dir);
	char *arch = join(dir, "archive.mbox");
	const char *paths[] = { arch };
	struct pb_mail_ingest_options o = { "alice", "rita", NULL, NULL };
	struct pb_error err = { 0 };
	CHECK_OK(pb_mail_ingest(ws, paths, 1, &o, NULL, &err), &err);
	struct pb_mail_search_options so = { "rita", 0, false, "<<", ">>", false };
	struct pb_mail_result *r = NULL;
	CHECK_OK(pb_mail_search(ws, "1", "petabytes", &so, &r, &err), &err);
	if (r) {
		CHECK_INT(r->total, 1);
		CHECK_INT(r->nhits, 1);
		CHECK_STR(r->hits[0].message_id, "s1@provider.example");
		CHECK(strstr(r->hits[0].snippet, "<<petabytes>>") != NULL);
		CHECK_INT(r->hits[0].thread_size, 2);
		CHECK_STR(r->hits[0].custodians, "alice");
		pb_mail_result_free(r);
	}
	/* the search is in the case's log, with its hash */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'mail.search'"
	                      " AND actor = 'rita' AND CAST(data AS TEXT) LIKE '%\"hits\":1,%'"),
	          1);
	CHECK_INT(count_hits(ws, "to:carol"), 1); /* Cc counts as a recipient */
	CHECK_INT(count_hits(ws, "date:2025-03"), 2);
	CHECK_INT(count_hits(ws, "thread:{petabytes}"), 2);
	CHECK_INT(count_hits(ws, "\"West Europe\" NOT Approved"), 1);
	CHECK_INT(count_hits(ws, "translat*"), 1);
	/* NOT NOT is nothing, and the deepest query allowed still runs */
	CHECK_INT(count_hits(ws, "NOT NOT petabytes"), 1);
	CHECK_INT(count_hits(ws, "tag:b1 AND (NOT kind:email OR thread:{tag:a2 OR (NOT is:encrypted"
	                         " AND thread:{tag:b3 AND (NOT kind:email OR thread:{tag:a4 OR (NOT"
	                         " is:encrypted AND (tag:c OR (NOT tag:d AND (tag:e OR NOT"
	                         " tag:f))))})})})"),
	          0);
	/* hit report: per-term hits, unique hits, family */
	const char *terms[] = { "storage", "petabytes", "transcription OR translation" };
	struct pb_mail_hit_report *hr = NULL;
	CHECK_OK(pb_mail_hit_report(ws, "1", terms, 3, "rita", &hr, &err), &err);
	if (hr) {
		CHECK_INT(hr->terms[0].hits, 2);
		CHECK_INT(hr->terms[0].unique_hits, 1); /* s2; s1 is also hit by petabytes */
		CHECK_INT(hr->terms[1].hits, 1);
		CHECK_INT(hr->terms[1].unique_hits, 0);
		CHECK_INT(hr->terms[1].with_family, 2);
		/* each term lists the messages it hits */
		CHECK_INT(hr->terms[0].nmessages, 2);
		CHECK_INT(hr->terms[1].nmessages, 1);
		if (hr->terms[1].nmessages == 1) {
			CHECK_STR(hr->terms[1].messages[0].message_id, "s1@provider.example");
			CHECK(hr->terms[1].messages[0].id > 0);
		}
		CHECK_INT(hr->terms[2].unique_hits, 1);
		CHECK_INT(hr->total_hits, 3);
		CHECK_INT(hr->total_family, 3);
		pb_mail_hit_report_free(hr);
	}
	const char *bad[] = { "storage", "from:" };
	CHECK_INT(pb_mail_hit_report(ws, "1", bad, 2, "rita", &hr, &err), PB_EINVAL);
	CHECK_INT(err.line, 2);
	/* tags are per case, searchable, and logged only when they change */
	bool changed;
	CHECK_OK(pb_mail_tag(ws, "1", "<s2@provider.example>", "relevant", false, "rita",
	                     &changed, &err),
	         &err);
	CHECK(changed);
	CHECK_OK(pb_mail_tag(ws, "1", "s2@provider.example", "relevant", false, "rita", &changed,
	                     &err),
	         &err);
	CHECK(!changed);
	CHECK_INT(count_hits(ws, "tag:relevant"), 1);
	struct pb_mail_result *other = NULL;
	CHECK_OK(pb_mail_search(ws, "2", "tag:relevant", &so, &other, &err), &err);
	CHECK(other && other->total == 0);
	pb_mail_result_free(other);
	uint64_t n;
	CHECK_OK(pb_mail_tag_query(ws, "1", "date:2025-03", "march", false, "rita", &n, &err),
	         &err);
	CHECK_INT(n, 2);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'mail.tag'"), 2);
	CHECK_INT(pb_mail_tag(ws, "1", "1", "no spaces", false, "rita", NULL, &err), PB_EINVAL);
	CHECK_INT(pb_mail_tag(ws, "1", "<nope@x>", "t", false, "rita", NULL, &err), PB_ENOENT);
	/* the entries are on the case, by the actor */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action LIKE 'mail.%'"
	                      " AND action != 'mail.ingest' AND (case_id IS NOT 1 OR actor != 'rita')"),
	          sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action LIKE 'mail.%'"
	                      " AND case_id = 2"));
	/* show is a logged view */
	char *json = NULL;
	CHECK_OK(pb_mail_show(ws, "1", "<s1@provider.example>", "rita", false, &json, &err),
	         &err);
	CHECK(json && strstr(json, "\"locations\":[{") && strstr(json, "two petabytes"));
	free(json);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'mail.view'"), 1);
	pb_ws_close(ws);
	free(arch);
	unit_rm_rf(dir);
	free(dir);
}

struct problems {
	int n;
	char first[400];
};

static void on_problem(void *ctx, const char *doc, const char *what)
{
	struct problems *p = ctx;
	if (!p->n++)
		snprintf(p->first, sizeof(p->first), "%s: %s", doc, what);
}

static void t_export_and_verify(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	write_archive(dir);
	char *arch = join(dir, "archive.mbox");
	const char *paths[] = { arch };
	struct pb_error err = { 0 };
	CHECK_OK(pb_mail_ingest(ws, paths, 1, NULL, NULL, &err), &err);
	char *out = join(dir, "export");
	struct pb_mail_export_options eo = { "rita", "REV" };
	struct pb_mail_export_report er;
	CHECK_OK(pb_mail_export(ws, "1", "storage", out, &eo, &er, &err), &err);
	CHECK_INT(er.documents, 2);
	/* the native is the archive's bytes for that message */
	size_t n, an;
	char *p = join(out, "natives/REV000001.eml");
	char *native = slurp(p, &n);
	free(p);
	char *archive = slurp(arch, &an);
	CHECK(n > 0 && memmem(archive, an, native, n) == archive + 36);
	CHECK(!strncmp(native, "From: Alice Account", 19));
	free(native);
	/* the load file: BOM, þ-quoted fields separated by DC4 */
	p = join(out, "export.dat");
	char *dat = slurp(p, &n);
	free(p);
	CHECK(!memcmp(dat, "\xEF\xBB\xBF\xC3\xBE" "BEGDOC\xC3\xBE\x14", 13));
	CHECK(strstr(dat, "\xC3\xBEREV000002\xC3\xBE") != NULL);
	free(dat);
	/* the export is on record and verifies */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'mail.export'"), 1);
	struct problems pr = { 0, "" };
	struct pb_mail_verify_report vr;
	CHECK_OK(pb_mail_export_verify(out, NULL, on_problem, &pr, &vr, &err), &err);
	CHECK_INT(vr.documents, 2);
	CHECK_INT(vr.archive_checked, 2);
	CHECK_INT(pr.n, 0);
	/* never over an existing export */
	CHECK_INT(pb_mail_export(ws, "1", "storage", out, &eo, &er, &err), PB_EEXIST);
	/* a changed text file is found */
	p = join(out, "text/REV000002.txt");
	spit(p, "tampered\n", 9);
	free(p);
	memset(&pr, 0, sizeof(pr));
	CHECK_INT(pb_mail_export_verify(out, NULL, on_problem, &pr, &vr, &err), PB_EVERIFY);
	CHECK(pr.n >= 1);
	/* a changed archive is found by verify, and stops a new export */
	archive[an - 2] = 'X';
	spit(arch, archive, an);
	struct pb_mail_verify_options skip = { true, NULL, NULL };
	memset(&pr, 0, sizeof(pr));
	CHECK_INT(pb_mail_export_verify(out, &skip, on_problem, &pr, &vr, &err), PB_EVERIFY);
	CHECK_INT(vr.archive_checked, 0);
	char *out2 = join(dir, "export2");
	CHECK_INT(pb_mail_export(ws, "1", "transcription", out2, &eo, &er, &err), PB_EVERIFY);
	CHECK(strstr(err.message, "the archive changed") != NULL);
	CHECK(access(out2, F_OK) != 0);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM audit_entry WHERE action = 'mail.export'"), 1);
	free(out2);
	free(archive);
	free(out);
	free(arch);
	pb_ws_close(ws);
	unit_rm_rf(dir);
	free(dir);
}

/* ---- bad input ---------------------------------------------------------------- */

static void t_bad_input(void)
{
	char *dir;
	struct pb_ws *ws = new_ws(&dir);
	char *in = join(dir, "in");
	mkdir(in, 0755);
	struct pb_buf b;
	pb_buf_init(&b, 64u << 20);
	/* a header line of 1 MB */
	pb_buf_adds(&b, "From: a@example.org\nMessage-ID: <long@x>\nSubject: ");
	for (int i = 0; i < (1 << 20); i++)
		pb_buf_addc(&b, 'a' + (i % 26));
	pb_buf_adds(&b, "\n\nbody after a long header\n");
	char *p = join(in, "long-header.eml");
	spit(p, b.data, b.len);
	free(p);
	/* 10,000 nested multiparts */
	pb_buf_reset(&b);
	pb_buf_adds(&b, "From: a@example.org\nMessage-ID: <deep@x>\nMIME-Version: 1.0\n");
	for (int i = 0; i < 10000; i++)
		pb_buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	pb_buf_adds(&b, "Content-Type: text/plain\n\ndeepest words\n");
	for (int i = 9999; i >= 0; i--)
		pb_buf_printf(&b, "--b%d--\n", i);
	p = join(in, "deep.eml");
	spit(p, b.data, b.len);
	free(p);
	/* invalid UTF-8 and an unknown charset */
	const char *badcs = "From: a@example.org\nMessage-ID: <cs@x>\nSubject: caf\xe9\n"
	                    "Content-Type: text/plain; charset=x-unknown-9\n\nna\xefve caf\xe9\n";
	p = join(in, "charset.eml");
	spit(p, badcs, strlen(badcs));
	free(p);
	/* a truncated mbox */
	const char *trunc = "From x Mon Jan  1 00:00:00 2024\nFrom: a@example.org\n"
	                    "Message-ID: <t1@x>\nContent-Type: multipart/mixed; boundary=zz\n\n"
	                    "--zz\nContent-Type: text/plain\n\ncut he";
	p = join(in, "cut.mbox");
	spit(p, trunc, strlen(trunc));
	free(p);
	/* an empty file, and an unreadable entry (a dangling link) */
	p = join(in, "empty.eml");
	spit(p, "", 0);
	free(p);
	p = join(in, "gone.eml");
	CHECK(symlink("/nonexistent/probity-test", p) == 0);
	free(p);
	const char *paths[] = { in };
	struct pb_mail_ingest_report r;
	struct pb_error err = { 0 };
	CHECK_OK(pb_mail_ingest(ws, paths, 1, NULL, &r, &err), &err);
	CHECK_INT(r.files_seen, 6);
	CHECK_INT(r.files_failed, 1);
	CHECK_INT(r.messages_new, 4);
	CHECK_INT(r.files_seen, r.files_ingested + r.files_skipped + r.files_failed);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_exception"), (int64_t)r.exceptions);
	/* a link inside an archive is never followed, dangling or not */
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_exception WHERE kind = 'symlink'"), 1);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_exception WHERE kind = 'empty-file'"), 1);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_exception WHERE kind = 'header-too-long'"),
	          1);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_exception WHERE kind = 'unknown-charset'"),
	          1);
	CHECK_INT(sql_int(ws, "SELECT count(*) FROM mail_exception WHERE kind = 'truncated-file'"), 1);
	CHECK(sql_int(ws, "SELECT count(*) FROM mail_exception WHERE msg_id = (SELECT id FROM"
	                  " mail_msg WHERE message_id = 'deep@x')") >= 1);
	/* nothing lost: every message is searchable */
	CHECK_INT(count_hits(ws, "\"body after a long header\""), 1);
	/* accents fold both ways */
	CHECK_INT(count_hits(ws, "id:cs@x naive"), 1);
	CHECK_INT(count_hits(ws, "id:cs@x na\xc3\xafve"), 1);
	CHECK_INT(count_hits(ws, "id:t1@x"), 1);
	CHECK_INT(count_hits(ws, "is:exception"), 4);
	/* every stored text is valid UTF-8 */
	sqlite3_stmt *s;
	CHECK(sqlite3_prepare_v2(ws->db, "SELECT subject, sender, body, extra FROM mail_doc", -1, &s,
	                         NULL) == SQLITE_OK);
	int rows = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		rows++;
		for (int c = 0; c < 4; c++) {
			const char *t = (const char *)sqlite3_column_text(s, c);
			if (t && !pb_utf8_valid(t, (size_t)sqlite3_column_bytes(s, c), NULL))
				UNIT_FAIL_("row %d column %d is not valid UTF-8", rows, c);
		}
	}
	sqlite3_finalize(s);
	CHECK_INT(rows, 4);
	pb_buf_release(&b);
	pb_ws_close(ws);
	free(in);
	unit_rm_rf(dir);
	free(dir);
}

int main(void)
{
	RUN(t_utf8_repair);
	RUN(t_charset_oracles);
	RUN(t_charset_big5_subset);
	RUN(t_charset_fallbacks);
	RUN(t_html_to_text);
	RUN(t_mrkdwn);
	RUN(t_parse_headers_and_refs);
	RUN(t_parse_qp_oracle);
	RUN(t_parse_rfc2047_and_charset);
	RUN(t_parse_html_alternative_and_attachments);
	RUN(t_parse_crypto_flags);
	RUN(t_parse_no_headers_and_bare_cr);
	RUN(t_dedupe_hash_ignores_transport);
	RUN(t_mbox_split);
	RUN(t_zip_read_and_bombs);
	RUN(t_slack_day);
	RUN(t_teams_messages);
	RUN(t_query_parse);
	RUN(t_query_errors);
	RUN(t_ingest_notmuch_corpus);
	RUN(t_ingest_dedupe_threads);
	RUN(t_ingest_interrupt_changes_nothing);
	RUN(t_search_report_tags_log);
	RUN(t_export_and_verify);
	RUN(t_bad_input);
	return UNIT_END("mail");
}
