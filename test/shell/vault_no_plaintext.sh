#!/usr/bin/env bash
# With log_statement = 'all', a secret is stored (sealed on the client with libsodium's
# crypto_box_seal to warden.vault_public_key()) and used through warden.authorize as
# warden_proxy. Its plaintext (and its hex and base64 forms) must then appear nowhere in the
# server log, in pg_dump output, or in any table of the database (catalogs included). Control
# markers that the test puts into a table and into the log on purpose prove that each search
# would have found it.
#
# The plaintext never enters SQL text: it reaches the sealing helper on stdin, and the tables
# are searched by copying them out and grepping on this side.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi

# Names carry the process id: several checkouts' test runs may share the cluster.
db=warden_shell_vault_no_plaintext_$$
proxy=warden_shell_vault_np_proxy_$$
admin=warden_shell_vault_np_admin_$$
work="$(mktemp -d)"
failures=0
log_changed=0
cleanup() {
  if [ "$log_changed" -eq 1 ]; then
    psql -X -q -d postgres -c 'ALTER SYSTEM RESET log_statement' -c 'SELECT pg_reload_conf()' >/dev/null 2>&1 || true
  fi
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $proxy" -c "DROP ROLE IF EXISTS $admin" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" -c "$1"; }
qas() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" -U "$1" -c "$2"; }
setting() { psql -X -tA -d postgres -c "SELECT setting FROM pg_settings WHERE name = '$1'"; }
rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
# Every form of a string that a careless implementation might write: as is, hex, base64(url).
forms() {
  printf '%s\n' "$1"
  printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; echo
  printf '%s' "$1" | base64 -w0 | tr -d '='; echo
  printf '%s' "$1" | base64 -w0 | tr -d '=' | tr '+/' '-_'; echo
}
# found STRING FILE: does FILE hold STRING in any of its forms (hex case-insensitively; base64
# as the string encoded on its own)?
found() {
  local f
  while read -r f; do
    [ -n "$f" ] || continue
    if grep -qiF -e "$f" "$2"; then return 0; fi
  done < <(forms "$1")
  return 1
}

test/verifiers/ensure.sh || { echo "FAIL: cannot install the npm helpers (libsodium-wrappers)" >&2; exit 1; }

dropdb --if-exists "$db" >/dev/null 2>&1
psql -X -q -d postgres -c "DROP ROLE IF EXISTS $proxy" -c "DROP ROLE IF EXISTS $admin" >/dev/null 2>&1
createdb "$db"
q 'CREATE EXTENSION warden'
psql -X -q -v ON_ERROR_STOP=1 -d postgres \
  -c "CREATE ROLE $proxy LOGIN IN ROLE warden_proxy" -c "CREATE ROLE $admin LOGIN IN ROLE warden_admin"

# ---------------------------------------------------------------- log every statement
log_changed=1
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "ALTER SYSTEM SET log_statement = 'all'" -c 'SELECT pg_reload_conf()' >/dev/null
for _ in $(seq 1 50); do [ "$(setting log_statement)" = all ] && break; sleep 0.1; done
if [ "$(setting log_statement)" = all ]; then pass "log_statement = all"; else fail "log_statement is $(setting log_statement)"; fi

secret="wdn-plaintext-$(rand_hex 20)"
log_marker="wdn-logged-marker-$(rand_hex 12)"
table_marker="wdn-table-marker-$(rand_hex 12)"

qas "$admin" "SELECT warden.add_human('np-alice@example.com');
              SELECT warden.add_agent('np-bot', 'np-alice@example.com');
              SELECT warden.add_server('npsrv', 'https://np.internal/mcp', 'http', '{\"kind\": \"secret\", \"rotation_days\": 30}');
              SELECT warden.add_server('npstdio', 'np-upstream --stdio', 'stdio', '{\"kind\": \"secret\", \"env\": \"NP_KEY\"}');
              SELECT warden.grant('np-bot', 'npsrv/*');
              SELECT warden.grant('np-bot', 'npstdio/*');" >/dev/null
token="$(q "SELECT token FROM warden.start_chain('np-alice@example.com', 'np-bot', 'no plaintext test', '1 hour')")"

vault_pk="$(qas "$admin" "SELECT encode(warden.vault_public_key(), 'hex')")"
sealed="$(printf '%s' "$secret" | (cd "$root/test/verifiers" && node seal.mjs "$vault_pk"))"
[[ "$sealed" =~ ^[0-9a-f]{100,}$ ]] || { echo "FAIL: sealing failed" >&2; exit 1; }
# Refusals first (errors are logged with their statement), then the real thing, twice over
# (versions 1 and 2: the old version must leave no trace either).
qas "$admin" "SELECT warden.put_secret('npsrv', decode('$sealed', 'hex'), 'Bad Header')" >/dev/null 2>&1 || true
qas "$admin" "SELECT warden.put_secret('npsrv', decode('$sealed', 'hex'), template => 'no placeholder')" >/dev/null 2>&1 || true
qas "$admin" "SELECT warden.put_secret('nosuchsrv', decode('$sealed', 'hex'))" >/dev/null 2>&1 || true
v1="$(qas "$admin" "SELECT warden.put_secret('npsrv', decode('$sealed', 'hex'))")"
sealed_again="$(printf '%s' "$secret" | (cd "$root/test/verifiers" && node seal.mjs "$vault_pk"))"
v2="$(qas "$admin" "SELECT warden.put_secret('npsrv', decode('$sealed_again', 'hex'), 'X-Np-Key', 'Key {secret}')")"
qas "$admin" "SELECT warden.put_secret('npstdio', decode('$sealed', 'hex'), template => '{secret}')" >/dev/null
if [ "$v1 $v2" = "1 2" ]; then pass "secret stored as versions 1 and 2"; else fail "put_secret returned '$v1 $v2'"; fi

# Use it, as the proxy.
vend() {  # the credential of a committed decision, as warden-mcp asks for it
  local eid
  eid="$(qas "$proxy" "SELECT event_id FROM warden.authorize('$token', '$1', '$2', '${3:-{\}}')")"
  qas "$proxy" "SELECT c->>'value' FROM warden.credential('$eid') c"
}
value="$(vend npsrv read '{"q": 1}')"
if [ "$value" = "Key $secret" ]; then pass "the proxy receives the secret rendered through its template"; else fail "the proxy did not receive 'Key <secret>'"; fi
value="$(vend npstdio run)"
if [ "$value" = "$secret" ]; then pass "the proxy receives the stdio secret"; else fail "the proxy did not receive the stdio secret"; fi
for _ in 1 2 3; do vend npsrv read >/dev/null; done
qas "$admin" "SELECT * FROM warden.secrets_status()" >"$work/status.txt"
qas "$admin" "SELECT warden.maintenance()" >/dev/null
q "ANALYZE"   # statistics (pg_statistic) hold sampled column values

# Control data: the same marker in a text, a jsonb and a bytea column, and a logged statement.
q "CREATE SCHEMA np_control;
   CREATE TABLE np_control.t (t text, j jsonb, b bytea);
   INSERT INTO np_control.t VALUES ('x $table_marker x', jsonb_build_object('k', '$table_marker'), NULL),
                                    (NULL, NULL, convert_to('$table_marker', 'UTF8'));"
q "SELECT '$log_marker'" >/dev/null

# ---------------------------------------------------------------- every table
# Copies out every table (warden's, event partitions, the catalogs with pg_statistic, matviews),
# with bytea shown both as hex and as escape.
mapfile -t rels < <(q "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_toast') ORDER BY 1")
: >"$work/tables.txt"
copied=0
for rel in "${rels[@]}"; do
  for fmt in hex escape; do
    if PGOPTIONS="-c bytea_output=$fmt" psql -X -q -d "$db" -c "COPY (SELECT * FROM $rel) TO STDOUT" >>"$work/tables.txt" 2>"$work/copy.err"; then
      :
    else
      fail "cannot read $rel: $(head -n 1 "$work/copy.err")"
    fi
  done
  copied=$((copied + 1))
done
# (Not `printf | grep -q` : under pipefail, grep leaving early can fail printf with SIGPIPE.)
listed() { local rel; for rel in "${rels[@]}"; do [ "$rel" = "$1" ] && return 0; done; return 1; }
if [ "$copied" -gt 60 ] && listed 'warden.secrets' && listed 'pg_catalog.pg_statistic'; then
  pass "read every table ($copied, warden.secrets and the catalogs included)"
else
  fail "only $copied tables read"
fi
# The controls: found in text, in jsonb and (escape form) in bytea.
n="$(grep -cF -e "$table_marker" "$work/tables.txt" || true)"
if [ "$n" -ge 3 ]; then pass "control marker found in the text, jsonb and bytea columns ($n rows)"; else fail "control marker found in only $n rows: the table search does not work"; fi
if grep -qF "$(printf '%s' "$table_marker" | od -An -tx1 | tr -d ' \n')" "$work/tables.txt"; then pass "control marker found as hex bytea"; else fail "control marker not found as hex"; fi
if grep -qF "$(cut -c1-64 <<<"$sealed")" "$work/tables.txt"; then
  fail "the sealed box itself is stored somewhere (it should only be unsealed and rewrapped)"
else
  pass "the sealed box is not stored"
fi
if found "$secret" "$work/tables.txt"; then fail "the plaintext is in a table"; else pass "the plaintext is in no table (as text, hex or base64)"; fi
if grep -q '^npsrv|2|X-Np-Key|' "$work/status.txt" && ! found "$secret" "$work/status.txt"; then
  pass "secrets_status() shows the version and header, never the value"
else
  fail "secrets_status() output unexpected: $(cat "$work/status.txt")"
fi

# ---------------------------------------------------------------- pg_dump
pg_dump -d "$db" -f "$work/dump.sql"
if grep -q '^COPY warden.secrets ' "$work/dump.sql" && grep -qF "$table_marker" "$work/dump.sql"; then
  pass "the dump holds warden.secrets and the control data"
else
  fail "the dump does not hold warden.secrets or the control data"
fi
if found "$secret" "$work/dump.sql"; then fail "the plaintext is in the pg_dump output"; else pass "the plaintext is not in the pg_dump output"; fi
pg_dump -d "$db" -Fc -Z0 -f "$work/dump.custom"
pg_restore -f "$work/dump.restored.sql" "$work/dump.custom"
if found "$secret" "$work/dump.custom" || found "$secret" "$work/dump.restored.sql"; then
  fail "the plaintext is in the custom-format dump"
else
  pass "the plaintext is not in the custom-format dump"
fi

# ---------------------------------------------------------------- the server log
psql -X -q -d postgres -c 'ALTER SYSTEM RESET log_statement' -c 'SELECT pg_reload_conf()' >/dev/null
log_changed=0
sleep 0.5   # let the collector write what it has
scripts/pg log >"$work/server.log" 2>/dev/null || cat .warden/log/postgres.log >"$work/server.log"
if grep -qF "$log_marker" "$work/server.log"; then pass "the log holds the control statement (log_statement = all took effect)"; else fail "control statement not in the server log: cannot check it"; fi
if grep -qF "$(cut -c1-64 <<<"$sealed")" "$work/server.log" && grep -q 'warden.authorize' "$work/server.log"; then
  pass "the log holds the put_secret and authorize statements"
else
  fail "put_secret/authorize statements not in the server log"
fi
if found "$secret" "$work/server.log"; then fail "the plaintext is in the server log"; else pass "the plaintext is not in the server log (as text, hex or base64)"; fi

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all checks passed"
