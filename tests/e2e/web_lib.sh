# web_lib.sh - sourced by the web-*.sh scripts (after lib.sh): sign a user in
# to probity web with curl, and passkeys over HTTP with tests/tools/softauthn.
#
# web_signin WS BASE USER JAR [curl args]: invites USER of workspace WS with
# BASE as the link's base (signed by the array WEB_SIGN when set: -i KEY in a
# signed workspace), enrols (password correct-horse-1) and signs in through
# BASE keeping cookies in JAR, then gets / into JAR.home and prints its status.
# Headers of the first answer go to JAR.h0, of the sign-in to JAR.h1; the
# invitation's token to JAR.tok (a passkey may be registered under it).
web_signin() {
	local ws=$1 b=$2 u=$3 j=$4; shift 4
	local C=(curl -s -b "$j" -c "$j" "$@")
	local l tok pre
	l=$("$PROBITY" user invite "$ws" "$u" --url "$b" ${WEB_SIGN[@]+"${WEB_SIGN[@]}"} | tail -1)
	tok=${l#*token=}
	echo "$tok" >"$j.tok"
	"${C[@]}" -D "$j.h0" -o "$j.e" "$b/enrol?token=$tok"
	pre=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$j.e" | sed 's/.*value="//;s/"//')
	"${C[@]}" -o /dev/null -H "Origin: $b" \
		--data "csrf=$pre&token=$tok&password=correct-horse-1&again=correct-horse-1" "$b/enrol"
	"${C[@]}" -D "$j.h1" -o /dev/null -H "Origin: $b" \
		--data "csrf=$pre&name=$u&password=correct-horse-1" "$b/signin"
	"${C[@]}" -o "$j.home" -w '%{http_code}' "$b/"
}

# Passkeys over HTTP, with BASE (http://localhost:PORT, the declared origin),
# PORT and SOFTAUTHN set; the script's curl reaches localhost:PORT at
# 127.0.0.1 (--resolve), every POST sends the origin (the CSRF check).
#
#   json FILE EXPR        python's d+EXPR of FILE's JSON, printed
#   csrf JAR PATH         the CSRF token of PATH's first form
#   wa STATEMENT ASSERT   WA=( the wa_* fields of softauthn's assertion over STATEMENT )
#   register JAR CRED     a softauthn passkey (ES256) made and registered from /account
#                         under JAR.tok, signed by itself; prints the status (303)
#   fp CRED               a registered passkey's fingerprint: webauthn:b64url(SHA-256(id))
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]), end="")' "$@"; }
csrf() { curl -s -b "$1" "$BASE$2" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//'; }

wa() { # statement assertion
	WA=(--data-urlencode "wa_statement@$1" --data-urlencode "wa_cred=$(json "$2" "['id']")"
		--data-urlencode "wa_authdata=$(json "$2" "['response']['authenticatorData']")"
		--data-urlencode "wa_clientdata=$(json "$2" "['response']['clientDataJSON']")"
		--data-urlencode "wa_sig=$(json "$2" "['response']['signature']")")
}

register() { # jar cred
	local t reg C=(curl -s -H "Origin: $BASE" -b "$1")
	t=$(csrf "$1" /account)
	"${C[@]}" -o "$2.opt" --data "csrf=$t" "$BASE/account/passkey/options"
	"$SOFTAUTHN" new --alg es256 --rp-id localhost --origin "$BASE" \
		--challenge "$(json "$2.opt" "['challenge']")" --out "$2" >"$2.reg" 2>>"$2.err"
	reg=(--data "csrf=$t" --data-urlencode "challenge=$(json "$2.opt" "['challenge']")"
		--data-urlencode "cred=$(json "$2.reg" "['id']")"
		--data-urlencode "attestation=$(json "$2.reg" "['response']['attestationObject']")"
		--data-urlencode "client_data=$(json "$2.reg" "['response']['clientDataJSON']")"
		--data "label=soft&token=$(cat "$1.tok")")
	"${C[@]}" -o "$2.st.json" "${reg[@]}" --data "sign_step=statement" "$BASE/account/passkey"
	json "$2.st.json" "['statement']" >"$2.st"
	"$SOFTAUTHN" get "$2" --rp-id localhost --origin "$BASE" --statement "$2.st" >"$2.as" 2>>"$2.err"
	wa "$2.st" "$2.as"
	"${C[@]}" -o "$2.html" -w '%{http_code}' "${reg[@]}" "${WA[@]}" "$BASE/account/passkey"
}

fp() { # cred
	python3 -c 'import json, sys, base64, hashlib
i = json.load(open(sys.argv[1]))["id"]
h = hashlib.sha256(base64.urlsafe_b64decode(i + "=" * (-len(i) % 4))).digest()
print("webauthn:" + base64.urlsafe_b64encode(h).decode().rstrip("="), end="")' "$1.reg"
}
