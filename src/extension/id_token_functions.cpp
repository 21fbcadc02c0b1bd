#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"
#include "frontend/oauth/id_token.hpp"

// The database verifies the ID token of a console or approver sign-in itself, with keys an
// administrator pinned (warden.pin_identity_provider_keys): the claims warden-mcp read from
// the token are not believed, so a gateway host that lies cannot open a console or approver
// session for a person who did not sign in. The code is the gateway's own (src/frontend/oauth,
// linked into the extension for this), so both ends judge a token the same way. Not granted to
// any role.

using namespace warden;
using namespace warden::pg;

// (id_token text, jwks text) -> text: {"claims": {...}} when the signature verifies with a key
// of the JWKS, else {"error": "<reason>"} (malformed, alg_not_allowed, unknown_kid,
// bad_signature, ...). Claims are not checked here: iss, aud, nonce and times are checked in
// SQL (warden._id_token_refusal), where the sign-in's nonce hash is.
WARDEN_SQL_FUNCTION(warden_verify_id_token_signature) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
    throw Error(sqlstate::kNullValueNotAllowed, "the ID token and the JWKS must not be NULL");
  }
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
    if (verified) {
      answer = {{"claims", std::move(verified).value()}};
    } else {
      answer = {{"error", oauth::to_string(verified.error())}};
    }
  }
  return text_datum(answer.dump());
}
