#!/bin/bash
# bench/decide/run.sh - the compiled decision table with 100,000 active plan
# rules (tools/pb-bench-decide.c): compile time (target < 1 s) and decisions
# on one core (target >= 20 M/s, i.e. <= 50 ns each).
#
# Five runs of the tool (each the best of 5 rounds of 1,000,000 requests, by
# thread CPU time); figures are medians with min-max. The peer is the target
# itself; the floor (requests for accounts under no rule: one probe) and the
# loop's own work are printed beside. Every run must deny the same requests.
# When valgrind is there, instruction counts per request come from callgrind
# (100,000 requests, one round), since wall time on a shared machine is noisy.
# usage: bench/decide/run.sh [RULES] [REQUESTS] [RUNS]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
RULES=${1:-100000}; REQ=${2:-1000000}; RUNS=${3:-5}
B=build/release/tools/pb-bench-decide
make --no-print-directory release >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p bench/results
field() { sed -nE "s/^$1: ([0-9.]+).*/\1/p"; }
stats() { sort -n | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }
: >"$T/ns"; : >"$T/floor"; : >"$T/prep"; : >"$T/comp"; : >"$T/deny"
for i in $(seq "$RUNS"); do
	rm -rf "$T/ws"
	out=$($B "$T/ws" data/catalog "$RULES" "$REQ")
	[ "$i" = 1 ] && echo "$out" | sed -n '1p'
	field decide <<<"$out" >>"$T/ns"
	sed -nE 's/^floor[^:]*: ([0-9.]+).*/\1/p' <<<"$out" >>"$T/floor"
	sed -nE 's/^loop overhead[^:]*: ([0-9.]+).*/\1/p' <<<"$out" >>"$T/prep"
	field compile <<<"$out" >>"$T/comp"
	field denies <<<"$out" >>"$T/deny"
done
if [ "$(sort -u "$T/deny" | wc -l)" != 1 ]; then
	echo "decide: runs disagree on the denies: $(tr '\n' ' ' <"$T/deny")" >&2
	exit 1
fi
read -r ns nsmin nsmax < <(stats <"$T/ns")
read -r fl flmin flmax < <(stats <"$T/floor")
read -r pr prmin prmax < <(stats <"$T/prep")
read -r co comin comax < <(stats <"$T/comp")
r() { python3 -c "print(round($1, 3))"; }
echo "decide: probity $ns ns/decision (median of $RUNS, $nsmin-$nsmax; $(r "1000/$ns") M/s), peer (target) 50 ns/decision, ratio $(r "$ns/50")"
echo "decide-net: probity $(r "$ns-$pr") ns/decision without the loop's own $pr ns, peer (target) 50 ns/decision, ratio $(r "($ns-$pr)/50")"
echo "floor: probity $fl ns/decision ($flmin-$flmax) for accounts under no rule, peer (target) 50 ns/decision, ratio $(r "$fl/50")"
echo "compile: probity $co s ($comin-$comax) for $RULES rules, peer (target) 1 s, ratio $(r "$co/1.0")"
ir=null; irf=null; irp=null
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
	N=30000
	rm -rf "$T/ws"
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" $B "$T/ws" data/catalog "$RULES" $N 1 >/dev/null 2>&1
	inc() { callgrind_annotate --inclusive=yes "$T/cg.out" 2>/dev/null |
		awk -v f="$1" -v n=$N '$0 ~ "pb-bench-decide.c:" f "[ .]" {gsub(",", "", $1); print $1 / (2 * n); exit}'; }
	ir=$(inc loop_decide); irf=$(inc loop_floor); irp=$(inc loop_prep)
	echo "instructions: probity $(r "$ir-$irp") per decision (80% under rules), $(r "$irf-$irp") for accounts under no rule, the loop's own $(r "$irp") (callgrind, $N requests)"
fi
printf '{"rules": %s, "decide_ns": %s, "decide_ns_min": %s, "decide_ns_max": %s, "loop_ns": %s, "floor_ns": %s, "compile_s": %s, "target_ns": 50, "instructions_loop": %s, "instructions_floor_loop": %s, "instructions_prep_loop": %s}\n' \
	"$RULES" "$ns" "$nsmin" "$nsmax" "$pr" "$fl" "$co" "$ir" "$irf" "$irp" >bench/results/decide.json
