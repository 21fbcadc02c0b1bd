-- Starting chains and delegating. Neither takes a lock that a revocation needs: a token issued
-- while its agent, chain or parent token is being revoked is refused at its first use, because
-- warden._verify_token and warden.authorize read the revocation (committed state) then.

-- The named agent if it is active, or a clear error. No row lock (see above).
CREATE OR REPLACE FUNCTION warden._lock_active_agent(agent text, OUT agent_id uuid, OUT name text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st text;
BEGIN
  SELECT aa.agent_id, aa.name, aa.status INTO agent_id, name, st
  FROM warden.agents aa WHERE aa.name = _lock_active_agent.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'Register it with warden.add_agent(name, owner).';
  END IF;
  IF st <> 'active' THEN
    RAISE EXCEPTION 'agent "%" is %', agent, st
      USING ERRCODE = '55000', HINT = 'Reinstate it with warden.reinstate_agent(agent, reason) first.';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._lock_active_agent(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden.start_chain(human text, agent text, purpose text,
                                              ttl interval DEFAULT '15 minutes', tools text[] DEFAULT NULL,
                                              OUT chain_id uuid, OUT token text, OUT expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h record;
  a record;
  t text;
  token_id uuid := pg_catalog.gen_random_uuid();
BEGIN
  IF human IS NULL OR agent IS NULL OR purpose IS NULL OR pg_catalog.btrim(purpose) = '' THEN
    RAISE EXCEPTION 'start_chain needs a human, an agent and a purpose'
      USING ERRCODE = '22004', HINT = 'The purpose says why the chain exists, e.g. ''triage ticket 4711''.';
  END IF;
  -- Expiry is kept in whole seconds, so anything shorter than a second would be born expired.
  IF ttl IS NULL OR ttl < interval '1 second' OR ttl > interval '24 hours' THEN
    RAISE EXCEPTION 'chain lifetime % is out of range', coalesce(ttl::text, 'NULL')
      USING ERRCODE = '22023', HINT = 'A chain lives for at least 1 second and at most 24 hours; every task ends.';
  END IF;
  SELECT hh.human_id, hh.subject, hh.revoked_at INTO h FROM warden.humans hh WHERE hh.subject = start_chain.human;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', human USING ERRCODE = '42704', HINT = 'Register it with warden.add_human(subject).';
  END IF;
  IF h.revoked_at IS NOT NULL THEN
    RAISE EXCEPTION 'human "%" was revoked', human
      USING ERRCODE = '55000', HINT = 'warden.revoke_human offboarded this person; warden.reinstate_human undoes it.';
  END IF;
  SELECT * INTO a FROM warden._lock_active_agent(agent::text);
  IF tools IS NOT NULL THEN
    FOREACH t IN ARRAY tools LOOP PERFORM warden._check_tool_name(t::text); END LOOP;
  END IF;

  chain_id := pg_catalog.gen_random_uuid();
  expires_at := pg_catalog.date_trunc('second', pg_catalog.now() + ttl);
  INSERT INTO warden.chains (chain_id, human_id, root_agent_id, purpose, trace_id, expires_at)
  VALUES (chain_id, h.human_id, a.agent_id, purpose, pg_catalog.replace(chain_id::text, '-', ''), expires_at);
  token := warden._mint_root_token(chain_id::uuid, token_id::uuid, a.agent_id::uuid, a.name::text,
                                   h.subject::text, tools::text[], expires_at::timestamptz, NULL::text,
                                   pg_catalog.jsonb_build_object('purpose', purpose, 'tools', tools,
                                                                 'expires_at', expires_at)::jsonb);
END
$$;

-- A root token (no parent) on an existing chain, minted and audited: the first one of
-- start_chain, and each access token of an OAuth sign-in (src/sql/functions/oauth.sql). With
-- dpop_jkt, warden.authorize refuses the token without a proof from that key.
CREATE OR REPLACE FUNCTION warden._mint_root_token(chain_id uuid, token_id uuid, agent_id uuid, agent text,
                                                   human text, tools text[], expires_at timestamptz,
                                                   dpop_jkt text, detail jsonb)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k record;
  token text;
BEGIN
  SELECT * INTO k FROM warden._current_key('local'::text);
  INSERT INTO warden.tokens (token_id, chain_id, agent_id, depth, tools, key_id, expires_at, dpop_jkt)
  VALUES (token_id, chain_id, agent_id, 0, tools, k.key_id, expires_at, dpop_jkt);
  token := warden._mint_task_token(k.key_id::text, k.sealed::bytea, token_id::uuid, chain_id::uuid,
                                   agent_id::uuid, NULL::uuid,
                                   pg_catalog.date_trunc('second', pg_catalog.now())::timestamptz,
                                   expires_at::timestamptz);
  PERFORM warden._event('token_issued'::text, chain_id::uuid, token_id::uuid, NULL::uuid, agent::text,
                        human::text, (detail || pg_catalog.jsonb_build_object('key_id', k.key_id))::jsonb,
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN token;
END
$$;
REVOKE ALL ON FUNCTION warden._mint_root_token(uuid, uuid, uuid, text, text, text[], timestamptz, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION warden.start_chain(text, text, text, interval, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.start_chain(text, text, text, interval, text[]) TO warden_admin, warden_issuer;

-- The state behind a token string: the claims if it verifies and is live, else a reason
-- from the stable set malformed, unknown_key, bad_tag, expired, not_yet_valid, unknown_token,
-- token_revoked, chain_revoked, chain_expired, agent_suspended. Takes no locks.
CREATE OR REPLACE FUNCTION warden._verify_token(token text, OUT reason text, OUT token_id uuid,
                                                OUT chain_id uuid, OUT agent_id uuid, OUT agent text,
                                                OUT human text, OUT tools text[], OUT depth int,
                                                OUT ancestor_agents uuid[], OUT expires_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  o record;
  r record;
BEGIN
  SELECT * INTO o FROM warden._open_token(token::text);
  IF o.reason IS NOT NULL THEN
    reason := o.reason;
    RETURN;
  END IF;
  SELECT t.token_id, t.chain_id, t.agent_id, a.name AS agent, hu.subject AS human, t.tools, t.depth,
         t.ancestor_agents, t.ancestor_tokens, t.expires_at, t.revoked_at,
         c.revoked_at AS chain_revoked_at, c.expires_at AS chain_expires_at, a.status,
         hu.revoked_at AS human_revoked_at
    INTO r
  FROM warden.tokens t
  JOIN warden.chains c ON c.chain_id = t.chain_id
  JOIN warden.agents a ON a.agent_id = t.agent_id
  JOIN warden.humans hu ON hu.human_id = c.human_id
  WHERE t.token_id = o.token_id;
  reason := CASE
    WHEN NOT FOUND THEN 'unknown_token'
    WHEN r.chain_id <> o.chain_id OR r.agent_id <> o.agent_id THEN 'unknown_token'
    WHEN r.revoked_at IS NOT NULL THEN 'token_revoked'
    WHEN r.human_revoked_at IS NOT NULL THEN 'human_revoked'
    WHEN r.chain_revoked_at IS NOT NULL THEN 'chain_revoked'
    WHEN r.chain_expires_at <= pg_catalog.now() THEN 'chain_expired'
    WHEN r.expires_at <= pg_catalog.now() THEN 'expired'
    WHEN r.status <> 'active' THEN 'agent_suspended'
    WHEN EXISTS (SELECT FROM warden.agents aa WHERE aa.agent_id = ANY (r.ancestor_agents)
                 AND aa.status <> 'active') THEN 'agent_suspended'
    WHEN EXISTS (SELECT FROM warden.tokens up WHERE up.token_id = ANY (r.ancestor_tokens)
                 AND up.revoked_at IS NOT NULL) THEN 'token_revoked'
  END;
  IF FOUND THEN
    token_id := r.token_id; chain_id := r.chain_id; agent_id := r.agent_id; agent := r.agent;
    human := r.human; tools := r.tools; depth := r.depth; ancestor_agents := r.ancestor_agents;
    expires_at := r.expires_at;
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._verify_token(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden.delegate(parent_token text, agent text, tools text[], ttl interval DEFAULT NULL,
                                           OUT token_id uuid, OUT token text, OUT expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p record;
  a record;
  k record;
  t text;
  covered boolean;
  ancestry uuid[];
  jkt text;
BEGIN
  IF parent_token IS NULL OR agent IS NULL THEN
    RAISE EXCEPTION 'delegate needs a parent token and an agent' USING ERRCODE = '22004';
  END IF;
  IF tools IS NULL OR pg_catalog.cardinality(tools) = 0 THEN
    RAISE EXCEPTION 'delegate needs an explicit, non-empty tool list'
      USING ERRCODE = '22023', HINT = 'Delegation only narrows: name the tools the sub-agent may call, e.g. ARRAY[''tickets/update_ticket''].';
  END IF;
  SELECT * INTO p FROM warden._verify_token(parent_token::text);
  IF p.reason IS NOT NULL THEN
    RAISE EXCEPTION 'parent token is not valid: %', p.reason
      USING ERRCODE = '28000', HINT = 'Delegate from a live token of a live chain.';
  END IF;
  IF p.depth >= 63 THEN
    RAISE EXCEPTION 'delegation is too deep (% levels)', p.depth + 1 USING ERRCODE = '54000';
  END IF;
  SELECT * INTO a FROM warden._lock_active_agent(agent::text);
  FOREACH t IN ARRAY tools LOOP
    PERFORM warden._check_tool_name(t::text);
    -- Within the parent token's own tool list, if it has one ...
    IF p.tools IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.unnest(p.tools) pt
                                           WHERE warden._tool_covers(pt::text, t::text)) THEN
      RAISE EXCEPTION 'cannot delegate "%": the parent token does not hold it', t
        USING ERRCODE = '42501', DETAIL = pg_catalog.format('parent token tools: %s', p.tools),
              HINT = 'Delegation only narrows; a sub-agent can receive only tools its parent holds.';
    END IF;
    -- ... and within what the parent's agent is granted right now.
    SELECT EXISTS (SELECT FROM warden.grants g
                   WHERE g.agent_id = p.agent_id AND g.revoked_at IS NULL AND g.expires_at > pg_catalog.now()
                     AND (g.chain_id IS NULL OR g.chain_id = p.chain_id)
                     AND warden._tool_covers((g.server || '/' || g.tool)::text, t::text))
      INTO covered;
    IF NOT covered THEN
      RAISE EXCEPTION 'cannot delegate "%": agent "%" has no live grant for it', t, p.agent
        USING ERRCODE = '42501', HINT = 'Delegation only narrows; grant the parent agent the tool first.';
    END IF;
  END LOOP;
  IF ttl IS NULL THEN
    expires_at := p.expires_at;
  ELSIF ttl < interval '1 second' THEN
    RAISE EXCEPTION 'delegated lifetime must be at least 1 second' USING ERRCODE = '22023';
  ELSE
    expires_at := pg_catalog.date_trunc('second', pg_catalog.now() + ttl);
    IF expires_at > p.expires_at THEN
      RAISE EXCEPTION 'delegated token would outlive its parent'
        USING ERRCODE = '22023', DETAIL = pg_catalog.format('parent expires at %s, requested %s', p.expires_at, expires_at),
              HINT = 'Pass a shorter ttl, or NULL to expire with the parent.';
    END IF;
  END IF;

  -- A token delegated from a DPoP-bound one stays bound to the same key: delegation never
  -- turns a sender-constrained token into a bearer token.
  SELECT tt.ancestor_tokens || tt.token_id, tt.dpop_jkt INTO ancestry, jkt FROM warden.tokens tt WHERE tt.token_id = p.token_id;
  token_id := pg_catalog.gen_random_uuid();
  SELECT * INTO k FROM warden._current_key('local'::text);
  INSERT INTO warden.tokens (token_id, chain_id, parent_id, agent_id, ancestor_agents, ancestor_tokens, depth,
                             tools, key_id, expires_at, dpop_jkt)
  VALUES (token_id, p.chain_id, p.token_id, a.agent_id, p.ancestor_agents || p.agent_id, ancestry, p.depth + 1,
          tools, k.key_id, expires_at, jkt);
  token := warden._mint_task_token(k.key_id::text, k.sealed::bytea, token_id::uuid, p.chain_id::uuid,
                                   a.agent_id::uuid, p.token_id::uuid,
                                   pg_catalog.date_trunc('second', pg_catalog.now())::timestamptz,
                                   expires_at::timestamptz);
  PERFORM warden._event('token_delegated'::text, p.chain_id::uuid, token_id::uuid, NULL::uuid, a.name::text,
                        p.human::text,
                        pg_catalog.jsonb_build_object('parent_token', p.token_id, 'from_agent', p.agent,
                                                      'tools', tools, 'expires_at', expires_at, 'key_id', k.key_id),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.delegate(text, text, text[], interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.delegate(text, text, text[], interval) TO warden_admin, warden_issuer;
