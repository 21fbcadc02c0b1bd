-- warden 0.1.0: keys

-- Token keys (v4.local) and signing keys (Ed25519), versioned. The secret half is sealed under
-- a subkey of the root key and bound to its key id, so neither a table read nor pg_dump nor a
-- copied row reveals it. Ids are PASERK ids (k4.lid / k4.pid), safe to publish.
CREATE TABLE warden.keys (
  key_id        text PRIMARY KEY,
  purpose       text NOT NULL CHECK (purpose IN ('local', 'public')),
  version       int NOT NULL,
  public_key    bytea,
  sealed        bytea,                  -- wiped when the key retires
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  superseded_at timestamptz,            -- a newer key became current; this one only verifies
  retired_at    timestamptz,            -- verifies nothing any more
  UNIQUE (purpose, version),
  CHECK ((purpose = 'public') = (public_key IS NOT NULL)),
  CHECK (retired_at IS NOT NULL OR sealed IS NOT NULL)
);
CREATE UNIQUE INDEX keys_one_current ON warden.keys (purpose) WHERE superseded_at IS NULL;

CREATE FUNCTION warden._new_key(purpose text, OUT key_id text, OUT public_key bytea, OUT sealed bytea)
LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'warden_new_key';

CREATE FUNCTION warden._mint_task_token(key_id text, sealed bytea, token_id uuid, chain_id uuid,
                                        agent_id uuid, parent_id uuid, not_before timestamptz,
                                        expires_at timestamptz)
RETURNS text LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_mint_task_token';

-- Verifies a token string (structure, key, tag, validity window) without revocation state.
CREATE FUNCTION warden._open_token(token text, OUT reason text, OUT token_id uuid, OUT chain_id uuid,
                                   OUT agent_id uuid, OUT parent_id uuid, OUT issued_at timestamptz,
                                   OUT expires_at timestamptz)
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_open_token';

-- Makes new current keys of both purposes and retires superseded keys that verify nothing any
-- more: token keys once every token they issued has expired, signing keys once every
-- credential they signed has (vended credentials live at most 60 seconds).
CREATE FUNCTION warden.rotate_keys()
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p text;
  k record;
  v int;
  made jsonb := '{}';
  retired text[];
BEGIN
  -- One rotation at a time; issuers hold FOR SHARE on the current key row, so superseding it
  -- waits for tokens being minted with it.
  LOCK TABLE warden.keys IN SHARE ROW EXCLUSIVE MODE;
  FOREACH p IN ARRAY ARRAY['local', 'public'] LOOP
    SELECT * INTO k FROM warden._new_key(p);
    SELECT coalesce(max(version), 0) + 1 INTO v FROM warden.keys WHERE purpose = p;
    UPDATE warden.keys SET superseded_at = now() WHERE purpose = p AND superseded_at IS NULL;
    INSERT INTO warden.keys (key_id, purpose, version, public_key, sealed)
    VALUES (k.key_id, p, v, k.public_key, k.sealed);
    made := made || jsonb_build_object(CASE p WHEN 'local' THEN 'token_key' ELSE 'signing_key' END,
                                       jsonb_build_object('key_id', k.key_id, 'version', v));
  END LOOP;
  WITH r AS (
    UPDATE warden.keys kk SET retired_at = now(), sealed = NULL
    WHERE kk.superseded_at IS NOT NULL AND kk.retired_at IS NULL
      AND ((kk.purpose = 'local' AND NOT EXISTS (SELECT FROM warden.tokens t
                                               WHERE t.key_id = kk.key_id AND t.expires_at > now()))
        OR (kk.purpose = 'public' AND kk.superseded_at <= now() - interval '60 seconds'))
    RETURNING kk.key_id)
  SELECT coalesce(array_agg(r.key_id ORDER BY r.key_id), '{}') INTO retired FROM r;
  made := made || jsonb_build_object('retired', to_jsonb(retired));
  PERFORM warden._event('keys_rotated', detail => made);
  RETURN made;
END
$$;

-- The current key of a purpose, created on first use; locked FOR SHARE until commit.
CREATE FUNCTION warden._current_key(purpose text, OUT key_id text, OUT sealed bytea)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  SELECT k.key_id, k.sealed INTO key_id, sealed FROM warden.keys k
  WHERE k.purpose = _current_key.purpose AND k.superseded_at IS NULL FOR SHARE;
  IF NOT FOUND THEN
    PERFORM warden.rotate_keys();
    SELECT k.key_id, k.sealed INTO key_id, sealed FROM warden.keys k
    WHERE k.purpose = _current_key.purpose AND k.superseded_at IS NULL FOR SHARE;
  END IF;
END
$$;

CREATE FUNCTION warden._b64url(b bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$ SELECT translate(rtrim(replace(encode(b, 'base64'), E'\n', ''), '='), '+/', '-_') $$;

-- Public signing keys that still verify, as a JWKS and as PASERK.
CREATE FUNCTION warden.public_keys()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_build_object(
    'keys', coalesce(jsonb_agg(jsonb_build_object(
              'kty', 'OKP', 'crv', 'Ed25519', 'alg', 'EdDSA', 'use', 'sig', 'kid', k.key_id,
              'x', warden._b64url(k.public_key)) ORDER BY k.version DESC), '[]'),
    'paserk', coalesce(jsonb_agg(jsonb_build_object(
              'kid', k.key_id, 'key', 'k4.public.' || warden._b64url(k.public_key),
              'version', k.version, 'created_at', k.created_at,
              'current', k.superseded_at IS NULL) ORDER BY k.version DESC), '[]'))
  FROM warden.keys k
  WHERE k.purpose = 'public' AND k.retired_at IS NULL
$$;
