-- Revocation: revoke_token (transitive), revoke_chain, revoke_agent (suspend) and
-- reinstate_agent, kill (all at once, one transaction, all or nothing), refusals and NULLs,
-- idempotence, the audit events (who, when, why) and the reason authorize gives afterwards.
-- Nothing printed depends on uuids, tokens, xids or times: they live in regress.rv_tok and in
-- psql variables. Notifications on warden_events carry uuids and a backend pid, so their
-- content and timing (only after commit) are checked by test/shell/revocation_stress.sh.
\set VERBOSITY default

SELECT warden.add_human('rv-human@example.com') IS NOT NULL AS human_added;
SELECT count(warden.add_agent(n, 'rv-human@example.com'))
FROM unnest(ARRAY['rv-root', 'rv-mid', 'rv-leaf', 'rv-side', 'rv-other', 'rv-kill-a', 'rv-kill-b']) n;
SELECT warden.add_server('rvsrv', 'https://rv.internal/mcp') IS NOT NULL AS server_added;
SELECT count(warden.grant(n, 'rvsrv/*', reason => 'revocation tests'))
FROM unnest(ARRAY['rv-root', 'rv-mid', 'rv-leaf', 'rv-side', 'rv-other', 'rv-kill-a', 'rv-kill-b']) n;

-- Every token issued here, by label.
CREATE TABLE regress.rv_tok (label text PRIMARY KEY, token text NOT NULL, token_id uuid NOT NULL,
                             chain_id uuid NOT NULL);

-- Starts a chain for agent and records its root token as label.
CREATE FUNCTION regress.rv_start(new_label text, agent text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  s record;
BEGIN
  SELECT * INTO s FROM warden.start_chain('rv-human@example.com', agent, 'revocation test ' || new_label, '1 hour');
  INSERT INTO regress.rv_tok
  SELECT new_label, s.token, t.token_id, s.chain_id FROM warden.tokens t WHERE t.chain_id = s.chain_id AND t.depth = 0;
  RETURN new_label;
END
$$;

-- Delegates from the token labelled parent to agent and records the new token as label.
CREATE FUNCTION regress.rv_delegate(new_label text, parent text, agent text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO regress.rv_tok
  SELECT new_label, d.token, d.token_id, p.chain_id
  FROM regress.rv_tok p, warden.delegate(p.token, agent, ARRAY['rvsrv/*']) d WHERE p.label = parent;
  RETURN new_label;
END
$$;

-- What authorize says now for each token whose label starts with prefix.
CREATE FUNCTION regress.rv_auth(prefix text)
RETURNS TABLE (label text, agent text, depth int, allowed boolean, reason text) LANGUAGE sql AS $$
  SELECT k.label, a.name, t.depth, d.allowed, d.reason
  FROM regress.rv_tok k JOIN warden.tokens t USING (token_id) JOIN warden.agents a ON a.agent_id = t.agent_id,
       warden.authorize(k.token, 'rvsrv', 'read', '{}') d
  WHERE starts_with(k.label, prefix) ORDER BY k.label
$$;

-- The labels of the token ids in a revocation result.
CREATE FUNCTION regress.rv_labels(r jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(k.label, ',' ORDER BY k.label), '')
  FROM jsonb_array_elements_text(r->'token_ids') i JOIN regress.rv_tok k ON k.token_id = i::uuid
$$;

-- A revocation result with its uuids replaced by labels and its xid by a check.
CREATE FUNCTION regress.rv_result(r jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT (r - 'token_ids' - 'transaction' - 'chains')
         || jsonb_build_object('token_labels', regress.rv_labels(r))
         || CASE WHEN r ? 'chains' THEN jsonb_build_object('chains',
              CASE WHEN jsonb_typeof(r->'chains') = 'number' THEN r->'chains'
                   ELSE (SELECT coalesce(jsonb_agg(coalesce(
                          (SELECT min(k.label) FROM regress.rv_tok k WHERE k.chain_id = c::uuid AND k.token_id IN
                             (SELECT token_id FROM warden.tokens WHERE depth = 0)), c)), '[]')
                         FROM jsonb_array_elements_text(r->'chains') c) END)
            ELSE '{}' END
         || CASE WHEN r ? 'transaction' THEN jsonb_build_object('transaction_is_current',
              (r->>'transaction')::bigint = txid_current()) ELSE '{}' END
$$;

-- The events of the given kinds about this test's agents, human and chains, id-free.
CREATE FUNCTION regress.rv_events(kinds text[])
RETURNS TABLE (kind text, token text, chain text, agent text, human text, reason text, actor_is_me boolean,
               detail jsonb) LANGUAGE sql AS $$
  SELECT e.kind, (SELECT k.label FROM regress.rv_tok k WHERE k.token_id = e.token_id),
         (SELECT min(k.label) FROM regress.rv_tok k WHERE k.chain_id = e.chain_id),
         e.agent, e.human, e.reason, e.actor = session_user,
         CASE WHEN e.detail ? 'chains' THEN jsonb_set(e.detail, '{chains}', to_jsonb(
           (SELECT array_agg((SELECT min(k.label) FROM regress.rv_tok k WHERE k.chain_id = c::uuid))
            FROM jsonb_array_elements_text(e.detail->'chains') c))) ELSE e.detail END
  FROM warden.events e
  WHERE e.kind = ANY (kinds) AND (e.agent LIKE 'rv-%' OR e.human = 'rv-human@example.com'
        OR e.chain_id IN (SELECT chain_id FROM regress.rv_tok))
  ORDER BY e.at, e.seq
$$;

------------------------------------------------------------------------------------------
-- revoke_token: a depth-3 branch goes, its sibling branch and the root stay.
--   t0 (rv-root) -> t1 (rv-mid) -> t2 (rv-leaf) -> t3 (rv-side)
--                -> s1 (rv-side) -> s2 (rv-leaf)
SELECT regress.rv_start('t0', 'rv-root');
SELECT regress.rv_delegate('t1', 't0', 'rv-mid'), regress.rv_delegate('t2', 't1', 'rv-leaf'),
       regress.rv_delegate('t3', 't2', 'rv-side');
SELECT regress.rv_delegate('ts1', 't0', 'rv-side'), regress.rv_delegate('ts2', 'ts1', 'rv-leaf');
SELECT * FROM regress.rv_auth('t');

BEGIN;
SELECT token_id AS t1_id FROM regress.rv_tok WHERE label = 't1' \gset
SELECT regress.rv_result(warden.revoke_token(:'t1_id', 'leaked in a log')) AS revoke_token;
-- Who, when and why: on the tokens (transaction time) and on the event (inside the transaction).
SELECT k.label, t.revoked_at = now() AS at_now, t.revoked_by = session_user AS by_me, t.revoked_reason
FROM regress.rv_tok k JOIN warden.tokens t USING (token_id) WHERE k.label LIKE 't%' ORDER BY k.label;
SELECT count(*) AS events_in_this_transaction
FROM warden.events e WHERE e.kind = 'token_revoked' AND e.token_id = :'t1_id'
  AND e.at BETWEEN now() AND clock_timestamp() AND e.actor = session_user;
COMMIT;
SELECT * FROM regress.rv_auth('t');
SELECT * FROM regress.rv_events(ARRAY['token_revoked']);

-- Again, and from inside the revoked branch: nothing more to revoke, no new event. (The NOTICE
-- names the token id, so it is not shown here.)
SET client_min_messages = warning;
SELECT regress.rv_result(warden.revoke_token(:'t1_id', 'again')) AS revoke_again;
SELECT regress.rv_result(warden.revoke_token(token_id, 'again')) AS revoke_descendant
FROM regress.rv_tok WHERE label = 't3';
RESET client_min_messages;
SELECT count(*) AS token_revoked_events FROM regress.rv_events(ARRAY['token_revoked']);
SELECT count(*) FILTER (WHERE t.revoked_reason = 'leaked in a log') AS first_reason_kept
FROM regress.rv_tok k JOIN warden.tokens t USING (token_id) WHERE k.label IN ('t1', 't2', 't3');
-- No delegation from a revoked token; the live sibling branch still delegates.
SELECT regress.try($$SELECT warden.delegate(token, 'rv-leaf', ARRAY['rvsrv/*']) FROM regress.rv_tok WHERE label = 't2'$$);
SELECT regress.rv_delegate('ts3', 'ts2', 'rv-mid');
SELECT * FROM regress.rv_auth('ts');
-- Unknown and NULL.
SELECT regress.try($$SELECT warden.revoke_token('00000000-0000-0000-0000-000000000000', 'typo')$$);
SELECT regress.try($$SELECT warden.revoke_token(NULL, 'nothing')$$);
SELECT regress.try($$SELECT warden.revoke_token(NULL)$$);

------------------------------------------------------------------------------------------
-- revoke_chain: every token of every agent in the chain; other chains of the same agents stay;
-- no new delegation into the revoked chain.
--   c0 (rv-root) -> c1 (rv-mid) -> c2 (rv-leaf);  c0 -> c3 (rv-side)   (chain "c")
--   d0 (rv-root) -> d1 (rv-mid)                                       (chain "d", untouched)
SELECT regress.rv_start('c0', 'rv-root');
SELECT regress.rv_delegate('c1', 'c0', 'rv-mid'), regress.rv_delegate('c2', 'c1', 'rv-leaf'),
       regress.rv_delegate('c3', 'c0', 'rv-side');
SELECT regress.rv_start('d0', 'rv-root'), regress.rv_delegate('d1', 'd0', 'rv-mid');
SELECT chain_id AS chain_c FROM regress.rv_tok WHERE label = 'c0' \gset
BEGIN;
SELECT regress.rv_result(warden.revoke_chain(:'chain_c', 'runaway deploy')) AS revoke_chain;
SELECT c.revoked_at = now() AS at_now, c.revoked_by = session_user AS by_me, c.revoked_reason
FROM warden.chains c WHERE c.chain_id = :'chain_c';
SELECT count(*) FILTER (WHERE t.revoked_at = now()) AS tokens_revoked_now, count(*) AS tokens_in_chain
FROM warden.tokens t WHERE t.chain_id = :'chain_c';
COMMIT;
SELECT * FROM regress.rv_auth('c');
SELECT * FROM regress.rv_auth('d');
SELECT * FROM regress.rv_events(ARRAY['chain_revoked']);
-- No delegation into it, from any of its tokens.
SELECT k.label, regress.try(format('SELECT warden.delegate(%L, %L, ARRAY[''rvsrv/read''])', k.token, 'rv-leaf'))
FROM regress.rv_tok k WHERE k.label LIKE 'c%' ORDER BY k.label;
SELECT count(*) AS tokens_in_chain_after FROM warden.tokens t WHERE t.chain_id = :'chain_c';
-- Already revoked: a NOTICE (it names the chain id, so it is not shown) and nothing else.
SET client_min_messages = warning;
SELECT regress.rv_result(warden.revoke_chain(:'chain_c', 'again')) AS revoke_chain_again;
RESET client_min_messages;
SELECT count(*) AS chain_revoked_events FROM regress.rv_events(ARRAY['chain_revoked']);
SELECT revoked_reason FROM warden.chains WHERE chain_id = :'chain_c';
-- Unknown and NULL.
SELECT regress.try($$SELECT warden.revoke_chain('00000000-0000-0000-0000-000000000000', 'typo')$$);
SELECT regress.try($$SELECT warden.revoke_chain(NULL, 'nothing')$$);

------------------------------------------------------------------------------------------
-- revoke_agent: suspends; every live token of the agent in every chain dies, with everything
-- delegated from it; start_chain and delegate naming it are refused until reinstate_agent.
--   o0 (rv-other)                                          (chain "o")
--   p0 (rv-root) -> p1 (rv-other) -> p2 (rv-leaf);  p0 -> p3 (rv-mid)   (chain "p")
SELECT regress.rv_start('o0', 'rv-other');
SELECT regress.rv_start('p0', 'rv-root');
SELECT regress.rv_delegate('p1', 'p0', 'rv-other'), regress.rv_delegate('p2', 'p1', 'rv-leaf'),
       regress.rv_delegate('p3', 'p0', 'rv-mid');
BEGIN;
SELECT regress.rv_result(warden.revoke_agent('rv-other', 'exfiltration attempt')) AS revoke_agent;
SELECT name, status FROM warden.agents WHERE name = 'rv-other';
SELECT k.label, t.revoked_at = now() AS at_now, t.revoked_by = session_user AS by_me, t.revoked_reason
FROM regress.rv_tok k JOIN warden.tokens t USING (token_id)
WHERE k.label LIKE 'o%' OR k.label LIKE 'p%' ORDER BY k.label;
COMMIT;
SELECT * FROM regress.rv_auth('o');
SELECT * FROM regress.rv_auth('p');
SELECT * FROM regress.rv_events(ARRAY['agent_suspended']);
-- Refused while suspended.
SELECT regress.try($$SELECT warden.start_chain('rv-human@example.com', 'rv-other', 'while suspended')$$);
SELECT regress.try($$SELECT warden.delegate(token, 'rv-other', ARRAY['rvsrv/read']) FROM regress.rv_tok WHERE label = 'p0'$$);
SELECT regress.try($$SELECT warden.delegate(token, 'rv-leaf', ARRAY['rvsrv/read']) FROM regress.rv_tok WHERE label = 'o0'$$);
-- Again: a NOTICE naming the agent, nothing revoked, no new event.
SELECT regress.rv_result(warden.revoke_agent('rv-other', 'again')) AS revoke_agent_again;
SELECT count(*) AS agent_suspended_events FROM regress.rv_events(ARRAY['agent_suspended']);
-- Unknown and NULL.
SELECT regress.try($$SELECT warden.revoke_agent('rv-nobody', 'typo')$$);
SELECT regress.try($$SELECT warden.revoke_agent(NULL, 'nothing')$$);
-- reinstate_agent: a reason is required; old tokens stay revoked; new chains work.
SELECT regress.try($$SELECT warden.reinstate_agent('rv-other', NULL)$$);
SELECT regress.try($$SELECT warden.reinstate_agent('rv-other', '  ')$$);
SELECT regress.try($$SELECT warden.reinstate_agent(NULL, 'why not')$$);
SELECT regress.try($$SELECT warden.reinstate_agent('rv-nobody', 'why not')$$);
SELECT warden.reinstate_agent('rv-other', 'credentials rotated, reviewed by security');
SELECT name, status FROM warden.agents WHERE name = 'rv-other';
SELECT * FROM regress.rv_auth('o');
SELECT * FROM regress.rv_auth('p');
SELECT regress.rv_start('o9', 'rv-other');
SELECT regress.rv_delegate('p9', 'p0', 'rv-other');
SELECT * FROM regress.rv_auth('o9');
SELECT * FROM regress.rv_auth('p9');
SELECT warden.reinstate_agent('rv-other', 'twice');
SELECT * FROM regress.rv_events(ARRAY['agent_reinstated']);

------------------------------------------------------------------------------------------
-- kill: an agent, a chain and a token at once, in one transaction.
--   k0 (rv-kill-a)                                          (chain "k", the agent's)
--   m0 (rv-root) -> m1 (rv-mid) -> m2 (rv-kill-a)           (chain "m", killed as a chain)
--   n0 (rv-root) -> n1 (rv-side) -> n2 (rv-leaf)            (chain "n", token n1 killed)
SELECT regress.rv_start('k0', 'rv-kill-a');
SELECT regress.rv_start('m0', 'rv-root'), regress.rv_delegate('m1', 'm0', 'rv-mid'),
       regress.rv_delegate('m2', 'm1', 'rv-kill-a');
SELECT regress.rv_start('n0', 'rv-root'), regress.rv_delegate('n1', 'n0', 'rv-side'),
       regress.rv_delegate('n2', 'n1', 'rv-leaf');
SELECT chain_id AS chain_m FROM regress.rv_tok WHERE label = 'm0' \gset
SELECT token_id AS n1_id FROM regress.rv_tok WHERE label = 'n1' \gset
BEGIN;
SELECT regress.rv_result(warden.kill(agent => 'rv-kill-a', chain_id => :'chain_m', token_id => :'n1_id',
                                     reason => 'incident 7')) AS kill;
SELECT count(*) AS revoked_now FROM warden.tokens WHERE revoked_at = now();
COMMIT;
SELECT * FROM regress.rv_auth('k');
SELECT * FROM regress.rv_auth('m');
SELECT * FROM regress.rv_auth('n');
SELECT name, status FROM warden.agents WHERE name = 'rv-kill-a';
SELECT * FROM regress.rv_events(ARRAY['killed']);
SELECT kind, count(*) FROM regress.rv_events(ARRAY['agent_suspended', 'chain_revoked', 'token_revoked'])
WHERE reason = 'incident 7' GROUP BY kind ORDER BY kind;

-- Nothing named, or only NULLs: 22004.
SELECT regress.try($$SELECT warden.kill()$$);
SELECT regress.try($$SELECT warden.kill(NULL, NULL, NULL, 'because')$$);
SELECT regress.try($$SELECT warden.kill(agent => NULL, reason => 'because')$$);

-- Anything unknown: 42704, and nothing at all is revoked, not even what was known.
--   q0 (rv-kill-b) -> q1 (rv-mid)                           (chain "q")
SELECT regress.rv_start('q0', 'rv-kill-b'), regress.rv_delegate('q1', 'q0', 'rv-mid');
SELECT chain_id AS chain_q FROM regress.rv_tok WHERE label = 'q0' \gset
SELECT token_id AS q1_id FROM regress.rv_tok WHERE label = 'q1' \gset
SELECT count(*) AS events_before FROM warden.events \gset
SELECT regress.try($$SELECT warden.kill(agent => 'rv-nobody')$$);
SELECT regress.try($$SELECT warden.kill(agent => 'rv-kill-b', chain_id => '00000000-0000-0000-0000-000000000000')$$);
SELECT regress.try(format('SELECT warden.kill(agent => %L, token_id => %L)', 'rv-kill-b',
                          '00000000-0000-0000-0000-000000000000'));
SELECT regress.try(format('SELECT warden.kill(chain_id => %L, token_id => %L)', :'chain_q',
                          '00000000-0000-0000-0000-000000000000'));
SELECT regress.try(format('SELECT warden.kill(agent => %L, chain_id => %L, token_id => %L)', 'rv-nobody',
                          :'chain_q', :'q1_id'));
SELECT count(*) - :events_before AS new_events FROM warden.events;
SELECT name, status FROM warden.agents WHERE name = 'rv-kill-b';
SELECT revoked_at IS NULL AS chain_q_live FROM warden.chains WHERE chain_id = :'chain_q';
SELECT count(*) AS q_tokens_revoked FROM warden.tokens WHERE chain_id = :'chain_q' AND revoked_at IS NOT NULL;
SELECT * FROM regress.rv_auth('q');

-- Killing an already revoked chain: a NOTICE (naming the chain id, not shown), nothing more
-- revoked; the kill itself is still recorded.
SET client_min_messages = warning;
SELECT regress.rv_result(warden.kill(chain_id => :'chain_c', reason => 'belt and braces')) AS kill_revoked_chain;
RESET client_min_messages;
SELECT count(*) AS chain_c_revoked_events FROM warden.events WHERE kind = 'chain_revoked' AND chain_id = :'chain_c';
-- Killing an already suspended agent: the NOTICE names the agent.
SELECT regress.rv_result(warden.kill(agent => 'rv-kill-a', reason => 'belt and braces')) AS kill_suspended_agent;
