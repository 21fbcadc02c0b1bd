#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/paserk.hpp"

namespace warden::paserk {

// k4.local-wrap.pie / k4.secret-wrap.pie: symmetric key wrapping under a 32-byte wrapping
// key (XChaCha20 + BLAKE2b-MAC). Unwrap returns nullopt on any failure.
std::string wrap_local_pie(std::span<const uint8_t, 32> key,
                           std::span<const uint8_t, 32> wrapping_key);
std::optional<LocalKey> unwrap_local_pie(std::string_view paserk,
                                         std::span<const uint8_t, 32> wrapping_key);

std::string wrap_secret_pie(std::span<const uint8_t, 64> key,
                            std::span<const uint8_t, 32> wrapping_key);
std::optional<SecretKey> unwrap_secret_pie(std::string_view paserk,
                                           std::span<const uint8_t, 32> wrapping_key);

}  // namespace warden::paserk
