/* hmap.c - a string-keyed hash map with open addressing. */
#include "util/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

void pb__hmap_init(struct pb_hmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

void pb__hmap_release(struct pb_hmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	pb__hmap_init(m);
}

uint64_t pb__hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct pb_hmap_slot *find(const struct pb_hmap *m, const char *key, size_t len,
                                 uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct pb_hmap_slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

void *pb__hmap_get(const struct pb_hmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return NULL;
	struct pb_hmap_slot *s = find(m, key, len, pb__hash_bytes(key, len));
	return s->key ? s->value : NULL;
}

static enum pb_status grow(struct pb_hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct pb_hmap_slot *old = m->slots;
	size_t ocap = m->cap;
	m->slots = calloc(ncap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return PB_ENOMEM;
	}
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
	return PB_OK;
}

enum pb_status pb__hmap_put(struct pb_hmap *m, const char *key, size_t len, void *value,
                            void **old)
{
	if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != PB_OK)
		return PB_ENOMEM;
	uint64_t h = pb__hash_bytes(key, len);
	struct pb_hmap_slot *s = find(m, key, len, h);
	if (s->key) {
		if (old)
			*old = s->value;
		return PB_EEXIST;
	}
	s->key = pb__strndup(key, len);
	if (!s->key)
		return PB_ENOMEM;
	s->len = len;
	s->hash = h;
	s->value = value;
	m->count++;
	return PB_OK;
}
