#include "core/core_only.hpp"

#include "core/jwk.hpp"

#include <string>

#include "core/base64url.hpp"
#include "core/paserk.hpp"

namespace warden {

nlohmann::json ed25519_public_jwk(std::span<const uint8_t, 32> public_key, std::string_view kid) {
  return {
      {"kty", "OKP"},
      {"crv", "Ed25519"},
      {"x", base64url_encode(public_key)},
      {"alg", "EdDSA"},
      {"use", "sig"},
      {"kid", kid.empty() ? *paserk::public_id(public_key) : std::string(kid)},
  };
}

}  // namespace warden
