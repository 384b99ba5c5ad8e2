#!/bin/sh
# parquet-focus.sh OUTDIR CSV - writes the FOCUS CSV export as Parquet with
# DuckDB in every codec, with and without dictionaries, in several row-group
# sizes (DuckDB writes at least 2048 rows a group), page versions 1 and 2, and with its columns as text or typed
# (DuckDB's detection: timestamps, doubles): OUTDIR/NAME-VARIANT.parquet.
# Run once to make tests/data/parquet/focus (kept in git with this script);
# tests/e2e/scripts/parquet-ingest.sh checks each ingests to the CSV's
# aggregates.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$1 CSV=$2
LIBDIR=$("$ROOT/tools/npm-deps.sh" "$ROOT/build/npm" | tail -1)
SQL="$ROOT/build/duckdb-sql :memory:"
cc -O1 -o "$ROOT/build/duckdb-sql" "$ROOT/tests/e2e/duckdb_sql.c" -L"$LIBDIR" -lduckdb -Wl,-rpath,"$LIBDIR"
mkdir -p "$OUT"
name=$(basename "$CSV" .csv)
text="read_csv('$CSV', all_varchar = true, header = true)"
typed="read_csv('$CSV')"
w() { # variant source options
	$SQL "SET TimeZone='UTC'" "COPY (FROM $2) TO '$OUT/$name-$1.parquet' (FORMAT parquet, $3)"
}
w snappy "$text" "COMPRESSION snappy"
w zstd "$text" "COMPRESSION zstd"
w gzip "$text" "COMPRESSION gzip"
w lz4 "$text" "COMPRESSION lz4_raw"
w none "$text" "COMPRESSION uncompressed"
w nodict "$text" "COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 1"
w v2 "$text" "COMPRESSION snappy, PARQUET_VERSION v2"
w typed "$typed" "COMPRESSION snappy, ROW_GROUP_SIZE 300"
w typed-v2 "$typed" "COMPRESSION zstd, PARQUET_VERSION v2"
# three copies in row groups of 2048 rows: several row groups, read in parallel
w x3-rg2048 "(FROM $text UNION ALL FROM $text UNION ALL FROM $text)" "COMPRESSION snappy, ROW_GROUP_SIZE 2048"
# the rows in ten row groups (one per last digit of Id): a file read row
# group by row group (pqingest.c) gives the CSV's aggregates
parts=""
for k in 0 1 2 3 4 5 6 7 8 9; do
	parts="$parts${parts:+ UNION ALL }(FROM $text WHERE (Id::BIGINT) % 10 = $k)"
done
w rg10 "($parts)" "COMPRESSION snappy, ROW_GROUP_SIZE 2048"
# five rows, two of them bad: rejected by row group and row, with their values
$SQL "CREATE TABLE t AS FROM $text LIMIT 5" \
	"UPDATE t SET BilledCost = '\$10.00' WHERE rowid = 1" \
	"UPDATE t SET ChargeCategory = 'Usages' WHERE rowid = 3" \
	"COPY t TO '$OUT/$name-bad.parquet' (FORMAT parquet)"
# 1500 rows in one row group (cut into slices of rows for two threads), bad
# rows in both halves: a bad decimal, a bad enum, and invalid UTF-8 in a
# dictionary entry (ServiceName as BLOB: DuckDB's text is valid UTF-8)
$SQL "CREATE TABLE t AS SELECT * REPLACE (CAST(ServiceName AS BLOB) AS ServiceName) FROM (FROM $text UNION ALL (FROM $text LIMIT 500))" \
	"UPDATE t SET BilledCost = '\$10.00' WHERE rowid = 1" \
	"UPDATE t SET ChargeCategory = 'Usages' WHERE rowid = 700" \
	"UPDATE t SET ServiceName = '\\xC3\\x28'::BLOB WHERE rowid IN (800, 1499)" \
	"COPY t TO '$OUT/$name-x15-bad.parquet' (FORMAT parquet, COMPRESSION snappy)"
# typed, rows the checks prove clean column by column but for the rules
# that tie columns together (an end before its start: rejected; a Usage row
# without quantity: a warning) and an entry of a column read as its
# dictionary alone that is not UTF-8 (ChargeDescription as BLOB: rejected)
$SQL "SET TimeZone='UTC'" "CREATE TABLE t AS SELECT * REPLACE (CAST(ChargeDescription AS BLOB) AS ChargeDescription) FROM $typed" \
	"UPDATE t SET ChargePeriodEnd = ChargePeriodStart - INTERVAL 1 HOUR WHERE rowid = 99" \
	"UPDATE t SET ConsumedQuantity = NULL WHERE rowid = (SELECT min(rowid) FROM t WHERE ChargeCategory = 'Usage' AND rowid >= 199)" \
	"UPDATE t SET ChargeDescription = '\\xC3\\x28'::BLOB WHERE rowid = 499" \
	"COPY t TO '$OUT/$name-fast-bad.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 300)"
# no rows, no row groups: nothing to cut into slices
w empty "(FROM $text LIMIT 0)" "COMPRESSION snappy"

# Tags as a MAP(VARCHAR, VARCHAR) (Azure's and AWS's Parquet exports), with
# nested columns that are not read (a LIST, a STRUCT, a MAP of STRUCTs): the
# same aggregates and checks as the CSV, a warning for each skipped column
maptags="CASE WHEN Tags = 'NULL' THEN NULL ELSE CAST(CAST(Tags AS JSON) AS MAP(VARCHAR, VARCHAR)) END"
nested="[BilledCost, ListCost] AS x_List, {'a': ServiceName, 'b': 1} AS x_Struct, MAP {'k': {'c': RegionId}} AS x_MapOfStruct"
w map "(SELECT * REPLACE ($maptags AS Tags), $nested FROM $text)" "COMPRESSION snappy, ROW_GROUP_SIZE 300"
w map-v2 "(SELECT * REPLACE ($maptags AS Tags) FROM $text)" "COMPRESSION zstd, PARQUET_VERSION v2"
# Tags as a LIST: a nested column the checks would read, skipped with a warning
w tagslist "(SELECT * REPLACE ([Tags] AS Tags) FROM $text LIMIT 5)" "COMPRESSION snappy"
