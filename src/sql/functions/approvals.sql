-- Approvals: a person says yes to one exact call. authorize (src/extension/authorize.cpp)
-- creates the pending row and consumes an approved one; everything a person does is here.
-- Who may approve: a human named by the grant's approvers (a subject, or "group:NAME"), acting
-- through a database login mapped to them (warden.map_login) that is a member of
-- warden_approver, or through the approval page with a session such a login opened. Never the
-- proxy (it holds no approver session of its own), never an agent (it has no login), never the
-- chain's own human unless the grant says self_approval.
--
-- A kill never waits for an approval row: it cancels the open approvals no one is touching and
-- skips the ones a decision or an approver holds; those are refused anyway, because approving
-- and consuming both check that the call's token, chain, agents and human are still alive.

-- Validates a grant's approval policy and fills in its defaults; NULL stays NULL.
CREATE OR REPLACE FUNCTION warden._check_approval_policy(policy jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k text;
  a jsonb;
  ttl interval;
BEGIN
  IF policy IS NULL THEN
    RETURN NULL;
  END IF;
  IF jsonb_typeof(policy) <> 'object' THEN
    RAISE EXCEPTION 'approval must be a JSON object' USING ERRCODE = '22023',
      HINT = 'For example {"required": true, "approvers": ["alice@example.com"]}.';
  END IF;
  FOR k IN SELECT jsonb_object_keys(policy) LOOP
    IF k NOT IN ('required', 'when', 'approvers', 'ttl', 'self_approval') THEN
      RAISE EXCEPTION 'unknown approval key "%"', k USING ERRCODE = '22023',
        HINT = 'approval takes required, when, approvers, ttl and self_approval.';
    END IF;
  END LOOP;
  IF policy ? 'required' AND jsonb_typeof(policy->'required') <> 'boolean' THEN
    RAISE EXCEPTION 'approval.required must be true or false' USING ERRCODE = '22023';
  END IF;
  IF policy ? 'when' THEN
    IF jsonb_typeof(policy->'when') <> 'object' OR policy->'when' = '{}'::jsonb THEN
      RAISE EXCEPTION 'approval.when must be a non-empty object of argument constraints' USING ERRCODE = '22023',
        HINT = 'For example {"when": {"amount": {"min": 1000}}}.';
    END IF;
    PERFORM warden._check_constraints((policy->'when')::jsonb);
  END IF;
  IF coalesce((policy->>'required')::boolean, false) = (policy ? 'when') THEN
    RAISE EXCEPTION 'approval needs exactly one of "required": true and "when"' USING ERRCODE = '22023';
  END IF;
  IF jsonb_typeof(policy->'approvers') IS DISTINCT FROM 'array' OR jsonb_array_length(policy->'approvers') = 0 THEN
    RAISE EXCEPTION 'approval.approvers must name at least one approver' USING ERRCODE = '22023',
      HINT = 'A human''s subject or "group:NAME", e.g. ["alice@example.com", "group:sre"].';
  END IF;
  FOR a IN SELECT jsonb_array_elements(policy->'approvers') LOOP
    IF jsonb_typeof(a) <> 'string' OR (a #>> '{}') = '' OR (a #>> '{}') = 'group:' THEN
      RAISE EXCEPTION 'approval.approvers holds %, not a subject or "group:NAME"', a USING ERRCODE = '22023';
    END IF;
    -- A person is named by an existing human: a subject nobody holds yet could be claimed by
    -- whoever first signs in with it (a provider's just-in-time humans), and would then approve.
    IF (a #>> '{}') NOT LIKE 'group:%' AND NOT EXISTS (SELECT FROM warden.humans hh WHERE hh.subject = (a #>> '{}')) THEN
      RAISE EXCEPTION 'approval.approvers names %, who is not a human warden knows', a USING ERRCODE = '22023',
        HINT = 'Add the person first (warden.add_human, and warden.link_human for sign-in through a provider).';
    END IF;
  END LOOP;
  IF policy ? 'self_approval' AND jsonb_typeof(policy->'self_approval') <> 'boolean' THEN
    RAISE EXCEPTION 'approval.self_approval must be true or false' USING ERRCODE = '22023';
  END IF;
  BEGIN
    ttl := coalesce(policy->>'ttl', '10 minutes')::interval;
  EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
    RAISE EXCEPTION 'approval.ttl "%" is not an interval', policy->>'ttl' USING ERRCODE = '22023';
  END;
  IF ttl < interval '10 seconds' OR ttl > interval '1 day' THEN
    RAISE EXCEPTION 'approval.ttl % is out of range', ttl USING ERRCODE = '22023',
      HINT = 'An approval waits and stays usable for 10 seconds to 1 day.';
  END IF;
  RETURN policy || jsonb_build_object('ttl', ttl::text,
                                      'self_approval', coalesce((policy->>'self_approval')::boolean, false));
END
$$;
REVOKE ALL ON FUNCTION warden._check_approval_policy(jsonb) FROM PUBLIC;

-- Whether the call a token makes may still happen: token and every token above it live, chain
-- live and not ended, agent and every agent above it active, the person not offboarded.
CREATE OR REPLACE FUNCTION warden._token_alive(token_id uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce((
    SELECT t.revoked_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > pg_catalog.now()
           AND a.status = 'active' AND h.revoked_at IS NULL
           AND NOT EXISTS (SELECT FROM warden.tokens up WHERE up.token_id = ANY (t.ancestor_tokens)
                           AND up.revoked_at IS NOT NULL)
           AND NOT EXISTS (SELECT FROM warden.agents aa WHERE aa.agent_id = ANY (t.ancestor_agents)
                           AND aa.status <> 'active')
    FROM warden.tokens t JOIN warden.chains c ON c.chain_id = t.chain_id
    JOIN warden.agents a ON a.agent_id = t.agent_id JOIN warden.humans h ON h.human_id = c.human_id
    WHERE t.token_id = _token_alive.token_id), false)
$$;
REVOKE ALL ON FUNCTION warden._token_alive(uuid) FROM PUBLIC;

-- Cancels the open approvals of these tokens that no transaction holds (see the top).
CREATE OR REPLACE FUNCTION warden._cancel_approvals(token_ids uuid[], why text) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int;
BEGIN
  WITH c AS (
    UPDATE warden.approvals ap SET state = 'cancelled', cancelled_reason = coalesce(why, 'revoked')
    WHERE ap.approval_id IN (SELECT x.approval_id FROM warden.approvals x
                             WHERE x.token_id = ANY (token_ids) AND x.state IN ('pending', 'approved')
                             FOR UPDATE SKIP LOCKED)
    RETURNING 1)
  SELECT count(*) INTO n FROM c;
  IF n > 0 THEN
    PERFORM pg_catalog.pg_notify('warden_events', '{"kind": "approval"}');
  END IF;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION warden._cancel_approvals(uuid[], text) FROM PUBLIC;

-- Open approvals past their time become expired; those of dead calls (a kill that skipped
-- them) cancelled. Run by warden.maintenance.
CREATE OR REPLACE FUNCTION warden.expire_approvals() RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int;
  m int;
BEGIN
  WITH e AS (
    UPDATE warden.approvals ap SET state = 'expired'
    WHERE ap.approval_id IN (SELECT x.approval_id FROM warden.approvals x
                             WHERE x.state IN ('pending', 'approved') AND x.expires_at <= pg_catalog.now()
                             FOR UPDATE SKIP LOCKED)
    RETURNING 1)
  SELECT count(*) INTO n FROM e;
  WITH c AS (
    UPDATE warden.approvals ap SET state = 'cancelled', cancelled_reason = 'the call''s token, chain, agent or human was revoked'
    WHERE ap.approval_id IN (SELECT x.approval_id FROM warden.approvals x
                             WHERE x.state IN ('pending', 'approved') AND NOT warden._token_alive(x.token_id)
                             FOR UPDATE SKIP LOCKED)
    RETURNING 1)
  SELECT count(*) INTO m FROM c;
  IF n + m > 0 THEN
    PERFORM pg_catalog.pg_notify('warden_events', '{"kind": "approval"}');
  END IF;
  RETURN n + m;
END
$$;
REVOKE ALL ON FUNCTION warden.expire_approvals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.expire_approvals() TO warden_admin;

-- Maps a database login to the human it acts for when it approves.
CREATE OR REPLACE FUNCTION warden.map_login(role text, human text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h uuid;
BEGIN
  IF role IS NULL OR human IS NULL THEN
    RAISE EXCEPTION 'map_login needs a role and a human' USING ERRCODE = '22004';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = map_login.role) THEN
    RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '42704';
  END IF;
  SELECT hh.human_id INTO h FROM warden.humans hh WHERE hh.subject = map_login.human;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', human USING ERRCODE = '42704', HINT = 'Register it with warden.add_human(subject).';
  END IF;
  INSERT INTO warden.login_humans AS lh (role_name, human_id) VALUES (map_login.role::name, h)
  ON CONFLICT (role_name) DO UPDATE SET human_id = excluded.human_id, mapped_at = pg_catalog.now(),
                                        mapped_by = session_user;
  PERFORM warden._event('login_mapped'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, human::text,
                        jsonb_build_object('role', role), NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.map_login(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.map_login(text, text) TO warden_admin;

CREATE OR REPLACE FUNCTION warden.add_group_member(group_name text, human text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h uuid;
BEGIN
  SELECT hh.human_id INTO h FROM warden.humans hh WHERE hh.subject = add_group_member.human;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', human USING ERRCODE = '42704';
  END IF;
  INSERT INTO warden.human_groups (group_name, human_id) VALUES (add_group_member.group_name, h)
  ON CONFLICT DO NOTHING;
END
$$;
REVOKE ALL ON FUNCTION warden.add_group_member(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.add_group_member(text, text) TO warden_admin;

-- Why this human may not decide this approval, or NULL when they may.
CREATE OR REPLACE FUNCTION warden._approver_refusal(approval_id uuid, approver uuid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p jsonb;
  chain_human uuid;
  subj text;
  revoked timestamptz;
BEGIN
  SELECT g.approval, c.human_id INTO p, chain_human
  FROM warden.approvals ap JOIN warden.grants g ON g.grant_id = ap.grant_id
  JOIN warden.chains c ON c.chain_id = ap.chain_id
  WHERE ap.approval_id = _approver_refusal.approval_id;
  SELECT hh.subject, hh.revoked_at INTO subj, revoked FROM warden.humans hh WHERE hh.human_id = approver;
  IF subj IS NULL OR revoked IS NOT NULL THEN
    RETURN 'the approver is not an active human';
  END IF;
  IF approver = chain_human AND NOT coalesce((p->>'self_approval')::boolean, false) THEN
    RETURN 'separation of duties: the person whose agent asks may not approve it';
  END IF;
  IF NOT EXISTS (SELECT FROM jsonb_array_elements_text(coalesce(p->'approvers', '[]')) n
                 -- A subject that reads "group:..." is not a group's member by its name.
                 WHERE (n = subj AND n NOT LIKE 'group:%')
                    OR (n LIKE 'group:%' AND EXISTS (SELECT FROM warden.human_groups hg
                                                     WHERE hg.group_name = substr(n, 7) AND hg.human_id = approver))) THEN
    RETURN 'the grant''s approvers do not include ' || subj;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION warden._approver_refusal(uuid, uuid) FROM PUBLIC;

-- The one place an approval is decided (from warden.approve / deny and from the page).
CREATE OR REPLACE FUNCTION warden._decide_approval(approval_id uuid, approve boolean, note text,
                                                   approver uuid, login name, idp text)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ap warden.approvals;
  why text;
  subj text;
  agent_name text;
  chain_subject text;
  ev uuid;
  new_state text := CASE WHEN approve THEN 'approved' ELSE 'denied' END;
BEGIN
  IF approval_id IS NULL OR approve IS NULL THEN
    RAISE EXCEPTION 'an approval id is needed' USING ERRCODE = '22004';
  END IF;
  IF note IS NOT NULL AND length(note) > 2000 THEN
    RAISE EXCEPTION 'the note is longer than 2000 characters' USING ERRCODE = '22001';
  END IF;
  SELECT * INTO ap FROM warden.approvals x WHERE x.approval_id = _decide_approval.approval_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown approval %', approval_id USING ERRCODE = '42704';
  END IF;
  IF ap.state <> 'pending' THEN
    RAISE EXCEPTION 'approval % is %, not pending', approval_id, ap.state USING ERRCODE = '55000',
      HINT = 'An approval is decided once; a new call asks for a new one.';
  END IF;
  IF ap.expires_at <= pg_catalog.now() THEN
    RAISE EXCEPTION 'approval % has expired', approval_id USING ERRCODE = '55000';
  END IF;
  -- A new statement, a new snapshot: a kill that committed while we waited for the row is seen.
  IF approve AND NOT warden._token_alive(ap.token_id) THEN
    RAISE EXCEPTION 'the call of approval % can no longer happen: its token, chain, agent or human was revoked',
      approval_id USING ERRCODE = '55000';
  END IF;
  why := warden._approver_refusal(ap.approval_id, approver);
  IF why IS NOT NULL THEN
    RAISE EXCEPTION 'you may not decide approval %: %', approval_id, why USING ERRCODE = '42501';
  END IF;
  SELECT hh.subject INTO subj FROM warden.humans hh WHERE hh.human_id = approver;
  SELECT a.name, h.subject INTO agent_name, chain_subject
  FROM warden.tokens t JOIN warden.agents a ON a.agent_id = t.agent_id
  JOIN warden.chains c ON c.chain_id = t.chain_id JOIN warden.humans h ON h.human_id = c.human_id
  WHERE t.token_id = ap.token_id;
  ev := warden._event((CASE WHEN approve THEN 'approval_granted' ELSE 'approval_denied' END)::text,
                      ap.chain_id::uuid, ap.token_id::uuid, ap.event_id::uuid, agent_name::text, chain_subject::text,
                      jsonb_build_object('approval_id', ap.approval_id, 'approver', subj, 'login', login,
                                         'idp', idp, 'note', note),
                      approve::boolean, ('by ' || subj)::text, ap.server::text, ap.tool::text);
  UPDATE warden.approvals x SET state = new_state, approver = subj, approver_login = login,
         decided_at = pg_catalog.now(), note = _decide_approval.note, decision_event = ev
  WHERE x.approval_id = ap.approval_id;
  PERFORM pg_catalog.pg_notify('warden_events', '{"kind": "approval"}');
  RETURN jsonb_build_object('approval_id', ap.approval_id, 'state', new_state, 'approver', subj);
END
$$;
REVOKE ALL ON FUNCTION warden._decide_approval(uuid, boolean, text, uuid, name, text) FROM PUBLIC;

-- The human the session's login acts for, if it is an approver.
CREATE OR REPLACE FUNCTION warden._login_approver() RETURNS uuid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h uuid;
BEGIN
  -- session_user, not current_user: a login that may SET ROLE to a mapped one is not that person.
  IF NOT pg_catalog.pg_has_role(session_user, 'warden_approver', 'MEMBER') THEN
    RAISE EXCEPTION 'login "%" is not a member of warden_approver', session_user USING ERRCODE = '42501';
  END IF;
  -- An offboarded person (revoke_human) approves nothing, whatever login maps to them.
  SELECT lh.human_id INTO h FROM warden.login_humans lh
  JOIN warden.humans hh ON hh.human_id = lh.human_id AND hh.revoked_at IS NULL
  WHERE lh.role_name = session_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'login "%" is not mapped to a human', session_user USING ERRCODE = '42501',
      HINT = 'An admin maps it with warden.map_login(role, human).';
  END IF;
  RETURN h;
END
$$;
REVOKE ALL ON FUNCTION warden._login_approver() FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden.approve(approval_id uuid, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT warden._decide_approval(approval_id::uuid, true::boolean, note::text, warden._login_approver()::uuid,
                                 session_user::name, NULL::text)
$$;
CREATE OR REPLACE FUNCTION warden.deny(approval_id uuid, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT warden._decide_approval(approval_id::uuid, false::boolean, note::text, warden._login_approver()::uuid,
                                 session_user::name, NULL::text)
$$;
REVOKE ALL ON FUNCTION warden.approve(uuid, text), warden.deny(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.approve(uuid, text), warden.deny(uuid, text) TO warden_approver;

-- A sign-in for the approval page, opened by an approver login: the secret is shown once and
-- only its hash kept. The gateway sees it in the page's cookie and could replay it until it
-- expires (at most 12 hours) or the person is offboarded: the interim sign-in until approvers
-- sign in through the identity provider.
CREATE OR REPLACE FUNCTION warden.approver_session(ttl interval DEFAULT '1 hour')
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h uuid := warden._login_approver();
  secret text := 'was_' || warden._random_secret(32::int);
BEGIN
  IF ttl IS NULL OR ttl <= interval '0' OR ttl > interval '12 hours' THEN
    RAISE EXCEPTION 'an approver session lasts more than 0 and at most 12 hours' USING ERRCODE = '22023';
  END IF;
  DELETE FROM warden.approver_sessions s WHERE s.expires_at < pg_catalog.now();
  INSERT INTO warden.approver_sessions (session_hash, human_id, login, expires_at)
  VALUES (warden._secret_hash(secret::text), h, session_user, pg_catalog.now() + ttl);
  RETURN secret;
END
$$;
REVOKE ALL ON FUNCTION warden.approver_session(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.approver_session(interval) TO warden_approver;

-- The human of a live approver session, with the login or identity provider that opened it;
-- the person not offboarded, and a login still an approver mapped to them (a provider's
-- session: the person still that provider's).
CREATE OR REPLACE FUNCTION warden._approver_of_session(session text, OUT human_id uuid, OUT login name,
                                                       OUT idp text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  SELECT s.human_id, s.login, ip.name INTO human_id, login, idp FROM warden.approver_sessions s
  LEFT JOIN warden.identity_providers ip ON ip.idp_id = s.idp_id
  WHERE s.session_hash = warden._secret_hash(coalesce(session, '')::text) AND s.expires_at > pg_catalog.now()
    -- A session outlives nobody's offboarding: revoke_human ends it at once.
    AND EXISTS (SELECT FROM warden.humans hh WHERE hh.human_id = s.human_id AND hh.revoked_at IS NULL)
    AND CASE WHEN s.login IS NOT NULL
             THEN EXISTS (SELECT FROM warden.login_humans lh WHERE lh.role_name = s.login AND lh.human_id = s.human_id)
                  AND pg_catalog.pg_has_role(s.login, 'warden_approver', 'MEMBER')
             ELSE EXISTS (SELECT FROM warden.humans hh WHERE hh.human_id = s.human_id AND hh.idp = s.idp_id) END;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no such approver session' USING ERRCODE = '28000',
      HINT = 'Sign in again: through the identity provider on the approval page, or with warden.approver_session().';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._approver_of_session(text) FROM PUBLIC;

-- What the page shows of one approval: who asks, through which agents, for whom, the tool,
-- the arguments as the audit keeps them (redacted), the grant and its reason.
CREATE OR REPLACE FUNCTION warden._approval_view(approval_id uuid, approver uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_build_object(
    'approval_id', ap.approval_id, 'state', CASE WHEN ap.state = 'pending' AND ap.expires_at <= pg_catalog.now()
                                                 THEN 'expired' ELSE ap.state END,
    'requested_at', ap.requested_at, 'expires_at', ap.expires_at,
    'server', ap.server, 'tool', ap.tool,
    'agent', a.name,
    'agents', (SELECT coalesce(jsonb_agg(aa.name ORDER BY x.o), '[]') FROM unnest(t.ancestor_agents || t.agent_id)
               WITH ORDINALITY x(id, o) JOIN warden.agents aa ON aa.agent_id = x.id),
    'human', h.subject, 'purpose', c.purpose,
    'arguments', (SELECT e.arguments FROM warden.events e WHERE e.event_id = ap.event_id LIMIT 1),
    'grant_id', g.grant_id, 'grant_reason', g.reason, 'approval', g.approval,
    'approver', ap.approver, 'note', ap.note, 'decided_at', ap.decided_at,
    'may_decide', ap.state = 'pending' AND ap.expires_at > pg_catalog.now()
                  AND warden._approver_refusal(ap.approval_id::uuid, $2::uuid) IS NULL,
    'refusal', warden._approver_refusal(ap.approval_id::uuid, $2::uuid))
  FROM warden.approvals ap JOIN warden.tokens t ON t.token_id = ap.token_id
  JOIN warden.agents a ON a.agent_id = t.agent_id JOIN warden.chains c ON c.chain_id = ap.chain_id
  JOIN warden.humans h ON h.human_id = c.human_id JOIN warden.grants g ON g.grant_id = ap.grant_id
  WHERE ap.approval_id = _approval_view.approval_id
$$;
REVOKE ALL ON FUNCTION warden._approval_view(uuid, uuid) FROM PUBLIC;

-- The approval page's three questions, for the proxy, each only with an approver's session.
-- An approval the approver may not decide is shown to them only if they are named as approver
-- (so a session does not let anyone browse every call).
CREATE OR REPLACE FUNCTION warden.approval_page(session text, approval_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
  v jsonb;
BEGIN
  SELECT * INTO s FROM warden._approver_of_session(session::text);
  IF approval_id IS NOT NULL THEN
    v := warden._approval_view(approval_id::uuid, s.human_id::uuid);
    IF v IS NULL OR (v->>'refusal') LIKE 'the grant''s approvers do not include%' THEN
      RAISE EXCEPTION 'unknown approval %', approval_id USING ERRCODE = '42704';
    END IF;
    RETURN jsonb_build_object('approver', (SELECT hh.subject FROM warden.humans hh WHERE hh.human_id = s.human_id),
                              'approval', v);
  END IF;
  RETURN jsonb_build_object(
    'approver', (SELECT hh.subject FROM warden.humans hh WHERE hh.human_id = s.human_id),
    -- Filtered to what this approver may decide before the limit: other teams' (or an agent's
    -- flood of) pending approvals cannot push this approver's own off the page.
    'pending', (SELECT coalesce(jsonb_agg(y.v ORDER BY y.requested_at), '[]')
                FROM (SELECT x.v, x.requested_at
                      FROM (SELECT warden._approval_view(ap.approval_id, s.human_id) AS v, ap.requested_at
                            FROM warden.approvals ap
                            WHERE ap.state = 'pending' AND ap.expires_at > pg_catalog.now()) x
                      WHERE (x.v->>'may_decide')::boolean
                      ORDER BY x.requested_at LIMIT 200) y));
END
$$;
REVOKE ALL ON FUNCTION warden.approval_page(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.approval_page(text, uuid) TO warden_proxy;

CREATE OR REPLACE FUNCTION warden.decide_approval(session text, approval_id uuid, approve boolean, note text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
BEGIN
  SELECT * INTO s FROM warden._approver_of_session(session::text);
  RETURN warden._decide_approval(approval_id::uuid, approve::boolean, note::text, s.human_id::uuid, s.login::name,
                                 s.idp::text);
END
$$;
REVOKE ALL ON FUNCTION warden.decide_approval(text, uuid, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.decide_approval(text, uuid, boolean, text) TO warden_proxy;

-- For a front-end holding a call: the approval's state (expired once past its time). Names
-- nothing else about the call.
CREATE OR REPLACE FUNCTION warden.approval_state(approval_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN ap.state IN ('pending', 'approved') AND ap.expires_at <= pg_catalog.now() THEN 'expired'
              ELSE ap.state END
  FROM warden.approvals ap WHERE ap.approval_id = approval_state.approval_id
$$;
REVOKE ALL ON FUNCTION warden.approval_state(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.approval_state(uuid) TO warden_proxy, warden_admin, warden_auditor;

-- For a front-end whose call authorize answered approval_required: the approval it asked for.
CREATE OR REPLACE FUNCTION warden.approval_for(event_id uuid, OUT approval_id uuid, OUT expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ap.approval_id, ap.expires_at FROM warden.approvals ap
  WHERE ap.approval_id = (SELECT (e.detail->>'approval_id')::uuid FROM warden.events e
                          WHERE e.event_id = approval_for.event_id AND e.reason = 'approval_required' LIMIT 1)
$$;
REVOKE ALL ON FUNCTION warden.approval_for(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.approval_for(uuid) TO warden_proxy;
