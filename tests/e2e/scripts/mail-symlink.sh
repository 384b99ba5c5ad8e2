#!/bin/bash
# mail-symlink.sh - a hostile maildir cannot make ingest read outside itself:
# files that are symbolic links (to a secret outside the archive standing in
# for /etc/shadow, and to the workspace's own signing.key) are refused, each
# recorded as a 'symlink' processing exception under the link's path, and
# neither is searchable nor exported. The real message beside them is read.
SCRIPT_NAME=mail-symlink
. "$ROOT/tests/e2e/lib.sh"
export TZ=UTC
WS=$TMP/ws
"$PROBITY" init --unsigned "$WS" >/dev/null && sh "$ROOT/tests/e2e/mail_setup.sh" "$WS" 1 ||
	fail "setup failed"
"$PROBITY" log checkpoint "$WS" >/dev/null 2>&1 # makes signing.key
[ -s "$WS/signing.key" ] && ok || fail "no signing.key to link to"
M=$TMP/mail
mkdir -p "$M/cur" "$M/new" "$M/tmp"
msg() { # message-id word
	printf 'From: a@provider.example\nTo: b@provider.example\nSubject: %s\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nMessage-ID: <%s@provider.example>\n\nthe word is %s\n' \
		"$2" "$1" "$2"
}
msg real harmlessword >"$M/cur/1:2,S"
# the stand-in for /etc/shadow: a well-formed message, so it would be indexed
msg shadow shadowsecretword >"$TMP/shadow"
ln -s "$TMP/shadow" "$M/cur/2:2,S"
ln -s "$WS/signing.key" "$M/new/3"
# a link to a file inside the archive is refused too (one simple rule)
ln -s "$M/cur/1:2,S" "$M/cur/4:2,S"
out=$("$PROBITY" mail ingest "$WS" --custodian alice --as ann --json "$M" 2>&1)
echo "$out" | grep -q '"exceptions": *3' && ok || fail "ingest did not count 3 exceptions: $out"
exc=$("$PROBITY" mail exceptions "$WS" 2>&1)
for f in "cur/2:2,S" "new/3" "cur/4:2,S"; do
	echo "$exc" | grep -qF "$f" && ok || fail "no exception names '$f': $exc"
done
echo "$exc" | grep -q "symbolic link" && ok || fail "the exception does not say why: $exc"
n=$(sqlite3 "$WS/probity.db" "SELECT count(*) FROM mail_exception WHERE kind = 'symlink'" 2>&1)
[ "$n" = 3 ] && ok || fail "$n symlink exceptions stored, expected 3"
ids=$("$PROBITY" search --ids --as ann -- "$WS" 1 "shadowsecretword" 2>&1 | grep -v 'is unsigned: its actors')
[ -z "$ids" ] && ok || fail "the outside file is searchable: $ids"
ids=$("$PROBITY" search --ids --as ann -- "$WS" 1 "harmlessword" 2>&1)
[ -n "$ids" ] && ok || fail "the real message is not searchable"
"$PROBITY" search --as ann "$WS" 1 "*" --export "$TMP/out" >/dev/null 2>&1 ||
	"$PROBITY" search --as ann "$WS" 1 "harmlessword" --export "$TMP/out" >/dev/null 2>&1 ||
	fail "export failed"
if grep -rqF shadowsecretword "$TMP/out"; then fail "the outside file is exported"; else ok; fi
# the key is raw bytes (a newline among them would split a grep pattern):
# look for its first 32 bytes in every exported file, as bytes
python3 - "$WS/signing.key" "$TMP/out" <<'PY'
import os, sys
key = open(sys.argv[1], 'rb').read()[:32]
if len(key) != 32:
    sys.exit(2)
for d, _, files in os.walk(sys.argv[2]):
    for f in files:
        if key in open(os.path.join(d, f), 'rb').read():
            sys.exit(0)
sys.exit(1)
PY
case $? in 1) ok ;; 0) fail "the signing key is exported" ;; *) fail "cannot read the signing key" ;; esac
finish mail-symlink
