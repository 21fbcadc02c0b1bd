#!/usr/bin/env bash
# bench/kill_latency: how long an agent waits for the error once its chain's kill commits,
# idle and under load, in one run. test/e2e/kill_latency.test.mjs (a 10 s call through
# warden-mcp, the chain revoked from psql at a random moment, the SDK client's rejection timed
# against the kill's server clock) twice: with no other traffic, then with BENCH_KILL_LOAD
# (default 16) more agents calling echo back to back through the same gateway. Prints both
# lines, p99 under load / p99 idle of the time from the kill's commit (its server clock just
# before COMMIT) to the error, and the p99 from psql returning (the kill acknowledged to the
# operator) to the error. Issue 18's goal: p99 under load < 10 ms.
# Env: BENCH_KILL_TRIALS (default 40 per case), BENCH_KILL_LOAD, WARDEN_MCP, PGHOST/PGPORT/PGUSER
# of a superuser (scripts/pg env).
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$WARDEN_ROOT"
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
trials=${BENCH_KILL_TRIALS:-40}
load=${BENCH_KILL_LOAD:-16}
export WARDEN_MCP="${WARDEN_MCP:-$WARDEN_ROOT/build/warden-mcp}"
scripts/npm-deps >/dev/null

# Stdio upstreams run as nobody when we are root: run from a copy they can read.
e2e_dir="$(readable_by_children "$WARDEN_ROOT/test/e2e" e2e)"
if [ "$e2e_dir" != "$WARDEN_ROOT/test/e2e" ]; then
  mkdir -p "$e2e_dir-bin" && cp "$WARDEN_MCP" "$e2e_dir-bin/warden-mcp" && chmod -R a+rX "$e2e_dir-bin"
  export WARDEN_MCP="$e2e_dir-bin/warden-mcp"
fi
export WARDEN_ROOT WARDEN_E2E_DB=bench_kill_latency
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run() {  # LOAD REPORT
  say "bench/kill_latency: $trials kills with $1 agents of load"
  (cd "$e2e_dir" && WARDEN_KILL_TRIALS="$trials" WARDEN_KILL_LOAD="$1" WARDEN_KILL_REPORT="$2" \
    WARDEN_KILL_P99_MS=100000 node --test --test-reporter=dot --test-timeout=900000 kill_latency.test.mjs >"$work/out" 2>&1) ||
    { cat "$work/out" >&2; echo "bench/kill_latency: the run with $1 agents of load failed" >&2; exit 1; }
  cat "$2"
}
run 0 "$work/idle"
run "$load" "$work/load"
p99() { sed -n 's/.* p99 \([0-9.]*\) max.*/\1/p' "$1"; }
p99_return() { sed -n 's/.*psql return -> error: p50 [-0-9.]* p99 \([-0-9.]*\).*/\1/p' "$1"; }
p99_committed() { sed -n 's/.*committed -> error: p50 [-0-9.]* p99 \([-0-9.]*\).*/\1/p' "$1"; }
ratio() { node -e 'console.log((process.argv[1] / process.argv[2]).toFixed(2))' "$1" "$2"; }
echo "kill commit -> agent error p99: $(p99 "$work/load") ms under the load of $load agents, $(p99 "$work/idle") ms idle; ratio $(ratio "$(p99 "$work/load")" "$(p99 "$work/idle")")"
echo "kill committed (the server's clock after COMMIT returned) -> agent error p99: $(p99_committed "$work/load") ms under load, $(p99_committed "$work/idle") ms idle"
echo "kill acknowledged (psql returned) -> agent error p99: $(p99_return "$work/load") ms under load, $(p99_return "$work/idle") ms idle (goal: under 10 ms under load)"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS bench_kill_latency WITH (FORCE)" >/dev/null 2>&1 || true
