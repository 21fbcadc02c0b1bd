// The front-end's pure header and URL rules (src/frontend/net/http_rules.*, net/url.*): Accept and
// Content-Type matching, Origin/Host checks against DNS rebinding, Bearer extraction, the
// SEP-2243 routing-header comparison, safe_host and parse_url.
// Input: up to six fields separated by NUL bytes, each fed to the functions as header values.
// Besides crashes, it checks the promises the headers make: safe_host only echoes host
// characters; a loopback-only origin check never admits a non-loopback origin; a parsed URL has
// a host, a numeric port and a target starting with '/'; a Bearer token has no surrounding
// blanks; equal routing headers never mismatch.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/net/http_rules.hpp"
#include "frontend/net/url.hpp"

namespace {

using namespace warden::mcp;

void require(bool condition) {
  if (!condition) std::abort();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The loopback hosts origin_allowed admits with an empty allow-list.
bool loopback_origin(std::string_view origin) {
  std::string o = lower(origin);
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!starts_with(o, scheme)) continue;
    std::string_view rest = std::string_view(o).substr(scheme.size());
    for (std::string_view host : {"localhost", "127.0.0.1", "[::1]"}) {
      if (!starts_with(rest, host)) continue;
      std::string_view tail = rest.substr(host.size());
      if (tail.empty()) return true;
      if (tail.front() != ':') continue;
      tail.remove_prefix(1);
      return !tail.empty() && tail.size() <= 5 &&
             std::all_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; });
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> f;
  while (f.size() < 5) {
    auto nul = input.find('\0');
    f.push_back(input.substr(0, nul));
    if (nul == std::string_view::npos) {
      input = {};
      break;
    }
    input.remove_prefix(nul + 1);
  }
  if (!input.empty()) f.push_back(input);
  while (f.size() < 6) f.push_back(f.empty() ? std::string_view() : f.front());

  // Accept / Content-Type.
  for (std::string_view type : {"application/json", "text/event-stream", "Application/JSON"}) {
    bool a = accepts(f[0], type);
    require(a == accepts(f[0], lower(type)));  // media types are case-insensitive
  }
  (void)is_json_content_type(f[1]);
  require(is_json_content_type("application/json"));

  // Origin and Host against DNS rebinding.
  std::vector<std::string> none;
  bool origin_ok = origin_allowed(f[2], none);
  if (origin_ok && !f[2].empty()) require(loopback_origin(f[2]));
  std::vector<std::string> listed{std::string(f[3])};
  require(origin_allowed(f[3], listed));
  bool host_ok = host_allowed(f[2], none);
  if (host_ok) require(!f[2].empty());
  require(host_allowed(f[3], listed));

  // Bearer tokens.
  if (auto token = bearer_token(f[4])) {
    require(!token->empty());
    require(token->front() != ' ' && token->front() != '\t');
    require(token->back() != ' ' && token->back() != '\t');
    require(f[4].find(*token) != std::string_view::npos);
  }

  // Routing headers: equal values never mismatch; a differing method always does.
  std::string method(f[5]), name(f[0]);
  require(!header_mismatch(f[5], f[0], method, &name));
  require(!header_mismatch("", "", method, nullptr));
  if (!f[1].empty() && f[1] != f[5]) require(header_mismatch(f[1], "", method, &name).has_value());
  if (!f[1].empty()) require(header_mismatch("", f[1], method, nullptr).has_value());

  // safe_host is echoed into URLs and headers.
  std::string host = safe_host(f[2]);
  require(!host.empty() && host.size() <= 255);
  require(std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  }));

  // Versions.
  std::string v = negotiate_version(f[5]);
  require(supported_version(v));
  if (supported_version(f[5])) require(v == f[5]);

  // URLs of HTTP upstreams.
  for (std::string_view u : {f[0], f[2], f[3]}) {
    auto url = parse_url(u);
    if (!url) continue;
    require(starts_with(u, "http://") || starts_with(u, "https://"));
    require(url->tls == starts_with(u, "https://"));
    require(!url->host.empty());
    require(!url->port.empty());
    require(std::all_of(url->port.begin(), url->port.end(),
                        [](char c) { return c >= '0' && c <= '9'; }));
    require(!url->target.empty() && url->target.front() == '/');
    require(url->host.find('@') == std::string::npos);
  }
  return 0;
}
