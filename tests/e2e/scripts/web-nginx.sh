#!/bin/bash
# web-nginx.sh - probity web behind Debian's nginx (tests/data/web/nginx-web.conf,
# the config docs/web.md shows): TLS ending at nginx and a plain proxy, the
# app on a Unix socket with --trusted-proxy unix. Sign-in and a page through
# each with curl and cookies; Secure cookies when nginx says https; the
# client address nginx saw, not one the client forged, in the sign-in
# throttle. 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-nginx
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../web_lib.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	fail "nginx is not installed (tools/deps.sh installs it)"
	finish web-nginx
	exit 0
fi
cd "$TMP" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NG=$TMP/nginx
mkdir -p "$NG/logs" "$NG/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$NG/key.pem" -out "$NG/cert.pem" >/dev/null 2>&1
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" user add ws alice --role analyst >/dev/null
"$PROBITY" user add ws bob --role auditor >/dev/null
GP=$(free_port); SP=$(free_port)
SOCK=$TMP/web.sock
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
sed -e "s|@NG@|$NG|g" -e "s|@GP@|$GP|g" -e "s|@SP@|$SP|g" -e "s|@SOCK@|$SOCK|g" -e "s|@USER@|$USER_LINE|" \
	"$ROOT/tests/data/web/nginx-web.conf" >"$NG/nginx.conf"
"$PROBITY" web ws --listen "unix:$SOCK" --trusted-proxy unix --quiet 2>web.err &
WPID=$!
"$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" 2>nginx.err
trap 'kill $WPID 2>/dev/null; [ -f "$NG/nginx.pid" ] && kill $(cat "$NG/nginx.pid") 2>/dev/null' EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && [ -f "$NG/nginx.pid" ] && break; sleep 0.1; done
check "nginx started" test -f "$NG/nginx.pid"

S=https://127.0.0.1:$SP
code=$(web_signin ws "$S" alice tls.jar --cacert "$NG/cert.pem")
check "TLS at nginx: sign-in and the home page ($code)" \
	test "$code" = 200 -a -n "$(grep -o 'alice (analyst)' tls.jar.home)"
check "... the pre-session cookie is Secure (X-Forwarded-Proto: https)" grep -qi '^set-cookie: pb_pre=.*; Secure' tls.jar.h0
check "... the session cookie is Secure" grep -qi '^set-cookie: pb_session=[0-9a-f]\{64\}; .*; Secure' tls.jar.h1
check "... and HSTS" grep -qi '^strict-transport-security: max-age=' tls.jar.h1
code=$(curl -s --cacert "$NG/cert.pem" -b tls.jar -o cases.html -w '%{http_code}' "$S/cases")
check "... a page through nginx ($code)" test "$code" = 200
G=http://127.0.0.1:$GP
code=$(web_signin ws "$G" bob plain.jar)
check "plain proxy: sign-in and the home page ($code)" \
	test "$code" = 200 -a -n "$(grep -o 'bob (auditor)' plain.jar.home)"
check "... cookies without Secure over http" grep -qi '^set-cookie: pb_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict'$'\r''$' plain.jar.h1
code=$(curl -s -b plain.jar -o /dev/null -w '%{http_code}' -H "Origin: http://evil.test" \
	--data "csrf=x" "$G/signout")
check "... a POST from another origin is refused ($code)" test "$code" = 403
# a failed sign-in counts against the address nginx saw, not one the client
# sent in its own X-Forwarded-For (nginx replaces it)
curl -s -c bad.jar -b bad.jar -o bad.html "$G/signin"
pre=$(grep -o 'name="csrf" value="[0-9a-f]*"' bad.html | sed 's/.*value="//;s/"//')
curl -s -c bad.jar -b bad.jar -o /dev/null -H "Origin: $G" -H 'X-Forwarded-For: 203.0.113.9' \
	--data "csrf=$pre&name=alice&password=wrong-password" "$G/signin"
addrs=$(sqlite3 ws/probity.db "SELECT group_concat(addr) FROM web_signin_fail")
check "a failed sign-in counted for 127.0.0.1, not a forged address or 'unix' ($addrs)" test "$addrs" = 127.0.0.1
# without --trusted-proxy the app believes no header
kill -TERM $WPID; wait $WPID
"$PROBITY" web ws --listen "unix:$SOCK" --quiet 2>web2.err &
WPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
curl -s -c bad.jar -b bad.jar -o /dev/null -H "Origin: $G" \
	--data "csrf=$pre&name=alice&password=wrong-password" "$G/signin"
addrs=$(sqlite3 ws/probity.db "SELECT group_concat(addr, ' ') FROM web_signin_fail")
check "without --trusted-proxy: the peer's address ($addrs)" test "$addrs" = "127.0.0.1 unix"
kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0
finish web-nginx
