#!/bin/sh
# parquet-golden.sh OUTDIR FILE... - writes OUTDIR/NAME.golden for each
# Parquet FILE: the values DuckDB reads from it, in the format of
# build/*/tools/pq-dump (column names, then one tab-separated line a row;
# null \N; backslash, tab, newline escaped; BLOB in hex; timestamps as
# nanoseconds since 1970 UTC; other values as DuckDB casts them to text).
# A file DuckDB refuses gets NAME.golden holding "error: " and its message.
# Run once to make tests/data/parquet/golden (kept in git with this script);
# tests/e2e/scripts/parquet.sh compares pq-dump's output with them.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$1; shift
LIBDIR=$("$ROOT/tools/npm-deps.sh" "$ROOT/build/npm" | tail -1)
SQL="$ROOT/build/duckdb-sql :memory:"
cc -O1 -o "$ROOT/build/duckdb-sql" "$ROOT/tests/e2e/duckdb_sql.c" -L"$LIBDIR" -lduckdb -Wl,-rpath,"$LIBDIR"
mkdir -p "$OUT"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for f in "$@"; do
	name=$(basename "$f" .parquet)
	src="read_parquet('$f')"
	if ! $SQL "COPY (SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM $src)) TO '$T/cols' (HEADER false, DELIMITER '\t')" 2>"$T/err"; then
		printf 'error: %s\n' "$(head -1 "$T/err")" >"$OUT/$name.golden"; continue
	fi
	exprs=""; heads=""
	while IFS='	' read -r col type; do
		q="\"$col\""
		case $type in
		TIMESTAMP*) e="epoch_ns($q)::VARCHAR" ;;
		BLOB) e="hex($q)" ;;
		*) e="replace(replace(replace($q::VARCHAR, '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n')" ;;
		esac
		exprs="$exprs${exprs:+ || chr(9) || }coalesce($e, '\\N')"
		heads="$heads${heads:+	}$col"
	done <"$T/cols"
	printf '%s\n' "$heads" >"$OUT/$name.golden"
	if $SQL "SET TimeZone='UTC'" "COPY (SELECT $exprs FROM $src) TO '$T/rows' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER chr(1))" 2>"$T/err"; then
		cat "$T/rows" >>"$OUT/$name.golden"
	else
		printf 'error: %s\n' "$(head -1 "$T/err")" >"$OUT/$name.golden"
	fi
done
