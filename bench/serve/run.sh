#!/bin/bash
# bench/serve/run.sh - probity serve against nginx, same worker counts (BENCH.md):
#  direct:  wrk -> probity /v1/authz   vs  wrk -> nginx `return 204`
#  gateway: wrk -> nginx auth_request -> probity  vs  the same chain with a
#           second nginx server as the decider (upstream keepalive pools both)
# Each figure: 3 runs of `timeout 20 wrk -t2 -c50 -d10s --latency` after a
# warm-up, alternating the two sides; a deny case is run too, so the check is
# known to be consulted. 127.0.0.1 only; servers stopped by pid.
# usage: bench/serve/run.sh [WORKERS]   (after `make release`)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
W=${1:-2}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
P=build/release/probity
[ -x $P ] || make release >/dev/null
T=$(mktemp -d)
mkdir -p "$T/ng/logs" "$T/ng/tmp" bench/results
export PROBITY_DATA=$ROOT/data
$P init "$T/ws" >/dev/null
build/release/tools/pb-entitle "$T/ws" publish tests/data/decide/demo-plan.json >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PP=$(port); NP=$(port); GP=$(port); GD=$(port); UP=$(port)
$P serve "$T/ws" --listen 127.0.0.1:$PP --workers "$W" --quiet 2>"$T/serve.err" &
SPID=$!
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
  server { listen 127.0.0.1:$NP; location / { return 204; } }
  server { listen 127.0.0.1:$GD; location / { return 204; } }
  server { listen 127.0.0.1:$UP; location / { return 200 "ok\n"; } }
  server {
    listen 127.0.0.1:$GP;
    location /p/ { auth_request /_pb; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location /n/ { auth_request /_ng; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://up; }
    location = /_pb { internal; proxy_pass http://probity/v1/authz; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Probity-Account \$http_x_tenant; proxy_set_header X-Probity-Service "Key Vault";
      proxy_set_header X-Probity-Region westeurope; }
    location = /_ng { internal; proxy_pass http://ngdecider/; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
  }
}
NG
nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
cleanup() { kill $SPID 2>/dev/null; kill "$(cat "$T/ng/nginx.pid")" 2>/dev/null; sleep 0.3; rm -rf "$T"; }
trap cleanup EXIT
sleep 0.5
HA=(-H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Service: Key Vault' -H 'X-Probity-Region: westeurope')
HD=(-H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Service: Storage Accounts' -H 'X-Probity-Region: westeurope')
test "$(curl -s -o /dev/null -w '%{http_code}' "${HD[@]}" 127.0.0.1:$PP/v1/authz)" = 403
test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Tenant: OTHER' 127.0.0.1:$GP/p/x)" = 200
run() { timeout 20 wrk -t2 -c50 -d${DUR:-10}s --latency "$@" 2>&1; }
rps() { sed -nE 's/^Requests\/sec: +([0-9.]+)/\1/p'; }
p99() { sed -nE 's/^ +99% +([0-9.]+)(us|ms|s)$/\1 \2/p' | awk '{v=$1; if($2=="ms")v*=1000; if($2=="s")v*=1e6; print v}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
compare() { # name, peer-args..., --, probity-args...
	local name=$1; shift
	local peer=() ours=()
	while [ "$1" != -- ]; do peer+=("$1"); shift; done; shift; ours=("$@")
	run "${peer[@]}" >/dev/null; run "${ours[@]}" >/dev/null # warm-up
	local pr=() orr=() pp=() op=() o
	for i in 1 2 3; do
		o=$(run "${peer[@]}"); pr+=("$(rps <<<"$o")"); pp+=("$(p99 <<<"$o")")
		o=$(run "${ours[@]}"); orr+=("$(rps <<<"$o")"); op+=("$(p99 <<<"$o")")
		grep -q 'Non-2xx' <<<"$o" && [ "$name" != direct-deny ] && echo "  warning: non-2xx answers in $name"
	done
	local a b c d
	a=$(printf '%s\n' "${orr[@]}" | median); b=$(printf '%s\n' "${pr[@]}" | median)
	c=$(printf '%s\n' "${op[@]}" | median); d=$(printf '%s\n' "${pp[@]}" | median)
	echo "$name: probity $a req/s, peer $b req/s, ratio $(python3 -c "print(round($a/$b,3))") (runs: ${orr[*]} vs ${pr[*]}); p99 probity ${c} us, peer ${d} us, ratio $(python3 -c "print(round($c/$d,2))")"
	printf '{"name":"%s","probity_rps":%s,"peer_rps":%s,"probity_p99_us":%s,"peer_p99_us":%s}\n' "$name" "$a" "$b" "$c" "$d" >>bench/results/serve.jsonl
}
: >bench/results/serve.jsonl
compare direct-allow "http://127.0.0.1:$NP/" -- "${HA[@]}" "http://127.0.0.1:$PP/v1/authz"
compare direct-deny "http://127.0.0.1:$NP/" -- "${HD[@]}" "http://127.0.0.1:$PP/v1/authz"
compare gateway -H 'X-Tenant: OTHER' "http://127.0.0.1:$GP/n/x" -- -H 'X-Tenant: OTHER' "http://127.0.0.1:$GP/p/x"
