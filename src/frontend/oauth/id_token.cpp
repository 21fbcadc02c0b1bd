#include "frontend/oauth/id_token.hpp"

#include <cmath>

#include "core/bounded_json.hpp"
#include "frontend/oauth/jws.hpp"

namespace warden::oauth {
namespace {

constexpr size_t kMaxSubjectLength = 255;               // OpenID Connect Core 2
constexpr double kMaxNumericDate = 9007199254740992.0;  // 2^53

bool is_string_equal(const nlohmann::json& claims, const char* name, std::string_view expected) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
}

bool is_jwt_typ(std::string_view typ) {
  return typ.size() == 3 && (typ[0] | 0x20) == 'j' && (typ[1] | 0x20) == 'w' &&
         (typ[2] | 0x20) == 't';
}

Status check_audience(const nlohmann::json& claims, const IdTokenExpectations& expected) {
  const std::string& audience = expected.audience.empty() ? expected.client_id : expected.audience;
  auto aud = claims.find("aud");
  if (aud == claims.end()) return OAuthError::wrong_audience;
  size_t count = 0;
  bool found = false;
  if (aud->is_string()) {
    count = 1;
    found = *aud == audience;
  } else if (aud->is_array()) {
    for (const auto& entry : *aud) {
      if (!entry.is_string()) return OAuthError::wrong_audience;
      ++count;
      found = found || entry == audience;
    }
  } else {
    return OAuthError::wrong_audience;
  }
  if (!found || audience.empty()) return OAuthError::wrong_audience;
  bool has_azp = claims.contains("azp");
  if (has_azp && !is_string_equal(claims, "azp", expected.client_id)) return OAuthError::wrong_azp;
  if (count > 1 && !has_azp) return OAuthError::wrong_azp;
  return ok_status();
}

Status check_times(const nlohmann::json& claims, const IdTokenExpectations& expected) {
  auto exp = numeric_date(claims, "exp");
  auto iat = numeric_date(claims, "iat");
  if (!exp || !iat) return OAuthError::missing_claim;
  if (expected.now >= *exp + expected.skew) return OAuthError::expired;
  if (*iat > expected.now + expected.skew) return OAuthError::issued_in_future;
  if (claims.contains("nbf")) {
    auto nbf = numeric_date(claims, "nbf");
    if (!nbf) return OAuthError::malformed;
    if (*nbf > expected.now + expected.skew) return OAuthError::not_yet_valid;
  }
  return ok_status();
}

// Keys that could verify a token with this alg and kid. A JWK of the wrong type under the
// token's kid is still a candidate, so the verification reports key_mismatch rather than
// unknown_kid (a re-fetch would not help).
std::vector<const nlohmann::json*> candidate_keys(const nlohmann::json& jwks, const Jws& jws) {
  std::vector<const nlohmann::json*> out;
  auto kid = jws.header.find("kid");
  bool has_kid = kid != jws.header.end() && kid->is_string();
  for (const auto& key : jwks["keys"]) {
    if (!key.is_object()) continue;
    if (has_kid) {
      if (is_string_equal(key, "kid", kid->get_ref<const std::string&>())) out.push_back(&key);
    } else if (public_key_from_jwk(key, jws.alg).ok()) {
      out.push_back(&key);
    }
  }
  return out;
}

}  // namespace

std::optional<int64_t> numeric_date(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(kMaxNumericDate)) {
      return std::nullopt;
    }
    auto value = it->get<int64_t>();
    if (value > kMaxNumericDate || value < -kMaxNumericDate) return std::nullopt;
    return value;
  }
  if (it->is_number_float()) {
    double value = it->get<double>();
    if (!std::isfinite(value) || std::fabs(value) > kMaxNumericDate) return std::nullopt;
    return static_cast<int64_t>(std::floor(value));
  }
  return std::nullopt;
}

Outcome<nlohmann::json> parse_jwks(std::string_view text) {
  auto jwks = parse_json_bounded(text, kMaxJoseJsonDepth, kMaxJwksBytes);
  if (!jwks || !jwks->is_object()) return OAuthError::bad_jwks;
  auto keys = jwks->find("keys");
  if (keys == jwks->end() || !keys->is_array() || keys->size() > kMaxJwksKeys) {
    return OAuthError::bad_jwks;
  }
  return std::move(*jwks);
}

Outcome<VerifiedJwt> verify_jwt_with_jwks(std::string_view token, const nlohmann::json& jwks,
                                          std::span<const JwsAlg> allowed_algs) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return OAuthError::bad_jwks;
  }
  auto jws = parse_jws(token);
  if (!jws) return jws.error();
  if (!alg_allowed(jws.value().alg, allowed_algs)) return OAuthError::alg_not_allowed;
  const auto& header = jws.value().header;
  if (auto kid = header.find("kid"); kid != header.end() && !kid->is_string()) {
    return OAuthError::malformed;
  }
  auto candidates = candidate_keys(jwks, jws.value());
  if (candidates.empty()) return OAuthError::unknown_kid;
  if (!header.contains("kid") && candidates.size() > 1) return OAuthError::unknown_kid;
  // Several keys may share a kid (one per alg); the first that verifies wins, and the error
  // reported is the first key's.
  std::optional<OAuthError> first_error;
  for (const auto* key : candidates) {
    auto status = verify_jws(jws.value(), *key, allowed_algs);
    if (status) {
      auto kid = key->find("kid");
      Jws& verified = jws.value();
      return VerifiedJwt{std::move(verified.header), std::move(verified.payload),
                         kid != key->end() && kid->is_string() ? kid->get<std::string>() : ""};
    }
    if (!first_error) first_error = status.error();
  }
  return *first_error;
}

Outcome<nlohmann::json> verify_id_token_signature(std::string_view id_token,
                                                  const nlohmann::json& jwks,
                                                  std::span<const JwsAlg> allowed_algs) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return OAuthError::bad_jwks;
  }
  auto jws = parse_jws(id_token);
  if (!jws) return jws.error();
  if (!alg_allowed(jws.value().alg, allowed_algs)) return OAuthError::alg_not_allowed;
  const auto& header = jws.value().header;
  if (auto kid = header.find("kid"); kid != header.end() && !kid->is_string()) {
    return OAuthError::malformed;
  }
  // Another kind of JWT (a DPoP proof, an access token) is not an ID token.
  if (auto typ = header.find("typ"); typ != header.end()) {
    if (!typ->is_string() || !is_jwt_typ(typ->get_ref<const std::string&>())) {
      return OAuthError::wrong_typ;
    }
  }
  auto verified = verify_jwt_with_jwks(id_token, jwks, allowed_algs);
  if (!verified) return verified.error();
  return std::move(verified).value().payload;
}

Outcome<nlohmann::json> validate_id_token(std::string_view id_token, const nlohmann::json& jwks,
                                          const IdTokenExpectations& expected) {
  auto verified = verify_id_token_signature(id_token, jwks, expected.allowed_algs);
  if (!verified) return verified.error();
  const auto& claims = verified.value();
  if (expected.issuer.empty() || !is_string_equal(claims, "iss", expected.issuer)) {
    return OAuthError::wrong_issuer;
  }
  if (auto status = check_audience(claims, expected); !status) return status.error();
  if (auto status = check_times(claims, expected); !status) return status.error();
  if (expected.nonce.empty() || !is_string_equal(claims, "nonce", expected.nonce)) {
    return OAuthError::wrong_nonce;
  }
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get_ref<const std::string&>().empty() ||
      sub->get_ref<const std::string&>().size() > kMaxSubjectLength) {
    return OAuthError::missing_claim;
  }
  return std::move(verified).value();
}

}  // namespace warden::oauth
