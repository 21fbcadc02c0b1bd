#pragma once

#include <chrono>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <string>

#include "frontend/db/oauth_store.hpp"
#include "frontend/net/http_endpoint.hpp"
#include "frontend/oauth/dpop.hpp"
#include "frontend/oauth/fetch_policy.hpp"
#include "frontend/oauth/form.hpp"
#include "frontend/oauth/idp_client.hpp"

namespace warden::oauth {

// RFC 7591 registration is open to whoever reaches the gateway: a registration body is at most
// this big, and one client address registers at most kRegistrationsPerWindow clients per
// kRegistrationWindow, by /register or by naming new Client ID Metadata Documents at /authorize
// (refused metadata does not count; the database also caps the agents awaiting approval at 1000).
inline constexpr size_t kMaxRegistrationBytes = 16 * 1024;
inline constexpr int kRegistrationsPerWindow = 10;
inline constexpr std::chrono::seconds kRegistrationWindow{60};
// Client ID Metadata Documents warden-mcp fetches for one client address per window (known
// clients' included): /authorize must not make warden-mcp an open fetcher of public URLs.
inline constexpr int kMetadataFetchesPerWindow = 60;

// Counts registrations per client address in fixed windows; remembers at most 4096 addresses
// (when full, the oldest window is forgotten). Thread-safe.
class RegistrationLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RegistrationLimiter(int per_window = kRegistrationsPerWindow)
      : per_window_(per_window) {}
  // True (and counted) when `address` may register once more in its current window.
  bool try_acquire(const std::string& address, Clock::time_point now = Clock::now());
  // Gives back an acquired registration that created nothing (the metadata was refused).
  void refund(const std::string& address);

 private:
  struct Window {
    Clock::time_point started;
    int count = 0;
  };
  int per_window_;
  std::mutex mutex_;
  std::map<std::string, Window> windows_;
};

struct AuthorizationServerOptions {
  std::string issuer;                     // the gateway's public base URL (--issuer)
  std::optional<std::string> idp;         // --idp; unset: the only configured provider
  FetchOptions fetch;                     // for the IdP and Client ID Metadata Documents
  size_t dpop_replay_capacity = 100'000;  // --dpop-replay-capacity: live DPoP proofs remembered
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

  // An approver's sign-in to the approval page (issue 15): the redirect to the identity
  // provider for a browser whose binding cookie holds `binding`, returning to `next` (an
  // approval page). The provider comes back to /callback, which opens the approver session.
  // At most kRegistrationsPerWindow such sign-ins per client address per window (the
  // database also caps all open ones at 10,000): one address cannot crowd out the others.
  mcp::awaitable<mcp::HttpResponse> begin_approver_sign_in(const std::string& next,
                                                           const std::string& binding,
                                                           const std::string& peer_address);

  // Verifies a DPoP proof sent to the resource (/mcp) with `access_token`: htm, htu
  // ISSUER/mcp, ath and freshness. Not yet its replay: spend_resource_proof, once the database
  // accepted the token for the proof's key (a made-up token's proofs are never remembered).
  Outcome<DpopProof> verify_resource_proof(const std::string& proof, const std::string& method,
                                           const std::string& access_token);
  // Accepts a verified resource proof once (replayed_proof the second time).
  Outcome<DpopProof> spend_resource_proof(DpopProof proof);

 private:
  mcp::awaitable<mcp::HttpResponse> authorize(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> callback(const mcp::HttpRequest& request);
  // The provider's authorization URL for a sign-in warden.begin_authorization or
  // warden.begin_approver_sign_in began; nullopt (logged) when the provider is unusable.
  mcp::awaitable<std::optional<std::string>> idp_authorization_url(const nlohmann::json& began);
  // The provider's answer at /callback: redeems the code (PKCE) into `id_token` (as received)
  // and verifies it into `claims`; the reason when that fails (claims then empty).
  mcp::awaitable<std::optional<std::string>> verify_callback(const FormFields& query,
                                                             const nlohmann::json& pending,
                                                             nlohmann::json& claims,
                                                             std::string& id_token);
  // /callback for an approver's sign-in: the database decides, verifying the ID token again
  // with the keys an administrator pinned; the session cookie on success.
  mcp::awaitable<mcp::HttpResponse> finish_approver_sign_in(
      const mcp::HttpRequest& request, const std::string& idp_state, const std::string& id_token,
      const std::optional<std::string>& refusal);
  mcp::awaitable<mcp::HttpResponse> consent(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> token(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> revoke(const mcp::HttpRequest& request);
  // RFC 8693 token exchange and the ID-JAG jwt-bearer grant (issue 14): verifies each JWT's
  // signature, then lets the database decide (warden.exchange_token).
  mcp::awaitable<nlohmann::json> machine_grant(const FormFields& form, std::string grant_type);
  // A machine grant refused here, before the database decided anything: audited there (through
  // warden.exchange_token's "refused"), answered with the OAuth error.
  mcp::awaitable<nlohmann::json> refused_at_gateway(std::string grant_type, std::string error,
                                                    std::string reason, std::string description);
  // A JWT verified with the keys the database names for its iss and sub:
  // {header, claims, kid} or {error}.
  mcp::awaitable<nlohmann::json> verified_jwt(std::string token);
  mcp::awaitable<mcp::HttpResponse> register_client(const mcp::HttpRequest& request);
  mcp::awaitable<mcp::HttpResponse> jwks();
  // Fetches and checks a Client ID Metadata Document and registers its client; an error
  // message when that fails. A new client counts against the address's registration budget.
  mcp::awaitable<std::optional<std::string>> register_metadata_client(std::string client_id,
                                                                      std::string peer_address);
  mcp::awaitable<std::optional<std::string>> fetch_and_register(const std::string& client_id,
                                                                bool may_create, bool& created);
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
  RegistrationLimiter registrations_;
  RegistrationLimiter approver_sign_ins_;
  RegistrationLimiter metadata_fetches_{kMetadataFetchesPerWindow};
  // client_ids whose metadata document was good (at most 10,000; then forgotten at once).
  // Used on the listener's one thread only.
  std::set<std::string> good_documents_;
};

}  // namespace warden::oauth
