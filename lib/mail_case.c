/* mail_case.c - the mail module's boundary with cases and the audit log.
 *
 * TEMPORARY bodies (see mail_case.h): any case reference is accepted and
 * numbered in mail_case_ref, and entries go to mail_case_log, each with the
 * SHA-256 of the previous entry so that an edit of the table shows. The case
 * module replaces both bodies with its case lookup, role check and
 * pb__audit_append.
 */
#include "mail_case.h"

#include <string.h>

#include "banned.h"

static const char tables[] =
	"CREATE TABLE IF NOT EXISTS mail_case_ref ("
	"  id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS mail_case_log ("
	"  id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, at TEXT NOT NULL,"
	"  actor TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL,"
	"  prev_sha256 TEXT NOT NULL, sha256 TEXT NOT NULL);";

enum pb_status pb__mail_case_check(struct pb_ws *ws, const char *case_ref, const char *actor,
                                   int64_t *case_id, struct pb_error *err)
{
	if (!case_ref || !*case_ref || strlen(case_ref) > 200)
		return pb__err(err, PB_EINVAL, "no case given (a case reference is required)");
	if (!actor || !*actor)
		return pb__err(err, PB_EPERM, "no acting user for case '%s'", case_ref);
	enum pb_status st = pb__db_exec(ws->db, tables, err);
	if (st)
		return st;
	sqlite3_stmt *s;
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO mail_case_ref (ref) VALUES (?1)"
	                         " ON CONFLICT (ref) DO NOTHING",
	                         &s, err)))
		return st;
	sqlite3_bind_text(s, 1, case_ref, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot look up the case");
	if ((st = pb__db_prepare(ws->db, "SELECT id FROM mail_case_ref WHERE ref = ?1", &s, err)))
		return st;
	sqlite3_bind_text(s, 1, case_ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*case_id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return pb__db_err(ws->db, err, "cannot look up the case");
	return PB_OK;
}

enum pb_status pb__mail_case_record(struct pb_ws *ws, int64_t case_id, const char *actor,
                                    const char *action, const char *details_json,
                                    struct pb_error *err)
{
	enum pb_status st = pb__db_exec(ws->db, tables, err);
	if (st)
		return st;
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	sqlite3_stmt *s;
	if ((st = pb__db_prepare(ws->db, "SELECT sha256 FROM mail_case_log ORDER BY id DESC LIMIT 1",
	                         &s, err)))
		return st;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		pb__strlcpy(prev, (const char *)sqlite3_column_text(s, 0), sizeof(prev));
	sqlite3_finalize(s);
	char at[24];
	pb__time_format(pb__now(), at);
	/* the entry hashed: previous hash, case, time, actor, action, details */
	struct pb_buf e;
	pb__buf_init(&e, (1u << 20) + strlen(details_json));
	pb__buf_printf(&e, "%s\n%lld\n%s\n%s\n%s\n%s", prev, (long long)case_id, at, actor, action,
	               details_json);
	uint8_t h[32];
	char hex[65];
	pb__sha256(e.data ? e.data : "", e.len, h);
	pb__hex(h, 32, hex);
	pb__buf_release(&e);
	if ((st = pb__db_prepare(ws->db,
	                         "INSERT INTO mail_case_log (case_id, at, actor, action, details,"
	                         " prev_sha256, sha256) VALUES (?1,?2,?3,?4,?5,?6,?7)",
	                         &s, err)))
		return st;
	sqlite3_bind_int64(s, 1, case_id);
	sqlite3_bind_text(s, 2, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, details_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, hex, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return pb__db_err(ws->db, err, "cannot record in the case log");
	return PB_OK;
}
