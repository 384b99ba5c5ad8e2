/* duckdb_run.c - the DuckDB peer of the policy benchmark: runs the SQL text of
 * each file named, in order, in one DuckDB database file.
 *
 * DuckDB is not in Debian; bench/policy/run.sh fetches libduckdb.so from the
 * npm package @duckdb/node-bindings-linux-x64 (as bench/ingest does), which
 * ships no header: bench/duckdb_api.h declares the calls used. The benchmark
 * wraps the compiled query in COPY (...) TO 'file.csv', so no result API is
 * needed.
 * usage: duckdb_run DB.duckdb FILE.sql... */
#include <stdio.h>
#include <stdlib.h>

#include "../duckdb_api.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2) {
			char *g = realloc(b, cap * 2);
			if (!g) {
				free(b);
				b = NULL;
				break;
			}
			b = g;
			cap *= 2;
		}
	}
	fclose(f);
	if (b)
		b[n] = '\0';
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: duckdb_run DB.duckdb FILE.sql...\n");
		return 2;
	}
	duckdb_database db;
	duckdb_connection con;
	if (duckdb_open(argv[1], &db) || duckdb_connect(db, &con)) {
		fprintf(stderr, "duckdb: cannot open %s\n", argv[1]);
		return 1;
	}
	int rc = 0;
	for (int i = 2; i < argc && !rc; i++) {
		char *sql = slurp(argv[i]);
		if (!sql) {
			fprintf(stderr, "duckdb_run: cannot read %s\n", argv[i]);
			rc = 1;
		} else if (duckdb_query(con, sql, NULL)) {
			fprintf(stderr, "duckdb_run: %s failed\n", argv[i]);
			rc = 1;
		}
		free(sql);
	}
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return rc;
}
