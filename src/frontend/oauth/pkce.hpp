#pragma once

#include <string>
#include <string_view>

namespace warden::oauth {

// RFC 7636: a code_verifier is 43 to 128 characters of [A-Za-z0-9-._~].
bool is_valid_code_verifier(std::string_view verifier);

// An S256 code_challenge is the 43-character base64url of a SHA-256 digest.
bool is_valid_s256_challenge(std::string_view challenge);

// BASE64URL(SHA256(ASCII(code_verifier))).
std::string s256_challenge(std::string_view verifier);

// True when `verifier` is valid and its S256 challenge equals `challenge` (constant time).
bool verify_pkce_s256(std::string_view verifier, std::string_view challenge);

}  // namespace warden::oauth
