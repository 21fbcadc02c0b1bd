#pragma once

// The shared library and the SQL objects of the database must be the same release: a newer
// library must not run silently against an older schema (a package upgrade replaces the
// library at once, while each database keeps its objects until ALTER EXTENSION warden UPDATE).

namespace warden::pg {

// The release this library was built as (the extension's default_version).
const char* library_version();

// Raises 55000 with a hint to run ALTER EXTENSION warden UPDATE unless the database's
// installed warden version equals library_version(). Checked once per backend (a version that
// matched keeps matching: downgrades need a new connection anyway); skipped while CREATE or
// ALTER EXTENSION runs warden's own scripts.
void require_catalog_version();

}  // namespace warden::pg
