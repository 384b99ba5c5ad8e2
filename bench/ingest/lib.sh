# bench/ingest/lib.sh - what run.sh (CSV) and parquet.sh (Parquet) share,
# sourced after SIZE and RUNS are set: the release build, hyperfine, DuckDB
# (the npm package's libduckdb.so, our driver declaring its C API), the
# FOCUS-like CSV of SIZE bytes (tools/genfocus.c, fixed seed), and the helpers
# that print a figure (line), read hyperfine's medians (median) and check both
# sides computed the same totals (check_same).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
W=$ROOT/bench/work/ingest
R=$ROOT/bench/results
mkdir -p "$W" "$R"
# this run's scratch (workspaces, query outputs): its own folder, so that two
# runs at once do not clobber each other; the inputs in $W are shared
S=$(mktemp -d "$W/run.XXXXXX")
trap 'rm -rf "$S"' EXIT
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

# the input, once per size
F=$W/focus-$SIZE.csv
if [ ! -f "$F" ]; then
	echo "generating $F"
	"$G" bench --size "$SIZE" --seed 1 > "$F.tmp" 2>/dev/null && mv "$F.tmp" "$F"
fi
BYTES=$(stat -L -c %s "$F")
MB=$(python3 -c "print($BYTES / 1e6)")

json="["
line() { # name unit probity peer
	local ratio
	ratio=$(python3 -c "print(f'{$3 / $4:.2f}')")
	echo "$1: probity $3 $2, peer $4 $2, ratio $ratio"
	json+="{\"name\":\"$1\",\"unit\":\"$2\",\"probity\":$3,\"peer\":$4,\"ratio\":$ratio},"
}
median() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.3f:%.3f:%.3f' % (x['median'], min(x['times']), max(x['times'])) for x in r))" "$1"; }

# the same groups and billed totals on both sides (DuckDB sums binary floats:
# relative tolerance; quantities differ by design, probity normalises units)
check_same() { # ws duckdb-out
	sqlite3 -separator ',' "$1/probity.db" "SELECT account, category, region, strftime('%Y-%m', date), sum(CAST(quantity AS REAL)), sum(CAST(billed_cost AS REAL)) FROM usage GROUP BY 1,2,3,4 ORDER BY 1,2,3,4" > "$S/probity.out"
	python3 - "$S/probity.out" "$2" <<'PY'
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

# one input at 1 and 2 threads, alternating under hyperfine: kind names it
bench_input() { # kind input
	for j in 1 2; do
		local name=ingest-$1-j$j
		hyperfine -w 1 -r "$RUNS" --export-json "$W/$name.json" \
			--prepare "rm -rf $S/ws && $P init --unsigned --user bench $S/ws" --prepare true \
			-n probity "$P ingest -q -j$j $S/ws $2" \
			-n duckdb "$W/duckdb_query $j $2 $S/duckdb.out" >/dev/null
		check_same "$S/ws" "$S/duckdb.out"
		read -r pt dt <<<"$(median "$W/$name.json")"
		pm=${pt%%:*}; dm=${dt%%:*}
		line "$name" MB/s "$(python3 -c "print(f'{$MB / $pm:.0f}')")" "$(python3 -c "print(f'{$MB / $dm:.0f}')")"
		echo "  (medians $pm s and $dm s; probity min-max ${pt#*:}, duckdb min-max ${dt#*:})" | tr ':' '-'
	done
	rm -rf "$S/ws" && "$P" init --unsigned --user bench "$S/ws" >/dev/null
	pk=$( { /usr/bin/time -f '%M' "$P" ingest -q -j2 "$S/ws" "$2" >/dev/null; } 2>&1 | tail -1)
	dk=$( { /usr/bin/time -f '%M' "$W/duckdb_query" 2 "$2" "$S/duckdb.out" >/dev/null; } 2>&1 | tail -1)
	line "peak-memory-$1-j2" KiB "$pk" "$dk"
}
