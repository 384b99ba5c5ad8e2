#!/bin/bash
# softauthn.sh - the software authenticator the passkey tests use
# (tests/tools/softauthn): registrations and assertions it prints, shaped as
# a browser's, verify with lib/ident (softauthn check) for ES256 and EdDSA,
# fmt none and packed; the counter grows and is kept in CRED.json;
# --statement signs SHA-256 of the file without its trailing line end; and
# each wrong assertion it can be asked for (no UV, no UP, another type,
# cross-origin, another origin or challenge) is refused with its reason.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=softauthn
SA=$PB_BUILD/tests/tools/softauthn
cd "$TMP" || exit 1
check "softauthn is built (make test-tools)" test -x "$SA"
RP=localhost
O=http://localhost:8080
CH=$(python3 -c 'import base64; print(base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="))')
AS=(--rp-id $RP --origin $O)

has() { # FILE TEXT
	grep -qF -- "$2" "$1"
}
for alg in es256 eddsa; do
	for fmt in none packed; do
		"$SA" new --alg $alg "${AS[@]}" --challenge "$CH" --out $alg.json --fmt $fmt > reg-$alg.json
		check "$alg/$fmt: new prints the browser's shape" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert set(r) == {"id", "rawId", "type", "response"} and r["type"] == "public-key"
assert r["id"] == r["rawId"] and set(r["response"]) == {"attestationObject", "clientDataJSON"}
for v in [r["id"]] + list(r["response"].values()):
    assert "=" not in v and "+" not in v and "/" not in v' reg-$alg.json
		"$SA" check reg-$alg.json "${AS[@]}" > out
		check "$alg/$fmt: the registration verifies" has out "registration ok: fmt $fmt"
	done
	"$SA" get $alg.json "${AS[@]}" --challenge "$CH" > a1.json
	"$SA" get $alg.json "${AS[@]}" --challenge "$CH" > a2.json
	check "$alg: get prints the browser's shape" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert set(r) == {"id", "response"}
assert set(r["response"]) == {"authenticatorData", "clientDataJSON", "signature"}' a1.json
	"$SA" check reg-$alg.json a2.json "${AS[@]}" --challenge "$CH" > out
	check "$alg: the second assertion verifies with counter 2" has out "assertion ok: counter 2"
	"$SA" get $alg.json "${AS[@]}" --challenge "$CH" --counter 40 > a.json
	"$SA" get $alg.json "${AS[@]}" --challenge "$CH" > a.json
	"$SA" check reg-$alg.json a.json "${AS[@]}" --challenge "$CH" > out
	check "$alg: --counter sets the counter, the next get goes on from it" has out "counter 41"

	printf 'statement of an entry\n' > stmt
	SCH=$(python3 -c 'import base64, hashlib; print(base64.urlsafe_b64encode(hashlib.sha256(b"statement of an entry").digest()).decode().rstrip("="))')
	"$SA" get $alg.json "${AS[@]}" --statement stmt > a.json
	"$SA" check reg-$alg.json a.json "${AS[@]}" --challenge "$SCH" > out
	check "$alg: --statement signs SHA-256 of the text without its line end" has out "assertion ok"
	"$SA" check reg-$alg.json a.json "${AS[@]}" --statement stmt > out
	check "$alg: check --statement agrees" has out "assertion ok"

	while IFS='|' read -r what args reason; do
		# shellcheck disable=SC2086
		"$SA" get $alg.json "${AS[@]}" --challenge "$CH" $args > a.json
		"$SA" check reg-$alg.json a.json "${AS[@]}" --challenge "$CH" > out
		check "$alg: $what is refused" has out "$reason"
	done <<'CASES'
no user verification|--no-uv|user verification (UV) is required
no user presence|--no-up|user presence (UP) is not set
type webauthn.create|--type webauthn.create|type 'webauthn.create'
cross-origin|--cross-origin|cross-origin
another origin|--origin http://localhost:8081|origin 'http://localhost:8081'
another RP ID|--rp-id example.com|RP ID hash
another challenge|--challenge AAAA|challenge is not the one expected
CASES
	"$SA" get $alg.json "${AS[@]}" --challenge "$CH" --no-uv > a.json
	"$SA" check reg-$alg.json a.json "${AS[@]}" --challenge "$CH" --no-uv > out
	check "$alg: without UV when the caller does not require it" has out "assertion ok"
done
"$SA" get eddsa.json "${AS[@]}" --challenge "$CH" > a.json
"$SA" check reg-es256.json a.json "${AS[@]}" --challenge "$CH" > out
check "another credential's assertion is refused" has out "signature: does not verify"
"$SA" new --alg rsa "${AS[@]}" --challenge "$CH" --out x.json 2>/dev/null
check "an unknown --alg is a usage error" test $? = 2
"$SA" get missing.json "${AS[@]}" --challenge "$CH" 2>/dev/null
check "a missing credential file fails" test $? = 1
finish softauthn
