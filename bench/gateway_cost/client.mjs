// The client of bench/gateway_cost: C MCP sessions over Streamable HTTP without the SDK (plain
// node:http, one kept-alive connection per session), each making its share of N sequential
// tools/call requests, all sessions at once; so that neither the client nor the upstream is
// what limits the rate. Reads a JSON or an event-stream answer. Prints one JSON line:
// {target, clients, calls, p50_ms, p99_ms, calls_per_s[, cpu_us_per_call]}.
// usage: node client.mjs TARGET URL TOOL CLIENTS CALLS [BEARER]
import http from 'node:http';
import { timedCalls } from '../timed_calls.mjs';

const [target, url, tool, clientsArg, callsArg, bearer] = process.argv.slice(2);
const clients = Number(clientsArg);
const calls = Number(callsArg);
const warmup = Number(process.env.BENCH_WARMUP ?? 20);
const where = new URL(url);

// One POST on the session's connection; resolves with the JSON-RPC message answering `id`
// (or null for a notification's 202) and the response headers.
function post(session, message) {
  const body = JSON.stringify(message);
  const headers = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'Content-Length': Buffer.byteLength(body),
  };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (session.id) headers['Mcp-Session-Id'] = session.id;
  if (session.version) headers['MCP-Protocol-Version'] = session.version;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: where.hostname, port: where.port, path: where.pathname, method: 'POST',
      agent: session.agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 202) return resolve({ message: null, headers: res.headers });
        if (res.statusCode !== 200) return reject(new Error(`${target}: HTTP ${res.statusCode}: ${text}`));
        let answer = null;
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          for (const line of text.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const m = JSON.parse(line.slice(5));
            if (m.id === message.id && ('result' in m || 'error' in m)) answer = m;
          }
        } else {
          answer = JSON.parse(text);
        }
        if (!answer) return reject(new Error(`${target}: no answer to ${message.method}: ${text}`));
        resolve({ message: answer, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function connect() {
  const session = { agent: new http.Agent({ keepAlive: true, maxSockets: 1 }), next: 1 };
  const init = await post(session, { jsonrpc: '2.0', id: session.next++, method: 'initialize', params: {
    protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-gateway-cost', version: '1.0.0' } } });
  if (init.message.error) throw new Error(`${target}: initialize: ${JSON.stringify(init.message.error)}`);
  session.id = init.headers['mcp-session-id'];
  session.version = init.message.result.protocolVersion;
  await post(session, { jsonrpc: '2.0', method: 'notifications/initialized' });
  return session;
}

async function call(session, i) {
  const { message } = await post(session, { jsonrpc: '2.0', id: session.next++, method: 'tools/call',
    params: { name: tool, arguments: { message: `bench ${i}` } } });
  if (message.error || message.result?.isError || !String(message.result?.content?.[0]?.text).includes(`bench ${i}`)) {
    throw new Error(`${target}: unexpected answer ${JSON.stringify(message)}`);
  }
}

const sessions = [];
for (let i = 0; i < clients; i++) sessions.push(await connect());
await Promise.all(sessions.map(async (s) => { for (let i = 0; i < warmup; i++) await call(s, i); }));

await timedCalls({ target, sessions, calls, call });
for (const s of sessions) s.agent.destroy();
