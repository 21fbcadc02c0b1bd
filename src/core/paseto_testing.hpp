#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace warden::paseto::testing {

// TEST-ONLY: v4.local encryption with a caller-chosen nonce, so the official vectors can be
// reproduced. Reusing a nonce with the same key breaks confidentiality; never use in production.
std::string local_encrypt_with_nonce(std::span<const uint8_t, 32> key,
                                     std::span<const uint8_t, 32> nonce, std::string_view payload,
                                     std::string_view footer = {}, std::string_view implicit = {});

}  // namespace warden::paseto::testing
