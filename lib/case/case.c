/* case.c - review cases, notes, documents, evidence and decisions. Every
 * mutation checks the actor's role (auth/auth.h) and appends its audit entry
 * in the same transaction as the change (log/audit.h).
 */
#include "case/case.h"
#include "auth/auth.h"
#include "log/audit.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/banned.h"

#define NOTE_MAX (1024 * 1024)
#define NOTE_INLINE_MAX (16 * 1024)
#define DOC_MAX ((uint64_t)4 << 30)
#define DOCS_DIR "documents"

/* ---- cases ------------------------------------------------------------------------ */

/* Checks that a case exists and is open. */
static enum pb_status case_open_check(struct pb_ws *ws, int64_t id, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc =
		pb__db_prepare(ws->db, "SELECT status FROM review_case WHERE id = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		rc = pb__err(err, PB_ENOENT, "no case %lld (see 'probity case list')", (long long)id);
	else if (r != SQLITE_ROW)
		rc = pb__db_err(ws->db, err, "cannot read cases");
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "open") != 0)
		rc = pb__err(err, PB_ESTATE, "case %lld is closed; it takes no more changes",
		             (long long)id);
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_case_open(struct pb_ws *ws, const char *actor,
                            const struct pb_case_open_options *o, int64_t *id_out,
                            uint64_t *index_out, struct pb_error *err)
{
	enum pb_status rc;
	if ((rc = pb__text_check("customer", o->customer, true, err)) ||
	    (rc = pb__text_check("title", o->title, true, err)) ||
	    (rc = pb__text_check("trigger", o->trigger, true, err)) ||
	    (rc = pb__text_check("trigger_url", o->trigger_url, false, err)) ||
	    (rc = pb__text_check("trigger_date", o->trigger_date, false, err)))
		return rc;
	char date[16] = "";
	if (o->trigger_date && *o->trigger_date) {
		int64_t t;
		unsigned fl;
		if (!pb_time_parse(o->trigger_date, strlen(o->trigger_date), &t, &fl) ||
		    !(fl & PB_TIME_DATEONLY))
			return pb__err_field(err, PB_EINVAL, "trigger_date",
			                     "'%s' is not a date (YYYY-MM-DD)",
			                     o->trigger_date);
		pb_day_format(pb_floordiv(t, 86400), date);
	}
	if ((rc = pb__ws_begin_as(ws, actor, "case.open", "open a case", err)))
		return rc;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db, "SELECT id FROM customer WHERE name = ?1", &st, err)))
		return pb__ws_finish(ws, rc, err);
	sqlite3_bind_text(st, 1, o->customer, -1, SQLITE_STATIC);
	int64_t cust = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		cust = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!cust)
		return pb__ws_finish(ws,
		              pb__err(err, PB_ENOENT,
		                      "no customer '%s' in this workspace (customers are added with "
		                      "'probity customer add')",
		                      o->customer),
		              err);
	if ((rc = pb__db_prepare(ws->db,
	                         "INSERT INTO review_case(customer_id, title, trigger_text, "
	                         "trigger_url, trigger_date, status, opened_at, opened_by) "
	                         "VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7)",
	                         &st, err)))
		return pb__ws_finish(ws, rc, err);
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_int64(st, 1, cust);
	sqlite3_bind_text(st, 2, o->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, o->trigger, -1, SQLITE_STATIC);
	if (o->trigger_url && *o->trigger_url)
		sqlite3_bind_text(st, 4, o->trigger_url, -1, SQLITE_STATIC);
	if (date[0])
		sqlite3_bind_text(st, 5, date, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, actor, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return pb__ws_finish(ws, pb__db_err(ws->db, err, "cannot open the case"), err);
	int64_t id = sqlite3_last_insert_rowid(ws->db);
	json_t *d = json_pack("{s:s, s:s, s:s}", "customer", o->customer, "title", o->title,
	                      "trigger", o->trigger);
	if (d && o->trigger_url && *o->trigger_url)
		json_object_set_new(d, "trigger_url", json_string(o->trigger_url));
	if (d && date[0])
		json_object_set_new(d, "trigger_date", json_string(date));
	char *dj = pb__json_text(d);
	char subject[64];
	pb__snprintf(subject, sizeof(subject), "case/%lld", (long long)id);
	rc = dj ? pb__audit_append(ws, actor, "case.open", id, subject, dj, index_out, err)
	        : pb__err(err, PB_EINVAL, "case fields are not valid UTF-8");
	free(dj);
	if (!rc && id_out)
		*id_out = id;
	return pb__ws_finish(ws, rc, err);
}

static bool kind_valid(const char *k)
{
	size_t n = k ? strlen(k) : 0;
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '-'))
			return false;
	return true;
}

static bool hex64(const char *h)
{
	if (!h || strlen(h) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return true;
}

/* Evidence row and entry; *index_out optional. */
static enum pb_status add_evidence(struct pb_ws *ws, int64_t case_id, const char *kind,
                                   const char *ref, const char *sha256_hex,
                                   const char *summary_json, json_t *log_details,
                                   const char *actor, uint64_t *index_out, struct pb_error *err)
{
	if (!kind_valid(kind))
		return pb__err(err, PB_EINVAL, "evidence kind '%s' must be 1-32 of a-z and '-'",
		               kind ? kind : "");
	if (sha256_hex && !hex64(sha256_hex))
		return pb__err(err, PB_EINVAL, "evidence hash must be 64 lower-case hex digits");
	if (ref && strlen(ref) > PB__TEXT_MAX)
		return pb__err(err, PB_ELIMIT, "evidence reference is longer than %d bytes", PB__TEXT_MAX);
	enum pb_status rc = case_open_check(ws, case_id, err);
	if (rc)
		return rc;
	json_t *summary = NULL;
	if (summary_json) {
		json_error_t je;
		summary = json_loads(summary_json, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(summary)) {
			json_decref(summary);
			return pb__err(err, PB_EINVAL, "evidence summary is not a JSON object");
		}
	}
	uint64_t index = 0;
	json_t *d = log_details ? json_incref(log_details) : json_object();
	json_object_set_new(d, "kind", json_string(kind));
	if (ref)
		json_object_set_new(d, "ref", json_string(ref));
	if (sha256_hex)
		json_object_set_new(d, "sha256", json_string(sha256_hex));
	if (summary && !log_details)
		json_object_set(d, "summary", summary);
	char *dj = pb__json_text(d);
	char action[48], subject[64];
	pb__snprintf(action, sizeof(action), "case.%s", kind);
	pb__snprintf(subject, sizeof(subject), "case/%lld", (long long)case_id);
	rc = dj ? pb__audit_append(ws, actor, action, case_id, subject, dj, &index, err)
	        : pb__err(err, PB_EINVAL, "evidence fields are not valid UTF-8");
	free(dj);
	char *sj = summary ? pb__json_text(summary) : NULL;
	if (rc)
		goto out;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "INSERT INTO case_evidence(case_id, kind, ref, sha256, summary, "
	                         "added_at, added_by, log_index) "
	                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                         &st, err)))
		goto out;
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	if (ref)
		sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
	if (sha256_hex)
		sqlite3_bind_text(st, 4, sha256_hex, -1, SQLITE_STATIC);
	if (sj)
		sqlite3_bind_text(st, 5, sj, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)index);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot record the evidence");
	else if (index_out)
		*index_out = index;
out:
	free(sj);
	return rc;
}

enum pb_status pb__case_add_evidence(struct pb_ws *ws, int64_t case_id, const char *kind,
                                     const char *ref, const char *sha256_hex,
                                     const char *summary_json, const char *actor,
                                     struct pb_error *err)
{
	if (sqlite3_get_autocommit(ws->db))
		return pb__err(err, PB_ESTATE, "evidence must be added inside the caller's transaction");
	return add_evidence(ws, case_id, kind, ref, sha256_hex, summary_json, NULL, actor, NULL, err);
}

enum pb_status pb_case_note(struct pb_ws *ws, const char *actor, int64_t id, const char *text,
                            size_t n, uint64_t *index_out, struct pb_error *err)
{
	size_t bad;
	if (n == 0)
		return pb__err(err, PB_EINVAL, "the note is empty");
	if (n > NOTE_MAX)
		return pb__err(err, PB_ELIMIT, "the note is larger than %d bytes", NOTE_MAX);
	if (!pb_utf8_valid(text, n, &bad) || memchr(text, '\0', n))
		return pb__err(err, PB_EINVAL, "the note is not UTF-8 text (byte %zu)", bad);
	uint8_t h[32];
	char hex[65];
	pb__sha256(text, n, h);
	pb_hex(h, 32, hex);
	json_t *summary = json_object();
	json_object_set_new(summary, "text", json_stringn(text, n));
	json_object_set_new(summary, "bytes", json_integer((json_int_t)n));
	char *sj = pb__json_text(summary);
	json_t *details = json_object();
	json_object_set_new(details, "bytes", json_integer((json_int_t)n));
	if (n <= NOTE_INLINE_MAX)
		json_object_set_new(details, "text", json_stringn(text, n));
	enum pb_status rc = sj ? pb__ws_begin_as(ws, actor, "case.note", "add a note", err)
	                       : pb__err(err, PB_ENOMEM, "out of memory");
	if (!rc)
		rc = pb__ws_finish(ws, add_evidence(ws, id, "note", NULL, hex, sj, details, actor, index_out, err),
		            err);
	json_decref(details);
	free(sj);
	return rc;
}

/* Copies path into documents/<sha256>; fills hex and size. */
static enum pb_status store_document(struct pb_ws *ws, const char *path, char hex[65],
                                     uint64_t *size, struct pb_error *err)
{
	char *docs = pb__ws_file(ws, DOCS_DIR), *tmp = NULL, *final = NULL;
	enum pb_status rc = PB_OK;
	int in = -1, out = -1;
	struct pb_sha256 h = { 0 };
	if (!docs)
		return pb__err(err, PB_ENOMEM, "out of memory");
	if (mkdir(docs, 0700) != 0 && errno != EEXIST) {
		rc = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", docs,
		             pb__errno_text(errno));
		goto done;
	}
	in = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (in < 0 || fstat(in, &sb) != 0) {
		rc = pb__err(err, pb__errno_status(errno), "cannot open '%s': %s", path,
		             pb__errno_text(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = pb__err(err, PB_EINVAL, "'%s' is not a regular file", path);
		goto done;
	}
	tmp = malloc(strlen(docs) + 48);
	if (!tmp) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
		goto done;
	}
	/* a name of its own per call: the threads of probity web attach at once */
	pb__snprintf(tmp, strlen(docs) + 48, "%s/.incoming.XXXXXX", docs);
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0) {
		rc = pb__err(err, pb__errno_status(errno), "cannot create '%s': %s", tmp,
		             pb__errno_text(errno));
		goto done;
	}
	if ((rc = pb__sha256_init(&h)) != PB_OK && pb__err(err, rc, "cannot set up SHA-256"))
		goto done;
	char buf[65536];
	*size = 0;
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = pb__err(err, PB_EIO, "cannot read '%s': %s", path, pb__errno_text(errno));
			goto done;
		}
		if (r == 0)
			break;
		*size += (uint64_t)r;
		if (*size > DOC_MAX) {
			rc = pb__err(err, PB_ELIMIT, "'%s' is larger than 4 GiB", path);
			goto done;
		}
		pb__sha256_update(&h, buf, (size_t)r);
		for (ssize_t o = 0; o < r;) {
			ssize_t w = write(out, buf + o, (size_t)(r - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = pb__err(err, PB_EIO, "cannot write '%s': %s", tmp, pb__errno_text(errno));
				goto done;
			}
			o += w;
		}
	}
	uint8_t d[32];
	pb__sha256_final(&h, d);
	h.ctx = NULL;
	pb_hex(d, 32, hex);
	if (fsync(out) != 0) {
		rc = pb__err(err, PB_EIO, "cannot write '%s': %s", tmp, pb__errno_text(errno));
		goto done;
	}
	close(out);
	out = -1;
	final = pb__path_join(docs, hex);
	if (!final || rename(tmp, final) != 0) {
		rc = pb__err(err, PB_EIO, "cannot store the document: %s", pb__errno_text(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	rc = pb__fsync_dir(docs, err);
done:
	if (h.ctx)
		pb__sha256_release(&h);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(final);
	free(docs);
	return rc;
}

enum pb_status pb_case_attach(struct pb_ws *ws, const char *actor, int64_t id, const char *path,
                              char sha256_hex[65], uint64_t *index_out, struct pb_error *err)
{
	uint64_t size = 0;
	/* check permissions and the case before copying anything */
	enum pb_status rc = pb__ws_begin_as(ws, actor, "case.document", "attach a document", err);
	if (rc)
		return rc;
	rc = case_open_check(ws, id, err);
	pb__ws_rollback(ws);
	if (rc)
		return rc;
	/* the copy is content-addressed: if the transaction below fails, a stray
	 * file named by its own hash is all that remains */
	if ((rc = store_document(ws, path, sha256_hex, &size, err)))
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "case.document", "attach a document", err)))
		return rc;
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "INSERT OR IGNORE INTO case_document(sha256, size, stored_at) "
	                         "VALUES (?1, ?2, ?3)",
	                         &st, err)))
		return pb__ws_finish(ws, rc, err);
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_text(st, 1, sha256_hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return pb__ws_finish(ws, pb__db_err(ws->db, err, "cannot record the document"), err);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	json_t *summary = json_object();
	json_object_set_new(summary, "name", json_string(base));
	json_object_set_new(summary, "bytes", json_integer((json_int_t)size));
	char *sj = pb__json_text(summary);
	rc = sj ? add_evidence(ws, id, "document", base, sha256_hex, sj, NULL, actor, index_out, err)
	        : pb__err(err, PB_EINVAL, "the file name is not valid UTF-8");
	free(sj);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb__case_finding_lookup(struct pb_ws *ws, const char *id, char **summary_json,
                                       char sha256_hex[65], struct pb_error *err)
{
	*summary_json = NULL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(ws->db, "SELECT * FROM finding WHERE id = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return pb__err(err, PB_ENOENT, "no finding '%s' (this workspace has no findings yet)",
		               id);
	/* scans print findings as F<n>: accept that form as well as the bare number */
	const char *num = id;
	if ((id[0] == 'F' || id[0] == 'f') && id[1] >= '0' && id[1] <= '9')
		num = id + 1;
	sqlite3_bind_text(st, 1, num, -1, SQLITE_STATIC);
	enum pb_status rc = PB_OK;
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = pb__err(err, PB_ENOENT, "no finding '%s'", id);
		goto out;
	}
	if (r != SQLITE_ROW) {
		rc = pb__db_err(ws->db, err, "cannot read findings");
		goto out;
	}
	json_t *o = json_object();
	const char *own_hash = NULL;
	char detail_hash[65];
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char *name = sqlite3_column_name(st, i);
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default: {
			const char *t = (const char *)sqlite3_column_text(st, i);
			size_t tl = (size_t)sqlite3_column_bytes(st, i);
			if (!strcmp(name, "detail")) {
				/* the full detail (figures, citations) can be large: the log
				 * entry carries its hash, the case keeps the finding's id */
				uint8_t h[32];
				char hx[65];
				pb__sha256(t ? t : "", tl, h);
				pb_hex(h, 32, hx);
				v = json_string(hx);
				name = "detail_sha256";
				if (!own_hash) {
					memcpy(detail_hash, hx, sizeof(hx));
					own_hash = detail_hash;
				}
				break;
			}
			v = json_stringn(t, tl);
			if (!strcmp(name, "sha256"))
				own_hash = t;
		}
		}
		json_object_set_new(o, name, v ? v : json_null());
	}
	char *sj = pb__json_text(o);
	if (!sj) {
		rc = pb__err(err, PB_EFORMAT, "finding '%s' holds text that is not UTF-8", id);
		goto out;
	}
	if (own_hash && hex64(own_hash)) {
		pb__strlcpy(sha256_hex, own_hash, 65);
	} else {
		uint8_t h[32];
		pb__sha256(sj, strlen(sj), h);
		pb_hex(h, 32, sha256_hex);
	}
	*summary_json = sj;
out:
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_case_add_finding(struct pb_ws *ws, const char *actor, int64_t id,
                                   const char *finding, uint64_t *index_out,
                                   struct pb_error *err)
{
	if (!finding || !*finding || strlen(finding) > 256)
		return pb__err(err, PB_EINVAL, "a finding id is required");
	enum pb_status rc = pb__ws_begin_as(ws, actor, "case.finding", "add a finding", err);
	if (rc)
		return rc;
	if ((rc = case_open_check(ws, id, err)))
		return pb__ws_finish(ws, rc, err);
	char *sj = NULL, hex[65];
	if ((rc = pb__case_finding_lookup(ws, finding, &sj, hex, err)))
		return pb__ws_finish(ws, rc, err);
	rc = add_evidence(ws, id, "finding", finding, hex, sj, NULL, actor, index_out, err);
	free(sj);
	return pb__ws_finish(ws, rc, err);
}

enum pb_status pb_case_close(struct pb_ws *ws, const char *actor, int64_t id,
                             const char *decision, uint64_t *index_out, struct pb_error *err)
{
	enum pb_status rc = pb__text_check("decision", decision, true, err);
	if (rc)
		return rc;
	if ((rc = pb__ws_begin_as(ws, actor, "case.close", "close a case", err)))
		return rc;
	if ((rc = case_open_check(ws, id, err)))
		return pb__ws_finish(ws, rc, err);
	sqlite3_stmt *st;
	if ((rc = pb__db_prepare(ws->db,
	                         "UPDATE review_case SET status = 'closed', closed_at = ?2, "
	                         "closed_by = ?3, decision = ?4 WHERE id = ?1",
	                         &st, err)))
		return pb__ws_finish(ws, rc, err);
	char now[24];
	pb_time_format(pb_now(), now);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, decision, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return pb__ws_finish(ws, pb__db_err(ws->db, err, "cannot close the case"), err);
	char *dj = pb__json_text(json_pack("{s:s}", "decision", decision));
	char subject[64];
	pb__snprintf(subject, sizeof(subject), "case/%lld", (long long)id);
	rc = dj ? pb__audit_append(ws, actor, "case.close", id, subject, dj, index_out, err)
	        : pb__err(err, PB_EINVAL, "the decision is not valid UTF-8");
	free(dj);
	return pb__ws_finish(ws, rc, err);
}

/* ---- reading ------------------------------------------------------------------------- */

static enum pb_status case_rows(struct pb_ws *ws, int64_t id, const char *status,
                                bool (*fn)(void *ctx, const struct pb_case *c), void *ctx,
                                bool *any, struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(
		ws->db,
		"SELECT c.id, cu.name, c.title, c.trigger_text, c.trigger_url, c.trigger_date, "
		"c.status, c.opened_at, c.opened_by, c.closed_at, c.decision, "
		"(SELECT count(*) FROM case_evidence e WHERE e.case_id = c.id) "
		"FROM review_case c JOIN customer cu ON cu.id = c.customer_id "
		"WHERE (?1 = 0 OR c.id = ?1) AND (?2 IS NULL OR c.status = ?2) ORDER BY c.id",
		&st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (status)
		sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	int r;
	*any = false;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*any = true;
		struct pb_case c = {
			.id = sqlite3_column_int64(st, 0),
			.customer = (const char *)sqlite3_column_text(st, 1),
			.title = (const char *)sqlite3_column_text(st, 2),
			.trigger = (const char *)sqlite3_column_text(st, 3),
			.trigger_url = (const char *)sqlite3_column_text(st, 4),
			.trigger_date = (const char *)sqlite3_column_text(st, 5),
			.status = (const char *)sqlite3_column_text(st, 6),
			.opened_at = (const char *)sqlite3_column_text(st, 7),
			.opened_by = (const char *)sqlite3_column_text(st, 8),
			.closed_at = (const char *)sqlite3_column_text(st, 9),
			.decision = (const char *)sqlite3_column_text(st, 10),
			.evidence = sqlite3_column_int64(st, 11),
		};
		if (!fn(ctx, &c))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read cases");
	sqlite3_finalize(st);
	return rc;
}

enum pb_status pb_case_list(struct pb_ws *ws, const char *status,
                            bool (*fn)(void *ctx, const struct pb_case *c), void *ctx,
                            struct pb_error *err)
{
	bool any;
	return case_rows(ws, 0, status, fn, ctx, &any, err);
}

enum pb_status pb_case_get(struct pb_ws *ws, int64_t id,
                           bool (*fn)(void *ctx, const struct pb_case *c), void *ctx,
                           struct pb_error *err)
{
	bool any;
	if (id <= 0)
		return pb__err(err, PB_EINVAL, "case ids are positive numbers");
	enum pb_status rc = case_rows(ws, id, NULL, fn, ctx, &any, err);
	if (!rc && !any)
		rc = pb__err(err, PB_ENOENT, "no case %lld (see 'probity case list')", (long long)id);
	return rc;
}

enum pb_status pb_case_document_open(struct pb_ws *ws, int64_t id, const char *sha256_hex,
                                     int *fd, uint64_t *size, char name[256],
                                     struct pb_error *err)
{
	*fd = -1;
	bool hex = sha256_hex && strlen(sha256_hex) == 64;
	for (size_t i = 0; hex && i < 64; i++)
		hex = strchr("0123456789abcdef", sha256_hex[i]) != NULL;
	if (!hex)
		return pb__err_field(err, PB_EINVAL, "sha256",
		                     "a document is named by its SHA-256: 64 lower-case hex digits");
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT ref FROM case_evidence WHERE case_id = ?1 AND "
	                                   "kind = 'document' AND sha256 = ?2 ORDER BY id LIMIT 1",
	                                   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, sha256_hex, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		pb__col_text(st, 0, name, 256);
	else if (r == SQLITE_DONE)
		rc = pb__err(err, PB_ENOENT, "case %lld has no document '%s'", (long long)id, sha256_hex);
	else
		rc = pb__db_err(ws->db, err, "cannot read evidence");
	sqlite3_finalize(st);
	if (rc)
		return rc;
	char *docs = pb__ws_file(ws, DOCS_DIR), *path = docs ? pb__path_join(docs, sha256_hex) : NULL;
	struct stat sb;
	if (!path) {
		rc = pb__err(err, PB_ENOMEM, "out of memory");
	} else if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(*fd, &sb) != 0) {
		rc = pb__err(err, pb__errno_status(errno), "cannot open the document '%s': %s",
		             sha256_hex, pb__errno_text(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		rc = pb__err(err, PB_EINVAL, "the document '%s' is not a regular file", sha256_hex);
	} else {
		*size = (uint64_t)sb.st_size;
	}
	if (rc && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	free(path);
	free(docs);
	return rc;
}

enum pb_status pb_case_evidence(struct pb_ws *ws, int64_t id,
                                bool (*fn)(void *ctx, const struct pb_evidence *e), void *ctx,
                                struct pb_error *err)
{
	sqlite3_stmt *st;
	enum pb_status rc = pb__db_prepare(ws->db,
	                                   "SELECT id, kind, ref, sha256, summary, added_at, "
	                                   "added_by, log_index FROM case_evidence "
	                                   "WHERE case_id = ?1 ORDER BY id",
	                                   &st, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct pb_evidence e = {
			.id = sqlite3_column_int64(st, 0),
			.kind = (const char *)sqlite3_column_text(st, 1),
			.ref = (const char *)sqlite3_column_text(st, 2),
			.sha256 = (const char *)sqlite3_column_text(st, 3),
			.summary = (const char *)sqlite3_column_text(st, 4),
			.added_at = (const char *)sqlite3_column_text(st, 5),
			.added_by = (const char *)sqlite3_column_text(st, 6),
			.log_index = (uint64_t)sqlite3_column_int64(st, 7),
		};
		if (!fn(ctx, &e))
			break;
	}
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		rc = pb__db_err(ws->db, err, "cannot read evidence");
	sqlite3_finalize(st);
	return rc;
}
