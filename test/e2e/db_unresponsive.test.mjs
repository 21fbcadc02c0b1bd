// A database that stops answering without closing the connection (a network partition that
// drops packets): warden-mcp gives up on an exchange that has had no answer for 20 s
// (DbPool::kAnswerTimeout), fails the call closed instead of holding the agent for the minutes
// TCP would take, and works again through new connections once the database answers. Its
// LISTEN connection, idle and cut the same way, is noticed and replaced too (db_listener.cpp),
// so a revocation made after the partition still aborts the call in flight.
// The gateway reaches PostgreSQL through a TCP relay in this test that can freeze: it stops
// passing bytes either way on the connections it holds, and holds new ones unanswered; when it
// thaws, the held new ones are relayed (as a healed network lets a connection attempt through)
// and the frozen ones stay frozen (their server-side state is gone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  database, freshDatabase, here, modules, quote, sql, sqlValue, startGateway, stop,
} from './harness.mjs';

let relay, gateway, url;
let frozen = false;
const held = [];  // [client socket, server socket] of every relayed connection

// Passes `client` on to PostgreSQL; remembered in `held`.
function relayToDatabase(client) {
  const upstream = net.connect(path.join(process.env.PGHOST, `.s.PGSQL.${process.env.PGPORT}`));
  held.push([client, upstream]);
  client.pipe(upstream);
  upstream.pipe(client);
  const end = () => { client.destroy(); upstream.destroy(); };
  client.on('error', end);
  upstream.on('error', end);
  client.on('close', end);
  upstream.on('close', end);
}

const waiting = [];  // connections accepted while frozen, not yet relayed

function startRelay() {
  const server = net.createServer((client) => {
    if (frozen) { waiting.push(client); return; }
    relayToDatabase(client);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function freeze() {
  frozen = true;
  for (const [client, upstream] of held) {
    client.unpipe();
    upstream.unpipe();
    client.pause();
    upstream.pause();
  }
}

function thaw() {
  frozen = false;  // new connections are relayed again; the frozen ones stay frozen
  for (const client of waiting.splice(0)) relayToDatabase(client);
}

before(async () => {
  freshDatabase();
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('partition-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.add_server('faults', ${quote(`node ${path.join(here, 'fixture-faults.mjs')}`)}, 'stdio');
       SELECT warden.grant('partition-bot', 'everything/echo');
       SELECT warden.grant('partition-bot', 'faults/hang');`);
  relay = await startRelay();
  gateway = await startGateway(['--db', `host=127.0.0.1 port=${relay.address().port} dbname=${database} user=warden_gateway`,
    '--pool', '2']);
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => {
  stop(gateway?.child);
  for (const [client, upstream] of held) { client.destroy(); upstream.destroy(); }
  for (const client of waiting) client.destroy();
  relay?.close();
});

test('a database that stops answering: the call fails closed within the answer timeout, and service comes back', async () => {
  const token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'partition-bot', 'partition')`);
  const c = new Client({ name: 'warden-partition', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  try {
    const ok = await c.callTool({ name: 'everything__echo', arguments: { message: 'before' } });
    assert.ok(!ok.isError, JSON.stringify(ok));
    freeze();
    const t0 = Date.now();
    const r = await c.callTool({ name: 'everything__echo', arguments: { message: 'during' } }, undefined,
      { timeout: 60000 }).then((x) => x, (e) => e);
    const took = Date.now() - t0;
    const said = r instanceof Error ? r.message : JSON.stringify(r);
    assert.match(said, /unavailable; nothing was forwarded \(the database did not answer within 20 s\)/,
      `the call was not failed closed by the gateway: ${said}`);
    assert.ok(took >= 15000 && took < 40000, `failed after ${took} ms`);
    console.log(`# the call failed closed after ${took} ms: ${said}`);
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call' AND arguments->>'message' = 'during'`), '0');
    thaw();
    // The pool reconnects (through the relay, which now relays new connections) after its backoff.
    let again;
    for (let i = 0; i < 20; i++) {
      again = await c.callTool({ name: 'everything__echo', arguments: { message: 'after' } }).then((x) => x, (e) => e);
      if (!(again instanceof Error) && !again.isError) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.ok(!(again instanceof Error) && !again.isError, `no service after the database answered again: ${again?.message ?? JSON.stringify(again)}`);
  } finally {
    await c.close().catch(() => {});
  }
});

// Runs after the partition above healed: the gateway's LISTEN connection froze with the others,
// idle, so nothing told the gateway it was gone; only asking the server something shows it.
// Without that, the revocation's notification is never heard and the call hangs until its
// timeout (60 s).
test('after the partition, revoking a chain still aborts its call in flight: the silent LISTEN connection was replaced', async () => {
  const [[chain, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'partition-bot', 'after the partition')`);
  const c = new Client({ name: 'warden-partition-listen', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  try {
    // Give the listener the time it needs to notice (5 s quiet, 10 s for an answer, 1 s tick),
    // counted from the freeze; the test above already spent most of it.
    await new Promise((res) => setTimeout(res, 2000));
    const call = c.callTool({ name: 'faults__hang', arguments: {} }, undefined, { timeout: 90000 })
      .then(() => null, (e) => e);
    await new Promise((res) => setTimeout(res, 500));
    const t0 = Date.now();
    sql(`SELECT warden.revoke_chain(${quote(chain)}, 'after the partition')`);
    // Bounded here, within the file's --test-timeout, so that a failure says why.
    const e = await Promise.race([call, new Promise((res) => setTimeout(
      () => res(new Error(`not aborted within 20 s; the gateway said:\n${gateway.log.join('').slice(-1500)}`)), 20000))]);
    const took = Date.now() - t0;
    assert.ok(e, 'the hung call answered');
    assert.match(e.message, /chain_revoked/, `the call ended otherwise after ${took} ms: ${e.message}`);
    assert.ok(took < 20000, `the call was aborted ${took} ms after the revocation`);
    console.log(`# the call in flight was aborted ${took} ms after the revocation`);
    assert.match(gateway.log.join(''), /lost the database: the database did not answer the listener within 10 s/);
  } finally {
    await c.close().catch(() => {});
  }
});
