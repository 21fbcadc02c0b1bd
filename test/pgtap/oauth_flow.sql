-- Identity in (issue 13), the database half: identity providers and their keys, OAuth clients
-- as agents (pending until approved), and the authorization server's state machine as
-- warden-mcp drives it (begin_authorization -> complete_sign_in -> consent ->
-- redeem_authorization_code -> authorize), with each attack a test: wrong PKCE verifier,
-- unregistered redirect_uri, code replay (kills the chain), refresh-token reuse (kills the
-- chain), wrong nonce/iss/aud, expired claims, wrong consent token, scope wider than the
-- grants, DPoP binding, pending agents, offboarding, and who may call what.
BEGIN;
SELECT plan(133);
\ir include/id_token_signer.sql

CREATE ROLE tap_oa_admin LOGIN IN ROLE warden_admin;
CREATE ROLE tap_oa_issuer LOGIN IN ROLE warden_issuer;
CREATE ROLE tap_oa_proxy LOGIN IN ROLE warden_proxy;
CREATE SCHEMA tap_oa;
CREATE TABLE tap_oa.v (name text PRIMARY KEY, val jsonb);
GRANT USAGE ON SCHEMA tap_oa TO PUBLIC;
GRANT SELECT, INSERT ON tap_oa.v TO PUBLIC;

-- The first column of the first row of `statement` run as `who`, or 'ERROR <sqlstate>'.
CREATE FUNCTION tap_oa.as_role(who name, statement text) RETURNS text LANGUAGE plpgsql AS $$
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

-- ID token claims as the provider would sign them, for a begun authorization.
CREATE FUNCTION tap_oa.claims(began jsonb, sub text, overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('iss', 'https://idp.tap.example', 'aud', 'warden-at-idp', 'nonce', began->>'idp_nonce',
                            'exp', extract(epoch FROM now())::bigint + 300, 'iat', extract(epoch FROM now())::bigint,
                            'sub', sub, 'email', sub, 'email_verified', true, 'name', 'Tap ' || sub) || overrides
$$;
CREATE FUNCTION tap_oa.challenge(verifier text) RETURNS text LANGUAGE sql AS $$
  SELECT warden._base64url(sha256(convert_to(verifier, 'UTF8')))
$$;
-- begin + sign-in as the proxy; returns the begin result merged with the consent view.
CREATE FUNCTION tap_oa.sign_in(client text, verifier text, scope text, sub text,
                               redirect text DEFAULT 'https://app.tap.example/cb') RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  b jsonb;
  s jsonb;
  c text := tap_oa.challenge(verifier);
BEGIN
  SET LOCAL ROLE tap_oa_proxy;
  b := warden.begin_authorization(client, redirect, c, 'S256', 'client-state-1', scope,
                                  'https://gw.tap.example/mcp', 'tap-idp');
  s := warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, sub));
  RESET ROLE;
  RETURN b || s;
END
$$;
-- sign-in + approved consent: adds the code.
CREATE FUNCTION tap_oa.code(client text, verifier text, scope text, sub text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  s jsonb := tap_oa.sign_in(client, verifier, scope, sub);
BEGIN
  RETURN s || warden.consent((s->>'request_id')::uuid, s->>'consent_token', true);
END
$$;
CREATE FUNCTION tap_oa.redeem(c jsonb, verifier text, dpop text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT warden.redeem_authorization_code(c->>'code', verifier, 'tap-client', 'https://app.tap.example/cb',
                                          'https://gw.tap.example/mcp', dpop)
$$;

\set v1 'verifier-one-0123456789-0123456789-0123456789'
\set v2 'verifier-two-0123456789-0123456789-0123456789'

-- ---------------------------------------------------------------- set-up and admin functions
SELECT lives_ok($$SELECT warden.add_human('tap-oa-owner@example.com'),
                         warden.add_agent('tap-oa-bot', 'tap-oa-owner@example.com'),
                         warden.add_server('taposrv', 'https://taposrv.internal/mcp'),
                         warden.add_server('tapother', 'https://tapother.internal/mcp'),
                         warden.grant('tap-oa-bot', 'taposrv/read'),
                         warden.grant('tap-oa-bot', 'taposrv/list')$$, 'inventory and grants');
SELECT is(tap_oa.as_role('tap_oa_admin', $$SELECT warden.add_identity_provider('tap-idp', 'https://idp.tap.example',
            'warden-at-idp', NULL, '{"jit": true, "email_claim": "email", "allowed_domains": ["example.com"]}') IS NOT NULL$$),
          'true', 'warden_admin adds an identity provider');
SELECT throws_ok($$SELECT warden.add_identity_provider('tap-idp2', 'https://idp2.tap.example', 'x', NULL, '{"jitt": true}')$$,
                 '22023', 'unknown identity provider option "jitt"', 'unknown options are refused');
SELECT throws_ok($$SELECT warden.add_identity_provider('tap-idp3', 'http://idp3.tap.example', 'x')$$,
                 '22023', NULL, 'an http issuer off loopback is refused');
SELECT lives_ok($$SELECT warden.add_identity_provider('tap-idp4', 'http://127.0.0.1:9999', 'x')$$,
                'an http issuer on loopback is accepted (test providers)');
-- A person named by their address (subject_claim email) only when the provider verified it.
SELECT warden.add_identity_provider('tap-idp5', 'https://idp5.tap.example', 'x', NULL, '{"subject_claim": "email", "email_claim": "email"}');
SELECT is(warden._idp_admission(p, '{"email": "eve@example.com", "email_verified": false}'), 'email_not_verified',
          'an address the provider did not verify names nobody')
FROM warden.identity_providers p WHERE p.name = 'tap-idp5';
SELECT is(warden._idp_admission(p, '{"email": "eve@example.com"}'), 'email_not_verified', '... nor one it says nothing about')
FROM warden.identity_providers p WHERE p.name = 'tap-idp5';
SELECT is(warden._idp_admission(p, '{"email": "eve@example.com", "email_verified": true}'), NULL, 'a verified address is admitted')
FROM warden.identity_providers p WHERE p.name = 'tap-idp5';
SELECT is(tap_oa.as_role('tap_oa_admin', $$SELECT warden.register_client('tap-oa-bot', 'tap-client',
            ARRAY['https://app.tap.example/cb', 'http://127.0.0.1:7777/cb'])$$),
          (SELECT agent_id::text FROM warden.agents WHERE name = 'tap-oa-bot'), 'register_client links a client to an agent');
SELECT throws_ok($$SELECT warden.register_client('tap-oa-bot', 'tap-client-2', ARRAY['https://app.tap.example/cb#frag'])$$,
                 '22023', NULL, 'a redirect URI with a fragment is refused');
SELECT throws_ok($$SELECT warden.register_client('tap-oa-bot', 'tap-client-2', ARRAY['http://evil.example/cb'])$$,
                 '22023', NULL, 'an http redirect URI off loopback is refused');

-- The provider's client secret, sealed like vault secrets.
SELECT encode(warden.vault_public_key(), 'hex') AS tap_oa_pk \gset
\set tap_oa_box `test/verifiers/ensure.sh >&2 && cd test/verifiers && node seal.mjs --random :tap_oa_pk`
SELECT is(tap_oa.as_role('tap_oa_admin', format('SELECT warden.put_idp_secret(%L, decode(%L, ''hex''))', 'tap-idp',
            split_part(:'tap_oa_box', ' ', 1))), '1', 'warden_admin stores the provider''s sealed client secret');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT encode(sha256(convert_to(warden.idp_client_secret('tap-idp'), 'UTF8')), 'hex')$$),
          split_part(:'tap_oa_box', ' ', 2), 'warden_proxy reads it back in clear (for the provider''s token endpoint)');
SELECT is(tap_oa.as_role('tap_oa_admin', $$SELECT warden.idp_client_secret('tap-idp')$$), 'ERROR 42501',
          'warden_admin cannot read the client secret');
SELECT ok(NOT EXISTS (SELECT FROM warden.idp_secrets s WHERE position(decode(split_part(:'tap_oa_box', ' ', 2), 'hex') IN s.wrapped) > 0),
          'only the wrapped secret is stored');

-- Discovery and keys.
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.store_idp_metadata('tap-idp', '{"issuer": "https://evil.example"}', '{"keys": []}')$$),
          'ERROR 22023', 'a discovery document naming another issuer is refused');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.store_idp_metadata('tap-idp',
            '{"issuer": "https://idp.tap.example", "jwks_uri": "https://idp.tap.example/jwks"}',
            '{"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": "AQAB", "e": "AQAB"},
                       {"kty": "EC", "kid": "k2", "crv": "P-256", "x": "x", "y": "y"},
                       {"kty": "oct", "kid": "k3", "k": "c2VjcmV0"}]}')::text$$),
          '{"keys": 2, "added": 2, "retired": 0, "skipped": 1}', 'the JWKS is stored; a symmetric key is never kept');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.store_idp_metadata('tap-idp', '{"issuer": "https://idp.tap.example"}',
            '{"keys": [{"kty": "EC", "kid": "k2", "crv": "P-256", "x": "x", "y": "y"}]}')::text$$),
          '{"keys": 1, "added": 0, "retired": 1, "skipped": 0}', 'a key missing from a newer JWKS is retired');
SELECT ok((SELECT retired_at IS NOT NULL FROM warden.idp_keys WHERE kid = 'k1'), 'the retired key is kept on record');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT jsonb_path_query_array(warden.identity_provider('tap-idp'), '$.keys[*].kid')::text$$),
          '["k2"]', 'identity_provider() lists live keys only');

-- ---------------------------------------------------------------- the happy path
INSERT INTO tap_oa.v SELECT 'alice', tap_oa.code('tap-client', :'v1', 'taposrv/* tapother/x offline_access', 'alice@example.com');
SELECT is((SELECT val->'tools' FROM tap_oa.v WHERE name = 'alice'), '["taposrv/list", "taposrv/read"]'::jsonb,
          'the consent view offers the requested scope intersected with live grants, never more');
SELECT is((SELECT val->>'human' FROM tap_oa.v WHERE name = 'alice'), 'alice@example.com', 'the signed-in person is named');
SELECT ok((SELECT val->>'code' ~ '^[A-Za-z0-9_-]{43}$' AND val->>'state' = 'client-state-1'
           AND val->>'redirect_uri' = 'https://app.tap.example/cb' FROM tap_oa.v WHERE name = 'alice'),
          'consent gives a code for the registered redirect_uri, with the client''s state');
SELECT ok((SELECT h.idp = (SELECT idp_id FROM warden.identity_providers WHERE name = 'tap-idp')
           FROM warden.humans h WHERE h.subject = 'alice@example.com'), 'jit created the human, linked to the provider');
SELECT is(tap_oa.as_role('tap_oa_proxy', format('SELECT tap_oa.redeem(%L, %L)->>''error''',
            (SELECT val FROM tap_oa.v WHERE name = 'alice'), 'wrong-verifier-0123456789-0123456789-0123456789')),
          'invalid_grant', 'a wrong PKCE verifier is refused');
INSERT INTO tap_oa.v SELECT 'alice-tokens', (tap_oa.as_role('tap_oa_proxy',
  format('SELECT tap_oa.redeem(%L, %L)', (SELECT val FROM tap_oa.v WHERE name = 'alice'), :'v1')))::jsonb;
SELECT ok((SELECT val->>'token_type' = 'Bearer' AND (val->>'expires_in')::int BETWEEN 3500 AND 3600
           AND val->>'scope' = 'taposrv/list taposrv/read' AND val->>'refresh_token' ~ '^[A-Za-z0-9_-]{43}$'
           FROM tap_oa.v WHERE name = 'alice-tokens'),
          'the right verifier redeems the code: a Bearer access token of at most one hour, a refresh token, the scope');
SELECT is((SELECT a.allowed::text || ' ' || a.human || ' ' || a.agent
           FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'read') a WHERE v.name = 'alice-tokens'),
          'true alice@example.com tap-oa-bot', 'the access token is a task token: the call is allowed, attributed to the IdP''s person');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'tapother', 'x') a WHERE v.name = 'alice-tokens'),
          'no_grant', 'a tool outside the consented scope is denied');
SELECT ok((SELECT expires_at - created_at BETWEEN interval '23:59:59' AND interval '24:00:00' FROM warden.chains c
           WHERE c.chain_id = (SELECT chain_id FROM warden.oauth_requests WHERE code_hash IS NOT NULL ORDER BY created_at LIMIT 1)),
          'the chain lives warden.oauth_session_lifetime (24 h by default)');

-- Secrets are never stored in clear nor audited.
SELECT ok(NOT EXISTS (SELECT FROM warden.events e, tap_oa.v
                      WHERE strpos(e.detail::text || coalesce(e.reason, ''), v.val->>'code') > 0
                         OR strpos(e.detail::text, v.val->>'consent_token') > 0
                         OR strpos(e.detail::text, v.val->>'idp_nonce') > 0
                         OR strpos(e.detail::text, v.val->>'idp_state') > 0
                         OR strpos(e.detail::text, v.val->>'idp_code_verifier') > 0
                         OR strpos(e.detail::text, coalesce(v.val->>'refresh_token', '-none-')) > 0
                         OR strpos(e.detail::text, coalesce(v.val->>'access_token', '-none-')) > 0),
          'no code, consent token, state, nonce, verifier, refresh or access token appears in any event');
SELECT ok(NOT EXISTS (SELECT FROM warden.oauth_requests r, tap_oa.v
                      WHERE strpos(row(r.*)::text, v.val->>'code') > 0 OR strpos(row(r.*)::text, v.val->>'idp_code_verifier') > 0
                         OR strpos(row(r.*)::text, v.val->>'consent_token') > 0 OR strpos(row(r.*)::text, v.val->>'idp_nonce') > 0),
          'the request row keeps no code, verifier, consent token or nonce in clear');

-- ---------------------------------------------------------------- code replay kills the chain
SELECT is(tap_oa.as_role('tap_oa_proxy', format('SELECT tap_oa.redeem(%L, %L)->>''error''',
            (SELECT val FROM tap_oa.v WHERE name = 'alice'), :'v1')), 'invalid_grant', 'a replayed code is refused');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'read') a WHERE v.name = 'alice-tokens'),
          'chain_revoked', '... and the chain issued from it is revoked (RFC 6749 4.1.2)');
SELECT is(tap_oa.as_role('tap_oa_proxy', format('SELECT warden.refresh_access_token(%L, %L)->>''error''',
            (SELECT val->>'refresh_token' FROM tap_oa.v WHERE name = 'alice-tokens'), 'tap-client')),
          'invalid_grant', '... and so is its refresh token');

-- ---------------------------------------------------------------- /authorize refusals
SELECT is(tap_oa.as_role('tap_oa_proxy', format($$SELECT warden.begin_authorization('tap-client', 'https://evil.example/cb', %L,
            'S256', 's', NULL, 'https://gw.tap.example/mcp', 'tap-idp')$$, tap_oa.challenge(:'v1'))),
          'ERROR WA400', 'an unregistered redirect_uri: WA400, no redirect (no open redirect)');
SELECT is(tap_oa.as_role('tap_oa_proxy', format($$SELECT warden.begin_authorization('nobody', 'https://app.tap.example/cb', %L,
            'S256', 's', NULL, 'https://gw.tap.example/mcp', 'tap-idp')$$, tap_oa.challenge(:'v1'))),
          'ERROR WA400', 'an unknown client: WA400');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.begin_authorization('tap-client', 'https://app.tap.example/cb',
            'verifier-as-plain', 'plain', 's', NULL, 'https://gw.tap.example/mcp', 'tap-idp')$$),
          'ERROR WA302', 'a plain PKCE method: WA302 (redirect with invalid_request)');
SELECT is(tap_oa.as_role('tap_oa_proxy', format($$SELECT warden.begin_authorization('tap-client', 'https://app.tap.example/cb', %L,
            'S256', '', NULL, 'https://gw.tap.example/mcp', 'tap-idp')$$, tap_oa.challenge(:'v1'))),
          'ERROR WA302', 'a missing state is refused');
SELECT throws_ok(format($$SELECT warden.begin_authorization('tap-client', 'https://app.tap.example/cb', %L,
            'S256', 's', 'openid profile', 'https://gw.tap.example/mcp', 'tap-idp')$$, tap_oa.challenge(:'v1')),
          'WA302', 'invalid_scope: "openid" is not a tool (server/tool or server/*)', 'a scope that names no tool: invalid_scope');
SELECT is(tap_oa.as_role('tap_oa_proxy', format($$SELECT warden.begin_authorization('tap-client', 'https://app.tap.example/cb', %L,
            'S256', 's', NULL, NULL, 'tap-idp')$$, tap_oa.challenge(:'v1'))),
          'ERROR WA302', 'a missing resource is refused');

-- ---------------------------------------------------------------- ID token checks
CREATE FUNCTION tap_oa.bad_sign_in(overrides jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp');
  r jsonb := warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, 'alice@example.com', overrides));
BEGIN
  RETURN r->>'error' || ' ' || (r->>'error_description') || ' ' || (r->>'state');
END
$$;
DO $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp');
  -- Good claims do not outweigh warden-mcp's refusal (it could not verify the token).
  r jsonb := warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, 'alice@example.com'), 'ID token: alg_not_allowed');
BEGIN
  INSERT INTO tap_oa.v VALUES ('gateway-refusal', r);
END
$$;
SELECT is((SELECT val->>'error' FROM tap_oa.v WHERE name = 'gateway-refusal'), 'access_denied',
          'a sign-in warden-mcp refuses (no verified ID token) is access_denied, whatever the claims');
SELECT is((SELECT reason FROM warden.events WHERE kind = 'sign_in_refused' ORDER BY at DESC, seq DESC LIMIT 1),
          'id_token_not_verified: ID token: alg_not_allowed', '... and the audit says why');
SELECT is(tap_oa.bad_sign_in('{"nonce": "another-nonce"}'), 'access_denied sign-in refused: wrong_nonce st', 'a wrong nonce is refused');
SELECT is(tap_oa.bad_sign_in('{"iss": "https://evil.example"}'), 'access_denied sign-in refused: wrong_issuer st', 'a wrong issuer is refused');
SELECT is(tap_oa.bad_sign_in('{"aud": ["someone-else"]}'), 'access_denied sign-in refused: wrong_audience st', 'a wrong audience is refused');
SELECT is(tap_oa.bad_sign_in('{"aud": "someone-else"}'), 'access_denied sign-in refused: wrong_audience st', '... as a string too');
SELECT is(tap_oa.bad_sign_in('{"aud": null}'), 'access_denied sign-in refused: wrong_audience st', '... and a missing audience');
SELECT is(tap_oa.bad_sign_in('{"aud": ["warden-at-idp", "other"], "azp": "other"}'),
          'access_denied sign-in refused: wrong_authorized_party st', 'several audiences with another azp are refused');
SELECT is(tap_oa.bad_sign_in('{"exp": "4102444800"}'), 'access_denied sign-in refused: expired st', 'an exp that is not a number is refused');
SELECT is(tap_oa.bad_sign_in(jsonb_build_object('exp', extract(epoch FROM now())::bigint - 600)),
          'access_denied sign-in refused: expired st', 'an expired ID token is refused');
SELECT is(tap_oa.bad_sign_in('{"sub": "mallory@evil.example", "email": "mallory@evil.example"}'),
          'access_denied sign-in refused: domain_not_allowed st', 'a person outside allowed_domains is refused');
SELECT is(tap_oa.bad_sign_in('{"email_verified": null}'),
          'access_denied sign-in refused: domain_not_allowed st', 'an address not said to be verified is refused');
SELECT is(tap_oa.bad_sign_in('{"email_verified": "true"}'),
          'access_denied sign-in refused: domain_not_allowed st', '... and a string "true" is not a yes');
DO $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp');
BEGIN
  PERFORM warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, 'alice@example.com', '{"nonce": "x"}'));
  INSERT INTO tap_oa.v VALUES ('used-sign-in', b);
END
$$;
SELECT throws_ok(format('SELECT warden.complete_sign_in(%L, tap_oa.claims(%L, %L))',
                        (SELECT val->>'idp_state' FROM tap_oa.v WHERE name = 'used-sign-in'),
                        (SELECT val FROM tap_oa.v WHERE name = 'used-sign-in'), 'alice@example.com'),
                 'WA400', NULL, 'a refused sign-in cannot be retried with the right nonce (single use)');
UPDATE warden.oauth_requests SET expires_at = now() - interval '1 second'
WHERE request_id = (SELECT (val->>'request_id')::uuid FROM tap_oa.v WHERE name = 'used-sign-in');
DO $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp');
BEGIN
  UPDATE warden.oauth_requests SET expires_at = now() - interval '1 second' WHERE request_id = (b->>'request_id')::uuid;
  INSERT INTO tap_oa.v VALUES ('expired-sign-in', b);
END
$$;
SELECT throws_ok(format('SELECT warden.complete_sign_in(%L, tap_oa.claims(%L, %L))',
                        (SELECT val->>'idp_state' FROM tap_oa.v WHERE name = 'expired-sign-in'),
                        (SELECT val FROM tap_oa.v WHERE name = 'expired-sign-in'), 'alice@example.com'),
                 'WA400', 'invalid_request: the sign-in expired', 'an expired authorization request is refused');
SELECT throws_ok($$SELECT warden.idp_callback('no-such-state')$$, 'WA400', NULL, 'idp_callback refuses an unknown state');
DO $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp');
BEGIN
  INSERT INTO tap_oa.v VALUES ('callback-begin', b), ('callback', warden.idp_callback(b->>'idp_state'));
END
$$;
SELECT ok((SELECT b.val->>'idp_state' ~ '^[A-Za-z0-9_-]{43}$' AND b.val->>'idp_nonce' ~ '^[A-Za-z0-9_-]{43}$'
                  AND b.val->>'idp_state' <> b.val->>'idp_nonce'
           FROM tap_oa.v b WHERE b.name = 'callback-begin'), 'state and nonce for the provider are random base64url');
SELECT ok((SELECT c.val->>'request_id' = b.val->>'request_id' AND c.val->>'idp_code_verifier' = b.val->>'idp_code_verifier'
                  AND tap_oa.challenge(c.val->>'idp_code_verifier') = b.val->>'idp_code_challenge'
           FROM tap_oa.v b, tap_oa.v c WHERE b.name = 'callback-begin' AND c.name = 'callback'),
          'idp_callback gives any replica the sign-in''s code verifier, matching the challenge sent to the provider');

-- Without jit, only a human an admin linked to the provider signs in.
CREATE FUNCTION tap_oa.idp4_sign_in(sub text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp4');
BEGIN
  RETURN warden.complete_sign_in(b->>'idp_state',
                                 tap_oa.claims(b, sub, '{"iss": "http://127.0.0.1:9999", "aud": "x"}'));
END
$$;
SELECT is(tap_oa.idp4_sign_in('kim@corp')->>'error_description', 'sign-in refused: not_provisioned',
          'without jit an unknown person is refused');
SELECT warden.add_human('kim@corp') \gset tap_oa_ignored_
SELECT is(tap_oa.idp4_sign_in('kim@corp')->>'error_description', 'sign-in refused: not_provisioned',
          '... and so is a human of the same subject not linked to the provider');
SELECT is(tap_oa.as_role('tap_oa_admin', $$SELECT warden.link_human('kim@corp', 'tap-idp4')$$), '',
          'warden_admin links the human to the provider');
SELECT is(tap_oa.idp4_sign_in('kim@corp')->>'human', 'kim@corp', '... who then signs in');
SELECT is(tap_oa.bad_sign_in('{"sub": "kim@corp", "email": "kim@example.com"}'), 'access_denied sign-in refused: subject_taken st',
          'jit never hands a human of another provider to this one');

-- With the provider's keys pinned, the database verifies an agent's sign-in too and takes the
-- claims from the token, not from the gateway.
CREATE FUNCTION tap_oa.idp4_signed_sign_in(gateway_sub text, token_sub text, signed boolean DEFAULT true) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp4');
  o jsonb := jsonb_build_object('iss', 'http://127.0.0.1:9999', 'aud', 'x', 'auth_time', extract(epoch FROM now())::bigint);
BEGIN
  RETURN warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, gateway_sub, o), NULL,
                                 CASE WHEN signed THEN tap_jws.sign(tap_oa.claims(b, token_sub, o)) END);
END
$$;
SELECT is(tap_oa.as_role('tap_oa_admin', $$SELECT warden.pin_identity_provider_keys('tap-idp4', tap_jws.jwks())->>'pinned'$$), '1',
          'warden_admin pins tap-idp4''s keys');
SELECT is(tap_oa.idp4_signed_sign_in('kim@corp', 'kim@corp', false)->>'error_description',
          'sign-in refused: id_token_not_verified_by_database: malformed',
          'then claims without the ID token sign nobody in');
SELECT is(tap_oa.idp4_signed_sign_in('kim@corp', 'kim@corp')->>'human', 'kim@corp', '... the signed token does');
SELECT is((SELECT b->>'idp_max_age' FROM warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'),
                                       'S256', 'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp4') b), '0',
          'a provider with pinned keys is asked for a login now (max_age 0)');
SELECT is((SELECT warden.complete_sign_in(b->>'idp_state', '{}', NULL,
                                          tap_jws.sign(tap_oa.claims(b, 'kim@corp', jsonb_build_object('iss', 'http://127.0.0.1:9999', 'aud', 'x',
                                                          'auth_time', extract(epoch FROM now())::bigint - 3600))))
                  ->>'error_description'
           FROM warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                           'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp4') b),
          'sign-in refused: not_a_fresh_login', '... and a standing session (a login an hour old) signs nobody in');
SELECT is(tap_oa.idp4_signed_sign_in('kim@corp', 'lee@corp')->>'error_description', 'sign-in refused: not_provisioned',
          '... and its claims are the token''s: the gateway saying kim does not make lee kim');
SELECT is((SELECT warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, 'kim@corp', '{"iss": "http://127.0.0.1:9999", "aud": "x"}'), NULL,
                                          tap_jws.sign(tap_oa.claims(b, 'kim@corp', '{"iss": "http://127.0.0.1:9999", "aud": "x"}'), 'evil'))
                  ->>'error_description'
           FROM warden.begin_authorization('tap-client', 'https://app.tap.example/cb', tap_oa.challenge('x'), 'S256',
                                           'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp4') b),
          'sign-in refused: id_token_not_verified_by_database: unknown_kid', '... signed with a key that is not pinned: refused');
SELECT is(tap_oa.as_role('tap_oa_admin', $$SELECT warden.pin_identity_provider_keys('tap-idp4', NULL)->>'pinned'$$), '0',
          'unpinned: the gateway''s word is taken again');

-- ---------------------------------------------------------------- consent
INSERT INTO tap_oa.v SELECT 'bob', tap_oa.sign_in('tap-client', :'v2', 'taposrv/read', 'bob@example.com');
SELECT throws_ok(format('SELECT warden.consent(%L, %L, true)', (SELECT val->>'request_id' FROM tap_oa.v WHERE name = 'bob'),
                        'forged-consent-token'),
                 'WA400', 'access_denied: the consent form is not valid', 'a wrong consent (CSRF) token is refused');
INSERT INTO tap_oa.v SELECT 'bob-code', warden.consent((val->>'request_id')::uuid, val->>'consent_token', true)
FROM tap_oa.v WHERE name = 'bob';
SELECT ok((SELECT val ? 'code' FROM tap_oa.v WHERE name = 'bob-code'), 'the right consent token gives a code');
SELECT throws_ok(format('SELECT warden.consent(%L, %L, true)', (SELECT val->>'request_id' FROM tap_oa.v WHERE name = 'bob'),
                        (SELECT val->>'consent_token' FROM tap_oa.v WHERE name = 'bob')),
                 'WA400', NULL, 'a consent token is single use');
SELECT is((warden.redeem_authorization_code((SELECT val->>'code' FROM tap_oa.v WHERE name = 'bob-code'), :'v2', 'tap-client',
            'http://127.0.0.1:7777/cb', 'https://gw.tap.example/mcp'))->>'error', 'invalid_grant',
          'a code redeemed with another redirect_uri is refused');
SELECT is((warden.redeem_authorization_code((SELECT val->>'code' FROM tap_oa.v WHERE name = 'bob-code'), :'v2', 'tap-client',
            'https://app.tap.example/cb', 'https://other.example/mcp'))->>'error', 'invalid_target',
          'a code redeemed for another resource is refused');
-- A grant revoked between consent and redemption is not in the token.
SELECT warden.revoke_grant(g.grant_id) FROM warden.grants g JOIN warden.agents a USING (agent_id)
WHERE a.name = 'tap-oa-bot' AND g.tool = 'read' AND g.server = 'taposrv' \gset tap_oa_ignored_
INSERT INTO tap_oa.v SELECT 'bob-tokens', tap_oa.redeem(val, :'v2') FROM tap_oa.v WHERE name = 'bob-code';
SELECT is((SELECT val->>'scope' FROM tap_oa.v WHERE name = 'bob-tokens'), '',
          'a grant revoked after consent is not in the token (live grants only)');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'read') a WHERE v.name = 'bob-tokens'),
          'no_grant', '... and the call is denied');
SELECT warden.grant('tap-oa-bot', 'taposrv/read') \gset tap_oa_ignored_
-- Consented to nothing live stays nothing: an empty tool list is not "anything" (review: a
-- refresh used to widen it to every grant of the agent).
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client')->>'scope'
           FROM tap_oa.v WHERE name = 'bob-tokens'), '', 'a token that covers nothing refreshes to nothing');
SELECT is(warden._oauth_grantable((SELECT agent_id FROM warden.agents WHERE name = 'tap-oa-bot'), '{}'::text[]),
          '{}'::text[], 'an empty request is granted nothing');

-- Declined consent.
INSERT INTO tap_oa.v SELECT 'dan', tap_oa.sign_in('tap-client', :'v2', NULL, 'dan@example.com');
SELECT is((SELECT warden.consent((val->>'request_id')::uuid, val->>'consent_token', false) - 'error_description'
           FROM tap_oa.v WHERE name = 'dan'),
          '{"redirect_uri": "https://app.tap.example/cb", "error": "access_denied", "state": "client-state-1"}'::jsonb,
          'declined consent sends access_denied back to the client');
SELECT is((SELECT val->'tools' FROM tap_oa.v WHERE name = 'dan'), '["taposrv/list", "taposrv/read"]'::jsonb,
          'no scope asks for everything the agent is granted');

-- ---------------------------------------------------------------- refresh tokens rotate; reuse kills
INSERT INTO tap_oa.v SELECT 'erin-tokens', tap_oa.redeem(tap_oa.code('tap-client', :'v1', 'taposrv/list', 'erin@example.com'), :'v1');
INSERT INTO tap_oa.v SELECT 'erin-refreshed', warden.refresh_access_token(val->>'refresh_token', 'tap-client')
FROM tap_oa.v WHERE name = 'erin-tokens';
SELECT ok((SELECT r.val->>'refresh_token' <> t.val->>'refresh_token' AND r.val->>'scope' = 'taposrv/list'
           FROM tap_oa.v r, tap_oa.v t WHERE r.name = 'erin-refreshed' AND t.name = 'erin-tokens'),
          'a refresh gives a new access token and a new refresh token');
SELECT is((SELECT a.allowed FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list') a WHERE v.name = 'erin-refreshed'),
          true, 'the new access token works (same chain)');
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'another-client')->>'error' FROM tap_oa.v WHERE name = 'erin-refreshed'),
          'invalid_grant', 'a refresh token of another client is refused');
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client')->>'error' FROM tap_oa.v WHERE name = 'erin-tokens'),
          'invalid_grant', 'a used refresh token is refused ...');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list') a WHERE v.name = 'erin-refreshed'),
          'chain_revoked', '... and its chain is killed (RFC 9700)');
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client')->>'error' FROM tap_oa.v WHERE name = 'erin-refreshed'),
          'invalid_grant', '... with every refresh token of it');

-- ---------------------------------------------------------------- DPoP
\set jkt 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
INSERT INTO tap_oa.v SELECT 'fay-tokens', tap_oa.redeem(tap_oa.code('tap-client', :'v1', 'taposrv/list', 'fay@example.com'), :'v1', :'jkt');
SELECT is((SELECT val->>'token_type' FROM tap_oa.v WHERE name = 'fay-tokens'), 'DPoP', 'a code redeemed with a DPoP key gives a DPoP token');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list') a WHERE v.name = 'fay-tokens'),
          'token_invalid', 'a DPoP-bound token without a proof is refused (a copied token is useless)');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list', '{}',
             '{"dpop_jkt": "AAAAXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"}') a WHERE v.name = 'fay-tokens'),
          'token_invalid', '... and so is a proof from another key');
SELECT is((SELECT a.allowed FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list', '{}',
             jsonb_build_object('dpop_jkt', :'jkt')) a WHERE v.name = 'fay-tokens'),
          true, 'with the proof''s key thumbprint the call is allowed');
SELECT is((SELECT s.allowed::text || ' ' || s.reason FROM tap_oa.v, warden.open_session(v.val->>'access_token') s WHERE v.name = 'fay-tokens'),
          'false token_invalid', 'a DPoP-bound token opens no session without a proof');
SELECT is((SELECT s.allowed FROM tap_oa.v, warden.open_session(v.val->>'access_token', jsonb_build_object('dpop_jkt', :'jkt')) s
           WHERE v.name = 'fay-tokens'), true, '... and opens one with it');
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client')->>'error' FROM tap_oa.v WHERE name = 'fay-tokens'),
          'invalid_grant', 'a DPoP-bound refresh token without the key is refused');
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client', :'jkt')->>'token_type' FROM tap_oa.v WHERE name = 'fay-tokens'),
          'DPoP', '... and with it, rotates');
SELECT warden.add_agent('tap-oa-sub', 'tap-oa-owner@example.com'), warden.grant('tap-oa-sub', 'taposrv/list') \gset tap_oa_ignored_
INSERT INTO tap_oa.v SELECT 'fay-sub', to_jsonb(d) FROM tap_oa.v, warden.delegate(v.val->>'access_token', 'tap-oa-sub', ARRAY['taposrv/list']) d
WHERE v.name = 'fay-tokens';
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'token', 'taposrv', 'list') a WHERE v.name = 'fay-sub'),
          'token_invalid', 'a token delegated from a DPoP-bound one stays bound: refused without the proof');
SELECT is((SELECT a.allowed FROM tap_oa.v, warden.authorize(v.val->>'token', 'taposrv', 'list', '{}', jsonb_build_object('dpop_jkt', :'jkt')) a
           WHERE v.name = 'fay-sub'), true, '... allowed with it');

-- ---------------------------------------------------------------- /revoke (RFC 7009)
INSERT INTO tap_oa.v SELECT 'gus-tokens', tap_oa.redeem(tap_oa.code('tap-client', :'v1', NULL, 'gus@example.com'), :'v1');
SELECT lives_ok($$SELECT warden.revoke_oauth_token('not-a-token', 'tap-client')$$, 'an unknown token is not an error');
SELECT warden.revoke_oauth_token(val->>'access_token', 'tap-client') FROM tap_oa.v WHERE name = 'gus-tokens' \gset tap_oa_ignored_
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list') a WHERE v.name = 'gus-tokens'),
          'token_revoked', 'a revoked access token is refused');
SELECT warden.revoke_oauth_token(val->>'refresh_token', 'tap-client') FROM tap_oa.v WHERE name = 'gus-tokens' \gset tap_oa_ignored_
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client')->>'error' FROM tap_oa.v WHERE name = 'gus-tokens'),
          'invalid_grant', 'a revoked refresh token is refused');

-- ---------------------------------------------------------------- pending agents
INSERT INTO tap_oa.v SELECT 'dcr', (tap_oa.as_role('tap_oa_proxy', $$SELECT warden.register_dynamic_client(
  '{"redirect_uris": ["http://127.0.0.1:8123/callback"], "client_name": "Shadow Tool", "token_endpoint_auth_method": "none"}')$$))::jsonb;
SELECT ok((SELECT val->>'client_id' LIKE 'warden-%' AND val->>'token_endpoint_auth_method' = 'none' AND val->>'agent_status' = 'pending'
           FROM tap_oa.v WHERE name = 'dcr'), 'dynamic registration (RFC 7591) answers with a client_id');
SELECT is((SELECT a.status || ' ' || h.subject FROM warden.agents a JOIN warden.humans h ON h.human_id = a.owner_id
           WHERE a.name = (SELECT val->>'agent' FROM tap_oa.v WHERE name = 'dcr')),
          'pending warden:self-registered', 'the unknown client is a pending agent in the inventory, owned by the system human');
-- Anyone may register a client with a redirect_uri of their choosing: until an admin approves
-- it, /authorize errors are shown on the gateway's page, never sent there (no open redirect).
SELECT is(tap_oa.as_role('tap_oa_proxy', format($$SELECT warden.begin_authorization(%L, 'http://127.0.0.1:8123/callback',
            'verifier-as-plain', 'plain', 's', NULL, 'https://gw.tap.example/mcp', 'tap-idp')$$,
            (SELECT val->>'client_id' FROM tap_oa.v WHERE name = 'dcr'))),
          'ERROR WA400', 'a pending client''s bad request: WA400 (shown, not redirected to its redirect_uri)');
SELECT is(tap_oa.as_role('tap_oa_proxy', format($$SELECT warden.begin_authorization(%L, 'http://127.0.0.1:8123/callback',
            %L, 'S256', 's', 'nope', 'https://gw.tap.example/mcp', 'tap-idp')$$,
            (SELECT val->>'client_id' FROM tap_oa.v WHERE name = 'dcr'), tap_oa.challenge(:'v1'))),
          'ERROR WA400', 'so is an invalid scope (raised in a function it calls)');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.register_dynamic_client('{"redirect_uris": ["https://x.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}')$$),
          'ERROR WR400', 'only public clients (token_endpoint_auth_method none) register');
SELECT throws_ok(format('SELECT warden.start_chain(%L, %L, %L)', 'tap-oa-owner@example.com',
                        (SELECT val->>'agent' FROM tap_oa.v WHERE name = 'dcr'), 'try'),
                 '55000', NULL, 'a pending agent gets no chain');
DO $$
DECLARE
  d jsonb := (SELECT val FROM tap_oa.v WHERE name = 'dcr');
  b jsonb := warden.begin_authorization(d->>'client_id', 'http://127.0.0.1:8123/callback', tap_oa.challenge('x'), 'S256',
                                        'st', NULL, 'https://gw.tap.example/mcp', 'tap-idp');
  s jsonb := warden.complete_sign_in(b->>'idp_state', tap_oa.claims(b, 'alice@example.com'));
BEGIN
  INSERT INTO tap_oa.v VALUES ('dcr-consent', s), ('dcr-decision', warden.consent((s->>'request_id')::uuid, s->>'consent_token', true));
END
$$;
SELECT is((SELECT val->>'agent_status' || ' ' || (val->'tools')::text FROM tap_oa.v WHERE name = 'dcr-consent'),
          'pending []', 'the consent page shows the agent as pending, with no tools');
SELECT is((SELECT val->>'error' FROM tap_oa.v WHERE name = 'dcr-decision'), 'access_denied',
          'approving consent for a pending agent sends access_denied, no code');
-- An agent put back to pending (as after registration) is denied by authorize.
SELECT warden.add_agent('tap-oa-pend', 'tap-oa-owner@example.com'), warden.grant('tap-oa-pend', 'taposrv/*') \gset tap_oa_ignored_
INSERT INTO tap_oa.v SELECT 'pend', to_jsonb(s) FROM warden.start_chain('tap-oa-owner@example.com', 'tap-oa-pend', 'p') s;
UPDATE warden.agents SET status = 'pending' WHERE name = 'tap-oa-pend';
SELECT is((SELECT a.allowed::text || ' ' || a.reason FROM tap_oa.v, warden.authorize(v.val->>'token', 'taposrv', 'list') a WHERE v.name = 'pend'),
          'false agent_suspended', 'authorize denies every call of a pending agent');
SELECT throws_ok($$SELECT warden.reinstate_agent('tap-oa-pend', 'x')$$, '55000', NULL, 'reinstate_agent does not admit a pending agent');
SELECT lives_ok($$SELECT warden.approve_agent('tap-oa-pend', 'reviewed')$$, 'approve_agent admits it');
SELECT is((SELECT a.allowed FROM tap_oa.v, warden.authorize(v.val->>'token', 'taposrv', 'list') a WHERE v.name = 'pend'),
          true, '... and its calls are allowed again');

INSERT INTO warden.agents (name, owner_id, status)
SELECT 'tap-oa-flood-' || i, (SELECT human_id FROM warden.humans WHERE subject = 'warden:self-registered'), 'pending'
FROM generate_series(1, 1000) i;
SELECT throws_ok($$SELECT warden.register_dynamic_client('{"redirect_uris": ["https://x.example/cb"]}')$$,
                 'WR400', NULL, 'open registration stops at 1000 agents awaiting approval');
DELETE FROM warden.agents WHERE name LIKE 'tap-oa-flood-%';

-- Client ID Metadata Documents.
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.register_metadata_client('https://app.cimd.example/client.json',
            '{"client_id": "https://app.cimd.example/client.json", "client_name": "CIMD App", "redirect_uris": ["https://app.cimd.example/cb"]}')->>'agent_status'$$),
          'pending', 'an unknown CIMD client becomes a pending agent');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.register_metadata_client('https://app.cimd.example/client.json',
            '{"client_id": "https://app.cimd.example/other.json", "redirect_uris": ["https://app.cimd.example/cb"]}')$$),
          'ERROR WR400', 'a document whose client_id is not its URL is refused');
SELECT ok((SELECT (warden.register_metadata_client('https://app.cimd.example/client.json',
            '{"client_id": "https://app.cimd.example/client.json", "redirect_uris": ["https://app.cimd.example/cb2"]}')->'redirect_uris') = '["https://app.cimd.example/cb2"]'
           AND (SELECT count(*) FROM warden.oauth_clients WHERE client_id = 'https://app.cimd.example/client.json') = 1),
          'a re-fetched document updates the redirect URIs of the same client');

-- ---------------------------------------------------------------- offboarding
INSERT INTO tap_oa.v SELECT 'hal-tokens', tap_oa.redeem(tap_oa.code('tap-client', :'v1', NULL, 'hal@example.com'), :'v1');
INSERT INTO tap_oa.v SELECT 'hal-chain', to_jsonb(s) FROM warden.start_chain('hal@example.com', 'tap-oa-bot', 'by hand') s;
INSERT INTO tap_oa.v SELECT 'hal-revoked', warden.revoke_human('hal@example.com', 'left the company');
SELECT is((SELECT (val->'chains')::int || ' ' || (val->'refresh_tokens')::int FROM tap_oa.v WHERE name = 'hal-revoked'),
          '2 1', 'revoke_human kills every chain the person originated and ends their refresh tokens');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'access_token', 'taposrv', 'list') a WHERE v.name = 'hal-tokens'),
          'human_revoked', 'their access token is dead (the person is offboarded)');
SELECT is((SELECT a.reason FROM tap_oa.v, warden.authorize(v.val->>'token', 'taposrv', 'list') a WHERE v.name = 'hal-chain'),
          'human_revoked', 'so is a chain started for them by an issuer');
SELECT is((SELECT warden.refresh_access_token(val->>'refresh_token', 'tap-client')->>'error' FROM tap_oa.v WHERE name = 'hal-tokens'),
          'invalid_grant', 'their refresh token is refused');
SELECT throws_ok($$SELECT warden.start_chain('hal@example.com', 'tap-oa-bot', 'again')$$, '55000', NULL,
                 'a revoked person gets no new chain');
SELECT is((tap_oa.sign_in('tap-client', :'v1', NULL, 'hal@example.com'))->>'error', 'access_denied',
          'a revoked person cannot sign in again');

-- ---------------------------------------------------------------- code expiry
INSERT INTO tap_oa.v SELECT 'ivy-code', tap_oa.code('tap-client', :'v1', NULL, 'ivy@example.com');
UPDATE warden.oauth_requests SET code_expires_at = now() - interval '1 second'
WHERE code_hash = warden._secret_hash((SELECT val->>'code' FROM tap_oa.v WHERE name = 'ivy-code'));
SELECT is((SELECT tap_oa.redeem(val, :'v1')->>'error' FROM tap_oa.v WHERE name = 'ivy-code'), 'invalid_grant', 'an expired code is refused');

-- ---------------------------------------------------------------- spent flow state is purged
UPDATE warden.oauth_requests SET expires_at = now() - interval '2 days', code_expires_at = now() - interval '2 days'
WHERE chain_id IS NULL;
SELECT ok((warden.maintenance()->>'oauth_purged')::int > 0, 'maintenance() purges spent OAuth flow state');
SELECT ok(NOT EXISTS (SELECT FROM warden.oauth_requests WHERE chain_id IS NULL AND expires_at < now() - interval '1 day')
          AND EXISTS (SELECT FROM warden.oauth_requests WHERE chain_id IS NOT NULL),
          '... the expired requests, keeping those whose chain still lives (replay detection)');

-- ---------------------------------------------------------------- who may call what
CREATE TEMP TABLE oa_fn (sig text, who text);
INSERT INTO oa_fn VALUES
  ('warden.add_identity_provider(text, text, text, text, jsonb)', 'admin'),
  ('warden.put_idp_secret(text, bytea)', 'admin'),
  ('warden.register_client(text, text, text[])', 'admin'),
  ('warden.approve_agent(text, text)', 'admin'),
  ('warden.revoke_human(text, text)', 'admin'),
  ('warden.reinstate_human(text, text)', 'admin'),
  ('warden.link_human(text, text)', 'admin'),
  ('warden.pin_identity_provider_keys(text, jsonb)', 'admin'),
  ('warden.idp_client_secret(text)', 'proxy'),
  ('warden.store_idp_metadata(text, jsonb, jsonb)', 'proxy'),
  ('warden.register_dynamic_client(jsonb)', 'proxy'),
  ('warden.register_metadata_client(text, jsonb, boolean)', 'proxy'),
  ('warden.begin_authorization(text, text, text, text, text, text, text, text)', 'proxy'),
  ('warden.idp_callback(text)', 'proxy'),
  ('warden.complete_sign_in(text, jsonb, text, text)', 'proxy'),
  ('warden.consent(uuid, text, boolean)', 'proxy'),
  ('warden.redeem_authorization_code(text, text, text, text, text, text)', 'proxy'),
  ('warden.refresh_access_token(text, text, text)', 'proxy'),
  ('warden.revoke_oauth_token(text, text)', 'proxy');
SELECT is(ARRAY(SELECT sig FROM oa_fn WHERE has_function_privilege('warden_' || who, sig, 'EXECUTE') IS NOT TRUE), '{}'::text[],
          'each function is executable by its role');
SELECT is(ARRAY(SELECT sig || ' by ' || r FROM oa_fn, unnest(ARRAY['warden_admin', 'warden_issuer', 'warden_proxy', 'warden_auditor', 'public']) r
                WHERE r <> 'warden_' || who AND has_function_privilege(r, sig, 'EXECUTE')),
          '{}'::text[], '... and by no other role (an issuer cannot sign anyone in, redeem or mint OAuth tokens)');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'warden' AND (p.proname LIKE '\_oauth%' OR p.proname LIKE '\_vault\_%' OR p.proname IN ('_random_secret', '_secret_hash', '_verify_id_token_signature', '_verification_jwk', '_pinned_jwks', '_pinned_id_token_claims'))
                  AND (has_function_privilege('warden_proxy', p.oid, 'EXECUTE') OR has_function_privilege('warden_issuer', p.oid, 'EXECUTE')
                       OR has_function_privilege('warden_admin', p.oid, 'EXECUTE'))),
          '{}'::text[], 'no role reaches the internal OAuth or wrapping functions');
SELECT is(tap_oa.as_role('tap_oa_issuer', format('SELECT warden.complete_sign_in(%L, %L)', 'x', '{}')), 'ERROR 42501',
          'warden_issuer cannot complete a sign-in');
SELECT is(tap_oa.as_role('tap_oa_issuer', $$SELECT warden.redeem_authorization_code('c', 'v', 'tap-client', 'https://app.tap.example/cb', 'r')$$),
          'ERROR 42501', 'warden_issuer cannot redeem a code');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT count(*) FROM warden.oauth_requests$$), 'ERROR 42501',
          'warden_proxy cannot read flow state directly');
SELECT is(tap_oa.as_role('tap_oa_proxy', $$SELECT warden.redeem_authorization_code('made-up-code-0123456789', 'verifier-one-0123456789-0123456789-0123456789', 'tap-client', 'https://app.tap.example/cb', 'https://gw.tap.example/mcp')->>'error'$$),
          'invalid_grant', 'warden_proxy cannot mint tokens without a consented code');

SELECT * FROM finish();
ROLLBACK;
