#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "frontend/db/db_pool.hpp"
#include "frontend/db/oauth_store.hpp"
#include "frontend/metrics.hpp"
#include "frontend/net/http_endpoint.hpp"
#include "frontend/oauth/idp_client.hpp"
#include "frontend/oauth/jwks_refresh.hpp"
#include "frontend/ssf/refusal_limiter.hpp"

namespace warden::ssf {

using mcp::awaitable;
using mcp::HttpRequest;
using mcp::HttpResponse;
using json = nlohmann::json;

inline constexpr std::string_view kConfigurationPath = "/.well-known/ssf-configuration";
inline constexpr std::string_view kReceivePath = "/ssf/receive";

// Revocation over Shared Signals (issue 17), the HTTP side:
// - the SSF 1.0 transmitter configuration at /.well-known/ssf-configuration (keys: the
//   gateway's /.well-known/jwks.json, the keys warden.public_keys() publishes);
// - stream management for receivers at /ssf/streams (POST create, GET read, PATCH update,
//   PUT replace, DELETE), /ssf/status and /ssf/verify, for the bearer named by
//   --ssf-token-file (none without it: the routes answer 404);
// - the push receiver (RFC 8935) at /ssf/receive: a SET from an identity provider accepted with
//   warden.accept_security_events, its signature verified here against the provider's keys,
//   everything else (aud, jti replay, iat, subjects, revoke_human) decided in the database.
//   A kid the cached keys lack makes the provider's JWKS be fetched again (discovery, then
//   jwks_uri, stored with warden.store_idp_metadata), at most once a minute per provider.
//   Refusals are RFC 8935 errors ({"err", "description"}, 400) and audited, up to a token
//   bucket per remote address; past it they are answered 429 with Retry-After, unaudited.
class SharedSignals {
 public:
  // receive: answer /ssf/receive (--ssf-receive); otherwise it is not found, so no one can
  // write refusals into the audit trail of a gateway that takes no SETs. idp_fetch: the policy
  // for fetching a provider's discovery document and JWKS (--oauth-allow-http-loopback,
  // --oauth-ca-file).
  SharedSignals(mcp::DbPool& pool, std::string management_token, bool receive,
                mcp::Metrics& metrics, mcp::OAuthStore& store, oauth::FetchOptions idp_fetch)
      : pool_(pool),
        management_token_(std::move(management_token)),
        receive_(receive),
        metrics_(metrics),
        idp_(store, std::move(idp_fetch)) {}

  // Answers the request when its path is one of ours; nullopt otherwise.
  awaitable<std::optional<HttpResponse>> handle(const HttpRequest& request,
                                                const std::string& base_url);

 private:
  awaitable<HttpResponse> streams(const HttpRequest& request, const std::string& base_url);
  awaitable<HttpResponse> update_stream(const HttpRequest& request);
  awaitable<HttpResponse> status(const HttpRequest& request);
  awaitable<HttpResponse> verify(const HttpRequest& request);
  awaitable<HttpResponse> receive(const HttpRequest& request);
  awaitable<HttpResponse> refuse(const HttpRequest& request, const std::string& err,
                                 const std::string& description, const std::string& iss,
                                 const json& claims);
  // The issuer's keys after fetching its JWKS again; null when not allowed now or it failed.
  awaitable<json> refetched_keys(const std::string& iss, const json& cached, bool& limited);
  awaitable<json> call(const std::string& sql, const std::vector<mcp::Param>& params);
  bool authenticated(const HttpRequest& request) const;

  mcp::DbPool& pool_;
  std::string management_token_;
  bool receive_ = false;
  mcp::Metrics& metrics_;
  oauth::IdpClient idp_;
  oauth::JwksRefreshLimiter key_refresh_{std::chrono::seconds(60)};
  RefusalLimiter refusals_{};
};

// The RFC 8935 error for a refused SET; pure, for tests.
HttpResponse set_error(const std::string& err, const std::string& description);

}  // namespace warden::ssf
