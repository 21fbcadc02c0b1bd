// A kill reaches the calls in flight even when every connection of warden-mcp's pool is busy:
// the re-check that aborts them (warden.dead_tokens) has a connection of its own. Here the pool
// has one connection, held by a decision that waits on a lock someone took on warden.grants
// (which neither the revocation nor the re-check reads); without the own connection the
// re-check would wait for the pool, give up after 5 s, and the revoked call would run on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { database, freshDatabase, here, modules, quote, settled, sql, sqlValue, startGateway, stop } from './harness.mjs';

let gateway, url, locker;

function connect(token) {
  const c = new Client({ name: 'warden-recheck', version: '1.0.0' });
  return c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } })).then(() => c);
}

before(async () => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('recheck-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.add_server('faults', ${quote(`node ${path.join(here, 'fixture-faults.mjs')}`)}, 'stdio');
       SELECT warden.grant('recheck-bot', 'everything/echo');
       SELECT warden.grant('recheck-bot', 'faults/hang');`);
  gateway = await startGateway(['--pool', '1']);
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  stop(gateway?.child);
  if (locker && locker.exitCode === null) locker.kill('SIGKILL');
});

test('every pool connection stuck behind a lock: revoking a chain still aborts its call in flight at once', async () => {
  const [[chain, victimToken]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'recheck-bot', 'victim')`);
  const otherToken = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'recheck-bot', 'other')`);
  const victim = await connect(victimToken);
  const other = await connect(otherToken);
  try {
    await other.callTool({ name: 'everything__echo', arguments: { message: 'warm' } });
    const hung = victim.callTool({ name: 'faults__hang', arguments: {} }, undefined, { timeout: 90000 })
      .then(() => null, (e) => e);
    // Decided and forwarded (its decision's event committed) before anything is locked.
    await settled(() => sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND tool = 'hang'
        AND chain_id = ${quote(chain)}`), (v) => v === '1', 10000);
    await new Promise((res) => setTimeout(res, 200));
    // Someone holds warden.grants; the next decision waits for it, holding the pool's one
    // connection.
    locker = spawn('psql', ['-X', '-q', '-d', database, '-v', 'ON_ERROR_STOP=1',
      '-c', "SET application_name = 'recheck-test locker'",
      '-c', 'BEGIN', '-c', 'LOCK TABLE warden.grants IN ACCESS EXCLUSIVE MODE', '-c', 'SELECT pg_sleep(60)']);
    await settled(() => sqlValue(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE a.application_name = 'recheck-test locker' AND l.relation = 'warden.grants'::regclass AND l.granted`),
    (v) => v === '1', 10000);
    const stuck = other.callTool({ name: 'everything__echo', arguments: { message: 'stuck' } }, undefined,
      { timeout: 90000 }).then((x) => x, (e) => e);
    const waiting = await settled(() => sqlValue(`SELECT count(*) FROM pg_stat_activity
        WHERE usename = 'warden_gateway' AND wait_event_type = 'Lock'`), (v) => v === '1', 10000);
    assert.equal(waiting, '1', 'the decision did not wait on the lock');

    const t0 = Date.now();
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'pool stuck')`);
    const e = await hung;
    const took = Date.now() - t0;
    assert.ok(e, 'the hung call answered');
    assert.match(e.message, /chain_revoked/, `the call ended otherwise after ${took} ms: ${e.message}`);
    assert.ok(took < 3000, `the call was aborted ${took} ms after the revocation`);
    console.log(`# aborted ${took} ms after the revocation, the pool's connection still waiting on the lock`);

    // The lock goes: the waiting decision goes on.
    sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'recheck-test locker'`);
    const r = await stuck;
    assert.ok(!(r instanceof Error) && !r.isError, `the call behind the lock: ${r?.message ?? JSON.stringify(r)}`);
  } finally {
    await victim.close().catch(() => {});
    await other.close().catch(() => {});
  }
});

// Any database login may NOTIFY warden_events. A payload whose kind is not a string must not
// cost the listener its connection, and "servers" notices (which reload the upstreams) must not
// make the re-check connection anew: only the listener's own reconnect does that.
test('notices from any login: a kind that is not a string, and a burst of "servers", leave the listener and the re-check connection alone', async () => {
  // This gateway's connections (the only gateway on the test database), by name and pid.
  const pids = () => sql(`SELECT application_name, pid FROM pg_stat_activity WHERE usename = 'warden_gateway'
      AND datname = current_database() ORDER BY backend_start`).map(([name, pid]) => `${name || '-'}:${pid}`);
  const listener = () => pids().filter((p) => p.startsWith('warden-mcp listener:'));
  const before = pids();
  assert.equal(listener().length, 1, before.join(' '));
  sql(`SELECT pg_notify('warden_events', '{"kind": 1}'), pg_notify('warden_events', '{"kind": ["x"]}')`);
  for (let i = 0; i < 20; i++) sql(`SELECT pg_notify('warden_events', '{"kind": "servers"}')`);
  await new Promise((res) => setTimeout(res, 1500));
  const after = pids();
  assert.deepEqual(after.filter((p) => before.includes(p)), before, `connections replaced: ${before.join(' ')} -> ${after.join(' ')}`);
  assert.doesNotMatch(gateway.log.join(''), /lost the database/);
});
