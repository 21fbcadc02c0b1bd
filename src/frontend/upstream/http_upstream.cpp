#include "frontend/upstream/http_upstream.hpp"

#include <utility>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "frontend/base/event.hpp"
#include "frontend/net/http_rules.hpp"
#include "frontend/net/loopback.hpp"
#include "frontend/net/sse_stream.hpp"
#include "frontend/net/tls_client.hpp"
#include "frontend/net/url.hpp"
#include "frontend/net/stateless_envelope.hpp"
#include "frontend/upstream/handshake.hpp"
#include "frontend/net/param_headers.hpp"
#include "frontend/upstream/stateless_upstream.hpp"

namespace warden::mcp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTimeout = std::chrono::seconds(300);
constexpr std::size_t kMaxBody = 64 * 1024 * 1024;
// Rounds of input_required warden-mcp answers for an agent on a session before it gives up on
// an upstream that keeps asking.
constexpr int kMaxInputRounds = 8;

struct Reply {
  unsigned status = 0;
  std::string session_id;
  std::string content_type;
  std::string body;
  json message;  // the response, when it came as an event of an event stream
};

// A response being read: kept beyond the exchange when its event stream is still open after
// the response (see finish_reading).
struct Reading {
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
};

struct Exchanged {
  Reply reply;
  // The response was read to its end, the upstream keeps the connection open, and nothing came
  // after the response: the connection may carry the next request. Otherwise what is left in it
  // (the rest of an event stream, bytes the upstream sent unasked) could be read as the answer
  // to another request, so it is closed.
  bool reusable = false;
  // Set when the response came as an event and its stream had not ended yet: the rest may
  // still end cleanly, and the connection be reused then.
  std::unique_ptr<Reading> rest;
};

// An upstream's JSON-RPC error as the agent and the audit get it: an integer code and a string
// message whatever the upstream sent (a malformed one must not fail the call's recording).
json clean_error(const json& error) {
  json out = json::object();
  out["code"] = error.is_object() && error.contains("code") && error["code"].is_number_integer()
                    ? error["code"].get<std::int64_t>()
                    : static_cast<std::int64_t>(rpc_code::kUpstreamFailed);
  out["message"] = error.is_object() && error.contains("message") && error["message"].is_string()
                       ? error["message"].get<std::string>()
                       : std::string("the upstream sent a malformed error");
  if (error.is_object() && error.contains("data")) out["data"] = error["data"];
  return out;
}

template <class Parser>
bool ends_cleanly(const Parser& parser, const beast::flat_buffer& buffer) {
  return parser.is_done() && parser.keep_alive() && !parser.need_eof() && buffer.size() == 0;
}

// The TLS sessions of upstream hosts ("host:port"), so that a new connection resumes one
// instead of a full handshake. A session is only offered to the host name it was verified
// for; the newest one of each host is kept.
class TlsSessions {
 public:
  void keep(const std::string& host, SSL* ssl) {
    SSL_SESSION* session = SSL_get1_session(ssl);
    if (session == nullptr) return;
    if (SSL_SESSION_is_resumable(session) == 0) {
      SSL_SESSION_free(session);
      return;
    }
    std::lock_guard lock(mutex_);
    sessions_[host].reset(session);
  }
  void offer(const std::string& host, SSL* ssl) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(host);
    if (it != sessions_.end()) SSL_set_session(ssl, it->second.get());
  }

 private:
  struct Free {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
  };
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<SSL_SESSION, Free>> sessions_;
};

TlsSessions& tls_sessions() {
  static TlsSessions sessions;
  return sessions;
}

// One connection to the upstream, plain or TLS.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }

  // Nothing arrived while the connection was idle: no end of stream, and no bytes the upstream
  // sent unasked, which would otherwise be read as the answer to the next request.
  bool quiet() {
    char byte = 0;
    ssize_t n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
    if (tls) {
      SSL* ssl = tls->native_handle();
      if (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return false;
    }
    return true;
  }
};

// A credential on a plain http:// connection is readable by anyone on the path; only the
// loopback interface keeps it on this host.
bool sends_credential_in_clear(const Url& url, const std::optional<Credential>& credential) {
  return !url.tls && !is_loopback_host(url.host) && credential.has_value();
}

bool is_event_stream(const std::string& content_type) {
  return accepts(content_type, "text/event-stream") && !is_json_content_type(content_type);
}

// Writes the request and reads the reply. An event stream is read as it arrives: the response
// with `id` ends it; other messages go to `on_message` at once (a request of the upstream must
// reach the agent, and its answer the upstream, before the response can come).
template <class Stream>
awaitable<Exchanged> exchange(Stream& stream, http::request<http::string_body>& request,
                              const json& id, const std::function<void(const json&)>& on_message) {
  co_await http::async_write(stream, request, use_awaitable);
  auto reading = std::make_unique<Reading>();
  beast::flat_buffer& buffer = reading->buffer;
  http::response_parser<http::string_body>& parser = reading->parser;
  parser.body_limit(kMaxBody);
  co_await http::async_read_header(stream, buffer, parser, use_awaitable);
  Reply reply{parser.get().result_int(),
              std::string(parser.get()["Mcp-Session-Id"]),
              std::string(parser.get()[http::field::content_type]),
              {},
              nullptr};
  if (!is_event_stream(reply.content_type) || id.is_null()) {
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    reply.body = std::move(parser.get().body());
    co_return Exchanged{std::move(reply), ends_cleanly(parser, buffer), nullptr};
  }
  while (!parser.is_done()) {
    co_await http::async_read_some(stream, buffer, parser, use_awaitable);
    for (const auto& data : take_sse_data(parser.get().body())) {
      json message = parse_message(data);
      MessageKind kind = classify(message);
      if (kind == MessageKind::kResponse && message["id"] == id) {
        reply.message = std::move(message);
        // Reused only when the stream ended with the response; otherwise the connection goes,
        // with whatever the stream still holds.
        bool reusable = ends_cleanly(parser, buffer) && parser.get().body().empty();
        Exchanged done{std::move(reply), reusable, nullptr};
        if (!parser.is_done() && parser.get().body().empty()) done.rest = std::move(reading);
        co_return done;
      }
      if (kind == MessageKind::kRequest || kind == MessageKind::kNotification) on_message(message);
    }
  }
  co_return Exchanged{std::move(reply), false, nullptr};
}

// Reads the rest of an event stream whose response already went to the caller: true when the
// stream ends with nothing more in it (no further message, nothing after its end).
template <class Stream>
awaitable<bool> drain(Stream& stream, Reading& reading) {
  while (!reading.parser.is_done()) {
    co_await http::async_read_some(stream, reading.buffer, reading.parser, use_awaitable);
    if (!take_sse_data(reading.parser.get().body()).empty()) co_return false;
  }
  co_return ends_cleanly(reading.parser, reading.buffer) && reading.parser.get().body().empty();
}

// What stops one 2026-07-28 call between and during its requests (see request_stateless).
struct CallControl {
  std::optional<std::string> stopped;       // why it was cancelled, revoked or timed out
  std::function<void()> closer;             // closes the request in flight; empty between
  std::shared_ptr<Pending<json>> asking{};  // the agent's answer being waited for
};

// Which revision one POST travels in (headers: the envelope's version and the routing
// headers, or the session's id and version).
enum class Revision { kSession, kStateless };

class HttpUpstream : public Upstream, public std::enable_shared_from_this<HttpUpstream> {
 public:
  HttpUpstream(const Executor& ex, std::string name, Url url, HttpKeepAlive keep_alive)
      : ex_(ex),
        name_(std::move(name)),
        url_(std::move(url)),
        keep_alive_(keep_alive),
        initialized_changed_(ex),
        sweep_(ex) {}

  awaitable<json> request(const std::string& method, json params,
                          const ForwardContext& context) override {
    auto self = shared_from_this();
    // Which revision this request travels in: an agent on 2026-07-28 is carried in it when the
    // upstream speaks it (server/discover); an agent on a session gets a session upstream too
    // (sessions have what 2026-07-28 dropped: subscriptions, requests in the middle of a call),
    // unless the upstream refuses sessions and speaks 2026-07-28 only.
    const bool agent_stateless = context.agent_envelope.is_object();
    if (agent_stateless || sessions_refused_) {
      co_await ensure_probed(context);
      if (stateless_) co_return co_await request_stateless(method, std::move(params), context);
    }
    for (int attempt = 0;; ++attempt) {
      // Not co_await inside a handler: the failure is kept and looked at after it.
      std::exception_ptr refused;
      try {
        co_await ensure_initialized(context);
      } catch (const UpstreamError&) {
        refused = std::current_exception();
      }
      if (refused) {
        if (agent_stateless || sessions_refused_) std::rethrow_exception(refused);
        co_await ensure_probed(context);
        if (!stateless_) std::rethrow_exception(refused);
        sessions_refused_ = true;
        co_return co_await request_stateless(method, std::move(params), context);
      }
      std::int64_t id = next_id_++;
      json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
      if (context.cancel && !context.cancel->ended_before_sent.empty()) {
        throw UpstreamError("not sent: " + context.cancel->ended_before_sent);
      }
      if (context.cancel) {
        // Without the call's credential: it was vended for the decided call, not for a listing
        // (the agents' own listings carry none either).
        ForwardContext plain{context.traceparent, std::nullopt, nullptr, nullptr, ""};
        context.cancel->cancel = [weak = weak_from_this(), id, plain](const std::string& reason) {
          if (auto self = weak.lock()) {
            asio::co_spawn(self->ex_, self->notify_cancelled(self, id, reason, plain),
                           asio::detached);
          }
        };
      }
      Reply reply = co_await post(message, context, id);
      if (reply.status == 404 && !session_id_.empty() && attempt == 0) {
        initialized_ = false;  // the upstream forgot our session: handshake again
        session_id_.clear();
        continue;
      }
      co_return answer_of(reply);
    }
  }

  void shutdown() override {
    shut_down_ = true;
    idle_.clear();
    sweep_.cancel();
  }
  std::optional<std::string> refusal(const std::optional<Credential>& credential) const override {
    if (sends_credential_in_clear(url_, credential)) return "credential_needs_tls";
    return std::nullopt;
  }

  // MCP 2026-07-28: one self-contained POST per request. An agent that speaks it too gets an
  // input_required result as it is (its retry is a new request, decided again); for an agent on
  // a session, warden-mcp puts the upstream's input requests to it over its session and retries
  // with the answers, so the agent sees the server-to-client requests it knows. Cancelling closes
  // the request's connection, which is how this revision cancels.
  awaitable<json> request_stateless(const std::string& method, json params,
                                    const ForwardContext& context) {
    const bool agent_stateless = context.agent_envelope.is_object();
    // One control for the whole call, across its rounds: a cancel, timeout or revocation that
    // comes while a request is being connected or sent closes it; one that comes while the
    // agent is being asked wakes that wait; and no further round is sent after it.
    auto control = std::make_shared<CallControl>();
    if (context.cancel) {
      context.cancel->cancel = [control](const std::string& reason) {
        if (!control->stopped) control->stopped = reason;
        if (control->closer) control->closer();
        if (control->asking) control->asking->set(json());
      };
    }
    if (method == "tools/call" && params.contains("name") && params["name"].is_string()) {
      co_await learn_tool_params(params["name"].get<std::string>(), context);
    }
    for (int round = 0;; ++round) {
      json sent = params;
      add_upstream_envelope(sent, context.agent_envelope);
      std::int64_t id = next_id_++;
      json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", sent}};
      if (context.cancel && !context.cancel->ended_before_sent.empty()) {
        throw UpstreamError("not sent: " + context.cancel->ended_before_sent);
      }
      if (control->stopped) throw UpstreamError("not sent: " + *control->stopped);
      Reply reply = co_await post(message, context, id, control.get(), Revision::kStateless);
      json answer = answer_of(reply);
      if (method == "tools/list") remember_tool_params(answer);
      if (agent_stateless) co_return answer;
      if (!is_input_required(answer)) co_return for_session_agent(std::move(answer));
      if (round + 1 >= kMaxInputRounds) {
        throw UpstreamError("upstream " + name_ + " still asked for input after " +
                            std::to_string(kMaxInputRounds) + " rounds");
      }
      json responses = co_await ask_session_agent(answer["result"], context, *control);
      if (control->stopped) throw UpstreamError("not sent: " + *control->stopped);
      params = retry_params(std::move(params), answer["result"], std::move(responses));
    }
  }

  // SEP-2243: the x-mcp-header declarations of the upstream's tools, so that a call carries the
  // Mcp-Param-* headers the upstream checks. Learned from tools/list answers; listed here when
  // the tool is not known yet (at most every kRelistAfter for names the upstream did not list).
  void remember_tool_params(const json& answer) {
    auto result = answer.find("result");
    if (result == answer.end() || !result->is_object()) return;
    auto tools = result->find("tools");
    if (tools == result->end() || !tools->is_array()) return;
    for (const auto& tool : *tools) {
      if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
      const std::string name = tool["name"].get<std::string>();
      auto declarations = param_header_declarations(tool.value("inputSchema", json::object()));
      known_tools_.insert(name);
      if (declarations && !declarations->empty()) {
        tool_params_[name] = std::move(*declarations);
      } else {
        tool_params_.erase(name);
      }
      if (known_tools_.size() > kMaxKnownTools) {
        known_tools_.clear();
        tool_params_.clear();
      }
    }
  }

  awaitable<void> learn_tool_params(const std::string& tool, const ForwardContext& context) {
    static constexpr auto kRelistAfter = std::chrono::seconds(30);
    auto now = std::chrono::steady_clock::now();
    if (known_tools_.count(tool) || (listed_at_ && now - *listed_at_ < kRelistAfter)) co_return;
    listed_at_ = now;
    // A complete listing replaces what was known (tools the upstream dropped are forgotten).
    tool_params_.clear();
    known_tools_.clear();
    json params = json::object();
    for (int page = 0; page < 20; ++page) {
      json sent = params;
      add_upstream_envelope(sent, context.agent_envelope);
      std::int64_t id = next_id_++;
      json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}, {"params", sent}};
      // Without the call's credential: it was vended for the decided call, not for a listing
      // (the agents' own listings carry none either).
      ForwardContext plain{context.traceparent, std::nullopt, nullptr, nullptr, ""};
      json answer;
      bool failed = false;
      try {
        answer = answer_of(co_await post(message, plain, id, nullptr, Revision::kStateless));
      } catch (const UpstreamError&) {
        failed = true;  // the call goes without the headers; the upstream says what it misses
      }
      if (failed) co_return;
      remember_tool_params(answer);
      auto result = answer.find("result");
      if (result == answer.end() || !result->is_object()) co_return;
      auto cursor = result->find("nextCursor");
      if (cursor == result->end() || !cursor->is_string()) co_return;
      params["cursor"] = *cursor;
    }
  }

  // Puts each input request to the agent over its session (as the older revisions' server-to-
  // client requests) and collects the bare results by key.
  awaitable<json> ask_session_agent(const json& result, const ForwardContext& context,
                                    CallControl& control) {
    json requests;
    try {
      requests = session_input_requests(result);
    } catch (const std::invalid_argument& e) {
      throw UpstreamError("upstream " + name_ + " sent " + e.what());
    }
    if (!context.on_message) {
      throw UpstreamError("upstream " + name_ + " needs input from the agent, which warden-mcp " +
                          "cannot reach for this request");
    }
    json responses = json::object();
    for (auto& [key, request] : requests.items()) {
      auto slot = std::make_shared<Pending<json>>(ex_);
      control.asking = slot;
      request["id"] = "warden-input-" + std::to_string(next_id_++);
      std::string asked = request["method"];
      context.on_message(request, [slot](json response) { slot->set(std::move(response)); });
      std::optional<json> response = co_await slot->wait(kTimeout);
      control.asking = nullptr;
      if (control.stopped) throw UpstreamError("not sent: " + *control.stopped);
      if (!response) throw UpstreamError("the agent did not answer " + asked + " in time");
      if (!response->is_object() || !response->contains("result")) {
        std::string why = "no result";
        if (response->is_object() && response->contains("error") &&
            (*response)["error"].is_object() && (*response)["error"].contains("message") &&
            (*response)["error"]["message"].is_string()) {
          why = (*response)["error"]["message"].get<std::string>();
        }
        std::string message = "the agent did not answer ";
        message.append(asked).append(": ").append(why);
        throw UpstreamError(message);
      }
      responses[key] = (*response)["result"];
    }
    co_return responses;
  }

  // Whether the upstream speaks 2026-07-28 (server/discover lists it). A refusal or an answer
  // that is not a result means an older revision; a failure to connect is thrown.
  awaitable<bool> discovers_stateless(const ForwardContext& context) {
    std::int64_t id = next_id_++;
    json probe = discover_probe(id);
    Reply reply = co_await post(probe, context, id, nullptr, Revision::kStateless);
    if (reply.status < 200 || reply.status >= 300) co_return false;
    try {
      co_return supports_stateless(answer_of(reply));
    } catch (const UpstreamError&) {
      co_return false;
    }
  }

  // Asks server/discover once (see discovers_stateless); waiters share the one probe.
  awaitable<void> ensure_probed(const ForwardContext& context) {
    while (!probed_) {
      if (shut_down_) throw UpstreamError("upstream " + name_ + " was removed");
      if (probing_) {
        co_await initialized_changed_.wait(std::chrono::seconds(30));
        continue;
      }
      probing_ = true;
      try {
        stateless_ = co_await discovers_stateless(context);
        probed_ = true;
      } catch (...) {
        probing_ = false;
        initialized_changed_.notify_all();
        throw;
      }
      probing_ = false;
      initialized_changed_.notify_all();
    }
  }

  awaitable<void> notify_cancelled(std::shared_ptr<HttpUpstream> self, std::int64_t id,
                                   std::string reason, ForwardContext context) {
    (void)self;
    json message = {{"jsonrpc", "2.0"},
                    {"method", "notifications/cancelled"},
                    {"params", {{"requestId", id}, {"reason", reason}}}};
    try {
      co_await post(message, context);
    } catch (const UpstreamError&) {
      // The upstream is gone anyway.
    }
  }

 private:
  json answer_of(const Reply& reply) {
    if (reply.status >= 400 && reply.status < 500 && reply.status != 404 &&
        is_json_content_type(reply.content_type)) {
      // A refused request with its JSON-RPC error (2026-07-28 answers so: a tampered
      // requestState, a missing capability): the agent gets the error, not a transport failure.
      json message = parse_message(reply.body);
      if (message.is_object() && message.contains("error") && message["error"].is_object()) {
        return json{{"error", clean_error(message["error"])}};
      }
    }
    if (reply.status < 200 || reply.status >= 300) {
      throw UpstreamError("upstream " + name_ + " answered HTTP " + std::to_string(reply.status));
    }
    // An event stream that ended without the response leaves `message` null.
    json message = reply.message.is_object()             ? reply.message
                   : is_event_stream(reply.content_type) ? json()
                                                         : parse_message(reply.body);
    if (!message.is_object() || (!message.contains("result") && !message.contains("error"))) {
      throw UpstreamError("upstream " + name_ + " sent no JSON-RPC response");
    }
    json out = json::object();
    if (message.contains("result")) {
      out["result"] = message["result"];
    } else {
      out["error"] = clean_error(message["error"]);
    }
    return out;
  }

  awaitable<void> ensure_initialized(const ForwardContext& context) {
    while (!initialized_) {
      if (shut_down_) throw UpstreamError("upstream " + name_ + " was removed");
      if (initializing_) {
        co_await initialized_changed_.wait(std::chrono::seconds(30));
        continue;
      }
      initializing_ = true;
      try {
        // The upstream's requests during a call reach the agent (see relay), so the handshake
        // declares sampling, elicitation and roots on the agents' behalf.
        std::string session;
        HandshakeTransport transport{
            [this, &context, &session](json params) -> awaitable<json> {
              json init = {{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", "initialize"}};
              init["params"] = std::move(params);
              Reply reply = co_await post(init, context, init["id"]);
              session = reply.session_id;
              json answer = answer_of(reply);
              co_return answer;
            },
            [this, &context, &session](json initialized,
                                       const std::string& version) -> awaitable<void> {
              // From here on every request names the session and the version agreed.
              session_id_ = session;
              version_ = version;
              co_await post(initialized, context);
            }};
        co_await handshake(name_, ServerRequests::kRelayedToAgent, std::move(transport));
        initialized_ = true;
      } catch (...) {
        initializing_ = false;
        initialized_changed_.notify_all();
        throw;
      }
      initializing_ = false;
      initialized_changed_.notify_all();
    }
  }

  // Passes a message the upstream sent during a request to the request's sink, with a way to
  // answer it when it is a request (the answer is POSTed with the request's credential).
  void relay(const json& message, const ForwardContext& context) {
    Answer answer;
    if (message.contains("id")) {
      // Without the call's credential: it was vended for the decided call, not for a listing
      // (the agents' own listings carry none either).
      ForwardContext plain{context.traceparent, std::nullopt, nullptr, nullptr, ""};
      answer = [weak = weak_from_this(), plain](json response) {
        if (auto self = weak.lock()) {
          asio::co_spawn(self->ex_, self->send_answer(self, std::move(response), plain),
                         asio::detached);
        }
      };
      if (message["method"] == "ping") return answer(rpc_result(message["id"], json::object()));
    }
    if (context.on_message) return context.on_message(message, std::move(answer));
    if (answer) {
      answer(rpc_error(message["id"], rpc_code::kMethodNotFound,
                       "warden-mcp has no client to pass this request to"));
    }
  }

  awaitable<void> send_answer(std::shared_ptr<HttpUpstream> self, json response,
                              ForwardContext context) {
    (void)self;
    try {
      co_await post(response, context);
    } catch (const UpstreamError& e) {
      std::cerr << "warden-mcp: cannot answer upstream " << name_ << ": " << e.what() << "\n";
    }
  }

  awaitable<Reply> post(const json& message, const ForwardContext& context,
                        const json& id = nullptr, CallControl* control = nullptr,
                        Revision revision = Revision::kSession) {
    auto sink = [this, &context](const json& m) { relay(m, context); };
    http::request<http::string_body> request{http::verb::post, url_.target, 11};
    request.set(http::field::host, url_.host);
    request.set(http::field::user_agent, "warden-mcp/" WARDEN_VERSION);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::accept, "application/json, text/event-stream");
    if (revision == Revision::kStateless) {
      const std::string method = message.value("method", "");
      // 2026-07-28: the version and the routing headers on every request, no session.
      request.set("MCP-Protocol-Version", kStatelessVersion);
      request.set("Mcp-Method", method);
      const json params = message.value("params", json::object());
      if (auto name = routing_name(method, params)) request.set("Mcp-Name", *name);
      if (method == "tools/call" && params.is_object() && params.contains("name") &&
          params["name"].is_string()) {
        auto declared = tool_params_.find(params["name"].get<std::string>());
        if (declared != tool_params_.end()) {
          for (const auto& [header, value] :
               param_headers_for(declared->second, params.value("arguments", json::object()))) {
            request.set(header, value);
          }
        }
      }
    } else {
      if (!version_.empty()) request.set("MCP-Protocol-Version", version_);
      if (!session_id_.empty()) request.set("Mcp-Session-Id", session_id_);
    }
    if (!context.traceparent.empty()) request.set("traceparent", context.traceparent);
    const std::optional<Credential>& cred = context.credential;
    if (sends_credential_in_clear(url_, cred)) {
      throw UpstreamError("upstream " + name_ + " is plain http:// on a non-loopback host: " +
                          "refusing to send it a credential");
    }
    if (cred && !cred->header.empty()) request.set(cred->header, cred->value);
    request.body() = message.dump();
    request.prepare_payload();
    request.keep_alive(keep_alive_.max_idle > 0);

    // A request is never written twice: when a reused connection fails, the call fails (the
    // upstream may have acted on it). quiet() and the idle limit keep that rare.
    try {
      std::unique_ptr<Connection> connection = take_idle();
      if (!connection) connection = co_await open();
      connection->lowest().expires_after(kTimeout);
      // Cancelling closes this request's connection while it runs (never after: disarmed
      // below); one that came while it was being connected stops it before it is written.
      if (control && control->stopped) throw UpstreamError("not sent: " + *control->stopped);
      struct Disarm {
        CallControl* control;
        ~Disarm() {
          if (control) control->closer = nullptr;
        }
      } disarm{control};
      if (control) {
        Connection* open_connection = connection.get();
        control->closer = [open_connection] {
          boost::system::error_code ec;
          open_connection->lowest().socket().close(ec);
        };
      }
      // Not a conditional expression around co_await: GCC 12 miscompiles that.
      Exchanged done;
      if (connection->tls) {
        done = co_await exchange(*connection->tls, request, id, sink);
      } else {
        done = co_await exchange(*connection->plain, request, id, sink);
      }
      if (connection->tls) tls_sessions().keep(host_key(), connection->tls->native_handle());
      if (done.reusable) {
        give_back(std::move(connection));
      } else if (done.rest && keep_alive_.max_idle > 0) {
        asio::co_spawn(
            ex_, finish_reading(weak_from_this(), std::move(connection), std::move(done.rest)),
            asio::detached);
      }
      co_return std::move(done.reply);
    } catch (const boost::system::system_error& e) {
      throw UpstreamError("upstream " + name_ + " (" + url_.host + ":" + url_.port +
                          ") failed: " + e.code().message());
    }
  }

  std::string host_key() const { return url_.host + ":" + url_.port; }

  // An upstream often ends an event stream just after its response: wait for that end (up to
  // the keep-alive time) and keep the connection if the stream held nothing more.
  static awaitable<void> finish_reading(std::weak_ptr<HttpUpstream> weak,
                                        std::unique_ptr<Connection> connection,
                                        std::unique_ptr<Reading> rest) {
    try {
      if (auto self = weak.lock()) connection->lowest().expires_after(self->keep_alive_.idle);
      bool clean = false;
      if (connection->tls) {
        clean = co_await drain(*connection->tls, *rest);
      } else {
        clean = co_await drain(*connection->plain, *rest);
      }
      if (!clean) co_return;
      if (auto self = weak.lock()) self->give_back(std::move(connection));
    } catch (const std::exception&) {
      // Closed with the connection.
    }
  }

  awaitable<std::unique_ptr<Connection>> open() {
    tcp::resolver resolver(ex_);
    auto endpoints = co_await resolver.async_resolve(url_.host, url_.port, use_awaitable);
    auto connection = std::make_unique<Connection>();
    if (!url_.tls) {
      connection->plain = std::make_unique<beast::tcp_stream>(ex_);
    } else {
      connection->tls =
          std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex_, client_tls_context());
      SSL* ssl = connection->tls->native_handle();
      if (!SSL_set_tlsext_host_name(ssl, url_.host.c_str())) {
        throw UpstreamError("cannot set TLS server name for " + url_.host);
      }
      // Verified as strictly as a full handshake: a resumed session is one this process
      // verified for the same host name.
      connection->tls->set_verify_callback(ssl::host_name_verification(url_.host));
      tls_sessions().offer(host_key(), ssl);
    }
    beast::tcp_stream& stream = connection->lowest();
    stream.expires_after(kTimeout);
    co_await stream.async_connect(endpoints, use_awaitable);
    stream.socket().set_option(tcp::no_delay(true));  // see http_server.cpp
    if (connection->tls) {
      co_await connection->tls->async_handshake(ssl::stream_base::client, use_awaitable);
    }
    co_return connection;
  }

  // The most recently used idle connection that is still quiet, or null. Connections of this
  // instance only: an instance is one agent's session with the upstream.
  std::unique_ptr<Connection> take_idle() {
    auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (now - connection->idle_since < keep_alive_.idle && connection->quiet()) return connection;
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<Connection> connection) {
    if (shut_down_ || keep_alive_.max_idle == 0) return;
    connection->idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(connection));
    if (idle_.size() > keep_alive_.max_idle) idle_.erase(idle_.begin());  // the oldest
    if (!sweeping_) sweep_later();
  }

  // Closes the connections idle for too long, so that none lingers half-closed.
  void sweep_later() {
    sweeping_ = true;
    sweep_.expires_after(keep_alive_.idle);
    sweep_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      self->sweeping_ = false;
      auto now = std::chrono::steady_clock::now();
      std::erase_if(self->idle_, [&](const std::unique_ptr<Connection>& connection) {
        return now - connection->idle_since >= self->keep_alive_.idle;
      });
      if (!self->idle_.empty()) self->sweep_later();
    });
  }

  Executor ex_;
  std::string name_;
  Url url_;
  HttpKeepAlive keep_alive_;
  Broadcast initialized_changed_;
  std::vector<std::unique_ptr<Connection>> idle_;  // oldest first
  asio::steady_timer sweep_;
  bool sweeping_ = false;
  bool initialized_ = false, initializing_ = false, shut_down_ = false;
  // server/discover asked (probed_), and whether it listed MCP 2026-07-28 (stateless_).
  bool probed_ = false, probing_ = false, stateless_ = false;
  static constexpr std::size_t kMaxKnownTools = 4096;
  std::map<std::string, std::vector<ParamHeader>> tool_params_;  // tool -> its x-mcp-header marks
  std::set<std::string> known_tools_;                            // every tool name listed
  std::optional<std::chrono::steady_clock::time_point> listed_at_;
  bool sessions_refused_ = false;  // the handshake failed where 2026-07-28 works
  std::string session_id_, version_;
  std::int64_t next_id_ = 1;
};

}  // namespace

namespace {
HttpKeepAlive keep_alive_setting;
}  // namespace

void set_http_keep_alive(HttpKeepAlive keep_alive) {
  keep_alive_setting = keep_alive;
}

std::shared_ptr<Upstream> make_http_upstream(const Executor& ex, std::string name,
                                             const std::string& url) {
  auto parsed = parse_url(url);
  if (!parsed) throw UpstreamError("upstream " + name + " has an invalid URL: " + url);
  return std::make_shared<HttpUpstream>(ex, std::move(name), std::move(*parsed),
                                        keep_alive_setting);
}

}  // namespace warden::mcp
