#pragma once

// Reading SQL arguments into C++ values and building SQL results, for WARDEN_SQL_FUNCTION bodies.

#include <optional>
#include <string>
#include <vector>

#include "extension/boundary.hpp"

namespace warden::pg {

std::optional<std::string> arg_text(FunctionCallInfo fcinfo, int n);
// The argument as text, or a warden::Error (22004) naming the parameter when it is NULL.
std::string required_text(FunctionCallInfo fcinfo, int n, const char* parameter);
std::optional<std::string> arg_uuid(FunctionCallInfo fcinfo, int n);
std::optional<std::vector<uint8_t>> arg_bytea(FunctionCallInfo fcinfo, int n);
std::optional<TimestampTz> arg_timestamptz(FunctionCallInfo fcinfo, int n);

// Builds the function's composite result from one Datum (or NULL) per column.
Datum composite_result(FunctionCallInfo fcinfo, const std::vector<Datum>& values,
                       const std::vector<bool>& nulls);

}  // namespace warden::pg
