#!/bin/bash
# bench/decide/run.sh - the compiled decision table with 100,000 plan rules:
# compile time and decisions per second on one core (tools/pb-bench-decide.c).
# Peer: the floor of the same loop for accounts under no plan (one hash probe).
# usage: bench/decide/run.sh [RULES] [REQUESTS]   (after `make release`)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=build/release/tools/pb-bench-decide
[ -x $B ] || make release >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p bench/results
out=$($B "$T/ws" data/catalog "${1:-100000}" "${2:-1000000}")
echo "$out"
ns=$(sed -nE 's/^decide: ([0-9.]+) ns.*/\1/p' <<<"$out")
floor=$(sed -nE 's/^floor.*: ([0-9.]+) ns.*/\1/p' <<<"$out")
comp=$(sed -nE 's/^compile: ([0-9.]+) s.*/\1/p' <<<"$out")
ratio=$(python3 -c "print(round($ns/$floor, 2))")
echo "decide: probity $ns ns/decision, peer (no-rule floor) $floor ns/decision, ratio $ratio"
echo "compile: probity $comp s, target 1 s, ratio $(python3 -c "print(round($comp/1.0, 3))")"
printf '{"decide_ns": %s, "floor_ns": %s, "compile_s": %s}\n' "$ns" "$floor" "$comp" >bench/results/decide.json
