/* duckdb_query.c - the peer of the ingest benchmark: DuckDB running the
 * equivalent GROUP BY over the same CSV (or Parquet file) with N threads
 * (BENCH.md).
 *
 * DuckDB is not in Debian; bench/ingest/run.sh fetches the npm package
 * @duckdb/node-bindings-linux-x64, which ships libduckdb.so without a header:
 * bench/duckdb_api.h declares the calls used.
 * usage: duckdb_query THREADS FILE OUT.csv */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../duckdb_api.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: duckdb_query THREADS FILE OUT.csv\n");
		return 2;
	}
	duckdb_database db;
	duckdb_connection con;
	if (duckdb_open(NULL, &db) || duckdb_connect(db, &con)) {
		fprintf(stderr, "duckdb: cannot open\n");
		return 1;
	}
	char sql[4096];
	snprintf(sql, sizeof(sql), "SET threads=%s", argv[1]);
	if (duckdb_query(con, sql, NULL) || duckdb_query(con, "SET TimeZone='UTC'", NULL)) {
		fprintf(stderr, "duckdb: settings failed\n");
		return 1;
	}
	/* a .parquet file is read as Parquet (bench/ingest/parquet.sh) */
	size_t fl = strlen(argv[2]);
	bool pq = fl > 8 && strcmp(argv[2] + fl - 8, ".parquet") == 0;
	snprintf(sql, sizeof(sql),
	         "COPY (SELECT BillingAccountId, ServiceCategory, RegionId, "
	         "strftime(date_trunc('month', ChargePeriodStart), '%%Y-%%m') AS month, "
	         "sum(ConsumedQuantity), sum(BilledCost) FROM %s('%s') "
	         "GROUP BY ALL ORDER BY ALL) TO '%s' (HEADER false)",
	         pq ? "read_parquet" : "read_csv_auto", argv[2], argv[3]);
	if (duckdb_query(con, sql, NULL)) {
		fprintf(stderr, "duckdb: query failed\n");
		return 1;
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return 0;
}
