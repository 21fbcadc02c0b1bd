-- Identity in (issue 13), the administrator's side: identity providers, OAuth clients as
-- agents, approving self-registered agents, offboarding a person. The authorization server's
-- state machine that warden-mcp drives is in oauth.sql.
--
-- Where ID tokens are verified: in warden-mcp (JOSE signature with an algorithm allowlist:
-- asymmetric algorithms only, keys from warden.idp_keys, which it fetches; never "none", never
-- HS*), and warden.complete_sign_in re-checks every claim (iss, aud, nonce, exp, iat) so a
-- front-end bug cannot skip them. For an agent's sign-in the database takes the signature on
-- the gateway's word. For an approver's or console sign-in, which can approve calls or grant
-- scopes, it does not: it verifies the signature itself (the same JOSE code, linked into the
-- extension) with keys an administrator pinned (warden.pin_identity_provider_keys).

-- The C++ primitives (src/extension/vault.cpp, src/extension/oauth_functions.cpp). None is
-- granted to any role.
CREATE OR REPLACE FUNCTION warden._vault_wrap_sealed_for(purpose text, row_key text, sealed bytea) RETURNS bytea
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_vault_wrap_sealed_for';
REVOKE ALL ON FUNCTION warden._vault_wrap_sealed_for(text, text, bytea) FROM PUBLIC;
CREATE OR REPLACE FUNCTION warden._vault_wrap_text(purpose text, row_key text, plaintext text) RETURNS bytea
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_vault_wrap_text';
REVOKE ALL ON FUNCTION warden._vault_wrap_text(text, text, text) FROM PUBLIC;
CREATE OR REPLACE FUNCTION warden._vault_open_text(purpose text, row_key text, wrapped bytea) RETURNS text
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_vault_open_text';
REVOKE ALL ON FUNCTION warden._vault_open_text(text, text, bytea) FROM PUBLIC;
CREATE OR REPLACE FUNCTION warden._random_secret(bytes int) RETURNS text
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_random_secret';
REVOKE ALL ON FUNCTION warden._random_secret(int) FROM PUBLIC;
CREATE OR REPLACE FUNCTION warden._equal_in_constant_time(a bytea, b bytea) RETURNS boolean
LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'warden_equal_in_constant_time';
REVOKE ALL ON FUNCTION warden._equal_in_constant_time(bytea, bytea) FROM PUBLIC;
-- {"claims": ...} when the ID token's signature verifies with a key of the JWKS (text), else
-- {"error": reason}; claims unchecked (src/extension/id_token_functions.cpp).
CREATE OR REPLACE FUNCTION warden._verify_id_token_signature(id_token text, jwks text) RETURNS text
LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'warden_verify_id_token_signature';
REVOKE ALL ON FUNCTION warden._verify_id_token_signature(text, text) FROM PUBLIC;
-- {"header", "claims", "kid"} when any JWT's signature verifies with a key of the JWKS (text;
-- the caller checks typ and claims), else {"error": reason}.
CREATE OR REPLACE FUNCTION warden._verify_jwt_signature(jwt text, jwks text) RETURNS text
LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'warden_verify_jwt_signature';
REVOKE ALL ON FUNCTION warden._verify_jwt_signature(text, text) FROM PUBLIC;
-- The public members of a JWK warden can verify with (text), or NULL for any other JWK.
CREATE OR REPLACE FUNCTION warden._verification_jwk(jwk text) RETURNS text
LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'warden_verification_jwk';
REVOKE ALL ON FUNCTION warden._verification_jwk(text) FROM PUBLIC;

-- SHA-256 of a presented secret: what the tables keep instead of the secret.
CREATE OR REPLACE FUNCTION warden._secret_hash(secret text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.sha256(pg_catalog.convert_to(secret, 'UTF8')) $$;
REVOKE ALL ON FUNCTION warden._secret_hash(text) FROM PUBLIC;

-- base64url without padding (RFC 7636's BASE64URL-ENCODE).
CREATE OR REPLACE FUNCTION warden._base64url(bytes bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.rtrim(pg_catalog.translate(pg_catalog.encode(bytes, 'base64'), E'+/\n', '-_'), '=')
$$;
REVOKE ALL ON FUNCTION warden._base64url(bytea) FROM PUBLIC;

-- True for an absolute https URL, or an http URL on the loopback interface (tests, native
-- apps), with no fragment, no user info, no white space or control characters.
CREATE OR REPLACE FUNCTION warden._is_safe_url(url text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT url IS NOT NULL AND pg_catalog.length(url) <= 2048
     AND url !~ '[[:space:][:cntrl:]#]'
     AND (url ~ '^https://[^/?@]+(/[^?]*)?(\?.*)?$'
          OR url ~ '^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?(/[^?]*)?(\?.*)?$')
$$;
REVOKE ALL ON FUNCTION warden._is_safe_url(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden._check_redirect_uris(uris text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  u text;
BEGIN
  IF uris IS NULL OR pg_catalog.cardinality(uris) = 0 OR pg_catalog.cardinality(uris) > 20 THEN
    RAISE EXCEPTION 'invalid_redirect_uri: a client needs 1 to 20 redirect URIs'
      USING ERRCODE = 'WR400', HINT = 'For example ARRAY[''https://app.example.com/callback''].';
  END IF;
  FOREACH u IN ARRAY uris LOOP
    IF NOT warden._is_safe_url(u::text) THEN
      RAISE EXCEPTION 'invalid_redirect_uri: "%" is not an absolute https URL (or http on loopback) without a fragment',
        pg_catalog.left(u, 200)
        USING ERRCODE = 'WR400', HINT = 'Redirect URIs are compared exactly; register each one in full.';
    END IF;
  END LOOP;
END
$$;
REVOKE ALL ON FUNCTION warden._check_redirect_uris(text[]) FROM PUBLIC;

-- The provider by name, or a clear error.
CREATE OR REPLACE FUNCTION warden._identity_provider(idp text) RETURNS warden.identity_providers
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
BEGIN
  SELECT * INTO p FROM warden.identity_providers ip WHERE ip.name = _identity_provider.idp;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown identity provider "%"', idp
      USING ERRCODE = '42704', HINT = 'Add it with warden.add_identity_provider(name, issuer, client_id).';
  END IF;
  RETURN p;
END
$$;
REVOKE ALL ON FUNCTION warden._identity_provider(text) FROM PUBLIC;

-- Options: subject_claim (default 'sub'), email_claim, groups_claim (claim names),
-- allowed_domains, allowed_groups (arrays of strings; when set, a person must match one),
-- jit (create humans on first sign-in; default false). Unknown keys are refused.
CREATE OR REPLACE FUNCTION warden.add_identity_provider(name text, issuer text, client_id text,
                                                        audience text DEFAULT NULL, options jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  o jsonb := coalesce(options, '{}');
  k text;
  id uuid;
BEGIN
  IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' THEN
    RAISE EXCEPTION 'invalid identity provider name "%"', name
      USING ERRCODE = '22023', HINT = 'Use 1 to 64 letters, digits, ".", "_" or "-", e.g. ''corp-okta''.';
  END IF;
  -- OIDC issuers have no query and no fragment; http only on loopback (test providers).
  IF NOT warden._is_safe_url(issuer::text) OR strpos(issuer, '?') > 0 THEN
    RAISE EXCEPTION 'issuer "%" is not an https URL', issuer
      USING ERRCODE = '22023', HINT = 'Pass the provider''s issuer exactly as its discovery document states it, e.g. ''https://login.example.com''.';
  END IF;
  IF client_id IS NULL OR btrim(client_id) = '' THEN
    RAISE EXCEPTION 'identity provider "%" needs the client_id warden was registered with', name
      USING ERRCODE = '22004';
  END IF;
  IF jsonb_typeof(o) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023';
  END IF;
  FOR k IN SELECT jsonb_object_keys(o) LOOP
    IF k NOT IN ('subject_claim', 'email_claim', 'groups_claim', 'groups_scope', 'allowed_domains', 'allowed_groups', 'jit') THEN
      RAISE EXCEPTION 'unknown identity provider option "%"', k
        USING ERRCODE = '22023',
              HINT = 'Options are subject_claim, email_claim, groups_claim, groups_scope, allowed_domains, allowed_groups and jit.';
    END IF;
    -- The scope a console sign-in asks for besides openid (one scope token, RFC 6749 3.3), or "".
    IF k = 'groups_scope' AND (jsonb_typeof(o->k) <> 'string' OR (o->>k) !~ '^[A-Za-z0-9_.:/-]{0,128}$') THEN
      RAISE EXCEPTION 'option "groups_scope" must be one scope name, or "" for none' USING ERRCODE = '22023',
        HINT = 'For example "groups".';
    END IF;
    IF k IN ('subject_claim', 'email_claim', 'groups_claim')
       AND (jsonb_typeof(o->k) <> 'string' OR (o->>k) !~ '^[A-Za-z0-9_.:/-]{1,128}$') THEN
      RAISE EXCEPTION 'option "%" must name a claim', k USING ERRCODE = '22023', HINT = 'For example "email".';
    END IF;
    IF k IN ('allowed_domains', 'allowed_groups')
       AND (jsonb_typeof(o->k) <> 'array' OR jsonb_array_length(o->k) = 0
            OR EXISTS (SELECT FROM jsonb_array_elements(o->k) e WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' = '')) THEN
      RAISE EXCEPTION 'option "%" must be a non-empty array of strings', k
        USING ERRCODE = '22023', HINT = 'For example ["example.com"].';
    END IF;
    IF k = 'jit' AND jsonb_typeof(o->k) <> 'boolean' THEN
      RAISE EXCEPTION 'option "jit" must be true or false' USING ERRCODE = '22023';
    END IF;
  END LOOP;
  IF o ? 'allowed_domains' AND NOT o ? 'email_claim' THEN
    RAISE EXCEPTION 'allowed_domains needs email_claim' USING ERRCODE = '22023', HINT = 'For example {"email_claim": "email", "allowed_domains": ["example.com"]}.';
  END IF;
  IF o ? 'allowed_groups' AND NOT o ? 'groups_claim' THEN
    RAISE EXCEPTION 'allowed_groups needs groups_claim' USING ERRCODE = '22023', HINT = 'For example {"groups_claim": "groups", "allowed_groups": ["engineering"]}.';
  END IF;
  o := jsonb_build_object('subject_claim', 'sub', 'jit', false) || o;
  INSERT INTO warden.identity_providers (name, issuer, client_id, audience, options)
  VALUES (name, issuer, client_id, audience, o)
  RETURNING idp_id INTO id;
  PERFORM warden._event('identity_provider_added'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('idp', name, 'issuer', issuer, 'client_id', client_id,
                                           'audience', audience, 'options', o),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'an identity provider named "%" or with issuer "%" already exists', name, issuer
    USING ERRCODE = '23505', HINT = 'Names and issuers are unique.';
END
$$;
REVOKE ALL ON FUNCTION warden.add_identity_provider(text, text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.add_identity_provider(text, text, text, text, jsonb) TO warden_admin;

-- The provider's client secret, sealed to warden.vault_public_key() like warden.put_secret
-- (warden-mcp secret put --idp NAME). Returns the new version; older versions are deleted.
CREATE OR REPLACE FUNCTION warden.put_idp_secret(idp text, sealed bytea)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  v int;
BEGIN
  IF idp IS NULL OR sealed IS NULL THEN
    RAISE EXCEPTION 'put_idp_secret needs an identity provider and a sealed secret' USING ERRCODE = '22004';
  END IF;
  p := warden._identity_provider(idp::text);
  PERFORM FROM warden.identity_providers ip WHERE ip.idp_id = p.idp_id FOR UPDATE;
  SELECT coalesce(max(s.version), 0) + 1 INTO v FROM warden.idp_secrets s WHERE s.idp_id = p.idp_id;
  INSERT INTO warden.idp_secrets (idp_id, version, wrapped)
  VALUES (p.idp_id, v, warden._vault_wrap_sealed_for('idp-secret'::text, (p.idp_id || ':' || v)::text, sealed::bytea));
  DELETE FROM warden.idp_secrets s WHERE s.idp_id = p.idp_id AND s.version < v;
  PERFORM warden._event('secret_stored'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('idp', p.name, 'version', v), NULL::boolean, NULL::text,
                        NULL::text, NULL::text);
  RETURN v;
END
$$;
REVOKE ALL ON FUNCTION warden.put_idp_secret(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.put_idp_secret(text, bytea) TO warden_admin;

-- For warden-mcp only: the client secret it authenticates with at the provider's token
-- endpoint. NULL when none is stored (a public client at the provider).
CREATE OR REPLACE FUNCTION warden.idp_client_secret(idp text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  s record;
BEGIN
  p := warden._identity_provider(idp::text);
  SELECT ss.version, ss.wrapped INTO s FROM warden.idp_secrets ss WHERE ss.idp_id = p.idp_id
  ORDER BY ss.version DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  RETURN warden._vault_open_text('idp-secret'::text, (p.idp_id || ':' || s.version)::text, s.wrapped::bytea);
END
$$;
REVOKE ALL ON FUNCTION warden.idp_client_secret(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.idp_client_secret(text) TO warden_proxy;

-- For warden-mcp: stores the discovery document and JWKS it fetched. The discovery document
-- must name the configured issuer exactly (OIDC Discovery 4.3). Only asymmetric signing keys
-- are kept (kty RSA, EC or OKP; not use "enc"; never alg "none" or HS*): an HMAC key could let
-- a public key be used as a shared secret. A key without "kid" is stored under "jwk:" and the
-- hex SHA-256 of its JSON. Keys missing from this JWKS are retired, not deleted; a retired key
-- that reappears is live again. Returns {keys, added, retired, skipped}.
CREATE OR REPLACE FUNCTION warden.store_idp_metadata(idp text, discovery jsonb, jwks jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  k jsonb;
  kids text[] := '{}';
  skipped int := 0;
  added int := 0;
  retired int;
  live int;
  kid text;
  inserted boolean;
BEGIN
  p := warden._identity_provider(idp::text);
  IF discovery IS NULL OR jsonb_typeof(discovery) <> 'object' THEN
    RAISE EXCEPTION 'the discovery document must be a JSON object' USING ERRCODE = '22023';
  END IF;
  IF (discovery->>'issuer') IS DISTINCT FROM p.issuer THEN
    RAISE EXCEPTION 'the discovery document names issuer "%", not the configured "%"',
      pg_catalog.left(discovery->>'issuer', 200), p.issuer
      USING ERRCODE = '22023', HINT = 'OIDC Discovery requires them to be identical; check the configured issuer.';
  END IF;
  IF jwks IS NULL OR jsonb_typeof(jwks->'keys') IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'the JWKS must be a JSON object with a "keys" array' USING ERRCODE = '22023';
  END IF;
  PERFORM FROM warden.identity_providers ip WHERE ip.idp_id = p.idp_id FOR UPDATE;
  FOR k IN SELECT e FROM jsonb_array_elements(jwks->'keys') e LOOP
    IF jsonb_typeof(k) <> 'object' OR coalesce(k->>'kty', '') NOT IN ('RSA', 'EC', 'OKP')
       OR coalesce(k->>'use', 'sig') <> 'sig' OR coalesce(k->>'alg', '') = 'none' OR coalesce(k->>'alg', '') LIKE 'HS%'
       OR k ? 'd' THEN  -- a private key published by mistake is not a verification key
      skipped := skipped + 1;
      CONTINUE;
    END IF;
    kid := coalesce(k->>'kid', 'jwk:' || encode(sha256(convert_to(k::text, 'UTF8')), 'hex'));
    IF kid = ANY (kids) THEN
      skipped := skipped + 1;
      CONTINUE;
    END IF;
    kids := kids || kid;
    INSERT INTO warden.idp_keys (idp_id, kid, kty, alg, jwk)
    VALUES (p.idp_id, kid, k->>'kty', k->>'alg', k)
    ON CONFLICT ON CONSTRAINT idp_keys_pkey DO UPDATE
      SET kty = excluded.kty, alg = excluded.alg, jwk = excluded.jwk, retired_at = NULL
    RETURNING (idp_keys.xmax = 0) INTO inserted;
    IF inserted THEN
      added := added + 1;
    END IF;
  END LOOP;
  UPDATE warden.identity_providers ip SET discovery = store_idp_metadata.discovery, fetched_at = now()
  WHERE ip.idp_id = p.idp_id;
  WITH r AS (UPDATE warden.idp_keys ik SET retired_at = now()
             WHERE ik.idp_id = p.idp_id AND ik.retired_at IS NULL AND NOT ik.kid = ANY (kids) RETURNING 1)
  SELECT count(*) INTO retired FROM r;
  SELECT count(*) INTO live FROM warden.idp_keys ik WHERE ik.idp_id = p.idp_id AND ik.retired_at IS NULL;
  IF added > 0 OR retired > 0 THEN
    PERFORM warden._event('idp_keys_changed'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                          jsonb_build_object('idp', p.name, 'added', added, 'retired', retired, 'keys', live),
                          NULL::boolean, NULL::text, NULL::text, NULL::text);
  END IF;
  RETURN jsonb_build_object('keys', live, 'added', added, 'retired', retired, 'skipped', skipped);
END
$$;
REVOKE ALL ON FUNCTION warden.store_idp_metadata(text, jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.store_idp_metadata(text, jsonb, jsonb) TO warden_proxy;

-- For an administrator: pins the keys a provider signs console and approver sign-ins with (the
-- JWKS at its jwks_uri, fetched by the admin: curl ... | psql). The database verifies those ID
-- tokens itself against these keys only, so a gateway host that lies about a sign-in (or stores
-- keys of its own with warden.store_idp_metadata) opens no console or approver session. The
-- JWKS replaces the pinned set; keys are kept as store_idp_metadata keeps them (asymmetric
-- signing keys only; no private key). NULL or {"keys": []} unpins: then the provider opens no
-- console or approver session at all. When the provider rotates its keys, pin the new JWKS
-- (sign-ins with an unpinned key are refused as unknown_kid). Only keys warden can verify with
-- are kept (warden._verification_jwk: RSA 2048 to 8192 bits, EC P-256, Ed25519, for signatures,
-- no private member), and of each only its public members; others are skipped. Audited as
-- idp_keys_pinned. Returns {pinned, skipped, kids}.
CREATE OR REPLACE FUNCTION warden.pin_identity_provider_keys(idp text, jwks jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  k jsonb;
  kid text;
  kids text[] := '{}';
  skipped int := 0;
BEGIN
  p := warden._identity_provider(idp::text);
  IF jwks IS NOT NULL AND (jsonb_typeof(jwks) <> 'object' OR jsonb_typeof(jwks->'keys') IS DISTINCT FROM 'array') THEN
    RAISE EXCEPTION 'the JWKS must be a JSON object with a "keys" array' USING ERRCODE = '22023',
      HINT = 'Pass the document at the provider''s jwks_uri, or NULL to unpin.';
  END IF;
  IF jwks IS NOT NULL AND (jsonb_array_length(jwks->'keys') > 64 OR length(jwks::text) > 262144) THEN
    RAISE EXCEPTION 'a JWKS of more than 64 keys or 256 KiB is not pinned' USING ERRCODE = '22023';
  END IF;
  PERFORM FROM warden.identity_providers ip WHERE ip.idp_id = p.idp_id FOR UPDATE;
  DELETE FROM warden.idp_pinned_keys pk WHERE pk.idp_id = p.idp_id;
  FOR k IN SELECT e FROM jsonb_array_elements(coalesce(jwks->'keys', '[]')) e LOOP
    k := warden._verification_jwk(k::text)::jsonb;
    IF k IS NULL OR (k ? 'kid' AND jsonb_typeof(k->'kid') <> 'string') THEN
      skipped := skipped + 1;
      CONTINUE;
    END IF;
    kid := coalesce(k->>'kid', 'jwk:' || encode(sha256(convert_to(k::text, 'UTF8')), 'hex'));
    IF kid = ANY (kids) THEN
      skipped := skipped + 1;
      CONTINUE;
    END IF;
    kids := kids || kid;
    INSERT INTO warden.idp_pinned_keys (idp_id, kid, jwk, pinned_by) VALUES (p.idp_id, kid, k, session_user);
  END LOOP;
  IF jwks IS NOT NULL AND jsonb_array_length(jwks->'keys') > 0 AND cardinality(kids) = 0 THEN
    RAISE EXCEPTION 'the JWKS holds no signing key warden can verify with' USING ERRCODE = '22023',
      HINT = 'Keys must be public signing keys: RSA of 2048 to 8192 bits, EC P-256 or Ed25519.';
  END IF;
  PERFORM warden._event('idp_keys_pinned'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('idp', p.name, 'kids', to_jsonb(kids), 'skipped', skipped),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('pinned', cardinality(kids), 'skipped', skipped, 'kids', to_jsonb(kids));
END
$$;
REVOKE ALL ON FUNCTION warden.pin_identity_provider_keys(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.pin_identity_provider_keys(text, jsonb) TO warden_admin;

-- The pinned keys of a provider as a JWKS (text, for warden._verify_id_token_signature); NULL
-- when none are pinned.
CREATE OR REPLACE FUNCTION warden._pinned_jwks(idp_id uuid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_build_object('keys', jsonb_agg(pk.jwk ORDER BY pk.kid))::text
  FROM warden.idp_pinned_keys pk WHERE pk.idp_id = $1
  HAVING count(*) > 0
$$;
REVOKE ALL ON FUNCTION warden._pinned_jwks(uuid) FROM PUBLIC;

-- An ID token verified by the database itself with the provider's pinned keys: {claims} (not
-- yet checked: warden._id_token_refusal does that), or {refusal}: keys_not_pinned, or
-- id_token_not_verified_by_database: why (malformed, unknown_kid, bad_signature, ...).
CREATE OR REPLACE FUNCTION warden._pinned_id_token_claims(p warden.identity_providers, id_token text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pinned text := warden._pinned_jwks(p.idp_id);
  verified jsonb;
BEGIN
  IF pinned IS NULL THEN
    RETURN jsonb_build_object('refusal', 'keys_not_pinned');
  ELSIF id_token IS NULL THEN
    RETURN jsonb_build_object('refusal', 'id_token_not_verified_by_database: malformed');
  END IF;
  verified := warden._verify_id_token_signature(id_token::text, pinned::text)::jsonb;
  IF verified ? 'error' THEN
    RETURN jsonb_build_object('refusal', 'id_token_not_verified_by_database: ' || (verified->>'error'));
  END IF;
  RETURN verified;
END
$$;
REVOKE ALL ON FUNCTION warden._pinned_id_token_claims(warden.identity_providers, text) FROM PUBLIC;

-- For warden-mcp: what it needs to run the OIDC leg with a provider: {name, issuer,
-- client_id, audience, options, discovery, keys (live JWKs), fetched_at, has_secret}.
CREATE OR REPLACE FUNCTION warden.identity_provider(idp text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
BEGIN
  p := warden._identity_provider(idp::text);
  RETURN jsonb_build_object(
    'name', p.name, 'issuer', p.issuer, 'client_id', p.client_id, 'audience', p.audience,
    'options', p.options, 'discovery', p.discovery, 'fetched_at', p.fetched_at,
    'keys', coalesce((SELECT jsonb_agg(ik.jwk ORDER BY ik.first_seen, ik.kid) FROM warden.idp_keys ik
                      WHERE ik.idp_id = p.idp_id AND ik.retired_at IS NULL), '[]'),
    'has_secret', EXISTS (SELECT FROM warden.idp_secrets s WHERE s.idp_id = p.idp_id));
END
$$;
REVOKE ALL ON FUNCTION warden.identity_provider(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.identity_provider(text) TO warden_admin, warden_proxy;

-- Links an OAuth client to an agent (an admin-registered client; the agent keeps its status).
-- Registering the same client_id again for the same agent replaces its redirect URIs.
-- Returns the agent's id.
CREATE OR REPLACE FUNCTION warden.register_client(agent text, client_id text, redirect_uris text[])
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  owner uuid;
BEGIN
  IF agent IS NULL OR client_id IS NULL OR btrim(client_id) = '' THEN
    RAISE EXCEPTION 'register_client needs an agent and a client_id' USING ERRCODE = '22004';
  END IF;
  IF client_id ~ '[[:space:][:cntrl:]]' OR length(client_id) > 2048 THEN
    RAISE EXCEPTION 'invalid client_id' USING ERRCODE = '22023', HINT = 'A client_id has no white space or control characters.';
  END IF;
  SELECT aa.agent_id, aa.name INTO a FROM warden.agents aa WHERE aa.name = register_client.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'Register it with warden.add_agent(name, owner).';
  END IF;
  BEGIN
    PERFORM warden._check_redirect_uris(redirect_uris::text[]);
  EXCEPTION WHEN SQLSTATE 'WR400' THEN
    RAISE EXCEPTION '%', substr(SQLERRM, length('invalid_redirect_uri: ') + 1)
      USING ERRCODE = '22023', HINT = 'Redirect URIs are absolute https URLs (http only on loopback) without a fragment.';
  END;
  SELECT oc.agent_id INTO owner FROM warden.oauth_clients oc WHERE oc.client_id = register_client.client_id FOR UPDATE;
  IF FOUND AND owner <> a.agent_id THEN
    RAISE EXCEPTION 'client "%" belongs to another agent', client_id
      USING ERRCODE = '23505', HINT = 'A client is one agent; choose another client_id.';
  END IF;
  INSERT INTO warden.oauth_clients (client_id, agent_id, registration, redirect_uris)
  VALUES (client_id, a.agent_id, 'admin', redirect_uris)
  ON CONFLICT ON CONSTRAINT oauth_clients_pkey DO UPDATE SET redirect_uris = excluded.redirect_uris, updated_at = now();
  PERFORM warden._event('client_registered'::text, NULL::uuid, NULL::uuid, NULL::uuid, a.name::text, NULL::text,
                        jsonb_build_object('client_id', client_id, 'redirect_uris', to_jsonb(redirect_uris),
                                           'registration', 'admin'),
                        NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN a.agent_id;
END
$$;
REVOKE ALL ON FUNCTION warden.register_client(text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.register_client(text, text, text[]) TO warden_admin;

-- A pending agent (one that registered itself as an OAuth client) becomes active. It still
-- has no grants: approving says who it is, grants say what it may do.
CREATE OR REPLACE FUNCTION warden.approve_agent(agent text, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st text;
BEGIN
  IF agent IS NULL THEN
    RAISE EXCEPTION 'agent must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT aa.status INTO st FROM warden.agents aa WHERE aa.name = approve_agent.agent FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  IF st = 'active' THEN
    RAISE NOTICE 'agent "%" is already active', agent;
    RETURN;
  END IF;
  IF st <> 'pending' THEN
    RAISE EXCEPTION 'agent "%" is %, not pending', agent, st
      USING ERRCODE = '55000', HINT = 'A revoked agent comes back with warden.reinstate_agent(agent, reason).';
  END IF;
  UPDATE warden.agents aa SET status = 'active' WHERE aa.name = approve_agent.agent;
  PERFORM warden._event('agent_approved'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                        NULL::jsonb, NULL::boolean, reason::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.approve_agent(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.approve_agent(text, text) TO warden_admin;

-- Offboarding, in one transaction: every live chain the person originated is revoked (with
-- warden.revoke_chain, so calls in flight are aborted through the same notice), their refresh
-- tokens end, codes not yet redeemed die, and the person can start no chain and sign in no
-- more until warden.reinstate_human. Reports what it killed.
CREATE OR REPLACE FUNCTION warden.revoke_human(subject text, reason text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h record;
  c uuid;
  r jsonb;
  chains uuid[] := '{}';
  ids jsonb := '[]';
  refresh int;
  console int;
BEGIN
  IF subject IS NULL THEN
    RAISE EXCEPTION 'subject must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'revoking a human needs a reason' USING ERRCODE = '22004',
      HINT = 'Say why, e.g. ''left the company''; the reason is kept in the audit trail.';
  END IF;
  -- Revocation never waits on a lock another role can hold: FOR NO KEY UPDATE does not wait for
  -- the KEY SHARE lock a chain being started for this person holds (that chain is refused at
  -- first use: authorize and _verify_token check humans.revoked_at), and refresh tokens or
  -- sign-ins locked by a flow in progress are skipped (each re-checks the person when used).
  -- A lesser login holding the person's row (the gateway applying a provider's security event
  -- in a transaction it keeps open) is ended after 200 ms (warden._lock_for_revocation).
  PERFORM warden._lock_for_revocation('warden.humans'::regclass, 'human_id'::text,
                                      ARRAY(SELECT hh.human_id FROM warden.humans hh WHERE hh.subject = revoke_human.subject)::uuid[]);
  SELECT hh.human_id, hh.revoked_at, hh.idp INTO h FROM warden.humans hh WHERE hh.subject = revoke_human.subject
  FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', subject USING ERRCODE = '42704';
  END IF;
  UPDATE warden.humans hh SET revoked_at = coalesce(hh.revoked_at, now()), revoked_reason = revoke_human.reason
  WHERE hh.human_id = h.human_id;
  FOR c IN SELECT cc.chain_id FROM warden.chains cc
           WHERE cc.human_id = h.human_id AND cc.revoked_at IS NULL ORDER BY cc.created_at LOOP
    r := warden.revoke_chain(c::uuid, reason::text);
    chains := chains || c;
    ids := ids || (r->'token_ids');
  END LOOP;
  WITH x AS (UPDATE warden.oauth_refresh_tokens rt SET revoked_at = now()
             WHERE rt.refresh_id IN (
               SELECT r2.refresh_id FROM warden.oauth_refresh_tokens r2
               JOIN warden.chains cc ON cc.chain_id = r2.chain_id
               WHERE cc.human_id = h.human_id AND r2.revoked_at IS NULL AND r2.used_at IS NULL
               FOR UPDATE OF r2 SKIP LOCKED)
             RETURNING 1)
  SELECT count(*) INTO refresh FROM x;
  -- Their console sessions end (one locked by a sign-out in progress is skipped: the console
  -- refuses a revoked person's session at its next use anyway, warden._console_user).
  WITH x AS (DELETE FROM warden.console_sessions cs
             WHERE cs.session_hash IN (
               SELECT c2.session_hash FROM warden.console_sessions c2
               WHERE c2.subject = revoke_human.subject AND (c2.idp_id = h.idp OR h.idp IS NULL)
               FOR UPDATE OF c2 SKIP LOCKED)
             RETURNING 1)
  SELECT count(*) INTO console FROM x;
  UPDATE warden.oauth_requests rq SET expires_at = least(rq.expires_at, now()), code_expires_at = least(rq.code_expires_at, now())
  WHERE rq.request_id IN (SELECT q2.request_id FROM warden.oauth_requests q2
                          WHERE q2.human_id = h.human_id AND q2.redeemed_at IS NULL
                          FOR UPDATE OF q2 SKIP LOCKED);
  PERFORM warden._event('human_revoked'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, subject::text,
                        jsonb_build_object('chains', cardinality(chains), 'tokens', jsonb_array_length(ids),
                                           'refresh_tokens', refresh, 'console_sessions', console),
                        NULL::boolean, reason::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('human', subject, 'chains', cardinality(chains), 'chain_ids', to_jsonb(chains),
                            'tokens', jsonb_array_length(ids), 'token_ids', ids, 'refresh_tokens', refresh,
                            'console_sessions', console,
                            'transaction', txid_current());
END
$$;
REVOKE ALL ON FUNCTION warden.revoke_human(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.revoke_human(text, text) TO warden_admin;

-- Undoes the block of warden.revoke_human: the person may sign in and get new chains again.
-- Revoked chains stay revoked.
CREATE OR REPLACE FUNCTION warden.reinstate_human(subject text, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF subject IS NULL OR reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'reinstating a human needs the subject and a reason' USING ERRCODE = '22004';
  END IF;
  UPDATE warden.humans hh SET revoked_at = NULL, revoked_reason = NULL WHERE hh.subject = reinstate_human.subject;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', subject USING ERRCODE = '42704';
  END IF;
  PERFORM warden._event('human_reinstated'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, subject::text,
                        NULL::jsonb, NULL::boolean, reason::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.reinstate_human(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.reinstate_human(text, text) TO warden_admin;

-- Links a human added by hand (warden.add_human) to the provider that proves them, so that
-- they can sign in through a provider without jit. The human's subject must be the provider's
-- subject claim. A human already linked to another provider is not moved.
CREATE OR REPLACE FUNCTION warden.link_human(subject text, idp text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  current uuid;
BEGIN
  IF subject IS NULL OR idp IS NULL THEN
    RAISE EXCEPTION 'link_human needs a subject and an identity provider' USING ERRCODE = '22004';
  END IF;
  p := warden._identity_provider(idp::text);
  SELECT hh.idp INTO current FROM warden.humans hh WHERE hh.subject = link_human.subject FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', subject USING ERRCODE = '42704', HINT = 'Register it with warden.add_human(subject).';
  END IF;
  IF current = p.idp_id THEN
    RETURN;
  END IF;
  IF current IS NOT NULL THEN
    RAISE EXCEPTION 'human "%" is proven by another identity provider', subject
      USING ERRCODE = '55000', HINT = 'A person signs in through one provider; add a separate human for the other.';
  END IF;
  UPDATE warden.humans hh SET idp = p.idp_id WHERE hh.subject = link_human.subject;
  PERFORM warden._event('human_linked'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, subject::text,
                        jsonb_build_object('idp', p.name), NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.link_human(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.link_human(text, text) TO warden_admin;
