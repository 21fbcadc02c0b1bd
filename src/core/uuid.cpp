#include "core/core_only.hpp"

#include "core/uuid.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>

#include "core/hex.hpp"
#include "core/sodium_init.hpp"

namespace warden {

std::string random_uuid() {
  ensure_sodium();
  std::array<uint8_t, 16> b{};
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // the RFC's variant
  std::string hex = to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace warden
