#!/usr/bin/env bash
# The servers the tests start: redis-server and redis-cli (Debian's redis-server,
# redis-tools). Installs only what is missing; needs apt-get (and sudo unless root).
# (Valkey, when it joins the matrix: valkey-server and valkey-tools from bookworm-backports.)
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

redis-server --version
