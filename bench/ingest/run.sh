#!/bin/bash
# bench/ingest/run.sh [SIZE] - probity ingest against DuckDB and the floors.
#
# Builds a FOCUS-like CSV of SIZE bytes (default 1 GB) with tools/genfocus.c
# (fixed seed), plus gzip -6 and zstd -3 copies, then for each input kind and
# thread count (1, 2) times, alternating, with hyperfine -w 1 -r 5:
#   probity ingest -jN into a fresh workspace (every check, the firewall, the
#     tree hash, the commit), and
#   DuckDB's equivalent GROUP BY over the same file with threads=N
#     (BENCH.md; fetched from the npm registry, never by make deps);
# checks that both computed the same totals, and measures peak memory and the
# floors (read + memchr, SHA-256, the tree hash per core, decompression), and
# the time to prove one finding's cited lines and to check that proof (on the
# policy fixture, tests/data/policy/usage.csv). Prints one line per figure,
#   name: probity X MB/s, peer Y MB/s, ratio R
# and writes the same as JSON to bench/results/ingest.json.
set -euo pipefail
SIZE=${1:-1000000000}
RUNS=${RUNS:-5}
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
need zstd zstd
need npm npm

# DuckDB: the npm package ships libduckdb.so; our driver declares the C API it uses
D=$ROOT/bench/work/duckdb
if [ ! -f "$D/libduckdb.so" ]; then
	mkdir -p "$D"
	(cd "$D" && npm pack --silent @duckdb/node-bindings-linux-x64 >/dev/null &&
		tar xzf duckdb-node-bindings-linux-x64-*.tgz && cp package/libduckdb.so .)
fi
cc -O2 -o "$W/duckdb_query" bench/ingest/duckdb_query.c -L"$D" -lduckdb -Wl,-rpath,"$D"
cc -O2 -o "$W/floor" bench/ingest/floor.c $(pkg-config --cflags --libs libisal libzstd libcrypto)

# the input, once per size
F=$W/focus-$SIZE.csv
if [ ! -f "$F" ]; then
	echo "generating $F"
	"$G" bench --size "$SIZE" --seed 1 > "$F.tmp" 2>/dev/null && mv "$F.tmp" "$F"
fi
[ -f "$F.gz" ] || gzip -6 -c "$F" > "$F.gz"
[ -f "$F.zst" ] || zstd -q -3 -T2 -c "$F" > "$F.zst"
BYTES=$(stat -c %s "$F")
MB=$(python3 -c "print($BYTES / 1e6)")

json="["
line() { # name unit probity peer
	local ratio
	ratio=$(python3 -c "print(f'{$3 / $4:.2f}')")
	echo "$1: probity $3 $2, peer $4 $2, ratio $ratio"
	json+="{\"name\":\"$1\",\"unit\":\"$2\",\"probity\":$3,\"peer\":$4,\"ratio\":$ratio},"
}
median() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.3f:%.3f:%.3f' % (x['median'], min(x['times']), max(x['times'])) for x in r))" "$1"; }

# floors
for kind in read sha256 tree; do
	s=$( { /usr/bin/time -f '%e' "$W/floor" $kind "$F" >/dev/null; } 2>&1 | tail -1)
	per=""; [ "$kind" = tree ] && per=" per core"
	echo "floor-$kind: $(python3 -c "print(f'{$MB / max($s, 1e-9):.0f}')") MB/s$per"
done

# line proofs: prove one finding's citations, then check the bundle alone
PW=$W/proof-ws
rm -rf "$PW" "$W/proof"
"$P" init --user bench "$PW" >/dev/null
"$P" ingest -q "$PW" tests/data/policy/usage.csv
"$P" customer add "$PW" Alpha --account A1 >/dev/null
"$P" scan "$PW" tests/data/policy/diff/02-sum-storage-tb.yaml --at 2026-03-01 >/dev/null
sp=$( { /usr/bin/time -f '%e' "$P" evidence prove "$PW" F1 --output "$W/proof" >/dev/null; } 2>&1 | tail -1)
root=$(sqlite3 "$PW/probity.db" 'SELECT data_tree FROM source')
sc=$( { /usr/bin/time -f '%e' "$P" evidence check "$W/proof" --source-root "$root" >/dev/null; } 2>&1 | tail -1)
echo "proof: prove F1 ${sp} s, check ${sc} s ($(ls "$W/proof" | wc -l) files)"
for ext in gz zst; do
	s=$( { /usr/bin/time -f '%e' "$W/floor" inflate "$F.$ext" >/dev/null; } 2>&1 | tail -1)
	echo "floor-decompress-$ext: $(python3 -c "print(f'{$MB / max($s, 1e-9):.0f}')") MB/s of CSV"
done

# the same groups and billed totals on both sides (DuckDB sums binary floats:
# relative tolerance; quantities differ by design, probity normalises units)
check_same() { # ws duckdb-out
	sqlite3 -separator ',' "$1/probity.db" "SELECT account, category, region, strftime('%Y-%m', date), sum(CAST(quantity AS REAL)), sum(CAST(billed_cost AS REAL)) FROM usage GROUP BY 1,2,3,4 ORDER BY 1,2,3,4" > "$W/probity.out"
	python3 - "$W/probity.out" "$2" <<'PY'
import csv, sys
a = list(csv.reader(open(sys.argv[1])))
b = list(csv.reader(open(sys.argv[2])))
assert len(a) == len(b), f"{len(a)} groups against {len(b)}"
for x, y in zip(sorted(a), sorted(b)):
    assert x[:4] == y[:4], (x, y)
    for i in (5,):
        p, d = float(x[i]), float(y[i])
        assert abs(p - d) <= 1e-9 * max(abs(p), abs(d), 1), (x, y)
PY
}

for input in "$F" "$F.gz" "$F.zst"; do
	kind=plain
	case $input in *.gz) kind=gzip ;; *.zst) kind=zstd ;; esac
	for j in 1 2; do
		name=ingest-$kind-j$j
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
	line "peak-memory-$kind-j2" KiB "$pk" "$dk"
done
echo "${json%,}]" > "$R/ingest.json"
echo "results: bench/results/ingest.json"
