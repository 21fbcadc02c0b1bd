// warden-mcp prepares each statement it runs once per database connection (PgConnection,
// --prepared-statements on|off). Checked here: a statement prepared before a schema change that
// alters its result type (as ALTER EXTENSION UPDATE may while the gateway runs) is refused by
// PostgreSQL with "cached plan must not change result type"; the gateway prepares it anew and
// runs it once more, so the call's outcome still reaches the audit trail, exactly once; with
// --prepared-statements off the gateway works the same; a bad value is refused at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  binary, freshDatabase, gatewayConninfo, modules, quote, replaceComplete, restoreComplete, settled, sql, sqlValue,
  startGateway, stop } from './harness.mjs';

const gateways = [];

before(() => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('prep-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.grant('prep-bot', 'everything/echo');`);
});

after(() => {
  for (const g of gateways) stop(g.child);
});

async function gateway(args) {
  const g = await startGateway(args);
  gateways.push(g);
  return `http://127.0.0.1:${g.match[1]}/mcp`;
}

async function connect(url) {
  const token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'prep-bot', 'prepared statements')`);
  const c = new Client({ name: 'warden-prepared', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return c;
}

// The outcomes recorded for the calls whose message starts with `prefix`: [status, count].
function outcomes(prefix) {
  return sql(`SELECT e.reason, count(*) FROM warden.events c JOIN warden.events e
                ON e.parent_id = c.event_id AND e.kind = 'completed'
              WHERE c.kind = 'call' AND c.arguments->>'message' LIKE ${quote(`${prefix}%`)}
              GROUP BY e.parent_id, e.reason ORDER BY 1`);
}

async function echo(c, message) {
  const r = await c.callTool({ name: 'everything__echo', arguments: { message } });
  assert.ok(!r.isError && JSON.stringify(r.content).includes(message), JSON.stringify(r));
}

test('a statement prepared before its result type changed is prepared anew: every outcome recorded once', async () => {
  // One connection, so the statement that goes stale is the one prepared before the change.
  const url = await gateway(['--pool', '1']);
  const c = await connect(url);
  try {
    for (let i = 0; i < 3; i++) await echo(c, `before ${i}`);
    assert.equal((await settled(() => outcomes('before '), (v) => v.length === 3)).length, 3);
    // warden.complete now returns text instead of uuid, through a wrapper that counts its calls.
    sql(`CREATE SEQUENCE public.wrapped_completions;
         GRANT USAGE ON SEQUENCE public.wrapped_completions TO PUBLIC;`);
    replaceComplete({ returns: 'text', body: "PERFORM nextval('public.wrapped_completions');", result: 'done::text' });
    for (let i = 0; i < 3; i++) await echo(c, `after ${i}`);
    const after = await settled(() => outcomes('after '), (v) => v.length === 3);
    assert.deepEqual(after.map((r) => r.join(' ')), ['ok 1', 'ok 1', 'ok 1'], `outcomes after the change: ${after}`);
    assert.equal(sqlValue('SELECT last_value FROM public.wrapped_completions'), '3',
      'the outcomes were not written through the changed function');
  } finally {
    await c.close().catch(() => {});
    restoreComplete();
    sql('DROP SEQUENCE public.wrapped_completions');
  }
  const log = gateways.at(-1).log.join('');
  assert.doesNotMatch(log, /cached plan|cannot record/i, log);
});

test('--prepared-statements off: calls decided and completed as with it on', async () => {
  const url = await gateway(['--prepared-statements', 'off']);
  const c = await connect(url);
  try {
    for (let i = 0; i < 3; i++) await echo(c, `unprepared ${i}`);
  } finally {
    await c.close().catch(() => {});
  }
  const done = await settled(() => outcomes('unprepared '), (v) => v.length === 3);
  assert.deepEqual(done.map((r) => r.join(' ')), ['ok 1', 'ok 1', 'ok 1']);
});

test('--prepared-statements takes on or off', () => {
  const r = spawnSync(binary, ['serve', '--db', gatewayConninfo(), '--listen', '127.0.0.1:0',
    '--prepared-statements', 'maybe'], { encoding: 'utf8', timeout: 10000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--prepared-statements takes on or off/);
});
