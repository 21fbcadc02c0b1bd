// Fault tests of warden-mcp: kill -9 in the middle of calls, PostgreSQL restarted under load,
// an upstream that crashes mid-call and one that never answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  freshDatabase, here, modules, quote, root, sql, sqlValue, startGateway, stop, settled,
} from './harness.mjs';

let gateway, url, token;

function connect(bearer = token) {
  const c = new Client({ name: 'warden-faults', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
  return c.connect(transport).then(() => c);
}

async function restartGateway() {
  stop(gateway?.child);
  // A short call timeout so that the hung-upstream test ends in seconds.
  gateway = await startGateway(['--call-timeout', '3']);
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// The outcome ('completed' event reason) of the one call of `tool` whose arguments hold marker.
function outcomeNow(tool, marker) {
  return sqlValue(`SELECT coalesce(c.reason, '(none)') FROM warden.events p
                   LEFT JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
                   WHERE p.kind = 'call' AND p.tool = ${quote(tool)}
                     AND p.arguments->>'marker' = ${quote(marker)}`);
}
// The outcome is recorded just after the agent's answer: wait for it to appear.
const outcomeOf = (tool, marker) => settled(() => outcomeNow(tool, marker), (v) => v !== '(none)');

before(async () => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  const faults = `node ${path.join(here, 'fixture-faults.mjs')}`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('fault-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.add_server('faults', ${quote(faults)}, 'stdio');
       SELECT warden.grant('fault-bot', 'everything/echo');
       SELECT warden.grant('fault-bot', 'faults/*');`);
  token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'fault-bot', 'faults',
                    ttl => '1 hour')`);
  await restartGateway();
});

after(() => stop(gateway?.child));

// Raw POST to /mcp with a bearer that needs no session: the checks before any decision.
function rawPost(body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        Authorization: 'Bearer not-a-token', ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Found while fuzzing the JSON-RPC handling: a body nested a million levels deep overflowed the
// stack (nlohmann copies and dumps recursively) and killed warden-mcp with one unauthenticated
// request; a Mcp-Method header that is not UTF-8 made the error's dump() throw (500).
test('hostile bodies and headers are refused with 400 and the gateway keeps serving', async () => {
  const n = 1000000;
  const deep = await rawPost(`{"jsonrpc":"2.0","id":${'['.repeat(n)}${']'.repeat(n)}}`);
  assert.equal(deep.status, 400);
  assert.match(deep.text, /nests deeper than 128/);
  const deepParams = await rawPost(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a__b","arguments":${'{"a":'.repeat(n / 2)}1${'}'.repeat(n / 2)}}}`);
  assert.equal(deepParams.status, 400);
  const latin1 = await rawPost(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    { 'Mcp-Method': 'tools/\xff\xfe' });
  assert.equal(latin1.status, 400, latin1.text);
  assert.match(latin1.text, /Mcp-Method header/);
  assert.equal(gateway.child.exitCode, null, 'warden-mcp died');
  assert.equal((await fetch(url.replace('/mcp', '/healthz'))).status, 200);
});

test('kill -9 mid-calls: every call the agent saw allowed has its allowed event; a restart serves again', async () => {
  const clients = await Promise.all(Array.from({ length: 8 }, () => connect()));
  // The stdio upstream is started before the timed window: its start alone can take longer
  // than the window on a busy machine.
  await clients[0].callTool({ name: 'everything__echo', arguments: { message: 'warm-up before k9' } });
  const seen = [];
  let failedAfterKill = 0;
  let killed = false;
  const loops = clients.map(async (c, n) => {
    for (let i = 0; ; i++) {
      const message = `k9-${n}-${i}`;
      try {
        const r = await c.callTool({ name: 'everything__echo', arguments: { message } }, undefined, { timeout: 5000 });
        assert.match(r.content[0].text, new RegExp(message));
        seen.push(message);
      } catch (e) {
        assert.ok(killed, `a call failed before the kill: ${e.message}`);
        failedAfterKill++;
        return;
      }
    }
  });
  await sleep(800);
  killed = true;
  gateway.child.kill('SIGKILL');
  await Promise.all(loops);
  assert.ok(seen.length > 20, `only ${seen.length} calls before the kill`);
  const audited = new Set(sql(`SELECT arguments->>'message' FROM warden.events
                               WHERE kind = 'call' AND allowed AND server = 'everything' AND tool = 'echo'
                                 AND arguments->>'message' LIKE 'k9-%'`).map((r) => r[0]));
  const missing = seen.filter((m) => !audited.has(m));
  assert.deepEqual(missing, [], 'calls the agent saw allowed without an allowed call event');
  const open = sqlValue(`SELECT count(*) FROM warden.events p WHERE p.kind = 'call' AND p.allowed
                           AND p.arguments->>'message' LIKE 'k9-%'
                           AND NOT EXISTS (SELECT FROM warden.events c WHERE c.parent_id = p.event_id
                                                                        AND c.kind = 'completed')`);
  console.log(`kill -9: ${seen.length} calls answered, ${failedAfterKill} cut off, ${audited.size} allowed events, `
    + `${open} allowed events left without a completion (in flight at the kill)`);
  assert.ok(Number(open) <= clients.length, 'at most one call per client was in flight');
  await Promise.all(clients.map((c) => c.close().catch(() => {})));

  await restartGateway();
  const c = await connect();
  try {
    const r = await c.callTool({ name: 'everything__echo', arguments: { message: 'after restart' } });
    assert.match(r.content[0].text, /after restart/);
  } finally {
    await c.close();
  }
});

test('PostgreSQL restarted under load: clear refusals during the outage, recovery without restarting warden-mcp', async () => {
  const pid = gateway.child.pid;
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect()));
  const errors = new Map();
  let ok = 0, okAfter = 0, restarted = false;
  const restart = new Promise((resolve, reject) => {
    const p = spawn('bash', [path.join(root, 'scripts/pg'), 'restart'], { stdio: 'ignore' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/pg restart exited ${code}`))));
  }).then(() => { restarted = true; });
  const started = Date.now();
  const loops = clients.map(async (c, n) => {
    for (let i = 0; Date.now() - started < 30000; i++) {
      try {
        await c.callTool({ name: 'everything__echo', arguments: { message: `pg-${n}-${i}` } }, undefined, { timeout: 10000 });
        ok++;
        if (restarted && ++okAfter >= 20) return;
      } catch (e) {
        const key = e.message.replace(/\(.*\)/s, '(…)');
        errors.set(key, (errors.get(key) ?? 0) + 1);
        await sleep(50);
      }
    }
  });
  await restart;
  await Promise.all(loops);
  console.log(`PostgreSQL restart: ${ok} calls allowed, refusals: ${JSON.stringify(Object.fromEntries(errors))}`);
  for (const message of errors.keys()) {
    assert.match(message, /decision service unavailable/, 'every refusal during the outage names the cause');
  }
  assert.ok(okAfter >= 20, `warden-mcp did not recover: ${okAfter} calls after the restart`);
  assert.equal(gateway.child.exitCode, null);
  assert.equal(gateway.child.pid, pid);
  // Revocations still reach it: the LISTEN connection came back too.
  const [[chain, slowToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'fault-bot', 'after pg restart')`);
  const slow = await connect(slowToken);
  try {
    const call = slow.callTool({ name: 'faults__sleep', arguments: { ms: 10000, marker: 'listen-back' } })
      .then(() => null, (e) => e);
    await sleep(300);
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'after pg restart')`);
    const e = await Promise.race([call, sleep(5000).then(() => 'timeout')]);
    assert.ok(e instanceof Error, 'a revocation after the PostgreSQL restart did not abort the call in flight');
    assert.match(e.message, /chain_revoked/);
  } finally {
    await slow.close();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
});

test('an upstream that exits mid-call: a clear error at once, the call completed as error, the next call restarts it', async () => {
  const c = await connect();
  try {
    const started = Date.now();
    const r = await c.callTool({ name: 'faults__crash', arguments: { ms: 200 } }).then(() => null, (e) => e);
    assert.ok(r, 'the crashed call returned a result');
    assert.match(r.message, /upstream faults exited/);
    assert.ok(Date.now() - started < 3000);
    const outcome = sqlValue(`SELECT c.reason FROM warden.events p JOIN warden.events c
                                ON c.parent_id = p.event_id AND c.kind = 'completed'
                              WHERE p.kind = 'call' AND p.tool = 'crash'`);
    assert.equal(outcome, 'error');
    const again = await c.callTool({ name: 'faults__sleep', arguments: { ms: 10, marker: 'after-crash' } });
    assert.match(again.content[0].text, /slept 10/);
    assert.equal(await outcomeOf('sleep', 'after-crash'), 'ok');
  } finally {
    await c.close();
  }
});

// A hung upstream is bounded by warden-mcp's --call-timeout (3 s here, 60 s by default): the
// upstream is sent notifications/cancelled, the agent gets a clear error, and the call is
// completed as timeout.
test('a hung upstream: a clear error once --call-timeout passes, completed as timeout', async () => {
  const c = await connect();
  try {
    const started = Date.now();
    const r = await c.callTool({ name: 'faults__hang', arguments: { marker: 'timed-out' } }, undefined,
      { timeout: 30000 }).then(() => null, (e) => e);
    assert.ok(r, 'the hung call must fail');
    assert.match(r.message, /did not answer in time/);
    assert.ok(Date.now() - started < 10000, 'the call timeout (3 s) ended it');
    assert.equal(await outcomeOf('hang', 'timed-out'), 'timeout');
  } finally {
    await c.close();
  }
});

test('a hung upstream call is ended by revoking its chain, and completed as revoked', async () => {
  const [[chain, hangToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'fault-bot', 'hang')`);
  const c = await connect(hangToken);
  try {
    const call = c.callTool({ name: 'faults__hang', arguments: { marker: 'hung' } }).then(() => null, (e) => e);
    await sleep(300);
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'hung upstream')`);
    const e = await call;
    assert.ok(e);
    assert.match(e.message, /chain_revoked/);
    assert.equal(await outcomeOf('hang', 'hung'), 'revoked');
  } finally {
    await c.close();
  }
});

test('a revocation made while the listener is reconnecting still aborts the call in flight', async () => {
  const [[chain, hangToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'fault-bot', 'listener gap')`);
  const c = await connect(hangToken);
  try {
    const call = c.callTool({ name: 'faults__hang', arguments: { marker: 'gap' } }).then(() => null, (e) => e);
    await sleep(300);
    // Drop the gateway's LISTEN connection and revoke before it can reconnect (it waits 100 ms):
    // the notification is lost, so only the re-check after reconnecting can abort the call.
    const said = sql(`SELECT 'terminated', count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE usename = 'warden_gateway' AND application_name = 'warden-mcp listener';
         SELECT warden.revoke_chain(${quote(chain)}, 'revoked during the listener gap')`);
    // Exactly the listener went: otherwise the notification would abort the call and the
    // re-check would go untested.
    assert.deepEqual(said[0], ['terminated', '1']);
    const e = await call;
    assert.ok(e, 'the call must be aborted');
    assert.match(e.message, /chain_revoked/);
    assert.equal(await outcomeOf('hang', 'gap'), 'revoked');
  } finally {
    await c.close();
  }
});

test('the re-check connection alone dropped: a revocation still aborts the call in flight, at once', async () => {
  const [[chain, hangToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'fault-bot', 'recheck gone')`);
  const c = await connect(hangToken);
  try {
    const call = c.callTool({ name: 'faults__hang', arguments: { marker: 'recheck gone' } })
      .then(() => null, (e) => ({ e, at: Date.now() }));
    await sleep(300);
    // The listener stays up and hears the revocation; the re-check it starts meets its own
    // connection dead and must try once more on a new one (Decisions::dead_in_flight).
    const said = sql(`SELECT 'terminated', count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE usename = 'warden_gateway' AND application_name = 'warden-mcp recheck'`);
    assert.deepEqual(said[0], ['terminated', '1']);
    await sleep(200);
    const revokedAt = Date.now();
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'revoked with the re-check connection gone')`);
    const r = await call;
    assert.ok(r, 'the call must be aborted');
    assert.match(r.e.message, /chain_revoked/);
    assert.ok(r.at - revokedAt < 2000, `aborted ${r.at - revokedAt} ms after the revocation`);
    assert.equal(await outcomeOf('hang', 'recheck gone'), 'revoked');
    console.log(`# aborted ${r.at - revokedAt} ms after the revocation`);
  } finally {
    await c.close();
  }
});

test('every connection of the gateway dropped and a revocation made in the gap: the call in flight is still aborted', async () => {
  const [[chain, hangToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'fault-bot', 'restart gap')`);
  const c = await connect(hangToken);
  try {
    const call = c.callTool({ name: 'faults__hang', arguments: { marker: 'all gone' } }).then(() => null, (e) => e);
    await sleep(300);
    // As after a database restart: the pool's, the re-check's and the listener's connections all
    // go. The re-check after the listener reconnects meets its own dead connection first and
    // must try again on a new one (Decisions::dead_tokens).
    const said = sql(`SELECT 'terminated', count(pg_terminate_backend(pid)) FROM pg_stat_activity
          WHERE usename = 'warden_gateway';
         SELECT warden.revoke_chain(${quote(chain)}, 'revoked while every connection was gone')`);
    assert.ok(Number(said[0][1]) >= 3, `terminated ${said[0][1]} connections`);
    const e = await call;
    assert.ok(e, 'the call must be aborted');
    assert.match(e.message, /chain_revoked/);
    assert.equal(await outcomeOf('hang', 'all gone'), 'revoked');
  } finally {
    await c.close();
  }
});
