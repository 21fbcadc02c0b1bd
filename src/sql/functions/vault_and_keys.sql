-- The vault and keys: storing sealed secrets, rotating keys.

CREATE OR REPLACE FUNCTION warden.put_secret(server text, sealed bytea, header text DEFAULT 'Authorization',
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
  VALUES (s.server_id, v, header, template, warden._vault_wrap_sealed(s.server_id::uuid, v::int, sealed::bytea));
  DELETE FROM warden.secrets sc WHERE sc.server_id = s.server_id AND sc.version < v;
  PERFORM warden._event('secret_stored'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        jsonb_build_object('version', v, 'header', header), NULL::boolean, NULL::text,
                        s.name::text, NULL::text);
  RETURN v;
END
$$;
REVOKE ALL ON FUNCTION warden.put_secret(text, bytea, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.put_secret(text, bytea, text, text) TO warden_admin;

CREATE OR REPLACE FUNCTION warden.rotate_keys()
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
    SELECT * INTO k FROM warden._new_key(p::text);
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
  PERFORM warden._event('keys_rotated'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        made::jsonb, NULL::boolean, NULL::text, NULL::text, NULL::text);
  RETURN made;
END
$$;
REVOKE ALL ON FUNCTION warden.rotate_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.rotate_keys() TO warden_admin;
