-- The operator console (issue 16) at /console of warden-mcp.

-- Which groups of an identity provider's people see the console, and as what: an auditor reads
-- every page; an admin also acts (kill, grant, revoke). A person whose groups map to nothing
-- gets no access. The role is worked out again on every request (the session keeps the
-- groups), so a mapping removed takes effect at once.
CREATE TABLE warden.console_groups (
  idp_id     uuid NOT NULL REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  group_name text NOT NULL CHECK (group_name <> '' AND pg_catalog.length(group_name) <= 256),
  role       text NOT NULL CHECK (role IN ('auditor', 'admin')),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (idp_id, group_name)
);

-- A signed-in console user: only the session id's hash is kept; the ID token's subject and
-- groups as verified at sign-in; eight hours at most.
CREATE TABLE warden.console_sessions (
  session_hash bytea PRIMARY KEY,
  idp_id       uuid NOT NULL REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  subject      text NOT NULL,
  groups       text[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON warden.console_sessions (expires_at);

REVOKE ALL ON warden.console_groups, warden.console_sessions FROM PUBLIC;
GRANT SELECT ON warden.console_groups TO warden_admin, warden_auditor;

SELECT pg_catalog.pg_extension_config_dump('warden.console_groups', '');
SELECT pg_catalog.pg_extension_config_dump('warden.console_sessions', '');
