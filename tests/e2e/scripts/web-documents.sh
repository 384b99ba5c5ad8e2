#!/bin/bash
# web-documents.sh - a case's documents through probity web with curl:
# uploads over the 64 KiB body limit are read to a file (up to 32 MiB, else
# 413), only from a signed-in analyst with the form's token; 4 uploads at
# once each land whole under their own hash (the store's temporary name is
# per call); downloads give the same bytes as attachments; each upload is a
# case.document entry of its uploader. 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-documents
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../web_lib.sh"
cd "$TMP" || exit 1
"$PROBITY" init --unsigned ws >/dev/null
"$PROBITY" customer add ws acme --account A1 >/dev/null
"$PROBITY" user add ws alice --role analyst >/dev/null
"$PROBITY" user add ws aud --role auditor >/dev/null
"$PROBITY" case open ws --as alice --customer acme --title t --trigger x >/dev/null
PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done
check "alice signs in" test "$(web_signin ws "$B" alice jar)" = 200
check "the auditor signs in" test "$(web_signin ws "$B" aud jaru)" = 200
tok() { curl -s -b "$1" "$B/cases/1" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//;s/"//'; }
CS=$(tok jar)
up() { # jar csrf file -> status
	curl -s -b "$1" -H "Origin: $B" -F "csrf=$2" -F "file=@$3" -o /dev/null -w '%{http_code}' "$B/cases/1/documents"
}
for k in 1 2 3 4; do head -c $((1000000 + k)) /dev/urandom >"doc$k.bin"; done
pids=()
for k in 1 2 3 4; do up jar "$CS" "doc$k.bin" >"code.$k" & pids+=($!); done
for p in "${pids[@]}"; do timeout 60 tail --pid="$p" -f /dev/null; done
check "4 uploads at once each answered 303 ($(cat code.* | tr '\n' ' '))" test "$(cat code.1 code.2 code.3 code.4)" = 303303303303
for k in 1 2 3 4; do
	h=$(sha256sum "doc$k.bin" | cut -d' ' -f1)
	code=$(curl -s -b jar -D "dl$k.h" -o "dl$k.bin" -w '%{http_code}' "$B/cases/1/documents/$h")
	check "upload $k downloads by its hash, whole ($code)" cmp -s "doc$k.bin" "dl$k.bin"
done
check "as an attachment" grep -qi "^content-disposition: attachment; filename=\"doc1.bin\"" dl1.h
check "of type application/octet-stream" grep -qi '^content-type: application/octet-stream' dl1.h
check "the auditor downloads too" test "$(curl -s -b jaru -o /dev/null -w '%{http_code}' "$B/cases/1/documents/$h")" = 200
head -c $((33 << 20)) /dev/zero >huge.bin
check "over 32 MiB is 413" test "$(up jar "$CS" huge.bin)" = 413
check "a wrong token is 403" test "$(up jar "$(printf '0%.0s' $(seq 64))" doc1.bin)" = 403
check "the auditor may not upload (large: 413)" test "$(up jaru "$(tok jaru)" doc1.bin)" = 413
printf small >small.txt
check "the auditor may not upload (small: 403)" test "$(up jaru "$(tok jaru)" small.txt)" = 403
check "no upload without a session" test "$(up /dev/null "$CS" doc1.bin)" = 413
check "a small upload from alice is 303" test "$(up jar "$CS" small.txt)" = 303
code=$(curl -s -b jar -H "Origin: $B" -H 'Content-Type: multipart/form-data; boundary=xyz' \
	--data-binary $'--xyz\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'"$CS"$'\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nno end' \
	-o /dev/null -w '%{http_code}' "$B/cases/1/documents")
check "a body without its closing delimiter is 400 ($code)" test "$code" = 400
n=$("$PROBITY" log show ws | grep -c 'alice *case.document')
check "each upload is a case.document entry of alice ($n)" test "$n" = 5
check "no temporary file left in documents/" test -z "$(ls -A ws/documents | grep -v '^[0-9a-f]\{64\}$')"
finish web-documents
