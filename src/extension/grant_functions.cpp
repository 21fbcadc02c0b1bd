#include <nlohmann/json.hpp>

#include "core/bounded_json.hpp"
#include "core/constraints.hpp"
#include "core/error.hpp"
#include "extension/pg_pattern_engine.hpp"
#include "extension/sql_values.hpp"

// warden._check_constraints: grant-time validation of argument constraints, so that a
// malformed constraint or an invalid regular expression is an error when granted, never a
// surprise at call time.

using namespace warden;
using namespace warden::pg;

WARDEN_SQL_FUNCTION(warden_check_constraints) {
  if (PG_ARGISNULL(0)) PG_RETURN_VOID();
  char* text =
      pg_call([&] { return DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(0))); });
  auto constraints = parse_json_bounded(text, 32, 1024 * 1024);
  if (!constraints) {
    throw Error(sqlstate::kInvalidParameterValue, "constraints are too large or too deeply nested",
                {}, "Keep constraints under 1 MiB and 32 levels.");
  }
  PgPatternEngine patterns;
  if (auto problem = validate_constraints(*constraints, patterns)) {
    std::string where = problem->path.empty() ? "" : " for \"" + problem->path + "\"";
    if (!problem->predicate.empty()) where += " (" + problem->predicate + ")";
    throw Error(sqlstate::kInvalidParameterValue,
                "invalid constraint" + where + ": " + problem->message, {}, problem->hint);
  }
  PG_RETURN_VOID();
}
