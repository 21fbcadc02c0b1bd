-- Revocation is an administrator's act: only warden_admin may execute revoke_token,
-- revoke_chain, revoke_agent, kill and reinstate_agent; warden_proxy, warden_issuer and
-- warden_auditor may not (checked in the catalog and by calling them). Acting as an admin login
-- role, kill works and the audit trail names that role.
BEGIN;
SELECT plan(30);

CREATE TEMP TABLE rv_functions (sig text PRIMARY KEY);
INSERT INTO rv_functions VALUES
  ('warden.revoke_token(uuid, text)'), ('warden.revoke_chain(uuid, text)'), ('warden.revoke_agent(text, text)'),
  ('warden.kill(text, uuid, uuid, text)'), ('warden.reinstate_agent(text, text)');

-- In the catalog: 5 for warden_admin, 0 for every other role and for PUBLIC.
SELECT is((SELECT count(*)::int FROM rv_functions WHERE has_function_privilege(r, sig, 'EXECUTE')),
          CASE WHEN r = 'warden_admin' THEN 5 ELSE 0 END,
          r || ' may execute ' || CASE WHEN r = 'warden_admin' THEN 'all' ELSE 'none' END
            || ' of the 5 revocation functions')
FROM unnest(ARRAY['warden_admin', 'warden_proxy', 'warden_issuer', 'warden_auditor', 'public']) r;

-- Something to revoke: a chain of two tokens, a second chain, and a token.
DO $$ BEGIN
  PERFORM warden.add_human('pgtap-rv@example.com');
  PERFORM warden.add_agent('pgtap-rv-bot', 'pgtap-rv@example.com');
  PERFORM warden.add_agent('pgtap-rv-sub', 'pgtap-rv@example.com');
  PERFORM warden.add_server('pgtaprv', 'https://pgtaprv.internal/mcp');
  PERFORM warden.grant('pgtap-rv-bot', 'pgtaprv/*');
  PERFORM warden.grant('pgtap-rv-sub', 'pgtaprv/*');
END $$;
CREATE TEMP TABLE rv_tok (label text PRIMARY KEY, token text, token_id uuid, chain_id uuid);
INSERT INTO rv_tok (label, token, chain_id)
SELECT 'one', token, chain_id FROM warden.start_chain('pgtap-rv@example.com', 'pgtap-rv-bot', 'pgtap revocation one');
INSERT INTO rv_tok (label, token, chain_id)
SELECT 'two', token, chain_id FROM warden.start_chain('pgtap-rv@example.com', 'pgtap-rv-bot', 'pgtap revocation two');
UPDATE rv_tok SET token_id = t.token_id FROM warden.tokens t WHERE t.chain_id = rv_tok.chain_id AND t.depth = 0;
INSERT INTO rv_tok SELECT 'one-sub', d.token, d.token_id, p.chain_id
FROM rv_tok p, warden.delegate(p.token, 'pgtap-rv-sub', ARRAY['pgtaprv/*']) d WHERE p.label = 'one';
GRANT SELECT ON rv_tok TO PUBLIC;

CREATE ROLE pgtap_rv_admin LOGIN IN ROLE warden_admin;
CREATE ROLE pgtap_rv_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE pgtap_rv_issuer LOGIN IN ROLE warden_issuer;
CREATE ROLE pgtap_rv_auditor LOGIN IN ROLE warden_auditor;

-- Calling them for real as each of the other roles: 42501, nothing revoked.
CREATE TEMP TABLE rv_calls (what text PRIMARY KEY, sql text);
INSERT INTO rv_calls
SELECT 'revoke_token', format('SELECT warden.revoke_token(%L, %L)', token_id, 'not yours') FROM rv_tok WHERE label = 'one'
UNION ALL
SELECT 'revoke_chain', format('SELECT warden.revoke_chain(%L, %L)', chain_id, 'not yours') FROM rv_tok WHERE label = 'one'
UNION ALL
SELECT 'revoke_agent', $$SELECT warden.revoke_agent('pgtap-rv-bot', 'not yours')$$
UNION ALL
SELECT 'kill', format('SELECT warden.kill(agent => %L, chain_id => %L, reason => %L)', 'pgtap-rv-bot', chain_id, 'not yours')
FROM rv_tok WHERE label = 'one'
UNION ALL
SELECT 'reinstate_agent', $$SELECT warden.reinstate_agent('pgtap-rv-bot', 'not yours')$$;
GRANT SELECT ON rv_calls TO PUBLIC;

SET ROLE pgtap_rv_proxy;
SELECT throws_ok(sql, '42501', NULL, 'warden_proxy cannot call ' || what) FROM rv_calls ORDER BY what;
RESET ROLE;
SET ROLE pgtap_rv_issuer;
SELECT throws_ok(sql, '42501', NULL, 'warden_issuer cannot call ' || what) FROM rv_calls ORDER BY what;
RESET ROLE;
SET ROLE pgtap_rv_auditor;
SELECT throws_ok(sql, '42501', NULL, 'warden_auditor cannot call ' || what) FROM rv_calls ORDER BY what;
RESET ROLE;

SELECT is((SELECT count(*)::int FROM warden.tokens t JOIN rv_tok USING (token_id) WHERE t.revoked_at IS NOT NULL), 0,
          'nothing was revoked by the refused calls');
SELECT is((SELECT status FROM warden.agents WHERE name = 'pgtap-rv-bot'), 'active', 'the agent is still active');

-- As an admin login role (a real session user, so the audit trail names it): kill works.
SET SESSION AUTHORIZATION pgtap_rv_admin;
SELECT is((SELECT (warden.kill(chain_id => chain_id, reason => 'pgtap kill'))->>'tokens' FROM rv_tok WHERE label = 'one'),
          '2', 'an admin kills a chain: both of its tokens');
SELECT lives_ok(format('SELECT warden.revoke_token(%L, %L)', token_id, 'pgtap token'), 'an admin revokes a token')
FROM rv_tok WHERE label = 'two';
SELECT lives_ok($$SELECT warden.revoke_agent('pgtap-rv-sub', 'pgtap agent')$$, 'an admin suspends an agent');
SELECT lives_ok($$SELECT warden.reinstate_agent('pgtap-rv-sub', 'pgtap reinstate')$$, 'an admin reinstates an agent');
RESET SESSION AUTHORIZATION;

SELECT is((SELECT array_agg(DISTINCT t.revoked_by) FROM warden.tokens t JOIN rv_tok USING (token_id)),
          ARRAY['pgtap_rv_admin'], 'every revoked token names the admin role as revoked_by');
SELECT is((SELECT revoked_by FROM warden.chains c JOIN rv_tok USING (chain_id) WHERE rv_tok.label = 'one'),
          'pgtap_rv_admin', 'the revoked chain names the admin role');
SELECT is((SELECT array_agg(e.kind || ':' || e.actor || ':' || e.reason ORDER BY e.at, e.seq) FROM warden.events e
           WHERE e.kind IN ('killed', 'chain_revoked', 'token_revoked', 'agent_suspended', 'agent_reinstated')
             AND e.reason LIKE 'pgtap %'),
          ARRAY['chain_revoked:pgtap_rv_admin:pgtap kill', 'killed:pgtap_rv_admin:pgtap kill',
                'token_revoked:pgtap_rv_admin:pgtap token', 'agent_suspended:pgtap_rv_admin:pgtap agent',
                'agent_reinstated:pgtap_rv_admin:pgtap reinstate'],
          'the events name the admin role as actor, with each reason');

-- The proxy sees the result on its next call.
SET ROLE pgtap_rv_proxy;
SELECT results_eq(
  $$SELECT r.label, d.allowed, d.reason FROM rv_tok r, warden.authorize(r.token, 'pgtaprv', 'read', '{}') d ORDER BY r.label$$,
  $$VALUES ('one', false, 'chain_revoked'), ('one-sub', false, 'chain_revoked'), ('two', false, 'token_revoked')$$,
  'authorize, called by the proxy, denies every revoked token with the right reason');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
