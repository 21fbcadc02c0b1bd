#include "core/core_only.hpp"

#include "core/uuid.hpp"

#include <sodium.h>

#include <array>
#include <chrono>
#include <cstdint>

#include "core/hex.hpp"
#include "core/sodium_init.hpp"

namespace warden {

namespace {

std::string text_form(std::array<uint8_t, 16>& b, int version) {
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // the RFC's variant
  std::string hex = to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace

std::string random_uuid() {
  ensure_sodium();
  std::array<uint8_t, 16> b{};
  randombytes_buf(b.data(), b.size());
  return text_form(b, 4);
}

std::string time_ordered_uuid() {
  ensure_sodium();
  std::array<uint8_t, 16> b{};
  randombytes_buf(b.data() + 6, b.size() - 6);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<uint8_t>(static_cast<uint64_t>(ms) >> (40 - 8 * i));
  return text_form(b, 7);
}

}  // namespace warden
