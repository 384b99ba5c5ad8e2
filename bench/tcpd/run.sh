#!/bin/bash
# bench/tcpd/run.sh - probity's change detector on the Turing Change Point
# Dataset (TCPD), scored with TCPDBench's F1 (margin 5) and covering metrics.
#
# Builds the release library and bench/tcpd/tcpd_bench, then prints the
# scorer checks (the "zero" method and a re-run of PELT as TCPDBench runs it
# by default must reproduce their published scores), probity's F1 and cover
# per univariate series beside the published default scores of binseg, PELT,
# BOCPD and zero, the means, and the detector's speed on daily series of
# 1,000 points. Writes bench/results/tcpd.json.
#
# usage: bench/tcpd/run.sh [TCPD_DIR] [--set NAME=VALUE]...
#        (default: $TCPD_DIR, else ../shared/data/tcpd next to the repository,
#         or ../../shared/data/tcpd from a worktree; docs/detection.md)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TCPD=${TCPD_DIR:-$ROOT/../shared/data/tcpd}
[ -d "$TCPD" ] || [ -n "${TCPD_DIR:-}" ] || TCPD=$ROOT/../../shared/data/tcpd # from a worktree
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	TCPD=$1
	shift
fi
if [ ! -f "$TCPD/annotations.json" ] || [ ! -d "$TCPD/datasets" ]; then
	echo "bench/tcpd: no TCPD copy at '$TCPD' (annotations.json, datasets/, scores/;" \
	     "see https://github.com/alan-turing-institute/TCPD)" >&2
	exit 1
fi
make --no-print-directory VARIANT=release all >/dev/null
BIN=build/release/bench/tcpd_bench
mkdir -p "$(dirname "$BIN")" bench/results
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Iinclude -Ilib -Ibench/nab -Ibench/tcpd -o "$BIN" \
	bench/tcpd/tcpd_bench.c bench/tcpd/tcpd.c bench/tcpd/pelt.c build/release/libprobity.a \
	$(make --no-print-directory -s print-libs)
"$BIN" --tcpd "$TCPD" --json bench/results/tcpd.json "$@"
echo "results: bench/results/tcpd.json"
