/* routes.c - what the server answers: the route table and its handlers.
 *
 * A request is matched against routes[] by path (method next: a known path
 * with another method is 405 with an Allow header). Decision handlers read
 * the inputs from the query, the headers or an OPA JSON body, decide against
 * the table in service (read once per request, never locked: reload.c), and
 * answer with the decision as JSON and X-Probity-* headers. The table's
 * per-rule texts are rendered once per table and kept.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

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
	for (size_t i = 0; i < ARRAY_LEN(req); i++)
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

/* The decision time as text, formatted once a second per worker. */
static const char *worker_ts(struct worker *w, int64_t at)
{
	if (at != w->ts_at) {
		pb_time_format(at, w->ts);
		w->ts_at = at;
	}
	return w->ts;
}

size_t decision_json(struct worker *w, const struct decided *r, const char *id, bool nl,
                     char *buf, size_t cap)
{
	size_t n = pb_decision_json_cached(r->t->dec, &r->d, &r->q, id, worker_ts(w, r->q.at), buf,
	                                    cap - 1);
	if (nl)
		buf[n++] = '\n';
	return n;
}

/* Decides in against the table in service into out; counts the answer and
 * hands it to the decision log when the log samples it (every deny, one
 * allow in allow_period). */
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
	if (log)
		declog_write(w, out);
}

/* Every input is named at most once: a second value (a repeated query key
 * or header, or a value listing several with commas, which RFC 9110 reads
 * as the same header given twice) is refused, never resolved to one of
 * them, so a client cannot slip its own value beside the gateway's. Commas
 * are allowed in sku_meter only: meter names may hold them. */
static bool is_list(int k, const char *v, size_t n)
{
	return k != SERVE_IN_SKU_METER && n && memchr(v, ',', n);
}

#define IN_AMBIGUOUS (-2) /* from inputs_from_*: refused as ambiguous, msg says which */

/* Reads the inputs from the query string (GET /v1/decide). Returns 0, -1
 * for a bad value or IN_AMBIGUOUS, with msg. */
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
		if (r == -3 || (r == 1 && is_list(k, in->buf[k], len))) {
			snprintf(msg, cap, "'%s' is given more than once (or as a comma-separated list)",
			         in_names[k]);
			return IN_AMBIGUOUS;
		}
		in->val[k] = r == 1 ? pb_str_of(in->buf[k], len) : pb_str_of(NULL, 0);
	}
	return 0;
}

/* Reads the inputs from the request's headers, in one pass over them; the
 * values are views into the request. Returns 0, -1 for a value too long or
 * IN_AMBIGUOUS for a header given twice or listing values, with msg. */
static int inputs_from_headers(const struct server *s, const struct pb_http_req *rq,
                               struct input *in, char *msg, size_t cap)
{
	for (int k = 0; k < SERVE_IN_COUNT; k++)
		in->val[k] = pb_str_of(NULL, 0);
	for (size_t i = 0; i < rq->nheaders; i++) {
		struct pb_str name = rq->headers[i].name;
		for (int k = 0; k < SERVE_IN_COUNT; k++) {
			if (name.len != s->hlen[k] || !pb_str_ieq_cstr(name, s->o->header[k]))
				continue;
			struct pb_str v = rq->headers[i].value;
			if (in->val[k].ptr || is_list(k, v.ptr, v.len)) {
				snprintf(msg, cap,
				         "header %s is given more than once (or as a comma-separated list)",
				         s->o->header[k]);
				return IN_AMBIGUOUS;
			}
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


/* ---- handlers ------------------------------------------------------------ */

/* One request as a handler sees it. */
struct request {
	const struct pb_http_req *http;
	const char *body; /* content_length bytes */
	size_t blen;
	bool head;        /* HEAD: the answer's headers only */
};

/* A handler answers rq on c; it returns true when it answered a decision
 * (timed into the decision-time histogram), false otherwise. */
typedef bool handler_fn(struct worker *w, struct conn *c, const struct request *rq);

/* Refuses a request whose inputs could not be read: 400 with msg, counted
 * as ambiguous when r is IN_AMBIGUOUS (a value given twice), else as a bad
 * request. */
static void refuse_inputs(struct worker *w, struct conn *c, int r, const char *msg)
{
	if (r == IN_AMBIGUOUS) {
		inc(&w->c.ambiguous, 1);
		respond_error_uncounted(w, c, 400, msg, NULL);
	} else {
		respond_error(w, c, 400, msg, NULL);
	}
}

/* GET /v1/decide?account=..: the decision as JSON, allow or deny alike. */
static bool on_decide(struct worker *w, struct conn *c, const struct request *rq)
{
	char msg[400], hdrs[1200], json[2600];
	struct input in;
	struct decided r;
	int bad = inputs_from_query(rq->http->query, &in, msg, sizeof(msg));
	if (bad || in_missing(&in, msg, sizeof(msg))) {
		refuse_inputs(w, c, bad, msg);
		return false;
	}
	decide(w, &in, &r);
	size_t n = decision_json(w, &r, r.id, true, json, sizeof(json));
	size_t hn = decision_headers(&r, hdrs, sizeof(hdrs));
	respond_n(w, c, 200, "application/json", hdrs, hn, json, n, rq->head);
	return true;
}

/* Inputs from the request's headers (gateways that forward a request's head):
 * allow answers allow_code without a body, deny 403 with the decision. */
static bool decide_by_headers(struct worker *w, struct conn *c, const struct request *rq,
                              int allow_code)
{
	char msg[400], hdrs[1200];
	struct input in;
	struct decided r;
	int bad = inputs_from_headers(w->s, rq->http, &in, msg, sizeof(msg));
	if (bad || in_missing(&in, msg, sizeof(msg))) {
		refuse_inputs(w, c, bad, msg);
		return false;
	}
	decide(w, &in, &r);
	size_t hn = decision_headers(&r, hdrs, sizeof(hdrs));
	if (r.d.allow) {
		respond_n(w, c, allow_code, allow_code == 204 ? NULL : "text/plain", hdrs, hn, "", 0,
		          rq->head);
	} else {
		char json[2600];
		size_t n = decision_json(w, &r, r.id, true, json, sizeof(json));
		respond_n(w, c, 403, "application/json", hdrs, hn, json, n, rq->head);
	}
	return true;
}

/* GET /v1/authz: nginx auth_request (204 allow, 403 deny). */
static bool on_authz(struct worker *w, struct conn *c, const struct request *rq)
{
	return decide_by_headers(w, c, rq, 204);
}

/* ANY /v1/envoy/...: Envoy's ext_authz HTTP service (200 allow, 403 deny);
 * the path and method are the client's, whatever they are. */
static bool on_envoy(struct worker *w, struct conn *c, const struct request *rq)
{
	return decide_by_headers(w, c, rq, 200);
}

/* Decides {"input": {...}} of an OPA data API request into r; false when
 * it answered an error instead. The request's strings are views into *oi,
 * which must live as long as r. */
static bool opa_decide(struct worker *w, struct conn *c, const struct request *rq,
                       struct pb_opa_input *oi, struct decided *r)
{
	char msg[400];
	struct input in;
	struct pb_error err = { 0 };
	enum pb_status st = pb_opa_input_parse(rq->body, rq->blen, oi, &err);
	if (st) {
		/* a key given twice in the JSON (PB_EEXIST) is ambiguous too */
		refuse_inputs(w, c, st == PB_EEXIST ? IN_AMBIGUOUS : -1, err.message);
		return false;
	}
	for (int k = 0; k < SERVE_IN_COUNT; k++) {
		in.val[k] = pb_str_of(NULL, 0);
		if (oi->off[k] < 0)
			continue;
		const char *v = oi->store + oi->off[k];
		size_t n = strlen(v);
		if (n > PB_RULE_VALUE_LEN_MAX) {
			snprintf(msg, sizeof(msg), "'%s' is longer than %d bytes", in_names[k],
			         PB_RULE_VALUE_LEN_MAX);
			respond_error(w, c, 400, msg, NULL);
			return false;
		}
		if (is_list(k, v, n)) {
			snprintf(msg, sizeof(msg), "'%s' is a comma-separated list", in_names[k]);
			refuse_inputs(w, c, IN_AMBIGUOUS, msg);
			return false;
		}
		in.val[k] = pb_str_of(v, n);
	}
	if (in_missing(&in, msg, sizeof(msg))) {
		respond_error(w, c, 400, msg, NULL);
		return false;
	}
	decide(w, &in, r);
	return true;
}

/* POST /v1/data/probity/allow: {"result": true|false, "decision_id": ..}. */
static bool on_opa_allow(struct worker *w, struct conn *c, const struct request *rq)
{
	struct pb_opa_input oi;
	struct decided r;
	if (!opa_decide(w, c, rq, &oi, &r))
		return false;
	char json[128];
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"result\":%s,\"decision_id\":\"%s\"}\n",
	                            r.d.allow ? "true" : "false", r.id);
	respond(w, c, 200, "application/json", NULL, json, n, false);
	return true;
}

/* POST /v1/data/probity/decision: the whole decision as the result. */
static bool on_opa_decision(struct worker *w, struct conn *c, const struct request *rq)
{
	struct pb_opa_input oi;
	struct decided r;
	if (!opa_decide(w, c, rq, &oi, &r))
		return false;
	char json[2800];
	memcpy(json, "{\"result\":", 10);
	size_t n = 10 + decision_json(w, &r, NULL, false, json + 10, sizeof(json) - 60);
	n += (size_t)snprintf(json + n, sizeof(json) - n, ",\"decision_id\":\"%s\"}\n", r.id);
	respond(w, c, 200, "application/json", NULL, json, n, false);
	return true;
}

static bool on_healthz(struct worker *w, struct conn *c, const struct request *rq)
{
	char txt[64];
	int n = snprintf(txt, sizeof(txt), "ok version %lld\n",
	                 (long long)atomic_load(&w->s->version));
	respond(w, c, 200, "text/plain", NULL, txt, (size_t)n, rq->head);
	return false;
}

/* /readyz: as /healthz, but 503 while draining (take this one out). */
static bool on_readyz(struct worker *w, struct conn *c, const struct request *rq)
{
	if (!atomic_load(&w->s->stop))
		return on_healthz(w, c, rq);
	respond(w, c, 503, "text/plain", NULL, "draining\n", 9, rq->head);
	return false;
}

static bool on_metrics(struct worker *w, struct conn *c, const struct request *rq)
{
	metrics_answer(w, c, rq->head);
	return false;
}

/* ---- the route table ----------------------------------------------------- */

#define M_GET 0x1u
#define M_HEAD 0x2u
#define M_POST 0x4u
#define M_OTHER 0x8u
#define M_ANY 0xfu

/* Adding an endpoint: a handler above, a line here, its line in the usage of
 * cli/cmd_serve.c, docs/gateways.md, and a case in tests/e2e/scripts/serve-api.sh. */
static const struct route {
	unsigned methods;    /* M_* the route answers; others get 405 */
	const char *path;
	size_t len;
	bool subtree;        /* path and anything under path/ */
	handler_fn *handler;
} routes[] = {
#define ROUTE(m, p, sub, h) { (m), (p), sizeof(p) - 1, (sub), (h) }
	ROUTE(M_GET | M_HEAD, "/v1/decide", false, on_decide),
	ROUTE(M_GET | M_HEAD, "/v1/authz", false, on_authz),
	ROUTE(M_ANY, "/v1/envoy", true, on_envoy),
	ROUTE(M_POST, "/v1/data/probity/allow", false, on_opa_allow),
	ROUTE(M_POST, "/v1/data/probity/decision", false, on_opa_decision),
	ROUTE(M_GET | M_HEAD, "/healthz", false, on_healthz),
	ROUTE(M_GET | M_HEAD, "/readyz", false, on_readyz),
	ROUTE(M_GET | M_HEAD, "/metrics", false, on_metrics),
#undef ROUTE
};

static unsigned method_bit(struct pb_str m)
{
	return pb_str_eq_cstr(m, "GET")    ? M_GET
	       : pb_str_eq_cstr(m, "HEAD") ? M_HEAD
	       : pb_str_eq_cstr(m, "POST") ? M_POST
	                                   : M_OTHER;
}

static const struct route *route_find(struct pb_str path)
{
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		const struct route *rt = &routes[i];
		if (path.len < rt->len || memcmp(path.ptr, rt->path, rt->len) != 0)
			continue;
		if (path.len == rt->len || (rt->subtree && path.ptr[rt->len] == '/'))
			return rt;
	}
	return NULL;
}

/* With --token-file: exactly one Authorization header, "Bearer <token>". */
static bool authorized(const struct server *s, const struct pb_http_req *http)
{
	struct pb_str v = { NULL, 0 };
	size_t n = 0;
	for (size_t i = 0; i < http->nheaders; i++)
		if (pb_str_ieq_cstr(http->headers[i].name, "Authorization")) {
			v = http->headers[i].value;
			n++;
		}
	return n == 1 && serve_token_ok(s, v);
}

/* Who may ask what where (docs/gateways.md, "Guarding the service"): the
 * metrics listener answers /metrics and the health checks only, and the main
 * one then 404s /metrics; with a token, everything but the health checks
 * needs it. False when c has been answered. */
static bool guard(struct worker *w, struct conn *c, const struct pb_http_req *http,
                  const struct route *rt)
{
	const struct server *s = w->s;
	bool health = rt && (rt->handler == on_healthz || rt->handler == on_readyz);
	bool metrics = rt && rt->handler == on_metrics;
	if ((c->metrics_port && !health && !metrics) ||
	    (!c->metrics_port && metrics && s->mfd >= 0)) {
		respond_error(w, c, 404,
		              c->metrics_port ? "this listener answers /metrics only"
		                              : "/metrics is on the metrics listener",
		              NULL);
		return false;
	}
	if (s->token_len && !health && !authorized(s, http)) {
		inc(&w->c.unauthorized, 1);
		respond_error_uncounted(w, c, 401, "a bearer token is required",
		                        "WWW-Authenticate: Bearer realm=\"probity\"\r\n");
		return false;
	}
	return true;
}

void route_request(struct worker *w, struct conn *c, const struct pb_http_req *http,
                   const char *body, size_t blen)
{
	uint64_t t0 = mono_ns();
	unsigned m = method_bit(http->method);
	const struct route *rt = route_find(http->path);
	if (!guard(w, c, http, rt))
		return;
	if (!rt) {
		respond_error(w, c, 404, "no such endpoint (see docs/gateways.md)", NULL);
		return;
	}
	if (!(rt->methods & m)) {
		if (rt->methods & M_POST)
			respond_error(w, c, 405, "use POST with {\"input\": {...}}", "Allow: POST\r\n");
		else
			respond_error(w, c, 405, "use GET", "Allow: GET, HEAD\r\n");
		return;
	}
	struct request rq = { http, body, blen, m == M_HEAD };
	if (rt->handler(w, c, &rq))
		metrics_observe(w, mono_ns() - t0);
}
