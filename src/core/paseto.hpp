#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/token_error.hpp"

namespace warden::paseto {

// Tokens above this size are refused with too_large before any decoding, bounding the work
// an unauthenticated client can cause.
inline constexpr size_t kMaxTokenSize = 64 * 1024;

struct Token {
  std::string payload;
  std::string footer;  // decoded; empty when the token has none
};

// Either a verified token or the reason it was refused.
class [[nodiscard]] Result {
 public:
  Result(Token token) : value_(std::move(token)) {}
  Result(TokenError error) : value_(error) {}

  bool ok() const { return std::holds_alternative<Token>(value_); }
  explicit operator bool() const { return ok(); }
  // Throws std::bad_variant_access when called on the wrong alternative.
  const Token& value() const& { return std::get<Token>(value_); }
  Token&& value() && { return std::get<Token>(std::move(value_)); }
  TokenError error() const { return std::get<TokenError>(value_); }

 private:
  std::variant<Token, TokenError> value_;
};

// v4.local: XChaCha20 + keyed BLAKE2b-MAC with a fresh random 32-byte nonce.
std::string local_encrypt(std::span<const uint8_t, 32> key, std::string_view payload,
                          std::string_view footer = {}, std::string_view implicit = {});
Result local_decrypt(std::span<const uint8_t, 32> key, std::string_view token,
                     std::string_view implicit = {});

// v4.public: Ed25519 over PAE(header, payload, footer, implicit). secret_key is libsodium's
// 64-byte form (seed || public key).
std::string public_sign(std::span<const uint8_t, 64> secret_key, std::string_view payload,
                        std::string_view footer = {}, std::string_view implicit = {});
Result public_verify(std::span<const uint8_t, 32> public_key, std::string_view token,
                     std::string_view implicit = {});

// Decoded footer of a v4.local or v4.public token WITHOUT authenticating it; only for picking
// the key (kid) to verify with. Empty string when there is no footer, nullopt if malformed.
std::optional<std::string> peek_footer(std::string_view token);

}  // namespace warden::paseto
