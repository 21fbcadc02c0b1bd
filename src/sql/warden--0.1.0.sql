\echo Use "CREATE EXTENSION warden" to load this file. \quit

-- warden 0.1.0. Conventions used throughout:
--  * Tables are reachable only through functions; no role but the owner can write them.
--  * Functions that act beyond the caller's rights are SECURITY DEFINER with
--    search_path pinned to pg_catalog, pg_temp, and every object schema-qualified.
--  * EXECUTE is revoked from PUBLIC for every function, then granted per role.

-- Roles are cluster-wide and may already exist (a second database, a reinstall).
DO $roles$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor'] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END
$roles$;

REVOKE ALL ON SCHEMA warden FROM PUBLIC;
GRANT USAGE ON SCHEMA warden TO warden_admin, warden_issuer, warden_proxy, warden_auditor;

-- ---------------------------------------------------------------- identities and inventory

CREATE TABLE warden.humans (
  human_id     uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  subject      text NOT NULL UNIQUE CHECK (subject <> '' AND pg_catalog.length(subject) <= 512),
  display_name text,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE warden.agents (
  agent_id    uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  owner_id    uuid NOT NULL REFERENCES warden.humans (human_id),
  description text,
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'killed')),
  mode        text NOT NULL DEFAULT 'enforce' CHECK (mode IN ('enforce', 'observe')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX agents_owner ON warden.agents (owner_id);

CREATE TABLE warden.servers (
  server_id  uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  -- Tools are exposed to agents as server__tool, so a server name never contains "__".
  name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$' AND strpos(name, '__') = 0),
  endpoint   text NOT NULL CHECK (endpoint <> ''),
  transport  text NOT NULL CHECK (transport IN ('http', 'stdio')),
  credential jsonb NOT NULL DEFAULT '{"kind": "none"}',
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE warden.tools (
  server_id       uuid NOT NULL REFERENCES warden.servers (server_id) ON DELETE CASCADE,
  name            text NOT NULL,
  definition      jsonb,
  digest          bytea,            -- digest of the definition as last seen
  approved_digest bytea,            -- digest an admin accepted (first sighting is accepted)
  first_seen      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (server_id, name)
);

REVOKE ALL ON ALL TABLES IN SCHEMA warden FROM PUBLIC;

-- ---------------------------------------------------------------- inventory functions

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

-- ---------------------------------------------------------------- keys

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

-- ---------------------------------------------------------------- chains, tokens, grants

-- One originating request by a human. Its id is the trace id of every call made for it.
CREATE TABLE warden.chains (
  chain_id       uuid PRIMARY KEY,
  human_id       uuid NOT NULL REFERENCES warden.humans (human_id),
  root_agent_id  uuid NOT NULL REFERENCES warden.agents (agent_id),
  purpose        text NOT NULL,
  trace_id       text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_by     text,
  revoked_reason text
);
CREATE INDEX chains_human ON warden.chains (human_id);

-- Task tokens. The token string itself is never stored: only what it names.
CREATE TABLE warden.tokens (
  token_id        uuid PRIMARY KEY,
  chain_id        uuid NOT NULL REFERENCES warden.chains (chain_id),
  parent_id       uuid REFERENCES warden.tokens (token_id),
  agent_id        uuid NOT NULL REFERENCES warden.agents (agent_id),
  -- Agents of every ancestor token, root first: a call must be allowed for each of them too,
  -- which is what makes delegation only ever narrow.
  ancestor_agents uuid[] NOT NULL DEFAULT '{}',
  depth           int NOT NULL CHECK (depth >= 0),
  tools           text[],               -- NULL: whatever the agent is granted
  key_id          text NOT NULL REFERENCES warden.keys (key_id),
  issued_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  revoked_by      text,
  revoked_reason  text
);
CREATE INDEX tokens_chain ON warden.tokens (chain_id);
CREATE INDEX tokens_parent ON warden.tokens (parent_id);
CREATE INDEX tokens_agent_live ON warden.tokens (agent_id) WHERE revoked_at IS NULL;
CREATE INDEX tokens_key_expiry ON warden.tokens (key_id, expires_at);

-- Permission for an agent to call server/tool (tool '*' for all of a server's tools).
CREATE TABLE warden.grants (
  grant_id       uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  agent_id       uuid NOT NULL REFERENCES warden.agents (agent_id),
  server         text NOT NULL,
  tool           text NOT NULL,
  chain_id       uuid REFERENCES warden.chains (chain_id),
  constraints    jsonb NOT NULL DEFAULT '{}',
  expires_at     timestamptz NOT NULL,
  max_calls      int CHECK (max_calls > 0),
  calls_used     int NOT NULL DEFAULT 0,
  granted_by     text NOT NULL DEFAULT session_user,
  reason         text,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  revoked_at     timestamptz,
  revoked_by     text,
  revoked_reason text,
  CHECK (max_calls IS NULL OR calls_used <= max_calls)
);
CREATE INDEX grants_live ON warden.grants (agent_id, server) WHERE revoked_at IS NULL;

-- True when a tool pattern ('server/tool' or 'server/*') covers 'server/tool' or another pattern.
CREATE FUNCTION warden._tool_covers(pattern text, tool text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pattern = tool
      OR (right(pattern, 2) = '/*' AND starts_with(tool, left(pattern, -1)))
$$;

CREATE FUNCTION warden._check_tool_name(tool text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF tool IS NULL OR tool !~ '^[a-z0-9][a-z0-9_-]{0,62}/(\*|[A-Za-z0-9_.:-]{1,128})$' OR strpos(split_part(tool, '/', 1), '__') > 0 THEN
    RAISE EXCEPTION 'invalid tool "%"', tool
      USING ERRCODE = '22023', HINT = 'Name a tool as server/tool, or server/* for every tool of a server.';
  END IF;
END
$$;

-- ---------------------------------------------------------------- events (the audit graph)

-- Append-only, partitioned by day. Every row carries its writer's MAC chain position (see
-- src/core/audit_mac.hpp): writer (one per database backend), seq and mac.
CREATE TABLE warden.events (
  event_id         uuid NOT NULL,
  at               timestamptz NOT NULL,
  kind             text NOT NULL,
  chain_id         uuid,
  token_id         uuid,
  parent_id        uuid,
  agent            text,
  human            text,
  server           text,
  tool             text,
  allowed          boolean,
  reason           text,
  trace_id         text,
  arguments        jsonb,
  arguments_digest bytea,
  detail           jsonb,
  actor            text NOT NULL,
  writer           uuid NOT NULL,
  seq              bigint NOT NULL,
  mac              bytea NOT NULL,
  PRIMARY KEY (event_id, at)
) PARTITION BY RANGE (at);
CREATE INDEX events_chain ON warden.events (chain_id, at);
CREATE INDEX events_token ON warden.events (token_id, at);
CREATE INDEX events_parent ON warden.events (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX events_agent ON warden.events (agent, at);
CREATE INDEX events_writer ON warden.events (writer, seq);
-- Rows outside every daily partition still land somewhere rather than failing a decision.
CREATE TABLE warden.events_default PARTITION OF warden.events DEFAULT;

CREATE FUNCTION warden._refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'warden.events is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501', HINT = 'Audit events are never changed or removed; record a new event instead.';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON warden.events
  FOR EACH ROW EXECUTE FUNCTION warden._refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON warden.events
  FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON warden.events_default
  FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change();

-- Creates the daily partitions from today through `days_ahead` days from now.
CREATE FUNCTION warden._ensure_event_partitions(days_ahead int DEFAULT 7) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d date;
  name text;
  made int := 0;
BEGIN
  FOR d IN SELECT generate_series(current_date, current_date + days_ahead, interval '1 day')::date LOOP
    name := 'events_' || to_char(d, 'YYYYMMDD');
    IF to_regclass('warden.' || name) IS NULL THEN
      -- A day whose rows already sit in the default partition is left there.
      IF EXISTS (SELECT FROM warden.events_default e WHERE e.at >= d AND e.at < d + 1) THEN
        CONTINUE;
      END IF;
      EXECUTE format('CREATE TABLE warden.%I PARTITION OF warden.events FOR VALUES FROM (%L) TO (%L)',
                     name, d::timestamptz, (d + 1)::timestamptz);
      EXECUTE format('CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON warden.%I '
                     'FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change()', name);
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END
$$;
SELECT warden._ensure_event_partitions(7);

CREATE FUNCTION warden._event(kind text, chain_id uuid DEFAULT NULL, token_id uuid DEFAULT NULL,
                              parent_id uuid DEFAULT NULL, agent text DEFAULT NULL,
                              human text DEFAULT NULL, detail jsonb DEFAULT NULL,
                              allowed boolean DEFAULT NULL, reason text DEFAULT NULL,
                              server text DEFAULT NULL, tool text DEFAULT NULL)
RETURNS uuid
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_record_event';

-- ---------------------------------------------------------------- starting chains, delegating

CREATE FUNCTION warden.start_chain(human text, agent text, purpose text,
                                   ttl interval DEFAULT '15 minutes', tools text[] DEFAULT NULL,
                                   OUT chain_id uuid, OUT token text, OUT expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h record;
  a record;
  k record;
  t text;
  token_id uuid := gen_random_uuid();
BEGIN
  IF human IS NULL OR agent IS NULL OR purpose IS NULL OR btrim(purpose) = '' THEN
    RAISE EXCEPTION 'start_chain needs a human, an agent and a purpose'
      USING ERRCODE = '22004', HINT = 'The purpose says why the chain exists, e.g. ''triage ticket 4711''.';
  END IF;
  IF ttl IS NULL OR ttl <= interval '0' OR ttl > interval '24 hours' THEN
    RAISE EXCEPTION 'chain lifetime % is out of range', coalesce(ttl::text, 'NULL')
      USING ERRCODE = '22023', HINT = 'A chain lives for more than 0 and at most 24 hours; every task ends.';
  END IF;
  SELECT hh.human_id, hh.subject INTO h FROM warden.humans hh WHERE hh.subject = start_chain.human;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown human "%"', human USING ERRCODE = '42704', HINT = 'Register it with warden.add_human(subject).';
  END IF;
  SELECT aa.agent_id, aa.name, aa.status INTO a FROM warden.agents aa WHERE aa.name = start_chain.agent FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'Register it with warden.add_agent(name, owner).';
  END IF;
  IF a.status <> 'active' THEN
    RAISE EXCEPTION 'agent "%" is %', agent, a.status
      USING ERRCODE = '55000', HINT = 'Reinstate it with warden.reinstate_agent(agent, reason) first.';
  END IF;
  IF tools IS NOT NULL THEN
    FOREACH t IN ARRAY tools LOOP PERFORM warden._check_tool_name(t); END LOOP;
  END IF;

  chain_id := gen_random_uuid();
  expires_at := date_trunc('second', now() + ttl);
  INSERT INTO warden.chains (chain_id, human_id, root_agent_id, purpose, trace_id, expires_at)
  VALUES (chain_id, h.human_id, a.agent_id, purpose, replace(chain_id::text, '-', ''), expires_at);
  SELECT * INTO k FROM warden._current_key('local');
  INSERT INTO warden.tokens (token_id, chain_id, agent_id, depth, tools, key_id, expires_at)
  VALUES (token_id, chain_id, a.agent_id, 0, tools, k.key_id, expires_at);
  token := warden._mint_task_token(k.key_id, k.sealed, token_id, chain_id, a.agent_id, NULL,
                                   date_trunc('second', now()), expires_at);
  PERFORM warden._event('token_issued', chain_id, token_id, NULL, a.name, h.subject,
                        jsonb_build_object('purpose', purpose, 'tools', tools, 'expires_at', expires_at,
                                           'key_id', k.key_id));
END
$$;

-- The state behind a token string: the claims if it verifies and is live, else a reason
-- from the stable set malformed, unknown_key, bad_tag, expired, not_yet_valid, unknown_token,
-- token_revoked, chain_revoked, chain_expired, agent_suspended.
CREATE FUNCTION warden._verify_token(token text, OUT reason text, OUT token_id uuid,
                                     OUT chain_id uuid, OUT agent_id uuid, OUT agent text,
                                     OUT human text, OUT tools text[], OUT depth int,
                                     OUT ancestor_agents uuid[], OUT expires_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  o record;
  r record;
BEGIN
  SELECT * INTO o FROM warden._open_token(token);
  IF o.reason IS NOT NULL THEN
    reason := o.reason;
    RETURN;
  END IF;
  SELECT t.token_id, t.chain_id, t.agent_id, a.name AS agent, hu.subject AS human, t.tools, t.depth,
         t.ancestor_agents, t.expires_at, t.revoked_at, c.revoked_at AS chain_revoked_at,
         c.expires_at AS chain_expires_at, a.status
    INTO r
  FROM warden.tokens t
  JOIN warden.chains c ON c.chain_id = t.chain_id
  JOIN warden.agents a ON a.agent_id = t.agent_id
  JOIN warden.humans hu ON hu.human_id = c.human_id
  WHERE t.token_id = o.token_id
  FOR SHARE OF t, c, a;
  reason := CASE
    WHEN NOT FOUND THEN 'unknown_token'
    WHEN r.chain_id <> o.chain_id OR r.agent_id <> o.agent_id THEN 'unknown_token'
    WHEN r.revoked_at IS NOT NULL THEN 'token_revoked'
    WHEN r.chain_revoked_at IS NOT NULL THEN 'chain_revoked'
    WHEN r.chain_expires_at <= now() THEN 'chain_expired'
    WHEN r.status <> 'active' THEN 'agent_suspended'
  END;
  IF FOUND THEN
    token_id := r.token_id; chain_id := r.chain_id; agent_id := r.agent_id; agent := r.agent;
    human := r.human; tools := r.tools; depth := r.depth; ancestor_agents := r.ancestor_agents;
    expires_at := r.expires_at;
  END IF;
END
$$;

CREATE FUNCTION warden.delegate(parent_token text, agent text, tools text[], ttl interval DEFAULT NULL,
                                OUT token_id uuid, OUT token text, OUT expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p record;
  a record;
  k record;
  t text;
  covered boolean;
BEGIN
  IF parent_token IS NULL OR agent IS NULL THEN
    RAISE EXCEPTION 'delegate needs a parent token and an agent' USING ERRCODE = '22004';
  END IF;
  IF tools IS NULL OR cardinality(tools) = 0 THEN
    RAISE EXCEPTION 'delegate needs an explicit, non-empty tool list'
      USING ERRCODE = '22023', HINT = 'Delegation only narrows: name the tools the sub-agent may call, e.g. ARRAY[''tickets/update_ticket''].';
  END IF;
  SELECT * INTO p FROM warden._verify_token(parent_token);
  IF p.reason IS NOT NULL THEN
    RAISE EXCEPTION 'parent token is not valid: %', p.reason
      USING ERRCODE = '28000', HINT = 'Delegate from a live token of a live chain.';
  END IF;
  IF p.depth >= 63 THEN
    RAISE EXCEPTION 'delegation is too deep (% levels)', p.depth + 1 USING ERRCODE = '54000';
  END IF;
  SELECT aa.agent_id, aa.name, aa.status INTO a FROM warden.agents aa WHERE aa.name = delegate.agent FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'Register it with warden.add_agent(name, owner).';
  END IF;
  IF a.status <> 'active' THEN
    RAISE EXCEPTION 'agent "%" is %', agent, a.status
      USING ERRCODE = '55000', HINT = 'Reinstate it with warden.reinstate_agent(agent, reason) first.';
  END IF;
  FOREACH t IN ARRAY tools LOOP
    PERFORM warden._check_tool_name(t);
    -- Within the parent token's own tool list, if it has one ...
    IF p.tools IS NOT NULL AND NOT EXISTS (SELECT FROM unnest(p.tools) pt WHERE warden._tool_covers(pt, t)) THEN
      RAISE EXCEPTION 'cannot delegate "%": the parent token does not hold it', t
        USING ERRCODE = '42501', DETAIL = format('parent token tools: %s', p.tools),
              HINT = 'Delegation only narrows; a sub-agent can receive only tools its parent holds.';
    END IF;
    -- ... and within what the parent's agent is granted right now.
    SELECT EXISTS (SELECT FROM warden.grants g
                   WHERE g.agent_id = p.agent_id AND g.revoked_at IS NULL AND g.expires_at > now()
                     AND (g.chain_id IS NULL OR g.chain_id = p.chain_id)
                     AND warden._tool_covers(g.server || '/' || g.tool, t))
      INTO covered;
    IF NOT covered THEN
      RAISE EXCEPTION 'cannot delegate "%": agent "%" has no live grant for it', t, p.agent
        USING ERRCODE = '42501', HINT = 'Delegation only narrows; grant the parent agent the tool first.';
    END IF;
  END LOOP;
  IF ttl IS NULL THEN
    expires_at := p.expires_at;
  ELSIF ttl <= interval '0' THEN
    RAISE EXCEPTION 'delegated lifetime must be positive' USING ERRCODE = '22023';
  ELSE
    expires_at := date_trunc('second', now() + ttl);
    IF expires_at > p.expires_at THEN
      RAISE EXCEPTION 'delegated token would outlive its parent'
        USING ERRCODE = '22023', DETAIL = format('parent expires at %s, requested %s', p.expires_at, expires_at),
              HINT = 'Pass a shorter ttl, or NULL to expire with the parent.';
    END IF;
  END IF;

  token_id := gen_random_uuid();
  SELECT * INTO k FROM warden._current_key('local');
  INSERT INTO warden.tokens (token_id, chain_id, parent_id, agent_id, ancestor_agents, depth, tools,
                             key_id, expires_at)
  VALUES (token_id, p.chain_id, p.token_id, a.agent_id, p.ancestor_agents || p.agent_id, p.depth + 1,
          tools, k.key_id, expires_at);
  token := warden._mint_task_token(k.key_id, k.sealed, token_id, p.chain_id, a.agent_id, p.token_id,
                                   date_trunc('second', now()), expires_at);
  PERFORM warden._event('token_delegated', p.chain_id, token_id, NULL, a.name, p.human,
                        jsonb_build_object('parent_token', p.token_id, 'from_agent', p.agent,
                                           'tools', tools, 'expires_at', expires_at, 'key_id', k.key_id));
END
$$;

-- ---------------------------------------------------------------- scopes

CREATE FUNCTION warden._check_constraints(constraints jsonb) RETURNS void
LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'warden_check_constraints';

CREATE FUNCTION warden.grant(agent text, tool text, constraints jsonb DEFAULT '{}',
                             ttl interval DEFAULT '1 hour', max_calls int DEFAULT NULL,
                             reason text DEFAULT NULL, chain_id uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  id uuid;
  srv text;
  tl text;
BEGIN
  SELECT aa.agent_id, aa.name INTO a FROM warden.agents aa WHERE aa.name = $1;  -- "grant" is reserved: no qualified names
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'Register it with warden.add_agent(name, owner).';
  END IF;
  PERFORM warden._check_tool_name(tool);
  srv := split_part(tool, '/', 1);
  tl := substr(tool, length(srv) + 2);
  IF NOT EXISTS (SELECT FROM warden.servers s WHERE s.name = srv) THEN
    RAISE EXCEPTION 'unknown server "%"', srv USING ERRCODE = '42704', HINT = 'Register it with warden.add_server(name, endpoint).';
  END IF;
  IF ttl IS NULL THEN
    RAISE EXCEPTION 'a grant always ends: ttl must not be NULL'
      USING ERRCODE = '22004', HINT = 'Pass an interval such as ''1 hour'' or ''30 days''.';
  END IF;
  IF ttl <= interval '0' OR ttl > interval '366 days' THEN
    RAISE EXCEPTION 'grant lifetime % is out of range', ttl
      USING ERRCODE = '22023', HINT = 'A grant lives for more than 0 and at most 366 days.';
  END IF;
  IF max_calls IS NOT NULL AND max_calls < 1 THEN
    RAISE EXCEPTION 'max_calls must be at least 1' USING ERRCODE = '22023', HINT = 'Pass NULL for no call budget.';
  END IF;
  IF constraints IS NULL THEN
    constraints := '{}';
  END IF;
  PERFORM warden._check_constraints(constraints);
  IF $7 IS NOT NULL AND NOT EXISTS (SELECT FROM warden.chains c WHERE c.chain_id = $7) THEN
    RAISE EXCEPTION 'unknown chain %', chain_id USING ERRCODE = '42704';
  END IF;
  INSERT INTO warden.grants (agent_id, server, tool, chain_id, constraints, expires_at, max_calls, reason)
  VALUES (a.agent_id, srv, tl, $7, $3, now() + $4, $5, $6)
  RETURNING grant_id INTO id;
  PERFORM warden._event('grant_created', $7, agent => a.name, server => srv, tool => tl,
                        detail => jsonb_build_object('grant_id', id, 'constraints', constraints,
                                                     'expires_at', now() + ttl, 'max_calls', max_calls,
                                                     'reason', reason));
  RETURN id;
END
$$;

CREATE FUNCTION warden.revoke_grant(grant_id uuid, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
BEGIN
  IF grant_id IS NULL THEN
    RAISE EXCEPTION 'grant_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  UPDATE warden.grants gg SET revoked_at = now(), revoked_by = session_user, revoked_reason = reason
  WHERE gg.grant_id = revoke_grant.grant_id AND gg.revoked_at IS NULL
  RETURNING gg.agent_id, gg.server, gg.tool, gg.chain_id INTO g;
  IF NOT FOUND THEN
    IF EXISTS (SELECT FROM warden.grants gg WHERE gg.grant_id = revoke_grant.grant_id) THEN
      RAISE NOTICE 'grant % was already revoked', grant_id;
      RETURN;
    END IF;
    RAISE EXCEPTION 'unknown grant %', grant_id USING ERRCODE = '42704';
  END IF;
  PERFORM warden._event('grant_revoked', g.chain_id,
                        agent => (SELECT a.name FROM warden.agents a WHERE a.agent_id = g.agent_id),
                        server => g.server, tool => g.tool,
                        detail => jsonb_build_object('grant_id', grant_id, 'reason', reason));
END
$$;

-- ---------------------------------------------------------------- decisions

CREATE TYPE warden.decision AS (
  allowed    boolean,
  reason     text,
  event_id   uuid,
  chain_id   uuid,
  trace_id   text,
  agent      text,
  human      text,
  credential jsonb
);

CREATE FUNCTION warden.authorize(token text, server text, tool text, arguments jsonb DEFAULT '{}',
                                 context jsonb DEFAULT '{}')
RETURNS warden.decision
LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_authorize';

-- Records the outcome of an allowed call as a child event of its decision.
CREATE FUNCTION warden.complete(event_id uuid, status text, detail jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  e record;
BEGIN
  IF event_id IS NULL OR status IS NULL THEN
    RAISE EXCEPTION 'complete needs an event_id and a status' USING ERRCODE = '22004';
  END IF;
  IF status NOT IN ('ok', 'error', 'cancelled', 'timeout', 'revoked') THEN
    RAISE EXCEPTION 'unknown status "%"', status
      USING ERRCODE = '22023', HINT = 'status is one of ok, error, cancelled, timeout, revoked.';
  END IF;
  SELECT ev.kind, ev.allowed, ev.chain_id, ev.token_id, ev.agent, ev.human, ev.server, ev.tool INTO e
  FROM warden.events ev WHERE ev.event_id = complete.event_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown event %', event_id USING ERRCODE = '42704';
  END IF;
  IF e.kind <> 'call' OR NOT e.allowed THEN
    RAISE EXCEPTION 'event % is not an allowed call', event_id
      USING ERRCODE = '55000', HINT = 'Only calls that authorize allowed have an outcome.';
  END IF;
  IF EXISTS (SELECT FROM warden.events ev WHERE ev.parent_id = complete.event_id AND ev.kind = 'completed') THEN
    RAISE EXCEPTION 'call % is already completed', event_id USING ERRCODE = '55000';
  END IF;
  RETURN warden._event('completed', e.chain_id, e.token_id, complete.event_id, e.agent, e.human,
                       coalesce(detail, '{}') || jsonb_build_object('status', status), status = 'ok',
                       status, e.server, e.tool);
END
$$;

-- tools/list filtered to what the token may call. Records each tool's definition digest: a
-- tool seen for the first time is accepted; a changed definition is hidden (and denied by
-- authorize with tool_changed) until warden.approve_tool accepts it.
CREATE FUNCTION warden.visible_tools(token text, server text, tools jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  s_id uuid;
  t jsonb;
  t_name text;
  t_digest bytea;
  approved bytea;
  visible jsonb := '[]';
BEGIN
  IF tools IS NULL OR jsonb_typeof(tools) <> 'array' THEN
    RAISE EXCEPTION 'tools must be a JSON array of tool definitions' USING ERRCODE = '22023';
  END IF;
  SELECT ss.server_id INTO s_id FROM warden.servers ss WHERE ss.name = visible_tools.server;
  IF NOT FOUND THEN
    RETURN visible;
  END IF;
  SELECT * INTO v FROM warden._verify_token(token);
  FOR t IN SELECT jsonb_array_elements(tools) LOOP
    t_name := t->>'name';
    CONTINUE WHEN t_name IS NULL OR jsonb_typeof(t) <> 'object';
    t_digest := sha256(convert_to(t::text, 'UTF8'));
    INSERT INTO warden.tools AS tt (server_id, name, definition, digest, approved_digest)
    VALUES (s_id, t_name, t, t_digest, t_digest)
    ON CONFLICT (server_id, name) DO UPDATE
      SET last_seen = now(),
          definition = CASE WHEN tt.digest = excluded.digest THEN tt.definition ELSE excluded.definition END,
          digest = excluded.digest
    RETURNING tt.approved_digest INTO approved;
    CONTINUE WHEN v.reason IS NOT NULL OR approved IS DISTINCT FROM t_digest;
    CONTINUE WHEN v.tools IS NOT NULL
      AND NOT EXISTS (SELECT FROM unnest(v.tools) p WHERE warden._tool_covers(p, visible_tools.server || '/' || t_name));
    CONTINUE WHEN EXISTS (
      SELECT FROM unnest(v.ancestor_agents || v.agent_id) who
      WHERE NOT EXISTS (SELECT FROM warden.grants g
                        WHERE g.agent_id = who AND g.server = visible_tools.server
                          AND (g.tool = t_name OR g.tool = '*') AND g.revoked_at IS NULL
                          AND g.expires_at > now() AND (g.chain_id IS NULL OR g.chain_id = v.chain_id)));
    visible := visible || jsonb_build_array(t);
  END LOOP;
  RETURN visible;
END
$$;

CREATE FUNCTION warden.approve_tool(server text, tool text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d bytea;
BEGIN
  UPDATE warden.tools tt SET approved_digest = tt.digest
  FROM warden.servers s
  WHERE s.server_id = tt.server_id AND s.name = approve_tool.server AND tt.name = approve_tool.tool
  RETURNING tt.digest INTO d;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown tool %/%', server, tool
      USING ERRCODE = '42704', HINT = 'Tools are recorded when warden-mcp lists them; see warden.tools.';
  END IF;
  PERFORM warden._event('tool_approved', server => server, tool => tool,
                        detail => jsonb_build_object('digest', encode(d, 'hex')));
END
$$;

-- ---------------------------------------------------------------- self-test (superuser only)

CREATE FUNCTION warden._selftest_boundary(mode text)
RETURNS text
LANGUAGE c STRICT
AS 'MODULE_PATHNAME', 'warden_selftest_boundary';

-- ---------------------------------------------------------------- privileges

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA warden FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  warden.add_human(text, text),
  warden.add_agent(text, text, text),
  warden.add_server(text, text, text, jsonb),
  warden.set_mode(text, text)
TO warden_admin;

GRANT EXECUTE ON FUNCTION warden.rotate_keys() TO warden_admin;
GRANT EXECUTE ON FUNCTION
  warden.grant(text, text, jsonb, interval, int, text, uuid),
  warden.revoke_grant(uuid, text),
  warden.approve_tool(text, text)
TO warden_admin;
GRANT EXECUTE ON FUNCTION
  warden.authorize(text, text, text, jsonb, jsonb),
  warden.complete(uuid, text, jsonb),
  warden.visible_tools(text, text, jsonb)
TO warden_proxy;
GRANT EXECUTE ON FUNCTION warden.public_keys() TO warden_admin, warden_issuer, warden_proxy, warden_auditor;
GRANT EXECUTE ON FUNCTION
  warden.start_chain(text, text, text, interval, text[]),
  warden.delegate(text, text, text[], interval)
TO warden_admin, warden_issuer;

GRANT SELECT ON warden.humans, warden.agents, warden.servers, warden.tools, warden.chains,
  warden.tokens, warden.grants, warden.events
TO warden_admin, warden_auditor;
-- Key rows hold only sealed secrets, but even those stay with the owner; ids and public halves
-- are available through warden.public_keys().

