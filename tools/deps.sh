#!/bin/sh
# deps.sh - install the Debian 12 packages probity needs to build and test.
# Installs only what is missing, so it is a no-op on a prepared machine.
# Benchmark-only tools (hyperfine, wrk, DuckDB) are installed by bench/ scripts.
set -eu

PACKAGES="
  gcc make pkg-config
  libsqlite3-dev libsodium-dev libssl-dev zlib1g-dev libzstd-dev libisal-dev
  libsnappy-dev liblz4-dev
  libjansson-dev libyaml-dev libfido2-dev libcbor-dev
  libcairo2-dev libpango1.0-dev fonts-dejavu-core poppler-utils
  libgmime-3.0-dev notmuch
  postgresql
  sqlite3 python3 python3-cryptography gzip zstd openssh-client
  nginx nginx-dev curl
  golang-go golang-golang-x-mod-dev
  chromium
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all $(echo $PACKAGES | wc -w) packages present"
	exit 0
fi

echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
