#include "frontend/net/loopback.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

namespace warden::mcp {

namespace {

bool is_localhost_name(std::string_view host) {
  constexpr std::string_view kName = "localhost";
  return host.size() == kName.size() &&
         std::equal(host.begin(), host.end(), kName.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

bool IpAddress::is_v4_mapped() const {
  return std::all_of(bytes.begin(), bytes.begin() + 10, [](auto b) { return b == 0; }) &&
         bytes[10] == 0xff && bytes[11] == 0xff;
}

std::optional<IpAddress> parse_ip_address(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  // inet_pton needs a terminated string and accepts only the strict forms (four decimal
  // parts for IPv4; no zone ids), which is what we want from a configured address.
  std::string text(host);
  IpAddress out;
  std::array<std::uint8_t, 4> v4{};
  if (::inet_pton(AF_INET, text.c_str(), v4.data()) == 1) {
    out.bytes[10] = 0xff;
    out.bytes[11] = 0xff;
    std::copy(v4.begin(), v4.end(), out.bytes.begin() + 12);
    out.written_as_ipv4 = true;
    return out;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out.bytes.data()) != 1) return std::nullopt;
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (is_localhost_name(host)) return true;
  auto address = parse_ip_address(host);
  if (!address) return false;
  constexpr std::array<std::uint8_t, 16> kIpv6Loopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                          0, 0, 0, 0, 0, 0, 0, 1};
  if (address->bytes == kIpv6Loopback) return true;
  return address->is_v4_mapped() && address->bytes[12] == 127;
}

}  // namespace warden::mcp
