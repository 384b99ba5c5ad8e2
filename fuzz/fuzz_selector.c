/* fuzz_selector.c - the plan selector parser on arbitrary bytes. Invariant:
 * a selector that parses has a canonical text that parses back to the same
 * text and the same values; nothing crashes or leaks. Needs data/catalog
 * (run from the repository root, as make check and tools/fuzz.sh do). */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

static struct pb_catalog *cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cat && pb_catalog_load("data/catalog", &cat, NULL))
		abort();
	struct pb__arena a = { 0 };
	struct pb__sel s, t;
	if (pb__sel_parse(&a, cat, (const char *)data, size, "fuzz", &s, NULL) == PB_OK) {
		if (pb__sel_parse(&a, cat, s.text, strlen(s.text), "again", &t, NULL) != PB_OK ||
		    strcmp(s.text, t.text) != 0)
			abort();
		for (int d = 0; d < PB_DIM_COUNT; d++) {
			if (s.n[d] != t.n[d])
				abort();
			for (size_t i = 0; i < s.n[d]; i++)
				if (strcmp(s.values[d][i], t.values[d][i]))
					abort();
		}
	}
	pb__arena_release(&a);
	return 0;
}
