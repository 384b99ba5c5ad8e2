/* pqfloor.c - the floors of the Parquet ingest: the CPU time this machine
 * takes to read a Parquet file and decode its columns with probity's
 * reader (lib/usage/parquet.c), without any check, aggregation or commit.
 * Prints, in ms of CPU (the process's, one thread; the best of RUNS):
 *   read     reading the file whole and its footer
 *   all      decoding every flat column of every row group (pb__pq_read)
 *   duckdb   decoding the 6 columns DuckDB's GROUP BY reads
 *            (duckdb_query.c: BillingAccountId, ServiceCategory, RegionId,
 *            ChargePeriodStart, ConsumedQuantity, BilledCost)
 *   dict     the key, sum and time columns whole, the others by their
 *            dictionary alone where pb__pq_read_dict can (about what the
 *            ingest decodes of an export whose rows all pass)
 * The first run's times (cold: every page of the decoded columns is new,
 * as in an ingest) and the best of RUNS (warm: malloc hands back pages).
 * usage: pqfloor FILE [RUNS] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "usage/parquet.h"

static double cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const char *const duck[] = { "BillingAccountId", "ServiceCategory", "RegionId",
	                            "ChargePeriodStart", "ConsumedQuantity", "BilledCost" };

/* read whole by the ingest: its key fields, sums and times */
static const char *const whole[] = {
	"BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName",
	"ProviderName", "ServiceCategory", "ServiceSubcategory", "ServiceName", "SkuMeter",
	"RegionId", "RegionName", "ConsumedUnit", "ChargeCategory", "BillingCurrency",
	"BilledCost", "EffectiveCost", "ListCost", "ConsumedQuantity", "ChargePeriodStart",
	"ChargePeriodEnd",
};

static int named(const char *name, const char *const *list, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(name, list[k]))
			return 1;
	return 0;
}

enum { ALL, DUCK, DICT };

/* Decodes the columns of one kind; false when one does not decode. */
static int decode(const struct pb_pq_file *f, int kind)
{
	struct pb_pq_values v;
	memset(&v, 0, sizeof(v));
	for (size_t rg = 0; rg < f->nrgs; rg++)
		for (size_t c = 0; c < f->ncols; c++) {
			if (f->cols[c].nested)
				continue;
			if (kind == DUCK && !named(f->cols[c].name, duck, sizeof(duck) / sizeof(*duck)))
				continue;
			struct pb_error err;
			bool only = false;
			if (kind == DICT &&
			    !named(f->cols[c].name, whole, sizeof(whole) / sizeof(*whole)) &&
			    pb__pq_read_dict(f, rg, c, &v, &only, &err))
				return 0;
			if (!only && pb__pq_read(f, rg, c, &v, &err)) {
				fprintf(stderr, "pqfloor: %s\n", err.message);
				return 0;
			}
			pb__pq_values_release(&v);
		}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	double best[4] = { 1e30, 1e30, 1e30, 1e30 }, first[4];
	for (int r = 0; r < runs; r++) {
		double t0 = cpu_ms();
		int fd = open(argv[1], O_RDONLY);
		off_t n = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
		uint8_t *data = n > 0 ? malloc((size_t)n) : NULL;
		if (!data || pread(fd, data, (size_t)n, 0) != n)
			return 1;
		close(fd);
		struct pb_pq_file f;
		struct pb_error err;
		if (pb__pq_open(&f, data, (size_t)n, argv[1], &err)) {
			fprintf(stderr, "pqfloor: %s\n", err.message);
			return 1;
		}
		double t[4];
		t[0] = cpu_ms() - t0;
		for (int k = ALL; k <= DICT; k++) {
			double s = cpu_ms();
			if (!decode(&f, k))
				return 1;
			t[k + 1] = cpu_ms() - s;
		}
		for (int k = 0; k < 4; k++) {
			if (t[k] < best[k])
				best[k] = t[k];
			if (r == 0)
				first[k] = t[k];
		}
		pb__pq_release(&f);
		free(data);
	}
	static const char *const what[] = { "read", "all", "duckdb", "dict" };
	for (int k = 0; k < 4; k++)
		printf("%s: %.1f ms cold, %.1f ms warm\n", what[k], first[k], best[k]);
	return 0;
}
