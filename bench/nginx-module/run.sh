#!/bin/bash
# bench/nginx-module/run.sh - decisions inside nginx (ngx_http_probity_module)
# against the same nginx deciding itself with map/if over the same rules, and
# against probity serve behind auth_request. One nginx instance, WORKERS
# workers (default 2), wrk -t2 -c50 on 127.0.0.1, keepalive everywhere; every
# chain proxies to the same toy upstream (a server block of that nginx).
#   gateway-allow: requests the rules allow (an account under no plan)
#   gateway-deny:  requests the rules deny (403), module vs map/if
#   gateway-serve: the module vs probity serve behind auth_request (allow)
# Each figure: RUNS (3) runs of DUR (5) s after a warm-up, alternating the
# sides; median requests/s and p99, and the CPU time of the servers per
# request (from /proc: steadier than req/s on a shared machine).
# Then: ns per decision inside the module (probity_timing on in every run:
# pb_decide timed in the workers, two clock reads against some 15-30 us per
# request, printed at their exit), the memory of 100,000 rules (workers'
# private and proportional RSS from smaps_rollup, at start when the workers
# share the master's table and after a hot reload when each compiled its own),
# and the agreement of the module, probity serve and probity decide on AGREE_N
# (1,000,000) random requests over the 100,000 rules (probity decide on the
# first AGREE_DECIDE, 100, of them: one process each, compiling the 100,000
# rules every time).
# 127.0.0.1 only; servers stopped by pid. The machine is shared: compare the
# ratios of one run, not absolute figures across runs.
# INSTR=1: instructions per request of the gateway chains instead (below).
# usage: bench/nginx-module/run.sh [WORKERS]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
W=${1:-2}
RUNS=${RUNS:-3}; DUR=${DUR:-5}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
make --no-print-directory VARIANT=release all nginx-module test-tools >/dev/null
P=build/release/probity
MOD=$ROOT/build/release/nginx/ngx_http_probity_module.so
T=$(mktemp -d)
mkdir -p "$T/ng/logs" "$T/ng/tmp" bench/results
export PROBITY_DATA=$ROOT/data
$P init --unsigned "$T/ws" >/dev/null
build/release/tests/tools/pb-entitle --log-as bench "$T/ws" publish tests/data/decide/demo-plan.json >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PP=$(port); GP=$(port); UP=$(port)
$P serve "$T/ws" --listen 127.0.0.1:$PP --workers "$W" --quiet 2>"$T/serve.err" &
SPID=$!
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
conf() { # WORKSPACE TIMING [EXTRA-LINES]
	cat <<NG
load_module $MOD;
$USER_LINE
worker_processes $W;
pid $T/ng/nginx.pid;
error_log $T/ng/logs/error.log notice;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $T/ng/tmp/b; proxy_temp_path $T/ng/tmp/p; fastcgi_temp_path $T/ng/tmp/f;
  uwsgi_temp_path $T/ng/tmp/u; scgi_temp_path $T/ng/tmp/s;
  probity_workspace $1;
  probity_data $ROOT/data;
  probity_timing $2;
  ${3:-}
  upstream probity { server 127.0.0.1:$PP; keepalive 64; }
  upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$UP; location / { return 200 "ok\n"; } }
  # the peer: the demo plan's rules (tests/data/decide/demo-plan.json) as
  # nginx itself would decide them: storage in NL and speech/translation off
  # for IMOD-7F3A (map keys ignore case, like probity), Security kept
  map \$http_x_tenant \$ng_flagged { default 0; IMOD-7F3A 1; }
  map "\$ng_flagged|\$http_x_service|\$http_x_region" \$ng_deny {
    default 0;
    "~^1\\|(Storage Accounts|Azure Blob Storage|Azure Files)\\|(westeurope|west europe|netherlands)\$" 1;
    "~^1\\|(Azure AI Services|Speech Services|Translator)\\|" 1;
  }
  server {
    listen 127.0.0.1:$GP;
    proxy_http_version 1.1; proxy_set_header Connection "";
    location /m/ { probity enforce; probity_account \$http_x_tenant; probity_service \$http_x_service;
                   probity_region \$http_x_region; proxy_pass http://up; }
    location /n/ { if (\$ng_deny) { return 403; } proxy_pass http://up; }
    location /p/ { auth_request /_pb; proxy_pass http://up; }
    location = /_pb { internal; proxy_pass http://probity/v1/authz; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_pass_request_body off; proxy_set_header Content-Length "";
      proxy_set_header X-Probity-Account \$http_x_tenant; proxy_set_header X-Probity-Service \$http_x_service;
      proxy_set_header X-Probity-Region \$http_x_region; }
    location = /agree { probity_account \$http_x_probity_account; probity_subaccount \$http_x_probity_subaccount;
      probity_service \$http_x_probity_service; probity_region \$http_x_probity_region;
      default_type application/json; return 200 '\$probity_json'; }
  }
}
NG
}
conf "$T/ws" on >"$T/ng/nginx.conf"
nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
cleanup() { kill $SPID 2>/dev/null || true; [ -f "$T/ng/nginx.pid" ] && kill "$(cat "$T/ng/nginx.pid")" 2>/dev/null || true; sleep 0.3; rm -rf "$T"; }
trap cleanup EXIT
for i in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$PP/healthz)" = 200 ] && [ -f "$T/ng/nginx.pid" ] && break
	sleep 0.1
done
G=http://127.0.0.1:$GP
A=(-H 'X-Tenant: OTHER' -H 'X-Service: Key Vault' -H 'X-Region: westeurope')
D=(-H 'X-Tenant: IMOD-7F3A' -H 'X-Service: Storage Accounts' -H 'X-Region: westeurope')
for path in m n p; do
	test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" $G/$path/x)" = 200
	test "$(curl -s -o /dev/null -w '%{http_code}' "${D[@]}" $G/$path/x)" = 403
done
# INSTR=1: instructions per request instead of wrk runs, which callgrind
# counts the same on a loaded machine: the same configuration in one
# single-process nginx under valgrind, INSTR_N (3,000) keepalive requests per
# side after 200 of warm-up, the nginx thread only (not the reloader's).
if [ "${INSTR:-0}" = 1 ]; then
	command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
	kill "$(cat "$T/ng/nginx.pid")"
	for i in $(seq 50); do [ -f "$T/ng/nginx.pid" ] || break; sleep 0.1; done
	conf "$T/ws" off | sed 's/^worker_processes .*/worker_processes 1; master_process off; daemon off;/' >"$T/ng/cg.conf"
	valgrind --tool=callgrind --separate-threads=yes --dump-instr=no --callgrind-out-file="$T/cg.%p" \
		nginx -p "$T/ng" -c "$T/ng/cg.conf" -e "$T/ng/logs/error.log" 2>"$T/vg.err" &
	VP=$!
	for i in $(seq 100); do curl -s -o /dev/null "$G/" && break; sleep 0.2; done
	N=${INSTR_N:-3000}; k=0
	reqs() { python3 - "$GP" "$@" <<'PY'
import http.client, sys
port, path, n, tenant, service = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
c = http.client.HTTPConnection("127.0.0.1", int(port))
for _ in range(n):
    c.request("GET", path, headers={"X-Tenant": tenant, "X-Service": service, "X-Region": "westeurope"})
    r = c.getresponse(); r.read()
PY
	}
	for kind in allow deny; do
		if [ $kind = allow ]; then who=(OTHER "Key Vault"); else who=(IMOD-7F3A "Storage Accounts"); fi
		for side in n m; do
			reqs /$side/x 200 "${who[@]}"
			callgrind_control -z $VP >/dev/null 2>&1
			reqs /$side/x "$N" "${who[@]}"
			callgrind_control -d "$kind-$side" $VP >/dev/null 2>&1
			k=$((k + 1))
			ir=$(( $(sed -n 's/^summary: //p' "$T/cg.$VP.$k-01") / N ))
			if [ $side = n ]; then ir_n=$ir; else ir_m=$ir; fi
		done
		echo "instructions per $kind request, the nginx worker's whole request: module $ir_m, peer (map/if) $ir_n, ratio $(python3 -c "print(round($ir_m/$ir_n,3))")"
	done
	kill $VP; wait $VP 2>/dev/null || true
	exit 0
fi
# wrk runs, figures and the peer-vs-ours comparison: bench/wrk.sh
OURS=module RESULTS=bench/results/nginx-module.jsonl DENY_OK=gateway-deny
. bench/wrk.sh
: >"$RESULTS"
NG=$(ngx_pids "$T/ng")
[ "${GATEWAY:-1}" = 1 ] && {
compare gateway-allow "$NG" "$NG" "${A[@]}" "$G/n/x" -- "${A[@]}" "$G/m/x"
compare gateway-deny "$NG" "$NG" "${D[@]}" "$G/n/x" -- "${D[@]}" "$G/m/x"
compare gateway-serve "$NG $SPID" "$NG" "${A[@]}" "$G/p/x" -- "${A[@]}" "$G/m/x"
}

# ns per decision inside the module, over 100,000 rules (pb-bench-decide's
# deterministic set: plans of two disables and a keep on accounts acct-NNNNNNN)
kill "$(cat "$T/ng/nginx.pid")"; kill $SPID; wait $SPID 2>/dev/null || true
for i in $(seq 50); do [ -f "$T/ng/nginx.pid" ] || break; sleep 0.1; done
grep -o 'probity: [0-9]* decisions in this worker, [0-9.]* ns each.*' "$T/ng/logs/error.log" |
	sed 's/^/module timing, demo plan (3 rules), gateway runs: /'
build/release/tools/pb-bench-decide "$T/big" data/catalog 100000 1000 1 >"$T/big.out"
conf "$T/big" on >"$T/ng/nginx.conf"
: >"$T/ng/logs/error.log"
nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
for i in $(seq 100); do curl -s -o /dev/null "$G/" && break; sleep 0.1; done
cat >"$T/mix.lua" <<'LUA'
local svcs = { "Storage Accounts", "Azure AI Services", "Key Vault", "Virtual Machines" }
local regions = { "westeurope", "northeurope", "eastus", "germanywestcentral" }
local n = 0
request = function()
  n = n + 1
  local h = { ["X-Tenant"] = string.format("acct-%07d", (n * 7919) % 80000),
              ["X-Service"] = svcs[(n % 4) + 1], ["X-Region"] = regions[(n % 3) + 1] }
  return wrk.format("GET", "/m/x", h)
end
LUA
mem() { # label: private and proportional RSS of the workers, kB
	local priv=0 pss=0 p
	for p in $(pgrep -P "$(cat "$T/ng/nginx.pid")"); do
		priv=$((priv + $(awk '/^Private_(Clean|Dirty):/ {s+=$2} END {print s}' /proc/$p/smaps_rollup)))
		pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)))
	done
	local m; m=$(awk '/^Rss:/ {print $2}' /proc/"$(cat "$T/ng/nginx.pid")"/smaps_rollup)
	echo "$1: workers private $priv kB, workers PSS $pss kB, master RSS $m kB"
}
M0=$(mem "memory, 100,000 rules, at start (the master's table, shared by fork)")
timeout $((DUR + 10)) wrk -t2 -c50 -d${DUR}s -s "$T/mix.lua" "$G" >"$T/mix.out" 2>&1
echo "decisions over 100,000 rules: $(rps <"$T/mix.out") req/s ($(grep -c Non-2xx "$T/mix.out" || true) non-2xx lines: denies expected)"
build/release/tests/tools/pb-entitle --log-as bench "$T/big" remove 1 >/dev/null # a new version: each worker compiles its own
for i in $(seq 100); do grep -c 'serving entitlements version 2' "$T/ng/logs/error.log" | grep -q "^$W$" && break; sleep 0.1; done
curl -s -o /dev/null "${A[@]}" "$G/m/x"; curl -s -o /dev/null "${A[@]}" "$G/m/x"; sleep 0.5
M1=$(mem "memory, 100,000 rules, after a hot reload (a table per worker)")
grep -o 'compiled in [0-9.]* ms' "$T/ng/logs/error.log" | head -2 | sed 's/^/hot reload: /'
# the same with the compiled file every worker maps (probity_table)
kill -TERM "$(cat "$T/ng/nginx.pid")"
for i in $(seq 50); do [ -f "$T/ng/nginx.pid" ] || break; sleep 0.1; done
grep -o 'probity: [0-9]* decisions in this worker, [0-9.]* ns each.*' "$T/ng/logs/error.log" |
	sed 's/^/module timing, 100,000 rules, a table per worker (mix): /'
conf "$T/big" on "probity_table $T/big.etab;" >"$T/ng/nginx.conf"
: >"$T/ng/logs/error.log"
nginx -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
for i in $(seq 100); do curl -s -o /dev/null "$G/" && break; sleep 0.1; done
M2=$(mem "memory, 100,000 rules, shared file, at start")
timeout $((DUR + 10)) wrk -t2 -c50 -d${DUR}s -s "$T/mix.lua" "$G" >"$T/mix2.out" 2>&1
echo "decisions over 100,000 rules, shared file: $(rps <"$T/mix2.out") req/s"
build/release/tests/tools/pb-entitle --log-as bench "$T/big" remove 2 >/dev/null
for i in $(seq 100); do grep -c 'serving entitlements version 3' "$T/ng/logs/error.log" | grep -q "^$W$" && break; sleep 0.1; done
timeout $((DUR + 10)) wrk -t2 -c50 -d${DUR}s -s "$T/mix.lua" "$G" >"$T/mix3.out" 2>&1
M3=$(mem "memory, 100,000 rules, shared file, after a hot reload and a wrk run")
echo "decisions over 100,000 rules, shared file after the reload: $(rps <"$T/mix3.out") req/s"
grep -oE 'version 3 \([0-9]+ rules\), [a-z ]+ in [0-9.]+ ms' "$T/ng/logs/error.log" | sed 's/^/hot reload, shared file: /'
echo "$M0"; echo "$M1"; echo "$M2"; echo "$M3"

# agreement on AGREE_N random requests over the 100,000 rules
AGREE_N=${AGREE_N:-1000000}
if [ "$AGREE_N" != 0 ]; then
	$P serve "$T/big" --listen 127.0.0.1:$PP --workers "$W" --quiet 2>"$T/serve2.err" &
	SPID=$!
	for i in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$PP/healthz)" = 200 ] && break; sleep 0.1; done
	accts=$(python3 -c 'print(",".join("acct-%07d" % i for i in range(0, 60000, 10)))')
	t0=$(date +%s)
	python3 bench/nginx-module/agree.py --nginx 127.0.0.1:$GP --serve 127.0.0.1:$PP --ws "$T/big" \
		--probity $P --data data --n "$AGREE_N" --decide "${AGREE_DECIDE:-100}" --seed 11 \
		--accounts "$accts" --wrk "$T" | tee "$T/agree.out"
	echo "agreement: $AGREE_N requests in $(( $(date +%s) - t0 )) s"
fi
kill -TERM "$(cat "$T/ng/nginx.pid")"
for i in $(seq 50); do [ -f "$T/ng/nginx.pid" ] || break; sleep 0.1; done
grep -o 'probity: [0-9]* decisions in this worker, [0-9.]* ns each.*' "$T/ng/logs/error.log" |
	sed 's/^/module timing, 100,000 rules (mix and agreement): /'
echo "library floor for comparison: bench/decide/run.sh (pb-bench-decide, one thread, no nginx)"
grep -E 'ns/decision' "$T/big.out" | sed 's/^/pb-bench-decide (1,000 requests, 1 round): /'
