// The idle half of bench/sessions: opens N MCP sessions on warden-mcp (initialize, then
// notifications/initialized, as the official SDK does) and on each one the GET stream an agent
// keeps open for server-to-client messages, then holds them all until stdin closes or SIGTERM.
// Prints "ready N" once every stream is open (the caller measures then) and, at the end, how
// many streams the gateway closed meanwhile (it must be 0: an idle stream is not dropped).
// usage: node idle.mjs URL BEARER SESSIONS
// Plain node:http with one socket per request (agent: false): the SDK client would cost this
// process far more memory per session than the gateway, and the streams are what is measured.
import http from 'node:http';

const [url, bearer, sessionsArg] = process.argv.slice(2);
const sessions = Number(sessionsArg);
const target = new URL(url);
const concurrency = 64;

function request(method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname,
      method, agent: false, headers: { Authorization: `Bearer ${bearer}`, ...headers } }, (res) => {
      if (method === 'GET') return resolve(res);
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.end(JSON.stringify(body)); else req.end();
  });
}

const json = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const streams = [];
let dropped = 0;

async function open(n) {
  const init = await request('POST', json, { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {},
      clientInfo: { name: 'bench-idle', version: '1.0.0' } } });
  const id = init.headers['mcp-session-id'];
  if (init.status !== 200 || !id) throw new Error(`initialize ${n}: ${init.status} ${init.body.slice(0, 200)}`);
  const session = { 'Mcp-Session-Id': id, 'MCP-Protocol-Version': '2025-11-25' };
  const note = await request('POST', { ...json, ...session },
    { jsonrpc: '2.0', method: 'notifications/initialized' });
  if (note.status !== 202) throw new Error(`initialized ${n}: ${note.status}`);
  const res = await request('GET', { Accept: 'text/event-stream', ...session });
  if (res.statusCode !== 200) throw new Error(`GET stream ${n}: ${res.statusCode}`);
  res.on('data', () => {});
  res.on('close', () => { if (!stopping) dropped++; });
  streams.push(res);
}

let stopping = false;
const started = Date.now();
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < sessions) {
    const n = next++;
    await open(n);
    if (streams.length % 1000 === 0) {
      console.error(`bench/sessions: ${streams.length} of ${sessions} idle sessions open (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
}));
console.log(`ready ${streams.length}`);

const finish = () => {
  stopping = true;
  console.log(`dropped ${dropped}`);
  for (const s of streams) s.destroy();
  process.exit(0);
};
process.on('SIGTERM', finish);
process.stdin.on('end', finish);
process.stdin.resume();
