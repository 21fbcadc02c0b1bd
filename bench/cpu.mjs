// CPU accounting for the benchmarks' clients (BENCH_CPU="name:pid,..."): the CPU time (user +
// system) spent during the timed calls, per call, by each named process (`name:PID`), by its
// live descendants only (`name:PID/`, e.g. a gateway's upstream children) or by both
// (`name:PID*`, e.g. a database cluster's postmaster and backends). On a shared machine
// calls/s moves with the load; CPU per call does not, so it shows where a cost lies.
import { readFileSync, readdirSync } from 'node:fs';

function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch { /* the process ended while we looked */ }
  }
  return table;
}

// meter.start() before the timed calls, meter.perCall(calls) after: {name: microseconds}.
export function cpuMeter(spec = process.env.BENCH_CPU ?? '') {
  const groups = spec.split(',').filter(Boolean).map((g) => {
    const [name, pidSpec] = g.split(':');
    const mode = pidSpec.endsWith('/') ? 'descendants' : pidSpec.endsWith('*') ? 'tree' : 'self';
    return { name, pid: Number.parseInt(pidSpec, 10), mode };
  });
  const ticks = () => {
    const table = processTable();
    return groups.map(({ pid, mode }) => {
      let sum = 0;
      for (const [p, row] of table) {
        if (p === pid) { if (mode !== 'descendants') sum += row.ticks; continue; }
        if (mode === 'self') continue;
        for (let q = row.ppid, hops = 0; q > 1 && hops < 64; q = table.get(q)?.ppid ?? 0, hops++) {
          if (q === pid) { sum += row.ticks; break; }
        }
      }
      return sum;
    });
  };
  let before = [];
  return {
    enabled: groups.length > 0,
    start() { before = ticks(); },
    // Linux counts CPU time in clock ticks of 10 ms (USER_HZ = 100).
    perCall(calls) {
      const after = ticks();
      return Object.fromEntries(groups.map(({ name }, i) => [
        name, Math.round(((after[i] - before[i]) * 10000) / calls)]));
    },
  };
}
