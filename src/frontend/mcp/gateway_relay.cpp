// Gateway: naming and routing, the methods relayed without a decision, and the way back from
// an upstream to the agent (see gateway.hpp).
#include <iostream>

#include "frontend/mcp/gateway.hpp"

namespace warden::mcp {

namespace {

constexpr std::string_view kSeparator = "__";

// "server__name" -> (server, name); false when there is no separator.
bool split_name(const std::string& full, std::string& server, std::string& name) {
  auto at = full.find(kSeparator);
  if (at == std::string::npos || at == 0 || at + kSeparator.size() >= full.size()) return false;
  server = full.substr(0, at);
  name = full.substr(at + kSeparator.size());
  return true;
}

}  // namespace

bool Gateway::resolve_name(const std::string& full, std::string& server, std::string& name) const {
  bool split = split_name(full, server, name);
  if (split && (bare_server_.empty() || upstreams_.has(server))) return true;
  if (bare_server_.empty()) return false;
  server = bare_server_;
  name = full;
  return true;
}

std::string Gateway::shown_name(const std::string& server, const std::string& name) const {
  return server == bare_server_ ? name : server + std::string(kSeparator) + name;
}

awaitable<std::optional<std::string>> Gateway::route_uri(const std::string& uri,
                                                         const Caller& caller) {
  // Routing is not a permission (warden.authorize decides on the read itself), but learning an
  // upstream's resources starts the caller's own session with it (over stdio, a process): only
  // upstreams whose grants could let this caller read the URI are asked, never one it has no
  // business with.
  if (!resource_servers_.count(uri)) {
    std::vector<std::string> wanted{uri};
    for (const auto& server : upstreams_.names()) {
      std::vector<std::string> readable;
      try {
        readable = co_await decisions_.callable(caller.token, server, wanted);
      } catch (const std::exception&) {
        // No answer: this upstream is not asked (the read's own decision fails closed).
      }
      if (readable.empty()) continue;
      try {
        for (const auto& item : co_await collect(server, "resources/list", "resources", caller)) {
          if (item.contains("uri") && item["uri"].is_string())
            resource_servers_[item["uri"]] = server;
        }
      } catch (const UpstreamError&) {
        // An upstream that cannot list now simply routes nothing.
      }
    }
  }
  if (auto it = resource_servers_.find(uri); it != resource_servers_.end()) co_return it->second;
  // Not listed (a URI of a resource template, say): the bare server's, or the only upstream's.
  if (!bare_server_.empty()) co_return bare_server_;
  auto names = upstreams_.names();
  if (names.size() == 1) co_return names.front();
  co_return std::nullopt;
}

MessageSink Gateway::sink_for(const Caller& caller) {
  return [this, to_client = caller.to_client, session = caller.session_id,
          stateless = caller.stateless](const json& message, Answer answer) {
    if (stateless && answer) {
      answer(rpc_error(message["id"], rpc_code::kMethodNotFound,
                       "the agent speaks MCP 2026-07-28, which has no session: warden-mcp puts "
                       "an upstream's requests to it (as input_required) only during a governed "
                       "call (tools/call, prompts/get, resources/read)"));
      return;
    }
    bool standalone = channels_.has_standalone(session);
    if (!answer) {  // a notification
      if (to_client) {
        to_client(message);
      } else if (standalone) {
        channels_.send_standalone(session, message);
      }
      return;
    }
    if (!to_client && !standalone) {
      answer(rpc_error(message["id"], rpc_code::kMethodNotFound,
                       "warden-mcp cannot reach the agent for this request"));
      return;
    }
    std::optional<json> request = channels_.relay_request(session, message, std::move(answer));
    if (!request) return;  // too many waiting: the upstream was answered with an error
    if (to_client) {
      to_client(*request);
    } else if (!channels_.send_standalone(session, *request)) {
      channels_.withdraw((*request)["id"].get<std::string>());
    }
  };
}

awaitable<json> Gateway::relay_plain(const json& id, const std::string& server,
                                     const std::string& method, json params, const Caller& caller) {
  std::shared_ptr<Upstream> upstream;
  std::string no_room;
  try {
    upstream = upstreams_.find(server, caller.agent);
  } catch (const UpstreamError& e) {
    no_room = e.what();
  }
  if (!no_room.empty()) co_return rpc_error(id, rpc_code::kUpstreamFailed, no_room);
  if (!upstream) {
    co_return rpc_error(id, rpc_code::kInvalidParams, "no upstream server named " + server);
  }
  ForwardContext context{
      "", std::nullopt, nullptr, sink_for(caller), relay_key(caller), caller.client_envelope};
  try {
    json answer = co_await upstream->request(method, std::move(params), context);
    co_return reply_from_answer(id, answer);
  } catch (const UpstreamError& e) {
    co_return rpc_error(id, rpc_code::kUpstreamFailed, e.what());
  }
}

awaitable<json> Gateway::set_level(const json& id, const json& params, const Caller& caller) {
  // Every upstream logs at the level asked; one that cannot does not fail the request.
  for (const auto& server : upstreams_.names()) {
    json answer = co_await relay_plain(id, server, "logging/setLevel", params, caller);
    if (answer.contains("error")) {
      std::cerr << "warden-mcp: logging/setLevel of " << server << ": " << answer["error"].dump()
                << "\n";
    }
  }
  co_return rpc_result(id, json::object());
}

awaitable<json> Gateway::complete(const json& id, json params, const Caller& caller) {
  const json& ref = params.value("ref", json::object());
  std::string type = ref.is_object() ? ref.value("type", "") : "";
  std::optional<std::string> server;
  if (type == "ref/prompt" && ref.contains("name") && ref["name"].is_string()) {
    std::string s, name;
    if (resolve_name(ref["name"], s, name)) {
      server = s;
      params["ref"]["name"] = name;
    }
  } else if (type == "ref/resource" && ref.contains("uri") && ref["uri"].is_string()) {
    server = co_await route_uri(ref["uri"], caller);
  }
  if (!server) {
    co_return rpc_error(id, rpc_code::kInvalidParams,
                        "completion/complete: params.ref names no known prompt or resource");
  }
  co_return co_await relay_plain(id, *server, "completion/complete", std::move(params), caller);
}

}  // namespace warden::mcp
