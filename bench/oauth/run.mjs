// bench/oauth: what warden-mcp's OAuth endpoints cost next to the decision they lead to, in one
// run on one machine (absolute times on shared machines are noise; the ratios are the figure).
//   authorize-endpoint  GET /authorize with a valid PKCE request: checks the client, records the
//                       pending sign-in, redirects to the IdP (the IdP's own time is not in it)
//   token-refresh       POST /token grant_type=refresh_token: verifies and rotates the refresh
//                       token, mints the next access token (the chain's task token)
//   decision            tools/call through warden-mcp to an HTTP upstream with a task token
//                       started in SQL (start_chain): the plain per-call path
//   decision-oauth      the same call with the access token the OAuth flow issued
// decision-oauth / decision is the "no per-call cost" claim: the access token is the task token.
// The one sign-in is done once, in Debian chromium against the fixture OpenID provider of the
// oauth test suite. Env: BENCH_CALLS (default 300 per case), WARDEN_MCP, PGHOST/PGPORT/PGUSER
// of a superuser (scripts/pg env). Run: bench/oauth/run.sh
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIdp } from '../../test/oauth/fixture-idp.mjs';
import { launchBrowser, signInAtIdp } from '../../test/oauth/browser.mjs';
import { startRedirectCatcher } from '../../test/oauth/redirect-catcher.mjs';
import {
  freshDatabase, sql, quote, startProcess, startGateway, stop, freePort } from '../../test/e2e/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const calls = Number(process.env.BENCH_CALLS ?? 300);
const b64url = (buf) => Buffer.from(buf).toString('base64url');


function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

// Times `once` `calls` times after 20 untimed warm-up runs; returns {p50, p99} in ms.
async function measure(name, once) {
  for (let i = 0; i < 20; i++) await once();
  const times = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const r = { name, p50: percentile(times, 50), p99: percentile(times, 99) };
  console.log(`${name.padEnd(20)} ${String(calls).padStart(6)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`);
  return r;
}

// As measure, for two cases at once, alternating one call of each.
async function measurePair([nameA, onceA], [nameB, onceB]) {
  for (let i = 0; i < 20; i++) { await onceA(); await onceB(); }
  const times = [[], []];
  const timed = async (once, into) => {
    const t0 = process.hrtime.bigint();
    await once();
    into.push(Number(process.hrtime.bigint() - t0) / 1e6);
  };
  for (let i = 0; i < calls; i++) {
    // Which goes first alternates too.
    if (i % 2) { await timed(onceA, times[0]); await timed(onceB, times[1]); }
    else { await timed(onceB, times[1]); await timed(onceA, times[0]); }
  }
  return [nameA, nameB].map((name, k) => {
    const sorted = times[k].sort((a, b) => a - b);
    const r = { name, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    console.log(`${name.padEnd(20)} ${String(calls).padStart(6)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`);
    return r;
  });
}

// One MCP session over plain fetch; returns a function making one tools/call.
async function mcpCaller(issuer, token) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
  };
  const init = await fetch(`${issuer}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-oauth', version: '0' } },
    }),
  });
  if (init.status !== 200) throw new Error(`initialize: ${init.status} ${await init.text()}`);
  await init.text();
  const session = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18' };
  let id = 2;
  return async () => {
    const r = await fetch(`${issuer}/mcp`, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'fixture__whoami', arguments: {} } }),
    });
    const text = await r.text();
    if (r.status !== 200 || text.includes('"error"')) throw new Error(`tools/call: ${r.status} ${text.slice(0, 200)}`);
  };
}

const catcher = await startRedirectCatcher();
const port = await freePort();
const issuer = `http://127.0.0.1:${port}`;
const idp = await startIdp({ client: { clientId: 'warden', redirectUris: [`${issuer}/callback`] } });
const upstream = await startProcess('node', [path.join(here, '../../test/e2e/fixture-upstream.mjs')], /listening (\d+)/);
let gateway;
let session;
try {
  freshDatabase();
  sql(`SELECT warden.add_human('owner@example.com', 'Owner');
       SELECT warden.add_agent('oauth-bot', 'owner@example.com');
       SELECT warden.add_server('fixture', 'http://127.0.0.1:${upstream.match[1]}/mcp', 'http');
       SELECT warden.grant('oauth-bot', 'fixture/whoami');
       SELECT warden.add_identity_provider('fixture-idp', ${quote(idp.issuer)}, 'warden', NULL,
                '{"jit": true, "subject_claim": "email", "email_claim": "email"}');
       SELECT warden.register_client('oauth-bot', 'bench-client', ARRAY[${quote(catcher.redirectUri)}]);`);
  const [[sqlToken]] = sql(`SELECT token FROM warden.start_chain('owner@example.com', 'oauth-bot', 'bench', '2 hours')`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--oauth-allow-http-loopback']);
  const meta = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const resource = `${issuer}/mcp`;
  const authorizeUrl = () => {
    const verifier = b64url(crypto.randomBytes(32));
    const url = new URL(meta.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: 'bench-client', redirect_uri: catcher.redirectUri,
      code_challenge: b64url(crypto.createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256', state: b64url(crypto.randomBytes(16)), resource,
    });
    return { url: url.href, verifier };
  };

  // The one sign-in: chromium at the IdP, then the consent page, then the code.
  session = await launchBrowser({ resultsDir: path.join(os.tmpdir(), 'bench-oauth') });
  const request = authorizeUrl();
  const page = await session.page();
  await signInAtIdp(session, page, {
    url: request.url, login: idp.user.accountId, password: idp.user.password, until: `${issuer}/callback`, name: 'bench',
  });
  await page.waitForSelector('#approve');
  await Promise.all([page.waitForFunction((prefix) => location.href.startsWith(prefix),
    { polling: 50 }, catcher.redirectUri), page.click('#approve')]);
  const { code } = catcher.seen.at(-1);
  const token = async (fields) => {
    const r = await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'bench-client', resource, ...fields }),
    });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`/token: ${r.status} ${JSON.stringify(body)}`);
    return body;
  };
  let tokens = await token({
    grant_type: 'authorization_code', code, code_verifier: request.verifier, redirect_uri: catcher.redirectUri,
  });

  console.log(`${'case'.padEnd(20)} ${'calls'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  const authorizeEndpoint = await measure('authorize-endpoint', async () => {
    const r = await fetch(authorizeUrl().url, { redirect: 'manual' });
    if (r.status !== 302 || !r.headers.get('location').startsWith(idp.issuer)) {
      throw new Error(`/authorize: ${r.status} ${r.headers.get('location')}`);
    }
  });
  const refresh = await measure('token-refresh', async () => {
    tokens = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  });
  // The two call cases alternate call by call, so load from anything else on the machine falls
  // on both alike.
  const [decision, decisionOauth] = await measurePair(['decision', await mcpCaller(issuer, sqlToken)],
    ['decision-oauth', await mcpCaller(issuer, tokens.access_token)]);
  console.log(`p50 ratios: authorize-endpoint/decision = ${(authorizeEndpoint.p50 / decision.p50).toFixed(2)}, ` +
    `token-refresh/decision = ${(refresh.p50 / decision.p50).toFixed(2)}, ` +
    `decision-oauth/decision = ${(decisionOauth.p50 / decision.p50).toFixed(2)} (1.00 = the OAuth token adds nothing per call)`);
} finally {
  await session?.close();
  stop(gateway?.child);
  stop(upstream?.child);
  await idp.close();
  await catcher.close();
}
