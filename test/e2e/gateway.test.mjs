// warden-mcp end to end: the official SDK client, through the gateway, to real MCP servers
// (server-everything and server-filesystem over stdio, a header-recording fixture over HTTP).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  binary, freshDatabase, gatewayConninfo, here, modules, quote, sql, sqlValue, startGateway,
  startProcess, stdioAllowFile, stop, settled } from './harness.mjs';

const folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-e2e-')));
// server-filesystem runs as an unprivileged user when the gateway runs as root.
fs.chmodSync(folder, 0o755);
const inside = path.join(folder, 'notes.txt');
fs.writeFileSync(inside, 'granted content\n');
const outside = path.join(fs.realpathSync(os.tmpdir()), `warden-e2e-outside-${process.pid}.txt`);
fs.writeFileSync(outside, 'secret content\n');

let gateway, fixture, url, token, otherToken, client, traceId;
// The vaulted secret of `everything`, sealed here to warden.vault_public_key() so that its
// plaintext never appears in SQL text; the stdio child should find it in API_KEY.
const vaultSecret = `e2e-secret-${process.pid}-${Date.now()}`;

async function sealForVault(plain) {
  const sodium = createRequire(import.meta.url)('libsodium-wrappers');
  await sodium.ready;
  const pk = sodium.from_hex(sqlValue(`SELECT encode(warden.vault_public_key(), 'hex')`));
  return sodium.to_hex(sodium.crypto_box_seal(sodium.from_string(plain), pk));
}

function connect(bearer = token) {
  const c = new Client({ name: 'warden-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
  return c.connect(transport).then(() => c);
}

function post(body, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      Authorization: `Bearer ${token}`,
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const initialize = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

async function rawSession(bearer) {
  const r = await post(initialize, { Authorization: `Bearer ${bearer}` });
  assert.equal(r.status, 200);
  return r.headers.get('mcp-session-id');
}

async function callError(c, name, args) {
  try {
    await c.callTool({ name, arguments: args });
  } catch (e) {
    return e;
  }
  assert.fail(`${name} was not refused`);
}

before(async () => {
  freshDatabase();
  fixture = await startProcess('node', [path.join(here, 'fixture-upstream.mjs')], /listening (\d+)/);
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  const files = `node ${modules}/@modelcontextprotocol/server-filesystem/dist/index.js ${folder}`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('triage-bot', 'alice@example.com');
       SELECT warden.add_agent('other-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio',
                                '{"kind": "secret", "env": "API_KEY"}');
       SELECT warden.add_server('files', ${quote(files)}, 'stdio');
       SELECT warden.add_server('fixture', 'http://127.0.0.1:${fixture.match[1]}/mcp', 'http',
                                '{"kind": "jwt", "ttl_seconds": 30}');
       SELECT warden.grant('triage-bot', 'everything/echo');
       SELECT warden.grant('triage-bot', 'everything/get-env');
       SELECT warden.grant('triage-bot', 'files/read_text_file',
                           ${quote(JSON.stringify({ path: { prefix: `${folder}/` } }))});
       SELECT warden.grant('triage-bot', 'fixture/*');
       SELECT warden.grant('other-bot', 'everything/echo');
       SELECT warden.add_agent('slow-bot', 'alice@example.com');
       SELECT warden.grant('slow-bot', 'everything/trigger-long-running-operation');
       SELECT warden.add_agent('uri-bot', 'alice@example.com');
       SELECT warden.grant('uri-bot', 'everything/echo');
       SELECT warden.add_agent('sampling-bot', 'alice@example.com');
       SELECT warden.grant('sampling-bot', 'everything/trigger-sampling-request');`);
  sql(`SELECT warden.put_secret('everything', decode('${await sealForVault(vaultSecret)}', 'hex'),
                                template => '{secret}')`);
  let chainId;
  [[chainId, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'triage-bot', 'e2e')`);
  traceId = sqlValue(`SELECT trace_id FROM warden.chains WHERE chain_id = ${quote(chainId)}`);
  otherToken = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'other-bot', 'e2e')`);
  gateway = await startGateway();
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
  client = await connect();
});

after(async () => {
  await client?.close().catch(() => {});
  stop(gateway?.child);
  stop(fixture?.child);
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(outside, { force: true });
});

test('tools/list shows only granted tools, as server__tool', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, ['everything__echo', 'everything__get-env', 'files__read_text_file',
    'fixture__whoami']);
});

test('an allowed call returns the upstream result', async () => {
  const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello warden' } });
  assert.match(r.content[0].text, /hello warden/);
});

test('a denied call returns the reason', async () => {
  const e = await callError(client, 'everything__get-sum', { a: 1, b: 2 });
  assert.equal(e.code, -32001);
  assert.match(e.message, /warden denied everything__get-sum: no_grant/);
});

test('an argument constraint blocks a path outside the granted folder', async () => {
  const ok = await client.callTool({ name: 'files__read_text_file', arguments: { path: inside } });
  assert.match(ok.content[0].text, /granted content/);
  const e = await callError(client, 'files__read_text_file', { path: outside });
  assert.match(e.message, /constraint_failed/);
});

test('every call is audited with its agent and human', async () => {
  const rows = sql(`SELECT tool, allowed, reason, agent, human FROM warden.events
                    WHERE kind = 'call' ORDER BY at`);
  const calls = rows.map(([tool, allowed, reason, agent, human]) => ({ tool, allowed, reason, agent, human }));
  for (const c of calls) {
    assert.equal(c.agent, 'triage-bot');
    assert.equal(c.human, 'alice@example.com');
  }
  assert.ok(calls.some((c) => c.tool === 'echo' && c.allowed === 't'));
  assert.ok(calls.some((c) => c.tool === 'get-sum' && c.allowed === 'f' && c.reason === 'no_grant'));
  assert.ok(calls.some((c) => c.tool === 'read_text_file' && c.reason === 'constraint_failed'));
  const completed = await settled(() => sqlValue(`SELECT count(*) FROM warden.events e JOIN warden.events p
      ON e.parent_id = p.event_id WHERE e.kind = 'completed' AND p.tool = 'echo' AND e.reason = 'ok'`),
  (v) => Number(v) >= 1);
  assert.ok(Number(completed) >= 1);
});

test('the upstream gets the traceparent and never the agent token', async () => {
  const r = await client.callTool({ name: 'fixture__whoami', arguments: {} });
  const seen = JSON.parse(r.content[0].text);
  const pattern = new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`);
  assert.match(seen.headers.traceparent, pattern);
  assert.match(seen.meta.traceparent, pattern);
  assert.ok(!JSON.stringify(seen).includes(token), 'the agent token reached the upstream');
  const env = await client.callTool({ name: 'everything__get-env', arguments: {} });
  assert.ok(!JSON.stringify(env).includes(token), 'the stdio upstream environment holds the token');
});

test('the vended credential is injected: a JWT header over HTTP, a vaulted secret in a stdio env', async () => {
  const r = await client.callTool({ name: 'fixture__whoami', arguments: {} });
  const { headers } = JSON.parse(r.content[0].text);
  const m = headers.authorization?.match(/^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/);
  assert.ok(m, `no JWT in the upstream's Authorization header: ${headers.authorization}`);
  const claims = JSON.parse(Buffer.from(m[2], 'base64url').toString());
  assert.ok(JSON.stringify(claims).includes('triage-bot'), JSON.stringify(claims));
  assert.ok(JSON.stringify(claims).includes('alice@example.com'), JSON.stringify(claims));

  const env = await client.callTool({ name: 'everything__get-env', arguments: {} });
  assert.ok(JSON.stringify(env).includes(vaultSecret), 'the vaulted secret is not in the child env');
  const audit = sql(`SELECT detail::text FROM warden.events WHERE kind = 'call' AND tool = 'get-env'`);
  assert.ok(audit.length > 0 && audit.every(([d]) => !d.includes(vaultSecret)), 'the secret is in the audit');
});

test('a credential statement the server will not prepare: nothing is decided, minted or vended, and the agent is told', async () => {
  // warden-mcp asks for the decision and its credential in one pipeline; the decision mints the
  // credential for the second statement to hand out. With that statement's function gone (as
  // after a downgrade) the pipeline must not run at all: a decision alone would leave a
  // credential minted and recorded as vended that no one ever received.
  sql('ALTER FUNCTION warden.credential_for_last_decision() RENAME TO credential_for_last_decision_gone');
  const g = await startGateway();
  const c = new Client({ name: 'warden-e2e-pipeline', version: '1.0.0' });
  const count = (kind) => Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = ${quote(kind)}`));
  try {
    await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${g.match[1]}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    const [calls, vends] = [count('call'), count('credential_vended')];
    const e = await c.callTool({ name: 'fixture__whoami', arguments: {} }).then(() => null, (x) => x);
    assert.ok(e, 'the call went out');
    assert.match(e.message, /warden could not decide on fixture__whoami: function warden\.credential_for_last_decision\(\) does not exist/);
    assert.deepEqual([count('call'), count('credential_vended')], [calls, vends]);
  } finally {
    await c.close().catch(() => {});
    stop(g.child);
    sql('ALTER FUNCTION warden.credential_for_last_decision_gone() RENAME TO credential_for_last_decision');
  }
});

test('bad HTTP input gets the status codes of the specification', async () => {
  let r = await post('{"jsonrpc": "2.0", "id": 1,');
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, -32700);

  r = await post([initialize, { ...initialize, id: 2 }]);
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.code, -32600);

  r = await post(initialize, { 'Content-Type': 'text/plain' });
  assert.equal(r.status, 415);

  r = await post(initialize, { Accept: 'application/json' });
  assert.equal(r.status, 406);

  r = await post(JSON.stringify({ ...initialize, padding: 'x'.repeat(5 * 1024 * 1024) }));
  assert.equal(r.status, 413);

  r = await post(initialize, { 'MCP-Protocol-Version': '1999-01-01' });
  assert.equal(r.status, 400);

  r = await post(initialize, { Origin: 'https://evil.example' });
  assert.equal(r.status, 403);

  r = await post(initialize, { Origin: 'http://localhost:3000' });
  assert.equal(r.status, 200, 'a loopback Origin is fine');

  const port = new URL(url).port;
  const evilHost = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST',
      headers: { Host: `evil.example:${port}`, 'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream', Authorization: `Bearer ${token}` } },
    (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end(JSON.stringify(initialize));
  });
  assert.equal(evilHost, 403, 'DNS rebinding: a non-loopback Host on a loopback listener');

  r = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'Mcp-Session-Id': 'f'.repeat(32) });
  assert.equal(r.status, 404);

  r = await post({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
  assert.equal(r.status, 400, 'a request without a session id');

  const session = await rawSession(token);
  const call = { jsonrpc: '2.0', id: 7, method: 'tools/call',
    params: { name: 'everything__echo', arguments: { message: 'x' } } };
  r = await post(call, { 'Mcp-Session-Id': session, 'Mcp-Method': 'tools/list' });
  assert.equal(r.status, 400, 'Mcp-Method disagrees with the body');
  assert.equal((await r.json()).error.code, -32020);
  r = await post(call, { 'Mcp-Session-Id': session, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'files__write_file' });
  assert.equal(r.status, 400, 'Mcp-Name disagrees with the body');
  assert.equal((await r.json()).error.code, -32020);
  r = await post(call, { 'Mcp-Session-Id': session, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'everything__echo' });
  assert.equal(r.status, 200, 'matching routing headers are fine');
});

test('a call whose params hold a key that folds to name or arguments is refused, not forwarded', async () => {
  // warden decides on "arguments"; an upstream matching keys case-insensitively (Go's
  // encoding/json, which also folds U+017F to s) could run "argument\u017f" instead.
  const session = await rawSession(token);
  for (const params of [
    { name: 'everything__echo', arguments: { message: 'x' }, Arguments: { message: 'y' } },
    { name: 'everything__echo', arguments: { message: 'x' }, 'argument\u017f': { message: 'y' } },
    { name: 'everything__echo', NAME: 'everything__get-env', arguments: { message: 'x' } },
  ]) {
    const r = await post({ jsonrpc: '2.0', id: 9, method: 'tools/call', params }, { 'Mcp-Session-Id': session });
    const text = await r.text();
    assert.match(text, /-32602/, `not refused: ${JSON.stringify(params)} -> ${text.slice(0, 200)}`);
  }
});

test('a missing or invalid token gets 401 pointing at RFC 9728 metadata', async () => {
  let r = await post(initialize, { Authorization: '' });
  assert.equal(r.status, 401);
  const challenge = r.headers.get('www-authenticate');
  const m = challenge.match(/^Bearer resource_metadata="(http:\/\/[^"]+)"/);
  assert.ok(m, challenge);
  const metadata = await (await fetch(m[1])).json();
  assert.match(metadata.resource, /\/mcp$/);

  r = await post(initialize, { Authorization: 'Bearer v4.local.not-a-token' });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /invalid_token/);
});

test('a session is bound to its agent: another agent\'s token is refused', async () => {
  const mine = await rawSession(token);
  const r = await post({ jsonrpc: '2.0', id: 5, method: 'tools/list' },
    { 'Mcp-Session-Id': mine, Authorization: `Bearer ${otherToken}` });
  assert.equal(r.status, 403);
  const d = await fetch(url, { method: 'DELETE', headers: { 'Mcp-Session-Id': mine, Authorization: `Bearer ${otherToken}` } });
  assert.equal(d.status, 403);
});

// Review of 0.2.0: a session was re-bound to any token of the same agent, so a token the same
// agent holds for another person took over the session (its stream, and the requests a stdio
// upstream relays to it). Now a re-bind keeps the agent and the person.
test('a session is bound to its person: the same agent\'s token for someone else is refused', async () => {
  sql(`SELECT warden.add_human('mallory@example.com', 'Mallory')`);
  const hers = sqlValue(`SELECT token FROM warden.start_chain('mallory@example.com', 'triage-bot', 'e2e takeover')`);
  const mine = await rawSession(token);
  const r = await post({ jsonrpc: '2.0', id: 5, method: 'tools/list' },
    { 'Mcp-Session-Id': mine, Authorization: `Bearer ${hers}` });
  assert.equal(r.status, 403);
  assert.match(await r.text(), /another person/);
  // A renewed token of the same person and agent still re-binds.
  const renewed = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'e2e renewed')`);
  const ok = await post({ jsonrpc: '2.0', id: 6, method: 'tools/list' },
    { 'Mcp-Session-Id': mine, Authorization: `Bearer ${renewed}` });
  assert.equal(ok.status, 200);
});

test('DELETE ends a session', async () => {
  const id = await rawSession(token);
  const d = await fetch(url, { method: 'DELETE', headers: { 'Mcp-Session-Id': id, Authorization: `Bearer ${token}` } });
  assert.equal(d.status, 200);
  const r = await post({ jsonrpc: '2.0', id: 6, method: 'ping' }, { 'Mcp-Session-Id': id });
  assert.equal(r.status, 404);
});

test('the gateway keeps serving after bad input; healthz and metrics', async () => {
  const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'still here' } });
  assert.match(r.content[0].text, /still here/);
  const health = await fetch(new URL('/healthz', url));
  assert.equal(health.status, 200);
  const metrics = await (await fetch(new URL('/metrics', url))).text();
  assert.match(metrics, /warden_decisions_total\{outcome="allowed"\} [1-9]/);
  assert.match(metrics, /warden_decisions_total\{outcome="denied"\} [1-9]/);
  assert.match(metrics, /warden_decision_duration_seconds_count [1-9]/);
  assert.match(metrics, /warden_upstream_duration_seconds_count [1-9]/);
  assert.match(metrics, /warden_calls_in_flight 0/);
});

test('a server added in SQL appears without restart (LISTEN warden_events)', async () => {
  const port = new URL(sqlValue(`SELECT endpoint FROM warden.servers WHERE name = 'fixture'`)).port;
  sql(`SELECT warden.add_server('fixture2', 'http://127.0.0.1:${port}/mcp', 'http');
       SELECT warden.grant('triage-bot', 'fixture2/whoami');`);
  let names = [];
  for (let i = 0; i < 50 && !names.includes('fixture2__whoami'); i++) {
    await new Promise((res) => setTimeout(res, 100));
    names = (await client.listTools()).tools.map((t) => t.name);
  }
  assert.ok(names.includes('fixture2__whoami'), names.join(', '));
});

test('stdio mode: the same gateway over stdin/stdout', async () => {
  const tokenFile = path.join(folder, 'token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const c = new Client({ name: 'warden-e2e-stdio', version: '1.0.0' });
  await c.connect(new StdioClientTransport({
    command: binary,
    args: ['stdio', '--db', gatewayConninfo(), '--token-file', tokenFile, '--stdio-allow', stdioAllowFile],
    stderr: 'ignore',
  }));
  try {
    const { tools } = await c.listTools();
    assert.ok(tools.some((t) => t.name === 'everything__echo'));
    const r = await c.callTool({ name: 'everything__echo', arguments: { message: 'over stdio' } });
    assert.match(r.content[0].text, /over stdio/);
    const e = await callError(c, 'everything__get-sum', { a: 1, b: 2 });
    assert.match(e.message, /no_grant/);
  } finally {
    await c.close();
  }
});

test('fails closed when the database is unreachable', async () => {
  const down = await startProcess(binary, ['serve', '--db',
    'host=127.0.0.1 port=1 dbname=warden user=warden_gateway connect_timeout=2', '--listen', '127.0.0.1:0'],
  /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/);
  try {
    const base = `http://127.0.0.1:${down.match[1]}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 503);
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${token}` },
      body: JSON.stringify(initialize),
    });
    assert.equal(r.status, 503);
    assert.match((await r.json()).error.message, /decision service unavailable/);
  } finally {
    stop(down.child);
  }
});

test('reconnects by itself after losing its database connections', async () => {
  sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'warden_gateway'`);
  let result, refusals = 0;
  for (let i = 0; i < 40 && !result; i++) {
    try {
      result = await client.callTool({ name: 'everything__echo', arguments: { message: 'back again' } });
    } catch (e) {
      assert.match(e.message, /decision service unavailable/, 'a lost database is a refusal, never a pass');
      refusals++;
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  assert.ok(result, `no successful call after ${refusals} refusals`);
  assert.match(result.content[0].text, /back again/);
});

test('a revoked chain is denied on the very next call', async () => {
  const other = await connect(otherToken);
  try {
    const ok = await other.callTool({ name: 'everything__echo', arguments: { message: 'before' } });
    assert.match(ok.content[0].text, /before/);
    sql(`SELECT warden.revoke_chain(chain_id, 'e2e') FROM warden.events
         WHERE agent = 'other-bot' AND kind = 'call' LIMIT 1`);
    const e = await callError(other, 'everything__echo', { message: 'after' });
    assert.match(e.message, /warden denied everything__echo: (chain|token)_revoked/);
  } finally {
    await other.close();
  }
});

test('a stdio upstream that dies is started again', async () => {
  const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(gateway.child.pid)], { encoding: 'utf8' });
  const line = children.split('\n').find((l) => l.includes('server-everything'));
  assert.ok(line, children);
  process.kill(-Number(line.trim().split(/\s+/)[0]), 'SIGKILL');  // its own process group
  await new Promise((res) => setTimeout(res, 300));
  const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'restarted' } });
  assert.match(r.content[0].text, /restarted/);
});

// Finding 8 of the 0.1.0 review: prompts, resources and resource templates are listed only as
// far as the session's token may use them, like tools; reading or getting one that is not
// listed is still decided (and refused, and audited) by warden.authorize.
test('resources/read and prompts/get go through the same decision; lists are filtered by grants', async () => {
  sql(`SELECT warden.add_agent('lister-bot', 'alice@example.com');
       SELECT warden.grant('lister-bot', 'everything/*');`);
  const lister = await connect(sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
      'lister-bot', 'e2e lists')`));
  let all;
  let allPrompts;
  try {
    ({ resources: all } = await lister.listResources());
    ({ prompts: allPrompts } = await lister.listPrompts());
  } finally {
    await lister.close();
  }
  const everythingResource = all.find((r) => !r.uri.startsWith('fixture'));
  assert.ok(everythingResource, 'server-everything lists resources to an agent granted everything/*');
  const { resources } = await client.listResources();
  assert.ok(!resources.some((r) => r.uri === everythingResource.uri),
    'a resource the agent may not read is not listed');
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.every((p) => !p.name.startsWith('everything__')), 'ungranted prompts are not listed');
  let e;
  try {
    await client.readResource({ uri: everythingResource.uri });
  } catch (err) {
    e = err;
  }
  assert.ok(e, 'reading an ungranted resource was not refused');
  assert.equal(e.code, -32001);
  assert.match(e.message, /no_grant/);
  const everythingPrompt = allPrompts.find((p) => p.name.startsWith('everything__'));
  assert.ok(everythingPrompt, 'server-everything lists prompts');
  e = undefined;
  try {
    await client.getPrompt({ name: everythingPrompt.name, arguments: {} });
  } catch (err) {
    e = err;
  }
  assert.ok(e, 'an ungranted prompt was not refused');
  assert.match(e.message, /warden denied .*: no_grant/);
  const audited = sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'
                            AND tool = ${quote(everythingResource.uri)} AND NOT allowed`);
  assert.equal(audited, '1');
});

// Finding 8: after revoke_token, a session's relayed requests (completion/complete, lists)
// are refused too, not only its tool calls.
test('a revoked token\'s session reaches no upstream any more', async () => {
  const [[chainId, revokedToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'triage-bot', 'e2e revoked session')`);
  const tokenId = sqlValue(`SELECT token_id FROM warden.tokens WHERE chain_id = ${quote(chainId)}`);
  const doomed = await connect(revokedToken);
  try {
    await doomed.listPrompts();
    sql(`SELECT warden.revoke_token(${quote(tokenId)}, 'e2e: revoked session')`);
    await new Promise((res) => setTimeout(res, 300));
    for (const attempt of [
      () => doomed.complete({ ref: { type: 'ref/prompt', name: 'everything__complex_prompt' },
        argument: { name: 'temperature', value: '1' } }),
      () => doomed.listPrompts(),
      () => doomed.listResources(),
    ]) {
      let e;
      try {
        await attempt();
      } catch (err) {
        e = err;
      }
      assert.ok(e, 'a request of a revoked session was relayed');
      assert.match(e.message, /token_revoked/);
    }
  } finally {
    await doomed.close();
  }
});

test('--agent-token-file: a loopback gateway uses that token when a request has none', async () => {
  const tokenFile = path.join(folder, 'agent-token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const g = await startGateway(['--agent-token-file', tokenFile]);
  try {
    const r = await fetch(`http://127.0.0.1:${g.match[1]}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initialize),
    });
    assert.equal(r.status, 200);
    assert.ok(r.headers.get('mcp-session-id'));
  } finally {
    stop(g.child);
  }
});

test('revoking a chain aborts its call in flight at once', async () => {
  const [[chain, slowToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'slow-bot', 'e2e slow')`);
  const slow = await connect(slowToken);
  try {
    const started = Date.now();
    const call = slow.callTool({ name: 'everything__trigger-long-running-operation',
      arguments: { duration: 20, steps: 4 } }).then(() => null, (e) => e);
    await new Promise((res) => setTimeout(res, 700));
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'e2e: abort in flight')`);
    const e = await call;
    assert.ok(e, 'the call finished instead of being aborted');
    assert.match(e.message, /warden revoked everything__trigger-long-running-operation while it ran: chain_revoked/);
    assert.ok(Date.now() - started < 10000, 'aborted long before the upstream would have finished');
    const outcome = await settled(() => sqlValue(`SELECT e.reason FROM warden.events e JOIN warden.events p
                              ON e.parent_id = p.event_id
                              WHERE e.kind = 'completed' AND p.chain_id = ${quote(chain)}`), (v) => v === 'revoked');
    assert.equal(outcome, 'revoked');
  } finally {
    await slow.close();
  }
});

// Finding 9 of the 0.1.0 review (spoofed_notify_aborts_calls): any database login can NOTIFY
// warden_events. A forged notice in 0.1.0's format naming the chain no longer aborts its call
// in flight: the gateway asks warden.dead_tokens, which says the token is alive. The real
// revocation afterwards still aborts it.
test('a forged revocation notice does not abort a call in flight', async () => {
  const [[chain, slowToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'slow-bot', 'e2e forged notice')`);
  const slow = await connect(slowToken);
  try {
    let finished = false;
    const call = slow.callTool({ name: 'everything__trigger-long-running-operation',
      arguments: { duration: 20, steps: 4 } }).then(() => null, (e) => e).finally(() => { finished = true; });
    await new Promise((res) => setTimeout(res, 700));
    const tokenId = sqlValue(`SELECT token_id FROM warden.tokens WHERE chain_id = ${quote(chain)}`);
    sql(`SELECT pg_notify('warden_events', ${quote(JSON.stringify({ kind: 'chain', chain_id: chain,
      token_ids: [tokenId], token_count: 1 }))})`);
    sql(`SELECT pg_notify('warden_events', '{"kind": "revocation"}')`);
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(finished, false, 'a forged notice aborted the call');
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'e2e: after the forged notice')`);
    const e = await call;
    assert.ok(e, 'the real revocation did not abort the call');
    assert.match(e.message, /chain_revoked/);
  } finally {
    await slow.close();
  }
});

// Finding 10 of the 0.1.0 review (progress_crosses_sessions): two sessions on the same stdio
// upstream choose the same progress token (the SDK uses the request id); each must receive
// exactly its own progress, with its own token.
test('progress notifications stay with their session', async () => {
  const tokens = sql(`SELECT s.token FROM generate_series(1, 2) i,
      warden.start_chain('alice@example.com', 'slow-bot', 'e2e progress ' || i) s`).map((r) => r[0]);
  const [a, b] = await Promise.all(tokens.map((t) => connect(t)));
  try {
    const seen = { a: [], b: [] };
    const call = (c, who) => c.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 2, steps: 4 } },
      undefined, { onprogress: (p) => seen[who].push(p.progress) });
    await Promise.all([call(a, 'a'), call(b, 'b')]);
    assert.equal(seen.a.length, 4, `session A got ${seen.a.length} progress notifications`);
    assert.equal(seen.b.length, 4, `session B got ${seen.b.length} progress notifications`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

// Finding 17 of the 0.1.0 review: a stdio upstream's own requests (sampling, elicitation,
// roots) were refused although the README said they were relayed. The stdio child (one per
// agent) now asks the agent whose call is running, and gets the agent's answer back.
test('a stdio upstream\'s sampling request reaches the agent and its answer goes back', async () => {
  const bearer = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
      'sampling-bot', 'e2e sampling')`);
  const c = new Client({ name: 'warden-e2e-sampling', version: '1.0.0' }, { capabilities: { sampling: {} } });
  const asked = [];
  c.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    asked.push(request.params.messages[0].content.text);
    return { model: 'e2e-model', role: 'assistant', content: { type: 'text', text: 'sampled by the agent' } };
  });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  }));
  try {
    const r = await c.callTool({ name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'from the e2e test', maxTokens: 5 } });
    assert.ok(!r.isError, `the call failed: ${JSON.stringify(r)}`);
    assert.match(r.content[0].text, /sampled by the agent/);
    assert.equal(asked.length, 1, 'the agent was asked once');
    assert.match(asked[0], /from the e2e test/);
  } finally {
    await c.close();
  }
});

// Findings 14 and 15 of the 0.1.0 review: a tool name holding NUL was decided as the name
// before the NUL and forwarded whole; arguments holding \u0000 failed the ::jsonb cast, so the
// call was neither decided nor audited. Now the name is invalid params, and such arguments are
// decided (denied, invalid_arguments) and audited, without their text.
test('a name holding NUL is refused; arguments holding NUL are denied and audited', async () => {
  const session = await rawSession(token);
  const headers = { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-06-18' };
  let r = await post({ jsonrpc: '2.0', id: 71, method: 'tools/call',
    params: { name: 'everything__echo\u0000forged', arguments: { message: 'x' } } }, headers);
  let body = await r.text();
  assert.match(body, /-32602/, `a NUL in the name: ${body}`);
  const before = Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'
                                  AND tool = 'echo' AND reason = 'invalid_arguments'`));
  r = await post({ jsonrpc: '2.0', id: 72, method: 'tools/call',
    params: { name: 'everything__echo', arguments: { message: 'a\u0000b', password: 'hunter2' } } }, headers);
  body = await r.text();
  assert.match(body, /invalid_arguments/, `a NUL in the arguments: ${body}`);
  const after = Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'
                                 AND tool = 'echo' AND reason = 'invalid_arguments'`));
  assert.equal(after, before + 1, 'the call was decided and audited');
  assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE strpos(arguments::text, 'hunter2') > 0
                         OR strpos(detail::text, 'hunter2') > 0`), '0');
});

// Finding 11 of the 0.1.0 review (upstream_session_shared_between_agents): one upstream
// session (over stdio, one child) was opened with the first caller's credential and carried
// every later agent's requests. Now each agent has its own: two agents calling the same stdio
// upstream run on two processes.
test('each agent has its own upstream session: two agents, two stdio processes', async () => {
  const other = await connect(sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
      'other-bot', 'e2e own upstream')`));
  try {
    await client.callTool({ name: 'everything__echo', arguments: { message: 'mine' } });
    await other.callTool({ name: 'everything__echo', arguments: { message: 'theirs' } });
    const children = execFileSync('ps', ['-o', 'pid=,user=,args=', '--ppid', String(gateway.child.pid)],
      { encoding: 'utf8' }).split('\n').filter((l) => l.includes('server-everything'));
    assert.ok(children.length >= 2, `expected a server-everything per agent: ${children.join(' | ')}`);
  } finally {
    await other.close();
  }
});

// Routing a resources/read to its upstream used to list the resources of every upstream as the
// caller, starting the caller's own process on each stdio upstream, whatever its grants. Now
// only upstreams whose grants could let it read the URI are asked: none here.
test('reading a resource starts no upstream the caller has no grant on', async () => {
  const reader = await connect(sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
      'uri-bot', 'e2e routing')`));
  const children = () => execFileSync('ps', ['-o', 'pid=', '--ppid', String(gateway.child.pid)],
    { encoding: 'utf8' }).split('\n').filter((l) => l.trim()).length;
  try {
    const before = children();
    await assert.rejects(reader.readResource({ uri: 'test://static/resource/1' }));
    assert.equal(children(), before, 'an upstream process was started to route an ungranted read');
  } finally {
    await reader.close();
  }
});
