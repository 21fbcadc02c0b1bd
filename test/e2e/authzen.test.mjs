// Issue 17: warden as the policy decision point of other gateways. AuthZEN 1.0 evaluations and
// Envoy ext_authz checks through a real warden-mcp, decided by warden.authorize (the same
// decision, audit event and budget), and the attacks on the new endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase, quote, sql, sqlValue, startGateway, stop } from './harness.mjs';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-authzen-'));
const pepToken = `pep-${process.pid}-${Date.now()}-0123456789abcdef`;
const pepFile = path.join(folder, 'pep-token');
let gateway, base, token, chainId;

before(async () => {
  freshDatabase();
  fs.writeFileSync(pepFile, `${pepToken}\n`, { mode: 0o600 });
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('triage-bot', 'alice@example.com');
       SELECT warden.add_server('tickets', 'http://127.0.0.1:9/mcp');
       SELECT warden.grant('triage-bot', 'tickets/update_ticket',
                           '{"field": {"in": ["priority", "status"]}}', '1 hour', 4);
       SELECT warden.grant('triage-bot', 'tickets/read_ticket');`);
  [chainId, token] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
                           'triage-bot', 'triage tickets')`)[0];
  gateway = await startGateway(['--pep-token-file', pepFile]);
  base = `http://127.0.0.1:${gateway.match[1]}`;
});

after(() => {
  stop(gateway?.child);
  fs.rmSync(folder, { recursive: true, force: true });
});

function evaluate(body, { path: p = '/access/v1/evaluation', bearer = pepToken, headers = {} } = {}) {
  return fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json',
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const subject = () => ({ type: 'agent', id: token });
const call = (tool, args = {}, who = subject()) => ({
  subject: who, action: { name: 'tools/call' }, resource: { type: 'tool', id: `tickets/${tool}` },
  context: { arguments: args } });
const events = () => Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'`));

test('metadata: /.well-known/authzen-configuration names both evaluation endpoints', async () => {
  const r = await fetch(`${base}/.well-known/authzen-configuration`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/json/);
  const m = await r.json();
  assert.equal(m.policy_decision_point, base);
  assert.equal(m.access_evaluation_endpoint, `${base}/access/v1/evaluation`);
  assert.equal(m.access_evaluations_endpoint, `${base}/access/v1/evaluations`);
  assert.ok(!('search_endpoint' in m), 'no search endpoint is advertised');
});

test('spec HTTPS binding: a decision is 200 {"decision": …}, X-Request-ID echoed, audited as a call', async () => {
  const before = events();
  const r = await evaluate(call('update_ticket', { field: 'priority', ticket: 4711 }),
    { headers: { 'X-Request-ID': 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716');
  const d = await r.json();
  assert.equal(d.decision, true);
  assert.equal(d.context.reason, 'granted');
  assert.equal(d.context.chain_id, chainId);
  assert.equal(events(), before + 1);
  const [kind, allowed, server, tool, transport, requestId, ticket] = sql(`SELECT kind, allowed, server, tool,
      detail->'context'->>'transport', detail->'context'->>'request_id', arguments->>'ticket'
      FROM warden.events WHERE event_id = ${quote(d.context.event_id)}`)[0];
  assert.deepEqual([kind, allowed, server, tool, transport, requestId, ticket],
    ['call', 't', 'tickets', 'update_ticket', 'authzen', 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716', '4711']);
});

test('the same decision as warden.authorize: constraints, unknown tools, reasons', async () => {
  for (const [tool, args, reason] of [['update_ticket', { field: 'owner' }, 'constraint_failed'],
    ['delete_ticket', {}, 'no_grant'], ['read_ticket', { id: 1 }, 'granted']]) {
    const d = await (await evaluate(call(tool, args))).json();
    const direct = sqlValue(`SELECT reason FROM warden.authorize(${quote(token)}, 'tickets',
      ${quote(tool)}, ${quote(JSON.stringify(args))}::jsonb)`);
    assert.equal(d.context.reason, reason, tool);
    assert.equal(direct, reason, `${tool} directly`);
    assert.equal(d.decision, reason === 'granted');
  }
});

test('the same budget: max_calls is spent by AuthZEN and direct calls alike', async () => {
  // 4 calls allowed in all: one through AuthZEN above, one directly now, two more here.
  sql(`SELECT allowed FROM warden.authorize(${quote(token)}, 'tickets', 'update_ticket',
       '{"field": "status"}')`);
  for (const expected of [true, true, false]) {
    const d = await (await evaluate(call('update_ticket', { field: 'status' }))).json();
    assert.equal(d.decision, expected);
    if (!expected) assert.equal(d.context.reason, 'budget_exhausted');
  }
});

test('attack: no, wrong or an agent\'s bearer gets 401 and decides nothing', async () => {
  const before = events();
  for (const bearer of [null, `${pepToken.slice(0, -1)}x`, token, 'short']) {
    const r = await evaluate(call('read_ticket'), { bearer });
    assert.equal(r.status, 401, `bearer ${bearer}`);
    assert.match(r.headers.get('www-authenticate'), /^Bearer realm="warden-authzen"/);
    assert.ok(!(await r.text()).includes('decision'));
  }
  const batch = await evaluate({ evaluations: [call('read_ticket')] },
    { path: '/access/v1/evaluations', bearer: 'nope' });
  assert.equal(batch.status, 401);
  assert.equal(events(), before, 'an unauthenticated PEP made no decision');
});

test('attack: the context cannot smuggle warden\'s own keys (credential, dpop_jkt, arguments_error)', async () => {
  const d = await (await evaluate({ ...call('read_ticket', { id: 2 }),
    context: { arguments: { id: 2 }, credential: 'with_decision', dpop_jkt: 'forged' } })).json();
  assert.equal(d.decision, true);
  const vended = sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'credential_vended'`);
  assert.equal(vended, '0', 'no credential was minted for an AuthZEN decision');
  const [nested, top, jkt] = sql(`SELECT detail->'context'->'authzen' ? 'credential', detail->'context' ? 'credential',
                                    detail->'context'->'authzen'->>'dpop_jkt'
                                    FROM warden.events WHERE event_id = ${quote(d.context.event_id)}`)[0];
  assert.deepEqual([nested, top, jkt], ['t', 'f', 'forged'], 'recorded (redacted), nested under "authzen"');
});

test('clear errors for bad input: 400/405/413/415 with a message string', async () => {
  const cases = [
    [await evaluate('{not json'), 400, /not JSON/],
    [await evaluate({ ...call('read_ticket'), action: { name: 'can_read' } }), 400, /action.name must be "tools\/call"/],
    [await evaluate({ ...call('read_ticket'), resource: { type: 'tool', id: 'no-slash' } }), 400, /server\/tool/],
    [await evaluate({ ...call('read_ticket'), subject: { type: 'agent' } }), 400, /subject.id must be/],
    [await evaluate({ ...call('read_ticket'), context: { arguments: [1] } }), 400, /context.arguments/],
    [await evaluate(call('read_ticket'), { headers: { 'Content-Type': 'text/plain' } }), 415, /application\/json/],
    [await evaluate(JSON.stringify({ ...call('read_ticket'), pad: 'x'.repeat(1100000) })), 413, /larger than/],
    [await fetch(`${base}/access/v1/evaluation`, { headers: { Authorization: `Bearer ${pepToken}` } }), 405, /POST/],
  ];
  for (const [r, status, message] of cases) {
    assert.equal(r.status, status);
    assert.match(await r.text(), message);
  }
});

test('attack: a token of a killed chain is denied (chain_revoked) from the next evaluation on', async () => {
  const [otherChain, otherToken] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
                                        'triage-bot', 'doomed')`)[0];
  const who = { type: 'agent', id: otherToken };
  assert.equal((await (await evaluate(call('read_ticket', {}, who))).json()).decision, true);
  sql(`SELECT warden.kill(chain_id => ${quote(otherChain)}::uuid, reason => 'incident')`);
  const d = await (await evaluate(call('read_ticket', {}, who))).json();
  assert.equal(d.decision, false);
  assert.equal(d.context.reason, 'chain_revoked');
  const garbage = await (await evaluate(call('read_ticket', {}, { type: 'agent', id: 'v4.local.garbage' }))).json();
  assert.deepEqual([garbage.decision, garbage.context.reason], [false, 'token_invalid']);
});

test('evaluations: defaults, per-item overrides and errors (the spec\'s boxcarring example)', async () => {
  const r = await evaluate({
    subject: subject(), action: { name: 'tools/call' }, context: { time: '2024-05-31T15:22-07:00' },
    evaluations: [
      { resource: { type: 'tool', id: 'tickets/read_ticket' } },
      { resource: { type: 'tool', id: 'tickets/delete_ticket' } },
      { action: { name: 'can_edit' }, resource: { type: 'tool', id: 'tickets/read_ticket' } },
    ] }, { path: '/access/v1/evaluations', headers: { 'X-Request-ID': 'batch-1' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'batch-1');
  const body = await r.json();
  assert.ok(!('decision' in body), 'no top-level decision next to evaluations');
  assert.deepEqual(body.evaluations.map((e) => e.decision), [true, false, false]);
  assert.equal(body.evaluations[1].context.reason, 'no_grant');
  assert.equal(body.evaluations[2].context.error.status, 400);
  // Without an evaluations array it is a single evaluation, answered as one.
  const single = await (await evaluate(call('read_ticket'), { path: '/access/v1/evaluations' })).json();
  assert.equal(single.decision, true);
});

test('evaluations semantics: deny_on_first_deny and permit_on_first_permit stop where the spec says', async () => {
  const items = [{ resource: { type: 'tool', id: 'tickets/read_ticket' } },
    { resource: { type: 'tool', id: 'tickets/delete_ticket' } },
    { resource: { type: 'tool', id: 'tickets/read_ticket' } }];
  const run = async (semantic) => (await (await evaluate({ subject: subject(), action: { name: 'tools/call' },
    options: { evaluations_semantic: semantic }, evaluations: items }, { path: '/access/v1/evaluations' })).json())
    .evaluations.map((e) => e.decision);
  const before = events();
  assert.deepEqual(await run('execute_all'), [true, false, true]);
  assert.deepEqual(await run('deny_on_first_deny'), [true, false]);
  assert.deepEqual(await run('permit_on_first_permit'), [true]);
  assert.equal(events(), before + 6, 'short-circuited evaluations are not decided (nor audited)');
  const bad = await evaluate({ subject: subject(), options: { evaluations_semantic: 'random' }, evaluations: items },
    { path: '/access/v1/evaluations' });
  assert.equal(bad.status, 400);
});

test('attack: batch abuse — more than 64 evaluations is refused whole, before any decision', async () => {
  const before = events();
  const r = await evaluate({ subject: subject(), action: { name: 'tools/call' },
    evaluations: Array.from({ length: 65 }, () => ({ resource: { type: 'tool', id: 'tickets/read_ticket' } })) },
  { path: '/access/v1/evaluations' });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /at most 64 evaluations/);
  assert.equal(events(), before);
});

function extAuthz(message, { pep = pepToken, bearer = token, method = 'POST' } = {}) {
  return fetch(`${base}/ext_authz/mcp`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(pep ? { 'X-Warden-PEP-Token': pep } : {}),
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
    body: method === 'POST' ? (typeof message === 'string' ? message : JSON.stringify(message)) : undefined,
  });
}

test('Envoy ext_authz: tools/call decided, lists allowed, batches and no PEP token refused', async () => {
  const list = await extAuthz({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  assert.equal(list.status, 200);
  assert.equal((await extAuthz(null, { method: 'GET' })).status, 200);
  const ok = await extAuthz({ jsonrpc: '2.0', id: 2, method: 'tools/call',
    params: { name: 'tickets__read_ticket', arguments: { id: 3 } } });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('traceparent'), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const eventId = ok.headers.get('x-warden-event-id');
  assert.equal(sqlValue(`SELECT detail->'context'->>'transport' FROM warden.events WHERE event_id = ${quote(eventId)}`),
    'ext_authz');
  const denied = await extAuthz({ jsonrpc: '2.0', id: 3, method: 'tools/call',
    params: { name: 'tickets__delete_ticket', arguments: {} } });
  assert.equal(denied.status, 403);
  const body = await denied.json();
  assert.equal(body.id, 3);
  assert.equal(body.error.data.reason, 'no_grant');
  const batch = await extAuthz([{ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'tickets__read_ticket' } }]);
  assert.equal(batch.status, 403, 'a batch could carry a call past the check');
  const noToken = await extAuthz({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'tickets__read_ticket' } },
    { bearer: null });
  assert.equal(noToken.status, 403);
  assert.equal((await noToken.json()).error.data.reason, 'token_invalid');
  assert.equal((await extAuthz({ jsonrpc: '2.0', id: 6, method: 'tools/list' }, { pep: null })).status, 401);
});

test('Envoy ext_authz denies by default what it cannot decide, and keys that fold to a member', async () => {
  const read = await extAuthz({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///etc/shadow' } });
  assert.equal(read.status, 403, 'resources/read is not let through undecided');
  const complete = await extAuthz({ jsonrpc: '2.0', id: 2, method: 'completion/complete', params: {} });
  assert.equal(complete.status, 403);
  const shadow = await extAuthz({ jsonrpc: '2.0', id: 3, Method: 'tools/call',
    params: { name: 'tickets__delete_ticket', arguments: {} } });
  assert.equal(shadow.status, 403, '"Method" is not a way around the decision');
  const args = await extAuthz({ jsonrpc: '2.0', id: 4, method: 'tools/call',
    params: { name: 'tickets__read_ticket', arguments: { id: 3 }, Arguments: { id: 4 } } });
  assert.equal(args.status, 403);
  assert.equal((await extAuthz({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 200);
});

test('without --pep-token-file the decision point is off', async () => {
  const g = await startGateway();
  try {
    const port = g.match[1];
    assert.equal((await fetch(`http://127.0.0.1:${port}/.well-known/authzen-configuration`)).status, 404);
    const r = await fetch(`http://127.0.0.1:${port}/access/v1/evaluation`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${pepToken}` },
      body: JSON.stringify(call('read_ticket')) });
    assert.equal(r.status, 404);
  } finally {
    stop(g.child);
  }
});
