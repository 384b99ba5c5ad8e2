#!/bin/bash
# policy-diff.sh - differential test of the policy engines: for every policy
# of tests/data/policy/diff/ and two scan dates, the native scan's findings
# (probity scan --all) equal those of the compiled SQL run on SQLite (sqlite3)
# and on a real PostgreSQL server started here (Debian's postgresql, its own
# cluster in $TMP on a private Unix socket, stopped at the end), both loaded
# with the same rows (tests/data/policy/usage.csv, raw units and all).
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=policy-diff
CMP="python3 $ROOT/tools/policy-compare.py"
CSV=$DATA/policy/usage.csv
WS=$TMP/ws
DATES="2026-03-01 2025-09-15"
"$PROBITY" init "$WS" >/dev/null && "$PROBITY" ingest -q "$WS" "$CSV" >/dev/null
check "ingest the fixture" test -f "$WS/probity.db"
# the same workspace without its monthly totals: a read-only scan then reads
# every day from usage_day, and must find exactly what the totals give
WSD=$TMP/ws-days
cp -r "$WS" "$WSD"
sqlite3 "$WSD/probity.db" "DELETE FROM usage_month; DELETE FROM usage_month_source"
check "monthly totals were built at ingest" test "$(sqlite3 "$WS/probity.db" 'SELECT count(*) FROM usage_month_source')" = 1

# SQLite: the catalog tables, then the raw rows (empty fields are NULL)
DB=$TMP/sqlite.db
"$PROBITY" policy tables --dialect sqlite "$WS" > "$TMP/tables-sqlite.sql"
sqlite3 "$DB" < "$TMP/tables-sqlite.sql"
sqlite3 "$DB" ".import --csv --skip 1 $CSV focus_cost_and_usage" \
	"UPDATE focus_cost_and_usage SET SubAccountId = NULLIF(SubAccountId, ''), SkuMeter = NULLIF(SkuMeter, '')"
check "rows loaded into SQLite" test "$(sqlite3 "$DB" 'SELECT count(*) FROM focus_cost_and_usage')" = "$(($(wc -l < "$CSV") - 1))"

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
				>>"$TMP/pgload.log" 2>&1
		check "rows loaded into PostgreSQL" test "$($PG -At -c 'SELECT count(*) FROM focus_cost_and_usage')" = "$(($(wc -l < "$CSV") - 1))"
	else
		fail "cannot start PostgreSQL: $(tail -3 "$TMP/initdb.log" "$TMP/pgstart.log" "$PGDIR/log" 2>/dev/null)"
		PG=""
	fi
else
	fail "PostgreSQL is not installed (tools/deps.sh installs postgresql)"
fi

n=0
: > "$TMP/pairs"
for pol in "$DATA"/policy/diff/*.yaml "$ROOT"/policies/*.yaml; do
	name=$(basename "$pol" .yaml)
	for at in $DATES; do
		n=$((n + 1))
		o=$TMP/out-$name-$at
		"$PROBITY" scan -n --all --json --at "$at" "$WS" "$pol" > "$o.json" ||
			{ fail "$name at $at: native scan failed"; continue; }
		"$PROBITY" scan -n --all --json --at "$at" "$WSD" "$pol" > "$o.days.json"
		check "$name at $at: monthly totals and daily rows give the same scan" cmp -s "$o.json" "$o.days.json"
		"$PROBITY" policy sql --dialect sqlite --at "$at" "$pol" > "$o.sqlite.sql"
		if sqlite3 -csv -header "$DB" < "$o.sqlite.sql" > "$o.sqlite.csv" 2>"$o.sqlite.err"; then
			echo "$name@$at/sqlite $o.json $o.sqlite.csv" >> "$TMP/pairs"
		else
			fail "$name at $at: SQLite failed: $(head -3 "$o.sqlite.err")"
		fi
		if [ -n "$PG" ]; then
			"$PROBITY" policy sql --dialect postgresql --at "$at" "$pol" > "$o.pg.sql"
			if $PG --csv < "$o.pg.sql" > "$o.pg.csv" 2>"$o.pg.err"; then
				echo "$name@$at/postgresql $o.json $o.pg.csv" >> "$TMP/pairs"
			else
				fail "$name at $at: PostgreSQL failed: $(head -3 "$o.pg.err")"
			fi
		fi
	done
done
# one comparison run for all pairs (fired, infinite and period exact; figures
# within a relative 1e-9)
while read -r verdict rest; do
	if [ "$verdict" = PASS ]; then ok; else fail "$rest"; fi
done < <($CMP --pairs "$TMP/pairs")
check "every pair compared" test "$(wc -l < "$TMP/pairs")" -ge "$n"
check "at least 30 policies ran" test "$n" -ge 60
if [ -n "$PG" ]; then
	$AS "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 ||
		kill "$(head -1 "$PGDIR/data/postmaster.pid")" 2>/dev/null
fi
finish policy-diff
