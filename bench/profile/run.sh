#!/bin/bash
# bench/profile/run.sh [SIZE] - one customer's profile from a workspace holding
# the benchmark export, against the plain SQL a reviewer would otherwise run.
#
# Builds the FOCUS-like export of SIZE bytes (default 1 GB, BENCH.md) with
# tools/genfocus.c (fixed seed), ingests it into a workspace once, defines one
# customer (billing account BA-01007: six sub-accounts), then times, alternating,
# with hyperfine -w 1 -r RUNS (default 10):
#   probity profile WS CUSTOMER --by category,service,region: exact sums, growth,
#     shares of spend, everyone's usage of the same kind (a scan of every
#     aggregate of the period), change detection per series; and
#   sqlite3 on the same database: the customer's usage grouped by the same
#     dimensions with sum() over the text decimals (binary floats), nothing else.
# Checks that both found the same lines with the same costs (relative 1e-9),
# measures peak memory, and prints one line per figure,
#   name: probity X ms, peer Y ms, ratio R
# and writes the same as JSON to bench/results/profile.json. The target is a
# profile in under 100 ms.
set -euo pipefail
SIZE=${1:-1000000000}
RUNS=${RUNS:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
W=$ROOT/bench/work/profile
R=$ROOT/bench/results
mkdir -p "$W" "$R"
P=$ROOT/build/release/probity
G=$ROOT/build/release/tools/genfocus
[ -x "$P" ] || make --no-print-directory release >/dev/null
export PROBITY_DATA=$ROOT/data

need() { command -v "$1" >/dev/null || { echo "installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need hyperfine hyperfine
need sqlite3 sqlite3

# the export (shared with bench/ingest when it made one) and the workspace, once
F=$ROOT/bench/work/ingest/focus-$SIZE.csv
[ -f "$F" ] || F=$W/focus-$SIZE.csv
if [ ! -f "$F" ]; then
	echo "generating $F"
	"$G" bench --size "$SIZE" --seed 1 > "$F.tmp" 2>/dev/null && mv "$F.tmp" "$F"
fi
WS=$W/ws-$SIZE
CUST="Customer 7"
# rebuilt when this probity writes another schema (a profile opens read-only)
if [ "$(cat "$WS/done" 2>/dev/null)" != "$("$P" version)" ]; then
	rm -rf "$WS"
	"$P" init --unsigned "$WS" >/dev/null
	"$P" ingest -q "$WS" "$F"
	"$P" customer add "$WS" "$CUST" --account BA-01007 >/dev/null
	"$P" version > "$WS/done"
fi
ROWS=$(sqlite3 "$WS/probity.db" "SELECT count(*) FROM usage_day")

SQL="SELECT c.value, s.value, r.value, un.value, sum(u.quantity), sum(u.billed_cost)
 FROM usage_day u JOIN dim a ON a.id = u.account
 LEFT JOIN dim c ON c.id = u.category JOIN dim s ON s.id = u.service
 LEFT JOIN dim r ON r.id = u.region LEFT JOIN dim un ON un.id = u.unit
 WHERE a.value = 'BA-01007' GROUP BY 1, 2, 3, 4 ORDER BY 6 DESC;"
echo "$SQL" > "$W/peer.sql"

# the same answer on both sides: lines (category, service, region, unit) and costs
"$P" profile "$WS" "$CUST" --by category,service,region --csv > "$W/probity.csv"
sqlite3 -csv "$WS/probity.db" < "$W/peer.sql" > "$W/peer.csv"
python3 - "$W/probity.csv" "$W/peer.csv" <<'EOF'
import csv, sys
ours = {}
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        ours[(r['category'], r['service'], r['region'], r['unit'])] = (float(r['quantity']), float(r['cost']))
theirs = {}
with open(sys.argv[2]) as f:
    for r in csv.reader(f):
        theirs[tuple(r[:4])] = (float(r[4]), float(r[5]))
assert ours.keys() == theirs.keys(), (sorted(ours)[:3], sorted(theirs)[:3])
for k in ours:
    for a, b in zip(ours[k], theirs[k]):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), (k, a, b)
print(f"same answer: {len(ours)} lines, costs agree")
EOF

hyperfine -N -w 1 -r "$RUNS" --export-json "$W/times.json" \
	-n probity "$P profile $WS '$CUST' --by category,service,region" \
	-n sqlite3 "sqlite3 $WS/probity.db '.read $W/peer.sql'" >"$W/hyperfine.out" 2>&1
read -r pt st <<<"$(python3 -c "
import json; r = json.load(open('$W/times.json'))['results']
print(' '.join('%.3f:%.3f:%.3f' % (x['median'] * 1e3, min(x['times']) * 1e3, max(x['times']) * 1e3) for x in r))")"
pm=${pt%%:*}; sm=${st%%:*}
# CPU time (user + system, mean) moves less than wall time on a shared machine
read -r pc sc <<<"$(python3 -c "
import json; r = json.load(open('$W/times.json'))['results']
print(' '.join('%.3f' % ((x['user'] + x['system']) * 1e3) for x in r))")"
mem_p=$( { /usr/bin/time -f '%M' "$P" profile "$WS" "$CUST" --by category,service,region >/dev/null; } 2>&1 | tail -1)
mem_s=$( { /usr/bin/time -f '%M' sqlite3 "$WS/probity.db" ".read $W/peer.sql" >/dev/null; } 2>&1 | tail -1)

ratio=$(python3 -c "print(f'{$pm / $sm:.2f}')")
echo "workspace: $(du -sh "$WS" | cut -f1) on disk, $ROWS daily aggregates from a $SIZE-byte export"
echo "profile (median ms, min:max): probity $pt, sqlite3 $st"
echo "profile-1-customer: probity $pm ms, peer $sm ms, ratio $ratio"
echo "profile-1-customer-cpu: probity $pc ms, peer $sc ms, ratio $(python3 -c "print(f'{$pc / $sc:.2f}')")"
echo "peak memory: probity $mem_p KiB, peer $mem_s KiB"
target=$(python3 -c "print('met' if $pm < 100 else 'MISSED')")
echo "target (under 100 ms): $target"
cat > "$R/profile.json" <<EOF
[{"name":"profile-1-customer","unit":"ms","probity":$pm,"peer":$sm,"ratio":$ratio,
  "probity_min_max":"${pt#*:}","peer_min_max":"${st#*:}","cpu_ms":{"probity":$pc,"peer":$sc},"peak_kib":{"probity":$mem_p,"peer":$mem_s},
  "aggregates":$ROWS,"size":$SIZE,"target_ms":100,"target":"$target"}]
EOF
echo "results: bench/results/profile.json"
