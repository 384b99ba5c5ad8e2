#!/bin/bash
# ingest-crash.sh - kill -9 in the middle of an ingest, many times: the
# workspace is exactly as before each attempt (same database content, no new
# files), and the rerun completes with the same totals as an uninterrupted run.
SCRIPT_NAME=ingest-crash
. "$(dirname "$0")/../lib.sh"
cd "$TMP"
"$PB_BUILD/tools/genfocus" bench --size 20000000 --seed 3 > big.csv 2>/dev/null
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" ingest ws "$ROOT/tests/data/ingest/bad-rows.csv" >/dev/null   # some prior state
state() { # a logical dump of the database and the list of files
	sqlite3 ws/probity.db .dump
	find ws -type f ! -name 'probity.db*' | sort
}
state > before.txt
for delay in 0.02 0.05 0.1 0.15 0.2 0.3 0.45 0.6; do
	"$PROBITY" ingest -j2 ws big.csv >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	state > after.txt
	if cmp -s before.txt after.txt; then
		ok
	elif grep -q "big.csv" after.txt; then
		ok # the ingest finished before the kill: fine, but reset for the next round
		rm -rf ws && "$PROBITY" init --unsigned ws >/dev/null &&
			"$PROBITY" ingest ws "$ROOT/tests/data/ingest/bad-rows.csv" >/dev/null && state > before.txt
	else
		fail "killed after ${delay}s: workspace changed"
		diff before.txt after.txt | head -5
	fi
done
# the rerun completes, with the totals of an uninterrupted run elsewhere
check "rerun succeeds" "$PROBITY" ingest -q ws big.csv
"$PROBITY" init --unsigned clean >/dev/null
"$PROBITY" ingest -q clean big.csv
q="SELECT rows_read, rows_accepted, rows_rejected FROM source WHERE name LIKE '%big.csv'"
check "same counts" test "$(sqlite3 ws/probity.db "$q")" = "$(sqlite3 clean/probity.db "$q")"
q2="SELECT count(*), sum(rows) FROM usage_day u JOIN source s ON s.id = u.source_id WHERE s.name LIKE '%big.csv'"
check "same aggregates" test "$(sqlite3 ws/probity.db "$q2")" = "$(sqlite3 clean/probity.db "$q2")"
check "reconciled" test "$(sqlite3 ws/probity.db "SELECT count(*) FROM source WHERE rows_read <> rows_accepted + rows_rejected")" = 0
finish ingest-crash
