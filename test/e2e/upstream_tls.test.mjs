// TLS upstream connections (issue 18): kept alive, new ones resume an earlier TLS session, and
// certificate and host-name verification stay as strict as a full handshake. The gateway
// trusts a CA made here (SSL_CERT_FILE), as a real deployment trusts its system store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freshDatabase, quote, sql, sqlValue, startGateway, stop } from './harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tls-'));
let gateway, url;
const servers = [];
const tokens = {};
let nextSocket = 1;

function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA and a certificate it signs for `san` (e.g. "IP:127.0.0.1").
function certificate(name, ca, san) {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const pem = path.join(dir, `${name}.pem`);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, `subjectAltName=${san}\n`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr);
  openssl('x509', '-req', '-in', csr, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '1', '-extfile', ext, '-out', pem);
  return { key: fs.readFileSync(key), cert: fs.readFileSync(pem) };
}

function authority(name) {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`));
  return path.join(dir, name);
}

// A stateless MCP upstream over https whose one tool tells which connection carried the call
// and whether its TLS session was resumed.
function startUpstream(tls) {
  const server = https.createServer(tls, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const message = JSON.parse(body);
      const socket = req.socket.warden_id ??= nextSocket++;
      const reply = (result) => {
        const text = JSON.stringify({ jsonrpc: '2.0', id: message.id, result });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (message.method === 'initialize') {
        return reply({ protocolVersion: message.params.protocolVersion, capabilities: { tools: {} },
          serverInfo: { name: 'tls-upstream', version: '1.0.0' } });
      }
      if (message.id === undefined) {
        res.writeHead(202, { 'Content-Length': 0 });
        return res.end();
      }
      if (message.method === 'tools/list') {
        return reply({ tools: [{ name: 'whoami', description: 'whoami', inputSchema: { type: 'object' } }] });
      }
      const text = JSON.stringify({ socket, resumed: req.socket.isSessionReused() });
      return reply({ content: [{ type: 'text', text }] });
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function connect(agent) {
  const c = new Client({ name: `tls-${agent}`, version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${tokens[agent]}` } },
  }));
  return c;
}

// The call's answer, or its error (a refused upstream is a JSON-RPC error).
async function whoami(client, server) {
  try {
    const r = await client.callTool({ name: `${server}__whoami`, arguments: {} });
    return r.isError ? { error: r.content[0].text } : JSON.parse(r.content[0].text);
  } catch (e) {
    return { error: e.message };
  }
}

before(async () => {
  freshDatabase();
  const ca = authority('trusted-ca');
  const rogue = authority('rogue-ca');
  const good = await startUpstream(certificate('good', ca, 'IP:127.0.0.1'));
  // Signed by the trusted CA, but for another name.
  const misnamed = await startUpstream(certificate('misnamed', ca, 'DNS:upstream.example,IP:127.0.0.2'));
  // For the right name, by a CA the gateway does not trust.
  const untrusted = await startUpstream(certificate('untrusted', rogue, 'IP:127.0.0.1'));
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('tls-a', 'alice@example.com');
       SELECT warden.add_agent('tls-b', 'alice@example.com');
       SELECT warden.add_server('good', ${quote(`https://127.0.0.1:${good}/mcp`)}, 'http');
       SELECT warden.add_server('misnamed', ${quote(`https://127.0.0.1:${misnamed}/mcp`)}, 'http');
       SELECT warden.add_server('untrusted', ${quote(`https://127.0.0.1:${untrusted}/mcp`)}, 'http');`);
  for (const agent of ['tls-a', 'tls-b']) {
    sql(`SELECT warden.grant(${quote(agent)}, s || '/*') FROM unnest(ARRAY['good', 'misnamed', 'untrusted']) s`);
    tokens[agent] = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com',
                              ${quote(agent)}, 'tls', ttl => '1 hour')`);
  }
  gateway = await startGateway(['--upstream-keepalive', '600'], undefined,
    { env: { ...process.env, SSL_CERT_FILE: `${ca}.pem` } });
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  stop(gateway?.child);
  for (const s of servers) { s.closeAllConnections(); s.close(); }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('calls reuse the verified TLS connection; a new connection resumes the TLS session', async () => {
  const a = await connect('tls-a');
  const first = await whoami(a, 'good');
  assert.equal(first.error, undefined);
  const second = await whoami(a, 'good');
  assert.equal(second.socket, first.socket, 'the same TLS connection carried both calls');
  // Another agent gets connections of its own, which resume the TLS session instead of a full
  // handshake.
  const b = await connect('tls-b');
  const other = await whoami(b, 'good');
  assert.notEqual(other.socket, first.socket);
  assert.equal(other.resumed, true);
  await Promise.all([a.close(), b.close()]);
});

test('a certificate for another name is refused, also after sessions with this host', async () => {
  const a = await connect('tls-a');
  assert.equal((await whoami(a, 'good')).error, undefined);
  const r = await whoami(a, 'misnamed');
  assert.match(r.error ?? '', /certificate verify failed/);
  await a.close();
});

test('a certificate from a CA the gateway does not trust is refused', async () => {
  const a = await connect('tls-a');
  const r = await whoami(a, 'untrusted');
  assert.match(r.error ?? '', /certificate verify failed/);
  await a.close();
});
