#!/bin/bash
# serve-nginx.sh - a real gateway in front of probity: Debian's nginx on
# 127.0.0.1 with its own config and prefix, auth_request to probity serve, and a
# toy upstream standing for the provider's storage, AI and security APIs.
# The rules come from a real enforcement plan (plan new, two approvals,
# apply) and go away with its rollback. Everything is started here and
# stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	fail "nginx is not installed (tools/deps.sh installs it)"
	finish serve-nginx
	exit 0
fi
WS=$TMP/ws
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --no-user "$WS" >/dev/null
{
	"$PROBITY" user add "$WS" root --role admin
	"$PROBITY" user add "$WS" alice --role analyst --as root
	"$PROBITY" user add "$WS" bob --role approver --as root
	"$PROBITY" user add "$WS" dana --role approver --as root
	"$PROBITY" customer add "$WS" "Ministry of the Interior" --account IMOD-7F3A --as alice
	"$PROBITY" case open "$WS" --as alice --customer "Ministry of the Interior" --title "Report" --trigger "press report"
	"$PROBITY" plan new "$WS" 1 --as alice --disable 'category=Storage country=NL' \
		--disable 'capability=speech-to-text,translation' --keep 'category=Security'
	"$PROBITY" plan approve "$WS" 1 --as bob
	"$PROBITY" plan approve "$WS" 1 --as dana
	"$PROBITY" plan apply "$WS" 1 --as alice
} >"$TMP/setup.log" 2>&1
check "plan 1 applied (entitlements version 1)" grep -q 'applied plan 1: entitlements version 1' "$TMP/setup.log"
PP=$(free_port); GP=$(free_port); UP=$(free_port)
"$PROBITY" serve "$WS" --listen 127.0.0.1:$PP --workers 1 --reload-ms 50 --quiet 2>"$TMP/serve.err" &
SPID=$!
NG=$TMP/nginx
mkdir -p "$NG/logs" "$NG/tmp"
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
cp "$ROOT/tests/data/decide/nginx-protect.conf" "$NG/protect.conf"
sed -e "s|@NG@|$NG|g" -e "s|@PP@|$PP|g" -e "s|@GP@|$GP|g" -e "s|@UP@|$UP|g" -e "s|@USER@|$USER_LINE|" \
	"$ROOT/tests/data/decide/nginx-gateway.conf" >"$NG/nginx.conf"
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" 2>"$TMP/nginx.err"
trap 'kill $SPID 2>/dev/null; [ -f "$NG/nginx.pid" ] && kill $(cat "$NG/nginx.pid") 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PP/healthz" >/dev/null && [ -f "$NG/nginx.pid" ] && break; sleep 0.1; done
check "nginx started" test -f "$NG/nginx.pid"
G=http://127.0.0.1:$GP
call() { # tenant path region -> status; headers in $TMP/h
	curl -s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' -H "X-Tenant: $1" -H "X-Region: $3" "$G$2"
}
check "flagged account: storage in westeurope is 403" test "$(call IMOD-7F3A /storage/blob/x westeurope)" = 403
check "... with the case header" grep -qi $'^X-Probity-Case: 1\r$' "$TMP/h"
check "... and the plan header" grep -qi $'^X-Probity-Plan: 1\r$' "$TMP/h"
check "flagged account: speech is 403" test "$(call IMOD-7F3A /speech/recognize eastus)" = 403
check "flagged account: translation is 403" test "$(call IMOD-7F3A /translate/text eastus)" = 403
check "flagged account: storage in northeurope passes" test "$(call IMOD-7F3A /storage/blob/x northeurope)" = 200
check "flagged account: security passes" test "$(call IMOD-7F3A /security/alerts westeurope)" = 200
check "... and reaches the upstream" grep -q 'upstream security' "$TMP/b"
check "other customer: storage passes" test "$(call OTHER-9 /storage/blob/x westeurope)" = 200
check "other customer: speech passes" test "$(call OTHER-9 /speech/recognize eastus)" = 200
check "no tenant header: refused (500, fail closed)" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Region: eastus' "$G/security/alerts")" = 500
# rollback (an approver, with a reason): the same calls pass within a second
"$PROBITY" plan rollback "$WS" 1 --as bob --reason "appeal upheld" >"$TMP/rollback.log" 2>&1
check "plan 1 rolled back (version 2)" grep -q 'entitlements version 2' "$TMP/rollback.log"
t0=$(date +%s%N); ok_all=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]; do
	if [ "$(call IMOD-7F3A /storage/blob/x westeurope)" = 200 ] && [ "$(call IMOD-7F3A /speech/recognize eastus)" = 200 ]; then ok_all=1; break; fi
	sleep 0.02
done
check "after rollback: storage and speech pass within 1 s" test $ok_all = 1
# the decider gone: the gateway fails closed
kill -TERM $SPID; wait $SPID
check "probity down: gateway answers 500" test "$(call OTHER-9 /storage/blob/x westeurope)" = 500
kill $(cat "$NG/nginx.pid"); trap - EXIT
finish serve-nginx
