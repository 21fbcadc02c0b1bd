// The failover proof (make ha-check, scripts/ha-check): 16 agents (official SDK clients) call
// through two warden-mcp instances connected to a three-node cluster (scripts/ha) by a
// multi-host conninfo; the primary is killed -9 (keeper and PostgreSQL: the machine is lost)
// WARDEN_HA_FAILOVERS times. Measured: the time from the kill until calls succeed again (the
// first agent, and every agent). Checked afterwards: every call an agent got an allowed answer
// for has its allowed event and its completion on the new primary; a revocation committed before
// the failover still denies; a kill issued after it aborts in-flight calls on both front-ends;
// /healthz said 503 in the gap and 200 after; verify_audit passes.
//
// Needs WARDEN_HA_ADMIN (a superuser conninfo listing every node), WARDEN_HA_GATEWAY (the
// gateway role's), PGPASSFILE for both, and WARDEN_HA_SCRIPT (scripts/ha).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { binary, modules, quote, startProcess, stdioAllowFile, stop } from '../harness.mjs';

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
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const seconds = (ms) => (ms / 1000).toFixed(2);

let gateways = [];
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
});

after(() => {
  for (const g of gateways) stop(g.child);
});

async function healthz(url) {
  try {
    const r = await fetch(url.replace(/\/mcp$/, '/healthz'), { signal: AbortSignal.timeout(3000) });
    return r.status;
  } catch {
    return 0;
  }
}

test(`${agents} agents through two front-ends survive ${failovers} kill -9 of the primary, nothing acknowledged lost`, { timeout: 600000 }, async () => {
  const urls = gateways.map((g) => `http://127.0.0.1:${g.match[1]}/mcp`);
  const clients = [];
  for (let i = 0; i < agents; i++) {
    const [, token] = newChain(`ha agent ${i}`);
    clients.push(await connect(urls[i % 2], token));
  }
  const acknowledged = [];
  const successes = [];  // [agent, call started, answered] of every allowed answer
  const errors = [];
  let running = true;
  const loops = clients.map(async (c, i) => {
    for (let seq = 0; running; seq++) {
      const message = `a${i}-${seq}`;
      const started = Date.now();
      try {
        const r = await c.callTool({ name: echo, arguments: { message } }, undefined, { timeout: 15000 });
        if (!r.isError && JSON.stringify(r.content).includes(message)) {
          acknowledged.push(message);
          successes.push([i, started, Date.now()]);
        } else {
          errors.push([Date.now(), JSON.stringify(r.content).slice(0, 200)]);
          await sleep(50);
        }
      } catch (e) {
        errors.push([Date.now(), String(e.message).slice(0, 200)]);
        await sleep(50);
      }
    }
  });

  const firstBack = [];
  const allBack = [];
  let saw503 = false;
  let revokedChain;
  let revokedClient;
  try {
    // Warm-up: every agent answered once (the stdio upstream and the sessions are up).
    const warm = Date.now() + 60000;
    while (new Set(successes.map(([i]) => i)).size < agents && Date.now() < warm) await sleep(200);
    await sleep(1000);
    assert.ok(new Set(successes.map(([i]) => i)).size === agents, `no call succeeded before the failover: ${JSON.stringify(errors.slice(-3))}`);
    for (let f = 0; f < failovers; f++) {
      // A revocation committed before the failover must still deny after it.
      const [chain, token] = newChain(`ha revoked ${f}`);
      revokedClient = await connect(urls[f % 2], token);
      await revokedClient.callTool({ name: echo, arguments: { message: 'before' } });
      sql(`SELECT warden.revoke_chain(${quote(chain)}, 'revoked before failover ${f}')`);
      revokedChain = chain;

      const node = ha('kill-primary');  // returns right after the kill
      const killedAt = Date.now();
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
      assert.equal(await healthz(urls[f % 2]), 200);

      const denied = await revokedClient.callTool({ name: echo, arguments: { message: 'after' } })
        .then((r) => (r.isError ? JSON.stringify(r.content) : null), (e) => e.message);
      assert.ok(denied && /revoked/.test(denied), `failover ${f}: a chain revoked before the failover was not denied: ${denied}`);
      await revokedClient.close().catch(() => {});
      if (f + 1 < failovers) {
        ha('rejoin', node);  // back as a standby before the next kill
        await sleep(2000);
      }
    }
    await sleep(2000);
  } finally {
    running = false;
    await Promise.all(loops);
  }
  assert.ok(saw503, '/healthz never said 503 during a failover');

  // A kill issued after the failover aborts in-flight calls on both front-ends.
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
  for (const c of [...clients, ...inFlight]) await c.close().catch(() => {});

  // Every acknowledged call: its allowed event and its completion, on the new primary. The
  // outcomes are recorded after the answer (retried across the failover): poll for them.
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
  console.log(`# acknowledged calls: ${acknowledged.length}; errors answered (fail closed): ${errors.length}; allowed events missing: ${lost[0]}; completions missing: ${lost[1]}`);
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const p50 = (a) => sorted(a)[Math.floor((a.length - 1) / 2)];
  console.log(`# recovery over ${failovers} failover(s): first call p50 ${seconds(p50(firstBack))} s, max ${seconds(Math.max(...firstBack))} s; every agent p50 ${seconds(p50(allBack))} s, max ${seconds(Math.max(...allBack))} s`);
  assert.equal(lost[0], 0, 'acknowledged calls without their allowed event');
  assert.equal(lost[1], 0, 'acknowledged calls without their completion');
  const [ok, checked, problems] = sql('SELECT ok, events_checked, problems FROM warden.verify_audit(NULL)')[0];
  console.log(`# verify_audit: ok=${ok}, ${checked} events checked`);
  assert.equal(ok, 't', `verify_audit failed: ${problems}`);
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
