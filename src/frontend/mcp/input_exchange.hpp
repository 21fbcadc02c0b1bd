#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// MCP 2026-07-28 gives an agent no session, so an upstream that still speaks a session revision
// has nowhere to send the requests it makes in the middle of a call (sampling, elicitation,
// roots). The gateway holds them here and answers the agent's call with an input_required
// result naming them; the agent's retry carries the answers, which go back to the held requests
// while the call keeps running upstream (Gateway::park_call / resume_parked). One exchange per
// governed call of a stateless agent. Socket-free: unit-tested.
class InputExchange {
 public:
  // How the upstream's request is answered (its JSON-RPC response; the id is the upstream's).
  using Reply = std::function<void(json response)>;
  // More than an agent can sensibly answer in one round, and more rounds than a call needs: an
  // upstream asking beyond either is refused (the call's deadline bounds it as well).
  static constexpr std::size_t kMaxPerRound = 16;
  static constexpr int kMaxRounds = 16;

  // `agent_capabilities`: the agent's io.modelcontextprotocol/clientCapabilities. The upstream
  // may ask only what the agent declared (as a session agent's capabilities bind it).
  explicit InputExchange(json agent_capabilities)
      : capabilities_(agent_capabilities.is_object() ? std::move(agent_capabilities)
                                                     : json::object()) {}
  ~InputExchange() { refuse_all("the call ended before the agent answered"); }
  InputExchange(const InputExchange&) = delete;
  InputExchange& operator=(const InputExchange&) = delete;

  // An upstream's request during the call: held for the agent (true), or refused at once through
  // `reply` (false: a method the agent cannot be asked, a capability it did not declare, too many).
  bool ask(const json& request, Reply reply);
  // Whether requests are held that the agent has not been shown yet.
  bool has_unshown() const;
  // The input_required result showing every held request (each under the key the agent answers
  // it by), with `request_state` for the retry; counts a round. Empty when the round limit is
  // reached (the caller ends the call).
  std::optional<json> input_required(const std::string& request_state);
  // The agent's inputResponses: each request it was shown and answers gets its result (an
  // object is a result; warden-mcp's own {"error": {code, message}} passes a refusal back).
  // Other keys are ignored; shown requests left unanswered stay held and are shown again in the
  // next round. Throws std::invalid_argument for a malformed inputResponses (nothing answered).
  void answer(const json& input_responses);
  // Refuses every held request and any later one (the call ended, was cancelled or revoked).
  void refuse_all(const std::string& why);

  int rounds() const { return rounds_; }
  // The methods asked, in order (for the call's audited outcome: never their contents).
  const std::vector<std::string>& methods_asked() const { return methods_; }

 private:
  struct Held {
    json id;       // the upstream's own id of the request
    json request;  // {"method", "params"}
    Reply reply;
    bool shown = false;
  };
  json capabilities_;
  std::map<std::string, Held> held_;  // key -> the upstream's request
  std::uint64_t next_key_ = 1;
  int rounds_ = 0;
  bool closed_ = false;  // the call ended: later requests are refused at once
  std::vector<std::string> methods_;
};

// The capability a session-revision server-to-client request needs of the client, or empty
// when the method is not one an agent can be asked through input_required.
std::string capability_for_input(const std::string& method);

}  // namespace warden::mcp
