-- Revocation over Shared Signals (issue 17): the streams warden transmits Security Event Tokens
-- on (SSF 1.0, push delivery RFC 8935), and the identity providers whose SETs it accepts.

-- One receiver's stream. Events reach it in audit order from a durable export cursor named
-- 'ssf.<stream_id>' (warden.export_cursors), created at the stream's creation: a new stream gets
-- what happens from then on, not the history. The push Authorization header the receiver asked
-- for is kept wrapped under the vault key, never in clear.
CREATE TABLE warden.ssf_streams (
  stream_id          uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  iss                text NOT NULL CHECK (pg_catalog.length(iss) BETWEEN 1 AND 2048),
  audience           text NOT NULL CHECK (pg_catalog.length(audience) BETWEEN 1 AND 2048),
  endpoint_url       text NOT NULL CHECK (pg_catalog.length(endpoint_url) BETWEEN 1 AND 2048),
  push_authorization bytea,
  events_requested   text[] NOT NULL DEFAULT '{}',
  description        text CHECK (pg_catalog.length(description) <= 1000),
  status             text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'paused', 'disabled')),
  status_reason      text CHECK (pg_catalog.length(status_reason) <= 1000),
  created_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at         timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by         text NOT NULL DEFAULT session_user
);
REVOKE ALL ON warden.ssf_streams FROM PUBLIC;
GRANT SELECT (stream_id, iss, audience, endpoint_url, events_requested, description, status, status_reason,
              created_at, updated_at, created_by) ON warden.ssf_streams TO warden_admin, warden_auditor;
SELECT pg_catalog.pg_extension_config_dump('warden.ssf_streams'::regclass, '');

-- An identity provider (warden.identity_providers, its keys in warden.idp_keys) whose SETs the
-- receiver accepts, and the audience those SETs must name.
CREATE TABLE warden.ssf_issuers (
  idp_id     uuid PRIMARY KEY REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  audience   text NOT NULL CHECK (pg_catalog.length(audience) BETWEEN 1 AND 2048),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user
);
REVOKE ALL ON warden.ssf_issuers FROM PUBLIC;
GRANT SELECT ON warden.ssf_issuers TO warden_admin, warden_auditor;
SELECT pg_catalog.pg_extension_config_dump('warden.ssf_issuers'::regclass, '');

-- Secrets an export destination needs (a Splunk HEC token), sealed to warden.vault_public_key()
-- by `warden-mcp secret put --export NAME` and kept wrapped under the vault key; only
-- warden_exporter can open one (warden.export_secret), never warden_auditor or the proxy.
CREATE TABLE warden.export_secrets (
  name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  wrapped    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_by text NOT NULL DEFAULT session_user
);
REVOKE ALL ON warden.export_secrets FROM PUBLIC;
GRANT SELECT (name, created_at, created_by) ON warden.export_secrets TO warden_admin, warden_auditor;
SELECT pg_catalog.pg_extension_config_dump('warden.export_secrets'::regclass, '');
