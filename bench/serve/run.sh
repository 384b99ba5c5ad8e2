#!/bin/bash
# bench/serve/run.sh - probity serve against nginx, same worker counts (BENCH.md):
#  direct:  wrk -> probity /v1/authz   vs  wrk -> nginx `return 204`
#  gateway: wrk -> nginx auth_request -> probity  vs  the same chain with a
#           second nginx server as the decider (upstream keepalive pools both)
#  gateway-separate: the same, the peer decider being a second nginx
#           instance with as many workers as probity: a process of its own,
#           like probity (the in-process peer saves a process hop; this
#           tells that cost from probity's own)
#  gateway-unix: the gateway chain with both deciders on Unix sockets,
#           probity as a one-worker sidecar (the deployment docs/gateways.md
#           recommends) against nginx deciding in the same instance
# Each figure: 3 runs (RUNS) of `timeout 20 wrk -t2 -c50 -d10s --latency`
# (DUR) after a warm-up, alternating the two sides; a deny case is run too,
# so the check is known to be consulted. Beside each figure, the CPU time the
# servers of each chain took per request (from /proc: less noisy than req/s
# on a shared machine, and what decides throughput when cores are short).
# 127.0.0.1 only; servers stopped by pid.
# At the end, bench/serve/chaos.sh (CHAOS seconds, default 60; CHAOS=0 skips
# it): plans applied and rolled back every 100 ms under wrk, every logged
# decision checked against the version in force.
# usage: bench/serve/run.sh [WORKERS]   (after `make release`)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
W=${1:-2}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
P=build/release/probity
[ -x $P ] || make release >/dev/null
make --no-print-directory -s VARIANT=release test-tools >/dev/null # pb-entitle: test-only
T=$(mktemp -d)
mkdir -p "$T/ng/logs" "$T/ng/tmp" bench/results
export PROBITY_DATA=$ROOT/data
$P init --unsigned "$T/ws" >/dev/null
build/release/tests/tools/pb-entitle --log-as bench "$T/ws" publish tests/data/decide/demo-plan.json >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PP=$(port); NP=$(port); GP=$(port); GD=$(port); UP=$(port); SD=$(port)
$P serve "$T/ws" --listen 127.0.0.1:$PP --workers "$W" --quiet 2>"$T/serve.err" &
SPID=$!
# the sidecar form: one worker on a Unix socket (docs/gateways.md)
$P serve "$T/ws" --listen "unix:$T/p.sock" --workers 1 --quiet 2>"$T/serve-unix.err" &
UPID=$!
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$T/ng/nginx.conf" <<NG
$USER_LINE
worker_processes $W;
pid $T/ng/nginx.pid;
error_log $T/ng/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/ng/tmp/b; proxy_temp_path $T/ng/tmp/p; fastcgi_temp_path $T/ng/tmp/f;
  uwsgi_temp_path $T/ng/tmp/u; scgi_temp_path $T/ng/tmp/s;
  upstream probity { server 127.0.0.1:$PP; keepalive 64; }
  upstream ngdecider { server 127.0.0.1:$GD; keepalive 64; }
  upstream up { server 127.0.0.1:$UP; keepalive 64; }
  upstream sepdecider { server 127.0.0.1:$SD; keepalive 64; }
  upstream probity_unix { server unix:$T/p.sock; keepalive 64; }
  upstream ngdecider_unix { server unix:$T/g.sock; keepalive 64; }
  server { listen 127.0.0.1:$NP; location / { return 204; } }
  server { listen 127.0.0.1:$GD; location / { return 204; } }
  server { listen unix:$T/g.sock; location / { return 204; } }
  server { listen 127.0.0.1:$UP; location / { return 200 "ok\n"; } }
  server {
    listen 127.0.0.1:$GP;
    location /p/ { auth_request /_pb; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location /n/ { auth_request /_ng; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location /s/ { auth_request /_sd; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location /pu/ { auth_request /_pbu; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location /nu/ { auth_request /_ngu; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location = /_pbu { internal; proxy_pass http://probity_unix/v1/authz; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Probity-Account \$http_x_tenant; proxy_set_header X-Probity-Service \$http_x_service;
      proxy_set_header X-Probity-Region westeurope; }
    location = /_ngu { internal; proxy_pass http://ngdecider_unix/; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
    location = /_pb { internal; proxy_pass http://probity/v1/authz; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Probity-Account \$http_x_tenant; proxy_set_header X-Probity-Service \$http_x_service;
      proxy_set_header X-Probity-Region westeurope; }
    location = /_ng { internal; proxy_pass http://ngdecider/; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
    location = /_sd { internal; proxy_pass http://sepdecider/; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
  }
}
NG
mkdir -p "$T/sd/logs" "$T/sd/tmp"
cat >"$T/sd/nginx.conf" <<NG
$USER_LINE
worker_processes $W;
pid $T/sd/nginx.pid;
error_log $T/sd/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/sd/tmp/b; proxy_temp_path $T/sd/tmp/p; fastcgi_temp_path $T/sd/tmp/f;
  uwsgi_temp_path $T/sd/tmp/u; scgi_temp_path $T/sd/tmp/s;
  server { listen 127.0.0.1:$SD; location / { return 204; } }
}
NG
nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
nginx -p "$T/sd" -c "$T/sd/nginx.conf" -e "$T/sd/logs/error.log"
cleanup() { kill $SPID $UPID 2>/dev/null || true; kill "$(cat "$T/ng/nginx.pid")" "$(cat "$T/sd/nginx.pid")" 2>/dev/null || true; sleep 0.3; rm -rf "$T"; }
trap cleanup EXIT
# wait (5 s at most) until both probity servers answer
for i in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$PP/v1/authz)" != 000 ] && [ -S "$T/p.sock" ] && break
	sleep 0.1
done
HA=(-H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Service: Key Vault' -H 'X-Probity-Region: westeurope')
HD=(-H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Service: Storage Accounts' -H 'X-Probity-Region: westeurope')
test "$(curl -s -o /dev/null -w '%{http_code}' "${HD[@]}" 127.0.0.1:$PP/v1/authz)" = 403
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: OTHER' -H 'X-Service: Key Vault' 127.0.0.1:$GP/p/x)" = 200
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: OTHER' -H 'X-Service: Key Vault' 127.0.0.1:$GP/s/x)" = 200
# the gateway consults probity: the flagged customer's storage is cut, Key Vault kept
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: IMOD-7F3A' -H 'X-Service: Storage Accounts' 127.0.0.1:$GP/p/x)" = 403
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: IMOD-7F3A' -H 'X-Service: Key Vault' 127.0.0.1:$GP/p/x)" = 200
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: IMOD-7F3A' -H 'X-Service: Storage Accounts' 127.0.0.1:$GP/pu/x)" = 403
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: IMOD-7F3A' -H 'X-Service: Key Vault' 127.0.0.1:$GP/pu/x)" = 200
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: OTHER' -H 'X-Service: Key Vault' 127.0.0.1:$GP/nu/x)" = 200
# wrk runs, figures and the peer-vs-ours comparison: bench/wrk.sh
OURS=probity RESULTS=bench/results/serve.jsonl DENY_OK=direct-deny
. bench/wrk.sh
: >"$RESULTS"
NG=$(ngx_pids "$T/ng"); SDP=$(ngx_pids "$T/sd")
compare direct-allow "$NG" "$SPID" "http://127.0.0.1:$NP/" -- "${HA[@]}" "http://127.0.0.1:$PP/v1/authz"
compare direct-deny "$NG" "$SPID" "http://127.0.0.1:$NP/" -- "${HD[@]}" "http://127.0.0.1:$PP/v1/authz"
G=(-H 'X-Tenant: OTHER' -H 'X-Service: Key Vault')
compare gateway "$NG" "$NG $SPID" "${G[@]}" "http://127.0.0.1:$GP/n/x" -- "${G[@]}" "http://127.0.0.1:$GP/p/x"
compare gateway-separate "$NG $SDP" "$NG $SPID" "${G[@]}" "http://127.0.0.1:$GP/s/x" -- "${G[@]}" "http://127.0.0.1:$GP/p/x"
compare gateway-unix "$NG" "$NG $UPID" "${G[@]}" "http://127.0.0.1:$GP/nu/x" -- "${G[@]}" "http://127.0.0.1:$GP/pu/x"
if [ "${CHAOS:-60}" != 0 ]; then
	cleanup; trap - EXIT
	bench/serve/chaos.sh "${CHAOS:-60}" "$W"
fi
