#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "extension/boundary.hpp"

// Test-only entry points that exercise the error boundary in both directions. Installed in the
// extension but executable only by superusers (the install script revokes them from PUBLIC).

namespace {

std::string text_arg(FunctionCallInfo fcinfo, int n) {
  text* t = PG_GETARG_TEXT_PP(n);
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

Datum divide_by_zero() {
  return DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0));
}

}  // namespace

WARDEN_SQL_FUNCTION(warden_selftest_boundary) {
  const std::string mode = text_arg(fcinfo, 0);
  if (mode == "cpp_exception") throw std::runtime_error("selftest: std::runtime_error from C++");
  if (mode == "warden_error") {
    throw warden::Error(warden::sqlstate::kInvalidParameterValue, "selftest: a warden error",
                        "raised from C++", "this hint travels with it");
  }
  if (mode == "pg_error") {
    // PostgreSQL's ERROR becomes a C++ exception, unwinds this frame, and is re-raised as-is.
    std::string keeps_a_destructor = "unwound by C++, not skipped by longjmp";
    warden::pg::pg_call(divide_by_zero);
    return 0;
  }
  if (mode == "pg_error_observed") {
    // Shows the conversion: C++ sees the SQLSTATE and the memory context it started in.
    MemoryContext before = CurrentMemoryContext;
    try {
      warden::pg::pg_call(divide_by_zero);
    } catch (const warden::pg::PgError& e) {
      std::string seen = std::string("caught ") + unpack_sql_state(e.sqlerrcode()) + ": " +
                         e.what() +
                         (CurrentMemoryContext == before ? " (memory context restored)"
                                                         : " (memory context NOT restored)");
      throw warden::Error("P0001", seen);
    }
    return 0;
  }
  if (mode == "ok") PG_RETURN_TEXT_P(cstring_to_text("ok"));
  throw warden::Error(warden::sqlstate::kInvalidParameterValue,
                      "unknown selftest mode \"" + mode + "\"", {},
                      "Use cpp_exception, warden_error, pg_error, pg_error_observed or ok.");
}
