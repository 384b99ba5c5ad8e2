#!/bin/bash
# caselog-tamper.sh - an exported audit log under attack: every byte flip,
# truncation and deletion of every file, swapped entries, a replayed older
# checkpoint, a fork signed with the same key, and tampered workspace rows.
# The verifier must fail every time and name the object.
SCRIPT_NAME=caselog-tamper
. "$(dirname "$0")/../lib.sh"
cd "$TMP"
P=$PROBITY
WS=$TMP/ws
q() { "$P" "$@" >/dev/null 2>"$TMP/err"; }

"$P" init --unsigned --no-user "$WS" --name tamper >/dev/null
q user add "$WS" root --role admin
q user add "$WS" alice --role analyst --as root
q customer add "$WS" "Ministry X" --account BA-1 --as root
echo "user = alice" >> "$WS/probity.conf"
q case open "$WS" --customer "Ministry X" --title T --trigger X
for i in $(seq 1 12); do q case note "$WS" 1 "note $i"; done
"$P" log checkpoint "$WS" > kept.ckpt
for i in $(seq 13 30); do q case note "$WS" 1 "note $i"; done
"$P" log checkpoint "$WS" > latest.ckpt
q log export "$WS" out
VKEY=$(cat out/vkey)
verify() { "$P" log verify out --vkey "$VKEY" "$@" >"$TMP/stdout" 2>"$TMP/err"; }
check "clean export verifies" verify --since kept.ckpt

# every file: flip bytes at the start, middle and end; truncate; delete
for f in $(cd out && find checkpoint tile -type f | sort); do
	cp "out/$f" saved
	size=$(stat -c %s saved)
	for off in 0 $((size / 2)) $((size - 1)); do
		python3 - "out/$f" "$off" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read()); b[off] ^= 0x01; open(p, 'wb').write(b)
PY
		if verify; then fail "flip at $off of $f not detected"
		elif ! grep -qF "$f" err; then fail "flip at $off of $f: error does not name it: $(cat err)"
		else ok; fi
		cp saved "out/$f"
	done
	head -c $((size - 1)) saved > "out/$f"
	if verify; then fail "truncated $f not detected"; elif grep -qF "$f" err; then ok; else fail "truncated $f: $(cat err)"; fi
	rm "out/$f"
	if verify; then fail "deleted $f not detected"; elif grep -q "$f: missing" err; then ok; else fail "deleted $f: $(cat err)"; fi
	cp saved "out/$f"
done
check "restored export verifies again" verify

# swap two entries inside the bundle
bundle=$(cd out && ls tile/entries/000.p/*)
cp "out/$bundle" saved
python3 - "out/$bundle" <<'PY'
import sys
p = sys.argv[1]; b = open(p, 'rb').read(); es = []; i = 0
while i < len(b):
    n = b[i] << 8 | b[i + 1]; es.append(b[i:i + 2 + n]); i += 2 + n
es[3], es[4] = es[4], es[3]
open(p, 'wb').write(b''.join(es))
PY
if verify; then fail "swapped entries not detected"; elif grep -qF "$bundle" err; then ok; else fail "swap: $(cat err)"; fi
cp saved "out/$bundle"

# an older checkpoint replayed in place of the current one
cp out/checkpoint saved
cp kept.ckpt out/checkpoint
if verify; then fail "replayed old checkpoint not detected"; else ok; fi
if verify --since latest.ckpt; then fail "rollback past a kept checkpoint not detected"
elif grep -q "rolled back" err; then ok; else fail "rollback: $(cat err)"; fi
cp saved out/checkpoint

# a checkpoint that is not signed by the log's key
"$P" init --unsigned --no-user ws-other --name tamper >/dev/null
q user add ws-other root --role admin
"$P" log checkpoint ws-other --as root > other.ckpt
if "$P" log verify out --vkey "$(cd ws-other && "$P" log status . | sed -n 's/^vkey: *//p')" >/dev/null 2>err
then fail "foreign key accepted"; else ok; fi

# a fork: same key, same history up to the kept checkpoint, then different
cp -r "$WS" ws-fork
for i in 31 32; do q case note "$WS" 1 "honest $i"; q case note ws-fork 1 "forged $i"; done
"$P" log checkpoint "$WS" > honest.ckpt
"$P" log checkpoint ws-fork > forged.ckpt
q log export ws-fork out-fork
if "$P" log verify out-fork --vkey "$VKEY" --since kept.ckpt >/dev/null 2>err
then ok; else fail "fork: its own history should verify against the shared prefix: $(cat err)"; fi
if "$P" log verify out-fork --vkey "$VKEY" --since honest.ckpt >/dev/null 2>err
then fail "fork signed with the same key not detected"
elif grep -q "not consistent" err; then ok; else fail "fork: $(cat err)"; fi

# tampered rows inside the workspace: log check names them, export refuses
cp "$WS/probity.db" saved.db
sqlite3 "$WS/probity.db" "DROP TRIGGER audit_entry_append_only; UPDATE audit_entry SET data = replace(data, 'note 7', 'note 8') WHERE idx = 10"
if "$P" log check "$WS" >/dev/null 2>err; then fail "edited entry not found"
elif grep -q "audit_entry 10" err; then ok; else fail "edited entry: $(cat err)"; fi
if "$P" log export "$WS" out2 --as alice >/dev/null 2>err; then fail "export of an edited log succeeded"
elif grep -q "do not hash to the signed root" err; then ok; else fail "export: $(cat err)"; fi
cp saved.db "$WS/probity.db"
sqlite3 "$WS/probity.db" "DROP TRIGGER audit_entry_append_only; UPDATE audit_entry SET leaf_hash = zeroblob(32) WHERE idx = 2"
if "$P" log check "$WS" >/dev/null 2>err; then fail "stored hash flip not found"
elif grep -q "audit_entry 2: stored leaf hash" err; then ok; else fail "stored hash: $(cat err)"; fi
cp saved.db "$WS/probity.db"
sqlite3 "$WS/probity.db" "DROP TRIGGER audit_checkpoint_append_only; UPDATE audit_checkpoint SET note = replace(note, char(10) || '16' || char(10), char(10) || '15' || char(10)) WHERE size = 16"
if "$P" log check "$WS" >/dev/null 2>err; then fail "edited checkpoint not found"
elif grep -q "audit_checkpoint 16" err; then ok; else fail "edited checkpoint: $(cat err)"; fi
cp saved.db "$WS/probity.db"
check "restored workspace checks" "$P" log check "$WS"

finish caselog-tamper
