-- Who may take and read decisions. warden_proxy runs the decision functions (and the few the
-- front-end needs to start: public keys, upstreams, sessions) and nothing else, and reads no
-- table; warden_auditor reads the audit trail and runs the attribution queries but changes
-- nothing and decides nothing. Then, as real login roles: a gateway in warden_proxy takes
-- decisions end to end, and an auditor attributes them.
BEGIN;
SELECT plan(49);

-- Every function of the schema the proxy may execute, exactly.
SELECT is(
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_proxy', p.oid, 'EXECUTE')
        ORDER BY 1),
  ARRAY['warden.approval_for(uuid)',
        'warden.approval_page(text,uuid)',
        'warden.approval_state(uuid)',
        'warden.assertion_keys(text,text)',
        'warden.authorize(text,text,text,jsonb,jsonb)',
        'warden.begin_approver_sign_in(text,text,text)',
        'warden.begin_authorization(text,text,text,text,text,text,text,text)',
        'warden.callable(text,text,text[])',
        'warden.complete(uuid,text,jsonb)',
        'warden.complete_approver_sign_in(text,text,text,text)',
        'warden.complete_sign_in(text,jsonb,text,text)',
        'warden.consent(uuid,text,boolean)',
        'warden.console_grant(text,text,text,jsonb,interval,integer,text)',
        'warden.console_kill(text,text,uuid,uuid,text)',
        'warden.console_page(text,text,text)',
        'warden.console_revoke_grant(text,uuid,text)',
        'warden.console_sign_out(text)',
        'warden.credential(uuid)',
        'warden.credential_for_last_decision()',
        'warden.dead_tokens(uuid[])',
        'warden.decide_approval(text,uuid,boolean,text)',
        'warden.exchange_token(jsonb)',
        'warden.identity_provider(text)',
        'warden.idp_callback(text)',
        'warden.idp_client_secret(text)',
        'warden.open_session(text,jsonb)',
        'warden.public_keys()',
        'warden.receive_security_event(text,jsonb,jsonb)',
        'warden.redeem_authorization_code(text,text,text,text,text,text)',
        'warden.refresh_access_token(text,text,text)',
        'warden.register_dynamic_client(jsonb)',
        'warden.register_metadata_client(text,jsonb,boolean)',
        'warden.revoke_oauth_token(text,text)',
        'warden.seal_token(uuid)',
        'warden.ssf_create_stream(jsonb,text)',
        'warden.ssf_delete_stream(uuid)',
        'warden.ssf_issuer_keys(text)',
        'warden.ssf_stream(uuid)',
        'warden.ssf_stream_status(uuid,text,text)',
        'warden.ssf_update_stream(uuid,jsonb,boolean)',
        'warden.ssf_verify(uuid,text)',
        'warden.store_idp_metadata(text,jsonb,jsonb)',
        'warden.upstreams()',
        'warden.vault_public_key()',
        'warden.visible_tools(text,text,jsonb)']
  COLLATE "C",
  'warden_proxy executes authorize, credential, complete, visible_tools, callable, the front-end start-up functions, the OAuth authorization server''s steps (issue 13), machine flows (issue 14), the approval page and held calls'' steps (issue 15), the console''s session-checked pages and actions (issue 16), Shared Signals stream management and receiving (issue 17) (and seal_token for a witness), nothing else');
SELECT is(
  (SELECT count(*)::int FROM pg_proc p
   WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_proxy', p.oid, 'EXECUTE')
     AND NOT p.prosecdef AND p.proname NOT IN ('public_keys', 'vault_public_key')),
  0, 'every function the proxy executes that reads state is SECURITY DEFINER');
SELECT is(
  (SELECT count(*)::int FROM pg_proc p
   WHERE p.pronamespace = 'warden'::regnamespace AND p.prosecdef
     AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
  0, 'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');

-- The proxy reaches no relation of the schema: tables, partitions, views, sequences.
SELECT is(
  ARRAY(SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'warden'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND has_table_privilege('warden_proxy', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
        ORDER BY 1),
  '{}'::text[], 'warden_proxy has no privilege on any warden table, partition or view');
SELECT is(
  ARRAY(SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'warden'::regnamespace AND c.relkind = 'S'
          AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('warden_proxy', c.oid, 'USAGE, SELECT, UPDATE') END
        ORDER BY 1),
  '{}'::text[], 'warden_proxy has no privilege on any warden sequence');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.grant(text, text, jsonb, interval, int, text, uuid, jsonb)', 'EXECUTE'),
          'warden_proxy cannot grant');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.start_chain(text, text, text, interval, text[])', 'EXECUTE'),
          'warden_proxy cannot start chains');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.attribution(uuid)', 'EXECUTE'),
          'warden_proxy cannot run attribution');

-- The auditor reads events and attributes them ...
SELECT ok(has_table_privilege('warden_auditor', 'warden.events', 'SELECT'), 'warden_auditor reads warden.events');
SELECT ok(has_function_privilege('warden_auditor', 'warden.attribution(uuid)', 'EXECUTE'), 'warden_auditor runs attribution');
SELECT ok(has_function_privilege('warden_auditor', 'warden.chain_tree(uuid)', 'EXECUTE'), 'warden_auditor runs chain_tree');
SELECT ok(has_function_privilege('warden_auditor', 'warden.blast_radius(text)', 'EXECUTE'), 'warden_auditor runs blast_radius');
SELECT ok(to_regprocedure('warden.verify_audit(timestamptz)') IS NULL
          OR has_function_privilege('warden_auditor', 'warden.verify_audit(timestamptz)', 'EXECUTE'),
          'warden_auditor runs verify_audit');
-- Every function of the schema the auditor may execute, exactly: reads, never writes.
SELECT is(
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_auditor', p.oid, 'EXECUTE')
        ORDER BY 1),
  ARRAY['warden.access_review(interval)',
        'warden.approval_state(uuid)',
        'warden.attribution(uuid)',
        'warden.blast_radius(text)',
        'warden.chain_graph(uuid)',
        'warden.chain_tree(uuid)',
        'warden.evidence(timestamp with time zone,timestamp with time zone)',
        'warden.maturity()',
        'warden.ocsf_events(timestamp with time zone,integer)',
        'warden.public_keys()',
        'warden.seal_token(uuid)',
        'warden.secrets_status()',
        'warden.suggest_grants(text,timestamp with time zone)',
        'warden.vault_public_key()',
        'warden.verify_audit(timestamp with time zone)',
        'warden.verify_witnessed(text[])']
  COLLATE "C",
  'warden_auditor executes the audit reads, attribution, OCSF, and where-you-stand (maturity, suggest_grants, access_review, evidence, chain_graph) (issue 16), nothing else');
-- ... but changes nothing ...
SELECT is(
  ARRAY(SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'warden'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND has_table_privilege('warden_auditor', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER')
        ORDER BY 1),
  '{}'::text[], 'warden_auditor can insert, update, delete or truncate no warden table');
SELECT is(
  ARRAY(SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'warden'::regnamespace AND c.relkind = 'S'
          AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('warden_auditor', c.oid, 'USAGE, UPDATE') END
        ORDER BY 1),
  '{}'::text[], 'warden_auditor can advance no warden sequence');
-- ... and decides nothing: no function that writes anything but an audit read.
SELECT is(
  ARRAY(SELECT p.proname::text FROM pg_proc p
        WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_auditor', p.oid, 'EXECUTE')
          AND p.proname IN ('grant', 'revoke_grant', 'authorize', 'complete', 'visible_tools', 'start_chain',
                            'delegate', 'approve_tool', 'add_human', 'add_agent', 'add_server', 'set_mode',
                            'rotate_keys', 'seal_audit', 'revoke_token', 'revoke_chain', 'revoke_agent', 'kill',
                            'reinstate_agent', 'put_secret', 'open_session', 'maintenance')
        ORDER BY 1),
  '{}'::text[], 'warden_auditor executes no function that grants, decides, issues or changes state');
SELECT is(
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_auditor', p.oid, 'EXECUTE')
          AND p.proname LIKE '\_%'
        ORDER BY 1),
  '{}'::text[], 'warden_auditor executes no internal (_) function');

-- Real login roles.
CREATE ROLE tap_dec_gateway LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_dec_auditor LOGIN IN ROLE warden_auditor;
CREATE SCHEMA tap_dec;
GRANT USAGE ON SCHEMA tap_dec TO tap_dec_gateway, tap_dec_auditor;

SELECT lives_ok($$
  SELECT warden.add_human('tap-dec-alice@example.com');
  SELECT warden.add_agent('tap-dec-triage', 'tap-dec-alice@example.com');
  SELECT warden.add_server('tap-dec-tickets', 'https://tickets.tap.internal/mcp');
  SELECT warden.grant('tap-dec-triage', 'tap-dec-tickets/update_ticket', '{"field": {"in": ["priority"]}}');
$$, 'an admin registers the triage example');
CREATE TABLE tap_dec.tok AS
  SELECT s.token, s.chain_id FROM warden.start_chain('tap-dec-alice@example.com', 'tap-dec-triage', 'tap triage') s;
CREATE TABLE tap_dec.calls (label text PRIMARY KEY, event_id uuid);
GRANT SELECT ON tap_dec.tok TO tap_dec_gateway;
GRANT SELECT, INSERT ON tap_dec.calls TO tap_dec_gateway;
GRANT SELECT ON tap_dec.calls, tap_dec.tok TO tap_dec_auditor;

SET ROLE tap_dec_gateway;
SELECT is(current_user::text, 'tap_dec_gateway', 'acting as the gateway login role');
SELECT is(
  (SELECT row(a.allowed, a.reason, a.agent, a.human)::text
   FROM tap_dec.tok, warden.authorize(tok.token, 'tap-dec-tickets', 'update_ticket', '{"field": "priority"}') a),
  '(t,granted,tap-dec-triage,tap-dec-alice@example.com)',
  'the gateway is told: allowed, for agent tap-dec-triage acting for tap-dec-alice');
INSERT INTO tap_dec.calls
  SELECT 'allowed', a.event_id
  FROM tap_dec.tok, warden.authorize(tok.token, 'tap-dec-tickets', 'update_ticket', '{"field": "priority"}') a;
INSERT INTO tap_dec.calls
  SELECT 'denied', a.event_id
  FROM tap_dec.tok, warden.authorize(tok.token, 'tap-dec-tickets', 'update_ticket', '{"field": "status"}') a;
SELECT is(
  (SELECT a.reason FROM tap_dec.tok, warden.authorize(tok.token, 'tap-dec-tickets', 'update_ticket', '{"field": "status"}') a),
  'constraint_failed', 'the gateway is told: denied, constraint_failed');
SELECT is(
  (SELECT a.reason FROM tap_dec.tok, warden.authorize(tok.token, 'tap-dec-tickets', 'refund', '{}') a),
  'no_grant', 'a tool without a grant: no_grant');
SELECT isnt(
  (SELECT warden.complete(c.event_id, 'ok', '{"rows": 1}') FROM tap_dec.calls c WHERE c.label = 'allowed'),
  NULL, 'the gateway records the outcome of the allowed call');
SELECT throws_ok(
  $$SELECT warden.complete(c.event_id, 'ok') FROM tap_dec.calls c WHERE c.label = 'denied'$$,
  '55000', NULL, 'but not of a denied one');
SELECT is(
  (SELECT warden.visible_tools(tok.token, 'tap-dec-tickets',
                               '[{"name": "update_ticket"}, {"name": "refund"}]') FROM tap_dec.tok),
  '[{"name": "update_ticket"}]'::jsonb, 'the gateway lists only the tools the token may call');
SELECT is(
  (SELECT a.reason FROM warden.authorize('v4.local.not-a-token', 'tap-dec-tickets', 'update_ticket') a),
  'token_invalid', 'a forged token is denied, not an error');
SELECT throws_ok($$SELECT count(*) FROM warden.events$$, '42501', NULL, 'the gateway cannot read events');
SELECT throws_ok($$SELECT count(*) FROM warden.grants$$, '42501', NULL, 'the gateway cannot read grants');
SELECT throws_ok($$SELECT count(*) FROM warden.tokens$$, '42501', NULL, 'the gateway cannot read tokens');
SELECT throws_ok($$SELECT warden.grant('tap-dec-triage', 'tap-dec-tickets/refund')$$, '42501', NULL,
                 'the gateway cannot grant itself more');
SELECT throws_ok($$SELECT warden.start_chain('tap-dec-alice@example.com', 'tap-dec-triage', 'x')$$, '42501', NULL,
                 'the gateway cannot start chains');
SELECT throws_ok($$SELECT * FROM warden.attribution(gen_random_uuid())$$, '42501', NULL,
                 'the gateway cannot run attribution');
SELECT throws_ok($$SELECT warden._event('call')$$, '42501', NULL, 'the gateway cannot write events directly');
SELECT throws_ok($$INSERT INTO warden.events (event_id, at, kind, actor, writer, seq, mac)
                   VALUES (gen_random_uuid(), now(), 'call', 'x', gen_random_uuid(), 1, '\x00')$$,
                 '42501', NULL, 'the gateway cannot insert events');
RESET ROLE;

SELECT is(
  (SELECT count(*)::int FROM warden.events e JOIN tap_dec.tok t USING (chain_id) WHERE e.kind = 'call'),
  5, 'each of the gateway''s five calls in the chain is audited');
SELECT is(
  (SELECT count(*)::int FROM warden.events e JOIN tap_dec.calls c ON e.parent_id = c.event_id
   WHERE c.label = 'allowed' AND e.kind = 'completed'),
  1, 'the outcome hangs off its call');

SET ROLE tap_dec_auditor;
SELECT is(current_user::text, 'tap_dec_auditor', 'acting as the auditor login role');
SELECT cmp_ok((SELECT count(*) FROM warden.events), '>', 0::bigint, 'the auditor reads events');
SELECT is(
  (SELECT string_agg(a.kind || ':' || a.name, ' ' ORDER BY a.depth)
   FROM tap_dec.calls c, warden.attribution(c.event_id) a WHERE c.label = 'allowed'),
  'event:call token:tap-dec-triage chain:tap triage human:tap-dec-alice@example.com',
  'the auditor attributes the allowed call to its human');
SELECT is(
  (SELECT count(*)::int FROM tap_dec.tok, warden.chain_tree(tok.chain_id) t WHERE t.kind = 'event'),
  7, 'the auditor sees the whole chain: token_issued, five calls, one completion');
SELECT is(
  (SELECT count(*)::int FROM warden.blast_radius('tap-dec-triage') b WHERE b.kind = 'call'),
  5, 'the auditor sees every call of the agent');
SELECT ok(
  to_regprocedure('warden.verify_audit(timestamptz)') IS NULL OR (SELECT v.ok FROM warden.verify_audit() v),
  'the auditor verifies the audit trail');
SELECT throws_ok($$INSERT INTO warden.events (event_id, at, kind, actor, writer, seq, mac)
                   VALUES (gen_random_uuid(), now(), 'call', 'x', gen_random_uuid(), 1, '\x00')$$,
                 '42501', NULL, 'the auditor cannot insert events');
SELECT throws_ok($$UPDATE warden.grants SET max_calls = 1$$, '42501', NULL, 'the auditor cannot update grants');
SELECT throws_ok($$DELETE FROM warden.tokens$$, '42501', NULL, 'the auditor cannot delete tokens');
SELECT throws_ok(
  $$SELECT warden.authorize(tok.token, 'tap-dec-tickets', 'update_ticket', '{"field": "priority"}') FROM tap_dec.tok$$,
  '42501', NULL, 'the auditor cannot authorize');
SELECT throws_ok($$SELECT warden.grant('tap-dec-triage', 'tap-dec-tickets/refund')$$, '42501', NULL,
                 'the auditor cannot grant');
-- warden.complete serialises the outcomes of one call by locking the call's event row: a role
-- that reads events must not be able to hold that lock and keep outcomes out.
SELECT throws_ok($$SELECT 1 FROM warden.events FOR KEY SHARE$$, '42501', NULL,
                 'the auditor cannot lock event rows (and so cannot hold outcomes back)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
