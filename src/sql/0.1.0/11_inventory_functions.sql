-- warden 0.1.0: inventory functions

CREATE FUNCTION warden.add_human(subject text, display_name text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id uuid;
BEGIN
  IF subject IS NULL OR btrim(subject) = '' THEN
    RAISE EXCEPTION 'a human needs a subject'
      USING ERRCODE = '22023', HINT = 'Pass the identity provider''s subject (sub claim), e.g. ''alice@example.com''.';
  END IF;
  INSERT INTO warden.humans (subject, display_name) VALUES (subject, display_name)
  RETURNING human_id INTO id;
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'human "%" already exists', subject
    USING ERRCODE = '23505', HINT = 'Subjects are unique; look it up in warden.humans instead.';
END
$$;

CREATE FUNCTION warden.add_agent(name text, owner text, description text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  owner_id uuid;
  id uuid;
BEGIN
  IF name IS NULL OR name = '' THEN
    RAISE EXCEPTION 'an agent needs a name'
      USING ERRCODE = '22023', HINT = 'Use letters, digits, ".", "_" or "-", e.g. ''triage-bot''.';
  END IF;
  IF name !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' THEN
    RAISE EXCEPTION 'invalid agent name "%"', name
      USING ERRCODE = '22023', HINT = 'Use 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit.';
  END IF;
  IF owner IS NULL THEN
    RAISE EXCEPTION 'agent "%" needs an owner', name
      USING ERRCODE = '22004', HINT = 'Pass the subject of the human who owns the agent.';
  END IF;
  SELECT h.human_id INTO owner_id FROM warden.humans h WHERE h.subject = owner;
  IF owner_id IS NULL THEN
    RAISE EXCEPTION 'unknown owner "%"', owner
      USING ERRCODE = '42704', HINT = 'Register the human first with warden.add_human(subject).';
  END IF;
  INSERT INTO warden.agents (name, owner_id, description) VALUES (name, owner_id, description)
  RETURNING agent_id INTO id;
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'agent "%" already exists', name
    USING ERRCODE = '23505', HINT = 'Agent names are unique; choose another name.';
END
$$;

CREATE FUNCTION warden.add_server(name text, endpoint text, transport text DEFAULT 'http',
                                  credential jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id uuid;
  cred jsonb := coalesce(credential, '{"kind": "none"}'::jsonb);
BEGIN
  IF name IS NULL OR name !~ '^[a-z0-9][a-z0-9_-]{0,62}$' OR strpos(name, '__') > 0 THEN
    RAISE EXCEPTION 'invalid server name "%"', name
      USING ERRCODE = '22023',
            HINT = 'Use 1 to 63 lowercase letters, digits, "-" or single "_" (tools appear to agents as server__tool).';
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
  PERFORM warden._check_credential(cred, transport);
  INSERT INTO warden.servers (name, endpoint, transport, credential)
  VALUES (name, endpoint, transport, cred)
  RETURNING server_id INTO id;
  RETURN id;
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'server "%" already exists', name
    USING ERRCODE = '23505', HINT = 'Server names are unique; choose another name.';
END
$$;

-- Validates a server's credential descriptor; raises with a hint on anything unexpected.
CREATE FUNCTION warden._check_credential(cred jsonb, transport text)
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
  IF coalesce(cred->>'kind', '') NOT IN ('none', 'secret', 'jwt', 'paseto') THEN
    RAISE EXCEPTION 'unknown credential kind "%"', cred->>'kind'
      USING ERRCODE = '22023', HINT = 'kind is one of none, secret, jwt, paseto.';
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

CREATE FUNCTION warden.set_mode(agent text, mode text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF mode IS NULL OR mode NOT IN ('enforce', 'observe') THEN
    RAISE EXCEPTION 'unknown mode "%"', mode
      USING ERRCODE = '22023', HINT = 'mode is ''enforce'' (deny what is not granted) or ''observe'' (allow, and record what would have been denied).';
  END IF;
  UPDATE warden.agents a SET mode = set_mode.mode WHERE a.name = set_mode.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent
      USING ERRCODE = '42704', HINT = 'List agents with SELECT name FROM warden.agents.';
  END IF;
END
$$;
