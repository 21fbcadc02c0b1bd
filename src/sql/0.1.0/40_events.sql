-- warden 0.1.0: events (the audit graph)

-- Append-only, partitioned by day. Every row carries its writer's MAC chain position (see
-- src/core/audit_mac.hpp): writer (one per database backend), seq and mac.
CREATE TABLE warden.events (
  event_id         uuid NOT NULL,
  at               timestamptz NOT NULL,
  kind             text NOT NULL,
  chain_id         uuid,
  token_id         uuid,
  parent_id        uuid,
  agent            text,
  human            text,
  server           text,
  tool             text,
  allowed          boolean,
  reason           text,
  trace_id         text,
  arguments        jsonb,
  arguments_digest bytea,
  detail           jsonb,
  actor            text NOT NULL,
  writer           uuid NOT NULL,
  seq              bigint NOT NULL,
  mac              bytea NOT NULL,
  PRIMARY KEY (event_id, at)
) PARTITION BY RANGE (at);
CREATE INDEX events_chain ON warden.events (chain_id, at);
CREATE INDEX events_token ON warden.events (token_id, at);
CREATE INDEX events_parent ON warden.events (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX events_writer ON warden.events (writer, seq);
-- Rows outside every daily partition still land somewhere rather than failing a decision.
CREATE TABLE warden.events_default PARTITION OF warden.events DEFAULT;

CREATE FUNCTION warden._refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'warden.events is append-only: % is not allowed', TG_OP
    USING ERRCODE = '42501', HINT = 'Audit events are never changed or removed; record a new event instead.';
END
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON warden.events
  FOR EACH ROW EXECUTE FUNCTION warden._refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON warden.events
  FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON warden.events_default
  FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change();

-- Creates the daily partitions from today through `days_ahead` days from now.
CREATE FUNCTION warden._ensure_event_partitions(days_ahead int DEFAULT 7) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d date;
  name text;
  made int := 0;
BEGIN
  FOR d IN SELECT generate_series(current_date, current_date + days_ahead, interval '1 day')::date LOOP
    name := 'events_' || to_char(d, 'YYYYMMDD');
    IF to_regclass('warden.' || name) IS NULL THEN
      -- A day whose rows already sit in the default partition is left there.
      IF EXISTS (SELECT FROM warden.events_default e WHERE e.at >= d AND e.at < d + 1) THEN
        CONTINUE;
      END IF;
      EXECUTE format('CREATE TABLE warden.%I PARTITION OF warden.events FOR VALUES FROM (%L) TO (%L)',
                     name, d::timestamptz, (d + 1)::timestamptz);
      EXECUTE format('CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON warden.%I '
                     'FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change()', name);
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END
$$;
-- Daily partitions are created by warden.maintenance() (the background worker), not here:
-- tables created by this script belong to the extension, and pg_dump would then expect a
-- restore to recreate partitions of the same dates. Until then events land in the default
-- partition; days that already have rows there stay there.

CREATE FUNCTION warden._event(kind text, chain_id uuid DEFAULT NULL, token_id uuid DEFAULT NULL,
                              parent_id uuid DEFAULT NULL, agent text DEFAULT NULL,
                              human text DEFAULT NULL, detail jsonb DEFAULT NULL,
                              allowed boolean DEFAULT NULL, reason text DEFAULT NULL,
                              server text DEFAULT NULL, tool text DEFAULT NULL)
RETURNS uuid
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'warden_record_event';
