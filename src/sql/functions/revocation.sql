-- Revocation. Revocation is committed state: authorize reads it in the snapshot of its own
-- statement, so any authorize that starts after a revocation commits is denied, on every
-- connection, with nothing cached to get in the way. A revocation never waits on a lock that
-- the issuer, proxy or auditor roles can hold: issuing and deciding take no row locks on
-- agents, chains or tokens (foreign keys take FOR KEY SHARE, which an UPDATE of a status column
-- does not wait for). Two admin transactions changing the same agent still serialise.

CREATE OR REPLACE FUNCTION warden._revoke_tokens(roots uuid[], why text) RETURNS uuid[]
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
  -- A delegation that committed after the UPDATE above took its snapshot left a child this
  -- statement could not see; each statement here takes a new snapshot (READ COMMITTED), so
  -- repeat until no live child of the tree is left. (Children committing later still are
  -- refused at first use: their ancestor_tokens name a revoked token.)
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
  -- Their calls can no longer happen: nothing left waiting for a person (src/sql/functions/approvals.sql).
  PERFORM warden._cancel_approvals(tree::uuid[], coalesce(why, 'revoked')::text);
  RETURN revoked;
END
$$;

-- Tells every front-end that something was revoked. Any database login may LISTEN on (and
-- NOTIFY) warden_events, so the payload names nothing (no token, chain or agent) and is only a
-- hint: a front-end asks warden.dead_tokens about its calls in flight before aborting any.
CREATE OR REPLACE FUNCTION warden._notify_revocation(kind text, chain_id uuid, agent text, token_ids uuid[])
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.pg_notify('warden_events', '{"kind": "revocation"}')
$$;
REVOKE ALL ON FUNCTION warden._notify_revocation(text, uuid, text, uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden.revoke_token(token_id uuid, reason text DEFAULT NULL)
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
  ids := warden._revoke_tokens(ARRAY[token_id]::uuid[], reason::text);
  IF cardinality(ids) = 0 THEN
    RAISE NOTICE 'token % and everything delegated from it were already revoked', token_id;
  ELSE
    PERFORM warden._event('token_revoked'::text, t.chain_id::uuid, token_id::uuid, NULL::uuid, t.agent::text,
                          t.human::text, jsonb_build_object('revoked_tokens', cardinality(ids)), NULL::boolean,
                          reason::text, NULL::text, NULL::text);
    PERFORM warden._notify_revocation('token'::text, t.chain_id::uuid, t.agent::text, ids::uuid[]);
  END IF;
  RETURN jsonb_build_object('tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

CREATE OR REPLACE FUNCTION warden.revoke_chain(chain_id uuid, reason text DEFAULT NULL)
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
  SELECT cc.revoked_at, h.subject AS human INTO c
  FROM warden.chains cc JOIN warden.humans h ON h.human_id = cc.human_id
  WHERE cc.chain_id = revoke_chain.chain_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown chain %', chain_id
      USING ERRCODE = '42704', HINT = 'Chain ids are in warden.chains and in each event''s chain_id.';
  END IF;
  IF c.revoked_at IS NULL THEN
    UPDATE warden.chains cc SET revoked_at = now(), revoked_by = session_user, revoked_reason = reason
    WHERE cc.chain_id = revoke_chain.chain_id;
  END IF;
  ids := warden._revoke_tokens(ARRAY(SELECT t.token_id FROM warden.tokens t
                                     WHERE t.chain_id = revoke_chain.chain_id AND t.parent_id IS NULL)::uuid[],
                               reason::text);
  IF c.revoked_at IS NOT NULL AND cardinality(ids) = 0 THEN
    RAISE NOTICE 'chain % was already revoked', chain_id;
  ELSE
    PERFORM warden._event('chain_revoked'::text, chain_id::uuid, NULL::uuid, NULL::uuid, NULL::text,
                          c.human::text, jsonb_build_object('revoked_tokens', cardinality(ids)), NULL::boolean,
                          reason::text, NULL::text, NULL::text);
    PERFORM warden._notify_revocation('chain'::text, chain_id::uuid, NULL::text, ids::uuid[]);
  END IF;
  RETURN jsonb_build_object('chains', 1, 'tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

CREATE OR REPLACE FUNCTION warden.revoke_agent(agent text, reason text DEFAULT NULL)
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
  SELECT aa.agent_id, aa.status INTO a FROM warden.agents aa WHERE aa.name = revoke_agent.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'List agents with SELECT name FROM warden.agents.';
  END IF;
  IF a.status = 'active' THEN
    UPDATE warden.agents aa SET status = 'suspended' WHERE aa.agent_id = a.agent_id;
  END IF;
  ids := warden._revoke_tokens(ARRAY(SELECT t.token_id FROM warden.tokens t
                                     WHERE t.agent_id = a.agent_id AND t.revoked_at IS NULL)::uuid[],
                               reason::text);
  IF a.status <> 'active' AND cardinality(ids) = 0 THEN
    RAISE NOTICE 'agent "%" was already %', agent, a.status;
  ELSE
    PERFORM warden._event('agent_suspended'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                          jsonb_build_object('revoked_tokens', cardinality(ids)), NULL::boolean, reason::text,
                          NULL::text, NULL::text);
    PERFORM warden._notify_revocation('agent'::text, NULL::uuid, agent::text, ids::uuid[]);
  END IF;
  RETURN jsonb_build_object('agents', 1, 'tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

-- Any combination of an agent, a chain and a token, in one transaction: either everything
-- named is revoked or (on any error) nothing is.
CREATE OR REPLACE FUNCTION warden.kill(agent text DEFAULT NULL, chain_id uuid DEFAULT NULL, token_id uuid DEFAULT NULL,
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
    r := warden.revoke_agent(agent::text, reason::text);
    ids := ids || (r->'token_ids');
    killed := jsonb_set(killed, '{agents}', jsonb_build_array(agent));
  END IF;
  IF chain_id IS NOT NULL THEN
    r := warden.revoke_chain(chain_id::uuid, reason::text);
    ids := ids || (r->'token_ids');
    killed := jsonb_set(killed, '{chains}', jsonb_build_array(chain_id));
  END IF;
  IF token_id IS NOT NULL THEN
    r := warden.revoke_token(token_id::uuid, reason::text);
    ids := ids || (r->'token_ids');
  END IF;
  PERFORM warden._event('killed'::text, chain_id::uuid, token_id::uuid, NULL::uuid, agent::text, NULL::text,
                        killed || jsonb_build_object('tokens', jsonb_array_length(ids)), NULL::boolean,
                        reason::text, NULL::text, NULL::text);
  RETURN killed || jsonb_build_object('tokens', jsonb_array_length(ids), 'token_ids', ids,
                                      'transaction', txid_current());
END
$$;

CREATE OR REPLACE FUNCTION warden.reinstate_agent(agent text, reason text)
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
  IF st = 'pending' THEN
    RAISE EXCEPTION 'agent "%" is pending, not revoked', agent
      USING ERRCODE = '55000', HINT = 'A self-registered agent is admitted with warden.approve_agent(agent, reason).';
  END IF;
  UPDATE warden.agents aa SET status = 'active' WHERE aa.name = reinstate_agent.agent;
  -- Revoked tokens stay revoked: the agent starts again with new chains only.
  PERFORM warden._event('agent_reinstated'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                        NULL::jsonb, NULL::boolean, reason::text, NULL::text, NULL::text);
END
$$;

REVOKE ALL ON FUNCTION warden._revoke_tokens(uuid[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION warden.revoke_token(uuid, text), warden.revoke_chain(uuid, text), warden.revoke_agent(text, text),
  warden.kill(text, uuid, uuid, text), warden.reinstate_agent(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  warden.revoke_token(uuid, text),
  warden.revoke_chain(uuid, text),
  warden.revoke_agent(text, text),
  warden.kill(text, uuid, uuid, text),
  warden.reinstate_agent(text, text)
TO warden_admin;
