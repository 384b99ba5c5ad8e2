# passkey_http.sh - passkeys over HTTP with curl and tests/tools/softauthn,
# sourced by e2e scripts after lib.sh with BASE (http://localhost:PORT, the
# declared origin), PORT, SOFTAUTHN and link (USER: a new invitation's link)
# set. curl reaches localhost:PORT at 127.0.0.1 (--resolve); every request
# sends the origin (the app's CSRF check).
#
#   json FILE EXPR           python's d+EXPR of FILE's JSON, printed
#   csrf JAR PATH            the CSRF token of PATH's first form
#   signin_pw USER JAR       a new invitation (its token in USER.tok), the password set
#                            through it, signed in; prints the status of /
#   register USER JAR CRED   a softauthn passkey (ES256) made and registered from
#                            /account under USER.tok, signed by itself; prints the status
#   wa STATEMENT ASSERTION   WA=( the wa_* fields of an assertion over STATEMENT )
#   fp CRED                  the passkey's fingerprint: webauthn:b64url(SHA-256(cred id))
curl() { command curl --max-time 30 --resolve "localhost:$PORT:127.0.0.1" "$@"; }
C=(curl -s -H "Origin: $BASE")
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]), end="")' "$@"; }
csrf() { curl -s -b "$1" "$BASE$2" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//'; }

signin_pw() { # user jar
	local l tok pre
	l=$(link "$1"); tok=${l#*token=}; echo "$tok" >"$1.tok"
	"${C[@]}" -b "$2" -c "$2" -o "$2.e" "$BASE/enrol?token=$tok"
	pre=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$2.e" | head -1 | sed 's/.*value="//;s/"//')
	"${C[@]}" -b "$2" -c "$2" -o /dev/null \
		--data "csrf=$pre&token=$tok&password=$1-password-2&again=$1-password-2" "$BASE/enrol"
	"${C[@]}" -b "$2" -c "$2" -o /dev/null --data "csrf=$pre&name=$1&password=$1-password-2" "$BASE/signin"
	curl -s -b "$2" -o /dev/null -w '%{http_code}' "$BASE/"
}

wa() { # statement-file assertion.json
	WA=(--data-urlencode "wa_statement@$1" --data-urlencode "wa_cred=$(json "$2" "['id']")"
		--data-urlencode "wa_authdata=$(json "$2" "['response']['authenticatorData']")"
		--data-urlencode "wa_clientdata=$(json "$2" "['response']['clientDataJSON']")"
		--data-urlencode "wa_sig=$(json "$2" "['response']['signature']")")
}

register() { # user jar cred
	local t reg
	t=$(csrf "$2" /account)
	"${C[@]}" -b "$2" -o "$3.opt" --data "csrf=$t" "$BASE/account/passkey/options"
	"$SOFTAUTHN" new --alg es256 --rp-id localhost --origin "$BASE" \
		--challenge "$(json "$3.opt" "['challenge']")" --out "$3" >"$3.reg" 2>>cli.err
	reg=(--data "csrf=$t" --data-urlencode "challenge=$(json "$3.opt" "['challenge']")"
		--data-urlencode "cred=$(json "$3.reg" "['id']")"
		--data-urlencode "attestation=$(json "$3.reg" "['response']['attestationObject']")"
		--data-urlencode "client_data=$(json "$3.reg" "['response']['clientDataJSON']")"
		--data "label=soft&token=$(cat "$1.tok")")
	"${C[@]}" -b "$2" -o "$3.st.json" "${reg[@]}" --data "sign_step=statement" "$BASE/account/passkey"
	json "$3.st.json" "['statement']" >"$3.st"
	"$SOFTAUTHN" get "$3" --rp-id localhost --origin "$BASE" --statement "$3.st" >"$3.as" 2>>cli.err
	wa "$3.st" "$3.as"
	"${C[@]}" -b "$2" -o "$3.html" -w '%{http_code}' "${reg[@]}" "${WA[@]}" "$BASE/account/passkey"
}

fp() { # cred
	python3 -c 'import json,sys,base64,hashlib
i=json.load(open(sys.argv[1]))["id"]
h=hashlib.sha256(base64.urlsafe_b64decode(i+"="*(-len(i)%4))).digest()
print("webauthn:"+base64.urlsafe_b64encode(h).decode().rstrip("="), end="")' "$1.reg"
}
