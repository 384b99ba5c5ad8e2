#!/bin/bash
# bench/run.sh - runs every benchmark: each bench/<area>/run.sh it finds, in
# name order (or only the areas named on the command line), after one
# `make release`. Each script prints "name: probity X unit, peer Y unit,
# ratio R" lines and writes its JSON under bench/results/ (BENCH.md); this
# keeps each script's whole output in bench/results/<area>.log, the figure
# lines of all of them in bench/results/summary.txt, and the machine they ran
# on in bench/results/machine.txt. bench/results/ is not committed.
#
# A script that fails (or runs past BENCH_TIMEOUT seconds, default 3600) is
# reported and the others still run; the exit status is 1 when any failed.
# Scripts take their own defaults; to pass arguments to one, run it alone.
#
# usage: bench/run.sh [AREA...]        e.g. bench/run.sh decide serve
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RES=bench/results
mkdir -p "$RES"
LIMIT=${BENCH_TIMEOUT:-3600}

if [ $# -gt 0 ]; then
	scripts=()
	for a in "$@"; do
		if [ ! -x "bench/$a/run.sh" ]; then
			echo "bench/run.sh: no benchmark '$a' (bench/$a/run.sh)" >&2
			exit 2
		fi
		scripts+=("bench/$a/run.sh")
	done
else
	mapfile -t scripts < <(ls bench/*/run.sh 2>/dev/null | sort)
fi
if [ ${#scripts[@]} -eq 0 ]; then
	echo "bench/run.sh: no bench/*/run.sh found" >&2
	exit 1
fi

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores"
	echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RES/machine.txt"
cat "$RES/machine.txt"

if ! make --no-print-directory release >"$RES/build.log" 2>&1; then
	echo "bench/run.sh: make release failed (see $RES/build.log)" >&2
	exit 1
fi

: >"$RES/summary.txt"
failed=()
for s in "${scripts[@]}"; do
	area=$(basename "$(dirname "$s")")
	echo "== $area ($s)"
	start=$(date +%s)
	timeout --kill-after=30 "$LIMIT" "$s" >"$RES/$area.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	# the figure lines: "name: probity X ..., peer Y ..., ratio R"
	grep -E '^[A-Za-z0-9_.-]+: probity ' "$RES/$area.log" | sed "s/^/$area: /" |
		tee -a "$RES/summary.txt"
	if [ $rc -ne 0 ]; then
		[ $rc -eq 124 ] && why="timed out after ${LIMIT} s" || why="exit status $rc"
		echo "$area: FAILED ($why; see $RES/$area.log)" | tee -a "$RES/summary.txt"
		failed+=("$area")
	else
		echo "   ($secs s; output in $RES/$area.log)"
	fi
done
echo "bench: ${#scripts[@]} run, ${#failed[@]} failed${failed:+ (${failed[*]})}; figures in $RES/summary.txt"
[ ${#failed[@]} -eq 0 ]
