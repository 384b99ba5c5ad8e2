#!/bin/bash
# bench/webauthn/run.sh [SECONDS] - verifying a passkey's WebAuthn assertion
# (lib/ident/webauthn.c: authenticator data and client data parsed and
# checked, the signature through libfido2 for ES256 and libsodium for
# EdDSA), microseconds per assertion on one core, against the raw signature
# check of the same signed bytes with the same key in the same process (the
# floor): OpenSSL's EVP_DigestVerify for ES256, libsodium's
# crypto_sign_verify_detached for EdDSA; for ES256 also against the floor
# plus building the OpenSSL key from its 65 bytes each time, as a verifier
# must. SECONDS per side (default 3), batches alternating. Prints "name:
# probity X unit, peer Y unit, ratio R" lines and writes
# bench/results/webauthn.json. Needs a release build (made here).
set -eu
S=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
make --no-print-directory release >/dev/null
B=$(mktemp -d "${TMPDIR:-/tmp}/pbbench.XXXXXX")
trap 'rm -rf "$B"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/webauthn/bench_webauthn.c \
	build/release/libprobity.a \
	$(make --no-print-directory -s -C "$ROOT" print-libs) \
	-o "$B/bench_webauthn"

mkdir -p bench/results
out=bench/results/webauthn.json
echo "{" > "$out"
. bench/ratio.sh # line NAME PROBITY PEER UNIT
read -r ours peer < <("$B/bench_webauthn" es256 "$S")
line "assertion verify ES256 (peer: OpenSSL EVP_DigestVerify of the same bytes)" "$ours" "$peer" "us"
read -r ours peer < <("$B/bench_webauthn" es256-import "$S")
line "assertion verify ES256 (peer: the same, the key imported from its bytes each time)" "$ours" "$peer" "us"
read -r ours peer < <("$B/bench_webauthn" eddsa "$S")
line "assertion verify EdDSA (peer: libsodium crypto_sign_verify_detached)" "$ours" "$peer" "us"
echo '  "seconds": '"$S"'' >> "$out"
echo "}" >> "$out"
