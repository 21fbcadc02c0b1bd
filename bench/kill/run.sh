#!/usr/bin/env bash
# warden.kill at scale: one agent holding 10,000 live tokens across 100 chains, delegation depth
# 5 (in each chain a root, then 20, 20, 20, 20 and 19 tokens at depths 1 to 5, every one held by
# the same agent), killed with one `SELECT warden.kill(agent => ...)`. The kill is timed inside
# its transaction (clock_timestamp before and after) and checked to be one transaction: every
# revoked token has the same revoked_at (the transaction time) and the same xmin, which is the
# transaction the kill reports. Baseline, measured in the same run and the same way: a bare
# UPDATE of 10,000 rows of a plain table with the same columns and indexes as warden.tokens.
# Prints the median of $WARDEN_BENCH_ROUNDS (default 3) rounds of each and their ratio.
# Runs in its own database bench_kill; PGHOST/PGPORT/PGUSER as for psql (scripts/pg env).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
db=bench_kill
rounds=${WARDEN_BENCH_ROUNDS:-3}
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)

"${psql[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap '"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS '"$db"'" >/dev/null 2>&1 || true' EXIT

"${psql[@]}" -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION warden;
SELECT warden.add_human('bench@example.com');
SELECT warden.add_agent('bench-agent', 'bench@example.com');
-- Another agent's chains and tokens, so the kill has to find its agent's tokens among others.
SELECT warden.add_agent('bench-bystander', 'bench@example.com');

-- 100 chains x 100 tokens for agent, written directly (as superuser) with consistent parent_id,
-- ancestor_agents and depth, and the current local token key.
CREATE FUNCTION bench_tokens(round int, agent text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  a uuid := (SELECT agent_id FROM warden.agents WHERE name = agent);
  h uuid := (SELECT human_id FROM warden.humans WHERE subject = 'bench@example.com');
  k text := (SELECT key_id FROM warden._current_key('local'));
BEGIN
  INSERT INTO warden.chains (chain_id, human_id, root_agent_id, purpose, trace_id, expires_at)
  SELECT md5(format('chain %s %s %s', agent, round, c))::uuid, h, a, 'bench ' || c,
         md5(format('chain %s %s %s', agent, round, c)), now() + interval '1 hour'
  FROM generate_series(1, 100) c;
  -- Token j of a chain: j = 0 is the root; j in 1..99 has depth (j - 1) / 20 + 1 and parent
  -- j - 20 (or the root at depth 1).
  INSERT INTO warden.tokens (token_id, chain_id, parent_id, agent_id, ancestor_agents, depth, tools, key_id, expires_at)
  SELECT md5(format('token %s %s %s %s', agent, round, c, j))::uuid,
         md5(format('chain %s %s %s', agent, round, c))::uuid,
         CASE WHEN j = 0 THEN NULL
              WHEN j <= 20 THEN md5(format('token %s %s %s %s', agent, round, c, 0))::uuid
              ELSE md5(format('token %s %s %s %s', agent, round, c, j - 20))::uuid END,
         a, array_fill(a, ARRAY[d]), d, ARRAY['bench/*'], k, now() + interval '1 hour'
  FROM generate_series(1, 100) c, generate_series(0, 99) j,
       LATERAL (SELECT CASE WHEN j = 0 THEN 0 ELSE (j - 1) / 20 + 1 END AS d) dd;
END
$$;
SELECT bench_tokens(0, 'bench-bystander');

-- The baseline table: the same columns and indexes as warden.tokens, no functions, no events.
CREATE TABLE plain (LIKE warden.tokens INCLUDING DEFAULTS INCLUDING INDEXES);
CREATE TABLE timings (round int, what text, ms float8, PRIMARY KEY (round, what));
CREATE TABLE checks (round int PRIMARY KEY, tokens int, live_left int, distinct_revoked_at int, distinct_xmin int,
                     xmin_is_kill boolean, depth5 int, chains int);
SQL

for ((r = 1; r <= rounds; r++)); do
  "${psql[@]}" -d "$db" >/dev/null <<SQL
-- A fresh 10,000 live tokens for the agent (earlier rounds' are revoked), active again.
SELECT bench_tokens($r, 'bench-agent');
DO \$\$ BEGIN IF (SELECT status FROM warden.agents WHERE name = 'bench-agent') <> 'active' THEN
  PERFORM warden.reinstate_agent('bench-agent', 'bench round $r'); END IF; END \$\$;
TRUNCATE plain;
INSERT INTO plain SELECT * FROM warden.tokens WHERE agent_id = (SELECT agent_id FROM warden.agents WHERE name = 'bench-agent')
  AND revoked_at IS NULL;
VACUUM ANALYZE warden.tokens;
VACUUM ANALYZE plain;
SQL
  "${psql[@]}" -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
BEGIN;
CREATE TEMP TABLE t0 ON COMMIT DROP AS SELECT clock_timestamp() AS t0;
CREATE TEMP TABLE killed AS SELECT warden.kill(agent => 'bench-agent', reason => 'bench round $r') AS r;
INSERT INTO timings SELECT $r, 'kill', extract(epoch FROM clock_timestamp() - t0) * 1000 FROM t0;
COMMIT;
INSERT INTO checks
SELECT $r, (k.r->>'tokens')::int,
       (SELECT count(*) FROM warden.tokens t JOIN warden.agents a USING (agent_id)
        WHERE a.name = 'bench-agent' AND t.revoked_at IS NULL),
       count(DISTINCT t.revoked_at), count(DISTINCT t.xmin::text),
       bool_and(t.xmin::text::bigint = (k.r->>'transaction')::bigint % 4294967296),
       count(*) FILTER (WHERE t.depth = 5), count(DISTINCT t.chain_id)
FROM killed k, warden.tokens t WHERE t.revoked_reason = 'bench round $r' GROUP BY k.r;
BEGIN;
CREATE TEMP TABLE t0 ON COMMIT DROP AS SELECT clock_timestamp() AS t0;
UPDATE plain SET revoked_at = now(), revoked_by = session_user, revoked_reason = 'bench round $r' WHERE revoked_at IS NULL;
INSERT INTO timings SELECT $r, 'baseline', extract(epoch FROM clock_timestamp() - t0) * 1000 FROM t0;
COMMIT;
SQL
done

"${psql[@]}" -d "$db" -F ' ' -c "SELECT round, tokens, live_left, distinct_revoked_at, distinct_xmin, xmin_is_kill, depth5, chains FROM checks ORDER BY round" |
  while read -r round tokens live at xmins is_kill depth5 chains; do
    echo "round $round: kill revoked $tokens tokens in $chains chains ($depth5 at depth 5), $live left live; one transaction: $at revoked_at, $xmins xmin, xmin is the kill's: $is_kill"
  done
bad=$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM checks WHERE NOT (tokens = 10000 AND live_left = 0 AND distinct_revoked_at = 1 AND distinct_xmin = 1 AND xmin_is_kill AND depth5 = 1900 AND chains = 100)")
read -r kill_ms base_ms < <("${psql[@]}" -d "$db" -F ' ' -c "
  SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'kill')::numeric, 1),
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'baseline')::numeric, 1)
  FROM timings")
ratio=$(awk -v k="$kill_ms" -v b="$base_ms" 'BEGIN { printf "%.1f", k / b }')
echo "kill(agent) of 10000 tokens: ${kill_ms} ms; baseline bare UPDATE of 10000 rows: ${base_ms} ms; ratio ${ratio}x (median of $rounds rounds)"
[ "$bad" -eq 0 ] || { echo "FAIL: $bad rounds did not revoke all 10000 tokens in one transaction"; exit 1; }
