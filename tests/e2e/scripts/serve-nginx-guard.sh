#!/bin/bash
# serve-nginx-guard.sh - real nginx in front of a guarded probity serve: serve
# on a Unix socket (mode 0660) requiring a bearer token, nginx's upstream
# `server unix:...` with `proxy_set_header Authorization` in the auth
# subrequest (tests/data/decide/nginx-gateway.conf, rewritten here). A
# client's own Authorization header changes nothing; the gateway's token is
# what probity sees. Everything is started here and stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-nginx-guard
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	fail "nginx is not installed (tools/deps.sh installs it)"
	finish serve-nginx-guard
	exit 0
fi
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
TOKEN=gw-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
SOCK=$TMP/probity.sock
"$PROBITY" serve "$WS" --socket "$SOCK" --socket-mode 0660 --token-file "$TMP/token" \
	--workers 1 --quiet 2>"$TMP/serve.err" &
SPID=$!
GP=$(free_port); UP=$(free_port)
NG=$TMP/nginx
mkdir -p "$NG/logs" "$NG/tmp"
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
cp "$ROOT/tests/data/decide/nginx-protect.conf" "$NG/protect.conf"
sed -e "s|server 127.0.0.1:@PP@;|server unix:$SOCK;|" \
	-e "s|^\( *\)proxy_set_header Content-Length \"\";|&\n\1proxy_set_header Authorization \"Bearer $TOKEN\";|" \
	-e "s|@NG@|$NG|g" -e "s|@GP@|$GP|g" -e "s|@UP@|$UP|g" -e "s|@USER@|$USER_LINE|" \
	"$ROOT/tests/data/decide/nginx-gateway.conf" >"$NG/nginx.conf"
check "the config names the socket and sets the token" \
	grep -q "proxy_set_header Authorization \"Bearer $TOKEN\"" "$NG/nginx.conf"
trap 'kill $SPID 2>/dev/null; [ -f "$NG/nginx.pid" ] && kill $(cat "$NG/nginx.pid") 2>/dev/null' EXIT
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" 2>"$TMP/nginx.err"
for _ in $(seq 50); do [ -f "$NG/nginx.pid" ] && break; sleep 0.1; done
check "nginx started" test -f "$NG/nginx.pid"
check "socket mode 660" test "$(stat -c %a "$SOCK")" = 660
check "serve itself asks for the token" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" 'http://x/v1/authz')" = 401
G=http://127.0.0.1:$GP
call() { # api-key path region [curl args] -> status
	local key=$1 path=$2 region=$3; shift 3
	curl -s -o "$TMP/b" -w '%{http_code}' -H "X-Api-Key: $key" -H "Host: $region.api.test" "$@" "$G$path"
}
# demo-plan.json: IMOD-7F3A's storage in westeurope is off, Key Vault stays on
check "through nginx: flagged account's storage is 403" \
	test "$(call key-imod /storage/blob/x westeurope)" = 403
check "through nginx: another customer passes (200)" \
	test "$(call key-other /storage/blob/x westeurope)" = 200
check "a client's wrong Authorization is replaced: still decided (403)" \
	test "$(call key-imod /storage/blob/x westeurope -H 'Authorization: Bearer nope-nope-nope-nope')" = 403
check "... and the allowed call still passes (200)" \
	test "$(call key-other /storage/blob/x westeurope -H 'Authorization: Bearer nope-nope-nope-nope')" = 200
kill $(cat "$NG/nginx.pid"); kill $SPID; wait $SPID; trap - EXIT
finish serve-nginx-guard
