#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/paserk.hpp"

namespace warden::paserk {

// k4.seal: encrypts a local key to the holder of an Ed25519 key pair (converted to X25519),
// with a fresh ephemeral key. nullopt if the recipient public key is not a valid point.
std::optional<std::string> seal_local(std::span<const uint8_t, 32> local_key,
                                      std::span<const uint8_t, 32> recipient_public_key);

// Opens a k4.seal with the recipient's 64-byte Ed25519 secret key; nullopt on any failure
// (wrong prefix, bad encoding, wrong key, tampering).
std::optional<LocalKey> unseal_local(std::string_view paserk,
                                     std::span<const uint8_t, 64> recipient_secret_key);

}  // namespace warden::paserk
