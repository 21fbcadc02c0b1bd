#!/usr/bin/env bash
# warden.attribution stays fast at scale: a call made at delegation depth 10, found among
# 1,000,000 audit events, is attributed back to its human in milliseconds (asserted < 50 ms).
# Runs in its own database; PGHOST/PGPORT/PGUSER come from the runner (scripts/pg env).
set -euo pipefail
db=warden_attribution_scale
limit_ms=50
events=${WARDEN_SCALE_EVENTS:-1000000}
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)

"${psql[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap '"${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS '"$db"'" >/dev/null 2>&1 || true' EXIT
"${psql[@]}" -d "$db" -c "CREATE EXTENSION warden"

start=$(date +%s)
# A chain of 11 agents, each delegating to the next (depth 0 .. 10), and one call at depth 10.
"${psql[@]}" -d "$db" >/dev/null <<'SQL'
SELECT warden.add_human('scale@example.com') IS NOT NULL;
SELECT warden.add_server('scale', 'https://scale.internal/mcp') IS NOT NULL;
SELECT count(warden.add_agent('agent-' || i, 'scale@example.com')) FROM generate_series(0, 10) i;
SELECT count(warden.grant('agent-' || i, 'scale/*')) FROM generate_series(0, 10) i;
CREATE TABLE scale_tokens (depth int PRIMARY KEY, token text NOT NULL);
INSERT INTO scale_tokens
SELECT 0, token FROM warden.start_chain('scale@example.com', 'agent-0', 'scale test', '1 hour');
DO $$
DECLARE
  parent text;
BEGIN
  FOR i IN 1..10 LOOP
    SELECT token INTO parent FROM scale_tokens WHERE depth = i - 1;
    INSERT INTO scale_tokens SELECT i, d.token FROM warden.delegate(parent, 'agent-' || i, ARRAY['scale/*']) d;
  END LOOP;
END
$$;
CREATE TABLE scale_call AS
SELECT a.* FROM scale_tokens t, warden.authorize(t.token, 'scale', 'write', '{"n": 1}') a WHERE t.depth = 10;
DO $$ BEGIN
  IF NOT (SELECT allowed AND reason = 'granted' FROM scale_call) THEN
    RAISE EXCEPTION 'the depth-10 call was not allowed: %', (SELECT reason FROM scale_call);
  END IF;
END $$;
SQL

# The haystack: events spread over ten days (daily partitions and the default partition), a
# tenth of them children of other events, with chains, tokens and agents like real traffic.
t0=$(date +%s.%N)
"${psql[@]}" -d "$db" <<SQL
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
INSERT INTO warden.events (event_id, at, kind, chain_id, token_id, parent_id, agent, human, server, tool,
                           allowed, reason, trace_id, arguments, arguments_digest, detail, actor, writer,
                           seq, mac)
SELECT gen_random_uuid(), now() - interval '3 days' + (i % 10) * interval '1 day' + (i % 86400) * interval '1 second',
       CASE WHEN i % 10 = 0 THEN 'completed' ELSE 'call' END,
       ('00000000-0000-4000-8000-' || lpad(to_hex(i % 50000), 12, '0'))::uuid,
       ('00000000-0000-4000-9000-' || lpad(to_hex(i % 200000), 12, '0'))::uuid,
       CASE WHEN i % 10 = 0 THEN ('00000000-0000-4000-a000-' || lpad(to_hex(i), 12, '0'))::uuid END,
       'bulk-agent-' || (i % 500), 'bulk@example.com', 'bulk', 'tool_' || (i % 40),
       i % 7 <> 0, CASE WHEN i % 7 <> 0 THEN 'granted' ELSE 'no_grant' END, 'trace',
       jsonb_build_object('n', i), '\x00'::bytea, '{}'::jsonb, 'bulk', '00000000-0000-4000-b000-000000000000', i, '\x00'::bytea
FROM generate_series(1, $events) i;
ANALYZE warden.events;
SQL
t1=$(date +%s.%N)
awk -v n="$events" -v a="$t0" -v b="$t1" 'BEGIN { printf "inserted %d events in %.1f s\n", n, b - a }'

# Time attribution of the depth-10 call: the first call of a fresh session, then the median of 20.
out=$("${psql[@]}" -d "$db" <<'SQL'
CREATE FUNCTION pg_temp.time_attribution(id uuid) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  n int;
BEGIN
  SELECT count(*) INTO n FROM warden.attribution(id);
  IF n <> 14 THEN RAISE EXCEPTION 'attribution returned % rows, expected 14', n; END IF;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
SELECT round(pg_temp.time_attribution(event_id)::numeric, 2) FROM scale_call;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2)
FROM (SELECT pg_temp.time_attribution(event_id) AS ms FROM scale_call, generate_series(1, 20)) s;
SELECT string_agg(depth || ':' || kind || ':' || name, ' ' ORDER BY depth)
FROM scale_call, warden.attribution(event_id);
SQL
)
first=$(sed -n 1p <<<"$out"); median=$(sed -n 2p <<<"$out"); path=$(sed -n 3p <<<"$out")
echo "attribution: $path"
echo "attribution of a depth-10 call among $(( events )) events: first call ${first} ms, median ${median} ms (limit ${limit_ms} ms)"
echo "total $(( $(date +%s) - start )) s"
expected="0:event:call 1:token:agent-10 2:token:agent-9 3:token:agent-8 4:token:agent-7 5:token:agent-6 6:token:agent-5 7:token:agent-4 8:token:agent-3 9:token:agent-2 10:token:agent-1 11:token:agent-0 12:chain:scale test 13:human:scale@example.com"
[ "$path" = "$expected" ] || { echo "FAIL: unexpected attribution path"; exit 1; }
awk -v m="$median" -v l="$limit_ms" 'BEGIN { exit !(m < l) }' || { echo "FAIL: median ${median} ms >= ${limit_ms} ms"; exit 1; }
echo "ok"
