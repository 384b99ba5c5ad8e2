#!/bin/bash
# serve-api.sh - probity serve over HTTP: every endpoint, bad input, pipelining,
# slow and idle clients, hot reload, a failed reload, SIGTERM. 127.0.0.1 only;
# the server is started here and stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-api
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$PROBITY" serve "$WS" --listen 127.0.0.1:$PORT --workers 2 --reload-ms 50 --request-timeout 1 \
	--decision-log "$TMP/dl.jsonl" --log-allows 1 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done
check "healthz answers" curl -sf "$B/healthz"

Q='account=IMOD-7F3A&service=Storage%20Accounts&region=westeurope'
out=$(curl -s "$B/v1/decide?$Q")
check "decide: deny with the reason" grep -q '"result":"deny".*"plan":"1","case":"2025-007"' <<<"$out"
check "decide: a decision id" grep -q '"decision_id":"[0-9a-f]\{24\}"' <<<"$out"
out=$(curl -s "$B/v1/decide?account=IMOD-7F3A&service=Key+Vault&region=westeurope")
check "decide: Security stays on" grep -q '"result":"allow"' <<<"$out"
out=$(curl -s "$B/v1/decide?account=OTHER&service=Storage%20Accounts&region=westeurope")
check "decide: other customers pass" grep -q '"why":"no-rules"' <<<"$out"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' "$B/v1/decide?account=A&region=westeurope")
check "decide: missing parameter is 400" test "$code" = 400
check "decide: 400 body is JSON" grep -q '"error":"missing service"' "$TMP/b"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' "$B/v1/decide?account=A%zz&service=x&region=y")
check "decide: bad percent-encoding is 400" test "$code" = 400
check "unknown path is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$B/nope")" = 404
check "wrong method is 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$B/v1/decide?$Q")" = 405
m=$(curl -s "$B/metrics")
check "metrics: the 404 counted as not-found" grep -q '^probity_http_errors_total{kind="not-found"} 1$' <<<"$m"
check "metrics: the 405 counted as method-not-allowed" \
	grep -q '^probity_http_errors_total{kind="method-not-allowed"} 1$' <<<"$m"

# OPA data API
out=$(curl -s "$B/v1/data/probity/allow" -d '{"input":{"account":"IMOD-7F3A","service":"Amazon Transcribe","region":"us-east-1"}}')
check "opa: result false" grep -q '^{"result":false,"decision_id":"' <<<"$out"
out=$(curl -s "$B/v1/data/probity/allow" -d '{"input":{"account":"IMOD-7F3A","service":"Key Vault","region":"us-east-1"}}')
check "opa: result true" grep -q '"result":true' <<<"$out"
out=$(curl -s "$B/v1/data/probity/decision" -d '{"input":{"account":"IMOD-7F3A","service":"Amazon Transcribe","region":"us-east-1"}}')
check "opa: whole decision" grep -q '"result":{"result":"deny"' <<<"$out"
check "opa: the decision echoes the input" grep -q '"input":{"account":"IMOD-7F3A","service":"Amazon Transcribe","region":"us-east-1"}' <<<"$out"
check "opa: bad JSON is 400" test "$(curl -s -o /dev/null -w '%{http_code}' "$B/v1/data/probity/allow" -d '{"input":')" = 400

# nginx auth_request and Envoy ext_authz contracts
H=(-H 'X-Probity-Account: IMOD-7F3A' -H 'X-Probity-Region: westeurope')
curl -s -D "$TMP/h" -o /dev/null "${H[@]}" -H 'X-Probity-Service: Storage Accounts' "$B/v1/authz"
check "authz: 403" grep -q '^HTTP/1.1 403' "$TMP/h"
check "authz: case header" grep -q '^X-Probity-Case: 2025-007' "$TMP/h"
check "authz: plan header" grep -q '^X-Probity-Plan: 1' "$TMP/h"
check "authz: 204 allow" test "$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H 'X-Probity-Service: Key Vault' "$B/v1/authz")" = 204
check "authz: missing header is 400" test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Probity-Account: A' "$B/v1/authz")" = 400
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -X POST "${H[@]}" -H 'X-Probity-Service: Azure AI Services' "$B/v1/envoy/speech/v1/recognize")
check "envoy: 403 deny" test "$code" = 403
check "envoy: JSON body" grep -q '"selector":"capability=speech-to-text,translation"' "$TMP/b"
check "envoy: 200 allow" test "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${H[@]}" -H 'X-Probity-Service: Key Vault' "$B/v1/envoy/kv/secret")" = 200

# a value given twice is refused (400), never resolved to one of them, and
# counted as ambiguous: a client must not add its own value beside a gateway's
code=$(curl -s -o "$TMP/b" -w '%{http_code}' "$B/v1/decide?$Q&account=OTHER")
check "ambiguous: repeated query parameter is 400" test "$code" = 400
check "... with a JSON error naming it" grep -q '"error":"'"'"'account'"'"' is given more than once' "$TMP/b"
check "ambiguous: comma-joined query value is 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$B/v1/decide?account=IMOD-7F3A,OTHER&service=Key+Vault&region=westeurope")" = 400
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -H 'X-Probity-Account: OTHER' "${H[@]}" -H 'X-Probity-Service: Storage Accounts' "$B/v1/authz")
check "ambiguous: repeated header is 400" test "$code" = 400
check "... with a JSON error naming it" grep -q '"error":"header X-Probity-Account is given more than once' "$TMP/b"
check "ambiguous: comma-joined header is 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Probity-Account: OTHER, IMOD-7F3A' -H 'X-Probity-Region: westeurope' -H 'X-Probity-Service: Key Vault' "$B/v1/authz")" = 400
check "ambiguous: repeated region header at envoy is 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H 'X-Probity-Region: eastus' -H 'X-Probity-Service: Key Vault' "$B/v1/envoy/kv")" = 400
check "ambiguous: comma-joined OPA input is 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$B/v1/data/probity/allow" -d '{"input":{"account":"IMOD-7F3A,OTHER","service":"Key Vault","region":"us-east-1"}}')" = 400
check "ambiguous: repeated OPA input key is 400" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "$B/v1/data/probity/allow" -d '{"input":{"account":"IMOD-7F3A","account":"OTHER","service":"Key Vault","region":"us-east-1"}}')" = 400
check "a single value still decides" test "$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H 'X-Probity-Service: Storage Accounts' "$B/v1/authz")" = 403
check "... and a comma in sku_meter is a value, not a list" \
	grep -q '"result":"allow"' <<<"$(curl -s "$B/v1/decide?account=OTHER&service=Key+Vault&region=westeurope&sku_meter=a,b")"
m=$(curl -s "$B/metrics")
check "metrics: the seven counted as ambiguous" grep -q '^probity_http_errors_total{kind="ambiguous"} 7$' <<<"$m"

# raw sockets: pipelining, oversized lines and heads, slow and idle clients
cat >"$TMP/raw.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1]); what = sys.argv[2]
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5); return s
def readall(s):
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            data += b
    except socket.timeout:
        pass
    return data
if what == "pipeline":
    s = conn()
    req = b"GET /v1/decide?account=IMOD-7F3A&service=Key%20Vault&region=westeurope HTTP/1.1\r\nHost: x\r\n\r\n"
    s.sendall(req * 3 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    d = readall(s); print(d.count(b"HTTP/1.1 200"))
elif what == "longline":
    s = conn(); s.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"); print(readall(s).split(b"\r\n")[0].decode())
elif what == "bighead":
    s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\n" + b"X-Pad: " + b"b" * 100 + b"\r\n" * 1 + b"".join(b"X-%d: v\r\n" % i for i in range(80)) + b"\r\n")
    print(readall(s).split(b"\r\n")[0].decode())
elif what == "slow":
    s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"); t = time.time()
    d = readall(s); print(d.split(b"\r\n")[0].decode(), "closed" if time.time() - t < 4 else "open")
elif what == "idle":
    socks = [conn() for _ in range(int(sys.argv[3]))]
    for s in socks[:100]: s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # half requests too
    s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    print(readall(s).split(b"\r\n")[0].decode())
    for x in socks: x.close()
elif what == "binary":
    s = conn(); s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"); print(readall(s).split(b"\r\n")[0].decode())
PY
check "pipelining: four answers in order" test "$(python3 "$TMP/raw.py" $PORT pipeline)" = 4
check "request line over 8 KiB is 414" grep -q '^HTTP/1.1 414' <<<"$(python3 "$TMP/raw.py" $PORT longline)"
check "more than 64 headers is 431" grep -q '^HTTP/1.1 431' <<<"$(python3 "$TMP/raw.py" $PORT bighead)"
check "slow client gets 408 and is closed" grep -q '^HTTP/1.1 408 .*closed' <<<"$(python3 "$TMP/raw.py" $PORT slow)"
check "TLS bytes on the plain port are 400" grep -q '^HTTP/1.1 400' <<<"$(python3 "$TMP/raw.py" $PORT binary)"
check "2000 idle connections: others still served" grep -q '^HTTP/1.1 200' <<<"$(python3 "$TMP/raw.py" $PORT idle 2000)"

# hot reload: a rollback is in force well within a second
"$PBE" --log-as fixture "$WS" remove 1 >/dev/null
t0=$(date +%s%N); passed=0
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ]; do
	curl -s "$B/v1/decide?$Q" | grep -q '"result":"allow"' && { passed=1; break; }
	sleep 0.02
done
check "rollback in force within 1 s" test $passed = 1
# a version that cannot be loaded: the last good one keeps serving
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
sleep 0.3
check "re-applied plan denies again" grep -q '"result":"deny"' <<<"$(curl -s "$B/v1/decide?$Q")"
# a version written behind probity's back (its hash does not match): refused
sqlite3 "$WS/probity.db" "INSERT INTO entitlement_version VALUES (4, '2025-01-01T00:00:00.000Z', 0, 'forged', 0, '0000000000000000000000000000000000000000000000000000000000000000')"
sleep 0.5
check "forged version refused: last good still denies" grep -q '"result":"deny","allow":false,"version":3' <<<"$(curl -s "$B/v1/decide?$Q")"
m=$(curl -s "$B/metrics")
check "metrics: reload failure counted" grep -q '^probity_reload_failures_total [1-9]' <<<"$m"
check "metrics: version gauge" grep -q '^probity_entitlements_version 3$' <<<"$m"
check "metrics: decisions by result" grep -q '^probity_decisions_total{result="deny"} [1-9]' <<<"$m"
check "metrics: latency histogram" grep -q '^probity_decision_duration_seconds_count [1-9]' <<<"$m"
check "reload failure in the log" grep -q 'reload of entitlements version 4 failed, still serving version 3' "$TMP/serve.err"

# SIGTERM drains and exits 0; the decision log holds the denies
kill -TERM $SPID; wait $SPID; rc=$?
trap - EXIT
check "SIGTERM: exit 0" test $rc = 0
check "stopped cleanly" grep -q 'stopped after' "$TMP/serve.err"
check "decision log: denies with version and id" grep -q '"time_ms":[0-9]*,"decision_id":"[0-9a-f]*","result":"deny".*"version":1' "$TMP/dl.jsonl"
check "decision log: lines are JSON" python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/dl.jsonl"
finish serve-api
