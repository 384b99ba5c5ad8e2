/* fuzz_profile.c - the profile's parsers of user input (--by lists and
 * dates) on arbitrary bytes: nothing may crash or read out of bounds; an
 * accepted --by list holds known, distinct dimensions, and an accepted date
 * formats back to itself. */
#include "probity.h"
#include "util/util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct pb_error err;
	struct pb_profile_options o;
	pb_profile_options_init(&o);
	if (pb_profile_parse_by(s, &o, &err) == PB_OK) {
		assert(o.nby >= 1 && o.nby <= PB_PROFILE_DIM_COUNT);
		for (size_t i = 0; i < o.nby; i++) {
			assert((unsigned)o.by[i] < PB_PROFILE_DIM_COUNT);
			for (size_t j = 0; j < i; j++)
				assert(o.by[i] != o.by[j]);
		}
	}
	for (int end = 0; end < 2; end++) {
		int64_t day;
		if (pb_profile_parse_day(s, end, &day, &err) == PB_OK) {
			char buf[16];
			pb_day_format(day, buf);
			assert(strlen(s) == 7 ? strncmp(buf, s, 7) == 0 : strcmp(buf, s) == 0);
		}
	}
	free(s);
	return 0;
}
