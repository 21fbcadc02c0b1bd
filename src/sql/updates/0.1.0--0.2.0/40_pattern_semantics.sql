-- 0.2.0: the "pattern" argument predicate matches the whole value (0.1.0 searched for it
-- anywhere in the value, so [a-z]+ accepted "abc; rm -rf / #"); "search" keeps the old
-- meaning. Live grants with a pattern become stricter, never wider: name them so their owners
-- can check each one (and switch to "search" where a partial match was meant).
DO $patterns$
DECLARE
  affected text;
BEGIN
  SELECT pg_catalog.string_agg(g.grant_id::text, ', ' ORDER BY g.created_at) INTO affected
  FROM warden.grants g
  WHERE g.revoked_at IS NULL AND g.expires_at > pg_catalog.now() AND g.constraints::text ~ '"pattern"';
  IF affected IS NOT NULL THEN
    RAISE NOTICE 'live grants whose "pattern" constraints now match whole values: %', affected
      USING HINT = 'Review them in warden.grants; use "search" where a match anywhere in the value was meant.';
  END IF;
END
$patterns$;
