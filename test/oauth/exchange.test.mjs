// Agents acting for people without a browser (issue 14), end to end: a fresh database,
// warden-mcp with --issuer, the fixture OpenID provider (oidc-provider) issuing the person's real
// ID token (signed in once with chromium), and the machine flows at /token: RFC 8693 token
// exchange starting a chain (subject = that ID token, actor = the agent's private_key_jwt
// assertion), delegation by token exchange (subject = the task token, actor = a SPIFFE JWT-SVID)
// and the ID-JAG jwt-bearer grant from an enterprise IdP. Actor assertions, JWT-SVIDs and ID-JAGs
// are signed here with jose. Each issued token makes a governed call through warden-mcp,
// attributed in SQL; then the attacks, each a test: nothing is issued and the refusal is audited.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 exchange.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { startIdp } from './fixture-idp.mjs';
import { launchBrowser, signInAtIdp } from './browser.mjs';
import { startRedirectCatcher } from './redirect-catcher.mjs';
import {
  freshDatabase, sql, sqlValue, quote, startProcess, startGateway, stop, settled, freePort } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TT = 'urn:ietf:params:oauth:token-type:';
const ENTERPRISE = 'https://enterprise.example';
const SPIFFE_SUB = 'spiffe://prod.example.org/agents/sub';

let catcher;
let idp;
let upstream;
let gateway;
let issuer;
let idToken;
const keys = {};

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);


async function keyPair(alg, kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg };
  return { alg, kid, privateKey, jwk };
}

async function sign(key, claims, header = {}) {
  return new jose.SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

// The agent's own assertion (RFC 7523): iss = sub = its client, aud = warden, 2 minutes, fresh jti.
function actorAssertion(client, key = keys.bot, overrides = {}) {
  return sign(key, {
    iss: client, sub: client, aud: issuer, iat: now(), exp: now() + 120, jti: crypto.randomUUID(), ...overrides,
  });
}

function svid(sub = SPIFFE_SUB, key = keys.domain, overrides = {}) {
  return sign(key, { sub, aud: [issuer], iat: now(), exp: now() + 300, ...overrides });
}

function idJag(overrides = {}) {
  return sign(keys.enterprise, {
    iss: ENTERPRISE, sub: 'dana@example.com', aud: issuer, client_id: 'exchange-client',
    resource: `${issuer}/mcp`, scope: 'fixture/whoami', iat: now(), exp: now() + 240,
    jti: crypto.randomUUID(), ...overrides,
  }, { typ: 'oauth-id-jag+jwt' });
}

async function token(fields) {
  const r = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  return { status: r.status, body: await r.json() };
}

async function exchange(subjectToken, actorToken, extra = {}, subjectType = 'id_token') {
  return token({
    grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: TT + subjectType,
    actor_token: actorToken, actor_token_type: `${TT}jwt`, resource: `${issuer}/mcp`, ...extra,
  });
}

async function jwtBearer(assertion, clientAssertion, extra = {}) {
  return token({
    grant_type: JWT_BEARER, assertion, client_id: 'exchange-client',
    ...(clientAssertion ? {
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    } : {}),
    ...extra,
  });
}

// One tools/call of fixture__whoami through /mcp with the task token.
async function callWhoami(accessToken) {
  const headers = {
    'content-type': 'application/json', accept: 'application/json, text/event-stream',
    authorization: `Bearer ${accessToken}`,
  };
  const init = await fetch(`${issuer}/mcp`, {
    method: 'POST', headers,
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'exchange', version: '0' } },
    }),
  });
  if (init.status !== 200) return { status: init.status, body: await init.text() };
  const call = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture__whoami', arguments: {} } }),
  });
  const text = await call.text();
  const data = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
  return { status: call.status, response: data.at(-1) ?? (text ? JSON.parse(text) : undefined) };
}

const refusals = () => Number(sqlValue("SELECT count(*) FROM warden.events WHERE kind = 'token_exchange_refused'"));
const issued = () => Number(sqlValue('SELECT count(*) FROM warden.tokens'));

// A refused request: the RFC error, nothing issued, one more audited refusal with this reason.
async function refused(request, status, error, reason) {
  const [before, tokensBefore] = [refusals(), issued()];
  const r = await request;
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error, error, JSON.stringify(r.body));
  assert.equal(r.body.access_token, undefined);
  assert.equal(issued(), tokensBefore, 'nothing issued');
  if (reason) {
    assert.equal(refusals(), before + 1, 'the refusal is audited');
    assert.equal(sqlValue("SELECT reason FROM warden.events WHERE kind = 'token_exchange_refused' ORDER BY at DESC LIMIT 1"), reason);
  }
  return r;
}

before(async () => {
  freshDatabase();
  catcher = await startRedirectCatcher();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [catcher.redirectUri] } });
  upstream = await startProcess('node', [path.join(here, '../e2e/fixture-upstream.mjs')], /listening (\d+)/);
  keys.bot = await keyPair('ES256', 'bot-key');
  keys.other = await keyPair('ES256', 'other-key');
  keys.domain = await keyPair('EdDSA', 'domain-key');
  keys.enterprise = await keyPair('RS256', 'enterprise-key');
  keys.stranger = await keyPair('RS256', 'stranger-key');
  const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
  const idpJwks = await (await fetch(discovery.jwks_uri)).json();
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_human('dana@example.com', 'Dana');
       SELECT warden.add_human('owner@example.com', 'Owner');
       SELECT warden.add_agent('exchange-bot', 'alice@example.com');
       SELECT warden.add_agent('sub-bot', 'alice@example.com');
       SELECT warden.add_agent('other-bot', 'owner@example.com');
       SELECT warden.add_server('fixture', 'http://127.0.0.1:${upstream.match[1]}/mcp', 'http');
       SELECT warden.grant('exchange-bot', 'fixture/whoami');
       SELECT warden.grant('sub-bot', 'fixture/whoami');
       SELECT warden.grant('other-bot', 'fixture/whoami');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"subject_claim": "email", "email_claim": "email", "groups_claim": "groups"}');
       SELECT warden.link_human('alice@example.com', 'fixture-idp');
       SELECT warden.store_idp_metadata('fixture-idp', ${quote(JSON.stringify(discovery))}, ${quote(JSON.stringify(idpJwks))});
       SELECT warden.add_identity_provider('enterprise', ${quote(ENTERPRISE)}, 'warden-at-enterprise', NULL, '{}');
       SELECT warden.link_human('dana@example.com', 'enterprise');
       SELECT warden.store_idp_metadata('enterprise', ${quote(JSON.stringify({ issuer: ENTERPRISE }))},
                ${quote(JSON.stringify({ keys: [keys.enterprise.jwk] }))});
       SELECT warden.add_agent_key('exchange-bot', ${quote(JSON.stringify(keys.bot.jwk))});
       SELECT warden.add_agent_key('other-bot', ${quote(JSON.stringify(keys.other.jwk))});
       SELECT warden.register_client('exchange-bot', 'exchange-client', ARRAY[${quote(catcher.redirectUri)}]);
       SELECT warden.allow_acting('exchange-bot', 'owner');
       SELECT warden.allow_acting('exchange-bot', 'dana@example.com');
       SELECT warden.add_trust_domain('prod.example.org', ${quote(JSON.stringify({ keys: [keys.domain.jwk] }))});
       SELECT warden.add_spiffe_id('sub-bot', ${quote(SPIFFE_SUB)});`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer,
    '--oauth-allow-http-loopback'], undefined, {});

  // The person's real ID token: signed in once at the provider, code redeemed with PKCE.
  const session = await launchBrowser({ resultsDir });
  try {
    const verifier = b64url(crypto.randomBytes(32));
    const url = new URL(discovery.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: 'warden', response_type: 'code', scope: 'openid email groups', redirect_uri: catcher.redirectUri,
      code_challenge: b64url(crypto.createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
      nonce: b64url(crypto.randomBytes(16)), state: b64url(crypto.randomBytes(16)),
    });
    const page = await session.page();
    await signInAtIdp(session, page, {
      url: url.href, login: idp.user.accountId, password: idp.user.password, until: catcher.redirectUri, name: 'exchange',
    });
    const { code } = await catcher.next();
    const r = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: catcher.redirectUri, client_id: 'warden', code_verifier: verifier,
      }),
    });
    const body = await r.json();
    assert.ok(body.id_token, JSON.stringify(body));
    idToken = body.id_token;
  } finally {
    await session.close();
  }
});

after(async () => {
  stop(gateway?.child);
  stop(upstream?.child);
  await idp?.close();
  await catcher?.close();
});

test('metadata advertises token exchange, jwt-bearer and private_key_jwt', async () => {
  const meta = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  assert.ok(meta.grant_types_supported.includes(TOKEN_EXCHANGE));
  assert.ok(meta.grant_types_supported.includes(JWT_BEARER));
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
});

let parentToken;

test('token exchange: the person\'s ID token + the agent\'s assertion start a chain; the call is attributed', async () => {
  const r = await exchange(idToken, await actorAssertion('exchange-bot'), { scope: 'fixture/whoami' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.issued_token_type, `${TT}access_token`);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.scope, 'fixture/whoami');
  parentToken = r.body.access_token;
  const called = await callWhoami(parentToken);
  assert.equal(called.status, 200, JSON.stringify(called));
  assert.ok(called.response.result, JSON.stringify(called.response));
  const seen = await settled(
    () => sqlValue(`SELECT human || ' ' || agent || ' ' || allowed FROM warden.events
                    WHERE kind = 'call' AND tool = 'whoami' ORDER BY at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, 'alice@example.com exchange-bot true');
  assert.equal(sqlValue(`SELECT human || ' ' || agent || ' ' || (detail->>'grant') || ' ' || (detail->>'actor_kid')
                         FROM warden.events WHERE kind = 'token_issued' ORDER BY at DESC LIMIT 1`),
  'alice@example.com exchange-bot token_exchange bot-key');
});

test('delegation by token exchange: a sub-agent with a JWT-SVID gets a narrower token below the parent', async () => {
  const r = await exchange(parentToken, await svid(), { scope: 'fixture/whoami', expires_in: '60' }, 'access_token');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const called = await callWhoami(r.body.access_token);
  assert.equal(called.status, 200, JSON.stringify(called));
  assert.ok(called.response.result, JSON.stringify(called.response));
  const seen = await settled(
    () => sqlValue(`SELECT e.human || ' ' || e.agent || ' ' || t.depth || ' ' || pa.name FROM warden.events e
                    JOIN warden.tokens t ON t.token_id = e.token_id JOIN warden.agents pa ON pa.agent_id = t.ancestor_agents[1]
                    WHERE e.kind = 'call' AND e.agent = 'sub-bot' ORDER BY e.at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, 'alice@example.com sub-bot 1 exchange-bot');
  const path = sqlValue(`SELECT string_agg(name, ' > ' ORDER BY depth DESC) FROM warden.attribution(
                           (SELECT event_id FROM warden.events WHERE kind = 'call' AND agent = 'sub-bot' ORDER BY at DESC LIMIT 1))
                         WHERE kind IN ('human', 'token')`);
  assert.equal(path, 'alice@example.com > exchange-bot > sub-bot');
});

test('a delegation from a DPoP-bound token stays bound to that key, as a task token and as a JWT (cnf.jkt)', async () => {
  // The parent as a DPoP sign-in binds it (the test sets the binding directly).
  const jkt = 'Bk3yThumbprint-of-the-parent-s-DPoP-key-0_';
  const parentId = sqlValue(`SELECT token_id FROM warden._verify_token(${quote(parentToken)})`);
  sql(`UPDATE warden.tokens SET dpop_jkt = ${quote(jkt)} WHERE token_id = ${quote(parentId)}`);
  try {
    const task = await exchange(parentToken, await svid(), { scope: 'fixture/whoami', expires_in: '60' }, 'access_token');
    assert.equal(task.status, 200, JSON.stringify(task.body));
    assert.equal(task.body.token_type, 'DPoP');
    const asBearer = await callWhoami(task.body.access_token);
    assert.equal(asBearer.status, 401, 'the delegated task token does not work without the parent key\'s proof');
    const jwt = await exchange(parentToken, await svid(),
      { scope: 'fixture/whoami', expires_in: '60', requested_token_type: `${TT}jwt`, audience: 'https://api.example.com' },
      'access_token');
    assert.equal(jwt.status, 200, JSON.stringify(jwt.body));
    assert.equal(jwt.body.token_type, 'DPoP');
    assert.deepEqual(jose.decodeJwt(jwt.body.access_token).cnf, { jkt },
      'the JWT for another resource server carries the binding: it is no bearer token');
  } finally {
    sql(`UPDATE warden.tokens SET dpop_jkt = NULL WHERE token_id = ${quote(parentId)}`);
  }
});

test('ID-JAG: an enterprise IdP\'s assertion for the agent\'s client gives a task token; the call is attributed', async () => {
  const r = await jwtBearer(await idJag(), await actorAssertion('exchange-client'));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const called = await callWhoami(r.body.access_token);
  assert.equal(called.status, 200, JSON.stringify(called));
  const seen = await settled(
    () => sqlValue(`SELECT human || ' ' || agent FROM warden.events
                    WHERE kind = 'call' AND human = 'dana@example.com' ORDER BY at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, 'dana@example.com exchange-bot');
});

test('with a provider\'s keys pinned, the database verifies the subject token and the ID-JAG itself', async () => {
  // Pinned: a key neither provider signs with. warden-mcp verifies each token with the keys it
  // fetched, but the database believes only its own verification: refused, audited.
  const pin = (name, keys) => sql(`SELECT warden.pin_identity_provider_keys(${quote(name)},
                                     ${keys ? quote(JSON.stringify({ keys })) : 'NULL'})`);
  try {
    pin('fixture-idp', [keys.stranger.jwk]);
    pin('enterprise', [keys.stranger.jwk]);
    await refused(exchange(idToken, await actorAssertion('exchange-bot'), { scope: 'fixture/whoami' }),
      400, 'invalid_grant', 'subject_not_verified_by_database: unknown_kid');
    await refused(jwtBearer(await idJag(), await actorAssertion('exchange-client')),
      400, 'invalid_grant', 'subject_not_verified_by_database: unknown_kid');
    // Pinned: the providers' own keys. The same requests go through.
    pin('fixture-idp', (await idp.jwks()).keys);
    pin('enterprise', [keys.enterprise.jwk]);
    const r = await exchange(idToken, await actorAssertion('exchange-bot'), { scope: 'fixture/whoami' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const j = await jwtBearer(await idJag(), await actorAssertion('exchange-client'));
    assert.equal(j.status, 200, JSON.stringify(j.body));
  } finally {
    pin('fixture-idp', null);
    pin('enterprise', null);
  }
});

test('requested_token_type jwt: the ID token and the agent\'s assertion give a JWT access token naming both', async () => {
  const r = await exchange(idToken, await actorAssertion('exchange-bot'), { requested_token_type: `${TT}jwt` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.issued_token_type, `${TT}jwt`);
  const claims = jose.decodeJwt(r.body.access_token);
  assert.equal(claims.sub, 'alice@example.com');
  assert.deepEqual(claims.act, { sub: 'exchange-bot' });
});

test('a replayed actor assertion is refused', async () => {
  const once = await actorAssertion('exchange-bot');
  assert.equal((await exchange(idToken, once)).status, 200);
  await refused(exchange(idToken, once), 401, 'invalid_client', 'actor_replayed');
});

test('a replayed ID-JAG is refused', async () => {
  const jag = await idJag();
  assert.equal((await jwtBearer(jag, await actorAssertion('exchange-client'))).status, 200);
  await refused(jwtBearer(jag, await actorAssertion('exchange-client')), 400, 'invalid_grant', 'assertion_replayed');
});

test('an ID-JAG with the wrong aud, resource or client_id is refused', async () => {
  await refused(jwtBearer(await idJag({ aud: 'https://other-as.example' }), await actorAssertion('exchange-client')),
    400, 'invalid_grant', 'subject_wrong_audience');
  await refused(jwtBearer(await idJag({ resource: 'https://other.example/mcp' }), await actorAssertion('exchange-client')),
    400, 'invalid_target', 'wrong_resource');
  await refused(jwtBearer(await idJag(), await actorAssertion('exchange-client'), { resource: 'https://other.example/mcp' }),
    400, 'invalid_target', 'wrong_resource');
  await refused(jwtBearer(await idJag({ client_id: 'someone-else' }), await actorAssertion('exchange-client')),
    400, 'invalid_grant', 'wrong_client');
});

test('an expired ID-JAG, and one living over 5 minutes, are refused', async () => {
  await refused(jwtBearer(await idJag({ iat: now() - 400, exp: now() - 100 }), await actorAssertion('exchange-client')),
    400, 'invalid_grant', 'subject_expired');
  await refused(jwtBearer(await idJag({ exp: now() + 1200 }), await actorAssertion('exchange-client')),
    400, 'invalid_grant', 'subject_lifetime_too_long');
});

test('an ID-JAG from an untrusted issuer is refused', async () => {
  const jag = await sign(keys.stranger, {
    iss: 'https://stranger.example', sub: 'dana@example.com', aud: issuer, client_id: 'exchange-client',
    resource: `${issuer}/mcp`, iat: now(), exp: now() + 200, jti: crypto.randomUUID(),
  }, { typ: 'oauth-id-jag+jwt' });
  await refused(jwtBearer(jag, await actorAssertion('exchange-client')), 400, 'invalid_grant', 'subject_untrusted_issuer');
  // Claiming the trusted issuer but signed with another key.
  const forged = await sign({ ...keys.stranger, kid: 'enterprise-key' }, {
    iss: ENTERPRISE, sub: 'dana@example.com', aud: issuer, client_id: 'exchange-client',
    resource: `${issuer}/mcp`, iat: now(), exp: now() + 200, jti: crypto.randomUUID(),
  }, { typ: 'oauth-id-jag+jwt' });
  await refused(jwtBearer(forged, await actorAssertion('exchange-client')), 400, 'invalid_grant', 'subject_bad_signature');
});

test('an ID-JAG without client authentication is refused', async () => {
  await refused(jwtBearer(await idJag(), undefined), 401, 'invalid_client', 'actor_missing');
});

test('an actor assertion signed by another agent\'s key is refused', async () => {
  // other-bot's key, other-bot's kid, claiming to be exchange-bot.
  await refused(exchange(idToken, await actorAssertion('exchange-bot', keys.other)), 401, 'invalid_client', 'actor_unknown_kid');
  // other-bot's key under exchange-bot's kid.
  await refused(exchange(idToken, await actorAssertion('exchange-bot', { ...keys.other, kid: 'bot-key' })),
    401, 'invalid_client', 'actor_bad_signature');
});

test('a JWT-SVID of an untrusted SPIFFE domain is refused', async () => {
  const evil = await keyPair('EdDSA', 'domain-key');
  await refused(exchange(idToken, await svid('spiffe://evil.example.org/agents/sub', evil)), 401, 'invalid_client',
    'actor_untrusted_issuer');
  await refused(exchange(idToken, await svid(SPIFFE_SUB, evil)), 401, 'invalid_client', 'actor_bad_signature');
});

test('an agent acting for a person outside its allow_acting is refused', async () => {
  await refused(exchange(idToken, await actorAssertion('other-bot', keys.other)), 400, 'invalid_grant', 'not_allowed_to_act');
});

test('a delegation exchange wider or longer than its parent is refused', async () => {
  sql("SELECT warden.grant('sub-bot', 'fixture/echo')");
  await refused(exchange(parentToken, await svid(), { scope: 'fixture/echo' }, 'access_token'),
    400, 'invalid_scope', 'wider_than_parent');
  await refused(exchange(parentToken, await svid(), { scope: 'fixture/*' }, 'access_token'),
    400, 'invalid_scope', 'wider_than_parent');
  await refused(exchange(parentToken, await svid(), { scope: 'fixture/whoami', expires_in: '86400' }, 'access_token'),
    400, 'invalid_grant', 'longer_than_parent');
});

test('alg confusion: none and HS256 keyed with the public key are refused', async () => {
  const claims = { iss: 'exchange-bot', sub: 'exchange-bot', aud: issuer, iat: now(), exp: now() + 60, jti: crypto.randomUUID() };
  const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'bot-key' }))}.${b64url(JSON.stringify(claims))}.`;
  await refused(exchange(idToken, none), 401, 'invalid_client', 'actor_alg_not_allowed');
  const secret = new TextEncoder().encode(JSON.stringify(keys.bot.jwk));
  const hs = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'bot-key' }).sign(secret);
  await refused(exchange(idToken, hs), 401, 'invalid_client', 'actor_alg_not_allowed');
  const hsSubject = await new jose.SignJWT({ iss: idp.issuer, sub: 'alice', email: 'alice@example.com', aud: 'warden', exp: now() + 60 })
    .setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JSON.stringify(idpJwk())));
  await refused(exchange(hsSubject, await actorAssertion('exchange-bot')), 400, 'invalid_grant', 'subject_alg_not_allowed');
});

function idpJwk() {
  return JSON.parse(sqlValue("SELECT jwk FROM warden.idp_keys k JOIN warden.identity_providers p USING (idp_id) WHERE p.name = 'fixture-idp' LIMIT 1"));
}

test('oversize tokens are refused before decoding', async () => {
  const big = await sign(keys.bot, { iss: 'exchange-bot', sub: 'exchange-bot', aud: issuer, iat: now(), exp: now() + 60,
    jti: crypto.randomUUID(), pad: 'x'.repeat(40000) });
  await refused(exchange(idToken, big), 401, 'invalid_client', 'actor_too_large');
});

test('clock skew beyond 60 s is refused', async () => {
  await refused(exchange(idToken, await actorAssertion('exchange-bot', keys.bot, { iat: now() + 120, exp: now() + 200 })),
    401, 'invalid_client', 'actor_issued_in_the_future');
  await refused(exchange(idToken, await actorAssertion('exchange-bot', keys.bot, { iat: now() - 200, exp: now() - 61 })),
    401, 'invalid_client', 'actor_expired');
  // 30 s of skew is tolerated.
  const r = await exchange(idToken, await actorAssertion('exchange-bot', keys.bot, { iat: now() + 30, exp: now() + 150 }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

test('a stolen ID token without the agent\'s key starts nothing', async () => {
  await refused(token({ grant_type: TOKEN_EXCHANGE, subject_token: idToken, subject_token_type: `${TT}id_token` }),
    400, 'invalid_request', 'gateway_no_actor_token');
  const forgedActor = await keyPair('ES256', 'bot-key');
  await refused(exchange(idToken, await actorAssertion('exchange-bot', forgedActor)), 401, 'invalid_client', 'actor_bad_signature');
});
