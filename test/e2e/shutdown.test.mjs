// How warden-mcp stops. At SIGTERM it refuses every new request ("shutting down; nothing was
// forwarded": no decision, no audit event) while the calls already running are answered and
// their outcomes written, for up to 5 s; in stdio mode the end of stdin does the same, so a
// client that closes its side after sending a call still reads the answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  binary, freshDatabase, gatewayConninfo, here, modules, quote, settled, sql, sqlValue, startGateway,
  stdioAllowFile, stop,
} from './harness.mjs';

let token;
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-shutdown-'));

// The outcome ('completed' event reason) of the call whose arguments hold `marker`, '(none)'
// when it has none yet, and undefined when no call was decided at all.
const outcomeNow = (marker) => sqlValue(`SELECT coalesce(c.reason, '(none)') FROM warden.events p
    LEFT JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
    WHERE p.kind = 'call' AND p.arguments->>'marker' = ${quote(marker)}`);

before(() => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('shutdown-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.add_server('faults', ${quote(`node ${path.join(here, 'fixture-faults.mjs')}`)}, 'stdio');
       SELECT warden.grant('shutdown-bot', 'everything/echo');
       SELECT warden.grant('shutdown-bot', 'faults/sleep');`);
  token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'shutdown-bot', 'shutdown',
                    ttl => '1 hour')`);
});

after(() => fs.rmSync(folder, { recursive: true, force: true }));

test('SIGTERM: a call already running is answered and completed; a call made after it is refused, undecided', async () => {
  const g = await startGateway();
  const url = `http://127.0.0.1:${g.match[1]}/mcp`;
  const c = new Client({ name: 'warden-shutdown', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  const exited = new Promise((resolve) => g.child.on('exit', () => resolve(Date.now())));
  try {
    await c.listTools();  // starts both upstreams
    const slow = c.callTool({ name: 'faults__sleep', arguments: { ms: 3000, marker: 'running at SIGTERM' } })
      .then((x) => x, (e) => e);
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    g.child.kill('SIGTERM');
    await new Promise((res) => setTimeout(res, 100));
    const late = await c.callTool({ name: 'everything__echo', arguments: { message: 'x', marker: 'after SIGTERM' } })
      .then((x) => x, (e) => e);
    assert.ok(late instanceof Error, `a call after SIGTERM was answered: ${JSON.stringify(late)}`);
    assert.match(late.message, /warden-mcp is shutting down; nothing was forwarded/);
    // A new agent's initialize is refused too: no session opened (none audited), and told to
    // come back.
    const opened = () => sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'session_opened'`);
    const sessionsBefore = opened();
    const init = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18',
      capabilities: {}, clientInfo: { name: 'late', version: '1.0.0' } } }) });
    const initBody = await init.json();
    assert.equal(init.status, 503, JSON.stringify(initBody));
    assert.equal(init.headers.get('retry-after'), '1');
    assert.equal(init.headers.get('mcp-session-id'), null);
    assert.match(initBody.error.message, /shutting down; no session was opened/);
    assert.equal(initBody.error.data.reason, 'shutting_down');
    assert.equal(opened(), sessionsBefore, 'an initialize after SIGTERM opened a session');
    // So is a stateless 2026-07-28 call (nothing decided, its token not even looked at).
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'late', version: '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': {} };
    const stateless = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2026-07-28',
      'Mcp-Method': 'tools/call', 'Mcp-Name': 'everything__echo', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'everything__echo',
      arguments: { message: 'x', marker: 'stateless after SIGTERM' }, _meta: meta } }) });
    const statelessBody = await stateless.json();
    assert.equal(stateless.status, 503, JSON.stringify(statelessBody));
    assert.equal(stateless.headers.get('retry-after'), '1');
    assert.match(statelessBody.error.message, /shutting down; nothing was forwarded/);
    assert.equal(opened(), sessionsBefore, 'a stateless call after SIGTERM opened a session');
    const answer = await slow;
    assert.ok(!(answer instanceof Error) && !answer.isError,
      `the call running at SIGTERM did not get its answer: ${answer?.message ?? JSON.stringify(answer)}`);
    assert.equal(answer.content[0].text, 'slept 3000');
    const took = (await exited) - t0;
    assert.ok(took < 5000, `the gateway took ${took} ms to exit`);
    console.log(`# exited ${took} ms after SIGTERM`);
  } finally {
    await c.close().catch(() => {});
    if (g.child.exitCode === null) g.child.kill('SIGKILL');
  }
  assert.equal(outcomeNow('running at SIGTERM'), 'ok');
  assert.equal(outcomeNow('after SIGTERM'), undefined, 'the call after SIGTERM was decided');
  assert.equal(outcomeNow('stateless after SIGTERM'), undefined, 'the stateless call after SIGTERM was decided');
  assert.match(g.log.join(''), /answering 1 open request\(s\) and writing 0 call outcome\(s\) before exiting/);
});

test('stdio mode: stdin closed right after a call; the answer is still written on stdout, its outcome recorded', async () => {
  const tokenFile = path.join(folder, 'token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const child = spawn(binary, ['stdio', '--db', gatewayConninfo(), '--token-file', tokenFile,
    '--stdio-allow', stdioAllowFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const answered = (id) => out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((m) => m.id === id);
  try {
    const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18',
      capabilities: {}, clientInfo: { name: 'warden-shutdown-stdio', version: '1.0.0' } } });
    await settled(() => answered(1), Boolean, 10000);
    assert.ok(answered(1)?.result, `initialize: ${out} ${err}`);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'faults__sleep',
      arguments: { ms: 1000, marker: 'stdin closed' } } });
    // The call is decided and forwarded before stdin ends.
    await settled(() => outcomeNow('stdin closed'), (v) => v !== undefined, 10000);
    child.stdin.end();
    assert.equal(await exited, 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  const reply = answered(2);
  assert.ok(reply, `no answer on stdout after stdin closed: ${out}\n${err}`);
  assert.equal(reply.result?.content?.[0]?.text, 'slept 1000', JSON.stringify(reply));
  assert.equal(outcomeNow('stdin closed'), 'ok');
});
