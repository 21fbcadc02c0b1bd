-- 0.2.0: the indexes of warden.events live on each partition, not on the partitioned table.
--
-- Partitions are not extension members (10_event_partitions.sql), so pg_dump writes them out
-- with their indexes; indexes of the (member) partitioned table are not dumped, and attaching a
-- restored partition would create them again: "relation ... already exists" at every restore.
-- With no index on the parent, a partition's indexes are its own, created with it
-- (warden._index_event_partition) and dumped and restored with it.
ALTER TABLE warden.events DROP CONSTRAINT events_pkey;
DROP INDEX warden.events_chain, warden.events_token, warden.events_parent, warden.events_writer;
DO $indexes$
DECLARE
  p regclass;
BEGIN
  FOR p IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
           WHERE i.inhparent = 'warden.events'::regclass LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD PRIMARY KEY (event_id, at)', p);
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (chain_id, at)', p);
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (token_id, at)', p);
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (parent_id) WHERE parent_id IS NOT NULL', p);
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (writer, seq)', p);
  END LOOP;
END
$indexes$;
