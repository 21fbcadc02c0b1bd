#pragma once

#include <optional>
#include <string>
#include <utility>

#include "frontend/base/asio.hpp"
#include "frontend/db/oauth_store.hpp"
#include "frontend/oauth/fetch_policy.hpp"
#include "frontend/oauth/jwks_refresh.hpp"

namespace warden::oauth {

// What went wrong talking to the identity provider, said to the operator (never to the person
// in the browser beyond a generic message).
struct IdpResult {
  nlohmann::json value;  // on success
  std::string error;     // empty on success
  bool ok() const { return error.empty(); }
};

// warden-mcp as an OpenID Connect relying party of one identity provider: discovery and JWKS
// (fetched under the SSRF policy, kept in the database with warden.store_idp_metadata so any
// replica can use them), the code exchange at the provider's token endpoint, and ID token
// verification (re-fetching the JWKS when a key id is unknown, rate-limited).
class IdpClient {
 public:
  IdpClient(mcp::OAuthStore& store, FetchOptions fetch) : store_(store), fetch_(std::move(fetch)) {}

  // Fetches the provider's discovery document and JWKS and stores them.
  mcp::awaitable<IdpResult> discover(std::string idp);
  // warden.identity_provider(idp), discovering first when nothing was fetched yet.
  mcp::awaitable<IdpResult> provider(std::string idp);
  // POSTs the code to the token endpoint (client_secret_basic with the stored secret, else the
  // client_id alone) and returns the provider's token response.
  mcp::awaitable<IdpResult> exchange_code(nlohmann::json provider, std::string code,
                                          std::string code_verifier, std::string redirect_uri);
  // Verifies the ID token's signature and claims (issuer, audience, azp, times). The nonce is
  // compared with its hash by warden.complete_sign_in, which re-checks every claim. Returns the
  // claims.
  mcp::awaitable<IdpResult> verify_id_token(nlohmann::json provider, std::string id_token);

 private:
  mcp::OAuthStore& store_;
  FetchOptions fetch_;
  JwksRefreshLimiter refresh_limiter_;
};

}  // namespace warden::oauth
