// The timed part shared by the benchmarks' clients: every session makes its share of `calls`
// sequential calls, all sessions at once; prints one JSON line
// {target, clients, calls, p50_ms, p99_ms, calls_per_s[, cpu_us_per_call]} (see rounds.mjs).
import { performance } from 'node:perf_hooks';
import { cpuMeter } from './cpu.mjs';

// call(session, n): one call, numbered n across all sessions; rejects on a wrong answer.
export async function timedCalls({ target, sessions, calls, call }) {
  const meter = cpuMeter();
  const latencies = [];
  const share = Math.ceil(calls / sessions.length);
  meter.start();
  const started = performance.now();
  await Promise.all(sessions.map(async (s, n) => {
    for (let i = 0; i < share; i++) {
      const t = performance.now();
      await call(s, n * share + i);
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpu_us_per_call = meter.perCall(latencies.length);
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  console.log(JSON.stringify({
    target, clients: sessions.length, calls: latencies.length,
    p50_ms: Number(pct(50).toFixed(3)), p99_ms: Number(pct(99).toFixed(3)),
    calls_per_s: Number((latencies.length / seconds).toFixed(1)),
    ...(meter.enabled ? { cpu_us_per_call } : {}),
  }));
}
