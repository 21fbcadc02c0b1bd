#include "core/core_only.hpp"

#include "core/blake2b.hpp"

#include <sodium.h>

#include <stdexcept>

namespace warden {

void blake2b(std::span<uint8_t> out, std::span<const uint8_t> key,
             std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_generichash_state state;
  if (crypto_generichash_init(&state, key.empty() ? nullptr : key.data(), key.size(), out.size()) !=
      0) {
    throw std::invalid_argument("blake2b: unsupported key or output length");
  }
  for (auto part : parts) crypto_generichash_update(&state, part.data(), part.size());
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
}

}  // namespace warden
