/* sshkey.c - OpenSSH public keys (key lines, wire blobs, fingerprints) and
 * the unencrypted "openssh-key-v1" private key file.
 *
 * Formats: RFC 4253 section 6.6 and RFC 8709 (ssh-ed25519 blobs),
 * OpenSSH's PROTOCOL.u2f (sk-ssh-ed25519@openssh.com: the Ed25519 key
 * followed by the application string), OpenSSH's PROTOCOL.key (the private
 * key file). Only the two Ed25519 types are read; anything else is
 * PB_EFORMAT naming the type found.
 */
#include "ident/ident_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/util.h"

#include "util/banned.h"

#define NAME_ED25519 "ssh-ed25519"
#define NAME_SK_ED25519 "sk-ssh-ed25519@openssh.com"
#define LINE_MAX_ 16384

const char *pb__sshkey_type_name(enum pb_sshkey_type t)
{
	return t == PB_SSHKEY_SK_ED25519 ? NAME_SK_ED25519 : NAME_ED25519;
}

char *pb__ident_printable(const void *p, size_t n, char *out, size_t cap)
{
	const uint8_t *s = p;
	size_t i = 0;
	for (; cap && i < n && i + 1 < cap; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (cap)
		out[i] = 0;
	return out;
}

void pb__sshkey_release(struct pb_sshkey *k)
{
	if (!k)
		return;
	free(k->blob);
	memset(k, 0, sizeof(*k));
}

enum pb_status pb__sshkey_copy(struct pb_sshkey *dst, const struct pb_sshkey *src)
{
	*dst = *src;
	dst->blob = malloc(src->blob_len ? src->blob_len : 1);
	if (!dst->blob) {
		memset(dst, 0, sizeof(*dst));
		return PB_ENOMEM;
	}
	memcpy(dst->blob, src->blob, src->blob_len);
	return PB_OK;
}

enum pb_status pb__sshkey_from_blob(const uint8_t *blob, size_t len, struct pb_sshkey *out,
                                    struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > PB_SSHKEY_BLOB_MAX)
		return pb__err_field(err, PB_ELIMIT, "key", "key blob of %zu bytes is over %d", len,
		                     PB_SSHKEY_BLOB_MAX);
	struct pb__sshr r = pb__sshr_of(blob, len);
	const uint8_t *type;
	size_t type_len;
	if (!pb__sshr_string(&r, &type, &type_len))
		return pb__err_field(err, PB_EFORMAT, "key", "key blob: expected the key type");
	struct pb_sshkey k = { 0 };
	if (type_len == strlen(NAME_ED25519) && !memcmp(type, NAME_ED25519, type_len)) {
		k.type = PB_SSHKEY_ED25519;
	} else if (type_len == strlen(NAME_SK_ED25519) && !memcmp(type, NAME_SK_ED25519, type_len)) {
		k.type = PB_SSHKEY_SK_ED25519;
	} else {
		char shown[48];
		return pb__err_field(err, PB_EFORMAT, "key",
		                     "unsupported key type '%s': expected " NAME_ED25519
		                     " or " NAME_SK_ED25519,
		                     pb__ident_printable(type, type_len, shown, sizeof(shown)));
	}
	if (!pb__sshr_string_fixed(&r, k.pk, 32))
		return pb__err_field(err, PB_EFORMAT, "key",
		                     "key blob: expected a 32-byte Ed25519 public key");
	if (k.type == PB_SSHKEY_SK_ED25519 &&
	    !pb__sshr_cstring(&r, k.application, sizeof(k.application)))
		return pb__err_field(err, PB_EFORMAT, "key",
		                     "key blob: expected the security key's application "
		                     "(text under %d bytes)",
		                     PB_SSHKEY_APP_MAX);
	if (pb__sshr_left(&r))
		return pb__err_field(err, PB_EFORMAT, "key", "key blob: %zu bytes after the key",
		                     pb__sshr_left(&r));
	k.blob = malloc(len);
	if (!k.blob)
		return pb__err(err, PB_ENOMEM, "out of memory");
	memcpy(k.blob, blob, len);
	k.blob_len = len;
	*out = k;
	return PB_OK;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum pb_status pb__sshkey_parse(const char *line, size_t len, struct pb_sshkey *out,
                                char **comment_out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (comment_out)
		*comment_out = NULL;
	if (len > LINE_MAX_)
		return pb__err_field(err, PB_ELIMIT, "key", "key line of %zu bytes is over %d", len,
		                     LINE_MAX_);
	size_t i = 0, n = len;
	while (i < n && blank(line[i]))
		i++;
	while (n > i && blank(line[n - 1]))
		n--;
	size_t t0 = i;
	while (i < n && !blank(line[i]))
		i++;
	size_t t1 = i;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	size_t b0 = i;
	while (i < n && !blank(line[i]))
		i++;
	size_t b1 = i;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (t1 == t0 || b1 == b0)
		return pb__err_field(err, PB_EFORMAT, "key",
		                     "key: expected 'TYPE BASE64 [COMMENT]' (an OpenSSH public key "
		                     "line, as in id_ed25519.pub)");
	char type[48];
	if (t1 - t0 >= sizeof(type) || memchr(line + t0, 0, t1 - t0))
		return pb__err_field(err, PB_EFORMAT, "key", "unsupported key type '%s'",
		                     pb__ident_printable(line + t0, t1 - t0, type, sizeof(type)));
	memcpy(type, line + t0, t1 - t0);
	type[t1 - t0] = 0;
	uint8_t *blob;
	size_t blob_len;
	if (!pb__ssh_b64_decode(line + b0, b1 - b0, PB_SSHKEY_BLOB_MAX, &blob, &blob_len))
		return pb__err_field(err, PB_EFORMAT, "key",
		                     "key: the part after '%s' is not base64 (of at most %d bytes)",
		                     pb__ident_printable(type, strlen(type), type, sizeof(type)),
		                     PB_SSHKEY_BLOB_MAX);
	enum pb_status st = pb__sshkey_from_blob(blob, blob_len, out, err);
	free(blob);
	if (st != PB_OK)
		return st;
	if (strcmp(type, pb__sshkey_type_name(out->type)) != 0) {
		char shown[48];
		pb__err_field(err, PB_EFORMAT, "key", "key: the line says '%s' but the key is %s",
		              pb__ident_printable(type, strlen(type), shown, sizeof(shown)),
		              pb__sshkey_type_name(out->type));
		pb__sshkey_release(out);
		return PB_EFORMAT;
	}
	if (comment_out && i < n) {
		*comment_out = pb__strndup(line + i, n - i);
		if (!*comment_out) {
			pb__sshkey_release(out);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
	}
	return PB_OK;
}

void pb__sshkey_fingerprint(const struct pb_sshkey *k, char out[PB_SSHKEY_FP_MAX])
{
	uint8_t h[32];
	pb__sha256(k->blob, k->blob_len, h);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, PB_SSHKEY_FP_MAX - 7, h, sizeof(h),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

char *pb__sshkey_line(const struct pb_sshkey *k)
{
	char *b64 = pb__ssh_b64_encode(k->blob, k->blob_len, true);
	if (!b64)
		return NULL;
	const char *type = pb__sshkey_type_name(k->type);
	size_t n = strlen(type) + 1 + strlen(b64) + 1;
	char *line = malloc(n);
	if (line)
		pb__snprintf(line, n, "%s %s", type, b64);
	free(b64);
	return line;
}

bool pb__sshkey_equal(const struct pb_sshkey *a, const struct pb_sshkey *b)
{
	return a->blob_len == b->blob_len && a->blob_len &&
	       sodium_memcmp(a->blob, b->blob, a->blob_len) == 0;
}

/* ---- the private key file (PROTOCOL.key) ------------------------------- */

#define BEGIN_KEY "-----BEGIN OPENSSH PRIVATE KEY-----"
#define END_KEY "-----END OPENSSH PRIVATE KEY-----"
#define KEY_MAGIC "openssh-key-v1" /* followed by a NUL */

/* The private section: checkints, the key, the comment, padding 1, 2, 3... */
static enum pb_status parse_private(struct pb__sshr *r, const char *name,
                                    const struct pb_sshkey *pub, uint8_t sk[64],
                                    struct pb_error *err)
{
	uint32_t c1, c2;
	if (!pb__sshr_u32(r, &c1) || !pb__sshr_u32(r, &c2))
		return pb__err_field(err, PB_EFORMAT, "identity", "'%s': private section too short",
		                     name);
	if (c1 != c2)
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s': check numbers differ (a damaged or encrypted key)", name);
	const uint8_t *type;
	size_t type_len;
	if (!pb__sshr_string(r, &type, &type_len))
		return pb__err_field(err, PB_EFORMAT, "identity", "'%s': expected the key type", name);
	if (type_len == strlen(NAME_SK_ED25519) && !memcmp(type, NAME_SK_ED25519, type_len))
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s' is a security key handle: it signs only with its "
		                     "authenticator; load it into ssh-agent (ssh-add) instead",
		                     name);
	if (type_len != strlen(NAME_ED25519) || memcmp(type, NAME_ED25519, type_len) != 0) {
		char shown[48];
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s': unsupported key type '%s': expected " NAME_ED25519, name,
		                     pb__ident_printable(type, type_len, shown, sizeof(shown)));
	}
	uint8_t pk[32], seed_pk[32];
	const uint8_t *comment;
	size_t comment_len;
	if (!pb__sshr_string_fixed(r, pk, 32) || !pb__sshr_string_fixed(r, sk, 64) ||
	    !pb__sshr_string(r, &comment, &comment_len))
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s': expected a 32-byte public key, a 64-byte secret key and "
		                     "a comment",
		                     name);
	for (unsigned pad = 1; pb__sshr_left(r); pad++) {
		uint8_t b;
		if (!pb__sshr_u8(r, &b) || b != pad)
			return pb__err_field(err, PB_EFORMAT, "identity", "'%s': bad padding", name);
	}
	/* The file holds the public key three times (outer blob, private
	 * section, secret key's second half) and the seed implies it: all four
	 * must agree, or this is not the key it claims to be. */
	uint8_t derived[32], sk2[64];
	crypto_sign_seed_keypair(derived, sk2, sk);
	sodium_memzero(sk2, sizeof(sk2));
	memcpy(seed_pk, sk + 32, 32);
	if (memcmp(pk, pub->pk, 32) != 0 || memcmp(seed_pk, pk, 32) != 0 ||
	    memcmp(derived, pk, 32) != 0) {
		sodium_memzero(sk, 64);
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s': the private key does not match its public key", name);
	}
	return PB_OK;
}

enum pb_status pb__sshkey_private_parse(const char *text, size_t len, const char *name,
                                        struct pb_sshkey *pub, uint8_t sk[64],
                                        struct pb_error *err)
{
	memset(pub, 0, sizeof(*pub));
	if (len > PB_SSHKEY_FILE_MAX)
		return pb__err_field(err, PB_ELIMIT, "identity", "'%s' is over %d bytes", name,
		                     PB_SSHKEY_FILE_MAX);
	const char *begin = memmem(text, len, BEGIN_KEY, strlen(BEGIN_KEY));
	if (!begin)
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s' is not an OpenSSH private key (no '" BEGIN_KEY "' line)",
		                     name);
	const char *body = begin + strlen(BEGIN_KEY);
	const char *end = memmem(body, (size_t)(text + len - body), END_KEY, strlen(END_KEY));
	if (!end)
		return pb__err_field(err, PB_EFORMAT, "identity",
		                     "'%s': no '" END_KEY "' line (a truncated key)", name);
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	enum pb_status st = PB_EFORMAT;
	if (!pb__ssh_b64_decode(body, (size_t)(end - body), PB_SSHKEY_FILE_MAX, &bin, &bin_len)) {
		pb__err_field(err, st, "identity", "'%s': the key is not base64", name);
		goto out;
	}
	struct pb__sshr r = pb__sshr_of(bin, bin_len);
	const uint8_t *magic, *pubblob, *priv, *p;
	size_t pub_len, priv_len, n;
	uint32_t nkeys;
	if (!pb__sshr_raw(&r, sizeof(KEY_MAGIC), &magic) ||
	    memcmp(magic, KEY_MAGIC, sizeof(KEY_MAGIC)) != 0) {
		pb__err_field(err, st, "identity", "'%s': expected '" KEY_MAGIC "'", name);
		goto out;
	}
	if (!pb__sshr_string(&r, &p, &n)) {
		pb__err_field(err, st, "identity", "'%s': expected the cipher name", name);
		goto out;
	}
	if (n != 4 || memcmp(p, "none", 4) != 0) {
		pb__err_field(err, st, "identity",
		              "'%s' is encrypted with a passphrase: probity reads only "
		              "unencrypted key files; load it into ssh-agent (ssh-add) instead",
		              name);
		goto out;
	}
	if (!pb__sshr_string(&r, &p, &n) || !pb__sshr_string(&r, &p, &n) ||
	    !pb__sshr_u32(&r, &nkeys)) {
		pb__err_field(err, st, "identity", "'%s': expected the kdf and the key count", name);
		goto out;
	}
	if (nkeys != 1) {
		pb__err_field(err, st, "identity", "'%s' holds %u keys: expected one", name, nkeys);
		goto out;
	}
	if (!pb__sshr_string(&r, &pubblob, &pub_len) || !pb__sshr_string(&r, &priv, &priv_len) ||
	    pb__sshr_left(&r)) {
		pb__err_field(err, st, "identity", "'%s': expected the public and private keys", name);
		goto out;
	}
	if ((st = pb__sshkey_from_blob(pubblob, pub_len, pub, err)) != PB_OK) {
		if (err) { /* the same error, about this file */
			pb__err_prefix(err, "'%s'", name);
			pb__strlcpy(err->field, "identity", sizeof(err->field));
		}
		goto out;
	}
	struct pb__sshr pr = pb__sshr_of(priv, priv_len);
	if ((st = parse_private(&pr, name, pub, sk, err)) != PB_OK)
		pb__sshkey_release(pub);
out:
	if (bin) {
		sodium_memzero(bin, bin_len);
		free(bin);
	}
	return st;
}
