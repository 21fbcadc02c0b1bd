// JSON-RPC message handling of the front-end (src/frontend/mcp/json_rpc.*, plus the routing-header
// rule of net/http_rules.*), walked the way the Streamable HTTP endpoint and the stdio upstream
// walk an incoming body: parse without exceptions, refuse batches, classify, pick params.name or
// params.uri, compare with Mcp-Method/Mcp-Name, split server__tool, build the answer.
// Input: a JSON-RPC body; optionally "\0Mcp-Method\0Mcp-Name" after it.
// Besides crashes, it checks classify's contract (a request has a string method and a string or
// integer id; a response has an id and a result or error) and that every answer warden builds
// is itself a well-formed JSON-RPC response that survives a dump/parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "frontend/net/http_rules.hpp"
#include "frontend/mcp/json_rpc.hpp"

namespace {

using namespace warden::mcp;

void require(bool condition) {
  if (!condition) std::abort();
}

// An answer warden sends must be a response, and stay one after a round trip. Messages may
// echo header bytes that are not UTF-8: the endpoint dumps with replacement (a plain dump()
// throws type_error 316 there, which the fuzzer found), so the round trip is exact only for
// valid text.
void check_answer(const json& answer) {
  require(classify(answer) == MessageKind::kResponse);
  std::string text = answer.dump(-1, ' ', false, json::error_handler_t::replace);
  json again = json::parse(text, nullptr, false);
  require(!again.is_discarded());
  require(classify(again) == MessageKind::kResponse);
  if (answer["id"].is_number_float()) return;  // 1e999 parses to inf, which dumps as null
  require(again["id"] == answer["id"]);
  std::string strict;
  try {
    strict = answer.dump();
  } catch (const json::type_error&) {
    return;  // not UTF-8 somewhere: replaced above
  }
  require(strict == text && again == answer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view body = input.substr(0, input.find('\0'));
  std::string_view mcp_method, mcp_name;
  if (body.size() < input.size()) {
    std::string_view rest = input.substr(body.size() + 1);
    mcp_method = rest.substr(0, rest.find('\0'));
    if (mcp_method.size() < rest.size()) mcp_name = rest.substr(mcp_method.size() + 1);
  }

  json message = parse_message(body);  // as the endpoint and the stdio server do
  if (message.is_discarded()) {
    check_answer(rpc_error(nullptr, rpc_code::kParseError, "parse error"));
    return 0;
  }
  if (message.is_array()) {
    for (const auto& item : message) (void)classify(item);
    return 0;
  }
  MessageKind kind = classify(message);
  switch (kind) {
    case MessageKind::kInvalid: {
      json id = message.is_object() && message.contains("id") ? message["id"] : json(nullptr);
      check_answer(rpc_error(id, rpc_code::kInvalidRequest, "not JSON-RPC"));
      return 0;
    }
    case MessageKind::kResponse:
      require(message.is_object() && message.contains("id"));
      require(message.contains("result") || message.contains("error"));
      return 0;
    case MessageKind::kRequest:
    case MessageKind::kNotification:
      break;
  }
  require(message.is_object() && message["method"].is_string());
  require(message.value("jsonrpc", json()) == "2.0");
  if (kind == MessageKind::kRequest) {
    require(message.contains("id"));
    require(message["id"].is_string() || message["id"].is_number_integer());
  } else {
    require(!message.contains("id"));
  }
  const json& params = message.contains("params") ? message["params"] : json::object();
  require(params.is_object() || params.is_array());
  const std::string* name = nullptr;
  for (const char* key : {"name", "uri"}) {
    if (params.is_object() && params.contains(key) && params[key].is_string()) {
      name = params[key].get_ptr<const std::string*>();
      break;
    }
  }
  const std::string method = message["method"].get<std::string>();
  auto mismatch = header_mismatch(mcp_method, mcp_name, method, name);
  if (mcp_method.empty() && mcp_name.empty()) require(!mismatch);
  if (kind != MessageKind::kRequest) return 0;
  const json& id = message["id"];
  if (mismatch) {
    check_answer(rpc_error(id, rpc_code::kHeaderMismatch, *mismatch));
    return 0;
  }
  // The gateway's split of server__tool: the first "__", both sides non-empty.
  if (name) {
    auto at = name->find("__");
    if (at != std::string::npos && at != 0 && at + 2 < name->size()) {
      std::string server = name->substr(0, at), tool = name->substr(at + 2);
      require(!server.empty() && !tool.empty());
      require(server + "__" + tool == *name);
      require(server.find("__") == std::string::npos);
    }
  }
  json arguments = params.is_object() ? params.value("arguments", json::object()) : json::object();
  check_answer(rpc_result(id, {{"content", {{{"type", "text"}, {"text", arguments.dump()}}}}}));
  check_answer(rpc_error(id, rpc_code::kDenied, "warden denied " + method,
                         {{"reason", "no_grant"}, {"event_id", nullptr}}));
  return 0;
}
