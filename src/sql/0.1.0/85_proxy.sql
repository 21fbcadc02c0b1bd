-- warden 0.1.0: what the front-end (warden_proxy) needs beyond decisions

-- The upstream servers warden-mcp fronts, without any secret: name, transport, endpoint and
-- how calls to it are credentialed. Read on start and re-read on change (warden-mcp LISTENs on
-- warden_events, where server changes are announced as kind "servers").
CREATE FUNCTION warden.upstreams()
RETURNS TABLE (name text, transport text, endpoint text, credential_kind text, credential_env text,
               updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.name, s.transport, s.endpoint, coalesce(s.credential->>'kind', 'none'), s.credential->>'env',
         s.updated_at
  FROM warden.servers s ORDER BY s.name
$$;

-- Identifies the holder of a token when an MCP session opens, and audits the opening. The
-- session is then bound to the returned agent and chain; every call in it is still decided
-- by warden.authorize.
CREATE FUNCTION warden.open_session(token text, context jsonb DEFAULT '{}',
                                    OUT allowed boolean, OUT reason text, OUT event_id uuid,
                                    OUT chain_id uuid, OUT token_id uuid, OUT agent text, OUT human text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
BEGIN
  SELECT * INTO v FROM warden._verify_token(token);
  allowed := v.reason IS NULL;
  reason := CASE
    WHEN v.reason IS NULL THEN 'granted'
    WHEN v.reason IN ('expired', 'chain_expired') THEN 'token_expired'
    WHEN v.reason IN ('token_revoked', 'chain_revoked', 'agent_suspended') THEN v.reason
    ELSE 'token_invalid' END;
  chain_id := v.chain_id;
  token_id := v.token_id;
  agent := v.agent;
  human := v.human;
  event_id := warden._event('session_opened', v.chain_id, v.token_id, NULL, v.agent, v.human,
                            jsonb_build_object('context', coalesce(context, '{}'), 'detail', v.reason),
                            allowed, reason);
END
$$;

-- Announce inventory changes so front-ends pick up new or changed upstreams without restart.
CREATE FUNCTION warden._announce_servers() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_notify('warden_events', '{"kind": "servers"}');
  RETURN NULL;
END
$$;
CREATE TRIGGER servers_announce AFTER INSERT OR UPDATE OR DELETE ON warden.servers
  FOR EACH STATEMENT EXECUTE FUNCTION warden._announce_servers();

GRANT EXECUTE ON FUNCTION warden.upstreams(), warden.open_session(text, jsonb) TO warden_proxy;

-- Which of these tokens may no longer be used, and why. A front-end whose LISTEN connection
-- was lost asks this for its calls in flight when it reconnects, since revocations announced
-- meanwhile never reached it. Reveals only the state of tokens the caller already holds ids of.
CREATE FUNCTION warden.dead_tokens(token_ids uuid[])
RETURNS TABLE (token_id uuid, reason text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.token_id,
         CASE WHEN a.status <> 'active' THEN 'agent_suspended'
              WHEN c.revoked_at IS NOT NULL THEN 'chain_revoked'
              ELSE 'token_revoked' END
  FROM warden.tokens t
  JOIN warden.chains c ON c.chain_id = t.chain_id
  JOIN warden.agents a ON a.agent_id = t.agent_id
  WHERE t.token_id = ANY (token_ids)
    AND (t.revoked_at IS NOT NULL OR c.revoked_at IS NOT NULL OR a.status <> 'active')
$$;
GRANT EXECUTE ON FUNCTION warden.dead_tokens(uuid[]) TO warden_proxy;
