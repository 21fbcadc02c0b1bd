#include "frontend/mcp/input_exchange.hpp"

#include <stdexcept>

namespace warden::mcp {

std::string capability_for_input(const std::string& method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return {};
}

bool InputExchange::ask(const json& request, Reply reply) {
  const json id = request.value("id", json());
  const std::string method = request.value("method", "");
  const std::string capability = capability_for_input(method);
  std::string refused;
  const json params_in = request.value("params", json::object());
  if (closed_) {
    refused = "the call ended";
  } else if (capability.empty()) {
    refused = "warden-mcp cannot put " + method + " to an agent on MCP 2026-07-28";
  } else if (!capabilities_.contains(capability) || !capabilities_[capability].is_object()) {
    refused = "the agent did not declare the " + capability + " capability";
  } else if (capability == "elicitation" && params_in.is_object() &&
             params_in.value("mode", "") == "url" &&
             !(capabilities_["elicitation"].contains("url") &&
               capabilities_["elicitation"]["url"].is_object())) {
    // A link to open is another thing than a form to fill: only for agents that said they take it.
    refused = "the agent did not declare URL-mode elicitation (elicitation.url)";
  } else if (capability == "sampling" && params_in.is_object() && params_in.contains("tools") &&
             !(capabilities_["sampling"].contains("tools") &&
               capabilities_["sampling"]["tools"].is_object())) {
    refused = "the agent did not declare sampling with tools (sampling.tools)";
  } else if (held_.size() >= kMaxPerRound) {
    refused =
        "too many requests to the agent at once (at most " + std::to_string(kMaxPerRound) + ")";
  }
  if (!refused.empty()) {
    reply(rpc_error(id, capability.empty() ? rpc_code::kMethodNotFound : rpc_code::kInvalidRequest,
                    refused));
    return false;
  }
  json params = params_in;
  if (!params.is_object()) params = json::object();
  // The upstream's own _meta (its progress token, related-request ids) means nothing to the
  // agent and is not shown to it.
  params.erase("_meta");
  std::string key = "warden-" + std::to_string(next_key_++);
  held_[key] = Held{id, {{"method", method}, {"params", std::move(params)}}, std::move(reply)};
  methods_.push_back(method);
  return true;
}

bool InputExchange::has_unshown() const {
  for (const auto& [key, held] : held_) {
    if (!held.shown) return true;
  }
  return false;
}

std::optional<json> InputExchange::input_required(const std::string& request_state) {
  if (rounds_ >= kMaxRounds) return std::nullopt;
  ++rounds_;
  json requests = json::object();
  for (auto& [key, held] : held_) {
    held.shown = true;
    requests[key] = held.request;
  }
  return json{{"resultType", "input_required"},
              {"inputRequests", std::move(requests)},
              {"requestState", request_state}};
}

void InputExchange::answer(const json& input_responses) {
  if (!input_responses.is_object()) {
    throw std::invalid_argument("params.inputResponses must be an object");
  }
  // All or nothing: a malformed answer answers no request.
  for (const auto& [key, held] : held_) {
    auto response = input_responses.find(key);
    if (held.shown && response != input_responses.end() && !response->is_object()) {
      throw std::invalid_argument("params.inputResponses[\"" + key + "\"] must be an object");
    }
  }
  for (auto it = held_.begin(); it != held_.end();) {
    auto response = input_responses.find(it->first);
    // Only what the agent was shown is answered by it; what it left unanswered is asked again
    // in the next round (the upstream is still waiting for it).
    if (!it->second.shown || response == input_responses.end()) {
      it->second.shown = false;
      ++it;
      continue;
    }
    auto error = response->find("error");
    if (response->size() == 1 && error != response->end() && error->is_object()) {
      // warden-mcp's own form for "the agent refuses this request" ({"error": {code, message}}),
      // passed back as a JSON-RPC error: its code and message only (data could be anything).
      auto c = error->find("code");
      auto m = error->find("message");
      int code =
          c != error->end() && c->is_number_integer() ? c->get<int>() : rpc_code::kInternalError;
      std::string message =
          m != error->end() && m->is_string() ? m->get<std::string>() : "the agent refused";
      it->second.reply(rpc_error(it->second.id, code, message));
    } else {
      it->second.reply(rpc_result(it->second.id, *response));
    }
    it = held_.erase(it);
  }
}

void InputExchange::refuse_all(const std::string& why) {
  closed_ = true;
  auto held = std::move(held_);
  held_.clear();
  for (auto& [key, request] : held) {
    request.reply(rpc_error(request.id, rpc_code::kRequestCancelled, why));
  }
}

}  // namespace warden::mcp
