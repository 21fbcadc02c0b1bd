// Shared by the warden-mcp OAuth tests: a free port, PKCE, and the sign-in walked with plain
// fetch (no browser) through /authorize, the IdP and /callback.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { sql, sqlValue } from '../e2e/harness.mjs';

export { freePort } from '../e2e/harness.mjs';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const challengeOf = (verifier) => b64url(crypto.createHash('sha256').update(verifier).digest());


// An authorization request URL at warden (`issuer`) for `clientId`.
export function authorizeRequest(issuer, clientId, redirectUri, overrides = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const params = {
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    code_challenge: challengeOf(verifier), code_challenge_method: 'S256',
    state: b64url(crypto.randomBytes(16)), resource: `${issuer}/mcp`, ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v === undefined) delete params[k];
  const url = new URL(`${issuer}/authorize`);
  url.search = new URLSearchParams(params);
  return { url: url.href, verifier, params };
}

// For an IdP that answers /auth at once (evil-idp.mjs): /authorize -> IdP -> /callback, by
// hand. Returns the /callback response ({ status, location, body, urls: every URL visited }).
export async function signInWithoutBrowser(request) {
  const urls = [request.url];
  let r = await fetch(request.url, { redirect: 'manual' });
  assert.equal(r.status, 302, await r.text());
  urls.push(r.headers.get('location'));
  r = await fetch(urls.at(-1), { redirect: 'manual' });  // the IdP
  assert.equal(r.status, 302);
  urls.push(r.headers.get('location'));
  r = await fetch(urls.at(-1), { redirect: 'manual' });  // warden's /callback
  const location = r.headers.get('location');
  if (location) urls.push(location);
  return { status: r.status, location, body: await r.text(), urls, headers: r.headers };
}

export const chainCount = () => Number(sqlValue('SELECT count(*) FROM warden.chains'));

// Chains started, sign-in refusals audited and the newest refusal's reason, in one query.
export function signInAudit() {
  const [chains, refusals, last] = sql(`SELECT (SELECT count(*) FROM warden.chains),
      (SELECT count(*) FROM warden.events WHERE kind = 'sign_in_refused'),
      (SELECT coalesce(reason, '') FROM warden.events WHERE kind = 'sign_in_refused' ORDER BY at DESC, seq DESC LIMIT 1)`)[0];
  return { chains: Number(chains), refusals: Number(refusals), last };
}

// The newest sign-in refusal's reason in the audit.
export const lastRefusal = () => sqlValue(
  `SELECT reason FROM warden.events WHERE kind = 'sign_in_refused' ORDER BY at DESC, seq DESC LIMIT 1`);

// The official MCP TypeScript SDK client (client/auth.js) connecting to warden's /mcp at
// `issuer` with no client_id of its own: it registers by RFC 7591 (or, given clientMetadataUrl,
// uses that Client ID Metadata Document), gets 401 and an authorization URL. `beforeSignIn(info)`
// runs then (the test approves the new pending agent); the person signs in at the IdP and
// approves in chromium; the SDK redeems the code, connects again and calls fixture__whoami.
// Returns { clientInformation, result, tokens, authorizationUrl }.
export async function sdkSignInAndCall({
  issuer, redirectUri, catcher, session, idp, name, clientMetadataUrl, beforeSignIn = async () => {},
}) {
  const { signInAtIdp } = await import('./browser.mjs');
  const { modules } = await import('../e2e/harness.mjs');
  const sdk = `${modules}/@modelcontextprotocol/sdk/dist/esm/client`;
  const { Client } = await import(`${sdk}/index.js`);
  const { StreamableHTTPClientTransport } = await import(`${sdk}/streamableHttp.js`);
  const { UnauthorizedError } = await import(`${sdk}/auth.js`);
  let verifier;
  let tokens;
  let clientInformation;
  let authorizationUrl;
  const provider = {
    get redirectUrl() { return redirectUri; },
    get clientMetadata() {
      return {
        redirect_uris: [redirectUri], client_name: `SDK ${name}`, token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      };
    },
    ...(clientMetadataUrl ? { clientMetadataUrl } : {}),
    state: () => b64url(crypto.randomBytes(16)),
    clientInformation: () => clientInformation,
    saveClientInformation: (info) => { clientInformation = info; },
    tokens: () => tokens,
    saveTokens: (t) => { tokens = t; },
    redirectToAuthorization: (url) => { authorizationUrl = url; },
    saveCodeVerifier: (v) => { verifier = v; },
    codeVerifier: () => verifier,
  };
  const url = new URL(`${issuer}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await assert.rejects(new Client({ name: `sdk-${name}`, version: '1.0.0' }).connect(first), UnauthorizedError);
  assert.ok(clientInformation?.client_id, 'the SDK got a client_id');
  assert.ok(authorizationUrl?.href.startsWith(`${issuer}/authorize?`), String(authorizationUrl));
  assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(authorizationUrl.searchParams.get('client_id'), clientInformation.client_id);
  await beforeSignIn(clientInformation);
  const page = await session.page();
  await signInAtIdp(session, page, {
    url: authorizationUrl.href, login: idp.user.accountId, password: idp.user.password,
    until: `${issuer}/callback`, name,
  });
  await page.waitForSelector('#approve');
  await session.screenshot(page, `${name}-consent`);
  catcher.seen.length = 0;
  await Promise.all([page.waitForFunction((prefix) => location.href.startsWith(prefix), { polling: 100 },
    redirectUri), page.click('#approve')]);
  await page.close();
  const redirect = catcher.seen.at(-1);
  assert.ok(redirect?.code, JSON.stringify(redirect));
  await first.finishAuth(redirect.code);
  assert.ok(tokens?.access_token);
  const client = new Client({ name: `sdk-${name}`, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  const result = await client.callTool({ name: 'fixture__whoami', arguments: {} });
  await client.close();
  return { clientInformation, result, tokens, authorizationUrl };
}

// A sign-in warden refused (evil-idp.mjs's setup): the client is told access_denied with its
// state and nothing else, no URL on the way carried a token, no chain was started, and one
// refusal was audited (`before`: signInAudit() before the attempt). Returns the reason.
export function assertRefused(result, before, catcher) {
  assert.equal(result.status, 302, result.body);
  const back = new URL(result.location);
  assert.equal(back.origin + back.pathname, catcher.redirectUri);
  assert.deepEqual([...back.searchParams.keys()].sort(), ['error', 'iss', 'state']);
  assert.equal(back.searchParams.get('error'), 'access_denied');
  assert.equal(back.searchParams.get('state'), result.request.params.state);
  for (const url of result.urls) {
    assert.doesNotMatch(url, /eyJ|id_token|access_token|consent_token/, url);
  }
  const now = signInAudit();
  assert.equal(now.chains, before.chains, 'no chain started');
  assert.equal(now.refusals, before.refusals + 1, 'the refusal is audited');
  return now.last;
}
