#include "frontend/mcp/gateway.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "core/control_characters.hpp"
#include "frontend/net/http_rules.hpp"
#include "frontend/base/random.hpp"
#include "frontend/net/stateless_envelope.hpp"
#include "frontend/upstream/stateless_upstream.hpp"

namespace warden::mcp {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxPages = 20;
// How often a tool an agent names but the upstream's last listing lacked is listed for again.
constexpr auto kRelistAfter = std::chrono::seconds(10);

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// W3C trace context: the chain's trace id, a fresh span id, sampled.
std::string traceparent_for(const std::string& trace_id) {
  if (trace_id.size() != 32) return {};
  return "00-" + trace_id + "-" + random_hex(8) + "-01";
}

json decision_context(const json& id, const Caller& caller) {
  json context = {{"session", caller.session_id},
                  {"request_id", id},
                  {"protocol_version", caller.protocol_version},
                  {"transport", caller.transport}};
  if (!caller.dpop_jkt.empty()) context["dpop_jkt"] = caller.dpop_jkt;
  if (!caller.traceparent.empty()) context["traceparent"] = caller.traceparent;
  return context;
}

// An upstream's answer standing for a call that got no response of its own.
json upstream_failed(const std::string& message) {
  return {{"error", {{"code", rpc_code::kUpstreamFailed}, {"message", message}}}};
}

json unavailable(const json& id, const std::string& why) {
  return rpc_error(id, rpc_code::kDecisionUnavailable,
                   "warden decision service unavailable; nothing was forwarded (" + why + ")");
}

}  // namespace

json Gateway::initialize_result(const json& params) const {
  std::string requested = string_member(params, "protocolVersion");
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

namespace {

// Counts one open request in `count` for as long as it lives.
class OpenRequest {
 public:
  explicit OpenRequest(std::shared_ptr<std::size_t> count) : count_(std::move(count)) { ++*count_; }
  ~OpenRequest() { --*count_; }
  OpenRequest(const OpenRequest&) = delete;
  OpenRequest& operator=(const OpenRequest&) = delete;

 private:
  std::shared_ptr<std::size_t> count_;
};

}  // namespace

json Gateway::shutting_down(const json& id, const std::string& what) {
  return rpc_error(id, rpc_code::kDecisionUnavailable, "warden-mcp is shutting down; " + what,
                   {{"reason", "shutting_down"}});
}

awaitable<json> Gateway::handle_request(const json& request, const Caller& caller) {
  const json& id = request["id"];
  const std::string method = request["method"];
  if (closing_ && method != "ping") co_return shutting_down(id, "nothing was forwarded");
  const OpenRequest open(requests_open_);
  json params = request.value("params", json::object());
  if (!params.is_object()) params = json::object();

  if (method == "initialize") co_return rpc_result(id, initialize_result(params));
  if (!upstreams_loaded_) co_await reload_upstreams();
  if (method == "ping") co_return rpc_result(id, json::object());
  // tools/call, prompts/get and resources/read are decided by warden.authorize; everything
  // else is relayed or listed for the session, so its token must still be live.
  if (method != "tools/call" && method != "prompts/get" && method != "resources/read") {
    if (auto refused = co_await refuse_dead_session(id, caller)) co_return std::move(*refused);
  }
  if (method == "logging/setLevel") co_return co_await set_level(id, params, caller);
  if (method == "completion/complete") co_return co_await complete(id, std::move(params), caller);
  if (method == "tools/list") co_return co_await list_tools(id, caller);
  if (method == "prompts/list") {
    co_return co_await list_merged(id, "prompts/list", "prompts", caller);
  }
  if (method == "resources/list") {
    co_return co_await list_merged(id, "resources/list", "resources", caller);
  }
  if (method == "resources/templates/list") {
    co_return co_await list_merged(id, "resources/templates/list", "resourceTemplates", caller);
  }
  if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    if (!params.contains("uri") || !params["uri"].is_string()) {
      co_return rpc_error(id, rpc_code::kInvalidParams, "params.uri must be a string");
    }
    auto server = co_await route_uri(params["uri"], caller);
    if (!server) co_return rpc_error(id, rpc_code::kInvalidParams, "resource not found");
    co_return co_await relay_plain(id, *server, method, std::move(params), caller);
  }
  if (method == "tools/call" || method == "prompts/get") {
    if (!params.contains("name") || !params["name"].is_string()) {
      co_return rpc_error(id, rpc_code::kInvalidParams, "params.name must be a string");
    }
    // A NUL would end the name early in C strings (decided as "echo", sent as "echo\0x").
    if (has_control_characters(params["name"].get_ref<const std::string&>())) {
      co_return rpc_error(id, rpc_code::kInvalidParams,
                          "params.name must not contain control characters");
    }
    // "Arguments" next to "arguments": decided on one, an upstream may run the other.
    if (has_shadowing_key(params, {"name", "arguments", "_meta"})) {
      co_return rpc_error(id, rpc_code::kInvalidParams,
                          "params has a key that differs from name, arguments or _meta only in "
                          "case (or by a letter that folds to ASCII)");
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
    if (has_shadowing_key(params, {"uri", "_meta"})) {
      co_return rpc_error(id, rpc_code::kInvalidParams,
                          "params has a key that differs from uri or _meta only in case");
    }
    std::string uri = params["uri"];
    auto server = co_await route_uri(uri, caller);
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
                                 const std::string& key, const Caller& caller) {
  json items = json::array();
  auto upstream = upstreams_.find(server, caller.agent);
  if (!upstream || upstream->refusal(std::nullopt)) co_return items;
  json params = json::object();
  for (int page = 0; page < kMaxPages; ++page) {
    // A stateless agent lists in its own revision (an upstream may offer each revision other
    // tools, and only 2026-07-28's carry what its calls need, e.g. x-mcp-header marks).
    ForwardContext listing;
    listing.agent_envelope = caller.client_envelope;
    json answer = co_await upstream->request(method, params, listing);
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
      offered = co_await collect(server, "tools/list", "tools", caller);
    } catch (const UpstreamError& e) {
      std::cerr << "warden-mcp: tools/list of " << server << " failed: " << e.what() << "\n";
      continue;
    }
    learn_param_headers(server, offered, caller.stateless);
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

void Gateway::learn_param_headers(const std::string& server, json& offered, bool remember) {
  // The marks belong to 2026-07-28; a session agent's listing is left as it was.
  if (!remember) return;
  std::map<std::string, std::vector<ParamHeader>> learned;
  json kept = json::array();
  for (auto& tool : offered) {
    if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
    auto declarations = param_header_declarations(tool.value("inputSchema", json::object()));
    if (!declarations) {
      std::cerr << "warden-mcp: left out tool " << tool["name"].get<std::string>().substr(0, 128)
                << " of " << server << ": its inputSchema has an invalid x-mcp-header\n";
      continue;
    }
    // Every listed tool is kept (marks or none): a tool not in the map is one to list again for.
    learned[tool["name"].get<std::string>()] = std::move(*declarations);
    kept.push_back(std::move(tool));
  }
  offered = std::move(kept);
  // An empty listing may be a failure (collect gives up quietly): it teaches nothing.
  if (!learned.empty()) param_headers_[server] = std::move(learned);
}

awaitable<std::vector<ParamHeader>> Gateway::param_headers_of(const std::string& full_name,
                                                              const Caller& caller) {
  std::vector<ParamHeader> none;
  std::string server, name;
  if (!resolve_name(full_name, server, name)) co_return none;
  auto known = param_headers_.find(server);
  const bool listed = known != param_headers_.end() && known->second.count(name);
  auto& last = param_listed_at_[server];
  // Not listed yet (or a tool the last listing did not have): listed again, at most every
  // kRelistAfter per server, so naming unknown tools cannot make warden-mcp hammer an upstream.
  if (!listed && (last == Clock::time_point{} || Clock::now() - last > kRelistAfter)) {
    last = Clock::now();
    std::vector<std::string> wanted{name};
    std::vector<std::string> callable;
    try {
      callable = co_await decisions_.callable(caller.token, server, wanted);
    } catch (const std::exception&) {
      // No answer: nothing is learned now (the call's own decision fails closed).
    }
    if (callable.empty()) co_return none;
    json offered;
    try {
      offered = co_await collect(server, "tools/list", "tools", caller);
    } catch (const UpstreamError&) {
      co_return none;
    }
    learn_param_headers(server, offered, true);
  }
  known = param_headers_.find(server);
  if (known == param_headers_.end()) co_return none;
  auto tool = known->second.find(name);
  if (tool == known->second.end()) co_return none;
  co_return tool->second;
}

awaitable<json> Gateway::list_merged(const json& id, const std::string& method,
                                     const std::string& key, const Caller& caller) {
  // What names an item for its decision: prompts/get decides on the prompt's name,
  // resources/read on the URI (a template's URI pattern stands for the URIs it makes).
  const char* name_field = key == "resources"           ? "uri"
                           : key == "resourceTemplates" ? "uriTemplate"
                                                        : "name";
  json all = json::array();
  for (const auto& server : upstreams_.names()) {
    json offered;
    try {
      offered = co_await collect(server, method, key, caller);
    } catch (const UpstreamError& e) {
      std::cerr << "warden-mcp: " << method << " of " << server << " failed: " << e.what() << "\n";
      continue;
    }
    std::vector<std::string> names;
    for (const auto& item : offered) {
      if (item.contains(name_field) && item[name_field].is_string()) {
        names.push_back(item[name_field].get<std::string>());
      }
    }
    std::vector<std::string> usable;
    try {
      usable = co_await decisions_.callable(caller.token, server, names);
    } catch (const DbUnavailable& e) {
      co_return unavailable(id, e.what());
    } catch (const DbError& e) {
      co_return rpc_error(id, rpc_code::kInternalError, method + ": " + e.what());
    }
    for (auto item : offered) {
      if (!item.contains(name_field) || !item[name_field].is_string() ||
          std::find(usable.begin(), usable.end(), item[name_field].get<std::string>()) ==
              usable.end()) {
        continue;
      }
      if (key == "resources") {
        resource_servers_[item["uri"]] = server;
      } else if (item.contains("name") && item["name"].is_string()) {
        item["name"] = shown_name(server, item["name"].get<std::string>());
      }
      all.push_back(std::move(item));
    }
  }
  co_return rpc_result(id, {{key, std::move(all)}});
}

awaitable<std::optional<json>> Gateway::refuse_dead_session(const json& id, const Caller& caller) {
  std::optional<json> refusal;
  if (caller.token_id.empty()) co_return refusal;
  auto now = Clock::now();
  auto known = live_until_.find(caller.token_id);
  if (known != live_until_.end() && known->second > now) co_return refusal;
  std::vector<std::pair<std::string, std::string>> dead;
  std::string unreachable;
  std::vector<std::string> ids(1, caller.token_id);
  try {
    dead = co_await decisions_.dead_tokens(ids);
  } catch (const std::exception& e) {
    unreachable = e.what();
  }
  if (!unreachable.empty()) {
    refusal = unavailable(id, unreachable);
    co_return refusal;
  }
  if (!dead.empty()) {
    live_until_.erase(caller.token_id);
    const std::string reason = dead.front().second;
    json data = json::object();
    data["reason"] = reason;
    refusal = rpc_error(
        id, rpc_code::kDenied,
        "warden denied the request: the session's token is no longer valid (" + reason + ")", data);
    co_return refusal;
  }
  if (live_until_.size() > 10000) live_until_.clear();
  live_until_[caller.token_id] = now + std::chrono::seconds(1);
  co_return refusal;
}

awaitable<void> Gateway::forward(std::shared_ptr<Upstream> upstream, std::string method,
                                 json params, ForwardContext context,
                                 std::shared_ptr<Pending<CallEnd>> end) {
  std::string failure;
  try {
    json answer = co_await upstream->request(method, std::move(params), context);
    end->set(Answered{std::move(answer)});
  } catch (const UpstreamError& e) {
    failure = e.what();
  }
  if (!failure.empty()) end->set(UpstreamFailed{std::move(failure)});
}

awaitable<void> Gateway::recheck_in_flight() {
  ++rechecks_begun_;    // before the first suspension: see governed_call
  live_until_.clear();  // sessions ask again on their next request
  std::vector<std::string> ids;
  for (const auto& [call, flight] : in_flight_) {
    if (!flight.token_id.empty()) ids.push_back(flight.token_id);
  }
  if (ids.empty()) co_return;
  std::vector<std::pair<std::string, std::string>> dead;
  try {
    dead = co_await decisions_.dead_in_flight(ids);
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: cannot re-check calls in flight: " << e.what() << "\n";
    co_return;
  }
  for (const auto& [token_id, reason] : dead) {
    for (auto& [call, flight] : in_flight_) {
      if (flight.token_id != token_id) continue;
      if (flight.cancel && flight.cancel->cancel) {
        flight.cancel->cancel("warden: " + reason);
      } else if (flight.cancel) {
        flight.cancel->ended_before_sent = reason;
      }
      flight.end->set(Revoked{reason});
    }
  }
}

awaitable<void> Gateway::recheck_before_sending(const RunningCall& running) {
  std::string reason;
  const std::vector<std::string> ids{running.token_id};  // a local: GCC 12 and co_await
  try {
    std::vector<std::pair<std::string, std::string>> dead = co_await decisions_.dead_in_flight(ids);
    for (const auto& [token_id, why] : dead) {
      if (token_id == running.token_id) reason = why;
    }
  } catch (const std::exception& e) {
    // Fails closed: a revocation was announced and the database cannot say whose.
    reason = std::string("not re-checked after a revocation notice: ") + e.what();
  }
  if (reason.empty()) co_return;
  // As a re-check of a call in flight does: never sent, ends as revoked.
  if (running.cancel->ended_before_sent.empty()) running.cancel->ended_before_sent = reason;
  running.end->set(Revoked{reason});
}

json Gateway::calls_in_flight() const {
  json calls = json::array();
  for (const auto& [call, flight] : in_flight_) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(flight.started.time_since_epoch())
            .count();
    calls.push_back({{"call", call},
                     {"event_id", flight.event_id},
                     {"chain_id", flight.chain_id},
                     {"agent", flight.agent},
                     {"token_id", flight.token_id},
                     {"server", flight.server},
                     {"tool", flight.tool},
                     {"started_ms", ms}});
  }
  return calls;
}

bool Gateway::cancel_request(const Caller& caller, const json& request_id,
                             const std::string& reason) {
  std::string key = request_key(caller, request_id);
  bool found = false;
  for (auto& [call, flight] : in_flight_) {
    if (flight.request != key) continue;
    found = true;
    if (flight.cancel && flight.cancel->cancel) {
      flight.cancel->cancel("warden: " + reason);
    } else if (flight.cancel) {
      flight.cancel->ended_before_sent = reason;
    }
    flight.end->set(Cancelled{reason});
  }
  return found;
}

awaitable<json> Gateway::governed_call(const json& id, const std::string& server,
                                       const std::string& target, const std::string& method,
                                       json params, const json& arguments, const Caller& caller) {
  // A stateless agent's retry of a call that waits for its input continues that call: it was
  // decided and is running upstream; deciding it again would run it twice.
  if (caller.stateless) {
    auto state = params.find("requestState");
    if (state != params.end() && state->is_string() &&
        state->get_ref<const std::string&>().rfind(kParkedStatePrefix, 0) == 0) {
      co_return co_await resume_parked(id, state->get<std::string>(), server, method, target,
                                       arguments, params, caller);
    }
  }
  std::string shown = method == "resources/read" ? target : shown_name(server, target);
  auto started = Clock::now();
  const std::string credential_kind = upstreams_.credential_kind(server);
  Decision decision;
  // For an upstream that takes a credential, the credential is asked for in the same round
  // trip as the decision (it is vended only once the decision has committed).
  std::optional<std::optional<Credential>> prefetched;
  // Set once a held call's approval has committed: the next decision consumes it.
  std::string approval_id;
  const std::uint64_t rechecks_before_decision = rechecks_begun_;
  for (;;) {
    try {
      // Locals, not temporaries, across the co_await (GCC 12 mishandles a conditional's
      // temporary that lives through a suspension).
      json context = decision_context(id, caller);
      if (!approval_id.empty()) context["approval_id"] = approval_id;
      json decided_arguments = arguments;
      if (std::string refusal = arguments_refusal(arguments); !refusal.empty()) {
        context["arguments_error"] = std::move(refusal);
        decided_arguments = json::object();
      }
      // A call this host will refuse after the decision (see below) is decided without the
      // pipelined credential: nothing is vended for a call that cannot go out.
      bool refused_here = credential_kind != "none" &&
                          upstreams_.refusal_before_decision(server, caller.agent, credential_kind);
      if (credential_kind != "none" && !refused_here) {
        // Minted inside the decision's transaction, handed out once it has committed.
        context["credential"] = "with_decision";
        DecisionWithCredential both = co_await decisions_.authorize_with_credential(
            caller.token, server, target, decided_arguments, context);
        decision = std::move(both.decision);
        prefetched = std::move(both.credential);
      } else {
        decision =
            co_await decisions_.authorize(caller.token, server, target, decided_arguments, context);
      }
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
    if (!decision.allowed && decision.reason == "approval_required" && approval_id.empty()) {
      Held held = co_await hold_for_approval(decision.event_id, params, caller);
      if (held.state == "approved") {
        approval_id = held.approval_id;
        continue;
      }
      metrics_.count_decision("denied");
      json data = {{"reason", held.state == "not_held" ? std::string("approval_required")
                                                       : "approval_" + held.state},
                   {"event_id", decision.event_id},
                   {"trace_id", decision.trace_id}};
      if (!held.approval_id.empty()) {
        data["approval_id"] = held.approval_id;
        data["approval_url"] = held.url;
      }
      std::string why = held.state == "not_held"  ? "a person must approve this call first"
                        : held.state == "timeout" ? "no one approved it in time"
                                                  : "the approval was " + held.state;
      std::string message = "warden denied " + shown;
      message += ": approval_required (" + why;
      if (!held.url.empty()) message += "; approve at " + held.url;
      message += ")";
      co_return rpc_error(id, rpc_code::kDenied, message, data);
    }
    break;
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

  // This host's own refusals come before any credential is used: a stand-in says whether the
  // call would carry one (a prefetched credential of a refused call is dropped unsent).
  // The agent's own session with the upstream (its own child process over stdio).
  std::shared_ptr<Upstream> upstream;
  std::string no_room;
  try {
    upstream = upstreams_.find(server, decision.agent);
  } catch (const UpstreamError& e) {
    no_room = e.what();
  }
  if (!no_room.empty()) {
    json outcome = json::object();
    outcome["error"] = no_room;
    spawn_outcome(decision.event_id, "error", std::move(outcome));
    co_return rpc_error(id, rpc_code::kUpstreamFailed, no_room);
  }
  if (upstream) {
    std::optional<Credential> would_carry;
    if (credential_kind != "none") {
      would_carry = Credential{credential_kind, "", "", "(vended after this check)"};
    }
    if (auto refused = upstream->refusal(would_carry)) {
      std::cerr << "warden-mcp: refused a call to " << shown << " (event " << decision.event_id
                << "): " << *refused << "\n";
      json outcome = json::object();
      outcome["error"] = *refused;
      spawn_outcome(decision.event_id, "error", std::move(outcome));
      json data = json::object();
      data["reason"] = *refused;
      data["event_id"] = decision.event_id;
      data["trace_id"] = decision.trace_id;
      co_return rpc_error(id, rpc_code::kDenied, "warden denied " + shown + ": " + *refused, data);
    }
  }

  std::string traceparent = traceparent_for(decision.trace_id);
  if (!params.contains("_meta") || !params["_meta"].is_object()) params["_meta"] = json::object();
  if (!traceparent.empty()) params["_meta"]["traceparent"] = traceparent;

  // The credential comes only now, for the committed decision (warden.credential): a
  // decision that did not commit never yields one.
  std::optional<Credential> credential;
  std::string refused_credential;
  bool credential_refused = false;
  if (upstream && credential_kind != "none") {
    try {
      if (prefetched) {
        credential = std::move(*prefetched);
      } else {
        credential = co_await decisions_.credential(decision.event_id);
      }
    } catch (const std::exception& e) {
      metrics_.count_decision("denied");
      refused_credential = e.what();
      credential_refused = true;
    }
    if (credential_refused) {
      json outcome = json::object();
      outcome["error"] = "credential_unavailable";
      outcome["detail"] = refused_credential;
      spawn_outcome(decision.event_id, "error", std::move(outcome));
      json data = json::object();
      data["reason"] = "credential_unavailable";
      data["event_id"] = decision.event_id;
      data["trace_id"] = decision.trace_id;
      co_return rpc_error(id, rpc_code::kDenied,
                          "warden denied " + shown + ": credential_unavailable", data);
    }
  }

  if (!upstream) {
    json detail = {{"duration_ms", 0}, {"method", method}};
    json answer = upstream_failed("no upstream named " + server + " is configured in this gateway");
    detail["error"] = answer["error"]["message"];
    spawn_outcome(decision.event_id, "error", std::move(detail));
    co_return reply_from_answer(id, answer);
  }
  RunningCall running;
  running.call = next_call_++;
  running.end = std::make_shared<Pending<CallEnd>>(ex_);
  running.cancel = std::make_shared<CancelHook>();
  running.event_id = decision.event_id;
  running.shown = shown;
  running.server = server;
  running.method = method;
  running.target = target;
  running.token_id = caller.token_id;
  running.arguments = arguments;
  running.forwarded = Clock::now();
  running.deadline = running.forwarded + call_timeout_;
  MessageSink sink = sink_for(caller);
  if (caller.stateless) {
    json capabilities;
    if (caller.client_envelope.is_object()) {
      capabilities = caller.client_envelope.value(std::string(kMetaClientCapabilities), json());
    }
    running.input = std::make_shared<InputExchange>(std::move(capabilities));
    running.to_client = std::make_shared<ToClient>(caller.to_client);
    sink = stateless_sink(running.input, running.to_client, running.end);
  }
  // A stateless agent's calls share no session: each is its own caller for an upstream that
  // cannot tell which call its request belongs to (stdio), so none answers another's request.
  const std::string call_relay_key =
      caller.stateless ? relay_key(caller) + "#call" + std::to_string(running.call)
                       : relay_key(caller);
  in_flight_[running.call] = InFlight{decision.chain_id,
                                      decision.agent,
                                      caller.token_id,
                                      request_key(caller, id),
                                      running.end,
                                      running.cancel,
                                      decision.event_id,
                                      server,
                                      target,
                                      std::chrono::system_clock::now()};
  in_flight_changed_.notify_all();
  metrics_.call_started();
  // A revocation that committed while this call was being decided: the decision may have read
  // the token just before it, and the re-check its notice began did not see this call (not in
  // flight yet). From here on every re-check sees it; the ones begun meanwhile are made good
  // by asking about this call's token now, before it goes out.
  if (rechecks_begun_ != rechecks_before_decision) co_await recheck_before_sending(running);
  asio::co_spawn(ex_,
                 forward(upstream, method, std::move(params),
                         ForwardContext{traceparent, std::move(credential), running.cancel,
                                        std::move(sink), call_relay_key, caller.client_envelope},
                         running.end),
                 asio::detached);
  co_return co_await await_call(id, std::move(running));
}

json Gateway::conclude(RunningCall& running, std::optional<CallEnd> end) {
  in_flight_.erase(running.call);
  in_flight_changed_.notify_all();
  metrics_.call_finished();
  const std::string& shown = running.shown;
  json answer;
  std::string status = "error";
  if (!end) {
    if (running.cancel->cancel) {
      running.cancel->cancel("warden: timeout");
    } else {
      running.cancel->ended_before_sent = "timeout";
    }
    status = "timeout";
    answer = upstream_failed("upstream " + running.server + " did not answer in time");
  } else if (auto* answered = std::get_if<Answered>(&*end)) {
    answer = std::move(answered->answer);
    if (answer.contains("result") && !bool_member(answer["result"], "isError")) {
      status = "ok";
    }
  } else if (auto* failed = std::get_if<UpstreamFailed>(&*end)) {
    answer = upstream_failed(failed->message);
  } else if (auto* cancelled = std::get_if<Cancelled>(&*end)) {
    status = "cancelled";
    answer = {{"error",
               {{"code", rpc_code::kRequestCancelled},
                {"message", "cancelled " + shown + ": " + cancelled->reason},
                {"data", {{"reason", cancelled->reason}, {"event_id", running.event_id}}}}}};
  } else {
    const std::string reason = std::get<Revoked>(*end).reason;
    status = "revoked";
    answer = {{"error",
               {{"code", rpc_code::kDenied},
                {"message", "warden revoked " + shown + " while it ran: " + reason},
                {"data", {{"reason", reason}, {"event_id", running.event_id}}}}}};
  }
  double upstream_seconds = seconds_since(running.forwarded);
  metrics_.upstream_latency().observe(upstream_seconds);

  bool ok = status == "ok";
  json detail = {{"duration_ms", static_cast<long long>(upstream_seconds * 1000)},
                 {"method", running.method}};
  if (answer.contains("error")) detail["error"] = string_member(answer["error"], "message");
  if (answer.contains("result") && !ok) detail["is_error"] = true;
  if (is_input_required(answer)) detail["result_type"] = "input_required";
  if (running.input) {
    running.input->refuse_all("the call ended (" + status + ") before the agent answered");
    if (running.input->rounds() > 0) {
      // What the upstream asked the agent, by method only (the contents may be personal).
      detail["input_rounds"] = running.input->rounds();
      detail["input_requests"] = running.input->methods_asked();
    }
  }
  spawn_outcome(running.event_id, status, std::move(detail));
  return answer;
}

awaitable<Gateway::Held> Gateway::hold_for_approval(const std::string& event_id, const json& params,
                                                    const Caller& caller) {
  Held held;
  try {
    held.approval_id = co_await decisions_.approval_for(event_id);
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: cannot find the approval of " << event_id << ": " << e.what() << "\n";
  }
  if (held.approval_id.empty()) co_return held;
  held.url = approval_base_ + "/approvals/" + held.approval_id;
  // Only a client that takes progress notifications on this request can be told why it waits.
  json progress_token;
  if (params.contains("_meta") && params["_meta"].is_object() &&
      params["_meta"].contains("progressToken")) {
    progress_token = params["_meta"]["progressToken"];
  }
  if (approval_wait_.count() == 0 || progress_token.is_null() || !caller.to_client) {
    co_return held;
  }
  const auto deadline = Clock::now() + approval_wait_;
  int step = 0;
  // A client that takes URL-mode elicitation is asked to open the page (its answer, accept or
  // decline, changes nothing: only the approval does).
  if (caller.url_elicitation && !caller.session_id.empty()) {
    json ask = {{"jsonrpc", "2.0"},
                {"id", 0},
                {"method", "elicitation/create"},
                {"params",
                 {{"mode", "url"},
                  {"elicitationId", held.approval_id},
                  {"url", held.url},
                  {"message", "A person must approve this call: open the approval page."}}}};
    if (auto request = channels_.relay_request(
            caller.session_id, ask, [](const json&) {}, false)) {
      caller.to_client(*request);
    }
  }
  for (;;) {
    json note = {
        {"jsonrpc", "2.0"},
        {"method", "notifications/progress"},
        {"params",
         {{"progressToken", progress_token},
          {"progress", step++},
          {"message", "warden: waiting for a person to approve this call at " + held.url}}}};
    caller.to_client(note);
    // Re-read at once when a notice came in while we were reading: it may have been for us.
    std::uint64_t seen;
    std::string state;
    do {
      seen = approval_generation_;
      try {
        state = co_await decisions_.approval_state(held.approval_id);
      } catch (const std::exception& e) {
        state = "pending";  // the database is away: keep waiting, the deadline still holds
      }
    } while (state == "pending" && seen != approval_generation_);
    // An agent that left (its response stream failed) gets nothing forwarded for it: an
    // approval that came meanwhile stays unused, for the agent's retry to consume.
    if (caller.connected && !caller.connected()) {
      held.state = "abandoned";
      co_return held;
    }
    if (state != "pending") {
      held.state = state;
      co_return held;
    }
    auto now = Clock::now();
    if (now >= deadline) {
      held.state = "timeout";
      co_return held;
    }
    Clock::duration pause = std::min<Clock::duration>(deadline - now, std::chrono::seconds(5));
    co_await approvals_changed_.wait(pause);
  }
}

// The agent already has its answer, so the outcome must not be dropped when the database goes
// away (a failover): it is retried until a primary takes it. A retry that meets "already
// completed" (55000) means the first attempt committed before its acknowledgement was lost.
void Gateway::spawn_outcome(std::string event_id, std::string status, json detail) {
  // Counted before the coroutine first runs, so that a SIGTERM in between sees it.
  ++*outcomes_pending_;
  asio::co_spawn(
      ex_,
      record_outcome(std::move(event_id), std::move(status), std::move(detail), outcomes_pending_),
      asio::detached);
}

awaitable<void> Gateway::record_outcome(std::string event_id, std::string status, json detail,
                                        std::shared_ptr<std::size_t> pending) {
  constexpr auto kGiveUpAfter = std::chrono::minutes(2);
  // Read after a co_await; clang-analyzer does not follow a coroutine's frame.
  const auto give_up = Clock::now() + kGiveUpAfter;  // NOLINT(clang-analyzer-deadcode.DeadStores)
  struct Written {
    std::shared_ptr<std::size_t> pending;
    ~Written() { --*pending; }
  } written{std::move(pending)};
  auto pause = std::chrono::milliseconds(100);
  bool retried = false;
  for (;;) {
    std::string failure;
    try {
      co_await decisions_.complete(event_id, status, detail, !retried);
      co_return;
    } catch (const DbUnavailable& e) {
      failure = e.what();
    } catch (const DbError& e) {
      // 25006: a standby answered (the failover is not over yet); 40P01, 40001, 57014: a
      // deadlock, a serialization failure or the statement timeout (a lock held elsewhere)
      // ended this attempt, not the outcome; anything else is final.
      if (e.sqlstate() == "55000" && retried) co_return;
      const std::string& state = e.sqlstate();
      if (state != "25006" && state != "40P01" && state != "40001" && state != "57014") {
        std::cerr << "warden-mcp: cannot record the outcome of " << event_id << ": " << e.what()
                  << "\n";
        co_return;
      }
      failure = e.what();
    }
    if (Clock::now() >= give_up) {
      std::cerr << "warden-mcp: gave up recording the outcome of " << event_id << ": " << failure
                << "\n";
      co_return;
    }
    retried = true;
    asio::steady_timer timer(ex_);
    timer.expires_after(pause);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::milliseconds(1000));
  }
}

}  // namespace warden::mcp
