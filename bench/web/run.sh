#!/bin/bash
# bench/web/run.sh - probity web under 50 signed-in clients (issue 13), on
# the demo workspace (tools/demo.sh), 127.0.0.1 only:
#  web-profile  GET /customers/Varnia Interior Ministry: the profile with
#               its tables and SVG charts
#  web-case     GET /cases/1: the demo's case, its timeline and notes
#  web-search   POST /cases/N/search: a mail search inside an open case
#               (each one a log entry, as on the command line)
#  web-plan     GET /plans/N: the demo's plan with its dry run over the
#               demo customer, approvals, history and notice preview (issue
#               14: p95 under 100 ms)
#  web-mix      profile, case and search in turn
#  web-static   the sign-in page (no session) against nginx serving the
#               same bytes from disk, in the same run, as many workers as cores
# Each: `wrk -t2 -c50 -dDURs` after a warm-up (DUR: BENCH_SECONDS, default
# 60, the issue's figure), 50 sessions of one analyst, each request carrying the next
# session, so every connection is a signed-in client. Prints throughput and
# p50/p95/p99 per page (bench/web/pages.lua), and appends the same as JSON
# to bench/results/web.json. Servers stopped by pid.
# usage: [BENCH_SECONDS=60] [PAGES="profile case search plan mix static"] bench/web/run.sh
# (after `make release`; DUR= is the older name of BENCH_SECONDS)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DUR=${BENCH_SECONDS:-${DUR:-60}}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
BUILD=${BUILD:-build/release} # BUILD=build/debug: try the script, not for figures
P=$BUILD/probity
[ -x $P ] || make release >/dev/null
T=$(mktemp -d)
mkdir -p "$T/ng/logs" "$T/ng/tmp" "$T/ng/static" bench/results
RESULTS=$ROOT/bench/results/web.json
# unsigned: the search page is a web write (a log entry), which a signed
# workspace refuses until the browser signs with passkeys (issue 14)
DEMO_UNSIGNED=1 tools/demo.sh $BUILD >"$T/demo.log" 2>&1 || { tail "$T/demo.log"; exit 1; }
cp -r build/demo/ws "$T/ws"
export PROBITY=$ROOT/$P
SEARCH_CASE=$($P case open "$T/ws" --as alice --customer "Varnia Interior Ministry" \
	--title "bench" --trigger "bench/web" | grep -o 'case [0-9]*' | head -1 | cut -d' ' -f2)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WP=$(port); NP=$(port)
B=http://127.0.0.1:$WP
$P web "$T/ws" --listen 127.0.0.1:$WP --max-connections 256 --quiet 2>"$T/web.err" &
WPID=$!
NPID=
trap 'kill $WPID 2>/dev/null; [ -n "$NPID" ] && kill $NPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done

# 50 sessions of alice: enrol once, then 50 sign-ins (Argon2id: a few seconds)
. tests/e2e/web_lib.sh
(cd "$T" && web_signin ws "$B" alice jar >/dev/null)
for i in $(seq 50); do
	j=$T/s$i
	curl -s -c "$j" -b "$j" -o "$j.f" "$B/signin"
	pre=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$j.f" | sed 's/.*value="//;s/"//')
	curl -s -c "$j" -b "$j" -o /dev/null -H "Origin: $B" \
		--data "csrf=$pre&name=alice&password=correct-horse-1" "$B/signin"
	curl -s -c "$j" -b "$j" -o "$j.home" "$B/"
	sid=$(awk '$6 == "pb_session" {print $7}' "$j")
	tok=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$j.home" | head -1 | sed 's/.*value="//;s/"//')
	[ -n "$sid" ] && [ -n "$tok" ] || { echo "bench/web: sign-in $i failed" >&2; exit 1; }
	echo "$sid $tok"
done >"$T/sessions"

PROFILE="/customers/Varnia%20Interior%20Ministry"
CASE=/cases/1
SEARCH=/cases/$SEARCH_CASE/search
PLAN=/plans/$(sqlite3 -batch "$T/ws/probity.db" "SELECT max(id) FROM plan")
Q='%22West+Europe%22+AND+%28storage+OR+petabytes%29'
for u in "$PROFILE" "$CASE" "$PLAN"; do
	code=$(curl -s -b "pb_session=$(head -1 "$T/sessions" | cut -d' ' -f1)" -o /dev/null -w '%{http_code}' "$B$u")
	[ "$code" = 200 ] || { echo "bench/web: $u answers $code" >&2; exit 1; }
done

# nginx: the sign-in page's bytes as a file
curl -s -o "$T/ng/static/signin.html" "$B/signin"
cat >"$T/ng/nginx.conf" <<NGX
$([ "$(id -u)" = 0 ] && echo "user root;")
worker_processes $(nproc);
pid $T/ng/nginx.pid;
error_log $T/ng/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $T/ng/tmp/body;
    proxy_temp_path $T/ng/tmp/proxy;
    fastcgi_temp_path $T/ng/tmp/fastcgi;
    uwsgi_temp_path $T/ng/tmp/uwsgi;
    scgi_temp_path $T/ng/tmp/scgi;
    types { text/html html; }
    server {
        listen 127.0.0.1:$NP;
        root $T/ng/static;
        add_header Cache-Control no-store;
    }
}
NGX
"$NGINX" -p "$T/ng" -c "$T/ng/nginx.conf" -e "$T/ng/logs/error.log"
for _ in $(seq 50); do [ -f "$T/ng/nginx.pid" ] && break; sleep 0.1; done
NPID=$(cat "$T/ng/nginx.pid")

wrk_page() { # base page path -> "rps p50 p95 p99 errors"
	timeout $((DUR + 30)) wrk -t2 -c50 -d"${DUR}s" --timeout 10s -s bench/web/pages.lua "$1" -- \
		"$T/sessions" "$2" "${3:-$PROFILE}" "$CASE" "$SEARCH" "$Q" "$PLAN" 2>"$T/status" | tail -1
}
ms() { python3 -c "print(round($1 / 1000, 1))"; }
report() { # name rps p50 p95 p99 errors
	echo "$1: probity $2 req/s, p50 $(ms $3) ms, p95 $(ms $4) ms, p99 $(ms $5) ms ($6 errors or non-2xx$(sort "$T/status" | tr '\n' ',' | sed 's/^./: &/;s/,$//'))"
	printf '{"name":"%s","rps":%s,"p50_us":%s,"p95_us":%s,"p99_us":%s,"errors":%s,"dur_s":%s}\n' \
		"$@" "$DUR" >>"$RESULTS"
}
DUR0=$DUR; DUR=3; wrk_page "$B" mix >/dev/null; DUR=$DUR0 # warm-up
for page in ${PAGES:-profile case search plan mix}; do
	[ "$page" = static ] && continue
	read -r -a x < <(wrk_page "$B" $page)
	report "web-$page" "${x[@]}"
done
case " ${PAGES:-static} " in *" static "*) ;; *) exit 0 ;; esac
read -r -a o < <(wrk_page "$B" static /signin)
read -r -a n < <(wrk_page "http://127.0.0.1:$NP" static /signin.html)
echo "web-static: probity ${o[0]} req/s, peer nginx ${n[0]} req/s, ratio $(python3 -c "print(round(${o[0]}/${n[0]},3))"); p99 probity $(ms ${o[3]}) ms, nginx $(ms ${n[3]}) ms (errors or non-2xx: ${o[4]}, ${n[4]})"
printf '{"name":"web-static","probity_rps":%s,"peer_rps":%s,"probity_p99_us":%s,"peer_p99_us":%s,"dur_s":%s}\n' \
	"${o[0]}" "${n[0]}" "${o[3]}" "${n[3]}" "$DUR" >>"$RESULTS"
