#include "frontend/oauth/jws.hpp"

#include <algorithm>
#include <optional>

#include "core/base64url.hpp"
#include "core/bounded_json.hpp"

namespace warden::oauth {
namespace {

std::optional<nlohmann::json> decode_object(std::string_view part, size_t max_bytes) {
  if (part.size() > base64url_encoded_size(max_bytes)) return std::nullopt;
  auto bytes = base64url_decode(part);
  if (!bytes) return std::nullopt;
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  auto value = parse_json_bounded(text, kMaxJoseJsonDepth, max_bytes);
  if (!value || !value->is_object()) return std::nullopt;
  return value;
}

}  // namespace

bool alg_allowed(JwsAlg alg, std::span<const JwsAlg> allowed) {
  return std::find(allowed.begin(), allowed.end(), alg) != allowed.end();
}

Outcome<Jws> parse_jws(std::string_view compact) {
  if (compact.size() > kMaxJwsSize) return OAuthError::too_large;
  auto first = compact.find('.');
  if (first == std::string_view::npos) return OAuthError::malformed;
  auto second = compact.find('.', first + 1);
  if (second == std::string_view::npos) return OAuthError::malformed;
  if (compact.find('.', second + 1) != std::string_view::npos) return OAuthError::malformed;
  std::string_view header_part = compact.substr(0, first);
  std::string_view payload_part = compact.substr(first + 1, second - first - 1);
  std::string_view signature_part = compact.substr(second + 1);

  if (header_part.size() > base64url_encoded_size(kMaxJoseHeaderBytes) ||
      payload_part.size() > base64url_encoded_size(kMaxJwsPayloadBytes)) {
    return OAuthError::too_large;
  }
  Jws jws;
  auto header = decode_object(header_part, kMaxJoseHeaderBytes);
  if (!header) return OAuthError::malformed;
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return OAuthError::malformed;
  auto known = jws_alg_from_name(alg->get_ref<const std::string&>());
  if (!known) return OAuthError::alg_not_allowed;
  if (header->contains("crit")) return OAuthError::malformed;
  auto payload = decode_object(payload_part, kMaxJwsPayloadBytes);
  if (!payload) return OAuthError::malformed;
  auto signature = base64url_decode(signature_part);
  if (!signature || signature->empty()) return OAuthError::malformed;

  jws.alg = *known;
  jws.header = std::move(*header);
  jws.payload = std::move(*payload);
  jws.signing_input.assign(compact.substr(0, second));
  jws.signature = std::move(*signature);
  return jws;
}

Status verify_jws(const Jws& jws, const nlohmann::json& jwk, std::span<const JwsAlg> allowed) {
  if (!alg_allowed(jws.alg, allowed)) return OAuthError::alg_not_allowed;
  auto key = public_key_from_jwk(jwk, jws.alg);
  if (!key) return key.error();
  if (!verify_signature(jws.alg, key.value().get(), jws.signing_input, jws.signature)) {
    return OAuthError::bad_signature;
  }
  return ok_status();
}

}  // namespace warden::oauth
