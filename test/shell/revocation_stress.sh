#!/usr/bin/env bash
# Revocation is effective on the next call, under load: in each trial four pgbench clients
# authorize calls with the tokens of one chain (a delegation tree) while, at a random moment,
# another session kills the chain in one transaction that also records its xid. Every call
# records the snapshot of its statement. A violation is a call that was allowed although its
# snapshot already saw the kill as committed. The test fails on any violation, on any denial
# for another reason, on fewer than 10 trials, or if hardly any trial saw a call after its
# kill (then the test could not have failed).
#
# It also checks the notification on warden_events: a LISTENing session receives
# {"kind": "revocation"} (naming nothing: any login may LISTEN) only after the kill commits,
# never for a kill that rolls back; and killing the chain again only raises a NOTICE.
# Runs in its own database; PGHOST/PGPORT/PGUSER come from the runner (scripts/pg env).
set -euo pipefail
db=warden_revocation_stress_$$  # per run: the suite may run on a shared cluster
trials=${WARDEN_STRESS_TRIALS:-10}
seconds=${WARDEN_STRESS_SECONDS:-2}
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)
tmp=$(mktemp -d)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  exec 3>&- 4>&- 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"${psql[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"${psql[@]}" -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION warden;
SELECT warden.add_human('stress@example.com');
SELECT warden.add_agent(n, 'stress@example.com') FROM unnest(ARRAY['stress-root', 'stress-a', 'stress-b']) n;
SELECT warden.add_server('stress', 'https://stress.internal/mcp');
SELECT warden.grant(n, 'stress/*') FROM unnest(ARRAY['stress-root', 'stress-a', 'stress-b']) n;
CREATE TABLE tok (trial int, n int, token text NOT NULL, chain_id uuid NOT NULL, PRIMARY KEY (trial, n));
CREATE TABLE results (trial int NOT NULL, snap pg_snapshot NOT NULL, allowed boolean NOT NULL, reason text NOT NULL);
CREATE TABLE kills (trial int PRIMARY KEY, xid xid8 NOT NULL, reported bigint NOT NULL, tokens int NOT NULL);
-- One chain per trial: root (stress-root) -> 2 (stress-a) -> 3 (stress-b), root -> 4 (stress-b).
CREATE FUNCTION new_chain(t int) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  s record;
BEGIN
  SELECT * INTO s FROM warden.start_chain('stress@example.com', 'stress-root', 'stress trial ' || t, '1 hour');
  INSERT INTO tok VALUES (t, 1, s.token, s.chain_id);
  INSERT INTO tok SELECT t, 2, d.token, s.chain_id FROM tok p, warden.delegate(p.token, 'stress-a', ARRAY['stress/*']) d WHERE p.trial = t AND p.n = 1;
  INSERT INTO tok SELECT t, 3, d.token, s.chain_id FROM tok p, warden.delegate(p.token, 'stress-b', ARRAY['stress/*']) d WHERE p.trial = t AND p.n = 2;
  INSERT INTO tok SELECT t, 4, d.token, s.chain_id FROM tok p, warden.delegate(p.token, 'stress-b', ARRAY['stress/call']) d WHERE p.trial = t AND p.n = 1;
  RETURN s.chain_id;
END
$$;
SQL

cat >"$tmp/client.sql" <<'SQL'
\set n random(1, 4)
INSERT INTO results SELECT :trial, pg_current_snapshot(), d.allowed, d.reason FROM tok t, warden.authorize(t.token, 'stress', 'call', jsonb_build_object('n', :n)) d WHERE t.trial = :trial AND t.n = :n;
SQL

for ((i = 1; i <= trials; i++)); do
  chain=$("${psql[@]}" -d "$db" -c "SELECT new_chain($i)")
  pgbench -n -c 4 -j 4 -T "$seconds" -D trial="$i" -f "$tmp/client.sql" "$db" >"$tmp/pgbench.$i" 2>&1 &
  bench=$!
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + r / 32767 * 1.3 }')"
  # The kill and the record of its xid commit together.
  "${psql[@]}" -d "$db" >/dev/null <<SQL
BEGIN;
INSERT INTO kills
SELECT $i, txid_current()::text::xid8, (k->>'transaction')::bigint, (k->>'tokens')::int
FROM warden.kill(chain_id => '$chain', reason => 'stress trial $i') k;
COMMIT;
SQL
  wait "$bench" || { echo "pgbench failed in trial $i:"; cat "$tmp/pgbench.$i"; exit 1; }
done

read -r n violations denied_after bad_denials trials_with_denials bad_kills < <("${psql[@]}" -F ' ' -d "$db" <<'SQL'
WITH per_trial AS (
  SELECT r.trial,
         count(*) FILTER (WHERE r.allowed AND pg_visible_in_snapshot(k.xid, r.snap)) AS violations,
         count(*) FILTER (WHERE NOT r.allowed AND pg_visible_in_snapshot(k.xid, r.snap)) AS denied_after,
         -- A denial must come from the kill: after it, and for the chain.
         count(*) FILTER (WHERE NOT r.allowed AND (NOT pg_visible_in_snapshot(k.xid, r.snap)
                                                   OR r.reason <> 'chain_revoked')) AS bad_denials
  FROM results r JOIN kills k USING (trial) GROUP BY r.trial
)
SELECT (SELECT count(*) FROM kills), coalesce(sum(violations), 0), coalesce(sum(denied_after), 0),
       coalesce(sum(bad_denials), 0), count(*) FILTER (WHERE denied_after > 0),
       (SELECT count(*) FROM kills WHERE xid::text::bigint <> reported OR tokens <> 4)
FROM per_trial
SQL
)
echo "calls: $("${psql[@]}" -d "$db" -c "SELECT count(*) FROM results"), denied after the kill: $denied_after in $trials_with_denials trials"
echo "trials=$n violations=$violations"
status=0
[ "$violations" -eq 0 ] || { echo "FAIL: $violations calls allowed after the kill had committed"; status=1; }
[ "$n" -ge 10 ] || { echo "FAIL: only $n trials"; status=1; }
[ "$bad_denials" -eq 0 ] || { echo "FAIL: $bad_denials denials before the kill or for another reason"; status=1; }
[ "$bad_kills" -eq 0 ] || { echo "FAIL: $bad_kills kills reported another transaction or another token count"; status=1; }
[ "$trials_with_denials" -ge $((n / 2)) ] || { echo "FAIL: only $trials_with_denials trials saw a call after the kill"; status=1; }

# Notifications: only after commit, never for a rolled-back kill, with kind, chain and tokens.
chain=$("${psql[@]}" -d "$db" -c "SELECT new_chain(1000)")
mkfifo "$tmp/listen.in" "$tmp/kill.in"
psql -X -At -d "$db" <"$tmp/listen.in" >"$tmp/listen.out" 2>&1 &
pids+=($!)
exec 3>"$tmp/listen.in"
psql -X -At -d "$db" <"$tmp/kill.in" >"$tmp/kill.out" 2>&1 &
pids+=($!)
exec 4>"$tmp/kill.in"
wait_for() {  # file marker
  for _ in $(seq 100); do grep -q -- "$2" "$1" && return 0; sleep 0.05; done
  echo "FAIL: timed out waiting for $2 in $1:"; cat "$1"; exit 1
}
notes() { grep -c 'Asynchronous notification "warden_events"' "$tmp/listen.out" || true; }
echo "LISTEN warden_events; SELECT 'listening';" >&3
wait_for "$tmp/listen.out" listening
echo "BEGIN; SELECT 'rolled-back:' || ((warden.kill(chain_id => '$chain', reason => 'oops'))->>'tokens'); ROLLBACK; SELECT 'rolled back';" >&4
wait_for "$tmp/kill.out" 'rolled back'
echo "BEGIN; SELECT 'killed:' || ((warden.kill(chain_id => '$chain', reason => 'notify check'))->>'tokens');" >&4
wait_for "$tmp/kill.out" 'killed:4'
echo "SELECT pg_sleep(0.3); SELECT 'poll-1';" >&3
wait_for "$tmp/listen.out" poll-1
before=$(notes)
echo "COMMIT; SELECT 'committed';" >&4
wait_for "$tmp/kill.out" committed
echo "SELECT pg_sleep(0.3); SELECT 'poll-2';" >&3
wait_for "$tmp/listen.out" poll-2
sleep 0.1
after=$(notes)
payload=$(grep -o 'with payload ".*" received' "$tmp/listen.out" | head -n 1 | sed 's/^with payload "//; s/" received$//')
echo "notifications before commit: $before, after commit: $after"
echo "payload: ${payload:0:160}..."
[ "$before" -eq 0 ] || { echo "FAIL: a notification arrived before the kill committed (or for the rolled-back kill)"; status=1; }
[ "$after" -eq 1 ] || { echo "FAIL: expected exactly one notification after commit, got $after"; status=1; }
check=$("${psql[@]}" -d "$db" -v payload="$payload" -v chain="$chain" <<'SQL'
SELECT p = '{"kind": "revocation"}'::jsonb AND strpos(:'payload', :'chain') = 0
FROM (SELECT :'payload'::jsonb AS p) x
SQL
) || check=f
[ "$check" = t ] || { echo "FAIL: the payload is not exactly {\"kind\": \"revocation\"} (it must name no chain or token)"; status=1; }

# Killing it again: a NOTICE, no further notification.
again=$("${psql[@]}" -d "$db" -c "SELECT warden.revoke_chain('$chain', 'again')->>'tokens'" 2>&1)
echo "$again" | grep -q "was already revoked" || { echo "FAIL: no NOTICE for an already revoked chain: $again"; status=1; }
echo "SELECT pg_sleep(0.3); SELECT 'poll-3';" >&3
wait_for "$tmp/listen.out" poll-3
[ "$(notes)" -eq 1 ] || { echo "FAIL: revoking a revoked chain notified again"; status=1; }
echo '\q' >&3
echo '\q' >&4
exit $status
