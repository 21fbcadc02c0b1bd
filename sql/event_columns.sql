-- The event row is described once in C++ (src/extension/event_columns.hpp) and once in SQL
-- (the table). The writer and the verifier compare the two before they use the table, so a
-- drift is a loud error, never an event written or verified with the wrong columns.
BEGIN;
SELECT regress.try($$SELECT warden._event('columns_match'::text)$$) AS write_with_matching_columns;
ALTER TABLE warden.events ADD COLUMN drift int;
SELECT regress.try($$SELECT warden._event('columns_drift'::text)$$) AS write_with_an_extra_column;
SELECT regress.try($$SELECT warden.verify_audit()$$) AS verify_with_an_extra_column;
ROLLBACK;

BEGIN;
ALTER TABLE warden.events ALTER COLUMN reason TYPE varchar;
SELECT regress.try($$SELECT warden._event('columns_drift'::text)$$) AS write_with_a_changed_type;
ROLLBACK;

BEGIN;
ALTER TABLE warden.events RENAME COLUMN trace_id TO trace;
SELECT regress.try($$SELECT warden._event('columns_drift'::text)$$) AS write_with_a_renamed_column;
ROLLBACK;

-- The same session writes and verifies again once the table matches.
BEGIN;
SELECT regress.try($$SELECT warden._event('columns_match'::text)$$) AS write_after_rollback;
SELECT ok FROM warden.verify_audit();
ROLLBACK;
