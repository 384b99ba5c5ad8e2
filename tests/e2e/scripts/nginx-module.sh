#!/bin/bash
# nginx-module.sh - Debian's nginx with ngx_http_probity_module on 127.0.0.1
# in front of a toy upstream (a server block of the same nginx): allow, deny
# with its headers, the keep, dry-run, a custom deny page, a plan rolled back
# and applied again while requests run (no failed request, the switch seen
# within 1 s), a corrupt version (the last good keeps serving), nginx -s
# reload, a worker killed and respawned, fail closed and open with no table,
# `nginx -t` on bad configurations, and agreement with probity serve and
# probity decide on random requests. Under build/san the module is built with
# ASan and UBSan and nginx runs with the ASan runtime preloaded, so the
# request path runs sanitised. Everything is started here and stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=nginx-module
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
MOD=$PB_BUILD/nginx/ngx_http_probity_module.so
if [ ! -x "$NGINX" ] || [ ! -f "$MOD" ]; then
	fail "nginx or $MOD missing (make deps installs nginx-dev; make builds the module)"
	finish nginx-module
	exit 0
fi
PRELOAD=""
if nm -D "$MOD" | grep -q __asan_init; then
	PRELOAD=$(cc -print-file-name=libasan.so)
	# nginx itself leaves its pools to the exit; the module's own errors still stop it
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
fi
ngx() { LD_PRELOAD=$PRELOAD "$NGINX" "$@"; }
WS=$TMP/ws
PBE=$PB_BUILD/tests/tools/pb-entitle
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --unsigned --no-user "$WS" >/dev/null
{
	"$PROBITY" user add "$WS" root --role admin
	"$PROBITY" user add "$WS" alice --role analyst --as root
	"$PROBITY" user add "$WS" bob --role approver --as root
	"$PROBITY" user add "$WS" dana --role approver --as root
	"$PROBITY" customer add "$WS" "Ministry of the Interior" --account IMOD-7F3A --as alice
	"$PROBITY" case open "$WS" --as alice --customer "Ministry of the Interior" --title "Report" --trigger "press report"
	for p in 1 2; do
		"$PROBITY" plan new "$WS" 1 --as alice --disable 'country=NL' \
			--disable 'capability=speech-to-text' --keep 'category=Security'
		"$PROBITY" plan approve "$WS" $p --as bob
		"$PROBITY" plan approve "$WS" $p --as dana
	done
	"$PROBITY" plan apply "$WS" 1 --as alice
} >"$TMP/setup.log" 2>&1
check "plan 1 applied (entitlements version 1)" grep -q 'applied plan 1: entitlements version 1' "$TMP/setup.log"

GP=$(free_port); UP=$(free_port); PP=$(free_port)
NG=$TMP/nginx
mkdir -p "$NG/logs" "$NG/tmp"
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
conf() { # WORKSPACE FAIL [TABLE-LINE] -> an nginx.conf on stdout
	cat <<NGX
load_module $MOD;
$USER_LINE
worker_processes 2;
pid $NG/nginx.pid;
error_log $NG/logs/error.log notice;
events { worker_connections 256; }
http {
  log_format pb '\$http_x_tenant \$probity_decision \$probity_reason \$probity_version';
  access_log $NG/logs/access.log pb;
  client_body_temp_path $NG/tmp/b; proxy_temp_path $NG/tmp/p; fastcgi_temp_path $NG/tmp/f;
  uwsgi_temp_path $NG/tmp/u; scgi_temp_path $NG/tmp/s;
  probity_workspace $1;
  probity_data $ROOT/data;
  probity_reload_interval 50ms;
  probity_fail $2;
  ${3:-}
  upstream provider { server 127.0.0.1:$UP; keepalive 8; }
  server { listen 127.0.0.1:$UP; access_log off; location / { return 200 "upstream \$uri\n"; } }
  server {
    listen 127.0.0.1:$GP;
    probity enforce;
    probity_account \$http_x_tenant;
    probity_subaccount \$http_x_subscription;
    probity_region \$http_x_region;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location /storage/  { probity_service "Storage Accounts"; proxy_pass http://provider; }
    location /speech/   { probity_service "Azure AI Services"; probity_capability speech-to-text; proxy_pass http://provider; }
    location /security/ { probity_service "Key Vault"; proxy_pass http://provider; }
    location /dry/      { probity dry-run; probity_service "Storage Accounts"; proxy_pass http://provider; }
    location /legal/    { probity_service "Storage Accounts"; probity_deny_status 451; error_page 451 @denied; proxy_pass http://provider; }
    location ~ ^/by/([^/]+)/ { probity_account \$1; probity_service "Storage Accounts"; proxy_pass http://provider; }
    location @denied    { default_type application/json; return 451 '{"case":"\$probity_case","plan":"\$probity_plan","version":"\$probity_version"}\n'; }
    # the inputs in probity serve's headers, the whole decision as JSON
    location = /agree   { probity off; probity_account \$http_x_probity_account; probity_subaccount \$http_x_probity_subaccount;
                          probity_region \$http_x_probity_region; probity_service \$http_x_probity_service;
                          default_type application/json; return 200 '\$probity_json'; }
  }
}
NGX
}
# the workers share one table: the compiled file the first worker writes and
# every worker maps (probity_table), the log's key pinned (probity_vkey)
VKEY=$("$PROBITY" log status "$WS" | awk '/^vkey:/ {print $2}')
TABLE_LINES="probity_table $NG/entitlements.etab; probity_vkey \"$VKEY\";"
conf "$WS" closed "$TABLE_LINES" >"$NG/nginx.conf"
ngx -t -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" >"$TMP/t.out" 2>&1
check "nginx -t accepts the configuration" grep -q 'test is successful' "$TMP/t.out"
check "... and names the version it would serve" grep -q 'probity: entitlements version 1 (3 rules)' "$NG/logs/error.log"
check "... without writing the table (nginx -t)" test ! -e "$NG/entitlements.etab"
ngx -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" 2>"$TMP/nginx.err"
"$PROBITY" serve "$WS" --listen 127.0.0.1:$PP --workers 1 --reload-ms 50 --quiet 2>"$TMP/serve.err" &
SPID=$!
stop_all() { kill $SPID 2>/dev/null; [ -f "$NG/nginx.pid" ] && kill "$(cat "$NG/nginx.pid")" 2>/dev/null; }
trap stop_all EXIT
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$PP/healthz" >/dev/null && curl -s -o /dev/null "http://127.0.0.1:$GP/" && break
	sleep 0.1
done
check "the master wrote the compiled table" grep -q "entitlements version 1 (3 rules) from .*mapped from \"$NG/entitlements.etab\"" "$NG/logs/error.log"
check "... readable by workers of another user (0644)" test "$(stat -c %a "$NG/entitlements.etab")" = 644
check "... vouched for by the log" "$PROBITY" entitlements check "$NG/entitlements.etab" --ws "$WS" --vkey "$VKEY"
G=http://127.0.0.1:$GP
call() { # tenant path region -> status; headers in $TMP/h, body in $TMP/b
	curl -s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' -H "X-Tenant: $1" -H "X-Region: $3" "$G$2"
}
check "other customer: storage passes" test "$(call OTHER-9 /storage/x westeurope)" = 200
check "... and reaches the upstream" grep -q 'upstream /storage/x' "$TMP/b"
check "flagged account: storage in westeurope (NL) is 403" test "$(call IMOD-7F3A /storage/x westeurope)" = 403
check "... with the case header" grep -qi $'^X-Probity-Case: 1\r$' "$TMP/h"
check "... the plan header" grep -qi $'^X-Probity-Plan: 1\r$' "$TMP/h"
check "... the version header" grep -qi $'^X-Probity-Version: 1\r$' "$TMP/h"
check "... and the selector as the reason" grep -qi $'^X-Probity-Reason: country=NL\r$' "$TMP/h"
check "flagged account: storage in northeurope (IE) passes" test "$(call IMOD-7F3A /storage/x northeurope)" = 200
check "flagged account: speech is 403" test "$(call IMOD-7F3A /speech/x eastus)" = 403
check "flagged account: Key Vault in NL is kept" test "$(call IMOD-7F3A /security/x westeurope)" = 200
check "... and logged as kept" grep -q '^IMOD-7F3A allow kept 1$' "$NG/logs/access.log"
check "case is ignored in the account" test "$(call imod-7f3a /storage/x westeurope)" = 403
check "case is ignored in the header's name" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -H 'x-TENANT: IMOD-7F3A' -H 'X-Region: westeurope' "$G/storage/x")" = 403
check "the account from a capture of the path (\$1): 403" test "$(call OTHER-9 /by/IMOD-7F3A/x westeurope)" = 403
check "... and another account's passes" test "$(call IMOD-7F3A /by/OTHER-9/x westeurope)" = 200
check "dry-run: the deny is not enforced" test "$(call IMOD-7F3A /dry/x westeurope)" = 200
check "... but logged in the error log" grep -q 'probity: dry-run, not enforced: account "IMOD-7F3A"' "$NG/logs/error.log"
check "... and the access log" grep -q '^IMOD-7F3A deny disabled 1$' "$NG/logs/access.log"
check "deny status 451 and a named location reading the decision" test "$(call IMOD-7F3A /legal/x westeurope)" = 451
check "... whose body names the case, plan and version" grep -q '{"case":"1","plan":"1","version":"1"}' "$TMP/b"
check "no account: 400 (fail closed)" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Region: eastus' "$G/storage/x")" = 400
check "an account over 256 bytes: 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Tenant: $(printf 'a%.0s' $(seq 300))" -H 'X-Region: eastus' "$G/storage/x")" = 400

# the same answers as probity serve and probity decide
AGREE_N=300; AGREE_D=60
[ "$(basename "$PB_BUILD")" = san ] && { AGREE_N=200; AGREE_D=30; }
python3 "$ROOT/bench/nginx-module/agree.py" --nginx 127.0.0.1:$GP --serve 127.0.0.1:$PP --ws "$WS" \
	--probity "$PROBITY" --data "$ROOT/data" --n $AGREE_N --decide $AGREE_D --seed 7 >"$TMP/agree.out" 2>&1
rc=$?
check "random requests: module, serve and decide agree ($(tr '\n' ' ' <"$TMP/agree.out" | cut -c1-300))" test $rc = 0

# hot reload: requests run (several connections, so both workers answer)
# while the plan is rolled back and another applied; every answer is 200 or
# 403, and each switch is seen within 1 s
load() { # SECONDS -> "ms status" lines in $TMP/load.out
	python3 - "$GP" "$1" >"$TMP/load.out" <<'PY'
import http.client, sys, time
port, dur = int(sys.argv[1]), float(sys.argv[2])
conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(4)]
end = time.time() + dur; i = 0
while time.time() < end:
    c = conns[i % 4]; i += 1
    try:
        c.request("GET", "/storage/x", headers={"X-Tenant": "IMOD-7F3A", "X-Region": "westeurope"})
        r = c.getresponse(); r.read(); s = r.status
    except Exception as e:
        s = "error"; conns[(i - 1) % 4] = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    print(int(time.time() * 1000), s)
PY
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
load 3 &
LPID=$!
sleep 0.7
# a rollback needs two approvers: dana asks (nothing changes yet), bob's request rolls back
"$PROBITY" plan rollback "$WS" 1 --as dana --reason "appeal upheld" >"$TMP/rollback-ask.log" 2>&1
t_rb=$(now_ms)
"$PROBITY" plan rollback "$WS" 1 --as bob --reason "appeal upheld" >"$TMP/rollback.log" 2>&1
sleep 1.1
t_ap=$(now_ms)
"$PROBITY" plan apply "$WS" 2 --as alice >"$TMP/apply.log" 2>&1
wait $LPID
check "rolled back (version 2) and plan 2 applied (version 3)" \
	grep -q 'entitlements version 3' "$TMP/apply.log"
switches=$(awk -v rb="$t_rb" -v ap="$t_ap" '
	$2 != 200 && $2 != 403 { bad++ }
	$1 < rb && $2 != 403 { early++ }
	$1 >= rb && $1 < ap && $2 == 403 { last403 = $1 }
	$1 >= ap && $2 == 200 { last200 = $1 }
	END { printf "%d %d %d %d %d", NR, bad, early, (last403 ? last403 - rb : 0), (last200 ? last200 - ap : 0) }' "$TMP/load.out")
read -r n bad early d_rb d_ap <<<"$switches"
check "load: $n requests, none failed ($bad)" test "$bad" = 0 -a "$n" -gt 50
check "before the rollback every request is denied ($early not)" test "$early" = 0
check "rollback in force in every worker within 1 s (last deny ${d_rb} ms after)" test "$d_rb" -lt 1000
check "new plan in force in every worker within 1 s (last allow ${d_ap} ms after)" test "$d_ap" -lt 1000
check "the workers logged the reload" grep -q 'probity: serving entitlements version 3' "$NG/logs/error.log"
check "... one compiled it into the shared file" grep -q 'probity: serving entitlements version 3 (.*compiled into the shared file' "$NG/logs/error.log"
check "... the other mapped it" grep -q 'probity: serving entitlements version 3 (.*mapped in' "$NG/logs/error.log"
check "... which holds version 3" bash -c "'$PROBITY' entitlements check '$NG/entitlements.etab' | grep -q 'entitlements version 3,'"
maps=0
for w in $(pgrep -P "$(cat "$NG/nginx.pid")"); do
	grep -q " $NG/entitlements.etab\$" /proc/$w/maps && maps=$((maps + 1))
done
check "every worker maps the one file ($maps of 2)" test "$maps" = 2
# a damaged compiled table: refused (the last good serves), written again
cp "$NG/entitlements.etab" "$TMP/good.etab"
printf 'X' | dd of="$TMP/good.etab" bs=1 seek=700 conv=notrunc 2>/dev/null
mv "$TMP/good.etab" "$NG/entitlements.etab"
sleep 0.4
check "damaged table: still denied as version 3" test "$(call IMOD-7F3A /speech/x eastus)" = 403
check "... refused in the error log" grep -q 'compiled table ".*" not loaded, still serving version 3: .*checksum' "$NG/logs/error.log"
check "... and written again" bash -c "'$PROBITY' entitlements check '$NG/entitlements.etab' | grep -q 'entitlements version 3,'"
sleep 0.3
maps=0; stale=0
for w in $(pgrep -P "$(cat "$NG/nginx.pid")"); do
	grep -q " $NG/entitlements.etab\$" /proc/$w/maps && maps=$((maps + 1))
	grep -q " $NG/entitlements.etab.* (deleted)\$" /proc/$w/maps && stale=$((stale + 1))
done
check "... which every worker maps again, letting the old file go ($maps of 2, $stale stale)" test "$maps" = 2 -a "$stale" = 0

# a worker killed: the respawned one serves the newest version from its first request
"$PROBITY" plan rollback "$WS" 2 --as dana --reason "appeal upheld" >"$TMP/rollback2-ask.log" 2>&1
"$PROBITY" plan rollback "$WS" 2 --as bob --reason "appeal upheld" >"$TMP/rollback2.log" 2>&1
for w in $(pgrep -P "$(cat "$NG/nginx.pid")"); do kill -9 "$w"; done
sleep 0.5
ok_all=1
for i in 1 2 3 4 5 6; do [ "$(call IMOD-7F3A /storage/x westeurope)" = 200 ] || ok_all=0; done
check "workers killed and respawned: the rollback (version 4) in force" test $ok_all = 1
check "... as version 4" test "$(curl -s -H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Service: Storage Accounts' \
	-H 'X-Probity-Region: westeurope' "$G/agree" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" = 4
# a corrupt newest version: the last good one keeps serving, the failure logged
sqlite3 "$WS/probity.db" "INSERT INTO entitlement_version VALUES (5, '2025-01-01T00:00:00.000Z', 0, 'forged', 0, 'bad')"
sleep 0.4
check "corrupt version 5: version 4 still allows" test "$(call IMOD-7F3A /storage/x westeurope)" = 200
check "... answering as version 4" grep -qE '^IMOD-7F3A allow no-(rules|match) 4$' "$NG/logs/access.log"
check "... and the failure is in nginx's error log" \
	grep -q 'probity: reload of entitlements version 5 failed, still serving version 4' "$NG/logs/error.log"

# nginx -s reload: the master reloads the newest version that verifies
ngx -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" -s reload
sleep 0.8
check "after nginx -s reload: still version 4" test "$(call IMOD-7F3A /storage/x westeurope)" = 200
check "... the corrupt version named as skipped" grep -q 'probity: entitlements version 5: .*not served' "$NG/logs/error.log"
check "... others pass" test "$(call OTHER-1 /storage/x westeurope)" = 200

kill "$(cat "$NG/nginx.pid")"; kill $SPID
for _ in $(seq 50); do [ -f "$NG/nginx.pid" ] || break; sleep 0.1; done
if [ -n "$PRELOAD" ]; then
	check "no sanitizer report" bash -c "! grep -qE 'ERROR: AddressSanitizer|runtime error' '$NG/logs/error.log' '$TMP/nginx.err'"
fi

# no table at start: fail closed (503) or open, said at startup
WS2=$TMP/ws2
"$PROBITY" init --unsigned "$WS2" >/dev/null
sqlite3 "$WS2/probity.db" "INSERT INTO entitlement_version VALUES (1, '2025-01-01T00:00:00.000Z', 0, 'forged', 0, 'bad')"
for mode in closed open; do
	conf "$WS2" $mode >"$NG/nginx.conf"
	: >"$NG/logs/error.log"
	ngx -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" 2>"$TMP/nginx-$mode.err"
	for _ in $(seq 50); do curl -s -o /dev/null "$G/" && break; sleep 0.1; done
	want=503; [ $mode = open ] && want=200
	check "no table loads, fail $mode: $want" test "$(call OTHER-1 /storage/x westeurope)" = $want
	check "... said at startup" grep -q "no entitlements table loads from .*failing $mode" "$TMP/nginx-$mode.err"
	kill "$(cat "$NG/nginx.pid")"
	for _ in $(seq 50); do [ -f "$NG/nginx.pid" ] || break; sleep 0.1; done
done
trap - EXIT

# nginx -t refuses bad configurations, saying what is wrong
badconf() { # DESCRIPTION EXPECTED-MESSAGE SED-EXPRESSION
	conf "$WS" closed | sed -e "$3" >"$TMP/bad.conf"
	ngx -t -p "$NG" -c "$TMP/bad.conf" -e "$NG/logs/error.log" >"$TMP/bad.out" 2>&1
	check "nginx -t refuses $1" grep -q "$2" "$TMP/bad.out"
}
badconf "a bad mode" 'invalid value "maybe" in "probity": expected enforce, dry-run or off' 's/probity enforce;/probity maybe;/'
badconf "a deny status outside 400-599" 'invalid status "200" in "probity_deny_status"' 's/probity_deny_status 451/probity_deny_status 200/'
badconf "a missing workspace" 'probity_workspace "/nonexistent" is not a folder' "s|probity_workspace .*;|probity_workspace /nonexistent;|"
badconf "enforce with no workspace" '"probity_workspace" is not' '/probity_workspace/d'
badconf "enforce in a nested location only, with no workspace" '"probity_workspace" is not' \
	'/probity_workspace/d; /^    probity enforce;/d; s/probity dry-run; //; s|location /security/ { |location /security/ { location /security/n/ { probity enforce; } |'
badconf "a bad probity_fail" 'invalid value "maybe" in "probity_fail"' 's/probity_fail closed/probity_fail maybe/'
badconf "a catalog that does not load" 'cannot load the catalog' "s|probity_data .*;|probity_data /nonexistent;|"
badconf "a log key that is not the workspace's" 'probity_vkey: workspace .* refused' \
	"s|probity_fail closed;|probity_fail closed; probity_vkey \"probity.example/other+01234567+ASptCSP5StyT+a+Wixl1OAHLbCOW7JBUifdsPDi2+Z4R\";|"
badconf "probity_table without a workspace" '"probity_table" needs "probity_workspace"' \
	"s|probity_workspace .*;|probity_table /tmp/x.etab;|"
finish nginx-module
