#!/bin/bash
# demo-mail.sh [BUILD] [WS] [CASE] - the mail part of the demo: a small
# fictional archive of the provider's account team (tools/demo-mail/) is
# ingested, searched inside a review case, reported on per term, tagged,
# exported with its hashes, and the export verified. BUILD defaults to
# build/release, WS to demo-ws/mail (both relative to the repository). With
# CASE, WS is an existing workspace and CASE an open case in it (the main demo
# passes its case); without, a new workspace with its own case is made.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${1:-build/release}
WS=${2:-demo-ws/mail}
P=$BUILD/probity
A=tools/demo-mail/archive
OUT=$WS-export
CASE=${3:-}

step() {
	printf '\n== %s\n$ %s\n' "$1" "$(printf '%q ' "${@:2}" | sed "s|$ROOT/||g")"
	"${@:2}"
}

# the user's public key, when the demo made keys (DEMO_KEYS): "--key-file=..."
K() { [ -z "${DEMO_KEYS:-}" ] || echo "--key-file=$DEMO_KEYS/$1.pub"; }
rm -rf "$OUT"
if [ -z "$CASE" ]; then
	rm -rf "$WS"
	mkdir -p "$(dirname "$WS")"
	step "a workspace for the review" "$P" init --unsigned "$WS"
	"$P" customer add "$WS" "Meridian Logistics (demo)" --account EA-000001 >/dev/null
	"$P" user add "$WS" rita --role analyst $(K rita) >/dev/null
	step "a review case to search in" "$P" case open "$WS" --as rita \
		--customer "Meridian Logistics (demo)" --title "Storage expansion in West Europe" \
		--trigger "Account team escalation"
	CASE=$(sqlite3 "$WS/probity.db" "SELECT max(id) FROM review_case")
elif [ "$(sqlite3 "$WS/probity.db" "SELECT count(*) FROM app_user WHERE name = 'rita'")" = 0 ]; then
	"$P" user add "$WS" rita --role analyst $(K rita) >/dev/null
fi
step "Alice's mailbox (an mbox and a stray copy of Bob's reply)" \
	"$P" mail ingest "$WS" --custodian alice --as rita "$A/alice"
step "Bob's maildir (the same reply: one message, two places)" \
	"$P" mail ingest "$WS" --custodian bob --as rita "$A/bob"
step "the account team's Slack channel" \
	"$P" mail ingest "$WS" --custodian slack --as rita "$A/slack"
step "what the workspace holds" "$P" mail stats "$WS"
step "search inside the case" \
	"$P" search "$WS" "$CASE" '"West Europe" AND (storage OR petabytes)' --as rita
step "who raised the acceptable-use question, with the whole thread" \
	"$P" search "$WS" "$CASE" 'thread:{from:carol}' --threads --as rita --limit 0
step "hit report for the review's terms" \
	"$P" search "$WS" "$CASE" --terms tools/demo-mail/terms.txt --as rita
step "tag what matters" \
	"$P" mail tag "$WS" "$CASE" --query '"call recordings" OR speech-to-text OR transcri*' \
	relevant --as rita
step "export the tagged messages with their hashes" \
	"$P" search "$WS" "$CASE" 'tag:relevant' --export "$OUT" --as rita
step "the load file and manifest" ls "$OUT" "$OUT/natives"
step "verify the export against the archive" "$P" export verify "$OUT"
step "every search, tag and export is in the case's log" \
	sqlite3 -header -column "$WS/probity.db" "SELECT idx, at, actor, action, json_extract(CAST(data AS TEXT), '\$.details.query') AS query, json_extract(CAST(data AS TEXT), '\$.details.hits') AS hits, substr(json_extract(CAST(data AS TEXT), '\$.details.result_sha256'), 1, 16) AS result_hash FROM audit_entry WHERE action LIKE 'mail.%' ORDER BY idx"
