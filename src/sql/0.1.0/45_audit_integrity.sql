-- warden 0.1.0: audit integrity (verification and signed seals)

-- Signed checkpoints of every writer's newest event (see warden.seal_audit). The token is a
-- PASETO v4.public signed by a warden signing key; keep a copy outside the database.
CREATE TABLE warden.seals (
  seal_id   uuid PRIMARY KEY,
  sealed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  key_id    text NOT NULL REFERENCES warden.keys (key_id),
  events    bigint NOT NULL,
  token     text NOT NULL
);

CREATE FUNCTION warden.verify_audit(since timestamptz DEFAULT NULL, OUT ok boolean,
                                    OUT events_checked bigint, OUT problems jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_verify_audit';

CREATE FUNCTION warden.seal_audit()
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_seal_audit';

GRANT EXECUTE ON FUNCTION warden.verify_audit(timestamptz) TO warden_admin, warden_auditor;
GRANT EXECUTE ON FUNCTION warden.seal_audit() TO warden_admin;
GRANT SELECT ON warden.seals TO warden_admin, warden_auditor;
