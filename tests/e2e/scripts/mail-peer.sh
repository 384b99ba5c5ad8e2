#!/bin/bash
# mail-peer.sh - probity against Debian's notmuch on notmuch's own test corpus:
# the same queries give the same message sets (by Message-ID), the hit report
# gives notmuch's counts, and both engines make the same threads. Where the
# engines differ by design, tests/data/mail/peer/queries.tsv says why, and the
# difference is checked to be that one (so it cannot grow unnoticed).
SCRIPT_NAME=mail-peer
. "$ROOT/tests/e2e/lib.sh"
export TZ=UTC

if ! command -v notmuch >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	fail "notmuch and python3 are needed (tools/deps.sh installs them)"
	finish mail-peer
	exit 0
fi

# one notmuch database and one workspace over the same copy of a corpus
setup() { # name corpus
	local dir=$TMP/$1
	mkdir -p "$dir"
	cp -r "$2" "$dir/mail"
	printf '[database]\npath=%s\n[new]\ntags=\n[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=false\n' \
		"$dir/mail" >"$dir/notmuch-config"
	NOTMUCH_CONFIG=$dir/notmuch-config notmuch new --quiet >"$dir/new.log" 2>&1 ||
		fail "$1: notmuch new failed: $(head -3 "$dir/new.log")"
	"$PROBITY" init --unsigned "$dir/ws" >/dev/null &&
	sh "$ROOT/tests/e2e/mail_setup.sh" "$dir/ws" 1 &&
		"$PROBITY" mail ingest "$dir/ws" "$dir/mail" >/dev/null 2>&1 ||
		fail "$1: probity ingest failed"
}

nm() { NOTMUCH_CONFIG=$TMP/$1/notmuch-config notmuch "${@:2}"; }
pb_ids() { "$PROBITY" search --ids --as peer -- "$TMP/$1/ws" 1 "$2"; }
nm_ids() { nm "$1" search --output=messages -- "$2" | sed 's/^id://'; }

setup default "$DATA/mail/notmuch/default"
nm default tag +relevant -- from:keith
"$PROBITY" mail tag "$TMP/default/ws" 1 --query from:keith relevant --as peer >/dev/null ||
	fail "probity mail tag --query failed"

# 1. message sets, query by query
nsame=0
while IFS=$'\t' read -r want query why; do
	[[ -z "$want" || "$want" == \#* ]] && continue
	sort -u <(nm_ids default "$query") >"$TMP/a" 2>"$TMP/a.err" ||
		{ fail "notmuch rejected '$query': $(cat "$TMP/a.err")"; continue; }
	if ! pb_ids default "$query" 2>"$TMP/b.err" | sort -u >"$TMP/b"; then
		fail "probity rejected '$query': $(cat "$TMP/b.err")"
		continue
	fi
	only_nm=$(comm -23 "$TMP/a" "$TMP/b" | wc -l)
	only_pb=$(comm -13 "$TMP/a" "$TMP/b" | wc -l)
	both=$(comm -12 "$TMP/a" "$TMP/b" | wc -l)
	desc="'$query': notmuch $((both + only_nm)), probity $((both + only_pb)), common $both"
	case $want in
	same) [ "$only_nm" = 0 ] && [ "$only_pb" = 0 ] && nsame=$((nsame + 1)) ;;
	notmuch-more) [ "$only_nm" -gt 0 ] && [ "$only_pb" = 0 ] ;;
	probity-more) [ "$only_pb" -gt 0 ] && [ "$only_nm" = 0 ] ;;
	differ) [ $((only_nm + only_pb)) -gt 0 ] ;;
	*) false ;;
	esac && ok || fail "$want expected for $desc${why:+ ($why)}"
done <"$DATA/mail/peer/queries.tsv"
# the brief asks for at least 25 queries covering each operator and field
[ "$nsame" -ge 25 ] && ok || fail "only $nsame queries agree with notmuch"

# 2. the hit report counts what 'notmuch count' counts
printf 'Notmuch\nfrom:carl\nNotmuch NEAR/2 Patch\ndate:2009-11-17\n' >"$TMP/terms"
"$PROBITY" search --terms "$TMP/terms" --csv --as peer "$TMP/default/ws" 1 >"$TMP/report.csv" ||
	fail "hit report failed"
while IFS= read -r term; do
	want=$(nm default count -- "$term")
	got=$(python3 -c 'import csv,sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["term"] == sys.argv[2]: print(r["hits"])' "$TMP/report.csv" "$term")
	[ "$want" = "$got" ] && ok || fail "hit report for '$term': $got, notmuch count says $want"
done <"$TMP/terms"

# 3. threads: the same partition of messages (ghost roots, parent priority, loops)
threads_same() { # name
	local n=$1
	nm "$n" search --output=threads '*' | while read -r t; do
		nm "$n" search --output=messages "$t" | sed 's/^id://' | sort | paste -sd ' '
	done | sort >"$TMP/$n.nm-threads"
	"$PROBITY" search --json --as peer "$TMP/$n/ws" 1 '*' | python3 -c '
import json, sys
t = {}
for m in json.load(sys.stdin)["messages"]:
    t.setdefault(m["thread"], set()).add(m["message_id"])
for s in sorted(" ".join(sorted(v)) for v in t.values()):
    print(s)' | sort >"$TMP/$n.pb-threads"
	if cmp -s "$TMP/$n.nm-threads" "$TMP/$n.pb-threads"; then
		ok
	else
		fail "$n: threads differ: $(diff "$TMP/$n.nm-threads" "$TMP/$n.pb-threads" | head -6)"
	fi
}
threads_same default
setup threading "$DATA/mail/notmuch/threading"
threads_same threading
setup broken "$DATA/mail/notmuch/broken"
threads_same broken

finish mail-peer
