#!/bin/bash
# demo-caselog.sh BUILD [WS] - the case-file part of the demo: users, a case
# on the flagged customer, the finding, notes, a document, a decision, then
# an exported log that `probity log verify` accepts offline.
#
# WS defaults to a fresh workspace in a temporary folder. When the policy
# step has recorded findings, the flagged customer is the one with the most
# high-severity findings and its most severe finding is attached; else the
# first customer (or a made-up one) is reviewed without a finding. tools/demo.sh calls this after the ingest and policy steps.
# BEFORE_CLOSE, when set, is a command run (with the case number appended)
# before the legal review closes the case: the demo's mail search.
set -eu
BUILD=${1:?usage: demo-caselog.sh BUILD [WS]}
P=$BUILD/probity
if [ -n "${2:-}" ]; then
	WS=$2
	OUT=$(dirname "$WS")/caselog
	rm -rf "$OUT"
	mkdir -p "$OUT"
else
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/probity-demo.XXXXXX")
	WS=$OUT/ws
fi
say() { printf '\n$ %s\n' "$*"; "$@"; }
# the user's public key, when the demo made keys (DEMO_KEYS): "--key-file=..."
K() { [ -z "${DEMO_KEYS:-}" ] || echo "--key-file=$DEMO_KEYS/$1.pub"; }
[ -d "$WS" ] || "$P" init --unsigned "$WS" --name demo >/dev/null
q() { sqlite3 -batch "$WS/probity.db" "$1"; }
if [ "$(q "SELECT count(*) FROM app_user WHERE name = 'alice'")" = 0 ]; then
	say "$P" user add "$WS" admin --role admin $(K admin)
	say "$P" user add "$WS" alice --role analyst $(K alice) --as admin
	say "$P" user add "$WS" bob --role approver $(K bob) --as admin
	say "$P" user add "$WS" carol --role auditor $(K carol) --as admin
fi
# customers are log entries like everything else (log check compares the table)
if [ "$(q 'SELECT count(*) FROM customer')" = 0 ]; then
	say "$P" customer add "$WS" "Ministry of Interior (demo)" --account DEMO-000001 --as alice
fi
CUSTOMER=$(q "SELECT entity FROM finding WHERE entity_kind = 'customer' GROUP BY entity
	ORDER BY sum(severity = 'high') DESC, count(*) DESC, entity LIMIT 1" 2>/dev/null || true)
[ -n "$CUSTOMER" ] || CUSTOMER=$(q 'SELECT name FROM customer ORDER BY id LIMIT 1')
say "$P" case open "$WS" --as alice --customer "$CUSTOMER" \
	--title "Mass surveillance of civilians reported" \
	--trigger "Press investigation: intercepted call audio stored and transcribed at scale" \
	--trigger-url https://news.example/investigation --trigger-date 2025-08-06
ID=$(q 'SELECT max(id) FROM review_case')
FINDING=$(q "SELECT id FROM finding WHERE entity_kind = 'customer' AND entity = '$(printf %s "$CUSTOMER" | sed "s/'/''/g")'
	ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, id LIMIT 1" 2>/dev/null || true)
if [ -n "$FINDING" ]; then
	say "$P" case add-finding "$WS" "$ID" "$FINDING" --as alice
else
	echo "(no policy findings in this workspace yet: the policy step records them)"
fi
say "$P" case note "$WS" "$ID" "Object storage in the region grew from 40 TB to 2.1 PB in six months; speech-to-text and translation run at industrial scale." --as alice
printf 'Usage summary for %s\n(storage, speech-to-text, translation by month)\n' "$CUSTOMER" > "$OUT/usage-summary.txt"
say "$P" case attach "$WS" "$ID" "$OUT/usage-summary.txt" --as alice
# the internal-communications step runs here, inside the open case
if [ -n "${BEFORE_CLOSE:-}" ]; then
	$BEFORE_CLOSE "$ID"
fi
say "$P" case note "$WS" "$ID" "Legal review: the evidence supports the report under the acceptable-use policy." --as bob
say "$P" case close "$WS" "$ID" --as bob --decision "Disable object storage, speech-to-text and translation in the region; keep security services."
say "$P" case show "$WS" "$ID"
say "$P" log export "$WS" "$OUT/audit-log" --as carol
# the auditor verifies with the key they were given out of band (here, read
# from the workspace), never with the copy inside the export
VKEY=$("$P" log status "$WS" | sed -n 's/^vkey: *//p')
say "$P" log verify "$OUT/audit-log" --vkey "$VKEY"
echo
echo "workspace: $WS"
echo "exported log: $OUT/audit-log (verifier key in $OUT/audit-log/vkey)"
