/* tree.h - a source's identity: the RFC 6962 Merkle tree hash of its bytes in
 * fixed chunks (docs/ingest.md, "The tree hash"), named
 * "mth-sha256:<chunk>:<root hex>"; streamed, or from leaf hashes that the
 * ingest threads compute. */
#ifndef PB_USAGE_TREE_H
#define PB_USAGE_TREE_H

#include "probity.h"
#include "util/util.h"

#define PB_TREE_CHUNK_DEFAULT (1u << 20)
#define PB_TREE_CHUNK_MIN 64u
#define PB_TREE_CHUNK_MAX (16u << 20)

/* A tree built as bytes or leaf hashes arrive. */
struct pb__mth {
	size_t chunk;           /* leaf size in bytes */
	size_t fill;            /* bytes in the open leaf */
	struct pb_sha256 ctx;   /* the open leaf, when fill > 0 */
	struct pb_tlog_range range;
	bool keep;              /* keep every leaf hash (for proofs) */
	uint8_t (*leaves)[32];
	size_t nleaves, cap;
	bool failed;            /* out of memory */
};

void pb__mth_init(struct pb__mth *m, size_t chunk, bool keep);
/* Bytes of the stream, in order. */
void pb__mth_update(struct pb__mth *m, const void *p, size_t n);
/* A whole leaf's hash (the leaf's bytes were hashed elsewhere). */
void pb__mth_add_leaf(struct pb__mth *m, const uint8_t h[32]);
/* Closes the last, short leaf and gives the root; PB_ENOMEM if a kept leaf
 * could not be stored. */
enum pb_status pb__mth_final(struct pb__mth *m, uint8_t root[32]);
void pb__mth_release(struct pb__mth *m);

/* The leaf hash of chunk bytes p[0..n). */
void pb__mth_leaf(const void *p, size_t n, uint8_t out[32]);
/* The leaf hashes of p[0..n) cut every chunk bytes (the last leaf may be
 * shorter) into out[0..ceil(n / chunk)): two at a time with the SHA
 * instructions (leafhash.c), else one by one. */
void pb__mth_leaves(const void *p, size_t n, size_t chunk, uint8_t (*out)[32]);
/* The root over n leaf hashes (SHA-256("") for none). */
void pb__mth_root(const uint8_t (*leaves)[32], size_t n, uint8_t out[32]);

/* "mth-sha256:<chunk>:<hex>" into out (PB_TREE_ID_LEN bytes). */
void pb__mth_id(size_t chunk, const uint8_t root[32], char *out);
/* Parses an identity; false when it is not one. */
bool pb__mth_parse_id(const char *id, size_t *chunk, uint8_t root[32]);

/* Reads the raw bytes of the file at path once: its tree at chunk (root into
 * root, when not NULL) and its plain SHA-256 (into flat, when not NULL). */
enum pb_status pb__file_hashes(const char *path, size_t chunk, uint8_t *root, uint8_t *flat,
                               struct pb_error *err);

#endif
