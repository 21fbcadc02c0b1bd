// OIDC federation for upstreams (issue 13): an upstream verifies warden's minted JWT the way a
// cloud provider verifies a CI OIDC token — it knows only the gateway's issuer URL, discovers
// jwks_uri from <issuer>/.well-known/openid-configuration, checks the signature with the key
// named by "kid", and checks iss, aud and exp. Nothing here trusts warden beyond that URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freshDatabase, here, sql, startGateway, startProcess, stop, freePort } from './harness.mjs';

let fixture;
let gateway;
let client;
let issuer;


// What the upstream received in its Authorization header on a whoami call.
async function credentialSeen() {
  const r = await client.callTool({ name: 'fixture__whoami', arguments: {} });
  const { headers } = JSON.parse(r.content[0].text);
  const m = headers.authorization?.match(/^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/);
  assert.ok(m, `no JWT in the upstream's Authorization header: ${headers.authorization}`);
  return m[1];
}

// The upstream's side: verify a compact JWS knowing only the issuer URL.
async function verifyAsUpstream(jwt, expectedIssuer, audience) {
  const config = await (await fetch(`${expectedIssuer}/.well-known/openid-configuration`)).json();
  assert.equal(config.issuer, expectedIssuer);
  const { keys } = await (await fetch(config.jwks_uri)).json();
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  assert.ok(config.id_token_signing_alg_values_supported.includes(header.alg), header.alg);
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is not in ${config.jwks_uri}`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const valid = crypto.verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
  return { valid, claims };
}

before(async () => {
  freshDatabase();
  fixture = await startProcess('node', [path.join(here, 'fixture-upstream.mjs')], /listening (\d+)/);
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('fed-bot', 'alice@example.com');
       SELECT warden.add_server('fixture', 'http://127.0.0.1:${fixture.match[1]}/mcp', 'http',
                                '{"kind": "jwt", "ttl_seconds": 30}');
       SELECT warden.grant('fed-bot', 'fixture/whoami');`);
  const [[token]] = sql(`SELECT token FROM warden.start_chain('alice@example.com', 'fed-bot', 'federation')`);
  const port = await freePort();
  // A trailing slash on --issuer is not part of the issuer (metadata and "iss" agree).
  issuer = `http://127.0.0.1:${port}`;
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', `${issuer}/`,
    '--oauth-allow-http-loopback']);
  client = new Client({ name: 'federation-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${issuer}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
});

after(async () => {
  await client?.close().catch(() => {});
  stop(gateway?.child);
  stop(fixture?.child);
});

test('a minted JWT names the gateway as its issuer and verifies from its OpenID configuration', async () => {
  const jwt = await credentialSeen();
  const { valid, claims } = await verifyAsUpstream(jwt, issuer, 'fixture');
  assert.ok(valid, 'the signature does not verify with the published key');
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, 'fixture');
  assert.equal(claims.sub, 'fed-bot');
  assert.equal(claims.human, 'alice@example.com');
  assert.ok(claims.exp > Date.now() / 1000 && claims.exp - claims.iat <= 60, JSON.stringify(claims));
});

test('a JWT whose payload was changed does not verify (the check above can fail)', async () => {
  const jwt = await credentialSeen();
  const [h, p, s] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.sub = 'refund-bot';
  const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  const { valid } = await verifyAsUpstream(forged, issuer, 'fixture');
  assert.equal(valid, false);
});

test('after a key rotation both the old and the new key are published until the old one retires', async () => {
  const before = await credentialSeen();
  sql(`SELECT warden.rotate_keys()`);
  const afterRotation = await credentialSeen();
  const kid = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()).kid;
  assert.notEqual(kid(before), kid(afterRotation), 'rotation did not change the signing key');
  assert.ok((await verifyAsUpstream(before, issuer, 'fixture')).valid, 'the old key is gone too soon');
  assert.ok((await verifyAsUpstream(afterRotation, issuer, 'fixture')).valid);
});
