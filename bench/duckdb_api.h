/* duckdb_api.h - the few functions of DuckDB's C API the benchmark drivers
 * use. DuckDB is not in Debian; the benches fetch libduckdb.so from the npm
 * package @duckdb/node-bindings-linux-x64, which ships no header, so they are
 * declared here (handles are opaque pointers, states are ints: 0 success). */
#ifndef PB_BENCH_DUCKDB_API_H
#define PB_BENCH_DUCKDB_API_H

typedef void *duckdb_database;
typedef void *duckdb_connection;
int duckdb_open(const char *path, duckdb_database *out);
int duckdb_connect(duckdb_database db, duckdb_connection *out);
int duckdb_query(duckdb_connection con, const char *sql, void *result);
void duckdb_disconnect(duckdb_connection *con);
void duckdb_close(duckdb_database *db);

#endif
