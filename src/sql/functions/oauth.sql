-- The OAuth 2.1 authorization server's state machine (issue 13), driven by warden-mcp as
-- warden_proxy: client registration, /authorize, the OIDC sign-in at the identity provider,
-- consent, /token (authorization_code, refresh_token) and /revoke. Every step is a row, so any
-- gateway replica can continue a flow another began. Codes, refresh tokens, consent tokens,
-- the IdP state and nonce are kept only as SHA-256 hashes; none appears in an event or an
-- error message.
--
-- How warden-mcp tells errors apart (the message of every one starts with the RFC error code
-- and a colon, e.g. "invalid_scope: ..."):
--   SQLSTATE WA400  /authorize or sign-in, do NOT redirect: show an error page (unknown client,
--                   redirect_uri not registered, unknown or used sign-in, bad consent form).
--   SQLSTATE WA302  /authorize, redirect to the (already validated) redirect_uri with
--                   error=<first word>&state=<state> (invalid_request, invalid_scope,
--                   invalid_target, unauthorized_client, access_denied).
--   SQLSTATE WR400  registration (RFC 7591 3.2.2): invalid_redirect_uri, invalid_client_metadata.
--   Token endpoint functions (redeem_authorization_code, refresh_access_token) do not raise for
--   OAuth errors: they return {"error": ..., "error_description": ...} (HTTP 400; 401 for
--   invalid_client), because some refusals must commit (a replayed code or refresh token kills
--   its chain). complete_sign_in and consent return {"error", "redirect_uri", "state"} when the
--   browser is to be sent back to the client with an error.
--   Anything else (22004 for a NULL argument, ...) is a bug in the caller: answer server_error.

-- Access tokens (task tokens) live at most this long; a chain lives warden.oauth_session_lifetime.
CREATE OR REPLACE FUNCTION warden._oauth_access_lifetime() RETURNS interval
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT interval '1 hour' $$;
REVOKE ALL ON FUNCTION warden._oauth_access_lifetime() FROM PUBLIC;

-- The tool patterns a scope asks for (space-separated server/tool or server/*), or NULL when it
-- names none (then the consent offers everything the agent is granted). offline_access is
-- accepted and ignored (a refresh token is always issued).
CREATE OR REPLACE FUNCTION warden._oauth_scope_tools(scope text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s text;
  tools text[] := '{}';
BEGIN
  FOR s IN SELECT x FROM pg_catalog.regexp_split_to_table(coalesce(scope, ''), '\s+') x WHERE x <> '' LOOP
    CONTINUE WHEN s = 'offline_access';
    IF s !~ '^[a-z0-9][a-z0-9_-]{0,62}/(\*|[A-Za-z0-9_.:-]{1,128})$' OR strpos(split_part(s, '/', 1), '__') > 0 THEN
      RAISE EXCEPTION 'invalid_scope: "%" is not a tool (server/tool or server/*)', pg_catalog.left(s, 200)
        USING ERRCODE = 'WA302';
    END IF;
    IF NOT s = ANY (tools) THEN
      tools := tools || s;
    END IF;
  END LOOP;
  RETURN CASE WHEN cardinality(tools) = 0 THEN NULL ELSE tools END;
END
$$;
REVOKE ALL ON FUNCTION warden._oauth_scope_tools(text) FROM PUBLIC;

-- What a token may carry: the requested patterns (NULL: anything) intersected with the agent's
-- live grants that are not bound to one chain. A pattern and a grant meet at the narrower of
-- the two (srv/* asked, srv/a granted: srv/a); never wider than a grant. An empty list (a
-- consent that covered nothing) stays empty: only NULL means "anything".
CREATE OR REPLACE FUNCTION warden._oauth_grantable(agent_id uuid, requested text[]) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF requested IS NOT NULL AND pg_catalog.cardinality(requested) = 0 THEN
    RETURN '{}'::text[];
  END IF;
  RETURN ARRAY(
    SELECT DISTINCT x FROM (
      SELECT CASE WHEN r IS NULL THEN g.p
                  WHEN warden._tool_covers(g.p::text, r::text) THEN r
                  WHEN warden._tool_covers(r::text, g.p::text) THEN g.p END AS x
      FROM (SELECT gg.server || '/' || gg.tool AS p FROM warden.grants gg
            WHERE gg.agent_id = _oauth_grantable.agent_id AND gg.chain_id IS NULL AND gg.revoked_at IS NULL
              AND gg.expires_at > now()) g
      LEFT JOIN unnest(requested) r ON true) y
    WHERE x IS NOT NULL ORDER BY x);
END
$$;
REVOKE ALL ON FUNCTION warden._oauth_grantable(uuid, text[]) FROM PUBLIC;

-- The human that owns agents nobody has claimed yet (self-registered OAuth clients).
CREATE OR REPLACE FUNCTION warden._unclaimed_owner() RETURNS uuid
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id uuid;
BEGIN
  INSERT INTO warden.humans (subject, display_name)
  VALUES ('warden:self-registered', 'OAuth clients that registered themselves')
  ON CONFLICT (subject) DO NOTHING;
  SELECT h.human_id INTO id FROM warden.humans h WHERE h.subject = 'warden:self-registered';
  RETURN id;
END
$$;
REVOKE ALL ON FUNCTION warden._unclaimed_owner() FROM PUBLIC;

-- Checks client metadata (RFC 7591): redirect_uris, grant_types, response_types,
-- token_endpoint_auth_method 'none' (public clients with PKCE only).
CREATE OR REPLACE FUNCTION warden._check_client_metadata(metadata jsonb, OUT redirect_uris text[], OUT client_name text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF metadata IS NULL OR jsonb_typeof(metadata) <> 'object' THEN
    RAISE EXCEPTION 'invalid_client_metadata: the metadata must be a JSON object' USING ERRCODE = 'WR400';
  END IF;
  IF jsonb_typeof(metadata->'redirect_uris') IS DISTINCT FROM 'array'
     OR EXISTS (SELECT FROM jsonb_array_elements(metadata->'redirect_uris') e WHERE jsonb_typeof(e) <> 'string') THEN
    RAISE EXCEPTION 'invalid_redirect_uri: redirect_uris must be an array of strings' USING ERRCODE = 'WR400';
  END IF;
  redirect_uris := ARRAY(SELECT e FROM jsonb_array_elements_text(metadata->'redirect_uris') e);
  PERFORM warden._check_redirect_uris(redirect_uris::text[]);
  IF coalesce(metadata->>'token_endpoint_auth_method', 'none') <> 'none' THEN
    RAISE EXCEPTION 'invalid_client_metadata: token_endpoint_auth_method must be "none"'
      USING ERRCODE = 'WR400', HINT = 'warden serves public clients with PKCE.';
  END IF;
  IF metadata ? 'grant_types' AND (jsonb_typeof(metadata->'grant_types') <> 'array'
      OR EXISTS (SELECT FROM jsonb_array_elements(metadata->'grant_types') e
                 WHERE e NOT IN ('"authorization_code"'::jsonb, '"refresh_token"'::jsonb))) THEN
    RAISE EXCEPTION 'invalid_client_metadata: grant_types may only be authorization_code and refresh_token'
      USING ERRCODE = 'WR400';
  END IF;
  IF metadata ? 'response_types' AND (jsonb_typeof(metadata->'response_types') <> 'array'
      OR EXISTS (SELECT FROM jsonb_array_elements(metadata->'response_types') e WHERE e <> '"code"'::jsonb)) THEN
    RAISE EXCEPTION 'invalid_client_metadata: response_types may only be code' USING ERRCODE = 'WR400';
  END IF;
  IF metadata ? 'client_name' AND (jsonb_typeof(metadata->'client_name') <> 'string'
      OR length(metadata->>'client_name') > 200 OR (metadata->>'client_name') ~ '[[:cntrl:]]') THEN
    RAISE EXCEPTION 'invalid_client_metadata: client_name must be text of at most 200 characters'
      USING ERRCODE = 'WR400';
  END IF;
  client_name := metadata->>'client_name';
END
$$;
REVOKE ALL ON FUNCTION warden._check_client_metadata(jsonb) FROM PUBLIC;

-- A new agent in status pending, owned by the unclaimed-owner human, with no grants, for a
-- client that registered itself. It shows up in the inventory; an admin approves it.
CREATE OR REPLACE FUNCTION warden._pending_agent_for_client(client_id text, registration text, client_name text,
                                                            redirect_uris text[], metadata jsonb)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  slug text := trim(both '-' from left(regexp_replace(lower(coalesce(client_name, '')), '[^a-z0-9]+', '-', 'g'), 40));
  name text;
  id uuid;
BEGIN
  -- Registration is open to anyone who reaches the gateway: the inventory of agents waiting
  -- for an administrator is bounded (warden-mcp also limits /register to 10 a minute per address).
  IF (SELECT count(*) FROM warden.agents a WHERE a.status = 'pending') >= 1000 THEN
    RAISE EXCEPTION 'invalid_client_metadata: too many clients await approval; try again later'
      USING ERRCODE = 'WR400', HINT = 'An administrator approves (warden.approve_agent) or removes pending agents.';
  END IF;
  name := 'oauth-' || coalesce(nullif(slug, ''), 'client') || '-' || lower(left(regexp_replace(warden._random_secret(16), '[^A-Za-z0-9]', '', 'g'), 8));
  INSERT INTO warden.agents (name, owner_id, description, status)
  VALUES (name, warden._unclaimed_owner(),
          format('OAuth client %s (%s registration%s)', left(client_id, 300), registration,
                 CASE WHEN client_name IS NULL THEN '' ELSE ': ' || client_name END),
          'pending')
  RETURNING agent_id INTO id;
  INSERT INTO warden.oauth_clients (client_id, agent_id, registration, redirect_uris, metadata)
  VALUES (client_id, id, registration, redirect_uris, metadata);
  PERFORM warden._event('client_registered'::text, NULL::uuid, NULL::uuid, NULL::uuid, name::text, NULL::text,
                        jsonb_build_object('client_id', client_id, 'registration', registration,
                                           'client_name', client_name, 'redirect_uris', to_jsonb(redirect_uris),
                                           'status', 'pending'),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN name;
END
$$;
REVOKE ALL ON FUNCTION warden._pending_agent_for_client(text, text, text, text[], jsonb) FROM PUBLIC;

-- RFC 7591 dynamic registration. Every registration is a new client (client_id generated) and a
-- new pending agent with no grants. Returns the RFC 7591 client information response plus the
-- agent's name and status. Errors: WR400.
CREATE OR REPLACE FUNCTION warden.register_dynamic_client(metadata jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m record;
  cid text := 'warden-' || warden._random_secret(16);
  agent text;
BEGIN
  SELECT * INTO m FROM warden._check_client_metadata(metadata::jsonb);
  agent := warden._pending_agent_for_client(cid::text, 'dynamic'::text, m.client_name::text,
                                            m.redirect_uris::text[], metadata::jsonb);
  RETURN jsonb_strip_nulls(jsonb_build_object(
    'client_id', cid, 'client_id_issued_at', extract(epoch FROM date_trunc('second', now()))::bigint,
    'client_name', m.client_name, 'redirect_uris', to_jsonb(m.redirect_uris),
    'grant_types', coalesce(metadata->'grant_types', '["authorization_code", "refresh_token"]'),
    'response_types', '["code"]'::jsonb, 'token_endpoint_auth_method', 'none',
    'agent', agent, 'agent_status', 'pending'));
END
$$;
REVOKE ALL ON FUNCTION warden.register_dynamic_client(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.register_dynamic_client(jsonb) TO warden_proxy;

-- A client identified by its Client ID Metadata Document (fetched and checked by warden-mcp):
-- client_id is the document's https URL and must equal metadata.client_id. An unknown client
-- becomes a new pending agent; a known one keeps its agent, and a re-fetched document updates
-- its redirect URIs. may_create false (the caller's address has no registrations left in its
-- window): an unknown client is refused (WR429), a known one proceeds. Returns {client_id,
-- redirect_uris, client_name, agent, agent_status, created (true for a new client)}.
CREATE OR REPLACE FUNCTION warden.register_metadata_client(client_id text, metadata jsonb,
                                                           may_create boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m record;
  c record;
  agent text;
BEGIN
  IF client_id IS NULL OR NOT warden._is_safe_url(client_id::text) OR client_id !~ '^https://[^/]+/.'
     OR strpos(client_id, '?') > 0 THEN
    RAISE EXCEPTION 'invalid_client_metadata: a client_id metadata document is named by an https URL with a path'
      USING ERRCODE = 'WR400';
  END IF;
  SELECT * INTO m FROM warden._check_client_metadata(metadata::jsonb);
  IF (metadata->>'client_id') IS DISTINCT FROM client_id THEN
    RAISE EXCEPTION 'invalid_client_metadata: the document''s client_id differs from its URL' USING ERRCODE = 'WR400';
  END IF;
  SELECT oc.registration, a.name, a.status INTO c
  FROM warden.oauth_clients oc JOIN warden.agents a ON a.agent_id = oc.agent_id
  WHERE oc.client_id = register_metadata_client.client_id FOR UPDATE OF oc;
  IF NOT FOUND THEN
    IF NOT coalesce(may_create, false) THEN
      RAISE EXCEPTION 'temporarily_unavailable: too many new clients from this address; try again in a minute'
        USING ERRCODE = 'WR429';
    END IF;
    agent := warden._pending_agent_for_client(client_id::text, 'metadata'::text, m.client_name::text,
                                              m.redirect_uris::text[], metadata::jsonb);
    RETURN jsonb_strip_nulls(jsonb_build_object('client_id', client_id, 'redirect_uris', to_jsonb(m.redirect_uris),
                                                'client_name', m.client_name, 'agent', agent, 'agent_status', 'pending',
                                                'created', true));
  END IF;
  IF c.registration = 'metadata' THEN
    UPDATE warden.oauth_clients oc SET redirect_uris = m.redirect_uris, metadata = register_metadata_client.metadata,
                                       updated_at = now()
    WHERE oc.client_id = register_metadata_client.client_id
      AND (oc.redirect_uris <> m.redirect_uris OR oc.metadata <> register_metadata_client.metadata);
  END IF;
  RETURN (SELECT jsonb_strip_nulls(jsonb_build_object('client_id', oc.client_id, 'redirect_uris', to_jsonb(oc.redirect_uris),
                                                      'client_name', oc.metadata->>'client_name', 'agent', c.name,
                                                      'agent_status', c.status))
          FROM warden.oauth_clients oc WHERE oc.client_id = register_metadata_client.client_id);
END
$$;
REVOKE ALL ON FUNCTION warden.register_metadata_client(text, jsonb, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.register_metadata_client(text, jsonb, boolean) TO warden_proxy;

-- /authorize. Validates the request and stores it for 10 minutes; returns what the IdP leg
-- needs: {request_id, idp, idp_state, idp_nonce, idp_code_verifier, idp_code_challenge}
-- (random, base64url; warden-mcp puts state, nonce and the S256 challenge in its redirect to
-- the provider). idp NULL picks the only configured provider. Errors: WA400 before the client
-- and redirect_uri are known good, WA302 after.
CREATE OR REPLACE FUNCTION warden.begin_authorization(client_id text, redirect_uri text, code_challenge text,
                                                      code_challenge_method text, state text, scope text,
                                                      resource text, idp text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
  p warden.identity_providers;
  rid uuid := gen_random_uuid();
  idp_state text := warden._random_secret(32);
  nonce text := warden._random_secret(32);
  verifier text := warden._random_secret(32);
BEGIN
  SELECT oc.client_id, oc.redirect_uris, oc.agent_id, a.name AS agent, a.status INTO c
  FROM warden.oauth_clients oc JOIN warden.agents a ON a.agent_id = oc.agent_id
  WHERE oc.client_id = begin_authorization.client_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invalid_client: unknown client' USING ERRCODE = 'WA400',
      HINT = 'Register it (Client ID Metadata Document, dynamic registration or warden.register_client).';
  END IF;
  IF redirect_uri IS NULL OR NOT redirect_uri = ANY (c.redirect_uris) THEN
    RAISE EXCEPTION 'invalid_request: redirect_uri is not registered for this client' USING ERRCODE = 'WA400',
      HINT = 'Redirect URIs are compared exactly.';
  END IF;
  -- From here on the client gets the error at its redirect_uri, when it is active. A client no
  -- admin has approved yet (pending: registered by anyone, with a redirect_uri of its choosing)
  -- gets it on the gateway's own page: sent there, the error would make the gateway an open
  -- redirector to any site (RFC 9700 4.11.2).
  BEGIN
    IF code_challenge_method IS DISTINCT FROM 'S256' THEN
      RAISE EXCEPTION 'invalid_request: code_challenge_method must be S256' USING ERRCODE = 'WA302';
    END IF;
    IF code_challenge IS NULL OR code_challenge !~ '^[A-Za-z0-9_-]{43}$' THEN
      RAISE EXCEPTION 'invalid_request: code_challenge must be 43 base64url characters' USING ERRCODE = 'WA302';
    END IF;
    IF state IS NULL OR state = '' OR length(state) > 1024 OR state ~ '[[:cntrl:]]' THEN
      RAISE EXCEPTION 'invalid_request: state is required' USING ERRCODE = 'WA302';
    END IF;
    IF resource IS NULL OR resource = '' THEN
      RAISE EXCEPTION 'invalid_target: resource is required' USING ERRCODE = 'WA302';
    END IF;
    IF c.status NOT IN ('active', 'pending') THEN
      RAISE EXCEPTION 'unauthorized_client: the client''s agent is %', c.status USING ERRCODE = 'WA302';
    END IF;
    PERFORM warden._oauth_scope_tools(scope::text);
    IF idp IS NULL THEN
      SELECT * INTO p FROM warden.identity_providers ip ORDER BY ip.created_at LIMIT 2;
      IF (SELECT count(*) FROM warden.identity_providers) <> 1 THEN
        RAISE EXCEPTION 'invalid_request: name the identity provider' USING ERRCODE = 'WA302';
      END IF;
    ELSE
      SELECT * INTO p FROM warden.identity_providers ip WHERE ip.name = begin_authorization.idp;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid_request: unknown identity provider' USING ERRCODE = 'WA302';
      END IF;
    END IF;
  EXCEPTION WHEN SQLSTATE 'WA302' THEN
    IF c.status = 'active' THEN
      RAISE;
    END IF;
    RAISE EXCEPTION '%', SQLERRM USING ERRCODE = 'WA400';
  END;
  INSERT INTO warden.oauth_requests (request_id, client_id, idp_id, redirect_uri, code_challenge, state, scope,
                                     resource, idp_state_hash, idp_nonce_hash, idp_verifier, expires_at)
  VALUES (rid, c.client_id, p.idp_id, redirect_uri, code_challenge, state, scope, resource,
          warden._secret_hash(idp_state::text), warden._secret_hash(nonce::text),
          warden._vault_wrap_text('sign-in'::text, rid::text, verifier::text), now() + interval '10 minutes');
  PERFORM warden._event('authorization_requested'::text, NULL::uuid, NULL::uuid, NULL::uuid, c.agent::text, NULL::text,
                        jsonb_build_object('request_id', rid, 'client_id', c.client_id, 'idp', p.name,
                                           'scope', scope, 'resource', resource),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('request_id', rid, 'idp', p.name, 'idp_state', idp_state, 'idp_nonce', nonce,
                            'idp_code_verifier', verifier,
                            'idp_code_challenge', warden._base64url(sha256(convert_to(verifier, 'UTF8'))))
         -- With the provider's keys pinned the database believes only a login made now (as for
         -- an approver: complete_sign_in checks auth_time), not a standing provider session.
         || CASE WHEN EXISTS (SELECT FROM warden.idp_pinned_keys pk WHERE pk.idp_id = p.idp_id)
                 THEN jsonb_build_object('idp_max_age', 0) ELSE '{}'::jsonb END;
END
$$;
REVOKE ALL ON FUNCTION warden.begin_authorization(text, text, text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.begin_authorization(text, text, text, text, text, text, text, text) TO warden_proxy;

-- The IdP redirected back with state: which sign-in it is and the code verifier warden-mcp
-- redeems the provider's code with (so that the replica receiving the callback need not be the
-- one that began it). {request_id, idp, idp_code_verifier, for: 'client' (a client's /authorize)
-- or 'approver' (an approver's sign-in to the approval page)}. Unknown, expired or finished: WA400.
CREATE OR REPLACE FUNCTION warden.idp_callback(idp_state text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  SELECT rq.request_id, rq.idp_verifier, ip.name AS idp INTO r
  FROM warden.oauth_requests rq JOIN warden.identity_providers ip ON ip.idp_id = rq.idp_id
  WHERE rq.idp_state_hash = warden._secret_hash(idp_state::text)
    AND rq.signed_in_at IS NULL AND rq.expires_at > now();
  IF FOUND THEN
    RETURN jsonb_build_object('request_id', r.request_id, 'idp', r.idp, 'for', 'client',
                              'idp_code_verifier', warden._vault_open_text('sign-in'::text, r.request_id::text, r.idp_verifier::bytea));
  END IF;
  -- An approver's sign-in to the approval page (warden.begin_approver_sign_in).
  SELECT s.sign_in_id, s.idp_verifier, ip.name AS idp INTO r
  FROM warden.approver_sign_ins s JOIN warden.identity_providers ip ON ip.idp_id = s.idp_id
  WHERE s.idp_state_hash = warden._secret_hash(idp_state::text)
    AND s.finished_at IS NULL AND s.expires_at > now();
  IF FOUND THEN
    RETURN jsonb_build_object('request_id', r.sign_in_id, 'idp', r.idp, 'for', 'approver',
                              'idp_code_verifier', warden._vault_open_text('sign-in'::text, r.sign_in_id::text,
                                                                           r.idp_verifier::bytea));
  END IF;
  RAISE EXCEPTION 'invalid_request: unknown, expired or finished sign-in' USING ERRCODE = 'WA400',
    HINT = 'Start again from the client.';
END
$$;
REVOKE ALL ON FUNCTION warden.idp_callback(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.idp_callback(text) TO warden_proxy;

-- An ID token's claims (its signature verified by warden-mcp, or for an approver's or console
-- sign-in by the database itself) against the provider and the sign-in that asked for it: iss,
-- aud (client_id or audience), azp (when present it is client_id; required with several
-- audiences), the nonce of this sign-in, exp, iat (required) and nbf (60 s skew): the rules
-- warden-mcp's own check applies (src/frontend/oauth/id_token.cpp). The refusal, or NULL.
CREATE OR REPLACE FUNCTION warden._id_token_refusal(p warden.identity_providers, claims jsonb, nonce_hash bytea)
RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT CASE
    WHEN claims IS NULL OR jsonb_typeof(claims) <> 'object' THEN 'claims_not_an_object'
    WHEN (claims->>'iss') IS DISTINCT FROM p.issuer THEN 'wrong_issuer'
    -- Each test is written so that a NULL (an absent claim, no audience configured) refuses.
    WHEN NOT coalesce(CASE jsonb_typeof(claims->'aud')
                        WHEN 'string' THEN (claims->>'aud') = p.client_id OR (claims->>'aud') = p.audience
                        WHEN 'array' THEN claims->'aud' ? p.client_id OR (p.audience IS NOT NULL AND claims->'aud' ? p.audience)
                      END, false) THEN 'wrong_audience'
    WHEN claims ? 'azp' AND (claims->>'azp') IS DISTINCT FROM p.client_id THEN 'wrong_authorized_party'
    WHEN jsonb_typeof(claims->'aud') = 'array' AND jsonb_array_length(claims->'aud') > 1 AND NOT claims ? 'azp'
      THEN 'wrong_authorized_party'
    WHEN NOT warden._equal_in_constant_time(warden._secret_hash(claims->>'nonce'), nonce_hash) THEN 'wrong_nonce'
    WHEN jsonb_typeof(claims->'exp') IS DISTINCT FROM 'number' OR (claims->>'exp')::numeric <= extract(epoch FROM now()) - 60 THEN 'expired'
    WHEN jsonb_typeof(claims->'iat') IS DISTINCT FROM 'number' THEN 'no_issued_at'
    WHEN (claims->>'iat')::numeric > extract(epoch FROM now()) + 60 THEN 'issued_in_the_future'
    WHEN claims ? 'nbf' AND (jsonb_typeof(claims->'nbf') <> 'number' OR (claims->>'nbf')::numeric > extract(epoch FROM now()) + 60) THEN 'not_yet_valid'
  END
$fn$;
REVOKE ALL ON FUNCTION warden._id_token_refusal(warden.identity_providers, jsonb, bytea) FROM PUBLIC;

-- Who a provider admits, whatever the way in (the browser sign-in of an agent's human, an
-- approver's sign-in, a token exchange): a subject (options.subject_claim, a string of at most
-- 512 characters; an address only with email_verified true); with options.allowed_domains, an email (options.email_claim) the provider
-- says it verified in one of them; with options.allowed_groups, one of them in
-- options.groups_claim. The refusal, or NULL. One definition, so no way in is wider.
CREATE OR REPLACE FUNCTION warden._idp_admission(p warden.identity_providers, claims jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  subj text := claims->>(p.options->>'subject_claim');
  email text;
  groups jsonb;
BEGIN
  IF subj IS NULL OR subj = '' OR length(subj) > 512 OR jsonb_typeof(claims->(p.options->>'subject_claim')) <> 'string' THEN
    RETURN 'no_subject';
  END IF;
  -- A person named by their address is that person only if the provider verified it (anyone
  -- can set an unverified address to another person's, at many providers).
  -- (email_verified vouches for the email claim only.)
  IF p.options->>'subject_claim' = 'email' AND claims->'email_verified' IS DISTINCT FROM 'true'::jsonb THEN
    RETURN 'email_not_verified';
  END IF;
  IF p.options ? 'allowed_domains' THEN
    email := lower(claims->>(p.options->>'email_claim'));
    -- Only an address the provider says it verified: a missing email_verified is not one (a
    -- provider that lets people set their own address would let anyone claim a domain).
    IF email IS NULL OR strpos(email, '@') = 0 OR claims->'email_verified' IS DISTINCT FROM 'true'::jsonb
       OR NOT (p.options->'allowed_domains') ? split_part(email, '@', -1) THEN
      RETURN 'domain_not_allowed';
    END IF;
  END IF;
  IF p.options ? 'allowed_groups' THEN
    groups := claims->(p.options->>'groups_claim');
    IF groups IS NULL OR NOT EXISTS (
         SELECT FROM jsonb_array_elements_text(CASE jsonb_typeof(groups) WHEN 'array' THEN groups
                                               WHEN 'string' THEN jsonb_build_array(groups) ELSE '[]' END) gname
         WHERE (p.options->'allowed_groups') ? gname) THEN
      RETURN 'group_not_allowed';
    END IF;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION warden._idp_admission(warden.identity_providers, jsonb) FROM PUBLIC;

-- The person signed in at the IdP; warden-mcp verified the ID token's signature and passes its
-- claims, and the token itself (id_token). When an administrator pinned the provider's keys
-- (warden.pin_identity_provider_keys), the database verifies the token with them and uses its
-- claims, not warden-mcp's (without id_token the sign-in is refused as
-- id_token_not_verified_by_database: malformed), and, as begin_authorization then asked the
-- provider for max_age 0, the login must be this sign-in's (auth_time; not_a_fresh_login): a
-- gateway that lies signs in nobody who does not log in through it. Otherwise it takes the
-- signature on warden-mcp's word. Re-checked here: iss, aud (client_id or audience; azp when several), nonce, exp, iat
-- (60 s skew), the request (unknown/expired/used: WA400). The sign-in is single use: a refused
-- ID token ends the request too, and so does refusal_by_gateway (warden-mcp got no verified ID
-- token and says why; claims are then ignored, audited as id_token_not_verified: why). Then the subject (options.subject_claim) is mapped to the
-- human (idp, subject); options.jit creates one; allowed_domains / allowed_groups must match.
-- A refusal returns {error: 'access_denied', error_description, redirect_uri, state}. Success
-- returns the consent view: {request_id, consent_token (for the form; single use), agent,
-- agent_status, client_id, client_name, human, purpose, tools (requested scope intersected with
-- the agent's live grants), expires_at}.
CREATE OR REPLACE FUNCTION warden.complete_sign_in(idp_state text, claims jsonb,
                                                  refusal_by_gateway text DEFAULT NULL,
                                                  id_token text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  p warden.identity_providers;
  refusal text;
  subj text;
  h record;
  consent text;
  offered text[];
  chain_purpose text;
  verified jsonb;
BEGIN
  IF idp_state IS NULL THEN
    RAISE EXCEPTION 'invalid_request: no state' USING ERRCODE = 'WA400';
  END IF;
  SELECT rq.*, oc.agent_id, oc.metadata->>'client_name' AS client_name, a.name AS agent, a.status AS agent_status
    INTO r
  FROM warden.oauth_requests rq JOIN warden.oauth_clients oc ON oc.client_id = rq.client_id
  JOIN warden.agents a ON a.agent_id = oc.agent_id
  WHERE rq.idp_state_hash = warden._secret_hash(idp_state::text) FOR UPDATE OF rq;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invalid_request: unknown sign-in' USING ERRCODE = 'WA400', HINT = 'Start again from the client.';
  END IF;
  IF r.signed_in_at IS NOT NULL THEN
    RAISE EXCEPTION 'invalid_request: this sign-in was already used' USING ERRCODE = 'WA400';
  END IF;
  IF r.expires_at <= now() THEN
    RAISE EXCEPTION 'invalid_request: the sign-in expired' USING ERRCODE = 'WA400', HINT = 'Start again from the client.';
  END IF;
  UPDATE warden.oauth_requests rq SET signed_in_at = now() WHERE rq.request_id = r.request_id;
  SELECT * INTO p FROM warden.identity_providers ip WHERE ip.idp_id = r.idp_id;

  -- warden-mcp got no verified ID token (the provider's error, its token endpoint failing, a
  -- bad signature, alg or kid): it says why.
  refusal := left('id_token_not_verified: ' || refusal_by_gateway, 300);
  IF refusal IS NULL AND EXISTS (SELECT FROM warden.idp_pinned_keys pk WHERE pk.idp_id = p.idp_id) THEN
    verified := warden._pinned_id_token_claims(p, id_token::text);
    refusal := verified->>'refusal';
    claims := verified->'claims';
    IF refusal IS NULL AND (jsonb_typeof(claims->'auth_time') IS DISTINCT FROM 'number'
                            OR (claims->>'auth_time')::numeric < extract(epoch FROM r.created_at) - 60) THEN
      refusal := 'not_a_fresh_login';
    END IF;
  END IF;
  IF refusal IS NULL THEN
    refusal := warden._id_token_refusal(p, claims, r.idp_nonce_hash);
  END IF;
  IF refusal IS NULL THEN
    refusal := warden._idp_admission(p, claims);
  END IF;
  IF refusal IS NULL THEN
    subj := claims->>(p.options->>'subject_claim');
  END IF;
  IF refusal IS NULL THEN
    SELECT hh.human_id, hh.subject, hh.revoked_at INTO h FROM warden.humans hh
    WHERE hh.idp = p.idp_id AND hh.subject = subj;
    IF NOT FOUND THEN
      IF NOT (p.options->>'jit')::boolean THEN
        refusal := 'not_provisioned';
      ELSIF EXISTS (SELECT FROM warden.humans hh WHERE hh.subject = subj) THEN
        -- The subject belongs to a human of another provider or one added by hand: never merged.
        refusal := 'subject_taken';
      ELSE
        INSERT INTO warden.humans (subject, display_name, idp)
        VALUES (subj, left(coalesce(claims->>'name', claims->>(p.options->>'email_claim')), 200), p.idp_id)
        RETURNING human_id, subject, revoked_at INTO h;
      END IF;
    END IF;
    IF refusal IS NULL AND h.revoked_at IS NOT NULL THEN
      refusal := 'human_revoked';
    END IF;
  END IF;
  IF refusal IS NOT NULL THEN
    PERFORM warden._event('sign_in_refused'::text, NULL::uuid, NULL::uuid, NULL::uuid, r.agent::text, NULL::text,
                          jsonb_build_object('request_id', r.request_id, 'idp', p.name, 'client_id', r.client_id),
                          false::boolean, refusal::text, NULL::text, NULL::text);
    RETURN jsonb_build_object('error', 'access_denied', 'error_description', 'sign-in refused: ' || refusal,
                              'redirect_uri', r.redirect_uri, 'state', r.state);
  END IF;

  offered := warden._oauth_grantable(r.agent_id::uuid, warden._oauth_scope_tools(r.scope::text)::text[]);
  chain_purpose := format('sign-in of %s by %s', coalesce(r.client_name, r.agent), h.subject);
  consent := warden._random_secret(32);
  UPDATE warden.oauth_requests rq
  SET human_id = h.human_id, tools = offered, purpose = chain_purpose,
      consent_token_hash = warden._secret_hash(consent::text)
  WHERE rq.request_id = r.request_id;
  PERFORM warden._event('signed_in'::text, NULL::uuid, NULL::uuid, NULL::uuid, r.agent::text, h.subject::text,
                        jsonb_build_object('request_id', r.request_id, 'idp', p.name, 'client_id', r.client_id),
                        true::boolean, NULL::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('request_id', r.request_id, 'consent_token', consent, 'agent', r.agent,
                            'agent_status', r.agent_status, 'client_id', r.client_id, 'client_name', r.client_name,
                            'human', h.subject, 'purpose', chain_purpose, 'tools', to_jsonb(offered),
                            'expires_at', r.expires_at);
END
$$;
REVOKE ALL ON FUNCTION warden.complete_sign_in(text, jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.complete_sign_in(text, jsonb, text, text) TO warden_proxy;

-- The consent form was posted. The consent token (CSRF) must match, once; a wrong or reused one
-- is WA400 (no redirect: the form did not come from this sign-in). Denied, or an agent that is
-- not active: {redirect_uri, error: 'access_denied', error_description, state}. Approved: an
-- authorization code (random, kept as a hash, 60 s, single use): {redirect_uri, code, state}.
CREATE OR REPLACE FUNCTION warden.consent(request_id uuid, consent_token text, approve boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  code text;
  why text;
BEGIN
  SELECT rq.*, a.name AS agent, a.status AS agent_status, h.subject AS human, h.revoked_at AS human_revoked_at
    INTO r
  FROM warden.oauth_requests rq JOIN warden.oauth_clients oc ON oc.client_id = rq.client_id
  JOIN warden.agents a ON a.agent_id = oc.agent_id
  LEFT JOIN warden.humans h ON h.human_id = rq.human_id
  WHERE rq.request_id = consent.request_id FOR UPDATE OF rq;
  IF NOT FOUND OR r.consent_token_hash IS NULL THEN
    RAISE EXCEPTION 'invalid_request: no sign-in awaits consent here' USING ERRCODE = 'WA400';
  END IF;
  IF NOT warden._equal_in_constant_time(warden._secret_hash(consent_token::text), r.consent_token_hash) THEN
    RAISE EXCEPTION 'access_denied: the consent form is not valid' USING ERRCODE = 'WA400',
      HINT = 'The form must come from this sign-in; start again from the client.';
  END IF;
  IF r.decided_at IS NOT NULL THEN
    RAISE EXCEPTION 'invalid_request: this consent was already given or refused' USING ERRCODE = 'WA400';
  END IF;
  IF r.expires_at <= now() THEN
    RAISE EXCEPTION 'invalid_request: the sign-in expired' USING ERRCODE = 'WA400', HINT = 'Start again from the client.';
  END IF;
  why := CASE WHEN approve IS NOT TRUE THEN 'the person declined'
              WHEN r.agent_status <> 'active' THEN 'the agent is ' || r.agent_status
              WHEN r.human_revoked_at IS NOT NULL THEN 'the person was revoked' END;
  UPDATE warden.oauth_requests rq SET decided_at = now(), approved = (why IS NULL) WHERE rq.request_id = r.request_id;
  PERFORM warden._event('consent'::text, NULL::uuid, NULL::uuid, NULL::uuid, r.agent::text, r.human::text,
                        jsonb_build_object('request_id', r.request_id, 'client_id', r.client_id, 'tools', to_jsonb(r.tools)),
                        (why IS NULL)::boolean, why::text, NULL::text, NULL::text);
  IF why IS NOT NULL THEN
    RETURN jsonb_build_object('redirect_uri', r.redirect_uri, 'error', 'access_denied',
                              'error_description', why, 'state', r.state);
  END IF;
  code := warden._random_secret(32);
  UPDATE warden.oauth_requests rq SET code_hash = warden._secret_hash(code::text), code_expires_at = now() + interval '60 seconds'
  WHERE rq.request_id = r.request_id;
  RETURN jsonb_build_object('redirect_uri', r.redirect_uri, 'code', code, 'state', r.state);
END
$$;
REVOKE ALL ON FUNCTION warden.consent(uuid, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.consent(uuid, text, boolean) TO warden_proxy;

-- An OAuth refusal at the token endpoint (see the top of this file).
CREATE OR REPLACE FUNCTION warden._oauth_error(error text, description text) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.jsonb_build_object('error', error, 'error_description', description) $$;
REVOKE ALL ON FUNCTION warden._oauth_error(text, text) FROM PUBLIC;

-- Kills a chain issued through OAuth and every refresh token of it (code replay, refresh-token
-- reuse): the same revocation as warden.revoke_chain, so calls in flight are aborted.
CREATE OR REPLACE FUNCTION warden._oauth_kill_chain(chain_id uuid, why text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE warden.oauth_refresh_tokens rt SET revoked_at = now()
  WHERE rt.chain_id = _oauth_kill_chain.chain_id AND rt.revoked_at IS NULL;
  PERFORM warden.revoke_chain(chain_id::uuid, why::text);
END
$$;
REVOKE ALL ON FUNCTION warden._oauth_kill_chain(uuid, text) FROM PUBLIC;

-- A new access token (a root task token, <= 1 hour, within the chain) and a new refresh token
-- (ending with the chain) for a chain of an OAuth sign-in.
CREATE OR REPLACE FUNCTION warden._oauth_tokens(chain_id uuid, client_id text, tools text[], dpop_jkt text)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
  access_id uuid := gen_random_uuid();
  access text;
  refresh text := warden._random_secret(32);
  expires timestamptz;
BEGIN
  SELECT cc.expires_at, cc.root_agent_id, a.name AS agent, h.subject AS human INTO c
  FROM warden.chains cc JOIN warden.agents a ON a.agent_id = cc.root_agent_id
  JOIN warden.humans h ON h.human_id = cc.human_id WHERE cc.chain_id = _oauth_tokens.chain_id;
  expires := least(date_trunc('second', now() + warden._oauth_access_lifetime()), c.expires_at);
  access := warden._mint_root_token(chain_id::uuid, access_id::uuid, c.root_agent_id::uuid, c.agent::text,
                                    c.human::text, tools::text[], expires::timestamptz, dpop_jkt::text,
                                    jsonb_build_object('oauth_client', client_id, 'tools', tools,
                                                       'expires_at', expires, 'dpop', dpop_jkt IS NOT NULL)::jsonb);
  INSERT INTO warden.oauth_refresh_tokens (token_hash, chain_id, client_id, dpop_jkt, scope, access_token_id, expires_at)
  VALUES (warden._secret_hash(refresh::text), chain_id, client_id, dpop_jkt, tools, access_id, c.expires_at);
  RETURN jsonb_build_object('access_token', access, 'token_type', CASE WHEN dpop_jkt IS NULL THEN 'Bearer' ELSE 'DPoP' END,
                            'expires_in', greatest(1, extract(epoch FROM expires - now())::int),
                            'refresh_token', refresh, 'scope', array_to_string(tools, ' '));
END
$$;
REVOKE ALL ON FUNCTION warden._oauth_tokens(uuid, text, text[], text) FROM PUBLIC;

-- /token, grant_type=authorization_code. PKCE S256 is checked here (base64url(sha256(verifier))
-- = the stored challenge), with client_id, redirect_uri and resource as at /authorize. Starts
-- the chain (human, agent, purpose, tools re-intersected with the live grants now) for
-- warden.oauth_session_lifetime; the access token is that chain's task token. dpop_jkt (the
-- thumbprint of a verified DPoP proof's key) binds the access and refresh tokens to that key.
-- A code presented again revokes the chain it issued (RFC 6749 4.1.2). Returns
-- {access_token, token_type, expires_in, refresh_token, scope} or {error, error_description}.
CREATE OR REPLACE FUNCTION warden.redeem_authorization_code(code text, code_verifier text, client_id text,
                                                            redirect_uri text, resource text,
                                                            dpop_jkt text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  chain uuid := gen_random_uuid();
  tools text[];
  lifetime interval := pg_catalog.current_setting('warden.oauth_session_lifetime')::interval;
BEGIN
  IF code IS NULL OR code_verifier IS NULL OR client_id IS NULL OR redirect_uri IS NULL THEN
    RETURN warden._oauth_error('invalid_request'::text, 'code, code_verifier, client_id and redirect_uri are required'::text);
  END IF;
  SELECT rq.*, oc.agent_id, a.name AS agent, a.status AS agent_status, h.revoked_at AS human_revoked_at INTO r
  FROM warden.oauth_requests rq JOIN warden.oauth_clients oc ON oc.client_id = rq.client_id
  JOIN warden.agents a ON a.agent_id = oc.agent_id JOIN warden.humans h ON h.human_id = rq.human_id
  WHERE rq.code_hash = warden._secret_hash(code::text) FOR UPDATE OF rq;
  IF NOT FOUND THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'unknown authorization code'::text);
  END IF;
  IF r.redeemed_at IS NOT NULL THEN
    IF r.chain_id IS NOT NULL THEN
      PERFORM warden._oauth_kill_chain(r.chain_id::uuid, 'authorization code replayed'::text);
    END IF;
    PERFORM warden._event('authorization_code_replayed'::text, r.chain_id::uuid, NULL::uuid, NULL::uuid,
                          r.agent::text, NULL::text, jsonb_build_object('request_id', r.request_id, 'client_id', r.client_id),
                          false::boolean, 'code_replayed'::text, NULL::text, NULL::text);
    RETURN warden._oauth_error('invalid_grant'::text, 'the authorization code was already used; its tokens are revoked'::text);
  END IF;
  IF r.code_expires_at <= now() THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'the authorization code expired'::text);
  END IF;
  IF r.client_id <> redeem_authorization_code.client_id THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'the code was issued to another client'::text);
  END IF;
  IF r.redirect_uri <> redeem_authorization_code.redirect_uri THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'redirect_uri differs from the authorization request'::text);
  END IF;
  IF resource IS DISTINCT FROM r.resource THEN
    RETURN warden._oauth_error('invalid_target'::text, 'resource differs from the authorization request'::text);
  END IF;
  IF code_verifier !~ '^[A-Za-z0-9._~-]{43,128}$'
     OR NOT warden._equal_in_constant_time(convert_to(warden._base64url(sha256(convert_to(code_verifier, 'UTF8'))), 'UTF8'),
                                          convert_to(r.code_challenge, 'UTF8')) THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'PKCE verification failed'::text);
  END IF;
  IF dpop_jkt IS NOT NULL AND dpop_jkt !~ '^[A-Za-z0-9_-]{43}$' THEN
    RETURN warden._oauth_error('invalid_dpop_proof'::text, 'dpop_jkt must be a base64url SHA-256 JWK thumbprint'::text);
  END IF;
  -- What start_chain refuses, refused here as OAuth errors.
  IF r.agent_status <> 'active' THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'the agent is ' || r.agent_status);
  END IF;
  IF r.human_revoked_at IS NOT NULL THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'the person was revoked'::text);
  END IF;
  tools := warden._oauth_grantable(r.agent_id::uuid, r.tools::text[]);
  INSERT INTO warden.chains (chain_id, human_id, root_agent_id, purpose, trace_id, expires_at)
  VALUES (chain, r.human_id, r.agent_id, r.purpose, replace(chain::text, '-', ''),
          date_trunc('second', now() + lifetime));
  UPDATE warden.oauth_requests rq SET redeemed_at = now(), chain_id = chain WHERE rq.request_id = r.request_id;
  RETURN warden._oauth_tokens(chain::uuid, r.client_id::text, tools::text[], dpop_jkt::text);
END
$$;
REVOKE ALL ON FUNCTION warden.redeem_authorization_code(text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.redeem_authorization_code(text, text, text, text, text, text) TO warden_proxy;

-- /token, grant_type=refresh_token. Refresh tokens rotate on every use; one presented again
-- kills its chain (RFC 9700 4.14). Bound to their client and, when DPoP-bound, to that key.
-- The new access token is a new root task token of the same chain, with the same tools
-- re-intersected with the live grants; nothing outlives the chain
-- (warden.oauth_session_lifetime, at most 24 hours): then the person signs in again.
CREATE OR REPLACE FUNCTION warden.refresh_access_token(refresh_token text, client_id text, dpop_jkt text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  why text;
BEGIN
  IF refresh_token IS NULL OR client_id IS NULL THEN
    RETURN warden._oauth_error('invalid_request'::text, 'refresh_token and client_id are required'::text);
  END IF;
  SELECT rt.*, c.revoked_at AS chain_revoked_at, c.expires_at AS chain_expires_at, c.root_agent_id,
         a.name AS agent, a.status AS agent_status, h.revoked_at AS human_revoked_at INTO r
  FROM warden.oauth_refresh_tokens rt JOIN warden.chains c ON c.chain_id = rt.chain_id
  JOIN warden.agents a ON a.agent_id = c.root_agent_id JOIN warden.humans h ON h.human_id = c.human_id
  WHERE rt.token_hash = warden._secret_hash(refresh_token::text) FOR UPDATE OF rt;
  IF NOT FOUND THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'unknown refresh token'::text);
  END IF;
  IF r.client_id <> refresh_access_token.client_id THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'the refresh token was issued to another client'::text);
  END IF;
  IF r.used_at IS NOT NULL THEN
    PERFORM warden._oauth_kill_chain(r.chain_id::uuid, 'refresh token reused'::text);
    PERFORM warden._event('refresh_token_reused'::text, r.chain_id::uuid, NULL::uuid, NULL::uuid, r.agent::text,
                          NULL::text, jsonb_build_object('client_id', r.client_id), false::boolean,
                          'refresh_token_reused'::text, NULL::text, NULL::text);
    RETURN warden._oauth_error('invalid_grant'::text, 'the refresh token was already used; its chain is revoked'::text);
  END IF;
  IF r.dpop_jkt IS NOT NULL AND dpop_jkt IS DISTINCT FROM r.dpop_jkt THEN
    RETURN warden._oauth_error('invalid_grant'::text, 'the refresh token is bound to another DPoP key'::text);
  END IF;
  why := CASE WHEN r.revoked_at IS NOT NULL THEN 'the refresh token was revoked'
              WHEN r.chain_revoked_at IS NOT NULL THEN 'the chain was revoked'
              WHEN r.expires_at <= now() OR r.chain_expires_at <= now() THEN 'the session ended; sign in again'
              WHEN r.agent_status <> 'active' THEN 'the agent is ' || r.agent_status
              WHEN r.human_revoked_at IS NOT NULL THEN 'the person was revoked' END;
  IF why IS NOT NULL THEN
    UPDATE warden.oauth_refresh_tokens rt SET revoked_at = coalesce(rt.revoked_at, now()) WHERE rt.refresh_id = r.refresh_id;
    RETURN warden._oauth_error('invalid_grant'::text, why::text);
  END IF;
  UPDATE warden.oauth_refresh_tokens rt SET used_at = now() WHERE rt.refresh_id = r.refresh_id;
  RETURN warden._oauth_tokens(r.chain_id::uuid, r.client_id::text,
                              warden._oauth_grantable(r.root_agent_id::uuid, r.scope::text[])::text[],
                              r.dpop_jkt::text);
END
$$;
REVOKE ALL ON FUNCTION warden.refresh_access_token(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.refresh_access_token(text, text, text) TO warden_proxy;

-- /revoke (RFC 7009): a refresh token of this client ends its whole chain (RFC 7009 2.1: the
-- access tokens of the same grant go too); an access token of this client is revoked with
-- everything delegated from it. Unknown tokens, and tokens of other clients, are not an error
-- and change nothing. Returns nothing.
CREATE OR REPLACE FUNCTION warden.revoke_oauth_token(token text, client_id text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  o record;
BEGIN
  IF token IS NULL OR client_id IS NULL THEN
    RETURN;
  END IF;
  SELECT rt.chain_id INTO r FROM warden.oauth_refresh_tokens rt
  WHERE rt.token_hash = warden._secret_hash(token::text) AND rt.client_id = revoke_oauth_token.client_id;
  IF FOUND THEN
    PERFORM warden._oauth_kill_chain(r.chain_id::uuid, 'revoked by the client (RFC 7009)'::text);
    RETURN;
  END IF;
  SELECT * INTO o FROM warden._open_token(token::text);
  IF o.reason IS NULL AND EXISTS (SELECT FROM warden.oauth_requests rq
                                  WHERE rq.chain_id = o.chain_id AND rq.client_id = revoke_oauth_token.client_id)
     AND EXISTS (SELECT FROM warden.tokens t WHERE t.token_id = o.token_id AND t.revoked_at IS NULL) THEN
    PERFORM warden.revoke_token(o.token_id::uuid, 'revoked by the client (RFC 7009)'::text);
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden.revoke_oauth_token(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.revoke_oauth_token(text, text) TO warden_proxy;
