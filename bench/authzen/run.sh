#!/usr/bin/env bash
# An AuthZEN evaluation through warden-mcp (POST /access/v1/evaluation, one keep-alive
# connection, sequential) next to the same decision asked directly (pgbench, one client,
# SELECT ... FROM warden.authorize, prepared): p50 and p90 latency of each, measured in the
# same run, in alternating rounds, and their ratio. Both make the same durable decision and
# audit event; the difference is HTTP + JSON + the gateway's pool.
# Settings: BENCH_CALLS (default 2000 per round and path), BENCH_ROUNDS (default 3).
# Needs PGHOST/PGPORT/PGUSER for a superuser (scripts/bench sets them) and build/warden-mcp.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
if [ -z "${PGHOST:-}" ] && [ -x scripts/pg ]; then eval "$(scripts/pg env)"; export PGHOST PGPORT PGUSER; fi
db=bench_authzen
calls="${BENCH_CALLS:-2000}"
rounds="${BENCH_ROUNDS:-3}"
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)
# fresh_gateway_database; cleanup at exit (the gateway, the work directory, the database)
source "$here/../lib.sh"
work="$(mktemp -d)"
bench_dirs+=("$work")
bench_db=$db
fresh_gateway_database "$db"
"${psql[@]}" -d "$db" >/dev/null <<'SQL'
SELECT warden.add_human('bench@example.com');
SELECT warden.add_agent('bench-bot', 'bench@example.com', 'authzen benchmark');
SELECT warden.add_server('bench', 'https://bench.internal/mcp');
SELECT warden.grant('bench-bot', 'bench/update_ticket',
                    '{"field": {"in": ["priority", "severity"]}, "ticket": {"min": 1}}', '1 day');
CREATE TABLE bench_token AS SELECT token FROM warden.start_chain('bench@example.com', 'bench-bot', 'bench', '2 hours');
SQL
token="$("${psql[@]}" -d "$db" -c "SELECT token FROM bench_token")"
pep="bench-pep-$RANDOM-$RANDOM-$RANDOM-0123456789"
printf '%s\n' "$pep" >"$work/pep"
chmod 600 "$work/pep"
cat >"$work/direct.sql" <<'SQL'
SELECT allowed FROM warden.authorize(:token, 'bench', 'update_ticket',
  '{"ticket": 4711, "field": "priority", "value": "high", "comment": "raised by the triage run"}');
SQL

build/warden-mcp serve --db "host=$PGHOST port=$PGPORT dbname=$db user=warden_gateway" \
  --listen 127.0.0.1:0 --pool 1 --pep-token-file "$work/pep" 2>"$work/gateway.log" &
bench_pids+=($!)
for _ in $(seq 100); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/mcp.*|\1|p' "$work/gateway.log")"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/gateway.log" >&2; exit 1; }

: >"$work/authzen.us"
: >"$work/direct.us"
for ((r = 0; r < rounds; r++)); do
  "${psql[@]}" -d "$db" -c "CHECKPOINT" >/dev/null 2>&1 || true
  node "$here/client.mjs" "http://127.0.0.1:$port" "$pep" "$token" "$calls" >>"$work/authzen.us"
  (cd "$work" && rm -f pgbench_log.* && pgbench -n -M prepared -c 1 -t "$calls" -l -D token="$token" \
     -f "$work/direct.sql" "$db" >"$work/pgbench.out" 2>&1) || { cat "$work/pgbench.out" >&2; exit 1; }
  awk '{ print $3 }' "$work"/pgbench_log.* >>"$work/direct.us"
done
quantile() { sort -g "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(NR * q); if (i < 1) i = 1; print v[i] }'; }
a50="$(quantile "$work/authzen.us" 0.5)"; a90="$(quantile "$work/authzen.us" 0.9)"
d50="$(quantile "$work/direct.us" 0.5)"; d90="$(quantile "$work/direct.us" 0.9)"
n="$(wc -l <"$work/authzen.us")"
printf 'authzen bench: %s evaluations per path, %s rounds alternating\n' "$n" "$rounds"
printf '  %-42s p50 %8.1f us   p90 %8.1f us\n' "direct SELECT FROM warden.authorize" "$d50" "$d90"
printf '  %-42s p50 %8.1f us   p90 %8.1f us\n' "AuthZEN POST /access/v1/evaluation" "$a50" "$a90"
awk -v a="$a50" -v d="$d50" 'BEGIN { printf "  ratio AuthZEN/direct p50: %.2fx (+%.0f us)\n", a / d, a - d }'
