/* report.c - the ingest report: its warnings (from the rows and from the
 * catalog mapping), its JSON form kept with the source, and the report of a
 * repeat, read back from the source it repeats. */
#include "usage/usage_internal.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "util/banned.h"

void pb_ingest_report_release(struct pb_ingest_report *r)
{
	if (!r)
		return;
	free(r->warnings);
	r->warnings = NULL;
	r->nwarnings = 0;
}

static enum pb_status add_warning(struct pb_ingest_report *rep, const char *kind,
                                  const char *column, uint64_t count, uint64_t first,
                                  const char *text, const char *example)
{
	struct pb_ingest_warning *w =
		realloc(rep->warnings, (rep->nwarnings + 1) * sizeof(*rep->warnings));
	if (!w)
		return PB_ENOMEM;
	rep->warnings = w;
	struct pb_ingest_warning *x = &w[rep->nwarnings++];
	memset(x, 0, sizeof(*x));
	pb__strlcpy(x->kind, kind, sizeof(x->kind));
	pb__strlcpy(x->column, column, sizeof(x->column));
	x->count = count;
	x->first_line = first;
	pb__strlcpy(x->text, text, sizeof(x->text));
	pb__strlcpy(x->example, example ? example : "", sizeof(x->example));
	return PB_OK;
}

/* Reads the file once more for its hash only when a source of the same size
 * exists: a repeat costs one hash, not a parse. The hash is the one that
 * source's key is: its tree hash at its chunk size, or the file's SHA-256
 * for a source from before the tree hash. */
bool pb__ingest_already(struct pb_ws *ws, const char *path, char *sha_out)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return false;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(ws->db, "SELECT sha256, tree FROM source WHERE size = ?1", -1, &q,
	                       NULL))
		return false;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)sb.st_size);
	bool found = false;
	while (!found && sqlite3_step(q) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(q, 0);
		const char *tree = (const char *)sqlite3_column_text(q, 1);
		size_t chunk = 0;
		uint8_t root[32], d[32];
		if (tree && !pb__mth_parse_id(tree, &chunk, root))
			continue;
		if (pb__file_hashes(path, chunk, tree ? d : NULL, tree ? NULL : d, NULL) != PB_OK)
			break;
		pb_hex(d, 32, sha_out);
		found = key && strcmp(key, sha_out) == 0;
	}
	sqlite3_finalize(q);
	return found;
}

void pb__ingest_report_from_db(struct pb_ws *ws, const char *sha, struct pb_ingest_report *rep)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(ws->db,
	                       "SELECT id, size, compression, format, focus_version, rows_read, "
	                       "rows_accepted, rows_rejected, rows_with_warnings, "
	                       "coalesce(rejects_file, ''), pb_day(first_day), pb_day(last_day), "
	                       "names, columns, columns_ignored FROM source WHERE sha256 = ?1",
	                       -1, &q, NULL))
		return;
	sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		rep->source_id = sqlite3_column_int64(q, 0);
		rep->size = (uint64_t)sqlite3_column_int64(q, 1);
		pb__strlcpy(rep->compression, (const char *)sqlite3_column_text(q, 2),
		            sizeof(rep->compression));
		pb__strlcpy(rep->format, (const char *)sqlite3_column_text(q, 3), sizeof(rep->format));
		const unsigned char *v = sqlite3_column_text(q, 4);
		pb__strlcpy(rep->version, v ? (const char *)v : "", sizeof(rep->version));
		rep->rows_read = (uint64_t)sqlite3_column_int64(q, 5);
		rep->rows_accepted = (uint64_t)sqlite3_column_int64(q, 6);
		rep->rows_rejected = (uint64_t)sqlite3_column_int64(q, 7);
		rep->rows_with_warnings = (uint64_t)sqlite3_column_int64(q, 8);
		pb__strlcpy(rep->rejects_path, (const char *)sqlite3_column_text(q, 9),
		            sizeof(rep->rejects_path));
		v = sqlite3_column_text(q, 10);
		pb__strlcpy(rep->first_day, v ? (const char *)v : "", sizeof(rep->first_day));
		v = sqlite3_column_text(q, 11);
		pb__strlcpy(rep->last_day, v ? (const char *)v : "", sizeof(rep->last_day));
		pb__strlcpy(rep->names, (const char *)sqlite3_column_text(q, 12), sizeof(rep->names));
		rep->columns = (size_t)sqlite3_column_int64(q, 13);
		rep->columns_ignored = (size_t)sqlite3_column_int64(q, 14);
	}
	sqlite3_finalize(q);
}

enum pb_status pb__ingest_report_json(const struct pb_ingest_report *rep, struct pb_buf *b)
{
	pb_buf_printf(b, "{\"name\":");
	pb_buf_json_str(b, rep->name, strlen(rep->name));
	pb_buf_printf(b,
	               ",\"sha256\":\"%s\",\"size\":%llu,\"compression\":\"%s\",\"format\":\"%s\","
	               "\"version\":\"%s\",\"rows_read\":%llu,\"rows_accepted\":%llu,"
	               "\"rows_rejected\":%llu,\"rows_with_warnings\":%llu,\"blank_lines\":%llu,"
	               "\"aggregates\":%llu,\"columns\":%zu,\"columns_ignored\":%zu,"
	               "\"threads\":%u,\"seconds\":%.3f,\"missing_mandatory\":",
	               rep->sha256, (unsigned long long)rep->size, rep->compression, rep->format,
	               rep->version, (unsigned long long)rep->rows_read,
	               (unsigned long long)rep->rows_accepted, (unsigned long long)rep->rows_rejected,
	               (unsigned long long)rep->rows_with_warnings,
	               (unsigned long long)rep->blank_lines, (unsigned long long)rep->aggregates,
	               rep->columns, rep->columns_ignored, rep->threads, rep->seconds);
	pb_buf_json_str(b, rep->missing_mandatory, strlen(rep->missing_mandatory));
	pb_buf_adds(b, ",\"warnings\":[");
	for (size_t i = 0; i < rep->nwarnings; i++) {
		const struct pb_ingest_warning *w = &rep->warnings[i];
		pb_buf_printf(b, "%s{\"kind\":\"%s\",\"column\":\"%s\",\"count\":%llu,\"first_line\":%llu,"
		                  "\"example\":",
		               i ? "," : "", w->kind, w->column, (unsigned long long)w->count,
		               (unsigned long long)w->first_line);
		pb_buf_json_str(b, w->example, strlen(w->example));
		pb_buf_addc(b, '}');
	}
	return pb_buf_adds(b, "]}");
}

/* The warnings of the report: from the rows (the workers' counts) and from
 * the catalog mapping (unknown regions, services, units...). */
enum pb_status pb__ingest_report_warnings(struct pb_ingest *in, struct pb_error *err)
{
	struct pb_ingest_report *rep = in->rep;
	const struct pb_focus_ctx *fx = &in->fxsum;
	for (int w = 0; w < FW_COUNT; w++)
		for (int col = 0; col <= FC_COUNT; col++) {
			uint64_t n = fx->warn_count[w][col];
			if (n && add_warning(rep, pb__fwarn_name((enum pb_fwarn)w),
			                     col < FC_COUNT ? pb__fcols[col].name : "", n,
			                     fx->warn_line[w][col], pb__fwarn_text((enum pb_fwarn)w),
			                     NULL))
				return pb__err(err, PB_ENOMEM, "out of memory");
		}
	static const struct {
		enum pb_fwarn w;
		const char *col;
	} mapw[] = { { FW_UNKNOWN_REGION, "RegionId" },       { FW_UNKNOWN_SERVICE, "ServiceName" },
		     { FW_UNKNOWN_UNIT, "ConsumedUnit" },      { FW_UNKNOWN_CAPABILITY, "SkuMeter" },
		     { FW_CATEGORY_FROM_CATALOG, "ServiceCategory" } };
	/* Parquet: nested columns not read (one warning each, every row) */
	for (size_t i = 0; in->pq_skipped && i < in->ncolnames; i++)
		if (in->pq_skipped[i] &&
		    add_warning(rep, "nested-column-skipped", in->colnames[i], rep->rows_read,
		                rep->rows_read ? 1 : 0,
		                "a nested column (list, struct or map of groups) is not read", NULL))
			return pb__err(err, PB_ENOMEM, "out of memory");
	const struct pb_unknowns *u = &in->unk;
	for (size_t i = 0; i < PB_ARRAY_LEN(mapw); i++)
		if (u->count[mapw[i].w] &&
		    add_warning(rep, pb__fwarn_name(mapw[i].w), mapw[i].col, u->count[mapw[i].w],
		                u->first[mapw[i].w], pb__fwarn_text(mapw[i].w), u->examples[mapw[i].w]))
			return pb__err(err, PB_ENOMEM, "out of memory");
	return PB_OK;
}
