/* aggtab.c - the aggregate key of a row and the tables that sum rows by it.
 *
 * A key is the raw bytes of the row's key fields and its day, so a worker
 * adds a row to its table without copying or normalising anything; the
 * catalog mapping happens once per key at the end (mapping.c). */
#include "usage/usage_internal.h"

#include <stdlib.h>

#include "util/banned.h"

size_t pb__usage_key_build(char *kb, int32_t day, const struct pb_focus_row *r)
{
	const struct pb_str *f[K_COUNT] = {
		[K_ACCOUNT] = &r->account,     [K_ACCOUNT_NAME] = &r->account_name,
		[K_SUB] = &r->subaccount,      [K_SUB_NAME] = &r->subaccount_name,
		[K_PROVIDER] = &r->provider,   [K_CATEGORY] = &r->category,
		[K_SUBCATEGORY] = &r->subcategory, [K_SERVICE] = &r->service,
		[K_METER] = &r->sku_meter,     [K_REGION] = &r->region,
		[K_REGION_NAME] = &r->region_name, [K_UNIT] = &r->unit,
		[K_CHARGE_CATEGORY] = &r->charge_category, [K_CURRENCY] = &r->currency,
	};
	memcpy(kb, &day, 4);
	size_t o = 4;
	for (int i = 0; i < K_COUNT; i++) {
		uint16_t l = (uint16_t)f[i]->len;
		memcpy(kb + o, &l, 2);
		o += 2;
		if (l)
			memcpy(kb + o, f[i]->ptr, l);
		o += l;
	}
	return o;
}

void pb__usage_key_decode(const char *k, int32_t *day, struct pb_str out[K_COUNT])
{
	memcpy(day, k, 4);
	size_t o = 4;
	for (int i = 0; i < K_COUNT; i++) {
		uint16_t l;
		memcpy(&l, k + o, 2);
		o += 2;
		out[i] = pb_str_of(l ? k + o : NULL, l);
		o += l;
	}
}

void pb__aggtab_release(struct pb_aggtab *t)
{
	free(t->v);
	free(t->slot);
	free(t->keys);
	memset(t, 0, sizeof(*t));
}

static bool grow_slots(struct pb_aggtab *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof(*s));
	if (!s)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = t->v[i].hash & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = s;
	t->nslots = ns;
	return true;
}

struct pb_agg *pb__aggtab_get(struct pb_aggtab *t, const char *kb, size_t kl, uint64_t h)
{
	if ((t->n + 1) * 2 > t->nslots && !grow_slots(t))
		return NULL;
	size_t mask = t->nslots - 1;
	size_t j = h & mask;
	for (;;) {
		uint32_t s = t->slot[j];
		if (!s)
			break;
		struct pb_agg *a = &t->v[s - 1];
		if (a->hash == h && a->klen == kl && memcmp(t->keys + a->koff, kb, kl) == 0)
			return a;
		j = (j + 1) & mask;
	}
	if (t->n == t->cap) {
		void *grown = pb__grow(t->v, &t->cap, t->n, sizeof(*t->v));
		if (!grown)
			return NULL;
		t->v = grown;
	}
	if (t->klen + kl > t->kcap) {
		size_t nc = t->kcap ? t->kcap * 2 : 65536;
		while (nc < t->klen + kl)
			nc *= 2;
		char *k = realloc(t->keys, nc);
		if (!k)
			return NULL;
		t->keys = k;
		t->kcap = nc;
	}
	memcpy(t->keys + t->klen, kb, kl);
	struct pb_agg *a = &t->v[t->n];
	memset(a, 0, sizeof(*a));
	a->hash = h;
	a->koff = t->klen;
	a->klen = (uint32_t)kl;
	a->first = UINT64_MAX;
	t->klen += kl;
	t->slot[j] = (uint32_t)++t->n;
	return a;
}

void pb__aggtab_truncate(struct pb_aggtab *t, size_t n)
{
	/* newest first: an older key's probe never ran through a newer one's
	 * slot (grow_slots inserts in index order too) */
	while (t->n > n) {
		const struct pb_agg *a = &t->v[t->n - 1];
		size_t mask = t->nslots - 1, j = a->hash & mask;
		while (t->slot[j] != t->n)
			j = (j + 1) & mask;
		t->slot[j] = 0;
		t->klen = a->koff;
		t->n--;
	}
}
