-- Each warden role reaches exactly what the design gives it, and nothing in the schema is
-- reachable by PUBLIC.
BEGIN;
SELECT plan(24);

SELECT has_role('warden_admin');
SELECT has_role('warden_issuer');
SELECT has_role('warden_proxy');
SELECT has_role('warden_auditor');
SELECT ok(NOT r.rolcanlogin AND NOT r.rolsuper, r.rolname || ' is a NOLOGIN, non-superuser group role')
FROM pg_roles r WHERE r.rolname = 'warden_proxy';

-- PUBLIC: no schema usage, no table, no function.
SELECT ok(NOT has_schema_privilege('public', 'warden', 'USAGE'), 'PUBLIC has no USAGE on schema warden');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'warden' AND has_function_privilege('public', p.oid, 'EXECUTE')),
          0, 'PUBLIC can execute no warden function');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'warden' AND c.relkind IN ('r', 'p', 'v')
             AND (has_table_privilege('public', c.oid, 'SELECT')
               OR has_table_privilege('public', c.oid, 'INSERT'))),
          0, 'PUBLIC can read or write no warden table');

-- warden_proxy: no table at all, directly.
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'warden' AND c.relkind IN ('r', 'p', 'v')
             AND (has_table_privilege('warden_proxy', c.oid, 'SELECT')
               OR has_table_privilege('warden_proxy', c.oid, 'INSERT')
               OR has_table_privilege('warden_proxy', c.oid, 'UPDATE')
               OR has_table_privilege('warden_proxy', c.oid, 'DELETE'))),
          0, 'warden_proxy cannot read or write any warden table directly');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.add_agent(text, text, text)', 'EXECUTE'),
          'warden_proxy cannot register agents');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.set_mode(text, text)', 'EXECUTE'),
          'warden_proxy cannot change modes');

-- warden_auditor reads, but cannot write or manage.
SELECT ok(has_table_privilege('warden_auditor', 'warden.agents', 'SELECT'), 'warden_auditor reads agents');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'warden' AND c.relkind IN ('r', 'p')
             AND (has_table_privilege('warden_auditor', c.oid, 'INSERT')
               OR has_table_privilege('warden_auditor', c.oid, 'UPDATE')
               OR has_table_privilege('warden_auditor', c.oid, 'DELETE')
               OR has_table_privilege('warden_auditor', c.oid, 'TRUNCATE'))),
          0, 'warden_auditor can change no warden table');
SELECT ok(NOT has_function_privilege('warden_auditor', 'warden.add_human(text, text)', 'EXECUTE'),
          'warden_auditor cannot add humans');

-- warden_admin manages inventory through functions, never by writing tables directly.
SELECT ok(has_function_privilege('warden_admin', 'warden.add_agent(text, text, text)', 'EXECUTE'),
          'warden_admin registers agents');
SELECT ok(has_function_privilege('warden_admin', 'warden.add_server(text, text, text, jsonb)', 'EXECUTE'),
          'warden_admin registers servers');
SELECT ok(NOT has_table_privilege('warden_admin', 'warden.agents', 'UPDATE'),
          'warden_admin cannot update agents directly');

-- The boundary self-test is for superusers only.
SELECT ok(NOT has_function_privilege('warden_admin', 'warden._selftest_boundary(text)', 'EXECUTE'),
          'self-test functions are not granted to any warden role');

-- Acting as each role, for real.
CREATE ROLE pgtap_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE pgtap_admin LOGIN IN ROLE warden_admin;
CREATE ROLE pgtap_auditor LOGIN IN ROLE warden_auditor;

SET ROLE pgtap_admin;
SELECT lives_ok($$SELECT warden.add_human('pgtap-owner@example.com')$$, 'admin adds a human');
SELECT lives_ok($$SELECT warden.add_agent('pgtap-agent', 'pgtap-owner@example.com')$$, 'admin adds an agent');
SELECT throws_ok($$UPDATE warden.agents SET status = 'active'$$, '42501', NULL, 'admin cannot UPDATE agents');
RESET ROLE;

SET ROLE pgtap_proxy;
SELECT throws_ok($$SELECT * FROM warden.agents$$, '42501', NULL, 'proxy cannot SELECT agents');
SELECT throws_ok($$SELECT warden.add_agent('x', 'pgtap-owner@example.com')$$, '42501', NULL,
                 'proxy cannot call add_agent');
RESET ROLE;

SET ROLE pgtap_auditor;
SELECT throws_ok($$DELETE FROM warden.agents$$, '42501', NULL, 'auditor cannot DELETE agents');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
