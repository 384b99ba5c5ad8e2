#!/bin/bash
# reports-case-pdf.sh - the case report as PDF, on the demo (which writes it):
# fonts embedded, a contents page, an outline and links; pdftotext shows the
# sections and figures this script reads from the database with sqlite3;
# pdftoppm renders every page (PNGs under build/case-report-pdf/, none
# blank); pdfdetach gets the evidence back; report verify passes, and fails
# for a byte flipped anywhere in the file, a changed entry byte in the
# attachment, a truncated file and another log's key. No sub-account name
# (customer-chosen) appears: the demo workspace pseudonymises them.
SCRIPT_NAME=reports-case-pdf
. "$(dirname "$0")/../lib.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
out=$(TMPDIR=$TMP "$ROOT/tools/demo-plans.sh" "$(dirname "$PROBITY")" 2>&1)
check "demo exits 0" test $? = 0
R=$(sed -n 's/^case report [0-9]* (pdf, evidence attached): //p' <<<"$out")
check "the demo wrote the PDF" test -s "$R"
WS=$(dirname "$R")/../ws
P=$PROBITY
q() { sqlite3 -batch "$WS/probity.db" "$1"; }
CASE=$(q "SELECT max(case_id) FROM audit_entry WHERE action = 'plan.apply'")
check "named after its case" test "$(basename "$R")" = "case-$CASE.pdf"

# a PDF, A4, fonts embedded (DejaVu subsets), contents, outline and links
check "is a PDF" bash -c "head -c 5 '$R' | grep -q '^%PDF-'"
pdfinfo "$R" >"$TMP/info" 2>&1
check "pdfinfo reads it" test $? = 0
check "A4" grep -q "^Page size: *595.276 x 841.89 pts (A4)" "$TMP/info"
check "titled" grep -q "^Title: *Case report $CASE$" "$TMP/info"
pages=$(sed -n 's/^Pages: *//p' "$TMP/info")
check "several pages ($pages)" test "${pages:-0}" -ge 3
pdffonts "$R" | tail -n +3 >"$TMP/fonts"
check "fonts listed" test -s "$TMP/fonts"
check "every font embedded" bash -c "! awk '{ if (\$(NF-4) != \"yes\") bad = 1 } END { exit !bad }' '$TMP/fonts'"
check "DejaVu" grep -q "DejaVu" "$TMP/fonts"
check "an outline" grep -aq "/Type /Outlines" "$R"
check "links" grep -aq "/Subtype /Link" "$R"

# the text: sections, the contents page with page numbers, page numbers
pdftotext -raw "$R" - | tr -d '\f' >"$TMP/r.txt"
check "pdftotext" test -s "$TMP/r.txt"
for h in "Trigger" "Scope and method" "Customer profile" "Findings and their evidence" \
	"Mail searches" "Notes and documents" "Decision" "Plans and dry runs" "Approvals" \
	"Enforcement and entitlements versions" "Notices" "Appeals" "Log entries this report relies on"; do
	check "section $h" grep -q "^$h$" "$TMP/r.txt"
	check "contents: $h" bash -c "pdftotext -f 1 -l 1 -layout '$R' - | grep -qE '^ *$h +[0-9]+$'"
done
check "page 1 is the contents" bash -c "pdftotext -f 1 -l 1 '$R' - | grep -q '^Contents$'"
check "page X of Y" grep -q "Case report $CASE · page $pages of $pages" "$TMP/r.txt"
check "dry run" grep -q "^Dry run of plan 1$" "$TMP/r.txt"
# figures read from the database, found in the text (wrapped lines joined)
tr -d ' \n' <"$TMP/r.txt" >"$TMP/flat"
n=$(q "SELECT count(*) FROM audit_entry WHERE case_id = $CASE")
for row in $(q "SELECT idx || ':' || action || ':' || lower(hex(leaf_hash)) FROM audit_entry WHERE case_id = $CASE"); do
	IFS=: read -r i a h <<<"$row"
	check "entry $i ($a) with its leaf hash" grep -q "$i$a$h" "$TMP/flat"
done
for sha in $(q "SELECT json_extract(data, '\$.details.notice_sha256') FROM audit_entry WHERE case_id = $CASE AND action = 'plan.notice'"); do
	check "notice $sha" grep -q "$sha" "$TMP/flat"
done
for a in $(q "SELECT actor || '@' || at FROM audit_entry WHERE case_id = $CASE AND action = 'plan.approve'"); do
	check "approval by ${a%@*}" grep -q "plan.approve by ${a%@*} at ${a#*@}" "$TMP/r.txt"
done
ent=$(q "SELECT json_extract(data, '\$.details.entitlements_sha256') FROM audit_entry WHERE case_id = $CASE AND action = 'plan.apply'")
check "entitlements version" grep -q "$ent" "$TMP/flat"
for sub in $(q "SELECT DISTINCT subaccount FROM usage WHERE account = 'EA-880412' AND subaccount != ''"); do
	check "sub-account $sub not named" bash -c "! grep -q '$sub' '$TMP/r.txt'"
done

# every page rendered, none blank (PNGs kept under build/ to look at)
shots=$ROOT/build/case-report-pdf
rm -rf "$shots" && mkdir -p "$shots"
pdftoppm -r 40 -png "$R" "$shots/page"
check "a PNG per page" test "$(ls "$shots"/page-*.png | wc -l)" = "$pages"
pdftoppm -r 20 -gray "$R" "$TMP/g"
check "no blank page" python3 - "$TMP"/g-*.pgm <<'PY'
import sys
for f in sys.argv[1:]:
    d = open(f, 'rb').read()
    parts = d.split(b'\n', 3)          # P5, "W H", 255, pixels
    ink = sum(1 for b in parts[3] if b < 160)
    if ink < 50:
        print("blank:", f); sys.exit(1)
PY

# the evidence comes back out; verify passes, and the log published it
pdfdetach -list "$R" >"$TMP/list"
check "one attached file" grep -q "^1 embedded files$" "$TMP/list"
check "probity-evidence.json" grep -q "^1: probity-evidence.json$" "$TMP/list"
pdfdetach -save 1 -o "$TMP/ev.json" "$R"
check "the evidence is JSON of the case with its entries" python3 - "$TMP/ev.json" "$CASE" "$n" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["v"] == 1 and d["case"] == int(sys.argv[2]), d.keys()
assert len(d["entries"]) == int(sys.argv[3]), len(d["entries"])
assert all(e["proof"].startswith("c2sp.org/tlog-proof@v1\n") for e in d["entries"])
PY
vkey=$("$P" log status "$WS" | sed -n 's/^vkey: *//p')
"$P" report verify "$R" --vkey "$vkey" --ws "$WS" >"$TMP/verify.out" 2>&1
check "verify passes" test $? = 0
check "verify counts the entries" grep -q "^case report of case $CASE verified: $n entries proven" "$TMP/verify.out"
sha=$(sha256sum "$R" | cut -c1-64)
check "verify prints its sha256" grep -q "^sha256 $sha$" "$TMP/verify.out"
check "published" grep -q "^published: log entry [0-9]* holds its SHA-256$" "$TMP/verify.out"

# tampering: a byte flipped anywhere fails
size=$(stat -c %s "$R")
fails=0 tries=0
for k in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19; do
	off=$(( k * (size - 1) / 19 ))
	python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[int(sys.argv[3])] ^= 1; open(sys.argv[2], "wb").write(b)' "$R" "$TMP/flip.pdf" "$off"
	tries=$((tries + 1))
	"$P" report verify "$TMP/flip.pdf" --vkey "$vkey" >/dev/null 2>&1
	[ $? = 1 ] && fails=$((fails + 1))
done
check "a flipped byte fails, wherever it is ($fails of $tries)" test "$fails" = "$tries"
bad() { # description file pattern
	local e
	e=$("$P" report verify "$2" --vkey "$vkey" 2>&1)
	check "$1 fails" test $? = 1
	check "$1 says why" grep -q "$3" <<<"$e"
}
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[100] ^= 1; open(sys.argv[2], "wb").write(b)' "$R" "$TMP/t1.pdf"
bad "a byte of the body" "$TMP/t1.pdf" "the PDF differs from the one the evidence was written with"
python3 - "$R" "$TMP/t2.pdf" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
at = b.index(b"/EmbeddedFile")
i = b.index(b"industrial scale", at)
open(sys.argv[2], "wb").write(b[:i] + b"industrial scalf" + b[i + 16:])
PY
bad "an entry byte in the attachment" "$TMP/t2.pdf" "is not in the log"
python3 - "$R" "$TMP/t3.pdf" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b.replace(b"/Desc (the case report's", b"/Desc (The case report's", 1))
PY
bad "a byte of the attachment's objects" "$TMP/t3.pdf" "not the one probity writes"
head -c $((size - 200)) "$R" >"$TMP/t4.pdf"
bad "a truncated PDF" "$TMP/t4.pdf" "no attached evidence"
"$P" init --unsigned "$TMP/other" --name demo >/dev/null 2>&1
okey=$("$P" log status "$TMP/other" | sed -n 's/^vkey: *//p')
e=$("$P" report verify "$R" --vkey "$okey" 2>&1)
check "another log's key fails" test $? = 1
check "another log's key says why" grep -qi "signature" <<<"$e"
check "an unlogged copy refused with --ws" bash -c "! '$P' report verify '$TMP/t2.pdf' --vkey '$vkey' --ws '$WS' >/dev/null 2>&1"

# written again from the CLI: published as a report.case entry of format pdf
"$P" report case "$WS" "$CASE" --format pdf --output "$TMP/again.pdf" --as carol >"$TMP/again.out" 2>&1
check "written again" test $? = 0
idx=$(sed -nE 's/.*published as log entry ([0-9]+)$/\1/p' "$TMP/again.out")
check "logged as pdf" bash -c "'$P' log entry '$WS' $idx | grep -q '\"format\":\"pdf\"'"
check "logged with its name" bash -c "'$P' log entry '$WS' $idx | grep -q '\"name\":\"case-$CASE.pdf\"'"
check "private file" test "$(stat -c %a "$TMP/again.pdf")" = 600
finish reports-case-pdf
