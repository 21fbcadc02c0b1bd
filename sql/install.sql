-- The install script refuses to run outside CREATE EXTENSION, and the extension installs
-- cleanly a second time in the same cluster (roles already exist).
\set VERBOSITY default
SELECT extname, extversion, nspname
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = 'warden';
SELECT rolname, rolcanlogin FROM pg_roles
WHERE rolname IN ('warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor') ORDER BY rolname;
-- Running the script file directly with psql stops at its first line and creates nothing.
\! psql -X -q -d warden_regress -f "$(pg_config --sharedir)/extension/warden--0.2.0.sql" 2>&1
DROP EXTENSION warden;
CREATE EXTENSION warden;
SELECT count(*) AS functions_executable_by_public
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'warden' AND has_function_privilege('public', p.oid, 'EXECUTE');
-- Every SECURITY DEFINER function pins its search_path.
SELECT p.proname
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'warden' AND p.prosecdef
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);
