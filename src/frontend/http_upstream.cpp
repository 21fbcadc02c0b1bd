#include "frontend/http_upstream.hpp"

#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "frontend/event.hpp"
#include "frontend/http_rules.hpp"
#include "frontend/url.hpp"

namespace warden::mcp {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTimeout = std::chrono::seconds(300);
constexpr std::size_t kMaxBody = 64 * 1024 * 1024;
constexpr std::string_view kUpstreamVersion = "2025-06-18";

struct Reply {
  unsigned status = 0;
  std::string session_id;
  std::string content_type;
  std::string body;
};

ssl::context& tls_context() {
  static ssl::context context = [] {
    ssl::context c(ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(ssl::verify_peer);
    return c;
  }();
  return context;
}

template <class Stream>
awaitable<Reply> exchange(Stream& stream, http::request<http::string_body>& request) {
  co_await http::async_write(stream, request, use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  co_await http::async_read(stream, buffer, parser, use_awaitable);
  auto& response = parser.get();
  co_return Reply{response.result_int(), std::string(response["Mcp-Session-Id"]),
                  std::string(response[http::field::content_type]), std::move(response.body())};
}

// The JSON-RPC response with the wanted id from an SSE body (events separated by blank lines).
json response_from_sse(const std::string& body, const json& id) {
  std::string data;
  auto flush = [&]() -> json {
    json message = json::parse(data, nullptr, false);
    data.clear();
    if (message.is_object() && message.contains("id") && message["id"] == id &&
        (message.contains("result") || message.contains("error"))) {
      return message;
    }
    return nullptr;
  };
  std::size_t pos = 0;
  while (pos <= body.size()) {
    std::size_t end = body.find('\n', pos);
    std::string line = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!data.empty()) {
        json m = flush();
        if (!m.is_null()) return m;
      }
    } else if (line.rfind("data:", 0) == 0) {
      std::string_view v = std::string_view(line).substr(5);
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (!data.empty()) data += '\n';
      data += v;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (!data.empty()) return flush();
  return nullptr;
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
      if (context.cancel) {
        ForwardContext plain{context.traceparent, context.credential, nullptr};
        context.cancel->cancel = [weak = weak_from_this(), id, plain](const std::string& reason) {
          if (auto self = weak.lock()) {
            asio::co_spawn(self->ex_, self->notify_cancelled(self, id, reason, plain),
                           asio::detached);
          }
        };
      }
      Reply reply = co_await post(message, context);
      if (reply.status == 404 && !session_id_.empty() && attempt == 0) {
        initialized_ = false;  // the upstream forgot our session: handshake again
        session_id_.clear();
        continue;
      }
      co_return answer_of(reply, id);
    }
  }

  void shutdown() override { shut_down_ = true; }

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
  json answer_of(const Reply& reply, const json& id) {
    if (reply.status < 200 || reply.status >= 300) {
      throw UpstreamError("upstream " + name_ + " answered HTTP " + std::to_string(reply.status));
    }
    json message = accepts(reply.content_type, "text/event-stream") &&
                           !is_json_content_type(reply.content_type)
                       ? response_from_sse(reply.body, id)
                       : json::parse(reply.body, nullptr, false);
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
        json init = {{"jsonrpc", "2.0"},
                     {"id", next_id_++},
                     {"method", "initialize"},
                     {"params",
                      {{"protocolVersion", kUpstreamVersion},
                       {"capabilities", json::object()},
                       {"clientInfo", {{"name", "warden-mcp"}, {"version", WARDEN_VERSION}}}}}};
        Reply reply = co_await post(init, context);
        json answer = answer_of(reply, init["id"]);
        if (!answer.contains("result")) {
          throw UpstreamError("upstream " + name_ + " refused initialize: " + answer.dump());
        }
        session_id_ = reply.session_id;
        version_ = answer["result"].value("protocolVersion", std::string(kUpstreamVersion));
        json initialized = {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
        co_await post(initialized, context);
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

  awaitable<Reply> post(const json& message, const ForwardContext& context) {
    http::request<http::string_body> request{http::verb::post, url_.target, 11};
    request.set(http::field::host, url_.host);
    request.set(http::field::user_agent, "warden-mcp/" WARDEN_VERSION);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::accept, "application/json, text/event-stream");
    if (!version_.empty()) request.set("MCP-Protocol-Version", version_);
    if (!session_id_.empty()) request.set("Mcp-Session-Id", session_id_);
    if (!context.traceparent.empty()) request.set("traceparent", context.traceparent);
    const json& cred = context.credential;
    if (cred.is_object() && cred.contains("header") && cred.contains("value")) {
      request.set(cred["header"].get<std::string>(), cred["value"].get<std::string>());
    }
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
        Reply reply = co_await exchange(stream, request);
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return reply;
      }
      beast::ssl_stream<beast::tcp_stream> stream(ex_, tls_context());
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str())) {
        throw UpstreamError("cannot set TLS server name for " + url_.host);
      }
      stream.set_verify_callback(ssl::host_name_verification(url_.host));
      beast::get_lowest_layer(stream).expires_after(kTimeout);
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_awaitable);
      co_await stream.async_handshake(ssl::stream_base::client, use_awaitable);
      co_return co_await exchange(stream, request);
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
