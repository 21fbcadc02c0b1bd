// Issue 11, findings 5 and 6: stdio upstreams read the gateway's secrets, and warden_admin
// gets a shell on the gateway host. A stdio child gets a clean environment and a private HOME,
// runs unprivileged when the gateway is root, and cannot read the gateway's /proc entries or
// files; only commands the gateway host's allowlist admits are executed (never via a shell),
// and calls to any other are denied and recorded as errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  binary, freshDatabase, gatewayConninfo, here, quote, sql, sqlValue, startProcess, stop, settled,
  writeStdioAllowlist } from './harness.mjs';

const folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-isolation-')));
fs.chmodSync(folder, 0o755);
const probe = `node ${path.join(here, 'fixture-probe.mjs')}`;
const allowFile = writeStdioAllowlist([probe]);
fs.chmodSync(path.dirname(allowFile), 0o755);
fs.chmodSync(allowFile, 0o644);
const pwned = path.join(folder, 'pwned');
const secret = `gateway-secret-${process.pid}`;
const listening = /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/;
let token;

async function connect(port) {
  const c = new Client({ name: 'warden-isolation', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  return c;
}

async function probeFrom(port, paths = []) {
  const c = await connect(port);
  try {
    const r = await c.callTool({ name: 'probe__probe', arguments: { paths } });
    return JSON.parse(r.content[0].text);
  } finally {
    await c.close();
  }
}

async function callError(port, name) {
  const c = await connect(port);
  try {
    await c.callTool({ name, arguments: {} });
  } catch (e) {
    return e;
  } finally {
    await c.close();
  }
  assert.fail(`${name} was not refused`);
}

function outcomeOf(tool) {
  return settled(() => sql(`SELECT c.reason, c.detail->>'error' FROM warden.events p
      JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
      WHERE p.kind = 'call' AND p.tool = ${quote(tool)} AND p.allowed`)[0],
  (row) => row !== undefined);
}

before(() => {
  freshDatabase();
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('probe-bot', 'alice@example.com');
       SELECT warden.add_server('probe', ${quote(probe)}, 'stdio');
       SELECT warden.add_server('shell', ${quote(`sh -c "touch ${pwned}"`)}, 'stdio',
         '{"kind": "jwt", "ttl_seconds": 30}');
       SELECT warden.add_server('sneaky', ${quote(`${probe}; touch ${pwned}`)}, 'stdio');
       SELECT warden.grant('probe-bot', 'probe/*');
       SELECT warden.grant('probe-bot', 'shell/*');
       SELECT warden.grant('probe-bot', 'sneaky/*');`);
  token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'probe-bot', 'isolation')`);
});

after(() => fs.rmSync(folder, { recursive: true, force: true }));

test('finding 5: a stdio child gets a clean environment, a private HOME and no view of the gateway', async () => {
  // The connection string comes from a file only root can read; secrets sit in the gateway's
  // environment. None of it may reach the child.
  const dbFile = path.join(folder, 'db.conninfo');
  fs.writeFileSync(dbFile, `${gatewayConninfo()}\n`, { mode: 0o600 });
  const g = await startProcess(binary, ['serve', '--db-file', dbFile, '--listen', '127.0.0.1:0',
    '--stdio-allow', allowFile], listening,
  { env: { ...process.env, PGPASSWORD: secret, WARDEN_PROBE_SECRET: secret } });
  let home;
  try {
    const seen = await probeFrom(g.match[1], [dbFile]);
    assert.deepEqual(Object.keys(seen.env).sort(), ['HOME', 'LANG', 'PATH'], JSON.stringify(seen.env));
    assert.ok(!JSON.stringify(seen).includes(secret), 'a gateway secret reached the child');
    home = seen.env.HOME;
    assert.match(home, /warden-mcp-home-/);
    assert.equal(seen.cwd, home);
    assert.notEqual(home, os.homedir());
    if (process.getuid() === 0) {
      const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
      assert.equal(seen.uid, nobody, 'the child runs as nobody when the gateway is root');
      assert.equal(fs.statSync(home).uid, nobody);
      assert.equal(fs.statSync(home).mode & 0o777, 0o700);
      assert.equal(seen.parent.environ.readable, false, 'the child read /proc/<gateway>/environ');
      assert.equal(seen.files[dbFile], 'EACCES', 'the child read the gateway\'s --db-file');
    }
    assert.ok(!seen.parent.cmdline.includes('password'), seen.parent.cmdline);
    assert.ok(!seen.parent.cmdline.includes(secret));

    // A new child gets a new HOME; the old one is removed with its child.
    const c = await connect(g.match[1]);
    await c.callTool({ name: 'probe__exit', arguments: {} });
    await c.close();
    await new Promise((res) => setTimeout(res, 300));
    const again = await probeFrom(g.match[1]);
    assert.notEqual(again.env.HOME, home);
    assert.equal(fs.existsSync(home), false, 'the exited child\'s HOME was left behind');
    home = again.env.HOME;
  } finally {
    stop(g.child);
    await new Promise((res) => g.child.once('exit', res));
  }
  assert.equal(fs.existsSync(home), false, 'a child HOME outlived the gateway');
});

test('finding 5: a child of a non-root gateway cannot read its /proc environ (not dumpable)', async (t) => {
  if (process.getuid() !== 0) {
    t.skip('needs root to run the gateway as another user');
    return;
  }
  // The gateway itself runs as nobody, so its child has the same uid: only PR_SET_DUMPABLE 0
  // keeps /proc/<gateway>/environ from it. The password travels by PGPASSFILE, never argv.
  const password = `pw-${process.pid}-${Date.now()}`;
  sql(`ALTER ROLE warden_gateway PASSWORD ${quote(password)}`);
  const passfile = path.join(folder, 'pgpass');
  fs.writeFileSync(passfile, `127.0.0.1:${process.env.PGPORT}:*:warden_gateway:${password}\n`, { mode: 0o600 });
  execFileSync('chown', ['nobody', passfile]);
  const conninfo = `host=127.0.0.1 port=${process.env.PGPORT} dbname=${sqlValue('SELECT current_database()')} user=warden_gateway`;
  const g = await startProcess('runuser', ['-u', 'nobody', '--', binary, 'serve', '--listen', '127.0.0.1:0',
    '--stdio-allow', allowFile], listening,
  { env: { ...process.env, WARDEN_DB: conninfo, PGPASSFILE: passfile, WARDEN_PROBE_SECRET: secret }, cwd: '/' });
  try {
    const seen = await probeFrom(g.match[1], [passfile]);
    assert.equal(seen.uid, Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })));
    assert.equal(seen.parent.environ.readable, false, 'the same-uid child read /proc/<gateway>/environ');
    assert.ok(!JSON.stringify(seen).includes(secret));
    assert.ok(!JSON.stringify(seen).includes(password));
  } finally {
    stop(g.child);
    sql('ALTER ROLE warden_gateway PASSWORD NULL');
  }
});

test('finding 5: --db with a password is refused, pointing at --db-file and PGPASSFILE', () => {
  let out = '';
  try {
    execFileSync(binary, ['serve', '--db', `${gatewayConninfo()} password=${secret}`], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    out = `${e.stderr}`;
    assert.equal(e.status, 2);
  }
  assert.match(out, /--db contains a password.*--db-file.*PGPASSFILE/s);
  assert.ok(!out.includes(secret), 'the password was echoed');
});

test('finding 6: a command the host does not allow never runs; calls are denied and recorded as errors', async () => {
  const g = await startProcess(binary, ['serve', '--db', gatewayConninfo(), '--listen', '127.0.0.1:0',
    '--stdio-allow', allowFile], listening);
  try {
    await new Promise((res) => setTimeout(res, 200));
    const log = g.log.join('');
    assert.match(log, /refusing stdio upstream shell: its command .* is not allowed by/);
    assert.match(log, /refusing stdio upstream sneaky: its command .* cannot be split into words/);
    for (const name of ['shell__anything', 'sneaky__probe']) {
      const e = await callError(g.match[1], name);
      assert.equal(e.code, -32001);
      assert.match(e.message, /warden denied .*: stdio_command_not_allowed/);
    }
    assert.deepEqual(await outcomeOf('anything'), ['error', 'stdio_command_not_allowed']);
    // The refused server takes a credential: none was vended for a call that could not go out.
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events
        WHERE kind = 'credential_vended' AND server = 'shell'`), '0');
    // The allowed one still runs: the policy refuses per server, not per gateway.
    assert.equal((await probeFrom(g.match[1])).env.PATH !== undefined, true);
    assert.equal(fs.existsSync(pwned), false, 'a refused command ran');
  } finally {
    stop(g.child);
  }
});

test('finding 6: without --stdio-allow every stdio upstream is refused, and the log says how to allow them', async () => {
  const g = await startProcess(binary, ['serve', '--db', gatewayConninfo(), '--listen', '127.0.0.1:0'], listening);
  try {
    assert.match(g.log.join(''), /no --stdio-allow FILE: every stdio upstream is refused/);
    const e = await callError(g.match[1], 'probe__probe');
    assert.match(e.message, /stdio_command_not_allowed/);
    assert.equal(fs.existsSync(pwned), false);
  } finally {
    stop(g.child);
  }
});

// A stdio child is one agent's, but that agent may run calls for two people at once (two
// chains, two MCP sessions). A request of the child's own (sampling) names no call: it used to
// go to the newest call in flight, so Bob's session could be asked to answer, and see, a
// sampling made for Alice's call. Now it is relayed only while one session's calls are in
// flight; otherwise the child gets an error and neither person is asked.
test('a stdio child\'s own request never reaches another session of the same agent', async () => {
  sql(`SELECT warden.add_human('bob@example.com', 'Bob')`);
  const alice = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'probe-bot', 'alice task')`);
  const bob = sqlValue(`SELECT token FROM warden.start_chain('bob@example.com', 'probe-bot', 'bob task')`);
  const g = await startProcess(binary, ['serve', '--db', gatewayConninfo(), '--listen', '127.0.0.1:0',
    '--stdio-allow', allowFile], listening);
  const asked = { alice: 0, bob: 0 };
  async function session(name, bearer) {
    const c = new Client({ name: `warden-${name}`, version: '1.0.0' }, { capabilities: { sampling: {} } });
    c.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked[name] += 1;
      return { model: 'm', role: 'assistant', content: { type: 'text', text: `${name} answered` } };
    });
    await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${g.match[1]}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
    }));
    return c;
  }
  const a = await session('alice', alice);
  const b = await session('bob', bob);
  try {
    // Alone in flight: Alice's call gets Alice's answer.
    let r = await a.callTool({ name: 'probe__sample-later', arguments: { delay_ms: 0 } });
    assert.equal(r.content[0].text, 'answered: alice answered');
    assert.deepEqual(asked, { alice: 1, bob: 0 });
    // Bob's call starts after Alice's and is still running when the child asks: nobody is asked.
    const pending = a.callTool({ name: 'probe__sample-later', arguments: { delay_ms: 1500 } });
    await new Promise((res) => setTimeout(res, 300));
    const bobs = b.callTool({ name: 'probe__sleep', arguments: { ms: 4000 } });
    r = await pending;
    assert.match(r.content[0].text, /^refused: .*more than one session/);
    assert.deepEqual(asked, { alice: 1, bob: 0 }, 'a session was asked to answer for another');
    assert.equal((await bobs).content[0].text, 'slept');
  } finally {
    await a.close().catch(() => {});
    await b.close().catch(() => {});
    stop(g.child);
  }
});
