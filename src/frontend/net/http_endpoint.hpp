#pragma once

#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frontend/base/event.hpp"
#include "frontend/mcp/gateway.hpp"
#include "frontend/mcp/sessions.hpp"
#include "frontend/net/sse_stream.hpp"
#include "frontend/oauth/dpop.hpp"

namespace warden::oauth {
class AuthorizationServer;
}
namespace warden::mcp {
class ApprovalPages;
class ConsolePages;
}  // namespace warden::mcp
namespace warden::pdp {
class DecisionPoint;
}
namespace warden::ssf {
class SharedSignals;
}

namespace warden::mcp {

// One HTTP request as the server read it; header names lowercased.
struct HttpRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string peer_address;  // the client's IP address (IPv4-mapped IPv6 as IPv4)
  // Lowercased names of headers sent more than once (`headers` keeps the last): a proxy may
  // have routed on the first, so routing headers must come once (SEP-2243).
  std::set<std::string> repeated;

  std::string header(const std::string& lowercase_name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is this event stream (text/event-stream), written as it is produced.
  std::shared_ptr<SseStream> stream = nullptr;
};

struct EndpointOptions {
  std::vector<std::string> allowed_origins;
  // Host headers accepted besides loopback ones; unset = any Host (a non-loopback listener).
  std::optional<std::vector<std::string>> allowed_hosts;
  std::optional<std::string> default_token;  // --agent-token-file, loopback only
  // /metrics answers loopback clients; others only with this set, or with the bearer token.
  bool metrics_allow_remote = false;
  std::optional<std::string> metrics_token;  // --metrics-token-file
  // With --issuer: the OAuth 2.1 authorization server whose routes this endpoint also serves,
  // named in the protected-resource metadata; it verifies DPoP proofs sent to /mcp.
  oauth::AuthorizationServer* authorization_server = nullptr;
  // The approval page (issue 15) at /approvals.
  ApprovalPages* approval_pages = nullptr;
  // The operator console (issue 16) at /console.
  ConsolePages* console = nullptr;
  // With --pep-token-file: the AuthZEN and ext_authz decision point for other gateways.
  pdp::DecisionPoint* decision_point = nullptr;
  // Shared Signals (issue 17): /.well-known/ssf-configuration, /ssf/streams..., /ssf/receive.
  ssf::SharedSignals* shared_signals = nullptr;
  // --max-sessions-per-agent: the sessions of one agent acting for one person beyond this end
  // their least recently used one (0: no limit).
  std::size_t max_sessions_per_agent = 256;
};

// The Streamable HTTP transport of MCP at /mcp, plus /healthz, /metrics and the RFC 9728
// protected-resource metadata. Knows nothing of sockets: http_server.cpp does the I/O.
class HttpEndpoint {
 public:
  HttpEndpoint(Gateway& gateway, Decisions& decisions, Sessions& sessions, Metrics& metrics,
               EndpointOptions options)
      : gateway_(gateway),
        decisions_(decisions),
        sessions_(sessions),
        metrics_(metrics),
        options_(std::move(options)) {}

  awaitable<HttpResponse> handle(const HttpRequest& request);

 private:
  // A verified DPoP proof not yet spent (none for a bearer token).
  using Proof = std::optional<oauth::DpopProof>;
  awaitable<HttpResponse> post(const HttpRequest& request);
  // A POST of the session-less revision (MCP 2026-07-28): envelope checks, server/discover,
  // then the same gateway path as a session's request (decided, audited, revocable).
  awaitable<HttpResponse> post_stateless(const HttpRequest& request, const std::string& token,
                                         const std::string& dpop_jkt, const Proof& proof,
                                         json message, MessageKind kind);
  // Who a token is, for session-less requests: warden.open_session once per token (and DPoP
  // key), then remembered like a session would be (each call is still decided on the token).
  // nullopt with *refused set when the token is refused or warden cannot be asked.
  awaitable<std::optional<Session>> stateless_identity(const HttpRequest& request,
                                                       const std::string& token,
                                                       const std::string& dpop_jkt,
                                                       const Proof& proof, const json& client_info,
                                                       std::optional<HttpResponse>* refused);
  json discover_result() const;
  awaitable<HttpResponse> end_session(const HttpRequest& request);
  // GET /mcp: the session's standalone stream of what upstreams send outside a request.
  awaitable<HttpResponse> open_stream(const HttpRequest& request);
  // Answers a request on an event stream: what upstreams send while it runs, then the response.
  // A stateless request's stream is watched: the client going away cancels the request.
  awaitable<HttpResponse> answer_streaming(json message, Caller caller);
  // Runs the request and pushes its response on `stream`; `first` (when given) is set once the
  // response or any message before it is known, with the response when it came first.
  awaitable<void> run_streaming(json message, Caller caller, std::shared_ptr<SseStream> stream,
                                std::shared_ptr<Pending<std::optional<json>>> first = nullptr);
  awaitable<HttpResponse> initialize(const HttpRequest& request, const std::string& token,
                                     const std::string& dpop_jkt, const Proof& proof,
                                     const json& message);
  // Checks that the token may use the session; nullopt when it may, else the refusal.
  awaitable<std::optional<HttpResponse>> check_binding(const HttpRequest& request,
                                                       const std::string& session_id,
                                                       const std::string& token,
                                                       const std::string& dpop_jkt,
                                                       const Proof& proof);
  // Accepts the request's DPoP proof once, now that its token was accepted: nullopt, or the
  // refusal of a replayed proof (or a full replay cache). Proofs are remembered only here, so
  // proofs with made-up tokens cannot fill the cache and shut DPoP clients out.
  std::optional<HttpResponse> spend_proof(const HttpRequest& request, const Proof& proof) const;
  HttpResponse challenge(const HttpRequest& request, const std::string& error) const;
  // The token a request to /mcp presents: "Bearer T", or "DPoP T" with a DPoP proof that
  // verifies (its key's thumbprint goes to *dpop_jkt), or the default token. nullopt with
  // *refusal set when a DPoP proof is refused.
  std::optional<std::string> presented_token(const HttpRequest& request, std::string* dpop_jkt,
                                             Proof* proof, std::optional<HttpResponse>* refusal);
  // The public base URL: --issuer, else http://HOST from the request.
  std::string base_url(const HttpRequest& request) const;
  HttpResponse metadata(const HttpRequest& request) const;
  // Nullopt when the client may read /metrics, else the refusal.
  std::optional<HttpResponse> metrics_refusal(const HttpRequest& request) const;

  Gateway& gateway_;
  Decisions& decisions_;
  Sessions& sessions_;
  Metrics& metrics_;
  EndpointOptions options_;
  std::map<std::string, Session> stateless_callers_;  // token + DPoP key -> who it is
};

}  // namespace warden::mcp
