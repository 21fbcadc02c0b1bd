-- 0.2.0: identity in. warden-mcp is the OAuth 2.1 authorization server of its /mcp resource,
-- federated to OpenID Connect identity providers; every step of a flow is a row here, so any
-- gateway replica can continue a flow another one began. Secrets of a flow (codes, refresh
-- tokens, consent tokens, state, nonce) are kept only as SHA-256 hashes; the two that must be
-- read back (an IdP's client secret, the IdP code verifier of a sign-in in progress) are
-- wrapped under the vault subkey, bound to their row.

CREATE TABLE warden.identity_providers (
  idp_id     uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  name       text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  issuer     text NOT NULL UNIQUE,
  client_id  text NOT NULL CHECK (client_id <> ''),
  audience   text,
  options    jsonb NOT NULL DEFAULT '{}',
  discovery  jsonb,                   -- the OIDC discovery document as last fetched
  fetched_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user
);

-- The IdP's client secret, sealed to warden.vault_public_key() by the admin and re-wrapped.
CREATE TABLE warden.idp_secrets (
  idp_id     uuid NOT NULL REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  version    int NOT NULL,
  wrapped    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user,
  PRIMARY KEY (idp_id, version)
);

-- The IdP's signing keys (JWKS). A key missing from a newer JWKS is retired, not deleted, so
-- that what a past sign-in was verified with stays on record.
CREATE TABLE warden.idp_keys (
  idp_id     uuid NOT NULL REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  kid        text NOT NULL,
  kty        text NOT NULL CHECK (kty IN ('RSA', 'EC', 'OKP')),
  alg        text,
  jwk        jsonb NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT pg_catalog.now(),
  retired_at timestamptz,
  PRIMARY KEY (idp_id, kid)
);

-- A human proven by an IdP is (idp, subject); humans added by hand keep idp NULL.
ALTER TABLE warden.humans ADD COLUMN idp uuid REFERENCES warden.identity_providers (idp_id);
CREATE UNIQUE INDEX humans_idp_subject ON warden.humans (idp, subject) WHERE idp IS NOT NULL;

-- An agent that registered itself as an OAuth client waits in 'pending' for an admin.
ALTER TABLE warden.agents DROP CONSTRAINT agents_status_check;
ALTER TABLE warden.agents ADD CONSTRAINT agents_status_check
  CHECK (status IN ('pending', 'active', 'suspended', 'killed'));

-- A task token minted for a DPoP key (RFC 9449) carries the key's JWK thumbprint: authorize
-- refuses it without a proof from that key.
ALTER TABLE warden.tokens ADD COLUMN dpop_jkt text;

-- OAuth clients; each is one agent.
CREATE TABLE warden.oauth_clients (
  client_id     text PRIMARY KEY CHECK (pg_catalog.length(client_id) BETWEEN 1 AND 2048),
  agent_id      uuid NOT NULL REFERENCES warden.agents (agent_id),
  registration  text NOT NULL CHECK (registration IN ('admin', 'dynamic', 'metadata')),
  redirect_uris text[] NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX oauth_clients_agent ON warden.oauth_clients (agent_id);

-- One authorization request, from /authorize through sign-in and consent to its code.
CREATE TABLE warden.oauth_requests (
  request_id         uuid PRIMARY KEY,
  client_id          text NOT NULL REFERENCES warden.oauth_clients (client_id),
  idp_id             uuid NOT NULL REFERENCES warden.identity_providers (idp_id),
  redirect_uri       text NOT NULL,
  code_challenge     text NOT NULL,
  state              text NOT NULL,
  scope              text,
  resource           text NOT NULL,
  idp_state_hash     bytea NOT NULL UNIQUE,
  idp_nonce_hash     bytea NOT NULL,
  idp_verifier       bytea NOT NULL,           -- wrapped ('sign-in', request_id)
  created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at         timestamptz NOT NULL,
  signed_in_at       timestamptz,
  human_id           uuid REFERENCES warden.humans (human_id),
  purpose            text,
  tools              text[],
  consent_token_hash bytea,
  decided_at         timestamptz,
  approved           boolean,
  code_hash          bytea UNIQUE,
  code_expires_at    timestamptz,
  redeemed_at        timestamptz,
  chain_id           uuid REFERENCES warden.chains (chain_id)
);
CREATE INDEX oauth_requests_expiry ON warden.oauth_requests (expires_at);
CREATE INDEX oauth_requests_chain ON warden.oauth_requests (chain_id) WHERE chain_id IS NOT NULL;

-- Refresh tokens: bound to a chain and a client (and a DPoP key when the chain's tokens are);
-- each is used once, replaced by the next.
CREATE TABLE warden.oauth_refresh_tokens (
  refresh_id  uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  token_hash  bytea NOT NULL UNIQUE,
  chain_id    uuid NOT NULL REFERENCES warden.chains (chain_id),
  client_id   text NOT NULL REFERENCES warden.oauth_clients (client_id),
  dpop_jkt    text,
  scope       text[] NOT NULL,
  access_token_id uuid,
  issued_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX oauth_refresh_tokens_chain ON warden.oauth_refresh_tokens (chain_id);

REVOKE ALL ON warden.identity_providers, warden.idp_secrets, warden.idp_keys, warden.oauth_clients,
  warden.oauth_requests, warden.oauth_refresh_tokens FROM PUBLIC;
-- Secrets and flow state stay with the owner; configuration is readable like the inventory.
GRANT SELECT ON warden.identity_providers, warden.idp_keys, warden.oauth_clients
  TO warden_admin, warden_auditor;

SELECT pg_catalog.pg_extension_config_dump('warden.identity_providers'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.idp_secrets'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.idp_keys'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.oauth_clients'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.oauth_requests'::regclass, '');
SELECT pg_catalog.pg_extension_config_dump('warden.oauth_refresh_tokens'::regclass, '');

-- Offboarding (warden.revoke_human): a revoked human starts no chain and signs in no more.
ALTER TABLE warden.humans ADD COLUMN revoked_at timestamptz;
ALTER TABLE warden.humans ADD COLUMN revoked_reason text;
