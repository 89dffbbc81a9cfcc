#!/usr/bin/env bash
# Debian packages the test suite runs as real parts: Prometheus (server and
# promtool), PostgreSQL (outbox relay), Chromium (dashboard page test).
# `system-deps.sh wrk` instead: the HTTP load generator of the gateway benchmark
# (deploy/bench.sh gateway), not needed by the tests.
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail

missing=()
if [ "${1:-}" = wrk ]; then
  command -v wrk >/dev/null || missing+=(wrk)
else
  command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v chromium >/dev/null || missing+=(chromium)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "error: missing Debian packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package scripts would try to start services; we start our own processes by PID.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
