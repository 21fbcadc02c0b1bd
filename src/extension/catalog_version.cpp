#include "extension/catalog_version.hpp"

#include "extension/boundary.hpp"
#include "extension/postgres_headers.hpp"

#ifndef WARDEN_VERSION
#error "WARDEN_VERSION must be defined by the build (the extension's default_version)"
#endif

namespace warden::pg {

namespace {

bool version_matched = false;

// The database's installed warden version, or NULL when the extension is not installed.
// Plain data only: this runs under pg_call.
char* installed_version() {
  char* out = nullptr;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "warden: SPI_connect failed");
  if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'warden'", true,
                  1) == SPI_OK_SELECT &&
      SPI_processed == 1) {
    TupleDesc desc = SPI_tuptable->tupdesc;
    char* v = SPI_getvalue(SPI_tuptable->vals[0], desc, SPI_fnumber(desc, "extversion"));
    if (v != nullptr) out = MemoryContextStrdup(TopMemoryContext, v);
  }
  SPI_finish();
  return out;
}

}  // namespace

const char* library_version() {
  return WARDEN_VERSION;
}

void require_catalog_version() {
  if (version_matched || creating_extension) return;
  char* installed = pg_call([] { return installed_version(); });
  if (installed != nullptr && strcmp(installed, WARDEN_VERSION) == 0) {
    version_matched = true;
    return;
  }
  pg_call([&] {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("warden library %s is loaded, but this database has warden %s installed",
                    WARDEN_VERSION, installed != nullptr ? installed : "(none)"),
             errdetail("The library and the database's SQL objects must be the same release."),
             errhint("Run ALTER EXTENSION warden UPDATE; in this database.")));
  });
}

}  // namespace warden::pg
