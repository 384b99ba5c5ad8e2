#!/bin/bash
# bench/serve/chaos.sh - 60 s of wrk against probity serve while a plan is
# applied and rolled back every 100 ms. The flips are made with tools/pb-entitle
# publish and remove (the versions an apply and a rollback publish), not with
# `probity plan apply` / `plan rollback`: this tests the server's hot reload,
# not the plan workflow (approvals, audit log). Pass: zero socket errors and non-2xx
# answers, and every logged decision agrees with the version in force (checked
# from the decision log: the version it names was the latest published at that
# moment, or had been superseded less than 1 s before, and its result is what
# that version decides).
# usage: bench/serve/chaos.sh [SECONDS] [WORKERS]   (after `make release`)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DUR=${1:-60}; W=${2:-2}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
P=build/release/probity; E=build/release/tools/pb-entitle
[ -x $P ] || make release >/dev/null
T=$(mktemp -d)
export PROBITY_DATA=$ROOT/data
$P init "$T/ws" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$P serve "$T/ws" --listen 127.0.0.1:$PORT --workers "$W" --reload-ms 50 --quiet \
	--decision-log "$T/dl.jsonl" --log-allows 0.01 --log-max-mb 256 --log-keep 20 2>"$T/serve.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null || true; rm -rf "$T"' EXIT
sleep 0.5
cat >"$T/mix.lua" <<'LUA'
local paths = {}
for i = 1, 9 do paths[i] = "/v1/decide?account=OTHER-" .. i .. "&service=Key%20Vault&region=westeurope" end
paths[10] = "/v1/decide?account=IMOD-7F3A&service=Storage%20Accounts&region=westeurope"
local n = 0
request = function() n = n + 1; return wrk.format("GET", paths[(n % 10) + 1]) end
LUA
( end=$(( $(date +%s) + DUR )); while [ "$(date +%s)" -lt $end ]; do
	$E "$T/ws" publish tests/data/decide/demo-plan.json >/dev/null; sleep 0.1
	$E "$T/ws" remove 1 >/dev/null; sleep 0.1
done ) &
FLIP=$!
timeout $((DUR + 15)) wrk -t2 -c50 -d${DUR}s -s "$T/mix.lua" "http://127.0.0.1:$PORT" >"$T/wrk.out"
wait $FLIP
kill -TERM $SPID; wait $SPID || true
cat "$T/wrk.out" | grep -E "Requests/sec|Socket errors|Non-2xx" || true
rps=$(sed -nE 's/^Requests\/sec: +([0-9.]+)/\1/p' "$T/wrk.out")
errs=$(grep -cE "Socket errors|Non-2xx" "$T/wrk.out" || true)
sqlite3 -separator ' ' "$T/ws/probity.db" "SELECT version, created_ms, nrules FROM entitlement_version ORDER BY version" >"$T/versions"
mkdir -p bench/results
python3 - "$T" "$DUR" "${rps:-0}" "$errs" <<'PY'
import json, sys, glob, os
t, dur, rps, errs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
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
        flagged = d["input"]["account"] == "IMOD-7F3A"
        rules = vers[v][1] if v in vers else 0
        want = "deny" if (flagged and rules > 0) else "allow"
        if d["result"] != want: bad_result += 1
        if v and (vers[v][0] > tm + 5 or (v in nxt and nxt[v] < tm - 1000)): bad_version += 1
print(f"chaos: {checked} logged decisions, {len(order)} versions; {bad_result} disagree with their version, {bad_version} used a version not in force")
print(f"chaos: probity {bad_result + bad_version} wrong decisions and {errs} wrk error lines, "
      f"peer (target) 0 and 0, ratio {0 if bad_result + bad_version + errs == 0 else 'n/a'} "
      f"({dur} s of wrk at {rps:.0f} req/s, {len(order)} versions, {checked} decisions checked)")
json.dump({"seconds": dur, "rps": rps, "versions": len(order), "checked": checked,
           "disagree": bad_result, "version_not_in_force": bad_version, "wrk_error_lines": errs},
          open("bench/results/chaos.json", "w"))
sys.exit(1 if bad_result or bad_version or checked == 0 else 0)
PY
echo "chaos: wrk error lines: $errs"
[ "$errs" = 0 ]
