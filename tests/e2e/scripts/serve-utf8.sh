#!/bin/bash
# serve-utf8.sh - bytes that are not UTF-8 in every input (query, headers, OPA
# body, the CLI) still give valid JSON answers and a valid JSON decision log:
# each bad byte comes out as U+FFFD. 127.0.0.1 only; stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-utf8
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# valid_json FILE: the whole file is one JSON value, or a JSON value a line
valid_json() { python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read().decode("utf-8")
for line in (data.splitlines() if sys.argv[2] == "lines" else [data]):
    json.loads(line)
' "$1" "${2:-one}" 2>/dev/null; }
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$PROBITY" serve "$WS" --listen 127.0.0.1:$PORT --workers 1 \
	--decision-log "$TMP/dl.jsonl" --log-allows 1 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done

curl -s -o "$TMP/d1" "$B/v1/decide?account=a%ff%fe&service=x&region=y"
check "decide: non-UTF-8 account gives valid JSON" valid_json "$TMP/d1"
check "decide: bad bytes as U+FFFD" grep -qF '"account":"a\ufffd\ufffd"' "$TMP/d1"
curl -s -o "$TMP/d2" "$B/v1/decide?account=caf%c3%a9&service=Key%20Vault&region=westeurope"
check "decide: valid UTF-8 passes through" grep -q '"account":"café"' "$TMP/d2"
curl -s -o "$TMP/d3" "$B/v1/decide?account=IMOD-7F3A&service=Storage%20Accounts&region=westeurope%c3"
check "decide: cut UTF-8 in region gives valid JSON" valid_json "$TMP/d3"
# a deny, so that envoy answers with the decision as JSON
H=(-H 'X-Probity-Account: IMOD-7F3A' -H $'X-Probity-Subaccount: S\xff' -H 'X-Probity-Region: westeurope'
   -H 'X-Probity-Service: Storage Accounts' -H $'X-Probity-Capability: x\xe2\x82')
curl -s -o "$TMP/d4" -X POST "${H[@]}" "$B/v1/envoy/x"
check "envoy: non-UTF-8 headers give valid JSON" valid_json "$TMP/d4"
check "envoy: bad bytes as U+FFFD" grep -qF '"subaccount":"S\ufffd"' "$TMP/d4"
curl -s -o "$TMP/d5" "${H[@]}" "$B/v1/authz"
printf '{"input":{"account":"A\xff","service":"x","region":"y"}}' >"$TMP/opa.json"
code=$(curl -s -o "$TMP/d6" -w '%{http_code}' "$B/v1/data/probity/decision" --data-binary @"$TMP/opa.json")
# the OPA body is JSON, which must be UTF-8: a clean 400 JSON error or a valid answer
check "opa: non-UTF-8 body gives valid JSON ($code)" valid_json "$TMP/d6"

kill -TERM $SPID; wait $SPID
check "decision log: every line valid JSON" valid_json "$TMP/dl.jsonl" lines
check "decision log: has the replaced account" grep -qF '"account":"a\ufffd\ufffd"' "$TMP/dl.jsonl"

"$PROBITY" decide "$WS" --account $'A\xff' --service 'Key Vault' --region westeurope --json >"$TMP/c1"
check "cli decide --json: valid JSON" valid_json "$TMP/c1"
check "cli decide --json: U+FFFD" grep -qF '"account":"A\ufffd"' "$TMP/c1"
finish serve-utf8
