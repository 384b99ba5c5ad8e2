#!/bin/bash
# bench/ident/run.sh [N] [SECONDS] - signing and verifying SSHSIG (lib/ident).
#
#   signing through a real ssh-agent (started here, stopped by pid at exit):
#     median and p99 ms per signature over N signs (default 1,000) on one
#     connection, against the issue's target for a whole signed append (5 ms);
#   signing from a key file, signatures/s, against libsodium's
#     crypto_sign_detached over the same signed data (the floor);
#   verifying, signatures/s on one core, against libsodium's
#     crypto_sign_verify_detached over the same signed data (the floor).
# Rates are measured for SECONDS per side (default 3), batches of the two
# sides alternating in one process. Prints "name: probity X unit, peer Y
# unit, ratio R" lines and writes bench/results/ident.json. Needs a release
# build (make release) and openssh-client.
set -eu
N=${1:-1000}
S=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
make --no-print-directory release >/dev/null
B=$(mktemp -d "${TMPDIR:-/tmp}/pbbench.XXXXXX")
AGENT_PID=
trap '[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null; rm -rf "$B"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/ident/bench_ident.c build/release/libprobity.a \
	$(make --no-print-directory -s -C "$ROOT" print-libs) -o "$B/bench_ident"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$B/key"
eval "$(ssh-agent -s -a "$B/agent.sock")" >/dev/null
AGENT_PID=$SSH_AGENT_PID
SSH_AUTH_SOCK=$B/agent.sock ssh-add -q "$B/key"

mkdir -p bench/results
out=bench/results/ident.json
echo "{" > "$out"
. bench/ratio.sh # line NAME PROBITY PEER UNIT

read -r med p99 < <("$B/bench_ident" agent "$B/agent.sock" "$B/key.pub" "$N")
line "agent sign, median of $N (peer: the 5 ms target for a signed append)" "$med" 5 ms
line "agent sign, p99 of $N (peer: the 5 ms target)" "$p99" 5 ms
read -r ours peer < <("$B/bench_ident" file "$B/key" "$S")
line "key-file sign (peer: libsodium crypto_sign_detached)" "$ours" "$peer" "signatures/s"
read -r ours peer < <("$B/bench_ident" verify "$S")
line "verify, one core (peer: libsodium crypto_sign_verify_detached)" "$ours" "$peer" "verifies/s"
echo '  "n": '"$N"'' >> "$out"
echo "}" >> "$out"
