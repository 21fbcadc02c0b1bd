// Shared setup for the end-to-end tests: a fresh database, the gateway role, and processes
// that print a line when ready. Needs PGHOST/PGPORT/PGUSER of a superuser (scripts/pg env).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
// The checkout (the suite may run from a readable copy of test/e2e: scripts/suites/e2e).
export const root = process.env.WARDEN_ROOT ?? path.resolve(here, '../..');
export const binary = process.env.WARDEN_MCP ?? path.join(root, 'build/warden-mcp');
export const database = process.env.WARDEN_E2E_DB ?? 'warden_e2e';
export const modules = path.join(here, 'node_modules');

// Runs SQL as the superuser; returns the rows as arrays of strings.
export function sql(text, db = database) {
  const out = execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-F', '\t',
    '-d', db, '-c', text], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

export function sqlValue(text) {
  const rows = sql(text);
  return rows.length ? rows[0][0] : undefined;
}

export function quote(s) {
  return `'${String(s).replaceAll("'", "''")}'`;
}

export function freshDatabase() {
  sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`, 'postgres');
  sql(`CREATE DATABASE ${database}`, 'postgres');
  sql('CREATE EXTENSION warden');
  sql(`DO $$ BEGIN
         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_gateway') THEN
           CREATE ROLE warden_gateway LOGIN IN ROLE warden_proxy;
         END IF;
       END $$`);
}

export function gatewayConninfo(db = database) {
  return `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${db} user=warden_gateway`;
}

// Starts a process and resolves once a line of its output matches `ready`.
export function startProcess(command, args, ready, options = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const log = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} not ready:\n${log.join('')}`)), 15000);
    const watch = (stream) => stream.on('data', (chunk) => {
      const text = chunk.toString();
      log.push(text);
      if (process.env.WARDEN_E2E_VERBOSE) process.stderr.write(text);
      const m = log.join('').match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, log });
      }
    });
    watch(child.stdout);
    watch(child.stderr);
    child.on('exit', (code) => reject(new Error(`${command} exited ${code}:\n${log.join('')}`)));
  });
}

// The stdio commands the tests' gateways may start (--stdio-allow): the npm servers and the
// fixtures, each as an argv prefix. Nothing else runs, whatever warden.servers says.
export function writeStdioAllowlist(lines = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-allow-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'stdio-allow');
  fs.writeFileSync(file, ['# the e2e tests\' stdio upstreams',
    `node ${modules}/@modelcontextprotocol/server-everything/dist/index.js`,
    `node ${modules}/@modelcontextprotocol/server-filesystem/dist/index.js`,
    `node ${here}/fixture-faults.mjs`,
    ...lines, ''].join('\n'));
  return file;
}
export const stdioAllowFile = writeStdioAllowlist();

export function startGateway(args = [], db = database, options = {}) {
  const allow = args.includes('--stdio-allow') ? [] : ['--stdio-allow', stdioAllowFile];
  return startProcess(binary, ['serve', '--db', gatewayConninfo(db), '--listen', '127.0.0.1:0',
    ...allow, ...args], /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/, options);
}

export function stop(child) {
  if (child && child.exitCode === null) child.kill('SIGTERM');
}

// warden-mcp records a call's outcome (warden.complete) just after answering the agent: poll
// for it instead of expecting it at once. Returns the last value read.
export async function settled(read, done, ms = 3000) {
  const until = Date.now() + ms;
  let value = read();
  while (!done(value) && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 50));
    value = read();
  }
  return value;
}

// A TCP port free on 127.0.0.1 now (for a server that must know its own URL before it listens).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Puts a wrapper in place of warden.complete (the outcome of every call) for a test that needs
// outcomes slow or changed: `returns` its result type, `body` PL/pgSQL statements run before
// the original (kept as warden.complete_before; its body names its parameters by the
// function's name, so the copy's references are renamed with it), `result` the expression
// returned, over `done` (the original's result). restoreComplete() puts the original back.
export function replaceComplete({ returns = 'uuid', body = '', result = 'done' } = {}) {
  sql(`CREATE TABLE public.complete_definition AS
         SELECT pg_get_functiondef('warden.complete(uuid, text, jsonb)'::regprocedure) AS def;
       DO $$ BEGIN
         EXECUTE regexp_replace((SELECT def FROM public.complete_definition),
                                '(\\mcomplete)([.(])', '\\1_before\\2', 'g');
       END $$;
       ALTER EXTENSION warden DROP FUNCTION warden.complete(uuid, text, jsonb);
       DROP FUNCTION warden.complete(uuid, text, jsonb);
       CREATE FUNCTION warden.complete(event_id uuid, status text, detail jsonb DEFAULT '{}')
       RETURNS ${returns} LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
       DECLARE
         done uuid;
       BEGIN
         ${body}
         done := warden.complete_before(event_id, status, detail);
         RETURN ${result};
       END $$;
       GRANT EXECUTE ON FUNCTION warden.complete(uuid, text, jsonb) TO warden_proxy;`);
}

export function restoreComplete() {
  sql(`DROP FUNCTION IF EXISTS warden.complete(uuid, text, jsonb);
       DROP FUNCTION IF EXISTS warden.complete_before(uuid, text, jsonb);
       DO $$ BEGIN EXECUTE (SELECT def FROM public.complete_definition); END $$;
       ALTER EXTENSION warden ADD FUNCTION warden.complete(uuid, text, jsonb);
       REVOKE ALL ON FUNCTION warden.complete(uuid, text, jsonb) FROM PUBLIC;
       GRANT EXECUTE ON FUNCTION warden.complete(uuid, text, jsonb) TO warden_proxy;
       DROP TABLE public.complete_definition;`);
}

// A minimal MCP server over HTTP (no session) with the tools `tools` (names); a tools/call is
// answered with what `answer(params)` returns ({result} or {error}). Resolves to the listening
// http.Server.
export function startToolUpstream(tools, answer) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const m = JSON.parse(body);
      if (m.id === undefined) { res.writeHead(202).end(); return; }
      const reply = (x) => res.writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: m.id, ...x }));
      if (m.method === 'initialize') {
        reply({ result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} },
          serverInfo: { name: 'test-upstream', version: '1.0.0' } } });
      } else if (m.method === 'tools/list') {
        reply({ result: { tools: tools.map((name) => ({ name, inputSchema: { type: 'object' } })) } });
      } else if (m.method === 'tools/call') {
        reply(answer(m.params));
      } else {
        reply({ error: { code: -32601, message: 'method not found' } });
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// startToolUpstream whose one tool, `fail`, answers with a JSON-RPC error carrying `message`
// (for outcomes whose detail an upstream controls).
export function startFailingUpstream(message) {
  return startToolUpstream(['fail'], () => ({ error: { code: -32000, message } }));
}
