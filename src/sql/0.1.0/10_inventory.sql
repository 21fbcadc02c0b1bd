-- warden 0.1.0: identities and inventory

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
