/* usage.h - what other modules need from the ingest pipeline: recomputing a
 * source's aggregates from its file, to verify cited evidence. */
#ifndef PB_USAGE_H
#define PB_USAGE_H

#include "util/util.h"

/* One daily aggregate as ingest stores it, with its dimensions as text (a
 * null view for a missing dimension). Views are valid during the callback. */
struct pb__usage_agg {
	int64_t day; /* days since 1970-01-01 */
	struct pb_str account, subaccount, provider, category, subcategory, service, sku_meter,
		capability, region, country, unit, charge_category, currency;
	pb_dec quantity, billed, effective, list;
	uint64_t rows, first_line, last_line;
};
/* Return false to stop. */
typedef bool (*pb__usage_agg_fn)(void *ctx, const struct pb__usage_agg *a);

/* Reads the file at path again through the same checks and catalog mapping as
 * ingest, without writing anything, and calls fn for every daily aggregate (in
 * a stable order). When expect_sha is not NULL, the file's SHA-256 must equal
 * it (PB_EVERIFY otherwise, with both hashes in the message). The catalog
 * should be the one the source was loaded with for the figures to match. */
enum pb_status pb__usage_recompute(struct pb_ws *ws, const struct pb_catalog *cat,
                                   const char *path, const char *expect_sha,
                                   pb__usage_agg_fn fn, void *ctx, struct pb_error *err);

/* A cited line range: physical lines lo to hi (1-based), the record that
 * starts on line hi included whole. */
struct pb__line_range {
	uint64_t lo, hi;
};
/* Writes into the existing folder dir the chunks of the decompressed stream
 * of the source keyed sha that hold the line ranges r (sorted by lo), as
 * files named prefix + "chunk-<k>.bin", and describes them in src (a jansson
 * object): the source's trees, each chunk's inclusion proof in data_tree, each
 * range's byte offsets. The source must have a tree hash (ingested since
 * schema 9) and its file must still have it (PB_EVERIFY otherwise). */
enum pb_status pb__usage_prove_lines(struct pb_ws *ws, const char *sha,
                                     const struct pb__line_range *r, size_t nr, const char *dir,
                                     const char *prefix, void *src, struct pb_error *err);

#endif
