#!/bin/bash
# layers.sh - the layers suite: tools/check-layers on the repository (with the
# known violations of tools/layers-allow.txt), then the checker's own test on
# the fake tree tests/data/layers/ (good includes pass; a cross-area include,
# a front reaching an internal header, a missing header and a two-file loop
# fail, named file:line; an allowlist covers exactly them; a stale allowlist
# line and a loop in the table fail). Ends with "layers: N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CL=tools/check-layers
D=tests/data/layers
out=$(mktemp)
trap 'rm -f "$out"' EXIT
p=0; f=0

# the repository: its own counts
$CL >"$out" 2>&1
# known violations by count only (tools/check-layers lists them)
grep -v -e '^layers: [0-9]* passed' -e '^  known: ' "$out"
line=$(tail -1 "$out")
rp=$(echo "$line" | sed -nE 's/^layers: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
rf=$(echo "$line" | sed -nE 's/^layers: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
[ -z "$rp" ] && { echo "  check-layers failed: $line"; rp=0; rf=1; }
p=$((p + rp)); f=$((f + rf))

# the checker's own test
self() { # description expected-exit check-layers-args... ; output in $out
	local d=$1 want=$2 rc; shift 2
	$CL --root "$D" "$@" >"$out" 2>&1; rc=$?
	if [ "$rc" = "$want" ]; then return 0; fi
	echo "  FAIL layers self-test: $d: exit $rc, expected $want"; sed 's/^/    /' "$out"; return 1
}
t() { if "$@"; then p=$((p + 1)); else f=$((f + 1)); fi; }
t_bad() {
	self "violations fail" 1 --rules docs/ARCHITECTURE.md --allow /dev/null || return 1
	diff -u "$D/expected.out" "$out" >/dev/null ||
		{ echo "  FAIL layers self-test: output differs from $D/expected.out:"; diff -u "$D/expected.out" "$out" | sed 's/^/    /'; return 1; }
}
t_allowed() {
	self "an allowlist of exactly the violations passes" 0 --rules docs/ARCHITECTURE.md --allow "$D/allow.txt" &&
		grep -q '^layers: 5 known violations' "$out"
}
t_stale() {
	self "a stale allowlist line fails" 1 --rules docs/ARCHITECTURE.md --allow "$D/allow-stale.txt" &&
		grep -q "allow-stale.txt:7: 'lib/store/store.h includes case/case.h' no longer happens" "$out"
}
t_table_loop() {
	self "a loop in the table fails" 1 --rules "$D/loop.md" --allow "$D/allow.txt" &&
		grep -q '^  the layers table has a loop: log -> store -> log$' "$out"
}
t t_bad
t t_allowed
t t_stale
t t_table_loop
echo "layers: $p passed, $f failed"
[ $f = 0 ]
