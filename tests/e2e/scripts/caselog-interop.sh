#!/bin/bash
# caselog-interop.sh - our signed checkpoints, exported tiles and proofs
# checked by Go's own golang.org/x/mod/sumdb/note and sumdb/tlog
# (tests/interop/tlogcheck, built offline from Debian's golang-go and
# golang-golang-x-mod-dev; tools/deps.sh installs them). Nothing is skipped:
# without Go this fails.
SCRIPT_NAME=caselog-interop
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
cd "$TMP"
P=$PROBITY
GOCHECK=${PB_BUILD:-$TMP}/interop/tlogcheck
SRC=$ROOT/tests/interop/tlogcheck/main.go
if [ ! -x "$GOCHECK" ] || [ "$SRC" -nt "$GOCHECK" ]; then
	mkdir -p "$(dirname "$GOCHECK")"
	if ! (cd "$ROOT/tests/interop/tlogcheck" && GO111MODULE=off GOPATH=/usr/share/gocode \
		GOCACHE="$(dirname "$GOCHECK")/gocache" GOFLAGS= go build -o "$GOCHECK" .) >build.log 2>&1; then
		fail "cannot build the Go checker (make deps installs golang-go golang-golang-x-mod-dev): $(tail -3 build.log)"
		finish caselog-interop
		exit 0
	fi
fi
ok

WS=$TMP/ws
q() { "$P" "$@" >/dev/null 2>"$TMP/err" || echo "  setup failed: $* $(cat "$TMP/err")"; }
"$P" init --unsigned --no-user "$WS" --name interop >/dev/null
q user add "$WS" root --role admin
q user add "$WS" alice --role analyst --as root
q customer add "$WS" "Ministry X" --account BA-1 --as root
echo "user = alice" >> "$WS/probity.conf"
q case open "$WS" --customer "Ministry X" --title T --trigger X
for i in $(seq 1 5); do q case note "$WS" 1 "note $i"; done
"$P" log checkpoint "$WS" > old.ckpt
for i in $(seq 6 20); do q case note "$WS" 1 "note $i"; done
q log export "$WS" out
VKEY=$(cat out/vkey)
n=$(sed -n 2p out/checkpoint)

check "Go verifies our export: note signature, entries, tiles, tree hash, proofs" \
	"$GOCHECK" verify-dir out "$VKEY"
for i in 0 3 $((n - 1)); do
	"$P" log prove "$WS" --inclusion "$i" > "p$i" && "$P" log entry "$WS" "$i" > "e$i"
	check "Go checks our inclusion proof of entry $i" "$GOCHECK" inclusion "p$i" "e$i" "$VKEY"
done
"$P" log prove "$WS" --consistency "$(sed -n 2p old.ckpt)" "$n" > cons
check "Go checks our consistency proof" "$GOCHECK" consistency cons old.ckpt "$VKEY"
# the Go checker can fail: a wrong entry, a tampered tile, a wrong key
if "$GOCHECK" inclusion p3 e0 "$VKEY" >/dev/null 2>&1; then fail "Go accepted a proof for the wrong entry"; else ok; fi
tile=$(cd out && ls tile/0/000.p/*)
cp "out/$tile" saved
# flip every bit of byte 40 (writing a fixed byte left the tile unchanged
# whenever it already held that byte: a failure one run in 256)
b=$(od -An -tu1 -j40 -N1 "out/$tile" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - b)))" | dd of="out/$tile" bs=1 seek=40 conv=notrunc 2>/dev/null
cmp -s saved "out/$tile" && fail "the tile was not changed"
if "$GOCHECK" verify-dir out "$VKEY" >/dev/null 2>&1; then fail "Go accepted a tampered tile"; else ok; fi
cp saved "out/$tile"
if "$GOCHECK" verify-dir out "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx" >/dev/null 2>&1
then fail "Go accepted our checkpoint with another key"; else ok; fi
# and the other way round: the tessera test log through both verifiers
TV="example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
check "Go verifies the tessera test log" "$GOCHECK" verify-dir "$ROOT/tests/data/tlog/tessera-testdata-log" "$TV"
check "we verify the tessera test log" "$P" log verify "$ROOT/tests/data/tlog/tessera-testdata-log" --generic --vkey "$TV"
finish caselog-interop
