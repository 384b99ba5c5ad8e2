/* case.h - users, roles and cases: the internal API other modules call
 * (inside their own transaction, see audit.h for the pattern). */
#ifndef PB_CASE_H
#define PB_CASE_H

#include "log/audit.h"

#include <jansson.h>

/* Fails with PB_EPERM unless user exists, is enabled and has one of roles,
 * a comma-separated list ("analyst,approver"). */
enum pb_status pb__user_require_role(struct pb_ws *ws, const char *user, const char *roles,
                                     struct pb_error *err);

/* The acting user: as when not NULL, else probity.conf's `user`. *user_out
 * points at as or into ws's settings. It must exist and be enabled. */
enum pb_status pb__acting_user(struct pb_ws *ws, const char *as, const char **user_out,
                               struct pb_error *err);

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

/* Helpers every module that changes the case file uses. */

/* Longest one-line text (title, reason, name...) a step accepts, in bytes. */
#define PB__TEXT_MAX 4096

/* PB_OK when s is empty and not required, or valid UTF-8 of at most
 * PB__TEXT_MAX bytes; else an error naming `what`. */
enum pb_status pb__text_check(const char *what, const char *s, bool required,
                              struct pb_error *err);

/* Begins a write: a writable workspace, a transaction, and an actor with one
 * of roles; rolls back what it began when the actor may not act. */
enum pb_status pb__ws_begin_as(struct pb_ws *ws, const char *actor, const char *roles,
                               const char *doing, struct pb_error *err);

/* Ends what pb__ws_begin_as began: commits when rc is PB_OK, else rolls back
 * and returns rc. */
enum pb_status pb__ws_finish(struct pb_ws *ws, enum pb_status rc, struct pb_error *err);

/* Compact, key-sorted JSON text of o (heap, NULL on failure); takes o's
 * reference. NULL o gives NULL. */
char *pb__json_text(json_t *o);

#endif /* PB_CASE_H */
