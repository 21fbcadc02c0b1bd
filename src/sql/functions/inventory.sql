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
