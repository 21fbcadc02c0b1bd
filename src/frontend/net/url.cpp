#include "frontend/net/url.hpp"

namespace warden::mcp {

std::optional<Url> parse_url(std::string_view url) {
  Url out;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.rfind("http://", 0) == 0) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : url.substr(slash);
  // A query without a path targets "/". (Built in place: GCC 12 at -O3 warns a false -Wrestrict
  // on `"/" + std::string(...)`.)
  out.target.assign(target);
  if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no userinfo
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  for (char c : out.port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return out;
}

}  // namespace warden::mcp
