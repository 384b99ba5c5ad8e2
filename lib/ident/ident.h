/* ident.h - who a person is: OpenSSH public keys and SSHSIG signatures.
 *
 * Every state change of a signed workspace carries an SSHSIG signature
 * (OpenSSH's PROTOCOL.sshsig) by its actor's own key over a canonical
 * statement (log/audit.h says what is in it). This area reads and writes
 * the OpenSSH formats involved and nothing else: it knows keys and bytes,
 * not users, roles or the log.
 *
 * Keys: "ssh-ed25519" and "sk-ssh-ed25519@openssh.com" (a FIDO security
 * key; its signatures carry flags and a counter, and user presence is
 * required). Signatures use SHA-512 (what ssh-keygen -Y sign makes) or
 * SHA-256 as the message hash.
 *
 * Signers: an ssh-agent (the SSH_AUTH_SOCK protocol,
 * draft-miller-ssh-agent: request identities, sign request), or an
 * unencrypted OpenSSH private key file ("openssh-key-v1", as ssh-keygen
 * writes with -N ''). Ed25519 itself is libsodium's.
 *
 * Everything here parses outside input (a key pasted by an admin, a .sig
 * file from a reviewer's laptop, an agent's answer): bounded, never trusts
 * a length, returns PB_EFORMAT with what was expected.
 *
 * Where the formats come from (all in openssh-portable unless said):
 * PROTOCOL.sshsig (the SSHSIG blob, its armour and signed data), RFC 4251
 * section 5 (the wire encoding), RFC 8709 (ssh-ed25519 keys and
 * signatures), PROTOCOL.u2f (sk-ssh-ed25519@openssh.com keys and the
 * flags/counter signature), PROTOCOL.key (the openssh-key-v1 private key
 * file), draft-miller-ssh-agent (the agent protocol). Checked against
 * Debian's ssh-keygen 9.2 in tests/unit/test_ident.c and
 * tests/e2e/scripts/ident-interop.sh.
 *
 * Errors name the argument they are about in err->field: "key" (a key
 * line or blob), "signature", "ns", "identity" (a private key file),
 * "agent" (the agent's socket or answers).
 */
#ifndef PB_IDENT_H
#define PB_IDENT_H

#include "probity.h"

#include <stddef.h>
#include <stdint.h>

enum pb_sshkey_type {
	PB_SSHKEY_ED25519 = 1,    /* "ssh-ed25519" */
	PB_SSHKEY_SK_ED25519 = 2, /* "sk-ssh-ed25519@openssh.com" */
};

#define PB_SSHKEY_FP_MAX 60  /* "SHA256:" + 43 base64 characters + NUL, rounded */
#define PB_SSHKEY_APP_MAX 256

/* A public key. blob is the SSH wire encoding (what fingerprints and
 * SSHSIG's publickey field hold); owned, release with pb__sshkey_release. */
struct pb_sshkey {
	enum pb_sshkey_type type;
	uint8_t pk[32];                      /* the Ed25519 public key */
	char application[PB_SSHKEY_APP_MAX]; /* sk keys: e.g. "ssh:"; else "" */
	uint8_t *blob;
	size_t blob_len;
};
void pb__sshkey_release(struct pb_sshkey *k);

/* Parses one authorized_keys-style line: "TYPE BASE64 [COMMENT]" (leading
 * and trailing blanks ignored, no options). *comment_out (may be NULL) gets
 * a heap copy of the comment or NULL. The type word must agree with the
 * blob's own. PB_EFORMAT names what was expected; field "key". */
enum pb_status pb__sshkey_parse(const char *line, size_t len, struct pb_sshkey *out,
                                char **comment_out, struct pb_error *err);
/* The same from a wire blob. */
enum pb_status pb__sshkey_from_blob(const uint8_t *blob, size_t len, struct pb_sshkey *out,
                                    struct pb_error *err);
/* "SHA256:" + unpadded base64 of SHA-256(blob), as ssh-keygen -l prints. */
void pb__sshkey_fingerprint(const struct pb_sshkey *k, char out[PB_SSHKEY_FP_MAX]);
/* "TYPE BASE64" (no comment), heap; NULL when out of memory. */
char *pb__sshkey_line(const struct pb_sshkey *k);
/* True when a and b are the same key (same blob). */
bool pb__sshkey_equal(const struct pb_sshkey *a, const struct pb_sshkey *b);

/* Is s[0..n) made only of A-Z, a-z, 0-9 and the bytes of extra ("+/=" for
 * base64, "-_" for base64url, blanks where a format allows them)? libsodium
 * 1.0.18 decodes a byte with its high bit set as the ASCII character below
 * it (0xc1 as 'A'): every base64 decoder checks this first, so a key or a
 * signature has one spelling. */
bool pb__b64_alphabet(const char *s, size_t n, const char *extra);

/* ---- SSHSIG ------------------------------------------------------------ */

/* A decoded SSHSIG blob (the binary inside the armour). Owned. */
struct pb_sshsig {
	struct pb_sshkey key;  /* the signer's public key */
	char ns[128];          /* namespace */
	char hash_alg[8];      /* "sha512" or "sha256" */
	uint8_t *sig;          /* the SSH signature blob: string type, string sig
	                          [, byte flags, uint32 counter for sk] */
	size_t sig_len;
};
void pb__sshsig_release(struct pb_sshsig *s);

/* Decodes the binary SSHSIG blob (magic "SSHSIG", version 1, ...). */
enum pb_status pb__sshsig_decode(const uint8_t *bin, size_t len, struct pb_sshsig *out,
                                 struct pb_error *err);
/* Decodes an armoured signature ("-----BEGIN SSH SIGNATURE-----" ...), as
 * ssh-keygen -Y sign writes; the binary (heap) goes to *bin_out (may be NULL)
 * so the caller can store it. */
enum pb_status pb__sshsig_parse(const char *armoured, size_t len, struct pb_sshsig *out,
                                uint8_t **bin_out, size_t *bin_len, struct pb_error *err);
/* Armours a binary SSHSIG blob (heap text, lines of 70 like ssh-keygen). */
char *pb__sshsig_armour(const uint8_t *bin, size_t len);

/* Checks that s is a valid signature of msg in namespace ns by key (when key
 * is not NULL, s's own key must equal it). sk keys: the user-presence flag
 * must be set. PB_EVERIFY with the reason (wrong namespace, other key, bad
 * signature, no user presence) otherwise. */
enum pb_status pb__sshsig_verify(const struct pb_sshsig *s, const struct pb_sshkey *key,
                                 const char *ns, const void *msg, size_t msg_len,
                                 struct pb_error *err);

/* ---- signers -------------------------------------------------------------- */

/* Something that signs with private keys: an agent or a key file. */
struct pb_sshsigner;

/* The agent at socket path (the front passes $SSH_AUTH_SOCK). */
enum pb_status pb__sshsigner_agent(const char *socket_path, struct pb_sshsigner **out,
                                   struct pb_error *err);
/* An unencrypted OpenSSH private key file (PB_EFORMAT for an encrypted one,
 * saying so; PB_EPERM when it is readable by group or others, as ssh does). */
enum pb_status pb__sshsigner_file(const char *path, struct pb_sshsigner **out,
                                  struct pb_error *err);
void pb__sshsigner_close(struct pb_sshsigner *s);

/* The public keys it can sign with (an agent's identities of the two
 * supported types; a file's one key). *keys is an array owned by s, valid
 * until the next call or close. */
enum pb_status pb__sshsigner_keys(struct pb_sshsigner *s, const struct pb_sshkey **keys,
                                  size_t *n, struct pb_error *err);

/* Signs msg in namespace ns with key (one of pb__sshsigner_keys) and
 * returns the binary SSHSIG blob (heap) in *bin and *bin_len, hash sha512. */
enum pb_status pb__sshsigner_sign(struct pb_sshsigner *s, const struct pb_sshkey *key,
                                  const char *ns, const void *msg, size_t msg_len, uint8_t **bin,
                                  size_t *bin_len, struct pb_error *err);

#endif
