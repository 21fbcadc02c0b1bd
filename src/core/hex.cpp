#include "core/core_only.hpp"

#include "core/hex.hpp"

#include <sodium.h>

namespace warden {

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::string to_hex(const uint8_t* bytes, size_t n) {
  return to_hex(std::span<const uint8_t>(bytes, n));
}

}  // namespace warden
