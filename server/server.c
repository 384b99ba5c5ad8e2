/* server.c - probity serve: start and stop.
 *
 * Threads: N workers, each running an epoll loop over its connections
 * (loop.c); one reloader that keeps the decision table current (reload.c);
 * the main thread, which starts them, waits for SIGTERM/SIGINT and then
 * lets the workers drain. server.h lists the other files.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void serve_logf(const char *fmt, ...)
{
	char ts[32];
	pb_time_format((int64_t)time(NULL), ts);
	va_list ap;
	va_start(ap, fmt);
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s probity serve: %s\n", ts, msg);
}

enum pb_status serve_fail(struct pb_error *err, enum pb_status code, const char *fmt, ...)
{
	if (!err)
		return code;
	memset(err, 0, sizeof(*err));
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

static bool is_unix(const char *l)
{
	return !strncmp(l, "unix:", 5) || l[0] == '/';
}

static const char *unix_path(const char *l)
{
	return l[0] == '/' ? l : l + 5;
}

/* "unix:PATH" or "/PATH": a Unix socket, mode o->socket_mode (0600 by
 * default) whatever the umask: it is bound under umask 0177 (only the main
 * thread runs yet) and then given its mode. A stale socket from an earlier
 * run is replaced. */
static enum pb_status bind_unix(struct server *s, const char *l, int *fd, struct pb_error *err)
{
	const char *path = unix_path(l);
	mode_t mode = s->o->socket_mode ? (mode_t)s->o->socket_mode : 0600;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return serve_fail(err, PB_EINVAL, "cannot listen on '%s': socket path too long", l);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct stat sb;
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return serve_fail(err, PB_EIO, "cannot listen on '%s': %s", l, strerror(errno));
	mode_t old = umask(0177);
	int rc = bind(*fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (rc != 0)
		return serve_fail(err, PB_EIO, "cannot listen on '%s': %s", l, strerror(e));
	if (chmod(path, mode) != 0) {
		e = errno;
		unlink(path);
		return serve_fail(err, PB_EIO, "cannot set the mode of socket '%s': %s", path,
		                  strerror(e));
	}
	return PB_OK;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) ||
	       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1); HOST an IP address.
 * Anything but loopback needs the token, or o->insecure_listen. */
static enum pb_status bind_ip(struct server *s, const char *l, int *fd, struct pb_error *err)
{
	const char *colon = strrchr(l, ':');
	if (!colon)
		return serve_fail(err, PB_EINVAL, "cannot listen on '%s': expected HOST:PORT or unix:PATH", l);
	char host[256];
	size_t hl = (size_t)(colon - l);
	if (hl >= sizeof(host))
		return serve_fail(err, PB_EINVAL, "cannot listen on '%s': host too long", l);
	memcpy(host, l, hl);
	host[hl] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return serve_fail(err, PB_EINVAL, "cannot listen on '%s': bad port", l);
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	const char *h = host[0] == '[' ? host + 1 : host;
	if (host[0] == '[' && hl > 1)
		host[hl - 1] = '\0';
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, h[0] ? h : "127.0.0.1", &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a6);
	} else {
		return serve_fail(err, PB_EINVAL, "cannot listen on '%s': host must be an IP address", l);
	}
	if (!is_loopback(&ss) && !s->token_len && !s->o->insecure_listen)
		return serve_fail(err, PB_EPERM,
		                  "refusing to listen on '%s': it is not a loopback address and no "
		                  "--token-file is given, so anyone who reaches it could ask; give a "
		                  "token, listen on a Unix socket, or say --insecure-listen",
		                  l);
	*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (*fd >= 0)
		setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&ss, sl) != 0)
		return serve_fail(err, PB_EIO, "cannot listen on '%s': %s", l, strerror(errno));
	return PB_OK;
}

/* A listening socket on address l into *out; *unix_sock says its kind. */
static enum pb_status open_listener(struct server *s, const char *l, int *out, bool *unix_sock,
                                    struct pb_error *err)
{
	int fd = -1;
	*unix_sock = is_unix(l);
	enum pb_status st = *unix_sock ? bind_unix(s, l, &fd, err) : bind_ip(s, l, &fd, err);
	if (!st && listen(fd, 4096) != 0)
		st = serve_fail(err, PB_EIO, "cannot listen on '%s': %s", l, strerror(errno));
	if (st) {
		if (fd >= 0)
			close(fd);
		*unix_sock = false;
		return st;
	}
	*out = fd;
	return PB_OK;
}

static bool token_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("-._~+/=", ch) != NULL;
}

/* The bearer token from o->token_file: one line of 16 to TOKEN_MAX token
 * characters (RFC 6750's b64token), in a file others cannot read. */
static enum pb_status token_load(struct server *s, struct pb_error *err)
{
	const char *path = s->o->token_file;
	if (!path)
		return PB_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return serve_fail(err, PB_ENOENT, "cannot read token file '%s': %s", path,
		                  strerror(errno));
	struct stat sb;
	char buf[TOKEN_MAX + 4];
	size_t n = 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return serve_fail(err, PB_EINVAL, "token file '%s' is not a regular file", path);
	}
	if (sb.st_mode & 0007) {
		close(fd);
		return serve_fail(err, PB_EPERM,
		                  "token file '%s' can be read by every user (mode %o); "
		                  "chmod 600 it",
		                  path, (unsigned)(sb.st_mode & 0777));
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(buf))
			break;
	}
	close(fd);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	             buf[n - 1] == '\t'))
		n--;
	if (n > TOKEN_MAX)
		return serve_fail(err, PB_EINVAL, "token in '%s' is longer than %d bytes", path,
		                  TOKEN_MAX);
	if (n < 16)
		return serve_fail(err, PB_EINVAL,
		                  "token in '%s' is shorter than 16 characters (make one with "
		                  "'head -c 32 /dev/urandom | base64')",
		                  path);
	for (size_t i = 0; i < n; i++)
		if (!token_char(buf[i]))
			return serve_fail(err, PB_EINVAL,
			                  "token in '%s' holds a character a bearer token cannot "
			                  "(letters, digits and -._~+/= only, on one line)",
			                  path);
	memcpy(s->token, buf, n);
	s->token_len = n;
	memset(buf, 0, sizeof(buf));
	return PB_OK;
}

bool serve_token_ok(const struct server *s, struct pb_str v)
{
	if (v.len < 7 || strncasecmp(v.ptr, "Bearer ", 7) != 0)
		return false;
	const char *t = v.ptr + 7;
	size_t n = v.len - 7;
	while (n && (*t == ' ' || *t == '\t'))
		t++, n--;
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (n > TOKEN_MAX)
		return false;
	char given[TOKEN_MAX];
	memset(given, 0, sizeof(given));
	memcpy(given, t, n);
	/* every byte of the padded buffers, whatever differs where */
	volatile unsigned char d = (unsigned char)(n != s->token_len);
	for (size_t i = 0; i < TOKEN_MAX; i++)
		d |= (unsigned char)(given[i] ^ s->token[i]);
	return d == 0;
}

static void server_init(struct server *s, const struct serve_options *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	for (int k = 0; k < SERVE_IN_COUNT; k++)
		s->hlen[k] = strlen(o->header[k]);
	s->lfd = s->mfd = -1;
	s->log_fd = -1;
	pthread_mutex_init(&s->log_mu, NULL);
	pthread_mutex_init(&s->rl_mu, NULL);
	pthread_cond_init(&s->rl_cv, NULL);
	uint8_t rnd[4];
	pb_random(rnd, sizeof(rnd));
	pb_hex(rnd, 4, s->instance);
	s->allow_period = o->log_allow_sample <= 0 ? 0
	                : o->log_allow_sample >= 1 ? 1
	                                           : (uint64_t)llround(1.0 / o->log_allow_sample);
}

static void server_release(struct server *s)
{
	if (s->lfd >= 0) {
		close(s->lfd);
		if (s->unix_sock)
			unlink(unix_path(s->o->listen));
	}
	if (s->mfd >= 0) {
		close(s->mfd);
		if (s->metrics_unix)
			unlink(unix_path(s->o->metrics_listen));
	}
	memset(s->token, 0, sizeof(s->token));
	declog_close(s);
	free(s->w);
	table_free(atomic_load(&s->cur));
	pb_catalog_free(s->cat);
	pthread_mutex_destroy(&s->log_mu);
	pthread_mutex_destroy(&s->rl_mu);
	pthread_cond_destroy(&s->rl_cv);
}

/* The workspace, read-only, with the log's key pinned when it was given. */
enum pb_status server_ws_open(const struct serve_options *o, struct pb_ws **ws,
                              struct pb_error *err)
{
	enum pb_status st = pb_ws_open(o->ws_path, PB_WS_READONLY, ws, err);
	if (!st && o->vkey && (st = pb_ws_pin_vkey(*ws, o->vkey, err))) {
		pb_ws_close(*ws);
		*ws = NULL;
	}
	return st;
}

/* The first table: without it there is nothing to serve. */
static enum pb_status load_first(struct server *s, struct pb_error *err)
{
	struct pb_ws *ws = NULL;
	struct table *t = NULL;
	enum pb_status st = pb_catalog_load(s->o->catalog_dir, &s->cat, err);
	if (!st)
		st = server_ws_open(s->o, &ws, err);
	if (!st)
		st = table_first(s, ws, &t, err);
	pb_ws_close(ws);
	if (st)
		return st;
	atomic_store(&s->cur, t);
	atomic_store(&s->version, t->version);
	atomic_store(&s->loaded_at, (int64_t)time(NULL));
	return PB_OK;
}

/* Starts the workers; *started gets how many run (all of them, or the
 * error). */
static enum pb_status start_workers(struct server *s, unsigned *started, struct pb_error *err)
{
	const struct serve_options *o = s->o;
	*started = 0;
	s->nw = o->workers ? o->workers : 1;
	s->w = calloc(s->nw, sizeof(struct worker));
	if (!s->w)
		return serve_fail(err, PB_ENOMEM, "out of memory");
	for (unsigned i = 0; i < s->nw; i++)
		s->w[i].ep = -1;
	for (unsigned i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];
		w->id = (int)i;
		w->s = s;
		w->max_conns = o->max_conns / s->nw ? o->max_conns / s->nw : 1;
		pb_buf_init(&w->log, 1 << 24);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (w->ep < 0 || pthread_create(&w->th, NULL, worker_main, w) != 0) {
			atomic_store(&s->stop, 1);
			return serve_fail(err, PB_EIO, "cannot start worker %u: %s", i, strerror(errno));
		}
		(*started)++;
	}
	return PB_OK;
}

enum pb_status serve_run(const struct serve_options *o, struct pb_error *err)
{
	struct server s;
	server_init(&s, o);
	enum pb_status st = token_load(&s, err);
	if (!st)
		st = load_first(&s, err);
	if (!st && o->log_path)
		st = declog_open(&s, err);
	if (st) {
		server_release(&s);
		return st;
	}
	/* room for many idle connections */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((st = open_listener(&s, o->listen, &s.lfd, &s.unix_sock, err)) ||
	    (o->metrics_listen &&
	     (st = open_listener(&s, o->metrics_listen, &s.mfd, &s.metrics_unix, err)))) {
		server_release(&s);
		return st;
	}

	/* signals: the main thread waits for them; other threads never see them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	unsigned started = 0;
	st = start_workers(&s, &started, err);
	bool reloader = !st && pthread_create(&s.reloader, NULL, reloader_main, &s) == 0;
	if (!st) {
		const struct table *t = atomic_load(&s.cur);
		serve_logf("listening on %s%s%s%s with %u workers, entitlements version %lld (%zu rules)",
		           o->listen, s.token_len ? " (bearer token required)" : "",
		           o->metrics_listen ? ", /metrics on " : "",
		           o->metrics_listen ? o->metrics_listen : "", s.nw, (long long)t->version,
		           pb_entitlements_count(t->ents));
		int sig = 0;
		sigwait(&set, &sig);
		serve_logf("%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		atomic_store(&s.stop, 1);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(s.w[i].th, NULL);
	if (reloader) {
		pthread_mutex_lock(&s.rl_mu);
		pthread_cond_signal(&s.rl_cv);
		pthread_mutex_unlock(&s.rl_mu);
		pthread_join(s.reloader, NULL);
	}
	uint64_t total = 0;
	for (unsigned i = 0; s.w && i < s.nw; i++) {
		total += atomic_load(&s.w[i].c.requests);
		if (s.w[i].ep >= 0)
			close(s.w[i].ep);
		pb_buf_release(&s.w[i].log);
	}
	if (!st)
		serve_logf("stopped after %llu requests", (unsigned long long)total);
	server_release(&s);
	return st;
}
