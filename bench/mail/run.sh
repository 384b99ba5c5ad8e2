#!/bin/bash
# bench/mail/run.sh - indexing speed and query latency of probity's mail
# search against Debian's notmuch, on the same generated archive.
#
# usage: bench/mail/run.sh [MESSAGES]        (default 100000)
#   RUNS=5    indexing runs per engine after one warm-up (alternating)
#   QREPS=20  timed runs of each of the 25 queries per engine (alternating)
#
# The archive is tools/mailgen.py's maildir (fixed seed), cached under
# bench/work/. notmuch (and GNU time) are installed here if missing, never by
# 'make deps'. Prints "name: probity X unit, peer Y unit, ratio R" lines and
# writes bench/results/mail-MESSAGES.json.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-100000}
RUNS=${RUNS:-5}
QREPS=${QREPS:-20}
cd "$ROOT"

need=""
command -v notmuch >/dev/null || need="$need notmuch"
[ -x /usr/bin/time ] || need="$need time"
command -v python3 >/dev/null || need="$need python3"
if [ -n "$need" ]; then
	echo "bench: installing$need"
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get install -y -qq --no-install-recommends $need
fi
make --no-print-directory VARIANT=release all >/dev/null

WORK=$ROOT/bench/work/mail-$N
CORPUS=$WORK/maildir
if [ ! -f "$WORK/.generated" ]; then
	rm -rf "$WORK"
	mkdir -p "$WORK"
	python3 tools/mailgen.py "$CORPUS" --messages "$N"
	touch "$WORK/.generated"
fi
echo "bench: $N messages, $(du -sh "$CORPUS" | cut -f1) on disk; $(nproc) cores; $(notmuch --version)"
python3 bench/mail/bench.py "$ROOT" "$ROOT/build/release/probity" "$CORPUS" "$WORK" "$N" \
	"$RUNS" "$QREPS"
