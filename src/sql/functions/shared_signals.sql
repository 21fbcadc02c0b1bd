-- Revocation over Shared Signals (issue 17).
--
-- Transmitter: every revocation or kill in the audit trail becomes a Security Event Token
-- (RFC 8417) for each enabled stream that asked for its type, signed in the server with the
-- gateway's Ed25519 signing key (warden.public_keys(), /.well-known/jwks.json) and pushed by
-- warden-mcp (RFC 8935). jti is the audit event's id, so a receiver deduplicates the
-- at-least-once delivery. Mapping:
--   chain_revoked, token_revoked, killed, agent_suspended, human_revoked
--       → CAEP session-revoked (the chain, token, agent or person whose sessions ended)
--   keys_rotated, agent_key_retired, secret_stored
--       → CAEP credential-change (CAEP names no type for signing keys or vaulted API keys:
--         x509 for public-key credentials, password for shared secrets, and friendly_name says
--         which one it is)
--   ssf_verification (warden.ssf_verify) → the SSF verification event, to its stream only.
-- Receiver: SETs from identity providers named with warden.accept_security_events; CAEP
-- session-revoked and RISC account-disabled / account-purged / account-credential-change-required
-- revoke the person (warden.revoke_human).

CREATE OR REPLACE FUNCTION warden._sign_security_event(payload text) RETURNS text
LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'warden_sign_security_event';
REVOKE ALL ON FUNCTION warden._sign_security_event(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden._ssf_events_supported() RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ARRAY['https://schemas.openid.net/secevent/caep/event-type/session-revoked',
               'https://schemas.openid.net/secevent/caep/event-type/credential-change',
               'https://schemas.openid.net/secevent/ssf/event-type/verification']
$$;
REVOKE ALL ON FUNCTION warden._ssf_events_supported() FROM PUBLIC;

-- The SET claims for one audit event on one stream; NULL when the stream does not get it.
CREATE OR REPLACE FUNCTION warden._ssf_payload(s warden.ssf_streams, e warden.events) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  uri text;
  body jsonb;
  sub jsonb;
  requested text[] := CASE WHEN cardinality(s.events_requested) = 0 THEN warden._ssf_events_supported()
                           ELSE s.events_requested END;
  base jsonb := jsonb_build_object('event_timestamp', extract(epoch FROM e.at)::bigint,
                                   'initiating_entity', 'admin');
BEGIN
  IF e.reason IS NOT NULL THEN
    base := base || jsonb_build_object('reason_admin', jsonb_build_object('en', pg_catalog.left(e.reason, 500)));
  END IF;
  CASE
    WHEN e.kind = 'ssf_verification' THEN
      IF e.detail ->> 'stream_id' IS DISTINCT FROM s.stream_id::text THEN RETURN NULL; END IF;
      uri := 'https://schemas.openid.net/secevent/ssf/event-type/verification';
      body := jsonb_strip_nulls(jsonb_build_object('state', e.detail ->> 'state'));
      sub := jsonb_build_object('format', 'opaque', 'id', s.stream_id::text);
    WHEN e.kind IN ('chain_revoked', 'token_revoked', 'killed', 'agent_suspended', 'human_revoked') THEN
      uri := 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
      body := base;
      sub := jsonb_strip_nulls(jsonb_build_object(
        'format', 'complex',
        'user', CASE WHEN e.human IS NOT NULL THEN jsonb_build_object('format', 'opaque', 'id', e.human) END,
        'application', CASE WHEN e.agent IS NOT NULL THEN jsonb_build_object('format', 'opaque', 'id', e.agent) END,
        'session', CASE WHEN e.kind = 'token_revoked' AND e.token_id IS NOT NULL
                          THEN jsonb_build_object('format', 'opaque', 'id', e.token_id::text)
                        WHEN e.chain_id IS NOT NULL
                          THEN jsonb_build_object('format', 'opaque', 'id', e.chain_id::text) END));
      IF sub = '{"format": "complex"}'::jsonb THEN
        sub := jsonb_build_object('format', 'opaque', 'id', coalesce(e.token_id, e.chain_id, e.event_id)::text);
      END IF;
    WHEN e.kind IN ('keys_rotated', 'agent_key_retired', 'secret_stored') THEN
      uri := 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
      body := base || jsonb_build_object(
        'credential_type', CASE WHEN e.kind = 'secret_stored' THEN 'password' ELSE 'x509' END,
        'change_type', CASE WHEN e.kind = 'agent_key_retired' THEN 'revoke' ELSE 'update' END,
        'friendly_name', CASE e.kind WHEN 'keys_rotated' THEN 'warden signing key'
                                     WHEN 'agent_key_retired' THEN 'agent key of ' || coalesce(e.agent, 'an agent')
                                     ELSE 'vaulted secret of ' || coalesce('server ' || e.server,
                                       'identity provider ' || (e.detail ->> 'idp'), 'export ' || (e.detail ->> 'export'),
                                       'warden') END);
      sub := CASE WHEN e.agent IS NOT NULL THEN jsonb_build_object('format', 'opaque', 'id', e.agent)
                  WHEN e.server IS NOT NULL THEN jsonb_build_object('format', 'opaque', 'id', e.server)
                  ELSE jsonb_build_object('format', 'opaque', 'id', 'warden') END;
    ELSE
      RETURN NULL;
  END CASE;
  IF uri <> 'https://schemas.openid.net/secevent/ssf/event-type/verification' AND NOT uri = ANY (requested) THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_strip_nulls(jsonb_build_object(
    'iss', s.iss, 'aud', s.audience, 'jti', e.event_id::text, 'iat', extract(epoch FROM pg_catalog.now())::bigint,
    'txn', e.trace_id, 'sub_id', sub, 'events', jsonb_build_object(uri, body)));
END
$$;
REVOKE ALL ON FUNCTION warden._ssf_payload(warden.ssf_streams, warden.events) FROM PUBLIC;

-- The streams warden-mcp pushes to now, with the receiver's Authorization header (opened from
-- the vault for the push only).
CREATE OR REPLACE FUNCTION warden.ssf_push_targets()
RETURNS TABLE (stream_id uuid, endpoint_url text, authorization_header text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.stream_id, s.endpoint_url,
         CASE WHEN s.push_authorization IS NOT NULL
              THEN warden._vault_open_text('ssf-push'::text, s.stream_id::text, s.push_authorization) END
  FROM warden.ssf_streams s WHERE s.status = 'enabled' ORDER BY s.created_at
$$;
REVOKE ALL ON FUNCTION warden.ssf_push_targets() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_push_targets() TO warden_exporter;

-- The next audit events of a stream's cursor ('ssf.<stream_id>'), oldest first, each with its
-- signed SET or NULL (not for this stream: the cursor moves past it all the same). warden-mcp
-- pushes them in order and then calls warden.advance_export_cursor.
CREATE OR REPLACE FUNCTION warden.ssf_batch(stream_id uuid, "limit" int DEFAULT 100)
RETURNS TABLE (event_id uuid, at timestamptz, set_jwt text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s warden.ssf_streams;
BEGIN
  SELECT * INTO s FROM warden.ssf_streams x WHERE x.stream_id = ssf_batch.stream_id AND x.status = 'enabled';
  IF NOT FOUND THEN RETURN; END IF;
  RETURN QUERY
    SELECT b.event_id, b.at, CASE WHEN p.payload IS NOT NULL THEN warden._sign_security_event(p.payload::text) END
    FROM warden.export_batch(('ssf.' || s.stream_id::text)::text, "limit"::int) b
    JOIN warden.events e ON e.at = b.at AND e.event_id = b.event_id
    CROSS JOIN LATERAL (SELECT warden._ssf_payload(s, e) AS payload) p
    ORDER BY b.at, b.event_id;
END
$$;
REVOKE ALL ON FUNCTION warden.ssf_batch(uuid, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_batch(uuid, int) TO warden_exporter;

CREATE OR REPLACE FUNCTION warden._ssf_stream_json(s warden.ssf_streams) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    'stream_id', s.stream_id::text, 'iss', s.iss, 'aud', s.audience,
    'delivery', jsonb_build_object('method', 'urn:ietf:rfc:8935', 'endpoint_url', s.endpoint_url),
    'events_supported', to_jsonb(warden._ssf_events_supported()),
    'events_requested', to_jsonb(s.events_requested),
    'events_delivered', to_jsonb(CASE WHEN cardinality(s.events_requested) = 0 THEN warden._ssf_events_supported()
                                      ELSE ARRAY(SELECT u FROM unnest(s.events_requested) u
                                                 WHERE u = ANY (warden._ssf_events_supported())) END),
    'description', s.description, 'min_verification_interval', 0))
$$;
REVOKE ALL ON FUNCTION warden._ssf_stream_json(warden.ssf_streams) FROM PUBLIC;

-- Checks the receiver-supplied properties of a stream configuration ({"delivery": {"method":
-- "urn:ietf:rfc:8935", "endpoint_url", "authorization_header"?}, "events_requested"?,
-- "description"?, "aud"?}); the same rules for creating, replacing and updating a stream.
-- partial: an update (PATCH), where every property may be absent. SQLSTATE 22023 says what is
-- wrong.
CREATE OR REPLACE FUNCTION warden._ssf_check_config(config jsonb, partial boolean) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d jsonb := config -> 'delivery';
BEGIN
  IF jsonb_typeof(config) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'a stream configuration is a JSON object' USING ERRCODE = '22023';
  END IF;
  IF d IS NOT NULL OR NOT partial THEN
    IF jsonb_typeof(d) IS DISTINCT FROM 'object' THEN
      RAISE EXCEPTION 'a stream needs a "delivery" object' USING ERRCODE = '22023';
    END IF;
    IF d ->> 'method' IS DISTINCT FROM 'urn:ietf:rfc:8935' THEN
      RAISE EXCEPTION 'only push delivery (urn:ietf:rfc:8935) is supported' USING ERRCODE = '22023';
    END IF;
    IF NOT coalesce(warden._is_safe_url(d ->> 'endpoint_url'), false) THEN
      RAISE EXCEPTION 'delivery.endpoint_url must be an https URL (http only to loopback)' USING ERRCODE = '22023';
    END IF;
    IF d ? 'authorization_header' AND (jsonb_typeof(d -> 'authorization_header') <> 'string'
                                       OR length(d ->> 'authorization_header') > 4096
                                       OR d ->> 'authorization_header' ~ '[[:cntrl:]]') THEN
      RAISE EXCEPTION 'delivery.authorization_header must be a header value' USING ERRCODE = '22023';
    END IF;
  END IF;
  IF config ? 'events_requested'
     AND (jsonb_typeof(config -> 'events_requested') <> 'array'
          OR EXISTS (SELECT FROM jsonb_array_elements(config -> 'events_requested') x WHERE jsonb_typeof(x) <> 'string')) THEN
    RAISE EXCEPTION 'events_requested must be an array of event type URIs' USING ERRCODE = '22023';
  END IF;
  IF config ? 'description' AND jsonb_typeof(config -> 'description') NOT IN ('string', 'null') THEN
    RAISE EXCEPTION 'description must be a string' USING ERRCODE = '22023';
  END IF;
  IF config ? 'aud' AND jsonb_typeof(config -> 'aud') <> 'string' THEN
    RAISE EXCEPTION 'aud must be a string' USING ERRCODE = '22023';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._ssf_check_config(jsonb, boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden._ssf_requested(config jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(ARRAY(SELECT x FROM jsonb_array_elements_text(config -> 'events_requested') x LIMIT 50), '{}')
$$;
REVOKE ALL ON FUNCTION warden._ssf_requested(jsonb) FROM PUBLIC;

-- SSF stream management, for an authenticated receiver through warden-mcp (/ssf/streams).
-- config: see warden._ssf_check_config; iss is the gateway's issuer.
CREATE OR REPLACE FUNCTION warden.ssf_create_stream(config jsonb, iss text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d jsonb := config -> 'delivery';
  url text := config #>> '{delivery,endpoint_url}';
  s warden.ssf_streams;
  horizon timestamptz;
BEGIN
  PERFORM warden._ssf_check_config(config, false);
  INSERT INTO warden.ssf_streams AS x (iss, audience, endpoint_url, events_requested, description)
  VALUES (iss, coalesce(config ->> 'aud', url), url, warden._ssf_requested(config),
          pg_catalog.left(config ->> 'description', 1000))
  RETURNING * INTO s;
  IF d ? 'authorization_header' THEN
    UPDATE warden.ssf_streams x SET push_authorization = warden._vault_wrap_text('ssf-push'::text, s.stream_id::text,
                                                                                (d ->> 'authorization_header')::text)
    WHERE x.stream_id = s.stream_id;
  END IF;
  -- The stream starts now, but not past an event still in flight: its cursor is placed at the
  -- newest event older than every transaction still writing (warden._export_horizon), so an
  -- event whose transaction began before this stream and commits after it is delivered too.
  horizon := warden._export_horizon();
  INSERT INTO warden.export_cursors (name, at, event_id)
  SELECT 'ssf.' || s.stream_id::text, coalesce(max(e.at), '-infinity'), '00000000-0000-0000-0000-000000000000'
  FROM warden.events e WHERE e.at < horizon
  ON CONFLICT (name) DO NOTHING;
  UPDATE warden.export_cursors x SET event_id = coalesce((SELECT e.event_id FROM warden.events e WHERE e.at = x.at
                                                         ORDER BY e.event_id DESC LIMIT 1), x.event_id)
  WHERE x.name = 'ssf.' || s.stream_id::text;
  PERFORM warden._event('ssf_stream_created'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('stream_id', s.stream_id, 'endpoint_url', url, 'aud', s.audience),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN warden._ssf_stream_json(s);
END
$$;
REVOKE ALL ON FUNCTION warden.ssf_create_stream(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_create_stream(jsonb, text) TO warden_admin, warden_proxy;

-- Whether the caller may see and manage a stream made by `creator`. The gateway's login manages
-- streams for receivers holding the SSF management token; a stream an administrator made (a
-- SIEM's, say) is not the gateway's to redirect, pause or delete: to a lesser login it does not
-- exist. A creator that is no longer a role counts as an administrator (fail closed).
CREATE OR REPLACE FUNCTION warden._ssf_may_manage(creator text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(warden._session_is_admin(), false)
         OR coalesce((SELECT NOT (r.rolsuper OR pg_catalog.pg_has_role(r.oid, 'warden_admin', 'MEMBER'))
                      FROM pg_catalog.pg_roles r WHERE r.rolname = creator), false)
$$;
REVOKE ALL ON FUNCTION warden._ssf_may_manage(text) FROM PUBLIC;

-- SSF 1.0 "Updating a Stream's Configuration" (replace_all false, PATCH: the receiver-supplied
-- properties present in config replace theirs, the rest stay) and "Replacing a Stream's
-- Configuration" (replace_all true, PUT: config is the whole configuration; an absent property
-- takes its default: every event type, no description, no push Authorization header).
-- delivery is one property: given, it replaces the delivery whole (an authorization_header not
-- in it is dropped). Transmitter-supplied properties (iss, aud, events_supported...) are
-- ignored. The same checks as on creation. The stream keeps its cursor and status. Returns the
-- new configuration; NULL if the stream is unknown.
CREATE OR REPLACE FUNCTION warden.ssf_update_stream(stream_id uuid, config jsonb, replace_all boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d jsonb := config -> 'delivery';
  s warden.ssf_streams;
BEGIN
  IF replace_all IS NULL THEN
    RAISE EXCEPTION 'replace_all must be true (PUT) or false (PATCH)' USING ERRCODE = '22004';
  END IF;
  PERFORM warden._ssf_check_config(config, NOT replace_all);
  SELECT * INTO s FROM warden.ssf_streams x WHERE x.stream_id = ssf_update_stream.stream_id FOR UPDATE;
  IF NOT FOUND OR NOT warden._ssf_may_manage(s.created_by) THEN RETURN NULL; END IF;
  UPDATE warden.ssf_streams x SET
    endpoint_url = coalesce(d ->> 'endpoint_url', x.endpoint_url),
    push_authorization = CASE WHEN d IS NULL THEN x.push_authorization
                              WHEN d ? 'authorization_header'
                              THEN warden._vault_wrap_text('ssf-push'::text, x.stream_id::text,
                                                           (d ->> 'authorization_header')::text) END,
    events_requested = CASE WHEN replace_all OR config ? 'events_requested' THEN warden._ssf_requested(config)
                            ELSE x.events_requested END,
    description = CASE WHEN replace_all OR config ? 'description' THEN pg_catalog.left(config ->> 'description', 1000)
                       ELSE x.description END,
    updated_at = pg_catalog.now()
  WHERE x.stream_id = s.stream_id
  RETURNING * INTO s;
  PERFORM warden._event('ssf_stream_updated'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('stream_id', s.stream_id, 'endpoint_url', s.endpoint_url,
                                           'events_requested', to_jsonb(s.events_requested),
                                           'replaced', replace_all,
                                           'properties', (SELECT coalesce(jsonb_agg(k ORDER BY k), '[]')
                                                          FROM jsonb_object_keys(config) k
                                                          WHERE k IN ('delivery', 'events_requested', 'description'))),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN warden._ssf_stream_json(s);
END
$$;
REVOKE ALL ON FUNCTION warden.ssf_update_stream(uuid, jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_update_stream(uuid, jsonb, boolean) TO warden_admin, warden_proxy;

-- One stream's configuration, or all of them (stream_id NULL) as a JSON array; NULL if unknown.
CREATE OR REPLACE FUNCTION warden.ssf_stream(stream_id uuid) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN ssf_stream.stream_id IS NULL
              THEN (SELECT coalesce(jsonb_agg(warden._ssf_stream_json(s) ORDER BY s.created_at), '[]')
                    FROM warden.ssf_streams s WHERE warden._ssf_may_manage(s.created_by))
              ELSE (SELECT warden._ssf_stream_json(s) FROM warden.ssf_streams s
                    WHERE s.stream_id = ssf_stream.stream_id AND warden._ssf_may_manage(s.created_by)) END
$$;
REVOKE ALL ON FUNCTION warden.ssf_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_stream(uuid) TO warden_admin, warden_proxy;

CREATE OR REPLACE FUNCTION warden.ssf_delete_stream(stream_id uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  DELETE FROM warden.ssf_streams s
  WHERE s.stream_id = ssf_delete_stream.stream_id AND warden._ssf_may_manage(s.created_by);
  IF NOT FOUND THEN RETURN false; END IF;
  DELETE FROM warden.export_cursors x WHERE x.name = 'ssf.' || ssf_delete_stream.stream_id::text;
  PERFORM warden._event('ssf_stream_deleted'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('stream_id', ssf_delete_stream.stream_id),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN true;
END
$$;
REVOKE ALL ON FUNCTION warden.ssf_delete_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_delete_stream(uuid) TO warden_admin, warden_proxy;

-- A stream's status ({stream_id, status, reason}); with a new status, sets it first. A paused
-- stream keeps its place (events wait); a disabled one too, until enabled. NULL if unknown.
CREATE OR REPLACE FUNCTION warden.ssf_stream_status(stream_id uuid, status text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s warden.ssf_streams;
BEGIN
  IF status IS NOT NULL THEN
    IF status NOT IN ('enabled', 'paused', 'disabled') THEN
      RAISE EXCEPTION 'status must be enabled, paused or disabled' USING ERRCODE = '22023';
    END IF;
    UPDATE warden.ssf_streams x SET status = ssf_stream_status.status,
                                    status_reason = pg_catalog.left(ssf_stream_status.reason, 1000),
                                    updated_at = pg_catalog.now()
    WHERE x.stream_id = ssf_stream_status.stream_id AND warden._ssf_may_manage(x.created_by);
    IF FOUND THEN
      PERFORM warden._event('ssf_stream_status'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                            jsonb_build_object('stream_id', ssf_stream_status.stream_id, 'status', status),
                            NULL::boolean, pg_catalog.left(reason, 1000)::text, NULL::text, NULL::text);
    END IF;
  END IF;
  SELECT * INTO s FROM warden.ssf_streams x
  WHERE x.stream_id = ssf_stream_status.stream_id AND warden._ssf_may_manage(x.created_by);
  IF NOT FOUND THEN RETURN NULL; END IF;
  RETURN jsonb_strip_nulls(jsonb_build_object('stream_id', s.stream_id::text, 'status', s.status,
                                              'reason', s.status_reason));
END
$$;
REVOKE ALL ON FUNCTION warden.ssf_stream_status(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_stream_status(uuid, text, text) TO warden_admin, warden_proxy;

-- A receiver asks for a verification event: it is an audit event, so it travels the stream's
-- cursor like any other (after everything before it). false if the stream is unknown.
CREATE OR REPLACE FUNCTION warden.ssf_verify(stream_id uuid, state text DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM warden.ssf_streams s
                 WHERE s.stream_id = ssf_verify.stream_id AND warden._ssf_may_manage(s.created_by)) THEN
    RETURN false;
  END IF;
  PERFORM warden._event('ssf_verification'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_strip_nulls(jsonb_build_object('stream_id', ssf_verify.stream_id,
                                                             'state', pg_catalog.left(state, 256))),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN true;
END
$$;
REVOKE ALL ON FUNCTION warden.ssf_verify(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_verify(uuid, text) TO warden_admin, warden_proxy;

-- Receiver side. The admin names an identity provider whose SETs are accepted and the audience
-- they must carry; its keys are the provider's (warden.idp_keys, from its JWKS).
CREATE OR REPLACE FUNCTION warden.accept_security_events(idp text, audience text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
BEGIN
  IF audience IS NULL OR btrim(audience) = '' THEN
    RAISE EXCEPTION 'SETs must name an audience' USING ERRCODE = '22004';
  END IF;
  p := warden._identity_provider(idp::text);
  INSERT INTO warden.ssf_issuers AS x (idp_id, audience) VALUES (p.idp_id, audience)
  ON CONFLICT (idp_id) DO UPDATE SET audience = EXCLUDED.audience;
  PERFORM warden._event('ssf_issuer_accepted'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('idp', p.name, 'issuer', p.issuer, 'aud', audience),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.accept_security_events(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.accept_security_events(text, text) TO warden_admin;

-- The live keys of an accepted SET issuer ({"idp": name, "keys": [...]}), NULL when the issuer
-- is not one. warden-mcp fetches the provider's JWKS again (warden.store_idp_metadata, by
-- name) when a SET names a kid that is not among them.
CREATE OR REPLACE FUNCTION warden.ssf_issuer_keys(iss text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_build_object('idp', p.name, 'keys', coalesce((SELECT jsonb_agg(k.jwk ORDER BY k.kid) FROM warden.idp_keys k
                                              WHERE k.idp_id = p.idp_id AND k.retired_at IS NULL), '[]'))
  FROM warden.identity_providers p JOIN warden.ssf_issuers i ON i.idp_id = p.idp_id
  WHERE p.issuer = ssf_issuer_keys.iss
$$;
REVOKE ALL ON FUNCTION warden.ssf_issuer_keys(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.ssf_issuer_keys(text) TO warden_proxy;

-- suppressed: refusals from the same address that warden-mcp answered 429 without auditing
-- since its previous audited one (its per-address limit), so the trail still counts a flood.
CREATE OR REPLACE FUNCTION warden._ssf_refused(err text, description text, iss text, jti text,
                                               suppressed bigint DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM warden._event('ssf_set_refused'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_strip_nulls(jsonb_build_object('err', err, 'iss', pg_catalog.left(iss, 300),
                                                             'jti', pg_catalog.left(jti, 300),
                                                             'suppressed', suppressed)),
                        false, description::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('err', err, 'description', description);
END
$$;
REVOKE ALL ON FUNCTION warden._ssf_refused(text, text, text, text, bigint) FROM PUBLIC;

-- The subject a SET names at this provider: iss_sub (this issuer), email, opaque, or a complex
-- subject's user. NULL for any other form.
CREATE OR REPLACE FUNCTION warden._ssf_subject_id(sub jsonb, p warden.identity_providers) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF jsonb_typeof(sub) IS DISTINCT FROM 'object' THEN RETURN NULL; END IF;
  CASE sub ->> 'format'
    WHEN 'complex' THEN RETURN warden._ssf_subject_id(sub -> 'user', p);
    WHEN 'iss_sub' THEN
      IF sub ->> 'iss' IS DISTINCT FROM p.issuer THEN RETURN NULL; END IF;
      RETURN sub ->> 'sub';
    WHEN 'email' THEN RETURN sub ->> 'email';
    WHEN 'opaque' THEN RETURN sub ->> 'id';
    ELSE RETURN NULL;
  END CASE;
END
$$;
REVOKE ALL ON FUNCTION warden._ssf_subject_id(jsonb, warden.identity_providers) FROM PUBLIC;

-- The person a SET's subject names at this provider: a human linked to it (one who signed in
-- through it, or warden.link_human). NULL when there is none: another provider's people, and
-- people added by hand and linked to none, are not this provider's to revoke.
CREATE OR REPLACE FUNCTION warden._ssf_subject_human(sub jsonb, p warden.identity_providers) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT h.subject FROM warden.humans h WHERE h.subject = warden._ssf_subject_id(sub, p) AND h.idp = p.idp_id
$$;
REVOKE ALL ON FUNCTION warden._ssf_subject_human(jsonb, warden.identity_providers) FROM PUBLIC;

-- A SET pushed to /ssf/receive, its signature already checked by warden-mcp against
-- warden.ssf_issuer_keys. refusal: warden-mcp refused it already ({"err", "description"}: bad
-- signature, alg, size...; "suppressed": refusals answered 429 since); it is audited and
-- returned (claims then unverified, not trusted). Checks aud, jti (once per issuer), iat (at most
-- 60 s ahead, at most 15 minutes old) and the events; revokes the person for CAEP
-- session-revoked and RISC account-disabled / account-purged / credential-change-required.
-- Returns {"ok": true, ...} or an RFC 8935 error {"err", "description"}; refusals are audited.
CREATE OR REPLACE FUNCTION warden.receive_security_event(iss text, claims jsonb, refusal jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  accepted warden.ssf_issuers;
  jti text := CASE WHEN jsonb_typeof(claims -> 'jti') = 'string' THEN claims ->> 'jti' END;
  iat numeric;
  events jsonb := claims -> 'events';
  uri text;
  body jsonb;
  human text;
  revoking text[] := ARRAY['https://schemas.openid.net/secevent/caep/event-type/session-revoked',
                           'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
                           'https://schemas.openid.net/secevent/risc/event-type/account-purged',
                           'https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required'];
  done jsonb := '[]';
  r jsonb;
  ended int;
BEGIN
  IF refusal IS NOT NULL THEN
    RETURN warden._ssf_refused(
      CASE WHEN refusal ->> 'err' IN ('invalid_request', 'invalid_key', 'invalid_issuer', 'invalid_audience',
                                      'authentication_failed', 'access_denied')
           THEN refusal ->> 'err' ELSE 'invalid_request' END,
      pg_catalog.left(coalesce(refusal ->> 'description', 'refused'), 200), iss, jti,
      CASE WHEN jsonb_typeof(refusal -> 'suppressed') = 'number'
           THEN least(greatest((refusal ->> 'suppressed')::numeric, 0), 1e15)::bigint END);
  END IF;
  SELECT ip.* INTO p FROM warden.identity_providers ip JOIN warden.ssf_issuers i ON i.idp_id = ip.idp_id
  WHERE ip.issuer = receive_security_event.iss;
  IF NOT FOUND THEN
    RETURN warden._ssf_refused('invalid_issuer', 'SETs from this issuer are not accepted', iss, jti);
  END IF;
  SELECT * INTO accepted FROM warden.ssf_issuers i WHERE i.idp_id = p.idp_id;
  IF NOT (CASE jsonb_typeof(claims -> 'aud')
            WHEN 'string' THEN claims ->> 'aud' = accepted.audience
            WHEN 'array' THEN claims -> 'aud' ? accepted.audience
            ELSE false END) THEN
    RETURN warden._ssf_refused('invalid_audience', 'the SET is not for this receiver', iss, jti);
  END IF;
  IF jti IS NULL OR length(jti) NOT BETWEEN 1 AND 256 THEN
    RETURN warden._ssf_refused('invalid_request', 'the SET has no jti', iss, jti);
  END IF;
  IF jsonb_typeof(claims -> 'iat') IS DISTINCT FROM 'number' THEN
    RETURN warden._ssf_refused('invalid_request', 'the SET has no iat', iss, jti);
  END IF;
  iat := (claims ->> 'iat')::numeric;
  IF iat > extract(epoch FROM now()) + 60 OR iat < extract(epoch FROM now()) - 900 THEN
    RETURN warden._ssf_refused('invalid_request', 'iat is more than 60 s ahead or 15 minutes old', iss, jti);
  END IF;
  IF jsonb_typeof(events) IS DISTINCT FROM 'object' OR events = '{}'::jsonb THEN
    RETURN warden._ssf_refused('invalid_request', 'the SET has no events', iss, jti);
  END IF;
  IF NOT warden._use_jti(('ssf:' || p.issuer)::text, jti::text, (iat + 900)::numeric) THEN
    RETURN warden._ssf_refused('invalid_request', 'jti already received (replay)', iss, jti);
  END IF;
  FOR uri, body IN SELECT x.key, x.value FROM jsonb_each(events) x LOOP
    CONTINUE WHEN NOT uri = ANY (revoking);
    human := warden._ssf_subject_human(coalesce(claims -> 'sub_id', body -> 'subject'), p);
    IF human IS NULL THEN
      -- Not a person of this provider, but perhaps signed in to the console through it (a
      -- console person need not be a human warden knows): those sessions end all the same.
      WITH x AS (DELETE FROM warden.console_sessions cs
                 WHERE cs.idp_id = p.idp_id
                   AND cs.subject = warden._ssf_subject_id(coalesce(claims -> 'sub_id', body -> 'subject'), p)
                 RETURNING 1)
      SELECT count(*) INTO ended FROM x;
      IF ended = 0 THEN
        RETURN warden._ssf_refused('invalid_request', 'unknown subject', iss, jti);
      END IF;
      done := done || jsonb_build_object('console_subject', warden._ssf_subject_id(coalesce(claims -> 'sub_id', body -> 'subject'), p),
                                         'event', uri, 'console_sessions', ended);
      CONTINUE;
    END IF;
    r := warden.revoke_human(human::text, (p.name || ': ' || pg_catalog.regexp_replace(uri, '^.*/', ''))::text);
    done := done || jsonb_build_object('human', human, 'event', uri, 'chains', r -> 'chains');
  END LOOP;
  PERFORM warden._event('ssf_set_received'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('iss', iss, 'jti', jti, 'events', (SELECT jsonb_agg(k) FROM jsonb_object_keys(events) k),
                                           'revoked', done),
                        true, NULL::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('ok', true, 'revoked', done);
END
$$;
REVOKE ALL ON FUNCTION warden.receive_security_event(text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.receive_security_event(text, jsonb, jsonb) TO warden_proxy;
