#!/bin/bash
# bench/plans/run.sh - enforcement plans at scale (BENCH.md: ratios against a
# peer in the same run, median and min-max of 5 runs after a warm-up, the two
# sides alternated, both checked to give the same answer).
#
#  apply:   `probity plan apply` of a 3-rule plan on top of 100,000 rules in
#           force (checks approvals, loads and verifies version N, writes N+1,
#           re-reads it for the hash it logs, appends the audit entry) against
#           the peer `pb-entitle add` of the same 3 rules (the bare publish:
#           no plan, no approvals, no log). Same answer: each adds 3 rules.
#  dry run: `probity plan show --json` (the plan, its dry run over its
#           customer's 24 months of usage in the demo export) against the peer
#           sqlite3 shell running the dry run's aggregation query on the same
#           database. Same answer: the customer's spend in the month.
#  decide:  the compiled table with 100,000 plan rules (bench/decide/run.sh,
#           whose engine is lib/decide/decide.c), run here for the record.
#
# usage: bench/plans/run.sh [RULES]   (after `make release`; default 100000)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-100000}
B=build/release
[ -x $B/probity ] || make release >/dev/null
make --no-print-directory -s VARIANT=release test-tools >/dev/null # pb-entitle: test-only
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
P=$ROOT/$B/probity
E="$ROOT/$B/tests/tools/pb-entitle --log-as bench"
export PROBITY_DATA=$ROOT/data
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p bench/results
ns() { date +%s%N; }
stats() { python3 -c '
import sys, statistics
v = [float(x) for x in sys.argv[1:]]
print("%.4f %.4f %.4f" % (statistics.median(v), min(v), max(v)))' "$@"; }

# ---- apply on top of N rules ------------------------------------------------
W=$T/ws
$P init --unsigned --no-user "$W" >/dev/null
python3 - "$N" >"$T/rules.json" <<'PY'
import json, sys
n = int(sys.argv[1]); rules = []; i = 0
while len(rules) < n:
    a = ["ACC-%d" % (2 * i)] + (["ACC-%d" % (2 * i + 1)] if i % 2 else [])
    for eff, sel in (("disable", {"category": ["Storage"], "country": ["NL"]}),
                     ("disable", {"capability": ["speech-to-text", "translation"]}),
                     ("keep", {"category": ["Security"]})):
        if len(rules) < n:
            r = {"plan": "B%d" % i, "case": "C%d" % i, "effect": eff, "account": a}
            r.update(sel); rules.append(r)
    i += 1
json.dump({"reason": "bench: %d rules in force" % n, "rules": rules}, sys.stdout)
PY
$E "$W" publish "$T/rules.json" >/dev/null
{
	$P user add "$W" root --role admin
	$P user add "$W" alice --role analyst --as root
	$P user add "$W" bob --role approver --as root
	$P user add "$W" dana --role approver --as root
	$P customer add "$W" "Bench Customer" --account BENCH-1 --as alice
	$P case open "$W" --as alice --customer "Bench Customer" --title bench --trigger bench
	for i in 1 2 3 4 5 6; do
		$P plan new "$W" 1 --as alice --disable 'category=Storage country=NL' \
			--disable 'capability=speech-to-text,translation' --keep 'category=Security'
		$P plan approve "$W" $i --as bob
		$P plan approve "$W" $i --as dana
	done
} >/dev/null
for i in 1 2 3 4 5 6; do
	python3 - "$i" >"$T/peer$i.json" <<'PY'
import json, sys
i = sys.argv[1]; a = ["PEER-%s" % i]
print(json.dumps({"reason": "peer %s" % i, "rules": [
    {"plan": "P%s" % i, "case": "1", "effect": "disable", "account": a, "category": ["Storage"], "country": ["NL"]},
    {"plan": "P%s" % i, "case": "1", "effect": "disable", "account": a, "capability": ["speech-to-text", "translation"]},
    {"plan": "P%s" % i, "case": "1", "effect": "keep", "account": a, "category": ["Security"]}]}))
PY
done
nrules() { sqlite3 "$W/probity.db" "SELECT nrules FROM entitlement_version ORDER BY version DESC LIMIT 1"; }
pa=(); pe=(); ma=0; me=0
for i in 1 2 3 4 5 6; do # run 1 is the warm-up
	before=$(nrules)
	t0=$(ns); /usr/bin/time -f '%M' -o "$T/mem" $E "$W" add "$T/peer$i.json" >/dev/null; t1=$(ns)
	m=$(cat "$T/mem"); [ "$m" -gt "$me" ] && me=$m
	[ "$(nrules)" = $((before + 3)) ] || { echo "peer add $i: rule count wrong" >&2; exit 1; }
	[ $i -gt 1 ] && pe+=($(python3 -c "print(($t1-$t0)/1e9)"))
	before=$(nrules)
	t0=$(ns); /usr/bin/time -f '%M' -o "$T/mem" $P plan apply "$W" $i --as alice >/dev/null; t1=$(ns)
	m=$(cat "$T/mem"); [ "$m" -gt "$ma" ] && ma=$m
	[ "$(nrules)" = $((before + 3)) ] || { echo "plan apply $i: rule count wrong" >&2; exit 1; }
	[ $i -gt 1 ] && pa+=($(python3 -c "print(($t1-$t0)/1e9)"))
done
read -r am amin amax <<<"$(stats "${pa[@]}")"
read -r em emin emax <<<"$(stats "${pe[@]}")"
$P log check "$W" >/dev/null
echo "apply ($N rules in force): probity $am s (min $amin, max $amax; $ma KiB), peer pb-entitle add $em s (min $emin, max $emax; $me KiB), ratio $(python3 -c "print(round($am/$em, 2))")"

# ---- dry run on the demo export ----------------------------------------------
D=$T/demo
$B/tools/genfocus demo --months 24 --end 2026-10 >"$T/usage.csv"
$P init --unsigned --no-user "$D" >/dev/null
{
	$P user add "$D" root --role admin
	$P user add "$D" alice --role analyst --as root
	$P ingest "$D" "$T/usage.csv" --as alice
	$P customer add "$D" "Varnia Interior Ministry" --account EA-880412 --as alice
	$P case open "$D" --as alice --customer "Varnia Interior Ministry" --title t --trigger t
	$P plan new "$D" 1 --as alice --disable 'category=Storage country=NL' \
		--disable 'capability=speech-to-text,translation' --keep 'category=Security'
} >/dev/null
PEER_SQL="WITH u AS (SELECT u.* FROM usage_day u JOIN dim a ON a.id = u.account WHERE a.value = 'EA-880412')
SELECT a.value, s.value, sv.value, m.value, r.value, un.value, cu.value,
 sum(CASE WHEN u.day >= 20727 AND u.day < 20758 THEN CAST(u.quantity AS REAL) END),
 sum(CASE WHEN u.day >= 20727 AND u.day < 20758 THEN CAST(u.billed_cost AS REAL) END), max(u.day), min(u.day)
FROM u JOIN dim a ON a.id = u.account LEFT JOIN dim s ON s.id = u.subaccount JOIN dim sv ON sv.id = u.service
LEFT JOIN dim m ON m.id = u.sku_meter LEFT JOIN dim r ON r.id = u.region LEFT JOIN dim un ON un.id = u.unit
LEFT JOIN dim cu ON cu.id = u.currency GROUP BY u.account, u.subaccount, u.service, u.sku_meter, u.region, u.unit, u.currency"
pd=(); ps=(); md=0; msq=0
for i in 1 2 3 4 5 6; do
	t0=$(ns); /usr/bin/time -f '%M' -o "$T/mem" $P plan show "$D" 1 --json >"$T/show.json"; t1=$(ns)
	m=$(cat "$T/mem"); [ "$m" -gt "$md" ] && md=$m
	[ $i -gt 1 ] && pd+=($(python3 -c "print(($t1-$t0)/1e9)"))
	t0=$(ns); /usr/bin/time -f '%M' -o "$T/mem" sqlite3 -batch "$D/probity.db" "$PEER_SQL" >"$T/peer.txt"; t1=$(ns)
	m=$(cat "$T/mem"); [ "$m" -gt "$msq" ] && msq=$m
	[ $i -gt 1 ] && ps+=($(python3 -c "print(($t1-$t0)/1e9)"))
	python3 - "$T/show.json" "$T/peer.txt" <<'PY' || { echo "dry run and peer disagree" >&2; exit 1; }
import json, sys
d = json.load(open(sys.argv[1]))["dry_run"]
assert d["month"] == "2026-10", d["month"]
ours = float(d["spend"][0]["total"])
peer = sum(float(l.split("|")[8] or 0) for l in open(sys.argv[2]) if l.strip())
assert abs(ours - peer) <= 1e-9 * max(abs(ours), 1), (ours, peer)
PY
done
read -r dm dmin dmax <<<"$(stats "${pd[@]}")"
read -r sm smin smax <<<"$(stats "${ps[@]}")"
rows=$(wc -l <"$T/peer.txt")
echo "dry run (24 months, $rows usage keys): probity $dm s (min $dmin, max $dmax; $md KiB), peer sqlite3 aggregation $sm s (min $smin, max $smax; $msq KiB), ratio $(python3 -c "print(round($dm/$sm, 2))")"

# ---- the decision table ----------------------------------------------------------
dec=$(bench/decide/run.sh "$N" 1000000 | grep -E '^(decide|compile):' | tail -2)
echo "$dec"
printf '{"apply_s": %s, "apply_peer_s": %s, "apply_kib": %s, "dryrun_s": %s, "dryrun_peer_s": %s, "rules": %s}\n' \
	"$am" "$em" "$ma" "$dm" "$sm" "$N" >bench/results/plans.json
