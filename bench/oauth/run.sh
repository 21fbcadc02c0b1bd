#!/usr/bin/env bash
# bench/oauth: /authorize and /token (refresh) p50 next to a governed call, and a call with the
# OAuth access token next to one with a SQL-started task token (run.mjs says what each case is).
# Uses the oauth test suite's fixtures (oidc-provider, chromium); its own database, bench_oauth.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
scripts/npm-deps >/dev/null
export WARDEN_E2E_DB=bench_oauth WARDEN_ROOT="$root"
node "$here/run.mjs"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS bench_oauth WITH (FORCE)" >/dev/null 2>&1 || true
