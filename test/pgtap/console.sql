-- The console's database half (issue 16): warden.map_group, the console sign-in (the approver
-- sign-in started from /console), console sessions and the role check in every console
-- function, as warden-mcp's role (warden_proxy) calls them. Attacks: a group mapped to nothing,
-- an auditor acting, a session guessed, expired or signed out, a mapping removed while signed
-- in, the gateway's role without a session, next pointing off the console, the gateway's role
-- reading the session table.
BEGIN;
SELECT plan(50);
\ir include/id_token_signer.sql

CREATE ROLE tap_con_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_con_admin LOGIN IN ROLE warden_admin;
CREATE SCHEMA tap_con;
GRANT USAGE ON SCHEMA tap_con TO PUBLIC;

-- The first column of the first row of `statement` run as `who`, or 'ERROR <sqlstate>'.
CREATE FUNCTION tap_con.as_role(who name, statement text) RETURNS text LANGUAGE plpgsql AS $$
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
CREATE FUNCTION tap_con.sign_in(sub text, groups jsonb, next text DEFAULT '/console') RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := warden.begin_approver_sign_in('con-idp', next, 'binding-0123456789-0123456789-0123456789');
BEGIN
  RETURN warden.complete_approver_sign_in(b->>'idp_state', 'binding-0123456789-0123456789-0123456789',
    tap_jws.sign(jsonb_build_object('iss', 'https://idp.con.example', 'aud', 'warden-at-con', 'nonce', b->>'idp_nonce',
                                    'exp', extract(epoch FROM now())::bigint + 300, 'iat', extract(epoch FROM now())::bigint,
                                    'auth_time', extract(epoch FROM now())::bigint, 'sub', sub, 'groups', groups)));
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tap_con TO PUBLIC;

SELECT lives_ok($$SELECT warden.add_identity_provider('con-idp', 'https://idp.con.example', 'warden-at-con'),
                         warden.add_human('owner@con.example'),
                         warden.add_agent('con-bot', 'owner@con.example'),
                         warden.add_server('con-srv', 'http://127.0.0.1:9/mcp')$$,
                'a provider, an agent and a server');
SELECT is(tap_con.as_role('tap_con_admin', $$SELECT warden.pin_identity_provider_keys('con-idp', tap_jws.jwks())->>'pinned'$$), '1',
          'an admin pins the provider''s keys (the database verifies console sign-ins with them)');

-- ------------------------------------------------------------------------------- map_group
SELECT is(tap_con.as_role('tap_con_admin', $$SELECT warden.map_group('con-idp', 'sec-ops', 'admin')$$), '',
          'warden_admin maps a group to admin');
SELECT is(tap_con.as_role('tap_con_admin', $$SELECT warden.map_group('con-idp', 'audit', 'auditor')$$), '',
          'and another to auditor');
SELECT is(tap_con.as_role('tap_con_proxy', $$SELECT warden.map_group('con-idp', 'anyone', 'admin')$$), 'ERROR 42501',
          'the gateway''s role cannot map a group (it could make anyone an admin)');
SELECT is(tap_con.as_role('tap_con_admin', $$SELECT warden.map_group('con-idp', 'x', 'root')$$), 'ERROR 22023',
          'only auditor and admin are roles');
SELECT is(tap_con.as_role('tap_con_admin', $$SELECT warden.map_group('no-idp', 'x', 'admin')$$), 'ERROR 42704',
          'an unknown provider is refused');
SELECT is((SELECT count(*)::int FROM warden.events WHERE kind = 'console_group_mapped'), 2, 'mappings are audited');

-- ----------------------------------------------------------------------------------- sign-in
SELECT is(warden.begin_approver_sign_in('con-idp', '/console/grants', 'binding-0123456789-0123456789-0123456789')->>'idp_extra_scope',
          'groups', 'a console sign-in asks the provider for the groups scope');
SELECT ok(NOT warden.begin_approver_sign_in('con-idp', '/approvals', 'binding-0123456789-0123456789-0123456789') ? 'idp_extra_scope',
          'an approver sign-in does not');
SELECT lives_ok($$SELECT warden.add_identity_provider('con-idp-noscope', 'https://noscope.con.example', 'warden', NULL,
                                                     '{"groups_scope": ""}')$$, 'the option groups_scope is taken');
SELECT ok(NOT warden.begin_approver_sign_in('con-idp-noscope', '/console', 'binding-0123456789-0123456789-0123456789') ? 'idp_extra_scope',
          'groups_scope "" asks the provider for no extra scope');
SELECT throws_ok($$SELECT warden.add_identity_provider('con-idp-bad', 'https://bad.con.example', 'warden', NULL,
                                                      '{"groups_scope": "groups offline_access"}')$$,
                 '22023', NULL, 'groups_scope is one scope name');
SELECT throws_ok($$SELECT warden.begin_approver_sign_in('con-idp', '/console/../mcp', 'binding-0123456789-0123456789-0123456789')$$,
                 'WA400', NULL, 'next cannot leave the console');
SELECT throws_ok($$SELECT warden.begin_approver_sign_in('con-idp', '/consolex', 'binding-0123456789-0123456789-0123456789')$$,
                 'WA400', NULL, 'next is /console or /console/<page> exactly');

CREATE TEMP TABLE s AS SELECT 'admin' AS who, tap_con.sign_in('ana@con.example', '["eng", "sec-ops"]') AS r
  UNION ALL SELECT 'auditor', tap_con.sign_in('aud@con.example', '["audit"]')
  UNION ALL SELECT 'nobody', tap_con.sign_in('nob@con.example', '["eng", "sales"]');
GRANT SELECT ON s TO PUBLIC;
SELECT is((SELECT r->>'console_role' FROM s WHERE who = 'admin'), 'admin', 'a mapped admin group opens an admin session');
SELECT is((SELECT r->>'console_role' FROM s WHERE who = 'auditor'), 'auditor', 'an auditor group an auditor session');
SELECT is((SELECT r->>'error_description' FROM s WHERE who = 'nobody'), 'sign-in refused: no_console_role',
          'groups that map to nothing get no session');
SELECT is((SELECT reason FROM warden.events WHERE kind = 'approver_sign_in_refused' ORDER BY at DESC, seq DESC LIMIT 1),
          'no_console_role', 'the refusal is audited');
SELECT is((SELECT count(*)::int FROM warden.events WHERE kind = 'console_signed_in'), 2, 'sign-ins are audited');
SELECT ok((SELECT count(*) = 2 AND bool_and(cs.session_hash = warden._secret_hash(s.r->>'session'))
           FROM warden.console_sessions cs JOIN s ON cs.subject = s.r->>'approver'),
          'only the hash of each session id is stored');
SELECT is((SELECT count(*)::int FROM warden.approver_sessions), 0, 'no approver session was opened');
SELECT is(tap_con.as_role('tap_con_proxy', 'SELECT count(*) FROM warden.console_sessions'), 'ERROR 42501',
          'the gateway''s role cannot read the sessions');

-- ----------------------------------------------------------------------------- pages, roles
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_page(%L, 'whoami')->>'role'$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), 'auditor', 'the auditor''s session reads as auditor');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT string_agg(jsonb_typeof(warden.console_page(%L, p)->'data'), ',')
            FROM unnest(ARRAY['overview', 'inventory', 'grants', 'chains', 'review']) p$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), 'object,object,object,object,object',
          'an auditor reads every page');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT jsonb_typeof(warden.console_page(%L, 'evidence', '2026-01-01/2100-01-01')->'data')$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), 'object', 'and the evidence');
SELECT is((SELECT detail->>'action' FROM warden.events WHERE kind = 'console_action' ORDER BY at DESC, seq DESC LIMIT 1),
          'evidence_export', 'an evidence export is audited');
SELECT is(tap_con.as_role('tap_con_proxy', $$SELECT warden.console_page('wcs_guessed', 'whoami')$$), 'ERROR 28000',
          'a guessed session reads nothing');
SELECT is(tap_con.as_role('tap_con_proxy', $$SELECT warden.console_page(NULL, 'overview')$$), 'ERROR 28000',
          'no session, no page: the gateway''s role alone reads nothing');

-- ----------------------------------------------------------------------------------- actions
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_grant(%L, 'con-bot', 'con-srv/read', '{}', '1 hour', NULL, 'r')$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), 'ERROR 42501', 'an auditor cannot grant');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_kill(%L, 'con-bot', NULL, NULL, 'r')$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), 'ERROR 42501', 'an auditor cannot kill');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_grant(%L, 'con-bot', 'con-srv/read', '{"n": {"min": "x"}}', '1 hour', NULL, 'r')$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'))) LIKE 'ERROR %', true,
          'an admin''s grant is validated by warden.grant (a bad constraint is refused)');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_grant(%L, 'con-bot', 'con-srv/read', '{}', '400 days', NULL, 'r')$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'))), 'ERROR 22023', 'and so is its lifetime');
CREATE TEMP TABLE g AS SELECT tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_grant(%L, 'con-bot', 'con-srv/read', '{}', '1 hour', 5, 'triage')$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'))) AS id;
SELECT is((SELECT count(*)::int FROM warden.grants gr, g WHERE gr.grant_id::text = g.id AND gr.max_calls = 5), 1, 'an admin grants');
SELECT is((SELECT human || ' ' || (detail->>'action') || ' ' || reason FROM warden.events WHERE kind = 'console_action' ORDER BY at DESC, seq DESC LIMIT 1),
          'ana@con.example grant triage', 'audited with the person who did it');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_revoke_grant(%L, %L, 'done')$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'), (SELECT id FROM g))), '', 'an admin revokes it');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_kill(%L, 'con-bot', NULL, NULL, '')$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'))), 'ERROR 22004', 'a kill needs a reason');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_kill(%L, 'con-bot', NULL, NULL, 'runaway')->'agents'->>0$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'))), 'con-bot', 'an admin kills an agent');
SELECT is((SELECT status FROM warden.agents WHERE name = 'con-bot'), 'suspended', 'through warden.kill');

-- ------------------------------------------------------------- mapping removed, sign-out
SELECT warden.map_group('con-idp', 'sec-ops', NULL);
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_page(%L, 'whoami')$$,
            (SELECT r->>'session' FROM s WHERE who = 'admin'))), 'ERROR 42501',
          'a mapping removed takes the access of sessions already open');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_sign_out(%L)$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), '', 'the gateway signs a person out');
SELECT is((SELECT count(*)::int FROM warden.console_sessions cs WHERE cs.subject = 'aud@con.example'), 0,
          'sign-out ends the session');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_page(%L, 'whoami')$$,
            (SELECT r->>'session' FROM s WHERE who = 'auditor'))), 'ERROR 28000', 'a signed-out session reads nothing');

-- ------------------------------------------------------ offboarding (warden.revoke_human)
-- A console person who is also a human of the provider, revoked: their open session ends, a
-- new sign-in is refused, and the console refuses a session revoke_human could not delete.
SELECT warden.map_group('con-idp', 'sec-ops', 'admin');
SELECT warden.add_human('bo@con.example'), warden.link_human('bo@con.example', 'con-idp');
CREATE TEMP TABLE bo AS SELECT tap_con.sign_in('bo@con.example', '["sec-ops"]') AS r;
GRANT SELECT ON bo TO PUBLIC;
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_page(%L, 'whoami')->>'role'$$,
            (SELECT r->>'session' FROM bo))), 'admin', 'a human of the provider signs in to the console as admin');
SELECT is((warden.revoke_human('bo@con.example', 'left the company')->>'console_sessions')::int, 1,
          'revoke_human ends their console session');
SELECT is(tap_con.as_role('tap_con_proxy', format($$SELECT warden.console_kill(%L, 'con-bot', NULL, NULL, 'spite')$$,
            (SELECT r->>'session' FROM bo))), 'ERROR 28000', 'the offboarded admin''s session can no longer act');
SELECT is(tap_con.sign_in('bo@con.example', '["sec-ops"]')->>'error_description', 'sign-in refused: human_revoked',
          'and a new console sign-in is refused while the provider still lists their group');
SELECT is((SELECT human || ' ' || reason FROM warden.events WHERE kind = 'approver_sign_in_refused' ORDER BY at DESC, seq DESC LIMIT 1),
          'bo@con.example human_revoked', 'the refusal is audited with the person');
-- A session revoke_human skipped (locked by a sign-out in progress) is refused at its use.
INSERT INTO warden.console_sessions (session_hash, idp_id, subject, groups, expires_at)
SELECT warden._secret_hash('wcs_left-over-session'::text), idp_id, 'bo@con.example', '{sec-ops}', now() + interval '1 hour'
FROM warden.identity_providers WHERE name = 'con-idp';
SELECT is(tap_con.as_role('tap_con_proxy', $$SELECT warden.console_page('wcs_left-over-session', 'whoami')$$), 'ERROR 28000',
          'a revoked person''s session that outlived revoke_human reads nothing');
SELECT warden.reinstate_human('bo@con.example', 'came back');
SELECT is(tap_con.sign_in('bo@con.example', '["sec-ops"]')->>'console_role', 'admin', 'reinstated: the console signs them in again');

SELECT * FROM finish();
ROLLBACK;
