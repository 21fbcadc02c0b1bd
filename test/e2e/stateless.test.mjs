// MCP 2026-07-28 (no session, per-request _meta) next to the 2025 session revisions on the one
// /mcp of warden-mcp: both governed and audited at the same time; a stateless call in flight is
// aborted by a kill and cancelled by its client disconnecting; the envelope's security checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freshDatabase, here, quote, settled, sql, sqlValue, startGateway, stop } from './harness.mjs';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-stateless-'));
const faultsLog = path.join(folder, 'faults.log');
fs.chmodSync(folder, 0o755);
fs.writeFileSync(faultsLog, '');
fs.chmodSync(faultsLog, 0o666);
let gateway, url;

const VERSION = '2026-07-28';
const envelope = (extra = {}) => ({
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'warden-e2e-stateless', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
  ...extra,
});
let nextId = 1;

// One stateless request: raw HTTP, as the 2026-07-28 transport defines it. Returns the HTTP
// status and the JSON-RPC response (the last message of an event stream).
async function post(token, method, params = {}, { headers = {}, meta, signal, id = nextId++ } = {}) {
  const name = params.name ?? params.uri;
  const h = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': VERSION,
    'Mcp-Method': method,
    ...(name !== undefined ? { 'Mcp-Name': name } : {}),
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
    ...headers,
  };
  const body = { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta ?? envelope() } };
  const res = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify(body), signal });
  const text = await res.text();
  let message;
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    message = events.findLast((e) => e.id === id);
  } else {
    message = text ? JSON.parse(text) : undefined;
  }
  return { status: res.status, message };
}

async function connect(token) {
  const c = new Client({ name: 'warden-e2e-stateful', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  return c;
}

function chain(agent, purpose) {
  const [[chainId, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      ${quote(agent)}, ${quote(purpose)})`);
  return { chainId, token };
}

// The outcome warden recorded for the call decided as event `eventId`.
function outcomeOf(chainId, marker) {
  return settled(() => sqlValue(`SELECT c.reason FROM warden.events c JOIN warden.events p
      ON c.parent_id = p.event_id WHERE c.kind = 'completed' AND p.chain_id = ${quote(chainId)}
      AND p.arguments->>'marker' = ${quote(marker)}`), (v) => v !== undefined, 5000);
}

function faultLines() {
  return fs.readFileSync(faultsLog, 'utf8').split('\n').filter(Boolean);
}

before(async () => {
  freshDatabase();
  const faults = `node ${path.join(here, 'fixture-faults.mjs')} --log ${faultsLog}`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('stateless-bot', 'alice@example.com');
       SELECT warden.add_agent('session-bot', 'alice@example.com');
       SELECT warden.add_server('faults', ${quote(faults)}, 'stdio');
       SELECT warden.grant('stateless-bot', 'faults/sleep');
       SELECT warden.grant('session-bot', 'faults/sleep');`);
  gateway = await startGateway();
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  stop(gateway?.child);
  fs.rmSync(folder, { recursive: true, force: true });
});

test('server/discover names the stateless and the session revisions', async () => {
  const { token } = chain('stateless-bot', 'discover');
  const { status, message } = await post(token, 'server/discover');
  assert.equal(status, 200);
  assert.deepEqual(message.result.supportedVersions, ['2026-07-28', '2025-11-25', '2025-06-18']);
  assert.equal(message.result.resultType, 'complete');
  assert.ok(message.result.capabilities.tools);
  assert.equal(message.result._meta['io.modelcontextprotocol/serverInfo'].name, 'warden-mcp');
  // Without a token: the same challenge as any request.
  assert.equal((await post(undefined, 'server/discover')).status, 401);
});

test('a stateless and a stateful client at once: both decided and audited', async () => {
  const s = chain('stateless-bot', 'stateless client');
  const f = chain('session-bot', 'stateful client');
  const stateful = await connect(f.token);
  try {
    const listed = await post(s.token, 'tools/list');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.message.result.tools.map((t) => t.name), ['faults__sleep']);
    assert.equal(listed.message.result.cacheScope, 'private');
    const [a, b, denied] = await Promise.all([
      post(s.token, 'tools/call', { name: 'faults__sleep', arguments: { ms: 200, marker: 'both-stateless' } }),
      stateful.callTool({ name: 'faults__sleep', arguments: { ms: 200, marker: 'both-stateful' } }),
      post(s.token, 'tools/call', { name: 'faults__crash', arguments: { ms: 1 } }),
    ]);
    assert.equal(a.status, 200);
    assert.equal(a.message.result.resultType, 'complete');
    assert.deepEqual(a.message.result.content, [{ type: 'text', text: 'slept 200' }]);
    assert.deepEqual(b.content, [{ type: 'text', text: 'slept 200' }]);
    assert.equal(denied.message.error.code, -32001);
    assert.equal(await outcomeOf(s.chainId, 'both-stateless'), 'ok');
    assert.equal(await outcomeOf(f.chainId, 'both-stateful'), 'ok');
    const [[transport, version, session]] = sql(`SELECT detail->'context'->>'transport',
        detail->'context'->>'protocol_version', detail->'context'->>'session' FROM warden.events
        WHERE chain_id = ${quote(s.chainId)} AND kind = 'call' AND arguments->>'marker' = 'both-stateless'`);
    assert.deepEqual([transport, version, session], ['http', VERSION, '']);
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE chain_id = ${quote(s.chainId)}
        AND kind = 'call' AND NOT allowed`), '1');
  } finally {
    await stateful.close();
  }
});

test('the agent\'s traceparent is recorded with the decision', async () => {
  const s = chain('stateless-bot', 'traceparent');
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const r = await post(s.token, 'tools/call', { name: 'faults__sleep', arguments: { ms: 1, marker: 'traced' } },
    { meta: envelope({ traceparent }) });
  assert.equal(r.status, 200);
  assert.equal(sqlValue(`SELECT detail->'context'->>'traceparent' FROM warden.events
      WHERE chain_id = ${quote(s.chainId)} AND kind = 'call'`), traceparent);
});

test('a kill aborts a stateless call in flight', async () => {
  const s = chain('stateless-bot', 'killed');
  const call = post(s.token, 'tools/call', { name: 'faults__sleep', arguments: { ms: 10000, marker: 'killed' } });
  await new Promise((res) => setTimeout(res, 400));
  sql(`SELECT warden.revoke_chain(${quote(s.chainId)}, 'e2e kill')`);
  const { message } = await call;
  assert.match(message.error.message, /warden revoked faults__sleep while it ran: chain_revoked/);
  assert.equal(await outcomeOf(s.chainId, 'killed'), 'revoked');
  await settled(faultLines, (l) => l.some((x) => x.startsWith('cancelled killed ')));
  assert.ok(faultLines().some((l) => l.startsWith('cancelled killed ') && l.includes('chain_revoked')));
});

test('a stateless client that disconnects has cancelled: upstream told, call completed cancelled', async () => {
  const s = chain('stateless-bot', 'disconnect');
  const abort = new AbortController();
  const call = post(s.token, 'tools/call', { name: 'faults__sleep', arguments: { ms: 10000, marker: 'gone' } },
    { signal: abort.signal }).catch((e) => e);
  await new Promise((res) => setTimeout(res, 400));
  abort.abort();
  await call;
  assert.equal(await outcomeOf(s.chainId, 'gone'), 'cancelled');
  const lines = await settled(faultLines, (l) => l.some((x) => x.startsWith('cancelled gone ')));
  assert.ok(lines.some((l) => l.startsWith('cancelled gone ') && l.includes('client disconnected')), lines.join(' | '));
});

test('notifications/cancelled cancels only the sender\'s own request', async () => {
  const mine = chain('stateless-bot', 'cancel mine');
  const other = chain('session-bot', 'cancel other');
  const id = 90001;
  const call = post(mine.token, 'tools/call', { name: 'faults__sleep', arguments: { ms: 1500, marker: 'not-theirs' } }, { id });
  await new Promise((res) => setTimeout(res, 300));
  // Another agent names the same request id: nothing happens to this call.
  const cancel = (token, requestId) => fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': VERSION, Authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled',
      params: { requestId, reason: 'e2e', _meta: envelope() } }),
  });
  assert.equal((await cancel(other.token, id)).status, 202);
  const { message } = await call;
  assert.deepEqual(message.result.content, [{ type: 'text', text: 'slept 1500' }]);
  assert.equal(await outcomeOf(mine.chainId, 'not-theirs'), 'ok');
  // Its own agent cancels it.
  const again = post(mine.token, 'tools/call', { name: 'faults__sleep', arguments: { ms: 10000, marker: 'mine' } }, { id: id + 1 });
  await new Promise((res) => setTimeout(res, 300));
  assert.equal((await cancel(mine.token, id + 1)).status, 202);
  const cancelled = await again;
  assert.equal(cancelled.message.error.code, -32800);
  assert.equal(await outcomeOf(mine.chainId, 'mine'), 'cancelled');
});

test('security: header/body mismatch, downgrade, foreign session, bad token, oversized _meta', async () => {
  const s = chain('stateless-bot', 'security');
  const call = { name: 'faults__sleep', arguments: { ms: 1, marker: 'never' } };
  // Mcp-Name says one tool, the body calls another.
  let r = await post(s.token, 'tools/call', call, { headers: { 'Mcp-Name': 'faults__crash' } });
  assert.deepEqual([r.status, r.message.error.code], [400, -32020]);
  r = await post(s.token, 'tools/call', call, { headers: { 'Mcp-Method': 'tools/list' } });
  assert.deepEqual([r.status, r.message.error.code], [400, -32020]);
  // Downgrade either way: the header names a session revision, _meta the stateless one, or
  // the reverse; both are refused, never served as a session request.
  r = await post(s.token, 'tools/call', call, { headers: { 'MCP-Protocol-Version': '2025-11-25' } });
  assert.deepEqual([r.status, r.message.error.code], [400, -32020]);
  r = await post(s.token, 'tools/call', call, {
    meta: envelope({ 'io.modelcontextprotocol/protocolVersion': '2025-11-25' }) });
  assert.deepEqual([r.status, r.message.error.code], [400, -32020]);
  r = await post(s.token, 'tools/call', call, {
    headers: { 'MCP-Protocol-Version': 'v999' }, meta: envelope({ 'io.modelcontextprotocol/protocolVersion': 'v999' }) });
  assert.deepEqual([r.status, r.message.error.code, r.message.error.data.requested], [400, -32022, 'v999']);
  // A session of another agent named by a stateless request: refused, not ridden.
  const other = chain('session-bot', 'owns a session');
  const stateful = await connect(other.token);
  try {
    const sid = stateful.transport.sessionId;
    assert.ok(sid);
    r = await post(s.token, 'tools/call', call, { headers: { 'Mcp-Session-Id': sid } });
    assert.equal(r.status, 400);
    assert.equal(r.message.error.code, -32600);
  } finally {
    await stateful.close();
  }
  // A token that is not one, and one that was revoked.
  r = await post('v4.local.not-a-token', 'tools/call', call);
  assert.equal(r.status, 401);
  const revoked = chain('stateless-bot', 'revoked before use');
  sql(`SELECT warden.revoke_chain(${quote(revoked.chainId)}, 'e2e')`);
  r = await post(revoked.token, 'tools/call', call);
  assert.ok(r.status === 401 || r.message.error.code === -32001, JSON.stringify(r));
  // _meta over 16 KiB.
  r = await post(s.token, 'tools/call', call, { meta: envelope({ 'com.example/pad': 'x'.repeat(17000) }) });
  assert.deepEqual([r.status, r.message.error.code], [400, -32602]);
  // Missing envelope keys.
  r = await post(s.token, 'tools/list', {}, { meta: {} });
  assert.deepEqual([r.status, r.message.error.code], [400, -32602]);
  // Removed methods.
  r = await post(s.token, 'ping');
  assert.deepEqual([r.status, r.message.error.code], [404, -32601]);
  r = await post(s.token, 'initialize');
  assert.deepEqual([r.status, r.message.error.code], [404, -32601]);
  assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'
      AND arguments->>'marker' = 'never'`), '0');
});
