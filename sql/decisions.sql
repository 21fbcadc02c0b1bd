-- Decisions end to end: the triage example, grant-time refusals, budgets, chain-bound grants,
-- delegation narrowing at call time, observe mode, changed tool definitions, revoked grants,
-- complete(), hostile input, and the append-only audit trail. Every call's outcome is logged
-- in regress.dec_calls so that the audit trail can be checked against it at the end.
-- Nothing printed depends on uuids, tokens or times: tokens live in regress.dec_tokens.
-- Names carry a dec- prefix: other files share this database.
\set VERBOSITY default

CREATE TABLE regress.dec_tokens (label text PRIMARY KEY, token text NOT NULL, chain_id uuid NOT NULL);
CREATE TABLE regress.dec_calls (n serial PRIMARY KEY, label text, event_id uuid, allowed boolean, reason text);

-- authorize with the token stored under label (NULL label: NULL token); logs and reports.
CREATE FUNCTION regress.dec_auth(label text, server text, tool text, arguments jsonb DEFAULT '{}',
                                 context jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  d warden.decision;
BEGIN
  SELECT a.* INTO STRICT d
  FROM warden.authorize((SELECT t.token FROM regress.dec_tokens t WHERE t.label = dec_auth.label),
                        server, tool, arguments, context) a;
  INSERT INTO regress.dec_calls (label, event_id, allowed, reason) VALUES (label, d.event_id, d.allowed, d.reason);
  RETURN CASE WHEN d.allowed THEN 'allowed ' ELSE 'denied ' END || d.reason;
END
$$;

-- The audit detail of the last logged call (what a denial names).
CREATE FUNCTION regress.dec_last_detail() RETURNS jsonb LANGUAGE sql AS $$
  SELECT e.detail - 'context' FROM warden.events e
  WHERE e.event_id = (SELECT c.event_id FROM regress.dec_calls c ORDER BY c.n DESC LIMIT 1)
$$;

-- The event of the last logged call.
CREATE FUNCTION regress.dec_last_event() RETURNS uuid LANGUAGE sql AS $$
  SELECT c.event_id FROM regress.dec_calls c ORDER BY c.n DESC LIMIT 1
$$;

-- Names of the tools visible_tools lets through.
CREATE FUNCTION regress.dec_visible(label text, server text, tools jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_path_query_array(
           warden.visible_tools((SELECT t.token FROM regress.dec_tokens t WHERE t.label = dec_visible.label),
                                server, tools),
           '$[*].name')
$$;

CREATE FUNCTION regress.dec_start(label text, agent text, purpose text) RETURNS text LANGUAGE sql AS $$
  INSERT INTO regress.dec_tokens
  SELECT label, s.token, s.chain_id FROM warden.start_chain('dec-alice@example.com', agent, purpose) s
  RETURNING 'started ' || label
$$;

CREATE FUNCTION regress.dec_delegate(label text, parent text, agent text, tools text[]) RETURNS text
LANGUAGE sql AS $$
  INSERT INTO regress.dec_tokens
  SELECT dec_delegate.label, d.token, p.chain_id
  FROM regress.dec_tokens p, warden.delegate(p.token, dec_delegate.agent, dec_delegate.tools) d
  WHERE p.label = dec_delegate.parent
  RETURNING 'delegated ' || dec_delegate.label
$$;

-- regress.try with every uuid masked (some messages name the event or grant).
CREATE FUNCTION regress.dec_try(statement text) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(regress.try(statement), '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
                        '<uuid>', 'g')
$$;

-- The definitions warden-mcp would list for the dec-tickets server.
CREATE FUNCTION regress.dec_tool_list(update_description text DEFAULT 'Update one field of a ticket')
RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_array(
    jsonb_build_object('name', 'update_ticket', 'description', update_description,
                       'inputSchema', jsonb_build_object('type', 'object')),
    jsonb_build_object('name', 'refund', 'description', 'Refund an order',
                       'inputSchema', jsonb_build_object('type', 'object')))
$$;

SELECT warden.add_human('dec-alice@example.com', 'Alice') IS NOT NULL AS human;
SELECT count(warden.add_agent(a, 'dec-alice@example.com')) AS agents
FROM unnest(ARRAY['dec-triage', 'dec-sub', 'dec-budget', 'dec-bound', 'dec-watcher']) a;
SELECT warden.add_server('dec-tickets', 'https://tickets.dec.internal/mcp') IS NOT NULL AS server;

-- 1. The triage example: update_ticket only with field in (priority); no refund.
SELECT warden.grant('dec-triage', 'dec-tickets/update_ticket', '{"field": {"in": ["priority"]}}',
                    reason => 'triage may reprioritise') IS NOT NULL AS granted;
SELECT regress.dec_start('triage', 'dec-triage', 'triage ticket 4711');
SELECT regress.dec_visible('triage', 'dec-tickets', regress.dec_tool_list()) AS visible;
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"ticket": 4711, "field": "priority", "value": "high"}');
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"ticket": 4711, "field": "status", "value": "closed"}');
SELECT regress.dec_last_detail() AS denial;
SELECT regress.dec_auth('triage', 'dec-tickets', 'refund', '{"order": 1}');
SELECT regress.dec_last_detail() AS denial;

-- 2. Grant-time refusals: nothing is written.
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', '{"field": {"pattern": "("}}')$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', '{"field": {"like": "x%"}}')$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', '[]')$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', '{}', NULL)$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', '{}', '0 seconds')$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-nosuch/x')$$);
SELECT regress.try($$SELECT warden.grant('dec-nobody', 'dec-tickets/x')$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', '{}', '1 hour', 0)$$);
SELECT regress.dec_try($$SELECT warden.grant('dec-triage', 'dec-tickets/x', chain_id => '00000000-0000-4000-8000-000000000000')$$);
SELECT regress.try($$SELECT warden.grant('dec-triage', 'not a tool')$$);
-- A NULL agent is a missing argument (22004), like everywhere else, not an unknown agent.
SELECT left(regress.try($$SELECT warden.grant(NULL, 'dec-tickets/x')$$), 5) AS null_agent;
SELECT regress.try($$SELECT warden.grant('dec-triage', NULL)$$);
SELECT count(*) AS grants_for_x FROM warden.grants g WHERE g.server = 'dec-tickets' AND g.tool = 'x';

-- 3. A call budget is spent exactly, then exhausted.
SELECT warden.grant('dec-budget', 'dec-tickets/close_ticket', ttl => '1 hour', max_calls => 2) IS NOT NULL AS granted;
SELECT regress.dec_start('budget', 'dec-budget', 'close two tickets');
SELECT regress.dec_auth('budget', 'dec-tickets', 'close_ticket', '{"ticket": 1}');
SELECT regress.dec_auth('budget', 'dec-tickets', 'close_ticket', '{"ticket": 2}');
SELECT regress.dec_auth('budget', 'dec-tickets', 'close_ticket', '{"ticket": 3}');
SELECT g.calls_used, g.max_calls FROM warden.grants g JOIN warden.agents a USING (agent_id) WHERE a.name = 'dec-budget';

-- 4. A chain-bound grant works only within its chain.
SELECT regress.dec_start('bound-a', 'dec-bound', 'chain A');
SELECT regress.dec_start('bound-b', 'dec-bound', 'chain B');
SELECT warden.grant('dec-bound', 'dec-tickets/comment', chain_id => (SELECT chain_id FROM regress.dec_tokens WHERE label = 'bound-a'))
       IS NOT NULL AS granted;
SELECT regress.dec_auth('bound-a', 'dec-tickets', 'comment', '{"text": "hi"}');
SELECT regress.dec_auth('bound-b', 'dec-tickets', 'comment', '{"text": "hi"}');

-- 5. Delegation narrows at call time: dec-sub holds a broader grant (every dec-tickets tool,
-- unconstrained) than the dec-triage token it was delegated from, but each call must also be
-- allowed for dec-triage, and a denial names the delegating agent.
SELECT warden.grant('dec-sub', 'dec-tickets/*') IS NOT NULL AS granted;
SELECT regress.dec_delegate('sub', 'triage', 'dec-sub', ARRAY['dec-tickets/update_ticket']);
SELECT regress.dec_auth('sub', 'dec-tickets', 'update_ticket', '{"field": "priority"}');
SELECT regress.dec_auth('sub', 'dec-tickets', 'update_ticket', '{"field": "status"}');
SELECT regress.dec_last_detail() AS denial;
SELECT regress.dec_auth('sub', 'dec-tickets', 'refund', '{}');
-- Its own chain: dec-sub may call update_ticket with any field.
SELECT regress.dec_start('sub-own', 'dec-sub', 'sub on its own');
SELECT regress.dec_auth('sub-own', 'dec-tickets', 'update_ticket', '{"field": "status"}');

-- 6. Observe mode allows scope denials and records them as what would have happened; it
-- never overrides identity or revocation denials.
SELECT warden.set_mode('dec-watcher', 'observe');
SELECT warden.grant('dec-watcher', 'dec-tickets/update_ticket', '{"field": {"eq": "priority"}}') IS NOT NULL AS granted;
SELECT regress.dec_start('watch', 'dec-watcher', 'watch');
SELECT regress.dec_auth('watch', 'dec-tickets', 'refund', '{}');
SELECT regress.dec_last_detail() AS observed;
SELECT regress.dec_auth('watch', 'dec-tickets', 'update_ticket', '{"field": "status"}');
SELECT regress.dec_last_detail() AS observed;
SELECT regress.dec_auth('watch', 'dec-tickets', 'update_ticket', '{"field": "priority"}');
SELECT regress.dec_last_detail() ? 'mode' AS marked_observe, regress.dec_last_detail() ? 'grant_id' AS names_grant;
SELECT regress.dec_auth('watch', 'dec-tickets', 'refund', '[]');
SELECT regress.dec_auth('watch', 'dec-nosuch', 'refund', '{}');
-- Suspended agent: denied even in observe mode. (warden.revoke_agent also revokes the agent's
-- tokens, which would answer token_revoked first; a suspension alone is set directly, as the
-- superuser running this file.)
UPDATE warden.agents SET status = 'suspended' WHERE name = 'dec-watcher';
SELECT regress.dec_auth('watch', 'dec-tickets', 'refund', '{}');
UPDATE warden.agents SET status = 'active' WHERE name = 'dec-watcher';
-- Revoked token, revoked chain: denied even in observe mode.
SELECT regress.dec_start('watch-revoked', 'dec-watcher', 'watch, then token revoked');
SELECT warden.revoke_token(t.token_id, 'test') ->> 'tokens' AS revoked_tokens
FROM warden.tokens t WHERE t.chain_id = (SELECT chain_id FROM regress.dec_tokens WHERE label = 'watch-revoked');
SELECT regress.dec_auth('watch-revoked', 'dec-tickets', 'refund', '{}');
SELECT regress.dec_start('watch-chain', 'dec-watcher', 'watch, then chain revoked');
SELECT warden.revoke_chain(chain_id, 'test') ->> 'tokens' AS revoked_tokens FROM regress.dec_tokens WHERE label = 'watch-chain';
SELECT regress.dec_auth('watch-chain', 'dec-tickets', 'refund', '{}');
SELECT warden.set_mode('dec-watcher', 'enforce');
SELECT regress.dec_auth('watch', 'dec-tickets', 'refund', '{}');

-- 7. A changed tool definition is hidden and denied until approved.
SELECT regress.dec_visible('triage', 'dec-tickets', regress.dec_tool_list()) AS visible_v1;
SELECT regress.dec_visible('triage', 'dec-tickets', regress.dec_tool_list('Update any field, and email the customer')) AS visible_v2;
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}');
SELECT regress.dec_last_detail() AS denial;
SELECT warden.approve_tool('dec-tickets', 'update_ticket');
SELECT regress.dec_visible('triage', 'dec-tickets', regress.dec_tool_list('Update any field, and email the customer')) AS visible_approved;
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}');
SELECT regress.try($$SELECT warden.approve_tool('dec-tickets', 'never_listed')$$);

-- 8. A revoked grant no longer allows anything.
CREATE TABLE regress.dec_grant AS SELECT warden.grant('dec-triage', 'dec-tickets/reopen') AS grant_id;
SELECT regress.dec_auth('triage', 'dec-tickets', 'reopen', '{}');
SELECT warden.revoke_grant(grant_id, 'no longer needed') FROM regress.dec_grant;
SELECT regress.dec_auth('triage', 'dec-tickets', 'reopen', '{}');
SELECT g.revoked_reason, g.revoked_at IS NOT NULL AS revoked FROM warden.grants g JOIN regress.dec_grant USING (grant_id);
SELECT e.detail ->> 'reason' AS audited_reason FROM warden.events e
WHERE e.kind = 'grant_revoked' AND e.detail ->> 'grant_id' = (SELECT grant_id::text FROM regress.dec_grant);
SET client_min_messages = warning;  -- revoking twice is a NOTICE naming the grant
SELECT regress.dec_try(format('SELECT warden.revoke_grant(%L)', grant_id)) AS again FROM regress.dec_grant;
RESET client_min_messages;
SELECT regress.dec_try('SELECT warden.revoke_grant(''00000000-0000-4000-8000-000000000000'')') AS unknown_grant;
SELECT regress.dec_try('SELECT warden.revoke_grant(NULL)') AS null_grant;

-- 9. complete(): once, for an allowed call only.
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}');
CREATE TABLE regress.dec_done AS
SELECT regress.dec_last_event() AS call_id, warden.complete(regress.dec_last_event(), 'ok', '{"rows": 1}') AS event_id;
SELECT e.kind, e.parent_id = d.call_id AS under_call, e.allowed, e.reason, e.detail, e.agent, e.server, e.tool,
       e.chain_id = c.chain_id AS same_chain
FROM regress.dec_done d JOIN warden.events e ON e.event_id = d.event_id
JOIN warden.events c ON c.event_id = d.call_id;
SELECT regress.dec_try(format('SELECT warden.complete(%L, %L)', call_id, 'ok')) AS twice FROM regress.dec_done;
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "status"}');
SELECT regress.dec_try(format('SELECT warden.complete(%L, %L)', regress.dec_last_event(), 'ok')) AS denied_call;
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}');
SELECT regress.dec_try(format('SELECT warden.complete(%L, %L)', regress.dec_last_event(), 'finished')) AS bad_status;
SELECT regress.dec_try(format('SELECT warden.complete(%L, NULL)', regress.dec_last_event())) AS null_status;
SELECT regress.dec_try('SELECT warden.complete(NULL, ''ok'')') AS null_event;
SELECT regress.dec_try('SELECT warden.complete(''00000000-0000-4000-8000-000000000000'', ''ok'')') AS unknown_event;
SELECT regress.dec_try(format('SELECT warden.complete(%L, %L)', e.event_id, 'ok')) AS not_a_call
FROM warden.events e WHERE e.kind = 'grant_created' AND e.agent = 'dec-triage' LIMIT 1;
SELECT warden.complete(regress.dec_last_event(), 'error', NULL) IS NOT NULL AS completed_with_null_detail;

-- 10. Hostile and malformed input: always a decision (or a clear error), and the session goes on.
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '[{"field": "priority"}]');
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '"priority"');
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', 'null');
-- 10,000 levels of nesting inside an object.
SELECT regress.try($$SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket',
                     jsonb_build_object('field', 'priority', 'deep', (repeat('[', 10000) || repeat(']', 10000))::jsonb))$$);
SELECT c.reason FROM regress.dec_calls c ORDER BY c.n DESC LIMIT 1;
SELECT 'session continues' AS still_here;
-- A 10 MiB string value: decided on in full, kept in the audit trail only as a size marker,
-- proven by the digest.
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket',
                        jsonb_build_object('field', 'priority', 'note', repeat('x', 10485760)));
SELECT length(e.arguments::text) < 10000 AS arguments_truncated, e.arguments ->> 'field' AS field,
       length(e.arguments_digest) AS digest_bytes
FROM warden.events e WHERE e.event_id = regress.dec_last_event();
SELECT regress.dec_auth('triage', 'dec-nosuch', 'update_ticket', '{"field": "priority"}');
SELECT regress.dec_auth('triage', 'dec-tickets', 'no_such_tool', '{}');
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}', '{"session": "s-1"}');
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}', '[1, 2]');
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', '{"field": "priority"}', NULL);
SELECT regress.dec_auth('triage', 'dec-tickets', 'update_ticket', NULL);
SELECT regress.dec_auth('triage', 'dec-tickets', NULL, '{}');
SELECT regress.dec_auth('triage', NULL, 'update_ticket', '{}');
SELECT regress.dec_auth('triage', '', '', '{}');
SELECT regress.dec_auth(NULL, 'dec-tickets', 'update_ticket', '{"field": "priority"}');
SELECT regress.dec_auth(NULL, NULL, NULL, NULL, NULL);
SELECT (warden.authorize('v4.local.garbage', 'dec-tickets', 'update_ticket')).reason AS garbage_token;
SELECT (warden.authorize('', 'dec-tickets', 'update_ticket')).reason AS empty_token;
SELECT warden.visible_tools(NULL, 'dec-tickets', regress.dec_tool_list()) AS visible_without_token;
SELECT warden.visible_tools(t.token, 'dec-nosuch', regress.dec_tool_list()) AS visible_unknown_server
FROM regress.dec_tokens t WHERE t.label = 'triage';
SELECT regress.try($$SELECT warden.visible_tools(NULL, NULL, NULL)$$);
SELECT regress.try($$SELECT warden.visible_tools(NULL, 'dec-tickets', '{"name": "x"}')$$);

-- 11. Every logged call has its audit event with the same outcome, and every denial is there.
SELECT count(*) FILTER (WHERE NOT c.allowed) AS denials_logged,
       count(*) FILTER (WHERE NOT c.allowed AND e.kind = 'call' AND NOT e.allowed AND e.reason = c.reason)
         AS denials_audited,
       count(*) FILTER (WHERE c.allowed AND e.kind = 'call' AND e.allowed AND e.reason = c.reason) AS allowed_audited,
       count(*) FILTER (WHERE c.allowed) AS allowed_logged
FROM regress.dec_calls c LEFT JOIN warden.events e ON e.event_id = c.event_id;
SELECT c.reason, count(*) FROM regress.dec_calls c GROUP BY c.reason ORDER BY c.reason;

-- 12. The audit trail is append-only, even for the superuser running this file.
SELECT regress.try($$UPDATE warden.events SET reason = 'granted' WHERE event_id IN (SELECT event_id FROM regress.dec_calls)$$);
SELECT regress.try($$DELETE FROM warden.events WHERE event_id IN (SELECT event_id FROM regress.dec_calls)$$);
SELECT regress.try($$TRUNCATE warden.events$$);
SELECT regress.try($$TRUNCATE warden.events_default$$);
SELECT warden._ensure_event_partitions(1) >= 0 AS daily_partitions_exist;  -- normally the worker's job
SELECT regress.try(format('TRUNCATE %s', c.oid::regclass)) AS truncate_a_daily_partition
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'warden.events'::regclass AND c.relname <> 'events_default'
ORDER BY c.relname LIMIT 1;
SELECT count(*) = (SELECT count(*) FROM regress.dec_calls) AS all_still_there
FROM warden.events e WHERE e.event_id IN (SELECT event_id FROM regress.dec_calls);
