/* loop.c - probity web's connections: listen, a thread per connection,
 * requests read with the library's HTTP parser, answers written whole.
 *
 * A thread per connection, not the decision server's epoll loop: pages do
 * blocking SQLite work (profiles, sign-in hashing) that would stall an event
 * loop, the number of people is small, and this is short enough to get
 * right. Threads are bounded (max_conns; past it a connection is answered
 * 503 and closed), every socket has read and write timeouts (a slow client
 * holds one thread for at most timeout_s per read), and each connection opens
 * its own workspace handle (SQLite connections are not shared between
 * threads). Under TLS (OpenSSL) each thread does its own handshake, within
 * the same timeouts. SIGTERM or SIGINT stop accepting; connections in
 * flight get a few seconds to finish.
 */
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static volatile sig_atomic_t stopping;
static atomic_uint active;

/* The open connections, so that a stop can wake threads blocked reading
 * (shutdown makes their recv return 0) rather than leave them to the timeout. */
#define OPEN_MAX 4096
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static int open_fd[OPEN_MAX];

static void open_set(int fd, bool on)
{
	pthread_mutex_lock(&open_mu);
	for (int i = 0; i < OPEN_MAX; i++) {
		if (on ? open_fd[i] == 0 : open_fd[i] == fd + 1) {
			open_fd[i] = on ? fd + 1 : 0;
			break;
		}
	}
	pthread_mutex_unlock(&open_mu);
}

static void open_shutdown_all(void)
{
	pthread_mutex_lock(&open_mu);
	for (int i = 0; i < OPEN_MAX; i++)
		if (open_fd[i])
			shutdown(open_fd[i] - 1, SHUT_RD);
	pthread_mutex_unlock(&open_mu);
}

/* At most 2 requests a core are computed at once: the others wait for a
 * slot rather than share the cores, so each page is done in one go (50
 * clients on 2 cores: the profile page's p95 went from about 50 ms to about
 * 23 ms, bench/web). A request that holds its slot long (a scan, a
 * slowed sign-in, a busy database) must not stall the rest: nobody waits
 * more than BUSY_WAIT_MS for one, then goes on without. */
#define BUSY_WAIT_MS 50
static sem_t busy;

static bool busy_enter(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += BUSY_WAIT_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	int r;
	while ((r = sem_timedwait(&busy, &ts)) != 0 && errno == EINTR)
		;
	return r == 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct conn {
	int fd;
	SSL *ssl; /* under TLS, else NULL */
	const struct web_options *o;
	char addr[64];
};

/* Reads what is there (at most n bytes): > 0 bytes, 0 at the end or after
 * the timeout, < 0 on an error. */
static ssize_t conn_recv(struct conn *k, char *p, size_t n)
{
	if (k->ssl) {
		int r = SSL_read(k->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : -1;
	}
	ssize_t r;
	while ((r = recv(k->fd, p, n, 0)) < 0 && errno == EINTR)
		;
	return r;
}

static bool write_all(struct conn *k, const char *p, size_t n)
{
	while (n) {
		if (k->ssl) {
			int w = SSL_write(k->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
			if (w <= 0)
				return false;
			p += w;
			n -= (size_t)w;
			continue;
		}
		ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void refuse(struct conn *k, int status)
{
	const char *reason = status == 400   ? "Bad Request"
	                     : status == 413 ? "Content Too Large"
	                     : status == 414 ? "URI Too Long"
	                     : status == 431 ? "Request Header Fields Too Large"
	                     : status == 501 ? "Not Implemented"
	                     : status == 503 ? "Service Unavailable"
	                     : status == 505 ? "HTTP Version Not Supported"
	                                     : "Error";
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
	                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n"
	                 "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"
	                 "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
	                 "Cache-Control: no-store\r\n\r\n%s\n",
	                 status, reason, strlen(reason) + 1, reason);
	write_all(k, buf, (size_t)n);
}

/* Behind the trusted proxy (o->trusted_proxy is the peer): the client is the
 * last address of X-Forwarded-For (the one the proxy saw; those before it are
 * the client's own word), the scheme its X-Forwarded-Proto. A value that is
 * not an address leaves the proxy's. */
static void client_of(struct web_ctx *c, const struct conn *k)
{
	snprintf(c->addr, sizeof(c->addr), "%s", k->addr);
	c->tls = k->ssl != NULL;
	if (!k->o->trusted_proxy || strcmp(k->o->trusted_proxy, k->addr))
		return;
	struct pb_str xff = pb_http_req_header(&c->rq, "x-forwarded-for");
	if (!xff.ptr)
		xff = pb_str_of("", 0);
	size_t i = xff.len;
	while (i && xff.ptr[i - 1] != ',')
		i--;
	struct pb_str last = pb_str_trim(pb_str_of(xff.ptr + i, xff.len - i));
	bool ok = last.len > 0 && last.len < 46;
	for (size_t j = 0; ok && j < last.len; j++)
		ok = strchr("0123456789abcdefABCDEF.:", last.ptr[j]) != NULL;
	if (ok)
		snprintf(c->addr, sizeof(c->addr), "%.*s", (int)last.len, last.ptr);
	if (pb_str_eq_cstr(pb_http_req_header(&c->rq, "x-forwarded-proto"), "https"))
		c->tls = true;
}

/* An upload's body, len bytes, of which buf[0..have) came with the head:
 * read into a temporary file, unlinked at once. Returns its descriptor, or
 * -1 when the client went away or the file cannot be written. */
static int spool(struct conn *k, const char *buf, size_t have, size_t len)
{
	char path[512];
	web_tmp_template(path, sizeof(path), "probity-web");
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unlink(path);
	char chunk[65536];
	size_t got = 0;
	/* each read has the connection's timeout; the whole body gets 5 minutes
	 * (32 MiB at 110 kB/s), so a trickle cannot hold a thread for days */
	time_t until = time(NULL) + 300;
	while (got < len) {
		if (time(NULL) > until)
			goto fail;
		const char *p = chunk;
		ssize_t n;
		if (have) { /* what came with the head first */
			p = buf;
			n = (ssize_t)(have < len ? have : len);
			have = 0;
		} else {
			n = conn_recv(k, chunk, len - got < sizeof(chunk) ? len - got : sizeof(chunk));
		}
		if (n <= 0)
			goto fail;
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(fd, p + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			o += w;
		}
		got += (size_t)n;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Sends n bytes of file fd after the head (a download). */
static bool send_file(struct conn *k, int fd, uint64_t n)
{
	char chunk[65536];
	while (n) {
		ssize_t r = read(fd, chunk, n < sizeof(chunk) ? (size_t)n : sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || !write_all(k, chunk, (size_t)r))
			return false; /* a file that shrank: the client sees a short body */
		n -= (uint64_t)r;
	}
	return true;
}

static void *conn_main(void *arg)
{
	struct conn *k = arg;
	size_t cap = PB_HTTP_HEAD_MAX + PB_HTTP_BODY_MAX, have = 0;
	char *buf = malloc(cap);
	struct web_ctx *c = calloc(1, sizeof(*c));
	struct pb_buf ans;
	pb_buf_init(&ans, (size_t)64 << 20);
	if (c) {
		pb_buf_init(&c->head, 8192);
		pb_buf_init(&c->out, (size_t)32 << 20);
	}
	if (!buf || !c)
		goto done;
	c->o = k->o;
	if (k->ssl && SSL_accept(k->ssl) != 1)
		goto done; /* not TLS, or a handshake that failed or timed out */
	for (unsigned served = 0; served < 1000 && !stopping; served++) {
		int r;
		/* read a whole head, then the body */
		while ((r = pb_http_req_parse(buf, have, &c->rq)) == 0) {
			if (have == cap) {
				r = -431;
				break;
			}
			ssize_t n = conn_recv(k, buf + have, cap - have);
			if (n <= 0)
				goto done; /* closed, or idle past the timeout */
			have += (size_t)n;
		}
		c->upload_fd = -1;
		c->upload_len = 0;
		if (r == -413 && c->rq.content_length <= WEB_UPLOAD_MAX) {
			/* the head is whole and parsed: an upload may be that large */
			client_of(c, k);
			c->signed_in = false;
			if (web_upload_accept(c)) {
				if (c->rq.expect_continue)
					write_all(k, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				size_t head = c->rq.head_len;
				c->upload_fd = spool(k, buf + head, have - head, c->rq.content_length);
				if (c->upload_fd < 0)
					goto done;
				c->upload_len = c->rq.content_length;
				r = (int)head;
				have = head; /* the connection closes after an upload */
			}
			memset(&c->s, 0, sizeof(c->s));
		}
		if (r < 0) {
			refuse(k, -r);
			goto done;
		}
		size_t need = (size_t)r + (c->upload_fd >= 0 ? 0 : c->rq.content_length);
		if (c->rq.expect_continue && have < need)
			write_all(k, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		while (have < need) {
			ssize_t n = conn_recv(k, buf + have, cap - have);
			if (n <= 0)
				goto done;
			have += (size_t)n;
		}
		c->body = pb_str_of(buf + r, c->rq.content_length);
		client_of(c, k);
		c->status = 200;
		c->ctype = "text/html; charset=utf-8";
		c->close = !c->rq.keep_alive || stopping || served + 1 == 1000 || /* the last one says so */
		           c->upload_fd >= 0; /* keep_alive is not parsed past a 413 */
		c->send_fd = -1;
		c->signed_in = false;
		memset(&c->s, 0, sizeof(c->s));
		c->cookie_id[0] = '\0';
		/* the connection's buffers, kept from one request to the next:
		 * a page of 50 kB is not a malloc and a free each time */
		if (c->out.cap > ((size_t)1 << 20)) { /* but not a large one kept idle */
			pb_buf_release(&c->out);
			pb_buf_init(&c->out, (size_t)32 << 20);
		}
		pb_buf_reset(&c->head);
		pb_buf_reset(&c->out);
		bool slot = busy_enter();
		web_route(c);
		if (slot)
			sem_post(&busy);
		pb_buf_reset(&ans);
		web_answer(c, &ans);
		bool sent = write_all(k, ans.data, ans.len);
		if (c->send_fd >= 0) {
			sent = sent && send_file(k, c->send_fd, c->send_len);
			close(c->send_fd);
			c->send_fd = -1;
		}
		if (c->upload_fd >= 0) {
			close(c->upload_fd);
			c->upload_fd = -1;
		}
		memset(&c->s, 0, sizeof(c->s));
		if (!sent || c->close)
			goto done;
		memmove(buf, buf + need, have - need);
		have -= need;
	}
done:
	if (c && c->ws)
		pb_ws_close(c->ws);
	pb_buf_release(&ans);
	if (c) {
		pb_buf_release(&c->head);
		pb_buf_release(&c->out);
	}
	free(c);
	free(buf);
	if (k->ssl) {
		SSL_shutdown(k->ssl);
		SSL_free(k->ssl);
	}
	open_set(k->fd, false);
	close(k->fd);
	free(k);
	atomic_fetch_sub(&active, 1);
	return NULL;
}

static int bad_addr(const char *spec, struct pb_error *err)
{
	snprintf(err->message, sizeof(err->message),
	         "bad listen address '%s': use HOST:PORT with a numeric host, or unix:PATH", spec);
	err->code = PB_EINVAL;
	return -1;
}

/* Binds the listening socket for "host:port", "[v6]:port" or "unix:PATH". */
static int listen_on(const char *spec, struct pb_error *err)
{
	int fd = -1;
	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un un = { .sun_family = AF_UNIX };
		if (strlen(spec + 5) >= sizeof(un.sun_path) || !spec[5])
			return bad_addr(spec, err);
		snprintf(un.sun_path, sizeof(un.sun_path), "%s", spec + 5);
		unlink(un.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof(un)) || listen(fd, 128)) {
			snprintf(err->message, sizeof(err->message), "cannot listen on '%s': %s", spec,
			         strerror(errno));
			err->code = PB_EIO;
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	}
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || strlen(spec) >= sizeof(host))
		return bad_addr(spec, err);
	size_t hl = (size_t)(colon - spec);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai)
		return bad_addr(spec, err);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
		snprintf(err->message, sizeof(err->message), "cannot listen on '%s': %s", spec,
		         strerror(errno));
		err->code = PB_EIO;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* The TLS context of --tls-cert/--tls-key: TLS 1.2 and later, the
 * certificate chain and its key checked against each other at start. */
static SSL_CTX *tls_context(const struct web_options *o, struct pb_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char why[256];
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		snprintf(err->message, sizeof(err->message),
		         "cannot use the certificate '%s' with the key '%s': %s", o->tls_cert, o->tls_key,
		         why);
		err->code = PB_EINVAL;
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	return ctx;
}

enum pb_status web_run(const struct web_options *o, struct pb_error *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	sem_init(&busy, 0, (unsigned)(ncpu > 0 && ncpu < 256 ? 2 * ncpu : 4));
	/* the workspace must open (and be migrated) before anyone connects */
	struct pb_ws *ws;
	enum pb_status rc = pb_ws_open(o->ws_path, 0, &ws, err);
	if (rc)
		return rc;
	pb_ws_close(ws);
	SSL_CTX *tls = NULL;
	if (o->tls_cert && !(tls = tls_context(o, err)))
		return err->code;
	int lfd = listen_on(o->listen, err);
	if (lfd < 0) {
		SSL_CTX_free(tls);
		return err->code;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!o->quiet)
		fprintf(stderr, "probity web: serving %s on %s://%s/\n", o->ws_path,
		        tls ? "https" : "http", o->listen);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, (size_t)1 << 20);
	while (!stopping) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		if (poll(&p, 1, 200) <= 0)
			continue;
		struct sockaddr_storage sa_peer;
		socklen_t sl = sizeof(sa_peer);
		int fd = accept4(lfd, (struct sockaddr *)&sa_peer, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct timeval tv = { .tv_sec = o->timeout_s };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		struct conn *k = calloc(1, sizeof(*k));
		if (!k) {
			close(fd);
			continue;
		}
		k->fd = fd;
		if (tls && (!(k->ssl = SSL_new(tls)) || SSL_set_fd(k->ssl, fd) != 1)) {
			SSL_free(k->ssl);
			free(k);
			close(fd);
			continue;
		}
		if (atomic_load(&active) >= o->max_conns) {
			/* over TLS the handshake comes first: past the cap, just close */
			if (!tls)
				refuse(k, 503);
			SSL_free(k->ssl);
			free(k);
			close(fd);
			continue;
		}
		k->o = o;
		if (sa_peer.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&sa_peer)->sin_addr, k->addr,
			          sizeof(k->addr));
		else if (sa_peer.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa_peer)->sin6_addr, k->addr,
			          sizeof(k->addr));
		else
			snprintf(k->addr, sizeof(k->addr), "unix");
		atomic_fetch_add(&active, 1);
		open_set(fd, true);
		pthread_t t;
		if (pthread_create(&t, &attr, conn_main, k)) {
			atomic_fetch_sub(&active, 1);
			open_set(fd, false);
			SSL_free(k->ssl);
			close(fd);
			free(k);
		}
	}
	close(lfd);
	if (!strncmp(o->listen, "unix:", 5))
		unlink(o->listen + 5);
	/* connections in flight: a few seconds to finish; idle ones are woken */
	open_shutdown_all();
	for (int i = 0; i < 50 && atomic_load(&active); i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	pthread_attr_destroy(&attr);
	if (!atomic_load(&active))
		SSL_CTX_free(tls); /* else threads still use it: the process ends anyway */
	if (!o->quiet)
		fprintf(stderr, "probity web: stopped\n");
	return PB_OK;
}
