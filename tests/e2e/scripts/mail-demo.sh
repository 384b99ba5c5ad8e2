#!/bin/bash
# mail-demo.sh - the mail demo (tools/demo-mail.sh) runs end to end on the
# build under test and tells the story it should: the duplicate collapses,
# the searches find what the archive says, the export verifies.
SCRIPT_NAME=mail-demo
. "$ROOT/tests/e2e/lib.sh"
out=$TMP/demo.out
if "$ROOT/tools/demo-mail.sh" "$PB_BUILD" "$TMP/ws" >"$out" 2>&1; then ok; else fail "demo failed: $(tail -5 "$out")"; fi
has() { if grep -qF -- "$1" "$out"; then ok; else fail "demo output lacks '$1'"; fi; }
has "2 messages (1 new, 1 duplicates)"
has "messages     9 (email 6, slack 3, teams 0)"
has "case 1: 5 hits in 3 threads"
has "thread 1 (3 messages)  custodian: alice,bob  2 copies"
has "tagged 'relevant': 7 messages changed"
has "exported 7 documents"
has "7 documents, 31 files hashed, 7 messages re-read from the archive, 0 problems"
has "verified"
n=$(sqlite3 "$TMP/ws/probity.db" "SELECT count(*) FROM audit_entry WHERE action LIKE 'mail.%' AND case_id = 1")
[ "$n" = 9 ] && ok || fail "the case log holds $n entries, expected 9"
n=$(sqlite3 "$TMP/ws/probity.db" "SELECT count(*) FROM audit_entry WHERE action = 'mail.ingest'")
[ "$n" = 3 ] && ok || fail "the log holds $n mail ingests, expected 3"
finish mail-demo
