#!/usr/bin/env bash
# warden-mcp secret put: the secret read from standard input is sealed on the client side,
# stored, and vended unchanged to warden_proxy; it never appears in the server log; bad input
# stores nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mcp="${WARDEN_MCP:-$root/build/warden-mcp}"
db="secret_put_$$"
proxy="secret_put_proxy_$$"
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; psql -X -q -d postgres -c "DROP ROLE IF EXISTS $proxy" >/dev/null 2>&1 || true; }
trap cleanup EXIT
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE EXTENSION warden;
CREATE ROLE $proxy LOGIN IN ROLE warden_proxy;
SELECT warden.add_human('sp@example.com'), warden.add_agent('sp-bot', 'sp@example.com'),
       warden.add_server('vaulted', 'https://v.example/mcp', 'http', '{"kind": "secret"}'),
       warden.grant('sp-bot', 'vaulted/*');
SQL
conn="host=$PGHOST port=$PGPORT dbname=$db user=$PGUSER"
secret="wdn-put-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fail=0
check() { if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got '$2', expected '$3'"; fail=1; fi; }

out="$(printf '%s\n' "$secret" | "$mcp" secret put --db "$conn" --server vaulted --header X-Api-Key --template 'Key {secret}')"
check "secret put reports the version" "$out" "stored secret version 1 for server vaulted"
check "the output never echoes the secret" "$(grep -c "$secret" <<<"$out" || true)" "0"
token="$(psql -X -tA -d "$db" -c "SELECT token FROM warden.start_chain('sp@example.com', 'sp-bot', 'put test')")"
call="$(psql -X -tA -d "$db" -U "$proxy" -c "SELECT event_id FROM warden.authorize('$token', 'vaulted', 'x')")"
vended="$(psql -X -tA -d "$db" -U "$proxy" -c "SELECT c->>'header', c->>'value' FROM warden.credential('$call') c")"
check "warden_proxy receives the rendered secret" "$vended" "X-Api-Key|Key $secret"

set +e
printf '' | "$mcp" secret put --db "$conn" --server vaulted >/dev/null 2>&1; rc_empty=$?
printf 'x\n' | "$mcp" secret put --db "$conn" --server nosuch >/dev/null 2>&1; rc_unknown=$?
printf 'x\n' | "$mcp" secret put --db "$conn" --server vaulted --template 'no placeholder' >/dev/null 2>&1; rc_template=$?
set -e
check "an empty secret is refused" "$rc_empty" "1"
check "an unknown server is refused" "$rc_unknown" "1"
check "a template without {secret} is refused" "$rc_template" "1"
check "nothing was stored by the refused calls" \
  "$(psql -X -tA -d "$db" -c "SELECT string_agg(version::text, ',') FROM warden.secrets_status()")" "1"
log="$(readlink -f "${WARDEN_HOME:-$root/.warden}/log/postgres.log")"
check "the server log does not contain the secret" "$(grep -c "$secret" "$log" || true)" "0"
[ "$fail" -eq 0 ] && echo "all checks passed"
exit "$fail"
