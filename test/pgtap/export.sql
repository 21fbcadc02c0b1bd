-- Who may read the audit trail as OCSF and drive the export (issue 17). warden_auditor reads
-- ocsf_events but cannot move an export cursor (it could make the SIEM miss events);
-- warden_exporter runs the three export functions and reads no table; the proxy, the issuer
-- and PUBLIC get none of it.
BEGIN;
SELECT plan(15);

SELECT is(
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_exporter', p.oid, 'EXECUTE')
        ORDER BY 1),
  ARRAY['warden.advance_export_cursor(text,timestamp with time zone,uuid,integer)',
        'warden.export_batch(text,integer)',
        'warden.export_lag(text)',
        'warden.export_secret(text)',
        'warden.ocsf_events(timestamp with time zone,integer)',
        'warden.ssf_batch(uuid,integer)',
        'warden.ssf_push_targets()'],
  'warden_exporter executes the export functions (and the Shared Signals transmitter''s) and nothing else');
SELECT ok(NOT EXISTS (SELECT FROM pg_class c WHERE c.relnamespace = 'warden'::regnamespace
                      AND c.relkind IN ('r', 'p', 'v') AND has_table_privilege('warden_exporter', c.oid, 'SELECT')),
          'warden_exporter reads no table');
SELECT ok(has_function_privilege('warden_auditor', 'warden.ocsf_events(timestamptz, int)', 'EXECUTE'), 'auditor reads OCSF');
SELECT ok(has_function_privilege('warden_admin', 'warden.ocsf_events(timestamptz, int)', 'EXECUTE'), 'admin reads OCSF');
SELECT ok(NOT has_function_privilege('warden_auditor', 'warden.export_batch(text, int)', 'EXECUTE'), 'auditor does not export');
SELECT ok(NOT has_function_privilege('warden_auditor', 'warden.advance_export_cursor(text, timestamptz, uuid, int)', 'EXECUTE'),
          'auditor cannot move a cursor');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.ocsf_events(timestamptz, int)', 'EXECUTE'), 'proxy does not read OCSF');
SELECT ok(NOT has_function_privilege('warden_issuer', 'warden.ocsf_events(timestamptz, int)', 'EXECUTE'), 'issuer does not read OCSF');
SELECT ok(NOT has_function_privilege('public', 'warden.ocsf_events(timestamptz, int)', 'EXECUTE'), 'PUBLIC does not read OCSF');
SELECT ok(NOT has_table_privilege('warden_proxy', 'warden.export_cursors', 'SELECT'), 'proxy does not see cursors');
-- The horizon counts only this database's open transactions.
SELECT ok(pg_get_functiondef('warden._export_horizon()'::regprocedure) LIKE '%current_database()%'
          AND pg_get_functiondef('warden.export_batch(text, int)'::regprocedure) LIKE '%warden._export_horizon()%',
          'export_batch waits only for transactions of its own database');
SELECT ok(NOT has_function_privilege('warden_auditor', 'warden.export_lag(text)', 'EXECUTE'), 'export_lag is the exporter''s');

-- A cursor moves only forward, and only to an event that exists.
SELECT lives_ok($$SELECT warden.add_human('export@example.com'); SELECT count(*) FROM warden.export_batch('pgtap', 10)$$,
                'the exporter reads a batch (and its cursor is made)');
SELECT throws_ok($$SELECT warden.advance_export_cursor('pgtap', now() + interval '1 day', gen_random_uuid(), 1)$$,
                 '22023', NULL, 'a cursor cannot point past events nobody has seen');
SELECT throws_ok($$SELECT warden.ocsf_events('-infinity', 0)$$, '22023', NULL, 'a limit is required');

SELECT * FROM finish();
ROLLBACK;
