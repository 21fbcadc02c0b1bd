// Proves the harness: a full OIDC authorization-code flow with PKCE against the fixture IdP,
// signed in through Debian's chromium, with the ID token verified by jose. No warden yet.
// Run: cd test/oauth && node --test --test-concurrency=1 harness.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { startIdp } from './fixture-idp.mjs';
import { launchBrowser, signInAtIdp } from './browser.mjs';
import { startRedirectCatcher } from './redirect-catcher.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');

let catcher;
let idp;
let session;

before(async () => {
  catcher = await startRedirectCatcher();
  idp = await startIdp({ client: { clientId: 'warden', redirectUris: [catcher.redirectUri] } });
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  await idp?.close();
  await catcher?.close();
});

const b64url = (buf) => Buffer.from(buf).toString('base64url');

async function discover(issuer) {
  const r = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(r.status, 200);
  return r.json();
}

// Runs the browser part of the code flow; returns what the redirect carried and the request.
async function authorize(provider, name, { login, password } = {}) {
  const meta = await discover(provider.issuer);
  const verifier = b64url(crypto.randomBytes(32));
  const request = {
    verifier,
    state: b64url(crypto.randomBytes(16)),
    nonce: b64url(crypto.randomBytes(16)),
    meta,
  };
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: catcher.redirectUri,
    scope: 'openid email profile groups',
    state: request.state,
    nonce: request.nonce,
    code_challenge: b64url(crypto.createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  });
  catcher.seen.length = 0;
  const page = await session.page();
  const landed = await signInAtIdp(session, page, {
    url: url.href,
    login: login ?? provider.user.accountId,
    password: password ?? provider.user.password,
    until: catcher.redirectUri,
    name,
  });
  await page.close();
  return { landed, request, redirect: catcher.seen.at(-1) };
}

async function redeem(provider, request, code, verifier = request.verifier) {
  const r = await fetch(request.meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: catcher.redirectUri,
      client_id: provider.clientId,
      code_verifier: verifier,
    }),
  });
  return { status: r.status, body: await r.json() };
}

async function verifyIdToken(provider, request, idToken) {
  const jwks = jose.createRemoteJWKSet(new URL(request.meta.jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, {
    issuer: provider.issuer,
    audience: provider.clientId,
    algorithms: ['RS256'],
  });
  return { payload, protectedHeader };
}

test('a full code flow with PKCE: browser sign-in, code, token, ID token verified', async () => {
  const { landed, request, redirect } = await authorize(idp, 'flow');
  assert.ok(landed.startsWith(catcher.redirectUri), landed);
  assert.equal(redirect.state, request.state);
  assert.equal(redirect.iss, idp.issuer);  // RFC 9207
  assert.ok(redirect.code);

  const token = await redeem(idp, request, redirect.code);
  assert.equal(token.status, 200, JSON.stringify(token.body));
  const { payload, protectedHeader } = await verifyIdToken(idp, request, token.body.id_token);
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.nonce, request.nonce);
  assert.equal(payload.email, 'alice@example.com');
  assert.deepEqual(payload.groups, ['engineering']);
  const jwks = await idp.jwks();
  assert.ok(jwks.keys.some((k) => k.kid === protectedHeader.kid));
  assert.ok(fs.existsSync(path.join(resultsDir, 'flow-login.png')));

  // The code is single use.
  const again = await redeem(idp, request, redirect.code);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
});

test('a wrong PKCE verifier is refused by the IdP', async () => {
  const { request, redirect } = await authorize(idp, 'pkce');
  const wrong = await redeem(idp, request, redirect.code, b64url(crypto.randomBytes(32)));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
});

test('a wrong password stays on the login page', async () => {
  const { landed, redirect } = await authorize(idp, 'wrong-password', { password: 'nope' });
  assert.ok(!landed.startsWith(catcher.redirectUri), landed);
  assert.equal(redirect, undefined);
});

test('key rotation: the next ID token has a new kid that the JWKS now lists', async () => {
  const before = await idp.jwks();
  const [newKid] = await idp.rotateKeys();
  const after = await idp.jwks();
  assert.ok(!before.keys.some((k) => k.kid === newKid));
  assert.ok(after.keys.some((k) => k.kid === newKid));
  assert.ok(before.keys.every((k) => after.keys.some((a) => a.kid === k.kid)));  // kept old

  const { request, redirect } = await authorize(idp, 'rotated');
  const token = await redeem(idp, request, redirect.code);
  assert.equal(token.status, 200, JSON.stringify(token.body));
  const { protectedHeader } = await verifyIdToken(idp, request, token.body.id_token);
  assert.equal(protectedHeader.kid, newKid);
});

test('a second provider is independent', async () => {
  const second = await startIdp({
    user: { accountId: 'bob', email: 'bob@example.org', groups: ['finance'], password: 'pw-bob' },
    client: { clientId: 'warden-2', redirectUris: [catcher.redirectUri] },
  });
  try {
    assert.notEqual(second.issuer, idp.issuer);
    const { request, redirect } = await authorize(second, 'second');
    const token = await redeem(second, request, redirect.code);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const { payload } = await verifyIdToken(second, request, token.body.id_token);
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.aud, 'warden-2');
    assert.deepEqual(payload.groups, ['finance']);
    // Its tokens do not verify with the first provider's keys.
    const firstKeys = jose.createLocalJWKSet(await idp.jwks());
    await assert.rejects(jose.jwtVerify(token.body.id_token, firstKeys));
  } finally {
    await second.close();
  }
});

test('attack material: tokens signed with the IdP key verify, HS256 with its public key does not', async () => {
  const meta = await discover(idp.issuer);
  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: 'https://evil.example', aud: 'warden', sub: 'alice', iat: now, exp: now + 60 };
  const signed = await idp.signToken(claims);
  const { payload } = await jose.jwtVerify(signed, jwks);
  assert.equal(payload.iss, 'https://evil.example');  // signature good; the claims are the attack
  for (const secret of ['pem', 'n']) {
    const forged = await idp.forgeHs256WithPublicKey({ ...claims, iss: idp.issuer }, { secret });
    assert.equal(jose.decodeProtectedHeader(forged).alg, 'HS256');
    await assert.rejects(jose.jwtVerify(forged, jwks));
  }
});
