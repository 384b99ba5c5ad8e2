/* fuzz_detect.c - series CSV parser, both detectors (streaming and
 * regimes), drivers and both charts on arbitrary bytes: nothing may crash,
 * leak or read out of bounds, and every change must lie inside the series. */
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
		/* regimes: short regimes and a low penalty, so short inputs split */
		cfg.regime_min_len = 3;
		cfg.regime_penalty = 1;
		struct pb_regime_change *rg = NULL;
		size_t nr = 0;
		if (pb_detect_regimes(&cfg, t.total, t.n, &rg, &nr, &err) == PB_OK) {
			for (size_t k = 0; k < nr; k++) {
				assert(rg[k].at >= 3 && rg[k].at + 3 <= t.n);
				assert(rg[k].from < rg[k].at && rg[k].at < rg[k].to && rg[k].to <= t.n);
				assert(!k || rg[k - 1].at < rg[k].at);
			}
			free(rg);
		}
		if (pb_detect_regimes(NULL, t.total, t.n, &rg, &nr, &err) == PB_OK)
			free(rg);
	}
	pb_series_table_release(&t);
	return 0;
}
