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
"$PROBITY" init --unsigned --no-user "$WS" >/dev/null
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
IMOD=key-imod OTHER=key-other # API keys the gateway maps to accounts IMOD-7F3A and OTHER-9
call() { # api-key path region [curl args] -> status; headers in $TMP/h
	local key=$1 path=$2 region=$3; shift 3
	curl -s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' -H "X-Api-Key: $key" \
		-H "Host: $region.api.test" "$@" "$G$path"
}
check "flagged account: storage in westeurope is 403" test "$(call $IMOD /storage/blob/x westeurope)" = 403
check "... with the case header" grep -qi $'^X-Probity-Case: 1\r$' "$TMP/h"
check "... and the plan header" grep -qi $'^X-Probity-Plan: 1\r$' "$TMP/h"
check "flagged account: speech is 403" test "$(call $IMOD /speech/recognize eastus)" = 403
check "flagged account: translation is 403" test "$(call $IMOD /translate/text eastus)" = 403
check "flagged account: storage in northeurope passes" test "$(call $IMOD /storage/blob/x northeurope)" = 200
check "flagged account: security passes" test "$(call $IMOD /security/alerts westeurope)" = 200
check "... and reaches the upstream" grep -q 'upstream security' "$TMP/b"
check "other customer: storage passes" test "$(call $OTHER /storage/blob/x westeurope)" = 200
check "other customer: speech passes" test "$(call $OTHER /speech/recognize eastus)" = 200
check "no API key: refused (500, fail closed)" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: eastus.api.test' "$G/security/alerts")" = 500
# a client's own X-Probity-* headers never reach probity: the gateway's values decide
check "forged account header: the key's account decides (403)" \
	test "$(call $IMOD /storage/blob/x westeurope -H 'X-Probity-Account: OTHER-9')" = 403
check "forged account header: no lift for another account either (200)" \
	test "$(call $OTHER /storage/blob/x westeurope -H 'X-Probity-Account: IMOD-7F3A')" = 200
check "forged comma-joined account header: still the key's account (403)" \
	test "$(call $IMOD /storage/blob/x westeurope -H 'X-Probity-Account: OTHER-9, IMOD-7F3A')" = 403
check "forged region header: the routed region decides (403)" \
	test "$(call $IMOD /storage/blob/x westeurope -H 'X-Probity-Region: northeurope')" = 403
check "forged capability header: the route's capability decides (403)" \
	test "$(call $IMOD /speech/recognize eastus -H 'X-Probity-Capability: none')" = 403
check "unknown API key: refused (500, fail closed)" \
	test "$(call key-forged /security/alerts eastus -H 'X-Probity-Account: OTHER-9')" = 500
check "... and probity saw one value of each: nothing ambiguous" \
	grep -q '^probity_http_errors_total{kind="ambiguous"} 0$' <<<"$(curl -s "http://127.0.0.1:$PP/metrics")"
# rollback (an approver, with a reason): the same calls pass within a second
"$PROBITY" plan rollback "$WS" 1 --as dana --reason "appeal upheld" >"$TMP/rollback-ask.log" 2>&1 # 1 of 2
"$PROBITY" plan rollback "$WS" 1 --as bob --reason "appeal upheld" >"$TMP/rollback.log" 2>&1
check "plan 1 rolled back (version 2)" grep -q 'entitlements version 2' "$TMP/rollback.log"
t0=$(date +%s%N); ok_all=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]; do
	if [ "$(call $IMOD /storage/blob/x westeurope)" = 200 ] && [ "$(call $IMOD /speech/recognize eastus)" = 200 ]; then ok_all=1; break; fi
	sleep 0.02
done
check "after rollback: storage and speech pass within 1 s" test $ok_all = 1
# the decider gone: the gateway fails closed
kill -TERM $SPID; wait $SPID
check "probity down: gateway answers 500" test "$(call $OTHER /storage/blob/x westeurope)" = 500
kill $(cat "$NG/nginx.pid"); trap - EXIT
finish serve-nginx
