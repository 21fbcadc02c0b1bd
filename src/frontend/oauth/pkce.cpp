#include "frontend/oauth/pkce.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "core/base64url.hpp"
#include "frontend/oauth/jwk_key.hpp"

namespace warden::oauth {

bool is_valid_code_verifier(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  return std::all_of(verifier.begin(), verifier.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

bool is_valid_s256_challenge(std::string_view challenge) {
  if (challenge.size() != base64url_encoded_size(32)) return false;
  return base64url_decode(challenge).has_value();
}

std::string s256_challenge(std::string_view verifier) {
  return sha256_base64url(verifier);
}

bool verify_pkce_s256(std::string_view verifier, std::string_view challenge) {
  if (!is_valid_code_verifier(verifier) || !is_valid_s256_challenge(challenge)) return false;
  std::string computed = s256_challenge(verifier);
  return computed.size() == challenge.size() &&
         CRYPTO_memcmp(computed.data(), challenge.data(), challenge.size()) == 0;
}

}  // namespace warden::oauth
