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
# floors (read + memchr, SHA-256, the tree hash per core with OpenSSL's one
# stream and with probity's leaves in pairs, decompression), and
# the time to prove one finding's cited lines and to check that proof (on the
# policy fixture, tests/data/policy/usage.csv). Prints one line per figure,
#   name: probity X MB/s, peer Y MB/s, ratio R
# and writes the same as JSON to bench/results/ingest.json.
set -euo pipefail
SIZE=${1:-1000000000}
RUNS=${RUNS:-5}
. "$(dirname "$0")/lib.sh"
cc -O2 -o "$W/floor" bench/ingest/floor.c $(pkg-config --cflags --libs libisal libzstd libcrypto)
# compressed copies under a temporary name: an interrupted run leaves none
[ -f "$F.gz" ] || { gzip -6 -c "$F" >"$S/in.gz" && mv "$S/in.gz" "$F.gz"; }
[ -f "$F.zst" ] || { zstd -q -3 -T2 -c "$F" >"$S/in.zst" && mv "$S/in.zst" "$F.zst"; }

# floors
for kind in read sha256 tree; do
	s=$( { /usr/bin/time -f '%e' "$W/floor" $kind "$F" >/dev/null; } 2>&1 | tail -1)
	per=""; [ "$kind" = tree ] && per=" per core"
	echo "floor-$kind: $(python3 -c "print(f'{$MB / max($s, 1e-9):.0f}')") MB/s$per"
done
# the tree hash as probity computes it: two leaves at a time (leafhash.c)
s=$( { /usr/bin/time -f '%e' "$P" tree "$F" >/dev/null; } 2>&1 | tail -1)
echo "floor-tree-pairs: $(python3 -c "print(f'{$MB / max($s, 1e-9):.0f}')") MB/s per core (probity tree: read + leaves in pairs)"

# line proofs: prove one finding's citations, then check the bundle alone
PW=$S/proof-ws
rm -rf "$PW" "$S/proof"
"$P" init --unsigned --user bench "$PW" >/dev/null
"$P" ingest -q "$PW" tests/data/policy/usage.csv
"$P" customer add "$PW" Alpha --account A1 >/dev/null
"$P" scan "$PW" tests/data/policy/diff/02-sum-storage-tb.yaml --at 2026-03-01 >/dev/null
sp=$( { /usr/bin/time -f '%e' "$P" evidence prove "$PW" F1 --output "$S/proof" >/dev/null; } 2>&1 | tail -1)
root=$(sqlite3 "$PW/probity.db" 'SELECT data_tree FROM source')
sc=$( { /usr/bin/time -f '%e' "$P" evidence check "$S/proof" --source-root "$root" >/dev/null; } 2>&1 | tail -1)
echo "proof: prove F1 ${sp} s, check ${sc} s ($(ls "$S/proof" | wc -l) files)"
for ext in gz zst; do
	s=$( { /usr/bin/time -f '%e' "$W/floor" inflate "$F.$ext" >/dev/null; } 2>&1 | tail -1)
	echo "floor-decompress-$ext: $(python3 -c "print(f'{$MB / max($s, 1e-9):.0f}')") MB/s of CSV"
done

for input in "$F" "$F.gz" "$F.zst"; do
	kind=plain
	case $input in *.gz) kind=gzip ;; *.zst) kind=zstd ;; esac
	bench_input "$kind" "$input"
done
echo "${json%,}]" > "$R/ingest.json"
echo "results: bench/results/ingest.json"
