#include "frontend/oauth/fetch_policy.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace warden::oauth {
namespace {

AddressClass classify_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c) {
  if (a == 0) return AddressClass::unspecified;
  if (a == 127) return AddressClass::loopback;
  if (a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168) ||
      (a == 100 && (b & 0xc0) == 64)) {
    return AddressClass::private_use;
  }
  if (a == 169 && b == 254) return AddressClass::link_local;
  if ((a & 0xf0) == 224) return AddressClass::multicast;
  if ((a & 0xf0) == 240) return AddressClass::reserved;  // includes 255.255.255.255
  if ((a == 192 && b == 0 && (c == 0 || c == 2)) || (a == 198 && (b & 0xfe) == 18) ||
      (a == 198 && b == 51 && c == 100) || (a == 203 && b == 0 && c == 113)) {
    return AddressClass::reserved;
  }
  return AddressClass::global;
}

// getaddrinfo reads "2130706433", "0x7f.1" or "127.1" as 127.0.0.1; such hosts are not names
// (no top-level domain is numeric), so they are refused instead of being left to the resolver.
bool looks_numeric(std::string_view host) {
  auto dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) return true;
  return !last.empty() &&
         std::all_of(last.begin(), last.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

bool all_zero(const std::uint8_t* begin, const std::uint8_t* end) {
  return std::all_of(begin, end, [](std::uint8_t x) { return x == 0; });
}

}  // namespace

AddressClass classify_address(const mcp::IpAddress& address) {
  const auto& b = address.bytes;
  if (address.is_v4_mapped()) return classify_v4(b[12], b[13], b[14]);
  // NAT64 well-known prefix 64:ff9b::/96 and 6to4 2002::/16 reach the IPv4 address they embed.
  constexpr std::array<std::uint8_t, 12> kNat64 = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::equal(kNat64.begin(), kNat64.end(), b.begin())) return classify_v4(b[12], b[13], b[14]);
  if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(b[2], b[3], b[4]);
  if (all_zero(b.data(), b.data() + 15)) {
    if (b[15] == 0) return AddressClass::unspecified;
    if (b[15] == 1) return AddressClass::loopback;
  }
  if (all_zero(b.data(), b.data() + 12)) return AddressClass::reserved;  // IPv4-compatible
  if (b[0] == 0xff) return AddressClass::multicast;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::link_local;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::private_use;  // site-local
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::private_use;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return AddressClass::reserved;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return AddressClass::reserved;
  if (b[0] == 0x01 && all_zero(b.data() + 1, b.data() + 8)) return AddressClass::reserved;
  return AddressClass::global;
}

Status check_fetch_address(const mcp::IpAddress& address, const FetchOptions& options) {
  switch (classify_address(address)) {
    case AddressClass::global:
      return ok_status();
    case AddressClass::loopback:
      return options.allow_loopback ? ok_status() : Status(OAuthError::address_refused);
    case AddressClass::private_use:
      return options.allow_private ? ok_status() : Status(OAuthError::address_refused);
    case AddressClass::link_local:
    case AddressClass::unspecified:
    case AddressClass::multicast:
    case AddressClass::reserved:
      return OAuthError::address_refused;
  }
  return OAuthError::address_refused;
}

Outcome<mcp::Url> check_fetch_url(std::string_view url, const FetchOptions& options) {
  if (url.find('#') != std::string_view::npos) return OAuthError::malformed;
  if (url.find_first_of(" \t\r\n\\") != std::string_view::npos) return OAuthError::malformed;
  auto parsed = mcp::parse_url(url);
  if (!parsed) return url.rfind("https://", 0) == 0 ? OAuthError::malformed : OAuthError::not_https;
  if (!parsed->tls && !options.allow_http &&
      !(options.allow_http_loopback && mcp::is_loopback_host(parsed->host))) {
    return OAuthError::not_https;
  }
  if (auto literal = mcp::parse_ip_address(parsed->host)) {
    if (auto status = check_fetch_address(*literal, options); !status) return status.error();
  } else if (mcp::is_loopback_host(parsed->host)) {
    if (!options.allow_loopback) return OAuthError::address_refused;  // "localhost"
  } else if (looks_numeric(parsed->host)) {
    return OAuthError::malformed;
  }
  return std::move(*parsed);
}

}  // namespace warden::oauth
