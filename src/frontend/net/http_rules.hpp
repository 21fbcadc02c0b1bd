#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden::mcp {

// The protocol versions warden-mcp speaks, newest first; sessions exist for all of them.
inline constexpr std::string_view kSupportedVersions[] = {"2025-11-25", "2025-06-18"};
inline constexpr std::string_view kLatestVersion = kSupportedVersions[0];
// Assumed when a request carries no MCP-Protocol-Version header (the transport spec's rule).
inline constexpr std::string_view kDefaultHeaderVersion = "2025-03-26";

bool supported_version(std::string_view version);
// The version to answer an initialize with: the client's when supported, else our latest.
std::string negotiate_version(std::string_view requested);

// True when an Accept header admits the media type (wildcards and parameters handled).
bool accepts(std::string_view accept_header, std::string_view media_type);
// True for application/json with optional parameters.
bool is_json_content_type(std::string_view content_type);
// An Origin is allowed when absent, loopback (localhost, 127.0.0.1, [::1]) or listed exactly.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed);
// A Host header names a loopback host (localhost, 127.0.0.1, [::1], any port) or one listed
// exactly: with a loopback listener this stops DNS rebinding even without an Origin header.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);
// The token of "Bearer <token>", or nullopt.
std::optional<std::string> bearer_token(std::string_view authorization);
// The SEP-2243 routing headers (Mcp-Method, Mcp-Name), when sent, must agree with the body: a
// gateway that authorizes on the body must not let an intermediary route on something else.
// Returns a description of the disagreement, or nullopt.
std::optional<std::string> header_mismatch(std::string_view mcp_method, std::string_view mcp_name,
                                           const std::string& method, const std::string* name);
// A Host header value safe to echo into a URL (host[:port] characters only), else "localhost".
std::string safe_host(std::string_view host);

}  // namespace warden::mcp
