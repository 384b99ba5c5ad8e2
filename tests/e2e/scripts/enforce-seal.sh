#!/bin/bash
# enforce-seal.sh - an enforcing entry must sit under a signed checkpoint
# (issue 18). The keys are kept in a folder apart (init --key-dir). A real
# `plan apply` signs a checkpoint covering its own entry and is enforced.
# Then the attacker, with write access to the workspace but not to the key
# folder, appends a plan.apply entry through the library itself (a genuine,
# consistent append: tree, tiles and head all agree) naming a version that
# lifts the plan: `decide` and a running `serve` refuse it, because no
# signed checkpoint covers that entry. 127.0.0.1 only; serve stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=enforce-seal
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
KEYS=$TMP/keys
DB=$WS/probity.db
q() { "$PROBITY" "$@" >"$TMP/out" 2>"$TMP/err"; }
decide() { "$PROBITY" decide "$WS" --account EA-1 --subaccount s-int --service 'Storage Accounts' --region westeurope "$@"; }
sql() { sqlite3 "$DB" "$1"; }
not() { ! "$@"; }

q init --unsigned --no-user --key-dir "$KEYS" "$WS" || fail "init: $(cat "$TMP/err")"
q user add "$WS" root --role admin
q user add "$WS" alice --role analyst --as root
q user add "$WS" bob --role approver --as root
q user add "$WS" dana --role approver --as root
q ingest "$WS" "$DATA/plans/usage.csv" --as alice
q customer add "$WS" "Varnia Interior Ministry" --account EA-1 --as alice
q case open "$WS" --as alice --customer "Varnia Interior Ministry" --title "Report" --trigger "press"
q plan new "$WS" 1 --as alice --disable 'category=Storage country=NL' || fail "plan new: $(cat "$TMP/err")"
q plan approve "$WS" 1 --as bob
q plan approve "$WS" 1 --as dana
q plan apply "$WS" 1 --as alice || fail "plan apply: $(cat "$TMP/err")"
apply=$(sql "SELECT max(idx) FROM audit_entry WHERE action = 'plan.apply'")
sealed=$(sql "SELECT max(size) FROM audit_checkpoint")
check "plan apply signs a checkpoint covering its entry" test "$sealed" -gt "$apply"
check "... and the log ends with it" test "$sealed" = "$(sql 'SELECT count(*) FROM audit_entry')"
check "signing.pub is in the workspace" test -s "$WS/signing.pub"
check "the real apply is enforced" grep -q 'version 1' <<<"$(decide)"
check "... and denies" grep -q '^deny' <<<"$(decide)"

# the key folder is out of the attacker's reach (and of decide's and serve's:
# they check with signing.pub)
mv "$KEYS" "$KEYS.away"
check "decide still enforces version 1 with the key folder away" grep -q 'version 1' <<<"$(decide)"

serve_up "$WS" serve --workers 1 --reload-ms 50
check "serve starts on the applied version 1" grep -q '^probity_entitlements_version 1$' <<<"$(curl -s "$B/metrics")"

# the attacker cannot seal: signing needs the key
check "a sealed append needs the key" not "$PBE" --log-as mallory "$WS" remove 1 >/dev/null 2>"$TMP/e1.err"
check "... and the failed attempt leaves no version 2" test "$(sql 'SELECT max(version) FROM entitlement_version')" = 1
# ... but can append, consistently, without sealing
"$PBE" --log-unsealed mallory "$WS" remove 1 >/dev/null 2>"$TMP/e2.err" || fail "unsealed append: $(cat "$TMP/e2.err")"
forged=$(sql "SELECT max(idx) FROM audit_entry WHERE action = 'plan.apply'")
check "the forged version 2 and its entry are written" test "$(sql 'SELECT max(version) FROM entitlement_version')" = 2 -a "$forged" -gt "$apply"
check "decide refuses version 2" not decide >/dev/null 2>"$TMP/d.err"
check "... saying its entry is not covered by a signed checkpoint" grep -q "entitlements version 2 is not enforced: log entry $forged is not covered by a signed checkpoint (the latest covers $sealed entries)" "$TMP/d.err"
check "an older sealed version still decides on request" grep -q "version 1" <<<"$(decide --version 1)"
for _ in $(seq 40); do grep -q 'version 2' "$TMP/serve.err" && break; sleep 0.1; done
m=$(curl -s "$B/metrics")
check "serve keeps version 1" grep -q '^probity_entitlements_version 1$' <<<"$m"
check "... counts the refusal" grep -q '^probity_entitlements_refused_total [1-9]' <<<"$m"
check "... logs it" grep -q "reload of entitlements version 2 failed, still serving version 1: .*log entry $forged is not covered by a signed checkpoint" "$TMP/serve.err"
out=$(curl -s "$B/v1/decide?account=EA-1&subaccount=s-int&service=Storage%20Accounts&region=westeurope")
check "... and still denies under plan 1" grep -q '"result":"deny".*"version":1' <<<"$out"
kill -TERM $SPID; wait $SPID

# the rollback policy is enforcement too: a plan.policy entry lowers the
# rule only once sealed. Without the key folder the real command cannot
# seal, so it writes nothing; the attacker's unsealed entry changes nothing.
check "the policy shows the default" grep -q "^a rollback needs 2 distinct approvers" <<<"$("$PROBITY" plan policy "$WS")"
check "plan policy cannot seal without the key" not q plan policy "$WS" --rollback-approvals 1 --as root
check "... and writes nothing" test "$(sql "SELECT count(*) FROM audit_entry WHERE action = 'plan.policy'")" = 0
"$PBE" --log-unsealed root "$WS" policy 1 >/dev/null 2>"$TMP/e4.err" || fail "unsealed policy: $(cat "$TMP/e4.err")"
pol=$(sql "SELECT max(idx) FROM audit_entry WHERE action = 'plan.policy'")
out=$("$PROBITY" plan policy "$WS")
check "an unsealed plan.policy entry is not in force" grep -q "^a rollback needs 2 distinct approvers" <<<"$out"
check "... and plan policy says so" grep -q "plan.policy entry $pol is not sealed by a signed checkpoint: not in force" <<<"$out"
check "one approver does not roll back" grep -q "1 of 2 approvers" <<<"$("$PROBITY" plan rollback "$WS" 1 --as bob --reason "lifted" 2>&1)"
check "... plan 1 stays applied" test "$(sql 'SELECT status FROM plan WHERE id = 1')" = applied

# signing.pub sits in the workspace: an attacker who can write the folder
# can swap in a key of their own (and would then re-sign the checkpoints with
# it). A service given the log's key from outside (PROBITY_VKEY, serve
# --vkey) checks with that key only and refuses the swapped one.
VKEY=$(cat "$WS/signing.pub")
check "decide with the pinned key enforces version 1" grep -q 'version 1' <<<"$(PROBITY_VKEY=$VKEY decide --version 1)"
"$PROBITY" init --unsigned "$TMP/evil" >/dev/null 2>&1 && "$PROBITY" log checkpoint "$TMP/evil" >/dev/null 2>&1 ||
	fail "a second workspace for the attacker's key"
cp "$WS/signing.pub" "$TMP/pub.saved"
cp "$TMP/evil/signing.pub" "$WS/signing.pub"
check "pinned: decide refuses a swapped signing.pub" not env PROBITY_VKEY="$VKEY" "$PROBITY" decide "$WS" --account EA-1 --service 'Storage Accounts' --region westeurope --version 1 >/dev/null 2>"$TMP/p.err"
check "... naming it" grep -q "signing.pub' in workspace '.*' is not the pinned log key" "$TMP/p.err"
check "pinned: serve will not start on it" not "$PROBITY" serve "$WS" --vkey "$VKEY" --listen "127.0.0.1:$(free_port)" >/dev/null 2>"$TMP/s.err"
check "... saying why" grep -q "not the pinned log key" "$TMP/s.err"
check "a malformed pinned key is refused" not env PROBITY_VKEY=nonsense "$PROBITY" log status "$WS" >/dev/null 2>"$TMP/m.err"
check "... as a verifier key error" grep -q "the pinned log key is not a verifier key" "$TMP/m.err"
cp "$TMP/pub.saved" "$WS/signing.pub"
check "pinned with another log's key, log check fails" not env PROBITY_VKEY="$(cat "$TMP/evil/signing.pub")" "$PROBITY" log check "$WS" >/dev/null 2>&1

# with no checkpoint at all, an appended entry is refused too
WS=$TMP/ws2
DB=$WS/probity.db
q init --unsigned --no-user "$WS"
"$PBE" --log-unsealed fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null 2>"$TMP/e3.err" || fail "unsealed publish: $(cat "$TMP/e3.err")"
check "no checkpoint was signed" test "$(sql 'SELECT count(*) FROM audit_checkpoint')" = 0
check "decide refuses an entry when none was signed" not "$PROBITY" decide "$WS" --account IMOD-7F3A --service 'Storage Accounts' --region westeurope >/dev/null 2>"$TMP/d2.err"
check "... saying so" grep -q 'is not covered by a signed checkpoint (none was signed)' "$TMP/d2.err"
finish enforce-seal
