/* sshsig.c - SSHSIG signatures (OpenSSH's PROTOCOL.sshsig): the binary blob,
 * its armour, the signed data and verification.
 *
 * Blob: "SSHSIG", uint32 version 1, string publickey, string namespace,
 * string reserved, string hash_algorithm, string signature. The signature
 * is made over "SSHSIG", string namespace, string reserved, string
 * hash_algorithm, string H(message). For sk-ssh-ed25519@openssh.com
 * (PROTOCOL.u2f) the signature blob also carries a flags byte and a
 * counter, and the Ed25519 signature is over SHA256(application) || flags
 * || uint32 counter || SHA256(signed data); user presence (flags & 0x01) is
 * required.
 */
#include "ident/ident_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/util.h"

#include "util/banned.h"

#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define BEGIN_SIG "-----BEGIN SSH SIGNATURE-----"
#define END_SIG "-----END SSH SIGNATURE-----"
#define SK_USER_PRESENT 0x01

void pb__sshsig_release(struct pb_sshsig *s)
{
	if (!s)
		return;
	pb__sshkey_release(&s->key);
	free(s->sig);
	memset(s, 0, sizeof(*s));
}

enum pb_status pb__sshsig_decode(const uint8_t *bin, size_t len, struct pb_sshsig *out,
                                 struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len > PB_SSHSIG_MAX)
		return pb__err_field(err, PB_ELIMIT, "signature",
		                     "signature of %zu bytes is over %d", len, PB_SSHSIG_MAX);
	struct pb__sshr r = pb__sshr_of(bin, len);
	const uint8_t *p, *keyblob, *sig;
	size_t key_len, sig_len, n;
	uint32_t version;
	if (!pb__sshr_raw(&r, MAGIC_LEN, &p) || memcmp(p, MAGIC, MAGIC_LEN) != 0)
		return pb__err_field(err, PB_EFORMAT, "signature",
		                     "signature: expected the magic 'SSHSIG'");
	if (!pb__sshr_u32(&r, &version) || version != 1)
		return pb__err_field(err, PB_EFORMAT, "signature",
		                     "signature: expected version 1");
	if (!pb__sshr_string(&r, &keyblob, &key_len))
		return pb__err_field(err, PB_EFORMAT, "signature",
		                     "signature: expected the public key");
	struct pb_sshsig s = { 0 };
	enum pb_status st = pb__sshkey_from_blob(keyblob, key_len, &s.key, err);
	if (st != PB_OK) {
		pb__err_prefix(err, "signature");
		if (err)
			pb__strlcpy(err->field, "signature", sizeof(err->field));
		return st;
	}
	st = PB_EFORMAT;
	if (!pb__sshr_cstring(&r, s.ns, sizeof(s.ns))) {
		pb__err_field(err, st, "signature",
		              "signature: expected the namespace (text under %zu bytes)",
		              sizeof(s.ns));
		goto fail;
	}
	if (!pb__sshr_string(&r, &p, &n)) { /* reserved: ignored, as OpenSSH does */
		pb__err_field(err, st, "signature", "signature: expected the reserved field");
		goto fail;
	}
	if (!pb__sshr_cstring(&r, s.hash_alg, sizeof(s.hash_alg)) ||
	    (strcmp(s.hash_alg, "sha512") != 0 && strcmp(s.hash_alg, "sha256") != 0)) {
		pb__err_field(err, st, "signature",
		              "signature: expected hash algorithm 'sha512' or 'sha256'");
		goto fail;
	}
	if (!pb__sshr_string(&r, &sig, &sig_len) || sig_len == 0) {
		pb__err_field(err, st, "signature", "signature: expected the signature");
		goto fail;
	}
	if (pb__sshr_left(&r)) {
		pb__err_field(err, st, "signature", "signature: %zu bytes after the signature",
		              pb__sshr_left(&r));
		goto fail;
	}
	s.sig = malloc(sig_len);
	if (!s.sig) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(s.sig, sig, sig_len);
	s.sig_len = sig_len;
	*out = s;
	return PB_OK;
fail:
	pb__sshsig_release(&s);
	return st;
}

enum pb_status pb__sshsig_parse(const char *armoured, size_t len, struct pb_sshsig *out,
                                uint8_t **bin_out, size_t *bin_len, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (bin_out)
		*bin_out = NULL;
	if (bin_len)
		*bin_len = 0;
	/* base64 is 4/3 of the blob, plus line ends and the two markers */
	if (len > PB_SSHSIG_MAX * 2)
		return pb__err_field(err, PB_ELIMIT, "signature",
		                     "signature text of %zu bytes is over %d", len, PB_SSHSIG_MAX * 2);
	size_t i = 0;
	while (i < len && (armoured[i] == ' ' || armoured[i] == '\t' || armoured[i] == '\r' ||
	                   armoured[i] == '\n'))
		i++;
	if (len - i < strlen(BEGIN_SIG) || memcmp(armoured + i, BEGIN_SIG, strlen(BEGIN_SIG)) != 0)
		return pb__err_field(err, PB_EFORMAT, "signature",
		                     "signature: expected '" BEGIN_SIG "'");
	const char *body = armoured + i + strlen(BEGIN_SIG);
	size_t body_max = (size_t)(armoured + len - body);
	const char *end = memmem(body, body_max, END_SIG, strlen(END_SIG));
	if (!end)
		return pb__err_field(err, PB_EFORMAT, "signature",
		                     "signature: expected '" END_SIG "' (a truncated signature)");
	for (const char *q = end + strlen(END_SIG); q < armoured + len; q++)
		if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
			return pb__err_field(err, PB_EFORMAT, "signature",
			                     "signature: text after '" END_SIG "'");
	uint8_t *bin;
	size_t n;
	if (!pb__ssh_b64_decode(body, (size_t)(end - body), PB_SSHSIG_MAX, &bin, &n))
		return pb__err_field(err, PB_EFORMAT, "signature",
		                     "signature: the armoured text is not base64");
	enum pb_status st = pb__sshsig_decode(bin, n, out, err);
	if (st == PB_OK && bin_out) {
		*bin_out = bin;
		if (bin_len)
			*bin_len = n;
	} else {
		free(bin);
	}
	return st;
}

char *pb__sshsig_armour(const uint8_t *bin, size_t len)
{
	char *b64 = pb__ssh_b64_encode(bin, len, true);
	if (!b64)
		return NULL;
	size_t n = strlen(b64);
	size_t cap = strlen(BEGIN_SIG) + 1 + n + n / 70 + 2 + strlen(END_SIG) + 2;
	struct pb_buf b;
	pb_buf_init(&b, cap + 1);
	enum pb_status st = pb_buf_adds(&b, BEGIN_SIG "\n");
	for (size_t i = 0; st == PB_OK && i < n; i += 70) {
		st = pb_buf_add(&b, b64 + i, n - i < 70 ? n - i : 70);
		if (st == PB_OK)
			st = pb_buf_addc(&b, '\n');
	}
	if (st == PB_OK)
		st = pb_buf_adds(&b, END_SIG "\n");
	free(b64);
	if (st != PB_OK) {
		pb_buf_release(&b);
		return NULL;
	}
	return b.data;
}

enum pb_status pb__sshsig_signed_data(struct pb_buf *b, const char *ns, const char *hash_alg,
                                      const void *msg, size_t msg_len)
{
	uint8_t h[crypto_hash_sha512_BYTES];
	size_t hn;
	if (strcmp(hash_alg, "sha512") == 0) {
		crypto_hash_sha512(h, msg, msg_len);
		hn = crypto_hash_sha512_BYTES;
	} else {
		crypto_hash_sha256(h, msg, msg_len);
		hn = crypto_hash_sha256_BYTES;
	}
	enum pb_status st = pb_buf_add(b, MAGIC, MAGIC_LEN);
	if (st == PB_OK)
		st = pb__sshw_cstring(b, ns);
	if (st == PB_OK)
		st = pb__sshw_string(b, "", 0);
	if (st == PB_OK)
		st = pb__sshw_cstring(b, hash_alg);
	if (st == PB_OK)
		st = pb__sshw_string(b, h, hn);
	return st;
}

enum pb_status pb__sshsig_blob(const struct pb_sshkey *key, const char *ns, const char *hash_alg,
                               const uint8_t *sig, size_t sig_len, uint8_t **bin,
                               size_t *bin_len, struct pb_error *err)
{
	struct pb_buf b;
	pb_buf_init(&b, PB_SSHSIG_MAX);
	enum pb_status st = pb_buf_add(&b, MAGIC, MAGIC_LEN);
	if (st == PB_OK)
		st = pb__sshw_u32(&b, 1);
	if (st == PB_OK)
		st = pb__sshw_string(&b, key->blob, key->blob_len);
	if (st == PB_OK)
		st = pb__sshw_cstring(&b, ns);
	if (st == PB_OK)
		st = pb__sshw_string(&b, "", 0);
	if (st == PB_OK)
		st = pb__sshw_cstring(&b, hash_alg);
	if (st == PB_OK)
		st = pb__sshw_string(&b, sig, sig_len);
	if (st != PB_OK) {
		pb_buf_release(&b);
		return pb__err(err, st, "cannot build the signature: %s",
		               st == PB_ELIMIT ? "too long" : "out of memory");
	}
	*bin = (uint8_t *)b.data;
	*bin_len = b.len;
	return PB_OK;
}

enum pb_status pb__sshsig_ns_check(const char *ns, struct pb_error *err)
{
	size_t n = ns ? strlen(ns) : 0;
	bool ok = n > 0 && n < sizeof(((struct pb_sshsig *)0)->ns);
	for (size_t i = 0; ok && i < n; i++)
		ok = ns[i] > 0x20 && ns[i] < 0x7f;
	if (!ok)
		return pb__err_field(err, PB_EINVAL, "ns",
		                     "'ns' must be 1 to 127 printable characters without blanks");
	return PB_OK;
}

enum pb_status pb__sshsig_verify(const struct pb_sshsig *s, const struct pb_sshkey *key,
                                 const char *ns, const void *msg, size_t msg_len,
                                 struct pb_error *err)
{
	char fp[PB_SSHKEY_FP_MAX], want_fp[PB_SSHKEY_FP_MAX];
	if (key && !pb__sshkey_equal(&s->key, key)) {
		pb__sshkey_fingerprint(&s->key, fp);
		pb__sshkey_fingerprint(key, want_fp);
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "signature is by another key (%s, expected %s)", fp, want_fp);
	}
	if (strcmp(s->ns, ns) != 0) {
		char shown[sizeof(s->ns)];
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "signature is for namespace '%s', expected '%s'",
		                     pb__ident_printable(s->ns, strlen(s->ns), shown, sizeof(shown)),
		                     ns);
	}
	/* the signature blob: string type, string signature [, flags, counter] */
	struct pb__sshr r = pb__sshr_of(s->sig, s->sig_len);
	uint8_t sig[crypto_sign_BYTES], flags = 0;
	uint32_t counter = 0;
	bool sk = s->key.type == PB_SSHKEY_SK_ED25519;
	if (!pb__sshr_string_eq(&r, pb__sshkey_type_name(s->key.type)))
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "signature: expected a %s signature (its key's type)",
		                     pb__sshkey_type_name(s->key.type));
	if (!pb__sshr_string_fixed(&r, sig, sizeof(sig)) ||
	    (sk && (!pb__sshr_u8(&r, &flags) || !pb__sshr_u32(&r, &counter))) ||
	    pb__sshr_left(&r))
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "signature: expected a 64-byte Ed25519 signature%s",
		                     sk ? ", flags and a counter" : "");
	struct pb_buf data;
	pb_buf_init(&data, 4096);
	if (pb__sshsig_signed_data(&data, s->ns, s->hash_alg, msg, msg_len) != PB_OK) {
		pb_buf_release(&data);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	int bad;
	if (sk) {
		uint8_t m[32 + 1 + 4 + 32];
		crypto_hash_sha256(m, (const uint8_t *)s->key.application,
		                   strlen(s->key.application));
		m[32] = flags;
		m[33] = (uint8_t)(counter >> 24);
		m[34] = (uint8_t)(counter >> 16);
		m[35] = (uint8_t)(counter >> 8);
		m[36] = (uint8_t)counter;
		crypto_hash_sha256(m + 37, (const uint8_t *)data.data, data.len);
		bad = crypto_sign_verify_detached(sig, m, sizeof(m), s->key.pk);
	} else {
		bad = crypto_sign_verify_detached(sig, (const uint8_t *)data.data, data.len, s->key.pk);
	}
	pb_buf_release(&data);
	if (bad) {
		pb__sshkey_fingerprint(&s->key, fp);
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "bad signature: it does not verify with key %s", fp);
	}
	if (sk && !(flags & SK_USER_PRESENT)) {
		pb__sshkey_fingerprint(&s->key, fp);
		return pb__err_field(err, PB_EVERIFY, "signature",
		                     "signature by security key %s has no user presence "
		                     "(nobody touched the key)",
		                     fp);
	}
	return PB_OK;
}
