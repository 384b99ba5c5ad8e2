#!/bin/sh
# npm-web-deps.sh [DIR] - install the npm packages the browser tests of
# probity web use into DIR (default build/npm-web), once: later runs find them
# and do nothing. Prints DIR/node_modules.
#
# puppeteer-core drives Debian's chromium (never a downloaded browser: the
# -core package has none); axe-core checks each page's accessibility. Both
# pinned, as tools/npm-deps.sh pins DuckDB, so every machine runs the same
# code; npm is Debian's, and nothing is fetched but from the npm registry.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/build/npm-web}
PKGS="puppeteer-core@25.19.0 axe-core@4.14.1"

have() { # every pinned version is installed
	for p in $PKGS; do
		grep -q "\"version\": *\"${p##*@}\"" "$DIR/node_modules/${p%@*}/package.json" 2>/dev/null ||
			return 1
	done
}

mkdir -p "$DIR"
if ! have; then
	exec 9>"$DIR/.lock"
	flock 9
	if ! have; then
		if ! command -v npm >/dev/null; then
			echo "npm-web-deps: installing npm (Debian)" >&2
			SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
			$SUDO apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >&2
		fi
		echo "npm-web-deps: npm install $PKGS into $DIR" >&2
		# shellcheck disable=SC2086
		PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$DIR" --no-save --no-audit --no-fund \
			--loglevel=error $PKGS >&2
		have || { echo "npm-web-deps: $PKGS did not install" >&2; exit 1; }
	fi
fi
echo "$DIR/node_modules"
