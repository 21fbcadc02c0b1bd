#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// MCP 2026-07-28 (SEP-2575) has no sessions and no initialize: every request carries its
// protocol version, client info and client capabilities in params._meta, and the
// MCP-Protocol-Version header must repeat that version. warden-mcp serves it on the same /mcp
// as the session-based revisions (http_rules.hpp), chosen per request.
inline constexpr std::string_view kStatelessVersion = "2026-07-28";
inline constexpr std::string_view kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kMetaClientCapabilities =
    "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
// A request's _meta is copied into decisions and relayed upstream: a larger one is refused.
inline constexpr std::size_t kMaxMetaBytes = 16 * 1024;

namespace rpc_code {
inline constexpr int kMissingClientCapability = -32021;
inline constexpr int kUnsupportedVersion = -32022;
}  // namespace rpc_code

// True for the revisions that have sessions (initialize, Mcp-Session-Id).
bool session_revision(std::string_view version);

// Whether a POSTed message speaks a session-less revision: its MCP-Protocol-Version header or its
// params._meta protocol version names anything but a session revision, or it is
// server/discover. Such a message is never routed to a session, so a client cannot downgrade
// half of a request (header one revision, body another): the envelope check refuses that.
bool is_stateless_message(std::string_view header_version, const json& message);

struct EnvelopeRefusal {
  unsigned status;
  int code;
  std::string message;
  json data = nullptr;
};

// A stateless request's envelope, checked in the specification's order: the version header
// (-32020), the required _meta keys and its size (-32602), header and _meta agreeing (-32020),
// the version being one warden-mcp serves statelessly (-32022 with the supported versions).
// All HTTP 400. nullopt when the envelope is sound.
std::optional<EnvelopeRefusal> check_envelope(std::string_view header_version, const json& message);

// A stateless request must carry its routing headers (SEP-2243): Mcp-Method always, Mcp-Name
// when the body names a tool or prompt (params.name) or a resource (params.uri); that they agree
// with the body is header_mismatch's check (http_rules.hpp). nullopt when present, else what is
// missing (400 / -32020).
std::optional<std::string> missing_routing_header(std::string_view mcp_method,
                                                  std::string_view mcp_name, const json& message);

// The versions server/discover and -32022 name: the stateless one, then the session ones.
json supported_versions();

// The methods a stateless request may call; the others (initialize, ping, logging/setLevel,
// resources/subscribe, resources/unsubscribe, unknown ones) are answered 404 / -32601.
bool stateless_method(std::string_view method);

// A stateless request's result as 2026-07-28 shapes it: resultType "complete", and for
// discover, list and read results the caching hints (SEP-2549) — private, never reused, since
// what an agent may see depends on its grants.
json stateless_result(std::string_view method, json result);

// params without the io.modelcontextprotocol/ keys of its _meta: what a session-based upstream
// is sent (they describe the agent's envelope with warden, not warden's session upstream).
void strip_envelope(json& params);
// The io.modelcontextprotocol/ keys of params._meta (an object, empty when there are none): kept
// from a stateless request before strip_envelope, for an upstream that speaks 2026-07-28 too.
json envelope_of(const json& params);

// Whether a log notification of `level` reaches a client that asked for `wanted` (RFC 5424
// order); an empty `wanted` receives none (2026-07-28: logs only on request).
bool log_wanted(std::string_view wanted, std::string_view level);

}  // namespace warden::mcp
