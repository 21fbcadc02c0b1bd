#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "frontend/base/asio.hpp"
#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// The MCP protocol revision warden-mcp asks its upstreams for.
inline constexpr std::string_view kUpstreamProtocolVersion = "2025-06-18";

// What an upstream's own requests (sampling, elicitation, roots) meet on this transport. The
// handshake declares the matching client capabilities, so an upstream never asks for what the
// transport would refuse.
enum class ServerRequests {
  kRelayedToAgent,  // passed to the agent whose call is running; its answer goes back
  kRefused,         // answered with an error (ping is always answered)
};

// The transport under the handshake. `initialize` sends the initialize request with these
// params and returns the upstream's answer ({"result": …} or {"error": …}, as
// Upstream::request does); `initialized` sends the notifications/initialized message as it is,
// once the answer was accepted, with the protocol version agreed.
struct HandshakeTransport {
  std::function<awaitable<json>(json params)> initialize;
  std::function<awaitable<void>(json notification, const std::string& version)> initialized;
};

// The MCP client handshake, the same for every transport: initialize with warden-mcp's client
// info and the capabilities `requests` allows, check the answer, then notifications/initialized.
// Returns the protocol version the upstream chose. Throws UpstreamError when the upstream
// refuses or answers something that is not an initialize result.
awaitable<std::string> handshake(const std::string& upstream, ServerRequests requests,
                                 HandshakeTransport transport);

// The parts, for tests and for transports that cannot use the coroutine as it is.
json initialize_params(ServerRequests requests);
// The protocol version of an initialize answer; throws UpstreamError unless it is a result.
std::string accept_initialize(const std::string& upstream, const json& answer);

}  // namespace warden::mcp
