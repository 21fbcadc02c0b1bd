# Shared settings for warden's scripts. Source it; do not run it.
# shellcheck shell=bash

WARDEN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WARDEN_HOME="${WARDEN_HOME:-$WARDEN_ROOT/.warden}"
WARDEN_PGPORT="${WARDEN_PGPORT:-54329}"
PG_BINDIR="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
# The Debian pg_config in /usr/bin belongs to libpq-dev; the server binaries live here.
[ -x "$PG_BINDIR/initdb" ] || PG_BINDIR=/usr/lib/postgresql/15/bin

export PGHOST="$WARDEN_HOME/run"
export PGPORT="$WARDEN_PGPORT"
export PGUSER="${WARDEN_PGUSER:-postgres}"
export PGDATABASE="${PGDATABASE:-warden}"

say() { printf '%s\n' "warden: $*" >&2; }
die() { printf '%s\n' "warden: error: $*" >&2; exit 1; }

# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` OS user.
if [ "$(id -u)" = 0 ]; then
  WARDEN_PG_OSUSER="${WARDEN_PG_OSUSER:-postgres}"
  as_pg() { (cd / && runuser -u "$WARDEN_PG_OSUSER" -- "$@"); }
else
  WARDEN_PG_OSUSER="$(id -un)"
  as_pg() { "$@"; }
fi
