/* agent.c - an ssh-agent client over its unix socket (draft-miller-ssh-agent):
 * SSH_AGENTC_REQUEST_IDENTITIES (11) -> SSH_AGENT_IDENTITIES_ANSWER (12),
 * SSH_AGENTC_SIGN_REQUEST (13) -> SSH_AGENT_SIGN_RESPONSE (14), and
 * SSH_AGENT_FAILURE (5) for no.
 *
 * Each message is uint32 length, byte type, payload. One connection per
 * signer, opened at the start; every send and receive has a timeout (a dead
 * or stuck agent is an error after it, never a hang), a security key's
 * signature gets longer because someone has to touch it. Answers are outside
 * input: lengths are capped and checked before use.
 */
#include "ident/ident_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/util.h"

#include "util/banned.h"

#define AGENT_FAILURE 5
#define AGENTC_REQUEST_IDENTITIES 11
#define AGENT_IDENTITIES_ANSWER 12
#define AGENTC_SIGN_REQUEST 13
#define AGENT_SIGN_RESPONSE 14

#define ANSWER_MAX (256 * 1024) /* OpenSSH's own cap on agent messages */
#define IDENTITIES_MAX 1024
#define TIMEOUT_S 10            /* a local agent answers in milliseconds */
#define TIMEOUT_TOUCH_S 60      /* a security key waits for a finger */

static void set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static enum pb_status io_error(const struct pb_sshsigner *s, int e, int seconds,
                               struct pb_error *err)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return pb__err_field(err, PB_EIO, "agent",
		                     "ssh-agent at '%s' did not answer within %d s", s->path,
		                     seconds);
	if (e == 0)
		return pb__err_field(err, PB_EIO, "agent",
		                     "ssh-agent at '%s' closed the connection", s->path);
	return pb__err_field(err, PB_EIO, "agent", "cannot talk to ssh-agent at '%s': %s",
	                     s->path, pb__errno_text(e));
}

/* After a failed send or receive the connection is out of step: closed, so
 * later calls fail at once rather than read a stale answer. */
static enum pb_status lost(struct pb_sshsigner *s, int e, int seconds, struct pb_error *err)
{
	enum pb_status st = io_error(s, e, seconds, err);
	close(s->fd);
	s->fd = -1;
	return st;
}

/* Sends one request (type + payload) and reads one answer into *ans (heap,
 * type byte first). */
static enum pb_status transact(struct pb_sshsigner *s, uint8_t type, const struct pb_buf *payload,
                               int seconds, uint8_t **ans, size_t *ans_len,
                               struct pb_error *err)
{
	*ans = NULL;
	if (s->fd < 0)
		return pb__err_field(err, PB_EIO, "agent",
		                     "the connection to ssh-agent at '%s' was lost", s->path);
	set_timeout(s->fd, seconds);
	struct pb_buf msg;
	pb_buf_init(&msg, ANSWER_MAX);
	size_t plen = payload ? payload->len : 0;
	enum pb_status st = pb__sshw_u32(&msg, (uint32_t)(plen + 1));
	if (st == PB_OK)
		st = pb__sshw_u8(&msg, type);
	if (st == PB_OK && plen)
		st = pb_buf_add(&msg, payload->data, plen);
	if (st != PB_OK) {
		pb_buf_release(&msg);
		return pb__err(err, st, "agent request too long");
	}
	for (size_t off = 0; off < msg.len;) {
		ssize_t n = send(s->fd, msg.data + off, msg.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pb_buf_release(&msg);
			return lost(s, n < 0 ? errno : 0, seconds, err);
		}
		off += (size_t)n;
	}
	pb_buf_release(&msg);

	uint8_t hdr[4];
	uint8_t *buf = hdr;
	size_t want = 4;
	for (int part = 0; part < 2; part++) {
		for (size_t off = 0; off < want;) {
			ssize_t n = recv(s->fd, buf + off, want - off, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (buf != hdr)
					free(buf);
				return lost(s, n < 0 ? errno : 0, seconds, err);
			}
			off += (size_t)n;
		}
		if (part == 0) {
			want = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
			if (want == 0 || want > ANSWER_MAX) {
				close(s->fd);
				s->fd = -1;
				return pb__err_field(err, PB_EFORMAT, "agent",
				                     "ssh-agent at '%s' sent an answer of %zu bytes "
				                     "(expected 1 to %d)",
				                     s->path, want, ANSWER_MAX);
			}
			buf = malloc(want);
			if (!buf) {
				close(s->fd);
				s->fd = -1;
				return pb__err(err, PB_ENOMEM, "out of memory");
			}
		}
	}
	*ans = buf;
	*ans_len = want;
	return PB_OK;
}

enum pb_status pb__sshsigner_agent(const char *socket_path, struct pb_sshsigner **out,
                                   struct pb_error *err)
{
	*out = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!socket_path || !*socket_path)
		return pb__err_field(err, PB_EINVAL, "agent",
		                     "no ssh-agent socket given (is SSH_AUTH_SOCK set?)");
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return pb__err_field(err, PB_EINVAL, "agent",
		                     "ssh-agent socket path '%s' is over %zu bytes", socket_path,
		                     sizeof(sa.sun_path) - 1);
	pb__strlcpy(sa.sun_path, socket_path, sizeof(sa.sun_path));
	struct pb_sshsigner *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = pb__strndup(socket_path, strlen(socket_path)))) {
		free(s);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	s->kind = PB__SIGNER_AGENT;
	s->timeout_s = TIMEOUT_S;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		int e = errno;
		pb__sshsigner_close(s);
		return pb__err_field(err, pb__errno_status(e), "agent", "cannot make a socket: %s",
		                     pb__errno_text(e));
	}
	set_timeout(s->fd, TIMEOUT_S);
	int rc;
	do
		rc = connect(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	while (rc != 0 && errno == EINTR);
	if (rc != 0) {
		int e = errno;
		enum pb_status st = pb__err_field(err, e == ENOENT ? PB_ENOENT : PB_EIO, "agent",
		                                  "cannot connect to ssh-agent at '%s': %s",
		                                  socket_path, pb__errno_text(e));
		pb__sshsigner_close(s);
		return st;
	}
	*out = s;
	return PB_OK;
}

void pb__agent_close(struct pb_sshsigner *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void drop_keys(struct pb_sshsigner *s)
{
	for (size_t i = 0; i < s->nkeys; i++)
		pb__sshkey_release(&s->keys[i]);
	free(s->keys);
	s->keys = NULL;
	s->nkeys = 0;
}

enum pb_status pb__agent_keys(struct pb_sshsigner *s, struct pb_error *err)
{
	drop_keys(s);
	uint8_t *ans;
	size_t len;
	enum pb_status st = transact(s, AGENTC_REQUEST_IDENTITIES, NULL, s->timeout_s, &ans, &len, err);
	if (st != PB_OK)
		return st;
	struct pb__sshr r = pb__sshr_of(ans, len);
	uint8_t type;
	uint32_t n;
	st = PB_EFORMAT;
	if (!pb__sshr_u8(&r, &type) || type != AGENT_IDENTITIES_ANSWER) {
		pb__err_field(err, st, "agent",
		              "ssh-agent at '%s' did not list its keys (answer type %u)", s->path,
		              (unsigned)type);
		goto out;
	}
	if (!pb__sshr_u32(&r, &n) || n > IDENTITIES_MAX) {
		pb__err_field(err, st, "agent", "ssh-agent at '%s': expected a key count up to %d",
		              s->path, IDENTITIES_MAX);
		goto out;
	}
	s->keys = calloc(n ? n : 1, sizeof(*s->keys));
	if (!s->keys) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *blob, *comment;
		size_t blob_len, comment_len;
		if (!pb__sshr_string(&r, &blob, &blob_len) ||
		    !pb__sshr_string(&r, &comment, &comment_len)) {
			pb__err_field(err, st, "agent", "ssh-agent at '%s': key %u is cut short",
			              s->path, i + 1);
			drop_keys(s);
			goto out;
		}
		/* keys of other types (RSA, ECDSA, ...) are not ours: skipped */
		if (pb__sshkey_from_blob(blob, blob_len, &s->keys[s->nkeys], NULL) == PB_OK)
			s->nkeys++;
	}
	st = PB_OK;
out:
	free(ans);
	return st;
}

enum pb_status pb__agent_sign(struct pb_sshsigner *s, const struct pb_sshkey *key,
                              const uint8_t *data, size_t len, uint8_t **sig, size_t *sig_len,
                              struct pb_error *err)
{
	*sig = NULL;
	struct pb_buf req;
	pb_buf_init(&req, ANSWER_MAX);
	enum pb_status st = pb__sshw_string(&req, key->blob, key->blob_len);
	if (st == PB_OK)
		st = pb__sshw_string(&req, data, len);
	if (st == PB_OK)
		st = pb__sshw_u32(&req, 0); /* flags: none apply to Ed25519 */
	if (st != PB_OK) {
		pb_buf_release(&req);
		return pb__err(err, st, "agent request too long");
	}
	int seconds = key->type == PB_SSHKEY_SK_ED25519 ? TIMEOUT_TOUCH_S : s->timeout_s;
	uint8_t *ans;
	size_t ans_len;
	st = transact(s, AGENTC_SIGN_REQUEST, &req, seconds, &ans, &ans_len, err);
	pb_buf_release(&req);
	if (st != PB_OK)
		return st;
	struct pb__sshr r = pb__sshr_of(ans, ans_len);
	uint8_t type = 0;
	const uint8_t *p;
	size_t n;
	char fp[PB_SSHKEY_FP_MAX];
	pb__sshkey_fingerprint(key, fp);
	if (!pb__sshr_u8(&r, &type) || type != AGENT_SIGN_RESPONSE) {
		st = pb__err_field(err, type == AGENT_FAILURE ? PB_EPERM : PB_EFORMAT, "agent",
		                   "ssh-agent at '%s' refused to sign with key %s%s", s->path, fp,
		                   type == AGENT_FAILURE ? " (is it loaded? ssh-add -l lists them)"
		                                         : " (an unexpected answer)");
		goto out;
	}
	if (!pb__sshr_string(&r, &p, &n) || pb__sshr_left(&r) || n == 0) {
		st = pb__err_field(err, PB_EFORMAT, "agent",
		                   "ssh-agent at '%s': expected one signature in its answer", s->path);
		goto out;
	}
	*sig = malloc(n);
	if (!*sig) {
		st = pb__err(err, PB_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*sig, p, n);
	*sig_len = n;
out:
	free(ans);
	return st;
}
