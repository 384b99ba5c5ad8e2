/* http.h - the request side of HTTP/1.1 for probity serve: parsing a request
 * head, percent-decoding query strings, reading an OPA-style JSON input.
 *
 * Pure functions over bytes, no I/O, so that server/ stays a socket loop and
 * these can be unit-tested and fuzzed (fuzz/fuzz_http.c). Views point into
 * the caller's buffer.
 */
#ifndef PB_HTTP_H
#define PB_HTTP_H

#include "util/util.h"

#define PB__HTTP_LINE_MAX 8192   /* request line; longer -> 414 */
#define PB__HTTP_HEAD_MAX 16384  /* request line + headers; longer -> 431 */
#define PB__HTTP_HEADERS_MAX 64  /* header fields; more -> 431 */
#define PB__HTTP_BODY_MAX 65536  /* request body; larger -> 413 */

struct pb__http_header {
	struct pb_str name, value; /* value trimmed of spaces and tabs */
};

struct pb__http_req {
	struct pb_str method, target, path, query; /* query without '?', may be empty */
	int minor;                                  /* HTTP/1.minor: 0 or 1 */
	struct pb__http_header headers[PB__HTTP_HEADERS_MAX];
	size_t nheaders;
	size_t head_len;        /* bytes of the head, through the blank line */
	size_t content_length;  /* 0 when absent */
	bool keep_alive;        /* after this request (HTTP/1.1 default, Connection header) */
	bool expect_continue;   /* Expect: 100-continue */
};

/* Parses the request head at buf[0..len). Returns the head length (> 0) when
 * complete, 0 when more bytes are needed, or a negative HTTP status for a
 * request to refuse: -400 (malformed), -413 (body over the cap), -414 (request
 * line too long), -431 (head too large or too many headers), -501 (chunked or
 * other transfer codings), -505 (not HTTP/1.x). Bare LF line ends are
 * accepted; obsolete line folding is refused. */
int pb__http_parse(const char *buf, size_t len, struct pb__http_req *req);

/* The value of header name (ASCII case-insensitive), or {NULL, 0}. */
struct pb_str pb__http_header(const struct pb__http_req *req, const char *name);

/* Finds key in an application/x-www-form-urlencoded query and percent-decodes
 * its value ('+' is a space) into out (cap bytes, NUL-terminated). Returns 1
 * when found, 0 when absent, -1 for bad percent-encoding, -2 when the decoded
 * value does not fit or holds a NUL. *outlen gets the decoded length. */
int pb__http_query(struct pb_str query, const char *key, char *out, size_t cap, size_t *outlen);

/* Decision inputs read from {"input": {"account": .., "subaccount": ..,
 * "service": .., "region": .., "capability": .., "sku_meter": ..}} into out,
 * a flat store of NUL-terminated strings (cap bytes); each field gets an
 * offset into it, or -1 when absent. Non-string values and other keys in
 * "input" are ignored. Returns PB_OK, or PB_EFORMAT with a short reason in
 * err for JSON that is not an object with an "input" object. */
struct pb__opa_input {
	int off[6]; /* account, subaccount, service, region, capability, sku_meter */
	char store[2048];
};
enum pb_status pb__opa_input_parse(const char *body, size_t len, struct pb__opa_input *out,
                                   struct pb_error *err);

#endif /* PB_HTTP_H */
