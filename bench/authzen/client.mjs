// Sequential AuthZEN evaluations (one keep-alive connection): prints one latency per line, in
// microseconds. Usage: node client.mjs URL PEP_TOKEN TASK_TOKEN COUNT
const [url, pep, token, count] = process.argv.slice(2);
const body = JSON.stringify({
  subject: { type: 'agent', id: token },
  action: { name: 'tools/call' },
  resource: { type: 'tool', id: 'bench/update_ticket' },
  context: { arguments: { ticket: 4711, field: 'priority', value: 'high', comment: 'raised by the triage run' } },
});
const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${pep}` };
const out = [];
for (let i = 0; i < Number(count); i++) {
  const start = process.hrtime.bigint();
  const r = await fetch(`${url}/access/v1/evaluation`, { method: 'POST', headers, body });
  const d = await r.json();
  const us = Number(process.hrtime.bigint() - start) / 1000;
  if (d.decision !== true) throw new Error(`unexpected answer ${r.status} ${JSON.stringify(d)}`);
  out.push(us.toFixed(1));
}
process.stdout.write(`${out.join('\n')}\n`);
