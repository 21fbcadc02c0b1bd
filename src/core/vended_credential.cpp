#include "core/core_only.hpp"

#include "core/vended_credential.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/base64url.hpp"
#include "core/paseto.hpp"
#include "core/rfc3339.hpp"
#include "core/sodium_init.hpp"
#include "core/task_token.hpp"

namespace warden {

namespace {

std::string b64(const std::string& s) {
  return base64url_encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

nlohmann::json common_claims(const CredentialClaims& c) {
  nlohmann::json claims = {{"iss", c.issuer.empty() ? kCredentialIssuer : c.issuer},
                           {"sub", c.agent},
                           {"aud", c.server},
                           {"jti", c.event_id},
                           {"human", c.human},
                           {"chain", c.chain_id},
                           {"tool", c.tool}};
  if (c.observed) claims["warden_mode"] = "observe";
  return claims;
}

}  // namespace

std::string mint_jwt(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                     const CredentialClaims& c) {
  ensure_sodium();
  nlohmann::json header = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", kid}};
  nlohmann::json payload = common_claims(c);
  payload["iat"] = c.issued_at;
  payload["nbf"] = c.issued_at;
  payload["exp"] = c.expires_at;
  const std::string signing_input = b64(header.dump()) + "." + b64(payload.dump());
  std::vector<uint8_t> sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size(), secret_key.data());
  return signing_input + "." + base64url_encode(sig);
}

std::string mint_paseto(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                        const CredentialClaims& c) {
  nlohmann::json payload = common_claims(c);
  payload["iat"] = format_rfc3339(c.issued_at);
  payload["nbf"] = format_rfc3339(c.issued_at);
  payload["exp"] = format_rfc3339(c.expires_at);
  return paseto::public_sign(secret_key, payload.dump(), encode_footer(kid));
}

std::string render_secret_template(const std::string& tmpl, const std::string& secret) {
  static const std::string kPlaceholder = "{secret}";
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = tmpl.find(kPlaceholder, pos);
    if (hit == std::string::npos) break;
    out.append(tmpl, pos, hit - pos);
    out += secret;
    pos = hit + kPlaceholder.size();
  }
  out.append(tmpl, pos);
  return out;
}

}  // namespace warden
