#!/bin/bash
# passkey-forgery.sh - the read-time half of issue 14's forgery suite. A
# signed workspace (root and alice with OpenSSH keys) whose approvers bob and
# carol register passkeys (tests/tools/softauthn, as a browser would) under
# root's invitations, and approve plan 1 with them; alice applies it. The
# clean workspace checks (`log check`), its export verifies (`log verify`),
# the script of docs/identity.md ("Checking one passkey approval by hand",
# extracted from the doc) checks bob's approval on the export, and `decide`
# enforces the version. Then each forgery is forced in past the writer the
# way sign-forgery.sh forces SSH ones (a table the writer trusts edited with
# sqlite3; where no table helps, the newest entry rewritten and the tree
# rebuilt over it, as an attacker with the file can before a checkpoint
# covers it) and is refused by `log check`, by
# `log verify` on an export, and where it touches enforcement by `decide`,
# which keeps the last good version: an assertion for another plan's
# challenge; another origin; another RP ID; a replayed assertion (same
# counter); UV cleared; an approval by the plan's author; a credential of
# another user; a bit-flipped signature; an assertion from a revoked
# credential; a passkey-add without a valid invitation.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=passkey-forgery
unset SSH_AUTH_SOCK PROBITY_KEY_DIR
cd "$TMP" || exit 1
WS=$TMP/ws
DB=$WS/probity.db
SOFT=$PB_BUILD/tests/tools/softauthn
ORIGIN=http://localhost:8080
RP=localhost
q() { "$PROBITY" "$@" >"$TMP/out" 2>"$TMP/err"; }
sql() { sqlite3 "$DB" "$1"; }
not() { ! "$@"; }
decide() { "$PROBITY" decide "$WS" --account EA-1 --subaccount s-int --service 'Storage Accounts' --region westeurope "$@"; }
command -v ssh-keygen >/dev/null || { fail "ssh-keygen is needed (Debian openssh-client)"; finish passkey-forgery; exit; }
[ -x "$SOFT" ] || { fail "softauthn is not built (make test-tools)"; finish passkey-forgery; exit; }
python3 -c 'import cryptography' 2>/dev/null || { fail "python3-cryptography is needed (tools/deps.sh)"; finish passkey-forgery; exit; }

mkdir -m 700 keys
for u in root alice; do ssh-keygen -q -t ed25519 -N '' -C "$u@passkey-forgery" -f "keys/$u" || fail "ssh-keygen $u"; done
q init "$WS" --user root --key-file keys/root.pub -i keys/root || fail "signed init: $(cat "$TMP/err")"
R() { q "$@" --as root -i keys/root; }
A() { q "$@" --as alice -i keys/alice; }
R user add "$WS" alice --role analyst --key-file keys/alice.pub || fail "alice: $(cat "$TMP/err")"
for u in bob carol dana; do R user add "$WS" $u --role approver || fail "user add $u: $(cat "$TMP/err")"; done
R user passkey origin "$WS" "$ORIGIN" || fail "origin: $(cat "$TMP/err")"
ch() { head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# wsign USER ARGS...: runs probity ARGS as USER signed with USER's passkey
# ($USER.cred): the statement first, then softauthn's assertion over it;
# SOFTARGS (softauthn get options) shape the assertion
wsign() {
	local u=$1
	shift
	"$PROBITY" "$@" --as "$u" --statement >"$TMP/st.$u" 2>"$TMP/err" || return 1
	"$SOFT" get "$u.cred" --rp-id "${SOFT_RP:-$RP}" --origin "${SOFT_ORIGIN:-$ORIGIN}" \
		--statement "$TMP/st.$u" ${SOFTARGS:-} >"$TMP/as.$u" 2>"$TMP/err" || return 1
	q "$@" --as "$u" --webauthn "$TMP/as.$u" --statement-file "$TMP/st.$u"
}
# register USER: root invites USER, USER registers a passkey ($USER.cred) with the token
register() {
	local u=$1 c
	R user invite "$WS" "$u" || return 1
	grep -o 'token=[^ ]*' "$TMP/out" | cut -d= -f2 >"$u.token"
	c=$(ch)
	"$SOFT" new --alg "${ALG:-es256}" --rp-id "$RP" --origin "$ORIGIN" --challenge "$c" --out "$u.cred" >"$u.reg.json" || return 1
	wsign "$u" user passkey add "$WS" --credential "$u.reg.json" --challenge "$c" --invite-token "$(cat "$u.token")"
}
register bob || fail "bob's passkey: $(cat "$TMP/err")"
ALG=eddsa register carol || fail "carol's passkey: $(cat "$TMP/err")"
register dana || fail "dana's passkey: $(cat "$TMP/err")"
bobfp=$(sql "SELECT fp FROM user_passkey WHERE user = 'bob'")
carolfp=$(sql "SELECT fp FROM user_passkey WHERE user = 'carol'")
check "the passkeys are registered" test -n "$bobfp" -a -n "$carolfp"

A ingest "$WS" "$DATA/plans/usage.csv" || fail "ingest: $(cat "$TMP/err")"
A customer add "$WS" "Varnia Interior Ministry" --account EA-1 || fail "customer: $(cat "$TMP/err")"
A case open "$WS" --customer "Varnia Interior Ministry" --title "Report" --trigger "press" || fail "case: $(cat "$TMP/err")"
A plan new "$WS" 1 --disable 'category=Storage country=NL' || fail "plan new: $(cat "$TMP/err")"
wsign bob plan approve "$WS" 1 || fail "bob approves: $(cat "$TMP/err")"
bi=$(sql "SELECT max(idx) FROM audit_entry WHERE action = 'plan.approve'")
wsign carol plan approve "$WS" 1 || fail "carol approves: $(cat "$TMP/err")"
A plan apply "$WS" 1 || fail "apply: $(cat "$TMP/err")"
A log checkpoint "$WS" || fail "checkpoint: $(cat "$TMP/err")"
check "the approvals are passkey-signed" test "$(sql "SELECT count(*) FROM audit_entry WHERE action = 'plan.approve' AND json_extract(CAST(data AS TEXT), '\$.sig.key_fp') LIKE 'webauthn:%'")" = 2

# the clean workspace, its export, the doc's script
check "log check passes" q log check "$WS"
R log export "$WS" clean || fail "export: $(cat "$TMP/err")"
VKEY=$(cat clean/vkey)
n=$(sql "SELECT count(*) FROM audit_entry")
q log verify clean --vkey "$VKEY"
check "log verify checks every signature, the passkeys' too" grep -q "^signed actors: $n signatures verify" "$TMP/out"
sed -n '/^## Checking one passkey approval by hand/,/^## /p' "$ROOT/docs/identity.md" |
	sed -n '/^```python$/,/^```$/p' | sed '1d;$d' >check-passkey.py
check "the doc's script is there" grep -q "def cbor" check-passkey.py
python3 check-passkey.py clean "$bi" >py.out 2>py.err
check "the doc's script verifies bob's approval on the export" grep -q "^entry $bi: plan.approve by bob verifies with passkey $bobfp" py.out
ci=$(sql "SELECT max(idx) FROM audit_entry WHERE action = 'plan.approve'")
check "... and carol's (EdDSA)" grep -q "verifies with passkey $carolfp" <<<"$(python3 check-passkey.py clean "$ci" 2>&1)"
check "decide enforces the applied version" grep -q 'version 1' <<<"$(decide 2>&1)"
# the doc's script on an export whose copy of bob's approval has a flipped signature
rm -rf bad && cp -r clean bad
python3 - "$bi" <<'PY'
import os, sys
key = b'"index":' + sys.argv[1].encode() + b','
for d, _, fs in os.walk("bad/tile/entries"):
    for f in fs:
        p = os.path.join(d, f)
        b = open(p, "rb").read()
        at = b.find(key)
        if at < 0:
            continue
        k = b.find(b'"signature":"', at) + len('"signature":"') + 8  # keys sorted: "sig" after "index"
        b = b[:k] + (b"A" if b[k:k + 1] != b"A" else b"B") + b[k + 1:]
        open(p, "wb").write(b)
PY
check "the doc's script refuses a flipped signature" not python3 check-passkey.py bad "$bi" >/dev/null 2>&1
for u in bob carol dana; do cp "$u.cred" "$u.saved"; done

cp "$DB" saved.db
restore() { cp saved.db "$DB"; rm -f "$DB-wal" "$DB-shm"; }
# found NAME ERE: log check fails, printing a line matching ERE
found() {
	if "$PROBITY" log check "$WS" >out 2>err; then fail "$1: log check passed"
	elif grep -qE "$2" out err; then ok
	else fail "$1: log check does not say /$2/: $(cat out err)"; fi
}
# exported NAME ERE: log verify of an export taken now fails, saying ERE (or
# the export is refused, saying it)
exported() {
	rm -rf ex
	if ! "$PROBITY" log export "$WS" ex --as root -i keys/root >/dev/null 2>err; then
		grep -qE "$2" err && ok || fail "$1: export refused, not saying /$2/: $(cat err)"
	elif "$PROBITY" log verify ex --vkey "$VKEY" >out 2>err; then fail "$1: log verify passed"
	elif grep -qE "$2" out err; then ok
	else fail "$1: log verify does not say /$2/: $(cat out err)"; fi
}
# refused NAME ERE: decide does not enforce the newest version, saying ERE,
# and still enforces version 1 on request
refused() {
	if decide >/dev/null 2>derr; then fail "$1: decide enforces it"
	elif grep -qE "$2" derr; then ok
	else fail "$1: decide does not say /$2/: $(cat derr)"; fi
	grep -q 'version 1' <<<"$(decide --version 1 2>&1)" && ok || fail "$1: decide lost version 1"
}
newplan() { A plan new "$WS" 1 --disable 'category=Compute country=NL' || fail "plan 2: $(cat "$TMP/err")"; }
last() { sql "SELECT max(idx) FROM audit_entry"; }

# forced NAME ERE DECIDE-ERE [ROW]: once a table the writer trusts is edited,
# bob approves plan 2 (softauthn get with $BOBARGS), dana too, alice applies:
# log check and log verify say ERE at ROW (default: bob's entry), decide
# refuses saying DECIDE-ERE
forced() {
	newplan
	SOFTARGS=${BOBARGS:-} wsign bob plan approve "$WS" 2 || fail "$1: bob approves plan 2: $(cat "$TMP/err")"
	local xi
	xi=$(last)
	wsign dana plan approve "$WS" 2 || fail "$1: dana approves plan 2: $(cat "$TMP/err")"
	A plan apply "$WS" 2 || fail "$1: apply of plan 2: $(cat "$TMP/err")"
	xi=${4:-$xi}
	found "$1" "^table audit_entry row $xi: $2"
	exported "$1" "audit_entry row $xi: $2"
	refused "$1" "$3"
	restore
	cp bob.saved bob.cred
}

# 1. a credential of another user: carol's passkey moved to bob in the table
sql "UPDATE user_passkey SET user = 'bob' WHERE fp = '$carolfp'"
cp carol.cred bob.cred
forced "another user's credential" "plan.approve by 'bob' is signed with passkey $carolfp, registered to 'carol'" \
	"passkey $carolfp is registered to 'carol', not 'bob'"

# 2. a replayed assertion (its counter does not grow): the stored counter set back
c=$(sql "SELECT sign_count FROM user_passkey WHERE fp = '$bobfp'")
sql "UPDATE user_passkey SET sign_count = 0 WHERE fp = '$bobfp'"
BOBARGS="--counter $c" forced "a replayed counter" ".*signed with counter $c, not above $c" \
	"passkey $bobfp signed with counter $c, not above $c"

# 3. an assertion from a revoked credential: the revocation taken out of the table
R user passkey revoke "$WS" bob "$bobfp" --reason "phone lost" || fail "revoke: $(cat "$TMP/err")"
sql "UPDATE user_passkey SET revoked_idx = NULL, revoke_reason = NULL WHERE fp = '$bobfp'"
forced "a revoked passkey" "plan.approve by 'bob' is signed with passkey $bobfp, revoked at entry" \
	"passkey $bobfp of 'bob' was revoked at entry"

# 12. a web.origin by an analyst: alice made admin in the table, she
#     declares the same origin again, and is put back; bob and dana approve
#     plan 2 under it and alice applies
sql "UPDATE app_user SET role = 'admin' WHERE name = 'alice'"
A user passkey origin "$WS" "$ORIGIN" || fail "alice declares the origin: $(cat "$TMP/err")"
oi=$(last)
sql "UPDATE app_user SET role = 'analyst' WHERE name = 'alice'"
forced "a web.origin by an analyst" "actor 'alice' was analyst at this position; web.origin needs the role admin" \
	"entry $oi: the web.origin is by 'alice', who was an analyst there by the log, not an enabled admin" "$oi"

# 13. a replayed counter hidden in the rows beside the log: bob approves
#     plan 2 (never applied); that entry's counter is lowered in its row's
#     bytes (not its leaf hash) and the stored counter set back; bob then
#     approves plan 3 with the same counter, dana too, alice applies. The
#     loader reads counters only from entries that verify.
newplan
wsign bob plan approve "$WS" 2 || fail "bob approves plan 2: $(cat "$TMP/err")"
xi=$(last)
cx=$(sql "SELECT sign_count FROM user_passkey WHERE fp = '$bobfp'")
python3 - "$xi" <<'PY'
import base64, json, sqlite3, sys
db = sqlite3.connect("ws/probity.db")
idx = int(sys.argv[1])
e = json.loads(db.execute("SELECT CAST(data AS TEXT) FROM audit_entry WHERE idx = ?", (idx,)).fetchone()[0])
w = e["sig"]["webauthn"]
ad = bytearray(base64.urlsafe_b64decode(w["authenticator_data"] + "=="))
ad[33:37] = bytes(4)
w["authenticator_data"] = base64.urlsafe_b64encode(bytes(ad)).decode().rstrip("=")
db.execute("DROP TRIGGER IF EXISTS audit_entry_append_only")
db.execute("UPDATE audit_entry SET data = ? WHERE idx = ?",
           (json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), idx))
db.commit()
PY
sql "UPDATE user_passkey SET sign_count = $((cx - 1)) WHERE fp = '$bobfp'"
A plan new "$WS" 1 --disable 'category=Databases country=NL' || fail "plan 3: $(cat "$TMP/err")"
SOFTARGS="--counter $cx" wsign bob plan approve "$WS" 3 || fail "bob replays his counter: $(cat "$TMP/err")"
wsign dana plan approve "$WS" 3 || fail "dana approves plan 3: $(cat "$TMP/err")"
A plan apply "$WS" 3 || fail "apply with bob's replayed counter: $(cat "$TMP/err")"
found "a counter lowered in its row" "audit_entry $xi: stored leaf hash does not match the entry"
refused "a counter lowered in its row" "entry $xi"
restore
cp bob.saved bob.cred

# 5. a passkey-add without a valid invitation: dana's used invitation marked
#    unused again in the table, and a second credential registered with it
dtok=$(cat dana.token)
sql "UPDATE web_invite SET used_at = NULL, passkey_idx = NULL WHERE user = 'dana'"
cp dana.cred dana.saved
c2=$(ch)
"$SOFT" new --alg es256 --rp-id "$RP" --origin "$ORIGIN" --challenge "$c2" --out dana.cred >dana2.reg.json
if wsign dana user passkey add "$WS" --credential dana2.reg.json --challenge "$c2" --invite-token "$dtok"; then
	xi=$(last)
	found "an invitation used twice" "^table audit_entry row $xi: user.passkey-add of 'dana' names entry [0-9]+ as its invitation: entry [0-9]+ used it already"
	exported "an invitation used twice" "audit_entry row $xi: user.passkey-add of 'dana' names entry [0-9]+ as its invitation: entry [0-9]+ used it already"
	newplan
	wsign dana plan approve "$WS" 2 || fail "dana approves with the second passkey: $(cat "$TMP/err")"
	wsign bob plan approve "$WS" 2 || fail "bob approves plan 2: $(cat "$TMP/err")"
	A plan apply "$WS" 2 || fail "apply of plan 2: $(cat "$TMP/err")"
	refused "an invitation used twice" "as its invitation: entry [0-9]+ used it already"
else
	ok; ok; ok; ok # refused at write time: fine too
fi
restore; cp dana.saved dana.cred; cp bob.saved bob.cred

# 6-10. the assertion itself forged (what no table lets past the writer):
# bob's approval of plan 2, the last entry, rewritten with another assertion
# as an attacker with the file would, the tree rebuilt to match (no
# checkpoint covers it yet); dana approves and alice applies on top
rewrite() { # rewrite IDX ASSERTION.json [ACTOR FP]
	python3 - "$@" <<'PY'
import hashlib, json, sqlite3, sys
db = sqlite3.connect("ws/probity.db")
idx, a = int(sys.argv[1]), json.load(open(sys.argv[2]))["response"]
e = json.loads(db.execute("SELECT CAST(data AS TEXT) FROM audit_entry WHERE idx = ?", (idx,)).fetchone()[0])
for t in ("audit_entry_append_only", "audit_node_append_only", "audit_node_no_delete"):
    db.execute("DROP TRIGGER IF EXISTS " + t)
if len(sys.argv) > 3:  # another actor, with their passkey
    e["actor"], e["sig"]["key_fp"] = sys.argv[3], sys.argv[4]
    db.execute("UPDATE audit_entry SET actor = ? WHERE idx = ?", (sys.argv[3], idx))
e["sig"]["webauthn"] = {"authenticator_data": a["authenticatorData"],
                        "client_data_json": a["clientDataJSON"], "signature": a["signature"]}
text = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
db.execute("UPDATE audit_entry SET data = ?, leaf_hash = ? WHERE idx = ?",
           (text, hashlib.sha256(b"\0" + text).digest(), idx))
# the tree (RFC 6962) from the leaves: every perfect subtree, the head
level = [bytes(r[0]) for r in db.execute("SELECT leaf_hash FROM audit_entry ORDER BY idx")]
size = len(level)
node = lambda l, r: hashlib.sha256(b"\1" + l + r).digest()
db.execute("DELETE FROM audit_node")
lv = 0
while len(level) > 1:
    level = [node(level[2 * k], level[2 * k + 1]) for k in range(len(level) // 2)]
    lv += 1
    db.executemany("INSERT INTO audit_node(level, idx, hash) VALUES (?, ?, ?)",
                   [(lv, k, h) for k, h in enumerate(level)])
rng, start = [], 0
for l in range(63, -1, -1):
    if size >> l & 1:
        h = db.execute("SELECT leaf_hash FROM audit_entry WHERE idx = ?", (start,)).fetchone()[0] if l == 0 else \
            db.execute("SELECT hash FROM audit_node WHERE level = ? AND idx = ?", (l, start >> l)).fetchone()[0]
        rng.append((l, bytes(h)))
        start += 1 << l
root = rng[-1][1]
for l, h in reversed(rng[:-1]):
    root = node(h, root)
db.execute("UPDATE audit_state SET root = ?, range = ? WHERE id = 1",
           (root, b"".join(bytes([l]) + h for l, h in rng)))
db.commit()
PY
}
# forge NAME ERE [other] SOFTAUTHN-ARGS...: bob approves plan 2; his entry is
# given softauthn's assertion over its own statement (or, with "other",
# over another: plan 1's approval statement), made with ARGS
forge() {
	local name=$1 ere=$2 st
	shift 2
	restore
	cp bob.saved bob.cred
	newplan
	wsign bob plan approve "$WS" 2 || { fail "$name: bob approves plan 2: $(cat "$TMP/err")"; return; }
	local xi
	xi=$(last)
	st=$TMP/st.bob
	[ "$1" = other ] && { st=bi.statement; shift; }
	"$SOFT" get bob.cred --statement "$st" "$@" >forged.json || { fail "$name: softauthn"; return; }
	if [ "${FLIP:-}" ]; then
		python3 -c "
import json; a = json.load(open('forged.json')); s = a['response']['signature']
a['response']['signature'] = s[:12] + ('A' if s[12] != 'A' else 'B') + s[13:]
json.dump(a, open('forged.json', 'w'))"
	fi
	rewrite "$xi" forged.json
	found "$name" "^table audit_entry row $xi: .*$ere"
	exported "$name" "audit_entry row $xi: .*$ere"
	if wsign dana plan approve "$WS" 2 && A plan apply "$WS" 2; then
		refused "$name" "$ere"
	else
		ok; ok # the apply refused at write time: fine too
	fi
}
"$PROBITY" log statement "$WS" "$bi" >bi.statement 2>/dev/null || fail "log statement $bi"
forge "an assertion for another plan's challenge" "the challenge is not the one expected" other --rp-id "$RP" --origin "$ORIGIN"
forge "another origin" "origin 'https://evil.example'" --rp-id "$RP" --origin https://evil.example
forge "another RP ID" "RP ID hash" --rp-id evil.example --origin "$ORIGIN"
forge "UV cleared" "user verification" --rp-id "$RP" --origin "$ORIGIN" --no-uv
FLIP=1 forge "a bit-flipped signature" "does not verify with the passkey" --rp-id "$RP" --origin "$ORIGIN"
restore
cp bob.saved bob.cred
# 11. an approval by the plan's author: bob's approval of plan 2 rewritten
# as alice's (she registers a passkey and signs the statement with her
# actor in it): the writer never lets an author approve
restore
register alice || fail "alice's passkey: $(cat "$TMP/err")"
alicefp=$(sql "SELECT fp FROM user_passkey WHERE user = 'alice'")
cp saved.db saved0.db && cp "$DB" saved.db
cp bob.saved bob.cred
newplan
wsign bob plan approve "$WS" 2 || fail "bob approves plan 2: $(cat "$TMP/err")"
xi=$(last)
python3 - "$xi" <<'PY' >st.alice
import json, sqlite3, sys
e = json.loads(sqlite3.connect("ws/probity.db").execute(
    "SELECT CAST(data AS TEXT) FROM audit_entry WHERE idx = ?", (int(sys.argv[1]),)).fetchone()[0])
st = {k: e[k] for k in ("action", "case", "details", "subject") if k in e}
st.update(actor="alice", log=e["sig"]["log"], nonce=e["sig"]["nonce"], type="probity statement", v=1)
print(json.dumps(st, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
PY
"$SOFT" get alice.cred --statement st.alice --rp-id "$RP" --origin "$ORIGIN" >forged.json || fail "softauthn alice"
rewrite "$xi" forged.json alice "$alicefp"
found "an approval by the author" "^table audit_entry row $xi: plan.approve of plan 2 by 'alice', an author of the plan"
exported "an approval by the author" "audit_entry row $xi: plan.approve of plan 2 by 'alice', an author of the plan"
wsign dana plan approve "$WS" 2 || fail "dana approves plan 2: $(cat "$TMP/err")"
if A plan apply "$WS" 2; then
	refused "an approval by the author" "an author of plan 2"
else
	ok; ok # the apply does not count it: refused at write time
fi
cp saved0.db saved.db
restore
check "the restored workspace checks" q log check "$WS"
finish passkey-forgery
