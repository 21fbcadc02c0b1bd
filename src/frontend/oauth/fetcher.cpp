#include "frontend/oauth/fetcher.hpp"

#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "frontend/net/bounded_resolver.hpp"
#include "frontend/net/tls_client.hpp"

namespace warden::oauth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using mcp::awaitable;
using mcp::use_awaitable;

namespace {

mcp::IpAddress to_ip_address(const asio::ip::address& address) {
  mcp::IpAddress out;
  out.bytes = address.is_v4()
                  ? asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes()
                  : address.to_v6().to_bytes();
  out.written_as_ipv4 = address.is_v4();
  return out;
}

template <class Stream>
awaitable<Outcome<FetchedDocument>> exchange(Stream& stream, const mcp::Url& url,
                                             const FormPost* post, const FetchLimits& limits) {
  http::request<http::string_body> request(post ? http::verb::post : http::verb::get, url.target,
                                           11);
  // RFC 9110 7.2: the port too when it is not the scheme's default (servers build URLs from it).
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? "443" : "80")) host += ":" + url.port;
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "warden-mcp/" WARDEN_VERSION);
  request.set(http::field::accept, "application/json");
  if (post) {
    request.set(http::field::content_type, post->content_type.empty()
                                               ? "application/x-www-form-urlencoded"
                                               : post->content_type);
    if (!post->authorization.empty()) request.set(http::field::authorization, post->authorization);
    request.body() = post->body;
    request.prepare_payload();
  }
  request.keep_alive(false);
  co_await http::async_write(stream, request, use_awaitable);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(limits.max_body_bytes);
  co_await http::async_read_header(stream, buffer, parser, use_awaitable);
  unsigned status = parser.get().result_int();
  if (status >= 300 && status < 400) co_return OAuthError::redirect_refused;
  co_await http::async_read(stream, buffer, parser, use_awaitable);
  FetchedDocument document;
  document.status = status;
  document.content_type = std::string(parser.get()[http::field::content_type]);
  document.body = std::move(parser.get().body());
  co_return document;
}

}  // namespace

namespace {

awaitable<Outcome<FetchedDocument>> fetch(std::string url, FetchOptions options,
                                          const FormPost* post, FetchLimits limits) {
  auto checked = check_fetch_url(url, options);
  if (!checked) co_return checked.error();
  const mcp::Url target = std::move(checked).value();
  auto ex = co_await asio::this_coro::executor;
  try {
    // The host may be anyone's choice (a client_id URL): its lookup must not stall others.
    mcp::Lookup resolved = co_await mcp::resolve_bounded(
        target.host, target.port,
        std::chrono::duration_cast<std::chrono::milliseconds>(limits.timeout),
        options.outsider_host ? mcp::LookupPool::outsiders : mcp::LookupPool::trusted);
    if (resolved.failure) co_return OAuthError::fetch_failed;
    std::vector<tcp::endpoint> endpoints;
    for (const auto& endpoint : resolved.endpoints) {
      // http is allowed to loopback (tests), or anywhere check_fetch_address allows when the
      // operator named a plain-http endpoint (allow_http: an OTLP collector on the company
      // network); otherwise every address must be loopback.
      auto address = to_ip_address(endpoint.address());
      if (!check_fetch_address(address, options)) co_return OAuthError::address_refused;
      if (!target.tls && !options.allow_http &&
          classify_address(address) != AddressClass::loopback) {
        co_return OAuthError::not_https;
      }
      endpoints.push_back(endpoint);
    }
    if (endpoints.empty()) co_return OAuthError::fetch_failed;

    if (!target.tls) {
      beast::tcp_stream stream(ex);
      stream.expires_after(limits.timeout);
      co_await stream.async_connect(endpoints, use_awaitable);
      co_return co_await exchange(stream, target, post, limits);
    }
    beast::ssl_stream<beast::tcp_stream> stream(
        ex, options.tls ? *options.tls : mcp::client_tls_context());
    if (!SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str())) {
      co_return OAuthError::fetch_failed;
    }
    stream.set_verify_callback(ssl::host_name_verification(target.host));
    beast::get_lowest_layer(stream).expires_after(limits.timeout);
    co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_awaitable);
    co_await stream.async_handshake(ssl::stream_base::client, use_awaitable);
    co_return co_await exchange(stream, target, post, limits);
  } catch (const boost::system::system_error&) {
    co_return OAuthError::fetch_failed;
  }
}

}  // namespace

awaitable<Outcome<FetchedDocument>> fetch_document(std::string url, FetchOptions options,
                                                   FetchLimits limits) {
  co_return co_await fetch(std::move(url), options, nullptr, limits);
}

awaitable<Outcome<FetchedDocument>> post_form(std::string url, FetchOptions options, FormPost post,
                                              FetchLimits limits) {
  co_return co_await fetch(std::move(url), options, &post, limits);
}

}  // namespace warden::oauth
