/* report.h - internals shared by the report area's files (sor.c: statements
 * of reasons; sor_check.c: their validator; appeal.c: appeals on the log;
 * transparency.c: the transparency report; casereport.c: the case report
 * and its verifier). */
#ifndef PB_REPORT_H
#define PB_REPORT_H

#include "auth/auth.h"
#include "plan/plan.h"
#include "store/store.h"
#include "util/util.h"

#include <jansson.h>

/* The EU member states and the EEA (ISO 3166-1 alpha-2; Greece is GR), in
 * the database's order, then NULL: the codes a territorial_scope may hold. */
#define PB__EEA_N 30
extern const char *const pb__eea[PB__EEA_N + 1];

/* Publishes a report: one log entry `action` whose details are details
 * (borrowed) plus the name, SHA-256 and size of every file, written as actor
 * (analyst, approver or auditor) in its own transaction. */
enum pb_status pb__report_publish(struct pb_ws *ws, const char *actor, const char *action,
                                  json_t *details, const struct pb_report_file *f, size_t n,
                                  uint64_t *index_out, struct pb_error *err);

/* Appends s to o with & < > " escaped for HTML text and attribute values. */
enum pb_status pb__report_html_text(struct pb_buf *o, const char *s);

#endif /* PB_REPORT_H */
