#include "frontend/mcp/json_rpc.hpp"

#include <limits>

#include "core/bounded_json.hpp"

namespace warden::mcp {

namespace {

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

}  // namespace

json parse_message(std::string_view text) {
  auto parsed = parse_json_bounded(text, kMaxMessageDepth, std::numeric_limits<std::size_t>::max());
  return parsed ? std::move(*parsed) : json(json::value_t::discarded);
}

bool holds_nul(const json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (value.is_array()) {
    for (const auto& item : value) {
      if (holds_nul(item)) return true;
    }
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (key.find('\0') != std::string::npos || holds_nul(item)) return true;
    }
  }
  return false;
}

MessageKind classify(const json& message) {
  if (!message.is_object()) return MessageKind::kInvalid;
  auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0") return MessageKind::kInvalid;
  auto method = message.find("method");
  auto id = message.find("id");
  if (method != message.end()) {
    if (!method->is_string()) return MessageKind::kInvalid;
    auto params = message.find("params");
    if (params != message.end() && !params->is_object() && !params->is_array()) {
      return MessageKind::kInvalid;
    }
    if (id == message.end()) return MessageKind::kNotification;
    return valid_id(*id) ? MessageKind::kRequest : MessageKind::kInvalid;
  }
  if (id != message.end() && (message.contains("result") || message.contains("error"))) {
    return MessageKind::kResponse;
  }
  return MessageKind::kInvalid;
}

json rpc_error(const json& id, int code, std::string_view message, const json& data) {
  json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json rpc_result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json reply_from_answer(const json& id, const json& answer) {
  json out = {{"jsonrpc", "2.0"}, {"id", id}};
  if (answer.contains("result")) {
    out["result"] = answer["result"];
  } else {
    out["error"] = answer.value(
        "error", json{{"code", rpc_code::kUpstreamFailed}, {"message", "upstream sent no result"}});
  }
  return out;
}

}  // namespace warden::mcp
