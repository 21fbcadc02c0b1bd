#pragma once

#include <string_view>
#include <utility>
#include <variant>

namespace warden::oauth {

// Why a JWS, ID token, DPoP proof, key or fetch target was refused. Precise on purpose: the
// caller logs to_string() and decides what to show (unknown_kid means "re-fetch the JWKS").
enum class OAuthError {
  malformed,            // not a compact JWS, bad base64url, bad JSON, wrong member types
  too_large,            // above the size limits; refused before decoding
  alg_not_allowed,      // none, HS*, anything unknown, or not in the caller's allowlist
  unsupported_key,      // a JWK whose kty/crv we do not verify with, or a weak or invalid key
  private_key_in_jwk,   // a JWK carrying private members (d, p, q, ..., k)
  key_mismatch,         // the JWK's kty/crv/alg/use/key_ops disagree with the header's alg
  bad_signature,        // the signature does not verify
  unknown_kid,          // no key in the JWKS for this token: re-fetch the JWKS (rate-limited)
  bad_jwks,             // the JWKS is not {"keys": [...]}
  wrong_issuer,         // iss is missing or not the expected issuer
  wrong_audience,       // aud is missing or does not name us
  wrong_azp,            // azp is not our client_id, or missing with several audiences
  expired,              // now >= exp + skew
  not_yet_valid,        // nbf > now + skew
  issued_in_future,     // iat > now + skew
  missing_claim,        // a required claim (sub, exp, iat, jti, htm, htu, ...) is absent
  wrong_nonce,          // nonce missing or different
  wrong_typ,            // a DPoP proof without typ "dpop+jwt"
  wrong_htm,            // DPoP htm is not the request's method
  wrong_htu,            // DPoP htu is not the request's URL
  stale_proof,          // DPoP iat outside the accepted window
  replayed_proof,       // DPoP jti seen before within the window
  replay_cache_full,    // too many live jti entries: refused rather than forgetting one
  wrong_ath,            // DPoP ath missing or not the hash of the presented access token
  wrong_proof_key,      // DPoP proof signed by another key than the token is bound to
  not_https,            // a fetch target that is not https (http only for allowed loopback)
  address_refused,      // a fetch target on a loopback, private, link-local, ... address
  redirect_refused,     // a fetch answered with a redirect (never followed)
  fetch_failed,         // resolution, connection, TLS, timeout, or a body above the limit
  bad_client_metadata,  // a Client ID Metadata Document that breaks the rules
};

std::string_view to_string(OAuthError error);

// Either a value or the reason it was refused.
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}
  Outcome(OAuthError error) : value_(error) {}

  bool ok() const { return std::holds_alternative<T>(value_); }
  explicit operator bool() const { return ok(); }
  // Throws std::bad_variant_access when called on the wrong alternative.
  const T& value() const& { return std::get<T>(value_); }
  T& value() & { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  OAuthError error() const { return std::get<OAuthError>(value_); }

 private:
  std::variant<T, OAuthError> value_;
};

// An outcome with no value: ok() or the reason.
using Status = Outcome<std::monostate>;
inline Status ok_status() {
  return Status(std::monostate{});
}

}  // namespace warden::oauth
