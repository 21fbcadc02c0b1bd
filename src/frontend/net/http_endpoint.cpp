#include "frontend/net/http_endpoint.hpp"

#include <openssl/crypto.h>

#include "frontend/mcp/json_rpc.hpp"
#include "frontend/net/http_rules.hpp"
#include "frontend/net/loopback.hpp"
#include "frontend/net/param_headers.hpp"
#include "frontend/net/stateless_envelope.hpp"
#include "frontend/approvals/approval_pages.hpp"
#include "frontend/console/console_pages.hpp"
#include "frontend/oauth/authorization_server.hpp"
#include "frontend/pdp/decision_point.hpp"
#include "frontend/ssf/shared_signals.hpp"

namespace warden::mcp {

namespace {

constexpr auto kSessionIdle = std::chrono::hours(1);

// What an agent says about itself at initialize is audited with the session (session_opened),
// before its token is known to be good: anyone's bytes. So only a few short strings are kept.
constexpr std::size_t kMaxClientField = 256;

// `text` cut to at most `max` bytes, not inside a UTF-8 sequence (parsed JSON strings are UTF-8).
std::string cut_utf8(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// The context of an initialize as warden.open_session audits it.
json initialize_context(const json& params) {
  json client = json::object();
  const auto info = params.is_object() ? params.find("clientInfo") : params.end();
  if (info != params.end()) {
    for (const char* key : {"name", "title", "version"}) {
      std::string value = string_member(*info, key);
      if (!value.empty()) client[key] = cut_utf8(value, kMaxClientField);
    }
  }
  return {{"transport", "http"},
          {"protocol_version", cut_utf8(string_member(params, "protocolVersion"), 64)},
          {"client", std::move(client)}};
}
constexpr std::string_view kMetadataPath = "/.well-known/oauth-protected-resource";

// Header values echoed into messages may hold bytes that are not UTF-8: replace, never throw.
HttpResponse json_response(unsigned status, const json& body) {
  return {status,
          {{"Content-Type", "application/json"}},
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// An HTTP-level refusal with a JSON-RPC error body (no id, as the transport spec allows).
// Whether an initialize's client capabilities include URL-mode elicitation (2025-11-25).
bool takes_url_elicitation(const json& params) {
  if (!params.is_object() || !params.contains("capabilities")) return false;
  const json& c = params["capabilities"];
  return c.is_object() && c.contains("elicitation") && c["elicitation"].is_object() &&
         c["elicitation"].contains("url");
}

HttpResponse refusal(unsigned status, int code, const std::string& message) {
  return json_response(status, rpc_error(nullptr, code, message));
}

// A request that would start something while warden-mcp drains at SIGTERM (a session, a
// stateless call): refused before its token is looked at, nothing opened or audited, and the
// agent told to come back after a pause (by then this instance has exited and a balancer's check
// has taken it out).
HttpResponse shutting_down(const json& id, const std::string& what) {
  HttpResponse r = json_response(503, Gateway::shutting_down(id, what));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

HttpResponse event_stream(std::shared_ptr<SseStream> stream) {
  return {200,
          {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache, no-transform"}},
          "",
          std::move(stream)};
}

// The agent's W3C traceparent in params._meta, when well formed (recorded with its decisions).
std::string agent_traceparent(const json& message) {
  const json* meta = nullptr;
  if (message.contains("params") && message["params"].is_object() &&
      message["params"].contains("_meta") && message["params"]["_meta"].is_object()) {
    meta = &message["params"]["_meta"];
  }
  if (!meta || !meta->contains("traceparent") || !(*meta)["traceparent"].is_string()) return {};
  const std::string& t = (*meta)["traceparent"].get_ref<const std::string&>();
  bool ok = t.size() == 55 && t[2] == '-' && t[35] == '-' && t[52] == '-' &&
            std::all_of(t.begin(), t.end(), [](char c) {
              return c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
  return ok ? t : std::string();
}

// Requests whose upstream may send progress, logging or requests of its own while it runs:
// answered with an event stream that carries those, then the response.
bool streams_messages(const std::string& method) {
  return method == "tools/call" || method == "prompts/get" || method == "resources/read" ||
         method == "completion/complete";
}

}  // namespace

std::string HttpRequest::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpEndpoint::base_url(const HttpRequest& request) const {
  if (options_.authorization_server) return options_.authorization_server->issuer();
  return "http://" + safe_host(request.header("host"));
}

HttpResponse HttpEndpoint::challenge(const HttpRequest& request, const std::string& error) const {
  std::string value =
      "Bearer resource_metadata=\"" + base_url(request) + std::string(kMetadataPath) + "\"";
  if (!error.empty()) value += ", error=\"invalid_token\", error_description=\"" + error + "\"";
  HttpResponse r = refusal(401, rpc_code::kDenied,
                           error.empty() ? "a bearer token is required (Authorization: Bearer ...)"
                                         : "the bearer token was refused: " + error);
  r.headers.emplace_back("WWW-Authenticate", value);
  return r;
}

HttpResponse HttpEndpoint::metadata(const HttpRequest& request) const {
  std::string base = base_url(request);
  json servers = json::array();
  if (options_.authorization_server) servers.push_back(options_.authorization_server->issuer());
  json body = {{"resource", base + "/mcp"},
               {"authorization_servers", servers},
               {"bearer_methods_supported", {"header"}},
               {"resource_name", "warden-mcp"}};
  if (options_.authorization_server) {
    body["dpop_signing_alg_values_supported"] = {"RS256", "PS256", "ES256", "EdDSA"};
  }
  return json_response(200, body);
}

std::optional<std::string> HttpEndpoint::presented_token(const HttpRequest& request,
                                                         std::string* dpop_jkt, Proof* proof,
                                                         std::optional<HttpResponse>* refusal) {
  std::string authorization = request.header("authorization");
  if (options_.authorization_server && authorization.size() > 5 &&
      (authorization.compare(0, 5, "DPoP ") == 0 || authorization.compare(0, 5, "dpop ") == 0)) {
    std::string token = authorization.substr(5);
    while (!token.empty() && token.front() == ' ') token.erase(0, 1);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    std::string proof_header = request.header("dpop");
    if (token.empty() || proof_header.empty()) {
      *refusal = challenge(request, "a DPoP token needs a DPoP proof header");
      return std::nullopt;
    }
    auto verified =
        options_.authorization_server->verify_resource_proof(proof_header, request.method, token);
    if (!verified) {
      *refusal = challenge(
          request, "DPoP proof refused: " + std::string(oauth::to_string(verified.error())));
      return std::nullopt;
    }
    *dpop_jkt = verified.value().jkt;
    *proof = std::move(verified.value());
    return token;
  }
  auto token = bearer_token(authorization);
  if (!token) token = options_.default_token;
  if (!token) *refusal = challenge(request, "");
  return token;
}

std::optional<HttpResponse> HttpEndpoint::metrics_refusal(const HttpRequest& request) const {
  if (is_loopback_host(request.peer_address) || options_.metrics_allow_remote) return std::nullopt;
  if (options_.metrics_token) {
    auto presented = bearer_token(request.header("authorization"));
    const std::string& expected = *options_.metrics_token;
    if (presented && presented->size() == expected.size() &&
        CRYPTO_memcmp(presented->data(), expected.data(), expected.size()) == 0) {
      return std::nullopt;
    }
    HttpResponse r = refusal(401, rpc_code::kDenied, "/metrics needs the metrics bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"metrics\"");
    return r;
  }
  return refusal(403, rpc_code::kInvalidRequest,
                 "/metrics is served to loopback clients only (start warden-mcp with "
                 "--metrics-token-file or --metrics-allow-remote to open it)");
}

awaitable<HttpResponse> HttpEndpoint::handle(const HttpRequest& request) {
  std::string path = path_of(request.target);
  if (options_.authorization_server) {
    std::optional<HttpResponse> answered = co_await options_.authorization_server->handle(request);
    if (answered) co_return std::move(*answered);
  }
  if (options_.decision_point) {
    std::string base = base_url(request);
    std::optional<HttpResponse> answered = co_await options_.decision_point->handle(request, base);
    if (answered) co_return std::move(*answered);
  }
  if (options_.shared_signals) {
    std::optional<HttpResponse> answered =
        co_await options_.shared_signals->handle(request, base_url(request));
    if (answered) co_return std::move(*answered);
  }
  if (path == "/healthz" && request.method == "GET") {
    bool up = co_await decisions_.ping();
    co_return json_response(up ? 200 : 503, {{"status", up ? "ok" : "database unreachable"}});
  }
  if (path == "/metrics" && request.method == "GET") {
    if (auto refused = metrics_refusal(request)) co_return *refused;
    co_return HttpResponse{200, {{"Content-Type", "text/plain; version=0.0.4"}}, metrics_.render()};
  }
  if ((path == kMetadataPath || path == std::string(kMetadataPath) + "/mcp") &&
      request.method == "GET") {
    co_return metadata(request);
  }
  if (options_.console && ConsolePages::handles(path)) {
    co_return co_await options_.console->handle(request, path);
  }
  if (options_.approval_pages && ApprovalPages::handles(path)) {
    co_return co_await options_.approval_pages->handle(request, path);
  }
  if (path != "/mcp") co_return refusal(404, rpc_code::kInvalidRequest, "not found: " + path);
  // DNS rebinding protection: a browser page from elsewhere must not reach the gateway.
  if (!origin_allowed(request.header("origin"), options_.allowed_origins)) {
    co_return refusal(403, rpc_code::kInvalidRequest, "Origin not allowed");
  }
  if (options_.allowed_hosts && !host_allowed(request.header("host"), *options_.allowed_hosts)) {
    co_return refusal(403, rpc_code::kInvalidRequest, "Host not allowed");
  }
  if (request.method == "POST") co_return co_await post(request);
  if (request.method == "DELETE") co_return co_await end_session(request);
  if (request.method == "GET") co_return co_await open_stream(request);
  HttpResponse r = refusal(405, rpc_code::kInvalidRequest, "method not allowed on /mcp");
  r.headers.emplace_back("Allow", "GET, POST, DELETE");
  co_return r;
}

awaitable<HttpResponse> HttpEndpoint::post(const HttpRequest& request) {
  std::string dpop_jkt;
  Proof proof;
  std::optional<HttpResponse> refused_token;
  auto token = presented_token(request, &dpop_jkt, &proof, &refused_token);
  if (!token) co_return std::move(*refused_token);
  if (!is_json_content_type(request.header("content-type"))) {
    co_return refusal(415, rpc_code::kInvalidRequest, "Content-Type must be application/json");
  }
  std::string accept = request.header("accept");
  if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
    co_return refusal(406, rpc_code::kInvalidRequest,
                      "Accept must list application/json and text/event-stream");
  }
  json message = parse_message(request.body);
  if (message.is_discarded()) {
    co_return refusal(400, rpc_code::kParseError,
                      "parse error: the body is not valid JSON (or nests deeper than 128 levels)");
  }
  if (message.is_array()) {
    co_return refusal(400, rpc_code::kInvalidRequest,
                      "JSON-RPC batches are not supported (removed in MCP 2025-06-18)");
  }
  MessageKind kind = classify(message);
  if (kind == MessageKind::kInvalid) {
    json id = message.is_object() && message.contains("id") ? message["id"] : json(nullptr);
    co_return json_response(400, rpc_error(id, rpc_code::kInvalidRequest,
                                           "not a JSON-RPC 2.0 request, notification or response"));
  }
  if (kind == MessageKind::kRequest || kind == MessageKind::kNotification) {
    const json& params = message.contains("params") ? message["params"] : json::object();
    const std::string* name = nullptr;
    for (const char* key : {"name", "uri"}) {
      if (params.is_object() && params.contains(key) && params[key].is_string()) {
        name = params[key].get_ptr<const std::string*>();
        break;
      }
    }
    auto mismatch = header_mismatch(request.header("mcp-method"), request.header("mcp-name"),
                                    message["method"].get<std::string>(), name);
    if (mismatch) {
      json id = message.contains("id") ? message["id"] : json(nullptr);
      co_return json_response(400, rpc_error(id, rpc_code::kHeaderMismatch, *mismatch));
    }
  }
  std::string version = request.header("mcp-protocol-version");
  if (is_stateless_message(version, message)) {
    co_return co_await post_stateless(request, *token, dpop_jkt, proof, std::move(message), kind);
  }
  if (!version.empty() && !supported_version(version)) {
    co_return refusal(400, rpc_code::kInvalidRequest,
                      "unsupported MCP-Protocol-Version " + version +
                          " (supported: " + std::string(kSupportedVersions[0]) + ", " +
                          std::string(kSupportedVersions[1]) + ")");
  }
  if (kind == MessageKind::kRequest && message["method"] == "initialize") {
    co_return co_await initialize(request, *token, dpop_jkt, proof, message);
  }
  std::string session_id = request.header("mcp-session-id");
  if (session_id.empty()) {
    co_return refusal(400, rpc_code::kInvalidRequest,
                      "Mcp-Session-Id header is required (send initialize first)");
  }
  if (auto refused = co_await check_binding(request, session_id, *token, dpop_jkt, proof))
    co_return *refused;
  if (kind == MessageKind::kResponse) {
    // The agent's answer to an upstream's request (sampling, elicitation, roots).
    if (!gateway_.channels().deliver(session_id, message)) {
      co_return refusal(400, rpc_code::kInvalidRequest, "no request of this session has that id");
    }
    co_return HttpResponse{202, {}, ""};
  }
  const Session& session = *sessions_.find(session_id);
  Caller caller{*token,
                session.token_id,
                session.agent,
                session_id,
                session.protocol_version,
                "http",
                nullptr,
                dpop_jkt,
                session.url_elicitation,
                false,
                agent_traceparent(message)};
  if (kind == MessageKind::kNotification && message["method"] == "notifications/cancelled") {
    const json& params = message.value("params", json::object());
    if (params.is_object() && params.contains("requestId")) {
      gateway_.cancel_request(caller, params["requestId"], "the agent cancelled it");
    }
  }
  if (kind != MessageKind::kRequest) co_return HttpResponse{202, {}, ""};
  if (streams_messages(message["method"])) {
    co_return co_await answer_streaming(std::move(message), std::move(caller));
  }
  json response = co_await gateway_.handle_request(message, caller);
  co_return json_response(200, response);
}

// How long a 2026-07-28 call's response headers wait for an error that has a status of its own.
constexpr auto kStatusWindow = std::chrono::milliseconds(100);

// How long a call's response head waits for its first message (see SseStream::hold_head): a
// call that ends within it is answered in one write; a longer one shows its stream by then.
constexpr auto kHeadHold = std::chrono::seconds(1);

awaitable<HttpResponse> HttpEndpoint::answer_streaming(json message, Caller caller) {
  auto stream = std::make_shared<SseStream>(co_await asio::this_coro::executor);
  stream->hold_head(kHeadHold);
  if (caller.stateless) {
    // 2026-07-28: logs only at the level the request asked for (none unless asked).
    std::string log_level;
    const json& params = message["params"];
    if (params.contains("_meta") && params["_meta"].contains(kMetaLogLevel) &&
        params["_meta"][std::string(kMetaLogLevel)].is_string()) {
      log_level = params["_meta"][std::string(kMetaLogLevel)];
    }
    stream->on_abandon([this, caller, id = message["id"]] {
      gateway_.cancel_request(caller, id, "the client disconnected");
    });
    caller.client_envelope = envelope_of(message["params"]);
    strip_envelope(message["params"]);
    auto first = std::make_shared<Pending<std::optional<json>>>(co_await asio::this_coro::executor);
    caller.to_client = [stream, log_level, first](const json& m) {
      if (m.value("method", "") == "notifications/message") {
        const json& p = m.value("params", json::object());
        if (!p.is_object() || !log_wanted(log_level, p.value("level", ""))) return;
      }
      first->set(std::nullopt);  // a message before the response: the answer is a stream
      stream->push(m);
    };
    caller.connected = [stream] { return stream->open(); };
    asio::co_spawn(co_await asio::this_coro::executor,
                   run_streaming(std::move(message), caller, stream, first), asio::detached);
    // The response headers wait a moment: an upstream's refusal for a client capability the
    // agent did not declare (-32021), which has an HTTP status of its own in 2026-07-28 (400),
    // is answered with that status as a plain JSON body when it comes at once. Anything else,
    // or nothing yet, is the event stream (the wait is short, so a client that leaves meanwhile
    // is noticed a moment later).
    std::optional<std::optional<json>> came = co_await first->wait(kStatusWindow);
    if (came && *came && (**came).contains("error") && (**came)["error"].is_object()) {
      const json& code_field = (**came)["error"].value("code", json());
      const int code = code_field.is_number_integer() ? code_field.get<int>() : 0;
      // Only -32021: the agent's own capabilities were missing. A -32020 or -32022 an upstream
      // answers is about warden-mcp's request to it, not the agent's (which passed our checks).
      if (code == rpc_code::kMissingClientCapability) {
        stream->abandon();
        co_return json_response(400, **came);
      }
    }
    co_return event_stream(std::move(stream));
  } else {
    caller.to_client = [stream](const json& m) { stream->push(m); };
    // Watched too, so that a call held for approval learns at once that its agent left (in the
    // session revisions leaving is not cancelling: nothing else happens).
    stream->on_abandon([] {});
  }
  caller.connected = [stream] { return stream->open(); };
  asio::co_spawn(co_await asio::this_coro::executor,
                 run_streaming(std::move(message), std::move(caller), stream), asio::detached);
  co_return event_stream(std::move(stream));
}

awaitable<void> HttpEndpoint::run_streaming(json message, Caller caller,
                                            std::shared_ptr<SseStream> stream,
                                            std::shared_ptr<Pending<std::optional<json>>> first) {
  json response;
  try {
    response = co_await gateway_.handle_request(message, caller);
  } catch (const std::exception& e) {
    response = rpc_error(message["id"], rpc_code::kInternalError, e.what());
  }
  if (caller.stateless && response.contains("result")) {
    response["result"] =
        stateless_result(message["method"].get<std::string>(), std::move(response["result"]));
  }
  if (first) first->set(response);
  stream->push(response);
  stream->finish();
}

awaitable<HttpResponse> HttpEndpoint::open_stream(const HttpRequest& request) {
  std::string dpop_jkt;
  Proof proof;
  std::optional<HttpResponse> refused_token;
  auto token = presented_token(request, &dpop_jkt, &proof, &refused_token);
  if (!token) co_return std::move(*refused_token);
  if (!accepts(request.header("accept"), "text/event-stream")) {
    co_return refusal(406, rpc_code::kInvalidRequest, "Accept must list text/event-stream");
  }
  std::string session_id = request.header("mcp-session-id");
  if (session_id.empty()) {
    co_return refusal(400, rpc_code::kInvalidRequest, "Mcp-Session-Id header is required");
  }
  if (auto refused = co_await check_binding(request, session_id, *token, dpop_jkt, proof))
    co_return *refused;
  // No event history is kept: a stream resumed with Last-Event-ID starts afresh.
  auto stream = std::make_shared<SseStream>(co_await asio::this_coro::executor);
  gateway_.channels().attach(session_id, stream);
  co_return event_stream(std::move(stream));
}

std::optional<HttpResponse> HttpEndpoint::spend_proof(const HttpRequest& request,
                                                      const Proof& proof) const {
  if (!proof || !options_.authorization_server) return std::nullopt;
  auto spent = options_.authorization_server->spend_resource_proof(*proof);
  if (spent) return std::nullopt;
  return challenge(request, "DPoP proof refused: " + std::string(oauth::to_string(spent.error())));
}

awaitable<HttpResponse> HttpEndpoint::initialize(const HttpRequest& request,
                                                 const std::string& token,
                                                 const std::string& dpop_jkt, const Proof& proof,
                                                 const json& message) {
  const json& id = message["id"];
  json params = message.value("params", json::object());
  json context = initialize_context(params);
  if (!dpop_jkt.empty()) context["dpop_jkt"] = dpop_jkt;
  // A session opened now would be cut off within seconds.
  if (gateway_.closing()) co_return shutting_down(id, "no session was opened");
  SessionGrant grant;
  try {
    grant = co_await decisions_.open_session(token, context);
  } catch (const std::exception& e) {
    co_return json_response(
        503, rpc_error(id, rpc_code::kDecisionUnavailable,
                       std::string("warden decision service unavailable: ") + e.what()));
  }
  if (!grant.allowed) co_return challenge(request, grant.reason);
  if (auto replayed = spend_proof(request, proof)) co_return std::move(*replayed);
  // SIGTERM came while the database was asked (its session_opened is audited already).
  if (gateway_.closing()) co_return shutting_down(id, "no session was opened");
  for (const std::string& expired : sessions_.expire(kSessionIdle)) {
    gateway_.channels().forget(expired);
  }
  if (auto oldest =
          sessions_.evictable(grant.agent, grant.human, options_.max_sessions_per_agent)) {
    sessions_.close(*oldest);
    gateway_.channels().forget(*oldest);
    metrics_.count_session_evicted();
  }
  json result = gateway_.initialize_result(params);
  std::string session_id = sessions_.open(Session{grant.agent,
                                                  grant.human,
                                                  grant.chain_id,
                                                  grant.token_id,
                                                  token,
                                                  dpop_jkt,
                                                  result["protocolVersion"],
                                                  {},
                                                  takes_url_elicitation(params)});
  HttpResponse r = json_response(200, rpc_result(id, std::move(result)));
  r.headers.emplace_back("Mcp-Session-Id", session_id);
  co_return r;
}

awaitable<std::optional<HttpResponse>> HttpEndpoint::check_binding(const HttpRequest& request,
                                                                   const std::string& session_id,
                                                                   const std::string& token,
                                                                   const std::string& dpop_jkt,
                                                                   const Proof& proof) {
  Session* session = sessions_.find(session_id);
  if (!session) co_return refusal(404, rpc_code::kInvalidRequest, "session not found");
  if (token == session->token && dpop_jkt == session->dpop_jkt) {
    co_return spend_proof(request, proof);
  }
  // Another token, or the same one without the proof of its key: allowed only when the
  // database accepts it as presented (a DPoP-bound token needs its key's proof) and it
  // identifies the same agent acting for the same person (e.g. a renewed or refreshed token).
  // Another person's token of the same agent would take over this session's stream and the
  // upstream requests relayed to it.
  SessionGrant grant;
  try {
    json context = {{"transport", "http"}, {"rebind", true}};
    if (!dpop_jkt.empty()) context["dpop_jkt"] = dpop_jkt;
    grant = co_await decisions_.open_session(token, context);
  } catch (const std::exception& e) {
    co_return refusal(503, rpc_code::kDecisionUnavailable,
                      std::string("warden decision service unavailable: ") + e.what());
  }
  if (!grant.allowed) co_return challenge(request, grant.reason);
  session = sessions_.find(session_id);  // it may have ended while we asked
  if (!session) co_return refusal(404, rpc_code::kInvalidRequest, "session not found");
  if (grant.agent != session->agent) {
    co_return refusal(403, rpc_code::kDenied, "this session belongs to another agent");
  }
  if (grant.human != session->human) {
    co_return refusal(403, rpc_code::kDenied, "this session belongs to another person");
  }
  if (auto replayed = spend_proof(request, proof)) co_return replayed;
  session->token = token;
  session->dpop_jkt = dpop_jkt;
  session->token_id = grant.token_id;
  session->chain_id = grant.chain_id;
  co_return std::nullopt;
}

awaitable<HttpResponse> HttpEndpoint::end_session(const HttpRequest& request) {
  std::string dpop_jkt;
  Proof proof;
  std::optional<HttpResponse> refused_token;
  auto token = presented_token(request, &dpop_jkt, &proof, &refused_token);
  if (!token) co_return std::move(*refused_token);
  std::string session_id = request.header("mcp-session-id");
  if (session_id.empty()) {
    co_return refusal(400, rpc_code::kInvalidRequest, "Mcp-Session-Id header is required");
  }
  if (auto refused = co_await check_binding(request, session_id, *token, dpop_jkt, proof))
    co_return *refused;
  sessions_.close(session_id);
  gateway_.channels().forget(session_id);
  co_return HttpResponse{200, {}, ""};
}

json HttpEndpoint::discover_result() const {
  json result = gateway_.initialize_result(json::object());
  json capabilities = result["capabilities"];
  // No resources/subscribe and no list-change notifications without a session (no
  // subscriptions/listen yet).
  capabilities["resources"] = json::object();
  capabilities["tools"] = json::object();
  return {{"supportedVersions", supported_versions()},
          {"capabilities", capabilities},
          {"instructions", result["instructions"]},
          {"_meta", {{kMetaServerInfo, result["serverInfo"]}}}};
}

awaitable<std::optional<Session>> HttpEndpoint::stateless_identity(
    const HttpRequest& request, const std::string& token, const std::string& dpop_jkt,
    const Proof& proof, const json& client_info, std::optional<HttpResponse>* refused) {
  std::string key = token + "\n" + dpop_jkt;
  auto now = std::chrono::steady_clock::now();
  std::erase_if(stateless_callers_,
                [&](const auto& entry) { return entry.second.last_used < now - kSessionIdle; });
  if (auto it = stateless_callers_.find(key); it != stateless_callers_.end()) {
    it->second.last_used = now;
    Session who = it->second;
    *refused = spend_proof(request, proof);
    if (*refused) co_return std::nullopt;
    co_return who;
  }
  json context = {{"transport", "http"},
                  {"protocol_version", kStatelessVersion},
                  {"stateless", true},
                  {"client", client_info.is_object() ? client_info : json::object()}};
  if (!dpop_jkt.empty()) context["dpop_jkt"] = dpop_jkt;
  SessionGrant grant;
  try {
    grant = co_await decisions_.open_session(token, context);
  } catch (const std::exception& e) {
    *refused = refusal(503, rpc_code::kDecisionUnavailable,
                       std::string("warden decision service unavailable: ") + e.what());
    co_return std::nullopt;
  }
  if (!grant.allowed) {
    *refused = challenge(request, grant.reason);
    co_return std::nullopt;
  }
  *refused = spend_proof(request, proof);
  if (*refused) co_return std::nullopt;
  Session who{grant.agent,
              grant.human,
              grant.chain_id,
              grant.token_id,
              token,
              dpop_jkt,
              std::string(kStatelessVersion),
              now,
              false};
  stateless_callers_[key] = who;
  co_return who;
}

awaitable<HttpResponse> HttpEndpoint::post_stateless(const HttpRequest& request,
                                                     const std::string& token,
                                                     const std::string& dpop_jkt,
                                                     const Proof& proof, json message,
                                                     MessageKind kind) {
  json id = message.contains("id") ? message["id"] : json(nullptr);
  // A session-less request is nobody's session: naming one is a mistake or an attempt to ride
  // on another client's stream and pending upstream requests.
  if (!request.header("mcp-session-id").empty()) {
    co_return json_response(
        400, rpc_error(id, rpc_code::kInvalidRequest,
                       std::string(kStatelessVersion) +
                           " requests belong to no session: send them without Mcp-Session-Id, or "
                           "use the session's own protocol version"));
  }
  if (kind == MessageKind::kResponse) {
    co_return json_response(
        400, rpc_error(id, rpc_code::kInvalidRequest,
                       "no request awaits an answer: " + std::string(kStatelessVersion) +
                           " has no server-to-client requests"));
  }
  std::string version = request.header("mcp-protocol-version");
  const std::string method = message["method"];
  if (kind == MessageKind::kNotification) {
    if (method == "notifications/cancelled") {
      std::optional<HttpResponse> refused;
      json params = message.value("params", json::object());
      auto who = co_await stateless_identity(request, token, dpop_jkt, proof, nullptr, &refused);
      if (!who) co_return std::move(*refused);
      if (params.is_object() && params.contains("requestId")) {
        Caller caller{token,  who->token_id, who->agent, "",    std::string(kStatelessVersion),
                      "http", nullptr,       dpop_jkt,   false, true,
                      ""};
        gateway_.cancel_request(caller, params["requestId"], "the agent cancelled it");
      }
    }
    co_return HttpResponse{202, {}, ""};
  }
  if (auto bad = check_envelope(version, message)) {
    co_return json_response(bad->status, rpc_error(id, bad->code, bad->message, bad->data));
  }
  if (auto missing = missing_routing_header(request.header("mcp-method"),
                                            request.header("mcp-name"), message)) {
    co_return json_response(400, rpc_error(id, rpc_code::kHeaderMismatch, *missing));
  }
  for (const auto& name : request.repeated) {
    if (name == "mcp-method" || name == "mcp-name" || name.rfind("mcp-param-", 0) == 0) {
      co_return json_response(
          400, rpc_error(id, rpc_code::kHeaderMismatch,
                         "Bad Request: the " + name +
                             " header is sent more than once (a proxy may have routed on "
                             "another value than the one warden-mcp would check)"));
    }
  }
  if (method == "server/discover") {
    co_return json_response(200, rpc_result(id, stateless_result(method, discover_result())));
  }
  if (!stateless_method(method)) {
    co_return json_response(404, rpc_error(id, rpc_code::kMethodNotFound,
                                           "method not found: " + method + " (not part of MCP " +
                                               std::string(kStatelessVersion) + ")"));
  }
  // Every stateless method is new work (ping is not one of them in this revision: 404 above).
  if (gateway_.closing()) co_return shutting_down(id, "nothing was forwarded");
  const json& meta = message["params"]["_meta"];
  std::optional<HttpResponse> refused;
  auto who = co_await stateless_identity(request, token, dpop_jkt, proof,
                                         meta.value(kMetaClientInfo, json::object()), &refused);
  if (!who) co_return std::move(*refused);
  Caller caller{token,   who->token_id, who->agent, "",   std::string(kStatelessVersion), "http",
                nullptr, dpop_jkt,      false,      true, agent_traceparent(message)};
  if (method == "tools/call") {
    // SEP-2243: the arguments the tool marks x-mcp-header came as Mcp-Param-* headers too, and
    // must agree with the body before anything is decided on it.
    const json& params = message["params"];
    if (params.contains("name") && params["name"].is_string()) {
      caller.client_envelope = envelope_of(params);  // the tool is looked up in this revision
      std::vector<ParamHeader> declarations =
          co_await gateway_.param_headers_of(params["name"].get<std::string>(), caller);
      json arguments = params.value("arguments", json::object());
      auto mismatch =
          param_header_mismatch(declarations, arguments, [&request](const std::string& name) {
            auto it = request.headers.find(name);
            return it == request.headers.end() ? std::nullopt
                                               : std::optional<std::string>(it->second);
          });
      if (mismatch) {
        co_return json_response(
            400, rpc_error(id, rpc_code::kHeaderMismatch,
                           "Bad Request: the request headers and body disagree: " + *mismatch));
      }
    }
  }
  if (streams_messages(method)) {
    co_return co_await answer_streaming(std::move(message), std::move(caller));
  }
  caller.client_envelope = envelope_of(message["params"]);
  strip_envelope(message["params"]);
  json response = co_await gateway_.handle_request(message, caller);
  if (response.contains("result")) {
    response["result"] = stateless_result(method, std::move(response["result"]));
  }
  unsigned status = 200;
  if (response.contains("error") && response["error"].value("code", 0) == rpc_code::kMethodNotFound)
    status = 404;
  co_return json_response(status, response);
}

}  // namespace warden::mcp
