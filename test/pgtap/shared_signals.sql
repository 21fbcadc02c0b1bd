-- Revocation over Shared Signals (issue 17), in the database: stream configuration checks, the
-- SETs warden.ssf_batch signs for revocations (and only for them), and the receiver's claim
-- checks (issuer, audience, iat, jti replay, subject) with every refusal audited.
BEGIN;
SELECT plan(40);

CREATE FUNCTION pg_temp.b64u(t text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT convert_from(decode(translate(t, '-_', '+/') || repeat('=', (4 - length(t) % 4) % 4), 'base64'), 'UTF8')::jsonb
$$;
CREATE FUNCTION pg_temp.claims(t text) RETURNS jsonb LANGUAGE sql AS $$ SELECT pg_temp.b64u(split_part(t, '.', 2)) $$;
CREATE FUNCTION pg_temp.header(t text) RETURNS jsonb LANGUAGE sql AS $$ SELECT pg_temp.b64u(split_part(t, '.', 1)) $$;

SELECT throws_ok($$SELECT warden.ssf_create_stream('{}', 'https://warden.example')$$, '22023', NULL, 'a stream needs delivery');
SELECT throws_ok($$SELECT warden.ssf_create_stream('{"delivery": {"method": "urn:ietf:rfc:8936"}}', 'https://warden.example')$$,
                 '22023', NULL, 'poll delivery is refused');
SELECT throws_ok($$SELECT warden.ssf_create_stream('{"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://169.254.169.254/"}}', 'https://warden.example')$$,
                 '22023', NULL, 'a link-local http endpoint is refused');
SELECT throws_ok($$SELECT warden.ssf_create_stream('{"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://r.example/", "authorization_header": "a\nb"}}', 'https://warden.example')$$,
                 '22023', NULL, 'a header value with a newline is refused');
SELECT throws_ok($$SELECT warden.ssf_stream_status(gen_random_uuid(), 'sleeping')$$, '22023', NULL, 'unknown status refused');

SELECT warden.add_human('sam@example.com');
SELECT warden.add_agent('ssf-bot', 'sam@example.com');
CREATE TEMP TABLE s AS
  SELECT (warden.ssf_create_stream('{"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://receiver.example/caep", "authorization_header": "Bearer x"}, "aud": "https://receiver.example"}',
                                   'https://warden.example') ->> 'stream_id')::uuid AS id;
SELECT is((SELECT warden.ssf_stream(id) ->> 'aud' FROM s), 'https://receiver.example', 'the stream keeps its audience');
SELECT ok((SELECT NOT (warden.ssf_stream(id) ? 'authorization_header') FROM s), 'the push header is not shown');
SELECT is((SELECT authorization_header FROM warden.ssf_push_targets()), 'Bearer x', 'the transmitter gets the push header');
SELECT is((SELECT count(*)::int FROM s, warden.ssf_batch(s.id, 100) b WHERE b.set_jwt IS NOT NULL), 0,
          'a new stream starts now: no history');

-- Updating (PATCH) and replacing (PUT) a stream: the same checks as creating it.
SELECT throws_ok($$SELECT warden.ssf_update_stream((SELECT id FROM s), '{"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://10.0.0.5/"}}', false)$$,
                 '22023', NULL, 'an update cannot aim the stream at a private http endpoint');
SELECT throws_ok($$SELECT warden.ssf_update_stream((SELECT id FROM s), '{"events_requested": "all"}', false)$$,
                 '22023', NULL, 'events_requested must be an array');
SELECT throws_ok($$SELECT warden.ssf_update_stream((SELECT id FROM s), '{"description": "no delivery"}', true)$$,
                 '22023', NULL, 'a replacement needs its delivery');
SELECT is(warden.ssf_update_stream(gen_random_uuid(), '{"description": "x"}', false), NULL, 'an unknown stream: NULL');
SELECT is((SELECT warden.ssf_update_stream(id, '{"description": "patched", "events_requested": ["https://schemas.openid.net/secevent/caep/event-type/session-revoked"]}', false)
           ->> 'description' FROM s), 'patched', 'PATCH changes the description');
SELECT is((SELECT authorization_header FROM warden.ssf_push_targets()), 'Bearer x', 'PATCH without delivery keeps the push header');
SELECT is((SELECT warden.ssf_stream(id) -> 'delivery' ->> 'endpoint_url' FROM s), 'https://receiver.example/caep',
          'PATCH without delivery keeps the endpoint');
SELECT is((SELECT warden.ssf_update_stream(id, '{"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://receiver.example/v2", "authorization_header": "Bearer y"}}', true)
           -> 'events_requested' FROM s), '[]'::jsonb, 'PUT resets what it does not name (every event type)');
SELECT is((SELECT endpoint_url || ' ' || authorization_header FROM warden.ssf_push_targets()), 'https://receiver.example/v2 Bearer y',
          'PUT replaces the delivery, its header wrapped again');
SELECT is((SELECT count(*)::int FROM warden.events WHERE kind = 'ssf_stream_updated'), 2, 'each update is audited');

CREATE TEMP TABLE c AS SELECT chain_id FROM warden.start_chain('sam@example.com', 'ssf-bot', 'ssf test');
SELECT warden.revoke_chain((SELECT chain_id FROM c), 'incident');
CREATE TEMP TABLE b AS SELECT b.* FROM s, warden.ssf_batch(s.id, 100) b;
SELECT is((SELECT count(*)::int FROM b JOIN warden.events e USING (event_id) WHERE set_jwt IS NOT NULL AND e.kind = 'chain_revoked'),
          1, 'a chain revocation gives one SET');
SELECT ok((SELECT count(*) FROM b WHERE set_jwt IS NULL) >= 1, 'other events pass without a SET (token_issued)');
SELECT is((SELECT pg_temp.header(set_jwt) ->> 'typ' FROM b WHERE set_jwt IS NOT NULL LIMIT 1), 'secevent+jwt', 'typ secevent+jwt');
SELECT is((SELECT pg_temp.header(set_jwt) ->> 'alg' FROM b WHERE set_jwt IS NOT NULL LIMIT 1), 'EdDSA', 'signed with EdDSA');
SELECT ok((SELECT bool_and(pg_temp.claims(set_jwt) ->> 'jti' = event_id::text) FROM b WHERE set_jwt IS NOT NULL), 'jti is the event id');
SELECT ok((SELECT bool_and(pg_temp.claims(set_jwt) -> 'events' ? CASE WHEN e.kind = 'keys_rotated'
             THEN 'https://schemas.openid.net/secevent/caep/event-type/credential-change'
             ELSE 'https://schemas.openid.net/secevent/caep/event-type/session-revoked' END)
           FROM b JOIN warden.events e USING (event_id) WHERE set_jwt IS NOT NULL), 'CAEP session-revoked (credential-change for keys)');
SELECT is((SELECT pg_temp.claims(set_jwt) #>> '{sub_id,session,id}' FROM b JOIN warden.events e USING (event_id)
           WHERE e.kind = 'chain_revoked'), (SELECT chain_id::text FROM c), 'the chain is the session');
SELECT is((SELECT pg_temp.claims(set_jwt) #>> '{events,https://schemas.openid.net/secevent/caep/event-type/session-revoked,reason_admin,en}'
           FROM b JOIN warden.events e USING (event_id) WHERE e.kind = 'chain_revoked'), 'incident', 'the reason travels');

-- Receiver.
SELECT warden.add_identity_provider('ssf-idp', 'https://idp.example', 'warden');
SELECT is((warden.receive_security_event('https://idp.example', '{}', NULL)) ->> 'err', 'invalid_issuer',
          'an IdP not accepted for SETs is refused');
SELECT warden.accept_security_events('ssf-idp', 'https://warden.example/ssf');
CREATE FUNCTION pg_temp.set_claims(sub text, aud text DEFAULT 'https://warden.example/ssf', jti text DEFAULT gen_random_uuid()::text,
                                   iat bigint DEFAULT extract(epoch FROM now())::bigint) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('iss', 'https://idp.example', 'aud', aud, 'jti', jti, 'iat', iat,
    'sub_id', jsonb_build_object('format', 'email', 'email', sub),
    'events', jsonb_build_object('https://schemas.openid.net/secevent/caep/event-type/session-revoked', '{}'::jsonb))
$$;
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('sam@example.com', 'https://other.example')) ->> 'err',
          'invalid_audience', 'wrong aud');
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('sam@example.com', iat => 1)) ->> 'err',
          'invalid_request', 'an old iat');
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('nobody@example.com')) ->> 'description',
          'unknown subject', 'an unknown subject');
SELECT is(warden.receive_security_event('https://idp.example', '{}', '{"err": "invalid_key", "description": "bad signature"}') ->> 'err',
          'invalid_key', 'a refusal from the front-end is returned');
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('sam@example.com')) ->> 'description',
          'unknown subject', 'a person not linked to the provider is not its to revoke');
SELECT warden.link_human('sam@example.com', 'ssf-idp');
-- A console person need not be a human warden knows: their console sessions through this
-- provider end on its event all the same.
INSERT INTO warden.console_sessions (session_hash, idp_id, subject, groups, expires_at)
SELECT warden._secret_hash('wcs_tap_console_only'), ip.idp_id, 'viewer@example.com', '{auditors}', now() + interval '1 hour'
FROM warden.identity_providers ip WHERE ip.name = 'ssf-idp';
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('viewer@example.com')) #>> '{revoked,0,console_sessions}',
          '1', 'a console person of the provider who is no human of warden: their console session ends');
SELECT is((SELECT count(*)::int FROM warden.console_sessions WHERE subject = 'viewer@example.com'), 0, '... and is gone');
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('sam@example.com', jti => 'once')) -> 'ok',
          'true'::jsonb, 'a good SET is accepted');
SELECT isnt((SELECT revoked_at FROM warden.humans WHERE subject = 'sam@example.com'), NULL, 'and the person is revoked');
SELECT is(warden.receive_security_event('https://idp.example', pg_temp.set_claims('sam@example.com', jti => 'once')) ->> 'description',
          'jti already received (replay)', 'a replayed jti');
SELECT warden.receive_security_event('https://idp.example', '{}', '{"err": "invalid_request", "description": "garbage", "suppressed": 41}');
SELECT is((SELECT (detail ->> 'suppressed')::int FROM warden.events WHERE kind = 'ssf_set_refused' ORDER BY at DESC, event_id DESC LIMIT 1),
          41, 'an audited refusal counts the ones warden-mcp answered 429 before it');
SELECT is((SELECT count(*)::int FROM warden.events WHERE kind = 'ssf_set_refused'), 8, 'every refusal is audited');

SELECT * FROM finish();
ROLLBACK;
