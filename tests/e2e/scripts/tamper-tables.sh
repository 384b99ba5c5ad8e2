#!/bin/bash
# tamper-tables.sh - the tables beside the log under attack (issue 18): an
# attacker with write access to the workspace edits them with sqlite3, one
# statement at a time (an entitlements version inserted, a plan's body and
# hash rewritten, notes, titles, decisions and findings edited, the copied
# columns of audit_entry changed, users inserted, roles raised). `log check`
# must fail and name the table each time; `log verify` on an export taken
# after the edit must too, wherever the export carries that table.
SCRIPT_NAME=tamper-tables
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
cd "$TMP" || exit 1
P=$PROBITY
TMPDIR=$TMP "$ROOT/tools/demo-plans.sh" "$(dirname "$P")" >demo.out 2>&1 ||
	{ fail "the plans demo failed: $(tail -3 demo.out)"; finish tamper-tables; exit 0; }
WS=$(ls -d "$TMP"/probity-demo.*/ws)
DB=$WS/probity.db
q() { "$P" "$@" >/dev/null 2>"$TMP/err"; }
sql() { sqlite3 "$DB" "$1"; }

# a second case with a finding, and a draft plan with its two approvals to come
q case open "$WS" --as alice --customer "Varnia Interior Ministry" --title "Second report" --trigger "Tip"
CASE=$(sql "SELECT max(id) FROM review_case")
sql "INSERT INTO policy_scan VALUES (90, 'aup', 'h', 't', 20000, 'customers', 'now', 1, 1);
     INSERT INTO finding VALUES (77, 90, 'aup', 'h', 'storage-growth', 'high', 'customer', 'c', 20000,
       'now', '{\"clause\":\"AUP 3(b)\",\"growth\":\"52x\"}')"
q case add-finding "$WS" "$CASE" F77 --as alice || fail "add-finding: $(cat err)"
q case note "$WS" "$CASE" "the growth matches the report" --as alice || fail "note: $(cat err)"
q plan new "$WS" "$CASE" --as alice --disable 'capability=speech-to-text' || fail "plan new: $(cat err)"
PLAN=$(sql "SELECT max(id) FROM plan")
q user disable "$WS" carol --as admin || fail "user disable: $(cat err)"
q user invite "$WS" bob --as admin || fail "user invite: $(cat err)"

check "the untouched workspace checks" "$P" log check "$WS"
q log export "$WS" clean --as admin
VKEY=$(cat clean/vkey)
if "$P" log verify clean --vkey "$VKEY" >out 2>err && grep -q "tables.db) agrees" out
then ok; else fail "clean export: $(cat out err)"; fi
cp "$DB" saved.db

# found WHAT ERE: log check fails and prints a line matching ERE
found() {
	if "$P" log check "$WS" >out 2>err; then fail "$1: log check passed"
	elif grep -q "$2" out; then ok
	else fail "$1: $(cat out err)"; fi
}

n=0
# attack NAME ERE verify|no SQL...: the edit is found by log check, which
# prints a line matching ERE (the table, the row and what differs), and (with
# verify) by log verify on an export taken after it, which prints one too
attack() {
	local name=$1 ere=$2 ver=$3
	shift 3
	cp saved.db "$DB"
	rm -f "$DB-wal" "$DB-shm"
	sqlite3 "$DB" "$@" || { fail "$name: the edit failed"; return; }
	found "$name" "$ere"
	[ "$ver" = verify ] || return
	n=$((n + 1))
	"$P" log export "$WS" "ex$n" --as admin >/dev/null 2>err || { fail "$name: export: $(cat err)"; return; }
	if "$P" log verify "ex$n" --vkey "$VKEY" >out 2>err; then fail "$name: log verify passed"
	elif grep -q "$ere" out; then ok
	else fail "$name: log verify: $(cat out err)"; fi
}

# 1. enforcement lifted without a trace: a version with a hash of its own empty body
attack "inserted entitlements version" "^table entitlement_version row" verify \
	"INSERT INTO entitlement_version VALUES ((SELECT max(version) + 1 FROM entitlement_version),
	 '2026-12-06T00:00:00Z', 0, 'lifted', 0, '$(printf '[]' | sha256sum | cut -d' ' -f1)')"
grep -q "no plan.apply or plan.rollback entry names this version" out && ok || fail "version: $(cat out)"
# ... the same done by the test tool (built by make test-tools for the suites)
PBE=$PB_BUILD/tests/tools/pb-entitle
cp saved.db "$DB"
rm -f "$DB-wal" "$DB-shm"
if "$PBE" "$WS" remove 1 >/dev/null 2>err; then found "pb-entitle" "^table entitlement_version row"
else fail "pb-entitle: $(cat err)"; fi
# ... or the rules of the version in force changed in place (the triggers
# that forbid it dropped first, as an attacker would)
attack "entitlement rule changed in place" "^table entitlement_rule row 1: entitlements version 1 does not match its hash" no \
	"DROP TRIGGER entitlement_rule_no_update;
	 UPDATE entitlement_rule SET effect = 'keep' WHERE version = 1"

# ... or a web password set for a user beside the log (to sign in as them)
attack "web password set beside the log" "^table web_password row bob: no user.enrol entry" no \
	"INSERT INTO web_password VALUES ('bob', '\$argon2id\$v=19\$m=65536,t=2,p=1\$x\$y', 'now')"

# ... or an invitation made beside the log (its link sets the user's password),
# an issued one made to last longer, or one deleted
attack "web invitation inserted" "^table web_invite row bob: no user.invite entry issued" no \
	"INSERT INTO web_invite(token_sha256, user, created_at, created_by, expires_at)
	 VALUES ('$(printf x | sha256sum | cut -d' ' -f1)', 'bob', 1, 'admin', 4102444800)"
attack "web invitation extended" "^table web_invite row bob: expires later than entry" no \
	"UPDATE web_invite SET expires_at = expires_at + 86400"
attack "web invitation deleted" "^table web_invite row bob: row missing: entry" no "DELETE FROM web_invite"

# 2. a plan rewritten to need no approvals, its hash made to match, then applied
cp saved.db "$DB"
body=$(sql "SELECT replace(body, '\"approvals\":2', '\"approvals\":0') FROM plan WHERE id = $PLAN")
sha=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
attack "plan body rewritten" "^table plan row $PLAN: sha256 differs from entry" verify \
	"UPDATE plan SET body = replace(body, '\"approvals\":2', '\"approvals\":0'), sha256 = '$sha' WHERE id = $PLAN"
"$P" plan apply "$WS" "$PLAN" --as alice >/dev/null 2>&1
found "plan rewritten and applied" "^table plan row $PLAN: body differs from entry"

# 3. the case file edited in place
attack "note deleted" "row missing: entry [0-9]* records a note of case $CASE" verify \
	"DELETE FROM case_evidence WHERE kind = 'note' AND case_id = $CASE"
attack "note text changed" "text differs from entry" verify \
	"UPDATE case_evidence SET summary = json_set(summary, '\$.text', 'nothing to see') WHERE kind = 'note' AND case_id = $CASE"
attack "case title changed" "^table review_case row 1: title differs from entry" verify "UPDATE review_case SET title = 'Routine check' WHERE id = 1"
attack "case decision changed" "^table review_case row 1: decision differs from entry" verify "UPDATE review_case SET decision = 'no action' WHERE id = 1"
attack "case reopened" "^table review_case row" verify "UPDATE review_case SET status = 'open', decision = NULL WHERE id = 1"
attack "finding severity lowered" "^table finding row 77: severity differs from entry" verify "UPDATE finding SET severity = 'low' WHERE id = 77"
attack "finding clause changed" "^table finding row 77: detail (clause" verify \
	"UPDATE finding SET detail = json_set(detail, '\$.clause', 'none') WHERE id = 77"

# ... a stored document swapped (a file beside the database)
cp saved.db "$DB"
doc=$(ls "$WS"/documents/* | head -1)
cp "$doc" saved.doc
chmod u+w "$doc" && printf 'another text\n' >"$doc"
found "swapped document" "^table case_document row [0-9]*: stored document documents/[0-9a-f]* differs from entry"
cp saved.doc "$doc"

# ... and the columns audit_entry copies from the entry text (the triggers
# forbid UPDATE: an attacker drops them first); an export carries the entry
# text only, so this is log check's alone
for c in "actor = 'dana'" "action = 'plan.refuse'" "case_id = 2"; do
	attack "audit_entry $c" "^table audit_entry row 14: ${c%% *} differs from entry 14" no \
		"DROP TRIGGER audit_entry_append_only; UPDATE audit_entry SET $c WHERE idx = 14"
done

# 4. users and roles beside the log
attack "user inserted" "^table app_user row eve: no user.add entry" verify \
	"INSERT INTO app_user(name, role, created_at, created_by) VALUES ('eve', 'approver', '2026-01-01T00:00:00Z', 'admin')"
attack "role raised" "^table app_user row alice: role differs from entry" verify "UPDATE app_user SET role = 'admin' WHERE name = 'alice'"
attack "user re-enabled" "^table app_user row carol: disabled differs from entry" verify "UPDATE app_user SET disabled = 0 WHERE name = 'carol'"
# a raised role used to act: the entry's actor did not hold the role there
cp saved.db "$DB"
sql "UPDATE app_user SET role = 'admin' WHERE name = 'alice'"
q user add "$WS" mallory --role approver --as alice || fail "user add as raised alice: $(cat err)"
IDX=$(sql "SELECT max(idx) FROM audit_entry")
found "acting with a raised role" "^table audit_entry row $IDX: actor 'alice' was analyst at this position; user.add needs the role admin"
# an inserted user who acts is no user at that position
cp saved.db "$DB"
sql "INSERT INTO app_user(name, role, created_at, created_by) VALUES ('eve', 'analyst', 'now', 'admin')"
q case note "$WS" "$CASE" "planted" --as eve || fail "note as eve: $(cat err)"
IDX=$(sql "SELECT max(idx) FROM audit_entry")
found "inserted user acting" "^table audit_entry row $IDX: actor 'eve' of case.note is not a user at this position"

# customers and their accounts beside customer.add / customer.remove
attack "customer inserted" "^table customer row Planted Co: no customer.add entry" verify \
	"INSERT INTO customer(name, created_at) VALUES ('Planted Co', '2026-01-01T00:00:00Z')"
attack "account given to a customer" "^table customer_account row Varnia Interior Ministry sub X-1: not among the accounts entry [0-9]*" verify \
	"INSERT INTO customer_account VALUES ((SELECT id FROM customer WHERE name = 'Varnia Interior Ministry'), 'sub', 'X-1')"
attack "account taken from a customer" "^table customer_account row Varnia Interior Ministry billing EA-880412: row missing: entry [0-9]*" verify \
	"DELETE FROM customer_account WHERE account_id = 'EA-880412'"
cp saved.db "$DB"
q customer add "$WS" "Gone Co" --account GC-1 --as alice || fail "customer add: $(cat err)"
q customer remove "$WS" "Gone Co" --as alice || fail "customer remove: $(cat err)"
check "an added and removed customer checks" "$P" log check "$WS"
cp "$DB" saved2.db
cp saved.db saved0.db
cp saved2.db saved.db
attack "removed customer put back" "^table customer row Gone Co: entry [0-9]* removed this customer" verify \
	"INSERT INTO customer(name, created_at) VALUES ('Gone Co', '2026-01-01T00:00:00Z')"
cp saved0.db saved.db

# a plan's author rewritten (authors may not approve their own plan)
attack "plan author changed" "^table plan row $PLAN: created_by differs from entry" verify \
	"UPDATE plan SET created_by = 'bob' WHERE id = $PLAN"

# an approval row inserted beside the log: log check names it, and plan
# show counts approvals from the log's entries, as apply does, not the row
attack "approval row inserted" "^table plan_event row [0-9]*: no plan entry at its log_index 3" verify \
	"INSERT INTO plan_event(plan_id, kind, actor, at, sha256, log_index) VALUES ($PLAN, 'approve',
	 'bob', '2026-01-01T00:00:00Z', (SELECT sha256 FROM plan WHERE id = $PLAN), 3)"
if "$P" plan show "$WS" "$PLAN" --no-dry-run 2>&1 | grep -q "draft: 0 of 2 approvals"; then ok
else fail "plan show counted the inserted approval: $("$P" plan show "$WS" "$PLAN" --no-dry-run 2>&1 | head -5)"; fi

# the snapshot in an export is checked too: edited after the export
cp saved.db "$DB"
cp -r clean snap
sqlite3 snap/tables.db "UPDATE review_case SET title = 'Routine check' WHERE id = 1"
if "$P" log verify snap --vkey "$VKEY" >out 2>err; then fail "edited snapshot verified"
elif grep -q "^table review_case row 1: title differs" out; then ok; else fail "snapshot: $(cat out err)"; fi

cp saved.db "$DB"
check "the restored workspace checks" "$P" log check "$WS"
finish tamper-tables
