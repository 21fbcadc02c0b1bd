// Kept-alive upstream connections (issue 18), from an attacker's side: an upstream HTTP
// connection is reused only by the agent whose upstream session it carries, and a connection
// that still holds anything after a response (bytes sent unasked, the rest of an event stream)
// is never used again, so no stale or smuggled answer reaches any call.
// The upstream here is hand-written on node:http so that it can misbehave at the byte level.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freshDatabase, quote, sql, sqlValue, startGateway, stop } from './harness.mjs';

let upstream, gateway, url;
const tokens = {};
// Every request the upstream received: {socket, session, method, tool}.
const seen = [];
let nextSocket = 1;
let nextSession = 1;

function jsonReply(res, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text),
    ...headers });
  res.end(text);
}

const textResult = (id, text) => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });

// A complete HTTP response holding a tools/call result, as raw bytes: what a malicious upstream
// slips after a genuine response, hoping it is read as the answer to the next request.
function smuggled(id) {
  const body = JSON.stringify(textResult(id, 'SMUGGLED'));
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}`
    + `\r\n\r\n${body}`;
}

function answer(req, res, message) {
  const socket = req.socket.warden_id ??= nextSocket++;
  const session = req.headers['mcp-session-id'] ?? null;
  const tool = message.params?.name ?? null;
  seen.push({ socket, session, method: message.method, tool });
  if (message.method === 'initialize') {
    return jsonReply(res, { jsonrpc: '2.0', id: message.id, result: {
      protocolVersion: message.params.protocolVersion, capabilities: { tools: {} },
      serverInfo: { name: 'raw-upstream', version: '1.0.0' } } },
    { 'Mcp-Session-Id': `session-${nextSession++}` });
  }
  if (message.id === undefined) {
    res.writeHead(202, { 'Content-Length': 0 });
    return res.end();
  }
  if (message.method === 'tools/list') {
    const tools = ['whoami', 'smuggle', 'stream-then-more', 'close'].map((name) => ({
      name, description: name, inputSchema: { type: 'object' } }));
    return jsonReply(res, { jsonrpc: '2.0', id: message.id, result: { tools } });
  }
  if (message.method !== 'tools/call') {
    return jsonReply(res, { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'no' } });
  }
  const mine = JSON.stringify({ socket, session });
  if (tool === 'smuggle') {
    // The genuine answer, then a second response in the same write that nothing asked for
    // (Content-Length counts the genuine body only).
    const body = JSON.stringify(textResult(message.id, mine));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body + smuggled(message.id + 1));
    return undefined;
  }
  if (tool === 'stream-then-more') {
    // The response as an event, then the stream stays open and more comes: a later event
    // carrying an answer for the next request id.
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(`event: message\ndata: ${JSON.stringify(textResult(message.id, mine))}\n\n`);
    setTimeout(() => {
      res.end(`event: message\ndata: ${JSON.stringify(textResult(message.id + 1, 'STALE'))}\n\n`);
    }, 20);
    return undefined;
  }
  if (tool === 'close') return jsonReply(res, textResult(message.id, mine), { Connection: 'close' });
  // whoami; after a genuine, complete response, unasked bytes on the idle connection.
  jsonReply(res, textResult(message.id, mine));
  if (message.params?.arguments?.then_junk) req.socket.write(smuggled(message.id + 1));
  return undefined;
}

function startUpstream() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => answer(req, res, JSON.parse(body)));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function connect(agent) {
  const c = new Client({ name: `pool-${agent}`, version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${tokens[agent]}` } },
  }));
  return c;
}

async function call(client, tool, args = {}) {
  const r = await client.callTool({ name: `raw__${tool}`, arguments: args });
  assert.ok(!r.isError, JSON.stringify(r));
  const text = r.content[0].text;
  assert.ok(!text.includes('SMUGGLED') && !text.includes('STALE'), `a stale answer arrived: ${text}`);
  return JSON.parse(text);
}

before(async () => {
  freshDatabase();
  upstream = await startUpstream();
  const endpoint = `http://127.0.0.1:${upstream.address().port}/mcp`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('pool-a', 'alice@example.com');
       SELECT warden.add_agent('pool-b', 'alice@example.com');
       SELECT warden.add_server('raw', ${quote(endpoint)}, 'http');
       SELECT warden.grant('pool-a', 'raw/*');
       SELECT warden.grant('pool-b', 'raw/*');`);
  for (const agent of ['pool-a', 'pool-b']) {
    tokens[agent] = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
                              ${quote(agent)}, 'pool', ttl => '1 hour')`);
  }
  gateway = await startGateway(['--upstream-keepalive', '600']);
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  stop(gateway?.child);
  upstream?.closeAllConnections?.();
  upstream?.close();
});

test('one agent\'s calls reuse its kept-alive upstream connection', async () => {
  const a = await connect('pool-a');
  const first = await call(a, 'whoami');
  const second = await call(a, 'whoami');
  const third = await call(a, 'whoami');
  assert.equal(second.socket, first.socket);
  assert.equal(third.socket, first.socket);
  await a.close();
});

test('a connection carries one agent\'s upstream session only, even under concurrency', async () => {
  const [a, b] = await Promise.all([connect('pool-a'), connect('pool-b')]);
  const results = await Promise.all([...Array(8).keys()].flatMap(() => [call(a, 'whoami'), call(b, 'whoami')]));
  const sessions = new Set(results.map((r) => r.session));
  assert.equal(sessions.size, 2, 'each agent has its own upstream session');
  // Over every request the upstream saw: each connection named at most one session.
  const bySocket = new Map();
  for (const r of seen.filter((s) => s.session)) {
    if (!bySocket.has(r.socket)) bySocket.set(r.socket, new Set());
    bySocket.get(r.socket).add(r.session);
  }
  for (const [socket, s] of bySocket) assert.equal(s.size, 1, `connection ${socket} carried ${[...s]}`);
  await Promise.all([a.close(), b.close()]);
});

test('a response followed by a smuggled second response: the connection is dropped', async () => {
  const [a, b] = await Promise.all([connect('pool-a'), connect('pool-b')]);
  const smuggler = await call(a, 'smuggle');
  // Neither the same agent's next call nor another agent's reads the smuggled bytes.
  const next = await call(a, 'whoami');
  const other = await call(b, 'whoami');
  assert.notEqual(next.socket, smuggler.socket);
  assert.notEqual(other.socket, smuggler.socket);
  await Promise.all([a.close(), b.close()]);
});

test('bytes sent unasked on an idle connection are never read as an answer', async () => {
  const a = await connect('pool-a');
  const junk = await call(a, 'whoami', { then_junk: true });
  const next = await call(a, 'whoami');
  assert.notEqual(next.socket, junk.socket);
  const again = await call(a, 'whoami');
  assert.equal(again.socket, next.socket, 'a clean connection is still kept');
  await a.close();
});

test('an event stream left open after the response is not reused', async () => {
  const a = await connect('pool-a');
  const streamed = await call(a, 'stream-then-more');
  const next = await call(a, 'whoami');
  assert.notEqual(next.socket, streamed.socket);
  // The stream's later event reaches nobody: calls keep their own answers.
  for (let i = 0; i < 3; i++) await call(a, 'whoami');
  await a.close();
});

test('Connection: close from the upstream is honoured', async () => {
  const a = await connect('pool-a');
  const closing = await call(a, 'close');
  const next = await call(a, 'whoami');
  assert.notEqual(next.socket, closing.socket);
  await a.close();
});
