/* fuzz_mail_query.c - the query parser and compiler. Invariants: a query
 * that parses also renders and compiles to SQL that SQLite accepts. */
#include "mail/mail.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = pb__strndup((const char *)data, size);
	if (!q)
		return 0;
	struct pb__mail_query *pq;
	if (pb__mail_query_parse(q, &pq, NULL) == PB_OK) {
		struct pb_buf r;
		pb_buf_init(&r, 1u << 24);
		if (pb__mail_query_render(pq, &r) != PB_OK)
			abort();
		pb_buf_release(&r);
		struct pb__mail_sql sql;
		struct pb_error err = { 0 };
		if (pb__mail_query_sql(pq, 1, &sql, &err) != PB_OK) {
			if (err.code != PB_ELIMIT)
				abort();
		} else {
			/* the SQL must prepare against the mail tables */
			static sqlite3 *db;
			if (!db) {
				sqlite3_open(":memory:", &db);
				sqlite3_exec(db,
				             "CREATE TABLE mail_msg (id INTEGER PRIMARY KEY, message_id, "
				             "thread_id, date, flags, kind, channel);"
				             "CREATE TABLE mail_loc (msg_id, custodian, folder);"
				             "CREATE TABLE mail_tag (case_id, msg_id, tag);"
				             "CREATE VIRTUAL TABLE mail_fts USING fts5(subject, sender, "
				             "recipients, body, extra, attach);",
				             NULL, NULL, NULL);
			}
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(db, sql.sql.data, -1, &st, NULL) != SQLITE_OK)
				abort();
			pb__mail_sql_bind(db, st, &sql, NULL);
			/* FTS5 must accept every MATCH expression we make */
			while (sqlite3_step(st) == SQLITE_ROW)
				;
			if (sqlite3_errcode(db) != SQLITE_OK && sqlite3_errcode(db) != SQLITE_DONE)
				abort();
			sqlite3_finalize(st);
			pb__mail_sql_release(&sql);
		}
		pb__mail_query_free(pq);
	}
	free(q);
	return 0;
}
