/* mail_case.h - the mail module's boundary with the case and audit modules.
 *
 * Everything the mail module does inside a case goes through these two
 * functions, so that joining it to the real case file is a change of their
 * bodies only. Both run inside the caller's open transaction.
 *
 * TEMPORARY (until the case module lands): the check accepts any non-empty
 * case reference and gives it a stable number in mail_case_ref; the record
 * writes to mail_case_log. Both tables are created on first use, outside the
 * schema history, so that dropping them later touches no migration.
 */
#ifndef PB_MAIL_CASE_H
#define PB_MAIL_CASE_H

#include "store.h"

/* The case exists and is open, and the actor may search it; *case_id gets its
 * number. PB_ENOENT for an unknown case, PB_ESTATE for a closed one, PB_EPERM
 * for an actor without the role. */
enum pb_status pb__mail_case_check(struct pb_ws *ws, const char *case_ref, const char *actor,
                                   int64_t *case_id, struct pb_error *err);

/* Appends one entry to the case's audit log: actor, action ("mail.search",
 * "mail.export", "mail.tag", "mail.untag", "mail.view", "mail.hit-report"),
 * the time, and details_json (an object: query, hits, result_sha256, ...). */
enum pb_status pb__mail_case_record(struct pb_ws *ws, int64_t case_id, const char *actor,
                                    const char *action, const char *details_json,
                                    struct pb_error *err);

#endif
