#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "frontend/base/asio.hpp"
#include "frontend/mcp/json_rpc.hpp"
#include "frontend/upstream/credential.hpp"

namespace warden::mcp {

// The upstream could not be reached or broke the protocol; nothing useful came back.
class UpstreamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What travels with one forwarded request besides its params.
// Filled in by the upstream once a request is on its way: tells the upstream to give up on it
// (notifications/cancelled) when the call's token, chain or agent is revoked.
struct CancelHook {
  std::function<void(const std::string& reason)> cancel;
  // Set when the call was revoked or timed out before the upstream took it (no `cancel` yet):
  // the upstream then never sends it. A revoked call must not start after its revocation.
  std::string ended_before_sent;
};

// Sends the response to a request the upstream made back to that upstream.
using Answer = std::function<void(json response)>;
// Receives what the upstream sends while one request runs besides its response: notifications
// (progress, logging) and requests of its own (sampling, elicitation, roots), with the way to
// answer them.
using MessageSink = std::function<void(const json& message, Answer answer)>;

struct ForwardContext {
  std::string traceparent;               // W3C trace context; empty when none
  std::optional<Credential> credential;  // vended by warden.credential for this call; or none
  std::shared_ptr<CancelHook> cancel;    // may be null
  MessageSink on_message;                // may be null: notifications dropped, requests refused
  // Whose call this is (the agent's MCP session with the gateway). An upstream that cannot
  // tell which call its own request belongs to (stdio) relays it only while every call in
  // flight has the same key, so one session never answers for another.
  std::string relay_key;
  // The agent's own MCP 2026-07-28 envelope (its io.modelcontextprotocol/clientCapabilities and
  // logLevel) when it speaks that revision; null for an agent on a session. An upstream that
  // speaks 2026-07-28 too is sent these and its input_required results go back to the agent as
  // they are; for an agent on a session warden-mcp answers them by asking it (HttpUpstream).
  json agent_envelope{};
};

// One upstream MCP server, already initialized on first use. Requests may overlap.
class Upstream {
 public:
  virtual ~Upstream() = default;
  // The upstream's JSON-RPC response message ({"result"} or {"error"}), without its id.
  virtual awaitable<json> request(const std::string& method, json params,
                                  const ForwardContext& context) = 0;
  virtual void shutdown() = 0;
  // Why this host will not forward a call carrying `credential` (nullopt: none) to this upstream,
  // as a stable reason ("stdio_command_not_allowed", "credential_needs_tls"); nullopt when it
  // will. Asked after an allowed decision: the agent gets a denial, the call an error outcome.
  virtual std::optional<std::string> refusal(const std::optional<Credential>& credential) const {
    (void)credential;
    return std::nullopt;
  }
};

}  // namespace warden::mcp
