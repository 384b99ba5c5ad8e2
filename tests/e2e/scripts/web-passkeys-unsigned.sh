#!/bin/bash
# web-passkeys-unsigned.sh - passkeys in probity web on an unsigned workspace,
# over HTTP with curl and tests/tools/softauthn (no browser): the signed-in
# user registers a passkey from /account (no invitation needed, the entry
# unsigned, no statement step), then signs in with it through /signin's
# passkey endpoints; a sign-in challenge works once, a challenge the server
# never issued and an assertion with user verification cleared are refused;
# the sign-in page of a workspace that declares no origin says so. Forms
# submit as before (no data-signed page). 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-passkeys-unsigned
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../web_lib.sh"
SA=$PB_BUILD/tests/tools/softauthn
[ -x "$SA" ] || { fail "softauthn is not built (make test-tools)"; finish web-passkeys-unsigned; exit; }
cd "$TMP" || exit 1
PORT=$(free_port)
B=http://localhost:$PORT
curl() { command curl --resolve "localhost:$PORT:127.0.0.1" "$@"; }
"$PROBITY" init --unsigned ws >/dev/null 2>&1
"$PROBITY" user add ws alice --role analyst >/dev/null 2>&1
"$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]), end="")' "$@"; }
C=(curl -s -H "Origin: $B")

check "alice signs in with a password" test "$(web_signin ws "$B" alice aj)" = 200
T=$(curl -s -b aj "$B/account" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
code=$("${C[@]}" -b aj -o none.json -w '%{http_code}' --data "csrf=$T" "$B/account/passkey/options")
check "no origin declared: the options say so ($code)" \
	bash -c "test $code = 409 && grep -q 'declares no web origin' none.json"
"$PROBITY" user passkey origin ws "$B" >/dev/null 2>&1
check "the pages of an unsigned workspace are not marked signed" \
	bash -c "! curl -s -b aj '$B/account' | grep -q 'data-signed'"

"${C[@]}" -b aj -o opt.json --data "csrf=$T" "$B/account/passkey/options"
"$SA" new --alg eddsa --rp-id localhost --origin "$B" --challenge "$(json opt.json "['challenge']")" \
	--out alice.cred >alice.reg 2>sa.err
code=$("${C[@]}" -b aj -o reg.html -w '%{http_code}' --data "csrf=$T" \
	--data-urlencode "challenge=$(json opt.json "['challenge']")" \
	--data-urlencode "cred=$(json alice.reg "['id']")" \
	--data-urlencode "attestation=$(json alice.reg "['response']['attestationObject']")" \
	--data-urlencode "client_data=$(json alice.reg "['response']['clientDataJSON']")" \
	--data "label=soft" "$B/account/passkey")
check "alice registers an EdDSA passkey from /account ($code)" test "$code" = 303
check "...listed on her account page" bash -c "curl -s -b aj '$B/account' | grep -q 'webauthn:'"
check "...an unsigned user.passkey-add entry" \
	bash -c "'$PROBITY' log show ws --json 2>/dev/null | grep -q '\"action\":\"user.passkey-add\"'"

# sign-in: the pre-session cookie and its token, a challenge, an assertion
curl -s -c pj -b pj -o signin.html "$B/signin"
P=$(grep -o 'data-csrf="[0-9a-f]*"' signin.html | sed 's/.*="//;s/"//')
check "the sign-in page offers a passkey" grep -q 'data-passkey="signin"' signin.html
signin() { # challenge [softauthn options]: the status of POST /signin/passkey
	local ch=$1
	shift
	"$SA" get alice.cred --rp-id localhost --origin "$B" --challenge "$ch" "$@" >as.json 2>>sa.err
	"${C[@]}" -b pj -c pj -o in.html -w '%{http_code}' --data "csrf=$P" --data-urlencode "challenge=$ch" \
		--data-urlencode "wa_cred=$(json as.json "['id']")" \
		--data-urlencode "wa_authdata=$(json as.json "['response']['authenticatorData']")" \
		--data-urlencode "wa_clientdata=$(json as.json "['response']['clientDataJSON']")" \
		--data-urlencode "wa_sig=$(json as.json "['response']['signature']")" "$B/signin/passkey"
}
"${C[@]}" -b pj -o so.json --data "csrf=$P" "$B/signin/passkey/options"
CH=$(json so.json "['challenge']")
code=$(signin "$CH")
check "alice signs in with her passkey ($code)" test "$code" = 303
check "...and the session is hers" bash -c "curl -s -b pj '$B/' | grep -q 'alice (analyst)'"
code=$(signin "$CH")
check "the same challenge twice is refused ($code)" test "$code" = 403
code=$(signin "$(python3 -c 'import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')")
check "a challenge the server never issued is refused ($code)" test "$code" = 403
"${C[@]}" -b pj -o so.json --data "csrf=$P" "$B/signin/passkey/options"
code=$(signin "$(json so.json "['challenge']")" --no-uv)
check "an assertion without user verification is refused ($code)" test "$code" = 403
code=$("${C[@]}" -b pj -o /dev/null -w '%{http_code}' --data "csrf=wrong" "$B/signin/passkey/options")
check "options without the pre-session token: 403 ($code)" test "$code" = 403
kill -TERM $WPID; wait $WPID
check "the log checks" "$PROBITY" log check ws
finish web-passkeys-unsigned
