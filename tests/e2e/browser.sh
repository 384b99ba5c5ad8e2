# browser.sh - the headless-browser harness of the e2e scripts, sourced after
# lib.sh. Debian's chromium only (tools/deps.sh installs it; never a
# downloaded browser), a fresh profile per run, every flag keeping it off the
# network. Charts are named by their file name without .svg, in $TMP.
#
#   browser_require NAME        fail and end script NAME when there is no chromium
#   browser_npm NAME            NODE_PATH for puppeteer-core and axe-core (tools/npm-deps.sh
#                               --web), or fail and end script NAME
#   browser_node SCRIPT MIN     run the puppeteer-core driver tests/e2e/SCRIPT (node,
#                               NODE_PATH set, 300 s at most) with screenshots into
#                               $PB_BUILD/web-screens (SHOTS), count its "ok"/"FAIL"
#                               lines, check it ended cleanly with at least MIN checks
#   chrome ARGS...              one headless run: --dump-dom URL, --screenshot=F URL...
#   chart_parses NAME           check that NAME.svg parses as XML in the browser
#   chart_measure NAME          inline NAME.svg in a page (NAME.html) whose script
#                               measures what the browser laid out
#                               (tests/e2e/chart_check.js); its report into NAME.check
#   chart_screenshot NAME [red] screenshot NAME.svg at A4 width (760x360) into NAME.png
#                               and check it is not blank: blue areas or lines (and
#                               red change marks with "red"; tests/e2e/png_check.py)
#
# chrome is the one place a browser is started. Tests that must drive a page
# (click, type, wait for the network) would add a node script beside this one
# using puppeteer-core from npm with executablePath "$CHROMIUM" (installed
# the way tools/npm-deps.sh installs DuckDB), and keep these flags.
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

browser_require() { # name
	[ -n "$CHROMIUM" ] && return 0
	fail "chromium is not installed (tools/deps.sh installs the Debian package)"
	finish "$1"
	exit 0
}

browser_npm() { # name
	if ! NODE_PATH=$("$ROOT/tools/npm-deps.sh" --web 2>"$TMP/npm.err"); then
		fail "cannot install puppeteer-core: $(tail -3 "$TMP/npm.err")"
		finish "$1"
		exit 0
	fi
	export NODE_PATH
}

browser_node() { # script min
	SHOTS=$PB_BUILD/web-screens
	mkdir -p "$SHOTS"
	export SHOTS
	timeout 300 node "$E2E_DIR/$1" >browser.out 2>browser.err
	while IFS= read -r line; do
		case $line in
		ok\ *) ok ;;
		FAIL\ *) fail "${line#FAIL }" ;;
		esac
	done <browser.out
	check "the browser run ended cleanly: $(tail -3 browser.err)" test -s browser.out -a ! -s browser.err
	check "the browser checks ran" test "$(grep -c '^ok' browser.out)" -ge "$2"
}

chrome() {
	local profile
	profile=$(mktemp -d "$TMP/chromium.XXXXXX")
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" "$@" 2>"$profile.err"
}

chart_measure() { # name
	local html=$TMP/$1.html
	{
		echo '<!DOCTYPE html><html><head><meta charset="utf-8"><title>chart check</title></head><body>'
		sed '1{/^<?xml/d}' "$TMP/$1.svg"
		echo '<pre id="result"></pre>'
		echo '<script>'
		cat "$E2E_DIR/chart_check.js"
		echo '</script></body></html>'
	} >"$html"
	chrome --dump-dom "file://$html" >"$TMP/$1.check"
}

chart_parses() { # name
	chrome --dump-dom "file://$TMP/$1.svg" >"$TMP/$1.dom"
	check "$1.svg: chromium dumped its DOM" grep -q '<svg' "$TMP/$1.dom"
	check "$1.svg: no XML parse error" bash -c "! grep -q parsererror '$TMP/$1.dom'"
}

chart_screenshot() { # name [red]
	local res
	chrome --screenshot="$TMP/$1.png" --window-size=760,360 "file://$TMP/$1.svg" >/dev/null
	check "$1.png written" test -s "$TMP/$1.png"
	res=$(python3 "$E2E_DIR/png_check.py" "$TMP/$1.png" 760 360 ${2:-} 2>&1)
	if [ "$res" = ok ]; then ok; else fail "$1.png: $res"; fi
}
