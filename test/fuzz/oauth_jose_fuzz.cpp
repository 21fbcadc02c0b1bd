#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/base64url.hpp"
#include "frontend/oauth/client_metadata.hpp"
#include "frontend/oauth/dpop.hpp"
#include "frontend/oauth/fetch_policy.hpp"
#include "frontend/oauth/id_token.hpp"
#include "frontend/oauth/jws.hpp"

namespace {

using namespace warden;
using namespace warden::oauth;

// A JWKS with a public key whose private half nobody has: no input may verify against it.
const nlohmann::json& jwks() {
  static const nlohmann::json keys = {{"keys",
                                       {{{"kty", "EC"},
                                         {"crv", "P-256"},
                                         {"kid", "k1"},
                                         {"x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"},
                                         {"y", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}}}}};
  return keys;
}

void require(bool condition) {
  if (!condition) std::abort();
}

std::string b64(std::string_view text) {
  return base64url_encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Runs every parser on one compact JWS. A DPoP proof carries its own key, so it may verify in
// principle; an ID token must never verify against a key whose private half nobody has.
void check_compact(std::string_view compact) {
  auto jws = parse_jws(compact);
  if (jws) require(jws.value().header.is_object() && jws.value().payload.is_object());

  IdTokenExpectations expected;
  expected.issuer = "https://idp.example";
  expected.client_id = "warden";
  expected.nonce = "n";
  expected.now = 1'800'000'000;
  require(!validate_id_token(compact, jwks(), expected).ok());

  static DpopReplayCache replay(1024);
  DpopRequest request;
  request.method = "POST";
  request.url = "https://gw.example/mcp";
  request.now = 1'800'000'000;
  request.access_token = "token";
  (void)verify_dpop_proof(compact, request, replay);
}

}  // namespace

// The input is used twice: as a compact JWS as it stands, and split at the first two newlines
// into header JSON, payload JSON and signature bytes that are encoded into a JWS, so the JSON
// and JWK handling behind the base64url layer is reached too. Policy checks on the same text
// (URLs, metadata documents) must not crash either.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_compact(input);

  auto first = input.find('\n');
  auto second = first == std::string_view::npos ? first : input.find('\n', first + 1);
  if (second != std::string_view::npos) {
    std::string compact = b64(input.substr(0, first)) + "." +
                          b64(input.substr(first + 1, second - first - 1)) + "." +
                          b64(input.substr(second + 1));
    check_compact(compact);
    if (auto jwk = nlohmann::json::parse(input.substr(0, first), nullptr, false);
        jwk.is_object() && jwk.size() < 16) {
      (void)jwk_thumbprint(jwk);
    }
  }

  (void)normalize_htu(input);
  (void)check_fetch_url(input, FetchOptions{});
  (void)check_client_metadata_document("https://app.example/client.json", input);
  (void)parse_jwks(input);
  return 0;
}
