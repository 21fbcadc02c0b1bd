#!/usr/bin/env bash
# A kill is not held off by a lesser login's open transaction. Rows a revocation changes can be
# locked by the gateway's login (a budget counted by warden.authorize, a provider's security
# event revoking the person) or an approver; a login of that role that keeps its transaction
# open must not keep an administrator's kill from committing. Real logins are needed (the
# isolation tester's SET ROLE keeps the superuser as the session's login), hence a shell test.
#
# Checked, each with the lesser transaction sleeping 60 s while holding the rows:
#   1. revoke_grant against the gateway login counting a call against the grant's budget (and
#      again with six more such sessions queued behind it for the row);
#   2. kill (agent) against the gateway login applying a security event that revokes the person;
#   3. revoke_human against the same;
# each: the admin's statement returns within 10 s (statement_timeout 20 s), the holder's
# transaction was ended (audited as revocation_ended_transaction), and a new decision is denied.
# And what must not change:
#   4. an administrator's open transaction is waited for, not ended (lock_timeout error);
#   5. the gateway login's own revocations get no such power: it waits (lock_timeout error)
#      and the other lesser holder lives on.
# Runs in its own database; PGHOST/PGPORT/PGUSER come from the runner (scripts/pg env).
set -euo pipefail
db=warden_outranks_$$
suffix=$$
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)
tmp=$(mktemp -d)
pids=()
failures=0

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  "${psql[@]}" -d postgres -c "DROP ROLE IF EXISTS out_admin_$suffix, out_admin2_$suffix, out_proxy_$suffix, out_proxy2_$suffix" \
    >/dev/null 2>&1 || true
}
trap cleanup EXIT

check() {  # check <description> <expected> <actual>
  if [ "$2" = "$3" ]; then
    echo "ok - $1"
  else
    echo "not ok - $1: expected '$2', got '$3'"
    failures=$((failures + 1))
  fi
}

"${psql[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"${psql[@]}" -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION warden;
CREATE ROLE out_admin_$suffix LOGIN IN ROLE warden_admin;
CREATE ROLE out_admin2_$suffix LOGIN IN ROLE warden_admin;
CREATE ROLE out_proxy_$suffix LOGIN IN ROLE warden_proxy;
CREATE ROLE out_proxy2_$suffix LOGIN IN ROLE warden_proxy;
SELECT warden.add_identity_provider('out-idp', 'https://idp.out.example', 'warden');
SELECT warden.accept_security_events('out-idp', 'https://warden.out.example/ssf');
SELECT warden.add_server('out', 'https://out.internal/mcp');
CREATE TABLE tok (label text PRIMARY KEY, token text NOT NULL);
GRANT SELECT ON tok TO PUBLIC;
CREATE FUNCTION set_claims(sub text) RETURNS jsonb LANGUAGE sql AS \$\$
  SELECT jsonb_build_object('iss', 'https://idp.out.example', 'aud', 'https://warden.out.example/ssf',
    'jti', gen_random_uuid()::text, 'iat', extract(epoch FROM now())::bigint,
    'sub_id', jsonb_build_object('format', 'email', 'email', sub),
    'events', jsonb_build_object('https://schemas.openid.net/secevent/caep/event-type/session-revoked', '{}'::jsonb))
\$\$;
GRANT EXECUTE ON FUNCTION set_claims(text) TO PUBLIC;
-- One person, agent and chain per case.
CREATE FUNCTION person(n text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM warden.add_human(n || '@out.example');
  PERFORM warden.link_human(n || '@out.example', 'out-idp');
  PERFORM warden.add_agent('bot-' || n, n || '@out.example');
  PERFORM warden.grant('bot-' || n, 'out/call');
  PERFORM warden.grant('bot-' || n, 'out/budgeted', max_calls => 100);
  INSERT INTO tok SELECT n, s.token FROM warden.start_chain(n || '@out.example', 'bot-' || n, 'outranks') s;
END
\$\$;
SELECT person(n) FROM unnest(ARRAY['budget', 'queue', 'ssf', 'human', 'admins', 'peers']) n;
SQL

as_login() {  # as_login <login> <sql...>: one session as that login (local trust, as scripts/pg sets up)
  local login=$1
  shift
  "${psql[@]}" -d "$db" -U "$login" "$@"
}

# hold <name> <login> <sql>: runs sql then sleeps 60 s in one transaction, in the background,
# and returns once that session is asleep (its locks taken).
hold() {
  local name=$1 login=$2 sql=$3
  (as_login "$login" -c "BEGIN" -c "$sql" -c "SELECT pg_sleep(60)" -c "COMMIT" >"$tmp/$name.out" 2>&1
   echo "exit $?" >>"$tmp/$name.out") &
  pids+=($!)
  for _ in $(seq 1 100); do
    if [ "$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$login' AND query LIKE 'SELECT pg_sleep%'")" = 1 ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "not ok - the holding session $name never got to sleep"; cat "$tmp/$name.out"; exit 1
}

holder_alive() {
  "${psql[@]}" -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$1' AND query LIKE 'SELECT pg_sleep%'"
}

timed() {  # timed <login> <sql>: prints "<seconds> <output or error>"
  local start end out
  start=$(date +%s.%N)
  out=$(as_login "$1" -c "SET statement_timeout = '20s'" -c "$2" 2>&1 || true)
  end=$(date +%s.%N)
  printf '%.1f %s\n' "$(echo "$end - $start" | bc)" "$(echo "$out" | grep -v '^WARNING' | tr '\n' ' ')"
}

fast() { awk -v s="$1" 'BEGIN { exit !(s < 10) }'; }

decide() {  # decide <label> <tool>: the reason of a new decision with that label's token
  "${psql[@]}" -d "$db" -c "SELECT coalesce(d.reason, 'allowed') FROM tok t, warden.authorize(t.token, 'out', '$2') d WHERE t.label = '$1'"
}

ended_events() {
  "${psql[@]}" -d "$db" -c "SELECT count(*) FROM warden.events WHERE kind = 'revocation_ended_transaction' AND detail ->> 'login' = '$1'"
}

# 1. The gateway counts a call against the grant's budget and keeps the transaction open.
hold budget "out_proxy_$suffix" "SELECT allowed FROM tok t, warden.authorize(t.token, 'out', 'budgeted') WHERE t.label = 'budget'"
grant_id=$("${psql[@]}" -d "$db" -c "SELECT g.grant_id FROM warden.grants g JOIN warden.agents a USING (agent_id) WHERE a.name = 'bot-budget' AND g.tool = 'budgeted'")
read -r secs out < <(timed "out_admin_$suffix" "SELECT 'done' FROM warden.revoke_grant('$grant_id', 'outranks test')")
echo "# revoke_grant took ${secs}s: $out"
if fast "$secs"; then check "revoke_grant is not held off by a budget lock" done "$out"; else check "revoke_grant returns within 10 s" "< 10" "$secs"; fi
check "the budget holder was ended" 0 "$(holder_alive "out_proxy_$suffix")"
check "... and that is audited" 1 "$(ended_events "out_proxy_$suffix")"
check "a new budgeted call is denied" no_grant "$(decide budget budgeted)"

# 1b. The same, with six more gateway sessions queued behind the holder for the budget row (each
# would take the row next): one round ends them all, not one holder per round.
grant_id=$("${psql[@]}" -d "$db" -c "SELECT g.grant_id FROM warden.grants g JOIN warden.agents a USING (agent_id) WHERE a.name = 'bot-queue' AND g.tool = 'budgeted'")
budget_sql="SELECT allowed FROM tok t, warden.authorize(t.token, 'out', 'budgeted') WHERE t.label = 'queue'"
hold queue "out_proxy_$suffix" "$budget_sql"
for i in 1 2 3 4 5 6; do
  (as_login "out_proxy_$suffix" -c "BEGIN" -c "$budget_sql" -c "SELECT pg_sleep(60)" -c "COMMIT" >/dev/null 2>&1) &
  pids+=($!)
done
for _ in $(seq 1 100); do
  [ "$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'out_proxy_$suffix' AND wait_event_type = 'Lock'")" = 6 ] && break
  sleep 0.1
done
check "six gateway sessions queue for the budget row" 6 \
  "$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'out_proxy_$suffix' AND wait_event_type = 'Lock'")"
before=$(ended_events "out_proxy_$suffix")
read -r secs out < <(timed "out_admin_$suffix" "SELECT 'done' FROM warden.revoke_grant('$grant_id', 'outranks test')")
echo "# revoke_grant with a queue took ${secs}s: $out"
if fast "$secs"; then check "revoke_grant is not held off by a queue of lesser sessions" done "$out"; else check "revoke_grant returns within 10 s" "< 10" "$secs"; fi
check "the holder and all six queued were ended, and audited" 7 "$(( $(ended_events "out_proxy_$suffix") - before ))"
check "a new budgeted call is denied" no_grant "$(decide queue budgeted)"

# 2. The gateway applies a provider's security event (revoking the person: their chains and
# tokens) and keeps it open; the administrator kills the agent.
hold ssf "out_proxy_$suffix" "SELECT warden.receive_security_event('https://idp.out.example', set_claims('ssf@out.example')) -> 'ok'"
read -r secs out < <(timed "out_admin_$suffix" "SELECT (warden.kill(agent => 'bot-ssf', reason => 'outranks test') ->> 'tokens')::int")
echo "# kill took ${secs}s: $out"
if fast "$secs"; then check "kill is not held off by the gateway's open revocation (tokens revoked)" 1 "$out"; else check "kill returns within 10 s" "< 10" "$secs"; fi
check "the security event's transaction was ended" 0 "$(holder_alive "out_proxy_$suffix")"
check "... and that is audited" 9 "$(ended_events "out_proxy_$suffix")"
check "a new call of the killed agent is denied" agent_suspended "$(decide ssf call)"

# 3. The same hold, against offboarding the person.
hold human "out_proxy_$suffix" "SELECT warden.receive_security_event('https://idp.out.example', set_claims('human@out.example')) -> 'ok'"
read -r secs out < <(timed "out_admin_$suffix" "SELECT (warden.revoke_human('human@out.example', 'outranks test') ->> 'chains')::int")
echo "# revoke_human took ${secs}s: $out"
if fast "$secs"; then check "revoke_human is not held off by the gateway's open revocation" 1 "$out"; else check "revoke_human returns within 10 s" "< 10" "$secs"; fi
check "that holder was ended too" 0 "$(holder_alive "out_proxy_$suffix")"
check "a new call of the person's chain is denied" human_revoked "$(decide human call)"

# 4. Two administrators still serialise: the second waits (and here times out), the first lives.
hold admins "out_admin2_$suffix" "SELECT warden.revoke_agent('bot-admins', 'first admin')"
out=$(as_login "out_admin_$suffix" -c "SET lock_timeout = '1s'" -c "SELECT warden.kill(agent => 'bot-admins', reason => 'second admin')" 2>&1 || true)
check "an administrator's open transaction is waited for" 1 "$(echo "$out" | grep -c 'lock timeout')"
check "... and not ended" 1 "$(holder_alive "out_admin2_$suffix")"
check "no transaction of an administrator is ended" 0 "$(ended_events "out_admin2_$suffix")"

# 5. A gateway login's own revocation gains nothing: applying a second security event for a
# person whose first one another gateway session holds open, it waits (and here times out).
hold peers "out_proxy2_$suffix" "SELECT warden.receive_security_event('https://idp.out.example', set_claims('peers@out.example')) -> 'ok'"
out=$(as_login "out_proxy_$suffix" -c "SET lock_timeout = '1s'" \
        -c "SELECT warden.receive_security_event('https://idp.out.example', set_claims('peers@out.example')) -> 'ok'" 2>&1 || true)
check "a gateway login's revocation waits for another lesser login" 1 "$(echo "$out" | grep -c 'lock timeout')"
check "... which lives on" 1 "$(holder_alive "out_proxy2_$suffix")"
check "no transaction is ended for a gateway login" 0 "$(ended_events "out_proxy2_$suffix")"

[ "$failures" = 0 ] || { echo "# $failures failure(s)"; exit 1; }
echo "# all checks passed"
