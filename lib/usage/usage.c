/* usage.c - the ingest pipeline: read, check, aggregate, store; and the
 * same without storing, to recompute a source's aggregates for evidence.
 *
 * This file holds the steps in their order; each step lives in the file
 * named after it (usage_internal.h has the map). Nothing touches the
 * workspace until the whole input has been read (pipeline.c). Then one
 * SQLite transaction maps the aggregates through the catalog (mapping.c),
 * turns customer-chosen names into keyed pseudonyms (firewall.c), and writes
 * the source, its aggregates, warnings, rejects and accounts (commit.c). A
 * failure or a crash before the commit leaves the workspace as it was; the
 * rejects file and the copy of a piped input are created unnamed (O_TMPFILE)
 * and linked into place only then (tmpfile.c).
 *
 * Sums are exact: pb_dec, 128-bit integers of 10^-15 units (docs/ingest.md).
 */
#include "usage/usage_internal.h"

#include <stdlib.h>

#include "util/banned.h"

/* Before reading: the workspace is writable, orphans of a crash are gone,
 * and a file already loaded is not read again (*already). */
static enum pb_status prepare_store(struct pb_ingest *in, bool *already, struct pb_error *err)
{
	struct pb_ws *ws = in->ws;
	char sha[65] = "";
	*already = false;
	enum pb_status st = pb__ws_require_writable(ws, "ingest", err);
	if (st)
		return st;
	pb__usage_remove_orphans(ws, PB_WS_REJECTS);
	pb__usage_remove_orphans(ws, PB_WS_SOURCES);
	if (pb__ingest_already(ws, in->path, sha)) {
		*already = true;
		in->rep->already = true;
		pb__strlcpy(in->rep->sha256, sha, sizeof(in->rep->sha256));
		pb__ingest_report_from_db(ws, sha, in->rep);
	}
	return PB_OK;
}

/* After reading: the counts add up, and a cited file is the one read. */
static enum pb_status check_read(struct pb_ingest *in, struct pb_error *err)
{
	const struct pb_ingest_report *rep = in->rep;
	if (rep->rows_read != rep->rows_accepted + rep->rows_rejected)
		return pb__err(err, PB_EINVAL, "internal error: counts do not reconcile");
	const char *got = in->want_flat ? in->flat_sha : rep->sha256;
	if (in->expect_sha && strcmp(in->expect_sha, got) != 0)
		return pb__err(err, PB_EVERIFY,
		               "'%s' has changed: its %s is %s, the evidence cites %s", in->path,
		               in->want_flat ? "SHA-256" : "tree hash root", got, in->expect_sha);
	return PB_OK;
}

/* Recompute mode: map the aggregates and hand them to the caller. */
static enum pb_status finalize_recompute(struct pb_ingest *in, struct pb_error *err)
{
	enum pb_status st = pb__ingest_map_aggregates(in, err);
	if (!st)
		st = pb__ingest_hand_out(in, err);
	return st;
}

/* Store mode: one transaction maps the aggregates, and writes and commits
 * everything (unless the same bytes arrived meanwhile). */
static enum pb_status finalize_store(struct pb_ingest *in, struct pb_error *err)
{
	bool already;
	enum pb_status st = pb__ingest_begin(in, &already, err);
	if (st || already)
		return st;
	if ((st = pb__ingest_map_aggregates(in, err)) ||
	    (st = pb__ingest_report_warnings(in, err))) {
		pb__ws_rollback(in->ws);
		pb__ingest_unpublish(in);
		return st;
	}
	return pb__ingest_write(in, err);
}

static enum pb_status finalize(struct pb_ingest *in, struct pb_error *err)
{
	enum pb_status st = pb__firewall_init(&in->fw, in->ws, !in->recompute, err);
	if (st)
		return st;
	pb__strlcpy(in->rep->names, pb__firewall_names(&in->fw), sizeof(in->rep->names));
	pb__ingest_mapping_init(in);
	st = in->recompute ? finalize_recompute(in, err) : finalize_store(in, err);
	pb__ingest_mapping_release(in);
	return st;
}

/* Reads the input into the merged aggregate table, then finalises. */
static enum pb_status run(struct pb_ingest *in, struct pb_error *err)
{
	enum pb_status st;
	if ((st = pb__ingest_open_input(in, err)) || (st = pb__ingest_read_header(in, err)) ||
	    (st = pb__ingest_start_workers(in, err)) || (st = pb__ingest_read_rows(in, err)) ||
	    (st = pb__ingest_merge_workers(in, err)) || (st = check_read(in, err)))
		return st;
	st = finalize(in, err);
	in->rep->seconds = pb__mono() - in->t0;
	return st;
}

/* Recompute mode: how the cited source's key was made, from its row: its
 * tree hash at its chunk size, or (a source from before the tree hash, or
 * none recorded) the file's SHA-256 as well. */
static void cited_hash(struct pb_ingest *in)
{
	sqlite3_stmt *q;
	in->want_flat = true;
	if (sqlite3_prepare_v2(in->ws->db, "SELECT tree FROM source WHERE sha256 = ?1", -1, &q,
	                       NULL))
		return;
	sqlite3_bind_text(q, 1, in->expect_sha, -1, SQLITE_STATIC);
	uint8_t root[32];
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL &&
	    pb__mth_parse_id((const char *)sqlite3_column_text(q, 0), &in->tree_chunk, root))
		in->want_flat = false;
	sqlite3_finalize(q);
}

static enum pb_status ingest(struct pb_ws *ws, const struct pb_catalog *cat, const char *path,
                             const struct pb_ingest_options *opts, struct pb_ingest_report *rep,
                             pb__usage_agg_fn recompute, void *recompute_ctx,
                             const char *expect_sha, struct pb_error *err)
{
	static const struct pb_ingest_options defaults = { 0 };
	static const struct pb_tmpf none = PB_TMPF_NONE;
	struct pb_ingest *in = calloc(1, sizeof(*in));
	if (!in)
		return pb__err(err, PB_ENOMEM, "out of memory");
	in->ws = ws;
	in->cat = cat;
	in->path = path;
	in->opts = opts ? opts : &defaults;
	in->rep = rep;
	in->actor = in->opts->actor;
	in->recompute = recompute;
	in->recompute_ctx = recompute_ctx;
	in->expect_sha = expect_sha;
	if (expect_sha)
		cited_hash(in);
	in->t0 = pb__mono();
	in->copy = none;
	in->rejf = none;
	pb_buf_init(&in->reasons, SIZE_MAX / 2);
	memset(rep, 0, sizeof(*rep));
	pb__strlcpy(rep->name, path, sizeof(rep->name));

	bool already = false;
	enum pb_status st = recompute ? PB_OK : prepare_store(in, &already, err);
	if (!st && already)
		rep->seconds = pb__mono() - in->t0;
	else if (!st)
		st = run(in, err);
	pb__ingest_release_input(in);
	free(in);
	return st;
}

enum pb_status pb_usage_ingest(struct pb_ws *ws, const struct pb_catalog *cat, const char *path,
                               const struct pb_ingest_options *opts, struct pb_ingest_report *rep,
                               struct pb_error *err)
{
	return ingest(ws, cat, path, opts, rep, NULL, NULL, NULL, err);
}

enum pb_status pb__usage_recompute(struct pb_ws *ws, const struct pb_catalog *cat,
                                   const char *path, const char *expect_sha,
                                   pb__usage_agg_fn fn, void *ctx, struct pb_error *err)
{
	struct pb_ingest_report rep;
	struct pb_ingest_options o = { 0 };
	enum pb_status st = ingest(ws, cat, path, &o, &rep, fn, ctx, expect_sha, err);
	pb_ingest_report_release(&rep);
	return st;
}
