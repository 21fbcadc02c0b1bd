-- warden 0.1.0: attribution (who is behind an event, what a chain did, what an agent touched)
--
-- Read-only questions an auditor asks of the audit graph. Every answer walks indexed links only
-- (events by primary key, tokens by primary key and parent, events by token and chain), so a
-- call at any delegation depth among millions of events is attributed in milliseconds.

-- Blast radius starts from every token an agent ever held, live or revoked; tokens_agent_live
-- covers only live ones.
CREATE INDEX tokens_agent ON warden.tokens (agent_id);

-- From an event up to the originating human: the event (depth 0), its parent events (a
-- completed event's call ...), the token that acted, every token it was delegated from, the
-- chain and the human. depth counts the steps from the event.
CREATE FUNCTION warden.attribution(event_id uuid)
RETURNS TABLE (depth int, kind text, id uuid, name text, at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  start_id uuid := attribution.event_id;
BEGIN
  IF start_id IS NULL THEN
    RAISE EXCEPTION 'attribution needs an event_id'
      USING ERRCODE = '22004', HINT = 'Pass the event_id of a warden.events row, e.g. from warden.authorize(...).event_id.';
  END IF;
  IF NOT EXISTS (SELECT FROM warden.events e WHERE e.event_id = start_id) THEN
    RAISE EXCEPTION 'unknown event %', start_id
      USING ERRCODE = '42704', HINT = 'Look the event up in warden.events; event ids are never reused or removed.';
  END IF;

  RETURN QUERY
  WITH RECURSIVE
  -- The event and its ancestors through parent_id (a parent chain never loops, but the walk
  -- stops after 64 steps whatever the data says).
  up (step, event_id, kind, at, token_id, chain_id, human, parent_id) AS (
    SELECT 0, e.event_id, e.kind, e.at, e.token_id, e.chain_id, e.human, e.parent_id
    FROM warden.events e WHERE e.event_id = start_id
    UNION ALL
    SELECT up.step + 1, p.event_id, p.kind, p.at, p.token_id, p.chain_id, p.human, p.parent_id
    FROM up CROSS JOIN LATERAL (
      SELECT e.event_id, e.kind, e.at, e.token_id, e.chain_id, e.human, e.parent_id
      FROM warden.events e WHERE e.event_id = up.parent_id ORDER BY e.at LIMIT 1
    ) p
    WHERE up.parent_id IS NOT NULL AND up.step < 64
  ),
  -- The acting token, chain and human: the nearest event that names each.
  acting AS (
    SELECT (SELECT u.token_id FROM up u WHERE u.token_id IS NOT NULL ORDER BY u.step LIMIT 1) AS token_id,
           (SELECT u.chain_id FROM up u WHERE u.chain_id IS NOT NULL ORDER BY u.step LIMIT 1) AS chain_id,
           (SELECT u.human FROM up u WHERE u.human IS NOT NULL ORDER BY u.step LIMIT 1) AS human,
           (SELECT count(*)::int FROM up) AS n_events
  ),
  lineage (hop, token_id, parent_id, agent_id, issued_at, chain_id) AS (
    SELECT 0, t.token_id, t.parent_id, t.agent_id, t.issued_at, t.chain_id
    FROM acting JOIN warden.tokens t ON t.token_id = acting.token_id
    UNION ALL
    SELECT l.hop + 1, t.token_id, t.parent_id, t.agent_id, t.issued_at, t.chain_id
    FROM lineage l JOIN warden.tokens t ON t.token_id = l.parent_id
    WHERE l.hop < 64
  ),
  n AS (SELECT acting.n_events, (SELECT count(*)::int FROM lineage) AS n_tokens FROM acting),
  chain AS (
    SELECT ch.chain_id, ch.purpose, ch.created_at, ch.human_id
    FROM acting JOIN warden.chains ch
      ON ch.chain_id = coalesce(acting.chain_id, (SELECT l.chain_id FROM lineage l WHERE l.hop = 0))
  ),
  human AS (
    -- The chain's human; an event outside any chain (e.g. grant_created) may still name one.
    SELECT h.human_id, h.subject, h.created_at FROM chain JOIN warden.humans h ON h.human_id = chain.human_id
    UNION ALL
    SELECT h.human_id, h.subject, h.created_at FROM acting JOIN warden.humans h ON h.subject = acting.human
    WHERE NOT EXISTS (SELECT FROM chain)
  )
  SELECT u.step, 'event'::text, u.event_id, u.kind, u.at FROM up u
  UNION ALL
  SELECT n.n_events + l.hop, 'token', l.token_id, a.name, l.issued_at
  FROM n, lineage l JOIN warden.agents a ON a.agent_id = l.agent_id
  UNION ALL
  SELECT n.n_events + n.n_tokens, 'chain', c.chain_id, c.purpose, c.created_at FROM n, chain c
  UNION ALL
  SELECT n.n_events + n.n_tokens + CASE WHEN EXISTS (SELECT FROM chain) THEN 1 ELSE 0 END,
         'human', h.human_id, h.subject, h.created_at
  FROM n, human h
  ORDER BY 1;
END
$$;

-- A chain as a tree: every token (depth = delegation depth, parent_id = the token it was
-- delegated from) and every event of the chain under its token (a completed event under its
-- call). Rows come in tree order: each token is followed by its events and sub-tokens.
CREATE FUNCTION warden.chain_tree(chain_id uuid)
RETURNS TABLE (depth int, kind text, id uuid, parent_id uuid, agent text, label text, at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  wanted uuid := chain_tree.chain_id;
BEGIN
  IF wanted IS NULL THEN
    RAISE EXCEPTION 'chain_tree needs a chain_id'
      USING ERRCODE = '22004', HINT = 'Pass a chain_id from warden.chains or from warden.start_chain(...).';
  END IF;
  IF NOT EXISTS (SELECT FROM warden.chains c WHERE c.chain_id = wanted) THEN
    RAISE EXCEPTION 'unknown chain %', wanted
      USING ERRCODE = '42704', HINT = 'Look the chain up in warden.chains (the chain id is also the trace id).';
  END IF;

  RETURN QUERY
  WITH RECURSIVE
  tree (depth, token_id, parent_id, agent_id, tools, issued_at, revoked_at, path) AS (
    SELECT t.depth, t.token_id, t.parent_id, t.agent_id, t.tools, t.issued_at, t.revoked_at,
           ARRAY[to_char(t.issued_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || t.token_id::text]
    FROM warden.tokens t WHERE t.chain_id = wanted AND t.parent_id IS NULL
    UNION ALL
    SELECT t.depth, t.token_id, t.parent_id, t.agent_id, t.tools, t.issued_at, t.revoked_at,
           tree.path || (to_char(t.issued_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || t.token_id::text)
    FROM tree JOIN warden.tokens t ON t.parent_id = tree.token_id
    WHERE cardinality(tree.path) < 65
  ),
  chain_events AS (
    SELECT e.event_id, e.at, e.kind, e.token_id, e.parent_id, e.agent, e.server, e.tool, e.allowed, e.reason
    FROM warden.events e WHERE e.chain_id = wanted
  ),
  -- Events directly under a token (or under nothing, for chain-level events such as a
  -- chain-bound grant), then events under those events.
  ev (depth, event_id, parent, agent, label, at, path) AS (
    SELECT coalesce(tr.depth + 1, 0), e.event_id, e.token_id, e.agent,
           concat_ws(' ', e.kind, e.server || '/' || e.tool,
                     CASE WHEN e.allowed THEN 'allowed' WHEN NOT e.allowed THEN 'denied' END, e.reason),
           e.at,
           coalesce(tr.path, '{}') || (to_char(e.at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || e.event_id::text)
    FROM chain_events e LEFT JOIN tree tr ON tr.token_id = e.token_id
    WHERE e.parent_id IS NULL OR NOT EXISTS (SELECT FROM chain_events pe WHERE pe.event_id = e.parent_id)
    UNION ALL
    SELECT ev.depth + 1, e.event_id, e.parent_id, e.agent,
           concat_ws(' ', e.kind, e.server || '/' || e.tool,
                     CASE WHEN e.allowed THEN 'allowed' WHEN NOT e.allowed THEN 'denied' END, e.reason),
           e.at,
           ev.path || (to_char(e.at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || e.event_id::text)
    FROM ev JOIN chain_events e ON e.parent_id = ev.event_id
    WHERE cardinality(ev.path) < 130
  )
  SELECT r.depth, r.kind, r.id, r.parent_id, r.agent, r.label, r.at
  FROM (
    SELECT tr.depth, 'token'::text AS kind, tr.token_id AS id, tr.parent_id, a.name AS agent,
           concat_ws(' ', 'tools ' || coalesce(array_to_string(tr.tools, ','), '(all granted)'),
                     CASE WHEN tr.revoked_at IS NOT NULL THEN 'revoked' END) AS label,
           tr.issued_at AS at, tr.path
    FROM tree tr JOIN warden.agents a ON a.agent_id = tr.agent_id
    UNION ALL
    SELECT ev.depth, 'event', ev.event_id, ev.parent, ev.agent, ev.label, ev.at, ev.path FROM ev
  ) r
  ORDER BY r.path;
END
$$;

-- Everything an agent touched: each chain in which it held a token, each token it held or that
-- was delegated below one of its tokens (by any agent), and each event of those tokens. Chain
-- rows have no token_id, token rows no event_id.
CREATE FUNCTION warden.blast_radius(agent text)
RETURNS TABLE (chain_id uuid, token_id uuid, event_id uuid, kind text, server text, tool text,
               allowed boolean, at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  who uuid;
BEGIN
  IF blast_radius.agent IS NULL THEN
    RAISE EXCEPTION 'blast_radius needs an agent name'
      USING ERRCODE = '22004', HINT = 'Pass the name of an agent from warden.agents.';
  END IF;
  SELECT a.agent_id INTO who FROM warden.agents a WHERE a.name = blast_radius.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', blast_radius.agent
      USING ERRCODE = '42704', HINT = 'Agents are listed in warden.agents; names are case-sensitive.';
  END IF;

  RETURN QUERY
  WITH RECURSIVE reach (token_id, chain_id, issued_at, hops) AS (
    SELECT t.token_id, t.chain_id, t.issued_at, 0 FROM warden.tokens t WHERE t.agent_id = who
    UNION
    SELECT t.token_id, t.chain_id, t.issued_at, 0
    FROM reach r JOIN warden.tokens t ON t.parent_id = r.token_id
  ),
  tokens AS (SELECT DISTINCT r.token_id, r.chain_id, r.issued_at FROM reach r)
  SELECT x.chain_id, x.token_id, x.event_id, x.kind, x.server, x.tool, x.allowed, x.at
  FROM (
    SELECT c.chain_id, NULL::uuid AS token_id, NULL::uuid AS event_id, 'chain'::text AS kind,
           NULL::text AS server, NULL::text AS tool, NULL::boolean AS allowed, c.created_at AS at
    FROM warden.chains c WHERE c.chain_id IN (SELECT tk.chain_id FROM tokens tk)
    UNION ALL
    SELECT tk.chain_id, tk.token_id, NULL, 'token', NULL, NULL, NULL, tk.issued_at FROM tokens tk
    UNION ALL
    SELECT e.chain_id, e.token_id, e.event_id, e.kind, e.server, e.tool, e.allowed, e.at
    FROM tokens tk JOIN warden.events e ON e.token_id = tk.token_id
  ) x
  ORDER BY x.at, x.kind, x.event_id;
END
$$;

REVOKE ALL ON FUNCTION warden.attribution(uuid), warden.chain_tree(uuid), warden.blast_radius(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.attribution(uuid), warden.chain_tree(uuid), warden.blast_radius(text)
TO warden_admin, warden_auditor;
