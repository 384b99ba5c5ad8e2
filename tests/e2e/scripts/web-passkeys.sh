#!/bin/bash
# web-passkeys.sh - passkeys in probity web, on a signed workspace (the
# admin's SSH key made with ssh-keygen, as web-signed.sh does; the origin
# http://localhost:PORT declared by the admin on the command line: Chromium
# refuses an IP address as RP ID, the server still listens on 127.0.0.1).
# In Debian's headless chromium (tests/e2e/passkey_check.js, the DevTools
# virtual authenticator, one per user): root, alice and bob enrol through
# their invitations with a passkey that signs its own registration; each
# signs in with it, signs out, signs in again; alice opens a case,
# writes a note and attaches a document (multipart), each signed by her
# passkey after the dialog showed the statement; cancelling and a failed user verification are said; the
# admin pages (axe, screenshots under build/<variant>/web-screens/);
# the admin revokes bob's passkey (signed by the admin's passkey) and bob's
# sign-in with it then fails. Then over HTTP with curl and
# tests/tools/softauthn (carol's passkey, registered through /account):
# assertions for another statement, from another origin, with user
# verification cleared, replayed, by another user's credential, with a
# bit flipped in the signature: each 403 and the log's size unchanged.
# Finally `probity log check` and an export's `log verify`. 127.0.0.1 only;
# stopped by pid.
SCRIPT_NAME=web-passkeys
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
. "$(dirname "$0")/../web_lib.sh" # web_signin, json, csrf, wa
unset SSH_AUTH_SOCK PROBITY_KEY_DIR
browser_require web-passkeys
command -v ssh-keygen >/dev/null ||
	{ fail "ssh-keygen is needed (Debian openssh-client)"; finish web-passkeys; exit; }
SOFTAUTHN=$PB_BUILD/tests/tools/softauthn
[ -x "$SOFTAUTHN" ] || { fail "softauthn is not built (make test-tools)"; finish web-passkeys; exit; }
browser_npm web-passkeys

cd "$TMP" || exit 1
mkdir -m 700 keys
ssh-keygen -q -t ed25519 -N '' -C "root@web-passkeys" -f keys/root
ssh-keygen -q -t ed25519 -N '' -C "carol@web-passkeys" -f keys/carol
export KEY_CAROL
KEY_CAROL=$(cat keys/carol.pub)
R=(-i keys/root)
WEB_SIGN=("${R[@]}") # web_signin invites as root
q() { "$PROBITY" "$@" >>cli.out 2>>cli.err || fail "probity $1 $2 $3: $(tail -2 cli.err)"; }
PORT=$(free_port)
export BASE=http://localhost:$PORT
B=$BASE # curl: localhost is the server's 127.0.0.1 (--resolve)
curl() { command curl --resolve "localhost:$PORT:127.0.0.1" "$@"; }
q init ws --user root --key-file keys/root.pub "${R[@]}"
q user add ws alice --role analyst "${R[@]}"
q user add ws bob --role approver "${R[@]}"
q user add ws carol --role analyst "${R[@]}"
q customer add ws acme --account A1 "${R[@]}"
q user passkey origin ws "$BASE" "${R[@]}"
link() { "$PROBITY" user invite ws "$1" --url "$BASE" "${R[@]}" 2>>cli.err | tail -1; }
export LINK_ALICE LINK_BOB LINK_ROOT ROOT_NAME=root CHROMIUM
LINK_ALICE=$(link alice); LINK_BOB=$(link bob); LINK_ROOT=$(link root)
check "invitations printed links" grep -qE '^http://localhost:[0-9]+/enrol\?token=[0-9a-f]{64}$' <<<"$LINK_BOB"

"$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet >web.out 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done

browser_node passkey_check.js 30
count() { "$PROBITY" log show ws --json | grep -c "\"action\": *\"$1\""; }
check "three passkeys registered in the log" test "$(count user.passkey-add)" = 3
check "alice's note is on the log" test "$(count case.note)" = 1
check "alice's signed upload is on the log" test "$(count case.document)" = 1
check "bob's passkey revoked on the log" test "$(count user.passkey-revoke)" = 1

# ---- over HTTP: carol registers a softauthn passkey from /account --------------
C=(curl -s -H "Origin: $BASE")
check "carol signs in with a password" test "$(web_signin ws "$B" carol cj)" = 200
T=$(csrf cj /account)
"${C[@]}" -b cj -o opt.json --data "csrf=$T" "$B/account/passkey/options"
check "create() options: a challenge and the declared RP ID ($(head -c 200 opt.json))" \
	test "$(json opt.json "['rp_id']")" = localhost
"$SOFTAUTHN" new --alg es256 --rp-id localhost --origin "$BASE" --challenge "$(json opt.json "['challenge']")" \
	--out carol.cred >carol.reg 2>>cli.err
REG=(--data "csrf=$T" --data-urlencode "challenge=$(json opt.json "['challenge']")"
	--data-urlencode "cred=$(json carol.reg "['id']")"
	--data-urlencode "attestation=$(json carol.reg "['response']['attestationObject']")"
	--data-urlencode "client_data=$(json carol.reg "['response']['clientDataJSON']")"
	--data "label=soft&token=$(cat cj.tok)")
"${C[@]}" -b cj -o reg.json "${REG[@]}" --data "sign_step=statement" "$B/account/passkey"
json reg.json "['statement']" >reg.st
check "the registration's statement is handed out, for the new credential only" \
	test "$(json reg.json "['allow']")" = "['$(json carol.reg "['id']")']"
"$SOFTAUTHN" get carol.cred --rp-id localhost --origin "$BASE" --statement reg.st >reg.as 2>>cli.err
wa reg.st reg.as
code=$("${C[@]}" -b cj -o reg.html -w '%{http_code}' "${REG[@]}" "${WA[@]}" "$B/account/passkey")
check "carol's passkey is registered, signed by itself ($code: $(grep -o 'class="err"[^<]*' reg.html))" test "$code" = 303

# ---- forgeries: each 403, nothing written ----------------------------------------
size() { "$PROBITY" log show ws --json | grep -c '"index"'; }
CASE=1 # the case alice opened in the browser
NOTE=(--data "csrf=$(csrf cj "/cases/$CASE")")
statement() { # jar text out: the statement of a note
	"${C[@]}" -b "$1" -o "$3.json" --data "csrf=$(csrf "$1" "/cases/$CASE")" --data-urlencode "text=$2" \
		--data sign_step=statement "$B/cases/$CASE/note"
	json "$3.json" "['statement']" >"$3"
}
forged() { # what jar text statement assertion
	local before code
	before=$(size)
	wa "$4" "$5"
	code=$("${C[@]}" -b "$2" -o forged.html -w '%{http_code}' --data "csrf=$(csrf "$2" "/cases/$CASE")" \
		--data-urlencode "text=$3" "${WA[@]}" "$B/cases/$CASE/note")
	check "$1: refused (403: $code, $(grep -o 'role="alert">[^<]*' forged.html | head -c 160))" test "$code" = 403
	check "... nothing written (log size $before)" test "$(size)" = "$before"
}
statement cj "note one" s1
statement cj "note two" s2
"$SOFTAUTHN" get carol.cred --rp-id localhost --origin "$BASE" --statement s2 >a2 2>>cli.err
forged "an assertion for another statement" cj "note one" s1 a2
"$SOFTAUTHN" get carol.cred --rp-id localhost --origin http://evil.localhost:$PORT --statement s1 >a 2>>cli.err
forged "an assertion from another origin" cj "note one" s1 a
"$SOFTAUTHN" get carol.cred --rp-id localhost --origin "$BASE" --statement s1 --no-uv >a 2>>cli.err
forged "an assertion with user verification cleared" cj "note one" s1 a
"$SOFTAUTHN" get carol.cred --rp-id localhost --origin "$BASE" --statement s1 >ok1 2>>cli.err
python3 - ok1 flip <<'EOF'
import json, sys, base64
d = json.load(open(sys.argv[1]))
s = d['response']['signature']
b = bytearray(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)))
b[len(b) // 2] ^= 1
d['response']['signature'] = base64.urlsafe_b64encode(bytes(b)).decode().rstrip('=')
json.dump(d, open(sys.argv[2], 'w'))
EOF
forged "a bit-flipped signature" cj "note one" s1 flip
check "alice signs in with her password" test "$(web_signin ws "$B" alice aj)" = 200
statement aj "alice's text" sa
"$SOFTAUTHN" get carol.cred --rp-id localhost --origin "$BASE" --statement sa >a 2>>cli.err
forged "another user's credential (carol's passkey on alice's statement)" aj "alice's text" sa a
before=$(size)
wa s1 ok1
code=$("${C[@]}" -b cj -o ok.html -w '%{http_code}' --data "csrf=$(csrf cj "/cases/$CASE")" \
	--data-urlencode "text=note one" "${WA[@]}" "$B/cases/$CASE/note")
check "the good assertion writes carol's note ($code)" test "$code" = 303 -a "$(size)" -gt "$before"
forged "the same assertion again (a replay)" cj "note one" s1 ok1

# a signed upload's fields come from the multipart parts: one given twice, or
# a signature field sent as a file, is refused before any handler runs
printf 'minutes\n' >up.txt
before=$(size)
for extra in "-F sign_step=statement -F sign_step=statement" "-F wa_statement=@up.txt"; do
	# shellcheck disable=SC2086
	code=$("${C[@]}" -b cj -o up.html -w '%{http_code}' -F "csrf=$(csrf cj "/cases/$CASE")" \
		-F "file=@up.txt" $extra "$B/cases/$CASE/documents")
	check "a malformed signed upload ($extra) is refused ($code)" test "$code" = 400
done
check "... nothing written (log size $before)" test "$(size)" = "$before"

kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0
check "log check passes ($(tail -1 cli.err))" "$PROBITY" log check ws
"$PROBITY" log export ws export "${R[@]}" >/dev/null 2>export.err
check "an export verifies offline" "$PROBITY" log verify export --vkey "$(cat export/vkey 2>/dev/null)"
finish web-passkeys
