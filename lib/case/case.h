/* case.h - review cases: the internal API other modules call (inside their
 * own transaction, see log/audit.h for the pattern; users and roles are in
 * auth/auth.h). */
#ifndef PB_CASE_H
#define PB_CASE_H

#include "store/store.h"

/* Records evidence on an open case and its log entry ("case.<kind>"), inside
 * the caller's transaction. kind: 1-32 of [a-z-] (finding, search, note,
 * document, plan, ...); ref: what it points at, or NULL; sha256_hex: 64 hex
 * digits of the evidence bytes, or NULL; summary_json: a JSON object or
 * NULL. Fails with PB_ENOENT for no such case, PB_ESTATE for a closed one.
 * The caller checks the actor's role first. */
enum pb_status pb__case_add_evidence(struct pb_ws *ws, int64_t case_id, const char *kind,
                                     const char *ref, const char *sha256_hex,
                                     const char *summary_json, const char *actor,
                                     struct pb_error *err);

/* Looks a finding up for `case add-finding`. The policy module owns the
 * `finding` table; this reads the row whose `id` column equals id ("7" or
 * "F7") and turns its columns into a JSON object (*summary_json, heap), with
 * the large `detail` column replaced by its SHA-256 (detail_sha256), and a
 * SHA-256 for the evidence: the row's `sha256` column when it has one, else
 * the detail's hash, else the hash of that JSON.
 * PB_ENOENT "no finding 'X'" when the table or the row is missing. */
enum pb_status pb__case_finding_lookup(struct pb_ws *ws, const char *id, char **summary_json,
                                       char sha256_hex[65], struct pb_error *err);

#endif /* PB_CASE_H */
