#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "frontend/db/db_pool.hpp"
#include "frontend/net/http_endpoint.hpp"

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
// - stream management for receivers at /ssf/streams, /ssf/status and /ssf/verify, for the
//   bearer named by --ssf-token-file (none without it: the routes answer 404);
// - the push receiver (RFC 8935) at /ssf/receive: a SET from an identity provider accepted with
//   warden.accept_security_events, its signature verified here against the provider's keys,
//   everything else (aud, jti replay, iat, subjects, revoke_human) decided in the database.
//   Refusals are RFC 8935 errors ({"err", "description"}, 400) and audited.
class SharedSignals {
 public:
  // receive: answer /ssf/receive (--ssf-receive); otherwise it is not found, so no one can
  // write refusals into the audit trail of a gateway that takes no SETs.
  SharedSignals(mcp::DbPool& pool, std::string management_token, bool receive)
      : pool_(pool), management_token_(std::move(management_token)), receive_(receive) {}

  // Answers the request when its path is one of ours; nullopt otherwise.
  awaitable<std::optional<HttpResponse>> handle(const HttpRequest& request,
                                                const std::string& base_url);

 private:
  awaitable<HttpResponse> streams(const HttpRequest& request, const std::string& base_url);
  awaitable<HttpResponse> status(const HttpRequest& request);
  awaitable<HttpResponse> verify(const HttpRequest& request);
  awaitable<HttpResponse> receive(const HttpRequest& request);
  awaitable<HttpResponse> refuse(const std::string& err, const std::string& description,
                                 const std::string& iss, const json& claims);
  awaitable<json> call(const std::string& sql, const std::vector<mcp::Param>& params);
  bool authenticated(const HttpRequest& request) const;

  mcp::DbPool& pool_;
  std::string management_token_;
  bool receive_ = false;
};

// The RFC 8935 error for a refused SET; pure, for tests.
HttpResponse set_error(const std::string& err, const std::string& description);

}  // namespace warden::ssf
