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
