#pragma once

#include <string>
#include <variant>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// How a forwarded call ended, as the gateway learns it while the agent waits. A call that
// outlives its timeout has no CallEnd at all (its slot stays empty).
struct Answered {
  json answer;  // the upstream's response: {"result": …} or {"error": …}
};
struct UpstreamFailed {
  std::string message;  // the upstream could not be reached, broke the protocol or exited
};
struct Revoked {
  std::string reason;  // its token, chain or agent was revoked while it ran
};
// The agent cancelled it: notifications/cancelled, or a 2026-07-28 client that disconnected.
struct Cancelled {
  std::string reason;
};
using CallEnd = std::variant<Answered, UpstreamFailed, Revoked, Cancelled>;

}  // namespace warden::mcp
