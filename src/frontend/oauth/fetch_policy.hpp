#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "frontend/net/loopback.hpp"
#include "frontend/net/url.hpp"
#include "frontend/oauth/oauth_error.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace warden::oauth {

// What warden-mcp fetches on its own (Client ID Metadata Documents, IdP discovery and JWKS) is
// bounded: a body above the limit or a fetch slower than the timeout fails, and redirects are
// never followed (a 3xx is a failure), so a document cannot send us to an address we refused.
inline constexpr size_t kMaxFetchedDocumentBytes = 256 * 1024;
inline constexpr std::chrono::seconds kFetchTimeout{5};
inline constexpr int kMaxFetchRedirects = 0;

// Where an address points, for SSRF decisions.
enum class AddressClass {
  global,       // anything not below
  loopback,     // 127/8, ::1
  private_use,  // 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10
  link_local,   // 169.254/16 (cloud metadata), fe80::/10
  unspecified,  // 0/8, ::
  multicast,    // 224/4, ff00::/8
  reserved,     // 240/4, documentation, benchmarking, IPv4-compatible, Teredo, discard
};

// Classifies an address; IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) addresses are classified by the IPv4 address they carry.
AddressClass classify_address(const mcp::IpAddress& address);

struct FetchOptions {
  bool allow_loopback = false;       // e.g. an IdP on this machine in tests
  bool allow_private = false;        // e.g. an IdP on the company network
  bool allow_http_loopback = false;  // plain http, and only to loopback (tests)
  // The TLS client context for https fetches; null: mcp::client_tls_context() (the system
  // store). --oauth-ca-file makes one that also trusts the CAs in that file.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // The host is anyone's choice (a client_id URL): its name lookup takes the outsiders' share
  // of lookup threads, so such lookups cannot starve the identity provider's.
  bool outsider_host = false;
  // Plain http to any allowed address: only for a destination the operator named that carries
  // no secret (an OTLP collector), never for anything a request or a document chose.
  bool allow_http = false;
};

// May a fetch connect to this (resolved) address? link-local, unspecified, multicast and
// reserved addresses never; loopback and private ones only when allowed.
Status check_fetch_address(const mcp::IpAddress& address, const FetchOptions& options);

// May this URL be fetched at all (before resolving its host)? https only (http only with
// allow_http_loopback and a loopback host), no userinfo, no fragment; a literal address is
// checked with check_fetch_address. The caller must still check every resolved address and
// connect to the checked one (no second resolution).
Outcome<mcp::Url> check_fetch_url(std::string_view url, const FetchOptions& options);

}  // namespace warden::oauth
