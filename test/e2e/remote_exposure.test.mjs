// Issue 11, finding 17 (front-end parts): /metrics is loopback-only unless opened with
// --metrics-allow-remote or a bearer token (--metrics-token-file), and a credential is never
// sent in clear text to a plain http:// upstream that is not on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  binary, freshDatabase, gatewayConninfo, quote, sql, sqlValue, startGateway, startProcess, stop,
  settled } from './harness.mjs';

// This host's first non-loopback IPv4 address: what a remote client or upstream looks like.
const external = Object.values(os.networkInterfaces()).flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-exposure-'));

before(() => freshDatabase());
after(() => fs.rmSync(folder, { recursive: true, force: true }));

function anyAddressGateway(args) {
  return startProcess(binary, ['serve', '--db', gatewayConninfo(), '--listen', '0.0.0.0:0', ...args],
    /listening on http:\/\/0\.0\.0\.0:(\d+)\/mcp/);
}

test('finding 17: /metrics answers loopback clients only, unless opened', { skip: !external && 'no non-loopback address' }, async () => {
  const tokenFile = path.join(folder, 'metrics-token');
  const metricsToken = `metrics-${process.pid}`;
  fs.writeFileSync(tokenFile, `${metricsToken}\n`, { mode: 0o600 });
  for (const [args, remoteStatus, withToken] of [[[], 403, 403], [['--metrics-token-file', tokenFile], 401, 200],
    [['--metrics-allow-remote'], 200, 200]]) {
    const g = await anyAddressGateway(args);
    try {
      const port = g.match[1];
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200, `loopback, ${args}`);
      const remote = await fetch(`http://${external}:${port}/metrics`);
      assert.equal(remote.status, remoteStatus, `remote, ${args}`);
      const body = await remote.text();
      if (remoteStatus !== 200) assert.ok(!body.includes('warden_'), 'metrics leaked in a refusal');
      const bearer = await fetch(`http://${external}:${port}/metrics`,
        { headers: { Authorization: `Bearer ${metricsToken}` } });
      assert.equal(bearer.status, withToken, `remote with token, ${args}`);
      const wrong = await fetch(`http://${external}:${port}/metrics`,
        { headers: { Authorization: `Bearer ${metricsToken}x` } });
      assert.equal(wrong.status, remoteStatus === 200 ? 200 : remoteStatus, `remote with a wrong token, ${args}`);
    } finally {
      stop(g.child);
    }
  }
});

test('finding 17: no credential in clear text to a non-loopback http:// upstream', { skip: !external && 'no non-loopback address' }, async () => {
  // A plain HTTP upstream on the external address that records what reaches it.
  const seen = [];
  const upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(500).end();
  });
  await new Promise((res) => upstream.listen(0, external, res));
  const remoteUrl = `http://${external}:${upstream.address().port}/mcp`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('plain-bot', 'alice@example.com');
       SELECT warden.add_server('plain', ${quote(remoteUrl)}, 'http', '{"kind": "jwt", "ttl_seconds": 30}');
       SELECT warden.grant('plain-bot', 'plain/*');`);
  const token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'plain-bot', 'clear text')`);
  const g = await startGateway();
  const c = new Client({ name: 'warden-exposure', version: '1.0.0' });
  try {
    await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${g.match[1]}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }));
    let e;
    try {
      await c.callTool({ name: 'plain__whoami', arguments: {} });
    } catch (err) {
      e = err;
    }
    assert.ok(e, 'the call was forwarded');
    assert.equal(e.code, -32001);
    assert.match(e.message, /warden denied plain__whoami: credential_needs_tls/);
    assert.ok(seen.every((h) => !h.authorization), 'a credential reached the plain http upstream');
    const outcome = await settled(() => sql(`SELECT c.reason, c.detail->>'error' FROM warden.events p
        JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
        WHERE p.kind = 'call' AND p.tool = 'whoami'`)[0], (row) => row !== undefined);
    assert.deepEqual(outcome, ['error', 'credential_needs_tls']);
    // Refused before the decision asked for one: no credential was vended for this call.
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events
        WHERE kind = 'credential_vended' AND tool = 'whoami'`), '0');
    // The gateway's stderr reaches us on its own schedule: wait for the line (a busy machine
    // can deliver it after the outcome is in the database).
    const logged = await settled(() => g.log.join(''), (text) => /refused a call to plain__whoami .*credential_needs_tls/.test(text));
    assert.match(logged, /refused a call to plain__whoami .*credential_needs_tls/);
  } finally {
    await c.close().catch(() => {});
    stop(g.child);
    upstream.close();
  }
});
