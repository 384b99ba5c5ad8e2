/* http.c - HTTP/1.1 request heads, query strings and OPA inputs, for probity serve.
 *
 * Why our own parser: libmicrohttpd (Debian 0.9.75) was measured first, on the
 * same 2-core machine with wrk -t2 -c50: an empty 204 answered ~200k req/s
 * against nginx `return 204` ~156-181k, but a handler doing what ours must do
 * (read four inputs, build a JSON body and headers) fell to ~163-166k against
 * nginx's ~170-174k, i.e. 0.95-0.97x before any decision, logging or metrics
 * work (bench/serve/mhd_probe.c, bench/serve/mhd.sh). The target is >= 1.0x,
 * so server/ runs its own epoll loop over this parser, which is fuzzed
 * (fuzz/fuzz_http.c) and keeps every input under a cap. The API is in
 * probity.h, "decision requests over HTTP": server/ is a front over it.
 */
#include "util/util.h"

#include <string.h>

#include <jansson.h>

#include "util/banned.h"

/* RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~", one bit per byte value. */
static bool is_tchar(unsigned char c)
{
	static const uint64_t bits[4] = { 0x03ff6cfa00000000ull, 0x57ffffffc7fffffeull, 0, 0 };
	return (bits[c >> 6] >> (c & 63)) & 1;
}

static bool ieq(struct pb_str a, const char *b)
{
	size_t n = strlen(b);
	if (a.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return false;
	}
	return true;
}

/* Does the comma-separated token list hold tok? */
static bool has_token(struct pb_str list, const char *tok)
{
	size_t i = 0;
	while (i < list.len) {
		size_t j = i;
		while (j < list.len && list.ptr[j] != ',')
			j++;
		struct pb_str t = pb_str_trim(pb_str_of(list.ptr + i, j - i));
		if (ieq(t, tok))
			return true;
		i = j + 1;
	}
	return false;
}

int pb_http_req_parse(const char *buf, size_t len, struct pb_http_req *req)
{
	memset(req, 0, sizeof(*req));
	size_t limit = len < PB_HTTP_HEAD_MAX ? len : PB_HTTP_HEAD_MAX;
	size_t i = 0;
	/* tolerate empty lines before a request (RFC 9112 2.2) */
	while (i < limit && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i >= 64)
		return -400;
	/* request line */
	const char *eol = memchr(buf + i, '\n', limit - i);
	if (!eol) {
		if (len - i > PB_HTTP_LINE_MAX)
			return -414;
		return len >= PB_HTTP_HEAD_MAX ? -431 : 0;
	}
	size_t le = (size_t)(eol - buf);
	if (le - i > PB_HTTP_LINE_MAX)
		return -414;
	size_t end = le;
	if (end > i && buf[end - 1] == '\r')
		end--;
	size_t p = i;
	while (p < end && is_tchar((unsigned char)buf[p]))
		p++;
	if (p == i || p >= end || buf[p] != ' ')
		return -400;
	req->method = pb_str_of(buf + i, p - i);
	size_t t0 = ++p;
	while (p < end && buf[p] != ' ') {
		unsigned char c = (unsigned char)buf[p];
		if (c <= 0x20 || c == 0x7f)
			return -400;
		p++;
	}
	if (p == t0 || p >= end)
		return -400;
	req->target = pb_str_of(buf + t0, p - t0);
	p++;
	if (end - p != 8 || memcmp(buf + p, "HTTP/1.", 7) != 0) {
		if (end - p >= 5 && memcmp(buf + p, "HTTP/", 5) == 0)
			return -505;
		return -400;
	}
	if (buf[p + 7] != '0' && buf[p + 7] != '1')
		return -505;
	req->minor = buf[p + 7] - '0';
	if (req->target.ptr[0] != '/')
		return -400;
	const char *q = memchr(req->target.ptr, '?', req->target.len);
	if (q) {
		req->path = pb_str_of(req->target.ptr, (size_t)(q - req->target.ptr));
		req->query = pb_str_of(q + 1, req->target.len - req->path.len - 1);
	} else {
		req->path = req->target;
		req->query = pb_str_of(q, 0);
	}
	/* header fields */
	bool conn_close = false, conn_keep = false, have_cl = false;
	i = le + 1;
	for (;;) {
		if (i >= limit)
			return len >= PB_HTTP_HEAD_MAX ? -431 : 0;
		eol = memchr(buf + i, '\n', limit - i);
		if (!eol)
			return len >= PB_HTTP_HEAD_MAX ? -431 : 0;
		le = (size_t)(eol - buf);
		end = le;
		if (end > i && buf[end - 1] == '\r')
			end--;
		if (end == i) { /* blank line: end of head */
			req->head_len = le + 1;
			break;
		}
		if (buf[i] == ' ' || buf[i] == '\t')
			return -400; /* obsolete line folding */
		p = i;
		while (p < end && is_tchar((unsigned char)buf[p]))
			p++;
		if (p == i || p >= end || buf[p] != ':')
			return -400;
		struct pb_str name = pb_str_of(buf + i, p - i);
		for (size_t k = p + 1; k < end; k++) {
			unsigned char c = (unsigned char)buf[k];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return -400;
		}
		struct pb_str value = pb_str_trim(pb_str_of(buf + p + 1, end - p - 1));
		if (req->nheaders == PB_HTTP_HEADERS_MAX)
			return -431;
		req->headers[req->nheaders++] = (struct pb_http_header){ name, value };
		if (ieq(name, "content-length")) {
			size_t v = 0;
			if (!value.len || value.len > 12)
				return -400;
			for (size_t k = 0; k < value.len; k++) {
				if (value.ptr[k] < '0' || value.ptr[k] > '9')
					return -400;
				v = v * 10 + (size_t)(value.ptr[k] - '0');
			}
			if (have_cl && v != req->content_length)
				return -400;
			have_cl = true;
			req->content_length = v;
		} else if (ieq(name, "transfer-encoding")) {
			return -501;
		} else if (ieq(name, "connection")) {
			conn_close |= has_token(value, "close");
			conn_keep |= has_token(value, "keep-alive");
		} else if (ieq(name, "expect")) {
			if (!ieq(value, "100-continue"))
				return -400;
			req->expect_continue = true;
		}
		i = le + 1;
	}
	if (req->content_length > PB_HTTP_BODY_MAX)
		return -413;
	req->keep_alive = req->minor == 1 ? !conn_close : (conn_keep && !conn_close);
	return (int)req->head_len;
}

struct pb_str pb_http_req_header(const struct pb_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (ieq(req->headers[i].name, name))
			return req->headers[i].value;
	return pb_str_of(NULL, 0);
}

static int decode(const char *s, size_t n, char *out, size_t cap, size_t *outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;
			if (i + 2 >= n || (h = pb__hexval(s[i + 1])) < 0 || (l = pb__hexval(s[i + 2])) < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
			if (!c)
				return -2;
		}
		if (o + 1 >= cap)
			return -2;
		out[o++] = c;
	}
	if (cap)
		out[o] = '\0';
	*outlen = o;
	return 1;
}

int pb_http_query_get(struct pb_str query, const char *key, char *out, size_t cap,
                      size_t *outlen)
{
	size_t klen = strlen(key), i = 0;
	bool found = false;
	int r = 0;
	*outlen = 0;
	if (cap)
		out[0] = '\0';
	while (i < query.len) {
		size_t j = i;
		while (j < query.len && query.ptr[j] != '&')
			j++;
		const char *eq = memchr(query.ptr + i, '=', j - i);
		size_t kl = eq ? (size_t)(eq - (query.ptr + i)) : j - i;
		if (kl == klen && memcmp(query.ptr + i, key, klen) == 0) {
			if (found)
				return -3; /* given twice: which one counts is the attacker's choice */
			found = true;
			/* "key" alone: present and empty */
			r = eq ? decode(eq + 1, (size_t)(query.ptr + j - eq - 1), out, cap, outlen) : 1;
		}
		i = j + 1;
	}
	return r;
}

int pb_http_cookie_get(struct pb_str header, const char *name, char *out, size_t cap)
{
	size_t klen = strlen(name), i = 0;
	int r = 0;
	if (cap)
		out[0] = '\0';
	while (i < header.len) {
		size_t j = i;
		while (j < header.len && header.ptr[j] != ';')
			j++;
		struct pb_str pair = pb_str_trim(pb_str_of(header.ptr + i, j - i));
		const char *eq = memchr(pair.ptr, '=', pair.len);
		if (eq) {
			struct pb_str k = pb_str_trim(pb_str_of(pair.ptr, (size_t)(eq - pair.ptr)));
			struct pb_str v = pb_str_trim(
				pb_str_of(eq + 1, pair.len - (size_t)(eq - pair.ptr) - 1));
			if (k.len == klen && !memcmp(k.ptr, name, klen)) {
				if (r)
					return -3;
				if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
					v = pb_str_of(v.ptr + 1, v.len - 2);
				if (v.len >= cap || memchr(v.ptr, '\0', v.len))
					return -2;
				memcpy(out, v.ptr, v.len);
				out[v.len] = '\0';
				r = 1;
			}
		}
		i = j + 1;
	}
	return r;
}

enum pb_status pb_opa_input_parse(const char *body, size_t len, struct pb_opa_input *out,
                                  struct pb_error *err)
{
	static const char *const keys[6] = { "account", "subaccount", "service",
		                             "region", "capability", "sku_meter" };
	for (int k = 0; k < 6; k++)
		out->off[k] = -1;
	if (len > PB_HTTP_BODY_MAX)
		return pb__err(err, PB_ELIMIT, "request body over %d bytes", PB_HTTP_BODY_MAX);
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return pb__err(err, json_error_code(&je) == json_error_duplicate_key ? PB_EEXIST
		                                                                    : PB_EFORMAT,
		               "body is not valid JSON: %s", je.text);
	json_t *in = json_object_get(root, "input");
	if (!json_is_object(in)) {
		json_decref(root);
		return pb__err(err, PB_EFORMAT, "body must be an object with an \"input\" object");
	}
	size_t used = 0;
	for (int k = 0; k < 6; k++) {
		json_t *v = json_object_get(in, keys[k]);
		if (!json_is_string(v))
			continue;
		size_t n = json_string_length(v);
		const char *s = json_string_value(v);
		if (memchr(s, '\0', n) || used + n + 1 > sizeof(out->store))
			continue; /* left absent: the caller reports it missing */
		memcpy(out->store + used, s, n + 1);
		out->off[k] = (int)used;
		used += n + 1;
	}
	json_decref(root);
	return PB_OK;
}

/* ---- multipart/form-data (RFC 7578) ------------------------------------ */

/* ASCII case-insensitive prefix test. */
static bool iprefix(const char *p, size_t n, const char *pre)
{
	size_t l = strlen(pre);
	return n >= l && ieq(pb_str_of(p, l), pre);
}

/* The value of parameter key ("name", "filename", "boundary") in a header
 * value's "; key=value" list, quoted or not; false when absent. */
static bool param(struct pb_str v, const char *key, struct pb_str *out)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] != ';')
			continue;
		size_t j = i + 1;
		while (j < v.len && (v.ptr[j] == ' ' || v.ptr[j] == '\t'))
			j++;
		if (j + kl >= v.len || !iprefix(v.ptr + j, v.len - j, key) || v.ptr[j + kl] != '=')
			continue;
		j += kl + 1;
		if (j < v.len && v.ptr[j] == '"') {
			const char *q = memchr(v.ptr + j + 1, '"', v.len - j - 1);
			if (!q)
				return false;
			*out = pb_str_of(v.ptr + j + 1, (size_t)(q - v.ptr) - j - 1);
		} else {
			size_t e = j;
			while (e < v.len && v.ptr[e] != ';')
				e++;
			*out = pb_str_trim(pb_str_of(v.ptr + j, e - j));
		}
		return true;
	}
	return false;
}

bool pb_http_multipart_boundary(struct pb_str content_type, char *out, size_t cap)
{
	struct pb_str b = { 0 };
	if (!content_type.ptr || !iprefix(content_type.ptr, content_type.len, "multipart/form-data") ||
	    !param(pb_str_of(content_type.ptr + 19, content_type.len - 19), "boundary", &b) ||
	    !b.len || b.len > 70 || b.len >= cap || memchr(b.ptr, '\0', b.len))
		return false;
	memcpy(out, b.ptr, b.len);
	out[b.len] = '\0';
	return true;
}

int pb_http_multipart_next(struct pb_str body, const char *boundary, size_t *pos,
                           struct pb_http_part *part)
{
	char delim[80]; /* "\r\n--" boundary */
	size_t bl = strlen(boundary), dl = bl + 4, i = *pos;
	if (!bl || bl > 70 || i > body.len)
		return -1;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, bl);
	if (i == 0) { /* the first delimiter has no line end before it */
		if (body.len < dl - 2 || memcmp(body.ptr, delim + 2, dl - 2))
			return -1;
		i = dl - 2;
	}
	if (body.len - i >= 2 && !memcmp(body.ptr + i, "--", 2)) {
		*pos = body.len;
		return 0;
	}
	if (body.len - i < 2 || memcmp(body.ptr + i, "\r\n", 2))
		return -1;
	i += 2;
	memset(part, 0, sizeof(*part));
	for (size_t lines = 0;; lines++) { /* header lines, up to a blank one */
		const char *eol = memmem(body.ptr + i, body.len - i, "\r\n", 2);
		if (!eol || (size_t)(eol - body.ptr) - i > 4096 || lines > 16)
			return -1;
		struct pb_str line = pb_str_of(body.ptr + i, (size_t)(eol - body.ptr) - i);
		i = (size_t)(eol - body.ptr) + 2;
		if (!line.len)
			break;
		if (iprefix(line.ptr, line.len, "content-disposition:")) {
			struct pb_str v = pb_str_of(line.ptr + 20, line.len - 20);
			param(v, "name", &part->name);
			param(v, "filename", &part->filename);
		}
	}
	const char *end = memmem(body.ptr + i, body.len - i, delim, dl);
	if (!end || !part->name.ptr)
		return -1;
	part->data = pb_str_of(body.ptr + i, (size_t)(end - body.ptr) - i);
	*pos = (size_t)(end - body.ptr) + dl;
	return 1;
}
