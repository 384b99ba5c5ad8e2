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
# log_holds FILE "ACTION ACTOR": a line of FILE (`log show --json`) is an
# entry of that action by that actor
log_holds() {
	python3 -c '
import json, sys
action, actor = sys.argv[2].split(" ")
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(e.get("action") == action and e.get("actor") == actor for e in entries) else 1)
' "$1" "$2"
}
# free_port: a TCP port free on 127.0.0.1 now
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# serve_up WS NAME [ARGS...]: starts `probity serve WS ARGS` on 127.0.0.1 (a free
# port), its output in $TMP/NAME.out and $TMP/NAME.err; sets PORT, B (the base
# URL) and SPID, kills it at exit, and waits (5 s at most) for /healthz.
serve_up() {
	local ws=$1 name=$2
	shift 2
	PORT=$(free_port)
	B=http://127.0.0.1:$PORT
	"$PROBITY" serve "$ws" --listen "127.0.0.1:$PORT" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	SPID=$!
	trap 'kill $SPID 2>/dev/null' EXIT
	for _ in $(seq 50); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
}
