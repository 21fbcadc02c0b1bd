-- The C++/PostgreSQL error boundary, in both directions. Every ERROR below must leave the
-- session usable: the SELECT after each proves the backend survived.
\set VERBOSITY default

-- A C++ exception thrown in an entry point becomes a clean ERROR with SQLSTATE XX000 and a hint.
SELECT warden._selftest_boundary('cpp_exception');
SELECT 'session continues' AS after_cpp_exception;

-- A warden::Error carries its SQLSTATE, detail and hint to the client.
SELECT warden._selftest_boundary('warden_error');
SELECT regress.try($$SELECT warden._selftest_boundary('warden_error')$$) AS with_sqlstate;
SELECT regress.try($$SELECT warden._selftest_boundary('cpp_exception')$$) AS with_sqlstate;
SELECT 'session continues' AS after_warden_error;

-- A PostgreSQL ERROR raised under C++ is converted to a C++ exception, unwinds the C++ frames,
-- and is re-raised with its original SQLSTATE (22012 division_by_zero).
DO $$
BEGIN
  PERFORM warden._selftest_boundary('pg_error');
EXCEPTION WHEN division_by_zero THEN
  RAISE NOTICE 'caught SQLSTATE % from C++: %', SQLSTATE, SQLERRM;
END
$$;

-- C++ sees the SQLSTATE, and the memory context it started in is current again.
SELECT warden._selftest_boundary('pg_error_observed');

-- Inside a transaction the error aborts only that transaction.
BEGIN;
SELECT warden._selftest_boundary('cpp_exception');
ROLLBACK;
SELECT warden._selftest_boundary('ok') AS after_rollback;

-- Unknown modes are a user error with a hint, not a crash.
SELECT warden._selftest_boundary('nonsense');
