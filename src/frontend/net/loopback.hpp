#pragma once

#include <string_view>

namespace warden::mcp {

// True when `host` names this machine's loopback interface: an IPv4 address in 127.0.0.0/8,
// the IPv6 address ::1, an IPv4-mapped ::ffff:127.x.y.z, or the literal name "localhost"
// (any letter case). IPv6 may be bracketed. Addresses are parsed, never prefix-matched, so
// "127.evil.example" or "localhost.evil.example" (names anyone can point anywhere) are not
// loopback.
bool is_loopback_host(std::string_view host);

}  // namespace warden::mcp
