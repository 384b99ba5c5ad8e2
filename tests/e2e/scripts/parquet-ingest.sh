#!/bin/bash
# parquet-ingest.sh - a FOCUS export in Parquet ingests to exactly the
# aggregates of the same export in CSV, whatever the codec, dictionary, page
# version, row groups or column types (tests/data/parquet/focus, written by
# tools/parquet-focus.sh); bad rows are rejected by row group and row. Tags
# given as a MAP go through the same checks as the CSV's JSON Tags; other
# nested columns are skipped with a warning each.
SCRIPT_NAME=parquet-ingest
. "$(dirname "$0")/../lib.sh"
CSV=$DATA/focus/samples/focus-1.0-sample-1000.csv
PQ=$DATA/parquet/focus
# day, dimensions by value, sums, rows (line numbers differ: rows, not lines)
Q="SELECT u.day, (SELECT value FROM dim WHERE id=u.account), (SELECT value FROM dim WHERE id=u.subaccount), (SELECT value FROM dim WHERE id=u.provider), (SELECT value FROM dim WHERE id=u.service), (SELECT value FROM dim WHERE id=u.sku_meter), (SELECT value FROM dim WHERE id=u.region), (SELECT value FROM dim WHERE id=u.unit), (SELECT value FROM dim WHERE id=u.charge_category), (SELECT value FROM dim WHERE id=u.currency), quantity, billed_cost, effective_cost, list_cost, rows FROM usage_day u ORDER BY 1,2,3,4,5,6,7,8,9,10,11,12"
agg() { sqlite3 "$1"/probity.db "$Q"; }
QA=$Q
"$PROBITY" init --unsigned "$TMP/csv" >/dev/null && "$PROBITY" ingest "$TMP/csv" "$CSV" >/dev/null
check "the CSV ingests" test $? = 0
agg "$TMP/csv" >"$TMP/csv.agg"
check "the CSV gives aggregates" test -s "$TMP/csv.agg"
for f in "$PQ"/*.parquet; do
	n=$(basename "$f" .parquet)
	case $n in *-bad | *-x3-* | *-tagslist | *-empty) continue ;; esac
	for t in 1 2; do
		"$PROBITY" init --unsigned "$TMP/$n-$t" >/dev/null
		out=$("$PROBITY" ingest --threads $t "$TMP/$n-$t" "$f" 2>&1)
		if echo "$out" | grep -q "rows: 1000 read = 1000 accepted + 0 rejected"; then ok
		else fail "$n ($t threads): $(echo "$out" | head -3)"; fi
		agg "$TMP/$n-$t" >"$TMP/$n.agg"
		if cmp -s "$TMP/csv.agg" "$TMP/$n.agg"; then ok
		else fail "$n ($t threads): aggregates differ from the CSV's: $(diff "$TMP/csv.agg" "$TMP/$n.agg" | head -3)"; fi
		# the source's identity is the tree hash of the file's bytes
		root=$(sqlite3 "$TMP/$n-$t/probity.db" "SELECT tree FROM source")
		if [ -n "$root" ] && [ "$root" = "$("$PROBITY" tree "$f" | cut -d' ' -f1)" ]; then ok
		else fail "$n ($t threads): source tree $root is not the file's tree hash"; fi
	done
done
# the report's warnings (kind, column, rows) of a workspace's one source
warns() { sqlite3 "$1"/probity.db "SELECT json_extract(value, '\$.kind') || ' ' || json_extract(value, '\$.column') || ' ' || json_extract(value, '\$.count') FROM source, json_each(source.report, '\$.warnings') ORDER BY 1"; }
warns "$TMP/csv" >"$TMP/csv.warn"
check "the CSV's report has warnings" test -s "$TMP/csv.warn"
# Tags as a MAP: the checks and warnings of the CSV, plus one warning for each
# nested column that is not read (a LIST, a STRUCT, a MAP of STRUCTs)
warns "$TMP/focus-1.0-sample-1000-map-v2-2" >"$TMP/map-v2.warn"
if cmp -s "$TMP/csv.warn" "$TMP/map-v2.warn"; then ok
else fail "map-v2: warnings differ from the CSV's: $(diff "$TMP/csv.warn" "$TMP/map-v2.warn" | head -3)"; fi
warns "$TMP/focus-1.0-sample-1000-map-2" >"$TMP/map.warn"
{ cat "$TMP/csv.warn"; for c in x_List x_MapOfStruct x_Struct; do echo "nested-column-skipped $c 1000"; done; } | LC_ALL=C sort >"$TMP/map.want"
LC_ALL=C sort "$TMP/map.warn" >"$TMP/map.got"
if cmp -s "$TMP/map.want" "$TMP/map.got"; then ok
else fail "map: warnings are not the CSV's plus the nested ones: $(diff "$TMP/map.want" "$TMP/map.got" | head -3)"; fi
out=$("$PROBITY" ingest "$TMP/focus-1.0-sample-1000-map-1" "$PQ/focus-1.0-sample-1000-map.parquet" 2>&1)
check "map: a repeat changes nothing" test $? = 0
# Tags as a LIST: not read (a nested column the checks would read), warned, no crash
"$PROBITY" init --unsigned "$TMP/tl" >/dev/null
out=$("$PROBITY" ingest "$TMP/tl" "$PQ/focus-1.0-sample-1000-tagslist.parquet" 2>&1)
if echo "$out" | grep -q "rows: 5 read = 5 accepted + 0 rejected"; then ok
else fail "tagslist: $(echo "$out" | head -3)"; fi
if echo "$out" | grep -q "nested-column-skipped *Tags *5 rows"; then ok
else fail "tagslist: no warning for the skipped Tags: $(echo "$out" | head -12)"; fi
check "tagslist: the warning is in the report's JSON" test "$(warns "$TMP/tl" | grep nested)" = "nested-column-skipped Tags 5"
# three copies in three row groups, read by two threads: each key thrice
X=$PQ/focus-1.0-sample-1000-x3-rg2048.parquet
"$PROBITY" init --unsigned "$TMP/x3" >/dev/null
out=$("$PROBITY" ingest --threads 2 "$TMP/x3" "$X" 2>&1)
if echo "$out" | grep -q "rows: 3000 read = 3000 accepted + 0 rejected"; then ok
else fail "x3: $(echo "$out" | head -3)"; fi
Q="SELECT count(*), sum(rows) FROM usage_day"
check "x3: the CSV's keys, thrice the rows" test "$(agg "$TMP/x3")" = "783|3000"
# bad rows: rejected by row group and row, with their values
B=$PQ/focus-1.0-sample-1000-bad.parquet
"$PROBITY" init --unsigned "$TMP/bad" >/dev/null
out=$("$PROBITY" ingest "$TMP/bad" "$B" 2>&1)
if echo "$out" | grep -q "rows: 5 read = 3 accepted + 2 rejected"; then ok
else fail "bad: $(echo "$out" | head -3)"; fi
rej=$(cat "$TMP/bad"/rejects/* 2>/dev/null)
if echo "$rej" | grep -q "^2,BilledCost,\"BilledCost: expected a decimal number, got '\$10.00' (row group 1, row 2)\",\"NULL,\$10.00,"; then ok
else fail "bad: rejects file: $(echo "$rej" | head -2)"; fi
if echo "$rej" | grep -q "^4,ChargeCategory,\"ChargeCategory: 'Usages' is not an allowed value (row group 1, row 4)\""; then ok
else fail "bad: rejects file lacks row 4: $(echo "$rej" | head -3)"; fi
# ingests $1 at one and two threads into $TMP/$2-1 and -2, expecting the
# rows line $3; keeps their output ($TMP/$2-N.out) and rejects (line,
# column, reason: $TMP/$2-N.rej)
ingest_threads() {
	for t in 1 2; do
		"$PROBITY" init --unsigned "$TMP/$2-$t" >/dev/null
		"$PROBITY" ingest --threads $t "$TMP/$2-$t" "$1" >"$TMP/$2-$t.out" 2>&1
		if grep -q "$3" "$TMP/$2-$t.out"; then ok
		else fail "$2 ($t threads): $(head -3 "$TMP/$2-$t.out")"; fi
		cut -d, -f1-3 "$TMP/$2-$t"/rejects/* >"$TMP/$2-$t.rej" 2>/dev/null
	done
}
# one thread's rejects are $TMP/$1.want; two threads give its rejects and aggregates
check_rejects() {
	if cmp -s "$TMP/$1.want" "$TMP/$1-1.rej"; then ok
	else fail "$1: rejects: $(diff "$TMP/$1.want" "$TMP/$1-1.rej" | head -4)"; fi
	if cmp -s "$TMP/$1-1.rej" "$TMP/$1-2.rej" &&
		[ "$(agg "$TMP/$1-1")" = "$(agg "$TMP/$1-2")" ]; then ok
	else fail "$1: two threads differ from one: $(diff "$TMP/$1-1.rej" "$TMP/$1-2.rej" | head -4)"; fi
}
# one row group of 1500 rows, bad rows in both halves: two threads take it in
# slices of rows and reject the same rows, numbered the same, as one; invalid
# UTF-8 in a dictionary entry is rejected on every row that uses it
ingest_threads "$PQ/focus-1.0-sample-1000-x15-bad.parquet" x15 "rows: 1500 read = 1496 accepted + 4 rejected"
cat >"$TMP/x15.want" <<'EOF'
line,column,reason
2,BilledCost,"BilledCost: expected a decimal number
701,ChargeCategory,"ChargeCategory: 'Usages' is not an allowed value (row group 1
801,ServiceName,"invalid UTF-8 (byte 1 of the value) (row group 1
1500,ServiceName,"invalid UTF-8 (byte 1 of the value) (row group 1
EOF
check_rejects x15
# rows proven clean column by column (pqingest.c) beside rows that are not:
# the rules that tie columns together still reject and warn per row, and a
# column read as its dictionary alone is decoded for the rows that need it
ingest_threads "$PQ/focus-1.0-sample-1000-fast-bad.parquet" fast \
	"rows: 1000 read = 998 accepted + 2 rejected; 59 with warnings"
for t in 1 2; do
	if grep -q "usage-without-quantity *ConsumedQuantity *1 rows, first line 200" "$TMP/fast-$t.out"; then ok
	else fail "fast ($t threads): no warning for the Usage row without quantity"; fi
done
cat >"$TMP/fast.want" <<'EOF'
line,column,reason
100,ChargePeriodEnd,"ChargePeriodEnd is before ChargePeriodStart (row group 1
500,ChargeDescription,"invalid UTF-8 (byte 1 of the value) (row group 1
EOF
check_rejects fast
# no row groups at all: read by two threads, no rows, no crash
for t in 1 2; do
	"$PROBITY" init --unsigned "$TMP/empty-$t" >/dev/null
	out=$("$PROBITY" ingest --threads $t "$TMP/empty-$t" "$PQ/focus-1.0-sample-1000-empty.parquet" 2>&1)
	if echo "$out" | grep -q "rows: 0 read = 0 accepted + 0 rejected"; then ok
	else fail "empty ($t threads): $(echo "$out" | head -3)"; fi
done
# a file named is read row group by row group (its footer first), a pipe
# whole: both give the same source (tree, counts, report) and aggregates,
# with many row groups and with rejects
QS="SELECT rows_read, rows_accepted, rows_rejected, tree, size, json_remove(report, '\$.name', '\$.seconds') FROM source"
both() { sqlite3 "$1"/probity.db "$QA" "$QS"; }
for n in rg10 x3-rg2048 x15-bad fast-bad map; do
	f=$PQ/focus-1.0-sample-1000-$n.parquet
	for t in 1 2; do
		"$PROBITY" init --unsigned "$TMP/path-$n-$t" >/dev/null
		"$PROBITY" init --unsigned "$TMP/pipe-$n-$t" >/dev/null
		"$PROBITY" ingest --threads $t "$TMP/path-$n-$t" "$f" >/dev/null 2>&1
		cat "$f" | "$PROBITY" ingest --threads $t "$TMP/pipe-$n-$t" - >/dev/null 2>&1
		a=$(both "$TMP/path-$n-$t") b=$(both "$TMP/pipe-$n-$t")
		if [ -n "$a" ] && [ "$a" = "$b" ]; then ok
		else fail "$n ($t threads): a file and a pipe give different sources: $(diff <(echo "$a") <(echo "$b") | head -3)"; fi
		if cmp -s "$TMP/path-$n-$t"/rejects/* "$TMP/pipe-$n-$t"/rejects/* 2>/dev/null ||
			{ [ ! -e "$TMP/path-$n-$t"/rejects/* ] && [ ! -e "$TMP/pipe-$n-$t"/rejects/* ]; }; then ok
		else fail "$n ($t threads): a file and a pipe give different rejects"; fi
	done
done
# a Parquet source says so: in the ingest line, as its compression, and in
# the name of a piped copy kept in the workspace (evidence re-reads it)
w=$TMP/pipe-rg10-1
check "a Parquet source's compression is 'parquet'" test "$(sqlite3 "$w/probity.db" 'SELECT compression FROM source')" = parquet
check "a piped Parquet copy is kept as .parquet" test -f "$w/sources/$(sqlite3 "$w/probity.db" 'SELECT sha256 FROM source').parquet"
"$PROBITY" init --unsigned "$TMP/says" >/dev/null
check "the ingest line says Parquet" grep -q "FOCUS 1.0, .*, Parquet, tree mth-sha256:" <<<"$("$PROBITY" ingest "$TMP/says" "$PQ/focus-1.0-sample-1000-rg10.parquet" 2>/dev/null)"
finish parquet-ingest
