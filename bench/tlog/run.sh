#!/bin/bash
# bench/tlog/run.sh [N] - tamper-evident log benchmarks (see BENCH.md).
#
#   appends/s, one entry per transaction and 1000 per transaction, durable
#     (WAL, synchronous=FULL), against the same entries inserted into a plain
#     SQLite table with the same settings (the cost of the Merkle tree);
#   offline verification of an exported log of N entries (default 1,000,000)
#     with `probity log verify`, against Go's sumdb/tlog checking the same
#     export (tests/interop/tlogcheck verify-dir -noproofs: every entry
#     against the tiles, the tree hash through TileHashReader), median and
#     min-max of 5 runs after a warm-up (hyperfine), peak memory;
#   proof sizes.
# Prints "name: probity X unit, peer Y unit, ratio R" lines and writes
# bench/results/tlog.json. Needs a release build (make release), hyperfine
# and Go (installed on demand).
set -eu
N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
make --no-print-directory release >/dev/null
B=$(mktemp -d "${TMPDIR:-/tmp}/pbbench.XXXXXX")
trap 'rm -rf "$B"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/tlog/bench_tlog.c build/release/libprobity.a \
	$(make --no-print-directory -s -C "$ROOT" print-libs) -o "$B/bench_tlog"
(cd tests/interop/tlogcheck && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$B/gocache" \
	go build -o "$B/tlogcheck" .)
mkdir -p bench/results
out=bench/results/tlog.json
echo "{" > "$out"
. bench/ratio.sh # line NAME PROBITY PEER UNIT
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# appends: 5 runs each, median
for mode in single batched; do
	if [ $mode = single ]; then n=2000; batch=1; else n=200000; batch=1000; fi
	p=""; q=""
	for i in 1 2 3 4 5; do
		rm -rf "$B/ws" "$B/peer.db"*
		p="$p $("$B/bench_tlog" append "$B/ws" $n $batch)"
		q="$q $("$B/bench_tlog" sqlite "$B/peer.db" $n $batch)"
	done
	pm=$(echo $p | tr ' ' '\n' | median)
	qm=$(echo $q | tr ' ' '\n' | median)
	line "durable appends/s ($mode, $batch per transaction; peer: plain SQLite insert)" "$pm" "$qm" "appends/s"
done

# verification of an exported log of N entries
"$B/bench_tlog" gen "$B/log" "$N"
VKEY=$(cat "$B/log/vkey")
P=build/release/probity
# both must accept the log, every time (hyperfine fails on a non-zero exit)
"$P" log verify "$B/log" --vkey "$VKEY" >/dev/null
"$B/tlogcheck" verify-dir "$B/log" "$VKEY" -noproofs >/dev/null
hyperfine -N -w 1 -r 5 --export-json "$B/h.json" \
	"$P log verify $B/log --vkey $VKEY --generic" \
	"$B/tlogcheck verify-dir $B/log $VKEY -noproofs" \
	"$P log verify $B/log --vkey $VKEY" >"$B/h.txt"
read -r pv gv fv pmin pmax < <(python3 - "$B/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(r[0]["median"], r[1]["median"], r[2]["median"], r[0]["min"], r[0]["max"])
PY
)
line "verify $N entries (tiles, hashes, signature; peer: Go sumdb/tlog)" "$pv" "$gv" "s"
line "verify $N entries with audit-entry checks (peer: Go, hashes only)" "$fv" "$gv" "s"
echo "  probity verify min-max: $pmin - $pmax s"
mem=$( { /usr/bin/time -f '%M' "$P" log verify "$B/log" --vkey "$VKEY" --generic >/dev/null; } 2>&1 | tail -1)
gmem=$( { /usr/bin/time -f '%M' "$B/tlogcheck" verify-dir "$B/log" "$VKEY" -noproofs >/dev/null; } 2>&1 | tail -1)
line "verify $N entries, peak memory" "$mem" "$gmem" "KiB"
du -sh "$B/log" | awk -v n="$N" '{ print "export size for " n " entries: " $1 }'
"$B/bench_tlog" proofsizes
echo '  "done": true' >> "$out"
echo "}" >> "$out"
