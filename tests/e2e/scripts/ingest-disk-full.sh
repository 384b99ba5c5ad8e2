#!/bin/bash
# ingest-disk-full.sh - a workspace on a full disk (a small tmpfs): the ingest
# fails with a clear "no space left" error and the workspace stays as it was
# and usable.
SCRIPT_NAME=ingest-disk-full
. "$(dirname "$0")/../lib.sh"
cd "$TMP"
mkdir -p mnt
# tmpfs needs root, or an unprivileged user namespace where we are root
if [ "$(id -u)" = 0 ]; then
	MOUNT="mount"; UMOUNT="umount"; WRAP=""
elif unshare -rm true 2>/dev/null; then
	WRAP="unshare -rm"
else
	fail "cannot mount a tmpfs here (not root, no user namespaces)"
	finish ingest-disk-full
	exit 0
fi
"$PB_BUILD/tools/genfocus" bench --size 4000000 --seed 5 > mid.csv 2>/dev/null
run_in_mount() { # everything that needs the mount runs in one shell
	cat > inner.sh <<INNER
set -u
mount -t tmpfs -o size=16m tmpfs "$TMP/mnt" || exit 9
"$PROBITY" init --unsigned "$TMP/mnt/ws" >/dev/null || exit 8
"$PROBITY" ingest "$TMP/mnt/ws" "$ROOT/tests/data/ingest/good-1.2.csv" >/dev/null || exit 7
# fill the disk, leaving a little room: whatever the schema's size, the next
# big ingest cannot fit
dd if=/dev/zero of="$TMP/mnt/filler" bs=64k 2>/dev/null
rm -f "$TMP/mnt/filler"
dd if=/dev/zero of="$TMP/mnt/filler" bs=64k count=\$(( \$(df --output=avail -k "$TMP/mnt" | tail -1) / 64 - 3 )) 2>/dev/null
sqlite3 "$TMP/mnt/ws/probity.db" .dump > "$TMP/before.txt"
"$PROBITY" ingest "$TMP/mnt/ws" mid.csv > "$TMP/out.txt" 2> "$TMP/err.txt"
echo \$? > "$TMP/rc.txt"
sqlite3 "$TMP/mnt/ws/probity.db" .dump > "$TMP/after.txt"
find "$TMP/mnt/ws/rejects" "$TMP/mnt/ws/sources" -type f > "$TMP/files.txt"
rm -f "$TMP/mnt/filler"  # room again: the workspace works as before
"$PROBITY" ingest "$TMP/mnt/ws" "$ROOT/tests/data/ingest/header-only.csv" > "$TMP/small.txt" 2>&1
echo \$? > "$TMP/rc2.txt"
umount "$TMP/mnt"
INNER
	$WRAP bash inner.sh
}
run_in_mount
rc=$?
check "mounted and prepared (rc $rc)" test "$rc" = 0
check "ingest failed" test "$(cat rc.txt)" = 1
check "says no space" grep -q "no space left on device" err.txt
check "database unchanged" cmp -s before.txt after.txt
check "no stray files" test ! -s files.txt
check "still usable" test "$(cat rc2.txt)" = 0
finish ingest-disk-full
