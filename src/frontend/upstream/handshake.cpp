#include "frontend/upstream/handshake.hpp"

#include "frontend/upstream/upstream.hpp"

namespace warden::mcp {

json initialize_params(ServerRequests requests) {
  json capabilities = json::object();
  if (requests == ServerRequests::kRelayedToAgent) {
    // Declared on behalf of the agents: a request is passed to the agent whose call it belongs
    // to, and an agent that cannot serve it answers with an error.
    capabilities["sampling"] = json::object();
    capabilities["elicitation"] = json::object();
    capabilities["roots"] = {{"listChanged", true}};
  }
  json params = json::object();
  params["protocolVersion"] = kUpstreamProtocolVersion;
  params["capabilities"] = std::move(capabilities);
  params["clientInfo"] = {{"name", "warden-mcp"}, {"version", WARDEN_VERSION}};
  return params;
}

std::string accept_initialize(const std::string& upstream, const json& answer) {
  auto result = answer.find("result");
  if (result == answer.end() || !result->is_object()) {
    throw UpstreamError("upstream " + upstream + " did not initialize: " + answer.dump());
  }
  auto version = result->find("protocolVersion");
  if (version == result->end()) return std::string(kUpstreamProtocolVersion);
  if (!version->is_string()) {
    throw UpstreamError("upstream " + upstream + " answered initialize with a protocolVersion " +
                        "that is not a string");
  }
  return version->get<std::string>();
}

awaitable<std::string> handshake(const std::string& upstream, ServerRequests requests,
                                 HandshakeTransport transport) {
  json params = initialize_params(requests);
  json answer = co_await transport.initialize(std::move(params));
  std::string version = accept_initialize(upstream, answer);
  json notification = {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
  co_await transport.initialized(std::move(notification), version);
  co_return version;
}

}  // namespace warden::mcp
