#!/bin/bash
# parquet.sh - the Parquet reader against DuckDB: every file of
# tests/data/parquet/data is read with exactly the values DuckDB reads
# (golden/), or refused naming what is not supported; every file of bad_data
# is refused with a message, in bounded time.
SCRIPT_NAME=parquet
. "$(dirname "$0")/../lib.sh"
DUMP=$PB_BUILD/tools/pq-dump
P=$DATA/parquet
for f in "$P"/data/*.parquet; do
	n=$(basename "$f" .parquet)
	g=$P/golden/$n.golden
	timeout 60 "$DUMP" "$f" >"$TMP/pq.out" 2>"$TMP/pq.err"
	rc=$?
	if [ $rc = 0 ] && [ -f "$g" ] && ! head -1 "$g" | grep -q '^error: '; then
		if cmp -s "$g" "$TMP/pq.out"; then ok
		else fail "$n: values differ from DuckDB's: $(diff "$g" "$TMP/pq.out" | head -3)"; fi
	elif [ $rc = 0 ]; then
		ok # DuckDB refuses it (LZ4 of Hadoop, INT96 out of its range, ...): read here
	elif [ $rc = 1 ] && grep -q "^pq-dump: cannot read '$n.parquet': .*\(not supported\|malformed\|does not fit\)" "$TMP/pq.err"; then
		ok
	else
		fail "$n: exit $rc, $(head -c 300 "$TMP/pq.err")"
	fi
done
# ARROW-GH-43605 is well formed (0-bit indices into a one-value dictionary,
# which crashed Arrow): it reads as DuckDB reads it, 21186 zeros.
for f in "$P"/bad_data/*.parquet; do
	n=$(basename "$f")
	timeout 60 "$DUMP" "$f" >"$TMP/pq.out" 2>"$TMP/pq.err"
	rc=$?
	if [ "$n" = ARROW-GH-43605.parquet ]; then
		check "$n reads as 21186 zeros" test "$(grep -c '^0$' "$TMP/pq.out")" = 21186
	elif [ $rc = 1 ] && grep -q "^pq-dump: cannot read '$n'" "$TMP/pq.err"; then ok
	else fail "bad_data/$n: exit $rc, $(head -c 300 "$TMP/pq.err")"; fi
done
finish parquet
