// bench/exchange: what an RFC 8693 token exchange at warden-mcp's /token costs next to the
// plain SQL delegation it ends in, in one run on one machine (the ratios are the figure):
//   delegate-sql        SELECT warden.delegate(parent, agent, tools) over one open psql
//                       connection: the baseline (a round trip, the rules, the token, the audit)
//   exchange-delegate   POST /token: subject = that parent task token, actor = the sub-agent's
//                       own signed assertion (ES256, single use): verify, decide, delegate, audit
//   exchange-jwt        the same with requested_token_type=...:jwt (+ signing the JWT, act chain)
//   exchange-chain      POST /token: subject = a person's IdP JWT (RS256), actor = the agent's
//                       assertion: a new chain (admission, acting policy, scope, audit)
// Cases alternate call by call so that load from elsewhere falls on all alike. Assertions are
// signed before timing (an agent signs its own; that is not warden's cost).
// Env: BENCH_CALLS (default 300 per case), WARDEN_MCP, PGHOST/PGPORT/PGUSER. Run: bench/exchange/run.sh
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { freshDatabase, sql, quote, startGateway, stop, freePort, database } from '../../test/e2e/harness.mjs';

const calls = Number(process.env.BENCH_CALLS ?? 300);
const TT = 'urn:ietf:params:oauth:token-type:';
const ENTERPRISE = 'https://enterprise.example';
const now = () => Math.floor(Date.now() / 1000);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

// ES256 or RS256 keys and compact JWS with node:crypto (this folder has no npm packages).
function keyPair(alg, kid) {
  const { privateKey, publicKey } = alg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { alg, kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg } };
}
function sign(key, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: key.alg, kid: key.kid, typ: 'JWT' })}.${b64(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(input),
    key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

// One psql session kept open; query(text) resolves with its first output line.
function psqlSession() {
  const child = spawn('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = '';
  let waiting = null;
  child.stdout.on('data', (chunk) => {
    buffered += chunk.toString();
    const nl = buffered.indexOf('\n');
    if (nl >= 0 && waiting) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const w = waiting;
      waiting = null;
      w(line);
    }
  });
  return {
    query: (text) => new Promise((resolve) => { waiting = resolve; child.stdin.write(`${text}\n`); }),
    close: () => child.stdin.end(),
  };
}

let gateway;
let session;
try {
  freshDatabase();
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const keys = { enterprise: keyPair('RS256', 'enterprise-key'), bot: keyPair('ES256', 'bot-key'),
    sub: keyPair('ES256', 'sub-key') };
  sql(`SELECT warden.add_human('dana@example.com', 'Dana');
       SELECT warden.add_agent('bench-bot', 'dana@example.com');
       SELECT warden.add_agent('bench-sub', 'dana@example.com');
       SELECT warden.add_server('fixture', 'http://127.0.0.1:9/mcp', 'http');
       SELECT warden.grant('bench-bot', 'fixture/whoami', '{}', '1 day');
       SELECT warden.grant('bench-sub', 'fixture/whoami', '{}', '1 day');
       SELECT warden.add_identity_provider('enterprise', ${quote(ENTERPRISE)}, 'warden-at-enterprise', NULL, '{}');
       SELECT warden.link_human('dana@example.com', 'enterprise');
       SELECT warden.store_idp_metadata('enterprise', ${quote(JSON.stringify({ issuer: ENTERPRISE }))},
                ${quote(JSON.stringify({ keys: [keys.enterprise.jwk] }))});
       SELECT warden.add_agent_key('bench-bot', ${quote(JSON.stringify(keys.bot.jwk))});
       SELECT warden.add_agent_key('bench-sub', ${quote(JSON.stringify(keys.sub.jwk))});`);
  const [[parent]] = sql(`SELECT token FROM warden.start_chain('dana@example.com', 'bench-bot', 'bench', '2 hours',
                                                                ARRAY['fixture/whoami'])`);
  gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--oauth-allow-http-loopback']);
  session = psqlSession();
  const person = sign(keys.enterprise, { iss: ENTERPRISE, sub: 'dana@example.com', aud: 'warden-at-enterprise',
    iat: now(), exp: now() + 7200 });
  const total = calls + 20;
  // Assertions live at most 5 minutes: each is signed just before its call, outside the timing.
  const fresh = (agent, key) => () => sign(key, {
    iss: agent, sub: agent, aud: issuer, iat: now(), exp: now() + 280, jti: crypto.randomUUID() });
  const pools = { delegate: fresh('bench-sub', keys.sub), jwt: fresh('bench-sub', keys.sub), chain: fresh('bench-bot', keys.bot) };

  const post = async (fields) => {
    const r = await fetch(`${issuer}/token`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`/token: ${r.status} ${JSON.stringify(body)}`);
  };
  const exchange = (subject, assertion, extra = {}) => ({ prepare: assertion, run: (actor) => post({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: subject,
    subject_token_type: `${TT}access_token`, actor_token: actor, actor_token_type: `${TT}jwt`,
    scope: 'fixture/whoami', ...extra }) });
  const cases = [
    ['delegate-sql', { prepare: () => null, run: async () => {
      const line = await session.query(`SELECT token_id FROM warden.delegate(${quote(parent)}, 'bench-sub', ARRAY['fixture/whoami']);`);
      if (!/^[0-9a-f-]{36}$/.test(line)) throw new Error(`delegate: ${line}`);
    } }],
    ['exchange-delegate', exchange(parent, pools.delegate)],
    ['exchange-jwt', exchange(parent, pools.jwt, { requested_token_type: `${TT}jwt` })],
    ['exchange-chain', exchange(person, pools.chain)],
  ];
  for (let i = 0; i < 20; i++) for (const [, c] of cases) await c.run(c.prepare());
  const times = cases.map(() => []);
  for (let i = 0; i < calls; i++) {
    const order = cases.map((c, k) => k);
    if (i % 2) order.reverse();
    for (const k of order) {
      const input = cases[k][1].prepare();
      const t0 = process.hrtime.bigint();
      await cases[k][1].run(input);
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  console.log(`${'case'.padEnd(20)} ${'calls'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
  const results = cases.map(([name], k) => {
    const sorted = times[k].sort((a, b) => a - b);
    const r = { name, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    console.log(`${name.padEnd(20)} ${String(calls).padStart(6)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`);
    return r;
  });
  const base = results[0].p50;
  console.log(`p50 ratios to delegate-sql: ${results.slice(1).map((r) => `${r.name} = ${(r.p50 / base).toFixed(2)}`).join(', ')}`);
} finally {
  session?.close();
  stop(gateway?.child);
}
