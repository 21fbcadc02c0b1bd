// The one client of bench/proxy: C sessions of the official MCP SDK client (Streamable HTTP),
// each making its share of N sequential tools/call requests, all sessions at once. Prints one
// JSON line: {target, clients, calls, p50_ms, p99_ms, calls_per_s}.
// usage: node client.mjs TARGET URL TOOL CLIENTS CALLS [BEARER[,BEARER...]]
// With several bearers, session n uses bearer n mod their count (one agent per session).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { timedCalls } from '../timed_calls.mjs';

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

const sessions = [];
for (let i = 0; i < clients; i++) sessions.push(await connect(i));
await Promise.all(sessions.map(async (c) => { for (let i = 0; i < warmup; i++) await call(c, i); }));

await timedCalls({ target, sessions, calls, call });
await Promise.all(sessions.map((c) => c.close().catch(() => {})));
process.exit(0);
