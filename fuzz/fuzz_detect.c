/* fuzz_detect.c - series CSV parser, detector, drivers and both charts on
 * arbitrary bytes: nothing may crash, leak or read out of bounds, and every
 * change must lie inside the series. */
#include "probity.h"

#include <assert.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_series_table t;
	struct pb_error err;
	if (pb_series_table_parse((const char *)data, size, "fuzz", &t, &err) == PB_OK) {
		struct pb_detect_config cfg;
		pb_detect_config_init(&cfg);
		cfg.window = 16; /* small, so short inputs reach every code path */
		cfg.warmup = 2;
		cfg.hold = 3;
		struct pb_change *ch = NULL;
		size_t nc = 0;
		if (pb_detect_series(&cfg, t.total, t.n, &ch, &nc, NULL, &err) == PB_OK) {
			struct pb_detect_component *comps = calloc(t.ncols, sizeof(*comps));
			struct pb_driver *dr = calloc(t.ncols, sizeof(*dr));
			for (size_t c = 0; comps && c < t.ncols; c++) {
				comps[c].name = t.names[c];
				comps[c].values = t.values + c * t.n;
			}
			for (size_t k = 0; k < nc && comps && dr; k++) {
				assert(ch[k].start <= ch[k].detected && ch[k].end < t.n && ch[k].closed);
				pb_detect_drivers(&ch[k], comps, t.ncols, t.n, dr, &err);
			}
			char *svg;
			size_t len;
			if (pb_chart_changes(t.total, t.n, t.names[0], ch, nc, NULL, &svg, &len, &err) == PB_OK)
				free(svg);
			struct pb_chart_series *s = calloc(t.ncols, sizeof(*s));
			for (size_t c = 0; s && c < t.ncols; c++) {
				s[c].name = t.names[c];
				s[c].values = t.values + c * t.n;
			}
			if (s && pb_chart_stacked(t.times, t.n, s, t.ncols, NULL, &svg, &len, &err) == PB_OK)
				free(svg);
			free(s);
			free(comps);
			free(dr);
			free(ch);
		}
	}
	pb_series_table_release(&t);
	return 0;
}
