#!/usr/bin/env bash
# bench/gateway_cost: what warden-mcp itself costs, with an upstream too fast to be the limit
# (responder.mjs: a minimal MCP server answering plain JSON) and a client without the SDK
# (client.mjs: plain node:http, one kept-alive connection per session). In one run, interleaved
# over BENCH_ROUNDS rounds:
#   baseline     pgbench: a bare durable INSERT of an event-sized row (../authorize/baseline.sql)
#                at 16 clients: every governed call needs at least one durable commit, so this
#                rate is the physical limit of governed calls/s at that concurrency
#   authorize    pgbench: warden.authorize alone (the allowed path of this benchmark's grant) at 1
#                client, per-transaction latencies logged: the decision itself, for the p50
#   direct       the responder itself
#   haproxy      Debian's HAProxy in front of the responder (ungoverned, for information)
#   warden-mcp   warden-mcp in front of the responder: a decision, an audit event and an outcome
#                per call
#   warden-unprepared  a second warden-mcp with --prepared-statements off (each query parsed and
#                planned anew, as before issue 18): warden-mcp / warden-unprepared is what
#                preparing the gateway's statements once per connection gives
#   warden-noride  a third warden-mcp with --completion-linger-ms 0 (each outcome in a
#                transaction of its own or of a batch of outcomes, never in a decision's):
#                warden-mcp / warden-noride is what carrying outcomes in the next decision's
#                transaction gives
# at 1 and 16 clients. Prints the two goals of issue 18: warden-mcp calls/s at 16 clients over
# the bare INSERT rate at 16 clients (goal >= 0.5), and at 1 client warden-mcp p50 minus (direct
# p50 + authorize p50), what the gateway adds beyond the decision and the upstream (goal <= 0.3
# ms); and the database's CPU per governed call.
# Env: BENCH_CALLS (default 6000 per target and client count, split over the rounds),
# BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5, each pgbench case per round),
# WARDEN_MCP (default build/warden-mcp), PGHOST/PGPORT/PGUSER of a superuser (scripts/pg env).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
calls=${BENCH_CALLS:-6000}
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-5}
binary=${WARDEN_MCP:-$root/build/warden-mcp}
db=bench_gateway_cost
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)
# free_port, wait_port, fresh_gateway_database, haproxy_config; cleanup at exit
source "$root/bench/lib.sh"
work="$(mktemp -d)"
bench_dirs+=("$work")
bench_db=$db

up_port=$(free_port)
PORT=$up_port node "$here/responder.mjs" >"$work/responder.log" 2>&1 &
up_pid=$!
bench_pids+=($up_pid)
wait_port "$up_port" responder

h_port=$(free_port)
haproxy_config "$work/haproxy.cfg" "$h_port" "$up_port"
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
h_pid=$!
bench_pids+=($h_pid)
wait_port "$h_port" haproxy

fresh_gateway_database "$db"
"${psql[@]}" -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT warden.add_human('bench@example.com');
SELECT warden.add_agent('bench-bot', 'bench@example.com');
SELECT warden.add_server('fast', 'http://127.0.0.1:$up_port/mcp', 'http');
SELECT warden.grant('bench-bot', 'fast/echo');
SQL
"${psql[@]}" -d "$db" -f "$root/bench/authorize/baseline_table.sql"
token=$("${psql[@]}" -d "$db" -c "SELECT token FROM warden.start_chain('bench@example.com', 'bench-bot', 'bench', ttl => '2 hours')")
# Each gateway's calls on a chain of their own, so that the run's transactions can be counted
# per gateway at the end.
chain_token() {
  "${psql[@]}" -d "$db" -c "SELECT token FROM warden.start_chain('bench@example.com', 'bench-bot', '$1', ttl => '2 hours')"
}
token_w=$(chain_token warden-mcp)
token_u=$(chain_token warden-unprepared)
token_n=$(chain_token warden-noride)
# The decision warden-mcp asks for, as pgbench runs it (the same grant, arguments of the same size).
cat >"$work/authorize.sql" <<'SQL'
SELECT allowed FROM warden.authorize(:token, 'fast', 'echo', '{"message": "bench 4711"}');
SQL
[ "$("${psql[@]}" -d "$db" -c "SELECT allowed FROM warden.authorize('$token', 'fast', 'echo', '{\"message\": \"x\"}')")" = t ] ||
  { echo "bench/gateway_cost: the benchmark's grant does not allow fast/echo" >&2; exit 1; }

# A warden-mcp on the benchmark's database (NAME, further options): sets warden_port and warden_pid.
start_warden() {
  local name="$1"; shift
  warden_port=$(free_port)
  "$binary" serve --db "host=$PGHOST port=$PGPORT dbname=$db user=warden_gateway" \
    --listen "127.0.0.1:$warden_port" "$@" >"$work/$name.log" 2>&1 &
  warden_pid=$!
  bench_pids+=($warden_pid)
  wait_port "$warden_port" "$name"
}
start_warden warden-mcp
w_port=$warden_port w_pid=$warden_pid
start_warden warden-unprepared --prepared-statements off
u_port=$warden_port u_pid=$warden_pid
start_warden warden-noride --completion-linger-ms 0
n_port=$warden_port n_pid=$warden_pid
checkpointer=$("${psql[@]}" -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
pm_pid=$(awk '{ print $4 }' "/proc/$checkpointer/stat")

results="$work/results"
per_round=$(( (calls + rounds - 1) / rounds ))
# pgbench CASE CLIENTS SCRIPT: one JSON line like client.mjs's (p50 from the per-transaction log).
bench_sql() {
  local name="$1" clients="$2" script="$3"
  rm -f "$work"/pgbench_log.*
  "${psql[@]}" -d "$db" -c "CHECKPOINT" >/dev/null
  (cd "$work" && pgbench -n -M prepared -T "$seconds" -c "$clients" -j "$clients" -D token="$token" \
    -l --log-prefix=pgbench_log -f "$script" "$db" >"$work/pgbench.out" 2>&1) ||
    { cat "$work/pgbench.out" >&2; exit 1; }
  # Log lines: client_id transaction_no time_us script_no time_epoch time_us_part.
  cat "$work"/pgbench_log.* | node -e '
    const lat = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => Number(l.split(" ")[2]) / 1000).sort((a, b) => a - b);
    const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)];
    const [name, clients, seconds] = process.argv.slice(1);
    console.log(JSON.stringify({ target: name, clients: Number(clients), calls: lat.length,
      p50_ms: Number(pct(50).toFixed(3)), p99_ms: Number(pct(99).toFixed(3)),
      calls_per_s: Number((lat.length / Number(seconds)).toFixed(1)) }));' "$name" "$clients" "$seconds"
}
for round in $(seq 1 "$rounds"); do
  echo "bench/gateway_cost: round $round of $rounds" >&2
  bench_sql baseline 16 "$root/bench/authorize/baseline.sql" >>"$results"
  bench_sql baseline 1 "$root/bench/authorize/baseline.sql" >>"$results"
  bench_sql authorize 1 "$work/authorize.sql" >>"$results"
  for clients in 1 16; do
    node "$here/client.mjs" direct "http://127.0.0.1:$up_port/mcp" echo "$clients" "$per_round" >>"$results"
    BENCH_CPU="gateway:$h_pid,upstream:$up_pid" \
      node "$here/client.mjs" haproxy "http://127.0.0.1:$h_port/mcp" echo "$clients" "$per_round" >>"$results"
    BENCH_CPU="gateway:$w_pid,upstream:$up_pid,database:$pm_pid*" \
      node "$here/client.mjs" warden-mcp "http://127.0.0.1:$w_port/mcp" fast__echo "$clients" "$per_round" "$token_w" >>"$results"
    BENCH_CPU="gateway:$u_pid,upstream:$up_pid,database:$pm_pid*" \
      node "$here/client.mjs" warden-unprepared "http://127.0.0.1:$u_port/mcp" fast__echo "$clients" "$per_round" "$token_u" >>"$results"
    BENCH_CPU="gateway:$n_pid,upstream:$up_pid,database:$pm_pid*" \
      node "$here/client.mjs" warden-noride "http://127.0.0.1:$n_port/mcp" fast__echo "$clients" "$per_round" "$token_n" >>"$results"
  done
done

# Per gateway: its decisions, its outcomes, how many of those were committed by a decision's
# transaction (the same xmin as a call event of the same gateway's chain), and the transactions
# that wrote them all: the commits per governed call, counted, not assumed.
transactions=$("${psql[@]}" -d "$db" -c "
  WITH e AS (SELECT ev.kind, ev.xmin::text AS xid, c.purpose FROM warden.events ev
             JOIN warden.chains c ON c.chain_id = ev.chain_id
             WHERE c.purpose IN ('warden-mcp', 'warden-unprepared', 'warden-noride')
               AND ev.kind IN ('call', 'completed'))
  SELECT string_agg(format('%s: %s decisions, %s outcomes (%s in a decision''s transaction), %s commits, %s per call',
                           purpose, calls, outcomes, rode, commits, round(commits::numeric / greatest(calls, 1), 2)),
                    '; ' ORDER BY purpose)
  FROM (SELECT purpose, count(*) FILTER (WHERE kind = 'call') AS calls,
               count(*) FILTER (WHERE kind = 'completed') AS outcomes,
               count(*) FILTER (WHERE kind = 'completed' AND xid IN (
                 SELECT xid FROM e c WHERE c.kind = 'call' AND c.purpose = e.purpose)) AS rode,
               count(DISTINCT xid) AS commits
        FROM e GROUP BY purpose) s")
node --input-type=module - "$root/bench/rounds.mjs" "$results" "$transactions" "$rounds" "$seconds" <<'JS'
const { mergeRounds, printRows } = await import(process.argv[2]);
const merged = mergeRounds(process.argv[3]);
const { get } = merged;
printRows(merged);
const ratio = (a, b) => (a.calls_per_s / b.calls_per_s).toFixed(2);
const w16 = get('warden-mcp', 16), b16 = get('baseline', 16), d16 = get('direct', 16), h16 = get('haproxy', 16);
const w1 = get('warden-mcp', 1), d1 = get('direct', 1), a1 = get('authorize', 1), h1 = get('haproxy', 1);
console.log(`16 clients: warden-mcp governed calls/s / bare durable INSERT/s = ${ratio(w16, b16)} (goal >= 0.5); `
  + `warden-mcp / direct = ${ratio(w16, d16)}; for information, HAProxy (ungoverned) / direct = ${ratio(h16, d16)}`);
console.log(`1 client: warden-mcp p50 - (direct p50 + authorize p50) = ${(w1.p50_ms - d1.p50_ms - a1.p50_ms).toFixed(2)} ms `
  + `(goal <= 0.3 ms; ${w1.p50_ms.toFixed(2)} - (${d1.p50_ms.toFixed(2)} + ${a1.p50_ms.toFixed(2)})); `
  + `for information, HAProxy p50 - direct p50 = ${(h1.p50_ms - d1.p50_ms).toFixed(2)} ms`);
for (const w of [w1, w16]) {
  if (w.cpu.database === undefined) continue;
  console.log(`${w.clients} client(s): CPU per governed call: database ${Math.round(w.cpu.database / w.calls)} us, `
    + `warden-mcp ${Math.round(w.cpu.gateway / w.calls)} us, responder ${Math.round(w.cpu.upstream / w.calls)} us`);
}
for (const c of [1, 16]) {
  const w = get('warden-mcp', c), n = get('warden-noride', c);
  console.log(`${c} client(s): warden-mcp / warden-noride calls/s = ${ratio(w, n)} (outcomes carried in the next `
    + `decision's transaction vs written apart); p50 ${(w.p50_ms - n.p50_ms).toFixed(2)} ms; database CPU per call `
    + `${Math.round(w.cpu.database / w.calls)} vs ${Math.round(n.cpu.database / n.calls)} us`);
}
for (const c of [1, 16]) {
  const w = get('warden-mcp', c), u = get('warden-unprepared', c);
  console.log(`${c} client(s): warden-mcp / warden-unprepared calls/s = ${ratio(w, u)} (statements prepared once per `
    + `connection vs parsed on every call); p50 ${(w.p50_ms - u.p50_ms).toFixed(2)} ms; database CPU per call `
    + `${Math.round(w.cpu.database / w.calls)} vs ${Math.round(u.cpu.database / u.calls)} us`);
}
console.log(`database round trips per governed call: 1 when its outcome rides with a later decision, else 2 (the `
  + `outcome alone or batched). Counted in this run: ${process.argv[4]}`);
console.log(`method: ${process.argv[5]} interleaved rounds; pgbench ${process.argv[6]} s per case and round; `
  + `load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
JS
