-- warden 0.1.0: the vault (upstream secrets and vended credentials)

-- One row per stored secret version; older versions are deleted when a new one is stored.
-- `wrapped` is XChaCha20-Poly1305 under the vault subkey, bound to (server, version).
CREATE TABLE warden.secrets (
  server_id  uuid NOT NULL REFERENCES warden.servers (server_id) ON DELETE CASCADE,
  version    int NOT NULL,
  header     text NOT NULL,
  template   text NOT NULL,
  wrapped    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user,
  PRIMARY KEY (server_id, version)
);

-- The public key secrets are sealed to (libsodium crypto_box_seal). Safe to publish.
CREATE FUNCTION warden.vault_public_key() RETURNS bytea
LANGUAGE c STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_vault_public_key';

CREATE FUNCTION warden._vault_wrap_sealed(server_id uuid, version int, sealed bytea) RETURNS bytea
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_vault_wrap_sealed';

CREATE FUNCTION warden.put_secret(server text, sealed bytea, header text DEFAULT 'Authorization',
                                  template text DEFAULT 'Bearer {secret}')
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s record;
  v int;
BEGIN
  IF server IS NULL OR sealed IS NULL THEN
    RAISE EXCEPTION 'put_secret needs a server and a sealed secret' USING ERRCODE = '22004';
  END IF;
  SELECT ss.server_id, ss.name INTO s FROM warden.servers ss WHERE ss.name = put_secret.server FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown server "%"', server USING ERRCODE = '42704', HINT = 'Register it with warden.add_server(name, endpoint).';
  END IF;
  IF template IS NULL OR strpos(template, '{secret}') = 0 THEN
    RAISE EXCEPTION 'template "%" does not contain {secret}', template
      USING ERRCODE = '22023', HINT = 'For example ''Bearer {secret}'' or ''{secret}''.';
  END IF;
  IF template ~ '[[:cntrl:]]' THEN
    RAISE EXCEPTION 'template contains a control character'
      USING ERRCODE = '22023', HINT = 'Header values and environment variables cannot hold CR, LF, NUL or other control characters.';
  END IF;
  IF header IS NULL OR header !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]{1,128}$' THEN
    RAISE EXCEPTION 'invalid header name "%"', header USING ERRCODE = '22023', HINT = 'For example ''Authorization'' or ''X-API-Key''.';
  END IF;
  SELECT coalesce(max(sc.version), 0) + 1 INTO v FROM warden.secrets sc WHERE sc.server_id = s.server_id;
  INSERT INTO warden.secrets (server_id, version, header, template, wrapped)
  VALUES (s.server_id, v, header, template, warden._vault_wrap_sealed(s.server_id, v, sealed));
  DELETE FROM warden.secrets sc WHERE sc.server_id = s.server_id AND sc.version < v;
  PERFORM warden._event('secret_stored', server => s.name,
                        detail => jsonb_build_object('version', v, 'header', header));
  RETURN v;
END
$$;

-- Versions and ages, never values. rotation_due when older than the server's
-- credential.rotation_days (default 90).
CREATE FUNCTION warden.secrets_status()
RETURNS TABLE (server text, version int, header text, created_at timestamptz, age interval,
               rotation_days int, rotation_due boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.name, sc.version, sc.header, sc.created_at, date_trunc('second', now() - sc.created_at),
         coalesce((s.credential->>'rotation_days')::int, 90),
         sc.created_at < now() - make_interval(days => coalesce((s.credential->>'rotation_days')::int, 90))
  FROM warden.servers s JOIN warden.secrets sc ON sc.server_id = s.server_id
  ORDER BY s.name
$$;

-- The current signing key, rotating first when it is older than rotate_after_seconds.
CREATE FUNCTION warden._signing_key(rotate_after_seconds int, OUT key_id text, OUT sealed bytea)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  born timestamptz;
BEGIN
  SELECT k.key_id, k.sealed, k.created_at INTO key_id, sealed, born FROM warden.keys k
  WHERE k.purpose = 'public' AND k.superseded_at IS NULL;
  IF NOT FOUND OR born <= now() - make_interval(secs => rotate_after_seconds) THEN
    PERFORM warden._rotate_keys_if_due(rotate_after_seconds);
    SELECT k.key_id, k.sealed INTO key_id, sealed FROM warden.keys k
    WHERE k.purpose = 'public' AND k.superseded_at IS NULL;
  END IF;
END
$$;

CREATE FUNCTION warden._rotate_keys_if_due(rotate_after_seconds int) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- Serialise with other rotations, then look again: another session may have just rotated.
  LOCK TABLE warden.keys IN SHARE ROW EXCLUSIVE MODE;
  IF EXISTS (SELECT FROM warden.keys k WHERE k.purpose = 'public' AND k.superseded_at IS NULL
             AND k.created_at > now() - make_interval(secs => rotate_after_seconds)) THEN
    RETURN NULL;
  END IF;
  RETURN warden.rotate_keys();
END
$$;

-- Periodic work: event partitions ahead, key rotation when due, retiring spent keys, an
-- hourly audit seal. The background worker (warden.maintenance_database) calls it.
CREATE FUNCTION warden.maintenance()
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parts int;
  rotated jsonb;
  sealed jsonb;
BEGIN
  parts := warden._ensure_event_partitions(7);
  -- pg_settings gives the interval in seconds; current_setting would print it as '1d'.
  rotated := warden._rotate_keys_if_due(coalesce(
    (SELECT ps.setting::int FROM pg_catalog.pg_settings ps WHERE ps.name = 'warden.key_rotation_interval'), 86400));
  -- Seal hourly when something happened since the last seal.
  IF EXISTS (SELECT FROM warden.events e WHERE e.at > coalesce((SELECT max(s.sealed_at) FROM warden.seals s), '-infinity')
             AND e.kind <> 'audit_sealed')
     AND NOT EXISTS (SELECT FROM warden.seals s WHERE s.sealed_at > now() - interval '1 hour') THEN
    sealed := warden.seal_audit() - 'seal';
  END IF;
  RETURN jsonb_build_object('partitions_created', parts, 'rotated', rotated, 'sealed', sealed);
END
$$;

GRANT EXECUTE ON FUNCTION warden.vault_public_key() TO warden_admin, warden_issuer, warden_proxy, warden_auditor;
GRANT EXECUTE ON FUNCTION warden.put_secret(text, bytea, text, text), warden.maintenance() TO warden_admin;
GRANT EXECUTE ON FUNCTION warden.secrets_status() TO warden_admin, warden_auditor;
