#include "frontend/http_server.hpp"

#include <utility>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace warden::mcp {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(120);
// A comment is sent on an event stream that is quiet this long: it keeps proxies from closing
// it and shows us a client that went away.
constexpr auto kKeepAlive = std::chrono::seconds(15);

HttpRequest to_request(const http::request<http::string_body>& in) {
  HttpRequest out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers[name] = std::string(field.value());
  }
  out.body = in.body();
  return out;
}

http::response<http::string_body> to_response(const HttpResponse& in, unsigned version,
                                              bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(in.status), version};
  out.set(http::field::server, "warden-mcp/" WARDEN_VERSION);
  for (const auto& [name, value] : in.headers) out.set(name, value);
  out.body() = in.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

HttpResponse plain_error(unsigned status, const std::string& message) {
  return {
      status, {{"Content-Type", "application/json"}}, rpc_error(nullptr, -32600, message).dump()};
}

// After refusing a request whose body we did not read: stop sending, then discard what the
// client still sends (bounded), so that it sees our answer instead of a reset connection.
awaitable<void> drain(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(5));
  std::vector<char> sink(64 * 1024);
  std::size_t total = 0;
  while (!ec && total < 4 * kMaxRequestBody) {
    total += co_await stream.async_read_some(asio::buffer(sink),
                                             asio::redirect_error(use_awaitable, ec));
  }
}

// Writes a response whose body is an event stream, chunk by chunk as events come; false when
// the client went away (the stream is then abandoned).
awaitable<bool> write_event_stream(beast::tcp_stream& stream, const HttpResponse& in,
                                   unsigned version, bool keep_alive) {
  http::response<http::empty_body> head{static_cast<http::status>(in.status), version};
  head.set(http::field::server, "warden-mcp/" WARDEN_VERSION);
  for (const auto& [name, value] : in.headers) head.set(name, value);
  head.keep_alive(keep_alive);
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  beast::error_code ec;
  stream.expires_after(kIdleTimeout);
  co_await http::async_write_header(stream, serializer, asio::redirect_error(use_awaitable, ec));
  while (!ec) {
    auto event = co_await in.stream->next(kKeepAlive);
    if (!event) break;
    stream.expires_after(kIdleTimeout);
    co_await asio::async_write(stream, http::make_chunk(asio::buffer(*event)),
                               asio::redirect_error(use_awaitable, ec));
  }
  if (!ec) {
    co_await asio::async_write(stream, http::make_chunk_last(),
                               asio::redirect_error(use_awaitable, ec));
  }
  if (ec) in.stream->abandon();
  co_return !ec;
}

awaitable<void> serve_connection(tcp::socket socket, HttpEndpoint& endpoint) {
  // Replies are written in several pieces (headers, event-stream chunks); without TCP_NODELAY
  // Nagle's algorithm holds the later pieces until the client's delayed ACK, ~40 ms a call.
  boost::system::error_code nodelay_error;
  socket.set_option(tcp::no_delay(true), nodelay_error);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxRequestBody);
    stream.expires_after(kIdleTimeout);
    beast::error_code ec;
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      break;
    }
    if (ec) {
      // Oversize or malformed: answer once, then close (the rest of the body is unread).
      HttpResponse r = ec == http::error::body_limit
                           ? plain_error(413, "request body larger than " +
                                                  std::to_string(kMaxRequestBody) + " bytes")
                           : plain_error(400, "malformed HTTP request: " + ec.message());
      auto response = to_response(r, 11, false);
      co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
      co_await drain(stream);
      co_return;
    }
    auto& request = parser.get();
    bool keep_alive = request.keep_alive();
    HttpResponse result;
    try {
      result = co_await endpoint.handle(to_request(request));
    } catch (const std::exception& e) {
      std::cerr << "warden-mcp: request failed: " << e.what() << "\n";
      result = {500,
                {{"Content-Type", "application/json"}},
                rpc_error(nullptr, -32603, "internal error").dump()};
    }
    if (result.stream) {
      bool open = co_await write_event_stream(stream, result, request.version(), keep_alive);
      if (!open || !keep_alive) break;
      continue;
    }
    auto response = to_response(result, request.version(), keep_alive);
    stream.expires_after(kIdleTimeout);
    co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> accept_loop(tcp::acceptor acceptor, HttpEndpoint& endpoint) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), endpoint),
                   asio::detached);
  }
}

}  // namespace

void start_http_server(asio::io_context& io, const std::string& host, const std::string& port,
                       HttpEndpoint& endpoint) {
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port);
  tcp::acceptor acceptor(io);
  auto where = endpoints.begin()->endpoint();
  acceptor.open(where.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(where);
  acceptor.listen();
  std::cerr << "warden-mcp: listening on http://" << acceptor.local_endpoint() << "/mcp\n";
  asio::co_spawn(io, accept_loop(std::move(acceptor), endpoint), asio::detached);
}

}  // namespace warden::mcp
