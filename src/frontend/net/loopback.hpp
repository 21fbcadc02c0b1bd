#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace warden::mcp {

// An IP address literal, always in IPv6 form: IPv4 a.b.c.d becomes ::ffff:a.b.c.d.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool written_as_ipv4 = false;

  bool is_v4_mapped() const;
};

// Parses an IPv4 (four decimal parts) or IPv6 literal, optionally bracketed; nullopt for names,
// zone ids ("fe80::1%eth0") and shorthand such as "127.1".
std::optional<IpAddress> parse_ip_address(std::string_view host);

// True when `host` names this machine's loopback interface: an IPv4 address in 127.0.0.0/8,
// the IPv6 address ::1, an IPv4-mapped ::ffff:127.x.y.z, or the literal name "localhost"
// (any letter case). IPv6 may be bracketed. Addresses are parsed, never prefix-matched, so
// "127.evil.example" or "localhost.evil.example" (names anyone can point anywhere) are not
// loopback.
bool is_loopback_host(std::string_view host);

}  // namespace warden::mcp
