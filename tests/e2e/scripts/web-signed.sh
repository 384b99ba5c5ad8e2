#!/bin/bash
# web-signed.sh - the two newest web writes in a signed workspace (actors
# signed by their SSH keys, the default): a case's mail export and revoking
# an invitation are refused, clearly (403 saying the workspace is signed and
# to use the command line), and leave nothing behind: no mail.export or
# user.invite-revoke entry, the invitation still pending. Reading (the admin
# page's pending invitations) works. 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-signed
. "$(dirname "$0")/../lib.sh"
unset SSH_AUTH_SOCK PROBITY_KEY_DIR
cd "$TMP" || exit 1
command -v ssh-keygen >/dev/null ||
	{ fail "ssh-keygen is needed (Debian openssh-client)"; finish web-signed; exit; }
mkdir -m 700 keys
for u in root alice carol; do ssh-keygen -q -t ed25519 -N '' -C "$u@web-signed" -f "keys/$u"; done
R=(-i keys/root)
q() { "$PROBITY" "$@" >>cli.out 2>>cli.err || fail "probity $1 $2: $(tail -2 cli.err)"; }
q init ws --user root --key-file keys/root.pub "${R[@]}"
q user add ws alice --role analyst --key-file keys/alice.pub "${R[@]}"
q user add ws carol --role auditor --key-file keys/carol.pub "${R[@]}"
q customer add ws acme --account A1 "${R[@]}"
q mail ingest ws --custodian nm "$DATA/mail/notmuch/default" "${R[@]}"
q case open ws --as alice -i keys/alice --customer acme --title t --trigger x
PORT=$(free_port)
B=http://127.0.0.1:$PORT
mkdir wtmp
TMPDIR=$TMP/wtmp "$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done
# as web_signin, but the invitation is signed by root's key file
signin() { # user jar: invite, enrol, sign in; prints the status of /
	local l tok pre C=(curl -s -b "$2" -c "$2")
	l=$("$PROBITY" user invite ws "$1" --url "$B" "${R[@]}" 2>>cli.err | tail -1)
	tok=${l#*token=}
	"${C[@]}" -o "$2.e" "$B/enrol?token=$tok"
	pre=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$2.e" | sed 's/.*value="//;s/"//')
	"${C[@]}" -o /dev/null -H "Origin: $B" \
		--data "csrf=$pre&token=$tok&password=correct-horse-1&again=correct-horse-1" "$B/enrol"
	"${C[@]}" -o /dev/null -H "Origin: $B" --data "csrf=$pre&name=$1&password=correct-horse-1" "$B/signin"
	"${C[@]}" -o /dev/null -w '%{http_code}' "$B/"
}
check "alice signs in (enrolment and sign-in are unsigned session entries)" test "$(signin alice jar)" = 200
check "root signs in" test "$(signin root jarr)" = 200
tok() { curl -s -b "$1" "$B$2" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//'; }
count() { "$PROBITY" log show ws --json | grep -c "\"action\": *\"$1\""; }
check "entries are counted" test "$(count case.open)" = 1

code=$(curl -s -b jar -H "Origin: $B" -o ex.html -w '%{http_code}' \
	--data "csrf=$(tok jar /cases/1)&q=notmuch" "$B/cases/1/export")
check "a mail export from the browser is refused (403: $code)" test "$code" = 403
check "...saying the workspace is signed and to use the command line" grep -q "this workspace is signed.*probity command line" ex.html
check "...and no mail.export entry" test "$(count mail.export)" = 0
check "...nor anything left in the app's temporary folder" test -z "$(ls -A wtmp)"

"$PROBITY" user invite ws carol --url "$B" "${R[@]}" >/dev/null 2>>cli.err
curl -s -b jarr -o users.html "$B/admin/users"
check "the admin page lists carol's pending invitation" grep -q '<table id="invites">.*<td>carol</td>' users.html
code=$(curl -s -b jarr -H "Origin: $B" -o rv.html -w '%{http_code}' \
	--data "csrf=$(tok jarr /admin/users)&name=carol" "$B/admin/invite-revoke")
check "revoking it from the browser is refused (403: $code)" test "$code" = 403
check "...saying the workspace is signed" grep -q "this workspace is signed" rv.html
check "...no user.invite-revoke entry" test "$(count user.invite-revoke)" = 0
curl -s -b jarr -o users2.html "$B/admin/users"
check "...and the invitation is still pending" grep -q '<table id="invites">.*<td>carol</td>' users2.html
check "the log checks" "$PROBITY" log check ws
finish web-signed
