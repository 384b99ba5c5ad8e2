# lib.sh - helpers for scripted end-to-end scenarios (tests/e2e/scripts/*.sh).
# A script sources this, calls ok/fail (or check) for each assertion, and ends
# with `finish NAME`, which prints "script NAME: N passed, N failed".
set -u
: "${PROBITY:?run through tests/e2e/run.sh}"
: "${TMP:=$(mktemp -d)}"
_p=0
_f=0
ok() { _p=$((_p + 1)); }
fail() { _f=$((_f + 1)); echo "  FAIL ${SCRIPT_NAME:-script}: $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok; else fail "$d"; fi; }
finish() { echo "script $1: $_p passed, $_f failed"; }
