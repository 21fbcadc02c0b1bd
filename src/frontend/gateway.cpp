#include "frontend/gateway.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "frontend/http_rules.hpp"
#include "frontend/random.hpp"

namespace warden::mcp {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxPages = 20;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// W3C trace context: the chain's trace id, a fresh span id, sampled.
std::string traceparent_for(const std::string& trace_id) {
  if (trace_id.size() != 32) return {};
  return "00-" + trace_id + "-" + random_hex(8) + "-01";
}

json decision_context(const json& id, const Caller& caller) {
  return {{"session", caller.session_id},
          {"request_id", id},
          {"protocol_version", caller.protocol_version},
          {"transport", caller.transport}};
}

json unavailable(const json& id, const std::string& why) {
  return rpc_error(id, rpc_code::kDecisionUnavailable,
                   "warden decision service unavailable; nothing was forwarded (" + why + ")");
}

}  // namespace

json Gateway::initialize_result(const json& params) const {
  std::string requested = params.is_object() ? params.value("protocolVersion", "") : "";
  return {{"protocolVersion", negotiate_version(requested)},
          {"capabilities",
           {{"tools", {{"listChanged", false}}},
            {"resources", {{"subscribe", true}}},
            {"prompts", json::object()},
            {"completions", json::object()},
            {"logging", json::object()}}},
          {"serverInfo", {{"name", "warden-mcp"}, {"version", WARDEN_VERSION}}},
          {"instructions",
           "Tools of several upstream servers, named server__tool. Every call is authorized "
           "and audited by warden."}};
}

awaitable<void> Gateway::reload_upstreams() {
  try {
    upstreams_.reload(co_await decisions_.upstreams());
    upstreams_loaded_ = true;
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: cannot read upstreams: " << e.what() << "\n";
  }
}

awaitable<json> Gateway::handle_request(const json& request, const Caller& caller) {
  const json& id = request["id"];
  const std::string method = request["method"];
  json params = request.value("params", json::object());
  if (!params.is_object()) params = json::object();

  if (method == "initialize") co_return rpc_result(id, initialize_result(params));
  if (!upstreams_loaded_) co_await reload_upstreams();
  if (method == "ping") co_return rpc_result(id, json::object());
  if (method == "logging/setLevel") co_return co_await set_level(id, params, caller);
  if (method == "completion/complete") co_return co_await complete(id, std::move(params), caller);
  if (method == "tools/list") co_return co_await list_tools(id, caller);
  if (method == "prompts/list") co_return co_await list_merged(id, "prompts/list", "prompts");
  if (method == "resources/list") co_return co_await list_merged(id, "resources/list", "resources");
  if (method == "resources/templates/list") {
    co_return co_await list_merged(id, "resources/templates/list", "resourceTemplates");
  }
  if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    if (!params.contains("uri") || !params["uri"].is_string()) {
      co_return rpc_error(id, rpc_code::kInvalidParams, "params.uri must be a string");
    }
    auto server = co_await route_uri(id, params["uri"]);
    if (!server) co_return rpc_error(id, rpc_code::kInvalidParams, "resource not found");
    co_return co_await relay_plain(id, *server, method, std::move(params), caller);
  }
  if (method == "tools/call" || method == "prompts/get") {
    if (!params.contains("name") || !params["name"].is_string()) {
      co_return rpc_error(id, rpc_code::kInvalidParams, "params.name must be a string");
    }
    std::string server, name;
    if (!resolve_name(params["name"], server, name)) {
      co_return rpc_error(
          id, rpc_code::kInvalidParams,
          "unknown name " + params["name"].get<std::string>() + " (names are server__name)");
    }
    json arguments = params.value("arguments", json::object());
    params["name"] = name;
    co_return co_await governed_call(id, server, name, method, std::move(params), arguments,
                                     caller);
  }
  if (method == "resources/read") {
    if (!params.contains("uri") || !params["uri"].is_string()) {
      co_return rpc_error(id, rpc_code::kInvalidParams, "params.uri must be a string");
    }
    std::string uri = params["uri"];
    auto server = co_await route_uri(id, uri);
    if (!server) {
      co_return rpc_error(id, rpc_code::kInvalidParams, "resource not found: " + uri,
                          {{"uri", uri}});
    }
    json arguments = {{"uri", uri}};
    co_return co_await governed_call(id, *server, uri, method, std::move(params), arguments,
                                     caller);
  }
  co_return rpc_error(id, rpc_code::kMethodNotFound, "method not found: " + method);
}

awaitable<json> Gateway::collect(const std::string& server, const std::string& method,
                                 const std::string& key) {
  json items = json::array();
  auto upstream = upstreams_.find(server);
  if (!upstream || upstream->refusal(nullptr)) co_return items;
  json params = json::object();
  for (int page = 0; page < kMaxPages; ++page) {
    ForwardContext none;
    json answer = co_await upstream->request(method, params, none);
    if (!answer.contains("result")) break;
    for (const auto& item : answer["result"].value(key, json::array())) items.push_back(item);
    auto cursor = answer["result"].find("nextCursor");
    if (cursor == answer["result"].end() || !cursor->is_string()) break;
    params["cursor"] = *cursor;
  }
  co_return items;
}

awaitable<json> Gateway::list_tools(const json& id, const Caller& caller) {
  json tools = json::array();
  for (const auto& server : upstreams_.names()) {
    json offered;
    try {
      offered = co_await collect(server, "tools/list", "tools");
    } catch (const UpstreamError& e) {
      std::cerr << "warden-mcp: tools/list of " << server << " failed: " << e.what() << "\n";
      continue;
    }
    json visible;
    try {
      visible = co_await decisions_.visible_tools(caller.token, server, offered);
    } catch (const DbUnavailable& e) {
      co_return unavailable(id, e.what());
    } catch (const DbError& e) {
      co_return rpc_error(id, rpc_code::kInternalError, std::string("tools/list: ") + e.what());
    }
    for (auto& tool : visible) {
      tool["name"] = shown_name(server, tool["name"].get<std::string>());
      tools.push_back(std::move(tool));
    }
  }
  co_return rpc_result(id, {{"tools", std::move(tools)}});
}

awaitable<json> Gateway::list_merged(const json& id, const std::string& method,
                                     const std::string& key) {
  json all = json::array();
  for (const auto& server : upstreams_.names()) {
    try {
      for (auto item : co_await collect(server, method, key)) {
        if (key == "resources" && item.contains("uri") && item["uri"].is_string()) {
          resource_servers_[item["uri"]] = server;
        } else if (item.contains("name") && item["name"].is_string()) {
          item["name"] = shown_name(server, item["name"].get<std::string>());
        }
        all.push_back(std::move(item));
      }
    } catch (const UpstreamError& e) {
      std::cerr << "warden-mcp: " << method << " of " << server << " failed: " << e.what() << "\n";
    }
  }
  co_return rpc_result(id, {{key, std::move(all)}});
}

awaitable<void> Gateway::forward(std::shared_ptr<Upstream> upstream, std::string method,
                                 json params, ForwardContext context,
                                 std::shared_ptr<Pending<json>> answer) {
  try {
    answer->set(co_await upstream->request(method, std::move(params), context));
  } catch (const UpstreamError& e) {
    answer->set(json{{"error", {{"code", rpc_code::kUpstreamFailed}, {"message", e.what()}}}});
  }
}

awaitable<void> Gateway::recheck_in_flight() {
  std::vector<std::string> ids;
  for (const auto& [call, flight] : in_flight_) {
    if (!flight.token_id.empty()) ids.push_back(flight.token_id);
  }
  if (ids.empty()) co_return;
  std::vector<std::pair<std::string, std::string>> dead;
  try {
    dead = co_await decisions_.dead_tokens(ids);
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: cannot re-check calls in flight: " << e.what() << "\n";
    co_return;
  }
  for (const auto& [token_id, reason] : dead) {
    for (auto& [call, flight] : in_flight_) {
      if (flight.token_id != token_id) continue;
      if (flight.cancel && flight.cancel->cancel) flight.cancel->cancel("warden: " + reason);
      flight.answer->set(json{{"revoked", reason}});
    }
  }
}

void Gateway::revoked(const json& event) {
  std::string kind = event.value("kind", "");
  std::string chain = event.contains("chain_id") && event["chain_id"].is_string()
                          ? event["chain_id"].get<std::string>()
                          : "";
  std::string agent = event.contains("agent") && event["agent"].is_string()
                          ? event["agent"].get<std::string>()
                          : "";
  json ids = event.value("token_ids", json::array());
  if (!ids.is_array()) ids = json::array();
  // The payload lists at most 100 token ids: beyond that, match the whole chain.
  bool truncated = event.value("token_count", 0) > static_cast<int>(ids.size());
  for (auto& [call, flight] : in_flight_) {
    bool hit = (kind == "chain" && !chain.empty() && flight.chain_id == chain) ||
               (kind == "agent" && !agent.empty() && flight.agent == agent) ||
               (!flight.token_id.empty() &&
                std::find(ids.begin(), ids.end(), flight.token_id) != ids.end()) ||
               (truncated && !chain.empty() && flight.chain_id == chain);
    if (!hit) continue;
    std::string reason = kind + "_revoked";
    if (flight.cancel && flight.cancel->cancel) flight.cancel->cancel("warden: " + reason);
    flight.answer->set(json{{"revoked", reason}});
  }
}

awaitable<json> Gateway::governed_call(const json& id, const std::string& server,
                                       const std::string& target, const std::string& method,
                                       json params, const json& arguments, const Caller& caller) {
  std::string shown = method == "resources/read" ? target : shown_name(server, target);
  auto started = Clock::now();
  Decision decision;
  try {
    decision = co_await decisions_.authorize(caller.token, server, target, arguments,
                                             decision_context(id, caller));
  } catch (const DbUnavailable& e) {
    metrics_.count_decision("unavailable");
    co_return unavailable(id, e.what());
  } catch (const DbError& e) {
    metrics_.count_decision("unavailable");
    int code =
        e.sqlstate().rfind("22", 0) == 0 ? rpc_code::kInvalidParams : rpc_code::kInternalError;
    co_return rpc_error(id, code, "warden could not decide on " + shown + ": " + e.what(),
                        {{"sqlstate", e.sqlstate()}});
  }
  metrics_.decision_latency().observe(seconds_since(started));
  if (!decision.allowed) {
    metrics_.count_decision("denied");
    co_return rpc_error(id, rpc_code::kDenied, "warden denied " + shown + ": " + decision.reason,
                        {{"reason", decision.reason},
                         {"event_id", decision.event_id},
                         {"trace_id", decision.trace_id}});
  }
  metrics_.count_decision(decision.reason.rfind("observe:", 0) == 0 ? "observe" : "allowed");

  auto upstream = upstreams_.find(server);
  if (upstream) {
    if (auto refused = upstream->refusal(decision.credential)) {
      std::cerr << "warden-mcp: refused a call to " << shown << " (event " << decision.event_id
                << "): " << *refused << "\n";
      asio::co_spawn(ex_, record_outcome(decision.event_id, "error", {{"error", *refused}}),
                     asio::detached);
      co_return rpc_error(
          id, rpc_code::kDenied, "warden denied " + shown + ": " + *refused,
          {{"reason", *refused}, {"event_id", decision.event_id}, {"trace_id", decision.trace_id}});
    }
  }

  std::string traceparent = traceparent_for(decision.trace_id);
  if (!params.contains("_meta") || !params["_meta"].is_object()) params["_meta"] = json::object();
  if (!traceparent.empty()) params["_meta"]["traceparent"] = traceparent;

  json answer;
  auto forwarded = Clock::now();
  if (!upstream) {
    answer = {{"error",
               {{"code", rpc_code::kUpstreamFailed},
                {"message", "no upstream named " + server + " is configured in this gateway"}}}};
  } else {
    auto slot = std::make_shared<Pending<json>>(ex_);
    auto hook = std::make_shared<CancelHook>();
    std::uint64_t call = next_call_++;
    in_flight_[call] = InFlight{decision.chain_id, decision.agent, caller.token_id, slot, hook};
    metrics_.call_started();
    asio::co_spawn(
        ex_,
        forward(upstream, method, std::move(params),
                ForwardContext{traceparent, decision.credential, hook, sink_for(caller)}, slot),
        asio::detached);
    auto got = co_await slot->wait(call_timeout_);
    in_flight_.erase(call);
    metrics_.call_finished();
    if (got) {
      answer = std::move(*got);
    } else {
      if (hook->cancel) hook->cancel("warden: timeout");
      answer = {{"timeout", true},
                {"error",
                 {{"code", rpc_code::kUpstreamFailed},
                  {"message", "upstream " + server + " did not answer in time"}}}};
    }
  }
  double upstream_seconds = seconds_since(forwarded);
  metrics_.upstream_latency().observe(upstream_seconds);

  std::string status = "error";
  if (answer.contains("timeout")) {
    status = "timeout";
    answer.erase("timeout");
  } else if (answer.contains("revoked")) {
    std::string reason = answer["revoked"];
    status = "revoked";
    answer = {{"error",
               {{"code", rpc_code::kDenied},
                {"message", "warden revoked " + shown + " while it ran: " + reason},
                {"data", {{"reason", reason}, {"event_id", decision.event_id}}}}}};
  } else if (answer.contains("result") &&
             !(answer["result"].is_object() && answer["result"].value("isError", false))) {
    status = "ok";
  }
  bool ok = status == "ok";
  json detail = {{"duration_ms", static_cast<long long>(upstream_seconds * 1000)},
                 {"method", method}};
  if (answer.contains("error")) detail["error"] = answer["error"].value("message", "");
  if (answer.contains("result") && !ok) detail["is_error"] = true;
  asio::co_spawn(ex_, record_outcome(decision.event_id, status, std::move(detail)), asio::detached);
  co_return reply_from_answer(id, answer);
}

awaitable<void> Gateway::record_outcome(std::string event_id, std::string status, json detail) {
  try {
    co_await decisions_.complete(event_id, status, detail);
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: cannot record the outcome of " << event_id << ": " << e.what()
              << "\n";
  }
}

}  // namespace warden::mcp
