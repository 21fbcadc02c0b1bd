-- Refuses UPDATE, DELETE and TRUNCATE on the audit tables (events and their partitions, seals).
CREATE OR REPLACE FUNCTION warden._refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed',
    CASE WHEN TG_TABLE_NAME = 'seals' THEN 'warden.seals' ELSE 'warden.events' END, TG_OP
    USING ERRCODE = '42501', HINT = 'Audit events are never changed or removed; record a new event instead.';
END
$$;
REVOKE ALL ON FUNCTION warden._refuse_change() FROM PUBLIC;
