#!/bin/bash
# caselog-demo.sh - the case-file demo runs end to end and its exported log verifies.
SCRIPT_NAME=caselog-demo
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(TMPDIR=$TMP "$ROOT/tools/demo-caselog.sh" "$(dirname "$PROBITY")" 2>&1)
rc=$?
check "demo exits 0" test $rc = 0
if echo "$out" | grep -q "^verified '.*audit-log': origin probity.example/demo, 11 entries"; then ok
else fail "demo log did not verify: $(echo "$out" | tail -5)"; fi
if echo "$out" | grep -q "closed case 1; log entry 10"; then ok; else fail "demo did not close the case"; fi
finish caselog-demo
