/* server.h - probity serve: the decision service behind API gateways. */
#ifndef PB_SERVER_H
#define PB_SERVER_H

#include <stdbool.h>
#include <stdint.h>

enum { SERVE_IN_ACCOUNT, SERVE_IN_SUBACCOUNT, SERVE_IN_SERVICE, SERVE_IN_REGION,
       SERVE_IN_CAPABILITY, SERVE_IN_SKU_METER, SERVE_IN_COUNT };

struct serve_options {
	const char *ws_path;
	const char *catalog_dir;
	const char *listen;          /* "HOST:PORT", "unix:PATH" or "/PATH" */
	unsigned workers;            /* event-loop threads */
	const char *header[SERVE_IN_COUNT]; /* request header names for auth_request / ext_authz */
	const char *log_path;        /* decision log (JSON lines), NULL for none */
	double log_allow_sample;     /* share of allows logged, 0..1 (denies: all) */
	uint64_t log_max_bytes;      /* rotate the log past this size */
	unsigned log_keep;           /* rotated files kept: PATH.1 .. PATH.N */
	unsigned reload_ms;          /* how often the workspace is polled for a new version */
	unsigned idle_timeout_s;     /* keep-alive connection with no request */
	unsigned request_timeout_s;  /* a request started but not complete (slow clients) */
	unsigned max_conns;          /* open connections, all workers together */
	unsigned drain_s;            /* on SIGTERM, time left to finish requests in flight */
	bool quiet;                  /* no reload lines on stderr */
};

/* Runs the server until SIGTERM or SIGINT; returns the exit code. */
int serve_run(const struct serve_options *o);

#endif
