#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/secret_bytes.hpp"

namespace warden {

// Key material at rest: XChaCha20-Poly1305 under a key-encryption key, with a random nonce
// and associated data that binds the ciphertext to its row (e.g. key id and purpose), so a
// sealed value copied to another row no longer opens.
// Layout: 24-byte nonce || ciphertext || 16-byte tag.
std::vector<uint8_t> wrap_secret(Key32View kek, std::span<const uint8_t> plaintext,
                                 std::string_view associated_data);

// Returns nullopt when the value was altered, bound to other data, or sealed under another key.
std::optional<std::vector<uint8_t>> unwrap_secret(Key32View kek, std::span<const uint8_t> sealed,
                                                  std::string_view associated_data);

}  // namespace warden
