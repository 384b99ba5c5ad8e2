#!/bin/bash
# install.sh - make install and make uninstall into a DESTDIR: the binary
# finds its data beside it (../share/probity/data) and runs, the docs and the
# nginx module (when built) land where docs/gateways.md says, and uninstall
# leaves nothing behind. Installs the build under test (INSTALL_FROM), so no
# release build is made here.
. "$(dirname "$0")/../lib.sh"
SCRIPT_NAME=install
D=$TMP/root
P=/opt/probity-test
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -C "$ROOT" \
	INSTALL_FROM="$PB_BUILD" PREFIX=$P DESTDIR="$D" "$@"; }
mk install >"$TMP/install.out" 2>&1
check "make install succeeds ($(tail -1 "$TMP/install.out"))" test $? = 0
check "the binary in PREFIX/bin" test -x "$D$P/bin/probity"
check "the catalog in PREFIX/share/probity/data" test -f "$D$P/share/probity/data/catalog/regions.csv" -o -d "$D$P/share/probity/data/catalog"
check "the docs in PREFIX/share/doc/probity" test -f "$D$P/share/doc/probity/gateways.md" -a -f "$D$P/share/doc/probity/README.md"
# the installed binary finds its own data (no PROBITY_DATA): it loads the
# catalog before it looks at the file
out=$(env -u PROBITY_DATA "$D$P/bin/probity" entitlements check "$TMP/none.etab" 2>&1)
check "the installed binary runs and finds its catalog ($out)" grep -q "cannot open '$TMP/none.etab'" <<<"$out"
check "--help of a subcommand" bash -c "'$D$P/bin/probity' entitlements compile --help | grep -q 'usage: probity entitlements compile'"
if [ -f "$PB_BUILD/nginx/ngx_http_probity_module.so" ]; then
	check "the nginx module in PREFIX/lib/nginx/modules" test -f "$D$P/lib/nginx/modules/ngx_http_probity_module.so"
	check "... not executable data (0644)" test "$(stat -c %a "$D$P/lib/nginx/modules/ngx_http_probity_module.so")" = 644
else
	ok; ok
fi
mk uninstall >"$TMP/uninstall.out" 2>&1
check "make uninstall succeeds" test $? = 0
left=$(find "$D" -type f | head -5)
check "uninstall leaves no file (${left:-none})" test -z "$left"
check "... nor the folders it made" test ! -e "$D$P/share/probity" -a ! -e "$D$P/lib/nginx"
finish install
