// A tiny Streamable HTTP MCP server for the end-to-end tests: its one tool, `whoami`, answers
// with the HTTP headers and the params._meta of the call it received, so tests can see what
// warden-mcp forwarded (traceparent, injected credential) and what it did not (the agent's
// token). Prints "listening PORT" once ready.
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

function newServer() {
  const server = new McpServer({ name: 'warden-e2e-fixture', version: '1.0.0' });
  server.tool('whoami', 'Shows the headers and _meta of this call', async (extra) => ({
    content: [{
      type: 'text',
      text: JSON.stringify({ headers: extra.requestInfo?.headers ?? {}, meta: extra._meta ?? {} }),
    }],
  }));
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  // Stateless: a fresh server and transport per request.
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
