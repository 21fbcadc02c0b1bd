#!/usr/bin/env bash
# Installs the verifiers' npm dependencies (jose, paseto, libsodium-wrappers) from
# package-lock.json when node_modules is missing or stale. Quiet and idempotent.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "node is not installed (Node 20 is needed for test/verifiers)" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
   [ ! -d node_modules/jose ] || [ ! -d node_modules/paseto ] || [ ! -d node_modules/libsodium-wrappers ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
