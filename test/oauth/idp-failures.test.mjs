// The sign-in's back channel failing, through a running warden-mcp: the provider's token
// endpoint answering an error, HTTP 500, garbage, no ID token, too much, or nothing at all
// (evil-idp.mjs), and the provider sending an error to /callback — each refused like a bad ID
// token (access_denied to the client, no chain, audited). Then a real key rotation at the
// certified oidc-provider: the next sign-in's unknown kid makes warden fetch the JWKS again and
// succeed (Debian's chromium signs in).
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 idp-failures.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEvilSetup } from './evil-idp.mjs';
import { startIdp } from './fixture-idp.mjs';
import { launchBrowser, signInAtIdp } from './browser.mjs';
import { freePort, authorizeRequest, signInAudit, assertRefused } from './common.mjs';
import { sql, quote, startGateway, stop } from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');

let setup;

before(async () => {
  setup = await startEvilSetup();
});

after(async () => {
  await setup?.close();
});

const failing = [
  ['answers an OAuth error', () => ({ status: 400, body: { error: 'invalid_grant' } }), /HTTP 400 invalid_grant/],
  ['answers HTTP 500', () => ({ status: 500, body: 'Internal Server Error' }), /HTTP 500/],
  ['answers garbage', () => ({ status: 200, body: '<html>not json', contentType: 'text/html' }), /token endpoint: HTTP 200/],
  ['sends no ID token', () => ({ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }), /no ID token/],
  ['sends an ID token that is not a string', () => ({ status: 200, body: { access_token: 'at', id_token: { alg: 'none' } } }), /no ID token/],
  ['answers with a body over the size limit', () => ({ status: 200, body: JSON.stringify({ id_token: 'x'.repeat(300 * 1024) }) }), /token endpoint: fetch_failed/],
];

for (const [name, answer, reason] of failing) {
  test(`the IdP's token endpoint ${name}: the sign-in is refused`, async () => {
    const before = signInAudit();
    const result = await setup.attempt(async () => answer());
    const audited = assertRefused(result, before, setup.catcher);
    assert.match(audited, reason, audited);
  });
}

test('the IdP\'s token endpoint never answers: refused after the fetch timeout (5 s)', async () => {
  const before = signInAudit();
  const started = Date.now();
  const result = await setup.attempt(async () => 'hang');
  const took = Date.now() - started;
  const audited = assertRefused(result, before, setup.catcher);
  assert.match(audited, /token endpoint: fetch_failed/, audited);
  assert.ok(took >= 4500 && took < 15000, `took ${took} ms`);
});

test('the IdP sends error=access_denied to /callback: refused, and the sign-in is single use', async () => {
  const before = signInAudit();
  const request = authorizeRequest(setup.issuer, 'evil-client', setup.catcher.redirectUri);
  const r = await fetch(request.url, { redirect: 'manual' });
  const state = new URL(r.headers.get('location')).searchParams.get('state');
  const cb = await fetch(`${setup.issuer}/callback?error=access_denied&state=${encodeURIComponent(state)}`,
    { redirect: 'manual' });
  const result = { status: cb.status, location: cb.headers.get('location'), body: await cb.text(), urls: [], request };
  const audited = assertRefused(result, before, setup.catcher);
  assert.match(audited, /answered access_denied/, audited);
  const again = await fetch(`${setup.issuer}/callback?code=x&state=${encodeURIComponent(state)}`, { redirect: 'manual' });
  assert.equal(again.status, 400);
  assert.equal(again.headers.get('location'), null);
});

test('JWKS rotation at a real provider: the next sign-in re-fetches the keys once and succeeds', async () => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const idp = await startIdp({ client: { clientId: 'warden-rot', redirectUris: [`${issuer}/callback`] } });
  sql(`SELECT warden.add_identity_provider('rotating', ${quote(idp.issuer)}, 'warden-rot', NULL,
         '{"jit": true, "subject_claim": "email", "email_claim": "email"}')`);
  const gw = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--idp', 'rotating',
    '--oauth-allow-http-loopback']);
  const session = await launchBrowser({ resultsDir });
  const liveKids = () => sql(`SELECT kid FROM warden.idp_keys k JOIN warden.identity_providers p USING (idp_id)
                              WHERE p.name = 'rotating' AND k.retired_at IS NULL ORDER BY kid`).map((row) => row[0]);
  const jwksFetches = () => idp.requests.filter((r) => r === 'GET /jwks').length;
  try {
    const signIn = async (name) => {
      const request = authorizeRequest(issuer, 'evil-client', setup.catcher.redirectUri);
      const page = await session.page();
      await signInAtIdp(session, page, {
        url: request.url, login: idp.user.accountId, password: idp.user.password, until: `${issuer}/callback`, name,
      });
      const approve = await page.waitForSelector('#approve', { timeout: 5000 }).catch(() => null);
      const url = page.url();
      await page.close();
      return { approve, url };
    };
    const first = await signIn('rotation-before');
    assert.ok(first.approve, first.url);
    const kidsBefore = liveKids();
    const [newKid] = await idp.rotateKeys({ keepOld: false });
    assert.ok(!kidsBefore.includes(newKid));
    const fetchesBefore = jwksFetches();
    const second = await signIn('rotation-after');
    assert.ok(second.approve, `after rotation: ${second.url}\n${gw.log.join('')}`);
    assert.equal(jwksFetches(), fetchesBefore + 1);
    assert.deepEqual(liveKids(), [newKid]);
  } finally {
    await session.close();
    stop(gw.child);
    await idp.close();
  }
});
