/* auth.h - who may act: users and roles, the acting user, and the opening
 * and closing of a write step on the workspace's behalf (the internal API
 * other modules call; the public one is in probity.h, "users and roles").
 *
 * auth sits above the log (it records user changes and signs checkpoints)
 * and below every area that changes the case file. Later it will hold keys
 * and sessions (signed actors, web sign-in).
 */
#ifndef PB_AUTH_H
#define PB_AUTH_H

/* A write step is pb__ws_begin_as, the change, pb__audit_append, then
 * pb__ws_finish: the log's internal API comes with this header, so an area
 * that may reach auth but not log (usage) can record its steps. */
#include "ident/ident.h"
#include "log/audit.h"
#include "store/store.h"

/* True when role is one of roles (comma-separated, e.g. "analyst,approver"). */
bool pb__role_in(const char *role, const char *roles);
/* Fails with PB_EPERM unless user exists, is enabled and has one of roles,
 * a comma-separated list ("analyst,approver"). A missing user names the
 * field "actor". */
enum pb_status pb__user_require_role(struct pb_ws *ws, const char *user, const char *roles,
                                     struct pb_error *err);

/* The acting user: as when not NULL, else probity.conf's `user`. *user_out
 * points at as or into ws's settings. It must exist and be enabled. */
enum pb_status pb__acting_user(struct pb_ws *ws, const char *as, const char **user_out,
                               struct pb_error *err);

/* Longest one-line text (title, reason, name...) a step accepts, in bytes. */
#define PB__TEXT_MAX 4096

/* PB_OK when s is empty and not required, or valid UTF-8 of at most
 * PB__TEXT_MAX bytes; else an error about the caller's argument `field`
 * (its API name: "reason", "title"), which also fills err->field. */
enum pb_status pb__text_check(const char *field, const char *s, bool required,
                              struct pb_error *err);

/* The roles (comma-separated) the log entry `action` needs of its actor:
 * one table that every writer checks through pb__ws_begin_as or
 * pb__user_may, and that log check replays (replay.c); NULL for an action
 * any enabled user may take (web sign-ins, a user's own passkeys, reading
 * evidence...). */
const char *pb__action_roles(const char *action);

/* PB_OK when actor is an enabled user holding a role `action` needs. */
enum pb_status pb__user_may(struct pb_ws *ws, const char *actor, const char *action,
                            struct pb_error *err);

/* Begins a write of the entry `action`: a writable workspace, a
 * transaction, and an actor with a role the action needs
 * (pb__action_roles); rolls back what it began when the actor may not act.
 * `doing` names the operation for messages ("approve a plan"). */
enum pb_status pb__ws_begin_as(struct pb_ws *ws, const char *actor, const char *action,
                               const char *doing, struct pb_error *err);

/* Ends what pb__ws_begin_as began: commits when rc is PB_OK, else rolls back
 * and returns rc. */
enum pb_status pb__ws_finish(struct pb_ws *ws, enum pb_status rc, struct pb_error *err);

/* The log entry of a change to user name (subject "user/NAME"), details d
 * (consumed), inside the caller's transaction. */
enum pb_status pb__user_log(struct pb_ws *ws, const char *actor, const char *action,
                            const char *name, struct json_t *d, uint64_t *index_out,
                            struct pb_error *err);

/* ---- the key registry (keys.c) ---------------------------------------------- */

/* A key about to be registered: its line without comment, fingerprint and
 * comment (heap; release with pb__newkey_release). */
struct pb__newkey {
	char *line;
	char fp[PB_SSHKEY_FP_MAX];
	char *comment;
};
void pb__newkey_release(struct pb__newkey *k);
/* Parses key_line (field "key" in errors) and checks that no user holds
 * the key, or ever did: a key is one user's (PB_EEXIST). */
enum pb_status pb__key_prepare(struct pb_ws *ws, const char *key_line, struct pb__newkey *k,
                               struct pb_error *err);
/* The registry row of k for user, registered by log entry index (with its
 * comment when with_comment: the user.key-add entry records it). */
enum pb_status pb__key_store(struct pb_ws *ws, const char *user, const struct pb__newkey *k,
                             bool with_comment, uint64_t index, struct pb_error *err);

/* The registries of who holds what (keys.c): OpenSSH keys and passkeys,
 * rows keyed by fingerprint, each one user's, ever. */
enum pb__registry { PB__REG_KEY, PB__REG_PASSKEY };
/* The user fp is registered to, into owner ("" when none), and whether it
 * is revoked (revoked may be NULL). */
enum pb_status pb__registry_owner(struct pb_ws *ws, enum pb__registry reg, const char *fp,
                                  char owner[PB_USER_NAME_MAX + 1], bool *revoked,
                                  struct pb_error *err);
/* Revokes user's fp, inside the caller's step: it must be user's and not
 * revoked; log entry action {"user","key_fp","reason"}, then the row. */
enum pb_status pb__registry_revoke(struct pb_ws *ws, enum pb__registry reg, const char *actor,
                                   const char *action, const char *user, const char *fp,
                                   const char *reason, uint64_t *index_out,
                                   struct pb_error *err);

#endif /* PB_AUTH_H */
