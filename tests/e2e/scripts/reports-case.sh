#!/bin/bash
# reports-case.sh - on the demo case: the case report (report case) is one
# self-contained HTML page with every section, shows figures this script
# computes from the database with sqlite3, is published (a report.case entry
# holds its SHA-256), and report verify passes with the log's key; a changed
# byte in the embedded evidence, in an embedded entry or in the page fails, and
# so does another log's key. With chromium, a screenshot into build/.
SCRIPT_NAME=reports-case
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(TMPDIR=$TMP "$ROOT/tools/demo-plans.sh" "$(dirname "$PROBITY")" 2>&1)
check "demo exits 0" test $? = 0
WS=$(dirname "$(sed -n 's/^notice (html): //p' <<<"$out")")/../ws
P=$PROBITY
R=$TMP/case.html
q() { sqlite3 -batch "$WS/probity.db" "$1"; }
CASE=$(q "SELECT max(case_id) FROM audit_entry WHERE action = 'plan.apply'")

"$P" report case "$WS" "$CASE" --format html --output "$R" --as carol >"$TMP/case.out" 2>&1
check "report written" test $? = 0
check "says where" grep -q "^case report $CASE written to '$R'; published as log entry [0-9]*$" "$TMP/case.out"
for h in "Trigger" "Scope and method" "Customer profile" "Findings and their evidence" \
	"Mail searches" "Notes and documents" "Decision" "Plans and dry runs" "Approvals" \
	"Enforcement and entitlements versions" "Notices" "Appeals" "Log entries this report relies on"; do
	check "section $h" grep -q "<h2>$h</h2>" "$R"
done
check "dry run" grep -q "<h3>Dry run of plan 1</h3>" "$R"
check "a chart inline" grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' "$R"
check "no XML declaration inside" bash -c "! grep -q '<?xml' '$R'"
check "no external resource" bash -c "! grep -qE '(src|href)=\"(https?:|//)' '$R'"
check "one script, the evidence" test "$(grep -c '<script' "$R")" = 1
check "evidence is JSON" bash -c "sed -n 's|^<script type=\"application/json\" id=\"probity-evidence\">\(.*\)</script>$|\1|p' '$R' | python3 -c 'import json,sys; json.load(sys.stdin)'"

# figures computed from the database appear
n=$(q "SELECT count(*) FROM audit_entry WHERE case_id = $CASE")
check "every case entry listed ($n)" test "$(grep -c 'data-entry="' "$R")" = "$n"
for row in $(q "SELECT idx || ':' || lower(hex(leaf_hash)) FROM audit_entry WHERE case_id = $CASE"); do
	check "entry ${row%%:*} with its leaf hash" grep -q "data-entry=\"${row%%:*}\" data-leaf=\"${row#*:}\"" "$R"
done
for sha in $(q "SELECT json_extract(data, '\$.details.notice_sha256') FROM audit_entry WHERE case_id = $CASE AND action = 'plan.notice'"); do
	check "notice $sha" grep -q "<dd>$sha</dd>" "$R"
done
for a in $(q "SELECT actor || '@' || at FROM audit_entry WHERE case_id = $CASE AND action = 'plan.approve'"); do
	check "approval by ${a%@*}" grep -q "plan.approve by ${a%@*} at ${a#*@}" "$R"
done
ent=$(q "SELECT json_extract(data, '\$.details.entitlements_sha256') FROM audit_entry WHERE case_id = $CASE AND action = 'plan.apply'")
check "entitlements version" grep -q "<dd>$ent</dd>" "$R"
# customer-chosen strings: the workspace pseudonymises, the page holds no sub-account
for sub in $(q "SELECT DISTINCT subaccount FROM usage WHERE account = 'EA-880412' AND subaccount != ''"); do
	check "sub-account $sub not named" bash -c "! grep -q '$sub' '$R'"
done

# published means logged
idx=$(sed -nE 's/.*published as log entry ([0-9]+)$/\1/p' "$TMP/case.out")
sha=$(sha256sum "$R" | cut -c1-64)
check "logged with its sha256" bash -c "'$P' log entry '$WS' $idx | grep -q '\"sha256\":\"$sha\"'"
check "entry is report.case" bash -c "'$P' log entry '$WS' $idx | grep -q '\"action\":\"report.case\"'"

vkey=$("$P" log status "$WS" | sed -n 's/^vkey: *//p')
"$P" report verify "$R" --vkey "$vkey" --ws "$WS" >"$TMP/verify.out" 2>&1
check "verify passes" test $? = 0
check "verify counts the entries" grep -q "^case report of case $CASE verified: $n entries proven" "$TMP/verify.out"
check "verify finds it published" grep -q "^published: log entry $idx holds its SHA-256$" "$TMP/verify.out"

# tampering
bad() { # description file pattern
	local e
	e=$("$P" report verify "$2" --vkey "$vkey" 2>&1)
	check "$1 fails" test $? = 1
	check "$1 says why" grep -q "$3" <<<"$e"
}
# a byte of an embedded entry (a note's text inside the JSON)
sed 's/\(id="probity-evidence">.*\)industrial scale/\1industrial scalf/' "$R" >"$TMP/t1.html"
check "t1 changed" bash -c "! cmp -s '$R' '$TMP/t1.html'"
bad "changed entry byte" "$TMP/t1.html" "is not in the log"
# a byte of the embedded block outside the entries (the JSON's form)
sed 's/\(id="probity-evidence">{\)"/\1 "/' "$R" >"$TMP/t2.html"
check "t2 changed" bash -c "! cmp -s '$R' '$TMP/t2.html'"
bad "changed JSON form" "$TMP/t2.html" "canonical form"
# a byte of the page (a figure shown: the first date an entry's block shows,
# which depends on the day the demo ran)
D=$(grep -o '<dd>[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]</dd>' "$R" | head -1 | tr -dc '0-9-')
D2=$(date -u -d "$D + 1 day" +%F)
check "a date shown ($D)" test -n "$D" -a -n "$D2"
sed "0,/<dd>$D<\\/dd>/s//<dd>$D2<\\/dd>/" "$R" >"$TMP/t3.html"
check "t3 changed" bash -c "! cmp -s '$R' '$TMP/t3.html'"
bad "changed page byte" "$TMP/t3.html" "page differs"
# the page changed and its hash in the evidence recomputed: caught by the
# entries (a listed hash; a figure of an entry's block)
forge() { # in out regex replacement
	python3 - "$@" <<'PY'
import hashlib, json, re, sys
s = open(sys.argv[1]).read()
head, sep, tail = s.partition('<script type="application/json" id="probity-evidence">')
head = re.sub(sys.argv[3], sys.argv[4], head, count=1)
ev, rest = tail.split('</script>', 1)
d = json.loads(ev)
d['body_sha256'] = hashlib.sha256(head.encode()).hexdigest()
ev = json.dumps(d, separators=(',', ':'), sort_keys=True, ensure_ascii=False).replace('<', '\\u003c')
open(sys.argv[2], 'w').write(head + sep + ev + '</script>' + rest)
PY
}
forge "$R" "$TMP/t4.html" 'data-leaf="(.)' 'data-leaf="x'
bad "changed listed hash" "$TMP/t4.html" "does not show entry"
forge "$R" "$TMP/t5.html" "<dd>$D</dd>" "<dd>$D2</dd>"
check "t5 changed" bash -c "! cmp -s '$R' '$TMP/t5.html'"
bad "changed figure, page hash forged" "$TMP/t5.html" "is not what the entry holds"
# the evidence itself changed, kept canonical: its checkpoint broken in form
# (a verify failure, exit 1, not a parse error) and the case it names
evforge() { # in out python-expression-on-d
	python3 - "$@" <<'PY'
import json, sys
s = open(sys.argv[1]).read()
head, sep, tail = s.partition('<script type="application/json" id="probity-evidence">')
ev, rest = tail.split('</script>', 1)
d = json.loads(ev)
exec(sys.argv[3])
ev = json.dumps(d, separators=(',', ':'), sort_keys=True, ensure_ascii=False).replace('<', '\\u003c')
open(sys.argv[2], 'w').write(head + sep + ev + '</script>' + rest)
PY
}
evforge "$R" "$TMP/t6.html" "d['checkpoint'] = d['checkpoint'].replace('\\n', '\\nx', 1)"
check "t6 changed" bash -c "! cmp -s '$R' '$TMP/t6.html'"
bad "checkpoint out of form" "$TMP/t6.html" "does not verify: its checkpoint"
evforge "$R" "$TMP/t7.html" "d['case'] = d['case'] + 1"
bad "evidence names another case" "$TMP/t7.html" "is not of case $((CASE + 1))"
evforge "$R" "$TMP/t8.html" "d['v'] = 2"
bad "evidence of another version" "$TMP/t8.html" "not of version 1"
# another log's key, same origin
"$P" init --unsigned "$TMP/other" --name demo >/dev/null 2>&1
okey=$("$P" log status "$TMP/other" | sed -n 's/^vkey: *//p')
check "other key differs" test -n "$okey" -a "$okey" != "$vkey"
e=$("$P" report verify "$R" --vkey "$okey" 2>&1)
check "wrong key fails" test $? = 1
check "wrong key says why" grep -qi "signature" <<<"$e"
# an unpublished copy: verify --ws refuses a file the log does not hold
check "unlogged copy refused" bash -c "! '$P' report verify '$TMP/t1.html' --vkey '$vkey' --ws '$WS' >/dev/null 2>&1"

# mail searches (the mail demo's case): queries, counts and hashes; bodies
# only with --include-hits, which runs the searches again (logged)
W2=$TMP/mail/ws
"$ROOT/tools/demo-mail.sh" "$PB_BUILD" "$W2" >"$TMP/mail.out" 2>&1
check "mail demo exits 0" test $? = 0
m() { sqlite3 -batch "$W2/probity.db" "$1"; }
check "mail report written" bash -c "'$P' report case '$W2' 1 --format html --output '$TMP/m.html' --as rita >/dev/null"
for row in $(m "SELECT idx || ':' || json_extract(data, '\$.details.hits') || ':' || json_extract(data, '\$.details.result_sha256') FROM audit_entry WHERE case_id = 1 AND action = 'mail.search'"); do
	IFS=: read -r i hits rs <<<"$row"
	check "search $i with its count" grep -q "<a href=\"#entry-$i\">entry $i</a></p>\$" "$TMP/m.html"
	check "search $i count $hits and hash" bash -c "grep -A1 'entry $i</a></p>\$' '$TMP/m.html' | grep -q '<dt>hits</dt><dd>$hits</dd>.*<dd>$rs</dd>'"
done
man=$(m "SELECT json_extract(data, '\$.details.manifest_sha256') FROM audit_entry WHERE case_id = 1 AND action = 'mail.export'")
check "export with its manifest hash" grep -q "<dd>$man</dd>" "$TMP/m.html"
check "no body without --include-hits" bash -c "! grep -q 'Heads up: Meridian wants' '$TMP/m.html'"
n0=$(m "SELECT count(*) FROM audit_entry WHERE case_id = 1 AND action = 'mail.search'")
check "hits report written" bash -c "'$P' report case '$W2' 1 --format html --include-hits --output '$TMP/mh.html' --as rita >/dev/null"
check "searches run again are logged" test "$(m "SELECT count(*) FROM audit_entry WHERE case_id = 1 AND action = 'mail.search'")" = $((n0 * 2))
check "hits listed" grep -q "Heads up: Meridian wants" "$TMP/mh.html"
check "same result as logged" grep -q "hits; the result is the same as the logged search's" "$TMP/mh.html"
check "no differing result" bash -c "! grep -q 'differs from the logged' '$TMP/mh.html'"
k2=$("$P" log status "$W2" | sed -n 's/^vkey: *//p')
check "hits report verifies" bash -c "'$P' report verify '$TMP/mh.html' --vkey '$k2' --ws '$W2' >/dev/null"

# a screenshot when chromium is there (not required)
. "$(dirname "$0")/../browser.sh"
if [ -n "$CHROMIUM" ]; then
	chrome --screenshot="$TMP/case.png" --window-size=1000,2400 "file://$R" >/dev/null
	check "screenshot written" test -s "$TMP/case.png"
	cp "$TMP/case.png" "$ROOT/build/case-report.png" 2>/dev/null || true
fi
finish reports-case
