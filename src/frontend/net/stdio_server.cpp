#include "frontend/net/stdio_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <iostream>
#include <memory>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "frontend/net/http_rules.hpp"

namespace warden::mcp {

namespace {

constexpr std::size_t kMaxLine = 16 * 1024 * 1024;

class StdioServer : public std::enable_shared_from_this<StdioServer> {
 public:
  StdioServer(asio::io_context& io, Gateway& gateway, Decisions& decisions, std::string token,
              std::function<void()> at_end)
      : io_(io),
        at_end_(std::move(at_end)),
        gateway_(gateway),
        decisions_(decisions),
        in_(io, ::fcntl(0, F_DUPFD_CLOEXEC, 0)),
        out_(io, ::fcntl(1, F_DUPFD_CLOEXEC, 0)),
        caller_{std::move(token),
                "",
                "",
                "",
                std::string(kLatestVersion),
                "stdio",
                nullptr,
                "",
                false,
                false,
                ""} {}

  // `self` keeps the server alive: a coroutine body runs only after co_spawn returns.
  awaitable<void> read_loop(std::shared_ptr<StdioServer> self) {
    // What upstreams send during a call (progress, sampling, ...) goes out on stdout too.
    caller_.to_client = [weak = weak_from_this()](const json& message) {
      if (auto server = weak.lock()) server->send(message);
    };
    asio::streambuf buffer(kMaxLine);
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = co_await asio::async_read_until(in_, buffer, '\n',
                                                      asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec != asio::error::eof)
          std::cerr << "warden-mcp: reading stdin: " << ec.message() << "\n";
        break;
      }
      std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
      buffer.consume(n);
      if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      asio::co_spawn(io_, handle(self, std::move(line)), asio::detached);
    }
    at_end_();
  }

 private:
  awaitable<void> handle(std::shared_ptr<StdioServer> self, std::string line) {
    (void)self;
    json message = parse_message(line);
    if (message.is_discarded()) {
      send(rpc_error(nullptr, rpc_code::kParseError, "parse error"));
      co_return;
    }
    if (message.is_array()) {
      send(rpc_error(nullptr, rpc_code::kInvalidRequest, "JSON-RPC batches are not supported"));
      co_return;
    }
    MessageKind kind = classify(message);
    if (kind == MessageKind::kInvalid) {
      send(rpc_error(message.is_object() && message.contains("id") ? message["id"] : json(nullptr),
                     rpc_code::kInvalidRequest, "invalid JSON-RPC message"));
      co_return;
    }
    if (kind == MessageKind::kResponse) {  // the answer to an upstream's request
      gateway_.channels().deliver(caller_.session_id, message);
      co_return;
    }
    if (kind != MessageKind::kRequest) co_return;
    if (message["method"] == "initialize") {
      co_await initialize(message);
      co_return;
    }
    if (!initialized_) {
      send(rpc_error(message["id"], rpc_code::kInvalidRequest, "send initialize first"));
      co_return;
    }
    send(co_await gateway_.handle_request(message, caller_));
  }

  awaitable<void> initialize(const json& message) {
    json params = message.value("params", json::object());
    std::string token_id, agent;
    try {
      json context = {{"transport", "stdio"},
                      {"client", params.value("clientInfo", json::object())}};
      SessionGrant grant = co_await decisions_.open_session(caller_.token, context);
      if (!grant.allowed) {
        send(rpc_error(message["id"], rpc_code::kDenied,
                       "warden refused the token: " + grant.reason, {{"reason", grant.reason}}));
        co_return;
      }
      token_id = grant.token_id;
      agent = grant.agent;
    } catch (const std::exception& e) {
      send(rpc_error(message["id"], rpc_code::kDecisionUnavailable,
                     std::string("warden decision service unavailable: ") + e.what()));
      co_return;
    }
    json result = gateway_.initialize_result(params);
    caller_.token_id = token_id;
    caller_.agent = agent;
    caller_.protocol_version = result["protocolVersion"];
    initialized_ = true;
    send(rpc_result(message["id"], std::move(result)));
  }

  void send(const json& message) {
    outbox_.push_back(message.dump() + "\n");
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(io_, write_loop(shared_from_this()), asio::detached);
    }
  }

  awaitable<void> write_loop(std::shared_ptr<StdioServer> self) {
    (void)self;
    while (!outbox_.empty()) {
      std::string line = std::move(outbox_.front());
      outbox_.pop_front();
      boost::system::error_code ec;
      co_await asio::async_write(out_, asio::buffer(line), asio::redirect_error(use_awaitable, ec));
      if (ec) {
        io_.stop();
        break;
      }
    }
    writing_ = false;
  }

  asio::io_context& io_;
  std::function<void()> at_end_;
  Gateway& gateway_;
  Decisions& decisions_;
  asio::posix::stream_descriptor in_, out_;
  Caller caller_;
  bool initialized_ = false;
  std::deque<std::string> outbox_;
  bool writing_ = false;
};

}  // namespace

void start_stdio_server(asio::io_context& io, Gateway& gateway, Decisions& decisions,
                        std::string token, std::function<void()> at_end) {
  auto server =
      std::make_shared<StdioServer>(io, gateway, decisions, std::move(token), std::move(at_end));
  asio::co_spawn(io, server->read_loop(server), asio::detached);
}

}  // namespace warden::mcp
