/* etab.c - compiled entitlements files: one version's decision table written
 * once and mapped read-only by every process that decides, so that a machine
 * holds one copy of it however many workers answer (the nginx module).
 *
 * Layout (docs/enforcement.md, "Compiled entitlements files"): a header of
 * ETAB_HEAD bytes, then sections at 8-byte aligned offsets the header lists.
 * Everything is an offset or an index, nothing a pointer, so the file means
 * the same wherever it is mapped; integers are in the writer's byte order and
 * shapes in its struct layout, both named in the header and refused when they
 * differ. The sections are the table's flat parts (decider.h), the
 * dictionaries' values, and the rules themselves: fixed records whose strings
 * are offsets into a string section, so a rule is rebuilt as a struct pb_rule
 * only when a decision names it (per process, once per rule).
 *
 * Opening checks, in this order: the header, a SHA-256 of the whole file but
 * the checksum field (a torn or damaged copy), every section's bounds, every
 * rule's strings, that the rules' canonical JSON hashes to the version's
 * SHA-256 the header names (what the workspace's log vouches for:
 * pb_etab_verify), and every offset and index of the table (decider.h).
 * What no reader can check without compiling the rules again is that the
 * table answers as the rules say: that rests on who could write the file.
 */
#include "decide/decider.h"
#include "decide/entitlements.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/banned.h"

#define ETAB_MAGIC "PBETAB\r\n"
#define ETAB_FORMAT 1u
#define ETAB_BOM 0x01020304u
#define ETAB_HEAD 320u
#define ETAB_CKSUM_AT 128u /* 32 bytes: SHA-256 of the file without them */
#define ETAB_MAX ((uint64_t)1 << 34)

enum { S_CTRL, S_SLOTS, S_BLOB, S_SHAPES, S_POOL, S_KEYS, S_RULES, S_VALS, S_STRS, S_COUNT };

/* The header, as its bytes lie in the file. */
struct head {
	char magic[8];
	uint32_t format, bom, shape_size, flags; /* flags: 1 packed, 2 memo */
	uint64_t size;
	int64_t version, created_ms;
	uint64_t nrules;
	uint32_t ngroups, nshapes;
	char sha256[64];   /* hex, of the version's rules */
	uint8_t cksum[32]; /* at ETAB_CKSUM_AT */
	uint32_t reason;   /* offset in the string section */
	uint32_t pad;
	uint64_t sec[S_COUNT][2]; /* offset, length */
};
_Static_assert(offsetof(struct head, cksum) == ETAB_CKSUM_AT, "checksum place");
_Static_assert(sizeof(struct head) <= ETAB_HEAD, "header fits");

/* One rule: strings are offsets into the string section; its values are
 * vals[first .. first + the sum of nvalues), dimension after dimension. */
struct rec {
	uint32_t plan, case_ref, effect, first;
	int64_t from, until;
	uint32_t nvalues[PB_DIM_COUNT];
};

struct pb_etab {
	void *map;
	size_t size;
	struct head h;
	char sha256[65];
	const struct rec *recs;
	const uint32_t *vals;
	size_t nvals;
	const char *strs;
	size_t nstrs;
	_Atomic(struct pb_rule *) *rules; /* built when a decision names one */
	struct pb_decider *dec;
};

/* ---- writing ------------------------------------------------------------ */

struct wbuf {
	struct pb_buf b;
	bool ok;
};

static size_t w_put(struct wbuf *w, const void *p, size_t n)
{
	size_t at = w->b.len;
	if (w->ok && pb_buf_add(&w->b, p, n) != PB_OK)
		w->ok = false;
	return at;
}

static void w_align(struct wbuf *w)
{
	static const char zeros[8];
	if (w->b.len % 8)
		w_put(w, zeros, 8 - w->b.len % 8);
}

/* Appends s with its NUL to the string section (which starts at base);
 * returns its offset there. */
static uint32_t w_str(struct wbuf *w, size_t base, const char *s)
{
	size_t off = w->b.len - base;
	if (off > UINT32_MAX) {
		w->ok = false;
		return 0;
	}
	w_put(w, s, strlen(s) + 1);
	return (uint32_t)off;
}

static void w_section(struct wbuf *w, struct head *h, int s, const void *p, size_t n)
{
	w_align(w);
	h->sec[s][0] = w->b.len;
	h->sec[s][1] = n;
	w_put(w, p, n);
}

enum pb_status pb_etab_write(const struct pb_decider *dec, const char *path, unsigned mode,
                             struct pb_error *err)
{
	const struct pb_entitlements *e = pb_decider_entitlements(dec);
	if (!e)
		return pb__err(err, PB_EINVAL, "a table read from a compiled file cannot be written again");
	struct pb__dtab t;
	enum pb_status st = pb__decider_export(dec, &t, err);
	if (st)
		return st;
	struct wbuf w = { .ok = true };
	pb_buf_init(&w.b, (size_t)ETAB_MAX);
	struct head h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, ETAB_MAGIC, 8);
	h.format = ETAB_FORMAT;
	h.bom = ETAB_BOM;
	h.shape_size = (uint32_t)pb__shape_size();
	h.flags = (t.packed ? 1u : 0) | (t.use_memo ? 2u : 0);
	h.version = pb_entitlements_version(e);
	h.created_ms = pb_entitlements_created_ms(e);
	h.nrules = pb_entitlements_count(e);
	h.ngroups = t.ngroups;
	h.nshapes = t.nshapes;
	memcpy(h.sha256, pb_entitlements_sha256(e), 64);
	char zeros[ETAB_HEAD] = { 0 };
	w_put(&w, zeros, ETAB_HEAD);
	w_section(&w, &h, S_CTRL, t.ctrl, (size_t)t.ngroups * 8);
	w_section(&w, &h, S_SLOTS, t.slots, (size_t)t.ngroups * 8 * sizeof(uint32_t));
	w_section(&w, &h, S_BLOB, t.blob, t.nblob * sizeof(uint32_t));
	w_section(&w, &h, S_SHAPES, t.shapes, (size_t)t.nshapes * pb__shape_size());
	w_section(&w, &h, S_POOL, t.pool, t.npool * sizeof(uint32_t));
	/* keys: per dimension but the account's, a count, then per key its
	 * length and its bytes zero-padded to whole words */
	w_align(&w);
	h.sec[S_KEYS][0] = w.b.len;
	for (int dim = 1; dim < PB_DIM_COUNT; dim++) {
		w_put(&w, &t.nkeys[dim], 4);
		for (uint32_t i = 0; i < t.nkeys[dim]; i++) {
			uint32_t n = t.klen[dim][i];
			char pad[PB_RULE_VALUE_LEN_MAX + 8] = { 0 };
			w_put(&w, &n, 4);
			w_align(&w);
			if (n > PB_RULE_VALUE_LEN_MAX || !t.keys[dim][i]) {
				w.ok = false;
				break;
			}
			memcpy(pad, t.keys[dim][i], n);
			w_put(&w, pad, (n + 7) / 8 * 8);
		}
	}
	h.sec[S_KEYS][1] = w.b.len - h.sec[S_KEYS][0];
	/* rules, their value lists, then the strings both name */
	size_t n = (size_t)h.nrules, nvals = 0;
	struct rec *recs = calloc(n ? n : 1, sizeof(*recs));
	for (size_t i = 0; i < n; i++)
		for (int dim = 0; dim < PB_DIM_COUNT; dim++)
			nvals += pb_entitlements_rule(e, i)->nvalues[dim];
	uint32_t *vals = calloc(nvals ? nvals : 1, sizeof(uint32_t));
	if (!recs || !vals)
		w.ok = false;
	w_align(&w);
	size_t sbase = w.b.len;
	h.sec[S_STRS][0] = sbase;
	h.reason = w_str(&w, sbase, pb_entitlements_reason(e));
	for (size_t i = 0, v = 0; w.ok && i < n; i++) {
		const struct pb_rule *r = pb_entitlements_rule(e, i);
		struct rec *rc = &recs[i];
		rc->plan = w_str(&w, sbase, r->plan);
		rc->case_ref = w_str(&w, sbase, r->case_ref);
		rc->effect = (uint32_t)r->effect;
		rc->first = (uint32_t)v;
		rc->from = r->from;
		rc->until = r->until;
		for (int dim = 0; dim < PB_DIM_COUNT; dim++) {
			rc->nvalues[dim] = (uint32_t)r->nvalues[dim];
			for (size_t j = 0; j < r->nvalues[dim]; j++)
				vals[v++] = w_str(&w, sbase, r->values[dim][j]);
		}
	}
	h.sec[S_STRS][1] = w.b.len - sbase;
	w_section(&w, &h, S_RULES, recs, n * sizeof(*recs));
	w_section(&w, &h, S_VALS, vals, nvals * sizeof(uint32_t));
	free(recs);
	free(vals);
	pb__dtab_release(&t);
	if (!w.ok) {
		pb_buf_release(&w.b);
		return pb__err(err, PB_ENOMEM, "out of memory writing entitlements version %lld",
		               (long long)h.version);
	}
	h.size = w.b.len;
	memcpy(w.b.data, &h, sizeof(h));
	uint8_t sum[32];
	struct pb_sha256 sh;
	if ((st = pb__sha256_init(&sh))) {
		pb_buf_release(&w.b);
		return pb__err(err, st, "no SHA-256");
	}
	pb__sha256_update(&sh, w.b.data, ETAB_CKSUM_AT);
	pb__sha256_update(&sh, w.b.data + ETAB_CKSUM_AT + 32, w.b.len - ETAB_CKSUM_AT - 32);
	pb__sha256_final(&sh, sum);
	memcpy(w.b.data + ETAB_CKSUM_AT, sum, 32);
	st = pb__write_file_atomic(path, w.b.data, w.b.len, mode, err);
	pb_buf_release(&w.b);
	return st;
}

/* ---- reading ------------------------------------------------------------ */

/* The string at offset off of the section, or NULL when it does not end
 * inside it or is longer than any rule value. */
static const char *str_at(const struct pb_etab *t, uint32_t off, size_t max)
{
	if (off >= t->nstrs)
		return NULL;
	const char *s = t->strs + off;
	const char *z = memchr(s, '\0', t->nstrs - off < max + 1 ? t->nstrs - off : max + 1);
	return z ? s : NULL;
}

/* Rule i into r, its value pointers in ptrs (the sum of its nvalues). */
static void rule_fill(const struct pb_etab *t, size_t i, struct pb_rule *r, const char **ptrs)
{
	const struct rec *rc = &t->recs[i];
	r->plan = t->strs + rc->plan;
	r->case_ref = t->strs + rc->case_ref;
	r->effect = (enum pb_effect)rc->effect;
	r->from = rc->from;
	r->until = rc->until;
	size_t v = rc->first, k = 0;
	for (int dim = 0; dim < PB_DIM_COUNT; dim++) {
		r->nvalues[dim] = rc->nvalues[dim];
		r->values[dim] = ptrs + k;
		for (uint32_t j = 0; j < rc->nvalues[dim]; j++)
			ptrs[k++] = t->strs + t->vals[v++];
	}
}

static size_t rule_nvalues(const struct rec *rc)
{
	size_t k = 0;
	for (int dim = 0; dim < PB_DIM_COUNT; dim++)
		k += rc->nvalues[dim];
	return k;
}

/* The decider's rule_fn: rule i built once, on first use (racing threads
 * may both build it; one copy wins). */
static const struct pb_rule *rule_get(void *ctx, size_t i)
{
	struct pb_etab *t = ctx;
	struct pb_rule *r = atomic_load_explicit(&t->rules[i], memory_order_acquire);
	if (r)
		return r;
	size_t k = rule_nvalues(&t->recs[i]);
	r = malloc(sizeof(*r) + k * sizeof(char *));
	if (!r)
		return NULL;
	rule_fill(t, i, r, (const char **)(void *)(r + 1));
	struct pb_rule *cur = NULL;
	if (!atomic_compare_exchange_strong_explicit(&t->rules[i], &cur, r, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		free(r);
		r = cur;
	}
	return r;
}

void pb_etab_free(struct pb_etab *t)
{
	if (!t)
		return;
	pb_decider_free(t->dec);
	if (t->rules) {
		for (size_t i = 0; i < t->h.nrules; i++)
			free(atomic_load_explicit(&t->rules[i], memory_order_relaxed));
		free(t->rules);
	}
	if (t->map)
		munmap(t->map, t->size);
	free(t);
}

/* Section s of t's mapping, checked against the file and, when elem is not
 * 0, its length a multiple of elem (want, when not SIZE_MAX, exactly). */
static const void *section(const struct pb_etab *t, int s, size_t elem, size_t want, size_t *len)
{
	uint64_t off = t->h.sec[s][0], n = t->h.sec[s][1];
	if (off < ETAB_HEAD || off % 8 || off > t->size || n > t->size - off ||
	    (elem && n % elem) || (want != SIZE_MAX && n != want))
		return NULL;
	*len = elem ? (size_t)n / elem : (size_t)n;
	return (const char *)t->map + off;
}

/* The keys section into tab's key arrays. */
static bool keys_parse(const struct pb_etab *t, struct pb__dtab *tab)
{
	size_t len;
	const char *p = section(t, S_KEYS, 0, SIZE_MAX, &len);
	if (!p)
		return false;
	size_t at = 0;
	for (int dim = 1; dim < PB_DIM_COUNT; dim++) {
		uint32_t n;
		if (len - at < 4)
			return false;
		memcpy(&n, p + at, 4);
		at += 4;
		if (n > len / 16) /* every key takes 16 bytes at least */
			return false;
		tab->nkeys[dim] = n;
		tab->keys[dim] = calloc((size_t)n + 1, sizeof(char *));
		tab->klen[dim] = calloc((size_t)n + 1, sizeof(uint32_t));
		if (!tab->keys[dim] || !tab->klen[dim])
			return false;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t kl;
			if (len - at < 4)
				return false;
			memcpy(&kl, p + at, 4);
			at += 4;
			at = (at + 7) / 8 * 8;
			size_t words = ((size_t)kl + 7) / 8 * 8;
			if (at > len || kl == 0 || kl > PB_RULE_VALUE_LEN_MAX || words > len - at)
				return false;
			for (size_t z = kl; z < words; z++)
				if (p[at + z])
					return false;
			tab->keys[dim][i] = p + at;
			tab->klen[dim][i] = kl;
			at += words;
		}
	}
	return at <= len;
}

/* Every rule's strings and value lists in range; then the SHA-256 of their
 * canonical JSON, one line each, against the header's. */
static enum pb_status rules_check(struct pb_etab *t, bool hash, struct pb_error *err)
{
	const long long ver = (long long)t->h.version;
	size_t nrules = (size_t)t->h.nrules, maxk = 0;
	for (size_t i = 0; i < nrules; i++) {
		const struct rec *rc = &t->recs[i];
		uint64_t k = 0;
		bool ok = str_at(t, rc->plan, PB_RULE_VALUE_LEN_MAX) &&
		          str_at(t, rc->case_ref, PB_RULE_VALUE_LEN_MAX) &&
		          (rc->effect == PB_EFFECT_DISABLE || rc->effect == PB_EFFECT_KEEP) &&
		          rc->from < rc->until && rc->nvalues[PB_DIM_ACCOUNT] > 0;
		for (int dim = 0; ok && dim < PB_DIM_COUNT; dim++) {
			ok = rc->nvalues[dim] <= PB_RULE_VALUES_MAX;
			k += rc->nvalues[dim];
		}
		ok = ok && rc->first <= t->nvals && k <= t->nvals - rc->first;
		for (uint64_t j = 0; ok && j < k; j++)
			ok = str_at(t, t->vals[rc->first + j], PB_RULE_VALUE_LEN_MAX) != NULL;
		if (!ok)
			return pb__err(err, PB_EVERIFY, "compiled entitlements version %lld: rule %zu is "
			               "out of range", ver, i + 1);
		if (k > maxk)
			maxk = (size_t)k;
	}
	if (!hash)
		return PB_OK;
	const char **ptrs = malloc((maxk ? maxk : 1) * sizeof(char *));
	struct pb_buf line;
	pb_buf_init(&line, 1u << 24);
	struct pb_sha256 h;
	enum pb_status st = ptrs ? pb__sha256_init(&h) : PB_ENOMEM;
	if (st) {
		free(ptrs);
		return pb__err(err, st, "out of memory");
	}
	for (size_t i = 0; !st && i < nrules; i++) {
		struct pb_rule r;
		rule_fill(t, i, &r, ptrs);
		pb_buf_reset(&line);
		if ((st = pb__rule_json(&line, &r)) || (st = pb_buf_addc(&line, '\n')))
			st = pb__err(err, st, "compiled entitlements version %lld: rule %zu too large",
			             ver, i + 1);
		else
			pb__sha256_update(&h, line.data, line.len);
	}
	uint8_t digest[32];
	char hex[65];
	if (st) {
		pb__sha256_release(&h);
	} else {
		pb__sha256_final(&h, digest);
		pb_hex(digest, 32, hex);
		if (strcmp(hex, t->sha256) != 0)
			st = pb__err(err, PB_EVERIFY, "compiled entitlements version %lld: its rules do "
			             "not match the version's SHA-256 it names", ver);
	}
	free(ptrs);
	pb_buf_release(&line);
	return st;
}

/* pb_etab_open over t->map[0..t->size); with no hash checks (the checksum,
 * the rules' SHA-256) for the fuzz target, which could not forge them and
 * would never reach the checks behind them. */
static enum pb_status etab_load(struct pb_etab *t, const struct pb_catalog *cat, bool cksum,
                                const char *path, struct pb_error *err)
{
	struct head *h = &t->h;
	if (t->size < ETAB_HEAD)
		return pb__err(err, PB_EFORMAT, "'%s' is not a compiled entitlements file: too short",
		               path);
	memcpy(h, t->map, sizeof(*h));
	if (memcmp(h->magic, ETAB_MAGIC, 8) != 0)
		return pb__err(err, PB_EFORMAT, "'%s' is not a compiled entitlements file", path);
	if (h->format != ETAB_FORMAT || h->bom != ETAB_BOM || h->shape_size != pb__shape_size())
		return pb__err(err, PB_EFORMAT, "'%s' was compiled by another version of probity or "
		               "for another machine: compile it again here", path);
	if (h->size != t->size)
		return pb__err(err, PB_EVERIFY, "'%s' is cut or extended: %zu bytes, its header says "
		               "%llu", path, t->size, (unsigned long long)h->size);
	if (cksum) {
		uint8_t sum[32];
		struct pb_sha256 sh;
		enum pb_status st = pb__sha256_init(&sh);
		if (st)
			return pb__err(err, st, "no SHA-256");
		pb__sha256_update(&sh, t->map, ETAB_CKSUM_AT);
		pb__sha256_update(&sh, (const char *)t->map + ETAB_CKSUM_AT + 32,
		                  t->size - ETAB_CKSUM_AT - 32);
		pb__sha256_final(&sh, sum);
		if (memcmp(sum, h->cksum, 32) != 0)
			return pb__err(err, PB_EVERIFY, "'%s' does not match its checksum: damaged", path);
	}
	for (int i = 0; i < 64; i++)
		if (!((h->sha256[i] >= '0' && h->sha256[i] <= '9') ||
		      (h->sha256[i] >= 'a' && h->sha256[i] <= 'f')))
			return pb__err(err, PB_EVERIFY, "'%s': its version's SHA-256 is not hex", path);
	memcpy(t->sha256, h->sha256, 64);
	t->sha256[64] = '\0';
	if (h->version < 0 || h->nrules > PB_RULES_MAX || h->ngroups > (1u << 28))
		return pb__err(err, PB_EVERIFY, "'%s': its header is out of range", path);
	struct pb__dtab tab;
	memset(&tab, 0, sizeof(tab));
	size_t nctrl, nslots, nrecs;
	tab.ngroups = h->ngroups;
	tab.nshapes = h->nshapes;
	tab.packed = h->flags & 1;
	tab.use_memo = (h->flags & 2) != 0;
	tab.ctrl = section(t, S_CTRL, 1, (size_t)h->ngroups * 8, &nctrl);
	tab.slots = section(t, S_SLOTS, 4, (size_t)h->ngroups * 32, &nslots);
	tab.blob = section(t, S_BLOB, 4, SIZE_MAX, &tab.nblob);
	size_t nsh;
	tab.shapes = section(t, S_SHAPES, pb__shape_size(), (size_t)h->nshapes * pb__shape_size(), &nsh);
	tab.pool = section(t, S_POOL, 4, SIZE_MAX, &tab.npool);
	t->recs = section(t, S_RULES, sizeof(struct rec), (size_t)h->nrules * sizeof(struct rec), &nrecs);
	t->vals = section(t, S_VALS, 4, SIZE_MAX, &t->nvals);
	t->strs = section(t, S_STRS, 1, SIZE_MAX, &t->nstrs);
	enum pb_status st = PB_OK;
	if (!tab.ctrl || !tab.slots || !tab.blob || !tab.shapes || !tab.pool || !t->recs ||
	    !t->vals || !t->strs || !str_at(t, h->reason, 65536))
		st = pb__err(err, PB_EVERIFY, "'%s': a section is out of range", path);
	else if (!keys_parse(t, &tab))
		st = pb__err(err, PB_EVERIFY, "'%s': the values section is out of range", path);
	else if (!(t->rules = calloc(h->nrules ? (size_t)h->nrules : 1, sizeof(*t->rules))))
		st = pb__err(err, PB_ENOMEM, "out of memory");
	else if (!(st = rules_check(t, cksum, err)))
		st = pb__decider_import(&tab, cat, h->version, (size_t)h->nrules, rule_get, t, &t->dec,
		                        err);
	pb__dtab_release(&tab);
	return st;
}

enum pb_status pb_etab_open(const char *path, const struct pb_catalog *cat,
                            struct pb_etab **out, struct pb_error *err)
{
	*out = NULL;
	int fd;
	uint64_t size;
	const char *what = NULL;
	int e = pb__open_regular(path, &fd, &size, &what);
	if (e)
		return e < 0 ? pb__err(err, PB_EINVAL, "cannot open '%s': it is %s", path, what)
		             : pb__err(err, e == ENOENT ? PB_ENOENT : PB_EIO, "cannot open '%s': %s",
		                       path, strerror(e));
	if (size < ETAB_HEAD || size > ETAB_MAX) {
		close(fd);
		return pb__err(err, PB_EFORMAT, "'%s' is not a compiled entitlements file: %llu bytes",
		               path, (unsigned long long)size);
	}
	struct pb_etab *t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	t->size = (size_t)size;
	t->map = mmap(NULL, t->size, PROT_READ, MAP_SHARED, fd, 0);
	e = errno;
	close(fd);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		pb_etab_free(t);
		return pb__err(err, PB_EIO, "cannot map '%s': %s", path, strerror(e));
	}
	enum pb_status st = etab_load(t, cat, true, path, err);
	if (st) {
		pb_etab_free(t);
		return st;
	}
	*out = t;
	return PB_OK;
}

enum pb_status pb__etab_open_mem(const void *data, size_t n, const struct pb_catalog *cat,
                                 struct pb_etab **out, struct pb_error *err)
{
	*out = NULL;
	struct pb_etab *t = calloc(1, sizeof(*t));
	if (!t)
		return pb__err(err, PB_ENOMEM, "out of memory");
	/* an anonymous copy, page-aligned like a mapping */
	t->size = n;
	t->map = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		pb_etab_free(t);
		return pb__err(err, PB_ENOMEM, "out of memory");
	}
	if (n)
		memcpy(t->map, data, n);
	enum pb_status st = etab_load(t, cat, false, "(memory)", err);
	if (st) {
		pb_etab_free(t);
		return st;
	}
	*out = t;
	return PB_OK;
}

enum pb_status pb_etab_verify(const struct pb_etab *t, struct pb_ws *ws, struct pb_error *err)
{
	return pb__entitlements_named(ws, t->h.version, t->sha256, err);
}

const struct pb_decider *pb_etab_decider(const struct pb_etab *t) { return t->dec; }
int64_t pb_etab_version(const struct pb_etab *t) { return t->h.version; }
int64_t pb_etab_created_ms(const struct pb_etab *t) { return t->h.created_ms; }
const char *pb_etab_sha256(const struct pb_etab *t) { return t->sha256; }
const char *pb_etab_reason(const struct pb_etab *t) { return t->strs + t->h.reason; }
size_t pb_etab_count(const struct pb_etab *t) { return (size_t)t->h.nrules; }
