-- Scopes: grants and their revocation.

CREATE OR REPLACE FUNCTION warden.grant(agent text, tool text, constraints jsonb DEFAULT '{}',
                             ttl interval DEFAULT '1 hour', max_calls int DEFAULT NULL,
                             reason text DEFAULT NULL, chain_id uuid DEFAULT NULL,
                             approval jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  id uuid;
  srv text;
  tl text;
BEGIN
  IF $1 IS NULL OR $2 IS NULL THEN
    RAISE EXCEPTION 'grant needs an agent and a tool' USING ERRCODE = '22004',
      HINT = 'For example warden.grant(''triage-bot'', ''tickets/update_ticket'').';
  END IF;
  SELECT aa.agent_id, aa.name INTO a FROM warden.agents aa WHERE aa.name = $1;  -- "grant" is reserved: no qualified names
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'Register it with warden.add_agent(name, owner).';
  END IF;
  PERFORM warden._check_tool_name(tool::text);
  srv := split_part(tool, '/', 1);
  tl := substr(tool, length(srv) + 2);
  IF NOT EXISTS (SELECT FROM warden.servers s WHERE s.name = srv) THEN
    RAISE EXCEPTION 'unknown server "%"', srv USING ERRCODE = '42704', HINT = 'Register it with warden.add_server(name, endpoint).';
  END IF;
  IF ttl IS NULL THEN
    RAISE EXCEPTION 'a grant always ends: ttl must not be NULL'
      USING ERRCODE = '22004', HINT = 'Pass an interval such as ''1 hour'' or ''30 days''.';
  END IF;
  IF ttl <= interval '0' OR ttl > interval '366 days' THEN
    RAISE EXCEPTION 'grant lifetime % is out of range', ttl
      USING ERRCODE = '22023', HINT = 'A grant lives for more than 0 and at most 366 days.';
  END IF;
  IF max_calls IS NOT NULL AND max_calls < 1 THEN
    RAISE EXCEPTION 'max_calls must be at least 1' USING ERRCODE = '22023', HINT = 'Pass NULL for no call budget.';
  END IF;
  IF constraints IS NULL THEN
    constraints := '{}';
  END IF;
  PERFORM warden._check_constraints(constraints::jsonb);
  approval := warden._check_approval_policy($8::jsonb);
  IF $7 IS NOT NULL AND NOT EXISTS (SELECT FROM warden.chains c WHERE c.chain_id = $7) THEN
    RAISE EXCEPTION 'unknown chain %', chain_id USING ERRCODE = '42704';
  END IF;
  INSERT INTO warden.grants (agent_id, server, tool, chain_id, constraints, expires_at, max_calls, reason, approval)
  VALUES (a.agent_id, srv, tl, $7, $3, now() + $4, $5, $6, approval)
  RETURNING grant_id INTO id;
  PERFORM warden._event('grant_created'::text, $7::uuid, NULL::uuid, NULL::uuid, a.name::text, NULL::text,
                        jsonb_build_object('grant_id', id, 'constraints', constraints,
                                           'expires_at', now() + ttl, 'max_calls', max_calls,
                                           'reason', reason)
                        || CASE WHEN approval IS NULL THEN '{}'::jsonb
                                ELSE jsonb_build_object('approval', approval) END,
                        NULL::boolean, NULL::text, srv::text, tl::text);
  RETURN id;
END
$$;
REVOKE ALL ON FUNCTION warden.grant(text, text, jsonb, interval, int, text, uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.grant(text, text, jsonb, interval, int, text, uuid, jsonb) TO warden_admin;

CREATE OR REPLACE FUNCTION warden.revoke_grant(grant_id uuid, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
BEGIN
  IF grant_id IS NULL THEN
    RAISE EXCEPTION 'grant_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- Not held off by a call counted against the grant's budget, or an approver's decision, in a
  -- transaction a lesser login keeps open (warden._lock_for_revocation).
  PERFORM warden._lock_for_revocation('warden.grants'::regclass, 'grant_id'::text, ARRAY[grant_id]::uuid[]);
  PERFORM warden._lock_for_revocation('warden.approvals'::regclass, 'approval_id'::text,
                                      ARRAY(SELECT ap.approval_id FROM warden.approvals ap
                                            WHERE ap.grant_id = revoke_grant.grant_id
                                              AND ap.state IN ('pending', 'approved'))::uuid[]);
  UPDATE warden.grants gg SET revoked_at = now(), revoked_by = session_user, revoked_reason = revoke_grant.reason
  WHERE gg.grant_id = revoke_grant.grant_id AND gg.revoked_at IS NULL
  RETURNING gg.agent_id, gg.server, gg.tool, gg.chain_id INTO g;
  IF NOT FOUND THEN
    IF EXISTS (SELECT FROM warden.grants gg WHERE gg.grant_id = revoke_grant.grant_id) THEN
      RAISE NOTICE 'grant % was already revoked', grant_id;
      RETURN;
    END IF;
    RAISE EXCEPTION 'unknown grant %', grant_id USING ERRCODE = '42704';
  END IF;
  UPDATE warden.approvals ap SET state = 'cancelled', cancelled_reason = 'the grant was revoked'
  WHERE ap.grant_id = revoke_grant.grant_id AND ap.state IN ('pending', 'approved');
  PERFORM warden._event('grant_revoked'::text, g.chain_id::uuid, NULL::uuid, NULL::uuid,
                        (SELECT a.name FROM warden.agents a WHERE a.agent_id = g.agent_id)::text, NULL::text,
                        jsonb_build_object('grant_id', grant_id, 'reason', reason),
                        NULL::boolean, NULL::text, g.server::text, g.tool::text);
END
$$;
REVOKE ALL ON FUNCTION warden.revoke_grant(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.revoke_grant(uuid, text) TO warden_admin;
