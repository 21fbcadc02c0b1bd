// The operator console (issue 16) in Debian's chromium: a person signs in at the fixture OpenID
// provider (oidc-provider) from /console; the groups of their ID token map to a console role
// (warden.map_group). Each page renders (screenshots results/oauth/console-*.png); the live
// calls page shows a call of the official MCP SDK client as it starts (server-sent events), and
// its Kill button, after the confirmation step, aborts that call in flight. Attacks: a POST
// without the CSRF token (or with a wrong one) is refused; an auditor sees no admin action and
// its direct POSTs (with its own valid token) are refused by the database; a group mapped to
// nothing gets no session, and removing a mapping takes the access of open sessions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';
import { startIdp } from './fixture-idp.mjs';
import {
  freshDatabase, sql, sqlValue, quote, startGateway, stop, freePort, modules, here as e2eHere,
  writeStdioAllowlist,
} from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');
const sdk = `${modules}/@modelcontextprotocol/sdk/dist/esm/client`;

let idp, gateway, issuer, session, Client, StreamableHTTPClientTransport;

async function connect(token) {
  const c = new Client({ name: 'warden-console-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${issuer}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  return c;
}

// Signs in from `start` (a console page) and returns the page, landed back on it.
async function signIn(start = '/console') {
  const page = await session.page();
  await page.goto(`${issuer}${start}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#sign-in');
  await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
  await page.waitForSelector('#login');
  await page.type('#login', 'alice');
  await page.type('#password', 'correct horse');
  await Promise.all([
    page.waitForFunction((u) => (location.href === u && document.querySelector('#who') !== null) ||
      document.querySelector('#error') !== null, { polling: 100 }, `${issuer}${start}`),
    page.click('#submit'),
  ]);
  return page;
}

async function consoleCookie(page) {
  const c = (await page.cookies(`${issuer}/console`)).find((x) => x.name === 'warden_console');
  assert.ok(c, 'the console session cookie is set');
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Strict');
  return `warden_console=${c.value}`;
}

function post(url, cookie, fields) {
  return fetch(`${issuer}${url}`, {
    method: 'POST', redirect: 'manual',
    headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

before(async () => {
  ({ Client } = await import(`${sdk}/index.js`));
  ({ StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`));
  freshDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [`${issuer}/callback`] },
    user: { groups: ['engineering', 'sec-ops'] } });
  // The stdio upstream runs as nobody when the suite runs as root: from a copy of test/e2e it
  // can read (scripts/suites/oauth makes one when the checkout is private), allowed by name.
  const faults = `node ${path.join(process.env.WARDEN_E2E_READABLE ?? e2eHere, 'fixture-faults.mjs')}`;
  const allow = writeStdioAllowlist([faults]);
  sql(`SELECT warden.add_human('bob@example.com', 'Bob');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"subject_claim": "email", "email_claim": "email"}');
       SELECT warden.pin_identity_provider_keys('fixture-idp', ${quote(JSON.stringify(await idp.jwks()))});
       SELECT warden.map_group('fixture-idp', 'sec-ops', 'admin');
       SELECT warden.add_agent('slow-bot', 'bob@example.com', 'runs long <jobs> "quoted"');
       SELECT warden.add_server('faults', ${quote(faults)}, 'stdio');
       SELECT warden.grant('slow-bot', 'faults/sleep', reason => 'the console test');`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer,
    '--oauth-allow-http-loopback', '--stdio-allow', allow]);
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  stop(gateway?.child);
  await idp?.close();
});

let page, chain;

test('an admin signs in through the identity provider and sees the maturity ladder', async () => {
  let token;
  [[chain, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('bob@example.com', 'slow-bot', 'nightly')`);
  const warm = await connect(token);
  await warm.callTool({ name: 'faults__sleep', arguments: { ms: 1 } });
  await warm.close();

  page = await signIn('/console');
  assert.equal(await page.$eval('#who', (e) => e.textContent), 'alice@example.com');
  assert.equal(await page.$eval('#role', (e) => e.textContent), 'admin');
  const rungs = await page.$$eval('#ladder li', (ls) => ls.map((l) => l.textContent));
  assert.deepEqual(rungs, ['shadow', 'tracked', 'governed', 'full']);
  assert.equal(await page.$$eval('#ladder [aria-current="step"]', (ls) => ls.length), 1, 'one rung is where we stand');
  const headers = (await fetch(`${issuer}/console`, { headers: { Cookie: await consoleCookie(page) } })).headers;
  assert.match(headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.match(headers.get('content-security-policy'), /script-src 'self'/);
  assert.doesNotMatch(headers.get('content-security-policy'), /unsafe-inline/);
  await session.screenshot(page, 'console-overview');
});

test('inventory, chains and a chain drawn as SVG', async () => {

  await page.goto(`${issuer}/console/inventory`, { waitUntil: 'domcontentloaded' });
  assert.match(await page.$eval('#agents', (e) => e.textContent), /slow-bot/);
  assert.match(await page.$eval('#servers', (e) => e.textContent), /faults/);
  await session.screenshot(page, 'console-inventory');

  await page.goto(`${issuer}/console/chains`, { waitUntil: 'domcontentloaded' });
  assert.match(await page.$eval('#chains', (e) => e.textContent), new RegExp(chain));
  await page.goto(`${issuer}/console/chain?id=${chain}`, { waitUntil: 'networkidle0' });
  const drawn = await page.$eval('#chain-svg', (img) => img.complete && img.naturalWidth > 0);
  assert.ok(drawn, 'the chain is drawn as SVG');
  const svg = await fetch(`${issuer}/console/chain.svg?id=${chain}`, { headers: { Cookie: await consoleCookie(page) } });
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  assert.match(svg.headers.get('content-security-policy'), /sandbox/);
  assert.doesNotMatch(await svg.text(), /<script/i);
  await session.screenshot(page, 'console-chain');
});

test('grants: the database validates a new grant', async () => {

  await page.goto(`${issuer}/console/grants`, { waitUntil: 'domcontentloaded' });
  await page.select('#g-agent', 'slow-bot');
  await page.type('#g-tool', 'faults/sleep');
  await page.$eval('#g-constraints', (e) => { e.value = '{"ms": {"max": "soon"}}'; });
  await page.type('#g-reason', 'a bad constraint');
  await Promise.all([page.waitForNavigation(), page.click('#create-grant')]);
  assert.ok(await page.$('#error'), 'the database refuses a malformed constraint');
  await page.goto(`${issuer}/console/grants`, { waitUntil: 'domcontentloaded' });
  await page.select('#g-agent', 'slow-bot');
  await page.type('#g-tool', 'faults/sleep');
  await page.$eval('#g-constraints', (e) => { e.value = '{"ms": {"max": 60000}}'; });
  await page.type('#g-reason', 'bounded sleeps');
  await Promise.all([page.waitForNavigation(), page.click('#create-grant')]);
  assert.match(await page.$eval('#grants', (e) => e.textContent), /bounded sleeps/);
  await session.screenshot(page, 'console-grants');
});

test('review, approvals, evidence (JSON and printable), live calls and the kill form render', async () => {

  for (const [url, name, selector] of [['/console/review', 'review', '#findings'],
    ['/console/approvals', 'approvals', '#approvals-link'], ['/console/evidence', 'evidence', '#evidence-form'],
    ['/console/calls', 'calls', '#calls'], ['/console/kill', 'kill', '#kill-form']]) {
    await page.goto(`${issuer}${url}`, { waitUntil: 'domcontentloaded' });
    assert.ok(await page.$(selector), `${url} shows ${selector}`);
    await session.screenshot(page, `console-${name}`);
  }
  await page.goto(`${issuer}/console/evidence?from=2020-01-01&to=2100-01-01&format=html`, { waitUntil: 'domcontentloaded' });
  assert.match(await page.$eval('#evidence', (e) => e.textContent), /CC6\.1/);
  await session.screenshot(page, 'console-evidence-report');
  const json = await fetch(`${issuer}/console/evidence?from=2020-01-01&to=2100-01-01&format=json`,
    { headers: { Cookie: await consoleCookie(page) } });
  assert.match(json.headers.get('content-disposition'), /attachment/);
  assert.equal(typeof (await json.json()), 'object');
  assert.ok(Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'console_action'
                             AND detail->>'action' = 'evidence_export'`)) >= 2, 'evidence exports are audited');
  await page.close();
});

test('the kill button stops a call in flight, after a confirmation step', async () => {
  const [[chain, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('bob@example.com', 'slow-bot', 'runaway')`);
  const client = await connect(token);
  const page = await signIn('/console/calls');
  assert.equal(await page.$$eval('#calls tbody tr', (r) => r.length), 0);
  const call = client.callTool({ name: 'faults__sleep', arguments: { ms: 60000 } }, undefined, { timeout: 90000 })
    .then(() => null, (e) => e);
  // Pushed to the open page as it starts.
  await page.waitForSelector('#calls a[id^="kill-"]', { timeout: 15000 });
  assert.match(await page.$eval('#calls tbody', (e) => e.textContent), new RegExp(chain));
  await session.screenshot(page, 'console-calls-live');
  await Promise.all([page.waitForNavigation(), page.click('#calls a[id^="kill-"]')]);
  assert.equal(await page.$eval('#target', (e) => e.value), chain);
  await page.type('#reason', 'runaway job');
  await Promise.all([page.waitForNavigation(), page.click('#review-kill')]);
  assert.match(await page.$eval('#confirm-text', (e) => e.textContent), new RegExp(chain));
  await session.screenshot(page, 'console-kill-confirm');
  const started = Date.now();
  await Promise.all([page.waitForNavigation(), page.click('#confirm-kill')]);
  assert.match(await page.$eval('#killed', (e) => e.textContent), /token\(s\) revoked/);
  await session.screenshot(page, 'console-killed');
  const err = await call;
  assert.ok(err, 'the call was aborted');
  assert.match(err.message, /revoked .*chain_revoked/);
  assert.ok(Date.now() - started < 10000, 'long before the sleep would have ended');
  assert.equal(sqlValue(`SELECT revoked_reason FROM warden.chains WHERE chain_id = ${quote(chain)}`),
    'console alice@example.com: runaway job');
  assert.equal(sqlValue(`SELECT human || ' ' || reason FROM warden.events WHERE kind = 'console_action'
                         AND detail->>'action' = 'kill'`), 'alice@example.com runaway job');
  await client.close().catch(() => {});
  await page.close();
});

test('a POST without the CSRF token, or with another, is refused', async () => {
  const page = await signIn('/console/kill');
  const cookie = await consoleCookie(page);
  const csrf = await page.$eval('input[name="csrf"]', (e) => e.value);
  const fields = { kind: 'agent', target: 'slow-bot', reason: 'csrf', confirm: 'yes' };
  let r = await post('/console/kill', cookie, fields);
  assert.equal(r.status, 403);
  r = await post('/console/kill', cookie, { ...fields, csrf: csrf.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) });
  assert.equal(r.status, 403);
  r = await fetch(`${issuer}/console/kill`, { method: 'POST', headers: { Cookie: cookie, Origin: 'https://evil.example',
    'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, csrf }).toString() });
  assert.equal(r.status, 403, 'a POST from another origin is refused');
  assert.equal(sqlValue(`SELECT status FROM warden.agents WHERE name = 'slow-bot'`), 'active', 'nothing was killed');
  await page.close();
});

test('an auditor sees no admin action and cannot perform one', async () => {
  sql(`SELECT warden.map_group('fixture-idp', 'sec-ops', 'auditor')`);
  const page = await signIn('/console/grants');
  assert.equal(await page.$eval('#role', (e) => e.textContent), 'auditor');
  assert.equal(await page.$('#grant-form'), null, 'no grant form');
  assert.equal(await page.$('#grants button'), null, 'no revoke buttons');
  await session.screenshot(page, 'console-auditor-grants');
  await page.goto(`${issuer}/console/kill`, { waitUntil: 'domcontentloaded' });
  assert.equal(await page.$('#kill-form'), null, 'no kill form');
  const cookie = await consoleCookie(page);
  const csrf = await page.$eval('input[name="csrf"]', (e) => e.value);
  const grants = sqlValue('SELECT count(*) FROM warden.grants');
  let r = await post('/console/kill', cookie, { csrf, kind: 'agent', target: 'slow-bot', reason: 'x', confirm: 'yes' });
  assert.equal(r.status, 403, 'the database refuses an auditor\'s kill');
  r = await post('/console/grant', cookie, { csrf, agent: 'slow-bot', tool: 'faults/*', ttl: '1 hour', reason: 'x' });
  assert.equal(r.status, 403, 'and an auditor\'s grant');
  const live = sqlValue(`SELECT grant_id FROM warden.grants WHERE revoked_at IS NULL LIMIT 1`);
  r = await post('/console/revoke', cookie, { csrf, grant_id: live, reason: 'x' });
  assert.equal(r.status, 403, 'and an auditor\'s revoke');
  assert.equal(sqlValue('SELECT count(*) FROM warden.grants'), grants);
  assert.equal(sqlValue(`SELECT count(*) FROM warden.grants WHERE grant_id = ${quote(live)} AND revoked_at IS NULL`), '1');
  assert.equal(sqlValue(`SELECT status FROM warden.agents WHERE name = 'slow-bot'`), 'active');
  // Reading is allowed.
  await page.goto(`${issuer}/console/review`, { waitUntil: 'domcontentloaded' });
  assert.ok(await page.$('#findings'));
  await page.close();
});

test('a group mapped to nothing gets no access; removing a mapping ends open sessions', async () => {
  const open = await signIn('/console');
  assert.equal(await open.$eval('#role', (e) => e.textContent), 'auditor');
  sql(`SELECT warden.map_group('fixture-idp', 'sec-ops', NULL)`);
  const r = await fetch(`${issuer}/console`, { headers: { Cookie: await consoleCookie(open) } });
  assert.equal(r.status, 403, 'the open session lost its access');
  await open.close();
  const page = await signIn('/console');
  assert.equal(await page.$('#who'), null);
  assert.match(await page.$eval('#error', (e) => e.textContent), /no_console_role/);
  await session.screenshot(page, 'console-unmapped');
  assert.equal((await page.cookies(`${issuer}/console`)).find((x) => x.name === 'warden_console'), undefined,
    'no session cookie');
  await page.close();
});
