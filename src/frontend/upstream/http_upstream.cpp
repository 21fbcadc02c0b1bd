#include "frontend/upstream/http_upstream.hpp"

#include <utility>

#include <iostream>

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
#include "frontend/upstream/handshake.hpp"

namespace warden::mcp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTimeout = std::chrono::seconds(300);
constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

struct Reply {
  unsigned status = 0;
  std::string session_id;
  std::string content_type;
  std::string body;
  json message;  // the response, when it came as an event of an event stream
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
awaitable<Reply> exchange(Stream& stream, http::request<http::string_body>& request, const json& id,
                          const std::function<void(const json&)>& on_message) {
  co_await http::async_write(stream, request, use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
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
    co_return reply;
  }
  while (!parser.is_done()) {
    co_await http::async_read_some(stream, buffer, parser, use_awaitable);
    for (const auto& data : take_sse_data(parser.get().body())) {
      json message = parse_message(data);
      MessageKind kind = classify(message);
      if (kind == MessageKind::kResponse && message["id"] == id) {
        reply.message = std::move(message);
        co_return reply;
      }
      if (kind == MessageKind::kRequest || kind == MessageKind::kNotification) on_message(message);
    }
  }
  co_return reply;
}

class HttpUpstream : public Upstream, public std::enable_shared_from_this<HttpUpstream> {
 public:
  HttpUpstream(const Executor& ex, std::string name, Url url)
      : ex_(ex), name_(std::move(name)), url_(std::move(url)), initialized_changed_(ex) {}

  awaitable<json> request(const std::string& method, json params,
                          const ForwardContext& context) override {
    auto self = shared_from_this();
    for (int attempt = 0;; ++attempt) {
      co_await ensure_initialized(context);
      std::int64_t id = next_id_++;
      json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
      if (context.cancel && !context.cancel->ended_before_sent.empty()) {
        throw UpstreamError("not sent: " + context.cancel->ended_before_sent);
      }
      if (context.cancel) {
        ForwardContext plain{context.traceparent, context.credential, nullptr, nullptr, ""};
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

  void shutdown() override { shut_down_ = true; }
  std::optional<std::string> refusal(const std::optional<Credential>& credential) const override {
    if (sends_credential_in_clear(url_, credential)) return "credential_needs_tls";
    return std::nullopt;
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
      out["error"] = message["error"];
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
      ForwardContext plain{context.traceparent, context.credential, nullptr, nullptr, ""};
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
                        const json& id = nullptr) {
    auto sink = [this, &context](const json& m) { relay(m, context); };
    http::request<http::string_body> request{http::verb::post, url_.target, 11};
    request.set(http::field::host, url_.host);
    request.set(http::field::user_agent, "warden-mcp/" WARDEN_VERSION);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::accept, "application/json, text/event-stream");
    if (!version_.empty()) request.set("MCP-Protocol-Version", version_);
    if (!session_id_.empty()) request.set("Mcp-Session-Id", session_id_);
    if (!context.traceparent.empty()) request.set("traceparent", context.traceparent);
    const std::optional<Credential>& cred = context.credential;
    if (sends_credential_in_clear(url_, cred)) {
      throw UpstreamError("upstream " + name_ + " is plain http:// on a non-loopback host: " +
                          "refusing to send it a credential");
    }
    if (cred && !cred->header.empty()) request.set(cred->header, cred->value);
    request.body() = message.dump();
    request.prepare_payload();
    request.keep_alive(false);

    try {
      tcp::resolver resolver(ex_);
      auto endpoints = co_await resolver.async_resolve(url_.host, url_.port, use_awaitable);
      if (!url_.tls) {
        beast::tcp_stream stream(ex_);
        stream.expires_after(kTimeout);
        co_await stream.async_connect(endpoints, use_awaitable);
        stream.socket().set_option(tcp::no_delay(true));  // see http_server.cpp
        Reply reply = co_await exchange(stream, request, id, sink);
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return reply;
      }
      beast::ssl_stream<beast::tcp_stream> stream(ex_, client_tls_context());
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str())) {
        throw UpstreamError("cannot set TLS server name for " + url_.host);
      }
      stream.set_verify_callback(ssl::host_name_verification(url_.host));
      beast::get_lowest_layer(stream).expires_after(kTimeout);
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_awaitable);
      co_await stream.async_handshake(ssl::stream_base::client, use_awaitable);
      co_return co_await exchange(stream, request, id, sink);
    } catch (const boost::system::system_error& e) {
      throw UpstreamError("upstream " + name_ + " (" + url_.host + ":" + url_.port +
                          ") failed: " + e.code().message());
    }
  }

  Executor ex_;
  std::string name_;
  Url url_;
  Broadcast initialized_changed_;
  bool initialized_ = false, initializing_ = false, shut_down_ = false;
  std::string session_id_, version_;
  std::int64_t next_id_ = 1;
};

}  // namespace

std::shared_ptr<Upstream> make_http_upstream(const Executor& ex, std::string name,
                                             const std::string& url) {
  auto parsed = parse_url(url);
  if (!parsed) throw UpstreamError("upstream " + name + " has an invalid URL: " + url);
  return std::make_shared<HttpUpstream>(ex, std::move(name), std::move(*parsed));
}

}  // namespace warden::mcp
