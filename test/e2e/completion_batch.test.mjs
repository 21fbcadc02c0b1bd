// warden-mcp writes call outcomes (warden.complete) in batches when they arrive faster than one
// transaction each can commit (src/frontend/db/completion_batch.cpp). Checked here: under 16
// concurrent agents every allowed call still gets exactly one completion with its own status,
// and some completions really did share a transaction (their rows' xmin); one agent calling
// alone gets its completions one transaction each, as before; an upstream whose error message
// holds U+0000 (which jsonb refuses) cannot keep its call's outcome out of the audit trail, nor
// spoil the outcomes batched with it; at SIGTERM the gateway writes the outcomes still queued
// before it exits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  freshDatabase, modules, quote, replaceComplete, restoreComplete, settled, sql, sqlValue, startFailingUpstream,
  startGateway, stop,
} from './harness.mjs';

let gateway, url, nulUpstream;

before(async () => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('batch-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.grant('batch-bot', 'everything/echo');`);
  nulUpstream = await startFailingUpstream('broken\u0000upstream');
  sql(`SELECT warden.add_server('nul', 'http://127.0.0.1:${nulUpstream.address().port}/mcp', 'http');
       SELECT warden.grant('batch-bot', 'nul/fail');`);
  gateway = await startGateway();
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => { stop(gateway?.child); nulUpstream?.close(); });

async function connect(purpose, at = url) {
  const token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'batch-bot', ${quote(purpose)})`);
  const c = new Client({ name: 'warden-batch', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(at), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return c;
}

// Allowed calls of the chains whose purpose starts with `prefix`, and their completions.
function outcomes(prefix) {
  const [calls, completed, missing, doubled, transactions] = sql(`
    WITH calls AS (
      SELECT e.event_id FROM warden.events e JOIN warden.chains c ON c.chain_id = e.chain_id
      WHERE e.kind = 'call' AND e.allowed AND c.purpose LIKE ${quote(`${prefix}%`)}),
    done AS (
      SELECT d.parent_id, d.reason, d.xmin::text AS xid FROM warden.events d
      WHERE d.kind = 'completed' AND d.parent_id IN (SELECT event_id FROM calls))
    SELECT (SELECT count(*) FROM calls),
           (SELECT count(*) FROM done WHERE reason = 'ok'),
           (SELECT count(*) FROM calls WHERE event_id NOT IN (SELECT parent_id FROM done)),
           (SELECT count(*) FROM (SELECT parent_id FROM done GROUP BY 1 HAVING count(*) > 1) s),
           (SELECT count(DISTINCT xid) FROM done)`)[0].map(Number);
  return { calls, completed, missing, doubled, transactions };
}

test('16 agents at once: every call completed once, and completions share transactions', async () => {
  const clients = await Promise.all(Array.from({ length: 16 }, (_, i) => connect(`batch ${i}`)));
  try {
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < 25; k++) {
        const r = await c.callTool({ name: 'everything__echo', arguments: { message: `b ${i} ${k}` } });
        assert.ok(!r.isError && JSON.stringify(r.content).includes(`b ${i} ${k}`));
      }
    }));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
  const o = await settled(() => outcomes('batch '), (v) => v.completed === 400, 10000);
  console.log(`# 16 agents: ${o.calls} calls, ${o.completed} completed ok in ${o.transactions} transactions`);
  assert.equal(o.calls, 400);
  assert.equal(o.completed, 400);
  assert.equal(o.missing, 0);
  assert.equal(o.doubled, 0);
  assert.ok(o.transactions < o.completed, `no two completions shared a transaction (${o.transactions} for ${o.completed})`);
});

test('one agent alone: one transaction per completion', async () => {
  const c = await connect('alone');
  try {
    for (let k = 0; k < 20; k++) {
      await c.callTool({ name: 'everything__echo', arguments: { message: `a ${k}` } });
      // The outcome is written just after the answer: wait for it, so that nothing queues.
      await settled(() => outcomes('alone').completed, (n) => n === k + 1);
    }
  } finally {
    await c.close().catch(() => {});
  }
  const o = outcomes('alone');
  assert.deepEqual([o.calls, o.completed, o.transactions], [20, 20, 20]);
});

test('an upstream error holding U+0000: the outcome is recorded, and so are those batched with it', async () => {
  const clients = await Promise.all(Array.from({ length: 16 }, (_, i) => connect(`nul ${i}`)));
  try {
    await Promise.all(clients.map(async (c, i) => {
      for (let k = 0; k < 10; k++) {
        if (k % 2 === 0) {
          const r = await c.callTool({ name: 'nul__fail', arguments: {} }).then((x) => x, (e) => e);
          assert.ok(r instanceof Error || r.isError, `the failing tool answered ${JSON.stringify(r)}`);
        } else {
          await c.callTool({ name: 'everything__echo', arguments: { message: `n ${i} ${k}` } });
        }
      }
    }));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
  const o = await settled(() => outcomes('nul '), (v) => v.missing === 0, 10000);
  assert.equal(o.calls, 160);
  assert.equal(o.missing, 0, `${o.missing} of ${o.calls} calls have no outcome`);
  assert.equal(o.doubled, 0);
  assert.equal(o.completed, 80);
  const failed = sql(`SELECT count(*), bool_and(d.detail->>'error' = 'broken\uFFFDupstream')
    FROM warden.events d JOIN warden.events p ON p.event_id = d.parent_id
    WHERE d.kind = 'completed' AND p.tool = 'fail' AND d.reason = 'error'`)[0];
  assert.deepEqual(failed, ['80', 't']);
});

test('SIGTERM with outcomes still queued: they are written before the gateway exits', async () => {
  const g = await startGateway();
  const at = `http://127.0.0.1:${g.match[1]}/mcp`;
  const c = await connect('drain', at);
  await c.callTool({ name: 'everything__echo', arguments: { message: 'warm-up' } });
  await settled(() => outcomes('drain').completed, (n) => n === 1);
  // Each outcome now takes 0.3 s to write: two are being written and four queue behind them
  // when the gateway is told to stop.
  replaceComplete({ body: 'PERFORM pg_sleep(0.3);' });
  let exited;
  try {
    await Promise.all(Array.from({ length: 6 }, (_, k) =>
      c.callTool({ name: 'everything__echo', arguments: { message: `d ${k}` } })));
    const t0 = Date.now();
    exited = new Promise((resolve) => g.child.on('exit', () => resolve(Date.now() - t0)));
    g.child.kill('SIGTERM');
    const took = await exited;
    assert.ok(took < 6000, `the gateway took ${took} ms to exit`);
  } finally {
    await c.close().catch(() => {});
    if (g.child.exitCode === null) g.child.kill('SIGKILL');
    restoreComplete();
  }
  const o = outcomes('drain');
  assert.deepEqual([o.calls, o.completed, o.missing], [7, 7, 0], `after SIGTERM: ${JSON.stringify(o)}`);
  assert.match(g.log.join(''), /writing \d+ call outcome\(s\) before exiting/);
});
