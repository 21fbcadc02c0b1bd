// ID tokens a malicious or confused identity provider (or whoever holds the network between
// warden and it) could send, through a running warden-mcp's whole /callback flow, from a
// test-controlled provider (evil-idp.mjs): expired, alg none, HS256 keyed with the provider's
// public key, wrong iss/aud/nonce, and the rest; an unknown kid (one JWKS re-fetch, then
// rate-limited). Each refused sign-in: the client is told access_denied (never a code), no chain
// is started, no token appears in any URL, and the audit names why. Key rotation at a real
// provider and failing token endpoints: idp-failures.test.mjs.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 idtoken.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEvilSetup } from './evil-idp.mjs';
import { signInAudit, assertRefused } from './common.mjs';

let setup;

before(async () => {
  setup = await startEvilSetup();
});

after(async () => {
  await setup?.close();
});

test('control: a well-formed ID token from the evil fixture reaches the consent page', async () => {
  const result = await setup.attempt(async (sent, h) => h.tokens(await h.sign(h.claims(sent))));
  assert.equal(result.status, 200, result.body);
  assert.match(result.body, /id="approve"/);
  assert.match(result.body, /mallory@example\.com/);
});

const now = () => Math.floor(Date.now() / 1000);
const crafted = [
  ['expired', async (sent, h) => h.sign(h.claims(sent, { iat: now() - 3600, exp: now() - 600 })), /expired/],
  ['alg none', async (sent, h) => h.unsigned(h.claims(sent)), /alg|signature|malformed/],
  ['HS256 signed with the IdP\'s public key', async (sent, h) => h.hs256WithPublicKey(h.claims(sent)), /alg|signature|malformed|key/],
  ['for another issuer', async (sent, h) => h.sign(h.claims(sent, { iss: 'https://idp.example' })), /issuer/],
  ['for another audience', async (sent, h) => h.sign(h.claims(sent, { aud: 'someone-else' })), /audience/],
  ['for warden and another audience without azp', async (sent, h) => h.sign(h.claims(sent, { aud: ['warden', 'other'] })), /azp|authorized/],
  ['carrying another nonce', async (sent, h) => h.sign(h.claims(sent, { nonce: 'not-the-nonce-warden-sent' })), /nonce/],
  ['without a nonce', async (sent, h) => h.sign(h.claims(sent, { nonce: undefined })), /nonce/],
  ['naming the person by an address the provider did not verify',
    async (sent, h) => h.sign(h.claims(sent, { email_verified: false })), /email_not_verified/],
  ['issued in the future', async (sent, h) => h.sign(h.claims(sent, { iat: now() + 3600, exp: now() + 7200 })), /future/],
  ['another token\'s claims under a valid signature', async (sent, h) => {
    const good = (await h.sign(h.claims(sent))).split('.');
    const other = (await h.sign(h.claims(sent, { email: 'alice@example.com' }))).split('.');
    return `${good[0]}.${other[1]}.${good[2]}`;
  }, /signature/],
  ['typed at+jwt (an access token, not an ID token)', async (sent, h) => h.sign(h.claims(sent), { header: { typ: 'at+jwt' } }), /typ/],
];

for (const [name, make, reason] of crafted) {
  test(`attack: an ID token ${name} is refused`, async () => {
    const before = signInAudit();
    const result = await setup.attempt(async (sent, h) => h.tokens(await make(sent, h)));
    const audited = assertRefused(result, before, setup.catcher);
    assert.match(audited, reason, audited);
  });
}

test('attack: an unknown kid makes warden re-fetch the JWKS once (rate-limited) and is refused', async () => {
  const { evil } = setup;
  const fetchesBefore = evil.jwksFetches();
  let before = signInAudit();
  let result = await setup.attempt(async (sent, h) => h.tokens(await h.sign(h.claims(sent), { key: 'unlisted' })));
  let audited = assertRefused(result, before, setup.catcher);
  assert.match(audited, /kid/, audited);
  assert.equal(evil.jwksFetches(), fetchesBefore + 1, 'the JWKS was fetched again');
  // Another made-up kid right after: refused without another fetch (no hammering the IdP).
  before = signInAudit();
  result = await setup.attempt(async (sent, h) => h.tokens(await h.sign(h.claims(sent),
    { key: 'unlisted', header: { kid: 'made-up' } })));
  audited = assertRefused(result, before, setup.catcher);
  assert.match(audited, /kid/, audited);
  assert.equal(evil.jwksFetches(), fetchesBefore + 1, 'no second fetch within the interval');
});
