#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

// The JWS algorithms warden verifies. There is deliberately no value for "none" or any HS*:
// a symmetric or unsigned token cannot even be represented.
enum class JwsAlg { rs256, ps256, es256, eddsa };

// "RS256", "PS256", "ES256", "EdDSA" (exact case); nullopt for anything else.
std::optional<JwsAlg> jws_alg_from_name(std::string_view name);
std::string_view jws_alg_name(JwsAlg alg);

inline constexpr JwsAlg kAllJwsAlgs[] = {JwsAlg::rs256, JwsAlg::ps256, JwsAlg::es256,
                                         JwsAlg::eddsa};

struct PkeyFree {
  void operator()(EVP_PKEY* key) const noexcept;
};
using PublicKey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Turns a public JWK into an OpenSSL key usable for `alg`, refusing a JWK that disagrees with
// it: RS256/PS256 need kty RSA (2048 to 8192 bits, odd e > 1), ES256 kty EC with crv P-256 (a
// point on the curve), EdDSA kty OKP with crv Ed25519. When present, the JWK's alg must name
// `alg`, its use must be "sig" and its key_ops must include "verify". A JWK with private
// members is refused (private_key_in_jwk), as is a symmetric one (kty oct).
Outcome<PublicKey> public_key_from_jwk(const nlohmann::json& jwk, JwsAlg alg);

// Verifies a JWS signature over `signing_input` (ES256 signatures are JOSE's raw r||s).
bool verify_signature(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input,
                      std::span<const uint8_t> signature);

// RFC 7638 thumbprint (base64url of SHA-256 over the required members in lexical order) of a
// public JWK that public_key_from_jwk accepts for some algorithm; nullopt otherwise.
std::optional<std::string> jwk_thumbprint(const nlohmann::json& jwk);

// base64url(SHA-256(text)): PKCE S256, DPoP ath.
std::string sha256_base64url(std::string_view text);

}  // namespace warden::oauth
