-- Helpers for the other regression files (pg_regress runs files in name order, one database).
CREATE SCHEMA regress;
-- Runs a statement and reports its outcome as "SQLSTATE: message (hint: ...)", so that expected
-- files show the SQLSTATE without depending on source line numbers.
CREATE FUNCTION regress.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text; msg text; hint text; detail text;
BEGIN
  EXECUTE statement;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT,
                          detail = PG_EXCEPTION_DETAIL;
  RETURN state || ': ' || msg
         || CASE WHEN detail <> '' THEN ' (detail: ' || detail || ')' ELSE '' END
         || CASE WHEN hint <> '' THEN ' (hint: ' || hint || ')' ELSE '' END;
END
$$;
SELECT regress.try('SELECT 1/0') AS helper_works;
