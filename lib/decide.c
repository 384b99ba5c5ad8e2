/* decide.c - the decision engine: one entitlements version compiled into a
 * lookup table that answers allow/deny in tens of nanoseconds.
 *
 * Design. Every value a rule mentions is interned, per dimension, into a small
 * integer id (case-folded, trimmed; services and regions first canonicalised
 * through the catalog), and each rule's selector becomes sorted id arrays.
 * Rules are then indexed by billing account: an account maps to the plans
 * that name it, each with its disables and keeps in version order. A request
 * resolves its account with one hash probe (most accounts have no rules: done),
 * then its service and region to ids. Those two resolutions go through a memo
 * inside the decider (an insert-only, lock-free hash table of the spellings the
 * catalog knows), so that a hot request does not pay for the catalog's own
 * lookup; unknown spellings take the slow path every time and are never
 * memoised, which bounds the memo by the catalog's size.
 *
 * Semantics (docs/enforcement.md): a request value the engine cannot tell
 * (unknown service or region, no sub-account, a service offering several
 * capabilities with none named) is "unknown": a disable that constrains that
 * dimension may apply, so it does (fail closed); a keep must surely apply, so
 * it does not. Deny when some plan has an in-force disable that applies and
 * no in-force keep of the same plan that applies; the reason is the applying
 * disable with the lowest index among those not kept.
 */
#include "entitlements.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define NONE 0u          /* a value no rule mentions */
#define UNK 0xffffffffu  /* a value the engine cannot tell: could be anything */
#define NOIDX 0xffffffffu
#define KEYMAX PB_RULE_VALUE_LEN_MAX
#define MEMO_SLOTS 4096u /* per memo; at most half are filled */
#define CAPS_MAX 32u     /* capabilities of one service the memo keeps */

const char *pb_why_name(enum pb_why w)
{
	static const char *const names[] = { "no-rules", "no-match", "kept", "disabled" };
	return (unsigned)w < PB_ARRAY_LEN(names) ? names[w] : "?";
}

/* ---- hashing ---------------------------------------------------------- */

static inline uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, p, n);
		h = (h ^ w) * 0x94d049bb133111ebull;
		h ^= h >> 29;
	}
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* Trims spaces and tabs and lower-cases ASCII, 8 bytes at a time (the hot
 * path's share of pb__fold). Returns SIZE_MAX when it does not fit. */
static inline size_t fold(const char *s, size_t n, char *out)
{
	while (n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n > KEYMAX)
		return SIZE_MAX;
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		uint64_t low7 = x & ~high;
		uint64_t ge_a = low7 + (0x80 - 'A') * ones;  /* high bit: byte >= 'A' */
		uint64_t gt_z = low7 + (0x7f - 'Z') * ones;  /* high bit: byte > 'Z' */
		uint64_t upper = ge_a & ~gt_z & ~x & high;   /* ASCII upper-case letters */
		x |= upper >> 2;                             /* + 0x20 */
		memcpy(out + i, &x, 8);
	}
	for (; i < n; i++) {
		char c = s[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	return n;
}

/* ---- dictionaries: folded string -> id (1-based) ------------------------ */

struct slot {
	uint64_t hash;
	const char *key;
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

static inline uint32_t dict_find(const struct dict *d, const char *k, size_t n, uint64_t h)
{
	if (!d->slots)
		return NONE;
	for (uint32_t i = (uint32_t)h & d->mask;; i = (i + 1) & d->mask) {
		const struct slot *s = &d->slots[i];
		if (!s->id)
			return NONE;
		if (s->hash == h && s->len == n && memcmp(s->key, k, n) == 0)
			return s->id;
	}
}

/* Interns k (already folded); the key is copied into the arena. 0 on ENOMEM. */
static uint32_t dict_intern(struct dict *d, struct pb__arena *a, const char *k, size_t n)
{
	uint64_t h = hash_bytes(k, n);
	uint32_t id = dict_find(d, k, n, h);
	if (id)
		return id;
	if ((!d->slots || (d->n + 1) * 2 > d->mask + 1) && !dict_grow(d))
		return 0;
	char *copy = pb__arena_strndup(a, k, n);
	if (!copy)
		return 0;
	uint32_t i = (uint32_t)h & d->mask;
	while (d->slots[i].id)
		i = (i + 1) & d->mask;
	d->slots[i] = (struct slot){ h, copy, (uint32_t)n, ++d->n };
	return d->n;
}

/* ---- the memo of resolved services and regions -------------------------- */

struct svc_info {
	uint32_t name, cat, subcat; /* ids, NONE or UNK */
	uint32_t ncaps;             /* capabilities the service offers (<= CAPS_MAX kept) */
	uint32_t caps[CAPS_MAX];    /* their ids (NONE for ones no rule mentions) */
	const struct pb_service *svc;
	bool known;
	bool caps_cut;              /* offered more than CAPS_MAX: treat as unknown */
};

struct reg_info {
	uint32_t region, country;
	bool known;
};

struct memo_entry {
	uint64_t hash;
	uint32_t len;
	union {
		struct svc_info s;
		struct reg_info r;
	} u;
	char key[];
};

struct memo {
	_Atomic(struct memo_entry *) slots[MEMO_SLOTS];
	atomic_uint count;
};

static const struct memo_entry *memo_find(const struct memo *m, const char *k, size_t n,
                                          uint64_t h)
{
	for (uint32_t i = (uint32_t)h & (MEMO_SLOTS - 1), tries = 0; tries < MEMO_SLOTS;
	     i = (i + 1) & (MEMO_SLOTS - 1), tries++) {
		struct memo_entry *e = atomic_load_explicit(&m->slots[i], memory_order_acquire);
		if (!e)
			return NULL;
		if (e->hash == h && e->len == n && memcmp(e->key, k, n) == 0)
			return e;
	}
	return NULL;
}

/* Publishes a copy of e (key k); losing a race to an equal entry is fine. */
static void memo_add(struct memo *m, const struct memo_entry *proto, const char *k, size_t n)
{
	if (atomic_load_explicit(&m->count, memory_order_relaxed) >= MEMO_SLOTS / 2)
		return;
	struct memo_entry *e = malloc(sizeof(*e) + n + 1);
	if (!e)
		return;
	*e = *proto;
	memcpy(e->key, k, n);
	e->key[n] = '\0';
	for (uint32_t i = (uint32_t)e->hash & (MEMO_SLOTS - 1);; i = (i + 1) & (MEMO_SLOTS - 1)) {
		struct memo_entry *cur = NULL;
		if (atomic_compare_exchange_strong_explicit(&m->slots[i], &cur, e,
		                                            memory_order_acq_rel,
		                                            memory_order_acquire)) {
			atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
			return;
		}
		if (cur->hash == e->hash && cur->len == n && memcmp(cur->key, k, n) == 0) {
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

struct crule {
	int64_t from, until;
	uint32_t index;                 /* in the version */
	uint32_t set[PB_DIM_COUNT];     /* offset into pool: pool[off] = count, ids follow */
	uint16_t mask;                  /* dimensions with a non-empty set (not account) */
	uint8_t effect;
};

struct group {
	uint32_t dis, ndis;   /* offsets into refs: crule indices, ascending */
	uint32_t keep, nkeep;
};

struct acct {
	uint32_t group, ngroups;
};

struct pb_decider {
	const struct pb_entitlements *ents;
	const struct pb_catalog *cat;
	int64_t version;
	struct dict dicts[PB_DIM_COUNT]; /* account dict: id -> accts[id - 1] */
	struct crule *rules;
	uint32_t *pool;
	struct group *groups;
	uint32_t *refs;
	struct acct *accts;
	struct pb__arena arena;
	struct memo *svc_memo, *reg_memo;
};

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
	free(d->rules);
	free(d->pool);
	free(d->groups);
	free(d->refs);
	free(d->accts);
	if (d->svc_memo)
		memo_release(d->svc_memo);
	if (d->reg_memo)
		memo_release(d->reg_memo);
	free(d->svc_memo);
	free(d->reg_memo);
	pb__arena_release(&d->arena);
	free(d);
}

/* A growable uint32 vector for compiling. */
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* The folded, canonical key of a rule value in dimension d. */
static size_t canon_key(const struct pb_catalog *cat, int d, const char *v, char *out)
{
	struct pb_str s = pb__str_trim(pb__cstr(v));
	if (d == PB_DIM_SERVICE) {
		const struct pb_service *svc = cat ? pb_catalog_service(cat, s) : NULL;
		if (svc)
			s = pb__cstr(svc->name);
	} else if (d == PB_DIM_REGION) {
		const struct pb_region *r = cat ? pb_catalog_region(cat, s) : NULL;
		if (r)
			s = pb__cstr(r->id);
	}
	return pb__fold(s.ptr, s.len, out, KEYMAX);
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

enum pb_status pb_decider_new(const struct pb_entitlements *e, const struct pb_catalog *cat,
                              struct pb_decider **out, struct pb_error *err)
{
	*out = NULL;
	enum pb_status st = PB_OK;
	struct u32v pool = { 0 }, refs = { 0 }, ids = { 0 };
	struct triple *tr = NULL;
	struct dict plans = { 0 };
	size_t ntr = 0, trcap = 0;
	struct pb_decider *d = calloc(1, sizeof(*d));
	if (!d)
		return pb__err(err, PB_ENOMEM, "out of memory");
	d->ents = e;
	d->cat = cat;
	d->version = pb_entitlements_version(e);
	size_t n = pb_entitlements_count(e);
	d->svc_memo = calloc(1, sizeof(struct memo));
	d->reg_memo = calloc(1, sizeof(struct memo));
	d->rules = calloc(n ? n : 1, sizeof(struct crule));
	if (!d->svc_memo || !d->reg_memo || !d->rules || !u32v_push(&pool, 0))
		goto nomem;
	char key[KEYMAX];
	for (size_t i = 0; i < n; i++) {
		const struct pb_rule *r = pb_entitlements_rule(e, i);
		struct crule *c = &d->rules[i];
		c->from = r->from;
		c->until = r->until;
		c->index = (uint32_t)i;
		c->effect = (uint8_t)r->effect;
		size_t kl = pb__fold(r->plan, strlen(r->plan), key, KEYMAX);
		uint32_t plan = dict_intern(&plans, &d->arena, key, kl == SIZE_MAX ? 0 : kl);
		if (!plan)
			goto nomem;
		for (int dim = 0; dim < PB_DIM_COUNT; dim++) {
			ids.n = 0;
			for (size_t j = 0; j < r->nvalues[dim]; j++) {
				size_t len = canon_key(cat, dim, r->values[dim][j], key);
				if (len == SIZE_MAX)
					continue; /* longer than any request key can be */
				uint32_t id = dict_intern(&d->dicts[dim], &d->arena, key, len);
				if (!id || !u32v_push(&ids, id))
					goto nomem;
			}
			if (dim == PB_DIM_ACCOUNT) {
				for (size_t j = 0; j < ids.n; j++) {
					if (ntr == trcap) {
						size_t cap = trcap ? trcap * 2 : 1024;
						struct triple *t2 = realloc(tr, cap * sizeof(*tr));
						if (!t2)
							goto nomem;
						tr = t2;
						trcap = cap;
					}
					tr[ntr++] = (struct triple){ ids.v[j], plan, (uint32_t)i };
				}
				continue;
			}
			if (!r->nvalues[dim])
				continue;
			if (ids.n)
				qsort(ids.v, ids.n, sizeof(uint32_t), cmp_u32);
			size_t m = 0;
			for (size_t j = 0; j < ids.n; j++)
				if (!m || ids.v[m - 1] != ids.v[j])
					ids.v[m++] = ids.v[j];
			c->set[dim] = (uint32_t)pool.n;
			c->mask |= (uint16_t)(1u << dim);
			if (!u32v_push(&pool, (uint32_t)m))
				goto nomem;
			for (size_t j = 0; j < m; j++)
				if (!u32v_push(&pool, ids.v[j]))
					goto nomem;
		}
	}
	/* the account index */
	if (ntr)
		qsort(tr, ntr, sizeof(*tr), cmp_triple);
	uint32_t nacct = d->dicts[PB_DIM_ACCOUNT].n;
	d->accts = calloc(nacct ? nacct : 1, sizeof(struct acct));
	size_t ngroups = 0, gcap = 0;
	if (!d->accts)
		goto nomem;
	for (size_t i = 0; i < ntr;) {
		size_t j = i;
		while (j < ntr && tr[j].acct == tr[i].acct && tr[j].plan == tr[i].plan)
			j++;
		if (ngroups == gcap) {
			gcap = gcap ? gcap * 2 : 256;
			struct group *g2 = realloc(d->groups, gcap * sizeof(struct group));
			if (!g2)
				goto nomem;
			d->groups = g2;
		}
		struct acct *a = &d->accts[tr[i].acct - 1];
		if (!a->ngroups)
			a->group = (uint32_t)ngroups;
		a->ngroups++;
		struct group *g = &d->groups[ngroups++];
		g->dis = (uint32_t)refs.n;
		for (size_t k = i; k < j; k++)
			if ((k == i || tr[k].rule != tr[k - 1].rule) &&
			    d->rules[tr[k].rule].effect == PB_EFFECT_DISABLE && !u32v_push(&refs, tr[k].rule))
				goto nomem;
		g->ndis = (uint32_t)refs.n - g->dis;
		g->keep = (uint32_t)refs.n;
		for (size_t k = i; k < j; k++)
			if ((k == i || tr[k].rule != tr[k - 1].rule) &&
			    d->rules[tr[k].rule].effect == PB_EFFECT_KEEP && !u32v_push(&refs, tr[k].rule))
				goto nomem;
		g->nkeep = (uint32_t)refs.n - g->keep;
		i = j;
	}
	d->pool = pool.v;
	d->refs = refs.v;
	pool.v = refs.v = NULL;
	free(ids.v);
	free(tr);
	dict_release(&plans);
	*out = d;
	return PB_OK;
nomem:
	st = pb__err(err, PB_ENOMEM, "out of memory compiling entitlements version %lld",
	             (long long)pb_entitlements_version(e));
	free(pool.v);
	free(refs.v);
	free(ids.v);
	free(tr);
	dict_release(&plans);
	pb_decider_free(d);
	return st;
}

/* ---- resolving a request ---------------------------------------------- */

struct resolved {
	uint32_t v[PB_DIM_COUNT]; /* single-valued dimensions; capability unused */
	const uint32_t *caps;     /* possible capabilities, or NULL = unknown */
	uint32_t ncaps;
	uint32_t one_cap;         /* storage when one capability was named */
	unsigned flags;
};

static inline uint32_t lookup(const struct pb_decider *d, int dim, const char *k, size_t n)
{
	return dict_find(&d->dicts[dim], k, n, hash_bytes(k, n));
}

static const struct svc_info *resolve_service(const struct pb_decider *d, struct pb_str name,
                                              struct svc_info *tmp)
{
	char key[KEYMAX];
	size_t n = name.ptr ? fold(name.ptr, name.len, key) : SIZE_MAX;
	if (n == SIZE_MAX || n == 0) {
		memset(tmp, 0, sizeof(*tmp));
		tmp->name = tmp->cat = tmp->subcat = UNK;
		return tmp;
	}
	uint64_t h = hash_bytes(key, n);
	const struct memo_entry *m = memo_find(d->svc_memo, key, n, h);
	if (m)
		return &m->u.s;
	memset(tmp, 0, sizeof(*tmp));
	const struct pb_service *svc = d->cat ? pb_catalog_service(d->cat, pb__str(key, n)) : NULL;
	if (!svc) {
		tmp->name = tmp->cat = tmp->subcat = UNK;
		return tmp;
	}
	char k2[KEYMAX];
	size_t l2;
	tmp->known = true;
	tmp->svc = svc;
	l2 = pb__fold(svc->name, strlen(svc->name), k2, KEYMAX);
	tmp->name = l2 == SIZE_MAX ? NONE : lookup(d, PB_DIM_SERVICE, k2, l2);
	l2 = svc->category ? pb__fold(svc->category, strlen(svc->category), k2, KEYMAX) : SIZE_MAX;
	tmp->cat = l2 == SIZE_MAX ? NONE : lookup(d, PB_DIM_CATEGORY, k2, l2);
	l2 = svc->subcategory ? pb__fold(svc->subcategory, strlen(svc->subcategory), k2, KEYMAX)
	                      : SIZE_MAX;
	tmp->subcat = l2 == SIZE_MAX ? NONE : lookup(d, PB_DIM_SUBCATEGORY, k2, l2);
	tmp->caps_cut = svc->ncapabilities > CAPS_MAX;
	for (size_t i = 0; i < svc->ncapabilities && i < CAPS_MAX; i++) {
		const char *c = svc->capabilities[i];
		l2 = pb__fold(c, strlen(c), k2, KEYMAX);
		tmp->caps[tmp->ncaps++] = l2 == SIZE_MAX ? NONE : lookup(d, PB_DIM_CAPABILITY, k2, l2);
	}
	struct memo_entry proto;
	memset(&proto, 0, sizeof(proto));
	proto.hash = h;
	proto.len = (uint32_t)n;
	proto.u.s = *tmp;
	memo_add(d->svc_memo, &proto, key, n);
	return tmp;
}

static struct reg_info resolve_region(const struct pb_decider *d, struct pb_str name)
{
	struct reg_info ri = { UNK, UNK, false };
	char key[KEYMAX];
	size_t n = name.ptr ? fold(name.ptr, name.len, key) : SIZE_MAX;
	if (n == SIZE_MAX || n == 0)
		return ri;
	uint64_t h = hash_bytes(key, n);
	const struct memo_entry *m = memo_find(d->reg_memo, key, n, h);
	if (m)
		return m->u.r;
	const struct pb_region *r = d->cat ? pb_catalog_region(d->cat, pb__str(key, n)) : NULL;
	if (!r)
		return ri;
	char k2[KEYMAX];
	size_t l2 = pb__fold(r->id, strlen(r->id), k2, KEYMAX);
	ri.known = true;
	ri.region = l2 == SIZE_MAX ? NONE : lookup(d, PB_DIM_REGION, k2, l2);
	l2 = r->country && r->country[0] ? pb__fold(r->country, strlen(r->country), k2, KEYMAX)
	                                 : SIZE_MAX;
	ri.country = l2 == SIZE_MAX ? NONE : lookup(d, PB_DIM_COUNTRY, k2, l2);
	struct memo_entry proto;
	memset(&proto, 0, sizeof(proto));
	proto.hash = h;
	proto.len = (uint32_t)n;
	proto.u.r = ri;
	memo_add(d->reg_memo, &proto, key, n);
	return ri;
}

static bool str_present(struct pb_str s)
{
	return s.ptr && pb__str_trim(s).len > 0;
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

static void resolve(const struct pb_decider *d, const struct pb_decide_request *q,
                    struct resolved *rs, struct svc_info *tmp)
{
	char key[KEYMAX];
	size_t n;
	rs->flags = 0;
	rs->v[PB_DIM_ACCOUNT] = NONE;
	if (str_present(q->subaccount) &&
	    (n = fold(q->subaccount.ptr, q->subaccount.len, key)) != SIZE_MAX)
		rs->v[PB_DIM_SUBACCOUNT] = lookup(d, PB_DIM_SUBACCOUNT, key, n);
	else if (str_present(q->subaccount))
		rs->v[PB_DIM_SUBACCOUNT] = NONE; /* longer than any rule value */
	else {
		rs->v[PB_DIM_SUBACCOUNT] = UNK;
		rs->flags |= PB_DECIDE_NO_SUBACCOUNT;
	}
	const struct svc_info *si = resolve_service(d, q->service, tmp);
	rs->v[PB_DIM_SERVICE] = si->name;
	rs->v[PB_DIM_CATEGORY] = si->cat;
	rs->v[PB_DIM_SUBCATEGORY] = si->subcat;
	if (!si->known)
		rs->flags |= PB_DECIDE_UNKNOWN_SERVICE;
	struct reg_info ri = resolve_region(d, q->region);
	rs->v[PB_DIM_REGION] = ri.region;
	rs->v[PB_DIM_COUNTRY] = ri.country;
	if (!ri.known)
		rs->flags |= PB_DECIDE_UNKNOWN_REGION;

	/* capabilities: the one named (or told by the SKU meter), else all offered */
	const char *capname = NULL;
	size_t caplen = 0;
	bool asked = false;
	if (str_present(q->capability)) {
		asked = true;
		struct pb_str c = pb__str_trim(q->capability);
		capname = c.ptr;
		caplen = c.len;
	} else if (str_present(q->sku_meter)) {
		asked = true;
		if (si->known && d->cat) {
			capname = pb_catalog_capability(d->cat, q->service, q->sku_meter);
			caplen = capname ? strlen(capname) : 0;
		}
	}
	if (capname && (n = pb__fold(capname, caplen, key, KEYMAX)) != SIZE_MAX && n > 0 &&
	    (si->known ? service_offers(si->svc, key, n)
	               : (d->cat && pb_catalog_capability_known(d->cat, pb__str(key, n))))) {
		rs->one_cap = lookup(d, PB_DIM_CAPABILITY, key, n);
		rs->caps = &rs->one_cap;
		rs->ncaps = 1;
		return;
	}
	if (asked)
		rs->flags |= PB_DECIDE_CAP_IGNORED;
	if (!si->known || si->caps_cut) {
		rs->caps = NULL;
		rs->ncaps = 0;
		return;
	}
	rs->caps = si->caps;
	rs->ncaps = si->ncaps;
	if (si->ncaps > 1)
		rs->flags |= PB_DECIDE_SEVERAL_CAPS;
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

/* may = true: could the rule apply (disables); false: does it surely apply (keeps). */
static bool rule_applies(const struct pb_decider *d, const struct crule *c,
                         const struct resolved *rs, bool may)
{
	unsigned mask = c->mask;
	while (mask) {
		int dim = __builtin_ctz(mask);
		mask &= mask - 1;
		const uint32_t *set = d->pool + c->set[dim];
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

static inline bool in_force(const struct crule *c, int64_t t)
{
	return c->from <= t && t < c->until;
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
	char key[KEYMAX];
	size_t n = q->account.ptr ? fold(q->account.ptr, q->account.len, key) : SIZE_MAX;
	if (n == SIZE_MAX || n == 0)
		return;
	uint32_t id = lookup(d, PB_DIM_ACCOUNT, key, n);
	if (id == NONE)
		return;
	const struct acct *a = &d->accts[id - 1];
	const int64_t t = q->at;
	bool any_force = false;
	for (uint32_t gi = 0; gi < a->ngroups && !any_force; gi++) {
		const struct group *g = &d->groups[a->group + gi];
		for (uint32_t k = 0; k < g->ndis + g->nkeep; k++)
			if (in_force(&d->rules[d->refs[g->dis + k]], t)) {
				any_force = true;
				break;
			}
	}
	if (!any_force)
		return;

	struct resolved rs;
	struct svc_info tmp;
	resolve(d, q, &rs, &tmp);
	out->flags = rs.flags;
	uint32_t deny = NOIDX, kept_dis = NOIDX, kept_keep = NOIDX;
	for (uint32_t gi = 0; gi < a->ngroups; gi++) {
		const struct group *g = &d->groups[a->group + gi];
		uint32_t first = NOIDX;
		for (uint32_t k = 0; k < g->ndis; k++) {
			const struct crule *c = &d->rules[d->refs[g->dis + k]];
			if (c->index >= deny)
				break; /* a lower disable already denies */
			if (in_force(c, t) && rule_applies(d, c, &rs, true)) {
				first = c->index;
				break;
			}
		}
		if (first == NOIDX)
			continue;
		uint32_t keep = NOIDX;
		for (uint32_t k = 0; k < g->nkeep; k++) {
			const struct crule *c = &d->rules[d->refs[g->keep + k]];
			if (in_force(c, t) && rule_applies(d, c, &rs, false)) {
				keep = c->index;
				break;
			}
		}
		if (keep == NOIDX)
			deny = first;
		else if (first < kept_dis) {
			kept_dis = first;
			kept_keep = keep;
		}
	}
	if (deny != NOIDX) {
		out->allow = false;
		out->why = PB_WHY_DISABLED;
		out->rule_index = deny;
		out->rule = pb_entitlements_rule(d->ents, deny);
	} else if (kept_keep != NOIDX) {
		out->why = PB_WHY_KEPT;
		out->rule_index = kept_keep;
		out->rule = pb_entitlements_rule(d->ents, kept_keep);
	} else {
		out->why = PB_WHY_NO_MATCH;
	}
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
	size_t pos = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < PB_ARRAY_LEN(names); i++) {
		if (!(flags & names[i].bit))
			continue;
		int w = snprintf(buf + pos, cap - pos, "%s%s", pos ? sep : "", names[i].name);
		if (w < 0 || (size_t)w >= cap - pos)
			break;
		pos += (size_t)w;
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

static void w_json(struct w *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (n > 256)
		n = 256;
	w_raw(w, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		w_raw(w, s + run, i - run);
		run = i + 1;
		char esc[7] = { '\\', (char)c, 0 };
		if (c == '"' || c == '\\')
			w_raw(w, esc, 2);
		else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			w_raw(w, u, 6);
		}
	}
	w_raw(w, s + run, n - run);
	w_raw(w, "\"", 1);
}

static void w_field(struct w *w, const char *key, struct pb_str v, bool *first)
{
	if (!v.ptr)
		return;
	w_s(w, *first ? "\"" : ",\"");
	w_s(w, key);
	w_s(w, "\":");
	w_json(w, v.ptr, v.len);
	*first = false;
}

size_t pb_decision_json(const struct pb_decision *d, const struct pb_decide_request *q,
                        const char *id, char *buf, size_t cap)
{
	struct w w = { buf, cap, 0, cap > 0 };
	char num[64], ts[32];
	w_s(&w, "{");
	if (id) {
		w_s(&w, "\"decision_id\":");
		w_json(&w, id, strlen(id));
		w_s(&w, ",");
	}
	pb__time_format(q->at, ts);
	snprintf(num, sizeof(num), ",\"version\":%lld,\"at\":\"%s\"", (long long)d->version, ts);
	w_s(&w, d->allow ? "\"result\":\"allow\",\"allow\":true" : "\"result\":\"deny\",\"allow\":false");
	w_s(&w, num);
	w_s(&w, ",\"reason\":{\"why\":\"");
	w_s(&w, pb_why_name(d->why));
	w_s(&w, "\"");
	if (d->rule) {
		char sel[512];
		pb_rule_selector(d->rule, false, sel, sizeof(sel));
		w_s(&w, ",\"plan\":");
		w_json(&w, d->rule->plan, strlen(d->rule->plan));
		w_s(&w, ",\"case\":");
		w_json(&w, d->rule->case_ref, strlen(d->rule->case_ref));
		snprintf(num, sizeof(num), ",\"effect\":\"%s\",\"rule\":%zu,\"selector\":",
		         d->rule->effect == PB_EFFECT_KEEP ? "keep" : "disable", d->rule_index + 1);
		w_s(&w, num);
		w_json(&w, sel, strlen(sel));
	}
	w_s(&w, "},\"unknown\":[");
	char fl[160];
	pb_decide_flags(d->flags, "\",\"", fl, sizeof(fl));
	if (fl[0]) {
		w_s(&w, "\"");
		w_s(&w, fl);
		w_s(&w, "\"");
	}
	w_s(&w, "],\"input\":{");
	bool first = true;
	w_field(&w, "account", q->account, &first);
	w_field(&w, "subaccount", q->subaccount, &first);
	w_field(&w, "service", q->service, &first);
	w_field(&w, "region", q->region, &first);
	w_field(&w, "capability", q->capability, &first);
	w_field(&w, "sku_meter", q->sku_meter, &first);
	w_s(&w, "}}");
	if (!w.ok) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	buf[w.len] = '\0';
	return w.len;
}
