/* ident_internal.h - what the files of lib/ident share and nobody else
 * uses: the SSH wire encoding (RFC 4251 section 5; sshbuf.c), the private
 * key file (sshkey.c) and SSHSIG's signed data and blob (sshsig.c), which
 * the signers (signer.c, agent.c) build on.
 */
#ifndef PB_IDENT_INTERNAL_H
#define PB_IDENT_INTERNAL_H

#include "ident/ident.h"

/* A reader: every get checks the remaining length first and fails (false)
 * rather than read past the end; views point into the reader's bytes. */
struct pb__sshr {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline struct pb__sshr pb__sshr_of(const void *p, size_t len)
{
	struct pb__sshr r = { (const uint8_t *)p, len, 0 };
	return r;
}
static inline size_t pb__sshr_left(const struct pb__sshr *r)
{
	return r->len - r->off;
}
bool pb__sshr_u8(struct pb__sshr *r, uint8_t *v);
bool pb__sshr_u32(struct pb__sshr *r, uint32_t *v);
/* n raw bytes. */
bool pb__sshr_raw(struct pb__sshr *r, size_t n, const uint8_t **p);
/* A string: uint32 length, then that many bytes (a view). */
bool pb__sshr_string(struct pb__sshr *r, const uint8_t **p, size_t *n);
/* A string that must equal the C string want. */
bool pb__sshr_string_eq(struct pb__sshr *r, const char *want);
/* A string of exactly n bytes copied into out. */
bool pb__sshr_string_fixed(struct pb__sshr *r, uint8_t *out, size_t n);
/* A string that holds text without NUL bytes, copied into out (cap bytes,
 * NUL-terminated); false when it does not fit. */
bool pb__sshr_cstring(struct pb__sshr *r, char *out, size_t cap);

/* Writers on a capped pb_buf (PB_ELIMIT / PB_ENOMEM). */
enum pb_status pb__sshw_u8(struct pb_buf *b, uint8_t v);
enum pb_status pb__sshw_u32(struct pb_buf *b, uint32_t v);
enum pb_status pb__sshw_string(struct pb_buf *b, const void *p, size_t n);
enum pb_status pb__sshw_cstring(struct pb_buf *b, const char *s);

/* Decodes standard padded base64, ignoring blanks and line ends, into a new
 * heap buffer of at most cap bytes. False on a bad character or length, a
 * result over cap, or no memory. */
bool pb__ssh_b64_decode(const char *s, size_t n, size_t cap, uint8_t **out, size_t *out_len);
/* Standard base64 of p[0..n) into a new heap string, padded or not; NULL
 * when out of memory. */
char *pb__ssh_b64_encode(const void *p, size_t n, bool pad);

/* ---- keys (sshkey.c) ---------------------------------------------------- */

#define PB_SSHKEY_BLOB_MAX 1024   /* a public key blob: ours are under 350 bytes */
#define PB_SSHKEY_FILE_MAX 65536  /* a private key file */

/* The type's name on the wire ("ssh-ed25519", ...). */
const char *pb__sshkey_type_name(enum pb_sshkey_type t);
/* Copies src into dst as a deep copy (PB_ENOMEM). */
enum pb_status pb__sshkey_copy(struct pb_sshkey *dst, const struct pb_sshkey *src);
/* Parses an unencrypted "openssh-key-v1" private key file's text (name is
 * for messages) holding one ssh-ed25519 key: its public half into *pub, the
 * libsodium secret key (seed || public key) into sk. PB_EFORMAT for an
 * encrypted file or a security key (neither can be used without a
 * passphrase or an authenticator; the message says to use ssh-agent). */
enum pb_status pb__sshkey_private_parse(const char *text, size_t len, const char *name,
                                        struct pb_sshkey *pub, uint8_t sk[64],
                                        struct pb_error *err);
/* Copies at most cap - 1 bytes of p[0..n) into out for a message, with
 * every byte outside printable ASCII as '?'. Returns out. */
char *pb__ident_printable(const void *p, size_t n, char *out, size_t cap);

/* ---- SSHSIG (sshsig.c) -------------------------------------------------- */

#define PB_SSHSIG_MAX 16384  /* a binary SSHSIG blob: ours are about 200 bytes */

/* Appends the data an SSHSIG signature is made over (PROTOCOL.sshsig:
 * "SSHSIG", string namespace, string reserved, string hash_algorithm,
 * string H(message)) to b. hash_alg is "sha512" or "sha256". */
enum pb_status pb__sshsig_signed_data(struct pb_buf *b, const char *ns, const char *hash_alg,
                                      const void *msg, size_t msg_len);
/* Builds the binary SSHSIG blob around a signature blob (string type,
 * string signature [, flags, counter]) into a new heap buffer. */
enum pb_status pb__sshsig_blob(const struct pb_sshkey *key, const char *ns, const char *hash_alg,
                               const uint8_t *sig, size_t sig_len, uint8_t **bin,
                               size_t *bin_len, struct pb_error *err);
/* Checks a namespace a caller wants to sign in: 1 to 127 printable bytes. */
enum pb_status pb__sshsig_ns_check(const char *ns, struct pb_error *err);

/* ---- signers (signer.c, agent.c) --------------------------------------- */

enum pb__signer_kind { PB__SIGNER_FILE = 1, PB__SIGNER_AGENT = 2 };

struct pb_sshsigner {
	enum pb__signer_kind kind;
	struct pb_sshkey *keys; /* owned array */
	size_t nkeys;
	uint8_t sk[64];         /* file: the secret key (wiped on close) */
	int fd;                 /* agent: the connection, or -1 */
	char *path;             /* agent: the socket's path */
	int timeout_s;          /* agent: per answer (tests shorten it) */
};

/* The agent's half of the signer calls (agent.c). */
enum pb_status pb__agent_keys(struct pb_sshsigner *s, struct pb_error *err);
enum pb_status pb__agent_sign(struct pb_sshsigner *s, const struct pb_sshkey *key,
                              const uint8_t *data, size_t len, uint8_t **sig, size_t *sig_len,
                              struct pb_error *err);
void pb__agent_close(struct pb_sshsigner *s);

#endif
