#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

namespace warden {

// RFC 8037 public JWK for an Ed25519 key: {"kty":"OKP","crv":"Ed25519","x":...,"alg":"EdDSA",
// "use":"sig","kid":...}. kid defaults to the key's k4.pid so JWKS and PASETO footers agree.
nlohmann::json ed25519_public_jwk(std::span<const uint8_t, 32> public_key,
                                  std::string_view kid = {});

}  // namespace warden
