#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace warden {

// Parses untrusted JSON text, rejecting (nullopt) text longer than max_bytes, nesting deeper than
// max_depth containers (a scalar has depth 0, [] depth 1), or anything that is not strict JSON.
// Depth is checked by a flat pre-scan of brackets outside strings before parsing, because code
// that later walks the value (copying, comparing, dumping) recurses. Never throws.
std::optional<nlohmann::json> parse_json_bounded(std::string_view text, size_t max_depth,
                                                 size_t max_bytes);

}  // namespace warden
