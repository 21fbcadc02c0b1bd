-- Audit to the SIEM (issue 17): each event as OCSF 1.8.0 JSON, and the durable cursor that
-- warden-mcp --export drives (at least once; the OCSF metadata.uid, the event id, is the
-- idempotency key).
--
-- Classes, and why:
--  * call, completed → API Activity (6003): a tool call is an API call by an actor (the agent,
--    acting for the human) on a service (the upstream server); activity Other (99), named
--    "tools/call", since a tool's effect (create/read/update/delete) is not known to warden.
--  * token_issued, token_delegated, credential_vended, session_opened, signed_in,
--    sign_in_refused, approver_signed_in, approver_sign_in_refused, consent,
--    authorization_code_replayed, refresh_token_reused →
--    Authentication (3002): a chain's root token is the ticket-granting credential
--    (Authentication Ticket, 3), a delegated token or a vended upstream credential a service
--    ticket (Service Ticket Request, 4), a session or sign-in a Logon (1).
--  * grant_created, grant_revoked → User Access Management (3005): a grant is exactly a
--    privilege (server/tool) assigned to or revoked from an identity, which is what 3005
--    reports (Assign / Revoke Privileges). Account Change's Attach Policy (3001) is about IAM
--    policies on an account, and would hide the tool in a policy name.
--  * agent_suspended, agent_reinstated, human_revoked, human_reinstated, client_registered,
--    agent_approved → Account Change (3001): the identity itself is disabled, enabled or
--    created.
--  * token_revoked, chain_revoked, killed and the rest (keys, secrets, seals, tools, identity
--    providers) → Entity Management (3004): an administrator acting on a managed object that
--    is not an account (a task token, a chain, a key); a revocation is Disable (9), a kill
--    High severity. Logoff (3002) would make SIEM rules count an incident response as a
--    person signing off.

-- An OCSF timestamp (ms since the epoch) from a JSON time: RFC 3339 text or epoch seconds;
-- NULL for anything else.
CREATE OR REPLACE FUNCTION warden._ocsf_time(v jsonb)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF jsonb_typeof(v) = 'number' THEN RETURN ((v #>> '{}')::numeric * 1000)::bigint; END IF;
  IF jsonb_typeof(v) = 'string' THEN
    RETURN (extract(epoch FROM (v #>> '{}')::timestamptz) * 1000)::bigint;
  END IF;
  RETURN NULL;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION warden._ocsf_time(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden._ocsf_mapped(e warden.events)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  class_uid int;
  activity_id int;
  activity_name text;
  severity_id int := 1;
  status_id int := CASE WHEN e.allowed IS NULL THEN 1 WHEN e.allowed THEN 1 ELSE 2 END;
  specific jsonb := '{}';
  -- The agent, as the account an IAM event is about.
  agent_user jsonb := jsonb_build_object('name', coalesce(e.agent, 'unknown'), 'uid', coalesce(e.agent, 'unknown'),
                                         'type_id', 99, 'type', 'AI agent');
  human_user jsonb := jsonb_build_object('name', coalesce(e.human, 'unknown'), 'uid', coalesce(e.human, 'unknown'),
                                         'type_id', 1, 'type', 'User');
  actor jsonb;
  out jsonb;
BEGIN
  -- Who acted: in calls and sign-ins the agent (an application) acting for its human; in
  -- IAM changes (grants, revocations, kills) the database role that called the function.
  IF e.kind IN ('call', 'completed', 'token_issued', 'token_delegated', 'credential_vended',
                'session_opened', 'signed_in', 'sign_in_refused', 'approver_signed_in',
                'approver_sign_in_refused', 'consent', 'authorization_code_replayed', 'refresh_token_reused')
     AND (e.agent IS NOT NULL OR e.human IS NOT NULL) THEN
    actor := jsonb_strip_nulls(jsonb_build_object(
      'app_name', e.agent,
      'user', CASE WHEN e.human IS NOT NULL THEN human_user END,
      'session', CASE WHEN e.token_id IS NOT NULL
                      THEN jsonb_build_object('uid', e.token_id::text, 'issuer', 'warden') END));
  ELSE
    actor := jsonb_build_object('user', jsonb_build_object('name', e.actor, 'type_id', 2, 'type', 'Admin'));
  END IF;

  CASE
    WHEN e.kind IN ('call', 'completed') THEN
      class_uid := 6003; activity_id := 99;
      activity_name := CASE e.kind WHEN 'call' THEN 'tools/call' ELSE 'tools/call completed' END;
      IF e.kind = 'call' AND NOT coalesce(e.allowed, false) THEN severity_id := 2; END IF;
      actor := actor || jsonb_build_object('authorizations', jsonb_build_array(jsonb_strip_nulls(
        jsonb_build_object('decision', CASE WHEN e.kind = 'completed' THEN NULL
                                            WHEN e.allowed THEN 'allowed' ELSE 'denied' END,
                           'policy', NULLIF(jsonb_strip_nulls(jsonb_build_object(
                             'uid', e.detail ->> 'grant_id', 'name', e.reason)), '{}'::jsonb)))));
      specific := jsonb_strip_nulls(jsonb_build_object(
        'api', jsonb_strip_nulls(jsonb_build_object(
          'operation', 'tools/call',
          'service', jsonb_build_object('name', coalesce(e.server, '')),
          'request', jsonb_strip_nulls(jsonb_build_object(
            'uid', coalesce(e.parent_id, e.event_id)::text,
            'data', CASE WHEN e.kind = 'call' THEN e.arguments END)),
          'response', CASE WHEN e.kind = 'completed' THEN jsonb_strip_nulls(jsonb_build_object(
            'message', e.reason, 'error', CASE WHEN NOT coalesce(e.allowed, false) THEN e.reason END,
            'data', e.detail)) END)),
        'resources', jsonb_build_array(jsonb_build_object(
          'type', 'MCP tool', 'name', coalesce(e.tool, ''),
          'uid', coalesce(e.server, '') || '/' || coalesce(e.tool, ''))),
        'src_endpoint', jsonb_build_object('svc_name',
          coalesce(e.detail #>> '{context,transport}', 'sql')),
        'dst_endpoint', CASE WHEN e.server IS NOT NULL THEN jsonb_build_object('svc_name', e.server) END,
        'trace', CASE WHEN e.trace_id IS NOT NULL THEN jsonb_build_object('uid', e.trace_id) END));
    WHEN e.kind IN ('token_issued', 'token_delegated', 'credential_vended', 'session_opened',
                    'signed_in', 'sign_in_refused', 'approver_signed_in', 'approver_sign_in_refused',
                    'consent', 'authorization_code_replayed', 'refresh_token_reused') THEN
      class_uid := 3002;
      activity_id := CASE e.kind WHEN 'token_issued' THEN 3
                                 WHEN 'token_delegated' THEN 4
                                 WHEN 'credential_vended' THEN 4
                                 WHEN 'consent' THEN 99
                                 ELSE 1 END;
      IF e.kind = 'consent' THEN activity_name := 'Consent'; END IF;
      IF e.kind IN ('sign_in_refused', 'approver_sign_in_refused', 'authorization_code_replayed',
                    'refresh_token_reused') THEN
        status_id := 2;
        severity_id := CASE WHEN e.kind IN ('sign_in_refused', 'approver_sign_in_refused') THEN 2 ELSE 4 END;
      END IF;
      specific := jsonb_strip_nulls(jsonb_build_object(
        'user', CASE WHEN e.human IS NOT NULL THEN human_user
                     WHEN e.agent IS NOT NULL THEN agent_user
                     ELSE jsonb_build_object('name', e.actor) END,
        'service', jsonb_build_object('name', coalesce(e.server, 'warden')),
        'session', CASE WHEN e.token_id IS NOT NULL OR e.chain_id IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
          'uid', coalesce(e.token_id, e.chain_id)::text, 'issuer', 'warden',
          'expiration_time', warden._ocsf_time(e.detail -> 'expires_at'))) END,
        'auth_protocol_id', 99, 'auth_protocol',
          CASE WHEN e.kind IN ('signed_in', 'sign_in_refused', 'approver_signed_in', 'approver_sign_in_refused',
                               'consent') THEN 'OpenID Connect'
               WHEN e.kind = 'credential_vended' THEN coalesce(e.detail ->> 'kind', 'warden')
               ELSE 'PASETO v4.local task token' END,
        'is_remote', true));
    WHEN e.kind IN ('grant_created', 'grant_revoked') THEN
      class_uid := 3005;
      activity_id := CASE e.kind WHEN 'grant_created' THEN 1 ELSE 2 END;
      specific := jsonb_build_object(
        'user', agent_user,
        'privileges', jsonb_build_array(coalesce(e.server, '') || '/' || coalesce(e.tool, '')),
        'resources', jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
          'type', 'MCP tool', 'name', e.tool, 'uid', coalesce(e.server, '') || '/' || coalesce(e.tool, '')))));
    WHEN e.kind IN ('agent_suspended', 'agent_reinstated', 'human_revoked', 'human_reinstated',
                    'client_registered', 'agent_approved') THEN
      class_uid := 3001;
      activity_id := CASE WHEN e.kind IN ('agent_suspended', 'human_revoked') THEN 5
                          WHEN e.kind = 'client_registered' THEN 1
                          ELSE 2 END;
      IF e.kind IN ('agent_suspended', 'human_revoked') THEN severity_id := 3; END IF;
      specific := jsonb_build_object('user', CASE WHEN e.kind LIKE 'human%' THEN human_user ELSE agent_user END);
    ELSE
      class_uid := 3004;
      activity_id := CASE
        WHEN e.kind IN ('token_revoked', 'chain_revoked', 'killed') THEN 9
        WHEN e.kind IN ('audit_sealed', 'identity_provider_added') THEN 1
        WHEN e.kind IN ('tool_approved', 'keys_rotated', 'secret_stored', 'idp_keys_changed',
                        'human_linked') THEN 3
        ELSE 99 END;
      IF activity_id = 99 THEN activity_name := e.kind; END IF;
      IF e.kind IN ('token_revoked', 'chain_revoked') THEN severity_id := 3; END IF;
      IF e.kind = 'killed' THEN severity_id := 4; END IF;
      specific := jsonb_build_object('entity', jsonb_strip_nulls(CASE
        WHEN e.kind = 'token_revoked' THEN jsonb_build_object('type', 'task token', 'uid', coalesce(e.token_id::text, 'unknown'))
        WHEN e.kind = 'chain_revoked' THEN jsonb_build_object('type', 'chain', 'uid', coalesce(e.chain_id::text, 'unknown'))
        WHEN e.kind = 'killed' THEN jsonb_build_object('type', 'kill', 'name', coalesce(e.agent, e.chain_id::text, e.token_id::text, 'unknown'), 'data', e.detail)
        WHEN e.server IS NOT NULL THEN jsonb_build_object('type', CASE WHEN e.tool IS NOT NULL THEN 'MCP tool' ELSE 'MCP server' END,
                                                          'name', e.server || coalesce('/' || e.tool, ''))
        ELSE jsonb_build_object('type', e.kind, 'name', coalesce(e.agent, e.human, e.kind)) END),
        'comment', e.reason);
      specific := jsonb_strip_nulls(specific);
  END CASE;

  out := jsonb_build_object(
    'class_uid', class_uid,
    'category_uid', class_uid / 1000,
    'activity_id', activity_id,
    'type_uid', class_uid * 100 + activity_id,
    'time', (extract(epoch FROM e.at) * 1000)::bigint,
    'severity_id', severity_id,
    'status_id', status_id,
    'metadata', jsonb_strip_nulls(jsonb_build_object(
      'version', '1.8.0',
      'uid', e.event_id::text,
      'correlation_uid', e.chain_id::text,
      'event_code', e.kind,
      'log_name', 'warden.events',
      'product', jsonb_build_object('name', 'warden', 'vendor_name', 'warden',
        'version', (SELECT x.extversion FROM pg_catalog.pg_extension x WHERE x.extname = 'warden')))),
    'actor', actor,
    'unmapped', jsonb_build_object('warden', jsonb_strip_nulls(jsonb_build_object(
      'kind', e.kind, 'chain_id', e.chain_id, 'token_id', e.token_id, 'parent_id', e.parent_id,
      'trace_id', e.trace_id, 'agent', e.agent, 'human', e.human, 'reason', e.reason,
      'detail', e.detail))));
  IF activity_name IS NOT NULL THEN out := out || jsonb_build_object('activity_name', activity_name); END IF;
  IF e.reason IS NOT NULL THEN out := out || jsonb_build_object('status_detail', e.reason); END IF;
  -- The trace profile's attribute is there only in events that declare the profile.
  IF specific ? 'trace' THEN out := jsonb_set(out, '{metadata,profiles}', '["trace"]'); END IF;
  RETURN out || specific;
END
$$;
REVOKE ALL ON FUNCTION warden._ocsf_mapped(warden.events) FROM PUBLIC;

-- An event the mapping cannot handle must not stall the export behind it: it goes out as an
-- Entity Management event of activity Other, its warden fields and the mapping error unmapped.
CREATE OR REPLACE FUNCTION warden._ocsf_event(e warden.events)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN warden._ocsf_mapped(e);
EXCEPTION WHEN others THEN
  RETURN jsonb_build_object(
    'class_uid', 3004, 'category_uid', 3, 'activity_id', 99, 'activity_name', e.kind,
    'type_uid', 300499, 'time', (extract(epoch FROM e.at) * 1000)::bigint, 'severity_id', 1,
    'status_id', 0,
    'metadata', jsonb_build_object('version', '1.8.0', 'uid', e.event_id::text, 'event_code', e.kind,
                                   'product', jsonb_build_object('name', 'warden', 'vendor_name', 'warden')),
    'entity', jsonb_build_object('type', 'warden event', 'name', e.kind),
    'unmapped', jsonb_build_object('warden', jsonb_strip_nulls(jsonb_build_object(
      'kind', e.kind, 'chain_id', e.chain_id, 'token_id', e.token_id, 'agent', e.agent,
      'human', e.human, 'reason', e.reason, 'mapping_error', SQLERRM))));
END
$$;
REVOKE ALL ON FUNCTION warden._ocsf_event(warden.events) FROM PUBLIC;

-- The events since `since` (inclusive), oldest first, as OCSF JSON. For auditors and the
-- exporter; not the proxy, whose job is deciding, not reading the audit trail.
CREATE OR REPLACE FUNCTION warden.ocsf_events(since timestamptz, "limit" int DEFAULT 1000)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF since IS NULL OR "limit" IS NULL OR "limit" < 1 OR "limit" > 10000 THEN
    RAISE EXCEPTION 'warden.ocsf_events needs a start time and a limit between 1 and 10000'
      USING ERRCODE = '22023', HINT = 'Page with the time of the last event returned.';
  END IF;
  RETURN QUERY SELECT warden._ocsf_event(e) FROM warden.events e
               WHERE e.at >= since ORDER BY e.at, e.event_id LIMIT "limit";
END
$$;
REVOKE ALL ON FUNCTION warden.ocsf_events(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ocsf_events(timestamptz, int) TO warden_admin, warden_auditor, warden_exporter;

-- The time before which every event of this database is committed or rolled back: the start
-- of the oldest transaction still writing (other than this one), or now. An event's time is
-- taken inside its transaction (never before the transaction started), so an event that
-- commits later is never older than this. (Events are never written in a prepared
-- transaction.) Both reading a cursor forward (warden.export_batch) and placing a new one
-- (warden.ssf_create_stream) use it, so neither can pass an event still in flight.
CREATE OR REPLACE FUNCTION warden._export_horizon()
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  horizon timestamptz := pg_catalog.clock_timestamp();
BEGIN
  -- The horizon needs every session's transaction: only a superuser or pg_read_all_stats
  -- sees them. Refuse rather than export past a transaction we cannot see.
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = current_user AND r.rolsuper)
     AND NOT pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') THEN
    RAISE EXCEPTION 'warden.export_batch needs its owner to see every transaction'
      USING ERRCODE = '42501', HINT = 'GRANT pg_read_all_stats TO the owner of the warden extension.';
  END IF;
  -- pg_stat_activity is read once per transaction and then cached: a second horizon in the
  -- same transaction (two streams created at once) must see the sessions as they are now.
  PERFORM pg_catalog.pg_stat_clear_snapshot();
  SELECT least(horizon, min(a.xact_start)) INTO horizon
  FROM pg_catalog.pg_stat_activity a
  -- Only this database's transactions can write its events: one left open in another database
  -- must not hold the export back (any login could stall the SIEM feed that way).
  WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_catalog.pg_backend_pid()
    AND a.datid = (SELECT d.oid FROM pg_catalog.pg_database d
                   WHERE d.datname = pg_catalog.current_database())
    -- Only a login that can reach warden's functions can write an event: a superuser, or a
    -- member (inheriting or not) of a role with USAGE on the schema (warden_proxy, ...). An
    -- application's own login in the same database must not hold the SIEM feed back.
    AND EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = a.usesysid
                AND (r.rolsuper OR EXISTS (
                  SELECT FROM pg_catalog.pg_roles w
                  WHERE pg_catalog.has_schema_privilege(w.oid, 'warden', 'USAGE')
                    AND pg_catalog.pg_has_role(r.oid, w.oid, 'MEMBER'))));
  RETURN horizon;
END
$$;
REVOKE ALL ON FUNCTION warden._export_horizon() FROM PUBLIC;

-- The next events an export has not delivered, oldest first. Only events older than every
-- transaction still writing are returned (warden._export_horizon), so an event that commits
-- later cannot land behind the cursor, and none is skipped.
CREATE OR REPLACE FUNCTION warden.export_batch(cursor_name text, "limit" int DEFAULT 500)
RETURNS TABLE (event_id uuid, at timestamptz, ocsf jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c warden.export_cursors;
  horizon timestamptz;
BEGIN
  IF "limit" IS NULL OR "limit" < 1 OR "limit" > 10000 THEN
    RAISE EXCEPTION 'limit must be between 1 and 10000' USING ERRCODE = '22023';
  END IF;
  horizon := warden._export_horizon();
  INSERT INTO warden.export_cursors AS x (name) VALUES (cursor_name) ON CONFLICT (name) DO NOTHING;
  SELECT * INTO c FROM warden.export_cursors x WHERE x.name = cursor_name;
  RETURN QUERY
    SELECT e.event_id, e.at, warden._ocsf_event(e) FROM warden.events e
    WHERE (e.at, e.event_id) > (c.at, c.event_id) AND e.at < horizon
    ORDER BY e.at, e.event_id LIMIT "limit";
END
$$;
REVOKE ALL ON FUNCTION warden.export_batch(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.export_batch(text, int) TO warden_exporter;

-- Records that an export delivered everything up to (at, event_id). Only forward, and only to
-- an event that exists: a cursor cannot be pointed past events nobody has seen.
CREATE OR REPLACE FUNCTION warden.advance_export_cursor(cursor_name text, at timestamptz,
                                                        event_id uuid, delivered int)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM warden.events e WHERE e.at = advance_export_cursor.at
                                               AND e.event_id = advance_export_cursor.event_id) THEN
    RAISE EXCEPTION 'no event % at %', event_id, at USING ERRCODE = '22023';
  END IF;
  UPDATE warden.export_cursors x
  SET at = advance_export_cursor.at, event_id = advance_export_cursor.event_id,
      delivered = x.delivered + greatest(advance_export_cursor.delivered, 0),
      updated_at = pg_catalog.now()
  WHERE x.name = cursor_name
    AND (x.at, x.event_id) < (advance_export_cursor.at, advance_export_cursor.event_id);
END
$$;
REVOKE ALL ON FUNCTION warden.advance_export_cursor(text, timestamptz, uuid, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.advance_export_cursor(text, timestamptz, uuid, int) TO warden_exporter;

-- Seconds since the oldest event an export has not delivered (0 when it is up to date). The
-- lag metric of warden-mcp --export reads it even when export_batch returns nothing, so an
-- export held back (an open transaction in this database) shows a growing lag, not 0.
CREATE OR REPLACE FUNCTION warden.export_lag(cursor_name text)
RETURNS float8
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(extract(epoch FROM pg_catalog.clock_timestamp() - min(e.at))::float8, 0)
  FROM warden.events e
  WHERE e.at > coalesce((SELECT x.at FROM warden.export_cursors x WHERE x.name = cursor_name),
                        '-infinity'::timestamptz)
$$;
REVOKE ALL ON FUNCTION warden.export_lag(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.export_lag(text) TO warden_exporter;
