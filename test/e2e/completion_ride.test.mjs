// Issue 18: a call's outcome (warden.complete) rides in the next decision's transaction, one
// commit for both (src/frontend/db/completion_batch.hpp, Decisions::decide), and a short call's
// whole answer leaves in one write (src/frontend/net/http_server.cpp, write_event_stream).
// Checked here:
// - back-to-back calls put outcomes in the transactions of later decisions;
//   --completion-linger-ms 0 puts none there;
// - an outcome with a large detail (an upstream's long error) never rides;
// - an outcome that fails in a decision's transaction costs that decision nothing (it is
//   decided again, alone), nor its own record (written again, alone);
// - a decision that fails, or a transaction that fails at its commit, does not take the
//   outcomes riding with it down (each is written again, alone);
// - on the wire, a quick call's head, event and end of body come in one piece, and a call
//   longer than the head's hold shows its stream after about a second, before its answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  freshDatabase, here, modules, quote, replaceComplete, restoreComplete, settled, sql, sqlValue, startFailingUpstream,
  startGateway, stop,
} from './harness.mjs';

const gateways = [];
let bigUpstream, jwtUpstream;

before(async () => {
  freshDatabase();
  bigUpstream = await startFailingUpstream('x'.repeat(20000));
  const everything = `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js stdio`;
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('ride-bot', 'alice@example.com');
       SELECT warden.add_server('everything', ${quote(everything)}, 'stdio');
       SELECT warden.add_server('faults', ${quote(`node ${path.join(here, 'fixture-faults.mjs')}`)}, 'stdio');
       SELECT warden.grant('ride-bot', 'everything/echo');
       SELECT warden.grant('ride-bot', 'faults/sleep');
       CREATE SEQUENCE public.complete_attempts;`);
  sql(`SELECT warden.add_server('big', 'http://127.0.0.1:${bigUpstream.address().port}/mcp', 'http');
       SELECT warden.grant('ride-bot', 'big/fail');`);
  // An upstream that takes a credential minted per call (a JWT, vended with the decision).
  jwtUpstream = await startFailingUpstream('refused');
  sql(`SELECT warden.add_server('minted', 'http://127.0.0.1:${jwtUpstream.address().port}/mcp', 'http',
                                '{"kind": "jwt", "ttl_seconds": 30}');
       SELECT warden.grant('ride-bot', 'minted/fail');`);
});

after(() => { for (const g of gateways) stop(g.child); bigUpstream?.close(); jwtUpstream?.close(); });

async function gateway(args = []) {
  const g = await startGateway(args);
  gateways.push(g);
  return { g, url: `http://127.0.0.1:${g.match[1]}/mcp` };
}

async function connect(url, purpose) {
  const token = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'ride-bot', ${quote(purpose)})`);
  const c = new Client({ name: 'warden-ride', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return { c, token };
}

const echo = (c, marker) => c.callTool({ name: 'everything__echo', arguments: { message: marker, marker } });

// Of the allowed calls of chains whose purpose is `purpose`: how many there are, how many have
// one outcome, and how many outcomes were committed by the transaction of another call's decision.
function rides(purpose) {
  const [calls, completed, rode] = sql(`
    WITH calls AS (
      SELECT e.event_id, e.xmin::text AS xid FROM warden.events e JOIN warden.chains c ON c.chain_id = e.chain_id
      WHERE e.kind = 'call' AND e.allowed AND c.purpose = ${quote(purpose)}),
    done AS (
      SELECT d.parent_id, d.xmin::text AS xid FROM warden.events d
      WHERE d.kind = 'completed' AND d.parent_id IN (SELECT event_id FROM calls))
    SELECT (SELECT count(*) FROM calls), (SELECT count(DISTINCT parent_id) FROM done),
           (SELECT count(*) FROM done d WHERE EXISTS (
              SELECT 1 FROM calls n WHERE n.xid = d.xid AND n.event_id <> d.parent_id))`)[0].map(Number);
  return { calls, completed, rode };
}

// The outcome ('completed' reason) of the call whose arguments hold `marker`; '(none)' if none.
const outcomeOf = (marker) => sqlValue(`SELECT coalesce(c.reason, '(none)') FROM warden.events p
    LEFT JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
    WHERE p.kind = 'call' AND p.arguments->>'marker' = ${quote(marker)}`);

test('back-to-back calls: outcomes ride in later decisions\' transactions; --completion-linger-ms 0: none do', async () => {
  // A long linger, so that the next call always comes within it on a busy machine.
  const riding = await gateway(['--completion-linger-ms', '200']);
  const alone = await gateway(['--completion-linger-ms', '0']);
  for (const [at, purpose] of [[riding.url, 'ride on'], [alone.url, 'ride off']]) {
    const { c } = await connect(at, purpose);
    try {
      for (let k = 0; k < 12; k++) await echo(c, `${purpose} ${k}`);
    } finally {
      await c.close().catch(() => {});
    }
  }
  const on = await settled(() => rides('ride on'), (v) => v.completed === 12);
  const off = await settled(() => rides('ride off'), (v) => v.completed === 12);
  console.log(`# linger 200 ms: ${on.rode} of ${on.completed} outcomes rode; linger 0: ${off.rode}`);
  assert.deepEqual([on.calls, on.completed], [12, 12]);
  assert.deepEqual([off.calls, off.completed], [12, 12]);
  // The last call's outcome has no later call to ride with; all 11 others do.
  assert.equal(on.rode, 11, `only ${on.rode} of 11 outcomes rode with the next decision`);
  assert.equal(off.rode, 0);
});

// The credential is asked for behind the decision and its riding outcomes, in a transaction of
// its own once they have committed. Were it in theirs, warden.credential_for_last_decision would
// refuse the decision as not committed, every ride would roll back, and each decision be made
// twice (each outcome then written alone).
test('calls to an upstream that takes a credential: outcomes ride too, one decision and one credential per call', async () => {
  const riding = await gateway(['--completion-linger-ms', '200']);
  const { c } = await connect(riding.url, 'ride credential');
  try {
    for (let k = 0; k < 8; k++) {
      const r = await c.callTool({ name: 'minted__fail', arguments: { marker: `minted ${k}` } }).then((x) => x, (e) => e);
      // The upstream answers every call with its error: the call went out, credential and all.
      assert.match(r instanceof Error ? r.message : JSON.stringify(r), /refused/);
    }
  } finally {
    await c.close().catch(() => {});
  }
  const v = await settled(() => rides('ride credential'), (x) => x.completed === 8);
  const vended = sqlValue(`SELECT count(*) FROM warden.events e JOIN warden.chains c USING (chain_id)
      WHERE e.kind = 'credential_vended' AND c.purpose = 'ride credential'`);
  console.log(`# credentialed calls: ${v.rode} of ${v.completed} outcomes rode; ${vended} credentials vended`);
  assert.deepEqual([v.calls, v.completed, vended], [8, 8, '8']);
  assert.equal(v.rode, 7, `only ${v.rode} of 7 outcomes rode with a credentialed decision`);
});

test('an outcome with a detail over 16 KiB does not ride with the next decision; a small one does', async () => {
  const { url } = await gateway(['--completion-linger-ms', '200']);
  const { c } = await connect(url, 'big');
  try {
    const r = await c.callTool({ name: 'big__fail', arguments: { marker: 'big' } }).then((x) => x, (e) => e);
    assert.ok(r instanceof Error || r.isError, `the failing tool answered ${JSON.stringify(r)}`);
    await echo(c, 'after big');
    await echo(c, 'after after big');
  } finally {
    await c.close().catch(() => {});
  }
  assert.equal(await settled(() => outcomeOf('big'), (v) => v === 'error'), 'error');
  const [[bigLength, bigRode, smallRode]] = sql(`
    WITH o AS (SELECT p.arguments->>'marker' AS marker, c.xmin::text AS xid, length(c.detail->>'error') AS len
               FROM warden.events p JOIN warden.events c ON c.parent_id = p.event_id AND c.kind = 'completed'
               WHERE p.kind = 'call'),
         d AS (SELECT xmin::text AS xid FROM warden.events WHERE kind = 'call')
    SELECT (SELECT len FROM o WHERE marker = 'big'),
           (SELECT count(*) FROM o WHERE marker = 'big' AND xid IN (SELECT xid FROM d)),
           (SELECT count(*) FROM o WHERE marker = 'after big' AND xid IN (SELECT xid FROM d))`);
  assert.equal(bigLength, '20000', 'the long error was not recorded whole');
  assert.equal(bigRode, '0', 'the outcome with a 20 kB detail rode with a decision');
  assert.equal(smallRode, '1', 'the small outcome after it did not ride (the test proves nothing)');
});

test('an outcome that fails in a decision\'s transaction: the decision is made again alone; the outcome is written alone', async () => {
  const { g, url } = await gateway(['--completion-linger-ms', '200']);
  const { c } = await connect(url, 'poison');
  await echo(c, 'poison warm-up');
  await settled(() => outcomeOf('poison warm-up'), (v) => v === 'ok');
  // The outcome of the call marked 'poison' fails the first time it is written (it then rides
  // with the next decision), and succeeds the second time (alone).
  replaceComplete({ body: `
    IF (SELECT e.arguments->>'marker' FROM warden.events e WHERE e.event_id = complete.event_id) = 'poison'
       AND nextval('public.complete_attempts') = 1 THEN
      RAISE EXCEPTION 'poisoned outcome' USING ERRCODE = 'P0001';
    END IF;` });
  try {
    await echo(c, 'poison');
    const next = await echo(c, 'after poison');
    assert.ok(!next.isError, `the decision that carried the failing outcome failed: ${JSON.stringify(next)}`);
    assert.equal(next.content[0].text, 'Echo: after poison');
    assert.equal(await settled(() => outcomeOf('poison'), (v) => v === 'ok'), 'ok');
    assert.equal(await settled(() => outcomeOf('after poison'), (v) => v === 'ok'), 'ok');
    // Once riding (rolled back with the decision's first attempt), once alone.
    assert.equal(sqlValue(`SELECT last_value FROM public.complete_attempts`), '2');
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'
                           AND arguments->>'marker' = 'after poison'`), '1');
  } finally {
    await c.close().catch(() => {});
    restoreComplete();
  }
  assert.doesNotMatch(g.log.join(''), /cannot record the outcome/);
});

test('a decision that fails: the outcomes riding with it are written again alone', async () => {
  const { url } = await gateway(['--completion-linger-ms', '200']);
  const { c } = await connect(url, 'explode');
  await echo(c, 'explode warm-up');
  await settled(() => outcomeOf('explode warm-up'), (v) => v === 'ok');
  sql(`SELECT setval('public.complete_attempts', 1, false);
       CREATE SEQUENCE public.explode_runs;
       GRANT USAGE ON SEQUENCE public.explode_runs TO PUBLIC;
       CREATE FUNCTION public.explode() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.kind = 'call' AND NEW.arguments->>'marker' = 'explode' THEN
           PERFORM nextval('public.explode_runs');  -- not undone by the error below
           RAISE EXCEPTION 'this decision explodes' USING ERRCODE = 'P0001';
         END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER explode BEFORE INSERT ON warden.events FOR EACH ROW EXECUTE FUNCTION public.explode();`);
  replaceComplete({ body: `PERFORM nextval('public.complete_attempts');` });
  try {
    await echo(c, 'before explode');
    const failed = await echo(c, 'explode').then((x) => x, (e) => e);
    assert.ok(failed instanceof Error || failed.isError, `the exploding decision was answered: ${JSON.stringify(failed)}`);
    assert.match(failed.message ?? JSON.stringify(failed), /could not decide/);
    assert.equal(await settled(() => outcomeOf('before explode'), (v) => v === 'ok'), 'ok');
    // Its outcome rode with the failing decision, after it: skipped when the decision failed,
    // then written alone, once. (Carried before the decision it would have run twice. The order
    // matters: warden.authorize runs first in every pipeline, so the
    // warden.credential_for_last_decision behind it can only meet this decision, never an
    // earlier one of the same connection when the ride fails.)
    assert.equal(sqlValue(`SELECT last_value FROM public.complete_attempts`), '1');
    assert.equal(outcomeOf('explode'), undefined, 'the failing decision left an event');
    // The decision's own error is its answer: it is not made a second time alone (only an
    // outcome's failure or the commit's makes the decision go again).
    assert.equal(sqlValue(`SELECT last_value FROM public.explode_runs`), '1', 'the failing decision ran more than once');
  } finally {
    await c.close().catch(() => {});
    restoreComplete();
    sql(`DROP TRIGGER explode ON warden.events; DROP FUNCTION public.explode();
         DROP SEQUENCE public.explode_runs;`);
  }
});

test('an outcome retried after a transient error is written alone, never with a decision', async () => {
  const { g, url } = await gateway(['--completion-linger-ms', '200']);
  const { c } = await connect(url, 'retry');
  await echo(c, 'retry warm-up');
  await settled(() => outcomeOf('retry warm-up'), (v) => v === 'ok');
  // The outcome of the call marked 'retry' meets a serialization failure three times: riding
  // with the next decision, then alone, then at the gateway's first retry (100 ms later); the
  // second retry (200 ms after that) succeeds. Decisions keep coming meanwhile: a retry must not
  // ride (it could spoil, or wait on a lock inside, another agent's decision), so the row is in
  // no decision's transaction.
  sql(`SELECT setval('public.complete_attempts', 1, false);`);
  replaceComplete({ body: `
    IF (SELECT e.arguments->>'marker' FROM warden.events e WHERE e.event_id = complete.event_id) = 'retry'
       AND nextval('public.complete_attempts') <= 3 THEN
      RAISE EXCEPTION 'transient' USING ERRCODE = '40001';
    END IF;` });
  try {
    await echo(c, 'retry');
    // Calls back to back for the whole time the retries take (about 300 ms): a decision is
    // there for a retry to ride with, were it allowed to (it would wait up to the linger, 200 ms).
    let follows = 0;
    for (const until = Date.now() + 1500; Date.now() < until; follows++) {
      await echo(c, `retry follow ${follows}`);
    }
    assert.equal(await settled(() => outcomeOf('retry'), (v) => v === 'ok'), 'ok');
    assert.equal(sqlValue(`SELECT last_value FROM public.complete_attempts`), '4', 'attempts');
    const rodeWith = sqlValue(`SELECT count(*) FROM warden.events d JOIN warden.events p ON p.event_id = d.parent_id
        JOIN warden.events n ON n.kind = 'call' AND n.xmin = d.xmin AND n.event_id <> p.event_id
        WHERE d.kind = 'completed' AND p.arguments->>'marker' = 'retry'`);
    assert.equal(rodeWith, '0', 'the retried outcome was committed with a decision');
    // The follow-up calls' own outcomes did ride meanwhile (so decisions were there to take one).
    assert.ok(rides('retry').rode > 0, `no outcome rode during the test (${follows} follow-up calls)`);
  } finally {
    await c.close().catch(() => {});
    restoreComplete();
  }
  assert.doesNotMatch(g.log.join(''), /cannot record the outcome/);
});

test('an error at the commit of a decision\'s transaction: the decision is made again alone, the outcome written alone', async () => {
  const { url } = await gateway(['--completion-linger-ms', '200']);
  const { c } = await connect(url, 'deferred');
  await echo(c, 'deferred warm-up');
  await settled(() => outcomeOf('deferred warm-up'), (v) => v === 'ok');
  // A check deferred to the commit, failing the first outcome of the call marked 'deferred':
  // the statements all succeed, and the transaction fails only at its end.
  sql(`SELECT setval('public.complete_attempts', 1, false);
       -- SECURITY DEFINER: at the commit, the trigger runs as the gateway's own login.
       CREATE FUNCTION public.deferred_check() RETURNS trigger LANGUAGE plpgsql
         SECURITY DEFINER SET search_path = pg_catalog AS $$
       BEGIN
         IF NEW.kind = 'completed' AND (SELECT p.arguments->>'marker' FROM warden.events p
                                        WHERE p.event_id = NEW.parent_id) = 'deferred'
            AND nextval('public.complete_attempts') = 1 THEN
           RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'P0001';
         END IF;
         RETURN NULL;
       END $$;
       CREATE CONSTRAINT TRIGGER deferred_check AFTER INSERT ON warden.events
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.deferred_check();`);
  try {
    await echo(c, 'deferred');
    const next = await echo(c, 'after deferred');
    assert.ok(!next.isError, `the decision whose commit failed was not made again: ${JSON.stringify(next)}`);
    assert.equal(await settled(() => outcomeOf('deferred'), (v) => v === 'ok'), 'ok');
    assert.equal(await settled(() => outcomeOf('after deferred'), (v) => v === 'ok'), 'ok');
    // Once at the commit of the decision's transaction (refused), once alone.
    assert.equal(sqlValue(`SELECT last_value FROM public.complete_attempts`), '2');
    assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE kind = 'call'
                           AND arguments->>'marker' = 'after deferred'`), '1');
  } finally {
    await c.close().catch(() => {});
    sql(`DROP TRIGGER deferred_check ON warden.events; DROP FUNCTION public.deferred_check();`);
  }
});

// One tools/call on a raw connection, in the session the SDK client opened: each piece of bytes
// as it arrived, with the time since the request was sent.
async function rawCall(url, token, sessionId, name, args) {
  const { port } = new URL(url);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name, arguments: args } });
  const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
  await new Promise((res, rej) => { socket.once('connect', res); socket.once('error', rej); });
  socket.setNoDelay(true);
  const pieces = [];
  const t0 = Date.now();
  const done = new Promise((resolve) => {
    socket.on('data', (d) => {
      pieces.push({ at: Date.now() - t0, text: d.toString('utf8') });
      if (pieces.map((p) => p.text).join('').endsWith('0\r\n\r\n')) resolve();
    });
    socket.on('close', resolve);
  });
  socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n`
    + `Mcp-Session-Id: ${sessionId}\r\nMcp-Protocol-Version: 2025-06-18\r\n`
    + 'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  await done;
  socket.destroy();
  return pieces;
}

test('on the wire: a quick call\'s answer comes in one piece; a slow call shows its stream after about a second', async () => {
  const { url } = await gateway();
  const { c, token } = await connect(url, 'wire');
  try {
    await c.listTools();  // starts both upstreams
    const sessionId = c.transport.sessionId;
    for (let k = 0; k < 5; k++) {
      const pieces = await rawCall(url, token, sessionId, 'everything__echo', { message: `wire ${k}` });
      assert.equal(pieces.length, 1, `the answer came in ${pieces.length} pieces: ${JSON.stringify(pieces)}`);
      const [text] = [pieces[0].text];
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /content-type: text\/event-stream/i);
      assert.match(text, /"text":"Echo: wire \d"/);
      assert.ok(text.endsWith('\r\n0\r\n\r\n'), `no end of body in ${JSON.stringify(text)}`);
    }
    const slow = await rawCall(url, token, sessionId, 'faults__sleep', { ms: 2500 });
    console.log(`# slow call: pieces at ${slow.map((p) => p.at).join(', ')} ms`);
    assert.ok(slow.length >= 2, `the slow call came in ${slow.length} piece(s)`);
    assert.match(slow[0].text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(slow[0].text, /slept 2500/);
    assert.ok(slow[0].at >= 900 && slow[0].at < 2000, `the head came after ${slow[0].at} ms`);
    const all = slow.map((p) => p.text).join('');
    assert.match(all, /slept 2500/);
    assert.ok(all.endsWith('\r\n0\r\n\r\n'));
  } finally {
    await c.close().catch(() => {});
  }
});
