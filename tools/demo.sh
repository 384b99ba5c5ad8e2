#!/bin/bash
# demo.sh BUILD - the demo: a provider's review of one customer, end to end,
# on generated data (tools/genfocus.c). Each section is one step of the job;
# later steps are added as the features land. Run by `make demo`.
set -euo pipefail
BUILD=${1:-build/release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
P="$ROOT/$BUILD/probity"
export PROBITY_DATA="$ROOT/data"
DEMO=$ROOT/build/demo
WS=$DEMO/ws
rm -rf "$DEMO"
mkdir -p "$DEMO"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$ROOT/||g"; "$@"; }

say "1. The provider's usage export: 24 months, 33 customers (FOCUS 1.2, gzip)"
"$ROOT/$BUILD/tools/genfocus" demo --months 24 --end 2026-10 | gzip -6 > "$DEMO/usage-2024-11_2026-10.csv.gz"
ls -l "$DEMO/usage-2024-11_2026-10.csv.gz" | awk '{printf "%s bytes\n", $5}'

say "2. A workspace, and the export loaded into it"
run "$P" init "$WS"
run "$P" ingest "$WS" "$DEMO/usage-2024-11_2026-10.csv.gz"
run "$P" sources "$WS"

say "3. The customers under review"
run "$P" customer add "$WS" "Varnia Interior Ministry" --account EA-880412
run "$P" customer add "$WS" "Lumen Media Group" --account EA-771203
run "$P" customer add "$WS" "St. Anne's University Hospital" --account EA-662918
run "$P" customer list "$WS"

say "4. The case file: a case on the flagged customer, evidence, a decision, an exported log verified offline"
"$ROOT/tools/demo-caselog.sh" "$BUILD" "$WS"
