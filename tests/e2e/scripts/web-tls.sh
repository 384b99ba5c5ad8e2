#!/bin/bash
# web-tls.sh - probity web over HTTPS (--tls-cert/--tls-key, OpenSSL): a
# self-signed certificate made here, sign-in through curl, cookies marked
# Secure, HSTS on every answer, an Origin of plain http refused, a bad key
# refused at start, plain HTTP on the TLS port gets nothing. 127.0.0.1 only;
# stopped by pid.
SCRIPT_NAME=web-tls
. "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout key.pem -out cert.pem >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
	-keyout other.pem -out other-cert.pem >/dev/null 2>&1
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" user add ws alice --role analyst >/dev/null
PORT=$(free_port)
B=https://127.0.0.1:$PORT
L=$("$PROBITY" user invite ws alice --url "$B" | tail -1)
TOK=${L#*token=}

"$PROBITY" web ws --listen 127.0.0.1:$PORT --tls-cert cert.pem --tls-key other.pem >bad.out 2>bad.err
check "a key that is not the certificate's is refused at start" grep -q "cannot use the certificate" bad.err
"$PROBITY" web ws --tls-cert cert.pem >/dev/null 2>half.err
check "--tls-cert without --tls-key is a usage error" grep -q -- "--tls-cert and --tls-key go together" half.err

"$PROBITY" web ws --listen 127.0.0.1:$PORT --tls-cert cert.pem --tls-key key.pem >web.out 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
C=(curl -s --cacert cert.pem -c jar -b jar)
for _ in $(seq 100); do "${C[@]}" -o /dev/null "$B/signin" && break; sleep 0.1; done
"${C[@]}" -D h1 -o e.html "$B/enrol?token=$TOK"
check "HSTS under TLS" grep -qi '^strict-transport-security: max-age=' h1
curl -s --cacert cert.pem -D h0 -o /dev/null "$B/signin"
check "the pre-session cookie is Secure" grep -qi '^set-cookie: pb_pre=.*; Secure' h0
PRE=$(grep -o 'name="csrf" value="[0-9a-f]*"' e.html | sed 's/.*value="//;s/"//')
"${C[@]}" -o /dev/null -H "Origin: $B" --data "csrf=$PRE&token=$TOK&password=correct-horse-1&again=correct-horse-1" "$B/enrol"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Origin: http://127.0.0.1:$PORT" \
	--data "csrf=$PRE&name=alice&password=correct-horse-1" "$B/signin")
check "an http Origin on the https app is refused ($code)" test "$code" = 403
"${C[@]}" -D h2 -o /dev/null -H "Origin: $B" --data "csrf=$PRE&name=alice&password=correct-horse-1" "$B/signin"
check "sign-in over TLS" grep -q '^HTTP/1.1 303' h2
check "the session cookie is Secure, HttpOnly, SameSite=Strict" \
	grep -qi '^set-cookie: pb_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict; Secure' h2
code=$("${C[@]}" -o home.html -w '%{http_code}' "$B/")
check "the home page over TLS ($code)" test "$code" = 200 -a -n "$(grep -o 'alice (analyst)' home.html)"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/signin")
check "plain HTTP on the TLS port gets no answer ($code)" test "$code" = 000
kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0
finish web-tls
