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

# stdio upstreams run as an unprivileged user (nobody) when warden-mcp runs as root, and must
# be able to read their programs. A checkout in a private folder (mode 0700, e.g. a mktemp dir
# or /root) is not readable by them: then a copy of DIR, readable by all, is made under
# /var/tmp and its path printed; otherwise DIR itself.
readable_by_children() {  # DIR NAME
  local dir="$1" name="$2" root stage
  if [ "$(id -u)" != 0 ] || (cd / && runuser -u nobody -- test -r "$dir/." -a -x "$dir") 2>/dev/null; then
    printf '%s\n' "$dir"; return 0
  fi
  # The copy keeps DIR's own name (a node_modules folder must stay one for Node to resolve
  # packages inside it).
  root="/var/tmp/warden-$name-$(printf '%s' "$dir" | sha256sum | cut -c1-12)"
  stage="$root/$(basename "$dir")"
  rm -rf "$root"; mkdir -p "$stage"
  cp -a "$dir/." "$stage/"
  chmod -R a+rX "$root"; chmod 0755 "$root" "$stage"
  printf '%s\n' "$stage"
}
