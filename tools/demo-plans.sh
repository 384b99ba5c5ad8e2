#!/bin/bash
# demo-plans.sh BUILD [WS] - the enforcement part of the demo: a plan that
# disables the flagged customer's storage in the Netherlands and its
# speech-to-text and translation, keeps its Security services, with a dry run
# on its usage, two approvals bound to the plan's hash, apply, the notice to
# the customer, one allowed and one denied decision, then the statement of
# reasons and the transparency report of the year.
#
# WS is the demo workspace after the case-file step (tools/demo.sh passes it):
# the flagged customer "Varnia Interior Ministry" (EA-880412) and the case
# tools/demo-caselog.sh opened on it. Without WS, a small one is made here
# (seven months of generated usage, the customer, the case-file step).
set -eu
BUILD=${1:?usage: demo-plans.sh BUILD [WS]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
P=$BUILD/probity
export PROBITY_DATA=${PROBITY_DATA:-$ROOT/data}
if [ -n "${2:-}" ]; then
	WS=$2
	OUT=$(dirname "$WS")/plans
else
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/probity-demo.XXXXXX")
	WS=$OUT/ws
	"$BUILD/tools/genfocus" demo --months 7 --end 2026-10 > "$OUT/usage.csv"
	"$P" init --unsigned "$WS" --name demo >/dev/null
	"$P" ingest "$WS" "$OUT/usage.csv" >/dev/null
	"$P" customer add "$WS" "Varnia Interior Ministry" --account EA-880412 >/dev/null
	"$ROOT/tools/demo-caselog.sh" "$BUILD" "$WS" >/dev/null
	OUT=$OUT/plans
fi
rm -rf "$OUT"
mkdir -p "$OUT"
say() { printf '\n$'; printf ' %q' "$@" | sed "s|$ROOT/||g"; printf '\n'; "$@"; }
q() { sqlite3 -batch "$WS/probity.db" "$1"; }
# the user's public key, when the demo made keys (DEMO_KEYS): "--key-file=..."
K() { [ -z "${DEMO_KEYS:-}" ] || echo "--key-file=$DEMO_KEYS/$1.pub"; }
CASE=$(q "SELECT max(c.id) FROM review_case c JOIN customer u ON u.id = c.customer_id WHERE u.name = 'Varnia Interior Ministry'")
[ -n "$CASE" ] || { echo "demo-plans: no case on 'Varnia Interior Ministry' in $WS" >&2; exit 1; }
# who sends notices, where the customer answers: workspace settings
grep -q '^provider_name' "$WS/probity.conf" || cat >> "$WS/probity.conf" <<'CONF'
provider_name = Northwind Cloud
appeal_contact = trust-and-safety@northwind.example
policy_clause = the Northwind Acceptable Use Policy, section 3(b) (mass surveillance of civilians)
CONF
q "SELECT 1 FROM app_user WHERE name = 'dana'" | grep -q 1 || say "$P" user add "$WS" dana --role approver --as admin $(K dana)
say "$P" plan new "$WS" "$CASE" --as alice \
	--disable 'category=Storage country=NL' \
	--disable 'capability=speech-to-text,translation' \
	--keep 'category=Security' \
	--review-by "$(date -u -d '+90 days' +%F)"
PLAN=$(q "SELECT max(id) FROM plan")
SHA=$(q "SELECT sha256 FROM plan WHERE id = $PLAN")
say "$P" plan show "$WS" "$PLAN"
say "$P" plan approve "$WS" "$PLAN" --as bob --hash "$SHA" --comment "the evidence supports the report; the cut is limited to what it shows"
say "$P" plan approve "$WS" "$PLAN" --as dana --hash "$SHA"
say "$P" plan apply "$WS" "$PLAN" --as alice
say "$P" notice "$WS" "$PLAN" --as alice
"$P" notice "$WS" "$PLAN" --as alice --format html --output "$OUT/notice-plan-$PLAN.html"
SEC=$(q "SELECT DISTINCT subaccount FROM usage WHERE account = 'EA-880412' AND category = 'Security' LIMIT 1")
STO=$(q "SELECT subaccount FROM usage WHERE account = 'EA-880412' AND category = 'Storage' GROUP BY subaccount ORDER BY count(*) LIMIT 1")
say "$P" decide "$WS" --account EA-880412 --subaccount "$SEC" --service 'Microsoft Defender for Cloud' --region westeurope
say "$P" decide "$WS" --account EA-880412 --subaccount "$STO" --service 'Storage Accounts' --region westeurope
# the reports the world reads: the statement of reasons, the transparency report
"$P" notice "$WS" "$PLAN" --as alice --format sor-json --category RISK_FOR_PUBLIC_SECURITY \
	--output "$OUT/sor-plan-$PLAN.json" >/dev/null
YEAR=$(date -u +%Y)
"$P" report transparency "$WS" --period "$YEAR" --format html --output "$OUT/transparency-$YEAR.html" \
	--as carol >/dev/null
echo
echo "notice (html): $OUT/notice-plan-$PLAN.html"
echo "statement of reasons (DSA Transparency Database, API v1): $OUT/sor-plan-$PLAN.json"
echo "transparency report $YEAR (html): $OUT/transparency-$YEAR.html"
