/* req.c - what every page of probity web needs from its request and for
 * its errors: form and query values, path pieces, roles, the answer for a
 * library error (web.h declares them; routes.c and the page files use them).
 */
#include "web.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <jansson.h>

bool web_role_in(const struct web_ctx *c, const char *roles)
{
	size_t rl = strlen(c->s.role);
	for (const char *p = roles; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (rl && n == rl && !memcmp(p, c->s.role, n))
			return true;
		p += n + (comma ? 1 : 0);
	}
	return false;
}

/* ---- request values --------------------------------------------------------------- */

/* A form field (POST body) or query value into out; "" when absent. False
 * when it is malformed, too long or given twice. */
static bool field(struct pb_str from, const char *key, char *out, size_t cap)
{
	size_t n;
	int r = pb_http_query_get(from, key, out, cap, &n);
	if (r < 0)
		out[0] = '\0';
	return r >= 0;
}

bool web_form(struct web_ctx *c, const char *key, char *out, size_t cap)
{
	return field(c->body, key, out, cap);
}

bool web_query(struct web_ctx *c, const char *key, char *out, size_t cap)
{
	return field(c->rq.query, key, out, cap);
}

bool web_body(struct web_ctx *c, struct pb_str *body, void **map)
{
	*body = c->body;
	*map = NULL;
	if (c->upload_fd < 0 || !c->upload_len)
		return true;
	void *m = mmap(NULL, c->upload_len, PROT_READ, MAP_PRIVATE, c->upload_fd, 0);
	if (m == MAP_FAILED)
		return false;
	*map = m;
	*body = pb_str_of(m, c->upload_len);
	return true;
}

void web_body_release(struct web_ctx *c, void *map)
{
	if (map)
		munmap(map, c->upload_len);
}

/* Percent-encodes s for a path segment or a query value. */
void web_url_enc(struct web_ctx *c, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			pb_buf_addc(&c->out, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			pb_buf_add(&c->out, e, 3);
		}
	}
}

/* Decodes a path segment (percent-encoding) into out; false when bad. */
bool web_seg_dec(struct pb_str s, char *out, size_t cap)
{
	size_t n;
	/* the query decoder reads '+' as a space: a path has none to read */
	if (memchr(s.ptr, '+', s.len))
		return false;
	char q[600];
	if (s.len + 2 > sizeof(q))
		return false;
	q[0] = 'k';
	q[1] = '=';
	memcpy(q + 2, s.ptr, s.len);
	return pb_http_query_get(pb_str_of(q, s.len + 2), "k", out, cap, &n) == 1 && n > 0;
}

/* A decimal id > 0 from text; 0 when not one. */
int64_t web_parse_id(const char *s, size_t n)
{
	int64_t v = 0;
	if (!n || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

const char *web_jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

/* ---- answers ---------------------------------------------------------------------- */

/* 403, and a log entry naming what was refused. */
void web_forbid(struct web_ctx *c, const char *why)
{
	char what[300];
	snprintf(what, sizeof(what), "%.*s %.*s", (int)c->rq.method.len, c->rq.method.ptr,
	         (int)(c->rq.path.len > 200 ? 200 : c->rq.path.len), c->rq.path.ptr);
	if (c->signed_in)
		pb_session_forbidden(c->ws, c->s.user, what, NULL);
	web_page_message(c, 403, "Forbidden", why);
}

/* The answer for a library error. */
void web_lib_error(struct web_ctx *c, enum pb_status st, const struct pb_error *err)
{
	int status;
	if (st == PB_ESTATEMENT) { /* the statement step of a passkey's signature (sign.c) */
		web_sign_statement(c);
		return;
	}
	/* a signed workspace: the change needs its actor's own signature
	 * (log/sign.c), which the page's script makes with a passkey */
	if (st == PB_EPERM && !strcmp(err->field, "identity")) {
		json_t *mine = web_passkeys_valid(c, c->signed_in ? c->s.user : NULL);
		bool none = !json_array_size(mine);
		json_decref(mine);
		web_page_message(c, 403, "Not done",
		                 none ? "this workspace is signed: every change carries its author's "
		                        "own signature; register a passkey on your account page "
		                        "(/account) to sign in the browser, or make this change with "
		                        "the probity command line"
		                      : "this workspace is signed: this change must be signed by your "
		                        "passkey, which the page's script asks for (allow this site's "
		                        "script), or made with the probity command line");
		return;
	}
	/* a passkey's signature the library refused (log/sign.c): said, and
	 * nothing written, not even a web.forbidden entry */
	if (c->sign_given && (st == PB_EPERM || st == PB_EVERIFY)) {
		web_page_message(c, 403, "Not signed", err->message);
		return;
	}
	switch (st) {
	case PB_EPERM: web_forbid(c, err->message); return;
	case PB_ENOENT: status = 404; break;
	case PB_EINVAL: case PB_ELIMIT: case PB_EFORMAT: status = 400; break;
	case PB_ESTATE: case PB_EEXIST: status = 409; break;
	case PB_EDB: status = 503; break; /* a busy workspace: try again */
	default: status = 500; break;
	}
	web_page_message(c, status, "Not done", err->message);
}

/* A path "PREFIX<id>" or "PREFIX<id>/...": the id (0 when there is none)
 * and in *rest what follows it ("" or "/..."). */
int64_t web_path_id(struct pb_str path, const char *prefix, struct pb_str *rest)
{
	size_t pl = strlen(prefix);
	*rest = pb_str_of("", 0);
	if (path.len <= pl || memcmp(path.ptr, prefix, pl))
		return 0;
	const char *p = path.ptr + pl, *slash = memchr(p, '/', path.len - pl);
	size_t n = slash ? (size_t)(slash - p) : path.len - pl;
	*rest = pb_str_of(p + n, path.len - pl - n);
	return web_parse_id(p, n);
}

bool web_path_is(struct web_ctx *c, const char *p)
{
	return pb_str_eq_cstr(c->rq.path, p);
}

