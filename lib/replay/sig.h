/* sig.h - the signatures of a signed log, replayed in log order on two
 * threads (sig.c): each entry's SSHSIG, the key registry at each position,
 * the roots statements name, nonces, and the two-person rule of every
 * apply and rollback. Used by the replay (log check, log verify). */
#ifndef PB_REPLAY_SIG_H
#define PB_REPLAY_SIG_H

#include "probity.h"

struct pb__rsig;
/* Called for each problem, in log order: the entry and what is wrong. */
typedef void (*pb__rsig_report_fn)(void *ctx, uint64_t index, const char *what);

enum pb_status pb__rsig_new(pb__rsig_report_fn report, void *ctx, struct pb__rsig **out,
                            struct pb_error *err);
/* Feeds entry `index` (every entry, from 0, in order; text is copied). */
enum pb_status pb__rsig_feed(struct pb__rsig *s, uint64_t index, const char *text, size_t len,
                             struct pb_error *err);
/* Waits for the checks of every entry fed; *nbad gets the problems found. */
enum pb_status pb__rsig_finish(struct pb__rsig *s, uint64_t *nbad, struct pb_error *err);
/* Whether the log's entry 0 says "actors":"signed" (after index 0 was fed);
 * *nsigned (may be NULL) gets the entries whose signature checked. */
/* After pb__rsig_finish, for a signed log: the checkpoint (origin, size,
 * root) of an export is signed by its actor (actor_json: the export's
 * checkpoint.actor, {"actor":U,"sig":{...}}) with a key the log registered
 * to them, valid at size, and a nonce no entry used; or, without one
 * (NULL), it seals a plan apply, rollback or policy entry (the last one
 * fed). PB_EVERIFY saying why not. */
enum pb_status pb__rsig_checkpoint(struct pb__rsig *s, const char *origin, uint64_t size,
                                   const uint8_t root[32], const char *actor_json, size_t len,
                                   struct pb_error *err);
bool pb__rsig_signed(const struct pb__rsig *s, uint64_t *nsigned);
/* After pb__rsig_finish, for a signed log: each passkey the log registered
 * and the largest counter it shows for it (registration, signed entries,
 * sign-ins); fn returns false to stop. */
void pb__rsig_passkeys(const struct pb__rsig *s,
                       bool (*fn)(void *ctx, const char *fp, uint32_t count), void *ctx);
void pb__rsig_free(struct pb__rsig *s);

#endif
