#!/usr/bin/env bash
# Finding 16 of the 0.1.0 review (superuser_tampering_needs_a_witness): a superuser can read
# the root key, delete a session's newest events and the seals table's rows, and
# warden.verify_audit still says ok. A witness outside the database closes that: seals are made
# every warden.seal_interval while events are written and announced; warden-mcp --witness FILE
# keeps each one (append-only, fsynced); warden-mcp verify-audit --witness FILE names every
# event changed or missing since a witnessed seal.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi
mcp="${WARDEN_MCP:-build/warden-mcp}"
[ -x "$mcp" ] || { echo "FAIL: $mcp is not built" >&2; exit 1; }

db=warden_shell_witness
proxy=warden_shell_witness_gw
work="$(mktemp -d)"
failures=0
gateway_pid=""
cleanup() {
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $proxy" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi; }
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" -c "$1"; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
wait_lines() {  # FILE N: until FILE has N lines (5 s at most)
  for _ in $(seq 50); do [ "$(lines "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $proxy" -c "CREATE ROLE $proxy LOGIN IN ROLE warden_proxy"
q "CREATE EXTENSION warden"
q "SELECT warden.add_human('w@example.com'); SELECT warden.add_agent('w-bot', 'w@example.com');
   SELECT warden.add_server('w', 'http://127.0.0.1:9/mcp'); SELECT warden.grant('w-bot', 'w/*')" >/dev/null
token="$(q "SELECT token FROM warden.start_chain('w@example.com', 'w-bot', 'witness test')")"

witness="$work/seals.jsonl"
"$mcp" serve --db "host=$PGHOST port=$PGPORT dbname=$db user=$proxy" --listen 127.0.0.1:0 \
  --witness "$witness" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/gateway.log" && break; sleep 0.1; done

check "the first seal is due once events were written" \
  "$(q "SELECT warden._seal_if_due() IS NOT NULL")" "t"
if wait_lines "$witness" 1; then pass "the witness kept the announced seal"; else fail "no seal reached the witness: $(cat "$work/gateway.log")"; fi
check "a second seal right away is not due (warden.seal_interval)" "$(q "SELECT warden._seal_if_due() IS NULL")" "t"
for i in 1 2 3; do q "SELECT warden.authorize('$token', 'w', 'call$i')" >/dev/null; done
# warden.seal_interval (default 10 s) is a server setting: wait it out.
interval="$(q "SELECT setting FROM pg_settings WHERE name = 'warden.seal_interval'")"
sleep "$((interval + 1))"
sealed="$(q "SELECT warden._seal_if_due() IS NOT NULL")"
check "new events make the next seal due" "$sealed" "t"
if wait_lines "$witness" 2; then pass "the witness kept the second seal"; else fail "the second seal did not reach the witness"; fi
check "the witness file is private (0600)" "$(stat -c %a "$witness")" "600"

out="$("$mcp" verify-audit --db "dbname=$db" --witness "$witness" 2>&1)" && rc=0 || rc=$?
check "verify-audit on an untouched database: exit 0" "$rc" "0"
if grep -q "^ok: " <<<"$out"; then pass "verify-audit says ok"; else fail "verify-audit: $out"; fi

# The superuser's tampering: the newest sealed call event and every stored seal go, with the
# append-only triggers switched off. The MAC chain of what is left is intact.
q "SET session_replication_role = replica;
   DELETE FROM warden.events WHERE (writer, seq) IN (
     SELECT writer, max(seq) FROM warden.events WHERE writer = (
       SELECT writer FROM warden.events WHERE kind = 'call' ORDER BY at DESC LIMIT 1) GROUP BY writer);
   DELETE FROM warden.seals;" >/dev/null
check "without the witness, verify_audit cannot tell (this is the gap)" "$(q "SELECT ok FROM warden.verify_audit()")" "t"
out="$("$mcp" verify-audit --db "dbname=$db" --witness "$witness" 2>&1)" && rc=0 || rc=$?
check "verify-audit with the witness: exit 1" "$rc" "1"
if grep -q "TAMPERED" <<<"$out" && grep -q '"truncated"' <<<"$out"; then
  pass "verify-audit names the missing event (truncated) against the witnessed seal"
else fail "verify-audit after tampering: $out"; fi

# A forged seal notice (any login may NOTIFY) adds nothing to the witness.
before="$(lines "$witness")"
q "SELECT pg_notify('warden_events', '{\"kind\": \"seal\", \"seal_id\": \"00000000-0000-0000-0000-000000000000\"}')" >/dev/null
sleep 0.5
check "a forged seal notice keeps nothing" "$(lines "$witness")" "$before"

[ "$failures" -eq 0 ]
