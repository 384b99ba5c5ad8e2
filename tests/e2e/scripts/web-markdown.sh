#!/bin/bash
# web-markdown.sh - case notes shown as a small, safe Markdown on the case
# page of probity web (web/md.c): the subset rendered, and hostile Markdown
# (raw HTML, script and data links, attribute breaking, unclosed and deep
# markup, a long line of brackets) shown escaped, never as markup of its
# own. 127.0.0.1 only; stopped by pid.
SCRIPT_NAME=web-markdown
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../web_lib.sh"
cd "$TMP" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$PROBITY" init --unsigned ws >/dev/null
{
	"$PROBITY" user add ws alice --role analyst
	"$PROBITY" customer add ws "Acme" --account A-1 --as alice
	"$PROBITY" case open ws --as alice --customer Acme --title "Notes" --trigger "test"
	"$PROBITY" case note ws 1 --as alice "$(printf '%s\n' \
		'First *paragraph* with **strong** and `a <b> code`,' \
		'and a [good link](https://example.org/a?b=1&c=2).' '' \
		'- one' '- two **2**' '' '1. first' '2. second')"
	"$PROBITY" case note ws 1 --as alice "$(printf '%s\n' \
		'<script>alert(1)</script> <img src=x onerror=alert(2)>' \
		'[js](javascript:alert(3)) [data](data:text/html,<script>alert(4)</script>)' \
		'[quote](https://x.test/" onmouseover="alert(5)) [sq](https://x.test/'"'"'onclick=alert(6))' \
		'**<b>bold html</b>** **never closed `open' \
		'\*not em\* \[not a link](https://x.test/)' '[*nested [link](https://in.test/)*](https://out.test/)')"
	"$PROBITY" case note ws 1 --as alice "$(python3 -c 'print("[" * 60000 + "](" + "*" * 60000)')"
} >setup.log 2>&1
check "the case and its notes" grep -q 'log entry' setup.log
PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$PROBITY" web ws --listen 127.0.0.1:$PORT --quiet 2>web.err &
WPID=$!
trap 'kill $WPID 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "$B/signin" && break; sleep 0.1; done
code=$(web_signin ws "$B" alice jar)
check "signed in ($code)" test "$code" = 200
start=$(date +%s%N)
code=$(curl -s -b jar -o case.html -w '%{http_code}' "$B/cases/1")
ms=$((($(date +%s%N) - start) / 1000000))
check "the case page ($code)" test "$code" = 200
check "... in under 2 s with a 120 kB line of brackets and stars (${ms} ms)" test "$ms" -lt 2000
has() { grep -qF -- "$1" case.html; }
check "paragraph, emphasis, strong, code (escaped inside)" \
	has '<p>First <em>paragraph</em> with <strong>strong</strong> and <code>a &lt;b&gt; code</code>,'
check "an https link, its & escaped, no referrer" \
	has '<a rel="nofollow noopener noreferrer" href="https://example.org/a?b=1&amp;c=2">good link</a>'
check "a list" has '<ul><li>one</li><li>two <strong>2</strong></li></ul>'
check "an ordered list" has '<ol><li>first</li><li>second</li></ol>'
check "raw HTML is text" has '&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;'
check "a javascript: link stays text" has '[js](javascript:alert(3))'
check "a data: link stays text" has '[data](data:text/html,&lt;script&gt;alert(4)&lt;/script&gt;)'
check "a quote cannot leave the href" has '[quote](https://x.test/&quot; onmouseover=&quot;alert(5))'
check "nor an apostrophe" has 'href="https://x.test/&#39;onclick=alert(6">sq</a>)'
check "markup inside strong is text; unclosed markers stay text" \
	has '<strong>&lt;b&gt;bold html&lt;/b&gt;</strong> **never closed `open'
check "backslash escapes" has '*not em* [not a link](https://x.test/)'
check "no link inside a link (the first ']( ' closes it)" \
	has '<a rel="nofollow noopener noreferrer" href="https://in.test/">*nested [link</a>*](https://out.test/)'
# the only elements in the notes are the subset's
notes=$(python3 -c 'import sys; t = open(sys.argv[1]).read(); print(t.split("<h2>Notes</h2>")[1].split("<h2>")[0])' case.html)
tags=$(grep -o '<[a-z][a-z0-9]*' <<<"$notes" | sort -u | tr '\n' ' ')
check "only the subset's elements in the notes ($tags)" \
	test "$tags" = "<a <code <div <em <li <ol <p <strong <ul "
check "no event handler attribute anywhere" test -z "$(grep -oiE '<[^>]* on[a-z]+=' case.html)"
kill -TERM $WPID; wait $WPID
check "probity web stopped cleanly" test $? = 0
finish web-markdown
