// The failover proof (make ha-check, scripts/ha-check): 16 agents (official SDK clients) call
// through HAProxy (session affinity on Mcp-Session-Id, agents spread by their bearer token) to
// two warden-mcp instances connected to a three-node cluster (scripts/ha) by a multi-host
// conninfo. First a planned switchover (pg_autoctl perform switchover) under that load, while
// the standby answers attribution queries; then the primary is killed -9 (keeper and PostgreSQL:
// the machine is lost) WARDEN_HA_FAILOVERS times. Measured: the time from the kill until calls succeed again (the
// first agent, and every agent). Checked afterwards: every call an agent got an allowed answer
// for has its allowed event and its completion on the new primary; a revocation committed before
// the failover still denies; a kill issued after it aborts in-flight calls on both front-ends;
// /healthz said 503 in the gap and 200 after; verify_audit passes.
//
// Needs WARDEN_HA_ADMIN (a superuser conninfo listing every node), WARDEN_HA_GATEWAY (the
// gateway role's), PGPASSFILE for both, and WARDEN_HA_SCRIPT (scripts/ha).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { binary, freePort, modules, quote, startProcess, stdioAllowFile, stop } from '../harness.mjs';

const admin = process.env.WARDEN_HA_ADMIN;
const gatewayDb = process.env.WARDEN_HA_GATEWAY;
const haScript = process.env.WARDEN_HA_SCRIPT;
const failovers = Number(process.env.WARDEN_HA_FAILOVERS ?? 1);
const agents = Number(process.env.WARDEN_HA_AGENTS ?? 16);
// The issue's goal is 10 s; the test fails only past this (shared CI cores) and prints.
const recoveryLimit = Number(process.env.WARDEN_HA_RECOVERY_LIMIT_S ?? 45) * 1000;

// SQL on stdin (large argument lists stay out of argv), as the superuser, on the primary.
function sql(text) {
  const out = execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-F', '\t', '-d', admin],
    { input: text, encoding: 'utf8' });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}
const value = (text) => sql(text)[0]?.[0];
const ha = (...args) => execFileSync(haScript, args, { encoding: 'utf8' }).trim();
// For what takes seconds while the agents keep calling (a blocking child would stall them).
const haAsync = async (...args) => (await promisify(execFile)(haScript, args, { encoding: 'utf8' })).stdout.trim();
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const seconds = (ms) => (ms / 1000).toFixed(2);

let gateways = [];
let haproxy;
let balancer;  // the URL agents use: HAProxy in front of both gateways
let haproxySocket;  // its stats socket (the test's own addition to the README's configuration)
const haproxyLog = [];  // what HAProxy said on stderr (a server going DOWN, say)
// Names of this run (a reused cluster keeps earlier runs' rows).
const run = Date.now().toString(36);
const human = `ha-${run}@example.com`;
const agent = `ha-bot-${run}`;
const server = `ha${run}`;
const echo = `${server}__echo`;
const longOperation = `${server}__trigger-long-running-operation`;

async function connect(url, token) {
  const c = new Client({ name: 'warden-ha', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  return c;
}
const newChain = (purpose) => sql(`SELECT chain_id, token FROM warden.start_chain(${quote(human)},
    ${quote(agent)}, ${quote(purpose)})`)[0];

before(async () => {
  assert.ok(admin && gatewayDb && haScript, 'run through scripts/ha-check');
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human(${quote(human)}, 'HA');
       SELECT warden.add_agent(${quote(agent)}, ${quote(human)});
       SELECT warden.add_server(${quote(server)}, ${quote(everything)}, 'stdio');
       SELECT warden.grant(${quote(agent)}, ${quote(`${server}/echo`)});
       SELECT warden.grant(${quote(agent)}, ${quote(`${server}/trigger-long-running-operation`)});`);
  for (let i = 0; i < 2; i++) {
    gateways.push(await startProcess(binary, ['serve', '--db', gatewayDb, '--listen', '127.0.0.1:0',
      '--stdio-allow', stdioAllowFile], /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/));
  }
  // HAProxy with the configuration the README shows (scripts/ha-haproxy.cfg).
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ha-haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  haproxySocket = path.join(dir, 'stats.sock');
  fs.writeFileSync(config, fs.readFileSync(path.join(path.dirname(haScript), 'ha-haproxy.cfg'), 'utf8')
    .replace(/^global$/m, `global\n  stats socket ${haproxySocket} mode 600 level user`)
    .replace(/^backend warden_mcp$/m, 'backend warden_mcp\n  http-response set-header X-Served-By %s')
    .replaceAll('@LISTEN@', `127.0.0.1:${port}`)
    .replaceAll('@GATEWAY1@', `127.0.0.1:${gateways[0].match[1]}`)
    .replaceAll('@GATEWAY2@', `127.0.0.1:${gateways[1].match[1]}`));
  haproxy = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  haproxy.stderr.on('data', (chunk) => haproxyLog.push(chunk.toString()));
  haproxy.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 100 && !(await listening(port)); i++) await sleep(100);
  assert.ok(await listening(port), `HAProxy did not start: ${haproxyLog.join('')}`);
  balancer = `http://127.0.0.1:${port}/mcp`;
});

after(() => {
  stop(haproxy);
  for (const g of gateways) stop(g.child);
});

// HAProxy's view of each gateway ("gateway1 2": 2 = running), from its stats socket.
function haproxyServers() {
  return new Promise((resolve) => {
    let text = '';
    const s = net.connect(haproxySocket, () => s.end('show servers state warden_mcp\n'));
    s.setTimeout(2000, () => s.destroy());
    s.on('data', (d) => { text += d; });
    s.on('close', () => resolve(text.split('\n').map((l) => l.split(' '))
      .filter((f) => f.length > 5 && /^\d+$/.test(f[0])).map((f) => `${f[3]} ${f[5]}`)));
    s.on('error', (e) => resolve([`stats socket: ${e.message}`]));
  });
}

function listening(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// The monitor's events since a time, as "+seconds node state" (which states took the time).
function timeline(since) {
  return ha('events', String(since)).split('\n').filter(Boolean).map((l) => {
    const [ms, node, what] = l.split(' ');
    return `+${seconds(Number(ms))} ${node} ${what}`;
  }).join(', ');
}

const gatewayUrls = () => gateways.map((g) => `http://127.0.0.1:${g.match[1]}/mcp`);
// /metrics of one instance; a kept-alive socket the instance closed meanwhile fails a fetch
// ("fetch failed"): ask again.
async function metrics(url) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await (await fetch(url.replace(/\/mcp$/, '/metrics'))).text();
    } catch (e) {
      if (attempt >= 3) throw e;
      await sleep(100);
    }
  }
}
async function allowedDecisions(url) {
  const text = await metrics(url);
  return Number(text.match(/^warden_decisions_total\{outcome="allowed"\} (\d+)/m)?.[1] ?? 0);
}

// 16 agents, each its own chain, calling echo through HAProxy in a loop until stopped. An agent
// whose call was refused (fail closed) tries again after 200 ms, as a client would.
async function startLoad(label) {
  const clients = [];
  for (let i = 0; i < agents; i++) {
    const [, token] = newChain(`ha ${label} agent ${i}`);
    clients.push(await connect(balancer, token));
  }
  const load = { clients, acknowledged: [], successes: [], errors: [], running: true };
  load.loops = clients.map(async (c, i) => {
    for (let seq = 0; load.running; seq++) {
      const message = `${label}-a${i}-${seq}`;
      const started = Date.now();
      try {
        const r = await c.callTool({ name: echo, arguments: { message } }, undefined, { timeout: 15000 });
        if (!r.isError && JSON.stringify(r.content).includes(message)) {
          load.acknowledged.push(message);
          load.successes.push([i, started, Date.now()]);
        } else {
          load.errors.push([Date.now(), JSON.stringify(r.content).slice(0, 200)]);
          await sleep(200);
        }
      } catch (e) {
        load.errors.push([Date.now(), String(e.message).slice(0, 200)]);
        await sleep(200);
      }
    }
  });
  // Warm-up: every agent answered once (the stdio upstream and the sessions are up).
  const warm = Date.now() + 60000;
  const answered = () => new Set(load.successes.map(([i]) => i)).size;
  while (answered() < agents && Date.now() < warm) await sleep(200);
  assert.equal(answered(), agents, `not every agent got an answer before the test: ${JSON.stringify(load.errors.slice(-3))}`);
  load.stop = async () => {
    load.running = false;
    await Promise.all(load.loops);
  };
  return load;
}

// Every acknowledged call has its allowed event and its completion on the (new) primary. The
// outcomes are recorded after the answer (retried across a failover): poll for them.
async function lostOf(acknowledged) {
  const list = JSON.stringify(acknowledged);
  const missing = () => sql(`SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT FROM warden.events e
        WHERE e.kind = 'call' AND e.allowed AND e.server = ${quote(server)} AND e.arguments->>'message' = m)),
      count(*) FILTER (WHERE NOT EXISTS (SELECT FROM warden.events e JOIN warden.events c
        ON c.parent_id = e.event_id AND c.kind = 'completed'
        WHERE e.kind = 'call' AND e.allowed AND e.server = ${quote(server)} AND e.arguments->>'message' = m))
    FROM jsonb_array_elements_text(${quote(list)}::jsonb) m`)[0].map(Number);
  let lost = missing();
  for (let i = 0; i < 60 && lost[1] > 0; i++) {
    await sleep(500);
    lost = missing();
  }
  return lost;
}

// A session error (the instance lost or never had it) would make the SDK client fail with 404
// or "Session not found"; a decision refused in the gap is an MCP error result instead.
const sessionError = (m) => /\b404\b|session not found|unknown session|Mcp-Session-Id/i.test(m);

test(`switchover under load through HAProxy: nothing acknowledged lost, no session dropped, the standby serves attribution`, { timeout: 300000 }, async () => {
  const before = await Promise.all(gatewayUrls().map(allowedDecisions));
  const load = await startLoad('sw');
  try {
    await sleep(1000);
    const after = await Promise.all(gatewayUrls().map(allowedDecisions));
    assert.ok(after[0] > before[0] && after[1] > before[1], `HAProxy did not spread agents over both gateways: ${before} -> ${after}`);

    // The standby answers attribution queries while the primary takes the load.
    const standby = ha('standby-conninfo');
    const event = value(`SELECT event_id FROM warden.events WHERE kind = 'call' AND allowed AND server = ${quote(server)} LIMIT 1`);
    const readStart = Date.now();
    const reads = Array.from({ length: 50 }, () => `SELECT count(*) FROM warden.attribution(${quote(event)});`).join('\n');
    const answers = await new Promise((resolve, reject) => {
      const p = execFile('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', standby], { encoding: 'utf8' },
        (e, out, err) => (e ? reject(new Error(err)) : resolve(out.split('\n').filter(Boolean))));
      p.stdin.end(reads);
    });
    const queries = answers.filter((n) => Number(n) > 0).length;
    assert.equal(queries, 50, `the standby did not answer every attribution query: ${answers.slice(0, 3)}`);
    console.log(`# standby under load: ${queries} attribution queries in one session in ${seconds(Date.now() - readStart)} s, all answered`);

    const [chain, token] = newChain('ha revoked before switchover');
    const revoked = await connect(balancer, token);
    await revoked.callTool({ name: echo, arguments: { message: 'before' } });
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'revoked before switchover')`);

    const from = ha('primary');
    const switchedAt = Date.now();
    await haAsync('switchover');
    const done = Date.now();
    const to = ha('primary');
    assert.notEqual(to, from, 'the switchover did not move the primary');
    // Every agent, on the session it had, answered again after the switchover.
    const back = new Set();
    const until = Date.now() + 30000;
    while (back.size < agents && Date.now() < until) {
      for (const [i, started] of load.successes) if (started > done) back.add(i);
      await sleep(100);
    }
    assert.equal(back.size, agents, `only ${back.size} of ${agents} agents answered again after the switchover: ${JSON.stringify(load.errors.slice(-3))}`);
    const denied = await revoked.callTool({ name: echo, arguments: { message: 'after' } })
      .then((r) => (r.isError ? JSON.stringify(r.content) : null), (e) => e.message);
    assert.ok(denied && /revoked/.test(denied), `a chain revoked before the switchover was not denied: ${denied}`);
    await revoked.close().catch(() => {});
    const gaps = load.errors.filter(([t]) => t >= switchedAt);
    const first = Math.min(...gaps.map(([t]) => t));
    const last = Math.max(...gaps.map(([t]) => t));
    console.log(`# switchover node ${from} -> node ${to}: pg_autoctl took ${seconds(done - switchedAt)} s; calls refused (fail closed) ${gaps.length}` +
      (gaps.length ? `, between +${seconds(first - switchedAt)} s and +${seconds(last - switchedAt)} s` : ''));
    const kinds = new Map();
    for (const [, m] of gaps) kinds.set(m.slice(0, 90), (kinds.get(m.slice(0, 90)) ?? 0) + 1);
    console.log(`# switchover refusals by kind: ${JSON.stringify([...kinds])}`);
    const dropped = load.errors.filter(([, m]) => sessionError(m));
    assert.equal(dropped.length, 0, `sessions dropped by the switchover: ${JSON.stringify(dropped.slice(0, 3))}`);
  } finally {
    await load.stop();
  }
  for (const c of load.clients) await c.close().catch(() => {});
  const lost = await lostOf(load.acknowledged);
  console.log(`# switchover: acknowledged calls ${load.acknowledged.length}; allowed events missing: ${lost[0]}; completions missing: ${lost[1]}`);
  assert.equal(lost[0], 0, 'acknowledged calls without their allowed event');
  assert.equal(lost[1], 0, 'acknowledged calls without their completion');
  ha('wait-healthy', '120');
});

async function healthz(url) {
  try {
    const r = await fetch(url.replace(/\/mcp$/, '/healthz'), { signal: AbortSignal.timeout(3000) });
    return r.status;
  } catch {
    return 0;
  }
}

test(`${agents} agents through HAProxy and two front-ends survive ${failovers} kill -9 of the primary, nothing acknowledged lost`, { timeout: 600000 }, async () => {
  const urls = gatewayUrls();
  const before = await Promise.all(urls.map(allowedDecisions));
  const load = await startLoad('fo');
  const { successes, errors } = load;
  const firstBack = [];
  const allBack = [];
  let saw503 = false;
  try {
    await sleep(1000);
    const after = await Promise.all(urls.map(allowedDecisions));
    assert.ok(after[0] > before[0] && after[1] > before[1], `HAProxy did not spread agents over both gateways: ${before} -> ${after}`);
    for (let f = 0; f < failovers; f++) {
      // A revocation committed before the failover must still deny after it.
      const [chain, token] = newChain(`ha revoked ${f}`);
      const revokedClient = await connect(balancer, token);
      await revokedClient.callTool({ name: echo, arguments: { message: 'before' } });
      sql(`SELECT warden.revoke_chain(${quote(chain)}, 'revoked before failover ${f}')`);

      // Timed from the kill itself, not from when the script returns (slow on a loaded machine).
      const [node, at] = ha('kill-primary').split(' ');
      const killedAt = Number(at);
      let first;
      let healthy503 = false;
      const seen = new Set();
      while (Date.now() - killedAt < recoveryLimit) {
        if ((await healthz(urls[f % 2])) === 503) healthy503 = true;
        for (const [i, started, t] of successes) {
          if (started > killedAt) {
            first = Math.min(first ?? t, t);
            seen.add(i);
          }
        }
        if (seen.size === agents) break;
        await sleep(100);
      }
      assert.equal(seen.size, agents, `failover ${f}: only ${seen.size} of ${agents} agents got answers again within ${recoveryLimit} ms (last errors: ${JSON.stringify(errors.slice(-3))})`);
      // Counted from calls started after the kill (answers to calls decided before it do not
      // count): the first answer, and the time by which every agent had one.
      const perAgent = new Map();
      for (const [i, started, t] of successes) if (started > killedAt && !perAgent.has(i)) perAgent.set(i, t);
      const every = Math.max(...perAgent.values());
      firstBack.push(first - killedAt);
      allBack.push(every - killedAt);
      saw503 ||= healthy503;
      console.log(`# failover ${f + 1}: node ${node} killed; first call back after ${seconds(first - killedAt)} s, every agent after ${seconds(every - killedAt)} s; /healthz 503 seen: ${healthy503}`);
      console.log(`# failover ${f + 1} timeline (monitor events, seconds after the kill): ${timeline(killedAt)}`);
      assert.equal(await healthz(urls[f % 2]), 200);

      const denied = await revokedClient.callTool({ name: echo, arguments: { message: 'after' } })
        .then((r) => (r.isError ? JSON.stringify(r.content) : null), (e) => e.message);
      assert.ok(denied && /revoked/.test(denied), `failover ${f}: a chain revoked before the failover was not denied: ${denied}`);
      await revokedClient.close().catch(() => {});
      if (f + 1 < failovers) {
        await haAsync('rejoin', node);  // back as a standby before the next kill
        await sleep(2000);
      }
    }
    await sleep(2000);
    const dropped = errors.filter(([, m]) => sessionError(m));
    assert.equal(dropped.length, 0, `sessions lost across the failover: ${JSON.stringify(dropped.slice(0, 3))}`);
  } finally {
    await load.stop();
  }
  assert.ok(saw503, '/healthz never said 503 during a failover');

  // A kill issued after the failover aborts in-flight calls on both front-ends: one call in
  // flight on each instance (directly, so that each surely holds one), then the chain revoked.
  const [chain, token] = newChain('ha kill after failover');
  const inFlight = await Promise.all(urls.map((u) => connect(u, token)));
  const calls = inFlight.map((c) => c.callTool({ name: longOperation,
    arguments: { duration: 10, steps: 5 } }, undefined, { timeout: 30000 }).then(() => null, (e) => e.message));
  await sleep(1500);
  sql(`SELECT warden.revoke_chain(${quote(chain)}, 'kill after failover')`);
  const aborted = await Promise.all(calls);
  for (const [i, m] of aborted.entries()) {
    assert.ok(m && /chain_revoked/.test(m), `front-end ${i}: the in-flight call was not aborted: ${m}`);
  }
  for (const c of [...load.clients, ...inFlight]) await c.close().catch(() => {});

  const lost = await lostOf(load.acknowledged);
  console.log(`# acknowledged calls: ${load.acknowledged.length}; errors answered (fail closed): ${errors.length}; allowed events missing: ${lost[0]}; completions missing: ${lost[1]}`);
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const p50 = (a) => sorted(a)[Math.floor((a.length - 1) / 2)];
  console.log(`# recovery over ${failovers} failover(s): first call p50 ${seconds(p50(firstBack))} s, max ${seconds(Math.max(...firstBack))} s; every agent p50 ${seconds(p50(allBack))} s, max ${seconds(Math.max(...allBack))} s`);
  assert.equal(lost[0], 0, 'acknowledged calls without their allowed event');
  assert.equal(lost[1], 0, 'acknowledged calls without their completion');
  const [ok, checked, problems] = sql('SELECT ok, events_checked, problems FROM warden.verify_audit(NULL)')[0];
  console.log(`# verify_audit: ok=${ok}, ${checked} events checked`);
  assert.equal(ok, 't', `verify_audit failed: ${problems}`);
});

// A stateless 2026-07-28 request carries no session id: its notifications/cancelled must still
// reach the instance running it. HAProxy hashes on the bearer token, so it does.
test('stateless 2026-07-28 calls through HAProxy: both instances serve, each cancel reaches its call', { timeout: 120000 }, async () => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'warden-ha', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': {} };
  const headers = (token, method, name) => ({ 'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': method, ...(name ? { 'Mcp-Name': name } : {}), Authorization: `Bearer ${token}` });
  const inFlight = async (url) => Number((await metrics(url))
    .match(/^warden_calls_in_flight (\d+)/m)?.[1] ?? 0);
  // Both gateways up in HAProxy's eyes, and (for up to 15 s) nothing of the tests before still
  // in flight; what is left is taken off the counts below. One CI run saw 0 + 12: this says why
  // if it happens again.
  let servers = [];
  let idle = [];
  for (const until = Date.now() + 15000; Date.now() < until; await sleep(200)) {
    servers = await haproxyServers();
    idle = await Promise.all(gatewayUrls().map(inFlight));
    if (servers.length === 2 && servers.every((l) => l.endsWith(' 2')) && idle.every((n) => n === 0)) break;
  }
  const seen = () => `HAProxy's servers (2 = up): ${servers.join(', ')}; in flight before: ${idle}; HAProxy said: ${haproxyLog.join('').slice(-1500)}`;
  assert.ok(servers.length === 2 && servers.every((l) => l.endsWith(' 2')), seen());
  if (idle.some((n) => n > 0)) console.log(`# calls of earlier tests still in flight: ${idle}`);
  // Six agents on each instance: the consistent hash may put one agent's token anywhere, so
  // tokens are made until each instance has six, asking HAProxy where each goes (the test's
  // X-Served-By header, on a /healthz through it: the same hash on the same Authorization).
  const servedBy = async (token) => (await fetch(balancer.replace(/\/mcp$/, '/healthz'),
    { headers: { Authorization: `Bearer ${token}` } })).headers.get('x-served-by');
  const placed = { gateway1: [], gateway2: [] };
  for (let i = 0; i < 80 && (placed.gateway1.length < 6 || placed.gateway2.length < 6); i++) {
    const token = newChain(`ha stateless ${i}`)[1];
    placed[await servedBy(token)]?.push(token);
  }
  assert.ok(placed.gateway1.length >= 6 && placed.gateway2.length >= 6,
    `HAProxy put tokens on ${placed.gateway1.length} + ${placed.gateway2.length}: ${seen()}`);
  const tokens = [...placed.gateway1.slice(0, 6), ...placed.gateway2.slice(0, 6)];
  // The agents of the test before left kept-alive sockets to HAProxy in fetch's pool, and fetch
  // does not retry a POST on one that was closed meanwhile (seen once in bench/ha, after five
  // failovers: "fetch failed" before any answer): send it once more, and say so with the cause.
  const post = async (init) => {
    try {
      return await fetch(balancer, init);
    } catch (e) {
      console.log(`# stateless call sent again after: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
      return fetch(balancer, init);
    }
  };
  const calls = tokens.map(async (token, i) => {
    const res = await post({ method: 'POST', headers: headers(token, 'tools/call', longOperation),
      body: JSON.stringify({ jsonrpc: '2.0', id: 500 + i, method: 'tools/call',
        params: { name: longOperation, arguments: { duration: 20, steps: 4 }, _meta: meta } }) });
    const text = await res.text();
    const messages = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    return (messages.findLast((m) => m.id === 500 + i) ?? (text.startsWith('{') ? JSON.parse(text) : {}));
  });
  const until = Date.now() + 20000;
  let counts = [0, 0];
  while (Date.now() < until) {
    counts = (await Promise.all(gatewayUrls().map(inFlight))).map((n, i) => n - idle[i]);
    if (counts[0] + counts[1] >= tokens.length) break;
    await sleep(200);
  }
  // Each call ran on the instance HAProxy named for its token: six on each.
  assert.deepEqual(counts, [6, 6], `stateless calls in flight per instance: ${counts}; ${seen()}; now: ${await haproxyServers()}`);
  for (const [i, token] of tokens.entries()) {
    const r = await fetch(balancer, { method: 'POST', headers: headers(token, 'notifications/cancelled'),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled',
        params: { requestId: 500 + i, reason: 'ha', _meta: meta } }) });
    assert.equal(r.status, 202);
  }
  const answers = await Promise.all(calls);
  const codes = answers.map((m) => m.error?.code);
  console.log(`# stateless through HAProxy: ${tokens.length} calls, in flight per instance ${counts.join(' + ')}; cancelled: ${codes.filter((c) => c === -32800).length}`);
  assert.deepEqual(codes, tokens.map(() => -32800), `every stateless call cancelled by its own agent: ${JSON.stringify(answers.slice(0, 2))}`);
});

test('a standby answers read-only functions and refuses writes with 25006 and a hint', () => {
  const standby = ha('standby-conninfo');
  const run = (text) => spawnSync('psql', ['-X', '-At', '-v', 'VERBOSITY=verbose', '-d', standby, '-c', text],
    { encoding: 'utf8' });
  assert.equal(run('SELECT pg_is_in_recovery()').stdout.trim(), 't');
  const event = value("SELECT event_id FROM warden.events WHERE kind = 'call' AND allowed LIMIT 1");
  const chain = value(`SELECT chain_id FROM warden.events WHERE event_id = ${quote(event)}`);
  for (const q of [`SELECT count(*) > 0 FROM warden.attribution(${quote(event)})`,
    `SELECT count(*) > 0 FROM warden.chain_tree(${quote(chain)})`,
    "SELECT count(*) > 0 FROM warden.ocsf_events(now() - interval '1 day')",
    'SELECT ok FROM warden.verify_audit(NULL)']) {
    const r = run(q);
    assert.equal(r.stdout.trim(), 't', `${q} on the standby: ${r.stderr}`);
  }
  const w = run(`SELECT warden.add_agent('standby-bot', '${human}')`);
  assert.match(w.stderr, /ERROR:\s+25006/);
  assert.match(w.stderr, /HINT:\s+This server is a standby.*target_session_attrs=read-write/s);
  // The maintenance worker (seals, key rotation) runs on the primary only.
  assert.equal(run("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'warden maintenance'").stdout.trim(), '0');
  assert.equal(value("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'warden maintenance'"), '1');
});
