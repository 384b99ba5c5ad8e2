/* sshbuf.c - the SSH wire encoding: bounded reader, pb_buf writer, base64.
 *
 * Every length in an SSH message is outside input: the reader compares it
 * with what is left before it looks, so a lying length is a failed get, never
 * a read past the end. The callers turn a failed get into PB_EFORMAT naming
 * the field they wanted.
 */
#include "ident/ident_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/util.h"

#include "util/banned.h"

bool pb__sshr_u8(struct pb__sshr *r, uint8_t *v)
{
	if (pb__sshr_left(r) < 1)
		return false;
	*v = r->p[r->off++];
	return true;
}

bool pb__sshr_u32(struct pb__sshr *r, uint32_t *v)
{
	if (pb__sshr_left(r) < 4)
		return false;
	const uint8_t *p = r->p + r->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	r->off += 4;
	return true;
}

bool pb__sshr_raw(struct pb__sshr *r, size_t n, const uint8_t **p)
{
	if (pb__sshr_left(r) < n)
		return false;
	*p = r->p + r->off;
	r->off += n;
	return true;
}

bool pb__sshr_string(struct pb__sshr *r, const uint8_t **p, size_t *n)
{
	size_t save = r->off;
	uint32_t len;
	if (!pb__sshr_u32(r, &len) || !pb__sshr_raw(r, len, p)) {
		r->off = save;
		return false;
	}
	*n = len;
	return true;
}

bool pb__sshr_string_eq(struct pb__sshr *r, const char *want)
{
	size_t save = r->off, n;
	const uint8_t *p;
	if (!pb__sshr_string(r, &p, &n))
		return false;
	if (n != strlen(want) || memcmp(p, want, n) != 0) {
		r->off = save;
		return false;
	}
	return true;
}

bool pb__sshr_string_fixed(struct pb__sshr *r, uint8_t *out, size_t n)
{
	size_t save = r->off, got;
	const uint8_t *p;
	if (!pb__sshr_string(r, &p, &got))
		return false;
	if (got != n) {
		r->off = save;
		return false;
	}
	memcpy(out, p, n);
	return true;
}

bool pb__sshr_cstring(struct pb__sshr *r, char *out, size_t cap)
{
	size_t save = r->off, n;
	const uint8_t *p;
	if (!pb__sshr_string(r, &p, &n))
		return false;
	if (n >= cap || memchr(p, 0, n)) {
		r->off = save;
		return false;
	}
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

enum pb_status pb__sshw_u8(struct pb_buf *b, uint8_t v)
{
	return pb_buf_add(b, &v, 1);
}

enum pb_status pb__sshw_u32(struct pb_buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return pb_buf_add(b, p, 4);
}

enum pb_status pb__sshw_string(struct pb_buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		return PB_ELIMIT;
	enum pb_status st = pb__sshw_u32(b, (uint32_t)n);
	return st != PB_OK || n == 0 ? st : pb_buf_add(b, p, n);
}

enum pb_status pb__sshw_cstring(struct pb_buf *b, const char *s)
{
	return pb__sshw_string(b, s, strlen(s));
}

bool pb__b64_alphabet(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (c && strchr(extra, c))))
			return false;
	}
	return true;
}

bool pb__ssh_b64_decode(const char *s, size_t n, size_t cap, uint8_t **out, size_t *out_len)
{
	if (!pb__b64_alphabet(s, n, "+/= \t\r\n"))
		return false;
	size_t max = n / 4 * 3 + 3;
	if (max > cap)
		max = cap;
	uint8_t *bin = malloc(max ? max : 1);
	if (!bin)
		return false;
	const char *end = NULL;
	size_t len = 0;
	/* sodium_base642bin stops at the first character it does not know
	 * (end says where): all of s must be used, so a stray '*' or text after
	 * the padding is refused rather than silently cut. It fails when the
	 * output would pass max, which is the cap. */
	if (sodium_base642bin(bin, max, s, n, " \t\r\n", &len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n) {
		free(bin);
		return false;
	}
	*out = bin;
	*out_len = len;
	return true;
}

char *pb__ssh_b64_encode(const void *p, size_t n, bool pad)
{
	int variant = pad ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	size_t cap = sodium_base64_ENCODED_LEN(n, variant);
	char *s = malloc(cap);
	if (!s)
		return NULL;
	sodium_bin2base64(s, cap, p, n, variant);
	return s;
}
