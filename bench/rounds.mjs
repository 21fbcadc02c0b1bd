// Merges the JSON lines the benchmarks' clients print (one per target, client count and round)
// into one row per target and client count: calls/s over the summed time, p50 and p99 the
// median of the rounds' (each round's latencies are not kept), CPU per call weighted by calls.
import fs from 'node:fs';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

export function mergeRounds(file) {
  const runs = fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const rows = [];
  for (const r of runs) {
    let m = rows.find((x) => x.target === r.target && x.clients === r.clients);
    if (!m) rows.push(m = { target: r.target, clients: r.clients, calls: 0, seconds: 0, p50s: [], p99s: [], cpu: {} });
    m.calls += r.calls; m.seconds += r.calls / r.calls_per_s; m.p50s.push(r.p50_ms); m.p99s.push(r.p99_ms);
    for (const [k, v] of Object.entries(r.cpu_us_per_call ?? {})) m.cpu[k] = (m.cpu[k] ?? 0) + v * r.calls;
  }
  for (const m of rows) {
    m.calls_per_s = m.calls / m.seconds; m.p50_ms = median(m.p50s); m.p99_ms = median(m.p99s);
  }
  return {
    rows,
    get: (t, c) => rows.find((r) => r.target === t && r.clients === c),
    // CPU microseconds per call of one process group, or '-'.
    cpu: (r, k) => (r.cpu[k] === undefined ? '-' : String(Math.round(r.cpu[k] / r.calls))),
  };
}

export function printRows({ rows, cpu }) {
  console.log('target             clients   calls   p50 ms   p99 ms   calls/s   CPU us/call: gateway upstream database');
  for (const r of rows) {
    console.log(`${r.target.padEnd(18)} ${String(r.clients).padStart(7)} ${String(r.calls).padStart(7)} `
      + `${r.p50_ms.toFixed(2).padStart(8)} ${r.p99_ms.toFixed(2).padStart(8)} ${r.calls_per_s.toFixed(0).padStart(9)}`
      + `   ${cpu(r, 'gateway').padStart(20)} ${cpu(r, 'upstream').padStart(8)} ${cpu(r, 'database').padStart(8)}`);
  }
}
