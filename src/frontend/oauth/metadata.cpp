#include "frontend/oauth/metadata.hpp"

#include "frontend/oauth/jwk_key.hpp"

namespace warden::oauth {
namespace {

// The issuer's path ("" for an issuer at the root of its origin).
std::string_view issuer_path(std::string_view issuer) {
  auto scheme = issuer.find("://");
  if (scheme == std::string_view::npos) return {};
  auto slash = issuer.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view{} : issuer.substr(slash);
}

}  // namespace

std::string normalize_issuer(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return std::string(issuer);
}

nlohmann::json authorization_server_metadata(std::string_view issuer) {
  const std::string base = normalize_issuer(issuer);
  nlohmann::json dpop_algs = nlohmann::json::array();
  for (JwsAlg alg : kAllJwsAlgs) dpop_algs.push_back(jws_alg_name(alg));
  return {
      {"issuer", base},
      {"authorization_endpoint", base + "/authorize"},
      {"token_endpoint", base + "/token"},
      {"revocation_endpoint", base + "/revoke"},
      {"registration_endpoint", base + "/register"},
      {"jwks_uri", base + "/.well-known/jwks.json"},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"grant_types_supported",
       {"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:jwt-bearer"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"token_endpoint_auth_methods_supported", {"none", "private_key_jwt"}},
      {"token_endpoint_auth_signing_alg_values_supported", dpop_algs},
      {"revocation_endpoint_auth_methods_supported", {"none"}},
      {"dpop_signing_alg_values_supported", dpop_algs},
      {"client_id_metadata_document_supported", true},
      {"authorization_response_iss_parameter_supported", true},
  };
}

nlohmann::json openid_configuration(std::string_view issuer) {
  const std::string base = normalize_issuer(issuer);
  return {
      {"issuer", base},
      {"jwks_uri", base + "/.well-known/jwks.json"},
      {"response_types_supported", {"id_token"}},
      {"subject_types_supported", {"public"}},
      {"id_token_signing_alg_values_supported", {"EdDSA"}},
      {"scopes_supported", {"openid"}},
      // What core/vended_credential.cpp puts in a minted JWT.
      {"claims_supported", {"iss", "sub", "aud", "iat", "exp", "jti", "human", "chain", "tool"}},
  };
}

std::string authorization_server_metadata_path(std::string_view issuer) {
  return "/.well-known/oauth-authorization-server" +
         std::string(issuer_path(normalize_issuer(issuer)));
}

std::string openid_configuration_path(std::string_view issuer) {
  // OpenID Connect Discovery appends the well-known segment to the issuer's path.
  return std::string(issuer_path(normalize_issuer(issuer))) + "/.well-known/openid-configuration";
}

}  // namespace warden::oauth
