// Issue 17: revocation over Shared Signals. warden as transmitter: the SSF configuration, the
// JWKS, stream management (authenticated), every revocation pushed as a signed SET (RFC 8417,
// CAEP) to a receiver fixture (RFC 8935), at least once across kill -9, duplicates only by jti.
// warden as receiver: an IdP fixture's SET offboards a person (warden.revoke_human) and aborts
// that person's agent's call in flight, timed; every bad SET gets an RFC 8935 error and is audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { database, freshDatabase, modules, quote, sql, sqlValue, startGateway, stop, settled } from './harness.mjs';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ssf-'));
const managementToken = crypto.randomBytes(24).toString('hex');
const tokenFile = path.join(folder, 'ssf-token');
fs.writeFileSync(tokenFile, `${managementToken}\n`, { mode: 0o600 });
const exportDb = () => `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
const IDP = 'https://idp.example.test';
const AUD = 'https://warden.example.test/ssf';
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
const ACCOUNT_DISABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-disabled';

let gateway, base, receiver, receiverUrl;
// An IdP that rotates its signing key: it serves discovery and its JWKS over http on loopback
// and counts how often warden fetches them.
let rotatingIdp, ROTATING;
const rotatingKeys = [1, 2].map(() => crypto.generateKeyPairSync('ed25519'));
const rotatingJwk = (i) => ({ ...rotatingKeys[i].publicKey.export({ format: 'jwk' }), kid: `rot-${i + 1}`, use: 'sig', alg: 'EdDSA' });
let rotatingPublished = [rotatingJwk(0)];
const rotatingFetches = { discovery: 0, jwks: 0 };
const UNMAPPED = 'https://example.com/unmapped-event';
const received = [];  // {auth, contentType, url, body}
let failNext = 0;     // the receiver answers 503 this many times first

const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const decode = (jws) => jws.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));

// The IdP fixture's Ed25519 key, published to warden as the provider's JWKS.
const idpKey = crypto.generateKeyPairSync('ed25519');
const idpJwk = { ...idpKey.publicKey.export({ format: 'jwk' }), kid: 'idp-1', use: 'sig', alg: 'EdDSA' };
const otherKey = crypto.generateKeyPairSync('ed25519');

function setFromIdp(claims, { key = idpKey.privateKey, header = {} } = {}) {
  const h = { alg: 'EdDSA', typ: 'secevent+jwt', kid: 'idp-1', ...header };
  const input = `${b64u(h)}.${b64u(claims)}`;
  return `${input}.${crypto.sign(null, Buffer.from(input), key).toString('base64url')}`;
}

function claimsFor(subject, event = SESSION_REVOKED, extra = {}) {
  return { iss: IDP, aud: AUD, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000),
    sub_id: { format: 'iss_sub', iss: IDP, sub: subject },
    events: { [event]: { event_timestamp: Math.floor(Date.now() / 1000), initiating_entity: 'admin' } }, ...extra };
}

async function push(body, contentType = 'application/secevent+jwt') {
  const r = await fetch(`${base}/ssf/receive`, { method: 'POST', headers: { 'Content-Type': contentType }, body });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

const manage = (p, init = {}, token = managementToken) => fetch(`${base}${p}`, {
  ...init, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) } });

async function start() {
  gateway = await startGateway(['--ssf-receive', '--ssf-token-file', tokenFile, '--ssf-transmit', '--ssf-allow-http-loopback',
    '--oauth-allow-http-loopback', '--export-db', exportDb()]);
  base = `http://127.0.0.1:${gateway.match[1]}`;
}

before(async () => {
  freshDatabase();
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_export_login') THEN
           CREATE ROLE warden_export_login LOGIN IN ROLE warden_exporter;
         END IF;
       END $$`);
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_human('bob@example.com', 'Bob');
       SELECT warden.add_agent('triage-bot', 'alice@example.com');
       SELECT warden.add_agent('bob-bot', 'bob@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.grant('triage-bot', 'everything/*');
       SELECT warden.grant('bob-bot', 'everything/*');
       SELECT warden.add_identity_provider('corp-idp', ${quote(IDP)}, 'warden');
       SELECT warden.store_idp_metadata('corp-idp', ${quote(JSON.stringify({ issuer: IDP }))},
                                        ${quote(JSON.stringify({ keys: [idpJwk] }))});
       SELECT warden.accept_security_events('corp-idp', ${quote(AUD)});
       -- A provider's events reach only the people linked to it.
       SELECT warden.link_human('alice@example.com', 'corp-idp');
       SELECT warden.link_human('bob@example.com', 'corp-idp');`);
  rotatingIdp = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      rotatingFetches.discovery += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ issuer: ROTATING, jwks_uri: `${ROTATING}/jwks` }));
    } else if (req.url === '/jwks') {
      rotatingFetches.jwks += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: rotatingPublished }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((res) => rotatingIdp.listen(0, '127.0.0.1', res));
  ROTATING = `http://127.0.0.1:${rotatingIdp.address().port}`;
  // warden has cached the provider's first key (as a sign-in's discovery would have).
  sql(`SELECT warden.add_identity_provider('rotating-idp', ${quote(ROTATING)}, 'warden');
       SELECT warden.store_idp_metadata('rotating-idp', ${quote(JSON.stringify({ issuer: ROTATING }))},
                                        ${quote(JSON.stringify({ keys: rotatingPublished }))});
       SELECT warden.accept_security_events('rotating-idp', ${quote(AUD)});`);
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(503).end();
        return;
      }
      received.push({ auth: req.headers.authorization, contentType: req.headers['content-type'], url: req.url, body });
      res.writeHead(202).end();
    });
  });
  await new Promise((res) => receiver.listen(0, '127.0.0.1', res));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/caep`;
  await start();
});

after(() => {
  stop(gateway?.child);
  receiver?.close();
  rotatingIdp?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

test('the SSF transmitter configuration and the JWKS that verifies SETs', async () => {
  const r = await fetch(`${base}/.well-known/ssf-configuration`);
  assert.equal(r.status, 200);
  const config = await r.json();
  assert.equal(config.spec_version, '1_0');
  assert.equal(config.issuer, base);
  assert.equal(config.jwks_uri, `${base}/.well-known/jwks.json`);
  assert.deepEqual(config.delivery_methods_supported, ['urn:ietf:rfc:8935']);
  assert.equal(config.configuration_endpoint, `${base}/ssf/streams`);
  assert.equal(config.status_endpoint, `${base}/ssf/status`);
  assert.equal(config.verification_endpoint, `${base}/ssf/verify`);
  const jwks = await (await fetch(config.jwks_uri)).json();
  // Empty until the first key is made (first use); the SETs below are verified with it.
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.every((k) => k.kty === 'OKP' && !('d' in k)));
});

test('stream management needs the bearer and refuses unsafe delivery targets', async () => {
  assert.equal((await manage('/ssf/streams', {}, null)).status, 401);
  assert.equal((await manage('/ssf/streams', {}, 'x'.repeat(48))).status, 401);
  assert.equal((await manage('/ssf/streams', { method: 'POST', body: '{}' }, null)).status, 401);
  for (const endpoint of ['http://169.254.169.254/latest/meta-data', 'http://10.0.0.5/caep', 'file:///etc/passwd',
    'https://user:pw@receiver.example/caep']) {
    const r = await manage('/ssf/streams', { method: 'POST', body: JSON.stringify({
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpoint } }) });
    assert.equal(r.status, 400, endpoint);
  }
  const poll = await manage('/ssf/streams', { method: 'POST', body: JSON.stringify({
    delivery: { method: 'urn:ietf:rfc:8936' } }) });
  assert.equal(poll.status, 400, 'poll delivery is not offered');
  assert.equal((await manage('/ssf/streams?stream_id=not-a-uuid')).status, 404);
  assert.equal((await manage(`/ssf/streams?stream_id=${crypto.randomUUID()}`)).status, 404);
});

test("a stream an administrator made is not the gateway's to read, redirect, pause or delete", async () => {
  const config = { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://siem.example/caep',
    authorization_header: 'Bearer siem-secret' }, description: 'made by an administrator' };
  const id = sqlValue(`SELECT warden.ssf_create_stream(${quote(JSON.stringify(config))}, ${quote(base)}) ->> 'stream_id'`);
  try {
    assert.equal((await manage(`/ssf/streams?stream_id=${id}`)).status, 404);
    const listed = await (await manage('/ssf/streams')).json();
    assert.ok(Array.isArray(listed) && !listed.some((x) => x.stream_id === id), 'listed to the gateway');
    const redirect = { stream_id: id, delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://attacker.example/x' } };
    assert.equal((await manage('/ssf/streams', { method: 'PATCH', body: JSON.stringify(redirect) })).status, 404);
    assert.equal((await manage('/ssf/streams', { method: 'PUT', body: JSON.stringify(redirect) })).status, 404);
    assert.equal((await manage('/ssf/status', { method: 'POST', body: JSON.stringify({ stream_id: id, status: 'paused' }) })).status, 404);
    assert.equal((await manage('/ssf/verify', { method: 'POST', body: JSON.stringify({ stream_id: id }) })).status, 404);
    assert.equal((await manage(`/ssf/streams?stream_id=${id}`, { method: 'DELETE' })).status, 404);
    assert.equal(sqlValue(`SELECT endpoint_url || ' ' || status FROM warden.ssf_streams WHERE stream_id = ${quote(id)}`),
      'https://siem.example/caep enabled', 'the administrator\'s stream changed');
  } finally {
    sql(`SELECT warden.ssf_delete_stream(${quote(id)})`);
  }
});

let streamId;

test('a receiver creates a stream, reads it, and gets a signed verification event', async () => {
  const r = await manage('/ssf/streams', { method: 'POST', body: JSON.stringify({
    delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiverUrl, authorization_header: 'Bearer receiver-secret' },
    events_requested: [SESSION_REVOKED, CREDENTIAL_CHANGE], description: 'SIEM CAEP receiver' }) });
  assert.equal(r.status, 201);
  const stream = await r.json();
  streamId = stream.stream_id;
  assert.equal(stream.iss, base);
  assert.equal(stream.aud, receiverUrl);
  assert.deepEqual(stream.events_delivered, [SESSION_REVOKED, CREDENTIAL_CHANGE]);
  assert.ok(!JSON.stringify(stream).includes('receiver-secret'), 'the push secret is not echoed');
  assert.ok(!sqlValue(`SELECT push_authorization::text FROM warden.ssf_streams`).includes(
    Buffer.from('receiver-secret').toString('hex')), 'the push secret is stored wrapped');
  assert.deepEqual(await (await manage(`/ssf/streams?stream_id=${streamId}`)).json(), stream);
  const status = await (await manage(`/ssf/status?stream_id=${streamId}`)).json();
  assert.equal(status.status, 'enabled');
  const v = await manage('/ssf/verify', { method: 'POST', body: JSON.stringify({ stream_id: streamId, state: 'abc123' }) });
  assert.equal(v.status, 204);
  const got = await settled(() => received.filter((x) => x.body.includes('.')), (l) => l.length >= 1, 5000);
  assert.equal(got.length, 1);
  assert.equal(got[0].auth, 'Bearer receiver-secret');
  assert.equal(got[0].contentType, 'application/secevent+jwt');
  const [header, claims] = decode(got[0].body);
  assert.equal(header.typ, 'secevent+jwt');
  assert.equal(header.alg, 'EdDSA');
  assert.deepEqual(claims.events, { [VERIFICATION]: { state: 'abc123' } });
  assert.equal(claims.iss, base);
  assert.equal(claims.aud, receiverUrl);
});

async function verifySet(compact) {
  const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json();
  const [header, claims] = decode(compact);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is in the JWKS`);
  const [h, p, s] = compact.split('.');
  assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), crypto.createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(s, 'base64url')), 'the SET verifies with the gateway JWKS');
  return claims;
}

test('every revocation becomes a signed CAEP SET, in order, jti = event id; kill -9 loses nothing', async () => {
  received.length = 0;
  const chains = [];
  for (let i = 0; i < 3; i++) {
    chains.push(sqlValue(`SELECT chain_id FROM warden.start_chain('alice@example.com', 'triage-bot', 'ssf ${i}')`));
  }
  sql(`SELECT warden.revoke_chain(${quote(chains[0])}::uuid, 'incident 7')`);
  await settled(() => received.length, (n) => n >= 1, 5000);
  // Crash mid-stream: revocations committed while the gateway is down are sent after restart.
  gateway.child.kill('SIGKILL');
  await new Promise((res) => gateway.child.once('exit', res));
  failNext = 2;  // and the receiver is briefly unavailable: retried with back-off
  sql(`SELECT warden.kill(chain_id => ${quote(chains[1])}::uuid, reason => 'incident 8');
       SELECT warden.revoke_agent('triage-bot', 'compromised');
       SELECT warden.rotate_keys();`);
  await start();
  sql(`SELECT warden.revoke_chain(${quote(chains[2])}::uuid, 'incident 9')`);
  const wanted = sql(`SELECT event_id FROM warden.events
                      WHERE kind IN ('chain_revoked', 'killed', 'agent_suspended', 'keys_rotated', 'token_revoked')
                        AND at > (SELECT max(at) FROM warden.events WHERE kind = 'ssf_stream_created')
                      ORDER BY at, event_id`).map((r) => r[0]);
  const got = await settled(() => new Set(received.map((x) => decode(x.body)[1].jti)),
    (s) => wanted.every((id) => s.has(id)), 10000);
  assert.deepEqual(wanted.filter((id) => !got.has(id)), [], 'every revocation was delivered');
  for (const x of received) {
    const claims = await verifySet(x.body);
    const [uri] = Object.keys(claims.events);
    const kind = sqlValue(`SELECT kind FROM warden.events WHERE event_id = ${quote(claims.jti)}::uuid`);
    assert.ok(kind, `jti ${claims.jti} is an audit event id`);
    assert.equal(uri, kind === 'keys_rotated' ? CREDENTIAL_CHANGE : SESSION_REVOKED, kind);
    assert.equal(claims.aud, receiverUrl);
    if (kind === 'chain_revoked') {
      assert.equal(claims.sub_id.format, 'complex');
      assert.ok(chains.includes(claims.sub_id.session.id));
    }
    if (kind === 'keys_rotated') assert.equal(claims.events[uri].credential_type, 'x509');
  }
  // Duplicates, if any, carry the same jti (at least once); the receiver fixture saw each event.
  const byJti = new Map();
  for (const x of received) byJti.set(decode(x.body)[1].jti, (byJti.get(decode(x.body)[1].jti) ?? 0) + 1);
  console.log(`# ssf: ${received.length} SETs pushed for ${byJti.size} events across kill -9 and 2 receiver 503s`);
});

test('a paused stream holds its events; deleting a stream stops pushes', async () => {
  assert.equal((await manage('/ssf/status', { method: 'POST', body: JSON.stringify({
    stream_id: streamId, status: 'paused', reason: 'maintenance' }) })).status, 200);
  received.length = 0;
  sql(`SELECT warden.reinstate_agent('triage-bot', 'fixed')`);
  const chain2 = sqlValue(`SELECT chain_id FROM warden.start_chain('alice@example.com', 'triage-bot', 'paused 2')`);
  sql(`SELECT warden.revoke_chain(${quote(chain2)}::uuid, 'while paused')`);
  await new Promise((res) => setTimeout(res, 800));
  assert.equal(received.length, 0, 'nothing pushed while paused');
  await manage('/ssf/status', { method: 'POST', body: JSON.stringify({ stream_id: streamId, status: 'enabled' }) });
  await settled(() => received.length, (n) => n >= 1, 5000);
  assert.equal(decode(received[0].body)[1].sub_id.session.id, chain2);
  const del = await manage(`/ssf/streams?stream_id=${streamId}`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  assert.equal((await manage(`/ssf/streams?stream_id=${streamId}`)).status, 404);
});

test('a receiver updates (PATCH) and replaces (PUT) its stream: checked like a new one, pushes follow', async () => {
  const created = await (await manage('/ssf/streams', { method: 'POST', body: JSON.stringify({
    delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiverUrl, authorization_header: 'Bearer first' },
    events_requested: [CREDENTIAL_CHANGE], description: 'before' }) })).json();
  const id = created.stream_id;
  try {
    const patch = (body, token) => manage('/ssf/streams', { method: 'PATCH', body: JSON.stringify(body) }, token);
    assert.equal((await patch({ stream_id: id, description: 'x' }, null)).status, 401, 'the bearer is needed');
    assert.equal((await patch({ stream_id: crypto.randomUUID(), description: 'x' })).status, 404, 'an unknown stream');
    assert.equal((await patch({ stream_id: 'nope', description: 'x' })).status, 404, 'not a stream id');
    assert.equal((await patch({ description: 'x' })).status, 400, 'the stream_id is in the body');
    assert.equal((await patch({ stream_id: id, delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://169.254.169.254/x' } })).status,
      400, 'the endpoint policy holds on update');
    assert.equal((await patch({ stream_id: id, events_requested: 'everything' })).status, 400);
    // PATCH: only what is named changes (and transmitter-supplied properties are ignored).
    const r = await patch({ stream_id: id, events_requested: [SESSION_REVOKED], description: 'after', iss: 'https://evil.example' });
    assert.equal(r.status, 200);
    const patched = await r.json();
    assert.deepEqual(patched.events_delivered, [SESSION_REVOKED]);
    assert.equal(patched.description, 'after');
    assert.equal(patched.iss, base);
    assert.equal(patched.delivery.endpoint_url, receiverUrl);
    assert.deepEqual(await (await manage(`/ssf/streams?stream_id=${id}`)).json(), patched, 'GET shows the update');
    // PUT: the whole configuration; what it leaves out goes back to its default.
    const put = await manage('/ssf/streams', { method: 'PUT', body: JSON.stringify({ stream_id: id,
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: `${receiverUrl}/v2`, authorization_header: 'Bearer second' } }) });
    assert.equal(put.status, 200);
    const replaced = await put.json();
    assert.equal(replaced.delivery.endpoint_url, `${receiverUrl}/v2`);
    assert.deepEqual(replaced.events_requested, []);
    assert.equal(replaced.description, undefined);
    assert.equal((await manage('/ssf/streams', { method: 'PUT', body: JSON.stringify({ stream_id: id }) })).status, 400,
      'a replacement names its delivery');
    // The next revocation goes to the new endpoint with the new header.
    received.length = 0;
    const chain = sqlValue(`SELECT chain_id FROM warden.start_chain('alice@example.com', 'triage-bot', 'after PUT')`);
    sql(`SELECT warden.revoke_chain(${quote(chain)}::uuid, 'after PUT')`);
    const got = await settled(() => received.filter((x) => x.url === '/caep/v2' && decode(x.body)[1].sub_id?.session?.id === chain),
      (l) => l.length >= 1, 5000);
    assert.equal(got.length, 1, 'the revocation reached the replaced endpoint');
    assert.equal(got[0].auth, 'Bearer second');
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'ssf_stream_updated' AND detail ->> 'stream_id' = ${quote(id)}`), '2');
  } finally {
    await manage(`/ssf/streams?stream_id=${id}`, { method: 'DELETE' });
  }
});

function connect(token) {
  const c = new Client({ name: 'warden-ssf', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  return c.connect(transport).then(() => c);
}

test('IdP offboarding over CAEP stops the person\'s agents within a second, aborting a call in flight', async () => {
  const token = sqlValue(`SELECT token FROM warden.start_chain('bob@example.com', 'bob-bot', 'offboarding')`);
  const agent = await connect(token);
  try {
    await agent.callTool({ name: 'everything__echo', arguments: { message: 'warm' } });
    let seen;
    const call = agent.callTool({ name: 'everything__trigger-long-running-operation',
      arguments: { duration: 10, steps: 5 } }, undefined, { timeout: 30000 })
      .then(() => null, (e) => { seen = performance.now(); return e; });
    await new Promise((res) => setTimeout(res, 400));
    const sent = performance.now();
    const r = await push(setFromIdp(claimsFor('bob@example.com')));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const e = await call;
    assert.ok(e, 'the call in flight was aborted');
    assert.match(e.message, /revoked/);
    const latency = seen - sent;
    console.log(`# ssf offboarding: IdP push -> in-flight call aborted in ${latency.toFixed(1)} ms`);
    assert.ok(latency < 1000, `aborted after ${latency} ms`);
    const next = await agent.callTool({ name: 'everything__echo', arguments: { message: 'again' } }).then(
      (x) => x, (err) => ({ isError: true, content: [{ text: err.message }] }));
    assert.ok(next.isError, 'the next call is denied');
    assert.ok(sqlValue(`SELECT revoked_at IS NOT NULL FROM warden.humans WHERE subject = 'bob@example.com'`) === 't');
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'ssf_set_received'`), '1');
  } finally {
    await agent.close().catch(() => {});
  }
  // RISC account-disabled does the same (bob already revoked: accepted again, idempotent).
  const again = await push(setFromIdp(claimsFor('bob@example.com', ACCOUNT_DISABLED)));
  assert.equal(again.status, 202);
});

test('bad SETs get RFC 8935 errors and are audited', async () => {
  const before = Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'ssf_set_refused'`));
  const replayed = claimsFor('alice@example.com', 'https://example.com/unmapped-event');
  const cases = [
    ['wrong iss', setFromIdp({ ...claimsFor('alice@example.com'), iss: 'https://evil.example' }), 'invalid_issuer'],
    ['wrong aud', setFromIdp({ ...claimsFor('alice@example.com'), aud: 'https://other.example' }), 'invalid_audience'],
    ['bad signature', setFromIdp(claimsFor('alice@example.com'), { key: otherKey.privateKey }), 'invalid_key'],
    ['unknown kid', setFromIdp(claimsFor('alice@example.com'), { header: { kid: 'nope' } }), 'invalid_key'],
    ['alg none', `${b64u({ alg: 'none', typ: 'secevent+jwt' })}.${b64u(claimsFor('alice@example.com'))}.`, 'invalid_key'],
    ['HS256 with the public key as secret', (() => {
      const input = `${b64u({ alg: 'HS256', typ: 'secevent+jwt', kid: 'idp-1' })}.${b64u(claimsFor('alice@example.com'))}`;
      const mac = crypto.createHmac('sha256', JSON.stringify(idpJwk)).update(input).digest('base64url');
      return `${input}.${mac}`;
    })(), 'invalid_key'],
    ['not a JWT typ', setFromIdp(claimsFor('alice@example.com'), { header: { typ: 'JWT' } }), 'invalid_request'],
    ['stale iat', setFromIdp({ ...claimsFor('alice@example.com'), iat: Math.floor(Date.now() / 1000) - 3600 }), 'invalid_request'],
    ['future iat', setFromIdp({ ...claimsFor('alice@example.com'), iat: Math.floor(Date.now() / 1000) + 3600 }), 'invalid_request'],
    ['no jti', setFromIdp({ ...claimsFor('alice@example.com'), jti: undefined }), 'invalid_request'],
    ['unknown subject', setFromIdp(claimsFor('mallory@example.com')), 'invalid_request'],
    ['subject of another issuer', setFromIdp({ ...claimsFor('alice@example.com'),
      sub_id: { format: 'iss_sub', iss: 'https://evil.example', sub: 'alice@example.com' } }), 'invalid_request'],
    ['oversize body', setFromIdp({ ...claimsFor('alice@example.com'), pad: 'x'.repeat(40000) }), 'invalid_request'],
    ['garbage', 'not-a-jws', 'invalid_request'],
  ];
  for (const [name, body, err] of cases) {
    const r = await push(body);
    assert.equal(r.status, 400, name);
    assert.equal(r.body.err, err, `${name}: ${JSON.stringify(r.body)}`);
    assert.ok(r.body.description, name);
  }
  const wrongType = await push(setFromIdp(claimsFor('alice@example.com')), 'application/json');
  assert.equal(wrongType.body.err, 'invalid_request');
  // Replay: the same jti twice; the first (an event warden does not act on) is accepted.
  const set = setFromIdp(replayed);
  assert.equal((await push(set)).status, 202);
  const r = await push(set);
  assert.equal(r.status, 400);
  assert.equal(r.body.err, 'invalid_request');
  assert.match(r.body.description, /replay/);
  const after = Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'ssf_set_refused'`));
  assert.equal(after - before, cases.length + 2, 'every refusal is audited');
  assert.equal(sqlValue(`SELECT revoked_at IS NULL FROM warden.humans WHERE subject = 'alice@example.com'`), 't',
    'no bad SET revoked anyone');
});

function setFromRotating(kid, key, extra = {}) {
  return setFromIdp({ ...claimsFor('alice@example.com', UNMAPPED), iss: ROTATING, sub_id: undefined, ...extra },
    { key, header: { kid } });
}

test('a SET signed with the IdP\'s rotated key is accepted after one JWKS fetch; made-up kids cost no more fetches', async () => {
  // The provider rotates after warden cached its first key.
  rotatingPublished = [rotatingJwk(1)];
  const r = await push(setFromRotating('rot-2', rotatingKeys[1].privateKey));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual(rotatingFetches, { discovery: 1, jwks: 1 }, 'one discovery and one JWKS fetch');
  assert.equal(sqlValue(`SELECT count(*) FROM warden.idp_keys k JOIN warden.identity_providers p USING (idp_id)
                         WHERE p.name = 'rotating-idp' AND k.retired_at IS NULL AND k.kid = 'rot-2'`), '1');
  // A flood of unknown kids within the minute: not accepted, and the IdP is not asked again.
  // While the keys were fetched moments ago an unknown kid is told to come back (503 +
  // Retry-After, not audited): a provider that has just rotated must not be refused for good.
  let told = 0;
  for (let i = 0; i < 8; i++) {
    const flood = await push(setFromRotating(`made-up-${i}`, rotatingKeys[1].privateKey));
    assert.ok([400, 429, 503].includes(flood.status), `made-up kid ${i}: ${flood.status}`);
    if (flood.status === 400) assert.equal(flood.body.err, 'invalid_key');
    if (flood.status === 503) told++;
  }
  assert.equal(told, 8, 'every made-up kid inside the minute is asked to send again');
  // The retired key no longer verifies anything.
  const old = await push(setFromRotating('rot-1', rotatingKeys[0].privateKey));
  assert.ok([400, 429, 503].includes(old.status), `retired key: ${old.status}`);
  assert.deepEqual(rotatingFetches, { discovery: 1, jwks: 1 }, 'at most one fetch per minute per IdP');
  // The new key keeps working without another fetch.
  assert.equal((await push(setFromRotating('rot-2', rotatingKeys[1].privateKey))).status, 202);
  assert.equal(rotatingFetches.jwks, 1);
});

test('a flood of bad SETs from one address: the first are audited, the rest get 429 unaudited; good SETs still pass', async () => {
  const refused = () => Number(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'ssf_set_refused'`));
  const before = refused();
  const started = Date.now();
  const statuses = [];
  let retryAfter = null;
  for (let i = 0; i < 80; i++) {
    const r = await fetch(`${base}/ssf/receive`, { method: 'POST', headers: { 'Content-Type': 'application/secevent+jwt' },
      body: `garbage-${i}` });
    statuses.push(r.status);
    if (r.status === 429) {
      retryAfter = r.headers.get('retry-after');
      assert.equal((await r.json()).err, 'invalid_request');
    } else {
      await r.text();
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const audited = refused() - before;
  const limited = statuses.filter((x) => x === 429).length;
  console.log(`# ssf refusals: 80 bad SETs in ${seconds.toFixed(1)} s -> ${audited} audited, ${limited} answered 429`);
  assert.ok(statuses.every((x) => x === 400 || x === 429), statuses.join(','));
  assert.equal(audited, statuses.filter((x) => x === 400).length, 'every 400 is audited, no 429 is');
  assert.ok(limited >= 40, `${limited} limited`);
  assert.ok(audited <= 30 + Math.ceil(seconds) + 1, `${audited} audited: the burst and the rate bound it`);
  assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.ok(Number(metrics.match(/^warden_ssf_refusals_limited_total (\d+)$/m)?.[1]) >= limited);
  // Once the bucket has a token again, the next refusal is audited and counts those answered 429.
  await new Promise((res) => setTimeout(res, 1500));
  const next = await push('garbage-after');
  assert.equal(next.status, 400);
  // Every 429 so far came from this one address and is now counted in some audited row.
  const total = Number((await (await fetch(`${base}/metrics`)).text()).match(/^warden_ssf_refusals_limited_total (\d+)$/m)?.[1]);
  assert.ok(total >= limited);
  assert.equal(sqlValue(`SELECT coalesce(sum((detail ->> 'suppressed')::bigint), 0) FROM warden.events
                         WHERE kind = 'ssf_set_refused'`), String(total), 'the flood is counted in the trail');
  // The IdP's signed SETs from the same address are not limited.
  const good = await push(setFromIdp(claimsFor('alice@example.com', UNMAPPED)));
  assert.equal(good.status, 202, JSON.stringify(good.body));
});
