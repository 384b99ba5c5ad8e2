/* hmap.h - a string-keyed hash map (open addressing, linear probing) for
 * lookup tables: catalogs, dictionaries. Keys are copied; values are pointers
 * the caller owns. Not for the ingest hot path, which has its own table. */
#ifndef PB_HMAP_H
#define PB_HMAP_H

#include "util/util.h"

struct pb_hmap_slot {
	char *key;      /* NULL = empty */
	size_t len;
	uint64_t hash;
	void *value;
};

struct pb_hmap {
	struct pb_hmap_slot *slots;
	size_t cap;     /* power of two */
	size_t count;
};

void pb__hmap_init(struct pb_hmap *m);
void pb__hmap_release(struct pb_hmap *m);
/* A 64-bit integer mixed so that every input bit moves every output bit (the
 * murmur3 finalizer): for tables indexed by the low bits of packed keys. */
static inline uint64_t pb__hash_u64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}
/* 64-bit hash of bytes (FNV-1a followed by a final mix). */
uint64_t pb__hash_bytes(const void *p, size_t n);
void *pb__hmap_get(const struct pb_hmap *m, const char *key, size_t len);
/* Inserts key -> value unless key is present. Returns PB_OK (inserted),
 * PB_EEXIST (present; *old gets its value when old is not NULL) or PB_ENOMEM. */
enum pb_status pb__hmap_put(struct pb_hmap *m, const char *key, size_t len, void *value,
                            void **old);

#endif
