#!/bin/bash
# bench/profile/changes.sh [SEED...] - how many sudden changes `probity profile`
# reports on the demo export, against what the generator put in it.
#
# For each SEED (default: 0 1 2), generates the demo export (tools/genfocus.c
# demo --months 24 --end 2026-10 --seed SEED: seed 0 is the demo's own data,
# other seeds draw other ordinary customers), ingests it, registers every
# billing account as a customer and counts the rows of
#   probity profile WS CUSTOMER --by capability,region --changes --csv
# by kind, and starts from zero apart. The generator puts in no change but
# services starting mid-way (starts from zero) and the flagged customer's
# storage growth from 2025-03-01 and its speech-to-text and translation
# starting on 2025-04-01 (docs/profile.md, "Sudden changes"). Prints one line
# per seed and the changes that are not starts from zero.
#
# PROBITY=path/to/probity to count with another build (default: build/release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
P=${PROBITY:-$ROOT/build/release/probity}
G=$ROOT/build/release/tools/genfocus
[ -x "$P" ] && [ -x "$G" ] || make --no-print-directory release >/dev/null
export PROBITY_DATA=$ROOT/data
W=$ROOT/bench/work/profile-changes
mkdir -p "$W"
[ $# -gt 0 ] || set -- 0 1 2
for seed in "$@"; do
	D=$W/seed-$seed
	rm -rf "$D"
	mkdir -p "$D"
	"$G" demo --months 24 --end 2026-10 --seed "$seed" > "$D/usage.csv"
	"$P" init --unsigned "$D/ws" >/dev/null
	"$P" ingest -q "$D/ws" "$D/usage.csv"
	accts=$(sqlite3 "$D/ws/probity.db" \
		"SELECT account_id FROM account WHERE kind = 'billing' ORDER BY account_id")
	for a in $accts; do
		"$P" customer add "$D/ws" "C$a" --account "$a" >/dev/null
		"$P" profile "$D/ws" "C$a" --by capability,region --changes --csv | sed 1d | sed "s/^/$a,/"
	done > "$D/changes.csv"
	python3 - "$seed" "$D/changes.csv" <<'PY'
import collections, csv, sys
rows = list(csv.reader(open(sys.argv[2])))
# account, then the columns of --changes --csv: series, unit, kind, ..., expected (10th)
starts = [r for r in rows if float(r[9]) == 0]
kinds = collections.Counter(r[3] for r in rows if float(r[9]) != 0)
print(f"seed {sys.argv[1]}: {len(rows)} changes: {len(starts)} starts from zero, "
      f"{kinds['shift']} shifts, {kinds['trend']} trends, {kinds['spike']} spikes")
for r in rows:
    if float(r[9]) != 0:
        print(f"  {r[0]} {r[1]}: {r[3]} {r[4]} from {r[5]} to {'ongoing' if r[8] == 'true' else r[7]}, "
              f"{float(r[9]):.6g} -> {float(r[10]):.6g} a day")
PY
done
