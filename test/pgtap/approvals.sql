-- Calls that need a person (issue 15): the policy, the binding of an approval to the exact
-- call, single use, separation of duties, and what each role holding something can NOT do:
-- the proxy, an agent (its token), the requesting human, an approver not named by the grant,
-- a login that is not mapped, a login that can only SET ROLE to an approver.
BEGIN;
SELECT plan(82);

CREATE ROLE tap_ap_alice LOGIN IN ROLE warden_approver;     -- named approver
CREATE ROLE tap_ap_bob LOGIN IN ROLE warden_approver;       -- the chain's own human
CREATE ROLE tap_ap_carol LOGIN IN ROLE warden_approver;     -- an approver the grant does not name
CREATE ROLE tap_ap_dave LOGIN IN ROLE warden_approver;      -- in group sre
CREATE ROLE tap_ap_unmapped LOGIN IN ROLE warden_approver;  -- no human behind it
CREATE ROLE tap_ap_gateway LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_ap_sneaky LOGIN IN ROLE tap_ap_alice;       -- may SET ROLE tap_ap_alice, is not alice
CREATE ROLE tap_ap_mapped_nonapprover LOGIN;                 -- mapped, but not in warden_approver

SELECT has_role('warden_approver');
SELECT ok(NOT r.rolcanlogin AND NOT r.rolsuper, 'warden_approver is a NOLOGIN, non-superuser group role')
FROM pg_roles r WHERE r.rolname = 'warden_approver';
SELECT is(
  ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'warden'::regnamespace AND has_function_privilege('warden_approver', p.oid, 'EXECUTE')
        ORDER BY 1),
  ARRAY['warden.approve(uuid,text)', 'warden.approver_session(interval)', 'warden.deny(uuid,text)']
  COLLATE "C",
  'warden_approver executes approve, deny and approver_session, nothing else');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'warden'::regnamespace
           AND c.relkind IN ('r', 'p', 'v')
           AND (has_table_privilege('warden_approver', c.oid, 'SELECT')
             OR has_table_privilege('warden_approver', c.oid, 'UPDATE')
             OR has_table_privilege('warden_approver', c.oid, 'INSERT'))), 0,
          'warden_approver reads and writes no table directly');
SELECT ok(NOT has_function_privilege('warden_proxy', 'warden.approve(uuid, text)', 'EXECUTE')
          AND NOT has_function_privilege('warden_proxy', 'warden.deny(uuid, text)', 'EXECUTE')
          AND NOT has_function_privilege('warden_proxy', 'warden.approver_session(interval)', 'EXECUTE'),
          'warden_proxy cannot approve, deny or open an approver session');
SELECT ok(NOT has_function_privilege('warden_approver', 'warden.map_login(text, text)', 'EXECUTE')
          AND NOT has_function_privilege('warden_proxy', 'warden.map_login(text, text)', 'EXECUTE'),
          'only warden_admin maps logins to humans');
SELECT ok(NOT has_table_privilege('warden_proxy', 'warden.approvals', 'SELECT')
          AND NOT has_table_privilege('warden_auditor', 'warden.approvals', 'UPDATE'),
          'the proxy cannot read approvals; the auditor cannot change them');
SELECT ok(EXISTS (SELECT FROM pg_extension e WHERE e.extname = 'warden'
                  AND 'warden.approvals'::regclass = ANY (e.extconfig)),
          'approvals are dumped with the data (pg_extension_config_dump)');

DO $setup$
BEGIN
  PERFORM warden.add_human('tap-ap-bob@example.com');
  PERFORM warden.add_human('tap-ap-alice@example.com');
  PERFORM warden.add_human('tap-ap-carol@example.com');
  PERFORM warden.add_human('tap-ap-dave@example.com');
  PERFORM warden.add_agent('tap-ap-bot', 'tap-ap-bob@example.com');
  PERFORM warden.add_agent('tap-ap-sub', 'tap-ap-bob@example.com');
  PERFORM warden.add_server('tap-ap-pay', 'https://pay.internal/mcp');
  PERFORM warden.map_login('tap_ap_alice', 'tap-ap-alice@example.com');
  PERFORM warden.map_login('tap_ap_bob', 'tap-ap-bob@example.com');
  PERFORM warden.map_login('tap_ap_carol', 'tap-ap-carol@example.com');
  PERFORM warden.map_login('tap_ap_dave', 'tap-ap-dave@example.com');
  PERFORM warden.map_login('tap_ap_mapped_nonapprover', 'tap-ap-alice@example.com');
  PERFORM warden.add_group_member('sre', 'tap-ap-dave@example.com');
END
$setup$;

-- Policy validation.
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"required": true}')$$,
                 '22023', NULL, 'an approval policy must name approvers');
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"approvers": ["a"]}')$$,
                 '22023', NULL, 'an approval policy needs required or when');
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"required": true, "when": {"amount": {"min": 1}}, "approvers": ["a"]}')$$,
                 '22023', NULL, 'not both required and when');
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"required": true, "approvers": ["a"], "approve_all": true}')$$,
                 '22023', NULL, 'unknown policy keys are refused');
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"when": {"amount": {"minimum": 1}}, "approvers": ["a"]}')$$,
                 '22023', NULL, '"when" is checked like argument constraints');
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"required": true, "approvers": ["nobody-yet@example.com"]}')$$,
                 '22023', 'approval.approvers names "nobody-yet@example.com", who is not a human warden knows',
                 'an approver is a human warden knows: no name is left for a later sign-in to claim');
SELECT throws_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', approval => '{"required": true, "approvers": ["a"], "ttl": "3 days"}')$$,
                 '22023', NULL, 'an approval lives at most a day');

SELECT lives_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/refund', constraints => '{"amount": {"max": 100000}}',
                  approval => '{"when": {"amount": {"min": 1000}}, "approvers": ["tap-ap-alice@example.com", "tap-ap-bob@example.com", "group:sre"]}')$$,
                'a grant requiring approval for refunds of 1000 or more');
SELECT is((SELECT g.approval->>'ttl' FROM warden.grants g WHERE g.server = 'tap-ap-pay' AND g.tool = 'refund'),
          '00:10:00', 'the policy is stored with its default ttl of 10 minutes');
SELECT lives_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/deploy', approval => '{"required": true, "approvers": ["tap-ap-alice@example.com"]}')$$,
                'a grant requiring approval for every deploy');

CREATE TEMP TABLE ch AS SELECT * FROM warden.start_chain('tap-ap-bob@example.com', 'tap-ap-bot', 'refunds');
CREATE TEMP TABLE d (label text PRIMARY KEY, allowed boolean, reason text, event_id uuid, approval_id uuid);
GRANT SELECT ON ch, d TO PUBLIC;
CREATE FUNCTION pg_temp.auth(text, jsonb, text DEFAULT 'refund', jsonb DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  INSERT INTO d SELECT $1, x.allowed, x.reason, x.event_id
  FROM ch, warden.authorize(ch.token, 'tap-ap-pay', $3, $2, $4) x RETURNING reason INTO r;
  UPDATE d SET approval_id = (SELECT (e.detail->>'approval_id')::uuid FROM warden.events e WHERE e.event_id = d.event_id)
  WHERE d.label = $1;
  RETURN r;
END
$$;
CREATE FUNCTION pg_temp.approval(text) RETURNS uuid LANGUAGE sql AS $$
  SELECT d.approval_id FROM d WHERE d.label = $1
$$;

SELECT is(pg_temp.auth('small', '{"amount": 10}'), 'granted', 'a refund under the threshold needs no person');
SELECT is(pg_temp.auth('big', '{"amount": 5000}'), 'approval_required', 'a refund of 5000 needs approval');
SELECT isnt(pg_temp.approval('big'), NULL, 'the denial event names the approval');
SELECT is((SELECT ap.state FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('big')), 'pending',
          'the approval waits, pending');
SELECT is((SELECT ap.event_id FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('big')),
          (SELECT d.event_id FROM d WHERE d.label = 'big'), 'the approval names the call event that asked');
SELECT is(pg_temp.auth('big-retry', '{"amount": 5000}'), 'approval_required', 'asking again before approval is denied again');
SELECT is(pg_temp.approval('big-retry'), pg_temp.approval('big'), '... with the same approval, not a new one');
SELECT is(pg_temp.auth('deploy', '{}', 'deploy'), 'approval_required', '"required": true needs approval for every call');
SELECT is((SELECT x.approval_id FROM warden.approval_for((SELECT d.event_id FROM d WHERE d.label = 'big')) x),
          pg_temp.approval('big'), 'the front-end finds the approval of its call with approval_for');

-- "when" fails closed: without constraints of the grant's own on amount, only a number under the
-- threshold skips the person; an absent amount, a string (which a lax upstream coerces) or a
-- number beyond 2^53 needs approval.
SELECT lives_ok($$SELECT warden.grant('tap-ap-bot', 'tap-ap-pay/payout',
                  approval => '{"when": {"amount": {"min": 1000}}, "approvers": ["tap-ap-alice@example.com"]}')$$,
                'a grant with an approval condition and no constraints');
SELECT is(pg_temp.auth('payout-small', '{"amount": 10, "memo": "x"}', 'payout'), 'granted',
          'a payout under the threshold needs no person');
SELECT is(pg_temp.auth('payout-string', '{"amount": "50000"}', 'payout'), 'approval_required',
          'an amount given as a string needs approval');
SELECT is(pg_temp.auth('payout-absent', '{}', 'payout'), 'approval_required',
          'an absent amount needs approval');
SELECT is(pg_temp.auth('payout-huge', '{"amount": 10000000000000000}', 'payout'), 'approval_required',
          'an amount beyond 2^53 needs approval');
SELECT is(pg_temp.auth('payout-array', '{"amount": [1]}', 'payout'), 'approval_required',
          'an amount of another type needs approval');

-- Who cannot approve.
SET SESSION AUTHORIZATION tap_ap_gateway;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('big')), '42501', NULL,
                 'the proxy cannot approve');
SELECT throws_ok(format('SELECT warden.decide_approval(%L, %L, true)', (SELECT token FROM ch), pg_temp.approval('big')),
                 '28000', 'no such approver session', 'an agent''s token is no approver session, even through the proxy');
SELECT throws_ok(format('SELECT warden.decide_approval(%L, %L, true)', 'was_forged', pg_temp.approval('big')),
                 '28000', NULL, 'a made-up session is refused');
SELECT throws_ok(format('SELECT warden.approval_page(%L)', 'was_forged'), '28000', NULL,
                 'the proxy cannot list approvals without an approver''s session');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_bob;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('big')), '42501',
                 format('you may not decide approval %s: separation of duties: the person whose agent asks may not approve it', pg_temp.approval('big')),
                 'the requesting human cannot approve their own agent''s call, though named as approver');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_carol;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('big')), '42501', NULL,
                 'an approver the grant does not name cannot approve');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_unmapped;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('big')), '42501', NULL,
                 'a warden_approver login mapped to no human cannot approve');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_sneaky;
SET ROLE tap_ap_alice;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('big')), '42501', NULL,
                 'a login that may SET ROLE to an approver is not that approver');
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_mapped_nonapprover;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('big')), '42501', NULL,
                 'a mapped login outside warden_approver cannot approve');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT ap.state FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('big')), 'pending',
          'after all that, still pending');

-- A named approver approves; the approval is bound to the exact call.
SET SESSION AUTHORIZATION tap_ap_alice;
SELECT is(warden.approve(pg_temp.approval('big'), 'customer verified')->>'state', 'approved', 'alice approves');
SELECT throws_ok(format('SELECT warden.deny(%L)', pg_temp.approval('big')), '55000', NULL,
                 'a decided approval cannot be decided again');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.auth('other-args', '{"amount": 5001}'), 'approval_required', 'a different argument does not match the approval');
SELECT is(pg_temp.auth('other-order', '{"amount": 5000, "note": "x"}'), 'approval_required', 'an added argument does not match either');
SELECT is(pg_temp.auth('named-wrong', '{"amount": 5000}', 'refund',
                       jsonb_build_object('approval_id', pg_temp.approval('other-args'))),
          'approval_required', 'naming another (pending) approval in the context consumes nothing');
SELECT is(pg_temp.auth('use', '{"amount": 5000}', 'refund', jsonb_build_object('approval_id', pg_temp.approval('big'))),
          'granted', 'the same token, tool and arguments with the approval: allowed');
SELECT is((SELECT ap.state FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('big')), 'used',
          'the approval is used');
SELECT is(pg_temp.auth('second-use', '{"amount": 5000}', 'refund', jsonb_build_object('approval_id', pg_temp.approval('big'))),
          'approval_required', 'a second use is refused (and asks anew)');
SELECT isnt(pg_temp.approval('second-use'), pg_temp.approval('big'), '... with a new approval');

-- The approver is a step between the call and its human.
SELECT is((SELECT e.parent_id FROM warden.events e JOIN d ON d.event_id = e.event_id WHERE d.label = 'use'),
          (SELECT ap.decision_event FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('big')),
          'the allowed call hangs under the approval_granted event');
SELECT is(ARRAY(SELECT a.kind || ':' || a.name FROM warden.attribution((SELECT d.event_id FROM d WHERE d.label = 'use')) a ORDER BY a.depth, a.kind = 'approver'),
          ARRAY['event:call', 'event:approval_granted', 'approver:tap-ap-alice@example.com', 'event:call',
                'token:tap-ap-bot', 'chain:refunds', 'human:tap-ap-bob@example.com'],
          'attribution: call, approval by alice, the call that asked, token, chain, bob');
SELECT ok(EXISTS (SELECT FROM warden.chain_tree((SELECT chain_id FROM ch)) t
                  WHERE t.label LIKE 'approval_granted tap-ap-pay/refund allowed by tap-ap-alice@example.com'),
          'chain_tree shows the approval and its approver');

-- A group approver; deny.
SET SESSION AUTHORIZATION tap_ap_dave;
SELECT is(warden.deny(pg_temp.approval('other-args'), 'too much')->>'state', 'denied', 'a member of group:sre may deny');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.auth('after-deny', '{"amount": 5001}'), 'approval_required', 'a denied call stays denied');

-- The approval page's session: opened by the approver's login, used by the proxy.
SET SESSION AUTHORIZATION tap_ap_alice;
CREATE TEMP TABLE sess AS SELECT warden.approver_session() AS s;
GRANT SELECT ON sess TO PUBLIC;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_carol;
CREATE TEMP TABLE sess_carol AS SELECT warden.approver_session() AS s;
GRANT SELECT ON sess_carol TO PUBLIC;
RESET SESSION AUTHORIZATION;
SELECT ok(NOT EXISTS (SELECT FROM warden.approver_sessions s, sess WHERE s.session_hash = convert_to(sess.s, 'UTF8')),
          'only a hash of the session is stored');
SET SESSION AUTHORIZATION tap_ap_gateway;
SELECT ok((SELECT jsonb_path_exists(warden.approval_page(sess.s), '$.pending[*] ? (@.approval_id == $id)',
                                    jsonb_build_object('id', pg_temp.approval('second-use'))) FROM sess),
          'the page lists the pending approvals alice may decide');
SELECT is((SELECT jsonb_array_length(warden.approval_page(s)->'pending') FROM sess_carol), 0,
          'carol, named by no grant, sees none');
SELECT throws_ok(format('SELECT warden.approval_page(%L, %L)', (SELECT s FROM sess_carol), pg_temp.approval('second-use')),
                 '42704', NULL, 'nor can she open one by id');
SELECT is((SELECT warden.approval_page(sess.s, pg_temp.approval('second-use'))->'approval'->'agents' FROM sess),
          '["tap-ap-bot"]'::jsonb, 'the page names the agents through which the call comes');
SELECT is((SELECT warden.decide_approval(sess.s, pg_temp.approval('second-use'), true, 'ok')->>'state' FROM sess),
          'approved', 'alice approves through the page');
RESET SESSION AUTHORIZATION;

-- Kill cancels; approving after a kill is refused; nothing is consumed after a kill.
SELECT is((SELECT warden.kill(chain_id => ch.chain_id, reason => 'stop') ->> 'tokens' FROM ch), '1', 'the chain is killed');
SELECT is((SELECT ap.state FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('deploy')), 'cancelled',
          'its pending approval is cancelled');
SELECT is((SELECT ap.state FROM warden.approvals ap WHERE ap.approval_id = pg_temp.approval('second-use')), 'cancelled',
          'its approved, unused approval is cancelled too');
SET SESSION AUTHORIZATION tap_ap_alice;
SELECT throws_ok(format('SELECT warden.approve(%L)', pg_temp.approval('deploy')), '55000', NULL,
                 'approving after the kill is refused');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.auth('after-kill', '{"amount": 5000}'), 'chain_revoked', 'no call after the kill');

-- Expiry.
CREATE TEMP TABLE ch2 AS SELECT * FROM warden.start_chain('tap-ap-bob@example.com', 'tap-ap-bot', 'deploys');
SELECT is((SELECT x.reason FROM ch2, warden.authorize(ch2.token, 'tap-ap-pay', 'deploy', '{}') x), 'approval_required',
          'a second chain asks');
UPDATE warden.approvals SET expires_at = now() - interval '1 second' WHERE chain_id = (SELECT chain_id FROM ch2);
CREATE TEMP TABLE ap2 AS SELECT ap.approval_id FROM warden.approvals ap, ch2 WHERE ap.chain_id = ch2.chain_id;
GRANT SELECT ON ap2 TO PUBLIC;
SET SESSION AUTHORIZATION tap_ap_alice;
SELECT throws_ok(format('SELECT warden.approve(%L)', (SELECT approval_id FROM ap2)),
                 '55000', NULL, 'an expired approval cannot be approved');
RESET SESSION AUTHORIZATION;
SELECT is(warden.expire_approvals() >= 1, true, 'expire_approvals closes it');
SELECT is((SELECT ap.state FROM warden.approvals ap, ch2 WHERE ap.chain_id = ch2.chain_id), 'expired', '... as expired');

-- An offboarded approver approves nothing, through a login or a page session.
SET SESSION AUTHORIZATION tap_ap_alice;
CREATE TEMP TABLE alice_session AS SELECT warden.approver_session() AS s;
GRANT SELECT ON alice_session TO PUBLIC;
RESET SESSION AUTHORIZATION;
SELECT lives_ok($$SELECT warden.revoke_human('tap-ap-alice@example.com', 'left the company')$$, 'alice is offboarded');
SELECT is((SELECT x.reason FROM ch2, warden.authorize(ch2.token, 'tap-ap-pay', 'deploy', '{"again": 1}') x),
          'approval_required', 'a new approval is asked');
CREATE TEMP TABLE ap3 AS SELECT ap.approval_id FROM warden.approvals ap, ch2
WHERE ap.chain_id = ch2.chain_id AND ap.state = 'pending';
GRANT SELECT ON ap3 TO PUBLIC;
SET SESSION AUTHORIZATION tap_ap_alice;
SELECT throws_ok(format('SELECT warden.approve(%L)', (SELECT approval_id FROM ap3)),
                 '42501', NULL, 'an offboarded person''s login cannot approve');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION tap_ap_gateway;
SELECT throws_ok(format('SELECT warden.approval_page(%L)', (SELECT s FROM alice_session)), '28000', NULL,
                 'nor can their page session, which ends with the offboarding');
RESET SESSION AUTHORIZATION;

-- Delegation only narrows, a person's yes included: the agent above needs approval for a big
-- refund, so the sub-agent it delegates to does too, whatever the sub-agent's own grant says,
-- under the delegating agent's approval policy (its approvers).
SELECT lives_ok($$SELECT warden.grant('tap-ap-sub', 'tap-ap-pay/refund')$$,
                'the sub-agent holds refund with no approval policy of its own');
CREATE TEMP TABLE ch3 AS SELECT * FROM warden.start_chain('tap-ap-bob@example.com', 'tap-ap-bot', 'delegated refunds');
CREATE TEMP TABLE subch AS SELECT x.token_id, x.token FROM ch3, warden.delegate(ch3.token, 'tap-ap-sub', ARRAY['tap-ap-pay/refund']) x;
GRANT SELECT ON ch3, subch TO PUBLIC;
SELECT is((SELECT x.reason FROM subch, warden.authorize(subch.token, 'tap-ap-pay', 'refund', '{"amount": 10}') x),
          'granted', 'a small refund by the sub-agent needs no person (nor would it above)');
SELECT is((SELECT x.reason FROM subch, warden.authorize(subch.token, 'tap-ap-pay', 'refund', '{"amount": 7000}') x),
          'approval_required', 'a big refund by the sub-agent needs the approval its delegating agent would need');
CREATE TEMP TABLE ap4 AS
SELECT ap.approval_id, a.name AS policy_of FROM warden.approvals ap
JOIN warden.grants g ON g.grant_id = ap.grant_id JOIN warden.agents a ON a.agent_id = g.agent_id, subch
WHERE ap.token_id = subch.token_id AND ap.state = 'pending';
GRANT SELECT ON ap4 TO PUBLIC;
SELECT is((SELECT policy_of FROM ap4), 'tap-ap-bot', '... under the delegating agent''s grant and approvers');
SET SESSION AUTHORIZATION tap_ap_dave;
SELECT is(warden.approve((SELECT approval_id FROM ap4))->>'state', 'approved', 'an approver that grant names (group sre) approves');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT x.reason FROM subch, warden.authorize(subch.token, 'tap-ap-pay', 'refund', '{"amount": 7000}') x),
          'granted', '... and the sub-agent''s same call consumes it');

SELECT * FROM finish();
ROLLBACK;
