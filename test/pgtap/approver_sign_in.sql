-- An approver's sign-in through the identity provider (issue 15), the database half, as
-- warden-mcp drives it: begin_approver_sign_in -> idp_callback -> complete_approver_sign_in ->
-- approval_page / decide_approval with the session. Each attack a test: a callback finished in
-- another browser (login CSRF), a replayed or expired sign-in, a wrong nonce or audience, an
-- open redirect through next, a person the provider admits but warden does not know, an
-- offboarded person, a session after the person moved to another provider, who may call what,
-- and the bound on sign-ins an unauthenticated client can leave open. The ID tokens are really
-- signed (include/id_token_signer.sql): the database verifies them with the keys an admin
-- pinned, and the gateway's role can neither pin keys nor get its own fetched keys believed.
BEGIN;
SELECT plan(62);
\ir include/id_token_signer.sql

CREATE ROLE tap_as_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_as_admin LOGIN IN ROLE warden_admin;
CREATE SCHEMA tap_as;
GRANT USAGE ON SCHEMA tap_as TO PUBLIC;

-- The first column of the first row of `statement` run as `who`, or 'ERROR <sqlstate>'.
CREATE FUNCTION tap_as.as_role(who name, statement text) RETURNS text LANGUAGE plpgsql AS $$
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
-- ID token claims for a begun sign-in.
CREATE FUNCTION tap_as.claims(began jsonb, sub text, overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('iss', 'https://idp.as.example', 'aud', 'warden-at-idp', 'nonce', began->>'idp_nonce',
                            'exp', extract(epoch FROM now())::bigint + 300, 'iat', extract(epoch FROM now())::bigint,
                            'auth_time', extract(epoch FROM now())::bigint, 'sub', sub) || overrides
$$;
\set binding 'binding-0123456789-0123456789-0123456789'
CREATE FUNCTION tap_as.begin(next text DEFAULT '/approvals') RETURNS jsonb LANGUAGE sql AS $$
  SELECT warden.begin_approver_sign_in('as-idp', next, 'binding-0123456789-0123456789-0123456789')
$$;
CREATE FUNCTION tap_as.finish(began jsonb, sub text, binding text DEFAULT 'binding-0123456789-0123456789-0123456789',
                              overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT warden.complete_approver_sign_in(began->>'idp_state', binding, tap_jws.sign(tap_as.claims(began, sub, overrides)))
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tap_as TO PUBLIC;

SELECT lives_ok($$SELECT warden.add_identity_provider('as-idp', 'https://idp.as.example', 'warden-at-idp', NULL, '{"jit": true}'),
                         warden.add_identity_provider('as-other', 'https://idp.other.example', 'warden-at-other'),
                         warden.add_human('dana@as.example'), warden.link_human('dana@as.example', 'as-idp'),
                         warden.add_human('erin@as.example'), warden.link_human('erin@as.example', 'as-idp'),
                         warden.add_human('frank@as.example')$$,
                'two providers; dana and erin are humans of as-idp, frank of none');

-- ------------------------------------------------------------------------------- pinned keys
SELECT is(tap_as.as_role('tap_as_proxy', $$SELECT warden.pin_identity_provider_keys('as-idp', tap_jws.jwks())$$), 'ERROR 42501',
          'the gateway''s role cannot pin a provider''s keys');
SELECT is(tap_as.as_role('tap_as_proxy', $$INSERT INTO warden.idp_pinned_keys (idp_id, kid, jwk, pinned_by)
                                           SELECT idp_id, 'evil', '{}', 'x' FROM warden.identity_providers LIMIT 1 RETURNING 1$$),
          'ERROR 42501', '... nor write the pinned keys');
SELECT is(tap_as.as_role('tap_as_admin', $$SELECT warden.pin_identity_provider_keys('as-idp', '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}, {"kty": "RSA", "n": "x", "e": "AQAB", "d": "y"}]}')$$),
          'ERROR 22023', 'a JWKS of a shared secret and a private key pins nothing: refused');
SELECT is(tap_as.as_role('tap_as_admin', $$SELECT warden.pin_identity_provider_keys('as-idp', '{"keys": [
             {"kty": "RSA", "kid": "garbage", "n": "garbage", "e": "AQAB"},
             {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AAAA", "y": "AAAA"}]}')$$),
          'ERROR 22023', 'keys warden cannot verify with pin nothing: refused');
SELECT is(tap_as.as_role('tap_as_admin', format($$SELECT warden.pin_identity_provider_keys('as-idp', %L)->>'skipped'$$,
            jsonb_build_object('keys', jsonb_build_array(
              (tap_jws.jwks()->'keys'->0) || '{"x5c": ["MIIB-a-certificate"], "x-extra": 1}',
              (tap_jws.jwks()->'keys'->0) || '{"kid": "with-primes", "p": "AAAA", "q": "AAAA", "dp": "AAAA"}',
              '{"kty": "RSA", "kid": "garbage", "n": "garbage", "e": "AQAB"}'::jsonb)))),
          '2', 'warden_admin pins the provider''s JWKS: a key with private members and an unusable one are skipped');
SELECT is((SELECT string_agg(kid || ' ' || (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(jwk) k), ';')
           FROM warden.idp_pinned_keys),
          'tap-key alg,e,kid,kty,n,use', '... and of the key kept, only its public members');
SELECT is((SELECT detail->>'idp' || ' ' || (detail->>'kids') FROM warden.events WHERE kind = 'idp_keys_pinned' ORDER BY at DESC LIMIT 1),
          'as-idp ["tap-key"]', 'pinning is audited');

-- ------------------------------------------------------------------------------------ begin
CREATE TEMP TABLE b1 AS SELECT tap_as.begin('/approvals/0b7c1f43-8c44-4e0f-9c3e-6a8f2d1e9a10') AS b;
SELECT ok((SELECT b ? 'idp_state' AND b ? 'idp_nonce' AND b ? 'idp_code_challenge' AND b->>'idp' = 'as-idp' FROM b1),
          'begin returns the state, nonce and PKCE challenge for the provider');
SELECT ok((SELECT s.binding_hash <> convert_to(:'binding', 'UTF8') AND s.idp_state_hash <> convert_to(b->>'idp_state', 'UTF8')
           FROM warden.approver_sign_ins s, b1 WHERE s.sign_in_id = (b->>'sign_in_id')::uuid),
          'only hashes of the binding and the state are stored');
SELECT throws_ok($$SELECT tap_as.begin('https://evil.example/approvals')$$, 'WA400', NULL, 'next cannot leave the approval pages');
SELECT throws_ok($$SELECT tap_as.begin('/approvals/../consent')$$, 'WA400', NULL, 'next is an approval page exactly');
SELECT throws_ok($$SELECT tap_as.begin(E'/approvals\r\nSet-Cookie: x=y')$$, 'WA400', NULL, 'next cannot carry a header');
SELECT throws_ok($$SELECT warden.begin_approver_sign_in('as-idp', '/approvals', 'short')$$, 'WA400', NULL,
                 'a browser binding of fewer than 32 characters is refused');
SELECT throws_ok($$SELECT warden.begin_approver_sign_in(NULL, '/approvals', 'binding-0123456789-0123456789-0123456789')$$,
                 'WA400', 'invalid_request: name the identity provider', 'with two providers, one must be named');
SELECT throws_ok($$SELECT warden.begin_approver_sign_in('nope', '/approvals', 'binding-0123456789-0123456789-0123456789')$$,
                 'WA400', 'invalid_request: unknown identity provider', 'an unknown provider is refused');

-- ---------------------------------------------------------------------------------- callback
SELECT is((SELECT warden.idp_callback(b->>'idp_state')->>'for' FROM b1), 'approver',
          'idp_callback tells warden-mcp the state belongs to an approver''s sign-in');
SELECT ok((SELECT (warden.idp_callback(b->>'idp_state')->>'idp_code_verifier') IS NOT NULL FROM b1),
          '... with the PKCE verifier to redeem the code');

-- -------------------------------------------------------------------------------- completion
SELECT is((SELECT tap_as.finish(b, 'dana@as.example', 'another-browser-0123456789-0123456789')->>'error_description' FROM b1),
          'sign-in refused: another_browser', 'a callback finished in a browser without the binding cookie is refused');
SELECT throws_ok($$SELECT tap_as.finish(b, 'dana@as.example') FROM b1$$, 'WA400', 'invalid_request: this sign-in was already used',
                 '... and the sign-in is spent: the right browser cannot finish it afterwards');
SELECT is((SELECT reason FROM warden.events WHERE kind = 'approver_sign_in_refused' ORDER BY at DESC LIMIT 1),
          'another_browser', 'the refusal is audited');

CREATE TEMP TABLE b2 AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'dana@as.example', overrides => jsonb_build_object('nonce', 'forged'))->>'error_description' FROM b2),
          'sign-in refused: wrong_nonce', 'an ID token minted for another sign-in (nonce) is refused');
CREATE TEMP TABLE b3 AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'dana@as.example', overrides => '{"aud": "another-app"}')->>'error_description' FROM b3),
          'sign-in refused: wrong_audience', 'an ID token for another application is refused');
CREATE TEMP TABLE b4 AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'mallory@as.example')->>'error_description' FROM b4),
          'sign-in refused: not_provisioned', 'a person the provider admits but warden does not know is no approver (no JIT here)');
SELECT ok(NOT EXISTS (SELECT FROM warden.humans WHERE subject = 'mallory@as.example'), '... and no human was created');
CREATE TEMP TABLE b5 AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding', '{}', 'bad signature')->>'error_description' FROM b5),
          'sign-in refused: id_token_not_verified: bad signature', 'warden-mcp''s refusal ends the sign-in');
CREATE TEMP TABLE b5a AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding',
             split_part(tap_jws.sign(tap_as.claims(b, 'dana@as.example')), '.', 1) || '.'
             || tap_jws.b64url(convert_to(tap_as.claims(b, 'mallory@as.example')::text, 'UTF8')) || '.'
             || split_part(tap_jws.sign(tap_as.claims(b, 'dana@as.example')), '.', 3))->>'error_description' FROM b5a),
          'sign-in refused: id_token_not_verified_by_database: bad_signature',
          'claims the gateway changed after the provider signed them are refused: the database checks the signature');
CREATE TEMP TABLE b5b AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding',
             'eyJhbGciOiJub25lIn0.' || tap_jws.b64url(convert_to(tap_as.claims(b, 'dana@as.example')::text, 'UTF8')) || '.')
             ->>'error_description' FROM b5b),
          'sign-in refused: id_token_not_verified_by_database: alg_not_allowed', 'an unsigned (alg none) ID token is refused');
-- The gateway's role stores a JWKS of its own (it fetches the provider's): its keys are not the pinned ones.
SELECT lives_ok($$SELECT tap_as.as_role('tap_as_proxy', $q$SELECT warden.store_idp_metadata('as-idp',
                    '{"issuer": "https://idp.as.example"}', '{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "evil", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}')$q$)$$,
                'the gateway''s role stores a JWKS of its own choosing');
CREATE TEMP TABLE b5c AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding', tap_jws.sign(tap_as.claims(b, 'dana@as.example'), 'evil'))
             ->>'error_description' FROM b5c),
          'sign-in refused: id_token_not_verified_by_database: unknown_kid (an administrator pins the provider''s current keys with warden.pin_identity_provider_keys)',
          '... a token naming the gateway''s key is refused: only pinned keys count');
SELECT is((SELECT string_agg(kid, ',') FROM warden.idp_pinned_keys), 'tap-key', '... and the pinned keys are unchanged');
CREATE TEMP TABLE b5d AS SELECT warden.begin_approver_sign_in('as-other', '/approvals', :'binding') AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding', tap_jws.sign('{}'))->>'error_description' FROM b5d),
          'sign-in refused: keys_not_pinned (an administrator pins the provider''s current keys with warden.pin_identity_provider_keys)',
          'a provider without pinned keys opens no approver session');
SELECT is((SELECT reason FROM warden.events WHERE kind = 'approver_sign_in_refused' ORDER BY at DESC LIMIT 1),
          'keys_not_pinned', '... audited');
-- The database's claim checks are those of warden-mcp's own (id_token.cpp), since for these
-- sign-ins they are the only ones a lying gateway cannot skip.
CREATE TEMP TABLE b5e AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'dana@as.example', overrides => '{"aud": ["another-app", "warden-at-idp"]}')->>'error_description' FROM b5e),
          'sign-in refused: wrong_authorized_party', 'several audiences without azp naming warden are refused');
CREATE TEMP TABLE b5f AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding',
             tap_jws.sign(tap_as.claims(b, 'dana@as.example') - 'iat'))->>'error_description' FROM b5f),
          'sign-in refused: no_issued_at', 'an ID token without iat is refused');
CREATE TEMP TABLE b5g AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding',
             tap_jws.sign_payload(left(tap_as.claims(b, 'dana@as.example')::text, -1) || ', "name": "Dana\u0000"}'))
             ->>'error_description' FROM b5g),
          'sign-in refused: id_token_not_verified_by_database: malformed',
          'a NUL in a claim (which jsonb cannot hold) is refused, not an error that leaves the sign-in open');
-- A login made before the sign-in began (a standing session at the provider, which a lying
-- gateway could use with a silent round trip) is not a login for it.
SELECT is((SELECT b->>'idp_max_age' FROM tap_as.begin() b), '0', 'begin asks the provider for a login now (max_age 0)');
CREATE TEMP TABLE b5h AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'dana@as.example', overrides => jsonb_build_object('auth_time', extract(epoch FROM now())::bigint - 3600))
             ->>'error_description' FROM b5h),
          'sign-in refused: not_a_fresh_login', 'an ID token whose login is older than the sign-in is refused');
CREATE TEMP TABLE b5i AS SELECT tap_as.begin() AS b;
SELECT is((SELECT warden.complete_approver_sign_in(b->>'idp_state', :'binding',
             tap_jws.sign(tap_as.claims(b, 'dana@as.example') - 'auth_time'))->>'error_description' FROM b5i),
          'sign-in refused: not_a_fresh_login', '... and one that does not say when the person logged in');
CREATE TEMP TABLE b6 AS SELECT tap_as.begin() AS b;
UPDATE warden.approver_sign_ins s SET expires_at = now() - interval '1 second'
FROM b6 WHERE s.sign_in_id = (b6.b->>'sign_in_id')::uuid;
SELECT throws_ok($$SELECT tap_as.finish(b, 'dana@as.example') FROM b6$$, 'WA400', 'invalid_request: the sign-in expired',
                 'an expired sign-in is refused');
SELECT throws_ok($$SELECT warden.complete_approver_sign_in('no-such-state', 'binding-0123456789-0123456789-0123456789', '{}')$$,
                 'WA400', 'invalid_request: unknown sign-in', 'an unknown state is refused');

CREATE TEMP TABLE ok1 AS SELECT tap_as.finish(b, 'dana@as.example') AS r FROM tap_as.begin('/approvals') b;
SELECT is((SELECT r->>'approver' || ' ' || (r->>'next') FROM ok1), 'dana@as.example /approvals',
          'the right browser, a good ID token, a known person: an approver session');
SELECT ok((SELECT (r->>'session') LIKE 'was_%' AND NOT EXISTS (SELECT FROM warden.approver_sessions s
                                                            WHERE s.session_hash = convert_to(r->>'session', 'UTF8'))
           FROM ok1), 'only the session''s hash is stored');
SELECT is((SELECT human FROM warden.events WHERE kind = 'approver_signed_in' ORDER BY at DESC LIMIT 1),
          'dana@as.example', 'the sign-in is audited');
SELECT is((SELECT warden.approval_page(r->>'session')->>'approver' FROM ok1), 'dana@as.example',
          'the session opens the approval page as that person');
SELECT is((SELECT string_agg(coalesce(s.login::text, '(no login)') || ' ' || ip.name, ',') FROM warden.approver_sessions s
           JOIN warden.identity_providers ip USING (idp_id)
           WHERE s.human_id = (SELECT human_id FROM warden.humans WHERE subject = 'dana@as.example')),
          '(no login) as-idp', 'an IdP session names its provider and no database login');
SELECT ok((SELECT (s.expires_at - now()) <= interval '1 hour' FROM warden.approver_sessions s
           WHERE s.human_id = (SELECT human_id FROM warden.humans WHERE subject = 'dana@as.example')),
          'an IdP session lasts at most an hour');

-- A person of another provider, or nobody's, cannot come in through this one.
CREATE TEMP TABLE b7 AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'frank@as.example')->>'error_description' FROM b7),
          'sign-in refused: not_provisioned', 'a human not of this provider (same subject) is not signed in by it');

-- Offboarding ends the session at once; moving the person to another provider does too.
CREATE TEMP TABLE ok2 AS SELECT tap_as.finish(b, 'erin@as.example') AS r FROM tap_as.begin('/approvals') b;
SELECT lives_ok($$SELECT warden.approval_page(r->>'session') FROM ok2$$, 'erin''s session works');
UPDATE warden.humans SET idp = (SELECT idp_id FROM warden.identity_providers WHERE name = 'as-other')
WHERE subject = 'erin@as.example';
SELECT throws_ok($$SELECT warden.approval_page(r->>'session') FROM ok2$$, '28000', NULL,
                 'a session of a provider the person no longer belongs to is dead');
SELECT lives_ok($$SELECT warden.revoke_human('dana@as.example', 'left the company')$$, 'dana is offboarded');
SELECT throws_ok($$SELECT warden.approval_page(r->>'session') FROM ok1$$, '28000', NULL,
                 'an offboarded person''s IdP session is dead at once');
CREATE TEMP TABLE b8 AS SELECT tap_as.begin() AS b;
SELECT is((SELECT tap_as.finish(b, 'dana@as.example')->>'error_description' FROM b8),
          'sign-in refused: human_revoked', 'an offboarded person cannot sign in again');

-- Unpinning closes the provider's door; pinning again opens it.
SELECT is(tap_as.as_role('tap_as_admin', $$SELECT warden.pin_identity_provider_keys('as-idp', NULL)->>'pinned'$$), '0',
          'NULL unpins');
SELECT is((SELECT tap_as.finish(b, 'erin@as.example')->>'error_description' FROM tap_as.begin() b),
          'sign-in refused: keys_not_pinned (an administrator pins the provider''s current keys with warden.pin_identity_provider_keys)',
          '... and then a well-signed ID token opens nothing');
SELECT lives_ok($$SELECT warden.pin_identity_provider_keys('as-idp', tap_jws.jwks())$$, 'pinned again');

-- ------------------------------------------------------------------------------- who may call
SELECT is(tap_as.as_role('tap_as_proxy', $$SELECT warden.begin_approver_sign_in('as-idp', '/approvals', 'binding-0123456789-0123456789-0123456789')->>'idp'$$),
          'as-idp', 'warden_proxy begins sign-ins');
SELECT is(tap_as.as_role(r, $$SELECT warden.begin_approver_sign_in('as-idp', '/approvals', 'binding-0123456789-0123456789-0123456789')$$)
          || ' ' || tap_as.as_role(r, $$SELECT warden.complete_approver_sign_in('x', 'binding-0123456789-0123456789-0123456789', '{}')$$),
          'ERROR 42501 ERROR 42501', r || ' can neither begin nor complete an approver''s sign-in')
FROM unnest(ARRAY['warden_admin', 'warden_approver', 'warden_auditor', 'warden_issuer']::name[]) r;

-- ---------------------------------------------------------------------------------- the bound
INSERT INTO warden.approver_sign_ins (sign_in_id, idp_id, idp_state_hash, idp_nonce_hash, idp_verifier, binding_hash, next, expires_at)
SELECT gen_random_uuid(), (SELECT idp_id FROM warden.identity_providers WHERE name = 'as-idp'),
       sha256(convert_to('s' || i, 'UTF8')), '\x00', '\x00', '\x00', '/approvals', now() + interval '10 minutes'
FROM generate_series(1, 10000) i;
SELECT throws_ok($$SELECT tap_as.begin()$$, 'WA503', NULL,
                 'at most 10,000 unfinished sign-ins: an unauthenticated flood cannot grow the table without end');

SELECT * FROM finish();
ROLLBACK;
