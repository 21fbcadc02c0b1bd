#!/usr/bin/env bash
# Throughput of warden.authorize against a baseline measured in the same run: pgbench
# (-M prepared, -n) for a plain INSERT of an event-sized row (baseline_insert: a random key, the
# baseline since 0.1.0; baseline_ordered: a time-ordered key like warden's event ids), the allowed path and the denied
# (constraint_failed) path of warden.authorize, with 1 and 4 clients; and the credential step:
# the allowed path on a server that takes a minted JWT, alone (authorize_jwt) and with its
# credential as warden-mcp asks for it (authorize_with_credential: authorize with
# {"credential": "with_decision"}, then warden.credential_for_last_decision(), two transactions
# as in warden-mcp's pipeline). Prints TPS per case, the ratios authorize/baseline and
# authorize_with_credential/authorize_jwt (what the credential step costs); then, if warden.verify_audit exists, how many events per second
# it verifies over the events the run created. Uses its own database, bench_warden.
#
# Settings: BENCH_SECONDS (default 10) per case, BENCH_ROUNDS (default 3), BENCH_CLIENTS (default "1 4"), BENCH_ORDER
# (default: all cases).
# Needs PGHOST/PGPORT/PGUSER for a superuser (scripts/bench sets them for the private cluster).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
db=bench_warden
seconds="${BENCH_SECONDS:-10}"
read -r -a clients <<<"${BENCH_CLIENTS:-1 4}"
psql=(psql -X -q -v ON_ERROR_STOP=1 -At)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"${psql[@]}" -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"${psql[@]}" -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION warden;
SELECT warden.add_human('bench@example.com');
SELECT warden.add_agent('bench-bot', 'bench@example.com', 'authorize benchmark');
SELECT warden.add_server('bench', 'https://bench.internal/mcp');
SELECT warden.grant('bench-bot', 'bench/update_ticket',
                    '{"field": {"in": ["priority", "severity"]}, "ticket": {"min": 1}}', '1 day');
SELECT warden.add_server('bench-jwt', 'https://bench.internal/jwt', 'http', '{"kind": "jwt", "ttl_seconds": 30}');
SELECT warden.grant('bench-bot', 'bench-jwt/update_ticket',
                    '{"field": {"in": ["priority", "severity"]}, "ticket": {"min": 1}}', '1 day');
CREATE TABLE bench_token AS SELECT token FROM warden.start_chain('bench@example.com', 'bench-bot', 'bench', '2 hours');
SQL
"${psql[@]}" -d "$db" -f "$here/baseline_table.sql"
token="$("${psql[@]}" -d "$db" -c "SELECT token FROM bench_token")"

# Both authorize paths must decide as intended before they are timed.
check="$("${psql[@]}" -d "$db" -v token="$token" <<'SQL'
SELECT string_agg(reason, ' ' ORDER BY n) FROM (
  SELECT 1 AS n, a.reason FROM warden.authorize(:'token', 'bench', 'update_ticket',
    '{"ticket": 4711, "field": "priority", "value": "high", "comment": "raised by the triage run"}') a
  UNION ALL
  SELECT 2, a.reason FROM warden.authorize(:'token', 'bench', 'update_ticket',
    '{"ticket": 4711, "field": "status", "value": "closed", "comment": "closed by the triage run"}') a) s;
SQL
)"
[ "$check" = "granted constraint_failed" ] || { echo "bench: unexpected decisions: $check" >&2; exit 1; }

start_events="$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM warden.events")"
declare -A tps
cases=(baseline_insert baseline_ordered authorize_allowed authorize_denied authorize_jwt authorize_with_credential)
# The order the cases run in (the table is printed in the order above); e.g. to check for drift.
read -r -a order <<<"${BENCH_ORDER:-${cases[*]}}"
# baseline_ordered: baseline.sql with a time-ordered key (the millisecond clock, then random
# bytes), as warden's event ids are since 0.2.0 (version 7 uuids, src/core/uuid.hpp), so that
# neither side pays for inserting at random places in its primary key.
sed "s/VALUES (gen_random_uuid(),/VALUES (encode(substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::int8) FROM 3) || substring(uuid_send(gen_random_uuid()) FROM 7), 'hex')::uuid,/" \
  "$here/baseline.sql" >"$work/baseline_ordered.sql"
grep -q int8send "$work/baseline_ordered.sql" || { echo "bench: baseline.sql no longer starts its VALUES with gen_random_uuid()" >&2; exit 1; }
script_of() { case "$1" in baseline_insert) echo "$here/baseline.sql" ;; baseline_ordered) echo "$work/baseline_ordered.sql" ;; *) echo "$here/$1.sql" ;; esac; }
# Shared machines drift: every case runs in each of BENCH_ROUNDS rounds, the order rotating
# from round to round, and the median per case is reported.
rounds="${BENCH_ROUNDS:-3}"
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A samples
for c in "${clients[@]}"; do
  for ((r = 0; r < rounds; r++)); do
    rotated=("${order[@]:r % ${#order[@]}}" "${order[@]:0:r % ${#order[@]}}")
    for k in "${rotated[@]}"; do
      "${psql[@]}" -d "$db" -c "CHECKPOINT" >/dev/null 2>&1 || true
      pgbench -n -M prepared -T "$seconds" -c "$c" -j "$c" -D token="$token" -f "$(script_of "$k")" "$db" \
        >"$work/$k.$c.out" 2>&1 || { cat "$work/$k.$c.out" >&2; exit 1; }
      t="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/$k.$c.out" | head -n 1)"
      fails="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/$k.$c.out")"
      [ "${fails:-0}" = 0 ] || { echo "bench: $k with $c clients had $fails failed transactions" >&2; exit 1; }
      samples["$k.$c"]+="$t "
    done
  done
  for k in "${cases[@]}"; do tps["$k.$c"]="$(median <<<"${samples[$k.$c]}")"; done
done

echo
echo "warden.authorize throughput (pgbench -M prepared, median of ${rounds} rounds of ${seconds} s per case; PostgreSQL $("${psql[@]}" -d "$db" -c "SHOW server_version"))"
printf '%-26s %8s %12s %18s\n' case clients tps "ratio to baseline"
for c in "${clients[@]}"; do
  for k in "${cases[@]}"; do
    awk -v k="$k" -v c="$c" -v t="${tps[$k.$c]}" -v b="${tps[baseline_insert.$c]}" \
      'BEGIN { printf "%-26s %8d %12.0f %18.3f\n", k, c, t, t / b }'
  done
done
for c in "${clients[@]}"; do
  awk -v c="$c" -v a="${tps[authorize_allowed.$c]}" -v d="${tps[authorize_denied.$c]}" -v b="${tps[baseline_insert.$c]}" \
    'BEGIN { printf "clients=%d  authorize_allowed/baseline = %.3f  authorize_denied/baseline = %.3f\n", c, a / b, d / b }'
  awk -v c="$c" -v a="${tps[authorize_allowed.$c]}" -v d="${tps[authorize_denied.$c]}" -v b="${tps[baseline_ordered.$c]}" \
    'BEGIN { printf "clients=%d  authorize_allowed/baseline_ordered = %.3f  authorize_denied/baseline_ordered = %.3f (a time-ordered key on both sides)\n", c, a / b, d / b }'
done
for c in "${clients[@]}"; do
  awk -v c="$c" -v j="${tps[authorize_jwt.$c]}" -v w="${tps[authorize_with_credential.$c]}" \
    'BEGIN { printf "clients=%d  authorize_with_credential/authorize_jwt = %.3f (the credential step; aim >= 0.9)\n", c, w / j }'
done

end_events="$("${psql[@]}" -d "$db" -c "SELECT count(*) FROM warden.events")"
echo "events written by the run: $((end_events - start_events))"

# verify_audit over the events of the run (the setup's few events included).
if [ -n "$("${psql[@]}" -d "$db" -c "SELECT to_regprocedure('warden.verify_audit(timestamptz)')")" ]; then
  out="$("${psql[@]}" -F ' ' -d "$db" <<'SQL'
CREATE FUNCTION pg_temp.timed_verify(OUT ok boolean, OUT checked bigint, OUT seconds float8) LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  SELECT v.ok, v.events_checked INTO ok, checked FROM warden.verify_audit() v;
  seconds := extract(epoch FROM clock_timestamp() - t0);
END
$$;
SELECT ok, checked, seconds FROM pg_temp.timed_verify();
SQL
)"
  read -r ok checked secs <<<"$out"
  awk -v ok="$ok" -v n="$checked" -v s="$secs" \
    'BEGIN { printf "verify_audit: ok=%s, %d events in %.3f s = %.0f events/s\n", ok, n, s, n / s }'
  [ "$ok" = t ] || { echo "bench: verify_audit reported problems" >&2; exit 1; }
else
  echo "verify_audit: not available in this build"
fi
