#!/bin/bash
# bench/policy/run.sh [ACCOUNTS] - provider-wide screening: `probity scan --all`
# against the same policy compiled to SQL and run on SQLite (sqlite3), on
# PostgreSQL (a private cluster started and stopped here) and on DuckDB (its
# default threads: every core; libduckdb.so from the npm registry, as in
# bench/ingest, never by make deps), over a workspace of
# ACCOUNTS billing accounts (default 10000) x 24 months of daily aggregates
# (one object-storage series each, speech-to-text for one account in 20).
# The aggregates are inserted directly (no CSV); the SQL engines read the same
# rows as FOCUS rows. Prints "name: probity X s, peer Y s, ratio R" lines
# (hyperfine medians) and writes bench/results/policy.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-10000}
P=$ROOT/build/release/probity
export PROBITY_DATA=$ROOT/data
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine
W=$(mktemp -d /tmp/pbbench-policy.XXXXXX)
trap 'rm -rf "$W"' EXIT
POL=$ROOT/policies/no-mass-surveillance.yaml
AT=2026-11-01
"$P" init --unsigned "$W/ws" >/dev/null
sqlite3 "$W/ws/probity.db" <<SQL
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
BEGIN;
INSERT INTO source(id, sha256, size, name, path, compression, format, ingested_at, rows_read,
  rows_accepted, rows_rejected, rows_with_warnings, columns, columns_ignored, names,
  catalog_sha256, first_day, last_day, report)
VALUES (1, 'bench', 0, 'bench', NULL, 'none', 'focus', '2026-11-01', 1, 1, 0, 0, 0, 0, 'clear', '', 20028, 20757, '{}');
INSERT INTO dim(id, value) VALUES (1, 'Storage Accounts'), (2, 'object-storage'), (3, 'westeurope'),
  (4, 'NL'), (5, 'GB-Months'), (6, 'Usage'), (7, 'EUR'), (8, 'Storage'), (9, 'Azure AI Services'),
  (10, 'speech-to-text'), (11, 'Hours'), (12, 'AI and Machine Learning');
WITH RECURSIVE a(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM a WHERE i < $N)
INSERT INTO dim(id, value) SELECT 100 + i, printf('B%06d', i) FROM a;
INSERT INTO account(kind, account_id, provider) SELECT 'billing', value, 'Microsoft' FROM dim WHERE id > 100;
WITH RECURSIVE d(day) AS (SELECT 20028 UNION ALL SELECT day + 1 FROM d WHERE day < 20757)
INSERT INTO usage_day(source_id, day, account, category, service, capability, region, country, unit,
  charge_category, currency, quantity, billed_cost, effective_cost, list_cost, rows, first_line, last_line)
SELECT 1, d.day, dim.id, 8, 1, 2, 3, 4, 5, 6, 7,
  printf('%.3f', 100 + (dim.id % 97) * (1 + (d.day - 20028) / 300.0)), '1.5', '1.5', '2', 1, 2, 2
FROM dim, d WHERE dim.id > 100;
WITH RECURSIVE d(day) AS (SELECT 20028 UNION ALL SELECT day + 1 FROM d WHERE day < 20757)
INSERT INTO usage_day(source_id, day, account, category, service, capability, region, country, unit,
  charge_category, currency, quantity, billed_cost, effective_cost, list_cost, rows, first_line, last_line)
SELECT 1, d.day, dim.id, 12, 9, 10, 3, 4, 11, 6, 7, printf('%d', 10 + dim.id % 20000), '1', '1', '1', 1, 3, 3
FROM dim, d WHERE dim.id > 100 AND dim.id % 20 = 0;
COMMIT;
SQL
# Ingest totals each source by month in its own transaction; rows inserted
# directly have none yet, and the first read-write open builds them (timed
# here, not in the comparison: ingest pays it a source at a time).
t0=$(date +%s%N)
"$P" scan --all --at $AT "$W/ws" "$POL" >/dev/null   # read-write: stores scan 1
echo "first (stored) scan, building the monthly totals: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ROWS=$(sqlite3 "$W/ws/probity.db" 'SELECT count(*) FROM usage_day')
echo "workspace: $N accounts, $ROWS daily aggregates"
# the same rows as FOCUS rows, for the SQL engines
"$P" policy tables --dialect sqlite "$W/ws" > "$W/tables.sql"
sqlite3 "$W/sql.db" < "$W/tables.sql"
sqlite3 "$W/sql.db" "ATTACH '$W/ws/probity.db' AS w; INSERT INTO focus_cost_and_usage SELECT account, subaccount, provider, category, subcategory, service, sku_meter, region, charge_category, currency, date || ' 00:00:00', date(day * 86400 + 86400, 'unixepoch') || ' 00:00:00', CAST(quantity AS REAL), unit, CAST(billed_cost AS REAL), CAST(effective_cost AS REAL), CAST(list_cost AS REAL) FROM w.usage"
"$P" policy sql --dialect sqlite --at $AT "$POL" > "$W/q.sql"
"$P" policy sql --dialect postgresql --at $AT "$POL" > "$W/q-pg.sql"
# answers agree
"$P" scan -n --all --json --at $AT "$W/ws" "$POL" > "$W/native.json"
sqlite3 -csv -header "$W/sql.db" < "$W/q.sql" > "$W/sqlite.csv"
python3 tools/policy-compare.py "$W/native.json" "$W/sqlite.csv"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
mkdir -p "$W/pg"; chmod 755 "$W"
AS=""; [ "$(id -u)" = 0 ] && { chown postgres "$W/pg"; AS="setpriv --reuid=$(id -u postgres) --regid=$(id -g postgres) --clear-groups"; }
PORT=$((50000 + RANDOM % 10000))
$AS "$PGBIN/initdb" -D "$W/pg/data" -A trust -U probity >/dev/null
$AS "$PGBIN/pg_ctl" -D "$W/pg/data" -l "$W/pg/log" -w -o "-c listen_addresses='' -c unix_socket_directories='$W/pg' -p $PORT -c fsync=off -c work_mem=256MB" start >/dev/null
PG="$AS psql -X -q -v ON_ERROR_STOP=1 -h $W/pg -p $PORT -U probity -d postgres"
"$P" policy tables --dialect postgresql "$W/ws" | $PG >/dev/null 2>&1
sqlite3 -csv "$W/sql.db" 'SELECT * FROM focus_cost_and_usage' | $PG -c "\\copy focus_cost_and_usage FROM STDIN WITH (FORMAT csv)"
$PG -c 'ANALYZE' >/dev/null
$PG --csv < "$W/q-pg.sql" > "$W/pg.csv"
python3 tools/policy-compare.py "$W/native.json" "$W/pg.csv"
# DuckDB: the same rows loaded once (not timed) into a database file; the
# timed run opens it and writes the findings as CSV
D=$ROOT/bench/work/duckdb
if [ ! -f "$D/libduckdb.so" ]; then
	command -v npm >/dev/null || apt-get install -y -qq npm >/dev/null
	mkdir -p "$D"
	(cd "$D" && npm pack --silent @duckdb/node-bindings-linux-x64 >/dev/null &&
		tar xzf duckdb-node-bindings-linux-x64-*.tgz && cp package/libduckdb.so .)
fi
cc -O2 -o "$W/duckdb_run" bench/policy/duckdb_run.c -L"$D" -lduckdb -Wl,-rpath,"$D"
sqlite3 -csv "$W/sql.db" 'SELECT * FROM focus_cost_and_usage' > "$W/rows.csv"
{ "$P" policy tables --dialect duckdb "$W/ws"
  echo "COPY focus_cost_and_usage FROM '$W/rows.csv' (FORMAT csv, HEADER false);"; } > "$W/load-duck.sql"
"$W/duckdb_run" "$W/duck.db" "$W/load-duck.sql"
{ echo "COPY ("; "$P" policy sql --dialect duckdb --at $AT "$POL" | sed '$ s/;[[:space:]]*$//'
  echo ") TO '$W/duck.csv' (FORMAT csv, HEADER true);"; } > "$W/q-duck.sql"
"$W/duckdb_run" "$W/duck.db" "$W/q-duck.sql"
python3 tools/policy-compare.py "$W/native.json" "$W/duck.csv"
mkdir -p bench/results
hyperfine -w 1 -r 5 -N --export-json "$W/h.json" \
	"$P scan -n --all --json --at $AT $W/ws $POL" \
	"sqlite3 $W/sql.db -init $W/q.sql .quit" \
	"$PG -f $W/q-pg.sql -o /dev/null" \
	"$W/duckdb_run $W/duck.db $W/q-duck.sql" >/dev/null 2>&1 || true
$AS "$PGBIN/pg_ctl" -D "$W/pg/data" -m fast -w stop >/dev/null
python3 - "$W/h.json" <<'PY' | tee bench/results/policy.txt
import json, sys
r = json.load(open(sys.argv[1]))["results"]
nat = r[0]["median"]
for name, x in (("sqlite", r[1]), ("postgresql", r[2]), ("duckdb", r[3])):
    print("policy-scan-all vs %s: probity %.3f s (min %.3f max %.3f), peer %.3f s (min %.3f max %.3f), ratio %.2f"
          % (name, nat, r[0]["min"], r[0]["max"], x["median"], x["min"], x["max"], x["median"] / nat))
PY
cp "$W/h.json" bench/results/policy.json
