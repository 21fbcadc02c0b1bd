-- Only warden_proxy, and only through an allowed warden.authorize, obtains a vaulted secret in
-- plaintext. No warden role reads warden.secrets or runs the vault's internal functions; only
-- the proxy may execute authorize; a role that is not the proxy gets a NULL credential even if
-- it is allowed to execute authorize; a denied call carries no credential; no table, view or
-- other function a warden role can reach holds the plaintext.
--
-- A real secret is sealed by test/verifiers/seal.mjs (libsodium crypto_box_seal) to this
-- cluster's vault key; psql runs it (pg_prove runs from the repository root). The plaintext
-- never appears in SQL text: the helper prints the box and the SHA-256 of the plaintext.
BEGIN;
SELECT plan(50);

CREATE ROLE tap_vault_admin LOGIN IN ROLE warden_admin;
CREATE ROLE tap_vault_issuer LOGIN IN ROLE warden_issuer;
CREATE ROLE tap_vault_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_vault_auditor LOGIN IN ROLE warden_auditor;
CREATE SCHEMA tap_vault;

-- The first column of the first row of `statement` run as `who`, or 'ERROR <sqlstate>'.
CREATE FUNCTION tap_vault.as_role(who name, statement text) RETURNS text LANGUAGE plpgsql AS $$
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
CREATE TABLE tap_vault.saved (name text PRIMARY KEY, val text);

-- ---------------------------------------------------------------- a real secret
SELECT encode(warden.vault_public_key(), 'hex') AS tap_vault_pk \gset
\set tap_vault_box `test/verifiers/ensure.sh >&2 && cd test/verifiers && node seal.mjs --random :tap_vault_pk`
INSERT INTO tap_vault.saved VALUES ('sealed', split_part(:'tap_vault_box', ' ', 1)),
                                   ('sha256', split_part(:'tap_vault_box', ' ', 2));
SELECT ok((SELECT val ~ '^[0-9a-f]{100,}$' FROM tap_vault.saved WHERE name = 'sealed'),
          'a secret was sealed to vault_public_key() by libsodium (test/verifiers/seal.mjs)');

SELECT lives_ok($$SELECT warden.add_human('tap-vault@example.com'),
                         warden.add_agent('tap-vault-bot', 'tap-vault@example.com'),
                         warden.add_agent('tap-vault-nogrant', 'tap-vault@example.com'),
                         warden.add_server('tap-vault-sec', 'https://sec.tap.internal/mcp', 'http', '{"kind": "secret"}'),
                         warden.add_server('tap-vault-std', 'tap-upstream --stdio', 'stdio', '{"kind": "secret", "env": "TAP_KEY"}'),
                         warden.grant('tap-vault-bot', 'tap-vault-sec/read'),
                         warden.grant('tap-vault-bot', 'tap-vault-std/*'),
                         warden.grant('tap-vault-nogrant', 'tap-vault-std/*')$$, 'inventory and grants');
SELECT is(tap_vault.as_role('tap_vault_admin',
            format('SELECT warden.put_secret(%L, decode(%L, ''hex''))', 'tap-vault-sec',
                   (SELECT val FROM tap_vault.saved WHERE name = 'sealed'))), '1',
          'warden_admin stores the sealed secret (version 1)');
SELECT is(tap_vault.as_role('tap_vault_admin',
            format('SELECT warden.put_secret(%L, decode(%L, ''hex''), template => %L)', 'tap-vault-std',
                   (SELECT val FROM tap_vault.saved WHERE name = 'sealed'), '{secret}')), '1',
          'warden_admin stores it for the stdio server too');
SELECT is(tap_vault.as_role(r, format('SELECT warden.put_secret(%L, decode(%L, ''hex''))', 'tap-vault-sec',
                                      (SELECT val FROM tap_vault.saved WHERE name = 'sealed'))),
          'ERROR 42501', r || ' cannot store secrets')
FROM unnest(ARRAY['tap_vault_issuer', 'tap_vault_proxy', 'tap_vault_auditor']) r;

INSERT INTO tap_vault.saved
SELECT 'token', token FROM warden.start_chain('tap-vault@example.com', 'tap-vault-bot', 'pgtap vault', '10 minutes');
INSERT INTO tap_vault.saved
SELECT 'nogrant', token FROM warden.start_chain('tap-vault@example.com', 'tap-vault-nogrant', 'pgtap vault', '10 minutes');

-- ---------------------------------------------------------------- warden.secrets is unreadable

SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE has_table_privilege(r, 'warden.secrets', 'SELECT')
                   OR has_any_column_privilege(r, 'warden.secrets', 'SELECT')),
          '{}'::text[], 'no warden role, the proxy included, may SELECT warden.secrets (table or any column)');
SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE has_table_privilege(r, 'warden.secrets', 'INSERT') OR has_table_privilege(r, 'warden.secrets', 'UPDATE')
                   OR has_table_privilege(r, 'warden.secrets', 'DELETE') OR has_table_privilege(r, 'warden.secrets', 'TRUNCATE')),
          '{}'::text[], 'no warden role may change warden.secrets');
SELECT is(tap_vault.as_role(r, 'SELECT wrapped::text FROM warden.secrets LIMIT 1'), 'ERROR 42501',
          r || ' reading warden.secrets is refused')
FROM unnest(ARRAY['tap_vault_admin', 'tap_vault_issuer', 'tap_vault_proxy', 'tap_vault_auditor']) r;

-- ---------------------------------------------------------------- internal functions

SELECT is(ARRAY(SELECT r || ' ' || p.oid::regprocedure::text
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                CROSS JOIN unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE n.nspname = 'warden' AND p.proname LIKE '\_%' AND has_function_privilege(r, p.oid, 'EXECUTE')
                ORDER BY 1),
          '{}'::text[], 'no warden role may execute any internal (_*) warden function');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a
                WHERE n.nspname = 'warden' AND a.grantee = 0 AND a.privilege_type = 'EXECUTE' ORDER BY 1),
          '{}'::text[], 'PUBLIC may execute no warden function');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                WHERE p.oid IN ('warden._vault_wrap_sealed(uuid, int, bytea)'::regprocedure,
                                'warden._signing_key(int)'::regprocedure,
                                'warden._rotate_keys_if_due(int)'::regprocedure)
                  AND p.prosecdef),
          '{}'::text[], 'the vault''s internal functions are not SECURITY DEFINER');
SELECT is(tap_vault.as_role(r, format('SELECT warden._vault_wrap_sealed(gen_random_uuid(), 1, decode(%L, ''hex''))',
                                      (SELECT val FROM tap_vault.saved WHERE name = 'sealed'))),
          'ERROR 42501', r || ' calling _vault_wrap_sealed is refused')
FROM unnest(ARRAY['tap_vault_admin', 'tap_vault_issuer', 'tap_vault_proxy', 'tap_vault_auditor']) r;
SELECT is(tap_vault.as_role('tap_vault_proxy', 'SELECT key_id FROM warden._signing_key(86400)'), 'ERROR 42501',
          'tap_vault_proxy calling _signing_key is refused');

-- ---------------------------------------------------------------- who may call authorize

SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE has_function_privilege(r, 'warden.authorize(text, text, text, jsonb, jsonb)', 'EXECUTE')),
          ARRAY['warden_proxy'], 'only warden_proxy may execute authorize');
SELECT is(tap_vault.as_role(r, format('SELECT credential::text FROM warden.authorize(%L, %L, %L)',
                                      (SELECT val FROM tap_vault.saved WHERE name = 'token'), 'tap-vault-sec', 'read')),
          'ERROR 42501', r || ' calling authorize is refused')
FROM unnest(ARRAY['tap_vault_admin', 'tap_vault_issuer', 'tap_vault_auditor']) r;

-- ---------------------------------------------------------------- the proxy, allowed calls only

-- Since 0.2.0 authorize never returns a credential, and warden.credential vends one only for
-- a decision that has committed. Everything here runs in one open transaction: the proxy's
-- allowed decision yields no credential at all (finding 2, credential_without_committed_decision:
-- BEGIN; authorize; ROLLBACK used to leave the proxy holding a minted credential).
-- test/shell/vault_credentials.sh checks the vended plaintext after commit.
INSERT INTO tap_vault.saved
SELECT 'proxy_http', tap_vault.as_role('tap_vault_proxy',
  format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L), event_id) FROM warden.authorize(%L, %L, %L)',
         ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'token'), 'tap-vault-sec', 'read'));
SELECT is((SELECT split_part(val, ' ', 1) || ' ' || split_part(val, ' ', 2) || ' ' || split_part(val, ' ', 3)
           FROM tap_vault.saved WHERE name = 'proxy_http'),
          't granted NULL', 'the proxy''s allowed call: authorize returns no credential');
SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT warden.credential(%L)::text', (SELECT split_part(val, ' ', 4) FROM tap_vault.saved WHERE name = 'proxy_http'))),
          'ERROR 25001', 'credential_without_committed_decision: no credential for a decision of the open transaction');
SELECT is(tap_vault.as_role('tap_vault_proxy', format('SELECT warden.credential(%L)::text', gen_random_uuid())),
          'ERROR 42704', 'no credential for an unknown decision');
SELECT is(ARRAY(SELECT r FROM unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE has_function_privilege(r, 'warden.credential(uuid)', 'EXECUTE')),
          ARRAY['warden_proxy'], 'only warden_proxy may execute credential');
SELECT is((SELECT count(*)::int FROM warden.events WHERE kind = 'credential_vended'), 0,
          'nothing was vended');

-- Denied calls: a tool not granted, an agent without a grant for the server, a bad token, a
-- revoked chain. Each is denied and carries no credential.
SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L)',
                   ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'token'), 'tap-vault-sec', 'delete')),
          'f no_grant NULL', 'the proxy: a tool outside the grant is denied without credential');
SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L)',
                   ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'nogrant'), 'tap-vault-sec', 'read')),
          'f no_grant NULL', 'the proxy: an agent without a grant on the server is denied without credential');
SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L)',
                   ' ', 'NULL', 'v4.local.forged', 'tap-vault-sec', 'read')),
          'f token_invalid NULL', 'the proxy: an invalid token is denied without credential');
SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L, %L)',
                   ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'token'), 'tap-vault-sec', 'read', '[1]')),
          'f invalid_arguments NULL', 'the proxy: invalid arguments are denied without credential');

-- A role that is not the proxy, even if someone grants it EXECUTE on authorize, is allowed the
-- call but never handed the credential.
GRANT EXECUTE ON FUNCTION warden.authorize(text, text, text, jsonb, jsonb) TO tap_vault_admin, tap_vault_auditor;
SELECT is(tap_vault.as_role(r,
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L)',
                   ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'token'), s, t)),
          't granted NULL', r || ' with EXECUTE on authorize: ' || s || ' allowed, credential NULL')
FROM unnest(ARRAY['tap_vault_admin', 'tap_vault_auditor']) r,
     (VALUES ('tap-vault-sec', 'read'), ('tap-vault-std', 'run')) AS c (s, t);
REVOKE EXECUTE ON FUNCTION warden.authorize(text, text, text, jsonb, jsonb) FROM tap_vault_admin, tap_vault_auditor;

SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L)',
                   ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'token'), 'tap-vault-sec', 'read')) = 't granted NULL',
          true, 'control: the same call is allowed for the proxy');
SELECT lives_ok(format('SELECT warden.revoke_chain(%L)',
                       (SELECT chain_id FROM warden.chains WHERE purpose = 'pgtap vault'
                        AND root_agent_id = (SELECT agent_id FROM warden.agents WHERE name = 'tap-vault-bot'))),
                'the chain is revoked');
SELECT is(tap_vault.as_role('tap_vault_proxy',
            format('SELECT concat_ws(%L, allowed, reason, coalesce(credential::text, %L)) FROM warden.authorize(%L, %L, %L)',
                   ' ', 'NULL', (SELECT val FROM tap_vault.saved WHERE name = 'token'), 'tap-vault-sec', 'read')),
          'f chain_revoked NULL', 'the proxy: a call in a revoked chain is denied without credential');

-- ---------------------------------------------------------------- no other way to the plaintext

-- What the roles can read: the audit trail, secrets_status, every view. None holds the value.
SELECT is(tap_vault.as_role('tap_vault_auditor',
            format('SELECT count(*) FROM warden.events e WHERE strpos(e::text, %L) > 0',
                   (SELECT left(val, 64) FROM tap_vault.saved WHERE name = 'sealed'))),
          '0', 'the audit trail the auditor reads does not hold the sealed box');
SELECT is(tap_vault.as_role('tap_vault_auditor',
            'SELECT count(*) FROM warden.events WHERE kind = ''call'' AND detail -> ''credential'' ? ''value'''),
          '0', 'call events name the credential without its value');
SELECT is(tap_vault.as_role('tap_vault_auditor',
            'SELECT string_agg(detail ->> ''version'', '','') FROM warden.events WHERE kind = ''secret_stored'''),
          '1,1', 'secret_stored events name the version');
SELECT is(tap_vault.as_role(r,
            format('SELECT count(*) FROM warden.secrets_status() s WHERE strpos(s::text, %L) > 0',
                   (SELECT left(val, 64) FROM tap_vault.saved WHERE name = 'sealed'))),
          '0', r || ': secrets_status() does not show the sealed box')
FROM unnest(ARRAY['tap_vault_admin', 'tap_vault_auditor']) r;
SELECT is(tap_vault.as_role('tap_vault_auditor', 'SELECT string_agg(server || '':'' || version, '','' ORDER BY server) FROM warden.secrets_status()'),
          'tap-vault-sec:1,tap-vault-std:1', 'secrets_status() lists the versions');
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                CROSS JOIN unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE n.nspname = 'warden' AND c.relkind IN ('v', 'm')
                  AND has_table_privilege(r, c.oid, 'SELECT')
                  AND EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
                              WHERE w.ev_class = c.oid AND d.refobjid = 'warden.secrets'::regclass)
                ORDER BY 1),
          '{}'::text[], 'no view a warden role can read is built on warden.secrets');
-- The only functions a warden role can run that read warden.secrets are authorize (proxy),
-- put_secret (writes) and secrets_status (no value column).
SELECT is(ARRAY(SELECT DISTINCT p.oid::regprocedure::text
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                CROSS JOIN unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor']) r
                WHERE n.nspname = 'warden' AND has_function_privilege(r, p.oid, 'EXECUTE')
                  AND p.prosrc ~* 'warden\.secrets\M'
                ORDER BY 1),
          ARRAY['warden.put_secret(text,bytea,text,text)', 'warden.secrets_status()'],
          'only put_secret and secrets_status among the SQL functions roles can run mention warden.secrets');
SELECT is((SELECT array_agg(a ORDER BY a) FROM pg_proc p, unnest(p.proargnames) a
           WHERE p.oid = 'warden.secrets_status()'::regprocedure),
          ARRAY['age', 'created_at', 'header', 'rotation_days', 'rotation_due', 'server', 'version'],
          'secrets_status() has no value, template or wrapped column');

SELECT * FROM finish();
ROLLBACK;
