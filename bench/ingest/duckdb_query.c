/* duckdb_query.c - the peer of the ingest benchmark: DuckDB running the
 * equivalent GROUP BY over the same CSV with N threads (BENCH.md).
 *
 * DuckDB is not in Debian; bench/ingest/run.sh fetches the npm package
 * @duckdb/node-bindings-linux-x64, which ships libduckdb.so without a header,
 * so the handful of C-API functions used are declared here (handles are
 * opaque pointers, states are ints).
 * usage: duckdb_query THREADS FILE OUT.csv */
#include <stdio.h>
#include <stdlib.h>

typedef void *duckdb_database;
typedef void *duckdb_connection;
int duckdb_open(const char *path, duckdb_database *out);
int duckdb_connect(duckdb_database db, duckdb_connection *out);
int duckdb_query(duckdb_connection con, const char *sql, void *result);
void duckdb_disconnect(duckdb_connection *con);
void duckdb_close(duckdb_database *db);

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
	snprintf(sql, sizeof(sql),
	         "COPY (SELECT BillingAccountId, ServiceCategory, RegionId, "
	         "strftime(date_trunc('month', ChargePeriodStart), '%%Y-%%m') AS month, "
	         "sum(ConsumedQuantity), sum(BilledCost) FROM read_csv_auto('%s') "
	         "GROUP BY ALL ORDER BY ALL) TO '%s' (HEADER false)",
	         argv[2], argv[3]);
	if (duckdb_query(con, sql, NULL)) {
		fprintf(stderr, "duckdb: query failed\n");
		return 1;
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return 0;
}
