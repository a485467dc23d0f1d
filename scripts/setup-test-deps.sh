#!/usr/bin/env bash
# Installs the system packages the tests need (Debian): chromium for the browser tests and
# trace-cmd for the differential tests. Only what is missing; needs root (or sudo) for apt-get.
set -u
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v trace-cmd >/dev/null 2>&1 || need+=(trace-cmd)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
echo "setup: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || {
  echo "setup: could not install ${need[*]}; the tests that need them will fail" >&2
  exit 1
}
