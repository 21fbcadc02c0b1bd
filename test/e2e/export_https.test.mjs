// Issue 17: the SIEM exports over https. An OTLP collector and a Splunk HEC fixture serve
// certificates from a test CA that warden-mcp trusts only through --export-ca-file: events
// arrive, verified. The same fixtures with a certificate from a CA nobody trusts get nothing:
// the handshake fails, the export retries with back-off, and its durable cursor does not move.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { binary, database, freshDatabase, sql, sqlValue, startGateway, stop } from './harness.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-export-tls-'));
const hecToken = crypto.randomBytes(16).toString('hex');
const exportDb = () => `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database} user=warden_export_login`;
let trustedCa;
const servers = [];

function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function authority(name) {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`));
  return path.join(dir, name);
}

// A certificate for 127.0.0.1 signed by the CA `ca`.
function certificate(name, ca) {
  const [key, csr, pem, ext] = ['key', 'csr', 'pem', 'ext'].map((x) => path.join(dir, `${name}.${x}`));
  fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', key, '-out', csr);
  openssl('x509', '-req', '-in', csr, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '1', '-extfile', ext, '-out', pem);
  return { key: fs.readFileSync(key), cert: fs.readFileSync(pem) };
}

// An https fixture that records the event ids it was given (OTLP attribute event.id or HEC
// field event_id) and how many requests reached it at all.
async function fixture(tls, kind) {
  const seen = { ids: new Set(), requests: 0 };
  const server = https.createServer(tls, (req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.requests += 1;
      if (kind === 'otlp') {
        for (const rl of JSON.parse(body).resourceLogs) {
          for (const rec of rl.scopeLogs.flatMap((sl) => sl.logRecords)) {
            seen.ids.add(rec.attributes.find((a) => a.key === 'event.id').value.stringValue);
          }
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        return;
      }
      if (req.headers.authorization !== `Splunk ${hecToken}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"text":"Invalid token","code":4}');
        return;
      }
      for (const line of body.split('\n').filter(Boolean)) seen.ids.add(JSON.parse(line).fields.event_id);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const where = kind === 'otlp' ? '/v1/logs' : '/services/collector/event';
  return { seen, url: `https://127.0.0.1:${server.address().port}${where}` };
}

async function until(check, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

before(() => {
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
  const live = sqlValue(`SELECT token FROM warden.start_chain('alice@example.com', 'triage-bot', 'tls export')`);
  sql(`SELECT count(*) FROM generate_series(1, 20) i,
       LATERAL warden.authorize(${`'${live}'`}, 'tickets', 'read_ticket', jsonb_build_object('i', i))`);
  execFileSync(binary, ['secret', 'put', '--db', `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${database}`,
    '--export', 'splunk-hec'], { input: `${hecToken}\n` });
  trustedCa = authority('export-ca');
});

after(() => {
  for (const s of servers) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const cursorAt = (name) => sqlValue(`SELECT coalesce((SELECT at::text FROM warden.export_cursors WHERE name = '${name}'), 'none')`);

for (const kind of ['otlp', 'splunk-hec']) {
  test(`${kind} over https: a collector whose certificate chains to --export-ca-file gets every event`, async () => {
    const { seen, url } = await fixture(certificate(`${kind}-good`, trustedCa), kind === 'otlp' ? 'otlp' : 'hec');
    const cursor = `${kind}-tls`;
    const g = await startGateway(['--export', `${kind}:${url}`, '--export-db', exportDb(), '--export-cursor', cursor,
      '--export-ca-file', `${trustedCa}.pem`]);
    try {
      const expected = sql('SELECT event_id FROM warden.events').map((r) => r[0]);
      assert.ok(await until(() => expected.every((id) => seen.ids.has(id)), 30000),
        `${expected.filter((id) => seen.ids.has(id)).length} of ${expected.length} delivered`);
      assert.ok(await until(() => cursorAt(cursor) !== 'none' && cursorAt(cursor) !== '-infinity', 5000), 'the cursor moved');
    } finally {
      stop(g.child);
    }
  });

  test(`${kind} over https: a certificate from a CA warden-mcp does not trust is refused, nothing delivered, the cursor stays`, async () => {
    const rogueCa = authority(`${kind}-rogue-ca`);
    const { seen, url } = await fixture(certificate(`${kind}-rogue`, rogueCa), kind === 'otlp' ? 'otlp' : 'hec');
    const cursor = `${kind}-rogue`;
    const g = await startGateway(['--export', `${kind}:${url}`, '--export-db', exportDb(), '--export-cursor', cursor,
      '--export-ca-file', `${trustedCa}.pem`]);
    try {
      const failures = async () => Number((await (await fetch(`http://127.0.0.1:${g.match[1]}/metrics`)).text())
        .match(new RegExp(`^warden_export_failures_total\\{export="${cursor}"\\} (\\d+)$`, 'm'))?.[1] ?? 0);
      const end = Date.now() + 15000;
      while (Date.now() < end && (await failures()) < 2) await new Promise((r) => setTimeout(r, 200));
      assert.ok((await failures()) >= 2, 'the export failed and retried');
      assert.equal(seen.requests, 0, 'no request got through the failed handshake');
      assert.equal(seen.ids.size, 0);
      assert.ok(['none', '-infinity'].includes(cursorAt(cursor)), `the cursor did not move (${cursorAt(cursor)})`);
      assert.match(g.log.join(''), new RegExp(`export ${cursor} failed`), 'the log says the export failed');
    } finally {
      stop(g.child);
    }
  });
}
