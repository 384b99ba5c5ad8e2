#!/bin/bash
# serve-bad-version.sh - probity serve starts when the newest entitlements
# version fails its check: the newest that verifies serves, the bad one is
# named on stderr and counted; with no good version it refuses to start.
# 127.0.0.1 only; the server is stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-bad-version
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
forge() { # VERSION SHA: a version row that cannot verify
	sqlite3 "$WS/probity.db" "INSERT INTO entitlement_version VALUES ($1, '2025-01-01T00:00:00.000Z', 0, 'forged', 0, '$2')"
}
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
"$PBE" --log-as fixture "$WS" remove 1 >/dev/null # version 2: the plan rolled back
forge 3 bad
serve_up "$WS" serve --workers 1 --reload-ms 50
check "starts despite a bad newest version" curl -sf "$B/healthz" -o /dev/null
m=$(curl -s "$B/metrics")
check "serves version 2, the newest good one" grep -q '^probity_entitlements_version 2$' <<<"$m"
check "the failure is counted" grep -q '^probity_reload_failures_total [1-9]' <<<"$m"
check "stderr names the version and the reason" \
	grep -q 'entitlements version 3: bad version row: not served' "$TMP/serve.err"
out=$(curl -s "$B/v1/decide?account=IMOD-7F3A&service=Storage%20Accounts&region=westeurope")
check "version 2 decides (the rollback is in force)" grep -q '"result":"allow","allow":true,"version":2' <<<"$out"
kill -TERM $SPID; wait $SPID

# nothing verifies: refuse to start, naming the newest version
WS=$TMP/ws2
"$PROBITY" init --unsigned "$WS" >/dev/null
forge 1 bad
forge 2 "$(printf '0%.0s' $(seq 64))"
"$PROBITY" serve "$WS" --listen 127.0.0.1:$(free_port) --workers 1 >"$TMP/serve2.out" 2>"$TMP/serve2.err" &
SPID=$!
for _ in $(seq 50); do kill -0 $SPID 2>/dev/null || break; sleep 0.1; done
wait $SPID; rc=$?
check "no good version: exit 1 (got $rc)" test $rc = 1
check "no good version: the newest one's error" grep -q '^probity: entitlements version 2' "$TMP/serve2.err"
finish serve-bad-version
