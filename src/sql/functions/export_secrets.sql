-- Secrets of export destinations (issue 17: the Splunk HEC token). The admin stores one sealed
-- to the vault key (warden-mcp secret put --export NAME); the exporter opens it to authenticate
-- its deliveries. The plaintext is never in SQL text, argv or the environment.
CREATE OR REPLACE FUNCTION warden.put_export_secret(name text, sealed bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF name IS NULL OR sealed IS NULL THEN
    RAISE EXCEPTION 'put_export_secret needs a name and a sealed secret' USING ERRCODE = '22004';
  END IF;
  IF name !~ '^[A-Za-z0-9_.:-]{1,64}$' THEN
    RAISE EXCEPTION 'invalid export secret name "%"', name USING ERRCODE = '22023',
      HINT = 'Use 1 to 64 letters, digits, ".", "_", ":" or "-", e.g. ''splunk-hec''.';
  END IF;
  INSERT INTO warden.export_secrets AS x (name, wrapped)
  VALUES (name, warden._vault_wrap_sealed_for('export-secret'::text, name::text, sealed::bytea))
  ON CONFLICT ON CONSTRAINT export_secrets_pkey DO UPDATE
    SET wrapped = EXCLUDED.wrapped, created_at = pg_catalog.now(), created_by = session_user;
  PERFORM warden._event('secret_stored'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('export', name), NULL::boolean, NULL::text, NULL::text, NULL::text);
END
$$;
REVOKE ALL ON FUNCTION warden.put_export_secret(text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.put_export_secret(text, bytea) TO warden_admin;

-- For warden-mcp --export only; NULL when no such secret is stored.
CREATE OR REPLACE FUNCTION warden.export_secret(name text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT warden._vault_open_text('export-secret'::text, x.name::text, x.wrapped)
  FROM warden.export_secrets x WHERE x.name = export_secret.name
$$;
REVOKE ALL ON FUNCTION warden.export_secret(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.export_secret(text) TO warden_exporter;
