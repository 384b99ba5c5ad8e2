#!/bin/bash
# bench/serve/chaos.sh - 60 s of wrk against probity serve while enforcement
# plans are applied and rolled back every 100 ms with the real workflow: each
# plan is made by an analyst and approved by two approvers beforehand (off the
# clock of the flips), then `probity plan apply` (version N+1) and, 100 ms
# later, `probity plan rollback` by an approver (version N+2), each with its
# audit-log entry, while the server hot-reloads every 50 ms.
# Pass: zero socket errors and non-2xx answers; every logged decision agrees
# with the version it names, as `probity decide --version V` answers the same
# input afterwards (the checker asks it once per version and input); that
# version was the latest published at that moment, or had been superseded less
# than 1 s before; and the audit log still checks (`probity log check`).
# usage: bench/serve/chaos.sh [SECONDS] [WORKERS]   (after `make release`)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DUR=${1:-60}; W=${2:-2}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
P=build/release/probity
[ -x $P ] || make release >/dev/null
T=$(mktemp -d)
export PROBITY_DATA=$ROOT/data
WS=$T/ws
$P init --unsigned --no-user "$WS" >/dev/null
$P user add "$WS" root --role admin >/dev/null
for u in alice:analyst bob:approver dana:approver; do
	$P user add "$WS" "${u%%:*}" --role "${u##*:}" --as root >/dev/null
done
$P ingest -q "$WS" tests/data/plans/usage.csv --as alice
$P customer add "$WS" "Varnia Interior Ministry" --account EA-1 --as alice >/dev/null
$P case open "$WS" --as alice --customer "Varnia Interior Ministry" --title "chaos" --trigger "bench" >/dev/null
# a plan made and approved by two approvers: ready to apply
ready() {
	$P plan new "$WS" 1 --as alice --disable 'category=Storage country=NL' --keep 'category=Security' >/dev/null
	$P plan approve "$WS" "$1" --as bob >/dev/null
	$P plan approve "$WS" "$1" --as dana >/dev/null
}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$P serve "$WS" --listen 127.0.0.1:$PORT --workers "$W" --reload-ms 50 --quiet \
	--decision-log "$T/dl.jsonl" --log-allows 0.01 --log-max-mb 256 --log-keep 20 2>"$T/serve.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null || true; rm -rf "$T"' EXIT
for i in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT/v1/decide?account=x&service=y&region=z")" != 000 ] && break
	sleep 0.1
done
cat >"$T/mix.lua" <<'LUA'
local paths = {}
for i = 1, 9 do paths[i] = "/v1/decide?account=OTHER-" .. i .. "&service=Storage%20Accounts&region=westeurope" end
paths[10] = "/v1/decide?account=EA-1&subaccount=s-int&service=Storage%20Accounts&region=westeurope"
local n = 0
request = function() n = n + 1; return wrk.format("GET", paths[(n % 10) + 1]) end
LUA
# enough approved plans for the whole run (one per 200 ms), made before the load
NPLANS=$((DUR * 5 + 5))
echo "chaos: making $NPLANS plans, each approved by two approvers"
for i in $(seq $NPLANS); do ready $i; done
# sleeps what is left of 100 ms since $1 (ns)
rest() { local r=$((100000000 - ($(date +%s%N) - $1))); [ $r -le 0 ] || sleep "0.$(printf %09d $r)"; }
( end=$(( $(date +%s) + DUR )); i=1; while [ "$(date +%s)" -lt $end ] && [ $i -le $NPLANS ]; do
	t0=$(date +%s%N)
	$P plan apply "$WS" $i --as alice >/dev/null
	rest $t0
	t0=$(date +%s%N)
	$P plan rollback "$WS" $i --as bob --reason "chaos bench" >/dev/null
	rest $t0
	i=$((i + 1))
done; echo $((i - 1)) >"$T/plans" ) &
FLIP=$!
timeout $((DUR + 15)) wrk -t2 -c50 -d${DUR}s -s "$T/mix.lua" "http://127.0.0.1:$PORT" >"$T/wrk.out"
wait $FLIP
kill -TERM $SPID; wait $SPID || true
cat "$T/wrk.out" | grep -E "Requests/sec|Socket errors|Non-2xx" || true
rps=$(sed -nE 's/^Requests\/sec: +([0-9.]+)/\1/p' "$T/wrk.out")
errs=$(grep -cE "Socket errors|Non-2xx" "$T/wrk.out" || true)
sqlite3 -separator ' ' "$WS/probity.db" "SELECT version, created_ms, nrules FROM entitlement_version ORDER BY version" >"$T/versions"
logcheck=0
$P log check "$WS" >"$T/logcheck" 2>&1 || logcheck=1
echo "chaos: $(cat "$T/plans") plans applied and rolled back; audit log: $(tail -1 "$T/logcheck")"
mkdir -p bench/results
python3 - "$T" "$DUR" "${rps:-0}" "$errs" "$P" "$logcheck" <<'PY'
import json, sys, glob, os, subprocess
t, dur, rps, errs, prob, logbad = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
ws = os.path.join(t, "ws")
expected = {}
def want(v, inp):
    """what `probity decide --version V` answers for this input, asked once"""
    key = (v, tuple(sorted(inp.items())))
    if key not in expected:
        if not v:
            expected[key] = "allow"  # before the first version: nothing is disabled
        else:
            cmd = [prob, "decide", ws, "--version", str(v), "--json"]
            for k in ("account", "subaccount", "service", "region"):
                if inp.get(k):
                    cmd += ["--" + k, inp[k]]
            expected[key] = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)["result"]
    return expected[key]
vers = {}
order = []
for line in open(os.path.join(t, "versions")):
    v, ms, n = map(int, line.split()); vers[v] = (ms, n); order.append(v)
nxt = {order[i]: vers[order[i + 1]][0] for i in range(len(order) - 1)}
files = sorted(glob.glob(os.path.join(t, "dl.jsonl*")))
checked = bad_result = bad_version = 0
for f in files:
    for line in open(f):
        d = json.loads(line); checked += 1
        v = d["version"]; tm = d["time_ms"]
        if d["result"] != want(v, d["input"]): bad_result += 1
        if v and (vers[v][0] > tm + 5 or (v in nxt and nxt[v] < tm - 1000)): bad_version += 1
denied = sum(1 for k, r in expected.items() if r == "deny")
print(f"chaos: {checked} logged decisions, {len(order)} versions; {bad_result} disagree with their version "
      f"({len(expected)} version and input pairs asked of probity decide, {denied} of them deny), "
      f"{bad_version} used a version not in force")
print(f"chaos: probity {bad_result + bad_version} wrong decisions and {errs} wrk error lines, "
      f"peer (target) 0 and 0, ratio {0 if bad_result + bad_version + errs == 0 else 'n/a'} "
      f"({dur} s of wrk at {rps:.0f} req/s, {len(order)} versions, {checked} decisions checked)")
json.dump({"seconds": dur, "rps": rps, "versions": len(order), "checked": checked,
           "disagree": bad_result, "version_not_in_force": bad_version, "wrk_error_lines": errs,
           "audit_log_checks": not logbad},
          open("bench/results/chaos.json", "w"))
sys.exit(1 if bad_result or bad_version or checked == 0 or denied == 0 or logbad else 0)
PY
echo "chaos: wrk error lines: $errs"
[ "$errs" = 0 ]
