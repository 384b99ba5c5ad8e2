#!/bin/bash
# plans-demo.sh - the enforcement demo step runs end to end on its own
# workspace: the plan is made, approved twice, applied; the notice names the
# customer; one decision allows and one denies.
SCRIPT_NAME=plans-demo
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(TMPDIR=$TMP "$ROOT/tools/demo-plans.sh" "$(dirname "$PROBITY")" 2>&1)
rc=$?
check "demo exits 0" test $rc = 0
has() { if grep -qE -- "$1" <<<"$out"; then ok; else fail "$2: $(tail -5 <<<"$out")"; fi; }
has "^plan 1 \(draft\) on case 1 for customer 'Varnia Interior Ministry': 3 rules" "plan made"
has "^EA-880412 +b21e9d07-[0-9a-f-]+ +Azure AI Services +speech-to-text +westeurope .* disable 2$" "dry run cuts speech"
has "^EA-880412 +c7d4e8a2-[0-9a-f-]+ +Microsoft Defender for Cloud .* -$" "dry run keeps security"
has "^dana approved plan 1 .*2 of 2 approvals, ready to apply" "two approvals"
has "^applied plan 1: entitlements version 1" "applied"
has "^To +Varnia Interior Ministry$" "notice names the customer"
has "^From +Northwind Cloud$" "notice names the provider"
has "^allow$" "an allowed decision"
has "^deny$" "a denied decision"
has "^reason: disabled by plan 1 \(case 1\), rule 1: disable category=Storage country=NL$" "the deny's reason"
finish plans-demo
