#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// RFC 3339 in UTC with whole seconds ("2026-11-30T02:10:00Z"), and its strict inverse: exactly
// that form, no offsets or fractions (warden only reads times it wrote); nullopt otherwise.
std::string format_rfc3339(int64_t unix_seconds);
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace warden
