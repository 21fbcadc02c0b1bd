#!/usr/bin/env bash
# bench/sessions: what idle agents cost the gateway. One warden-mcp in front of
# server-everything's Streamable HTTP (`echo`, granted), then in one run:
#   without   16 official-SDK clients making BENCH_CALLS (default 2000) governed calls
#             (bench/proxy's client.mjs): p50/p99 and calls/s; warden-mcp's RSS before
#   idle      BENCH_SESSIONS (default 10,000) further sessions, each initialized and holding
#             its GET stream open (idle.mjs), all from one token; warden-mcp's RSS with them
#   with      the same 16 clients and calls while the idle sessions stay open
#   after     the same again once the idle sessions are gone (brackets drift on a shared box)
# Prints the RSS (MB) with the idle sessions, per idle session (kB), and p99 with / p99
# without (the mean of "without" and "after"). Issue 18's goals: RSS <= 200 MB, p99 within
# 10 % (ratio <= 1.10). It reports; it asserts only that every idle stream stayed open.
# Env: BENCH_SESSIONS, BENCH_CALLS, WARDEN_MCP (default build/warden-mcp), PGHOST/PGPORT/PGUSER
# of a superuser (scripts/pg env).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
sessions=${BENCH_SESSIONS:-10000}
calls=${BENCH_CALLS:-2000}
binary=${WARDEN_MCP:-$root/build/warden-mcp}
db=bench_sessions
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)
proxy="$root/bench/proxy"

# Two descriptors per idle session on this machine (the gateway's and the client's end).
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((sessions + 1024)) ]; then
  ulimit -n $((sessions + 1024)) 2>/dev/null ||
    { echo "bench/sessions: needs $((sessions + 1024)) open files per process (ulimit -n is $(ulimit -n))" >&2; exit 1; }
fi
if [ ! -d "$proxy/node_modules/@modelcontextprotocol/sdk" ]; then
  (cd "$proxy" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
everything="$proxy/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

# free_port, wait_port, fresh_gateway_database; cleanup at exit
source "$root/bench/lib.sh"
bench_db=$db

up_port=$(free_port)
PORT=$up_port node "$everything" streamableHttp >/tmp/bench-sessions-upstream.log 2>&1 &
bench_pids+=($!)
wait_port "$up_port" server-everything

fresh_gateway_database "$db"
"${psql[@]}" -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
SELECT warden.add_human('bench@example.com');
SELECT warden.add_agent('bench-bot', 'bench@example.com');
SELECT warden.add_agent('idle-bot', 'bench@example.com');
SELECT warden.add_server('everything', 'http://127.0.0.1:$up_port/mcp', 'http');
SELECT warden.grant('bench-bot', 'everything/echo');
SQL
token=$("${psql[@]}" -d "$db" -c "SELECT token FROM warden.start_chain('bench@example.com', 'bench-bot', 'bench', ttl => '2 hours')")
idle_token=$("${psql[@]}" -d "$db" -c "SELECT token FROM warden.start_chain('bench@example.com', 'idle-bot', 'idle', ttl => '2 hours')")

w_port=$(free_port)
"$binary" serve --db "host=$PGHOST port=$PGPORT dbname=$db user=warden_gateway" --listen "127.0.0.1:$w_port" \
  --max-connections $((sessions + 512)) --max-connections-per-address $((sessions + 512)) \
  --max-sessions-per-agent 0 \
  >/tmp/bench-sessions-warden.log 2>&1 &
w_pid=$!
bench_pids+=($w_pid)
wait_port "$w_port" warden-mcp
url="http://127.0.0.1:$w_port/mcp"

rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$w_pid/status"; }
measure() {  # LABEL -> one JSON line from client.mjs
  BENCH_WARMUP=20 node "$proxy/client.mjs" "$1" "$url" everything__echo 16 "$calls" "$token"
}
field() { node -e 'const r=JSON.parse(process.argv[1]); console.log(r[process.argv[2]])' "$1" "$2"; }

echo "bench/sessions: warming up" >&2
measure warmup >/dev/null
rss_before=$(rss_mb)
without=$(measure without)
echo "without: $without"

echo "bench/sessions: opening $sessions idle sessions with GET streams" >&2
idle_in="$(mktemp -u)"; mkfifo "$idle_in"
idle_out="$(mktemp)"
node "$here/idle.mjs" "$url" "$idle_token" "$sessions" <"$idle_in" >"$idle_out" &
idle_pid=$!
bench_pids+=($idle_pid)
exec 7>"$idle_in"
started=$SECONDS
until grep -q '^ready' "$idle_out"; do
  kill -0 "$idle_pid" 2>/dev/null || { echo "bench/sessions: the idle client failed" >&2; exit 1; }
  sleep 0.5
done
sleep 2  # let the gateway settle after the burst of initializes
rss_idle=$(rss_mb)
echo "bench/sessions: $sessions idle sessions open after $((SECONDS - started)) s; warden-mcp RSS $rss_idle MB (before: $rss_before MB)" >&2
with=$(measure with)
echo "with: $with"
rss_with=$(rss_mb)
exec 7>&-  # closing the idle client's stdin ends it
wait "$idle_pid" || true
rm -f "$idle_in"
dropped=$(sed -n 's/^dropped //p' "$idle_out")
sleep 2
after=$(measure after)
echo "after: $after"
rss_end=$(rss_mb)

p99_without=$(node -e 'console.log((((+process.argv[1]) + (+process.argv[2])) / 2).toFixed(2))' "$(field "$without" p99_ms)" "$(field "$after" p99_ms)")
p99_with=$(field "$with" p99_ms)
ratio=$(node -e 'console.log((process.argv[1] / process.argv[2]).toFixed(2))' "$p99_with" "$p99_without")
per_session=$(node -e 'console.log(((process.argv[1] - process.argv[2]) * 1024 / process.argv[3]).toFixed(1))' "$rss_idle" "$rss_before" "$sessions")
echo
echo "warden-mcp RSS: ${rss_before} MB before, ${rss_idle} MB with $sessions idle sessions (${per_session} kB each), ${rss_with} MB after the calls with them, ${rss_end} MB once they were gone (goal <= 200 MB)"
echo "p99 at 16 clients: ${p99_with} ms with the idle sessions, ${p99_without} ms without (mean of before and after); ratio ${ratio} (goal <= 1.10)"
echo "calls/s at 16 clients: with $(field "$with" calls_per_s), without $(field "$without" calls_per_s), after $(field "$after" calls_per_s)"
echo "idle streams the gateway closed meanwhile: ${dropped:-unknown}"
[ "${dropped:-1}" = 0 ]
