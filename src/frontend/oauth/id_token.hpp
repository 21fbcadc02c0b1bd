#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/oauth/jwk_key.hpp"
#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

inline constexpr size_t kMaxJwksBytes = 256 * 1024;
inline constexpr size_t kMaxJwksKeys = 64;
inline constexpr int64_t kDefaultSkewSeconds = 60;

// What the relying party expects of an ID token (OpenID Connect Core 3.1.3.7).
struct IdTokenExpectations {
  std::string issuer;     // exact match with iss
  std::string client_id;  // azp, when present, must be this
  std::string audience;   // must be in aud; empty means client_id
  std::string nonce;      // the nonce sent in the authorization request (required)
  int64_t now = 0;        // seconds since the epoch
  int64_t skew = kDefaultSkewSeconds;
  std::vector<JwsAlg> allowed_algs{std::begin(kAllJwsAlgs), std::end(kAllJwsAlgs)};
};

// Parses a JWKS document ({"keys": [...]}, bounded size and count); bad_jwks otherwise.
Outcome<nlohmann::json> parse_jwks(std::string_view text);

// Verifies an ID token against the IdP's JWKS (as parse_jwks returns it) and checks its claims
// (a typ header other than "JWT" is wrong_typ, so a DPoP proof or access token cannot pass):
// the key is chosen by the header's kid (unknown_kid when the JWKS has no usable key with it,
// so the caller re-fetches the JWKS, rate-limited by JwksRefreshLimiter; a token without kid
// uses the one key of its type), then iss, aud (a string or an array; with several audiences
// azp is required), azp, exp, iat, nbf (each with `skew`), nonce, and a non-empty sub.
// Returns the verified claims.
Outcome<nlohmann::json> validate_id_token(std::string_view id_token, const nlohmann::json& jwks,
                                          const IdTokenExpectations& expected);

// A JWT whose signature verified with a key of a JWKS: its header and payload (claims
// unchecked) and the kid of the key (empty when that key has none).
struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json payload;
  std::string kid;
};

// Verifies any JWT's signature with a JWKS, the key chosen as for an ID token (see
// validate_id_token); the header's typ is the caller's to check.
Outcome<VerifiedJwt> verify_jwt_with_jwks(std::string_view token, const nlohmann::json& jwks,
                                          std::span<const JwsAlg> allowed_algs);

// The signature half of validate_id_token, for a caller that checks the claims itself (the
// database, which holds only the hash of a sign-in's nonce): the JWS, its typ and alg, the key
// chosen by kid in `jwks` as above, and the signature. Returns the payload, claims unchecked.
Outcome<nlohmann::json> verify_id_token_signature(std::string_view id_token,
                                                  const nlohmann::json& jwks,
                                                  std::span<const JwsAlg> allowed_algs);

// Reads a NumericDate claim (an integer or a finite number, floored); nullopt when absent or
// not a number within +-2^53.
std::optional<int64_t> numeric_date(const nlohmann::json& claims, const char* name);

}  // namespace warden::oauth
