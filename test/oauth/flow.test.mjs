// warden-mcp as the OAuth 2.1 authorization server of /mcp (issue 13), end to end with real
// components: a fresh database, warden-mcp with --issuer, the fixture OpenID provider
// (oidc-provider), Debian's chromium signing in and approving the consent page, an MCP upstream
// (test/e2e/fixture-upstream.mjs), and an OAuth client written with plain fetch following the
// MCP authorization spec (401 -> RFC 9728 -> RFC 8414 -> /authorize with PKCE -> /token).
// Then the attacks, each a test named for it.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 flow.test.mjs
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

let catcher;
let idp;
let session;
let upstream;
let gateway;
let issuer;

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const challengeOf = (verifier) => b64url(crypto.createHash('sha256').update(verifier).digest());


before(async () => {
  freshDatabase();
  catcher = await startRedirectCatcher();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [`${issuer}/callback`] } });
  upstream = await startProcess('node', [path.join(here, '../e2e/fixture-upstream.mjs')], /listening (\d+)/);
  sql(`SELECT warden.add_human('owner@example.com', 'Owner');
       SELECT warden.add_agent('oauth-bot', 'owner@example.com');
       SELECT warden.add_server('fixture', 'http://127.0.0.1:${upstream.match[1]}/mcp', 'http');
       SELECT warden.grant('oauth-bot', 'fixture/whoami');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"jit": true, "subject_claim": "email", "email_claim": "email"}');
       SELECT warden.register_client('oauth-bot', 'flow-client', ARRAY[${quote(catcher.redirectUri)}]);`);
  // A small DPoP replay cache, so the DPoP test can show that proofs sent with made-up tokens
  // or codes do not fill it (each is remembered only once its token or grant is accepted).
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer,
    '--oauth-allow-http-loopback', '--dpop-replay-capacity', String(DPOP_CAPACITY)], undefined, {});
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  stop(gateway?.child);
  stop(upstream?.child);
  await idp?.close();
  await catcher?.close();
});

// What an MCP client learns from the 401 (RFC 9728, then RFC 8414).
async function discover() {
  const r = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
  });
  assert.equal(r.status, 401);
  const challenge = r.headers.get('www-authenticate');
  const resourceMetadataUrl = challenge.match(/resource_metadata="([^"]+)"/)[1];
  const resource = await (await fetch(resourceMetadataUrl)).json();
  const as = resource.authorization_servers[0];
  const meta = await (await fetch(`${as}/.well-known/oauth-authorization-server`)).json();
  return { resource, meta };
}

function authorizeUrl(meta, resource, overrides = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const params = {
    response_type: 'code',
    client_id: 'flow-client',
    redirect_uri: catcher.redirectUri,
    code_challenge: challengeOf(verifier),
    code_challenge_method: 'S256',
    state: b64url(crypto.randomBytes(16)),
    resource: resource.resource,
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v === undefined) delete params[k];
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams(params);
  return { url: url.href, verifier, params };
}

// The browser part: sign in at the IdP, land on warden's consent page. Returns the page.
async function toConsent(url, name) {
  const page = await session.page();
  await signInAtIdp(session, page, {
    url, login: idp.user.accountId, password: idp.user.password, until: `${issuer}/callback`, name,
  });
  await page.waitForSelector('#approve, #pending');
  return page;
}

// Clicks a consent button and returns what the client's redirect URI received.
async function decide(page, button = '#approve') {
  catcher.seen.length = 0;
  await Promise.all([page.waitForFunction((prefix) => location.href.startsWith(prefix),
    { polling: 100 }, catcher.redirectUri), page.click(button)]);
  await page.close();
  return catcher.seen.at(-1);
}

async function codeFlow(name, overrides = {}) {
  const { meta, resource } = await discover();
  const request = authorizeUrl(meta, resource, overrides);
  const page = await toConsent(request.url, name);
  const redirect = await decide(page);
  return { meta, resource, request, redirect };
}

async function tokenRequest(meta, fields, headers = {}) {
  const r = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
  return { status: r.status, headers: r.headers, body: await r.json() };
}

function redeem(flow, overrides = {}, headers = {}) {
  return tokenRequest(flow.meta, {
    grant_type: 'authorization_code',
    code: flow.redirect.code,
    code_verifier: flow.request.verifier,
    client_id: 'flow-client',
    redirect_uri: catcher.redirectUri,
    resource: flow.resource.resource,
    ...overrides,
  }, headers);
}

// An MCP session and one tools/call through /mcp with the access token.
async function callWhoami(accessToken, scheme = 'Bearer', proof = undefined) {
  const headers = (p) => ({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `${scheme} ${accessToken}`,
    ...(p ? { dpop: p() } : {}),
  });
  const init = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: headers(proof),
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'oauth-flow', version: '0' } },
    }),
  });
  if (init.status !== 200) return { status: init.status, body: await init.text() };
  const sessionId = init.headers.get('mcp-session-id');
  const call = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { ...headers(proof), 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture__whoami', arguments: {} } }),
  });
  const text = await call.text();
  const data = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
  return { status: call.status, response: data.at(-1) ?? (text ? JSON.parse(text) : undefined) };
}

test('metadata: RFC 9728 names the issuer, RFC 8414 and JWKS are served', async () => {
  const { resource, meta } = await discover();
  assert.equal(resource.resource, `${issuer}/mcp`);
  assert.deepEqual(resource.authorization_servers, [issuer]);
  assert.equal(meta.issuer, issuer);
  assert.equal(meta.authorization_endpoint, `${issuer}/authorize`);
  assert.equal(meta.token_endpoint, `${issuer}/token`);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  const oidc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(oidc.issuer, issuer);
  const jwks = await (await fetch(`${issuer}/.well-known/jwks.json`)).json();
  assert.ok(Array.isArray(jwks.keys));
  assert.equal(jwks.paserk, undefined);
  // When the keys cannot be read, anyone asking learns that, not the database's words.
  sql('ALTER FUNCTION warden.public_keys() RENAME TO public_keys_away');
  try {
    const down = await fetch(`${issuer}/.well-known/jwks.json`);
    assert.equal(down.status, 503);
    const body = await down.json();
    assert.equal(body.error, 'temporarily_unavailable');
    assert.doesNotMatch(JSON.stringify(body), /public_keys|function|warden\./);
  } finally {
    sql('ALTER FUNCTION warden.public_keys_away() RENAME TO public_keys');
  }
  assert.equal((await fetch(`${issuer}/.well-known/jwks.json`)).status, 200);
});

test('the whole flow: sign in at the IdP, consent, code, token, a governed call attributed to the person, refresh', async () => {
  const { meta, resource } = await discover();
  const request = authorizeUrl(meta, resource);
  const page = await toConsent(request.url, 'flow');
  // What the person sees: the agent, who they are signed in as, the tools.
  assert.equal(await page.$eval('#agent', (e) => e.textContent), 'oauth-bot');
  assert.equal(await page.$eval('#human', (e) => e.textContent), 'alice@example.com');
  assert.deepEqual(await page.$$eval('#tools li', (l) => l.map((e) => e.textContent)), ['fixture/whoami']);
  assert.ok(!page.url().includes('consent_token'));
  await session.screenshot(page, 'consent');
  const redirect = await decide(page);
  assert.equal(redirect.state, request.params.state);
  assert.equal(redirect.iss, issuer);
  assert.match(redirect.code, /^[A-Za-z0-9_-]{43}$/);

  const flow = { meta, resource, request, redirect };
  const tokens = await redeem(flow);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(tokens.headers.get('cache-control'), 'no-store');
  assert.equal(tokens.body.token_type, 'Bearer');
  assert.ok(tokens.body.refresh_token);

  const called = await callWhoami(tokens.body.access_token);
  assert.equal(called.status, 200, JSON.stringify(called));
  assert.ok(called.response.result, JSON.stringify(called.response));
  const seen = await settled(
    () => sqlValue(`SELECT human || ' ' || agent || ' ' || allowed FROM warden.events
                    WHERE kind = 'call' AND tool = 'whoami' ORDER BY at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, 'alice@example.com oauth-bot true');

  // Refresh rotates; the old refresh token presented again kills the chain.
  const refreshed = await tokenRequest(meta, {
    grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: 'flow-client',
  });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.notEqual(refreshed.body.refresh_token, tokens.body.refresh_token);
  assert.equal((await callWhoami(refreshed.body.access_token)).status, 200);
  const reused = await tokenRequest(meta, {
    grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: 'flow-client',
  });
  assert.equal(reused.status, 400);
  assert.equal(reused.body.error, 'invalid_grant');
  const dead = await callWhoami(refreshed.body.access_token);
  assert.equal(dead.status, 401, JSON.stringify(dead));
});

test('with the provider\'s keys pinned, the database verifies an agent\'s sign-in itself', async () => {
  // Pinned: a key the provider does not sign with. warden-mcp verifies the token (it fetched
  // the real JWKS), but the database does not take its word: refused, audited.
  const { publicKey } = await jose.generateKeyPair('ES256');
  const stranger = { ...(await jose.exportJWK(publicKey)), kid: 'not-the-providers', use: 'sig' };
  sql(`SELECT warden.pin_identity_provider_keys('fixture-idp', ${quote(JSON.stringify({ keys: [stranger] }))})`);
  try {
    const { meta, resource } = await discover();
    const request = authorizeUrl(meta, resource);
    const page = await session.page();
    catcher.seen.length = 0;
    await signInAtIdp(session, page, {
      url: request.url, login: idp.user.accountId, password: idp.user.password, until: catcher.redirectUri, name: 'pinned-wrong',
    });
    await page.close();
    assert.equal(catcher.seen.at(-1)?.error, 'access_denied');
    assert.equal(sqlValue(`SELECT reason FROM warden.events WHERE kind = 'sign_in_refused' ORDER BY at DESC LIMIT 1`),
      'id_token_not_verified_by_database: unknown_kid');

    // Pinned: the provider's own JWKS. The same sign-in goes through.
    sql(`SELECT warden.pin_identity_provider_keys('fixture-idp', ${quote(JSON.stringify(await idp.jwks()))})`);
    const { redirect } = await codeFlow('pinned');
    assert.match(redirect.code, /^[A-Za-z0-9_-]{43}$/);
  } finally {
    sql(`SELECT warden.pin_identity_provider_keys('fixture-idp', NULL)`);
  }
});

test('attack: wrong PKCE verifier is refused', async () => {
  const flow = await codeFlow('pkce');
  const wrong = await redeem(flow, { code_verifier: b64url(crypto.randomBytes(32)) });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
});

test('attack: code replay is refused and kills the chain the code issued', async () => {
  const flow = await codeFlow('replay');
  const first = await redeem(flow);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const again = await redeem(flow);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  assert.equal((await callWhoami(first.body.access_token)).status, 401);
});

test('attack: redirect_uri not registered gets an error page, never a redirect', async () => {
  const { meta, resource } = await discover();
  const { url } = authorizeUrl(meta, resource, { redirect_uri: 'http://127.0.0.1:9/evil' });
  const r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('location'), null);
  assert.match(await r.text(), /redirect_uri is not registered/);
});

test('attack: missing state is sent back to the client as invalid_request', async () => {
  const { meta, resource } = await discover();
  const { url } = authorizeUrl(meta, resource, { state: undefined });
  const r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 302);
  const location = new URL(r.headers.get('location'));
  assert.equal(location.origin + location.pathname, catcher.redirectUri);
  assert.equal(location.searchParams.get('error'), 'invalid_request');
  assert.equal(location.searchParams.get('iss'), issuer);
});

test('attack: a resource other than this gateway\'s /mcp is refused as invalid_target', async () => {
  const { meta, resource } = await discover();
  const { url } = authorizeUrl(meta, resource, { resource: 'https://other.example/mcp' });
  const r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 302);
  const location = new URL(r.headers.get('location'));
  assert.equal(location.origin + location.pathname, catcher.redirectUri);
  assert.equal(location.searchParams.get('error'), 'invalid_target');
});

test('attack: the consent page cannot be framed and a POST with a wrong CSRF token is refused', async () => {
  const { meta, resource } = await discover();
  const { url } = authorizeUrl(meta, resource);
  const page = await session.page();
  let headers;
  page.on('response', (r) => { if (r.url().startsWith(`${issuer}/callback`)) headers = r.headers(); });
  await signInAtIdp(session, page, {
    url, login: idp.user.accountId, password: idp.user.password, until: `${issuer}/callback`, name: 'csrf',
  });
  await page.waitForSelector('#approve');
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['cache-control'], 'no-store');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  const requestId = await page.$eval('input[name=request_id]', (e) => e.value);
  const token = await page.$eval('input[name=consent_token]', (e) => e.value);
  assert.ok(token.length >= 32);
  const forged = await fetch(`${issuer}/consent`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ request_id: requestId, consent_token: b64url(crypto.randomBytes(32)), decision: 'approve' }),
  });
  assert.equal(forged.status, 400);
  assert.equal(forged.headers.get('location'), null);
  const crossSite = await fetch(`${issuer}/consent`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    body: new URLSearchParams({ request_id: requestId, consent_token: token, decision: 'approve' }),
  });
  assert.equal(crossSite.status, 403);
  await page.close();
});

test('attack: a self-registered (pending) agent gets no code', async () => {
  const { meta, resource } = await discover();
  const reg = await fetch(meta.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [catcher.redirectUri], client_name: 'Shadow Tool', token_endpoint_auth_method: 'none' }),
  });
  assert.equal(reg.status, 201);
  const client = await reg.json();
  assert.equal(client.agent_status, 'pending');
  const request = authorizeUrl(meta, resource, { client_id: client.client_id });
  const page = await toConsent(request.url, 'pending');
  assert.ok(await page.$('#pending'));
  assert.equal(await page.$('#approve'), null);
  const redirect = await decide(page, '#deny');
  assert.equal(redirect.error, 'access_denied');
  assert.equal(redirect.code, undefined);
});

test('revocation (RFC 7009): revoking the refresh token ends the chain; Deny sends access_denied', async () => {
  const flow = await codeFlow('revoke');
  const tokens = await redeem(flow);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  const r = await fetch(flow.meta.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.body.refresh_token, client_id: 'flow-client' }),
  });
  assert.equal(r.status, 200);
  assert.equal((await callWhoami(tokens.body.access_token)).status, 401);
  const refreshed = await tokenRequest(flow.meta, {
    grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: 'flow-client',
  });
  assert.equal(refreshed.body.error, 'invalid_grant');

  const { meta, resource } = await discover();
  const request = authorizeUrl(meta, resource);
  const page = await toConsent(request.url, 'deny');
  const denied = await decide(page, '#deny');
  assert.equal(denied.error, 'access_denied');
  assert.equal(denied.state, request.params.state);
  assert.equal(denied.code, undefined);
});

test('the official MCP TypeScript SDK client (client/auth.js) signs in through warden and calls a tool', async () => {
  const sdk = path.join(here, '../e2e/node_modules/@modelcontextprotocol/sdk/dist/esm/client');
  const { Client } = await import(`${sdk}/index.js`);
  const { StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`);
  const { UnauthorizedError } = await import(`${sdk}/auth.js`);
  let verifier;
  let tokens;
  let authorizationUrl;
  const provider = {
    get redirectUrl() { return catcher.redirectUri; },
    get clientMetadata() {
      return {
        redirect_uris: [catcher.redirectUri], client_name: 'sdk client', token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      };
    },
    state: () => b64url(crypto.randomBytes(16)),
    clientInformation: () => ({ client_id: 'flow-client' }),
    tokens: () => tokens,
    saveTokens: (t) => { tokens = t; },
    redirectToAuthorization: (url) => { authorizationUrl = url; },
    saveCodeVerifier: (v) => { verifier = v; },
    codeVerifier: () => verifier,
  };
  const url = new URL(`${issuer}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await assert.rejects(new Client({ name: 'sdk-oauth', version: '1.0.0' }).connect(first), UnauthorizedError);
  assert.ok(authorizationUrl?.href.startsWith(`${issuer}/authorize?`), String(authorizationUrl));
  assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
  const page = await toConsent(authorizationUrl.href, 'sdk');
  const redirect = await decide(page);
  assert.ok(redirect.code, JSON.stringify(redirect));
  await first.finishAuth(redirect.code);
  assert.ok(tokens?.access_token);
  const client = new Client({ name: 'sdk-oauth', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  const result = await client.callTool({ name: 'fixture__whoami', arguments: {} });
  assert.ok(result.content?.length, JSON.stringify(result));
  await client.close();
});

test('the official MCP TypeScript SDK client registers itself (RFC 7591), is approved, signs in and calls as the person', async () => {
  const { sdkSignInAndCall } = await import('./common.mjs');
  let agent;
  const { clientInformation, result } = await sdkSignInAndCall({
    issuer, redirectUri: catcher.redirectUri, catcher, session, idp, name: 'sdk-dcr',
    // What an administrator does on seeing the new pending agent in the inventory.
    beforeSignIn: async (info) => {
      const [registration, name, status, grants] = sql(`SELECT oc.registration, a.name, a.status,
          (SELECT count(*) FROM warden.grants g WHERE g.agent_id = a.agent_id)
        FROM warden.oauth_clients oc JOIN warden.agents a USING (agent_id)
        WHERE oc.client_id = ${quote(info.client_id)}`)[0];
      assert.deepEqual([registration, status, grants], ['dynamic', 'pending', '0']);
      agent = name;
      sql(`SELECT warden.approve_agent(${quote(agent)}, 'reviewed'); SELECT warden.grant(${quote(agent)}, 'fixture/whoami');`);
    },
  });
  assert.match(clientInformation.client_id, /^warden-/);
  assert.ok(result.content?.length, JSON.stringify(result));
  const seen = await settled(
    () => sqlValue(`SELECT human || ' ' || agent || ' ' || allowed FROM warden.events
                    WHERE kind = 'call' AND tool = 'whoami' AND agent = ${quote(agent)} ORDER BY at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, `alice@example.com ${agent} true`);
});

// A DPoP proof (RFC 9449) made with jose.
const DPOP_CAPACITY = 40;

async function dpopProof(keys, htm, htu, extra = {}) {
  const jwk = await jose.exportJWK(keys.publicKey);
  return new jose.SignJWT({ htm, htu, jti: crypto.randomUUID(), ...extra })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
    .setIssuedAt()
    .sign(keys.privateKey);
}

test('DPoP: a bound token works with fresh proofs; a replayed proof is refused', async () => {
  const keys = await jose.generateKeyPair('ES256');
  const flow = await codeFlow('dpop');
  // Anyone can sign a proof with a key of their own: more such proofs than the replay cache
  // holds, with made-up codes at /token and made-up tokens at /mcp, are refused and forgotten,
  // so the real client below is not shut out (replay_cache_full, before).
  const stranger = await jose.generateKeyPair('ES256');
  for (let i = 0; i < DPOP_CAPACITY + 10; i++) {
    const made = await tokenRequest(flow.meta, {
      grant_type: 'authorization_code', code: `made-up-${i}`, code_verifier: 'x'.repeat(43),
      client_id: 'flow-client', redirect_uri: catcher.redirectUri,
    }, { dpop: await dpopProof(stranger, 'POST', `${issuer}/token`) });
    assert.equal(made.status, 400);
    const fake = `v4.local.made-up-${i}`;
    const fakeAth = b64url(crypto.createHash('sha256').update(fake).digest());
    const refused = await fetch(`${issuer}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
        authorization: `DPoP ${fake}`, dpop: await dpopProof(stranger, 'POST', `${issuer}/mcp`, { ath: fakeAth }) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'stranger', version: '0' } } }),
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
  }
  const proof = await dpopProof(keys, 'POST', `${issuer}/token`);
  const tokens = await redeem(flow, {}, { dpop: proof });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(tokens.body.token_type, 'DPoP');
  // The same proof again (a replay) is refused.
  const replay = await tokenRequest(flow.meta, {
    grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: 'flow-client',
  }, { dpop: proof });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_dpop_proof');
  // Bearer use of a DPoP-bound token is refused; with a proof per request it works.
  assert.equal((await callWhoami(tokens.body.access_token)).status, 401);
  const ath = b64url(crypto.createHash('sha256').update(tokens.body.access_token).digest());
  let proofs = [];
  const next = () => proofs.shift();
  proofs = [await dpopProof(keys, 'POST', `${issuer}/mcp`, { ath }), await dpopProof(keys, 'POST', `${issuer}/mcp`, { ath })];
  const called = await callWhoami(tokens.body.access_token, 'DPoP', next);
  assert.equal(called.status, 200, JSON.stringify(called));
  assert.ok(called.response.result, JSON.stringify(called.response));

  // A session opened with a proof does not take the token as a bearer token afterwards: its
  // listings, its GET stream (the upstream's requests to the agent) and its DELETE all need the
  // proof too, or a stolen DPoP-bound token would be a bearer token on its owner's session.
  const token = tokens.body.access_token;
  const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { ...json, authorization: `DPoP ${token}`, dpop: await dpopProof(keys, 'POST', `${issuer}/mcp`, { ath }) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'dpop-session', version: '0' } } }),
  });
  assert.equal(init.status, 200, await init.text());
  const session = { 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' };
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const asBearer = { ...json, ...session, authorization: `Bearer ${token}` };
  const listed = await fetch(`${issuer}/mcp`, { method: 'POST', headers: asBearer, body: list });
  await listed.body?.cancel();
  assert.equal(listed.status, 401, 'the session listed tools for the token used as a bearer token');
  const stream = await fetch(`${issuer}/mcp`, { method: 'GET', headers: { ...asBearer, accept: 'text/event-stream' } });
  await stream.body?.cancel();
  assert.equal(stream.status, 401, "the session's stream opened for the token used as a bearer token");
  const ended = await fetch(`${issuer}/mcp`, { method: 'DELETE', headers: asBearer });
  await ended.body?.cancel();
  assert.equal(ended.status, 401, 'the session was ended by the token used as a bearer token');
  const proven = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { ...json, ...session, authorization: `DPoP ${token}`, dpop: await dpopProof(keys, 'POST', `${issuer}/mcp`, { ath }) },
    body: list,
  });
  assert.equal(proven.status, 200, 'with the proof the session still works');
  await proven.body?.cancel();
  // A resource proof is spent once its token is accepted: the same proof again is refused.
  const once = await dpopProof(keys, 'POST', `${issuer}/mcp`, { ath });
  const withProof = (p) => fetch(`${issuer}/mcp`, {
    method: 'POST', headers: { ...json, ...session, authorization: `DPoP ${token}`, dpop: p }, body: list });
  const first = await withProof(once);
  await first.body?.cancel();
  assert.equal(first.status, 200);
  const replayed = await withProof(once);
  await replayed.body?.cancel();
  assert.equal(replayed.status, 401, 'a replayed resource proof was accepted');
  assert.match(replayed.headers.get('www-authenticate') ?? '', /replayed_proof/);
});

// A provider that signs with the fixture IdP's keys but answers every sign-in at once, with an
// ID token whose claims the test chooses: what a compromised or confused provider could send.
async function startForgingIdp(claimsFor) {
  const http = await import('node:http');
  const jwks = await idp.jwks();
  const pending = new Map();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const base = `http://127.0.0.1:${server.address().port}`;
    if (url.pathname === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        issuer: base, authorization_endpoint: `${base}/auth`, token_endpoint: `${base}/token`,
        jwks_uri: `${base}/jwks`, response_types_supported: ['code'],
        subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
      }));
    } else if (url.pathname === '/jwks') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwks));
    } else if (url.pathname === '/auth') {
      const code = crypto.randomUUID();
      pending.set(code, { nonce: url.searchParams.get('nonce'), clientId: url.searchParams.get('client_id') });
      res.statusCode = 302;
      res.setHeader('location', `${url.searchParams.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(url.searchParams.get('state'))}`);
      res.end();
    } else if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const code = new URLSearchParams(body).get('code');
      const sent = pending.get(code);
      const now = Math.floor(Date.now() / 1000);
      const idToken = await idp.signToken({
        iss: base, aud: sent.clientId, sub: 'mallory', email: 'alice@example.com', nonce: sent.nonce,
        iat: now, exp: now + 300, ...claimsFor(sent),
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: 'x', token_type: 'Bearer', id_token: idToken }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { issuer: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

test('attack: an ID token with the wrong nonce is refused and the client told access_denied', async () => {
  const forging = await startForgingIdp(() => ({ nonce: 'not-the-nonce-warden-sent' }));
  const port = await freePort();
  const issuer2 = `http://127.0.0.1:${port}`;
  sql(`SELECT warden.add_identity_provider('forging-idp', ${quote(forging.issuer)}, 'warden', NULL,
         '{"jit": true, "subject_claim": "email", "email_claim": "email"}')`);
  const gw2 = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer2,
    '--idp', 'forging-idp', '--oauth-allow-http-loopback']);
  try {
    const verifier = b64url(crypto.randomBytes(32));
    const url = new URL(`${issuer2}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: 'flow-client', redirect_uri: catcher.redirectUri,
      code_challenge: challengeOf(verifier), code_challenge_method: 'S256', state: 'nonce-state',
      resource: `${issuer2}/mcp`,
    });
    let r = await fetch(url, { redirect: 'manual' });
    assert.equal(r.status, 302);
    r = await fetch(r.headers.get('location'), { redirect: 'manual' });  // the forging IdP
    assert.equal(r.status, 302);
    r = await fetch(r.headers.get('location'), { redirect: 'manual' });  // warden's /callback
    assert.equal(r.status, 302, await r.text());
    const back = new URL(r.headers.get('location'));
    assert.equal(back.origin + back.pathname, catcher.redirectUri);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), 'nonce-state');
    assert.equal(back.searchParams.get('code'), null);
  } finally {
    stop(gw2.child);
    await forging.close();
  }
});
