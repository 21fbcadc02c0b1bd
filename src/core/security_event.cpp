#include "core/core_only.hpp"

#include "core/security_event.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/base64url.hpp"
#include "core/error.hpp"
#include "core/sodium_init.hpp"

namespace warden {

namespace {

std::string b64(const std::string& s) {
  return base64url_encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

}  // namespace

std::string mint_security_event(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                                const std::string& payload_json) {
  ensure_sodium();
  auto payload = nlohmann::json::parse(payload_json, nullptr, false);
  if (!payload.is_object()) {
    throw Error(sqlstate::kInvalidParameterValue, "a security event payload must be a JSON object");
  }
  const nlohmann::json header = {{"alg", "EdDSA"}, {"typ", "secevent+jwt"}, {"kid", kid}};
  const std::string signing_input = b64(header.dump()) + "." + b64(payload.dump());
  std::vector<uint8_t> sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size(), secret_key.data());
  return signing_input + "." + base64url_encode(sig);
}

}  // namespace warden
