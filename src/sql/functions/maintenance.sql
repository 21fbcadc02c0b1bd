-- Periodic work: event partitions ahead, key rotation when due, retiring spent keys, a seal
-- of the audit trail when one is due (warden._seal_if_due), spent OAuth flow state. The background worker
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
  oauth int;
BEGIN
  parts := warden._ensure_event_partitions(7::int);
  -- pg_settings gives the interval in seconds; current_setting would print it as '1d'.
  rotated := warden._rotate_keys_if_due(coalesce(
    (SELECT ps.setting::int FROM pg_catalog.pg_settings ps WHERE ps.name = 'warden.key_rotation_interval'), 86400)::int);
  sealed := warden._seal_if_due();
  oauth := warden._purge_oauth_state();
  RETURN pg_catalog.jsonb_build_object('partitions_created', parts, 'rotated', rotated, 'sealed', sealed,
                                       'oauth_purged', oauth, 'approvals_closed', warden.expire_approvals());
END
$$;
REVOKE ALL ON FUNCTION warden.maintenance() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.maintenance() TO warden_admin;

-- Authorization requests and refresh tokens that can matter no more: their chain has ended (or
-- none was started) and they expired over a day ago. Until then they are kept, so that a
-- replayed code or a reused refresh token is still recognised and kills its chain.
CREATE OR REPLACE FUNCTION warden._purge_oauth_state()
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  refresh int;
  requests int;
BEGIN
  WITH d AS (DELETE FROM warden.oauth_refresh_tokens rt USING warden.chains c
             WHERE c.chain_id = rt.chain_id AND rt.expires_at < pg_catalog.now() - interval '1 day'
               AND c.expires_at < pg_catalog.now() - interval '1 day' RETURNING 1)
  SELECT count(*) INTO refresh FROM d;
  WITH d AS (DELETE FROM warden.oauth_requests rq
             WHERE rq.expires_at < pg_catalog.now() - interval '1 day'
               AND (rq.chain_id IS NULL OR EXISTS (SELECT FROM warden.chains c WHERE c.chain_id = rq.chain_id
                                                   AND c.expires_at < pg_catalog.now() - interval '1 day'))
             RETURNING 1)
  SELECT count(*) INTO requests FROM d;
  RETURN refresh + requests;
END
$$;
REVOKE ALL ON FUNCTION warden._purge_oauth_state() FROM PUBLIC;
