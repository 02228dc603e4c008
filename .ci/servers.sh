#!/usr/bin/env bash
# The servers the tests start: redis-server and redis-cli (Debian's redis-server,
# redis-tools), and a real Valkey (valkey-server, valkey-tools from bookworm-backports: the
# stable suite has none). Installs only what is missing; needs apt-get (and sudo unless root).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_install() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  $SUDO apt-get update -qq
  apt_install redis-server redis-tools
fi

if ! command -v valkey-server >/dev/null; then
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" |
      $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  $SUDO apt-get update -qq
  apt_install -t bookworm-backports valkey-server valkey-tools
fi

redis-server --version
valkey-server --version
