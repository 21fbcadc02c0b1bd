// Issue 17: --export splunk-hec:URL. The HEC token comes from the vault (stored sealed with
// `warden-mcp secret put --export splunk-hec`, never in argv or the environment); a fixture HEC
// started here checks it. kill -9 mid-export, restart: every event delivered, duplicates only
// by event id. A rotated token (401) is read again; a 400 for one event does not stall the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { binary, database, freshDatabase, gatewayConninfo, quote, sql, sqlValue, startGateway, stop } from './harness.mjs';

let hec, hecUrl;
let token = crypto.randomBytes(16).toString('hex');
const delivered = [];  // event ids, in arrival order (duplicates kept)
let answer503 = 0;
let refuseMarker = null;  // a 400 for any request holding this text
const seenAuth = new Set();

function putToken(value) {
  execFileSync(binary, ['secret', 'put', '--db', `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database}`,
    '--export', 'splunk-hec'], { input: `${value}\n` });
}

async function until(check, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

before(async () => {
  freshDatabase();
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_export_login') THEN
           CREATE ROLE warden_export_login LOGIN IN ROLE warden_exporter;
         END IF;
       END $$`);
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('triage-bot', 'alice@example.com');
       SELECT warden.add_server('tickets', 'http://127.0.0.1:9/mcp', 'http');
       SELECT warden.grant('triage-bot', 'tickets/*');`);
  putToken(token);
  hec = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seenAuth.add(req.headers.authorization);
      if (req.url !== '/services/collector/event' || req.headers.authorization !== `Splunk ${token}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"text":"Invalid token","code":4}');
        return;
      }
      if (answer503 > 0) {
        answer503 -= 1;
        res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"text":"Server is busy","code":9}');
        return;
      }
      if (refuseMarker && body.includes(refuseMarker)) {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"text":"Invalid data format","code":6}');
        return;
      }
      for (const line of body.split('\n').filter(Boolean)) {
        const e = JSON.parse(line);
        assert.equal(e.sourcetype, 'ocsf');
        assert.equal(e.fields.event_id, e.event.metadata.uid);
        delivered.push(e.fields.event_id);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise((r) => hec.listen(0, '127.0.0.1', r));
  hecUrl = `http://127.0.0.1:${hec.address().port}/services/collector/event`;
});

after(() => hec?.close());

const exportDb = () => `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
const args = () => ['--export', `splunk-hec:${hecUrl}`, '--export-db', exportDb(), '--export-batch', '7'];

test('the HEC token is in the vault only: wrapped in the table, never in argv or the environment', () => {
  const wrapped = sqlValue(`SELECT wrapped::text FROM warden.export_secrets WHERE name = 'splunk-hec'`);
  assert.ok(wrapped && !wrapped.includes(Buffer.from(token).toString('hex')));
  assert.equal(sqlValue(`SELECT count(*) FROM warden.events WHERE detail::text LIKE ${quote(`%${token}%`)}`), '0');
  assert.ok(!args().join(' ').includes(token));
  // Only the exporter opens it.
  assert.equal(sqlValue(`SELECT has_function_privilege('warden_proxy', 'warden.export_secret(text)', 'EXECUTE')`), 'f');
  assert.equal(sqlValue(`SELECT has_function_privilege('warden_auditor', 'warden.export_secret(text)', 'EXECUTE')`), 'f');
  assert.equal(sqlValue(`SELECT has_table_privilege('warden_auditor', 'warden.export_secrets', 'SELECT')`), 'f');
});

test('splunk-hec: kill -9 mid-export, restart, every event delivered, duplicates only by event id', async () => {
  const live = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'hec')`);
  sql(`SELECT count(*) FROM generate_series(1, 1500) i,
       LATERAL warden.authorize(${quote(live)}, 'tickets', 'read_ticket', jsonb_build_object('i', i))`);
  let g = await startGateway(args(), database, { env: { ...process.env } });
  assert.ok(await until(() => delivered.length >= 200), 'the export started');
  g.child.kill('SIGKILL');
  await new Promise((r) => g.child.once('exit', r));
  const atKill = new Set(delivered).size;
  const total = Number(sqlValue('SELECT count(*) FROM warden.events'));
  assert.ok(atKill < total, `killed mid-export (${atKill} of ${total})`);
  sql(`SELECT count(*) FROM generate_series(1, 100) i,
       LATERAL warden.authorize(${quote(live)}, 'tickets', 'read_ticket', jsonb_build_object('j', i))`);
  answer503 = 3;  // and HEC is busy for a moment: retried with back-off
  g = await startGateway(args());
  try {
    const expected = sql('SELECT event_id FROM warden.events').map((r) => r[0]);
    assert.ok(await until(() => {
      const seen = new Set(delivered);
      return expected.every((id) => seen.has(id));
    }, 60000), 'every event was delivered after the restart');
    const all = new Set(expected);
    const seen = new Set(delivered);
    for (const id of seen) assert.ok(all.has(id) || sqlValue(`SELECT count(*) FROM warden.events WHERE event_id = ${quote(id)}::uuid`) === '1');
    const duplicates = delivered.length - seen.size;
    assert.ok(duplicates <= 7, `${duplicates} duplicates (at most the batch in flight at the kill)`);
    const metrics = await (await fetch(`http://127.0.0.1:${g.match[1]}/metrics`)).text();
    assert.match(metrics, /warden_export_events_total\{export="splunk-hec"\} [1-9]/);
    process.stderr.write(`# splunk-hec: ${expected.length} events, ${atKill} before kill -9, ${duplicates} duplicates after restart\n`);
  } finally {
    stop(g.child);
  }
});

test('splunk-hec: a rotated token is read again from the vault; one refused event does not stall the rest', async () => {
  const g = await startGateway(args());
  try {
    const before = delivered.length;
    // Rotate: HEC now wants the new token; warden-mcp gets 401, reads the vault again, retries.
    token = crypto.randomBytes(16).toString('hex');
    putToken(token);
    const live = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'hec 2')`);
    refuseMarker = 'poison-pill';
    sql(`SELECT warden.authorize(${quote(live)}, 'tickets', 'read_ticket', '{"note": "poison-pill"}');
         SELECT count(*) FROM generate_series(1, 20) i,
         LATERAL warden.authorize(${quote(live)}, 'tickets', 'read_ticket', jsonb_build_object('k', i))`);
    const expected = sql(`SELECT event_id FROM warden.events WHERE arguments ? 'k'`).map((r) => r[0]);
    assert.ok(await until(() => {
      const seen = new Set(delivered.slice(before));
      return expected.every((id) => seen.has(id));
    }, 30000), 'the events after the refused one were delivered with the new token');
    assert.ok(seenAuth.has(`Splunk ${token}`));
    const poison = sqlValue(`SELECT event_id FROM warden.events WHERE arguments->>'note' = 'poison-pill'`);
    assert.ok(!delivered.includes(poison), 'the refused event was given up (it stays in warden.events)');
    const metrics = await (await fetch(`http://127.0.0.1:${g.match[1]}/metrics`)).text();
    assert.match(metrics, /warden_export_refused_total\{export="splunk-hec"\} [1-9]/);
  } finally {
    stop(g.child);
    refuseMarker = null;
  }
});

test('splunk-hec: no token in the vault is a clear error, retried, not a crash', async () => {
  sql(`DELETE FROM warden.export_secrets`);
  const g = await startGateway([...args(), '--export-cursor', 'hec-missing']);
  try {
    assert.ok(await until(() => /no export secret "splunk-hec"/.test(g.log.join('')), 5000), g.log.join(''));
    assert.equal(g.child.exitCode, null);
  } finally {
    stop(g.child);
  }
  assert.ok(gatewayConninfo());
});
