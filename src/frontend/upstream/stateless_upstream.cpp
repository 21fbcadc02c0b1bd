#include "frontend/upstream/stateless_upstream.hpp"

#include <array>
#include <stdexcept>
#include <string_view>

#include "frontend/mcp/json_rpc.hpp"
#include "frontend/net/param_headers.hpp"
#include "frontend/net/stateless_envelope.hpp"
#include "frontend/upstream/handshake.hpp"

namespace warden::mcp {

namespace {

// More than an agent can sensibly answer in one round: an upstream asking for more is refused.
constexpr std::size_t kMaxInputRequests = 16;
constexpr std::array<std::string_view, 3> kSessionInputMethods = {
    "elicitation/create", "sampling/createMessage", "roots/list"};

}  // namespace

json discover_probe(std::int64_t id) {
  json params = json::object();
  add_upstream_envelope(params, nullptr);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "server/discover"}, {"params", params}};
}

bool supports_stateless(const json& answer) {
  auto result = answer.find("result");
  if (result == answer.end() || !result->is_object()) return false;
  auto versions = result->find("supportedVersions");
  if (versions == result->end() || !versions->is_array()) return false;
  for (const auto& v : *versions) {
    if (v.is_string() && v.get<std::string>() == kStatelessVersion) return true;
  }
  return false;
}

void add_upstream_envelope(json& params, const json& agent_envelope) {
  if (!params.is_object()) params = json::object();
  if (!params.contains("_meta") || !params["_meta"].is_object()) params["_meta"] = json::object();
  json& meta = params["_meta"];
  for (auto it = meta.begin(); it != meta.end();) {
    if (it.key().rfind("io.modelcontextprotocol/", 0) == 0) {
      it = meta.erase(it);
    } else {
      ++it;
    }
  }
  meta[std::string(kMetaProtocolVersion)] = kStatelessVersion;
  meta[std::string(kMetaClientInfo)] = {{"name", "warden-mcp"}, {"version", WARDEN_VERSION}};
  json capabilities = json::object();
  if (agent_envelope.is_object()) {
    // The agent answers input_required itself: the upstream may ask only what it declared.
    auto declared = agent_envelope.find(kMetaClientCapabilities);
    if (declared != agent_envelope.end() && declared->is_object()) {
      for (const char* relayed : {"roots", "sampling", "elicitation"}) {
        auto it = declared->find(relayed);
        if (it != declared->end() && it->is_object()) capabilities[relayed] = *it;
      }
    }
    auto level = agent_envelope.find(kMetaLogLevel);
    if (level != agent_envelope.end() && level->is_string() &&
        log_wanted(level->get<std::string>(), level->get<std::string>())) {
      meta[std::string(kMetaLogLevel)] = *level;
    }
  } else {
    // warden-mcp asks a session agent on the upstream's behalf (as the handshake declares).
    capabilities = initialize_params(ServerRequests::kRelayedToAgent)["capabilities"];
  }
  meta[std::string(kMetaClientCapabilities)] = std::move(capabilities);
}

std::optional<std::string> routing_name(const std::string& method, const json& params) {
  const char* key = method == "tools/call" || method == "prompts/get" ? "name"
                    : method == "resources/read"                      ? "uri"
                                                                      : nullptr;
  if (key == nullptr || !params.is_object()) return std::nullopt;
  auto it = params.find(key);
  if (it == params.end() || !it->is_string()) return std::nullopt;
  return encode_header_value(it->get_ref<const std::string&>());
}

bool is_input_required(const json& answer) {
  auto result = answer.find("result");
  return result != answer.end() && string_member(*result, "resultType") == "input_required";
}

json session_input_requests(const json& result) {
  auto requests = result.find("inputRequests");
  if (requests == result.end() || !requests->is_object() || requests->empty()) {
    throw std::invalid_argument("an input_required result without inputRequests");
  }
  if (requests->size() > kMaxInputRequests) {
    throw std::invalid_argument("an input_required result with more than " +
                                std::to_string(kMaxInputRequests) + " inputRequests");
  }
  json out = json::object();
  for (const auto& [key, request] : requests->items()) {
    if (!request.is_object() || !request.contains("method") || !request["method"].is_string()) {
      throw std::invalid_argument("inputRequests[" + key + "] is not a request");
    }
    const std::string& method = request["method"].get_ref<const std::string&>();
    bool known = false;
    for (auto m : kSessionInputMethods) known = known || m == method;
    if (!known) {
      std::string message = "inputRequests[";
      message.append(key).append("] asks for ").append(method);
      throw std::invalid_argument(message);
    }
    json params = request.value("params", json::object());
    if (!params.is_object()) throw std::invalid_argument("inputRequests[" + key + "].params");
    out[key] = {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
  }
  return out;
}

json retry_params(json params, const json& input_required_result, json input_responses) {
  params["inputResponses"] = std::move(input_responses);
  auto state = input_required_result.find("requestState");
  if (state != input_required_result.end() && state->is_string()) {
    params["requestState"] = *state;
  } else {
    params.erase("requestState");
  }
  return params;
}

json for_session_agent(json answer) {
  auto result = answer.find("result");
  if (result != answer.end() && result->is_object()) result->erase("resultType");
  return answer;
}

}  // namespace warden::mcp
