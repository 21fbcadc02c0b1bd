// The fast upstream of bench/gateway_cost: a minimal MCP server over Streamable HTTP with one
// tool, `echo`, answering every request with a plain JSON body (no event stream, no SDK, no
// per-request allocation beyond the answer), so that the upstream is not what limits the
// governed calls/s. Enough of MCP for warden-mcp and for bench/gateway_cost/client.mjs:
// initialize (with a session id), notifications (202), tools/list, tools/call echo, ping;
// a GET stream is refused with 405 as the transport allows; DELETE ends nothing (200).
// usage: PORT=N node responder.mjs
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const tools = [{
  name: 'echo',
  description: 'Returns its message',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
}];

function answer(message) {
  const { id, method, params } = message;
  switch (method) {
    case 'initialize':
      return { jsonrpc: '2.0', id, result: {
        protocolVersion: params?.protocolVersion ?? '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name: 'bench-responder', version: '1.0.0' } } };
    case 'tools/list':
      return { jsonrpc: '2.0', id, result: { tools } };
    case 'tools/call':
      if (params?.name !== 'echo') return { jsonrpc: '2.0', id, error: { code: -32602, message: 'unknown tool' } };
      return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `Echo: ${params.arguments?.message}` }] } };
    case 'ping':
      return { jsonrpc: '2.0', id, result: {} };
    default:
      return { jsonrpc: '2.0', id, error: { code: -32601, message: `no method ${method}` } };
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'DELETE') { res.writeHead(200).end(); return; }
  if (req.method !== 'POST') { res.writeHead(405, { Allow: 'POST, DELETE' }).end(); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let message;
    try { message = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch {
      res.writeHead(400, { 'Content-Type': 'application/json' })
        .end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}');
      return;
    }
    if (message.id === undefined) { res.writeHead(202).end(); return; }  // a notification or a response
    const headers = { 'Content-Type': 'application/json' };
    if (message.method === 'initialize') headers['Mcp-Session-Id'] = randomUUID();
    res.writeHead(200, headers).end(JSON.stringify(answer(message)));
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.env.PORT), '127.0.0.1');
