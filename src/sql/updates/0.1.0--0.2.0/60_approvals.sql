-- 0.2.0: a person in the loop. A grant may require a human's approval of the exact call (the
-- same token, server, tool and canonical arguments); the approval is a row, single use, and
-- decided by a human other than the chain's own (separation of duties).

-- warden_approver: logins that approve or deny calls; each maps to a human (warden.map_login).
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'warden_approver') THEN
    CREATE ROLE warden_approver NOLOGIN;
  END IF;
END
$roles$;
GRANT USAGE ON SCHEMA warden TO warden_approver;

-- The grant's approval policy (see warden.grant): NULL = no approval needed.
ALTER TABLE warden.grants ADD COLUMN approval jsonb;

-- Which human a database login acts for when it approves.
CREATE TABLE warden.login_humans (
  role_name  name PRIMARY KEY,
  human_id   uuid NOT NULL REFERENCES warden.humans (human_id),
  mapped_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  mapped_by  text NOT NULL DEFAULT session_user
);

-- Named groups of humans, for approvers such as "group:sre".
CREATE TABLE warden.human_groups (
  group_name text NOT NULL CHECK (group_name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  human_id   uuid NOT NULL REFERENCES warden.humans (human_id),
  added_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (group_name, human_id)
);

CREATE TABLE warden.approvals (
  approval_id      uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  event_id         uuid NOT NULL,             -- the call event that asked (reason approval_required)
  grant_id         uuid NOT NULL REFERENCES warden.grants (grant_id),
  -- The call digest: an approval matches only this token, server, tool and arguments.
  token_id         uuid NOT NULL REFERENCES warden.tokens (token_id),
  chain_id         uuid NOT NULL REFERENCES warden.chains (chain_id),
  server           text NOT NULL,
  tool             text NOT NULL,
  arguments_digest bytea NOT NULL,            -- keyed MAC of the canonical arguments, as in events
  requested_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at       timestamptz NOT NULL,
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'used', 'cancelled')),
  approver         text,                      -- the deciding human's subject
  approver_login   name,
  decided_at       timestamptz,
  note             text CHECK (pg_catalog.length(note) <= 2000),
  decision_event   uuid,                      -- approval_granted / approval_denied
  used_event       uuid,                      -- the allowed call that consumed it
  used_at          timestamptz,
  cancelled_reason text
);
-- At most one open approval per call digest: a retried call finds the one it asked for.
CREATE UNIQUE INDEX approvals_open_call ON warden.approvals (token_id, server, tool, arguments_digest)
  WHERE state IN ('pending', 'approved');
CREATE INDEX approvals_pending ON warden.approvals (expires_at) WHERE state IN ('pending', 'approved');
CREATE INDEX approvals_chain ON warden.approvals (chain_id);

-- A short-lived sign-in of an approver for the approval page; only its hash is kept. Opened
-- either by the person's own database login (login) or through their identity provider (idp).
CREATE TABLE warden.approver_sessions (
  session_hash bytea PRIMARY KEY,
  human_id     uuid NOT NULL REFERENCES warden.humans (human_id),
  login        name,
  idp_id       uuid REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at   timestamptz NOT NULL,
  CONSTRAINT approver_sessions_one_way CHECK ((login IS NULL) <> (idp_id IS NULL))
);

-- An approver's sign-in at the identity provider, between the redirect there and the callback:
-- hashes of the state and nonce sent to the provider and of the browser binding (a cookie set
-- on the browser that started it: a callback in another browser is refused, so nobody can sign
-- a victim's browser into the attacker's session), the wrapped PKCE verifier, where to go next.
CREATE TABLE warden.approver_sign_ins (
  sign_in_id     uuid PRIMARY KEY,
  idp_id         uuid NOT NULL REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  idp_state_hash bytea NOT NULL UNIQUE,
  idp_nonce_hash bytea NOT NULL,
  idp_verifier   bytea NOT NULL,
  binding_hash   bytea NOT NULL,
  next           text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at     timestamptz NOT NULL,
  finished_at    timestamptz
);
CREATE INDEX approver_sign_ins_expiry ON warden.approver_sign_ins (expires_at);

REVOKE ALL ON warden.login_humans, warden.human_groups, warden.approvals, warden.approver_sessions,
  warden.approver_sign_ins FROM PUBLIC;
GRANT SELECT ON warden.login_humans, warden.human_groups, warden.approvals TO warden_admin, warden_auditor;

SELECT pg_catalog.pg_extension_config_dump('warden.login_humans', '');
SELECT pg_catalog.pg_extension_config_dump('warden.human_groups', '');
SELECT pg_catalog.pg_extension_config_dump('warden.approvals', '');
SELECT pg_catalog.pg_extension_config_dump('warden.approver_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('warden.approver_sign_ins', '');

-- warden.grant gains the approval argument: its signature changes, so the old one goes.
DROP FUNCTION warden.grant(text, text, jsonb, interval, int, text, uuid);
