// Calls that need a person (issue 15), end to end: the official MCP SDK client calls a tool
// whose grant requires approval; warden-mcp holds the call and says why (progress
// notifications carrying the approval page's URL); Debian's chromium signs in as the approver
// (an approver session opened in SQL by the approver's own login) and clicks Approve; the held
// call completes. Also: a client that cannot wait gets -32001 with the URL at once and its retry
// after approval consumes it; a client that takes URL-mode elicitation (MCP 2025-11-25) is also
// sent elicitation/create with the page's URL; a denial ends a held call with -32001
// approval_denied; a kill while held ends it with approval_cancelled. Screenshots: results/oauth/approval-*.png and
// docs/approval-page.png.
//
// Figure: approval commit -> upstream call started, over WARDEN_APPROVAL_TRIALS trials (default
// 20). The approval runs as BEGIN; SELECT warden.approve(...); SELECT clock_timestamp(); COMMIT,
// so the commit happens after that server timestamp; the upstream fixture stamps the moment the
// forwarded call reaches it (same host, same realtime clock): an upper bound of the latency.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { launchBrowser } from './browser.mjs';
import {
  database, freshDatabase, sql, sqlValue, quote, startProcess, startGateway, stop,
} from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');
const docsPicture = path.join(here, '../../docs/approval-page.png');
const trials = Number(process.env.WARDEN_APPROVAL_TRIALS ?? 20);
const p99Limit = Number(process.env.WARDEN_APPROVAL_P99_MS ?? 250);
const sdk = path.join(here, '../e2e/node_modules/@modelcontextprotocol/sdk/dist/esm/client');

let upstream, gateway, url, session, Client, StreamableHTTPClientTransport;

function approverSession(login) {
  return sqlValue(`SET SESSION AUTHORIZATION ${login}; SELECT warden.approver_session()`);
}

function newChain() {
  const [chain, token] = sql(`SELECT chain_id, token FROM warden.start_chain('ap-bob@example.com', 'ap-bot', 'refunds')`)[0];
  return { chain, token };
}

async function connect(token) {
  const c = new Client({ name: 'warden-approval', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await c.connect(transport);
  return c;
}

// Calls fx__stamp with a progress handler: resolves the first progress message's URL as soon
// as it arrives (`waiting`), and the call's outcome (`done`).
function heldCall(client, args) {
  let seen;
  const waiting = new Promise((resolve) => { seen = resolve; });
  const done = client.callTool({ name: 'fx__stamp', arguments: args }, undefined, {
    timeout: 120000,
    resetTimeoutOnProgress: true,
    onprogress: (p) => {
      const m = /(http:\/\/\S+\/approvals\/[0-9a-f-]{36})/.exec(p.message ?? '');
      if (m) seen(m[1]);
    },
  });
  done.catch(() => {});
  return { waiting, done };
}

// Approves as `login` in its own transaction; resolves with the server's clock just before
// COMMIT (ms since the epoch).
function approveTimed(login, approvalId) {
  return new Promise((resolve, reject) => {
    const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', database,
      '-c', `SET SESSION AUTHORIZATION ${login}`,
      '-c', 'BEGIN',
      '-c', `SELECT 'approved', warden.approve(${quote(approvalId)}, 'timed')->>'state'`,
      '-c', `SELECT 'at', extract(epoch FROM clock_timestamp())`,
      '-c', 'COMMIT']);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => {
      const at = /^at\|([0-9.]+)$/m.exec(out);
      if (code !== 0 || !at || !/approved\|approved/.test(out)) reject(new Error(`approve failed: ${out}`));
      else resolve(Number(at[1]) * 1000);
    });
  });
}

const now = () => performance.timeOrigin + performance.now();  // ms since the epoch, sub-ms

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

before(async () => {
  ({ Client } = await import(`${sdk}/index.js`));
  ({ StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`));
  freshDatabase();
  upstream = await startProcess('node', [path.join(here, '../e2e/fixture-stamp.mjs')], /listening (\d+)/,
    { cwd: path.join(here, '../e2e') });
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ap_alice') THEN
           CREATE ROLE ap_alice LOGIN IN ROLE warden_approver;
         END IF;
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ap_bob') THEN
           CREATE ROLE ap_bob LOGIN IN ROLE warden_approver;
         END IF;
       END $$`);
  sql(`SELECT warden.add_human('ap-bob@example.com', 'Bob')`);
  sql(`SELECT warden.add_human('ap-alice@example.com', 'Alice')`);
  sql(`SELECT warden.map_login('ap_alice', 'ap-alice@example.com')`);
  sql(`SELECT warden.map_login('ap_bob', 'ap-bob@example.com')`);
  sql(`SELECT warden.add_agent('ap-bot', 'ap-bob@example.com')`);
  sql(`SELECT warden.add_server('fx', 'http://127.0.0.1:${upstream.match[1]}/mcp')`);
  sql(`SELECT warden.grant('ap-bot', 'fx/stamp', reason => 'refunds over 1000 need a second person',
         approval => '{"when": {"amount": {"min": 1000}}, "approvers": ["ap-alice@example.com", "ap-bob@example.com"]}')`);
  gateway = await startGateway(['--approval-wait', '60']);
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  stop(gateway?.child);
  stop(upstream?.child);
});

test('a call under the threshold goes through at once', async () => {
  const { token } = newChain();
  const client = await connect(token);
  const r = await client.callTool({ name: 'fx__stamp', arguments: { amount: 10 } });
  assert.equal(JSON.parse(r.content[0].text).args.amount, 10);
  await client.close();
});

test('held call: chromium signs in as the approver and clicks Approve; the call completes', async () => {
  const { chain, token } = newChain();
  const client = await connect(token);
  const { waiting, done } = heldCall(client, { amount: 5000 });
  const approvalUrl = await waiting;
  assert.match(approvalUrl, /\/approvals\/[0-9a-f-]{36}$/);
  const approvalId = approvalUrl.slice(-36);
  assert.equal(sqlValue(`SELECT state FROM warden.approvals WHERE approval_id = ${quote(approvalId)}`), 'pending');

  // The requesting human, even signed in, cannot approve their own agent's call.
  const bobSession = approverSession('ap_bob');
  const bobPage = await session.page();
  await bobPage.goto(approvalUrl, { waitUntil: 'domcontentloaded' });
  await bobPage.waitForSelector('#session');
  await bobPage.type('#session', bobSession);
  await Promise.all([bobPage.waitForNavigation(), bobPage.click('#sign-in')]);
  assert.equal(await bobPage.$('#approve'), null, 'no Approve button for the requesting human');
  assert.match(await bobPage.$eval('#refusal', (e) => e.textContent), /separation of duties/);
  await session.screenshot(bobPage, 'approval-self-refused');
  await bobPage.close();

  const page = await session.page();
  const response = await page.goto(approvalUrl, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#session');
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /default-src 'none'/);
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  await session.screenshot(page, 'approval-sign-in');
  await page.type('#session', approverSession('ap_alice'));
  await Promise.all([page.waitForNavigation(), page.click('#sign-in')]);
  await page.waitForSelector('#approve');
  assert.equal(await page.$eval('#tool', (e) => e.textContent), 'fx/stamp');
  assert.equal(await page.$eval('#human', (e) => e.textContent), 'ap-bob@example.com');
  assert.equal(await page.$eval('#agents', (e) => e.textContent), 'ap-bot');
  assert.equal(await page.$eval('#grant-reason', (e) => e.textContent), 'refunds over 1000 need a second person');
  assert.match(await page.$eval('#arguments', (e) => e.textContent), /"amount": 5000/);
  assert.equal(await page.$$eval('script', (s) => s.length), 0, 'no script on the page');
  await page.type('#note', 'customer called, verified');
  await session.screenshot(page, 'approval-page');
  fs.mkdirSync(path.dirname(docsPicture), { recursive: true });
  await page.screenshot({ path: docsPicture, fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('#approve')]);
  // The gateway may have consumed it already.
  assert.match(await page.$eval('#state', (e) => e.textContent), /^(approved|used)$/);
  await session.screenshot(page, 'approval-approved');
  await page.close();

  const r = await done;
  assert.equal(JSON.parse(r.content[0].text).args.amount, 5000, 'the held call completed');
  assert.equal(sqlValue(`SELECT state FROM warden.approvals WHERE approval_id = ${quote(approvalId)}`), 'used');
  const steps = sql(`SELECT a.kind || ':' || a.name FROM warden.events e, warden.attribution(e.event_id) a
                     WHERE e.kind = 'call' AND e.allowed AND e.chain_id = ${quote(chain)}
                     ORDER BY a.depth, a.kind = 'approver'`).map((x) => x[0]);
  assert.deepEqual(steps, ['event:call', 'event:approval_granted', 'approver:ap-alice@example.com',
    'event:call', 'token:ap-bot', 'chain:refunds', 'human:ap-bob@example.com']);
  await client.close();
});

test('a client that takes URL-mode elicitation (2025-11-25) is asked to open the page', async () => {
  const { ElicitRequestSchema } = await import(`${sdk}/../types.js`);
  const { token } = newChain();
  const client = new Client({ name: 'warden-approval-elicit', version: '1.0.0' },
    { capabilities: { elicitation: { url: {} } } });
  let asked;
  const elicited = new Promise((resolve) => { asked = resolve; });
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    asked(request.params);
    return { action: 'accept' };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  const call = heldCall(client, { amount: 4000 });
  const params = await elicited;
  assert.equal(params.mode, 'url');
  assert.match(params.url, /\/approvals\/[0-9a-f-]{36}$/);
  assert.equal(params.elicitationId, params.url.slice(-36));
  sql(`SET SESSION AUTHORIZATION ap_alice; SELECT warden.approve(${quote(params.elicitationId)})`);
  const r = await call.done;
  assert.equal(JSON.parse(r.content[0].text).args.amount, 4000);
  await client.close();
});

test('a forged form is refused: no CSRF token, or from another origin', async () => {
  const { token } = newChain();
  const client = await connect(token);
  const first = await client.callTool({ name: 'fx__stamp', arguments: { amount: 2000 } }).catch((e) => e);
  const approvalId = first.data.approval_id;
  const cookie = `warden_approver=${approverSession('ap_alice')}`;
  const base = url.replace(/\/mcp$/, '');
  const post = (body, extra = {}) => fetch(`${base}/approvals/${approvalId}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...extra }, body,
  });
  assert.equal((await post('decision=approve')).status, 403, 'no CSRF token');
  assert.equal((await post('decision=approve&csrf=00')).status, 403, 'a wrong CSRF token');
  assert.equal((await post('decision=approve', { origin: 'http://evil.example' })).status, 403, 'another origin');
  const noSession = await fetch(`${base}/approvals/${approvalId}`, { redirect: 'manual' });
  assert.equal(noSession.status, 303, 'without a session: to the sign-in page');
  assert.equal(sqlValue(`SELECT state FROM warden.approvals WHERE approval_id = ${quote(approvalId)}`), 'pending');
  await client.close();
});

test('a held call whose agent left is not forwarded after approval; the approval waits for a retry', async () => {
  const { token } = newChain();
  const client = await connect(token);
  const { waiting } = heldCall(client, { amount: 7777 });
  const approvalId = (await waiting).slice(-36);
  await client.close();  // the agent goes away while its call is held
  // The hold sees the closed stream when its next progress note cannot be written (<= 5 s).
  await new Promise((r) => setTimeout(r, 6500));
  sql(`SET SESSION AUTHORIZATION ap_alice; SELECT warden.approve(${quote(approvalId)})`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(sqlValue(`SELECT state FROM warden.approvals WHERE approval_id = ${quote(approvalId)}`), 'approved',
    'nothing consumed it: the call was not forwarded for an agent that had left');
  assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND allowed
                         AND arguments->>'amount' = '7777'`), '0', 'no allowed call');
  const again = await connect(token);
  const r = await again.callTool({ name: 'fx__stamp', arguments: { amount: 7777 } });
  assert.equal(JSON.parse(r.content[0].text).args.amount, 7777, 'the retry consumes the approval');
  await again.close();
});

test('a client that cannot wait gets -32001 with the URL at once; its retry after approval consumes it', async () => {
  const { token } = newChain();
  const client = await connect(token);
  const err = await client.callTool({ name: 'fx__stamp', arguments: { amount: 3000 } }).catch((e) => e);
  assert.equal(err.code, -32001);
  assert.equal(err.data.reason, 'approval_required');
  assert.match(err.data.approval_url, /\/approvals\/[0-9a-f-]{36}$/);
  assert.match(err.message, /approve at http/);
  sql(`SET SESSION AUTHORIZATION ap_alice; SELECT warden.approve(${quote(err.data.approval_id)})`);
  const other = await client.callTool({ name: 'fx__stamp', arguments: { amount: 3001 } }).catch((e) => e);
  assert.equal(other.code, -32001, 'other arguments are not approved');
  const r = await client.callTool({ name: 'fx__stamp', arguments: { amount: 3000 } });
  assert.equal(JSON.parse(r.content[0].text).args.amount, 3000);
  const again = await client.callTool({ name: 'fx__stamp', arguments: { amount: 3000 } }).catch((e) => e);
  assert.equal(again.code, -32001, 'the approval is used once');
  await client.close();
});

test('a denial ends the held call with -32001 approval_denied; a kill with approval_cancelled', async () => {
  const { chain, token } = newChain();
  const client = await connect(token);
  const denied = heldCall(client, { amount: 7000 });
  const deniedId = (await denied.waiting).slice(-36);
  sql(`SET SESSION AUTHORIZATION ap_alice; SELECT warden.deny(${quote(deniedId)}, 'no')`);
  const e1 = await denied.done.catch((e) => e);
  assert.equal(e1.code, -32001);
  assert.equal(e1.data.reason, 'approval_denied');
  const killed = heldCall(client, { amount: 8000 });
  const killedId = (await killed.waiting).slice(-36);
  sql(`SELECT warden.kill(chain_id => ${quote(chain)}, reason => 'stop')`);
  const e2 = await killed.done.catch((e) => e);
  assert.equal(e2.code, -32001);
  assert.equal(e2.data.reason, 'approval_cancelled');
  assert.throws(() => sql(`SET SESSION AUTHORIZATION ap_alice; SELECT warden.approve(${quote(killedId)})`),
    /not pending|can no longer happen/);
  await client.close();
});

test(`approval commit -> upstream call started, ${trials} trials`, async () => {
  const { token } = newChain();
  const client = await connect(token);
  const latencies = [];
  for (let i = 0; i < trials; i++) {
    const call = heldCall(client, { amount: 10000 + i });
    const approvalId = (await call.waiting).slice(-36);
    const committed = await approveTimed('ap_alice', approvalId);
    const r = await call.done;
    latencies.push(JSON.parse(r.content[0].text).at - committed);
  }
  // Baseline in the same run: an ungated call, from the client sending it to the upstream
  // receiving it (one decision and the forward, as the resumed call does after its approval).
  const plain = [];
  for (let i = 0; i < trials; i++) {
    const sent = now();
    const r = await client.callTool({ name: 'fx__stamp', arguments: { amount: i } });
    plain.push(JSON.parse(r.content[0].text).at - sent);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const base = [...plain].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const line = `approval commit -> upstream call started over ${trials} trials: ` +
    `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms; ` +
    `baseline (ungated call sent -> upstream call started): p50 ${percentile(base, 50).toFixed(1)} ms, ` +
    `p99 ${percentile(base, 99).toFixed(1)} ms`;
  console.log(line);
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, 'approval-latency.txt'), `${line}\n${sorted.map((x) => x.toFixed(2)).join('\n')}\n`);
  assert.ok(p99 < p99Limit, line);
  await client.close();
});
