// warden-mcp prepares each statement once per connection under a name of its own and then only
// binds and executes it; --prepared-statements off (for a pooler in transaction mode) runs every
// statement unnamed. Seen from the server: with log_statement = 'all' for the gateway's role in
// this database, PostgreSQL logs each execution as "execute <name>: <statement>", where the
// name is "<unnamed>" for a statement parsed anew.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { database, freshDatabase, modules, quote, sql, sqlValue, startGateway, stop } from './harness.mjs';

// scripts/pg starts the server with its log here (PGHOST is the run folder beside it).
const serverLog = path.join(path.dirname(process.env.PGHOST), 'log', 'postgres.log');
let token;

before(() => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('prepared-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.grant('prepared-bot', 'everything/echo');
       ALTER ROLE warden_gateway IN DATABASE ${database} SET log_statement = 'all';`);
  token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'prepared-bot', 'prepared')`);
});

after(() => sql(`ALTER ROLE warden_gateway IN DATABASE ${database} RESET log_statement`));

// Three calls through a gateway with one pool connection and `args`; returns the names the
// server logged the executions of warden.authorize under, in order.
async function decisionsLoggedAs(args) {
  const from = fs.statSync(serverLog).size;
  const g = await startGateway(['--pool', '1', ...args]);
  const c = new Client({ name: 'warden-prepared', version: '1.0.0' });
  try {
    await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${g.match[1]}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    for (let i = 0; i < 3; i++) {
      const r = await c.callTool({ name: 'everything__echo', arguments: { message: `m ${i}` } });
      assert.ok(!r.isError, JSON.stringify(r));
    }
  } finally {
    await c.close().catch(() => {});
    stop(g.child);
  }
  const fd = fs.openSync(serverLog, 'r');
  const buffer = Buffer.alloc(fs.statSync(serverLog).size - from);
  fs.readSync(fd, buffer, 0, buffer.length, from);
  fs.closeSync(fd);
  const lines = buffer.toString('utf8').split('\n')
    .filter((l) => l.includes(`warden_gateway@${database} `));
  return lines.map((l) => l.match(/LOG: {2}execute ([^:]+): SELECT allowed, .* FROM warden\.authorize\(/))
    .filter(Boolean).map((m) => m[1]);
}

test('statements are prepared once per connection, under a name; --prepared-statements off runs them unnamed', async () => {
  const prepared = await decisionsLoggedAs([]);
  assert.equal(prepared.length, 3, `decisions logged: ${JSON.stringify(prepared)} (log: ${serverLog})`);
  assert.match(prepared[0], /^warden_[0-9a-f]+_\d+$/);
  assert.deepEqual(new Set(prepared).size, 1, `one name for the three: ${JSON.stringify(prepared)}`);

  const unprepared = await decisionsLoggedAs(['--prepared-statements', 'off']);
  assert.deepEqual(unprepared, ['<unnamed>', '<unnamed>', '<unnamed>']);
});
