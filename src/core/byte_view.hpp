#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace warden {

// Views text as bytes and back without copying; PASETO mixes both freely.
inline std::span<const uint8_t> byte_view(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline std::string_view char_view(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace warden
