/* decider.h - the flat parts of a compiled decision table (decide.c), for the
 * compiled entitlements file (etab.c): exported to be written, and imported
 * over the file's read-only mapping so that every process that maps the file
 * shares one copy.
 *
 * The parts are plain arrays of integers and of struct shape (no pointer):
 * the account index (tags and block offsets), the blocks, the shapes and
 * their id sets, and per dimension the dictionary of values in id order. The
 * importer checks every offset and index before the table answers anything,
 * since a file is outside input; what it cannot check is that the arrays
 * answer as the rules say (only compiling the rules again would tell).
 */
#ifndef PB_DECIDER_H
#define PB_DECIDER_H

#include "probity.h"

struct pb__dtab {
	const uint8_t *ctrl;    /* ngroups * 8 account tags */
	const uint32_t *slots;  /* ngroups * 8 block offsets into blob */
	uint32_t ngroups;       /* a power of two */
	bool packed, use_memo;
	const uint32_t *blob;
	size_t nblob;
	const void *shapes;     /* nshapes of pb__shape_size() bytes each */
	uint32_t nshapes;
	const uint32_t *pool;
	size_t npool;
	/* per dimension but the account's: the dictionary's keys by id (key i has
	 * id i + 1), folded, each readable as whole 8-byte words zero-padded */
	const char **keys[PB_DIM_COUNT];
	uint32_t *klen[PB_DIM_COUNT];
	uint32_t nkeys[PB_DIM_COUNT];
};

/* The size of one shape as the arrays hold it (the layout of this build). */
size_t pb__shape_size(void);

/* Views of d's parts into t (valid while d lives); the key arrays are on the
 * heap: pb__dtab_release. PB_ENOMEM, or PB_EINVAL for a decider that is
 * itself an import. */
enum pb_status pb__decider_export(const struct pb_decider *d, struct pb__dtab *t,
                                  struct pb_error *err);
/* Frees the key arrays of t (every other part is a view). */
void pb__dtab_release(struct pb__dtab *t);

/* A decider over t's arrays (they and the key bytes must outlive it; it
 * never frees them; t's key arrays may be freed once it returns), for version
 * `version` of nrules rules, rule i given by rule_fn(ctx, i) when a decision
 * names it (NULL when out of memory). Every offset and index of the arrays
 * is checked first: PB_EVERIFY naming what is wrong. */
enum pb_status pb__decider_import(const struct pb__dtab *t, const struct pb_catalog *cat,
                                  int64_t version, size_t nrules,
                                  const struct pb_rule *(*rule_fn)(void *ctx, size_t i), void *ctx,
                                  struct pb_decider **out, struct pb_error *err);

/* pb_etab_open over n bytes in memory (copied), without the hash checks
 * (the file's checksum, its rules' SHA-256): for the fuzz target, which
 * could not forge them and so would never reach the checks behind them. */
enum pb_status pb__etab_open_mem(const void *data, size_t n, const struct pb_catalog *cat,
                                 struct pb_etab **out, struct pb_error *err);

#endif /* PB_DECIDER_H */
