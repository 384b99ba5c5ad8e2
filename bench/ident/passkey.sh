#!/bin/bash
# bench/ident/passkey.sh - `probity log verify` of an exported signed log whose
# approvals are passkey-signed (WebAuthn assertions, EdDSA; issue 14) against
# the same size and shape of log signed with OpenSSH keys only, and of one
# where every entry of the two approvers is passkey-signed (two thirds of
# the log). A passkey's assertion does not carry its key: the workers verify
# it with the key of the registration before it as they met it, and the
# feeding thread takes that verdict when that registration and its origin
# are the ones in force (verifying it in log order otherwise): the second
# line shows what a passkey costs beside an SSHSIG.
#
#   N entries: 20,000 by default (N=...).
#   BUILD: the build folder whose probity and libprobity.a are measured
#   (default build/release, made here with `make release`).
#
# Logs are made by bench/ident/mklog.c. Prints, through bench/ratio.sh,
#   passkey approvals: probity T s, peer T s, ratio R      (peer: SSH only)
#   passkey entries (2/3): probity T s, peer T s, ratio R
# and writes bench/results/ident-passkey.json. Each verify is run 3 times,
# interleaved with its peer, and the median taken.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${N:-20000}
BUILD=${BUILD:-build/release}
[ "$BUILD" = build/release ] && make --no-print-directory -s release >/dev/null
B=$(mktemp -d "${TMPDIR:-/tmp}/pbpasskey.XXXXXX")
trap 'rm -rf "$B"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/ident/mklog.c "$BUILD/libprobity.a" \
	$(make --no-print-directory -s -C "$ROOT" print-libs) -o "$B/mklog"
echo "making three signed logs of $N entries ..." >&2
"$B/mklog" "$B/ssh" "$N" tests/data/sig
"$B/mklog" "$B/pk" "$N" tests/data/sig passkeys
"$B/mklog" "$B/pkall" "$N" tests/data/sig passkeys-all
# verify DIR: seconds of one `log verify` (it must check all N signatures)
verify() {
	local t0 t1
	t0=$(date +%s.%N)
	"$BUILD/probity" log verify "$B/$1" --vkey "$(cat "$B/$1/vkey")" >"$B/out" 2>&1
	t1=$(date +%s.%N)
	grep -q "^signed actors: $N signatures verify" "$B/out" ||
		{ echo "log verify of $1 did not check $N signatures:" >&2; cat "$B/out" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -n | sed -n 2p; }
for r in 1 2 3; do
	verify ssh >>"$B/t.ssh"
	verify pk >>"$B/t.pk"
	verify pkall >>"$B/t.pkall"
done
. bench/ratio.sh
mkdir -p bench/results
out=bench/results/ident-passkey.json
echo "{" >"$out"
line "passkey approvals, $N entries" "$(median <"$B/t.pk")" "$(median <"$B/t.ssh")" s
line "passkey entries (2/3), $N entries" "$(median <"$B/t.pkall")" "$(median <"$B/t.ssh")" s
sed -i '$ s/,$//' "$out"
echo "}" >>"$out"
