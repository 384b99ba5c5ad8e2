#!/bin/bash
# run-suites.sh BUILD - run every suite against one build folder and print one
# "<suite> (<variant>): N passed, N failed" line per suite, then
# "total (<variant>): N passed, N failed".
set -u
BUILD=${1:?usage: run-suites.sh BUILD}
VARIANT=$(basename "$BUILD")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PB_BUILD=$BUILD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
LOG=$BUILD/test-logs
mkdir -p "$LOG"

total_p=0
total_f=0
add() { total_p=$((total_p + $1)); total_f=$((total_f + $2)); }

# unit tests: each binary prints "unit <name>: N passed, N failed"
up=0; uf=0
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out=$("$t" 2>"$LOG/$name.err"); rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^unit .*: [0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		echo "  $name crashed or printed no result (exit $rc); see $LOG/$name.err"
		tail -5 "$LOG/$name.err" | sed 's/^/    /'
		uf=$((uf + 1)); continue
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
	if [ "$f" != 0 ] || [ $rc != 0 ]; then
		echo "  $line"
		grep -v '^$' "$LOG/$name.err" | head -20 | sed 's/^/    /'
		[ "$f" = 0 ] && f=1
	fi
	up=$((up + p)); uf=$((uf + f))
done
echo "unit ($VARIANT): $up passed, $uf failed"
add $up $uf

# test-only tools (tests/tools/) the e2e scripts use: never built by `make all`
make --no-print-directory -s VARIANT="$VARIANT" test-tools >"$LOG/test-tools.out" 2>&1 ||
	{ echo "  make test-tools failed; see $LOG/test-tools.out"; tail -5 "$LOG/test-tools.out"; }

# end-to-end cases
line=$(tests/e2e/run.sh "$BUILD" | tee "$LOG/e2e.out" | tail -1)
grep -E '^  FAIL' "$LOG/e2e.out" | head -40
p=$(echo "$line" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/p')
f=$(echo "$line" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/p')
[ -z "$p" ] && { p=0; f=1; echo "  e2e driver failed: $line"; }
echo "e2e ($VARIANT): $p passed, $f failed"
add $p $f

# fuzz corpus replay
rp=0; rf=0
for r in "$BUILD"/fuzz/replay_*; do
	[ -x "$r" ] || continue
	name=${r##*/replay_}
	if "$r" "fuzz/corpus/$name" >"$LOG/replay_$name.out" 2>&1; then
		rp=$((rp + 1))
	else
		rf=$((rf + 1)); echo "  replay $name failed:"; tail -5 "$LOG/replay_$name.out" | sed 's/^/    /'
	fi
done
echo "fuzz-replay ($VARIANT): $rp passed, $rf failed"
add $rp $rf

# the layers of docs/ARCHITECTURE.md, and the layer checker's own test
line=$(tests/layers.sh | tee "$LOG/layers.out" | tail -1)
grep -E '^  ' "$LOG/layers.out" | head -40
p=$(echo "$line" | sed -nE 's/^layers: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
f=$(echo "$line" | sed -nE 's/^layers: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
[ -z "$p" ] && { p=0; f=1; echo "  layers suite failed: $line"; }
grep -E '^layers: [0-9]+ known' "$LOG/layers.out"
echo "layers ($VARIANT): $p passed, $f failed"
add $p $f

echo "total ($VARIANT): $total_p passed, $total_f failed"
[ $total_f = 0 ]
