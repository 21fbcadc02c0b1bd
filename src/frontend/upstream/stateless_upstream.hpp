#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// warden-mcp as a client of an upstream that speaks MCP 2026-07-28 (SEP-2575): no initialize, no
// session; every request carries the envelope (protocol version, client info, client
// capabilities) in params._meta and the routing headers (Mcp-Method, Mcp-Name). Socket-free
// pieces, used by the HTTP upstream and unit-tested on their own.

// The server/discover probe sent before the first request: an upstream that lists 2026-07-28
// among its supportedVersions is spoken to statelessly; any other answer means the session
// handshake of the older revisions.
json discover_probe(std::int64_t id);
bool supports_stateless(const json& answer);  // the probe's answer ({"result"} / {"error"})

// Adds warden-mcp's envelope to params._meta (replacing any io.modelcontextprotocol/ key already
// there). `agent_envelope` is the agent's own 2026-07-28 envelope: of its client capabilities
// only those warden-mcp relays (roots, sampling, elicitation) and a known log level are passed
// on, so the upstream asks only for what the agent can do and nothing warden does not mediate;
// null for an agent on a session revision, for which warden-mcp declares what it relays.
void add_upstream_envelope(json& params, const json& agent_envelope);

// The Mcp-Name header value of a request: params.name for tools/call and prompts/get,
// params.uri for resources/read (the key follows the method, so an extra key cannot make the
// header name something else), Base64-wrapped (=?base64?…?=, SEP-2243) unless it is plain
// printable ASCII; nullopt for other methods or when the key is missing.
std::optional<std::string> routing_name(const std::string& method, const json& params);

// Whether an answer is a 2026-07-28 input_required result (SEP-2322).
bool is_input_required(const json& answer);

// The input requests an input_required result carries that warden-mcp can put to an agent on a
// session (elicitation/create, sampling/createMessage, roots/list), as JSON-RPC requests without
// an id, by key; throws std::invalid_argument naming what is wrong otherwise (too many, not an
// object, another method).
json session_input_requests(const json& result);

// The retry of a request after input_required: the same params, with the agent's answers as
// inputResponses and the upstream's requestState echoed (or none).
json retry_params(json params, const json& input_required_result, json input_responses);

// An upstream's 2026-07-28 result as an agent on a session revision reads it (no resultType).
json for_session_agent(json answer);

}  // namespace warden::mcp
