#!/bin/bash
# run.sh BUILD - the end-to-end driver.
#
# Runs every tests/e2e/cases/*.case (command-line cases written as data) and
# every tests/e2e/scripts/*.sh (scenarios that need a loop or a server), each
# in a fresh temporary folder, and ends with "e2e: N passed, N failed".
#
# A .case file is a list of lines:
#   # comment                 ignored (the first one describes the case)
#   sh COMMAND                run a shell command as setup; it must succeed
#   stdin FILE                the next `run` reads its standard input from FILE
#   run probity ARGS...       run the probity binary (shell quoting applies)
#   exit N                    the last run must exit with N (default 0)
#   stdout-has TEXT           stdout of the last run contains TEXT (literal)
#   stdout-lacks TEXT         ... does not contain TEXT
#   stdout-match ERE          ... has a line matching the extended regex
#   stderr-has / stderr-lacks / stderr-match   the same for stderr
#   stdout-lines N            stdout has exactly N lines
#   sql QUERY ==> EXPECTED    sqlite3 on $WS/probity.db prints EXPECTED
#                             (rows joined by ';', columns by '|')
#   file-has PATH TEXT        the file exists and contains TEXT
#   file-missing PATH         the path does not exist
# Variables: $WS (a workspace path, not yet created), $TMP (the case folder),
# $DATA (tests/data), $ROOT (the repository), $PROBITY (the binary), $ASUSER
# (a prefix that runs a command unprivileged when the suite runs as root).
set -u
BUILD=${1:?usage: run.sh BUILD}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=$(cd "$BUILD" && pwd)
export PROBITY=$BUILD/probity ROOT DATA=$ROOT/tests/data PB_BUILD=$BUILD
export PROBITY_DATA=$ROOT/data
# the default first user of "probity init" is the login name: make it fixed
export USER=pbtest
# Permission checks mean nothing to root: cases run such commands as $ASUSER,
# an unprivileged user when the suite runs as root.
if [ "$(id -u)" = 0 ]; then
	export ASUSER="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
	export ASUSER=""
fi
FILTER=${E2E_FILTER:-}
passed=0
failed=0

# Expands $WS, $TMP, $DATA and $ROOT in a line of expected text (nothing else,
# so quotes and other dollars are taken literally).
expand() {
	local t=$1
	t=${t//\$WS/$WS}; t=${t//\$TMP/$TMP}; t=${t//\$DATA/$DATA}; t=${t//\$ROOT/$ROOT}
	printf '%s' "$t"
}

run_case() { # file -> 0 pass / 1 fail; prints the reason on failure
	local file=$1
	local TMP WS out err rc expect_exit=0 have_run=0 stdin_file=/dev/null
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/pbe2e.XXXXXX")
	chmod 755 "$TMP"
	WS=$TMP/ws
	export TMP WS
	out=$TMP/.stdout; err=$TMP/.stderr
	local lineno=0 why=""
	check_exit() {
		if [ "$have_run" = 1 ] && [ "$rc" != "$expect_exit" ]; then
			why="line $last_run: exit $rc, expected $expect_exit; stderr: $(head -c 600 "$err")"
			return 1
		fi
		return 0
	}
	local last_run=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		[[ -z "${line// }" || "$line" == \#* ]] && continue
		local verb=${line%% *} arg=""
		[[ "$line" == *" "* ]] && arg=${line#* }
		case $verb in
		sh)
			if ! (cd "$TMP" && eval "$arg") >"$TMP/.sh.out" 2>&1; then
				why="line $lineno: setup failed: $arg: $(head -c 400 "$TMP/.sh.out")"; break
			fi ;;
		stdin) stdin_file=$(expand "$arg"); [[ $stdin_file == /* ]] || stdin_file=$TMP/$stdin_file ;;
		run)
			check_exit || break
			local cmd=${arg/#probity/\"\$PROBITY\"}
			(cd "$TMP" && eval "$cmd") <"$stdin_file" >"$out" 2>"$err"
			rc=$?; have_run=1; expect_exit=0; last_run=$lineno; stdin_file=/dev/null ;;
		exit) expect_exit=$arg ;;
		stdout-has|stderr-has|stdout-lacks|stderr-lacks)
			local f=$out; [[ $verb == stderr* ]] && f=$err
			local text; text=$(expand "$arg")
			if [[ $verb == *-has ]]; then
				grep -qF -- "$text" "$f" || { why="line $lineno: ${verb%-has} lacks '$text'; it was: $(head -c 800 "$f")"; break; }
			else
				! grep -qF -- "$text" "$f" || { why="line $lineno: ${verb%-lacks} has '$text'"; break; }
			fi ;;
		stdout-match|stderr-match)
			local f=$out; [[ $verb == stderr* ]] && f=$err
			grep -qE -- "$arg" "$f" || { why="line $lineno: no line matches /$arg/; it was: $(head -c 800 "$f")"; break; } ;;
		stdout-lines)
			local n; n=$(wc -l <"$out")
			[ "$n" = "$arg" ] || { why="line $lineno: $n lines, expected $arg"; break; } ;;
		sql)
			local q=${arg%% ==> *} want=${arg#* ==> } got
			got=$(sqlite3 -batch -separator '|' "$WS/probity.db" "$q" 2>&1 | paste -sd ';')
			[ "$got" = "$want" ] || { why="line $lineno: sql '$q' gave '$got', expected '$want'"; break; } ;;
		file-has)
			local p=${arg%% *} text=${arg#* }
			p=$(expand "$p"); [[ $p == /* ]] || p=$TMP/$p
			grep -qF -- "$text" "$p" 2>/dev/null || { why="line $lineno: $p lacks '$text'"; break; } ;;
		file-missing)
			local p; p=$(expand "$arg"); [[ $p == /* ]] || p=$TMP/$p
			[ ! -e "$p" ] || { why="line $lineno: $p exists"; break; } ;;
		*) why="line $lineno: unknown verb '$verb'"; break ;;
		esac
	done <"$file"
	[ -z "$why" ] && { check_exit || true; }
	chmod -R u+w "$TMP" 2>/dev/null
	rm -rf "$TMP"
	if [ -n "$why" ]; then
		echo "  FAIL $(basename "$file"): $why"
		return 1
	fi
	return 0
}

for c in tests/e2e/cases/*.case; do
	[ -e "$c" ] || continue
	[ -n "$FILTER" ] && [[ "$c" != *$FILTER* ]] && continue
	if run_case "$c"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

# Scripted scenarios print "script <name>: N passed, N failed" as their last line.
for s in tests/e2e/scripts/*.sh; do
	[ -e "$s" ] || continue
	[ -n "$FILTER" ] && [[ "$s" != *$FILTER* ]] && continue
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/pbe2e.XXXXXX")
	last=$(TMP=$TMP bash "$s" 2>&1 | tee "$TMP.log" | tail -1)
	p=$(echo "$last" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/p')
	f=$(echo "$last" | sed -nE 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/p')
	if [ -z "$p" ]; then
		echo "  FAIL $(basename "$s"): no result line; last output:"; tail -15 "$TMP.log" | sed 's/^/    /'
		failed=$((failed + 1))
	else
		grep -E '^  FAIL' "$TMP.log"
		passed=$((passed + p)); failed=$((failed + f))
	fi
	chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP" "$TMP.log"
done

echo "e2e: $passed passed, $failed failed"
[ $failed = 0 ]
