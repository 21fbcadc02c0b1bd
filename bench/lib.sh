# Shared by the benchmarks' run.sh (sourced): free ports, waiting for a listener, and a fresh
# database with warden and the gateway's login role. PGHOST/PGPORT/PGUSER of a superuser.

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
