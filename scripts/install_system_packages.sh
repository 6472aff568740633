#!/usr/bin/env bash
# Debian packages the tests need: Chromium for the browser tests (never a browser
# download from a test tool). Installs only what is missing; needs root or sudo.
set -euo pipefail
needed=()
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
fc-list 2>/dev/null | grep -qi "dejavu" || needed+=(fonts-dejavu-core)
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "install_system_packages: need root (or sudo) to apt-get install ${needed[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${needed[@]}"
