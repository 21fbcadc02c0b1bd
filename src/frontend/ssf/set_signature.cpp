#include "frontend/ssf/set_signature.hpp"

#include <string>

#include "frontend/oauth/jwk_key.hpp"

namespace warden::ssf {

namespace {

// A member as a string; "" when absent or not a string (a number kid is no kid).
std::string string_member(const nlohmann::json& object, const char* name) {
  auto it = object.is_object() ? object.find(name) : object.end();
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

KeyMatch match_set_key(const oauth::Jws& jws, const nlohmann::json& keys) {
  KeyMatch match;
  if (!keys.is_object() || !keys.contains("keys") || !keys["keys"].is_array()) return match;
  const std::string kid = string_member(jws.header, "kid");
  for (const auto& jwk : keys["keys"]) {
    if (!jwk.is_object()) continue;
    if (!kid.empty() && string_member(jwk, "kid") != kid) continue;
    match.kid_known = true;
    if (oauth::verify_jws(jws, jwk, oauth::kAllJwsAlgs)) {
      match.verified = true;
      break;
    }
  }
  return match;
}

bool should_refetch_keys(const oauth::Jws& jws, const KeyMatch& match) {
  return !match.verified && !match.kid_known && !string_member(jws.header, "kid").empty();
}

}  // namespace warden::ssf
