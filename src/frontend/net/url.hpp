#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden::mcp {

struct Url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string target;  // path and query, at least "/"
};

// Parses an http:// or https:// URL; nullopt for anything else.
std::optional<Url> parse_url(std::string_view url);

}  // namespace warden::mcp
