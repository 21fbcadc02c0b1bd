#!/usr/bin/env bash
# Finding 1 of the 0.1.0 review (schema_squatting_to_superuser): a role with CREATE on the
# database makes schema warden first, with an overload of an internal function; a superuser
# then runs CREATE EXTENSION warden. 0.1.0 reused the schema and its SECURITY DEFINER code ran
# the attacker's overload as the superuser. Now CREATE EXTENSION refuses any schema warden it
# cannot trust (not the installer's or a superuser's, others may create in it, or it is not
# empty), and the attacker's function never runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi

db=warden_shell_squat
attacker=warden_shell_squatter
failures=0
cleanup() {
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS $attacker" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" "$@"; }
# CREATE EXTENSION as the superuser: "ok" or the SQLSTATE of the refusal.
install() { { psql -X -q -tA -v VERBOSITY=sqlstate -d "$db" -c 'CREATE EXTENSION warden' 2>&1 || true; } | sed 's/^ERROR: *//' | tail -n 1; }

cleanup
createdb "$db"
psql -X -q -d postgres -c "CREATE ROLE $attacker LOGIN"
q -c "GRANT CREATE ON DATABASE $db TO $attacker"

# The attack: the schema, and an _event overload whose text parameter would catch an untyped
# NULL, which records (as the definer) that it ran and makes its caller a superuser.
q -U "$attacker" -c "CREATE SCHEMA warden" -c "
  CREATE TABLE warden.ran (who text, super boolean);
  CREATE FUNCTION warden._event(kind text, chain_id uuid, token_id uuid, parent_id text)
  RETURNS uuid LANGUAGE plpgsql AS \$\$ BEGIN
    INSERT INTO warden.ran SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
    RETURN NULL; END \$\$;
  GRANT ALL ON SCHEMA warden TO PUBLIC; GRANT ALL ON TABLE warden.ran TO PUBLIC;"
r="$(install)"
if [ "$r" = "42501" ]; then pass "CREATE EXTENSION refuses a schema warden owned by another role (42501)"; else fail "attacker's schema: CREATE EXTENSION said '$r'"; fi
check_not_run() {
  local n; n="$(q -c "SELECT count(*) FROM warden.ran" 2>/dev/null || echo 0)"
  if [ "$n" = "0" ]; then pass "$1: the planted function never ran"; else fail "$1: the planted function ran $n times"; fi
}
check_not_run "attacker-owned schema"
check="$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'warden'")"
if [ "$check" = "0" ]; then pass "nothing was installed"; else fail "warden got installed into the attacker's schema"; fi

# The same schema handed to the superuser (ALTER ... OWNER by a superuser who did not look):
# still refused, because the attacker's objects are in it and PUBLIC may create there.
q -c "ALTER SCHEMA warden OWNER TO CURRENT_USER"
r="$(install)"
if [ "$r" = "42501" ]; then pass "a superuser-owned schema others may create in is refused (42501)"; else fail "superuser-owned, PUBLIC CREATE: '$r'"; fi
q -c "REVOKE ALL ON SCHEMA warden FROM PUBLIC"
r="$(install)"
if [ "$r" = "42P06" ]; then pass "a superuser-owned schema that holds objects is refused (42P06)"; else fail "superuser-owned, not empty: '$r'"; fi
check_not_run "superuser-owned schema with objects"

# An empty schema the superuser made is fine, and so is none at all.
q -c "DROP SCHEMA warden CASCADE" -c "CREATE SCHEMA warden"
r="$(install)"
if [ "$r" = "" ]; then pass "an empty schema of the superuser's is used"; else fail "empty superuser schema: '$r'"; fi
q -c "DROP EXTENSION warden" -c "DROP SCHEMA IF EXISTS warden"
r="$(install)"
if [ "$r" = "" ]; then pass "without a schema warden, CREATE EXTENSION makes its own"; else fail "no schema: '$r'"; fi

# Every call from warden's SQL into its own internal functions passes typed arguments, so even
# an overload in the schema could not be picked by an untyped NULL or literal.
untyped="$(q -c "SELECT string_agg(p.proname, ', ' ORDER BY p.proname) FROM pg_proc p
  WHERE p.pronamespace = 'warden'::regnamespace AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
    AND (p.prosrc ~ 'warden\._event\(''[a-z_]+''\s*[,)]' OR p.prosrc ~ 'warden\._event\([^;]*[,(]\s*NULL\s*[,)]')")"
if [ -z "$untyped" ]; then pass "no plpgsql function passes an untyped kind or NULL to warden._event"
else fail "functions calling warden._event with untyped arguments: $untyped"; fi

[ "$failures" -eq 0 ]
