-- warden 0.1.0: self-test (superuser only)

CREATE FUNCTION warden._selftest_boundary(mode text)
RETURNS text
LANGUAGE c STRICT
AS 'MODULE_PATHNAME', 'warden_selftest_boundary';
