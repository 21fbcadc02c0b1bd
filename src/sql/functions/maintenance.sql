-- Periodic work: event partitions ahead, key rotation when due, retiring spent keys, a seal
-- of the audit trail when one is due (warden._seal_if_due). The background worker
-- (warden.maintenance_database) calls it every warden.maintenance_interval, and seals every
-- warden.seal_interval in between.
CREATE OR REPLACE FUNCTION warden.maintenance()
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parts int;
  rotated jsonb;
  sealed jsonb;
BEGIN
  parts := warden._ensure_event_partitions(7::int);
  -- pg_settings gives the interval in seconds; current_setting would print it as '1d'.
  rotated := warden._rotate_keys_if_due(coalesce(
    (SELECT ps.setting::int FROM pg_catalog.pg_settings ps WHERE ps.name = 'warden.key_rotation_interval'), 86400)::int);
  sealed := warden._seal_if_due();
  RETURN pg_catalog.jsonb_build_object('partitions_created', parts, 'rotated', rotated, 'sealed', sealed);
END
$$;
REVOKE ALL ON FUNCTION warden.maintenance() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.maintenance() TO warden_admin;
