-- warden 0.1.0: revocation

-- Revocation is committed state: authorize reads it in the snapshot of its own statement, so
-- any authorize that starts after a revocation commits is denied, on every connection, with
-- nothing cached to get in the way. After commit, a notification on channel warden_events
-- tells every front-end which in-flight calls to abort. Its JSON payload is small (PostgreSQL
-- caps payloads at 8000 bytes): kind, the chain or agent, and up to 100 revoked token ids
-- (token_count gives the total).

-- Revokes the given live tokens and every token delegated from them, transitively. Returns
-- the ids revoked now (already revoked tokens are left as they are).
CREATE FUNCTION warden._revoke_tokens(roots uuid[], why text) RETURNS uuid[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tree uuid[];
  revoked uuid[];
  more uuid[];
BEGIN
  WITH RECURSIVE t AS (
    SELECT tt.token_id FROM warden.tokens tt WHERE tt.token_id = ANY (roots)
    UNION
    SELECT c.token_id FROM warden.tokens c JOIN t ON c.parent_id = t.token_id
  )
  SELECT coalesce(array_agg(token_id), '{}') INTO tree FROM t;
  WITH r AS (
    UPDATE warden.tokens t SET revoked_at = now(), revoked_by = session_user, revoked_reason = why
    WHERE t.token_id = ANY (tree) AND t.revoked_at IS NULL RETURNING t.token_id
  )
  SELECT coalesce(array_agg(token_id), '{}') INTO revoked FROM r;
  -- A delegate that held a share lock on a token updated above has committed by now, but its
  -- new token was invisible to the snapshot of that statement. Each statement here takes a new
  -- snapshot (READ COMMITTED), so repeat until no live child of the tree is left.
  LOOP
    WITH r AS (
      UPDATE warden.tokens c SET revoked_at = now(), revoked_by = session_user, revoked_reason = why
      WHERE c.parent_id = ANY (tree) AND c.revoked_at IS NULL RETURNING c.token_id
    )
    SELECT coalesce(array_agg(token_id), '{}') INTO more FROM r;
    EXIT WHEN cardinality(more) = 0;
    tree := tree || more;
    revoked := revoked || more;
  END LOOP;
  RETURN revoked;
END
$$;

CREATE FUNCTION warden._notify_revocation(kind text, chain_id uuid, agent text, token_ids uuid[])
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_notify('warden_events', jsonb_build_object(
    'kind', kind, 'chain_id', chain_id, 'agent', agent,
    'token_ids', to_jsonb(token_ids[1:100]), 'token_count', cardinality(token_ids))::text)
$$;

CREATE FUNCTION warden.revoke_token(token_id uuid, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  ids uuid[];
BEGIN
  IF token_id IS NULL THEN
    RAISE EXCEPTION 'token_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT tt.chain_id, a.name AS agent, h.subject AS human INTO t
  FROM warden.tokens tt JOIN warden.agents a ON a.agent_id = tt.agent_id
  JOIN warden.chains c ON c.chain_id = tt.chain_id JOIN warden.humans h ON h.human_id = c.human_id
  WHERE tt.token_id = revoke_token.token_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown token %', token_id
      USING ERRCODE = '42704', HINT = 'Token ids are in warden.tokens and in each event''s token_id.';
  END IF;
  ids := warden._revoke_tokens(ARRAY[token_id], reason);
  IF cardinality(ids) = 0 THEN
    RAISE NOTICE 'token % and everything delegated from it were already revoked', token_id;
  ELSE
    PERFORM warden._event('token_revoked', t.chain_id, token_id, NULL, t.agent, t.human,
                          jsonb_build_object('revoked_tokens', cardinality(ids)), NULL, reason);
    PERFORM warden._notify_revocation('token', t.chain_id, t.agent, ids);
  END IF;
  RETURN jsonb_build_object('tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

CREATE FUNCTION warden.revoke_chain(chain_id uuid, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
  ids uuid[];
BEGIN
  IF chain_id IS NULL THEN
    RAISE EXCEPTION 'chain_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- Locking the chain row first orders this against start_chain/delegate into the chain.
  SELECT cc.revoked_at, h.subject AS human INTO c
  FROM warden.chains cc JOIN warden.humans h ON h.human_id = cc.human_id
  WHERE cc.chain_id = revoke_chain.chain_id FOR UPDATE OF cc;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown chain %', chain_id
      USING ERRCODE = '42704', HINT = 'Chain ids are in warden.chains and in each event''s chain_id.';
  END IF;
  IF c.revoked_at IS NULL THEN
    UPDATE warden.chains cc SET revoked_at = now(), revoked_by = session_user, revoked_reason = reason
    WHERE cc.chain_id = revoke_chain.chain_id;
  END IF;
  ids := warden._revoke_tokens(ARRAY(SELECT t.token_id FROM warden.tokens t
                                     WHERE t.chain_id = revoke_chain.chain_id AND t.parent_id IS NULL), reason);
  IF c.revoked_at IS NOT NULL AND cardinality(ids) = 0 THEN
    RAISE NOTICE 'chain % was already revoked', chain_id;
  ELSE
    PERFORM warden._event('chain_revoked', chain_id, NULL, NULL, NULL, c.human,
                          jsonb_build_object('revoked_tokens', cardinality(ids)), NULL, reason);
    PERFORM warden._notify_revocation('chain', chain_id, NULL, ids);
  END IF;
  RETURN jsonb_build_object('chains', 1, 'tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

CREATE FUNCTION warden.revoke_agent(agent text, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  ids uuid[];
BEGIN
  IF agent IS NULL THEN
    RAISE EXCEPTION 'agent must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- The agent row lock orders this against start_chain/delegate naming the agent.
  SELECT aa.agent_id, aa.status INTO a FROM warden.agents aa WHERE aa.name = revoke_agent.agent FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'List agents with SELECT name FROM warden.agents.';
  END IF;
  IF a.status = 'active' THEN
    UPDATE warden.agents aa SET status = 'suspended' WHERE aa.agent_id = a.agent_id;
  END IF;
  ids := warden._revoke_tokens(ARRAY(SELECT t.token_id FROM warden.tokens t
                                     WHERE t.agent_id = a.agent_id AND t.revoked_at IS NULL), reason);
  IF a.status <> 'active' AND cardinality(ids) = 0 THEN
    RAISE NOTICE 'agent "%" was already %', agent, a.status;
  ELSE
    PERFORM warden._event('agent_suspended', NULL, NULL, NULL, agent, NULL,
                          jsonb_build_object('revoked_tokens', cardinality(ids)), NULL, reason);
    PERFORM warden._notify_revocation('agent', NULL, agent, ids);
  END IF;
  RETURN jsonb_build_object('agents', 1, 'tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

-- Any combination of an agent, a chain and a token, in one transaction: either everything
-- named is revoked or (on any error) nothing is.
CREATE FUNCTION warden.kill(agent text DEFAULT NULL, chain_id uuid DEFAULT NULL, token_id uuid DEFAULT NULL,
                            reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r jsonb;
  ids jsonb := '[]';
  killed jsonb := jsonb_build_object('agents', '[]'::jsonb, 'chains', '[]'::jsonb);
BEGIN
  IF agent IS NULL AND chain_id IS NULL AND token_id IS NULL THEN
    RAISE EXCEPTION 'kill needs at least one of agent, chain_id or token_id'
      USING ERRCODE = '22004', HINT = 'For example SELECT warden.kill(chain_id => ''...'', reason => ''runaway deploy'').';
  END IF;
  IF agent IS NOT NULL THEN
    r := warden.revoke_agent(agent, reason);
    ids := ids || (r->'token_ids');
    killed := jsonb_set(killed, '{agents}', jsonb_build_array(agent));
  END IF;
  IF chain_id IS NOT NULL THEN
    r := warden.revoke_chain(chain_id, reason);
    ids := ids || (r->'token_ids');
    killed := jsonb_set(killed, '{chains}', jsonb_build_array(chain_id));
  END IF;
  IF token_id IS NOT NULL THEN
    r := warden.revoke_token(token_id, reason);
    ids := ids || (r->'token_ids');
  END IF;
  PERFORM warden._event('killed', chain_id, token_id, NULL, agent, NULL,
                        killed || jsonb_build_object('tokens', jsonb_array_length(ids)), NULL, reason);
  RETURN killed || jsonb_build_object('tokens', jsonb_array_length(ids), 'token_ids', ids,
                                      'transaction', txid_current());
END
$$;

CREATE FUNCTION warden.reinstate_agent(agent text, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st text;
BEGIN
  IF agent IS NULL THEN
    RAISE EXCEPTION 'agent must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'reinstating an agent needs a reason' USING ERRCODE = '22004',
      HINT = 'Say why it is safe again; the reason is kept in the audit trail.';
  END IF;
  SELECT aa.status INTO st FROM warden.agents aa WHERE aa.name = reinstate_agent.agent FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  IF st = 'active' THEN
    RAISE NOTICE 'agent "%" is already active', agent;
    RETURN;
  END IF;
  UPDATE warden.agents aa SET status = 'active' WHERE aa.name = reinstate_agent.agent;
  -- Revoked tokens stay revoked: the agent starts again with new chains only.
  PERFORM warden._event('agent_reinstated', NULL, NULL, NULL, agent, NULL, NULL, NULL, reason);
END
$$;

GRANT EXECUTE ON FUNCTION
  warden.revoke_token(uuid, text),
  warden.revoke_chain(uuid, text),
  warden.revoke_agent(text, text),
  warden.kill(text, uuid, uuid, text),
  warden.reinstate_agent(text, text)
TO warden_admin;
