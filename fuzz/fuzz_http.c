/* fuzz_http.c - libFuzzer target for what probity serve parses from clients:
 * the request head, query strings, cookies and multipart uploads (probity web)
 * and OPA JSON inputs.
 * Invariants: the head length is within the input, views point inside it,
 * decoded values fit. */
#include "probity.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct pb_http_req rq;
	int r = pb_http_req_parse(buf, size, &rq);
	if (r > 0) {
		assert((size_t)r <= size && (size_t)r == rq.head_len);
		assert(rq.path.ptr >= buf && rq.path.ptr + rq.path.len <= buf + size);
		assert(rq.nheaders <= PB_HTTP_HEADERS_MAX);
		assert(rq.content_length <= PB_HTTP_BODY_MAX);
		static const char *const keys[] = { "account", "service", "region", "subaccount" };
		for (size_t i = 0; i < 4; i++) {
			char out[257];
			size_t n = 0;
			int q = pb_http_query_get(rq.query, keys[i], out, sizeof(out), &n);
			assert(q >= -3 && q <= 1); /* -3: the key is given more than once */
			if (q == 1)
				assert(n < sizeof(out) && strlen(out) == n);
		}
		(void)pb_http_req_header(&rq, "x-probity-account");
		/* probity web: the session cookie and form bodies */
		char ck[PB_SECRET_HEX];
		int ok = pb_http_cookie_get(pb_http_req_header(&rq, "cookie"), "pb_session", ck,
		                           sizeof(ck));
		assert(ok >= -3 && ok <= 1 && ok != -1);
		if (ok == 1)
			assert(strlen(ck) < sizeof(ck));
		size_t body = size - (size_t)r;
		/* probity web: a document upload's multipart body; parts are views
		 * inside the body, one after the other */
		char bnd[80];
		if (pb_http_multipart_boundary(pb_http_req_header(&rq, "content-type"), bnd,
		                               sizeof(bnd))) {
			assert(strlen(bnd) >= 1 && strlen(bnd) <= 70);
			struct pb_str b = pb_str_of(buf + r, body);
			struct pb_http_part part;
			size_t pos = 0, last = 0;
			int m;
			while ((m = pb_http_multipart_next(b, bnd, &pos, &part)) == 1) {
				assert(pos > last && pos <= body);
				assert(part.data.ptr >= b.ptr && part.data.ptr + part.data.len <= b.ptr + pos);
				assert(part.name.ptr >= b.ptr && part.name.ptr + part.name.len <= b.ptr + pos);
				last = pos;
			}
			(void)last; /* read only by the asserts, gone under NDEBUG */
			assert(m == 0 || m == -1);
		}
		struct pb_opa_input in;
		if (pb_opa_input_parse(buf + r, body < rq.content_length ? body : rq.content_length,
		                       &in, NULL) == PB_OK)
			for (int k = 0; k < 6; k++)
				assert(in.off[k] < (int)sizeof(in.store));
	} else {
		assert(r == 0 || r == -400 || r == -413 || r == -414 || r == -431 || r == -501 ||
		       r == -505);
	}
	return 0;
}
