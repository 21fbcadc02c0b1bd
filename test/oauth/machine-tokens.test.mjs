// The tokens warden mints for machine flows (issue 14), end to end without a browser: the
// person's token is an enterprise IdP's JWT access token signed here with jose, the agents
// prove themselves with their own keys. Covers requested_token_type=...:jwt (a JWT access token
// with nested act claims, verified against warden's published JWKS; may_act honoured; refused as
// a bearer at /mcp, which takes task tokens only), the txn_token upstream credential (a fixture
// upstream verifies each Txn-Token against the JWKS and the call it received), and refusals made
// by the gateway before the database decided, which are audited too.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 machine-tokens.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import {
  freshDatabase, sql, sqlValue, quote, startProcess, startGateway, stop, settled, freePort } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TT = 'urn:ietf:params:oauth:token-type:';
const ENTERPRISE = 'https://enterprise.example';

let gateway;
let upstream;
let issuer;
let jwks;
const keys = {};
const now = () => Math.floor(Date.now() / 1000);

async function keyPair(alg, kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg } };
}

const sign = (key, claims, header = {}) =>
  new jose.SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);

const assertion = (agent, key) => sign(key, {
  iss: agent, sub: agent, aud: issuer, iat: now(), exp: now() + 120, jti: crypto.randomUUID() });

// Dana's access token from the enterprise IdP, issued to warden's registration there.
const personToken = (extra = {}) => sign(keys.enterprise, {
  iss: ENTERPRISE, sub: 'dana@example.com', aud: 'warden-at-enterprise', iat: now(), exp: now() + 600, ...extra });

async function token(fields) {
  const body = fields instanceof URLSearchParams ? fields : new URLSearchParams(fields);
  const r = await fetch(`${issuer}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: r.status, body: await r.json() };
}

const exchange = (subject, actor, extra = {}, subjectType = 'access_token') => token({
  grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: TT + subjectType,
  actor_token: actor, actor_token_type: `${TT}jwt`, ...extra });

const refusals = () => Number(sqlValue("SELECT count(*) FROM warden.events WHERE kind = 'token_exchange_refused'"));
const issued = () => Number(sqlValue('SELECT count(*) FROM warden.tokens'));

async function refused(request, status, error, reason) {
  const [before, tokensBefore] = [refusals(), issued()];
  const r = await request;
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error, error, JSON.stringify(r.body));
  assert.equal(r.body.access_token, undefined);
  assert.equal(issued(), tokensBefore, 'nothing issued');
  assert.equal(refusals(), before + 1, 'the refusal is audited');
  assert.equal(sqlValue("SELECT reason FROM warden.events WHERE kind = 'token_exchange_refused' ORDER BY at DESC LIMIT 1"), reason);
}

// One tools/call through /mcp; returns the HTTP status and the JSON-RPC response.
async function call(accessToken, name, args) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
    authorization: `Bearer ${accessToken}` };
  const init = await fetch(`${issuer}/mcp`, { method: 'POST', headers, body: JSON.stringify({
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'machine', version: '0' } } }) });
  if (init.status !== 200) return { status: init.status, body: await init.text() };
  const r = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } }) });
  const text = await r.text();
  const data = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
  return { status: r.status, response: data.at(-1) ?? (text ? JSON.parse(text) : undefined) };
}

before(async () => {
  freshDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  upstream = await startProcess('node', [path.join(here, '../e2e/txn-upstream.mjs'), `${issuer}/.well-known/jwks.json`, 'txnfix'],
    /listening (\d+)/);
  keys.enterprise = await keyPair('RS256', 'enterprise-key');
  keys.bot = await keyPair('ES256', 'bot-key');
  keys.sub = await keyPair('EdDSA', 'sub-key');
  keys.other = await keyPair('ES256', 'other-key');
  sql(`SELECT warden.add_human('dana@example.com', 'Dana');
       SELECT warden.add_agent('exchange-bot', 'dana@example.com');
       SELECT warden.add_agent('sub-bot', 'dana@example.com');
       SELECT warden.add_agent('other-bot', 'dana@example.com');
       SELECT warden.add_server('txnfix', 'http://127.0.0.1:${upstream.match[1]}/mcp', 'http', '{"kind": "txn_token", "ttl_seconds": 30}');
       SELECT warden.grant('exchange-bot', 'txnfix/*');
       SELECT warden.grant('sub-bot', 'txnfix/lookup', '{"id": {"prefix": "4"}}');
       SELECT warden.grant('other-bot', 'txnfix/lookup');
       SELECT warden.add_identity_provider('enterprise', ${quote(ENTERPRISE)}, 'warden-at-enterprise', NULL, '{}');
       SELECT warden.link_human('dana@example.com', 'enterprise');
       SELECT warden.store_idp_metadata('enterprise', ${quote(JSON.stringify({ issuer: ENTERPRISE }))},
                ${quote(JSON.stringify({ keys: [keys.enterprise.jwk] }))});
       SELECT warden.add_agent_key('exchange-bot', ${quote(JSON.stringify(keys.bot.jwk))});
       SELECT warden.add_agent_key('sub-bot', ${quote(JSON.stringify(keys.sub.jwk))});
       SELECT warden.add_agent_key('other-bot', ${quote(JSON.stringify(keys.other.jwk))});`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--oauth-allow-http-loopback'],
    undefined, {});
  jwks = jose.createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
});

after(() => {
  stop(gateway?.child);
  stop(upstream?.child);
});

let taskToken;

test('requested_token_type jwt: a JWT access token, verified against warden\'s JWKS, names the person and the agent', async () => {
  const r = await exchange(await personToken(), await assertion('exchange-bot', keys.bot),
    { scope: 'txnfix/lookup', requested_token_type: `${TT}jwt`, audience: 'https://api.example' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.issued_token_type, `${TT}jwt`);
  assert.equal(r.body.token_type, 'Bearer');
  const { payload, protectedHeader } = await jose.jwtVerify(r.body.access_token, jwks,
    { issuer, audience: 'https://api.example', typ: 'at+jwt' });
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(payload.sub, 'dana@example.com');
  assert.equal(payload.client_id, 'exchange-bot');
  assert.equal(payload.scope, 'txnfix/lookup');
  assert.deepEqual(payload.act, { sub: 'exchange-bot' });
  // Bound to the task token it stands for: same id, same end.
  assert.equal(sqlValue(`SELECT extract(epoch FROM expires_at)::bigint FROM warden.tokens WHERE token_id = ${quote(payload.jti)}`),
    String(payload.exp));
  assert.equal(sqlValue(`SELECT detail->>'issued_token_type' || ' ' || (detail->'act')::text FROM warden.events
                         WHERE kind = 'token_issued' AND token_id = ${quote(payload.jti)}`),
  `${TT}jwt {"sub": "exchange-bot"}`);
});

test('warden-mcp takes task tokens only: the JWT access token is refused as a bearer at /mcp', async () => {
  const r = await exchange(await personToken(), await assertion('exchange-bot', keys.bot),
    { scope: 'txnfix/lookup', requested_token_type: `${TT}jwt` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const called = await call(r.body.access_token, 'txnfix__lookup', { id: '42' });
  assert.equal(called.status, 401, JSON.stringify(called));
});

test('delegation with requested_token_type jwt: nested act names every agent, the current one outermost', async () => {
  const parent = await exchange(await personToken(), await assertion('exchange-bot', keys.bot), { scope: 'txnfix/lookup' });
  assert.equal(parent.status, 200, JSON.stringify(parent.body));
  assert.equal(parent.body.issued_token_type, `${TT}access_token`);
  taskToken = parent.body.access_token;
  const r = await exchange(taskToken, await assertion('sub-bot', keys.sub),
    { scope: 'txnfix/lookup', requested_token_type: `${TT}jwt` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { payload } = await jose.jwtVerify(r.body.access_token, jwks, { issuer, audience: `${issuer}/mcp` });
  assert.deepEqual(payload.act, { sub: 'sub-bot', act: { sub: 'exchange-bot' } });
  assert.equal(payload.sub, 'dana@example.com');
  assert.equal(sqlValue(`SELECT (detail->'act')::text FROM warden.events WHERE kind = 'token_exchanged' AND token_id = ${quote(payload.jti)}`),
    '{"act": {"sub": "exchange-bot"}, "sub": "sub-bot"}');
});

test('a jwt token type cannot widen scope or lifetime: refused like any delegation, nothing issued', async () => {
  await refused(exchange(taskToken, await assertion('sub-bot', keys.sub), { scope: 'txnfix/*', requested_token_type: `${TT}jwt` }),
    400, 'invalid_scope', 'wider_than_parent');
  await refused(exchange(taskToken, await assertion('sub-bot', keys.sub),
    { scope: 'txnfix/lookup', expires_in: '86400', requested_token_type: `${TT}jwt` }), 400, 'invalid_grant', 'longer_than_parent');
});

test('may_act: only the actor the person\'s token names may act on it', async () => {
  const named = await personToken({ may_act: { sub: 'exchange-bot' } });
  await refused(exchange(named, await assertion('other-bot', keys.other)), 400, 'invalid_grant', 'actor_not_in_may_act');
  await refused(exchange(await personToken({ may_act: { sub: 'exchange-bot', iss: 'https://elsewhere.example' } }),
    await assertion('exchange-bot', keys.bot)), 400, 'invalid_grant', 'actor_not_in_may_act');
  await refused(exchange(await personToken({ may_act: 'exchange-bot' }), await assertion('exchange-bot', keys.bot)),
    400, 'invalid_grant', 'malformed_may_act');
  const r = await exchange(named, await assertion('exchange-bot', keys.bot), { requested_token_type: `${TT}jwt` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const ok = await exchange(await personToken({ may_act: { sub: 'exchange-bot', iss: 'exchange-bot' } }),
    await assertion('exchange-bot', keys.bot));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('an act claim the person\'s token already carried stays in the chain, below the agent', async () => {
  const r = await exchange(await personToken({ act: { sub: 'orchestrator@enterprise' } }), await assertion('exchange-bot', keys.bot),
    { requested_token_type: `${TT}jwt` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { payload } = await jose.jwtVerify(r.body.access_token, jwks, { issuer });
  assert.deepEqual(payload.act, { sub: 'exchange-bot', act: { sub: 'orchestrator@enterprise' } });
});

test('txn_token: the upstream verifies a Txn-Token for exactly this call, against warden\'s JWKS', async () => {
  const sub = await exchange(taskToken, await assertion('sub-bot', keys.sub), { scope: 'txnfix/lookup' });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  const called = await call(sub.body.access_token, 'txnfix__lookup', { id: '42' });
  assert.equal(called.status, 200, JSON.stringify(called));
  const result = called.response.result;
  assert.ok(result && !result.isError, JSON.stringify(called.response));
  const claims = JSON.parse(result.content[0].text);
  const event = sqlValue(`SELECT event_id FROM warden.events WHERE kind = 'call' AND agent = 'sub-bot' AND allowed
                          ORDER BY at DESC LIMIT 1`);
  assert.equal(claims.txn, event);
  assert.equal(claims.sub, 'dana@example.com');
  assert.equal(claims.aud, 'txnfix');
  assert.equal(claims.scope, 'txnfix/lookup');
  assert.equal(claims.tctx.server, 'txnfix');
  assert.equal(claims.tctx.tool, 'lookup');
  assert.equal(claims.req_wl, claims.iss);
  assert.ok(claims.exp - claims.iat <= 30);
  assert.deepEqual(claims.act, { sub: 'sub-bot', act: { sub: 'exchange-bot' } });
  // The vend is audited as a child of the decision, never with the value.
  assert.equal(sqlValue(`SELECT (detail->>'kind') || ' ' || (detail->>'header') || ' ' || (detail ? 'value')::text
                         FROM warden.events WHERE kind = 'credential_vended' AND parent_id = ${quote(event)}`),
  'txn_token Txn-Token false');
});

test('txn_token is never wider than the decision: a denied call reaches no upstream and vends nothing', async () => {
  const sub = await exchange(taskToken, await assertion('sub-bot', keys.sub), { scope: 'txnfix/lookup' });
  const vends = () => Number(sqlValue("SELECT count(*) FROM warden.events WHERE kind = 'credential_vended'"));
  const before = vends();
  const called = await call(sub.body.access_token, 'txnfix__lookup', { id: '99' });
  assert.ok(called.response.error || called.response.result?.isError, JSON.stringify(called.response));
  assert.doesNotMatch(JSON.stringify(called.response), /txn-token refused|"txn"/);
  assert.equal(vends(), before);
  assert.equal(sqlValue(`SELECT reason FROM warden.events WHERE kind = 'call' AND agent = 'sub-bot' ORDER BY at DESC LIMIT 1`),
    'constraint_failed');
});

test('a txn_token needs an http server, and only the decision that knows the arguments mints one', async () => {
  assert.throws(() => sql("SELECT warden.add_server('txnstdio', 'node x.mjs', 'stdio', '{\"kind\": \"txn_token\"}')"),
    /txn_token credential needs an http server/);
  assert.throws(() => sql("SELECT warden.add_server('txnbad', 'http://127.0.0.1:1/mcp', 'http', '{\"kind\": \"txn_token\", \"ttl_seconds\": 61}')"),
    /out of range/);
  // warden.credential(event_id) has no arguments to state: it refuses rather than mint a vaguer token.
  const sub = await exchange(taskToken, await assertion('sub-bot', keys.sub), { scope: 'txnfix/lookup' });
  const event = sqlValue(`SET ROLE warden_proxy;
    SELECT (warden.authorize(${quote(sub.body.access_token)}, 'txnfix', 'lookup', '{"id": "42"}')).event_id`);
  assert.match(event, /^[0-9a-f-]{36}$/);
  assert.throws(() => sql(`SET ROLE warden_proxy; SELECT warden.credential(${quote(event)})`),
    /minted only with its decision/);
});

test('warden._sign_jwt is internal: neither the gateway role nor an admin can sign with warden\'s key', async () => {
  for (const role of ['warden_proxy', 'warden_admin', 'warden_issuer']) {
    assert.throws(() => sql(`SET ROLE ${role}; SELECT warden._sign_jwt('at+jwt', '{"sub": "x"}')`), /permission denied/);
  }
  assert.throws(() => sql("SELECT warden._sign_jwt('txntoken+jwt', '{\"sub\": \"x\"}')"), /does not sign typ/);
});

test('refusals made at the gateway, before any decision, are audited too', async () => {
  await refused(token({ grant_type: TOKEN_EXCHANGE, subject_token: await personToken(), subject_token_type: `${TT}access_token` }),
    400, 'invalid_request', 'gateway_no_actor_token');
  await refused(exchange(await personToken(), await assertion('exchange-bot', keys.bot), { requested_token_type: `${TT}saml2` }),
    400, 'invalid_request', 'gateway_unsupported_token_type');
  await refused(exchange(await personToken(), await assertion('exchange-bot', keys.bot), {}, 'saml2'),
    400, 'invalid_request', 'gateway_unsupported_subject_token_type');
  await refused(exchange(await personToken(), await assertion('exchange-bot', keys.bot), { expires_in: 'soon' }),
    400, 'invalid_request', 'gateway_bad_expires_in');
  const repeated = new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: await personToken(),
    subject_token_type: `${TT}access_token`, actor_token: await assertion('exchange-bot', keys.bot), actor_token_type: `${TT}jwt` });
  repeated.append('scope', 'txnfix/lookup');
  repeated.append('scope', 'txnfix/other');
  await refused(token(repeated), 400, 'invalid_request', 'gateway_parameter_repeats');
  await refused(token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: 'x' }),
    400, 'invalid_request', 'gateway_no_assertion');
  await refused(exchange(await personToken(), await assertion('exchange-bot', keys.bot), { audience: 'x'.repeat(600) }),
    400, 'invalid_target', 'bad_audience');
});
