-- 0.2.0: no partition of warden.events belongs to the extension.
--
-- pg_dump -n warden (PostgreSQL 15) crashes on a partition that is an extension member with
-- dumped data: with only the schema selected, the extension is not dumped, its member tables
-- get no parent links, and the data dump of a partition follows its (missing) parent. Daily
-- partitions were never members; the default partition becomes an ordinary table too,
-- created on first use (warden._ensure_default_event_partition) rather than by this script.
-- One that holds events is kept (and then dumped like the daily ones); an empty one is dropped.
ALTER EXTENSION warden DROP TABLE warden.events_default;
DO $default$
BEGIN
  IF NOT EXISTS (SELECT FROM warden.events_default) THEN
    DROP TABLE warden.events_default;
  END IF;
END
$default$;
