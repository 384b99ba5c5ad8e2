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
#   KEEP=DIR: make the log in DIR and keep it (to profile the verify, e.g.
#   `perf record -g probity log verify DIR/log --vkey ...`); a log of N
#   entries already there is verified again, not made anew.
#
# The log is made by bench/ident/mklog.c (entries signed by hand with the
# test keys of tests/data/sig, straight into tiles). Prints one line
#   log verify: N entries in T s = R entries/s; floor F verifies/s x C cores;
#   ratio R / (F x C) (CPU: S s, E of the floor per CPU second)
# and writes bench/results/ident-verify.json. The floor is measured right
# before and after the verify and averaged. On a machine shared with other
# work the wall-time ratio drops with the cores the others take; the CPU
# figure (entries per CPU second of the verify against verifies per CPU
# second of the floor) is what the code itself costs.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${N:-$([ "${BENCH_FULL:-0}" = 1 ] && echo 1000000 || echo 100000)}
CORES=2
BUILD=${BUILD:-build/release}
[ "$BUILD" = build/release ] && make --no-print-directory -s release >/dev/null
if [ -n "${KEEP:-}" ]; then
	mkdir -p "$KEEP"
	B=$(cd "$KEEP" && pwd)
else
	B=$(mktemp -d "${TMPDIR:-/tmp}/pbident.XXXXXX")
	trap 'rm -rf "$B"' EXIT
fi
cc -O2 -std=c17 -D_GNU_SOURCE -Iinclude -Ilib bench/ident/mklog.c "$BUILD/libprobity.a" \
	$(make --no-print-directory -s -C "$ROOT" print-libs) -o "$B/mklog"
if [ -z "${KEEP:-}" ] || [ "$(cat "$B/log.n" 2>/dev/null)" != "$N" ]; then
	echo "making a signed log of $N entries ..." >&2
	rm -rf "$B/log" "$B/log.n"
	"$B/mklog" "$B/log" "$N" tests/data/sig
	echo "$N" >"$B/log.n"
fi
VKEY=$(cat "$B/log/vkey")
read -r f1 c1 <<<"$("$B/mklog" floor 3)"
/usr/bin/time -f "%e %U %S" -o "$B/time" "$BUILD/probity" log verify "$B/log" --vkey "$VKEY" >"$B/out"
read -r f2 c2 <<<"$("$B/mklog" floor 3)"
read -r wall user sys <"$B/time"
grep -q "^signed actors: $N signatures verify" "$B/out" || { echo "log verify did not check $N signatures:" >&2; cat "$B/out" >&2; exit 1; }
# ratio: entries/s against the floor x cores, both in wall time (what issue 12
# asks); cpu ratio: entries per CPU second against verifies per CPU second
# (what the code costs, whatever else the machine runs)
summary() {
	awk -v n="$N" -v t="$wall" -v cpu="$user + $sys" -v f1="$f1" -v f2="$f2" -v c1="$c1" -v c2="$c2" \
		-v cores="$CORES" -v fmt="$1" 'BEGIN {
		split(cpu, a, " + "); u = a[1] + a[2]; r = n / t; f = (f1 + f2) / 2; fc = (c1 + c2) / 2
		printf fmt, n, t, r, f, cores, r / (f * cores), u, (n / u) / fc
	}'
}
summary "log verify: %d entries in %.2f s = %.0f entries/s; floor %.0f verifies/s x %d cores; ratio %.2f (CPU: %.2f s, %.2f of the floor per CPU second)\n"
mkdir -p bench/results
summary '{"entries": %d, "seconds": %.3f, "entries_per_s": %.0f, "floor_verifies_per_s": %.0f, "cores": %d, "ratio": %.3f, "cpu_seconds": %.3f, "cpu_ratio": %.3f}\n' \
	>bench/results/ident-verify.json
