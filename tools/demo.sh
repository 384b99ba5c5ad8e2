#!/bin/bash
# demo.sh BUILD - the demo: a provider's review of one customer, end to end,
# on generated data (tools/genfocus.c). Each section is one step of the job;
# later steps are added as the features land. Run by `make demo`.
set -euo pipefail
BUILD=${1:-build/release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
P="$ROOT/$BUILD/probity"
export PROBITY_DATA="$ROOT/data"
DEMO=$ROOT/build/demo
WS=$DEMO/ws
rm -rf "$DEMO"
mkdir -p "$DEMO"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$ROOT/||g"; "$@"; }

say "1. The provider's usage export: 24 months, 33 customers (FOCUS 1.2, gzip)"
"$ROOT/$BUILD/tools/genfocus" demo --months 24 --end 2026-10 | gzip -6 > "$DEMO/usage-2024-11_2026-10.csv.gz"
ls -l "$DEMO/usage-2024-11_2026-10.csv.gz" | awk '{printf "%s bytes\n", $5}'

say "2. A workspace where every change is signed by its actor's own SSH key, and the export loaded into it"
# each demo user's Ed25519 key, made here; an ssh-agent started (and stopped
# at exit) holds them, as each person's own agent would (docs/identity.md)
KEYS=$DEMO/keys
mkdir -m 700 "$KEYS"
ME=${USER:-$(id -un)}
for u in "$ME" admin alice bob carol dana rita; do
	[ -e "$KEYS/$u" ] || ssh-keygen -q -t ed25519 -N '' -C "$u@probity-demo" -f "$KEYS/$u"
done
eval "$(ssh-agent -s)" >/dev/null
stop_agent() { kill "$SSH_AGENT_PID" 2>/dev/null || true; }
trap stop_agent EXIT
ssh-add -q $(ls "$KEYS"/* | grep -v '\.pub$') 2>/dev/null
export DEMO_KEYS=$KEYS
# DEMO_UNSIGNED=1 (bench/web: its load runs as claimed users, no passkeys) makes
# the same workspace with claimed actors, said on every command
if [ "${DEMO_UNSIGNED:-0}" = 1 ]; then
	run "$P" init "$WS" --unsigned
else
	run "$P" init "$WS" --key-file "$KEYS/$ME.pub"
fi
run "$P" ingest "$WS" "$DEMO/usage-2024-11_2026-10.csv.gz"
run "$P" sources "$WS"

say "3. The customers under review"
run "$P" customer add "$WS" "Varnia Interior Ministry" --account EA-880412
run "$P" customer add "$WS" "Lumen Media Group" --account EA-771203
run "$P" customer add "$WS" "St. Anne's University Hospital" --account EA-662918
run "$P" customer list "$WS"

say "4. The policy as code: indicators of mass surveillance, checked against the catalog"
run "$P" policy check policies/no-mass-surveillance.yaml

say "5. Scan the customers: the ministry gets a high-severity finding; --explain says why the others do not"
run "$P" scan "$WS" policies/no-mass-surveillance.yaml --explain
FID=$(sqlite3 "$WS/probity.db" "SELECT id FROM finding WHERE severity = 'high' ORDER BY id DESC LIMIT 1")

say "6. Every cited figure recomputed from the source file, by its SHA-256"
run "$P" evidence verify "$WS" "F$FID"

say "7. The same indicators as SQL, for screening every customer on the provider's warehouse"
run "$P" policy sql --dialect postgresql --at 2026-11-01 policies/no-mass-surveillance.yaml \
	> "$DEMO/no-mass-surveillance.postgresql.sql"
head -12 "$DEMO/no-mass-surveillance.postgresql.sql"
echo "... ($(wc -l < "$DEMO/no-mass-surveillance.postgresql.sql") lines in build/demo/no-mass-surveillance.postgresql.sql)"

say "8. The case file: a case on the flagged customer, evidence, the account team's mail searched inside it, a decision, an exported log verified offline"
BEFORE_CLOSE="$ROOT/tools/demo-mail.sh $BUILD $WS" "$ROOT/tools/demo-caselog.sh" "$BUILD" "$WS"

say "9. Enforcement: storage in the Netherlands and speech-to-text and translation cut, Security kept; two approvers; the notice; decisions"
"$ROOT/tools/demo-plans.sh" "$BUILD" "$WS"

say "10. The decision service: gateways ask probity serve, from memory"
PORT=$((18000 + RANDOM % 2000))
"$P" serve "$WS" --listen "127.0.0.1:$PORT" --workers 1 --decision-log "$DEMO/decisions.jsonl" \
	> "$DEMO/serve.log" 2>&1 &
SERVE=$!
trap 'kill "$SERVE" 2>/dev/null || true; stop_agent' EXIT
for _ in $(seq 50); do curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
ask() { printf '$ curl %s\n' "$1"; curl -s "127.0.0.1:$PORT$1"; echo; }
ask "/v1/decide?account=EA-880412&subaccount=b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316&service=Storage%20Accounts&region=westeurope&capability=object-storage"
ask "/v1/decide?account=EA-880412&subaccount=c7d4e8a2-19b6-4c0f-b3e5-5a8d2f9c1e47&service=Microsoft%20Defender%20for%20Cloud&region=westeurope"
ask "/v1/decide?account=EA-771203&subaccount=9e1c7b35-2a84-4d6f-8c01-e4b9a7d3f562&service=Storage%20Accounts&region=northeurope&capability=object-storage"
printf '$ curl -H X-Probity-Account: EA-880412 ... /v1/authz   (nginx auth_request)\n'
curl -s -o /dev/null -w '%{http_code} X-Probity-Case: %header{x-probity-case}\n' \
	-H 'X-Probity-Account: EA-880412' -H 'X-Probity-Subaccount: b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316' \
	-H 'X-Probity-Service: Azure AI Services' -H 'X-Probity-Capability: speech-to-text' \
	-H 'X-Probity-Region: westeurope' "127.0.0.1:$PORT/v1/authz"
printf '$ curl /metrics | grep probity_decisions\n'
curl -s "127.0.0.1:$PORT/metrics" | grep '^probity_decisions' || true
kill -TERM "$SERVE"
wait "$SERVE" || true
trap stop_agent EXIT
echo "server stopped; $(wc -l < "$DEMO/decisions.jsonl") decisions logged in build/demo/decisions.jsonl"

say "11. The profile of the flagged customer: what it uses, where, how much, and what changed"
run "$P" profile "$WS" "Varnia Interior Ministry" --by capability,region \
	--chart "$DEMO/varnia-by-capability.svg" \
	--chart-series "$DEMO/varnia-storage-westeurope.svg" --series object-storage
run "$P" profile "$WS" "Varnia Interior Ministry" --by country,month --unit GB-Months \
	--from 2026-07 --no-detect
run "$P" profile "$WS" "Varnia Interior Ministry" --by subaccount --unit GB-Months --no-detect \
	--chart "$DEMO/varnia-storage-by-subaccount.svg"
# The story, checked: storage in westeurope started to grow in March 2025 (month 5
# of the export), driven by a new sub-account; its name is the workspace's
# (a keyed pseudonym, as `probity accounts` shows it), not one written here.
change=$("$P" profile "$WS" "Varnia Interior Ministry" --by capability,region --changes --csv |
	grep '^"object-storage, westeurope (GB-Months)",' | head -1)
start=$(echo "$change" | cut -d, -f6)
kind=$(echo "$change" | cut -d, -f4,5 | sed 's/^trend,/trended /; s/^shift,/shifted /; s/^spike,/spiked /')
driver=$(echo "$change" | awk -F, '{print $(NF-2)}')
driver_name=$("$P" accounts --json "$WS" | python3 -c '
import json, sys
print(next((a["name"] for a in json.load(sys.stdin)
            if a["kind"] == "sub" and a["account_id"] == sys.argv[1]), None) or "")' "$driver")
if [ "${start:0:7}" = 2025-03 ] && [ "$driver" = b21e9d07-45c3-4f8e-8d2a-71c0e5a9f316 ] &&
	[ -n "$driver_name" ]; then
	echo "storage in westeurope $kind from $start, driven by sub-account $driver ($driver_name)"
else
	echo "demo: the storage change is not the expected one: '$change'" >&2
	exit 1
fi
echo "charts: $DEMO/varnia-by-capability.svg, $DEMO/varnia-storage-westeurope.svg," \
	"$DEMO/varnia-storage-by-subaccount.svg"

say "12. The review team's web app on this workspace (docs/web.md)"
# localhost, not 127.0.0.1: a passkey's relying party is a host name (the
# server still listens on 127.0.0.1). The admin declares where the app is
# served, so passkeys are made for it and checked against it (signed).
WEB=http://localhost:8443
"$P" user passkey origin "$WS" "$WEB" --as admin >/dev/null
# alice (analyst) gets a one-time enrolment link from the admin; nothing is
# started here: the app runs until stopped, so the demo only says how.
link=$("$P" user invite "$WS" alice --as admin --url "$WEB" | tail -1)
echo "start the app:        $BUILD/probity web build/demo/ws --listen 127.0.0.1:8443"
echo "alice sets a password and registers her passkey (once, within 72 hours): $link"
[ "${DEMO_UNSIGNED:-0}" = 1 ] ||
	echo "                      (every change she makes in the browser is signed by that passkey)"
echo "then signs in at:     $WEB/signin  (user alice; admin, bob and carol get links with"
echo "                      $BUILD/probity user invite build/demo/ws NAME --as admin --url $WEB)"
