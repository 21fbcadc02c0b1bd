// What one agent may hold of the gateway's memory: at most --max-sessions-per-agent sessions
// (3 here) for one person, however many tokens it has. One more ends that pair's least
// recently used session (its GET stream ends too), never a session of another agent or person;
// warden_sessions_evicted_total counts them. Without the limit an agent could open sessions
// until the gateway ran out of memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freshDatabase, sql, sqlValue, startGateway, startToolUpstream, stop } from './harness.mjs';

let gateway, base, upstream, tokenA, tokenA2, tokenB, tokenC;

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
       SELECT warden.add_human('bob@example.com', 'Bob');
       SELECT warden.add_agent('busy-bot', 'alice@example.com');
       SELECT warden.add_agent('other-bot', 'alice@example.com');
       SELECT warden.add_server('up', 'http://127.0.0.1:${upstream.address().port}/mcp', 'http');
       SELECT warden.grant('busy-bot', 'up/read');
       SELECT warden.grant('other-bot', 'up/read');`);
  gateway = await startGateway(['--max-sessions-per-agent', '3']);
  base = `http://127.0.0.1:${gateway.match[1]}`;
  // Two tokens (two chains) of busy-bot for alice: one agent for one person.
  tokenA = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'busy-bot', 'a')`);
  tokenA2 = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'busy-bot', 'a2')`);
  tokenB = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'other-bot', 'b')`);
  tokenC = sqlValue(`SELECT token FROM warden.start_chain('bob@example.com', 'busy-bot', 'c')`);
});

after(() => {
  stop(gateway?.child);
  upstream?.close();
});

const pause = () => new Promise((res) => setTimeout(res, 5));

test('an agent\'s fourth session for one person ends its least recently used one, whatever the token', async () => {
  const b = [await open(tokenB), await open(tokenB)];
  const c = [await open(tokenC), await open(tokenC)];
  const a = [await open(tokenA)];
  await pause();
  a.push(await open(tokenA));
  await pause();
  a.push(await open(tokenA2));
  await pause();
  // The second opens its GET stream, then the first and the third are used again: the second
  // is now the least recently used (an open stream is no use).
  const stream = await fetch(`${base}/mcp`, {
    headers: { ...headers(tokenA, a[1]), accept: 'text/event-stream', 'mcp-protocol-version': '2025-06-18' },
  });
  assert.equal(stream.status, 200);
  // Settles when the gateway ends the body (or the connection).
  const streamEnded = stream.text().then(() => 'ended', () => 'ended');
  await pause();
  assert.equal(await use(tokenA, a[0]), 200);
  await pause();
  assert.equal(await use(tokenA2, a[2]), 200);
  assert.equal(await evicted(), 0);

  // A fourth, with the second token: a new token does not start a new count.
  a.push(await open(tokenA2));
  assert.equal(await use(tokenA, a[1]), 404, 'the least recently used session of busy-bot for alice is gone');
  assert.equal(await Promise.race([streamEnded, new Promise((res) => setTimeout(() => res('open'), 5000))]), 'ended',
    'its GET stream was ended');
  assert.equal(await use(tokenA, a[0]), 200);
  for (const s of [a[2], a[3]]) assert.equal(await use(tokenA2, s), 200);
  for (const s of b) assert.equal(await use(tokenB, s), 200, 'another agent\'s sessions for alice are untouched');
  for (const s of c) assert.equal(await use(tokenC, s), 200, 'busy-bot\'s sessions for bob are untouched');
  assert.equal(await evicted(), 1);

  // It may go on opening sessions; it only ever loses its own oldest.
  for (let i = 0; i < 10; i++) await open(i % 2 ? tokenA : tokenA2);
  assert.equal(await evicted(), 11);
  for (const s of b) assert.equal(await use(tokenB, s), 200);
  for (const s of c) assert.equal(await use(tokenC, s), 200);
});
