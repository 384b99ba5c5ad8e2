#!/bin/sh
# npm-deps.sh [--web] [DIR] - install the npm packages the tests use into DIR,
# once: later runs find them and do nothing.
#
#   (default)  DuckDB into build/npm; prints the folder holding libduckdb.so.
#              DuckDB is not in Debian; its npm package
#              @duckdb/node-bindings-linux-x64 ships libduckdb.so (no header,
#              no node code needed to use it from C).
#   --web      puppeteer-core and axe-core into build/npm-web, for the browser
#              tests of probity web; prints the node_modules folder (NODE_PATH).
#              puppeteer-core drives Debian's chromium (the -core package
#              downloads no browser); axe-core checks accessibility.
#
# Versions are pinned so that every machine runs the same code. npm itself is
# Debian's (installed here when missing, like tools/deps.sh does the rest);
# nothing is fetched but from Debian's archive and the npm registry.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --web ]; then
	shift
	DIR=${1:-$ROOT/build/npm-web}
	PKGS="puppeteer-core@25.19.0 axe-core@4.14.1"
	NEED=axe-core/axe.min.js
	OUT=$DIR/node_modules
else
	DIR=${1:-$ROOT/build/npm}
	PKGS="@duckdb/node-bindings-linux-x64@1.5.6-r.1"
	NEED=@duckdb/node-bindings-linux-x64/libduckdb.so
	OUT=$DIR/node_modules/@duckdb/node-bindings-linux-x64
fi

have() { # every pinned version is installed, and the file the tests need
	[ -f "$DIR/node_modules/$NEED" ] || return 1
	for p in $PKGS; do
		grep -q "\"version\": *\"${p##*@}\"" "$DIR/node_modules/${p%@*}/package.json" 2>/dev/null ||
			return 1
	done
}

mkdir -p "$DIR"
if ! have; then
	# one installer at a time (suites of two build variants may run at once)
	exec 9>"$DIR/.lock"
	flock 9
	if ! have; then
		if ! command -v npm >/dev/null; then
			echo "npm-deps: installing npm (Debian)" >&2
			SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
			$SUDO apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >&2
		fi
		echo "npm-deps: npm install $PKGS into $DIR" >&2
		# shellcheck disable=SC2086
		PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$DIR" --no-save --no-audit --no-fund \
			--loglevel=error $PKGS >&2
		have || { echo "npm-deps: $PKGS installed no $NEED" >&2; exit 1; }
	fi
fi
echo "$OUT"
