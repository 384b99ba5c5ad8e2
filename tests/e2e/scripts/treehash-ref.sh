#!/bin/bash
# treehash-ref.sh - the tree hash (docs/ingest.md, "The tree hash") against
# the reference implementation printed in that document (this script runs
# that very block): probity tree and probity ingest, at 1, 2 and 3 threads and
# several chunk sizes, on an empty file, one byte, exactly one chunk, one
# chunk and one byte, and many chunks; plain and gzip. Then line proofs:
# evidence prove, and evidence check on a good bundle and on a changed byte,
# a wrong root, a truncated proof, a range outside its chunks and a missing
# chunk, each refused with its reason.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=treehash-ref
REF=$TMP/ref.py
awk '/^## The tree hash/ { t = 1 } t && /^```python/ { p = 1; next } p && /^```/ { exit } p' \
	"$ROOT/docs/ingest.md" > "$REF"
check "the reference implementation is in docs/ingest.md" grep -q 'def mth' "$REF"
ref() { python3 "$REF" "$1" "$2"; }
tree() { "$PROBITY" tree --chunk "$1" "$2" | head -1 | cut -d' ' -f1; }

cd "$TMP" || exit 1
: > empty
printf 'a' > one
head -c 64 /dev/urandom > c64
head -c 65 /dev/urandom > c65
head -c 10000 /dev/urandom > many
head -c 1048576 /dev/urandom > m1
head -c 1048577 /dev/urandom > m1p
for f in empty one c64 c65 many; do
	check "probity tree = reference, chunk 64, $f" test "$(tree 64 $f)" = "$(ref 64 $f)"
done
for f in empty one m1 m1p; do
	check "probity tree = reference, default chunk, $f" test "$("$PROBITY" tree $f | cut -d' ' -f1)" = "$(ref 1048576 $f)"
done

# ingest: the parsing threads' tree equals the reference, whatever the threads
CSV=$DATA/focus/samples/focus-1.0-sample-1000.csv
SIZE=$(wc -c < "$CSV")
n=0
for chunk in 64 1000 $SIZE $((SIZE - 1)) 1048576; do
	want=$(ref $chunk "$CSV")
	for j in 1 2 3; do
		n=$((n + 1))
		"$PROBITY" init --unsigned ws$n >/dev/null
		got=$("$PROBITY" ingest --json -j $j --chunk-size 65536 --max-record 4096 --tree-chunk $chunk ws$n "$CSV" |
			python3 -c 'import json,sys; r=json.load(sys.stdin); r=r[0] if isinstance(r,list) else r; print(r["tree"], r["data_tree"])')
		check "ingest tree = reference (chunk $chunk, $j threads)" test "$got" = "$want $want"
	done
done
check "the key is the root" test "$(sqlite3 ws$n/probity.db 'SELECT sha256 FROM source')" = "${want##*:}"
gzip -c "$CSV" > s.csv.gz
"$PROBITY" init --unsigned wsz >/dev/null
"$PROBITY" ingest -q --tree-chunk 4096 wsz s.csv.gz
check "gzip: tree over the compressed bytes" test "$(sqlite3 wsz/probity.db 'SELECT tree FROM source')" = "$(ref 4096 s.csv.gz)"
check "gzip: data_tree over the decompressed bytes" test "$(sqlite3 wsz/probity.db 'SELECT data_tree FROM source')" = "$(ref 4096 "$CSV")"
check "gzip: the same bytes again are already there" sh -c "'$PROBITY' ingest wsz s.csv.gz | grep -q 'already ingested'"
"$PROBITY" sources --sha256 wsz > sha.out
check "sources --sha256 prints sha256sum's hash" grep -q "$(sha256sum < s.csv.gz | cut -d' ' -f1)" sha.out
check "and stores it" test "$(sqlite3 wsz/probity.db 'SELECT file_sha256 FROM source')" = "$(sha256sum < s.csv.gz | cut -d' ' -f1)"
check "probity tree shows both trees of a gzip file" test "$("$PROBITY" tree --chunk 4096 s.csv.gz | wc -l)" = 2

# line proofs
U=$DATA/policy/usage.csv
gzip -c "$U" > usage.csv.gz
"$PROBITY" init --unsigned wp >/dev/null
"$PROBITY" ingest -q --tree-chunk 1024 wp usage.csv.gz
"$PROBITY" customer add wp Alpha --account A1 >/dev/null
"$PROBITY" scan wp "$DATA/policy/diff/02-sum-storage-tb.yaml" --at 2026-03-01 >/dev/null
check "evidence prove writes a bundle" "$PROBITY" evidence prove wp F1 --output proof
ROOTID=$(sqlite3 wp/probity.db 'SELECT data_tree FROM source')
check "evidence prove refuses an existing folder" sh -c "! '$PROBITY' evidence prove wp F1 --output proof 2>/dev/null"
check "evidence check: a good bundle verifies" sh -c "'$PROBITY' evidence check proof --source-root $ROOTID | tail -1 | grep -q '^verified against'"
check "the bundle holds few chunks" test "$(ls proof/*.bin | wc -l)" -lt "$(sqlite3 wp/probity.db 'SELECT length(data_leaves) / 32 FROM source')"
# the proven bytes are the cited lines of the file
python3 - "$U" proof/manifest.json > lines.check <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
m = json.load(open(sys.argv[2]))
lines = data.split(b"\n")
ok = True
for s in m["sources"]:
    for r in s["ranges"]:
        a, b = map(int, r["lines"].split("-"))
        want = b"\n".join(lines[a - 1:b]) + b"\n"
        ok &= data[r["start"]:r["end"]] == want
print("same" if ok else "differ")
PY
check "the ranges' offsets are those of the cited lines" grep -qx same lines.check
expect_fail() { # description, message, then the bundle folder and root
	local d=$1 msg=$2 out
	out=$("$PROBITY" evidence check "$3" --source-root "$4" 2>&1)
	if [ $? -ne 0 ] && printf '%s' "$out" | grep -q -- "$msg"; then ok; else fail "$d: $out"; fi
}
bad() { rm -rf "$1"; cp -r proof "$1"; }
first=$(ls proof/*.bin | head -1)
bad b1 && printf 'X' | dd of=b1/$(basename "$first") bs=1 seek=10 conv=notrunc 2>/dev/null
expect_fail "a changed byte" "is not in the tree with this root" b1 "$ROOTID"
expect_fail "a wrong root" "proves nothing against" proof "mth-sha256:1024:$(printf '%064d' 0)"
expect_fail "a root that is no tree hash" "is not a tree hash root" proof "sha256:abc"
bad b3 && python3 - b3/manifest.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["sources"][0]["chunks"][0]["proof"].pop()
json.dump(m, open(sys.argv[1], "w"))
PY
expect_fail "a truncated proof" "inclusion proof is too short" b3 "$ROOTID"
bad b4 && python3 - b4/manifest.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); r = m["sources"][0]["ranges"][0]; r["end"] += 5000
json.dump(m, open(sys.argv[1], "w"))
PY
expect_fail "lines outside the chunks" "are outside the chunks of the bundle" b4 "$ROOTID"
bad b5 && rm "b5/$(basename "$first")"
expect_fail "a missing chunk" "is not in the bundle" b5 "$ROOTID"
bad b6 && python3 - b6/manifest.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); r = m["sources"][0]["ranges"][0]; r["start"] += 1
json.dump(m, open(sys.argv[1], "w"))
PY
expect_fail "a range that starts inside a line" "are not whole lines" b6 "$ROOTID"
bad b7 && python3 - b7/manifest.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["sources"][0]["chunks"][0]["file"] = "../../etc/passwd"
json.dump(m, open(sys.argv[1], "w"))
PY
expect_fail "a chunk file outside the folder" "has no valid index" b7 "$ROOTID"
# a source changed in a cited line is refused when proving
cp "$U" u.csv
"$PROBITY" init --unsigned wq >/dev/null
"$PROBITY" ingest -q --tree-chunk 1024 wq u.csv
"$PROBITY" customer add wq Alpha --account A1 >/dev/null
"$PROBITY" scan wq "$DATA/policy/diff/02-sum-storage-tb.yaml" --at 2026-03-01 >/dev/null
"$PROBITY" evidence prove wq F1 --output pq >/dev/null
at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sources"][0]["ranges"][0]["start"] + 3)' pq/manifest.json)
printf 'Z' | dd of=u.csv bs=1 seek="$at" conv=notrunc 2>/dev/null
out=$("$PROBITY" evidence prove wq F1 --output p2 2>&1)
if [ $? -ne 0 ] && printf '%s' "$out" | grep -q "has changed since it was ingested"; then ok; else fail "prove of a changed source: $out"; fi
finish treehash-ref
