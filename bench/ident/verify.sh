#!/bin/bash
# bench/ident/verify.sh - `probity log verify` of an exported signed log
# against the floor issue 12 sets: libsodium's crypto_sign_verify_detached
# rate on this machine times the cores used (the verifier checks signatures
# on two threads; Merkle checks, the statement rebuilt from each entry, the
# key registry, nonces and the two-person rule are all included).
#
#   N entries: 100,000 by default, 1,000,000 with BENCH_FULL=1 (or N=...).
#   BUILD: the build folder whose probity and libprobity.a are measured
#   (default build/release, made here with `make release`).
#
# The log is made by bench/ident/mklog.c (entries signed by hand with the
# test keys of tests/data/sig, straight into tiles). Prints one line
#   log verify: N entries in T s = R entries/s; floor F verifies/s x C cores;
#   ratio R / (F x C) = X
# and writes bench/results/ident-verify.json. The floor is measured right
# before and after the verify and averaged, on the same machine, so a
# machine shared with other work lowers both.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${N:-$([ "${BENCH_FULL:-0}" = 1 ] && echo 1000000 || echo 100000)}
CORES=2
BUILD=${BUILD:-build/release}
[ "$BUILD" = build/release ] && make --no-print-directory -s release >/dev/null
B=$(mktemp -d "${TMPDIR:-/tmp}/pbident.XXXXXX")
trap 'rm -rf "$B"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/ident/mklog.c "$BUILD/libprobity.a" \
	$(pkg-config --libs sqlite3 libsodium libcrypto jansson) -lpthread -lm -o "$B/mklog"
echo "making a signed log of $N entries ..." >&2
"$B/mklog" "$B/log" "$N" tests/data/sig
VKEY=$(cat "$B/log/vkey")
f1=$("$B/mklog" floor 3)
t0=$(date +%s.%N)
"$BUILD/probity" log verify "$B/log" --vkey "$VKEY" >"$B/out"
t1=$(date +%s.%N)
f2=$("$B/mklog" floor 3)
grep -q "^signed actors: $N signatures verify" "$B/out" || { echo "log verify did not check $N signatures:" >&2; cat "$B/out" >&2; exit 1; }
awk -v n="$N" -v t0="$t0" -v t1="$t1" -v f1="$f1" -v f2="$f2" -v c="$CORES" 'BEGIN {
	t = t1 - t0; r = n / t; f = (f1 + f2) / 2
	printf "log verify: %d entries in %.2f s = %.0f entries/s; floor %.0f verifies/s x %d cores; ratio %.2f\n", n, t, r, f, c, r / (f * c)
}'
mkdir -p bench/results
awk -v n="$N" -v t0="$t0" -v t1="$t1" -v f1="$f1" -v f2="$f2" -v c="$CORES" 'BEGIN {
	t = t1 - t0; r = n / t; f = (f1 + f2) / 2
	printf "{\"entries\": %d, \"seconds\": %.3f, \"entries_per_s\": %.0f, \"floor_verifies_per_s\": %.0f, \"cores\": %d, \"ratio\": %.3f}\n", n, t, r, f, c, r / (f * c)
}' >bench/results/ident-verify.json
