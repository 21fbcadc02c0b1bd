-- Agents acting for people without a browser (issue 14), the database half: agent keys, SPIFFE
-- trust domains, allow_acting, single-use assertions, and warden.exchange_token as warden-mcp
-- calls it after verifying signatures. Each attack a test: a key of another agent, an untrusted
-- issuer or trust domain, acting for someone outside allow_acting, replayed jti, expired or
-- too-long assertions, skew, wrong aud/resource/client_id, wider scope or longer lifetime than
-- the parent, and which roles may call what.
BEGIN;
SELECT * FROM no_plan();

CREATE ROLE tap_mi_admin LOGIN IN ROLE warden_admin;
CREATE ROLE tap_mi_issuer LOGIN IN ROLE warden_issuer;
CREATE ROLE tap_mi_proxy LOGIN IN ROLE warden_proxy;
CREATE ROLE tap_mi_auditor LOGIN IN ROLE warden_auditor;
CREATE SCHEMA tap_mi;
GRANT USAGE ON SCHEMA tap_mi TO PUBLIC;

CREATE FUNCTION tap_mi.as_role(who name, statement text) RETURNS text LANGUAGE plpgsql AS $$
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

CREATE FUNCTION tap_mi.now() RETURNS bigint LANGUAGE sql AS $$ SELECT extract(epoch FROM now())::bigint $$;
-- What warden-mcp reports for a JWT it verified with key `kid`.
CREATE FUNCTION tap_mi.jwt(kid text, claims jsonb, header jsonb DEFAULT '{"typ": "JWT"}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('header', header, 'claims', claims, 'kid', kid)
$$;
-- An agent's assertion (iss = sub = the agent's client), 2 minutes, fresh jti.
CREATE FUNCTION tap_mi.actor(client text, kid text, overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap_mi.jwt(kid, jsonb_build_object('iss', client, 'sub', client, 'aud', 'https://gw.mi.example',
                                            'iat', tap_mi.now(), 'exp', tap_mi.now() + 120,
                                            'jti', gen_random_uuid()::text) || overrides)
$$;
-- The person's ID token from the provider.
CREATE FUNCTION tap_mi.id_token(sub text, overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap_mi.jwt('idp-k1', jsonb_build_object('iss', 'https://idp.mi.example', 'aud', 'warden-at-idp', 'sub', sub,
                                                'iat', tap_mi.now(), 'exp', tap_mi.now() + 300,
                                                'groups', '["support"]'::jsonb) || overrides)
$$;
CREATE FUNCTION tap_mi.id_jag(sub text, client text, overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap_mi.jwt('idp-k1', jsonb_build_object('iss', 'https://idp.mi.example', 'aud', 'https://gw.mi.example',
                                                'sub', sub, 'client_id', client, 'resource', 'https://gw.mi.example/mcp',
                                                'iat', tap_mi.now(), 'exp', tap_mi.now() + 240,
                                                'jti', gen_random_uuid()::text) || overrides,
                    '{"typ": "oauth-id-jag+jwt"}')
$$;
CREATE FUNCTION tap_mi.exchange(subject jsonb, actor jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT warden.exchange_token(jsonb_build_object(
    'grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange', 'issuer', 'https://gw.mi.example',
    'expected_resource', 'https://gw.mi.example/mcp', 'subject', subject, 'actor', actor) || extra)
$$;
CREATE FUNCTION tap_mi.jag(assertion jsonb, client text, client_assertion jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT warden.exchange_token(jsonb_build_object(
    'grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'issuer', 'https://gw.mi.example',
    'expected_resource', 'https://gw.mi.example/mcp', 'assertion', assertion, 'client_id', client,
    'client', client_assertion) || extra)
$$;
-- The OAuth error of an exchange run as warden_proxy, or 'issued'.
CREATE FUNCTION tap_mi.outcome(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
BEGIN
  SET LOCAL ROLE tap_mi_proxy;
  EXECUTE statement INTO r;
  RESET ROLE;
  RETURN CASE WHEN r ? 'access_token' THEN 'issued' ELSE (r->>'error') || ' ' || (r->>'error_description') END;
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tap_mi TO PUBLIC;

\set ed1 '{"kty": "OKP", "crv": "Ed25519", "kid": "bot-k1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}'
\set ed2 '{"kty": "OKP", "crv": "Ed25519", "kid": "other-k1", "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}'
\set ed3 '{"kty": "OKP", "crv": "Ed25519", "kid": "sub-k1", "x": "ABCbfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}'

-- ------------------------------------------------------------------------------------ set-up
SELECT lives_ok($$SELECT warden.add_identity_provider('mi-idp', 'https://idp.mi.example', 'warden-at-idp', NULL,
                                                      '{"groups_claim": "groups"}'),
                         warden.add_human('alice@mi.example'), warden.link_human('alice@mi.example', 'mi-idp'),
                         warden.add_human('bob@mi.example'), warden.link_human('bob@mi.example', 'mi-idp'),
                         warden.add_human('carol@mi.example'), warden.link_human('carol@mi.example', 'mi-idp'),
                         warden.add_agent('mi-bot', 'alice@mi.example'), warden.add_agent('mi-sub', 'alice@mi.example'),
                         warden.add_agent('mi-other', 'bob@mi.example'),
                         warden.add_server('misrv', 'https://misrv.internal/mcp'),
                         warden.grant('mi-bot', 'misrv/read'), warden.grant('mi-bot', 'misrv/write'),
                         warden.grant('mi-sub', 'misrv/read'), warden.grant('mi-other', 'misrv/read')$$,
                'identity provider, humans, agents, grants');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT warden.store_idp_metadata('mi-idp', '{"issuer": "https://idp.mi.example"}',
            '{"keys": [{"kty": "RSA", "kid": "idp-k1", "n": "AQAB", "e": "AQAB"}]}')->>'keys'$$), '1', 'the provider''s key is stored');

-- ------------------------------------------------------------------------------ admin functions
SELECT is(tap_mi.as_role('tap_mi_admin', format('SELECT warden.add_agent_key(%L, %L)', 'mi-bot', :'ed1')), 'bot-k1',
          'warden_admin registers an agent''s public key');
SELECT lives_ok(format('SELECT warden.add_agent_key(%L, %L), warden.add_agent_key(%L, %L)', 'mi-other', :'ed2', 'mi-sub', :'ed3'),
                'the other agents get keys');
SELECT throws_ok(format('SELECT warden.add_agent_key(%L, %L)', 'mi-bot', (:'ed1')::jsonb || '{"d": "c2VjcmV0"}'),
                 '22023', 'this JWK holds private key material', 'a private key is refused');
SELECT throws_ok($$SELECT warden.add_agent_key('mi-bot', '{"kty": "RSA", "kid": "r", "n": "x", "e": "AQAB", "p": "x", "q": "y"}')$$,
                 '22023', NULL, 'RSA private members are refused');
SELECT throws_ok($$SELECT warden.add_agent_key('mi-bot', '{"kty": "oct", "k": "c2VjcmV0"}')$$, '22023', NULL,
                 'a symmetric key is refused (HS256 with a public key cannot happen)');
SELECT throws_ok($$SELECT warden.add_agent_key('mi-bot', '{"kty": "OKP", "crv": "Ed25519", "x": "x", "alg": "none"}')$$, '22023', NULL,
                 'alg none is refused');
SELECT throws_ok(format('SELECT warden.add_agent_key(%L, %L)', 'mi-bot', :'ed2'), '23505', NULL,
                 'a key registered for one agent cannot be registered for another');
SELECT is(tap_mi.as_role(r, format('SELECT warden.add_agent_key(%L, %L)', 'mi-bot', '{"kty": "OKP", "crv": "Ed25519", "x": "y", "kid": "evil"}')),
          'ERROR 42501', r || ' cannot register an agent key')
FROM unnest(ARRAY['tap_mi_proxy', 'tap_mi_issuer', 'tap_mi_auditor']::name[]) r;
SELECT is(tap_mi.as_role(r, $$SELECT warden.allow_acting('mi-bot', 'group:everyone')$$), 'ERROR 42501',
          r || ' cannot widen whom an agent acts for')
FROM unnest(ARRAY['tap_mi_proxy', 'tap_mi_issuer', 'tap_mi_auditor']::name[]) r;
SELECT is(tap_mi.as_role(r, $$SELECT warden.add_trust_domain('evil.example', '{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "y"}]}')$$),
          'ERROR 42501', r || ' cannot trust a SPIFFE domain')
FROM unnest(ARRAY['tap_mi_proxy', 'tap_mi_issuer', 'tap_mi_auditor']::name[]) r;
SELECT is(tap_mi.as_role(r, $$SELECT warden.exchange_token('{}')$$), 'ERROR 42501', r || ' cannot call exchange_token')
FROM unnest(ARRAY['tap_mi_admin', 'tap_mi_issuer', 'tap_mi_auditor']::name[]) r;
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT count(*) FROM warden.assertion_jtis$$), 'ERROR 42501',
          'warden_proxy cannot read or clear the replay table directly');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$DELETE FROM warden.acting_policies RETURNING 1$$), 'ERROR 42501',
          'warden_proxy cannot change acting policies directly');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT warden.assertion_keys('mi-bot', 'mi-bot')->'keys'->0->>'kid'$$), 'bot-k1',
          'warden_proxy reads an agent''s public keys to verify its assertions');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT warden.assertion_keys('mi-bot', 'mi-bot')::text LIKE '%"d"%'$$), 'false',
          'no private member ever comes back');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT warden.assertion_keys('https://idp.mi.example', 'anyone')->>'kind'$$), 'idp',
          'an IdP issuer maps to its keys');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT warden.assertion_keys('https://evil.example', 'x')::text$$),
          '{"keys": [], "kind": null}', 'an unknown issuer has no keys');
SELECT throws_ok($$SELECT warden.allow_acting('mi-bot', 'group:')$$, '22023', NULL, 'an empty group is refused');
SELECT throws_ok($$SELECT warden.add_trust_domain('Bad Domain', '{"keys": []}')$$, '22023', NULL, 'a malformed trust domain is refused');
SELECT is(warden.add_trust_domain('prod.mi.example', jsonb_build_object('keys', jsonb_build_array(
            '{"kty": "OKP", "crv": "Ed25519", "kid": "td-k1", "use": "jwt-svid", "x": "Z2m4bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK0"}'::jsonb,
            '{"kty": "EC", "crv": "P-256", "use": "x509-svid", "x": "a", "y": "b"}'::jsonb))), 1,
          'a trust domain keeps its JWT-SVID keys only');
SELECT throws_ok($$SELECT warden.add_spiffe_id('mi-sub', 'spiffe://untrusted.example/sub')$$, '42704', NULL,
                 'a SPIFFE ID of an untrusted domain cannot be mapped');
SELECT lives_ok($$SELECT warden.add_spiffe_id('mi-sub', 'spiffe://prod.mi.example/ns/agents/sub')$$, 'a SPIFFE ID maps to an agent');

-- --------------------------------------------------------------- token exchange, starting a chain
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')),
          'issued', 'an agent exchanges its owner''s ID token for a task token');
SELECT is((SELECT human || ' ' || agent || ' ' || (detail->>'grant') || ' ' || (detail->>'actor_kid') FROM warden.events
           WHERE kind = 'token_issued' ORDER BY at DESC LIMIT 1),
          'alice@mi.example mi-bot token_exchange bot-k1', 'the issuance is audited with subject, actor and key');
SELECT is((SELECT t.tools FROM warden.tokens t WHERE t.token_id = (SELECT e.token_id FROM warden.events e WHERE e.kind = 'token_issued' ORDER BY e.at DESC LIMIT 1)),
          ARRAY['misrv/read'],
          'scope = requested tools within the grants');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('bob@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: not_allowed_to_act', 'by default an agent acts for its owner only');
SELECT is((SELECT human || ' ' || agent || ' ' || reason FROM warden.events WHERE kind = 'token_exchange_refused'
           ORDER BY at DESC LIMIT 1), 'bob@mi.example mi-bot not_allowed_to_act', 'the refusal is audited with subject, actor and reason');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'other-k1'))),
          'invalid_client token_exchange refused: actor_wrong_key', 'an assertion verified by another agent''s key proves nothing');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-other', 'other-k1', '{"iss": "mi-bot"}'))),
          'invalid_client token_exchange refused: actor_untrusted_issuer', 'iss and sub must both name the agent');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            jsonb_build_object('error', 'bad_signature'))),
          'invalid_client token_exchange refused: actor_bad_signature', 'a signature warden-mcp could not verify refuses');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1', '{"aud": "https://other-gw.example"}'))),
          'invalid_client token_exchange refused: actor_wrong_audience', 'an assertion for another server is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1', jsonb_build_object('exp', tap_mi.now() - 61)))),
          'invalid_client token_exchange refused: actor_expired', 'an expired assertion (beyond 60 s skew) is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1', jsonb_build_object('iat', tap_mi.now() + 90)))),
          'invalid_client token_exchange refused: actor_issued_in_the_future', 'an assertion from 90 s in the future is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1', jsonb_build_object('exp', tap_mi.now() + 3600)))),
          'invalid_client token_exchange refused: actor_lifetime_too_long', 'an assertion living over 5 minutes is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1') #- '{claims,jti}')),
          'invalid_client token_exchange refused: actor_no_jti', 'an assertion without jti is refused');
SELECT tap_mi.actor('mi-bot', 'bot-k1') AS once \gset
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'), :'once')),
          'issued', 'an assertion is used once ...');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'), :'once')),
          'invalid_client token_exchange refused: actor_replayed', '... and refused when replayed');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example', '{"iss": "https://evil.example"}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_untrusted_issuer', 'an ID token of an untrusted issuer is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example', '{"aud": "some-other-app"}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_wrong_audience', 'an ID token issued to another application is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example', jsonb_build_object('exp', tap_mi.now() - 120)),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_expired', 'an expired ID token is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.jwt('bot-k1', (tap_mi.id_token('alice@mi.example')->'claims')),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_wrong_key', 'a subject token verified by an agent key (not the IdP''s) is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('mallory@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: not_provisioned', 'a person warden does not know is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"resource": "https://elsewhere.example/mcp"}')),
          'invalid_target token_exchange refused: wrong_resource', 'another resource is invalid_target');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "othersrv/admin"}')),
          'invalid_scope token_exchange refused: no_granted_tools', 'a scope the agent holds no grant for is invalid_scope');
SELECT is((SELECT count(*) FROM warden.tokens t JOIN warden.chains c USING (chain_id) JOIN warden.humans h USING (human_id)
           WHERE h.subject IN ('bob@mi.example', 'mallory@mi.example')), 0::bigint, 'no refusal issued anything');

-- allow_acting: a subject, a group, 'owner'.
SELECT lives_ok($$SELECT warden.allow_acting('mi-bot', 'group:support')$$, 'mi-bot may act for the support group');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('bob@mi.example'), tap_mi.actor('mi-bot', 'bot-k1'))),
          'issued', 'a member of an allowed group');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example', '{"groups": ["sales"]}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: not_allowed_to_act', 'once a policy exists, the owner needs ''owner'' too');
SELECT lives_ok($$SELECT warden.allow_acting('mi-bot', 'owner'), warden.allow_acting('mi-bot', 'carol@mi.example')$$, 'owner and one subject');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('carol@mi.example', '{"groups": []}'),
            tap_mi.actor('mi-bot', 'bot-k1'))), 'issued', 'an allowed subject');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example', '{"groups": "support"}'),
            tap_mi.actor('mi-bot', 'bot-k1'))), 'issued', 'the owner again');
SELECT ok(warden.disallow_acting('mi-bot', 'carol@mi.example'), 'disallow_acting removes an entry');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('carol@mi.example', '{"groups": []}'),
            tap_mi.actor('mi-bot', 'bot-k1'))), 'invalid_grant token_exchange refused: not_allowed_to_act', 'and it applies at once');
SELECT lives_ok($$SELECT warden.revoke_human('bob@mi.example', 'left')$$, 'bob is offboarded');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('bob@mi.example'), tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: human_revoked', 'an offboarded person''s ID token starts nothing');
SELECT lives_ok($$SELECT warden.revoke_agent('mi-other', 'stolen key')$$, 'mi-other is revoked');
SELECT lives_ok($$SELECT warden.allow_acting('mi-other', 'owner')$$, 'policy alone does not revive it');

-- SPIFFE JWT-SVIDs as the actor.
CREATE FUNCTION tap_mi.svid(sub text, kid text DEFAULT 'td-k1', overrides jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap_mi.jwt(kid, jsonb_build_object('sub', sub, 'iss', 'https://spire.prod.mi.example', 'aud', jsonb_build_array('https://gw.mi.example'),
                                            'exp', tap_mi.now() + 600, 'iat', tap_mi.now()) || overrides)
$$;
GRANT EXECUTE ON FUNCTION tap_mi.svid(text, text, jsonb) TO PUBLIC;
SELECT lives_ok($$SELECT warden.allow_acting('mi-sub', 'owner')$$, 'mi-sub acts for its owner');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'))), 'issued', 'a JWT-SVID of a trusted domain proves its agent');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub') #- '{claims,iss}')), 'issued', 'a JWT-SVID needs no iss');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1') #- '{claims,iss}')),
          'invalid_client token_exchange refused: actor_no_issuer_or_subject', 'an agent assertion needs iss');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.svid('spiffe://untrusted.example/ns/agents/sub'))),
          'invalid_client token_exchange refused: actor_untrusted_issuer', 'a JWT-SVID of an untrusted domain is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/unknown'))),
          'invalid_client token_exchange refused: actor_unknown_spiffe_id', 'an unmapped SPIFFE ID is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub', 'bot-k1'))),
          'invalid_client token_exchange refused: actor_wrong_key', 'a JWT-SVID verified by a key outside the bundle is refused');

-- ------------------------------------------------------------------- delegation by token exchange
SELECT tap_mi.as_role('tap_mi_proxy', format('SELECT tap_mi.exchange(%L, %L, %L)::text', tap_mi.id_token('alice@mi.example'),
         tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read misrv/write", "expires_in": 600}'))::jsonb->>'access_token' AS parent \gset
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', :'parent'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'), '{"scope": "misrv/read", "expires_in": 60}')),
          'issued', 'a sub-agent proves itself and receives a narrower token');
SELECT is((SELECT a.name || ' ' || t.depth || ' ' || (SELECT pa.name FROM warden.agents pa WHERE pa.agent_id = t.ancestor_agents[1])
           FROM warden.tokens t JOIN warden.agents a USING (agent_id)
           WHERE t.token_id = (SELECT e.token_id FROM warden.events e WHERE e.kind = 'token_exchanged' ORDER BY e.at DESC LIMIT 1)),
          'mi-sub 1 mi-bot', 'the delegated token sits below the parent in the chain');
SELECT is((SELECT human || ' ' || agent || ' ' || (detail->>'actor_kind') FROM warden.events WHERE kind = 'token_exchanged'
           ORDER BY at DESC LIMIT 1), 'alice@mi.example mi-sub spiffe', 'the delegation exchange is audited');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', :'parent'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'), '{"scope": "othersrv/read"}')),
          'invalid_scope delegation refused: wider_than_parent', 'a tool the parent does not hold is refused (delegate''s rule)');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', :'parent'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'), '{"scope": "misrv/*"}')),
          'invalid_scope delegation refused: wider_than_parent', 'a wider pattern than the parent holds is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', :'parent'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'), '{"scope": "misrv/read", "expires_in": 7200}')),
          'invalid_grant delegation refused: longer_than_parent', 'a longer lifetime than the parent is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', :'parent'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'), '{}')),
          'invalid_scope delegation refused: scope_required', 'delegation names its tools');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', 'v4.local.forged'),
            tap_mi.svid('spiffe://prod.mi.example/ns/agents/sub'), '{"scope": "misrv/read"}')),
          'invalid_grant delegation refused: subject_malformed', 'a forged task token is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', jsonb_build_object('task_token', :'parent'),
            tap_mi.actor('mi-other', 'other-k1'), '{"scope": "misrv/read"}')),
          'invalid_client delegation refused: agent_suspended', 'a revoked agent''s key is refused');

-- ------------------------------------------------------------------------------------ ID-JAG
SELECT lives_ok($$SELECT warden.register_client('mi-bot', 'mi-bot-client', ARRAY['https://app.mi.example/cb'])$$,
                'mi-bot has an OAuth client');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client'), 'mi-bot-client',
            tap_mi.actor('mi-bot-client', 'bot-k1'))), 'issued', 'an ID-JAG for the agent''s client gives a task token');
SELECT is((SELECT detail->>'grant' FROM warden.events WHERE kind = 'token_issued' ORDER BY at DESC LIMIT 1), 'id_jag',
          'audited as an ID-JAG issuance');
SELECT tap_mi.id_jag('alice@mi.example', 'mi-bot-client') AS jag \gset
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', :'jag', 'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'issued', 'an ID-JAG is used once ...');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', :'jag', 'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: assertion_replayed', '... and refused when replayed');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client', '{"aud": "https://other.example"}'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: subject_wrong_audience', 'an ID-JAG for another authorization server is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client', '{"resource": "https://other.example/mcp"}'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_target id_jag refused: wrong_resource', 'an ID-JAG for another resource is invalid_target');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'someone-else'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: wrong_client', 'an ID-JAG issued to another client is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client', jsonb_build_object('exp', tap_mi.now() + 900)),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: subject_lifetime_too_long', 'an ID-JAG living over 5 minutes is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client', jsonb_build_object('iat', tap_mi.now() - 400, 'exp', tap_mi.now() - 100)),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: subject_expired', 'an expired ID-JAG is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client', '{"iss": "https://evil.example"}'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: subject_untrusted_issuer', 'an ID-JAG from an untrusted issuer is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.jwt('idp-k1', tap_mi.id_jag('alice@mi.example', 'mi-bot-client')->'claims'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: subject_wrong_typ', 'an ID token is not an ID-JAG (typ)');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client'),
            'mi-bot-client', NULL)),
          'invalid_client id_jag refused: actor_missing', 'the client must authenticate');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client', '{"scope": "misrv/read"}'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'), '{"scope": "misrv/write"}')),
          'invalid_scope id_jag refused: wider_than_assertion', 'the client cannot ask for more than the ID-JAG allows');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('carol@mi.example', 'mi-bot-client'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: not_allowed_to_act', 'an ID-JAG does not bypass allow_acting');
SELECT is((SELECT count(*) FROM warden.assertion_jtis WHERE expires_at > now()) > 0, true, 'used jtis are kept until they expire');

-- ------------------------------------------- the provider's admission rules hold for exchanges too
-- The browser sign-in of this provider refuses people outside allowed_domains (verified email)
-- and allowed_groups: so must a token exchange, or it is a way around them.
UPDATE warden.identity_providers SET options = options || '{"allowed_domains": ["mi.example"], "email_claim": "email"}'
WHERE name = 'mi-idp';
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"email": "alice@evil.example", "email_verified": true}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_domain_not_allowed',
          'exchange: an email outside allowed_domains is refused, as at the browser sign-in');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"email": "alice@mi.example"}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_domain_not_allowed',
          'exchange: an email the provider did not say it verified is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"email": "alice@mi.example", "email_verified": true}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'issued', 'exchange: a verified email in an allowed domain is admitted');
UPDATE warden.identity_providers SET options = (options - 'allowed_domains') || '{"allowed_groups": ["engineering"]}'
WHERE name = 'mi-idp';
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_group_not_allowed',
          'exchange: a person outside allowed_groups is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'))),
          'invalid_grant id_jag refused: subject_group_not_allowed',
          'ID-JAG: a person outside allowed_groups is refused');
UPDATE warden.identity_providers SET options = options - 'allowed_groups' WHERE name = 'mi-idp';
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"aud": ["warden-at-idp", "other-app"], "azp": "other-app"}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_wrong_authorized_party',
          'exchange: an ID token for several audiences issued to another party (azp) is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)', tap_mi.id_token('alice@mi.example', '{"sub": ""}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: subject_no_subject', 'exchange: an empty subject is refused');

-- A chain started from a person's ID token ends no later than that token.
SELECT ok((SELECT (r->>'expires_in')::int BETWEEN 1 AND 91
           FROM (SELECT warden.exchange_token(jsonb_build_object(
                   'grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange', 'issuer', 'https://gw.mi.example',
                   'expected_resource', 'https://gw.mi.example/mcp',
                   'subject', tap_mi.id_token('alice@mi.example', jsonb_build_object('exp', tap_mi.now() + 90)),
                   'actor', tap_mi.actor('mi-bot', 'bot-k1'))) AS r) x),
          'exchange: the task token lives no longer than the subject token (90 s left)');

-- ------------------------------------------- JWT access tokens, may_act, gateway refusals (txn)
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"may_act": {"sub": "mi-other"}}'), tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: actor_not_in_may_act',
          'may_act: an actor the person''s token does not name is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"may_act": {"sub": "mi-bot", "iss": "https://elsewhere.example"}}'),
            tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: actor_not_in_may_act', 'may_act: the actor''s issuer must match too');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L)',
            tap_mi.id_token('alice@mi.example', '{"may_act": ["mi-bot"]}'), tap_mi.actor('mi-bot', 'bot-k1'))),
          'invalid_grant token_exchange refused: malformed_may_act', 'may_act: a malformed claim admits no one');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)',
            tap_mi.id_token('alice@mi.example', '{"may_act": {"sub": "mi-bot"}}'), tap_mi.actor('mi-bot', 'bot-k1'),
            '{"requested_token_type": "urn:ietf:params:oauth:token-type:jwt"}')),
          'issued', 'may_act: the actor it names is admitted (and may ask for a JWT)');

CREATE TEMP TABLE tap_mi_jwt AS
SELECT warden.exchange_token(jsonb_build_object(
  'grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange', 'issuer', 'https://gw.mi.example',
  'expected_resource', 'https://gw.mi.example/mcp', 'scope', 'misrv/read',
  'requested_token_type', 'urn:ietf:params:oauth:token-type:jwt', 'audience', 'https://api.mi.example',
  'subject', tap_mi.id_token('alice@mi.example', '{"act": {"sub": "upstream-orchestrator"}}'),
  'actor', tap_mi.actor('mi-bot', 'bot-k1'))) AS r;
CREATE FUNCTION pg_temp.jwt_part(token text, n int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT convert_from(decode(translate(p, '-_', '+/') || repeat('=', (4 - length(p) % 4) % 4), 'base64'), 'UTF8')::jsonb
  FROM (SELECT split_part(token, '.', n) AS p) x
$$;
SELECT is(r->>'issued_token_type', 'urn:ietf:params:oauth:token-type:jwt', 'jwt: issued_token_type says jwt') FROM tap_mi_jwt;
SELECT ok(NOT r ? 'token_id', 'jwt: no internal key leaks into the answer') FROM tap_mi_jwt;
SELECT is(pg_temp.jwt_part(r->>'access_token', 1) - 'kid', '{"alg": "EdDSA", "typ": "at+jwt"}', 'jwt: EdDSA, typ at+jwt')
FROM tap_mi_jwt;
SELECT is(pg_temp.jwt_part(r->>'access_token', 1)->>'kid',
          (SELECT k->>'kid' FROM jsonb_array_elements(warden.public_keys()->'keys') k
           WHERE k->>'kid' = pg_temp.jwt_part(r->>'access_token', 1)->>'kid'),
          'jwt: signed with a key warden.public_keys() publishes') FROM tap_mi_jwt;
SELECT is(pg_temp.jwt_part(r->>'access_token', 2) - ARRAY['iat', 'nbf', 'exp', 'jti', 'chain'],
          '{"iss": "https://gw.mi.example", "sub": "alice@mi.example", "aud": "https://api.mi.example", "client_id": "mi-bot",
            "scope": "misrv/read", "act": {"sub": "mi-bot", "act": {"sub": "upstream-orchestrator"}}}'::jsonb,
          'jwt: the person, the agent outermost in act above the act the person''s token carried, the scope')
FROM tap_mi_jwt;
SELECT is((SELECT t.tools FROM warden.tokens t WHERE t.token_id = (pg_temp.jwt_part(r->>'access_token', 2)->>'jti')::uuid),
          ARRAY['misrv/read'], 'jwt: jti is the task token it stands for, with the same (not a wider) scope') FROM tap_mi_jwt;
SELECT is((SELECT extract(epoch FROM t.expires_at)::bigint FROM warden.tokens t
           WHERE t.token_id = (pg_temp.jwt_part(r->>'access_token', 2)->>'jti')::uuid),
          (pg_temp.jwt_part(r->>'access_token', 2)->>'exp')::bigint, 'jwt: ends when its task token ends') FROM tap_mi_jwt;
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"requested_token_type": "urn:ietf:params:oauth:token-type:saml2"}')),
          'invalid_request token_exchange refused: unsupported_token_type', 'an unsupported token type is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.jag(%L, %L, %L, %L)', tap_mi.id_jag('alice@mi.example', 'mi-bot-client'),
            'mi-bot-client', tap_mi.actor('mi-bot-client', 'bot-k1'),
            '{"requested_token_type": "urn:ietf:params:oauth:token-type:jwt"}')),
          'invalid_request id_jag refused: unsupported_token_type', 'ID-JAG takes no requested_token_type');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', tap_mi.id_token('alice@mi.example'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"audience": 7}')),
          'invalid_target token_exchange refused: bad_audience', 'a non-string audience is refused');
SELECT is(tap_mi.as_role('tap_mi_proxy', $$SELECT warden.exchange_token('{"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "issuer": "https://gw.mi.example", "expected_resource": "https://gw.mi.example/mcp",
            "refused": {"error": "server_error", "reason": "x''; DROP TABLE y"}}')::text$$),
          '{"error": "invalid_request", "error_description": "token_exchange refused: gateway_refused"}',
          'a gateway refusal is audited with a sanitised reason and an RFC error only');
SELECT is((SELECT reason || ' ' || (detail->>'error') || ' ' || (detail->>'at') FROM warden.events
           WHERE kind = 'token_exchange_refused' ORDER BY at DESC, event_id LIMIT 1),
          'gateway_refused invalid_request gateway', 'the gateway refusal is an audit row');
SELECT is(tap_mi.as_role(r, $$SELECT warden._sign_jwt('at+jwt', '{"sub": "x"}')$$), 'ERROR 42501',
          r || ' cannot sign with warden''s key')
FROM unnest(ARRAY['tap_mi_proxy', 'tap_mi_admin', 'tap_mi_issuer', 'tap_mi_auditor']::name[]) r;
SELECT throws_ok($$SELECT warden._sign_jwt('txntoken+jwt', '{"sub": "x"}')$$, '22023', NULL,
                 '_sign_jwt signs only the typs exchange_token needs');
SELECT is(tap_mi.as_role(r, $$SELECT warden._act_chain(gen_random_uuid(), NULL)$$), 'ERROR 42501', r || ' cannot call _act_chain')
FROM unnest(ARRAY['tap_mi_proxy', 'tap_mi_issuer']::name[]) r;
SELECT lives_ok($$SELECT warden.add_server('mitxn', 'https://mitxn.internal/mcp', 'http', '{"kind": "txn_token", "ttl_seconds": 20}')$$,
                'a txn_token credential for an http server');
SELECT throws_ok($$SELECT warden.add_server('mitxn2', 'node x.mjs', 'stdio', '{"kind": "txn_token"}')$$, '22023',
                 'a txn_token credential needs an http server', 'a txn_token credential for a stdio server is refused');
SELECT throws_ok($$SELECT warden.add_server('mitxn3', 'https://x.internal/mcp', 'http', '{"kind": "txn_token", "ttl_seconds": 600}')$$,
                 '22023', NULL, 'a txn_token lives at most 60 s');

-- ------------------------------------------- the provider's keys pinned: the gateway's word is not taken
\ir include/id_token_signer.sql
SELECT lives_ok($$SELECT warden.pin_identity_provider_keys('mi-idp', tap_jws.jwks())$$, 'mi-idp''s keys are pinned');
CREATE FUNCTION tap_mi.signed(report jsonb, signed_claims jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT report || jsonb_build_object('jwt', tap_jws.sign(signed_claims))
$$;
CREATE FUNCTION tap_mi.last_refusal() RETURNS text LANGUAGE sql AS $$
  SELECT reason FROM warden.events WHERE kind = 'token_exchange_refused' ORDER BY at DESC, event_id DESC LIMIT 1
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tap_mi TO PUBLIC;
SELECT isnt(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)', tap_mi.id_token('alice@mi.example'),
              tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')),
            'issued', 'the gateway''s report of a verified ID token, without the token, starts nothing');
SELECT is(tap_mi.last_refusal(), 'subject_not_verified_by_database: malformed', '... audited');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)',
            tap_mi.signed(tap_mi.id_token('alice@mi.example'), tap_mi.id_token('bob@mi.example')->'claims'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')),
          'invalid_grant token_exchange refused: human_revoked',
          'a report saying alice over a token of bob (offboarded above) is refused as bob''s ...');
SELECT is(tap_mi.last_refusal(), 'human_revoked', '... the claims are the token''s, not the report''s');
SELECT isnt(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)',
              tap_mi.signed(tap_mi.id_token('alice@mi.example'), tap_mi.id_token('nobody@mi.example')->'claims'),
              tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')),
            'issued', 'a report saying alice over a token of someone warden does not know starts nothing');
SELECT isnt(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)',
              tap_mi.signed(tap_mi.id_token('alice@mi.example'), tap_mi.id_token('alice@mi.example')->'claims') || '{"jwt": "x.y.z"}',
              tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')),
            'issued', 'a JWT that does not verify is refused');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)',
            tap_mi.signed(tap_mi.id_token('alice@mi.example'), tap_mi.id_token('alice@mi.example')->'claims'),
            tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')),
          'issued', 'the ID token itself, verified with the pinned key, starts the chain');
SELECT is(tap_mi.outcome(format('SELECT tap_mi.exchange(%L, %L, %L)',
            tap_mi.id_token('alice@mi.example') || '{"verified_by": "database"}',
            tap_mi.actor('mi-bot', 'bot-k1'), '{"scope": "misrv/read", "resource": "https://gw.mi.example/mcp"}')) <> 'issued',
          true, 'the gateway cannot say the database verified it');

SELECT * FROM finish();
ROLLBACK;
