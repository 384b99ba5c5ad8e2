#!/bin/bash
# web-approve.sh - issue 14 in one real browser run: a signed workspace (the
# admin's SSH key made with ssh-keygen) with the demo usage and customer, the
# origin http://localhost:PORT declared (Chromium refuses an IP address as RP
# ID; the server still listens on 127.0.0.1). In Debian's headless chromium
# (tests/e2e/approve_check.js, one virtual authenticator per user) an analyst
# and two approvers enrol with passkeys; the analyst opens a case and drafts a
# plan, the approvers approve it, the analyst applies it, each signed by a
# passkey (screenshots of the plan page before approval, after one and after
# two: build/<variant>/web-screens/plan-signed-*.png); `probity decide` then
# denies the customer's storage call, `log check` passes and an export's `log
# verify` holds the two-person rule over the two passkey approvals. Then
# forgeries over HTTP with softauthn and an approver's session and CSRF token
# (erin; carol's passkey and erin's revoked one beside): an assertion for
# another plan, from another origin, for another RP ID, replayed (the same
# assertion; a new one with the same counter), without user verification, an
# approval by the plan's author, another user's credential, a bit flipped in
# the signature, a revoked credential: each 403 with the log's size unchanged.
# 127.0.0.1 only; every wait bounded; stopped by pid.
SCRIPT_NAME=web-approve
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
. "$(dirname "$0")/../web_lib.sh"
unset SSH_AUTH_SOCK PROBITY_KEY_DIR
browser_require web-approve
command -v ssh-keygen >/dev/null ||
	{ fail "ssh-keygen is needed (Debian openssh-client)"; finish web-approve; exit; }
SOFTAUTHN=$PB_BUILD/tests/tools/softauthn
[ -x "$SOFTAUTHN" ] || { fail "softauthn is not built (make test-tools)"; finish web-approve; exit; }
browser_npm web-approve

cd "$TMP" || exit 1
mkdir -m 700 keys
ssh-keygen -q -t ed25519 -N '' -C "root@web-approve" -f keys/root
R=(-i keys/root)
q() { "$PROBITY" "$@" >>cli.out 2>>cli.err || fail "probity $1 $2 $3: $(tail -2 cli.err)"; }
PORT=$(free_port)
export BASE=http://localhost:$PORT WS=$TMP/ws CHROMIUM
export STORAGE_SUB=3f8a2c41-7d10-4e2b-9a51-0c6e1f2d7a90 # the demo customer's storage (genfocus)
"$PB_BUILD/tools/genfocus" demo --months 7 --end 2026-10 >usage.csv
q init ws --user root --key-file keys/root.pub "${R[@]}"
q ingest -q ws usage.csv "${R[@]}"
q customer add ws "Varnia Interior Ministry" --account EA-880412 "${R[@]}"
for u in alice:analyst bob:approver dana:approver erin:approver carol:analyst; do
	q user add ws "${u%%:*}" --role "${u#*:}" "${R[@]}"
done
q user passkey origin ws "$BASE" "${R[@]}"
link() { "$PROBITY" user invite ws "$1" --url "$BASE" "${R[@]}" 2>>cli.err | tail -1; }
for u in alice bob dana; do
	l=$(link $u)
	export "LINK_$u=$l"
done
check "invitations printed links" grep -qE '^http://localhost:[0-9]+/enrol\?token=[0-9a-f]{64}$' <<<"$LINK_bob"
curl() { command curl --max-time 30 --resolve "localhost:$PORT:127.0.0.1" "$@"; }
C=(curl -s -H "Origin: $BASE")
WEB_SIGN=("${R[@]}")

"$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet >web.out 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$BASE/signin" && break; sleep 0.1; done

browser_node approve_check.js 20
for n in before-approval one-approval two-approvals; do
	check "screenshot plan-signed-$n" test -s "$SHOTS/plan-signed-$n-desktop.png"
done

# ---- the log of the browser run -------------------------------------------------
"$PROBITY" log show ws --json >log.json 2>/dev/null
python3 - log.json >apply.txt <<'PY'
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {e['index']: e for e in es}
def pk(e):
    return 'webauthn' in (e.get('sig') or {}) and e['sig']['key_fp'].startswith('webauthn:')
for e in es:
    if e['action'] == 'plan.apply':
        d = e['details'] if isinstance(e['details'], dict) else json.loads(e['details'])
        ap = d.get('approvals', [])
        print('apply', e['actor'], 'passkey' if pk(e) else 'not-passkey', len(ap),
              ' '.join(a['actor'] + ':' + ('passkey' if pk(by[a['index']]) and
                        by[a['index']]['sig']['key_fp'] == a['key_fp'] else 'not-passkey') for a in ap))
    if e['action'] in ('plan.new', 'plan.approve', 'case.open'):
        print(e['action'], e['actor'], 'passkey' if pk(e) else 'not-passkey')
PY
check "alice's plan.apply is passkey-signed and lists bob's and dana's passkey approvals ($(head -c 300 apply.txt))" \
	grep -qx 'apply alice passkey 2 bob:passkey dana:passkey' apply.txt
check "every case.open, plan.new and plan.approve is passkey-signed" \
	test "$(grep -c ' passkey$' apply.txt)" -ge 6 -a "$(grep -c 'not-passkey' apply.txt)" = 0

# ---- forgeries over HTTP: erin, an approver, with softauthn ---------------------
check "erin signs in with a password" test "$(web_signin ws "$BASE" erin ej)" = 200
code=$(register ej erin.cred)
check "erin's passkey is registered from /account, signed by itself ($code)" test "$code" = 303
l=$(link erin); echo "${l#*token=}" >ej.tok
code=$(register ej erin2.cred)
check "erin's second passkey is registered under a new invitation ($code)" test "$code" = 303
q user passkey revoke ws erin "$(fp erin2.cred)" --reason "authenticator lost" "${R[@]}"
check "carol signs in with a password" test "$(web_signin ws "$BASE" carol cj)" = 200
code=$(register cj carol.cred)
check "carol's passkey is registered ($code)" test "$code" = 303

size() { "$PROBITY" log show ws --json | grep -c '"index"'; }
sha() { curl -s -b "$1" "$BASE/plans/$2" | grep -o 'name="sha256" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//'; }
statement() { # jar plan out: the statement of the jar's user approving the plan
	"${C[@]}" -b "$1" -o "$3.json" --data "csrf=$(csrf "$1" "/plans/$2")" --data "sha256=$(sha "$1" "$2")&text=" \
		--data sign_step=statement "$BASE/plans/$2/approve"
	json "$3.json" "['statement']" >"$3"
}
approve_with() { # jar plan statement assertion: the status of the approval
	wa "$3" "$4"
	"${C[@]}" -b "$1" -o approve.html -w '%{http_code}' --data "csrf=$(csrf "$1" "/plans/$2")" \
		--data "sha256=$(sha "$1" "$2")&text=" "${WA[@]}" "$BASE/plans/$2/approve"
}
forged() { # what jar plan statement assertion why: refused with a reason matching why
	local before code said
	before=$(size)
	code=$(approve_with "$2" "$3" "$4" "$5")
	said=$(grep -o 'role="alert">[^<]*' approve.html | head -1 | sed "s/&#39;/'/g")
	echo "$1: $code $said" >>forgeries.txt
	check "$1: refused (403: $code, $said)" test "$code" = 403
	check "... for its reason ($6)" grep -qE "$6" <<<"$said"
	check "... nothing written (log size $before)" test "$(size)" = "$before"
}
get() { "$SOFTAUTHN" get "$1" --rp-id localhost --origin "$BASE" "${@:2}" 2>>cli.err; }
statement ej 2 s2
statement ej 3 s3
check "erin's approval of plan 2 has a statement ($(head -c 120 s2.json))" grep -qE '"action": ?"plan.approve"' s2
get erin.cred --statement s3 >a3
forged "an assertion for another plan's challenge (plan 3's, on plan 2)" ej 2 s2 a3 "the challenge is not the one expected"
"$SOFTAUTHN" get erin.cred --rp-id localhost --origin "http://evil.localhost:$PORT" --statement s2 >a 2>>cli.err
forged "an assertion from another origin" ej 2 s2 a "origin 'http://evil.localhost"
"$SOFTAUTHN" get erin.cred --rp-id example.com --origin "$BASE" --statement s2 >a 2>>cli.err
forged "an assertion for another RP ID" ej 2 s2 a "RP ID hash is not"
get erin.cred --statement s2 --no-uv >a
forged "an assertion with user verification cleared" ej 2 s2 a "user verification \\(UV\\) is required"
get carol.cred --statement s2 >a
forged "another user's credential (carol's passkey on erin's approval)" ej 2 s2 a "registered to 'carol', not to 'erin'"
get erin2.cred --statement s2 >a
forged "a revoked credential (erin's second passkey)" ej 2 s2 a "was revoked by log entry"
get erin.cred --statement s2 >ok2
python3 - ok2 flip <<'PY'
import json, sys, base64
d = json.load(open(sys.argv[1]))
s = d['response']['signature']
b = bytearray(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)))
b[len(b) // 2] ^= 1
d['response']['signature'] = base64.urlsafe_b64encode(bytes(b)).decode().rstrip('=')
json.dump(d, open(sys.argv[2], 'w'))
PY
forged "a bit-flipped signature" ej 2 s2 flip "signature: does not verify"
before=$(size)
code=$(approve_with ej 2 s2 ok2)
check "the good assertion writes erin's approval of plan 2 ($code)" test "$code" = 303 -a "$(size)" -gt "$before"
statement ej 3 s3
forged "the same assertion replayed on plan 3" ej 3 s2 ok2 "the statement does not describe this change"
counter=$(json erin.cred "['counter']")
get erin.cred --statement s3 --counter "$counter" >a
forged "a new assertion with the counter already used (a cloned authenticator)" ej 3 s3 a "counter did not grow"
# an approval by the plan's author: erin drafts plan 4, signed by her passkey
D=(--data "csrf=$(csrf ej /cases/1/plans/new)" --data "disable=capability=translation&keep=&effective=&until=&review_by=&clause=&approvals=&appeal_days=")
"${C[@]}" -b ej -o d4.json "${D[@]}" --data sign_step=statement "$BASE/cases/1/plans/new"
json d4.json "['statement']" >d4
get erin.cred --statement d4 >a
wa d4 a
code=$("${C[@]}" -b ej -o d4.html -w '%{http_code}' "${D[@]}" "${WA[@]}" "$BASE/cases/1/plans/new")
check "erin drafts plan 4, signed by her passkey ($code)" test "$code" = 303
"${C[@]}" -b ej -o s4.json -w '%{http_code}' --data "csrf=$(csrf ej /plans/4)" --data "sha256=$(sha ej 4)&text=" \
	--data sign_step=statement "$BASE/plans/4/approve" >s4.code
if grep -q '"statement"' s4.json; then
	json s4.json "['statement']" >s4
	get erin.cred --statement s4 >a
	forged "an approval by the plan's author, signed by her passkey" ej 4 s4 a "is an author of plan 4"
else # refused before there is a statement to sign: a forbidden request, logged as one
	check "an approval by the plan's author is refused at its statement ($(cat s4.code): $(grep -o 'role="alert">[^<]*' s4.json))" \
		grep -q 'is an author of plan 4' s4.json
	check "... and logged as web.forbidden, as any forbidden request" \
		bash -c '"$PROBITY" log show ws --json | tail -1 | grep -q "\"action\":\"web.forbidden\",\"actor\":\"erin\""'
	statement ej 3 s3 # an assertion of erin's carried along: refused, nothing written at all
	get erin.cred --statement s3 >a
	forged "an approval by the plan's author with an assertion of hers" ej 4 s3 a "is an author of plan 4"
fi

kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0
check "log check passes ($(tail -1 cli.err))" "$PROBITY" log check ws
"$PROBITY" log export ws export "${R[@]}" >/dev/null 2>export.err
"$PROBITY" log verify export --vkey "$(cat export/vkey 2>/dev/null)" >verify.out 2>&1
check "an export verifies offline ($(tail -2 verify.out))" grep -q '^verified' verify.out
check "... its signatures verify and the two-person rule holds" grep -q 'every apply and rollback holds the two-person rule' verify.out
finish web-approve
