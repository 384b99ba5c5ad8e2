/* signer.c - the two signers behind one interface: an unencrypted OpenSSH
 * key file (signed here with libsodium) and an ssh-agent (agent.c).
 *
 * Both sign the same SSHSIG signed data; the agent's answer is verified
 * before it is returned, so a confused agent gives an error here rather than
 * a bad entry in a log (bench/ident: a verify costs about three signs, so
 * the key file, whose key was checked when read, skips it).
 */
#include "ident/ident_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/util.h"

#include "util/banned.h"

enum pb_status pb__sshsigner_file(const char *path, struct pb_sshsigner **out,
                                  struct pb_error *err)
{
	*out = NULL;
	int fd;
	uint64_t size;
	const char *what = NULL;
	int e = pb__open_regular(path, &fd, &size, &what);
	if (e == -1)
		return pb__err_field(err, PB_EINVAL, "identity", "cannot use '%s': it is %s", path,
		                     what);
	if (e != 0)
		return pb__err_field(err, pb__errno_status(e), "identity", "cannot open '%s': %s",
		                     path, pb__errno_text(e));
	struct stat stt;
	if (fstat(fd, &stt) != 0) {
		e = errno;
		close(fd);
		return pb__err_field(err, pb__errno_status(e), "identity", "cannot open '%s': %s",
		                     path, pb__errno_text(e));
	}
	if (stt.st_mode & 077) {
		close(fd);
		return pb__err_field(err, PB_EPERM, "identity",
		                     "private key '%s' is readable by others (mode %04o): "
		                     "chmod 600 it, as ssh requires",
		                     path, (unsigned)(stt.st_mode & 07777));
	}
	if (size > PB_SSHKEY_FILE_MAX) {
		close(fd);
		return pb__err_field(err, PB_ELIMIT, "identity", "'%s' is over %d bytes", path,
		                     PB_SSHKEY_FILE_MAX);
	}
	char *text = malloc(PB_SSHKEY_FILE_MAX + 1);
	struct pb_sshsigner *s = calloc(1, sizeof(*s));
	enum pb_status st = PB_OK;
	size_t len = 0;
	if (!text || !s) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	while (len < PB_SSHKEY_FILE_MAX + 1) {
		ssize_t got = read(fd, text + len, PB_SSHKEY_FILE_MAX + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			st = pb__err_field(err, PB_EIO, "identity", "cannot read '%s': %s", path,
			                   pb__errno_text(errno));
			goto fail;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	s->kind = PB__SIGNER_FILE;
	s->fd = -1;
	s->keys = calloc(1, sizeof(*s->keys));
	if (!s->keys) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto fail;
	}
	st = pb__sshkey_private_parse(text, len, path, &s->keys[0], s->sk, err);
	if (st != PB_OK)
		goto fail;
	s->nkeys = 1;
	sodium_memzero(text, PB_SSHKEY_FILE_MAX + 1);
	free(text);
	close(fd);
	*out = s;
	return PB_OK;
fail:
	if (text) {
		sodium_memzero(text, PB_SSHKEY_FILE_MAX + 1);
		free(text);
	}
	close(fd);
	pb__sshsigner_close(s);
	return st;
}

void pb__sshsigner_close(struct pb_sshsigner *s)
{
	if (!s)
		return;
	if (s->kind == PB__SIGNER_AGENT)
		pb__agent_close(s);
	for (size_t i = 0; i < s->nkeys; i++)
		pb__sshkey_release(&s->keys[i]);
	free(s->keys);
	free(s->path);
	sodium_memzero(s->sk, sizeof(s->sk));
	free(s);
}

enum pb_status pb__sshsigner_keys(struct pb_sshsigner *s, const struct pb_sshkey **keys,
                                  size_t *n, struct pb_error *err)
{
	if (s->kind == PB__SIGNER_AGENT) {
		enum pb_status st = pb__agent_keys(s, err);
		if (st != PB_OK)
			return st;
	}
	*keys = s->keys;
	*n = s->nkeys;
	return PB_OK;
}

enum pb_status pb__sshsigner_sign(struct pb_sshsigner *s, const struct pb_sshkey *key,
                                  const char *ns, const void *msg, size_t msg_len, uint8_t **bin,
                                  size_t *bin_len, struct pb_error *err)
{
	*bin = NULL;
	*bin_len = 0;
	enum pb_status st = pb__sshsig_ns_check(ns, err);
	if (st != PB_OK)
		return st;
	if (s->kind == PB__SIGNER_FILE && (s->nkeys != 1 || !pb__sshkey_equal(key, &s->keys[0]))) {
		char fp[PB_SSHKEY_FP_MAX];
		pb__sshkey_fingerprint(key, fp);
		return pb__err_field(err, PB_ENOENT, "key", "the key file does not hold key %s", fp);
	}
	struct pb_buf data;
	pb_buf_init(&data, 4096);
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	if (pb__sshsig_signed_data(&data, ns, "sha512", msg, msg_len) != PB_OK) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	if (s->kind == PB__SIGNER_FILE) {
		uint8_t raw[crypto_sign_BYTES];
		crypto_sign_detached(raw, NULL, (const uint8_t *)data.data, data.len, s->sk);
		struct pb_buf sb;
		pb_buf_init(&sb, 256);
		if (pb__sshw_cstring(&sb, pb__sshkey_type_name(PB_SSHKEY_ED25519)) != PB_OK ||
		    pb__sshw_string(&sb, raw, sizeof(raw)) != PB_OK) {
			pb_buf_release(&sb);
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto out;
		}
		sig = (uint8_t *)sb.data;
		sig_len = sb.len;
	} else {
		st = pb__agent_sign(s, key, (const uint8_t *)data.data, data.len, &sig, &sig_len, err);
		if (st != PB_OK)
			goto out;
	}
	st = pb__sshsig_blob(key, ns, "sha512", sig, sig_len, bin, bin_len, err);
	if (st != PB_OK)
		goto out;
	/* what an agent hands out must verify: it may answer with another key's
	 * signature, a security key may report no touch. The key file's own
	 * signature needs no such check (its seed was checked against its public
	 * key when the file was read), which keeps it at libsodium's speed. */
	if (s->kind == PB__SIGNER_FILE)
		goto out;
	struct pb_sshsig check;
	st = pb__sshsig_decode(*bin, *bin_len, &check, err);
	if (st == PB_OK) {
		st = pb__sshsig_verify(&check, key, ns, msg, msg_len, err);
		pb__sshsig_release(&check);
	}
	if (st != PB_OK) {
		pb__err_prefix(err, "the agent's signature is not valid");
		free(*bin);
		*bin = NULL;
		*bin_len = 0;
	}
out:
	free(sig);
	pb_buf_release(&data);
	return st;
}
