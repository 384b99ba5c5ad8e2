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
# the same as JSON in bench/results/ingest-parquet.json. A quick run:
#   RUNS=2 bench/ingest/parquet.sh 100000000
set -euo pipefail
SIZE=${1:-1000000000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
W=$ROOT/bench/work/ingest
R=$ROOT/bench/results
mkdir -p "$W" "$R"
P=$ROOT/build/release/probity
G=$ROOT/build/release/tools/genfocus
[ -x "$P" ] || make --no-print-directory release >/dev/null

need() { command -v "$1" >/dev/null || { echo "installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need npm npm

D=$ROOT/bench/work/duckdb
if [ ! -f "$D/libduckdb.so" ]; then
	mkdir -p "$D"
	(cd "$D" && npm pack --silent @duckdb/node-bindings-linux-x64 >/dev/null &&
		tar xzf duckdb-node-bindings-linux-x64-*.tgz && cp package/libduckdb.so .)
fi
cc -O2 -o "$W/duckdb_query" bench/ingest/duckdb_query.c -L"$D" -lduckdb -Wl,-rpath,"$D"
cc -O2 -o "$W/duckdb_sql" tests/e2e/duckdb_sql.c -L"$D" -lduckdb -Wl,-rpath,"$D"

F=$W/focus-$SIZE.csv
if [ ! -f "$F" ]; then
	echo "generating $F"
	"$G" bench --size "$SIZE" --seed 1 > "$F.tmp" 2>/dev/null && mv "$F.tmp" "$F"
fi
BYTES=$(stat -c %s "$F")
MB=$(python3 -c "print($BYTES / 1e6)")
for codec in snappy zstd; do
	[ -f "$F.$codec.parquet" ] ||
		"$W/duckdb_sql" :memory: "SET TimeZone='UTC'" \
			"COPY (FROM read_csv_auto('$F')) TO '$F.$codec.parquet.tmp' (FORMAT parquet, COMPRESSION $codec)"
	[ -f "$F.$codec.parquet" ] || mv "$F.$codec.parquet.tmp" "$F.$codec.parquet"
done

json="["
line() { # name unit probity peer
	local ratio
	ratio=$(python3 -c "print(f'{$3 / $4:.2f}')")
	echo "$1: probity $3 $2, peer $4 $2, ratio $ratio"
	json+="{\"name\":\"$1\",\"unit\":\"$2\",\"probity\":$3,\"peer\":$4,\"ratio\":$ratio},"
}
median() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.3f:%.3f:%.3f' % (x['median'], min(x['times']), max(x['times'])) for x in r))" "$1"; }

# the same groups and billed totals on both sides (run.sh's check)
check_same() { # ws duckdb-out
	sqlite3 -separator ',' "$1/probity.db" "SELECT account, category, region, strftime('%Y-%m', date), sum(CAST(quantity AS REAL)), sum(CAST(billed_cost AS REAL)) FROM usage GROUP BY 1,2,3,4 ORDER BY 1,2,3,4" > "$W/probity.out"
	python3 - "$W/probity.out" "$2" <<'PY'
import csv, sys
a = list(csv.reader(open(sys.argv[1])))
b = list(csv.reader(open(sys.argv[2])))
assert len(a) == len(b), f"{len(a)} groups against {len(b)}"
for x, y in zip(sorted(a), sorted(b)):
    assert x[:4] == y[:4], (x, y)
    p, d = float(x[5]), float(y[5])
    assert abs(p - d) <= 1e-9 * max(abs(p), abs(d), 1), (x, y)
PY
}

for codec in snappy zstd; do
	input=$F.$codec.parquet
	echo "$codec: $(stat -c %s "$input") bytes of Parquet for $BYTES of CSV"
	for j in 1 2; do
		name=ingest-parquet-$codec-j$j
		hyperfine -w 1 -r "$RUNS" --export-json "$W/$name.json" \
			--prepare "rm -rf $W/ws && $P init --user bench $W/ws" --prepare true \
			-n probity "$P ingest -q -j$j $W/ws $input" \
			-n duckdb "$W/duckdb_query $j $input $W/duckdb.out" >/dev/null
		check_same "$W/ws" "$W/duckdb.out"
		read -r pt dt <<<"$(median "$W/$name.json")"
		pm=${pt%%:*}; dm=${dt%%:*}
		line "$name" MB/s "$(python3 -c "print(f'{$MB / $pm:.0f}')")" "$(python3 -c "print(f'{$MB / $dm:.0f}')")"
		echo "  (medians $pm s and $dm s; probity min-max ${pt#*:}, duckdb min-max ${dt#*:})" | tr ':' '-'
	done
	rm -rf "$W/ws" && "$P" init --user bench "$W/ws" >/dev/null
	pk=$( { /usr/bin/time -f '%M' "$P" ingest -q -j2 "$W/ws" "$input" >/dev/null; } 2>&1 | tail -1)
	dk=$( { /usr/bin/time -f '%M' "$W/duckdb_query" 2 "$input" "$W/duckdb.out" >/dev/null; } 2>&1 | tail -1)
	line "peak-memory-parquet-$codec-j2" KiB "$pk" "$dk"
done
echo "${json%,}]" > "$R/ingest-parquet.json"
echo "results: bench/results/ingest-parquet.json"
