/* decide.c - the decision engine: one entitlements version compiled into a
 * lookup table that answers allow/deny in tens of nanoseconds.
 *
 * Design (docs/enforcement.md, "Performance", has the figures). Every value a
 * rule mentions is interned, per dimension, into a small integer id
 * (case-folded, trimmed; services and regions first canonicalised through
 * the catalog); the values most rules mention get the smallest ids. What a
 * rule says beyond its accounts (its sets of ids per dimension and its time
 * window) is a "shape"; rules share shapes (100,000 rules of a plan template
 * have a few dozen), so the shapes stay in the cache. A shape whose ids are
 * all below 63 is tested with one 64-bit mask per dimension, without a
 * branch per value; others fall back to sorted id arrays.
 *
 * Rules are indexed by billing account: groups of eight slots whose 8-bit
 * tags are tested in one word, each slot the offset of the account's block;
 * one contiguous block per account holds its id and its plans, each with its
 * disables and keeps in version order as (rule index, shape) words. A block
 * that fits in a cache line does not straddle two. A request for an account
 * under no rule usually reads one word of tags; one under rules reads a
 * slot, its block and the shared shapes. Hashes are blind to ASCII case, so
 * the request's bytes are hashed as they come.
 *
 * A request naming only account, service and region (what gateways send)
 * resolves through a memo of (service, region) spelling pairs holding the
 * resolved request and every shape's answer for it; others resolve their
 * service and region through memos of single spellings. The memos are
 * insert-only, lock-free hash tables of the spellings the catalog knows;
 * unknown spellings take the slow path every time and are never memoised,
 * which bounds the memos by the catalog's size. The request path allocates
 * nothing and takes no lock.
 *
 * Semantics (docs/enforcement.md): a request value the engine cannot tell
 * (unknown service or region, no sub-account, a service offering several
 * capabilities with none named) is "unknown": a disable that constrains that
 * dimension may apply, so it does (fail closed); a keep must surely apply, so
 * it does not. Deny when some plan has an in-force disable that applies and
 * no in-force keep of the same plan that applies; the reason is the applying
 * disable with the lowest index among those not kept.
 */
#include "decide/entitlements.h"
#include "decide/decider.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define NONE 0u          /* a value no rule mentions */
#define UNK 0xffffffffu  /* a value the engine cannot tell: could be anything */
#define NOIDX 0xffffffffu
#define KEYMAX PB_RULE_VALUE_LEN_MAX
#define KEYBUF (KEYMAX + 16) /* a folded key, zero-padded to whole 8-byte words */
#define MEMO_SLOTS 4096u /* per memo; at most half are filled */
#define CAPS_MAX 32u     /* capabilities of one service the memo keeps */
#define FASTMAX 62u      /* ids up to this are tested as one bit of a mask */
#define UNKBIT 63u       /* the mask bit of "unknown: may be in the set" */

const char *pb_why_name(enum pb_why w)
{
	static const char *const names[] = { "no-rules", "no-match", "kept", "disabled" };
	return (unsigned)w < PB_ARRAY_LEN(names) ? names[w] : "?";
}

/* ---- folding and hashing keys ------------------------------------------ */

static inline uint64_t load64(const char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline size_t words_of(size_t n)
{
	return (n + 7) / 8;
}

/* ASCII upper-case letters of 8 bytes to lower case. */
static inline uint64_t fold64(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = x & ~high;
	uint64_t ge_a = low7 + (0x80 - 'A') * ones; /* high bit: byte >= 'A' */
	uint64_t gt_z = low7 + (0x7f - 'Z') * ones; /* high bit: byte > 'Z' */
	uint64_t upper = ge_a & ~gt_z & ~x & high;  /* ASCII upper-case letters */
	return x | (upper >> 2);                    /* + 0x20 */
}

/* The bytes s[i..n) (fewer than 8, i < n) as one word, zero-padded: what
 * load64 reads from a zero-padded copy. Reads only inside s[0..n). */
static inline uint64_t tail_word(const char *s, size_t n, size_t i)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	size_t r = n - i;
	if (n >= 8)
		return load64(s + n - 8) >> (64 - 8 * r);
	if (r >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, s + i, 4);
		memcpy(&hi, s + n - 4, 4);
		return lo | (uint64_t)hi << (8 * (r - 4));
	}
	return (uint64_t)(unsigned char)s[i] | (uint64_t)(unsigned char)s[i + r / 2] << (8 * (r / 2)) |
	       (uint64_t)(unsigned char)s[n - 1] << (8 * (r - 1));
#else
	char w[8] = { 0 };
	memcpy(w, s + i, n - i);
	return load64(w);
#endif
}

/* Keys of 8 bytes or more are read as 8-byte words at 0, 8, 16, ... and one
 * more ending at the last byte (overlapping the one before): no shifts, and
 * no byte read outside the key. Shorter keys are read as one zero-padded
 * word. Most ids take two loads. */

/* The only word of a key of 1..7 bytes. */
static inline uint64_t short_word(const char *s, size_t n)
{
	return tail_word(s, n, 0);
}

/* The hash of s[0..n), blind to ASCII case: each word is OR-ed with 0x20 in
 * every byte, which maps 'A'..'Z' onto 'a'..'z' (and leaves digits, '-',
 * '.', '_' and lower-case letters as they are). So a request's bytes hash as
 * they come, without folding, to the hash of their folded form; only the
 * equality test, on a match of the tag, looks at case. */
static inline uint64_t hash_ci(const char *s, size_t n)
{
	const uint64_t ci = 0x2020202020202020ull, k = 0xbf58476d1ce4e5b9ull;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	if (PB_LIKELY(n > 8 && n <= 16)) {
		h = (h ^ (load64(s) | ci)) * k;
		h = (h ^ (load64(s + n - 8) | ci)) * k;
	} else if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			h = (h ^ (load64(s + i) | ci)) * k;
		h = (h ^ (load64(s + n - 8) | ci)) * k;
	} else if (n) {
		h = (h ^ (short_word(s, n) | ci)) * k;
	}
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

/* Do the n bytes at a and at b match? */
static inline bool raw_eq(const char *a, const char *b, size_t n)
{
	if (PB_LIKELY(n > 8 && n <= 16))
		return load64(a) == load64(b) && load64(a + n - 8) == load64(b + n - 8);
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (load64(a + i) != load64(b + i))
				return false;
		return load64(a + n - 8) == load64(b + n - 8);
	}
	return n == 0 || short_word(a, n) == short_word(b, n);
}

/* Do the n bytes at a and at b match once folded? */
static bool folded_eq(const char *a, const char *b, size_t n)
{
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (fold64(load64(a + i)) != fold64(load64(b + i)))
				return false;
		return fold64(load64(a + n - 8)) == fold64(load64(b + n - 8));
	}
	return n == 0 || fold64(short_word(a, n)) == fold64(short_word(b, n));
}

/* Do two zero-padded keys of length n hold the same bytes? */
static inline bool words_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i += 8)
		if (load64(a + i) != load64(b + i))
			return false;
	return true;
}

/* s without leading and trailing spaces and tabs; SIZE_MAX as the length
 * when s is absent or longer than KEYMAX once trimmed. */
static inline struct pb_str trim_key(struct pb_str s)
{
	if (!s.ptr)
		return pb_str_of(NULL, SIZE_MAX);
	/* nothing to trim when both ends are above ' ' (the common case) */
	if (PB_UNLIKELY(!s.len || (unsigned char)s.ptr[0] <= ' ' ||
	                (unsigned char)s.ptr[s.len - 1] <= ' ')) {
		while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
			s.ptr++;
			s.len--;
		}
		while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
			s.len--;
	}
	if (s.len > KEYMAX)
		s.len = SIZE_MAX;
	return s;
}

/* Trims spaces and tabs off s and lower-cases ASCII into out (KEYBUF bytes,
 * left zero-padded to whole words): the result of pb__fold. Returns the
 * length, or SIZE_MAX when s is absent or longer than KEYMAX once trimmed. */
static size_t fold_key(struct pb_str s, char *out)
{
	s = trim_key(s);
	if (s.len == SIZE_MAX)
		return SIZE_MAX;
	size_t i = 0;
	for (; i + 8 <= s.len; i += 8) {
		uint64_t x = fold64(load64(s.ptr + i));
		memcpy(out + i, &x, 8);
	}
	uint64_t x = i < s.len ? fold64(tail_word(s.ptr, s.len, i)) : 0;
	memcpy(out + i, &x, 8);
	return s.len;
}

/* The generic byte hash of compile time (shape keys). */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* ---- dictionaries: folded string -> id (1-based) ------------------------ */

struct slot {
	uint64_t hash;
	const char *key; /* zero-padded to whole words */
	uint32_t len;
	uint32_t id; /* 0: empty slot */
};

struct dict {
	struct slot *slots;
	uint32_t mask;
	uint32_t n;
};

static void dict_release(struct dict *d)
{
	free(d->slots);
	memset(d, 0, sizeof(*d));
}

static bool dict_grow(struct dict *d)
{
	uint32_t cap = d->slots ? (d->mask + 1) * 2 : 64;
	struct slot *s = calloc(cap, sizeof(*s));
	if (!s)
		return false;
	for (uint32_t i = 0; d->slots && i <= d->mask; i++) {
		if (!d->slots[i].id)
			continue;
		uint32_t j = (uint32_t)d->slots[i].hash & (cap - 1);
		while (s[j].id)
			j = (j + 1) & (cap - 1);
		s[j] = d->slots[i];
	}
	free(d->slots);
	d->slots = s;
	d->mask = cap - 1;
	return true;
}

/* k: a folded key, zero-padded (fold_key or pad_key). */
static inline uint32_t dict_find(const struct dict *d, const char *k, size_t n, uint64_t h)
{
	if (!d->slots)
		return NONE;
	for (uint32_t i = (uint32_t)h & d->mask;; i = (i + 1) & d->mask) {
		const struct slot *s = &d->slots[i];
		if (!s->id)
			return NONE;
		if (s->hash == h && s->len == n && words_eq(s->key, k, n))
			return s->id;
	}
}

/* Interns k (folded, zero-padded); the key is copied into the arena. 0 on ENOMEM. */
static uint32_t dict_intern(struct dict *d, struct pb__arena *a, const char *k, size_t n)
{
	uint64_t h = hash_ci(k, n);
	uint32_t id = dict_find(d, k, n, h);
	if (id)
		return id;
	if ((!d->slots || (d->n + 1) * 2 > d->mask + 1) && !dict_grow(d))
		return 0;
	char *copy = pb__arena_alloc(a, words_of(n) * 8 + 8);
	if (!copy)
		return 0;
	memcpy(copy, k, words_of(n) * 8);
	uint32_t i = (uint32_t)h & d->mask;
	while (d->slots[i].id)
		i = (i + 1) & d->mask;
	d->slots[i] = (struct slot){ h, copy, (uint32_t)n, ++d->n };
	return d->n;
}

/* pb__fold into a KEYBUF buffer, zero-padded; SIZE_MAX when too long. */
static size_t pad_key(const char *s, size_t n, char *out)
{
	size_t l = pb__fold(s, n, out, KEYMAX);
	if (l != SIZE_MAX)
		memset(out + l, 0, 8);
	return l;
}

/* ---- the memo of resolved services and regions -------------------------- */

/* What a request's spelling of a service or region tells, for the fast
 * tests (see struct resolved) and the general one. */
struct svc_info {
	uint32_t name, cat, subcat;  /* ids, NONE or UNK */
	uint8_t mb[3], sb[3];        /* their "may" and "sure" bit indices */
	uint32_t ncaps;              /* capabilities the service offers (<= CAPS_MAX kept) */
	uint32_t caps[CAPS_MAX];     /* their ids (NONE for ones no rule mentions) */
	uint64_t mcap, scap;         /* the "may" and "sure" capability masks for them */
	const struct pb_service *svc;
	bool known;
	bool caps_cut;               /* offered more than CAPS_MAX: treat as unknown */
};

struct reg_info {
	uint32_t region, country;
	uint8_t mb[2], sb[2];
	bool known;
};

struct memo_entry {
	uint64_t hash;
	uint32_t len;
	union {
		struct svc_info s;
		struct reg_info r;
	} u;
	char key[]; /* the spelling as the request gave it, zero-padded to whole words */
};

struct memo {
	_Atomic(struct memo_entry *) slots[MEMO_SLOTS];
	atomic_uint count;
};

/* The entry of spelling s[0..n) (as given, not folded) with hash h. */
static inline const struct memo_entry *memo_find(const struct memo *m, const char *s, size_t n,
                                                 uint64_t h)
{
	for (uint32_t i = (uint32_t)h & (MEMO_SLOTS - 1), tries = 0; tries < MEMO_SLOTS;
	     i = (i + 1) & (MEMO_SLOTS - 1), tries++) {
		struct memo_entry *e = atomic_load_explicit(&m->slots[i], memory_order_acquire);
		if (!e)
			return NULL;
		if (e->hash == h && e->len == n && raw_eq(e->key, s, n))
			return e;
	}
	return NULL;
}

/* Publishes a copy of proto for spelling s[0..n); losing a race to an equal
 * entry is fine. */
static void memo_add(struct memo *m, const struct memo_entry *proto, const char *s, size_t n)
{
	if (atomic_load_explicit(&m->count, memory_order_relaxed) >= MEMO_SLOTS / 2)
		return;
	struct memo_entry *e = malloc(sizeof(*e) + words_of(n) * 8 + 8);
	if (!e)
		return;
	*e = *proto;
	memset(e->key, 0, words_of(n) * 8 + 8);
	memcpy(e->key, s, n);
	for (uint32_t i = (uint32_t)e->hash & (MEMO_SLOTS - 1);; i = (i + 1) & (MEMO_SLOTS - 1)) {
		struct memo_entry *cur = NULL;
		if (atomic_compare_exchange_strong_explicit(&m->slots[i], &cur, e,
		                                            memory_order_acq_rel,
		                                            memory_order_acquire)) {
			atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
			return;
		}
		if (cur->hash == e->hash && cur->len == n && raw_eq(cur->key, s, n)) {
			free(e);
			return;
		}
	}
}

static void memo_release(struct memo *m)
{
	for (uint32_t i = 0; i < MEMO_SLOTS; i++)
		free(atomic_load_explicit(&m->slots[i], memory_order_relaxed));
}

/* ---- the compiled table ------------------------------------------------- */

/* A rule's selector beyond its accounts, and its time window.
 *
 * A fast shape (every id of every set in 1..FASTMAX) is tested with one mask
 * per dimension: bits[d] has bit v for each id v of the set, plus bit UNKBIT
 * ("an unknown value may be in the set"), or is all ones when the dimension
 * is not constrained. A request then gives per dimension a bit index to test
 * for "may" (the id, UNKBIT when unknown, 0 when no rule knows the value) and
 * one for "sure" (the id, else 0); bit 0 is in no set. Capabilities, a set
 * on both sides, use masks instead: see struct resolved. */
enum { SH_FAST, SH_WIDE, SH_SLOW };

struct shape {
	int64_t from, until;
	uint64_t m0, m1;             /* SH_FAST: masks of up to two constrained dimensions... */
	uint8_t d0, d1;              /* ...and which (the account's when unused: all ones) */
	uint8_t kind;                /* SH_FAST: ids fast, at most two single-valued dimensions
	                              * constrained; SH_WIDE: ids fast; SH_SLOW: the rest */
	uint64_t cap;                /* SH_FAST, SH_WIDE: the capability mask */
	uint64_t bits[PB_DIM_COUNT]; /* SH_WIDE: every mask (the account's is unused) */
	uint32_t mask;               /* dimensions with a non-empty set (never the account) */
	uint32_t set[PB_DIM_COUNT];  /* offsets into pool: pool[off] = count, ids follow, ascending */
};

/* An account's block in blob (32-bit words):
 *   [0]        key length | flags (BLK_*) << 9 | number of plans << 11
 *   [1..]      the account id as first spelled (trimmed), then zeros to a whole word
 *   per plan:  ndisables | nkeeps << 16, or UINT32_MAX, ndisables, nkeeps;
 *              then the disables and the keeps in version order, each
 *              rule << PACK_SHIFT | shape (packed), or two words rule, shape
 * A block that fits in a cache line does not straddle two. */
#define PACK_SHIFT 12u
_Static_assert(PB_RULES_MAX < (1u << (32 - PACK_SHIFT)), "rule indices fit packed entries");
_Static_assert(PB_RULES_MAX < (1u << 21), "plan counts fit a block header");
#define PACK_SHAPES (1u << PACK_SHIFT) /* packed entries when shapes are no more */
#define BLK_SOME 1u      /* block flag: some rule of the account is always in force */
#define BLK_ALL 2u       /* block flag: every rule of the account is always in force */

/* The account index: groups of eight slots, each with an 8-bit tag (0: empty;
 * else the high bit and 7 bits of the account's hash) and the offset of its
 * block. Tags are tested eight at a time, so a request for an account under
 * no rule usually reads one word of tags (64 KB of them for 50,000
 * accounts) and nothing else. */
#define GROUP 8u

static inline uint8_t tag_of(uint64_t h)
{
	return (uint8_t)(0x80u | (h >> 57));
}

struct cls_entry; /* a memoised request (the request side, below) */
struct cls_memo {
	_Atomic(struct cls_entry *) slots[MEMO_SLOTS];
	atomic_uint count;
};

struct pb_decider {
	const struct pb_entitlements *ents;
	const struct pb_catalog *cat;
	int64_t version;
	uint8_t *ctrl;        /* the tags of the account slots, GROUP per group */
	uint32_t *slots;      /* block offsets in blob */
	uint32_t group_mask;
	bool packed;          /* one word per block entry */
	bool use_memo;        /* memoise whole requests (struct cls_entry) */
	uint32_t *blob;
	struct shape *shapes;
	uint32_t nshapes;
	uint32_t *pool;
	struct dict dicts[PB_DIM_COUNT]; /* all but the account's: value -> id */
	struct pb__arena arena;
	struct memo *svc_memo, *reg_memo;
	struct cls_memo *cls_memo;
	uint64_t seed; /* of the request memo's hash */
	_Atomic(char *) *rtext; /* per rule, its reason as answers give it (rule_reason) */
	size_t nrules, nblob, npool;
	/* a table over a compiled entitlements file (etab.c): ents is NULL, the
	 * rules come from rule_fn, and ctrl, slots, blob, shapes and pool are
	 * views into the file's mapping, not the decider's to free */
	const struct pb_rule *(*rule_fn)(void *ctx, size_t i);
	void *rule_ctx;
	bool mapped;
};

/* Rule i of the decider's version. */
static inline const struct pb_rule *rule_at(const struct pb_decider *d, size_t i)
{
	return d->ents ? pb_entitlements_rule(d->ents, i) : d->rule_fn(d->rule_ctx, i);
}

static void cls_release(struct cls_memo *m);

const struct pb_entitlements *pb_decider_entitlements(const struct pb_decider *d)
{
	return d->ents;
}

void pb_decider_free(struct pb_decider *d)
{
	if (!d)
		return;
	for (int i = 0; i < PB_DIM_COUNT; i++)
		dict_release(&d->dicts[i]);
	if (!d->mapped) {
		free(d->ctrl);
		free(d->slots);
		free(d->blob);
		free(d->shapes);
		free(d->pool);
	}
	if (d->svc_memo)
		memo_release(d->svc_memo);
	if (d->reg_memo)
		memo_release(d->reg_memo);
	free(d->svc_memo);
	free(d->reg_memo);
	if (d->cls_memo)
		cls_release(d->cls_memo);
	free(d->cls_memo);
	if (d->rtext) {
		for (size_t i = 0; i < d->nrules; i++)
			free(atomic_load_explicit(&d->rtext[i], memory_order_relaxed));
		free(d->rtext);
	}
	pb__arena_release(&d->arena);
	free(d);
}

/* Growable vectors for compiling. */
struct u32v {
	uint32_t *v;
	size_t n, cap;
};

static bool u32v_push(struct u32v *a, uint32_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		uint32_t *v = realloc(a->v, cap * sizeof(uint32_t));
		if (!v)
			return false;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return true;
}

/* Makes room for k more words; the memory is 64-byte aligned (the blob). */
static bool u32v_room(struct u32v *a, size_t k)
{
	if (a->cap - a->n >= k)
		return true;
	size_t cap = a->cap ? a->cap : 4096;
	while (cap - a->n < k)
		cap *= 2;
	uint32_t *v = aligned_alloc(64, cap * sizeof(uint32_t));
	if (!v)
		return false;
	if (a->n)
		memcpy(v, a->v, a->n * sizeof(uint32_t));
	free(a->v);
	a->v = v;
	a->cap = cap;
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The folded, canonical key of a rule value in dimension d (zero-padded). */
static size_t canon_key(const struct pb_catalog *cat, int d, const char *v, char *out)
{
	struct pb_str s = pb_str_trim(pb_cstr(v));
	if (d == PB_DIM_SERVICE) {
		const struct pb_service *svc = cat ? pb_catalog_service(cat, s) : NULL;
		if (svc)
			s = pb_cstr(svc->name);
	} else if (d == PB_DIM_REGION) {
		const struct pb_region *r = cat ? pb_catalog_region(cat, s) : NULL;
		if (r)
			s = pb_cstr(r->id);
	}
	return pad_key(s.ptr, s.len, out);
}

/* (account id, plan id, rule index) triples, sorted to build the index. */
struct triple {
	uint32_t acct, plan, rule;
};

static int cmp_triple(const void *a, const void *b)
{
	const struct triple *x = a, *y = b;
	if (x->acct != y->acct)
		return x->acct < y->acct ? -1 : 1;
	if (x->plan != y->plan)
		return x->plan < y->plan ? -1 : 1;
	return (x->rule > y->rule) - (x->rule < y->rule);
}

/* Shapes are interned by their key in `keys`: from and until (two words
 * each), then per dimension but the account a count and the ids. The same
 * words serve as the pool of id sets. */
struct shape_tab {
	uint32_t fast_max; /* ids above are tested the general way */
	uint32_t *slot; /* shape index + 1; 0: empty */
	uint32_t mask;
	struct shape *v;
	uint64_t *hash; /* of each shape's key */
	size_t n, cap;
	struct u32v keys;
	struct u32v at; /* key offset of each shape */
};

static bool shape_tab_grow(struct shape_tab *st)
{
	uint32_t cap = st->slot ? (st->mask + 1) * 2 : 256;
	uint32_t *s = calloc(cap, sizeof(uint32_t));
	if (!s)
		return false;
	for (uint32_t i = 0; st->slot && i <= st->mask; i++) {
		if (!st->slot[i])
			continue;
		uint32_t j = (uint32_t)st->hash[st->slot[i] - 1] & (cap - 1);
		while (s[j])
			j = (j + 1) & (cap - 1);
		s[j] = st->slot[i];
	}
	free(st->slot);
	st->slot = s;
	st->mask = cap - 1;
	return true;
}

/* Interns the shape whose key is keys[k0..keys.n) (just pushed); returns its
 * index, or UINT32_MAX on ENOMEM. A duplicate's key is popped again. */
static uint32_t shape_intern(struct shape_tab *st, size_t k0)
{
	size_t klen = st->keys.n - k0;
	const uint32_t *key = st->keys.v + k0;
	uint64_t h = hash_bytes(key, klen * 4);
	if ((!st->slot || (st->n + 1) * 2 > (size_t)st->mask + 1) && !shape_tab_grow(st))
		return UINT32_MAX;
	uint32_t i = (uint32_t)h & st->mask;
	for (; st->slot[i]; i = (i + 1) & st->mask) {
		uint32_t idx = st->slot[i] - 1;
		size_t at = st->at.v[idx];
		size_t len = (idx + 1 < st->n ? st->at.v[idx + 1] : k0) - at;
		if (st->hash[idx] == h && len == klen && memcmp(st->keys.v + at, key, klen * 4) == 0) {
			st->keys.n = k0;
			return idx;
		}
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct shape *v = realloc(st->v, cap * sizeof(struct shape));
		if (!v)
			return UINT32_MAX;
		st->v = v;
		uint64_t *hv = realloc(st->hash, cap * sizeof(uint64_t));
		if (!hv)
			return UINT32_MAX;
		st->hash = hv;
		st->cap = cap;
	}
	if (!u32v_push(&st->at, (uint32_t)k0))
		return UINT32_MAX;
	struct shape *s = &st->v[st->n];
	memset(s, 0, sizeof(*s));
	uint64_t f0 = key[0] | (uint64_t)key[1] << 32, u0 = key[2] | (uint64_t)key[3] << 32;
	s->from = (int64_t)f0;
	s->until = (int64_t)u0;
	bool fast = true;
	size_t off = k0 + 4;
	for (int dim = 1; dim < PB_DIM_COUNT; dim++) {
		uint32_t cnt = st->keys.v[off];
		s->set[dim] = (uint32_t)off;
		s->bits[dim] = cnt ? 1ull << UNKBIT : ~0ull;
		if (cnt)
			s->mask |= 1u << dim;
		for (uint32_t j = 0; j < cnt; j++) {
			uint32_t id = st->keys.v[off + 1 + j];
			if (id >= 1 && id <= st->fast_max)
				s->bits[dim] |= 1ull << id;
			else
				fast = false;
		}
		off += 1 + cnt;
	}
	s->cap = s->bits[PB_DIM_CAPABILITY];
	s->m0 = s->m1 = ~0ull;
	s->d0 = s->d1 = PB_DIM_ACCOUNT;
	unsigned single = s->mask & ~(1u << PB_DIM_CAPABILITY);
	if (!fast)
		s->kind = SH_SLOW;
	else if (__builtin_popcount(single) > 2)
		s->kind = SH_WIDE;
	else {
		s->kind = SH_FAST;
		if (single) {
			s->d0 = (uint8_t)__builtin_ctz(single);
			s->m0 = s->bits[s->d0];
			single &= single - 1;
		}
		if (single) {
			s->d1 = (uint8_t)__builtin_ctz(single);
			s->m1 = s->bits[s->d1];
		}
	}
	st->hash[st->n] = h;
	st->slot[i] = (uint32_t)st->n + 1;
	return (uint32_t)st->n++;
}

enum pb_status pb_decider_new(const struct pb_entitlements *e, const struct pb_catalog *cat,
                              struct pb_decider **out, struct pb_error *err)
{
	static const struct pb__decider_tuning normal = { FASTMAX, true, true };
	return pb__decider_new_tuned(e, cat, &normal, out, err);
}

/* ---- compiling: the steps of pb__decider_new_tuned ---------------------- */

/* What compiling one version carries from step to step. Each step returns
 * false when out of memory; compile_release frees what is left. */
struct compile {
	const struct pb_entitlements *e;
	const struct pb_catalog *cat;
	struct pb_decider *d;
	size_t n;                         /* rules */
	struct u32v ids;                  /* every rule's id lists, dimension after dimension */
	uint32_t (*loc)[2][PB_DIM_COUNT]; /* per rule and dimension: offset, count in ids */
	struct dict plans;                /* plan id -> number */
	struct triple *tr;                /* (account, plan, rule) for the index */
	size_t ntr, trcap;
	struct pb_str *araw;              /* per account id, its first spelling (trimmed) */
	uint32_t nraw;
	struct shape_tab stab;
	uint32_t *rshape;                 /* per rule, its shape */
	struct u32v blob;                 /* the account blocks */
	uint64_t *ahash;                  /* per account id, its hash */
	uint32_t *aoff;                   /* per account id, its block in blob (0: none) */
};

static void compile_release(struct compile *c)
{
	free(c->blob.v);
	free(c->stab.slot);
	free(c->stab.v);
	free(c->stab.hash);
	free(c->stab.keys.v);
	free(c->stab.at.v);
	free(c->ids.v);
	free(c->tr);
	free(c->loc);
	free(c->rshape);
	free(c->araw);
	free(c->ahash);
	free(c->aoff);
	dict_release(&c->plans);
}

static bool push_triple(struct compile *c, struct triple t)
{
	if (c->ntr == c->trcap) {
		size_t cap = c->trcap ? c->trcap * 2 : 1024;
		struct triple *t2 = realloc(c->tr, cap * sizeof(*t2));
		if (!t2)
			return false;
		c->tr = t2;
		c->trcap = cap;
	}
	c->tr[c->ntr++] = t;
	return true;
}

/* Step 1: every value of rule i interned into its dimension's dictionary,
 * its ids appended to ids; an (account, plan, rule) triple per account. */
static bool intern_rule(struct compile *c, size_t i)
{
	struct pb_decider *d = c->d;
	const struct pb_rule *r = pb_entitlements_rule(c->e, i);
	char key[KEYBUF];
	size_t kl = pad_key(r->plan, strlen(r->plan), key);
	uint32_t plan = dict_intern(&c->plans, &d->arena, key, kl == SIZE_MAX ? 0 : kl);
	if (!plan)
		return false;
	for (int dim = 0; dim < PB_DIM_COUNT; dim++) {
		c->loc[i][0][dim] = (uint32_t)c->ids.n;
		for (size_t j = 0; j < r->nvalues[dim]; j++) {
			size_t len = canon_key(c->cat, dim, r->values[dim][j], key);
			if (len == SIZE_MAX)
				continue; /* longer than any request key can be */
			uint32_t id = dict_intern(&d->dicts[dim], &d->arena, key, len);
			if (!id || !u32v_push(&c->ids, id))
				return false;
			if (dim == PB_DIM_ACCOUNT && id > c->nraw) { /* its first spelling */
				struct pb_str *r2 = realloc(c->araw, ((size_t)id + 1) * sizeof(*r2));
				if (!r2)
					return false;
				c->araw = r2;
				c->araw[id] = pb_str_trim(pb_cstr(r->values[dim][j]));
				c->nraw = id;
			}
		}
		c->loc[i][1][dim] = (uint32_t)c->ids.n - c->loc[i][0][dim];
		if (dim != PB_DIM_ACCOUNT)
			continue;
		for (size_t j = c->loc[i][0][dim]; j < c->ids.n; j++)
			if (!push_triple(c, (struct triple){ c->ids.v[j], plan, (uint32_t)i }))
				return false;
	}
	return true;
}

/* Step 2: in dimension dim, the values most rules mention get the small ids
 * (the fast bit tests); the dictionary and the rules' ids are renumbered. */
static bool rank_ids(struct compile *c, int dim)
{
	struct dict *dc = &c->d->dicts[dim];
	uint32_t nd = dc->n;
	uint32_t *cnt = calloc((size_t)nd + 1, sizeof(uint32_t));
	uint64_t *order = malloc(((size_t)nd + 1) * sizeof(uint64_t));
	uint32_t *newid = malloc(((size_t)nd + 1) * sizeof(uint32_t));
	if (!cnt || !order || !newid) {
		free(cnt);
		free(order);
		free(newid);
		return false;
	}
	for (size_t i = 0; i < c->n; i++)
		for (uint32_t j = 0; j < c->loc[i][1][dim]; j++)
			cnt[c->ids.v[c->loc[i][0][dim] + j]]++;
	for (uint32_t id = 1; id <= nd; id++)
		order[id - 1] = ((uint64_t)(UINT32_MAX - cnt[id]) << 32) | id;
	if (nd)
		qsort(order, nd, sizeof(uint64_t), cmp_u64);
	newid[0] = NONE;
	for (uint32_t k = 0; k < nd; k++)
		newid[(uint32_t)order[k]] = k + 1;
	for (uint32_t s = 0; dc->slots && s <= dc->mask; s++)
		dc->slots[s].id = newid[dc->slots[s].id];
	for (size_t i = 0; i < c->n; i++)
		for (uint32_t j = 0; j < c->loc[i][1][dim]; j++)
			c->ids.v[c->loc[i][0][dim] + j] = newid[c->ids.v[c->loc[i][0][dim] + j]];
	free(cnt);
	free(order);
	free(newid);
	return true;
}

/* Step 3: rule i's shape, its key built from its window and its sorted,
 * deduplicated ids per dimension, then interned. */
static bool shape_rule(struct compile *c, size_t i)
{
	struct shape_tab *st = &c->stab;
	const struct pb_rule *r = pb_entitlements_rule(c->e, i);
	size_t k0 = st->keys.n;
	uint64_t f = (uint64_t)r->from, u = (uint64_t)r->until;
	if (!u32v_push(&st->keys, (uint32_t)f) || !u32v_push(&st->keys, (uint32_t)(f >> 32)) ||
	    !u32v_push(&st->keys, (uint32_t)u) || !u32v_push(&st->keys, (uint32_t)(u >> 32)))
		return false;
	for (int dim = 1; dim < PB_DIM_COUNT; dim++) {
		uint32_t *v = c->ids.v + c->loc[i][0][dim], m = 0, k = c->loc[i][1][dim];
		if (k > 1)
			qsort(v, k, sizeof(uint32_t), cmp_u32);
		for (uint32_t j = 0; j < k; j++)
			if (!m || v[m - 1] != v[j])
				v[m++] = v[j];
		/* a dimension whose values are all too long still constrains:
		 * it holds no id, and no request value can match it */
		if (!m && r->nvalues[dim]) {
			if (!u32v_push(&st->keys, 1) || !u32v_push(&st->keys, UINT32_MAX - 1))
				return false;
			continue;
		}
		if (!u32v_push(&st->keys, m))
			return false;
		for (uint32_t j = 0; j < m; j++)
			if (!u32v_push(&st->keys, v[j]))
				return false;
	}
	c->rshape[i] = shape_intern(st, k0);
	return c->rshape[i] != UINT32_MAX;
}

/* The words of the block of the account whose triples are tr[i..j): header,
 * key, per plan a header (3 words when the counts do not fit 16 bits), per
 * distinct rule an entry. *nplans gets the number of plans. */
static size_t block_words(const struct compile *c, size_t i, size_t j, uint32_t klen,
                          size_t *nplans)
{
	const struct triple *tr = c->tr;
	size_t words = 1 + (klen + 3) / 4;
	*nplans = 0;
	for (size_t k = i; k < j;) {
		size_t m = k, nr = 0;
		for (; m < j && tr[m].plan == tr[k].plan; m++)
			nr += m == k || tr[m].rule != tr[m - 1].rule;
		(*nplans)++;
		words += (nr >= 0xffff ? 3 : 1) + nr * (c->d->packed ? 1 : 2);
		k = m;
	}
	return words;
}

/* Appends one plan's part of a block: the plan's triples tr[k..m), its
 * header, then its disables and its keeps in version order. BLK_SOME goes
 * into *flags for a rule always in force; *not_always is set for one that
 * is not. */
static void emit_plan(struct compile *c, size_t k, size_t m, uint32_t *flags, bool *not_always)
{
	const struct triple *tr = c->tr;
	struct u32v *blob = &c->blob;
	size_t gh = blob->n++;
	uint32_t ndis = 0, nkeep = 0;
	for (size_t x = k; x < m; x++)
		if (x == k || tr[x - 1].rule != tr[x].rule) {
			if (pb_entitlements_rule(c->e, tr[x].rule)->effect == PB_EFFECT_DISABLE)
				ndis++;
			else
				nkeep++;
		}
	if (ndis >= 0xffff || nkeep >= 0xffff) {
		blob->v[gh] = UINT32_MAX;
		blob->v[blob->n++] = ndis;
		blob->v[blob->n++] = nkeep;
	} else {
		blob->v[gh] = ndis | nkeep << 16;
	}
	for (int pass = 0; pass < 2; pass++) {
		enum pb_effect eff = pass == 0 ? PB_EFFECT_DISABLE : PB_EFFECT_KEEP;
		for (size_t x = k; x < m; x++) {
			uint32_t ri = tr[x].rule;
			if ((x > k && tr[x - 1].rule == ri) || pb_entitlements_rule(c->e, ri)->effect != eff)
				continue;
			const struct shape *sh = &c->stab.v[c->rshape[ri]];
			if (sh->from == PB_TIME_OPEN_START && sh->until == PB_TIME_OPEN_END)
				*flags |= BLK_SOME;
			else
				*not_always = true;
			if (c->d->packed) {
				blob->v[blob->n++] = ri << PACK_SHIFT | c->rshape[ri];
			} else {
				blob->v[blob->n++] = ri;
				blob->v[blob->n++] = c->rshape[ri];
			}
		}
	}
}

/* Step 4: the block of account a, whose triples are tr[i..j) (sorted), at
 * the end of blob; its key is key[0..klen). */
static bool emit_block(struct compile *c, uint32_t a, size_t i, size_t j, const char *key,
                       uint32_t klen)
{
	struct u32v *blob = &c->blob;
	size_t nplans;
	size_t words = block_words(c, i, j, klen, &nplans);
	if (!u32v_room(blob, words + 16))
		return false;
	if (words <= 16 && (blob->n % 16) + words > 16)
		while (blob->n % 16) /* keep a block that fits in a line in one line */
			blob->v[blob->n++] = 0;
	size_t at = blob->n;
	uint32_t flags = 0;
	bool not_always = false;
	blob->v[blob->n++] = 0;
	blob->v[blob->n + (klen + 3) / 4 - 1] = 0;
	memcpy(blob->v + blob->n, key, klen);
	blob->n += (klen + 3) / 4;
	for (size_t k = i; k < j;) {
		size_t m = k;
		while (m < j && c->tr[m].plan == c->tr[k].plan)
			m++;
		emit_plan(c, k, m, &flags, &not_always);
		k = m;
	}
	if (!not_always)
		flags |= BLK_ALL;
	blob->v[at] = klen | flags << 9 | (uint32_t)nplans << 11;
	c->aoff[a] = (uint32_t)at;
	return true;
}

/* Step 4: one block per account in blob, in account order. */
static bool emit_blocks(struct compile *c)
{
	const struct dict *ad = &c->d->dicts[PB_DIM_ACCOUNT];
	uint32_t nacct = ad->n;
	const char **akey = calloc((size_t)nacct + 1, sizeof(char *));
	uint32_t *alen = calloc((size_t)nacct + 1, sizeof(uint32_t));
	c->ahash = calloc((size_t)nacct + 1, sizeof(uint64_t));
	c->aoff = calloc((size_t)nacct + 1, sizeof(uint32_t));
	bool ok = akey && alen && c->ahash && c->aoff;
	for (uint32_t s = 0; ok && ad->slots && s <= ad->mask; s++) {
		uint32_t id = ad->slots[s].id;
		if (!id)
			continue;
		akey[id] = c->araw[id].ptr;
		alen[id] = ad->slots[s].len;
		c->ahash[id] = ad->slots[s].hash;
	}
	if (ok && c->ntr)
		qsort(c->tr, c->ntr, sizeof(*c->tr), cmp_triple);
	for (size_t i = 0; ok && i < c->ntr;) {
		uint32_t a = c->tr[i].acct;
		size_t j = i;
		while (j < c->ntr && c->tr[j].acct == a)
			j++;
		ok = emit_block(c, a, i, j, akey[a], alen[a]);
		i = j;
	}
	free(akey);
	free(alen);
	return ok;
}

/* Step 5: the account index over the blocks (struct pb_decider, GROUP). */
static bool build_index(struct compile *c)
{
	struct pb_decider *d = c->d;
	uint32_t nacct = d->dicts[PB_DIM_ACCOUNT].n;
	uint32_t ngroups = 2;
	while ((uint64_t)ngroups * GROUP < (uint64_t)nacct * 5 / 4 + GROUP)
		ngroups *= 2;
	d->ctrl = calloc(ngroups, GROUP);
	d->slots = calloc(ngroups, GROUP * sizeof(uint32_t));
	if (!d->ctrl || !d->slots)
		return false;
	d->group_mask = ngroups - 1;
	for (uint32_t a = 1; a <= nacct; a++) {
		if (!c->aoff[a])
			continue; /* named only by values that were too long */
		uint32_t g = (uint32_t)c->ahash[a] & d->group_mask;
		for (;; g = (g + 1) & d->group_mask) {
			uint32_t k = 0;
			while (k < GROUP && d->ctrl[g * GROUP + k])
				k++;
			if (k < GROUP) {
				d->ctrl[g * GROUP + k] = tag_of(c->ahash[a]);
				d->slots[g * GROUP + k] = c->aoff[a];
				break;
			}
		}
	}
	dict_release(&d->dicts[PB_DIM_ACCOUNT]); /* the blocks hold the account ids now */
	return true;
}

/* The decider's own parts: memos, per-rule texts, the seed. */
static bool decider_alloc(struct compile *c)
{
	struct pb_decider *d = c->d;
	size_t n = c->n;
	d->ents = c->e;
	d->cat = c->cat;
	d->version = pb_entitlements_version(c->e);
	d->svc_memo = calloc(1, sizeof(struct memo));
	d->reg_memo = calloc(1, sizeof(struct memo));
	d->cls_memo = calloc(1, sizeof(struct cls_memo));
	d->rtext = calloc(n ? n : 1, sizeof(*d->rtext));
	pb_random(&d->seed, sizeof(d->seed));
	c->loc = calloc(n ? n : 1, sizeof(*c->loc));
	c->rshape = calloc(n ? n : 1, sizeof(uint32_t));
	if (!d->svc_memo || !d->reg_memo || !d->cls_memo || !d->rtext || !c->loc || !c->rshape ||
	    !u32v_room(&c->blob, 16))
		return false;
	c->blob.v[c->blob.n++] = 0; /* offset 0 means "empty slot" */
	return true;
}

enum pb_status pb__decider_new_tuned(const struct pb_entitlements *e, const struct pb_catalog *cat,
                                     const struct pb__decider_tuning *tune,
                                     struct pb_decider **out, struct pb_error *err)
{
	*out = NULL;
	struct compile c = { .e = e, .cat = cat, .n = pb_entitlements_count(e) };
	c.stab.fast_max = tune->fast_max < FASTMAX ? tune->fast_max : FASTMAX;
	if (!(c.d = calloc(1, sizeof(*c.d))))
		return pb__err(err, PB_ENOMEM, "out of memory");
	bool ok = decider_alloc(&c);
	for (size_t i = 0; ok && i < c.n; i++)
		ok = intern_rule(&c, i);
	for (int dim = 1; ok && dim < PB_DIM_COUNT; dim++)
		ok = rank_ids(&c, dim);
	for (size_t i = 0; ok && i < c.n; i++)
		ok = shape_rule(&c, i);
	if (ok) {
		c.d->packed = tune->pack && c.stab.n <= PACK_SHAPES;
		c.d->use_memo = tune->memo;
		ok = emit_blocks(&c) && build_index(&c);
	}
	enum pb_status st = PB_OK;
	if (ok) {
		struct pb_decider *d = c.d;
		d->blob = c.blob.v;
		d->shapes = c.stab.v;
		d->nshapes = (uint32_t)c.stab.n;
		d->pool = c.stab.keys.v;
		d->nrules = c.n;
		d->nblob = c.blob.n;
		d->npool = c.stab.keys.n;
		c.blob.v = NULL;
		c.stab.v = NULL;
		c.stab.keys.v = NULL;
		*out = d;
		c.d = NULL;
	} else {
		st = pb__err(err, PB_ENOMEM, "out of memory compiling entitlements version %lld",
		             (long long)pb_entitlements_version(e));
	}
	compile_release(&c);
	pb_decider_free(c.d);
	return st;
}

/* ---- resolving a request ---------------------------------------------- */

/* A request as the tests need it. For fast shapes: mb[d] and sb[d] are the
 * bit indices to test in a shape's mask for "may" and "sure" (struct shape);
 * mcap has bit c for each possible capability c with a fast id, bit 0 always
 * (so that an unconstrained mask, all ones, matches) and UNKBIT when the
 * capabilities are unknown; scap is the mask of the possible capabilities
 * when they are known, not none, and all fast, else bit 0 (in no set). So a
 * disable may apply when every (bits[d] >> mb[d]) & 1 and mcap & bits[cap];
 * a keep surely applies when every (bits[d] >> sb[d]) & 1 and no bit of scap
 * is outside bits[cap]. */
struct resolved {
	uint8_t mb[PB_DIM_COUNT], sb[PB_DIM_COUNT];
	uint64_t mcap, scap;
	uint32_t v[PB_DIM_COUNT];  /* ids for the general test; capability unused */
	const uint32_t *caps;      /* possible capabilities, or NULL = unknown */
	uint32_t ncaps;
	unsigned flags;
	uint32_t capbuf[CAPS_MAX]; /* storage for caps when they come from no memo */
};

static inline bool fast_id(uint32_t id)
{
	return id - 1u < FASTMAX;
}

static inline uint8_t may_bit(uint32_t id)
{
	return (uint8_t)(fast_id(id) ? id : id == UNK ? UNKBIT : 0);
}

static inline uint8_t sure_bit(uint32_t id)
{
	return (uint8_t)(fast_id(id) ? id : 0);
}

/* mcap and scap for the known capabilities caps[0..n) (struct resolved). */
static void cap_masks(const uint32_t *caps, uint32_t n, uint64_t *mcap, uint64_t *scap)
{
	uint64_t b = 0;
	bool all = n > 0;
	for (uint32_t i = 0; i < n; i++) {
		if (fast_id(caps[i]))
			b |= 1ull << caps[i];
		else
			all = false;
	}
	*mcap = b | 1;
	*scap = all ? b : 1;
}

static inline uint32_t lookup(const struct pb_decider *d, int dim, const char *k, size_t n)
{
	return dict_find(&d->dicts[dim], k, n, hash_ci(k, n));
}

/* The id of catalog text s in dimension dim (NONE when no rule names it). */
static uint32_t lookup_text(const struct pb_decider *d, int dim, const char *s)
{
	char k[KEYBUF];
	size_t l = s ? pad_key(s, strlen(s), k) : SIZE_MAX;
	return l == SIZE_MAX ? NONE : lookup(d, dim, k, l);
}

/* Service and region spellings resolve through the memo, keyed by the bytes
 * as the request gave them (a gateway sends the same spelling every time, so
 * the hot path neither trims nor folds); a miss folds, asks the catalog and
 * memoises what the catalog knows. */
static const struct svc_info *resolve_service(const struct pb_decider *d, struct pb_str name,
                                              struct svc_info *tmp)
{
	const bool memo = name.ptr && name.len <= KEYMAX;
	uint64_t rh = 0;
	if (memo) {
		rh = hash_ci(name.ptr, name.len);
		const struct memo_entry *m = memo_find(d->svc_memo, name.ptr, name.len, rh);
		if (m)
			return &m->u.s;
	}
	memset(tmp, 0, sizeof(*tmp));
	char key[KEYBUF];
	size_t n = fold_key(name, key);
	const struct pb_service *svc = n != SIZE_MAX && n > 0 && d->cat
	                             ? pb_catalog_service(d->cat, pb_str_of(key, n)) : NULL;
	if (svc) {
		tmp->known = true;
		tmp->svc = svc;
		tmp->name = lookup_text(d, PB_DIM_SERVICE, svc->name);
		tmp->cat = lookup_text(d, PB_DIM_CATEGORY, svc->category);
		tmp->subcat = lookup_text(d, PB_DIM_SUBCATEGORY, svc->subcategory);
		tmp->caps_cut = svc->ncapabilities > CAPS_MAX;
		for (size_t i = 0; i < svc->ncapabilities && i < CAPS_MAX; i++)
			tmp->caps[tmp->ncaps++] = lookup_text(d, PB_DIM_CAPABILITY, svc->capabilities[i]);
		cap_masks(tmp->caps, tmp->ncaps, &tmp->mcap, &tmp->scap);
	} else {
		tmp->name = tmp->cat = tmp->subcat = UNK;
	}
	if (!svc || tmp->caps_cut) {
		tmp->mcap = 1 | 1ull << UNKBIT;
		tmp->scap = 1;
	}
	const uint32_t ids[3] = { tmp->name, tmp->cat, tmp->subcat };
	for (int i = 0; i < 3; i++) {
		tmp->mb[i] = may_bit(ids[i]);
		tmp->sb[i] = sure_bit(ids[i]);
	}
	if (svc && memo) {
		struct memo_entry proto;
		memset(&proto, 0, sizeof(proto));
		proto.hash = rh;
		proto.len = (uint32_t)name.len;
		proto.u.s = *tmp;
		memo_add(d->svc_memo, &proto, name.ptr, name.len);
	}
	return tmp;
}

static const struct reg_info *resolve_region(const struct pb_decider *d, struct pb_str name,
                                             struct reg_info *tmp)
{
	const bool memo = name.ptr && name.len <= KEYMAX;
	uint64_t rh = 0;
	if (memo) {
		rh = hash_ci(name.ptr, name.len);
		const struct memo_entry *m = memo_find(d->reg_memo, name.ptr, name.len, rh);
		if (m)
			return &m->u.r;
	}
	memset(tmp, 0, sizeof(*tmp));
	char key[KEYBUF];
	size_t n = fold_key(name, key);
	const struct pb_region *r = n != SIZE_MAX && n > 0 && d->cat
	                          ? pb_catalog_region(d->cat, pb_str_of(key, n)) : NULL;
	if (r) {
		tmp->known = true;
		tmp->region = lookup_text(d, PB_DIM_REGION, r->id);
		tmp->country = r->country && r->country[0] ? lookup_text(d, PB_DIM_COUNTRY, r->country)
		                                           : NONE;
	} else {
		tmp->region = tmp->country = UNK;
	}
	const uint32_t ids[2] = { tmp->region, tmp->country };
	for (int i = 0; i < 2; i++) {
		tmp->mb[i] = may_bit(ids[i]);
		tmp->sb[i] = sure_bit(ids[i]);
	}
	if (r && memo) {
		struct memo_entry proto;
		memset(&proto, 0, sizeof(proto));
		proto.hash = rh;
		proto.len = (uint32_t)name.len;
		proto.u.r = *tmp;
		memo_add(d->reg_memo, &proto, name.ptr, name.len);
	}
	return tmp;
}

static bool str_present(struct pb_str s)
{
	return s.ptr && pb_str_trim(s).len > 0;
}

/* Does the known service offer capability c (folded)? */
static bool service_offers(const struct pb_service *svc, const char *c, size_t n)
{
	char k[KEYMAX];
	for (size_t i = 0; i < svc->ncapabilities; i++) {
		size_t l = pb__fold(svc->capabilities[i], strlen(svc->capabilities[i]), k, KEYMAX);
		if (l == n && memcmp(k, c, n) == 0)
			return true;
	}
	return false;
}

static __attribute__((noinline)) void resolve(const struct pb_decider *d,
                                              const struct pb_decide_request *q,
                                              struct resolved *rs)
{
	struct svc_info stmp;
	struct reg_info rtmp;
	char key[KEYBUF];
	size_t n;
	rs->flags = 0;
	uint32_t sub;
	if (PB_UNLIKELY(q->subaccount.ptr != NULL)) {
		n = fold_key(q->subaccount, key);
		if (n == SIZE_MAX)
			sub = NONE; /* longer than any rule value */
		else if (n > 0)
			sub = lookup(d, PB_DIM_SUBACCOUNT, key, n);
		else
			sub = UNK;
	} else {
		sub = UNK;
	}
	if (sub == UNK)
		rs->flags |= PB_DECIDE_NO_SUBACCOUNT;
	rs->v[PB_DIM_ACCOUNT] = NONE;
	rs->mb[PB_DIM_ACCOUNT] = rs->sb[PB_DIM_ACCOUNT] = 0; /* SH_FAST's unused slots */
	rs->mb[PB_DIM_CAPABILITY] = rs->sb[PB_DIM_CAPABILITY] = 0;
	rs->v[PB_DIM_SUBACCOUNT] = sub;
	rs->mb[PB_DIM_SUBACCOUNT] = may_bit(sub);
	rs->sb[PB_DIM_SUBACCOUNT] = sure_bit(sub);

	const struct svc_info *si = resolve_service(d, q->service, &stmp);
	rs->v[PB_DIM_SERVICE] = si->name;
	rs->v[PB_DIM_CATEGORY] = si->cat;
	rs->v[PB_DIM_SUBCATEGORY] = si->subcat;
	rs->mb[PB_DIM_SERVICE] = si->mb[0];
	rs->mb[PB_DIM_CATEGORY] = si->mb[1];
	rs->mb[PB_DIM_SUBCATEGORY] = si->mb[2];
	rs->sb[PB_DIM_SERVICE] = si->sb[0];
	rs->sb[PB_DIM_CATEGORY] = si->sb[1];
	rs->sb[PB_DIM_SUBCATEGORY] = si->sb[2];
	if (!si->known)
		rs->flags |= PB_DECIDE_UNKNOWN_SERVICE;
	const struct reg_info *ri = resolve_region(d, q->region, &rtmp);
	rs->v[PB_DIM_REGION] = ri->region;
	rs->v[PB_DIM_COUNTRY] = ri->country;
	rs->mb[PB_DIM_REGION] = ri->mb[0];
	rs->mb[PB_DIM_COUNTRY] = ri->mb[1];
	rs->sb[PB_DIM_REGION] = ri->sb[0];
	rs->sb[PB_DIM_COUNTRY] = ri->sb[1];
	if (!ri->known)
		rs->flags |= PB_DECIDE_UNKNOWN_REGION;

	/* capabilities: the one named (or told by the SKU meter), else all offered */
	if (PB_UNLIKELY(q->capability.ptr || q->sku_meter.ptr)) {
		const char *capname = NULL;
		size_t caplen = 0;
		bool asked = false;
		if (str_present(q->capability)) {
			asked = true;
			struct pb_str c = pb_str_trim(q->capability);
			capname = c.ptr;
			caplen = c.len;
		} else if (str_present(q->sku_meter)) {
			asked = true;
			if (si->known && d->cat) {
				capname = pb_catalog_capability(d->cat, q->service, q->sku_meter);
				caplen = capname ? strlen(capname) : 0;
			}
		}
		if (capname && (n = pad_key(capname, caplen, key)) != SIZE_MAX && n > 0 &&
		    (si->known ? service_offers(si->svc, key, n)
		               : (d->cat && pb_catalog_capability_known(d->cat, pb_str_of(key, n))))) {
			rs->capbuf[0] = lookup(d, PB_DIM_CAPABILITY, key, n);
			rs->caps = rs->capbuf;
			rs->ncaps = 1;
			cap_masks(rs->caps, 1, &rs->mcap, &rs->scap);
			return;
		}
		if (asked)
			rs->flags |= PB_DECIDE_CAP_IGNORED;
	}
	rs->mcap = si->mcap;
	rs->scap = si->scap;
	if (!si->known || si->caps_cut) {
		rs->caps = NULL;
		rs->ncaps = 0;
		return;
	}
	rs->caps = si->caps;
	if (si == &stmp) { /* stmp does not outlive this call */
		memcpy(rs->capbuf, si->caps, si->ncaps * sizeof(uint32_t));
		rs->caps = rs->capbuf;
	}
	rs->ncaps = si->ncaps;
	if (si->ncaps > 1)
		rs->flags |= PB_DECIDE_SEVERAL_CAPS;
}

/* ---- the memo of resolved requests ------------------------------------ */

static inline bool may_apply(const struct pb_decider *d, const struct shape *sh,
                             const struct resolved *rs);
static inline bool sure_apply(const struct pb_decider *d, const struct shape *sh,
                              const struct resolved *rs);

/* Most requests name no sub-account or capability, and a gateway sends a few
 * (service, region) spellings over and over: for those, the whole resolved
 * request is memoised, keyed by the two spellings as given, so the hot path
 * is one probe. Only pairs the catalog knows are kept (bounded like the
 * other memos); the hash is seeded per table, so that nobody can choose
 * spellings that pile up in one place of it. */
struct cls_entry {
	uint64_t hash;
	uint32_t slen, rlen;
	const uint64_t *may, *sure; /* per shape: may it apply, does it surely (or NULL) */
	struct resolved rs;
	char key[]; /* the service, then the region, each zero-padded to whole words;
	             * then may and sure, when there are at most PACK_SHAPES shapes */
};

/* A cheap mix of a spelling's first and last word and its length. */
static inline uint64_t qword(const char *s, size_t n)
{
	if (n >= 8)
		return (load64(s) * 0x9e3779b97f4a7c15ull) ^ load64(s + n - 8);
	return n ? short_word(s, n) : 0;
}

static inline uint64_t cls_hash(const struct pb_decider *d, struct pb_str svc, struct pb_str reg)
{
	uint64_t h = d->seed ^ (svc.len << 32 | reg.len);
	h = (h ^ qword(svc.ptr, svc.len)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ qword(reg.ptr, reg.len)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static inline const struct cls_entry *cls_find(const struct pb_decider *d, struct pb_str svc,
                                               struct pb_str reg)
{
	if (!svc.ptr || !reg.ptr || svc.len > KEYMAX || reg.len > KEYMAX)
		return NULL;
	const uint64_t h = cls_hash(d, svc, reg);
	const struct cls_memo *m = d->cls_memo;
	for (uint32_t i = (uint32_t)h & (MEMO_SLOTS - 1), tries = 0; tries < MEMO_SLOTS;
	     i = (i + 1) & (MEMO_SLOTS - 1), tries++) {
		const struct cls_entry *e = atomic_load_explicit(&m->slots[i], memory_order_acquire);
		if (!e)
			return NULL;
		if (e->hash == h && e->slen == svc.len && e->rlen == reg.len &&
		    raw_eq(e->key, svc.ptr, svc.len) &&
		    raw_eq(e->key + words_of(svc.len) * 8, reg.ptr, reg.len))
			return e;
	}
	return NULL;
}

/* Memoises rs, the resolution of a request naming only svc and reg. */
static __attribute__((noinline)) void cls_add(const struct pb_decider *d, struct pb_str svc,
                                              struct pb_str reg, const struct resolved *rs)
{
	struct cls_memo *m = d->cls_memo;
	if (!svc.ptr || !reg.ptr || svc.len > KEYMAX || reg.len > KEYMAX ||
	    atomic_load_explicit(&m->count, memory_order_relaxed) >= MEMO_SLOTS / 2)
		return;
	size_t so = words_of(svc.len) * 8, klen = so + words_of(reg.len) * 8 + 8;
	size_t nw = d->packed ? (d->nshapes + 63) / 64 : 0;
	struct cls_entry *e = malloc(sizeof(*e) + klen + 2 * nw * sizeof(uint64_t));
	if (!e)
		return;
	e->hash = cls_hash(d, svc, reg);
	e->slen = (uint32_t)svc.len;
	e->rlen = (uint32_t)reg.len;
	e->rs = *rs;
	if (rs->caps) {
		memcpy(e->rs.capbuf, rs->caps, rs->ncaps * sizeof(uint32_t));
		e->rs.caps = e->rs.capbuf;
	}
	memset(e->key, 0, klen);
	memcpy(e->key, svc.ptr, svc.len);
	memcpy(e->key + so, reg.ptr, reg.len);
	e->may = e->sure = NULL;
	if (nw) { /* every shape's answer for this request, computed once */
		uint64_t *may = (uint64_t *)(void *)(e->key + klen), *sure = may + nw;
		memset(may, 0, 2 * nw * sizeof(uint64_t));
		for (uint32_t i = 0; i < d->nshapes; i++) {
			may[i / 64] |= (uint64_t)may_apply(d, &d->shapes[i], &e->rs) << (i % 64);
			sure[i / 64] |= (uint64_t)sure_apply(d, &d->shapes[i], &e->rs) << (i % 64);
		}
		e->may = may;
		e->sure = sure;
	}
	for (uint32_t i = (uint32_t)e->hash & (MEMO_SLOTS - 1);; i = (i + 1) & (MEMO_SLOTS - 1)) {
		struct cls_entry *cur = NULL;
		if (atomic_compare_exchange_strong_explicit(&m->slots[i], &cur, e,
		                                            memory_order_acq_rel,
		                                            memory_order_acquire)) {
			atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
			return;
		}
		if (cur->hash == e->hash && cur->slen == e->slen && cur->rlen == e->rlen &&
		    memcmp(cur->key, e->key, klen) == 0) {
			free(e);
			return;
		}
	}
}

static void cls_release(struct cls_memo *m)
{
	for (uint32_t i = 0; i < MEMO_SLOTS; i++)
		free(atomic_load_explicit(&m->slots[i], memory_order_relaxed));
}

/* ---- evaluating -------------------------------------------------------- */

static inline bool set_has(const uint32_t *set, uint32_t v)
{
	uint32_t n = set[0];
	const uint32_t *p = set + 1;
	if (n <= 16) {
		for (uint32_t i = 0; i < n; i++)
			if (p[i] == v)
				return true;
		return false;
	}
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (p[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && p[lo] == v;
}

/* The general test: may = true: could the rule apply (disables); false: does
 * it surely apply (keeps). */
static bool shape_applies_slow(const struct pb_decider *d, const struct shape *sh,
                               const struct resolved *rs, bool may)
{
	unsigned mask = sh->mask;
	while (mask) {
		int dim = __builtin_ctz(mask);
		mask &= mask - 1;
		const uint32_t *set = d->pool + sh->set[dim];
		if (dim == PB_DIM_CAPABILITY) {
			if (!rs->caps) {
				if (!may)
					return false;
				continue;
			}
			bool any = false, all = rs->ncaps > 0;
			for (uint32_t i = 0; i < rs->ncaps; i++) {
				bool has = rs->caps[i] != NONE && set_has(set, rs->caps[i]);
				any |= has;
				all &= has;
			}
			if (may ? !any : !all)
				return false;
			continue;
		}
		uint32_t v = rs->v[dim];
		if (v == UNK) {
			if (!may)
				return false;
			continue;
		}
		if (v == NONE || !set_has(set, v))
			return false;
	}
	return true;
}

/* The single-valued dimensions of an SH_WIDE shape, tested with the bit
 * indices b (rs->mb or rs->sb): one shift each, no branch. */
static inline uint64_t dims_ok(const struct shape *sh, const uint8_t *b)
{
	return (sh->bits[PB_DIM_SUBACCOUNT] >> b[PB_DIM_SUBACCOUNT]) &
	       (sh->bits[PB_DIM_CATEGORY] >> b[PB_DIM_CATEGORY]) &
	       (sh->bits[PB_DIM_SUBCATEGORY] >> b[PB_DIM_SUBCATEGORY]) &
	       (sh->bits[PB_DIM_SERVICE] >> b[PB_DIM_SERVICE]) &
	       (sh->bits[PB_DIM_REGION] >> b[PB_DIM_REGION]) &
	       (sh->bits[PB_DIM_COUNTRY] >> b[PB_DIM_COUNTRY]) & 1;
}

/* Could the rule apply (what a disable needs)? An unknown value may match. */
static inline bool may_apply(const struct pb_decider *d, const struct shape *sh,
                             const struct resolved *rs)
{
	if (PB_LIKELY(sh->kind == SH_FAST))
		return ((sh->m0 >> rs->mb[sh->d0]) & (sh->m1 >> rs->mb[sh->d1]) & 1) &&
		       (rs->mcap & sh->cap) != 0;
	if (sh->kind == SH_WIDE)
		return dims_ok(sh, rs->mb) && (rs->mcap & sh->cap) != 0;
	return shape_applies_slow(d, sh, rs, true);
}

/* Does the rule surely apply (what a keep needs)? An unknown value does not. */
static inline bool sure_apply(const struct pb_decider *d, const struct shape *sh,
                              const struct resolved *rs)
{
	if (PB_LIKELY(sh->kind == SH_FAST))
		return ((sh->m0 >> rs->sb[sh->d0]) & (sh->m1 >> rs->sb[sh->d1]) & 1) &&
		       (rs->scap & ~sh->cap) == 0;
	if (sh->kind == SH_WIDE)
		return dims_ok(sh, rs->sb) && (rs->scap & ~sh->cap) == 0;
	return shape_applies_slow(d, sh, rs, false);
}

static inline bool in_force(const struct shape *sh, int64_t t)
{
	return sh->from <= t && t < sh->until;
}

/* Is the account id k of a block (as first spelled in the rules) the n
 * bytes at s, ASCII case aside? A gateway sends ids spelled as the rules
 * do, so the exact test usually answers. */
static inline bool key_eq(const char *k, const char *s, size_t n)
{
	return raw_eq(k, s, n) || folded_eq(k, s, n);
}

/* The block of the account a (trimmed, hash h), or NULL. */
static inline const uint32_t *find_account(const struct pb_decider *d, struct pb_str a,
                                           uint64_t h)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	const uint8_t tag = tag_of(h);
	for (uint32_t g = (uint32_t)h & d->group_mask;; g = (g + 1) & d->group_mask) {
		uint64_t w;
		memcpy(&w, d->ctrl + (size_t)g * GROUP, 8);
		uint64_t x = w ^ (tag * ones);
		uint64_t m = (x - ones) & ~x & highs; /* lanes equal to tag (and maybe above one) */
		while (m) {
			uint32_t k = (uint32_t)__builtin_ctzll(m) / 8;
			m &= m - 1;
			if (d->ctrl[g * GROUP + k] != tag)
				continue;
			const uint32_t *b = d->blob + d->slots[g * GROUP + k];
			if ((b[0] & 0x1ff) == a.len && key_eq((const char *)(b + 1), a.ptr, a.len))
				return b;
		}
		if ((w - ones) & ~w & highs)
			return NULL; /* the group has an empty slot: the account would be here */
	}
}

/* A plan's header at p: its counts; returns the words it takes. */
static inline uint32_t plan_header(const uint32_t *p, uint32_t *ndis, uint32_t *nkeep)
{
	if (PB_LIKELY(p[0] != UINT32_MAX)) {
		*ndis = p[0] & 0xffff;
		*nkeep = p[0] >> 16;
		return 1;
	}
	*ndis = p[1];
	*nkeep = p[2];
	return 3;
}

/* Entry k of a plan's list at p: the rule index, and its shape in *shape. */
static inline uint32_t entry(const struct pb_decider *d, const uint32_t *p, uint32_t k,
                             uint32_t *shape)
{
	if (PB_LIKELY(d->packed)) {
		*shape = p[k] & (PACK_SHAPES - 1);
		return p[k] >> PACK_SHIFT;
	}
	*shape = p[2 * k + 1];
	return p[2 * k];
}

/* Is some rule of the block in force at t? */
static bool block_in_force(const struct pb_decider *d, const uint32_t *g, uint32_t nplans,
                           int64_t t)
{
	for (uint32_t p = 0; p < nplans; p++) {
		uint32_t ndis, nkeep, sh;
		g += plan_header(g, &ndis, &nkeep);
		for (uint32_t k = 0; k < ndis + nkeep; k++) {
			entry(d, g, k, &sh);
			if (in_force(&d->shapes[sh], t))
				return true;
		}
		g += (ndis + nkeep) * (d->packed ? 1 : 2);
	}
	return false;
}

/* Evaluates the plans of an account under rules in force (the slow part of
 * pb_decide, kept out of line so that the common "no rules" return is short). */
static __attribute__((noinline)) void decide_block(const struct pb_decider *d,
                                                   const struct pb_decide_request *q,
                                                   const uint32_t *b, struct pb_decision *out)
{
	const uint32_t hdr = b[0];
	const uint32_t nplans = hdr >> 11;
	const uint32_t *g = b + 1 + ((hdr & 0x1ff) + 3) / 4;
	const int64_t t = q->at;
	const bool always = (hdr >> 9) & BLK_ALL;
	if (!((hdr >> 9) & BLK_SOME) && !block_in_force(d, g, nplans, t))
		return;

	struct resolved tmp;
	const struct resolved *rs;
	const struct cls_entry *cls = NULL;
	const bool plain = !q->subaccount.ptr && !q->capability.ptr && !q->sku_meter.ptr;
	if (PB_LIKELY(plain && d->use_memo))
		cls = cls_find(d, q->service, q->region);
	if (PB_LIKELY(cls)) {
		rs = &cls->rs;
	} else {
		resolve(d, q, &tmp);
		rs = &tmp;
		if (plain && d->use_memo &&
		    !(tmp.flags & (PB_DECIDE_UNKNOWN_SERVICE | PB_DECIDE_UNKNOWN_REGION)))
			cls_add(d, q->service, q->region, &tmp);
	}
	const uint64_t *mayv = cls ? cls->may : NULL, *surev = cls ? cls->sure : NULL;
	out->flags = rs->flags;
	uint32_t deny = NOIDX, kept_dis = NOIDX, kept_keep = NOIDX;
	const uint32_t width = d->packed ? 1 : 2;
	for (uint32_t p = 0; p < nplans; p++) {
		uint32_t ndis, nkeep, si;
		g += plan_header(g, &ndis, &nkeep);
		const uint32_t *dis = g, *keep = g + ndis * width;
		g = keep + nkeep * width;
		uint32_t first = NOIDX;
		for (uint32_t k = 0; k < ndis; k++) {
			const uint32_t idx = entry(d, dis, k, &si);
			if (idx >= deny)
				break; /* a lower disable already denies */
			const struct shape *sh = &d->shapes[si];
			if ((always || in_force(sh, t)) &&
			    (mayv ? (mayv[si / 64] >> (si % 64)) & 1 : may_apply(d, sh, rs))) {
				first = idx;
				break;
			}
		}
		if (first == NOIDX)
			continue;
		uint32_t kidx = NOIDX;
		for (uint32_t k = 0; k < nkeep; k++) {
			const uint32_t idx = entry(d, keep, k, &si);
			const struct shape *sh = &d->shapes[si];
			if ((always || in_force(sh, t)) &&
			    (surev ? (surev[si / 64] >> (si % 64)) & 1 : sure_apply(d, sh, rs))) {
				kidx = idx;
				break;
			}
		}
		if (kidx == NOIDX)
			deny = first;
		else if (first < kept_dis) {
			kept_dis = first;
			kept_keep = kidx;
		}
	}
	if (deny != NOIDX) {
		out->allow = false;
		out->why = PB_WHY_DISABLED;
		out->rule_index = deny;
		out->rule = rule_at(d, deny);
	} else if (kept_keep != NOIDX) {
		out->why = PB_WHY_KEPT;
		out->rule_index = kept_keep;
		out->rule = rule_at(d, kept_keep);
	} else {
		out->why = PB_WHY_NO_MATCH;
	}
}

void pb_decide(const struct pb_decider *d, const struct pb_decide_request *q,
               struct pb_decision *out)
{
	out->allow = true;
	out->why = PB_WHY_NO_RULES;
	out->version = d->version;
	out->rule = NULL;
	out->rule_index = 0;
	out->flags = 0;
	struct pb_str a = trim_key(q->account);
	if (a.len == SIZE_MAX || a.len == 0)
		return;
	const uint32_t *b = find_account(d, a, hash_ci(a.ptr, a.len));
	if (b)
		decide_block(d, q, b, out);
}

/* ---- rendering ---------------------------------------------------------- */

const char *pb_decide_flags(unsigned flags, const char *sep, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ PB_DECIDE_UNKNOWN_SERVICE, "unknown-service" },
		{ PB_DECIDE_UNKNOWN_REGION, "unknown-region" },
		{ PB_DECIDE_SEVERAL_CAPS, "several-capabilities" },
		{ PB_DECIDE_NO_SUBACCOUNT, "no-subaccount" },
		{ PB_DECIDE_CAP_IGNORED, "capability-ignored" },
	};
	size_t pos = 0, sl = strlen(sep);
	if (!cap)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < PB_ARRAY_LEN(names); i++) {
		if (!(flags & names[i].bit))
			continue;
		size_t nl = strlen(names[i].name), need = (pos ? sl : 0) + nl;
		if (need >= cap - pos)
			break;
		if (pos) {
			memcpy(buf + pos, sep, sl);
			pos += sl;
		}
		memcpy(buf + pos, names[i].name, nl);
		pos += nl;
		buf[pos] = '\0';
	}
	return buf;
}

/* A bounded writer into a caller's buffer; ok turns false once cut. */
struct w {
	char *buf;
	size_t cap, len;
	bool ok;
};

static void w_raw(struct w *w, const char *s, size_t n)
{
	if (!w->ok || w->cap - w->len <= n) {
		w->ok = false;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void w_s(struct w *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

#define W_LIT(w, lit) w_raw((w), (lit), sizeof(lit) - 1)

/* A JSON string of at most 256 bytes of s (a cut never splits a UTF-8
 * character), escaped by the one escaper in util.c. */
static void w_json(struct w *w, const char *s, size_t n)
{
	if (n > 256) {
		n = 256;
		for (int k = 0; k < 3 && ((unsigned char)s[n] & 0xc0) == 0x80; k++)
			n--;
	}
	w_raw(w, "\"", 1);
	if (!w->ok)
		return;
	size_t got;
	if (pb_json_escape(w->buf + w->len, w->cap - w->len, &got, s, n) < n) {
		w->ok = false;
		return;
	}
	w->len += got;
	w_raw(w, "\"", 1);
}

static void w_field(struct w *w, const char *key, struct pb_str v, bool *first)
{
	if (!v.ptr)
		return;
	w_s(w, *first ? "\"" : ",\"");
	w_s(w, key);
	W_LIT(w, "\":");
	w_json(w, v.ptr, v.len);
	*first = false;
}

/* Decimal digits of v into out (at least 20 bytes); returns the count. */
static size_t put_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static void w_u64(struct w *w, uint64_t v)
{
	char num[20];
	w_raw(w, num, put_u64(num, v));
}

static void w_i64(struct w *w, int64_t v)
{
	if (v < 0) {
		w_raw(w, "-", 1);
		w_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		w_u64(w, (uint64_t)v);
	}
}

/* ,"reason":{...} of a decision: why, and the rule with its 1-based index. */
static void w_reason(struct w *w, enum pb_why why, const struct pb_rule *r, size_t index)
{
	W_LIT(w, ",\"reason\":{\"why\":\"");
	w_s(w, pb_why_name(why));
	W_LIT(w, "\"");
	if (r) {
		char sel[512];
		pb_rule_selector(r, false, sel, sizeof(sel));
		W_LIT(w, ",\"plan\":");
		w_json(w, r->plan, strlen(r->plan));
		W_LIT(w, ",\"case\":");
		w_json(w, r->case_ref, strlen(r->case_ref));
		w_s(w, r->effect == PB_EFFECT_KEEP ? ",\"effect\":\"keep\",\"rule\":"
		                                   : ",\"effect\":\"disable\",\"rule\":");
		w_u64(w, (uint64_t)index + 1);
		W_LIT(w, ",\"selector\":");
		w_json(w, sel, strlen(sel));
	}
	W_LIT(w, "}");
}

/* The whole decision, with its reason already rendered. */
static size_t decision_json(const struct pb_decision *d, const struct pb_decide_request *q,
                            const char *id, const char *ts, const char *reason, size_t rlen,
                            char *buf, size_t cap)
{
	struct w w = { buf, cap, 0, cap > 0 };
	W_LIT(&w, "{");
	if (id) {
		W_LIT(&w, "\"decision_id\":");
		w_json(&w, id, strlen(id));
		W_LIT(&w, ",");
	}
	w_s(&w, d->allow ? "\"result\":\"allow\",\"allow\":true,\"version\":"
	                 : "\"result\":\"deny\",\"allow\":false,\"version\":");
	w_i64(&w, d->version);
	W_LIT(&w, ",\"at\":\"");
	w_s(&w, ts);
	W_LIT(&w, "\"");
	w_raw(&w, reason, rlen);
	W_LIT(&w, ",\"unknown\":[");
	char fl[160];
	pb_decide_flags(d->flags, "\",\"", fl, sizeof(fl));
	if (fl[0]) {
		W_LIT(&w, "\"");
		w_s(&w, fl);
		W_LIT(&w, "\"");
	}
	W_LIT(&w, "],\"input\":{");
	bool first = true;
	w_field(&w, "account", q->account, &first);
	w_field(&w, "subaccount", q->subaccount, &first);
	w_field(&w, "service", q->service, &first);
	w_field(&w, "region", q->region, &first);
	w_field(&w, "capability", q->capability, &first);
	w_field(&w, "sku_meter", q->sku_meter, &first);
	W_LIT(&w, "}}");
	if (!w.ok) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	buf[w.len] = '\0';
	return w.len;
}

size_t pb_decision_json(const struct pb_decision *d, const struct pb_decide_request *q,
                        const char *id, char *buf, size_t cap)
{
	return pb_decision_json_cached(NULL, d, q, id, NULL, buf, cap);
}

/* The reason text of rule i of d's version, rendered once and kept (racing
 * threads may both render it; one copy wins, the other is freed). NULL when
 * out of memory. Stored as a 32-bit length and the text. */
static const char *rule_reason(const struct pb_decider *d, size_t i, size_t *len)
{
	char *t = atomic_load_explicit(&d->rtext[i], memory_order_acquire);
	if (!t) {
		const struct pb_rule *r = rule_at(d, i);
		if (!r)
			return NULL;
		char tmp[2048];
		struct w w = { tmp, sizeof(tmp), 0, true };
		w_reason(&w, r->effect == PB_EFFECT_KEEP ? PB_WHY_KEPT : PB_WHY_DISABLED, r, i);
		if (!w.ok || !(t = malloc(4 + w.len)))
			return NULL;
		uint32_t l = (uint32_t)w.len;
		memcpy(t, &l, 4);
		memcpy(t + 4, tmp, w.len);
		char *cur = NULL;
		if (!atomic_compare_exchange_strong_explicit(&d->rtext[i], &cur, t,
		                                             memory_order_acq_rel,
		                                             memory_order_acquire)) {
			free(t);
			t = cur;
		}
	}
	uint32_t l;
	memcpy(&l, t, 4);
	*len = l;
	return t + 4;
}

size_t pb_decision_json_cached(const struct pb_decider *dec, const struct pb_decision *d,
                               const struct pb_decide_request *q, const char *id,
                               const char *ts, char *buf, size_t cap)
{
	char tsbuf[32];
	if (!ts) {
		pb_time_format(q->at, tsbuf);
		ts = tsbuf;
	}
	const char *reason = NULL;
	size_t rlen = 0;
	const struct pb_rule *r = d->rule;
	if (r && dec && d->rule_index < dec->nrules && rule_at(dec, d->rule_index) == r &&
	    d->why == (r->effect == PB_EFFECT_KEEP ? PB_WHY_KEPT : PB_WHY_DISABLED))
		reason = rule_reason(dec, d->rule_index, &rlen);
	if (reason)
		return decision_json(d, q, id, ts, reason, rlen, buf, cap);
	char tmp[2048];
	struct w w = { tmp, sizeof(tmp), 0, true };
	w_reason(&w, d->why, r, d->rule_index);
	if (!w.ok) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	return decision_json(d, q, id, ts, tmp, w.len, buf, cap);
}

/* ---- the flat parts, for compiled entitlements files (decider.h) -------- */

size_t pb__shape_size(void)
{
	return sizeof(struct shape);
}

void pb__dtab_release(struct pb__dtab *t)
{
	for (int dim = 0; dim < PB_DIM_COUNT; dim++) {
		free(t->keys[dim]);
		free(t->klen[dim]);
		t->keys[dim] = NULL;
		t->klen[dim] = NULL;
		t->nkeys[dim] = 0;
	}
}

enum pb_status pb__decider_export(const struct pb_decider *d, struct pb__dtab *t,
                                  struct pb_error *err)
{
	memset(t, 0, sizeof(*t));
	if (d->mapped)
		return pb__err(err, PB_EINVAL, "a table read from a compiled file cannot be written again");
	t->ctrl = d->ctrl;
	t->slots = d->slots;
	t->ngroups = d->group_mask + 1;
	t->packed = d->packed;
	t->use_memo = d->use_memo;
	t->blob = d->blob;
	t->nblob = d->nblob;
	t->shapes = d->shapes;
	t->nshapes = d->nshapes;
	t->pool = d->pool;
	t->npool = d->npool;
	for (int dim = 1; dim < PB_DIM_COUNT; dim++) {
		const struct dict *dc = &d->dicts[dim];
		t->nkeys[dim] = dc->n;
		t->keys[dim] = calloc((size_t)dc->n + 1, sizeof(char *));
		t->klen[dim] = calloc((size_t)dc->n + 1, sizeof(uint32_t));
		if (!t->keys[dim] || !t->klen[dim]) {
			pb__dtab_release(t);
			return pb__err(err, PB_ENOMEM, "out of memory");
		}
		for (uint32_t s = 0; dc->slots && s <= dc->mask; s++) {
			const struct slot *sl = &dc->slots[s];
			if (!sl->id)
				continue;
			t->keys[dim][sl->id - 1] = sl->key;
			t->klen[dim][sl->id - 1] = sl->len;
		}
	}
	return PB_OK;
}

/* Is the block at blob[o] whole, every rule and shape it names in range? */
static bool block_ok(const struct pb__dtab *t, size_t nrules, size_t o)
{
	const uint32_t *b = t->blob;
	size_t n = t->nblob;
	if (o == 0 || o >= n)
		return false;
	uint32_t hdr = b[o];
	uint32_t klen = hdr & 0x1ff, nplans = hdr >> 11;
	if (klen == 0 || klen > KEYMAX)
		return false;
	size_t at = o + 1 + (klen + 3) / 4;
	const size_t width = t->packed ? 1 : 2;
	for (uint32_t p = 0; p < nplans; p++) {
		if (at >= n)
			return false;
		uint32_t ndis, nkeep;
		if (b[at] != UINT32_MAX) {
			ndis = b[at] & 0xffff;
			nkeep = b[at] >> 16;
			at += 1;
		} else {
			if (at + 3 > n)
				return false;
			ndis = b[at + 1];
			nkeep = b[at + 2];
			at += 3;
		}
		uint64_t words = ((uint64_t)ndis + nkeep) * width;
		if (words > n - at)
			return false;
		for (size_t k = 0; k < ndis + (size_t)nkeep; k++) {
			uint32_t rule, shape;
			if (t->packed) {
				rule = b[at + k] >> PACK_SHIFT;
				shape = b[at + k] & (PACK_SHAPES - 1);
			} else {
				rule = b[at + 2 * k];
				shape = b[at + 2 * k + 1];
			}
			if (rule >= nrules || shape >= t->nshapes)
				return false;
		}
		at += (size_t)words;
	}
	return at <= n;
}

static bool shape_ok(const struct pb__dtab *t, const struct shape *sh)
{
	if (sh->kind > SH_SLOW || sh->d0 >= PB_DIM_COUNT || sh->d1 >= PB_DIM_COUNT ||
	    (sh->mask & ~0xfeu) != 0)
		return false;
	for (int dim = 1; dim < PB_DIM_COUNT; dim++) {
		if (!(sh->mask & (1u << dim)))
			continue;
		size_t off = sh->set[dim];
		if (off >= t->npool || t->pool[off] > t->npool - off - 1)
			return false;
	}
	return true;
}

/* The dictionary of dimension dim over t's keys (pointing at them). */
static bool dict_import(struct dict *dc, const struct pb__dtab *t, int dim)
{
	for (uint32_t i = 0; i < t->nkeys[dim]; i++) {
		const char *k = t->keys[dim][i];
		uint32_t n = t->klen[dim][i];
		if ((!dc->slots || (dc->n + 1) * 2 > dc->mask + 1) && !dict_grow(dc))
			return false;
		uint64_t h = hash_ci(k, n);
		uint32_t j = (uint32_t)h & dc->mask;
		while (dc->slots[j].id)
			j = (j + 1) & dc->mask;
		dc->slots[j] = (struct slot){ h, k, n, ++dc->n };
	}
	return true;
}

enum pb_status pb__decider_import(const struct pb__dtab *t, const struct pb_catalog *cat,
                                  int64_t version, size_t nrules,
                                  const struct pb_rule *(*rule_fn)(void *ctx, size_t i), void *ctx,
                                  struct pb_decider **out, struct pb_error *err)
{
	*out = NULL;
	const char *bad = NULL;
	if (nrules > PB_RULES_MAX)
		bad = "too many rules";
	else if (!t->ngroups || (t->ngroups & (t->ngroups - 1)) || t->ngroups > (1u << 28))
		bad = "the account index is not a power of two";
	else if (!t->nblob || t->blob[0] != 0)
		bad = "the blocks do not start with the empty word";
	else if (t->packed && t->nshapes > PACK_SHAPES)
		bad = "too many shapes for packed entries";
	for (uint32_t i = 0; !bad && i < t->nshapes; i++)
		if (!shape_ok(t, (const struct shape *)t->shapes + i))
			bad = "a shape is out of range";
	bool empty = false;
	for (size_t i = 0; !bad && i < (size_t)t->ngroups * GROUP; i++) {
		if (!t->ctrl[i])
			empty = true;
		else if (!(t->ctrl[i] & 0x80) || !block_ok(t, nrules, t->slots[i]))
			bad = "an account block is out of range";
	}
	if (!bad && !empty)
		bad = "the account index has no empty slot";
	for (int dim = 1; !bad && dim < PB_DIM_COUNT; dim++)
		for (uint32_t i = 0; !bad && i < t->nkeys[dim]; i++)
			if (!t->klen[dim][i] || t->klen[dim][i] > KEYMAX)
				bad = "a value of the dictionaries is out of range";
	if (bad)
		return pb__err(err, PB_EVERIFY, "compiled entitlements version %lld: %s",
		               (long long)version, bad);
	struct pb_decider *d = calloc(1, sizeof(*d));
	if (!d)
		return pb__err(err, PB_ENOMEM, "out of memory");
	d->mapped = true;
	d->cat = cat;
	d->version = version;
	d->ctrl = (uint8_t *)t->ctrl;
	d->slots = (uint32_t *)t->slots;
	d->group_mask = t->ngroups - 1;
	d->packed = t->packed;
	d->use_memo = t->use_memo;
	d->blob = (uint32_t *)t->blob;
	d->nblob = t->nblob;
	d->shapes = (struct shape *)t->shapes;
	d->nshapes = t->nshapes;
	d->pool = (uint32_t *)t->pool;
	d->npool = t->npool;
	d->nrules = nrules;
	d->rule_fn = rule_fn;
	d->rule_ctx = ctx;
	d->svc_memo = calloc(1, sizeof(struct memo));
	d->reg_memo = calloc(1, sizeof(struct memo));
	d->cls_memo = calloc(1, sizeof(struct cls_memo));
	d->rtext = calloc(nrules ? nrules : 1, sizeof(*d->rtext));
	bool ok = d->svc_memo && d->reg_memo && d->cls_memo && d->rtext;
	for (int dim = 1; ok && dim < PB_DIM_COUNT; dim++)
		ok = dict_import(&d->dicts[dim], t, dim);
	if (!ok) {
		pb_decider_free(d);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	pb_random(&d->seed, sizeof(d->seed));
	*out = d;
	return PB_OK;
}
