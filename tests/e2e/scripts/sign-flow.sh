#!/bin/bash
# sign-flow.sh - signed actors end to end (issue 12, docs/identity.md), with
# real OpenSSH: keys made by ssh-keygen in the test folder, a real ssh-agent
# started (and killed) by the test, -i key files, and the detached flow
# (--statement, ssh-keygen -Y sign, --signature). A plan approved by two
# keys is applied and its entry names both signed approvals. Then the write
# half of the forgery list: each refused when it is written, and nothing is
# written (the log's size does not move): approval by the plan's author,
# one key for two users, a statement replayed (same nonce) and one replayed
# from another plan, a revoked key, a key used before it was registered,
# the wrong namespace, a user added and a role raised by a non-admin, a
# truncated and a bit-flipped signature.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=sign-flow
unset SSH_AUTH_SOCK PROBITY_KEY_DIR
cd "$TMP" || exit 1
WS=$TMP/ws
DB=$WS/probity.db
q() { "$PROBITY" "$@" >"$TMP/out" 2>"$TMP/err"; }
sql() { sqlite3 "$DB" "$1"; }
size() { sql "SELECT count(*) FROM audit_entry"; }
not() { ! "$@"; }
# refused WHAT PATTERN CMD...: the command fails, says PATTERN, writes nothing
refused() {
	local what=$1 pat=$2
	shift 2
	local before
	before=$(size)
	if "$PROBITY" "$@" >"$TMP/out" 2>"$TMP/err"; then
		fail "$what: accepted"
		return
	fi
	grep -qE "$pat" "$TMP/err" && ok || fail "$what: stderr does not say /$pat/: $(cat "$TMP/err")"
	[ "$(size)" = "$before" ] && ok || fail "$what: the log grew from $before to $(size)"
}
command -v ssh-keygen >/dev/null && command -v ssh-agent >/dev/null ||
	{ fail "ssh-keygen and ssh-agent are needed (Debian openssh-client)"; finish sign-flow; exit; }

mkdir -m 700 keys
for u in root alice bob dana carol eve; do
	ssh-keygen -q -t ed25519 -N '' -C "$u@sign-flow" -f "keys/$u" || fail "ssh-keygen $u"
done
fp() { ssh-keygen -l -f "keys/$1.pub" | awk '{print $2}'; }

# a signed workspace (the default) needs its first admin's key
q init "$WS" --user root
check "signed init without a key fails" test $? = 2
check "... naming --key/--key-file and --unsigned" grep -q -- "--key LINE or --key-file FILE.pub (or --unsigned" "$TMP/err"
check "... and makes nothing" test ! -e "$WS"
q init "$WS" --user root --key-file keys/root.pub -i keys/root || fail "signed init: $(cat "$TMP/err")"
check "entry 0 says the actors are signed" test "$(sql "SELECT json_extract(data, '$.actors') FROM audit_entry WHERE idx = 0")" = signed
check "entry 0 registers root's key" test "$(sql "SELECT json_extract(data, '$.details.key_fp') FROM audit_entry WHERE idx = 0")" = "$(fp root)"
check "entry 0 is signed by the key it registers" test "$(sql "SELECT json_extract(data, '$.sig.key_fp') FROM audit_entry WHERE idx = 0")" = "$(fp root)"
check "a signed workspace says nothing about unsigned actors" not grep -q unsigned "$TMP/err"
refused "a change without any key" "must sign this change" user add "$WS" alice --role analyst --key-file keys/alice.pub

# an agent, started and killed here
eval "$(ssh-agent -s)" >/dev/null
trap 'kill $SSH_AGENT_PID 2>/dev/null' EXIT
ssh-add -q keys/root keys/alice keys/bob keys/dana 2>/dev/null || fail "ssh-add"
for u in alice:analyst bob:approver dana:approver carol:approver eve:analyst; do
	n=${u%%:*}
	key=(--key-file "keys/$n.pub")
	[ "$n" = eve ] && key=() # eve's key comes later
	q user add "$WS" "$n" --role "${u#*:}" "${key[@]}" || fail "user add $n through the agent: $(cat "$TMP/err")"
done
check "every entry so far carries a signature" test "$(sql "SELECT count(*) FROM audit_entry WHERE json_extract(data, '$.sig.sshsig') IS NULL")" = 0
q user key list "$WS"
check "user key list shows the registry" test "$(grep -c SHA256: "$TMP/out")" = 5

# write-time forgeries about users and keys
refused "user add by a non-admin" "needs the role admin" user add "$WS" mallory --role admin --as alice --key-file keys/eve.pub
refused "role raised by a non-admin" "needs the role admin" user set-role "$WS" alice --role admin --as alice
refused "one key for two users" "is already registered to 'bob'" user key add "$WS" carol --key-file keys/bob.pub

# the data the plan is about, each write signed by its actor through the agent
q ingest "$WS" "$DATA/plans/usage.csv" --as alice || fail "ingest: $(cat "$TMP/err")"
q customer add "$WS" "Varnia Interior Ministry" --account EA-1 --as alice || fail "customer add: $(cat "$TMP/err")"
q case open "$WS" --as alice --customer "Varnia Interior Ministry" --title "Report" --trigger "press" || fail "case open: $(cat "$TMP/err")"
refused "a key file of another user" "key SHA256:.* is registered to 'bob', not to 'alice'" case open "$WS" --as alice -i keys/bob --customer "Varnia Interior Ministry" --title t --trigger x
q plan new "$WS" 1 --as alice --disable 'category=Storage country=NL' || fail "plan new 1: $(cat "$TMP/err")"
q plan new "$WS" 1 --as carol -i keys/carol --disable 'category=Compute country=NL' || fail "plan new 2: $(cat "$TMP/err")"
refused "approval by the plan's author" "is an author of plan 2" plan approve "$WS" 2 --as carol -i keys/carol

# bob approves plan 1 through the agent
q plan approve "$WS" 1 --as bob || fail "bob approves: $(cat "$TMP/err")"
check "... in the approvals namespace" test "$(sql "SELECT json_extract(data, '$.sig.ns') FROM audit_entry WHERE action = 'plan.approve'")" = probity-approve@v1

# dana's key never touches this machine: the detached flow
before=$(size)
q plan approve "$WS" 1 --as dana --statement || fail "--statement: $(cat "$TMP/err")"
cp "$TMP/out" s1
check "--statement writes nothing" test "$(size)" = "$before"
check "--statement prints the statement" grep -q '"type":"probity statement"' s1
check "... and how to sign it" grep -q "ssh-keygen -Y sign -f KEY -n probity-approve@v1" "$TMP/err"
ssh-keygen -q -Y sign -f keys/dana -n probity-approve@v1 s1 || fail "ssh-keygen -Y sign"
# the wrong namespace: a signature as for a note, presented as an approval
cp s1 s1w && ssh-keygen -q -Y sign -f keys/dana -n probity@v1 s1w
refused "the wrong namespace" "namespace" plan approve "$WS" 1 --as dana --signature s1w.sig
# a truncated and a bit-flipped signature
head -c 200 s1.sig >s1t.sig && cp s1 s1t
refused "a truncated signature" "." plan approve "$WS" 1 --as dana --signature s1t.sig
python3 - s1.sig s1f.sig <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
l = list(lines[3]); l[20] = "A" if l[20] != "A" else "B"; lines[3] = "".join(l)
open(sys.argv[2], "w").write("\n".join(lines))
EOF
cp s1 s1f
refused "a bit-flipped signature" "." plan approve "$WS" 1 --as dana --signature s1f.sig
# replayed from another plan: plan 2's approval with plan 1's statement
refused "a signature replayed from another plan" "does not describe this change" plan approve "$WS" 2 --as dana --signature s1.sig
q plan approve "$WS" 1 --as dana --signature s1.sig || fail "the detached approval: $(cat "$TMP/err")"
check "the detached approval is written, signed by dana's key" test "$(sql "SELECT json_extract(data, '$.sig.key_fp') FROM audit_entry WHERE action = 'plan.approve' AND actor = 'dana'")" = "$(fp dana)"

# the plan, approved by two keys, is applied; its entry names both approvals.
# Detached: the apply takes effect at the time of its statement step ("from"
# is in what alice signs), given back with --at however long signing took
q plan apply "$WS" 1 --as alice --statement && cp "$TMP/out" a1 || fail "apply --statement: $(cat "$TMP/err")"
AT=$(sed -n 's/.* --at \([0-9TZ:-]*\) .*/\1/p' "$TMP/err")
check "--statement prints the time to give back ($AT)" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<<"$AT"
ssh-keygen -q -Y sign -f keys/alice -n probity-approve@v1 a1 || fail "ssh-keygen -Y sign a1"
sleep 1.1
refused "the signed apply a second later, without its time" "does not describe this change" plan apply "$WS" 1 --as alice --signature a1.sig
refused "--at that is not a time" "is not a time" plan apply "$WS" 1 --as alice --signature a1.sig --at yesterday-ish
q plan apply "$WS" 1 --as alice --signature a1.sig --at "$AT" || fail "plan apply --at: $(cat "$TMP/err")"
check "the apply takes effect at its statement's time" test "$(sql "SELECT json_extract(data, '$.details.from') FROM audit_entry WHERE action = 'plan.apply'")" = "$AT"
ap=$(sql "SELECT json_extract(data, '$.details.approvals') FROM audit_entry WHERE action = 'plan.apply'")
check "apply names bob's signed approval" grep -qF "\"key_fp\":\"$(fp bob)\"" <<<"$ap"
check "apply names dana's signed approval" grep -qF "\"key_fp\":\"$(fp dana)\"" <<<"$ap"
check "apply is signed in the approvals namespace" test "$(sql "SELECT json_extract(data, '$.sig.ns') FROM audit_entry WHERE action = 'plan.apply'")" = probity-approve@v1

# a rollback: two signed requests; its entry names the first
q plan rollback "$WS" 1 --as bob --reason "appeal upheld" || fail "rollback request: $(cat "$TMP/err")"
q plan rollback "$WS" 1 --as dana --reason "appeal upheld" || fail "rollback: $(cat "$TMP/err")"
rb=$(sql "SELECT json_extract(data, '$.details.approvals') FROM audit_entry WHERE action = 'plan.rollback'")
check "rollback names bob's signed request" grep -qF "\"key_fp\":\"$(fp bob)\"" <<<"$rb"
check "rollback is signed by dana in the approvals namespace" test "$(sql "SELECT json_extract(data, '$.sig.ns') || ' ' || json_extract(data, '$.sig.key_fp') FROM audit_entry WHERE action = 'plan.rollback'")" = "probity-approve@v1 $(fp dana)"

# a statement replayed: the same note twice, with the same signed statement
q case note "$WS" 1 "seen the press report" --as alice --statement && cp "$TMP/out" n1 || fail "note --statement: $(cat "$TMP/err")"
ssh-keygen -q -Y sign -f keys/alice -n probity@v1 n1
q case note "$WS" 1 "seen the press report" --as alice --signature n1.sig || fail "the detached note: $(cat "$TMP/err")"
refused "a statement replayed (same nonce)" "already used by log entry" case note "$WS" 1 "seen the press report" --as alice --signature n1.sig
# a revoked key
q user key revoke "$WS" alice "$(fp alice)" --reason "laptop lost" || fail "revoke: $(cat "$TMP/err")"
refused "a revoked key (agent)" "no key in the ssh-agent is registered to 'alice'" case note "$WS" 1 "after revocation" --as alice
refused "a revoked key (key file)" "was revoked by log entry" case note "$WS" 1 "after revocation" --as alice -i keys/alice
# a key used before it was registered: eve signs a statement, then gets the key
q case note "$WS" 1 "early" --as eve --statement && cp "$TMP/out" e1 || fail "eve --statement: $(cat "$TMP/err")"
ssh-keygen -q -Y sign -f keys/eve -n probity@v1 e1
q user key add "$WS" eve --key-file keys/eve.pub || fail "key add eve: $(cat "$TMP/err")"
refused "a key used before it was registered" "after the log of [0-9]+ entries its statement was made against" case note "$WS" 1 "early" --as eve --signature e1.sig
q case note "$WS" 1 "now registered" --as eve -i keys/eve || fail "eve with her registered key: $(cat "$TMP/err")"

# an unsigned workspace says so, once per command
q init --unsigned "$TMP/plain" || fail "init --unsigned"
q user list "$TMP/plain"
check "an unsigned workspace is said out loud" test "$(grep -c "workspace '$TMP/plain' is unsigned: its actors are claimed names, not authenticated" "$TMP/err")" = 1
refused_plain() { ! "$PROBITY" "$@" >/dev/null 2>"$TMP/err"; }
check "--statement on an unsigned workspace is refused" refused_plain case open "$TMP/plain" --title t --trigger x --statement

kill "$SSH_AGENT_PID" 2>/dev/null
finish sign-flow
