/* mail_case.h - the mail module's boundary with the case and audit modules.
 *
 * Everything the mail module does inside a case goes through these two
 * functions: the case must exist and be open, the acting user must be an
 * analyst or an admin, and every search, export, tag change and view is an
 * entry of the workspace's audit log (lib/audit.h), in the caller's
 * transaction.
 */
#ifndef PB_MAIL_CASE_H
#define PB_MAIL_CASE_H

#include "store/store.h"

/* The case exists and is open, and the actor may work on it; *case_id gets
 * its number. case_ref: "3" or "case/3". PB_EINVAL for a reference that is
 * not a case number, PB_ENOENT for an unknown case, PB_ESTATE for a closed
 * one, PB_EPERM for an actor without the role. */
enum pb_status pb__mail_case_check(struct pb_ws *ws, const char *case_ref, const char *actor,
                                   int64_t *case_id, struct pb_error *err);

/* Appends one entry to the audit log, on the case: actor, action
 * ("mail.search", "mail.export", "mail.tag", "mail.untag", "mail.view"),
 * subject "mail", and details_json (an object: query, hits, result_sha256
 * ...). Must be called inside the caller's transaction. */
enum pb_status pb__mail_case_record(struct pb_ws *ws, int64_t case_id, const char *actor,
                                    const char *action, const char *details_json,
                                    struct pb_error *err);

#endif
