/* leafhash.c - the leaf hashes of the tree hash, two leaves at a time.
 *
 * The tree hash (tree.h) is most of a plain ingest's per-byte cost: one
 * SHA-256 over every byte. With the SHA instructions a single stream is
 * bound by the latency of sha256rnds2, each round waiting for the one
 * before; two independent streams, interleaved, fill the gaps. The leaves of
 * a chunk are independent, so they are hashed in pairs: 1.7x the rate of
 * OpenSSL's one stream on this machine (bench/README.md). The message
 * schedule and rounds are the SHA extensions' usual sequence (Intel's white
 * paper "Intel SHA Extensions", 2013); the first block (0x00 and the first
 * 63 bytes) and the last ones (the tail and the padding) are built in a
 * small buffer, the blocks between are read where they lie. A CPU without
 * the SHA instructions, or a lone or shorter last leaf, goes through
 * pb__mth_leaf (OpenSSL).
 */
#include "usage/tree.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_X2 1
#endif

#include "util/banned.h"

#ifdef HAVE_SHA_X2

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static const uint32_t sha_h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

#define SHA_ATTR __attribute__((target("sha,sse4.1,ssse3")))

/* The state a..h as the instructions want it: ABEF and CDGH. */
struct sha_lanes {
	__m128i abef, cdgh;
};

SHA_ATTR static inline struct sha_lanes lanes_load(const uint32_t s[8])
{
	__m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[0]), 0xB1);
	__m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[4]), 0x1B);
	struct sha_lanes l = { _mm_alignr_epi8(t, u, 8), _mm_blend_epi16(u, t, 0xF0) };
	return l;
}

SHA_ATTR static inline void lanes_store(uint32_t s[8], struct sha_lanes l)
{
	__m128i t = _mm_shuffle_epi32(l.abef, 0x1B);
	__m128i u = _mm_shuffle_epi32(l.cdgh, 0xB1);
	_mm_storeu_si128((__m128i *)&s[0], _mm_blend_epi16(t, u, 0xF0));
	_mm_storeu_si128((__m128i *)&s[4], _mm_alignr_epi8(u, t, 8));
}

SHA_ATTR static inline __m128i load_be(const uint8_t *p)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), swap);
}

/* Four rounds with message words m, then the schedule's next four words
 * from the last sixteen (m0..m3, oldest first) into m0. */
#define SHA_ROUNDS4(L, m0, m1, m2, m3, k)                                              \
	do {                                                                           \
		__m128i w_ = _mm_add_epi32(m0, _mm_loadu_si128((const __m128i *)&sha_k[k])); \
		L.cdgh = _mm_sha256rnds2_epu32(L.cdgh, L.abef, w_);                    \
		w_ = _mm_shuffle_epi32(w_, 0x0E);                                      \
		L.abef = _mm_sha256rnds2_epu32(L.abef, L.cdgh, w_);                    \
		w_ = _mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8(m3, m2, 4)); \
		m0 = _mm_sha256msg2_epu32(w_, m3);                                     \
	} while (0)

/* nb 64-byte blocks of stream a at p and of stream b at q, interleaved; b
 * may be NULL (one stream). */
SHA_ATTR static void sha_blocks(uint32_t sa[8], uint32_t sb[8], const uint8_t *p,
                                const uint8_t *q, size_t nb)
{
	struct sha_lanes a = lanes_load(sa), b = lanes_load(sb ? sb : sa);
	for (; nb; nb--, p += 64, q = q ? q + 64 : NULL) {
		struct sha_lanes a0 = a, b0 = b;
		__m128i m0 = load_be(p), m1 = load_be(p + 16), m2 = load_be(p + 32),
			m3 = load_be(p + 48);
		if (!q) {
			for (int r = 0; r < 64; r += 16) {
				SHA_ROUNDS4(a, m0, m1, m2, m3, r);
				SHA_ROUNDS4(a, m1, m2, m3, m0, r + 4);
				SHA_ROUNDS4(a, m2, m3, m0, m1, r + 8);
				SHA_ROUNDS4(a, m3, m0, m1, m2, r + 12);
			}
		} else {
			__m128i n0 = load_be(q), n1 = load_be(q + 16), n2 = load_be(q + 32),
				n3 = load_be(q + 48);
			for (int r = 0; r < 64; r += 16) {
				SHA_ROUNDS4(a, m0, m1, m2, m3, r);
				SHA_ROUNDS4(b, n0, n1, n2, n3, r);
				SHA_ROUNDS4(a, m1, m2, m3, m0, r + 4);
				SHA_ROUNDS4(b, n1, n2, n3, n0, r + 4);
				SHA_ROUNDS4(a, m2, m3, m0, m1, r + 8);
				SHA_ROUNDS4(b, n2, n3, n0, n1, r + 8);
				SHA_ROUNDS4(a, m3, m0, m1, m2, r + 12);
				SHA_ROUNDS4(b, n3, n0, n1, n2, r + 12);
			}
			b.abef = _mm_add_epi32(b.abef, b0.abef);
			b.cdgh = _mm_add_epi32(b.cdgh, b0.cdgh);
		}
		a.abef = _mm_add_epi32(a.abef, a0.abef);
		a.cdgh = _mm_add_epi32(a.cdgh, a0.cdgh);
	}
	lanes_store(sa, a);
	if (sb)
		lanes_store(sb, b);
}

/* The last blocks of a message of total bytes whose unhashed tail is
 * p[0..n), n < 64, and the digest. */
static void sha_finish(uint32_t s[8], const uint8_t *p, size_t n, uint64_t total,
                       uint8_t out[32])
{
	uint8_t b[128] = { 0 };
	memcpy(b, p, n);
	b[n] = 0x80;
	size_t nb = n + 9 > 64 ? 2 : 1;
	for (int i = 0; i < 8; i++)
		b[nb * 64 - 1 - (size_t)i] = (uint8_t)((total * 8) >> (8 * i));
	sha_blocks(s, NULL, b, NULL, nb);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s[i] >> 8);
		out[4 * i + 3] = (uint8_t)s[i];
	}
}

/* The leaf hashes SHA-256(0x00 || p) and SHA-256(0x00 || q) of two leaves
 * of n >= 63 bytes each. */
static void leaf_pair(const uint8_t *p, const uint8_t *q, size_t n, uint8_t oa[32],
                      uint8_t ob[32])
{
	uint32_t sa[8], sb[8];
	uint8_t fa[64], fb[64];
	memcpy(sa, sha_h0, sizeof(sa));
	memcpy(sb, sha_h0, sizeof(sb));
	fa[0] = fb[0] = 0;
	memcpy(fa + 1, p, 63);
	memcpy(fb + 1, q, 63);
	sha_blocks(sa, sb, fa, fb, 1);
	size_t rest = n - 63, nb = rest / 64;
	sha_blocks(sa, sb, p + 63, q + 63, nb);
	sha_finish(sa, p + 63 + nb * 64, rest - nb * 64, (uint64_t)n + 1, oa);
	sha_finish(sb, q + 63 + nb * 64, rest - nb * 64, (uint64_t)n + 1, ob);
}

static bool have_sha(void)
{
	static int have = -1; /* a benign race: every thread computes the same */
	if (have < 0) {
		unsigned a, b, c, d;
		bool ext = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
		bool base = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9));
		have = ext && base;
	}
	return have;
}

#endif

void pb__mth_leaves(const void *data, size_t n, size_t chunk, uint8_t (*out)[32])
{
	const uint8_t *p = data;
	size_t i = 0;
#ifdef HAVE_SHA_X2
	if (chunk >= 63 && have_sha())
		for (; n >= 2 * chunk; i += 2, p += 2 * chunk, n -= 2 * chunk)
			leaf_pair(p, p + chunk, chunk, out[i], out[i + 1]);
#endif
	for (; n; i++) {
		size_t k = n < chunk ? n : chunk;
		pb__mth_leaf(p, k, out[i]);
		p += k;
		n -= k;
	}
}
