#!/bin/bash
# serve-guard.sh - who may ask probity serve: a bearer token (none or a wrong
# one is 401 with WWW-Authenticate, the right one answers; /healthz stays
# open), a Unix socket with the mode asked for whatever the umask, /metrics on
# its own listener (404 on the main one), and no address other than loopback
# without a token unless --insecure-listen. Servers listen on 127.0.0.1 or a
# Unix socket only and are stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-guard
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done' EXIT
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
Q='account=IMOD-7F3A&service=Storage%20Accounts&region=westeurope'

# ---- a bearer token, and /metrics on a listener of its own
TOKEN=tok-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
PORT=$(free_port)
MPORT=$(free_port)
B=http://127.0.0.1:$PORT
"$PROBITY" serve "$WS" --listen 127.0.0.1:$PORT --workers 2 --token-file "$TMP/token" \
	--metrics-listen 127.0.0.1:$MPORT >"$TMP/s1.out" 2>"$TMP/s1.err" &
S1=$!
PIDS+=("$S1")
for _ in $(seq 50); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
check "healthz is open without a token" curl -sf "$B/healthz"
c=$(code -D "$TMP/h" "$B/v1/decide?$Q")
check "no token: 401" test "$c" = 401
check "... with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$TMP/h"
check "... and a JSON error" grep -q '"status":401' "$TMP/body"
check "wrong token: 401" test "$(code -H "Authorization: Bearer ${TOKEN}x" "$B/v1/decide?$Q")" = 401
check "a token's prefix: 401" test "$(code -H "Authorization: Bearer ${TOKEN:0:10}" "$B/v1/decide?$Q")" = 401
check "basic scheme: 401" test "$(code -H "Authorization: Basic $TOKEN" "$B/v1/decide?$Q")" = 401
check "the token twice: 401" test "$(code -H "Authorization: Bearer $TOKEN" -H "Authorization: Bearer $TOKEN" "$B/v1/decide?$Q")" = 401
check "right token: 200" test "$(code -H "Authorization: Bearer $TOKEN" "$B/v1/decide?$Q")" = 200
check "... the decision" grep -q '"result":"deny"' "$TMP/body"
check "scheme in any case: 200" test "$(code -H "Authorization: bearer $TOKEN" "$B/v1/decide?$Q")" = 200
check "authz with the token: 403 deny" test "$(code -H "Authorization: Bearer $TOKEN" -H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Region: westeurope' -H 'X-Probity-Service: Storage Accounts' "$B/v1/authz")" = 403
check "main listener: /metrics is 404" test "$(code -H "Authorization: Bearer $TOKEN" "$B/metrics")" = 404
M=http://127.0.0.1:$MPORT
check "metrics listener: no token, 401" test "$(code "$M/metrics")" = 401
check "metrics listener: /metrics with the token" test "$(code -H "Authorization: Bearer $TOKEN" "$M/metrics")" = 200
check "... counts the 401s" grep -q '^probity_http_unauthorized_total [1-9]' "$TMP/body"
check "metrics listener: no decisions (404)" test "$(code -H "Authorization: Bearer $TOKEN" "$M/v1/decide?$Q")" = 404
check "metrics listener: healthz" test "$(code "$M/healthz")" = 200
stop "$S1"

# ---- a Unix socket, its mode set whatever the umask; metrics on another socket
SOCK=$TMP/pb.sock
MSOCK=$TMP/pbm.sock
(umask 0 && exec "$PROBITY" serve "$WS" --socket "$SOCK" --socket-mode 0660 --workers 1 \
	--metrics-listen "unix:$MSOCK" >"$TMP/s2.out" 2>"$TMP/s2.err") &
S2=$!
PIDS+=("$S2")
for _ in $(seq 50); do curl -sf --unix-socket "$SOCK" http://x/healthz >/dev/null && break; sleep 0.1; done
check "unix socket: mode 660 under umask 0" test "$(stat -c %a "$SOCK" 2>/dev/null)" = 660
check "unix socket: the metrics socket too" test "$(stat -c %a "$MSOCK" 2>/dev/null)" = 660
out=$(curl -s --unix-socket "$SOCK" "http://x/v1/decide?$Q")
check "unix socket: decide over curl --unix-socket" grep -q '"result":"deny"' <<<"$out"
check "unix socket: /metrics is 404 on the main socket" test "$(code --unix-socket "$SOCK" http://x/metrics)" = 404
check "unix socket: /metrics on its own socket" test "$(code --unix-socket "$MSOCK" http://x/metrics)" = 200
stop "$S2"
check "unix sockets removed at stop" test ! -e "$SOCK" -a ! -e "$MSOCK"
(umask 0 && exec "$PROBITY" serve "$WS" --listen "unix:$SOCK" --workers 1 >/dev/null 2>&1) &
S4=$!
PIDS+=("$S4")
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "unix socket: 600 by default, under umask 0" test "$(stat -c %a "$SOCK" 2>/dev/null)" = 600
stop "$S4"

# ---- not loopback: refused without a token or --insecure-listen
P2=$(free_port)
out=$(timeout 10 "$PROBITY" serve "$WS" --listen 0.0.0.0:$P2 --workers 1 2>&1)
rc=$?
check "0.0.0.0 without a token: refused (exit 1)" test "$rc" = 1
check "... saying why and what to do" grep -q "refusing to listen on '0.0.0.0:$P2'.*--insecure-listen" <<<"$out"
out=$(timeout 10 "$PROBITY" serve "$WS" --listen 127.0.0.1:$P2 --metrics-listen "[::]:$P2" --workers 1 2>&1)
check "a metrics listener on :: without a token: refused" grep -q "refusing to listen on '\[::\]:$P2'" <<<"$out"
# with --insecure-listen it starts (and is asked over loopback only)
"$PROBITY" serve "$WS" --listen 0.0.0.0:$P2 --insecure-listen --workers 1 >/dev/null 2>"$TMP/s3.err" &
S3=$!
PIDS+=("$S3")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$P2/healthz" >/dev/null && break; sleep 0.1; done
check "0.0.0.0 with --insecure-listen: serves" curl -sf "http://127.0.0.1:$P2/healthz"
stop "$S3"

# ---- a token file others can read, or too short, is refused at start
chmod 644 "$TMP/token"
out=$("$PROBITY" serve "$WS" --listen 127.0.0.1:$P2 --token-file "$TMP/token" 2>&1)
check "a world-readable token file is refused" grep -q "can be read by every user" <<<"$out"
printf 'short\n' >"$TMP/short"
chmod 600 "$TMP/short"
out=$("$PROBITY" serve "$WS" --listen 127.0.0.1:$P2 --token-file "$TMP/short" 2>&1)
check "a short token is refused" grep -q "shorter than 16" <<<"$out"
finish serve-guard
