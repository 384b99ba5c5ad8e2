#!/bin/bash
# web-concurrent.sh - the web app and the command line write to one workspace
# at once: 4 browsers' worth of notes through probity web and 2 command-line
# writers, bounded in time; every write lands exactly once (counted in the
# log), no answer is a 500, and the stored log checks. 127.0.0.1 only;
# stopped by pid.
SCRIPT_NAME=web-concurrent
. "$(dirname "$0")/../lib.sh"
cd "$TMP" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" customer add ws acme --account A1 >/dev/null
"$PROBITY" user add ws alice --role analyst >/dev/null
"$PROBITY" user add ws bob --role analyst >/dev/null
"$PROBITY" case open ws --as bob --customer acme --title t --trigger x >/dev/null
PORT=$(free_port)
B=http://127.0.0.1:$PORT
L=$("$PROBITY" user invite ws alice --url "$B" | tail -1)
TOK=${L#*token=}
"$PROBITY" web ws --listen 127.0.0.1:$PORT >web.out 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done
C=(curl -s -c jar -b jar -H "Origin: $B")
"${C[@]}" -o e.html "$B/enrol?token=$TOK"
PRE=$(grep -o 'name="csrf" value="[0-9a-f]*"' e.html | sed 's/.*value="//;s/"//')
"${C[@]}" -o /dev/null --data "csrf=$PRE&token=$TOK&password=correct-horse-1&again=correct-horse-1" "$B/enrol"
"${C[@]}" -o /dev/null --data "csrf=$PRE&name=alice&password=correct-horse-1" "$B/signin"
CS=$("${C[@]}" "$B/cases/1" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//')
check "signed in through the web" test -n "$CS"

N=15
web_writer() { # k: N notes through the web; each answer's code on a line
	for i in $(seq $N); do
		curl -s -b jar -H "Origin: $B" -o /dev/null -w '%{http_code}\n' \
			--data "csrf=$CS&text=web-$1-$i" "$B/cases/1/note"
	done >"codes.$1"
}
cli_writer() { # k: N notes through the command line
	for i in $(seq $N); do
		"$PROBITY" case note ws 1 "cli-$1-$i" --as bob >/dev/null 2>>"cli.err.$1" ||
			echo "fail $i" >>"cli.fail.$1"
	done
}
pids=()
for k in 1 2 3 4; do web_writer $k & pids+=($!); done
for k in 1 2; do cli_writer $k & pids+=($!); done
for p in "${pids[@]}"; do timeout 120 tail --pid="$p" -f /dev/null; done
ok_web=$(cat codes.* | grep -c '^303$')
check "every web note answered 303 ($ok_web of $((4 * N)); others: $(cat codes.* | grep -v '^303$' | sort | uniq -c | tr '\n' ' '))" \
	test "$ok_web" = $((4 * N))
check "every command-line note succeeded ($(cat cli.err.* 2>/dev/null | head -2))" test ! -e cli.fail.1 -a ! -e cli.fail.2
kill -TERM $WPID; wait $WPID
notes=$("$PROBITY" log show ws --case 1 | grep -c 'case.note')
check "the log holds each note once ($notes of $((6 * N)))" test "$notes" = $((6 * N))
out=$("$PROBITY" log check ws 2>&1) && ok || fail "the stored log checks: $(head -c 600 <<<"$out")"
# an enrolled user's password replaced beside the log is a difference
u=$(sqlite3 ws/probity.db "SELECT user FROM web_password LIMIT 1")
sqlite3 ws/probity.db "UPDATE web_password SET hash = hash || 'x' WHERE user = '$u'"
out=$("$PROBITY" log check ws 2>&1) && fail "log check passed with a password set beside the log" ||
	{ grep -q "^table web_password row $u: the password is not the one entry [0-9]* recorded" <<<"$out" && ok ||
		fail "log check does not name the password: $out"; }
finish web-concurrent
