// Client ID Metadata Documents end to end: warden-mcp fetches the https URL a client uses as its
// client_id. An https document server with a certificate from a CA this test makes (openssl),
// trusted by warden-mcp through --oauth-ca-file (verification stays on). Attacks: a client_id at
// 127.0.0.1 (literal, by name, IPv4-mapped, as a number), at 169.254.169.254 or a private
// address, a document that redirects (to the metadata address, or anywhere), a certificate from
// another CA, a document naming another client_id or too big — each refused with an error page
// and nothing registered; the good document's client becomes a pending agent, and once approved
// completes the flow (oidc-provider and Debian's chromium) and calls a tool.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 cimd.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
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

let dir;
let docs;          // the https document server (trusted CA)
let rogue;         // an https server whose certificate comes from a CA warden does not trust
let catcher;
let idp;
let upstream;
let lenient;       // warden-mcp with loopback fetches allowed (tests), trusting the test CA
let strict;        // warden-mcp as deployed: no loopback, private or link-local fetches
let session;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA (NAME-ca.pem) and a server certificate it signs for localhost and 127.0.0.1.
function makeCa(name) {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=warden test ${name} CA`,
    '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-keyout', `${name}-server.key`, '-out', `${name}-server.csr`);
  fs.writeFileSync(path.join(dir, `${name}-ext.cnf`),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', `${name}-server.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`,
    '-CAcreateserial', '-days', '2', '-out', `${name}-server.pem`, '-extfile', `${name}-ext.cnf`);
  return {
    ca: path.join(dir, `${name}-ca.pem`),
    key: fs.readFileSync(path.join(dir, `${name}-server.key`)),
    cert: fs.readFileSync(path.join(dir, `${name}-server.pem`)),
  };
}

async function startDocumentServer(tls, routes) {
  const requests = [];
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    requests.push(req.url);
    const route = routes[req.url];
    if (!route) {
      res.statusCode = 404;
      res.end();
      return;
    }
    route(req, res, base);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `https://127.0.0.1:${server.address().port}`;
  return {
    base, requests, port: server.address().port,
    close: () => { server.closeAllConnections?.(); return new Promise((r) => server.close(r)); },
  };
}

function json(res, body) {
  res.setHeader('content-type', 'application/json');
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-cimd-'));
  const trusted = makeCa('trusted');
  const untrusted = makeCa('untrusted');
  freshDatabase();
  catcher = await startRedirectCatcher();
  docs = await startDocumentServer(trusted, {
    '/client.json': (req, res, base) => json(res, {
      client_id: `${base}/client.json`, client_name: 'Metadata Client', redirect_uris: [catcher.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none',
    }),
    '/to-metadata.json': (req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'https://169.254.169.254/latest/meta-data/client.json');
      res.end();
    },
    '/to-loopback.json': (req, res, base) => {
      res.statusCode = 307;
      res.setHeader('location', `${base}/client.json`);
      res.end();
    },
    '/other-client.json': (req, res) => json(res, {
      client_id: 'https://app.example/client.json', redirect_uris: [catcher.redirectUri],
    }),
    '/secret-client.json': (req, res, base) => json(res, {
      client_id: `${base}/secret-client.json`, redirect_uris: [catcher.redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
    '/evil-redirect.json': (req, res, base) => json(res, {
      client_id: `${base}/evil-redirect.json`, redirect_uris: ['http://evil.example/cb'],
    }),
    '/big.json': (req, res, base) => json(res, {
      client_id: `${base}/big.json`, redirect_uris: [catcher.redirectUri], padding: 'x'.repeat(300 * 1024),
    }),
    '/not-json.json': (req, res) => { res.end('<html>hello</html>'); },
    // Twelve different good documents: a flood of new client_id URLs from one address.
    ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`/flood-${i}.json`, (req, res, base) => json(res, {
      client_id: `${base}/flood-${i}.json`, redirect_uris: [catcher.redirectUri],
    })])),
  });
  rogue = await startDocumentServer(untrusted, {
    '/client.json': (req, res, base) => json(res, { client_id: `${base}/client.json`, redirect_uris: [catcher.redirectUri] }),
  });

  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [`${issuer}/callback`] } });
  upstream = await startProcess('node', [path.join(here, '../e2e/fixture-upstream.mjs')], /listening (\d+)/);
  sql(`SELECT warden.add_server('fixture', 'http://127.0.0.1:${upstream.match[1]}/mcp', 'http');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"jit": true, "subject_claim": "email", "email_claim": "email"}');`);
  lenient = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer,
    '--oauth-allow-http-loopback', '--oauth-ca-file', trusted.ca]);
  lenient.issuer = issuer;
  const strictPort = await freePort();
  strict = await startGateway(['--listen', `127.0.0.1:${strictPort}`, '--issuer', 'https://warden.example',
    '--oauth-ca-file', trusted.ca]);
  strict.url = `http://127.0.0.1:${strictPort}`;
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  stop(lenient?.child);
  stop(strict?.child);
  stop(upstream?.child);
  await idp?.close();
  await docs?.close();
  await rogue?.close();
  await catcher?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const clientsNow = () => Number(sqlValue('SELECT count(*) FROM warden.oauth_clients'));

// GET /authorize at `base` (warden's listening URL) for `clientId`; the response.
async function authorizeAt(base, issuer, clientId) {
  const request = authorizeRequest(issuer, clientId, catcher.redirectUri);
  const url = new URL(request.url);
  const r = await fetch(`${base}${url.pathname}${url.search}`, { redirect: 'manual' });
  return { status: r.status, location: r.headers.get('location'), body: await r.text(), request };
}

async function assertRefusedPage(result, reason) {
  assert.equal(result.status, 400, result.body);
  assert.equal(result.location, null, 'never a redirect to a client we could not check');
  assert.match(result.body, reason);
}

test('the strict gateway refuses client_id URLs at loopback, link-local and private addresses without connecting', async () => {
  const before = clientsNow();
  const seen = docs.requests.length;
  const results = [];
  const cases = [
    [`https://127.0.0.1:${docs.port}/client.json`, /Unknown application.*address_refused/s],
    [`https://localhost:${docs.port}/client.json`, /Unknown application.*address_refused/s],  // a name resolving to loopback
    [`https://[::ffff:127.0.0.1]:${docs.port}/client.json`, /Unknown application.*address_refused/s],
    [`https://2130706433:${docs.port}/client.json`, /Unknown application.*\(malformed\)/s],  // 127.0.0.1 as a number: not a host
    ['https://169.254.169.254/latest/meta-data/client.json', /Unknown application.*address_refused/s],
    ['https://[fe80::1]/client.json', /Unknown application.*address_refused/s],
    ['https://10.0.0.1/client.json', /Unknown application.*address_refused/s],
    ['https://192.168.1.1/client.json', /Unknown application.*address_refused/s],
    ['https://[::1]/client.json', /Unknown application.*address_refused/s],
    ['https://0.0.0.0/client.json', /Unknown application.*address_refused/s],
  ];
  for (const [clientId, reason] of cases) {
    const result = await authorizeAt(strict.url, 'https://warden.example', clientId);
    results.push(`${clientId}: ${result.body.match(/id="error">([^<]*)/)?.[1]}`);
    await assertRefusedPage(result, reason).catch((e) => { throw new Error(`${clientId}: ${e.message}`); });
  }
  assert.equal(docs.requests.length, seen, 'no request reached the document server');
  if (process.env.WARDEN_E2E_VERBOSE) console.log(results.join('\n'));
  assert.equal(clientsNow(), before, 'nothing registered');
});

test('a document that redirects is refused (to 169.254.169.254, or even back to itself)', async () => {
  const before = clientsNow();
  for (const route of ['/to-metadata.json', '/to-loopback.json']) {
    const result = await authorizeAt(lenient.issuer, lenient.issuer, `${docs.base}${route}`);
    await assertRefusedPage(result, /redirect/);
  }
  // The redirect was not followed: only the documents that redirect were asked for.
  assert.deepEqual(docs.requests.filter((r) => r !== '/to-metadata.json' && r !== '/to-loopback.json'), []);
  assert.equal(clientsNow(), before);
});

test('a certificate from a CA warden does not trust is refused (verification stays on)', async () => {
  const before = clientsNow();
  const result = await authorizeAt(lenient.issuer, lenient.issuer, `${rogue.base}/client.json`);
  await assertRefusedPage(result, /could not be fetched/);
  assert.equal(clientsNow(), before);
});

test('documents that lie or overreach are refused', async () => {
  const before = clientsNow();
  const cases = [
    ['/other-client.json', /client_id/],
    ['/secret-client.json', /token_endpoint_auth_method|secret/],
    ['/evil-redirect.json', /redirect/],
    ['/big.json', /could not be fetched|too large/],
    ['/not-json.json', /JSON/],
    ['/missing.json', /HTTP 404/],
  ];
  for (const [route, reason] of cases) {
    const result = await authorizeAt(lenient.issuer, lenient.issuer, `${docs.base}${route}`);
    await assertRefusedPage(result, reason);
  }
  assert.equal(clientsNow(), before);
});

test('the good document: a pending agent first; approved, its client signs a person in and calls', async () => {
  const clientId = `${docs.base}/client.json`;
  const signIn = async (name) => {
    const request = authorizeRequest(lenient.issuer, clientId, catcher.redirectUri, { scope: 'fixture/whoami' });
    const page = await session.page();
    await signInAtIdp(session, page, {
      url: request.url, login: idp.user.accountId, password: idp.user.password,
      until: `${lenient.issuer}/callback`, name,
    });
    await page.waitForSelector('#approve, #pending');
    return { page, request };
  };
  const first = await signIn('cimd-pending');
  assert.ok(await first.page.$('#pending'));
  assert.equal(await first.page.$eval('#client', (e) => e.textContent), 'Metadata Client');
  await first.page.close();
  const [registration, agent, status] = sql(`SELECT oc.registration, a.name, a.status
    FROM warden.oauth_clients oc JOIN warden.agents a USING (agent_id) WHERE oc.client_id = ${quote(clientId)}`)[0];
  assert.equal(registration, 'metadata');
  assert.equal(status, 'pending');

  sql(`SELECT warden.approve_agent(${quote(agent)}, 'reviewed');
       SELECT warden.grant(${quote(agent)}, 'fixture/whoami');`);
  const second = await signIn('cimd-approved');
  assert.deepEqual(await second.page.$$eval('#tools li', (l) => l.map((e) => e.textContent)), ['fixture/whoami']);
  catcher.seen.length = 0;
  await Promise.all([second.page.waitForFunction((prefix) => location.href.startsWith(prefix), { polling: 100 },
    catcher.redirectUri), second.page.click('#approve')]);
  await second.page.close();
  const redirect = catcher.seen.at(-1);
  assert.ok(redirect.code, JSON.stringify(redirect));
  const tokens = await fetch(`${lenient.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: redirect.code, code_verifier: second.request.verifier,
      client_id: clientId, redirect_uri: catcher.redirectUri, resource: `${lenient.issuer}/mcp`,
    }),
  }).then((r) => r.json());
  assert.ok(tokens.access_token, JSON.stringify(tokens));
  const headers = {
    'content-type': 'application/json', accept: 'application/json, text/event-stream',
    authorization: `Bearer ${tokens.access_token}`,
  };
  const init = await fetch(`${lenient.issuer}/mcp`, {
    method: 'POST', headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '0' } } }),
  });
  assert.equal(init.status, 200);
  const call = await fetch(`${lenient.issuer}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture__whoami', arguments: {} } }),
  });
  assert.equal(call.status, 200);
  const seen = await settled(
    () => sqlValue(`SELECT human || ' ' || agent || ' ' || allowed FROM warden.events
                    WHERE kind = 'call' AND tool = 'whoami' ORDER BY at DESC LIMIT 1`),
    (v) => v !== undefined);
  assert.equal(seen, `alice@example.com ${agent} true`);
});

test('the official MCP TypeScript SDK client with clientMetadataUrl (CIMD) signs in and calls as the person', async () => {
  const { sdkSignInAndCall } = await import('./common.mjs');
  const meta = await (await fetch(`${lenient.issuer}/.well-known/oauth-authorization-server`)).json();
  assert.equal(meta.client_id_metadata_document_supported, true);
  const clientId = `${docs.base}/client.json`;
  const registrations = Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'client_registered'`));
  const { clientInformation, result } = await sdkSignInAndCall({
    issuer: lenient.issuer, redirectUri: catcher.redirectUri, catcher, session, idp, name: 'sdk-cimd',
    clientMetadataUrl: clientId,
  });
  assert.equal(clientInformation.client_id, clientId);
  assert.ok(result.content?.length, JSON.stringify(result));
  // The SDK did not register (no /register): the document is the registration.
  assert.equal(Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'client_registered'`)), registrations);
});

test('--oauth-ca-file with a missing file stops warden-mcp at start, naming the file', async () => {
  await assert.rejects(startGateway(['--issuer', 'https://warden.example', '--oauth-ca-file', path.join(dir, 'nope.pem')]),
    /nope\.pem/);
});

test('new client_id URLs from one address share /register\'s budget: a flood cannot fill the pending agents', async () => {
  const pendingBefore = Number(sqlValue(`SELECT count(*) FROM warden.agents WHERE status = 'pending'`));
  const outcomes = [];
  for (let i = 0; i < 12; i++) {
    const result = await authorizeAt(lenient.issuer, lenient.issuer, `${docs.base}/flood-${i}.json`);
    outcomes.push(/too many new clients/.test(result.body) ? 'refused' : 'registered');
  }
  const created = Number(sqlValue(`SELECT count(*) FROM warden.agents WHERE status = 'pending'`)) - pendingBefore;
  assert.ok(outcomes.includes('refused'), outcomes.join(','));
  assert.ok(created <= 10, `${created} pending agents from one address in a minute`);
  assert.equal(outcomes.filter((o) => o === 'registered').length, created, 'every refusal created nothing');
  // A client registered before is not a new one: it does not spend the budget.
  const again = await authorizeAt(lenient.issuer, lenient.issuer, `${docs.base}/flood-0.json`);
  assert.doesNotMatch(again.body, /too many new clients/);
});

test('one address cannot make warden-mcp an open fetcher: Client ID Metadata Documents are fetched at most 60 times a minute for it', async () => {
  // Documents that do not exist (nothing registers): each /authorize still costs a fetch, until
  // the address's budget is spent. 130 requests are more than two windows' budget, whenever
  // the window (shared with the tests above) turns over.
  const seen = docs.requests.length;
  let refused = 0;
  for (let i = 0; i < 130; i++) {
    const result = await authorizeAt(lenient.issuer, lenient.issuer, `${docs.base}/probe-${i}.json`);
    assert.equal(result.status, 400);
    if (/too many client metadata documents/.test(result.body)) refused += 1;
  }
  const fetched = docs.requests.length - seen;
  assert.ok(refused >= 10, `${refused} of 130 refused`);
  assert.ok(fetched <= 120, `${fetched} documents fetched for one address`);
  assert.equal(fetched + refused, 130, 'a refused request fetched nothing');
});
