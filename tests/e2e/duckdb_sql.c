/* duckdb_sql.c - run SQL texts on a DuckDB database file, for the policy
 * differential test (tests/e2e/scripts/policy-diff.sh): DuckDB is the oracle
 * of the duckdb dialect of the policy compiler.
 *
 * DuckDB is not in Debian; tools/npm-deps.sh installs libduckdb.so from the
 * npm package @duckdb/node-bindings-linux-x64, which ships no header, so the
 * few calls are declared here (as bench/duckdb_api.h does; this driver also
 * needs the result, for the error message). Results go to files through
 * COPY (...) TO, so no row API is needed.
 * usage: duckdb_sql DB.duckdb SQL...   (each SQL text run in order; the
 * first failure prints DuckDB's message and exits 1) */
#include <stdint.h>
#include <stdio.h>

typedef void *duckdb_database;
typedef void *duckdb_connection;
/* duckdb_result is a 48-byte struct of counts and pointers in duckdb.h;
 * room to spare here, only DuckDB reads or writes it */
typedef struct {
	uint64_t words[16];
} duckdb_result;
int duckdb_open(const char *path, duckdb_database *out);
int duckdb_connect(duckdb_database db, duckdb_connection *out);
int duckdb_query(duckdb_connection con, const char *sql, duckdb_result *out);
const char *duckdb_result_error(duckdb_result *result);
void duckdb_destroy_result(duckdb_result *result);
void duckdb_disconnect(duckdb_connection *con);
void duckdb_close(duckdb_database *db);

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: duckdb_sql DB.duckdb SQL...\n");
		return 2;
	}
	duckdb_database db;
	duckdb_connection con;
	if (duckdb_open(argv[1], &db) || duckdb_connect(db, &con)) {
		fprintf(stderr, "duckdb_sql: cannot open '%s'\n", argv[1]);
		return 1;
	}
	int rc = 0;
	for (int i = 2; i < argc && !rc; i++) {
		duckdb_result res = {{0}};
		if (duckdb_query(con, argv[i], &res)) {
			const char *msg = duckdb_result_error(&res);
			fprintf(stderr, "duckdb_sql: SQL text %d failed: %s\n", i - 1, msg ? msg : "?");
			rc = 1;
		}
		duckdb_destroy_result(&res);
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return rc;
}
