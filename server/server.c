/* server.c - probity serve: an epoll HTTP/1.1 loop answering decisions from memory.
 *
 * Threads: N workers, each with its own epoll set, all watching the one
 * listening socket (EPOLLEXCLUSIVE, so a connection wakes one worker); one
 * reloader that polls the workspace for a new entitlements version, compiles
 * it beside the table in service and swaps a pointer; the main thread waits
 * for SIGTERM/SIGINT and then lets the workers drain.
 *
 * Reload never blocks a request: workers read the current table pointer once
 * per request and never lock. An old table is freed only after every worker
 * has passed the top of its loop since the swap (a quiescent-state scheme:
 * each worker bumps a counter there, and a worker holds no table across it).
 * Workers wake at least every 100 ms, so a grace period is that long at most.
 *
 * Requests are parsed by lib/http.c (fuzzed); every buffer is capped; slow
 * or idle clients are timed out; keep-alive and pipelining are supported
 * (responses are written in request order from one output buffer).
 */
#include "server.h"

#include "../cli/cli.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RBUF_MIN 4096
#define RBUF_MAX (PB_HTTP_HEAD_MAX + PB_HTTP_BODY_MAX)
#define WBUF_HIGH (256 * 1024) /* stop reading requests while this much is unsent */
#define LOG_FLUSH (32 * 1024)
#define TICK_MS 100
#define NBUCKETS 12

static const double bucket_le[NBUCKETS] = { 1e-6,   2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5,
	                                    1e-4,   2.5e-4, 5e-4, 1e-3, 1e-2,   1e-1 };

/* ---- shared state --------------------------------------------------------- */

struct table {
	struct pb_entitlements *ents;
	struct pb_decider *dec;
	int64_t version;
	char version_hdr[48];        /* "X-Probity-Version: N\r\n" */
	size_t version_hdr_len;
	_Atomic(char *) *rule_hdr;   /* per rule, its X-Probity-Case/Plan/Reason lines */
};

struct counters {
	_Atomic uint64_t allow, deny, bad_request, not_found, bad_method, other_error;
	_Atomic uint64_t hist[NBUCKETS + 1];
	_Atomic uint64_t hist_sum_ns, requests, accepted, closed_timeout, refused;
};

struct server;

struct conn {
	int fd;
	char *rbuf;
	size_t rpos, rlen, rcap;
	char *wbuf;
	size_t woff, wlen, wcap;
	double last, req_start;
	bool closing, want_out, continue_sent;
	struct conn *prev, *next;
};

struct worker {
	int id;
	pthread_t th;
	int ep;
	struct server *s;
	_Atomic uint64_t qs;
	struct counters c;
	uint64_t seq, allow_seen;
	struct conn *head, *tail; /* least recently active first */
	unsigned nconns, max_conns;
	bool listening;
	struct pb_buf log;
	char date[40];
	size_t date_len;
	time_t date_at;
	double now;        /* monotonic time after the last epoll_wait */
	char ts[32];       /* decision time (seconds) as pb_time_format writes it */
	int64_t ts_at;
	char pad[64];
};

struct server {
	const struct serve_options *o;
	size_t hlen[SERVE_IN_COUNT]; /* lengths of o->header[] */
	struct pb_catalog *cat;
	int lfd;
	bool unix_sock;
	_Atomic(struct table *) cur;
	_Atomic int stop;
	_Atomic uint64_t reloads, reload_failures;
	_Atomic int64_t version;
	_Atomic int64_t loaded_at;
	struct worker *w;
	unsigned nw;
	char instance[9];
	uint64_t allow_period;
	pthread_mutex_t log_mu;
	int log_fd;
	uint64_t log_size;
	pthread_t reloader;
	pthread_mutex_t rl_mu;
	pthread_cond_t rl_cv;
};

static inline void inc(_Atomic uint64_t *c, uint64_t d)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
	                      memory_order_relaxed);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct server *s, const char *fmt, ...)
{
	(void)s;
	char ts[32];
	pb_time_format((int64_t)time(NULL), ts);
	va_list ap;
	va_start(ap, fmt);
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s probity serve: %s\n", ts, msg);
}

/* ---- tables and reload ------------------------------------------------------ */

static void table_free(struct table *t)
{
	if (!t)
		return;
	if (t->rule_hdr) {
		for (size_t i = 0; i < pb_entitlements_count(t->ents); i++)
			free(atomic_load_explicit(&t->rule_hdr[i], memory_order_relaxed));
		free(t->rule_hdr);
	}
	pb_decider_free(t->dec);
	pb_entitlements_free(t->ents);
	free(t);
}

static enum pb_status table_load(struct server *s, struct pb_ws *ws, int64_t version,
                                 struct table **out, struct pb_error *err)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return pb__err(err, PB_ENOMEM, "out of memory");
	enum pb_status st = pb_entitlements_load(ws, version, &t->ents, err);
	if (!st)
		st = pb_decider_new(t->ents, s->cat, &t->dec, err);
	if (st) {
		table_free(t);
		return st;
	}
	t->version = pb_entitlements_version(t->ents);
	t->version_hdr_len = (size_t)snprintf(t->version_hdr, sizeof(t->version_hdr),
	                                      "X-Probity-Version: %lld\r\n", (long long)t->version);
	size_t n = pb_entitlements_count(t->ents);
	t->rule_hdr = calloc(n ? n : 1, sizeof(*t->rule_hdr));
	if (!t->rule_hdr) {
		table_free(t);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	*out = t;
	return PB_OK;
}

/* The table to start with: the newest version that verifies. A newer one
 * that fails its check is named on stderr and counted as a reload failure,
 * and the last good one serves, as a failed reload would leave it (the
 * reloader keeps retrying the newest). When none verifies, the newest one's
 * error. */
static enum pb_status first_table(struct server *s, struct pb_ws *ws, struct table **out,
                                  struct pb_error *err)
{
	int64_t latest;
	enum pb_status st = pb_entitlements_latest(ws, &latest, err);
	if (st || latest <= 0)
		return st ? st : table_load(s, ws, 0, out, err);
	struct pb_error newest = { 0 };
	for (int64_t v = latest; v > 0; v--) {
		struct pb_error e = { 0 };
		if (!(st = table_load(s, ws, v, out, &e))) {
			if (v != latest)
				logf_(s, "serving entitlements version %lld, the newest that verifies",
				      (long long)v);
			return PB_OK;
		}
		if (st == PB_ENOENT && v != latest)
			continue; /* a gap in the numbering */
		if (st != PB_EVERIFY) {
			if (err)
				*err = e;
			return st;
		}
		if (v == latest)
			newest = e;
		logf_(s, "%s: not served%s", e.message, v > 1 ? ", trying the version before it" : "");
		inc(&s->reload_failures, 1);
	}
	if (err)
		*err = newest;
	return PB_EVERIFY;
}

struct retired {
	struct table *t;
	uint64_t *snap;
	struct retired *next;
};

static bool grace_passed(struct server *s, const struct retired *r)
{
	for (unsigned i = 0; i < s->nw; i++)
		if (atomic_load(&s->w[i].qs) == r->snap[i])
			return false;
	return true;
}

static void *reloader_main(void *arg)
{
	struct server *s = arg;
	struct pb_ws *ws = NULL;
	struct retired *retired = NULL;
	struct pb_error err = { 0 };
	int64_t failed_version = -1;
	double failed_at = 0;
	while (!atomic_load(&s->stop)) {
		pthread_mutex_lock(&s->rl_mu);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		uint64_t ns = (uint64_t)dl.tv_nsec + (uint64_t)s->o->reload_ms * 1000000ull;
		dl.tv_sec += (time_t)(ns / 1000000000ull);
		dl.tv_nsec = (long)(ns % 1000000000ull);
		if (!atomic_load(&s->stop))
			pthread_cond_timedwait(&s->rl_cv, &s->rl_mu, &dl);
		pthread_mutex_unlock(&s->rl_mu);
		/* free what every worker has let go of */
		for (struct retired **pp = &retired; *pp;) {
			struct retired *r = *pp;
			if (grace_passed(s, r)) {
				*pp = r->next;
				table_free(r->t);
				free(r->snap);
				free(r);
			} else {
				pp = &r->next;
			}
		}
		if (atomic_load(&s->stop))
			break;
		if (!ws && pb_ws_open(s->o->ws_path, PB_WS_READONLY, &ws, &err)) {
			ws = NULL;
			if (failed_version != -2 || mono() - failed_at > 5) {
				logf_(s, "reload failed: %s", err.message);
				inc(&s->reload_failures, 1);
				failed_version = -2;
				failed_at = mono();
			}
			continue;
		}
		int64_t latest;
		if (pb_entitlements_latest(ws, &latest, &err)) {
			logf_(s, "reload failed: %s", err.message);
			inc(&s->reload_failures, 1);
			pb_ws_close(ws);
			ws = NULL;
			continue;
		}
		if (latest == atomic_load(&s->version))
			continue;
		if (latest == failed_version && mono() - failed_at < 5)
			continue;
		double t0 = mono();
		struct table *t = NULL;
		if (table_load(s, ws, latest, &t, &err)) {
			logf_(s, "reload of entitlements version %lld failed, still serving version %lld: %s",
			      (long long)latest, (long long)atomic_load(&s->version), err.message);
			inc(&s->reload_failures, 1);
			failed_version = latest;
			failed_at = mono();
			continue;
		}
		struct table *old = atomic_exchange(&s->cur, t);
		atomic_store(&s->version, t->version);
		atomic_store(&s->loaded_at, (int64_t)time(NULL));
		inc(&s->reloads, 1);
		if (!s->o->quiet)
			logf_(s, "serving entitlements version %lld (%zu rules), compiled in %.1f ms",
			      (long long)t->version, pb_entitlements_count(t->ents), (mono() - t0) * 1e3);
		struct retired *r = calloc(1, sizeof(*r));
		uint64_t *snap = calloc(s->nw, sizeof(uint64_t));
		if (!r || !snap) { /* cannot track it: leak rather than free too early */
			free(r);
			free(snap);
			continue;
		}
		for (unsigned i = 0; i < s->nw; i++)
			snap[i] = atomic_load(&s->w[i].qs);
		r->t = old;
		r->snap = snap;
		r->next = retired;
		retired = r;
	}
	/* workers have stopped (main joins them before us) */
	while (retired) {
		struct retired *r = retired;
		retired = r->next;
		table_free(r->t);
		free(r->snap);
		free(r);
	}
	pb_ws_close(ws);
	return NULL;
}

/* ---- decision log ----------------------------------------------------------- */

static void log_rotate_locked(struct server *s)
{
	const char *p = s->o->log_path;
	char from[4200], to[4200];
	for (unsigned k = s->o->log_keep; k >= 1; k--) {
		if (k == 1)
			snprintf(from, sizeof(from), "%s", p);
		else
			snprintf(from, sizeof(from), "%s.%u", p, k - 1);
		snprintf(to, sizeof(to), "%s.%u", p, k);
		rename(from, to);
	}
	if (!s->o->log_keep)
		unlink(p);
	close(s->log_fd);
	s->log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	s->log_size = 0;
	if (s->log_fd < 0)
		logf_(s, "cannot reopen decision log '%s': %s", p, strerror(errno));
}

static void log_flush(struct worker *w)
{
	struct server *s = w->s;
	if (!w->log.len)
		return;
	pthread_mutex_lock(&s->log_mu);
	if (s->log_fd >= 0) {
		size_t off = 0;
		while (off < w->log.len) {
			ssize_t n = write(s->log_fd, w->log.data + off, w->log.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				logf_(s, "decision log write failed: %s", strerror(errno));
				break;
			}
			off += (size_t)n;
		}
		s->log_size += w->log.len;
		if (s->o->log_max_bytes && s->log_size >= s->o->log_max_bytes)
			log_rotate_locked(s);
	}
	pthread_mutex_unlock(&s->log_mu);
	pb_buf_reset(&w->log);
}

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

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_size(char *p, size_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Status line and the common headers; extra is more header lines (CRLF-ended).
 * Built with copies only: this is every answer's path. */
static void respond_n(struct worker *w, struct conn *c, int code, const char *ctype,
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

static void respond(struct worker *w, struct conn *c, int code, const char *ctype,
                    const char *extra, const char *body, size_t blen, bool head_only)
{
	respond_n(w, c, code, ctype, extra, extra ? strlen(extra) : 0, body, blen, head_only);
}

static void respond_error(struct worker *w, struct conn *c, int code, const char *msg,
                          const char *extra)
{
	char body[600];
	struct pb_buf b;
	pb_buf_init(&b, 512);
	pb_buf_json_str(&b, msg, strlen(msg));
	int n = snprintf(body, sizeof(body), "{\"error\":%s,\"status\":%d}\n", b.data ? b.data : "\"\"", code);
	pb_buf_release(&b);
	if (code == 400 || code == 413 || code == 414 || code == 431 || code == 408)
		inc(&w->c.bad_request, 1);
	else if (code == 404)
		inc(&w->c.not_found, 1);
	else if (code == 405)
		inc(&w->c.bad_method, 1);
	respond(w, c, code, "application/json", extra, body, (size_t)n, false);
}

/* ---- decisions ---------------------------------------------------------- */

static const char *const in_names[SERVE_IN_COUNT] = { "account", "subaccount", "service",
	                                              "region", "capability", "sku_meter" };

struct input {
	struct pb_str val[SERVE_IN_COUNT];   /* {NULL, 0} when absent */
	char buf[SERVE_IN_COUNT][PB_RULE_VALUE_LEN_MAX + 1]; /* decoded query values */
};

static struct pb_str in_str(const struct input *in, int k)
{
	return in->val[k];
}

/* Returns NULL when the required inputs are there, else a message. */
static const char *in_missing(const struct input *in, char *msg, size_t cap)
{
	static const int req[] = { SERVE_IN_ACCOUNT, SERVE_IN_SERVICE, SERVE_IN_REGION };
	for (size_t i = 0; i < PB_ARRAY_LEN(req); i++)
		if (!in->val[req[i]].ptr || !pb_str_trim(in->val[req[i]]).len) {
			snprintf(msg, cap, "missing %s", in_names[req[i]]);
			return msg;
		}
	return NULL;
}

static void hex_u64(char *out, uint64_t v, int digits)
{
	static const char hx[] = "0123456789abcdef";
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hx[v & 15];
		v >>= 4;
	}
}

struct decided {
	struct pb_decision d;
	struct pb_decide_request q;
	const struct table *t; /* that decided: its texts stay valid through handle() */
	char id[40];
};

/* The decision time as text, formatted once a second per worker. */
static const char *worker_ts(struct worker *w, int64_t at)
{
	if (at != w->ts_at) {
		pb_time_format(at, w->ts);
		w->ts_at = at;
	}
	return w->ts;
}

/* The decision as JSON into buf (with a newline when nl); returns its length. */
static size_t decision_json(struct worker *w, const struct decided *r, const char *id,
                            bool nl, char *buf, size_t cap)
{
	size_t n = pb_decision_json_cached(r->t->dec, &r->d, &r->q, id, worker_ts(w, r->q.at), buf,
	                                    cap - 1);
	if (nl)
		buf[n++] = '\n';
	return n;
}

static void decide(struct worker *w, const struct input *in, struct decided *out)
{
	struct server *s = w->s;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	out->q = (struct pb_decide_request){ in_str(in, 0), in_str(in, 1), in_str(in, 2),
		                             in_str(in, 3), in_str(in, 4), in_str(in, 5),
		                             (int64_t)ts.tv_sec };
	/* id: instance (8 hex), worker (2), sequence (14) */
	memcpy(out->id, s->instance, 8);
	hex_u64(out->id + 8, (uint64_t)w->id, 2);
	hex_u64(out->id + 10, ++w->seq, 14);
	out->id[24] = '\0';
	const struct table *t = atomic_load_explicit(&s->cur, memory_order_acquire);
	out->t = t;
	pb_decide(t->dec, &out->q, &out->d);
	if (out->d.allow)
		inc(&w->c.allow, 1);
	else
		inc(&w->c.deny, 1);
	if (!s->o->log_path)
		return;
	bool log = !out->d.allow;
	if (out->d.allow && s->allow_period)
		log = (w->allow_seen++ % s->allow_period) == 0;
	if (!log)
		return;
	char line[2600], head[48];
	size_t n = decision_json(w, out, out->id, false, line, sizeof(line));
	if (!n)
		return;
	char *p = PUT(head, "{\"time_ms\":");
	p = put_size(p, (size_t)real_ms());
	*p++ = ',';
	pb_buf_add(&w->log, head, (size_t)(p - head));
	pb_buf_add(&w->log, line + 1, n - 1); /* the decision's fields after its '{' */
	pb_buf_addc(&w->log, '\n');
	if (w->log.len >= LOG_FLUSH)
		log_flush(w);
}

/* Reads the inputs from the query string (GET /v1/decide). */
static int inputs_from_query(struct pb_str query, struct input *in, char *msg, size_t cap)
{
	for (int k = 0; k < SERVE_IN_COUNT; k++) {
		size_t len = 0;
		int r = pb_http_query_get(query, in_names[k], in->buf[k], sizeof(in->buf[k]), &len);
		if (r == -1) {
			snprintf(msg, cap, "bad percent-encoding in '%s'", in_names[k]);
			return -1;
		}
		if (r == -2) {
			snprintf(msg, cap, "'%s' is longer than %d bytes or holds a NUL", in_names[k],
			         PB_RULE_VALUE_LEN_MAX);
			return -1;
		}
		in->val[k] = r == 1 ? pb_str_of(in->buf[k], len) : pb_str_of(NULL, 0);
	}
	return 0;
}

/* Reads the inputs from the request's headers, in one pass over them; the
 * values are views into the request. A header given twice: the first counts. */
static int inputs_from_headers(const struct server *s, const struct pb_http_req *rq,
                               struct input *in, char *msg, size_t cap)
{
	for (int k = 0; k < SERVE_IN_COUNT; k++)
		in->val[k] = pb_str_of(NULL, 0);
	for (size_t i = 0; i < rq->nheaders; i++) {
		struct pb_str name = rq->headers[i].name;
		for (int k = 0; k < SERVE_IN_COUNT; k++) {
			if (name.len != s->hlen[k] || in->val[k].ptr ||
			    !pb_str_ieq_cstr(name, s->o->header[k]))
				continue;
			struct pb_str v = rq->headers[i].value;
			if (v.len > PB_RULE_VALUE_LEN_MAX) {
				snprintf(msg, cap, "header %s is longer than %d bytes", s->o->header[k],
				         PB_RULE_VALUE_LEN_MAX);
				return -1;
			}
			in->val[k] = v.ptr ? v : pb_str_of(name.ptr + name.len, 0);
		}
	}
	return 0;
}

/* The X-Probity-Case/Plan/Reason lines of rule i of table t, rendered once
 * per table (racing workers may both render; one copy is kept). Header
 * values never hold CR or LF (rule text is checked for control characters
 * when published). Stored as a 32-bit length and the text; NULL on ENOMEM. */
static const char *rule_headers(const struct table *t, size_t i, size_t *len)
{
	char *h = atomic_load_explicit(&t->rule_hdr[i], memory_order_acquire);
	if (!h) {
		const struct pb_rule *r = pb_entitlements_rule(t->ents, i);
		char sel[300], tmp[1400];
		pb_rule_selector(r, false, sel, sizeof(sel));
		int n = snprintf(tmp, sizeof(tmp),
		                 "X-Probity-Case: %s\r\nX-Probity-Plan: %s\r\nX-Probity-Reason: %s\r\n",
		                 r->case_ref, r->plan, sel);
		if (n < 0 || (size_t)n >= sizeof(tmp) || !(h = malloc(4 + (size_t)n)))
			return NULL;
		uint32_t l = (uint32_t)n;
		memcpy(h, &l, 4);
		memcpy(h + 4, tmp, (size_t)n);
		char *cur = NULL;
		if (!atomic_compare_exchange_strong_explicit(&t->rule_hdr[i], &cur, h,
		                                             memory_order_acq_rel,
		                                             memory_order_acquire)) {
			free(h);
			h = cur;
		}
	}
	uint32_t l;
	memcpy(&l, h, 4);
	*len = l;
	return h + 4;
}

/* X-Probity-* headers of a decision into buf; returns their length. */
static size_t decision_headers(const struct decided *r, char *buf, size_t cap)
{
	char *p = buf;
	p = PUT(p, "X-Probity-Decision-Id: ");
	p = put(p, r->id, 24);
	p = PUT(p, "\r\n");
	p = put(p, r->t->version_hdr, r->t->version_hdr_len);
	if (r->d.rule && !r->d.allow && r->d.rule_index < pb_entitlements_count(r->t->ents)) {
		size_t hl;
		const char *h = rule_headers(r->t, r->d.rule_index, &hl);
		if (h && (size_t)(p - buf) + hl <= cap)
			p = put(p, h, hl);
	}
	return (size_t)(p - buf);
}

/* ---- metrics ------------------------------------------------------------ */

static void metrics(struct worker *w, struct conn *c, bool head_only)
{
	struct server *s = w->s;
	struct counters sum;
	memset(&sum, 0, sizeof(sum));
	uint64_t open_conns = 0;
	for (unsigned i = 0; i < s->nw; i++) {
		struct counters *k = &s->w[i].c;
#define ADD(f) atomic_store_explicit(&sum.f, atomic_load_explicit(&sum.f, memory_order_relaxed) + atomic_load_explicit(&k->f, memory_order_relaxed), memory_order_relaxed)
		ADD(allow);
		ADD(deny);
		ADD(bad_request);
		ADD(not_found);
		ADD(bad_method);
		ADD(other_error);
		ADD(hist_sum_ns);
		ADD(requests);
		ADD(accepted);
		ADD(closed_timeout);
		ADD(refused);
		for (int b = 0; b <= NBUCKETS; b++)
			ADD(hist[b]);
#undef ADD
		open_conns += s->w[i].nconns;
	}
	struct pb_buf b;
	pb_buf_init(&b, 1 << 20);
	pb_buf_printf(&b,
	               "# HELP probity_decisions_total Decisions answered, by result.\n"
	               "# TYPE probity_decisions_total counter\n"
	               "probity_decisions_total{result=\"allow\"} %llu\n"
	               "probity_decisions_total{result=\"deny\"} %llu\n",
	               (unsigned long long)sum.allow, (unsigned long long)sum.deny);
	pb_buf_printf(&b,
	               "# HELP probity_decision_duration_seconds Time from a parsed request to its "
	               "composed answer.\n# TYPE probity_decision_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (int i = 0; i < NBUCKETS; i++) {
		cum += sum.hist[i];
		pb_buf_printf(&b, "probity_decision_duration_seconds_bucket{le=\"%g\"} %llu\n",
		               bucket_le[i], (unsigned long long)cum);
	}
	cum += sum.hist[NBUCKETS];
	pb_buf_printf(&b,
	               "probity_decision_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	               "probity_decision_duration_seconds_sum %.9f\n"
	               "probity_decision_duration_seconds_count %llu\n",
	               (unsigned long long)cum, (double)sum.hist_sum_ns * 1e-9,
	               (unsigned long long)cum);
	pb_buf_printf(&b,
	               "# HELP probity_entitlements_version Entitlements version in service.\n"
	               "# TYPE probity_entitlements_version gauge\n"
	               "probity_entitlements_version %lld\n"
	               "# HELP probity_entitlements_loaded_timestamp_seconds When it was loaded.\n"
	               "# TYPE probity_entitlements_loaded_timestamp_seconds gauge\n"
	               "probity_entitlements_loaded_timestamp_seconds %lld\n"
	               "# HELP probity_reloads_total Entitlement versions loaded after start.\n"
	               "# TYPE probity_reloads_total counter\n"
	               "probity_reloads_total %llu\n"
	               "# HELP probity_reload_failures_total Versions that could not be loaded "
	               "(the last good one kept serving).\n"
	               "# TYPE probity_reload_failures_total counter\n"
	               "probity_reload_failures_total %llu\n",
	               (long long)atomic_load(&s->version), (long long)atomic_load(&s->loaded_at),
	               (unsigned long long)atomic_load(&s->reloads),
	               (unsigned long long)atomic_load(&s->reload_failures));
	pb_buf_printf(&b,
	               "# HELP probity_http_requests_total HTTP requests answered.\n"
	               "# TYPE probity_http_requests_total counter\n"
	               "probity_http_requests_total %llu\n"
	               "# HELP probity_http_errors_total Requests refused, by kind.\n"
	               "# TYPE probity_http_errors_total counter\n"
	               "probity_http_errors_total{kind=\"bad-request\"} %llu\n"
	               "probity_http_errors_total{kind=\"not-found\"} %llu\n"
	               "probity_http_errors_total{kind=\"method-not-allowed\"} %llu\n"
	               "probity_http_errors_total{kind=\"server\"} %llu\n"
	               "# HELP probity_connections Open client connections.\n"
	               "# TYPE probity_connections gauge\n"
	               "probity_connections %llu\n"
	               "# HELP probity_connections_accepted_total Connections accepted.\n"
	               "# TYPE probity_connections_accepted_total counter\n"
	               "probity_connections_accepted_total %llu\n"
	               "# HELP probity_connections_closed_total Connections closed by the server, by why.\n"
	               "# TYPE probity_connections_closed_total counter\n"
	               "probity_connections_closed_total{why=\"timeout\"} %llu\n"
	               "probity_connections_closed_total{why=\"limit\"} %llu\n",
	               (unsigned long long)sum.requests, (unsigned long long)sum.bad_request,
	               (unsigned long long)sum.not_found, (unsigned long long)sum.bad_method,
	               (unsigned long long)sum.other_error,
	               (unsigned long long)open_conns, (unsigned long long)sum.accepted,
	               (unsigned long long)sum.closed_timeout, (unsigned long long)sum.refused);
	respond(w, c, 200, "text/plain; version=0.0.4", NULL, b.data ? b.data : "", b.len, head_only);
	pb_buf_release(&b);
}

/* ---- routing ---------------------------------------------------------- */

static bool str_is(struct pb_str s, const char *lit)
{
	return pb_str_eq_cstr(s, lit);
}

static void handle(struct worker *w, struct conn *c, const struct pb_http_req *rq,
                   const char *body, size_t blen)
{
	struct server *s = w->s;
	char msg[400], hdrs[1200];
	struct input in;
	struct decided r;
	bool get = str_is(rq->method, "GET"), head = str_is(rq->method, "HEAD");
	bool post = str_is(rq->method, "POST");
	struct pb_str path = rq->path;
	uint64_t t0 = mono_ns();
	bool timed = false;
	size_t hn;

	if (str_is(path, "/v1/decide")) {
		if (!get && !head) {
			respond_error(w, c, 405, "use GET", "Allow: GET, HEAD\r\n");
			return;
		}
		if (inputs_from_query(rq->query, &in, msg, sizeof(msg)) || in_missing(&in, msg, sizeof(msg))) {
			respond_error(w, c, 400, msg, NULL);
			return;
		}
		decide(w, &in, &r);
		char json[2600];
		size_t n = decision_json(w, &r, r.id, true, json, sizeof(json));
		hn = decision_headers(&r, hdrs, sizeof(hdrs));
		respond_n(w, c, 200, "application/json", hdrs, hn, json, n, head);
		timed = true;
	} else if (str_is(path, "/v1/authz")) {
		if (!get && !head) {
			respond_error(w, c, 405, "use GET", "Allow: GET, HEAD\r\n");
			return;
		}
		if (inputs_from_headers(s, rq, &in, msg, sizeof(msg)) || in_missing(&in, msg, sizeof(msg))) {
			respond_error(w, c, 400, msg, NULL);
			return;
		}
		decide(w, &in, &r);
		hn = decision_headers(&r, hdrs, sizeof(hdrs));
		if (r.d.allow) {
			respond_n(w, c, 204, NULL, hdrs, hn, NULL, 0, true);
		} else {
			char json[2600];
			size_t n = decision_json(w, &r, r.id, true, json, sizeof(json));
			respond_n(w, c, 403, "application/json", hdrs, hn, json, n, head);
		}
		timed = true;
	} else if (path.len >= 9 && memcmp(path.ptr, "/v1/envoy", 9) == 0 &&
	           (path.len == 9 || path.ptr[9] == '/')) {
		/* Envoy ext_authz HTTP service: the client's method and path, any of them */
		if (inputs_from_headers(s, rq, &in, msg, sizeof(msg)) || in_missing(&in, msg, sizeof(msg))) {
			respond_error(w, c, 400, msg, NULL);
			return;
		}
		decide(w, &in, &r);
		hn = decision_headers(&r, hdrs, sizeof(hdrs));
		if (r.d.allow) {
			respond_n(w, c, 200, "text/plain", hdrs, hn, "", 0, head);
		} else {
			char json[2600];
			size_t n = decision_json(w, &r, r.id, true, json, sizeof(json));
			respond_n(w, c, 403, "application/json", hdrs, hn, json, n, head);
		}
		timed = true;
	} else if (str_is(path, "/v1/data/probity/allow") || str_is(path, "/v1/data/probity/decision")) {
		if (!post) {
			respond_error(w, c, 405, "use POST with {\"input\": {...}}", "Allow: POST\r\n");
			return;
		}
		struct pb_opa_input oi;
		struct pb_error err = { 0 };
		if (pb_opa_input_parse(body, blen, &oi, &err)) {
			respond_error(w, c, 400, err.message, NULL);
			return;
		}
		for (int k = 0; k < SERVE_IN_COUNT; k++) {
			in.val[k] = pb_str_of(NULL, 0);
			if (oi.off[k] < 0)
				continue;
			const char *v = oi.store + oi.off[k];
			size_t n = strlen(v);
			if (n > PB_RULE_VALUE_LEN_MAX) {
				snprintf(msg, sizeof(msg), "'%s' is longer than %d bytes", in_names[k],
				         PB_RULE_VALUE_LEN_MAX);
				respond_error(w, c, 400, msg, NULL);
				return;
			}
			in.val[k] = pb_str_of(v, n);
		}
		if (in_missing(&in, msg, sizeof(msg))) {
			respond_error(w, c, 400, msg, NULL);
			return;
		}
		decide(w, &in, &r);
		char json[2800];
		size_t n;
		if (path.len == strlen("/v1/data/probity/allow")) {
			n = (size_t)snprintf(json, sizeof(json), "{\"result\":%s,\"decision_id\":\"%s\"}\n",
			                     r.d.allow ? "true" : "false", r.id);
		} else {
			memcpy(json, "{\"result\":", 10);
			n = 10 + decision_json(w, &r, NULL, false, json + 10, sizeof(json) - 60);
			n += (size_t)snprintf(json + n, sizeof(json) - n, ",\"decision_id\":\"%s\"}\n", r.id);
		}
		respond(w, c, 200, "application/json", NULL, json, n, false);
		timed = true;
	} else if (str_is(path, "/healthz") || str_is(path, "/readyz") || str_is(path, "/metrics")) {
		if (!get && !head) {
			respond_error(w, c, 405, "use GET", "Allow: GET, HEAD\r\n");
			return;
		}
		if (path.ptr[1] == 'm') {
			metrics(w, c, head);
		} else if (path.ptr[1] == 'r' && atomic_load(&s->stop)) {
			respond(w, c, 503, "text/plain", NULL, "draining\n", 9, head);
		} else {
			char txt[64];
			int n = snprintf(txt, sizeof(txt), "ok version %lld\n", (long long)atomic_load(&s->version));
			respond(w, c, 200, "text/plain", NULL, txt, (size_t)n, head);
		}
	} else {
		respond_error(w, c, 404, "no such endpoint (see docs/gateways.md)", NULL);
	}
	if (timed) {
		uint64_t dt = mono_ns() - t0;
		int b = 0;
		double secs = (double)dt * 1e-9;
		while (b < NBUCKETS && secs > bucket_le[b])
			b++;
		inc(&w->c.hist[b], 1);
		inc(&w->c.hist_sum_ns, dt);
	}
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

static void lru_touch(struct worker *w, struct conn *c)
{
	if (w->tail == c)
		return;
	lru_unlink(w, c);
	c->prev = w->tail;
	if (w->tail)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
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
		handle(w, c, &rq, p + r, rq.content_length);
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

static void accept_all(struct worker *w)
{
	struct server *s = w->s;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && w->head && !conn_busy(w->head)) {
				inc(&w->c.refused, 1);
				conn_close(w, w->head); /* make room: the longest-idle connection goes */
				continue;
			}
			if (errno == EMFILE || errno == ENFILE) {
				/* nothing to evict: stop listening until the next tick */
				epoll_ctl(w->ep, EPOLL_CTL_DEL, s->lfd, NULL);
				w->listening = false;
			}
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
		if (!s->unix_sock) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		c->fd = fd;
		c->last = mono();
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		w->nconns++;
		inc(&w->c.accepted, 1);
		c->prev = w->tail;
		if (w->tail)
			w->tail->next = c;
		else
			w->head = c;
		w->tail = c;
	}
}

static void listen_on(struct worker *w)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->s->lfd, &ev) == 0)
		w->listening = true;
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

static void *worker_main(void *arg)
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
			if (!c) {
				accept_all(w);
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
			log_flush(w);
			last_flush = now;
			if (!w->listening && !atomic_load(&s->stop))
				listen_on(w);
		}
		if (atomic_load(&s->stop)) {
			if (drain_until == 0) {
				drain_until = now + s->o->drain_s;
				if (w->listening)
					epoll_ctl(w->ep, EPOLL_CTL_DEL, s->lfd, NULL);
				w->listening = false;
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
	log_flush(w);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------- */

static int open_listener(struct server *s)
{
	const char *l = s->o->listen;
	int fd = -1;
	if (!strncmp(l, "unix:", 5) || l[0] == '/') {
		const char *path = l[0] == '/' ? l : l + 5;
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(path) >= sizeof(sa.sun_path))
			return cli_failf("cannot listen on '%s': socket path too long", l) * -1;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		struct stat sb;
		if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
			unlink(path); /* a stale socket from an earlier run */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			goto fail;
		s->unix_sock = true;
	} else {
		const char *colon = strrchr(l, ':');
		if (!colon)
			return -cli_failf("cannot listen on '%s': expected HOST:PORT or unix:PATH", l);
		char host[256];
		size_t hl = (size_t)(colon - l);
		if (hl >= sizeof(host))
			return -cli_failf("cannot listen on '%s': host too long", l);
		memcpy(host, l, hl);
		host[hl] = '\0';
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end || port < 0 || port > 65535)
			return -cli_failf("cannot listen on '%s': bad port", l);
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
			return -cli_failf("cannot listen on '%s': host must be an IP address", l);
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0)
			goto fail;
	}
	if (listen(fd, 4096) != 0)
		goto fail;
	s->lfd = fd;
	return 0;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	return -cli_failf("cannot listen on '%s': %s", l, strerror(e));
}

int serve_run(const struct serve_options *o)
{
	struct server s;
	memset(&s, 0, sizeof(s));
	s.o = o;
	for (int k = 0; k < SERVE_IN_COUNT; k++)
		s.hlen[k] = strlen(o->header[k]);
	s.lfd = -1;
	s.log_fd = -1;
	int rc = 1;
	struct pb_error err = { 0 };
	struct pb_ws *ws = NULL;
	struct table *t = NULL;
	pthread_mutex_init(&s.log_mu, NULL);
	pthread_mutex_init(&s.rl_mu, NULL);
	pthread_cond_init(&s.rl_cv, NULL);
	uint8_t rnd[4];
	pb_random(rnd, sizeof(rnd));
	pb_hex(rnd, 4, s.instance);
	s.allow_period = o->log_allow_sample <= 0 ? 0
	               : o->log_allow_sample >= 1 ? 1
	                                          : (uint64_t)llround(1.0 / o->log_allow_sample);

	/* the first table: without it there is nothing to serve */
	if (pb_catalog_load(o->catalog_dir, &s.cat, &err) || pb_ws_open(o->ws_path, PB_WS_READONLY, &ws, &err) ||
	    first_table(&s, ws, &t, &err)) {
		cli_fail(&err);
		goto out;
	}
	pb_ws_close(ws);
	ws = NULL;
	atomic_store(&s.cur, t);
	atomic_store(&s.version, t->version);
	atomic_store(&s.loaded_at, (int64_t)time(NULL));
	if (o->log_path) {
		s.log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (s.log_fd < 0) {
			cli_failf("cannot open decision log '%s': %s", o->log_path, strerror(errno));
			goto out;
		}
		struct stat sb;
		if (fstat(s.log_fd, &sb) == 0)
			s.log_size = (uint64_t)sb.st_size;
	}
	/* room for many idle connections */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (open_listener(&s) != 0)
		goto out;

	/* signals: the main thread waits for them; other threads never see them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	s.nw = o->workers ? o->workers : 1;
	s.w = calloc(s.nw, sizeof(struct worker));
	if (!s.w) {
		cli_failf("out of memory");
		goto out;
	}
	unsigned started = 0;
	for (unsigned i = 0; i < s.nw; i++) {
		struct worker *w = &s.w[i];
		w->id = (int)i;
		w->s = &s;
		w->max_conns = o->max_conns / s.nw ? o->max_conns / s.nw : 1;
		pb_buf_init(&w->log, 1 << 24);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (w->ep < 0 || pthread_create(&w->th, NULL, worker_main, w) != 0) {
			cli_failf("cannot start worker %u: %s", i, strerror(errno));
			atomic_store(&s.stop, 1);
			break;
		}
		started++;
	}
	bool reloader = started == s.nw && pthread_create(&s.reloader, NULL, reloader_main, &s) == 0;
	if (started == s.nw) {
		logf_(&s, "listening on %s with %u workers, entitlements version %lld (%zu rules)",
		      o->listen, s.nw, (long long)t->version, pb_entitlements_count(t->ents));
		int sig = 0;
		sigwait(&set, &sig);
		logf_(&s, "%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		atomic_store(&s.stop, 1);
		rc = 0;
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
	for (unsigned i = 0; i < s.nw; i++) {
		total += atomic_load(&s.w[i].c.requests);
		if (s.w[i].ep >= 0)
			close(s.w[i].ep);
		pb_buf_release(&s.w[i].log);
	}
	if (rc == 0)
		logf_(&s, "stopped after %llu requests", (unsigned long long)total);
out:
	if (s.lfd >= 0) {
		close(s.lfd);
		if (s.unix_sock)
			unlink(o->listen[0] == '/' ? o->listen : o->listen + 5);
	}
	if (s.log_fd >= 0)
		close(s.log_fd);
	free(s.w);
	table_free(atomic_load(&s.cur));
	pb_ws_close(ws);
	pb_catalog_free(s.cat);
	pthread_mutex_destroy(&s.log_mu);
	pthread_mutex_destroy(&s.rl_mu);
	pthread_cond_destroy(&s.rl_cv);
	return rc;
}
