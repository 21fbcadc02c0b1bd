#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/oauth/jwk_key.hpp"
#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

// Limits applied before any decoding, bounding what an unauthenticated sender can make us do.
inline constexpr size_t kMaxJwsSize = 32 * 1024;
inline constexpr size_t kMaxJoseHeaderBytes = 4 * 1024;  // room for an embedded RSA-8192 JWK
inline constexpr size_t kMaxJwsPayloadBytes = 24 * 1024;
inline constexpr size_t kMaxJoseJsonDepth = 8;

// A compact JWS, parsed but NOT verified.
struct Jws {
  JwsAlg alg = JwsAlg::rs256;
  nlohmann::json header;      // a JSON object with a known asymmetric "alg"
  nlohmann::json payload;     // a JSON object
  std::string signing_input;  // "BASE64URL(header).BASE64URL(payload)", as received
  std::vector<uint8_t> signature;
};

// Parses header.payload.signature: three strict base64url parts, header and payload JSON
// objects (bounded size and depth). The header's alg must be RS256, PS256, ES256 or EdDSA
// (alg_not_allowed for none, HS*, anything else); a "crit" header is refused, since we
// understand no extension. Never throws.
Outcome<Jws> parse_jws(std::string_view compact);

// Verifies a parsed JWS with one JWK: its alg must be in `allowed`, the JWK must agree with it
// (see public_key_from_jwk), and the signature must verify.
Status verify_jws(const Jws& jws, const nlohmann::json& jwk, std::span<const JwsAlg> allowed);

// True when `alg` is in `allowed`.
bool alg_allowed(JwsAlg alg, std::span<const JwsAlg> allowed);

}  // namespace warden::oauth
