// A Streamable HTTP MCP server whose one tool, `stamp`, answers with the time it received the
// call (ms since the epoch, sub-millisecond) and the arguments: the approval tests measure
// "approval committed -> upstream call started" with it. Prints "listening PORT" once ready.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

function newServer() {
  const server = new McpServer({ name: 'warden-e2e-stamp', version: '1.0.0' });
  server.tool('stamp', 'Says when the call arrived', { amount: z.number().optional() },
    async (args) => {
      const at = performance.timeOrigin + performance.now();
      return { content: [{ type: 'text', text: JSON.stringify({ at, args }) }] };
    });
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  const server = newServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  let body = '';
  for await (const chunk of req) body += chunk;
  let parsed;
  try { parsed = body ? JSON.parse(body) : undefined; } catch { parsed = undefined; }
  await transport.handleRequest(req, res, parsed);
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});
