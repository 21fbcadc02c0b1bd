-- Audit to the SIEM (issue 17): durable export cursors, and the role that may move them.

-- The exporter reads OCSF events and advances its own cursor, nothing else. It is not the
-- auditor: an auditor reads everything but must not be able to move a cursor past events the
-- SIEM has not received.
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'warden_exporter') THEN
    CREATE ROLE warden_exporter NOLOGIN;
  END IF;
END
$roles$;
GRANT USAGE ON SCHEMA warden TO warden_exporter;

-- Where each export (one per destination, by name) has delivered up to: events are ordered by
-- (at, event_id), and everything up to and including this position has been delivered.
CREATE TABLE warden.export_cursors (
  name       text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  at         timestamptz NOT NULL DEFAULT '-infinity',
  event_id   uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
  delivered  bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON warden.export_cursors FROM PUBLIC;
GRANT SELECT ON warden.export_cursors TO warden_admin, warden_auditor;
SELECT pg_catalog.pg_extension_config_dump('warden.export_cursors'::regclass, '');
