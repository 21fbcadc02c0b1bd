// RFC 7591 dynamic registration at a running warden-mcp: what it refuses (and how, in RFC 7591
// error bodies), that a registered client is an agent in status pending with no grants (shadow
// AI made visible), that a pending agent gets nothing at /authorize nor /mcp, and that once an
// administrator approves and grants it, the same client signs a person in (oidc-provider and
// Debian's chromium) and calls a tool. Registrations are rate-limited per address.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 register.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIdp } from './fixture-idp.mjs';
import { launchBrowser, signInAtIdp } from './browser.mjs';
import { startRedirectCatcher } from './redirect-catcher.mjs';
import { freePort, authorizeRequest } from './common.mjs';
import {
  freshDatabase, sql, sqlValue, quote, startProcess, startGateway, stop, settled,
} from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');

let catcher;
let idp;
let upstream;
let gateway;
let issuer;
let session;

before(async () => {
  freshDatabase();
  catcher = await startRedirectCatcher();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [`${issuer}/callback`] } });
  upstream = await startProcess('node', [path.join(here, '../e2e/fixture-upstream.mjs')], /listening (\d+)/);
  sql(`SELECT warden.add_server('fixture', 'http://127.0.0.1:${upstream.match[1]}/mcp', 'http');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"jit": true, "subject_claim": "email", "email_claim": "email"}');`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer,
    '--oauth-allow-http-loopback']);
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  stop(gateway?.child);
  stop(upstream?.child);
  await idp?.close();
  await catcher?.close();
});

async function register(body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(`${issuer}/register`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, body: json, text };
}

const agentsNow = () => Number(sqlValue('SELECT count(*) FROM warden.agents'));

let registrations = 0;  // clients registered so far (this address, this window)
let shadow;             // the client registered by the good case

test('a registration becomes a pending agent with no grants, visible in the inventory', async () => {
  const r = await register({
    redirect_uris: [catcher.redirectUri], client_name: 'Shadow Tool', token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  });
  registrations += 1;
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.match(r.body.client_id, /^warden-/);
  assert.equal(r.body.client_secret, undefined);
  assert.equal(r.body.token_endpoint_auth_method, 'none');
  assert.deepEqual(r.body.redirect_uris, [catcher.redirectUri]);
  assert.equal(r.body.agent_status, 'pending');
  shadow = r.body;
  const row = sql(`SELECT a.status, a.name, (SELECT count(*) FROM warden.grants g WHERE g.agent_id = a.agent_id),
                          oc.registration
                   FROM warden.oauth_clients oc JOIN warden.agents a USING (agent_id)
                   WHERE oc.client_id = ${quote(shadow.client_id)}`)[0];
  assert.deepEqual(row, ['pending', shadow.agent, '0', 'dynamic']);
  assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'client_registered'
                         AND agent = ${quote(shadow.agent)}`), '1');
});

const refused = [
  ['a redirect URI over http to a non-loopback host', { redirect_uris: ['http://evil.example/cb'] }, 'invalid_redirect_uri'],
  ['a redirect URI with a fragment', { redirect_uris: ['https://app.example/cb#x'] }, 'invalid_redirect_uri'],
  ['a javascript: redirect URI', { redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
  ['a redirect URI with userinfo', { redirect_uris: ['https://app.example@evil.example/cb'] }, 'invalid_redirect_uri'],
  ['no redirect URIs', { client_name: 'x' }, 'invalid_redirect_uri'],
  ['21 redirect URIs', { redirect_uris: Array.from({ length: 21 }, (_, i) => `https://app.example/${i}`) }, 'invalid_redirect_uri'],
  ['a confidential client (client_secret_basic)', { redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_basic' }, 'invalid_client_metadata'],
  ['the implicit grant', { redirect_uris: ['https://app.example/cb'], grant_types: ['implicit'] }, 'invalid_client_metadata'],
  ['response_type token', { redirect_uris: ['https://app.example/cb'], response_types: ['token'] }, 'invalid_client_metadata'],
  ['a client_name with control characters', { redirect_uris: ['https://app.example/cb'], client_name: 'a\u0007b' }, 'invalid_client_metadata'],
  ['a JSON array', [], 'invalid_client_metadata'],
  ['not JSON', '{"redirect_uris": [', 'invalid_client_metadata'],
];

for (const [name, body, error] of refused) {
  test(`/register refuses ${name} with ${error} and creates no agent`, async () => {
    const before = agentsNow();
    const r = await register(body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, error, r.text);
    assert.equal(typeof r.body.error_description, 'string');
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(agentsNow(), before);
  });
}

test('/register refuses an oversize body (16 KiB) before parsing, and a GET', async () => {
  const before = agentsNow();
  const big = await register({ redirect_uris: ['https://app.example/cb'], client_name: 'x', junk: 'y'.repeat(20000) });
  assert.equal(big.status, 400, big.text);
  assert.equal(big.body.error, 'invalid_client_metadata');
  assert.match(big.body.error_description, /16 KiB/);
  const huge = await register(`{"redirect_uris": ["https://app.example/cb"], "x": "${'z'.repeat(5 * 1024 * 1024)}"}`);
  assert.equal(huge.status, 413);
  const get = await fetch(`${issuer}/register`);
  assert.equal(get.status, 405);
  assert.equal(agentsNow(), before);
});

test('a pending agent gets no code at /authorize, and nothing at /mcp', async () => {
  const request = authorizeRequest(issuer, shadow.client_id, catcher.redirectUri);
  const page = await session.page();
  await signInAtIdp(session, page, {
    url: request.url, login: idp.user.accountId, password: idp.user.password, until: `${issuer}/callback`, name: 'register-pending',
  });
  await page.waitForSelector('#pending');
  await session.screenshot(page, 'consent-pending');
  assert.equal(await page.$('#approve'), null);
  catcher.seen.length = 0;
  await Promise.all([page.waitForFunction((prefix) => location.href.startsWith(prefix), { polling: 100 }, catcher.redirectUri),
    page.click('#deny')]);
  await page.close();
  const redirect = catcher.seen.at(-1);
  assert.equal(redirect.error, 'access_denied');
  assert.equal(redirect.code, undefined);
  // No chain can be started for it, by the flow or by hand.
  assert.equal(sqlValue(`SELECT count(*) FROM warden.chains c JOIN warden.agents a ON a.agent_id = c.root_agent_id
                         WHERE a.name = ${quote(shadow.agent)}`), '0');
  assert.throws(() => sql(`SELECT warden.start_chain('alice@example.com', ${quote(shadow.agent)}, 'by hand')`),
    /is pending/);
  // At /mcp, what it could present (its client_id, a made-up token) is a 401 with the way in.
  for (const credential of [shadow.client_id, 'wdn_' + 'A'.repeat(43)]) {
    const r = await fetch(`${issuer}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${credential}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /resource_metadata=/);
  }
});

test('approved and granted by an administrator, the same client signs in and calls, attributed to the person', async () => {
  sql(`SELECT warden.approve_agent(${quote(shadow.agent)}, 'reviewed in the test');
       SELECT warden.grant(${quote(shadow.agent)}, 'fixture/whoami');`);
  const request = authorizeRequest(issuer, shadow.client_id, catcher.redirectUri, { scope: 'fixture/whoami' });
  const page = await session.page();
  await signInAtIdp(session, page, {
    url: request.url, login: idp.user.accountId, password: idp.user.password, until: `${issuer}/callback`, name: 'register-approved',
  });
  await page.waitForSelector('#approve');
  catcher.seen.length = 0;
  await Promise.all([page.waitForFunction((prefix) => location.href.startsWith(prefix), { polling: 100 }, catcher.redirectUri),
    page.click('#approve')]);
  await page.close();
  const redirect = catcher.seen.at(-1);
  assert.ok(redirect.code, JSON.stringify(redirect));
  const tokens = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: redirect.code, code_verifier: request.verifier,
      client_id: shadow.client_id, redirect_uri: catcher.redirectUri, resource: `${issuer}/mcp`,
    }),
  }).then((r) => r.json());
  assert.ok(tokens.access_token, JSON.stringify(tokens));
  const headers = {
    'content-type': 'application/json', accept: 'application/json, text/event-stream',
    authorization: `Bearer ${tokens.access_token}`,
  };
  const init = await fetch(`${issuer}/mcp`, {
    method: 'POST', headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'r', version: '0' } } }),
  });
  assert.equal(init.status, 200);
  const call = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture__whoami', arguments: {} } }),
  });
  assert.equal(call.status, 200);
  const seen = await settled(
    () => sqlValue(`SELECT human || ' ' || agent || ' ' || allowed FROM warden.events
                    WHERE kind = 'call' AND tool = 'whoami' ORDER BY at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, `alice@example.com ${shadow.agent} true`);
});

test('registrations are rate-limited per address (10 a minute, refused ones not counted): then 429 with Retry-After', async () => {
  const before = agentsNow();
  let accepted = 0;
  let limited;
  for (let i = 0; i < 12 && !limited; i += 1) {
    const r = await register({ redirect_uris: [catcher.redirectUri], client_name: `burst ${i}` });
    if (r.status === 429) limited = r;
    else {
      assert.equal(r.status, 201, r.text);
      accepted += 1;
    }
  }
  assert.ok(limited, 'a burst is cut off');
  assert.equal(limited.body.error, 'temporarily_unavailable');
  assert.equal(limited.headers.get('retry-after'), '60');
  assert.equal(registrations + accepted, 10);
  assert.equal(agentsNow(), before + accepted);
});
