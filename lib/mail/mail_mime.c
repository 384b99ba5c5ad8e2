/* mail_mime.c - one RFC 5322 message through GMime into a pb__mail_msg.
 *
 * GMime does the MIME work (headers, RFC 2047, transfer encodings, the part
 * tree); this file decides what becomes searchable text, what is listed as an
 * attachment, and what is flagged. Its parser warnings become the message's
 * processing exceptions. Nothing here fails on bad input: a message GMime
 * cannot read is still kept, with a warning, so no message is lost.
 *
 * GMime needs g_mime_init() once per process; that is GMime's global state,
 * not ours, and it is done with pthread_once.
 */
#include "mail/mail.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "util/banned.h"

/* ---- the message record ------------------------------------------------ */

void pb__mail_msg_init(struct pb__mail_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->kind = "email";
	pb_buf_init(&m->body, PB__MAIL_MAX_TEXT);
	pb_buf_init(&m->extra, PB__MAIL_MAX_TEXT);
	pb_buf_init(&m->attach_names, PB__MAIL_MAX_HEADER);
}

void pb__mail_msg_release(struct pb__mail_msg *m)
{
	free(m->message_id);
	free(m->date_header);
	free(m->from);
	free(m->to);
	free(m->cc);
	free(m->bcc);
	free(m->subject);
	free(m->in_reply_to);
	free(m->channel);
	for (size_t i = 0; i < m->nrefs; i++)
		free(m->refs[i]);
	free(m->refs);
	pb_buf_release(&m->body);
	pb_buf_release(&m->extra);
	pb_buf_release(&m->attach_names);
	for (size_t i = 0; i < m->natt; i++) {
		free(m->att[i].name);
		free(m->att[i].type);
	}
	free(m->att);
	for (size_t i = 0; i < m->nwarn; i++)
		free(m->warn[i].detail);
	free(m->warn);
	memset(m, 0, sizeof(*m));
}

void pb__mail_warn(struct pb__mail_msg *m, bool error, const char *kind, const char *fmt, ...)
{
	m->flags |= PB_MAIL_EXCEPTION;
	/* the same kind twice says nothing new; count it */
	for (size_t i = 0; i < m->nwarn; i++)
		if (!strcmp(m->warn[i].kind, kind) && m->warn[i].error == error) {
			m->warn[i].count++;
			return;
		}
	if (m->nwarn >= PB__MAIL_MAX_WARN) {
		m->nwarn_dropped++;
		return;
	}
	struct pb__mail_warn *w = realloc(m->warn, (m->nwarn + 1) * sizeof(*w));
	if (!w)
		return;
	m->warn = w;
	w = &m->warn[m->nwarn];
	pb__strlcpy(w->kind, kind, sizeof(w->kind));
	w->error = error;
	w->count = 1;
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* details quote input: keep them valid UTF-8 */
	struct pb_buf b;
	pb_buf_init(&b, sizeof(buf) * 2);
	pb__mail_utf8_append(&b, buf, strlen(buf));
	w->detail = b.data ? b.data : pb__strndup("", 0);
	m->nwarn++;
}

enum pb_status pb__mail_set_header(struct pb__mail_msg *m, char **dst, const char *what,
                                   const char *s, size_t n)
{
	free(*dst);
	*dst = NULL;
	if (!s)
		return PB_OK;
	struct pb_buf b;
	pb_buf_init(&b, PB__MAIL_MAX_HEADER);
	size_t bad = pb__mail_utf8_append(&b, s, n);
	if (bad == (size_t)-1)
		pb__mail_warn(m, false, "header-too-long",
		              "%s is %zu bytes; the first %u are kept and indexed", what, n,
		              PB__MAIL_MAX_HEADER);
	else if (bad)
		pb__mail_warn(m, false, "invalid-utf8", "%s: %zu invalid bytes replaced", what, bad);
	/* header values are one line */
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n' || b.data[i] == '\t')
			b.data[i] = ' ';
	*dst = b.data ? b.data : pb__strndup("", 0);
	return *dst ? PB_OK : PB_ENOMEM;
}

enum pb_status pb__mail_add_ref(struct pb__mail_msg *m, const char *id, size_t n)
{
	while (n && (id[0] == '<' || id[0] == ' '))
		id++, n--;
	while (n && (id[n - 1] == '>' || id[n - 1] == ' '))
		n--;
	if (!n || n > 998)
		return PB_OK;
	for (size_t i = 0; i < m->nrefs; i++)
		if (strlen(m->refs[i]) == n && !memcmp(m->refs[i], id, n))
			return PB_OK;
	if (m->nrefs >= PB__MAIL_MAX_REFS) {
		pb__mail_warn(m, false, "too-many-references",
		              "more than %u references; the rest are not used for threads",
		              PB__MAIL_MAX_REFS);
		return PB_OK;
	}
	char **r = realloc(m->refs, (m->nrefs + 1) * sizeof(*r));
	if (!r)
		return PB_ENOMEM;
	m->refs = r;
	if (!(r[m->nrefs] = pb__strndup(id, n)))
		return PB_ENOMEM;
	m->nrefs++;
	return PB_OK;
}

enum pb_status pb__mail_add_att(struct pb__mail_msg *m, const char *name, const char *type,
                                const void *data, size_t size, bool indexed)
{
	m->flags |= PB_MAIL_ATTACHMENT;
	if (m->natt >= PB__MAIL_MAX_ATTACH) {
		pb__mail_warn(m, false, "too-many-attachments",
		              "more than %u attachments; the rest are not listed",
		              PB__MAIL_MAX_ATTACH);
		return PB_OK;
	}
	struct pb__mail_att *a = realloc(m->att, (m->natt + 1) * sizeof(*a));
	if (!a)
		return PB_ENOMEM;
	m->att = a;
	a = &m->att[m->natt];
	memset(a, 0, sizeof(*a));
	char *nm = NULL, *ty = NULL;
	struct pb__mail_msg dummy; /* header cleaning without warnings on m */
	memset(&dummy, 0, sizeof(dummy));
	pb__mail_set_header(&dummy, &nm, "attachment name", name ? name : "",
	                    name ? strlen(name) : 0);
	pb__mail_set_header(&dummy, &ty, "attachment type", type ? type : "",
	                    type ? strlen(type) : 0);
	for (size_t i = 0; i < dummy.nwarn; i++)
		free(dummy.warn[i].detail);
	free(dummy.warn);
	if (!nm || !ty) {
		free(nm);
		free(ty);
		return PB_ENOMEM;
	}
	a->name = nm;
	a->type = ty;
	a->size = size;
	a->indexed = indexed;
	if (data) {
		uint8_t h[32];
		pb__sha256(data, size, h);
		pb_hex(h, 32, a->sha256);
	}
	m->natt++;
	if (*nm) {
		if (m->attach_names.len)
			pb_buf_addc(&m->attach_names, '\n');
		if (pb_buf_adds(&m->attach_names, nm) != PB_OK)
			m->flags |= PB_MAIL_TRUNCATED;
	}
	return PB_OK;
}

void pb__mail_add_text(struct pb__mail_msg *m, struct pb_buf *col, const char *s, size_t n)
{
	if (!n)
		return;
	if (col->len && pb_buf_add(col, "\n\n", 2) != PB_OK)
		goto full;
	size_t bad = pb__mail_utf8_append(col, s, n);
	if (bad == (size_t)-1)
		goto full;
	if (bad)
		pb__mail_warn(m, false, "invalid-utf8", "%zu invalid bytes in the text replaced",
		              bad);
	return;
full:
	if (!(m->flags & PB_MAIL_TRUNCATED))
		pb__mail_warn(m, false, "text-too-long",
		              "the text is over %u bytes; only its start is indexed",
		              PB__MAIL_MAX_TEXT);
	m->flags |= PB_MAIL_TRUNCATED;
}

enum pb_status pb__mail_msg_finish(struct pb__mail_msg *m, const void *raw, size_t rawlen)
{
	uint8_t h[32];
	pb__sha256(raw, rawlen, h);
	pb_hex(h, 32, m->raw_sha256);
	m->raw_len = rawlen;
	if (!m->message_id || !*m->message_id) {
		char id[96];
		snprintf(id, sizeof(id), "probity-sha256-%s", m->raw_sha256);
		free(m->message_id);
		if (!(m->message_id = pb__strndup(id, strlen(id))))
			return PB_ENOMEM;
		m->mid_synthetic = true;
	}
	/* the dedupe hash: the extracted text and the attachments, so that copies
	 * that differ only in transport (Received lines, CRLF, encodings) match */
	struct pb_sha256 s;
	if (pb__sha256_init(&s) != PB_OK)
		return PB_ENOMEM;
	pb__sha256_update(&s, "body\n", 5);
	pb__sha256_update(&s, m->body.data ? m->body.data : "", m->body.len);
	pb__sha256_update(&s, "\0extra\n", 7);
	pb__sha256_update(&s, m->extra.data ? m->extra.data : "", m->extra.len);
	for (size_t i = 0; i < m->natt; i++) {
		pb__sha256_update(&s, "\0att\n", 5);
		pb__sha256_update(&s, m->att[i].name, strlen(m->att[i].name));
		pb__sha256_update(&s, "\n", 1);
		pb__sha256_update(&s, m->att[i].sha256, strlen(m->att[i].sha256));
	}
	pb__sha256_final(&s, h);
	pb_hex(h, 32, m->body_sha256);
	return PB_OK;
}

/* ---- GMime ------------------------------------------------------------- */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init(void)
{
	g_mime_init();
}

void pb__mail_gmime_init(void)
{
	pthread_once(&gmime_once, gmime_init);
}

static const char *warning_kind(GMimeParserWarning w, bool *error)
{
	*error = false;
	switch (w) {
	case GMIME_WARN_DUPLICATED_HEADER:
		return "duplicated-header";
	case GMIME_WARN_DUPLICATED_PARAMETER:
		return "duplicated-parameter";
	case GMIME_WARN_UNENCODED_8BIT_HEADER:
		return "unencoded-8bit-header";
	case GMIME_WARN_INVALID_CONTENT_TYPE:
		return "invalid-content-type";
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
		return "invalid-rfc2047";
	case GMIME_WARN_MALFORMED_MULTIPART:
		return "malformed-multipart";
	case GMIME_WARN_TRUNCATED_MESSAGE:
		return "truncated-message";
	case GMIME_WARN_MALFORMED_MESSAGE:
		return "malformed-message";
	case GMIME_WARN_INVALID_PARAMETER:
		return "invalid-parameter";
	case GMIME_WARN_INVALID_ADDRESS_LIST:
		return "invalid-address-list";
	case GMIME_WARN_PART_WITHOUT_CONTENT:
		return "part-without-content";
	case GMIME_CRIT_INVALID_HEADER_NAME:
		*error = true;
		return "invalid-header-name";
	case GMIME_CRIT_CONFLICTING_HEADER:
		*error = true;
		return "conflicting-header";
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		*error = true;
		return "conflicting-parameter";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		*error = true;
		return "multipart-without-boundary";
	case GMIME_CRIT_NESTING_OVERFLOW:
		*error = true;
		return "nesting-overflow";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		*error = true;
		return "part-without-headers-or-content";
	}
	return "parser-warning";
}

/* What each GMime warning means for a reviewer. */
static const char *warning_text(GMimeParserWarning w)
{
	switch (w) {
	case GMIME_WARN_DUPLICATED_HEADER:
		return "a header that should appear once appears twice";
	case GMIME_WARN_DUPLICATED_PARAMETER:
		return "a header parameter appears twice";
	case GMIME_WARN_UNENCODED_8BIT_HEADER:
		return "a header holds unencoded 8-bit text";
	case GMIME_WARN_INVALID_CONTENT_TYPE:
		return "invalid Content-Type; read as application/octet-stream";
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
		return "an RFC 2047 encoded header value is invalid";
	case GMIME_WARN_MALFORMED_MULTIPART:
		return "a multipart has no parts";
	case GMIME_WARN_TRUNCATED_MESSAGE:
		return "the message is truncated (a MIME boundary or part ends early)";
	case GMIME_WARN_MALFORMED_MESSAGE:
		return "the message is malformed";
	case GMIME_WARN_INVALID_PARAMETER:
		return "a header parameter is invalid";
	case GMIME_WARN_INVALID_ADDRESS_LIST:
		return "an address list cannot be read in full";
	case GMIME_WARN_PART_WITHOUT_CONTENT:
		return "a MIME part's headers end at a boundary (no content)";
	case GMIME_CRIT_INVALID_HEADER_NAME:
		return "a line in the headers is not a header; what follows may be misread";
	case GMIME_CRIT_CONFLICTING_HEADER:
		return "conflicting headers; other software may read this message differently";
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		return "conflicting header parameters";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		return "a multipart has no boundary; its parts cannot be separated";
	case GMIME_CRIT_NESTING_OVERFLOW:
		return "MIME parts nest deeper than GMime follows; the deepest are not read";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		return "a MIME part has neither headers nor content";
	}
	return "GMime parser warning";
}

static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
                       gpointer user)
{
	struct pb__mail_msg *m = user;
	bool error;
	const char *kind = warning_kind(code, &error);
	char it[120];
	pb__strlcpy(it, item ? item : "", sizeof(it));
	char at[40] = "";
	if (offset >= 0)
		snprintf(at, sizeof(at), " (byte %lld)", (long long)offset);
	pb__mail_warn(m, error, kind, "%s%s%s%s%s", warning_text(code), at, it[0] ? ": '" : "", it,
	              it[0] ? "'" : "");
}

struct walk {
	struct pb__mail_msg *m;
	GMimeParserOptions *po;
	enum pb_status st;
	bool depth_warned;
	bool parts_warned;
};

static GByteArray *decoded_bytes(GMimePart *part, GMimeStream **hold)
{
	*hold = NULL;
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	if (!dw)
		return NULL;
	GMimeStream *ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(dw, ms);
	*hold = ms;
	return g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
}

static void add_part_text(struct walk *w, GMimeObject *obj, const char *data, size_t len,
                          struct pb_buf *col, bool html)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *charset = ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
	struct pb_buf u;
	pb_buf_init(&u, PB__MAIL_MAX_TEXT);
	bool unknown, lossy;
	enum pb_status st = pb__mail_charset_to_utf8(charset, data, len, &u, &unknown, &lossy);
	if (unknown)
		pb__mail_warn(w->m, false, "unknown-charset",
		              "charset '%s' is unknown; read as UTF-8 or windows-1252", charset);
	else if (lossy)
		pb__mail_warn(w->m, false, "invalid-charset-bytes",
		              "text is not valid %s; bad bytes replaced or read as windows-1252",
		              charset ? charset : "UTF-8");
	if (st == PB_ELIMIT && !(w->m->flags & PB_MAIL_TRUNCATED)) {
		pb__mail_warn(w->m, false, "text-too-long",
		              "a part's text is over %u bytes; only its start is indexed",
		              PB__MAIL_MAX_TEXT);
		w->m->flags |= PB_MAIL_TRUNCATED;
	}
	if (html) {
		struct pb_buf t;
		pb_buf_init(&t, PB__MAIL_MAX_TEXT);
		pb__mail_html_to_text(u.data ? u.data : "", u.len, &t);
		pb__mail_add_text(w->m, col, t.data ? t.data : "", t.len);
		pb_buf_release(&t);
	} else {
		pb__mail_add_text(w->m, col, u.data ? u.data : "", u.len);
	}
	if (u.len && memmem(u.data, u.len, "-----BEGIN PGP MESSAGE-----", 27)) {
		w->m->flags |= PB_MAIL_ENCRYPTED;
		pb__mail_warn(w->m, false, "encrypted",
		              "an inline PGP encrypted block is not decrypted or indexed");
	}
	pb_buf_release(&u);
}

static void walk(struct walk *w, GMimeObject *obj, unsigned depth, struct pb_buf *col);

static void index_headers_of(struct walk *w, GMimeMessage *msg, struct pb_buf *col)
{
	char *s;
	const char *subj = g_mime_message_get_subject(msg);
	InternetAddressList *from = g_mime_message_get_from(msg);
	s = from ? internet_address_list_to_string(from, NULL, FALSE) : NULL;
	if (s) {
		pb__mail_add_text(w->m, col, s, strlen(s));
		g_free(s);
	}
	if (subj)
		pb__mail_add_text(w->m, col, subj, strlen(subj));
}

static void walk_leaf(struct walk *w, GMimeObject *obj, struct pb_buf *col)
{
	GMimePart *part = GMIME_PART(obj);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : "application";
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : "octet-stream";
	char mime[160];
	snprintf(mime, sizeof(mime), "%s/%s", type ? type : "", sub ? sub : "");
	for (char *p = mime; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	const char *filename = g_mime_part_get_filename(part);
	bool is_text = !strncmp(mime, "text/", 5);
	bool is_plain = !strcmp(mime, "text/plain");
	bool is_html = !strcmp(mime, "text/html");
	bool disposition_attachment = g_mime_part_is_attachment(part);
	bool attachment = disposition_attachment || (filename && *filename && !is_text);

	if (!strcmp(mime, "application/pgp-encrypted") ||
	    !strcmp(mime, "application/x-pkcs7-mime")) {
		w->m->flags |= PB_MAIL_ENCRYPTED;
		pb__mail_warn(w->m, false, "encrypted", "an encrypted %s part is not indexed", mime);
		return;
	}
	if (!strcmp(mime, "application/pgp-signature") ||
	    !strcmp(mime, "application/pkcs7-signature") ||
	    !strcmp(mime, "application/x-pkcs7-signature")) {
		w->m->flags |= PB_MAIL_SIGNED;
		return;
	}
	GMimeStream *hold;
	GByteArray *ba = decoded_bytes(part, &hold);
	const char *data = ba ? (const char *)ba->data : "";
	size_t len = ba ? ba->len : 0;
	if (attachment) {
		bool text_indexed = is_plain;
		if (pb__mail_add_att(w->m, filename, mime, data, len, text_indexed) != PB_OK)
			w->st = PB_ENOMEM;
		if (text_indexed)
			add_part_text(w, obj, data, len, &w->m->extra, false);
	} else if (is_text) {
		add_part_text(w, obj, data, len, col, is_html);
	} else {
		/* an inline non-text part (an image in a newsletter): listed, not indexed */
		if (pb__mail_add_att(w->m, filename, mime, data, len, false) != PB_OK)
			w->st = PB_ENOMEM;
	}
	if (hold)
		g_object_unref(hold);
}

static bool leaf_is(GMimeObject *o, const char *sub)
{
	if (!GMIME_IS_PART(o) || GMIME_IS_MULTIPART(o))
		return false;
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	return ct && g_mime_content_type_is_type(ct, "text", sub) &&
	       !g_mime_part_is_attachment(GMIME_PART(o));
}

static void walk(struct walk *w, GMimeObject *obj, unsigned depth, struct pb_buf *col)
{
	if (!obj || w->st != PB_OK)
		return;
	if (depth > PB__MAIL_MAX_DEPTH) {
		if (!w->depth_warned)
			pb__mail_warn(w->m, true, "nesting-too-deep",
			              "MIME parts nested deeper than %u are not read",
			              PB__MAIL_MAX_DEPTH);
		w->depth_warned = true;
		return;
	}
	if (++w->m->nparts > PB__MAIL_MAX_PARTS) {
		if (!w->parts_warned)
			pb__mail_warn(w->m, true, "too-many-parts",
			              "more than %u MIME parts; the rest are not read",
			              PB__MAIL_MAX_PARTS);
		w->parts_warned = true;
		return;
	}
	if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
		w->m->flags |= PB_MAIL_ENCRYPTED;
		pb__mail_warn(w->m, false, "encrypted",
		              "a multipart/encrypted part is not decrypted or indexed");
		return;
	}
	if (GMIME_IS_MULTIPART_SIGNED(obj)) {
		w->m->flags |= PB_MAIL_SIGNED;
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		if (g_mime_multipart_get_count(mp) > 0)
			walk(w, g_mime_multipart_get_part(mp, GMIME_MULTIPART_SIGNED_CONTENT), depth + 1,
			     col);
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		int pref = -1;
		if (ct && g_mime_content_type_is_type(ct, "multipart", "alternative")) {
			for (int i = 0; i < n && pref < 0; i++)
				if (leaf_is(g_mime_multipart_get_part(mp, i), "plain"))
					pref = i;
			for (int i = 0; i < n && pref < 0; i++)
				if (leaf_is(g_mime_multipart_get_part(mp, i), "html"))
					pref = i;
			if (pref < 0)
				pref = 0;
		}
		for (int i = 0; i < n; i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1,
			     pref < 0 || i == pref ? col : &w->m->extra);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (!inner)
			return;
		GMimeStream *ms = g_mime_stream_mem_new();
		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, ms);
		GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
		const char *fn = g_mime_object_get_content_disposition_parameter(obj, "filename");
		const char *subj = g_mime_message_get_subject(inner);
		char name[256];
		if (fn && *fn)
			pb__strlcpy(name, fn, sizeof(name));
		else
			snprintf(name, sizeof(name), "%.200s.eml", subj && *subj ? subj : "message");
		if (pb__mail_add_att(w->m, name, "message/rfc822", ba ? ba->data : NULL,
		                     ba ? ba->len : 0, true) != PB_OK)
			w->st = PB_ENOMEM;
		g_object_unref(ms);
		index_headers_of(w, inner, &w->m->extra);
		walk(w, g_mime_message_get_mime_part(inner), depth + 1, &w->m->extra);
		return;
	}
	if (GMIME_IS_MESSAGE_PARTIAL(obj)) {
		GMimeMessagePartial *p = GMIME_MESSAGE_PARTIAL(obj);
		const char *id = g_mime_message_partial_get_id(p);
		w->m->flags |= PB_MAIL_PARTIAL;
		pb__mail_warn(w->m, false, "partial",
		              "message/partial fragment %d of %d (id '%.100s') is not reassembled",
		              g_mime_message_partial_get_number(p),
		              g_mime_message_partial_get_total(p), id ? id : "");
		GMimeStream *hold;
		GByteArray *ba = decoded_bytes(GMIME_PART(obj), &hold);
		if (pb__mail_add_att(w->m, "", "message/partial", ba ? ba->data : NULL,
		                     ba ? ba->len : 0, false) != PB_OK)
			w->st = PB_ENOMEM;
		if (hold)
			g_object_unref(hold);
		return;
	}
	if (GMIME_IS_APPLICATION_PKCS7_MIME(obj)) {
		GMimeSecureMimeType t =
			g_mime_application_pkcs7_mime_get_smime_type(GMIME_APPLICATION_PKCS7_MIME(obj));
		if (t == GMIME_SECURE_MIME_TYPE_SIGNED_DATA) {
			w->m->flags |= PB_MAIL_SIGNED;
			pb__mail_warn(w->m, false, "signed-opaque",
			              "an S/MIME opaque signed part is not unwrapped or indexed");
		} else if (t == GMIME_SECURE_MIME_TYPE_CERTS_ONLY) {
			walk_leaf(w, obj, col);
		} else {
			w->m->flags |= PB_MAIL_ENCRYPTED;
			pb__mail_warn(w->m, false, "encrypted",
			              "an S/MIME encrypted part is not decrypted or indexed");
		}
		return;
	}
	if (GMIME_IS_PART(obj))
		walk_leaf(w, obj, col);
}

static char *address_list(GMimeMessage *msg, GMimeAddressType t)
{
	InternetAddressList *l = g_mime_message_get_addresses(msg, t);
	if (!l || internet_address_list_length(l) == 0)
		return NULL;
	return internet_address_list_to_string(l, NULL, FALSE);
}

static enum pb_status set_gstr(struct pb__mail_msg *m, char **dst, const char *what, char *g)
{
	enum pb_status st = PB_OK;
	if (g) {
		st = pb__mail_set_header(m, dst, what, g, strlen(g));
		g_free(g);
	}
	return st;
}

static void add_refs_from(struct pb__mail_msg *m, GMimeParserOptions *po, const char *text,
                          bool is_reply_to)
{
	if (!text)
		return;
	GMimeReferences *r = g_mime_references_parse(po, text);
	if (!r)
		return;
	int n = g_mime_references_length(r);
	for (int i = 0; i < n; i++) {
		const char *id = g_mime_references_get_message_id(r, i);
		if (!id)
			continue;
		if (is_reply_to && !m->in_reply_to && strlen(id) <= 998)
			m->in_reply_to = pb__strndup(id, strlen(id));
		pb__mail_add_ref(m, id, strlen(id));
	}
	g_mime_references_free(r);
}

enum pb_status pb__mail_parse_email(const char *data, size_t len, struct pb__mail_msg *m,
                                    struct pb_error *err)
{
	pb__mail_gmime_init();
	m->kind = "email";
	enum pb_status st = PB_OK;
	char *norm = NULL;
	const char *src = data;
	/* files with bare CR line ends (old Mac exports): GMime only knows LF */
	if (len && !memchr(data, '\n', len) && memchr(data, '\r', len)) {
		if (!(norm = malloc(len)))
			return pb__err(err, PB_ENOMEM, "out of memory");
		for (size_t i = 0; i < len; i++)
			norm[i] = data[i] == '\r' ? '\n' : data[i];
		src = norm;
		pb__mail_warn(m, false, "bare-cr", "line ends are bare CR; read as LF");
	}
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(src, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeParserOptions *po = g_mime_parser_options_new();
	g_mime_parser_options_set_warning_callback(po, on_warning, m);
	const char *fallback[] = { "UTF-8", "windows-1252", NULL };
	g_mime_parser_options_set_fallback_charsets(po, fallback);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, po);
	if (!msg) {
		pb__mail_warn(m, true, "unparseable",
		              "GMime could not read a message here; its bytes are kept and its "
		              "text indexed as is");
		pb__mail_add_text(m, &m->body, src, len > PB__MAIL_MAX_TEXT ? PB__MAIL_MAX_TEXT : len);
		goto out;
	}
	GMimeObject *mo = GMIME_OBJECT(msg);
	GMimeHeaderList *hl = g_mime_object_get_header_list(mo);
	if (!hl || g_mime_header_list_get_count(hl) == 0)
		pb__mail_warn(m, false, "no-headers", "the message has no header lines");

	const char *mid = g_mime_message_get_message_id(msg);
	const char *mid_raw = g_mime_object_get_header(mo, "Message-ID");
	if (mid && *mid) {
		if (strlen(mid) > 998)
			pb__mail_warn(m, false, "message-id-too-long",
			              "the Message-ID is over 998 bytes; a hash stands in for it");
		else if ((st = pb__mail_set_header(m, &m->message_id, "Message-ID", mid, strlen(mid))))
			goto out;
	} else if (mid_raw) {
		pb__mail_warn(m, false, "bad-message-id",
		              "the Message-ID header cannot be read; a hash stands in for it");
	}
	const char *subj = g_mime_message_get_subject(msg);
	if (subj && (st = pb__mail_set_header(m, &m->subject, "Subject", subj, strlen(subj))))
		goto out;
	if ((st = set_gstr(m, &m->from, "From", address_list(msg, GMIME_ADDRESS_TYPE_FROM))) ||
	    (st = set_gstr(m, &m->to, "To", address_list(msg, GMIME_ADDRESS_TYPE_TO))) ||
	    (st = set_gstr(m, &m->cc, "Cc", address_list(msg, GMIME_ADDRESS_TYPE_CC))) ||
	    (st = set_gstr(m, &m->bcc, "Bcc", address_list(msg, GMIME_ADDRESS_TYPE_BCC))))
		goto out;
	const char *date_raw = g_mime_object_get_header(mo, "Date");
	if (date_raw) {
		pb__mail_set_header(m, &m->date_header, "Date", date_raw, strlen(date_raw));
		GDateTime *dt = g_mime_message_get_date(msg);
		if (dt) {
			m->date = g_date_time_to_unix(dt);
			m->have_date = true;
		} else {
			pb__mail_warn(m, false, "bad-date", "the Date header '%.80s' cannot be read",
			              date_raw);
		}
	}
	add_refs_from(m, po, g_mime_object_get_header(mo, "In-Reply-To"), true);
	add_refs_from(m, po, g_mime_object_get_header(mo, "References"), false);

	struct walk w = { m, po, PB_OK, false, false };
	walk(&w, g_mime_message_get_mime_part(msg), 0, &m->body);
	if (w.st != PB_OK) {
		st = pb__err(err, w.st, "out of memory");
		goto out;
	}
out:
	if (msg)
		g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(po);
	free(norm);
	if (st == PB_ENOMEM)
		return pb__err(err, PB_ENOMEM, "out of memory");
	return st;
}
