// Shapes of JSON that an agent or an upstream controls and warden must not misread.
// - Arguments with two keys that differ only in case ({"filePath": allowed, "filepath":
//   forbidden}): a grant's constraint reads the exact key, while an upstream whose decoder
//   folds keys (Go's encoding/json, case-insensitive Jackson) may read the other. Such a call is
//   denied (invalid_arguments) and audited, at any depth, and never reaches the upstream.
// - An upstream's answer whose fields have unexpected types ("isError": "yes", an "error" that is
//   a string): the agent gets the answer, and the call's outcome is still recorded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freshDatabase, quote, settled, sql, sqlValue, startGateway, startToolUpstream, stop } from './harness.mjs';

let gateway, url, upstream, client;
const received = [];  // the arguments of every tools/call the upstream received

// Tool `read` answers normally; `odd` answers with the result its arguments' "answer" names (an
// upstream sending fields of unexpected types).
function startUpstream() {
  const odd = { is_error_text: { result: { content: [{ type: 'text', text: 'x' }], isError: 'yes' } },
    error_text: { error: 'not an object' },
    message_number: { error: { code: -32000, message: 42 } },
    result_type_number: { result: { content: [], resultType: 7 } } };
  return startToolUpstream(['read', 'odd'], (params) => {
    received.push(params.arguments);
    return params.name === 'odd' ? odd[params.arguments.answer]
      : { result: { content: [{ type: 'text', text: 'read' }] } };
  });
}

before(async () => {
  freshDatabase();
  upstream = await startUpstream();
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('shapes-bot', 'alice@example.com');
       SELECT warden.add_server('up', 'http://127.0.0.1:${upstream.address().port}/mcp', 'http');
       SELECT warden.grant('shapes-bot', 'up/read', '{"filePath": {"path_prefix": "/srv/public/"}}');
       SELECT warden.grant('shapes-bot', 'up/odd');`);
  gateway = await startGateway();
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
  const token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'shapes-bot', 'shapes')`);
  client = new Client({ name: 'warden-shapes', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
});

after(async () => {
  await client?.close().catch(() => {});
  stop(gateway?.child);
  upstream?.close();
});

const call = (name, args) => client.callTool({ name, arguments: args }).then((r) => r, (e) => e);
const textOf = (r) => (r instanceof Error ? r.message : JSON.stringify(r));

test('keys that differ only in case, at any depth, deny the call: audited, never sent', async () => {
  // The constraint holds on the exact key, so without the fold check this would be allowed.
  const allowed = await call('up__read', { filePath: '/srv/public/a' });
  assert.ok(!(allowed instanceof Error) && !allowed.isError, textOf(allowed));
  const forbidden = await call('up__read', { filePath: '/etc/passwd' });
  assert.match(textOf(forbidden), /constraint_failed/, 'the constraint itself does not hold');

  const cases = [
    { filePath: '/srv/public/a', filepath: '/etc/passwd' },
    { filePath: '/srv/public/a', FILEPATH: '/etc/passwd' },
    { filePath: '/srv/public/a', options: { mode: 'r', Mode: 'w' } },  // nested
    { filePath: '/srv/public/a', list: [{ key: 1, '\u212Aey': 2 }] },  // U+212A KELVIN SIGN folds to "k"
    { filePath: '/srv/public/a', 'file\u017Fath': 1, filesath: 2 },   // U+017F LONG S folds to "s"
  ];
  for (const args of cases) {
    const r = await call('up__read', args);
    assert.match(textOf(r), /invalid_arguments/, `${JSON.stringify(args)} -> ${textOf(r)}`);
  }
  assert.equal(received.filter((a) => JSON.stringify(a).includes('/etc/passwd')).length, 0,
    'the upstream received a call whose arguments hold the forbidden path');
  const audited = sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND NOT allowed
      AND reason = 'invalid_arguments' AND detail->'context'->>'arguments_error' LIKE 'two keys%'`);
  assert.equal(audited, String(cases.length), 'each denial is audited with why');
  // Keys that only look alike but do not fold together are fine.
  const distinct = await call('up__read', { filePath: '/srv/public/b', file_path: 'x', 'filePath ': 'y' });
  assert.ok(!(distinct instanceof Error) && !distinct.isError, textOf(distinct));
});

test('an upstream answer with fields of unexpected types: the agent gets it, the outcome is recorded', async () => {
  for (const answer of ['is_error_text', 'error_text', 'message_number', 'result_type_number']) {
    const r = await call('up__odd', { answer });
    assert.doesNotMatch(textOf(r), /json\.exception/, `${answer}: ${textOf(r)}`);
  }
  const outcomes = await settled(() => sqlValue(`SELECT count(DISTINCT o.parent_id) FROM warden.events p
      JOIN warden.events o ON o.parent_id = p.event_id AND o.kind = 'completed'
      WHERE p.kind = 'call' AND p.allowed AND p.tool = 'odd'`), (v) => v === '4');
  assert.equal(outcomes, '4', 'a call whose upstream answered oddly has no recorded outcome');
  // "isError": "yes" is not true: the call is not an error by the upstream's flag, yet nothing
  // was thrown; the outcome of an error that is not an object is an error.
  const statuses = sql(`SELECT p.arguments->>'answer', o.reason FROM warden.events p
      JOIN warden.events o ON o.parent_id = p.event_id AND o.kind = 'completed'
      WHERE p.kind = 'call' AND p.tool = 'odd' ORDER BY 1`).map(([a, s]) => `${a}=${s}`);
  console.log(`# outcomes: ${statuses.join(' ')}`);
  assert.ok(statuses.includes('error_text=error'), statuses.join(' '));
});

// An initialize is audited (session_opened) before its token is known to be good. What the
// client says about itself is kept to a few short strings: a request with no valid token must
// not be able to write megabytes into the audit trail (or make the gateway and the database
// build them).
test('initialize with a bad token and a huge clientInfo: 401, and only short strings are audited', async () => {
  const before = Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'session_opened'`));
  const huge = 'é'.repeat(300000);  // two bytes each: a cut inside one would be invalid UTF-8
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: 'Bearer not-a-token', 'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {
      protocolVersion: 'x'.repeat(100000), capabilities: {},
      clientInfo: { name: huge, version: '1.0', extra: [huge, huge], title: 7 } } }),
  });
  assert.equal(res.status, 401);
  const [[count, bytes, name, version, keys]] = sql(`SELECT count(*) OVER (), length(e::text),
      length(e.detail->'context'->'client'->>'name'), e.detail->'context'->'client'->>'version',
      (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(e.detail->'context'->'client') k)
    FROM warden.events e WHERE e.kind = 'session_opened' ORDER BY e.at DESC, e.seq DESC LIMIT 1`);
  assert.equal(Number(count), before + 1, 'the refused initialize was not audited');
  assert.ok(Number(bytes) < 4096, `the audited row is ${bytes} bytes`);
  assert.equal(name, '128');  // 256 bytes: 128 two-byte letters, none cut in half
  assert.equal(version, '1.0');
  assert.equal(keys, 'name,version');
});
