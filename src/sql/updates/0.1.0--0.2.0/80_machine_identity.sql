-- 0.2.0: agents acting for people, machine to machine (issue 14). An agent proves itself with a
-- key of its own (private_key_jwt) or a SPIFFE JWT-SVID from a trusted trust domain; which people
-- an agent may act for is policy (acting_policies); signed assertions are single use (jtis).

-- An agent's public signing keys (JWKs; never a private member). A key is retired, not deleted.
CREATE TABLE warden.agent_keys (
  agent_id   uuid NOT NULL REFERENCES warden.agents (agent_id),
  kid        text NOT NULL CHECK (pg_catalog.length(kid) BETWEEN 1 AND 200),
  kty        text NOT NULL CHECK (kty IN ('RSA', 'EC', 'OKP')),
  jwk        jsonb NOT NULL,
  added_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  added_by   text NOT NULL DEFAULT session_user,
  retired_at timestamptz,
  PRIMARY KEY (agent_id, kid)
);

-- A SPIFFE trust domain whose JWT-SVIDs warden accepts, with its JWT bundle (public keys).
CREATE TABLE warden.trust_domains (
  domain_id  uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9._-]{1,255}$'),
  keys       jsonb NOT NULL,               -- [{"kid": ..., "jwk": {...}}]
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user,
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Which agent a SPIFFE ID is.
CREATE TABLE warden.agent_spiffe_ids (
  spiffe_id  text PRIMARY KEY CHECK (spiffe_id ~ '^spiffe://[a-z0-9._-]{1,255}(/[A-Za-z0-9._~!$&''()*+,;=:@%-]+)+$'
                                     AND pg_catalog.length(spiffe_id) <= 2048),
  agent_id   uuid NOT NULL REFERENCES warden.agents (agent_id),
  domain_id  uuid NOT NULL REFERENCES warden.trust_domains (domain_id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user
);
CREATE INDEX agent_spiffe_ids_agent ON warden.agent_spiffe_ids (agent_id);

-- Whom an agent may act for without a browser: a subject, 'group:NAME' (the IdP's groups claim)
-- or 'owner'. An agent without a row acts for its owner only.
CREATE TABLE warden.acting_policies (
  agent_id   uuid NOT NULL REFERENCES warden.agents (agent_id),
  humans     text NOT NULL CHECK (pg_catalog.length(humans) BETWEEN 1 AND 512),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user,
  PRIMARY KEY (agent_id, humans)
);

-- Signed assertions already used (actor assertions, ID-JAGs), until they expire.
CREATE TABLE warden.assertion_jtis (
  issuer     text NOT NULL,
  jti        text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (issuer, jti)
);
CREATE INDEX assertion_jtis_expiry ON warden.assertion_jtis (expires_at);

REVOKE ALL ON warden.agent_keys, warden.trust_domains, warden.agent_spiffe_ids, warden.acting_policies,
  warden.assertion_jtis FROM PUBLIC;
GRANT SELECT ON warden.agent_keys, warden.trust_domains, warden.agent_spiffe_ids, warden.acting_policies
  TO warden_admin, warden_auditor;

SELECT pg_catalog.pg_extension_config_dump('warden.agent_keys'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.trust_domains'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.agent_spiffe_ids'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.acting_policies'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.assertion_jtis'::regclass, '');
