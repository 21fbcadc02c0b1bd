-- Attribution: from an event up to the originating human (replaces 0.1.0's, see 80_attribution.sql).

-- From an event up to the originating human: the event (depth 0), its parent events (a
-- completed event's call ...), the token that acted, every token it was delegated from, the
-- chain and the human. depth counts the steps from the event. Since 0.2.0 a call a person
-- approved walks through its approval_granted event, followed by an 'approver' row (the human
-- who said yes, at the same depth) and then the call that asked.
CREATE OR REPLACE FUNCTION warden.attribution(event_id uuid)
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
  SELECT r.s, r.k, r.i, r.n, r.a FROM (
  SELECT u.step, 'event'::text, u.event_id, u.kind, u.at FROM up u
  UNION ALL
  SELECT u.step, 'approver'::text, h.human_id, h.subject, u.at
  FROM up u JOIN warden.approvals ap ON ap.decision_event = u.event_id
  JOIN warden.humans h ON h.subject = ap.approver
  WHERE u.kind = 'approval_granted'
  UNION ALL
  SELECT n.n_events + l.hop, 'token', l.token_id, a.name, l.issued_at
  FROM n, lineage l JOIN warden.agents a ON a.agent_id = l.agent_id
  UNION ALL
  SELECT n.n_events + n.n_tokens, 'chain', c.chain_id, c.purpose, c.created_at FROM n, chain c
  UNION ALL
  SELECT n.n_events + n.n_tokens + CASE WHEN EXISTS (SELECT FROM chain) THEN 1 ELSE 0 END,
         'human', h.human_id, h.subject, h.created_at
  FROM n, human h
  ) r (s, k, i, n, a)
  ORDER BY r.s, r.k = 'approver';
END
$$;
REVOKE ALL ON FUNCTION warden.attribution(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.attribution(uuid) TO warden_admin, warden_auditor;
