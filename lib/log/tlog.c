/* tlog.c - RFC 6962 Merkle tree hashing and proofs, C2SP signed notes,
 * checkpoints, proof documents and vkeys.
 *
 * Nothing here knows what an entry means. Proofs are generated from a
 * callback that returns perfect-subtree hashes, so the same code serves the
 * SQLite-backed workspace log and the tests' in-memory trees. Tiles (writing
 * and offline verification of an exported folder) live in tlog_tiles.c.
 */
#include "log/tlog.h"

#include <string.h>

#include <sodium.h>

#include "util/banned.h"

/* ===================================================================== */
/* hashing                                                               */
/* ===================================================================== */

/* All hashing goes through util's SHA-256 (util.c says which library and
 * why); with h NULL, pb__sha256_pair is a one-shot. */
void pb__hasher_leaf(struct pb_sha256 *h, const void *entry, size_t n, uint8_t out[32])
{
	static const uint8_t zero = 0;
	pb__sha256_pair(h, &zero, 1, entry, n, out);
}

void pb__hasher_node(struct pb_sha256 *h, const uint8_t l[32], const uint8_t r[32],
                     uint8_t out[32])
{
	uint8_t buf[65];
	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	pb__sha256_pair(h, buf, sizeof(buf), NULL, 0, out);
}

void pb_tlog_leaf_hash(const void *entry, size_t n, uint8_t out[32])
{
	pb__hasher_leaf(NULL, entry, n, out);
}

void pb_tlog_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
	pb__hasher_node(NULL, left, right, out);
}

void pb__hasher_root(struct pb_sha256 *h, const uint8_t (*hashes)[32], size_t n,
                     uint8_t out[32])
{
	if (n == 1) {
		memcpy(out, hashes[0], 32);
		return;
	}
	size_t k = (size_t)pb__tlog_split(n);
	uint8_t l[32], r[32];
	pb__hasher_root(h, hashes, k, l);
	pb__hasher_root(h, hashes + k, n - k, r);
	pb__hasher_node(h, l, r, out);
}

/* ---- compact range --------------------------------------------------- */

void pb_tlog_range_init(struct pb_tlog_range *r)
{
	memset(r, 0, sizeof(*r));
}

static void range_push(struct pb_tlog_range *r, unsigned level, const uint8_t hash[32])
{
	uint8_t h[32];
	memcpy(h, hash, 32);
	while (r->n > 0 && r->level[r->n - 1] == level) {
		pb_tlog_node_hash(r->hash[r->n - 1], h, h);
		r->n--;
		level++;
	}
	r->level[r->n] = (uint8_t)level;
	memcpy(r->hash[r->n], h, 32);
	r->n++;
}

void pb_tlog_range_append(struct pb_tlog_range *r, const uint8_t leaf_hash[32])
{
	range_push(r, 0, leaf_hash);
	r->size++;
}

enum pb_status pb_tlog_range_append_subtree(struct pb_tlog_range *r, unsigned level,
                                            const uint8_t hash[32], struct pb_error *err)
{
	if (level >= 64 || (r->size & ((UINT64_C(1) << level) - 1)) != 0 ||
	    r->size + (UINT64_C(1) << level) < r->size)
		return pb__err(err, PB_EINVAL,
		               "cannot append a subtree of level %u to a range of size %llu", level,
		               (unsigned long long)r->size);
	range_push(r, level, hash);
	r->size += UINT64_C(1) << level;
	return PB_OK;
}

void pb_tlog_range_root(const struct pb_tlog_range *r, uint8_t out[32])
{
	if (r->n == 0) {
		pb__sha256("", 0, out);
		return;
	}
	uint8_t h[32];
	memcpy(h, r->hash[r->n - 1], 32);
	for (size_t i = r->n - 1; i > 0; i--)
		pb_tlog_node_hash(r->hash[i - 1], h, h);
	memcpy(out, h, 32);
}

/* ===================================================================== */
/* proofs                                                                */
/* ===================================================================== */

enum pb_status pb_tlog_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[32],
                                        const uint8_t (*proof)[32], size_t nproof,
                                        const uint8_t root[32], struct pb_error *err)
{
	if (index >= size)
		return pb__err(err, PB_EINVAL, "index %llu is beyond a tree of size %llu",
		               (unsigned long long)index, (unsigned long long)size);
	uint64_t fn = index, sn = size - 1;
	uint8_t acc[32];
	memcpy(acc, leaf_hash, 32);
	for (size_t i = 0; i < nproof; i++) {
		if (sn == 0)
			return pb__err(err, PB_EVERIFY,
			               "inclusion proof is too long (%zu hashes) for index %llu in size %llu",
			               nproof, (unsigned long long)index, (unsigned long long)size);
		if ((fn & 1) || fn == sn) {
			pb_tlog_node_hash(proof[i], acc, acc);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			pb_tlog_node_hash(acc, proof[i], acc);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return pb__err(err, PB_EVERIFY,
		               "inclusion proof is too short (%zu hashes) for index %llu in size %llu",
		               nproof, (unsigned long long)index, (unsigned long long)size);
	if (sodium_memcmp(acc, root, 32) != 0)
		return pb__err(err, PB_EVERIFY,
		               "inclusion proof for index %llu does not lead to the root of size %llu",
		               (unsigned long long)index, (unsigned long long)size);
	return PB_OK;
}

enum pb_status pb_tlog_verify_consistency(uint64_t size1, uint64_t size2,
                                          const uint8_t (*proof)[32], size_t nproof,
                                          const uint8_t root1[32], const uint8_t root2[32],
                                          struct pb_error *err)
{
	if (size1 > size2)
		return pb__err(err, PB_EINVAL, "old size %llu is larger than new size %llu",
		               (unsigned long long)size1, (unsigned long long)size2);
	if (size1 == size2) {
		if (nproof != 0)
			return pb__err(err, PB_EVERIFY, "consistency proof between equal sizes must be empty");
		if (sodium_memcmp(root1, root2, 32) != 0)
			return pb__err(err, PB_EVERIFY, "trees of equal size %llu have different roots",
			               (unsigned long long)size1);
		return PB_OK;
	}
	if (size1 == 0)
		return pb__err(err, PB_EVERIFY,
		               "a consistency proof from the empty tree proves nothing");
	if (nproof == 0)
		return pb__err(err, PB_EVERIFY, "consistency proof is empty");
	/* p = [root1] + proof when size1 is a power of two */
	const uint8_t *first;
	size_t start;
	if ((size1 & (size1 - 1)) == 0) {
		first = root1;
		start = 0;
	} else {
		first = proof[0];
		start = 1;
	}
	uint64_t fn = size1 - 1, sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[32], sr[32];
	memcpy(fr, first, 32);
	memcpy(sr, first, 32);
	for (size_t i = start; i < nproof; i++) {
		if (sn == 0)
			return pb__err(err, PB_EVERIFY, "consistency proof is too long (%zu hashes)",
			               nproof);
		if ((fn & 1) || fn == sn) {
			pb_tlog_node_hash(proof[i], fr, fr);
			pb_tlog_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			pb_tlog_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return pb__err(err, PB_EVERIFY, "consistency proof is too short (%zu hashes)", nproof);
	if (sodium_memcmp(fr, root1, 32) != 0)
		return pb__err(err, PB_EVERIFY,
		               "consistency proof does not lead to the old root (size %llu)",
		               (unsigned long long)size1);
	if (sodium_memcmp(sr, root2, 32) != 0)
		return pb__err(err, PB_EVERIFY,
		               "consistency proof does not lead to the new root (size %llu)",
		               (unsigned long long)size2);
	return PB_OK;
}

enum pb_status pb_tlog_subtree_hash(uint64_t lo, uint64_t hi, pb_tlog_hash_fn fn, void *ctx,
                                    uint8_t out[32], struct pb_error *err)
{
	if (hi <= lo)
		return pb__err(err, PB_EINVAL, "empty subtree [%llu, %llu)", (unsigned long long)lo,
		               (unsigned long long)hi);
	uint8_t piece[64][32];
	size_t np = 0;
	uint64_t count = hi - lo, pos = lo;
	for (int p = 63; p >= 0; p--) {
		uint64_t w = UINT64_C(1) << p;
		if (!(count & w))
			continue;
		if (pos & (w - 1))
			return pb__err(err, PB_EINVAL, "subtree [%llu, %llu) is not aligned",
			               (unsigned long long)lo, (unsigned long long)hi);
		enum pb_status st = fn(ctx, (unsigned)p, pos >> p, piece[np], err);
		if (st)
			return st;
		np++;
		pos += w;
	}
	for (size_t i = np - 1; i > 0; i--)
		pb_tlog_node_hash(piece[i - 1], piece[np - 1], piece[np - 1]);
	memcpy(out, piece[np - 1], 32);
	return PB_OK;
}

static enum pb_status path(uint64_t m, uint64_t lo, uint64_t hi, pb_tlog_hash_fn fn, void *ctx,
                           uint8_t (*proof)[32], size_t *np, struct pb_error *err)
{
	if (hi - lo == 1)
		return PB_OK;
	uint64_t k = pb__tlog_split(hi - lo);
	enum pb_status st;
	if (m < lo + k) {
		if ((st = path(m, lo, lo + k, fn, ctx, proof, np, err)))
			return st;
		return pb_tlog_subtree_hash(lo + k, hi, fn, ctx, proof[(*np)++], err);
	}
	if ((st = path(m, lo + k, hi, fn, ctx, proof, np, err)))
		return st;
	return pb_tlog_subtree_hash(lo, lo + k, fn, ctx, proof[(*np)++], err);
}

enum pb_status pb_tlog_prove_inclusion(uint64_t index, uint64_t size, pb_tlog_hash_fn fn,
                                       void *ctx, uint8_t (*proof)[32], size_t *nproof,
                                       struct pb_error *err)
{
	*nproof = 0;
	if (index >= size)
		return pb__err(err, PB_EINVAL, "index %llu is beyond a tree of size %llu",
		               (unsigned long long)index, (unsigned long long)size);
	return path(index, 0, size, fn, ctx, proof, nproof, err);
}

static enum pb_status subproof(uint64_t m, uint64_t lo, uint64_t hi, bool b, pb_tlog_hash_fn fn,
                               void *ctx, uint8_t (*proof)[32], size_t *np, struct pb_error *err)
{
	uint64_t n = hi - lo;
	if (m == n) {
		if (b)
			return PB_OK;
		return pb_tlog_subtree_hash(lo, hi, fn, ctx, proof[(*np)++], err);
	}
	uint64_t k = pb__tlog_split(n);
	enum pb_status st;
	if (m <= k) {
		if ((st = subproof(m, lo, lo + k, b, fn, ctx, proof, np, err)))
			return st;
		return pb_tlog_subtree_hash(lo + k, hi, fn, ctx, proof[(*np)++], err);
	}
	if ((st = subproof(m - k, lo + k, hi, false, fn, ctx, proof, np, err)))
		return st;
	return pb_tlog_subtree_hash(lo, lo + k, fn, ctx, proof[(*np)++], err);
}

enum pb_status pb_tlog_prove_consistency(uint64_t size1, uint64_t size2, pb_tlog_hash_fn fn,
                                         void *ctx, uint8_t (*proof)[32], size_t *nproof,
                                         struct pb_error *err)
{
	*nproof = 0;
	if (size1 == 0 || size1 > size2)
		return pb__err(err, PB_EINVAL,
		               "no consistency proof from size %llu to size %llu (need 0 < old <= new)",
		               (unsigned long long)size1, (unsigned long long)size2);
	return subproof(size1, 0, size2, true, fn, ctx, proof, nproof, err);
}

/* ===================================================================== */
/* tile paths                                                            */
/* ===================================================================== */

bool pb_tlog_tile_path(int level, uint64_t n, unsigned width, char *buf, size_t cap)
{
	char idx[64];
	unsigned groups[8];
	int ng = 0;
	uint64_t v = n;
	do {
		groups[ng++] = (unsigned)(v % 1000);
		v /= 1000;
	} while (v);
	size_t o = 0;
	for (int i = ng - 1; i >= 0; i--) {
		int w = snprintf(idx + o, sizeof(idx) - o, i ? "x%03u/" : "%03u", groups[i]);
		o += (size_t)w;
	}
	bool ok;
	if (level < 0)
		ok = width >= PB_TLOG_TILE_WIDTH
		             ? pb__snprintf(buf, cap, "tile/entries/%s", idx)
		             : pb__snprintf(buf, cap, "tile/entries/%s.p/%u", idx, width);
	else
		ok = width >= PB_TLOG_TILE_WIDTH
		             ? pb__snprintf(buf, cap, "tile/%d/%s", level, idx)
		             : pb__snprintf(buf, cap, "tile/%d/%s.p/%u", level, idx, width);
	return ok && width >= 1;
}

void pb_tlog_tile_counts(uint64_t size, int level, uint64_t *full, unsigned *partial)
{
	unsigned l = level < 0 ? 0 : (unsigned)level;
	*full = 0;
	*partial = 0;
	if (l >= 8)
		return;
	uint64_t hashes = size >> (8 * l); /* hashes stored at this tile level */
	*full = hashes / PB_TLOG_TILE_WIDTH;
	*partial = (unsigned)(hashes % PB_TLOG_TILE_WIDTH);
}

/* ===================================================================== */
/* base64, numbers                                                       */
/* ===================================================================== */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t pb__b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static const int8_t B64_VALUE[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/* Strict: whole quads, '=' only as the padding, the bits the padding leaves
 * over zero (the canonical encoding and nothing else). The log's one base64
 * decoder: checkpoints' signatures, and every entry's SSHSIG on the verify
 * path (lib/log/sigverify.c), hence the table. */
bool pb__b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	if (n % 4 != 0)
		return false;
	size_t pad = n == 0 || in[n - 1] != '=' ? 0 : in[n - 2] != '=' ? 1 : 2, o = 0;
	if (n / 4 * 3 - pad > cap)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int v0 = B64_VALUE[(unsigned char)in[i]], v1 = B64_VALUE[(unsigned char)in[i + 1]];
		int v2 = last && pad == 2 ? 0 : B64_VALUE[(unsigned char)in[i + 2]];
		int v3 = last && pad ? 0 : B64_VALUE[(unsigned char)in[i + 3]];
		if ((v0 | v1 | v2 | v3) < 0)
			return false;
		uint32_t q = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6 | (uint32_t)v3;
		out[o++] = (uint8_t)(q >> 16);
		if (last && pad == 2) {
			if (q & 0xffff) /* the 4 bits after the byte */
				return false;
			break;
		}
		out[o++] = (uint8_t)(q >> 8);
		if (last && pad == 1) {
			if (q & 0xff) /* the 2 bits after the two bytes */
				return false;
			break;
		}
		out[o++] = (uint8_t)q;
	}
	*outlen = o;
	return true;
}

bool pb__parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ===================================================================== */
/* keys                                                                  */
/* ===================================================================== */

/* Decodes one UTF-8 code point at s[i..n); returns its length or 0. */
static size_t utf8_cp(const char *s, size_t n, size_t i, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bad;
	size_t len = u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 : u[i] < 0xF0 ? 3 : 4;
	if (i + len > n || !pb_utf8_valid(s + i, len, &bad))
		return 0;
	if (len == 1)
		*cp = u[i];
	else if (len == 2)
		*cp = (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F);
	else if (len == 3)
		*cp = (uint32_t)(u[i] & 0x0F) << 12 | (uint32_t)(u[i + 1] & 0x3F) << 6 |
		      (u[i + 2] & 0x3F);
	else
		*cp = (uint32_t)(u[i] & 0x07) << 18 | (uint32_t)(u[i + 1] & 0x3F) << 12 |
		      (uint32_t)(u[i + 2] & 0x3F) << 6 | (u[i + 3] & 0x3F);
	return len;
}

static bool unicode_space(uint32_t c)
{
	return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

bool pb_note_name_valid(const char *name, size_t n)
{
	if (n == 0 || n > PB_NOTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_cp(name, n, i, &cp);
		if (!l || cp == '+' || cp < 0x20 || cp == 0x7F || unicode_space(cp))
			return false;
		i += l;
	}
	return true;
}

static uint32_t key_id(const char *name, size_t n, uint8_t type, const uint8_t pub[32])
{
	uint8_t h[32], tail[34] = { '\n', type };
	memcpy(tail + 2, pub, 32);
	pb__sha256_pair(NULL, name, n, tail, sizeof(tail), h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static bool parse_hex32(const char *s, size_t n, uint32_t *out)
{
	uint8_t b[4];
	if (n != 8)
		return false;
	for (size_t i = 0; i < 8; i++) /* lower case only, as the spec writes it */
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	if (!pb_unhex(s, 8, b, 4))
		return false;
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

enum pb_status pb_vkey_parse(const char *s, size_t n, struct pb_vkey *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *p1 = memchr(s, '+', n);
	const char *p2 = p1 ? memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - s)) : NULL;
	if (!p1 || !p2)
		return pb__err(err, PB_EFORMAT,
		               "malformed verifier key: expected 'name+keyid+base64key'");
	size_t nl = (size_t)(p1 - s);
	if (!pb_note_name_valid(s, nl))
		return pb__err(err, PB_EFORMAT,
		               "malformed verifier key: bad key name (empty, too long, or has '+', "
		               "spaces or control characters)");
	if (!parse_hex32(p1 + 1, (size_t)(p2 - p1 - 1), &out->key_id)) {
		/* a '+' in the name shifts every part: say so rather than only
		 * blaming the key ID */
		size_t gl = (size_t)(p2 - p1 - 1);
		return pb__err(err, PB_EFORMAT,
		               "malformed verifier key: key ID must be 8 lower-case hex digits, got "
		               "'%.*s'%s (the parts are split at '+', and a key name may not contain "
		               "'+')",
		               (int)(gl > 20 ? 20 : gl), p1 + 1, gl > 20 ? "..." : "");
	}
	uint8_t raw[64];
	size_t rl;
	const char *b = p2 + 1;
	size_t bl = n - (size_t)(b - s);
	if (!pb__b64_decode(b, bl, raw, sizeof(raw), &rl))
		return pb__err(err, PB_EFORMAT, "malformed verifier key: bad base64");
	if (rl < 1)
		return pb__err(err, PB_EFORMAT, "malformed verifier key: no key type");
	if (raw[0] != 0x01 && raw[0] != 0x04)
		return pb__err(err, PB_EFORMAT,
		               "unsupported verifier key type 0x%02x (probity reads Ed25519 keys, "
		               "types 0x01 and 0x04)",
		               raw[0]);
	if (rl != 33)
		return pb__err(err, PB_EFORMAT,
		               "malformed verifier key: Ed25519 key is %zu bytes, expected 32", rl - 1);
	out->type = raw[0];
	memcpy(out->pub, raw + 1, 32);
	memcpy(out->name, s, nl);
	out->name[nl] = '\0';
	if (key_id(out->name, nl, out->type, out->pub) != out->key_id)
		return pb__err(err, PB_EFORMAT,
		               "malformed verifier key: key ID %08x does not match the key",
		               (unsigned)out->key_id);
	return PB_OK;
}

void pb_vkey_format(const struct pb_vkey *k, char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[PB_B64_LEN(33) + 1];
	raw[0] = k->type;
	memcpy(raw + 1, k->pub, 32);
	pb__b64_encode(raw, 33, b64);
	pb__snprintf(buf, cap, "%s+%08x+%s", k->name, (unsigned)k->key_id, b64);
}

enum pb_status pb_signer_from_seed(const char *name, uint8_t type, const uint8_t seed[32],
                                   struct pb_signer *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	size_t nl = strlen(name);
	if (!pb_note_name_valid(name, nl))
		return pb__err(err, PB_EINVAL,
		               "bad key name '%s': it must be non-empty, at most %d bytes, without "
		               "'+', spaces or control characters",
		               name, PB_NOTE_NAME_MAX);
	if (type != 0x01 && type != 0x04)
		return pb__err(err, PB_EINVAL, "unsupported key type 0x%02x", type);
	if (sodium_init() < 0)
		return pb__err(err, PB_EIO, "cannot initialise libsodium");
	crypto_sign_ed25519_seed_keypair(out->vkey.pub, out->sk, seed);
	memcpy(out->vkey.name, name, nl + 1);
	out->vkey.type = type;
	out->vkey.key_id = key_id(name, nl, type, out->vkey.pub);
	return PB_OK;
}

enum pb_status pb_signer_parse(const char *s, size_t n, struct pb_signer *out,
                               struct pb_error *err)
{
	static const char prefix[] = "PRIVATE+KEY+";
	memset(out, 0, sizeof(*out));
	if (n < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1) != 0)
		return pb__err(err, PB_EFORMAT, "malformed signing key: expected 'PRIVATE+KEY+...'");
	const char *name = s + sizeof(prefix) - 1;
	size_t rest = n - (sizeof(prefix) - 1);
	const char *p1 = memchr(name, '+', rest);
	const char *p2 = p1 ? memchr(p1 + 1, '+', rest - (size_t)(p1 + 1 - name)) : NULL;
	if (!p1 || !p2)
		return pb__err(err, PB_EFORMAT,
		               "malformed signing key: expected 'PRIVATE+KEY+name+keyid+base64'");
	size_t nl = (size_t)(p1 - name);
	char nm[PB_NOTE_NAME_MAX + 1];
	if (!pb_note_name_valid(name, nl))
		return pb__err(err, PB_EFORMAT, "malformed signing key: bad key name");
	memcpy(nm, name, nl);
	nm[nl] = '\0';
	uint32_t id;
	if (!parse_hex32(p1 + 1, (size_t)(p2 - p1 - 1), &id))
		return pb__err(err, PB_EFORMAT, "malformed signing key: bad key ID");
	uint8_t raw[64];
	size_t rl;
	const char *b = p2 + 1;
	if (!pb__b64_decode(b, n - (size_t)(b - s), raw, sizeof(raw), &rl) || rl != 33)
		return pb__err(err, PB_EFORMAT,
		               "malformed signing key: expected base64 of a type byte and a 32-byte seed");
	enum pb_status st = pb_signer_from_seed(nm, raw[0], raw + 1, out, err);
	sodium_memzero(raw, sizeof(raw));
	if (st)
		return st;
	if (out->vkey.key_id != id) {
		pb_signer_release(out);
		return pb__err(err, PB_EFORMAT, "malformed signing key: key ID does not match the key");
	}
	return PB_OK;
}

void pb_signer_release(struct pb_signer *s)
{
	sodium_memzero(s->sk, sizeof(s->sk));
}

/* ===================================================================== */
/* signed notes                                                          */
/* ===================================================================== */

static const char dash[] = "\xe2\x80\x94 "; /* U+2014 EM DASH, space */

/* The message a cosignature (type 0x04) signs. */
static enum pb_status cosig_message(const char *text, size_t n, uint64_t ts, struct pb_buf *b)
{
	enum pb_status st = pb_buf_printf(b, "cosignature/v1\ntime %llu\n", (unsigned long long)ts);
	if (!st)
		st = pb_buf_add(b, text, n);
	return st;
}

/* Text checks common to notes: UTF-8, no control characters but '\n'. */
static enum pb_status note_chars(const char *s, size_t n, struct pb_error *err)
{
	size_t bad;
	if (!pb_utf8_valid(s, n, &bad))
		return pb__err(err, PB_EFORMAT, "malformed note: invalid UTF-8 at byte %zu", bad);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n') || c == 0x7F)
			return pb__err(err, PB_EFORMAT,
			               "malformed note: control character 0x%02x at byte %zu", c, i);
	}
	return PB_OK;
}

enum pb_status pb_note_open(const char *msg, size_t n, const struct pb_vkey *keys, size_t nkeys,
                            struct pb_note *out, struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	enum pb_status st;
	if (n > PB_NOTE_MAX_SIZE)
		return pb__err(err, PB_ELIMIT, "note is larger than %d bytes", PB_NOTE_MAX_SIZE);
	if ((st = note_chars(msg, n, err)))
		return st;
	if (n == 0 || msg[n - 1] != '\n')
		return pb__err(err, PB_EFORMAT, "malformed note: it does not end in a newline");
	/* the signature block starts after the last blank line */
	size_t split = n;
	for (size_t i = n - 1; i > 0; i--)
		if (msg[i] == '\n' && msg[i - 1] == '\n') {
			split = i;
			break;
		}
	if (split == n || split < 1)
		return pb__err(err, PB_EFORMAT, "malformed note: no blank line before the signatures");
	out->text = pb_str_of(msg, split);
	const char *p = msg + split + 1, *end = msg + n;
	if (p == end)
		return pb__err(err, PB_EFORMAT, "malformed note: no signature lines");
	struct pb_buf cos;
	pb_buf_init(&cos, PB_NOTE_MAX_SIZE + 64);
	size_t lineno = 0;
	while (p < end) {
		lineno++;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		/* eol exists: the message ends in '\n' */
		size_t len = (size_t)(eol - p);
		if (len < sizeof(dash) - 1 || memcmp(p, dash, sizeof(dash) - 1) != 0) {
			st = pb__err(err, PB_EFORMAT,
			             "malformed note: signature line %zu does not start with an em dash "
			             "and a space",
			             lineno);
			goto fail;
		}
		const char *nm = p + sizeof(dash) - 1;
		const char *sp = memchr(nm, ' ', (size_t)(eol - nm));
		if (!sp) {
			st = pb__err(err, PB_EFORMAT, "malformed note: signature line %zu has no signature",
			             lineno);
			goto fail;
		}
		size_t nl = (size_t)(sp - nm);
		if (!pb_note_name_valid(nm, nl)) {
			st = pb__err(err, PB_EFORMAT, "malformed note: bad key name on signature line %zu",
			             lineno);
			goto fail;
		}
		uint8_t raw[4 + 128];
		size_t rl;
		if (!pb__b64_decode(sp + 1, (size_t)(eol - sp - 1), raw, sizeof(raw), &rl) || rl < 5) {
			st = pb__err(err, PB_EFORMAT,
			             "malformed note: signature line %zu is not base64 of a key ID and a "
			             "signature (or is longer than 132 bytes)",
			             lineno);
			goto fail;
		}
		if (out->nsigs >= PB_NOTE_MAX_SIGS) {
			st = pb__err(err, PB_ELIMIT, "note has more than %d signatures", PB_NOTE_MAX_SIGS);
			goto fail;
		}
		struct pb_note_sig *ns = realloc(out->sigs, (out->nsigs + 1) * sizeof(*ns));
		if (!ns) {
			st = pb__err(err, PB_ENOMEM, "out of memory");
			goto fail;
		}
		out->sigs = ns;
		struct pb_note_sig *sg = &ns[out->nsigs++];
		memset(sg, 0, sizeof(*sg));
		memcpy(sg->name, nm, nl);
		sg->name[nl] = '\0';
		sg->key_id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 |
		             raw[3];
		sg->siglen = rl - 4;
		memcpy(sg->sig, raw + 4, sg->siglen);
		sg->verified_by = -1;
		for (size_t k = 0; k < nkeys; k++) {
			const struct pb_vkey *key = &keys[k];
			if (key->key_id != sg->key_id || strcmp(key->name, sg->name) != 0)
				continue;
			bool ok = false;
			if (key->type == 0x01 && sg->siglen == 64) {
				ok = crypto_sign_ed25519_verify_detached(sg->sig, (const uint8_t *)msg,
				                                         out->text.len, key->pub) == 0;
			} else if (key->type == 0x04 && sg->siglen == 72) {
				uint64_t ts = 0;
				for (int i = 0; i < 8; i++)
					ts = ts << 8 | sg->sig[i];
				pb_buf_reset(&cos);
				if ((st = cosig_message(msg, out->text.len, ts, &cos))) {
					pb__err(err, st, "out of memory");
					goto fail;
				}
				ok = crypto_sign_ed25519_verify_detached(sg->sig + 8, (const uint8_t *)cos.data,
				                                         cos.len, key->pub) == 0;
				if (ok)
					sg->timestamp = ts;
			}
			if (!ok) {
				st = pb__err(err, PB_EVERIFY, "signature by '%s' (key %08x) does not verify",
				             sg->name, (unsigned)sg->key_id);
				goto fail;
			}
			sg->verified_by = (int)k;
			out->nverified++;
			break;
		}
		p = eol + 1;
	}
	pb_buf_release(&cos);
	if (nkeys > 0 && out->nverified == 0) {
		pb_note_release(out);
		return pb__err(err, PB_EVERIFY, "note has no signature by a trusted key ('%s')",
		               keys[0].name);
	}
	return PB_OK;
fail:
	pb_buf_release(&cos);
	pb_note_release(out);
	return st;
}

void pb_note_release(struct pb_note *note)
{
	free(note->sigs);
	note->sigs = NULL;
	note->nsigs = 0;
	note->nverified = 0;
}

enum pb_status pb_note_signature_line(const struct pb_signer *s, const char *text, size_t n,
                                      uint64_t timestamp, char *line, size_t cap,
                                      struct pb_error *err)
{
	enum pb_status st;
	if (n == 0 || text[n - 1] != '\n')
		return pb__err(err, PB_EINVAL, "note text must end in a newline");
	if ((st = note_chars(text, n, err)))
		return st;
	uint8_t raw[4 + 72];
	size_t rl = 4;
	raw[0] = (uint8_t)(s->vkey.key_id >> 24);
	raw[1] = (uint8_t)(s->vkey.key_id >> 16);
	raw[2] = (uint8_t)(s->vkey.key_id >> 8);
	raw[3] = (uint8_t)s->vkey.key_id;
	if (s->vkey.type == 0x04) {
		struct pb_buf b;
		pb_buf_init(&b, PB_NOTE_MAX_SIZE + 64);
		if ((st = cosig_message(text, n, timestamp, &b))) {
			pb_buf_release(&b);
			return pb__err(err, st, "note too large to cosign");
		}
		for (int i = 0; i < 8; i++)
			raw[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
		crypto_sign_ed25519_detached(raw + 12, NULL, (const uint8_t *)b.data, b.len, s->sk);
		pb_buf_release(&b);
		rl += 72;
	} else {
		crypto_sign_ed25519_detached(raw + 4, NULL, (const uint8_t *)text, n, s->sk);
		rl += 64;
	}
	char b64[PB_B64_LEN(sizeof(raw)) + 1];
	pb__b64_encode(raw, rl, b64);
	if (!pb__snprintf(line, cap, "%s%s %s\n", dash, s->vkey.name, b64))
		return pb__err(err, PB_ELIMIT, "signature line does not fit its buffer");
	return PB_OK;
}

/* ===================================================================== */
/* checkpoints                                                           */
/* ===================================================================== */

enum pb_status pb_checkpoint_parse(const char *text, size_t n, struct pb_checkpoint *out,
                                   struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	enum pb_status st;
	if (n > PB_NOTE_MAX_SIZE)
		return pb__err(err, PB_ELIMIT, "checkpoint is larger than %d bytes", PB_NOTE_MAX_SIZE);
	if ((st = note_chars(text, n, err))) {
		pb__err_prefix(err, "checkpoint");
		return st;
	}
	if (n == 0 || text[n - 1] != '\n')
		return pb__err(err, PB_EFORMAT, "malformed checkpoint: it does not end in a newline");
	const char *p = text, *end = text + n;
	struct pb_str line[3];
	for (int i = 0; i < 3; i++) {
		if (p >= end)
			return pb__err(err, PB_EFORMAT,
			               "malformed checkpoint: expected origin, size and root hash lines");
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		line[i] = pb_str_of(p, (size_t)(eol - p));
		p = eol + 1;
	}
	if (line[0].len == 0)
		return pb__err(err, PB_EFORMAT, "malformed checkpoint: empty origin line");
	if (line[0].len > PB_NOTE_NAME_MAX)
		return pb__err(err, PB_ELIMIT, "malformed checkpoint: origin longer than %d bytes",
		               PB_NOTE_NAME_MAX);
	memcpy(out->origin, line[0].ptr, line[0].len);
	out->origin[line[0].len] = '\0';
	if (!pb__parse_u64(line[1].ptr, line[1].len, &out->size))
		return pb__err(err, PB_EFORMAT,
		               "malformed checkpoint: tree size '%.*s' is not a decimal number below "
		               "2^64 without leading zeros",
		               (int)(line[1].len > 40 ? 40 : line[1].len), line[1].ptr);
	size_t rl;
	uint8_t root[48];
	if (!pb__b64_decode(line[2].ptr, line[2].len, root, sizeof(root), &rl) || rl != 32)
		return pb__err(err, PB_EFORMAT,
		               "malformed checkpoint: root hash is not base64 of 32 bytes");
	memcpy(out->root, root, 32);
	size_t eo = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(eol - p);
		if (len == 0)
			return pb__err(err, PB_EFORMAT, "malformed checkpoint: empty extension line");
		if (eo + len + 2 > sizeof(out->extensions))
			return pb__err(err, PB_ELIMIT, "checkpoint extension lines exceed %zu bytes",
			               sizeof(out->extensions) - 1);
		memcpy(out->extensions + eo, p, len + 1);
		eo += len + 1;
		out->nextensions++;
		p = eol + 1;
	}
	out->extensions[eo] = '\0';
	return PB_OK;
}

enum pb_status pb_checkpoint_open(const char *msg, size_t n, const struct pb_vkey *keys,
                                  size_t nkeys, const char *origin, struct pb_checkpoint *out,
                                  struct pb_error *err)
{
	memset(out, 0, sizeof(*out));
	if (nkeys == 0)
		return pb__err(err, PB_EINVAL, "no verifier key given");
	struct pb_note note;
	enum pb_status st = pb_note_open(msg, n, keys, nkeys, &note, err);
	if (st)
		return st;
	st = pb_checkpoint_parse(note.text.ptr, note.text.len, out, err);
	pb_note_release(&note);
	if (st)
		return st;
	if (origin && strcmp(origin, out->origin) != 0)
		return pb__err(err, PB_EVERIFY, "checkpoint origin is '%s', expected '%s'", out->origin,
		               origin);
	return PB_OK;
}

size_t pb_checkpoint_format(const struct pb_checkpoint *c, char *buf, size_t cap)
{
	char b64[PB_B64_LEN(32) + 1];
	pb__b64_encode(c->root, 32, b64);
	if (!pb__snprintf(buf, cap, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64))
		return 0;
	return strlen(buf);
}

/* ===================================================================== */
/* proof documents                                                       */
/* ===================================================================== */

enum pb_status pb_tlog_proof_doc_parse(const char *doc, size_t n, struct pb_tlog_proof_doc *out,
                                       struct pb_error *err)
{
	static const char hdr[] = "c2sp.org/tlog-proof@v1";
	memset(out, 0, sizeof(*out));
	if (n > PB_NOTE_MAX_SIZE + 8192)
		return pb__err(err, PB_ELIMIT, "proof document is too large");
	const char *p = doc, *end = doc + n;
	uint64_t lineno = 0;
#define NEXT_LINE(l)                                                                   \
	do {                                                                           \
		const char *eol_ = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;   \
		if (!eol_)                                                             \
			return pb__err_at(err, PB_EFORMAT, NULL, lineno + 1, 0,            \
			                  "proof document ends early (no blank line and "  \
			                  "checkpoint)");                                  \
		l = pb_str_of(p, (size_t)(eol_ - p));                                     \
		p = eol_ + 1;                                                          \
		lineno++;                                                              \
	} while (0)
	struct pb_str l;
	NEXT_LINE(l);
	if (pb_str_eq_cstr(l, hdr)) {
		NEXT_LINE(l);
		if (l.len > 6 && memcmp(l.ptr, "extra ", 6) == 0) {
			if (!pb__b64_decode(l.ptr + 6, l.len - 6, out->extra, sizeof(out->extra),
			                    &out->extralen))
				return pb__err_at(err, PB_EFORMAT, NULL, lineno, 7,
				                  "extra data is not base64 (of at most %zu bytes)",
				                  sizeof(out->extra));
			NEXT_LINE(l);
		}
		if (l.len <= 6 || memcmp(l.ptr, "index ", 6) != 0 ||
		    !pb__parse_u64(l.ptr + 6, l.len - 6, &out->index))
			return pb__err_at(err, PB_EFORMAT, NULL, lineno, 1,
			                  "expected 'index <number>'");
	} else if (l.len > 4 && memcmp(l.ptr, "old ", 4) == 0) {
		out->consistency = true;
		if (!pb__parse_u64(l.ptr + 4, l.len - 4, &out->index))
			return pb__err_at(err, PB_EFORMAT, NULL, lineno, 5,
			                  "old size is not a decimal number");
	} else {
		return pb__err_at(err, PB_EFORMAT, NULL, lineno, 1,
		                  "not a proof document: expected '%s' or 'old <size>'", hdr);
	}
	for (;;) {
		NEXT_LINE(l);
		if (l.len == 0)
			break;
		if (out->nproof >= PB_TLOG_MAX_PROOF)
			return pb__err_at(err, PB_ELIMIT, NULL, lineno, 1, "more than %d proof hashes",
			                  PB_TLOG_MAX_PROOF);
		size_t hl;
		if (!pb__b64_decode(l.ptr, l.len, out->proof[out->nproof], 32, &hl) || hl != 32)
			return pb__err_at(err, PB_EFORMAT, NULL, lineno, 1,
			                  "proof hash is not base64 of 32 bytes");
		out->nproof++;
	}
#undef NEXT_LINE
	out->note = pb_str_of(p, (size_t)(end - p));
	if (out->note.len == 0)
		return pb__err_at(err, PB_EFORMAT, NULL, lineno + 1, 0,
		                  "proof document has no checkpoint after the blank line");
	return PB_OK;
}
