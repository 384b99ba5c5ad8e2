#!/bin/bash
# serve-log-rotate.sh - the decision log rotates past --log-max-mb into
# FILE.1 .. FILE.K (--log-keep K), never keeps more, and every line of every
# file stays whole, valid JSON. 127.0.0.1 only; bounded in time; the server
# is stopped by pid.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=serve-log-rotate
PBE=$PB_BUILD/tests/tools/pb-entitle
WS=$TMP/ws
L=$TMP/dl.jsonl
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --unsigned "$WS" >/dev/null
"$PBE" --log-as fixture "$WS" publish "$DATA/decide/demo-plan.json" >/dev/null
PORT=$(free_port)
"$PROBITY" serve "$WS" --listen 127.0.0.1:$PORT --workers 2 --decision-log "$L" --log-allows 1 \
	--log-max-mb 1 --log-keep 2 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# ~500 bytes a logged decision: 12,000 decisions are about 6 MB, enough for
# five rotations with a 1 MB limit. Two keep-alive clients at once, so both
# workers write; a few accounts are not UTF-8.
timeout 120 python3 - "$PORT" <<'PY'
import http.client, sys, threading
port = int(sys.argv[1])
errors = []
def client(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(6000):
        acct = "IMOD-7F3A" if i % 7 else "a%ff%fe" + str(i)
        c.request("GET", "/v1/decide?account=%s&service=Storage%%20Accounts&region=westeurope&subaccount=s%d-%d"
                  % (acct, k, i))
        r = c.getresponse()
        r.read()
        if r.status != 200:
            errors.append(r.status)
ts = [threading.Thread(target=client, args=(k,)) for k in range(2)]
for t in ts: t.start()
for t in ts: t.join()
sys.exit(1 if errors else 0)
PY
check "12,000 decisions answered" test $? = 0
kill -TERM $SPID; wait $SPID
check "server stopped cleanly" test $? = 0

check "the live log exists" test -f "$L"
check "rotated FILE.1 exists" test -f "$L.1"
check "rotated FILE.2 exists" test -f "$L.2"
check "no more than --log-keep rotated files" test ! -e "$L.3"
n=$(ls "$L"* | wc -l)
check "3 files in all (got $n)" test "$n" = 3
for f in "$L.1" "$L.2"; do
	sz=$(stat -c %s "$f")
	check "$(basename "$f") reached the limit ($sz bytes)" test "$sz" -ge 1048576
done
check "every line of every file is valid JSON" python3 - "$L" "$L.1" "$L.2" <<'PY'
import json, sys
for f in sys.argv[1:]:
    with open(f, "rb") as fh:
        data = fh.read()
    assert data.endswith(b"\n"), f + ": ends in a cut line"
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        d = json.loads(line)
        assert d["result"] in ("allow", "deny"), "%s:%d" % (f, n)
PY
finish serve-log-rotate
