/* fuzz_focus.c - the FOCUS header mapping and row checks on any bytes: the
 * first record is the header, the rest are rows. No crash, no leak, and a row
 * is either accepted or rejected with a reason and a field inside the record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage/catalog.h"
#include "usage/focus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pb_catalog *cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cat) {
		struct pb_error err;
		if (pb_catalog_load("data/catalog", &cat, &err) != PB_OK) {
			fprintf(stderr, "fuzz_focus: run from the repository root: %s\n", err.message);
			abort();
		}
	}
	static struct pb_csv_field f[512];
	static struct pb_str names[512];
	const char *buf = (const char *)data, *end = buf + size;
	struct pb_csv_record rec;
	const char *p = pb__csv_parse_record(buf, end, f, 512, &rec);
	if (rec.problem || size == 0)
		return 0;
	for (size_t i = 0; i < rec.nfields; i++)
		names[i] = pb_str_of(f[i].ptr, f[i].len);
	struct pb_focus_map m;
	char missing[1024];
	if (pb__focus_map_header(names, rec.nfields, &m, missing, sizeof(missing), NULL) != PB_OK)
		return 0;
	struct pb_focus_ctx ctx;
	if (pb__focus_ctx_init(&ctx, &m, cat, size + 16) != PB_OK)
		return 0;
	uint64_t line = 2;
	while (p < end) {
		const char *rs = p;
		p = pb__csv_parse_record(p, end, f, 512, &rec);
		if (rec.problem)
			continue;
		struct pb_focus_row row;
		char reason[256];
		uint32_t bad = 0;
		bool warned;
		bool ok = pb__focus_row(&ctx, f, rec.nfields, line++, &row, reason, sizeof(reason),
		                        &bad, &warned);
		if (!ok && (reason[0] == '\0' || bad > m.ncols + 1))
			abort();
		if (ok && (!row.account.ptr || !row.service.ptr || row.end < row.start))
			abort();
		(void)rs;
	}
	pb__focus_ctx_release(&ctx);
	return 0;
}
