#!/usr/bin/env bash
# Vended credentials, checked by independent verifiers from npm (test/verifiers): EdDSA JWTs
# with `jose` and PASETO v4.public tokens with `paseto`, against warden.public_keys(); both are
# rejected after their expiry. A vaulted secret, sealed on the client with libsodium's
# crypto_box_seal to warden.vault_public_key(), comes back rendered through its template, and
# only to warden_proxy for an allowed call. Signing keys rotate on use when older than
# warden.key_rotation_interval (and by warden.maintenance()); tokens signed by the superseded key
# keep verifying until it is retired.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi

# Names carry the process id: several checkouts' test runs may share the cluster.
db=warden_shell_vault_credentials_$$
proxy=warden_shell_vault_cred_proxy_$$
admin=warden_shell_vault_cred_admin_$$
failures=0
guc_changed=0
cleanup() {
  if [ "$guc_changed" -eq 1 ]; then
    psql -X -q -d postgres -c 'ALTER SYSTEM RESET warden.key_rotation_interval' -c 'SELECT pg_reload_conf()' >/dev/null 2>&1 || true
  fi
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $proxy" -c "DROP ROLE IF EXISTS $admin" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
check() { # check DESCRIPTION ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" -c "$1"; }
qas() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" -U "$1" -c "$2"; }
# The decision of warden.authorize as JSON, called by login role $1, with the credential
# warden.credential then vends for it (a separate transaction: the decision has committed),
# the way warden-mcp asks. A refused vend reads as the denial warden-mcp answers with.
authz() {
  local d eid c
  d="$(qas "$1" "SELECT to_jsonb(d) - 'credential' FROM warden.authorize('$2', '$3', '$4') d")"
  if [ "$(jq -r .allowed <<<"$d")" != true ]; then jq -c '. + {credential: null}' <<<"$d"; return; fi
  eid="$(jq -r .event_id <<<"$d")"
  if c="$(qas "$1" "SELECT coalesce(warden.credential('$eid')::text, 'null')" 2>/dev/null)"; then
    jq -c --argjson c "$c" '. + {credential: $c}' <<<"$d"
  else
    jq -c '. + {allowed: false, reason: "credential_unavailable", credential: null}' <<<"$d"
  fi
}
seal() { (cd "$root/test/verifiers" && node seal.mjs "$1"); }   # plaintext on stdin
# verify KIND TOKEN AUDIENCE [UNIX_TIME]: the verifier's JSON verdict.
verify() {
  local keys
  keys="$(q 'SELECT warden.public_keys()')"
  jq -cn --argjson keys "$keys" --arg kind "$1" --arg token "$2" --arg aud "$3" --arg at "${4:-}" \
    '{keys: $keys, kind: $kind, token: $token, audience: $aud, at: (if $at == "" then null else ($at | tonumber) end)}' |
    (cd "$root/test/verifiers" && node verify.mjs)
}
token_of() { jq -r '.credential.value // "" | sub("^Bearer "; "")' <<<"$1"; }

test/verifiers/ensure.sh || { echo "FAIL: cannot install the npm verifiers (jose, paseto, libsodium-wrappers)" >&2; exit 1; }

dropdb --if-exists "$db" >/dev/null 2>&1
psql -X -q -d postgres -c "DROP ROLE IF EXISTS $proxy" -c "DROP ROLE IF EXISTS $admin" >/dev/null 2>&1
createdb "$db"
q 'CREATE EXTENSION warden'
psql -X -q -v ON_ERROR_STOP=1 -d postgres \
  -c "CREATE ROLE $proxy LOGIN IN ROLE warden_proxy" -c "CREATE ROLE $admin LOGIN IN ROLE warden_admin"

qas "$admin" "SELECT warden.add_human('vault-alice@example.com', 'Alice');
              SELECT warden.add_agent('vault-bot', 'vault-alice@example.com');
              SELECT warden.add_agent('vault-other', 'vault-alice@example.com');
              SELECT warden.add_server('jwtsrv', 'https://jwt.internal/mcp', 'http', '{\"kind\": \"jwt\"}');
              SELECT warden.add_server('pasetosrv', 'https://paseto.internal/mcp', 'http', '{\"kind\": \"paseto\"}');
              SELECT warden.add_server('longjwt', 'https://long.internal/mcp', 'http', '{\"kind\": \"jwt\", \"ttl_seconds\": 60}');
              SELECT warden.add_server('longpaseto', 'https://long.internal/mcp', 'http', '{\"kind\": \"paseto\", \"ttl_seconds\": 60}');
              SELECT warden.add_server('shortjwt', 'https://short.internal/mcp', 'http', '{\"kind\": \"jwt\", \"ttl_seconds\": 2}');
              SELECT warden.add_server('shortpaseto', 'https://short.internal/mcp', 'http', '{\"kind\": \"paseto\", \"ttl_seconds\": 2}');
              SELECT warden.add_server('secsrv', 'https://secret.internal/mcp', 'http', '{\"kind\": \"secret\"}');
              SELECT warden.add_server('emptysrv', 'https://empty.internal/mcp', 'http', '{\"kind\": \"secret\"}');
              SELECT warden.add_server('stdsrv', 'upstream-server --stdio', 'stdio', '{\"kind\": \"secret\", \"env\": \"API_KEY\"}');
              SELECT warden.add_server('plainsrv', 'https://plain.internal/mcp');" >/dev/null
for s in jwtsrv pasetosrv longjwt longpaseto shortjwt shortpaseto secsrv emptysrv stdsrv plainsrv; do
  qas "$admin" "SELECT warden.grant('vault-bot', '$s/*')" >/dev/null
done
chain_json="$(q "SELECT to_jsonb(c) FROM warden.start_chain('vault-alice@example.com', 'vault-bot', 'vault credentials test', '1 hour') c")"
token="$(jq -r .token <<<"$chain_json")"
chain_id="$(jq -r .chain_id <<<"$chain_json")"
other_token="$(q "SELECT token FROM warden.start_chain('vault-alice@example.com', 'vault-other', 'no grants', '1 hour')")"

# ---------------------------------------------------------------- JWT (jose)
d="$(authz "$proxy" "$token" jwtsrv search_tickets)"
check "proxy: jwt call allowed" "$(jq -r '.allowed' <<<"$d")" true
check "jwt credential shape" "$(jq -r '.credential | [.kind, .header, (.value | startswith("Bearer ")), (.key_id | startswith("k4.pid.")), (.expires_at | type)] | join(" ")' <<<"$d")" \
  "jwt Authorization true true number"
jwt="$(token_of "$d")"
event_id="$(jq -r .event_id <<<"$d")"
v="$(verify jwt "$jwt" jwtsrv)"
check "jose verifies the JWT against public_keys() (audience jwtsrv, issuer warden)" "$(jq -r .ok <<<"$v")" true
check "JWT header: alg EdDSA, typ JWT, kid = credential key_id, kid is the PASERK k4.pid of the key" \
  "$(jq -r '[.alg, .typ, .kid, .kid_is_pid] | join(" ")' <<<"$v")" "EdDSA JWT $(jq -r .credential.key_id <<<"$d") true"
check "JWT claims sub, human, chain, tool, jti = event_id, aud, iss" \
  "$(jq -r '.claims | [.sub, .human, .chain, .tool, .jti, .aud, .iss] | join(" ")' <<<"$v")" \
  "vault-bot vault-alice@example.com $chain_id search_tickets $event_id jwtsrv warden"
check "JWT lives 30 s by default (exp - iat), nbf = iat, exp = credential expires_at" \
  "$(jq -r --argjson e "$(jq .credential.expires_at <<<"$d")" '.claims | [.exp - .iat, .nbf == .iat, .exp == $e] | join(" ")' <<<"$v")" "30 true true"
now="$(date +%s)"
iat="$(jq -r .claims.iat <<<"$v")"
if [ $((iat - now)) -le 5 ] && [ $((now - iat)) -le 5 ]; then pass "JWT iat is now"; else fail "JWT iat $iat is not now ($now)"; fi
exp="$(jq -r .claims.exp <<<"$v")"
check "jose rejects the JWT one second after its exp" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify jwt "$jwt" jwtsrv $((exp + 1)))")" "false ERR_JWT_EXPIRED"
check "jose rejects the JWT for another audience" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify jwt "$jwt" pasetosrv)")" "false ERR_JWT_CLAIM_VALIDATION_FAILED"
tampered="$(jq -r '.credential.value | sub("^Bearer "; "") | split(".") | .[1] |= (@base64d | fromjson | .tool = "delete_everything" | tojson | @base64 | gsub("=";"") | gsub("\\+";"-") | gsub("/";"_")) | join(".")' <<<"$d")"
check "jose rejects a JWT whose claims were altered" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify jwt "$tampered" jwtsrv)")" "false ERR_JWS_SIGNATURE_VERIFICATION_FAILED"

# ---------------------------------------------------------------- PASETO v4.public (paseto)
d="$(authz "$proxy" "$token" pasetosrv get_ticket)"
check "proxy: paseto call allowed" "$(jq -r '.allowed' <<<"$d")" true
check "paseto credential shape" "$(jq -r '.credential | [.kind, .header, (.value | startswith("Bearer v4.public.")), (.key_id | startswith("k4.pid."))] | join(" ")' <<<"$d")" \
  "paseto Authorization true true"
pst="$(token_of "$d")"
event_id="$(jq -r .event_id <<<"$d")"
v="$(verify paseto "$pst" pasetosrv)"
check "paseto verifies the v4.public token with the k4.public key as a KeyObject" "$(jq -r .ok <<<"$v")" true
check "PASETO footer kid = credential key_id and is the k4.pid of the key" "$(jq -r '[.kid, .kid_is_pid] | join(" ")' <<<"$v")" \
  "$(jq -r .credential.key_id <<<"$d") true"
check "PASETO claims sub, human, chain, tool, jti = event_id, aud, iss" \
  "$(jq -r '.claims | [.sub, .human, .chain, .tool, .jti, .aud, .iss] | join(" ")' <<<"$v")" \
  "vault-bot vault-alice@example.com $chain_id get_ticket $event_id pasetosrv warden"
check "PASETO times are RFC 3339, exp - iat = 30 s, nbf = iat, exp = credential expires_at" \
  "$(jq -r --argjson e "$(jq .credential.expires_at <<<"$d")" '.claims | [(.exp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\\.[0-9]+)?(Z|[+-][0-9:]{5})$")),
       ((.exp | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601) - (.iat | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601)),
       .nbf == .iat, ((.exp | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601) == $e)] | join(" ")' <<<"$v")" "true 30 true true"
pexp="$(jq -r .credential.expires_at <<<"$d")"
check "paseto rejects the token one second after its exp" "$(jq -r '[.ok, .code, .message] | join(" ")' <<<"$(verify paseto "$pst" pasetosrv $((pexp + 1)))")" \
  "false ERR_PASETO_CLAIM_INVALID token is expired"
check "paseto rejects the token for another audience" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify paseto "$pst" jwtsrv)")" "false ERR_PASETO_CLAIM_INVALID"
body="${pst#v4.public.}"
if [ "${body:0:1}" = A ]; then first=B; else first=A; fi
check "paseto rejects a token whose signed payload was altered" \
  "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify paseto "v4.public.$first${body:1}" pasetosrv)")" "false ERR_PASETO_VERIFICATION_FAILED"

# ---------------------------------------------------------------- expiry in real time
dj="$(authz "$proxy" "$token" shortjwt ping)"
dp="$(authz "$proxy" "$token" shortpaseto ping)"
sj="$(token_of "$dj")"; sp="$(token_of "$dp")"
# "Now" is when they were minted: each verifier is a node process that can take a second or
# more to start on a busy machine, longer than the tokens live.
minted="$(date +%s)"
check "ttl_seconds 2: the JWT verifies now and lives 2 s" "$(jq -r '[.ok, .claims.exp - .claims.iat] | join(" ")' <<<"$(verify jwt "$sj" shortjwt "$minted")")" "true 2"
check "ttl_seconds 2: the PASETO verifies now" "$(jq -r .ok <<<"$(verify paseto "$sp" shortpaseto "$minted")")" true
sleep 3
check "ttl_seconds 2: jose rejects the JWT 3 s later" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify jwt "$sj" shortjwt)")" "false ERR_JWT_EXPIRED"
check "ttl_seconds 2: paseto rejects the PASETO 3 s later" "$(jq -r '[.ok, .message] | join(" ")' <<<"$(verify paseto "$sp" shortpaseto)")" "false token is expired"

d="$(authz "$proxy" "$token" longjwt ping)"
v="$(verify jwt "$(token_of "$d")" longjwt)"
check "ttl_seconds 60: the JWT verifies and lives 60 s" "$(jq -r '[.ok, .claims.exp - .claims.iat] | join(" ")' <<<"$v")" "true 60"

# ---------------------------------------------------------------- vaulted secrets
vault_pk="$(q "SELECT encode(warden.vault_public_key(), 'hex')")"
check "vault_public_key() is a 32-byte key, the same for admin and proxy" \
  "${#vault_pk} $(qas "$admin" "SELECT encode(warden.vault_public_key(), 'hex')") $(qas "$proxy" "SELECT encode(warden.vault_public_key(), 'hex')")" \
  "64 $vault_pk $vault_pk"
secret1="wdn-cred-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
secret2="wdn-cred-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
secret3="wdn-cred-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
sealed1="$(printf '%s' "$secret1" | seal "$vault_pk")"
check "warden_admin stores a sealed secret: version 1" "$(qas "$admin" "SELECT warden.put_secret('secsrv', decode('$sealed1', 'hex'))")" 1
d="$(authz "$proxy" "$token" secsrv list)"
check "proxy: secret call allowed" "$(jq -r .allowed <<<"$d")" true
check "secret credential is {kind secret, version 1, header Authorization}" \
  "$(jq -r '.credential | [.kind, .version, .header, has("env")] | join(" ")' <<<"$d")" "secret 1 Authorization false"
if [ "$(jq -r .credential.value <<<"$d")" = "Bearer $secret1" ]; then pass "secret value is the default template 'Bearer {secret}' rendered with the plaintext"
else fail "secret value is not 'Bearer <secret>'"; fi

sealed2="$(printf '%s' "$secret2" | seal "$vault_pk")"
check "a new version replaces the old one: version 2" \
  "$(qas "$admin" "SELECT warden.put_secret('secsrv', decode('$sealed2', 'hex'), 'X-API-Key', 'Token {secret}; again={secret}')")" 2
check "only version 2 is kept" "$(q "SELECT string_agg(version::text, ',') FROM warden.secrets sc JOIN warden.servers s USING (server_id) WHERE s.name = 'secsrv'")" 2
d="$(authz "$proxy" "$token" secsrv list)"
check "secret credential now names version 2 and header X-API-Key" "$(jq -r '.credential | [.version, .header] | join(" ")' <<<"$d")" "2 X-API-Key"
if [ "$(jq -r .credential.value <<<"$d")" = "Token $secret2; again=$secret2" ]; then pass "every {secret} in the template is replaced by the new plaintext"
else fail "secret value is not the custom template rendered with the new plaintext"; fi

sealed3="$(printf '%s' "$secret3" | seal "$vault_pk")"
qas "$admin" "SELECT warden.put_secret('stdsrv', decode('$sealed3', 'hex'), template => '{secret}')" >/dev/null
d="$(authz "$proxy" "$token" stdsrv run)"
check "stdio secret credential names env API_KEY and no header" "$(jq -r '.credential | [.kind, .env, has("header")] | join(" ")' <<<"$d")" "secret API_KEY false"
if [ "$(jq -r .credential.value <<<"$d")" = "$secret3" ]; then pass "stdio secret value is the plaintext (template {secret})"; else fail "stdio secret value is not the plaintext"; fi

d="$(authz "$proxy" "$token" emptysrv list)"
check "secret server without a stored secret: denied credential_unavailable, no credential" \
  "$(jq -r '[.allowed, .reason, .credential] | join(" ")' <<<"$d")" "false credential_unavailable "
# The stored secret is bound to its server and version: a row moved to another server, or
# renumbered, does not open; the call is denied (and audited) as credential_unavailable.
q "INSERT INTO warden.secrets (server_id, version, header, template, wrapped)
   SELECT (SELECT server_id FROM warden.servers WHERE name = 'emptysrv'), version, header, template, wrapped
   FROM warden.secrets sc JOIN warden.servers s USING (server_id) WHERE s.name = 'secsrv'"
r="$(authz "$proxy" "$token" emptysrv list | jq -r '[.allowed, .reason, .credential == null] | join("|")')"
check "a secret copied to another server does not open" "$r" "false|credential_unavailable|true"
q "DELETE FROM warden.secrets sc USING warden.servers s WHERE s.server_id = sc.server_id AND s.name = 'emptysrv';
   UPDATE warden.secrets sc SET version = 9 FROM warden.servers s WHERE s.server_id = sc.server_id AND s.name = 'secsrv'"
r="$(authz "$proxy" "$token" secsrv list | jq -r '[.allowed, .reason, .credential == null] | join("|")')"
check "a secret renumbered to another version does not open" "$r" "false|credential_unavailable|true"
q "UPDATE warden.secrets sc SET version = 2 FROM warden.servers s WHERE s.server_id = sc.server_id AND s.name = 'secsrv'"

# Secrets are copied into HTTP header values and environment variables: CR/LF would inject
# headers, NUL cannot be passed at all, and invalid UTF-8 cannot be put into the decision's
# JSON. Such secrets must be refused when stored (22023), leaving the current version in place,
# not stored and then break (or worse, succeed) at every call.
for bad in 'crlf:abc\r\nX-Injected: 1' 'lf:abc\ndef' 'nul:abc\000def' 'not-utf8:\377\376abc' 'esc:abc\033[0m'; do
  name="${bad%%:*}"
  sealed_bad="$(printf "${bad#*:}" | seal "$vault_pk")"
  r="$(psql -X -q -tA -v VERBOSITY=sqlstate -d "$db" -U "$admin" -c "SELECT warden.put_secret('secsrv', decode('$sealed_bad', 'hex'))" 2>&1 || true)"
  check "a secret with $name is refused (22023)" "$r" "ERROR:  22023"
  r="$(authz "$proxy" "$token" secsrv list | jq -r '[.allowed, .credential.version] | join(" ")')"
  check "after refusing the secret with $name, version 2 is still served" "$r" "true 2"
done
# (Until they are refused, each of them replaced the secret: store a good one again.)
qas "$admin" "SELECT warden.put_secret('secsrv', decode('$sealed2', 'hex'))" >/dev/null
d="$(authz "$proxy" "$token" plainsrv list)"
check "kind none: allowed, no credential" "$(jq -r '[.allowed, (.credential == null)] | join(" ")' <<<"$d")" "true true"
d="$(authz "$proxy" "$other_token" secsrv list)"
check "denied call (no grant) gets no credential" "$(jq -r '[.allowed, (.credential == null)] | join(" ")' <<<"$d")" "false true"
d="$(authz "$proxy" "$token" jwtsrv "")"
check "invalid request gets no credential" "$(jq -r '[.allowed, (.credential == null)] | join(" ")' <<<"$d")" "false true"

# ---------------------------------------------------------------- non-proxy roles
r="$(qas "$admin" "SELECT count(*) FROM warden.authorize('$token', 'secsrv', 'list')" 2>&1 || true)"
if grep -q 'permission denied for function authorize' <<<"$r"; then pass "warden_admin cannot execute authorize"; else fail "warden_admin executing authorize: $r"; fi
r="$(qas "$admin" "SELECT count(*) FROM warden.secrets" 2>&1 || true)"
if grep -q 'permission denied' <<<"$r"; then pass "warden_admin cannot read warden.secrets"; else fail "warden_admin reading warden.secrets: $r"; fi
# Even if an operator grants EXECUTE on authorize to a non-proxy role, it is allowed the call
# but warden.credential stays the proxy's alone.
q "GRANT EXECUTE ON FUNCTION warden.authorize(text, text, text, jsonb, jsonb) TO $admin"
for s in secsrv jwtsrv pasetosrv stdsrv; do
  eid="$(qas "$admin" "SELECT event_id FROM warden.authorize('$token', '$s', 'list') WHERE allowed")"
  r="$(qas "$admin" "SELECT warden.credential('$eid')" 2>&1 || true)"
  if [ -n "$eid" ] && grep -q 'permission denied for function credential' <<<"$r"; then
    pass "non-proxy (warden_admin member) with EXECUTE on authorize: $s allowed, credential refused"
  else fail "non-proxy with EXECUTE on authorize: $s: event '$eid', credential: $r"; fi
done
q "REVOKE EXECUTE ON FUNCTION warden.authorize(text, text, text, jsonb, jsonb) FROM $admin"
check "the audit trail records which credential was vended, never its value" \
  "$(q "SELECT count(*) FILTER (WHERE detail ? 'value'), count(*) FILTER (WHERE detail->>'kind' = 'secret' AND detail ? 'version') > 0,
               count(*) FILTER (WHERE detail->>'key_id' LIKE 'k4.pid.%') > 0
        FROM warden.events WHERE kind = 'credential_vended'")" "0|t|t"

# ---------------------------------------------------------------- signing key rotation
dj="$(authz "$proxy" "$token" longjwt before_rotation)"
dp="$(authz "$proxy" "$token" longpaseto before_rotation)"
old_jwt="$(token_of "$dj")"; old_pst="$(token_of "$dp")"
k1="$(jq -r .credential.key_id <<<"$dj")"
check "the paseto and jwt credentials are signed by the same current key" "$(jq -r .credential.key_id <<<"$dp")" "$k1"
check "maintenance() does not rotate a fresh signing key" "$(q "SELECT warden.maintenance()->'rotated'" 2>&1)" "null"

guc_changed=1
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'ALTER SYSTEM SET warden.key_rotation_interval = 60' -c 'SELECT pg_reload_conf()' >/dev/null
for _ in $(seq 1 50); do
  [ "$(psql -X -tA -d postgres -c "SELECT setting FROM pg_settings WHERE name = 'warden.key_rotation_interval'")" = 60 ] && break
  sleep 0.1
done
check "warden.key_rotation_interval is 60 s after reload" \
  "$(psql -X -tA -d postgres -c "SELECT setting FROM pg_settings WHERE name = 'warden.key_rotation_interval'")" 60
d="$(authz "$proxy" "$token" jwtsrv fresh_key)"
check "a 60 s interval does not rotate a key younger than 60 s" "$(jq -r .credential.key_id <<<"$d")" "$k1"
q "UPDATE warden.keys SET created_at = now() - interval '2 minutes' WHERE purpose = 'public' AND superseded_at IS NULL"
d="$(authz "$proxy" "$token" jwtsrv after_rotation)"
k2="$(jq -r .credential.key_id <<<"$d")"
if [ -n "$k2" ] && [ "$k2" != null ] && [ "$k2" != "$k1" ]; then pass "the first vend after the interval rotates the signing key"; else fail "no new signing key after the interval ($k1 -> $k2)"; fi
check "public_keys(): the new key is current, the superseded one still listed (JWKS and PASERK)" \
  "$(q "SELECT (SELECT string_agg(k->>'kid', ' ' ORDER BY k->>'kid' = '$k2' DESC) FROM jsonb_array_elements(warden.public_keys()->'keys') k
                 WHERE k->>'kid' IN ('$k1', '$k2')) || ' | ' ||
                (SELECT string_agg((p->>'kid') || '=' || (p->>'current'), ' ' ORDER BY p->>'kid' = '$k2' DESC) FROM jsonb_array_elements(warden.public_keys()->'paserk') p
                 WHERE p->>'kid' IN ('$k1', '$k2'))")" "$k2 $k1 | $k2=true $k1=false"
v="$(verify jwt "$(token_of "$d")" jwtsrv)"
check "jose verifies a JWT from the new key" "$(jq -r '[.ok, .kid] | join(" ")' <<<"$v")" "true $k2"
check "jose still verifies the JWT from the superseded key" "$(jq -r '[.ok, .kid] | join(" ")' <<<"$(verify jwt "$old_jwt" longjwt)")" "true $k1"
check "paseto still verifies the PASETO from the superseded key" "$(jq -r '[.ok, .kid] | join(" ")' <<<"$(verify paseto "$old_pst" longpaseto)")" "true $k1"
check "maintenance() with a 60 s interval leaves the fresh key alone" "$(q "SELECT warden.maintenance()->'rotated'" 2>&1)" "null"
q "UPDATE warden.keys SET created_at = now() - interval '2 minutes' WHERE purpose = 'public' AND superseded_at IS NULL"
r="$(q "SELECT warden.maintenance()->'rotated' IS NOT NULL" 2>&1 || true)"
check "maintenance() rotates a signing key older than the interval" "$r" t
check "maintenance() made a new current signing key" \
  "$(q "SELECT count(*) FROM warden.keys WHERE purpose = 'public' AND superseded_at IS NULL AND key_id NOT IN ('$k1', '$k2')")" 1
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'ALTER SYSTEM RESET warden.key_rotation_interval' -c 'SELECT pg_reload_conf()' >/dev/null
guc_changed=0

# Retirement: once the first key has been superseded for more than 60 s (longer than any
# credential lives), the next rotation retires it and its tokens no longer verify. With the
# default interval (1 day) a key two days old is due.
for _ in $(seq 1 50); do
  [ "$(psql -X -tA -d postgres -c "SELECT setting FROM pg_settings WHERE name = 'warden.key_rotation_interval'")" = 86400 ] && break
  sleep 0.1
done
q "UPDATE warden.keys SET superseded_at = now() - interval '2 minutes' WHERE purpose = 'public' AND key_id = '$k1';
   UPDATE warden.keys SET created_at = now() - interval '2 days' WHERE purpose = 'public' AND superseded_at IS NULL"
d="$(authz "$proxy" "$token" jwtsrv after_retirement)"
k4="$(jq -r .credential.key_id <<<"$d")"
if [ -n "$k4" ] && [ "$k4" != null ] && [ "$k4" != "$k1" ] && [ "$k4" != "$k2" ]; then pass "the default interval (1 day) rotates a two-day-old key on use"; else fail "no rotation of a two-day-old key ($k4)"; fi
check "the key superseded more than 60 s ago is retired and gone from public_keys()" \
  "$(q "SELECT count(*) FROM jsonb_array_elements(warden.public_keys()->'keys') k WHERE k->>'kid' = '$k1'") $(q "SELECT retired_at IS NOT NULL AND sealed IS NULL FROM warden.keys WHERE key_id = '$k1'")" "0 t"
check "jose rejects a JWT of the retired key (no matching key)" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify jwt "$old_jwt" longjwt)")" "false ERR_JWKS_NO_MATCHING_KEY"
check "paseto rejects a PASETO of the retired key (no matching key)" "$(jq -r '[.ok, .code] | join(" ")' <<<"$(verify paseto "$old_pst" longpaseto)")" "false NO_MATCHING_KEY"
check "jose verifies a JWT from the newest key" "$(jq -r .ok <<<"$(verify jwt "$(token_of "$d")" jwtsrv)")" true

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all checks passed"
