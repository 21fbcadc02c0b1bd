-- Inventory: upstream servers.

CREATE OR REPLACE FUNCTION warden.add_server(name text, endpoint text, transport text DEFAULT 'http',
                                  credential jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id uuid;
  cred jsonb := coalesce(credential, '{"kind": "none"}'::jsonb);
BEGIN
  -- Tools appear to agents as server__tool, split at the first "__": a server name ending in
  -- "_" would make "a___b" mean both a_/b and a/_b.
  IF name IS NULL OR name !~ '^[a-z0-9][a-z0-9_-]{0,62}$' OR strpos(name, '__') > 0 OR right(name, 1) = '_' THEN
    RAISE EXCEPTION 'invalid server name "%"', name
      USING ERRCODE = '22023',
            HINT = 'Use 1 to 63 lowercase letters, digits, "-" or single "_" inside the name, not at its end (tools appear to agents as server__tool).';
  END IF;
  IF transport IS NULL OR transport NOT IN ('http', 'stdio') THEN
    RAISE EXCEPTION 'unknown transport "%" for server "%"', transport, name
      USING ERRCODE = '22023', HINT = 'transport is ''http'' (endpoint is a URL) or ''stdio'' (endpoint is a command line).';
  END IF;
  IF endpoint IS NULL OR btrim(endpoint) = '' THEN
    RAISE EXCEPTION 'server "%" needs an endpoint', name
      USING ERRCODE = '22023', HINT = 'An http server takes a URL; a stdio server takes a command line.';
  END IF;
  IF transport = 'http' AND endpoint !~ '^https?://[^/\s]+' THEN
    RAISE EXCEPTION 'endpoint "%" of http server "%" is not an http(s) URL', endpoint, name
      USING ERRCODE = '22023', HINT = 'For example ''https://tickets.internal/mcp''.';
  END IF;
  PERFORM warden._check_credential(cred::jsonb, transport::text);
  INSERT INTO warden.servers (name, endpoint, transport, credential)
  VALUES (name, endpoint, transport, cred)
  RETURNING server_id INTO id;
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'server "%" already exists', name
    USING ERRCODE = '23505', HINT = 'Server names are unique; choose another name.';
END
$$;
REVOKE ALL ON FUNCTION warden.add_server(text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.add_server(text, text, text, jsonb) TO warden_admin;

-- Validates a server's credential descriptor; raises with a hint on anything unexpected.
-- 0.2.0: kind txn_token (a transaction token per call, issue 14).
CREATE OR REPLACE FUNCTION warden._check_credential(cred jsonb, transport text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k text;
  ttl numeric;
BEGIN
  IF jsonb_typeof(cred) <> 'object' THEN
    RAISE EXCEPTION 'credential must be a JSON object'
      USING ERRCODE = '22023', HINT = 'For example {"kind": "jwt", "ttl_seconds": 30}.';
  END IF;
  FOR k IN SELECT jsonb_object_keys(cred) LOOP
    IF k NOT IN ('kind', 'ttl_seconds', 'env', 'rotation_days') THEN
      RAISE EXCEPTION 'unknown credential field "%"', k
        USING ERRCODE = '22023', HINT = 'Known fields: kind, ttl_seconds, env, rotation_days.';
    END IF;
  END LOOP;
  IF coalesce(cred->>'kind', '') NOT IN ('none', 'secret', 'jwt', 'paseto', 'txn_token') THEN
    RAISE EXCEPTION 'unknown credential kind "%"', cred->>'kind'
      USING ERRCODE = '22023', HINT = 'kind is one of none, secret, jwt, paseto, txn_token.';
  END IF;
  -- A transaction token travels in the Txn-Token header of each call: http servers only.
  IF cred->>'kind' = 'txn_token' AND transport <> 'http' THEN
    RAISE EXCEPTION 'a txn_token credential needs an http server'
      USING ERRCODE = '22023', HINT = 'A stdio server has no per-call headers; use kind secret with "env".';
  END IF;
  IF cred ? 'ttl_seconds' THEN
    IF jsonb_typeof(cred->'ttl_seconds') <> 'number' THEN
      RAISE EXCEPTION 'ttl_seconds must be a number' USING ERRCODE = '22023';
    END IF;
    ttl := (cred->>'ttl_seconds')::numeric;
    IF ttl < 1 OR ttl > 60 OR ttl <> trunc(ttl) THEN
      RAISE EXCEPTION 'ttl_seconds % is out of range', ttl
        USING ERRCODE = '22023', HINT = 'Vended credentials live between 1 and 60 whole seconds.';
    END IF;
  END IF;
  IF cred ? 'rotation_days' THEN
    IF jsonb_typeof(cred->'rotation_days') <> 'number' THEN
      RAISE EXCEPTION 'rotation_days must be a number' USING ERRCODE = '22023';
    END IF;
    IF (cred->>'rotation_days')::numeric < 1 OR (cred->>'rotation_days')::numeric > 3650
       OR (cred->>'rotation_days')::numeric <> trunc((cred->>'rotation_days')::numeric) THEN
      RAISE EXCEPTION 'rotation_days % is out of range', cred->>'rotation_days'
        USING ERRCODE = '22023', HINT = 'Secrets fall due for rotation after 1 to 3650 whole days.';
    END IF;
  END IF;
  IF cred ? 'env' AND transport <> 'stdio' THEN
    RAISE EXCEPTION 'env applies only to stdio servers'
      USING ERRCODE = '22023', HINT = 'An http server receives its secret in a header; drop "env".';
  END IF;
  IF cred ? 'env' AND coalesce(cred->>'env', '') !~ '^[A-Za-z_][A-Za-z0-9_]*$' THEN
    RAISE EXCEPTION 'env "%" is not an environment variable name', cred->>'env' USING ERRCODE = '22023';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION warden._check_credential(jsonb, text) FROM PUBLIC;
