#include "core/core_only.hpp"

#include "core/json_values.hpp"

#include <cmath>
#include <cstdint>

namespace warden {
namespace {

using Int128 = __int128;

Int128 as_int128(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return static_cast<Int128>(v.get<uint64_t>());
  return static_cast<Int128>(v.get<int64_t>());
}

std::partial_ordering compare_int_double(Int128 i, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  // Outside +-2^127 the double dominates any 64-bit integer; inside, trunc(d) converts exactly.
  if (d >= 0x1p127) return std::partial_ordering::less;
  if (d < -0x1p127) return std::partial_ordering::greater;
  const double whole = std::trunc(d);
  const Int128 whole_int = static_cast<Int128>(whole);
  if (i < whole_int) return std::partial_ordering::less;
  if (i > whole_int) return std::partial_ordering::greater;
  if (d > whole) return std::partial_ordering::less;
  if (d < whole) return std::partial_ordering::greater;
  return std::partial_ordering::equivalent;
}

bool integer_typed(const nlohmann::json& v) {
  return v.is_number_integer();  // int64 or uint64, never a double
}

// Shared walk of json_values_equal and json_values_identical; numbers_match decides leaves.
template <typename NumbersMatch>
bool values_match(const nlohmann::json& a, const nlohmann::json& b, NumbersMatch numbers_match) {
  if (a.is_number() || b.is_number()) return a.is_number() && b.is_number() && numbers_match(a, b);
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.cbegin(), ib = b.cbegin(); ia != a.cend(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !values_match(ia.value(), ib.value(), numbers_match)) {
        return false;
      }
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!values_match(a[i], b[i], numbers_match)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

std::partial_ordering compare_json_numbers(const nlohmann::json& a, const nlohmann::json& b) {
  if (!a.is_number() || !b.is_number()) return std::partial_ordering::unordered;
  const bool a_float = a.is_number_float();
  const bool b_float = b.is_number_float();
  if (a_float && b_float) return a.get<double>() <=> b.get<double>();
  if (!a_float && !b_float) return as_int128(a) <=> as_int128(b);
  if (a_float) return 0 <=> compare_int_double(as_int128(b), a.get<double>());
  return compare_int_double(as_int128(a), b.get<double>());
}

bool json_values_equal(const nlohmann::json& a, const nlohmann::json& b) {
  return values_match(a, b, [](const nlohmann::json& x, const nlohmann::json& y) {
    return compare_json_numbers(x, y) == 0;
  });
}

bool beyond_safe_json_integer(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>() > kMaxSafeJsonInteger;
  if (value.is_number_integer()) {
    const int64_t n = value.get<int64_t>();
    return n > static_cast<int64_t>(kMaxSafeJsonInteger) ||
           n < -static_cast<int64_t>(kMaxSafeJsonInteger);
  }
  if (value.is_number_float()) {
    // NaN cannot come from JSON text; treat it as unsafe all the same.
    const double d = value.get<double>();
    return !(std::fabs(d) <= static_cast<double>(kMaxSafeJsonInteger));
  }
  return false;
}

bool contains_number_beyond_safe_json_integer(const nlohmann::json& value, size_t max_depth) {
  if (!value.is_structured()) return beyond_safe_json_integer(value);
  if (max_depth == 0) return false;
  for (const auto& child : value) {
    if (contains_number_beyond_safe_json_integer(child, max_depth - 1)) return true;
  }
  return false;
}

bool json_values_identical(const nlohmann::json& a, const nlohmann::json& b) {
  return values_match(a, b, [](const nlohmann::json& x, const nlohmann::json& y) {
    if (beyond_safe_json_integer(x) || beyond_safe_json_integer(y)) {
      if (!integer_typed(x) || !integer_typed(y)) return false;
    }
    return compare_json_numbers(x, y) == 0;
  });
}

bool json_depth_exceeds(const nlohmann::json& value, size_t limit) {
  if (!value.is_structured()) return false;
  if (limit == 0) return true;
  for (const auto& child : value) {
    if (json_depth_exceeds(child, limit - 1)) return true;
  }
  return false;
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

bool holds_nul(const nlohmann::json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (value.is_array()) {
    for (const auto& item : value) {
      if (holds_nul(item)) return true;
    }
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (key.find('\0') != std::string::npos || holds_nul(item)) return true;
    }
  }
  return false;
}

}  // namespace warden
