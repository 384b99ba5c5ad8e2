#!/bin/bash
# sign-forgery.sh - the read-time half of issue 12's forgery suite (the
# write-time half is sign-flow.sh). A signed workspace with real OpenSSH keys
# and a real ssh-agent: a plan approved by two keys is applied. The clean
# workspace checks (`log check`), its export verifies (`log verify`, every
# signature against the key registry at its position), and an auditor checks
# an entry by hand with ssh-keygen -Y verify, the allowed_signers file from
# `user export-signers` and `log statement`. Then each forgery is written
# into the database with sqlite3 as an attacker with write access would: an
# approval row inserted; an entry's signature bit-flipped; a user_key row
# added (and used to sign: the write side trusts the table, the log does
# not); a used nonce deleted, added or moved; a checkpoint's actor signature
# removed or its signer renamed (and checkpoint.actor in an export removed or
# claimed by another); an entitlements version row added; an approver's role
# raised in app_user only; a plan body rehashed to ask fewer approvals; two
# approvals signed with keys registered only in the table, then applied. Each is caught by `log check`,
# by `log verify` on an export where the export carries it, and, where it
# touches enforcement, refused by `decide` and a running `serve` (which
# keeps the last good version, logs and counts the refusal). 127.0.0.1 only;
# serve and the agent stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=sign-forgery
unset SSH_AUTH_SOCK PROBITY_KEY_DIR
cd "$TMP" || exit 1
WS=$TMP/ws
DB=$WS/probity.db
q() { "$PROBITY" "$@" >"$TMP/out" 2>"$TMP/err"; }
sql() { sqlite3 "$DB" "$1"; }
not() { ! "$@"; }
decide() { "$PROBITY" decide "$WS" --account EA-1 --subaccount s-int --service 'Storage Accounts' --region westeurope "$@"; }
command -v ssh-keygen >/dev/null && command -v ssh-agent >/dev/null ||
	{ fail "ssh-keygen and ssh-agent are needed (Debian openssh-client)"; finish sign-forgery; exit; }

mkdir -m 700 keys
for u in root alice bob dana carol mallory mallory2; do
	ssh-keygen -q -t ed25519 -N '' -C "$u@sign-forgery" -f "keys/$u" || fail "ssh-keygen $u"
done
fp() { ssh-keygen -l -f "keys/$1.pub" | awk '{print $2}'; }
# the same as an extended regular expression ('+', '/' and '.' as any character)
fpre() { fp "$1" | sed 's/[+/.]/./g'; }
q init "$WS" --user root --key-file keys/root.pub -i keys/root || fail "signed init: $(cat "$TMP/err")"
eval "$(ssh-agent -s)" >/dev/null
AGENT=$SSH_AGENT_PID
trap 'kill $AGENT 2>/dev/null; [ -n "${SPID:-}" ] && kill $SPID 2>/dev/null' EXIT
ssh-add -q keys/root keys/alice keys/bob keys/dana 2>/dev/null || fail "ssh-add"
for u in alice:analyst bob:approver dana:approver; do
	q user add "$WS" "${u%%:*}" --role "${u#*:}" --key-file "keys/${u%%:*}.pub" || fail "user add $u: $(cat "$TMP/err")"
done
q ingest "$WS" "$DATA/plans/usage.csv" --as alice || fail "ingest: $(cat "$TMP/err")"
q customer add "$WS" "Varnia Interior Ministry" --account EA-1 --as alice || fail "customer: $(cat "$TMP/err")"
q case open "$WS" --as alice --customer "Varnia Interior Ministry" --title "Report" --trigger "press" || fail "case: $(cat "$TMP/err")"
q plan new "$WS" 1 --as alice --disable 'category=Storage country=NL' || fail "plan new: $(cat "$TMP/err")"
q plan approve "$WS" 1 --as bob || fail "bob approves: $(cat "$TMP/err")"
q plan approve "$WS" 1 --as dana || fail "dana approves: $(cat "$TMP/err")"
q plan apply "$WS" 1 --as alice || fail "apply: $(cat "$TMP/err")"
q case note "$WS" 1 "before a checkpoint" --as alice || fail "note: $(cat "$TMP/err")"
q log checkpoint "$WS" --as alice || fail "checkpoint: $(cat "$TMP/err")"
cs=$(sql "SELECT max(size) FROM audit_checkpoint")
check "a checkpoint signed on its own carries its actor's signature" test "$(sql "SELECT json_extract(actor_sig, '\$.ns') FROM audit_checkpoint WHERE size = $cs")" = probity@v1
check "... the one sealing the apply none (the apply entry is signed)" test "$(sql "SELECT count(*) FROM audit_checkpoint WHERE actor_sig IS NULL")" -ge 1

# the clean workspace and its export
check "log check passes on the signed workspace" q log check "$WS"
check "... saying the signatures verify" grep -q "every signature verifies against the key registry at its position" "$TMP/out"
q log export "$WS" clean --as root || fail "export: $(cat "$TMP/err")"
VKEY=$(cat clean/vkey)
n=$(sql "SELECT count(*) FROM audit_entry")
q log verify clean --vkey "$VKEY"
check "log verify checks every signature of the export" grep -q "^signed actors: $n signatures verify" "$TMP/out"
check "the export carries the checkpoint's actor signature" grep -q '"actor":"alice"' clean/checkpoint.actor
cp -r clean noactor && rm noactor/checkpoint.actor
check "log verify wants it (the checkpoint seals no apply)" not q log verify noactor --vkey "$VKEY"
check "... saying so" grep -q "carries no signature by its actor" "$TMP/err"
cp -r clean asbob && sed -i 's/"actor":"alice"/"actor":"bob"/' asbob/checkpoint.actor
check "log verify refuses it claimed by another" not q log verify asbob --vkey "$VKEY"
check "... saying why" grep -qE "checkpoint.actor: .*(does not verify|not 'bob')" "$TMP/err"
check "decide enforces the applied version" grep -q 'version 1' <<<"$(decide 2>&1)"

# an auditor by hand: allowed_signers from the log, an entry's statement and signature
q user export-signers "$WS" -o signers || fail "export-signers: $(cat "$TMP/err")"
bobline=$(grep -F " $(cut -d' ' -f1,2 keys/bob.pub)" signers)
check "allowed_signers names bob's key with both namespaces" grep -qE '^bob namespaces="probity@v1,probity-approve@v1",valid-after="[0-9]{14}Z" ssh-ed25519 ' <<<"$bobline"
ai=$(sql "SELECT idx FROM audit_entry WHERE action = 'plan.approve' AND actor = 'bob'")
"$PROBITY" log statement "$WS" "$ai" --sig a.sig >a.txt 2>a.err || fail "log statement: $(cat a.err)"
check "log statement names the namespace" grep -q "namespace: probity-approve@v1" a.err
check "ssh-keygen -Y verify accepts bob's approval" ssh-keygen -Y verify -f signers -I bob -n probity-approve@v1 -s a.sig <a.txt >/dev/null 2>&1
check "... not as dana's" not ssh-keygen -Y verify -f signers -I dana -n probity-approve@v1 -s a.sig <a.txt >/dev/null 2>&1
check "... not in the notes namespace" not ssh-keygen -Y verify -f signers -I bob -n probity@v1 -s a.sig <a.txt >/dev/null 2>&1
oi=$(sql "SELECT idx FROM audit_entry WHERE action = 'case.open'")
"$PROBITY" log statement "$WS" "$oi" --sig o.sig >o.txt 2>/dev/null
check "ssh-keygen -Y verify accepts alice's case.open" ssh-keygen -Y verify -f signers -I alice -n probity@v1 -s o.sig <o.txt >/dev/null 2>&1
check "an entry's statement is not another's" not ssh-keygen -Y verify -f signers -I alice -n probity@v1 -s o.sig <a.txt >/dev/null 2>&1

cp "$DB" saved.db

# found NAME ERE: log check fails, printing a line matching ERE
found() {
	if "$PROBITY" log check "$WS" >out 2>err; then fail "$1: log check passed"
	elif grep -qE "$2" out err; then ok
	else fail "$1: log check does not say /$2/: $(cat out err)"; fi
}
# exported NAME ERE: log verify of an export taken now fails, saying ERE
exported() {
	rm -rf ex
	if ! "$PROBITY" log export "$WS" ex --as root >/dev/null 2>err; then
		grep -qE "$2" err && ok || fail "$1: export refused, not saying /$2/: $(cat err)"
	elif "$PROBITY" log verify ex --vkey "$VKEY" >out 2>err; then fail "$1: log verify passed"
	elif grep -qE "$2" out err; then ok
	else fail "$1: log verify does not say /$2/: $(cat out err)"; fi
}
restore() { cp saved.db "$DB"; rm -f "$DB-wal" "$DB-shm"; }

# 1. an approval row inserted beside the log
sql "INSERT INTO plan_event(plan_id, kind, actor, at, sha256, log_index)
     SELECT 1, 'approve', 'root', '2026-01-01T00:00:00Z', sha256, 2 FROM plan WHERE id = 1"
found "approval row inserted" "^table plan_event row [0-9]+: no plan entry at its log_index 2"
exported "approval row inserted" "^table plan_event row [0-9]+: no plan entry at its log_index 2"
restore

# 2. an entry's signature bit-flipped (the log's hashes catch the edit first)
sql "DROP TRIGGER audit_entry_append_only;
     UPDATE audit_entry SET data = CAST(replace(CAST(data AS TEXT), '\"sshsig\":\"U1NI', '\"sshsig\":\"U1NJ') AS BLOB) WHERE idx = $ai"
found "signature bit-flipped" "audit_entry $ai"
exported "signature bit-flipped" "do not hash to the signed root|audit_entry $ai"
restore

# 3. a key registered in the table only: mallory's key as dana's
mkey=$(cut -d' ' -f1,2 keys/mallory.pub)
sql "INSERT INTO user_key(user, fp, key, comment, added_idx) VALUES ('dana', '$(fp mallory)', '$mkey', NULL, 1)"
found "user_key row added" "^table user_key row $(fpre mallory): no user.add or user.key-add entry"
exported "user_key row added" "^table user_key row $(fpre mallory): no user.add or user.key-add entry"
# ... and used: the write side takes the table's word, the log check does not
if q case note "$WS" 1 "as dana, with mallory's key" --as dana -i keys/mallory; then
	ni=$(sql "SELECT max(idx) FROM audit_entry")
	found "a note signed with the table-only key" "^table audit_entry row $ni: case.note by 'dana' is signed with key $(fpre mallory), which no entry before it registered"
else
	ok # refused at write time: fine too
fi
restore

# 3b. the used nonces: one deleted (its signature could be replayed), one added
n0=$(sql "SELECT nonce FROM sig_nonce WHERE idx = $ai")
sql "DELETE FROM sig_nonce WHERE idx = $ai"
found "nonce row deleted" "^table sig_nonce row $n0: row missing: entry $ai was signed with this nonce"
restore
sql "INSERT INTO sig_nonce(nonce, idx) VALUES ('$(printf %032d 7)', $ai)"
found "nonce row added" "^table sig_nonce row $(printf %032d 7): entry $ai was signed with another nonce"
restore
sql "UPDATE sig_nonce SET idx = idx + 1 WHERE idx = $ai"
found "nonce row moved" "^table sig_nonce row $n0: entry $((ai + 1)) was signed with another nonce"
restore

# 3c. a checkpoint's actor signature removed, or its signer renamed
sql "DROP TRIGGER audit_checkpoint_append_only; UPDATE audit_checkpoint SET actor_sig = NULL WHERE size = $cs"
found "checkpoint's actor signature removed" "audit_checkpoint $cs: the workspace is signed, but its actor did not sign this checkpoint"
restore
sql "DROP TRIGGER audit_checkpoint_append_only; UPDATE audit_checkpoint SET signed_by = 'bob' WHERE size = $cs"
found "checkpoint's signer renamed" "audit_checkpoint $cs: .*(does not verify|not 'bob')"
restore

# 4. an entitlements version row added by hand
sql "INSERT INTO entitlement_version VALUES (2, '2026-12-06T00:00:00Z', 0, 'lifted', 0, '$(printf '[]' | sha256sum | cut -d' ' -f1)')"
found "entitlements version added" "^table entitlement_version row 2: no plan.apply or plan.rollback entry names this version"
check "decide refuses the added version" not decide >/dev/null 2>derr
check "... saying no entry names it" grep -q "entitlements version 2 is not named by any plan.apply" derr
restore

# 4b. a role raised in the table only: carol, an analyst by the log, approves
# as an approver (the write side reads app_user); the loader reads the log
q user add "$WS" carol --role analyst --key-file keys/carol.pub --as root || fail "carol: $(cat "$TMP/err")"
sql "UPDATE app_user SET role = 'approver' WHERE name = 'carol'"
q plan new "$WS" 1 --as alice --disable 'category=Compute country=NL' || fail "plan 2: $(cat "$TMP/err")"
q plan approve "$WS" 2 --as bob || fail "bob approves plan 2: $(cat "$TMP/err")"
q plan approve "$WS" 2 --as carol -i keys/carol || fail "carol approves plan 2: $(cat "$TMP/err")"
if q plan apply "$WS" 2 --as alice; then
	check "decide refuses the version an analyst approved" not decide >/dev/null 2>derr
	check "... saying she was no approver by the log" grep -q "counts the approval of 'carol', who was an analyst there by the log" derr
else
	ok # refused at write time: fine too
fi
restore

# 4c. the plan asks for three approvals; its stored body is edited to two
# and rehashed: approvals of it are taken, but the apply compares the body
# with the log's plan.new and refuses; the loader would too (no plan.new or plan.edit made that hash,
# and the one that made the applied hash says three)
q plan new "$WS" 1 --as alice --approvals 3 --disable 'category=Compute country=NL' || fail "plan 2: $(cat "$TMP/err")"
sql "SELECT body FROM plan WHERE id = 2" | sed 's/"approvals":3/"approvals":2/' | tr -d '\n' >body2
sql "UPDATE plan SET body = CAST(readfile('body2') AS TEXT), sha256 = '$(sha256sum <body2 | cut -d' ' -f1)' WHERE id = 2"
q plan approve "$WS" 2 --as bob || fail "bob approves plan 2: $(cat "$TMP/err")"
q plan approve "$WS" 2 --as dana || fail "dana approves plan 2: $(cat "$TMP/err")"
check "the apply of the rehashed body is refused" not q plan apply "$WS" 2 --as alice
check "... saying the log recorded another body" grep -q "is not the one its last plan.new or plan.edit log entry recorded" "$TMP/err"
restore

# 5. approvals signed with keys registered in the table only, then applied
# through probity itself: the apply entry is genuine, signed by alice and
# sealed; its approvals are not the log's
serve_up "$WS" serve --workers 1 --reload-ms 50
check "serve starts on the applied version 1" grep -q '^probity_entitlements_version 1$' <<<"$(curl -s "$B/metrics")"
q plan new "$WS" 1 --as alice --disable 'category=Compute country=NL' || fail "plan 2: $(cat "$TMP/err")"
sql "INSERT INTO user_key(user, fp, key, comment, added_idx) VALUES
     ('bob', '$(fp mallory)', '$mkey', NULL, 1),
     ('dana', '$(fp mallory2)', '$(cut -d' ' -f1,2 keys/mallory2.pub)', NULL, 1)"
q plan approve "$WS" 2 --as bob -i keys/mallory || fail "forged approval 1: $(cat "$TMP/err")"
q plan approve "$WS" 2 --as dana -i keys/mallory2 || fail "forged approval 2: $(cat "$TMP/err")"
q plan apply "$WS" 2 --as alice || fail "apply of plan 2: $(cat "$TMP/err")"
check "the forged version 2 is written" test "$(sql 'SELECT max(version) FROM entitlement_version')" = 2
check "decide refuses version 2" not decide >/dev/null 2>derr
check "... naming the key the log never registered" grep -qE "entitlements version 2 is not enforced: .*key $(fpre mallory) is registered to nobody in the log" derr
check "decide still enforces version 1 on request" grep -q 'version 1' <<<"$(decide --version 1 2>&1)"
for _ in $(seq 40); do grep -q 'version 2' "$TMP/serve.err" && break; sleep 0.1; done
m=$(curl -s "$B/metrics")
check "serve keeps version 1" grep -q '^probity_entitlements_version 1$' <<<"$m"
check "... counts the refusal" grep -q '^probity_entitlements_refused_total [1-9]' <<<"$m"
check "... and logs it" grep -q "registered to nobody in the log" "$TMP/serve.err"
found "approvals with table-only keys" "plan.approve by 'bob' is signed with key $(fpre mallory), which no entry before it registered"
kill $SPID 2>/dev/null
wait $SPID 2>/dev/null
restore
check "the restored workspace checks" q log check "$WS"

# a revoked key's line ends its window at the revoking entry's time
cp -r "$WS" ws2
q user key revoke ws2 bob "$(fp bob)" --reason "laptop lost" --as root || fail "revoke: $(cat "$TMP/err")"
q user export-signers ws2
check "a revoked key gets valid-before" grep -qE '^bob namespaces="probity@v1,probity-approve@v1",valid-after="[0-9]{14}Z",valid-before="[0-9]{14}Z" ssh-ed25519 ' "$TMP/out"
check "... and the revocation checks" q log check ws2

kill "$AGENT" 2>/dev/null
finish sign-forgery
