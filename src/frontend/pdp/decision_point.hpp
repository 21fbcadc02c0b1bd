#pragma once

#include <optional>
#include <string>

#include "frontend/db/decisions.hpp"
#include "frontend/metrics.hpp"
#include "frontend/net/http_endpoint.hpp"
#include "frontend/pdp/authzen_request.hpp"

namespace warden::pdp {

using mcp::awaitable;
using mcp::HttpRequest;
using mcp::HttpResponse;

// warden as the policy decision point of other gateways (issue 17): the AuthZEN 1.0
// Authorization API (/access/v1/evaluation, /access/v1/evaluations and the metadata at
// /.well-known/authzen-configuration) and Envoy's ext_authz HTTP service (/ext_authz/...).
// Every evaluation is one warden.authorize: the same decision, audit event and budget as a call
// through /mcp. The calling gateway (the PEP) authenticates with a bearer secret it shares with
// this gateway (--pep-token-file): AuthZEN in Authorization, ext_authz in X-Warden-PEP-Token
// (Authorization there carries the agent's task token).
class DecisionPoint {
 public:
  DecisionPoint(mcp::Decisions& decisions, mcp::Metrics& metrics, std::string pep_token)
      : decisions_(decisions), metrics_(metrics), pep_token_(std::move(pep_token)) {}

  // Answers the request when its path is one of ours; nullopt otherwise.
  awaitable<std::optional<HttpResponse>> handle(const HttpRequest& request,
                                                const std::string& base_url);

 private:
  struct Verdict {
    bool decision = false;
    json context = json::object();
  };
  awaitable<HttpResponse> evaluation(const HttpRequest& request, bool batch);
  awaitable<HttpResponse> ext_authz(const HttpRequest& request);
  awaitable<Verdict> decide(const std::string& token, const std::string& server,
                            const std::string& tool, const json& arguments, json context);
  bool pep_authenticated(const std::string& presented) const;

  mcp::Decisions& decisions_;
  mcp::Metrics& metrics_;
  std::string pep_token_;
};

}  // namespace warden::pdp
