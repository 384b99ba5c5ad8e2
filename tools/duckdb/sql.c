/* sql.c - runs SQL statements in an in-memory DuckDB, one per argument, and
 * stops at the first that fails with DuckDB's message: what the Parquet
 * scripts (tools/parquet-golden.sh, tools/parquet-focus.sh) use to write and
 * read Parquet files with DuckDB. Built by those scripts, not by make:
 * libduckdb.so comes from npm (tools/npm-deps.sh) and ships no header.
 * usage: sql STATEMENT... */
#include <stdint.h>
#include <stdio.h>

typedef void *duckdb_database;
typedef void *duckdb_connection;
typedef struct { /* the C API's duckdb_result (DuckDB 1.x) */
	uint64_t column_count, row_count, rows_changed;
	void *columns;
	char *error_message;
	void *internal_data;
} duckdb_result;
int duckdb_open(const char *path, duckdb_database *out);
int duckdb_connect(duckdb_database db, duckdb_connection *out);
int duckdb_query(duckdb_connection con, const char *sql, duckdb_result *result);
const char *duckdb_result_error(duckdb_result *result);
void duckdb_destroy_result(duckdb_result *result);
void duckdb_disconnect(duckdb_connection *con);
void duckdb_close(duckdb_database *db);

int main(int argc, char **argv)
{
	duckdb_database db;
	duckdb_connection con;
	if (duckdb_open(NULL, &db) || duckdb_connect(db, &con)) {
		fprintf(stderr, "duckdb: cannot open\n");
		return 1;
	}
	int rc = 0;
	for (int i = 1; i < argc && !rc; i++) {
		duckdb_result r;
		if (duckdb_query(con, argv[i], &r)) {
			const char *e = duckdb_result_error(&r);
			fprintf(stderr, "duckdb: %s\n", e ? e : "query failed");
			rc = 1;
		}
		duckdb_destroy_result(&r);
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return rc;
}
