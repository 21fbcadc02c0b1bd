// warden-mcp as a confidential client of the identity provider: the client secret is sealed with
// `warden-mcp secret put --idp NAME` (read from standard input, never argv), and warden
// authenticates at the certified oidc-provider's token endpoint with client_secret_basic or,
// when that is all the provider offers, client_secret_post. Signed in through Debian's chromium.
// Run: scripts/npm-deps && cd test/oauth && node --test --test-concurrency=1 idp-secret.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIdp } from './fixture-idp.mjs';
import { launchBrowser, signInAtIdp } from './browser.mjs';
import { startRedirectCatcher } from './redirect-catcher.mjs';
import { freePort, authorizeRequest, lastRefusal, chainCount } from './common.mjs';
import {
  freshDatabase, sql, sqlValue, quote, startGateway, stop, binary, database,
} from '../e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = process.env.WARDEN_OAUTH_RESULTS ?? path.join(here, '../../results/oauth');
// Characters that must be form-encoded in client_secret_basic (RFC 6749 2.3.1).
const secret = 'p@ss:w/rd+1 x%';
const adminConninfo = `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=${process.env.PGUSER}`;

let catcher;
let session;

before(async () => {
  freshDatabase();
  catcher = await startRedirectCatcher();
  sql(`SELECT warden.add_human('owner@example.com', 'Owner');
       SELECT warden.add_agent('secret-bot', 'owner@example.com');
       SELECT warden.register_client('secret-bot', 'secret-client', ARRAY[${quote(catcher.redirectUri)}]);`);
  session = await launchBrowser({ resultsDir });
});

after(async () => {
  await session?.close();
  await catcher?.close();
});

function secretPut(args, input) {
  return spawnSync(binary, ['secret', 'put', '--db', adminConninfo, ...args], { input, encoding: 'utf8' });
}

test('secret put --idp: reads stdin, seals, stores a version; refuses empty, unknown, both flags', () => {
  sql(`SELECT warden.add_identity_provider('cli-idp', 'https://idp.example', 'warden', NULL, '{}')`);
  const out = secretPut(['--idp', 'cli-idp'], `${secret}\n`);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), 'stored client secret version 1 for identity provider cli-idp');
  assert.ok(!out.stdout.includes(secret) && !out.stderr.includes(secret));
  // Stored sealed: the plaintext is nowhere in the table; warden_proxy opens it.
  assert.equal(sqlValue(`SELECT count(*) FROM warden.idp_secrets s
                         WHERE position(convert_to(${quote(secret)}, 'UTF8') IN s.wrapped::bytea) > 0`), '0');
  assert.equal(sqlValue(`SET ROLE warden_gateway; SELECT warden.idp_client_secret('cli-idp')`), secret);
  assert.equal(secretPut(['--idp', 'cli-idp'], 'second\n').stdout.trim(),
    'stored client secret version 2 for identity provider cli-idp');
  assert.equal(secretPut(['--idp', 'cli-idp'], '').status, 1);
  assert.equal(secretPut(['--idp', 'no-such-idp'], 'x\n').status, 1);
  const both = secretPut(['--idp', 'cli-idp', '--server', 'x'], 'x\n');
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--server NAME, --idp NAME or --export NAME/);
  assert.equal(sqlValue(`SELECT max(version) FROM warden.idp_secrets s JOIN warden.identity_providers p USING (idp_id)
                         WHERE p.name = 'cli-idp'`), '2');
  // argv never carries it: there is no flag for the value.
  const argv = secretPut(['--idp', 'cli-idp', '--secret', secret], '');
  assert.equal(argv.status, 2);
  assert.match(argv.stderr, /unknown option --secret/);
});

// A provider requiring `method` for client `clientId`; warden with the secret put by the CLI.
async function confidentialSignIn({ name, method, clientAuthMethods }) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const idp = await startIdp({
    // A person of this provider only: the same subject from two providers is never merged.
    user: { email: `alice@${name}.example` },
    client: { clientId: `warden-${name}`, clientSecret: secret, tokenEndpointAuthMethod: method,
      redirectUris: [`${issuer}/callback`] },
    clientAuthMethods,
  });
  sql(`SELECT warden.add_identity_provider(${quote(name)}, ${quote(idp.issuer)}, ${quote(`warden-${name}`)}, NULL,
         '{"jit": true, "subject_claim": "email", "email_claim": "email"}')`);
  const gw = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--idp', name,
    '--oauth-allow-http-loopback']);
  // Signs in; `until` is where the browser should end up: the consent page, or (refused) the
  // client, which the redirect catcher sees (a browser-side wait can miss a navigation that
  // passes through warden's /callback straight to the client).
  const signIn = async (label, until) => {
    const request = authorizeRequest(issuer, 'secret-client', catcher.redirectUri);
    const page = await session.page();
    catcher.seen.length = 0;
    let approve = null;
    if (until === catcher.redirectUri) {
      await page.goto(request.url, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#login');
      await page.type('#login', idp.user.accountId);
      await page.type('#password', idp.user.password);
      await Promise.all([catcher.next(), page.click('#submit')]);
    } else {
      await signInAtIdp(session, page, {
        url: request.url, login: idp.user.accountId, password: idp.user.password, until, name: label,
      }).catch(async (e) => {
        throw new Error(`${e.message} at ${page.url()}; refused: ${lastRefusal()}`);
      });
      approve = await page.waitForSelector('#approve', { timeout: 5000 }).catch(() => null);
    }
    const url = page.url();
    await page.close();
    return { approve, url, redirect: catcher.seen.at(-1) };
  };
  return { idp, gw, issuer, signIn, close: async () => { stop(gw.child); await idp.close(); } };
}

for (const [method, clientAuthMethods] of [
  ['client_secret_basic', undefined],
  ['client_secret_post', ['client_secret_post', 'none']],
]) {
  test(`${method}: without the secret the provider refuses warden; with it (secret put --idp) the sign-in reaches consent`, async () => {
    const name = method.replaceAll('_', '-');
    const run = await confidentialSignIn({ name, method, clientAuthMethods });
    try {
      const chains = chainCount();
      const refused = await run.signIn(`${name}-nosecret`, catcher.redirectUri);
      assert.equal(refused.approve, null);
      assert.equal(refused.redirect?.error, 'access_denied', JSON.stringify(refused));
      assert.match(lastRefusal(), /token endpoint: HTTP 40[01] invalid_client/);
      assert.equal(chainCount(), chains);

      const out = secretPut(['--idp', name], `${secret}\n`);
      assert.equal(out.status, 0, out.stderr);
      const ok = await run.signIn(`${name}-secret`, `${run.issuer}/callback`);
      assert.ok(ok.approve, `${ok.url}\n${run.gw.log.join('')}`);
      const tokenRequests = run.idp.requests.filter((r) => r === 'POST /token');
      assert.equal(tokenRequests.length, 2);
    } finally {
      await run.close();
    }
  });
}
