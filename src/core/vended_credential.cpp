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

std::string sign_jwt(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                     const std::string& typ, const std::string& payload_json) {
  ensure_sodium();
  nlohmann::json header = {{"alg", "EdDSA"}, {"typ", typ}, {"kid", kid}};
  const std::string signing_input = b64(header.dump()) + "." + b64(payload_json);
  std::vector<uint8_t> sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size(), secret_key.data());
  return signing_input + "." + base64url_encode(sig);
}

std::string nested_act(const std::vector<std::string>& actors) {
  nlohmann::json act = nullptr;
  for (const std::string& name : actors) {
    nlohmann::json outer = {{"sub", name}};
    if (!act.is_null()) outer["act"] = std::move(act);
    act = std::move(outer);
  }
  return act.dump();
}

std::string sha256_base64url(const std::string& canonical_arguments) {
  ensure_sodium();
  std::vector<uint8_t> digest(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(digest.data(),
                     reinterpret_cast<const unsigned char*>(canonical_arguments.data()),
                     canonical_arguments.size());
  return base64url_encode(digest);
}

std::string mint_txn_token(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                           const TxnTokenClaims& t) {
  const CredentialClaims& c = t.call;
  const std::string issuer = c.issuer.empty() ? kCredentialIssuer : c.issuer;
  nlohmann::json payload = {
      {"iss", issuer},
      {"aud", c.server},
      {"iat", c.issued_at},
      {"exp", c.expires_at},
      {"txn", c.event_id},
      {"sub", c.human},
      {"scope", c.server + "/" + c.tool},
      {"tctx",
       {{"server", c.server},
        {"tool", c.tool},
        {"arguments_sha256", t.arguments_sha256},
        {"chain", c.chain_id}}},
      {"req_wl", issuer},
  };
  nlohmann::json act = nlohmann::json::parse(nested_act(t.actors));
  if (!act.is_null()) payload["act"] = std::move(act);
  if (c.observed) payload["tctx"]["warden_mode"] = "observe";
  return sign_jwt(secret_key, kid, "txntoken+jwt", payload.dump());
}

std::string mint_jwt(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                     const CredentialClaims& c) {
  nlohmann::json payload = common_claims(c);
  payload["iat"] = c.issued_at;
  payload["nbf"] = c.issued_at;
  payload["exp"] = c.expires_at;
  return sign_jwt(secret_key, kid, "JWT", payload.dump());
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
