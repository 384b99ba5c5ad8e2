#!/bin/bash
# run-all.sh BUILD... - run the suites against each build and end with the
# plain line "N passed, N failed" over all of them.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
P=0; F=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for b in "$@"; do
	tests/run-suites.sh "$b" | tee "$tmp"
	last=$(tail -1 "$tmp")
	p=$(echo "$last" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/p')
	f=$(echo "$last" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/p')
	[ -z "$p" ] && { p=0; f=1; }
	P=$((P + p)); F=$((F + f))
done
echo "$P passed, $F failed"
[ $F = 0 ]
