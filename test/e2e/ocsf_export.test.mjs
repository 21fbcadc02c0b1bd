// Issue 17: the audit trail to the SIEM. warden.ocsf_events validated against the OCSF 1.8.0
// class definitions kept in test/ocsf/schema (Apache-2.0), who may read it, and the durable
// export of warden-mcp --export ocsf-ndjson:FILE surviving kill -9.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { database, freshDatabase, quote, root, sql, sqlValue, startGateway, stop } from './harness.mjs';

const { validate } = await import(path.join(root, 'test/ocsf/validate.mjs'));
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ocsf-'));
let token, chainId;

before(() => {
  freshDatabase();
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_export_login') THEN
           CREATE ROLE warden_export_login LOGIN IN ROLE warden_exporter;
         END IF;
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_audit_login') THEN
           CREATE ROLE warden_audit_login LOGIN IN ROLE warden_auditor;
         END IF;
       END $$`);
  // One of every kind of event an operator and an agent cause.
  sql(`SELECT warden.add_human('alice@example.com', 'Alice');
       SELECT warden.add_agent('triage-bot', 'alice@example.com');
       SELECT warden.add_agent('helper-bot', 'alice@example.com');
       SELECT warden.add_server('tickets', 'http://127.0.0.1:9/mcp', 'http', '{"kind": "jwt", "ttl_seconds": 30}');
       SELECT warden.grant('triage-bot', 'tickets/*');
       SELECT warden.grant('helper-bot', 'tickets/read_ticket');`);
  [chainId, token] = sql(`SELECT chain_id, token FROM warden.start_chain('alice@example.com', 'triage-bot', 'ocsf')`)[0];
  const child = sqlValue(`SELECT token FROM warden.delegate(${quote(token)}, 'helper-bot', ARRAY['tickets/read_ticket'])`);
  const allowed = sqlValue(`SELECT event_id FROM warden.authorize(${quote(token)}, 'tickets', 'update_ticket',
                            '{"ticket": 1, "api_key": "sk-live-123"}')`);
  sql(`SELECT warden.credential(${quote(allowed)}::uuid)`);
  sql(`SELECT warden.complete(${quote(allowed)}::uuid, 'ok', '{"duration_ms": 12}')`);
  sql(`SELECT reason FROM warden.authorize(${quote(child)}, 'tickets', 'update_ticket', '{}')`);
  sql(`SELECT warden.revoke_grant((SELECT grant_id FROM warden.grants g JOIN warden.agents a USING (agent_id)
                                   WHERE a.name = 'helper-bot' LIMIT 1), 'no longer needed')`);
  sql(`SELECT warden.revoke_agent('helper-bot', 'compromised');
       SELECT warden.reinstate_agent('helper-bot', 'fixed');
       SELECT warden.kill(chain_id => ${quote(chainId)}::uuid, reason => 'incident 42');
       SELECT warden.revoke_human('alice@example.com', 'left the company');`);
});

after(() => fs.rmSync(folder, { recursive: true, force: true }));

const ocsf = (since = '-infinity', limit = 10000) =>
  sql(`SELECT e::text FROM warden.ocsf_events(${quote(since)}, ${limit}) e`).map((r) => JSON.parse(r[0]));

test('every event is valid OCSF 1.8.0 of its class (test/ocsf/schema)', () => {
  const events = ocsf();
  assert.equal(events.length, Number(sqlValue('SELECT count(*) FROM warden.events')));
  const classes = {};
  for (const e of events) {
    assert.deepEqual(validate(e), [], `${e.metadata.event_code}: ${JSON.stringify(e)}`);
    classes[e.metadata.event_code] = e.class_uid;
  }
  assert.deepEqual(
    ['call', 'completed', 'token_issued', 'token_delegated', 'credential_vended', 'grant_created', 'grant_revoked',
      'agent_suspended', 'agent_reinstated', 'chain_revoked', 'killed', 'human_revoked'].map((k) => [k, classes[k]]),
    [['call', 6003], ['completed', 6003], ['token_issued', 3002], ['token_delegated', 3002],
      ['credential_vended', 3002], ['grant_created', 3005], ['grant_revoked', 3005], ['agent_suspended', 3001],
      ['agent_reinstated', 3001], ['chain_revoked', 3004], ['killed', 3004], ['human_revoked', 3001]]);
});

test('sparse rows of every kind (NULL columns, odd details) still map to valid OCSF', () => {
  const kinds = ['call', 'completed', 'token_issued', 'token_delegated', 'credential_vended', 'session_opened',
    'signed_in', 'sign_in_refused', 'approver_signed_in', 'approver_sign_in_refused', 'consent',
    'authorization_code_replayed', 'refresh_token_reused',
    'grant_created', 'grant_revoked', 'agent_suspended', 'agent_reinstated', 'human_revoked', 'human_reinstated',
    'client_registered', 'agent_approved', 'token_revoked', 'chain_revoked', 'killed', 'audit_sealed',
    'tool_approved', 'keys_rotated', 'secret_stored', 'something_new'];
  for (const kind of kinds) {
    for (const detail of ['{}', '{"expires_at": "garbage"}', '{"expires_at": 1796000000}']) {
      const text = sqlValue(`SELECT warden._ocsf_event(ROW(gen_random_uuid(), now(), ${quote(kind)}, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ${quote(detail)}::jsonb, 'someone', gen_random_uuid(), 1,
        '\\x00'::bytea)::warden.events)::text`);
      const e = JSON.parse(text);
      assert.deepEqual(validate(e), [], `${kind} ${detail}: ${text}`);
      assert.equal(e.metadata.event_code, kind);
    }
  }
});

test('the validator is not a rubber stamp: broken events are reported', () => {
  const call = ocsf().find((e) => e.metadata.event_code === 'call');
  const broken = [
    [{ ...call, api: undefined }, /required api missing/],
    [{ ...call, bogus: 1 }, /bogus is not an attribute/],
    [{ ...call, activity_id: 7, type_uid: 600307 }, /7 is not one of/],
    [{ ...call, type_uid: 600301 }, /type_uid/],
    [{ ...call, time: 'yesterday' }, /not timestamp_t/],
    [{ ...call, actor: { ...call.actor, user: { type_id: 1 } } }, /needs at least one of/],
    [{ ...call, metadata: { ...call.metadata, profiles: [] } }, /trace is not an attribute/],
  ];
  for (const [event, problem] of broken) {
    const p = validate(JSON.parse(JSON.stringify(event)));
    assert.ok(p.some((x) => problem.test(x)), `${problem}: ${p}`);
  }
});

test('a tool call: actor is the agent acting for its human, api/resources name the tool, arguments redacted, chain and trace ids', () => {
  const call = ocsf().find((e) => e.metadata.event_code === 'call' && e.status_id === 1);
  assert.equal(call.actor.app_name, 'triage-bot');
  assert.equal(call.actor.user.uid, 'alice@example.com');
  assert.equal(call.api.service.name, 'tickets');
  assert.equal(call.resources[0].uid, 'tickets/update_ticket');
  assert.deepEqual(call.api.request.data, { ticket: 1, api_key: '[redacted]' });
  assert.ok(!JSON.stringify(ocsf()).includes('sk-live-123'), 'no secret in any OCSF event');
  assert.equal(call.metadata.correlation_uid, chainId);
  assert.equal(call.trace.uid, chainId.replaceAll('-', ''));
  assert.equal(call.unmapped.warden.chain_id, chainId);
  const denied = ocsf().find((e) => e.metadata.event_code === 'call' && e.status_id === 2);
  assert.equal(denied.status_detail, 'no_grant');
  assert.equal(denied.actor.authorizations[0].decision, 'denied');
});

function as(role, text) {
  return sql(`SET ROLE ${role}; ${text}`);
}

test('least privilege: auditors read ocsf_events; the proxy, issuers and PUBLIC cannot; only the exporter moves a cursor', () => {
  assert.ok(as('warden_auditor', `SELECT count(*) FROM warden.ocsf_events('-infinity', 10)`)[0][0] > 0);
  for (const role of ['warden_proxy', 'warden_issuer', 'warden_exporter_nobody']) {
    if (role === 'warden_exporter_nobody') {
      sql(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_exporter_nobody') THEN
             CREATE ROLE warden_exporter_nobody; END IF; END $$;
           GRANT USAGE ON SCHEMA warden TO warden_exporter_nobody`);
    }
    assert.throws(() => as(role, `SELECT warden.ocsf_events('-infinity', 10)`), /permission denied/, role);
    assert.throws(() => as(role, `SELECT * FROM warden.export_batch('siem', 10)`), /permission denied/, role);
  }
  // An auditor reads, but cannot move an export past events the SIEM has not received.
  assert.throws(() => as('warden_auditor', `SELECT * FROM warden.export_batch('siem', 10)`), /permission denied/);
  const last = sql(`SELECT at, event_id FROM warden.events ORDER BY at DESC LIMIT 1`)[0];
  assert.throws(() => as('warden_auditor', `SELECT warden.advance_export_cursor('siem', ${quote(last[0])}, ${quote(last[1])}, 1)`),
    /permission denied/);
  // The exporter reads OCSF, not the tables.
  assert.throws(() => as('warden_exporter', 'SELECT count(*) FROM warden.events'), /permission denied/);
  assert.throws(() => as('warden_exporter', 'SELECT count(*) FROM warden.tokens'), /permission denied/);
  // A cursor only moves forward, and only to an event that exists.
  as('warden_exporter', `SELECT count(*) FROM warden.export_batch('probe', 1)`);
  assert.throws(() => as('warden_exporter', `SELECT warden.advance_export_cursor('probe', now() + interval '1 day',
    gen_random_uuid(), 1)`), /no event/);
  assert.throws(() => as('warden_exporter', `SELECT warden.ocsf_events('-infinity', 100000)`), /limit between 1 and 10000/);
});

test('export_batch never steps over an event of a transaction still open', async () => {
  // Transaction A writes an event and stays open; B writes one after it and commits. Until A
  // commits, neither is exported: a cursor past B would never see A.
  sql(`SELECT warden.reinstate_human('alice@example.com', 'rehired')`);
  const t = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'horizon')`);
  sql(`SELECT count(*) FROM warden.export_batch('horizon', 10000)`);
  sql(`SELECT warden.advance_export_cursor('horizon', e.at, e.event_id, 0)
       FROM (SELECT at, event_id FROM warden.events ORDER BY at DESC, event_id DESC LIMIT 1) e`);
  const open = spawn('psql', ['-X', '-q', '-At', '-d', database, '-c',
    `BEGIN; SELECT reason FROM warden.authorize(${quote(t)}, 'tickets', 'read_ticket', '{"open": 1}');
     SELECT pg_sleep(2); COMMIT;`], { stdio: 'ignore' });
  const done = new Promise((r) => open.once('exit', r));
  await new Promise((r) => setTimeout(r, 700));
  const later = sqlValue(`SELECT event_id FROM warden.authorize(${quote(t)}, 'tickets', 'read_ticket', '{"later": 1}')`);
  const during = sql(`SELECT event_id FROM warden.export_batch('horizon', 10000)`).map((r) => r[0]);
  assert.ok(!during.includes(later), 'the later event waits for the open transaction');
  await done;
  const after = sql(`SELECT e.event_id, e.ocsf->'api'->'request'->'data' FROM warden.export_batch('horizon', 10000) e`);
  assert.ok(after.some((r) => r[0] === later), 'then both are exported');
  assert.ok(after.some((r) => r[1] === '{"open": 1}'), 'including the one that was open');
});

test('a transaction open in another database does not hold the export; a held export shows its lag', async () => {
  // Any login may open a transaction in some other database: that must not stall the SIEM feed.
  const t = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'elsewhere')`);
  sql(`SELECT count(*) FROM warden.export_batch('elsewhere', 10000)`);
  sql(`SELECT warden.advance_export_cursor('elsewhere', e.at, e.event_id, 0)
       FROM (SELECT at, event_id FROM warden.events ORDER BY at DESC, event_id DESC LIMIT 1) e`);
  const other = spawn('psql', ['-X', '-q', '-At', '-d', 'postgres', '-c',
    'BEGIN; CREATE TEMP TABLE held (x int); SELECT pg_sleep(3); COMMIT;'], { stdio: 'ignore' });
  const otherDone = new Promise((r) => other.once('exit', r));
  await new Promise((r) => setTimeout(r, 700));
  const mine = sqlValue(`SELECT event_id FROM warden.authorize(${quote(t)}, 'tickets', 'read_ticket', '{"elsewhere": 1}')`);
  const exported = sql(`SELECT event_id FROM warden.export_batch('elsewhere', 10000)`).map((r) => r[0]);
  assert.ok(exported.includes(mine), 'an open transaction in database postgres held the export back');
  await otherDone;

  // Nor does one of this database whose login cannot reach warden's functions (an
  // application's own login sharing the database): it cannot write an event.
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'export_app_login') THEN
           CREATE ROLE export_app_login LOGIN;
         END IF;
       END $$`);
  const app = spawn('psql', ['-X', '-q', '-At', '-U', 'export_app_login', '-d', database, '-c',
    'BEGIN; CREATE TEMP TABLE held (x int); SELECT pg_sleep(3); COMMIT;'], { stdio: 'ignore' });
  const appDone = new Promise((r) => app.once('exit', r));
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(sqlValue(`SELECT count(*) FROM pg_stat_activity WHERE usename = 'export_app_login' AND backend_xid IS NOT NULL`), '1',
    'the application login holds a transaction id');
  const mine2 = sqlValue(`SELECT event_id FROM warden.authorize(${quote(t)}, 'tickets', 'read_ticket', '{"app": 1}')`);
  const exported2 = sql(`SELECT event_id FROM warden.export_batch('elsewhere', 10000)`).map((r) => r[0]);
  assert.ok(exported2.includes(mine2), "an application login's open transaction held the export back");
  await appDone;

  // Held by a transaction of this database: nothing to send, but the lag is not 0.
  sql(`SELECT warden.advance_export_cursor('elsewhere', e.at, e.event_id, 0)
       FROM (SELECT at, event_id FROM warden.events ORDER BY at DESC, event_id DESC LIMIT 1) e`);
  const open = spawn('psql', ['-X', '-q', '-At', '-d', database, '-c',
    `BEGIN; SELECT reason FROM warden.authorize(${quote(t)}, 'tickets', 'read_ticket', '{"held": 1}');
     SELECT pg_sleep(3); COMMIT;`], { stdio: 'ignore' });
  const openDone = new Promise((r) => open.once('exit', r));
  await new Promise((r) => setTimeout(r, 700));
  sql(`SELECT warden.authorize(${quote(t)}, 'tickets', 'read_ticket', '{"behind": 1}')`);
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(sql(`SELECT count(*) FROM warden.export_batch('elsewhere', 10000)`)[0][0], '0');
  const lag = Number(sqlValue(`SELECT warden.export_lag('elsewhere')`));
  assert.ok(lag >= 1, `export_lag while held: ${lag}`);
  await openDone;
});

function ndjsonIds(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const e = JSON.parse(l);  // every line is whole: a crash never leaves half an event
    return e.metadata.uid;
  });
}

async function until(check, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

test('export: kill -9 mid-export, restart, every event delivered, duplicates only by event id', async () => {
  const file = path.join(folder, 'siem.ndjson');
  const exportDb = `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
  const args = ['--export', `ocsf-ndjson:${file}`, '--export-db', exportDb, '--export-batch', '7'];
  const liveToken = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'export')`);
  sql(`SELECT count(*) FROM generate_series(1, 1500) i,
       LATERAL warden.authorize(${quote(liveToken)}, 'tickets', 'read_ticket', jsonb_build_object('i', i))`);
  let g = await startGateway(args);
  assert.ok(await until(() => ndjsonIds(file).length >= 200), 'the export started');
  g.child.kill('SIGKILL');
  await new Promise((r) => g.child.once('exit', r));
  const atKill = ndjsonIds(file).length;
  const total = Number(sqlValue('SELECT count(*) FROM warden.events'));
  assert.ok(atKill < total, `killed mid-export (${atKill} of ${total} delivered)`);
  // More events while it is down.
  sql(`SELECT count(*) FROM generate_series(1, 100) i,
       LATERAL warden.authorize(${quote(liveToken)}, 'tickets', 'read_ticket', jsonb_build_object('j', i))`);
  g = await startGateway(args);
  try {
    const expected = new Set(sql('SELECT event_id FROM warden.events').map((r) => r[0]));
    assert.ok(await until(() => {
      const seen = new Set(ndjsonIds(file));
      return [...expected].every((id) => seen.has(id));
    }, 60000), 'every event was delivered after the restart');
    const ids = ndjsonIds(file);
    const seen = new Set(ids);
    const all = new Set(sql('SELECT event_id FROM warden.events').map((r) => r[0]));
    for (const id of seen) assert.ok(all.has(id), `${id} is an event of warden.events`);
    const duplicates = ids.length - seen.size;
    // At least once: events of the batch in flight at the kill may come twice, never more
    // than one batch (7) per crash; all other events exactly once.
    assert.ok(duplicates <= 7, `${duplicates} duplicates`);
    const [delivered, cursorEvent] = sql(`SELECT delivered, event_id FROM warden.export_cursors WHERE name = 'ocsf-ndjson'`)[0];
    assert.ok(Number(delivered) >= expected.size);
    assert.ok(seen.has(cursorEvent));
    const metrics = await (await fetch(`http://127.0.0.1:${g.match[1]}/metrics`)).text();
    assert.match(metrics, /warden_export_lag_seconds\{export="ocsf-ndjson"\} /);
    assert.match(metrics, /warden_export_events_total\{export="ocsf-ndjson"\} [1-9]/);
    process.stderr.write(`# export: ${expected.size} events, ${atKill} delivered before kill -9, ${duplicates} duplicates after restart\n`);
  } finally {
    stop(g.child);
  }
});

test('export: a destination that fails is retried with back-off, and the cursor waits for it', async () => {
  const dir = path.join(folder, 'not-yet');
  const file = path.join(dir, 'siem.ndjson');
  const exportDb = `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
  const g = await startGateway(['--export', `ocsf-ndjson:${file}`, '--export-db', exportDb, '--export-cursor', 'retry']);
  try {
    const port = g.match[1];
    const failures = async () => Number((await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
      .match(/warden_export_failures_total\{export="retry"\} (\d+)/)?.[1] ?? 0);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(await failures() >= 2, 'retried');
    assert.equal(sqlValue(`SELECT delivered FROM warden.export_cursors WHERE name = 'retry'`), '0');
    fs.mkdirSync(dir);
    const total = Number(sqlValue('SELECT count(*) FROM warden.events'));
    assert.ok(await until(() => ndjsonIds(file).length >= total, 40000), 'delivered once the destination works');
  } finally {
    stop(g.child);
  }
});

test('export otlp:URL: OTLP/HTTP JSON logs to a collector, retried until it accepts, event id as attribute', async () => {
  const http = await import('node:http');
  const received = [];
  let refusals = 2;
  const collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      assert.equal(req.url, '/v1/logs');
      assert.match(req.headers['content-type'], /application\/json/);
      if (refusals > 0) {
        refusals -= 1;
        res.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => collector.listen(0, '127.0.0.1', r));
  const exportDb = `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
  const g = await startGateway(['--export', `otlp:http://127.0.0.1:${collector.address().port}/v1/logs`,
    '--export-db', exportDb, '--export-cursor', 'otlp']);
  try {
    const total = Number(sqlValue('SELECT count(*) FROM warden.events'));
    const ids = () => received.flatMap((r) => r.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords)))
      .map((rec) => rec.attributes.find((a) => a.key === 'event.id').value.stringValue);
    assert.ok(await until(() => new Set(ids()).size >= total, 40000), `${new Set(ids()).size} of ${total}`);
    const record = received[0].resourceLogs[0].scopeLogs[0].logRecords[0];
    const ocsfEvent = JSON.parse(record.body.stringValue);
    assert.deepEqual(validate(ocsfEvent), []);
    assert.equal(record.timeUnixNano, `${ocsfEvent.time}000000`);
    assert.equal(received[0].resourceLogs[0].resource.attributes[0].value.stringValue, 'warden');
    assert.equal(refusals, 0, 'the collector refused twice first');
    const metrics = await (await fetch(`http://127.0.0.1:${g.match[1]}/metrics`)).text();
    assert.match(metrics, /warden_export_failures_total\{export="otlp"\} [2-9]/);
  } finally {
    stop(g.child);
    collector.close();
  }
});

test('export otlp:URL within a collector\'s limits: a huge event goes slimmed, a refused one as a stub, then given up', async () => {
  const http = await import('node:http');
  // A call whose arguments an agent padded past 256 KiB: slimmed, but still names who and what.
  sql(`SELECT warden.add_human('otlp-owner@example.com');
       SELECT warden.add_agent('padding-bot', 'otlp-owner@example.com');
       SELECT warden.grant('padding-bot', 'tickets/*');`);
  const padToken = sqlValue(`SELECT token FROM warden.start_chain('otlp-owner@example.com', 'padding-bot', 'padding')`);
  const big = sqlValue(`SELECT event_id FROM warden.authorize(${quote(padToken)}, 'tickets', 'update_ticket',
                        jsonb_build_object('items', (SELECT jsonb_agg('item-' || i) FROM generate_series(1, 40000) i)))`);
  // (Long strings are already cut in the audit copy; many short ones are not.)
  // The collector will not take one event at all, even alone, even as a stub.
  const poison = sqlValue(`SELECT event_id FROM warden.events WHERE kind = 'killed' LIMIT 1`);
  const received = new Map();
  const collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const records = JSON.parse(body).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));
      const ids = records.map((rec) => rec.attributes.find((a) => a.key === 'event.id').value.stringValue);
      if (ids.includes(poison)) {
        res.writeHead(400).end();
        return;
      }
      records.forEach((rec, i) => received.set(ids[i], JSON.parse(rec.body.stringValue)));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => collector.listen(0, '127.0.0.1', r));
  const exportDb = `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
  const g = await startGateway(['--export', `otlp:http://127.0.0.1:${collector.address().port}/v1/logs`,
    '--export-db', exportDb, '--export-cursor', 'otlp-limits']);
  try {
    const total = Number(sqlValue('SELECT count(*) FROM warden.events'));
    assert.ok(await until(() => received.size >= total - 1, 40000), `${received.size} of ${total - 1}`);
    let metrics = '';
    for (let i = 0; i < 100 && !/warden_export_refused_total\{export="otlp-limits"\} 1/.test(metrics); i++) {
      metrics = await (await fetch(`http://127.0.0.1:${g.match[1]}/metrics`)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(metrics, /warden_export_refused_total\{export="otlp-limits"\} 1/, 'the poison event is counted, once');
    assert.ok(!received.has(poison), 'the collector never took it');
    const slim = received.get(big);
    assert.equal(slim.unmapped.warden.stub, 'too_big');
    assert.ok(slim.unmapped.warden.bytes > 256 * 1024);
    assert.equal(slim.actor.app_name, 'padding-bot', 'the slimmed event still names the agent');
    assert.equal(slim.api.operation, 'tools/call');
    assert.equal(slim.api.request.data, undefined, 'without the padded arguments');
    assert.ok(JSON.stringify(slim).length < 256 * 1024);
    assert.equal(sqlValue(`SELECT delivered >= ${total - 1} FROM warden.export_cursors WHERE name = 'otlp-limits'`), 't',
      'the cursor moved past both: nothing stalls behind them');
  } finally {
    stop(g.child);
    collector.close();
  }
});
