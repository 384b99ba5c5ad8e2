/* mail_case.c - the mail module's boundary with cases and the audit log. */
#include "mail/mail_case.h"
#include "log/audit.h"
#include "auth/auth.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

enum pb_status pb__mail_case_check(struct pb_ws *ws, const char *case_ref, const char *actor,
                                   int64_t *case_id, struct pb_error *err)
{
	if (!case_ref || !*case_ref)
		return pb__err(err, PB_EINVAL, "no case given (a case number is required)");
	const char *num = strncmp(case_ref, "case/", 5) == 0 ? case_ref + 5 : case_ref;
	char *end;
	long long id = strtoll(num, &end, 10);
	if (*num < '0' || *num > '9' || *end || id <= 0)
		return pb__err(err, PB_EINVAL, "'%s' is not a case number (see 'probity case list')",
		               case_ref);
	/* every mail.* entry of a case needs the roles of a search */
	enum pb_status st = pb__user_may(ws, actor, "mail.search", err);
	if (st)
		return st;
	sqlite3_stmt *q;
	if ((st = pb__db_prepare(ws->db, "SELECT status FROM review_case WHERE id = ?1", &q, err)))
		return st;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		st = pb__err(err, PB_ENOENT, "no case %lld (see 'probity case list')", id);
	else if (rc != SQLITE_ROW)
		st = pb__db_err(ws->db, err, "cannot read cases");
	else if (strcmp((const char *)sqlite3_column_text(q, 0), "open") != 0)
		st = pb__err(err, PB_ESTATE, "case %lld is closed: its mail can no longer be searched",
		             id);
	sqlite3_finalize(q);
	if (!st)
		*case_id = id;
	return st;
}

enum pb_status pb__mail_case_record(struct pb_ws *ws, int64_t case_id, const char *actor,
                                    const char *action, const char *details_json,
                                    struct pb_error *err)
{
	return pb__audit_append(ws, actor, action, case_id, "mail", details_json, NULL, err);
}
