#!/bin/bash
# bench/ident/append.sh [N] - what signing costs a write (issue 12): a
# case note (one log entry, its own transaction) in a signed workspace,
# signed through a real ssh-agent started here, against the same note in an
# unsigned workspace, N times each (default 200), interleaved. Two figures:
# inside the process (bench/ident/append.c over libprobity: the append
# itself) and the whole `probity case note` command (process start, opening
# the workspace, the agent connection). Medians; the target is a signed
# append under 5 ms. Everything lives in a temporary folder; the agent is
# stopped by pid at exit. Needs a release build (make release).
set -eu
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROBITY=$ROOT/build/release/probity
[ -x "$PROBITY" ] || { echo "append.sh: make release first" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/pbbench.XXXXXX")
eval "$(ssh-agent -s)" >/dev/null
trap 'kill $SSH_AGENT_PID 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
ssh-keygen -q -t ed25519 -N '' -C root -f root
ssh-keygen -q -t ed25519 -N '' -C bench -f key
ssh-add -q root key 2>/dev/null
"$PROBITY" init s --user root --key-file root.pub >/dev/null
"$PROBITY" init --unsigned u --user root >/dev/null 2>&1
for w in s u; do
	key=(--key-file key.pub)
	[ $w = u ] && key=()
	"$PROBITY" user add $w bench --role analyst "${key[@]}" >/dev/null 2>&1
	"$PROBITY" customer add $w C --account A-1 --as bench >/dev/null 2>&1
	"$PROBITY" case open $w --customer C --title bench --trigger bench --as bench >/dev/null 2>&1
done
cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/include" "$ROOT/bench/ident/append.c" \
	"$ROOT/build/release/libprobity.a" $(make --no-print-directory -s -C "$ROOT" print-libs) -o append
./append s u "$N" | awk -v n="$N" '
	{ med[$1] = $2; p99[$1] = $3 }
	END { printf "signed append in-process (ssh-agent, median of %d): probity %.2f ms, unsigned %.2f ms, ratio %.2f (p99 %.2f vs %.2f ms)\n",
	      n, med["signed"], med["unsigned"], med["signed"] / med["unsigned"], p99["signed"], p99["unsigned"] }'
python3 - "$PROBITY" "$N" <<'PY'
import statistics, subprocess, sys, time
probity, n = sys.argv[1], int(sys.argv[2])
t = {"s": [], "u": []}
for i in range(n):
    for w in ("s", "u"):
        a = time.perf_counter()
        subprocess.run([probity, "case", "note", w, "1", f"note {i}", "--as", "bench"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t[w].append((time.perf_counter() - a) * 1000)
s, u = statistics.median(t["s"]), statistics.median(t["u"])
print(f"signed append, whole command (ssh-agent, probity case note, median of {n}): probity {s:.2f} ms, "
      f"unsigned {u:.2f} ms, ratio {s / u:.2f}, signing adds {s - u:.2f} ms")
PY
