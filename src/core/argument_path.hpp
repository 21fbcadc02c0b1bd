#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace warden {

// A constraint key names an argument or a value nested inside one:
//   - "$." or "$[" prefix: rooted path, e.g. "$.options.path", "$.files[0]", "$.additional".
//   - otherwise, a key containing '.' or '[': dotted path, e.g. "options.path", "files[0].name".
//   - anything else is a literal top-level argument name, e.g. "field", "$ref".
// Segments are ".name" (non-empty, without '.', '[' or ']') or "[n]" (decimal array index, no
// leading zeros, at most 9 digits). The first segment must be a name. Names containing '.' or
// '[' cannot be addressed; "$.additional" addresses an argument literally named "additional".
using PathSegment = std::variant<std::string, size_t>;
using ArgumentPath = std::vector<PathSegment>;

inline constexpr size_t kMaxPathKeyBytes = 256;
inline constexpr size_t kMaxPathSegments = 32;

struct PathParseResult {
  ArgumentPath path;
  std::string error;  // non-empty when the key is malformed
};

PathParseResult parse_argument_path(std::string_view key);

// The value the path addresses, or nullptr if any step is missing or has the wrong type (a name
// step on a non-object, an index step on a non-array or past its end).
const nlohmann::json* resolve_argument_path(const nlohmann::json& arguments,
                                            const ArgumentPath& path);

}  // namespace warden
