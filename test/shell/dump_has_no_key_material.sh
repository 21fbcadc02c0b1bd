#!/usr/bin/env bash
# A plain pg_dump of a database using warden holds its data (humans, agents, grants, chains,
# tokens, events and the *sealed* keys, so a restore keeps tokens verifiable) but no key
# material: not the root key (hex or base64), no k4.local./k4.secret. PASERK, and no token
# string that was issued. The server log holds neither the root key nor any token.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi
# Statements are sent with tokens as literals (psql has no \bind in 15); keep the client's own
# statement text out of the log so that the log check is about what warden itself writes.
export PGOPTIONS="${PGOPTIONS:-} -c log_min_error_statement=panic"

db=warden_shell_dump
restored=warden_shell_dump_restored
work="$(mktemp -d)"
failures=0
cleanup() {
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  dropdb --if-exists "$restored" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$1" -c "$2"; }

dropdb --if-exists "$db" >/dev/null 2>&1
dropdb --if-exists "$restored" >/dev/null 2>&1
createdb "$db"
q "$db" 'CREATE EXTENSION warden'

# ---------------------------------------------------------------- the root key
key_file="$(psql -X -tA -d postgres -c 'SHOW warden.root_key_file')"
[ -n "$key_file" ] && [ -r "$key_file" ] || { echo "FAIL: root key file '$key_file' not readable" >&2; exit 1; }
root_hex="$(tr -d ' \t\r\n' <"$key_file" | tr 'A-F' 'a-f')"
[[ "$root_hex" =~ ^[0-9a-f]{64}$ ]] || { echo "FAIL: root key file does not hold 64 hex characters" >&2; exit 1; }
root_b64="$(printf '%s' "$root_hex" | xxd -r -p | base64 -w0 | tr -d '=')"
root_b64url="$(printf '%s' "$root_b64" | tr '+/' '-_')"

# ---------------------------------------------------------------- inventory, chains, rotation
q "$db" "SELECT warden.add_human('dump-alice@example.com', 'Alice');
         SELECT warden.add_agent('dump-root-agent', 'dump-alice@example.com');
         SELECT warden.add_agent('dump-sub-agent', 'dump-alice@example.com');
         SELECT warden.add_agent('dump-leaf-agent', 'dump-alice@example.com');
         INSERT INTO warden.grants (agent_id, server, tool, expires_at)
         SELECT agent_id, 'tickets', '*', now() + interval '1 day' FROM warden.agents
         WHERE name IN ('dump-root-agent', 'dump-sub-agent');" >/dev/null

tokens=()
t0="$(q "$db" "SELECT token FROM warden.start_chain('dump-alice@example.com', 'dump-root-agent',
                'dump test chain one', '1 hour', ARRAY['tickets/*'])")"
t1="$(q "$db" "SELECT token FROM warden.delegate('$t0', 'dump-sub-agent', ARRAY['tickets/read', 'tickets/write'])")"
t2="$(q "$db" "SELECT token FROM warden.delegate('$t1', 'dump-leaf-agent', ARRAY['tickets/read'], '10 minutes')")"
tokens+=("$t0" "$t1" "$t2")
q "$db" "SELECT warden.rotate_keys()" >/dev/null
n0="$(q "$db" "SELECT token FROM warden.start_chain('dump-alice@example.com', 'dump-sub-agent',
                'dump test chain two', '30 minutes')")"
n1="$(q "$db" "SELECT token FROM warden.delegate('$n0', 'dump-leaf-agent', ARRAY['tickets/read'])")"
n2="$(q "$db" "SELECT token FROM warden.delegate('$t0', 'dump-sub-agent', ARRAY['tickets/read'])")"
tokens+=("$n0" "$n1" "$n2")
q "$db" "SELECT warden.rotate_keys()" >/dev/null
for t in "${tokens[@]}"; do
  [[ "$t" == v4.local.* ]] || { echo "FAIL: could not issue tokens" >&2; exit 1; }
  [ "$(q "$db" "SELECT coalesce(reason, 'valid') FROM warden._verify_token('$t')")" = valid ] ||
    { echo "FAIL: an issued token does not verify before the dump" >&2; exit 1; }
done
# Refusals that carry tokens, so the log has warden errors about them.
q "$db" "SELECT warden.delegate('$t1', 'dump-leaf-agent', ARRAY['mail/send'])" >/dev/null 2>&1 || true
q "$db" "SELECT warden.delegate('${t1}x', 'dump-leaf-agent', ARRAY['tickets/read'])" >/dev/null 2>&1 || true
marker="warden-dump-test-marker-$$-$RANDOM"
q "$db" "DO \$\$ BEGIN RAISE WARNING '$marker'; END \$\$" >/dev/null 2>&1

# ---------------------------------------------------------------- the dump
pg_dump -d "$db" -f "$work/dump.sql"
dump="$work/dump.sql"

# The dump must hold warden's data, or the checks below prove nothing (and a backup would lose
# the inventory, the audit trail and the keys). Extension tables need pg_extension_config_dump.
for table in humans agents grants chains tokens events keys; do
  # events is partitioned: its rows are dumped per partition (warden.events_<day>, _default).
  if grep -Eq "^(COPY|INSERT INTO) warden\.$table(_[a-z0-9_]+)? " "$dump"; then
    pass "dump holds data of warden.$table"
  else
    fail "dump holds no data of warden.$table (extension tables are not registered with pg_extension_config_dump)"
  fi
done
if grep -q 'dump-root-agent' "$dump" && grep -q 'dump test chain one' "$dump" && grep -q 'token_delegated' "$dump"; then
  pass "dump holds the agents, chains and events created"
else
  fail "dump does not hold the agents, chains and events created"
fi
sealed_count=0
while read -r sealed; do
  [ -n "$sealed" ] || continue
  if grep -qF -e "$sealed" "$dump"; then sealed_count=$((sealed_count + 1)); fi
done < <(q "$db" "SELECT encode(sealed, 'hex') FROM warden.keys WHERE sealed IS NOT NULL")
if [ "$sealed_count" -ge 4 ]; then pass "dump holds the keys, sealed ($sealed_count)"; else fail "dump holds $sealed_count sealed keys, expected at least 4"; fi

# No key material.
if grep -qiF -e "$root_hex" "$dump"; then fail "dump contains the root key (hex)"; else pass "no root key hex in dump"; fi
if grep -qF -e "${root_b64:0:40}" -e "${root_b64url:0:40}" "$dump"; then fail "dump contains the root key (base64)"; else pass "no root key base64 in dump"; fi
if grep -qE 'k4\.(local|secret)\.' "$dump"; then fail "dump contains a k4.local. or k4.secret. PASERK"; else pass "no k4.local./k4.secret. in dump"; fi
leaked=0
for t in "${tokens[@]}"; do
  payload="$(cut -d. -f3 <<<"$t")"
  if grep -qF -e "$t" -e "${payload:0:43}" "$dump"; then leaked=$((leaked + 1)); fi
done
if [ "$leaked" -eq 0 ]; then pass "no issued token (${#tokens[@]}) in dump"; else fail "$leaked issued tokens found in dump"; fi

# A restore keeps the tokens verifiable (keys travel sealed, the root key stays outside).
createdb "$restored"
if psql -X -q -v ON_ERROR_STOP=1 -d "$restored" -f "$dump" >"$work/restore.log" 2>&1; then
  valid=0
  for t in "${tokens[@]}"; do
    r="$(q "$restored" "SELECT coalesce(reason, 'valid') FROM warden._verify_token('$t')" 2>&1 || true)"
    [ "$r" = valid ] && valid=$((valid + 1))
  done
  if [ "$valid" -eq "${#tokens[@]}" ]; then pass "all ${#tokens[@]} tokens verify after restore"; else fail "only $valid of ${#tokens[@]} tokens verify after restore (last: $r)"; fi
else
  fail "restoring the dump failed: $(tail -n 3 "$work/restore.log")"
fi

# ---------------------------------------------------------------- the server log
scripts/pg log >"$work/server.log"
if grep -qF "$marker" "$work/server.log"; then pass "server log is the one this session writes to"; else fail "marker not found in the server log; cannot check it"; fi
if grep -q 'parent token is not valid' "$work/server.log"; then pass "server log holds the token refusals"; else fail "token refusals are not in the server log"; fi
if grep -qiF -e "$root_hex" "$work/server.log" || grep -qF -e "${root_b64:0:40}" -e "${root_b64url:0:40}" "$work/server.log"; then
  fail "server log contains the root key"
else
  pass "no root key in server log"
fi
leaked=0
for t in "${tokens[@]}"; do
  payload="$(cut -d. -f3 <<<"$t")"
  if grep -qF -e "${payload:0:43}" "$work/server.log"; then leaked=$((leaked + 1)); fi
done
if [ "$leaked" -eq 0 ]; then pass "no issued token in server log"; else fail "$leaked issued tokens found in server log"; fi

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all checks passed"
