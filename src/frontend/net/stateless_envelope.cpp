#include "frontend/net/stateless_envelope.hpp"

#include <algorithm>
#include <array>

#include "frontend/net/http_rules.hpp"

namespace warden::mcp {

namespace {

constexpr std::array<std::string_view, 4> kSessionRevisions = {"2025-11-25", "2025-06-18",
                                                               "2025-03-26", "2024-11-05"};
constexpr std::array<std::string_view, 9> kStatelessMethods = {
    "server/discover",    "tools/list",     "tools/call",     "prompts/list",
    "prompts/get",        "resources/list", "resources/read", "resources/templates/list",
    "completion/complete"};
constexpr std::array<std::string_view, 6> kCachedResults = {
    "server/discover", "tools/list",     "prompts/list",
    "resources/list",  "resources/read", "resources/templates/list"};
constexpr std::array<std::string_view, 8> kLogLevels = {"debug", "info",     "notice", "warning",
                                                        "error", "critical", "alert",  "emergency"};

const json* meta_of(const json& message) {
  if (!message.is_object() || !message.contains("params")) return nullptr;
  const json& params = message["params"];
  if (!params.is_object() || !params.contains("_meta")) return nullptr;
  return &params["_meta"];
}

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool session_revision(std::string_view version) {
  return listed(kSessionRevisions, version);
}

bool is_stateless_message(std::string_view header_version, const json& message) {
  if (!header_version.empty() && !session_revision(header_version)) return true;
  if (const json* meta = meta_of(message); meta && meta->is_object()) {
    auto it = meta->find(kMetaProtocolVersion);
    if (it != meta->end() && (!it->is_string() || !session_revision(it->get<std::string>()))) {
      return true;
    }
  }
  return message.is_object() && message.value("method", "") == "server/discover";
}

std::optional<EnvelopeRefusal> check_envelope(std::string_view header_version,
                                              const json& message) {
  if (header_version.empty()) {
    return EnvelopeRefusal{400, rpc_code::kHeaderMismatch,
                           "the MCP-Protocol-Version header is required and must equal "
                           "params._meta[\"io.modelcontextprotocol/protocolVersion\"]"};
  }
  const json* meta = meta_of(message);
  std::string missing;
  if (!meta || !meta->is_object()) {
    missing = "params._meta";
  } else {
    auto version = meta->find(kMetaProtocolVersion);
    auto capabilities = meta->find(kMetaClientCapabilities);
    if (version == meta->end() || !version->is_string()) {
      missing = std::string(kMetaProtocolVersion) + " (a string)";
    } else if (capabilities == meta->end() || !capabilities->is_object()) {
      missing = std::string(kMetaClientCapabilities) + " (an object)";
    }
  }
  if (!missing.empty()) {
    return EnvelopeRefusal{400, rpc_code::kInvalidParams,
                           "invalid params: a " + std::string(kStatelessVersion) +
                               " request must carry _meta " + missing};
  }
  if (meta->dump().size() > kMaxMetaBytes) {
    return EnvelopeRefusal{400, rpc_code::kInvalidParams,
                           "invalid params: params._meta is larger than " +
                               std::to_string(kMaxMetaBytes / 1024) + " KiB"};
  }
  const std::string& version =
      (*meta)[std::string(kMetaProtocolVersion)].get_ref<const std::string&>();
  if (version != header_version) {
    return EnvelopeRefusal{400, rpc_code::kHeaderMismatch,
                           "the MCP-Protocol-Version header " + std::string(header_version) +
                               " does not match params._meta protocol version " + version};
  }
  if (version != kStatelessVersion) {
    return EnvelopeRefusal{400,
                           rpc_code::kUnsupportedVersion,
                           "unsupported protocol version " + version +
                               " (without a session warden-mcp speaks " +
                               std::string(kStatelessVersion) + "; the others need initialize)",
                           {{"supported", supported_versions()}, {"requested", version}}};
  }
  return std::nullopt;
}

std::optional<std::string> missing_routing_header(std::string_view mcp_method,
                                                  std::string_view mcp_name, const json& message) {
  if (mcp_method.empty()) return "the Mcp-Method header is required";
  const std::string method = message.value("method", "");
  const char* key = method == "tools/call" || method == "prompts/get" ? "name"
                    : method == "resources/read"                      ? "uri"
                                                                      : nullptr;
  if (key && mcp_name.empty() && message.contains("params") && message["params"].is_object() &&
      message["params"].contains(key)) {
    return std::string("the Mcp-Name header is required (params.") + key + " is set)";
  }
  return std::nullopt;
}

json supported_versions() {
  json versions = json::array({kStatelessVersion});
  for (auto v : kSupportedVersions) versions.push_back(v);
  return versions;
}

bool stateless_method(std::string_view method) {
  return listed(kStatelessMethods, method);
}

json stateless_result(std::string_view method, json result) {
  if (!result.is_object()) return result;
  if (!result.contains("resultType")) result["resultType"] = "complete";
  if (listed(kCachedResults, method)) {
    if (!result.contains("ttlMs")) result["ttlMs"] = 0;
    if (!result.contains("cacheScope")) result["cacheScope"] = "private";
  }
  return result;
}

void strip_envelope(json& params) {
  if (!params.is_object() || !params.contains("_meta") || !params["_meta"].is_object()) return;
  json& meta = params["_meta"];
  for (auto it = meta.begin(); it != meta.end();) {
    if (it.key().rfind("io.modelcontextprotocol/", 0) == 0) {
      it = meta.erase(it);
    } else {
      ++it;
    }
  }
  if (meta.empty()) params.erase("_meta");
}

json envelope_of(const json& params) {
  json envelope = json::object();
  if (!params.is_object() || !params.contains("_meta") || !params["_meta"].is_object()) {
    return envelope;
  }
  for (const auto& [key, value] : params["_meta"].items()) {
    if (key.rfind("io.modelcontextprotocol/", 0) == 0) envelope[key] = value;
  }
  return envelope;
}

bool log_wanted(std::string_view wanted, std::string_view level) {
  auto w = std::find(kLogLevels.begin(), kLogLevels.end(), wanted);
  auto l = std::find(kLogLevels.begin(), kLogLevels.end(), level);
  return w != kLogLevels.end() && l != kLogLevels.end() && l >= w;
}

}  // namespace warden::mcp
