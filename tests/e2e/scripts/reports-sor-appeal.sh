#!/bin/bash
# reports-sor-appeal.sh - on the demo case: the statement of reasons
# (notice --format sor-json) is valid, recorded by its SHA-256, carries a
# verifiable inclusion proof of the apply entry, never names the customer
# nor its sub-accounts, and an invalid one is refused; an appeal is opened,
# noted, refused to a person who approved the plan, and decided with a link
# to a new plan on the same case.
SCRIPT_NAME=reports-sor-appeal
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(TMPDIR=$TMP "$ROOT/tools/demo-plans.sh" "$(dirname "$PROBITY")" 2>&1)
check "demo exits 0" test $? = 0
WS=$(dirname "$(sed -n 's/^notice (html): //p' <<<"$out")")/../ws
P=$PROBITY
q() { sqlite3 -batch "$WS/probity.db" "$1"; }
j() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

"$P" notice "$WS" 1 --format sor-json --category RISK_FOR_PUBLIC_SECURITY --as alice \
	--output "$TMP/sor.json" >"$TMP/sor.out" 2>&1
check "sor-json written" test $? = 0
check "valid JSON" python3 -c "import json; json.load(open('$TMP/sor.json'))"
check "partial suspension" test "$(j "$TMP/sor.json" "d['decision_provision']")" = DECISION_PROVISION_PARTIAL_SUSPENSION
check "category" test "$(j "$TMP/sor.json" "d['category']")" = STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY
check "voluntary" test "$(j "$TMP/sor.json" "d['source_type']")" = SOURCE_VOLUNTARY
check "not automated" test "$(j "$TMP/sor.json" "d['automated_decision']")" = AUTOMATED_DECISION_NOT_AUTOMATED
check "ground is the clause" grep -q '"incompatible_content_ground": "the Northwind Acceptable Use Policy' "$TMP/sor.json"
check "storage restricted" grep -q '"service": "Storage Accounts"' "$TMP/sor.json"
check "security kept" test "$(j "$TMP/sor.json" "[s['category'] for s in d['x_services_kept']].count('Security') > 0")" = True
check "puid" grep -qE '"puid": "probity-plan-1-[0-9a-f]{16}"' "$TMP/sor.json"
# customer-chosen or identifying strings never appear
check "customer not named" bash -c "! grep -q Varnia '$TMP/sor.json'"
for sub in $(q "SELECT DISTINCT subaccount FROM usage WHERE account = 'EA-880412' AND subaccount != ''"); do
	check "sub-account $sub not named" bash -c "! grep -q '$sub' '$TMP/sor.json'"
done
# published means logged: the entry holds the file's SHA-256
idx=$(sed -nE 's/.*recorded as log entry ([0-9]+)$/\1/p' "$TMP/sor.out")
sha=$(sha256sum "$TMP/sor.json" | cut -c1-64)
check "logged with its sha256" bash -c "'$P' log entry '$WS' $idx | grep -q '\"format\":\"sor-json\",\"notice_sha256\":\"$sha\"'"
# the inclusion proof of the apply entry verifies offline
j "$TMP/sor.json" "d['x_log']['inclusion_proof']" | sed '$d' >"$TMP/apply.proof"
ai=$(j "$TMP/sor.json" "d['x_log']['apply_index']")
"$P" log entry "$WS" "$ai" >"$TMP/apply.entry"
check "apply entry is plan.apply" grep -q '"action":"plan.apply"' "$TMP/apply.entry"
vkey=$("$P" log status "$WS" | sed -n 's/^vkey: *//p')
check "inclusion proof verifies" "$P" log verify-proof "$TMP/apply.proof" --vkey "$vkey" --entry "$TMP/apply.entry"
# an invalid statement is refused and names the field
err=$("$P" notice "$WS" 1 --format sor-json --category SURVEILLANCE --as alice 2>&1 >/dev/null)
check "invalid category refused" test $? = 1
check "names the field" grep -q "'category' 'STATEMENT_CATEGORY_SURVEILLANCE' is not an allowed value" <<<"$err"
check "draft previews need no role" "$P" notice "$WS" 1 --format sor-json --draft --output "$TMP/draft.json"
check "draft marked" grep -q '"x_draft": true' "$TMP/draft.json"

# appeals
"$P" user add "$WS" erin --role approver --as admin >/dev/null
check "appeal opened" bash -c "'$P' appeal '$WS' 1 open --received 2026-12-01 --summary 'asks to keep translation' --as alice | grep -q '^appeal 1 of plan 1 opened'"
check "second open refused" bash -c "! '$P' appeal '$WS' 1 open --as alice 2>/dev/null"
check "note" "$P" appeal "$WS" 1 note --text "translation serves the courts" --as alice
err=$("$P" appeal "$WS" 1 decide --outcome partly-upheld --reason r --as bob 2>&1)
check "approver of the plan may not decide" grep -q "'bob' approved plan 1" <<<"$err"
"$P" plan new "$WS" 1 --disable 'category=Storage country=NL' --disable 'capability=speech-to-text' \
	--keep 'category=Security' --as alice >/dev/null
check "rejected links no plan" bash -c "! '$P' appeal '$WS' 1 decide --outcome rejected --reason r --plan 2 --as erin 2>/dev/null"
check "decided" "$P" appeal "$WS" 1 decide --outcome partly-upheld --plan 2 --reason "translation is not needed" --as erin
check "list" bash -c "'$P' appeal list '$WS' 1 | grep -qE '^ +1 +1 +2026-12-01 +partly-upheld .* 2 '"
check "on the log" test "$(q "SELECT group_concat(action) FROM audit_entry WHERE action LIKE 'appeal.%'")" = "appeal.open,appeal.note,appeal.decide"
finish reports-sor-appeal
