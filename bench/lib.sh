# Shared by the benchmarks' run.sh (sourced): free ports, waiting for a listener, a fresh
# database with warden and the gateway's login role, the processes and files a run leaves
# behind, and HAProxy's configuration. PGHOST/PGPORT/PGUSER of a superuser.

# At exit: every process in bench_pids killed, the database bench_db dropped, every path in
# bench_dirs removed. A run appends to them as it goes.
bench_pids=()
bench_dirs=()
bench_db=""
bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$bench_db" ]; then
    psql -X -q -At -d postgres -c "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  for d in "${bench_dirs[@]}"; do rm -rf "$d"; done
}
trap bench_cleanup EXIT

# FILE PLAIN_PORT UPSTREAM_PORT [TLS_PORT PEM]: HAProxy as a reverse proxy in front of
# 127.0.0.1:UPSTREAM_PORT on 127.0.0.1:PLAIN_PORT, and with TLS_PORT also TLS-terminating there
# (PEM: certificate and key).
haproxy_config() {
  local file="$1" plain="$2" upstream="$3" tls="${4:-}" pem="${5:-}"
  {
    printf 'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n'
    printf '  timeout client 60s\n  timeout server 60s\n  timeout http-keep-alive 10s\n'
    printf 'frontend plain\n  bind 127.0.0.1:%s\n  default_backend upstream\n' "$plain"
    [ -z "$tls" ] || printf 'frontend tls\n  bind 127.0.0.1:%s ssl crt %s\n  default_backend upstream\n' "$tls" "$pem"
    printf 'backend upstream\n  http-reuse always\n  server upstream 127.0.0.1:%s\n' "$upstream"
  } >"$file"
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

wait_port() {  # PORT NAME
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$(basename "$(dirname "$0")"): $2 did not listen on $1" >&2; exit 1
}

# DATABASE: dropped if it exists, created with the extension and the warden_gateway role.
fresh_gateway_database() {
  psql -X -q -v ON_ERROR_STOP=1 -At -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION warden;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_gateway') THEN
    CREATE ROLE warden_gateway LOGIN IN ROLE warden_proxy;
  END IF;
END $$;
SQL
}
