#include <gtest/gtest.h>

#include "frontend/oauth/metadata.hpp"

// Issue 13: the RFC 8414 document MCP clients discover, and the OpenID configuration upstreams
// use to verify minted credentials.

namespace warden::oauth {
namespace {

using nlohmann::json;

TEST(OAuthMetadata, AuthorizationServerMetadata) {
  json m = authorization_server_metadata("https://gw.example/");
  EXPECT_EQ(m["issuer"], "https://gw.example");
  EXPECT_EQ(m["authorization_endpoint"], "https://gw.example/authorize");
  EXPECT_EQ(m["token_endpoint"], "https://gw.example/token");
  EXPECT_EQ(m["revocation_endpoint"], "https://gw.example/revoke");
  EXPECT_EQ(m["registration_endpoint"], "https://gw.example/register");
  EXPECT_EQ(m["jwks_uri"], "https://gw.example/.well-known/jwks.json");
  EXPECT_EQ(m["response_types_supported"], json({"code"}));
  // The browser flow, and the machine flows of issue 14 (RFC 8693 exchange, ID-JAG).
  EXPECT_EQ(m["grant_types_supported"], json({"authorization_code", "refresh_token",
                                              "urn:ietf:params:oauth:grant-type:token-exchange",
                                              "urn:ietf:params:oauth:grant-type:jwt-bearer"}));
  EXPECT_EQ(m["code_challenge_methods_supported"], json({"S256"}));
  // Public clients, and agents proving themselves with a private_key_jwt assertion.
  EXPECT_EQ(m["token_endpoint_auth_methods_supported"], json({"none", "private_key_jwt"}));
  EXPECT_EQ(m["dpop_signing_alg_values_supported"], json({"RS256", "PS256", "ES256", "EdDSA"}));
  EXPECT_EQ(m["client_id_metadata_document_supported"], true);
}

TEST(OAuthMetadata, OpenIdConfiguration) {
  json c = openid_configuration("https://gw.example");
  EXPECT_EQ(c["issuer"], "https://gw.example");
  EXPECT_EQ(c["jwks_uri"], "https://gw.example/.well-known/jwks.json");
  EXPECT_EQ(c["id_token_signing_alg_values_supported"], json({"EdDSA"}));
  EXPECT_EQ(c["subject_types_supported"], json({"public"}));
}

TEST(OAuthMetadata, WellKnownPaths) {
  EXPECT_EQ(authorization_server_metadata_path("https://gw.example"),
            "/.well-known/oauth-authorization-server");
  EXPECT_EQ(authorization_server_metadata_path("https://gw.example/tenant/"),
            "/.well-known/oauth-authorization-server/tenant");
  EXPECT_EQ(openid_configuration_path("https://gw.example"), "/.well-known/openid-configuration");
  EXPECT_EQ(openid_configuration_path("https://gw.example/tenant"),
            "/tenant/.well-known/openid-configuration");
}

}  // namespace
}  // namespace warden::oauth
