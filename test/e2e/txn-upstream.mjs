// A Streamable HTTP MCP server that trusts warden's transaction tokens the way a real upstream
// would: each call must carry a Txn-Token header, a JWT (typ txntoken+jwt) verified against
// warden's published JWKS (the URL is argv[2]), naming this server as aud, living at most 60 s,
// and stating this very call: tctx.tool is the tool called and tctx.arguments_sha256 the
// base64url SHA-256 of the canonical JSON of the arguments received. Its tool `lookup` answers
// with the verified claims, or an error saying what did not verify. Prints "listening PORT".
import http from 'node:http';
import crypto from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const jwksUrl = process.argv[2];
const audience = process.argv[3] ?? 'txnfix';

// Sorted keys, no whitespace: warden's canonical JSON for strings, integers, booleans, null.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

async function verify(token, tool, args) {
  if (!token) throw new Error('no Txn-Token header');
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  if (header.typ !== 'txntoken+jwt' || header.alg !== 'EdDSA') throw new Error(`bad header ${JSON.stringify(header)}`);
  const jwks = await (await fetch(jwksUrl)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`kid ${header.kid} is not in warden's JWKS`);
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  if (!crypto.verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  if (claims.aud !== audience) throw new Error(`aud ${claims.aud}`);
  if (!(claims.exp > now - 5) || claims.exp - claims.iat > 60) throw new Error('expired or too long');
  if (claims.tctx?.tool !== tool) throw new Error(`tctx.tool ${claims.tctx?.tool} is not ${tool}`);
  const digest = crypto.createHash('sha256').update(canonical(args ?? {})).digest('base64url');
  if (claims.tctx?.arguments_sha256 !== digest) throw new Error('tctx.arguments_sha256 does not match the arguments');
  return claims;
}

function newServer(req, body) {
  const server = new McpServer({ name: 'warden-txn-fixture', version: '1.0.0' });
  server.tool('lookup', 'Answers with the verified transaction token', { id: z.string() }, async () => {
    try {
      const claims = await verify(req.headers['txn-token'], 'lookup', body?.params?.arguments);
      return { content: [{ type: 'text', text: JSON.stringify(claims) }] };
    } catch (e) {
      return { isError: true, content: [{ type: 'text', text: `txn-token refused: ${e.message}` }] };
    }
  });
  return server;
}

const httpServer = http.createServer(async (req, res) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  let parsed;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  const server = newServer(req, parsed);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, parsed);
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(`listening ${httpServer.address().port}`);
});
