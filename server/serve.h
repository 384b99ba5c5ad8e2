/* serve.h - probity serve, as a front calls it: the options and the one entry.
 *
 * The decision service behind API gateways. cli/cmd_serve.c parses the
 * command line into struct serve_options and calls serve_run; everything else
 * in server/ is private to it (server.h).
 */
#ifndef PB_SERVE_H
#define PB_SERVE_H

#include "probity.h"

#include <stdbool.h>
#include <stdint.h>

/* The decision inputs, in this order wherever server/ keeps them by index
 * (header names here, query keys, OPA input fields: pb_opa_input's order). */
enum { SERVE_IN_ACCOUNT, SERVE_IN_SUBACCOUNT, SERVE_IN_SERVICE, SERVE_IN_REGION,
       SERVE_IN_CAPABILITY, SERVE_IN_SKU_METER, SERVE_IN_COUNT };

struct serve_options {
	const char *ws_path;
	const char *catalog_dir;
	const char *listen;          /* "HOST:PORT", "unix:PATH" or "/PATH" */
	const char *metrics_listen;  /* a second listener that answers /metrics (and /healthz,
	                                /readyz) only; the main one then 404s /metrics; NULL:
	                                /metrics on the main one */
	unsigned socket_mode;        /* Unix sockets' mode, whatever the umask (0: 0600) */
	const char *token_file;      /* a bearer token every request but /healthz and /readyz
	                                must carry (401 otherwise); NULL: none */
	bool insecure_listen;        /* allow an address other than loopback without a token */
	const char *vkey;            /* the log's public key, pinned (pb_ws_pin_vkey); NULL: the
	                                workspace's signing.key or signing.pub */
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

/* Runs the server until SIGTERM or SIGINT, then drains. Returns PB_OK after
 * such a stop; when it cannot start (no catalog, no workspace, no version
 * that verifies, the address, the decision log, a thread, the token file, an
 * address other than loopback with no token), the error in err
 * (the caller prints it). While running, it writes its own timestamped lines
 * on stderr: start, reloads, failures, stop. */
enum pb_status serve_run(const struct serve_options *o, struct pb_error *err);

#endif
