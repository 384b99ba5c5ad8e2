/* tlog.h - internals of the Merkle tree log shared with the audit module:
 * base64, Merkle hashing on a reused SHA-256 context for bulk work. */
#ifndef PB_TLOG_H
#define PB_TLOG_H

#include "util/util.h"

/* Standard base64 with padding (RFC 4648 section 4). encode writes
 * 4 * ceil(n / 3) characters and a NUL into out; returns the length.
 * decode is strict: padding required, no whitespace, no stray bits; false on
 * any error or when the result would exceed cap. */
size_t pb__b64_encode(const uint8_t *in, size_t n, char *out);
bool pb__b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);
#define PB_B64_LEN(n) ((((n) + 2) / 3) * 4)

/* RFC 6962 hashing on a reused SHA-256 context (util's pb__sha256_pair;
 * about three times faster than one-shot calls for 65-byte node inputs):
 * h comes from pb__sha256_init and is released with pb__sha256_release.
 * Not shareable across threads. */
void pb__hasher_leaf(struct pb_sha256 *h, const void *entry, size_t n, uint8_t out[32]);
void pb__hasher_node(struct pb_sha256 *h, const uint8_t l[32], const uint8_t r[32],
                     uint8_t out[32]);
/* Merkle root of n >= 1 consecutive hashes at one level (e.g. a tile). */
void pb__hasher_root(struct pb_sha256 *h, const uint8_t (*hashes)[32], size_t n,
                     uint8_t out[32]);

/* Largest power of two strictly less than n (n >= 2). */
static inline uint64_t pb__tlog_split(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* Parses a decimal uint64 without sign or leading zeros ("0" alone is fine). */
bool pb__parse_u64(const char *s, size_t n, uint64_t *out);

#endif /* PB_TLOG_H */
