#pragma once

#include <optional>
#include <string>

#include "frontend/db/oauth_store.hpp"
#include "frontend/net/http_endpoint.hpp"
#include "frontend/oauth/dpop.hpp"
#include "frontend/oauth/fetch_policy.hpp"
#include "frontend/oauth/form.hpp"
#include "frontend/oauth/idp_client.hpp"

namespace warden::oauth {

struct AuthorizationServerOptions {
  std::string issuer;              // the gateway's public base URL (--issuer)
  std::optional<std::string> idp;  // --idp; unset: the only configured provider
  FetchOptions fetch;              // for the IdP and Client ID Metadata Documents
};

// warden-mcp as the OAuth 2.1 authorization server of its /mcp resource (issue 13): metadata,
// /authorize (to the identity provider and back at /callback), the consent page, /consent,
// /token, /revoke and /register. The state machine lives in the database (oauth.sql); this
// class speaks HTTP for it and does what needs the network or the keys: the IdP leg, ID token
// signatures, Client ID Metadata Documents and DPoP proofs.
class AuthorizationServer {
 public:
  AuthorizationServer(mcp::OAuthStore& store, AuthorizationServerOptions options);

  const std::string& issuer() const { return issuer_; }
  // The URL of the protected resource (ISSUER/mcp).
  std::string resource() const { return issuer_ + "/mcp"; }

  // Fetches the identity provider's discovery document and keys (logged when it fails; tried
  // again on the first sign-in).
  mcp::awaitable<void> start();

  // The response when the request is for one of the server's routes, else nullopt.
  mcp::awaitable<std::optional<mcp::HttpResponse>> handle(const mcp::HttpRequest& request);

  // Verifies a DPoP proof sent to the resource (/mcp) with `access_token`: htm, htu
  // ISSUER/mcp, ath, freshness and replay. Returns the key's thumbprint.
  Outcome<DpopProof> verify_resource_proof(const std::string& proof, const std::string& method,
                                           const std::string& access_token);

 private:
  mcp::awaitable<mcp::HttpResponse> authorize(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> callback(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> consent(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> token(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> revoke(const mcp::HttpRequest& request);
  // RFC 8693 token exchange and the ID-JAG jwt-bearer grant (issue 14): verifies each JWT's
  // signature, then lets the database decide (warden.exchange_token).
  mcp::awaitable<nlohmann::json> machine_grant(const FormFields& form, std::string grant_type);
  // A JWT verified with the keys the database names for its iss and sub:
  // {header, claims, kid} or {error}.
  mcp::awaitable<nlohmann::json> verified_jwt(std::string token);
  mcp::awaitable<mcp::HttpResponse> register_client(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> jwks();
  // Fetches and checks a Client ID Metadata Document and registers its client; an error
  // message when that fails.
  mcp::awaitable<std::optional<std::string>> register_metadata_client(std::string client_id);
  // The redirect back to the client: its redirect_uri with these parameters, state and iss.
  mcp::HttpResponse to_client(const std::string& redirect_uri,
                              std::vector<std::pair<std::string, std::string>> params,
                              const std::string& state) const;

  mcp::OAuthStore& store_;
  std::string issuer_;
  std::string prefix_;  // the issuer's path ("" at the root): routes live below it
  AuthorizationServerOptions options_;
  IdpClient idp_;
  DpopReplayCache replay_;
};

}  // namespace warden::oauth
