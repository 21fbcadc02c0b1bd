-- Tamper evidence against a superuser: frequent seals, announced, kept outside the database by
-- warden-mcp --witness FILE, and checked with warden.verify_witnessed (warden-mcp verify-audit).

-- How many events there are, from each writer's newest sequence number (a writer numbers its
-- events 1, 2, 3… without gaps): one index probe per writer instead of a pass over the events.
CREATE OR REPLACE FUNCTION warden._event_count()
RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  WITH RECURSIVE w(writer) AS (
    (SELECT e.writer FROM warden.events e ORDER BY e.writer LIMIT 1)
    UNION ALL
    SELECT (SELECT e.writer FROM warden.events e WHERE e.writer > w.writer ORDER BY e.writer LIMIT 1)
    FROM w WHERE w.writer IS NOT NULL)
  SELECT coalesce(sum((SELECT e.seq FROM warden.events e WHERE e.writer = w.writer ORDER BY e.seq DESC LIMIT 1)), 0)::bigint
  FROM w WHERE w.writer IS NOT NULL
$$;
REVOKE ALL ON FUNCTION warden._event_count() FROM PUBLIC;

-- Seals the audit trail when events were written since the last seal and that seal is at
-- least `warden.seal_interval` old, then announces the seal's id on channel warden_events
-- as {"kind": "seal", "seal_id": …} (delivered at commit; a witness fetches the token with
-- warden.seal_token, so a forged notice gains nothing). The maintenance worker calls it every seal interval.
CREATE OR REPLACE FUNCTION warden._seal_if_due()
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  last record;
  interval_seconds int := coalesce(
    (SELECT ps.setting::int FROM pg_catalog.pg_settings ps WHERE ps.name = 'warden.seal_interval'), 10);
  sealed jsonb;
BEGIN
  SELECT s.sealed_at, s.events INTO last FROM warden.seals s ORDER BY s.sealed_at DESC LIMIT 1;
  IF FOUND AND last.sealed_at > pg_catalog.now() - pg_catalog.make_interval(secs => interval_seconds) THEN
    RETURN NULL;
  END IF;
  -- Anything new since? The last seal counted the events before its own audit_sealed event.
  IF warden._event_count() <= coalesce(last.events + 1, 0) THEN
    RETURN NULL;
  END IF;
  sealed := warden.seal_audit();
  PERFORM pg_catalog.pg_notify('warden_events',
                               pg_catalog.jsonb_build_object('kind', 'seal', 'seal_id', sealed ->> 'seal_id')::text);
  RETURN sealed - 'seal';
END
$$;
REVOKE ALL ON FUNCTION warden._seal_if_due() FROM PUBLIC;

-- A stored seal, for a witness (NULL: the newest): public (signed, holds writer heads and
-- MACs only).
CREATE OR REPLACE FUNCTION warden.seal_token(seal_id uuid, OUT id uuid, OUT token text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.seal_id, s.token FROM warden.seals s
  WHERE s.seal_id = seal_token.seal_id OR seal_token.seal_id IS NULL
  ORDER BY s.sealed_at DESC LIMIT 1
$$;
REVOKE ALL ON FUNCTION warden.seal_token(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.seal_token(uuid) TO warden_proxy, warden_admin, warden_auditor;

-- verify_audit plus seal tokens kept outside the database: each must verify with the signing
-- key it names, and every writer head it names must still be in warden.events with the same
-- MAC. Problems name the witnessed seal by its position (witnessed#N).
CREATE OR REPLACE FUNCTION warden.verify_witnessed(seals text[], OUT ok boolean,
                                                   OUT events_checked bigint, OUT problems jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'warden_verify_witnessed';
REVOKE ALL ON FUNCTION warden.verify_witnessed(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.verify_witnessed(text[]) TO warden_admin, warden_auditor;
