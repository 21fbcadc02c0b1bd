-- Chains and task tokens: issuance, delegation (only ever narrower and shorter), refusals,
-- revocation and suspension as seen by _verify_token, crafted expired / not-yet-valid tokens,
-- hostile token strings (always a reason, never an error), and key rotation.
-- Nothing printed depends on uuids, tokens, key ids or times: tokens live in psql variables.
\set VERBOSITY default

-- Like regress.try, but without DETAIL (some details carry timestamps).
CREATE FUNCTION regress.tokens_try(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text; msg text; hint text;
BEGIN
  EXECUTE statement;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN state || ': ' || msg || CASE WHEN hint <> '' THEN ' (hint: ' || hint || ')' ELSE '' END;
END
$$;

-- The verification outcome of a token string: 'valid', a reason, or 'ERROR <sqlstate>: ...'
-- (the last must never happen).
CREATE FUNCTION regress.tokens_reason(token text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text; state text; msg text;
BEGIN
  SELECT coalesce(v.reason, 'valid') INTO STRICT r FROM warden._verify_token(token) v;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN 'ERROR ' || state || ': ' || msg;
END
$$;

-- The key id named in a token's footer (unauthenticated peek, for comparing keys).
CREATE FUNCTION regress.tokens_kid(token text) RETURNS text LANGUAGE sql AS $$
  SELECT convert_from(decode(rpad(translate(f, '-_', '+/'), (length(f) + 3) / 4 * 4, '='), 'base64'),
                      'UTF8')::jsonb ->> 'kid'
  FROM split_part(token, '.', 4) AS f
$$;

-- A token string with the character at pos replaced by another base64url character.
CREATE FUNCTION regress.tokens_flip(token text, pos int) RETURNS text LANGUAGE sql AS $$
  SELECT overlay(token PLACING CASE WHEN substr(token, pos, 1) = 'A' THEN 'B' ELSE 'A' END
                 FROM pos FOR 1)
$$;

-- Every issued token string, to prove none of them is stored anywhere.
CREATE TABLE regress.tokens_issued (label text PRIMARY KEY, token text NOT NULL);

-- How many rows of any warden table contain the token string or its encrypted payload.
CREATE FUNCTION regress.tokens_stored(token text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  rel regclass;
  n bigint;
  total bigint := 0;
BEGIN
  FOR rel IN SELECT c.oid FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = 'warden' AND c.relkind IN ('r', 'p') LOOP
    EXECUTE format('SELECT count(*) FROM %s x WHERE strpos(x::text, $1) > 0 OR strpos(x::text, $2) > 0', rel)
      INTO n USING token, left(split_part(token, '.', 3), 43);
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;

-- ---------------------------------------------------------------- the cast

SELECT warden.add_human('tok-alice@example.com', 'Alice') IS NOT NULL AS human_added;
SELECT warden.add_human('tok-bob@example.com') IS NOT NULL AS human_added;
SELECT count(*) AS agents_added
FROM unnest(ARRAY['tok-root', 'tok-a1', 'tok-a2', 'tok-a3', 'tok-idle', 'tok-sus', 'tok-deep']) n,
     LATERAL warden.add_agent(n, 'tok-alice@example.com') a;
-- tok-root: all of tickets; tok-a1: read and write; tok-a2: read; tok-a3, tok-idle: nothing.
INSERT INTO warden.grants (agent_id, server, tool, expires_at)
SELECT a.agent_id, g.server, g.tool, now() + interval '1 day'
FROM (VALUES ('tok-root', 'tickets', '*'), ('tok-a1', 'tickets', 'read'), ('tok-a1', 'tickets', 'write'),
             ('tok-a2', 'tickets', 'read'), ('tok-sus', 'tickets', '*'), ('tok-deep', 'tickets', 'read'))
     AS g (agent, server, tool)
JOIN warden.agents a ON a.name = g.agent;

-- ---------------------------------------------------------------- issuing a chain

SELECT chain_id AS c1, token AS t0, expires_at AS e0
FROM warden.start_chain('tok-alice@example.com', 'tok-root', 'triage ticket 4711', '1 hour',
                        ARRAY['tickets/read', 'tickets/write', 'docs/*']) \gset
INSERT INTO regress.tokens_issued VALUES ('t0', :'t0');
SELECT starts_with(:'t0', 'v4.local.') AS v4_local,
       array_length(string_to_array(:'t0', '.'), 1) AS parts,
       :'e0'::timestamptz > now() + interval '59 minutes'
         AND :'e0'::timestamptz <= now() + interval '1 hour' AS expires_in_an_hour;
SELECT coalesce(reason, 'valid') AS reason, agent, human, depth, ancestor_agents, tools,
       chain_id = :'c1' AS same_chain, expires_at = :'e0' AS same_expiry
FROM warden._verify_token(:'t0');
SELECT depth, parent_id IS NULL AS is_root, cardinality(ancestor_agents) AS ancestors, tools,
       expires_at = :'e0' AS same_expiry, revoked_at IS NULL AS live,
       key_id = regress.tokens_kid(:'t0') AS footer_names_key
FROM warden.tokens WHERE chain_id = :'c1';
SELECT c.purpose, h.subject AS human, a.name AS root_agent, c.trace_id = replace(c.chain_id::text, '-', '') AS trace_is_chain,
       c.expires_at = :'e0' AS same_expiry, c.revoked_at IS NULL AS live
FROM warden.chains c JOIN warden.humans h USING (human_id) JOIN warden.agents a ON a.agent_id = c.root_agent_id
WHERE c.chain_id = :'c1';
-- The token string is not stored anywhere (tokens, chains, events, keys ...).
SELECT regress.tokens_stored(:'t0') AS rows_holding_token;

-- ---------------------------------------------------------------- delegation tree

-- depth 1: a subset of the parent's tools, shorter life.
SELECT token_id AS d1, token AS t1, expires_at AS e1
FROM warden.delegate(:'t0', 'tok-a1', ARRAY['tickets/read', 'tickets/write'], '30 minutes') \gset
INSERT INTO regress.tokens_issued VALUES ('t1', :'t1');
-- depth 2: narrower still, no ttl: expires with its parent.
SELECT token_id AS d2, token AS t2, expires_at AS e2
FROM warden.delegate(:'t1', 'tok-a2', ARRAY['tickets/read']) \gset
INSERT INTO regress.tokens_issued VALUES ('t2', :'t2');
-- depth 3: to an agent with no grants of its own (its calls still need every ancestor's grant).
SELECT token_id AS d3, token AS t3, expires_at AS e3
FROM warden.delegate(:'t2', 'tok-a3', ARRAY['tickets/read'], '5 minutes') \gset
INSERT INTO regress.tokens_issued VALUES ('t3', :'t3');
SELECT :'e1'::timestamptz < :'e0'::timestamptz AS e1_before_e0,
       :'e2'::timestamptz = :'e1'::timestamptz AS e2_is_e1,
       :'e3'::timestamptz < :'e2'::timestamptz AS e3_before_e2,
       :'d1'::uuid <> :'d2'::uuid AND :'d2'::uuid <> :'d3'::uuid AS distinct_ids;
SELECT l.label, coalesce(v.reason, 'valid') AS reason, v.agent, v.human, v.depth, v.tools,
       (SELECT array_agg(a.name ORDER BY u.ord) FROM unnest(v.ancestor_agents) WITH ORDINALITY u (id, ord)
        JOIN warden.agents a ON a.agent_id = u.id) AS ancestors,
       v.chain_id = :'c1' AS same_chain
FROM regress.tokens_issued l, LATERAL warden._verify_token(l.token) v
WHERE l.label IN ('t0', 't1', 't2', 't3') ORDER BY l.label;
-- parent links in the table
SELECT t.depth, a.name AS agent, p.depth AS parent_depth, pa.name AS parent_agent
FROM warden.tokens t JOIN warden.agents a ON a.agent_id = t.agent_id
LEFT JOIN warden.tokens p ON p.token_id = t.parent_id LEFT JOIN warden.agents pa ON pa.agent_id = p.agent_id
WHERE t.chain_id = :'c1' ORDER BY t.depth;

-- ---------------------------------------------------------------- delegation never widens

-- a tool the parent token does not hold (though the parent agent is granted tickets/*)
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/delete'])$$, :'t0'));
-- a wildcard is wider than the named tools the parent holds
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/*'])$$, :'t0'));
-- deeper down: t2 holds only tickets/read
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a3', ARRAY['tickets/read', 'tickets/write'])$$, :'t2'));
-- the parent token holds it (docs/*), but the parent agent has no grant for it
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a1', ARRAY['docs/search'])$$, :'t0'));
-- longer than the parent
SELECT regress.tokens_try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'], '2 hours')$$, :'t1'));
SELECT regress.tokens_try(format($$SELECT warden.delegate(%L, 'tok-a3', ARRAY['tickets/read'], '31 minutes')$$, :'t2'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'], '0 seconds')$$, :'t1'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'], '-5 minutes')$$, :'t1'));
-- tool lists: NULL, empty, NULL element, bad names
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', NULL)$$, :'t1'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', '{}')$$, :'t1'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY[NULL]::text[])$$, :'t1'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets'])$$, :'t1'));
-- parent token and agent
SELECT regress.try($$SELECT warden.delegate(NULL, 'tok-a2', ARRAY['tickets/read'])$$);
SELECT regress.try($$SELECT warden.delegate('not a token', 'tok-a2', ARRAY['tickets/read'])$$);
SELECT regress.try(format($$SELECT warden.delegate(%L, NULL, ARRAY['tickets/read'])$$, :'t1'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-ghost', ARRAY['tickets/read'])$$, :'t1'));
-- none of the refusals wrote anything
SELECT count(*) AS tokens_in_chain FROM warden.tokens WHERE chain_id = :'c1';
SELECT count(*) AS delegation_events FROM warden.events WHERE chain_id = :'c1' AND kind = 'token_delegated';

-- A chain without a tool list: delegation is bounded by the root agent's live grants only.
SELECT chain_id AS c2, token AS u0
FROM warden.start_chain('tok-alice@example.com', 'tok-a1', 'no tool list', '1 hour') \gset
INSERT INTO regress.tokens_issued VALUES ('u0', :'u0');
SELECT tools IS NULL AS no_tool_list FROM warden._verify_token(:'u0');
SELECT regress.tokens_try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/write'])$$, :'u0'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['mail/send'])$$, :'u0'));
-- expired, revoked, and other-chain grants do not count; a grant scoped to this chain does.
INSERT INTO warden.grants (agent_id, server, tool, expires_at, revoked_at, chain_id)
SELECT a.agent_id, 'mail', g.tool, now() + g.expires_in, g.revoked_at,
       CASE g.scope WHEN 'this' THEN :'c2'::uuid WHEN 'other' THEN :'c1'::uuid END
FROM (VALUES ('send', interval '-1 minute', NULL::timestamptz, NULL),
             ('read', interval '1 hour', now(), NULL),
             ('list', interval '1 hour', NULL, 'other'),
             ('draft', interval '1 hour', NULL, 'this')) AS g (tool, expires_in, revoked_at, scope)
JOIN warden.agents a ON a.name = 'tok-a1';
SELECT t AS tool, regress.tokens_try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY[%L])$$, :'u0', t)) AS outcome
FROM unnest(ARRAY['mail/send', 'mail/read', 'mail/list', 'mail/draft']) t;
-- An empty tool list holds nothing to delegate.
SELECT token AS w0 FROM warden.start_chain('tok-alice@example.com', 'tok-root', 'nothing', '1 hour', '{}') \gset
INSERT INTO regress.tokens_issued VALUES ('w0', :'w0');
SELECT tools FROM warden._verify_token(:'w0');
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a1', ARRAY['tickets/read'])$$, :'w0'));

-- Delegation depth is bounded: 63 levels below the root, not 64.
CREATE FUNCTION regress.tokens_deepest(root text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  tok text := root;
  n int := 0;
  state text; msg text;
BEGIN
  LOOP
    SELECT d.token INTO tok FROM warden.delegate(tok, 'tok-deep', ARRAY['tickets/read']) d;
    n := n + 1;
    IF n > 100 THEN RETURN 'no depth limit'; END IF;
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN n || ' delegations, then ' || state || ': ' || msg;
END
$$;
SELECT regress.tokens_deepest(token) AS depth_limit
FROM warden.start_chain('tok-alice@example.com', 'tok-deep', 'deep', '1 hour', ARRAY['tickets/read']);

-- ---------------------------------------------------------------- start_chain bad input

SELECT count(*) AS chains_before FROM warden.chains \gset
SELECT regress.try($$SELECT warden.start_chain('tok-nobody@example.com', 'tok-root', 'p')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-ghost', 'p')$$);
SELECT regress.try($$SELECT warden.start_chain(NULL, 'tok-root', 'p')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', NULL, 'p')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', NULL)$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', '   ')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '0 seconds')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '-1 minute')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '25 hours')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '24 hours 1 second')$$);
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', NULL)$$);
SELECT t AS tool, regress.try(format($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '1 hour', ARRAY[%L])$$, t)) AS outcome
FROM unnest(ARRAY['tickets', 'Tickets/read', 'a__b/read', 'tickets/', '/read', 'tickets/read write',
                  'tickets/read*', 'tickets/read/more', repeat('x', 64) || '/read']) t;
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '1 hour', ARRAY['tickets/read', NULL])$$);
SELECT count(*) - :chains_before AS chains_written FROM warden.chains;
-- exactly 24 hours is allowed
SELECT regress.try($$SELECT warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '24 hours')$$);
-- A sub-second lifetime must not yield a token that is already expired when it is issued
-- (expected: refused with 22023; rolled back either way so later counts do not depend on it).
BEGIN;
CREATE FUNCTION regress.tokens_sub_second(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  tok text; state text;
BEGIN
  EXECUTE statement INTO tok;
  RETURN 'issued, ' || regress.tokens_reason(tok);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
  RETURN 'refused ' || state;
END
$$;
SELECT regress.tokens_sub_second($$SELECT token FROM warden.start_chain('tok-alice@example.com', 'tok-root', 'p', '1 millisecond')$$)
  AS sub_second_chain;
SELECT regress.tokens_sub_second(format($$SELECT token FROM warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'], '1 millisecond')$$, :'t1'))
  AS sub_second_delegation;
ROLLBACK;

-- ---------------------------------------------------------------- suspension

SELECT chain_id AS c3, token AS s0 FROM warden.start_chain('tok-bob@example.com', 'tok-sus', 'to be suspended', '1 hour') \gset
SELECT token AS s1 FROM warden.delegate(:'t0', 'tok-sus', ARRAY['tickets/read']) \gset
INSERT INTO regress.tokens_issued VALUES ('s0', :'s0'), ('s1', :'s1');
SELECT regress.tokens_reason(:'s0') AS root_before, regress.tokens_reason(:'s1') AS delegated_before;
UPDATE warden.agents SET status = 'suspended' WHERE name = 'tok-sus';
SELECT regress.tokens_reason(:'s0') AS root_token, regress.tokens_reason(:'s1') AS delegated_token;
SELECT regress.try($$SELECT warden.start_chain('tok-bob@example.com', 'tok-sus', 'p')$$);
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-sus', ARRAY['tickets/read'])$$, :'t0'));
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'])$$, :'s0'));
UPDATE warden.agents SET status = 'killed' WHERE name = 'tok-sus';
SELECT regress.tokens_reason(:'s0') AS killed_agent_token;
SELECT regress.try($$SELECT warden.start_chain('tok-bob@example.com', 'tok-sus', 'p')$$);
UPDATE warden.agents SET status = 'active' WHERE name = 'tok-sus';
SELECT regress.tokens_reason(:'s0') AS reinstated_root, regress.tokens_reason(:'s1') AS reinstated_delegated;

-- ---------------------------------------------------------------- revocation and chain expiry

SELECT token_id AS r0_id, token AS r0 FROM warden.delegate(:'t0', 'tok-a2', ARRAY['tickets/read']) \gset
INSERT INTO regress.tokens_issued VALUES ('r0', :'r0');
UPDATE warden.tokens SET revoked_at = now() WHERE token_id = :'r0_id';
SELECT regress.tokens_reason(:'r0') AS revoked_token, regress.tokens_reason(:'t0') AS its_parent;
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a3', ARRAY['tickets/read'])$$, :'r0'));
-- revoking the chain refuses every token of it
UPDATE warden.chains SET revoked_at = now() WHERE chain_id = :'c3';
SELECT regress.tokens_reason(:'s0') AS token_of_revoked_chain;
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'])$$, :'s0'));
-- an expired chain refuses its tokens even before the tokens' own expiry
SELECT chain_id AS c4, token AS x0 FROM warden.start_chain('tok-alice@example.com', 'tok-a2', 'short', '1 hour') \gset
INSERT INTO regress.tokens_issued VALUES ('x0', :'x0');
UPDATE warden.chains SET expires_at = now() - interval '1 second' WHERE chain_id = :'c4';
SELECT regress.tokens_reason(:'x0') AS token_of_expired_chain;

-- ---------------------------------------------------------------- crafted tokens (superuser)

SELECT t.token_id AS m_id, t.chain_id AS m_chain, t.agent_id AS m_agent, t.parent_id AS m_parent
FROM warden.tokens t WHERE t.token_id = :'d1' \gset
SELECT k.key_id AS mk, k.sealed AS ms FROM warden._current_key('local') k \gset
-- control: re-minting the same claims with a live window verifies
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', :'m_id', :'m_chain', :'m_agent', :'m_parent',
                                                      now() - interval '1 minute', now() + interval '10 minutes')) AS control;
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', :'m_id', :'m_chain', :'m_agent', :'m_parent',
                                                      now() - interval '2 hours', now() - interval '1 hour')) AS expired;
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', :'m_id', :'m_chain', :'m_agent', :'m_parent',
                                                      now() - interval '2 hours', now() - interval '1 second')) AS just_expired;
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', :'m_id', :'m_chain', :'m_agent', :'m_parent',
                                                      now() + interval '1 hour', now() + interval '2 hours')) AS not_yet_valid;
-- claims naming no token, or a real token with another agent or chain
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', gen_random_uuid(), :'m_chain', :'m_agent', :'m_parent',
                                                      now() - interval '1 minute', now() + interval '10 minutes')) AS no_such_token;
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', :'m_id', :'m_chain',
                                                      (SELECT agent_id FROM warden.agents WHERE name = 'tok-root'), :'m_parent',
                                                      now() - interval '1 minute', now() + interval '10 minutes')) AS other_agent;
SELECT regress.tokens_reason(warden._mint_task_token(:'mk', :'ms', :'m_id', :'c2', :'m_agent', :'m_parent',
                                                      now() - interval '1 minute', now() + interval '10 minutes')) AS other_chain;
-- NULL claims are refused
SELECT regress.try(format($$SELECT warden._mint_task_token(%L, %L, NULL, %L, %L, NULL, now(), now() + interval '1 minute')$$,
                          :'mk', :'ms', :'m_chain', :'m_agent'));
-- a sealed key presented under another key id does not open
SELECT regress.tokens_try(format($$SELECT warden._mint_task_token('k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', %L, %L, %L, %L, NULL, now(), now() + interval '1 minute')$$,
                                 :'ms', :'m_id', :'m_chain', :'m_agent'));

-- ---------------------------------------------------------------- hostile token strings

SELECT setseed(0.4711);
SELECT label, regress.tokens_reason(t) AS reason
FROM (VALUES
  ('null', NULL),
  ('empty', ''),
  ('random bytes', (SELECT string_agg(chr(1 + (random() * 253)::int), '') FROM generate_series(1, 300))),
  ('random base64 after prefix', 'v4.local.' || (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 8))),
  ('prefix only', 'v4.local.'),
  ('prefix and dot', 'v4.local..'),
  ('no footer', 'v4.local.' || split_part(:'t1', '.', 3)),
  ('truncated footer', left(:'t1', length(:'t1') - 10)),
  ('truncated payload', 'v4.local.' || left(split_part(:'t1', '.', 3), 60) || '.' || split_part(:'t1', '.', 4)),
  ('payload too short for nonce and tag', 'v4.local.' || left(split_part(:'t1', '.', 3), 80) || '.' || split_part(:'t1', '.', 4)),
  ('padded', :'t1' || '='),
  ('padded payload', 'v4.local.' || split_part(:'t1', '.', 3) || '=.' || split_part(:'t1', '.', 4)),
  ('standard base64 +', overlay(:'t1' PLACING '+' FROM 30 FOR 1)),
  ('standard base64 /', overlay(:'t1' PLACING '/' FROM 30 FOR 1)),
  ('whitespace', ' ' || :'t1'),
  ('trailing newline', :'t1' || E'\n'),
  ('extra part', :'t1' || '.e30'),
  ('v3.local', 'v3.local.' || substr(:'t1', 10)),
  ('v4.public', 'v4.public.' || substr(:'t1', 10)),
  ('upper case', 'V4.LOCAL.' || substr(:'t1', 10)),
  ('1 MiB', repeat('A', 1048576)),
  ('1 MiB after prefix', 'v4.local.' || repeat('A', 1048576)),
  ('flip header', regress.tokens_flip(:'t1', 1)),
  ('flip nonce first', regress.tokens_flip(:'t1', 10)),
  ('flip nonce middle', regress.tokens_flip(:'t1', 30)),
  ('flip ciphertext', regress.tokens_flip(:'t1', 60)),
  ('flip ciphertext late', regress.tokens_flip(:'t1', 9 + length(split_part(:'t1', '.', 3)) - 50)),
  ('flip tag', regress.tokens_flip(:'t1', 9 + length(split_part(:'t1', '.', 3)) - 5)),
  ('flip footer start', regress.tokens_flip(:'t1', 11 + length(split_part(:'t1', '.', 3)))),
  ('footer with extra member', 'v4.local.' || split_part(:'t1', '.', 3) || '.'
      || warden._b64url(convert_to(format('{"kid":"%s","x":1}', regress.tokens_kid(:'t1')), 'UTF8'))),
  ('footer not an object', 'v4.local.' || split_part(:'t1', '.', 3) || '.'
      || warden._b64url(convert_to(format('["%s"]', regress.tokens_kid(:'t1')), 'UTF8'))),
  ('footer kid not a string', 'v4.local.' || split_part(:'t1', '.', 3) || '.' || warden._b64url(convert_to('{"kid":1}', 'UTF8'))),
  ('footer of a signing key', 'v4.local.' || split_part(:'t1', '.', 3) || '.'
      || warden._b64url(convert_to(format('{"kid":"%s"}', (SELECT key_id FROM warden.keys WHERE purpose = 'public' LIMIT 1)), 'UTF8'))),
  ('footer of an unknown key', 'v4.local.' || split_part(:'t1', '.', 3) || '.'
      || warden._b64url(convert_to('{"kid":"k4.lid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}', 'UTF8'))),
  ('footer with a huge kid', 'v4.local.' || split_part(:'t1', '.', 3) || '.'
      || warden._b64url(convert_to(format('{"kid":"%s"}', repeat('k', 5000)), 'UTF8')))
) AS v (label, t);
-- the original still verifies after all that
SELECT regress.tokens_reason(:'t1') AS original;

-- ---------------------------------------------------------------- rotation

SELECT key_id AS k1 FROM warden.keys WHERE purpose = 'local' AND superseded_at IS NULL \gset
SELECT key_id AS p1 FROM warden.keys WHERE purpose = 'public' AND superseded_at IS NULL \gset
SELECT regress.tokens_kid(:'t0') = :'k1' AS t0_made_with_k1;
SELECT rotate_keys AS rot1 FROM warden.rotate_keys() \gset
SELECT (:'rot1'::jsonb #>> '{token_key,key_id}') <> :'k1' AS new_token_key,
       (:'rot1'::jsonb #>> '{signing_key,key_id}') <> :'p1' AS new_signing_key,
       NOT (:'rot1'::jsonb -> 'retired' ? :'k1') AS k1_kept,
       NOT (:'rot1'::jsonb -> 'retired' ? :'p1') AS p1_kept;
SELECT key_id = :'k1' AS is_k1, superseded_at IS NOT NULL AS superseded, retired_at IS NULL AS not_retired,
       sealed IS NOT NULL AS sealed_kept
FROM warden.keys WHERE key_id IN (:'k1', :'p1') ORDER BY purpose;
SELECT count(*) AS current_keys FROM warden.keys WHERE superseded_at IS NULL;
-- old tokens still verify; new ones use the new key
SELECT regress.tokens_reason(:'t0') AS old_root, regress.tokens_reason(:'t3') AS old_depth3;
SELECT token AS n0 FROM warden.start_chain('tok-alice@example.com', 'tok-root', 'after rotation', '1 hour') \gset
SELECT token AS n1 FROM warden.delegate(:'t1', 'tok-a2', ARRAY['tickets/read']) \gset
INSERT INTO regress.tokens_issued VALUES ('n0', :'n0'), ('n1', :'n1');
SELECT regress.tokens_reason(:'n0') AS new_root, regress.tokens_reason(:'n1') AS new_from_old_parent,
       regress.tokens_kid(:'n0') <> :'k1' AS n0_new_key,
       regress.tokens_kid(:'n1') = (:'rot1'::jsonb #>> '{token_key,key_id}') AS n1_current_key,
       (SELECT key_id FROM warden.tokens WHERE token_id = (SELECT token_id FROM warden._verify_token(:'n1'))) = regress.tokens_kid(:'n1')
         AS row_names_key;
-- a footer swapped between keys no longer authenticates
SELECT regress.tokens_reason('v4.local.' || split_part(:'t0', '.', 3) || '.' || split_part(:'n0', '.', 4)) AS old_payload_new_footer;
-- public_keys lists both signing keys, newest first, and only one is current
SELECT pk -> 'keys' @> jsonb_build_array(jsonb_build_object('kid', :'p1')) AS lists_old,
       pk -> 'keys' @> jsonb_build_array(jsonb_build_object('kid', :'rot1'::jsonb #>> '{signing_key,key_id}')) AS lists_new,
       pk #>> '{keys,0,kid}' = (:'rot1'::jsonb #>> '{signing_key,key_id}') AS newest_first,
       (SELECT count(*) FROM jsonb_array_elements(pk -> 'paserk') e WHERE (e ->> 'current')::boolean) AS current_count,
       pk -> 'paserk' @> jsonb_build_array(jsonb_build_object('kid', :'p1', 'current', false)) AS old_not_current,
       jsonb_array_length(pk -> 'keys') = jsonb_array_length(pk -> 'paserk') AS same_length
FROM warden.public_keys() pk;
-- Once every token of k1 has expired, the next rotation retires k1 and wipes its secret.
UPDATE warden.tokens SET expires_at = now() - interval '1 second' WHERE key_id = :'k1';
SELECT rotate_keys AS rot2 FROM warden.rotate_keys() \gset
SELECT :'rot2'::jsonb -> 'retired' ? :'k1' AS k1_retired,
       NOT (:'rot2'::jsonb -> 'retired' ? (:'rot1'::jsonb #>> '{token_key,key_id}')) AS k2_kept;
SELECT retired_at IS NOT NULL AS retired, sealed IS NULL AS wiped, superseded_at IS NOT NULL AS superseded
FROM warden.keys WHERE key_id = :'k1';
SELECT regress.tokens_reason(:'t0') AS k1_root, regress.tokens_reason(:'t3') AS k1_depth3,
       regress.tokens_reason(:'n0') AS k2_root, regress.tokens_reason(:'n1') AS k2_delegated;
SELECT regress.try(format($$SELECT warden.delegate(%L, 'tok-a2', ARRAY['tickets/read'])$$, :'t1'));
-- a key with live tokens is not retired by further rotations
SELECT rotate_keys AS rot3 FROM warden.rotate_keys() \gset
SELECT NOT (:'rot3'::jsonb -> 'retired' ? (:'rot1'::jsonb #>> '{token_key,key_id}')) AS k2_still_kept,
       regress.tokens_reason(:'n0') AS k2_root_after_third_rotation;

-- ---------------------------------------------------------------- events

SELECT kind, agent, human, count(*) AS events
FROM warden.events WHERE chain_id = :'c1' GROUP BY kind, agent, human ORDER BY kind, agent;
-- every token row has exactly one issuing event, naming its agent and human
SELECT count(*) AS tokens, count(e.event_id) AS with_event,
       count(*) FILTER (WHERE e.agent = a.name AND e.human = h.subject) AS names_match,
       count(*) FILTER (WHERE e.kind = CASE WHEN t.depth = 0 THEN 'token_issued' ELSE 'token_delegated' END) AS kind_matches
FROM warden.tokens t JOIN warden.agents a ON a.agent_id = t.agent_id
JOIN warden.chains c ON c.chain_id = t.chain_id JOIN warden.humans h ON h.human_id = c.human_id
LEFT JOIN warden.events e ON e.token_id = t.token_id AND e.kind IN ('token_issued', 'token_delegated')
WHERE a.name LIKE 'tok-%';
SELECT detail ->> 'from_agent' AS from_agent, detail -> 'tools' AS tools, (detail ->> 'parent_token')::uuid = :'d1' AS parent_is_d1
FROM warden.events WHERE token_id = :'d2';
SELECT count(*) FILTER (WHERE detail -> 'retired' ? :'k1') AS retiring_k1,
       count(*) FILTER (WHERE detail #>> '{token_key,key_id}' = :'rot1'::jsonb #>> '{token_key,key_id}') AS making_k2,
       bool_and(actor = session_user) AS actor_recorded
FROM warden.events WHERE kind = 'keys_rotated';
-- no issued token string is stored in any warden table
SELECT count(*) AS tokens_checked, sum(regress.tokens_stored(token)) AS rows_holding_a_token FROM regress.tokens_issued;
