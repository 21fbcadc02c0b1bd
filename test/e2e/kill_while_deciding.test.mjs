// A kill that commits while a call is being decided stops that call before it goes out.
// Revocation takes no lock (a kill is never held off), so warden.authorize may read the token
// just before the kill commits and then commit an allowed decision after it. The re-check the
// kill's notice starts looks only at calls already in flight, and this one is not yet; so
// warden-mcp asks about a call's token once more before forwarding it whenever a re-check began
// while it was being decided (Gateway::recheck_before_sending).
//
// Here the decision is made slow on purpose: a trigger sleeps while authorize writes the
// call's event (after it has read the token), and the kill commits during that sleep. The
// upstream records every call it receives: the killed one must never reach it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freshDatabase, quote, settled, sql, sqlValue, startGateway, startToolUpstream, stop } from './harness.mjs';

let gateway, url, upstream;
const received = [];  // the markers of the tools/call requests the upstream received

// Its one tool, `work`, answers at once and records the call's marker.
function startRecordingUpstream() {
  return startToolUpstream(['work'], (params) => {
    received.push(params?.arguments?.marker);
    return { result: { content: [{ type: 'text', text: 'done' }] } };
  });
}

before(async () => {
  freshDatabase();
  upstream = await startRecordingUpstream();
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('deciding-bot', 'alice@example.com');
       SELECT warden.add_server('rec', 'http://127.0.0.1:${upstream.address().port}/mcp', 'http');
       SELECT warden.grant('deciding-bot', 'rec/work');
       -- Slows the decision of a call marked 'slow', after authorize has read the token.
       CREATE FUNCTION public.slow_decision() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.kind = 'call' AND NEW.arguments->>'marker' LIKE 'slow%' THEN
           PERFORM pg_sleep(1.5);
         END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER slow_decision BEFORE INSERT ON warden.events
         FOR EACH ROW EXECUTE FUNCTION public.slow_decision();`);
  gateway = await startGateway();
  url = `http://127.0.0.1:${gateway.match[1]}/mcp`;
});

after(() => { stop(gateway?.child); upstream?.close(); });

async function connect(purpose) {
  const [[chain, token]] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com',
      'deciding-bot', ${quote(purpose)})`);
  const c = new Client({ name: 'warden-deciding', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return { c, chain };
}

const work = (c, marker) => c.callTool({ name: 'rec__work', arguments: { marker } }, undefined,
  { timeout: 30000 }).then((r) => r, (e) => e);

// The decision of the call marked `marker` is sleeping inside warden.authorize.
const deciding = (marker) => settled(() => sqlValue(`SELECT count(*) FROM pg_stat_activity
    WHERE usename = 'warden_gateway' AND wait_event = 'PgSleep' AND query LIKE '%warden.authorize%'`),
(v) => v === '1', 10000);

test('the slow decision alone: the call goes out and is answered (the trigger only delays)', async () => {
  const { c } = await connect('control');
  try {
    const r = await work(c, 'slow control');
    assert.ok(!(r instanceof Error) && !r.isError, `the control call failed: ${r?.message ?? JSON.stringify(r)}`);
    assert.ok(received.includes('slow control'), 'the upstream did not receive the control call');
  } finally {
    await c.close().catch(() => {});
  }
});

test('a kill committed while the call is decided: the call never reaches the upstream and ends revoked', async () => {
  const { c, chain } = await connect('victim');
  try {
    const call = work(c, 'slow victim');
    assert.equal(await deciding('slow victim'), '1', 'the decision never slept in authorize');
    // Commits while authorize sleeps: the decision has already read the token as live.
    sql(`SELECT warden.kill(chain_id => ${quote(chain)}::uuid, reason => 'incident while deciding')`);
    const r = await call;
    const text = r instanceof Error ? r.message : JSON.stringify(r);
    assert.ok(r instanceof Error || r.isError, `the killed call was answered: ${text}`);
    assert.match(text, /revoked/, text);
    assert.ok(!received.includes('slow victim'), 'the upstream received the call killed while it was decided');
    // Audited: the decision committed (allowed), and its outcome says the call was revoked.
    const outcome = await settled(() => sqlValue(`SELECT coalesce(o.reason, '(none)') FROM warden.events p
        LEFT JOIN warden.events o ON o.parent_id = p.event_id AND o.kind = 'completed'
        WHERE p.kind = 'call' AND p.allowed AND p.arguments->>'marker' = 'slow victim'`),
    (v) => v === 'revoked');
    assert.equal(outcome, 'revoked');
  } finally {
    await c.close().catch(() => {});
  }
});
