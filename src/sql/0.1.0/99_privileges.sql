-- warden 0.1.0: privileges

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA warden FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  warden.add_human(text, text),
  warden.add_agent(text, text, text),
  warden.add_server(text, text, text, jsonb),
  warden.set_mode(text, text)
TO warden_admin;

GRANT EXECUTE ON FUNCTION warden.rotate_keys() TO warden_admin;
GRANT EXECUTE ON FUNCTION
  warden.grant(text, text, jsonb, interval, int, text, uuid),
  warden.revoke_grant(uuid, text),
  warden.approve_tool(text, text)
TO warden_admin;
GRANT EXECUTE ON FUNCTION
  warden.authorize(text, text, text, jsonb, jsonb),
  warden.complete(uuid, text, jsonb),
  warden.visible_tools(text, text, jsonb)
TO warden_proxy;
GRANT EXECUTE ON FUNCTION warden.public_keys() TO warden_admin, warden_issuer, warden_proxy, warden_auditor;
GRANT EXECUTE ON FUNCTION
  warden.start_chain(text, text, text, interval, text[]),
  warden.delegate(text, text, text[], interval)
TO warden_admin, warden_issuer;

GRANT SELECT ON warden.humans, warden.agents, warden.servers, warden.tools, warden.chains,
  warden.tokens, warden.grants, warden.events
TO warden_admin, warden_auditor;
-- Key rows hold only sealed secrets, but even those stay with the owner; ids and public halves
-- are available through warden.public_keys().

-- Extension tables are left out of pg_dump unless marked; warden's data must survive a dump
-- and restore (sealed keys included: they only open under the same root key).
DO $dump$
DECLARE
  t regclass;
BEGIN
  FOR t IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'warden' AND c.relkind = 'r' LOOP
    PERFORM pg_catalog.pg_extension_config_dump(t, '');
  END LOOP;
END
$dump$;
