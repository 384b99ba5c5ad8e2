/* mail_ingest.c - reading archives into the workspace: files, messages,
 * duplicates, threads, the full-text index and the processing exceptions.
 *
 * One ingest is one SQLite transaction, so an interrupted or failed run leaves
 * the workspace as it was. Inside it nothing is dropped silently: a file that
 * cannot be read, a zip member that is a bomb, a message GMime complains
 * about: each becomes a row of mail_exception naming the file, member, byte
 * range and reason, and the counts of the batch reconcile (files seen =
 * ingested + skipped + failed; messages seen = new + duplicates).
 *
 * Duplicates: a message is the pair (Message-ID, SHA-256 of its extracted
 * content); a copy found again adds a location, not a message. Threads are
 * connected components of Message-IDs linked by In-Reply-To and References,
 * with referenced-but-missing ids ("ghosts") holding threads together, kept
 * incrementally in mail_mid.
 */
#include "auth/auth.h"
#include "mail/mail.h"

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

/* ---- file mapping -------------------------------------------------------- */

struct mapped {
	const char *data;
	size_t len;
	void *map;
};

/* Maps a regular file. Returns 0, an errno value, or -1 when the path is a
 * named pipe, socket or device (*what names it): those are never opened, so a
 * pipe in a maildir cannot make the ingest wait for a writer. */
/* Maps a regular file; inside an archive (nofollow) a symbolic link is ELOOP,
 * never followed, so a link to a file outside the archive is not read. */
static int map_file(const char *path, bool nofollow, struct mapped *m, const char **what)
{
	memset(m, 0, sizeof(*m));
	m->data = "";
	int fd;
	uint64_t size;
	const char *w;
	int e = nofollow ? pb__open_regular_nofollow(path, &fd, &size, &w)
	                 : pb__open_regular(path, &fd, &size, &w);
	if (what)
		*what = w;
	if (e)
		return e;
	if (size > SIZE_MAX) {
		close(fd);
		return EFBIG;
	}
	if (size > 0) {
		void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			e = errno;
			close(fd);
			return e;
		}
		m->map = p;
		m->data = p;
		m->len = (size_t)size;
		madvise(p, m->len, MADV_SEQUENTIAL);
	}
	close(fd);
	return 0;
}

static void unmap_file(struct mapped *m)
{
	if (m->map)
		munmap(m->map, m->len);
	memset(m, 0, sizeof(*m));
}

/* ---- the ingest state ----------------------------------------------------- */

enum {
	S_FIND_MSG,
	S_INS_MSG,
	S_INS_DOC,
	S_INS_FTS,
	S_INS_LOC,
	S_INS_ATT,
	S_INS_EXC,
	S_MID_GET,
	S_MID_PUT,
	S_MID_MERGE,
	S_MSG_MERGE,
	S_FILE_SEEN,
	S_INS_FILE,
	S_FILE_COUNT,
	S_COUNT
};

static const char *const sql_text[S_COUNT] = {
	[S_FIND_MSG] = "SELECT id FROM mail_msg WHERE message_id = ?1 AND body_sha256 = ?2",
	[S_INS_MSG] = "INSERT INTO mail_msg (message_id, body_sha256, kind, raw_sha256, raw_size,"
	              " date, date_header, from_addr, to_addr, cc_addr, bcc_addr, subject, channel,"
	              " in_reply_to, refs, thread_id, flags, n_attach, mid_synthetic, batch_id)"
	              " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
	[S_INS_DOC] = "INSERT INTO mail_doc (id, subject, sender, recipients, body, extra, attach)"
	              " VALUES (?1,?2,?3,?4,?5,?6,?7)",
	[S_INS_FTS] = "INSERT INTO mail_fts (rowid, subject, sender, recipients, body, extra, attach)"
	              " VALUES (?1,?2,?3,?4,?5,?6,?7)",
	[S_INS_LOC] = "INSERT OR IGNORE INTO mail_loc (msg_id, file_id, member, offset, length,"
	              " sha256, custodian, folder) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
	[S_INS_ATT] = "INSERT INTO mail_attach (msg_id, seq, name, type, size, sha256, indexed)"
	              " VALUES (?1,?2,?3,?4,?5,?6,?7)",
	[S_INS_EXC] = "INSERT INTO mail_exception (batch_id, file_id, msg_id, path, member, offset,"
	              " length, severity, kind, detail) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	[S_MID_GET] = "SELECT thread_id FROM mail_mid WHERE mid = ?1",
	[S_MID_PUT] = "INSERT OR IGNORE INTO mail_mid (mid, thread_id) VALUES (?1, ?2)",
	[S_MID_MERGE] = "UPDATE mail_mid SET thread_id = ?1 WHERE thread_id = ?2",
	[S_MSG_MERGE] = "UPDATE mail_msg SET thread_id = ?1 WHERE thread_id = ?2",
	[S_FILE_SEEN] = "SELECT id FROM mail_file WHERE sha256 = ?1 AND custodian IS ?2",
	[S_INS_FILE] = "INSERT INTO mail_file (batch_id, path, sha256, size, kind, custodian,"
	               " messages) VALUES (?1,?2,?3,?4,?5,?6,0)",
	[S_FILE_COUNT] = "UPDATE mail_file SET messages = messages + ?2 WHERE id = ?1",
};

struct ing {
	struct pb_ws *ws;
	const struct pb_mail_ingest_options *opts;
	struct pb_mail_ingest_report rep;
	sqlite3_stmt *st[S_COUNT];
	int64_t batch_id;
	int64_t next_thread;
	double t0;
	double last_progress;
	uint64_t bytes_done;
	struct pb_buf tmp; /* recipients joined, refs joined */
};

/* Where the messages being read come from. */
struct where {
	int64_t file_id;
	const char *path;   /* absolute path of the file */
	const char *member; /* zip member or "" */
	const char *folder;
	uint64_t messages;
};

static enum pb_status db_fail(struct ing *g, struct pb_error *err, const char *what)
{
	return pb__db_err(g->ws->db, err, what);
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static int bind_buf(sqlite3_stmt *s, int i, const struct pb_buf *b)
{
	return sqlite3_bind_text(s, i, b->data ? b->data : "", (int)b->len, SQLITE_STATIC);
}

/* Runs a statement that returns no row (or ignores it) and resets it. */
static enum pb_status step_done(struct ing *g, sqlite3_stmt *s, struct pb_error *err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(g, err, "cannot store mail");
	return PB_OK;
}

static enum pb_status progress(struct ing *g, struct pb_error *err)
{
	if (!g->opts->progress)
		return PB_OK;
	double now = pb__mono();
	if (now - g->last_progress < 0.1)
		return PB_OK;
	g->last_progress = now;
	struct pb_progress p = { g->bytes_done, 0, g->rep.messages_seen, now - g->t0 };
	if (!g->opts->progress(g->opts->progress_ctx, &p))
		return pb__err(err, PB_EINTR, "mail ingest interrupted; nothing was changed");
	return PB_OK;
}

/* ---- exceptions ---------------------------------------------------------- */

static enum pb_status exception(struct ing *g, int64_t file_id, int64_t msg_id,
                                const char *path, const char *member, int64_t offset,
                                int64_t length, bool error, const char *kind,
                                const char *detail, struct pb_error *err)
{
	sqlite3_stmt *s = g->st[S_INS_EXC];
	sqlite3_bind_int64(s, 1, g->batch_id);
	if (file_id)
		sqlite3_bind_int64(s, 2, file_id);
	if (msg_id)
		sqlite3_bind_int64(s, 3, msg_id);
	bind_text(s, 4, path);
	bind_text(s, 5, member ? member : "");
	if (offset >= 0)
		sqlite3_bind_int64(s, 6, offset);
	if (length >= 0)
		sqlite3_bind_int64(s, 7, length);
	bind_text(s, 8, error ? "error" : "warning");
	bind_text(s, 9, kind);
	/* the detail may quote input: keep it valid UTF-8 */
	struct pb_buf d;
	pb_buf_init(&d, 2048);
	pb__mail_utf8_append(&d, detail, strlen(detail));
	sqlite3_bind_text(s, 10, d.data ? d.data : "", (int)d.len, SQLITE_TRANSIENT);
	pb_buf_release(&d);
	g->rep.exceptions++;
	return step_done(g, s, err);
}

/* A file (or member) that could not be read at all. */
static enum pb_status file_failed(struct ing *g, const char *path, const char *member,
                                  const char *kind, const char *detail, struct pb_error *err)
{
	return exception(g, 0, 0, path, member, -1, -1, true, kind, detail, err);
}

/* ---- threads ------------------------------------------------------------- */

static enum pb_status mid_thread(struct ing *g, const char *mid, int64_t *tid,
                                 struct pb_error *err)
{
	sqlite3_stmt *s = g->st[S_MID_GET];
	bind_text(s, 1, mid);
	int rc = sqlite3_step(s);
	*tid = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(g, err, "cannot read threads");
	return PB_OK;
}

/* The thread of a new message: joins every thread its ids touch. */
static enum pb_status assign_thread(struct ing *g, const struct pb__mail_msg *m, int64_t *out,
                                    struct pb_error *err)
{
	enum pb_status st;
	int64_t found[PB__MAIL_MAX_REFS + 1];
	size_t nfound = 0;
	int64_t tid = 0;
	for (size_t i = 0; i <= m->nrefs; i++) {
		const char *id = i == 0 ? m->message_id : m->refs[i - 1];
		int64_t t;
		if ((st = mid_thread(g, id, &t, err)))
			return st;
		if (!t)
			continue;
		bool dup = false;
		for (size_t k = 0; k < nfound; k++)
			dup |= found[k] == t;
		if (!dup)
			found[nfound++] = t;
		if (!tid || t < tid)
			tid = t;
	}
	if (!tid)
		tid = g->next_thread++;
	/* merge the other threads into the oldest */
	for (size_t k = 0; k < nfound; k++) {
		if (found[k] == tid)
			continue;
		for (int q = S_MID_MERGE; q <= S_MSG_MERGE; q++) {
			sqlite3_bind_int64(g->st[q], 1, tid);
			sqlite3_bind_int64(g->st[q], 2, found[k]);
			if ((st = step_done(g, g->st[q], err)))
				return st;
		}
	}
	for (size_t i = 0; i <= m->nrefs; i++) {
		sqlite3_stmt *s = g->st[S_MID_PUT];
		bind_text(s, 1, i == 0 ? m->message_id : m->refs[i - 1]);
		sqlite3_bind_int64(s, 2, tid);
		if ((st = step_done(g, s, err)))
			return st;
	}
	*out = tid;
	return PB_OK;
}

/* ---- one message ----------------------------------------------------------- */

static enum pb_status insert_message(struct ing *g, const struct pb__mail_msg *m,
                                     int64_t *id, struct pb_error *err)
{
	enum pb_status st;
	int64_t tid;
	if ((st = assign_thread(g, m, &tid, err)))
		return st;
	struct pb_buf *refs = &g->tmp;
	pb_buf_reset(refs);
	for (size_t i = 0; i < m->nrefs; i++) {
		if (i)
			pb_buf_addc(refs, '\n');
		pb_buf_adds(refs, m->refs[i]);
	}
	sqlite3_stmt *s = g->st[S_INS_MSG];
	bind_text(s, 1, m->message_id);
	bind_text(s, 2, m->body_sha256);
	bind_text(s, 3, m->kind);
	bind_text(s, 4, m->raw_sha256);
	sqlite3_bind_int64(s, 5, (int64_t)m->raw_len);
	if (m->have_date)
		sqlite3_bind_int64(s, 6, m->date);
	bind_text(s, 7, m->date_header);
	bind_text(s, 8, m->from);
	bind_text(s, 9, m->to);
	bind_text(s, 10, m->cc);
	bind_text(s, 11, m->bcc);
	bind_text(s, 12, m->subject);
	bind_text(s, 13, m->channel);
	bind_text(s, 14, m->in_reply_to);
	bind_text(s, 15, refs->len ? refs->data : NULL);
	sqlite3_bind_int64(s, 16, tid);
	sqlite3_bind_int64(s, 17, m->flags);
	sqlite3_bind_int64(s, 18, (int64_t)m->natt);
	sqlite3_bind_int(s, 19, m->mid_synthetic);
	sqlite3_bind_int64(s, 20, g->batch_id);
	if ((st = step_done(g, s, err)))
		return st;
	*id = sqlite3_last_insert_rowid(g->ws->db);

	/* recipients: To, Cc and Bcc in one column, for to: */
	struct pb_buf rcpt;
	pb_buf_init(&rcpt, 3 * PB__MAIL_MAX_HEADER + 8);
	const char *parts[] = { m->to, m->cc, m->bcc };
	for (size_t i = 0; i < 3; i++)
		if (parts[i] && *parts[i]) {
			if (rcpt.len)
				pb_buf_addc(&rcpt, '\n');
			pb_buf_adds(&rcpt, parts[i]);
		}
	for (int q = S_INS_DOC; q <= S_INS_FTS; q++) {
		s = g->st[q];
		sqlite3_bind_int64(s, 1, *id);
		bind_text(s, 2, m->subject ? m->subject : "");
		bind_text(s, 3, m->from ? m->from : "");
		bind_buf(s, 4, &rcpt);
		bind_buf(s, 5, &m->body);
		bind_buf(s, 6, &m->extra);
		bind_buf(s, 7, &m->attach_names);
		if ((st = step_done(g, s, err)))
			break;
	}
	pb_buf_release(&rcpt);
	if (st)
		return st;
	for (size_t i = 0; i < m->natt; i++) {
		s = g->st[S_INS_ATT];
		sqlite3_bind_int64(s, 1, *id);
		sqlite3_bind_int64(s, 2, (int64_t)i + 1);
		bind_text(s, 3, m->att[i].name);
		bind_text(s, 4, m->att[i].type);
		sqlite3_bind_int64(s, 5, (int64_t)m->att[i].size);
		bind_text(s, 6, m->att[i].sha256[0] ? m->att[i].sha256 : NULL);
		sqlite3_bind_int(s, 7, m->att[i].indexed);
		if ((st = step_done(g, s, err)))
			return st;
	}
	return PB_OK;
}

/* Stores one message found at [offset, offset+len) of w. */
static enum pb_status sink(struct ing *g, struct where *w, struct pb__mail_msg *m,
                           const char *raw, size_t len, uint64_t offset, struct pb_error *err)
{
	enum pb_status st;
	if ((st = pb__mail_msg_finish(m, raw, len)))
		return pb__err(err, st, "out of memory");
	g->rep.messages_seen++;
	w->messages++;
	sqlite3_stmt *s = g->st[S_FIND_MSG];
	bind_text(s, 1, m->message_id);
	bind_text(s, 2, m->body_sha256);
	int rc = sqlite3_step(s);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(g, err, "cannot look up messages");
	if (id) {
		g->rep.duplicates++;
	} else {
		if ((st = insert_message(g, m, &id, err)))
			return st;
		g->rep.messages_new++;
	}
	s = g->st[S_INS_LOC];
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, w->file_id);
	bind_text(s, 3, w->member);
	sqlite3_bind_int64(s, 4, (int64_t)offset);
	sqlite3_bind_int64(s, 5, (int64_t)len);
	bind_text(s, 6, m->raw_sha256);
	bind_text(s, 7, g->opts->custodian);
	bind_text(s, 8, w->folder);
	if ((st = step_done(g, s, err)))
		return st;
	/* this copy's warnings, each tied to the message kept */
	if (m->nwarn)
		g->rep.messages_with_exceptions++;
	for (size_t i = 0; i < m->nwarn; i++) {
		char detail[600];
		char times[40] = "";
		if (m->warn[i].count > 1)
			snprintf(times, sizeof(times), " (%u times; the first is described)",
			         m->warn[i].count);
		snprintf(detail, sizeof(detail), "%s%s", m->warn[i].detail, times);
		if ((st = exception(g, w->file_id, id, w->path, w->member, (int64_t)offset,
		                    (int64_t)len, m->warn[i].error, m->warn[i].kind, detail, err)))
			return st;
	}
	if (m->nwarn_dropped) {
		char detail[120];
		snprintf(detail, sizeof(detail), "%zu more kinds of warning were not listed",
		         m->nwarn_dropped);
		if ((st = exception(g, w->file_id, id, w->path, w->member, (int64_t)offset,
		                    (int64_t)len, false, "more-warnings", detail, err)))
			return st;
	}
	g->bytes_done += len;
	return progress(g, err);
}

/* An email's bytes: parsed, or when too large, registered with its headers. */
static enum pb_status email_at(struct ing *g, struct where *w, const char *raw, size_t len,
                               uint64_t offset, bool truncated, struct pb_error *err)
{
	struct pb__mail_msg m;
	pb__mail_msg_init(&m);
	enum pb_status st;
	if (len > PB__MAIL_MAX_MESSAGE) {
		/* read the header block alone, so it can still be found by sender and date */
		const char *he = memmem(raw, len > (1u << 20) ? (1u << 20) : len, "\n\n", 2);
		size_t hl = he ? (size_t)(he - raw) + 2 : (len > (1u << 20) ? (1u << 20) : len);
		st = pb__mail_parse_email(raw, hl, &m, err);
		pb_buf_reset(&m.body);
		m.flags |= PB_MAIL_UNPARSED;
		pb__mail_warn(&m, true, "too-large",
		              "the message is %zu bytes, over %u: only its headers are indexed", len,
		              PB__MAIL_MAX_MESSAGE);
	} else {
		st = pb__mail_parse_email(raw, len, &m, err);
	}
	if (truncated)
		pb__mail_warn(&m, false, "truncated-file",
		              "the file ends inside this message, without a final newline");
	if (!st)
		st = sink(g, w, &m, raw, len, offset, err);
	pb__mail_msg_release(&m);
	return st;
}

struct mbox_ctx {
	struct ing *g;
	struct where *w;
	const char *data;
};

static enum pb_status mbox_msg(void *vctx, const struct pb__mbox_msg *mm, struct pb_error *err)
{
	struct mbox_ctx *c = vctx;
	return email_at(c->g, c->w, c->data + mm->offset, (size_t)mm->length, mm->offset,
	                mm->truncated_end, err);
}

struct chat_ctx {
	struct ing *g;
	struct where *w;
	const char *data;
};

static enum pb_status chat_msg(void *vctx, struct pb__mail_msg *m, uint64_t off, uint64_t len,
                               struct pb_error *err)
{
	struct chat_ctx *c = vctx;
	return sink(c->g, c->w, m, c->data + off, (size_t)len, off, err);
}

/* A fatal status stops the ingest; the others are facts about the input. */
static bool fatal(enum pb_status st)
{
	return st == PB_ENOMEM || st == PB_EDB || st == PB_EINTR || st == PB_EIO;
}

/* ---- files ----------------------------------------------------------------- */

/* Registers a file read; *skip says it was ingested before (same hash and
 * custodian). */
static enum pb_status register_file(struct ing *g, const char *path, const char *data,
                                    size_t len, const char *kind, int64_t *file_id, bool *skip,
                                    struct pb_error *err)
{
	uint8_t h[32];
	char hex[65];
	pb__sha256(data, len, h);
	pb_hex(h, 32, hex);
	sqlite3_stmt *s = g->st[S_FILE_SEEN];
	bind_text(s, 1, hex);
	bind_text(s, 2, g->opts->custodian);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(g, err, "cannot look up files");
	*skip = rc == SQLITE_ROW;
	g->rep.files_seen++;
	g->rep.bytes += len;
	if (*skip) {
		g->rep.files_skipped++;
		return PB_OK;
	}
	g->rep.files_ingested++;
	s = g->st[S_INS_FILE];
	sqlite3_bind_int64(s, 1, g->batch_id);
	bind_text(s, 2, path);
	bind_text(s, 3, hex);
	sqlite3_bind_int64(s, 4, (int64_t)len);
	bind_text(s, 5, kind);
	bind_text(s, 6, g->opts->custodian);
	enum pb_status st = step_done(g, s, err);
	*file_id = sqlite3_last_insert_rowid(g->ws->db);
	return st;
}

static enum pb_status count_file(struct ing *g, struct where *w, struct pb_error *err)
{
	if (!w->messages)
		return PB_OK;
	sqlite3_stmt *s = g->st[S_FILE_COUNT];
	sqlite3_bind_int64(s, 1, w->file_id);
	sqlite3_bind_int64(s, 2, (int64_t)w->messages);
	return step_done(g, s, err);
}

static const char *kind_name(enum pb__mail_kind k)
{
	switch (k) {
	case PB__KIND_MBOX:
		return "mbox";
	case PB__KIND_JSON:
		return "json";
	case PB__KIND_ZIP:
		return "zip";
	case PB__KIND_EMPTY:
		return "empty";
	case PB__KIND_EML:
		break;
	}
	return "eml";
}

struct chat_dirs {
	struct pb__slack_dir *slack;
	struct pb__teams_dir *teams;
};

static enum pb_status ingest_bytes(struct ing *g, struct where *w, const char *name,
                                   const char *folder_name, const char *data, size_t len,
                                   struct chat_dirs *dirs, struct pb_error *err);

/* A zip: a Slack export (channels.json / users.json inside) or a zip of mail
 * files, read member by member. */
static enum pb_status ingest_zip(struct ing *g, struct where *w, const char *data, size_t len,
                                 struct pb_error *err)
{
	struct pb__zip z;
	struct pb_error zerr = { 0 };
	enum pb_status st = pb__zip_open(&z, data, len, w->path, &zerr);
	if (st) {
		if (fatal(st))
			return pb__err(err, st, "%s", zerr.message);
		return exception(g, w->file_id, 0, w->path, "", 0, (int64_t)len, true, "bad-zip",
		                 zerr.message, err);
	}
	struct chat_dirs dirs = { NULL, NULL };
	struct pb_buf buf;
	pb_buf_init(&buf, PB__MAIL_MAX_MEMBER);
	/* a Slack export may sit under one top folder */
	char prefix[PATH_MAX] = "";
	if (!pb__zip_find(&z, "channels.json") && !pb__zip_find(&z, "users.json")) {
		for (size_t i = 0; i < z.nentries; i++) {
			const char *n = z.entries[i].name;
			const char *sl = strchr(n, '/');
			if (sl && (!strcmp(sl + 1, "channels.json") || !strcmp(sl + 1, "users.json"))) {
				snprintf(prefix, sizeof(prefix), "%.*s/", (int)(sl - n), n);
				break;
			}
		}
	}
	static const char *const meta[] = { "users", "channels", "groups", "dms", "mpims" };
	for (size_t k = 0; k < PB_ARRAY_LEN(meta) && !st; k++) {
		char mn[PATH_MAX + 32];
		snprintf(mn, sizeof(mn), "%s%s.json", prefix, meta[k]);
		const struct pb__zip_entry *e = pb__zip_find(&z, mn);
		if (!e)
			continue;
		if (!dirs.slack && (st = pb__slack_dir_new(&dirs.slack))) {
			st = pb__err(err, st, "out of memory");
			break;
		}
		struct pb_error merr = { 0 };
		enum pb_status ms = pb__zip_read(&z, e, PB__MAIL_MAX_JSON, &buf, &merr);
		if (!ms)
			ms = pb__slack_dir_load(dirs.slack, meta[k], buf.data, buf.len, &merr);
		if (fatal(ms))
			st = pb__err(err, ms, "%s", merr.message);
		else if (ms)
			st = exception(g, w->file_id, 0, w->path, mn, -1, -1, true, "unreadable-member",
			               merr.message, err);
	}
	for (size_t i = 0; i < z.nentries && !st; i++) {
		const struct pb__zip_entry *e = &z.entries[i];
		size_t nl = strlen(e->name);
		if (nl == 0 || e->name[nl - 1] == '/')
			continue; /* a folder */
		const char *rel = e->name;
		if (prefix[0] && !strncmp(rel, prefix, strlen(prefix)))
			rel += strlen(prefix);
		if (dirs.slack && !strchr(rel, '/')) {
			continue; /* top-level Slack lists: read above */
		}
		struct pb_error merr = { 0 };
		enum pb_status ms = pb__zip_read(&z, e, PB__MAIL_MAX_MEMBER, &buf, &merr);
		if (ms) {
			if (fatal(ms))
				st = pb__err(err, ms, "%s", merr.message);
			else
				st = exception(g, w->file_id, 0, w->path, e->name, -1, -1, true,
				               ms == PB_ELIMIT ? "zip-limit" : "unreadable-member",
				               merr.message, err);
			continue;
		}
		/* the folder of a member is its channel for Slack */
		char folder[PATH_MAX] = "";
		const char *sl = strrchr(rel, '/');
		if (sl)
			snprintf(folder, sizeof(folder), "%.*s", (int)(sl - rel), rel);
		const char *fbase = strrchr(folder, '/');
		struct where mw = { w->file_id, w->path, e->name, folder, 0 };
		st = ingest_bytes(g, &mw, e->name, fbase ? fbase + 1 : folder, buf.data ? buf.data : "",
		                  buf.len, &dirs, err);
		w->messages += mw.messages;
	}
	pb_buf_release(&buf);
	pb__slack_dir_free(dirs.slack);
	pb__teams_dir_free(dirs.teams);
	pb__zip_close(&z);
	return st;
}

/* Bytes of one file or member, by what they hold. */
static enum pb_status ingest_bytes(struct ing *g, struct where *w, const char *name,
                                   const char *folder_name, const char *data, size_t len,
                                   struct chat_dirs *dirs, struct pb_error *err)
{
	enum pb__mail_kind k = pb__mail_sniff(data, len);
	enum pb_status st = PB_OK;
	struct pb_error ferr = { 0 };
	switch (k) {
	case PB__KIND_EMPTY:
		return exception(g, w->file_id, 0, w->path, w->member, 0, (int64_t)len, false,
		                 "empty-file", "the file holds no message", err);
	case PB__KIND_EML:
		return email_at(g, w, data, len, 0, false, err);
	case PB__KIND_MBOX: {
		struct mbox_ctx c = { g, w, data };
		st = pb__mail_mbox_split(data, len, mbox_msg, &c, &ferr);
		break;
	}
	case PB__KIND_ZIP:
		if (w->member && *w->member)
			return exception(g, w->file_id, 0, w->path, w->member, -1, -1, true,
			                 "nested-zip", "a zip inside a zip is not read", err);
		return ingest_zip(g, w, data, len, err);
	case PB__KIND_JSON: {
		struct chat_ctx c = { g, w, data };
		switch (pb__mail_json_kind(name, data, len)) {
		case PB__JSON_SLACK_MESSAGES:
			if (!dirs->slack && (st = pb__slack_dir_new(&dirs->slack)))
				return pb__err(err, st, "out of memory");
			st = pb__slack_day(dirs->slack, folder_name && *folder_name ? folder_name : "chat",
			                   data, len, chat_msg, &c, &ferr);
			break;
		case PB__JSON_TEAMS_MESSAGES:
			if (!dirs->teams && (st = pb__teams_dir_new(&dirs->teams)))
				return pb__err(err, st, "out of memory");
			st = pb__teams_messages(dirs->teams, data, len, chat_msg, &c, &ferr);
			break;
		case PB__JSON_SLACK_META:
		case PB__JSON_TEAMS_META:
			return PB_OK; /* lists of users and channels, read with their export */
		case PB__JSON_UNKNOWN:
			return exception(g, w->file_id, 0, w->path, w->member, 0, (int64_t)len, true,
			                 "unknown-json",
			                 "JSON that is neither Slack nor Teams messages; not read", err);
		}
		break;
	}
	}
	if (st) {
		if (fatal(st)) {
			if (err)
				*err = ferr;
			return st;
		}
		/* a format error part-way: what was read is kept; the rest is reported */
		return exception(g, w->file_id, 0, w->path, w->member, -1, -1, true,
		                 k == PB__KIND_JSON ? "bad-json" : "bad-file", ferr.message, err);
	}
	return PB_OK;
}

/* A symbolic link found in an archive: recorded under its own path (not its
 * target's), never followed. */
static enum pb_status link_refused(struct ing *g, const char *path, struct pb_error *err)
{
	char abs[PATH_MAX], dir[PATH_MAX], to[PATH_MAX];
	pb__strlcpy(dir, path, sizeof(dir));
	char *sl = strrchr(dir, '/');
	const char *base = sl ? sl + 1 : path;
	if (sl)
		*sl = '\0';
	char rd[PATH_MAX];
	if (!realpath(sl ? (*dir ? dir : "/") : ".", rd) ||
	    !pb__snprintf(abs, sizeof(abs), "%s/%s", strcmp(rd, "/") ? rd : "", base))
		pb__strlcpy(abs, path, sizeof(abs));
	ssize_t n = readlink(path, to, sizeof(to) - 1);
	to[n > 0 ? (size_t)n : 0] = '\0';
	char why[PATH_MAX + 160];
	snprintf(why, sizeof(why),
	         "a symbolic link (to '%s'); not followed: mail ingest never reads a file "
	         "through a link, so nothing outside the archive is read",
	         to);
	return file_failed(g, abs, "", "symlink", why, err);
}

/* One file on disk; inside a folder (nofollow) a symbolic link is refused. */
static enum pb_status ingest_file(struct ing *g, const char *path, bool nofollow,
                                  const char *folder, const char *folder_name,
                                  struct chat_dirs *dirs, struct pb_error *err)
{
	struct mapped mf;
	const char *what;
	int e = map_file(path, nofollow, &mf, &what);
	if (e == ELOOP && nofollow) {
		g->rep.files_seen++;
		g->rep.files_failed++;
		return link_refused(g, path, err);
	}
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		pb__strlcpy(abs, path, sizeof(abs));
	if (e) {
		g->rep.files_seen++;
		g->rep.files_failed++;
		char why[300];
		if (e < 0) {
			snprintf(why, sizeof(why), "not a regular file (%s); not opened", what);
			return file_failed(g, abs, "", "not-a-regular-file", why, err);
		}
		snprintf(why, sizeof(why), "cannot read the file: %s", pb__errno_text(e));
		return file_failed(g, abs, "", "unreadable-file", why, err);
	}
	enum pb_status st;
	enum pb__mail_kind k = pb__mail_sniff(mf.data, mf.len);
	const char *kind = kind_name(k);
	if (k == PB__KIND_JSON) {
		enum pb__json_kind jk = pb__mail_json_kind(path, mf.data, mf.len);
		kind = jk == PB__JSON_SLACK_MESSAGES ? "slack"
		       : jk == PB__JSON_TEAMS_MESSAGES ? "teams"
		       : jk == PB__JSON_SLACK_META ? "slack-meta"
		       : jk == PB__JSON_TEAMS_META ? "teams-meta"
		                                    : "json";
	}
	int64_t file_id = 0;
	bool skip = false;
	if ((st = register_file(g, abs, mf.data, mf.len, kind, &file_id, &skip, err)) || skip)
		goto out;
	struct where w = { file_id, abs, "", folder, 0 };
	st = ingest_bytes(g, &w, path, folder_name, mf.data, mf.len, dirs, err);
	if (!st)
		st = count_file(g, &w, err);
out:
	unmap_file(&mf);
	return st;
}

/* ---- folders ----------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in a folder, without dot files. */
static int list_dir(const char *path, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(path);
	if (!d)
		return errno;
	struct dirent *e;
	size_t cap = 0;
	int rc = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(*names, cap * sizeof(*nn));
			if (!nn) {
				rc = ENOMEM;
				break;
			}
			*names = nn;
		}
		if (!((*names)[*n] = pb__strndup(e->d_name, strlen(e->d_name)))) {
			rc = ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (*names)
		qsort(*names, *n, sizeof(**names), name_cmp);
	return rc;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool is_dir(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool exists(const char *dir, const char *name)
{
	char *p = pb__path_join(dir, name);
	bool r = p && access(p, F_OK) == 0;
	free(p);
	return r;
}

/* notmuch's folder: the path under the root, without a maildir cur/ or new/. */
static void folder_of(const char *rel, char *out, size_t cap)
{
	pb__strlcpy(out, rel, cap);
	size_t n = strlen(out);
	if (n >= 3 && (!strcmp(out + n - 3, "cur") || !strcmp(out + n - 3, "new")) &&
	    (n == 3 || out[n - 4] == '/'))
		out[n == 3 ? 0 : n - 4] = '\0';
}

static enum pb_status walk_dir(struct ing *g, const char *dir, const char *rel, unsigned depth,
                               struct chat_dirs *dirs, struct pb_error *err)
{
	char abs[PATH_MAX];
	if (!realpath(dir, abs))
		pb__strlcpy(abs, dir, sizeof(abs));
	if (depth > PB__MAIL_MAX_DIR_DEPTH)
		return file_failed(g, abs, "", "too-deep", "folders nested too deep; not read", err);
	char **names;
	size_t n;
	int e = list_dir(dir, &names, &n);
	if (e == ENOMEM) {
		free_names(names, n);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	if (e) {
		char why[300];
		snprintf(why, sizeof(why), "cannot read the folder: %s", pb__errno_text(e));
		return file_failed(g, abs, "", "unreadable-folder", why, err);
	}
	bool maildir = exists(dir, "cur") || exists(dir, "new");
	enum pb_status st = PB_OK;
	char folder[PATH_MAX];
	folder_of(rel, folder, sizeof(folder));
	const char *base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	for (size_t i = 0; i < n && !st; i++) {
		char *p = pb__path_join(dir, names[i]);
		if (!p) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		if (is_dir(p)) {
			if (!(maildir && !strcmp(names[i], "tmp"))) {
				char r[PATH_MAX];
				snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", names[i]);
				st = walk_dir(g, p, r, depth + 1, dirs, err);
			}
		} else {
			st = ingest_file(g, p, true, folder, base, dirs, err);
		}
		free(p);
	}
	free_names(names, n);
	return st;
}

/* Loads the Slack lists at the top of an export folder. */
static enum pb_status slack_lists(struct ing *g, const char *dir, struct chat_dirs *dirs,
                                  struct pb_error *err)
{
	static const char *const meta[] = { "users", "channels", "groups", "dms", "mpims" };
	enum pb_status st = pb__slack_dir_new(&dirs->slack);
	if (st)
		return pb__err(err, st, "out of memory");
	for (size_t k = 0; k < PB_ARRAY_LEN(meta) && !st; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%s.json", meta[k]);
		char *p = pb__path_join(dir, name);
		if (!p)
			return pb__err(err, PB_ENOMEM, "out of memory");
		struct mapped mf;
		if (access(p, F_OK) == 0 && map_file(p, true, &mf, NULL) == 0) {
			struct pb_error merr = { 0 };
			enum pb_status ms = pb__slack_dir_load(dirs->slack, meta[k], mf.data, mf.len, &merr);
			if (ms) {
				char abs[PATH_MAX];
				if (!realpath(p, abs))
					pb__strlcpy(abs, p, sizeof(abs));
				st = fatal(ms) ? pb__err(err, ms, "%s", merr.message)
				               : exception(g, 0, 0, abs, "", -1, -1, true, "bad-json",
				                           merr.message, err);
			}
			unmap_file(&mf);
		}
		free(p);
	}
	return st;
}

/* Loads every Teams list (teamsList, usersList, channels_*) under dir. */
static enum pb_status teams_lists(struct ing *g, const char *dir, unsigned depth,
                                  struct chat_dirs *dirs, struct pb_error *err)
{
	if (depth > 3)
		return PB_OK;
	if (!dirs->teams && pb__teams_dir_new(&dirs->teams))
		return pb__err(err, PB_ENOMEM, "out of memory");
	char **names;
	size_t n;
	if (list_dir(dir, &names, &n)) {
		free_names(names, n);
		return PB_OK; /* reported when the walk reaches it */
	}
	enum pb_status st = PB_OK;
	for (size_t i = 0; i < n && !st; i++) {
		char *p = pb__path_join(dir, names[i]);
		if (!p) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			break;
		}
		const char *which = !strcmp(names[i], "teamsList.json")   ? "teamsList"
		                    : !strcmp(names[i], "usersList.json") ? "usersList"
		                    : !strncmp(names[i], "channels_", 9)  ? "channels"
		                                                          : NULL;
		if (is_dir(p)) {
			st = teams_lists(g, p, depth + 1, dirs, err);
		} else if (which) {
			struct mapped mf;
			if (map_file(p, true, &mf, NULL) == 0) {
				struct pb_error merr = { 0 };
				enum pb_status ms = pb__teams_dir_load(dirs->teams, which, mf.data, mf.len,
				                                       &merr);
				if (ms)
					st = fatal(ms) ? pb__err(err, ms, "%s", merr.message)
					               : exception(g, 0, 0, p, "", -1, -1, true, "bad-json",
					                           merr.message, err);
				unmap_file(&mf);
			}
		}
		free(p);
	}
	free_names(names, n);
	return st;
}

static enum pb_status ingest_path(struct ing *g, const char *path, struct pb_error *err)
{
	struct chat_dirs dirs = { NULL, NULL };
	enum pb_status st;
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if (exists(path, "channels.json") || exists(path, "users.json"))
			st = slack_lists(g, path, &dirs, err);
		else if (exists(path, "teamsList.json") || exists(path, "usersList.json") ||
		         exists(path, "teams") || exists(path, "users"))
			st = teams_lists(g, path, 0, &dirs, err);
		else
			st = PB_OK;
		if (!st)
			st = walk_dir(g, path, "", 0, &dirs, err);
	} else {
		char *copy = pb__strndup(path, strlen(path));
		char *sl = copy ? strrchr(copy, '/') : NULL;
		const char *parent = "";
		if (sl) {
			*sl = '\0';
			char *pb = strrchr(copy, '/');
			parent = pb ? pb + 1 : copy;
		}
		st = ingest_file(g, path, false, "", parent, &dirs, err);
		free(copy);
	}
	pb__slack_dir_free(dirs.slack);
	pb__teams_dir_free(dirs.teams);
	return st;
}

/* ---- the entry point ---------------------------------------------------------- */

/* The first thread id free: past those of messages and of ghost threads
 * (mail_mid holds those too). */
static enum pb_status first_free_thread(struct ing *g, struct pb_error *err)
{
	static const char *const sql[] = {
		"SELECT COALESCE(MAX(thread_id), 0) + 1 FROM mail_msg",
		"SELECT COALESCE(MAX(thread_id), 0) + 1 FROM mail_mid",
	};
	g->next_thread = 0;
	for (size_t i = 0; i < PB_ARRAY_LEN(sql); i++) {
		sqlite3_stmt *s;
		enum pb_status st = pb__db_prepare(g->ws->db, sql[i], &s, err);
		if (st)
			return st;
		sqlite3_step(s);
		if (sqlite3_column_int64(s, 0) > g->next_thread)
			g->next_thread = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	return PB_OK;
}

/* The batch row, its counts zero until finish_batch: g->batch_id. */
static enum pb_status start_batch(struct ing *g, const char *const *paths, size_t npaths,
                                  const char *actor, struct pb_error *err)
{
	sqlite3_stmt *s;
	struct pb_buf pj;
	pb_buf_init(&pj, 1u << 20);
	pb_buf_addc(&pj, '[');
	for (size_t i = 0; i < npaths; i++) {
		if (i)
			pb_buf_addc(&pj, ',');
		pb_buf_json_str(&pj, paths[i], strlen(paths[i]));
	}
	pb_buf_addc(&pj, ']');
	char now[24];
	pb_time_format(pb_now(), now);
	enum pb_status st = pb__db_prepare(g->ws->db,
	                                   "INSERT INTO mail_batch (started_at, actor, custodian, paths,"
	                                   " files_seen, files_ingested, files_skipped, files_failed,"
	                                   " messages_seen, messages_new, duplicates, exceptions, bytes)"
	                                   " VALUES (?1, ?2, ?3, ?4, 0,0,0,0,0,0,0,0,0)",
	                                   &s, err);
	if (!st) {
		bind_text(s, 1, now);
		bind_text(s, 2, actor);
		bind_text(s, 3, g->opts->custodian);
		bind_text(s, 4, pj.data ? pj.data : "[]");
		if (sqlite3_step(s) != SQLITE_DONE)
			st = db_fail(g, err, "cannot record the ingest");
		sqlite3_finalize(s);
	}
	pb_buf_release(&pj);
	if (!st)
		g->batch_id = sqlite3_last_insert_rowid(g->ws->db);
	return st;
}

/* The batch row's counts, from g->rep. */
static enum pb_status finish_batch(struct ing *g, struct pb_error *err)
{
	sqlite3_stmt *s;
	enum pb_status st = pb__db_prepare(g->ws->db,
	                                   "UPDATE mail_batch SET files_seen=?2, files_ingested=?3,"
	                                   " files_skipped=?4, files_failed=?5, messages_seen=?6,"
	                                   " messages_new=?7, duplicates=?8, exceptions=?9, bytes=?10,"
	                                   " seconds=?11 WHERE id=?1",
	                                   &s, err);
	if (st)
		return st;
	uint64_t v[] = { g->rep.files_seen,    g->rep.files_ingested, g->rep.files_skipped,
		         g->rep.files_failed,  g->rep.messages_seen,  g->rep.messages_new,
		         g->rep.duplicates,    g->rep.exceptions,     g->rep.bytes };
	sqlite3_bind_int64(s, 1, g->batch_id);
	for (size_t i = 0; i < PB_ARRAY_LEN(v); i++)
		sqlite3_bind_int64(s, (int)i + 2, (int64_t)v[i]);
	sqlite3_bind_double(s, 11, g->rep.seconds);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_fail(g, err, "cannot record the ingest");
	return PB_OK;
}

/* The archives loaded are on the record, with their counts. */
static enum pb_status audit_batch(struct ing *g, const char *actor, struct pb_error *err)
{
	char d[512], subject[48];
	pb__snprintf(d, sizeof(d),
	             "{\"batch\":%lld,\"files_seen\":%llu,\"files_ingested\":%llu,"
	             "\"messages_seen\":%llu,\"messages_new\":%llu,\"duplicates\":%llu,"
	             "\"exceptions\":%llu,\"bytes\":%llu}",
	             (long long)g->batch_id, (unsigned long long)g->rep.files_seen,
	             (unsigned long long)g->rep.files_ingested,
	             (unsigned long long)g->rep.messages_seen,
	             (unsigned long long)g->rep.messages_new,
	             (unsigned long long)g->rep.duplicates,
	             (unsigned long long)g->rep.exceptions, (unsigned long long)g->rep.bytes);
	pb__snprintf(subject, sizeof(subject), "mail-batch/%lld", (long long)g->batch_id);
	return pb__audit_append(g->ws, actor, "mail.ingest", 0, subject, d, NULL, err);
}

static void finalize_all(struct ing *g)
{
	for (int i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(g->st[i]);
		g->st[i] = NULL;
	}
}

enum pb_status pb_mail_ingest(struct pb_ws *ws, const char *const *paths, size_t npaths,
                              const struct pb_mail_ingest_options *opts,
                              struct pb_mail_ingest_report *rep, struct pb_error *err)
{
	struct pb_mail_ingest_options defaults = { 0 };
	if (!opts)
		opts = &defaults;
	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (npaths == 0)
		return pb__err(err, PB_EINVAL, "no file or folder to ingest");
	for (size_t i = 0; i < npaths; i++) {
		struct stat sb;
		if (stat(paths[i], &sb) != 0)
			return pb__err_at(err, pb__errno_status(errno), paths[i], 0, 0, "cannot ingest: %s",
			                  pb__errno_text(errno));
	}
	enum pb_status st = pb__ws_require_writable(ws, "ingest mail", err);
	if (st)
		return st;
	struct ing g;
	memset(&g, 0, sizeof(g));
	g.ws = ws;
	g.opts = opts;
	g.t0 = pb__mono();
	pb_buf_init(&g.tmp, PB__MAIL_MAX_REFS * 1000 + 1024);
	if ((st = pb__ws_begin(ws, err)))
		goto out;
	const char *actor;
	if ((st = pb__acting_user(ws, opts ? opts->actor : NULL, &actor, err)) ||
	    (st = pb__user_may(ws, actor, "mail.ingest", err)))
		goto fail;
	for (int i = 0; i < S_COUNT; i++)
		if ((st = pb__db_prepare(ws->db, sql_text[i], &g.st[i], err)))
			goto fail;
	if ((st = first_free_thread(&g, err)) || (st = start_batch(&g, paths, npaths, actor, err)))
		goto fail;
	for (size_t i = 0; i < npaths && !st; i++)
		st = ingest_path(&g, paths[i], err);
	if (st)
		goto fail;
	g.rep.batch_id = g.batch_id;
	g.rep.seconds = pb__mono() - g.t0;
	if ((st = finish_batch(&g, err)))
		goto fail;
	finalize_all(&g);
	if ((st = audit_batch(&g, actor, err)))
		goto fail;
	if ((st = pb__ws_commit(ws, err)))
		goto out;
	if (rep)
		*rep = g.rep;
	goto out;
fail:
	finalize_all(&g);
	pb__ws_rollback(ws);
out:
	pb_buf_release(&g.tmp);
	return st;
}
