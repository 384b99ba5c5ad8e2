/* mail_export.c - export the hits of a search with their hashes, and verify
 * an export offline.
 *
 * An export folder holds, per hit, the original bytes as found in the archive
 * (natives/PB000001.eml, or .json for a chat message) and its extracted text
 * (text/PB000001.txt); manifest.csv ties each document to its Message-ID,
 * its place in the archive and the SHA-256 of every file; export.dat is the
 * same as a Concordance load file (UTF-8 with BOM, DC4 field separator, þ
 * qualifier, ® for line breaks inside a field); export.json says what was
 * searched, by whom, and the result hash; SHA256SUMS covers every file
 * (`sha256sum -c SHA256SUMS` works).
 *
 * The native bytes are re-read from the archive and must hash to what ingest
 * recorded, so an export can only contain what was indexed. The folder is
 * built beside its final name and renamed into place just before the export
 * is recorded in the case log; if the record fails, the folder is removed.
 */
#include "mail/mail.h"
#include "mail/mail_case.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"

#define DAT_SEP "\x14"        /* DC4, shown as ¶ by review tools */
#define DAT_QUOTE "\xC3\xBE"  /* þ in UTF-8 */
#define DAT_NL "\xC2\xAE"     /* ® in UTF-8 */

/* ---- reading a location ----------------------------------------------------- */

enum pb_status pb__mail_read_location(const char *path, const char *member, uint64_t offset,
                                      uint64_t length, struct pb_buf *out,
                                      struct pb_error *err)
{
	pb_buf_reset(out);
	if (length > PB__MAIL_MAX_MEMBER * 4ull)
		return pb__err(err, PB_ELIMIT, "'%s': %llu bytes at %llu is too large to read", path,
		               (unsigned long long)length, (unsigned long long)offset);
	/* the path comes from the workspace or a manifest: a pipe or device put
	 * in the archive's place is refused, not opened (it could block), and so
	 * is a symbolic link (ingest recorded the real path of a regular file) */
	int fd;
	uint64_t fsize;
	const char *what;
	int oe = pb__open_regular_nofollow(path, &fd, &fsize, &what);
	if (oe < 0)
		return pb__err_at(err, PB_EVERIFY, path, 0, 0,
		                  "cannot read the archive: not a regular file (%s)", what);
	if (oe)
		return pb__err_at(err, pb__errno_status(oe), path, 0, 0, "cannot read the archive: %s",
		                  pb__errno_text(oe));
	enum pb_status st = PB_OK;
	if (member && *member) {
		void *map = fsize ? mmap(NULL, (size_t)fsize, PROT_READ, MAP_PRIVATE, fd, 0)
		                  : MAP_FAILED;
		if (map == MAP_FAILED) {
			st = pb__err_at(err, PB_EIO, path, 0, 0, "cannot read the archive");
			goto out;
		}
		struct pb__zip z;
		struct pb_buf m;
		pb_buf_init(&m, PB__MAIL_MAX_MEMBER);
		if (!(st = pb__zip_open(&z, map, (size_t)fsize, path, err))) {
			const struct pb__zip_entry *e = pb__zip_find(&z, member);
			if (!e)
				st = pb__err_at(err, PB_ENOENT, path, 0, 0, "zip member '%s' is gone", member);
			else
				st = pb__zip_read(&z, e, PB__MAIL_MAX_MEMBER, &m, err);
			pb__zip_close(&z);
		}
		if (!st && (offset > m.len || length > m.len - offset))
			st = pb__err_at(err, PB_EVERIFY, path, 0, 0,
			                "zip member '%s' is shorter than the recorded range", member);
		if (!st) {
			out->limit = length + 1;
			st = pb_buf_add(out, m.data + offset, (size_t)length);
		}
		pb_buf_release(&m);
		munmap(map, (size_t)fsize);
		goto out;
	}
	if (fsize < offset || fsize - offset < length) {
		st = pb__err_at(err, PB_EVERIFY, path, 0, 0,
		                "the archive file is shorter than the recorded range %llu+%llu",
		                (unsigned long long)offset, (unsigned long long)length);
		goto out;
	}
	out->limit = length + 1;
	if ((st = pb_buf_reserve(out, (size_t)length))) {
		st = pb__err(err, st, "out of memory");
		goto out;
	}
	size_t got = 0;
	while (got < length) {
		ssize_t r = pread(fd, out->data + got, (size_t)length - got, (off_t)(offset + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			st = pb__err_at(err, PB_EIO, path, 0, 0, "cannot read the archive: %s",
			                r < 0 ? pb__errno_text(errno) : "unexpected end");
			goto out;
		}
		got += (size_t)r;
	}
	out->len = got;
	out->data[got] = '\0';
out:
	close(fd);
	return st;
}

/* ---- files ------------------------------------------------------------------------ */

static enum pb_status write_file(const char *dir, const char *rel, const void *data, size_t n,
                                 char sha_out[65], struct pb_error *err)
{
	char *p = pb__path_join(dir, rel);
	if (!p)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = PB_OK;
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		st = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", p,
		             pb__errno_text(errno));
		goto out;
	}
	const char *c = data;
	size_t left = n;
	while (left) {
		ssize_t w = write(fd, c, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			st = pb__err(err, PB_EIO, "cannot write '%s': %s", p, pb__errno_text(errno));
			break;
		}
		c += w;
		left -= (size_t)w;
	}
	if (!st && fsync(fd) != 0)
		st = pb__err(err, PB_EIO, "cannot write '%s': %s", p, pb__errno_text(errno));
	close(fd);
	if (!st && sha_out) {
		uint8_t h[32];
		pb__sha256(data, n, h);
		pb_hex(h, 32, sha_out);
	}
out:
	free(p);
	return st;
}

/* ---- load-file fields ------------------------------------------------------------- */

/* A DAT value: þ-quoted; line breaks become ®; a þ inside becomes U+FFFD
 * (Concordance has no escape for its qualifier). */
static void dat_field(struct pb_buf *b, const char *s, bool first)
{
	if (!first)
		pb_buf_adds(b, DAT_SEP);
	pb_buf_adds(b, DAT_QUOTE);
	for (const char *c = s ? s : ""; *c; c++) {
		if (*c == '\r') {
			pb_buf_adds(b, DAT_NL);
			if (c[1] == '\n')
				c++;
		} else if (*c == '\n') {
			pb_buf_adds(b, DAT_NL);
		} else if ((unsigned char)c[0] == 0xC3 && (unsigned char)c[1] == 0xBE) {
			pb_buf_adds(b, "\xEF\xBF\xBD");
			c++;
		} else {
			pb_buf_addc(b, *c);
		}
	}
	pb_buf_adds(b, DAT_QUOTE);
}

static void csv_field(struct pb_buf *b, const char *s, bool first)
{
	if (!first)
		pb_buf_addc(b, ',');
	pb_buf_csv_field(b, s ? s : "", s ? strlen(s) : 0);
}

static const char *const manifest_cols[] = {
	"doc_id",        "message_number", "message_id",    "kind",          "date",
	"from",          "subject",        "custodians",    "thread",        "native_file",
	"native_sha256", "native_size",    "text_file",     "text_sha256",   "text_size",
	"source_path",   "source_member",  "source_offset", "source_length", "source_file_sha256",
	"body_sha256",
};
#define NCOLS PB_ARRAY_LEN(manifest_cols)

static const char *const dat_cols[] = {
	"BEGDOC",    "ENDDOC",  "BEGATTACH", "ENDATTACH", "CUSTODIAN",  "FROM",     "TO",
	"CC",        "BCC",     "SUBJECT",   "DATESENT",  "MESSAGEID",  "THREADID", "KIND",
	"CHANNEL",   "ATTACHMENTS", "SHA256", "TEXTSHA256", "NATIVEPATH", "TEXTPATH", "SOURCEFILE",
	"SOURCEMEMBER", "SOURCEOFFSET", "SOURCELENGTH",
};

/* ---- export ----------------------------------------------------------------------- */

struct doc {
	char *mid, *kind, *from, *to, *cc, *bcc, *subject, *channel, *custodians, *body_sha256;
	char *body, *extra, *attach;
	int64_t date;
	bool has_date;
	int64_t thread;
};

static void doc_free(struct doc *d)
{
	char **f[] = { &d->mid,     &d->kind,       &d->from,        &d->to,   &d->cc,
		       &d->bcc,     &d->subject,    &d->channel,     &d->custodians,
		       &d->body_sha256, &d->body,   &d->extra,       &d->attach };
	for (size_t i = 0; i < PB_ARRAY_LEN(f); i++)
		free(*f[i]);
	memset(d, 0, sizeof(*d));
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return pb__strndup(t ? t : "", t ? (size_t)sqlite3_column_bytes(s, i) : 0);
}

static enum pb_status load_doc(struct pb_ws *ws, sqlite3_stmt *s, int64_t id, struct doc *d,
                               struct pb_error *err)
{
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return pb__db_err(ws->db, err, "cannot read a hit");
	}
	d->mid = col_dup(s, 0);
	d->kind = col_dup(s, 1);
	d->has_date = sqlite3_column_type(s, 2) != SQLITE_NULL;
	d->date = sqlite3_column_int64(s, 2);
	d->from = col_dup(s, 3);
	d->to = col_dup(s, 4);
	d->cc = col_dup(s, 5);
	d->bcc = col_dup(s, 6);
	d->subject = col_dup(s, 7);
	d->channel = col_dup(s, 8);
	d->thread = sqlite3_column_int64(s, 9);
	d->body_sha256 = col_dup(s, 10);
	d->body = col_dup(s, 11);
	d->extra = col_dup(s, 12);
	d->attach = col_dup(s, 13);
	d->custodians = col_dup(s, 14);
	sqlite3_reset(s);
	if (!d->mid || !d->kind || !d->from || !d->to || !d->cc || !d->bcc || !d->subject ||
	    !d->channel || !d->body_sha256 || !d->body || !d->extra || !d->attach || !d->custodians)
		return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
}

static const char doc_sql[] =
	"SELECT m.message_id, m.kind, m.date, m.from_addr, m.to_addr, m.cc_addr, m.bcc_addr,"
	" m.subject, m.channel, m.thread_id, m.body_sha256, d.body, d.extra, d.attach,"
	" (SELECT group_concat(c, ',') FROM (SELECT DISTINCT custodian AS c FROM mail_loc"
	"   WHERE msg_id = m.id AND custodian IS NOT NULL ORDER BY custodian))"
	" FROM mail_msg m JOIN mail_doc d ON d.id = m.id WHERE m.id = ?1";

static const char loc_sql[] =
	"SELECT f.path, l.member, l.offset, l.length, l.sha256, f.sha256 FROM mail_loc l"
	" JOIN mail_file f ON f.id = l.file_id WHERE l.msg_id = ?1 ORDER BY l.id";

/* The extracted text: a header block, the text, then the other text. */
static void text_of(const struct doc *d, struct pb_buf *t)
{
	const struct {
		const char *k;
		const char *v;
	} h[] = { { "From", d->from },    { "To", d->to },           { "Cc", d->cc },
		  { "Bcc", d->bcc },      { "Subject", d->subject }, { "Channel", d->channel },
		  { "Message-ID", d->mid } };
	char date[24] = "";
	if (d->has_date)
		pb_time_format(d->date, date);
	for (size_t i = 0; i < PB_ARRAY_LEN(h); i++) {
		if (i == 4 && date[0])
			pb_buf_printf(t, "Date: %s\n", date);
		if (h[i].v && *h[i].v)
			pb_buf_printf(t, "%s: %s\n", h[i].k, h[i].v);
	}
	if (*d->attach) {
		pb_buf_adds(t, "Attachments: ");
		for (const char *c = d->attach; *c; c++) {
			if (*c == '\n')
				pb_buf_adds(t, "; ");
			else
				pb_buf_addc(t, *c);
		}
		pb_buf_addc(t, '\n');
	}
	pb_buf_addc(t, '\n');
	pb_buf_adds(t, d->body);
	if (*d->extra) {
		pb_buf_adds(t, "\n\n----- other text (alternatives, attachments, inner messages) -----\n\n");
		pb_buf_adds(t, d->extra);
	}
	if (t->len && t->data[t->len - 1] != '\n')
		pb_buf_addc(t, '\n');
}

static enum pb_status check_target(const char *dir, struct pb_error *err)
{
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return errno == ENOENT ? PB_OK
		                       : pb__err(err, pb__errno_status(errno), "cannot use '%s': %s", dir,
		                                 pb__errno_text(errno));
	if (!S_ISDIR(sb.st_mode))
		return pb__err(err, PB_EEXIST, "cannot export to '%s': a file is in the way", dir);
	DIR *d = opendir(dir);
	if (!d)
		return pb__err(err, pb__errno_status(errno), "cannot read '%s': %s", dir,
		               pb__errno_text(errno));
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty)
		return pb__err(err, PB_EEXIST,
		               "cannot export to '%s': the folder is not empty; an export is never "
		               "written over another",
		               dir);
	return PB_OK;
}

struct sumline {
	char *path;
	char sha[65];
};

static int sum_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sumline *)a)->path, ((const struct sumline *)b)->path);
}

/* One export in the making: what pb_mail_export's steps share. */
struct export {
	struct pb_ws *ws;
	const char *case_ref, *query, *dir, *prefix, *actor;
	struct pb__mail_query *q;
	struct pb_buf canon;
	int64_t case_id;
	struct pb__mail_hits h;
	char tmp[PATH_MAX], absdir[PATH_MAX];
	struct pb_buf manifest, dat, text, src, json, sums, det;
	struct sumline *sl; /* one line of SHA256SUMS a file written */
	size_t nsl;
	sqlite3_stmt *ds, *ls;
	struct doc d;
	uint64_t native_bytes;
	char msha[65], dsha[65], jsha[65];
};

/* Where a message's bytes were found: the first recorded location whose
 * bytes still hash as recorded. */
struct loc {
	char *path, *member, *file_sha;
	int64_t off, len;
};

static void loc_free(struct loc *l)
{
	free(l->path);
	free(l->member);
	free(l->file_sha);
}

static void sum_add(struct export *x, const char *path, const char sha[65])
{
	x->sl[x->nsl].path = pb__strndup(path, strlen(path));
	memcpy(x->sl[x->nsl++].sha, sha, 65);
}

/* The folder beside the target, with its natives/ and text/. */
static enum pb_status make_tmp(struct export *x, struct pb_error *err)
{
	size_t dl = strlen(x->dir);
	while (dl > 1 && x->dir[dl - 1] == '/')
		dl--;
	if (!pb__snprintf(x->tmp, sizeof(x->tmp), "%.*s.export-%ld.tmp", (int)dl, x->dir,
	                  (long)getpid())) {
		x->tmp[0] = '\0';
		return pb__err(err, PB_ELIMIT, "export folder name too long");
	}
	if (mkdir(x->tmp, 0700) != 0) {
		enum pb_status st = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s",
		                            x->tmp, pb__errno_text(errno));
		x->tmp[0] = '\0';
		return st;
	}
	char *n1 = pb__path_join(x->tmp, "natives"), *n2 = pb__path_join(x->tmp, "text");
	bool ok = n1 && n2 && mkdir(n1, 0700) == 0 && mkdir(n2, 0700) == 0;
	free(n1);
	free(n2);
	if (!ok)
		return pb__err(err, PB_EIO, "cannot create folders in '%s'", x->tmp);
	return PB_OK;
}

/* Reads message id's native bytes into x->src from the first location that
 * still hashes as recorded. */
static enum pb_status find_location(struct export *x, int64_t id, struct loc *l,
                                    struct pb_error *err)
{
	char problem[700] = "";
	sqlite3_stmt *ls = x->ls;
	sqlite3_bind_int64(ls, 1, id);
	while (sqlite3_step(ls) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(ls, 0);
		const char *mem = (const char *)sqlite3_column_text(ls, 1);
		int64_t off = sqlite3_column_int64(ls, 2), len = sqlite3_column_int64(ls, 3);
		const char *want = (const char *)sqlite3_column_text(ls, 4);
		struct pb_error rerr = { 0 };
		if (pb__mail_read_location(p, mem, (uint64_t)off, (uint64_t)len, &x->src, &rerr)) {
			snprintf(problem, sizeof(problem), "%s", rerr.message);
			continue;
		}
		uint8_t hh[32];
		char hex[65];
		pb__sha256(x->src.data ? x->src.data : "", x->src.len, hh);
		pb_hex(hh, 32, hex);
		if (strcmp(hex, want)) {
			snprintf(problem, sizeof(problem),
			         "'%s'%s%s at byte %lld no longer hashes to %.16s...: the archive "
			         "changed",
			         p, *mem ? " member " : "", mem, (long long)off, want);
			continue;
		}
		l->path = pb__strndup(p, strlen(p));
		l->member = pb__strndup(mem, strlen(mem));
		l->file_sha = col_dup(ls, 5);
		l->off = off;
		l->len = len;
		break;
	}
	sqlite3_reset(ls);
	if (!l->path || !l->member || !l->file_sha)
		return pb__err(err, PB_EVERIFY, "cannot export message %lld (%s): %s", (long long)id,
		               x->d.mid, problem[0] ? problem : "no location");
	return PB_OK;
}

/* Hit i: its native and text files, its manifest and load-file rows. */
static enum pb_status export_doc(struct export *x, size_t i, struct pb_error *err)
{
	struct doc *d = &x->d;
	struct loc l = { 0 };
	char docid[48], native[80], textf[80];
	snprintf(docid, sizeof(docid), "%s%06zu", x->prefix, i + 1);
	enum pb_status st = load_doc(x->ws, x->ds, x->h.ids[i], d, err);
	if (st)
		return st;
	bool chat = strcmp(d->kind, "email") != 0;
	snprintf(native, sizeof(native), "natives/%s.%s", docid, chat ? "json" : "eml");
	snprintf(textf, sizeof(textf), "text/%s.txt", docid);
	if ((st = find_location(x, x->h.ids[i], &l, err)))
		goto out;
	char nsha[65], tsha[65];
	st = write_file(x->tmp, native, x->src.data ? x->src.data : "", x->src.len, nsha, err);
	x->native_bytes += x->src.len;
	size_t nsize = x->src.len;
	pb_buf_reset(&x->text);
	text_of(d, &x->text);
	if (!st)
		st = write_file(x->tmp, textf, x->text.data ? x->text.data : "", x->text.len, tsha,
		                err);
	if (st)
		goto out;
	sum_add(x, native, nsha);
	sum_add(x, textf, tsha);
	char date[24] = "", num[32], thread[32], nsz[32], tsz[32], off[32], len[32];
	if (d->has_date)
		pb_time_format(d->date, date);
	snprintf(num, sizeof(num), "%lld", (long long)x->h.ids[i]);
	snprintf(thread, sizeof(thread), "%lld", (long long)d->thread);
	snprintf(nsz, sizeof(nsz), "%zu", nsize);
	snprintf(tsz, sizeof(tsz), "%zu", x->text.len);
	snprintf(off, sizeof(off), "%lld", (long long)l.off);
	snprintf(len, sizeof(len), "%lld", (long long)l.len);
	const char *row[NCOLS] = { docid,  num,    d->mid,   d->kind,       date,   d->from,
		                   d->subject, d->custodians, thread, native, nsha, nsz,
		                   textf,  tsha,   tsz,     l.path,        l.member, off,
		                   len,    l.file_sha, d->body_sha256 };
	for (size_t c = 0; c < NCOLS; c++)
		csv_field(&x->manifest, row[c], c == 0);
	pb_buf_adds(&x->manifest, "\r\n");
	char attach[4096];
	size_t ai = 0;
	for (const char *c = d->attach; *c && ai + 2 < sizeof(attach); c++)
		attach[ai++] = *c == '\n' ? ';' : *c;
	attach[ai] = '\0';
	const char *drow[] = { docid,  docid,   docid,    docid,   d->custodians, d->from,
		               d->to,   d->cc,    d->bcc,    d->subject, date,       d->mid,
		               thread, d->kind,  d->channel, attach,  nsha,        tsha,
		               native, textf,   l.path,    l.member, off,          len };
	for (size_t c = 0; c < PB_ARRAY_LEN(drow); c++)
		dat_field(&x->dat, drow[c], c == 0);
	pb_buf_adds(&x->dat, "\r\n");
	doc_free(d);
out:
	loc_free(&l);
	return st;
}

/* export.json: what was searched, by whom, and the hashes. */
static enum pb_status write_export_json(struct export *x, struct pb_error *err)
{
	struct pb_buf *json = &x->json;
	char at[24];
	pb_time_format(pb_now(), at);
	pb_buf_printf(json, "{\n  \"probity\": \"%s\",\n  \"case\": ", PB_VERSION);
	pb__mail_json_str(json, x->case_ref);
	pb_buf_printf(json, ",\n  \"case_id\": %lld,\n  \"actor\": ", (long long)x->case_id);
	pb__mail_json_str(json, x->actor);
	pb_buf_printf(json, ",\n  \"exported_at\": \"%s\",\n  \"query\": ", at);
	pb__mail_json_str(json, x->query);
	pb_buf_adds(json, ",\n  \"parsed\": ");
	pb__mail_json_str(json, x->canon.data);
	pb_buf_printf(json,
	               ",\n  \"documents\": %zu,\n  \"result_sha256\": \"%s\",\n"
	               "  \"manifest_sha256\": \"%s\",\n  \"dat_sha256\": \"%s\",\n"
	               "  \"hash\": \"SHA-256\",\n"
	               "  \"result_hash_rule\": \"SHA-256 of the sorted lines "
	               "'<message_id>\\\\t<body_sha256>\\\\n' of manifest.csv\",\n"
	               "  \"dat\": {\"encoding\": \"UTF-8 with BOM\", \"field\": \"U+0014\","
	               " \"quote\": \"U+00FE\", \"newline\": \"U+00AE\", \"multi\": \";\","
	               " \"record_end\": \"CRLF\"}\n}\n",
	               x->h.n, x->h.sha256, x->msha, x->dsha);
	return write_file(x->tmp, "export.json", json->data, json->len, x->jsha, err);
}

/* SHA256SUMS over every file written, sorted by path, then the folder synced. */
static enum pb_status write_sums(struct export *x, struct pb_error *err)
{
	sum_add(x, "manifest.csv", x->msha);
	sum_add(x, "export.dat", x->dsha);
	sum_add(x, "export.json", x->jsha);
	for (size_t i = 0; i < x->nsl; i++)
		if (!x->sl[i].path)
			return pb__err(err, PB_ENOMEM, "out of memory");
	qsort(x->sl, x->nsl, sizeof(*x->sl), sum_cmp);
	for (size_t i = 0; i < x->nsl; i++)
		pb_buf_printf(&x->sums, "%s  %s\n", x->sl[i].sha, x->sl[i].path);
	enum pb_status st = write_file(x->tmp, "SHA256SUMS", x->sums.data, x->sums.len, NULL, err);
	if (!st)
		st = pb__fsync_dir(x->tmp, err);
	return st;
}

/* The final absolute path of the export, for the record. */
static void final_path(struct export *x)
{
	if (!realpath(x->tmp, x->absdir))
		pb__strlcpy(x->absdir, x->tmp, sizeof(x->absdir));
	char *slash = strrchr(x->absdir, '/');
	const char *base = strrchr(x->dir, '/');
	base = base && base[1] ? base + 1 : x->dir;
	if (slash)
		snprintf(slash + 1, sizeof(x->absdir) - (size_t)(slash + 1 - x->absdir), "%s", base);
}

/* The export in the case log. */
static enum pb_status record_export(struct export *x, struct pb_error *err)
{
	struct pb_buf *det = &x->det;
	pb_buf_adds(det, "{\"query\":");
	pb__mail_json_str(det, x->query);
	pb__mail_json_parsed(det, x->canon.data);
	pb_buf_printf(det, ",\"hits\":%zu,\"result_sha256\":\"%s\",\"export\":", x->h.n,
	              x->h.sha256);
	pb__mail_json_str(det, x->absdir);
	pb_buf_printf(det, ",\"prefix\":");
	pb__mail_json_str(det, x->prefix);
	pb_buf_printf(det, ",\"manifest_sha256\":\"%s\",\"export_json_sha256\":\"%s\"}", x->msha,
	              x->jsha);
	return pb__mail_case_record(x->ws, x->case_id, x->actor, "mail.export", det->data, err);
}

/* The hits, their files and the two load files, in x->tmp. */
static enum pb_status write_documents(struct export *x, struct pb_error *err)
{
	enum pb_status st;
	if ((st = pb__db_prepare(x->ws->db, doc_sql, &x->ds, err)) ||
	    (st = pb__db_prepare(x->ws->db, loc_sql, &x->ls, err)))
		return st;
	if (!(x->sl = calloc(2 * x->h.n + 4, sizeof(*x->sl))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	for (size_t c = 0; c < NCOLS; c++)
		csv_field(&x->manifest, manifest_cols[c], c == 0);
	pb_buf_adds(&x->manifest, "\r\n");
	pb_buf_adds(&x->dat, "\xEF\xBB\xBF");
	for (size_t c = 0; c < PB_ARRAY_LEN(dat_cols); c++)
		dat_field(&x->dat, dat_cols[c], c == 0);
	pb_buf_adds(&x->dat, "\r\n");
	for (size_t i = 0; i < x->h.n; i++)
		if ((st = export_doc(x, i, err)))
			return st;
	if ((st = write_file(x->tmp, "manifest.csv", x->manifest.data, x->manifest.len, x->msha,
	                     err)) ||
	    (st = write_file(x->tmp, "export.dat", x->dat.data, x->dat.len, x->dsha, err)))
		return st;
	return PB_OK;
}

/* Under the write lock: the case still takes records and the query still
 * finds exactly the messages copied (mail ingested or a case closed while
 * the export was being written makes it stale). */
static enum pb_status same_hits(struct export *x, struct pb_error *err)
{
	int64_t case_id = 0;
	struct pb__mail_hits now = { 0 };
	enum pb_status st = pb__mail_case_check(x->ws, x->case_ref, x->actor, &case_id, err);
	if (!st)
		st = pb__mail_run(x->ws, x->q, case_id, false, &now, err);
	if (!st && (case_id != x->case_id || now.n != x->h.n || strcmp(now.sha256, x->h.sha256)))
		st = pb__err(err, PB_ESTATE,
		             "the mail changed while the export was written (%zu hits then, %zu now): "
		             "run the export again",
		             x->h.n, now.n);
	pb__mail_hits_release(&now);
	return st;
}

enum pb_status pb_mail_export(struct pb_ws *ws, const char *case_ref, const char *query,
                              const char *dir, const struct pb_mail_export_options *opts,
                              struct pb_mail_export_report *rep, struct pb_error *err)
{
	struct pb_mail_export_options defaults = { 0 };
	if (!opts)
		opts = &defaults;
	if (rep)
		memset(rep, 0, sizeof(*rep));
	const char *prefix = opts->prefix && *opts->prefix ? opts->prefix : "PB";
	if (strlen(prefix) > 20 || strpbrk(prefix, "/\\ .\t\n"))
		return pb__err(err, PB_EINVAL,
		               "document prefix '%s': up to 20 characters, no spaces, dots or slashes",
		               prefix);
	if (!dir || !*dir)
		return pb__err(err, PB_EINVAL, "no export folder given");
	enum pb_status st = check_target(dir, err);
	if (st)
		return st;
	struct pb__mail_query *q;
	if ((st = pb__mail_query_parse(query, &q, err)))
		return st;
	struct export *x = calloc(1, sizeof(*x));
	if (!x) {
		pb__mail_query_free(q);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	*x = (struct export){ .ws = ws, .case_ref = case_ref, .query = query, .dir = dir,
		              .prefix = prefix, .actor = opts->actor, .q = q };
	pb_buf_init(&x->canon, 1u << 20);
	pb__mail_query_render(q, &x->canon);
	bool moved = false, in_txn = false;
	pb_buf_init(&x->manifest, SIZE_MAX / 2);
	pb_buf_init(&x->dat, SIZE_MAX / 2);
	pb_buf_init(&x->text, 2 * PB__MAIL_MAX_TEXT + (1u << 20));
	pb_buf_init(&x->src, PB__MAIL_MAX_MEMBER);
	pb_buf_init(&x->json, 1u << 22);
	pb_buf_init(&x->sums, SIZE_MAX / 2);
	pb_buf_init(&x->det, 1u << 22);

	if ((st = pb__ws_require_writable(ws, "export", err)))
		goto out;
	if (!opts->actor || !*opts->actor) {
		st = pb__err(err, PB_EINVAL, "cannot export: no acting user");
		goto out;
	}
	/* The copying runs in a read transaction (a snapshot: other writers go
	 * on, a large export blocks nobody); only the record takes the write
	 * lock, after checking the hits are still the ones copied. */
	if (sqlite3_exec(ws->db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK) {
		st = pb__db_err(ws->db, err, "cannot start reading");
		goto out;
	}
	in_txn = true;
	if ((st = pb__mail_case_check(ws, case_ref, opts->actor, &x->case_id, err)))
		goto out;
	if ((st = pb__mail_run(ws, q, x->case_id, false, &x->h, err)))
		goto out;
	if (x->h.n > 999999) {
		st = pb__err(err, PB_ELIMIT, "%zu hits: an export holds at most 999999 documents",
		             x->h.n);
		goto out;
	}
	/* build beside the target, then rename */
	if ((st = make_tmp(x, err)) || (st = write_documents(x, err)))
		goto out;
	final_path(x);
	if ((st = write_export_json(x, err)) || (st = write_sums(x, err)))
		goto out;
	sqlite3_finalize(x->ds);
	sqlite3_finalize(x->ls);
	x->ds = x->ls = NULL;
	pb__ws_rollback(ws); /* the end of reading: nothing was written */
	in_txn = false;
	if ((st = pb__ws_begin(ws, err)))
		goto out;
	in_txn = true;
	if ((st = same_hits(x, err)))
		goto out;

	/* into place, then on record */
	rmdir(dir); /* an empty target folder, if any */
	if (rename(x->tmp, dir) != 0) {
		st = pb__err(err, pb__errno_status(errno), "cannot move the export to '%s': %s", dir,
		             pb__errno_text(errno));
		goto out;
	}
	x->tmp[0] = '\0';
	moved = true;
	pb__fsync_parent(x->absdir);
	if ((st = record_export(x, err)))
		goto out;
	st = pb__ws_commit(ws, err);
	in_txn = false;
	if (!st && rep) {
		rep->documents = x->h.n;
		rep->bytes = x->native_bytes;
		memcpy(rep->result_sha256, x->h.sha256, 65);
		memcpy(rep->manifest_sha256, x->msha, 65);
	}
out:
	sqlite3_finalize(x->ds);
	sqlite3_finalize(x->ls);
	if (in_txn)
		pb__ws_rollback(ws);
	if (st && x->tmp[0])
		pb__rm_tree(x->tmp);
	if (st && moved)
		pb__rm_tree(dir);
	doc_free(&x->d);
	for (size_t i = 0; i < x->nsl; i++)
		free(x->sl[i].path);
	free(x->sl);
	pb_buf_release(&x->manifest);
	pb_buf_release(&x->dat);
	pb_buf_release(&x->text);
	pb_buf_release(&x->src);
	pb_buf_release(&x->json);
	pb_buf_release(&x->sums);
	pb_buf_release(&x->det);
	pb_buf_release(&x->canon);
	pb__mail_hits_release(&x->h);
	pb__mail_query_free(q);
	free(x);
	return st;
}

/* ---- verify --------------------------------------------------------------------------- */

struct vctx {
	pb_mail_verify_fn fn;
	void *ctx;
	struct pb_mail_verify_report *rep;
};

static void problem(struct vctx *v, const char *doc, const char *fmt, const char *a,
                    const char *b)
{
	char msg[800];
	snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "");
	v->rep->problems++;
	if (v->fn)
		v->fn(v->ctx, doc, msg);
}

/* Hashes a file of the export; false with a problem when it cannot be read. */
static bool hash_file(struct vctx *v, const char *dir, const char *rel, char hex[65],
                      uint64_t *size)
{
	char *p = pb__path_join(dir, rel);
	char *data = NULL;
	size_t n = 0;
	struct pb_error e = { 0 };
	bool ok = p && pb__read_regular_file(p, SIZE_MAX / 2, &data, &n, &e) == PB_OK;
	if (!ok) {
		problem(v, rel, "cannot read the file: %s%s", e.message, NULL);
	} else {
		uint8_t h[32];
		pb__sha256(data, n, h);
		pb_hex(h, 32, hex);
		if (size)
			*size = n;
		v->rep->files_checked++;
	}
	free(p);
	free(data);
	return ok;
}

/* One CSV record of s starting at *i: fields into f (up to max); false at the end. */
static bool csv_record(const char *s, size_t n, size_t *i, char **f, size_t max, size_t *nf)
{
	*nf = 0;
	if (*i >= n)
		return false;
	for (;;) {
		struct pb_buf b;
		pb_buf_init(&b, 1u << 24);
		if (*i < n && s[*i] == '"') {
			(*i)++;
			while (*i < n) {
				if (s[*i] == '"') {
					if (*i + 1 < n && s[*i + 1] == '"') {
						pb_buf_addc(&b, '"');
						*i += 2;
						continue;
					}
					(*i)++;
					break;
				}
				pb_buf_addc(&b, s[(*i)++]);
			}
		}
		while (*i < n && s[*i] != ',' && s[*i] != '\r' && s[*i] != '\n')
			pb_buf_addc(&b, s[(*i)++]);
		if (*nf < max)
			f[(*nf)++] = b.data ? b.data : pb__strndup("", 0);
		else
			pb_buf_release(&b);
		if (*i < n && s[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < n && s[*i] == '\r')
			(*i)++;
		if (*i < n && s[*i] == '\n')
			(*i)++;
		return true;
	}
}

static const char *json_field(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	const char *p = strstr(json, pat);
	out[0] = '\0';
	if (!p)
		return NULL;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return NULL;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return out;
}

/* 1. every file listed in SHA256SUMS (sums is changed in place); returns how
 * many files it lists. */
static size_t check_sums(struct vctx *v, const char *dir, char *sums)
{
	size_t listed = 0;
	for (char *line = sums; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strlen(line) > 66 && line[64] == ' ' && line[65] == ' ') {
			char hex[65];
			line[64] = '\0';
			const char *rel = line + 66;
			listed++;
			if (strstr(rel, "..") || rel[0] == '/')
				problem(v, rel, "SHA256SUMS names a path outside the export%s%s", NULL,
				        NULL);
			else if (hash_file(v, dir, rel, hex, NULL) && strcmp(hex, line))
				problem(v, rel, "SHA-256 differs from SHA256SUMS (now %.16s..., listed %.16s...)",
				        hex, line);
		} else if (*line) {
			problem(v, "SHA256SUMS", "a line is not '<sha256>  <file>'%s%s", NULL, NULL);
		}
		line = nl ? nl + 1 : NULL;
	}
	return listed;
}

/* Files that SHA256SUMS does not list: the three top files and those in
 * natives/ and text/ must be as many as it lists. */
static void check_unlisted(struct vctx *v, const char *dir, size_t listed)
{
	const char *subs[] = { "natives", "text" };
	size_t present = 3;
	for (size_t k = 0; k < 2; k++) {
		char *sd = pb__path_join(dir, subs[k]);
		DIR *d = sd ? opendir(sd) : NULL;
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				present++;
		if (d)
			closedir(d);
		free(sd);
	}
	if (present != listed) {
		char a[24], b[24];
		snprintf(a, sizeof(a), "%zu", listed);
		snprintf(b, sizeof(b), "%zu", present);
		problem(v, "SHA256SUMS", "lists %s files; the export holds %s", a, b);
	}
}

/* The bytes a manifest row f points at in the archive must hash to its native's. */
static void check_archive(struct vctx *v, const struct pb_mail_verify_options *opts, char **f,
                          struct pb_buf *src)
{
	const char *doc = f[0];
	char path[PATH_MAX], hex[65];
	const char *from = opts->archive_from;
	if (opts->archive_root && from && !strncmp(f[15], from, strlen(from)))
		snprintf(path, sizeof(path), "%s%s", opts->archive_root, f[15] + strlen(from));
	else
		snprintf(path, sizeof(path), "%s", f[15]);
	struct pb_error rerr = { 0 };
	enum pb_status rs = pb__mail_read_location(path, f[16], strtoull(f[17], NULL, 10),
	                                           strtoull(f[18], NULL, 10), src, &rerr);
	if (rs) {
		problem(v, doc, "archive: %s%s", rerr.message, NULL);
		return;
	}
	uint8_t hh[32];
	pb__sha256(src->data ? src->data : "", src->len, hh);
	pb_hex(hh, 32, hex);
	v->rep->archive_checked++;
	if (strcmp(hex, f[10]))
		problem(v, doc,
		        "the archive bytes at %s differ from the exported native: the "
		        "archive or the export changed%s",
		        path, NULL);
}

/* One document row f of the manifest: its files, its source bytes. */
static void check_doc(struct vctx *v, const char *dir, const struct pb_mail_verify_options *opts,
                      char **f, struct pb_buf *src)
{
	const char *doc = f[0];
	char hex[65];
	uint64_t size;
	if (hash_file(v, dir, f[9], hex, &size)) {
		if (strcmp(hex, f[10]))
			problem(v, doc, "native %s does not hash to the manifest's SHA-256%s", f[9], NULL);
		else if (size != strtoull(f[11], NULL, 10))
			problem(v, doc, "native %s has the wrong size%s", f[9], NULL);
	}
	if (hash_file(v, dir, f[12], hex, NULL) && strcmp(hex, f[13]))
		problem(v, doc, "text %s does not hash to the manifest's SHA-256%s", f[12], NULL);
	if (!opts->skip_archive)
		check_archive(v, opts, f, src);
}

/* The lines '<message_id>\t<body_sha256>' of the result hash, one a document. */
struct result_lines {
	char **lines;
	size_t n;
};

static void result_add(struct result_lines *r, const char *mid, const char *body_sha)
{
	char **nl2 = realloc(r->lines, (r->n + 1) * sizeof(*nl2));
	if (!nl2)
		return;
	r->lines = nl2;
	size_t a = strlen(mid), b = strlen(body_sha);
	char *ln = malloc(a + b + 2);
	if (!ln)
		return;
	memcpy(ln, mid, a);
	ln[a] = '\t';
	memcpy(ln + a + 1, body_sha, b + 1);
	r->lines[r->n++] = ln;
}

static void free_fields(char **f, size_t nf)
{
	for (size_t k = 0; k < nf; k++)
		free(f[k]);
}

/* 2. the manifest: each document's files and its source bytes; returns how
 * many documents it lists, and their result-hash lines in r. */
static size_t check_manifest(struct vctx *v, const char *dir,
                             const struct pb_mail_verify_options *opts, const char *man,
                             size_t mn, struct result_lines *r)
{
	size_t i = 0, nf, docs = 0;
	char *f[NCOLS + 4];
	struct pb_buf src;
	pb_buf_init(&src, PB__MAIL_MAX_MEMBER);
	bool header = true;
	while (csv_record(man, mn, &i, f, NCOLS + 4, &nf)) {
		if (header) {
			header = false;
			bool bad = nf != NCOLS || strcmp(f[0], "doc_id");
			if (bad)
				problem(v, "manifest.csv", "the header is not a probity manifest%s%s", NULL,
				        NULL);
			free_fields(f, nf);
			if (bad)
				break;
			continue;
		}
		if (nf == 1 && !*f[0]) {
			free(f[0]);
			continue;
		}
		docs++;
		if (nf != NCOLS) {
			problem(v, nf ? f[0] : "manifest.csv", "a manifest row has the wrong number of fields%s%s",
			        NULL, NULL);
			free_fields(f, nf);
			continue;
		}
		check_doc(v, dir, opts, f, &src);
		result_add(r, f[2], f[20]);
		free_fields(f, nf);
	}
	pb_buf_release(&src);
	return docs;
}

/* 3. the manifest against export.json: same documents, same result. */
static void check_export_json(struct vctx *v, const char *ej, const char *man, size_t mn,
                              const struct result_lines *r)
{
	char want[80], have[65];
	pb__mail_hash_lines(r->lines, r->n, have);
	if (!json_field(ej, "result_sha256", want, sizeof(want)) || strcmp(want, have))
		problem(v, "export.json",
		        "the result hash of manifest.csv (%.16s...) is not the one recorded (%.16s...)",
		        have, want);
	uint8_t h[32];
	char mh[65];
	pb__sha256(man, mn, h);
	pb_hex(h, 32, mh);
	if (!json_field(ej, "manifest_sha256", want, sizeof(want)) || strcmp(want, mh))
		problem(v, "export.json", "manifest.csv is not the one recorded%s%s", NULL, NULL);
}

enum pb_status pb_mail_export_verify(const char *dir, const struct pb_mail_verify_options *opts,
                                     pb_mail_verify_fn fn, void *ctx,
                                     struct pb_mail_verify_report *rep, struct pb_error *err)
{
	struct pb_mail_verify_options defaults = { 0 };
	if (!opts)
		opts = &defaults;
	struct pb_mail_verify_report local;
	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	struct vctx v = { fn, ctx, rep };
	char *sums = NULL, *man = NULL, *ej = NULL;
	size_t sn = 0, mn = 0, jn = 0;
	enum pb_status st;
	char *p = pb__path_join(dir, "SHA256SUMS");
	st = p ? pb__read_regular_file(p, 1u << 30, &sums, &sn, err) : PB_ENOMEM;
	free(p);
	if (st)
		return pb__err(err, st == PB_ENOENT ? PB_ENOENT : st,
		               "'%s' is not a probity export: no readable SHA256SUMS", dir);
	p = pb__path_join(dir, "manifest.csv");
	st = p ? pb__read_regular_file(p, 1u << 30, &man, &mn, err) : PB_ENOMEM;
	free(p);
	if (st) {
		free(sums);
		return pb__err(err, st, "'%s': no readable manifest.csv", dir);
	}
	p = pb__path_join(dir, "export.json");
	st = p ? pb__read_regular_file(p, 1u << 24, &ej, &jn, err) : PB_ENOMEM;
	free(p);
	if (st) {
		free(sums);
		free(man);
		return pb__err(err, st, "'%s': no readable export.json", dir);
	}
	check_unlisted(&v, dir, check_sums(&v, dir, sums));
	struct result_lines r = { 0 };
	rep->documents = check_manifest(&v, dir, opts, man, mn, &r);
	check_export_json(&v, ej, man, mn, &r);
	for (size_t k = 0; k < r.n; k++)
		free(r.lines[k]);
	free(r.lines);
	free(sums);
	free(man);
	free(ej);
	if (rep->problems)
		return pb__err(err, PB_EVERIFY, "export '%s' failed verification: %llu problem%s", dir,
		               (unsigned long long)rep->problems, rep->problems == 1 ? "" : "s");
	return PB_OK;
}
