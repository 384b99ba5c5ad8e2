#!/bin/sh
# npm-deps.sh [DIR] - install the npm packages the tests use into DIR
# (default build/npm), once: later runs find them and do nothing. Prints the
# folder holding libduckdb.so.
#
# DuckDB is not in Debian; its npm package @duckdb/node-bindings-linux-x64
# ships libduckdb.so (no header, no node code needed to use it from C). The
# version is pinned so that every machine runs the same engine. npm itself is
# Debian's (installed here when missing, like tools/deps.sh does the rest);
# nothing is fetched but from Debian's archive and the npm registry.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/build/npm}
DUCKDB=@duckdb/node-bindings-linux-x64
DUCKDB_VERSION=1.5.6-r.1
PKG=$DIR/node_modules/$DUCKDB

have() { # the pinned version is installed
	[ -f "$PKG/libduckdb.so" ] &&
		grep -q "\"version\": *\"$DUCKDB_VERSION\"" "$PKG/package.json" 2>/dev/null
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
		echo "npm-deps: npm install $DUCKDB@$DUCKDB_VERSION into $DIR" >&2
		npm install --prefix "$DIR" --no-save --no-audit --no-fund --loglevel=error \
			"$DUCKDB@$DUCKDB_VERSION" >&2
		have || { echo "npm-deps: $DUCKDB@$DUCKDB_VERSION installed no libduckdb.so" >&2; exit 1; }
	fi
fi
echo "$PKG"
