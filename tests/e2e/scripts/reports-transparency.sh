#!/bin/bash
# reports-transparency.sh - the transparency report on the demo case after an
# appeal (rejected) and a rollback: CSV tables (RFC 4180, README), JSON and
# HTML agree with figures computed here from the database; banding hides
# small counts; the customer is never named; publishing logs every file's
# SHA-256; the HTML renders in headless Chromium (screenshot under build/).
SCRIPT_NAME=reports-transparency
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(TMPDIR=$TMP "$ROOT/tools/demo-plans.sh" "$(dirname "$PROBITY")" 2>&1)
check "demo exits 0" test $? = 0
WS=$(dirname "$(sed -n 's/^notice (html): //p' <<<"$out")")/../ws
P=$PROBITY
q() { sqlite3 -batch "$WS/probity.db" "$1"; }
"$P" user add "$WS" erin --role approver --as admin >/dev/null
"$P" appeal "$WS" 1 open --as alice >/dev/null
"$P" appeal "$WS" 1 decide --outcome rejected --reason "the evidence stands" --as erin >/dev/null
# a rollback needs two approvers by default
"$P" plan rollback "$WS" 1 --reason "demo" --as bob >/dev/null
"$P" plan rollback "$WS" 1 --reason "demo" --as erin >/dev/null
check "rolled back" test "$(q "SELECT status FROM plan WHERE id = 1")" = rolled-back
Y=$(date -u +%Y)
H=$([ "$(date -u +%m)" -le 6 ] && echo H1 || echo H2)
PER=$Y$H

"$P" report transparency "$WS" --period "$PER" --format csv --output "$TMP/csv" --as carol >"$TMP/csv.out"
check "csv written" test $? = 0
check "eight tables and a README" test "$(ls "$TMP/csv" | wc -l)" = 9
check "README names the columns" grep -q '^- `median_days`' "$TMP/csv/README.md"
check "CRLF line ends" bash -c "head -1 '$TMP/csv/appeals.csv' | grep -q $'\r$'"
row() { tr -d '\r' <"$TMP/csv/$1.csv" | grep -E "^$2,"; }
closed=$(q "SELECT count(*) FROM review_case WHERE status = 'closed' AND closed_at >= '$Y'")
check "closed cases: partial suspension" test "$(row reviews-closed partial-suspension)" = "partial-suspension,$closed"
check "customers affected" test "$(row customers-affected customers-affected)" = "customers-affected,1"
check "rolled back" test "$(row rollbacks plans-rolled-back)" = "plans-rolled-back,1"
check "appeal received" test "$(row appeals received)" = "received,1"
check "appeal rejected" test "$(row appeals rejected)" = "rejected,1"
check "storage by category" test "$(row restrictions-by-service category)" = "category,Storage,1"
check "NL by country" test "$(row restrictions-by-country NL)" = "NL,1"
# decision-to-enforcement: from the last approval to the apply, computed here
want=$(q "SELECT printf('%.1f', julianday((SELECT at FROM plan_event WHERE plan_id = 1 AND kind = 'apply')) - julianday((SELECT max(at) FROM plan_event WHERE plan_id = 1 AND kind = 'approve')))")
check "decision to enforcement" test "$(row days decision-to-enforcement)" = "decision-to-enforcement,1,$want,$want"
# published means logged
idx=$(sed -nE 's/.*published as log entry ([0-9]+)$/\1/p' "$TMP/csv.out")
entry=$("$P" log entry "$WS" "$idx")
check "entry is report.transparency" grep -q '"action":"report.transparency"' <<<"$entry"
sha=$(sha256sum "$TMP/csv/appeals.csv" | cut -c1-64)
check "entry holds the file's sha256" grep -q "\"name\":\"appeals.csv\",\"sha256\":\"$sha\"" <<<"$entry"
# banding
"$P" report transparency "$WS" --period "$PER" --format csv --band 0-9 --output "$TMP/band" --draft >/dev/null
check "banded" test "$(tr -d '\r' <"$TMP/band/customers-affected.csv" | sed -n 2p)" = "customers-affected,0-9"
# json and html agree
"$P" report transparency "$WS" --period "$PER" --format json --output "$TMP/t.json" --as carol >/dev/null
check "json rolled back" test "$(python3 -c "import json; d=json.load(open('$TMP/t.json')); print(d['tables']['rollbacks']['rows'][0]['count'])")" = 1
"$P" report transparency "$WS" --period "$PER" --format html --output "$TMP/t.html" --as carol >/dev/null
check "html has a chart" grep -q '<svg xmlns' "$TMP/t.html"
check "html says rolled back" grep -q '<td>plans-rolled-back</td><td class="n">1</td>' "$TMP/t.html"
for f in "$TMP"/csv/* "$TMP/t.json" "$TMP/t.html"; do
	check "$(basename "$f") does not name the customer" bash -c "! grep -q Varnia '$f'"
done
check "bad period" bash -c "'$P' report transparency '$WS' --period 2025H3 --format csv --output '$TMP/x' --draft 2>&1 | grep -q \"'2025H3' is not a period\""
if [ -n "$CHROMIUM" ]; then
	chrome --screenshot="$TMP/t.png" --window-size=900,1400 "file://$TMP/t.html" >/dev/null
	check "html screenshot" test -s "$TMP/t.png"
	mkdir -p "$PB_BUILD/reports" && cp "$TMP/t.png" "$PB_BUILD/reports/transparency.png" 2>/dev/null
	chrome --dump-dom "file://$TMP/t.html" >"$TMP/t.dom"
	check "html parses in chromium" grep -q 'Transparency report' "$TMP/t.dom"
fi
finish reports-transparency
