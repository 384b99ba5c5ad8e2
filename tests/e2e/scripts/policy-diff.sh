#!/bin/bash
# policy-diff.sh - differential test of the policy engines: for every policy
# of tests/data/policy/diff/ and policies/, two scan dates and both entities,
# the native scan's findings (probity scan --all: per billing account;
# probity scan: per customer) equal those of the compiled SQL (policy sql
# --by account / --by customer) run on SQLite (sqlite3) and on a real
# PostgreSQL server started here (Debian's postgresql, its own cluster in
# $TMP on a private Unix socket, stopped at the end), both loaded with the
# same rows (tests/data/policy/usage.csv, raw units and all) and the
# workspace's customers (policy tables WS); and on DuckDB (libduckdb.so from
# the npm registry, tools/npm-deps.sh, through tests/e2e/duckdb_sql.c), the
# oracle of the duckdb dialect. Trino and Spark SQL are checked against golden
# files only (tests/data/policy/golden, e2e cases).
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=policy-diff
CMP="python3 $ROOT/tools/policy-compare.py"
CSV=$DATA/policy/usage.csv
# a billing account A9 in A1's regions and services (every other row of A1,
# its sub-accounts renamed a9-...), so that customers share regions with
# usage of no customer and their shares of a region are not all 1
CSV9=$TMP/usage-a9.csv
awk -F, 'NR == 1 || ($1 == "A1" && NR % 2 == 0)' "$CSV" | sed '2,$ s/^A1,a1-/A9,a9-/' > "$CSV9"
WS=$TMP/ws
DATES="2026-03-01 2025-09-15"
# customers as 'probity customer add' defines them: whole billing accounts,
# single sub-accounts, both, one without usage, and accounts of nobody (A3,
# A4, A5, A1's a1-store, A9's a9-ai). Two are added before the usage, so
# the workspace cannot see that sub-account a8 is under A8: the billing
# account's owner gets its rows, in both engines.
"$PROBITY" init --unsigned "$WS" >/dev/null &&
	"$PROBITY" customer add "$WS" "Early Whole" --account A8 >/dev/null &&
	"$PROBITY" customer add "$WS" "Late Sub" --subaccount a8 >/dev/null &&
	"$PROBITY" ingest -q "$WS" "$CSV" >/dev/null && "$PROBITY" ingest -q "$WS" "$CSV9" >/dev/null &&
	"$PROBITY" customer add "$WS" "Whole Co" --account A2 --account A6 >/dev/null &&
	"$PROBITY" customer add "$WS" "O'Brien Subs" --subaccount a1-ai >/dev/null &&
	"$PROBITY" customer add "$WS" "Mixed" --account A7 --subaccount a9-store >/dev/null &&
	"$PROBITY" customer add "$WS" "Ghost" --subaccount never-seen >/dev/null
check "ingest the fixture, add the customers" test "$(sqlite3 "$WS/probity.db" 'SELECT count(*) FROM customer')" = 6
NROWS=$(($(wc -l < "$CSV") + $(wc -l < "$CSV9") - 2))
# the same workspace without its monthly totals: a read-only scan then reads
# every day from usage_day, and must find exactly what the totals give
WSD=$TMP/ws-days
cp -r "$WS" "$WSD"
sqlite3 "$WSD/probity.db" "DELETE FROM usage_month; DELETE FROM usage_month_source"
check "monthly totals were built at ingest" test "$(sqlite3 "$WS/probity.db" 'SELECT count(*) FROM usage_month_source')" = 2
# the totals ingest makes in memory are the ones the SQL rollup makes from
# the stored days (which a workspace opened for writing runs for a source
# without them): the same rows, both ways
WSR=$TMP/ws-rollup
cp -r "$WS" "$WSR"
sqlite3 "$WSR/probity.db" "DELETE FROM usage_month; DELETE FROM usage_month_source"
"$PROBITY" customer add "$WSR" "Rollup" --account A3 >/dev/null 2>"$TMP/rollup.err" || fail "open for writing: $(cat "$TMP/rollup.err")"
MCOLS="source_id, month, account, subaccount, provider, category, subcategory, service, capability, region, country, unit, charge_category, currency, quantity, billed_cost, effective_cost, list_cost, rows"
check "the SQL rollup rebuilt both sources" test "$(sqlite3 "$WSR/probity.db" 'SELECT count(*) FROM usage_month_source')" = 2
check "ingest's monthly totals are the SQL rollup's" test "$(sqlite3 "$WS/probity.db" "ATTACH '$WSR/probity.db' AS r; SELECT count(*) FROM (SELECT $MCOLS FROM usage_month EXCEPT SELECT $MCOLS FROM r.usage_month); SELECT count(*) FROM (SELECT $MCOLS FROM r.usage_month EXCEPT SELECT $MCOLS FROM usage_month); SELECT count(*) FROM usage_month" | tr '\n' ' ')" = "0 0 $(sqlite3 "$WSR/probity.db" 'SELECT count(*) FROM usage_month') "

# SQLite: the catalog tables, then the raw rows (empty fields are NULL)
DB=$TMP/sqlite.db
"$PROBITY" policy tables --dialect sqlite "$WS" > "$TMP/tables-sqlite.sql"
sqlite3 "$DB" < "$TMP/tables-sqlite.sql"
sqlite3 "$DB" ".import --csv --skip 1 $CSV focus_cost_and_usage" \
	".import --csv --skip 1 $CSV9 focus_cost_and_usage" \
	"UPDATE focus_cost_and_usage SET SubAccountId = NULLIF(SubAccountId, ''), SkuMeter = NULLIF(SkuMeter, '')"
check "rows loaded into SQLite" test "$(sqlite3 "$DB" 'SELECT count(*) FROM focus_cost_and_usage')" = "$NROWS"
check "customers loaded into SQLite" test "$(sqlite3 "$DB" 'SELECT count(*), count(DISTINCT customer), count(sub_account_id) FROM probity_customer')" = "8|6|4"

# PostgreSQL: a private cluster, when the server is installed
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG=""
if [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ]; then
	PGDIR=$TMP/pg
	mkdir -p "$PGDIR"
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$TMP"
		chown postgres "$PGDIR"
		AS="setpriv --reuid=$(id -u postgres) --regid=$(id -g postgres) --clear-groups"
	else
		AS=""
	fi
	PORT=$((50000 + RANDOM % 10000))
	if $AS "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U probity >"$TMP/initdb.log" 2>&1 &&
		$AS "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 60 \
			-o "-c listen_addresses='' -c unix_socket_directories='$PGDIR' -p $PORT -c fsync=off" \
			start >"$TMP/pgstart.log" 2>&1; then
		PG="$AS psql -X -q -v ON_ERROR_STOP=1 -h $PGDIR -p $PORT -U probity -d postgres"
		"$PROBITY" policy tables --dialect postgresql "$WS" > "$TMP/tables-pg.sql"
		$PG < "$TMP/tables-pg.sql" >"$TMP/pgload.log" 2>&1 &&
			$PG -c "\\copy focus_cost_and_usage FROM STDIN WITH (FORMAT csv, HEADER true)" < "$CSV" \
				>>"$TMP/pgload.log" 2>&1 &&
			$PG -c "\\copy focus_cost_and_usage FROM STDIN WITH (FORMAT csv, HEADER true)" < "$CSV9" \
				>>"$TMP/pgload.log" 2>&1
		check "rows loaded into PostgreSQL" test "$($PG -At -c 'SELECT count(*) FROM focus_cost_and_usage')" = "$NROWS"
	else
		fail "cannot start PostgreSQL: $(tail -3 "$TMP/initdb.log" "$TMP/pgstart.log" "$PGDIR/log" 2>/dev/null)"
		PG=""
	fi
else
	fail "PostgreSQL is not installed (tools/deps.sh installs postgresql)"
fi

# DuckDB: the pinned engine from npm, installed once under build/npm
DUCK=""
duck_csv() { # sql-file out.csv: the query's rows as CSV with a header
	$DUCK "COPY (
$(sed '$ s/;[[:space:]]*$//' "$1")
) TO '$2' (FORMAT csv, HEADER true)"
}
if DUCKDIR=$("$ROOT/tools/npm-deps.sh" 2>"$TMP/npm.log") &&
	cc -O1 -o "$TMP/duckdb_sql" "$ROOT/tests/e2e/duckdb_sql.c" -L"$DUCKDIR" -lduckdb \
		-Wl,-rpath,"$DUCKDIR" 2>"$TMP/duckcc.log"; then
	DUCK="$TMP/duckdb_sql $TMP/duck.duckdb"
	"$PROBITY" policy tables --dialect duckdb "$WS" > "$TMP/tables-duck.sql"
	echo "SELECT count(*) AS n FROM focus_cost_and_usage;" > "$TMP/count-duck.sql"
	$DUCK "$(cat "$TMP/tables-duck.sql")" \
		"COPY focus_cost_and_usage FROM '$CSV' (FORMAT csv, HEADER true)" \
		"COPY focus_cost_and_usage FROM '$CSV9' (FORMAT csv, HEADER true)" 2>"$TMP/duckload.log" &&
		duck_csv "$TMP/count-duck.sql" "$TMP/count-duck.csv" 2>>"$TMP/duckload.log"
	check "rows loaded into DuckDB" test "$(tail -1 "$TMP/count-duck.csv" 2>/dev/null)" = "$NROWS"
else
	fail "cannot have DuckDB from npm: $(tail -3 "$TMP/npm.log" "$TMP/duckcc.log" 2>/dev/null)"
fi

n=0
: > "$TMP/pairs"
for pol in "$DATA"/policy/diff/*.yaml "$ROOT"/policies/*.yaml; do
	name=$(basename "$pol" .yaml)
	for at in $DATES; do
		for by in account customer; do
			n=$((n + 1))
			o=$TMP/out-$name-$at-$by
			scope=--all
			[ "$by" = customer ] && scope=""
			"$PROBITY" scan -n $scope --json --at "$at" "$WS" "$pol" > "$o.json" ||
				{ fail "$name at $at by $by: native scan failed"; continue; }
			"$PROBITY" scan -n $scope --json --at "$at" "$WSD" "$pol" > "$o.days.json"
			check "$name at $at by $by: monthly totals and daily rows give the same scan" cmp -s "$o.json" "$o.days.json"
			"$PROBITY" policy sql --dialect sqlite --by "$by" --at "$at" "$pol" > "$o.sqlite.sql"
			if sqlite3 -csv -header "$DB" < "$o.sqlite.sql" > "$o.sqlite.csv" 2>"$o.sqlite.err"; then
				echo "$name@$at/$by/sqlite $o.json $o.sqlite.csv" >> "$TMP/pairs"
			else
				fail "$name at $at by $by: SQLite failed: $(head -3 "$o.sqlite.err")"
			fi
			if [ -n "$PG" ]; then
				"$PROBITY" policy sql --dialect postgresql --by "$by" --at "$at" "$pol" > "$o.pg.sql"
				if $PG --csv < "$o.pg.sql" > "$o.pg.csv" 2>"$o.pg.err"; then
					echo "$name@$at/$by/postgresql $o.json $o.pg.csv" >> "$TMP/pairs"
				else
					fail "$name at $at by $by: PostgreSQL failed: $(head -3 "$o.pg.err")"
				fi
			fi
			if [ -n "$DUCK" ]; then
				"$PROBITY" policy sql --dialect duckdb --by "$by" --at "$at" "$pol" > "$o.duck.sql"
				if duck_csv "$o.duck.sql" "$o.duck.csv" 2>"$o.duck.err"; then
					echo "$name@$at/$by/duckdb $o.json $o.duck.csv" >> "$TMP/pairs"
				else
					fail "$name at $at by $by: DuckDB failed: $(head -3 "$o.duck.err")"
				fi
			fi
		done
	done
done
# one comparison run for all pairs (fired, infinite and period exact; figures
# within a relative 1e-9)
while read -r verdict rest; do
	if [ "$verdict" = PASS ]; then ok; else fail "$rest"; fi
done < <($CMP --pairs "$TMP/pairs")
check "every pair compared" test "$(wc -l < "$TMP/pairs")" -ge "$n"
check "at least 30 policies ran, at two dates, by account and by customer" test "$n" -ge 120
if [ -n "$PG" ]; then
	$AS "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 ||
		kill "$(head -1 "$PGDIR/data/postmaster.pid")" 2>/dev/null
fi
finish policy-diff
