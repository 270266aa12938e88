#!/usr/bin/env bash
# System packages the test tiers use: redis-server (shared state across gateway replicas),
# chromium (browser tier, never downloaded by Playwright), libportaudio2 (agent console mode).
# Installs them with apt-get when running as root and they are missing; otherwise says what to install.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing+=(libportaudio2)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]} — install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})." >&2
  echo "Tests that need them skip with this reason." >&2
fi
