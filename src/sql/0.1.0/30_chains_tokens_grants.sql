-- warden 0.1.0: chains, tokens, grants

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
  parent_id       uuid,                 -- no self-reference: pg_dump could not order the rows
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
