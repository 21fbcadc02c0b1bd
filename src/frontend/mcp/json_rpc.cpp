#include "frontend/mcp/json_rpc.hpp"

#include <limits>
#include <set>

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

namespace {
void replace_nul_in(std::string& s) {
  for (std::size_t at = s.find('\0'); at != std::string::npos; at = s.find('\0', at)) {
    s.replace(at, 1, "\xEF\xBF\xBD");
  }
}
}  // namespace

void replace_nul(json& value) {
  if (value.is_string()) {
    replace_nul_in(value.get_ref<std::string&>());
  } else if (value.is_array()) {
    for (auto& item : value) replace_nul(item);
  } else if (value.is_object()) {
    // Keys cannot be changed in place: the object is rebuilt.
    json clean = json::object();
    for (auto& [key, item] : value.items()) {
      std::string k = key;
      replace_nul_in(k);
      replace_nul(item);
      clean[k] = std::move(item);
    }
    value = std::move(clean);
  }
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

namespace {

// A key as a decoder that matches keys loosely sees it (see has_shadowing_key).
std::string fold(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (key.substr(i, 2) == "\xC5\xBF") {  // U+017F LATIN SMALL LETTER LONG S
      out += 's';
      ++i;
    } else if (key.substr(i, 3) == "\xE2\x84\xAA") {  // U+212A KELVIN SIGN
      out += 'k';
      i += 2;
    } else {
      const char c = key[i];
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  return out;
}

}  // namespace

bool has_folding_keys(const json& value) {
  if (value.is_array()) {
    for (const json& item : value) {
      if (has_folding_keys(item)) return true;
    }
    return false;
  }
  if (!value.is_object()) return false;
  std::set<std::string> seen;
  for (auto it = value.cbegin(); it != value.cend(); ++it) {
    if (!seen.insert(fold(it.key())).second) return true;
    if (has_folding_keys(it.value())) return true;
  }
  return false;
}

std::string arguments_refusal(const json& arguments) {
  if (holds_nul(arguments)) return "an argument holds U+0000";
  if (has_folding_keys(arguments)) {
    // Decided on one key, an upstream that folds keys may run the other.
    return "two keys of one object in the arguments differ only in case (or by a letter that "
           "folds to ASCII)";
  }
  return "";
}

std::string string_member(const json& object, const char* key, std::string fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

bool bool_member(const json& object, const char* key, bool fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

bool has_shadowing_key(const json& object, std::initializer_list<std::string_view> known) {
  if (!object.is_object()) return false;
  for (auto it = object.cbegin(); it != object.cend(); ++it) {
    const std::string& key = it.key();
    bool exact = false;
    for (std::string_view k : known) exact = exact || key == k;
    if (exact) continue;
    const std::string folded = fold(key);
    for (std::string_view k : known) {
      if (folded == fold(k)) return true;
    }
  }
  return false;
}

}  // namespace warden::mcp
