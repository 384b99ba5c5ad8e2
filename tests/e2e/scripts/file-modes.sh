#!/bin/bash
# file-modes.sh - what init (and its key folder apart), ingest (usage and
# mail), case attach, a checkpoint, the mail export, the log export, profile
# charts, a notice and reports create is 0700 (folders) and 0600 (files), whatever the
# umask: the workspace holds customer data and keys, and an export is handed
# on deliberately, not read by whoever shares the machine.
SCRIPT_NAME=file-modes
. "$ROOT/tests/e2e/lib.sh"
export TZ=UTC
run() { # umask
	local d=$TMP/u$1
	mkdir -p "$d" && cd "$d" || return 1
	(
		umask "$1"
		WS=$d/ws
		"$PROBITY" init --unsigned "$WS" --key-dir "$d/keys" >/dev/null &&
		sh "$ROOT/tests/e2e/mail_setup.sh" "$WS" 1 &&
		"$PROBITY" ingest -q "$WS" "$DATA/focus/samples/focus-1.0-sample-1000.csv" >/dev/null &&
		mkdir -p "$d/in/cur" && chmod 755 "$d/in" "$d/in/cur" &&
		printf 'From: a@provider.example\nMessage-ID: <m1@provider.example>\nSubject: hello\n\nplain words\n' \
			>"$d/in/cur/1:2,S" &&
		"$PROBITY" mail ingest "$WS" --as ann "$d/in" >/dev/null &&
		printf 'a report\n' >"$d/report.txt" &&
		"$PROBITY" case attach "$WS" 1 "$d/report.txt" --as ann >/dev/null &&
		"$PROBITY" search --as ann "$WS" 1 plain --export "$d/mailx" >/dev/null &&
		"$PROBITY" log checkpoint "$WS" >/dev/null &&
		"$PROBITY" log export "$WS" "$d/logx" >/dev/null &&
		"$PROBITY" customer add "$WS" Sample --account 1234567890123 >/dev/null &&
		mkdir -m 700 "$d/out" &&
		"$PROBITY" profile "$WS" Sample --chart "$d/out/area.svg" \
			--chart-series "$d/out/series.svg" >/dev/null &&
		"$PROBITY" plan new "$WS" 1 --as ann --disable 'category=Storage' >/dev/null &&
		"$PROBITY" notice "$WS" 1 --draft --format html --output "$d/out/notice.html" >/dev/null &&
		"$PROBITY" report case "$WS" 1 --format html --output "$d/out/case.html" --as ann >/dev/null &&
		"$PROBITY" report transparency "$WS" --period "$(date -u +%Y)" --format csv \
			--output "$d/out/transparency" --as ann >/dev/null
	) || { fail "umask $1: a step failed"; return 1; }
	ok
	local bad
	for t in ws keys mailx logx out; do
		[ -d "$d/$t" ] || { fail "umask $1: $t was not created"; continue; }
		bad=$(find "$d/$t" \( -type d ! -perm 700 \) -o \( -type f ! -perm 600 \) -printf '%m %p\n')
		[ -z "$bad" ] && ok || fail "umask $1: wrong modes: $bad"
		n=$(find "$d/$t" -type f | wc -l)
		[ "$n" -gt 0 ] && ok || fail "umask $1: $t holds no files"
	done
	[ -e "$d/ws/documents" ] && ok || fail "umask $1: no documents folder"
	[ -z "$(find "$d/ws" -name '*.key')" ] && ok || fail "umask $1: keys in the workspace"
	[ "$(find "$d/keys" "$d/out" -maxdepth 1 -type f | wc -l)" = 6 ] && ok ||
		fail "umask $1: expected 2 keys, 2 charts, a notice and a case report: $(find "$d/keys" "$d/out" -maxdepth 1 -type f)"
	[ -n "$(find "$d/out/transparency" -name '*.csv')" ] && ok || fail "umask $1: no transparency tables"
}
run 022
run 000
finish file-modes
