#!/bin/bash
# bench/reports/run.sh - the transparency report over N generated review
# cases (default 10,000; bench/reports/gen.py) against the peer: the sqlite3
# shell computing the same eight tables from the same database
# (bench/reports/peer.sql, the report's queries with the period inlined and
# the percentiles in SQL). Median and min-max of 5 runs after a warm-up, the
# two sides alternated; both must give the same figures (compared as text).
#
# Then the case report of the demo case (tools/demo-plans.sh) as PDF against
# the same report as HTML, in the same run: median of 5 each, alternated; the
# PDF must take under 2 s (issue 17).
#
# usage: bench/reports/run.sh [N|case]   (after `make release`; "case": only
#        the case report)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-10000}
B=build/release
[ -x $B/probity ] || make release >/dev/null
P=$ROOT/$B/probity
export PROBITY_DATA=$ROOT/data
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p bench/results
ns() { date +%s%N; }
stats() { python3 -c '
import sys, statistics
v = [float(x) for x in sys.argv[1:]]
print("%.4f %.4f %.4f" % (statistics.median(v), min(v), max(v)))' "$@"; }

case_report() {
	local out W C i s e
	out=$(TMPDIR=$T "$ROOT/tools/demo-plans.sh" "$ROOT/$B" 2>&1)
	W=$(dirname "$(sed -n 's/^notice (html): //p' <<<"$out")")/../ws
	C=$(sqlite3 "$W/probity.db" "SELECT max(case_id) FROM audit_entry WHERE action = 'plan.apply'")
	local h=() p=()
	for i in 0 1 2 3 4 5; do # the first of each is a warm-up
		s=$(ns); $P report case "$W" "$C" --format html --output "$T/case.html" --as carol >/dev/null; e=$(ns)
		[ $i = 0 ] || h+=($(( (e - s) / 1000 )))
		s=$(ns); $P report case "$W" "$C" --format pdf --output "$T/case.pdf" --as carol >/dev/null; e=$(ns)
		[ $i = 0 ] || p+=($(( (e - s) / 1000 )))
	done
	read -r pm pmin pmax <<<"$(stats "${p[@]}")"
	read -r hm hmin hmax <<<"$(stats "${h[@]}")"
	local pages ratio
	pages=$(pdfinfo "$T/case.pdf" | sed -n 's/^Pages: *//p')
	ratio=$(python3 -c "print('%.2f' % ($pm / $hm))")
	echo "case report of the demo case: pdf ($pages pages) $(python3 -c "print('%.1f' % ($pm/1000))") ms (min-max $(python3 -c "print('%.1f-%.1f' % ($pmin/1000, $pmax/1000))")), html $(python3 -c "print('%.1f' % ($hm/1000))") ms ($(python3 -c "print('%.1f-%.1f' % ($hmin/1000, $hmax/1000))")), ratio pdf/html $ratio"
	printf '{"name":"case-report","pages":%s,"pdf_ms":%s,"html_ms":%s,"ratio":%s}\n' "$pages" \
		"$(python3 -c "print($pm/1000)")" "$(python3 -c "print($hm/1000)")" "$ratio" >bench/results/reports-case.json
	if python3 -c "import sys; sys.exit(0 if $pm < 2000000 else 1)"; then :; else
		echo "case report: the PDF took over 2 s" >&2; exit 1
	fi
}
if [ "$N" = case ]; then case_report; exit 0; fi

W=$T/ws
$P init --unsigned --no-user "$W" >/dev/null
python3 bench/reports/gen.py "$N" | sqlite3 -batch "$W/probity.db"
echo "cases: $(sqlite3 "$W/probity.db" 'SELECT count(*) FROM review_case'), plans: $(sqlite3 "$W/probity.db" 'SELECT count(*) FROM plan'), appeals: $(sqlite3 "$W/probity.db" "SELECT count(*) FROM audit_entry WHERE action = 'appeal.open'")"

ours() { $P report transparency "$W" --period 2025 --format csv --output "$T/csv" --draft >/dev/null; }
peer() { sqlite3 -batch -list -separator , "$W/probity.db" <bench/reports/peer.sql >"$T/peer.csv"; }
ours; peer
# the same figures: every data row of our CSV files, in table order
for t in reviews-opened reviews-closed restrictions-by-service restrictions-by-country \
	customers-affected days appeals rollbacks; do tail -n +2 "$T/csv/$t.csv" | tr -d '\r'; done >"$T/ours.csv"
if ! diff -q "$T/ours.csv" "$T/peer.csv" >/dev/null; then
	echo "transparency: the peer disagrees:" >&2; diff "$T/ours.csv" "$T/peer.csv" | head >&2; exit 1
fi
a=() b=()
for i in 1 2 3 4 5; do
	s=$(ns); ours; e=$(ns); a+=($(( (e - s) / 1000 )))
	s=$(ns); peer; e=$(ns); b+=($(( (e - s) / 1000 )))
done
read -r om omin omax <<<"$(stats "${a[@]}")"
read -r pm pmin pmax <<<"$(stats "${b[@]}")"
ratio=$(python3 -c "print('%.2f' % ($om / $pm))")
line="transparency report over $N cases: probity $(python3 -c "print('%.1f' % ($om/1000))") ms (min-max $(python3 -c "print('%.1f-%.1f' % ($omin/1000, $omax/1000))")), peer sqlite3 $(python3 -c "print('%.1f' % ($pm/1000))") ms ($(python3 -c "print('%.1f-%.1f' % ($pmin/1000, $pmax/1000))")), ratio $ratio"
echo "$line"
printf '{"name":"transparency","cases":%s,"probity_ms":%s,"peer_ms":%s,"ratio":%s}\n' "$N" \
	"$(python3 -c "print($om/1000)")" "$(python3 -c "print($pm/1000)")" "$ratio" >bench/results/reports.json
case_report
