-- warden: preconditions of a fresh install (runs before anything is created).
--
-- CREATE EXTENSION reuses a schema named warden when one exists. Whoever owns that schema, or
-- put objects in it, could plant functions that warden's SECURITY DEFINER code resolves (an
-- overload of an internal function, say) and so act as the installing superuser. warden
-- therefore installs only into a schema it may trust: absent before (CREATE EXTENSION then
-- creates it, owned by the installing role), or owned by a superuser and empty.
DO $guard$
DECLARE
  owner_name name;
  owner_super boolean;
  objects bigint;
BEGIN
  SELECT r.rolname, r.rolsuper INTO owner_name, owner_super
  FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
  WHERE n.nspname = 'warden';
  IF owner_name IS DISTINCT FROM current_user AND NOT coalesce(owner_super, false) THEN
    RAISE EXCEPTION 'schema "warden" already exists and belongs to role "%"', owner_name
      USING ERRCODE = '42501',
            DETAIL = 'Its owner could plant objects that warden''s privileged functions would use.',
            HINT = 'Drop or rename that schema (after checking what it holds), then run CREATE EXTENSION warden again.';
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
             WHERE n.nspname = 'warden' AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner) THEN
    RAISE EXCEPTION 'schema "warden" already exists and other roles may create objects in it'
      USING ERRCODE = '42501',
            HINT = 'REVOKE CREATE ON SCHEMA warden from every role but its owner, or drop the schema, then run CREATE EXTENSION warden again.';
  END IF;
  SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'warden'::regnamespace)
       + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = 'warden'::regnamespace)
       + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace = 'warden'::regnamespace)
       + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o WHERE o.oprnamespace = 'warden'::regnamespace)
       + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_collation l WHERE l.collnamespace = 'warden'::regnamespace)
       + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_conversion v WHERE v.connamespace = 'warden'::regnamespace)
    INTO objects;
  IF objects > 0 THEN
    RAISE EXCEPTION 'schema "warden" already holds % objects', objects
      USING ERRCODE = '42P06',
            DETAIL = 'warden installs only into a schema it creates or an empty one.',
            HINT = 'Move those objects elsewhere or drop the schema, then run CREATE EXTENSION warden again.';
  END IF;
END
$guard$;
