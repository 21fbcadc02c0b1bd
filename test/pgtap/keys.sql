-- Key material stays out of reach: no warden role reads warden.keys or runs the internal key
-- and token functions, the root key settings are invisible to non-superusers, and no function
-- returns a secret. Issuers issue; proxies and auditors do not.
BEGIN;
SELECT plan(46);

-- Login roles, one per warden role, and helpers that run a statement as one of them.
CREATE ROLE tap_keys_admin LOGIN IN ROLE warden_admin;
CREATE ROLE tap_keys_issuer LOGIN IN ROLE warden_issuer;
CREATE ROLE tap_keys_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_keys_auditor LOGIN IN ROLE warden_auditor;
CREATE SCHEMA tap_keys;

-- The first column of the first row of `statement` run as `who`, or 'ERROR <sqlstate>'.
CREATE FUNCTION tap_keys.as_role(who name, statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  result text;
  state text;
BEGIN
  EXECUTE format('SET LOCAL ROLE %I', who);
  EXECUTE statement INTO result;
  RESET ROLE;
  RETURN coalesce(result, '<NULL>');
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
  RESET ROLE;
  RETURN 'ERROR ' || state;
END
$$;

CREATE TABLE tap_keys.saved (name text PRIMARY KEY, val text);

-- Make sure keys exist (the first rotation creates them) and there is something to protect.
SELECT lives_ok($$SELECT warden.rotate_keys()$$, 'superuser rotates keys');
SELECT ok((SELECT count(*) FROM warden.keys WHERE sealed IS NOT NULL) >= 2, 'sealed token and signing keys exist');

-- ---------------------------------------------------------------- warden.keys is unreadable

SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE has_table_privilege(r, 'warden.keys', 'SELECT')
                   OR has_any_column_privilege(r, 'warden.keys', 'SELECT')),
          '{}'::text[], 'no warden role may SELECT warden.keys (table or any column)');
SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE has_table_privilege(r, 'warden.keys', 'INSERT') OR has_table_privilege(r, 'warden.keys', 'UPDATE')
                   OR has_table_privilege(r, 'warden.keys', 'DELETE') OR has_table_privilege(r, 'warden.keys', 'TRUNCATE')),
          '{}'::text[], 'no warden role may change warden.keys');
SELECT is(tap_keys.as_role(r, 'SELECT sealed::text FROM warden.keys LIMIT 1'), 'ERROR 42501',
          r || ' reading warden.keys is refused')
FROM unnest(ARRAY['tap_keys_admin', 'tap_keys_issuer', 'tap_keys_proxy', 'tap_keys_auditor']) r;

-- ---------------------------------------------------------------- internal functions

SELECT is(ARRAY(SELECT r || ' ' || f FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r,
                unnest(ARRAY['warden._new_key(text)',
                             'warden._mint_task_token(text, bytea, uuid, uuid, uuid, uuid, timestamptz, timestamptz)',
                             'warden._open_token(text)', 'warden._verify_token(text)',
                             'warden._current_key(text)']) f
                WHERE has_function_privilege(r, f, 'EXECUTE')),
          '{}'::text[], 'no warden role may execute _new_key, _mint_task_token, _open_token, _verify_token or _current_key');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                WHERE p.oid IN ('warden._new_key(text)'::regprocedure,
                                'warden._mint_task_token(text, bytea, uuid, uuid, uuid, uuid, timestamptz, timestamptz)'::regprocedure,
                                'warden._open_token(text)'::regprocedure, 'warden._verify_token(text)'::regprocedure,
                                'warden._current_key(text)'::regprocedure)
                  AND p.prosecdef),
          '{}'::text[], 'the internal key and token functions are not SECURITY DEFINER');
SELECT is(tap_keys.as_role(r, $$SELECT key_id FROM warden._current_key('local')$$), 'ERROR 42501',
          r || ' calling _current_key is refused')
FROM unnest(ARRAY['tap_keys_admin', 'tap_keys_issuer', 'tap_keys_proxy', 'tap_keys_auditor']) r;
SELECT is(tap_keys.as_role('tap_keys_admin', $$SELECT key_id FROM warden._new_key('local')$$), 'ERROR 42501',
          'tap_keys_admin calling _new_key is refused');
SELECT is(tap_keys.as_role('tap_keys_issuer',
            $$SELECT warden._mint_task_token('k4.lid.x', '\x00', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
                                             NULL, now(), now() + interval '1 hour')$$),
          'ERROR 42501', 'tap_keys_issuer calling _mint_task_token is refused');
SELECT is(tap_keys.as_role('tap_keys_proxy', $$SELECT reason FROM warden._verify_token('v4.local.x')$$), 'ERROR 42501',
          'tap_keys_proxy calling _verify_token directly is refused');
SELECT is(tap_keys.as_role('tap_keys_auditor', $$SELECT reason FROM warden._open_token('v4.local.x')$$), 'ERROR 42501',
          'tap_keys_auditor calling _open_token is refused');

-- ---------------------------------------------------------------- root key settings

-- Control: the superuser sees both settings, and the key file is configured.
SELECT is((SELECT count(*)::int FROM pg_settings WHERE name IN ('warden.root_key_file', 'warden.root_key_command')), 2,
          'the superuser sees both root key settings in pg_settings');
SELECT isnt(current_setting('warden.root_key_file', true), '', 'the superuser reads warden.root_key_file');
-- PostgreSQL refuses GUC_SUPERUSER_ONLY settings to roles without pg_read_all_settings with
-- 42501, even when current_setting is asked not to complain about missing settings.
SELECT is(tap_keys.as_role(r, $$SELECT current_setting('warden.root_key_file', true)$$), 'ERROR 42501',
          r || ': current_setting(warden.root_key_file, true) raises 42501')
FROM unnest(ARRAY['tap_keys_admin', 'tap_keys_proxy']) r;
SELECT is(tap_keys.as_role('tap_keys_admin', $$SELECT current_setting('warden.root_key_command', true)$$), 'ERROR 42501',
          'tap_keys_admin: current_setting(warden.root_key_command, true) raises 42501');
SELECT is(tap_keys.as_role('tap_keys_admin', $$SELECT current_setting('warden.root_key_file')$$), 'ERROR 42501',
          'tap_keys_admin: current_setting(warden.root_key_file) raises 42501');
SELECT is(tap_keys.as_role('tap_keys_admin', 'SHOW warden.root_key_file'), 'ERROR 42501',
          'tap_keys_admin: SHOW warden.root_key_file raises 42501');
SELECT is(tap_keys.as_role(r, $$SELECT count(*) FROM pg_settings WHERE name LIKE 'warden.root\_key%'$$), '0',
          r || ' sees no root key setting in pg_settings')
FROM unnest(ARRAY['tap_keys_admin', 'tap_keys_issuer', 'tap_keys_proxy', 'tap_keys_auditor']) r;
SELECT is(tap_keys.as_role('tap_keys_admin', $$SELECT count(*) FROM pg_show_all_settings() WHERE name LIKE 'warden.root\_key%'$$),
          '0', 'tap_keys_admin sees no root key setting in pg_show_all_settings()');
SELECT is(tap_keys.as_role('tap_keys_admin', $$SET warden.root_key_file = '/tmp/other.key'$$), 'ERROR 55P02',
          'tap_keys_admin cannot change warden.root_key_file');

-- ---------------------------------------------------------------- no function returns key material

SELECT is((SELECT count(*)::int FROM jsonb_array_elements(warden.public_keys() -> 'keys') k
           WHERE k ?| ARRAY['d', 'k', 'p', 'q', 'dp', 'dq', 'qi', 'sealed']), 0,
          'public_keys() JWKS entries carry no private member (d, k, ...)');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(warden.public_keys() -> 'keys') k
           WHERE length(k ->> 'x') <> 43 OR k ->> 'kty' <> 'OKP' OR k ->> 'crv' <> 'Ed25519'), 0,
          'every JWKS key is a 32-byte Ed25519 public key');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(warden.public_keys() -> 'keys') k
           JOIN warden.keys w ON w.key_id = k ->> 'kid'
           WHERE w.purpose <> 'public' OR warden._b64url(w.public_key) <> k ->> 'x'), 0,
          'every JWKS key is the public half of a signing key');
SELECT is((SELECT count(*)::int FROM jsonb_array_elements(warden.public_keys() -> 'paserk') k
           WHERE NOT starts_with(k ->> 'key', 'k4.public.') OR NOT starts_with(k ->> 'kid', 'k4.pid.')), 0,
          'public_keys() PASERK entries are k4.public keys with k4.pid ids');
SELECT ok(strpos(warden.public_keys()::text, 'k4.secret') = 0 AND strpos(warden.public_keys()::text, 'k4.local') = 0
          AND strpos(warden.public_keys()::text, 'k4.lid') = 0,
          'public_keys() mentions no k4.secret, k4.local or token key');
SELECT ok(strpos(r::text, 'k4.secret') = 0 AND strpos(r::text, 'k4.local.') = 0 AND strpos(r::text, 'sealed') = 0,
          'rotate_keys() reports ids only')
FROM warden.rotate_keys() r;
-- No function a warden role can run has an output named like key material or of type bytea
-- (a public key, if ever returned as bytea, must be added here by name).
SELECT is(ARRAY(SELECT DISTINCT p.oid::regprocedure::text
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                CROSS JOIN unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                LEFT JOIN LATERAL unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                                         coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])),
                                         coalesce(p.proargnames, array_fill(''::text, ARRAY[p.pronargs])))
                  AS a (typ, mode, name) ON a.mode IN ('o', 'b', 't')
                WHERE n.nspname = 'warden' AND has_function_privilege(r, p.oid, 'EXECUTE')
                  AND p.proname NOT IN ('vault_public_key')
                  AND (p.prorettype = 'bytea'::regtype OR a.typ = 'bytea'::regtype
                       OR a.name ~* '(secret|sealed|private|root_key|seed)')
                ORDER BY 1),
          '{}'::text[], 'no function granted to a warden role returns bytea or a secret-named column');

-- ---------------------------------------------------------------- who may issue

INSERT INTO tap_keys.saved VALUES ('human', warden.add_human('tap-keys-human@example.com')::text);
SELECT lives_ok($$SELECT warden.add_agent('tap-keys-root', 'tap-keys-human@example.com'),
                         warden.add_agent('tap-keys-sub', 'tap-keys-human@example.com')$$, 'agents registered');
INSERT INTO warden.grants (agent_id, server, tool, expires_at)
SELECT agent_id, 'tickets', '*', now() + interval '1 hour' FROM warden.agents WHERE name = 'tap-keys-root';

INSERT INTO tap_keys.saved
SELECT 'root', tap_keys.as_role('tap_keys_issuer',
  $$SELECT token FROM warden.start_chain('tap-keys-human@example.com', 'tap-keys-root', 'pgtap', '10 minutes')$$);
SELECT ok(starts_with((SELECT val FROM tap_keys.saved WHERE name = 'root'), 'v4.local.'), 'warden_issuer starts a chain');
INSERT INTO tap_keys.saved
SELECT 'child', tap_keys.as_role('tap_keys_issuer',
  format($$SELECT token FROM warden.delegate(%L, 'tap-keys-sub', ARRAY['tickets/read'])$$,
         (SELECT val FROM tap_keys.saved WHERE name = 'root')));
SELECT ok(starts_with((SELECT val FROM tap_keys.saved WHERE name = 'child'), 'v4.local.'), 'warden_issuer delegates');
SELECT is((SELECT depth FROM warden._verify_token((SELECT val FROM tap_keys.saved WHERE name = 'child')) WHERE reason IS NULL), 1,
          'the delegated token verifies at depth 1');
SELECT is(tap_keys.as_role('tap_keys_proxy',
            $$SELECT token FROM warden.start_chain('tap-keys-human@example.com', 'tap-keys-root', 'pgtap')$$),
          'ERROR 42501', 'warden_proxy cannot start a chain');
SELECT is(tap_keys.as_role('tap_keys_proxy',
            format($$SELECT token FROM warden.delegate(%L, 'tap-keys-sub', ARRAY['tickets/read'])$$,
                   (SELECT val FROM tap_keys.saved WHERE name = 'root'))),
          'ERROR 42501', 'warden_proxy cannot delegate');
SELECT is(tap_keys.as_role('tap_keys_auditor',
            $$SELECT token FROM warden.start_chain('tap-keys-human@example.com', 'tap-keys-root', 'pgtap')$$),
          'ERROR 42501', 'warden_auditor cannot start a chain');
SELECT is(tap_keys.as_role('tap_keys_issuer', 'SELECT warden.rotate_keys()'), 'ERROR 42501',
          'warden_issuer cannot rotate keys');

SELECT * FROM finish();
ROLLBACK;
