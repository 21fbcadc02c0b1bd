-- Findings of the 0.1.0 adversarial review (issue 11), one section per finding that the
-- database closes, named after it. Each section shows the attack and that it now fails.
-- (Schema squatting needs its own database: test/shell/schema_squatting.sh. The kill against
-- open transactions of every role: test/isolation/specs/kill_vs_open_transactions.spec.)
SELECT warden.add_human('hd-alice@example.com') IS NOT NULL AS human,
       warden.add_agent('hd-bot', 'hd-alice@example.com') IS NOT NULL AS agent,
       warden.add_agent('hd-sub', 'hd-alice@example.com') IS NOT NULL AS sub_agent,
       warden.add_server('hd-files', 'http://127.0.0.1:9/mcp', 'http', '{"kind": "jwt"}') IS NOT NULL AS files,
       warden.add_server('hd-jw', 'http://127.0.0.1:9/mcp', 'http', '{"kind": "jwt"}') IS NOT NULL AS jw,
       warden.add_server('hd-vault', 'http://127.0.0.1:9/mcp', 'http', '{"kind": "secret"}') IS NOT NULL AS vault,
       warden.add_server('hd-budget', 'http://127.0.0.1:9/mcp') IS NOT NULL AS budget;
SELECT count(*) AS grants FROM (VALUES
  (warden.grant('hd-bot', 'hd-files/*')), (warden.grant('hd-bot', 'hd-jw/*')),
  (warden.grant('hd-bot', 'hd-vault/*')), (warden.grant('hd-sub', 'hd-files/read')),
  (warden.grant('hd-bot', 'hd-budget/once', max_calls => 1))) g(id);
SELECT token AS hd_token FROM warden.start_chain('hd-alice@example.com', 'hd-bot', 'hardening', '1 hour') \gset

-- ---------------------------------------------------------------- 2. credential_without_committed_decision
-- A decision rolled back leaves nothing to vend: authorize itself returns no credential, and
-- warden.credential refuses a decision of the open transaction.
BEGIN;
SELECT allowed, reason, credential IS NULL AS no_credential, event_id AS rolled_back_call
FROM warden.authorize(:'hd_token', 'hd-budget', 'once') \gset
SELECT :'allowed' AS allowed, :'no_credential' AS authorize_returns_no_credential,
       regress.try(format('SELECT warden.credential(%L)', :'rolled_back_call')) AS same_transaction;
ROLLBACK;
SELECT regress.try(format('SELECT warden.credential(%L)', :'rolled_back_call')) AS after_rollback;
-- The budget of one call was not spent by the rolled-back decision, and the committed one
-- spends it: the next is denied.
SELECT allowed, reason FROM warden.authorize(:'hd_token', 'hd-budget', 'once');
SELECT allowed, reason FROM warden.authorize(:'hd_token', 'hd-budget', 'once');
-- Inside a savepoint that is rolled back: the same.
BEGIN;
SAVEPOINT s;
SELECT event_id AS savepoint_call FROM warden.authorize(:'hd_token', 'hd-files', 'read') \gset
SELECT regress.try(format('SELECT warden.credential(%L)', :'savepoint_call')) AS in_savepoint;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT regress.try(format('SELECT warden.credential(%L)', :'savepoint_call')) AS after_savepoint_rollback;

-- ---------------------------------------------------------------- 16a. prepared_transaction_false_alarm
-- An event written in a prepared transaction could be rolled back from another session later,
-- leaving a gap that verify_audit reports as deleted events. Refused at PREPARE.
BEGIN;
SELECT allowed FROM warden.authorize(:'hd_token', 'hd-files', 'read');
PREPARE TRANSACTION 'hd_prepared';
SELECT count(*) AS prepared_transactions FROM pg_prepared_xacts WHERE gid = 'hd_prepared';
SELECT ok, problems FROM warden.verify_audit();

-- ---------------------------------------------------------------- 4. observe_mode_widens_delegation
-- A sub-agent in observe mode with a token limited to hd-files/read: a call outside the token
-- and outside the delegating agent's grants stays denied; its own missing grant is observed.
SELECT warden.set_mode('hd-sub', 'observe');
SELECT token AS sub_token FROM warden.delegate(:'hd_token', 'hd-sub', ARRAY['hd-files/read']) \gset
SELECT allowed, reason FROM warden.authorize(:'sub_token', 'hd-jw', 'delete_everything');
SELECT allowed, reason FROM warden.authorize(:'sub_token', 'hd-files', 'read');
SELECT token AS sub_wide FROM warden.delegate(:'hd_token', 'hd-sub', ARRAY['hd-files/*', 'hd-vault/*']) \gset
-- hd-files/write: within the token and the delegator's grants, not the sub-agent's own grant.
SELECT allowed, reason, event_id AS observed_call FROM warden.authorize(:'sub_wide', 'hd-files', 'write') \gset
SELECT :'allowed' AS allowed, :'reason' AS reason;
-- A minted credential for an observed call says so; an observed call gets no vaulted secret.
SELECT c ->> 'kind' AS kind,
       convert_from(decode(translate(split_part(split_part(c ->> 'value', ' ', 2), '.', 2), '-_', '+/')
                           || repeat('=', (4 - length(split_part(split_part(c ->> 'value', ' ', 2), '.', 2)) % 4) % 4),
                           'base64'), 'UTF8')::jsonb ->> 'warden_mode' AS claim_warden_mode
FROM warden.credential(:'observed_call') c;
SELECT allowed, reason, event_id AS observed_vault_call FROM warden.authorize(:'sub_wide', 'hd-vault', 'get') \gset
SELECT :'allowed' AS allowed, :'reason' AS reason,
       regress.try(format('SELECT warden.credential(%L)', :'observed_vault_call')) AS vaulted_secret;
SELECT warden.set_mode('hd-sub', 'enforce');

-- ---------------------------------------------------------------- 14. nul_in_tool_name
-- text cannot hold NUL; every other control character in a name is refused, and audited.
SELECT allowed, reason FROM warden.authorize(:'hd_token', 'hd-files', 'read' || chr(1) || 'forged');
SELECT allowed, reason FROM warden.authorize(:'hd_token', 'hd-files' || chr(10), 'read');
SELECT count(*) AS audited FROM warden.events WHERE kind = 'call' AND reason = 'invalid_request'
  AND tool = 'read' || chr(1) || 'forged';

-- ---------------------------------------------------------------- 15. nul_in_arguments
-- A front-end that cannot pass the arguments as jsonb (a \u0000 escape) still has the call
-- decided and audited, as invalid_arguments, even in observe mode.
SELECT allowed, reason FROM warden.authorize(:'hd_token', 'hd-files', 'read', '{}', '{"arguments_error": "NUL"}');
SELECT count(*) AS audited FROM warden.events WHERE kind = 'call' AND reason = 'invalid_arguments' AND tool = 'read';

-- ---------------------------------------------------------------- 16c. seals_append_only
SELECT warden.seal_audit() ? 'seal' AS sealed;
SELECT regress.try('UPDATE warden.seals SET events = 0') AS update_seal;
SELECT regress.try('DELETE FROM warden.seals') AS delete_seal;
SELECT regress.try('TRUNCATE warden.seals') AS truncate_seals;

-- ---------------------------------------------------------------- 17. visible_tools_invalid_token
-- A listing through an invalid token shows nothing and records nothing (it used to pin tool
-- definitions for everyone).
SELECT warden.visible_tools('v4.local.forged', 'hd-files', '[{"name": "planted", "description": "x"}]') AS visible;
SELECT count(*) AS recorded FROM warden.tools t JOIN warden.servers s USING (server_id)
WHERE s.name = 'hd-files' AND t.name = 'planted';
SELECT jsonb_array_length(warden.visible_tools(:'hd_token', 'hd-files', '[{"name": "read"}]')) AS visible_with_live_token;

-- ---------------------------------------------------------------- 3 (delegation part). revoked_parent_concurrent_delegation
-- A token delegated while its parent is being revoked (the revocation no longer waits for the
-- delegation) is refused at first use: its ancestry names the revoked token.
SELECT token AS mid_token, token_id AS mid_id FROM warden.delegate(:'hd_token', 'hd-sub', ARRAY['hd-files/read']) \gset
SELECT token AS leaf_token, token_id AS leaf_id FROM warden.delegate(:'mid_token', 'hd-sub', ARRAY['hd-files/read']) \gset
UPDATE warden.tokens SET revoked_at = now() WHERE token_id = :'mid_id';  -- the parent only, as a late commit leaves it
SELECT revoked_at IS NULL AS leaf_not_marked FROM warden.tokens WHERE token_id = :'leaf_id';
SELECT allowed, reason FROM warden.authorize(:'leaf_token', 'hd-files', 'read');
SELECT token_id = :'leaf_id' AS listed, reason FROM warden.dead_tokens(ARRAY[:'leaf_id']::uuid[]);
SELECT regress.try(format('SELECT warden.delegate(%L, %L, ARRAY[%L])', :'leaf_token', 'hd-sub', 'hd-files/read')) AS delegate_from_it;

-- ---------------------------------------------------------------- 9. notification_names_nothing
SELECT prosrc ~ 'token_ids|chain_id|agent' AS payload_names_something
FROM pg_proc WHERE oid = 'warden._notify_revocation(text, uuid, text, uuid[])'::regprocedure;

-- ---------------------------------------------------------------- 17. server_name_trailing_underscore
-- Tools appear as server__tool: a server "a_" would make "a___b" ambiguous.
SELECT regress.try($$SELECT warden.add_server('hd-amb_', 'http://127.0.0.1:9/mcp')$$) AS trailing_underscore;
SELECT regress.try($$SELECT warden.add_server('hd_amb', 'http://127.0.0.1:9/mcp')$$) AS inner_underscore;

-- ---------------------------------------------------------------- 16d. seals_every_interval
-- A seal is due when events were written since the last one and it is older than
-- warden.seal_interval (10 s by default); the count a seal records comes from the writers'
-- heads and equals the number of events.
SELECT setting AS seal_interval FROM pg_settings WHERE name = 'warden.seal_interval';
SELECT warden._event_count() = (SELECT count(*) FROM warden.events) AS count_from_heads;
SELECT (warden.seal_audit() ->> 'events')::bigint AS sealed_events \gset
SELECT :sealed_events = (SELECT count(*) FROM warden.events) - 1 AS seal_counted_every_event_before_its_own;
SELECT warden._seal_if_due() IS NULL AS not_due_right_after_a_seal;

-- ---------------------------------------------------------------- 2 (again). credential_after_revocation
-- A committed decision whose chain was revoked since gets no credential (the liveness rule is
-- warden.dead_tokens', the one warden-mcp uses for calls in flight).
SELECT token AS late_token, chain_id AS late_chain FROM warden.start_chain('hd-alice@example.com', 'hd-bot', 'late', '1 hour') \gset
SELECT event_id AS late_call FROM warden.authorize(:'late_token', 'hd-files', 'read') \gset
SELECT (warden.revoke_chain(:'late_chain', 'hd: revoked after the decision')) ? 'tokens' AS revoked;
SELECT regress.try(format('SELECT warden.credential(%L)', :'late_call')) AS vend_after_revocation;

-- ---------------------------------------------------------------- 2 (pipelined). credential_for_last_decision
-- warden-mcp asks for the credential in the same round trip as the decision, each in its own
-- transaction. It answers only for the call this backend's last authorize allowed, once, by
-- the same rules as warden.credential.
SELECT event_id AS piped_call FROM warden.authorize(:'hd_token', 'hd-files', 'read') \gset
SELECT event_id = :'piped_call' AS answers_for_the_last_decision,
       credential ->> 'kind' AS kind, credential ? 'value' AS has_value
FROM warden.credential_for_last_decision();
SELECT event_id IS NULL AND credential IS NULL AS taken_once FROM warden.credential_for_last_decision();
SELECT regress.try(format('SELECT warden.credential(%L)', :'piped_call')) AS not_vended_twice;
-- A denial after an allowed call leaves nothing behind to vend.
SELECT allowed FROM warden.authorize(:'hd_token', 'hd-files', 'read');
SELECT allowed FROM warden.authorize(:'hd_token', 'hd-nothing', 'read');
SELECT event_id IS NULL AS nothing_after_a_denial FROM warden.credential_for_last_decision();
-- In the decision's own transaction: refused, and after its rollback there is no decision.
BEGIN;
SELECT allowed FROM warden.authorize(:'hd_token', 'hd-files', 'read');
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS same_transaction;
ROLLBACK;
BEGIN;
SELECT allowed FROM warden.authorize(:'hd_token', 'hd-files', 'read');
ROLLBACK;
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS after_rollback;
-- It remembers the decision rather than reading it back, so "committed" is the commit log's
-- word for the (sub)transaction that wrote the event: a decision in a savepoint that rolled
-- back, inside a transaction that committed, never yields a credential.
BEGIN;
SAVEPOINT s;
SELECT allowed FROM warden.authorize(:'hd_token', 'hd-files', 'read');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS after_savepoint_rollback;
-- Vended once by event_id: not again through the remembered decision.
SELECT event_id AS twice_call FROM warden.authorize(:'hd_token', 'hd-files', 'read') \gset
SELECT (SELECT warden.credential(:'twice_call')) ? 'value' AS vended_by_event_id;
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS not_vended_twice_either_way;
-- Revoked between the decision and the vend: refused by the same liveness rule.
SELECT token AS piped_late_token, chain_id AS piped_late_chain FROM warden.start_chain('hd-alice@example.com', 'hd-bot', 'late, pipelined', '1 hour') \gset
SELECT allowed FROM warden.authorize(:'piped_late_token', 'hd-files', 'read');
SELECT (warden.revoke_chain(:'piped_late_chain', 'hd: revoked between decision and vend')) ? 'tokens' AS revoked;
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS pipelined_vend_after_revocation;
-- Asked for with the decision ({"credential": "with_decision"}, what warden-mcp sends): minted
-- and its vend recorded inside the decision's transaction, handed out once that committed.
SELECT event_id AS with_call FROM warden.authorize(:'hd_token', 'hd-files', 'read', '{}',
  '{"credential": "with_decision"}') \gset
SELECT (SELECT count(*) FROM warden.events v WHERE v.parent_id = :'with_call'
          AND v.kind = 'credential_vended' AND v.xmin = e.xmin) = 1 AS vend_recorded_with_the_decision
FROM warden.events e WHERE e.event_id = :'with_call';
SELECT event_id = :'with_call' AS answers_for_it, credential ? 'value' AS has_value
FROM warden.credential_for_last_decision();
SELECT event_id IS NULL AS taken_once_with_decision FROM warden.credential_for_last_decision();
SELECT regress.try(format('SELECT warden.credential(%L)', :'with_call')) AS not_again_by_event_id;
-- A kill that commits after the decision (or while authorize ran, on an older snapshot) still
-- stops the hand-out of a credential minted with the decision.
SELECT token AS wd_token, chain_id AS wd_chain FROM warden.start_chain('hd-alice@example.com', 'hd-bot', 'with decision, late', '1 hour') \gset
SELECT allowed FROM warden.authorize(:'wd_token', 'hd-files', 'read', '{}', '{"credential": "with_decision"}');
SELECT (warden.revoke_chain(:'wd_chain', 'hd: killed before the hand-out')) ? 'tokens' AS revoked;
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS with_decision_after_revocation;
-- Rolled back with its decision: no credential, and no vend on record.
BEGIN;
SELECT event_id AS with_rolled_back FROM warden.authorize(:'hd_token', 'hd-files', 'read', '{}',
  '{"credential": "with_decision"}') \gset
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS with_decision_same_transaction;
ROLLBACK;
BEGIN;
SELECT event_id AS with_rolled_back FROM warden.authorize(:'hd_token', 'hd-files', 'read', '{}',
  '{"credential": "with_decision"}') \gset
ROLLBACK;
SELECT regress.try('SELECT warden.credential_for_last_decision()') AS with_decision_after_rollback;
SELECT count(*) AS vends_of_rolled_back_decisions FROM warden.events
WHERE kind = 'credential_vended' AND parent_id = :'with_rolled_back';
-- Only the proxy role may ask.
SELECT r AS role, has_function_privilege(r, 'warden.credential_for_last_decision()', 'EXECUTE') AS may_ask
FROM unnest(ARRAY['warden_proxy', 'warden_admin', 'warden_issuer', 'warden_auditor', 'public']) r;
