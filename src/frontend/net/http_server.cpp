#include "frontend/net/http_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "frontend/net/connection_table.hpp"

namespace warden::mcp {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Writing a response (or one event) to a client that does not read it.
constexpr auto kIdleTimeout = std::chrono::seconds(120);
// Out of file descriptors with nothing to shed: how long the accept loop waits before trying
// again (doubling up to the maximum), instead of spinning on the same error.
constexpr auto kAcceptPauseFirst = std::chrono::milliseconds(10);
constexpr auto kAcceptPauseMax = std::chrono::milliseconds(1000);

// What the listener and its connections share.
struct ServerState {
  ServerLimits limits;
  ConnectionTable table;
  Metrics& metrics;
  int reserve_fd = -1;  // kept open to be given up for refusing one connection when out of fds

  ServerState(const ServerLimits& l, Metrics& m)
      : limits(l), table(l.max_connections, l.max_connections_per_address), metrics(m) {}

  bool shed_oldest_idle() {
    if (!table.shed_oldest_idle()) return false;
    metrics.count_dropped_connection("shed_idle");
    return true;
  }
};

// The client's address for the per-address cap and for loopback checks: an IPv4-mapped IPv6
// address counts as the IPv4 address it carries.
std::string address_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto address = socket.remote_endpoint(ec).address();
  if (ec) return {};
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// A comment is sent on an event stream that is quiet this long: it keeps proxies from closing
// it and shows us a client that went away.
constexpr auto kKeepAlive = std::chrono::seconds(15);

HttpRequest to_request(const http::request<http::string_body>& in, const std::string& peer) {
  HttpRequest out;
  out.peer_address = peer;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (out.headers.count(name)) out.repeated.insert(name);
    out.headers[name] = std::string(field.value());
  }
  out.body = in.body();
  return out;
}

// A header whose name or value holds CR, LF or NUL would let text from a request (a redirect
// target, a cookie) start headers of its own: such a header is left out, never sent.
template <class Message>
void set_headers(Message& out, const HttpResponse& in) {
  for (const auto& [name, value] : in.headers) {
    if (name.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
        value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      std::cerr << "warden-mcp: left out a response header " << name.substr(0, 64)
                << " holding a line break\n";
      continue;
    }
    // Set-Cookie is the one header a response may repeat (RFC 6265 4.1: never folded).
    if (beast::iequals(name, "set-cookie")) {
      out.insert(name, value);
    } else {
      out.set(name, value);
    }
  }
}

http::response<http::string_body> to_response(const HttpResponse& in, unsigned version,
                                              bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(in.status), version};
  out.set(http::field::server, "warden-mcp/" WARDEN_VERSION);
  set_headers(out, in);
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

// While a watched event stream is open, the client closing its connection abandons it (MCP
// 2026-07-28: a client that disconnects has cancelled) without waiting for the next write to
// fail. A client sends nothing else on a connection that waits for a response, so readable
// input means end of input, or bytes that a later read will still find (peeked, not taken).
awaitable<void> watch_disconnect(tcp::socket& socket, std::shared_ptr<SseStream> events) {
  beast::error_code ec;
  co_await socket.async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ec));
  if (!events->open()) co_return;  // finished: the socket may already be gone
  char byte;
  std::size_t n = socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  if (ec || n == 0) events->abandon();
}

// The head of a response as the bytes to send (serialized by Beast, not written).
std::string head_bytes(http::response<http::empty_body>& head) {
  http::response_serializer<http::empty_body> serializer{head};
  serializer.split(true);
  std::string out;
  beast::error_code ec;
  while (!ec && !serializer.is_header_done()) {
    serializer.next(ec, [&](beast::error_code& e, const auto& buffers) {
      e = {};
      out += beast::buffers_to_string(buffers);
      serializer.consume(beast::buffer_bytes(buffers));
    });
  }
  return out;
}

// One chunk of a chunked body (RFC 9112 7.1): its size in hex, the data, each line ended.
void append_chunk(std::string& out, const std::string& data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = data.size(); n > 0; n /= 16) size.insert(size.begin(), kHex[n % 16]);
  out += size;
  out += "\r\n";
  out += data;
  out += "\r\n";
}

// Writes a response whose body is an event stream, chunk by chunk as events come; false when
// the client went away (the stream is then abandoned). Whatever is ready goes in one write:
// the head (held for the first event, see SseStream::hold_head), every event queued, and the
// end of the body once the stream finished. A short call's answer is one send, so the client
// is woken once (each write on a loopback connection costs both sides a wake-up).
awaitable<bool> write_event_stream(beast::tcp_stream& stream, const HttpResponse& in,
                                   unsigned version, bool keep_alive) {
  http::response<http::empty_body> head{static_cast<http::status>(in.status), version};
  head.set(http::field::server, "warden-mcp/" WARDEN_VERSION);
  set_headers(head, in);
  head.keep_alive(keep_alive);
  head.chunked(true);
  std::string out = head_bytes(head);
  beast::error_code ec;
  bool watching = in.stream->watched();
  if (watching) {
    asio::co_spawn(stream.get_executor(), watch_disconnect(stream.socket(), in.stream),
                   asio::detached);
  }
  // A head that does not wait goes alone, at once; one that waits goes with the first event,
  // or after its hold with a keep-alive comment.
  auto wait = in.stream->head_hold();
  if (wait.count() <= 0) {
    stream.expires_after(kIdleTimeout);
    co_await asio::async_write(stream, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    out.clear();
    wait = kKeepAlive;
  }
  bool ended = false, cut = false;
  while (!ec && !ended) {
    std::optional<std::string> event = co_await in.stream->next(wait);
    wait = kKeepAlive;
    if (event) append_chunk(out, *event);
    while (std::optional<std::string> more = in.stream->take_queued()) append_chunk(out, *more);
    ended = !event || in.stream->drained();
    // Cut because the client did not read: no final chunk, and the connection closes.
    if (ended && in.stream->overflowed()) {
      cut = true;
      break;
    }
    if (ended) out += "0\r\n\r\n";
    stream.expires_after(kIdleTimeout);
    co_await asio::async_write(stream, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    out.clear();
  }
  if (ec) in.stream->abandon();
  if (watching) {
    beast::error_code ignored;
    stream.socket().cancel(ignored);  // ends the watch
  }
  co_return !ec && !cut;
}

awaitable<void> serve_connection(tcp::socket socket, HttpEndpoint& endpoint,
                                 std::shared_ptr<ServerState> state) {
  std::string peer = address_of(socket);
  // Replies are written in several pieces (headers, event-stream chunks); without TCP_NODELAY
  // Nagle's algorithm holds the later pieces until the client's delayed ACK, ~40 ms a call.
  boost::system::error_code nodelay_error;
  socket.set_option(tcp::no_delay(true), nodelay_error);
  beast::tcp_stream stream(std::move(socket));
  bool shed = state->table.size() >= state->limits.max_connections;
  auto admitted = state->table.admit(peer, [&stream] { stream.close(); });
  if (!admitted) {  // over a cap: closed before reading anything
    bool address_full = state->table.count(peer) >= state->limits.max_connections_per_address;
    state->metrics.count_dropped_connection(address_full ? "per_address" : "refused");
    co_return;
  }
  if (shed) state->metrics.count_dropped_connection("shed_idle");
  state->metrics.set_open_connections(state->table.size());
  struct Release {
    ServerState& state;
    std::uint64_t id;
    ~Release() {
      state.table.remove(id);
      state.metrics.set_open_connections(state.table.size());
    }
  } release{*state, *admitted};

  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxRequestBody);
    beast::error_code ec;
    // The headers must arrive within the header timeout (a client that trickles them holds a
    // connection for nothing), the body within its own once the headers are in. Until the
    // whole request is in, the connection may be shed to make room: a client trickling its
    // body (before any token is looked at) holds a slot no better than one trickling headers.
    state->table.set_idle(*admitted, true);
    stream.expires_after(state->limits.header_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(use_awaitable, ec));
    bool headers_in = !ec;
    if (headers_in) {
      stream.expires_after(state->limits.body_timeout);
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    }
    if (!ec) state->table.set_idle(*admitted, false);
    if (ec == beast::error::timeout) {
      state->metrics.count_dropped_connection(headers_in ? "body_timeout" : "header_timeout");
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor) {
      break;
    }
    if (ec) {
      // Oversize or malformed: answer once, then close (the rest of the body is unread).
      HttpResponse r = ec == http::error::body_limit
                           ? plain_error(413, "request body larger than " +
                                                  std::to_string(kMaxRequestBody) + " bytes")
                           : plain_error(400, "malformed HTTP request: " + ec.message());
      auto response = to_response(r, 11, false);
      stream.expires_after(kIdleTimeout);
      co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
      co_await drain(stream);
      co_return;
    }
    auto& request = parser.get();
    bool keep_alive = request.keep_alive();
    HttpResponse result;
    try {
      result = co_await endpoint.handle(to_request(request, peer));
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

// Out of file descriptors and no idle connection to shed: give up the reserve descriptor for
// a moment to accept the oldest waiting connection and close it at once, so that clients are
// refused rather than left hanging in the backlog. False when there was nothing to refuse.
bool refuse_one_with_reserve(tcp::acceptor& acceptor, ServerState& state) {
  if (state.reserve_fd < 0) return false;
  ::close(state.reserve_fd);
  boost::system::error_code ec;
  tcp::socket refused = acceptor.accept(ec);  // the acceptor is non-blocking: never waits
  if (!ec) {
    refused.close(ec);
    state.metrics.count_dropped_connection("refused");
  }
  state.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return !ec;
}

awaitable<void> accept_loop(tcp::acceptor acceptor, HttpEndpoint& endpoint,
                            std::shared_ptr<ServerState> state) {
  asio::steady_timer pause_timer(acceptor.get_executor());
  auto pause = kAcceptPauseFirst;
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      if (!out_of_descriptors(ec)) continue;  // about one connection only (e.g. ECONNABORTED)
      // Out of descriptors: idle connections (a slowloris) make room first, so that /healthz
      // and real clients still get in.
      if (state->shed_oldest_idle() || refuse_one_with_reserve(acceptor, *state)) continue;
      pause_timer.expires_after(pause);
      co_await pause_timer.async_wait(asio::redirect_error(use_awaitable, ec));
      pause = std::min(pause * 2, kAcceptPauseMax);
      continue;
    }
    pause = kAcceptPauseFirst;
    asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), endpoint, state),
                   asio::detached);
  }
}

}  // namespace

unsigned short start_http_server(asio::io_context& io, const std::string& host,
                                 const std::string& port, HttpEndpoint& endpoint,
                                 const ServerLimits& limits, Metrics& metrics) {
  tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(host, port);
  tcp::acceptor acceptor(io);
  auto where = endpoints.begin()->endpoint();
  acceptor.open(where.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(where);
  acceptor.listen();
  acceptor.non_blocking(true);
  auto state = std::make_shared<ServerState>(limits, metrics);
  state->reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::cerr << "warden-mcp: at most " << limits.max_connections << " connections, "
            << limits.max_connections_per_address << " per client address; headers within "
            << limits.header_timeout.count() << " s, bodies within " << limits.body_timeout.count()
            << " s\n";
  std::cerr << "warden-mcp: listening on http://" << acceptor.local_endpoint() << "/mcp\n";
  const unsigned short bound = acceptor.local_endpoint().port();
  asio::co_spawn(io, accept_loop(std::move(acceptor), endpoint, state), asio::detached);
  return bound;
}

}  // namespace warden::mcp
