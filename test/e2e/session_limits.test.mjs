// What one agent's token may hold of the gateway's memory: at most --max-sessions-per-token
// sessions (3 here). One more ends that token's least recently used session (its GET stream
// ends too), never a session of another token; warden_sessions_evicted_total counts them.
// Without the limit a token could open sessions until the gateway ran out of memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, sql, sqlValue, startGateway, startToolUpstream, stop } from './harness.mjs';

let gateway, base, upstream, tokenA, tokenB;

const headers = (token, session) => ({
  'content-type': 'application/json', accept: 'application/json, text/event-stream',
  authorization: `Bearer ${token}`, ...(session ? { 'mcp-session-id': session } : {}),
});

async function open(token) {
  const r = await fetch(`${base}/mcp`, {
    method: 'POST', headers: headers(token),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {
      protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'limits', version: '1' } } }),
  });
  const body = await r.text();
  assert.equal(r.status, 200, body);
  return r.headers.get('mcp-session-id');
}

// tools/list on the session: its HTTP status (404 once the session is gone).
async function use(token, session) {
  const r = await fetch(`${base}/mcp`, {
    method: 'POST', headers: { ...headers(token, session), 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  await r.text();
  return r.status;
}

const evicted = async () => Number((await (await fetch(`${base}/metrics`)).text())
  .match(/^warden_sessions_evicted_total (\d+)$/m)[1]);

before(async () => {
  freshDatabase();
  upstream = await startToolUpstream(['read'], () => ({ result: { content: [{ type: 'text', text: 'x' }] } }));
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('busy-bot', 'alice@example.com');
       SELECT warden.add_server('up', 'http://127.0.0.1:${upstream.address().port}/mcp', 'http');
       SELECT warden.grant('busy-bot', 'up/read');`);
  gateway = await startGateway(['--max-sessions-per-token', '3']);
  base = `http://127.0.0.1:${gateway.match[1]}`;
  tokenA = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'busy-bot', 'a')`);
  tokenB = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'busy-bot', 'b')`);
});

after(() => {
  stop(gateway?.child);
  upstream?.close();
});

test('a token\'s fourth session ends its least recently used one, and only that one', async () => {
  const b = [await open(tokenB), await open(tokenB)];
  const a = [];
  for (let i = 0; i < 3; i++) {
    a.push(await open(tokenA));
    await new Promise((res) => setTimeout(res, 5));
  }
  // The second opens its GET stream, then the first and the third are used again: the second
  // is now the least recently used (an open stream is no use).
  const stream = await fetch(`${base}/mcp`, {
    headers: { ...headers(tokenA, a[1]), accept: 'text/event-stream', 'mcp-protocol-version': '2025-06-18' },
  });
  assert.equal(stream.status, 200);
  // Settles when the gateway ends the body (or the connection).
  const streamEnded = stream.text().then(() => 'ended', () => 'ended');
  await new Promise((res) => setTimeout(res, 5));
  assert.equal(await use(tokenA, a[0]), 200);
  await new Promise((res) => setTimeout(res, 5));
  assert.equal(await use(tokenA, a[2]), 200);
  assert.equal(await evicted(), 0);

  a.push(await open(tokenA));
  assert.equal(await use(tokenA, a[1]), 404, 'the least recently used session of that token is gone');
  assert.equal(await Promise.race([streamEnded, new Promise((res) => setTimeout(() => res('open'), 5000))]), 'ended',
    'its GET stream was ended');
  for (const s of [a[0], a[2], a[3]]) assert.equal(await use(tokenA, s), 200);
  for (const s of b) assert.equal(await use(tokenB, s), 200, 'another token\'s sessions are untouched');
  assert.equal(await evicted(), 1);

  // A token may go on opening sessions; it only ever loses its own oldest.
  for (let i = 0; i < 10; i++) await open(tokenA);
  assert.equal(await evicted(), 11);
  for (const s of b) assert.equal(await use(tokenB, s), 200);
});
