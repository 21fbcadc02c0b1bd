// Load for kill_latency.test.mjs, on a thread of its own (worker_threads) so that its agents'
// calls do not hold up the measuring thread's event loop: one SDK session per token (workerData:
// url, tokens), each calling everything__echo back to back until the parent posts 'stop'; then
// posts {answered, error}.
import { parentPort, workerData } from 'node:worker_threads';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { url, tokens } = workerData;
let running = true;
let answered = 0;
let error = null;
parentPort.on('message', (m) => { if (m === 'stop') running = false; });

const clients = [];
for (const token of tokens) {
  const c = new Client({ name: 'warden-kill-load', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  clients.push(c);
}
parentPort.postMessage({ ready: true });
await Promise.all(clients.map(async (c, i) => {
  for (let k = 0; running && !error; k++) {
    try {
      const r = await c.callTool({ name: 'everything__echo', arguments: { message: `load ${i} ${k}` } });
      if (r.isError || !JSON.stringify(r.content).includes(`load ${i} ${k}`)) {
        error = `load call: ${JSON.stringify(r)}`;
      }
      answered++;
    } catch (e) {
      error = `load call: ${e.message}`;
    }
  }
}));
await Promise.all(clients.map((c) => c.close().catch(() => {})));
parentPort.postMessage({ answered, error });
