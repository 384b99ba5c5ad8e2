#!/bin/bash
# enforce-log.sh - the log is the truth for enforcement: an entitlements
# version that no verified plan.apply/plan.rollback entry names is refused by
# `probity decide` and by a running `probity serve` (which keeps the last good
# version, says so on stderr and counts it in /metrics). What the test-only
# pb-entitle writes without --log-as, a row inserted by hand, and an apply
# entry edited in place are each refused. 127.0.0.1 only; stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=enforce-log
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
DB=$WS/probity.db
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 # SHA-256 of no rules
decide() { "$PROBITY" decide "$WS" --account IMOD-7F3A --service 'Storage Accounts' --region westeurope "$@"; }
refused() { ! decide 2>"$TMP/$1"; } # refused ERRFILE: decide fails, its stderr in $TMP/ERRFILE
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
check "a logged version decides" decide
"$PROBITY" log checkpoint "$WS" >/dev/null 2>&1

serve_up "$WS" serve --workers 1 --reload-ms 50
check "serve starts on the logged version 1" grep -q '^probity_entitlements_version 1$' <<<"$(curl -s "$B/metrics")"

# the shipped attack: pb-entitle without a log entry lifts plan 1
"$PBE" "$WS" remove 1 >/dev/null
check "the unlogged version 2 is written" test "$(sqlite3 "$DB" 'SELECT max(version) FROM entitlement_version')" = 2
check "decide refuses version 2" refused d.err
check "... naming it and why" grep -q 'entitlements version 2 is not named by any plan.apply or plan.rollback entry of the log' "$TMP/d.err"
for _ in $(seq 40); do grep -q 'version 2' "$TMP/serve.err" && break; sleep 0.1; done
m=$(curl -s "$B/metrics")
check "serve keeps version 1" grep -q '^probity_entitlements_version 1$' <<<"$m"
check "... counts the refusal" grep -q '^probity_entitlements_refused_total [1-9]' <<<"$m"
check "... and the reload failure" grep -q '^probity_reload_failures_total [1-9]' <<<"$m"
check "... logs it" grep -q 'reload of entitlements version 2 failed, still serving version 1: entitlements version 2 is not named' "$TMP/serve.err"
out=$(curl -s "$B/v1/decide?account=IMOD-7F3A&service=Storage%20Accounts&region=westeurope")
check "... and still denies under plan 1" grep -q '"result":"deny".*"version":1' <<<"$out"
kill -TERM $SPID; wait $SPID

# a row inserted by hand with a hash that matches its own empty body
sqlite3 "$DB" "INSERT INTO entitlement_version VALUES (3, '2026-01-01T00:00:00.000Z', 0, 'hand', 0, '$EMPTY')"
check "decide refuses a hand-inserted version 3" refused d3.err
check "... naming it" grep -q 'entitlements version 3 is not named' "$TMP/d3.err"
check "an older logged version still decides on request" decide --version 1

# serve started on an unlogged latest serves the newest that verifies
serve_up "$WS" serve2 --workers 1
m=$(curl -s "$B/metrics")
check "serve at start serves version 1, the newest logged" grep -q '^probity_entitlements_version 1$' <<<"$m"
check "... counting versions 3 and 2 refused (at least once each; a reload may try again)" grep -Eq '^probity_entitlements_refused_total ([2-9]|[1-9][0-9]+)$' <<<"$m"
check "... and naming them" grep -q 'entitlements version 3 is not named.*not served' "$TMP/serve2.err"
kill -TERM $SPID; wait $SPID

# the apply entry edited in place (trigger dropped): it no longer verifies
WS=$TMP/ws2
DB=$WS/probity.db
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
sqlite3 "$DB" "DROP TRIGGER audit_entry_append_only; UPDATE audit_entry SET data = CAST(replace(CAST(data AS TEXT), '\"fixture\":true', '\"fixture\":false') AS BLOB) WHERE action = 'plan.apply'"
check "decide refuses a version whose entry was edited" refused d4.err
check "... saying the entry is not in the log" grep -q 'entitlements version 1 is not enforced: log entry [0-9]* is not included in the log head' "$TMP/d4.err"

# a forged apply entry appended without the tree: refused
WS=$TMP/ws3
DB=$WS/probity.db
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
"$PBE" "$WS" remove 1 >/dev/null
sha=$(sqlite3 "$DB" 'SELECT sha256 FROM entitlement_version WHERE version = 2')
n=$(sqlite3 "$DB" 'SELECT count(*) FROM audit_entry')
sqlite3 "$DB" "INSERT INTO audit_entry VALUES ($n, CAST('{\"action\":\"plan.apply\",\"actor\":\"x\",\"details\":{\"entitlements_sha256\":\"$sha\",\"version\":2},\"index\":$n,\"time\":\"2026-01-01T00:00:00Z\",\"v\":1}' AS BLOB), zeroblob(32), '2026-01-01T00:00:00Z', 'x', 'plan.apply', NULL, 'plan/1')"
check "decide refuses a version named only by an entry beyond the head" refused d5.err
check "... saying so" grep -q 'entitlements version 2 is not enforced: log entry [0-9]* is beyond the log head' "$TMP/d5.err"
finish enforce-log
