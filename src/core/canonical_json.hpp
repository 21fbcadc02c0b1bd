#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace warden {

// Deterministic serialization for audit MACs, modelled on RFC 8785 (JCS):
//   - no whitespace; object members sorted by key bytes (UTF-8 byte order = code point order;
//     RFC 8785 sorts by UTF-16 units, which differs only for keys mixing U+E000..U+FFFF with
//     characters beyond U+FFFF).
//   - strings: '"' and '\' escaped, \b \f \n \r \t for those controls, other bytes below 0x20 as
//     \u00xx (lowercase hex); everything else, including non-ASCII UTF-8, written verbatim.
//   - integers (int64/uint64) written exactly in decimal. A double that is integral and within
//     [-2^63, 2^64) is written as that integer, so equal numbers (1, 1.0, 1e0) serialize
//     identically; -0 is "0". Other doubles use the ECMAScript Number-to-string form RFC 8785
//     prescribes (shortest round-trip digits, exponent outside 1e-6..1e21, e.g. 1.5, 1e-7,
//     1e+21). NaN and infinities, which JSON cannot carry, are written as null.
// Iterative, so arbitrarily deep values do not exhaust the stack. Never throws except bad_alloc.
std::string canonical_json(const nlohmann::json& value);

// canonical_json cut to at most max_bytes (at a UTF-8 boundary) plus "..." when it is longer;
// stops serializing early, so it is cheap on huge values. For error messages.
std::string canonical_json_truncated(const nlohmann::json& value, size_t max_bytes);

}  // namespace warden
