// The one client of bench/proxy: C sessions of the official MCP SDK client (Streamable HTTP),
// each making its share of N sequential tools/call requests, all sessions at once. Prints one
// JSON line: {target, clients, calls, p50_ms, p99_ms, calls_per_s}.
// usage: node client.mjs TARGET URL TOOL CLIENTS CALLS [BEARER[,BEARER...]]
// With several bearers, session n uses bearer n mod their count (one agent per session).
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [target, url, tool, clientsArg, callsArg, bearerArg] = process.argv.slice(2);
const bearers = bearerArg ? bearerArg.split(',') : [];
const clients = Number(clientsArg);
const calls = Number(callsArg);
// Calls per session before timing (BENCH_WARMUP): a new upstream process (one per agent over
// stdio) is measured warm, as it runs in steady state.
const warmup = Number(process.env.BENCH_WARMUP ?? 20);

async function connect(n) {
  const c = new Client({ name: 'bench-proxy', version: '1.0.0' });
  const bearer = bearers.length ? bearers[n % bearers.length] : undefined;
  const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return c;
}

async function call(c, i) {
  const r = await c.callTool({ name: tool, arguments: { message: `bench ${i}` } });
  if (r.isError || !String(r.content?.[0]?.text).includes(`bench ${i}`)) {
    throw new Error(`${target}: unexpected answer ${JSON.stringify(r)}`);
  }
}

// CPU accounting (BENCH_CPU="name:pid,..."): the CPU time (user + system) spent during the
// timed calls, per call, by each named process (`name:PID`), by its live descendants only
// (`name:PID/`, e.g. a gateway's upstream children) or by both (`name:PID*`, e.g. a database
// cluster's postmaster and backends). On a shared
// machine calls/s moves with the load; CPU per call does not, so it shows where a cost lies.
const cpuGroups = (process.env.BENCH_CPU ?? '').split(',').filter(Boolean).map((g) => {
  const [name, spec] = g.split(':');
  const mode = spec.endsWith('/') ? 'descendants' : spec.endsWith('*') ? 'tree' : 'self';
  return { name, pid: Number.parseInt(spec, 10), mode };
});
function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch { /* the process ended while we looked */ }
  }
  return table;
}
function cpuTicks() {
  const table = processTable();
  return cpuGroups.map(({ pid, mode }) => {
    let ticks = 0;
    for (const [p, row] of table) {
      if (p === pid) { if (mode !== 'descendants') ticks += row.ticks; continue; }
      if (mode === 'self') continue;
      for (let q = row.ppid, hops = 0; q > 1 && hops < 64; q = table.get(q)?.ppid ?? 0, hops++) {
        if (q === pid) { ticks += row.ticks; break; }
      }
    }
    return ticks;
  });
}

const sessions = [];
for (let i = 0; i < clients; i++) sessions.push(await connect(i));
await Promise.all(sessions.map(async (c) => { for (let i = 0; i < warmup; i++) await call(c, i); }));

const latencies = [];
const share = Math.ceil(calls / clients);
const ticksBefore = cpuTicks();
const started = performance.now();
await Promise.all(sessions.map(async (c, n) => {
  for (let i = 0; i < share; i++) {
    const t = performance.now();
    await call(c, n * share + i);
    latencies.push(performance.now() - t);
  }
}));
const seconds = (performance.now() - started) / 1000;
const ticksAfter = cpuTicks();
// Linux counts CPU time in clock ticks of 10 ms (USER_HZ = 100).
const cpu_us_per_call = Object.fromEntries(cpuGroups.map(({ name }, i) => [
  name, Math.round(((ticksAfter[i] - ticksBefore[i]) * 10000) / latencies.length)]));
await Promise.all(sessions.map((c) => c.close().catch(() => {})));

latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
console.log(JSON.stringify({
  target, clients, calls: latencies.length,
  p50_ms: Number(pct(50).toFixed(3)), p99_ms: Number(pct(99).toFixed(3)),
  calls_per_s: Number((latencies.length / seconds).toFixed(1)),
  ...(cpuGroups.length ? { cpu_us_per_call } : {}),
}));
process.exit(0);
