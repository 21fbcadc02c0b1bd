-- Event partitions. None belongs to the extension (see updates/0.1.0--0.2.0/10_event_partitions.sql).

-- A new partition's keys and indexes (the partitioned table has none: see
-- updates/0.1.0--0.2.0/11_event_partition_indexes.sql) and its TRUNCATE guard.
CREATE OR REPLACE FUNCTION warden._index_event_partition(partition regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (event_id, at)', partition);
  EXECUTE pg_catalog.format('CREATE INDEX ON %s (chain_id, at)', partition);
  EXECUTE pg_catalog.format('CREATE INDEX ON %s (token_id, at)', partition);
  EXECUTE pg_catalog.format('CREATE INDEX ON %s (parent_id) WHERE parent_id IS NOT NULL', partition);
  EXECUTE pg_catalog.format('CREATE INDEX ON %s (writer, seq)', partition);
  EXECUTE pg_catalog.format('CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON %s '
                            'FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change()', partition);
END
$$;
REVOKE ALL ON FUNCTION warden._index_event_partition(regclass) FROM PUBLIC;

-- The default partition catches events outside every daily partition. Created on the first
-- event of a database (the event writer calls this once per backend), serialised by an
-- advisory lock so that concurrent first events do not race.
CREATE OR REPLACE FUNCTION warden._ensure_default_event_partition() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF pg_catalog.to_regclass('warden.events_default') IS NOT NULL THEN
    RETURN false;
  END IF;
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('warden.events_default'));
  IF pg_catalog.to_regclass('warden.events_default') IS NOT NULL THEN
    RETURN false;
  END IF;
  CREATE TABLE warden.events_default PARTITION OF warden.events DEFAULT;
  PERFORM warden._index_event_partition('warden.events_default'::regclass);
  RETURN true;
END
$$;
REVOKE ALL ON FUNCTION warden._ensure_default_event_partition() FROM PUBLIC;

-- Creates the daily partitions from today through `days_ahead` days from now.
CREATE OR REPLACE FUNCTION warden._ensure_event_partitions(days_ahead int DEFAULT 7) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d date;
  name text;
  made int := 0;
  has_default boolean := pg_catalog.to_regclass('warden.events_default') IS NOT NULL;
  in_default boolean;
BEGIN
  FOR d IN SELECT pg_catalog.generate_series(current_date, current_date + days_ahead, interval '1 day')::date LOOP
    name := 'events_' || pg_catalog.to_char(d, 'YYYYMMDD');
    IF pg_catalog.to_regclass('warden.' || name) IS NULL THEN
      -- A day whose rows already sit in the default partition is left there.
      IF has_default THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM warden.events_default e WHERE e.at >= %L AND e.at < %L)',
                                  d::timestamptz, (d + 1)::timestamptz) INTO in_default;
        CONTINUE WHEN in_default;
      END IF;
      EXECUTE pg_catalog.format('CREATE TABLE warden.%I PARTITION OF warden.events FOR VALUES FROM (%L) TO (%L)',
                                name, d::timestamptz, (d + 1)::timestamptz);
      PERFORM warden._index_event_partition(pg_catalog.format('warden.%I', name)::regclass);
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END
$$;
REVOKE ALL ON FUNCTION warden._ensure_event_partitions(int) FROM PUBLIC;
