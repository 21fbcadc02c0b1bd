#include "frontend/net/http_rules.hpp"

#include <algorithm>
#include <cctype>

namespace warden::mcp {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "type/subtype" of a media range, lowercased, without parameters.
std::string media_type_of(std::string_view range) {
  auto semi = range.find(';');
  return lower(trim(range.substr(0, semi)));
}

}  // namespace

bool supported_version(std::string_view version) {
  return std::find(std::begin(kSupportedVersions), std::end(kSupportedVersions), version) !=
         std::end(kSupportedVersions);
}

std::string negotiate_version(std::string_view requested) {
  return std::string(supported_version(requested) ? requested : kLatestVersion);
}

bool accepts(std::string_view accept_header, std::string_view media_type) {
  std::string wanted = lower(media_type);
  std::string wanted_family = wanted.substr(0, wanted.find('/')) + "/*";
  while (!accept_header.empty()) {
    auto comma = accept_header.find(',');
    std::string range = media_type_of(accept_header.substr(0, comma));
    if (range == wanted || range == wanted_family || range == "*/*") return true;
    if (comma == std::string_view::npos) break;
    accept_header.remove_prefix(comma + 1);
  }
  return false;
}

bool is_json_content_type(std::string_view content_type) {
  return media_type_of(content_type) == "application/json";
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) return true;
  std::string o = lower(origin);
  for (std::string_view scheme : {"http://", "https://"}) {
    if (o.rfind(scheme, 0) != 0) continue;
    std::string_view rest = std::string_view(o).substr(scheme.size());
    std::string_view host;
    if (rest.rfind("[::1]", 0) == 0) {
      host = "[::1]";
      rest.remove_prefix(5);
    } else {
      auto end = rest.find_first_of(":/");
      host = rest.substr(0, end);
      rest.remove_prefix(host.size());
    }
    if (host != "localhost" && host != "127.0.0.1" && host != "[::1]") return false;
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    rest.remove_prefix(1);
    return !rest.empty() && rest.size() <= 5 &&
           std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  return false;
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), host) != allowed.end()) return true;
  return !host.empty() && origin_allowed("http://" + std::string(host), {});
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() < 7 || lower(authorization.substr(0, 7)) != "bearer ") {
    return std::nullopt;
  }
  std::string_view token = trim(authorization.substr(7));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

std::optional<std::string> header_mismatch(std::string_view mcp_method, std::string_view mcp_name,
                                           const std::string& method, const std::string* name) {
  if (!mcp_method.empty() && mcp_method != method) {
    return "Mcp-Method header " + std::string(mcp_method) + " does not match the body's " + method;
  }
  if (!mcp_name.empty() && (!name || mcp_name != *name)) {
    return "Mcp-Name header " + std::string(mcp_name) + " does not match the body";
  }
  return std::nullopt;
}

std::string safe_host(std::string_view host) {
  bool ok = !host.empty() && host.size() <= 255 &&
            std::all_of(host.begin(), host.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
            });
  return ok ? std::string(host) : std::string("localhost");
}

}  // namespace warden::mcp
