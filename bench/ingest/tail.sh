#!/bin/bash
# bench/ingest/tail.sh PROBITY FILE [J] [RUNS] - the CPU of an ingest's serial
# tail: what the calling thread does after the last parsing thread's last
# sample (merging the workers' tables, mapping, the transaction that stores
# the aggregates and monthly totals, the commit). perf samples at 1999 Hz;
# prints, per run, the tail's CPU seconds and the whole ingest's. Needs perf
# (Debian linux-perf). Compare two builds by running it on each in turn:
#   bench/ingest/tail.sh /path/to/old/probity bench/work/ingest/focus-1000000000.csv 2 3
#   bench/ingest/tail.sh build/release/probity bench/work/ingest/focus-1000000000.csv 2 3
set -euo pipefail
B=$1 F=$2 J=${3:-2} RUNS=${4:-3}
command -v perf >/dev/null || { echo "bench/ingest/tail.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
for _ in $(seq "$RUNS"); do
	rm -rf "$S/ws"
	"$B" init --unsigned --user bench "$S/ws" >/dev/null 2>&1
	perf record -q -F 1999 -o "$S/perf.data" "$B" ingest -q -j"$J" "$S/ws" "$F" >/dev/null 2>&1
	perf script -i "$S/perf.data" -F tid,time 2>/dev/null | python3 -c '
import sys
rows = [(int(l.split()[0]), float(l.split()[1].rstrip(":"))) for l in sys.stdin if l.strip()]
main = rows[0][0]
last = max((t for tid, t in rows if tid != main), default=0)
tail = sum(1 for tid, t in rows if tid == main and t > last)
print(f"tail {tail / 1999:.3f} s of CPU, whole ingest {len(rows) / 1999:.3f} s of CPU")'
done
