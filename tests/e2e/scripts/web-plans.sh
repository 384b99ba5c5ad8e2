#!/bin/bash
# web-plans.sh - enforcement plans in a real browser (Debian's headless
# chromium, puppeteer-core: tests/e2e/plans_check.js) on an unsigned
# workspace: a draft with a bad selector (its error beside its field, as
# typed and on saving), a good draft and its dry run, a change of it, two approvers approve
# in the browser and the author's approval is refused, apply, `probity
# decide` then denies, the notice downloaded as text, Markdown and HTML, roll
# back by two approvers, decide allows again; another draft refused with a
# reason and withdrawn; hostile text escaped; axe-core;
# screenshots of the plan page before approval, after one and after two under
# build/<variant>/web-screens/. Then the log holds each step by its actor.
# 127.0.0.1 only (the browser says localhost); stopped by pid.
SCRIPT_NAME=web-plans
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
browser_require web-plans
browser_npm web-plans

cd "$TMP" || exit 1
"$PB_BUILD/tools/genfocus" demo --months 7 --end 2026-10 >usage.csv
"$PROBITY" init --unsigned ws >/dev/null 2>&1
"$PROBITY" ingest -q ws usage.csv
"$PROBITY" customer add ws "Varnia Interior Ministry" --account EA-880412 >/dev/null
for u in alice:analyst bob:approver dana:approver erin:approver; do
	"$PROBITY" user add ws "${u%%:*}" --role "${u#*:}" >/dev/null 2>&1
done
"$PROBITY" case open ws --as alice --customer "Varnia Interior Ministry" \
	--title "Mass surveillance reported" --trigger "press report" >/dev/null 2>&1
PORT=$(free_port)
export BASE=http://localhost:$PORT WS=$TMP/ws CHROMIUM
for u in alice bob dana erin; do
	l=$("$PROBITY" user invite ws "$u" --url "$BASE" | tail -1)
	export "LINK_$u=$l"
done
check "invite printed a link" grep -qE '^http://localhost:[0-9]+/enrol\?token=[0-9a-f]{64}$' <<<"$LINK_alice"

"$PROBITY" web ws --listen 127.0.0.1:$PORT >web.out 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$BASE/signin" && break; sleep 0.1; done

browser_node plans_check.js 30

kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0

"$PROBITY" log show ws --json >log.json 2>/dev/null
for want in 'plan.new dana' 'plan.approve bob' 'plan.approve erin' 'web.forbidden dana' \
	'plan.apply alice' 'plan.notice alice' 'plan.rollback-request bob' 'plan.rollback erin' \
	'plan.edit dana' 'plan.refuse bob' 'plan.withdraw alice'; do
	check "the log holds '$want'" log_holds log.json "$want"
done
check "the log checks against the tables" "$PROBITY" log check ws
finish web-plans
