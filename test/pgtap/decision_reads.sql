-- What warden.authorize reads, one row at a time: every fact a decision takes from the token,
-- chain, person, agent, delegating agents, server, tool and grants has a test here that fails
-- if the decision stops reading it (or reads it wrongly): since 0.2.0 these are index probes,
-- not one SQL statement (src/extension/authorize.cpp, load_state).
BEGIN;
SELECT plan(32);

DO $$ BEGIN
  PERFORM warden.add_human('tap-dr@example.com');
  PERFORM warden.add_human('tap-dr-other@example.com');
  PERFORM warden.add_agent('tap-dr-bot', 'tap-dr@example.com');
  PERFORM warden.add_agent('tap-dr-sub', 'tap-dr@example.com');
  PERFORM warden.add_agent('tap-dr-watch', 'tap-dr@example.com');
  PERFORM warden.add_server('tapdr', 'https://tapdr.internal/mcp');
  PERFORM warden.add_server('tapdr-two', 'https://tapdr-two.internal/mcp');
END $$;

-- The audit event of one decision, read by the next statement (the event is not in the deciding
-- statement's snapshot); "reason: detail" of it, and the grant an allowed call was made under.
CREATE FUNCTION pg_temp.event_of(token text, tool text, server text DEFAULT 'tapdr', context jsonb DEFAULT NULL)
RETURNS warden.events LANGUAGE plpgsql AS $$
DECLARE
  id uuid := (SELECT a.event_id FROM warden.authorize(token, server, tool, '{}', context) a);
BEGIN
  RETURN (SELECT e FROM warden.events e WHERE e.event_id = id);
END
$$;
CREATE FUNCTION pg_temp.decide(token text, tool text, server text DEFAULT 'tapdr', context jsonb DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
  SELECT e.reason || ': ' || coalesce(e.detail ->> 'detail', '') FROM pg_temp.event_of(token, tool, server, context) e
$$;
CREATE FUNCTION pg_temp.granted_by(token text, tool text) RETURNS uuid LANGUAGE sql AS $$
  SELECT (e.detail ->> 'grant_id')::uuid FROM pg_temp.event_of(token, tool) e WHERE e.allowed
$$;

CREATE TEMP TABLE dr (label text PRIMARY KEY, token text, chain_id uuid, token_id uuid, grant_id uuid);
INSERT INTO dr (label, token, chain_id)
SELECT 'main', token, chain_id FROM warden.start_chain('tap-dr@example.com', 'tap-dr-bot', 'decision reads', '1 hour');
INSERT INTO dr (label, token, chain_id)
SELECT 'other', token, chain_id FROM warden.start_chain('tap-dr@example.com', 'tap-dr-bot', 'decision reads, other chain', '1 hour');
INSERT INTO dr (label, token, chain_id)
SELECT 'listed', token, chain_id FROM warden.start_chain('tap-dr@example.com', 'tap-dr-bot', 'decision reads, tool list', '1 hour', ARRAY['tapdr/listed']);
INSERT INTO dr (label, token, chain_id)
SELECT 'moved', token, chain_id FROM warden.start_chain('tap-dr@example.com', 'tap-dr-bot', 'decision reads, moved token', '1 hour');
INSERT INTO dr (label, token, chain_id)
SELECT 'revoked', token, chain_id FROM warden.start_chain('tap-dr@example.com', 'tap-dr-bot', 'decision reads, revoked chain', '1 hour');
UPDATE dr SET token_id = t.token_id FROM warden.tokens t WHERE t.chain_id = dr.chain_id AND t.depth = 0;
-- Grants: for every tool; for one tool; bound to another chain; bound to this chain.
DO $$ BEGIN
  PERFORM warden.grant('tap-dr-bot', 'tapdr/*', ttl => '1 hour');
  PERFORM warden.grant('tap-dr-sub', 'tapdr/*', ttl => '1 hour');
  PERFORM warden.grant('tap-dr-bot', 'tapdr/only-this', ttl => '1 hour');
  PERFORM warden.grant('tap-dr-bot', 'tapdr-two/elsewhere', ttl => '1 hour');
  PERFORM warden.grant('tap-dr-bot', 'tapdr/bound', ttl => '1 hour', chain_id => (SELECT chain_id FROM dr WHERE label = 'other'));
END $$;
INSERT INTO dr (label, token, chain_id, token_id)
SELECT 'sub', d.token, p.chain_id, d.token_id
FROM dr p, warden.delegate(p.token, 'tap-dr-sub', ARRAY['tapdr/*']) d WHERE p.label = 'main';
CREATE FUNCTION pg_temp.tok(l text) RETURNS text LANGUAGE sql AS $$ SELECT token FROM dr WHERE label = l $$;

-- The caller, person and chain it names.
SELECT is((SELECT row(a.allowed, a.reason, a.agent, a.human, a.trace_id = c.trace_id, a.chain_id = c.chain_id)::text
             FROM warden.authorize(pg_temp.tok('main'), 'tapdr', 'anything', '{}') a, warden.chains c
            WHERE c.chain_id = (SELECT chain_id FROM dr WHERE label = 'main')),
          '(t,granted,tap-dr-bot,tap-dr@example.com,t,t)', 'allowed: the agent, person, trace and chain of the call');

-- Server and tool.
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'x', server => 'tapdr-none'), 'unknown_server: no upstream server named tapdr-none',
          'a server that does not exist');
INSERT INTO warden.tools (server_id, name, digest, approved_digest)
SELECT server_id, n, d, a FROM warden.servers,
  (VALUES ('changed', '\x01'::bytea, '\x02'::bytea), ('unapproved', '\x01', NULL), ('approved', '\x01', '\x01'), ('unseen', NULL, NULL)) v(n, d, a)
WHERE name = 'tapdr';
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'changed'), 'tool_changed: the definition of tapdr/changed changed and awaits warden.approve_tool',
          'a tool whose definition differs from the approved one');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'unapproved'), 'tool_changed: the definition of tapdr/unapproved changed and awaits warden.approve_tool',
          'a tool whose definition was never approved');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'approved'), 'granted: ', 'a tool whose definition is the approved one');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'unseen'), 'granted: ', 'a tool known without a definition (neither digest)');

-- The token's own tool list.
SELECT is(pg_temp.decide(pg_temp.tok('listed'), 'other'), 'no_grant: the token does not include tapdr/other',
          'a tool outside the token''s list');
SELECT is(pg_temp.decide(pg_temp.tok('listed'), 'listed'), 'granted: ', 'a tool on the token''s list');

-- Grants: the tool, the chain, expiry, revocation, the order they are tried in.
UPDATE warden.grants SET revoked_at = now() WHERE agent_id = (SELECT agent_id FROM warden.agents WHERE name = 'tap-dr-bot') AND tool = '*';
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'only-this'), 'granted: ', 'a grant for exactly this tool');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'not-this'), 'no_grant: no live grant for tapdr/not-this',
          'a grant for another tool does not apply; a revoked one for every tool neither');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'elsewhere'), 'no_grant: no live grant for tapdr/elsewhere',
          'a grant for a tool of the same name on another server');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'bound'), 'no_grant: no live grant for tapdr/bound', 'a grant bound to another chain');
SELECT is(pg_temp.decide(pg_temp.tok('other'), 'bound'), 'granted: ', 'a grant bound to this chain');
UPDATE warden.grants SET expires_at = now() WHERE tool = 'only-this';
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'only-this'), 'no_grant: no live grant for tapdr/only-this', 'an expired grant');

-- A grant without a budget is used before one with a budget; among equals the oldest first.
UPDATE dr SET grant_id = warden.grant('tap-dr-bot', 'tapdr/budgeted', ttl => '1 hour', max_calls => 5) WHERE label = 'main';
UPDATE dr SET grant_id = warden.grant('tap-dr-bot', 'tapdr/budgeted', ttl => '1 hour') WHERE label = 'other';
UPDATE warden.grants SET created_at = now() - interval '2 hours' WHERE grant_id = (SELECT grant_id FROM dr WHERE label = 'main');
UPDATE warden.grants SET created_at = now() - interval '1 hour' WHERE grant_id = (SELECT grant_id FROM dr WHERE label = 'other');
SELECT is(pg_temp.granted_by(pg_temp.tok('main'), 'budgeted'), (SELECT grant_id FROM dr WHERE label = 'other'),
          'the grant without a budget is used, though the budgeted one is older');
SELECT is((SELECT calls_used FROM warden.grants WHERE grant_id = (SELECT grant_id FROM dr WHERE label = 'main')), 0,
          'the budget is not spent');
UPDATE dr SET grant_id = warden.grant('tap-dr-bot', 'tapdr/twice', ttl => '1 hour') WHERE label = 'listed';
UPDATE dr SET grant_id = warden.grant('tap-dr-bot', 'tapdr/twice', ttl => '1 hour') WHERE label = 'sub';
UPDATE warden.grants SET created_at = now() - interval '1 hour' WHERE grant_id = (SELECT grant_id FROM dr WHERE label = 'listed');
UPDATE warden.grants SET created_at = now() - interval '2 hours' WHERE grant_id = (SELECT grant_id FROM dr WHERE label = 'sub');
SELECT is(pg_temp.granted_by(pg_temp.tok('main'), 'twice'), (SELECT grant_id FROM dr WHERE label = 'sub'),
          'of two grants without a budget, the older is used');
CREATE TEMP TABLE drg AS
SELECT n, warden.grant('tap-dr-bot', 'tapdr/budgets', ttl => '1 hour', max_calls => 3) AS grant_id FROM generate_series(1, 2) n;
UPDATE warden.grants g SET created_at = now() - n * interval '1 hour' FROM drg WHERE g.grant_id = drg.grant_id;
SELECT is(pg_temp.granted_by(pg_temp.tok('main'), 'budgets'), (SELECT grant_id FROM drg WHERE n = 2),
          'of two grants with a budget, the older is used');

-- Delegation: the delegating agent's grant, its status, its token.
SELECT is(pg_temp.decide(pg_temp.tok('sub'), 'twice'), 'granted: ', 'a sub-agent''s call its delegator may make');
SELECT is(pg_temp.decide(pg_temp.tok('sub'), 'somewhere'), 'no_grant: delegating agent tap-dr-bot holds no grant for this call',
          'a sub-agent''s call its delegator may not make');
UPDATE warden.agents SET status = 'suspended' WHERE name = 'tap-dr-bot';
SELECT is(pg_temp.decide(pg_temp.tok('sub'), 'twice'), 'agent_suspended: an agent above this one in the chain is suspended',
          'a suspended delegating agent');
UPDATE warden.agents SET status = 'active' WHERE name = 'tap-dr-bot';
UPDATE warden.tokens SET revoked_at = now() WHERE token_id = (SELECT token_id FROM dr WHERE label = 'main');
SELECT is(pg_temp.decide(pg_temp.tok('sub'), 'twice'), 'token_revoked: a token this one was delegated from was revoked',
          'a revoked token above the sub-agent''s');
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'approved'), 'token_revoked: the token was revoked', 'a revoked token');
UPDATE warden.tokens SET revoked_at = NULL WHERE token_id = (SELECT token_id FROM dr WHERE label = 'main');

-- The token's row must match what the token claims; the chain it belongs to must be live.
UPDATE warden.tokens SET chain_id = (SELECT chain_id FROM dr WHERE label = 'main')
 WHERE token_id = (SELECT token_id FROM dr WHERE label = 'moved');
SELECT is(pg_temp.decide(pg_temp.tok('moved'), 'approved'), 'token_invalid: unknown_token', 'a token row in another chain than the token');
DO $$ BEGIN PERFORM warden.revoke_chain((SELECT chain_id FROM dr WHERE label = 'revoked'), 'pgtap'); END $$;
SELECT is(pg_temp.decide(pg_temp.tok('revoked'), 'approved'), 'chain_revoked: the chain was revoked', 'a revoked chain');
UPDATE warden.tokens SET agent_id = (SELECT agent_id FROM warden.agents WHERE name = 'tap-dr-watch')
 WHERE token_id = (SELECT token_id FROM dr WHERE label = 'listed');
SELECT is(pg_temp.decide(pg_temp.tok('listed'), 'listed'), 'token_invalid: unknown_token', 'a token row naming another agent than the token');

-- Sender-constrained tokens.
UPDATE warden.tokens SET dpop_jkt = 'tap-dr-key' WHERE token_id = (SELECT token_id FROM dr WHERE label = 'other');
SELECT is(pg_temp.decide(pg_temp.tok('other'), 'bound'), 'token_invalid: dpop_proof_required', 'a bound token without a proof');
SELECT is(pg_temp.decide(pg_temp.tok('other'), 'bound', context => '{"dpop_jkt": "tap-dr-key"}'), 'granted: ', 'a bound token with its proof');

-- The chain's end, the agent's mode, the person.
UPDATE warden.chains SET expires_at = now() WHERE chain_id = (SELECT chain_id FROM dr WHERE label = 'other');
SELECT is(pg_temp.decide(pg_temp.tok('other'), 'bound', context => '{"dpop_jkt": "tap-dr-key"}'), 'token_expired: the chain has ended',
          'a chain that has ended');
DO $$ BEGIN PERFORM warden.set_mode('tap-dr-bot', 'observe'); END $$;
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'nowhere'), 'observe:no_grant: no live grant for tapdr/nowhere', 'an agent in observe mode');
DO $$ BEGIN PERFORM warden.set_mode('tap-dr-bot', 'enforce'); END $$;
UPDATE warden.agents SET status = 'suspended' WHERE name = 'tap-dr-bot';
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'approved'), 'agent_suspended: agent tap-dr-bot is suspended', 'a suspended agent');
UPDATE warden.agents SET status = 'active' WHERE name = 'tap-dr-bot';
UPDATE warden.humans SET revoked_at = now() WHERE subject = 'tap-dr@example.com';
SELECT is(pg_temp.decide(pg_temp.tok('main'), 'approved'), 'human_revoked: the person was offboarded', 'an offboarded person');

SELECT * FROM finish();
ROLLBACK;
