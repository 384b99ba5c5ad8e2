#!/bin/bash
# bench/ingest/cpu.sh FILE [RUNS] - the CPU time (user + sys) of a one-thread
# probity ingest of FILE and of DuckDB's GROUP BY over it, in turn, RUNS
# times (default 7); with BASE=path/to/another/probity, that build's too;
# with J=2, both at two threads.
# Prints the medians of wall and CPU time and peak memory (maximum RSS),
# and the CPU ratios. On a shared machine
# the wall times follow the load, the CPU times much less: this is the
# figure to compare two builds by there. Run parquet.sh (or run.sh) once
# first: it builds the release, fetches DuckDB and makes the inputs, e.g.
#   BASE=/tmp/old/build/release/probity bench/ingest/cpu.sh \
#     bench/work/ingest/focus-100000000.csv.snappy.parquet
set -euo pipefail
F=$(realpath "$1")
RUNS=${2:-7}
J=${J:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$ROOT/bench/work/ingest
P=$ROOT/build/release/probity
[ -x "$P" ] && [ -x "$W/duckdb_query" ] || { echo "run bench/ingest/parquet.sh first"; exit 2; }
# this run's scratch: its own folder (two runs at once do not clobber each other)
S=$(mktemp -d "$W/cpu.XXXXXX")
trap 'rm -rf "$S"' EXIT
names="probity${BASE:+ base} duckdb"
out=$S/cpu.out
: >"$out"
for _ in $(seq "$RUNS"); do
	for v in $names; do
		case $v in
		duckdb) cmd=("$W/duckdb_query" "$J" "$F" "$S/duckdb.out") ;;
		*)
			bin=$P; [ "$v" = base ] && bin=$BASE
			rm -rf "$S/ws" && "$bin" init --unsigned --user bench "$S/ws" >/dev/null 2>&1
			cmd=("$bin" ingest -q -j"$J" "$S/ws" "$F") ;;
		esac
		/usr/bin/time -f "$v %e %U %S %M" "${cmd[@]}" 2>&1 >/dev/null | tail -1 >>"$out"
	done
done
python3 - "$out" <<'PY'
import statistics as s, sys
d = {}
for l in open(sys.argv[1]):
    v, e, u, sy, k = l.split()
    d.setdefault(v, []).append((float(e), float(u) + float(sy), int(k)))
m = {v: (s.median(x[0] for x in r), s.median(x[1] for x in r), s.median(x[2] for x in r))
     for v, r in d.items()}
for v, (e, c, k) in m.items():
    print(f"{v}: wall {e:.3f} s, cpu {c:.3f} s, peak {k / 1024:.1f} MiB")
for v in m:
    if v != "duckdb":
        print(f"duckdb/{v} cpu: {m['duckdb'][1] / m[v][1]:.2f}")
if "base" in m:
    print(f"probity/base cpu: {m['probity'][1] / m['base'][1]:.2f}")
PY
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
