#pragma once

#include <compare>
#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace warden {

// Exact numeric comparison across nlohmann's int64, uint64 and double representations, so
// 1 == 1.0 and 2^63 (unsigned) never rounds into a double. Unordered for non-numbers and NaN.
std::partial_ordering compare_json_numbers(const nlohmann::json& a, const nlohmann::json& b);

// Structural equality in which numbers compare by value (compare_json_numbers). Recurses only
// while both values nest, so the depth is bounded by the shallower one.
bool json_values_equal(const nlohmann::json& a, const nlohmann::json& b);

// True if value nests more than limit containers; stops descending at the limit, so it is safe on
// arbitrarily deep input. A scalar has depth 0, [] has depth 1.
bool json_depth_exceeds(const nlohmann::json& value, size_t limit);

// Number of UTF-8 code points: counts bytes that are not continuation bytes.
size_t utf8_length(std::string_view text);

}  // namespace warden
