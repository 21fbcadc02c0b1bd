#include "frontend/pdp/authzen_request.hpp"

#include <set>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::pdp {

namespace {

// A required member that must be a non-empty string.
std::string required_string(const json& object, const char* entity, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw RequestError(std::string(entity) + "." + key + " must be a non-empty string");
  }
  return it->get<std::string>();
}

const json& required_object(const json& value, const char* entity) {
  if (!value.is_object()) throw RequestError(std::string(entity) + " must be a JSON object");
  return value;
}

ToolCall read_tuple(const json* subject, const json* action, const json* resource,
                    const json* context) {
  if (!subject) throw RequestError("subject is required ({\"type\": ..., \"id\": <task token>})");
  if (!action) throw RequestError("action is required ({\"name\": \"tools/call\"})");
  if (!resource)
    throw RequestError("resource is required ({\"type\": \"tool\", \"id\": \"server/tool\"})");
  ToolCall call;
  required_string(required_object(*subject, "subject"), "subject", "type");
  call.token = required_string(*subject, "subject", "id");
  std::string name = required_string(required_object(*action, "action"), "action", "name");
  if (name != kAction) {
    throw RequestError(
        "action.name must be \"tools/call\" (the only action warden decides), not \"" + name +
        "\"");
  }
  std::string type = required_string(required_object(*resource, "resource"), "resource", "type");
  if (type != kResourceType) {
    throw RequestError("resource.type must be \"tool\", not \"" + type + "\"");
  }
  std::string id = required_string(*resource, "resource", "id");
  auto slash = id.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == id.size()) {
    throw RequestError("resource.id must be \"server/tool\"");
  }
  call.server = id.substr(0, slash);
  call.tool = id.substr(slash + 1);
  if (context && !context->is_null()) {
    required_object(*context, "context");
    for (const auto& [key, value] : context->items()) {
      if (key == "arguments") {
        if (!value.is_object()) throw RequestError("context.arguments must be a JSON object");
        call.arguments = value;
      } else {
        call.pep_context[key] = value;
      }
    }
  }
  return call;
}

const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

const char* to_string(Semantic semantic) {
  switch (semantic) {
    case Semantic::kExecuteAll:
      return "execute_all";
    case Semantic::kDenyOnFirstDeny:
      return "deny_on_first_deny";
    case Semantic::kPermitOnFirstPermit:
      return "permit_on_first_permit";
  }
  return "execute_all";
}

ToolCall parse_evaluation(const json& body) {
  if (!body.is_object()) throw RequestError("the body must be a JSON object");
  return read_tuple(member(body, "subject"), member(body, "action"), member(body, "resource"),
                    member(body, "context"));
}

Evaluations parse_evaluations(const json& body) {
  if (!body.is_object()) throw RequestError("the body must be a JSON object");
  Evaluations out;
  if (const json* options = member(body, "options")) {
    if (!options->is_object()) throw RequestError("options must be a JSON object");
    if (const json* semantic = member(*options, "evaluations_semantic")) {
      if (*semantic == "execute_all") {
        out.semantic = Semantic::kExecuteAll;
      } else if (*semantic == "deny_on_first_deny") {
        out.semantic = Semantic::kDenyOnFirstDeny;
      } else if (*semantic == "permit_on_first_permit") {
        out.semantic = Semantic::kPermitOnFirstPermit;
      } else {
        throw RequestError(
            "options.evaluations_semantic must be execute_all, deny_on_first_deny or "
            "permit_on_first_permit");
      }
    }
  }
  const json* items = member(body, "evaluations");
  if (items && !items->is_array()) throw RequestError("evaluations must be a JSON array");
  if (!items || items->empty()) {
    out.single = true;
    out.items.emplace_back(parse_evaluation(body));
    return out;
  }
  if (items->size() > kMaxEvaluations) {
    throw RequestError("at most " + std::to_string(kMaxEvaluations) +
                       " evaluations per request (split the batch)");
  }
  const json* defaults[] = {member(body, "subject"), member(body, "action"),
                            member(body, "resource"), member(body, "context")};
  const char* keys[] = {"subject", "action", "resource", "context"};
  for (const json& item : *items) {
    if (!item.is_object()) {
      out.items.emplace_back(EvaluationError{400, "an evaluation must be a JSON object"});
      continue;
    }
    const json* tuple[4];
    for (int i = 0; i < 4; ++i) {
      const json* own = member(item, keys[i]);
      tuple[i] = own ? own : defaults[i];
    }
    try {
      out.items.emplace_back(read_tuple(tuple[0], tuple[1], tuple[2], tuple[3]));
    } catch (const RequestError& e) {
      out.items.emplace_back(EvaluationError{400, e.what()});
    }
  }
  return out;
}

ExtAuthzCheck ext_authz_check(const std::string& method, const std::string& body) {
  // Default deny: only what carries no call through is allowed undecided.
  if (method == "GET" || method == "DELETE") {  // the event stream; the end of a session
    if (body.empty()) return ExtAuthzAllow{};
    return ExtAuthzDeny{"GET and DELETE carry no body"};
  }
  if (method != "POST") return ExtAuthzDeny{"only POST, GET and DELETE reach an MCP endpoint"};
  json message = mcp::parse_message(body);
  if (message.is_discarded()) return ExtAuthzDeny{"the body is not JSON"};
  if (!message.is_object()) return ExtAuthzDeny{"only single JSON-RPC messages are allowed"};
  // "Method" next to (or instead of) "method": an upstream that folds key case would run what
  // was never decided here.
  if (mcp::has_shadowing_key(message, {"jsonrpc", "id", "method", "params", "result", "error"})) {
    return ExtAuthzDeny{"a key differs from a JSON-RPC member only in case"};
  }
  auto method_it = message.find("method");
  if (method_it == message.end()) {
    // A response to a server's request: an id and a result or an error, nothing to decide.
    if (message.contains("id") && (message.contains("result") || message.contains("error"))) {
      return ExtAuthzAllow{};
    }
    return ExtAuthzDeny{"a message without a method must be a response"};
  }
  if (!method_it->is_string()) return ExtAuthzDeny{"method must be a string"};
  const std::string& name_of_method = method_it->get_ref<const std::string&>();
  if (name_of_method != "tools/call" && name_of_method != "prompts/get") {
    // What carries no call: session set-up, lists, notifications. resources/read (and
    // subscribe, completion) name a URI or a prompt this decision point cannot route to a
    // server: they are refused here; govern them through warden-mcp's own /mcp.
    static const std::set<std::string, std::less<>> kUndecided = {
        "initialize",      "ping",           "tools/list",
        "prompts/list",    "resources/list", "resources/templates/list",
        "logging/setLevel"};
    if (kUndecided.contains(name_of_method) || name_of_method.rfind("notifications/", 0) == 0) {
      return ExtAuthzAllow{};
    }
    return ExtAuthzDeny{name_of_method + " is not decided here; it is refused"};
  }
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) {
    return ExtAuthzDeny{name_of_method + " needs params"};
  }
  if (mcp::has_shadowing_key(*params, {"name", "arguments", "_meta"})) {
    return ExtAuthzDeny{"a key of params differs from name, arguments or _meta only in case"};
  }
  auto name = params->find("name");
  if (name == params->end() || !name->is_string()) {
    return ExtAuthzDeny{name_of_method + " needs params.name"};
  }
  const std::string& full = name->get_ref<const std::string&>();
  auto split = full.find("__");
  if (split == std::string::npos || split == 0 || split + 2 >= full.size()) {
    return ExtAuthzDeny{"tool names are server__tool"};
  }
  ExtAuthzDecide decide{full.substr(0, split), full.substr(split + 2), json::object()};
  auto arguments = params->find("arguments");
  if (arguments != params->end() && !arguments->is_null()) {
    if (!arguments->is_object()) return ExtAuthzDeny{"params.arguments must be an object"};
    decide.arguments = *arguments;
  }
  return decide;
}

}  // namespace warden::pdp
