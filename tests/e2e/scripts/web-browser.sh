#!/bin/bash
# web-browser.sh - probity web in a real browser (Debian's headless chromium,
# driven by puppeteer-core from npm: tests/e2e/web_check.js): enrolment, good
# and bad sign-in, a review (open a case, note, mail search and tag, mail
# export downloaded as tar and checked with sha256sum, close) with hostile input
# shown escaped, CSRF and Origin refusals, roles (an analyst kept from admin,
# an auditor who reads but cannot write), an admin revoking a pending
# invitation whose link then fails, a stolen cookie after sign-out,
# axe-core on every page, screenshots at 1280x800 and 390x844 under
# build/<variant>/web-screens/. Then the log: an export verifies offline and
# holds each action with its actor. 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-browser
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../browser.sh"
browser_require web-browser
browser_npm web-browser

cd "$TMP" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CUSTOMER="Varnia Interior Ministry"
"$PB_BUILD/tools/genfocus" demo --months 8 --end 2025-06 >usage.csv # 8: a finding for the scans page
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" ingest -q ws usage.csv
"$PROBITY" customer add ws "$CUSTOMER" --account EA-880412 >/dev/null
"$PROBITY" customer add ws "Lumen Media Group" --account EA-771203 >/dev/null
"$PROBITY" mail ingest ws --custodian nm "$DATA/mail/notmuch/default" >/dev/null 2>&1
"$PROBITY" user add ws alice --role analyst >/dev/null
"$PROBITY" user add ws aud --role auditor >/dev/null
PORT=$(free_port)
export BASE=http://127.0.0.1:$PORT
link() { "$PROBITY" user invite ws "$1" --url "$BASE" | tail -1; }
export LINK_ALICE LINK_AUD LINK_ROOT ROOT_NAME=$USER CUSTOMER CHROMIUM
LINK_ALICE=$(link alice); LINK_AUD=$(link aud); LINK_ROOT=$(link "$USER")
check "invite printed a link" grep -qE '^http://127.0.0.1:[0-9]+/enrol\?token=[0-9a-f]{64}$' <<<"$LINK_ALICE"

"$PROBITY" web ws --listen 127.0.0.1:$PORT >web.out 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$BASE/signin" && break; sleep 0.1; done

# without a browser: headers on every answer, and a POST from elsewhere
curl -s -D h.txt -o /dev/null "$BASE/signin"
check "security headers on the sign-in page" grep -qi "^content-security-policy: default-src 'none'" h.txt
check "Referrer-Policy on every answer" grep -qi '^referrer-policy: same-origin' h.txt
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: https://evil.example' --data 'name=alice&password=x' "$BASE/signin")
check "a POST from another origin is 403 ($code)" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/%ff%fe")
check "a path that is not UTF-8 answers ($code)" test "$code" = 303
code=$(printf 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' | timeout 5 curl -s -o /dev/null -w '%{http_code}' --data-binary @- -H 'Transfer-Encoding: chunked' "$BASE/signin")
check "chunked bodies are refused (501: $code)" test "$code" = 501

browser_node web_check.js 40

kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0

# the log: the actions, with their actors, in a verified export
"$PROBITY" log export ws export >/dev/null 2>export.err
VKEY=$(cat export/vkey 2>/dev/null)
check "the export verifies offline" "$PROBITY" log verify export --vkey "$VKEY"
mkdir -p web-export && tar -xf web-export.tar -C web-export 2>tar.err
WX=$(ls -d web-export/probity-log-* 2>/dev/null | head -1)
check "the export downloaded from the log page verifies offline ($(head -c 300 tar.err))" \
	"$PROBITY" log verify "${WX:-web-export}" --vkey "$VKEY"
# the case's mail export downloaded from the browser: every file as
# SHA256SUMS and manifest.csv say
mkdir -p mail-export && tar -xf web-mail-export.tar -C mail-export 2>mtar.err
MX=$(ls -d mail-export/probity-mail-case-* 2>/dev/null | head -1)
check "the mail export unpacks ($(head -c 300 mtar.err))" test -s "${MX:-mail-export}/SHA256SUMS"
check "its files match SHA256SUMS (sha256sum -c)" bash -c 'cd "$1" && sha256sum --quiet -c SHA256SUMS' _ "${MX:-mail-export}"
check "its natives and texts match manifest.csv" python3 -c '
import csv, hashlib, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "manifest.csv"), newline="", encoding="utf-8")))
assert rows, "no documents"
for r in rows:
    for f, h in (("native_file", "native_sha256"), ("text_file", "text_sha256")):
        assert hashlib.sha256(open(os.path.join(d, r[f]), "rb").read()).hexdigest() == r[h], r[f]
' "${MX:-mail-export}"
"$PROBITY" log show ws --json >log.json
check "the log's mail.export by alice names the downloaded manifest's hash" python3 -c '
import hashlib, json, os, sys
m = hashlib.sha256(open(os.path.join(sys.argv[2], "manifest.csv"), "rb").read()).hexdigest()
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def det(e):
    d = e.get("details")
    return json.loads(d) if isinstance(d, str) else (d or {})
sys.exit(0 if any(e.get("action") == "mail.export" and e.get("actor") == "alice" and
                  det(e).get("manifest_sha256") == m for e in entries) else 1)
' log.json "${MX:-mail-export}"
for want in 'user.enrol alice' 'web.signin-fail alice' 'web.signin alice' 'case.open alice' \
	'case.note alice' 'case.document alice' 'policy.scan alice' 'evidence.view alice' 'evidence.view aud' 'case.finding alice' 'mail.search alice' 'mail.view alice' 'mail.tag alice' 'mail.export alice' 'case.close alice' 'web.signout alice' 'web.forbidden alice' \
	'web.forbidden aud' "user.add $USER" "user.invite $USER" "user.invite-revoke $USER"; do
	check "the log holds '$want'" log_holds log.json "$want"
done
finish web-browser
