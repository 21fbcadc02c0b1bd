#include <openssl/err.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/bounded_json.hpp"
#include "core/error.hpp"
#include "core/json_values.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"
#include "frontend/oauth/id_token.hpp"
#include "frontend/oauth/jws.hpp"

// The database verifies the ID token of a console or approver sign-in itself, with keys an
// administrator pinned (warden.pin_identity_provider_keys): the claims warden-mcp read from
// the token are not believed, so a gateway host that lies cannot open a console or approver
// session for a person who did not sign in. The code is the gateway's own (src/frontend/oauth,
// linked into the extension for this), so both ends judge a token the same way. Not granted to
// any role.

using namespace warden;
using namespace warden::pg;

namespace {

// OpenSSL keeps the reasons a verification failed in a per-thread queue, which the backend's
// own TLS shares: leave it empty.
struct ClearOpensslErrors {
  ClearOpensslErrors() = default;
  ClearOpensslErrors(const ClearOpensslErrors&) = delete;
  ClearOpensslErrors& operator=(const ClearOpensslErrors&) = delete;
  ~ClearOpensslErrors() { ERR_clear_error(); }
};

}  // namespace

// (id_token text, jwks text) -> text: {"claims": {...}} when the signature verifies with a key
// of the JWKS, else {"error": "<reason>"} (malformed, alg_not_allowed, unknown_kid,
// bad_signature, ...). Claims are not checked here: iss, aud, nonce and times are checked in
// SQL (warden._id_token_refusal), where the sign-in's nonce hash is.
WARDEN_SQL_FUNCTION(warden_verify_id_token_signature) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
    throw Error(sqlstate::kNullValueNotAllowed, "the ID token and the JWKS must not be NULL");
  }
  ClearOpensslErrors clear_errors;
  const std::string id_token = *arg_text(fcinfo, 0);
  auto jwks = oauth::parse_jwks(*arg_text(fcinfo, 1));
  nlohmann::json answer;
  if (!jwks) {
    answer = {{"error", oauth::to_string(jwks.error())}};
  } else {
    auto verified = oauth::verify_id_token_signature(
        id_token, jwks.value(),
        std::span<const oauth::JwsAlg>(std::begin(oauth::kAllJwsAlgs),
                                       std::end(oauth::kAllJwsAlgs)));
    if (verified && holds_nul(verified.value())) {
      answer = {{"error", oauth::to_string(oauth::OAuthError::malformed)}};
    } else if (verified) {
      answer = {{"claims", std::move(verified).value()}};
    } else {
      answer = {{"error", oauth::to_string(verified.error())}};
    }
  }
  return text_datum(answer.dump());
}

// (jwk text) -> text: the public members of a JWK warden can verify signatures with (RSA of 2048
// to 8192 bits, EC P-256, Ed25519; use "sig" and key_ops "verify" when given; no private
// member), as a JSON object of kty, kid, alg, use, key_ops, n, e, crv, x and y; NULL for any
// other JWK. What warden.pin_identity_provider_keys keeps of each key.
WARDEN_SQL_FUNCTION(warden_verification_jwk) {
  if (PG_ARGISNULL(0)) PG_RETURN_NULL();
  ClearOpensslErrors clear_errors;
  auto jwk =
      parse_json_bounded(*arg_text(fcinfo, 0), oauth::kMaxJoseJsonDepth, oauth::kMaxJwksBytes);
  if (!jwk || !jwk->is_object() || !oauth::jwk_thumbprint(*jwk)) PG_RETURN_NULL();
  nlohmann::json kept = nlohmann::json::object();
  for (const char* member : {"kty", "kid", "alg", "use", "key_ops", "n", "e", "crv", "x", "y"}) {
    if (auto it = jwk->find(member); it != jwk->end()) kept[member] = *it;
  }
  if (holds_nul(kept)) PG_RETURN_NULL();
  return text_datum(kept.dump());
}

// (jwt text, jwks text) -> text: {"header", "claims", "kid"} when the JWT's signature verifies
// with a key of the JWKS (any typ: the caller checks it), else {"error": "<reason>"}. For the
// machine flows' subject tokens and ID-JAGs from a provider whose keys are pinned.
WARDEN_SQL_FUNCTION(warden_verify_jwt_signature) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
    throw Error(sqlstate::kNullValueNotAllowed, "the JWT and the JWKS must not be NULL");
  }
  ClearOpensslErrors clear_errors;
  const std::string jwt = *arg_text(fcinfo, 0);
  auto jwks = oauth::parse_jwks(*arg_text(fcinfo, 1));
  nlohmann::json answer;
  if (!jwks) {
    answer = {{"error", oauth::to_string(jwks.error())}};
  } else {
    auto verified =
        oauth::verify_jwt_with_jwks(jwt, jwks.value(),
                                    std::span<const oauth::JwsAlg>(std::begin(oauth::kAllJwsAlgs),
                                                                   std::end(oauth::kAllJwsAlgs)));
    if (!verified) {
      answer = {{"error", oauth::to_string(verified.error())}};
    } else if (holds_nul(verified.value().header) || holds_nul(verified.value().payload)) {
      answer = {{"error", oauth::to_string(oauth::OAuthError::malformed)}};
    } else {
      answer = {{"header", std::move(verified.value().header)},
                {"claims", std::move(verified.value().payload)},
                {"kid", verified.value().kid}};
    }
  }
  return text_datum(answer.dump());
}
