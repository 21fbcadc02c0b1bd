-- Agents acting for people without a browser (issue 14): the agent's own keys, SPIFFE trust
-- domains, whom an agent may act for, and the decisions behind warden-mcp's /token for RFC 8693
-- token exchange (start a chain, delegate) and the ID-JAG jwt-bearer grant.
--
-- warden-mcp verifies JWS signatures (it has the crypto) with keys it gets here
-- (warden.assertion_keys), then passes what it verified to warden.exchange_token: the header, the
-- claims and the kid of the key that verified it, or the error. Everything else is decided here:
-- which principal the claims name (the same rule the keys were chosen by), that the kid belongs
-- to it, audiences, times (60 s skew), lifetimes, single use, policy, scope. A task token
-- (PASETO) is verified here. Refusals return {error, error_description} (not raised) so that
-- their audit event commits; nothing is issued with them.

-- A public JWK an admin registers, checked: asymmetric, for signatures, no private member.
-- Returns the kid it is kept under (its own, or "jwk:" and the hex SHA-256 of its JSON).
CREATE OR REPLACE FUNCTION warden._public_jwk_kid(jwk jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF jwk IS NULL OR pg_catalog.jsonb_typeof(jwk) <> 'object' THEN
    RAISE EXCEPTION 'a JWK must be a JSON object' USING ERRCODE = '22023';
  END IF;
  IF jwk ?| ARRAY['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] THEN
    RAISE EXCEPTION 'this JWK holds private key material'
      USING ERRCODE = '22023', HINT = 'Register the public key only (drop "d" and the other private members); the private key stays with the agent.';
  END IF;
  IF coalesce(jwk->>'kty', '') NOT IN ('RSA', 'EC', 'OKP') THEN
    RAISE EXCEPTION 'JWK kty "%" is not accepted', pg_catalog.left(jwk->>'kty', 20)
      USING ERRCODE = '22023', HINT = 'Use an RSA, EC (P-256) or OKP (Ed25519) public key.';
  END IF;
  IF coalesce(jwk->>'use', 'sig') <> 'sig' OR coalesce(jwk->>'alg', '') = 'none' OR coalesce(jwk->>'alg', '') LIKE 'HS%' THEN
    RAISE EXCEPTION 'this JWK is not a signature verification key' USING ERRCODE = '22023';
  END IF;
  IF pg_catalog.length(jwk::text) > 8192 THEN
    RAISE EXCEPTION 'this JWK is too large' USING ERRCODE = '22023';
  END IF;
  IF jwk ? 'kid' AND (pg_catalog.jsonb_typeof(jwk->'kid') <> 'string' OR pg_catalog.length(jwk->>'kid') NOT BETWEEN 1 AND 200) THEN
    RAISE EXCEPTION 'JWK kid must be a string of 1 to 200 characters' USING ERRCODE = '22023';
  END IF;
  RETURN coalesce(jwk->>'kid', 'jwk:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(jwk::text, 'UTF8')), 'hex'));
END
$$;
REVOKE ALL ON FUNCTION warden._public_jwk_kid(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden.add_agent_key(agent text, jwk jsonb) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  key_id text := warden._public_jwk_kid(jwk::jsonb);
BEGIN
  SELECT aa.agent_id, aa.name INTO a FROM warden.agents aa WHERE aa.name = add_agent_key.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  IF EXISTS (SELECT FROM warden.agent_keys k WHERE k.kid = key_id AND k.agent_id <> a.agent_id) THEN
    RAISE EXCEPTION 'key "%" is registered for another agent', key_id
      USING ERRCODE = '23505', HINT = 'One key proves one agent; give each agent its own key.';
  END IF;
  INSERT INTO warden.agent_keys (agent_id, kid, kty, jwk) VALUES (a.agent_id, key_id, jwk->>'kty', jwk)
  ON CONFLICT ON CONSTRAINT agent_keys_pkey DO UPDATE SET jwk = excluded.jwk, kty = excluded.kty, retired_at = NULL;
  PERFORM warden._event('agent_key_added'::text, NULL::uuid, NULL::uuid, NULL::uuid, a.name::text, NULL::text,
                        pg_catalog.jsonb_build_object('kid', key_id, 'kty', jwk->>'kty', 'by', session_user),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN key_id;
END
$$;
REVOKE ALL ON FUNCTION warden.add_agent_key(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.add_agent_key(text, jsonb) TO warden_admin;

CREATE OR REPLACE FUNCTION warden.retire_agent_key(agent text, kid text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int;
BEGIN
  UPDATE warden.agent_keys k SET retired_at = pg_catalog.now()
  FROM warden.agents a
  WHERE a.agent_id = k.agent_id AND a.name = retire_agent_key.agent AND k.kid = retire_agent_key.kid AND k.retired_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    PERFORM warden._event('agent_key_retired'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                          pg_catalog.jsonb_build_object('kid', kid, 'by', session_user),
                          NULL::boolean, NULL::text, NULL::text, NULL::text);
  END IF;
  RETURN n > 0;
END
$$;
REVOKE ALL ON FUNCTION warden.retire_agent_key(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.retire_agent_key(text, text) TO warden_admin;

-- Adds a SPIFFE trust domain, or replaces its JWT bundle (rotation). jwks: {"keys": [...]}.
-- Returns the number of keys kept.
CREATE OR REPLACE FUNCTION warden.add_trust_domain(name text, jwks jsonb) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k jsonb;
  kept jsonb := '[]';
BEGIN
  IF name IS NULL OR name !~ '^[a-z0-9._-]{1,255}$' THEN
    RAISE EXCEPTION 'trust domain "%" is not a SPIFFE trust domain name', pg_catalog.left(name, 300)
      USING ERRCODE = '22023', HINT = 'A trust domain is lower-case letters, digits, ".", "-" and "_", e.g. prod.example.org.';
  END IF;
  IF jwks IS NULL OR pg_catalog.jsonb_typeof(jwks->'keys') IS DISTINCT FROM 'array'
     OR pg_catalog.jsonb_array_length(jwks->'keys') NOT BETWEEN 1 AND 64 THEN
    RAISE EXCEPTION 'the bundle must be a JWKS with 1 to 64 keys' USING ERRCODE = '22023';
  END IF;
  FOR k IN SELECT e FROM pg_catalog.jsonb_array_elements(jwks->'keys') e LOOP
    -- SPIFFE bundles mark JWT-SVID keys with use "jwt-svid"; X.509 ones ("x509-svid") are skipped.
    CONTINUE WHEN pg_catalog.jsonb_typeof(k) = 'object' AND coalesce(k->>'use', 'jwt-svid') = 'x509-svid';
    kept := kept || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'kid', warden._public_jwk_kid((k - 'use')::jsonb), 'jwk', k - 'use'));
  END LOOP;
  IF pg_catalog.jsonb_array_length(kept) = 0 THEN
    RAISE EXCEPTION 'the bundle has no JWT-SVID key' USING ERRCODE = '22023';
  END IF;
  INSERT INTO warden.trust_domains AS t (name, keys) VALUES (add_trust_domain.name, kept)
  ON CONFLICT ON CONSTRAINT trust_domains_name_key DO UPDATE SET keys = excluded.keys, updated_at = pg_catalog.now();
  PERFORM warden._event('trust_domain_keys_changed'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        pg_catalog.jsonb_build_object('trust_domain', name, 'keys', pg_catalog.jsonb_array_length(kept),
                                                      'by', session_user),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN pg_catalog.jsonb_array_length(kept);
END
$$;
REVOKE ALL ON FUNCTION warden.add_trust_domain(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.add_trust_domain(text, jsonb) TO warden_admin;

-- The agent a SPIFFE ID (of a trusted domain) is.
CREATE OR REPLACE FUNCTION warden.add_spiffe_id(agent text, spiffe_id text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  d uuid;
BEGIN
  SELECT aa.agent_id, aa.name INTO a FROM warden.agents aa WHERE aa.name = add_spiffe_id.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  SELECT t.domain_id INTO d FROM warden.trust_domains t
  WHERE t.name = pg_catalog.split_part(pg_catalog.substr(spiffe_id, 10), '/', 1) AND spiffe_id LIKE 'spiffe://%';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'SPIFFE ID "%" is not in a trusted domain', pg_catalog.left(spiffe_id, 300)
      USING ERRCODE = '42704', HINT = 'Add its trust domain first with warden.add_trust_domain(name, jwks).';
  END IF;
  INSERT INTO warden.agent_spiffe_ids (spiffe_id, agent_id, domain_id) VALUES (spiffe_id, a.agent_id, d);
  PERFORM warden._event('spiffe_id_added'::text, NULL::uuid, NULL::uuid, NULL::uuid, a.name::text, NULL::text,
                        pg_catalog.jsonb_build_object('spiffe_id', spiffe_id, 'by', session_user),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.add_spiffe_id(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.add_spiffe_id(text, text) TO warden_admin;

-- Lets an agent act for `humans`: a subject, 'group:NAME' or 'owner'. Once an agent has any
-- entry, exactly its entries apply (list 'owner' to keep the owner).
CREATE OR REPLACE FUNCTION warden.allow_acting(agent text, humans text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
BEGIN
  SELECT aa.agent_id, aa.name INTO a FROM warden.agents aa WHERE aa.name = allow_acting.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  IF humans IS NULL OR pg_catalog.length(humans) NOT BETWEEN 1 AND 512 OR humans IN ('group:', '*')
     OR humans ~ '\s' THEN
    RAISE EXCEPTION 'humans must be a subject, ''group:NAME'' or ''owner''' USING ERRCODE = '22023';
  END IF;
  INSERT INTO warden.acting_policies (agent_id, humans) VALUES (a.agent_id, humans) ON CONFLICT DO NOTHING;
  PERFORM warden._event('acting_allowed'::text, NULL::uuid, NULL::uuid, NULL::uuid, a.name::text, NULL::text,
                        pg_catalog.jsonb_build_object('humans', humans, 'by', session_user),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.allow_acting(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.allow_acting(text, text) TO warden_admin;

CREATE OR REPLACE FUNCTION warden.disallow_acting(agent text, humans text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n int;
BEGIN
  DELETE FROM warden.acting_policies p USING warden.agents a
  WHERE a.agent_id = p.agent_id AND a.name = disallow_acting.agent AND p.humans = disallow_acting.humans;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    PERFORM warden._event('acting_disallowed'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                          pg_catalog.jsonb_build_object('humans', humans, 'by', session_user),
                          NULL::boolean, NULL::text, NULL::text, NULL::text);
  END IF;
  RETURN n > 0;
END
$$;
REVOKE ALL ON FUNCTION warden.disallow_acting(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.disallow_acting(text, text) TO warden_admin;

-- Whom a signed JWT claims to come from, and the keys that may have signed it:
--   sub spiffe://DOMAIN/...      a JWT-SVID: kind 'spiffe', the trust domain's keys, the agent mapped to sub
--   iss = sub = a client or agent  an agent's own assertion (RFC 7523): kind 'agent', its live keys
--   iss = an identity provider   kind 'idp', the provider's live keys
-- The same rule picks the keys warden-mcp verifies with and the principal a decision trusts.
CREATE OR REPLACE FUNCTION warden._assertion_principal(iss text, sub text, OUT kind text, OUT id uuid,
                                                       OUT name text, OUT keys jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d record;
BEGIN
  IF sub LIKE 'spiffe://%' THEN
    SELECT t.name, t.keys INTO d FROM warden.trust_domains t
    WHERE t.name = pg_catalog.split_part(pg_catalog.substr(sub, 10), '/', 1);
    IF FOUND THEN
      kind := 'spiffe';
      keys := d.keys;
      SELECT s.agent_id, a.name INTO id, name FROM warden.agent_spiffe_ids s JOIN warden.agents a ON a.agent_id = s.agent_id
      WHERE s.spiffe_id = sub;
    END IF;
    RETURN;
  END IF;
  IF iss IS NOT NULL AND iss = sub THEN
    SELECT a.agent_id, a.name INTO id, name FROM warden.oauth_clients c JOIN warden.agents a ON a.agent_id = c.agent_id
    WHERE c.client_id = sub;
    IF NOT FOUND THEN
      SELECT a.agent_id, a.name INTO id, name FROM warden.agents a WHERE a.name = sub;
    END IF;
    IF id IS NOT NULL THEN
      kind := 'agent';
      keys := coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kid', k.kid, 'jwk', k.jwk) ORDER BY k.kid)
                        FROM warden.agent_keys k WHERE k.agent_id = _assertion_principal.id AND k.retired_at IS NULL), '[]');
      RETURN;
    END IF;
  END IF;
  SELECT p.idp_id, p.name INTO id, name FROM warden.identity_providers p WHERE p.issuer = iss;
  IF FOUND THEN
    kind := 'idp';
    keys := coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kid', k.kid, 'jwk', k.jwk) ORDER BY k.kid)
                      FROM warden.idp_keys k WHERE k.idp_id = _assertion_principal.id AND k.retired_at IS NULL), '[]');
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._assertion_principal(text, text) FROM PUBLIC;

-- For warden-mcp: the public keys that may have signed a JWT with these (unverified) iss and
-- sub: {kind, keys: [{kid, jwk}]}; kind null and no keys when nobody trusted claims it.
CREATE OR REPLACE FUNCTION warden.assertion_keys(iss text, sub text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p record;
BEGIN
  SELECT * INTO p FROM warden._assertion_principal(pg_catalog.left(iss, 2048)::text, pg_catalog.left(sub, 2048)::text);
  RETURN pg_catalog.jsonb_build_object('kind', p.kind, 'keys', coalesce(p.keys, '[]'));
END
$$;
REVOKE ALL ON FUNCTION warden.assertion_keys(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.assertion_keys(text, text) TO warden_proxy;

-- Checks one verified JWT as warden-mcp reports it ({header, claims, kid, error}): a refusal
-- reason, or NULL and the principal. `kinds`: which principals may sign it here; `audiences`:
-- one must be in aud (NULL: the caller checks); max_lifetime: seconds from iat to exp, and to
-- exp from now (NULL: any); need_jti: a jti is required.
CREATE OR REPLACE FUNCTION warden._check_jwt(jwt jsonb, kinds text[], audiences text[], max_lifetime int,
                                             need_jti boolean, OUT refusal text, OUT kind text, OUT id uuid, OUT name text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c jsonb := jwt->'claims';
  p record;
  now_s numeric := extract(epoch FROM pg_catalog.now());
BEGIN
  IF jwt IS NULL OR pg_catalog.jsonb_typeof(jwt) <> 'object' THEN
    refusal := 'missing';
    RETURN;
  END IF;
  IF jwt ? 'error' THEN
    refusal := coalesce(pg_catalog.left(jwt->>'error', 100), 'not_verified');
    RETURN;
  END IF;
  IF pg_catalog.jsonb_typeof(c) IS DISTINCT FROM 'object' OR pg_catalog.jsonb_typeof(jwt->'kid') IS DISTINCT FROM 'string' THEN
    refusal := 'not_verified';
    RETURN;
  END IF;
  -- A JWT-SVID need not carry iss (the SPIFFE ID in sub names its trust domain); others must.
  IF pg_catalog.jsonb_typeof(c->'sub') IS DISTINCT FROM 'string'
     OR (pg_catalog.jsonb_typeof(c->'iss') IS DISTINCT FROM 'string' AND (c->>'sub') NOT LIKE 'spiffe://%') THEN
    refusal := 'no_issuer_or_subject';
    RETURN;
  END IF;
  SELECT * INTO p FROM warden._assertion_principal((c->>'iss')::text, (c->>'sub')::text);
  IF p.kind IS NULL OR NOT p.kind = ANY (kinds) THEN
    refusal := 'untrusted_issuer';
    RETURN;
  END IF;
  -- The key that verified it must be one of this principal's: a key of another agent, another
  -- domain or another provider proves nothing here. (A provider's JWT the database verified with
  -- that provider's pinned keys, warden._pinned_jwt, needs no fetched key.)
  IF NOT (p.kind = 'idp' AND coalesce(jwt->>'verified_by' = 'database', false))
     AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(p.keys) k WHERE k->>'kid' = jwt->>'kid') THEN
    refusal := 'wrong_key';
    RETURN;
  END IF;
  IF p.id IS NULL THEN
    refusal := 'unknown_spiffe_id';
    RETURN;
  END IF;
  refusal := CASE
    WHEN audiences IS NOT NULL AND NOT coalesce(CASE pg_catalog.jsonb_typeof(c->'aud')
                        WHEN 'string' THEN (c->>'aud') = ANY (audiences)
                        WHEN 'array' THEN c->'aud' ?| audiences END, false) THEN 'wrong_audience'
    WHEN pg_catalog.jsonb_typeof(c->'exp') IS DISTINCT FROM 'number' THEN 'no_expiry'
    WHEN (c->>'exp')::numeric <= now_s - 60 THEN 'expired'
    WHEN c ? 'iat' AND (pg_catalog.jsonb_typeof(c->'iat') <> 'number' OR (c->>'iat')::numeric > now_s + 60) THEN 'issued_in_the_future'
    WHEN c ? 'nbf' AND (pg_catalog.jsonb_typeof(c->'nbf') <> 'number' OR (c->>'nbf')::numeric > now_s + 60) THEN 'not_yet_valid'
    WHEN max_lifetime IS NOT NULL AND (pg_catalog.jsonb_typeof(c->'iat') IS DISTINCT FROM 'number'
                                       OR (c->>'exp')::numeric - (c->>'iat')::numeric > max_lifetime
                                       OR (c->>'exp')::numeric > now_s + max_lifetime + 60) THEN 'lifetime_too_long'
    WHEN need_jti AND (pg_catalog.jsonb_typeof(c->'jti') IS DISTINCT FROM 'string'
                                       OR pg_catalog.length(c->>'jti') NOT BETWEEN 1 AND 256) THEN 'no_jti'
  END;
  IF refusal IS NULL THEN
    kind := p.kind; id := p.id; name := p.name;
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._check_jwt(jsonb, text[], text[], int, boolean) FROM PUBLIC;

-- A JWT as warden-mcp reports it ({header, claims, kid, jwt} or {error}), as the database sees
-- it: when it names (iss) an identity provider whose keys an administrator pinned
-- (warden.pin_identity_provider_keys), the database verifies the raw JWT itself with those keys
-- and returns {header, claims, kid, verified_by: database} of that verification (or {error:
-- not_verified_by_database: why}), so the gateway's report of the claims is not believed; any
-- other JWT is returned as reported (its signature on warden-mcp's word).
CREATE OR REPLACE FUNCTION warden._pinned_jwt(jwt jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  pinned text;
  v jsonb;
BEGIN
  IF jwt IS NULL OR pg_catalog.jsonb_typeof(jwt) <> 'object' OR jwt ? 'error' THEN
    RETURN jwt;
  END IF;
  jwt := jwt - 'verified_by';  -- only this function says so
  SELECT * INTO p FROM warden.identity_providers ip WHERE ip.issuer = jwt->'claims'->>'iss';
  IF NOT FOUND THEN
    RETURN jwt;
  END IF;
  pinned := warden._pinned_jwks(p.idp_id);
  IF pinned IS NULL THEN
    RETURN jwt;
  ELSIF pg_catalog.jsonb_typeof(jwt->'jwt') IS DISTINCT FROM 'string' THEN
    RETURN pg_catalog.jsonb_build_object('error', 'not_verified_by_database: malformed');
  END IF;
  v := warden._verify_jwt_signature((jwt->>'jwt')::text, pinned::text)::jsonb;
  IF v ? 'error' THEN
    RETURN pg_catalog.jsonb_build_object('error', 'not_verified_by_database: ' || (v->>'error'));
  ELSIF (v->'claims'->>'iss') IS DISTINCT FROM p.issuer THEN
    RETURN pg_catalog.jsonb_build_object('error', 'not_verified_by_database: wrong_issuer');
  END IF;
  RETURN v || '{"verified_by": "database"}';
END
$$;
REVOKE ALL ON FUNCTION warden._pinned_jwt(jsonb) FROM PUBLIC;

-- Marks a JWT's jti used (until it expires); false when it was used before. Old rows go.
CREATE OR REPLACE FUNCTION warden._use_jti(issuer text, jti text, exp numeric) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  fresh boolean;
BEGIN
  DELETE FROM warden.assertion_jtis j WHERE j.expires_at < pg_catalog.now() - interval '5 minutes';
  INSERT INTO warden.assertion_jtis (issuer, jti, expires_at)
  VALUES (issuer, jti, pg_catalog.to_timestamp(exp::double precision) + interval '60 seconds')
  ON CONFLICT DO NOTHING RETURNING true INTO fresh;
  RETURN coalesce(fresh, false);
END
$$;
REVOKE ALL ON FUNCTION warden._use_jti(text, text, numeric) FROM PUBLIC;

-- May the agent act for this human? Its acting_policies, or its owner when it has none.
CREATE OR REPLACE FUNCTION warden._may_act(agent_id uuid, human_id uuid, groups jsonb) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN NOT EXISTS (SELECT FROM warden.acting_policies p WHERE p.agent_id = _may_act.agent_id)
              THEN EXISTS (SELECT FROM warden.agents a WHERE a.agent_id = _may_act.agent_id AND a.owner_id = _may_act.human_id)
              ELSE EXISTS (
                SELECT FROM warden.acting_policies p
                JOIN warden.agents a ON a.agent_id = p.agent_id
                JOIN warden.humans h ON h.human_id = _may_act.human_id
                WHERE p.agent_id = _may_act.agent_id
                  AND ((p.humans = 'owner' AND a.owner_id = h.human_id)
                       OR (p.humans NOT LIKE 'group:%' AND p.humans <> 'owner' AND p.humans = h.subject)
                       OR (p.humans LIKE 'group:%' AND pg_catalog.jsonb_typeof(groups) = 'array'
                           AND groups ? pg_catalog.substr(p.humans, 7))))
         END
$$;
REVOKE ALL ON FUNCTION warden._may_act(uuid, uuid, jsonb) FROM PUBLIC;

-- A refusal at /token: audited (subject, actor, reason), returned as an OAuth error.
CREATE OR REPLACE FUNCTION warden._exchange_refused(grant_kind text, error text, reason text, agent text,
                                                    human text, detail jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM warden._event('token_exchange_refused'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, human::text,
                        (coalesce(detail, '{}') || pg_catalog.jsonb_build_object('grant', grant_kind, 'error', error))::jsonb,
                        false::boolean, reason::text, NULL::text, NULL::text);
  RETURN warden._oauth_error(error::text, (grant_kind || ' refused: ' || reason)::text);
END
$$;
REVOKE ALL ON FUNCTION warden._exchange_refused(text, text, text, text, text, jsonb) FROM PUBLIC;

-- A new chain for (agent, human) from a machine flow, and its root task token.
CREATE OR REPLACE FUNCTION warden._exchange_chain(agent_id uuid, agent text, human_id uuid, human text, tools text[],
                                                  lifetime interval, purpose text, detail jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  chain uuid := pg_catalog.gen_random_uuid();
  tid uuid := pg_catalog.gen_random_uuid();
  expires timestamptz := pg_catalog.date_trunc('second', pg_catalog.now() + lifetime);
  token text;
BEGIN
  INSERT INTO warden.chains (chain_id, human_id, root_agent_id, purpose, trace_id, expires_at)
  VALUES (chain, human_id, agent_id, purpose, pg_catalog.replace(chain::text, '-', ''), expires);
  token := warden._mint_root_token(chain::uuid, tid::uuid, agent_id::uuid, agent::text,
                                   human::text, tools::text[], expires::timestamptz, NULL::text,
                                   (detail || pg_catalog.jsonb_build_object('purpose', purpose, 'tools', tools,
                                                                            'expires_at', expires))::jsonb);
  -- token_id is for exchange_token (which removes it), not for the client.
  RETURN pg_catalog.jsonb_build_object('access_token', token,
                                       'issued_token_type', 'urn:ietf:params:oauth:token-type:access_token',
                                       'token_type', 'Bearer',
                                       'expires_in', greatest(1, extract(epoch FROM expires - pg_catalog.now())::int),
                                       'scope', pg_catalog.array_to_string(tools, ' '),
                                       'token_id', tid);
END
$$;
REVOKE ALL ON FUNCTION warden._exchange_chain(uuid, text, uuid, text, text[], interval, text, jsonb) FROM PUBLIC;

-- RFC 8693 section 4.1 "act" for a task token: the outermost names the token's agent (the
-- current actor), each nested one the agent that delegated to it, down to the chain's first
-- agent; below that, `prior` (the act claim the person's token carried, if any).
CREATE OR REPLACE FUNCTION warden._act_chain(token_id uuid, prior jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  act jsonb := CASE WHEN pg_catalog.jsonb_typeof(prior) = 'object' THEN prior END;
  n text;
BEGIN
  FOR n IN SELECT a.name FROM warden.tokens t
           CROSS JOIN LATERAL pg_catalog.unnest(t.ancestor_agents || t.agent_id) WITH ORDINALITY u(id, o)
           JOIN warden.agents a ON a.agent_id = u.id
           WHERE t.token_id = _act_chain.token_id ORDER BY u.o LOOP
    act := CASE WHEN act IS NULL THEN pg_catalog.jsonb_build_object('sub', n)
                ELSE pg_catalog.jsonb_build_object('sub', n, 'act', act) END;
  END LOOP;
  RETURN act;
END
$$;
REVOKE ALL ON FUNCTION warden._act_chain(uuid, jsonb) FROM PUBLIC;

-- Signs claims as a JWT (typ at+jwt only) with warden's current signing key, the one
-- warden.public_keys() and /.well-known/jwks.json publish. Internal to exchange_token.
CREATE OR REPLACE FUNCTION warden._sign_jwt(typ text, claims text) RETURNS text
LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'warden_sign_jwt';
REVOKE ALL ON FUNCTION warden._sign_jwt(text, text) FROM PUBLIC;

-- The RFC 8693 JWT access token (requested_token_type ...:jwt, RFC 9068 profile) for a task
-- token just issued: the same person, agent chain, scope and end, jti = the task token's id.
-- For resource servers that expect JWTs; warden-mcp's /mcp takes the task token, not this.
CREATE OR REPLACE FUNCTION warden._exchange_jwt(issued jsonb, token_id uuid, issuer text, audience text,
                                                prior_act jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  now_s bigint := pg_catalog.floor(extract(epoch FROM pg_catalog.now()))::bigint;
  claims jsonb;
BEGIN
  SELECT tt.token_id, tt.chain_id, tt.tools, tt.expires_at, tt.dpop_jkt, a.name AS agent, h.subject AS human INTO t
  FROM warden.tokens tt JOIN warden.agents a ON a.agent_id = tt.agent_id
  JOIN warden.chains c ON c.chain_id = tt.chain_id JOIN warden.humans h ON h.human_id = c.human_id
  WHERE tt.token_id = _exchange_jwt.token_id;
  claims := pg_catalog.jsonb_build_object(
    'iss', issuer, 'sub', t.human, 'aud', audience, 'client_id', t.agent,
    'iat', now_s, 'nbf', now_s, 'exp', extract(epoch FROM t.expires_at)::bigint,
    'jti', t.token_id, 'scope', pg_catalog.array_to_string(t.tools, ' '), 'chain', t.chain_id,
    'act', warden._act_chain(t.token_id::uuid, prior_act::jsonb));
  -- A token bound to a DPoP key stays bound as a JWT (RFC 9449 6.1: cnf.jkt), so that turning a
  -- sender-constrained task token into a JWT for another resource server does not make it a
  -- bearer token.
  IF t.dpop_jkt IS NOT NULL THEN
    claims := claims || pg_catalog.jsonb_build_object('cnf', pg_catalog.jsonb_build_object('jkt', t.dpop_jkt));
  END IF;
  RETURN (issued - 'token_id') || pg_catalog.jsonb_build_object(
    'access_token', warden._sign_jwt('at+jwt'::text, claims::text),
    'issued_token_type', 'urn:ietf:params:oauth:token-type:jwt',
    'token_type', CASE WHEN t.dpop_jkt IS NULL THEN 'Bearer' ELSE 'DPoP' END);
END
$$;
REVOKE ALL ON FUNCTION warden._exchange_jwt(jsonb, uuid, text, text, jsonb) FROM PUBLIC;

-- May this agent act on a subject token that names who may (RFC 8693 may_act)? A token
-- without may_act leaves it to policy; one with it admits only the actor it names (sub, and
-- iss when given), by the actor token's own sub or by the agent's name.
CREATE OR REPLACE FUNCTION warden._may_act_claim(may_act jsonb, actor_claims jsonb, agent text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
    WHEN may_act IS NULL THEN NULL
    WHEN pg_catalog.jsonb_typeof(may_act) <> 'object' OR pg_catalog.jsonb_typeof(may_act->'sub') IS DISTINCT FROM 'string'
      THEN 'malformed_may_act'
    WHEN (may_act->>'sub') IS DISTINCT FROM (actor_claims->>'sub') AND (may_act->>'sub') IS DISTINCT FROM agent
      THEN 'actor_not_in_may_act'
    WHEN may_act ? 'iss' AND (may_act->>'iss') IS DISTINCT FROM (actor_claims->>'iss')
      THEN 'actor_not_in_may_act'
  END
$$;
REVOKE ALL ON FUNCTION warden._may_act_claim(jsonb, jsonb, text) FROM PUBLIC;

-- /token for machine flows, after warden-mcp verified the signatures. request:
--   grant_type         urn:ietf:params:oauth:grant-type:token-exchange or ...:jwt-bearer
--   issuer             warden's issuer (audiences: it, or it + '/token')
--   expected_resource  warden's resource; resource (the client's, optional) must equal it
--   scope, expires_in  as the client sent them
--   subject            token exchange: a verified JWT {header, claims, kid, jwt} or {error}, or
--                      {task_token} (delegation)
--   actor              token exchange: the agent's verified assertion or JWT-SVID
--                      (jwt: the JWT as received; verified again here when its provider's
--                      keys are pinned, see warden._pinned_jwt)
--   assertion, client_id, client   jwt-bearer: the verified ID-JAG, the client_id sent and the
--                      verified client assertion (private_key_jwt)
--   requested_token_type  token exchange: ...:access_token (a task token, the default) or
--                      ...:jwt (a signed JWT access token with nested act claims, RFC 8693 4.1)
--   audience           the JWT's aud (default: warden's resource)
--   refused            {error, reason}: warden-mcp refused the request before asking (malformed,
--                      unsupported); only audited here
-- Returns the token response, or {error, error_description}; every outcome is audited.
CREATE OR REPLACE FUNCTION warden.exchange_token(request jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  gt text := request->>'grant_type';
  issuer text := request->>'issuer';
  expected_resource text := request->>'expected_resource';
  auds text[];
  grant_kind text;
  actor jsonb;
  a record;
  s record;
  ag record;
  p warden.identity_providers;
  c jsonb;
  person_jwt jsonb;  -- the person's JWT as the database sees it (warden._pinned_jwt)
  h record;
  subj text;
  tools text[];
  allowed_tools text[];
  lifetime interval := warden._oauth_access_lifetime();
  d record;
  state text;
  why text;
  detail jsonb;
  parent record;
  want_jwt boolean := request->>'requested_token_type' = 'urn:ietf:params:oauth:token-type:jwt';
  jwt_audience text := coalesce(request->>'audience', expected_resource);
  prior_act jsonb;
  issued jsonb;
BEGIN
  IF issuer IS NULL OR expected_resource IS NULL OR gt IS NULL THEN
    RAISE EXCEPTION 'exchange_token needs grant_type, issuer and expected_resource' USING ERRCODE = '22004';
  END IF;
  -- Refused at the gateway before a decision could be asked for: audited like any refusal.
  IF request ? 'refused' THEN
    RETURN warden._exchange_refused(
      CASE gt WHEN 'urn:ietf:params:oauth:grant-type:token-exchange' THEN 'token_exchange'
              WHEN 'urn:ietf:params:oauth:grant-type:jwt-bearer' THEN 'id_jag' ELSE 'unknown' END,
      CASE WHEN request->'refused'->>'error' IN ('invalid_request', 'invalid_grant', 'invalid_client', 'invalid_scope',
                                                  'invalid_target', 'invalid_dpop_proof')
           THEN request->'refused'->>'error' ELSE 'invalid_request' END,
      'gateway_' || coalesce(pg_catalog.substring(request->'refused'->>'reason', '^[a-z_]{1,60}$'), 'refused'),
      NULL::text, NULL::text, pg_catalog.jsonb_build_object('at', 'gateway'));
  END IF;
  auds := ARRAY[issuer, issuer || '/token'];
  IF gt = 'urn:ietf:params:oauth:grant-type:token-exchange' THEN
    grant_kind := CASE WHEN request->'subject' ? 'task_token' THEN 'delegation' ELSE 'token_exchange' END;
    actor := request->'actor';
  ELSIF gt = 'urn:ietf:params:oauth:grant-type:jwt-bearer' THEN
    grant_kind := 'id_jag';
    actor := request->'client';
  ELSE
    RAISE EXCEPTION 'exchange_token does not do grant_type "%"', pg_catalog.left(gt, 100) USING ERRCODE = '22023';
  END IF;
  detail := pg_catalog.jsonb_build_object(
    'actor_sub', pg_catalog.left(actor->'claims'->>'sub', 300), 'actor_kid', pg_catalog.left(actor->>'kid', 200),
    'subject_iss', pg_catalog.left(coalesce(request->'subject'->'claims', request->'assertion'->'claims')->>'iss', 300),
    'subject_sub', pg_catalog.left(coalesce(request->'subject'->'claims', request->'assertion'->'claims')->>'sub', 300));

  IF request ? 'resource' AND request->>'resource' IS DISTINCT FROM expected_resource THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_target', 'wrong_resource', NULL::text, NULL::text, detail);
  END IF;
  IF request ? 'expires_in' AND (pg_catalog.jsonb_typeof(request->'expires_in') <> 'number'
                                 OR (request->>'expires_in')::numeric NOT BETWEEN 1 AND 86400) THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_request', 'bad_expires_in', NULL::text, NULL::text, detail);
  END IF;
  IF request ? 'requested_token_type' AND (grant_kind = 'id_jag' OR (request->>'requested_token_type') NOT IN
       ('urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:jwt')) THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_request', 'unsupported_token_type', NULL::text, NULL::text, detail);
  END IF;
  IF request ? 'audience' AND (pg_catalog.jsonb_typeof(request->'audience') <> 'string'
                               OR pg_catalog.length(request->>'audience') NOT BETWEEN 1 AND 512) THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_target', 'bad_audience', NULL::text, NULL::text, detail);
  END IF;
  IF want_jwt THEN
    detail := detail || pg_catalog.jsonb_build_object('issued_token_type', 'urn:ietf:params:oauth:token-type:jwt',
                                                      'audience', jwt_audience);
  END IF;

  -- The agent: its own key (one use, <= 5 minutes) or a JWT-SVID of a trusted domain.
  IF actor->'claims'->>'sub' LIKE 'spiffe://%' AND grant_kind <> 'id_jag' THEN
    SELECT * INTO a FROM warden._check_jwt(actor, ARRAY['spiffe'], auds, 3600, false);
  ELSE
    SELECT * INTO a FROM warden._check_jwt(actor, ARRAY['agent'], auds, 300, true);
  END IF;
  IF a.refusal IS NOT NULL THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_client', 'actor_' || a.refusal, NULL::text, NULL::text, detail);
  END IF;
  SELECT aa.agent_id, aa.name, aa.status INTO ag FROM warden.agents aa WHERE aa.agent_id = a.id;
  IF ag.status <> 'active' THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_client', 'agent_' || ag.status, ag.name::text, NULL::text, detail);
  END IF;
  detail := detail || pg_catalog.jsonb_build_object('actor_kind', a.kind);

  IF request ? 'scope' THEN
    BEGIN
      tools := warden._oauth_scope_tools((request->>'scope')::text);
    EXCEPTION WHEN SQLSTATE 'WA302' THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_scope', 'malformed_scope', ag.name::text, NULL::text, detail);
    END;
  END IF;

  IF grant_kind = 'delegation' THEN
    SELECT * INTO parent FROM warden._verify_token((request->'subject'->>'task_token')::text);
    IF parent.reason IS NOT NULL THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'subject_' || parent.reason, ag.name::text, NULL::text, detail);
    END IF;
    detail := detail || pg_catalog.jsonb_build_object('parent_token', parent.token_id, 'from_agent', parent.agent);
    IF tools IS NULL THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_scope', 'scope_required', ag.name::text, parent.human::text, detail);
    END IF;
    IF a.kind = 'agent' AND NOT warden._use_jti((actor->'claims'->>'iss')::text, (actor->'claims'->>'jti')::text,
                                                (actor->'claims'->>'exp')::numeric) THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_client', 'actor_replayed', ag.name::text, parent.human::text, detail);
    END IF;
    BEGIN
      SELECT * INTO d FROM warden.delegate((request->'subject'->>'task_token')::text, ag.name::text, tools::text[],
                                           CASE WHEN request ? 'expires_in'
                                                THEN pg_catalog.make_interval(secs => (request->>'expires_in')::double precision) END);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, why = MESSAGE_TEXT;
      RETURN warden._exchange_refused(grant_kind,
                                      CASE state WHEN '42501' THEN 'invalid_scope' WHEN '55000' THEN 'invalid_client'
                                                 WHEN '22023' THEN 'invalid_grant' WHEN '28000' THEN 'invalid_grant'
                                                 WHEN '54000' THEN 'invalid_grant' ELSE 'invalid_request' END,
                                      CASE state WHEN '42501' THEN 'wider_than_parent' WHEN '55000' THEN 'agent_not_active'
                                                 WHEN '22023' THEN 'longer_than_parent' WHEN '54000' THEN 'too_deep'
                                                 ELSE 'delegation_refused' END,
                                      ag.name::text, parent.human::text, detail || pg_catalog.jsonb_build_object('message', why));
    END;
    PERFORM warden._event('token_exchanged'::text, parent.chain_id::uuid, d.token_id::uuid, NULL::uuid, ag.name::text,
                          parent.human::text,
                          (detail || pg_catalog.jsonb_build_object('grant', grant_kind,
                                                                   'act', warden._act_chain(d.token_id::uuid, NULL::jsonb)))::jsonb,
                          true::boolean, NULL::text, NULL::text, NULL::text);
    issued := pg_catalog.jsonb_build_object('access_token', d.token,
                                            'issued_token_type', 'urn:ietf:params:oauth:token-type:access_token',
                                            -- delegate() keeps the parent's DPoP binding.
                                            'token_type', CASE WHEN (SELECT tt.dpop_jkt FROM warden.tokens tt
                                                                     WHERE tt.token_id = d.token_id) IS NULL
                                                               THEN 'Bearer' ELSE 'DPoP' END,
                                            'expires_in', greatest(1, extract(epoch FROM d.expires_at - pg_catalog.now())::int),
                                            'scope', pg_catalog.array_to_string(tools, ' '));
    IF want_jwt THEN
      RETURN warden._exchange_jwt(issued::jsonb, d.token_id::uuid, issuer::text, jwt_audience::text, NULL::jsonb);
    END IF;
    RETURN issued;
  END IF;

  -- The person: an IdP's ID token or JWT access token (token exchange), or an ID-JAG.
  IF grant_kind = 'token_exchange' THEN
    person_jwt := warden._pinned_jwt(request->'subject');
    SELECT * INTO s FROM warden._check_jwt(person_jwt, ARRAY['idp'], NULL::text[], NULL::int, false);
    c := person_jwt->'claims';
    IF s.refusal IS NULL AND coalesce(person_jwt->'header'->>'typ', 'JWT') NOT IN ('JWT', 'at+jwt', 'application/at+jwt') THEN
      s.refusal := 'wrong_typ';
    END IF;
  ELSE
    person_jwt := warden._pinned_jwt(request->'assertion');
    SELECT * INTO s FROM warden._check_jwt(person_jwt, ARRAY['idp'], ARRAY[issuer], 300, true);
    c := person_jwt->'claims';
    IF s.refusal IS NULL AND (person_jwt->'header'->>'typ') IS DISTINCT FROM 'oauth-id-jag+jwt' THEN
      s.refusal := 'wrong_typ';
    END IF;
  END IF;
  IF s.refusal IS NOT NULL THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'subject_' || s.refusal, ag.name::text, NULL::text, detail);
  END IF;
  SELECT * INTO p FROM warden.identity_providers ip WHERE ip.idp_id = s.id;
  IF grant_kind = 'token_exchange' THEN
    -- Issued to warden's registration at the provider (or to warden itself), never to another app.
    IF NOT coalesce(CASE pg_catalog.jsonb_typeof(c->'aud')
                      WHEN 'string' THEN (c->>'aud') IN (p.client_id, p.audience, issuer, expected_resource)
                      WHEN 'array' THEN c->'aud' ?| ARRAY[p.client_id, p.audience, issuer, expected_resource] END, false) THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'subject_wrong_audience', ag.name::text, NULL::text, detail);
    END IF;
  ELSE
    IF (c->>'client_id') IS DISTINCT FROM (request->>'client_id') OR (actor->'claims'->>'sub') IS DISTINCT FROM (request->>'client_id') THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'wrong_client', ag.name::text, NULL::text, detail);
    END IF;
    IF NOT coalesce(CASE pg_catalog.jsonb_typeof(c->'resource')
                      WHEN 'string' THEN (c->>'resource') = expected_resource
                      WHEN 'array' THEN c->'resource' ? expected_resource END, false) THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_target', 'wrong_resource', ag.name::text, NULL::text, detail);
    END IF;
  END IF;
  -- The provider's admission rules (subject, verified email domain, groups) hold here exactly
  -- as at its browser sign-in: a token the provider issued to someone the sign-in would refuse
  -- starts nothing. So does one issued to another party (azp) of several audiences.
  why := warden._idp_admission(p, c);
  IF why IS NULL AND grant_kind = 'token_exchange' AND pg_catalog.jsonb_typeof(c->'aud') = 'array'
     AND pg_catalog.jsonb_array_length(c->'aud') > 1 AND c ? 'azp' AND (c->>'azp') IS DISTINCT FROM p.client_id THEN
    why := 'wrong_authorized_party';
  END IF;
  -- A person's token naming who may act for it (RFC 8693 may_act) admits that actor only.
  IF why IS NULL AND grant_kind = 'token_exchange' THEN
    why := warden._may_act_claim((c->'may_act')::jsonb, (actor->'claims')::jsonb, ag.name::text);
    IF why IS NOT NULL THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_grant', why, ag.name::text, NULL::text,
                                      detail || pg_catalog.jsonb_build_object('may_act', pg_catalog.left((c->'may_act')::text, 1000)));
    END IF;
  END IF;
  IF why IS NOT NULL THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'subject_' || why, ag.name::text, NULL::text, detail);
  END IF;
  subj := c->>(p.options->>'subject_claim');
  SELECT hh.human_id, hh.subject, hh.revoked_at INTO h FROM warden.humans hh WHERE hh.idp = p.idp_id AND hh.subject = subj;
  IF NOT FOUND THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'not_provisioned', ag.name::text, NULL::text, detail);
  END IF;
  IF h.revoked_at IS NOT NULL THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'human_revoked', ag.name::text, h.subject::text, detail);
  END IF;
  IF NOT warden._may_act(ag.agent_id::uuid, h.human_id::uuid, (c->(p.options->>'groups_claim'))::jsonb) THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'not_allowed_to_act', ag.name::text, h.subject::text, detail);
  END IF;
  -- An ID-JAG's scope bounds what the client may ask for.
  IF grant_kind = 'id_jag' AND pg_catalog.jsonb_typeof(c->'scope') = 'string' THEN
    BEGIN
      allowed_tools := warden._oauth_scope_tools((c->>'scope')::text);
    EXCEPTION WHEN SQLSTATE 'WA302' THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'malformed_assertion_scope', ag.name::text, h.subject::text, detail);
    END;
    IF tools IS NULL THEN
      tools := allowed_tools;
    ELSIF allowed_tools IS NOT NULL AND EXISTS (SELECT FROM pg_catalog.unnest(tools) t
                                                WHERE NOT EXISTS (SELECT FROM pg_catalog.unnest(allowed_tools) x
                                                                  WHERE warden._tool_covers(x::text, t::text))) THEN
      RETURN warden._exchange_refused(grant_kind, 'invalid_scope', 'wider_than_assertion', ag.name::text, h.subject::text, detail);
    END IF;
  END IF;
  tools := warden._oauth_grantable(ag.agent_id::uuid, tools::text[]);
  IF pg_catalog.cardinality(tools) = 0 THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_scope', 'no_granted_tools', ag.name::text, h.subject::text, detail);
  END IF;
  -- Single use, checked last so that a refused request does not burn a good assertion.
  IF grant_kind = 'id_jag' AND NOT warden._use_jti((c->>'iss')::text, (c->>'jti')::text, (c->>'exp')::numeric) THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_grant', 'assertion_replayed', ag.name::text, h.subject::text, detail);
  END IF;
  IF a.kind = 'agent' AND NOT warden._use_jti((actor->'claims'->>'iss')::text, (actor->'claims'->>'jti')::text,
                                              (actor->'claims'->>'exp')::numeric) THEN
    RETURN warden._exchange_refused(grant_kind, 'invalid_client', 'actor_replayed', ag.name::text, h.subject::text, detail);
  END IF;
  IF request ? 'expires_in' THEN
    lifetime := least(lifetime, pg_catalog.make_interval(secs => (request->>'expires_in')::double precision));
  END IF;
  -- A chain started from a person's token ends no later than that token: the provider's word
  -- that this person is signed in lasts that long. (An ID-JAG is a short-lived assertion for
  -- getting a token; the provider sets how long that token lives, by policy.)
  IF grant_kind = 'token_exchange' THEN
    lifetime := least(lifetime, pg_catalog.make_interval(
      secs => greatest(1, (c->>'exp')::numeric - extract(epoch FROM pg_catalog.now()))::double precision));
  END IF;
  -- The actor chain as the exchanged tokens named it: this agent, then whoever the person's
  -- token said already acts (its own act claim).
  IF grant_kind = 'token_exchange' AND pg_catalog.jsonb_typeof(c->'act') = 'object' AND pg_catalog.length((c->'act')::text) <= 4096 THEN
    prior_act := c->'act';
  END IF;
  issued := warden._exchange_chain(ag.agent_id::uuid, ag.name::text, h.human_id::uuid, h.subject::text, tools::text[],
                                   lifetime::interval,
                                   pg_catalog.format('%s for %s (%s)', ag.name, h.subject,
                                                     CASE grant_kind WHEN 'id_jag' THEN 'ID-JAG from ' || p.name
                                                          ELSE 'token exchange' END)::text,
                                   (detail || pg_catalog.jsonb_build_object(
                                      'grant', grant_kind, 'idp', p.name,
                                      'act', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('sub', ag.name, 'act', prior_act))))::jsonb);
  IF want_jwt THEN
    RETURN warden._exchange_jwt(issued::jsonb, (issued->>'token_id')::uuid, issuer::text, jwt_audience::text, prior_act::jsonb);
  END IF;
  RETURN issued - 'token_id';
END
$$;
REVOKE ALL ON FUNCTION warden.exchange_token(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.exchange_token(jsonb) TO warden_proxy;
