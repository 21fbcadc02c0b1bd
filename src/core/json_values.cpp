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
  if (a.is_number() || b.is_number()) return compare_json_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.cbegin(), ib = b.cbegin(); ia != a.cend(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !json_values_equal(ia.value(), ib.value())) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!json_values_equal(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
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

}  // namespace warden
