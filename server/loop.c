/* loop.c - a worker's event loop: connections, reading requests, writing answers.
 *
 * Each worker has its own epoll set and watches the listening sockets (the
 * main one, and the metrics one when there is one; EPOLLEXCLUSIVE, so a
 * connection wakes one worker). Requests are parsed by
 * pb_http_req_parse (fuzzed); every buffer is capped; slow or idle clients
 * are timed out; keep-alive and pipelining are supported (answers are
 * written in request order from one output buffer). Connections are kept in
 * least-recently-active order, so idle timeouts and eviction look at the head.
 */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- output ----------------------------------------------------------------- */

static bool out_reserve(struct conn *c, size_t n)
{
	if (c->wcap - c->wlen >= n)
		return true;
	size_t cap = c->wcap ? c->wcap : 4096;
	while (cap - c->wlen < n)
		cap *= 2;
	char *b = realloc(c->wbuf, cap);
	if (!b)
		return false;
	c->wbuf = b;
	c->wcap = cap;
	return true;
}

static void out(struct conn *c, const char *s, size_t n)
{
	if (out_reserve(c, n)) {
		memcpy(c->wbuf + c->wlen, s, n);
		c->wlen += n;
	}
}

static void outs(struct conn *c, const char *s)
{
	out(c, s, strlen(s));
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void worker_date(struct worker *w)
{
	time_t now = time(NULL);
	if (now == w->date_at)
		return;
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	w->date_len = strlen(w->date);
	w->date_at = now;
}

/* Built with copies only: this is every answer's path. */
void respond_n(struct worker *w, struct conn *c, int code, const char *ctype,
                      const char *extra, size_t elen, const char *body, size_t blen,
                      bool head_only)
{
	worker_date(w);
	const char *reason = reason_phrase(code);
	size_t rl = strlen(reason), cl = ctype ? strlen(ctype) : 0;
	/* fixed text: 9 + 3 + 1 + 25 + 2 + 19 + 14 + 18 + 20 + 4 bytes at most */
	if (!out_reserve(c, 128 + rl + w->date_len + elen + cl + blen))
		return;
	char *p = c->wbuf + c->wlen;
	p = PUT(p, "HTTP/1.1 ");
	p = put_size(p, (size_t)code);
	*p++ = ' ';
	p = put(p, reason, rl);
	p = PUT(p, "\r\nServer: probity\r\nDate: ");
	p = put(p, w->date, w->date_len);
	p = PUT(p, "\r\n");
	if (c->closing)
		p = PUT(p, "Connection: close\r\n");
	if (elen)
		p = put(p, extra, elen);
	if (code == 204) {
		p = PUT(p, "\r\n");
	} else {
		p = PUT(p, "Content-Type: ");
		p = put(p, ctype, cl);
		p = PUT(p, "\r\nContent-Length: ");
		p = put_size(p, blen);
		p = PUT(p, "\r\n\r\n");
		if (!head_only && blen)
			p = put(p, body, blen);
	}
	c->wlen = (size_t)(p - c->wbuf);
	if (code >= 500)
		inc(&w->c.other_error, 1);
}

void respond(struct worker *w, struct conn *c, int code, const char *ctype,
                    const char *extra, const char *body, size_t blen, bool head_only)
{
	respond_n(w, c, code, ctype, extra, extra ? strlen(extra) : 0, body, blen, head_only);
}

void respond_error_uncounted(struct worker *w, struct conn *c, int code, const char *msg,
                             const char *extra)
{
	char body[600];
	struct pb_buf b;
	pb_buf_init(&b, 512);
	pb_buf_json_str(&b, msg, strlen(msg));
	int n = snprintf(body, sizeof(body), "{\"error\":%s,\"status\":%d}\n", b.data ? b.data : "\"\"", code);
	pb_buf_release(&b);
	respond(w, c, code, "application/json", extra, body, (size_t)n, false);
}

void respond_error(struct worker *w, struct conn *c, int code, const char *msg,
                   const char *extra)
{
	if (code == 400 || code == 413 || code == 414 || code == 431 || code == 408)
		inc(&w->c.bad_request, 1);
	else if (code == 404)
		inc(&w->c.not_found, 1);
	else if (code == 405)
		inc(&w->c.bad_method, 1);
	respond_error_uncounted(w, c, code, msg, extra);
}

/* ---- connections ---------------------------------------------------------- */

static void lru_unlink(struct worker *w, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		w->tail = c->prev;
	c->prev = c->next = NULL;
}

/* Links c (not linked) as the most recently active. */
static void lru_append(struct worker *w, struct conn *c)
{
	c->prev = w->tail;
	if (w->tail)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
}

static void lru_touch(struct worker *w, struct conn *c)
{
	if (w->tail == c)
		return;
	lru_unlink(w, c);
	lru_append(w, c);
}

static void conn_close(struct worker *w, struct conn *c)
{
	lru_unlink(w, c);
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
	w->nconns--;
}

static bool conn_busy(const struct conn *c)
{
	return c->rlen > c->rpos || c->wlen > c->woff;
}

static void conn_watch(struct worker *w, struct conn *c, bool want_out)
{
	if (c->want_out == want_out)
		return;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0),
		                  .data.ptr = c };
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = want_out;
}

/* Writes what is pending; returns false when the connection is gone. */
static bool conn_flush(struct worker *w, struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_watch(w, c, true);
			return true;
		}
		conn_close(w, c);
		return false;
	}
	c->woff = c->wlen = 0;
	if (c->closing) {
		conn_close(w, c);
		return false;
	}
	conn_watch(w, c, false);
	return true;
}

/* Answers every complete request in the input buffer, in order. */
static void conn_process(struct worker *w, struct conn *c)
{
	while (c->rlen > c->rpos && !c->closing && c->wlen - c->woff < WBUF_HIGH) {
		struct pb_http_req rq;
		const char *p = c->rbuf + c->rpos;
		size_t avail = c->rlen - c->rpos;
		int r = pb_http_req_parse(p, avail, &rq);
		if (r == 0) {
			if (c->req_start == 0)
				c->req_start = mono();
			break;
		}
		if (r < 0) {
			c->closing = true;
			const char *m = r == -414 ? "request line too long"
			              : r == -431 ? "request head too large"
			              : r == -413 ? "request body too large"
			              : r == -501 ? "transfer codings are not supported; send Content-Length"
			              : r == -505 ? "only HTTP/1.0 and HTTP/1.1"
			                          : "malformed request";
			respond_error(w, c, -r, m, NULL);
			inc(&w->c.requests, 1);
			c->rpos = c->rlen = 0;
			break;
		}
		size_t need = (size_t)r + rq.content_length;
		if (avail < need) {
			if (c->req_start == 0)
				c->req_start = mono();
			if (rq.expect_continue && !c->continue_sent) {
				outs(c, "HTTP/1.1 100 Continue\r\n\r\n");
				c->continue_sent = true;
			}
			break;
		}
		if (!rq.keep_alive || atomic_load(&w->s->stop))
			c->closing = true;
		route_request(w, c, &rq, p + r, rq.content_length);
		inc(&w->c.requests, 1);
		c->rpos += need;
		c->continue_sent = false;
		c->req_start = c->rlen > c->rpos ? mono() : 0;
	}
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
}

static void conn_readable(struct worker *w, struct conn *c)
{
	for (;;) {
		if (c->rpos > 0 && c->rlen == c->rcap) { /* compact */
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
			c->rlen -= c->rpos;
			c->rpos = 0;
		}
		if (c->rlen == c->rcap) {
			if (c->rcap >= RBUF_MAX)
				break; /* the parser refuses what does not fit */
			size_t cap = c->rcap ? c->rcap * 2 : RBUF_MIN;
			if (cap > RBUF_MAX)
				cap = RBUF_MAX;
			char *b = realloc(c->rbuf, cap);
			if (!b) {
				conn_close(w, c);
				return;
			}
			c->rbuf = b;
			c->rcap = cap;
		}
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			if (c->rlen < c->rcap)
				break; /* drained for now (level-triggered: more wakes us) */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF or error: answer what is complete, then go */
		c->closing = true;
		conn_process(w, c);
		if (c->wlen > c->woff)
			conn_flush(w, c);
		else
			conn_close(w, c);
		return;
	}
	c->last = w->now;
	lru_touch(w, c);
	conn_process(w, c);
	if (c->wlen > c->woff || c->closing)
		conn_flush(w, c);
}

/* Listener lfd's events carry NULL, the metrics listener's this. */
#define METRICS_TAG(s) ((void *)&(s)->mfd)

static void listen_off(struct worker *w)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, w->s->lfd, NULL);
	if (w->s->mfd >= 0)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, w->s->mfd, NULL);
	w->listening = false;
}

/* Accepts what waits on listener lfd (metrics: the metrics listener). */
static void accept_all(struct worker *w, int lfd, bool metrics)
{
	struct server *s = w->s;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && w->head && !conn_busy(w->head)) {
				inc(&w->c.refused, 1);
				conn_close(w, w->head); /* make room: the longest-idle connection goes */
				continue;
			}
			if (errno == EMFILE || errno == ENFILE)
				listen_off(w); /* nothing to evict: stop listening until the next tick */
			return;
		}
		if (w->nconns >= w->max_conns) {
			if (w->head && !conn_busy(w->head)) {
				inc(&w->c.refused, 1);
				conn_close(w, w->head);
			} else {
				inc(&w->c.refused, 1);
				close(fd);
				continue;
			}
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		if (!(metrics ? s->metrics_unix : s->unix_sock)) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		c->fd = fd;
		c->metrics_port = metrics;
		c->last = mono();
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		w->nconns++;
		inc(&w->c.accepted, 1);
		lru_append(w, c);
	}
}

static void listen_on(struct worker *w)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->s->lfd, &ev) == 0)
		w->listening = true;
	if (w->s->mfd >= 0) {
		struct epoll_event mev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
			                   .data.ptr = METRICS_TAG(w->s) };
		epoll_ctl(w->ep, EPOLL_CTL_ADD, w->s->mfd, &mev);
	}
}

/* Timeouts: idle keep-alive connections, slow requests, stalled writes. */
static void tick(struct worker *w, double now, bool full_scan)
{
	const struct serve_options *o = w->s->o;
	while (w->head && !conn_busy(w->head) && now - w->head->last > o->idle_timeout_s) {
		inc(&w->c.closed_timeout, 1);
		conn_close(w, w->head);
	}
	if (!full_scan)
		return;
	for (struct conn *c = w->head, *next; c; c = next) {
		next = c->next;
		if (c->req_start > 0 && now - c->req_start > o->request_timeout_s && c->wlen == c->woff) {
			inc(&w->c.closed_timeout, 1);
			c->closing = true;
			c->rpos = c->rlen = 0;
			respond_error(w, c, 408, "request not received in time", NULL);
			conn_flush(w, c);
		} else if (c->wlen > c->woff && now - c->last > o->request_timeout_s) {
			inc(&w->c.closed_timeout, 1);
			conn_close(w, c); /* the client does not read its answers */
		}
	}
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *s = w->s;
	struct epoll_event evs[256];
	double last_scan = mono(), last_flush = mono(), drain_until = 0;
	listen_on(w);
	for (;;) {
		atomic_fetch_add(&w->qs, 1); /* quiescent: no table is held here */
		int n = epoll_wait(w->ep, evs, 256, TICK_MS);
		w->now = mono(); /* the time of this batch of events (idle timeouts) */
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c || evs[i].data.ptr == METRICS_TAG(s)) {
				accept_all(w, c ? s->mfd : s->lfd, c != NULL);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
				conn_readable(w, c);
				continue; /* c may be gone */
			}
			if (evs[i].events & EPOLLOUT) {
				if (conn_flush(w, c) && c->rlen > c->rpos) {
					conn_process(w, c);
					if (c->wlen > c->woff)
						conn_flush(w, c);
				}
			}
		}
		double now = mono();
		if (n == 0 || now - last_flush > TICK_MS * 1e-3) {
			bool full = now - last_scan > 1.0;
			tick(w, now, full);
			if (full)
				last_scan = now;
			declog_flush(w);
			last_flush = now;
			if (!w->listening && !atomic_load(&s->stop))
				listen_on(w);
		}
		if (atomic_load(&s->stop)) {
			if (drain_until == 0) {
				drain_until = now + s->o->drain_s;
				if (w->listening)
					listen_off(w);
			}
			for (struct conn *c = w->head, *next; c; c = next) {
				next = c->next;
				if (!conn_busy(c))
					conn_close(w, c);
			}
			if (!w->head || now > drain_until)
				break;
		}
	}
	while (w->head)
		conn_close(w, w->head);
	declog_flush(w);
	return NULL;
}
