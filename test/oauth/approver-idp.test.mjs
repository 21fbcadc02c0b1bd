// Approvers sign in through the identity provider (issue 15 on issue 13's sign-in), end to end:
// the official MCP SDK client's call needs approval; Debian's chromium opens the approval page,
// is sent to sign in, signs in at the fixture OpenID provider (oidc-provider) as the approver,
// lands back on the approval page and clicks Approve; the client's retry completes. Attacks: a
// sign-in's callback URL opened in another browser (login CSRF) signs nobody in and spends the
// sign-in; the paste form refuses a post without its form cookie (a page elsewhere cannot sign
// a browser into a session of its choosing); a person the provider admits but warden does not
// know is refused; next cannot redirect off the approval pages. Screenshots:
// results/oauth/approver-idp-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser.mjs';
import { startIdp } from './fixture-idp.mjs';
import {
  freshDatabase, sql, sqlValue, quote, startProcess, startGateway, stop, freePort,
} from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');
const sdk = path.join(here, '../e2e/node_modules/@modelcontextprotocol/sdk/dist/esm/client');

let idp, upstream, gateway, issuer, session, Client, StreamableHTTPClientTransport;

async function connect() {
  const token = sqlValue(`SELECT token FROM warden.start_chain('bob@example.com', 'ap-bot', 'refunds')`);
  const c = new Client({ name: 'warden-approver-idp', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${issuer}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  return c;
}

// A call that needs approval, from a client that cannot wait: the approval's URL.
async function askApproval(client, amount) {
  const err = await client.callTool({ name: 'fx__stamp', arguments: { amount } }).catch((e) => e);
  assert.equal(err.code, -32001, `expected approval_required, got ${err}`);
  assert.equal(err.data.reason, 'approval_required');
  return err.data.approval_url;
}

// From the approval page to the provider's login page, as a person does it.
const authorizationRequests = [];  // the URLs the browser was sent to at the provider
async function toLoginPage(page, approvalUrl) {
  page.on('request', (req) => {
    if (req.url().startsWith(`${idp.issuer}/auth?`)) authorizationRequests.push(new URL(req.url()));
  });
  await page.goto(approvalUrl, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#sign-in-idp');
  await Promise.all([page.waitForNavigation(), page.click('#sign-in-idp')]);
  await page.waitForSelector('#login');
}

async function logIn(page, login = 'alice') {
  await page.type('#login', login);
  await page.type('#password', 'correct horse');
}

before(async () => {
  ({ Client } = await import(`${sdk}/index.js`));
  ({ StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`));
  freshDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [`${issuer}/callback`] } });
  upstream = await startProcess('node', [path.join(here, '../e2e/fixture-stamp.mjs')], /listening (\d+)/,
    { cwd: path.join(here, '../e2e') });
  sql(`SELECT warden.add_human('bob@example.com', 'Bob');
       SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"subject_claim": "email", "email_claim": "email"}');
       SELECT warden.link_human('alice@example.com', 'fixture-idp');
       SELECT warden.add_agent('ap-bot', 'bob@example.com');
       SELECT warden.add_server('fx', 'http://127.0.0.1:${upstream.match[1]}/mcp');
       SELECT warden.grant('ap-bot', 'fx/stamp', reason => 'every refund needs a second person',
                approval => '{"required": true, "approvers": ["alice@example.com"]}');`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer,
    '--oauth-allow-http-loopback']);
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  stop(gateway?.child);
  stop(upstream?.child);
  await idp?.close();
});

// Signs in from the approval list and returns the refusal page's text.
async function refusedSignIn() {
  const page = await session.page();
  await toLoginPage(page, `${issuer}/approvals`);
  await logIn(page);
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  const text = await page.$eval('body', (b) => b.textContent);
  await page.close();
  return text;
}

const pinKeys = async () => sql(`SELECT warden.pin_identity_provider_keys('fixture-idp', ${quote(JSON.stringify(await idp.jwks()))})`);

test('until an administrator pins the provider\'s keys, a genuine sign-in opens no approver session', async () => {
  // warden-mcp verifies this ID token (with the JWKS it fetched); the database does not take
  // its word for it and has no key of its own to check it with.
  assert.match(await refusedSignIn(), /keys_not_pinned/);
  // The provider was asked for a login now; the database checks the token's auth_time.
  assert.equal(authorizationRequests.at(-1)?.searchParams.get('max_age'), '0');
  assert.equal(sqlValue(`SELECT reason FROM warden.events WHERE kind = 'approver_sign_in_refused'
                         ORDER BY at DESC LIMIT 1`), 'keys_not_pinned');
  await pinKeys();
});

test('the approver signs in at the identity provider, lands on the call and approves it', async () => {
  const client = await connect();
  const approvalUrl = await askApproval(client, 4200);
  assert.ok(approvalUrl.startsWith(`${issuer}/approvals/`), approvalUrl);

  const page = await session.page();
  await toLoginPage(page, approvalUrl);
  await session.screenshot(page, 'approver-idp-login');
  await logIn(page);
  await Promise.all([
    page.waitForFunction((u) => location.href === u && document.querySelector('#approve') !== null,
      { polling: 100 }, approvalUrl),
    page.click('#submit'),
  ]);
  assert.equal(await page.$eval('#approver', (e) => e.textContent), 'alice@example.com');
  assert.equal(await page.$eval('#human', (e) => e.textContent), 'bob@example.com');
  await session.screenshot(page, 'approver-idp-approval');
  // The list of what this approver may decide holds it, and leads back to it.
  await page.goto(`${issuer}/approvals`, { waitUntil: 'domcontentloaded' });
  const listed = await page.$$eval('#pending a', (as) => as.map((a) => a.href));
  assert.ok(listed.includes(approvalUrl), listed.join(' '));
  await session.screenshot(page, 'approver-idp-list');
  await Promise.all([page.waitForNavigation(), page.click(`#pending a[href="/approvals/${approvalUrl.slice(-36)}"]`)]);
  await page.waitForSelector('#approve');
  await Promise.all([page.waitForNavigation(), page.click('#approve')]);
  assert.equal(await page.$eval('#state', (e) => e.textContent), 'approved');
  await page.close();

  const r = await client.callTool({ name: 'fx__stamp', arguments: { amount: 4200 } });
  assert.equal(JSON.parse(r.content[0].text).args.amount, 4200, 'the retried call went through');
  const id = approvalUrl.slice(-36);
  assert.equal(sqlValue(`SELECT state || ' ' || approver || ' ' || coalesce(approver_login::text, '-')
                         FROM warden.approvals WHERE approval_id = ${quote(id)}`),
  'used alice@example.com -', 'approved by the signed-in person, no database login');
  assert.equal(sqlValue(`SELECT detail->>'idp' FROM warden.events WHERE kind = 'approval_granted'
                         AND detail->>'approval_id' = ${quote(id)}`), 'fixture-idp',
  'the decision names the provider the approver signed in with');
  assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'approver_signed_in'
                         AND human = 'alice@example.com'`), '1');
  await client.close();
});

test('a callback URL opened in another browser signs nobody in, and spends the sign-in', async () => {
  const client = await connect();
  const approvalUrl = await askApproval(client, 4300);
  const page = await session.page();
  await toLoginPage(page, approvalUrl);
  // The victim's browser would be the one to open this URL: stop our browser before it does.
  await page.setRequestInterception(true);
  let callbackUrl;
  page.on('request', (req) => {
    if (req.url().startsWith(`${issuer}/callback`)) {
      callbackUrl = req.url();
      req.abort().catch(() => {});
    } else {
      req.continue().catch(() => {});
    }
  });
  await logIn(page);
  await page.click('#submit');
  for (let i = 0; i < 150 && !callbackUrl; i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(callbackUrl, 'the provider sent the browser back to /callback');

  const other = await session.page();
  const refused = await other.goto(callbackUrl, { waitUntil: 'domcontentloaded' });
  assert.equal(refused.status(), 403);
  assert.match(await other.content(), /another_browser/);
  await session.screenshot(other, 'approver-idp-other-browser');
  const cookies = await other.cookies(issuer);
  assert.ok(!cookies.some((c) => c.name === 'warden_approver'), 'no approver session in the other browser');
  await other.close();

  page.removeAllListeners('request');
  await page.setRequestInterception(false);
  const late = await page.goto(callbackUrl, { waitUntil: 'domcontentloaded' });
  assert.equal(late.status(), 400, 'the sign-in was spent by the refused attempt');
  await page.close();
  assert.equal(sqlValue(`SELECT reason FROM warden.events WHERE kind = 'approver_sign_in_refused'
                         ORDER BY at DESC LIMIT 1`), 'another_browser');
  await client.close();
});

test('a person the provider admits but warden does not know as a human of it is refused', async () => {
  // (No function unlinks a human: the test does it as the superuser.)
  sql(`UPDATE warden.humans SET idp = NULL WHERE subject = 'alice@example.com'`);
  try {
    const page = await session.page();
    await toLoginPage(page, `${issuer}/approvals`);
    await logIn(page);
    await Promise.all([page.waitForNavigation(), page.click('#submit')]);
    assert.match(await page.content(), /not_provisioned/);
    await page.close();
  } finally {
    sql(`SELECT warden.link_human('alice@example.com', 'fixture-idp')`);
  }
});

test('after the provider rotates its keys, sign-ins wait for the new keys to be pinned', async () => {
  await idp.rotateKeys({ keepOld: false });
  // warden-mcp fetches the new JWKS by itself (unknown kid); the database refuses the new key.
  assert.match(await refusedSignIn(), /id_token_not_verified_by_database: unknown_kid/);
  await pinKeys();
  const page = await session.page();
  await toLoginPage(page, `${issuer}/approvals`);
  await logIn(page);
  await Promise.all([
    page.waitForFunction((u) => location.href === u && document.querySelector('#pending') !== null,
      { polling: 100 }, `${issuer}/approvals`),
    page.click('#submit'),
  ]);
  assert.equal(await page.$eval('#approver', (e) => e.textContent), 'alice@example.com');
  await page.close();
});

test('the paste form refuses a post without its form cookie (login CSRF)', async () => {
  // A live session of a real approver login (what an attacker would plant): without the form
  // token check it would be accepted and set as the victim's cookie.
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ap_idp_carol') THEN
           CREATE ROLE ap_idp_carol LOGIN IN ROLE warden_approver;
         END IF;
       END $$;
       SELECT warden.add_human('carol@example.com', 'Carol');
       SELECT warden.map_login('ap_idp_carol', 'carol@example.com');`);
  const session = sqlValue('SET SESSION AUTHORIZATION ap_idp_carol; SELECT warden.approver_session()');
  assert.match(session, /^was_/);
  const r = await fetch(`${issuer}/approvals/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
    body: new URLSearchParams({ session, next: '/approvals', form_token: 'guessed' }),
  });
  assert.equal(r.status, 403);
  assert.equal(r.headers.get('set-cookie'), null, 'no session cookie was set');
});

test('next cannot send the approver off the approval pages', async () => {
  const r = await fetch(`${issuer}/approvals/sign-in/idp?next=${encodeURIComponent('https://evil.example/')}`,
    { redirect: 'manual' });
  assert.equal(r.status, 302);
  const started = sqlValue(`SELECT next FROM warden.approver_sign_ins ORDER BY created_at DESC LIMIT 1`);
  assert.equal(started, '/approvals', 'an outside next is replaced by the list');
  assert.match(r.headers.get('set-cookie'), /warden_approver_binding=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax/);
});
