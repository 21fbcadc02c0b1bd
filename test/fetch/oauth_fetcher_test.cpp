#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>

#include "frontend/base/asio.hpp"

#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "frontend/oauth/fetcher.hpp"

// Issue 13: the SSRF-guarded fetcher against a real socket on loopback: the policy decides
// before any connection, redirects are not followed, size and time are bounded.

namespace warden::oauth {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Serves one canned response to each connection on 127.0.0.1 and counts connections.
class CannedServer {
 public:
  CannedServer(asio::io_context& io, std::string response, bool respond = true)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        response_(std::move(response)),
        respond_(respond),
        port_(acceptor_.local_endpoint().port()) {
    asio::co_spawn(io, serve(), asio::detached);
  }
  std::string url(const std::string& path = "/doc.json") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  mcp::awaitable<void> serve() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(mcp::use_awaitable, ec));
      if (ec) co_return;
      ++connections_;
      std::string request;
      co_await asio::async_read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n",
                                      asio::redirect_error(mcp::use_awaitable, ec));
      if (!respond_) {
        held_.push_back(std::move(socket));  // never answers
        continue;
      }
      co_await asio::async_write(socket, asio::buffer(response_),
                                 asio::redirect_error(mcp::use_awaitable, ec));
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  tcp::acceptor acceptor_;
  std::string response_;
  bool respond_;
  unsigned short port_;
  int connections_ = 0;
  std::vector<tcp::socket> held_;
};

std::string ok_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

FetchOptions loopback_tests() {
  FetchOptions options;
  options.allow_loopback = true;
  options.allow_http_loopback = true;
  return options;
}

Outcome<FetchedDocument> run_fetch(asio::io_context& io, CannedServer& server, std::string url,
                                   FetchOptions options, FetchLimits limits = {}) {
  std::optional<Outcome<FetchedDocument>> result;
  asio::co_spawn(
      io,
      [&]() -> mcp::awaitable<void> {
        auto outcome = co_await fetch_document(url, options, limits);
        result.emplace(std::move(outcome));
        server.stop();
      },
      asio::detached);
  io.run();
  io.restart();
  return result ? std::move(*result) : Outcome<FetchedDocument>(OAuthError::malformed);
}

TEST(OAuthFetcher, FetchesWhenThePolicyAllows) {
  asio::io_context io;
  CannedServer server(io, ok_response(R"({"issuer":"x"})"));
  auto result = run_fetch(io, server, server.url(), loopback_tests());
  ASSERT_TRUE(result.ok()) << to_string(result.error());
  EXPECT_EQ(result.value().status, 200u);
  EXPECT_EQ(result.value().body, R"({"issuer":"x"})");
  EXPECT_EQ(result.value().content_type, "application/json");
}

TEST(OAuthFetcher, RefusedBeforeAnyConnection) {
  asio::io_context io;
  CannedServer server(io, ok_response("{}"));
  FetchOptions http_but_no_loopback;
  http_but_no_loopback.allow_http_loopback = true;
  EXPECT_EQ(run_fetch(io, server, server.url(), http_but_no_loopback).error(),
            OAuthError::address_refused);
  EXPECT_EQ(run_fetch(io, server, server.url(), FetchOptions{}).error(), OAuthError::not_https);
  EXPECT_EQ(server.connections(), 0);
}

TEST(OAuthFetcher, ANameResolvingToLoopbackIsRefused) {
  // The machine's own host name usually resolves to loopback (/etc/hosts): it passes the URL
  // check as a name, and the resolved address is refused before connecting.
  asio::io_context io;
  CannedServer server(io, ok_response("{}"));
  const std::string name = asio::ip::host_name();
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto resolved = resolver.resolve(name, "80", ec);
  if (ec || resolved.empty() || !resolved.begin()->endpoint().address().is_loopback()) {
    GTEST_SKIP() << "this machine's host name does not resolve to loopback";
  }
  std::string url = server.url();
  url.replace(0, std::string("http://127.0.0.1").size(), "https://" + name);
  EXPECT_TRUE(check_fetch_url(url, FetchOptions{}).ok()) << url;
  EXPECT_EQ(run_fetch(io, server, url, FetchOptions{}).error(), OAuthError::address_refused);
  FetchOptions http_only;
  http_only.allow_http_loopback = true;
  EXPECT_EQ(server.connections(), 0);
  // "localhost" is refused by name already.
  url = server.url();
  url.replace(url.find("127.0.0.1"), 9, "localhost");
  EXPECT_EQ(check_fetch_url(url, http_only).error(), OAuthError::address_refused);
}

TEST(OAuthFetcher, RedirectsAreNotFollowed) {
  asio::io_context io;
  CannedServer server(io,
                      "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/"
                      "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(run_fetch(io, server, server.url(), loopback_tests()).error(),
            OAuthError::redirect_refused);
  EXPECT_EQ(server.connections(), 1);
}

TEST(OAuthFetcher, BodyAboveTheLimitFails) {
  asio::io_context io;
  CannedServer server(io, ok_response(std::string(2048, 'x')));
  FetchLimits limits;
  limits.max_body_bytes = 1024;
  EXPECT_EQ(run_fetch(io, server, server.url(), loopback_tests(), limits).error(),
            OAuthError::fetch_failed);
}

TEST(OAuthFetcher, ASilentServerTimesOut) {
  asio::io_context io;
  CannedServer server(io, "", /*respond=*/false);
  FetchLimits limits;
  limits.timeout = std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_fetch(io, server, server.url(), loopback_tests(), limits).error(),
            OAuthError::fetch_failed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
}  // namespace warden::oauth
