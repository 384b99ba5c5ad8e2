/* audit.h - the workspace audit log: how other modules record what they do.
 *
 * Every state change of a case, a plan, an approval, an apply or rollback,
 * a search ... is one entry of the workspace's tamper-evident log, written in
 * the SAME SQLite transaction as the change. The pattern for a module:
 *
 *     // BEGIN IMMEDIATE, then check the actor's role (auth/auth.h)
 *     if ((st = pb__ws_begin_as(ws, actor, "approver", "approve a plan", err)))
 *             return st;
 *     ... change your own tables ...
 *     st = pb__audit_append(ws, actor, "plan.approve", case_id, "plan/12",
 *                           "{\"approver\":\"bob\"}", &index, err);
 *     return pb__ws_finish(ws, st, err);                // both or neither
 *
 * A change whose entry is not in the log did not happen: if the append
 * fails, roll back. Checkpoints are signed later (pb_audit_checkpoint), after
 * commit, and only over committed entries.
 *
 * The log knows entries, not users: it never checks an actor (auth does,
 * above it), so log/ includes only util and store.
 *
 * An entry is canonical JSON (keys sorted, no spaces, UTF-8):
 *   {"action":"case.note","actor":"alice","case":3,"details":{...},
 *    "index":17,"subject":"case/3","time":"2025-03-01T10:00:00Z","v":1}
 * "case", "subject" and "details" are left out when not given. details is
 * the caller's JSON object, re-serialised canonically; put the SHA-256 of
 * any evidence in it ("sha256": hex), never the evidence itself. An entry is
 * at most 65,535 bytes (the tile bundle format); larger ones fail with
 * PB_ELIMIT.
 */
#ifndef PB_AUDIT_H
#define PB_AUDIT_H

#include "ident/webauthn.h"
#include "store/store.h"

#define PB_AUDIT_DETAILS_MAX 60000

/* Appends one entry; must be called inside a transaction (PB_ESTATE
 * otherwise). action: lower-case word with dots, e.g. "case.open"; actor:
 * an existing user name (not checked here: check roles before); case_id: 0
 * for none; subject: what the action is about ("case/3", "plan/12") or NULL;
 * details_json: a JSON object or NULL. *index_out (may be NULL) gets the
 * entry's index in the log. */
enum pb_status pb__audit_append(struct pb_ws *ws, const char *actor, const char *action,
                                int64_t case_id, const char *subject, const char *details_json,
                                uint64_t *index_out, struct pb_error *err);

/* Many appends in one transaction, without re-reading the tree head or
 * re-preparing statements for each (the batched path of the benchmark):
 * begin inside the caller's transaction, append, then end (which writes the
 * tree head) before committing; on any failure, abort and roll back. An
 * error from append leaves the batch usable for nothing but abort. */
struct pb__audit_batch;
enum pb_status pb__audit_batch_begin(struct pb_ws *ws, struct pb__audit_batch **out,
                                     struct pb_error *err);
enum pb_status pb__audit_batch_append(struct pb__audit_batch *b, const char *actor,
                                      const char *action, int64_t case_id, const char *subject,
                                      const char *details_json, uint64_t *index_out,
                                      struct pb_error *err);
enum pb_status pb__audit_batch_end(struct pb__audit_batch *b, struct pb_error *err);
void pb__audit_batch_abort(struct pb__audit_batch *b);

/* Signs a checkpoint of the log as committed so far, inside the caller's
 * transaction (PB_ESTATE otherwise), after checking that the stored tree is
 * consistent with the latest signed checkpoint (PB_EVERIFY). *note_out
 * (heap) gets the signed note: the latest one when it already covers the
 * whole log, else a new one stored in audit_checkpoint, signed_by actor,
 * which the caller hands out only once committed. The caller checks the
 * actor's role: the public entry point is pb_audit_checkpoint (auth.c).
 * actor_signs: in a signed workspace, a new checkpoint also carries the
 * actor's own signature (pb__sign_entry, action "log.checkpoint", in
 * actor_sig); false for the checkpoints that seal an entry the actor signed
 * in the same transaction (plan apply, rollback, policy). */
enum pb_status pb__audit_checkpoint_sign(struct pb_ws *ws, const char *actor, bool actor_signs,
                                         char **note_out, struct pb_error *err);

/* The log's current size (committed or inside the caller's transaction). */
enum pb_status pb__audit_size(struct pb_ws *ws, uint64_t *size, struct pb_error *err);

/* The hash of the perfect subtree (level, index) from the stored tree:
 * a pb_tlog_hash_fn with ctx = ws. */
enum pb_status pb__audit_hash(void *ws, unsigned level, uint64_t index, uint8_t out[32],
                              struct pb_error *err);

/* Reads entry index into *data (heap, *len bytes) only when it verifies on
 * its own: leaf hash recomputed from the bytes, included (proof from the
 * stored subtree hashes) in the tree of the stored log head, and that head
 * consistent with the latest signed checkpoint, when one was signed.
 * PB_EVERIFY says which step failed. O(log n) stored hashes, no replay. */
enum pb_status pb__audit_entry_verified(struct pb_ws *ws, uint64_t index, char **data,
                                        size_t *len, struct pb_error *err);

/* pb__audit_entry_verified, and the entry sealed: index below the size of
 * the latest signed checkpoint, whose signature verifies with the log's
 * public key (signing.key when readable, else signing.pub). Else PB_EVERIFY
 * "log entry N is not covered by a signed checkpoint". What enforces
 * (entitlements) asks for this: an append made without the signing key,
 * however consistent, enforces nothing. */
enum pb_status pb__audit_entry_sealed(struct pb_ws *ws, uint64_t index, char **data, size_t *len,
                                      struct pb_error *err);

/* The workspace signing key (created on first use as signing.key, 32
 * random bytes, mode 0600) under the log's origin. */
enum pb_status pb__audit_signer(struct pb_ws *ws, struct pb_signer *out, struct pb_error *err);

/* The log origin: fixed in the database at the first entry; before that,
 * probity.conf's log_origin, else "probity.example/<workspace name>". */
enum pb_status pb__audit_origin(struct pb_ws *ws, char out[PB_NOTE_NAME_MAX + 1],
                                struct pb_error *err);

/* ---- statements (statement.c): what an actor signs for one entry ------- */

/* SSHSIG namespaces: approvals and what counts them have their own, so no
 * other signature can be presented as one. */
#define PB_STATEMENT_NS "probity@v1"
#define PB_STATEMENT_NS_APPROVE "probity-approve@v1"

struct json_t; /* jansson's json_t */

/* The statement (canonical JSON, heap in *out) an actor signs for an entry
 * of a signed workspace; the writer and every verifier call this one
 * function:
 *   {"action":A,"actor":U,"case":C?,"details":{...}?,
 *    "log":{"root":"<64 hex>","size":S},"nonce":"<32 hex>","subject":X?,
 *    "type":"probity statement","v":1}
 * case (when > 0), details (may be NULL) and subject (may be NULL) as in the
 * entry; log_size/log_root: the log the statement was made against;
 * nonce_hex: 16 random bytes as 32 lower-case hex digits. PB_EINVAL on a
 * malformed argument. */
enum pb_status pb__statement_text(const char *action, const char *actor, int64_t case_id,
                                  const char *subject, const struct json_t *details,
                                  uint64_t log_size, const uint8_t log_root[32],
                                  const char nonce_hex[33], char **out, struct pb_error *err);
/* The namespace an action's signature must use: PB_STATEMENT_NS_APPROVE for
 * plan.approve, plan.refuse, plan.apply and plan.rollback, else
 * PB_STATEMENT_NS. */
const char *pb__statement_ns(const char *action);
/* The details of a checkpoint's statement (action "log.checkpoint", signed
 * against the log it describes): {"origin","root" (hex),"size"}. NULL when
 * out of memory. */
struct json_t *pb__checkpoint_details(const char *origin, uint64_t size, const uint8_t root[32]);
/* True for the entries the server records about a web session (sign-in,
 * sign-out, refusals, enrolment): they carry no signature. */
bool pb__statement_exempt(const char *action);

/* ---- reading signatures (sigverify.c) --------------------------------------- */

/* What one entry of a signed log says about its signature. */
struct pb__entry_sig {
	char action[65];
	char actor[PB_USER_NAME_MAX + 1];
	bool has_sig;
	char key_fp[64];     /* sig.key_fp: the key the entry names */
	char signer_fp[64];  /* the key inside the SSHSIG (equal to key_fp when it checks) */
	uint64_t log_size;   /* the log the statement was made against */
	uint8_t log_root[32];
	uint8_t nonce[16];
	char nonce_hex[33];
	/* a passkey's entry (key_fp "webauthn:..."): its assertion, decoded
	 * (heap, one block: pb__entry_sig_release), and the challenge it must
	 * carry, SHA-256 of the statement. The signature needs the registered
	 * key, so the caller checks it (pb__entry_webauthn_verify). */
	bool webauthn;
	uint8_t challenge[32];
	struct pb_webauthn_assertion wa;
	void *wa_mem;
};
/* Checks entry `index` of a signed log (text: its canonical JSON) on its own:
 * an exempt action carries no "sig", any other does; its SSHSIG decodes, is
 * by the key the entry names, in the action's namespace, and verifies over
 * the statement rebuilt from the entry; log.size <= index. Left to the
 * caller: the key registered to the actor and valid at index, the root at
 * log.size, the nonce unused. PB_EVERIFY "entry N: why" (out is filled as far
 * as it got); *entry_out (may be NULL) gets the parsed entry, the caller
 * json_decref()s it. Thread-safe. */
enum pb_status pb__entry_sig_check(const char *text, size_t len, uint64_t index,
                                   struct pb__entry_sig *out, struct json_t **entry_out,
                                   struct pb_error *err);
/* The value of the top-level member key of an entry (text: its canonical
 * JSON), as it stands in the text; false when the entry has none (or is
 * not an object). Read without building a tree. */
bool pb__entry_member(const char *text, size_t len, const char *key, struct pb_str *out);
/* Frees what pb__entry_sig_check kept of a passkey's assertion (safe on any
 * checked or zeroed struct, twice too). */
void pb__entry_sig_release(struct pb__entry_sig *s);
/* A passkey-signed entry (s, checked by pb__entry_sig_check) against the
 * key registered for s->key_fp and the origin and RP ID in force at its
 * index: client data type "webauthn.get", challenge SHA-256(statement),
 * origin, not cross-origin, RP ID hash, UP and UV, the signature. The
 * counter goes to *count; the caller compares it with the credential's
 * earlier ones (pb__webauthn_counter_ok). PB_EVERIFY "entry N: why". */
enum pb_status pb__entry_webauthn_verify(const struct pb__entry_sig *s, uint64_t index,
                                         const struct pb_webauthn_key *key, const char *origin,
                                         const char *rp_id, uint32_t *count,
                                         struct pb_error *err);
/* The counter rule: when the last counter seen for a credential or the new
 * one is non-zero, the new one must be larger (a cloned authenticator or a
 * replayed assertion otherwise). */
bool pb__webauthn_counter_ok(uint32_t last, uint32_t now);
/* A user.passkey-add entry (details d, at index) re-checked by a verifier
 * for the origin and RP ID in force there: the registration verifies
 * (challenge not checked: the server's create() challenge is not in the
 * log; UV required), the credential's fingerprint is d.key_fp, its COSE key
 * d.key and d.alg, d.rp_id and d.origin the ones in force. *key gets the key
 * (pb__webauthn_key_release), *count the registration's counter. */
enum pb_status pb__passkey_reg_check(const struct json_t *d, uint64_t index, const char *origin,
                                     const char *rp_id, struct pb_webauthn_key *key,
                                     uint32_t *count, struct pb_error *err);
/* A user.invite as the invitation rules of a user.passkey-add need it. */
struct pb__invite {
	char user[PB_USER_NAME_MAX + 1];
	char token_sha[65];  /* details.token_sha256 */
	int64_t time, ttl_s;
	uint64_t used;       /* the user.passkey-add that used it + 1, or 0 */
};
/* The invitation rules of a user.passkey-add (of user, at time, revealing a
 * token whose hex SHA-256 is token_sha) in a signed log: inv is the
 * user.invite it names (NULL: none before it that checked), last the index
 * + 1 of the last user.invite or user.invite-revoke of user before it. NULL
 * when they hold (same user, same token, not revoked or replaced since,
 * within ttl_s, not used before), else why (may be in buf). */
const char *pb__passkey_invite_why(const struct pb__invite *inv, uint64_t invite_idx,
                                   const char *user, const char *token_sha, int64_t time,
                                   uint64_t last, char buf[160]);
/* Whether the entry checked as s (at index) is signed by a key or passkey
 * of its actor valid there by the log itself: pb__user_key_valid for an
 * OpenSSH key; for a passkey the user.passkey-add that registered it
 * (verified, re-checked, itself validly signed in a signed log), no
 * user.passkey-revoke before, the assertion verified with its key under the
 * web.origin in force at index, and its counter above every earlier one of
 * the credential in the log (sign-ins included). PB_EVERIFY saying why. */
enum pb_status pb__entry_sig_valid(struct pb_ws *ws, const struct pb__entry_sig *s,
                                   uint64_t index, struct pb_error *err);
/* Whether key fp was actor's and valid at entry index by the log itself
 * (never the user_key table, which sits beside it): registered by a
 * user.add or user.key-add entry before it (or at it when index is 0) that
 * verifies and was signed by a key valid at its own position, back to
 * entry 0, and not revoked before it. PB_EVERIFY saying why not. */
enum pb_status pb__user_key_valid(struct pb_ws *ws, const char *actor, const char *fp,
                                  uint64_t index, struct pb_error *err);
/* The last entry before index whose action is one of the SQL list
 * `actions` ("'plan.new', 'plan.edit'") and that the SQL condition `where`
 * selects (NULL: any; it reads the entry's own bytes as
 * json_extract(CAST(data AS TEXT), ...) and may bind ?1 to text, ?2 to num),
 * read only when it verifies (pb__audit_entry_verified) and its own bytes
 * name one of those actions: parsed into *o (NULL: none), its index in *at.
 * The copied action column only finds it, fast; a row kept from being found
 * (by its copied column or its bytes) is what `log check`'s replay catches. */
enum pb_status pb__log_last_entry(struct pb_ws *ws, const char *actions, const char *where,
                                  const char *text, int64_t num, uint64_t index, uint64_t *at,
                                  struct json_t **o, struct pb_error *err);
/* The role of user at entry index by the log itself (never the app_user
 * table): the role of the last user.add or user.role naming them before
 * index, read from that entry's verified bytes ("" when none), and in
 * *disabled the index + 1 of a user.disable of them before index (0: none).
 * The entitlements loader checks approvers with it, and the signature
 * checks the actor of the web.origin in force. */
enum pb_status pb__log_role_at(struct pb_ws *ws, const char *user, uint64_t index,
                               char role[16], uint64_t *disabled, struct pb_error *err);
/* A checkpoint's actor signature (audit_checkpoint.actor_sig, the text of a
 * "sig" as an entry carries it): over the statement of action
 * "log.checkpoint" by actor with pb__checkpoint_details, made against a log
 * no larger than size, by a key valid at size by the log itself
 * (pb__user_key_valid). PB_EVERIFY saying why not. */
/* The same on its own (no registry): the signature and statement of sig (the
 * "sig" object), as pb__entry_sig_check would check an entry at size; out
 * gets what it names (pb__entry_sig_release; a passkey's assertion is left
 * to pb__entry_webauthn_verify). */
enum pb_status pb__checkpoint_sig_parts(const char *actor, const char *origin, uint64_t size,
                                        const uint8_t root[32], const struct json_t *sig,
                                        struct pb__entry_sig *out, struct pb_error *err);
enum pb_status pb__checkpoint_sig_check(struct pb_ws *ws, const char *actor, const char *origin,
                                        uint64_t size, const uint8_t root[32],
                                        const char *sig_json, struct pb_error *err);

/* ---- signing (sign.c) ------------------------------------------------------ */

/* For an entry of a signed workspace whose action is not exempt: has its
 * statement signed as pb_ws_set_signing said (or takes the detached
 * signature given), made against the log as it is (index entries, root
 * cur_root), and checks it as a verifier would (registry, namespace,
 * signature, log, unused nonce, which it records). *sig_out gets the entry's
 * "sig" member, or NULL when the entry carries none. PB_ESTATEMENT in the
 * statement-only flow; PB_EPERM/PB_EVERIFY naming the actor, the key and why
 * otherwise. Inside the caller's transaction. */
enum pb_status pb__sign_entry(struct pb_ws *ws, uint64_t index, const uint8_t cur_root[32],
                              const char *actor, const char *action, int64_t case_id,
                              const char *subject, const struct json_t *details,
                              struct json_t **sig_out, struct pb_error *err);

/* ---- passkeys (sign_webauthn.c, docs/identity.md "Passkeys") -------------- */

/* The registry row of fp (sql selects user, the key, added_idx,
 * revoked_idx, revoke_reason, ... WHERE fp = ?1; what: "key" or
 * "passkey") when it lets actor sign entry index with a statement made
 * against log_size entries: *row on it (the caller reads the key and
 * finalizes). PB_EPERM saying why not (sign.c). */
enum pb_status pb__sign_registry_row(struct pb_ws *ws, const char *sql, const char *what,
                                     const char *fp, const char *actor, uint64_t index,
                                     uint64_t log_size, sqlite3_stmt **row,
                                     struct pb_error *err);
/* The origin declaration in force for entry index: the last "web.origin"
 * entry before it ({"origin","rp_id"}); *decl_idx (may be NULL) gets its
 * index. PB_ESTATE when none is (no passkey can be used yet). */
enum pb_status pb__web_origin_at(struct pb_ws *ws, uint64_t index,
                                 char origin[PB_PASSKEY_ORIGIN_MAX],
                                 char rp_id[PB_PASSKEY_ORIGIN_MAX], uint64_t *decl_idx,
                                 struct pb_error *err);
/* The counter rule: when last or now is non-zero, now must be larger
 * (PB_EVERIFY); then user_passkey.sign_count of fp becomes now. */
enum pb_status pb__passkey_counter(struct pb_ws *ws, const char *fp, uint32_t last, uint32_t now,
                                   struct pb_error *err);
/* An assertion as pb_sign_opts gives it (base64url). */
struct pb__webauthn_parts {
	const char *credential_id, *authenticator_data, *client_data_json, *signature;
};
/* The passkey checks of a passkey-signed entry (sign.c has checked that
 * statement is this write's; it checks the log and nonce): the credential
 * registered to actor and valid at index for a statement against log_size
 * entries (for "user.passkey-add": the one details registers), the origin
 * in force, user verification, the signature over statement, the counter
 * (stored). fp gets the passkey's "webauthn:..." fingerprint and
 * *webauthn_out the "webauthn" member of the entry's "sig". */
enum pb_status pb__sign_webauthn(struct pb_ws *ws, uint64_t index, uint64_t log_size,
                                 const char *actor, const char *action,
                                 const struct json_t *details, const char *statement,
                                 const struct pb__webauthn_parts *a,
                                 char fp[PB_PASSKEY_FP_MAX], struct json_t **webauthn_out,
                                 struct pb_error *err);

/* A passkey sign-in's assertion (web.signin): the credential registered
 * and not revoked (user gets whose it is), answering challenge for the
 * origin in force with user verification, its counter grown (and stored:
 * inside the caller's transaction). fp and *count get the passkey's
 * fingerprint and counter as far as known. PB_EPERM/PB_EVERIFY saying why. */
enum pb_status pb__passkey_signin_check(struct pb_ws *ws, const struct pb__webauthn_parts *a,
                                        const uint8_t *challenge, size_t challenge_len,
                                        char user[PB_USER_NAME_MAX + 1],
                                        char fp[PB_PASSKEY_FP_MAX], uint32_t *count,
                                        struct pb_error *err);

#endif /* PB_AUDIT_H */
