/* fuzz_policy.c - the policy parser on any bytes: no crash, an error always
 * has a message and names the file, and every policy that parses compiles to
 * SQL in every dialect. Reads the catalog from data/catalog (run from the
 * repository root). */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pb_catalog *cat;
	if (!cat && pb_catalog_load("data/catalog", &cat, NULL))
		abort();
	struct pb_error err = { 0 };
	struct pb_policy *p = NULL;
	enum pb_status st = pb_policy_parse((const char *)data, size, "fuzz.yaml", cat, &p, &err);
	if (st) {
		if (p || !err.message[0] || strcmp(err.file, "fuzz.yaml"))
			abort();
		return 0;
	}
	for (int d = 0; d < PB_SQL_DIALECT_COUNT; d++) {
		for (int by = 0; by < 2; by++) {
			char *sql = NULL;
			if (pb_policy_sql_by(p, (enum pb_sql_dialect)d, 20000, (enum pb_sql_entity)by, &sql,
			                     &err) ||
			    !sql)
				abort();
			free(sql);
		}
	}
	pb_policy_free(p);
	return 0;
}
