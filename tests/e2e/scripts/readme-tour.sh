#!/bin/bash
# readme-tour.sh - the README's five-minute tour, run as written. The sh
# blocks between "## Five-minute tour" and the next section are taken from
# README.md itself, so the tour a new user follows cannot drift from what
# probity does: each command must succeed, in order, in a fresh folder with
# its own HOME and ssh-agent. What a reader fills in by hand is filled in
# here: HASH (the plan's hash from `plan show`), VKEY (from `log status`),
# free ports for `serve` and `web`; the passphrase prompt of ssh-keygen is
# answered with an empty one. Then the outcomes the tour promises: the
# finding, the verified log and mail export, the deny and the allow.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=readme-tour
command -v ssh-keygen >/dev/null || { fail "ssh-keygen is needed (Debian openssh-client)"; finish readme-tour; exit; }
T=$TMP/tour
mkdir -p "$T/bin" "$T/home/.ssh" "$T/build"
ln -s "$PROBITY" "$T/bin/probity"
ln -s "$PB_BUILD" "$T/build/release"
ln -s "$ROOT/policies" "$T/policies"
ln -s "$ROOT/tools" "$T/tools"
cd "$T" || exit 1
export HOME=$T/home PATH=$T/bin:$PATH
unset PROBITY_KEY_DIR
eval "$(ssh-agent -s)" >/dev/null
SPORT=$(free_port)
WPORT=$(free_port)
trap 'kill $SSH_AGENT_PID 2>/dev/null; kill $(jobs -p) 2>/dev/null' EXIT

# the tour's commands, one per line (continuations joined), as README.md has them
python3 - "$ROOT/README.md" >tour.txt <<'PY'
import re, sys
text = open(sys.argv[1]).read()
tour = text[text.index("## Five-minute tour"):]
tour = tour[:tour.index("\n## ", 5)]
for block in re.findall(r"```sh\n(.*?)```", tour, re.S):
    for cmd in block.replace("\\\n", " ").splitlines():
        if cmd.strip() and not cmd.lstrip().startswith("#"):
            print(cmd)
PY
check "the README has a tour of at least 30 commands" test "$(wc -l <tour.txt)" -ge 30

# run LINE: one command of the tour, with what a reader fills in
n=0
while IFS= read -r line; do
	n=$((n + 1))
	cmd=$line
	case $cmd in
	ssh-keygen\ -t*) cmd=${cmd/ssh-keygen -t/ssh-keygen -q -N \'\' -t} ;;
	esac
	case $cmd in
	*--hash\ HASH*)
		HASH=$(probity plan show review 1 | awk '/^  sha256:/ {print $2; exit}')
		cmd=${cmd//HASH/$HASH} ;;
	*"'VKEY'"*)
		VKEY=$(probity log status review | awk '/^vkey:/ {print $2}')
		cmd=${cmd//VKEY/$VKEY} ;;
	esac
	cmd=${cmd//127.0.0.1:8181/127.0.0.1:$SPORT}
	cmd=${cmd//127.0.0.1:8443/127.0.0.1:$WPORT}
	case $cmd in
	probity\ serve*)
		eval "${cmd%&*} >serve.out 2>serve.err &"
		for _ in $(seq 50); do curl -sf "http://127.0.0.1:$SPORT/healthz" >/dev/null && break; sleep 0.1; done
		curl -sf "http://127.0.0.1:$SPORT/healthz" >/dev/null && ok || fail "README step $n: serve did not start: $(cat serve.err)"
		continue ;;
	probity\ web*)
		eval "${cmd%%#*} >web.out 2>web.err &"
		wpid=$!
		for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$WPORT/" && break; sleep 0.1; done
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/")
		[ "$code" = 303 ] || [ "$code" = 200 ] && ok || fail "README step $n: web answers $code: $(cat web.err)"
		kill "$wpid" 2>/dev/null
		continue ;;
	esac
	if eval "$cmd" >"out.$n" 2>"err.$n"; then ok; else fail "README step $n: $line: $(cat "err.$n")"; fi
done <tour.txt

# what the tour promises
grep -n "" out.* >all.out
check "the scan finds F1" grep -q "FINDING F1" all.out
check "evidence verify ends 'verified'" grep -q "^out\.[0-9]*:[0-9]*:verified$" all.out
check "the log export verifies with the handed-over key" grep -q "signed actors: .* signatures verify" all.out
check "the mail export verifies" grep -q "evidence-mail: 2 documents" all.out
check "decide denies the storage" grep -q ":deny$" all.out
check "serve allows Key Vault (kept running)" grep -q '"result":"allow"' all.out
check "the chart and the notice are written" test -s usage.svg -a -s notice.html
check "the proof bundle is written" test -d f1-proof
check "the screening SQL is written" grep -qi "select" screen.sql
check "the workspace checks" probity log check review
finish readme-tour
