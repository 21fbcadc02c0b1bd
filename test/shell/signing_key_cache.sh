#!/usr/bin/env bash
# warden.credential keeps the opened signing key between the vends of one backend
# (src/extension/signing_keys.hpp). A rotation must never be served from that cache: in one
# session, credentials vended before warden.rotate_keys() carry the old key, one vended after
# it names the new key and verifies with it (jose, against warden.public_keys()).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi

# Names carry the process id: several checkouts' test runs may share the cluster.
db=warden_shell_signing_key_cache_$$
failures=0
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
check() { # check DESCRIPTION ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" -c "$1"; }
# verify TOKEN: jose's verdict on a vended JWT for jwtsrv, against warden.public_keys().
verify() {
  jq -cn --argjson keys "$(q 'SELECT warden.public_keys()')" --arg token "$1" \
    '{keys: $keys, kind: "jwt", token: $token, audience: "jwtsrv"}' |
    (cd "$root/test/verifiers" && node verify.mjs)
}
token_of() { jq -r '.value | sub("^Bearer "; "")' <<<"$1"; }

test/verifiers/ensure.sh || { echo "FAIL: cannot install the npm verifiers" >&2; exit 1; }
createdb "$db"
q "CREATE EXTENSION warden" >/dev/null
q "SELECT warden.add_human('cache@example.com');
   SELECT warden.add_agent('cache-bot', 'cache@example.com');
   SELECT warden.add_server('jwtsrv', 'http://127.0.0.1:9/mcp', 'http', '{\"kind\": \"jwt\"}');
   SELECT warden.grant('cache-bot', 'jwtsrv/echo');" >/dev/null
token="$(q "SELECT token FROM warden.start_chain('cache@example.com', 'cache-bot', 'signing key cache')")"

# One psql session is one backend; each statement commits on its own, so every decision has
# committed before its credential is asked for.
mapfile -t lines < <(psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" <<SQL
SELECT pg_backend_pid();
SELECT event_id AS e FROM warden.authorize('$token', 'jwtsrv', 'echo') \gset
SELECT warden.credential(:'e')::text;
SELECT event_id AS e FROM warden.authorize('$token', 'jwtsrv', 'echo') \gset
SELECT warden.credential(:'e')::text;
SELECT 'rotated' FROM warden.rotate_keys();
SELECT event_id AS e FROM warden.authorize('$token', 'jwtsrv', 'echo') \gset
SELECT warden.credential(:'e')::text;
SELECT pg_backend_pid();
SQL
)
check "one backend vended every credential" "${lines[0]}" "${lines[5]}"
c1="${lines[1]}" c2="${lines[2]}" c3="${lines[4]}"
k1="$(jq -r .key_id <<<"$c1")"
current="$(q "SELECT key_id FROM warden.keys WHERE purpose = 'public' AND superseded_at IS NULL")"
check "the second vend uses the same signing key" "$(jq -r .key_id <<<"$c2")" "$k1"
check "after rotate_keys the vend names the new current key" "$(jq -r .key_id <<<"$c3")" "$current"
if [ "$current" != "$k1" ]; then pass "rotate_keys made a new signing key"; else fail "the signing key did not change"; fi
for pair in "first:$c1" "second (opened key reused):$c2" "after rotation:$c3"; do
  name="${pair%%:*}" cred="${pair#*:}"
  v="$(verify "$(token_of "$cred")")"
  check "the $name credential verifies with the key it names" \
    "$(jq -r '[.ok, .kid] | join(" ")' <<<"$v")" "true $(jq -r .key_id <<<"$cred")"
done
[ "$failures" -eq 0 ]
