-- Attribution: from any event up to the originating human (warden.attribution), a chain as a
-- tree (warden.chain_tree) and everything an agent touched (warden.blast_radius).
-- Ids and times are never printed: they are compared with the rows they must name.
-- Names carry an att- prefix: other files share this database.
\set VERBOSITY default

CREATE TABLE regress.att_tokens (label text PRIMARY KEY, token text NOT NULL, chain_id uuid NOT NULL);
CREATE TABLE regress.att_events (label text PRIMARY KEY, event_id uuid NOT NULL);

CREATE FUNCTION regress.att_start(label text, agent text, purpose text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO regress.att_tokens
  SELECT att_start.label, s.token, s.chain_id
  FROM warden.start_chain('att-alice@example.com', att_start.agent, att_start.purpose) s
$$;
CREATE FUNCTION regress.att_delegate(label text, parent text, agent text, tools text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO regress.att_tokens
  SELECT att_delegate.label, d.token, p.chain_id
  FROM regress.att_tokens p, warden.delegate(p.token, att_delegate.agent, att_delegate.tools) d
  WHERE p.label = att_delegate.parent
$$;
-- Authorizes with a stored token, remembers the event under label, reports the decision.
CREATE FUNCTION regress.att_call(label text, token_label text, tool text, arguments jsonb DEFAULT '{}')
RETURNS text LANGUAGE sql AS $$
  WITH d AS (
    SELECT a.* FROM regress.att_tokens t,
      warden.authorize(t.token, 'att-tickets', att_call.tool, att_call.arguments) a
    WHERE t.label = att_call.token_label
  ), saved AS (INSERT INTO regress.att_events SELECT att_call.label, d.event_id FROM d)
  SELECT CASE WHEN d.allowed THEN 'allowed ' ELSE 'denied ' END || d.reason FROM d
$$;
-- What an id in an attribution row names, if anything: 'event:<kind>', 'token:<agent>',
-- 'chain:<purpose>' or 'human:<subject>'.
CREATE FUNCTION regress.att_names(id uuid) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(
    (SELECT 'event:' || e.kind FROM warden.events e WHERE e.event_id = id LIMIT 1),
    (SELECT 'token:' || a.name FROM warden.tokens t JOIN warden.agents a USING (agent_id) WHERE t.token_id = id),
    (SELECT 'chain:' || c.purpose FROM warden.chains c WHERE c.chain_id = id),
    (SELECT 'human:' || h.subject FROM warden.humans h WHERE h.human_id = id),
    'nothing')
$$;

SELECT warden.add_human('att-alice@example.com', 'Alice') IS NOT NULL AS human;
SELECT count(warden.add_agent(a, 'att-alice@example.com')) AS agents
FROM unnest(ARRAY['att-root', 'att-mid', 'att-leaf', 'att-other']) a;
SELECT warden.add_server('att-tickets', 'https://tickets.att.internal/mcp') IS NOT NULL AS server;
SELECT count(warden.grant(a, 'att-tickets/*')) AS grants
FROM unnest(ARRAY['att-root', 'att-mid', 'att-leaf', 'att-other']) a;

-- Chain 1: att-root delegates to att-mid, which delegates to att-leaf.
SELECT regress.att_start('root', 'att-root', 'triage ticket 4711');
SELECT regress.att_delegate('mid', 'root', 'att-mid', ARRAY['att-tickets/update_ticket', 'att-tickets/comment']);
SELECT regress.att_delegate('leaf', 'mid', 'att-leaf', ARRAY['att-tickets/update_ticket']);
SELECT regress.att_call('root-comment', 'root', 'comment');
SELECT regress.att_call('mid-comment', 'mid', 'comment');
SELECT regress.att_call('leaf-update', 'leaf', 'update_ticket', '{"field": "priority"}');
SELECT regress.att_call('leaf-refund', 'leaf', 'refund');
INSERT INTO regress.att_events
SELECT 'leaf-update-done', warden.complete(e.event_id, 'ok') FROM regress.att_events e WHERE e.label = 'leaf-update';
-- Chain 2: att-mid on its own. Chain 3: att-other, unrelated.
SELECT regress.att_start('mid-own', 'att-mid', 'mid on its own');
SELECT regress.att_call('mid-own-close', 'mid-own', 'close_ticket');
SELECT regress.att_start('other', 'att-other', 'unrelated');
SELECT regress.att_call('other-close', 'other', 'close_ticket');

-- 1. attribution: from the completion of att-leaf's call up to Alice.
SELECT a.depth, a.kind, a.name, regress.att_names(a.id) AS id_names, a.at IS NOT NULL AS has_time
FROM regress.att_events e, warden.attribution(e.event_id) a WHERE e.label = 'leaf-update-done'
ORDER BY a.depth;
-- The human row is the chain's human and the chain row the call's chain.
SELECT h.id = hu.human_id AS human_id_ok, c.id = t.chain_id AS chain_id_ok
FROM regress.att_events e
CROSS JOIN LATERAL (SELECT a.id FROM warden.attribution(e.event_id) a WHERE a.kind = 'human') h
CROSS JOIN LATERAL (SELECT a.id FROM warden.attribution(e.event_id) a WHERE a.kind = 'chain') c
JOIN regress.att_tokens t ON t.label = 'leaf'
JOIN warden.humans hu ON hu.subject = 'att-alice@example.com'
WHERE e.label = 'leaf-update-done';
-- A denied call is attributed the same way; so is the root's own call.
SELECT string_agg(a.kind || ':' || a.name, ' ' ORDER BY a.depth) AS leaf_refund
FROM regress.att_events e, warden.attribution(e.event_id) a WHERE e.label = 'leaf-refund';
SELECT string_agg(a.kind || ':' || a.name, ' ' ORDER BY a.depth) AS root_comment
FROM regress.att_events e, warden.attribution(e.event_id) a WHERE e.label = 'root-comment';
-- A delegation event: its token is the delegated one.
SELECT string_agg(a.kind || ':' || a.name, ' ' ORDER BY a.depth) AS leaf_delegated
FROM warden.events e, warden.attribution(e.event_id) a
WHERE e.kind = 'token_delegated' AND e.agent = 'att-leaf';
-- An event outside any chain stands alone.
SELECT string_agg(a.kind || ':' || a.name, ' ' ORDER BY a.depth) AS grant_event
FROM (SELECT e.event_id FROM warden.events e WHERE e.kind = 'grant_created' AND e.agent = 'att-leaf') e,
     warden.attribution(e.event_id) a;
SELECT regress.try('SELECT * FROM warden.attribution(NULL)');
SELECT regress.try('SELECT * FROM warden.attribution(''00000000-0000-4000-8000-000000000000'')');

-- 2. chain_tree: tokens by delegation depth, each followed by its events and sub-tokens.
SELECT t.depth, t.kind, t.agent, t.label,
       CASE WHEN t.parent_id IS NULL THEN '-' ELSE regress.att_names(t.parent_id) END AS parent
FROM regress.att_tokens r, warden.chain_tree(r.chain_id) t WHERE r.label = 'root';
SELECT count(*) AS rows, count(DISTINCT t.id) AS distinct_ids
FROM regress.att_tokens r, warden.chain_tree(r.chain_id) t WHERE r.label = 'root';
SELECT regress.try('SELECT * FROM warden.chain_tree(NULL)');
SELECT regress.try('SELECT * FROM warden.chain_tree(''00000000-0000-4000-8000-000000000000'')');

-- 3. blast_radius: att-mid touched both chains it held tokens in, its tokens and att-leaf's
-- below them, and their events; not att-root's token or calls, nor the unrelated chain.
SELECT b.kind, b.server, b.tool, b.allowed,
       (SELECT a.name FROM warden.tokens t JOIN warden.agents a USING (agent_id) WHERE t.token_id = b.token_id) AS holder,
       (SELECT c.purpose FROM warden.chains c WHERE c.chain_id = b.chain_id) AS chain
FROM warden.blast_radius('att-mid') b;
SELECT b.kind, count(*) FROM warden.blast_radius('att-root') b GROUP BY b.kind ORDER BY b.kind;
SELECT b.kind, count(*) FROM warden.blast_radius('att-other') b GROUP BY b.kind ORDER BY b.kind;
-- Revoked tokens still count: revoke chain 2 and att-mid's radius is unchanged.
SELECT warden.revoke_chain(chain_id, 'done') ->> 'tokens' AS revoked FROM regress.att_tokens WHERE label = 'mid-own';
SELECT count(*) AS mid_rows_after_revocation FROM warden.blast_radius('att-mid');
SELECT t.label FROM regress.att_tokens r, warden.chain_tree(r.chain_id) t WHERE r.label = 'mid-own' AND t.kind = 'token';
-- An agent that never held a token touched nothing.
SELECT warden.add_agent('att-idle', 'att-alice@example.com') IS NOT NULL AS idle_agent;
SELECT count(*) AS idle_rows FROM warden.blast_radius('att-idle');
SELECT regress.try('SELECT * FROM warden.blast_radius(NULL)');
SELECT regress.try('SELECT * FROM warden.blast_radius(''att-nobody'')');

-- 4. The auditor asks the same questions; the proxy cannot.
SELECT e.event_id AS done_id FROM regress.att_events e WHERE e.label = 'leaf-update-done' \gset
SELECT r.chain_id AS root_chain FROM regress.att_tokens r WHERE r.label = 'root' \gset
SET ROLE warden_auditor;
SELECT count(*) AS auditor_attribution FROM warden.attribution(:'done_id');
SELECT count(*) AS auditor_tree FROM warden.chain_tree(:'root_chain');
SELECT count(*) AS auditor_radius FROM warden.blast_radius('att-mid');
RESET ROLE;
SET ROLE warden_proxy;
SELECT count(*) FROM warden.blast_radius('att-mid');
SELECT count(*) FROM warden.attribution(:'done_id');
RESET ROLE;
