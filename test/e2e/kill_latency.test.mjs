// In-flight kill latency: a long-running call (server-everything's
// trigger-long-running-operation, 10 s) through warden-mcp, its chain revoked from psql at a
// random moment; the time from the kill's commit to the agent seeing the error, over
// WARDEN_KILL_TRIALS trials (default 20). Prints p50/p90/p99/max.
//
// Clock: the kill runs as BEGIN; SELECT warden.revoke_chain(...); SELECT clock_timestamp();
// COMMIT, so the commit happens after that server timestamp: latency = (agent's wall clock when
// the SDK call rejects) - clock_timestamp(), an upper bound (it includes the COMMIT itself, WAL
// flush and NOTIFY delivery). Same host, same realtime clock. Also printed: the time from psql
// returning (client side, after COMMIT) to the error, which is negative when the agent saw the
// error before psql had even exited; and from the commit's end (the server clock of the next
// statement in the same session, after COMMIT returned) to the error. WARDEN_KILL_TRACE=1
// prints each trial's two clocks (committed, seen) to line them up with a trace of the gateway
// (strace -tt of its recvfrom/sendmsg shows where the time goes: the notification, the re-check,
// the error written, and the rest in the agent's SDK).
//
// WARDEN_KILL_LOAD=N (default 0) runs the trials under load: N more agents' sessions (one agent,
// load-bot, N chains) call everything__echo back to back through the same gateway the whole
// time, from a worker thread (so that they do not delay this thread's own clock readings); bench/kill_latency compares the idle and the loaded figures. The line printed says how
// many load calls were answered meanwhile.
//
// Each trial also checks: a concurrent call in another chain (bystander-bot) completes
// untouched; a second call of the killed chain, to a fixture that logs notifications/cancelled,
// shows that the upstream was told; both calls of the killed chain are completed 'revoked'.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  database, freshDatabase, here, modules, quote, sql, sqlValue, startGateway, stop, settled } from './harness.mjs';

const trials = Number(process.env.WARDEN_KILL_TRIALS ?? 20);
const load = Number(process.env.WARDEN_KILL_LOAD ?? 0);
// The issue aims at 50 ms p99; the test fails only past this (shared CI cores), and prints.
const p99Limit = Number(process.env.WARDEN_KILL_P99_MS ?? 250);
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-kill-'));
const faultsLog = path.join(folder, 'faults.log');
// The fixture runs as an unprivileged user (the gateway runs as root in CI) and is told where
// to log by argument: a stdio child gets none of the gateway's environment.
fs.chmodSync(folder, 0o755);
fs.writeFileSync(faultsLog, '');
fs.chmodSync(faultsLog, 0o666);
let gateway, url;

const now = () => performance.timeOrigin + performance.now();  // ms since the epoch, sub-ms

function connect(token) {
  const c = new Client({ name: 'warden-kill', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  return c.connect(transport).then(() => c);
}

// Kills a chain in its own transaction; resolves with the server's clock just before COMMIT
// (ms since the epoch) and the client's clock when psql returned.
function killChain(chain) {
  return new Promise((resolve, reject) => {
    const p = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', database,
      '-c', 'BEGIN',
      '-c', `SELECT 'revoked', warden.revoke_chain(${quote(chain)}, 'kill latency')`,
      '-c', `SELECT 'at', extract(epoch FROM clock_timestamp())`,
      '-c', 'COMMIT',
      '-c', `SELECT 'done', extract(epoch FROM clock_timestamp())`]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => {
      const returned = now();
      const m = out.match(/^at\|([0-9.]+)$/m);
      const d = out.match(/^done\|([0-9.]+)$/m);
      if (code !== 0 || !m || !d) reject(new Error(`kill failed (${code}): ${out}`));
      else resolve({ committedBefore: Number(m[1]) * 1000, committedAfter: Number(d[1]) * 1000, returned });
    });
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

before(async () => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  const faults = `node ${path.join(here, 'fixture-faults.mjs')} --log ${faultsLog}`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('victim-bot', 'alice@example.com');
       SELECT warden.add_agent('bystander-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.add_server('faults', ${quote(faults)}, 'stdio');
       SELECT warden.grant('victim-bot', 'everything/trigger-long-running-operation');
       SELECT warden.grant('victim-bot', 'faults/sleep');
       SELECT warden.grant('bystander-bot', 'everything/trigger-long-running-operation');
       SELECT warden.grant('bystander-bot', 'faults/sleep');
       SELECT warden.add_agent('load-bot', 'alice@example.com');
       SELECT warden.grant('load-bot', 'everything/echo');`);
  gateway = await startGateway();
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  stop(gateway?.child);
  fs.rmSync(folder, { recursive: true, force: true });
});

// N sessions calling echo back to back until stop(), on a worker thread (fixture-load.mjs):
// their errors fail the test.
async function startLoad(n) {
  const tokens = [];
  for (let i = 0; i < n; i++) {
    tokens.push(sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
        'load-bot', 'kill latency load ${i}')`));
  }
  const worker = new Worker(new URL('./fixture-load.mjs', import.meta.url), { workerData: { url, tokens } });
  let result = null;
  const finished = new Promise((resolve, reject) => {
    worker.on('message', (m) => { if (!m.ready) { result = m; resolve(); } });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!result) result = { answered: 0, error: `the load worker exited (${code}) without a result` };
      resolve();
    });
  });
  await new Promise((resolve, reject) => {
    worker.once('message', (m) => (m.ready ? resolve() : reject(new Error(m.error ?? 'load ended early'))));
    worker.once('error', reject);
  });
  return {
    answered: () => result?.answered ?? 0,
    async stop() {
      worker.postMessage('stop');
      await finished;
      await worker.terminate();
      assert.equal(result.error, null, result.error);
    },
  };
}

test(`kill latency over ${trials} trials${load ? ` under the load of ${load} agents` : ''}: commit to agent error; other chains untouched; upstream cancelled`, async () => {
  const bystanderToken = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
      'bystander-bot', 'kill latency bystander')`);
  const bystander = await connect(bystanderToken);
  let background = null;
  const fromCommit = [];
  const fromReturn = [];
  const fromCommitted = [];
  try {
    // Warm-up: both upstreams started, the first decision made. Upstream sessions are per
    // agent, so the victim agent's own instances are started too (a chain of its own).
    await bystander.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.1, steps: 1 } });
    await bystander.callTool({ name: 'faults__sleep', arguments: { ms: 1, marker: 'warm-up' } });
    const warm = await connect(sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
        'victim-bot', 'kill latency warm-up')`));
    await warm.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.1, steps: 1 } });
    await warm.callTool({ name: 'faults__sleep', arguments: { ms: 1, marker: 'warm-up' } });
    await warm.close();
    background = load ? await startLoad(load) : null;
    for (let i = 0; i < trials; i++) {
      const [[chain, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
          'victim-bot', 'kill latency trial ${i}')`);
      const victim = await connect(token);
      try {
        let seen;
        const call = victim.callTool({ name: 'everything__trigger-long-running-operation',
          arguments: { duration: 10, steps: 5 } }, undefined, { timeout: 30000 })
          .then(() => null, (e) => { seen = now(); return e; });
        const marked = victim.callTool({ name: 'faults__sleep', arguments: { ms: 10000, marker: `trial-${i}` } },
          undefined, { timeout: 30000 }).then(() => null, (e) => e);
        const other = bystander.callTool({ name: 'everything__trigger-long-running-operation',
          arguments: { duration: 1, steps: 2 } }, undefined, { timeout: 30000 });
        await new Promise((res) => setTimeout(res, 150 + Math.random() * 550));
        const kill = await killChain(chain);
        const e = await call;
        assert.ok(e, `trial ${i}: the call finished instead of being aborted`);
        assert.match(e.message, /warden revoked everything__trigger-long-running-operation while it ran: chain_revoked/);
        const m = await marked;
        assert.ok(m && /chain_revoked/.test(m.message), `trial ${i}: the fixture call was not aborted: ${m?.message}`);
        fromCommit.push(seen - kill.committedBefore);
        fromReturn.push(seen - kill.returned);
        fromCommitted.push(seen - kill.committedAfter);
        if (process.env.WARDEN_KILL_TRACE) console.error(`trace committed ${(kill.committedAfter / 1000).toFixed(6)} seen ${(seen / 1000).toFixed(6)}`);
        const r = await other;
        assert.match(JSON.stringify(r.content), /Long running operation completed/i,
          `trial ${i}: the other chain's call was disturbed`);
        assert.ok(!r.isError);
        const outcomes = await settled(() => sql(`SELECT e.reason FROM warden.events e JOIN warden.events p
                              ON e.parent_id = p.event_id
                              WHERE e.kind = 'completed' AND p.chain_id = ${quote(chain)} ORDER BY 1`).map((row) => row[0]),
        (v) => v.length === 2);
        assert.deepEqual(outcomes, ['revoked', 'revoked'], `trial ${i}: outcomes ${outcomes}`);
      } finally {
        await victim.close().catch(() => {});
      }
    }
  } finally {
    await background?.stop();
    await bystander.close().catch(() => {});
  }
  // The fixture logs each notifications/cancelled it received, with warden's reason.
  const deadline = Date.now() + 2000;
  let lines = [];
  while (Date.now() < deadline) {
    lines = fs.existsSync(faultsLog) ? fs.readFileSync(faultsLog, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.length >= trials) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  for (let i = 0; i < trials; i++) {
    assert.ok(lines.some((l) => l.startsWith(`cancelled trial-${i} `) && l.includes('chain_revoked')),
      `upstream never got notifications/cancelled for trial ${i}: ${lines.join(' | ')}`);
  }
  const sorted = [...fromCommit].sort((a, b) => a - b);
  const sortedReturn = [...fromReturn].sort((a, b) => a - b);
  const sortedCommitted = [...fromCommitted].sort((a, b) => a - b);
  const f = (x) => x.toFixed(1);
  const line = `kill latency (commit -> agent error, ms, ${trials} trials): p50 ${f(percentile(sorted, 50))} `
    + `p90 ${f(percentile(sorted, 90))} p99 ${f(percentile(sorted, 99))} max ${f(sorted[sorted.length - 1])}`
    + ` | psql return -> error: p50 ${f(percentile(sortedReturn, 50))} p99 ${f(percentile(sortedReturn, 99))}`
    + ` | committed -> error: p50 ${f(percentile(sortedCommitted, 50))} p99 ${f(percentile(sortedCommitted, 99))}`
    + (load ? ` | under load: ${load} agents, ${background.answered()} echo calls answered meanwhile` : '');
  console.log(line);
  if (process.env.WARDEN_KILL_REPORT) fs.writeFileSync(process.env.WARDEN_KILL_REPORT, `${line}\n`);
  assert.ok(percentile(sorted, 99) < p99Limit, line);
});
