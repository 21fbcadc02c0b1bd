#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace warden {

// Exact numeric comparison across nlohmann's int64, uint64 and double representations, so
// 1 == 1.0 and 2^63 (unsigned) never rounds into a double. Unordered for non-numbers and NaN.
std::partial_ordering compare_json_numbers(const nlohmann::json& a, const nlohmann::json& b);

// Structural equality in which numbers compare by value (compare_json_numbers). Recurses only
// while both values nest, so the depth is bounded by the shallower one.
bool json_values_equal(const nlohmann::json& a, const nlohmann::json& b);

// 2^53 - 1: the largest magnitude up to which every integer is exactly a double, so every JSON
// reader (JavaScript's Number, Python's float, Go's float64, nlohmann's int64) sees the same
// number for the same text. Beyond it, "9007199254740993" is 9007199254740993 here and
// 9007199254740992 to a JavaScript upstream.
inline constexpr uint64_t kMaxSafeJsonInteger = 9007199254740991;

// True if value is a number of magnitude above kMaxSafeJsonInteger. nlohmann keeps integer text
// up to 64 bits as int64/uint64 and turns longer integer text into a double, so a double this
// large may stand for any of many integers: it is beyond the safe range however it was written.
bool beyond_safe_json_integer(const nlohmann::json& value);

// True if a string or key anywhere in value holds U+0000, which PostgreSQL's jsonb cannot hold:
// such a value must be refused, or mended, before it becomes a jsonb argument.
bool holds_nul(const nlohmann::json& value);

// True if value is, or contains within max_depth levels of nesting, a number beyond the safe
// range. Stops descending at max_depth, so it is safe on arbitrarily deep input.
bool contains_number_beyond_safe_json_integer(const nlohmann::json& value, size_t max_depth);

// json_values_equal, except that a number beyond the safe range equals only an integer-typed
// number (int64/uint64) of the same value, and only if it is integer-typed itself: both came
// from the same integer text (JSON has no leading zeros), so every reader sees the same number
// in both. 9007199254740993 is identical to itself but not to 9007199254740993.0.
bool json_values_identical(const nlohmann::json& a, const nlohmann::json& b);

// True if value nests more than limit containers; stops descending at the limit, so it is safe on
// arbitrarily deep input. A scalar has depth 0, [] has depth 1.
bool json_depth_exceeds(const nlohmann::json& value, size_t limit);

// Number of UTF-8 code points: counts bytes that are not continuation bytes.
size_t utf8_length(std::string_view text);

}  // namespace warden
