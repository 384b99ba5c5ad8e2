#!/bin/bash
# bench/nab/run.sh - probity's change detector on the Numenta Anomaly Benchmark.
#
# Builds the release library and bench/nab/nab_bench, then prints, for the
# three NAB profiles, probity's normalised score (threshold swept as NAB does,
# and at the detector's own default threshold) against NAB's windowed-Gaussian
# baseline run in the same process, the detector's speed against that peer
# (median of 5 runs after a warm-up, one core), the out-of-sample score
# (leave one category out: settings and threshold chosen on the others,
# beside the default configuration at its own threshold),
# and for reference the scores
# that NAB's published detectors reach on the same copy of the corpus.
#
# usage: bench/nab/run.sh [NAB_DIR]   (default: $NAB_DIR, else ../shared/data/nab)
# NAB_DIR is a NAB checkout (data/, labels/, results/); see docs/detection.md.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
NAB=${1:-${NAB_DIR:-$ROOT/../shared/data/nab}}
[ -d "$NAB" ] || [ $# -gt 0 ] || [ -n "${NAB_DIR:-}" ] || NAB=$ROOT/../../shared/data/nab # from a worktree
if [ ! -d "$NAB/data" ] || [ ! -f "$NAB/labels/combined_windows.json" ]; then
	echo "bench/nab: no NAB corpus at '$NAB' (give a NAB checkout: git clone" \
	     "https://github.com/numenta/NAB)" >&2
	exit 1
fi
make --no-print-directory VARIANT=release all >/dev/null
BIN=build/release/bench/nab_bench
mkdir -p "$(dirname "$BIN")" bench/results
cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Iinclude -Ilib -Ibench/nab -o "$BIN" \
	bench/nab/nab_bench.c bench/nab/nab.c build/release/libprobity.a \
	$(make --no-print-directory -s print-libs)

echo "== NAB scorer check: NAB's own windowed-Gaussian results on this copy"
"$BIN" --nab "$NAB" --results windowedGaussian
echo "== probity detector (default configuration)"
"$BIN" --nab "$NAB" --runs 5 --loco --json bench/results/nab.json
echo "== published detectors on this copy (sum of NAB's per-series score tables)"
nwin=$(grep -c '"20[0-9][0-9]-' "$NAB/labels/combined_windows.json" || true)
nwin=$((nwin / 2))
for d in ARTime numenta contextOSE earthgeckoSkyline knncad relativeEntropy windowedGaussian; do
	line="$d:"
	for p in standard reward_low_FP_rate reward_low_FN_rate; do
		f="$NAB/results/$d/${d}_${p}_scores.csv"
		[ -f "$f" ] || continue
		fn=1; [ $p = reward_low_FN_rate ] && fn=2
		line="$line $(awk -F, -v n="$nwin" -v fn=$fn \
			'NR>1{s+=$5} END{printf "%s %.1f", "'$p'", 100*(s+fn*n)/(n+fn*n)}' "$f")"
	done
	echo "  $line"
done
echo "results: bench/results/nab.json"
