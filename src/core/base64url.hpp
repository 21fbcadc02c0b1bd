#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace warden {

// RFC 4648 section 5 alphabet without '=' padding, as PASETO and PASERK require.
std::string base64url_encode(std::span<const uint8_t> data);

// Strict decode: rejects padding, '+', '/', whitespace, impossible lengths (len % 4 == 1) and
// non-zero trailing bits, so every byte string has exactly one accepted encoding.
std::optional<std::vector<uint8_t>> base64url_decode(std::string_view text);

// Length of the encoding of n bytes; lets callers reject inputs before decoding.
constexpr size_t base64url_encoded_size(size_t n) {
  return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

}  // namespace warden
