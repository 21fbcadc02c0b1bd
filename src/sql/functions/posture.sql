-- Where you stand (issue 16): the maturity ladder, least-privilege suggestions, access review,
-- compliance evidence and a chain as a picture. Questions an auditor asks, so every function
-- here is SECURITY INVOKER: it reads only what its caller may already SELECT (warden_auditor
-- and warden_admin read the inventory, grants and the audit trail) and calls only functions its
-- caller may already execute (verify_audit, secrets_status). None of them writes anything.

-- The maturity ladder, one row per agent and one (agent NULL) for the organisation, over the
-- last 30 days. Every criterion is a fact in the tables; reasons lists which hold and which
-- are missing (see README, "Where you stand"):
--   shadow    an agent that registered itself and no admin approved (status pending); for the
--             organisation also calls with unknown tokens, or no agent registered at all
--   tracked   registered and approved
--   governed  tracked + enforce mode, calls allowed by grants, no call allowed only by observe
--             mode, every allowed call older than 15 minutes has an outcome, every live grant
--             ends within 90 days of its creation
--   full      governed + every server it called is credentialed by the vault (a stored secret)
--             or by a minted token (jwt, paseto), no unconstrained server/* grant on a server
--             with a tool that is not read-only (readOnlyHint), every chain it acted in was
--             started by a human an identity provider verified, a kill or revocation happened
--             in the period (anywhere: the switch was exercised), every call is attributed
--             (chain, token, human)
-- The organisation stands on the lowest rung of its active agents, and is governed only while
-- verify_audit finds the period's audit trail intact.
CREATE OR REPLACE FUNCTION warden.maturity()
RETURNS TABLE (agent text, rung text, reasons jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  since timestamptz := now() - interval '30 days';
  rungs constant text[] := ARRAY['shadow', 'tracked', 'governed', 'full'];
  revocations bigint;
  unknown_tokens bigint;
  pending bigint;
  registered bigint;
  lowest int;
  by_rung jsonb := jsonb_build_object('shadow', 0, 'tracked', 0, 'governed', 0, 'full', 0);
  audit record;
  r record;
  org_rung int;
  names text[];
  holds boolean[];
BEGIN
  SELECT count(*) INTO revocations FROM warden.events e
  WHERE e.at >= since AND e.kind IN ('killed', 'chain_revoked', 'token_revoked', 'agent_suspended',
                                     'human_revoked', 'grant_revoked');
  SELECT count(*) INTO unknown_tokens FROM warden.events e
  WHERE e.at >= since AND e.kind = 'call' AND e.allowed IS FALSE AND e.reason = 'token_invalid';

  FOR r IN
    WITH calls AS (
      SELECT e.event_id, e.agent, e.server, e.chain_id, e.token_id, e.human, e.allowed, e.reason, e.at
      FROM warden.events e WHERE e.kind = 'call' AND e.at >= since AND e.agent IS NOT NULL
    ),
    outcomes AS (
      SELECT DISTINCT e.parent_id FROM warden.events e
      WHERE e.kind = 'completed' AND e.at >= since AND e.parent_id IS NOT NULL
    ),
    by_agent AS (
      SELECT c.agent,
             count(*) AS calls,
             count(*) FILTER (WHERE c.reason = 'granted') AS granted,
             count(*) FILTER (WHERE c.reason LIKE 'observe:%') AS observed,
             count(*) FILTER (WHERE c.allowed AND c.at < now() - interval '15 minutes'
                                AND NOT EXISTS (SELECT FROM outcomes o WHERE o.parent_id = c.event_id)) AS without_outcome,
             count(*) FILTER (WHERE c.chain_id IS NULL OR c.token_id IS NULL OR c.human IS NULL) AS unattributed
      FROM calls c GROUP BY c.agent
    ),
    stored_secrets AS (SELECT st.server FROM warden.secrets_status() st),
    uncredentialed AS (
      SELECT c.agent, count(DISTINCT c.server) AS n
      FROM calls c JOIN warden.servers s ON s.name = c.server
      WHERE c.allowed
        AND NOT (coalesce(s.credential->>'kind', 'none') IN ('jwt', 'paseto', 'txn_token')
                 OR (s.credential->>'kind' = 'secret' AND s.name IN (SELECT ss.server FROM stored_secrets ss)))
      GROUP BY c.agent
    ),
    unverified AS (
      SELECT c.agent, count(DISTINCT c.chain_id) AS n
      FROM calls c JOIN warden.chains ch ON ch.chain_id = c.chain_id
      JOIN warden.humans h ON h.human_id = ch.human_id
      WHERE h.idp IS NULL GROUP BY c.agent
    ),
    live AS (
      SELECT g.agent_id,
             count(*) FILTER (WHERE g.expires_at - g.created_at > interval '90 days') AS long_lived,
             count(*) FILTER (WHERE g.tool = '*' AND g.constraints = '{}'::jsonb
                                AND (NOT EXISTS (SELECT FROM warden.tools t JOIN warden.servers s ON s.server_id = t.server_id
                                                 WHERE s.name = g.server)
                                     OR EXISTS (SELECT FROM warden.tools t JOIN warden.servers s ON s.server_id = t.server_id
                                                WHERE s.name = g.server
                                                  AND (t.definition #> '{annotations,readOnlyHint}') IS DISTINCT FROM 'true'::jsonb)))
               AS open_wildcards
      FROM warden.grants g WHERE g.revoked_at IS NULL AND g.expires_at > now()
      GROUP BY g.agent_id
    )
    SELECT a.name, a.status, a.mode,
           coalesce(b.calls, 0) AS calls, coalesce(b.granted, 0) AS granted, coalesce(b.observed, 0) AS observed,
           coalesce(b.without_outcome, 0) AS without_outcome, coalesce(b.unattributed, 0) AS unattributed,
           coalesce(u.n, 0) AS uncredentialed, coalesce(v.n, 0) AS unverified,
           coalesce(l.long_lived, 0) AS long_lived, coalesce(l.open_wildcards, 0) AS open_wildcards
    FROM warden.agents a
    LEFT JOIN by_agent b ON b.agent = a.name
    LEFT JOIN uncredentialed u ON u.agent = a.name
    LEFT JOIN unverified v ON v.agent = a.name
    LEFT JOIN live l ON l.agent_id = a.agent_id
    ORDER BY a.name COLLATE "C"
  LOOP
    names := ARRAY['registered',
                   'enforce_mode', 'grants_used', 'no_observe_allowances', 'calls_have_outcomes',
                   'grants_end_within_90_days',
                   'credentials_vaulted_or_minted', 'wildcards_constrained', 'chains_from_verified_identities',
                   'revocation_exercised', 'attribution_complete'];
    holds := ARRAY[r.status <> 'pending',
                   r.mode = 'enforce', r.granted > 0, r.observed = 0, r.without_outcome = 0,
                   r.long_lived = 0,
                   r.uncredentialed = 0, r.open_wildcards = 0, r.unverified = 0,
                   revocations > 0, r.unattributed = 0];
    agent := r.name;
    rung := CASE WHEN NOT holds[1] THEN 'shadow'
                 WHEN NOT (holds[2] AND holds[3] AND holds[4] AND holds[5] AND holds[6]) THEN 'tracked'
                 WHEN NOT (holds[7] AND holds[8] AND holds[9] AND holds[10] AND holds[11]) THEN 'governed'
                 ELSE 'full' END;
    reasons := jsonb_build_object(
      'holds', to_jsonb(ARRAY(SELECT c.k FROM unnest(names, holds) WITH ORDINALITY c(k, v, i) WHERE c.v ORDER BY c.i)),
      'missing', to_jsonb(ARRAY(SELECT c.k FROM unnest(names, holds) WITH ORDINALITY c(k, v, i) WHERE NOT c.v ORDER BY c.i)),
      'facts', jsonb_build_object('status', r.status, 'mode', r.mode, 'calls', r.calls, 'granted_calls', r.granted,
                                  'observe_allowances', r.observed, 'calls_without_outcome', r.without_outcome,
                                  'long_lived_grants', r.long_lived, 'unconstrained_wildcard_grants', r.open_wildcards,
                                  'uncredentialed_servers', r.uncredentialed, 'unverified_chains', r.unverified,
                                  'unattributed_calls', r.unattributed, 'revocations_in_period', revocations));
    IF r.status = 'active' OR r.status = 'pending' THEN
      by_rung := jsonb_set(by_rung, ARRAY[rung], to_jsonb((by_rung->>rung)::int + 1));
      lowest := least(coalesce(lowest, 4), array_position(rungs, rung));
    END IF;
    RETURN NEXT;
  END LOOP;

  SELECT count(*) FILTER (WHERE a.status = 'pending'), count(*) FILTER (WHERE a.status = 'active')
  INTO pending, registered FROM warden.agents a;
  SELECT * INTO audit FROM warden.verify_audit(since);
  names := ARRAY['agents_registered', 'no_pending_agents', 'no_unknown_token_calls',
                 'every_agent_governed', 'audit_verified', 'every_agent_full'];
  holds := ARRAY[registered > 0, pending = 0, unknown_tokens = 0,
                 coalesce(lowest, 0) >= 3, coalesce(audit.ok, false), coalesce(lowest, 0) >= 4];
  org_rung := CASE WHEN NOT (holds[1] AND holds[2] AND holds[3]) THEN 1
                   WHEN NOT (holds[4] AND holds[5]) THEN 2
                   WHEN NOT holds[6] THEN 3
                   ELSE 4 END;
  agent := NULL;
  rung := rungs[org_rung];
  reasons := jsonb_build_object(
    'holds', to_jsonb(ARRAY(SELECT c.k FROM unnest(names, holds) WITH ORDINALITY c(k, v, i) WHERE c.v ORDER BY c.i)),
    'missing', to_jsonb(ARRAY(SELECT c.k FROM unnest(names, holds) WITH ORDINALITY c(k, v, i) WHERE NOT c.v ORDER BY c.i)),
    'facts', jsonb_build_object('active_agents', registered, 'pending_agents', pending,
                                'unknown_token_calls', unknown_tokens, 'agents_by_rung', by_rung,
                                'revocations_in_period', revocations, 'audit_ok', audit.ok,
                                'audit_events_checked', audit.events_checked,
                                'since', since));
  RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION warden.maturity() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.maturity() TO warden_admin, warden_auditor;

-- The smallest grants that would have allowed what an agent did since `since`: its calls that
-- grants allowed (granted), that only observe mode allowed (observe:*), and its calls to tools
-- it had no grant for (no_grant; counted in `denied`). A call a grant's constraints or budget
-- refused never widens a suggestion: it is what the grant is for. One row per server/tool, with constraints
-- inferred from the arguments as the audit recorded them (already redacted and shortened):
--   numbers                       min and max of the values seen
--   paths (every value /a/b/...)  path_prefix of the deepest directory holding them all (an in
--                                 list instead when that is / and there are at most 10)
--   other scalars, at most 10     in [the values seen]
--   anything else, a redacted or shortened value, a key whose name is sensitive: present only
-- An argument missing from some calls is "optional": true; "additional": false refuses argument
-- names never seen (left off when a seen name cannot be addressed by a constraint key: one
-- holding '.' or '[', or longer than 256 bytes). grant_sql is the statement an admin runs.
CREATE OR REPLACE FUNCTION warden.suggest_grants(agent text, since timestamptz DEFAULT now() - interval '7 days')
RETURNS TABLE (tool text, constraints jsonb, calls bigint, observe_allowed bigint, denied bigint,
               first_at timestamptz, last_at timestamptz, grant_sql text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  who text := suggest_grants.agent;
  t record;
  k record;
  p jsonb;
  c jsonb;
  addressable boolean;
  dirs text[];
  common text[];
  i int;
BEGIN
  IF who IS NULL OR since IS NULL THEN
    RAISE EXCEPTION 'suggest_grants needs an agent and a start time'
      USING ERRCODE = '22004', HINT = 'For example warden.suggest_grants(''triage-bot'', now() - interval ''7 days'').';
  END IF;
  IF NOT EXISTS (SELECT FROM warden.agents a WHERE a.name = who) THEN
    RAISE EXCEPTION 'unknown agent "%"', who USING ERRCODE = '42704', HINT = 'See warden.agents.';
  END IF;

  FOR t IN
    SELECT e.server, e.tool, count(*) AS n,
           count(*) FILTER (WHERE e.reason LIKE 'observe:%') AS observed,
           count(*) FILTER (WHERE NOT e.allowed) AS refused,
           min(e.at) AS first_at, max(e.at) AS last_at
    FROM warden.events e
    WHERE e.kind = 'call' AND e.agent = who AND e.at >= since
      AND (e.reason = 'granted' OR e.reason LIKE 'observe:%' OR (e.allowed IS FALSE AND e.reason = 'no_grant'))
      -- Only what warden.grant accepts (an attacker-chosen tool name that is not one is left out).
      AND e.server || '/' || e.tool ~ '^[a-z0-9][a-z0-9_-]{0,62}/[A-Za-z0-9_.:-]{1,128}$'
      AND strpos(e.server, '__') = 0
      AND EXISTS (SELECT FROM warden.servers s WHERE s.name = e.server)
    GROUP BY e.server, e.tool ORDER BY e.server COLLATE "C", e.tool COLLATE "C"
  LOOP
    c := '{}';
    addressable := true;
    FOR k IN
      SELECT kv.key, count(*) AS present, array_agg(kv.value) AS vals,
             bool_and(jsonb_typeof(kv.value) = 'number') AS numbers,
             bool_and(jsonb_typeof(kv.value) IN ('string', 'number', 'boolean', 'null')) AS scalars,
             bool_or(jsonb_typeof(kv.value) = 'string'
                     AND (kv.value #>> '{}' = '[redacted]' OR kv.value #>> '{}' LIKE '[truncated%'
                          OR octet_length(kv.value #>> '{}') > 256)) AS opaque,
             bool_and(jsonb_typeof(kv.value) = 'string'
                      AND kv.value #>> '{}' ~ '^(/[^/\\%[:cntrl:]]+)+$'
                      AND kv.value #>> '{}' !~ '/\.\.?(/|$)') AS paths,
             count(DISTINCT kv.value) AS distinct_values
      FROM warden.events e,
           jsonb_each(CASE WHEN jsonb_typeof(e.arguments) = 'object' THEN e.arguments ELSE '{}'::jsonb END) kv
      WHERE e.kind = 'call' AND e.agent = who AND e.at >= since AND e.server = t.server AND e.tool = t.tool
        AND (e.reason = 'granted' OR e.reason LIKE 'observe:%' OR (e.allowed IS FALSE AND e.reason = 'no_grant'))
      GROUP BY kv.key ORDER BY kv.key COLLATE "C"
    LOOP
      IF k.key = '' OR k.key ~ '[.\[\]]' OR octet_length(k.key) > 250 THEN
        addressable := false;
        CONTINUE;
      END IF;
      p := CASE WHEN k.present < t.n THEN '{"optional": true}'::jsonb ELSE '{}'::jsonb END;
      IF k.key ~* '(password|passwd|secret|token|key|authorization|credential|cookie|private)' OR k.opaque THEN
        NULL;  -- present only: never copy a secret, or a value the audit shortened, into a grant
      ELSIF k.numbers AND NOT EXISTS (SELECT FROM unnest(k.vals) v WHERE abs((v #>> '{}')::numeric) > 9007199254740991) THEN
        p := p || jsonb_build_object('min', (SELECT min((v #>> '{}')::numeric) FROM unnest(k.vals) v),
                                     'max', (SELECT max((v #>> '{}')::numeric) FROM unnest(k.vals) v));
      ELSIF k.paths AND NOT (k.distinct_values <= 10 AND (SELECT count(DISTINCT split_part(v #>> '{}', '/', 2)) FROM unnest(k.vals) v) > 1) THEN
        -- The deepest directory every path lies in, compared by whole segments.
        dirs := NULL;
        common := NULL;
        FOR i IN 1 .. cardinality(k.vals) LOOP
          dirs := string_to_array(regexp_replace(k.vals[i] #>> '{}', '^/(.*)/[^/]*$|^/[^/]*$', '\1'), '/');
          IF dirs = ARRAY['']::text[] THEN dirs := '{}'; END IF;
          IF common IS NULL THEN
            common := dirs;
          ELSE
            WHILE cardinality(common) > 0 AND common <> dirs[1:cardinality(common)] LOOP
              common := common[1:cardinality(common) - 1];
            END LOOP;
          END IF;
        END LOOP;
        p := p || jsonb_build_object('path_prefix', '/' || array_to_string(common || ARRAY['']::text[], '/'));
      ELSIF k.scalars AND k.distinct_values <= 10 THEN
        p := p || jsonb_build_object('in', (SELECT jsonb_agg(DISTINCT v ORDER BY v) FROM unnest(k.vals) v));
      END IF;
      c := c || jsonb_build_object(CASE WHEN k.key = 'additional' THEN '$.additional' ELSE k.key END, p);
    END LOOP;
    IF addressable THEN
      c := c || '{"additional": false}'::jsonb;
    END IF;
    tool := t.server || '/' || t.tool;
    constraints := c;
    calls := t.n;
    observe_allowed := t.observed;
    denied := t.refused;
    first_at := t.first_at;
    last_at := t.last_at;
    grant_sql := format('SELECT warden.grant(%L, %L, %L::jsonb, interval %L, reason => %L);',
                        who, tool, c::text, '30 days',
                        format('suggested from %s calls seen since %s', t.n,
                               to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
    RETURN NEXT;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION warden.suggest_grants(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.suggest_grants(text, timestamptz) TO warden_admin, warden_auditor;

-- What to tighten next. One row per finding, ordered by finding and subject:
--   unused_grant                 a live grant older than older_than that allowed no call in the
--                                last older_than
--   broad_grant                  a live grant on server/*, without constraints, or living more
--                                than 90 days (detail.why says which)
--   agent_without_active_owner   an agent (not killed) whose owner was offboarded
--   secret_rotation_due          a vaulted secret past its server's rotation_days (versions and
--                                ages only, never a value)
--   tool_changed_since_approval  a tool whose definition changed after an approval older than
--                                older_than (it is blocked until warden.approve_tool)
CREATE OR REPLACE FUNCTION warden.access_review(older_than interval DEFAULT '30 days')
RETURNS TABLE (finding text, subject text, detail jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'access_review needs a non-negative interval'
      USING ERRCODE = '22023', HINT = 'For example warden.access_review(interval ''30 days'').';
  END IF;
  RETURN QUERY
  WITH live AS (
    SELECT g.grant_id, a.name AS agent, g.server || '/' || g.tool AS tool, g.constraints, g.created_at,
           g.expires_at, g.chain_id, g.max_calls
    FROM warden.grants g JOIN warden.agents a ON a.agent_id = g.agent_id
    WHERE g.revoked_at IS NULL AND g.expires_at > now()
  ),
  used AS (
    SELECT (e.detail->>'grant_id') AS grant_id, max(e.at) AS last_used
    FROM warden.events e
    WHERE e.kind = 'call' AND e.allowed AND e.at >= now() - older_than AND e.detail ? 'grant_id'
    GROUP BY 1
  ),
  findings AS (
    SELECT 'unused_grant'::text AS f, l.agent || ' ' || l.tool AS s,
           jsonb_build_object('grant_id', l.grant_id, 'agent', l.agent, 'tool', l.tool,
                              'created_at', l.created_at, 'expires_at', l.expires_at) AS d
    FROM live l
    WHERE l.created_at < now() - older_than
      AND NOT EXISTS (SELECT FROM used u WHERE u.grant_id = l.grant_id::text)
    UNION ALL
    SELECT 'broad_grant', l.agent || ' ' || l.tool,
           jsonb_build_object('grant_id', l.grant_id, 'agent', l.agent, 'tool', l.tool,
                              'constraints', l.constraints, 'created_at', l.created_at, 'expires_at', l.expires_at,
                              'why', to_jsonb(array_remove(ARRAY[
                                CASE WHEN l.tool LIKE '%/*' THEN 'server_wildcard' END,
                                CASE WHEN l.constraints = '{}'::jsonb THEN 'no_constraints' END,
                                CASE WHEN l.expires_at - l.created_at > interval '90 days' THEN 'long_ttl' END], NULL)))
    FROM live l
    WHERE l.tool LIKE '%/*' OR l.constraints = '{}'::jsonb OR l.expires_at - l.created_at > interval '90 days'
    UNION ALL
    SELECT 'agent_without_active_owner', a.name,
           jsonb_build_object('agent', a.name, 'status', a.status, 'owner', h.subject,
                              'owner_revoked_at', h.revoked_at)
    FROM warden.agents a JOIN warden.humans h ON h.human_id = a.owner_id
    WHERE a.status <> 'killed' AND h.revoked_at IS NOT NULL
    UNION ALL
    SELECT 'secret_rotation_due', st.server,
           jsonb_build_object('server', st.server, 'version', st.version, 'created_at', st.created_at,
                              'age', st.age, 'rotation_days', st.rotation_days)
    FROM warden.secrets_status() st WHERE st.rotation_due
    UNION ALL
    SELECT 'tool_changed_since_approval', s.name || '/' || t.name,
           jsonb_build_object('tool', s.name || '/' || t.name, 'approved_at', ap.at, 'first_seen', t.first_seen,
                              'last_seen', t.last_seen)
    FROM warden.tools t JOIN warden.servers s ON s.server_id = t.server_id
    CROSS JOIN LATERAL (
      SELECT coalesce((SELECT max(e.at) FROM warden.events e
                       WHERE e.kind = 'tool_approved' AND e.server = s.name AND e.tool = t.name), t.first_seen) AS at
    ) ap
    WHERE t.digest IS DISTINCT FROM t.approved_digest AND ap.at < now() - older_than
  )
  SELECT x.f, x.s, x.d FROM findings x ORDER BY x.f COLLATE "C", x.s COLLATE "C", x.d->>'grant_id';
END
$$;
REVOKE ALL ON FUNCTION warden.access_review(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.access_review(interval) TO warden_admin, warden_auditor;

-- Compliance evidence for [from, to): each control with the facts that support it, each fact
-- a count of audit events (or rows) with up to three sample event ids, plus the verify_audit
-- result and the seals of the period. The mapping is documented in README, "Where you stand".
-- Nothing secret: event ids, counts and names, never arguments, secrets or tokens.
CREATE OR REPLACE FUNCTION warden.evidence("from" timestamptz, "to" timestamptz)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  lo timestamptz := evidence."from";
  hi timestamptz := evidence."to";
  facts jsonb;
  audit record;
  seals jsonb;
  controls jsonb;
BEGIN
  IF lo IS NULL OR hi IS NULL OR lo >= hi THEN
    RAISE EXCEPTION 'evidence needs a period: "from" before "to"'
      USING ERRCODE = '22023', HINT = 'For example warden.evidence(now() - interval ''90 days'', now()).';
  END IF;

  WITH ev AS (
    SELECT e.event_id, e.at, e.kind, e.allowed, e.reason, e.chain_id, e.token_id, e.human
    FROM warden.events e WHERE e.at >= lo AND e.at < hi
  ),
  tagged AS (
    SELECT f.fact, ev.event_id, ev.at FROM ev CROSS JOIN LATERAL (VALUES
      (CASE WHEN ev.kind = 'call' THEN 'calls_decided' END),
      (CASE WHEN ev.kind = 'call' AND ev.allowed AND ev.reason = 'granted' THEN 'calls_allowed_by_grant' END),
      (CASE WHEN ev.kind = 'call' AND ev.reason LIKE 'observe:%' THEN 'calls_allowed_in_observe_mode' END),
      (CASE WHEN ev.kind = 'call' AND ev.allowed IS FALSE THEN 'calls_denied' END),
      (CASE WHEN ev.kind = 'call' AND ev.allowed IS FALSE AND ev.reason IN ('token_invalid', 'token_expired') THEN 'calls_denied_unauthenticated' END),
      (CASE WHEN ev.kind = 'call' AND ev.allowed IS FALSE AND ev.reason IN ('agent_suspended', 'chain_revoked', 'token_revoked', 'human_revoked') THEN 'calls_denied_after_revocation' END),
      (CASE WHEN ev.kind = 'call' AND ev.reason LIKE '%tool_changed' THEN 'calls_on_changed_tools' END),
      (CASE WHEN ev.kind = 'call' AND (ev.chain_id IS NULL OR ev.token_id IS NULL OR ev.human IS NULL) AND ev.allowed THEN 'allowed_calls_unattributed' END),
      (CASE WHEN ev.kind = 'completed' THEN 'call_outcomes' END),
      (CASE WHEN ev.kind = 'grant_created' THEN 'grants_created' END),
      (CASE WHEN ev.kind = 'grant_revoked' THEN 'grants_revoked' END),
      (CASE WHEN ev.kind IN ('token_issued', 'token_exchanged') THEN 'chains_started' END),
      (CASE WHEN ev.kind = 'token_delegated' THEN 'delegations' END),
      (CASE WHEN ev.kind IN ('killed', 'chain_revoked', 'token_revoked', 'agent_suspended', 'human_revoked') THEN 'revocations' END),
      (CASE WHEN ev.kind IN ('signed_in', 'token_exchanged') THEN 'verified_sign_ins' END),
      (CASE WHEN ev.kind IN ('sign_in_refused', 'token_exchange_refused', 'authorization_code_replayed', 'refresh_token_reused') THEN 'authentication_refusals' END),
      (CASE WHEN ev.kind IN ('client_registered', 'agent_approved', 'agent_reinstated') THEN 'agent_registrations' END),
      (CASE WHEN ev.kind IN ('approval_granted', 'approval_denied') THEN 'human_approvals' END),
      (CASE WHEN ev.kind = 'tool_approved' THEN 'tool_approvals' END),
      (CASE WHEN ev.kind IN ('secret_stored', 'keys_rotated') THEN 'key_and_secret_rotations' END),
      (CASE WHEN ev.kind = 'audit_sealed' THEN 'audit_seals' END),
      (CASE WHEN true THEN 'events_recorded' END)
    ) f (fact)
    WHERE f.fact IS NOT NULL
  ),
  counted AS (
    SELECT t.fact, count(*) AS n,
           (ARRAY(SELECT t2.event_id FROM tagged t2 WHERE t2.fact = t.fact ORDER BY t2.at, t2.event_id LIMIT 3)) AS samples
    FROM tagged t GROUP BY t.fact
  ),
  names (fact) AS (VALUES ('calls_decided'), ('calls_allowed_by_grant'), ('calls_allowed_in_observe_mode'),
    ('calls_denied'), ('calls_denied_unauthenticated'), ('calls_denied_after_revocation'),
    ('calls_on_changed_tools'), ('allowed_calls_unattributed'), ('call_outcomes'), ('grants_created'),
    ('grants_revoked'), ('chains_started'), ('delegations'), ('revocations'), ('verified_sign_ins'),
    ('authentication_refusals'), ('agent_registrations'), ('human_approvals'), ('tool_approvals'),
    ('key_and_secret_rotations'), ('audit_seals'), ('events_recorded'))
  SELECT jsonb_object_agg(n.fact, jsonb_build_object('count', coalesce(c.n, 0),
                                                     'sample_event_ids', to_jsonb(coalesce(c.samples, '{}'::uuid[]))))
  INTO facts
  FROM names n LEFT JOIN counted c ON c.fact = n.fact;

  -- State at the time of the report (not of the period): the inventory and live grants.
  facts := facts || jsonb_build_object(
    'agents', (SELECT jsonb_build_object('count', coalesce(sum(x.n), 0),
                                         'by_status', coalesce(jsonb_object_agg(x.status, x.n), '{}'))
               FROM (SELECT a.status, count(*) AS n FROM warden.agents a GROUP BY a.status) x),
    'live_grants', (SELECT jsonb_build_object(
                      'count', count(*),
                      'server_wildcards', count(*) FILTER (WHERE g.tool = '*'),
                      'without_constraints', count(*) FILTER (WHERE g.constraints = '{}'::jsonb),
                      'longest_lifetime', max(g.expires_at - g.created_at),
                      'with_approval', count(*) FILTER (WHERE g.approval IS NOT NULL))
                    FROM warden.grants g WHERE g.revoked_at IS NULL AND g.expires_at > now()),
    'access_review_findings', (SELECT coalesce(jsonb_object_agg(x.finding, x.n), '{}')
                               FROM (SELECT r.finding, count(*) AS n FROM warden.access_review() r GROUP BY r.finding) x));

  SELECT * INTO audit FROM warden.verify_audit(lo);
  SELECT jsonb_build_object(
           'in_period', count(*) FILTER (WHERE s.sealed_at >= lo AND s.sealed_at < hi),
           'last_in_period', max(s.sealed_at) FILTER (WHERE s.sealed_at >= lo AND s.sealed_at < hi),
           'first_after_period', min(s.sealed_at) FILTER (WHERE s.sealed_at >= hi),
           -- Events of the period at or before a seal are covered by it; later ones are not yet.
           'events_covered', (SELECT count(*) FROM warden.events e WHERE e.at >= lo AND e.at < hi
                              AND e.at <= (SELECT max(s2.sealed_at) FROM warden.seals s2)),
           'events_not_yet_sealed', (SELECT count(*) FROM warden.events e WHERE e.at >= lo AND e.at < hi
                                     AND e.at > coalesce((SELECT max(s2.sealed_at) FROM warden.seals s2), '-infinity')))
  INTO seals FROM warden.seals s;

  facts := facts || jsonb_build_object(
    'audit_verification', jsonb_build_object('ok', audit.ok, 'events_checked', audit.events_checked,
                                             'problems', coalesce(jsonb_array_length(
                                               CASE WHEN jsonb_typeof(audit.problems) = 'array' THEN audit.problems END), 0)),
    'seal_coverage', seals);

  SELECT jsonb_agg(jsonb_build_object('framework', m.framework, 'control', m.control, 'title', m.title,
                                      'facts', (SELECT jsonb_object_agg(f, facts->f) FROM unnest(m.fact_names) f))
                   ORDER BY m.ord)
  INTO controls
  FROM (VALUES
    (1, 'SOC 2', 'CC6.1', 'Logical access security: identities, least privilege, protected credentials',
        ARRAY['calls_decided', 'calls_allowed_by_grant', 'calls_denied', 'live_grants', 'chains_started']),
    (2, 'SOC 2', 'CC6.2', 'Registration and authorization before access is granted',
        ARRAY['agents', 'agent_registrations', 'verified_sign_ins', 'calls_denied_unauthenticated']),
    (3, 'SOC 2', 'CC6.3', 'Access is granted, modified and removed by role and need',
        ARRAY['grants_created', 'grants_revoked', 'revocations', 'access_review_findings']),
    (4, 'SOC 2', 'CC7.2', 'Monitoring for anomalies',
        ARRAY['calls_denied', 'calls_on_changed_tools', 'authentication_refusals', 'calls_denied_after_revocation']),
    (5, 'ISO/IEC 27001:2022', 'A.5.15', 'Access control',
        ARRAY['calls_decided', 'calls_allowed_by_grant', 'calls_denied', 'calls_allowed_in_observe_mode']),
    (6, 'ISO/IEC 27001:2022', 'A.5.18', 'Access rights',
        ARRAY['grants_created', 'grants_revoked', 'live_grants', 'access_review_findings']),
    (7, 'ISO/IEC 27001:2022', 'A.8.2', 'Privileged access rights',
        ARRAY['live_grants', 'human_approvals', 'delegations']),
    (8, 'ISO/IEC 27001:2022', 'A.8.5', 'Secure authentication',
        ARRAY['chains_started', 'verified_sign_ins', 'calls_denied_unauthenticated', 'authentication_refusals',
              'key_and_secret_rotations']),
    (9, 'ISO/IEC 27001:2022', 'A.8.15', 'Logging',
        ARRAY['events_recorded', 'calls_decided', 'call_outcomes', 'audit_verification', 'audit_seals']),
    (10, 'ISO/IEC 27001:2022', 'A.8.16', 'Monitoring activities',
        ARRAY['calls_denied', 'revocations', 'calls_denied_after_revocation', 'calls_on_changed_tools']),
    (11, 'NIST SP 800-53', 'AC-2', 'Account management',
        ARRAY['agents', 'agent_registrations', 'revocations', 'access_review_findings']),
    (12, 'NIST SP 800-53', 'AC-6', 'Least privilege',
        ARRAY['live_grants', 'calls_allowed_by_grant', 'calls_denied', 'delegations']),
    (13, 'NIST SP 800-53', 'AU-2', 'Event logging',
        ARRAY['events_recorded', 'calls_decided', 'call_outcomes', 'grants_created', 'revocations']),
    (14, 'NIST SP 800-53', 'AU-9', 'Protection of audit information',
        ARRAY['audit_verification', 'seal_coverage', 'audit_seals']),
    (15, 'NIST SP 800-53', 'AU-10', 'Non-repudiation',
        ARRAY['audit_verification', 'seal_coverage', 'allowed_calls_unattributed', 'human_approvals'])
  ) m (ord, framework, control, title, fact_names);

  RETURN jsonb_build_object(
    'period', jsonb_build_object('from', lo, 'to', hi),
    'generated_at', now(),
    'audit', jsonb_build_object('verify_audit', facts->'audit_verification', 'seals', seals),
    'controls', controls,
    'facts', facts);
END
$$;
REVOKE ALL ON FUNCTION warden.evidence(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.evidence(timestamptz, timestamptz) TO warden_admin, warden_auditor;

-- A chain as a Graphviz DOT digraph: the human, the agents' tokens (by delegation), their
-- calls (allowed, denied, or revoked: aborted by a kill), and human approvals. Every label is
-- a quoted DOT string built from parts that are cut to 200 characters, with control
-- characters replaced by spaces and backslashes and quotes escaped: human subjects, purposes
-- and tool names are chosen by whoever made the call, and must never end a string or start a
-- statement. Node ids are made from uuids only. At most 500 calls are drawn; a note counts the
-- rest.
CREATE OR REPLACE FUNCTION warden.chain_graph(chain_id uuid)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  wanted uuid := chain_graph.chain_id;
  max_calls constant int := 500;
  dot text;
BEGIN
  IF wanted IS NULL THEN
    RAISE EXCEPTION 'chain_graph needs a chain_id'
      USING ERRCODE = '22004', HINT = 'Pass a chain_id from warden.chains or from warden.start_chain(...).';
  END IF;
  IF NOT EXISTS (SELECT FROM warden.chains c WHERE c.chain_id = wanted) THEN
    RAISE EXCEPTION 'unknown chain %', wanted
      USING ERRCODE = '42704', HINT = 'Look the chain up in warden.chains (the chain id is also the trace id).';
  END IF;

  WITH ch AS (
    SELECT c.chain_id, c.purpose, c.revoked_at, h.subject
    FROM warden.chains c JOIN warden.humans h ON h.human_id = c.human_id WHERE c.chain_id = wanted
  ),
  toks AS (
    SELECT t.token_id, t.parent_id, t.depth, t.issued_at, t.revoked_at, a.name AS agent
    FROM warden.tokens t JOIN warden.agents a ON a.agent_id = t.agent_id WHERE t.chain_id = wanted
  ),
  all_calls AS (
    SELECT e.event_id, e.at, e.token_id, e.server, e.tool, e.allowed, e.reason,
           (SELECT o.reason FROM warden.events o
            WHERE o.parent_id = e.event_id AND o.kind = 'completed' AND o.chain_id = wanted LIMIT 1) AS outcome,
           row_number() OVER (ORDER BY e.at, e.event_id) AS n
    FROM warden.events e WHERE e.chain_id = wanted AND e.kind = 'call'
  ),
  calls AS (SELECT * FROM all_calls c WHERE c.n <= max_calls),
  aps AS (
    SELECT ap.approval_id, ap.event_id, ap.used_event, ap.state, ap.approver, ap.requested_at
    FROM warden.approvals ap WHERE ap.chain_id = wanted
  ),
  nodes (ord, id, parts, attrs) AS (
    SELECT 0, NULL::text, ARRAY['chain ' || ch.chain_id::text, ch.purpose,
                                CASE WHEN ch.revoked_at IS NOT NULL THEN 'revoked' END], 'rankdir=LR' FROM ch
    UNION ALL
    SELECT 1, 'human', ARRAY['human', ch.subject], 'shape=ellipse' FROM ch
    UNION ALL
    SELECT 2 + row_number() OVER (ORDER BY t.depth, t.issued_at, t.token_id), 't' || t.token_id::text,
           ARRAY[t.agent, 'token ' || left(t.token_id::text, 8), CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' END],
           CASE WHEN t.revoked_at IS NOT NULL THEN 'shape=box, style=dashed, color=red' ELSE 'shape=box' END
    FROM toks t
    UNION ALL
    SELECT 100000 + c.n, 'e' || c.event_id::text,
           ARRAY[c.server || '/' || c.tool,
                 CASE WHEN c.outcome IN ('revoked', 'cancelled') THEN 'revoked'
                      WHEN c.allowed THEN 'allowed' ELSE 'denied' END,
                 c.reason],
           CASE WHEN c.outcome IN ('revoked', 'cancelled') THEN 'shape=note, color=orange'
                WHEN c.allowed THEN 'shape=note, color=darkgreen' ELSE 'shape=note, color=red' END
    FROM calls c
    UNION ALL
    SELECT 200000 + row_number() OVER (ORDER BY a.requested_at, a.approval_id), 'a' || a.approval_id::text,
           ARRAY['approval ' || a.state, a.approver], 'shape=diamond'
    FROM aps a
    UNION ALL
    SELECT 300000, 'more', ARRAY[(count(*) - max_calls)::text || ' more calls not drawn'], 'shape=plaintext'
    FROM all_calls HAVING count(*) > max_calls
  ),
  edges (ord, a, b, label) AS (
    SELECT 1 + row_number() OVER (ORDER BY t.issued_at, t.token_id), 'human', 't' || t.token_id::text, 'started'
    FROM toks t WHERE t.parent_id IS NULL
    UNION ALL
    SELECT 1000 + row_number() OVER (ORDER BY t.depth, t.issued_at, t.token_id), 't' || t.parent_id::text,
           't' || t.token_id::text, 'delegated'
    FROM toks t WHERE t.parent_id IS NOT NULL AND EXISTS (SELECT FROM toks p WHERE p.token_id = t.parent_id)
    UNION ALL
    SELECT 100000 + c.n, 't' || c.token_id::text, 'e' || c.event_id::text, NULL
    FROM calls c WHERE EXISTS (SELECT FROM toks t WHERE t.token_id = c.token_id)
    UNION ALL
    SELECT 200000 + row_number() OVER (ORDER BY a.requested_at, a.approval_id), 'e' || a.event_id::text,
           'a' || a.approval_id::text, 'asked'
    FROM aps a WHERE EXISTS (SELECT FROM calls c WHERE c.event_id = a.event_id)
    UNION ALL
    SELECT 300000 + row_number() OVER (ORDER BY a.requested_at, a.approval_id), 'a' || a.approval_id::text,
           'e' || a.used_event::text, 'approved'
    FROM aps a WHERE EXISTS (SELECT FROM calls c WHERE c.event_id = a.used_event)
  ),
  -- The one place text becomes DOT: each part escaped, parts joined by DOT's \n.
  labels AS (
    SELECT n.ord, n.id, n.attrs, array_to_string(ARRAY(
             SELECT replace(replace(regexp_replace(left(p.part, 200), '[[:cntrl:]]', ' ', 'g'), E'\\', E'\\\\'), '"', E'\\"')
             FROM unnest(n.parts) WITH ORDINALITY p (part, i) ORDER BY p.i), E'\\n') AS label
    FROM nodes n
  ),
  lines (section, ord, line) AS (
    SELECT 1, l.ord, CASE WHEN l.id IS NULL THEN format('  graph [label="%s", %s];', l.label, l.attrs)
                          ELSE format('  "%s" [label="%s", %s];', l.id, l.label, l.attrs) END
    FROM labels l
    UNION ALL
    SELECT 2, e.ord, format('  "%s" -> "%s"%s;', e.a, e.b,
                            CASE WHEN e.label IS NOT NULL THEN format(' [label="%s"]', e.label) ELSE '' END)
    FROM edges e
  )
  SELECT 'digraph chain {' || E'\n' || '  node [fontname="Helvetica"];' || E'\n'
         || string_agg(l.line, E'\n' ORDER BY l.section, l.ord) || E'\n}\n'
  INTO dot FROM lines l;
  RETURN dot;
END
$$;
REVOKE ALL ON FUNCTION warden.chain_graph(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.chain_graph(uuid) TO warden_admin, warden_auditor;
