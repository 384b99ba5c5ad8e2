#!/bin/bash
# key-dir.sh - `probity init WS --key-dir DIR` keeps pseudonym.key and
# signing.key outside the workspace: made at init (0600, in a 0700 folder),
# none in WS, so a copy of WS holds no key; a command that needs a key and
# cannot reach the folder fails naming the path; PROBITY_KEY_DIR points a
# copy at the keys; a folder that already holds keys is refused.
SCRIPT_NAME=key-dir
. "$ROOT/tests/e2e/lib.sh"
export TZ=UTC
unset PROBITY_KEY_DIR
cd "$TMP" || exit 1
CSV=$DATA/focus/samples/focus-1.0-sample-1000.csv
head -n 400 "$CSV" >a.csv
{ head -n 1 "$CSV"; sed -n '401,800p' "$CSV"; } >b.csv
{ head -n 1 "$CSV"; sed -n '801,$p' "$CSV"; } >c.csv

(umask 022 && "$PROBITY" init --unsigned ws --key-dir keys >init.out 2>&1) || fail "init --key-dir: $(cat init.out)"
grep -q "keys in 'keys'" init.out && ok || fail "init does not say where the keys are"
for k in pseudonym.key signing.key; do
	[ "$(stat -c '%a %s' "keys/$k" 2>/dev/null)" = "600 32" ] && ok || fail "keys/$k not 0600, 32 bytes"
	[ -e "ws/$k" ] && fail "ws/$k exists" || ok
done
[ "$(stat -c %a keys)" = 700 ] && ok || fail "key folder is $(stat -c %a keys), not 700"
grep -qx "key_dir = $TMP/keys" ws/probity.conf && ok || fail "probity.conf does not record key_dir"

# with the keys: ingest, checkpoint, check
"$PROBITY" ingest -q ws a.csv >/dev/null 2>&1 && ok || fail "ingest with the key folder"
"$PROBITY" log checkpoint ws >/dev/null 2>&1 && ok || fail "checkpoint with the key folder"
"$PROBITY" log check ws >/dev/null 2>&1 && ok || fail "log check with the key folder"
[ -e ws/signing.key ] && fail "the checkpoint made a key in the workspace" || ok

# a copy of the workspace holds no key ...
cp -a ws copy
[ -z "$(find copy -name '*.key')" ] && ok || fail "the copy holds keys: $(find copy -name '*.key')"
# ... and without the key folder, what needs a key fails naming the path
mv keys keys.moved
out=$("$PROBITY" ingest ws b.csv 2>&1) && fail "ingest without the key folder succeeded" || ok
grep -qF "$TMP/keys/pseudonym.key" <<<"$out" && ok || fail "ingest error does not name the key: $out"
out=$("$PROBITY" log checkpoint ws 2>&1) && fail "checkpoint without the key folder succeeded" || ok
grep -qF "$TMP/keys/signing.key" <<<"$out" && ok || fail "checkpoint error does not name the key: $out"
[ -e keys ] && fail "a command recreated the key folder" || ok
# what needs no key still works: checking the log reads the public key the
# first checkpoint left in the workspace (signing.pub)
"$PROBITY" sources ws >/dev/null 2>&1 && ok || fail "sources needs no key"
[ "$(stat -c %a ws/signing.pub 2>/dev/null)" = 600 ] && ok || fail "no 0600 signing.pub after a checkpoint"
out=$("$PROBITY" log check ws 2>&1) && ok || fail "log check without the key folder: $out"
out=$("$PROBITY" log status ws 2>&1) && grep -q "$(cut -d+ -f1 ws/signing.pub)" <<<"$out" && ok ||
	fail "log status without the key folder does not show the key: $out"
# PROBITY_KEY_DIR overrides the setting
PROBITY_KEY_DIR=$TMP/keys.moved "$PROBITY" ingest -q copy b.csv >/dev/null 2>&1 && ok ||
	fail "ingest with PROBITY_KEY_DIR"
PROBITY_KEY_DIR=$TMP/keys.moved "$PROBITY" log checkpoint copy >/dev/null 2>&1 && ok ||
	fail "checkpoint with PROBITY_KEY_DIR"
PROBITY_KEY_DIR=$TMP/keys.moved "$PROBITY" log check copy >/dev/null 2>&1 && ok ||
	fail "log check with PROBITY_KEY_DIR"
# the same key: the copy pseudonymises as the original did
mv keys.moved keys
# a signing.pub that is not the signing key's is caught when the key is at hand
cp ws/signing.pub pub.saved
"$PROBITY" init --unsigned other >/dev/null 2>&1 && "$PROBITY" log checkpoint other >/dev/null 2>&1 || fail "init other"
cp other/signing.pub ws/signing.pub
out=$("$PROBITY" log check ws 2>&1) && fail "log check passed with a foreign signing.pub" || ok
grep -q "signing.pub" <<<"$out" && ok || fail "the error does not name signing.pub: $out"
cp pub.saved ws/signing.pub
"$PROBITY" ingest -q ws b.csv >/dev/null 2>&1 && ok || fail "ingest once the folder is back"
q="SELECT group_concat(name) FROM (SELECT DISTINCT name FROM account ORDER BY 1)"
a=$(sqlite3 ws/probity.db "$q")
b=$(sqlite3 copy/probity.db "$q")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || fail "pseudonyms differ between the workspace and its copy: $a / $b"

# a key folder that holds keys already is refused, and nothing is left behind
out=$("$PROBITY" init --unsigned ws3 --key-dir keys 2>&1) && fail "init into a used key folder succeeded" || ok
grep -q "already holds" <<<"$out" && ok || fail "no clear refusal: $out"
[ -e ws3 ] && fail "the refused init left ws3" || ok
# a key folder inside the workspace would be copied with it: refused
mkdir ws5
out=$("$PROBITY" init --unsigned ws5 --key-dir ws5/keys 2>&1) && fail "a key folder inside the workspace was taken" || ok
grep -q "is inside the workspace" <<<"$out" && ok || fail "no clear refusal: $out"
[ -z "$(ls -A ws5)" ] && ok || fail "the refused init left files in ws5: $(ls -A ws5)"
# init with no --key-dir keeps both keys in the workspace, made at once
"$PROBITY" init --unsigned ws4 >/dev/null 2>&1 && ok || fail "plain init"
[ "$(stat -c '%a %s' ws4/signing.key 2>/dev/null)" = "600 32" ] && ok || fail "plain init made no signing.key"
finish key-dir
