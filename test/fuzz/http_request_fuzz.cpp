// Raw bytes from a socket, as warden-mcp's HTTP server reads them: Beast's request parser with
// the server's body limit, the header map the endpoint sees (names lowercased), then the
// endpoint's checks before any database work (Origin, Host, Bearer, Content-Type, Accept,
// MCP-Protocol-Version) and the JSON-RPC classification of the body. The same bytes also go
// through Beast's response parser, as an HTTP upstream's reply would.
// Besides crashes (ASan/UBSan), it checks that the parser never yields a body above the limit.
#include <utility>  // Boost 1.74 awaitable.hpp needs it before any Boost header

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "frontend/net/http_rules.hpp"
#include "frontend/mcp/json_rpc.hpp"

namespace {

namespace http = boost::beast::http;
using namespace warden::mcp;

constexpr std::size_t kBodyLimit = 4 * 1024 * 1024;  // http_server.hpp's kMaxRequestBody

void require(bool condition) {
  if (!condition) std::abort();
}

std::string header(const std::map<std::string, std::string>& headers, const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

// Feeds the bytes to a parser in two pieces (a read boundary in the middle), as a socket might.
template <class Parser>
bool feed(Parser& parser, std::string_view bytes, std::size_t split) {
  boost::beast::error_code ec;
  std::string_view pieces[] = {bytes.substr(0, split), bytes.substr(split)};
  std::string pending;
  for (auto piece : pieces) {
    pending.append(piece);
    while (!pending.empty() && !parser.is_done()) {
      std::size_t used = parser.put(boost::asio::buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return false;
      if (used == 0) break;
    }
  }
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec) return false;
  }
  return parser.is_done();
}

void endpoint_checks(const http::request<http::string_body>& in) {
  std::map<std::string, std::string> headers;
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    headers[name] = std::string(field.value());
  }
  std::string target(in.target());
  std::string path = target.substr(0, target.find('?'));
  (void)path;
  std::vector<std::string> none;
  (void)origin_allowed(header(headers, "origin"), none);
  (void)host_allowed(header(headers, "host"), none);
  (void)safe_host(header(headers, "host"));
  if (auto token = bearer_token(header(headers, "authorization"))) require(!token->empty());
  (void)is_json_content_type(header(headers, "content-type"));
  std::string accept = header(headers, "accept");
  (void)accepts(accept, "application/json");
  (void)accepts(accept, "text/event-stream");
  (void)supported_version(header(headers, "mcp-protocol-version"));
  require(in.body().size() <= kBodyLimit);
  json message = json::parse(in.body(), nullptr, false);
  if (message.is_discarded() || message.is_array()) return;
  MessageKind kind = classify(message);
  if (kind == MessageKind::kRequest || kind == MessageKind::kNotification) {
    const std::string* name = nullptr;
    if (message.contains("params") && message["params"].is_object() &&
        message["params"].contains("name") && message["params"]["name"].is_string()) {
      name = message["params"]["name"].get_ptr<const std::string*>();
    }
    (void)header_mismatch(header(headers, "mcp-method"), header(headers, "mcp-name"),
                          message["method"].get<std::string>(), name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::size_t split = size ? data[0] % (size + 1) : 0;
  {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(16 * 1024);
    if (feed(parser, bytes, split)) endpoint_checks(parser.get());
  }
  {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    if (feed(parser, bytes, split)) {
      (void)parser.get().result_int();
      (void)accepts(std::string(parser.get()[http::field::content_type]), "text/event-stream");
    }
  }
  return 0;
}
