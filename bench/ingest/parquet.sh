#!/bin/bash
# bench/ingest/parquet.sh [SIZE] - probity ingest of a FOCUS export in Parquet
# (Snappy and zstd) against DuckDB's GROUP BY over the same Parquet file.
#
# The data is run.sh's: the FOCUS-like CSV of SIZE bytes (default 1 GB) from
# tools/genfocus.c with the same seed, written to Parquet by DuckDB with its
# column types detected (timestamps, doubles; as real exports are typed) in
# each codec. For each codec and thread count (1, 2) times, alternating, with
# hyperfine -w 1 -r RUNS (default 3: the machine is shared):
#   probity ingest -jN into a fresh workspace (every check, the firewall, the
#     tree hash, the commit), and
#   DuckDB's equivalent GROUP BY over the same Parquet file with threads=N;
# checks both computed the same totals and prints
#   name: probity X MB/s, peer Y MB/s, ratio R
# (MB of the CSV the file holds, so the figures compare with run.sh's), and
# the same as JSON in bench/results/ingest-parquet.json; then the floors:
# the CPU time of decoding alone (pqfloor.c: every column, DuckDB's six,
# about what the ingest decodes) and of an ingest of no rows. A quick run:
#   RUNS=2 bench/ingest/parquet.sh 100000000
set -euo pipefail
SIZE=${1:-1000000000}
RUNS=${RUNS:-3}
. "$(dirname "$0")/lib.sh"
cc -O2 -o "$W/duckdb_sql" tests/e2e/duckdb_sql.c -L"$D" -lduckdb -Wl,-rpath,"$D"
for codec in snappy zstd; do
	[ -f "$F.$codec.parquet" ] ||
		"$W/duckdb_sql" :memory: "SET TimeZone='UTC'" \
			"COPY (FROM read_csv_auto('$F')) TO '$F.$codec.parquet.tmp' (FORMAT parquet, COMPRESSION $codec)"
	[ -f "$F.$codec.parquet" ] || mv "$F.$codec.parquet.tmp" "$F.$codec.parquet"
done

for codec in snappy zstd; do
	input=$F.$codec.parquet
	echo "$codec: $(stat -L -c %s "$input") bytes of Parquet for $BYTES of CSV"
	bench_input "parquet-$codec" "$input"
done
# the floors: decoding alone (bench/ingest/pqfloor.c, one thread, ms of CPU)
# and the fixed cost of an ingest (an export of no rows)
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/ingest/pqfloor.c build/release/libprobity.a \
	$(make --no-print-directory -s -C "$ROOT" print-libs) -o "$W/pqfloor"
for codec in snappy zstd; do
	"$W/pqfloor" "$F.$codec.parquet" 3 | sed "s/^/floor-$codec-decode-/"
done
fw=$(mktemp -d) && "$P" init --unsigned --user bench "$fw/ws" >/dev/null 2>&1
/usr/bin/time -f 'floor-ingest-no-rows: %e s wall, %U+%S s cpu' \
	"$P" ingest -q -j1 "$fw/ws" tests/data/parquet/focus/focus-1.0-sample-1000-empty.parquet
rm -rf "$fw"

echo "${json%,}]" > "$R/ingest-parquet.json"
echo "results: bench/results/ingest-parquet.json"
