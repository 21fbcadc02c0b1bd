-- Decisions: outcomes, listings, tool approval, credentials for committed decisions.

-- Records the outcome of an allowed call as a child event of its decision.
CREATE OR REPLACE FUNCTION warden.complete(event_id uuid, status text, detail jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  e record;
BEGIN
  IF event_id IS NULL OR status IS NULL THEN
    RAISE EXCEPTION 'complete needs an event_id and a status' USING ERRCODE = '22004';
  END IF;
  IF status NOT IN ('ok', 'error', 'cancelled', 'timeout', 'revoked') THEN
    RAISE EXCEPTION 'unknown status "%"', status
      USING ERRCODE = '22023', HINT = 'status is one of ok, error, cancelled, timeout, revoked.';
  END IF;
  -- One outcome per call, also when two sessions complete the same call at once (a gateway's
  -- retry after a lost connection while its first attempt still runs): the call's own event
  -- row is locked, so the second waits here for the first to end, and its check below then
  -- sees the first one's outcome. A row lock, not an advisory lock: only a role that may
  -- update warden.events (none but the owner) can take one, so no other login can hold
  -- outcomes back. The lock leaves the row unchanged (events stay append-only).
  SELECT ev.kind, ev.allowed, ev.chain_id, ev.token_id, ev.agent, ev.human, ev.server, ev.tool INTO e
  FROM warden.events ev WHERE ev.event_id = complete.event_id
  FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown event %', event_id USING ERRCODE = '42704';
  END IF;
  IF e.kind <> 'call' OR NOT e.allowed THEN
    RAISE EXCEPTION 'event % is not an allowed call', event_id
      USING ERRCODE = '55000', HINT = 'Only calls that authorize allowed have an outcome.';
  END IF;
  IF EXISTS (SELECT FROM warden.events ev WHERE ev.parent_id = complete.event_id AND ev.kind = 'completed') THEN
    RAISE EXCEPTION 'call % is already completed', event_id USING ERRCODE = '55000';
  END IF;
  RETURN warden._event('completed'::text, e.chain_id::uuid, e.token_id::uuid, complete.event_id::uuid,
                       e.agent::text, e.human::text,
                       (coalesce(detail, '{}') || jsonb_build_object('status', status))::jsonb,
                       (status = 'ok')::boolean, status::text, e.server::text, e.tool::text);
END
$$;

-- tools/list filtered to what the token may call. Records each tool's definition digest: a
-- tool seen for the first time is accepted; a changed definition is hidden (and denied by
-- authorize with tool_changed) until warden.approve_tool accepts it. Only a live token's
-- listing is recorded: otherwise anyone holding the proxy role could pin definitions.
CREATE OR REPLACE FUNCTION warden.visible_tools(token text, server text, tools jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  s_id uuid;
  t jsonb;
  t_name text;
  t_digest bytea;
  approved bytea;
  visible jsonb := '[]';
BEGIN
  IF tools IS NULL OR jsonb_typeof(tools) <> 'array' THEN
    RAISE EXCEPTION 'tools must be a JSON array of tool definitions' USING ERRCODE = '22023';
  END IF;
  SELECT ss.server_id INTO s_id FROM warden.servers ss WHERE ss.name = visible_tools.server;
  IF NOT FOUND THEN
    RETURN visible;
  END IF;
  SELECT * INTO v FROM warden._verify_token(token::text);
  IF v.reason IS NOT NULL THEN
    RETURN visible;
  END IF;
  FOR t IN SELECT jsonb_array_elements(tools) LOOP
    t_name := t->>'name';
    CONTINUE WHEN t_name IS NULL OR jsonb_typeof(t) <> 'object';
    t_digest := sha256(convert_to(t::text, 'UTF8'));
    INSERT INTO warden.tools AS tt (server_id, name, definition, digest, approved_digest)
    VALUES (s_id, t_name, t, t_digest, t_digest)
    ON CONFLICT (server_id, name) DO UPDATE
      SET last_seen = now(),
          definition = CASE WHEN tt.digest = excluded.digest THEN tt.definition ELSE excluded.definition END,
          digest = excluded.digest
    RETURNING tt.approved_digest INTO approved;
    CONTINUE WHEN approved IS DISTINCT FROM t_digest;
    CONTINUE WHEN v.tools IS NOT NULL
      AND NOT EXISTS (SELECT FROM unnest(v.tools) p WHERE warden._tool_covers(p, visible_tools.server || '/' || t_name));
    CONTINUE WHEN EXISTS (
      SELECT FROM unnest(v.ancestor_agents || v.agent_id) who
      WHERE NOT EXISTS (SELECT FROM warden.grants g
                        WHERE g.agent_id = who AND g.server = visible_tools.server
                          AND (g.tool = t_name OR g.tool = '*') AND g.revoked_at IS NULL
                          AND g.expires_at > now() AND (g.chain_id IS NULL OR g.chain_id = v.chain_id)));
    visible := visible || jsonb_build_array(t);
  END LOOP;
  RETURN visible;
END
$$;

CREATE OR REPLACE FUNCTION warden.approve_tool(server text, tool text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d bytea;
BEGIN
  UPDATE warden.tools tt SET approved_digest = tt.digest
  FROM warden.servers s
  WHERE s.server_id = tt.server_id AND s.name = approve_tool.server AND tt.name = approve_tool.tool
  RETURNING tt.digest INTO d;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown tool %/%', server, tool
      USING ERRCODE = '42704', HINT = 'Tools are recorded when warden-mcp lists them; see warden.tools.';
  END IF;
  PERFORM warden._event('tool_approved'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('digest', encode(d, 'hex')), NULL::boolean, NULL::text,
                        server::text, tool::text);
END
$$;

REVOKE ALL ON FUNCTION warden.complete(uuid, text, jsonb), warden.visible_tools(text, text, jsonb),
  warden.approve_tool(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.complete(uuid, text, jsonb), warden.visible_tools(text, text, jsonb) TO warden_proxy;
GRANT EXECUTE ON FUNCTION warden.approve_tool(text, text) TO warden_admin;

-- The upstream credential for an allowed call whose decision has committed (see
-- src/extension/credential.cpp). NULL when the server takes no credential.
CREATE OR REPLACE FUNCTION warden.credential(event_id uuid)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_credential';
REVOKE ALL ON FUNCTION warden.credential(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.credential(uuid) TO warden_proxy;

-- The same, for the call this session's last warden.authorize allowed: warden-mcp sends it in
-- one round trip with authorize (libpq pipeline mode, each in its own implicit transaction).
-- Names the event it answers for; both columns NULL when the last decision was not an allowed
-- call or was taken already.
CREATE OR REPLACE FUNCTION warden.credential_for_last_decision(OUT event_id uuid, OUT credential jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_credential_for_last_decision';
REVOKE ALL ON FUNCTION warden.credential_for_last_decision() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.credential_for_last_decision() TO warden_proxy;
