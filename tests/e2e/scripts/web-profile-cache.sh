#!/bin/bash
# web-profile-cache.sh - probity web keeps built profile pages (web/pcache.c)
# keyed by the usage data's version: a second view is served from the cache,
# an ingest or a customer change from the command line (here while browsers
# read the page) makes the next view a new build, and what the cache serves
# is byte for byte what a fresh process builds. 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-profile-cache
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../web_lib.sh"
cd "$TMP" || exit 1
"$PB_BUILD/tools/genfocus" demo --months 3 --end 2025-03 >a.csv
"$PB_BUILD/tools/genfocus" demo --months 3 --end 2025-06 >b.csv
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" ingest -q ws a.csv
"$PROBITY" customer add ws "Varnia Interior Ministry" --account EA-880412 >/dev/null
"$PROBITY" user add ws alice --role analyst >/dev/null
PORT=$(free_port)
B=http://127.0.0.1:$PORT
start() { "$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet 2>>web.err & WPID=$!
	for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done; }
start
trap 'kill $WPID 2>/dev/null' EXIT
code=$(web_signin ws "$B" alice jar)
check "signed in ($code)" test "$code" = 200
U="$B/customers/Varnia%20Interior%20Ministry?by=service"
get() { curl -s -b jar -D "$1.h" -o "$1.html" "$U"; tr -d '\r' <"$1.h" | sed -n 's/^X-Probity-Cache: //p'; }
check "the first view is built" test "$(get v1)" = miss
check "the second view comes from the cache" test "$(get v2)" = hit
body() { sed '1,/<main>/d;s/ nonce="[0-9a-f]*"//' "$1"; } # the page after its header (token), no nonce
check "... with the same body" cmp -s <(body v1.html) <(body v2.html)
check "another picker is another page" test "$(curl -s -b jar -D - -o /dev/null "$U,region" | tr -d '\r' | sed -n 's/^X-Probity-Cache: //p')" = miss

# an ingest from the command line while 4 readers view the page
reader() { local i=0; while [ ! -e ingested ] && [ $i -lt 400 ]; do
	curl -s -b jar -o /dev/null -w '%{http_code}\n' "$U"; i=$((i + 1)); done >"codes.$1"; }
pids=()
for k in 1 2 3 4; do reader $k & pids+=($!); done
"$PROBITY" ingest -q ws b.csv; touch ingested
for p in "${pids[@]}"; do timeout 60 tail --pid="$p" -f /dev/null; done
check "every view during the ingest answered 200 ($(cat codes.* | sort | uniq -c | tr '\n' ' '))" \
	test -z "$(cat codes.* | grep -v '^200$')"
get v3 >/dev/null # built by a reader or here: a reader may have come after the ingest
check "after the ingest the page changed" sh -c '! cmp -s v1.html v3.html'
check "then it is cached" test "$(get v4)" = hit

# what the cache serves is what a fresh process builds
kill $WPID; wait $WPID 2>/dev/null
start
check "a fresh process builds the page" test "$(get v5)" = miss
check "the cached page is the fresh build" cmp -s <(body v4.html) <(body v5.html)

# a customer change is a new version too: the account goes, the page says so
"$PROBITY" customer remove ws "Varnia Interior Ministry" >/dev/null
code=$(curl -s -b jar -o v6.html -w '%{http_code}' "$U")
check "a removed customer is not served from the cache ($code)" test "$code" = 404
"$PROBITY" customer add ws "Varnia Interior Ministry" --account EA-880412 >/dev/null
check "added again: built again" test "$(get v7)" = miss
check "... the same page as before" cmp -s <(body v5.html) <(body v7.html)
finish web-profile-cache
