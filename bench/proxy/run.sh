#!/usr/bin/env bash
# bench/proxy: one MCP client (client.mjs, the official SDK over Streamable HTTP), one upstream
# (server-everything's `echo`, over Streamable HTTP) and the same tools/call requests, in one
# run, through
#   direct        the upstream itself
#   warden-mcp    the upstream registered as an http server; a decision (warden.authorize) and an
#                 audit event (+ warden.complete) per call, grant everything/echo
#   supergateway  npm's stdio -> Streamable HTTP bridge (ungoverned), --stateful: one
#                 server-everything child per session
#   warden-stdio  warden-mcp in front of server-everything over stdio, as supergateway is (but
#                 one child shared by all sessions)
#   warden-jwt    as warden-mcp, but the upstream is registered with {"kind": "jwt"}: each call
#                 also gets a minted credential for its committed decision, in the same round
#                 trip (warden.credential_for_last_decision, pipelined behind authorize), and the
#                 vend is recorded; warden-jwt / warden-mcp calls/s is what that step costs
#   warden-agents as warden-stdio at 16 clients, but each client is a different agent (16
#                 chains): each agent gets its own upstream process, never one shared with
#                 another agent; warden-agents / warden-stdio calls/s is what that isolation costs
#   warden-agents-http  as warden-mcp at 16 clients, each client a different agent: each gets its
#                 own upstream session (HTTP connection) to the one upstream process;
#                 warden-agents-http / warden-mcp is warden's own per-agent cost, apart from
#                 the cost of running 16 upstream processes
#   warden-nobatch as warden-mcp, through a warden-mcp started with --completion-batch 1 (each call's
#                 outcome in a transaction of its own, as before issue 18): warden-mcp /
#                 warden-nobatch is what writing outcomes in batches gives
#   warden-nopool as warden-mcp, through a second warden-mcp started with --upstream-connections 0
#                 (a new upstream connection per request, as before issue 18): warden-mcp /
#                 warden-nopool is what the kept-alive connections give
#   haproxy       Debian's HAProxy as an ungoverned reverse proxy in front of the same upstream
#                 (for information: what a plain proxy costs)
#   direct-tls    the upstream through a local TLS terminator (HAProxy, a self-signed CA the
#                 clients trust: NODE_EXTRA_CA_CERTS, SSL_CERT_FILE for warden-mcp)
#   warden-tls    warden-mcp with the upstream registered as https:// through that terminator
#   warden-tls-nopool  the same through the warden-mcp without kept-alive connections (a full
#                 TLS handshake per request unless resumed)
# at 1 client and at 16 concurrent clients. Prints p50/p99 latency and calls/s per target and
# the ratios, each between two targets with the same upstream transport: warden-mcp p50 minus
# direct p50 (both on server-everything's Streamable HTTP), and warden-stdio calls/s over
# supergateway calls/s (both on server-everything over stdio). warden-mcp over
# supergateway is printed too, but its upstreams differ (HTTP vs stdio).
# Env: BENCH_CALLS (default 2000 per target, split over BENCH_ROUNDS, default 3), BENCH_WARMUP (calls per session before timing,
# default 20), BENCH_CLIENTS (default "1 16"), BENCH_TARGETS (default
# all; e.g. "warden-mcp warden-jwt" to measure one ratio), WARDEN_MCP (default build/warden-mcp),
# PGHOST/PGPORT/PGUSER of a superuser (scripts/pg env).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
calls=${BENCH_CALLS:-2000}
binary=${WARDEN_MCP:-$root/build/warden-mcp}
db=bench_proxy
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)

if [ ! -d "$here/node_modules/supergateway" ] || [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
everything="$here/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
supergateway="$here/node_modules/supergateway/dist/index.js"

# free_port, wait_port, fresh_gateway_database, haproxy_config; cleanup at exit
source "$root/bench/lib.sh"
bench_db=$db

# The upstream, shared by direct and warden-mcp.
# A self-signed CA and a certificate for 127.0.0.1, for the TLS terminator (HAProxy).
tls_dir="$(mktemp -d)"
bench_dirs+=("$tls_dir")
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=warden bench CA" \
  -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls_dir/server.key" \
  -out "$tls_dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$tls_dir/ext"
openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" \
  -CAcreateserial -days 2 -extfile "$tls_dir/ext" -out "$tls_dir/server.pem" 2>/dev/null
cat "$tls_dir/server.pem" "$tls_dir/server.key" >"$tls_dir/haproxy.pem"

up_port=$(free_port)
PORT=$up_port node "$everything" streamableHttp >/tmp/bench-proxy-upstream.log 2>&1 &
up_pid=$!
bench_pids+=($up_pid)
wait_port "$up_port" server-everything

# HAProxy in front of it: plain (haproxy) and TLS-terminating (direct-tls, warden-tls).
h_port=$(free_port)
t_port=$(free_port)
haproxy_config "$tls_dir/haproxy.cfg" "$h_port" "$up_port" "$t_port" "$tls_dir/haproxy.pem"
haproxy -f "$tls_dir/haproxy.cfg" -db >/tmp/bench-proxy-haproxy.log 2>&1 &
h_pid=$!
bench_pids+=($h_pid)
wait_port "$h_port" haproxy
wait_port "$t_port" haproxy-tls

# warden-mcp with its own database.
fresh_gateway_database "$db"
"${psql[@]}" -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT warden.add_human('bench@example.com');
SELECT warden.add_agent('bench-bot', 'bench@example.com');
SELECT warden.add_server('everything', 'http://127.0.0.1:$up_port/mcp', 'http');
SELECT warden.grant('bench-bot', 'everything/echo');
SELECT warden.add_server('everything-jwt', 'http://127.0.0.1:$up_port/mcp', 'http', '{"kind": "jwt"}');
SELECT warden.add_server('everything-tls', 'https://127.0.0.1:$t_port/mcp', 'http');
SELECT warden.grant('bench-bot', 'everything-tls/echo');
SELECT warden.grant('bench-bot', 'everything-jwt/echo');
SELECT warden.add_server('stdio', 'node $everything stdio', 'stdio');
SELECT warden.grant('bench-bot', 'stdio/echo');
SQL
token=$("${psql[@]}" -d "$db" -c "SELECT token FROM warden.start_chain('bench@example.com', 'bench-bot', 'bench', ttl => '2 hours')")
# 16 agents, each granted the stdio echo, each with its own chain (warden-agents).
agent_tokens=$("${psql[@]}" -d "$db" <<'SQL' | paste -sd, -
SET client_min_messages = warning;
SELECT count(warden.add_agent('bench-agent-' || i, 'bench@example.com')) FROM generate_series(1, 16) i \g /dev/null
SELECT count(warden.grant('bench-agent-' || i, 'stdio/echo')) FROM generate_series(1, 16) i \g /dev/null
SELECT count(warden.grant('bench-agent-' || i, 'everything/echo')) FROM generate_series(1, 16) i \g /dev/null
SELECT (warden.start_chain('bench@example.com', 'bench-agent-' || i, 'bench', ttl => '2 hours')).token
FROM generate_series(1, 16) i;
SQL
)
# The gateway host allows exactly the stdio upstream the benchmark registers. 17 agents use it
# (bench-bot's sessions stay open until they expire): room for 32 upstream processes.
allow="$(mktemp)"
printf 'node %s stdio\n' "$everything" >"$allow"
# A warden-mcp on the benchmark's database (NAME, further options): sets warden_port and warden_pid.
start_warden() {
  local name="$1"; shift
  warden_port=$(free_port)
  SSL_CERT_FILE="$tls_dir/ca.pem" "$binary" serve --db "host=$PGHOST port=$PGPORT dbname=$db user=warden_gateway" \
    --listen "127.0.0.1:$warden_port" --stdio-allow "$allow" --upstream-agents-max 32 "$@" \
    >"/tmp/bench-proxy-$name.log" 2>&1 &
  warden_pid=$!
  bench_pids+=($warden_pid)
  wait_port "$warden_port" "$name"
}
start_warden warden-mcp
w_port=$warden_port w_pid=$warden_pid
# The same gateway without kept-alive upstream connections (the before of issue 18).
start_warden warden-nopool --upstream-connections 0
n_port=$warden_port n_pid=$warden_pid
# The same gateway writing each call's outcome in a transaction of its own (the before of the
# batched completions, src/frontend/db/completion_batch.cpp).
start_warden warden-nobatch --completion-batch 1
b_port=$warden_port b_pid=$warden_pid

s_port=$(free_port)
node "$supergateway" --stdio "node $everything stdio" --outputTransport streamableHttp --stateful \
  --port "$s_port" --logLevel none >/tmp/bench-proxy-supergateway.log 2>&1 &
s_pid=$!
bench_pids+=($s_pid)
wait_port "$s_port" supergateway

# CPU per call (client.mjs BENCH_CPU): the gateway process itself, the upstream (the HTTP
# server, or a gateway's stdio children) and the database cluster (postmaster and backends).
checkpointer=$("${psql[@]}" -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
pm_pid=$(awk '{ print $4 }' "/proc/$checkpointer/stat")
cpu_http="gateway:$w_pid,upstream:$up_pid,database:$pm_pid*"
cpu_stdio="gateway:$w_pid,upstream:$w_pid/,database:$pm_pid*"
cpu_nopool="gateway:$n_pid,upstream:$up_pid,database:$pm_pid*"
cpu_nobatch="gateway:$b_pid,upstream:$up_pid,database:$pm_pid*"

results=$(mktemp)
all_targets="direct warden-mcp warden-nopool warden-nobatch haproxy direct-tls warden-tls warden-tls-nopool supergateway warden-stdio warden-jwt warden-agents warden-agents-http"
targets=" ${BENCH_TARGETS:-$all_targets} "
# Rounds interleave the targets (BENCH_ROUNDS, default 3, each 1/rounds of the calls), so load
# from anything else on a shared machine falls on every target alike; the summary merges them.
rounds=${BENCH_ROUNDS:-3}
per_round=$(( (calls + rounds - 1) / rounds ))
for clients in ${BENCH_CLIENTS:-1 16}; do
  for round in $(seq 1 "$rounds"); do
    for t in $all_targets; do
      case "$targets" in *" $t "*) ;; *) continue ;; esac
      case "$t" in
        direct) BENCH_CPU="upstream:$up_pid" node "$here/client.mjs" direct "http://127.0.0.1:$up_port/mcp" echo "$clients" "$per_round" ;;
        warden-mcp) BENCH_CPU=$cpu_http node "$here/client.mjs" warden-mcp "http://127.0.0.1:$w_port/mcp" everything__echo "$clients" "$per_round" "$token" ;;
        warden-nopool) BENCH_CPU=$cpu_nopool node "$here/client.mjs" warden-nopool "http://127.0.0.1:$n_port/mcp" everything__echo "$clients" "$per_round" "$token" ;;
        warden-nobatch) BENCH_CPU=$cpu_nobatch node "$here/client.mjs" warden-nobatch "http://127.0.0.1:$b_port/mcp" everything__echo "$clients" "$per_round" "$token" ;;
        haproxy) BENCH_CPU="gateway:$h_pid,upstream:$up_pid" node "$here/client.mjs" haproxy "http://127.0.0.1:$h_port/mcp" echo "$clients" "$per_round" ;;
        direct-tls) BENCH_CPU="upstream:$up_pid" NODE_EXTRA_CA_CERTS="$tls_dir/ca.pem" node "$here/client.mjs" direct-tls "https://127.0.0.1:$t_port/mcp" echo "$clients" "$per_round" ;;
        warden-tls) BENCH_CPU=$cpu_http node "$here/client.mjs" warden-tls "http://127.0.0.1:$w_port/mcp" everything-tls__echo "$clients" "$per_round" "$token" ;;
        warden-tls-nopool) BENCH_CPU=$cpu_nopool node "$here/client.mjs" warden-tls-nopool "http://127.0.0.1:$n_port/mcp" everything-tls__echo "$clients" "$per_round" "$token" ;;
        supergateway) BENCH_CPU="gateway:$s_pid,upstream:$s_pid/" node "$here/client.mjs" supergateway "http://127.0.0.1:$s_port/mcp" echo "$clients" "$per_round" ;;
        warden-stdio) BENCH_CPU=$cpu_stdio node "$here/client.mjs" warden-stdio "http://127.0.0.1:$w_port/mcp" stdio__echo "$clients" "$per_round" "$token" ;;
        warden-jwt) BENCH_CPU=$cpu_http node "$here/client.mjs" warden-jwt "http://127.0.0.1:$w_port/mcp" everything-jwt__echo "$clients" "$per_round" "$token" ;;
        # One agent per client: only meaningful with 16 clients (16 agents).
        warden-agents) [ "$clients" = 16 ] || continue
          BENCH_CPU=$cpu_stdio node "$here/client.mjs" warden-agents "http://127.0.0.1:$w_port/mcp" stdio__echo 16 "$per_round" "$agent_tokens" ;;
        warden-agents-http) [ "$clients" = 16 ] || continue
          BENCH_CPU=$cpu_http node "$here/client.mjs" warden-agents-http "http://127.0.0.1:$w_port/mcp" everything__echo 16 "$per_round" "$agent_tokens" ;;
      esac >>"$results"
    done
  done
done

audited=$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM warden.events WHERE kind = 'call' AND allowed")
# How many transactions the outcomes took, all gateways together (a row's xmin is its transaction).
batched=$("${psql[@]}" -d "$db" -c "SELECT count(*) || ' completions in ' || count(DISTINCT xmin::text) || ' transactions' FROM warden.events WHERE kind = 'completed'")
node --input-type=module - "$root/bench/rounds.mjs" "$results" "$audited" "$batched" <<'JS'
const { mergeRounds, printRows } = await import(process.argv[2]);
const merged = mergeRounds(process.argv[3]);
const { get } = merged;
printRows(merged);
for (const c of [1, 16]) {
  const d = get('direct', c), w = get('warden-mcp', c), s = get('supergateway', c), ws = get('warden-stdio', c);
  const wj = get('warden-jwt', c);
  if (wj && w) {
    console.log(`${c} client(s): warden-jwt calls/s / warden-mcp calls/s = ${(wj.calls_per_s / w.calls_per_s).toFixed(2)} `
      + `(the credential step, pipelined behind the decision; aim >= 0.9); p50 +${(wj.p50_ms - w.p50_ms).toFixed(2)} ms`);
  }
  if (!d || !w || !s) continue;
  const same = ws ? `warden-stdio calls/s / supergateway calls/s = ${(ws.calls_per_s / s.calls_per_s).toFixed(2)} (aim >= 1, same stdio upstream); ` : '';
  console.log(`${c} client(s): warden-mcp p50 - direct p50 = ${(w.p50_ms - d.p50_ms).toFixed(2)} ms (aim < 1 ms, same HTTP upstream); `
    + same
    + `warden-mcp (HTTP upstream) calls/s / supergateway (stdio upstream) calls/s = ${(w.calls_per_s / s.calls_per_s).toFixed(2)}`);
}
const wa = get('warden-agents', 16), ws16 = get('warden-stdio', 16);
if (wa && ws16) {
  console.log(`16 clients: warden-agents calls/s / warden-stdio calls/s = ${(wa.calls_per_s / ws16.calls_per_s).toFixed(2)} `
    + `(16 agents, one upstream process each, vs one agent sharing one process); p50 +${(wa.p50_ms - ws16.p50_ms).toFixed(2)} ms`);
  if (wa.cpu.gateway !== undefined && ws16.cpu.gateway !== undefined) {
    // Where the isolation's cost lies: warden-mcp's own CPU per call, and the upstream
    // processes' (16 cold-started node processes each handling one call at a time, vs one).
    console.log(`16 clients: CPU per call, warden-agents / warden-stdio: warden-mcp ${(wa.cpu.gateway / wa.calls / (ws16.cpu.gateway / ws16.calls)).toFixed(2)}, `
      + `upstream processes ${(wa.cpu.upstream / wa.calls / (ws16.cpu.upstream / ws16.calls)).toFixed(2)}`);
  }
}
const wah = get('warden-agents-http', 16), wm16 = get('warden-mcp', 16);
if (wah && wm16) {
  console.log(`16 clients: warden-agents-http calls/s / warden-mcp calls/s = ${(wah.calls_per_s / wm16.calls_per_s).toFixed(2)} `
    + `(16 agents, each its own upstream session on one HTTP upstream, vs one agent): warden's own per-agent cost, `
    + `without 16 upstream processes`);
}
// Issue 18: the gateway against a plain call of the same upstream, and kept-alive connections
// against a connection per request (the same gateway binary, --upstream-connections 0).
const ratio = (a, b) => (a && b ? (a.calls_per_s / b.calls_per_s).toFixed(2) : 'n/a');
const plus = (a, b) => (a && b ? `+${(a.p50_ms - b.p50_ms).toFixed(2)} ms` : 'n/a');
for (const [w, d, nopool, what] of [['warden-mcp', 'direct', 'warden-nopool', 'HTTP'],
  ['warden-tls', 'direct-tls', 'warden-tls-nopool', 'TLS']]) {
  if (!get(w, 16) && !get(w, 1)) continue;
  console.log(`${what}, 16 clients: ${w} / ${d} calls/s = ${ratio(get(w, 16), get(d, 16))} (goal >= 0.9); `
    + `${nopool} / ${d} = ${ratio(get(nopool, 16), get(d, 16))}; ${w} / ${nopool} = ${ratio(get(w, 16), get(nopool, 16))}`);
  console.log(`${what}, 1 client: ${w} p50 - ${d} p50 = ${plus(get(w, 1), get(d, 1))} (goal <= +0.5 ms); `
    + `${nopool} p50 - ${d} p50 = ${plus(get(nopool, 1), get(d, 1))}`);
  const a = get(w, 16), b = get(nopool, 16);
  if (a && b && a.cpu.gateway !== undefined && b.cpu.gateway !== undefined) {
    console.log(`${what}, 16 clients: warden-mcp CPU per call, ${w} / ${nopool} = `
      + `${((a.cpu.gateway / a.calls) / (b.cpu.gateway / b.calls)).toFixed(2)}`);
  }
}
// Batched outcomes: the same gateway writing one transaction per outcome (--completion-batch 1).
for (const c of [16, 1]) {
  const a = get('warden-mcp', c), b = get('warden-nobatch', c);
  if (!a || !b) continue;
  const db = (r) => (r.cpu.database === undefined ? 'n/a' : String(Math.round(r.cpu.database / r.calls)));
  console.log(`HTTP, ${c} client(s): warden-mcp / warden-nobatch calls/s = ${ratio(a, b)} (outcomes batched vs one `
    + `transaction each); database CPU us/call ${db(a)} vs ${db(b)}`);
}
console.log(`outcomes (warden.complete) of the whole run, every gateway: ${process.argv[5]}`);
if (get('haproxy', 16)) {
  console.log(`for information, HAProxy (ungoverned) / direct calls/s at 16 clients = ${ratio(get('haproxy', 16), get('direct', 16))}; `
    + `1 client p50 ${plus(get('haproxy', 1), get('direct', 1))}`);
}
console.log(`load average: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`warden-mcp audited ${process.argv[4]} allowed calls (one decision and event each)`);
JS
rm -f "$results"
