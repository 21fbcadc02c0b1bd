-- The operator console (issue 16): warden-mcp serves /console to people signed in through the
-- identity provider (the approver sign-in of approver_sign_in.sql, with next = /console...).
-- warden-mcp calls these functions through its own role, warden_proxy, and every one of them
-- first checks a console session: without a live session whose groups map to a role, the
-- gateway's role can read or change nothing here. Reads need 'auditor' or 'admin'; actions
-- need 'admin', are done by the existing functions (warden.kill, warden.grant,
-- warden.revoke_grant: the same validation as in psql) and audited with the person's subject.

-- Maps an identity provider's group (from the ID token's groups claim, or the claim named by
-- the provider's option groups_claim) to a console role; role NULL removes the mapping.
CREATE OR REPLACE FUNCTION warden.map_group(idp text, "group" text, role text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p uuid;
BEGIN
  SELECT ip.idp_id INTO p FROM warden.identity_providers ip WHERE ip.name = map_group.idp;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown identity provider "%"', idp USING ERRCODE = '42704',
      HINT = 'Add it with warden.add_identity_provider(...).';
  END IF;
  IF "group" IS NULL OR "group" = '' OR length("group") > 256 THEN
    RAISE EXCEPTION 'a group name is 1 to 256 characters' USING ERRCODE = '22023';
  END IF;
  IF role IS NOT NULL AND role NOT IN ('auditor', 'admin') THEN
    RAISE EXCEPTION 'console role must be auditor or admin, not "%"', role USING ERRCODE = '22023',
      HINT = 'auditor reads every console page; admin also kills, grants and revokes.';
  END IF;
  IF role IS NULL THEN
    DELETE FROM warden.console_groups g WHERE g.idp_id = p AND g.group_name = map_group."group";
  ELSE
    INSERT INTO warden.console_groups AS g (idp_id, group_name, role) VALUES (p, "group", role)
    ON CONFLICT (idp_id, group_name) DO UPDATE SET role = EXCLUDED.role;
  END IF;
  PERFORM warden._event('console_group_mapped'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('idp', idp, 'group', "group", 'role', role),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.map_group(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.map_group(text, text, text) TO warden_admin;

-- The groups an ID token names (an array of strings, or one string), at most 200.
CREATE OR REPLACE FUNCTION warden._claimed_groups(p warden.identity_providers, claims jsonb) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v jsonb := claims -> coalesce(p.options->>'groups_claim', 'groups');
BEGIN
  IF v IS NULL THEN
    RETURN '{}';
  ELSIF jsonb_typeof(v) = 'string' THEN
    RETURN ARRAY[v #>> '{}'];
  ELSIF jsonb_typeof(v) = 'array' THEN
    RETURN ARRAY(SELECT x FROM jsonb_array_elements_text(
                   (SELECT jsonb_agg(e) FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) = 'string')) x
                 LIMIT 200);
  END IF;
  RETURN '{}';
END
$$;
REVOKE ALL ON FUNCTION warden._claimed_groups(warden.identity_providers, jsonb) FROM PUBLIC;

-- The strongest role the groups map to at this provider: admin, auditor or NULL.
CREATE OR REPLACE FUNCTION warden._console_role(idp_id uuid, groups text[]) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN bool_or(g.role = 'admin') THEN 'admin' WHEN count(*) > 0 THEN 'auditor' END
  FROM warden.console_groups g WHERE g.idp_id = $1 AND g.group_name = ANY ($2)
$$;
REVOKE ALL ON FUNCTION warden._console_role(uuid, text[]) FROM PUBLIC;

-- Whether the person a console sign-in or session names was offboarded (warden.revoke_human):
-- a human of that provider, or one added by hand, with that subject and revoked. A console
-- person need not be a human warden knows; one who is, and is revoked, has no console.
CREATE OR REPLACE FUNCTION warden._console_person_revoked(idp_id uuid, subject text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM warden.humans hh
                 WHERE hh.subject = $2 AND (hh.idp = $1 OR hh.idp IS NULL) AND hh.revoked_at IS NOT NULL)
$$;
REVOKE ALL ON FUNCTION warden._console_person_revoked(uuid, text) FROM PUBLIC;

-- Opens a console session at the end of a sign-in (called by warden.complete_approver_sign_in
-- once the ID token holds): NULL when the person's groups map to no role.
CREATE OR REPLACE FUNCTION warden._open_console_session(p warden.identity_providers, claims jsonb,
                                                        OUT session text, OUT subject text,
                                                        OUT role text, OUT expires_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  groups text[] := warden._claimed_groups(p, claims);
BEGIN
  subject := claims->>(p.options->>'subject_claim');
  role := warden._console_role(p.idp_id, groups);
  IF role IS NULL OR subject IS NULL THEN
    session := NULL;
    RETURN;
  END IF;
  session := 'wcs_' || warden._random_secret(32::int);
  expires_at := pg_catalog.now() + interval '8 hours';
  DELETE FROM warden.console_sessions s WHERE s.expires_at < pg_catalog.now();
  INSERT INTO warden.console_sessions (session_hash, idp_id, subject, groups, expires_at)
  VALUES (warden._secret_hash(session::text), p.idp_id, subject, groups, _open_console_session.expires_at);
END
$$;
REVOKE ALL ON FUNCTION warden._open_console_session(warden.identity_providers, jsonb) FROM PUBLIC;

-- Who a console session is, with the role its groups map to now. Refused: 28000 when the
-- session is unknown or expired; 42501 when its role is not enough (need 'auditor' or
-- 'admin').
CREATE OR REPLACE FUNCTION warden._console_user(session text, need text, OUT subject text, OUT role text,
                                                OUT idp text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s warden.console_sessions;
BEGIN
  SELECT * INTO s FROM warden.console_sessions cs
  WHERE cs.session_hash = warden._secret_hash(coalesce(session, '')::text) AND cs.expires_at > pg_catalog.now();
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not signed in to the console' USING ERRCODE = '28000', HINT = 'Sign in again at /console.';
  END IF;
  -- revoke_human ends the person's sessions; this also catches one it had to skip (locked).
  IF warden._console_person_revoked(s.idp_id, s.subject) THEN
    RAISE EXCEPTION 'this person was revoked and has no console' USING ERRCODE = '28000',
      HINT = 'An admin reinstates a person with warden.reinstate_human.';
  END IF;
  subject := s.subject;
  role := warden._console_role(s.idp_id, s.groups);
  SELECT ip.name INTO idp FROM warden.identity_providers ip WHERE ip.idp_id = s.idp_id;
  IF role IS NULL THEN
    RAISE EXCEPTION 'your groups give you no console access' USING ERRCODE = '42501',
      HINT = 'An admin maps a group of yours with warden.map_group(idp, group, role).';
  END IF;
  IF need = 'admin' AND role <> 'admin' THEN
    RAISE EXCEPTION 'only console admins may do this' USING ERRCODE = '42501';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._console_user(text, text) FROM PUBLIC;

-- A console action, audited with who did it from the console.
CREATE OR REPLACE FUNCTION warden._console_event(subject text, role text, idp text, action text, detail jsonb, chain_id uuid DEFAULT NULL,
                                                 agent text DEFAULT NULL, reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM warden._event('console_action'::text, chain_id::uuid, NULL::uuid, NULL::uuid, agent::text, subject::text,
                        jsonb_build_object('action', action, 'subject', subject, 'role', role, 'idp', idp)
                          || coalesce(detail, '{}'::jsonb),
                        true::boolean, reason::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden._console_event(text, text, text, text, jsonb, uuid, text, text) FROM PUBLIC;

-- One console page's data, for a live session of an auditor or admin: {subject, role, data}.
-- Pages: whoami, overview (warden.maturity), inventory (humans, agents incl. pending, servers
-- with the kind of credential only, tools with pins and changes), grants (live grants, agents
-- and tools to grant), chains (the newest 100), chain (arg: a chain id; its DOT), review
-- (warden.access_review), evidence (arg: "FROM/TO" timestamps; audited as an export).
CREATE OR REPLACE FUNCTION warden.console_page(session text, page text, arg text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  u record;
  data jsonb;
  chain uuid;
  period_from timestamptz;
  period_to timestamptz;
BEGIN
  SELECT * INTO u FROM warden._console_user(session::text, 'auditor'::text);
  CASE page
  WHEN 'whoami' THEN
    data := '{}';
  WHEN 'overview' THEN
    SELECT coalesce(jsonb_agg(jsonb_build_object('agent', m.agent, 'rung', m.rung, 'reasons', m.reasons)
                              ORDER BY m.agent NULLS FIRST), '[]')
    INTO data FROM warden.maturity() m;
    data := jsonb_build_object('maturity', data);
  WHEN 'inventory' THEN
    data := jsonb_build_object(
      'humans', (SELECT coalesce(jsonb_agg(jsonb_build_object('subject', h.subject, 'name', h.display_name,
                   'idp', ip.name, 'revoked_at', h.revoked_at) ORDER BY h.subject), '[]')
                 FROM warden.humans h LEFT JOIN warden.identity_providers ip ON ip.idp_id = h.idp),
      'agents', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', a.name, 'owner', h.subject, 'status', a.status,
                   'mode', a.mode, 'created_at', a.created_at) ORDER BY a.status <> 'pending', a.name), '[]')
                 FROM warden.agents a JOIN warden.humans h ON h.human_id = a.owner_id),
      'servers', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', s.name, 'endpoint', s.endpoint,
                    'transport', s.transport, 'credential', s.credential->>'kind') ORDER BY s.name), '[]')
                  FROM warden.servers s),
      'tools', (SELECT coalesce(jsonb_agg(jsonb_build_object('server', s.name, 'tool', tl.name,
                  'pinned', tl.approved_digest IS NOT NULL,
                  'changed', tl.approved_digest IS NOT NULL AND tl.digest IS DISTINCT FROM tl.approved_digest,
                  'first_seen', tl.first_seen, 'last_seen', tl.last_seen) ORDER BY s.name, tl.name), '[]')
                FROM warden.tools tl JOIN warden.servers s ON s.server_id = tl.server_id));
  WHEN 'grants' THEN
    data := jsonb_build_object(
      'grants', (SELECT coalesce(jsonb_agg(jsonb_build_object('grant_id', g.grant_id, 'agent', a.name,
                   'tool', g.server || '/' || g.tool, 'constraints', g.constraints, 'expires_at', g.expires_at,
                   'max_calls', g.max_calls, 'calls_used', g.calls_used, 'reason', g.reason,
                   'approval', g.approval IS NOT NULL, 'chain_id', g.chain_id) ORDER BY a.name, g.server, g.tool), '[]')
                 FROM warden.grants g JOIN warden.agents a ON a.agent_id = g.agent_id
                 WHERE g.revoked_at IS NULL AND g.expires_at > pg_catalog.now()),
      'agents', (SELECT coalesce(jsonb_agg(a.name ORDER BY a.name), '[]') FROM warden.agents a
                 WHERE a.status = 'active'),
      'tools', (SELECT coalesce(jsonb_agg(x.t ORDER BY x.t), '[]') FROM (
                  SELECT s.name || '/*' AS t FROM warden.servers s
                  UNION SELECT s.name || '/' || tl.name FROM warden.tools tl JOIN warden.servers s ON s.server_id = tl.server_id) x));
  WHEN 'chains' THEN
    SELECT coalesce(jsonb_agg(jsonb_build_object('chain_id', x.chain_id, 'human', x.subject, 'agent', x.agent,
             'purpose', x.purpose, 'created_at', x.created_at, 'revoked_at', x.revoked_at) ORDER BY x.created_at DESC), '[]')
    INTO data FROM (
      SELECT ch.chain_id, h.subject, a.name AS agent, ch.purpose, ch.created_at, ch.revoked_at
      FROM warden.chains ch JOIN warden.humans h ON h.human_id = ch.human_id
      JOIN warden.agents a ON a.agent_id = ch.root_agent_id
      ORDER BY ch.created_at DESC LIMIT 100) x;
    data := jsonb_build_object('chains', data);
  WHEN 'chain' THEN
    BEGIN
      chain := arg::uuid;
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'not a chain id' USING ERRCODE = '22P02';
    END;
    data := jsonb_build_object('chain_id', chain, 'dot', warden.chain_graph(chain::uuid));
  WHEN 'review' THEN
    SELECT coalesce(jsonb_agg(jsonb_build_object('finding', r.finding, 'subject', r.subject, 'detail', r.detail)
                              ORDER BY r.finding, r.subject), '[]')
    INTO data FROM warden.access_review() r;
    data := jsonb_build_object('findings', data);
  WHEN 'evidence' THEN
    BEGIN
      period_from := split_part(coalesce(arg, ''), '/', 1)::timestamptz;
      period_to := split_part(coalesce(arg, ''), '/', 2)::timestamptz;
    EXCEPTION WHEN OTHERS THEN
      RAISE EXCEPTION 'the period is FROM/TO, two timestamps' USING ERRCODE = '22007';
    END;
    data := warden.evidence(period_from::timestamptz, period_to::timestamptz);
    PERFORM warden._console_event(u.subject::text, u.role::text, u.idp::text, 'evidence_export'::text, jsonb_build_object('from', period_from, 'to', period_to));
  ELSE
    RAISE EXCEPTION 'no console page "%"', page USING ERRCODE = '22023';
  END CASE;
  RETURN jsonb_build_object('subject', u.subject, 'role', u.role, 'data', data);
END
$$;
REVOKE ALL ON FUNCTION warden.console_page(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.console_page(text, text, text) TO warden_proxy;

-- The kill switch, for console admins: warden.kill on an agent, a chain or a token (one of
-- them), with a reason. Returns warden.kill's answer; the gateway aborts the calls in flight
-- on the revocation notice as for any kill.
CREATE OR REPLACE FUNCTION warden.console_kill(session text, agent text, chain_id uuid, token_id uuid, reason text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  u record;
  r jsonb;
BEGIN
  SELECT * INTO u FROM warden._console_user(session::text, 'admin'::text);
  IF (agent IS NOT NULL)::int + (chain_id IS NOT NULL)::int + (token_id IS NOT NULL)::int <> 1 THEN
    RAISE EXCEPTION 'kill one agent, one chain or one token' USING ERRCODE = '22023';
  END IF;
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a kill needs a reason' USING ERRCODE = '22004';
  END IF;
  IF agent IS NOT NULL AND NOT EXISTS (SELECT FROM warden.agents a WHERE a.name = console_kill.agent) THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  r := warden.kill(agent::text, chain_id::uuid, token_id::uuid, ('console ' || u.subject || ': ' || reason)::text);
  PERFORM warden._console_event(u.subject::text, u.role::text, u.idp::text, 'kill'::text,
                                jsonb_build_object('agent', agent, 'chain_id', chain_id, 'token_id', token_id,
                                                   'tokens', r->'tokens'),
                                chain_id::uuid, agent::text, reason::text);
  RETURN r - 'transaction';
END
$$;
REVOKE ALL ON FUNCTION warden.console_kill(text, text, uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.console_kill(text, text, uuid, uuid, text) TO warden_proxy;

-- A grant from the console, for admins: warden.grant with its checks (known agent and server,
-- constraints validated, a lifetime of at most 366 days). Approval policies and chain-bound
-- grants stay in SQL.
CREATE OR REPLACE FUNCTION warden.console_grant(session text, agent text, tool text, constraints jsonb,
                                                ttl interval, max_calls int, reason text)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  u record;
  id uuid;
BEGIN
  SELECT * INTO u FROM warden._console_user(session::text, 'admin'::text);
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'a grant from the console needs a reason' USING ERRCODE = '22004';
  END IF;
  id := warden.grant(agent::text, tool::text, coalesce(constraints, '{}')::jsonb, ttl::interval, max_calls::int,
                     reason::text, NULL::uuid, NULL::jsonb);
  PERFORM warden._console_event(u.subject::text, u.role::text, u.idp::text, 'grant'::text,
                                jsonb_build_object('grant_id', id, 'tool', tool, 'constraints', constraints,
                                                   'ttl', ttl::text, 'max_calls', max_calls),
                                NULL::uuid, agent::text, reason::text);
  RETURN id;
END
$$;
REVOKE ALL ON FUNCTION warden.console_grant(text, text, text, jsonb, interval, int, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.console_grant(text, text, text, jsonb, interval, int, text) TO warden_proxy;

-- Revokes a live grant, for admins.
CREATE OR REPLACE FUNCTION warden.console_revoke_grant(session text, grant_id uuid, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  u record;
  a text;
BEGIN
  SELECT * INTO u FROM warden._console_user(session::text, 'admin'::text);
  SELECT ag.name INTO a FROM warden.grants g JOIN warden.agents ag ON ag.agent_id = g.agent_id
  WHERE g.grant_id = console_revoke_grant.grant_id AND g.revoked_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no live grant %', grant_id USING ERRCODE = '42704';
  END IF;
  PERFORM warden.revoke_grant(grant_id::uuid, ('console ' || u.subject || ': ' || coalesce(reason, ''))::text);
  PERFORM warden._console_event(u.subject::text, u.role::text, u.idp::text, 'revoke_grant'::text, jsonb_build_object('grant_id', grant_id),
                                NULL::uuid, a::text, reason::text);
END
$$;
REVOKE ALL ON FUNCTION warden.console_revoke_grant(text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.console_revoke_grant(text, uuid, text) TO warden_proxy;

-- Ends a console session (sign out); quiet when it is already gone.
CREATE OR REPLACE FUNCTION warden.console_sign_out(session text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s warden.console_sessions;
BEGIN
  DELETE FROM warden.console_sessions cs WHERE cs.session_hash = warden._secret_hash(coalesce(session, '')::text)
  RETURNING * INTO s;
  IF FOUND THEN
    PERFORM warden._event('console_signed_out'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, s.subject::text,
                          '{}'::jsonb, true::boolean, NULL::text, NULL::text, NULL::text);
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden.console_sign_out(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.console_sign_out(text) TO warden_proxy;
