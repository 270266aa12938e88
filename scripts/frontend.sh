#!/usr/bin/env bash
# Install (npm ci, from the lock file) and build the web app when Node is available.
# Without Node >= 20 the gateway still runs (API only) and the browser tier skips with the reason.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
if ! command -v node >/dev/null 2>&1 || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)'; then
  echo "Node >= 20 not found: the web app is not built (install Node 20 to get it)." >&2
  exit 0
fi
stamp=node_modules/.tutorplane-lock
if [ ! -f "$stamp" ] || [ "$(sha256sum package-lock.json | cut -d' ' -f1)" != "$(cat "$stamp")" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi
case "${1:-build}" in
  build) npm run --silent build >/dev/null ;;
  test) npm test --silent && npm run --silent check:api ;;
esac
