/* server.h - what the files of server/ share; private to server/.
 *
 * server.c   start and stop: catalog, first table, listener, threads, signals
 * loop.c     a worker's epoll loop: connections, reading, answering, timeouts
 * routes.c   the route table and its handlers: decisions, health, OPA input
 * metrics.c  /metrics (Prometheus text) from the workers' counters
 * reload.c   decision tables: loading, the first one, the reloader thread
 * declog.c   the decision log: per-worker buffers, flushing, rotation
 *
 * Only include/probity.h and serve.h from outside: server/ is a front over
 * the public API, like cli/.
 */
#ifndef PB_SERVER_H
#define PB_SERVER_H

#include "serve.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define RBUF_MIN 4096
#define RBUF_MAX (PB_HTTP_HEAD_MAX + PB_HTTP_BODY_MAX)
#define WBUF_HIGH (256 * 1024) /* stop reading requests while this much is unsent */
#define LOG_FLUSH (32 * 1024)
#define TICK_MS 100
#define NBUCKETS 12 /* of the decision-time histogram (metrics.c) */
#define TOKEN_MAX 256 /* bytes of a bearer token (--token-file) */

/* ---- shared state --------------------------------------------------------- */

/* One compiled entitlements version, as the workers answer from it. */
struct table {
	struct pb_entitlements *ents;
	struct pb_decider *dec;
	int64_t version;
	char version_hdr[48];        /* "X-Probity-Version: N\r\n" */
	size_t version_hdr_len;
	_Atomic(char *) *rule_hdr;   /* per rule, its X-Probity-Case/Plan/Reason lines */
};

struct counters {
	_Atomic uint64_t allow, deny, bad_request, ambiguous, not_found, bad_method, other_error;
	_Atomic uint64_t hist[NBUCKETS + 1];
	_Atomic uint64_t hist_sum_ns, requests, accepted, closed_timeout, refused;
	_Atomic uint64_t unauthorized; /* 401: no or a wrong bearer token */
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
	bool metrics_port; /* accepted on the metrics listener */
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
	int lfd, mfd;          /* listeners: main, metrics (-1: none) */
	bool unix_sock, metrics_unix;
	char token[TOKEN_MAX]; /* the bearer token, zero-padded; token_len 0: none */
	size_t token_len;
	_Atomic(struct table *) cur;
	_Atomic int stop;
	_Atomic uint64_t reloads, reload_failures;
	_Atomic uint64_t refused_versions; /* PB_EVERIFY: not on the log, or not as logged */
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

/* A decision as routes.c answers it and declog.c logs it. */
struct decided {
	struct pb_decision d;
	struct pb_decide_request q;
	const struct table *t; /* that decided: its texts stay valid through the request */
	char id[40];
};

/* ---- small helpers ---------------------------------------------------------- */

/* A counter only its worker writes; others read it (metrics). */
static inline void inc(_Atomic uint64_t *c, uint64_t d)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
	                      memory_order_relaxed);
}

static inline double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Copies for composing answers: each returns the end of what it wrote. */
static inline char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT(p, lit) put((p), (lit), sizeof(lit) - 1)

static inline char *put_size(char *p, size_t v)
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

/* server.c: a timestamped line "probity serve: ..." on stderr (the server's
 * own log; the library never prints), and errors for serve_run's caller. */
void serve_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The workspace, read-only, with the log's key pinned when serve was given it. */
enum pb_status server_ws_open(const struct serve_options *o, struct pb_ws **ws,
                              struct pb_error *err);
enum pb_status serve_fail(struct pb_error *err, enum pb_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* loop.c */
void *worker_main(void *arg);
/* Queues an answer on c: status line, the common headers, extra (elen bytes
 * of CRLF-ended header lines), then the body unless head_only. */
void respond_n(struct worker *w, struct conn *c, int code, const char *ctype, const char *extra,
               size_t elen, const char *body, size_t blen, bool head_only);
void respond(struct worker *w, struct conn *c, int code, const char *ctype, const char *extra,
             const char *body, size_t blen, bool head_only);
/* A JSON error answer {"error": msg, "status": code}, counted by kind. */
void respond_error(struct worker *w, struct conn *c, int code, const char *msg,
                   const char *extra);
/* The same, not counted (the caller counts it under its own kind). */
void respond_error_uncounted(struct worker *w, struct conn *c, int code, const char *msg,
                             const char *extra);

/* server.c: whether value (an Authorization header) is "Bearer <token>",
 * compared in time independent of the token's bytes. */
bool serve_token_ok(const struct server *s, struct pb_str value);

/* routes.c: answers one complete request (head rq, body[0..blen)) on c. */
void route_request(struct worker *w, struct conn *c, const struct pb_http_req *rq,
                   const char *body, size_t blen);
/* The decision as JSON into buf (with a newline when nl); returns its length. */
size_t decision_json(struct worker *w, const struct decided *r, const char *id, bool nl,
                     char *buf, size_t cap);

/* metrics.c */
void metrics_observe(struct worker *w, uint64_t ns); /* one decision's time */
void metrics_answer(struct worker *w, struct conn *c, bool head_only);

/* reload.c */
enum pb_status table_first(struct server *s, struct pb_ws *ws, struct table **out,
                           struct pb_error *err);
void table_free(struct table *t);
void *reloader_main(void *arg);

/* declog.c */
enum pb_status declog_open(struct server *s, struct pb_error *err);
void declog_close(struct server *s);
/* Appends decision r to w's buffer (the caller has sampled it in). */
void declog_write(struct worker *w, const struct decided *r);
void declog_flush(struct worker *w);

#endif
