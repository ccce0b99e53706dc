#!/usr/bin/env bash
# Installs the locked dependencies when node_modules is missing or older than the lock
# file, so `npm start` and `npm test` work on a fresh clone. The Node 22 runtime itself
# is one of those dependencies (the "node" package); see STACK.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install: npm ci (first run, or the lock file changed)"
  npm ci --no-audit --no-fund --loglevel=error
fi
