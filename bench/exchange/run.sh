#!/usr/bin/env bash
# bench/exchange: /token RFC 8693 token exchange p50 (delegation, delegation to a JWT access
# token, starting a chain from a person's token) next to a plain warden.delegate in SQL, all in
# one run (run.mjs says what each case is). Its own database, bench_exchange.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
scripts/npm-deps >/dev/null
export WARDEN_E2E_DB=bench_exchange WARDEN_ROOT="$root"
cd "$root/test/oauth"
node "$here/run.mjs"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS bench_exchange WITH (FORCE)" >/dev/null 2>&1 || true
